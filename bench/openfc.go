package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// server is a running `openfc serve` and what its CLI needs to reach it.
type server struct {
	bin   string // the openfc binary: server and CLI
	dir   string // the run's directory: data, serve.log, s.yaml, code/
	env   []string
	addr  string
	admin string // admin listener with pprof, for goMemKB
	pid   int
}

// startServer starts `openfc serve` with its data in tmp, logging at
// logLevel, with extra serve flags, and returns once it accepts
// connections.
func startServer(children *procs, bin, tmp, logLevel string, extra ...string) (*server, error) {
	s, err := launchServer(children, bin, tmp, logLevel, extra...)
	if err != nil {
		return nil, err
	}
	if err := s.waitListening(30 * time.Second); err != nil {
		return nil, err
	}
	return s, nil
}

// waitListening waits until s accepts connections.
func (s *server) waitListening(d time.Duration) error {
	if err := waitTCP(s.addr, d); err != nil {
		s.dumpLog()
		return fmt.Errorf("openfc serve: %w", err)
	}
	return nil
}

// launchServer is startServer without the wait: the nodes of a cluster
// listen only once they found each other, so they are launched together.
func launchServer(children *procs, bin, tmp, logLevel string, extra ...string) (*server, error) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort())
	s := &server{
		bin:  bin,
		dir:  tmp,
		addr: addr,
		env: append(os.Environ(),
			"OPENFC_ACCESS_KEY_ID=benchkey",
			"OPENFC_ACCESS_KEY_SECRET=benchsecret-0123456789",
			"OPENFC_ENDPOINT=http://"+addr,
			"OPENFC_DATA="+filepath.Join(tmp, "data"),
			// The Python bootstrap's interpreter, the Python custom
			// runtime's too (runtimes.go).
			"OPENFC_PYTHON="+benchPython,
		),
		// The admin listener's pprof endpoint lets the memory figures be
		// read after a garbage collection in the server (goMemKB).
		admin: fmt.Sprintf("127.0.0.1:%d", freePort()),
	}
	args := append([]string{"serve", "--listen", s.addr, "--admin-listen", s.admin, "--pprof", "--data", filepath.Join(tmp, "data"), "--log-level", logLevel}, extra...)
	c := exec.Command(bin, args...)
	c.Env = s.env
	srvLog, _ := os.Create(s.logPath())
	c.Stdout, c.Stderr = srvLog, srvLog
	if err := children.start(c); err != nil {
		return nil, fmt.Errorf("openfc serve: %w", err)
	}
	s.pid = c.Process.Pid
	return s, nil
}

func (s *server) logPath() string { return filepath.Join(s.dir, "serve.log") }

// dumpLog shows the server log's tail: the server logs to a file, which is
// removed with the run's directory, so a failure would otherwise leave no
// trace of why.
func (s *server) dumpLog() {
	b, _ := os.ReadFile(s.logPath())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	fmt.Fprintf(os.Stderr, "--- openfc serve log (tail) of %s ---\n%s\n", s.dir, b)
}

// proxyPath is the path of a bench function behind the proxy route.
func proxyPath(fn string) string { return "/2016-08-15/proxy/bench/" + fn + "/" }

func (s *server) proxyURL(fn string) string { return "http://" + s.addr + proxyPath(fn) }

// serviceProxyURL is function fn of service svc behind the proxy route.
func (s *server) serviceProxyURL(svc, fn string) string {
	return "http://" + s.addr + "/2016-08-15/proxy/" + svc + "/" + fn + "/"
}

// cli runs the openfc CLI from the run's directory, where s.yaml's
// relative ./code path resolves.
func (s *server) cli(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, s.bin, args...)
	c.Env = s.env
	c.Dir = s.dir
	out, err := c.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("openfc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// functionYAML is one s.yaml resource: the bench binary as a custom runtime
// on port 9000 with an anonymous HTTP trigger. Arguments: the function name,
// its instanceConcurrency.
const functionYAML = `  %[1]s:
    component: fc3
    props:
      region: cn-hangzhou
      functionName: %[1]s
      runtime: custom.debian10
      code: ./code
      memorySize: 128
      timeout: 30
      instanceConcurrency: %[2]d
      customRuntimeConfig:
        port: 9000
      environmentVariables:
        GOMAXPROCS: "1"
      triggers:
        - triggerName: http
          triggerType: http
          triggerConfig:
            authType: anonymous
            methods: [GET, POST]
`

var reWarmLabel = regexp.MustCompile(`http://(warm-bench-[^/\s.]+)\.fcapp\.localhost`)

// deploy deploys warm (one instance takes all 32 connections), scale
// (concurrency 1, max 10) and cold-0..N-1 (never invoked before their run),
// and returns warm's trigger subdomain label, "" when the deploy output has
// none (recorded as a failure).
func deploy(ctx context.Context, s *server, coldRuns int, res *results) (string, error) {
	var sy strings.Builder
	sy.WriteString("edition: 3.0.0\nname: bench\naccess: default\nresources:\n")
	fmt.Fprintf(&sy, functionYAML, "warm", 100)
	fmt.Fprintf(&sy, functionYAML, "scale", 1)
	for i := 0; i < coldRuns; i++ {
		fmt.Fprintf(&sy, functionYAML, fmt.Sprintf("cold-%d", i), 10)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "s.yaml"), []byte(sy.String()), 0o644); err != nil {
		return "", err
	}
	logf("deploying %d functions", coldRuns+2)
	out, err := s.cli(ctx, "deploy", "-f", filepath.Join(s.dir, "s.yaml"))
	if err != nil {
		s.dumpLog()
		return "", err
	}
	label := ""
	if m := reWarmLabel.FindStringSubmatch(out); m != nil {
		label = m[1]
	} else {
		res.fail("no trigger subdomain for bench/warm in deploy output:\n%s", out)
	}
	if _, err := s.cli(ctx, "scaling", "set", "bench/scale", "--max", "10"); err != nil {
		res.fail("scaling set: %v", err)
	}
	return label, nil
}

// startWarmServer starts another `openfc serve` in dir (its own data and
// ports) with extra serve flags, the run's function code (codeDir) linked
// as dir/code, deploys bench/warm and waits for its first answer. It
// returns the server and warm's trigger subdomain label ("" when the
// deploy printed none, recorded in res); on an error the server is
// stopped.
func startWarmServer(ctx context.Context, children *procs, bin, codeDir, dir, logLevel string, res *results, extra ...string) (*server, string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	if err := os.Symlink(codeDir, filepath.Join(dir, "code")); err != nil {
		return nil, "", err
	}
	srv, err := startServer(children, bin, dir, logLevel, extra...)
	if err != nil {
		return nil, "", err
	}
	label, err := deploy(ctx, srv, 0, res)
	if err == nil {
		err = waitHTTP(ctx, srv.proxyURL("warm"), "", 60*time.Second)
	}
	if err != nil {
		srv.dumpLog()
		children.stop(srv.pid)
		return nil, "", fmt.Errorf("openfc serve %s: %w", strings.Join(extra, " "), err)
	}
	return srv, label, nil
}
