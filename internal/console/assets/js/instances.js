// The Instances tab: the function's instances (GET …/instances), polled
// every few seconds while the tab is shown. Polls never overlap (the next
// is scheduled when one ends), stop when the console leaves the page, and
// an error is shown without ending the polling: the next poll may work.
import * as api from './api.js';
import { h, errorBox, showIn, table, formatTime } from './ui.js';

const every = 2000;

export function instancesTab(el, ctx) {
  const refreshed = h('span', { id: 'instances-refreshed', class: 'hint' }, 'Loading…');
  const now = h('button', { type: 'button', class: 'secondary', id: 'instances-refresh' }, 'Refresh now');
  const errors = h('div', { class: 'errors', 'aria-live': 'polite' });
  const body = h('div', { id: 'instances-body' });
  el.replaceChildren(h('section', { class: 'card', 'aria-labelledby': 'instances-h' },
    h('h2', { id: 'instances-h' }, 'Instances'),
    h('p', { class: 'hint' }, `Refreshed every ${every / 1000} s while this tab is shown. `,
      `Each instance has the function's ${ctx.f.memorySize} MB and serves up to `,
      `${ctx.f.instanceConcurrency || 1} request${(ctx.f.instanceConcurrency || 1) === 1 ? '' : 's'} at a time.`),
    h('div', { class: 'actions instances-bar' }, now, refreshed),
    errors, body));
  poll(ctx, { refreshed, now, errors, body });
}

async function poll(ctx, ui) {
  const path = `${api.apiVersion}/services/${api.seg(ctx.service)}/functions/${api.seg(ctx.fn)}/instances`;
  const concurrency = ctx.f.instanceConcurrency || 1;
  let wake = null;
  ui.now.addEventListener('click', () => wake && wake());
  let shownError = '';
  let count = 0;
  while (!ctx.signal.aborted) {
    try {
      const data = await api.call('GET', path);
      if (ctx.signal.aborted) return;
      count += 1;
      drawInstances(ui.body, (data && data.instances) || [], concurrency);
      ui.refreshed.textContent = `Last refreshed at ${new Date().toLocaleTimeString()}`;
      ui.refreshed.dataset.refreshes = String(count);
      if (shownError) showIn(ui.errors);
      shownError = '';
    } catch (err) {
      if (ctx.signal.aborted) return;
      // The same error again is not shown again (it would be announced
      // every poll).
      const key = `${err.code}|${err.errorMessage || err.message}`;
      if (key !== shownError) showIn(ui.errors, errorBox(err), h('p', { class: 'hint' }, 'Still trying…'));
      shownError = key;
      ui.refreshed.textContent = `Refresh failed at ${new Date().toLocaleTimeString()}; retrying`;
    }
    await pause(every, ctx.signal, (w) => { wake = w; });
  }
}

// pause waits ms (and for the page to be visible again when it is
// hidden: nobody reads it then), or until the signal aborts or wake is
// called.
function pause(ms, signal, setWake) {
  return new Promise((resolve) => {
    let timer = 0;
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      document.removeEventListener('visibilitychange', onVisible);
      setWake(null);
      resolve();
    };
    const onVisible = () => {
      if (!document.hidden) done();
    };
    const tick = () => (document.hidden ? document.addEventListener('visibilitychange', onVisible) : done());
    timer = setTimeout(tick, ms);
    signal.addEventListener('abort', done, { once: true });
    setWake(done);
  });
}

// version is the qualifier the instance serves, and the version behind
// it when that is another name (an alias).
function version(i) {
  const q = i.qualifier || 'LATEST';
  return i.versionId && i.versionId !== q ? `${q} (version ${i.versionId})` : q;
}

function drawInstances(body, list, concurrency) {
  if (list.length === 0) {
    showIn(body, h('p', { class: 'empty', id: 'instances-empty' }, 'No instances: one starts at the first call.'));
    return;
  }
  const rows = list.map((i) => [
    h('code', {}, i.instanceId),
    version(i),
    i.state || '',
    formatTime(i.startedTime),
    String(i.requestsServed ?? 0),
    `${i.inFlight ?? 0} / ${concurrency}`,
    String(i.restarts ?? 0),
    i.provisioned ? 'Provisioned' : 'On demand',
    i.address || '—',
  ]);
  // The wrapper scrolls sideways at narrow widths: keep its place.
  const old = body.querySelector('.table-wrap');
  const left = old ? old.scrollLeft : 0;
  const t = table(`${list.length} instance${list.length === 1 ? '' : 's'}`,
    ['Instance', 'Version', 'State', 'Started', 'Requests served', 'In flight / concurrency', 'Restarts', 'Kind', 'Address'], rows);
  t.id = 'instances-table';
  // Focusable, so that the keyboard can scroll it sideways at 390 px.
  t.setAttribute('tabindex', '0');
  t.setAttribute('role', 'region');
  t.setAttribute('aria-label', 'Instances (scrolls sideways)');
  showIn(body, t);
  t.scrollLeft = left;
}
