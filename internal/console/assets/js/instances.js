// The Instances tab.
import { h } from './ui.js';

export function instancesTab(el) {
  el.replaceChildren(h('p', { class: 'empty' }, 'Instances: not built yet.'));
}
