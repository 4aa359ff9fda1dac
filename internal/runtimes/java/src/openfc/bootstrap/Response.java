package openfc.bootstrap;

import java.io.ByteArrayOutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.charset.Charset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.servlet.ServletOutputStream;
import javax.servlet.WriteListener;
import javax.servlet.http.Cookie;
import javax.servlet.http.HttpServletResponse;

/**
 * An HttpServletResponse that buffers the answer: the bootstrap sends it
 * when the handler returns, so that a handler that throws is answered with
 * FC's error instead of half an answer.
 */
final class Response {
    int status = 200;
    final Map<String, List<String>> headers = new LinkedHashMap<>(); // names as the handler spelled them first
    final ByteArrayOutputStream body = new ByteArrayOutputStream();
    private String encoding;
    private PrintWriter writer;

    /** The proxy the handler gets, and the state it fills in. */
    static Response create(HttpServletResponse[] out) {
        Response r = new Response();
        out[0] = (HttpServletResponse) Proxy.newProxyInstance(Response.class.getClassLoader(),
                new Class<?>[] {HttpServletResponse.class}, (p, m, a) -> r.call(p, m, a));
        return r;
    }

    /** Flushes the writer into the body. */
    void finish() {
        if (writer != null) {
            writer.flush();
        }
    }

    private String key(String name) {
        for (String k : headers.keySet()) {
            if (k.equalsIgnoreCase(name)) {
                return k;
            }
        }
        return name;
    }

    private void set(String name, String value) {
        headers.remove(key(name));
        if (value != null) {
            headers.put(name, new ArrayList<>(List.of(value)));
        }
    }

    private void add(String name, String value) {
        headers.computeIfAbsent(key(name), x -> new ArrayList<>()).add(value);
    }

    private String first(String name) {
        List<String> v = headers.get(key(name));
        return v == null || v.isEmpty() ? null : v.get(0);
    }

    private Charset charset() {
        return Charset.forName(encoding == null ? "UTF-8" : encoding);
    }

    private ServletOutputStream output() {
        return new ServletOutputStream() {
            public void write(int b) { body.write(b); }
            public void write(byte[] b, int off, int len) { body.write(b, off, len); }
            public boolean isReady() { return true; }
            public void setWriteListener(WriteListener l) { throw new UnsupportedOperationException("setWriteListener"); }
        };
    }

    private void contentType(String ct) {
        set("Content-Type", ct);
        if (ct != null) {
            int i = ct.toLowerCase(Locale.ROOT).indexOf("charset=");
            if (i >= 0) {
                encoding = ct.substring(i + 8).trim();
            }
        }
    }

    private Object call(Object proxy, Method m, Object[] a) throws Exception {
        switch (m.getName()) {
            case "setStatus": status = (Integer) a[0]; return null;
            case "getStatus": return status;
            case "sendError":
                status = (Integer) a[0];
                body.reset();
                if (a.length > 1 && a[1] != null) {
                    body.write(((String) a[1]).getBytes(charset()));
                }
                return null;
            case "sendRedirect": status = 302; set("Location", (String) a[0]); return null;
            case "setHeader": set((String) a[0], (String) a[1]); return null;
            case "addHeader": add((String) a[0], (String) a[1]); return null;
            case "setIntHeader": set((String) a[0], String.valueOf(a[1])); return null;
            case "addIntHeader": add((String) a[0], String.valueOf(a[1])); return null;
            case "containsHeader": return headers.containsKey(key((String) a[0]));
            case "getHeader": return first((String) a[0]);
            case "getHeaders": { Collection<String> v = headers.get(key((String) a[0])); return v == null ? List.of() : new ArrayList<>(v); }
            case "getHeaderNames": return new ArrayList<>(headers.keySet());
            case "setContentType": contentType((String) a[0]); return null;
            case "getContentType": return first("Content-Type");
            case "setCharacterEncoding": encoding = (String) a[0]; return null;
            case "getCharacterEncoding": return encoding == null ? "UTF-8" : encoding;
            case "setContentLength": case "setContentLengthLong": return null; // the bootstrap sets it from the body
            case "getOutputStream": return output();
            case "getWriter":
                if (writer == null) {
                    writer = new PrintWriter(new OutputStreamWriter(body, charset()));
                }
                return writer;
            case "flushBuffer": finish(); return null;
            case "isCommitted": return false;
            case "reset": finish(); body.reset(); headers.clear(); status = 200; return null;
            case "resetBuffer": finish(); body.reset(); return null;
            case "setBufferSize": case "setLocale": return null;
            case "getBufferSize": return Integer.MAX_VALUE;
            case "getLocale": return Locale.getDefault();
            case "addCookie": add("Set-Cookie", cookie((Cookie) a[0])); return null;
            default: return Unsupported.objectMethod(proxy, m, a, "HttpServletResponse " + status);
        }
    }

    private static String cookie(Cookie c) {
        StringBuilder b = new StringBuilder(c.getName()).append('=').append(c.getValue() == null ? "" : c.getValue());
        if (c.getPath() != null) b.append("; Path=").append(c.getPath());
        if (c.getDomain() != null) b.append("; Domain=").append(c.getDomain());
        if (c.getMaxAge() >= 0) b.append("; Max-Age=").append(c.getMaxAge());
        if (c.getSecure()) b.append("; Secure");
        if (c.isHttpOnly()) b.append("; HttpOnly");
        return b.toString();
    }
}
