"""The echo function as a Flask app (Debian: apt-get install python3-flask),
deployed with `handler: flaskapp.handler`: FC's WSGI handler hands each
request to the app."""

import base64

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
@app.route("/<path:path>", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def echo(path):
    body = request.get_data()
    try:
        text, encoding = body.decode("utf-8"), "text"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(body).decode(), "base64"
    queries = {k: v[0] if len(v) == 1 else v for k, v in request.args.lists()}
    return jsonify(method=request.method, path=request.path, queries=queries,
                   headers={k.lower(): v for k, v in request.headers.items()},
                   body=text, bodyEncoding=encoding, url=request.environ["fc.request_uri"],
                   clientIP=request.remote_addr, framework="flask")


def handler(environ, start_response):
    return app(environ, start_response)
