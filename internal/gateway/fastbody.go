package gateway

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"time"
)

// fastMaxTrailer bounds a chunked request body's trailer section.
const fastMaxTrailer = 64 << 10

var errTrailerTooLarge = errors.New("http: request trailer too large")

// fastBody is a request body read from the fast server's connection:
// Content-Length bytes, or chunks (stdlib's decoder) and their trailer
// section, which is read and dropped as net/http's server does for the
// chain (it forwards no request trailers). One per connection, reset for
// each request.
type fastBody struct {
	c *fastConn
	// remaining is what a Content-Length body has left; -1 for chunked.
	remaining int64
	chunks    io.Reader
	// expect: the client waits for 100 Continue before it sends;
	// continued: it was sent.
	expect, continued bool
	done, closed      bool
	err               error
}

// reset prepares the body of a request whose fasthttp content length is
// n (-1: chunked, -2: none).
func (b *fastBody) reset(c *fastConn, n int64, expect bool) {
	*b = fastBody{c: c, remaining: n}
	switch {
	case n == -1:
		b.chunks = httputil.NewChunkedReader(c.br)
		b.expect = expect
	case n > 0:
		b.expect = expect
	default:
		b.remaining, b.done = 0, true
	}
}

// contentLength is the request's ContentLength (-1: chunked).
func (b *fastBody) contentLength() int64 { return b.remaining }

func (b *fastBody) Read(p []byte) (int, error) {
	switch {
	case b.closed:
		return 0, http.ErrBodyReadAfterClose
	case b.err != nil:
		return 0, b.err
	case b.done:
		return 0, io.EOF
	case len(p) == 0:
		return 0, nil
	}
	if b.expect && !b.continued {
		b.sendContinue()
	}
	var n int
	var err error
	if b.chunks != nil {
		n, err = b.chunks.Read(p)
		if err == io.EOF {
			err = b.readTrailer()
		}
	} else {
		if int64(len(p)) > b.remaining {
			p = p[:b.remaining]
		}
		n, err = b.c.br.Read(p)
		b.remaining -= int64(n)
		switch {
		case b.remaining == 0:
			err = io.EOF
		case err == io.EOF:
			err = io.ErrUnexpectedEOF
		}
	}
	if err == io.EOF {
		b.done = true
		b.c.watch.bodyDone()
	} else if err != nil {
		b.err = err
	}
	return n, err
}

// sendContinue answers Expect: 100-continue at the first read, unless
// the answer's head went out already.
func (b *fastBody) sendContinue() {
	b.continued = true
	if b.c.rw.committed {
		return
	}
	_, _ = b.c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
	_ = b.c.bw.Flush()
}

// readTrailer reads the trailer section after the last chunk (dropped)
// and reports io.EOF when it ended well.
func (b *fastBody) readTrailer() error {
	total := 0
	for {
		line, err := b.c.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			err = errTrailerTooLarge
		}
		if err != nil {
			return err
		}
		if total += len(line); total > fastMaxTrailer {
			return errTrailerTooLarge
		}
		if len(line) <= 2 && (len(line) == 1 || line[0] == '\r') {
			return io.EOF
		}
	}
}

// Close marks the body closed; what is left is dropped or the
// connection closed after the answer (drain).
func (b *fastBody) Close() error {
	b.closed = true
	return nil
}

// drain reads and drops what the handler left of the body, up to
// maxPostHandlerRead, and reports whether the connection may carry the
// next request. A client still waiting for 100 Continue never sends its
// body: that connection closes.
func (b *fastBody) drain() bool {
	if b.done {
		return true
	}
	if b.err != nil || b.expect && !b.continued || b.remaining > maxPostHandlerRead {
		return false
	}
	_ = b.c.raw.SetReadDeadline(time.Now().Add(b.c.srv.headerTimeout))
	defer func() { _ = b.c.raw.SetReadDeadline(time.Time{}) }()
	b.closed, b.continued = false, true
	n, _ := io.CopyN(io.Discard, b, maxPostHandlerRead+1)
	return b.done && n <= maxPostHandlerRead
}
