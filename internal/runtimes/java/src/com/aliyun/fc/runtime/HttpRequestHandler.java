package com.aliyun.fc.runtime;

import java.io.IOException;
import javax.servlet.ServletException;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

/** FC 2.0's Java HTTP handler: a servlet-like entry point. */
public interface HttpRequestHandler {
    void handleRequest(HttpServletRequest request, HttpServletResponse response, Context context)
            throws IOException, ServletException;
}
