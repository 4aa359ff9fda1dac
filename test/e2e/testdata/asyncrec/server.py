"""A recording function for openfc's async e2e tests (stdlib only).

Listens on 0.0.0.0:9000. Every call appends one JSON line to the file
named by $ASYNC_LOG when it arrives:
  {"phase": "start", "name": $ASYNC_NAME, "requestId": x-fc-request-id,
   "taskId": x-fc-stateful-async-invocation-id, "method", "path", "body",
   "cwd": the instance's directory (under its node's data dir),
   "time": Unix seconds (float)}
so a test can see which invocations ran, how often and when. The query
tells it what to do (on any path, and on an event invocation, /invoke,
from the body when it is a query string, e.g. "fail=1"):
  sleep=MS   wait MS milliseconds before answering; while waiting it
             watches the connection and, when openfc cuts it, appends a
             line with "phase": "cut" (else "phase": "end" once done)
  fail=1     answer 500 with x-fc-status: 500 (a function error)
  plain=N    answer status N without x-fc-status (an HTTP function's own
             answer: a completed invocation)
  crash=1    exit the process without answering
Otherwise it answers 200 with the body "done:<path>".
"""
import json
import os
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

LOG = os.environ.get("ASYNC_LOG", "")
NAME = os.environ.get("ASYNC_NAME", "")
lock = threading.Lock()


def record(entry):
    if not LOG:
        return
    entry["name"] = NAME
    line = (json.dumps(entry) + "\n").encode()
    with lock:
        fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def wait(self, ms, base):
        """Sleeps ms, returning False as soon as the peer closes."""
        deadline = time.time() + ms / 1000.0
        while True:
            left = deadline - time.time()
            if left <= 0:
                return True
            r, _, _ = select.select([self.connection], [], [], min(left, 0.1))
            if r:
                try:
                    data = self.connection.recv(1, socket.MSG_PEEK)
                except OSError:
                    data = b""
                if not data:
                    record(dict(base, phase="cut", time=time.time()))
                    return False
                time.sleep(min(left, 0.1))

    def answer(self):
        url = urlsplit(self.path)
        body = self.read_body()
        q = parse_qs(url.query)
        if url.path == "/invoke" and b"=" in body and len(body) < 200:
            q.update(parse_qs(body.decode("utf-8", "replace")))
        base = {
            "requestId": self.headers.get("x-fc-request-id", ""),
            "taskId": self.headers.get("x-fc-stateful-async-invocation-id", ""),
            "method": self.command,
            "path": self.path,
            "body": body.decode("utf-8", "replace"),
            "cwd": os.getcwd(),
        }
        record(dict(base, phase="start", time=time.time()))
        if "sleep" in q:
            if not self.wait(int(q["sleep"][0]), base):
                self.close_connection = True
                return
            record(dict(base, phase="end", time=time.time()))
        if "crash" in q:
            os._exit(3)
        status, headers = 200, {}
        if "fail" in q:
            status, headers = 500, {"x-fc-status": "500"}
        elif "plain" in q:
            status = int(q["plain"][0])
        out = ("done:" + url.path).encode()
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = answer


class Server(ThreadingHTTPServer):
    # Async workers may open many connections at once (the crash test).
    request_queue_size = 256
    daemon_threads = True


if __name__ == "__main__":
    print("asyncrec listening on 0.0.0.0:9000", flush=True)
    Server(("0.0.0.0", 9000), Handler).serve_forever()
