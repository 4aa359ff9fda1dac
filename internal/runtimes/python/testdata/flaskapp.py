from flask import Flask, jsonify, request

app = Flask(__name__)


@app.route("/hello/<name>", methods=["GET", "POST"])
def hello(name):
    return jsonify(name=name, args=request.args.to_dict(flat=False), body=request.get_data(as_text=True),
                   url=request.environ["fc.request_uri"])


@app.route("/status")
def status():
    return "teapot", 418, {"X-Flask": "1"}


def handler(environ, start_response):
    return app(environ, start_response)
