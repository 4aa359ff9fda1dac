package fc

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Header names openfc reads or writes on the data plane.
const (
	HeaderRequestID = "X-Fc-Request-Id"
	HeaderErrorType = "X-Fc-Error-Type"
)

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
