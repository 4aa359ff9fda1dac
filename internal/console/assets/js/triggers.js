// The Triggers tab: the function's HTTP triggers, their URLs, a form to
// edit each (UpdateTrigger), deleting one, and creating one when the
// function has none (openfc runs HTTP triggers only, one per qualifier).
import * as api from './api.js';
import { h, field, errorBox, showIn, busy, linkRow, confirmDelete, output, savedAt } from './ui.js';
import { triggerFields } from './triggerfields.js';

export function triggersTab(el, ctx) {
  const body = ctx.http.length === 0
    ? [h('p', { class: 'empty' }, 'This function has no HTTP trigger.'), createForm(ctx)]
    : ctx.http.map((t) => triggerCard(ctx, t));
  el.replaceChildren(h('section', { class: 'card', 'aria-labelledby': 'triggers-h' },
    h('h2', { id: 'triggers-h' }, 'HTTP triggers'), body));
}

const triggerPath = (ctx, name) =>
  `${api.apiVersion}/services/${api.seg(ctx.service)}/functions/${api.seg(ctx.fn)}/triggers/${api.seg(name)}`;

function triggerCard(ctx, t) {
  const tc = t.triggerConfig || {};
  return h('div', { class: 'trigger', dataset: { trigger: t.triggerName } },
    h('h3', {}, t.triggerName),
    h('p', { class: 'trigger-summary' },
      `Authentication: ${tc.authType}; methods: ${(tc.methods || []).join(', ')}`,
      tc.disableURLInternet ? '; Internet URL disabled' : ''),
    t.urlInternet ? linkRow('Public URL', t.urlInternet, 'url-internet', `Copy the public url of ${t.triggerName}`, t.urlInternet) : null,
    t.urlIntranet ? linkRow('Proxy URL', t.urlIntranet, 'url-intranet', `Copy the proxy url of ${t.triggerName}`, t.urlIntranet) : null,
    !t.urlInternet && !t.urlIntranet
      ? h('p', { class: 'url-disabled' }, 'Internet URL disabled: the trigger answers AccessDenied on its own URLs; a custom domain still reaches the function.')
      : null,
    tc.authType === 'jwt' && tc.authConfig ? jwtConfig(tc.authConfig) : null,
    editForm(ctx, t),
    deleteButton(ctx, t));
}

// jwtConfig shows a jwt trigger's authConfig read-only: its keys and
// claim rules are edited through the API or a deploy.
function jwtConfig(authConfig) {
  return h('details', { class: 'jwt-config' },
    h('summary', {}, 'JWT configuration (read-only)'),
    output(null, 'JWT configuration', JSON.stringify(authConfig, null, 2)));
}

function editForm(ctx, t) {
  const tf = triggerFields(t.triggerConfig || {});
  const status = h('div', { class: 'errors', 'aria-live': 'polite' });
  const form = h('form', { class: 'trigger-edit', dataset: { trigger: t.triggerName }, 'aria-label': `Edit trigger ${t.triggerName}` },
    h('h4', {}, 'Edit'),
    h('div', { class: 'grid' }, tf.authField),
    tf.methodSet,
    tf.disableField,
    status,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save trigger')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, async () => {
      try {
        // triggerConfig is replaced as a whole: fields the form does not
        // show (a jwt authConfig) go back as they were.
        await api.call('PUT', triggerPath(ctx, t.triggerName), { triggerConfig: tf.config(t.triggerConfig || {}) });
      } catch (err) {
        showIn(status, errorBox(err));
        return;
      }
      await ctx.reload();
      savedAt(document.querySelector(`form.trigger-edit[data-trigger="${CSS.escape(t.triggerName)}"] button[type=submit]`));
    });
  });
  return form;
}

function deleteButton(ctx, t) {
  return h('div', { class: 'actions' }, confirmDelete(`trigger ${t.triggerName}`, async () => {
    try {
      await api.call('DELETE', triggerPath(ctx, t.triggerName));
    } catch (err) {
      showIn(ctx.errors, errorBox(err));
      return;
    }
    await ctx.reload();
  }, 'Delete trigger'));
}

function createForm(ctx) {
  const name = h('input', { name: 'triggerName', value: 'httpTrigger', required: true, autocomplete: 'off' });
  const tf = triggerFields();
  const status = h('div', { class: 'errors', 'aria-live': 'polite' });
  const form = h('form', { id: 'create-trigger', 'aria-labelledby': 'create-trigger-h' },
    h('h3', { id: 'create-trigger-h' }, 'Create an HTTP trigger'),
    h('div', { class: 'grid' }, field('Trigger name', name), tf.authField),
    tf.methodSet,
    tf.disableField,
    status,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create trigger')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, async () => {
      try {
        await api.createTrigger(ctx.service, ctx.fn, { triggerName: name.value.trim(), triggerType: 'http', triggerConfig: tf.config() });
      } catch (err) {
        showIn(status, errorBox(err));
        return;
      }
      await ctx.reload();
    });
  });
  return form;
}
