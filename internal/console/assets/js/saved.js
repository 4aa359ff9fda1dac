// After a save the tab is drawn again (ctx.reload): the form that had the
// focus is gone. savedAt says "Saved" next to an element of the new page
// and puts the focus there. (Lead: a candidate for ui.js.)
import { h } from './ui.js';

// savedAt says the change was saved, next to el, and focuses el.
export function savedAt(el) {
  if (!el) return;
  el.after(h('span', { class: 'saved', role: 'status' }, 'Saved'));
  el.focus();
}
