package gateway

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/openfc/openfc/internal/fc"
)

// This file holds FC's rules for gRPC calls: which requests are gRPC
// (they go to the instance over h2c), the limit on each message as the
// messages pass, and errors told the way a gRPC client reads them.

// isGRPC reports whether r is a gRPC call: HTTP/2 with the Content-Type
// application/grpc or application/grpc+codec. gRPC-Web (its own types,
// over HTTP/1.1 too) is a plain HTTP request.
func isGRPC(r *http.Request) bool {
	if r.ProtoMajor != 2 {
		return false
	}
	ct := r.Header["Content-Type"]
	if len(ct) != 1 || len(ct[0]) < len("application/grpc") || !strings.EqualFold(ct[0][:len("application/grpc")], "application/grpc") {
		return false
	}
	rest := ct[0][len("application/grpc"):]
	return rest == "" || rest[0] == '+' || rest[0] == ';'
}

// checkGRPCBody replaces the body limit of a gRPC call with the limit on
// each of its messages: a stream has no size, only its function's
// timeout. A gRPC call is synchronous.
func (g *Gateway) checkGRPCBody(c *call) error {
	if typ, err := fc.ParseInvocationType(c.r.Header); err != nil || typ == fc.Async {
		return fc.Errorf(fc.CodeInvalidArgument, "a gRPC call is invoked synchronously; drop the %s header", fc.HeaderInvocationType)
	}
	if c.body != nil {
		c.grpcIn = newGRPCMessages(c.body.rc, g.limits.MaxStreamMessage, "client")
		c.body.rc = c.grpcIn
	}
	return nil
}

// grpcMessages passes a gRPC stream's bytes through and checks each
// length-prefixed message (a flags byte, then the length, 4 bytes big
// endian) against limit as its prefix goes by: a message is never
// buffered. A prefix is passed on only whole, so that a message over the
// limit leaves nothing of itself on the other side: what went before it
// is delivered, then the stream ends with a status.
type grpcMessages struct {
	r     io.Reader
	limit int64
	// from says whose messages these are, for the error.
	from string
	// held is the start of a prefix not passed on yet (a read ended in
	// it).
	held  [grpcPrefixLen]byte
	nheld int
	left  int64 // bytes of the current message still to pass
	// over is the size of the message over the limit (0: none); it is
	// read by the goroutine that ends the call.
	over atomic.Int64
}

const grpcPrefixLen = 5

func newGRPCMessages(r io.Reader, limit int64, from string) *grpcMessages {
	return &grpcMessages{r: r, limit: limit, from: from}
}

func (m *grpcMessages) Read(p []byte) (int, error) {
	if m.over.Load() > 0 {
		return 0, m.tooLarge()
	}
	if len(p) < grpcPrefixLen {
		return 0, io.ErrShortBuffer // never with the exchange's buffers
	}
	k := copy(p, m.held[:m.nheld])
	m.nheld = 0
	n, err := m.r.Read(p[k:])
	n += k
	for i := 0; i < n; {
		if m.left > 0 {
			step := min(int64(n-i), m.left)
			m.left -= step
			i += int(step)
			continue
		}
		if n-i < grpcPrefixLen {
			if err != nil {
				return n, err // the stream ended inside a prefix
			}
			m.nheld = copy(m.held[:], p[i:n])
			return i, nil
		}
		size := int64(binary.BigEndian.Uint32(p[i+1 : i+grpcPrefixLen]))
		if size > m.limit {
			m.over.Store(size)
			return i, m.tooLarge()
		}
		m.left = size
		i += grpcPrefixLen
	}
	return n, err
}

// exceeded returns the FC error of a message over the limit, nil when
// none was.
func (m *grpcMessages) exceeded() *fc.Error {
	if m == nil || m.over.Load() == 0 {
		return nil
	}
	return m.tooLarge()
}

func (m *grpcMessages) tooLarge() *fc.Error {
	return fc.Errorf(fc.CodeEntityTooLarge, "a gRPC message of %d bytes from the %s is over the limit of %d bytes",
		m.over.Load(), m.from, m.limit)
}

// grpcBody is a function's answer checked by grpcMessages.
type grpcBody struct {
	*grpcMessages
	io.Closer
}

// writeGRPCError answers a gRPC call's FC error as gRPC does, in
// "trailers only" form: HTTP 200, the status in grpc-status and
// grpc-message, no body. FC's own headers (request id, error type) stay.
func (w *httpWriter) writeGRPCError(c *call, fe *fc.Error) delivery {
	h := w.rw.Header()
	if c.origin != "" {
		addCORSDefaults(h, c.origin)
	}
	h["Content-Type"] = []string{"application/grpc"}
	h[fc.HeaderRequestID] = []string{c.requestID}
	h[fc.HeaderErrorType] = []string{string(fe.Code.Type())}
	setGRPCStatus(h, "", fe)
	w.wroteHead = true
	w.rw.WriteHeader(http.StatusOK)
	return delivery{status: fe.Status(), errType: string(fe.Code.Type())}
}

// endGRPC ends a gRPC answer under way with fe's status, in its
// trailers: the client reads a status instead of a reset stream.
func (w *httpWriter) endGRPC(fe *fc.Error) {
	setGRPCStatus(w.rw.Header(), http.TrailerPrefix, fe)
}

func setGRPCStatus(h http.Header, prefix string, fe *fc.Error) {
	h[prefix+"Grpc-Status"] = []string{strconv.Itoa(int(fe.Code.GRPC()))}
	h[prefix+"Grpc-Message"] = []string{grpcPercentEncode(string(fe.Code) + ": " + fe.Message)}
}

// grpcPercentEncode encodes a grpc-message value as the gRPC HTTP/2
// protocol says: bytes outside printable ASCII, and '%', as %XX.
func grpcPercentEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '%' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}
