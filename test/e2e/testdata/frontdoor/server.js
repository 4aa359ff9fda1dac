'use strict';
// A custom-runtime function for the front-door e2e tests
// (frontdoor_test.go), listening on $FC_SERVER_PORT (default 9000):
//   GET  /sleep?ms=N&tag=T  answers after N ms; when openfc cancels the
//                           request first (it closes the connection),
//                           prints "cancelled T" and answers nothing
//   POST /upload            reads the body as it comes (never whole) and
//                           answers {"bytes": n, "sha256": hex}
//   anything else           answers {"ok": true}
const http = require('http');
const crypto = require('crypto');

function reply(res, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://function');
  if (url.pathname.endsWith('/sleep')) {
    const ms = Number(url.searchParams.get('ms') || '5000');
    const tag = url.searchParams.get('tag') || '-';
    const timer = setTimeout(() => reply(res, { slept: ms, tag }), ms);
    res.on('close', () => {
      if (!res.writableFinished) {
        clearTimeout(timer);
        console.log('cancelled ' + tag);
      }
    });
  } else if (url.pathname.endsWith('/upload')) {
    const hash = crypto.createHash('sha256');
    let bytes = 0;
    req.on('data', (chunk) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => reply(res, { bytes, sha256: hash.digest('hex') }));
  } else {
    reply(res, { ok: true });
  }
});
server.keepAliveTimeout = 0; // openfc keeps its connections as long as it likes
server.listen(Number(process.env.FC_SERVER_PORT || 9000), '0.0.0.0');
