package wsrelay

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// sixMB is Function Compute's message limit, the one the tests use.
const sixMB = 6 << 20

func TestEcho(t *testing.T) {
	e := newEcho(t, websocket.CompressionDisabled)
	f := newFront(t, e.addr(), Options{MaxMessage: sixMB})
	c, _ := dial(t, f, websocket.CompressionDisabled)
	ctx := testCtx(t)
	msgs := []struct {
		typ  websocket.MessageType
		data []byte
	}{
		{websocket.MessageText, []byte("hello")},
		{websocket.MessageBinary, []byte{0, 1, 2, 0xff}},
		{websocket.MessageText, []byte("")},
		{websocket.MessageBinary, bytes.Repeat([]byte{7}, 200_000)}, // over the relay's buffer
	}
	var sent int64
	for _, m := range msgs {
		if err := c.Write(ctx, m.typ, m.data); err != nil {
			t.Fatal(err)
		}
		typ, data, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if typ != m.typ || !bytes.Equal(data, m.data) {
			t.Fatalf("echo of a %v of %d bytes: got a %v of %d bytes", m.typ, len(m.data), typ, len(data))
		}
		sent += int64(len(m.data))
	}
	if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatalf("closing handshake through the relay: %v", err)
	}
	wantClose(t, "instance", e.end(t), websocket.StatusNormalClosure, "bye")
	o := f.outcome(5 * time.Second)
	want := Result{Ended: EndedClient, Code: 1000, Reason: "bye",
		ClientBytes: sent, InstanceBytes: sent, Messages: int64(2 * len(msgs))}
	if o.res != want {
		t.Fatalf("got %+v, want %+v", o.res, want)
	}
}

// A fragmented message with a ping between its fragments: the instance
// answers the ping in the middle of the message, and the echo is whole.
func TestFragmentedWithPing(t *testing.T) {
	e := newEcho(t, websocket.CompressionDisabled)
	f := newFront(t, e.addr(), Options{MaxMessage: sixMB})
	c, _ := dial(t, f, websocket.CompressionDisabled)
	ctx := testCtx(t)
	// Ping waits for its pong, which only a Read sees.
	echoed := make(chan []byte, 1)
	go func() {
		_, data, err := c.Read(ctx)
		if err != nil {
			data = []byte(err.Error())
		}
		echoed <- data
	}()
	w, err := c.Writer(ctx, websocket.MessageText)
	if err != nil {
		t.Fatal(err)
	}
	parts := []string{"frag", "ment", strings.Repeat("ed", 40_000)}
	for i, p := range parts {
		if _, err := w.Write([]byte(p)); err != nil { // a frame each
			t.Fatal(err)
		}
		if i == 0 {
			if err := c.Ping(ctx); err != nil {
				t.Fatalf("ping inside a fragmented message: %v", err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := string(<-echoed), strings.Join(parts, ""); got != want {
		t.Fatalf("echo: got %d bytes, want %d", len(got), len(want))
	}
	if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatal(err)
	}
	if o := f.outcome(5 * time.Second); o.res.Ended != EndedClient || o.res.Messages != 2 {
		t.Fatalf("got %+v", o.res)
	}
}

// permessage-deflate, negotiated between the client and the instance,
// works through the relay: its RSV1 bit and compressed payloads pass on.
func TestCompressionEndToEnd(t *testing.T) {
	for name, mode := range map[string]websocket.CompressionMode{
		"context takeover":    websocket.CompressionContextTakeover,
		"no context takeover": websocket.CompressionNoContextTakeover,
	} {
		t.Run(name, func(t *testing.T) {
			e := newEcho(t, mode)
			f := newFront(t, e.addr(), Options{MaxMessage: sixMB})
			c, resp := dial(t, f, mode)
			if ext := resp.Header.Get("Sec-WebSocket-Extensions"); !strings.Contains(ext, "permessage-deflate") {
				t.Fatalf("permessage-deflate not negotiated: %q", ext)
			}
			ctx := testCtx(t)
			msg := []byte(strings.Repeat("compressible text ", 20_000))
			for range 3 {
				if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
					t.Fatal(err)
				}
				if _, data, err := c.Read(ctx); err != nil || !bytes.Equal(data, msg) {
					t.Fatalf("echo: %d bytes, %v", len(data), err)
				}
			}
			if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
				t.Fatal(err)
			}
			o := f.outcome(5 * time.Second)
			if o.res.ClientBytes == 0 || o.res.ClientBytes >= int64(len(msg)) {
				t.Fatalf("the relay carried %d bytes for 3 messages of %d: not compressed", o.res.ClientBytes, len(msg))
			}
		})
	}
}

func TestMessageLimit(t *testing.T) {
	const limit = sixMB
	reason := func(size int, who string) string {
		return "message of at least " + strconv.Itoa(size) + " bytes from the " + who +
			" is over the limit of " + strconv.Itoa(limit) + " bytes"
	}
	t.Run("at the limit both ways", func(t *testing.T) {
		e := newEcho(t, websocket.CompressionDisabled)
		f := newFront(t, e.addr(), Options{MaxMessage: limit})
		c, _ := dial(t, f, websocket.CompressionDisabled)
		ctx := testCtx(t)
		msg := bytes.Repeat([]byte{'x'}, limit)
		if err := c.Write(ctx, websocket.MessageBinary, msg); err != nil {
			t.Fatal(err)
		}
		if _, data, err := c.Read(ctx); err != nil || !bytes.Equal(data, msg) {
			t.Fatalf("echo of 6 MB: %d bytes, %v", len(data), err)
		}
		// A message of the limit made of fragments passes too.
		w, _ := c.Writer(ctx, websocket.MessageBinary)
		_, _ = w.Write(msg[:limit/2])
		_, _ = w.Write(msg[limit/2:])
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if _, data, err := c.Read(ctx); err != nil || len(data) != limit {
			t.Fatalf("echo of 6 MB in fragments: %d bytes, %v", len(data), err)
		}
		_ = c.Close(websocket.StatusNormalClosure, "")
		if o := f.outcome(5 * time.Second); o.res.Ended != EndedClient || o.res.ClientBytes != 2*limit {
			t.Fatalf("got %+v", o.res)
		}
	})
	t.Run("over it from the client", func(t *testing.T) {
		e := newEcho(t, websocket.CompressionDisabled)
		f := newFront(t, e.addr(), Options{MaxMessage: limit, CloseGrace: 2 * time.Second})
		c, _ := dial(t, f, websocket.CompressionDisabled)
		ctx := testCtx(t)
		if err := c.Write(ctx, websocket.MessageBinary, make([]byte, limit+1)); err != nil {
			t.Fatal(err)
		}
		_, _, err := c.Read(ctx)
		wantClose(t, "client", err, websocket.StatusMessageTooBig, reason(limit+1, "client"))
		wantClose(t, "instance", e.end(t), websocket.StatusMessageTooBig, reason(limit+1, "client"))
		o := f.outcome(5 * time.Second)
		if o.res.Ended != EndedTooBig || o.res.Dir != "client" || o.res.Code != 1009 || o.res.ClientBytes != 0 {
			t.Fatalf("got %+v", o.res)
		}
		if o.took > 1500*time.Millisecond { // CloseGrace is 2s
			t.Fatalf("Run took %v: the closing handshake was not seen", o.took)
		}
	})
	t.Run("over it in fragments from the client", func(t *testing.T) {
		e := newEcho(t, websocket.CompressionDisabled)
		f := newFront(t, e.addr(), Options{MaxMessage: limit})
		c, _ := dial(t, f, websocket.CompressionDisabled)
		ctx := testCtx(t)
		w, _ := c.Writer(ctx, websocket.MessageBinary)
		_, _ = w.Write(make([]byte, limit))
		_, _ = w.Write(make([]byte, 10))
		_ = w.Close()
		_, _, err := c.Read(ctx)
		wantClose(t, "client", err, websocket.StatusMessageTooBig, reason(limit+10, "client"))
		wantClose(t, "instance", e.end(t), websocket.StatusMessageTooBig, reason(limit+10, "client"))
		if o := f.outcome(5 * time.Second); o.res.Ended != EndedTooBig || o.res.Dir != "client" {
			t.Fatalf("got %+v", o.res)
		}
	})
	t.Run("over it from the instance", func(t *testing.T) {
		e := newEcho(t, websocket.CompressionDisabled)
		f := newFront(t, e.addr(), Options{MaxMessage: limit})
		c, _ := dial(t, f, websocket.CompressionDisabled)
		ctx := testCtx(t)
		if err := c.Write(ctx, websocket.MessageText, []byte("send "+strconv.Itoa(limit+1))); err != nil {
			t.Fatal(err)
		}
		_, _, err := c.Read(ctx)
		wantClose(t, "client", err, websocket.StatusMessageTooBig, reason(limit+1, "instance"))
		wantClose(t, "instance", e.end(t), websocket.StatusMessageTooBig, reason(limit+1, "instance"))
		o := f.outcome(5 * time.Second)
		if o.res.Ended != EndedTooBig || o.res.Dir != "instance" || o.res.InstanceBytes != 0 {
			t.Fatalf("got %+v", o.res)
		}
	})
}

func TestDeadline(t *testing.T) {
	e := newEcho(t, websocket.CompressionDisabled)
	const reason = "function timeout of 0.3s elapsed"
	start := time.Now()
	f := newFront(t, e.addr(), Options{Deadline: start.Add(300 * time.Millisecond),
		DeadlineCode: 1001, DeadlineReason: reason})
	c, _ := dial(t, f, websocket.CompressionDisabled)
	ctx := testCtx(t)
	if err := c.Write(ctx, websocket.MessageText, []byte("before")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.Read(ctx)
	wantClose(t, "client", err, websocket.StatusGoingAway, reason)
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("closed after %v, before the deadline", d)
	}
	wantClose(t, "instance", e.end(t), websocket.StatusGoingAway, reason)
	o := f.outcome(5 * time.Second)
	want := Result{Ended: EndedDeadline, Code: 1001, Reason: reason, ClientBytes: 6, InstanceBytes: 6, Messages: 2}
	if o.res != want {
		t.Fatalf("got %+v, want %+v", o.res, want)
	}
}

// Close in the middle of traffic both ways: both peers get the close
// frame, between frames, and answer it.
func TestCloseMidStream(t *testing.T) {
	e := newEcho(t, websocket.CompressionDisabled)
	f := newFront(t, e.addr(), Options{})
	c, _ := dial(t, f, websocket.CompressionDisabled)
	r := f.relay()
	ctx := testCtx(t)
	// The client writes without pause; its reader reads the echoes until
	// the close.
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		msg := bytes.Repeat([]byte("z"), 10_000)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if c.Write(ctx, websocket.MessageBinary, msg) != nil {
				return
			}
		}
	}()
	var read int
	var err error
	for {
		if read == 20 {
			r.Close(1001, "server shutting down")
			r.Close(1000, "again") // the first call counts
		}
		if _, _, err = c.Read(ctx); err != nil {
			break
		}
		read++
	}
	close(stop)
	<-writerDone
	wantClose(t, "client", err, websocket.StatusGoingAway, "server shutting down")
	wantClose(t, "instance", e.end(t), websocket.StatusGoingAway, "server shutting down")
	o := f.outcome(5 * time.Second)
	if o.res.Ended != EndedClosed || o.res.Code != 1001 || o.res.Reason != "server shutting down" {
		t.Fatalf("got %+v", o.res)
	}
	select {
	case <-r.Done():
	default:
		t.Fatal("Done not closed after Run returned")
	}
	r.Close(1001, "after Run") // does nothing, and does not block
}

// A client that vanishes (its TCP connection closes without a close
// frame) ends the relay at once, without waiting out CloseGrace, and the
// instance's connection is closed.
func TestClientVanishes(t *testing.T) {
	e := newEcho(t, websocket.CompressionDisabled)
	f := newFront(t, e.addr(), Options{CloseGrace: 5 * time.Second})
	c, _ := dial(t, f, websocket.CompressionDisabled)
	ctx := testCtx(t)
	if err := c.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); err != nil {
		t.Fatal(err)
	}
	_ = c.CloseNow() // no close frame
	o := f.outcome(2 * time.Second)
	if o.took > time.Second {
		t.Fatalf("Run took %v", o.took)
	}
	if o.res.Ended != EndedClient || o.res.Code != 1005 || o.res.Err == nil {
		t.Fatalf("got %+v", o.res)
	}
	err := e.end(t)
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		t.Fatalf("the instance got a close frame %v; want its connection closed", ce)
	}
}

// The instance closes: its close frame reaches the client, the client's
// answer reaches the instance.
func TestInstanceCloses(t *testing.T) {
	srv := newRawServer(t)
	f := newFront(t, srv.addr(), Options{})
	c, _ := dial(t, f, websocket.CompressionDisabled)
	inst := srv.conn(t)
	if _, err := inst.Write(frame(0x88, closePayload(4000, "done"), nil, 0)); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.Read(testCtx(t))
	wantClose(t, "client", err, 4000, "done")
	b0, payload, masked := readFrame(t, inst)
	if b0 != 0x88 || !masked || !bytes.Equal(payload, closePayload(4000, "done")) {
		t.Fatalf("instance got %#x %q masked=%v, want the client's close answer", b0, payload, masked)
	}
	o := f.outcome(5 * time.Second)
	if o.res.Ended != EndedInstance || o.res.Code != 4000 || o.res.Reason != "done" {
		t.Fatalf("got %+v", o.res)
	}
}
