// The functions of a service: list, and create a function with its HTTP
// trigger (FC's console creates both in one step; the API takes two
// calls). New code is the runtime's starting code (runtimes.js), zipped
// in the browser.
import * as api from './api.js';
import { makeZip, base64 } from './zip.js';
import { h, field, errorBox, showIn, busy, table } from './ui.js';
import { envEditor } from './envedit.js';
import { runtimes, codeFiles } from './runtimes.js';
import { triggerFields } from './triggerfields.js';

export async function functionsPage(main, service) {
  const errors = h('div', { class: 'errors', 'aria-live': 'polite' });
  const list = h('div', { id: 'function-list' }, h('p', {}, 'Loading functions…'));
  main.replaceChildren(
    h('h1', {}, 'Functions of ', h('span', { class: 'name' }, service)),
    h('p', {}, h('a', { href: `#/services/${encodeURIComponent(service)}/versions`, id: 'versions-link' }, 'Versions & Aliases')),
    createForm(service, errors),
    errors,
    list);
  try {
    const data = await api.listFunctions(service);
    const fns = (data && data.functions) || [];
    if (fns.length === 0) {
      showIn(list, h('p', { class: 'empty' }, 'No functions yet: create one above.'));
      return;
    }
    showIn(list, table(`Functions of ${service}`, ['Name', 'Runtime', 'Handler', 'Memory (MB)', 'Timeout (s)'],
      fns.map((f) => [
        h('a', { href: `#/services/${encodeURIComponent(service)}/functions/${encodeURIComponent(f.functionName)}` },
          f.functionName),
        f.runtime, f.handler, String(f.memorySize), String(f.timeout),
      ])));
  } catch (err) {
    showIn(list);
    showIn(errors, errorBox(err));
  }
}

function numberInput(name, value, min, max, step) {
  return h('input', { name, type: 'number', value, min, max, step, required: true, inputmode: 'numeric' });
}

function createForm(service, errors) {
  const c = {
    name: h('input', { name: 'functionName', required: true, autocomplete: 'off', maxlength: 64 }),
    runtime: h('select', { name: 'runtime' }, runtimes.map(([v, label]) => h('option', { value: v }, label))),
    handler: h('input', { name: 'handler', value: 'index.handler', required: true }),
    memory: numberInput('memorySize', 128, 128, 32768, 64),
    timeout: numberInput('timeout', 60, 1, 86400, 1),
    concurrency: numberInput('instanceConcurrency', 1, 1, 200, 1),
    trigger: h('input', { name: 'triggerName', value: 'httpTrigger', required: true }),
  };
  const tf = triggerFields();
  const env = envEditor();
  const code = codeEditor(c.runtime, c.handler);
  const form = h('form', { class: 'card', id: 'create-function', 'aria-labelledby': 'create-function-h' },
    h('h2', { id: 'create-function-h' }, 'Create function'),
    h('div', { class: 'grid' },
      field('Function name', c.name),
      field('Runtime', c.runtime),
      field('Handler', c.handler, 'file.function, e.g. index.handler (a custom runtime\'s server ignores it)'),
      field('Memory (MB)', c.memory, 'A multiple of 64, from 128'),
      field('Timeout (seconds)', c.timeout),
      field('Instance concurrency', c.concurrency)),
    env.el,
    h('h3', {}, 'HTTP trigger'),
    h('div', { class: 'grid' },
      field('Trigger name', c.trigger),
      tf.authField),
    tf.methodSet,
    tf.disableField,
    code.el,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create function')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, () => submit(service, c, { env, tf, code }, errors));
  });
  return form;
}

// codeEditor shows one textarea per file of the runtime's starting code,
// the first named "code". Changing the runtime or the handler's file
// renames the files; their text is replaced only while the user has not
// edited it.
function codeEditor(runtimeSel, handlerInput) {
  const el = h('div', { class: 'code-files' });
  let areas = [];
  const draw = () => {
    const files = codeFiles(runtimeSel.value, handlerInput.value.trim());
    const next = files.map((f, i) => {
      const old = areas[i];
      const edited = old && old.dataset.edited === 'yes';
      const ta = h('textarea', {
        name: i === 0 ? 'code' : `code-${f.name}`, rows: i === 0 ? 12 : 4, spellcheck: 'false', class: 'code',
        dataset: { file: f.name, executable: f.executable ? 'yes' : 'no', edited: edited ? 'yes' : 'no' },
      }, edited ? old.value : f.code);
      ta.addEventListener('input', () => { ta.dataset.edited = 'yes'; });
      return ta;
    });
    areas = next;
    el.replaceChildren(...next.map((ta) => field(`Code (${ta.dataset.file})`, ta,
      ta.dataset.executable === 'yes' ? 'Zipped as an executable file.' : 'Zipped in the browser and uploaded as the function\'s code.')));
  };
  runtimeSel.addEventListener('change', draw);
  handlerInput.addEventListener('change', draw);
  draw();
  return {
    el,
    files: () => areas.map((ta) => ({ name: ta.dataset.file, data: new TextEncoder().encode(ta.value), mode: ta.dataset.executable === 'yes' ? 0o100755 : 0o100644 })),
  };
}

async function submit(service, c, { env, tf, code }, errors) {
  const fnName = c.name.value.trim();
  let environmentVariables;
  try {
    environmentVariables = env.value();
  } catch (err) {
    showIn(errors, errorBox(err));
    return;
  }
  try {
    await api.createFunction(service, {
      functionName: fnName,
      runtime: c.runtime.value,
      handler: c.handler.value.trim(),
      memorySize: Number(c.memory.value),
      timeout: Number(c.timeout.value),
      instanceConcurrency: Number(c.concurrency.value),
      environmentVariables,
      code: { zipFile: base64(makeZip(code.files())) },
    });
  } catch (err) {
    showIn(errors, errorBox(err));
    return;
  }
  try {
    await api.createTrigger(service, fnName, {
      triggerName: c.trigger.value.trim(),
      triggerType: 'http',
      triggerConfig: tf.config(),
    });
  } catch (err) {
    showIn(errors, h('p', {}, `The function ${fnName} was created, but not its trigger:`), errorBox(err));
    return;
  }
  location.hash = `#/services/${encodeURIComponent(service)}/functions/${encodeURIComponent(fnName)}`;
}
