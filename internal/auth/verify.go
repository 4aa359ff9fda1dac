// Package auth is the server side of Function Compute 2.0 request
// signatures: the Verifier that checks the header form ("Authorization: FC
// <accessKeyId>:<signature>", used by the management API and by HTTP
// triggers with authType "function") and the signed-URL form of HTTP
// triggers, and the admin access key of an openfc installation.
//
// The signature algorithm itself lives in pkg/fcsign, which clients use to
// sign: the Verifier computes the signature it expects with the same code,
// so the two sides cannot disagree. What is here is what only a server
// needs: clock skew and expiry checks, key lookup, FC's error codes and
// messages, and where the admin key comes from.
package auth

import (
	"crypto/hmac"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/pkg/fcsign"
)

// DefaultMaxSkew is how far the Date of a signed request may be from the
// server clock, FC's 15 minutes.
const DefaultMaxSkew = 15 * time.Minute

// signatureNotMatchMessage is FC's message for a wrong signature.
const signatureNotMatchMessage = "The request signature we calculated does not match the signature you provided. Check your access key and signing method"

// Key is what a Verifier knows of an access key.
type Key struct {
	Secret string
	// Principal is returned for a request the key signed.
	Principal fc.Principal
	// Expires is when the key stops working; zero: never.
	Expires time.Time
}

// Verifier checks signed requests. The zero value knows no keys; set Keys.
// A Verifier is safe for concurrent use when Keys and Now are.
type Verifier struct {
	// Keys returns an access key by ID, and false for an unknown ID. A
	// nil Keys knows no keys.
	Keys func(accessKeyID string) (Key, bool)
	// Now returns the server time; nil means time.Now.
	Now func() time.Time
	// MaxSkew bounds |Date - Now| for the header form; zero or negative
	// means DefaultMaxSkew.
	MaxSkew time.Duration
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew > 0 {
		return v.MaxSkew
	}
	return DefaultMaxSkew
}

// key looks an access key ID up, failing with InvalidAccessKeyID for an
// unknown or expired one.
func (v *Verifier) key(accessKeyID string) (Key, error) {
	if v.Keys != nil {
		if k, ok := v.Keys(accessKeyID); ok {
			if !k.Expires.IsZero() && !v.now().Before(k.Expires) {
				return Key{}, fc.Errorf(fc.CodeInvalidAccessKeyID, "access key ID '%s' expired at %s", accessKeyID, k.Expires.UTC().Format(time.RFC3339))
			}
			return k, nil
		}
	}
	return Key{}, fc.Errorf(fc.CodeInvalidAccessKeyID, "invalid access key ID '%s'", accessKeyID)
}

// VerifyHeader checks the header form: "Authorization: FC id:signature"
// plus a Date (or, without one, an x-fc-date) within MaxSkew of now. The
// signature is checked against fcsign.StringToSign of the request: the
// signed path is r.URL.Path and, when withQuery is true (HTTP-trigger
// requests), the whole query is signed as well. Errors are *fc.Error
// values: MissingRequiredHeader, InvalidArgument, AccessDenied,
// InvalidAccessKeyID or SignatureNotMatch. The principal is the signing
// key's.
func (v *Verifier) VerifyHeader(r *http.Request, withQuery bool) (fc.Principal, error) {
	authz := fcsign.HeaderValue(r.Header, fcsign.HeaderAuthorization)
	if authz == "" {
		return fc.Principal{}, missingHeader(fcsign.HeaderAuthorization)
	}
	date := fcsign.HeaderValue(r.Header, fcsign.HeaderDate)
	if date == "" {
		// A browser cannot set Date (fetch drops it): the web console
		// sends x-fc-date, signed among the x-fc-* headers, with an empty
		// Date line, as OSS's x-oss-date does.
		date = fcsign.HeaderValue(r.Header, fcsign.HeaderFCDate)
	}
	if date == "" {
		return fc.Principal{}, missingHeader(fcsign.HeaderDate)
	}
	id, sig, err := fcsign.ParseAuthorization(authz)
	if err != nil {
		return fc.Principal{}, fc.Errorf(fc.CodeInvalidArgument, "invalid Authorization header %q: %w", authz, err)
	}
	if err := v.checkDate(date); err != nil {
		return fc.Principal{}, err
	}
	k, err := v.key(id)
	if err != nil {
		return fc.Principal{}, err
	}
	sts := fcsign.StringToSign(r.Method, fcsign.SignedPath(r.URL), r.Header, r.URL.Query(), withQuery)
	return principal(k, id, checkSignature(k.Secret, sts, sig))
}

// principal is k's principal when err is nil.
func principal(k Key, id string, err error) (fc.Principal, error) {
	if err != nil {
		return fc.Principal{}, err
	}
	p := k.Principal
	p.KeyID = id
	return p, nil
}

// VerifyURL checks the signed-URL form: x-fc-access-key-id, x-fc-expires
// (Unix seconds, not in the past) and x-fc-signature in the query, each
// exactly once. The signature is checked against
// fcsign.PresignedStringToSign of the request.
func (v *Verifier) VerifyURL(r *http.Request) (fc.Principal, error) {
	q := r.URL.Query()
	for _, name := range []string{fcsign.QueryAccessKeyID, fcsign.QueryExpires, fcsign.QuerySignature} {
		switch n := len(q[name]); {
		case n == 0 || q.Get(name) == "":
			return fc.Principal{}, fc.Errorf(fc.CodeMissingRequiredHeader, "required query parameter %s was not specified", name)
		case n > 1:
			return fc.Principal{}, fc.Errorf(fc.CodeInvalidArgument, "query parameter %s is given %d times", name, n)
		}
	}
	id, exp, sig := q.Get(fcsign.QueryAccessKeyID), q.Get(fcsign.QueryExpires), q.Get(fcsign.QuerySignature)
	expires, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return fc.Principal{}, fc.Errorf(fc.CodeAccessDenied, "the value %q of %s is not a Unix time: %w", exp, fcsign.QueryExpires, err)
	}
	if now := v.now(); now.Unix() > expires {
		return fc.Principal{}, fc.Errorf(fc.CodeAccessDenied, "the signed URL expired at %s (server time %s)",
			time.Unix(expires, 0).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	k, err := v.key(id)
	if err != nil {
		return fc.Principal{}, err
	}
	sts := fcsign.PresignedStringToSign(r.Method, fcsign.SignedPath(r.URL), r.Header, q)
	return principal(k, id, checkSignature(k.Secret, sts, sig))
}

// PresignURL signs u as a signed URL (fcsign.PresignURL) for method with
// the secret of the access key accessKeyID, valid for ttl from now, or
// until the key itself expires if that comes first: the server signs on a
// caller's behalf (GetFunctionCode's download URL), with the caller's own
// key, so the URL grants nothing the caller could not do. An unknown or
// expired key fails with InvalidAccessKeyID.
func (v *Verifier) PresignURL(accessKeyID, method string, u *url.URL, ttl time.Duration) (*url.URL, error) {
	k, err := v.key(accessKeyID)
	if err != nil {
		return nil, err
	}
	expires := v.now().Add(ttl)
	if !k.Expires.IsZero() && k.Expires.Before(expires) {
		expires = k.Expires
	}
	c := fcsign.Credentials{AccessKeyID: accessKeyID, AccessKeySecret: k.Secret}
	return fcsign.PresignURL(c, method, u, nil, expires, ""), nil
}

// checkDate parses an HTTP date and checks it is within MaxSkew of now.
func (v *Verifier) checkDate(date string) error {
	t, err := http.ParseTime(date)
	if err != nil {
		return fc.Errorf(fc.CodeAccessDenied, "the date %q in the Date header is out of range: it is not an RFC 1123 date (%w)", date, err)
	}
	now, skew := v.now(), v.maxSkew()
	if d := now.Sub(t); d > skew || d < -skew {
		return fc.Errorf(fc.CodeAccessDenied, "the date %q in the Date header is out of range: it must be within %s of the server time %s",
			date, skew, now.UTC().Format(http.TimeFormat))
	}
	return nil
}

// checkSignature compares the expected signature of sts with the given one
// in constant time. The server's string to sign is kept as the cause of
// the error (logged, never sent) to help debug clients.
func checkSignature(secret, sts, got string) error {
	want := fcsign.Signature(secret, sts)
	if hmac.Equal([]byte(want), []byte(got)) {
		return nil
	}
	return &fc.Error{
		Code:    fc.CodeSignatureNotMatch,
		Message: signatureNotMatchMessage,
		Err:     fmt.Errorf("signature mismatch; server string to sign is %q", sts),
	}
}

// missingHeader is FC's MissingRequiredHeader error.
func missingHeader(name string) error {
	return fc.Errorf(fc.CodeMissingRequiredHeader, "required HTTP header %s was not specified", name)
}

// AdminKey is a Keys function that knows only the admin key c.
func AdminKey(c fcsign.Credentials) func(string) (Key, bool) {
	k := Key{Secret: c.AccessKeySecret, Principal: fc.Principal{Admin: true}}
	return func(id string) (Key, bool) {
		if id == c.AccessKeyID {
			return k, true
		}
		return Key{}, false
	}
}
