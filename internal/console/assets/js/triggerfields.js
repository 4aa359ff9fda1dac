// An HTTP trigger's settings as form controls, shared by the create
// form (functions.js) and the Triggers tab: authentication, request
// methods, Disable Internet URL. FC's rules (internal/fc ValidateTrigger)
// are checked by the API, whose errors the forms show.
import { h, field, idFor } from './ui.js';

export const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];

// triggerFields returns {auth, methodSet, disable, config(base)}: the
// controls, and the triggerConfig they say, over base (kept fields, such
// as a jwt trigger's authConfig, which the console shows but does not
// edit). jwt is offered only when base has an authConfig to use.
export function triggerFields(cur = { authType: 'anonymous', methods: ['GET', 'POST'] }) {
  const authOptions = [['anonymous', 'No authentication (anonymous)'], ['function', 'Signature (function)']];
  if (cur.authConfig || cur.authType === 'jwt') authOptions.push(['jwt', 'JWT (jwt)']);
  const auth = h('select', { name: 'authType' },
    authOptions.map(([v, label]) => h('option', { value: v, selected: v === cur.authType }, label)));
  const checks = methods.map((m) => h('input', {
    type: 'checkbox', name: 'method', value: m, id: idFor(`method-${m}`), checked: (cur.methods || []).includes(m),
  }));
  const methodSet = h('fieldset', { class: 'methods' }, h('legend', {}, 'Request methods'),
    checks.map((cb) => h('span', { class: 'check' }, cb, h('label', { for: cb.id }, cb.value))));
  const disable = h('input', { type: 'checkbox', name: 'disableURLInternet', id: idFor('disable-url'), checked: !!cur.disableURLInternet });
  const disableField = h('div', { class: 'check-field' },
    h('span', { class: 'check' }, disable, h('label', { for: disable.id }, 'Disable Internet URL')),
    h('small', { class: 'hint', id: `${disable.id}-hint` },
      'Refuses calls through the trigger\'s own URLs; custom domains still reach the function.'));
  disable.setAttribute('aria-describedby', `${disable.id}-hint`);
  const config = (base = {}) => ({
    ...base,
    authType: auth.value,
    methods: checks.filter((x) => x.checked).map((x) => x.value),
    disableURLInternet: disable.checked,
  });
  return { auth, authField: field('Authentication', auth), methodSet, disableField, config };
}
