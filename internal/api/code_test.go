package api_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/codezip"
	"github.com/openfc/openfc/pkg/fcsign"
)

// functionCode is GetFunctionCode's answer.
type functionCode struct {
	URL      string `json:"url"`
	Checksum string `json:"checksum"`
}

// getCode calls GetFunctionCode and checks the url's form: the download
// path on the host the call went to, signed by the test key for about ten minutes.
func (e *env) getCode(service, function string) (functionCode, *url.URL) {
	e.t.Helper()
	var out functionCode
	e.must(http.MethodGet, fnPath(service, function)+"/code", nil, &out)
	u, err := url.Parse(out.URL)
	if err != nil {
		e.t.Fatalf("url %q: %v", out.URL, err)
	}
	if got, want := u.Scheme+"://"+u.Host, e.srv.URL; got != want {
		e.t.Errorf("url %s: base %s; want %s (where the call went)", u, got, want)
	}
	if want := "/2016-08-15" + fnPath(service, function) + "/code/zip"; u.EscapedPath() != want {
		e.t.Errorf("url path %s; want %s", u.EscapedPath(), want)
	}
	q := u.Query()
	exp, _ := strconv.ParseInt(q.Get(fcsign.QueryExpires), 10, 64)
	if d := time.Until(time.Unix(exp, 0)); d < 9*time.Minute || d > 11*time.Minute {
		e.t.Errorf("url expires in %s; want about 10 minutes", d)
	}
	if q.Get(fcsign.QueryAccessKeyID) != testKeyID || q.Get(fcsign.QuerySignature) == "" {
		e.t.Errorf("url query %v: want the caller's key id and a signature", q)
	}
	return out, u
}

// plainGet downloads u with no header at all, as a browser or curl
// would.
func (e *env) plainGet(u *url.URL) (int, http.Header, []byte) {
	e.t.Helper()
	resp, err := http.Get(u.String())
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// wantZip checks a download answered the zip with its checksum.
func wantZip(t *testing.T, what string, status int, h http.Header, body, want []byte) {
	t.Helper()
	sum := codezip.Checksum(want)
	if status != 200 || !bytes.Equal(body, want) {
		t.Fatalf("%s: %d, %d bytes (%.200q); want 200 and the %d-byte zip", what, status, len(body), body, len(want))
	}
	if h.Get("Content-Type") != "application/zip" || h.Get("Content-Length") != strconv.Itoa(len(want)) ||
		h.Get("X-Fc-Code-Checksum") != sum || h.Get("ETag") != `"`+sum+`"` || h.Get("X-Fc-Request-Id") == "" {
		t.Errorf("%s: headers %v; want application/zip, its length and checksum %s", what, h, sum)
	}
}

// TestGetFunctionCode: the url downloads the function's zip with a plain
// GET; a forged, expired or re-targeted url fails with FC's errors; the
// download also takes a header signature; a version's code is that
// version's.
func TestGetFunctionCode(t *testing.T) {
	e := newEnv(t)
	e.createService("svc")
	z1 := appZip(t, "one")
	e.must(http.MethodPost, svcPath("svc")+"/functions", fnBody("fn", z1), nil)

	got, u := e.getCode("svc", "fn")
	if got.Checksum != codezip.Checksum(z1) {
		t.Errorf("checksum %s; want %s", got.Checksum, codezip.Checksum(z1))
	}
	st, h, b := e.plainGet(u)
	wantZip(t, "presigned GET", st, h, b, z1)

	st, h, b = e.raw(http.MethodGet, fnPath("svc", "fn")+"/code/zip", nil, nil, true)
	wantZip(t, "header-signed GET", st, h, b, z1)

	cred := fcsign.Credentials{AccessKeyID: testKeyID, AccessKeySecret: testKeySecret}
	plain := *u
	plain.RawQuery = ""
	forged := *u
	q := forged.Query()
	q.Set(fcsign.QuerySignature, fcsign.Signature("not the secret", "x"))
	forged.RawQuery = q.Encode()
	other := *u // the signature of fn's url on another function's path
	other.Path = strings.Replace(u.Path, "/functions/fn/", "/functions/fn2/", 1)
	for _, tc := range []struct {
		name   string
		u      *url.URL
		status int
		code   string
		msg    string
	}{
		{"unsigned", &plain, 400, "MissingRequiredHeader", "Authorization"},
		{"forged", &forged, 403, "SignatureNotMatch", ""},
		{"another path", &other, 403, "SignatureNotMatch", ""},
		{"expired", fcsign.PresignURL(cred, http.MethodGet, &plain, nil, time.Now().Add(-time.Minute), ""), 403, "AccessDenied", "expired"},
		{"unknown key", fcsign.PresignURL(fcsign.Credentials{AccessKeyID: "LTAIunknown", AccessKeySecret: "s"}, http.MethodGet, &plain, nil, time.Now().Add(time.Minute), ""), 403, "InvalidAccessKeyID", "LTAIunknown"},
	} {
		st, h, b := e.plainGet(tc.u)
		var msgs []string
		if tc.msg != "" {
			msgs = append(msgs, tc.msg)
		}
		t.Run(tc.name, func(t *testing.T) { wantRawError(t, st, h, b, tc.status, tc.code, msgs...) })
	}

	// Only the download route takes a signed URL.
	srv, _ := url.Parse(e.srv.URL)
	svcURL := fcsign.PresignURL(cred, http.MethodGet, &url.URL{Scheme: srv.Scheme, Host: srv.Host, Path: "/2016-08-15/services/svc"}, nil, time.Now().Add(time.Minute), "")
	st, h, b = e.plainGet(svcURL)
	wantRawError(t, st, h, b, 400, "MissingRequiredHeader", "Authorization")

	for _, p := range []string{fnPath("svc", "nope") + "/code", fnPath("svc", "nope") + "/code/zip"} {
		_, err := e.do(http.MethodGet, p, nil, nil)
		wantAPIError(t, err, 404, "FunctionNotFound", "nope")
	}
	_, err := e.do(http.MethodGet, fnPath("nosvc", "fn")+"/code", nil, nil)
	wantAPIError(t, err, 404, "ServiceNotFound", "nosvc")
	_, err = e.do(http.MethodGet, fnPath("svc.7", "fn")+"/code", nil, nil)
	wantAPIError(t, err, 404, "VersionNotFound", "7")

	// Version 1 keeps z1 after LATEST moves on to z2. (fn2 keeps
	// referencing z1: the test's code collector counts only functions.)
	e.must(http.MethodPost, svcPath("svc")+"/functions", fnBody("fn2", z1), nil)
	e.must(http.MethodPost, "/services/svc/versions", map[string]any{}, nil)
	z2 := appZip(t, "two")
	e.must(http.MethodPut, fnPath("svc", "fn"), map[string]any{"code": map[string]any{"zipFile": b64(z2)}}, nil)
	latest, u2 := e.getCode("svc", "fn")
	v1, u1 := e.getCode("svc.1", "fn")
	if latest.Checksum != codezip.Checksum(z2) || v1.Checksum != codezip.Checksum(z1) {
		t.Errorf("checksums: LATEST %s, version 1 %s; want %s, %s", latest.Checksum, v1.Checksum, codezip.Checksum(z2), codezip.Checksum(z1))
	}
	st, h, b = e.plainGet(u2)
	wantZip(t, "LATEST after the update", st, h, b, z2)
	st, h, b = e.plainGet(u1)
	wantZip(t, "version 1", st, h, b, z1)
}
