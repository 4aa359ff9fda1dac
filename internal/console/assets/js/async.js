// The Async & Tasks tab: the function's async invocation configuration
// (FC 2.0's async-invoke-config: retries, maximum event age, stateful
// invocation, destinations) and its tasks (stateful async invocations):
// a filtered, paged list, a task's detail and timeline, and Stop. A task
// that was stopped or opened is followed live until it ends, and stops
// being followed when the console leaves the page.
import { h, field, errorBox, showIn, busy, table } from './ui.js';
import * as tasks from './tasks.js';

export function asyncTab(el, ctx) {
  el.replaceChildren(configSection(ctx), tasksSection(ctx));
}

// FC's defaults, shown when the function has no async configuration.
const defaultRetries = 3;
const defaultMaxAge = 86400;

function configSection(ctx) {
  const c = {
    retries: h('input', { type: 'number', id: 'async-retries', name: 'maxAsyncRetryAttempts', min: 0, max: 8, step: 1, required: true, inputmode: 'numeric' }),
    maxAge: h('input', { type: 'number', id: 'async-max-age', name: 'maxAsyncEventAgeInSeconds', min: 1, max: 604800, step: 1, required: true, inputmode: 'numeric' }),
    stateful: h('input', { type: 'checkbox', id: 'async-stateful', name: 'statefulInvocation' }),
    onSuccess: h('input', { id: 'async-on-success', name: 'onSuccess', autocomplete: 'off', spellcheck: 'false' }),
    onFailure: h('input', { id: 'async-on-failure', name: 'onFailure', autocomplete: 'off', spellcheck: 'false' }),
  };
  const state = h('p', { class: 'hint', id: 'async-config-state', role: 'status' }, 'Loading the configuration…');
  const errors = h('div', { class: 'errors', 'aria-live': 'polite' });
  const del = h('button', { type: 'button', class: 'danger', id: 'async-config-delete' }, 'Delete configuration');
  const destHint = 'A function (acs:fc:<region>:<account>:services/<service>[.<qualifier>]/functions/<function>) or an http(s) URL; empty: none';
  const form = h('form', { class: 'card', id: 'async-config', 'aria-labelledby': 'async-config-h' },
    h('h2', { id: 'async-config-h' }, 'Asynchronous invocation'),
    state,
    h('div', { class: 'grid' },
      field('Maximum retries', c.retries, 'Retries of a failed invocation, 0 to 8'),
      field('Maximum event age (seconds)', c.maxAge, 'An event not run within it is dropped (Expired), 1 to 604800')),
    h('div', { class: 'check stateful' }, c.stateful,
      h('label', { for: c.stateful.id }, 'Stateful invocation: every asynchronous request is a task')),
    h('div', { class: 'grid' },
      field('On success, send the record to', c.onSuccess, destHint),
      field('On failure, send the record to', c.onFailure, destHint)),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save configuration'), del),
    errors);

  const fill = (cfg) => {
    c.retries.value = cfg && cfg.maxAsyncRetryAttempts !== undefined ? cfg.maxAsyncRetryAttempts : defaultRetries;
    c.maxAge.value = cfg && cfg.maxAsyncEventAgeInSeconds !== undefined ? cfg.maxAsyncEventAgeInSeconds : defaultMaxAge;
    c.stateful.checked = Boolean(cfg && cfg.statefulInvocation);
    const dc = (cfg && cfg.destinationConfig) || {};
    c.onSuccess.value = dc.onSuccess ? dc.onSuccess.destination : '';
    c.onFailure.value = dc.onFailure ? dc.onFailure.destination : '';
    del.hidden = !cfg;
    state.textContent = cfg ?
      `Configured; last modified ${cfg.lastModifiedTime ? new Date(cfg.lastModifiedTime).toLocaleString() : 'now'}.` :
      'No asynchronous configuration: FC\'s defaults apply (3 retries, events kept 86400 s, no tasks).';
  };
  const load = async () => {
    try {
      fill(await tasks.getAsyncConfig(ctx.service, ctx.fn));
    } catch (err) {
      if (err.code === 'AsyncConfigNotExists') fill(null);
      else showIn(errors, errorBox(err));
    }
  };

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, async () => {
      const dest = (v) => (v.trim() ? { destination: v.trim() } : undefined);
      try {
        // destinationConfig is always sent: an empty one clears it (the
        // API keeps the fields a request leaves out).
        fill(await tasks.putAsyncConfig(ctx.service, ctx.fn, {
          maxAsyncRetryAttempts: Number(c.retries.value),
          maxAsyncEventAgeInSeconds: Number(c.maxAge.value),
          statefulInvocation: c.stateful.checked,
          destinationConfig: { onSuccess: dest(c.onSuccess.value), onFailure: dest(c.onFailure.value) },
        }));
        showIn(errors);
        state.textContent = `Saved. ${state.textContent}`;
      } catch (err) {
        showIn(errors, errorBox(err));
      }
    });
  });
  del.addEventListener('click', async () => {
    del.disabled = true;
    try {
      await tasks.deleteAsyncConfig(ctx.service, ctx.fn);
      showIn(errors);
      fill(null);
      state.textContent = `Deleted. ${state.textContent}`;
      form.querySelector('button[type=submit]').focus();
    } catch (err) {
      showIn(errors, errorBox(err));
    } finally {
      del.disabled = false;
    }
  });
  load();
  return form;
}

// msOf reads a datetime-local control as ms since the epoch ('' if empty).
function msOf(input) {
  if (!input.value) return '';
  const t = new Date(input.value).getTime();
  return Number.isNaN(t) ? '' : t;
}

function tasksSection(ctx) {
  const f = {
    status: h('select', { id: 'task-status-filter', name: 'status' },
      h('option', { value: '' }, 'Any status'), tasks.taskStatuses.map((s) => h('option', { value: s }, s))),
    prefix: h('input', { id: 'task-prefix', name: 'invocationIdPrefix', autocomplete: 'off', spellcheck: 'false' }),
    from: h('input', { id: 'task-from', name: 'startedTimeBegin', type: 'datetime-local' }),
    to: h('input', { id: 'task-to', name: 'startedTimeEnd', type: 'datetime-local' }),
  };
  const errors = h('div', { class: 'errors', 'aria-live': 'polite' });
  const list = h('div', { id: 'task-list' });
  const more = h('button', { type: 'button', class: 'secondary', id: 'task-more', hidden: true }, 'Load more tasks');
  const detail = h('section', { class: 'card', id: 'task-detail', 'aria-labelledby': 'task-detail-h', hidden: true });
  const filter = h('form', { id: 'task-filter', 'aria-label': 'Filter tasks' },
    h('div', { class: 'grid' },
      field('Status', f.status),
      field('Task id prefix', f.prefix),
      field('Started after', f.from),
      field('Started before', f.to)),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Search tasks')));
  const view = taskView(ctx, list, detail, errors);
  let nextToken = '';
  const query = () => ({
    limit: 20, status: f.status.value, invocationIdPrefix: f.prefix.value.trim(),
    startedTimeBegin: msOf(f.from), startedTimeEnd: msOf(f.to),
  });
  const page = async (append) => {
    try {
      const data = await tasks.listTasks(ctx.service, ctx.fn, { ...query(), nextToken: append ? nextToken : '' });
      showIn(errors);
      view.show((data && data.invocations) || [], append);
      nextToken = (data && data.nextToken) || '';
      more.hidden = !nextToken;
    } catch (err) {
      showIn(errors, errorBox(err));
    }
  };
  filter.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(filter, () => page(false));
  });
  more.addEventListener('click', async () => {
    more.disabled = true;
    await page(true);
    more.disabled = false;
  });
  page(false);
  return h('div', {},
    h('section', { class: 'card', id: 'tasks', 'aria-labelledby': 'tasks-h' },
      h('h2', { id: 'tasks-h' }, 'Tasks'),
      h('p', { class: 'hint' }, 'Stateful asynchronous invocations of this function, in the order they last changed. Search again to refresh.'),
      filter, errors, list, h('div', { class: 'actions' }, more)),
    detail);
}

// taskView draws the task list and one task's detail, and follows the
// tasks that were stopped or opened (one poller per task) so their rows
// and detail stay current until they end.
function taskView(ctx, list, detail, errors) {
  let shown = [];
  const rows = new Map(); // task id → { status, ended, duration, stop }
  const following = new Map(); // task id → AbortController
  let detailId = '';

  const update = (t) => {
    const r = rows.get(t.invocationId);
    if (r) {
      r.status.textContent = t.status;
      r.status.className = `task-status task-${t.status.toLowerCase()}`;
      r.ended.textContent = tasks.msTime(t.endTime);
      r.duration.textContent = t.endTime ? `${t.durationMs} ms` : '—';
      r.stop.hidden = tasks.isFinal(t.status) || t.status === 'Stopping';
    }
    if (detailId === t.invocationId) drawDetail(t);
  };
  const follow = (id) => {
    if (following.has(id)) return;
    const c = tasks.childController(ctx.signal);
    following.set(id, c);
    tasks.followTask(ctx.service, ctx.fn, id, c.signal, update, (err) => showIn(errors, errorBox(err)))
      .finally(() => following.delete(id));
  };
  const stop = async (id, btn) => {
    btn.disabled = true;
    try {
      update(await tasks.stopTask(ctx.service, ctx.fn, id));
      follow(id);
    } catch (err) {
      showIn(errors, errorBox(err));
    } finally {
      btn.disabled = false;
    }
  };
  const drawDetail = (t) => {
    const stopBtn = h('button', { type: 'button', class: 'danger', id: 'task-detail-stop' }, 'Stop task');
    stopBtn.addEventListener('click', () => stop(t.invocationId, stopBtn));
    stopBtn.hidden = tasks.isFinal(t.status) || t.status === 'Stopping';
    const keepFocus = detail.contains(document.activeElement) ? document.activeElement.id : '';
    showIn(detail,
      h('h2', { id: 'task-detail-h', tabindex: -1 }, 'Task ', h('span', { class: 'name' }, t.invocationId)),
      tasks.isFinal(t.status) ? null : h('p', { class: 'hint', role: 'status' }, 'Following the task…'),
      h('div', { class: 'actions' }, stopBtn),
      tasks.taskDetail(t, 'task-detail'));
    if (keepFocus) document.getElementById(keepFocus)?.focus();
  };
  const open = async (id) => {
    detailId = id;
    detail.hidden = false;
    showIn(detail, h('h2', { id: 'task-detail-h', tabindex: -1 }, 'Task ', h('span', { class: 'name' }, id)), h('p', {}, 'Loading…'));
    detail.querySelector('h2').focus();
    try {
      const t = await tasks.getTask(ctx.service, ctx.fn, id);
      if (detailId !== id) return;
      drawDetail(t);
      detail.querySelector('h2').focus();
      if (!tasks.isFinal(t.status)) follow(id);
    } catch (err) {
      showIn(detail, errorBox(err));
    }
  };

  const row = (t) => {
    const id = t.invocationId;
    const r = {
      status: tasks.statusBadge(t.status, `task-status-${id}`),
      ended: h('span', {}, tasks.msTime(t.endTime)),
      duration: h('span', {}, t.endTime ? `${t.durationMs} ms` : '—'),
      stop: h('button', { type: 'button', class: 'danger', 'aria-label': `Stop task ${id}` }, 'Stop'),
    };
    r.stop.hidden = tasks.isFinal(t.status) || t.status === 'Stopping';
    r.stop.addEventListener('click', () => stop(id, r.stop));
    rows.set(id, r);
    const openBtn = h('button', { type: 'button', class: 'secondary task-open', 'aria-label': `Show task ${id}` }, id);
    openBtn.addEventListener('click', () => open(id));
    return [openBtn, r.status, tasks.msTime(t.startedTime), r.ended, r.duration, String(t.alreadyRetriedTimes || 0),
      h('span', { class: 'row-actions' }, r.stop)];
  };

  return {
    show(items, append) {
      // A task written while the list is paged moves to its end and can
      // come twice: the later record wins, in the first one's place.
      const byId = new Map((append ? shown : []).map((t) => [t.invocationId, t]));
      for (const t of items) byId.set(t.invocationId, t);
      shown = [...byId.values()];
      rows.clear();
      if (shown.length === 0) {
        showIn(list, h('p', { class: 'empty' }, 'No tasks match. Tasks appear when stateful invocation is on, or a request names one.'));
        return;
      }
      showIn(list, table(`Tasks of ${ctx.fn}`, ['Task id', 'Status', 'Started', 'Ended', 'Duration', 'Retries', 'Actions'],
        shown.map(row)));
    },
  };
}
