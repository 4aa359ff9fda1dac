package openfc.bootstrap;

import com.sun.net.httpserver.HttpExchange;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * FC 3.0's HTTP-trigger event for Java functions deployed from an fc3
 * s.yaml (OPENFC_HANDLER_STYLE=event): a StreamRequestHandler reads the
 * request as the event JSON on its InputStream, and what it writes to its
 * OutputStream is the answer: a {statusCode, headers, body, isBase64Encoded}
 * object, else a 200 body as it is (the rule of the Python bootstrap's
 * _openfc_event.py).
 */
final class Event {
    /** Response headers the bootstrap frames itself. */
    private static final List<String> FRAMING = List.of("connection", "keep-alive", "transfer-encoding", "content-length");

    final int status;
    final Map<String, List<String>> headers;
    final byte[] body;

    private Event(int status, Map<String, List<String>> headers, byte[] body) {
        this.status = status;
        this.headers = headers;
        this.body = body;
    }

    /** The event JSON (UTF-8) of exchange ex whose body is body. */
    static byte[] request(HttpExchange ex, byte[] body) {
        Map<String, Object> headers = new LinkedHashMap<>();
        // Repeated headers joined as one value, cookies with "; " as HTTP/2 does.
        Request.visibleHeaders(ex).forEach((k, vs) -> headers.put(k, String.join(k.equals("cookie") ? "; " : ", ", vs)));
        Map<String, Object> queries = new LinkedHashMap<>();
        String q = ex.getRequestURI().getRawQuery();
        if (q != null) {
            for (String pair : q.split("&")) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                String k = Request.decode(eq < 0 ? pair : pair.substring(0, eq));
                String v = Request.decode(eq < 0 ? "" : pair.substring(eq + 1));
                queries.merge(k, v, (a, b) -> a + "," + b);
            }
        }
        String text = utf8(body);
        String host = first(ex, "X-Forwarded-Host");
        if (host.isEmpty()) {
            host = first(ex, "Host");
        }
        String account = first(ex, "X-Fc-Account-Id");
        Instant now = Instant.now();
        Map<String, Object> http = new LinkedHashMap<>();
        http.put("method", ex.getRequestMethod());
        http.put("path", ex.getRequestURI().getPath());
        http.put("protocol", ex.getProtocol());
        http.put("sourceIp", Request.clientIP(ex));
        http.put("userAgent", first(ex, "User-Agent"));
        Map<String, Object> rc = new LinkedHashMap<>();
        rc.put("accountId", account.isEmpty() ? Env.get("FC_ACCOUNT_ID", "") : account);
        rc.put("domainName", host);
        rc.put("domainPrefix", host.split("\\.", -1)[0]);
        rc.put("http", http);
        rc.put("requestId", first(ex, "X-Fc-Request-Id"));
        rc.put("time", now.truncatedTo(ChronoUnit.SECONDS).toString());
        rc.put("timeEpoch", String.valueOf(now.toEpochMilli()));
        Map<String, Object> ev = new LinkedHashMap<>();
        ev.put("version", "v1");
        ev.put("rawPath", ex.getRequestURI().getRawPath());
        ev.put("headers", headers);
        ev.put("queryParameters", queries);
        ev.put("body", text != null ? text : Base64.getEncoder().encodeToString(body));
        ev.put("isBase64Encoded", text == null);
        ev.put("requestContext", rc);
        return Json.write(ev).getBytes(StandardCharsets.UTF_8);
    }

    private static String first(HttpExchange ex, String name) {
        String v = ex.getRequestHeaders().getFirst(name);
        return v == null ? "" : v;
    }

    /** b as UTF-8 text, or null when it is not valid UTF-8. */
    private static String utf8(byte[] b) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /**
     * The answer of what the handler wrote: a JSON object with statusCode
     * is taken apart (body decoded from base64 when isBase64Encoded, a
     * non-string body sent as its JSON); anything else is a 200 body as is.
     */
    static Event response(byte[] out) {
        Object v;
        try {
            String text = utf8(out);
            v = text == null ? null : Json.parse(text);
        } catch (IllegalArgumentException e) {
            v = null;
        }
        if (!(v instanceof Map) || !((Map<?, ?>) v).containsKey("statusCode")) {
            return new Event(200, Map.of(), out);
        }
        Map<?, ?> m = (Map<?, ?>) v;
        Object sc = m.get("statusCode");
        int status;
        try {
            status = sc instanceof Number ? ((Number) sc).intValue() : Integer.parseInt(String.valueOf(sc).trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("the handler's answer has statusCode " + Json.write(sc) + ", not a number", e);
        }
        Object b = m.containsKey("body") ? m.get("body") : "";
        byte[] body;
        if (Boolean.TRUE.equals(m.get("isBase64Encoded"))) {
            body = Base64.getDecoder().decode(String.valueOf(b));
        } else if (b instanceof String) {
            body = ((String) b).getBytes(StandardCharsets.UTF_8);
        } else {
            body = Json.write(b).getBytes(StandardCharsets.UTF_8);
        }
        Map<String, List<String>> headers = new LinkedHashMap<>();
        if (m.get("headers") instanceof Map) {
            ((Map<?, ?>) m.get("headers")).forEach((k, hv) -> {
                String name = String.valueOf(k);
                if (!FRAMING.contains(name.toLowerCase(Locale.ROOT)) && hv != null) {
                    headers.put(name, new ArrayList<>(List.of(hv instanceof String ? (String) hv : Json.write(hv))));
                }
            });
        }
        return new Event(status, headers, body);
    }
}
