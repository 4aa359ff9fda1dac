// A function's page: its name, the tabs, and the current tab's panel.
// Every tab is its own module with one entry, tab(el, ctx), where ctx is
//
//   { service, fn, f (GetFunction's answer), triggers (all), http (the
//     HTTP triggers), errors (the page's error slot), signal (aborted
//     when the console leaves the page: live tabs stop with it),
//     reload() (draws the page again, e.g. after an update) }
import * as api from './api.js';
import { h, errorBox, showIn } from './ui.js';
import { codeTab } from './code.js';
import { configTab } from './config.js';
import { triggersTab } from './triggers.js';
import { testTab } from './test.js';
import { logsTab } from './logs.js';
import { instancesTab } from './instances.js';
import { asyncTab } from './async.js';

// tabs in the order shown; the first is the default, as FC's console
// opens a function on its code.
export const tabs = [
  ['code', 'Code', codeTab],
  ['config', 'Configuration', configTab],
  ['triggers', 'Triggers', triggersTab],
  ['test', 'Test Function', testTab],
  ['logs', 'Logs', logsTab],
  ['instances', 'Instances', instancesTab],
  ['async', 'Async & Tasks', asyncTab],
];

export function functionHash(service, fn, tab) {
  const base = `#/services/${encodeURIComponent(service)}/functions/${encodeURIComponent(fn)}`;
  return tab ? `${base}/${tab}` : base;
}

export async function functionPage(main, service, fn, tab, signal) {
  const current = tabs.find(([id]) => id === tab) || tabs[0];
  const errors = h('div', { class: 'errors', 'aria-live': 'polite' });
  // The panel is not a landmark of its own: its sections carry the names.
  const panel = h('div', { class: 'tab-panel', id: `tab-${current[0]}` });
  main.replaceChildren(
    h('h1', {}, 'Function ', h('span', { class: 'name' }, `${service}/${fn}`)),
    h('nav', { class: 'tabs', id: 'function-tabs', 'aria-label': 'Function' },
      h('ul', {}, tabs.map(([id, label]) => h('li', {},
        h('a', { href: functionHash(service, fn, id), id: `tab-link-${id}`, 'aria-current': id === current[0] ? 'page' : null }, label))))),
    errors, panel);
  let f;
  let triggers;
  try {
    [f, triggers] = await Promise.all([api.getFunction(service, fn), api.listTriggers(service, fn)]);
  } catch (err) {
    showIn(errors, errorBox(err));
    return;
  }
  if (signal.aborted) return;
  const all = (triggers && triggers.triggers) || [];
  const ctx = {
    service, fn, f, triggers: all, http: all.filter((t) => t.triggerType === 'http'), errors, signal,
    reload: () => functionPage(main, service, fn, current[0], signal),
  };
  await current[2](panel, ctx);
}
