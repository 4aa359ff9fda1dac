package upstream

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestH2Deadline: Request.Deadline bounds the exchange: passed, nothing
// is sent; reached while the instance streams its answer, the body read
// fails with a deadline error (os.ErrDeadlineExceeded, as over HTTP/1.1)
// and the instance sees its stream reset. The connection stays.
func TestH2Deadline(t *testing.T) {
	reset := make(chan string, 1)
	c, b, _ := newH2Test(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body" {
			w.WriteHeader(200)
			io.WriteString(w, "partial")
			http.NewResponseController(w).Flush()
		}
		<-r.Context().Done() // the stream is reset
		reset <- r.URL.Path
	}), nil)
	resp, err := c.Do(t.Context(), b, &Request{Method: "GET", Path: "/head", Host: "fn.test", HTTP2: true, Deadline: time.Now().Add(-time.Second)})
	if !errors.Is(err, os.ErrDeadlineExceeded) || resp != nil {
		t.Errorf("Do past the deadline: %v; want os.ErrDeadlineExceeded", err)
	}
	if n := b.dials.Load(); n != 0 {
		t.Errorf("%d dials for a request past its deadline; want 0", n)
	}
	t.Run("waiting for the head", func(t *testing.T) {
		var err error
		within(t, 10*time.Second, "Do", func() {
			_, err = c.Do(t.Context(), b, &Request{Method: "GET", Path: "/head", Host: "fn.test", HTTP2: true, Deadline: time.Now().Add(100 * time.Millisecond)})
		})
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("Do: %v; want os.ErrDeadlineExceeded", err)
		}
		if p := recv(t, reset, "the instance to see its stream reset"); p != "/head" {
			t.Errorf("reset %s", p)
		}
	})
	t.Run("reading the body", func(t *testing.T) {
		resp, err := c.Do(t.Context(), b, &Request{Method: "GET", Path: "/body", Host: "fn.test", HTTP2: true, Deadline: time.Now().Add(300 * time.Millisecond)})
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		within(t, 10*time.Second, "reading the body", func() { got, err = io.ReadAll(resp.Body) })
		resp.Body.Close()
		if string(got) != "partial" || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("body %q, %v; want partial, then os.ErrDeadlineExceeded", got, err)
		}
		if p := recv(t, reset, "the instance to see its stream reset"); p != "/body" {
			t.Errorf("reset %s", p)
		}
	})
	if n, d := c.IdleConns(), b.dials.Load(); n != 1 || d != 1 {
		t.Errorf("%d idle connections, %d dials; want 1, 1 (a reset stream leaves its connection)", n, d)
	}
}

// TestH2ContextCanceled: the caller's context ending cuts the exchange,
// waiting for the head or reading the body; the error wraps
// context.Canceled and the instance sees its stream reset.
func TestH2ContextCanceled(t *testing.T) {
	arrived, reset := make(chan string, 1), make(chan string, 1)
	c, b, _ := newH2Test(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body" {
			w.WriteHeader(200)
			io.WriteString(w, "partial")
			http.NewResponseController(w).Flush()
		}
		arrived <- r.URL.Path
		<-r.Context().Done()
		reset <- r.URL.Path
	}), nil)
	t.Run("waiting for the head", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		errc := make(chan error, 1)
		go func() {
			resp, err := c.Do(ctx, b, h2Req("GET", "/head"))
			if resp != nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		recv(t, arrived, "the request")
		cancel()
		if err := recv(t, errc, "Do"); !errors.Is(err, context.Canceled) {
			t.Errorf("Do: %v; want context.Canceled", err)
		}
		recv(t, reset, "the instance to see its stream reset")
	})
	t.Run("reading the body", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		resp, err := c.Do(ctx, b, h2Req("GET", "/body"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		recv(t, arrived, "the request")
		buf := make([]byte, len("partial"))
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			t.Fatal(err)
		}
		cancel()
		var rerr error
		within(t, 10*time.Second, "a body read after cancel", func() { _, rerr = resp.Body.Read(buf) })
		if !errors.Is(rerr, context.Canceled) {
			t.Errorf("Read after cancel: %v; want context.Canceled", rerr)
		}
		recv(t, reset, "the instance to see its stream reset")
	})
}

// TestH2BodyClosedEarly: a response body closed before its end resets
// the stream (the instance's request ends) and tells a request body still
// being sent to stop (CancelRead); the connection carries the next
// request.
func TestH2BodyClosedEarly(t *testing.T) {
	reset := make(chan struct{}, 1)
	c, b, _ := newH2Test(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/next" {
			io.WriteString(w, "next")
			return
		}
		// The upload has started when the answer does.
		if _, err := r.Body.Read(make([]byte, 64)); err != nil {
			t.Errorf("reading the upload: %v", err)
		}
		rc := http.NewResponseController(w)
		for r.Context().Err() == nil {
			if _, err := io.WriteString(w, strings.Repeat("x", 1024)); err != nil {
				break
			}
			rc.Flush()
		}
		reset <- struct{}{}
	}), nil)
	body := newDuplexBody(1)
	body.chunks <- []byte("the start of an endless upload") // then Read blocks
	t.Cleanup(body.CancelRead)
	req := h2Req("POST", "/stream")
	req.Body, req.ContentLength = body, -1
	resp, err := c.Do(t.Context(), b, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	within(t, 10*time.Second, "Close", func() { resp.Body.Close() })
	if body.inRead.Load() != 0 {
		t.Error("Close returned while the request body was still being read")
	}
	if n := body.cancels.Load(); n != 1 {
		t.Errorf("CancelRead called %d times; want 1", n)
	}
	recv(t, reset, "the instance to see its stream reset")
	if err := resp.Body.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	if _, got := send(t, c, b, h2Req("GET", "/next")); got != "next" {
		t.Errorf("the next answer %q; want next", got)
	}
	if d := b.dials.Load(); d != 1 {
		t.Errorf("%d dials; want 1", d)
	}
}

// TestH2DeadlineDuringUpload: the deadline passing while a request body
// is still being sent (the instance waits for more) fails the exchange,
// before the answer's head (Do) or after it (the answer's read). The
// request body is told CancelRead, once, and no Read of it is in
// progress when Do returns or the answer's body is closed; the instance
// sees its stream reset.
func TestH2DeadlineDuringUpload(t *testing.T) {
	reset := make(chan struct{}, 1)
	c, b, _ := newH2Test(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body.Read(make([]byte, 64))
		if r.URL.Path == "/answered" {
			w.WriteHeader(200)
			http.NewResponseController(w).Flush()
		}
		io.Copy(io.Discard, r.Body) // until the reset
		<-r.Context().Done()
		reset <- struct{}{}
	}), nil)
	for _, answered := range []bool{false, true} {
		path := "/unanswered"
		if answered {
			path = "/answered"
		}
		t.Run(path, func(t *testing.T) {
			body := newDuplexBody(1)
			body.chunks <- []byte("the start of an endless upload")
			t.Cleanup(body.CancelRead)
			req := h2Req("POST", path)
			req.Body, req.ContentLength, req.Deadline = body, -1, time.Now().Add(300*time.Millisecond)
			var resp *http.Response
			var err error
			within(t, 10*time.Second, "Do", func() { resp, err = c.Do(t.Context(), b, req) })
			if answered {
				if err != nil {
					t.Fatal(err)
				}
				within(t, 10*time.Second, "reading the answer", func() { _, err = io.ReadAll(resp.Body) })
				within(t, 10*time.Second, "Close", func() { resp.Body.Close() })
			}
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("the exchange: %v; want os.ErrDeadlineExceeded", err)
			}
			if n, r := body.cancels.Load(), body.inRead.Load(); n != 1 || r != 0 {
				t.Errorf("CancelRead called %d times, %d Reads in progress at the end; want 1, 0", n, r)
			}
			recv(t, reset, "the instance to see its stream reset")
		})
	}
}
