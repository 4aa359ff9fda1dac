// Custom domains.
import { h } from './ui.js';

export function domainsPage(main) {
  main.replaceChildren(h('h1', {}, 'Custom domains'), h('p', { class: 'empty' }, 'Not built yet.'));
}
