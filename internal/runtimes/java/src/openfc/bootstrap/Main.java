package openfc.bootstrap;

import com.aliyun.fc.runtime.FunctionComputeLogger;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

/**
 * openfc's bootstrap for FC's built-in Java runtimes (java8, java11). It
 * serves the instance HTTP contract of a custom runtime (0.0.0.0:FC_SERVER_PORT,
 * FC's x-fc-* request headers, POST /initialize, GET /pre-stop) with the
 * JDK's HTTP server (HTTP/1.1, keep-alive) and calls the user's handler:
 * an HttpRequestHandler for HTTP requests, a StreamRequestHandler for
 * InvokeFunction (x-fc-control-path /invoke) and for HTTP requests in FC
 * 3.0's event style (OPENFC_HANDLER_STYLE=event, see Event), at most
 * FC_INSTANCE_CONCURRENCY at once. It is trusted code: a failed handler is
 * answered 502 with FC's error body, X-Fc-Error-Type and the instance's
 * secret X-Openfc-Runtime-Token, which the gateway alone keeps.
 */
public final class Main {
    private final String token;
    private final UserCode code;
    private final String handler;
    private final Semaphore slots;
    /** FC 3.0's event style (a function deployed from an fc3 s.yaml) for HTTP requests. */
    private final boolean eventStyle;
    private final FunctionComputeLogger logger = Log.logger();

    private Main(String token, UserCode code, String handler, int concurrency, boolean eventStyle) {
        this.token = token;
        this.eventStyle = eventStyle;
        this.code = code;
        this.handler = handler;
        this.slots = new Semaphore(Math.max(1, concurrency));
    }

    public static void main(String[] args) throws Exception {
        // The JDK's server writes a response's head and body apart; with
        // Nagle on, the body waits for the peer's delayed ACK (40 ms).
        System.setProperty("sun.net.httpserver.nodelay", "true");
        String token = Env.takeToken();
        Log.install();
        File dir = new File(Env.get("FC_FUNC_CODE_PATH", System.getProperty("user.dir")));
        Main m = new Main(token, new UserCode(dir), Env.get("FC_FUNCTION_HANDLER", ""), Env.getInt("FC_INSTANCE_CONCURRENCY", 1),
                "event".equals(Env.get("OPENFC_HANDLER_STYLE", "http")));
        HttpServer srv = HttpServer.create(new InetSocketAddress("0.0.0.0", Env.getInt("FC_SERVER_PORT", 9000)), 256);
        srv.createContext("/", m::serve);
        // Lifecycle hooks must not wait behind busy handlers: one thread per
        // exchange, the handlers bounded by the semaphore.
        srv.setExecutor(Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "openfc-request");
            t.setDaemon(true);
            return t;
        }));
        srv.start();
    }

    private void serve(HttpExchange ex) {
        Headers h = ex.getRequestHeaders();
        Log.REQUEST.set(h.getFirst("X-Fc-Request-Id"));
        try (InputStream in = ex.getRequestBody()) {
            byte[] body = in.readAllBytes();
            String control = h.getFirst("X-Fc-Control-Path");
            FcContext ctx = new FcContext(h, logger);
            if ("/initialize".equals(control) || "/pre-stop".equals(control) || "/pre-freeze".equals(control)) {
                lifecycle(ex, control, ctx);
                return;
            }
            slots.acquireUninterruptibly();
            try {
                if ("/invoke".equals(control)) {
                    invoke(ex, body, ctx);
                } else if (eventStyle) {
                    event(ex, body, ctx);
                } else {
                    http(ex, body, ctx);
                }
            } finally {
                slots.release();
            }
        } catch (Throwable t) {
            fail(ex, Failure.cause(t));
        } finally {
            Log.flush();
            Log.REQUEST.remove();
            ex.close();
        }
    }

    private void lifecycle(HttpExchange ex, String control, FcContext ctx) throws Throwable {
        if ("/initialize".equals(control)) {
            code.initialize(Env.get("FC_FUNCTION_INITIALIZER", ""), ctx);
        } else if ("/pre-stop".equals(control)) {
            String h = Env.get("FC_PRE_STOP_HANDLER", "");
            if (!h.isEmpty()) {
                code.resolve(h, 1).call(ctx);
            }
        }
        send(ex, 200, Map.of(), new byte[0]);
    }

    private void invoke(HttpExchange ex, byte[] body, FcContext ctx) throws Throwable {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        code.resolve(handler, 3).call(new ByteArrayInputStream(body), out, ctx);
        send(ex, 200, Map.of(), out.toByteArray());
    }

    private void event(HttpExchange ex, byte[] body, FcContext ctx) throws Throwable {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        code.resolve(handler, 3).call(new ByteArrayInputStream(Event.request(ex, body)), out, ctx);
        Event e = Event.response(out.toByteArray());
        send(ex, e.status, e.headers, e.body);
    }

    private void http(HttpExchange ex, byte[] body, FcContext ctx) throws Throwable {
        HttpServletRequest req = Request.of(ex, body);
        HttpServletResponse[] resp = new HttpServletResponse[1];
        Response r = Response.create(resp);
        code.resolve(handler, 3).call(req, resp[0], ctx);
        r.finish();
        send(ex, r.status, r.headers, r.body.toByteArray());
    }

    private void fail(HttpExchange ex, Throwable t) {
        StringBuilder trace = new StringBuilder(t.toString());
        for (StackTraceElement e : t.getStackTrace()) {
            trace.append("\n\tat ").append(e);
        }
        Log.emit("ERROR", trace.toString());
        try {
            send(ex, 502, Map.of("Content-Type", List.of("application/json"),
                    "X-Fc-Error-Type", List.of("UnhandledInvocationError"),
                    "X-Openfc-Runtime-Token", List.of(token)), Failure.body(t));
        } catch (IOException e) {
            Log.emit("ERROR", "openfc: answering the error: " + e);
        }
    }

    private void send(HttpExchange ex, int status, Map<String, List<String>> headers, byte[] body) throws IOException {
        // The request's log lines reach the log before its answer: the log
        // pipeline ends the invocation's log when the answer arrives.
        Log.flush();
        Headers out = ex.getResponseHeaders();
        headers.forEach((k, v) -> {
            if (!k.equalsIgnoreCase("Content-Length") && !k.equalsIgnoreCase("Transfer-Encoding") && !k.equalsIgnoreCase("Connection")) {
                out.put(k, v);
            }
        });
        boolean none = body.length == 0 || "HEAD".equals(ex.getRequestMethod()) || status == 204 || status == 304;
        ex.sendResponseHeaders(status, none ? -1 : body.length);
        if (!none) {
            try (OutputStream o = ex.getResponseBody()) {
                o.write(body);
            }
        }
    }
}
