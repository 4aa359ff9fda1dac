// The key/value row editor of the console's forms (environment
// variables, Test Function's query parameters and headers): a fieldset
// with a heading row, one row per pair (name, value, Remove) and Add.
// Each row's labels are numbered ("Name of header 2") and renumbered
// after a removal, so a screen reader's names match the rows; they are
// visually hidden under the heading row, and shown at narrow widths where
// the rows stack. Adding a row focuses its name; removing one focuses the
// next row's name, else the previous one's, else Add: the focus is never
// lost with the removed button.
import { h } from './ui.js';

// kvEditor builds the editor. opts: { id (prefix of the element ids),
// legend, noun (what a row is: "header"), keyLabel, valueLabel, addLabel,
// keyName and valueName (the inputs' names), rows (initial [key, value]
// pairs) }. It returns { el, add(key, value), rows() (the [key, value]
// pairs with a key), entries() (every row not left empty, as [key,
// value, row number]) }.
export function kvEditor(opts) {
  const { id, noun, keyLabel = 'Name', valueLabel = 'Value' } = opts;
  const list = h('div', { class: 'kv-rows', id: `${id}-rows` });
  const addBtn = h('button', { type: 'button', class: 'secondary kv-add', id: `${id}-add` }, opts.addLabel);
  let next = 0;

  const renumber = () => [...list.children].forEach((row, i) => {
    row.querySelectorAll('label').forEach((l) => {
      l.textContent = `${l.dataset.what} of ${noun} ${i + 1}`;
    });
    row.querySelector('button').setAttribute('aria-label', `Remove ${noun} ${i + 1}`);
  });

  function add(key = '', value = '') {
    next += 1;
    const k = h('input', { id: `${id}-key-${next}`, name: opts.keyName, class: 'kv-key', value: key, autocomplete: 'off', spellcheck: 'false' });
    const v = h('input', { id: `${id}-value-${next}`, name: opts.valueName, class: 'kv-value', value, autocomplete: 'off', spellcheck: 'false' });
    const remove = h('button', { type: 'button', class: 'secondary kv-remove', id: `${id}-remove-${next}` }, 'Remove');
    const row = h('div', { class: 'kv-row' },
      h('span', {}, h('label', { for: k.id, class: 'visually-hidden', dataset: { what: keyLabel } }), k),
      h('span', {}, h('label', { for: v.id, class: 'visually-hidden', dataset: { what: valueLabel } }), v),
      remove);
    remove.addEventListener('click', () => {
      const near = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      renumber();
      (near ? near.querySelector('input') : addBtn).focus();
    });
    list.append(row);
    renumber();
    return k;
  }

  addBtn.addEventListener('click', () => add().focus());
  for (const [k, v] of opts.rows || []) add(k, v);
  const el = h('fieldset', { class: 'kv', id }, h('legend', {}, opts.legend),
    h('div', { class: 'kv-head', 'aria-hidden': 'true' }, h('span', {}, keyLabel), h('span', {}, valueLabel), h('span', {})),
    list, h('div', { class: 'actions' }, addBtn));
  const entries = () => [...list.children]
    .map((r, i) => [r.querySelector('.kv-key').value.trim(), r.querySelector('.kv-value').value, i + 1])
    .filter(([k, v]) => k !== '' || v !== '');
  return {
    el,
    add,
    entries,
    rows: () => entries().filter(([k]) => k !== '').map(([k, v]) => [k, v]),
  };
}
