package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// The PHP and Java pairs of runtimes.go: the same 30-byte text/plain
// answer through openfc's PHP and Java bootstraps and through each
// language's own plain server as a custom runtime.

// phpConcurrency is both PHP functions' instanceConcurrency and the
// custom server's PHP_CLI_SERVER_WORKERS: the bootstrap forks a worker
// process per concurrent request, so 100 would be 100 processes; 8 is a
// pool either server could be given.
const phpConcurrency = 8

// servletJar is the javax servlet API the built-in Java function is
// compiled against (Debian's libservlet-api-java; openfc's default too).
const servletJar = "/usr/share/java/servlet-api.jar"

// javaFlags are the JVM flags of openfc's Java launcher for a 128 MB
// function (internal/runtimes/java), given to the custom server too, so
// that the pair differs only in the server code.
const javaFlags = "-XX:+UseSerialGC, -XX:TieredStopAtLevel=1, -Xshare:auto, -Xmx96m"

var phpJavaRuntimeFns = []runtimeFn{
	{name: "php-builtin", props: "php7.2\n        handler: index.handler\n", concurrency: phpConcurrency, tools: []string{"php"}, files: map[string]string{"index.php": `<?php
use RingCentral\Psr7\Response;

const BODY = ` + strconv.Quote(upstreamBody) + `;

function handler($request, $context): Response
{
    return new Response(200, ['Content-Type' => 'text/plain'], BODY);
}
`}},
	// PHP's built-in web server with PHP_CLI_SERVER_WORKERS processes
	// sharing the socket (the bootstrap's model), -q: no line per
	// request on stderr. It closes the connection after each answer (it
	// has no keep-alive), which the bootstrap does not.
	{name: "php-custom", props: "custom\n        customRuntimeConfig:\n          command: [sh, -c, 'exec php -q -S \"0.0.0.0:$FC_SERVER_PORT\" router.php']\n          port: 9000\n" +
		fmt.Sprintf("        environmentVariables:\n          PHP_CLI_SERVER_WORKERS: \"%d\"\n", phpConcurrency),
		concurrency: phpConcurrency, tools: []string{"sh", "php"}, files: map[string]string{"router.php": `<?php
header('Content-Type: text/plain');
echo ` + strconv.Quote(upstreamBody) + `;
`}},
	{name: "java-builtin", props: "java11\n        handler: bench.App::handleRequest\n", concurrency: 100, tools: []string{"java", "javac", "jar"}, build: buildJavaBuiltin,
		files: map[string]string{"App.java": `package bench;

import com.aliyun.fc.runtime.Context;
import com.aliyun.fc.runtime.HttpRequestHandler;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

public class App implements HttpRequestHandler {
    private static final byte[] BODY = ` + strconv.Quote(upstreamBody) + `.getBytes(StandardCharsets.UTF_8);

    @Override
    public void handleRequest(HttpServletRequest request, HttpServletResponse response, Context context) throws IOException {
        response.setStatus(200);
        response.setHeader("Content-Type", "text/plain");
        response.getOutputStream().write(BODY);
    }
}
`}},
	// The JDK's HttpServer, as the bootstrap's: backlog 256, a cached
	// thread pool, the launcher's JVM flags, and like the bootstrap no
	// sun.net.httpserver.nodelay (headers and body are two writes: with
	// Nagle on, each keep-alive answer waits for the delayed ACK, 40 ms).
	{name: "java-custom", props: "custom\n        customRuntimeConfig:\n          command: [java]\n          args: [" + javaFlags + ", -cp, classes, bench.Server]\n          port: 9000\n",
		concurrency: 100, tools: []string{"java", "javac"}, build: buildJavaCustom, files: map[string]string{"Server.java": `package bench;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

public class Server {
    private static final byte[] BODY = ` + strconv.Quote(upstreamBody) + `.getBytes(StandardCharsets.UTF_8);

    public static void main(String[] args) throws IOException {
        // As the bootstrap does: head and body are two writes.
        System.setProperty("sun.net.httpserver.nodelay", "true");
        String p = System.getenv("FC_SERVER_PORT");
        int port = p == null || p.isEmpty() ? 9000 : Integer.parseInt(p);
        HttpServer srv = HttpServer.create(new InetSocketAddress("0.0.0.0", port), 256);
        srv.createContext("/", ex -> {
            try (InputStream in = ex.getRequestBody()) {
                in.readAllBytes();
            }
            ex.getResponseHeaders().set("Content-Type", "text/plain");
            ex.sendResponseHeaders(200, BODY.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(BODY);
            }
        });
        srv.setExecutor(Executors.newCachedThreadPool());
        srv.start();
    }
}
`}},
}

// buildJavaBuiltin compiles dir/App.java against openfc's
// com.aliyun.fc.runtime interfaces and the servlet API, as a user's build
// against fc-java-core would, into dir/app.jar holding the bench package
// only (FC provides com.aliyun.fc.runtime). Run from the repository root,
// as the bench is.
func buildJavaBuiltin(dir string) error {
	if _, err := os.Stat(servletJar); err != nil {
		return fmt.Errorf("the servlet API is needed (apt-get install libservlet-api-java): %w", err)
	}
	ifaces, err := filepath.Glob("internal/runtimes/java/src/com/aliyun/fc/runtime/*.java")
	if err != nil || len(ifaces) == 0 {
		return fmt.Errorf("openfc's com.aliyun.fc.runtime sources not found (run from the repository root)")
	}
	classes := filepath.Join(filepath.Dir(dir), "java-builtin.classes")
	args := append([]string{"--release", "11", "-nowarn", "-d", classes, "-cp", servletJar}, ifaces...)
	if err := runTool("javac", append(args, filepath.Join(dir, "App.java"))...); err != nil {
		return err
	}
	return runTool("jar", "cf", filepath.Join(dir, "app.jar"), "-C", classes, "bench")
}

// buildJavaCustom compiles dir/Server.java against the JDK only into
// dir/classes.
func buildJavaCustom(dir string) error {
	return runTool("javac", "--release", "11", "-d", filepath.Join(dir, "classes"), filepath.Join(dir, "Server.java"))
}

// runTool runs a build tool, its output in the error.
func runTool(name string, args ...string) error {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v\n%s", name, err, out)
	}
	return nil
}
