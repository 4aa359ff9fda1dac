package openfc.bootstrap;

import com.aliyun.fc.runtime.Context;
import java.io.File;
import java.io.IOException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The function's code: its jars (at the code directory's root and in lib/)
 * and loose classes (classes/ and the root) in a class loader whose parent
 * has the servlet API and com.aliyun.fc.runtime. A handler
 * "example.App::handleRequest" names a class, instantiated once per
 * instance, and its method.
 */
final class UserCode {
    private final URLClassLoader loader;
    private final ConcurrentHashMap<String, Object> instances = new ConcurrentHashMap<>();
    private boolean initialized;

    UserCode(File dir) throws IOException {
        List<URL> urls = new ArrayList<>();
        addJars(urls, dir);
        addJars(urls, new File(dir, "lib"));
        File classes = new File(dir, "classes");
        if (classes.isDirectory()) {
            urls.add(classes.toURI().toURL());
        }
        urls.add(dir.toURI().toURL());
        loader = new URLClassLoader(urls.toArray(new URL[0]), UserCode.class.getClassLoader());
    }

    private static void addJars(List<URL> urls, File dir) throws IOException {
        File[] jars = dir.listFiles((d, n) -> n.endsWith(".jar"));
        if (jars == null) {
            return;
        }
        Arrays.sort(jars);
        for (File j : jars) {
            urls.add(j.toURI().toURL());
        }
    }

    /** The method of handler h ("pkg.Class::method") taking n arguments, and its object. */
    Target resolve(String h, int n) throws ReflectiveOperationException {
        int sep = h.indexOf("::");
        if (sep <= 0 || sep + 2 >= h.length()) {
            throw new IllegalArgumentException("handler \"" + h + "\" must be package.Class::method, e.g. example.App::handleRequest");
        }
        String cls = h.substring(0, sep);
        String name = h.substring(sep + 2);
        Object obj = instance(cls);
        for (Method m : obj.getClass().getMethods()) {
            if (m.getName().equals(name) && m.getParameterCount() == n) {
                return new Target(obj, m);
            }
        }
        throw new NoSuchMethodException("class " + cls + " has no public method " + name + " taking " + n + " arguments");
    }

    private Object instance(String cls) throws ReflectiveOperationException {
        Object o = instances.get(cls);
        if (o != null) {
            return o;
        }
        Thread.currentThread().setContextClassLoader(loader);
        Object made = Class.forName(cls, true, loader).getDeclaredConstructor().newInstance();
        Object prev = instances.putIfAbsent(cls, made);
        return prev != null ? prev : made;
    }

    /** Runs the initializer once per instance; later calls do nothing. */
    synchronized void initialize(String h, Context ctx) throws Throwable {
        if (initialized || h == null || h.isEmpty()) {
            return;
        }
        resolve(h, 1).call(ctx);
        initialized = true;
    }

    ClassLoader loader() {
        return loader;
    }

    /** A method of the user's object. */
    static final class Target {
        final Object obj;
        final Method method;

        Target(Object obj, Method method) {
            this.obj = obj;
            this.method = method;
        }

        /** Calls the method, throwing what the user's code threw. */
        Object call(Object... args) throws Throwable {
            Thread.currentThread().setContextClassLoader(obj.getClass().getClassLoader());
            try {
                return method.invoke(obj, args);
            } catch (java.lang.reflect.InvocationTargetException e) {
                throw Failure.cause(e);
            }
        }
    }
}
