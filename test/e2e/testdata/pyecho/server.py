"""A small custom-runtime function for openfc's e2e tests.

Listens on 0.0.0.0:$PORT (default 9000, hard-coded on purpose) and answers
every request with JSON describing what it received. Special paths:
/sleep?ms=N waits, /crash exits the process, /print?msg=… prints a line.
"""
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

PORT = int(os.environ.get("ECHO_PORT", "9000"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stdout.write("request %s\n" % (fmt % args))
        sys.stdout.flush()

    def answer(self):
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if url.path == "/crash":
            sys.stdout.write("crashing on purpose\n")
            sys.stdout.flush()
            os._exit(3)
        if url.path == "/sleep":
            time.sleep(int(q.get("ms", ["100"])[0]) / 1000.0)
        if url.path == "/print":
            sys.stdout.write(q.get("msg", [""])[0] + "\n")
            sys.stdout.flush()
        out = json.dumps({
            "name": os.environ.get("ECHO_NAME", ""),
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
            "env": {k: v for k, v in os.environ.items() if k.startswith("FC_") or k.startswith("ECHO_")},
            "pid": os.getpid(),
            "cwd": os.getcwd(),
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = answer


if __name__ == "__main__":
    print("pyecho listening on 0.0.0.0:%d" % PORT, flush=True)
    ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
