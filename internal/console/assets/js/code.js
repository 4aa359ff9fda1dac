// The Code tab.
import { h } from './ui.js';

export function codeTab(el) {
  el.replaceChildren(h('p', { class: 'empty' }, 'Code: not built yet.'));
}
