"""Python built-in runtime behaviours for openfc's e2e tests (WSGI, FC 2.0).

/boom raises; /slow?ms=N sleeps and logs two lines naming the request id;
/init answers how many times the initializer ran in this process;
/status?code=N answers status N with an X-Set header and two X-Multi
headers; anything else answers "ok <pid>"."""

import json
import logging
import os
import time
import urllib.parse

INIT_CALLS = 0


def initializer(context):
    global INIT_CALLS
    INIT_CALLS += 1


def handler(environ, start_response):
    path = environ["PATH_INFO"]
    rid = environ["fc.context"].request_id
    q = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    if path == "/boom":
        raise ValueError("boom from the handler")
    if path == "/status":
        code = int(q.get("code", ["200"])[0])
        start_response("%d Custom" % code, [("X-Set", "yes"), ("X-Multi", "a"), ("X-Multi", "b"), ("Content-Type", "text/plain")])
        return [b"status"]
    if path == "/slow":
        print("slow start", rid)
        time.sleep(int(q.get("ms", ["1000"])[0]) / 1000)
        logging.getLogger().info("slow end %s", rid)
        body = json.dumps({"RequestID": rid, "PID": os.getpid()})
    elif path == "/init":
        body = json.dumps({"InitCalls": INIT_CALLS, "PID": os.getpid()})
    else:
        body = "ok %d" % os.getpid()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]


def event(event, context):
    e = json.loads(event)
    return {"statusCode": 201, "headers": {"x-style": "event"}, "body": json.dumps({"rawPath": e["rawPath"], "method": e["requestContext"]["http"]["method"], "queries": e["queryParameters"]}), "isBase64Encoded": False}
