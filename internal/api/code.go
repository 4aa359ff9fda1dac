package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/pkg/fcsign"
)

// GetFunctionCode (GET …/services/{s}[.{q}]/functions/{f}/code) answers
// {"url", "checksum"} as FC does. FC's url is a short-lived presigned OSS
// URL that an SDK user downloads with a plain GET; openfc's points at
// openfc itself: codeZipPattern, the same path plus "/zip", signed with
// FC's signed-URL scheme (x-fc-expires, x-fc-access-key-id,
// x-fc-signature) by the caller's own access key, valid for codeURLTTL.
// The download route also takes the usual Authorization header.
//
// The download serves the code of the function (or of the version or
// alias the qualifier names: versions keep their code by checksum) at the
// time of the download; X-Fc-Code-Checksum and the ETag tell which.

// codeZipPattern is the download route, the one route that accepts a
// signed URL in place of the Authorization header (verify).
const codeZipPattern = "GET " + v + "/services/{service}/functions/{function}/code/zip"

// codeURLTTL is how long GetFunctionCode's url stays valid.
const codeURLTTL = 10 * time.Minute

func (a *API) codeRoutes(h func(pattern string, fn handlerFunc)) {
	h("GET "+v+"/services/{service}/functions/{function}/code", a.getFunctionCode)
	a.handle(codeZipPattern, a.downloadCode)
}

// verify checks a management request's signature: the Authorization
// header, or on the download route without one, the signed URL.
func (a *API) verify(r *http.Request) (fc.Principal, error) {
	if r.Pattern == codeZipPattern && fcsign.HeaderValue(r.Header, fcsign.HeaderAuthorization) == "" &&
		r.URL.Query().Has(fcsign.QuerySignature) {
		return a.opts.Verifier.VerifyURL(r)
	}
	return a.opts.Verifier.VerifyHeader(r, false)
}

// codeFunction reads the function of a code route at its qualifier and
// checks it has a code package.
func (a *API) codeFunction(r *http.Request) (*fc.Function, error) {
	service, qualifier, err := a.splitQualifier(r.PathValue("service"))
	if err != nil {
		return nil, err
	}
	name := r.PathValue("function")
	var fn *fc.Function
	if qualifier != fc.LATEST {
		fn, _, err = a.opts.Store.ResolveFunction(service, qualifier, name, 1)
	} else if fn, _, err = a.opts.Store.GetFunction(r.Context(), service, name); err != nil {
		err = a.functionErr(r.Context(), err, service, name)
	}
	if err != nil {
		return nil, err
	}
	if fn.CodeChecksum == "" {
		return nil, fc.Errorf(fc.CodeInvalidArgument, "function '%s' of service '%s' has no code package (a custom-container function runs its image)", name, service)
	}
	return fn, nil
}

func (a *API) getFunctionCode(r *http.Request, _ string) (int, any, http.Header, error) {
	fn, err := a.codeFunction(r)
	if err != nil {
		return 0, nil, nil, err
	}
	u := a.baseURL(r)
	u.Path = r.URL.Path + "/zip"
	if r.URL.RawPath != "" {
		u.RawPath = r.URL.RawPath + "/zip"
	}
	signed, err := a.opts.Verifier.PresignURL(principalFrom(r.Context()).KeyID, http.MethodGet, u, codeURLTTL)
	if err != nil {
		return 0, nil, nil, err
	}
	return http.StatusOK, map[string]string{"url": signed.String(), "checksum": fn.CodeChecksum}, nil, nil
}

// baseURL is where the caller reached openfc: the request's Host (with
// https when the request came over TLS or a proxy says it did), so the
// url works from wherever the call came; PublicURL (the listener's
// address) only when the request has no Host.
func (a *API) baseURL(r *http.Request) *url.URL {
	if r.Host == "" {
		if u, err := url.Parse(a.opts.PublicURL); err == nil {
			return &url.URL{Scheme: u.Scheme, Host: u.Host}
		}
	}
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return &url.URL{Scheme: scheme, Host: r.Host}
}

// downloadCode serves the stored zip of the function at its qualifier.
func (a *API) downloadCode(w http.ResponseWriter, r *http.Request, reqID string) {
	fn, err := a.codeFunction(r)
	if err != nil {
		a.writeErr(w, r, reqID, err)
		return
	}
	rc, err := a.opts.Store.GetCode(r.Context(), fn.CodeChecksum)
	if errors.Is(err, fc.ErrNotFound) {
		err = fmt.Errorf("the code package %s of function %s/%s is missing from the store: %w", fn.CodeChecksum, fn.ServiceName, fn.FunctionName, err)
	}
	if err != nil {
		a.writeErr(w, r, reqID, fmt.Errorf("opening code package: %w", err))
		return
	}
	defer rc.Close()
	h := w.Header()
	h.Set(fc.HeaderRequestID, reqID)
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="`+fn.FunctionName+`.zip"`)
	h.Set(fc.HeaderCodeChecksum, fn.CodeChecksum)
	h.Set("ETag", `"`+fn.CodeChecksum+`"`)
	// The URL is a credential for a few minutes: no shared cache keeps it.
	h.Set("Cache-Control", "private, no-store")
	if fn.CodeSize > 0 {
		h.Set("Content-Length", strconv.FormatInt(fn.CodeSize, 10))
	}
	if r.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(w, rc); err != nil {
		// The status is sent: the short body is all the client sees.
		a.log.Warn("code download cut short", "request_id", reqID, "checksum", fn.CodeChecksum, "err", err)
	}
}
