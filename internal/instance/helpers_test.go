package instance

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/logs"
	"github.com/openfc/openfc/internal/sandbox"
)

// Shared helpers for the scaling, lifecycle and logging tests. The fakes
// themselves (fakeSandbox, fakeInstance, fakeCode) live in manager_test.go.

// waitLimit bounds every poll: far above what any condition needs (a few
// milliseconds), far below the package's time budget.
const waitLimit = 3 * time.Second

// newMgr returns a Manager on a fakeSandbox (unless o.Sandbox is set),
// shut down when the test ends.
func newMgr(t *testing.T, o Options) (*Manager, *fakeSandbox) {
	t.Helper()
	var sb *fakeSandbox
	switch s := o.Sandbox.(type) {
	case nil:
		sb = &fakeSandbox{}
		o.Sandbox = sb
	case *fakeSandbox:
		sb = s
	case *countingSandbox:
		sb = &s.fakeSandbox
	}
	if o.Code == nil {
		o.Code = fakeCode{}
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 2 * time.Second
	}
	m := New(o)
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	return m, sb
}

func fnNamed(name string, conc int) *fc.Function {
	fn := testFn(conc)
	fn.FunctionName = name
	return fn
}

// waitFor polls cond until it holds, failing the test after waitLimit.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for: %s", waitLimit, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func mustAcquire(t *testing.T, m *Manager, fn *fc.Function, requestID string) *Lease {
	t.Helper()
	l, err := m.Acquire(context.Background(), fn, requestID)
	if err != nil {
		t.Fatalf("Acquire %s: %v", requestID, err)
	}
	return l
}

type acquired struct {
	l   *Lease
	err error
}

// acquireAsync runs Acquire in a goroutine; the result arrives on the
// returned channel.
func acquireAsync(m *Manager, ctx context.Context, fn *fc.Function, requestID string) <-chan acquired {
	ch := make(chan acquired, 1)
	go func() {
		l, err := m.Acquire(ctx, fn, requestID)
		ch <- acquired{l, err}
	}()
	return ch
}

// recv waits (bounded) for an asynchronous Acquire to return.
func recv(t *testing.T, ch <-chan acquired, what string) acquired {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(waitLimit):
		t.Fatalf("timed out after %v waiting for %s", waitLimit, what)
		return acquired{}
	}
}

// notYet asserts that an asynchronous Acquire has not returned.
func notYet(t *testing.T, ch <-chan acquired, what string) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("%s returned early: lease %v, err %v", what, r.l != nil, r.err)
	default:
	}
}

// fcErr asserts that err is an *fc.Error with the given code.
func fcErr(t *testing.T, err error, code fc.Code) *fc.Error {
	t.Helper()
	var fe *fc.Error
	if !errors.As(err, &fe) || fe.Code != code {
		t.Fatalf("got error %v; want fc.Error %s", err, code)
	}
	return fe
}

// poolOf returns the current pool of fn, or nil.
func poolOf(m *Manager, fn *fc.Function) *pool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pools[poolIDOf(fn)]
}

// queued is the number of requests waiting in fn's queue.
func queued(m *Manager, fn *fc.Function) int {
	p := poolOf(m, fn)
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.waiters)
}

func (f *fakeSandbox) setFail(err error) {
	f.mu.Lock()
	f.failStart = err
	f.mu.Unlock()
}

func (f *fakeSandbox) setDelay(d time.Duration) {
	f.mu.Lock()
	f.delay = d
	f.mu.Unlock()
}

func (f *fakeSandbox) all() []*fakeInstance {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*fakeInstance(nil), f.started...)
}

func (f *fakeSandbox) byID(id string) *fakeInstance {
	for _, in := range f.all() {
		if in.id == id {
			return in
		}
	}
	return nil
}

// running counts the fake instances not stopped and not exited.
func (f *fakeSandbox) running() int {
	n := 0
	for _, in := range f.all() {
		select {
		case <-in.done:
		default:
			n++
		}
	}
	return n
}

// countingSandbox counts every Start call, failed ones included.
type countingSandbox struct {
	fakeSandbox
	calls atomic.Int32
}

func (c *countingSandbox) Start(ctx context.Context, spec sandbox.Spec) (sandbox.Instance, error) {
	c.calls.Add(1)
	return c.fakeSandbox.Start(ctx, spec)
}

// fakeScaling answers per-function on-demand and provision settings.
type fakeScaling struct {
	mu  sync.Mutex
	cfg map[string]scalingCfg // by function name
	// asked records the (service, qualifier, function) queries.
	asked map[string]bool
}

type scalingCfg struct {
	limit  int
	set    bool
	target int
}

func (s *fakeScaling) put(function string, c scalingCfg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg == nil {
		s.cfg = map[string]scalingCfg{}
	}
	s.cfg[function] = c
}

func (s *fakeScaling) get(service, qualifier, function string) scalingCfg {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.asked == nil {
		s.asked = map[string]bool{}
	}
	s.asked[service+"#"+qualifier+"#"+function] = true
	return s.cfg[function]
}

func (s *fakeScaling) Scaling(service, qualifier, function string) (int, int) {
	c := s.get(service, qualifier, function)
	return c.limit, c.target
}

func (s *fakeScaling) OnDemandMax(service, qualifier, function string) (int, bool) {
	c := s.get(service, qualifier, function)
	return c.limit, c.set
}

func (s *fakeScaling) wasAsked(service, qualifier, function string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked[service+"#"+qualifier+"#"+function]
}

// fakeSink records what the manager appends and answers Invocation with
// a canned tail.
type fakeSink struct {
	mu      sync.Mutex
	records []logs.Record
	tail    []byte
	asked   []string // "function|requestID|maxBytes"
}

func (s *fakeSink) Append(r logs.Record) {
	s.mu.Lock()
	s.records = append(s.records, r)
	s.mu.Unlock()
}

func (s *fakeSink) Invocation(function, requestID string, maxBytes int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, function+"|"+requestID+"|"+strconv.Itoa(maxBytes))
	return s.tail
}

func (s *fakeSink) all() []logs.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]logs.Record(nil), s.records...)
}

// find returns the records whose message is msg.
func (s *fakeSink) find(msg string) []logs.Record {
	var out []logs.Record
	for _, r := range s.all() {
		if r.Message == msg {
			out = append(out, r)
		}
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// managerGoroutines returns the goroutines created by the package's
// non-test code (the manager's loops, cold starts, watchers, stoppers),
// with their stacks for a failure message.
func managerGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		sc := bufio.NewScanner(strings.NewReader(g))
		for sc.Scan() {
			if !strings.HasPrefix(sc.Text(), "created by ") {
				continue
			}
			if !sc.Scan() {
				break
			}
			file := strings.TrimSpace(sc.Text())
			if i := strings.LastIndexByte(file, ':'); i >= 0 {
				file = file[:i]
			}
			if strings.Contains(file, "/internal/instance/") && !strings.HasSuffix(file, "_test.go") {
				out = append(out, g)
			}
		}
	}
	return out
}
