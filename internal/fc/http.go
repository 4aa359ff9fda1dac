package fc

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names openfc reads or writes on the data plane.
const (
	HeaderRequestID   = "X-Fc-Request-Id"
	HeaderErrorType   = "X-Fc-Error-Type"
	HeaderControlPath = "X-Fc-Control-Path"
	HeaderBasePath    = "X-Fc-Base-Path"
	HeaderQualifier   = "X-Fc-Qualifier"
	// HeaderServiceVersion tells the client which version served its
	// request (an alias may split requests over two).
	HeaderServiceVersion = "X-Fc-Invocation-Service-Version"
	HeaderStatus         = "X-Fc-Status"
	HeaderInvocationType = "X-Fc-Invocation-Type"
	HeaderLogType        = "X-Fc-Log-Type"
	HeaderLogResult      = "X-Fc-Log-Result"
	// HeaderCodeChecksum names the checksum of a code package served
	// (GetFunctionCode's download).
	HeaderCodeChecksum = "X-Fc-Code-Checksum"
	// HeaderRuntimeToken carries a built-in runtime's per-instance secret
	// (OPENFC_RUNTIME_TOKEN) on the answers its bootstrap writes itself:
	// the trusted channel for X-Fc-Error-Type. Never leaves openfc.
	HeaderRuntimeToken = "X-Openfc-Runtime-Token"
)

// The control paths FC tells an instance (x-fc-control-path) what a
// request is for.
const (
	ControlHTTPInvoke = "/http-invoke" // an HTTP-trigger request
	ControlInvoke     = "/invoke"      // an event invocation (InvokeFunction)
	ControlInitialize = "/initialize"  // the initializer hook
	ControlPreStop    = "/pre-stop"    // the PreStop hook
)

// FC's HTTP-trigger limits, the defaults of the `serve` flags that
// change them.
const (
	MaxRequestHeaderBytes  = 8 << 10   // request headers, keys plus values
	MaxRequestPathBytes    = 4 << 10   // the request target, path plus query
	MaxSyncBodyBytes       = 32 << 20  // a synchronous request body
	MaxAsyncBodyBytes      = 128 << 10 // an asynchronous request body
	MaxResponseHeaderBytes = 8 << 10   // the function's response headers
	// MaxStreamMessageBytes bounds one message of a WebSocket or gRPC
	// stream, in either direction; the stream as a whole has no size
	// limit, only the function's timeout.
	MaxStreamMessageBytes = 6 << 20
)

// HeaderSize is FC's measure of headers against its limits: the bytes of
// every key and value.
func HeaderSize(h http.Header) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v)
		}
	}
	return n
}

// HeaderField is one header line.
type HeaderField struct{ Name, Value string }

// FunctionHeaders are FC's common request headers that describe fn and
// where it runs: every request an instance gets carries them, invocations
// and lifecycle hooks alike. The sender adds the ones of the request
// (x-fc-request-id, -control-path, -qualifier and, on the proxy form,
// -base-path).
func FunctionHeaders(fn *Function, region, accountID string) []HeaderField {
	h := []HeaderField{
		{"X-Fc-Function-Name", fn.FunctionName},
		{"X-Fc-Service-Name", fn.ServiceName},
		{"X-Fc-Function-Handler", fn.Handler},
		{"X-Fc-Function-Memory", strconv.Itoa(fn.MemorySize)},
		{"X-Fc-Function-Timeout", strconv.Itoa(fn.Timeout)},
	}
	if fn.Initializer != "" {
		h = append(h, HeaderField{"X-Fc-Function-Initializer", fn.Initializer},
			HeaderField{"X-Fc-Initialization-Timeout", strconv.Itoa(fn.InitializationTimeout)})
	}
	return append(h, HeaderField{"X-Fc-Region", region}, HeaderField{"X-Fc-Account-Id", accountID},
		HeaderField{"X-Fc-Version-Id", fn.Version()})
}

// IsFCHeader reports whether a header is one of FC's own (x-fc-*): a
// client's never reach a function, a function's never reach the client.
func IsFCHeader(k string) bool { return len(k) >= 5 && strings.EqualFold(k[:5], "x-fc-") }

// InvocationType is how a request is invoked (X-Fc-Invocation-Type).
type InvocationType uint8

// The invocation types.
const (
	Sync InvocationType = iota
	Async
)

// ParseInvocationType reads how a request is invoked: X-Fc-Invocation-Type
// empty or "Sync" is synchronous, "Async" asynchronous (in any letter
// case), and a X-Fc-Stateful-Async-Invocation-Id header (a task) implies
// Async; any other type is InvalidArgument. The type is returned even
// with the error (Sync for an unknown one), so that the body limit can be
// applied first.
func ParseInvocationType(h http.Header) (InvocationType, error) {
	v := h.Get(HeaderInvocationType)
	switch {
	case strings.EqualFold(v, "Async"):
		return Async, nil
	case v == "" && len(h[http.CanonicalHeaderKey(HeaderStatefulAsyncInvocationID)]) > 0:
		return Async, nil
	case v == "" || strings.EqualFold(v, "Sync"):
		if len(h[http.CanonicalHeaderKey(HeaderStatefulAsyncInvocationID)]) > 0 {
			return Sync, Errorf(CodeInvalidArgument, "%s names an asynchronous task; it cannot be used with X-Fc-Invocation-Type Sync", HeaderStatefulAsyncInvocationID)
		}
		return Sync, nil
	}
	return Sync, Errorf(CodeInvalidArgument, "X-Fc-Invocation-Type %q is invalid; use Sync or Async", v)
}

// NewRequestID returns a request id in FC's style:
// "1-<unix seconds, hex>-<8 hex>-<12 hex>".
func NewRequestID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	var out [64]byte
	s := append(out[:0], "1-"...)
	s = strconv.AppendInt(s, time.Now().Unix(), 16)
	s = append(s, '-')
	s = hex.AppendEncode(s, b[:4])
	s = append(s, '-')
	s = hex.AppendEncode(s, b[4:])
	return string(s)
}

// WriteError writes err as FC's JSON error with its status, request id and
// X-Fc-Error-Type. Errors that are not *Error become InternalServerError;
// their text is never sent.
func WriteError(w http.ResponseWriter, requestID string, err error) {
	fe := AsError(err)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set(HeaderRequestID, requestID)
	h.Set(HeaderErrorType, string(fe.Code.Type()))
	h.Del("Content-Length")
	h.Del("Content-Disposition")
	body, _ := json.Marshal(ErrorBody{ErrorCode: string(fe.Code), ErrorMessage: fe.Message, RequestID: requestID})
	w.WriteHeader(fe.Status())
	_, _ = w.Write(body)
}
