package wsrelay

import (
	"fmt"
	"sync"
	"time"
)

// supervisor is Run's state: it alone closes connections and starts the
// close writers, from the events the pumps and the writers send. Its
// fields are touched by Run's goroutine only.
type supervisor struct {
	r   *Relay
	res Result

	wg          sync.WaitGroup // the pumps and the close writers
	pumps       int            // pumps still running
	injecting   int            // close writers still running
	pending     [2]bool        // a close writer for that side is running
	terminating bool           // the relay started its own close
	closed      [2]bool        // the relay closed that side

	injectT *time.Timer // bounds the close writers' wait for a frame to end
	injectC <-chan time.Time
	graceT  *time.Timer // bounds the closing handshake
	graceC  <-chan time.Time
}

func (s *supervisor) run() Result {
	r := s.r
	closeReq := r.closeReq
	var deadlineC <-chan time.Time
	if !r.o.Deadline.IsZero() {
		t := time.NewTimer(time.Until(r.o.Deadline))
		defer t.Stop()
		deadlineC = t.C
	}
	// A relay closed or out of time before it starts sends its close
	// frames before it relays anything.
	select {
	case <-closeReq:
		s.terminate(EndedClosed, "", r.closeCode, r.closeReason, nil)
		closeReq = nil
	default:
		if deadlineC != nil && !time.Now().Before(r.o.Deadline) {
			s.terminate(EndedDeadline, "", r.o.DeadlineCode, r.o.DeadlineReason, nil)
			deadlineC = nil
		}
	}
	for _, w := range []who{client, instance} {
		s.pumps++
		s.wg.Go(func() { r.pump(w) })
	}
	for s.pumps > 0 || s.injecting > 0 {
		select {
		case ev := <-r.events:
			s.handle(ev)
		case <-deadlineC:
			deadlineC = nil
			s.terminate(EndedDeadline, "", r.o.DeadlineCode, r.o.DeadlineReason, nil)
		case <-closeReq:
			closeReq = nil
			s.terminate(EndedClosed, "", r.closeCode, r.closeReason, nil)
		case <-s.injectC:
			// A frame in progress did not end within CloseGrace: the
			// close frame cannot go out between frames, so the side is
			// closed without one.
			s.injectC = nil
			for _, w := range []who{client, instance} {
				if s.pending[w] {
					s.hardClose(w)
				}
			}
		case <-s.graceC:
			s.graceC = nil
			s.hardClose(client)
			s.hardClose(instance)
		}
	}
	s.hardClose(client)
	s.hardClose(instance)
	s.wg.Wait()
	for _, t := range []*time.Timer{s.injectT, s.graceT} {
		if t != nil {
			t.Stop()
		}
	}
	s.res.ClientBytes = r.peers[client].bytes
	s.res.InstanceBytes = r.peers[instance].bytes
	s.res.Messages = r.peers[client].messages + r.peers[instance].messages
	return s.res
}

// handle acts on one event, then closes whatever it made ready to close.
func (s *supervisor) handle(ev event) {
	r := s.r
	switch ev.kind {
	case evClose:
		if s.res.Ended == "" {
			s.res = Result{Ended: ev.from.String(), Code: ev.code, Reason: ev.reason}
		}
	case evTooBig:
		reason := fmt.Sprintf("message of at least %d bytes from the %s is over the limit of %d bytes",
			ev.size, ev.from, r.o.MaxMessage)
		s.terminate(EndedTooBig, ev.from.String(), codeTooBig, reason, nil)
	case evProtocol:
		s.terminate(EndedError, ev.from.String(), codeProtocolError, ev.err.Error(), ev.err)
	case evInjected:
		s.injecting--
		s.pending[ev.from] = false
		if !ev.ok {
			s.hardClose(ev.from)
		}
		if s.injecting == 0 {
			s.injectC = nil
			s.startGrace()
		}
	case evEnded:
		s.pumps--
		var sentClose bool
		r.setFlags(func() { sentClose = r.peers[ev.from].closeRecv })
		switch {
		case s.closed[ev.from]:
			// The relay closed it.
		case !sentClose:
			// Its connection ended without a close frame: there is no
			// handshake to wait for, and unless the relay is closing the
			// other side (with a handshake of its own), that end passes
			// on as it came, as a closed connection.
			if s.res.Ended == "" {
				s.res = Result{Ended: ev.from.String(), Code: codeNoStatus,
					Err: fmt.Errorf("%s connection ended without a close frame: %w", ev.from, ev.err)}
			}
			s.hardClose(ev.from)
			if !s.terminating {
				s.hardClose(ev.from.other())
			}
		default:
			// It closed after its close frame; the other side has
			// CloseGrace to finish its part.
			s.startGrace()
		}
	}
	s.settle()
}

// settle closes each side whose closing handshake is complete (a close
// frame went each way): nothing more can pass in either direction. The
// relay, the server to the client, closes first, as §7.1.1 asks. Once
// both peers sent their close frames, what is left is bounded by
// CloseGrace.
func (s *supervisor) settle() {
	r := s.r
	var done [2]bool
	var both bool
	r.setFlags(func() {
		for w := range done {
			done[w] = r.peers[w].closeSent && r.peers[w].closeRecv
		}
		both = r.peers[client].closeRecv && r.peers[instance].closeRecv
	})
	for w, d := range done {
		if d {
			s.hardClose(who(w))
		}
	}
	if both {
		s.startGrace()
	}
}

// terminate starts the relay's own close: nothing more is forwarded, and
// a close frame goes to each side that has not had one, written by a
// goroutine that waits for the frame in progress to end. The first cause
// wins; the Result keeps an ending a peer already started.
func (s *supervisor) terminate(ended, dir string, code uint16, reason string, err error) {
	if s.terminating {
		return
	}
	s.terminating = true
	reason = truncateReason(reason)
	if s.res.Ended == "" {
		s.res = Result{Ended: ended, Dir: dir, Code: code, Reason: reason, Err: err}
	}
	r := s.r
	r.stopForwarding()
	// Past the wait for the frame in progress and the handshake, nothing
	// is written any more.
	bound := time.Now().Add(2 * r.o.CloseGrace)
	for _, w := range []who{client, instance} {
		if s.closed[w] {
			continue
		}
		writeBound(r.peers[w].s, bound)
		frame := closeFrame(code, reason, w == instance)
		s.pending[w] = true
		s.injecting++
		s.wg.Go(func() {
			ok := r.writeClose(w, frame)
			r.events <- event{kind: evInjected, from: w, ok: ok}
		})
	}
	if s.injecting == 0 {
		s.startGrace()
		return
	}
	s.injectT = time.NewTimer(r.o.CloseGrace)
	s.injectC = s.injectT.C
}

// startGrace starts the wait for the closing handshake, once.
func (s *supervisor) startGrace() {
	if s.graceT != nil {
		return
	}
	r := s.r
	s.graceT = time.NewTimer(r.o.CloseGrace)
	s.graceC = s.graceT.C
	bound := time.Now().Add(r.o.CloseGrace)
	for _, w := range []who{client, instance} {
		if !s.closed[w] {
			writeBound(r.peers[w].s, bound)
		}
	}
}

// hardClose closes a side's connection, once. That ends its pump's read,
// the other pump's write to it and a close writer's wait.
func (s *supervisor) hardClose(w who) {
	if s.closed[w] {
		return
	}
	s.closed[w] = true
	p := &s.r.peers[w]
	close(p.hard)
	_ = p.s.Close()
}

// writeClose writes the relay's close frame to a side once the frame in
// progress there has ended, unless a close frame went there already. It
// reports whether the side got a close frame; it gives up when the side
// is closed.
func (r *Relay) writeClose(w who, frame []byte) bool {
	p := &r.peers[w]
	select {
	case p.wtok <- struct{}{}:
	case <-p.hard:
		return false
	}
	defer func() { <-p.wtok }()
	var skip, broken bool
	r.setFlags(func() { skip, broken = p.closeSent, p.broken })
	if skip || broken {
		return skip && !broken
	}
	_, err := p.s.Write(frame)
	r.setFlags(func() {
		p.closeSent = true
		p.broken = err != nil
	})
	return err == nil
}
