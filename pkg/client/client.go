// Package client is a Go client for the Function Compute 2.0 management
// API (version 2016-08-15) as served by openfc, and compatible with
// Alibaba Cloud FC 2.0. Requests are signed like the official SDKs sign
// them ("Authorization: FC <accessKeyId>:<signature>"), by pkg/fcsign, the
// code the openfc server verifies with. The package imports no internal
// package of openfc, so other modules can use it.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/openfc/openfc/pkg/fcsign"
)

// APIVersion is the FC API version every path is prefixed with.
const APIVersion = "2016-08-15"

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 1 << 20

// Credentials is an access key pair.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
}

// String masks the secret so credentials never leak into logs.
func (c Credentials) String() string {
	return fmt.Sprintf("Credentials{AccessKeyID: %q, AccessKeySecret: \"****\"}", c.AccessKeyID)
}

// GoString masks the secret for %#v as well.
func (c Credentials) GoString() string { return "client." + c.String() }

// Client calls the management API of one account. It is safe for
// concurrent use.
type Client struct {
	endpoint  *url.URL
	accountID string
	cred      Credentials
	hc        *http.Client
	now       func() time.Time
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client used for requests (default
// http.DefaultClient).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithUserAgent sets the User-Agent header of requests.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a client for the API at endpoint (for example
// "http://127.0.0.1:9000" or "https://<accountId>.cn-hangzhou.fc.aliyuncs.com"),
// acting for accountID with the given access key. An endpoint that does
// not parse as an absolute URL makes every call fail with that error.
func New(endpoint, accountID string, cred Credentials, opts ...Option) *Client {
	c := &Client{
		accountID: accountID,
		cred:      cred,
		hc:        http.DefaultClient,
		now:       time.Now,
		userAgent: "openfc-go-client",
	}
	if u, err := url.Parse(strings.TrimRight(endpoint, "/")); err == nil && u.Scheme != "" && u.Host != "" {
		c.endpoint = u
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Error is an error returned by the API: a non-2xx status with FC's JSON
// body {"ErrorCode", "ErrorMessage", "RequestId"}, or a function error
// read by ResponseError.
type Error struct {
	Status    int    // HTTP status
	Code      string // FC error code, e.g. "ServiceNotFound"; empty when the body was not FC JSON
	Message   string
	RequestID string // from the body or the X-Fc-Request-Id header
	// Type is the X-Fc-Error-Type header: "FcCommonError" for platform
	// errors, "UnhandledInvocationError" for function errors; empty when
	// the server sent none.
	Type string
	// Body is the response body as received (at most 1 MiB), for callers
	// that pass it on unchanged (a CLI's --json).
	Body []byte
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fc: %d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request id " + e.RequestID + ")")
	}
	return b.String()
}

// HasCode reports whether err is an *Error with the given FC error code.
func HasCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// IsNotFound reports whether err is an *Error with status 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// Do sends one API request and returns the response headers. path follows
// the version prefix, e.g. "/services/s1/functions", already escaped as it
// should appear in the URL. query may be nil. A non-nil in is sent as the
// JSON body (a json.RawMessage or []byte as is). When out is non-nil a
// non-empty 2xx body is decoded into it. Non-2xx responses return *Error.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, in, out any) (http.Header, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = encodeBody(in); err != nil {
			return nil, fmt.Errorf("fc: %s %s: encode request: %w", method, path, err)
		}
	}
	req, err := c.newRequest(ctx, method, path, query, body, "application/json", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fc: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.Header, parseError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Header, nil
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.Header, fmt.Errorf("fc: %s %s: read response: %w", method, path, err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return resp.Header, nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return resp.Header, fmt.Errorf("fc: %s %s: decode response: %w", method, path, err)
	}
	return resp.Header, nil
}

// encodeBody returns the JSON body for in.
func encodeBody(in any) ([]byte, error) {
	switch v := in.(type) {
	case json.RawMessage:
		return v, nil
	case []byte:
		return v, nil
	}
	return json.Marshal(in)
}

// newRequest builds and signs a request. contentType is only set when
// there is a body; extra headers are added before signing.
func (c *Client) newRequest(ctx context.Context, method, path string, query url.Values, body []byte, contentType string, extra http.Header) (*http.Request, error) {
	if c.endpoint == nil {
		return nil, fmt.Errorf("fc: %s %s: the client endpoint is not an absolute URL", method, path)
	}
	u, err := url.Parse(c.endpoint.String() + "/" + APIVersion + path)
	if err != nil {
		return nil, fmt.Errorf("fc: %s %s: %w", method, path, err)
	}
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), r)
	if err != nil {
		return nil, fmt.Errorf("fc: %s %s: %w", method, path, err)
	}
	for k, vs := range extra {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Date", c.now().UTC().Format(http.TimeFormat))
	req.Header.Set("X-Fc-Account-Id", c.accountID)
	fcsign.Sign(fcsign.Credentials{AccessKeyID: c.cred.AccessKeyID, AccessKeySecret: c.cred.AccessKeySecret}, req)
	return req, nil
}

// ResponseError reads resp's body (at most 1 MiB; the caller closes it)
// and returns the response as an *Error: FC's ErrorCode, ErrorMessage and
// RequestId when the body is FC's error JSON (JSON names match without
// regard to case, so a built-in runtime's {"errorMessage": …} gives its
// message too), else the body's text as the message. InvokeFunction returns a function error as the response
// itself; this turns it into an error like a platform error.
func ResponseError(resp *http.Response) *Error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &Error{
		Status:    resp.StatusCode,
		RequestID: resp.Header.Get("X-Fc-Request-Id"),
		Type:      resp.Header.Get("X-Fc-Error-Type"),
		Body:      b,
	}
	var body struct {
		ErrorCode    string `json:"ErrorCode"`
		ErrorMessage string `json:"ErrorMessage"`
		RequestID    string `json:"RequestId"`
	}
	if json.Unmarshal(b, &body) == nil && (body.ErrorCode != "" || body.ErrorMessage != "") {
		e.Code, e.Message = body.ErrorCode, body.ErrorMessage
		if body.RequestID != "" {
			e.RequestID = body.RequestID
		}
		return e
	}
	e.Message = strings.TrimSpace(string(b))
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// parseError turns a non-2xx response into *Error.
func parseError(resp *http.Response) error { return ResponseError(resp) }
