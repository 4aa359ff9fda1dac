package com.aliyun.fc.runtime;

/** The invoked function's service. */
public interface Service {
    String getName();

    String getLogProject();

    String getLogStore();

    String getQualifier();

    String getVersionId();
}
