package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openfc/openfc/pkg/client"
)

// The instance manager end to end: scaling caps and the request queue,
// idle reclaim with the PreStop hook, provisioned instances, custom health
// checks, the initializer, timeouts, crashes and crash-loop backoff,
// instance logs and client disconnects. The function is
// testdata/lifecycle/server.py; it keeps its state (initializer calls,
// PreStop calls, health switches) in files under $ECHO_STATE_DIR.

// lcFunc is one deployment of the lifecycle function.
type lcFunc struct {
	svc, fn     string
	concurrency int               // default 1
	timeout     int               // seconds; default 20
	command     string            // YAML flow list; default [python3, server.py]
	env         map[string]string // besides ECHO_STATE_DIR
	// props are extra function props, one per line, written at the
	// props' indentation (nested lines indent further by themselves).
	props string
}

// lcCLI runs an openfc subcommand against s like server.tryCLI, but
// without the race runtime's pause at exit (GORACE atexit_sleep_ms
// defaults to 1 s, and the binary is built with -race): the tests poll
// the CLI.
func (s *server) lcCLI(args ...string) (string, error) {
	cmd := exec.Command(binary, append([]string{"--endpoint", s.URL}, args...)...)
	cmd.Env = testEnv("GORACE=atexit_sleep_ms=0")
	cmd.Dir = repoRoot()
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (s *server) lcMustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := s.lcCLI(args...)
	if err != nil {
		t.Fatalf("openfc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// lcDeploy deploys f with an fc3 s.yaml and returns its state directory.
func (s *server) lcDeploy(f lcFunc) string {
	s.t.Helper()
	if f.concurrency == 0 {
		f.concurrency = 1
	}
	if f.timeout == 0 {
		f.timeout = 20
	}
	if f.command == "" {
		f.command = "[python3, server.py]"
	}
	dir := s.t.TempDir()
	env := map[string]string{"ECHO_STATE_DIR": dir}
	for k, v := range f.env {
		env[k] = v
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var envYAML strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&envYAML, "        %s: %q\n", k, env[k])
	}
	var props strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(f.props), "\n") {
		if line != "" {
			props.WriteString("      " + line + "\n")
		}
	}
	s.lcMustCLI(s.t, "deploy", "-f", writeYAML(s.t, fmt.Sprintf(`edition: 3.0.0
name: %s
resources:
  fn:
    component: fc3
    props:
      region: cn-hangzhou
      functionName: %s
      runtime: custom.debian10
      code: %s
      timeout: %d
      instanceConcurrency: %d
      customRuntimeConfig:
        command: %s
        port: 9000
      environmentVariables:
%s%s      triggers:
        - triggerName: http
          triggerType: http
          triggerConfig:
            authType: anonymous
            methods: [GET, POST]
`, f.svc, f.fn, filepath.Join(repoRoot(), "test/e2e/testdata/lifecycle"), f.timeout, f.concurrency, f.command,
		envYAML.String(), props.String())))
	return dir
}

// lcReply is what the lifecycle function answers.
type lcReply struct {
	Instance  string `json:"instance"`
	PID       int    `json:"pid"`
	InitCount int    `json:"initCount"`
	Path      string `json:"path"`
}

// lcResult is one call's outcome.
type lcResult struct {
	status int
	header http.Header
	body   []byte
	reply  lcReply // when status is 200
	err    error   // transport error or an undecodable 200
	took   time.Duration
}

// lcCall sends GET path to svc/fn through the proxy URL, bounded by
// timeout. It never fails the test, so goroutines may use it.
func (s *server) lcCall(svc, fn, path string, header http.Header, timeout time.Duration) lcResult {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return s.lcCallCtx(ctx, svc, fn, path, header)
}

func (s *server) lcCallCtx(ctx context.Context, svc, fn, path string, header http.Header) lcResult {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, "GET", s.URL+"/2016-08-15/proxy/"+svc+"/"+fn+path, nil)
	if err != nil {
		return lcResult{err: err}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return lcResult{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	r := lcResult{status: resp.StatusCode, header: resp.Header, body: body, err: err, took: time.Since(start)}
	if err == nil && resp.StatusCode == 200 {
		if jerr := json.Unmarshal(body, &r.reply); jerr != nil || r.reply.Instance == "" {
			r.err = fmt.Errorf("200 body is not the lifecycle function's JSON: %q", body)
		}
	}
	return r
}

// lcMust calls path and requires a 200 from the function.
func (s *server) lcMust(t *testing.T, svc, fn, path string) lcReply {
	t.Helper()
	r := s.lcCall(svc, fn, path, nil, 30*time.Second)
	if r.err != nil || r.status != 200 {
		t.Fatalf("GET %s/%s%s: status %d err %v body %s", svc, fn, path, r.status, r.err, r.body)
	}
	return r.reply
}

// lcCheckError checks that r is FC's error with the given status, code and
// error type, and that its message holds every msg.
func lcCheckError(t *testing.T, what string, r lcResult, status int, code, errType string, msg ...string) fcError {
	t.Helper()
	if r.err != nil {
		t.Fatalf("%s: %v", what, r.err)
	}
	resp := &http.Response{StatusCode: r.status, Header: r.header}
	return checkPlatformError(t, what, resp, r.body, status, code, errType, msg...)
}

// lcInstances lists a function's instances with `openfc instances --json`.
func (s *server) lcInstances(ref string) ([]client.Instance, error) {
	out, err := s.lcCLI("instances", ref, "--json")
	if err != nil {
		return nil, fmt.Errorf("openfc instances %s: %v: %s", ref, err, out)
	}
	var list []client.Instance
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return nil, fmt.Errorf("openfc instances %s --json: %v: %q", ref, err, out)
	}
	return list, nil
}

func (s *server) lcMustInstances(t *testing.T, ref string) []client.Instance {
	t.Helper()
	list, err := s.lcInstances(ref)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func lcIDs(list []client.Instance) []string {
	var ids []string
	for _, in := range list {
		ids = append(ids, in.InstanceID+"("+in.State+")")
	}
	return ids
}

func lcHas(list []client.Instance, id string) bool {
	for _, in := range list {
		if in.InstanceID == id {
			return true
		}
	}
	return false
}

// lcLogLine is one line of `openfc logs` text output:
// <time> <instance> <request id or -> <message>.
type lcLogLine struct {
	instance, requestID, message string
}

// lcLogs runs `openfc logs ref args…` and returns its lines, raw and
// split.
func (s *server) lcLogs(t *testing.T, ref string, args ...string) (string, []lcLogLine) {
	t.Helper()
	out := s.lcMustCLI(t, append([]string{"logs", ref}, args...)...)
	var lines []lcLogLine
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if l == "" {
			continue
		}
		f := strings.SplitN(l, " ", 4)
		if len(f) < 4 {
			t.Fatalf("openfc logs line %q is not <time> <instance> <request> <message>", l)
		}
		lines = append(lines, lcLogLine{instance: f[1], requestID: f[2], message: f[3]})
	}
	return out, lines
}

// lcGone waits until no process carries FC_INSTANCE_ID=id.
func lcGone(t *testing.T, id string, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, func() error {
		if pids := processesWithEnv("FC_INSTANCE_ID=" + id); len(pids) > 0 {
			return fmt.Errorf("instance %s still has processes %v", id, pids)
		}
		return nil
	})
}

// lcBurst fires n concurrent GETs of path and returns every outcome.
func (s *server) lcBurst(svc, fn, path string, n int, timeout time.Duration) []lcResult {
	out := make([]lcResult, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = s.lcCall(svc, fn, path, nil, timeout)
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// lcSampler lists a function's instances until stopped and keeps the
// largest count seen.
type lcSampler struct {
	mu      sync.Mutex
	max     int
	maxList []string
	samples int
	errs    []error
	stop    chan struct{}
	done    chan struct{}
}

func (s *server) lcSample(ref string) *lcSampler {
	sm := &lcSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(sm.done)
		for {
			list, err := s.lcInstances(ref)
			sm.mu.Lock()
			if err != nil {
				sm.errs = append(sm.errs, err)
			} else {
				sm.samples++
				if len(list) > sm.max {
					sm.max, sm.maxList = len(list), lcIDs(list)
				}
			}
			sm.mu.Unlock()
			select {
			case <-sm.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return sm
}

func (sm *lcSampler) finish() {
	close(sm.stop)
	<-sm.done
}

// lcBurstCheck checks a burst's outcomes: each is a 200 from the function
// or FC's 429 ResourceThrottled, within the bound; it returns the 200s'
// distinct instances and the number of 429s.
func lcBurstCheck(t *testing.T, results []lcResult, bound time.Duration) (map[string]int, int) {
	t.Helper()
	instances := map[string]int{}
	throttled := 0
	for i, r := range results {
		switch {
		case r.err != nil:
			t.Errorf("request %d: no answer within %v: %v", i, bound, r.err)
		case r.status == 200:
			instances[r.reply.Instance]++
		case r.status == 429:
			throttled++
			lcCheckError(t, fmt.Sprintf("request %d", i), r, 429, "ResourceThrottled", "FcCommonError")
		default:
			t.Errorf("request %d: status %d %s; want 200 or 429", i, r.status, r.body)
		}
		if r.took > bound {
			t.Errorf("request %d took %v; the bound is %v", i, r.took, bound)
		}
	}
	return instances, throttled
}

// 50 concurrent requests to a function of concurrency 1 capped at 5
// on-demand instances: the cap holds at every moment and every request is
// answered.
func TestBurst(t *testing.T) {
	s := startServer(t, "")
	s.lcDeploy(lcFunc{svc: "burst", fn: "fn"})
	if out := s.lcMustCLI(t, "scaling", "set", "burst/fn", "--max", "5"); !strings.Contains(out, "on-demand max instances: 5") {
		t.Fatalf("scaling set --max 5 printed:\n%s", out)
	}
	sm := s.lcSample("burst/fn")
	began := time.Now()
	results := s.lcBurst("burst", "fn", "/sleep?ms=300", 50, 30*time.Second)
	took := time.Since(began)
	sm.finish()
	instances, throttled := lcBurstCheck(t, results, 30*time.Second)
	t.Logf("50 requests in %v: %d instances %v, %d throttled; %d instance listings, largest %v", took, len(instances), instances, throttled, sm.samples, sm.maxList)
	if len(instances) > 5 {
		t.Errorf("the 200s came from %d instances %v; the on-demand cap is 5", len(instances), instances)
	}
	if len(instances) < 2 {
		t.Errorf("50 concurrent requests were served by %d instance(s); the function should have scaled out (cap 5)", len(instances))
	}
	// The default queue (100 deep, 30 s) holds the 45 requests beyond the
	// 5 instances.
	if throttled != 0 {
		t.Errorf("%d requests were throttled with the default queue (depth 100, timeout 30s)", throttled)
	}
	if len(sm.errs) > 0 {
		t.Errorf("openfc instances failed during the burst: %v", sm.errs[0])
	}
	if sm.samples == 0 {
		t.Errorf("openfc instances was never sampled during the burst")
	}
	if sm.max > 5 {
		t.Errorf("openfc instances showed %d instances during the burst: %v; the cap is 5", sm.max, sm.maxList)
	}
	if list := s.lcMustInstances(t, "burst/fn"); len(list) > 5 {
		t.Errorf("after the burst openfc instances shows %d: %v", len(list), lcIDs(list))
	}
}

// With a short queue the same burst is throttled: 429 ResourceThrottled,
// fast, while the cap still holds.
func TestBurstQueueThrottles(t *testing.T) {
	s := startServer(t, "", "--queue-depth", "5", "--queue-timeout", "500ms")
	s.lcDeploy(lcFunc{svc: "burstq", fn: "fn"})
	s.lcMustCLI(t, "scaling", "set", "burstq/fn", "--max", "5")
	sm := s.lcSample("burstq/fn")
	began := time.Now()
	results := s.lcBurst("burstq", "fn", "/sleep?ms=300", 50, 30*time.Second)
	took := time.Since(began)
	sm.finish()
	instances, throttled := lcBurstCheck(t, results, 30*time.Second)
	t.Logf("50 requests in %v: %d instances %v, %d throttled; largest listing %v", took, len(instances), instances, throttled, sm.maxList)
	if throttled == 0 {
		t.Errorf("no request was throttled with --queue-depth 5 --queue-timeout 500ms and 50 concurrent requests for 5 instances")
	}
	// The queue timeout also bounds the wait for a cold start, so on a
	// slow machine every request of the burst may be throttled; the
	// instances it started then serve the next requests.
	waitFor(t, 10*time.Second, func() error {
		if r := s.lcCall("burstq", "fn", "/", nil, 30*time.Second); r.err != nil || r.status != 200 {
			return fmt.Errorf("after the burst: status %d err %v %s; want 200", r.status, r.err, r.body)
		}
		return nil
	})
	if len(instances) > 5 || sm.max > 5 {
		t.Errorf("%d instances served and up to %d were listed (%v); the cap is 5", len(instances), sm.max, sm.maxList)
	}
	// Nothing waits longer than the queue timeout: a request is either
	// throttled at once (queue full), after 500 ms in the queue, or served
	// once a slot frees; no answer needs more than a few seconds.
	if took > 15*time.Second {
		t.Errorf("the throttled burst took %v", took)
	}
}

// An idle instance is stopped after --idle-timeout, running its PreStop
// hook first; a request in flight keeps its instance.
func TestIdleReclaim(t *testing.T) {
	s := startServer(t, "", "--idle-timeout", "2s")
	dir := s.lcDeploy(lcFunc{svc: "idle", fn: "fn", props: `
instanceLifecycleConfig:
  preStop: {handler: x, timeout: 3}`})
	a := s.lcMust(t, "idle", "fn", "/")

	// A 4 s request outlives the 2 s idle timeout on the same instance.
	long := make(chan lcResult, 1)
	go func() { long <- s.lcCall("idle", "fn", "/sleep?ms=4000", nil, 20*time.Second) }()
	time.Sleep(3 * time.Second)
	list := s.lcMustInstances(t, "idle/fn")
	if len(list) != 1 || list[0].InstanceID != a.Instance || list[0].InFlight != 1 {
		t.Errorf("3 s into a 4 s request (idle timeout 2 s) openfc instances shows %+v; want %s with 1 in flight", list, a.Instance)
	}
	r := <-long
	if r.err != nil || r.status != 200 || r.reply.Instance != a.Instance {
		t.Fatalf("the 4 s request: status %d err %v instance %q body %s; want 200 from %s", r.status, r.err, r.reply.Instance, r.body, a.Instance)
	}
	ended := time.Now()

	// Not before the idle timeout…
	time.Sleep(time.Second)
	if list := s.lcMustInstances(t, "idle/fn"); !lcHas(list, a.Instance) {
		t.Errorf("1 s after its last request (idle timeout 2 s) the instance is gone: %v", lcIDs(list))
	}
	// …but soon after it.
	waitFor(t, 10*time.Second, func() error {
		list, err := s.lcInstances("idle/fn")
		if err != nil {
			return err
		}
		if len(list) > 0 {
			return fmt.Errorf("instances still listed: %v", lcIDs(list))
		}
		return nil
	})
	t.Logf("reclaimed %v after its last request", time.Since(ended).Round(100*time.Millisecond))
	lcGone(t, a.Instance, 15*time.Second)
	b, err := os.ReadFile(filepath.Join(dir, "prestop"))
	if err != nil || strings.Count(string(b), "prestop "+a.Instance+"\n") != 1 {
		t.Errorf("the PreStop hook's record: %q (%v); want one line \"prestop %s\"", b, err, a.Instance)
	}
	out, lines := s.lcLogs(t, "idle/fn", "--instance", a.Instance)
	var startID, endID string
	for _, l := range lines {
		if id, ok := strings.CutPrefix(l.message, "FC PreStop Start RequestId: "); ok {
			startID = id
			if l.requestID != id {
				t.Errorf("PreStop Start line is tagged %q; want its request id %q", l.requestID, id)
			}
		}
		if id, ok := strings.CutPrefix(l.message, "FC PreStop End RequestId: "); ok {
			endID = id
		}
	}
	if startID == "" || endID != startID {
		t.Errorf("openfc logs lacks matching FC PreStop Start/End markers:\n%s", out)
	}
}

// Provisioned instances start without a request, survive the idle
// timeout, are replaced when killed, and go away once the target is 0.
func TestProvisioned(t *testing.T) {
	s := startServer(t, "", "--idle-timeout", "2s")
	dir := s.lcDeploy(lcFunc{svc: "prov", fn: "fn"})
	s.lcMustCLI(t, "scaling", "set", "prov/fn", "--provision", "2")
	ready := func(list []client.Instance) []string {
		var ids []string
		for _, in := range list {
			if in.State == "Ready" && in.Provisioned {
				ids = append(ids, in.InstanceID)
			}
		}
		return ids
	}
	var ids []string
	waitFor(t, 30*time.Second, func() error {
		list, err := s.lcInstances("prov/fn")
		if err != nil {
			return err
		}
		if ids = ready(list); len(ids) != 2 || len(list) != 2 {
			return fmt.Errorf("instances %v; want 2 Ready and provisioned", lcIDs(list))
		}
		return nil
	})
	if out := s.lcMustCLI(t, "scaling", "get", "prov/fn"); !strings.Contains(out, "target 2, current 2") {
		t.Errorf("openfc scaling get with 2 provisioned instances:\n%s", out)
	}
	for _, in := range s.lcMustInstances(t, "prov/fn") {
		if in.RequestsServed != 0 {
			t.Errorf("provisioned instance %s served %d requests before any was sent", in.InstanceID, in.RequestsServed)
		}
	}
	// Past the idle timeout they are still the same two.
	time.Sleep(3 * time.Second)
	if got := ready(s.lcMustInstances(t, "prov/fn")); strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Errorf("after 3 s idle (idle timeout 2 s) the provisioned instances are %v; want %v", got, ids)
	}
	// A request is served warm by one of them.
	if r := s.lcMust(t, "prov", "fn", "/"); r.Instance != ids[0] && r.Instance != ids[1] {
		t.Errorf("request served by %s; want one of the provisioned %v", r.Instance, ids)
	}

	// Killing one brings a replacement.
	pids := processesWithEnv("FC_INSTANCE_ID=" + ids[0])
	if len(pids) == 0 {
		t.Fatalf("no process carries FC_INSTANCE_ID=%s", ids[0])
	}
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	waitFor(t, 30*time.Second, func() error {
		list, err := s.lcInstances("prov/fn")
		if err != nil {
			return err
		}
		got := ready(list)
		if len(got) != 2 || len(list) != 2 || lcHas(list, ids[0]) || !lcHas(list, ids[1]) {
			return fmt.Errorf("instances %v; want %s and a replacement of the killed %s, both provisioned", lcIDs(list), ids[1], ids[0])
		}
		return nil
	})
	lcGone(t, ids[0], 10*time.Second)

	// Target 0: they become ordinary idle instances and are reclaimed.
	s.lcMustCLI(t, "scaling", "set", "prov/fn", "--provision", "0")
	waitFor(t, 20*time.Second, func() error {
		list, err := s.lcInstances("prov/fn")
		if err != nil {
			return err
		}
		if len(list) > 0 {
			return fmt.Errorf("instances still listed after --provision 0: %v", lcIDs(list))
		}
		return nil
	})
	waitFor(t, 15*time.Second, func() error {
		if pids := processesWithEnv("ECHO_STATE_DIR=" + dir); len(pids) > 0 {
			return fmt.Errorf("instance processes %v remain", pids)
		}
		return nil
	})
}

// A custom health check replaces an instance that fails it; a function
// that never passes it never becomes ready.
func TestHealthCheck(t *testing.T) {
	s := startServer(t, "", "--start-timeout", "3s")
	const hc = `customHealthCheckConfig: {httpGetUrl: /healthz, periodSeconds: 1, failureThreshold: 2, timeoutSeconds: 1}`
	dir := s.lcDeploy(lcFunc{svc: "hc", fn: "fn", props: hc})
	a := s.lcMust(t, "hc", "fn", "/")
	if err := os.WriteFile(filepath.Join(dir, "unhealthy-"+a.Instance), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	marked := time.Now()
	waitFor(t, 15*time.Second, func() error {
		list, err := s.lcInstances("hc/fn")
		if err != nil {
			return err
		}
		if lcHas(list, a.Instance) {
			return fmt.Errorf("unhealthy instance %s still listed", a.Instance)
		}
		return nil
	})
	t.Logf("unhealthy instance taken out %v after its /healthz started failing", time.Since(marked).Round(100*time.Millisecond))
	if b := s.lcMust(t, "hc", "fn", "/"); b.Instance == a.Instance {
		t.Errorf("after %s failed its health checks it still serves", a.Instance)
	}
	lcGone(t, a.Instance, 15*time.Second)
	want := fmt.Sprintf("openfc: instance %s failed 2 health checks in a row", a.Instance)
	if out, _ := s.lcLogs(t, "hc/fn"); !strings.Contains(out, want) {
		t.Errorf("openfc logs lacks %q:\n%s", want, out)
	}

	// Unhealthy from the start: FunctionNotStarted after --start-timeout.
	tag := "sick-" + rand.Text()
	sick := s.lcDeploy(lcFunc{svc: "hc", fn: "sick", props: hc, env: map[string]string{"ECHO_TAG": tag}})
	if err := os.WriteFile(filepath.Join(sick, "unhealthy-all"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := s.lcCall("hc", "sick", "/", nil, 30*time.Second)
	lcCheckError(t, "never healthy", r, 502, "FunctionNotStarted", "UnhandledInvocationError", "/healthz", "503")
	if r.took < 2500*time.Millisecond || r.took > 10*time.Second {
		t.Errorf("FunctionNotStarted came after %v; want about the 3 s start timeout", r.took)
	}
	t.Logf("never-healthy function answered %d after %v", r.status, r.took.Round(100*time.Millisecond))
	if list := s.lcMustInstances(t, "hc/sick"); len(list) > 0 {
		t.Errorf("the never-ready function lists instances %v", lcIDs(list))
	}
	waitFor(t, 15*time.Second, func() error {
		if pids := processesWithEnv("ECHO_TAG=" + tag); len(pids) > 0 {
			return fmt.Errorf("the never-ready instance's processes %v remain", pids)
		}
		return nil
	})
}

// The initializer runs once per instance, before its first request; a
// failing initializer answers InitializationError and its instance goes.
func TestInitializerOnce(t *testing.T) {
	s := startServer(t, "")
	dir := s.lcDeploy(lcFunc{svc: "init", fn: "fn", concurrency: 3,
		env: map[string]string{"INIT_SLEEP_MS": "300"},
		props: `
instanceLifecycleConfig:
  initializer: {handler: index.init, timeout: 10}`})
	served := map[string]int{}
	for i := 0; i < 10; i++ {
		r := s.lcMust(t, "init", "fn", "/")
		served[r.Instance]++
		if r.InitCount != 1 {
			t.Errorf("sequential request %d: instance %s reports %d initializer calls; want 1", i, r.Instance, r.InitCount)
		}
	}
	for i, r := range s.lcBurst("init", "fn", "/sleep?ms=500", 6, 30*time.Second) {
		if r.err != nil || r.status != 200 {
			t.Errorf("concurrent request %d: status %d err %v %s", i, r.status, r.err, r.body)
			continue
		}
		served[r.reply.Instance]++
		if r.reply.InitCount != 1 {
			t.Errorf("concurrent request %d: instance %s reports %d initializer calls; want 1", i, r.reply.Instance, r.reply.InitCount)
		}
	}
	// A second instance may still be starting (its initializer running):
	// wait until every listed instance is ready, so that the markers and
	// the list are read at one moment.
	var list []client.Instance
	waitFor(t, 15*time.Second, func() error {
		list = s.lcMustInstances(t, "init/fn")
		for _, in := range list {
			if in.State == "Starting" {
				return fmt.Errorf("instance %s still starting", in.InstanceID)
			}
		}
		return nil
	})
	t.Logf("served by %v; listed %v", served, lcIDs(list))
	if len(list) < 2 {
		t.Errorf("6 concurrent 500 ms requests with concurrency 3 left %d instance(s); a second should have started", len(list))
	}
	ids := map[string]bool{}
	for id := range served {
		ids[id] = true
	}
	for _, in := range list {
		if in.State != "Starting" { // a start still under way has no id and no initializer run yet
			ids[in.InstanceID] = true
		}
	}
	out, lines := s.lcLogs(t, "init/fn")
	starts := map[string]int{}
	for _, l := range lines {
		if strings.HasPrefix(l.message, "FC Initialize Start RequestId: ") {
			starts[l.instance]++
		}
	}
	for id := range ids {
		if starts[id] != 1 {
			t.Errorf("instance %s has %d \"FC Initialize Start\" lines; want 1", id, starts[id])
		}
		if b, err := os.ReadFile(filepath.Join(dir, "init-"+id)); err != nil || string(b) != "1" {
			t.Errorf("instance %s: initializer call count file %q (%v); want 1", id, b, err)
		}
	}
	if len(starts) != len(ids) {
		t.Errorf("Initialize markers on %v; instances %v:\n%s", starts, ids, out)
	}

	// An initializer slower than its timeout.
	slow := s.lcDeploy(lcFunc{svc: "init", fn: "slow", env: map[string]string{"INIT_SLEEP_MS": "5000"}, props: `
instanceLifecycleConfig:
  initializer: {handler: index.init, timeout: 1}`})
	r := s.lcCall("init", "slow", "/", nil, 30*time.Second)
	lcCheckError(t, "slow initializer", r, 502, "InitializationError", "UnhandledInvocationError", "1 second")
	if r.took > 3*time.Second {
		t.Errorf("the initializer with timeout 1 s failed after %v", r.took)
	}
	t.Logf("initializer timeout answered after %v", r.took.Round(10*time.Millisecond))
	waitFor(t, 15*time.Second, func() error {
		if pids := processesWithEnv("ECHO_STATE_DIR=" + slow); len(pids) > 0 {
			return fmt.Errorf("processes %v of the timed-out initializer remain", pids)
		}
		return nil
	})

	// A failing initializer.
	tag := "initfail-" + rand.Text()
	s.lcDeploy(lcFunc{svc: "init", fn: "bad", env: map[string]string{"INIT_FAIL": "1", "ECHO_TAG": tag}, props: `initializer: index.init`})
	r = s.lcCall("init", "bad", "/", nil, 30*time.Second)
	e := lcCheckError(t, "failing initializer", r, 502, "InitializationError", "UnhandledInvocationError", "initializer failing on purpose")
	m := regexp.MustCompile(`instance (c-[0-9a-f]+)`).FindStringSubmatch(e.ErrorMessage)
	if m == nil {
		t.Fatalf("the InitializationError message does not name the instance: %q", e.ErrorMessage)
	}
	lcGone(t, m[1], 15*time.Second)
	if pids := processesWithEnv("ECHO_TAG=" + tag); len(pids) > 0 {
		t.Errorf("processes %v of the failed function remain", pids)
	}
	if list := s.lcMustInstances(t, "init/bad"); len(list) > 0 {
		t.Errorf("the failed instance is listed: %v", lcIDs(list))
	}
}

// The function's timeout ends a slow or hung request with FunctionTimeout
// and the next request works.
func TestTimeout(t *testing.T) {
	s := startServer(t, "")
	s.lcDeploy(lcFunc{svc: "to", fn: "fn", timeout: 2})
	s.lcMust(t, "to", "fn", "/")
	for _, path := range []string{"/sleep?ms=5000", "/hang"} {
		r := s.lcCall("to", "fn", path, nil, 30*time.Second)
		lcCheckError(t, path, r, 502, "FunctionTimeout", "UnhandledInvocationError")
		if r.took < 1800*time.Millisecond || r.took > 3500*time.Millisecond {
			t.Errorf("%s: FunctionTimeout after %v; want about the 2 s timeout", path, r.took)
		}
		t.Logf("%s: %d after %v", path, r.status, r.took.Round(10*time.Millisecond))
		next := s.lcCall("to", "fn", "/", nil, 10*time.Second)
		if next.err != nil || next.status != 200 {
			t.Errorf("after the %s timeout: status %d err %v %s", path, next.status, next.err, next.body)
		} else if next.took > 2*time.Second {
			t.Errorf("after the %s timeout the next request took %v", path, next.took)
		}
	}
}

// A crash answers ProcessExited and the next request gets a new instance;
// a function that exits at once answers FunctionNotStarted and, after 3
// failures, backs off instead of spinning.
func TestCrashBackoff(t *testing.T) {
	s := startServer(t, "")
	s.lcDeploy(lcFunc{svc: "crash", fn: "fn"})
	a := s.lcMust(t, "crash", "fn", "/")
	r := s.lcCall("crash", "fn", "/crash", nil, 30*time.Second)
	lcCheckError(t, "crash", r, 502, "ProcessExited", "UnhandledInvocationError", "exit status 3")
	b := s.lcMust(t, "crash", "fn", "/")
	if b.Instance == a.Instance || b.PID == a.PID {
		t.Errorf("after the crash %s (pid %d) answered; want a new instance", b.Instance, b.PID)
	}
	for _, in := range s.lcMustInstances(t, "crash/fn") {
		if in.InstanceID == b.Instance && in.Restarts < 1 {
			t.Errorf("instance %s after a crash reports %d restarts", in.InstanceID, in.Restarts)
		}
	}
	lcGone(t, a.Instance, 10*time.Second)

	s.lcDeploy(lcFunc{svc: "crash", fn: "dying", command: `[sh, -c, "echo dying; exit 1"]`})
	for i := 1; i <= 3; i++ {
		r := s.lcCall("crash", "dying", "/", nil, 30*time.Second)
		lcCheckError(t, fmt.Sprintf("start %d", i), r, 502, "FunctionNotStarted", "UnhandledInvocationError", "dying")
		t.Logf("failed start %d answered after %v", i, r.took.Round(time.Millisecond))
	}
	for i := 1; i <= 3; i++ {
		r := s.lcCall("crash", "dying", "/", nil, 30*time.Second)
		e := lcCheckError(t, fmt.Sprintf("request %d in backoff", i), r, 502, "FunctionNotStarted", "UnhandledInvocationError", "next attempt", "dying")
		if r.took > 200*time.Millisecond {
			t.Errorf("request %d in backoff took %v; want a fast answer (< 200 ms): %s", i, r.took, e.ErrorMessage)
		}
	}
	if list := s.lcMustInstances(t, "crash/dying"); len(list) > 0 {
		t.Errorf("the crash-looping function lists instances %v", lcIDs(list))
	}
}

// openfc logs: invocation markers and output by request, by instance,
// --tail, --follow; and X-Fc-Log-Type: Tail.
func TestLogs(t *testing.T) {
	s := startServer(t, "")
	s.lcDeploy(lcFunc{svc: "logs", fn: "fn"})
	hello := "hello-" + rand.Text()
	r := s.lcCall("logs", "fn", "/print?msg="+hello, nil, 30*time.Second)
	if r.err != nil || r.status != 200 {
		t.Fatalf("print: %d %v %s", r.status, r.err, r.body)
	}
	id := r.header.Get("X-Fc-Request-Id")
	want := []string{"FC Invoke Start RequestId: " + id, hello, "FC Invoke End RequestId: " + id}
	var out string
	var lines []lcLogLine
	waitFor(t, 5*time.Second, func() error {
		out, lines = s.lcLogs(t, "logs/fn", "--request-id", id)
		var got []string
		for _, l := range lines {
			got = append(got, l.message)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			return fmt.Errorf("openfc logs --request-id %s:\n%s\nwant the messages %q", id, out, want)
		}
		return nil
	})
	for _, l := range lines {
		if l.requestID != id || l.instance != r.reply.Instance {
			t.Errorf("line %q: instance %s request %s; want %s %s", l.message, l.instance, l.requestID, r.reply.Instance, id)
		}
	}

	// Two instances: --instance keeps one's records.
	// Long enough that the second request's cold start (slow on a busy
	// machine) ends before the first instance is free again.
	two := s.lcBurst("logs", "fn", "/sleep?ms=2500", 2, 30*time.Second)
	byInst := map[string]string{} // instance → request id
	for _, x := range two {
		if x.err != nil || x.status != 200 {
			t.Fatalf("concurrent sleep: %d %v %s", x.status, x.err, x.body)
		}
		byInst[x.reply.Instance] = x.header.Get("X-Fc-Request-Id")
	}
	if len(byInst) != 2 {
		t.Fatalf("2 concurrent requests (concurrency 1) were served by %v", byInst)
	}
	for inst, reqID := range byInst {
		out, lines := s.lcLogs(t, "logs/fn", "--instance", inst)
		if !strings.Contains(out, "FC Invoke Start RequestId: "+reqID) {
			t.Errorf("openfc logs --instance %s lacks its request %s:\n%s", inst, reqID, out)
		}
		for other, otherID := range byInst {
			if other != inst && strings.Contains(out, otherID) {
				t.Errorf("openfc logs --instance %s shows the other instance's request %s:\n%s", inst, otherID, out)
			}
		}
		for _, l := range lines {
			if l.instance != inst {
				t.Errorf("openfc logs --instance %s printed a line of %s: %q", inst, l.instance, l.message)
			}
		}
	}

	// --tail 1 is the last record.
	all, allLines := s.lcLogs(t, "logs/fn")
	tail, tailLines := s.lcLogs(t, "logs/fn", "--tail", "1")
	if len(tailLines) != 1 || len(allLines) == 0 || tailLines[0] != allLines[len(allLines)-1] {
		t.Errorf("openfc logs --tail 1:\n%s\nwant the last line of:\n%s", tail, all)
	}

	// --follow prints new records as they come.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--endpoint", s.URL, "logs", "logs/fn", "--follow")
	cmd.Env = testEnv("GORACE=atexit_sleep_ms=0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	followed := make(chan string, 1024)
	go func() {
		defer close(followed)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			followed <- sc.Text()
		}
	}()
	awaitLine := func(sub string, d time.Duration) error {
		timer := time.NewTimer(d)
		defer timer.Stop()
		for {
			select {
			case l, ok := <-followed:
				if !ok {
					return fmt.Errorf("openfc logs --follow ended before printing %q", sub)
				}
				if strings.Contains(l, sub) {
					return nil
				}
			case <-timer.C:
				return fmt.Errorf("openfc logs --follow did not print %q within %v", sub, d)
			}
		}
	}
	// The backlog first (so the stream is open), then a new line.
	if err := awaitLine(hello, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	later := "follow-" + rand.Text()
	if r := s.lcCall("logs", "fn", "/print?msg="+later, nil, 30*time.Second); r.status != 200 {
		t.Fatalf("print: %d %v %s", r.status, r.err, r.body)
	}
	if err := awaitLine(later, 10*time.Second); err != nil {
		t.Error(err)
	}
	cancel()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Errorf("openfc logs --follow did not end after its context was cancelled")
	}

	// X-Fc-Log-Type: Tail.
	tailMsg := "tail-" + rand.Text()
	r = s.lcCall("logs", "fn", "/print?msg="+tailMsg, http.Header{"X-Fc-Log-Type": {"Tail"}}, 30*time.Second)
	if r.status != 200 {
		t.Fatalf("print with X-Fc-Log-Type: Tail: %d %v %s", r.status, r.err, r.body)
	}
	id = r.header.Get("X-Fc-Request-Id")
	logResult, err := base64.StdEncoding.DecodeString(r.header.Get("X-Fc-Log-Result"))
	if err != nil {
		t.Fatalf("X-Fc-Log-Result %q is not base64: %v", r.header.Get("X-Fc-Log-Result"), err)
	}
	if len(logResult) > 4096 || !strings.Contains(string(logResult), tailMsg+"\n") || !strings.Contains(string(logResult), "FC Invoke Start RequestId: "+id) {
		t.Errorf("X-Fc-Log-Result decodes to %d bytes %q; want at most 4096 with the Start marker of %s and %q", len(logResult), logResult, id, tailMsg)
	}
}

// Output a function prints while it handles a request belongs to that
// request: in `openfc logs` and in X-Fc-Log-Result, also when the
// request is fast and the output long.
func TestLogsAttribution(t *testing.T) {
	s := startServer(t, "")
	s.lcDeploy(lcFunc{svc: "attr", fn: "fn"})
	s.lcMust(t, "attr", "fn", "/")
	// Every line printed before the answer belongs to its request.
	seqTag := rand.Text()
	seqIDs := map[string]string{} // message → request id
	for i := range 20 {
		msg := fmt.Sprintf("seq-%d-%s", i, seqTag)
		r := s.lcCall("attr", "fn", "/print?msg="+msg, nil, 30*time.Second)
		if r.err != nil || r.status != 200 {
			t.Fatalf("print %d: %d %v %s", i, r.status, r.err, r.body)
		}
		seqIDs[msg] = r.header.Get("X-Fc-Request-Id")
	}
	var recs []client.LogRecord
	for _, l := range strings.Split(strings.TrimSpace(s.lcMustCLI(t, "logs", "attr/fn", "--json")), "\n") {
		var rec client.LogRecord
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("openfc logs --json line %q: %v", l, err)
		}
		recs = append(recs, rec)
	}
	for msg, id := range seqIDs {
		found := false
		for _, rec := range recs {
			if rec.Message == msg {
				found = true
				if rec.RequestID != id || rec.Function != "attr/fn" {
					t.Errorf("line %q is recorded for request %q of %q; want %s of attr/fn", msg, rec.RequestID, rec.Function, id)
				}
			}
		}
		if !found {
			t.Errorf("openfc logs --json lacks the line %q", msg)
		}
	}

	// X-Fc-Log-Result holds the request's output, short or long (then
	// its last 4096 bytes).
	for i := range 10 {
		msg := fmt.Sprintf("tail-%d-%s", i, seqTag)
		n := 1
		if i%2 == 1 {
			msg += "-" + strings.Repeat("x", 100)
			n = 60 // more than 4096 bytes
		}
		r := s.lcCall("attr", "fn", fmt.Sprintf("/print?n=%d&msg=%s", n, msg), http.Header{"X-Fc-Log-Type": {"Tail"}}, 30*time.Second)
		if r.status != 200 {
			t.Fatalf("print with X-Fc-Log-Type: Tail: %d %v %s", r.status, r.err, r.body)
		}
		logResult, err := base64.StdEncoding.DecodeString(r.header.Get("X-Fc-Log-Result"))
		if err != nil || len(logResult) > 4096 || !strings.HasSuffix(string(logResult), msg+"\n") {
			t.Errorf("X-Fc-Log-Result of %d line(s) of %d bytes decodes to %d bytes (%v) ending %q; want at most 4096 ending with the printed line",
				n, len(msg)+1, len(logResult), err, logResult[max(0, len(logResult)-80):])
		}
	}
}

// A client that goes away mid-request is logged as 499 and its instance
// slot is freed at once.
func TestClientDisconnect(t *testing.T) {
	s := startServer(t, "")
	s.lcDeploy(lcFunc{svc: "dc", fn: "fn"})
	first := s.lcCall("dc", "fn", "/", nil, 30*time.Second)
	if first.status != 200 {
		t.Fatalf("first request: %d %v %s", first.status, first.err, first.body)
	}
	firstID := first.header.Get("X-Fc-Request-Id")
	a := first.reply.Instance

	ctx, cancel := context.WithCancel(context.Background())
	cancelled := make(chan lcResult, 1)
	go func() { cancelled <- s.lcCallCtx(ctx, "dc", "fn", "/sleep?ms=3000", nil) }()
	time.Sleep(300 * time.Millisecond)
	cancel()
	if r := <-cancelled; r.err == nil {
		t.Fatalf("the cancelled request got an answer: %d %s", r.status, r.body)
	}

	// The slot is free again: the same instance (concurrency 1) answers
	// at once, while its first request's sleep is still running.
	next := s.lcCall("dc", "fn", "/", nil, 10*time.Second)
	if next.err != nil || next.status != 200 || next.reply.Instance != a || next.took > time.Second {
		t.Errorf("after the disconnect: status %d err %v instance %s in %v; want 200 from %s at once", next.status, next.err, next.reply.Instance, next.took, a)
	}

	// The cancelled request's id, from its invocation markers.
	var cancelledID string
	waitFor(t, 5*time.Second, func() error {
		out, lines := s.lcLogs(t, "dc/fn", "--instance", a)
		cancelledID = ""
		ended := false
		for _, l := range lines {
			if id, ok := strings.CutPrefix(l.message, "FC Invoke Start RequestId: "); ok && id != firstID && id != next.header.Get("X-Fc-Request-Id") {
				cancelledID = id
			}
		}
		for _, l := range lines {
			if cancelledID != "" && l.message == "FC Invoke End RequestId: "+cancelledID {
				ended = true
			}
		}
		if cancelledID == "" || !ended {
			return fmt.Errorf("no Start and End markers of the cancelled request in:\n%s", out)
		}
		return nil
	})
	recs := s.rulesLogRecords(cancelledID)
	if len(recs) != 1 || recs[0]["status"] != "499" || !strings.HasSuffix(recs[0]["path"], "/sleep") {
		t.Errorf("access log records of the cancelled request %s: %v; want one with status 499 for .../sleep", cancelledID, recs)
	}
}

// With the node full (--max-instances 1), a request for another function
// waits in its queue and is served once the node's instance is reclaimed.
func TestInstanceNodeCap(t *testing.T) {
	s := startServer(t, "", "--max-instances", "1", "--idle-timeout", "2s", "--queue-timeout", "15s")
	s.lcDeploy(lcFunc{svc: "cap", fn: "a"})
	s.lcDeploy(lcFunc{svc: "cap", fn: "b"})
	a := s.lcMust(t, "cap", "a", "/")
	r := s.lcCall("cap", "b", "/", nil, 30*time.Second)
	t.Logf("b answered %d after %v", r.status, r.took.Round(100*time.Millisecond))
	if r.err != nil || r.status != 200 {
		t.Fatalf("b while a's idle instance holds the node's only slot: status %d err %v %s; want 200 once a's instance is reclaimed (idle timeout 2 s)", r.status, r.err, r.body)
	}
	if r.took > 8*time.Second {
		t.Errorf("b waited %v for the slot a's instance freed after its 2 s idle timeout", r.took)
	}
	if list := s.lcMustInstances(t, "cap/a"); lcHas(list, a.Instance) {
		t.Errorf("a's instance %s is still listed while b's runs (node cap 1): %v", a.Instance, lcIDs(list))
	}
}

// Server-sent events reach the client as the function writes them: each
// event arrives about when it was sent, not all at the end.
func TestStreamingResponse(t *testing.T) {
	s := startServer(t, "")
	s.lcDeploy(lcFunc{svc: "sse", fn: "fn"})
	s.lcMust(t, "sse", "fn", "/") // warm
	start := time.Now()
	resp, err := http.Get(s.URL + "/2016-08-15/proxy/sse/fn/stream?n=3&ms=700")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("got %d %v", resp.StatusCode, resp.Header)
	}
	br := bufio.NewReader(resp.Body)
	for i := range 3 {
		line, err := br.ReadString('\n')
		if err != nil || line != fmt.Sprintf("data: %d\n", i) {
			t.Fatalf("event %d: %q, %v", i, line, err)
		}
		at := time.Since(start)
		// Event i is sent at i*700 ms; it must not wait for the end
		// (1.4 s) of the stream.
		if lo, hi := time.Duration(i)*700*time.Millisecond, time.Duration(i)*700*time.Millisecond+600*time.Millisecond; at < lo-100*time.Millisecond || at > hi {
			t.Errorf("event %d arrived after %v; want within [%v, %v]", i, at.Round(time.Millisecond), lo, hi)
		}
		if _, err := br.ReadString('\n'); err != nil { // the blank line
			t.Fatal(err)
		}
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Errorf("after the last event: %q, %v", rest, err)
	}
}

// An upgrade the function accepts (101) becomes a two-way tunnel to the
// instance, held (and counted as busy) until the client closes it.
func TestUpgradeTunnel(t *testing.T) {
	s := startServer(t, "")
	s.lcDeploy(lcFunc{svc: "up", fn: "fn"})
	s.lcMust(t, "up", "fn", "/") // warm
	c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET /2016-08-15/proxy/up/fn/upgrade HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n", strings.TrimPrefix(s.URL, "http://"))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Upgrade") != "echo" || resp.Header.Get("X-Fc-Request-Id") == "" {
		t.Fatalf("got %d %v; want 101, Upgrade: echo, X-Fc-Request-Id", resp.StatusCode, resp.Header)
	}
	for _, msg := range []string{"hello\n", "through the tunnel\n"} {
		io.WriteString(c, msg)
		got, err := br.ReadString('\n')
		if err != nil || got != strings.ToUpper(msg) {
			t.Fatalf("sent %q, got %q, %v", msg, got, err)
		}
	}
	list := s.lcMustInstances(t, "up/fn")
	busy := 0
	for _, in := range list {
		busy += in.InFlight
	}
	if busy != 1 {
		t.Errorf("instances while the tunnel is open: %+v; want one request in flight", list)
	}
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		busy = 0
		for _, in := range s.lcMustInstances(t, "up/fn") {
			busy += in.InFlight
		}
		if busy == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the tunnel's slot was not released after the client closed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.lcMust(t, "up", "fn", "/") // and the function still answers
}
