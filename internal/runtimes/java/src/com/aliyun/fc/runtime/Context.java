package com.aliyun.fc.runtime;

/** What FC tells a handler about the request it runs: FC's fc-java-core interface. */
public interface Context {
    String getRequestId();

    Credentials getExecutionCredentials();

    FunctionParam getFunctionParam();

    FunctionComputeLogger getLogger();

    Service getService();

    int getRetryCount();
}
