package com.aliyun.fc.runtime;

/** The invoked function's configuration. */
public interface FunctionParam {
    String getFunctionName();

    String getFunctionHandler();

    String getFunctionInitializer();

    int getExecTimeLimitInMillis();

    int getMemoryLimitInMB();
}
