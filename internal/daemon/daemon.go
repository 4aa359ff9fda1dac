// Package daemon builds openfc's components, wires them together, owns
// their goroutines and shuts them down in order. It is the only package
// that knows every concrete type.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/openfc/openfc/internal/api"
	"github.com/openfc/openfc/internal/async"
	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/internal/config"
	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/gateway"
	"github.com/openfc/openfc/internal/images"
	"github.com/openfc/openfc/internal/instance"
	"github.com/openfc/openfc/internal/logs"
	"github.com/openfc/openfc/internal/natsx"
	"github.com/openfc/openfc/internal/runtimes"
	"github.com/openfc/openfc/internal/sandbox"
	"github.com/openfc/openfc/internal/store"
	"github.com/openfc/openfc/pkg/fcsign"
)

// The store's consumers declare what they need of it; *store.JetStream
// provides all of it.
var (
	_ api.Store        = (*store.JetStream)(nil)
	_ gateway.Catalog  = (*store.JetStream)(nil)
	_ instance.Scaling = (*store.JetStream)(nil)
	_ codeStore        = (*store.JetStream)(nil)
	_ api.Images       = (*images.Store)(nil)
	_ auth.KeyStore    = (*store.JetStream)(nil)
	_ api.AccessKeys   = (*auth.Keys)(nil)
)

// Daemon is a running openfc server.
type Daemon struct {
	// runtimes launches the built-in runtimes (nodejs18, python3.10).
	runtimes *runtimes.Registry
	opts     *config.Options
	log      *slog.Logger
	getenv   func(string) string

	// lock makes this the only server on the data dir until closeBackends.
	lock *dataLock
	// nodeName names this node; replicas is the copies JetStream keeps
	// of what it creates (cluster.go).
	nodeName string
	replicas int
	nats     *natsx.Conn
	// nodes is the cluster's membership; stopNodes ends this node's
	// announcements (and removes its key).
	nodes     *store.Nodes
	stopNodes context.CancelFunc
	// caps makes the instance caps cluster-wide (caps.go); nil on a
	// single node.
	caps  *clusterCaps
	store *store.JetStream
	// keys knows the access keys (the admin key and the stored ones),
	// kept current by its watch of the store until closeBackends.
	keys *auth.Keys
	// sb runs the instances as processes, containers (nil without runc)
	// in runc; run routes each Spec to one of them. Both are closed once
	// every instance has stopped, containers first (they use sb's
	// instance networks).
	sb         *sandbox.Process
	containers *sandbox.Container
	run        sandbox.Sandbox
	instances  *instance.Manager
	// logs is the instance log (logs.go); stopLogs ends its writer after
	// a last flush.
	logs     *logs.Journal
	stopLogs func()
	// stopGateway ends the gateway's idle-connection sweeper.
	stopGateway context.CancelFunc
	// trim returns memory to the OS after code uploads.
	trim *memTrimmer
	// accessOut batches the access log's writes.
	accessOut *batchWriter
	// code is the unpacked code and its collector.
	code *codeGC
	// images stores container images (JetStream) and unpacks them on this
	// node; imageGC is its collector loop.
	images  *images.Store
	imageGC *imageGC
	// async queues async requests and runs them (its workers) through
	// asyncRunner, the gateway.
	async       *async.Service
	asyncRunner async.Runner

	// srv is the front door (frontdoor.go) on ln and, with --tls-listen,
	// tlsLn with certs; admin serves /healthz and /metrics on adminLn.
	srv          *gateway.Server
	admin        *http.Server
	certs        *certificates
	ln, tlsLn    net.Listener
	adminLn      net.Listener
	wg           sync.WaitGroup
	serveErr     chan error
	shutdownOnce sync.Once
}

// New returns an unstarted daemon. getenv supplies the environment (for
// the admin credentials); instanceOutput receives instance logs.
func New(opts *config.Options, log *slog.Logger, getenv func(string) string) *Daemon {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Daemon{opts: opts, log: log, getenv: getenv, serveErr: make(chan error, 3), trim: newMemTrimmer(memTrimQuiet, nil)}
}

// Start brings every component up and starts listening. On error it tears
// down whatever it had started.
func (d *Daemon) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			d.closeBackends(context.Background())
		}
	}()
	o := d.opts
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	// Before anything writes there: two embedded NATS servers on one
	// JetStream store would corrupt it.
	if d.lock, err = lockDataDir(o.DataDir); err != nil {
		return err
	}
	cred, err := d.adminCredentials()
	if err != nil {
		return err
	}
	if err := d.startNATS(ctx); err != nil {
		return err
	}
	if err := d.keepSingleNodeData(ctx, cred); err != nil {
		return err
	}
	d.store, err = store.Open(ctx, d.nats.JS, d.replicas, d.log.With("component", "store"))
	if err != nil {
		return fmt.Errorf("opening store: %w", err)
	}
	// Nodes sharing a store must share the admin key (it seals the
	// stored access keys); a single node keeps today's behaviour.
	if o.SharedStore() {
		if err := auth.CheckSharedAdmin(ctx, d.store, cred); err != nil {
			return err
		}
	}
	d.keys, err = auth.StartKeys(ctx, auth.KeysOptions{Admin: cred, Store: d.store, Logger: d.log.With("component", "auth")})
	if err != nil {
		return err
	}
	if err := d.openNodes(ctx); err != nil {
		return err
	}
	if err := d.openCaps(ctx); err != nil {
		return err
	}
	if err := d.openImages(ctx); err != nil {
		return err
	}
	if err := d.openAsync(ctx); err != nil {
		return err
	}
	// The listeners come before the sandbox: instances are kept away
	// from their ports, which are known once they listen.
	if err := d.listenFrontDoor(); err != nil {
		return err
	}
	if err := d.listenAdmin(); err != nil {
		return err
	}
	if err := d.newSandbox(); err != nil {
		return err
	}
	// Every metric carries the node's name, so that a cluster's are told
	// apart once scraped together.
	reg := prometheus.NewRegistry()
	metrics := prometheus.WrapRegistererWith(prometheus.Labels{"node": d.nodeName}, reg)
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	d.code = d.newCodeGC()
	// The built-in runtimes' bootstraps, written out afresh at each start
	// (an upgraded openfc brings new ones).
	if d.runtimes, err = runtimes.New(filepath.Join(o.DataDir, "runtimes"), d.log.With("component", "runtimes")); err != nil {
		return err
	}
	d.instances = d.newInstances(d.run, metrics)
	d.startLogs(ctx)
	verifier := &auth.Verifier{Keys: d.keys.Lookup}
	gw := d.newGateway(ctx, verifier, metrics)
	if err := d.startAsync(ctx, gw); err != nil {
		return err
	}
	d.startFrontDoor(gw)
	d.startAdmin(reg)
	d.startNodes(ctx)
	d.code.start()
	d.startImageGC(d.imagesInUse)
	// The addresses bound (a :0 port resolved), for people and scripts.
	d.log.Info("openfc serving", "listen", d.ln.Addr().String(), "tls", addrOf(d.tlsLn), "admin", addrOf(d.adminLn), "data", o.DataDir,
		"nats", firstNonEmpty(o.NATSURL, "embedded"), "netns", d.sb.NetNSEnabled(), "isolation", d.isolation(),
		"node", d.nodeName, "replicas", d.replicas, "http1", o.HTTP1Server)
	return nil
}

// Addr returns the front door's address.
func (d *Daemon) Addr() string { return d.ln.Addr().String() }

// Run starts the daemon, serves until ctx is cancelled (or a listener
// fails), then shuts down gracefully within the configured timeout.
func (d *Daemon) Run(ctx context.Context) error {
	if err := d.Start(ctx); err != nil {
		return err
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-d.serveErr:
	}
	sctx, cancel := context.WithTimeout(context.Background(), d.opts.ShutdownTimeout)
	defer cancel()
	return errors.Join(runErr, d.Shutdown(sctx))
}

// Shutdown stops accepting requests, waits for in-flight requests (until
// ctx ends), stops every instance and closes the store.
func (d *Daemon) Shutdown(ctx context.Context) error {
	var err error
	d.shutdownOnce.Do(func() {
		d.log.Info("shutting down: draining requests")
		if d.srv != nil {
			// WebSockets closed, HTTP/2 told GOAWAY, requests drained
			// until ctx ends, then the rest cut (gateway.Server).
			if e := d.srv.Shutdown(ctx); e != nil {
				err = fmt.Errorf("draining requests: %w", e)
			}
		}
		if d.admin != nil {
			_ = d.admin.Close()
		}
		if d.async != nil {
			// Attempts under way may finish within what is left of ctx;
			// the rest go back to the queue.
			d.async.Shutdown(ctx)
		}
		if d.stopGateway != nil {
			d.stopGateway()
		}
		if d.stopNodes != nil {
			d.stopNodes()
		}
		d.wg.Wait()
		d.trim.stop()
		d.closeBackends(ctx)
		d.log.Info("shutdown complete")
	})
	return err
}

// closeBackends stops the code collector and instances, then the store
// and NATS.
func (d *Daemon) closeBackends(ctx context.Context) {
	d.code.stop()
	d.imageGC.stop()
	if d.async != nil {
		d.async.Close() // when Start failed after starting it
	}
	if d.stopGateway != nil {
		d.stopGateway() // when Start failed after starting it
	}
	if d.stopNodes != nil {
		d.stopNodes() // when Start failed after starting it
	}
	if d.instances != nil {
		// Give instances a bounded grace period even when ctx is spent.
		ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_ = d.instances.Shutdown(ictx)
		cancel()
	}
	if d.stopLogs != nil {
		d.stopLogs() // the instances' last lines written, before NATS goes
	}
	d.closeCaps() // after the instances: the slots they held go too
	if d.containers != nil {
		// After the instances: their containers are gone; what is left
		// of the runtime's own goes now, before the networks it used.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if err := d.containers.Close(cctx); err != nil {
			d.log.Warn("closing the container sandbox", "err", err)
		}
		cancel()
	}
	if d.sb != nil {
		// After the instances: their namespaces and links are gone, and
		// what is left (the pool, the rules) goes now.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if err := d.sb.Close(cctx); err != nil {
			d.log.Warn("closing the sandbox", "err", err)
		}
		cancel()
	}
	// Start failed before serving on these: nothing else closes them.
	if d.srv == nil {
		for _, ln := range []net.Listener{d.ln, d.tlsLn} {
			if ln != nil {
				ln.Close()
			}
		}
	}
	if d.adminLn != nil && d.admin == nil {
		d.adminLn.Close()
	}
	if d.images != nil {
		d.images.Close() // ends the pulls in flight
	}
	if d.keys != nil {
		d.keys.Close() // its watch, before the store and NATS go
	}
	if d.store != nil {
		d.store.Close()
	}
	if d.nats != nil {
		d.nats.Close()
	}
	d.lock.release()
	d.lock = nil
}

func (d *Daemon) adminCredentials() (fcsign.Credentials, error) {
	o := d.opts
	if o.AccessKeyID != "" {
		return fcsign.Credentials{AccessKeyID: o.AccessKeyID, AccessKeySecret: o.AccessKeySecret}, nil
	}
	cred, err := auth.LoadOrCreateAdmin(o.DataDir, d.getenv)
	if err != nil {
		return cred, fmt.Errorf("admin credentials: %w", err)
	}
	return cred, nil
}

// instanceOutput is where instance stdout/stderr goes: the server's stderr.
func (d *Daemon) instanceOutput() io.Writer { return lockedWriter{w: os.Stderr, mu: &sync.Mutex{}} }

// accessLogInterval is how long an access log line may wait to be
// written with others.
const accessLogInterval = 50 * time.Millisecond

// accessLog is the gateway's access log: the server log's format on the
// server's stderr, written in batches (d.accessOut), at Info when the
// server logs Info.
func (d *Daemon) accessLog(ctx context.Context) *slog.Logger {
	level := slog.LevelInfo
	if !d.log.Enabled(ctx, slog.LevelInfo) {
		level = slog.LevelError + 4 // off, as the server's level says
	}
	d.accessOut = newBatchWriter(os.Stderr, accessLogInterval)
	return slog.New(slog.NewTextHandler(d.accessOut, &slog.HandlerOptions{Level: level})).With("component", "gateway")
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// invokerFunc gives the API its Invoker.
type invokerFunc func(w http.ResponseWriter, r *http.Request, requestID string, fn *fc.Function, qualifier string)

func (f invokerFunc) Invoke(w http.ResponseWriter, r *http.Request, requestID string, fn *fc.Function, qualifier string) {
	f(w, r, requestID, fn, qualifier)
}

// instancesAdapter gives the gateway its Instances interface.
type instancesAdapter struct{ m *instance.Manager }

func (a instancesAdapter) TryAcquire(fn *fc.Function, requestID string) (gateway.Lease, bool) {
	l, ok := a.m.TryAcquire(fn, requestID)
	if !ok {
		return nil, false
	}
	return l, true
}

func (a instancesAdapter) Acquire(ctx context.Context, fn *fc.Function, requestID string) (gateway.Lease, error) {
	l, err := a.m.Acquire(ctx, fn, requestID)
	if err != nil {
		return nil, err
	}
	return l, nil
}

func (a instancesAdapter) AcquireAsync(ctx context.Context, fn *fc.Function, requestID string) (gateway.Lease, error) {
	l, err := a.m.AcquireAsync(ctx, fn, requestID)
	if err != nil {
		return nil, err
	}
	return l, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// provisionTargets converts the catalog's provision configs: this
// node's share of each (caps.go).
func (d *Daemon) provisionTargets() []instance.Target {
	ts := d.store.ProvisionTargets()
	out := make([]instance.Target, len(ts))
	for i, t := range ts {
		out[i] = instance.Target{Service: t.Service, Qualifier: t.Qualifier, Function: t.Function, Target: d.provisionShare(t)}
	}
	return out
}

// functionChanged retires the instances of an updated or deleted
// function; a deleted function's logs go too.
func (d *Daemon) functionChanged(service, function string) {
	d.instances.Forget(service, function)
	if _, _, _, ok := d.store.LookupFunction(service, function); !ok {
		d.logs.Forget(service + "/" + function)
	}
}
