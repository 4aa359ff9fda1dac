// Asynchronous invocation's management calls (a function's async config
// and its tasks, FC 2.0's stateful async invocations), a task's
// timeline, and following a task until it ends. Used by the Test
// Function tab (an async run) and the Async & Tasks tab.
import * as api from './api.js';
import { h, formatTime, output } from './ui.js';

const fnPath = (svc, fn) => `${api.apiVersion}/services/${api.seg(svc)}/functions/${api.seg(fn)}`;

export const getAsyncConfig = (svc, fn) => api.call('GET', `${fnPath(svc, fn)}/async-invoke-config`);
export const putAsyncConfig = (svc, fn, cfg) => api.call('PUT', `${fnPath(svc, fn)}/async-invoke-config`, cfg);
export const deleteAsyncConfig = (svc, fn) => api.call('DELETE', `${fnPath(svc, fn)}/async-invoke-config`);

// listTasks lists tasks; filter holds the query the API takes (limit,
// nextToken, status, invocationIdPrefix, startedTimeBegin/End in ms).
export function listTasks(svc, fn, filter) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filter || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  return api.call('GET', `${fnPath(svc, fn)}/stateful-async-invocations?${q}`);
}
export const getTask = (svc, fn, id) => api.call('GET', `${fnPath(svc, fn)}/stateful-async-invocations/${api.seg(id)}`);
// stopTask is FC's StopStatefulAsyncInvocation: a PUT on the task.
export const stopTask = (svc, fn, id) => api.call('PUT', `${fnPath(svc, fn)}/stateful-async-invocations/${api.seg(id)}`);

// The statuses a task may be in; the final ones never change.
export const taskStatuses = ['Enqueued', 'Running', 'Retrying', 'Stopping', 'Succeeded', 'Failed', 'Stopped', 'Expired', 'Invalid'];
const finalStatuses = new Set(['Succeeded', 'Failed', 'Stopped', 'Expired', 'Invalid']);

export function isFinal(status) {
  return finalStatuses.has(status);
}

// msTime shows a time in ms since the epoch (0: not yet).
export function msTime(ms) {
  return ms ? formatTime(new Date(ms).toISOString()) : '—';
}

// statusBadge shows a status as text with a class per status, so colour
// is never the only cue.
export function statusBadge(status, id) {
  return h('span', { class: `task-status task-${String(status).toLowerCase()}`, id }, status);
}

// taskDetail draws a task: its properties and its timeline, events in
// order with their times. idPrefix names the elements (e.g. test-task).
export function taskDetail(t, idPrefix) {
  const rows = [
    ['Status', statusBadge(t.status, `${idPrefix}-status`)],
    ['Task id', h('code', { id: `${idPrefix}-invocation-id` }, t.invocationId)],
    ['Request id', h('code', {}, t.requestId || '')],
    ['Started', msTime(t.startedTime)],
    ['Ended', msTime(t.endTime)],
    ['Duration', t.endTime ? `${t.durationMs} ms` : '—'],
    ['Retries', String(t.alreadyRetriedTimes || 0)],
    t.instanceId ? ['Instance', h('code', {}, t.instanceId)] : null,
    t.destinationStatus ? ['Destination', t.destinationStatus] : null,
    t.invocationErrorMessage ? ['Error', t.invocationErrorMessage] : null,
  ].filter(Boolean);
  const events = t.events || [];
  return h('div', { class: 'task-detail' },
    h('dl', { class: 'props' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    h('h3', {}, 'Timeline'),
    events.length === 0 ? h('p', { class: 'empty' }, 'No events yet.') :
      h('ol', { class: 'timeline', id: `${idPrefix}-timeline`, 'aria-label': `Timeline of task ${t.invocationId}` },
        events.map((e) => h('li', { class: `task-${String(e.status).toLowerCase()}` },
          h('time', { datetime: new Date(e.timestamp).toISOString() }, msTime(e.timestamp)), ' ',
          h('strong', {}, e.status),
          e.eventDetail ? h('span', { class: 'event-detail' }, ` ${e.eventDetail}`) : null))),
    t.returnPayload ? [h('h3', {}, 'Return payload'), output(`${idPrefix}-return`, 'Return payload', t.returnPayload)] : null,
    t.invocationPayload ? [h('h3', {}, 'Invocation payload'), output(`${idPrefix}-payload`, 'Invocation payload', t.invocationPayload)] : null);
}

// followTask polls a task until it reaches a final status or signal
// aborts, calling onTask with every answer that changed and onError with
// a failed call (polling goes on, as the next poll may succeed, except
// after a 404: the task or its function is gone). The wait grows from
// 0.5 s to 3 s, so a long task costs little.
export async function followTask(svc, fn, id, signal, onTask, onError) {
  let wait = 500;
  let last = '';
  while (!signal.aborted) {
    try {
      const t = await getTask(svc, fn, id);
      if (signal.aborted) return null;
      // Only a change is drawn: the DOM (and the focus in it) stays put
      // while the task waits or runs.
      const now = JSON.stringify(t);
      if (now !== last) onTask(t);
      last = now;
      if (isFinal(t.status)) return t;
    } catch (err) {
      if (signal.aborted) return null;
      onError(err);
      if (err.status === 404) return null;
    }
    await sleep(wait, signal);
    wait = Math.min(wait * 1.5, 3000);
  }
  return null;
}

// sleep resolves after ms, or at once when signal aborts.
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

// childController returns an AbortController that also aborts when
// parent does: a run's follow stops with the page, or alone when the
// next run starts.
export function childController(parent) {
  const c = new AbortController();
  if (parent.aborted) c.abort();
  else parent.addEventListener('abort', () => c.abort(), { once: true });
  return c;
}
