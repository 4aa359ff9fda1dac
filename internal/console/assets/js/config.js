// The Configuration tab: the function's settings, a form that edits them
// (UpdateFunction), and deleting the function.
import * as api from './api.js';
import { h, field, errorBox, showIn, busy, formatTime, confirmDelete, savedAt } from './ui.js';
import { envEditor, sortedEntries } from './envedit.js';
import { familyOf } from './runtimes.js';

export function configTab(el, ctx) {
  el.replaceChildren(configSection(ctx), deleteSection(ctx.service, ctx.fn, ctx.http, ctx.errors));
}

function configSection(ctx) {
  const { f } = ctx;
  const env = sortedEntries(f.environmentVariables);
  const rows = [
    ['Runtime', f.runtime], ['Handler', f.handler], ['Description', f.description || ''],
    ['Memory', `${f.memorySize} MB`], ['Timeout', `${f.timeout} s`],
    ['Instance concurrency', String(f.instanceConcurrency || 1)],
    ['Environment variables', env.length === 0 ? 'None'
      : h('ul', { class: 'env-list' }, env.map(([k, v]) => h('li', {}, h('code', {}, k), ' = ', h('code', {}, v))))],
    f.customRuntimeConfig ? ['Custom runtime command', runtimeCommand(f.customRuntimeConfig)] : null,
    ['Code size', `${f.codeSize} bytes`], ['Code checksum', f.codeChecksum || ''],
    ['Last modified', formatTime(f.lastModifiedTime)],
  ].filter(Boolean);
  const form = editForm(ctx);
  const edit = h('button', { type: 'button', id: 'edit-config', 'aria-expanded': 'false', 'aria-controls': form.id }, 'Edit configuration');
  edit.addEventListener('click', () => {
    form.hidden = !form.hidden;
    edit.setAttribute('aria-expanded', String(!form.hidden));
    if (!form.hidden) form.querySelector('input, textarea, select').focus();
  });
  form.addEventListener('reset', () => {
    form.hidden = true;
    edit.setAttribute('aria-expanded', 'false');
    edit.focus();
  });
  return h('section', { class: 'card', 'aria-labelledby': 'config-h' },
    h('h2', { id: 'config-h' }, 'Configuration'),
    h('dl', { class: 'props' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    h('div', { class: 'actions' }, edit),
    form);
}

function runtimeCommand(c) {
  const cmd = [...(c.command || []), ...(c.args || [])].join(' ');
  return `${cmd || '(the code\'s bootstrap)'}; port ${c.port || 9000}`;
}

// lines splits a textarea of one argument per line (blank lines dropped).
const lines = (s) => s.split('\n').map((x) => x.trim()).filter((x) => x !== '');

// editForm edits what FC's UpdateFunction takes and a person changes
// often. The browser does not validate the numbers (novalidate): FC's
// refusal of a value, as the API reports it, is the one rule shown.
function editForm(ctx) {
  const { f } = ctx;
  const num = (name, value) => h('input', { name, type: 'number', value, inputmode: 'numeric' });
  const c = {
    description: h('input', { name: 'description', value: f.description || '' }),
    handler: h('input', { name: 'handler', value: f.handler, spellcheck: 'false' }),
    memory: num('memorySize', f.memorySize),
    timeout: num('timeout', f.timeout),
    concurrency: num('instanceConcurrency', f.instanceConcurrency || 1),
  };
  // A custom runtime's start is editable even when the function has no
  // customRuntimeConfig yet (its bootstrap starts it, on port 9000).
  const crc = f.customRuntimeConfig || (familyOf(f.runtime) === 'custom' ? {} : null);
  const cr = crc ? {
    command: h('textarea', { name: 'command', rows: 2, spellcheck: 'false', class: 'code' }, (crc.command || []).join('\n')),
    args: h('textarea', { name: 'args', rows: 2, spellcheck: 'false', class: 'code' }, (crc.args || []).join('\n')),
    port: num('port', crc.port || 9000),
  } : null;
  const env = envEditor(f.environmentVariables);
  const status = h('div', { class: 'errors', 'aria-live': 'polite' });
  const form = h('form', { id: 'config-form', class: 'config-form', novalidate: true, hidden: true, 'aria-label': 'Edit configuration' },
    h('div', { class: 'grid' },
      field('Description', c.description),
      field('Handler', c.handler, 'file.function, e.g. index.handler'),
      field('Memory (MB)', c.memory, 'From 128 to 32768, a multiple of 64'),
      field('Timeout (seconds)', c.timeout, 'From 1 to 86400'),
      field('Instance concurrency', c.concurrency, 'From 1 to 200')),
    cr ? h('fieldset', { class: 'custom-runtime' }, h('legend', {}, 'Custom runtime'),
      h('div', { class: 'grid' },
        field('Command', cr.command, 'One per line; empty runs the code\'s bootstrap'),
        field('Arguments', cr.args, 'One per line'),
        field('Port', cr.port, 'The port the server listens on'))) : null,
    env.el,
    status,
    h('div', { class: 'actions' },
      h('button', { type: 'submit' }, 'Save'),
      h('button', { type: 'reset', class: 'secondary' }, 'Cancel')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, () => save(ctx, c, cr, env, status));
  });
  return form;
}

// whole reads an integer field: an empty or fractional value is refused
// here, as FC would read it as 0 (the default) or fail to decode it.
function whole(label, input) {
  const v = input.value.trim();
  if (!/^-?\d+$/.test(v)) throw new Error(`${label} must be a whole number.`);
  return Number(v);
}

async function save(ctx, c, cr, env, status) {
  let body;
  try {
    body = {
      description: c.description.value,
      handler: c.handler.value.trim(),
      memorySize: whole('Memory', c.memory),
      timeout: whole('Timeout', c.timeout),
      instanceConcurrency: whole('Instance concurrency', c.concurrency),
      environmentVariables: env.value(),
    };
    if (cr) {
      // customRuntimeConfig is replaced as a whole: its other fields
      // (a health check) are kept as they are. A function without one
      // gets one only when the form says more than FC's defaults.
      const next = {
        ...ctx.f.customRuntimeConfig, command: lines(cr.command.value), args: lines(cr.args.value), port: whole('Port', cr.port),
      };
      if (ctx.f.customRuntimeConfig || next.command.length > 0 || next.args.length > 0 || next.port !== 9000) {
        body.customRuntimeConfig = next;
      }
    }
  } catch (err) {
    showIn(status, errorBox(err));
    return;
  }
  try {
    await api.call('PUT', `${api.apiVersion}/services/${api.seg(ctx.service)}/functions/${api.seg(ctx.fn)}`, body);
  } catch (err) {
    showIn(status, errorBox(err));
    return;
  }
  await ctx.reload();
  savedAt(document.getElementById('edit-config'));
}

// deleteSection deletes the function's triggers, then the function, as
// FC refuses to delete a function that still has triggers.
function deleteSection(service, fn, triggers, errors) {
  return h('section', { class: 'card', 'aria-labelledby': 'danger-h' },
    h('h2', { id: 'danger-h' }, 'Delete'),
    confirmDelete(`function ${fn} and its triggers`, async () => {
      try {
        for (const t of triggers) await api.deleteTrigger(service, fn, t.triggerName);
        await api.deleteFunction(service, fn);
        location.hash = `#/services/${encodeURIComponent(service)}`;
      } catch (err) {
        showIn(errors, errorBox(err));
      }
    }, 'Delete function'));
}
