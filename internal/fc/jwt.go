package fc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// This file is the JWT authConfig of an HTTP trigger (authType jwt): its
// types, how it is read (a JSON object, or FC 3.0's JSON string) and its
// validation. The JWKS's keys are parsed in internal/auth, with the
// verifier's library, so that a key set is checked by the same code when
// a trigger is created and when a token is verified.

// JWTAuthConfig is an HTTP trigger's authConfig with authType jwt.
type JWTAuthConfig struct {
	// JWKS holds the public keys (and shared HMAC secrets, as oct keys)
	// that tokens are verified with.
	JWKS JWKS `json:"jwks"`
	// TokenLookup lists where a token is looked for, tried in order.
	TokenLookup []JWTTokenLookup `json:"tokenLookup"`
	// ClaimPassBy maps claims of a verified token to request
	// parameters the function gets.
	ClaimPassBy []JWTClaimPassBy `json:"claimPassBy,omitempty"`
	// Whitelist lists paths that skip verification; Blacklist, the
	// only paths verified. At most one of them is set.
	Whitelist []string `json:"whitelist,omitempty"`
	Blacklist []string `json:"blacklist,omitempty"`
}

// JWKS is a JSON Web Key Set. Its keys are kept as they were given, so
// that GetTrigger shows them unchanged; auth.ParseJWKS reads them.
type JWKS struct {
	Keys []json.RawMessage `json:"keys"`
}

// JWTTokenLookup is one place a token may be: a header (whose value may
// start with Prefix, such as "Bearer "), a query parameter, a cookie or
// a form field.
type JWTTokenLookup struct {
	ReadPosition  string `json:"readPosition"`
	ParameterName string `json:"parameterName"`
	Prefix        string `json:"prefix,omitempty"`
}

// JWTClaimPassBy passes a claim to the function as a header, cookie or
// form field.
type JWTClaimPassBy struct {
	ClaimName                string `json:"claimName"`
	MappingParameterName     string `json:"mappingParameterName"`
	MappingParameterPosition string `json:"mappingParameterPosition"`
}

// Where a token is read from and where a claim is passed to.
const (
	PositionHeader = "header"
	PositionQuery  = "query"
	PositionCookie = "cookie"
	PositionForm   = "form"
)

const authConfigField = "triggerConfig.authConfig"

// JWKSField names a jwt trigger's keys in errors.
const JWKSField = authConfigField + ".jwks.keys"

// UnmarshalJSON reads an authConfig given as a JSON object or, as FC
// 3.0's API takes it, as a JSON string holding that object. Unknown
// fields are refused, naming them, so that a misspelt one is not silently
// ignored.
func (c *JWTAuthConfig) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return invalid("%s is not a valid JSON string: %v", authConfigField, err)
		}
		b = bytes.TrimSpace([]byte(s))
		if len(b) == 0 || b[0] != '{' {
			return invalid("%s is a string that does not hold a JSON object", authConfigField)
		}
	}
	type plain JWTAuthConfig // without this method
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return authConfigJSONError(err)
	}
	if dec.More() {
		return invalid("%s has data after its JSON object", authConfigField)
	}
	*c = JWTAuthConfig(p)
	return nil
}

// authConfigJSONError names the field a decoding error is about.
func authConfigJSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := authConfigField
		if te.Field != "" {
			field += "." + te.Field
		}
		return invalid("%s: expected %s, got JSON %s", field, jsonType(te.Type.Kind().String()), te.Value)
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if f, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return invalid("%s has an unknown field %s: use jwks, tokenLookup, claimPassBy, whitelist or blacklist (and their documented members)", authConfigField, f)
	}
	return invalid("%s is invalid: %s", authConfigField, msg)
}

func jsonType(kind string) string {
	switch kind {
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "string":
		return "a string"
	}
	return kind
}

// validateJWTAuthConfig checks a jwt trigger's authConfig: a JWKS is
// given, token positions and claim mappings are complete and known, and
// path lists are well formed. The keys themselves are parsed by the
// verifier's library, in internal/auth (auth.CheckJWKS), which the
// management API calls after this.
func validateJWTAuthConfig(c *JWTAuthConfig) error {
	if c == nil {
		return invalid("%s is required when triggerConfig.authType is %q: give jwks and tokenLookup", authConfigField, AuthJWT)
	}
	if len(c.JWKS.Keys) == 0 {
		return invalid("%s is required: give at least one JSON Web Key", JWKSField)
	}
	if len(c.TokenLookup) == 0 {
		return invalid("%s.tokenLookup is required: list where the token is read (header, query, cookie or form)", authConfigField)
	}
	for i := range c.TokenLookup {
		if err := validateTokenLookup(&c.TokenLookup[i], i); err != nil {
			return err
		}
	}
	for i := range c.ClaimPassBy {
		if err := validateClaimPassBy(&c.ClaimPassBy[i], i); err != nil {
			return err
		}
	}
	if len(c.Whitelist) > 0 && len(c.Blacklist) > 0 {
		return invalid("%s.whitelist and %s.blacklist are mutually exclusive: set one of them", authConfigField, authConfigField)
	}
	for _, l := range []struct {
		name  string
		paths []string
	}{{"whitelist", c.Whitelist}, {"blacklist", c.Blacklist}} {
		for i, p := range l.paths {
			if err := validateJWTPath(p); err != nil {
				return invalid("%s.%s[%d] %q is invalid: %s", authConfigField, l.name, i, p, err)
			}
		}
	}
	return nil
}

func validateTokenLookup(l *JWTTokenLookup, i int) error {
	field := fmt.Sprintf("%s.tokenLookup[%d]", authConfigField, i)
	switch p := strings.ToLower(l.ReadPosition); p {
	case PositionHeader, PositionQuery, PositionCookie, PositionForm:
		l.ReadPosition = p
	case "":
		return invalid("%s.readPosition is required: use header, query, cookie or form", field)
	default:
		return invalid("%s.readPosition %q is invalid: use header, query, cookie or form", field, l.ReadPosition)
	}
	if l.ParameterName == "" {
		return invalid("%s.parameterName is required", field)
	}
	if l.ReadPosition == PositionHeader {
		return validateHeaderName(field+".parameterName", l.ParameterName)
	}
	return nil
}

func validateClaimPassBy(m *JWTClaimPassBy, i int) error {
	field := fmt.Sprintf("%s.claimPassBy[%d]", authConfigField, i)
	if m.ClaimName == "" {
		return invalid("%s.claimName is required", field)
	}
	if m.MappingParameterName == "" {
		return invalid("%s.mappingParameterName is required", field)
	}
	switch p := strings.ToLower(m.MappingParameterPosition); p {
	case PositionHeader, PositionCookie, PositionForm:
		m.MappingParameterPosition = p
	case "":
		return invalid("%s.mappingParameterPosition is required: use header, cookie or form", field)
	default:
		return invalid("%s.mappingParameterPosition %q is invalid: use header, cookie or form", field, m.MappingParameterPosition)
	}
	if m.MappingParameterPosition == PositionHeader {
		if err := validateHeaderName(field+".mappingParameterName", m.MappingParameterName); err != nil {
			return err
		}
		if IsFCHeader(m.MappingParameterName) {
			return invalid("%s.mappingParameterName %q is invalid: x-fc-* headers are Function Compute's own", field, m.MappingParameterName)
		}
		if reservedPassByHeaders[http.CanonicalHeaderKey(m.MappingParameterName)] {
			return invalid("%s.mappingParameterName %q is invalid: openfc sets that header itself (use the cookie position for cookies)", field, m.MappingParameterName)
		}
	}
	return nil
}

// reservedPassByHeaders are headers a claim may not replace: the
// request's framing and routing, hop-by-hop headers (never forwarded),
// and Cookie (the cookie position replaces one cookie, not all).
var reservedPassByHeaders = map[string]bool{
	"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true, "Keep-Alive": true,
	"Te": true, "Trailer": true, "Upgrade": true, "Proxy-Connection": true, "Cookie": true,
	"X-Forwarded-For": true, "X-Forwarded-Host": true, "X-Forwarded-Proto": true,
}

// validateHeaderName checks an HTTP header name (an RFC 9110 token).
func validateHeaderName(field, name string) error {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return invalid("%s %q is not a valid HTTP header name", field, name)
		}
	}
	return nil
}

// validateJWTPath checks a whitelist or blacklist entry: a path starting
// with '/', where '*' may only end it (a prefix match).
func validateJWTPath(p string) error {
	switch {
	case p == "*":
		return nil
	case !strings.HasPrefix(p, "/"):
		return errors.New("a path must start with '/' (or be '*')")
	case strings.IndexByte(p[:len(p)-1], '*') >= 0:
		return errors.New("'*' may only end a path, as in /static/*")
	case strings.ContainsAny(p, "?#"):
		return errors.New("a path has no query or fragment")
	}
	return nil
}
