// Package e2e holds black-box tests: they build the openfc binary, start it
// on random ports with a temporary data dir, deploy functions with the CLI
// or the official FC SDK, and call them over HTTP.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	accessKeyID     = "LTAIe2etestkey000001"
	accessKeySecret = "e2e-test-secret-0123456789abcdef"
	accountID       = "1234567890123456"
)

var binary string // built once by TestMain

// http1Env chooses the front door's HTTP/1.1 server for the whole run
// (nethttp or fast; unset: the server's default), so that the suite runs
// against each (`make test-e2e` runs both).
const http1Env = "OPENFC_E2E_HTTP1_SERVER"

// http1Server is http1Env's value, checked once by TestMain: every
// server the harness launches gets --http1-server with it.
var http1Server string

func TestMain(m *testing.M) {
	http1Server = os.Getenv(http1Env)
	switch http1Server {
	case "":
		fmt.Fprintf(os.Stderr, "e2e: %s unset: openfc serve runs its default HTTP/1.1 server\n", http1Env)
	case "nethttp", "fast":
		fmt.Fprintf(os.Stderr, "e2e: openfc serve runs with --http1-server %s (%s)\n", http1Server, http1Env)
	default:
		fmt.Fprintf(os.Stderr, "e2e: %s=%q: want nethttp or fast\n", http1Env, http1Server)
		os.Exit(2)
	}
	dir, err := os.MkdirTemp("", "openfc-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "openfc")
	build := exec.Command("go", "build", "-race", "-o", binary, "./cmd/openfc")
	build.Dir = repoRoot()
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building openfc:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// server is one running `openfc serve`.
type server struct {
	t       *testing.T
	dataDir string
	cmd     *exec.Cmd
	URL     string // http://127.0.0.1:port
	// TLSAddr and AdminAddr are the --tls-listen and --admin-listen
	// addresses bound ("" when not served): give them as 127.0.0.1:0.
	TLSAddr, AdminAddr string
	log                *syncBuffer
	done               chan struct{}
	extra              []string
	env                []string      // added to the environment (startServerEnv)
	found              chan []string // the start line's addresses, once
	// http1 is the --http1-server value the server was given ("": none,
	// its default), which its start line must name.
	http1 string
}

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

func testEnv(extra ...string) []string {
	env := append(os.Environ(),
		// The binary is built with -race, whose runtime otherwise pauses
		// 1 s at every exit (every CLI call).
		"GORACE=atexit_sleep_ms=0",
		"OPENFC_ACCESS_KEY_ID="+accessKeyID,
		"OPENFC_ACCESS_KEY_SECRET="+accessKeySecret,
	)
	return append(env, extra...)
}

// listenRE finds the addresses openfc serves on in its start line (tls
// and admin are "" when not served), and the HTTP/1.1 server it names.
var listenRE = regexp.MustCompile(`msg="openfc serving" listen=(\S+) tls=("[^"]*"|\S+) admin=("[^"]*"|\S+) .*\bhttp1=(\S+)`)

// serveArgs are the arguments of `openfc serve` with the given flags:
// http1Env's server is added unless the flags choose one themselves. It
// returns that choice too ("": the server's default).
func serveArgs(flags ...string) (args []string, http1 string) {
	for i, f := range flags {
		if v, ok := strings.CutPrefix(f, "--http1-server="); ok {
			return append([]string{"serve"}, flags...), v
		}
		if f == "--http1-server" && i+1 < len(flags) {
			return append([]string{"serve"}, flags...), flags[i+1]
		}
	}
	args = append([]string{"serve"}, flags...)
	if http1Server != "" {
		args = append(args, "--http1-server", http1Server)
	}
	return args, http1Server
}

// startServer starts openfc serve on a random port with a fresh data dir
// (or dataDir when non-empty) and waits until it serves.
func startServer(t *testing.T, dataDir string, extra ...string) *server {
	t.Helper()
	return startServerEnv(t, dataDir, nil, extra...)
}

// startServerEnv is startServer with env added to the server's environment.
func startServerEnv(t *testing.T, dataDir string, env []string, extra ...string) *server {
	t.Helper()
	s := launchServer(t, dataDir, env, extra...)
	if err := s.waitServing(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	return s
}

// launchServer starts openfc serve like startServerEnv without waiting
// for it to serve (waitServing does): the nodes of a new cluster wait
// for each other, so they are launched together.
func launchServer(t *testing.T, dataDir string, env []string, extra ...string) *server {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	s := &server{t: t, dataDir: dataDir, log: &syncBuffer{}, done: make(chan struct{}), extra: extra, env: env, found: make(chan []string, 1)}
	args, http1 := serveArgs(append([]string{"--listen", "127.0.0.1:0", "--admin-listen", "", "--data", dataDir, "--shutdown-timeout", "10s"}, extra...)...)
	s.http1 = http1
	s.cmd = exec.Command(binary, args...)
	s.cmd.Env = testEnv(env...)
	pr, pw := io.Pipe()
	s.cmd.Stdout = s.log
	s.cmd.Stderr = pw
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting server: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			s.log.Write([]byte(line + "\n"))
			if m := listenRE.FindStringSubmatch(line); m != nil && !sent {
				s.found <- m[1:]
				sent = true
			}
		}
	}()
	go func() {
		s.cmd.Wait()
		pw.Close()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("server log (%s):\n%s", s.dataDir, s.log.String())
		}
	})
	return s
}

// waitServing waits until s logs its start line and records the
// addresses it serves on.
func (s *server) waitServing(timeout time.Duration) error {
	select {
	case addrs := <-s.found:
		s.URL = "http://" + addrs[0]
		s.TLSAddr, s.AdminAddr = strings.Trim(addrs[1], `"`), strings.Trim(addrs[2], `"`)
		if s.http1 != "" && addrs[3] != s.http1 {
			return fmt.Errorf("server serves HTTP/1.1 with %s; it was given --http1-server %s", addrs[3], s.http1)
		}
		return nil
	case <-s.done:
		return fmt.Errorf("server exited before serving:\n%s", s.log.String())
	case <-time.After(timeout):
		s.cmd.Process.Kill()
		return fmt.Errorf("server did not start in %s:\n%s", timeout, s.log.String())
	}
}

// stop sends SIGTERM and waits for exit (SIGKILL after 30 s).
func (s *server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		s.t.Errorf("server did not exit within 30s of SIGTERM")
	}
}

// cli runs an openfc subcommand against s and returns stdout; it fails the
// test when the command fails.
func (s *server) cli(args ...string) string {
	s.t.Helper()
	out, err := s.tryCLI(args...)
	if err != nil {
		s.t.Fatalf("openfc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (s *server) tryCLI(args ...string) (string, error) {
	cmd := exec.Command(binary, append([]string{"--endpoint", s.URL}, args...)...)
	cmd.Env = testEnv()
	cmd.Dir = repoRoot()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// do sends an unsigned request to the server (data plane).
func (s *server) do(method, path string, body io.Reader, header http.Header) (*http.Response, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp, b
}

// fcError decodes an FC error body.
type fcError struct {
	ErrorCode    string
	ErrorMessage string
	RequestID    string `json:"RequestId"`
}

func decodeError(t *testing.T, resp *http.Response, body []byte) fcError {
	t.Helper()
	var e fcError
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body is not FC JSON (status %d): %q", resp.StatusCode, body)
	}
	if e.ErrorCode == "" || e.ErrorMessage == "" {
		t.Fatalf("error body lacks ErrorCode/ErrorMessage: %s", body)
	}
	if resp.Header.Get("X-Fc-Request-Id") == "" {
		t.Fatalf("error response lacks X-Fc-Request-Id")
	}
	return e
}

// waitFor polls fn until it returns nil or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// childPIDs returns the pids whose parent is pid.
func childPIDs(pid int) []int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		var p int
		fmt.Sscan(f, &p)
		out = append(out, p)
	}
	return out
}

// processesWithEnv returns pids of live processes whose environment holds
// the given KEY=value (used to find instances of one test).
func processesWithEnv(kv string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, v := range bytes.Split(b, []byte{0}) {
			if string(v) == kv {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}
