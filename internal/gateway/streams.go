package gateway

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/openfc/openfc/internal/wsrelay"
)

// errShuttingDown is the cause with which a shutdown cuts the streams
// still open when its grace period ends.
var errShuttingDown = errors.New("openfc is shutting down")

// shuttingDown reports whether ctx was cut by a shutdown (and not by its
// client leaving).
func shuttingDown(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), errShuttingDown)
}

// streams are the calls that may stay open long: gRPC calls and upgraded
// (WebSocket) connections. net/http's Shutdown does not wait for a
// hijacked connection, and ends an HTTP/2 stream only by closing its
// connection; a shutdown ends these itself (Server.Shutdown), with a
// close frame or a gRPC status the client can read.
type streams struct {
	mu   sync.Mutex
	open map[*openStream]struct{}
	// closing: tunnels that start from now on are closed at once.
	closing bool
}

// openStream is one long-lived call.
type openStream struct {
	cancel context.CancelCauseFunc
	relay  *wsrelay.Relay // a WebSocket tunnel's, once it relays
}

// add registers a call; ctx is cut (with a cause) when the shutdown's
// grace period ends. The caller removes it when the call has ended.
func (s *streams) add(ctx context.Context) (context.Context, *openStream) {
	ctx, cancel := context.WithCancelCause(ctx)
	st := &openStream{cancel: cancel}
	s.mu.Lock()
	if s.open == nil {
		s.open = make(map[*openStream]struct{})
	}
	s.open[st] = struct{}{}
	s.mu.Unlock()
	return ctx, st
}

func (s *streams) remove(st *openStream) {
	s.mu.Lock()
	delete(s.open, st)
	s.mu.Unlock()
	st.cancel(nil)
}

// relaying records st's relay; during a shutdown it is closed at once.
func (s *streams) relaying(st *openStream, r *wsrelay.Relay) {
	s.mu.Lock()
	st.relay = r
	closing := s.closing
	s.mu.Unlock()
	if closing {
		r.Close(closeGoingAway, errShuttingDown.Error())
	}
}

// closeTunnels starts the close of every WebSocket tunnel, and of any
// that starts later, with code and reason; each relay then closes within
// its grace (wait).
func (s *streams) closeTunnels(code uint16, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	for st := range s.open {
		if st.relay != nil {
			st.relay.Close(code, reason) // returns at once
		}
	}
}

// cut ends every stream still open with cause.
func (s *streams) cut(cause error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for st := range s.open {
		st.cancel(cause)
	}
}

// wait returns once no stream is open, or false after d.
func (s *streams) wait(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		s.mu.Lock()
		n := len(s.open)
		s.mu.Unlock()
		if n == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// count is the number of streams open.
func (s *streams) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}
