"""FC 3.0's HTTP-trigger event for built-in runtimes (part of openfc's Python
bootstrap): the request as the event JSON, the handler's return value as the
answer."""

import base64
import json
import os
import time
import urllib.parse

# Response headers the bootstrap frames itself.
FRAMING = ("connection", "keep-alive", "transfer-encoding", "content-length")


class EventCodec:
    """FC 3.0's HTTP-trigger event for built-in runtimes, both ways."""

    @staticmethod
    def request(req, body, h, headers, source_ip):
        """The event JSON (bytes) of request req: its body, FC's headers h
        (lower-case), the headers the handler sees and the client's address."""
        path, _, query = req.path.partition("?")
        queries = {}
        for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
            queries[k] = queries[k] + "," + v if k in queries else v
        try:
            text, b64 = body.decode("utf-8"), False
        except UnicodeDecodeError:
            text, b64 = base64.b64encode(body).decode(), True
        host = h.get("x-forwarded-host") or h.get("host", "")
        now = time.time()
        event = {
            "version": "v1",
            "rawPath": path,
            "headers": headers,
            "queryParameters": queries,
            "body": text,
            "isBase64Encoded": b64,
            "requestContext": {
                "accountId": h.get("x-fc-account-id") or os.environ.get("FC_ACCOUNT_ID", ""),
                "domainName": host,
                "domainPrefix": host.split(".")[0],
                "http": {"method": req.command, "path": urllib.parse.unquote(path), "protocol": req.request_version,
                         "sourceIp": source_ip, "userAgent": h.get("user-agent", "")},
                "requestId": h.get("x-fc-request-id", ""),
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                "timeEpoch": str(int(now * 1000)),
            },
        }
        return json.dumps(event).encode()

    @staticmethod
    def response(result):
        """(status, headers, body) of a handler's return value: the
        {statusCode, headers, body, isBase64Encoded} object, else the value
        itself as a 200 body (bytes or str as they are, others as JSON)."""
        if isinstance(result, (bytes, bytearray, str)):
            try:
                parsed = json.loads(result)
            except ValueError:
                parsed = None
            if not (isinstance(parsed, dict) and "statusCode" in parsed):
                return 200, [], bytes(result) if not isinstance(result, str) else result.encode()
            result = parsed
        if isinstance(result, dict) and "statusCode" in result:
            body = result.get("body", "")
            if result.get("isBase64Encoded"):
                body = base64.b64decode(body)
            elif isinstance(body, str):
                body = body.encode()
            elif not isinstance(body, (bytes, bytearray)):
                body = json.dumps(body).encode()
            headers = [(k, str(v)) for k, v in (result.get("headers") or {}).items() if k.lower() not in FRAMING]
            return int(result["statusCode"]), headers, bytes(body)
        if result is None:
            return 200, [], b""
        return 200, [("Content-Type", "application/json")], json.dumps(result).encode()
