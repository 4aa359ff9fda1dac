// The management API, called from the browser: every request signed with
// FC's signature (fcsign.js) using the AccessKey kept in sessionStorage.
import { sign } from './fcsign.js';

export const apiVersion = '/2016-08-15';
const storageKey = 'openfc.accessKey';

// FCError is an error as FC reports it: HTTP status, ErrorCode,
// ErrorMessage and the request id.
export class FCError extends Error {
  constructor(status, code, message, requestId) {
    super(`${code}: ${message}`);
    this.status = status;
    this.code = code;
    this.errorMessage = message;
    this.requestId = requestId;
  }
}

// credentials returns the signed-in AccessKey, or null.
export function credentials() {
  try {
    const c = JSON.parse(sessionStorage.getItem(storageKey) || 'null');
    return c && c.accessKeyId && c.accessKeySecret ? c : null;
  } catch {
    return null;
  }
}

export function saveCredentials(cred) {
  sessionStorage.setItem(storageKey, JSON.stringify(cred));
}

export function forgetCredentials() {
  sessionStorage.removeItem(storageKey);
}

// errorOf builds the FCError of a failed answer from its text; an answer
// that is not FC's JSON error keeps its status and text.
export function errorOf(resp, text) {
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  const requestId = (data && data.RequestId) || resp.headers.get('x-fc-request-id') || '';
  if (data && data.ErrorCode) {
    return new FCError(resp.status, data.ErrorCode, data.ErrorMessage || '', requestId);
  }
  return new FCError(resp.status, `HTTP ${resp.status}`, text.slice(0, 500), requestId);
}

// signedFetch sends a signed management request and returns the open
// response, or throws the FCError of a failed one. path starts with
// apiVersion, its segments already URL-encoded, and carries no query:
// query (a string or URLSearchParams) is added after signing, as FC's
// management signature covers the path only. opts: headers, body,
// signal.
//
// A GET or HEAD that fails before any answer (fetch's TypeError) is sent
// again, signed anew, up to twice: Chromium fails requests waiting for a
// connection with ERR_NETWORK_CHANGED whenever a network interface
// appears, and openfc makes instance networks as functions start (see
// boot.js). A request that changes something is not repeated.
export async function signedFetch(method, path, query, opts = {}, cred = credentials()) {
  if (!cred) throw new FCError(0, 'NotSignedIn', 'sign in with an AccessKey first', '');
  const q = query ? `?${query}` : '';
  const retries = method === 'GET' || method === 'HEAD' ? 2 : 0;
  for (let attempt = 0; ; attempt += 1) {
    const headers = { ...(opts.headers || {}) };
    await sign(cred, method, decodeURIComponent(path), headers, null);
    let resp;
    try {
      resp = await fetch(path + q, {
        method, headers, body: opts.body, signal: opts.signal, credentials: 'omit', cache: 'no-store',
      });
    } catch (err) {
      if (!(err instanceof TypeError) || attempt >= retries || (opts.signal && opts.signal.aborted)) throw err;
      await new Promise((resolve) => { setTimeout(resolve, 150 * (attempt + 1)); });
      continue;
    }
    if (!resp.ok) throw errorOf(resp, await resp.text());
    return resp;
  }
}

// signedUpload sends a signed management request whose body may be large
// (a code package, an image tarball) and reports its progress: fetch
// cannot report an upload's progress, XMLHttpRequest can. It calls
// onProgress(sent, total) as the body goes out and resolves with the
// decoded JSON answer, or rejects with an FCError; signal aborts it.
export async function signedUpload(method, path, query, body, contentType, onProgress, signal) {
  const cred = credentials();
  if (!cred) throw new FCError(0, 'NotSignedIn', 'sign in with an AccessKey first', '');
  const headers = { 'content-type': contentType };
  await sign(cred, method, decodeURIComponent(path), headers, null);
  const size = body.size ?? body.byteLength ?? body.length;
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, path + (query ? `?${query}` : ''));
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.addEventListener('progress', (ev) => onProgress(ev.loaded, ev.lengthComputable ? ev.total : size));
    xhr.addEventListener('load', () => {
      if (xhr.status < 200 || xhr.status >= 300) {
        reject(errorOf({ status: xhr.status, headers: { get: (n) => xhr.getResponseHeader(n) } }, xhr.responseText));
        return;
      }
      try {
        resolve(xhr.responseText ? JSON.parse(xhr.responseText) : null);
      } catch (err) {
        reject(err);
      }
    });
    xhr.addEventListener('error', () => reject(new FCError(0, 'NetworkError', 'the upload failed: the connection was lost', '')));
    xhr.addEventListener('abort', () => reject(new FCError(0, 'Aborted', 'the upload was cancelled', '')));
    if (signal) signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}

// call sends a signed management request with a JSON body (if any);
// path may carry a query. It returns the decoded JSON answer (null for an
// empty one) or throws an FCError.
export async function call(method, path, body, cred = credentials()) {
  const headers = {};
  let payload;
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const [rawPath, query] = path.split('?');
  const resp = await signedFetch(method, rawPath, query, { headers, body: payload }, cred);
  const text = await resp.text();
  return text ? JSON.parse(text) : null;
}

// seg URL-encodes one path segment.
export function seg(s) {
  return encodeURIComponent(s);
}

// listAll reads every page of a list call (limit 100, nextToken) and
// returns the items under key.
export async function listAll(path, key) {
  const sep = path.includes('?') ? '&' : '?';
  let items = [];
  let next = '';
  do {
    const tok = next ? `&nextToken=${encodeURIComponent(next)}` : '';
    const data = await call('GET', `${path}${sep}limit=100${tok}`);
    items = items.concat((data && data[key]) || []);
    next = (data && data.nextToken) || '';
  } while (next);
  return items;
}

// The calls the pages make.
export const listServices = () => call('GET', `${apiVersion}/services?limit=100`);
export const createService = (name, description) =>
  call('POST', `${apiVersion}/services`, { serviceName: name, description });
export const deleteService = (name) => call('DELETE', `${apiVersion}/services/${seg(name)}`);
export const listFunctions = (svc) => call('GET', `${apiVersion}/services/${seg(svc)}/functions?limit=100`);
export const getFunction = (svc, fn) => call('GET', `${apiVersion}/services/${seg(svc)}/functions/${seg(fn)}`);
export const createFunction = (svc, spec) => call('POST', `${apiVersion}/services/${seg(svc)}/functions`, spec);
export const deleteFunction = (svc, fn) =>
  call('DELETE', `${apiVersion}/services/${seg(svc)}/functions/${seg(fn)}`);
export const listTriggers = (svc, fn) =>
  call('GET', `${apiVersion}/services/${seg(svc)}/functions/${seg(fn)}/triggers`);
export const createTrigger = (svc, fn, spec) =>
  call('POST', `${apiVersion}/services/${seg(svc)}/functions/${seg(fn)}/triggers`, spec);
export const deleteTrigger = (svc, fn, name) =>
  call('DELETE', `${apiVersion}/services/${seg(svc)}/functions/${seg(fn)}/triggers/${seg(name)}`);
