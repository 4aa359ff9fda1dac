// The Test Function tab: calls the function through its proxy URL, as a
// client would, signing the call when its trigger needs it.
import * as api from './api.js';
import { sign } from './fcsign.js';
import { h, field, errorBox, showIn, busy, output } from './ui.js';

export function testTab(el, ctx) {
  el.replaceChildren(testSection(ctx.service, ctx.fn, ctx.http[0]));
}

const testMethods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];

function testSection(service, fn, trigger) {
  const method = h('select', { name: 'method', id: 'test-method' }, testMethods.map((m) => h('option', { value: m }, m)));
  const path = h('input', { name: 'path', id: 'test-path', value: '/', autocomplete: 'off' });
  const body = h('textarea', { name: 'body', id: 'test-body', rows: 4, spellcheck: 'false', class: 'code' });
  const result = h('div', { id: 'test-result', 'aria-live': 'polite' });
  const form = h('form', { class: 'card', id: 'test-function', 'aria-labelledby': 'test-h' },
    h('h2', { id: 'test-h' }, 'Test function'),
    h('div', { class: 'grid' },
      field('Method', method),
      field('Path and query', path, 'Appended to the function\'s proxy URL, e.g. /hello?x=1')),
    field('Body', body),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Send request')),
    result);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, () => runTest(service, fn, trigger, method.value, path.value, body.value, result));
  });
  return form;
}

// proxyTarget returns the proxy-form URL of the test request, its
// decoded path and its query (for the signature).
function proxyTarget(service, fn, pathAndQuery) {
  let rel = pathAndQuery.trim() || '/';
  if (!rel.startsWith('/')) rel = `/${rel}`;
  const url = new URL(`${api.apiVersion}/proxy/${api.seg(service)}/${api.seg(fn)}${rel}`, location.origin);
  const query = {};
  for (const [k, v] of url.searchParams) (query[k] ||= []).push(v);
  return { url: url.pathname + url.search, path: decodeURIComponent(url.pathname), query };
}

async function runTest(service, fn, trigger, method, pathAndQuery, body, result) {
  const t = proxyTarget(service, fn, pathAndQuery);
  const headers = {};
  const hasBody = body !== '' && method !== 'GET' && method !== 'HEAD';
  if (hasBody) headers['content-type'] = 'text/plain;charset=UTF-8';
  if (trigger && trigger.triggerConfig.authType === 'function') {
    await sign(api.credentials(), method, t.path, headers, t.query);
  }
  showIn(result, h('p', {}, 'Sending…'));
  const start = performance.now();
  let resp;
  let text;
  try {
    resp = await fetch(t.url, { method, headers, body: hasBody ? body : undefined, credentials: 'omit', cache: 'no-store' });
    text = await resp.text();
  } catch (err) {
    showIn(result, errorBox(err));
    return;
  }
  const ms = performance.now() - start;
  const fcErr = resp.headers.get('x-fc-error-type') ? parseFCError(resp, text) : null;
  showIn(result,
    h('h3', {}, 'Response'),
    h('dl', { class: 'props' },
      h('dt', {}, 'Status'), h('dd', { id: 'test-status' }, `${resp.status} ${resp.statusText}`),
      h('dt', {}, 'Duration'), h('dd', { id: 'test-duration' }, `${ms.toFixed(1)} ms`),
      h('dt', {}, 'Request id'), h('dd', {}, h('code', {}, resp.headers.get('x-fc-request-id') || ''))),
    fcErr ? errorBox(fcErr) : null,
    h('h4', {}, 'Headers'),
    output('test-headers', 'Response headers', [...resp.headers].map(([k, v]) => `${k}: ${v}`).join('\n')),
    h('h4', {}, 'Body'),
    output('test-response-body', 'Response body', text));
}

function parseFCError(resp, text) {
  try {
    const d = JSON.parse(text);
    if (d.ErrorCode) {
      return new api.FCError(resp.status, d.ErrorCode, d.ErrorMessage || '', d.RequestId || resp.headers.get('x-fc-request-id') || '');
    }
  } catch {
    // not FC's JSON: the body is shown as it is
  }
  return null;
}

