// The Logs tab: the function's recent instance output (GET …/logs, NDJSON
// of records {time, instanceId, requestId, message}), filtered by request
// or instance, and a live follow (follow=true keeps the answer open and
// sends each new record as it is written).
import * as api from './api.js';
import { h, field, errorBox, showIn, formatTime } from './ui.js';
import { readNDJSON } from './ndjson.js';

// maxShown bounds the records kept on the page, so an endless follow
// does not grow it without bound: the oldest go first.
export const maxShown = 2000;
const defaultTail = 200;
// statusEvery spaces the status line's count updates while records
// stream in: it is a polite live region, and a count per line would
// drown a screen reader.
const statusEvery = 3000;

export function logsTab(el, ctx) {
  const requestId = h('input', { name: 'requestId', id: 'logs-request-id', autocomplete: 'off', spellcheck: 'false' });
  const instanceId = h('input', { name: 'instanceId', id: 'logs-instance-id', autocomplete: 'off', spellcheck: 'false' });
  const tail = h('input', { name: 'tail', id: 'logs-tail', type: 'number', min: 0, max: maxShown, value: defaultTail, inputmode: 'numeric' });
  const follow = h('input', { type: 'checkbox', id: 'logs-follow', role: 'switch' });
  const errors = h('div', { class: 'errors', 'aria-live': 'polite' });
  const status = h('p', { id: 'logs-status', class: 'logs-status', role: 'status' });
  // role=log with aria-live=off: the records are read on demand, the
  // status line says how many there are.
  const list = h('div', { id: 'logs-list', class: 'log-view', role: 'log', 'aria-live': 'off', 'aria-label': 'Log records', tabindex: 0 });
  const form = h('form', { class: 'card', id: 'logs-filters', 'aria-labelledby': 'logs-h' },
    h('h2', { id: 'logs-h' }, 'Logs'),
    h('div', { class: 'grid' },
      field('Request id', requestId, 'Only this invocation\'s lines'),
      field('Instance id', instanceId),
      field('Last records', tail, `0 for all kept; at most ${maxShown} are shown`)),
    h('div', { class: 'actions' },
      h('button', { type: 'submit' }, 'Show logs'),
      h('button', { type: 'button', class: 'secondary', id: 'logs-clear', onclick: () => {
        requestId.value = '';
        instanceId.value = '';
        reader.load();
      } }, 'Clear filters'),
      h('label', { class: 'check follow' }, follow, 'Follow live')),
    errors, status);
  const view = logView(list, (name, value) => {
    (name === 'requestId' ? requestId : instanceId).value = value;
    reader.load();
  });
  const reader = logReader(ctx, view, {
    errors, status, follow,
    params: () => filterParams(requestId.value, instanceId.value, tail.value),
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    reader.load();
  });
  follow.addEventListener('change', () => (follow.checked ? reader.load() : reader.stop()));
  el.replaceChildren(form, list);
  reader.load();
}

// filterParams is the logs query of the form's filters.
function filterParams(requestId, instanceId, tail) {
  const q = new URLSearchParams();
  if (requestId.trim()) q.set('requestId', requestId.trim());
  if (instanceId.trim()) q.set('instanceId', instanceId.trim());
  const n = Number.parseInt(tail, 10);
  q.set('tail', String(Number.isFinite(n) && n >= 0 ? Math.min(n, maxShown) : defaultTail));
  return q;
}

// logReader loads the records (once, or following) into view. One read
// at a time: a new load aborts the running one, and so do the page's
// signal (the console left the tab) and stop (Follow turned off).
function logReader(ctx, view, ui) {
  let run = null;
  let following = false;
  let timer = 0;
  let saidAt = 0;
  const say = (state) => {
    clearTimeout(timer);
    timer = 0;
    saidAt = Date.now();
    const n = view.count();
    const dropped = view.dropped() ? ` (the oldest ${view.dropped()} removed from view)` : '';
    ui.status.textContent = `${state}: ${n} record${n === 1 ? '' : 's'}${dropped}`;
  };
  const stateNow = () => (following ? 'Following live' : 'Loaded');
  // The count is said at once after a quiet spell, then at most every
  // statusEvery while records keep coming.
  const onRecords = (recs) => {
    view.add(recs);
    const wait = saidAt + statusEvery - Date.now();
    if (wait <= 0) say(stateNow());
    else if (!timer) timer = setTimeout(() => say(stateNow()), wait);
  };
  const load = async () => {
    if (ctx.signal.aborted) return;
    if (run) run.abort();
    const ac = new AbortController();
    run = ac;
    const stop = () => ac.abort();
    ctx.signal.addEventListener('abort', stop, { once: true });
    following = ui.follow.checked;
    const params = ui.params();
    if (following) params.set('follow', 'true');
    showIn(ui.errors);
    view.clear();
    saidAt = 0;
    ui.status.textContent = following ? 'Connecting…' : 'Loading…';
    try {
      const resp = await fetchLogs(ctx.service, ctx.fn, params, ac.signal);
      // Not say: the backlog that follows is counted at once.
      if (following) ui.status.textContent = 'Following live: waiting for records…';
      await readNDJSON(resp.body, onRecords);
      say(following ? 'The stream ended' : 'Loaded');
      ui.follow.checked = false;
    } catch (err) {
      if (ac.signal.aborted) return; // a new load, Follow off, or the page left
      showIn(ui.errors, errorBox(err));
      say('Failed');
      ui.follow.checked = false;
    } finally {
      ctx.signal.removeEventListener('abort', stop);
      if (run === ac) {
        run = null;
        following = false;
      }
    }
  };
  return {
    load,
    stop: () => {
      if (run) run.abort();
      run = null;
      following = false;
      say('Stopped following');
    },
  };
}

// fetchLogs sends the signed GET …/logs and returns the open response,
// or throws an FCError.
function fetchLogs(service, fn, params, signal) {
  const path = `${api.apiVersion}/services/${api.seg(service)}/functions/${api.seg(fn)}/logs`;
  return api.signedFetch('GET', path, params, { signal });
}

// logView draws records into list, keeping the last maxShown, and
// scrolls along only while the reader is at the bottom (scrolling up to
// read stops it). pick(filter, value) is called when a record's request
// or instance id is clicked.
function logView(list, pick) {
  let dropped = 0;
  return {
    clear() {
      list.replaceChildren();
      dropped = 0;
    },
    add(recs) {
      const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 24;
      const frag = document.createDocumentFragment();
      for (const r of recs) frag.append(recordRow(r, pick));
      list.append(frag);
      if (list.childElementCount > maxShown) {
        const height = list.scrollHeight;
        while (list.childElementCount > maxShown) {
          list.firstElementChild.remove();
          dropped += 1;
        }
        // A reader scrolled up keeps the same lines in sight.
        if (!atBottom) list.scrollTop -= height - list.scrollHeight;
      }
      if (atBottom) list.scrollTop = list.scrollHeight;
    },
    count: () => list.childElementCount,
    dropped: () => dropped,
  };
}

// recordRow is one record: time, instance, request id, the stream or
// level when the record has one, and the line.
function recordRow(r, pick) {
  const { level, text } = splitLine(r);
  const kind = String(r.stream || r.level || level);
  const bad = /^(stderr|error|fatal)$/i.test(kind);
  const idButton = (name, value, cls, label) => (value
    ? h('button', { type: 'button', class: `link ${cls}`, 'aria-label': `${label} ${value}`, onclick: () => pick(name, value) }, value)
    : null);
  return h('div', { class: bad ? 'log-rec log-bad' : 'log-rec' },
    h('time', { datetime: r.time || '', title: formatTime(r.time) }, clock(r.time)),
    idButton('instanceId', r.instanceId, 'log-instance', 'Show only instance'),
    idButton('requestId', r.requestId, 'log-request', 'Show only request'),
    kind ? h('span', { class: 'log-kind' }, kind) : null,
    h('span', { class: 'log-msg' }, text));
}

// fcLine is the prefix FC's runtimes put on a console line: time, request
// id, [LEVEL].
const fcLine = /^(\S+) (\S+) \[([A-Z]+)\] ([\s\S]*)$/;

// splitLine returns a record's line, without FC's prefix when it repeats
// the record's request id (the row shows the time and id already), and
// the prefix's level.
function splitLine(r) {
  const text = r.message === undefined ? '' : String(r.message);
  const m = r.requestId ? fcLine.exec(text) : null;
  if (m && m[2] === r.requestId) return { level: m[3], text: m[4] };
  return { level: '', text };
}

// clock shows a record's time of day to the millisecond (the date is in
// the title).
function clock(s) {
  const d = new Date(s);
  if (!s || Number.isNaN(d.getTime())) return '';
  return `${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}
