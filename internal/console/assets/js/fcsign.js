// FC's request signature (the scheme of pkg/fcsign and the official
// SDKs), for the browser and for Node (the Go tests run it to check that
// both sides sign alike):
//
//   METHOD \n Content-MD5 \n Content-Type \n Date \n
//   CanonicalizedFCHeaders   one "name:value\n" per x-fc-* header, sorted
//   CanonicalizedResource    the decoded path (+ "\n" + sorted query items
//                            for HTTP-trigger requests)
//
// A browser may not set the Date header (fetch drops it), so the console
// sends its date as x-fc-date, which is signed among the x-fc-* headers
// and which the server checks when Date is absent.

export const proxyPrefix = '/2016-08-15/proxy/';

// headerValue finds a header case-insensitively; several values (an
// array) are trimmed and joined with ",", as fcsign.HeaderValue does.
function headerValue(headers, name) {
  const want = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) {
    if (k.trim().toLowerCase() === want) {
      return Array.isArray(v) ? v.map(trimOWS).join(',') : trimOWS(String(v));
    }
  }
  return '';
}

function trimOWS(s) {
  return s.replace(/^[ \t]+|[ \t]+$/g, '');
}

// Byte-wise comparison, as Go's sort.Strings orders strings.
function compareBytes(a, b) {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  const n = Math.min(ea.length, eb.length);
  for (let i = 0; i < n; i++) {
    if (ea[i] !== eb[i]) return ea[i] - eb[i];
  }
  return ea.length - eb.length;
}

function canonicalFCHeaders(headers) {
  const merged = new Map();
  const keys = Object.keys(headers).filter((k) => k.trim().toLowerCase().startsWith('x-fc-'));
  keys.sort(compareBytes);
  for (const k of keys) {
    const name = k.trim().toLowerCase();
    const v = headers[k];
    const vals = Array.isArray(v) ? v.map(trimOWS) : [trimOWS(String(v))];
    merged.set(name, (merged.get(name) || []).concat(vals));
  }
  const names = [...merged.keys()].sort(compareBytes);
  return names.map((n) => `${n}:${merged.get(n).join(',')}\n`).join('');
}

// canonicalQuery: one "key=value" item per value (a bare key for a key
// with no values), sorted, joined with "\n". query maps a key to an array
// of values.
function canonicalQuery(query) {
  const items = [];
  for (const [k, vs] of Object.entries(query || {})) {
    if (vs.length === 0) items.push(k);
    for (const v of vs) items.push(`${k}=${v}`);
  }
  items.sort(compareBytes);
  return items.join('\n');
}

// stringToSign returns the string FC signs. path is the URL-decoded path;
// query (an object of arrays) is signed only when withQuery is true.
export function stringToSign(method, path, headers, query, withQuery) {
  let s = `${method.toUpperCase()}\n${headerValue(headers, 'content-md5')}\n` +
    `${headerValue(headers, 'content-type')}\n${headerValue(headers, 'date')}\n` +
    canonicalFCHeaders(headers) + path;
  if (withQuery) s += '\n' + canonicalQuery(query);
  return s;
}

function base64(bytes) {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

// signature is base64(HMAC-SHA256(secret, stringToSign)) with Web Crypto.
export async function signature(secret, sts) {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey('raw', enc.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return base64(new Uint8Array(await crypto.subtle.sign('HMAC', key, enc.encode(sts))));
}

// sign adds x-fc-date (unless the headers carry a date already) and
// Authorization to headers (a plain object) for a request; path is the
// decoded path, query an object of arrays. It returns headers.
export async function sign(cred, method, path, headers, query) {
  if (!headerValue(headers, 'date') && !headerValue(headers, 'x-fc-date')) {
    headers['x-fc-date'] = new Date().toUTCString();
  }
  const sts = stringToSign(method, path, headers, query, path.startsWith(proxyPrefix));
  headers.Authorization = `FC ${cred.accessKeyId}:${await signature(cred.accessKeySecret, sts)}`;
  return headers;
}
