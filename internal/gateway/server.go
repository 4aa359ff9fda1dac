package gateway

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// ServerOptions configure the front door's server.
type ServerOptions struct {
	// TLS serves HTTPS on the listeners given to ServeTLS (ALPN h2 and
	// http/1.1); its GetCertificate picks a certificate by SNI.
	TLS *tls.Config
	// HeaderTimeout bounds the reading of a request's head (default 30 s).
	HeaderTimeout time.Duration
	// FastHTTP1 serves cleartext HTTP/1.1 with the event-loop-style
	// server (fastserver.go) instead of net/http; h2c on the same
	// listener and TLS stay on net/http.
	FastHTTP1 bool
	// ErrorLog receives net/http's own complaints (bad requests, TLS
	// handshakes); nil: the standard logger.
	ErrorLog *log.Logger
}

// Server is the front door: HTTP/1.1 and HTTP/2 with prior knowledge
// (h2c) on plain listeners, HTTP/1.1 and HTTP/2 over TLS, all served by
// the gateway; and the shutdown order long-lived calls need.
type Server struct {
	g    *Gateway
	opts ServerOptions
	srv  *http.Server
	// fast serves cleartext HTTP/1.1 with FastHTTP1 (nil: srv does).
	fast *fastServer
}

// NewServer returns the front door's server for g.
func (g *Gateway) NewServer(o ServerOptions) *Server {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	p.SetUnencryptedHTTP2(true)
	if o.HeaderTimeout <= 0 {
		o.HeaderTimeout = 30 * time.Second
	}
	s := &Server{g: g, opts: o, srv: &http.Server{
		Handler:           g,
		Protocols:         &p,
		TLSConfig:         o.TLS,
		ReadHeaderTimeout: o.HeaderTimeout,
		IdleTimeout:       fastIdleTimeout,
		ErrorLog:          o.ErrorLog,
	}}
	if o.FastHTTP1 {
		s.fast = newFastServer(g, s.srv, o)
	}
	return s
}

// Serve serves plain HTTP (HTTP/1.1 and h2c) on ln until Shutdown. With
// FastHTTP1 the fast server reads every connection first and hands the
// HTTP/2 ones to net/http.
func (s *Server) Serve(ln net.Listener) error {
	if s.fast == nil {
		return s.srv.Serve(ln)
	}
	var wg sync.WaitGroup
	wg.Go(s.fast.background)
	err := s.fast.serve(ln)
	if !errors.Is(err, http.ErrServerClosed) {
		s.fast.stopBackground()
	}
	wg.Wait()
	return err
}

// ServeTLS serves HTTPS on ln until Shutdown, with the certificates of
// ServerOptions.TLS.
func (s *Server) ServeTLS(ln net.Listener) error { return s.srv.ServeTLS(ln, "", "") }

// RegisterOnShutdown calls f when Shutdown begins (it ends streams of
// its own, such as `logs --follow`).
func (s *Server) RegisterOnShutdown(f func()) { s.srv.RegisterOnShutdown(f) }

// shutdownServers shuts net/http's server and the fast one down side by
// side (see Shutdown).
func (s *Server) shutdownServers(ctx context.Context) error {
	if s.fast == nil {
		return s.srv.Shutdown(ctx)
	}
	var wg sync.WaitGroup
	var h2err error
	wg.Go(func() { h2err = s.srv.Shutdown(ctx) })
	err := s.fast.shutdown(ctx)
	wg.Wait()
	return cmp.Or(err, h2err)
}

// closeGrace bounds each step after the grace period: the gRPC statuses
// written, the connections left closed.
const closeGrace = 2 * time.Second

// Shutdown ends the front door in order: WebSocket tunnels get a close
// frame (1001 going away) at once; the listeners close and HTTP/2
// clients get GOAWAY; requests, gRPC streams included, may finish until
// ctx ends; then the gRPC streams still open end with UNAVAILABLE, and
// every connection left, hijacked ones included, is closed. It returns
// ctx's error when requests had to be cut.
func (s *Server) Shutdown(ctx context.Context) error {
	s.g.streams.closeTunnels(closeGoingAway, errShuttingDown.Error())
	err := s.shutdownServers(ctx)
	if err != nil {
		s.g.streams.cut(errShuttingDown)
		s.g.streams.wait(closeGrace)
		// The handlers are done: what they wrote is flushed on the way
		// out, then whatever is left is closed.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeGrace)
		if s.shutdownServers(sctx) != nil {
			_ = s.srv.Close()
			if s.fast != nil {
				s.fast.close()
			}
		}
		cancel()
	}
	if !s.g.streams.wait(closeGrace) {
		s.g.streams.cut(errShuttingDown)
		s.g.streams.wait(closeGrace)
	}
	return err
}
