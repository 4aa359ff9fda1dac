// The Logs tab.
import { h } from './ui.js';

export function logsTab(el) {
  el.replaceChildren(h('p', { class: 'empty' }, 'Logs: not built yet.'));
}
