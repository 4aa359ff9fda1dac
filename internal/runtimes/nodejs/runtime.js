'use strict';
// The plumbing of openfc's Node.js bootstrap (bootstrap.js): logging,
// the function's module, calling a handler, errors and the context.
//
// The bootstrap serves the instance HTTP contract of a
// custom runtime (FC_SERVER_PORT, FC's x-fc-* request headers, the
// control paths) and calls the function's handler with FC's signatures:
//
//   http style (FC 2.0):  handler(request, response, context)
//   event style (FC 3.0): handler(event Buffer, context[, callback]) for
//                         HTTP triggers (a JSON event) and InvokeFunction
//   initializer:          initializer(context[, callback])
//
// The daemon starts it with the environment of internal/instance/spec.go
// plus FC_FUNCTION_INITIALIZER, FC_INSTANCE_CONCURRENCY,
// OPENFC_HANDLER_STYLE and OPENFC_RUNTIME_TOKEN.

const http = require('http');
const path = require('path');
const { AsyncLocalStorage } = require('async_hooks');
const util = require('util');

const env = process.env;
// The token marks this process's error answers as the runtime's own
// (X-Fc-Error-Type is kept only with it). Taken out of the environment so
// that child processes of the function do not inherit it.
const token = env.OPENFC_RUNTIME_TOKEN || '';
delete env.OPENFC_RUNTIME_TOKEN;
const style = env.OPENFC_HANDLER_STYLE === 'event' ? 'event' : 'http';
const codeDir = env.FC_FUNC_CODE_PATH || process.cwd();

// ---- logging: FC's "<time> <requestId> [LEVEL] <message>" lines ----

const als = new AsyncLocalStorage();
const stdoutWrite = process.stdout.write.bind(process.stdout);

// writeLog prints msg, each of its lines prefixed with the time, the
// request id (the log pipeline attributes the line by it) and the level.
// Outside any request the lines go out as they are.
function writeLog(reqId, level, msg) {
  if (!reqId) {
    stdoutWrite(msg + '\n');
    return;
  }
  const prefix = `${new Date().toISOString()} ${reqId} [${level}] `;
  stdoutWrite(msg.split('\n').map((l) => prefix + l).join('\n') + '\n');
}

function currentID() {
  const s = als.getStore();
  return s ? s.reqId : '';
}

for (const [name, level] of [['log', 'INFO'], ['info', 'INFO'], ['warn', 'WARN'], ['error', 'ERROR'], ['debug', 'DEBUG'], ['trace', 'DEBUG']]) {
  console[name] = (...args) => writeLog(currentID(), level, util.format(...args));
}

function makeLogger(reqId) {
  const at = (level) => (...args) => writeLog(reqId, level, util.format(...args));
  return { log: at('INFO'), info: at('INFO'), warn: at('WARN'), error: at('ERROR'), debug: at('DEBUG') };
}

// ---- the function's module ----

let loaded = null; // {mod} or {err}

function loadModule() {
  if (loaded) {
    return loaded;
  }
  try {
    const handler = env.FC_FUNCTION_HANDLER || 'index.handler';
    const file = handler.slice(0, handler.lastIndexOf('.'));
    loaded = { mod: require(path.resolve(codeDir, file)) };
  } catch (err) {
    loaded = { err };
  }
  return loaded;
}

// exported returns the function named by the last part of handler
// ("index.handler" → handler), or throws FC's kind of error.
function exported(handler) {
  const l = loadModule();
  if (l.err) {
    throw l.err;
  }
  const name = handler.slice(handler.lastIndexOf('.') + 1);
  const fn = l.mod[name];
  if (typeof fn !== 'function') {
    const err = new Error(`Handler '${name}' is missing on module '${handler.slice(0, handler.lastIndexOf('.'))}'`);
    err.name = 'HandlerNotFoundError';
    throw err;
  }
  return fn;
}

// ---- calling a handler ----

// callHandler calls fn(...args, callback) and settles with the first of
// the callback, the returned promise or the thrown error.
function callHandler(fn, args) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (f, v) => {
      if (!settled) {
        settled = true;
        f(v);
      }
    };
    const cb = (err, data) => (err ? settle(reject, err) : settle(resolve, data));
    let r;
    try {
      r = fn(...args, cb);
    } catch (err) {
      settle(reject, err);
      return;
    }
    if (r && typeof r.then === 'function') {
      r.then((v) => settle(resolve, v), (e) => settle(reject, e || new Error('promise rejected')));
    } else if (fn.length <= args.length) {
      settle(resolve, r); // takes no callback: its return is the result
    }
  });
}

// errorBody is FC's shape of a function error.
function errorBody(err) {
  if (!(err instanceof Error)) {
    return { errorMessage: typeof err === 'string' ? err : util.inspect(err), errorType: 'Error', stackTrace: [] };
  }
  const stack = String(err.stack || '').split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
  return { errorMessage: err.message, errorType: err.name || 'Error', stackTrace: stack };
}

// sendError answers a failed invocation with FC's error shape and the
// trusted headers; an answer already on its way is cut instead.
function sendError(res, status, err, reqId) {
  writeLog(reqId, 'ERROR', util.inspect(err));
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(JSON.stringify(errorBody(err)));
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': body.length,
    'X-Fc-Error-Type': 'UnhandledInvocationError',
    'X-Openfc-Runtime-Token': token,
  });
  res.end(body);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

// ---- the context ----

function makeContext(h, reqId) {
  const num = (v) => (v ? Number(v) : 0);
  return {
    requestId: reqId,
    credentials: {
      accessKeyId: h['x-fc-access-key-id'] || '',
      accessKeySecret: h['x-fc-access-key-secret'] || '',
      securityToken: h['x-fc-security-token'] || '',
    },
    function: {
      name: env.FC_FUNCTION_NAME || '',
      handler: env.FC_FUNCTION_HANDLER || '',
      memory: num(env.FC_FUNCTION_MEMORY_SIZE),
      timeout: num(env.FC_TIMEOUT),
      initializer: env.FC_FUNCTION_INITIALIZER || '',
      initializationTimeout: num(h['x-fc-initialization-timeout']),
    },
    service: {
      name: env.FC_SERVICE_NAME || '',
      qualifier: h['x-fc-qualifier'] || env.FC_QUALIFIER || '',
      versionId: h['x-fc-version-id'] || env.FC_VERSION_ID || '',
      logProject: h['x-fc-log-project'] || '',
      logStore: h['x-fc-log-store'] || '',
    },
    region: env.FC_REGION || '',
    accountId: h['x-fc-account-id'] || env.FC_ACCOUNT_ID || '',
    instanceID: env.FC_INSTANCE_ID || '',
    logger: makeLogger(reqId),
  };
}

module.exports = { callHandler, errorBody, sendError, readBody, makeContext, exported, writeLog, als, style, env, token };
