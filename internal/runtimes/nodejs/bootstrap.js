'use strict';
// openfc's Node.js bootstrap: an HTTP server on FC_SERVER_PORT that turns
// the instance HTTP contract into calls of the function's handler (see
// runtime.js for the plumbing and the signatures).

const http = require('http');
const { Readable } = require('stream');
const rt = require('./runtime.js');

const { env, als, style } = rt;

// Headers FC does not hand to a handler (x-fc-* are FC's own), and those a
// handler may not set on its answer.
const hiddenRequest = new Set(['connection', 'keep-alive']);
const refusedResponse = new Set(['connection', 'content-length', 'date', 'keep-alive', 'server', 'upgrade', 'transfer-encoding']);

function handlerHeaders(raw) {
  const out = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!k.startsWith('x-fc-') && !hiddenRequest.has(k)) {
      out[k] = v;
    }
  }
  return out;
}

// queries turns a query string into FC's queries: a value per key, an
// array for a repeated key.
function queries(search) {
  const out = {};
  for (const [k, v] of new URLSearchParams(search)) {
    if (!(k in out)) {
      out[k] = v;
    } else if (Array.isArray(out[k])) {
      out[k].push(v);
    } else {
      out[k] = [out[k], v];
    }
  }
  return out;
}

function splitURL(url) {
  const i = url.indexOf('?');
  return i < 0 ? [url, ''] : [url.slice(0, i), url.slice(i + 1)];
}

function decodePath(p) {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

function clientIP(req) {
  const xff = req.headers['x-forwarded-for'];
  return xff ? xff.split(',')[0].trim() : req.socket.remoteAddress || '';
}

// Response is FC's response object of an http-style handler: nothing is
// sent until send().
class Response {
  constructor(res, done) {
    this._res = res;
    this._done = done;
    this._status = 200;
    this._headers = new Map(); // lower-case name → [name, value]
    this._sent = false;
  }

  setStatusCode(code) {
    if (!Number.isInteger(code) || code < 100 || code > 999) {
      throw new TypeError(`setStatusCode: invalid status code ${code}`);
    }
    this._status = code;
  }

  setHeader(name, value) {
    this._headers.set(String(name).toLowerCase(), [String(name), value]);
  }

  deleteHeader(name) {
    this._headers.delete(String(name).toLowerCase());
  }

  hasHeader(name) {
    return this._headers.has(String(name).toLowerCase());
  }

  send(body) {
    if (this._sent) {
      throw new Error('response.send was called twice');
    }
    const isStream = body instanceof Readable || (body && typeof body.pipe === 'function');
    if (!isStream && !Buffer.isBuffer(body) && typeof body !== 'string') {
      throw new TypeError('response.send takes a Buffer, a string or a stream.Readable');
    }
    this._sent = true;
    const res = this._res;
    res.statusCode = this._status;
    for (const [lower, [name, value]] of this._headers) {
      if (!lower.startsWith('x-fc-') && !refusedResponse.has(lower)) {
        res.setHeader(name, value);
      }
    }
    if (!isStream) {
      res.end(Buffer.isBuffer(body) ? body : Buffer.from(body));
      res.on('finish', () => this._done(null));
      return;
    }
    body.on('error', (err) => this._done(err));
    res.on('finish', () => this._done(null));
    body.pipe(res);
  }
}

// serveHTTP calls an http-style handler; the invocation ends when send()
// has sent the answer, or with the handler's error.
async function serveHTTP(req, res, ctx) {
  const fn = rt.exported(env.FC_FUNCTION_HANDLER || 'index.handler');
  const [p, search] = splitURL(req.url);
  req.headers = handlerHeaders(req.headers);
  req.path = decodePath(p);
  req.queries = queries(search);
  req.clientIP = ctx.clientIP;
  await new Promise((resolve, reject) => {
    const resp = new Response(res, (err) => (err ? reject(err) : resolve()));
    let r;
    try {
      r = fn(req, resp, ctx);
    } catch (err) {
      reject(err);
      return;
    }
    if (r && typeof r.then === 'function') {
      r.catch((err) => reject(err || new Error('promise rejected')));
    }
  });
}

const textType = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+(json|xml))/i;

// httpEvent is FC 3.0's event of an HTTP-trigger request.
function httpEvent(req, body, ctx) {
  const [rawPath, search] = splitURL(req.url);
  const headers = {};
  for (const [k, v] of Object.entries(handlerHeaders(req.headers))) {
    headers[k] = Array.isArray(v) ? v.join(',') : v;
  }
  const qs = {};
  for (const [k, v] of Object.entries(queries(search))) {
    qs[k] = Array.isArray(v) ? v.join(',') : v;
  }
  const text = body.length === 0 || textType.test(req.headers['content-type'] || '');
  const host = req.headers.host || '';
  const now = new Date();
  return {
    version: 'v1',
    rawPath,
    headers,
    queryParameters: qs,
    body: text ? body.toString('utf8') : body.toString('base64'),
    isBase64Encoded: !text,
    requestContext: {
      accountId: ctx.accountId,
      domainName: host,
      domainPrefix: host.split('.')[0],
      http: { method: req.method, path: decodePath(rawPath), protocol: 'HTTP/1.1', sourceIp: ctx.clientIP, userAgent: req.headers['user-agent'] || '' },
      requestId: ctx.requestId,
      time: now.toISOString().replace(/\.\d+Z$/, 'Z'),
      timeEpoch: String(now.getTime()),
    },
  };
}

// sendResult answers with an event handler's result: FC 3.0's
// {statusCode, headers, body, isBase64Encoded} for HTTP triggers, else
// the result itself as the body (JSON for an object).
function sendResult(res, result, httpTrigger) {
  if (httpTrigger && result && typeof result === 'object' && !Buffer.isBuffer(result) && 'statusCode' in result) {
    res.statusCode = Number(result.statusCode) || 200;
    for (const [k, v] of Object.entries(result.headers || {})) {
      if (!k.toLowerCase().startsWith('x-fc-') && !refusedResponse.has(k.toLowerCase())) {
        res.setHeader(k, v);
      }
    }
    const b = result.body === undefined || result.body === null ? '' : result.body;
    const buf = Buffer.isBuffer(b) ? b : Buffer.from(typeof b === 'string' ? b : JSON.stringify(b), result.isBase64Encoded ? 'base64' : 'utf8');
    res.end(buf);
    return;
  }
  if (result === undefined || result === null) {
    res.end();
  } else if (Buffer.isBuffer(result) || typeof result === 'string') {
    res.end(result);
  } else {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(result));
  }
}

async function serveEvent(req, res, ctx, httpTrigger) {
  const fn = rt.exported(env.FC_FUNCTION_HANDLER || 'index.handler');
  const body = await rt.readBody(req);
  const event = httpTrigger ? Buffer.from(JSON.stringify(httpEvent(req, body, ctx))) : body;
  sendResult(res, await rt.callHandler(fn, [event, ctx]), httpTrigger);
}

// initialize runs the initializer once per instance; a failed one may be
// tried again (the manager then stops the instance).
let initialized = false;
async function initialize(res, ctx) {
  if (!initialized && env.FC_FUNCTION_INITIALIZER) {
    await rt.callHandler(rt.exported(env.FC_FUNCTION_INITIALIZER), [ctx]);
  }
  initialized = true;
  res.end();
}

// preStop runs the function's preStop hook (instanceLifecycleConfig),
// if it names one, before the instance is stopped.
async function preStop(res, ctx) {
  if (env.FC_PRE_STOP_HANDLER) {
    await rt.callHandler(rt.exported(env.FC_PRE_STOP_HANDLER), [ctx]);
  }
  res.end();
}

function dispatch(req, res, ctx, control) {
  switch (control) {
    case '/initialize':
      return initialize(res, ctx);
    case '/pre-stop':
      return preStop(res, ctx);
    case '/pre-freeze':
      res.end();
      return Promise.resolve();
    case '/invoke':
      return serveEvent(req, res, ctx, false);
  }
  return style === 'event' ? serveEvent(req, res, ctx, true) : serveHTTP(req, res, ctx);
}

function onRequest(req, res) {
  const reqId = req.headers['x-fc-request-id'] || '';
  const control = req.headers['x-fc-control-path'] || '';
  const ctx = rt.makeContext(req.headers, reqId);
  ctx.clientIP = clientIP(req);
  // InvokeFunction's function errors are 200s with X-Fc-Error-Type; an
  // HTTP trigger's are 502s.
  const failStatus = control === '/invoke' ? 200 : 502;
  als.run({ reqId }, () => {
    dispatch(req, res, ctx, control).catch((err) => rt.sendError(res, failStatus, err, reqId));
  });
}

const server = http.createServer(onRequest);
// The daemon keeps idle connections to its instances and bounds each
// invocation with the function's timeout itself.
server.keepAliveTimeout = 0;
server.requestTimeout = 0;
server.headersTimeout = 0;
server.listen(Number(env.FC_SERVER_PORT || 9000), '0.0.0.0');

// SIGTERM ends the instance at once (the preStop hook, if any, has run):
// as pid 1 of a container the bootstrap would otherwise ignore it and
// wait for SIGKILL.
process.on('SIGTERM', () => process.exit(0));

// An error thrown outside any promise (a timer's callback) is logged and
// the instance keeps serving, as FC's runtime does.
process.on('uncaughtException', (err) => rt.writeLog(rt.als.getStore()?.reqId || '', 'ERROR', `Uncaught ${err && err.stack ? err.stack : err}`));
process.on('unhandledRejection', (err) => rt.writeLog('', 'ERROR', `Unhandled rejection ${err && err.stack ? err.stack : err}`));
