"""A custom-runtime function for openfc's instance lifecycle e2e tests.

Listens on 0.0.0.0:9000 and keeps its state in files under $ECHO_STATE_DIR
(shared with the test), per instance ($FC_INSTANCE_ID):

  POST /initialize  counts its calls in init-<instance>; answers 200, or
                    500 when INIT_FAIL=1 (after printing a line), after
                    sleeping INIT_SLEEP_MS milliseconds when set
  GET /pre-stop     appends "prestop <instance>" to the file prestop
  GET /healthz      200, or 503 while unhealthy-<instance> or unhealthy-all
                    exists
  /sleep?ms=N       waits N ms
  /crash            exits at once with status 3
  /hang             never answers
  /print?msg=X&n=N  prints the line X on stdout (N times, default 1)
  /stream?n=N&ms=M  server-sent events: N events "data: <i>", M ms apart,
                    each as its own chunk (not JSON)
  /upgrade          with "Upgrade: echo": 101, then echoes every line it
                    reads in upper case until the client closes

Every answer is JSON {instance, pid, initCount, path}.
"""
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

INSTANCE = os.environ.get("FC_INSTANCE_ID", "")
STATE = os.environ.get("ECHO_STATE_DIR", "/tmp")


def state(name):
    return os.path.join(STATE, name)


def init_count():
    try:
        with open(state("init-" + INSTANCE)) as f:
            return int(f.read().strip() or "0")
    except FileNotFoundError:
        return 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once

    def log_message(self, fmt, *args):
        pass  # keep the instance log to what the tests print

    def reply(self, status, path):
        out = json.dumps({
            "instance": INSTANCE,
            "pid": os.getpid(),
            "initCount": init_count(),
            "path": path,
        }).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        p = url.path
        if p == "/initialize" and self.command == "POST":
            ms = int(os.environ.get("INIT_SLEEP_MS", "0") or "0")
            if ms:
                time.sleep(ms / 1000.0)
            with open(state("init-" + INSTANCE), "w") as f:
                f.write(str(init_count() + 1))
            if os.environ.get("INIT_FAIL") == "1":
                sys.stdout.write("initializer failing on purpose in %s\n" % INSTANCE)
                sys.stdout.flush()
                self.reply(500, p)
                return
            self.reply(200, p)
            return
        if p == "/pre-stop":
            with open(state("prestop"), "a") as f:
                f.write("prestop %s\n" % INSTANCE)
            self.reply(200, p)
            return
        if p == "/healthz":
            bad = os.path.exists(state("unhealthy-" + INSTANCE)) or os.path.exists(state("unhealthy-all"))
            self.reply(503 if bad else 200, p)
            return
        if p == "/upgrade" and self.headers.get("Upgrade", "").lower() == "echo":
            self.send_response(101)
            self.send_header("Connection", "Upgrade")
            self.send_header("Upgrade", "echo")
            self.end_headers()
            self.wfile.flush()
            for line in self.rfile:
                self.wfile.write(line.upper())
                self.wfile.flush()
            self.close_connection = True
            return
        if p == "/stream":
            n, ms = int(q.get("n", ["3"])[0]), int(q.get("ms", ["500"])[0])
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(n):
                if i:
                    time.sleep(ms / 1000.0)
                ev = ("data: %d\n\n" % i).encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(ev), ev))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            return
        if p == "/sleep":
            time.sleep(int(q.get("ms", ["100"])[0]) / 1000.0)
        elif p == "/crash":
            sys.stdout.write("crashing on purpose\n")
            sys.stdout.flush()
            os._exit(3)
        elif p == "/hang":
            while True:
                time.sleep(3600)
        elif p == "/print":
            line = q.get("msg", [""])[0] + "\n"
            sys.stdout.write(line * int(q.get("n", ["1"])[0]))
            sys.stdout.flush()
        self.reply(200, p)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = answer


if __name__ == "__main__":
    print("lifecycle %s listening on 0.0.0.0:9000" % INSTANCE, flush=True)
    ThreadingHTTPServer(("0.0.0.0", 9000), Handler).serve_forever()
