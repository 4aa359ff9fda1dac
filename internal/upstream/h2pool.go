package upstream

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// h2Pool keeps HTTP/2 cleartext connections, per instance. Unlike an
// HTTP/1.1 connection, one carries many exchanges at once (up to the
// instance's SETTINGS_MAX_CONCURRENT_STREAMS), so a connection stays in
// the pool while in use; a new one is dialed only when none can take
// another stream. Each has the reader goroutine x/net starts, which ends
// when the connection is closed (by its instance, a failed ping, Sweep
// or CloseIdle).
//
// Lock order: h2Pool.mu, then a ClientConn's state lock (taken by
// ReserveNewRequest and CanTakeNewRequest, called under mu so that a
// connection found idle cannot be reserved before it is closed). Never
// State under mu: it waits for the connection's write lock, which a
// write to an instance that stopped reading holds.
type h2Pool struct {
	t           *http2.Transport
	idleTimeout time.Duration

	mu      sync.Mutex
	conns   map[string][]*h2Conn // in dial order: the oldest filled first
	dialing map[string]*h2Dial   // the dial in progress per instance
}

// h2Conn is one HTTP/2 connection to an instance.
type h2Conn struct {
	cc *http2.ClientConn
	nc *h2NetConn

	// Guarded by h2Pool.mu.
	active    int       // exchanges of ours on it
	idleSince time.Time // when active last fell to zero
	pooled    bool      // in h2Pool.conns; a dropped one is closed when its last exchange ends
}

// The health check of a connection that receives nothing: after
// h2PingAfter without a frame it sends a PING and closes the connection
// when no answer came within h2PingTimeout, so that an instance that
// went away without closing (its network namespace torn down, a frozen
// process) fails the streams on it instead of hanging them until their
// deadline, and is not handed out again.
const (
	h2PingAfter   = 30 * time.Second
	h2PingTimeout = 15 * time.Second
)

func newH2Pool(idleTimeout time.Duration) *h2Pool {
	t := &http2.Transport{
		// Cleartext with prior knowledge: connections come from
		// Backend.Dial, never from the Transport's own dialer.
		AllowHTTP: true,
		// What the client asked for goes to the instance unchanged (no
		// Accept-Encoding added, no answer decoded), as over HTTP/1.1.
		DisableCompression: true,
		ReadIdleTimeout:    h2PingAfter,
		PingTimeout:        h2PingTimeout,
	}
	return &h2Pool{t: t, idleTimeout: idleTimeout, conns: map[string][]*h2Conn{}, dialing: map[string]*h2Dial{}}
}

// get returns a connection to b with a stream reserved on it (the next
// RoundTrip takes it): a pooled one that can take another stream, else a
// new one. The caller must release it.
//
// Dials to an instance are single-flight: an exchange that finds every
// connection at the stream limit while another dials waits for that
// connection (a burst of gRPC calls to a new instance shares one
// connection, as far as the instance's limit allows, instead of opening
// one each). Should that dial fail because its own exchange was cut, the
// next one in line dials; any other failure is every waiter's.
func (p *h2Pool) get(ctx context.Context, b Backend) (*h2Conn, error) {
	key := b.InstanceID()
	for {
		p.mu.Lock()
		c, dead := p.reserveLocked(key)
		d := p.dialing[key]
		if c == nil && d == nil {
			d = &h2Dial{done: make(chan struct{})}
			p.dialing[key] = d
			p.mu.Unlock()
			closeH2(dead)
			return p.dial(ctx, b, key, d)
		}
		p.mu.Unlock()
		closeH2(dead)
		if c != nil {
			return c, nil
		}
		select {
		case <-d.done:
			if d.err != nil && !d.cut {
				return nil, d.err
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// h2Dial is a dial in progress to an instance, which other exchanges
// wait for (done): err is its failure, cut whether its exchange's
// context ended (the dial was not the instance's fault).
type h2Dial struct {
	done chan struct{}
	err  error
	cut  bool
}

// reserveLocked reserves a stream on a pooled connection to key, the
// oldest that can take one, and returns the connections found closed,
// dropped from the pool, for the caller to close. Called with mu held.
func (p *h2Pool) reserveLocked(key string) (c *h2Conn, dead []*h2Conn) {
	list := p.conns[key]
	kept := list[:0]
	for _, cand := range list {
		switch {
		case cand.nc.dead.Load():
			// Closed (by the instance, a failed ping): never handed
			// out again. (One going away, after a GOAWAY, takes no
			// stream either; x/net closes it after its last one.)
			cand.pooled = false
			if cand.active == 0 {
				dead = append(dead, cand)
			}
			continue
		case c == nil && cand.cc.ReserveNewRequest():
			c = cand
		}
		kept = append(kept, cand)
	}
	storeKept(p.conns, key, list, kept)
	if c != nil {
		c.active++
	}
	return c, dead
}

// dial opens a connection to b, starts HTTP/2 on it and waits for the
// answer to a PING: by then the instance's SETTINGS have been applied
// (it sends them first), so its stream limit is known before streams are
// reserved, and an instance that is no HTTP/2 server has said so
// (ErrNotH2C). The new connection joins the pool with a stream reserved
// for the caller, then d's waiters are woken.
func (p *h2Pool) dial(ctx context.Context, b Backend, key string, d *h2Dial) (c *h2Conn, err error) {
	defer func() {
		p.mu.Lock()
		delete(p.dialing, key)
		if err == nil {
			c.cc.ReserveNewRequest()
			c.active = 1
			p.conns[key] = append(p.conns[key], c)
		}
		d.err, d.cut = err, ctx.Err() != nil
		close(d.done)
		p.mu.Unlock()
	}()
	nc, err := b.Dial(ctx)
	if err != nil {
		return nil, err
	}
	hc := &h2NetConn{Conn: nc}
	cc, err := p.t.NewClientConn(hc)
	if err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("starting HTTP/2 on a connection to the instance: %w", err)
	}
	if err := cc.Ping(ctx); err != nil {
		_ = cc.Close()
		if hc.http1.Load() {
			return nil, fmt.Errorf("%w: %w", ErrNotH2C, err)
		}
		return nil, fmt.Errorf("starting HTTP/2 on a connection to the instance: %w", err)
	}
	return &h2Conn{cc: cc, nc: hc, pooled: true}, nil
}

// release ends an exchange on c. A connection the pool dropped is closed
// with its last exchange (x/net closes one that got a GOAWAY itself; one
// dropped for another reason would stay open).
func (p *h2Pool) release(c *h2Conn) {
	p.mu.Lock()
	c.active--
	last := c.active == 0
	if last {
		c.idleSince = time.Now()
	}
	p.mu.Unlock()
	if last && !c.pooled {
		_ = c.cc.Close()
	}
}

// sweep closes the connections without an exchange that are closed or
// going away (an idle one that takes no stream), or idle longer than
// idleTimeout at now.
func (p *h2Pool) sweep(now time.Time) {
	p.drop(func(c *h2Conn) bool {
		return now.Sub(c.idleSince) > p.idleTimeout || c.nc.dead.Load() || !c.cc.CanTakeNewRequest()
	})
}

// closeIdle closes every connection that carries no exchange.
func (p *h2Pool) closeIdle() { p.drop(func(*h2Conn) bool { return true }) }

// drop removes from the pool, and closes, the connections without an
// exchange that stale reports stale; a closed connection with exchanges
// left is dropped too (they fail on their own).
func (p *h2Pool) drop(stale func(*h2Conn) bool) {
	var dead []*h2Conn
	p.mu.Lock()
	for key, list := range p.conns {
		kept := list[:0]
		for _, c := range list {
			switch {
			case c.active == 0 && stale(c):
				dead = append(dead, c)
				c.pooled = false
				continue
			case c.active > 0 && c.nc.dead.Load():
				c.pooled = false // closed by release, with its last exchange
				continue
			}
			kept = append(kept, c)
		}
		storeKept(p.conns, key, list, kept)
	}
	p.mu.Unlock()
	closeH2(dead)
}

func closeH2(conns []*h2Conn) {
	for _, c := range conns {
		_ = c.cc.Close()
	}
}

// idleCount is the number of open connections that carry no exchange.
func (p *h2Pool) idleCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, list := range p.conns {
		for _, c := range list {
			if c.active == 0 && !c.nc.dead.Load() {
				n++
			}
		}
	}
	return n
}

// h2NetConn is a connection to an instance as x/net reads it. It notes
// when the connection died (x/net's reader failed, or x/net closed it),
// which the pool reads without x/net's locks. And it looks at the first
// bytes the instance sends: an HTTP/2 server starts with a SETTINGS
// frame, while an HTTP/1.1 server answers the client preface ("PRI *
// HTTP/2.0", a request line to it) with "HTTP/1.1 400" or 505; x/net
// then reports a frame error, and the dial says what happened
// (ErrNotH2C).
type h2NetConn struct {
	net.Conn
	dead   atomic.Bool
	looked bool        // only x/net's reader goroutine reads
	http1  atomic.Bool // the instance answered as an HTTP/1 server
}

func (c *h2NetConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if !c.looked && n > 0 {
		c.looked = true
		const http1 = "HTTP/"
		m := min(n, len(http1))
		// A SETTINGS frame starts with its 24-bit length, a few dozen
		// bytes: its first byte is 0, never 'H'.
		if string(p[:m]) == http1[:m] {
			c.http1.Store(true)
		}
	}
	if err != nil {
		c.dead.Store(true)
	}
	return n, err
}

func (c *h2NetConn) Close() error {
	c.dead.Store(true)
	return c.Conn.Close()
}
