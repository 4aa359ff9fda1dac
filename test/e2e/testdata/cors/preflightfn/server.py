"""A custom-runtime function for openfc's CORS browser test whose HTTP
trigger allows OPTIONS, so CORS preflights reach it.

It answers a preflight itself (status 200, so it is told apart from
openfc's own 204) allowing only POST with X-Custom and Content-Type, and
marks the answer with X-From-Function: yes. It does not send
Access-Control-Allow-Credentials, so a credentialed preflighted request
must fail unless openfc wrongly adds its defaults. Other requests get JSON
describing what arrived, without any CORS header of the function's own.
Every request is printed as "corsfn <METHOD> <path> ..." to stdout.
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_OPTIONS(self):
        origin = self.headers.get("Origin", "")
        sys.stdout.write("corsfn OPTIONS %s origin=%s request-method=%s request-headers=%s\n" % (
            self.path, origin, self.headers.get("Access-Control-Request-Method", ""),
            self.headers.get("Access-Control-Request-Headers", "")))
        sys.stdout.flush()
        self.send_response(200)
        if origin:
            self.send_header("Access-Control-Allow-Origin", origin)
        self.send_header("Access-Control-Allow-Headers", "X-Custom, Content-Type")
        self.send_header("Access-Control-Allow-Methods", "POST")
        self.send_header("X-From-Function", "yes")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def answer(self):
        sys.stdout.write("corsfn %s %s\n" % (self.command, self.path))
        sys.stdout.flush()
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        out = json.dumps({
            "name": "corsfn",
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
            "pid": os.getpid(),
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = answer


if __name__ == "__main__":
    print("corsfn listening on 0.0.0.0:9000", flush=True)
    ThreadingHTTPServer(("0.0.0.0", 9000), Handler).serve_forever()
