package upstream

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"sync"
	"time"
)

// exchange is one request/response on one instance connection. It is
// also the response body Do hands out: reading it streams the instance's
// body, closing it ends the exchange.
type exchange struct {
	c    *upConn
	pool *connPool
	req  *Request
	hreq http.Request // the method, for ReadResponse
	resp *http.Response
	body io.ReadCloser // the framed body as net/http reads it
	// stop unregisters the context hook that breaks the connection's I/O
	// when the caller's context ends; false means the hook ran and the
	// connection is unusable.
	stop func() bool
	// sent receives the body writer's result; nil without a body.
	sent chan error
	werr error // the body writer's error, once joined
	eof  bool  // the body was read to its end
	done bool  // finished
}

// Read streams the instance's response body. An error other than io.EOF
// means the instance broke off (or the exchange was cut).
func (x *exchange) Read(p []byte) (int, error) {
	n, err := x.body.Read(p)
	if err == io.EOF {
		x.eof = true
	}
	return n, err
}

// Close ends the exchange: the connection goes back to the pool when the
// body was read to its end and nothing else broke it.
func (x *exchange) Close() error {
	if x.done {
		return nil
	}
	reuse := x.eof && !x.resp.Close && x.c.br.Buffered() == 0
	if reuse {
		// A body the framing ends; after a HEAD, 204 or 304 a careless
		// server may still write one, so that connection is peeked
		// before its next use.
		x.c.framed = x.hreq.Method != http.MethodHead && x.resp.StatusCode != http.StatusNoContent && x.resp.StatusCode != http.StatusNotModified
	}
	x.finish(reuse)
	return nil
}

// finish releases the exchange's connection: back to the pool when reuse
// is true and nothing broke it, else closed. A body writer still running
// is stopped (the instance answered without reading the whole body) and
// waited for.
func (x *exchange) finish(reuse bool) {
	if x.done {
		return
	}
	x.done = true
	hooked := !x.stop()
	if x.sent != nil && !x.joinWriter() {
		reuse = false
	}
	if reuse && !hooked && x.c.nc.SetDeadline(time.Time{}) == nil {
		x.pool.put(x.c)
		return
	}
	_ = x.c.nc.Close()
}

// bodyGrace is how long an exchange that has its answer waits for the
// request body to finish going out before it cuts it.
const bodyGrace = 50 * time.Millisecond

// joinWriter waits for the body writer and reports whether it sent the
// whole body. A writer still busy after bodyGrace is cut on both ends:
// the instance connection is closed and the body's reader told to stop.
func (x *exchange) joinWriter() bool {
	var err error
	defer func() { x.werr = err }()
	select {
	case err = <-x.sent:
	default:
		t := time.NewTimer(bodyGrace)
		select {
		case err = <-x.sent:
		case <-t.C:
			_ = x.c.nc.Close()
			cancelRead(x.req.Body)
			err = <-x.sent
			t.Stop()
			return false
		}
		t.Stop()
	}
	return err == nil
}

func cancelRead(body io.Reader) {
	if d, ok := body.(DuplexBody); ok {
		d.CancelRead()
	}
}

// writeBody sends the request body (after the head) and flushes; chunked
// bodies are flushed chunk by chunk so that a streaming upload streams.
// On failure the connection is closed, which also ends the response read.
func (c *Client) writeBody(conn *upConn, req *Request) (err error) {
	bp := c.GetBuffer()
	defer c.PutBuffer(bp)
	buf := *bp
	defer func() {
		if err != nil {
			_ = conn.nc.Close()
		}
	}()
	chunked := req.ContentLength < 0
	src := req.Body
	if !chunked {
		// Never more than the head announced: bytes past it would be
		// read by the instance as a request of their own.
		src = io.LimitReader(req.Body, req.ContentLength)
	}
	var dst io.Writer = conn.bw
	var cw io.WriteCloser
	if chunked {
		cw = httputil.NewChunkedWriter(conn.bw)
		dst = cw
	}
	var n int64
	for {
		m, rerr := src.Read(buf)
		if m > 0 {
			n += int64(m)
			if _, err := dst.Write(buf[:m]); err != nil {
				return fmt.Errorf("sending the request body: %w", err)
			}
			if chunked {
				if err := conn.bw.Flush(); err != nil {
					return fmt.Errorf("sending the request body: %w", err)
				}
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("reading the request body: %w", rerr)
		}
	}
	if chunked {
		if err := cw.Close(); err != nil {
			return fmt.Errorf("sending the request body: %w", err)
		}
		_, _ = conn.bw.WriteString("\r\n")
	} else if n != req.ContentLength {
		return fmt.Errorf("the request body was %d bytes, not its Content-Length %d", n, req.ContentLength)
	} else if m, _ := req.Body.Read(buf[:1]); m > 0 {
		return fmt.Errorf("the request body is longer than its Content-Length %d", req.ContentLength)
	}
	if err := conn.bw.Flush(); err != nil {
		return fmt.Errorf("sending the request body: %w", err)
	}
	return nil
}

// tunnel is an upgraded connection (after a 101): bytes both ways until
// either side closes. Close closes the connection; it may be called from
// both copying goroutines.
type tunnel struct {
	x    *exchange
	once sync.Once
}

func (t *tunnel) Read(p []byte) (int, error)  { return t.x.c.br.Read(p) }
func (t *tunnel) Write(p []byte) (int, error) { return t.x.c.nc.Write(p) }

func (t *tunnel) Close() error {
	t.once.Do(func() { t.x.finish(false) })
	return nil
}

// GetBuffer and PutBuffer lend the client's 32 KB copy buffers, to its
// callers too (they stream its bodies). Passing the slice's pointer
// around makes giving one back allocate nothing.
func (c *Client) GetBuffer() *[]byte  { return c.buffers.Get().(*[]byte) }
func (c *Client) PutBuffer(p *[]byte) { c.buffers.Put(p) }
