// The Configuration tab: the function's settings, and deleting it.
import * as api from './api.js';
import { h, errorBox, showIn, formatTime } from './ui.js';

export function configTab(el, ctx) {
  el.replaceChildren(configSection(ctx.f), deleteSection(ctx.service, ctx.fn, ctx.http, ctx.errors));
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
