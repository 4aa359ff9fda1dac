// A key/value row editor (query parameters, request headers, …): a
// fieldset of rows, each a labelled name and value input with a Remove
// button, and an Add button. Everything is reachable with the keyboard;
// adding a row focuses its name, removing one focuses the next control.
import { h } from './ui.js';

// kvEditor builds the editor. opts: { id (prefix of the element ids),
// legend, keyLabel, valueLabel, addLabel, rows (initial [key, value]
// pairs) }. It returns { el, rows() (the non-empty [key, value] pairs in
// order), add(key, value) }.
export function kvEditor(opts) {
  const list = h('div', { class: 'kv-rows', id: `${opts.id}-rows` });
  const addBtn = h('button', { type: 'button', class: 'secondary', id: `${opts.id}-add` }, opts.addLabel);
  let next = 0;

  function add(key = '', value = '') {
    next += 1;
    const n = next;
    const k = h('input', { id: `${opts.id}-key-${n}`, class: 'kv-key', value: key, autocomplete: 'off', spellcheck: 'false' });
    const v = h('input', { id: `${opts.id}-value-${n}`, class: 'kv-value', value, autocomplete: 'off', spellcheck: 'false' });
    const remove = h('button', { type: 'button', class: 'secondary kv-remove', id: `${opts.id}-remove-${n}` }, 'Remove');
    const row = h('div', { class: 'kv-row' },
      h('div', { class: 'field' }, h('label', { for: k.id }, opts.keyLabel), k),
      h('div', { class: 'field' }, h('label', { for: v.id }, opts.valueLabel), v),
      remove);
    // The Remove button names its row, so a screen reader says which.
    const label = () => remove.setAttribute('aria-label', `Remove ${opts.keyLabel.toLowerCase()} ${k.value || `row ${n}`}`);
    label();
    k.addEventListener('input', label);
    remove.addEventListener('click', () => {
      const after = row.nextElementSibling;
      row.remove();
      (after ? after.querySelector('input') : addBtn).focus();
    });
    list.append(row);
    return k;
  }

  addBtn.addEventListener('click', () => add().focus());
  for (const [k, v] of opts.rows || []) add(k, v);
  const el = h('fieldset', { class: 'kv', id: opts.id }, h('legend', {}, opts.legend), list,
    h('div', { class: 'actions' }, addBtn));
  return {
    el,
    add,
    rows: () => [...list.querySelectorAll('.kv-row')]
      .map((r) => [r.querySelector('.kv-key').value.trim(), r.querySelector('.kv-value').value])
      .filter(([k]) => k !== ''),
  };
}
