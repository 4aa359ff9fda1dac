package openfc.bootstrap;

import java.lang.reflect.Method;

/** What the adapters answer for Object's methods and the servlet methods openfc does not implement. */
final class Unsupported {
    private Unsupported() {}

    /** Object's methods on a proxy, else an UnsupportedOperationException naming the method. */
    static Object objectMethod(Object proxy, Method m, Object[] args, String what) {
        switch (m.getName()) {
            case "toString": return what;
            case "hashCode": return System.identityHashCode(proxy);
            case "equals": return proxy == args[0];
            default:
                throw new UnsupportedOperationException(m.getDeclaringClass().getSimpleName() + "." + m.getName() + " is not supported by openfc's Java runtime");
        }
    }
}
