package example;

import com.aliyun.fc.runtime.Context;
import com.aliyun.fc.runtime.FunctionInitializer;
import com.aliyun.fc.runtime.HttpRequestHandler;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Collections;
import java.util.Map;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

/**
 * An FC 2.0 Java HTTP function that answers with what it received, as JSON:
 * method, path, queries (a repeated key as a list), headers, body (text, or
 * base64 when it is not UTF-8), url and clientIP. It runs unchanged on FC's
 * java8 and java11 runtimes; openfc's e2e tests and README use it.
 */
public class App implements HttpRequestHandler, FunctionInitializer {
    @Override
    public void initialize(Context context) throws IOException {
        context.getLogger().info("initialized " + context.getFunctionParam().getFunctionName());
    }

    @Override
    public void handleRequest(HttpServletRequest request, HttpServletResponse response, Context context) throws IOException {
        byte[] body = request.getInputStream().readAllBytes();
        String text;
        String encoding = "text";
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(body)).toString();
        } catch (CharacterCodingException e) {
            text = Base64.getEncoder().encodeToString(body);
            encoding = "base64";
        }
        context.getLogger().info("echo " + request.getMethod() + " " + request.getAttribute("FC_REQUEST_PATH"));
        StringBuilder b = new StringBuilder("{");
        field(b, "method", request.getMethod()).append(',');
        field(b, "path", (String) request.getAttribute("FC_REQUEST_PATH")).append(",\"queries\":{");
        boolean first = true;
        for (Map.Entry<String, String[]> q : request.getParameterMap().entrySet()) {
            b.append(first ? "" : ",");
            first = false;
            quote(b, q.getKey()).append(':');
            if (q.getValue().length == 1) {
                quote(b, q.getValue()[0]);
            } else {
                b.append('[');
                for (int i = 0; i < q.getValue().length; i++) {
                    quote(b.append(i > 0 ? "," : ""), q.getValue()[i]);
                }
                b.append(']');
            }
        }
        b.append("},\"headers\":{");
        first = true;
        for (String h : Collections.list(request.getHeaderNames())) {
            field(b.append(first ? "" : ","), h.toLowerCase(), request.getHeader(h));
            first = false;
        }
        b.append("},");
        field(b, "body", text).append(',');
        field(b, "bodyEncoding", encoding).append(',');
        field(b, "url", request.getRequestURL().toString()).append(',');
        field(b, "clientIP", request.getRemoteAddr()).append(',');
        field(b, "requestId", context.getRequestId()).append(',');
        field(b, "function", context.getFunctionParam().getFunctionName()).append('}');
        response.setStatus(200);
        response.setContentType("application/json");
        response.getOutputStream().write(b.toString().getBytes(StandardCharsets.UTF_8));
    }

    private static StringBuilder field(StringBuilder b, String k, String v) {
        return quote(quote(b, k).append(':'), v);
    }

    private static StringBuilder quote(StringBuilder b, String s) {
        if (s == null) {
            return b.append("null");
        }
        b.append('"');
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"');
    }
}
