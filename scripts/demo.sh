#!/usr/bin/env bash
# Demo: start openfc on a fresh data dir, deploy the Express example from
# its s.yaml, call it with GET and POST, then stop the server.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=./bin/openfc
PORT=${PORT:-8080}
DATA=$(mktemp -d)
export OPENFC_DATA=$DATA OPENFC_ENDPOINT=http://127.0.0.1:$PORT
LOG=$DATA/serve.log

$BIN serve --listen 127.0.0.1:$PORT --admin-listen "" --data "$DATA" >"$LOG" 2>&1 &
SERVER=$!
cleanup() { kill -TERM $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT

for _ in $(seq 1 100); do
  grep -q 'openfc serving' "$LOG" && break
  kill -0 $SERVER 2>/dev/null || { cat "$LOG"; exit 1; }
  sleep 0.1
done
echo "== openfc serve is up on $OPENFC_ENDPOINT (data: $DATA)"

echo "== openfc deploy -f examples/express-hello/s.yaml"
$BIN deploy -f examples/express-hello/s.yaml

URL=$OPENFC_ENDPOINT/2016-08-15/proxy/demo/express-hello
echo "== curl $URL/any/path?x=1"
curl -sS -i "$URL/any/path?x=1"
echo
echo "== curl -X POST -d '{\"hello\":\"world\"}' $URL/items"
curl -sS -X POST -H 'Content-Type: application/json' -d '{"hello":"world"}' "$URL/items"
echo
echo "== openfc functions list demo"
$BIN functions list demo
