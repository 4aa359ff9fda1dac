"""Handlers the bootstrap tests call, one function each."""

import base64
import json
import logging
import sys
import threading
import time

INIT_COUNT = 0
_lock = threading.Lock()


def echo(environ, start_response):
    size = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(size)
    ctx = environ["fc.context"]
    out = {
        "method": environ["REQUEST_METHOD"],
        "path": environ["PATH_INFO"],
        "query": environ["QUERY_STRING"],
        "headers": {k: v for k, v in environ.items() if k.startswith("HTTP_")},
        "contentType": environ.get("CONTENT_TYPE", ""),
        "body": base64.b64encode(body).decode(),
        "url": environ["fc.request_uri"],
        "remoteAddr": environ["REMOTE_ADDR"],
        "scheme": environ["wsgi.url_scheme"],
        "context": {
            "request_id": ctx.request_id,
            "access_key_id": ctx.credentials.access_key_id,
            "function": ctx.function.name,
            "handler": ctx.function.handler,
            "memory": ctx.function.memory,
            "service": ctx.service.name,
            "qualifier": ctx.service.qualifier,
            "region": ctx.region,
            "account_id": ctx.account_id,
        },
    }
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(out).encode()]


def raw(environ, start_response):
    """The body back, byte for byte; status and a header from the request;
    deletes nothing but never sets X-Deleted."""
    body = environ["wsgi.input"].read()
    status = environ.get("HTTP_X_WANT_STATUS", "200 OK")
    start_response(status, [("Content-Type", "application/octet-stream"), ("X-Echo-Len", str(len(body)))])
    return [body]


def stream(environ, start_response):
    """A body of unknown length: sent chunked, in pieces."""
    start_response("200 OK", [("Content-Type", "text/plain")])

    def gen():
        for i in range(3):
            yield b"part%d;" % i
            time.sleep(0.05)
    return gen()


def boom(environ, start_response):
    raise ValueError("bad input")


def slow(environ, start_response):
    time.sleep(0.6)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"slow done"]


def logs(environ, start_response):
    """Interleaves print, stderr and logging lines, each naming the tag it
    was asked for, so the test can check their request ids."""
    tag = environ["QUERY_STRING"]
    for i in range(5):
        print("print %s %d" % (tag, i))
        sys.stderr.write("stderr %s %d\n" % (tag, i))
        logging.getLogger("user").info("logging %s %d", tag, i)
        time.sleep(0.02)
    print("no newline %s" % tag, end="")
    start_response("200 OK", [])
    return [b"ok"]


def init(context):
    global INIT_COUNT
    with _lock:
        INIT_COUNT += 1
    print("initializing", context.request_id)


def count(environ, start_response):
    start_response("200 OK", [])
    return [str(INIT_COUNT).encode()]


def event(event, context):
    """FC 3.0 style: the event back in the body."""
    return {"statusCode": 201, "headers": {"X-Ev": "yes"}, "body": event.decode(), "isBase64Encoded": False}


def event_bin(event, context):
    ev = json.loads(event)
    return {"statusCode": 200, "body": ev["body"], "isBase64Encoded": ev["isBase64Encoded"]}


def event_plain(event, context):
    return {"hello": "world"}


def invoke(event, context):
    return b"got:" + event
