"""An FC 2.0 Python HTTP function that answers with what it received, as
JSON: method, path, queries (a repeated key as a list), headers, body (text,
or base64 when it is not UTF-8), url and clientIP. openfc's e2e tests and
README use it; it runs unchanged on FC's python3.x runtimes."""

import base64
import json
import logging
import urllib.parse


def handler(environ, start_response):
    ctx = environ["fc.context"]
    queries = {}
    for k, v in urllib.parse.parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
        queries.setdefault(k, []).append(v)
    queries = {k: v[0] if len(v) == 1 else v for k, v in queries.items()}
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    size = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(size) if size else b""
    try:
        text, encoding = body.decode("utf-8"), "text"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(body).decode(), "base64"
    logging.getLogger().info("echo %s %s", environ["REQUEST_METHOD"], environ["PATH_INFO"])
    out = {
        "method": environ["REQUEST_METHOD"],
        "path": environ["PATH_INFO"],
        "queries": queries,
        "headers": headers,
        "body": text,
        "bodyEncoding": encoding,
        "url": environ["fc.request_uri"],
        "clientIP": environ.get("REMOTE_ADDR", ""),
        "requestId": ctx.request_id,
        "function": ctx.function.name,
    }
    data = json.dumps(out, indent=2).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [data]
