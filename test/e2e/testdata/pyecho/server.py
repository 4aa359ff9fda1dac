"""A small custom-runtime function for openfc's e2e tests.

Listens on 0.0.0.0:$PORT (default 9000, hard-coded on purpose) and answers
every request with JSON describing what it received. Special paths:
/sleep?ms=N waits, /crash exits the process, /print?msg=… prints a line.
/respond builds the response from the query: status=N (default 200),
repeated h=Name:Value headers, big=N (an X-Big header of N bytes) and
body=text; the request body is read and ignored. /broken?mode=length
declares a 1000-byte body, sends 400 bytes and exits the process;
/broken?mode=chunked sends a 400-byte chunk and drops the connection
without the last chunk. An event invocation (/invoke) whose body is
"broken:length" or "broken:chunked" does the same.
Request bodies are read by Content-Length or, when chunked, to the last
chunk.
"""
import json
import os
import socket
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

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def respond(self, q):
        status = int(q.get("status", ["200"])[0])
        out = q.get("body", [""])[0].encode()
        self.send_response(status)
        own_length = False
        for h in q.get("h", []):
            name, _, value = h.partition(":")
            own_length = own_length or name.lower() == "content-length"
            self.send_header(name, value)
        big = int(q.get("big", ["0"])[0])
        if big > 0:
            self.send_header("X-Big", "b" * big)
        bodyless = self.command == "HEAD" or status < 200 or status in (204, 304)
        if not own_length and not (status < 200 or status in (204, 304)):
            self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if not bodyless:
            self.wfile.write(out)

    def broken(self, mode):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        if mode == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"190\r\n" + b"c" * 400 + b"\r\n")
            self.wfile.flush()
            sys.stdout.write("broke a chunked answer off\n")
            sys.stdout.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b"l" * 400)
        self.wfile.flush()
        sys.stdout.write("exiting after 400 of 1000 bytes\n")
        sys.stdout.flush()
        os._exit(0)

    def answer(self):
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        body = self.read_body()
        if url.path == "/broken":
            self.broken(q.get("mode", ["length"])[0])
            return
        if url.path == "/invoke" and body.startswith(b"broken:"):
            self.broken(body[len(b"broken:"):].decode())
            return
        if url.path == "/respond":
            self.respond(parse_qs(url.query, keep_blank_values=True))
            return
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
