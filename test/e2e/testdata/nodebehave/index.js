'use strict';
// The behaviours the Node.js runtime e2e tests drive, by path:
// /echo (what it received), /status?code=N, /headers (set and delete),
// /stream, /throw, /reject, /slow?ms=N (logs before and after), /init
// (how many times the initializer ran on this instance).
const { Readable } = require('stream');

let inits = 0;

exports.initializer = (context, callback) => {
  inits++;
  console.log('initializer ran');
  callback(null, '');
};

// preStop (instanceLifecycleConfig.preStop) leaves a mark in $MARK_DIR
// when the instance is stopped.
exports.preStop = (context, callback) => {
  if (process.env.MARK_DIR) {
    require('fs').writeFileSync(require('path').join(process.env.MARK_DIR, 'prestop-' + context.requestId), 'ran');
  }
  callback(null, '');
};

function readBody(request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    request.on('data', (c) => chunks.push(c));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

exports.handler = async (request, response, context) => {
  const p = request.path;
  if (p.endsWith('/status')) {
    response.setStatusCode(Number(request.queries.code));
    response.send('status');
  } else if (p.endsWith('/headers')) {
    response.setHeader('X-Kept', 'yes');
    response.setHeader('X-Dropped', 'no');
    response.deleteHeader('x-dropped');
    response.setHeader('X-Fc-Error-Type', 'forged');
    response.send('headers');
  } else if (p.endsWith('/stream')) {
    response.send(Readable.from(['chunk1-', 'chunk2-', 'chunk3']));
  } else if (p.endsWith('/throw')) {
    throw new TypeError('thrown on purpose');
  } else if (p.endsWith('/reject')) {
    await Promise.reject(new RangeError('rejected on purpose'));
  } else if (p.endsWith('/slow')) {
    console.log(`slow start ${context.requestId}`);
    await new Promise((r) => setTimeout(r, Number(request.queries.ms || 500)));
    context.logger.info(`slow end ${context.requestId}`);
    response.send(JSON.stringify({ requestId: context.requestId, pid: process.pid }));
  } else if (p.endsWith('/init')) {
    response.send(JSON.stringify({ inits, pid: process.pid, initializer: context.function.initializer }));
  } else {
    const body = await readBody(request);
    response.setHeader('Content-Type', 'application/json');
    response.send(JSON.stringify({
      method: request.method, path: request.path, url: request.url, queries: request.queries,
      headers: request.headers, clientIP: request.clientIP, body: body.toString('base64'),
      requestId: context.requestId, function: context.function, service: context.service,
    }));
  }
};
