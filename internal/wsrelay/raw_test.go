package wsrelay

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Tests with hand-made frames on both ends: what the relay forwards and
// writes, byte for byte.

var (
	keyA = [4]byte{0x11, 0x22, 0x33, 0x44}
	keyB = [4]byte{0xa5, 0x5a, 0x01, 0xfe}
)

// tcpPair returns two ends of a loopback TCP connection: one for the
// relay, one for the test playing the peer.
func tcpPair(t *testing.T) (relayEnd, peerEnd net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	peerEnd, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	relayEnd = <-accepted
	if relayEnd == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() {
		_ = relayEnd.Close()
		_ = peerEnd.Close()
	})
	return relayEnd, peerEnd
}

// rawRelay is a relay between two test-played peers, started.
type rawRelay struct {
	r        *Relay
	client   net.Conn // the test's end, playing the client
	instance net.Conn // the test's end, playing the instance
	out      chan outcome
}

func startRaw(t *testing.T, o Options, beforeRun func(*Relay)) *rawRelay {
	t.Helper()
	c, cp := tcpPair(t)
	i, ip := tcpPair(t)
	rr := &rawRelay{r: New(c, i, o), client: cp, instance: ip, out: make(chan outcome, 1)}
	if beforeRun != nil {
		beforeRun(rr.r)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		start := time.Now()
		res := rr.r.Run()
		rr.out <- outcome{res: res, took: time.Since(start), leaked: relayGoroutines()}
	})
	t.Cleanup(func() { joinWithin(t, &wg, 10*time.Second) })
	return rr
}

func (rr *rawRelay) outcome(t *testing.T, within time.Duration) outcome {
	t.Helper()
	select {
	case o := <-rr.out:
		if len(o.leaked) > 0 {
			t.Errorf("goroutines outlived Run: %v", o.leaked)
		}
		return o
	case <-time.After(within):
		t.Fatalf("Run did not return within %v", within)
		return outcome{}
	}
}

// readN reads exactly n bytes from r.
func readN(t *testing.T, r io.Reader, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return b
}

// wantEOF checks that the relay closed c.
func wantEOF(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open (read %d more bytes)", len(b))
	}
}

// wantCloseFrame reads a close frame from c and checks it.
func wantCloseFrame(t *testing.T, c io.Reader, masked bool, code uint16, reason string) {
	t.Helper()
	b0, payload, m := readFrame(t, c)
	if b0 != 0x88 || m != masked || !bytes.Equal(payload, closePayload(code, reason)) {
		t.Fatalf("got frame %#x masked=%v %q; want close %d %q masked=%v", b0, m, payload, code, reason, masked)
	}
}

// Every frame passes byte for byte: masking keys, RSV bits, fragments,
// interleaved control frames, every length form. Part of the client's
// frames travel with its upgrade request, so the relay reads them from
// the front's handshake buffer.
func TestFramesPassUnchanged(t *testing.T) {
	srv := newRawServer(t)
	f := newFront(t, srv.addr(), Options{MaxMessage: 1 << 20})
	big := bytes.Repeat([]byte("0123456789"), 7000) // 70000 bytes: the 64-bit form
	fromClient := [][]byte{
		frame(0x81, []byte("Hello"), &keyA, 0),
		frame(0xC1, []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, &keyB, 0), // RSV1: as permessage-deflate sends
		frame(0x02, []byte("abc"), &keyA, 0),                                    // fragment 1
		frame(0x89, []byte("ping!"), &keyB, 0),                                  // ping inside the message
		frame(0x00, []byte("def"), &keyA, 0),                                    // fragment 2
		frame(0x8A, nil, &keyB, 0),                                              // empty pong
		frame(0x80, []byte("ghi"), &keyA, 0),                                    // last fragment
		frame(0x82, []byte("short"), &keyB, 2),                                  // 16-bit form where 7 bits fit
		frame(0x82, []byte("xyz"), &keyA, 8),                                    // 64-bit form
		frame(0x82, nil, &keyB, 0),                                              // empty
		frame(0x82, bytes.Repeat([]byte{0xee}, 300), &keyA, 0),                  // 16-bit form
		frame(0x82, big, &keyB, 0),
	}
	early := bytes.Join(fromClient[:4], nil)
	c, cr := rawDial(t, f, early)
	inst := srv.conn(t)
	for _, fr := range fromClient[4:] {
		if _, err := c.Write(fr); err != nil {
			t.Fatal(err)
		}
	}
	want := bytes.Join(fromClient, nil)
	if got := readN(t, inst, len(want)); !bytes.Equal(got, want) {
		t.Fatal("the instance did not get the client's bytes unchanged")
	}

	fromInstance := [][]byte{
		frame(0x81, []byte("hi"), nil, 0),
		frame(0xC2, []byte{1, 2, 3}, nil, 0),
		frame(0x01, []byte("one "), nil, 0),
		frame(0x89, []byte("srv"), nil, 0),
		frame(0x80, []byte("two"), nil, 0),
		frame(0x82, big, nil, 8),
	}
	want = bytes.Join(fromInstance, nil)
	if _, err := inst.Write(want); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, cr, len(want)); !bytes.Equal(got, want) {
		t.Fatal("the client did not get the instance's bytes unchanged")
	}

	// The closing handshake, unchanged too; then the relay closes both.
	closeC := frame(0x88, closePayload(1000, "bye"), &keyA, 0)
	if _, err := c.Write(closeC); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, inst, len(closeC)); !bytes.Equal(got, closeC) {
		t.Fatalf("close frame: got %x, want %x", got, closeC)
	}
	closeI := frame(0x88, closePayload(1000, "bye"), nil, 0)
	if _, err := inst.Write(closeI); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, cr, len(closeI)); !bytes.Equal(got, closeI) {
		t.Fatalf("close answer: got %x, want %x", got, closeI)
	}
	o := f.outcome(5 * time.Second)
	wantEOF(t, c)
	wantEOF(t, inst)
	want2 := Result{Ended: EndedClient, Code: 1000, Reason: "bye",
		ClientBytes: 5 + 7 + 9 + 5 + 3 + 0 + 300 + 70000, InstanceBytes: 2 + 3 + 7 + 70000, Messages: 8 + 4}
	if o.res != want2 {
		t.Fatalf("got %+v, want %+v", o.res, want2)
	}
}

// The relay's own close frames: unmasked to the client, masked to the
// instance; sent before anything is relayed when the relay is closed or
// out of time before Run.
func TestOwnCloseFrames(t *testing.T) {
	for _, tc := range []struct {
		name   string
		o      Options
		before func(*Relay)
		ended  string
		code   uint16
		reason string
	}{
		{"closed before Run", Options{}, func(r *Relay) { r.Close(1001, "server shutting down") },
			EndedClosed, 1001, "server shutting down"},
		{"closed with code 0", Options{}, func(r *Relay) { r.Close(0, "") }, EndedClosed, 1001, ""},
		{"deadline passed", Options{Deadline: time.Now().Add(-time.Second), DeadlineReason: "function timeout of 1s elapsed"},
			nil, EndedDeadline, 1001, "function timeout of 1s elapsed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rr := startRaw(t, tc.o, tc.before)
			wantCloseFrame(t, rr.client, false, tc.code, tc.reason)
			wantCloseFrame(t, rr.instance, true, tc.code, tc.reason)
			// Both answer; the relay then closes both at once.
			_, _ = rr.client.Write(frame(0x88, closePayload(tc.code, ""), &keyA, 0))
			_, _ = rr.instance.Write(frame(0x88, closePayload(tc.code, ""), nil, 0))
			o := rr.outcome(t, 500*time.Millisecond)
			if o.res.Ended != tc.ended || o.res.Code != tc.code || o.res.Reason != tc.reason {
				t.Fatalf("got %+v", o.res)
			}
			wantEOF(t, rr.client)
			wantEOF(t, rr.instance)
		})
	}
}

func TestRunTwicePanics(t *testing.T) {
	rr := startRaw(t, Options{CloseGrace: 50 * time.Millisecond}, func(r *Relay) { r.Close(1001, "") })
	rr.outcome(t, 2*time.Second)
	defer func() {
		if recover() == nil {
			t.Fatal("a second Run did not panic")
		}
	}()
	rr.r.Run()
}

// Frames that break RFC 6455 close the relay with 1002 both ways.
func TestProtocolErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		fromClient bool
		frame      []byte
	}{
		{"control frame over 125 bytes", true, frame(0x89, make([]byte, 126), &keyA, 0)},
		{"fragmented control frame", true, frame(0x09, []byte("p"), &keyA, 0)},
		{"unmasked frame from the client", true, frame(0x81, []byte("hi"), nil, 0)},
		{"reserved opcode", true, frame(0x83, []byte("hi"), &keyA, 0)},
		{"continuation outside a message", true, frame(0x80, []byte("hi"), &keyA, 0)},
		{"new message inside a fragmented one", true, append(frame(0x01, []byte("a"), &keyA, 0), frame(0x81, []byte("b"), &keyA, 0)...)},
		{"close frame of 1 byte", true, frame(0x88, []byte{3}, &keyA, 0)},
		{"length with the top bit set", true, []byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1}},
		{"masked frame from the instance", false, frame(0x81, []byte("hi"), &keyB, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rr := startRaw(t, Options{CloseGrace: 200 * time.Millisecond}, nil)
			from, other := rr.client, rr.instance
			dir, answerKey := "client", (*[4]byte)(nil) // the instance answers unmasked
			if !tc.fromClient {
				from, other = other, from
				dir, answerKey = "instance", &keyA
			}
			if _, err := from.Write(tc.frame); err != nil {
				t.Fatal(err)
			}
			if code := readClose(t, other); code != 1002 {
				t.Fatalf("the other side got close %d, want 1002", code)
			}
			if code := readClose(t, from); code != 1002 {
				t.Fatalf("the offender got close %d, want 1002", code)
			}
			// The other side answers; the offender's answer cannot be
			// parsed past its bad frame: CloseGrace closes it.
			_, _ = other.Write(frame(0x88, closePayload(1002, ""), answerKey, 0))
			o := rr.outcome(t, 2*time.Second)
			if o.res.Ended != EndedError || o.res.Dir != dir || o.res.Code != 1002 || !errors.Is(o.res.Err, errProtocol) {
				t.Fatalf("got %+v", o.res)
			}
			wantEOF(t, rr.client)
			wantEOF(t, rr.instance)
		})
	}
}

// readClose reads frames from c up to a close frame and returns its code.
func readClose(t *testing.T, c io.Reader) uint16 {
	t.Helper()
	for {
		b0, p, _ := readFrame(t, c)
		if b0&0x0f != opClose {
			continue
		}
		if len(p) < 2 {
			return codeNoStatus
		}
		return binary.BigEndian.Uint16(p)
	}
}

// The relay's close frame waits for the frame in progress to end: it is
// never written inside one.
func TestCloseWaitsForFrameInProgress(t *testing.T) {
	rr := startRaw(t, Options{CloseGrace: 2 * time.Second}, nil)
	payload := bytes.Repeat([]byte("p"), 100_000)
	fr := frame(0x82, payload, &keyA, 0)
	half := len(fr) / 2
	if _, err := rr.client.Write(fr[:half]); err != nil {
		t.Fatal(err)
	}
	got := readN(t, rr.instance, half) // the first half is through
	rr.r.Close(1001, "server shutting down")
	time.Sleep(100 * time.Millisecond)
	if _, err := rr.client.Write(fr[half:]); err != nil {
		t.Fatal(err)
	}
	got = append(got, readN(t, rr.instance, len(fr)-half)...)
	if !bytes.Equal(got, fr) {
		t.Fatal("the frame in progress was not completed unchanged")
	}
	wantCloseFrame(t, rr.instance, true, 1001, "server shutting down")
	wantCloseFrame(t, rr.client, false, 1001, "server shutting down")
	_, _ = rr.client.Write(frame(0x88, closePayload(1001, ""), &keyA, 0))
	_, _ = rr.instance.Write(frame(0x88, closePayload(1001, ""), nil, 0))
	o := rr.outcome(t, time.Second)
	if o.res.Ended != EndedClosed || o.res.ClientBytes != int64(len(payload)) || o.res.Messages != 1 {
		t.Fatalf("got %+v", o.res)
	}
}

// A frame that never ends cannot hold the relay's close beyond
// CloseGrace: the side it goes to is closed without a close frame.
func TestFrameThatNeverEnds(t *testing.T) {
	const grace = 200 * time.Millisecond
	rr := startRaw(t, Options{CloseGrace: grace}, nil)
	fr := frame(0x82, make([]byte, 1000), &keyA, 0)
	if _, err := rr.client.Write(fr[:500]); err != nil {
		t.Fatal(err)
	}
	readN(t, rr.instance, 500)
	rr.r.Close(1001, "server shutting down")
	wantCloseFrame(t, rr.client, false, 1001, "server shutting down")
	o := rr.outcome(t, 2*grace+time.Second)
	if o.res.Ended != EndedClosed {
		t.Fatalf("got %+v", o.res)
	}
	wantEOF(t, rr.instance)
	wantEOF(t, rr.client)
}

// Peers that read but never answer the relay's close frame: Run returns
// after CloseGrace.
func TestPeersNeverAnswerClose(t *testing.T) {
	const grace = 300 * time.Millisecond
	rr := startRaw(t, Options{CloseGrace: grace}, nil)
	start := time.Now()
	rr.r.Close(1001, "server shutting down")
	wantCloseFrame(t, rr.client, false, 1001, "server shutting down")
	wantCloseFrame(t, rr.instance, true, 1001, "server shutting down")
	o := rr.outcome(t, grace+time.Second)
	if took := time.Since(start); took < grace || took > grace+500*time.Millisecond {
		t.Fatalf("Run returned %v after Close; CloseGrace is %v", took, grace)
	}
	if o.res.Ended != EndedClosed {
		t.Fatalf("got %+v", o.res)
	}
	wantEOF(t, rr.client)
	wantEOF(t, rr.instance)
}

// A client that stopped reading, while the instance floods it, does not
// hold the relay's end: its connection is closed within the bounds.
func TestStalledReaderDoesNotHoldTheEnd(t *testing.T) {
	const grace = 200 * time.Millisecond
	rr := startRaw(t, Options{CloseGrace: grace}, nil)
	flooded := make(chan struct{})
	go func() {
		defer close(flooded)
		// One endless frame, written until the relay closes the
		// instance's connection.
		_, _ = rr.instance.Write([]byte{0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0})
		chunk := make([]byte, 64<<10)
		for {
			if _, err := rr.instance.Write(chunk); err != nil {
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond) // the buffers toward the client fill
	start := time.Now()
	rr.r.Close(1001, "server shutting down")
	o := rr.outcome(t, 2*grace+time.Second)
	if took := time.Since(start); took > 2*grace+500*time.Millisecond {
		t.Fatalf("Run returned %v after Close; CloseGrace is %v", took, grace)
	}
	if o.res.Ended != EndedClosed {
		t.Fatalf("got %+v", o.res)
	}
	<-flooded
}

// A frame over MaxMessage is refused on its header: the 1009 goes out at
// once, not after the sender has sent the frame's payload, which is
// dropped.
func TestTooBigRefusedOnItsHeader(t *testing.T) {
	rr := startRaw(t, Options{MaxMessage: 1000, CloseGrace: 2 * time.Second}, nil)
	fr := frame(0x82, make([]byte, 1<<20), &keyA, 0)
	if _, err := rr.client.Write(fr[:100]); err != nil { // the header and a little
		t.Fatal(err)
	}
	const reason = "message of at least 1048576 bytes from the client is over the limit of 1000 bytes"
	start := time.Now()
	wantCloseFrame(t, rr.instance, true, 1009, reason)
	wantCloseFrame(t, rr.client, false, 1009, reason)
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("the close frames took %v", d)
	}
	// The client finishes its frame and answers; so does the instance.
	if _, err := rr.client.Write(append(fr[100:], frame(0x88, closePayload(1009, ""), &keyB, 0)...)); err != nil {
		t.Fatal(err)
	}
	_, _ = rr.instance.Write(frame(0x88, closePayload(1009, ""), nil, 0))
	o := rr.outcome(t, time.Second)
	want := Result{Ended: EndedTooBig, Dir: "client", Code: 1009, Reason: reason}
	if o.res != want {
		t.Fatalf("got %+v, want %+v", o.res, want)
	}
	wantEOF(t, rr.client)
	wantEOF(t, rr.instance)
}
