package gateway

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/upstream"
)

// httpWriter delivers an outcome to a net/http client. It is the only
// part of the chain that knows the server type (a faster HTTP/1.1 server
// would bring a writer of its own).
type httpWriter struct {
	rw http.ResponseWriter
	// fullDuplex: the request body is read while the answer is written
	// (set when a body is sent to an instance).
	fullDuplex bool
	// wroteHead: the answer's head is on its way.
	wroteHead bool
}

// deliver writes the outcome: an FC error, a tunnel after an upgrade, or
// the answer's head and its body streamed as it comes.
func (w *httpWriter) deliver(ctx context.Context, c *call) delivery {
	out := &c.out
	if out.Err != nil {
		return w.writeError(c, out.Err)
	}
	if out.Status == http.StatusSwitchingProtocols {
		return w.tunnel(c) // tunnel.go
	}
	h := w.rw.Header()
	for k, v := range out.Header {
		h[k] = v
	}
	announced := len(out.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range out.Trailer {
			keys = append(keys, k)
		}
		h["Trailer"] = []string{strings.Join(keys, ", ")}
	}
	w.writeHead(c, out.Status)
	if out.Body == nil {
		return delivery{status: out.Status}
	}
	stream := out.ContentLength == -1 || isEventStream(h)
	if stream {
		// A stream's head goes out at once: the client may be waiting for
		// it before it sends more (full duplex) or shows anything (SSE).
		_ = http.NewResponseController(w.rw).Flush()
	}
	bodyErr, clientErr := copyBody(w.rw, out.Body, c.g.upstream, stream)
	if bodyErr != nil && c.grpc && clientErr == nil && (ctx.Err() == nil || shuttingDown(ctx)) {
		// A gRPC stream ends with a status the client reads, not a
		// reset: its message limit, the function's timeout, a shutdown.
		_ = out.Body.Close()
		w.endGRPC(fc.AsError(exchangeError(ctx, c, bodyErr)))
		d := delivery{status: out.Status}
		if c.grpcIn.exceeded() == nil {
			d.broken = brokenAnswer(ctx, c, bodyErr)
		}
		return d
	}
	if bodyErr != nil {
		// What came goes out before the cut.
		_ = http.NewResponseController(w.rw).Flush()
	}
	_ = out.Body.Close()
	if c.body != nil && !c.body.consumed() {
		// The client's body is left unread: net/http will close the
		// connection, and the answer should be on its way first.
		_ = http.NewResponseController(w.rw).Flush()
	}
	if bodyErr != nil || clientErr != nil {
		d := delivery{status: out.Status, aborted: true}
		if bodyErr != nil {
			d.broken = brokenAnswer(ctx, c, bodyErr)
		}
		return d
	}
	if len(out.Trailer) > 0 {
		// Chunked framing carries trailers; flushing forces it.
		_ = http.NewResponseController(w.rw).Flush()
		prefix := ""
		if len(out.Trailer) != announced {
			prefix = http.TrailerPrefix
		}
		for k, v := range out.Trailer {
			h[prefix+k] = v
		}
	}
	return delivery{status: out.Status}
}

// writeHead adds the CORS defaults for a browser origin and sends the
// head.
func (w *httpWriter) writeHead(c *call, status int) {
	if c.origin != "" {
		addCORSDefaults(w.rw.Header(), c.origin)
	}
	w.closeIfBodyUnread(c)
	w.wroteHead = true
	w.rw.WriteHeader(status)
}

// writeError writes an FC error (with the CORS defaults for a browser
// origin).
func (w *httpWriter) writeError(c *call, fe *fc.Error) delivery {
	if c.grpc {
		return w.writeGRPCError(c, fe) // grpc.go
	}
	if c.origin != "" {
		addCORSDefaults(w.rw.Header(), c.origin)
	}
	w.closeIfBodyUnread(c)
	w.wroteHead = true
	fc.WriteError(w.rw, c.requestID, fe)
	return delivery{status: fe.Status(), errType: string(fe.Code.Type())}
}

// closeIfBodyUnread marks the answer Connection: close when it goes out
// before the client's body was read to its end while full duplex is on:
// net/http then closes the connection after the answer (the rest of the
// body is never read), and the client must not send its next request on
// it. (Without full duplex net/http decides this itself.)
func (w *httpWriter) closeIfBodyUnread(c *call) {
	if w.fullDuplex && (c.body == nil || !c.body.consumed()) {
		w.rw.Header()["Connection"] = []string{"close"}
	}
}

// sendingBody turns full duplex on: the instance may answer while the
// body is still being read.
func (w *httpWriter) sendingBody() {
	w.fullDuplex = http.NewResponseController(w.rw).EnableFullDuplex() == nil
}

// cancelBodyRead stops a read of the client's body in progress; an answer
// already written is flushed first, so that it is on its way before the
// connection that still carries the unread body is cut.
func (w *httpWriter) cancelBodyRead() {
	rc := http.NewResponseController(w.rw)
	if w.wroteHead {
		_ = rc.Flush()
	}
	_ = rc.SetReadDeadline(time.Unix(1, 0)) // in the past: a blocked read returns
}

// copyBody copies an answer's body to the client, flushing after every
// read when stream is set. bodyErr is a failure reading the answer (EOF
// is success), clientErr one writing to the client.
func copyBody(w http.ResponseWriter, body io.Reader, buffers *upstream.Client, stream bool) (bodyErr, clientErr error) {
	bp := buffers.GetBuffer()
	defer buffers.PutBuffer(bp)
	buf := *bp
	var flusher http.Flusher
	if stream {
		flusher, _ = w.(http.Flusher)
	}
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return nil, err
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if rerr == io.EOF {
			return nil, nil
		}
		if rerr != nil {
			return rerr, nil
		}
	}
}

func isEventStream(h http.Header) bool {
	v := h["Content-Type"]
	return len(v) > 0 && strings.HasPrefix(strings.ToLower(v[0]), "text/event-stream")
}
