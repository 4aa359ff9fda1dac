package openfc.bootstrap;

import com.aliyun.fc.runtime.FunctionComputeLogger;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * The function's log: every line written inside a request (System.out,
 * System.err, context.getLogger()) gets FC's prefix "<time> <requestId>
 * [LEVEL] ", so that openfc's log pipeline files concurrent requests' lines
 * under their own request ids. Lines outside a request are written as they are.
 */
final class Log {
    /** The request id of the request a thread works for; inherited by the threads it starts. */
    static final InheritableThreadLocal<String> REQUEST = new InheritableThreadLocal<>();

    private static final PrintStream REAL = System.out;

    private Log() {}

    /** Routes System.out and System.err through the prefixing streams. */
    static void install() {
        System.setOut(new PrintStream(new LineStream("INFO"), true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(new LineStream("ERROR"), true, StandardCharsets.UTF_8));
    }

    /** Writes text as log lines of the current request at level. */
    static void emit(String level, String text) {
        String rid = REQUEST.get();
        StringBuilder out = new StringBuilder();
        for (String line : text.split("\r?\n", -1)) {
            if (rid == null || rid.isEmpty()) {
                out.append(line).append('\n');
            } else {
                out.append(Instant.now()).append(' ').append(rid).append(" [").append(level).append("] ").append(line).append('\n');
            }
        }
        synchronized (REAL) {
            REAL.print(out);
            REAL.flush();
        }
    }

    /** Writes what the current thread left unterminated on System.out and System.err. */
    static void flush() {
        System.out.flush();
        System.err.flush();
    }

    /** The logger of context.getLogger(). */
    static FunctionComputeLogger logger() {
        return new FunctionComputeLogger() {
            public void trace(String s) { emit("TRACE", s); }
            public void debug(String s) { emit("DEBUG", s); }
            public void info(String s) { emit("INFO", s); }
            public void warn(String s) { emit("WARN", s); }
            public void error(String s) { emit("ERROR", s); }
            public void fatal(String s) { emit("FATAL", s); }
        };
    }

    /** A stream that emits each complete line; each thread keeps its own partial line. */
    private static final class LineStream extends OutputStream {
        private final String level;
        private final ThreadLocal<ByteArrayOutputStream> pending = ThreadLocal.withInitial(ByteArrayOutputStream::new);

        LineStream(String level) {
            this.level = level;
        }

        @Override
        public void write(int b) {
            ByteArrayOutputStream buf = pending.get();
            if (b == '\n') {
                emit(level, buf.toString(StandardCharsets.UTF_8));
                buf.reset();
            } else {
                buf.write(b);
            }
        }

        @Override
        public void write(byte[] b, int off, int len) {
            for (int i = off; i < off + len; i++) {
                write(b[i]);
            }
        }

        /** A partial line is written at a request's end, not held into the next one. */
        @Override
        public void flush() {
            ByteArrayOutputStream buf = pending.get();
            if (buf.size() > 0) {
                emit(level, buf.toString(StandardCharsets.UTF_8));
                buf.reset();
            }
        }
    }
}
