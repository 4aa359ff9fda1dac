// Package natsx starts openfc's embedded NATS server with JetStream, or
// connects to an external NATS cluster, and hands out the client connection
// and JetStream context the store is built on.
package natsx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Limits of the embedded server. openfc keeps its metadata and code zips in
// file storage, so the memory-storage limit only bounds what a stray stream
// could pin in RAM; it is not allocated up front.
const (
	embeddedMaxMemory = 32 << 20 // JetStream memory storage, bytes
	embeddedMaxStore  = 0        // JetStream file storage: 0 = server default (disk based)
	readyTimeout      = 10 * time.Second
	drainTimeout      = 5 * time.Second
	clientName        = "openfc"
)

// Options says which NATS to use.
type Options struct {
	// DataDir holds the embedded server's JetStream store, in
	// DataDir/jetstream. Required for the embedded server; ignored with URL.
	DataDir string
	// URL, when set, connects to this external NATS server or cluster
	// (JetStream must be enabled there) and starts no embedded server.
	URL string
	// Listen is the embedded server's client listener, "host:port" (port -1
	// picks a free port). Empty means no TCP listener at all: the only
	// connection is the in-process one.
	Listen string
	// Logger receives connection events and the embedded server's log.
	// nil discards them.
	Logger *slog.Logger
	// SyncAlways makes the embedded server's JetStream fsync every write
	// before acknowledging it (power-loss durability, at a throughput
	// cost). Otherwise the file store syncs every two minutes and a write
	// survives a crash of the process, not of the machine. Ignored with
	// URL: an external server has its own setting.
	SyncAlways bool
	// Cluster, when its Listen is set, makes the embedded server one of a
	// cluster (cluster.go). Ignored with URL.
	Cluster Cluster
}

// Conn is a NATS connection with JetStream, and the embedded server behind
// it when there is one.
type Conn struct {
	// NC is the client connection.
	NC *nats.Conn
	// JS is the JetStream context on NC.
	JS jetstream.JetStream

	ns        *server.Server // nil when connected to an external NATS
	sl        *serverLogger  // ns's logger
	log       *slog.Logger
	closed    chan struct{} // closed by NC's closed handler
	closeOnce sync.Once
}

// Start starts the embedded server (or connects to o.URL) and returns a
// connection with JetStream ready to use. ctx bounds the start-up checks.
func Start(ctx context.Context, o Options) (*Conn, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Conn{log: log, closed: make(chan struct{})}
	opts := []nats.Option{
		nats.Name(clientName),
		nats.DrainTimeout(drainTimeout),
		nats.ClosedHandler(func(*nats.Conn) { close(c.closed) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats: disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats: reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Warn("nats: async error", "subject", subject, "err", err)
		}),
	}

	if o.URL != "" {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		opts = append(opts, nats.MaxReconnects(-1))
		nc, err := nats.Connect(o.URL, opts...)
		if err != nil {
			return nil, fmt.Errorf("natsx: connect to %s: %w", redactURLs(o.URL), err)
		}
		c.NC = nc
	} else {
		ns, sl, err := startEmbedded(o, log)
		if err != nil {
			return nil, err
		}
		c.ns, c.sl = ns, sl
		nc, err := nats.Connect("", append(opts, nats.InProcessServer(ns))...)
		if err != nil {
			shutdown(ns)
			return nil, fmt.Errorf("natsx: connect in-process: %w", err)
		}
		c.NC = nc
	}

	js, err := jetstream.New(c.NC)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("natsx: jetstream: %w", err)
	}
	if err := c.waitJetStream(ctx, js, o); err != nil {
		c.Close()
		return nil, err
	}
	c.JS = js
	return c, nil
}

// startEmbedded starts the in-process server and waits until it accepts
// connections.
func startEmbedded(o Options, log *slog.Logger) (*server.Server, *serverLogger, error) {
	if o.DataDir == "" {
		return nil, nil, errors.New("natsx: DataDir is required for the embedded NATS server")
	}
	sopts := &server.Options{
		ServerName:         clientName,
		JetStream:          true,
		StoreDir:           o.DataDir, // the server appends "jetstream" itself
		JetStreamMaxMemory: embeddedMaxMemory,
		JetStreamMaxStore:  embeddedMaxStore,
		DontListen:         o.Listen == "",
		NoSigs:             true,
		NoLog:              true,
		SyncAlways:         o.SyncAlways,
	}
	if o.Listen != "" {
		host, port, err := splitListen(o.Listen)
		if err != nil {
			return nil, nil, err
		}
		sopts.Host, sopts.Port = host, port
	}
	if err := o.Cluster.apply(sopts, o.DataDir); err != nil {
		return nil, nil, err
	}
	if err := checkClusterDir(o); err != nil {
		return nil, nil, err
	}
	if err := portsFree(sopts); err != nil {
		return nil, nil, err
	}
	ns, err := server.NewServer(sopts)
	if err != nil {
		return nil, nil, fmt.Errorf("natsx: new embedded server: %w", err)
	}
	sl := newServerLogger(log.With("component", "nats-server"))
	if log.Handler().Enabled(context.Background(), slog.LevelError) {
		ns.SetLogger(sl, false, false)
	}
	storeDir := filepath.Join(sopts.StoreDir, "jetstream")
	_, statErr := os.Stat(storeDir)
	restart := statErr == nil
	// Start recovers every stream before it returns (JetStream is enabled
	// synchronously in a standalone server).
	sl.setRecovering(true)
	ns.Start()
	ready := ns.ReadyForConnections(readyTimeout)
	sl.setRecovering(false)
	if !ready {
		shutdown(ns)
		return nil, nil, fmt.Errorf("natsx: embedded server not ready after %s (data dir %s, listen %q, cluster %q)", readyTimeout, o.DataDir, o.Listen, o.Cluster.Listen)
	}
	if restart && !o.Cluster.clustered() {
		// (Clustered, JetStream recovers as the cluster forms, after
		// Start: waitJetStream tells.)
		// The one line an operator needs about recovery; the file store's
		// own account of it is at debug (serverLogger).
		n := ns.GlobalAccount().JetStreamUsage().Streams
		log.Info(fmt.Sprintf("recovered %d streams from %s", n, storeDir),
			"streams", n, "rebuilt", sl.rebuiltStreams())
	}
	return ns, sl, nil
}

// portsFree tells at once when the client or route port is taken: the
// server would only log it and never become ready (a node of a cluster
// restarted while its old process still holds the route port, two nodes
// on one machine given the same ports).
func portsFree(sopts *server.Options) error {
	for _, a := range []struct {
		what string
		host string
		port int
	}{{"client", sopts.Host, sopts.Port}, {"cluster", sopts.Cluster.Host, sopts.Cluster.Port}} {
		if a.port <= 0 || (a.what == "client" && sopts.DontListen) {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(a.host, strconv.Itoa(a.port)))
		if err != nil {
			return fmt.Errorf("natsx: the NATS %s port: %w", a.what, err)
		}
		ln.Close()
	}
	return nil
}

// splitListen parses "host:port"; port -1 asks for a free port.
func splitListen(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("natsx: listen address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < -1 || port > 65535 {
		return "", 0, fmt.Errorf("natsx: listen address %q: bad port", addr)
	}
	if port == 0 {
		port = -1 // the server reads 0 as "default port 4222"; 0 conventionally means "any"
	}
	return host, port, nil
}

// redactURLs hides the credentials in a comma-separated list of NATS URLs.
func redactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		switch {
		case err != nil:
			parts[i] = "<unparsable url>"
		case u.User != nil:
			u.User = url.User("redacted")
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}

func shutdown(ns *server.Server) {
	ns.Shutdown()
	ns.WaitForShutdown()
}

// ClientURL returns the embedded server's client URL when it listens on TCP,
// and "" for an external NATS or an embedded server without a listener.
func (c *Conn) ClientURL() string {
	if c.ns == nil || c.ns.Addr() == nil {
		return ""
	}
	return c.ns.ClientURL()
}

// Close drains the connection, then shuts the embedded server down and
// waits for it. It is safe to call more than once.
func (c *Conn) Close() {
	c.closeOnce.Do(func() {
		if c.NC != nil {
			if err := c.NC.Drain(); err != nil {
				c.NC.Close()
			}
			select {
			case <-c.closed:
			case <-time.After(2 * drainTimeout):
				c.log.Warn("nats: drain did not finish, closing")
				c.NC.Close()
			}
		}
		if c.ns != nil {
			shutdown(c.ns)
		}
	})
}
