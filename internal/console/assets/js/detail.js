// A function's page: its configuration, its HTTP triggers' URLs, and Test
// Function, which calls the function through its proxy URL.
import * as api from './api.js';
import { sign } from './fcsign.js';
import { h, field, errorBox, showIn, busy, copyButton, formatTime } from './ui.js';

export async function functionPage(main, service, fn) {
  const errors = h('div', { class: 'errors', 'aria-live': 'polite' });
  main.replaceChildren(h('h1', {}, 'Function ', h('span', { class: 'name' }, `${service}/${fn}`)), errors);
  let f;
  let triggers;
  try {
    [f, triggers] = await Promise.all([api.getFunction(service, fn), api.listTriggers(service, fn)]);
  } catch (err) {
    showIn(errors, errorBox(err));
    return;
  }
  const http = ((triggers && triggers.triggers) || []).filter((t) => t.triggerType === 'http');
  main.append(
    configSection(f),
    triggersSection(http),
    testSection(service, fn, http[0]),
    deleteSection(service, fn, http, errors));
}

function configSection(f) {
  const rows = [
    ['Runtime', f.runtime], ['Handler', f.handler], ['Memory', `${f.memorySize} MB`],
    ['Timeout', `${f.timeout} s`], ['Instance concurrency', String(f.instanceConcurrency || 1)],
    ['Code size', `${f.codeSize} bytes`], ['Code checksum', f.codeChecksum || ''],
    ['Last modified', formatTime(f.lastModifiedTime)],
  ];
  return h('section', { class: 'card', 'aria-labelledby': 'config-h' },
    h('h2', { id: 'config-h' }, 'Configuration'),
    h('dl', { class: 'props' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])));
}

function triggersSection(http) {
  const body = http.length === 0
    ? [h('p', { class: 'empty' }, 'This function has no HTTP trigger.')]
    : http.map((t) => h('div', { class: 'trigger', dataset: { trigger: t.triggerName } },
      h('h3', {}, t.triggerName),
      h('p', {}, `Authentication: ${t.triggerConfig.authType}; methods: ${(t.triggerConfig.methods || []).join(', ')}`),
      t.urlInternet ? urlRow('Public URL', t.urlInternet, 'url-internet', t.triggerName) : null,
      t.urlIntranet ? urlRow('Proxy URL', t.urlIntranet, 'url-intranet', t.triggerName) : null,
      !t.urlInternet && !t.urlIntranet ? h('p', {}, 'Internet URL disabled.') : null));
  return h('section', { class: 'card', 'aria-labelledby': 'triggers-h' },
    h('h2', { id: 'triggers-h' }, 'HTTP triggers'), body);
}

function urlRow(label, url, cls, trigger) {
  return h('div', { class: 'url-row' },
    h('span', { class: 'url-label' }, `${label}:`),
    h('a', { class: cls, href: url, target: '_blank', rel: 'noopener noreferrer' }, url),
    copyButton(url, `Copy the ${label.toLowerCase()} of ${trigger}`));
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
    h('pre', { id: 'test-headers', class: 'output' }, [...resp.headers].map(([k, v]) => `${k}: ${v}`).join('\n')),
    h('h4', {}, 'Body'),
    h('pre', { id: 'test-response-body', class: 'output' }, text));
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

// deleteSection deletes the function's triggers, then the function, as
// FC refuses to delete a function that still has triggers.
function deleteSection(service, fn, triggers, errors) {
  const btn = h('button', { type: 'button', class: 'danger', id: 'delete-function' }, 'Delete function');
  const confirmBox = h('span', {});
  btn.addEventListener('click', () => {
    const yes = h('button', { type: 'button', class: 'danger' }, `Confirm: delete ${fn} and its triggers`);
    yes.addEventListener('click', async () => {
      try {
        for (const t of triggers) await api.deleteTrigger(service, fn, t.triggerName);
        await api.deleteFunction(service, fn);
        location.hash = `#/services/${encodeURIComponent(service)}`;
      } catch (err) {
        showIn(errors, errorBox(err));
      }
    });
    showIn(confirmBox, ' ', yes);
    yes.focus();
  });
  return h('section', { class: 'card', 'aria-labelledby': 'danger-h' },
    h('h2', { id: 'danger-h' }, 'Delete'), btn, confirmBox);
}
