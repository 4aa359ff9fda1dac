package upstream

import (
	"context"
	"net"
	"testing"
	"time"
)

// poolPair returns a pool and a Backend whose Dial connects to a server
// that keeps its connections open.
func poolPair(tb testing.TB) (*connPool, Backend) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	p := newConnPool(8, time.Minute)
	tb.Cleanup(func() {
		p.closeIdle()
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return p, &testBackend{id: "instance:80", addr: ln.Addr().String()}
}

func TestConnPoolAllocs(t *testing.T) {
	p, b := poolPair(t)
	ctx := context.Background()
	c, err := p.get(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	p.put(c)
	if n := testing.AllocsPerRun(200, func() {
		c, err := p.get(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		p.put(c)
	}); n != 0 {
		t.Errorf("taking and returning a pooled connection (with its liveness peek) allocates %.0f times; want 0", n)
	}
	if n := p.idleCount(); n != 1 {
		t.Errorf("%d idle connections; want the one reused", n)
	}
}

// BenchmarkConnPool takes and returns a pooled connection: "peek" as after
// an answer the framing does not end (or a pause), "recent" as under load
// (no liveness syscall).
func BenchmarkConnPool(b *testing.B) {
	for _, framed := range []bool{false, true} {
		name := "peek"
		if framed {
			name = "recent"
		}
		b.Run(name, func(b *testing.B) {
			p, be := poolPair(b)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				c, err := p.get(ctx, be)
				if err != nil {
					b.Fatal(err)
				}
				c.framed = framed
				p.put(c)
			}
		})
	}
}

// TestConnPoolLIFO: the most recently returned connection is taken first
// (the others may idle out); get dials only when none is idle.
func TestConnPoolLIFO(t *testing.T) {
	p, b := poolPair(t)
	ctx := context.Background()
	c1, err1 := p.get(ctx, b)
	c2, err2 := p.get(ctx, b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if c1 == c2 || c1.reused || c2.reused {
		t.Fatal("two gets with none idle: want two new connections")
	}
	p.put(c1)
	p.put(c2)
	if got, _ := p.get(ctx, b); got != c2 || !got.reused {
		t.Errorf("got %p; want the last returned %p, marked reused", got, c2)
	}
	if got, _ := p.get(ctx, b); got != c1 {
		t.Errorf("got %p; want %p", got, c1)
	}
	if n := b.(*testBackend).dials.Load(); n != 2 {
		t.Errorf("%d dials; want 2", n)
	}
	c1.nc.Close()
	c2.nc.Close()
}
