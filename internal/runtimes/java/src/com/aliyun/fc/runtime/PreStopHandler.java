package com.aliyun.fc.runtime;

import java.io.IOException;

/** Runs once before an instance stops. */
public interface PreStopHandler {
    void preStop(Context context) throws IOException;
}
