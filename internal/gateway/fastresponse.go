package gateway

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// fastPending is how much of an answer without a Content-Length is held
// before its head goes out: an answer that ends within it is sent with a
// Content-Length (as net/http does), a longer one or a flushed one
// chunked.
const fastPending = 2 << 10

var errBodyTooLong = errors.New("http: wrote more than the declared Content-Length")

// fastResponse is the fast server's http.ResponseWriter, with what
// net/http's http.ResponseController reaches (FlushError, Hijack,
// SetReadDeadline, SetWriteDeadline, EnableFullDuplex), so the chain's
// writer (respond.go) serves both servers. It renders the head itself
// into the connection's buffered writer. One per connection, reset for
// each request.
type fastResponse struct {
	c      *fastConn
	req    *http.Request
	header http.Header
	status int
	// wroteHeader: the status is set; committed: the head is written.
	wroteHeader, committed bool
	// chunked frames the body; otherwise contentLength bytes (-1: until
	// the connection closes, for HTTP/1.0 clients) follow the head.
	chunked       bool
	contentLength int64
	written       int64
	noBody        bool // HEAD, 1xx, 204, 304
	closeAfter    bool
	pending       []byte
	scratch       []byte
}

func (w *fastResponse) reset(req *http.Request) {
	if w.header == nil {
		w.header = make(http.Header)
	}
	clear(w.header)
	*w = fastResponse{c: w.c, req: req, header: w.header, pending: w.pending[:0], scratch: w.scratch[:0]}
}

func (w *fastResponse) Header() http.Header { return w.header }

func (w *fastResponse) WriteHeader(code int) {
	if w.wroteHeader || w.c.hijacked {
		return
	}
	if code < 100 || code > 999 {
		panic("invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		// An informational answer goes out at once; the final one follows.
		w.scratch = appendStatusLine(w.scratch[:0], code, true)
		w.scratch = appendHeader(w.scratch, w.header)
		w.scratch = append(w.scratch, "\r\n"...)
		_, _ = w.c.bw.Write(w.scratch)
		_ = w.c.bw.Flush()
		return
	}
	w.wroteHeader, w.status = true, code
}

func (w *fastResponse) Write(p []byte) (int, error) {
	if w.c.hijacked {
		return 0, http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		if w.bodyless() {
			return len(p), nil
		}
		if _, ok := w.header["Content-Length"]; !ok && len(w.pending)+len(p) <= fastPending {
			w.pending = append(w.pending, p...)
			return len(p), nil
		}
		w.commit(-1, p)
	}
	return w.writeBody(p)
}

// bodyless reports whether the answer may not have a body.
func (w *fastResponse) bodyless() bool {
	s := w.status
	return w.req != nil && w.req.Method == http.MethodHead || s == http.StatusNoContent || s == http.StatusNotModified || s < 200
}

// writeBody frames p after the head.
func (w *fastResponse) writeBody(p []byte) (int, error) {
	if w.noBody || len(p) == 0 {
		return len(p), nil
	}
	if w.chunked {
		w.scratch = strconv.AppendInt(w.scratch[:0], int64(len(p)), 16)
		w.scratch = append(w.scratch, "\r\n"...)
		if _, err := w.c.bw.Write(w.scratch); err != nil {
			return 0, err
		}
		n, err := w.c.bw.Write(p)
		if err == nil {
			_, err = w.c.bw.WriteString("\r\n")
		}
		return n, err
	}
	if w.contentLength >= 0 && w.written+int64(len(p)) > w.contentLength {
		return 0, errBodyTooLong
	}
	n, err := w.c.bw.Write(p)
	w.written += int64(n)
	return n, err
}

// commit writes the head. bodyLen is the whole body's length when it is
// known at this point (the handler ended), else -1; first is the body's
// first write, for the Content-Type sniffed when none was set.
func (w *fastResponse) commit(bodyLen int, first []byte) {
	w.committed = true
	h := w.header
	w.noBody = w.bodyless()
	w.contentLength = -1
	if v, ok := h["Content-Length"]; ok && len(v) > 0 {
		if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n >= 0 {
			w.contentLength = n
		} else {
			delete(h, "Content-Length")
		}
	}
	if len(w.pending) > 0 {
		first = w.pending
	}
	if _, ok := h["Content-Type"]; !ok && !w.noBody && len(first) > 0 {
		h["Content-Type"] = []string{http.DetectContentType(first)}
	}
	switch {
	case w.noBody || w.contentLength >= 0:
	case bodyLen >= 0:
		w.contentLength = int64(bodyLen)
		h["Content-Length"] = []string{strconv.Itoa(bodyLen)}
	case w.req != nil && w.req.ProtoMinor == 0:
		w.closeAfter = true // the body ends with the connection
	default:
		w.chunked = true
	}
	if w.shouldClose() {
		w.closeAfter = true
	}
	b := appendStatusLine(w.scratch[:0], w.status, w.req == nil || w.req.ProtoMinor == 1)
	if _, ok := h["Date"]; !ok {
		b = w.c.srv.dates.appendDate(b)
	}
	b = appendHeader(b, h)
	if w.chunked {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	if w.closeAfter && !hasToken(h["Connection"], "close") {
		b = append(b, "Connection: close\r\n"...)
	} else if !w.closeAfter && w.req != nil && w.req.ProtoMinor == 0 {
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	b = append(b, "\r\n"...)
	w.scratch = b
	_, _ = w.c.bw.Write(b)
	if len(w.pending) > 0 {
		p := w.pending
		w.pending = w.pending[:0]
		_, _ = w.writeBody(p)
	}
}

// shouldClose: the answer ends the connection (the handler or the
// request said so, or an HTTP/1.0 client did not ask to keep it).
func (w *fastResponse) shouldClose() bool {
	if hasToken(w.header["Connection"], "close") {
		return true
	}
	if w.req == nil {
		return true
	}
	if w.req.Close {
		return true
	}
	return w.req.ProtoMinor == 0 && !hasToken(w.req.Header["Connection"], "keep-alive")
}

// finish completes the answer after the handler returned: the head of an
// answer that wrote no more than fastPending (with its Content-Length),
// the last chunk and the trailers.
func (w *fastResponse) finish() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(len(w.pending), nil)
	}
	if w.contentLength >= 0 && w.written < w.contentLength && !w.noBody {
		w.closeAfter = true // the body came short: the client must not wait on it
	}
	if !w.chunked {
		return
	}
	b := append(w.scratch[:0], "0\r\n"...)
	b = appendTrailers(b, w.header)
	b = append(b, "\r\n"...)
	w.scratch = b
	_, _ = w.c.bw.Write(b)
}

// FlushError sends the head and what was written.
func (w *fastResponse) FlushError() error {
	if w.c.hijacked {
		return http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(-1, nil)
	}
	return w.c.bw.Flush()
}

// Flush is FlushError for http.Flusher.
func (w *fastResponse) Flush() { _ = w.FlushError() }

// Hijack hands the connection to the handler (an upgrade's tunnel); the
// disconnect watch stops first.
func (w *fastResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.c.hijacked {
		return nil, nil, http.ErrHijacked
	}
	if w.committed {
		return nil, nil, errors.New("http: hijack after the answer's head was written")
	}
	w.c.watch.disarm()
	w.c.hijacked = true
	_ = w.c.raw.SetDeadline(time.Time{})
	return &hijackedConn{Conn: w.c.raw, c: w.c}, bufio.NewReadWriter(w.c.br, w.c.bw), nil
}

func (w *fastResponse) SetReadDeadline(t time.Time) error  { return w.c.raw.SetReadDeadline(t) }
func (w *fastResponse) SetWriteDeadline(t time.Time) error { return w.c.raw.SetWriteDeadline(t) }

// EnableFullDuplex: the fast server always lets the body be read while
// the answer is written.
func (w *fastResponse) EnableFullDuplex() error { return nil }

// hijackedConn is the connection handed over: a byte the watch read
// ahead comes first.
type hijackedConn struct {
	net.Conn
	c *fastConn
}

func (h *hijackedConn) Read(p []byte) (int, error) { return connReader{h.c}.Read(p) }

func appendStatusLine(b []byte, code int, http11 bool) []byte {
	if http11 {
		b = append(b, "HTTP/1.1 "...)
	} else {
		b = append(b, "HTTP/1.0 "...)
	}
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	return append(append(b, http.StatusText(code)...), "\r\n"...)
}

// appendHeader renders h, without the trailers (keys with
// http.TrailerPrefix) and the framing the server decides.
func appendHeader(b []byte, h http.Header) []byte {
	for k, vs := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) || k == "Transfer-Encoding" {
			continue
		}
		for _, v := range vs {
			b = appendField(b, k, v)
		}
	}
	return b
}

// appendTrailers renders the trailers: the keys the head announced in
// Trailer, and those set with http.TrailerPrefix.
func appendTrailers(b []byte, h http.Header) []byte {
	for _, list := range h["Trailer"] {
		for k := range strings.SplitSeq(list, ",") {
			k = http.CanonicalHeaderKey(strings.TrimSpace(k))
			for _, v := range h[k] {
				b = appendField(b, k, v)
			}
		}
	}
	for k, vs := range h {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			for _, v := range vs {
				b = appendField(b, name, v)
			}
		}
	}
	return b
}

// appendField renders one field, with CR and LF in the value replaced
// by spaces (net/http's rule: a value cannot start another field).
func appendField(b []byte, k, v string) []byte {
	b = append(append(b, k...), ": "...)
	if !strings.ContainsAny(v, "\r\n") {
		return append(append(b, v...), "\r\n"...)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return append(b, "\r\n"...)
}

func hasToken(vs []string, token string) bool {
	for _, v := range vs {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
