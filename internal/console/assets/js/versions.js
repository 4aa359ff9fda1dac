// Versions & Aliases of a service.
import { h } from './ui.js';

export function versionsPage(main) {
  main.replaceChildren(h('h1', {}, 'Versions & Aliases'), h('p', { class: 'empty' }, 'Not built yet.'));
}
