package openfc.bootstrap;

import java.lang.reflect.InvocationTargetException;
import java.nio.charset.StandardCharsets;

/** FC's body of an unhandled error: {errorMessage, errorType, stackTrace}. */
final class Failure {
    private Failure() {}

    /** The user's exception behind reflection's wrapper. */
    static Throwable cause(Throwable t) {
        while (t instanceof InvocationTargetException && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    static byte[] body(Throwable t) {
        StringBuilder b = new StringBuilder("{\"errorMessage\":");
        quote(b, t.getMessage() == null ? t.toString() : t.getMessage());
        b.append(",\"errorType\":");
        quote(b, t.getClass().getName());
        b.append(",\"stackTrace\":[");
        boolean first = true;
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.getClassName().startsWith("openfc.bootstrap.")) {
                break; // the bootstrap's own frames are below the user's
            }
            if (e.getClassName().startsWith("jdk.internal.reflect.") || e.getClassName().startsWith("java.lang.reflect.")) {
                continue;
            }
            if (!first) {
                b.append(',');
            }
            first = false;
            quote(b, e.toString());
        }
        return b.append("]}").toString().getBytes(StandardCharsets.UTF_8);
    }

    static void quote(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                default:
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
            }
        }
        b.append('"');
    }
}
