"""openfc's bootstrap for FC's built-in Python runtimes (python3, python3.9, python3.10).

It serves the instance HTTP contract of a custom runtime (0.0.0.0:FC_SERVER_PORT,
FC's x-fc-* request headers, POST /initialize, GET /pre-stop) and calls the
user's handler in FC's signatures:

- OPENFC_HANDLER_STYLE=http (FC 2.0 HTTP functions): WSGI, handler(environ,
  start_response), environ carrying 'fc.context' and 'fc.request_uri'.
- OPENFC_HANDLER_STYLE=event (FC 3.0 HTTP triggers on built-in runtimes):
  handler(event, context), event being the JSON bytes of FC 3.0's HTTP event,
  the return value {statusCode, headers, body, isBase64Encoded}.
- x-fc-control-path /invoke (InvokeFunction), in both styles: handler(payload,
  context), the return value is the response body.

HTTP/1.1 with keep-alive, one thread per connection, at most
FC_INSTANCE_CONCURRENCY handlers at once. It is trusted code: a failed handler is
answered 502 with FC's error body, X-Fc-Error-Type and the instance's secret
X-Openfc-Runtime-Token, which the gateway alone keeps. Lines printed or logged
inside a handler get FC's prefix "<time> <requestId> [LEVEL] ", so that the log
pipeline can tell concurrent requests apart. Runs on Python 3.9 and later.
"""

import contextvars
import http.client
import http.server
import importlib
import io
import json
import logging
import os
import signal
import socketserver
import sys
import threading
import time
import traceback
import urllib.parse

from _openfc_event import FRAMING as _FRAMING, EventCodec

# FC bounds request headers by size (8 KB), not by count; http.client's
# default of 100 would refuse a request FC accepts.
http.client._MAXHEADERS = 1000

# The trusted channel's secret, out of the environment before user code runs.
_TOKEN = os.environ.pop("OPENFC_RUNTIME_TOKEN", "")
_REAL_STDOUT = sys.stdout
_request_id = contextvars.ContextVar("fc_request_id", default="")
_write_lock = threading.Lock()

# Request headers a handler never sees (FC strips them, §2.1 of the spec).
_HIDDEN = ("connection", "keep-alive", "transfer-encoding", "proxy-connection")


def _now():
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + ".%09dZ" % (ns % 10**9)


def _emit(level, text):
    """Writes text as FC log lines of the current request (raw outside one)."""
    rid = _request_id.get()
    out = []
    for line in text.splitlines():
        out.append("%s %s [%s] %s\n" % (_now(), rid, level, line) if rid else line + "\n")
    with _write_lock:
        _REAL_STDOUT.write("".join(out))
        _REAL_STDOUT.flush()


class _LineStream(io.TextIOBase):
    """sys.stdout/stderr: buffers each thread's partial line, emits whole lines."""

    def __init__(self, level, encoding):
        self._level = level
        self._local = threading.local()
        self._encoding = encoding

    @property
    def encoding(self):
        return self._encoding

    def writable(self):
        return True

    def write(self, s):
        buf = getattr(self._local, "buf", "") + s
        head, sep, tail = buf.rpartition("\n")
        self._local.buf = tail
        if sep:
            _emit(self._level, head + "\n")
        return len(s)

    def flush(self):
        buf = getattr(self._local, "buf", "")
        if buf:
            self._local.buf = ""
            _emit(self._level, buf)


def flush_logs():
    """Writes out the current thread's unterminated print line, if any."""
    sys.stdout.flush()
    sys.stderr.flush()


class _LogHandler(logging.Handler):
    """The root logger's handler: FC's "<time> <requestId> [LEVEL] msg" lines."""

    def emit(self, record):
        try:
            _emit(record.levelname, self.format(record))
        except Exception:  # noqa: BLE001 - logging must never fail a request
            self.handleError(record)


def _install_logging():
    sys.stdout = _LineStream("INFO", getattr(_REAL_STDOUT, "encoding", "utf-8"))
    sys.stderr = _LineStream("ERROR", getattr(_REAL_STDOUT, "encoding", "utf-8"))
    root = logging.getLogger()
    h = _LogHandler()
    h.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(h)
    root.setLevel(logging.INFO)  # FC's runtime logs INFO and up by default


class Credentials:
    def __init__(self, access_key_id, access_key_secret, security_token):
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.security_token = security_token


class FunctionMeta:
    def __init__(self, name, handler, memory, timeout, initializer):
        self.name = name
        self.handler = handler
        self.memory = memory
        self.timeout = timeout
        self.initializer = initializer


class ServiceMeta:
    def __init__(self, name, log_project, log_store, qualifier, version_id):
        self.name = name
        self.log_project = log_project
        self.log_store = log_store
        self.qualifier = qualifier
        self.version_id = version_id


class FCContext:
    """The context FC's Python runtime passes: snake_case fields."""

    def __init__(self, request_id, credentials, function, service, region, account_id):
        self.request_id = request_id
        self.credentials = credentials
        self.function = function
        self.service = service
        self.region = region
        self.account_id = account_id


def _int(v, default=0):
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


def make_context(h):
    """The FCContext of a request from its x-fc-* headers h (lower-case keys),
    the instance's environment filling in what they lack."""
    env = os.environ

    def get(header, var=""):
        return h.get(header) or (env.get(var, "") if var else "")

    creds = Credentials(get("x-fc-access-key-id", "ALIBABA_CLOUD_ACCESS_KEY_ID"),
                        get("x-fc-access-key-secret", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
                        get("x-fc-security-token", "ALIBABA_CLOUD_SECURITY_TOKEN"))
    fn = FunctionMeta(get("x-fc-function-name", "FC_FUNCTION_NAME"), get("x-fc-function-handler", "FC_FUNCTION_HANDLER"),
                      _int(get("x-fc-function-memory", "FC_FUNCTION_MEMORY_SIZE")), _int(get("x-fc-function-timeout", "FC_TIMEOUT")),
                      get("x-fc-function-initializer", "FC_FUNCTION_INITIALIZER"))
    svc = ServiceMeta(get("x-fc-service-name", "FC_SERVICE_NAME"), get("x-fc-service-logproject"), get("x-fc-service-logstore"),
                      get("x-fc-qualifier", "FC_QUALIFIER"), get("x-fc-version-id", "FC_VERSION_ID"))
    return FCContext(h.get("x-fc-request-id", ""), creds, fn, svc, get("x-fc-region", "FC_REGION"), get("x-fc-account-id", "FC_ACCOUNT_ID"))


class Code:
    """The user's module and functions, found by FC's "file.function" names."""

    def __init__(self, code_dir):
        self.code_dir = code_dir
        self._init_lock = threading.Lock()
        self._initialized = False
        if code_dir:
            sys.path.insert(0, code_dir)

    def resolve(self, name):
        """The function named "module.function" (the module path may be dotted)."""
        module, _, func = name.rpartition(".")
        module = module.replace("/", ".")  # "src/app.handler" is src/app.py
        if not module or not func:
            raise ValueError("handler %r is not of the form file.function" % name)
        mod = importlib.import_module(module)
        fn = getattr(mod, func, None)
        if fn is None:
            raise AttributeError("Handler '%s' is missing on module '%s'" % (func, module))
        return fn

    def initialize(self, name, ctx):
        """Runs the initializer once per instance; later calls do nothing."""
        with self._init_lock:
            if self._initialized:
                return
            self.resolve(name)(ctx)
            self._initialized = True


def error_body(exc):
    """FC's body of an unhandled error: errorMessage, errorType, stackTrace."""
    tb = traceback.extract_tb(exc.__traceback__)
    frames = ["File \"%s\", line %d, in %s" % (f.filename, f.lineno, f.name) for f in tb if not f.filename.endswith("bootstrap.py")]
    return json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__, "stackTrace": frames}).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "openfc-python"
    # Headers and body go out in separate writes; with Nagle on, the body
    # waits for the gateway's delayed ACK, 40 ms on every keep-alive
    # request (make bench: 22 req/s at one connection).
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # the gateway writes the access log

    def do_request(self):
        h = {k.lower(): v for k, v in self.headers.items()}
        rid = h.get("x-fc-request-id", "")
        token = _request_id.set(rid)
        try:
            body = self.read_body()
            control = h.get("x-fc-control-path", "")
            if control in ("/initialize", "/pre-stop", "/pre-freeze"):
                self.lifecycle(control, h)
                return
            with self.server.slots:
                if control == "/invoke":
                    self.invoke(body, h)
                elif self.server.style == "event":
                    self.event(body, h)
                else:
                    self.wsgi(body, h)
        finally:
            flush_logs()
            _request_id.reset(token)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_request

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        n = _int(self.headers.get("Content-Length"))
        return self.rfile.read(n) if n > 0 else b""

    def send_response(self, code, message=None):
        # A request's log lines reach the log before its answer does: the
        # log pipeline ends the invocation's log when the answer arrives.
        flush_logs()
        super().send_response(code, message)

    def fail(self, exc, status=502):
        """Answers a failed handler: FC's error shape on the trusted channel."""
        logging.getLogger("openfc").error("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip())
        self.respond(status, [("Content-Type", "application/json"), ("X-Fc-Error-Type", "UnhandledInvocationError"),
                              ("X-Openfc-Runtime-Token", _TOKEN)], error_body(exc))

    def respond(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def lifecycle(self, control, h):
        ctx = make_context(h)
        try:
            if control == "/initialize":
                name = h.get("x-fc-function-initializer") or os.environ.get("FC_FUNCTION_INITIALIZER", "")
                if name:
                    self.server.code.initialize(name, ctx)
            elif control == "/pre-stop":
                name = h.get("x-fc-instance-lifecycle-pre-stop-handler") or os.environ.get("FC_PRE_STOP_HANDLER", "")
                if name:
                    self.server.code.resolve(name)(ctx)
        except Exception as exc:  # noqa: BLE001 - any user error fails the hook
            self.fail(exc)
            return
        self.respond(200, [], b"")

    def invoke(self, payload, h):
        try:
            result = self.server.code.resolve(self.server.handler)(payload, make_context(h))
            body = result if isinstance(result, bytes) else str(result if result is not None else "").encode()
        except Exception as exc:  # noqa: BLE001
            self.fail(exc)
            return
        self.respond(200, [], body)

    def event(self, body, h):
        codec = self.server.event_codec
        try:
            result = self.server.code.resolve(self.server.handler)(codec.request(self, body, h, visible_headers(self), client_ip(self, h)), make_context(h))
            status, headers, out = codec.response(result)
        except Exception as exc:  # noqa: BLE001
            self.fail(exc)
            return
        self.respond(status, headers, out)

    def wsgi(self, body, h):
        environ = self.environ(body, h)
        state = {"status": None, "headers": None, "sent": False, "result": None}

        def start_response(status, headers, exc_info=None):
            if exc_info and state["sent"]:
                raise exc_info[1].with_traceback(exc_info[2])
            state["status"], state["headers"] = status, headers
            return lambda data: self.write_chunk(state, data)

        try:
            app = self.server.code.resolve(self.server.handler)
            result = state["result"] = app(environ, start_response)
            try:
                for data in result:
                    if data:
                        self.write_chunk(state, data)
                if not state["sent"]:
                    self.start(state)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception as exc:  # noqa: BLE001
            if state["sent"]:
                # Too late for an error answer: cut the response short.
                logging.getLogger("openfc").error("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip())
                self.close_connection = True
                return
            self.fail(exc)
            return
        if state["chunked"]:
            flush_logs()
            self.wfile.write(b"0\r\n\r\n")

    def start(self, state):
        """Sends the status line and headers: Content-Length when the body is
        known whole (the app's, or a one-element list), chunked otherwise."""
        if state["status"] is None:
            raise RuntimeError("the WSGI application returned without calling start_response")
        code = _int(state["status"].split(" ", 1)[0], 502)
        length = None
        self.send_response(code, state["status"].partition(" ")[2] or None)
        for k, v in state["headers"]:
            if k.lower() == "content-length":
                length = v
            elif k.lower() not in _FRAMING:
                self.send_header(k, v)
        result = state["result"]
        if length is None and isinstance(result, (list, tuple)) and self.command != "HEAD":
            length = str(sum(len(x) for x in result))
        bodiless = self.command == "HEAD" or code in (204, 304) or code < 200
        state["chunked"] = length is None and not bodiless
        if length is not None:
            self.send_header("Content-Length", length)
        elif state["chunked"]:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        state["sent"] = True
        state["bodiless"] = bodiless

    def write_chunk(self, state, data):
        if not state["sent"]:
            self.start(state)
        if state["bodiless"] or not data:
            return
        if state["chunked"]:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            self.wfile.write(data)

    def environ(self, body, h):
        path, _, query = self.path.partition("?")
        host = h.get("x-forwarded-host") or h.get("host", "")
        server_name, _, server_port = host.partition(":")
        scheme = h.get("x-forwarded-proto", "http")
        base = h.get("x-fc-base-path", "").rstrip("/")
        env = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": urllib.parse.unquote(path, encoding="latin-1"),
            "QUERY_STRING": query,
            "REQUEST_URI": self.path,
            "RAW_URI": self.path,
            "SERVER_NAME": server_name or "localhost",
            "SERVER_PORT": server_port or ("443" if scheme == "https" else "80"),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": client_ip(self, h),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": scheme,
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "fc.context": make_context(h),
            "fc.request_uri": "%s://%s%s%s" % (scheme, host, base, self.path),
        }
        env["CONTENT_LENGTH"] = str(len(body))
        for k, v in visible_headers(self).items():
            key = k.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                env["CONTENT_TYPE"] = v
            elif key != "CONTENT_LENGTH":
                env["HTTP_" + key] = v
        return env


def visible_headers(req):
    """The request's headers a handler sees: FC's own and hop-by-hop ones
    removed, repeated ones joined (cookies with "; ", as HTTP/2 does)."""
    out = {}
    for k, v in req.headers.items():
        lk = k.lower()
        if lk.startswith("x-fc-") or lk in _HIDDEN:
            continue
        if lk in out:
            out[lk] += ("; " if lk == "cookie" else ", ") + v
        else:
            out[lk] = v
    return out


def client_ip(req, h):
    fwd = h.get("x-forwarded-for", "")
    return fwd.split(",")[0].strip() if fwd else req.client_address[0]


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    _install_logging()
    concurrency = max(1, _int(os.environ.get("FC_INSTANCE_CONCURRENCY"), 1))
    code_dir = os.environ.get("FC_FUNC_CODE_PATH", os.getcwd())
    if code_dir and os.path.isdir(code_dir):
        os.chdir(code_dir)
    srv = Server(("0.0.0.0", _int(os.environ.get("FC_SERVER_PORT"), 9000)), Handler)
    srv.code = Code(code_dir)
    srv.handler = os.environ.get("FC_FUNCTION_HANDLER", "index.handler")
    srv.style = os.environ.get("OPENFC_HANDLER_STYLE", "http")
    srv.event_codec = EventCodec
    srv.slots = threading.BoundedSemaphore(concurrency)
    try:
        srv.code.resolve(srv.handler)  # import now: the cold start pays for it, not the first request
    except Exception:  # noqa: BLE001 - reported to every request instead, as FC does
        traceback.print_exc()
    # SIGTERM ends the instance at once (the preStop hook, if any, has
    # run): as pid 1 of a container the bootstrap would otherwise ignore
    # it and wait for SIGKILL.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
