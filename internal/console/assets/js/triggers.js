// The Triggers tab: the function's HTTP triggers and their URLs.
import { h, copyButton } from './ui.js';

export function triggersTab(el, ctx) {
  el.replaceChildren(triggersSection(ctx.http));
}

function triggersSection(http) {
  const body = http.length === 0
    ? [h('p', { class: 'empty' }, 'This function has no HTTP trigger.')]
    : http.map((t) => h('div', { class: 'trigger', dataset: { trigger: t.triggerName } },
      h('h3', {}, t.triggerName),
      h('p', {}, `Authentication: ${t.triggerConfig.authType}; methods: ${(t.triggerConfig.methods || []).join(', ')}`),
      t.urlInternet ? urlRow('Public URL', t.urlInternet, 'url-internet', t.triggerName) : null,
      t.urlIntranet ? urlRow('Proxy URL', t.urlIntranet, 'url-intranet', t.triggerName) : null,
      !t.urlInternet && !t.urlIntranet ? h('p', {}, 'Internet URL disabled.') : null));
  return h('section', { class: 'card', 'aria-labelledby': 'triggers-h' },
    h('h2', { id: 'triggers-h' }, 'HTTP triggers'), body);
}

function urlRow(label, url, cls, trigger) {
  return h('div', { class: 'url-row' },
    h('span', { class: 'url-label' }, `${label}:`),
    h('a', { class: cls, href: url, target: '_blank', rel: 'noopener noreferrer' }, url),
    copyButton(url, `Copy the ${label.toLowerCase()} of ${trigger}`));
}

