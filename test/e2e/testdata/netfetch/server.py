"""A custom-runtime function for openfc's instance network e2e tests.

Listens on 0.0.0.0:9000 (the CAPort, hard-coded: every instance has a
network of its own). GET / answers $NAME. GET /fetch?url=U fetches U
(3 s timeout) and answers 200 with its body, or 502 with
"error: <reason> after <ms> ms" when the fetch fails. GET /files answers
the instance's /etc/hosts and /etc/resolv.conf.
"""
import os
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body):
        b = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def do_GET(self):
        u = urlsplit(self.path)
        q = parse_qs(u.query)
        if u.path == "/fetch":
            began = time.monotonic()
            try:
                with urllib.request.urlopen(q["url"][0], timeout=3) as r:
                    self.answer(200, r.read().decode())
            except Exception as e:  # the test reads the reason
                ms = int((time.monotonic() - began) * 1000)
                self.answer(502, "error: %s after %d ms" % (getattr(e, "reason", e), ms))
            return
        if u.path == "/files":
            out = ""
            for f in ("/etc/hosts", "/etc/resolv.conf"):
                with open(f) as fh:
                    out += "== %s\n%s" % (f, fh.read())
            self.answer(200, out)
            return
        self.answer(200, os.environ.get("NAME", ""))


if __name__ == "__main__":
    sys.stdout.write("listening on 9000\n")
    sys.stdout.flush()
    ThreadingHTTPServer(("0.0.0.0", 9000), Handler).serve_forever()
