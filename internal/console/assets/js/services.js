// The services page: list, create, delete.
import * as api from './api.js';
import { h, field, errorBox, showIn, busy, formatTime, table, confirmDelete } from './ui.js';

export async function servicesPage(main) {
  const errors = h('div', { class: 'errors', 'aria-live': 'polite' });
  const list = h('div', { id: 'service-list' }, h('p', {}, 'Loading services…'));
  main.replaceChildren(
    h('h1', {}, 'Services'),
    createForm(errors, () => load(list, errors)),
    errors,
    list);
  await load(list, errors);
}

async function load(list, errors) {
  let data;
  try {
    data = await api.listServices();
  } catch (err) {
    showIn(list);
    showIn(errors, errorBox(err));
    return;
  }
  const services = (data && data.services) || [];
  if (services.length === 0) {
    showIn(list, h('p', { class: 'empty' }, 'No services yet: create one above.'));
    return;
  }
  showIn(list, table('Services', ['Name', 'Description', 'Last modified', 'Actions'],
    services.map((s) => [
      h('a', { href: `#/services/${encodeURIComponent(s.serviceName)}` }, s.serviceName),
      s.description || '',
      formatTime(s.lastModifiedTime),
      deleteControl(s.serviceName, errors, () => load(list, errors)),
    ])));
}

function createForm(errors, reload) {
  const name = h('input', { name: 'serviceName', required: true, autocomplete: 'off', maxlength: 128 });
  const desc = h('input', { name: 'description', autocomplete: 'off' });
  const form = h('form', { class: 'card', id: 'create-service', 'aria-labelledby': 'create-service-h' },
    h('h2', { id: 'create-service-h' }, 'Create service'),
    field('Service name', name, 'Letters, digits, _ and -; starts with a letter or _.'),
    field('Description', desc),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create service')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, async () => {
      try {
        await api.createService(name.value.trim(), desc.value);
        showIn(errors);
        form.reset();
        await reload();
      } catch (err) {
        showIn(errors, errorBox(err));
      }
    });
  });
  return form;
}

// deleteControl deletes the service after a confirmation in place.
function deleteControl(service, errors, reload) {
  return confirmDelete(`service ${service}`, async () => {
    try {
      await api.deleteService(service);
      showIn(errors);
      await reload();
    } catch (err) {
      showIn(errors, errorBox(err));
    }
  });
}
