package instance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/sandbox"
)

// hostSuffix ends the synthetic host names the shared http.Transport uses
// to reach instances: "<instance-id>.instance.openfc:<port>". One name per
// instance keeps the transport's connection pools apart even though every
// instance listens on the same port in its own network namespace.
const hostSuffix = ".instance.openfc"

// CodeSource provides unpacked code directories.
type CodeSource interface {
	// CodeDir returns the directory holding the unpacked code with the
	// given checksum, unpacking it first if needed.
	CodeDir(ctx context.Context, checksum string) (string, error)
}

// Options configure a Manager.
type Options struct {
	Sandbox sandbox.Sandbox
	Code    CodeSource
	// Region and AccountID are exported to instances.
	Region, AccountID string
	// StartTimeout bounds how long a new instance may take to accept a
	// connection on its CAPort. Default 120 s.
	StartTimeout time.Duration
	// MaxPerFunction caps the instances of one function version. Default 10.
	MaxPerFunction int
	// Output receives every instance's output, line-prefixed with a
	// timestamp and the instance id. Nil discards.
	Output io.Writer
	// Logger; nil discards.
	Logger *slog.Logger
}

// ErrShuttingDown is returned by Acquire once Shutdown has begun.
var ErrShuttingDown = errors.New("instance manager is shutting down")

// Manager owns every instance of every function on this node.
type Manager struct {
	opts Options
	log  *slog.Logger

	ctx    context.Context // cancelled by Shutdown; parent of instance lifetimes
	cancel context.CancelFunc
	wg     sync.WaitGroup // start and watch goroutines

	mu     sync.Mutex
	closed bool
	pools  map[string]*pool
	hosts  map[string]*inst // by synthetic host (without port)
}

// New returns a Manager.
func New(o Options) *Manager {
	if o.StartTimeout <= 0 {
		o.StartTimeout = 120 * time.Second
	}
	if o.MaxPerFunction <= 0 {
		o.MaxPerFunction = 10
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{
		opts:   o,
		log:    log,
		ctx:    ctx,
		cancel: cancel,
		pools:  map[string]*pool{},
		hosts:  map[string]*inst{},
	}
}

// Acquire returns a lease on a slot of a ready instance of fn (the LATEST
// version for now), starting an instance when every slot is busy and the
// pool may grow, and waiting (until ctx ends) otherwise. The caller must
// Release the lease.
func (m *Manager) Acquire(ctx context.Context, fn *fc.Function) (*Lease, error) {
	p, err := m.poolFor(fn)
	if err != nil {
		return nil, err
	}
	return p.acquire(ctx)
}

// poolFor returns the current pool of fn, replacing (retiring) the pool of
// an older configuration.
func (m *Manager) poolFor(fn *fc.Function) (*pool, error) {
	key := fn.ServiceName + "/" + fn.FunctionName + "@" + fc.LATEST
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fc.Errorf(fc.CodeServiceUnavailable, "the server is shutting down")
	}
	p := m.pools[key]
	if p != nil && p.sameConfig(fn) {
		return p, nil
	}
	if p != nil {
		m.log.Info("function configuration changed; retiring its instances", "function", key)
		p.retire()
	}
	p = &pool{m: m, key: key, fn: fn, fingerprint: fingerprint(fn)}
	m.pools[key] = p
	return p, nil
}

// Forget retires the pools of a deleted function.
func (m *Manager) Forget(service, function string) {
	key := service + "/" + function + "@" + fc.LATEST
	m.mu.Lock()
	p := m.pools[key]
	delete(m.pools, key)
	m.mu.Unlock()
	if p != nil {
		p.retire()
	}
}

// DialContext connects to the instance named by addr's synthetic host; it
// is the DialContext of the shared http.Transport.
func (m *Manager) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("instance address %q: %w", addr, err)
	}
	m.mu.Lock()
	in := m.hosts[host]
	m.mu.Unlock()
	if in == nil {
		return nil, fmt.Errorf("instance %q is gone: %w", host, net.ErrClosed)
	}
	return in.sb.DialContext(ctx)
}

// Shutdown stops accepting work and stops every instance: SIGTERM, then
// SIGKILL when ctx ends. It returns when all instances have exited.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	pools := make([]*pool, 0, len(m.pools))
	for _, p := range m.pools {
		pools = append(pools, p)
	}
	m.pools = map[string]*pool{}
	m.mu.Unlock()
	m.cancel() // aborts cold starts in progress
	var wg sync.WaitGroup
	for _, p := range pools {
		for _, in := range p.drainAll() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m.stopInstance(ctx, in)
			}()
		}
	}
	wg.Wait()
	m.wg.Wait()
	return nil
}

// InstanceInfo describes one instance, for the API and tests.
type InstanceInfo struct {
	ID       string `json:"instanceId"`
	Function string `json:"function"`
	InFlight int    `json:"inFlight"`
	Served   int64  `json:"requestsServed"`
	Started  string `json:"startedTime"`
}

// Instances lists the running instances.
func (m *Manager) Instances() []InstanceInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []InstanceInfo
	for _, in := range m.hosts {
		in.p.mu.Lock()
		out = append(out, InstanceInfo{ID: in.id, Function: in.p.key, InFlight: in.inflight, Served: in.served, Started: fc.Timestamp(in.started)})
		in.p.mu.Unlock()
	}
	return out
}

func (m *Manager) register(in *inst) {
	m.mu.Lock()
	m.hosts[in.id+hostSuffix] = in
	m.mu.Unlock()
}

func (m *Manager) unregister(in *inst) {
	m.mu.Lock()
	delete(m.hosts, in.id+hostSuffix)
	m.mu.Unlock()
}

// stopInstance stops in and forgets it.
func (m *Manager) stopInstance(ctx context.Context, in *inst) {
	if err := in.sb.Stop(ctx); err != nil {
		m.log.Warn("stopping instance", "instance", in.id, "err", err)
	}
	m.unregister(in)
}

// stopSoon stops in in the background with a grace period.
func (m *Manager) stopSoon(in *inst) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m.stopInstance(ctx, in)
	}()
}

// start launches one instance of p's function and waits until its CAPort
// accepts connections.
func (m *Manager) start(p *pool) (*inst, error) {
	fn := p.fn
	ctx, cancel := context.WithTimeout(m.ctx, m.opts.StartTimeout)
	defer cancel()
	id := newID()
	dir, err := m.opts.Code.CodeDir(ctx, fn.CodeChecksum)
	if err != nil {
		return nil, fc.Errorf(fc.CodeFunctionNotStarted, "The function cannot be started: code package %s: %w", fn.CodeChecksum, err)
	}
	argv := command(fn)
	tail := newTailBuffer(4096, id, m.opts.Output)
	spec := sandbox.Spec{ID: id, Dir: dir, Command: argv, Env: m.env(fn, id, dir), Port: fn.Port(), Output: tail}
	began := time.Now()
	sb, err := m.opts.Sandbox.Start(ctx, spec)
	if err != nil {
		return nil, fc.Errorf(fc.CodeFunctionNotStarted, "The CA's http server cannot be started: %v. Logs : %s", err, tail.String())
	}
	in := &inst{id: id, sb: sb, p: p, tail: tail, started: began}
	if err := m.waitReady(ctx, in); err != nil {
		m.stopSoon(in)
		return nil, err
	}
	m.register(in)
	m.log.Info("instance started", "function", p.key, "instance", id, "duration", time.Since(began))
	m.wg.Add(1)
	go m.watch(in)
	return in, nil
}

// waitReady polls the CAPort until it accepts a connection, the process
// exits, or ctx ends.
func (m *Manager) waitReady(ctx context.Context, in *inst) error {
	delay := time.Millisecond
	var lastErr error
	for {
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := in.sb.DialContext(dctx)
		cancel()
		if err == nil {
			c.Close()
			return nil
		}
		lastErr = err
		t := time.NewTimer(delay)
		select {
		case <-in.sb.Done():
			t.Stop()
			return fc.Errorf(fc.CodeFunctionNotStarted, "The CA's http server cannot be started: process exited (%v) before listening on port %d. Logs : %s",
				in.sb.ExitErr(), in.p.fn.Port(), in.tail.String())
		case <-ctx.Done():
			t.Stop()
			return fc.Errorf(fc.CodeFunctionNotStarted, "The CA's http server cannot be started:ContainerStartDuration:%d. Ping CA failed due to: %v Logs : %s",
				m.opts.StartTimeout.Nanoseconds(), lastErr, in.tail.String())
		case <-t.C:
		}
		if delay < 50*time.Millisecond {
			delay *= 2
		}
	}
}

// watch waits for in's process to exit and takes it out of rotation.
func (m *Manager) watch(in *inst) {
	defer m.wg.Done()
	<-in.sb.Done()
	if in.p.remove(in) {
		m.log.Warn("instance exited unexpectedly", "function", in.p.key, "instance", in.id, "exit", in.sb.ExitErr(), "tail", lastLine(in.tail.String()))
	}
	// Release the namespace and process-group resources.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m.stopInstance(ctx, in)
}

// env builds the instance environment: a minimal base, the user's
// variables, then FC's variables (which the user cannot override).
func (m *Manager) env(fn *fc.Function, id, dir string) []string {
	vars := map[string]string{
		"PATH": os.Getenv("PATH"),
		"HOME": os.TempDir(),
		"LANG": "C.UTF-8",
	}
	for k, v := range fn.EnvironmentVariables {
		vars[k] = v
	}
	port := strconv.Itoa(fn.Port())
	for k, v := range map[string]string{
		"FC_FUNCTION_NAME":        fn.FunctionName,
		"FC_SERVICE_NAME":         fn.ServiceName,
		"FC_FUNCTION_HANDLER":     fn.Handler,
		"FC_FUNCTION_MEMORY_SIZE": strconv.Itoa(fn.MemorySize),
		"FC_FUNC_CODE_PATH":       dir,
		"FC_SERVER_PORT":          port,
		"FC_CUSTOM_LISTEN_PORT":   port,
		"FC_INSTANCE_ID":          id,
		"FC_REGION":               m.opts.Region,
		"FC_ACCOUNT_ID":           m.opts.AccountID,
		"FC_QUALIFIER":            fc.LATEST,
		"FC_VERSION_ID":           fc.LATEST,
		"FC_TIMEOUT":              strconv.Itoa(fn.Timeout),
	} {
		vars[k] = v
	}
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	return out
}

// command returns argv: customRuntimeConfig.command + args, else FC's
// convention, an executable bootstrap at the code root.
func command(fn *fc.Function) []string {
	if c := fn.CustomRuntimeConfig; c != nil && len(c.Command) > 0 {
		return append(append([]string{}, c.Command...), c.Args...)
	}
	return []string{"./bootstrap"}
}

// fingerprint identifies a function configuration: two values with the
// same fingerprint can share instances.
func fingerprint(fn *fc.Function) string {
	b, _ := json.Marshal(fn)
	return fn.ServiceName + "\x00" + string(b)
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "c-" + hex.EncodeToString(b[:])
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
