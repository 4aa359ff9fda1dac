// The Test Function tab: calls the function through its proxy URL, as a
// client would, signing the call when its trigger needs it. A synchronous
// run asks for the log tail (X-Fc-Log-Type: Tail) and shows the answer,
// duration, billed memory and log; an asynchronous one
// (X-Fc-Invocation-Type: Async) shows the 202's request id and, when the
// run is a task, follows the task's timeline until it ends.
import * as api from './api.js';
import { sign } from './fcsign.js';
import { h, field, errorBox, showIn, busy, output } from './ui.js';
import { kvEditor } from './kvedit.js';
import { followTask, taskDetail, stopTask, isFinal, childController } from './tasks.js';

export function testTab(el, ctx) {
  el.replaceChildren(testSection(ctx));
}

const testMethods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];

function testSection(ctx) {
  const c = {
    method: h('select', { name: 'method', id: 'test-method' }, testMethods.map((m) => h('option', { value: m }, m))),
    path: h('input', { name: 'path', id: 'test-path', value: '/', autocomplete: 'off' }),
    query: kvEditor({ id: 'test-query', legend: 'Query parameters', noun: 'query parameter', addLabel: 'Add query parameter' }),
    headers: kvEditor({ id: 'test-header', legend: 'Request headers', noun: 'header', keyLabel: 'Header', addLabel: 'Add header' }),
    body: h('textarea', { name: 'body', id: 'test-body', rows: 4, spellcheck: 'false', class: 'code' }),
    sync: h('input', { type: 'radio', name: 'invocation', id: 'test-sync', value: 'sync', checked: true }),
    async: h('input', { type: 'radio', name: 'invocation', id: 'test-async', value: 'async' }),
    taskId: h('input', { name: 'taskId', id: 'test-task-id-input', autocomplete: 'off', spellcheck: 'false', maxlength: 128 }),
  };
  const taskField = h('div', { id: 'test-task-field', hidden: true },
    field('Task id (optional)', c.taskId,
      'Sent as X-Fc-Stateful-Async-Invocation-Id, it makes the run a task. Empty: a task only when the function\'s async configuration has stateful invocation.'));
  const toggle = () => { taskField.hidden = !c.async.checked; };
  c.sync.addEventListener('change', toggle);
  c.async.addEventListener('change', toggle);
  const result = h('div', { id: 'test-result', 'aria-live': 'polite' });
  const form = h('form', { class: 'card', id: 'test-function', 'aria-labelledby': 'test-h' },
    h('h2', { id: 'test-h' }, 'Test function'),
    h('div', { class: 'grid' },
      field('Method', c.method),
      field('Path and query', c.path, 'Appended to the function\'s proxy URL, e.g. /hello?x=1; the parameters below are added to its query')),
    c.query.el,
    c.headers.el,
    field('Body', c.body),
    h('fieldset', { class: 'invocation' }, h('legend', {}, 'Invocation'),
      h('span', { class: 'check' }, c.sync, h('label', { for: c.sync.id }, 'Synchronous (with the log tail)')),
      h('span', { class: 'check' }, c.async, h('label', { for: c.async.id }, 'Run asynchronously')),
      taskField),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Send request')),
    result);
  // run follows the last async task; a new run, or leaving the page, stops it.
  let run = childController(ctx.signal);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    run.abort();
    run = childController(ctx.signal);
    const signal = run.signal;
    busy(form, () => runTest(ctx, c, result, signal));
  });
  return form;
}

// testRequest builds the request: the proxy-form URL (the query rows
// appended to the path's own query), its decoded path and query for the
// signature, and the headers without the signature.
export function testRequest(service, fn, pathAndQuery, queryRows, headerRows) {
  let rel = pathAndQuery.trim() || '/';
  if (!rel.startsWith('/')) rel = `/${rel}`;
  const url = new URL(`${api.apiVersion}/proxy/${api.seg(service)}/${api.seg(fn)}${rel}`, location.origin);
  for (const [k, v] of queryRows) url.searchParams.append(k, v);
  const query = {};
  for (const [k, v] of url.searchParams) (query[k] ||= []).push(v);
  const headers = {};
  for (const [k, v] of headerRows) headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
  return { url: url.pathname + url.search, path: decodeURIComponent(url.pathname), query, headers };
}

function hasHeader(headers, name) {
  return Object.keys(headers).some((k) => k.toLowerCase() === name);
}

async function runTest(ctx, c, result, signal) {
  const method = c.method.value;
  const isAsync = c.async.checked;
  const body = c.body.value;
  let t;
  try {
    t = testRequest(ctx.service, ctx.fn, c.path.value, c.query.rows(), c.headers.rows());
  } catch (err) {
    showIn(result, errorBox(err));
    return;
  }
  const headers = t.headers;
  const hasBody = body !== '' && method !== 'GET' && method !== 'HEAD';
  if (hasBody && !hasHeader(headers, 'content-type')) headers['content-type'] = 'text/plain;charset=UTF-8';
  if (isAsync) {
    headers['X-Fc-Invocation-Type'] = 'Async';
    if (c.taskId.value.trim()) headers['X-Fc-Stateful-Async-Invocation-Id'] = c.taskId.value.trim();
  } else {
    headers['X-Fc-Log-Type'] = 'Tail';
  }
  const trigger = ctx.http[0];
  if (trigger && trigger.triggerConfig.authType === 'function') {
    await sign(api.credentials(), method, t.path, headers, t.query);
  }
  showIn(result, h('p', { role: 'status' }, 'Sending…'));
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
  if (isAsync && resp.status === 202) {
    showAccepted(ctx, resp, result, signal);
    return;
  }
  showAnswer(ctx.f, resp, text, ms, result);
}

// decodeLogTail decodes X-Fc-Log-Result: base64 of the log's last bytes,
// shown as UTF-8 (a character cut at the start becomes U+FFFD).
export function decodeLogTail(b64) {
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
  return new TextDecoder('utf-8').decode(bytes);
}

// showAnswer shows a synchronous answer. FC bills the function's
// configured memory, whatever it used; the maximum used is shown only
// when the gateway reports it.
function showAnswer(f, resp, text, ms, result) {
  const fcErr = resp.headers.get('x-fc-error-type') ? api.errorOf(resp, text) : null;
  const reported = resp.headers.get('x-fc-invocation-duration');
  const maxMem = resp.headers.get('x-fc-max-memory-usage');
  const logB64 = resp.headers.get('x-fc-log-result');
  let log = null;
  if (logB64 !== null) {
    try {
      log = decodeLogTail(logB64);
    } catch {
      log = `(the log tail is not valid base64: ${logB64.slice(0, 80)})`;
    }
  }
  showIn(result,
    h('h3', {}, 'Response'),
    h('dl', { class: 'props' },
      h('dt', {}, 'Status'), h('dd', { id: 'test-status' }, `${resp.status} ${resp.statusText}`),
      h('dt', {}, 'Duration'), h('dd', {},
        h('span', { id: 'test-duration' }, reported ? `${reported} ms` : `${ms.toFixed(1)} ms`), ' ',
        h('small', { class: 'hint' }, reported ? '(reported by the function\'s gateway)' : '(measured in the browser)')),
      h('dt', {}, 'Billed memory'), h('dd', {}, h('span', { id: 'test-billed-memory' }, `${f.memorySize} MB`), ' ',
        h('small', { class: 'hint' }, '(the function\'s configured memory)')),
      maxMem ? [h('dt', {}, 'Max memory used'), h('dd', { id: 'test-max-memory' }, `${maxMem} MB`)] : null,
      h('dt', {}, 'Request id'), h('dd', {}, h('code', { id: 'test-request-id' }, resp.headers.get('x-fc-request-id') || ''))),
    fcErr ? errorBox(fcErr) : null,
    h('h4', {}, 'Log tail'),
    log === null ? h('p', { class: 'empty', id: 'test-log' }, 'The answer carries no log tail.') :
      output('test-log', 'Log tail', log || '(empty)'),
    h('h4', {}, 'Headers'),
    output('test-headers', 'Response headers', [...resp.headers].map(([k, v]) => `${k}: ${v}`).join('\n')),
    h('h4', {}, 'Body'),
    output('test-response-body', 'Response body', text));
}

// showAccepted shows an async run's 202 and, when it is a task (the
// gateway names it in X-Fc-Stateful-Async-Invocation-Id), follows the
// task until a final status.
function showAccepted(ctx, resp, result, signal) {
  const taskId = resp.headers.get('x-fc-stateful-async-invocation-id');
  const tasksHash = `#/services/${encodeURIComponent(ctx.service)}/functions/${encodeURIComponent(ctx.fn)}/async`;
  const live = h('p', { class: 'hint', id: 'test-task-live', role: 'status' });
  // The status line announces the task's progress; its redrawn detail
  // is not read out at every poll.
  const taskBox = h('div', { id: 'test-task', 'aria-live': 'off' });
  const errBox = h('div', {});
  const stopBtn = h('button', { type: 'button', class: 'danger', id: 'test-task-stop' }, 'Stop task');
  showIn(result,
    h('h3', {}, 'Accepted'),
    h('dl', { class: 'props' },
      h('dt', {}, 'Status'), h('dd', { id: 'test-status' }, `${resp.status} ${resp.statusText}`),
      h('dt', {}, 'Request id'), h('dd', {}, h('code', { id: 'test-request-id' }, resp.headers.get('x-fc-request-id') || '')),
      taskId ? [h('dt', {}, 'Task id'), h('dd', {}, h('code', { id: 'test-task-id' }, taskId))] : null),
    taskId ? [h('h4', {}, 'Task'), live, h('div', { class: 'actions' }, stopBtn), errBox, taskBox] :
      h('p', { class: 'empty' }, 'A plain asynchronous invocation: it has no task to follow. Enable stateful invocation on ',
        h('a', { href: tasksHash }, 'Async & Tasks'), ' or give a task id to follow a run.'));
  if (!taskId) return;
  stopBtn.addEventListener('click', async () => {
    stopBtn.disabled = true;
    try {
      await stopTask(ctx.service, ctx.fn, taskId);
    } catch (err) {
      showIn(errBox, errorBox(err));
      stopBtn.disabled = false;
    }
  });
  live.textContent = 'Following the task…';
  followTask(ctx.service, ctx.fn, taskId, signal, (task) => {
    showIn(errBox);
    showIn(taskBox, taskDetail(task, 'test-task'));
    if (isFinal(task.status)) {
      live.textContent = `The task ended: ${task.status}.`;
      stopBtn.hidden = true;
    }
  }, (err) => showIn(errBox, errorBox(err)));
}
