package upstream

import (
	"bufio"
	"context"
	"net"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// connPool keeps idle HTTP/1.1 connections, per instance. A pooled
// connection has no reader or writer goroutine of its own (see the
// package comment). An idle connection the instance closed is noticed
// when it is taken (a non-blocking peek) and by the sweeper.
type connPool struct {
	maxIdle     int
	idleTimeout time.Duration

	mu   sync.Mutex
	idle map[string][]*upConn // LIFO: the most recently used last
}

// upConn is one connection to an instance.
type upConn struct {
	key       string // the instance id
	nc        net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	reused    bool      // it served a request before
	idleSince time.Time // when it was put back
	// framed: the last answer's end was fixed by its framing (a body of
	// a known length or chunked, not a HEAD or 204/304 answer, where a
	// careless server may still write a body), so no unasked bytes are
	// expected after it.
	framed bool

	// cut breaks the connection's blocked I/O (a deadline in the past):
	// the hook an exchange registers on its context, made once per
	// connection so that registering it allocates no closure.
	cut func()

	// For the liveness peek, made once per connection so that a peek
	// allocates nothing: the raw socket (nil when nc is not a socket),
	// the callback and what it found.
	raw      syscall.RawConn
	peekFn   func(fd uintptr) bool
	peekByte [1]byte
	peekOK   bool
}

func newUpConn(key string, nc net.Conn) *upConn {
	c := &upConn{key: key, nc: nc, br: bufio.NewReaderSize(nc, upReadBufSize), bw: bufio.NewWriterSize(nc, upWriteBufSize)}
	c.cut = func() { _ = nc.SetDeadline(aLongTimeAgo) }
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
			c.peekFn = func(fd uintptr) bool {
				// recv(MSG_PEEK|MSG_DONTWAIT): EAGAIN means open and
				// quiet. 0 bytes: closed by the peer. Data: an answer
				// nobody asked for. Any other error: broken.
				_, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&c.peekByte[0])), 1,
					syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
				c.peekOK = errno == syscall.EAGAIN
				return true
			}
		}
	}
	return c
}

// recentlyUsed is how long after its last answer a connection is taken
// without the liveness peek. No HTTP server's keep-alive timer is that
// short (Node's is 5 s, gunicorn's 2 s), so a connection the instance
// closed by its timer is still noticed; under load, most requests skip
// the syscall.
const recentlyUsed = 100 * time.Millisecond

// usable reports whether an idle connection can carry a request: the
// peer has not closed it and sent nothing unasked. It peeks without
// blocking, unless the connection answered a moment ago with a framed
// answer; connections that are not sockets count as usable.
func (c *upConn) usable() bool {
	if c.framed && time.Since(c.idleSince) < recentlyUsed {
		return true
	}
	return c.alive()
}

// alive peeks at the connection without blocking: the peer has not
// closed it and sent nothing unasked. Connections that are not sockets
// count as alive.
func (c *upConn) alive() bool {
	if c.raw == nil {
		return true
	}
	c.peekOK = false
	if err := c.raw.Read(c.peekFn); err != nil {
		return false
	}
	return c.peekOK
}

const (
	upReadBufSize  = 16 << 10
	upWriteBufSize = 4 << 10
)

func newConnPool(maxIdle int, idleTimeout time.Duration) *connPool {
	return &connPool{maxIdle: maxIdle, idleTimeout: idleTimeout, idle: map[string][]*upConn{}}
}

// get returns an idle connection to b that is still open, or dials a new
// one.
func (p *connPool) get(ctx context.Context, b Backend) (*upConn, error) {
	key := b.InstanceID()
	for {
		p.mu.Lock()
		list := p.idle[key]
		n := len(list)
		if n == 0 {
			p.mu.Unlock()
			break
		}
		c := list[n-1]
		list[n-1] = nil
		p.idle[key] = list[:n-1] // an empty list keeps its array for put; sweep drops it
		p.mu.Unlock()
		if c.usable() {
			c.reused = true
			return c, nil
		}
		_ = c.nc.Close()
	}
	nc, err := b.Dial(ctx)
	if err != nil {
		return nil, err
	}
	return newUpConn(key, nc), nil
}

// put returns c to the idle list (or closes it when the list is full).
func (p *connPool) put(c *upConn) {
	c.idleSince = time.Now()
	p.mu.Lock()
	list := p.idle[c.key]
	if len(list) >= p.maxIdle {
		p.mu.Unlock()
		_ = c.nc.Close()
		return
	}
	p.idle[c.key] = append(list, c)
	p.mu.Unlock()
}

// sweep closes idle connections that the instance closed (it stopped, or
// its server's keep-alive timeout ran out) or that idled longer than
// idleTimeout.
func (p *connPool) sweep(now time.Time) {
	p.mu.Lock()
	var stale []*upConn
	for key, list := range p.idle {
		kept := list[:0]
		for _, c := range list {
			if now.Sub(c.idleSince) > p.idleTimeout || !c.alive() {
				stale = append(stale, c)
				continue
			}
			kept = append(kept, c)
		}
		storeKept(p.idle, key, list, kept)
	}
	p.mu.Unlock()
	for _, c := range stale {
		_ = c.nc.Close()
	}
}

// closeIdle closes every idle connection.
func (p *connPool) closeIdle() {
	p.mu.Lock()
	all := p.idle
	p.idle = map[string][]*upConn{}
	p.mu.Unlock()
	for _, list := range all {
		for _, c := range list {
			_ = c.nc.Close()
		}
	}
}

// idleCount is the number of idle connections.
func (p *connPool) idleCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.idle {
		n += len(l)
	}
	return n
}

// storeKept makes kept, a prefix of list filtered in place, key's list
// of connections (list's tail cleared, so that it holds no dropped
// connection), or deletes key when none is left.
func storeKept[T any](m map[string][]T, key string, list, kept []T) {
	clear(list[len(kept):])
	if len(kept) == 0 {
		delete(m, key)
	} else {
		m[key] = kept
	}
}
