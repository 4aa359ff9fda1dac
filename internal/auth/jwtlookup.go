package auth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/openfc/openfc/internal/fc"
)

// This file is where a JWT is found in a request (tokenLookup), where its
// claims go (claimPassBy) and which paths are verified at all (whitelist,
// blacklist).

// The kinds of request body a form position reads.
const (
	notForm = iota
	urlEncodedForm
	multipartForm
)

// formKind is the kind of form a Content-Type announces.
func formKind(contentType string) int {
	if contentType == "" {
		return notForm
	}
	mt, _, err := mime.ParseMediaType(contentType)
	switch {
	case err != nil:
		return notForm
	case mt == "application/x-www-form-urlencoded":
		return urlEncodedForm
	case mt == "multipart/form-data":
		return multipartForm
	}
	return notForm
}

// formSource reads the request body once, when a form position needs it.
type formSource struct {
	kind int
	read func() ([]byte, error)
	body []byte
	done bool
}

func (f *formSource) get() ([]byte, error) {
	if f.kind == notForm || f.read == nil {
		return nil, nil
	}
	if !f.done {
		b, err := f.read()
		if err != nil {
			return nil, err
		}
		f.body, f.done = b, true
	}
	return f.body, nil
}

// lookupToken tries the token positions in order and returns the first
// token found. A position's prefix, when set, must start the value
// (compared without regard to case: "bearer x" is as good as
// "Bearer x"); a value without it is not a token and the next position
// is tried.
func lookupToken(lookups []fc.JWTTokenLookup, r *http.Request, f *formSource) (string, error) {
	for _, l := range lookups {
		v, err := readPosition(l, r, f)
		if err != nil {
			return "", err
		}
		if l.Prefix != "" {
			if len(v) < len(l.Prefix) || !strings.EqualFold(v[:len(l.Prefix)], l.Prefix) {
				continue
			}
			v = v[len(l.Prefix):]
		}
		if v = strings.TrimSpace(v); v != "" {
			return v, nil
		}
	}
	return "", unauthorized("the request carries no token: looked in %s", describeLookups(lookups))
}

// readPosition is the value at one token position, "" for none.
func readPosition(l fc.JWTTokenLookup, r *http.Request, f *formSource) (string, error) {
	switch l.ReadPosition {
	case fc.PositionHeader:
		return r.Header.Get(l.ParameterName), nil
	case fc.PositionQuery:
		return queryValue(r.URL.RawQuery, l.ParameterName), nil
	case fc.PositionCookie:
		if c, err := r.Cookie(l.ParameterName); err == nil {
			return c.Value, nil
		}
	case fc.PositionForm:
		body, err := f.get()
		if err != nil || body == nil {
			return "", err
		}
		if f.kind == urlEncodedForm {
			return queryValue(string(body), l.ParameterName), nil
		}
		return multipartValue(body, r.Header.Get("Content-Type"), l.ParameterName), nil
	}
	return "", nil
}

// queryValue is the first value of name in a URL-encoded query or form,
// "" for none. It allocates only to unescape.
func queryValue(raw, name string) string {
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(kv, "=")
		if k != name {
			if !strings.ContainsAny(k, "%+") {
				continue
			}
			if uk, err := url.QueryUnescape(k); err != nil || uk != name {
				continue
			}
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			return uv
		}
		return ""
	}
	return ""
}

// maxFormField bounds a multipart field read as a token.
const maxFormField = 64 << 10

// multipartValue is the first non-file field name of a multipart form.
func multipartValue(body []byte, contentType, name string) string {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return ""
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return ""
		}
		if p.FormName() == name && p.FileName() == "" {
			b, _ := io.ReadAll(io.LimitReader(p, maxFormField))
			return string(b)
		}
	}
}

func describeLookups(lookups []fc.JWTTokenLookup) string {
	var b strings.Builder
	for i, l := range lookups {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %q", l.ReadPosition, l.ParameterName)
		if l.Prefix != "" {
			fmt.Fprintf(&b, " (prefix %q)", l.Prefix)
		}
	}
	return b.String()
}

// mustVerify applies whitelist (listed paths are not verified) and
// blacklist (only listed paths are). The path compared is the one the
// function sees, percent-decoded and cleaned ("//a/./b/../c" is "/a/c"),
// so that no spelling of a path gets past a list: the function would
// read it as that path. A path that cannot be decoded is verified.
func mustVerify(cfg *fc.JWTAuthConfig, p string) bool {
	if len(cfg.Whitelist) == 0 && len(cfg.Blacklist) == 0 {
		return true
	}
	clean, ok := cleanPath(p)
	if !ok {
		return true
	}
	if len(cfg.Whitelist) > 0 {
		return !matchAny(cfg.Whitelist, clean)
	}
	return matchAny(cfg.Blacklist, clean)
}

// cleanPath decodes and cleans p, keeping a trailing slash.
func cleanPath(p string) (string, bool) {
	if strings.IndexByte(p, '%') >= 0 {
		u, err := url.PathUnescape(p)
		if err != nil {
			return "", false
		}
		p = u
	}
	if p == "" {
		return "/", true
	}
	c := path.Clean("/" + strings.TrimPrefix(p, "/"))
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c, true
}

// MatchJWTPath reports whether a whitelist or blacklist entry matches a
// (cleaned) path: "*" matches every path, "/p/*" every path that starts
// with "/p/" (so "/static/*" matches "/static/a/b", not "/static"), and
// anything else only itself.
func MatchJWTPath(pattern, p string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(p, prefix)
	}
	return pattern == p
}

func matchAny(patterns []string, p string) bool {
	for _, pat := range patterns {
		if MatchJWTPath(pat, p) {
			return true
		}
	}
	return false
}

// passClaims sets each claimPassBy parameter to its claim's value,
// replacing what the client sent under that name. A claim the token
// lacks (or null, or no token: an unverified path) leaves the parameter
// unset: the client's value is removed all the same. It returns the new
// form body, nil when the body is unchanged.
func passClaims(c *jwtConfig, r *http.Request, f *formSource, claims map[string]json.RawMessage) ([]byte, error) {
	var form url.Values
	var formNames []string
	var cookies []string
	for _, m := range c.cfg.ClaimPassBy {
		v, ok, err := claimValue(claims, m.ClaimName)
		if err != nil {
			return nil, err
		}
		switch m.MappingParameterPosition {
		case fc.PositionHeader:
			if ok && !validHeaderValue(v) {
				return nil, fc.Errorf(fc.CodeInvalidArgument, "claim %q cannot be passed in header %s: its value has control characters", m.ClaimName, m.MappingParameterName)
			}
			r.Header.Del(m.MappingParameterName)
			if ok {
				r.Header.Set(m.MappingParameterName, v)
			}
		case fc.PositionCookie:
			if ok {
				cookies = append(cookies, m.MappingParameterName+"="+url.PathEscape(v))
			}
		case fc.PositionForm:
			if form == nil {
				form = url.Values{}
			}
			formNames = append(formNames, m.MappingParameterName)
			if ok {
				form.Add(m.MappingParameterName, v)
			}
		}
	}
	if len(c.passCookies) > 0 {
		replaceCookies(r.Header, c.passCookies, cookies)
	}
	if formNames == nil {
		return nil, nil
	}
	body, err := f.get()
	if err != nil || body == nil {
		return nil, err
	}
	if f.kind == urlEncodedForm {
		return replaceURLEncoded(body, formNames, form), nil
	}
	return replaceMultipart(body, r.Header.Get("Content-Type"), formNames, form)
}

// claimValue renders a claim as a parameter value: a string as itself,
// a number or boolean as its JSON text, an object or array as its
// compact JSON. ok is false for a missing or null claim.
func claimValue(claims map[string]json.RawMessage, name string) (string, bool, error) {
	raw, ok := claims[name]
	if !ok {
		return "", false, nil
	}
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", false, nil
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false, unauthorized("the token's claim %q is not valid JSON: %v", name, err)
		}
		return s, true, nil
	case raw[0] == '{' || raw[0] == '[':
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return "", false, unauthorized("the token's claim %q is not valid JSON: %v", name, err)
		}
		return b.String(), true, nil
	}
	return string(raw), true, nil
}

// validHeaderValue: no control characters but tab (RFC 9110 field-value).
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return utf8.ValidString(v)
}

// replaceCookies rewrites the Cookie header without the cookies named in
// drop, then with add (name=value pairs) appended, as one line.
func replaceCookies(h http.Header, drop map[string]bool, add []string) {
	var kept []string
	for _, line := range h["Cookie"] {
		for _, part := range strings.Split(line, ";") {
			part = textproto.TrimString(part)
			if part == "" {
				continue
			}
			name, _, _ := strings.Cut(part, "=")
			if !drop[textproto.TrimString(name)] {
				kept = append(kept, part)
			}
		}
	}
	kept = append(kept, add...)
	if len(kept) == 0 {
		h.Del("Cookie")
		return
	}
	h["Cookie"] = []string{strings.Join(kept, "; ")}
}

// replaceURLEncoded removes the names from a URL-encoded form, keeping
// its other fields as sent, and appends the new values.
func replaceURLEncoded(body []byte, names []string, add url.Values) []byte {
	var out bytes.Buffer
	raw := string(body)
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		k, _, _ := strings.Cut(kv, "=")
		if uk, err := url.QueryUnescape(k); err == nil && contains(names, uk) {
			continue
		}
		if kv == "" {
			continue
		}
		if out.Len() > 0 {
			out.WriteByte('&')
		}
		out.WriteString(kv)
	}
	if enc := add.Encode(); enc != "" {
		if out.Len() > 0 {
			out.WriteByte('&')
		}
		out.WriteString(enc)
	}
	return out.Bytes()
}

// replaceMultipart rewrites a multipart form with the same boundary:
// parts named in names are dropped, the others copied as sent, and the
// new values appended as fields.
func replaceMultipart(body []byte, contentType string, names []string, add url.Values) ([]byte, error) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return nil, fc.Errorf(fc.CodeInvalidArgument, "the multipart request body has no boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var out bytes.Buffer
	mw := multipart.NewWriter(&out)
	if err := mw.SetBoundary(params["boundary"]); err != nil {
		return nil, fc.Errorf(fc.CodeInvalidArgument, "the multipart boundary is invalid: %v", err)
	}
	for {
		p, err := mr.NextRawPart() // as sent: no transfer decoding
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fc.Errorf(fc.CodeInvalidArgument, "the multipart request body is malformed: %v", err)
		}
		if contains(names, p.FormName()) {
			continue
		}
		w, err := mw.CreatePart(p.Header)
		if err == nil {
			_, err = io.Copy(w, p)
		}
		if err != nil {
			return nil, fc.Errorf(fc.CodeInvalidArgument, "the multipart request body is malformed: %v", err)
		}
	}
	for i, name := range names {
		if contains(names[:i], name) {
			continue
		}
		for _, v := range add[name] {
			if err := mw.WriteField(name, v); err != nil {
				return nil, err
			}
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func contains(names []string, n string) bool {
	for _, x := range names {
		if x == n {
			return true
		}
	}
	return false
}
