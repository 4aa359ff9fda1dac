package openfc.bootstrap;

import com.sun.net.httpserver.HttpExchange;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.InputStreamReader;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.servlet.ReadListener;
import javax.servlet.ServletInputStream;
import javax.servlet.http.Cookie;
import javax.servlet.http.HttpServletRequest;

/**
 * An HttpServletRequest over one exchange: what FC's Java HTTP handlers
 * use. FC's own x-fc-* headers and hop-by-hop headers are hidden; the
 * client's address comes from X-Forwarded-For, which openfc's gateway sets.
 */
final class Request {
    private final HttpExchange ex;
    private final byte[] body;
    private final Map<String, List<String>> headers = new LinkedHashMap<>(); // lower-case names
    private final Map<String, List<String>> params = new LinkedHashMap<>();
    private final Map<String, Object> attrs = new HashMap<>();
    private String encoding;

    private Request(HttpExchange ex, byte[] body) {
        this.ex = ex;
        this.body = body;
        headers.putAll(visibleHeaders(ex));
        parse(ex.getRequestURI().getRawQuery());
        String ct = header("content-type");
        if (ct != null && ct.toLowerCase(Locale.ROOT).startsWith("application/x-www-form-urlencoded")) {
            parse(new String(body, StandardCharsets.ISO_8859_1));
        }
        attrs.put("FC_REQUEST_PATH", path());
        attrs.put("FC_REQUEST_URI", url() + (query() == null ? "" : "?" + query()));
        attrs.put("FC_REQUEST_CLIENT_IP", clientIP());
    }

    /** The servlet request of ex whose body is body. */
    static HttpServletRequest of(HttpExchange ex, byte[] body) {
        Request r = new Request(ex, body);
        return (HttpServletRequest) Proxy.newProxyInstance(Request.class.getClassLoader(),
                new Class<?>[] {HttpServletRequest.class}, (p, m, a) -> r.call(p, m, a));
    }

    /**
     * The request headers a handler sees, by lower-case name: FC's own
     * x-fc-* and hop-by-hop ones removed.
     */
    static Map<String, List<String>> visibleHeaders(HttpExchange ex) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        ex.getRequestHeaders().forEach((k, vs) -> {
            String lk = k.toLowerCase(Locale.ROOT);
            if (!lk.startsWith("x-fc-") && !lk.equals("connection") && !lk.equals("keep-alive") && !lk.equals("transfer-encoding")) {
                out.computeIfAbsent(lk, x -> new ArrayList<>()).addAll(vs);
            }
        });
        return out;
    }

    private void parse(String q) {
        if (q == null || q.isEmpty()) {
            return;
        }
        for (String pair : q.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String k = eq < 0 ? pair : pair.substring(0, eq);
            String v = eq < 0 ? "" : pair.substring(eq + 1);
            params.computeIfAbsent(decode(k), x -> new ArrayList<>()).add(decode(v));
        }
    }

    static String decode(String s) {
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return s; // a malformed escape is passed on as it came
        }
    }

    String header(String name) {
        List<String> vs = headers.get(name.toLowerCase(Locale.ROOT));
        return vs == null || vs.isEmpty() ? null : vs.get(0);
    }

    private String path() {
        return ex.getRequestURI().getPath();
    }

    private String query() {
        return ex.getRequestURI().getRawQuery();
    }

    private String clientIP() {
        return clientIP(ex);
    }

    /** The client's address: X-Forwarded-For's first, which openfc's gateway sets, else the peer's. */
    static String clientIP(HttpExchange ex) {
        String fwd = ex.getRequestHeaders().getFirst("X-Forwarded-For");
        if (fwd != null && !fwd.isBlank()) {
            return fwd.split(",")[0].trim();
        }
        return ex.getRemoteAddress().getAddress().getHostAddress();
    }

    private String scheme() {
        String s = ex.getRequestHeaders().getFirst("X-Forwarded-Proto");
        return s == null || s.isEmpty() ? "http" : s;
    }

    private String host() {
        String h = ex.getRequestHeaders().getFirst("X-Forwarded-Host");
        if (h == null || h.isEmpty()) {
            h = ex.getRequestHeaders().getFirst("Host");
        }
        return h == null ? "localhost" : h;
    }

    private String url() {
        String base = ex.getRequestHeaders().getFirst("X-Fc-Base-Path");
        base = base == null ? "" : base.replaceAll("/+$", "");
        return scheme() + "://" + host() + base + ex.getRequestURI().getRawPath();
    }

    private Map<String, String[]> paramMap() {
        Map<String, String[]> m = new LinkedHashMap<>();
        params.forEach((k, v) -> m.put(k, v.toArray(new String[0])));
        return Collections.unmodifiableMap(m);
    }

    private Cookie[] cookies() {
        List<Cookie> out = new ArrayList<>();
        for (String line : headers.getOrDefault("cookie", List.of())) {
            for (String part : line.split(";")) {
                int eq = part.indexOf('=');
                if (eq > 0) {
                    try {
                        out.add(new Cookie(part.substring(0, eq).trim(), part.substring(eq + 1).trim()));
                    } catch (IllegalArgumentException e) {
                        // a name the servlet API refuses: skipped, as containers do
                    }
                }
            }
        }
        return out.isEmpty() ? null : out.toArray(new Cookie[0]);
    }

    private ServletInputStream input() {
        ByteArrayInputStream in = new ByteArrayInputStream(body);
        return new ServletInputStream() {
            public int read() { return in.read(); }
            public int read(byte[] b, int off, int len) { return in.read(b, off, len); }
            public int available() { return in.available(); }
            public boolean isFinished() { return in.available() == 0; }
            public boolean isReady() { return true; }
            public void setReadListener(ReadListener l) { throw new UnsupportedOperationException("setReadListener"); }
        };
    }

    private Object call(Object proxy, Method m, Object[] a) throws Exception {
        String ct = header("content-type");
        switch (m.getName()) {
            case "getMethod": return ex.getRequestMethod();
            case "getRequestURI": return ex.getRequestURI().getRawPath();
            case "getPathInfo": return path();
            case "getServletPath": case "getContextPath": return "";
            case "getQueryString": return query();
            case "getRequestURL": return new StringBuffer(url());
            case "getScheme": return scheme();
            case "isSecure": return "https".equals(scheme());
            case "getServerName": return host().replaceAll(":\\d+$", "");
            case "getServerPort": {
                String h = host();
                int c = h.lastIndexOf(':');
                return c > 0 && h.substring(c + 1).matches("\\d+") ? Integer.parseInt(h.substring(c + 1)) : ("https".equals(scheme()) ? 443 : 80);
            }
            case "getProtocol": return ex.getProtocol();
            case "getRemoteAddr": case "getRemoteHost": return clientIP();
            case "getRemotePort": return ex.getRemoteAddress().getPort();
            case "getParameter": { List<String> v = params.get((String) a[0]); return v == null ? null : v.get(0); }
            case "getParameterValues": { List<String> v = params.get((String) a[0]); return v == null ? null : v.toArray(new String[0]); }
            case "getParameterNames": return Collections.enumeration(params.keySet());
            case "getParameterMap": return paramMap();
            case "getHeader": return header((String) a[0]);
            case "getHeaders": return Collections.enumeration(headers.getOrDefault(((String) a[0]).toLowerCase(Locale.ROOT), List.of()));
            case "getHeaderNames": return Collections.enumeration(headers.keySet());
            case "getIntHeader": { String v = header((String) a[0]); return v == null ? -1 : Integer.parseInt(v.trim()); }
            case "getCookies": return cookies();
            case "getContentType": return ct;
            case "getContentLength": return body.length;
            case "getContentLengthLong": return (long) body.length;
            case "getCharacterEncoding": return encoding;
            case "setCharacterEncoding": encoding = (String) a[0]; return null;
            case "getInputStream": return input();
            case "getReader": return new BufferedReader(new InputStreamReader(new ByteArrayInputStream(body), encoding == null ? "UTF-8" : encoding));
            case "getAttribute": return attrs.get((String) a[0]);
            case "setAttribute": attrs.put((String) a[0], a[1]); return null;
            case "removeAttribute": attrs.remove((String) a[0]); return null;
            case "getAttributeNames": return Collections.enumeration(new ArrayList<>(attrs.keySet()));
            case "getLocale": return Locale.getDefault();
            case "getDispatcherType": return javax.servlet.DispatcherType.REQUEST;
            default: return Unsupported.objectMethod(proxy, m, a, "HttpServletRequest " + ex.getRequestMethod() + " " + ex.getRequestURI());
        }
    }
}
