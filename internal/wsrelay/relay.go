package wsrelay

import (
	"bufio"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Side is one end of the relay: a connection after the handshake. Read
// may return bytes buffered before the handshake completed. A Side that
// also has SetWriteDeadline (or SetDeadline) gets write deadlines while
// the relay closes, so that a peer that stops reading cannot hold it; Close
// must unblock a Read or Write in progress, as a net.Conn's does.
type Side interface {
	io.Reader
	io.Writer
	io.Closer
}

// Options are a relay's limits. The zero value relays without limits.
type Options struct {
	// MaxMessage bounds a message's payload (all its fragments), in
	// bytes, in either direction; 0: no limit. It counts payload as it
	// travels: compressed, when an extension such as permessage-deflate
	// compresses it. A message over it is not forwarded and closes the
	// relay with 1009.
	MaxMessage int64
	// Deadline ends the relay: both sides get a close frame with
	// DeadlineCode and DeadlineReason (e.g. 1001, "function timeout of
	// 60s elapsed"). Zero: none.
	Deadline time.Time
	// DeadlineCode is the close code sent at the Deadline; 0: 1001.
	DeadlineCode uint16
	// DeadlineReason is the close reason sent at the Deadline, cut to
	// the 123 bytes a close frame has room for.
	DeadlineReason string
	// CloseGrace is how long, after the relay sent its own close frames,
	// it waits for the peers' close frames (the closing handshake) before
	// it closes the connections. It also bounds the wait for a frame in
	// progress to end before the relay's close frame can go out, and the
	// closing handshake of a close that a peer started, after both close
	// frames were seen. Default 1s.
	CloseGrace time.Duration
}

// Why a relay ended, in Result.Ended.
const (
	EndedClient   = "client"          // the client closed, or its connection ended
	EndedInstance = "instance"        // the instance closed, or its connection ended
	EndedTooBig   = "message-too-big" // a message over Options.MaxMessage; Dir says who sent it
	EndedDeadline = "deadline"        // Options.Deadline passed
	EndedClosed   = "closed"          // Close was called
	EndedError    = "error"           // a frame broke RFC 6455; Dir says who sent it
)

// Result says how a relay ended and what it carried.
type Result struct {
	// Ended says why: one of the Ended* constants. The first cause wins:
	// a deadline that passes during a closing handshake that the client
	// started leaves it "client".
	Ended string
	// Dir is who sent the offending frame ("client" or "instance") for
	// EndedTooBig and EndedError; empty otherwise.
	Dir string
	// Code is the close code that ended it (the peer's, or the relay's
	// own); 1005 when none, as when a connection ended without a close
	// frame.
	Code uint16
	// Reason is the close reason that went with Code.
	Reason string
	// Err is the error behind an EndedError (the protocol violation) or a
	// connection that ended without a close frame; nil otherwise.
	Err error
	// ClientBytes and InstanceBytes are the data frames' payload bytes
	// relayed from the client and from the instance.
	ClientBytes, InstanceBytes int64
	// Messages is the number of data messages relayed, both ways.
	Messages int64
}

// who names a side.
type who int

const (
	client who = iota
	instance
)

func (w who) String() string {
	if w == client {
		return "client"
	}
	return "instance"
}

func (w who) other() who { return 1 - w }

// peer is a side and what the relay knows of it.
type peer struct {
	s  Side
	br *bufio.Reader
	// wtok is the right to write to s, held for a whole frame so that
	// the relay's own close frame goes out between frames. It is a
	// channel of one so that a wait for it can be given up.
	wtok chan struct{}
	// hard is closed when the relay has closed s.
	hard chan struct{}

	// Guarded by Relay.mu.
	noMore    bool // the relay is closing: nothing more is forwarded to s
	closeSent bool // a close frame was written to s, forwarded or the relay's own
	closeRecv bool // s sent its close frame
	broken    bool // a write to s failed

	// Written by the pump reading s, read by Run once it ended.
	bytes, messages int64
}

// Relay relays WebSocket frames between a client and an instance,
// unchanged, enforcing a message size limit and a deadline, and closes
// both with a closing handshake when either ends or when it is told to.
//
// A peer's own close frame is forwarded, and the other side's answer
// waited for with no bound but the Deadline, Close or a connection
// ending: RFC 6455 lets it finish the message it is sending first. Once
// both close frames went through, each side is closed (the relay, the
// server to the client, closes first, §7.1.1). A connection that ends
// without a close frame ends the other one too, at once.
type Relay struct {
	o     Options
	peers [2]peer

	mu sync.Mutex // guards the peers' flags; never held during I/O

	// events carries what the pumps and the close writers see to Run,
	// which alone decides what to close and when.
	events chan event

	closeOnce   sync.Once
	closeReq    chan struct{} // closed by Close
	closeCode   uint16        // written before closeReq is closed
	closeReason string

	started atomic.Bool
	done    chan struct{}
}

// copyBufSize is the buffer a pump streams payloads through: a message is
// never held whole.
const copyBufSize = 32 << 10

// New returns a relay between client and instance, which it will own:
// Run closes both.
func New(client, instance Side, o Options) *Relay {
	if o.CloseGrace <= 0 {
		o.CloseGrace = time.Second
	}
	if o.DeadlineCode == 0 {
		o.DeadlineCode = codeGoingAway
	}
	r := &Relay{
		o:        o,
		events:   make(chan event),
		closeReq: make(chan struct{}),
		done:     make(chan struct{}),
	}
	for i, s := range []Side{client, instance} {
		r.peers[i] = peer{
			s:    s,
			br:   bufio.NewReaderSize(s, 4096),
			wtok: make(chan struct{}, 1),
			hard: make(chan struct{}),
		}
	}
	return r
}

// Close ends the relay from another goroutine (a shutdown): close frames
// with code (0: 1001) and reason to both sides, between frames, never
// inside one; the closing handshake waited for up to CloseGrace; then the
// connections closed. It returns at once: Run does the closing, and Done
// tells when it is over, at most about 2×CloseGrace later (a frame in
// progress to end, then the handshake). Safe to call any number of times (the first
// call's code and reason count), before, during or after Run; after Run
// it does nothing.
func (r *Relay) Close(code uint16, reason string) {
	r.closeOnce.Do(func() {
		if code == 0 {
			code = codeGoingAway
		}
		r.closeCode, r.closeReason = code, reason
		close(r.closeReq)
	})
}

// Done is closed when Run has returned.
func (r *Relay) Done() <-chan struct{} { return r.done }

// Run relays until both directions ended and returns why it ended. It
// closes both sides before it returns, and every goroutine it started has
// ended by then. Run may be called once.
func (r *Relay) Run() Result {
	if !r.started.CompareAndSwap(false, true) {
		panic("wsrelay: Run called twice")
	}
	defer close(r.done)
	s := supervisor{r: r}
	return s.run()
}

// eventKind is what an event reports.
type eventKind int

const (
	evClose    eventKind = iota // from sent a close frame (code, reason)
	evEnded                     // from's pump ended: its connection ended (err)
	evTooBig                    // from sent a message over MaxMessage (size)
	evProtocol                  // from broke RFC 6455 (err)
	evInjected                  // the relay's close frame to from went out (ok) or not
)

type event struct {
	kind   eventKind
	from   who
	code   uint16
	reason string
	size   int64
	ok     bool
	err    error
}

// setFlags runs f under r.mu.
func (r *Relay) setFlags(f func()) {
	r.mu.Lock()
	f()
	r.mu.Unlock()
}

// stopForwarding makes both pumps drop every frame from now on: the relay
// is closing, and after a close frame of its own nothing may follow.
func (r *Relay) stopForwarding() {
	r.setFlags(func() {
		r.peers[client].noMore = true
		r.peers[instance].noMore = true
	})
}

// writeBound sets a write deadline on s if it has one: the relay is
// closing and will not wait past t for a peer that stopped reading.
// A Side with only SetDeadline gets that, which bounds its reads too; by
// then the relay closes it anyway.
func writeBound(s Side, t time.Time) {
	switch d := s.(type) {
	case interface{ SetWriteDeadline(time.Time) error }:
		_ = d.SetWriteDeadline(t)
	case interface{ SetDeadline(time.Time) error }:
		_ = d.SetDeadline(t)
	}
}
