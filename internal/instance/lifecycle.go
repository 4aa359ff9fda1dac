package instance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/sandbox"
)

// start launches one instance of p's function and returns it once it is
// ready: the CAPort accepts connections (or the custom health check
// passes) and the initializer, if any, succeeded. It owns the node slot
// the caller reserved, and its cluster-wide slot ("": none): on failure
// they are given back (directly, or by stopInstance once the process is
// gone).
func (m *Manager) start(p *pool, provisioned bool, id, slot string) (*inst, error) {
	fn := p.fn
	ctx, cancel := context.WithTimeout(m.ctx, m.opts.StartTimeout)
	defer cancel()
	began := time.Now()
	in := &inst{id: id, p: p, started: began, provisioned: provisioned, slot: slot}
	spec, warning, release, err := m.spec(ctx, fn, p.qualifier, in)
	if err != nil {
		m.giveBack(slot)
		return nil, err
	}
	in.release = release
	in.tail = newTailBuffer(4096, id, m.opts.Output)
	spec.Output = &lineWriter{m: m, in: in}
	if warning != "" {
		m.appendLog(in, "", warning)
	}
	in.sb, err = m.opts.Sandbox.Start(ctx, spec)
	if err != nil {
		release()
		m.giveBack(slot)
		return nil, startError(err, in)
	}
	in.hook = hookClient(in.sb)
	m.register(in)
	if err := m.waitReady(ctx, in); err != nil {
		m.stopSoon(in, "not started")
		return nil, err
	}
	if fn.Initializer != "" {
		if err := m.initialize(ctx, in); err != nil {
			m.stopSoon(in, "initializer failed")
			return nil, err
		}
	}
	d := time.Since(began)
	m.opts.Metrics.coldStart(p.key, d)
	m.log.Info("instance started", "function", p.key, "instance", id, "duration", d, "provisioned", provisioned)
	m.spawn(func() { m.watch(in) })
	if hc := fn.HealthCheck(); hc != nil {
		m.spawn(func() { m.healthLoop(in, hc) })
	}
	return in, nil
}

// waitReady polls the instance until it is ready, the process exits, or
// ctx ends. Ready means a TCP connection to the CAPort, or, with a custom
// health check, successThreshold passing probes after initialDelaySeconds.
func (m *Manager) waitReady(ctx context.Context, in *inst) error {
	fn := in.p.fn
	hc := fn.HealthCheck()
	if hc != nil && hc.InitialDelaySeconds > 0 {
		t := time.NewTimer(time.Duration(hc.InitialDelaySeconds) * time.Second)
		select {
		case <-t.C:
		case <-in.sb.Done():
			t.Stop()
		case <-ctx.Done():
			t.Stop()
		}
	}
	delay, began := time.Millisecond, time.Now()
	var lastErr error
	successes := 0
	for {
		var err error
		if hc != nil {
			err = m.probe(ctx, in, hc)
		} else {
			dctx, cancel := context.WithTimeout(ctx, time.Second)
			err = in.sb.Ready(dctx)
			cancel()
		}
		switch {
		case err == nil:
			successes++
			if hc == nil || successes >= hc.SuccessThreshold {
				return nil
			}
		case ctx.Err() == nil:
			// Keep the last complete probe's error: one cut short by the
			// start deadline says nothing about the function.
			successes = 0
			lastErr = err
		}
		t := time.NewTimer(delay)
		select {
		case <-in.sb.Done():
			t.Stop()
			why := ""
			if err := in.sb.Ready(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
				why = " (" + err.Error() + ")" // e.g. its port held by another process
			}
			return fc.Errorf(fc.CodeFunctionNotStarted, "The CA's http server cannot be started: process exited (%v) before it was ready on port %d%s. Logs : %s",
				in.sb.ExitErr(), fn.Port(), why, in.tail.String())
		case <-ctx.Done():
			t.Stop()
			return fc.Errorf(fc.CodeFunctionNotStarted, "The CA's http server cannot be started:ContainerStartDuration:%d. Ping CA failed due to: %v Logs : %s",
				m.opts.StartTimeout.Nanoseconds(), lastErr, in.tail.String())
		case <-t.C:
		}
		delay = nextPoll(delay, time.Since(began))
	}
}

// nextPoll is the wait before the next readiness probe of a starting
// instance: doubling from 1 ms to 4 ms while the start is young, so that
// a server listening after 20 ms or 120 ms (a runc container) is found
// within a few milliseconds, not up to a doubled interval later; 50 ms
// once it has taken 2 s (a JVM), where a few milliseconds do not matter
// and the probes would.
func nextPoll(delay, elapsed time.Duration) time.Duration {
	limit := 4 * time.Millisecond
	if elapsed > 2*time.Second {
		limit = 50 * time.Millisecond
	}
	return min(delay*2, limit)
}

// probe runs one health check: GET httpGetUrl within timeoutSeconds; any
// 2xx or 3xx passes.
func (m *Manager) probe(ctx context.Context, in *inst, hc *fc.HealthCheckConfig) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(hc.TimeoutSeconds)*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.url(hc.HTTPGetURL), nil)
	if err != nil {
		return fmt.Errorf("health check request: %w", err)
	}
	resp, err := in.hook.Do(req)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("health check: GET %s answered %s", hc.HTTPGetURL, resp.Status)
	}
	return nil
}

// healthLoop probes a ready instance every periodSeconds and takes it out
// of rotation after failureThreshold consecutive failures.
func (m *Manager) healthLoop(in *inst, hc *fc.HealthCheckConfig) {
	tick := time.NewTicker(time.Duration(hc.PeriodSeconds) * time.Second)
	defer tick.Stop()
	failures := 0
	for {
		select {
		case <-tick.C:
		case <-in.sb.Done():
			return
		case <-m.ctx.Done():
			return
		}
		in.p.mu.Lock()
		gone := in.gone
		in.p.mu.Unlock()
		if gone {
			return
		}
		if err := m.probe(m.ctx, in, hc); err != nil {
			failures++
			m.log.Warn("health check failed", "function", in.p.key, "instance", in.id, "failures", failures, "err", err)
			if failures >= hc.FailureThreshold {
				m.appendLog(in, "", fmt.Sprintf("openfc: instance %s failed %d health checks in a row (%v); replacing it", in.id, failures, err))
				in.p.unhealthy(in)
				return
			}
			continue
		}
		failures = 0
	}
}

// hookClient is an instance's client for lifecycle hooks and health
// checks: it dials the instance itself (the URL's address is only the
// Host header) and keeps no connections, since hooks are rare.
func hookClient(sb sandbox.Instance) *http.Client {
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) { return sb.DialContext(ctx) }
	return &http.Client{Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
}

// url is the URL of path on the instance's HTTP server, as its hooks and
// health checks address it.
func (in *inst) url(path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(in.p.fn.Port()) + path
}

// hook sends a lifecycle request (POST /initialize, GET /pre-stop) with
// FC's common headers and reports a non-2xx answer as an error.
func (m *Manager) hookRequest(ctx context.Context, in *inst, method, path, requestID string) error {
	req, err := http.NewRequestWithContext(ctx, method, in.url(path), nil)
	if err != nil {
		return fmt.Errorf("%s request: %w", path, err)
	}
	h := req.Header
	for _, f := range fc.FunctionHeaders(in.p.fn, m.opts.Region, m.opts.AccountID) {
		h[f.Name] = []string{f.Value}
	}
	h[fc.HeaderRequestID] = []string{requestID}
	h[fc.HeaderControlPath] = []string{path}
	h[fc.HeaderQualifier] = []string{in.p.qualifier}
	resp, err := in.hook.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s %s answered %s: %s", method, path, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// initialize runs the initializer once, before the instance's first
// request, bounded by initializationTimeout.
func (m *Manager) initialize(ctx context.Context, in *inst) error {
	fn := in.p.fn
	reqID := fc.NewRequestID()
	ctx, cancel := context.WithTimeout(ctx, time.Duration(fn.InitializationTimeout)*time.Second)
	defer cancel()
	in.current.Store(&reqID)
	m.marker(in, reqID, "FC Initialize Start RequestId: "+reqID)
	err := m.hookRequest(ctx, in, http.MethodPost, fc.ControlInitialize, reqID)
	syncOutput(in) // what it printed belongs to the hook, and in the error message
	m.marker(in, reqID, "FC Initialize End RequestId: "+reqID)
	in.current.Store(nil)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("the initializer did not finish within %d seconds", fn.InitializationTimeout)
		}
		return fc.Errorf(fc.CodeInitializationError, "The function's initializer failed on instance %s: %v. Logs : %s", in.id, err, in.tail.String())
	}
	return nil
}

// stopInstance runs the PreStop hook (bounded by its timeout), then stops
// the process (SIGTERM, SIGKILL when ctx ends) and forgets it.
func (m *Manager) stopInstance(ctx context.Context, in *inst, reason string) {
	select {
	case <-in.sb.Done():
	default:
		if h := in.p.fn.PreStop(); h != nil {
			reqID := fc.NewRequestID()
			hctx, cancel := context.WithTimeout(ctx, time.Duration(h.Timeout)*time.Second)
			in.current.Store(&reqID)
			m.marker(in, reqID, "FC PreStop Start RequestId: "+reqID)
			if err := m.hookRequest(hctx, in, http.MethodGet, fc.ControlPreStop, reqID); err != nil {
				m.log.Warn("pre-stop hook failed", "instance", in.id, "err", err)
			}
			syncOutput(in)
			m.marker(in, reqID, "FC PreStop End RequestId: "+reqID)
			in.current.Store(nil)
			cancel()
		}
	}
	if err := in.sb.Stop(ctx); err != nil {
		m.log.Warn("stopping instance", "instance", in.id, "err", err)
	}
	if m.unregisterOnce(in) {
		in.release() // the process is gone: its code or image may be collected
		m.giveBack(in.slot)
		m.opts.Metrics.exit(reason)
		m.log.Info("instance stopped", "function", in.p.key, "instance", in.id, "reason", reason)
	}
}

// unregisterOnce forgets in; it reports whether in was still registered.
func (m *Manager) unregisterOnce(in *inst) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byID[in.id] != in {
		return false
	}
	delete(m.byID, in.id)
	return true
}

// stopSoon stops in in the background with the stop grace period.
func (m *Manager) stopSoon(in *inst, reason string) {
	m.spawn(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(m.ctx), m.opts.StopGrace)
		defer cancel()
		m.stopInstance(ctx, in, reason)
	})
}

// watch waits for in's process to exit and takes it out of rotation.
func (m *Manager) watch(in *inst) {
	<-in.sb.Done()
	if in.p.exited(in) {
		m.log.Warn("instance exited unexpectedly", "function", in.p.key, "instance", in.id, "exit", in.sb.ExitErr(), "tail", lastLine(in.tail.String()))
		reason, why := "crashed", describe(in.sb.ExitErr())
		if errors.Is(in.sb.ExitErr(), sandbox.ErrOutOfMemory) {
			reason, why = "out of memory", fmt.Sprintf("killed by its memory limit: memorySize %d MB", in.p.fn.MemorySize)
		}
		m.appendLog(in, "", fmt.Sprintf("openfc: instance %s exited unexpectedly (%s)", in.id, why))
		ctx, cancel := context.WithTimeout(context.WithoutCancel(m.ctx), 5*time.Second)
		defer cancel()
		m.stopInstance(ctx, in, reason)
	}
}

func describe(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// loop reclaims idle instances and keeps provisioned targets until the
// manager shuts down.
func (m *Manager) loop() {
	every := min(m.opts.IdleTimeout/4, time.Second)
	tick := time.NewTicker(max(every, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case now := <-tick.C:
			m.reconcile(now)
		}
	}
}

// reconcile runs one pass of provisioning and idle reclaim.
func (m *Manager) reconcile(now time.Time) {
	targets := map[string]int{}
	if m.opts.ProvisionTargets != nil && m.opts.LookupFunction != nil {
		for _, t := range m.opts.ProvisionTargets() {
			if t.Target <= 0 {
				continue
			}
			fn, ok := m.opts.LookupFunction(t.Service, t.Function)
			if !ok {
				continue
			}
			p, err := m.poolFor(fn)
			if err != nil {
				return
			}
			targets[p.key] = t.Target
			p.provision(t.Target)
		}
	}
	for _, p := range m.poolList() {
		p.reclaimIdle(now, targets[p.key])
	}
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
