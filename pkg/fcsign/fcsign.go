// Package fcsign implements the Function Compute 2.0 request signature
// algorithm: the "Authorization: FC <accessKeyId>:<signature>" header form
// used by the management API and by HTTP triggers with authType
// "function", and the signed-URL (query-string) form of HTTP triggers.
//
// It is public and depends only on the standard library because both
// sides of a request need the same rules: clients (pkg/client, or any Go
// program calling openfc or Alibaba Cloud FC) sign with it, and the server
// (internal/auth) computes the signature it expects with it. Keeping every
// rule in one place means a client and the server cannot drift apart.
//
// The string to sign is built exactly as the official SDKs (@alicloud/fc2
// for Node.js, aliyun/fc-go-sdk) build it:
//
//	METHOD "\n" Content-MD5 "\n" Content-Type "\n" Date "\n"
//	CanonicalizedFCHeaders
//	CanonicalizedResource
//
// where CanonicalizedFCHeaders is one "name:value\n" line for every header
// whose lowercased name starts with "x-fc-", sorted by name, and
// CanonicalizedResource is the URL-decoded path, followed for HTTP-trigger
// requests by "\n" and the sorted "key=value" query items joined by "\n".
// A signed URL puts x-fc-expires in place of the Date line and signs every
// query item except x-fc-signature.
package fcsign

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ProxyPathPrefix starts the path of every HTTP-trigger request on the FC
// account endpoint. Requests under it sign their query parameters too.
//
// It is written out rather than built from internal/fc.APIVersion because
// a public package cannot import internal ones; internal/auth's tests check
// the two agree, and internal/route uses this constant as its own prefix.
const ProxyPathPrefix = "/2016-08-15/proxy/"

// Header and query parameter names of the signature scheme.
const (
	HeaderAuthorization = "Authorization"
	HeaderDate          = "Date"
	HeaderContentMD5    = "Content-MD5"
	HeaderContentType   = "Content-Type"
	// HeaderFCDate stands in for Date where a client cannot set Date (a
	// browser's fetch): it is signed as an x-fc-* header, the Date line
	// of the string to sign staying empty.
	HeaderFCDate = "x-fc-date"

	// QueryExpires is the Unix time (seconds) after which a signed URL is
	// no longer valid. It replaces the Date line of the string to sign.
	QueryExpires = "x-fc-expires"
	// QueryAccessKeyID names the access key that signed a URL.
	QueryAccessKeyID = "x-fc-access-key-id"
	// QuerySecurityToken is the optional STS token of a signed URL.
	QuerySecurityToken = "x-fc-security-token"
	// QuerySignature is the signature of a signed URL; it is not signed.
	QuerySignature = "x-fc-signature"

	// authScheme prefixes the Authorization header value.
	authScheme = "FC "
	// fcHeaderPrefix selects the headers that are signed.
	fcHeaderPrefix = "x-fc-"
)

// Credentials is an access key pair. The secret never leaves the process:
// only HMACs computed with it do. The JSON names are those of the FC SDK
// configurations and of openfc's credentials.json.
type Credentials struct {
	AccessKeyID     string `json:"accessKeyId"`
	AccessKeySecret string `json:"accessKeySecret"`
}

// String returns the access key ID with the secret masked, so credentials
// that end up in a log line or an error message do not leak the secret.
func (c Credentials) String() string {
	return "Credentials{AccessKeyID: " + strconv.Quote(c.AccessKeyID) + ", AccessKeySecret: \"****\"}"
}

// GoString masks the secret for %#v as well.
func (c Credentials) GoString() string { return "fcsign." + c.String() }

// StringToSign returns the string FC signs for a request with the given
// method, URL-decoded path, headers and query. withQuery selects the
// HTTP-trigger form, which appends "\n" and the sorted query items to the
// path (so an empty query still adds a trailing "\n"); the management API
// signs the path alone.
//
// Header names are matched case-insensitively. Header values are trimmed of
// surrounding spaces and tabs, as every HTTP implementation does on the
// wire, and a header with several values signs them joined with ",".
func StringToSign(method, path string, header http.Header, query url.Values, withQuery bool) string {
	return stringToSign(method, path, header, HeaderValue(header, HeaderDate), query, withQuery)
}

// PresignedStringToSign returns the string FC signs for a signed URL: the
// HTTP-trigger form of StringToSign with the value of the x-fc-expires
// query parameter in place of the Date line, and every query item except
// x-fc-signature (the signature cannot sign itself). query must hold
// exactly one x-fc-expires; query is not modified.
func PresignedStringToSign(method, path string, header http.Header, query url.Values) string {
	if _, ok := query[QuerySignature]; ok {
		query = maps.Clone(query)
		delete(query, QuerySignature)
	}
	return stringToSign(method, path, header, query.Get(QueryExpires), query, true)
}

// stringToSign is StringToSign with the Date line given explicitly, so
// that both forms share one construction.
func stringToSign(method, path string, header http.Header, date string, query url.Values, withQuery bool) string {
	var b strings.Builder
	b.WriteString(strings.ToUpper(method))
	b.WriteByte('\n')
	b.WriteString(HeaderValue(header, HeaderContentMD5))
	b.WriteByte('\n')
	b.WriteString(HeaderValue(header, HeaderContentType))
	b.WriteByte('\n')
	b.WriteString(date)
	b.WriteByte('\n')
	b.WriteString(canonicalFCHeaders(header))
	b.WriteString(path)
	if withQuery {
		b.WriteByte('\n')
		b.WriteString(canonicalQuery(query))
	}
	return b.String()
}

// Signature returns base64(HMAC-SHA256(secret, stringToSign)).
func Signature(secret, stringToSign string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// AuthorizationValue returns the Authorization header value for a
// signature: "FC <accessKeyId>:<signature>".
func AuthorizationValue(accessKeyID, signature string) string {
	return authScheme + accessKeyID + ":" + signature
}

// Sign signs an outgoing request in place: it sets the Date header to the
// current time when the request has none, then sets Authorization. The
// signed path is SignedPath(r.URL); the query is signed too when the path
// starts with ProxyPathPrefix. Headers that are signed (Content-Type,
// Content-MD5, x-fc-*) must be set before calling Sign.
func Sign(c Credentials, r *http.Request) {
	if HeaderValue(r.Header, HeaderDate) == "" {
		r.Header.Set(HeaderDate, time.Now().UTC().Format(http.TimeFormat))
	}
	path := SignedPath(r.URL)
	sts := StringToSign(r.Method, path, r.Header, r.URL.Query(), strings.HasPrefix(path, ProxyPathPrefix))
	r.Header.Set(HeaderAuthorization, AuthorizationValue(c.AccessKeyID, Signature(c.AccessKeySecret, sts)))
}

// PresignURL returns a copy of u in the signed-URL form: x-fc-expires,
// x-fc-access-key-id, x-fc-security-token (only when securityToken is not
// empty) and x-fc-signature are added to its query. header holds the
// headers the eventual request will carry that take part in the signature
// (Content-Type, Content-MD5, x-fc-*); it may be nil. The signed path is
// SignedPath(u), so for a custom domain pass the plain request path. u is
// not modified; a signature already in its query is replaced.
func PresignURL(c Credentials, method string, u *url.URL, header http.Header, expires time.Time, securityToken string) *url.URL {
	out := *u
	q := u.Query()
	q.Set(QueryExpires, strconv.FormatInt(expires.Unix(), 10))
	q.Set(QueryAccessKeyID, c.AccessKeyID)
	if securityToken != "" {
		q.Set(QuerySecurityToken, securityToken)
	} else {
		q.Del(QuerySecurityToken)
	}
	sts := PresignedStringToSign(method, SignedPath(u), header, q)
	q.Set(QuerySignature, Signature(c.AccessKeySecret, sts))
	out.RawQuery = q.Encode()
	return &out
}

// SignedPath returns the path a request to u signs: the decoded u.Path,
// or "/" for an empty one, since an HTTP client sends "/" then.
func SignedPath(u *url.URL) string {
	if u.Path == "" {
		return "/"
	}
	return u.Path
}

// HeaderValue returns the value of the named header as the signature sees
// it: the name is matched case-insensitively, so that non-canonical map
// keys count too, and the values are trimmed and joined with ",". A
// verifier reads Date and Authorization with it so that it checks the same
// value that was signed.
func HeaderValue(h http.Header, name string) string {
	if v, ok := h[http.CanonicalHeaderKey(name)]; ok {
		return joinValues(v)
	}
	for k, v := range h {
		if strings.EqualFold(strings.TrimSpace(k), name) {
			return joinValues(v)
		}
	}
	return ""
}

// joinValues joins a header's values with "," after trimming each one.
func joinValues(v []string) string {
	switch len(v) {
	case 0:
		return ""
	case 1:
		return trimOWS(v[0])
	}
	parts := make([]string, len(v))
	for i, s := range v {
		parts[i] = trimOWS(s)
	}
	return strings.Join(parts, ",")
}

// trimOWS trims HTTP optional whitespace (spaces and tabs).
func trimOWS(s string) string { return strings.Trim(s, " \t") }

// canonicalFCHeaders returns the "name:value\n" lines of the x-fc-*
// headers, names lowercased and sorted. Map keys that differ only in case
// are merged, their values in key order.
func canonicalFCHeaders(h http.Header) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(k)), fcHeaderPrefix) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	sort.Strings(keys)
	merged := make(map[string][]string, len(keys))
	names := make([]string, 0, len(keys))
	for _, k := range keys {
		name := strings.ToLower(strings.TrimSpace(k))
		if _, seen := merged[name]; !seen {
			names = append(names, name)
		}
		merged[name] = append(merged[name], h[k]...)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(joinValues(merged[name]))
		b.WriteByte('\n')
	}
	return b.String()
}

// canonicalQuery returns the query as sorted "key=value" items joined by
// "\n": one item per value, a bare "key" for a key with no values.
func canonicalQuery(q url.Values) string {
	items := make([]string, 0, len(q))
	for k, vs := range q {
		if len(vs) == 0 {
			items = append(items, k)
			continue
		}
		for _, v := range vs {
			items = append(items, k+"="+v)
		}
	}
	sort.Strings(items)
	return strings.Join(items, "\n")
}

// ErrMalformedAuthorization is what ParseAuthorization returns for a value
// that is not of the form "FC <accessKeyId>:<signature>"; a verifier wraps
// it so that a malformed header can be told apart from a wrong signature.
var ErrMalformedAuthorization = errors.New(`authorization header is not of the form "FC <accessKeyId>:<signature>"`)

// ParseAuthorization splits "FC <accessKeyId>:<signature>", the value
// AuthorizationValue builds, into its parts. It lives next to
// AuthorizationValue so that the header's syntax is defined once. The
// scheme is case-sensitive; surrounding whitespace is ignored; neither
// part may be empty or contain whitespace, and the signature may not
// contain ':'.
func ParseAuthorization(v string) (accessKeyID, signature string, err error) {
	v = trimOWS(v)
	rest, ok := strings.CutPrefix(v, authScheme)
	if !ok {
		return "", "", ErrMalformedAuthorization
	}
	accessKeyID, signature, ok = strings.Cut(rest, ":")
	if !ok || accessKeyID == "" || signature == "" ||
		strings.ContainsAny(accessKeyID, " \t\r\n") ||
		strings.ContainsAny(signature, " \t\r\n:") {
		return "", "", ErrMalformedAuthorization
	}
	return accessKeyID, signature, nil
}
