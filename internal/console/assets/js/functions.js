// The functions of a service: list, and create a function with its HTTP
// trigger (FC's console creates both in one step; the API takes two
// calls). New code is index.js in a zip made in the browser.
import * as api from './api.js';
import { makeZip, base64 } from './zip.js';
import { h, field, errorBox, showIn, busy, table } from './ui.js';

// defaultCode is FC 2.0's Node.js HTTP handler, answering plain text.
export const defaultCode = `'use strict';
// An FC 2.0 HTTP handler: (request, response, context).
exports.handler = (request, response, context) => {
  response.setStatusCode(200);
  response.setHeader('Content-Type', 'text/plain; charset=utf-8');
  response.send('Hello from ' + context.function.name + '!\\n');
};
`;

const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];

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
    runtime: h('select', { name: 'runtime' }, h('option', { value: 'nodejs20' }, 'Node.js 20')),
    handler: h('input', { name: 'handler', value: 'index.handler', required: true }),
    memory: numberInput('memorySize', 128, 128, 32768, 64),
    timeout: numberInput('timeout', 60, 1, 86400, 1),
    concurrency: numberInput('instanceConcurrency', 1, 1, 200, 1),
    trigger: h('input', { name: 'triggerName', value: 'httpTrigger', required: true }),
    auth: h('select', { name: 'authType' },
      h('option', { value: 'anonymous' }, 'No authentication (anonymous)'),
      h('option', { value: 'function' }, 'Signature (function)')),
    code: h('textarea', { name: 'code', rows: 9, spellcheck: 'false', class: 'code' }, defaultCode),
  };
  const checks = methods.map((m) => h('input', { type: 'checkbox', name: 'method', value: m,
    checked: m === 'GET' || m === 'POST' }));
  const methodSet = h('fieldset', { class: 'methods' }, h('legend', {}, 'Request methods'),
    checks.map((cb) => {
      cb.id = `method-${cb.value}`;
      return h('span', { class: 'check' }, cb, h('label', { for: cb.id }, cb.value));
    }));
  const form = h('form', { class: 'card', id: 'create-function', 'aria-labelledby': 'create-function-h' },
    h('h2', { id: 'create-function-h' }, 'Create function'),
    h('div', { class: 'grid' },
      field('Function name', c.name),
      field('Runtime', c.runtime),
      field('Handler', c.handler, 'file.export, e.g. index.handler'),
      field('Memory (MB)', c.memory, 'A multiple of 64, from 128'),
      field('Timeout (seconds)', c.timeout),
      field('Instance concurrency', c.concurrency)),
    h('h3', {}, 'HTTP trigger'),
    h('div', { class: 'grid' },
      field('Trigger name', c.trigger),
      field('Authentication', c.auth)),
    methodSet,
    field('Code (index.js)', c.code, 'Zipped in the browser and uploaded as the function\'s code.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create function')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, () => submit(service, c, checks, errors));
  });
  return form;
}

async function submit(service, c, checks, errors) {
  const fnName = c.name.value.trim();
  const zip = makeZip([{ name: 'index.js', data: new TextEncoder().encode(c.code.value) }]);
  try {
    await api.createFunction(service, {
      functionName: fnName,
      runtime: c.runtime.value,
      handler: c.handler.value.trim(),
      memorySize: Number(c.memory.value),
      timeout: Number(c.timeout.value),
      instanceConcurrency: Number(c.concurrency.value),
      code: { zipFile: base64(zip) },
    });
  } catch (err) {
    showIn(errors, errorBox(err));
    return;
  }
  try {
    await api.createTrigger(service, fnName, {
      triggerName: c.trigger.value.trim(),
      triggerType: 'http',
      triggerConfig: { authType: c.auth.value, methods: checks.filter((x) => x.checked).map((x) => x.value) },
    });
  } catch (err) {
    showIn(errors, h('p', {}, `The function ${fnName} was created, but not its trigger:`), errorBox(err));
    return;
  }
  location.hash = `#/services/${encodeURIComponent(service)}/functions/${encodeURIComponent(fnName)}`;
}
