package behave;

import com.aliyun.fc.runtime.Context;
import com.aliyun.fc.runtime.HttpRequestHandler;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicInteger;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

/**
 * Java built-in runtime behaviours for openfc's e2e tests: /boom throws;
 * /slow?ms=N sleeps and logs two lines naming the request id; /init answers
 * how many times the initializer ran in this process; /status?code=N answers
 * N with a header set and one deleted; anything else answers "ok <pid>".
 */
public class Behave implements HttpRequestHandler {
    private static final AtomicInteger INIT_CALLS = new AtomicInteger();

    public void initialize(Context context) {
        INIT_CALLS.incrementAndGet();
    }

    @Override
    public void handleRequest(HttpServletRequest req, HttpServletResponse resp, Context ctx) throws IOException {
        String path = req.getPathInfo();
        String rid = ctx.getRequestId();
        long pid = ProcessHandle.current().pid();
        String body;
        switch (path) {
            case "/boom":
                throw new IllegalStateException("boom from the handler");
            case "/slow":
                System.out.println("slow start " + rid);
                try {
                    Thread.sleep(Long.parseLong(req.getParameter("ms")));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                ctx.getLogger().info("slow end " + rid);
                body = "{\"RequestID\":\"" + rid + "\",\"PID\":" + pid + "}";
                break;
            case "/init":
                body = "{\"InitCalls\":" + INIT_CALLS.get() + ",\"PID\":" + pid + "}";
                break;
            case "/status":
                resp.setStatus(Integer.parseInt(req.getParameter("code")));
                resp.setHeader("X-Kept", "yes");
                resp.setHeader("X-Dropped", "soon");
                resp.setHeader("X-Dropped", null);
                resp.addHeader("X-Multi", "a");
                resp.addHeader("X-Multi", "b");
                body = "status";
                break;
            default:
                body = "ok " + pid;
        }
        resp.setContentType("text/plain");
        resp.getWriter().print(body);
    }
}
