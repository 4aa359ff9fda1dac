// The environment variables editor of the create form and the
// Configuration tab: kvEditor's rows. FC checks the names and the 4 KB
// limit; the editor refuses only what a JSON object cannot carry (a name
// given twice, a value without a name).
import { idFor } from './ui.js';
import { kvEditor } from './kvedit.js';

// sortedEntries lists variables by name, as both the editor and the
// Configuration tab show them.
export function sortedEntries(vars) {
  return Object.entries(vars || {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

// envEditor returns {el, value, addRow}: el is the fieldset; value()
// returns the variables as an object, or throws an Error naming the row
// at fault.
export function envEditor(initial = {}) {
  const kv = kvEditor({
    id: idFor('env'), legend: 'Environment variables', noun: 'variable', addLabel: 'Add variable',
    keyName: 'envKey', valueName: 'envValue', rows: sortedEntries(initial),
  });
  const value = () => {
    const out = {};
    for (const [key, v, n] of kv.entries()) {
      if (key === '') throw new Error(`Environment variable ${n} has a value but no name.`);
      if (Object.hasOwn(out, key)) throw new Error(`Environment variable ${key} is given twice.`);
      out[key] = v;
    }
    return out;
  };
  return { el: kv.el, value, addRow: kv.add };
}
