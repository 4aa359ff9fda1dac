package daemon

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/gateway"
)

// listenFrontDoor opens the front door's listeners: plain HTTP (HTTP/1.1
// and h2c) on --listen and, with --tls-listen, HTTPS. The certificate is
// loaded first: a bad one stops the start, naming the file.
func (d *Daemon) listenFrontDoor() (err error) {
	o := d.opts
	if o.TLSListen != "" {
		if d.certs, err = loadCertificates(o.TLSCert, o.TLSKey); err != nil {
			return err
		}
		d.certs.byName = d.store.DomainCertificate
	}
	if d.ln, err = net.Listen("tcp", o.Listen); err != nil {
		return fmt.Errorf("listen %s: %w", o.Listen, err)
	}
	if o.TLSListen != "" {
		if d.tlsLn, err = net.Listen("tcp", o.TLSListen); err != nil {
			return fmt.Errorf("listen %s: %w", o.TLSListen, err)
		}
	}
	return nil
}

// startFrontDoor serves the gateway on the front door's listeners.
func (d *Daemon) startFrontDoor(gw *gateway.Gateway) {
	o := gateway.ServerOptions{
		HeaderTimeout: d.opts.HeaderTimeout,
		FastHTTP1:     d.opts.HTTP1Server == config.HTTP1Fast,
		ErrorLog:      slog.NewLogLogger(d.log.Handler(), slog.LevelDebug),
	}
	if d.certs != nil {
		o.TLS = &tls.Config{GetCertificate: d.certs.get, MinVersion: tls.VersionTLS12}
	}
	d.srv = gw.NewServer(o)
	d.srv.RegisterOnShutdown(d.logs.Close) // ends `logs --follow` streams
	d.serveWith(d.srv.Serve, d.ln)
	if d.tlsLn != nil {
		d.serveWith(d.srv.ServeTLS, d.tlsLn)
	}
}

// serveWith runs serve on ln until the server shuts down; any other end
// is reported on serveErr (Run then shuts down).
func (d *Daemon) serveWith(serve func(net.Listener) error, ln net.Listener) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.serveErr <- err
		}
	}()
}

// addrOf is ln's address, "" without a listener.
func addrOf(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// frontDoorAddrs are the front door's listening addresses (instances are
// kept away from them).
func (d *Daemon) frontDoorAddrs() []string {
	addrs := []string{d.ln.Addr().String()}
	if d.tlsLn != nil {
		addrs = append(addrs, d.tlsLn.Addr().String())
	}
	return addrs
}

// certificates picks the certificate of a TLS handshake by its server
// name (SNI): an HTTPS custom domain's own, else the server's.
type certificates struct {
	def *tls.Certificate
	// byName is the certificate of the custom domain serving a name
	// (exact, else its "*.parent" wildcard domain), nil for none: the
	// store's domain catalog, fed by a watch, so a domain created on any
	// node serves its certificate on every node at once.
	byName func(serverName string) *tls.Certificate
}

func loadCertificates(certFile, keyFile string) (*certificates, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s / --tls-key %s: %w", certFile, keyFile, err)
	}
	return &certificates{def: &cert}, nil
}

func (c *certificates) get(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c.byName != nil && hello.ServerName != "" {
		if cert := c.byName(hello.ServerName); cert != nil {
			return cert, nil
		}
	}
	return c.def, nil
}
