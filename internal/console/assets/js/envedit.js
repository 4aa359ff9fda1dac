// The environment variables editor of the create form and the
// Configuration tab: one row per variable (name, value, Remove), and Add.
// FC checks the names and the 4 KB limit; the editor refuses only what a
// JSON object cannot carry (a name given twice, a value without a name).
import { h, idFor } from './ui.js';

// sortedEntries lists variables by name, as both the editor and the
// Configuration tab show them.
export function sortedEntries(vars) {
  return Object.entries(vars || {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

// envEditor returns {el, value}: el is the fieldset; value() returns the
// variables as an object, or throws an Error naming the row at fault.
export function envEditor(initial = {}) {
  const rows = h('div', { class: 'env-rows' });
  const add = h('button', { type: 'button', class: 'secondary env-add' }, 'Add variable');
  const el = h('fieldset', { class: 'env' }, h('legend', {}, 'Environment variables'),
    h('div', { class: 'env-head', 'aria-hidden': 'true' }, h('span', {}, 'Name'), h('span', {}, 'Value'), h('span', {})),
    rows, add);

  // renumber keeps the hidden labels ("Name of variable 2") in order
  // after a removal, so a screen reader's names match the rows.
  const renumber = () => [...rows.children].forEach((row, i) => {
    row.querySelectorAll('label').forEach((l) => {
      l.textContent = `${l.dataset.what} of variable ${i + 1}`;
    });
    row.querySelector('button').setAttribute('aria-label', `Remove variable ${i + 1}`);
  });

  const addRow = (key = '', value = '') => {
    const k = h('input', { name: 'envKey', value: key, autocomplete: 'off', spellcheck: 'false', id: idFor('env-key') });
    const v = h('input', { name: 'envValue', value, autocomplete: 'off', spellcheck: 'false', id: idFor('env-value') });
    const rm = h('button', { type: 'button', class: 'secondary env-remove' }, 'Remove');
    const row = h('div', { class: 'env-row' },
      h('span', {}, h('label', { for: k.id, class: 'visually-hidden', dataset: { what: 'Name' } }), k),
      h('span', {}, h('label', { for: v.id, class: 'visually-hidden', dataset: { what: 'Value' } }), v),
      rm);
    rm.addEventListener('click', () => {
      // The focus goes to the next row's name, else the previous one's,
      // else Add: never lost with the removed button.
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      renumber();
      (next ? next.querySelector('input') : add).focus();
    });
    rows.append(row);
    renumber();
    return k;
  };

  add.addEventListener('click', () => addRow().focus());
  for (const [k, v] of sortedEntries(initial)) addRow(k, v);

  const value = () => {
    const out = {};
    [...rows.children].forEach((row, i) => {
      const [k, v] = row.querySelectorAll('input');
      const key = k.value.trim();
      if (key === '' && v.value === '') return; // an empty row is no variable
      if (key === '') throw new Error(`Environment variable ${i + 1} has a value but no name.`);
      if (Object.hasOwn(out, key)) throw new Error(`Environment variable ${key} is given twice.`);
      out[key] = v.value;
    });
    return out;
  };
  return { el, value, addRow };
}
