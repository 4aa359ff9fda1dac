// The Async & Tasks tab.
import { h } from './ui.js';

export function asyncTab(el) {
  el.replaceChildren(h('p', { class: 'empty' }, 'Async & Tasks: not built yet.'));
}
