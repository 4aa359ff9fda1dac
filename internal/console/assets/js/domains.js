// Custom domains (account-wide): list, create, edit, delete; routes from
// a path to a function at a qualifier; TLS certificate when the domain
// serves HTTPS. The API never returns a stored private key, and neither
// does this page: editing leaves the key field empty, and an empty key
// with the same certificate keeps the stored one.
import * as api from './api.js';
import { h, field, errorBox, showIn, busy, formatTime, idFor, linkRow, confirmDelete } from './ui.js';

const path = `${api.apiVersion}/custom-domains`;
const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];

// shellQuote quotes s for a POSIX shell.
export function shellQuote(s) {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

// examplePath is a path a route matches ("/api/*" → "/api/").
export function examplePath(route) {
  return route && route.path ? route.path.replace(/\*$/, '') : '/';
}

// curlFor is how to call domain d through the front door at origin
// before DNS points at it: the Host header names the domain (a
// wildcard domain's "*" becomes "www").
export function curlFor(d, origin) {
  const host = d.domainName.replace(/^\*\./, 'www.');
  const first = d.routeConfig && d.routeConfig.routes && d.routeConfig.routes[0];
  return `curl -H ${shellQuote(`Host: ${host}`)} ${shellQuote(origin + examplePath(first))}`;
}

export async function domainsPage(main, signal) {
  const errors = h('div', { class: 'errors', id: 'domains-errors', 'aria-live': 'polite' });
  const status = h('p', { class: 'status', role: 'status', id: 'domains-status' });
  const list = h('section', { class: 'card', id: 'domain-list', 'aria-labelledby': 'domains-h' },
    h('h2', { id: 'domains-h' }, 'Domains'), h('p', {}, 'Loading custom domains…'));
  const page = { signal, errors, status, list };
  page.reload = () => load(page);
  page.form = domainForm(page);
  main.replaceChildren(
    h('h1', {}, 'Custom domains'),
    h('p', { class: 'hint' }, 'A custom domain routes the requests whose Host is that domain to functions, by path. ',
      'Point the domain\'s DNS at this server; until then, call it with a Host header.'),
    page.form.form, errors, status, list);
  servicesList(page.form.services).catch(() => {}); // suggestions only
  await load(page);
}

async function load(page) {
  let domains;
  try {
    domains = await api.listAll(path, 'customDomains');
  } catch (err) {
    if (!page.signal.aborted) showIn(page.errors, errorBox(err));
    return;
  }
  if (page.signal.aborted) return;
  const heading = h('h2', { id: 'domains-h' }, `Domains (${domains.length})`);
  if (domains.length === 0) {
    showIn(page.list, heading, h('p', { class: 'empty' }, 'No custom domains yet: add one above.'));
    return;
  }
  showIn(page.list, heading, h('ul', { class: 'items' }, domains.map((d) => domainItem(page, d))));
}

function domainItem(page, d) {
  const routes = (d.routeConfig && d.routeConfig.routes) || [];
  const edit = h('button', { type: 'button', class: 'secondary', 'aria-label': `Edit domain ${d.domainName}` }, 'Edit');
  edit.addEventListener('click', () => page.form.edit(d));
  const curl = curlFor(d, location.origin);
  return h('li', { class: 'item', dataset: { domain: d.domainName } },
    h('div', { class: 'item-head' },
      h('strong', { class: 'name' }, d.domainName),
      h('span', {}, d.protocol),
      d.certConfig && d.certConfig.certName ? h('span', { class: 'muted' }, `Certificate ${d.certConfig.certName}`) : null,
      h('span', { class: 'muted' }, `Modified ${formatTime(d.lastModifiedTime)}`),
      h('span', { class: 'row-actions' }, edit, confirmDelete(`domain ${d.domainName}`, () => deleteDomain(page, d.domainName)))),
    routes.length === 0 ? h('p', { class: 'empty' }, 'No routes: every request answers PathNotSupported.')
      : h('ul', { class: 'routes' }, routes.map((r) => h('li', {},
        h('code', {}, r.path), ' → ',
        h('a', { href: `#/services/${encodeURIComponent(r.serviceName)}/functions/${encodeURIComponent(r.functionName)}` },
          `${r.serviceName}/${r.functionName}`),
        ` at ${r.qualifier || 'LATEST'}`,
        r.methods && r.methods.length ? `, ${r.methods.join(', ')} only` : '',
        r.rewriteConfig ? ', with rewrite rules' : ''))),
    d.protocol === 'HTTPS' ? h('p', { class: 'hint' }, 'HTTPS only: call it on the server\'s --tls-listen address, with the domain as the TLS server name.')
      : linkRow('Call it', curl, 'domain-curl', `Copy the command that calls ${d.domainName}`));
}

async function deleteDomain(page, name) {
  try {
    await api.call('DELETE', `${path}/${api.seg(name)}`);
    showIn(page.errors);
    const done = `Deleted domain ${name}.`;
    await page.reload();
    showIn(page.status, done);
  } catch (err) {
    showIn(page.errors, errorBox(err));
  }
}

// servicesList fills the datalist of service names the routes suggest.
async function servicesList(datalist) {
  const services = await api.listAll(`${api.apiVersion}/services`, 'services');
  showIn(datalist, services.map((s) => h('option', { value: s.serviceName })));
}

// domainForm creates a domain, or edits one (edit(d) fills it in).
function domainForm(page) {
  const c = {
    name: h('input', { name: 'domainName', id: 'domain-name', required: true, autocomplete: 'off', spellcheck: 'false', placeholder: 'www.example.com' }),
    protocol: h('select', { name: 'protocol', id: 'domain-protocol' },
      h('option', { value: 'HTTP' }, 'HTTP'), h('option', { value: 'HTTP,HTTPS' }, 'HTTP and HTTPS'), h('option', { value: 'HTTPS' }, 'HTTPS only')),
    certName: h('input', { name: 'certName', id: 'domain-cert-name', autocomplete: 'off' }),
    cert: h('textarea', { name: 'certificate', id: 'domain-cert', rows: 5, spellcheck: 'false', class: 'code', placeholder: '-----BEGIN CERTIFICATE-----' }),
    key: h('textarea', { name: 'privateKey', id: 'domain-key', rows: 5, spellcheck: 'false', autocomplete: 'off', class: 'code', placeholder: '-----BEGIN PRIVATE KEY-----' }),
  };
  const services = h('datalist', { id: 'domain-services' });
  const keyHint = h('small', { class: 'hint', id: 'domain-key-note' });
  const certSet = h('fieldset', { class: 'cert', id: 'domain-cert-config', hidden: true }, h('legend', {}, 'TLS certificate'),
    field('Certificate name', c.certName),
    field('Certificate (PEM)', c.cert, 'The certificate, then its chain.'),
    field('Private key (PEM)', c.key), keyHint);
  const rows = h('div', { class: 'route-rows', id: 'route-rows' });
  const addRoute = h('button', { type: 'button', class: 'secondary', id: 'add-route' }, 'Add route');
  const title = h('h2', { id: 'domain-form-h' }, 'Add custom domain');
  const submit = h('button', { type: 'submit' }, 'Add domain');
  const cancel = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Cancel edit');
  const form = h('form', { class: 'card', id: 'domain-form', 'aria-labelledby': 'domain-form-h' },
    title, services,
    h('div', { class: 'grid' }, field('Domain name', c.name, 'Or a wildcard, as *.example.com.'), field('Protocol', c.protocol)),
    certSet,
    h('fieldset', { class: 'routes' }, h('legend', {}, 'Routes'),
      h('p', { class: 'hint' }, 'The most specific path wins; a path ending in /* matches everything under it.'),
      rows, addRoute),
    h('div', { class: 'actions' }, submit, cancel));
  let editing = null;
  const showCert = () => { certSet.hidden = c.protocol.value === 'HTTP'; };
  c.protocol.addEventListener('change', showCert);
  addRoute.addEventListener('click', () => routeRow(rows, services, {}).focus());
  const reset = () => {
    editing = null;
    form.reset();
    c.name.disabled = false;
    rows.replaceChildren();
    routeRow(rows, services, { path: '/*' });
    showIn(keyHint);
    title.textContent = 'Add custom domain';
    submit.textContent = 'Add domain';
    cancel.hidden = true;
    showCert();
  };
  cancel.addEventListener('click', reset);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, async () => {
      const body = {
        domainName: editing || c.name.value.trim(),
        protocol: c.protocol.value,
        routeConfig: { routes: [...rows.children].map((r) => r.routeValue()) },
        // HTTP alone drops a stored certificate: null clears it.
        certConfig: c.protocol.value === 'HTTP' ? null
          : { certName: c.certName.value.trim(), certificate: c.cert.value, privateKey: c.key.value },
      };
      try {
        const d = editing ? await api.call('PUT', `${path}/${api.seg(editing)}`, body) : await api.call('POST', path, body);
        showIn(page.errors);
        const warn = d && d.warnings && d.warnings.length ? ` Warning: ${d.warnings.join('; ')}.` : '';
        const done = `${editing ? 'Saved' : 'Added'} domain ${d.domainName}.${warn}`;
        reset();
        await page.reload();
        showIn(page.status, done);
      } catch (err) {
        showIn(page.errors, errorBox(err));
      }
    });
  });
  reset();
  return {
    form,
    services,
    edit(d) {
      reset();
      showIn(page.status);
      editing = d.domainName;
      c.name.value = d.domainName;
      c.name.disabled = true;
      c.protocol.value = d.protocol;
      const cc = d.certConfig || {};
      c.certName.value = cc.certName || '';
      c.cert.value = cc.certificate || '';
      c.key.value = '';
      showIn(keyHint, cc.certificate ? 'The stored private key is never shown: leave this empty to keep it (with the same certificate).' : '');
      rows.replaceChildren();
      for (const r of (d.routeConfig && d.routeConfig.routes) || []) routeRow(rows, services, r);
      title.textContent = `Edit domain ${d.domainName}`;
      submit.textContent = 'Save domain';
      cancel.hidden = false;
      showCert();
      form.scrollIntoView({ block: 'start' });
      c.protocol.focus();
    },
  };
}

// routeRow appends a route's row to rows and returns its first control;
// the row's routeValue() is the route to send, keeping what the row does
// not edit (rewrite rules).
function routeRow(rows, services, route) {
  const fnList = h('datalist', { id: idFor('route-fns') });
  const c = {
    path: h('input', { name: 'path', required: true, autocomplete: 'off', spellcheck: 'false', value: route.path || '/*' }),
    service: h('input', { name: 'serviceName', required: true, autocomplete: 'off', list: services.id, value: route.serviceName || '' }),
    fn: h('input', { name: 'functionName', required: true, autocomplete: 'off', list: fnList.id, value: route.functionName || '' }),
    qualifier: h('input', { name: 'qualifier', autocomplete: 'off', placeholder: 'LATEST', value: route.qualifier && route.qualifier !== 'LATEST' ? route.qualifier : '' }),
  };
  const checks = methods.map((m) => h('input', { type: 'checkbox', name: 'method', value: m, id: idFor(`route-${m}`),
    checked: (route.methods || []).includes(m) }));
  const legend = h('legend', {});
  const remove = h('button', { type: 'button', class: 'danger remove-route' }, 'Remove route');
  const row = h('fieldset', { class: 'route-row' }, legend, fnList,
    h('div', { class: 'grid' },
      field('Path', c.path, 'As /api/* or /login'),
      field('Service', c.service),
      field('Function', c.fn),
      field('Qualifier', c.qualifier, 'LATEST, a version or an alias')),
    h('fieldset', { class: 'methods' }, h('legend', {}, 'Methods (none: all)'),
      checks.map((cb) => h('span', { class: 'check' }, cb, h('label', { for: cb.id }, cb.value)))),
    route.rewriteConfig ? h('p', { class: 'hint' }, 'This route\'s rewrite rules are kept.') : null,
    remove);
  const fillFunctions = () => {
    const s = c.service.value.trim();
    if (!s) return;
    api.listAll(`${api.apiVersion}/services/${api.seg(s)}/functions`, 'functions')
      .then((fns) => showIn(fnList, fns.map((f) => h('option', { value: f.functionName }))))
      .catch(() => showIn(fnList)); // suggestions only: the save reports errors
  };
  c.service.addEventListener('change', fillFunctions);
  fillFunctions();
  row.routeValue = () => ({
    ...route,
    path: c.path.value.trim(),
    serviceName: c.service.value.trim(),
    functionName: c.fn.value.trim(),
    qualifier: c.qualifier.value.trim() || 'LATEST',
    methods: checks.filter((x) => x.checked).map((x) => x.value),
  });
  remove.addEventListener('click', () => {
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    renumber(rows);
    (next ? next.querySelector('input') : rows.parentElement.querySelector('#add-route')).focus();
  });
  rows.append(row);
  renumber(rows);
  return c.path;
}

// renumber names each row (legend and remove button) by its position.
function renumber(rows) {
  [...rows.children].forEach((row, i) => {
    row.querySelector('legend').textContent = `Route ${i + 1}`;
    row.querySelector('.remove-route').setAttribute('aria-label', `Remove route ${i + 1}`);
  });
}
