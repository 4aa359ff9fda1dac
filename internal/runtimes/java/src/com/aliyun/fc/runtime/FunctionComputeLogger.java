package com.aliyun.fc.runtime;

/** Writes lines to the function's log, prefixed with the time, the request id and the level. */
public interface FunctionComputeLogger {
    void trace(String string);

    void debug(String string);

    void info(String string);

    void warn(String string);

    void error(String string);

    void fatal(String string);
}
