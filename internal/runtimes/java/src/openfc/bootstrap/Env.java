package openfc.bootstrap;

import java.lang.reflect.Field;
import java.util.Map;

/** The instance's environment, as openfc's instance manager sets it. */
final class Env {
    private static final String TOKEN = "OPENFC_RUNTIME_TOKEN";

    private Env() {}

    static String get(String name, String def) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? def : v;
    }

    static int getInt(String name, int def) {
        try {
            return Integer.parseInt(get(name, String.valueOf(def)).trim());
        } catch (NumberFormatException e) {
            return def;
        }
    }

    /**
     * The trusted channel's secret, taken out of System.getenv() before user
     * code runs (the JVM is started with java.util opened to the bootstrap,
     * so that the unmodifiable view's map can be edited).
     */
    @SuppressWarnings("unchecked")
    static String takeToken() {
        Map<String, String> env = System.getenv();
        String token = env.getOrDefault(TOKEN, "");
        try {
            Field f = env.getClass().getDeclaredField("m");
            f.setAccessible(true);
            ((Map<String, String>) f.get(env)).remove(TOKEN);
        } catch (ReflectiveOperationException | RuntimeException e) {
            System.err.println("openfc: could not hide " + TOKEN + " from the function: " + e);
        }
        return token;
    }
}
