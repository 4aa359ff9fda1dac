package event;

import com.aliyun.fc.runtime.Context;
import com.aliyun.fc.runtime.StreamRequestHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * FC 3.0's event style for Java: the HTTP request as the event JSON on
 * input, the answer as {statusCode, headers, body} on output. No JSON
 * library: the fields the test checks are taken with patterns.
 */
public class Echo implements StreamRequestHandler {
    private static String field(String json, String re) {
        Matcher m = Pattern.compile(re).matcher(json);
        return m.find() ? m.group(1) : "";
    }

    @Override
    public void handleRequest(InputStream input, OutputStream output, Context context) throws IOException {
        String ev = new String(input.readAllBytes(), StandardCharsets.UTF_8);
        if (field(ev, "\"rawPath\":\"([^\"]*)\"").equals("/boom")) {
            throw new IllegalStateException("boom from the event handler");
        }
        String body = "{\\\"rawPath\\\":\\\"" + field(ev, "\"rawPath\":\"([^\"]*)\"")
                + "\\\",\\\"method\\\":\\\"" + field(ev, "\"method\":\"([^\"]*)\"")
                + "\\\",\\\"k\\\":\\\"" + field(ev, "\"queryParameters\":\\{[^}]*\"k\":\"([^\"]*)\"")
                + "\\\",\\\"version\\\":\\\"" + field(ev, "\"version\":\"([^\"]*)\"")
                + "\\\",\\\"requestId\\\":\\\"" + field(ev, "\"requestId\":\"([^\"]*)\"") + "\\\"}";
        String answer = "{\"statusCode\":201,\"headers\":{\"x-style\":\"event\",\"content-type\":\"application/json\"},\"body\":\"" + body + "\",\"isBase64Encoded\":false}";
        output.write(answer.getBytes(StandardCharsets.UTF_8));
    }
}
