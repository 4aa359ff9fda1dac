package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The built-in runtimes' bootstraps against a custom runtime in the same
// language (issue 14): eight functions in service rt, deployed from one FC
// 2.0 (`fc`) s.yaml so that the built-in ones get FC 2.0's HTTP handler
// (from fc3 they would get the event style). Each answers upstreamBody, so
// waitHTTP's readiness check and wrk's work are the same as for the other
// targets; the pairs are measured in the same interleaved rounds, and the
// ratios compare each bootstrap with its own language's plain server.

// runtimeService is the openfc service the runtime functions live in.
const runtimeService = "rt"

// benchPython is the interpreter of both Python functions: the server's
// $OPENFC_PYTHON (the bootstrap's) and the custom runtime's command, so
// that the pair differs only in the server code. Debian's, not a pyenv
// shim on PATH, whose start-up and version vary by machine.
const benchPython = "/usr/bin/python3"

// runtimeFn is one runtime function: its name (<language>-builtin or
// <language>-custom, also its code directory), the s.yaml lines after
// `runtime:`, its instanceConcurrency, its files, the programs it needs
// on PATH (the server's for a built-in runtime, its own for a custom
// one), and a build step run in its code directory after the files are
// written (nil: none).
type runtimeFn struct {
	name        string
	props       string
	concurrency int
	files       map[string]string
	tools       []string
	build       func(dir string) error
}

// lang is the language of f's pair: its name up to the dash.
func (f runtimeFn) lang() string { return strings.SplitN(f.name, "-", 2)[0] }

// runtimeFns are the pairs, in the order of their targets.
var runtimeFns = append(append([]runtimeFn{}, scriptRuntimeFns...), phpJavaRuntimeFns...)

// Handlers answering upstreamBody, text/plain, nothing else: the figures
// are the bootstrap's and the server's cost, not the handler's.
// instanceConcurrency 100 as bench/warm: one instance takes all 32
// connections.
var scriptRuntimeFns = []runtimeFn{
	{name: "node-builtin", props: "nodejs18\n        handler: index.handler\n", concurrency: 100, tools: []string{"node"}, files: map[string]string{"index.js": `'use strict';
const body = Buffer.from(` + strconv.Quote(upstreamBody) + `);
exports.handler = (request, response, context) => {
  response.setHeader('Content-Type', 'text/plain');
  response.send(body);
};
`}},
	// Node's http server, keep-alive without an idle timeout as the
	// bootstrap sets it (server.keepAliveTimeout = 0).
	{name: "node-custom", props: "custom\n        customRuntimeConfig:\n          command: [node]\n          args: [server.js]\n          port: 9000\n", concurrency: 100, tools: []string{"node"}, files: map[string]string{"server.js": `'use strict';
const http = require('http');
const body = Buffer.from(` + strconv.Quote(upstreamBody) + `);
const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, {'Content-Type': 'text/plain', 'Content-Length': body.length});
  res.end(body);
});
server.keepAliveTimeout = 0;
server.listen(Number(process.env.FC_SERVER_PORT || 9000), '0.0.0.0');
`}},
	{name: "python-builtin", props: "python3.10\n        handler: index.handler\n", concurrency: 100, tools: []string{benchPython}, files: map[string]string{"index.py": `BODY = ` + strconv.Quote(upstreamBody) + `.encode()


def handler(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [BODY]
`}},
	// The stdlib's threaded HTTP/1.1 server, the same server classes as
	// the bootstrap's (ThreadingMixIn + HTTPServer, protocol HTTP/1.1).
	{name: "python-custom", props: "custom\n        customRuntimeConfig:\n          command: [" + benchPython + "]\n          args: [server.py]\n          port: 9000\n", concurrency: 100, tools: []string{benchPython}, files: map[string]string{"server.py": `import http.server
import os

BODY = ` + strconv.Quote(upstreamBody) + `.encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are two writes: without TCP_NODELAY the body waits
    # for the peer's delayed ACK (40 ms on Linux).
    disable_nagle_algorithm = True

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    do_POST = do_GET


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128


Server(("0.0.0.0", int(os.environ.get("FC_SERVER_PORT") or 9000)), Handler).serve_forever()
`}},
}

// runtimeFunctionYAML is one function of the FC 2.0 s.yaml. Arguments: the
// name, its runtime lines, its instanceConcurrency.
const runtimeFunctionYAML = `  %[1]s:
    component: devsapp/fc
    props:
      region: cn-hangzhou
      service:
        name: ` + runtimeService + `
      function:
        name: %[1]s
        codeUri: ./rt/%[1]s
        memorySize: 128
        timeout: 30
        instanceConcurrency: %[3]d
        runtime: %[2]s      triggers:
        - name: http
          type: http
          config:
            authType: anonymous
            methods: [GET, POST]
`

// deployRuntimes writes, builds and deploys the runtime functions, waits
// for each one's first answer and returns their targets. A failure (no
// node, python3, php or javac; a build error) is recorded and leaves that
// language's pair out; the rest of the run does not depend on them.
func deployRuntimes(ctx context.Context, s *server, res *results) []target {
	fns := prepareRuntimes(s, res)
	if len(fns) == 0 {
		return nil
	}
	var sy strings.Builder
	sy.WriteString("edition: 1.0.0\nname: bench-runtimes\naccess: default\nservices:\n")
	for _, f := range fns {
		fmt.Fprintf(&sy, runtimeFunctionYAML, f.name, f.props, f.concurrency)
	}
	path := filepath.Join(s.dir, "s.runtimes.yaml")
	if err := os.WriteFile(path, []byte(sy.String()), 0o644); err != nil {
		res.fail("runtimes: %v", err)
		return nil
	}
	logf("deploying %d runtime functions", len(fns))
	if _, err := s.cli(ctx, "deploy", "-f", path); err != nil {
		s.dumpLog()
		res.fail("runtimes deploy: %v", err)
		return nil
	}
	var ts []target
	for _, f := range fns {
		u := s.serviceProxyURL(runtimeService, f.name)
		if err := waitHTTP(ctx, u, "", 60*time.Second); err != nil {
			s.dumpLog()
			res.fail("runtime function %s never answered: %v", f.name, err)
			continue
		}
		ts = append(ts, target{f.name, u, ""})
	}
	return ts
}

// prepareRuntimes writes each function's files into s.dir/rt/<name> and
// runs its build, and returns the functions of the languages whose pair
// is complete: a missing tool or a failed build of either function
// records a failure and drops both.
func prepareRuntimes(s *server, res *results) []runtimeFn {
	broken := map[string]bool{}
	for _, f := range runtimeFns {
		if broken[f.lang()] {
			continue
		}
		if err := prepareRuntime(s.dir, f); err != nil {
			res.fail("runtimes: %s left out: %s: %v", f.lang(), f.name, err)
			broken[f.lang()] = true
		}
	}
	var fns []runtimeFn
	for _, f := range runtimeFns {
		if !broken[f.lang()] {
			fns = append(fns, f)
		}
	}
	return fns
}

// prepareRuntime looks f's tools up, writes its files and builds it.
func prepareRuntime(root string, f runtimeFn) error {
	for _, t := range f.tools {
		if _, err := exec.LookPath(t); err != nil {
			return err
		}
	}
	dir := filepath.Join(root, "rt", f.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, text := range f.files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	if f.build != nil {
		return f.build(dir)
	}
	return nil
}

// runtimeRatios records, per language and connection count, the built-in
// function's requests/s ÷ the custom runtime's (the medians' ratio and the
// median of the rounds' ratios) and the p50 it adds.
func runtimeRatios(res *results) {
	fig := map[roundKey]wrkResult{}
	for _, w := range res.Warm {
		fig[roundKey{w.Target, w.Conns}] = w
	}
	for _, lang := range []string{"node", "python", "php", "java"} {
		for _, c := range []int{1, 32} {
			b, okB := fig[roundKey{lang + "-builtin", c}]
			u, okU := fig[roundKey{lang + "-custom", c}]
			if !okB || !okU || u.RPS <= 0 {
				continue
			}
			k := fmt.Sprintf("%s-builtin_c%d", lang, c)
			res.Ratios[k+"_rps_vs_custom"] = round(b.RPS/u.RPS, 3)
			res.Ratios[k+"_added_p50_us_over_custom"] = round(b.P50us-u.P50us, 1)
			if p, ok := pairedMedian(b, u); ok {
				res.Ratios[k+"_rps_vs_custom_paired_median"] = round(p, 3)
			}
		}
	}
}
