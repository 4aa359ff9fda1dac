//go:build linux

package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openfc/openfc/internal/sandbox/network"
)

// nodeServer is the test function: an HTTP server on 0.0.0.0:$PORT that
// answers $BODY, on /self fetches / from itself over 127.0.0.1, and on
// /fetch?host=H&port=P fetches http://H:P/ ("error:CODE" when it fails).
const nodeServer = `
const http = require('http');
const port = +process.env.PORT;
http.createServer((q, s) => {
  const u = new URL(q.url, 'http://x');
  if (u.pathname === '/fetch') {
    http.get({host: u.searchParams.get('host'), port: +u.searchParams.get('port'), path: '/', timeout: 3000}, r => {
      let b = '';
      r.on('data', d => b += d);
      r.on('end', () => s.end(b));
    }).on('error', e => s.end('error:' + (e.code || e.message)));
    return;
  }
  if (q.url === '/self') {
    http.get({host: '127.0.0.1', port: port, path: '/'}, r => {
      let b = '';
      r.on('data', d => b += d);
      r.on('end', () => s.end('self:' + b));
    }).on('error', e => { s.statusCode = 500; s.end(String(e)); });
    return;
  }
  s.end(process.env.BODY || '');
}).listen(port, '0.0.0.0', () => console.log('listening on ' + port));
`

// syncBuffer is an io.Writer safe for concurrent use.
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

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func newProcess(t *testing.T, mode string) *Process {
	t.Helper()
	p, err := NewProcess(ProcessOptions{NetNS: mode, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("NewProcess(%q): %v", mode, err)
	}
	return p
}

// netnsProcess returns a Process with private network namespaces, failing
// the test when they are unavailable unless OPENFC_TEST_NO_NETNS=1.
func netnsProcess(t *testing.T) *Process {
	t.Helper()
	p, err := NewProcess(ProcessOptions{NetNS: NetNSOn, Network: netOptions(t), Logger: testLogger(t)})
	if err != nil {
		if os.Getenv("OPENFC_TEST_NO_NETNS") == "1" {
			t.Skipf("network namespaces unavailable and OPENFC_TEST_NO_NETNS=1: %v", err)
		}
		t.Fatalf("network namespaces unavailable (set OPENFC_TEST_NO_NETNS=1 to skip netns tests): %v", err)
	}
	if !p.NetNSEnabled() {
		t.Fatal("NetNSEnabled() = false in mode on")
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// netOptions are instance network options of the test's own: its owner
// id (so its rules and links are its alone) and state directory.
func netOptions(t *testing.T) network.Options {
	b := make([]byte, 4)
	rand.Read(b)
	return network.Options{Owner: "t" + hex.EncodeToString(b), StateDir: t.TempDir()}
}

// modes returns the Processes to run mode-independent tests with.
func modes(t *testing.T) map[string]*Process {
	t.Helper()
	m := map[string]*Process{"off": newProcess(t, NetNSOff)}
	p, err := NewProcess(ProcessOptions{NetNS: NetNSOn, Network: netOptions(t), Logger: testLogger(t)})
	switch {
	case err == nil:
		t.Cleanup(func() { p.Close(context.Background()) })
		m["netns"] = p
	case os.Getenv("OPENFC_TEST_NO_NETNS") == "1":
		t.Logf("netns mode not tested (OPENFC_TEST_NO_NETNS=1): %v", err)
	default:
		t.Fatalf("network namespaces unavailable (set OPENFC_TEST_NO_NETNS=1 to skip netns tests): %v", err)
	}
	return m
}

func nodePath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed for these tests: %v", err)
	}
	return p
}

// nodeSpec is a Spec running nodeServer on port with body.
func nodeSpec(t *testing.T, id string, port int, body string) (Spec, *syncBuffer) {
	out := &syncBuffer{}
	return Spec{
		ID:      id,
		Dir:     t.TempDir(),
		Command: []string{nodePath(t), "-e", nodeServer},
		Env:     []string{"PORT=" + strconv.Itoa(port), "BODY=" + body},
		Port:    port,
		Output:  out,
	}, out
}

// start starts spec and stops the instance at the end of the test.
func start(t *testing.T, p *Process, spec Spec) Instance {
	t.Helper()
	in, err := p.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := in.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return in
}

func waitDone(t *testing.T, in Instance, d time.Duration) {
	t.Helper()
	select {
	case <-in.Done():
	case <-time.After(d):
		t.Fatalf("instance %s did not exit within %v", in.ID(), d)
	}
}

// client returns an HTTP client whose connections all go to in.
func client(in Instance) *http.Client {
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return in.DialContext(ctx)
			},
		},
	}
}

func get(c *http.Client, path string) (string, error) {
	resp, err := c.Get("http://instance" + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %s: %s", resp.Status, b)
	}
	return string(b), nil
}

// waitGet polls path on in until it answers, as the instance manager does.
func waitGet(t *testing.T, in Instance, out *syncBuffer, path string) string {
	t.Helper()
	c := client(in)
	deadline := time.Now().Add(20 * time.Second)
	for {
		body, err := get(c, path)
		if err == nil {
			return body
		}
		select {
		case <-in.Done():
			t.Fatalf("instance %s exited (%v) before answering; output:\n%s", in.ID(), in.ExitErr(), out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s never answered %s: %v; output:\n%s", in.ID(), path, err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLine waits until out has a complete first line and returns it.
func waitLine(t *testing.T, out *syncBuffer) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if line, _, ok := strings.Cut(out.String(), "\n"); ok {
			return line
		}
		if time.Now().After(deadline) {
			t.Fatalf("no output line; output so far: %q", out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("not a pid: %q", s)
	}
	return n
}

// gone reports whether pid no longer runs (absent or a zombie).
func gone(pid int) bool {
	if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	return b[i+2] == 'Z' || b[i+2] == 'X'
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !gone(pid) {
		if time.Now().After(deadline) {
			_ = unix.Kill(pid, unix.SIGKILL)
			t.Fatalf("process %d still runs", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// freePort returns a TCP port that was free on the host a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// foreignThreads counts this process's threads outside p's host network
// namespace.
func foreignThreads(t *testing.T, p *Process) int {
	t.Helper()
	host, err := p.net.Host().Stat()
	if err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		fi, err := os.Stat("/proc/self/task/" + e.Name() + "/ns/net")
		if err == nil && !os.SameFile(fi, host) {
			n++
		}
	}
	return n
}

// waitForeignThreads waits until exactly want threads are outside the host
// namespace.
func waitForeignThreads(t *testing.T, p *Process, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := foreignThreads(t, p)
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d threads outside the host network namespace, want %d", n, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startHelper runs this test binary's test (a helper server) with env
// added and returns the first line it prints (within timeout; "" when
// none came) and kill, which SIGKILLs it: what a crashed openfc leaves is
// then there to examine. The test ends it with kill in any case.
func startHelper(t *testing.T, test string, env []string, timeout time.Duration) (line string, kill func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		for sc.Scan() {
		}
	}()
	kill = sync.OnceFunc(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	t.Cleanup(kill)
	select {
	case line = <-lines:
	case <-time.After(timeout):
	}
	return line, kill
}
