// Versions & Aliases of a service (FC 2.0: versions are per service):
// publish and delete versions; create, edit and delete aliases, with a
// gray release (one additional version and its weight); and the URLs
// that call each version and alias.
import * as api from './api.js';
import { h, field, errorBox, showIn, busy, formatTime, linkRow, confirmDelete } from './ui.js';

const v = api.apiVersion;
const proxyMark = `${v}/proxy/`;

// baseURL is the server's public URL, read from a trigger's proxy URL
// (the API builds it from --public-url); the page's origin otherwise.
export function baseURL(triggers, origin) {
  for (const t of triggers) {
    const i = (t.urlIntranet || '').indexOf(proxyMark);
    if (i > 0) return t.urlIntranet.slice(0, i);
  }
  return origin;
}

// proxyURL is the proxy form that calls function fn of service at
// qualifier q.
export function proxyURL(base, service, q, fn) {
  return `${base}${proxyMark}${api.seg(service)}.${api.seg(q)}/${api.seg(fn)}/`;
}

// triggerFor is the HTTP trigger a call at qualifier q goes through, as
// the gateway picks it: the one bound to q, else the one with the
// smallest name (a trigger without a qualifier is bound to LATEST).
export function triggerFor(triggers, q) {
  const http = triggers.filter((t) => (t.triggerType || '').toLowerCase() === 'http')
    .sort((a, b) => (a.triggerName < b.triggerName ? -1 : 1));
  return http.find((t) => (t.qualifier || 'LATEST') === q) || http[0] || null;
}

// weightToAPI turns the form's percentage into FC's additionalVersionWeight.
export function weightToAPI(extra, percent) {
  if (!extra) return {};
  return { [extra]: Math.round(Number(percent) * 100) / 10000 };
}

export async function versionsPage(main, service, signal) {
  const errors = h('div', { class: 'errors', id: 'versions-errors', 'aria-live': 'polite' });
  const status = h('p', { class: 'status', role: 'status', id: 'versions-status' });
  const versionsBox = h('section', { class: 'card', id: 'version-list', 'aria-labelledby': 'versions-h' },
    h('h2', { id: 'versions-h' }, 'Versions'), h('p', {}, 'Loading versions…'));
  const aliasesBox = h('section', { class: 'card', id: 'alias-list', 'aria-labelledby': 'aliases-h' },
    h('h2', { id: 'aliases-h' }, 'Aliases'), h('p', {}, 'Loading aliases…'));
  const page = { service, signal, errors, status, versions: [], aliases: [], versionsBox, aliasesBox };
  page.reload = () => load(page);
  page.aliasForm = aliasForm(page);
  main.replaceChildren(
    h('h1', {}, 'Versions & Aliases of ', h('span', { class: 'name' }, service)),
    h('p', { class: 'hint' }, 'A version is an immutable snapshot of every function of the service; ',
      'an alias names a version, optionally sending a share of the calls to a second one (gray release). ',
      'Call a version or an alias by its URL: ', h('code', {}, `${proxyMark}{service}.{version or alias}/{function}/`), '.'),
    publishForm(page),
    errors, status,
    versionsBox,
    page.aliasForm.form,
    aliasesBox);
  await load(page);
}

// load reads the versions and aliases and draws them; the pages show an
// action's status after it, so that the status never describes a list
// still being drawn.
async function load(page) {
  const base = `${v}/services/${api.seg(page.service)}`;
  try {
    const [versions, aliases] = await Promise.all([
      api.listAll(`${base}/versions`, 'versions'), api.listAll(`${base}/aliases`, 'aliases')]);
    if (page.signal.aborted) return;
    page.versions = versions;
    page.aliases = aliases;
  } catch (err) {
    if (page.signal.aborted) return;
    showIn(page.errors, errorBox(err));
    return;
  }
  page.aliasForm.setVersions(page.versions);
  drawVersions(page);
  drawAliases(page);
}

function publishForm(page) {
  const desc = h('input', { name: 'description', id: 'publish-description', autocomplete: 'off', maxlength: 256 });
  const form = h('form', { class: 'card', id: 'publish-version', 'aria-labelledby': 'publish-h' },
    h('h2', { id: 'publish-h' }, 'Publish a version'),
    field('Description', desc, 'Snapshots the code and configuration of every function as they are now (LATEST).'),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Publish version')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, async () => {
      try {
        const ver = await api.call('POST', `${v}/services/${api.seg(page.service)}/versions`, { description: desc.value });
        showIn(page.errors);
        const done = `Published version ${ver.versionId}.`;
        form.reset();
        await page.reload();
        showIn(page.status, done);
      } catch (err) {
        showIn(page.errors, errorBox(err));
      }
    });
  });
  return form;
}

// usersOf names the aliases that send calls to version id.
function usersOf(aliases, id) {
  return aliases.filter((a) => a.versionId === id || Object.hasOwn(a.additionalVersionWeight || {}, id))
    .map((a) => a.aliasName);
}

function drawVersions(page) {
  const { versionsBox: box, versions, aliases } = page;
  const heading = h('h2', { id: 'versions-h' }, `Versions (${versions.length})`);
  if (versions.length === 0) {
    showIn(box, heading, h('p', { class: 'empty' }, 'No versions yet: publish one above.'));
    return;
  }
  showIn(box, heading, h('ul', { class: 'items' }, versions.map((ver) => {
    const users = usersOf(aliases, ver.versionId);
    return h('li', { class: 'item', dataset: { version: ver.versionId } },
      h('div', { class: 'item-head' },
        h('strong', {}, `Version ${ver.versionId}`),
        h('span', {}, ver.description || h('span', { class: 'empty' }, 'no description')),
        h('span', { class: 'muted' }, `Published ${formatTime(ver.createdTime)}`),
        users.length ? h('span', { class: 'muted' }, `Used by ${users.join(', ')}`) : null,
        confirmDelete(`version ${ver.versionId}`, () => deleteVersion(page, ver.versionId))),
      urlsDetails(page, ver.versionId, `version ${ver.versionId}`));
  })));
}

async function deleteVersion(page, id) {
  try {
    await api.call('DELETE', `${v}/services/${api.seg(page.service)}/versions/${api.seg(id)}`);
    showIn(page.errors);
    const done = `Deleted version ${id}.`;
    await page.reload();
    showIn(page.status, done);
  } catch (err) {
    showIn(page.status);
    showIn(page.errors, errorBox(err));
  }
}

function drawAliases(page) {
  const { aliasesBox: box, aliases } = page;
  const heading = h('h2', { id: 'aliases-h' }, `Aliases (${aliases.length})`);
  if (aliases.length === 0) {
    showIn(box, heading, h('p', { class: 'empty' }, 'No aliases yet.'));
    return;
  }
  showIn(box, heading, h('ul', { class: 'items' }, aliases.map((a) => {
    const extra = Object.entries(a.additionalVersionWeight || {});
    const edit = h('button', { type: 'button', class: 'secondary', 'aria-label': `Edit alias ${a.aliasName}` }, 'Edit');
    edit.addEventListener('click', () => page.aliasForm.edit(a));
    return h('li', { class: 'item', dataset: { alias: a.aliasName } },
      h('div', { class: 'item-head' },
        h('strong', {}, a.aliasName),
        h('span', { class: 'alias-target' }, `→ version ${a.versionId}`,
          extra.map(([id, w]) => `, version ${id} takes ${Math.round(w * 10000) / 100}%`)),
        a.description ? h('span', {}, a.description) : null,
        h('span', { class: 'muted' }, `Modified ${formatTime(a.lastModifiedTime)}`),
        h('span', { class: 'row-actions' }, edit,
          confirmDelete(`alias ${a.aliasName}`, () => deleteAlias(page, a.aliasName)))),
      urlsDetails(page, a.aliasName, `alias ${a.aliasName}`));
  })));
}

async function deleteAlias(page, name) {
  try {
    await api.call('DELETE', `${v}/services/${api.seg(page.service)}/aliases/${api.seg(name)}`);
    showIn(page.errors);
    const done = `Deleted alias ${name}.`;
    await page.reload();
    showIn(page.status, done);
  } catch (err) {
    showIn(page.errors, errorBox(err));
  }
}

// urlsDetails lists, when opened, the URLs of every function of the
// version q names (its snapshot's functions) at qualifier q.
function urlsDetails(page, q, what) {
  const body = h('div', { class: 'urls' }, h('p', {}, 'Loading the functions…'));
  const details = h('details', { class: 'qualifier-urls', dataset: { qualifier: q } },
    h('summary', {}, `URLs of ${what}`), body);
  let loaded = false;
  details.addEventListener('toggle', () => {
    if (!details.open || loaded) return;
    loaded = true;
    loadURLs(page, q, body).catch((err) => showIn(body, errorBox(err)));
  });
  return details;
}

async function loadURLs(page, q, body) {
  const svc = api.seg(page.service);
  const fns = await api.listAll(`${v}/services/${svc}.${api.seg(q)}/functions`, 'functions');
  if (fns.length === 0) {
    showIn(body, h('p', { class: 'empty' }, 'This version has no functions.'));
    return;
  }
  // Triggers are not versioned: the function's live triggers serve every
  // qualifier, the one bound to q first.
  const rows = await Promise.all(fns.map(async (f) => {
    let triggers = [];
    try {
      triggers = await api.listAll(`${v}/services/${svc}/functions/${api.seg(f.functionName)}/triggers`, 'triggers');
    } catch (err) {
      if (err.code !== 'FunctionNotFound') throw err;
    }
    return { f, triggers };
  }));
  if (page.signal.aborted) return;
  showIn(body, rows.map(({ f, triggers }) => functionURLs(page.service, q, f.functionName, triggers)));
}

function functionURLs(service, q, fn, triggers) {
  const t = triggerFor(triggers, q);
  const head = h('h3', {}, fn);
  if (!t) {
    return h('div', { class: 'fn-urls' }, head,
      h('p', { class: 'empty' }, 'No HTTP trigger: calls by URL answer TriggerNotFound. Add one on the function\'s Triggers tab.'));
  }
  if (t.triggerConfig && t.triggerConfig.disableURLInternet) {
    return h('div', { class: 'fn-urls' }, head,
      h('p', { class: 'empty' }, `Internet URL disabled by trigger ${t.triggerName}: reachable through a custom domain only.`));
  }
  const url = proxyURL(baseURL(triggers, location.origin), service, q, fn);
  const bound = (t.qualifier || 'LATEST') === q && t.urlInternet && t.urlInternet !== t.urlIntranet;
  return h('div', { class: 'fn-urls' }, head,
    linkRow('Proxy URL', url, 'qualified-url', `Copy the proxy URL of ${fn} at ${q}`, url),
    bound ? linkRow(`Trigger ${t.triggerName}`, t.urlInternet, 'trigger-url', `Copy the URL of trigger ${t.triggerName}`, t.urlInternet) : null,
    h('p', { class: 'hint' }, `Through trigger ${t.triggerName} (authentication: ${t.triggerConfig.authType}).`));
}

// aliasForm creates an alias, or edits one (edit(a) fills it in).
function aliasForm(page) {
  const c = {
    name: h('input', { name: 'aliasName', id: 'alias-name', required: true, autocomplete: 'off', maxlength: 128 }),
    version: h('select', { name: 'versionId', id: 'alias-version', required: true }),
    desc: h('input', { name: 'description', id: 'alias-description', autocomplete: 'off', maxlength: 256 }),
    extra: h('select', { name: 'additionalVersion', id: 'alias-extra' }),
    weight: h('input', { name: 'weight', id: 'alias-weight', type: 'number', min: 0, max: 100, step: 0.01, value: 0, inputmode: 'decimal', disabled: true }),
  };
  const title = h('h2', { id: 'alias-form-h' }, 'Create alias');
  const submit = h('button', { type: 'submit' }, 'Create alias');
  const cancel = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Cancel edit');
  const form = h('form', { class: 'card', id: 'alias-form', 'aria-labelledby': 'alias-form-h' },
    title,
    h('div', { class: 'grid' },
      field('Alias name', c.name, 'Letters, digits, _ and -; not LATEST.'),
      field('Version', c.version),
      field('Description', c.desc)),
    h('fieldset', { class: 'gray' }, h('legend', {}, 'Gray release (optional)'),
      h('div', { class: 'grid' },
        field('Additional version', c.extra, 'Takes a share of the calls from the main version.'),
        field('Weight of the additional version (%)', c.weight, '0 to 100'))),
    h('div', { class: 'actions' }, submit, cancel));
  let editing = null;
  c.extra.addEventListener('change', () => { c.weight.disabled = !c.extra.value; });
  const reset = () => {
    editing = null;
    form.reset();
    c.name.disabled = false;
    c.weight.disabled = true;
    title.textContent = 'Create alias';
    submit.textContent = 'Create alias';
    cancel.hidden = true;
  };
  cancel.addEventListener('click', reset);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, async () => {
      const body = {
        versionId: c.version.value, description: c.desc.value,
        additionalVersionWeight: weightToAPI(c.extra.value, c.weight.value),
      };
      const path = `${v}/services/${api.seg(page.service)}/aliases`;
      try {
        if (editing) await api.call('PUT', `${path}/${api.seg(editing)}`, body);
        else await api.call('POST', path, { aliasName: c.name.value.trim(), ...body });
        showIn(page.errors);
        const done = `${editing ? 'Saved' : 'Created'} alias ${editing || c.name.value.trim()}.`;
        reset();
        await page.reload();
        showIn(page.status, done);
      } catch (err) {
        showIn(page.errors, errorBox(err));
      }
    });
  });
  return {
    form,
    setVersions(versions) {
      const opts = (none) => [none ? h('option', { value: '' }, none) : null,
        versions.map((ver) => h('option', { value: ver.versionId },
          `Version ${ver.versionId}${ver.description ? ` — ${ver.description}` : ''}`))];
      const [cur, curExtra] = [c.version.value, c.extra.value];
      showIn(c.version, opts(versions.length ? null : 'Publish a version first'));
      showIn(c.extra, opts('None'));
      c.version.value = cur || (versions[0] ? versions[0].versionId : '');
      c.extra.value = curExtra;
    },
    edit(a) {
      editing = a.aliasName;
      showIn(page.status);
      c.name.value = a.aliasName;
      c.name.disabled = true;
      c.version.value = a.versionId;
      c.desc.value = a.description || '';
      const [extra] = Object.entries(a.additionalVersionWeight || {});
      c.extra.value = extra ? extra[0] : '';
      c.weight.value = extra ? String(Math.round(extra[1] * 10000) / 100) : '0';
      c.weight.disabled = !extra;
      title.textContent = `Edit alias ${a.aliasName}`;
      submit.textContent = 'Save alias';
      cancel.hidden = false;
      form.scrollIntoView({ block: 'start' });
      c.version.focus();
    },
  };
}
