package openfc.bootstrap;

import com.aliyun.fc.runtime.Context;
import com.aliyun.fc.runtime.Credentials;
import com.aliyun.fc.runtime.FunctionComputeLogger;
import com.aliyun.fc.runtime.FunctionParam;
import com.aliyun.fc.runtime.Service;
import com.sun.net.httpserver.Headers;

/**
 * FC's context of one request, from the x-fc-* headers openfc sends each
 * request, falling back to the instance's FC_* environment.
 */
final class FcContext implements Context, Credentials, FunctionParam, Service {
    private final Headers h;
    private final FunctionComputeLogger logger;

    FcContext(Headers h, FunctionComputeLogger logger) {
        this.h = h;
        this.logger = logger;
    }

    private String get(String header, String env) {
        String v = h.getFirst(header);
        if (v != null && !v.isEmpty()) {
            return v;
        }
        v = env == null ? null : System.getenv(env);
        return v == null ? "" : v;
    }

    private int getInt(String header, String env) {
        try {
            return Integer.parseInt(get(header, env).trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    public String getRequestId() { return get("x-fc-request-id", null); }
    public Credentials getExecutionCredentials() { return this; }
    public FunctionParam getFunctionParam() { return this; }
    public FunctionComputeLogger getLogger() { return logger; }
    public Service getService() { return this; }
    public int getRetryCount() { return getInt("x-fc-retry-count", null); }

    public String getAccessKeyId() { return get("x-fc-access-key-id", "ALIBABA_CLOUD_ACCESS_KEY_ID"); }
    public String getAccessKeySecret() { return get("x-fc-access-key-secret", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"); }
    public String getSecurityToken() { return get("x-fc-security-token", "ALIBABA_CLOUD_SECURITY_TOKEN"); }

    public String getFunctionName() { return get("x-fc-function-name", "FC_FUNCTION_NAME"); }
    public String getFunctionHandler() { return get("x-fc-function-handler", "FC_FUNCTION_HANDLER"); }
    public String getFunctionInitializer() { return get("x-fc-function-initializer", "FC_FUNCTION_INITIALIZER"); }
    public int getExecTimeLimitInMillis() { return 1000 * getInt("x-fc-function-timeout", "FC_TIMEOUT"); }
    public int getMemoryLimitInMB() { return getInt("x-fc-function-memory", "FC_FUNCTION_MEMORY_SIZE"); }

    public String getName() { return get("x-fc-service-name", "FC_SERVICE_NAME"); }
    public String getLogProject() { return get("x-fc-service-logproject", null); }
    public String getLogStore() { return get("x-fc-service-logstore", null); }
    public String getQualifier() { return get("x-fc-qualifier", "FC_QUALIFIER"); }
    public String getVersionId() { return get("x-fc-version-id", "FC_VERSION_ID"); }
}
