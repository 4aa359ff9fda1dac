// Small DOM helpers: the console builds its pages with these, never with
// innerHTML, so nothing the API returns is ever parsed as markup.

// h builds an element: h('p', {class: 'x'}, 'text', child, ...). Attributes
// starting with "on" are event listeners; false or null ones are left out.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// idFor returns a fresh element id with the given prefix, for labels.
let counter = 0;
export function idFor(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

// field is a labelled control: label text, then the control.
export function field(label, control, hint) {
  if (!control.id) control.id = idFor('f');
  const hintEl = hint ? h('small', { id: `${control.id}-hint`, class: 'hint' }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

// errorBox shows an error as FC reports it: ErrorCode, ErrorMessage and
// the request id (role=alert, so screen readers announce it).
export function errorBox(err) {
  if (err && err.code) {
    return h('div', { class: 'fc-error', role: 'alert' },
      h('p', {}, h('strong', { class: 'error-code' }, err.code),
        err.status ? h('span', { class: 'error-status' }, ` (HTTP ${err.status})`) : null),
      h('p', { class: 'error-message' }, err.errorMessage || ''),
      err.requestId ? h('p', { class: 'error-request-id' }, 'RequestId: ', h('code', {}, err.requestId)) : null);
  }
  return h('div', { class: 'fc-error', role: 'alert' },
    h('p', {}, h('strong', { class: 'error-code' }, 'Error')),
    h('p', { class: 'error-message' }, String(err && err.message ? err.message : err)));
}

// showIn replaces the content of a container (an error slot, a result).
export function showIn(container, ...children) {
  container.replaceChildren();
  append(container, children);
}

// busy disables a form's submit button while fn runs.
export async function busy(form, fn) {
  const btn = form.querySelector('button[type=submit]');
  if (btn) btn.disabled = true;
  form.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    if (btn) btn.disabled = false;
    form.removeAttribute('aria-busy');
  }
}

// copyButton copies text to the clipboard and says so in a live region.
export function copyButton(text, label) {
  const status = h('span', { class: 'copy-status', role: 'status' });
  const btn = h('button', {
    type: 'button', class: 'secondary copy', 'aria-label': label,
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(text);
        status.textContent = 'Copied';
      } catch {
        status.textContent = 'Copy failed: select the URL and copy it';
      }
    },
  }, 'Copy');
  return h('span', {}, btn, status);
}

// formatTime shows an API time (ISO 8601) in the browser's locale.
export function formatTime(s) {
  if (!s) return '';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : d.toLocaleString();
}

// table builds a table with a caption, column headings and rows of cells.
export function table(caption, headings, rows) {
  return h('div', { class: 'table-wrap' },
    h('table', {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, headings.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c, i) =>
        (i === 0 ? h('th', { scope: 'row' }, c) : h('td', {}, c))))))));
}

// output is a block of program output (headers, a body, a log): it
// scrolls when long, so it takes keyboard focus to be scrolled without a
// mouse (tabindex 0), with a label for what it holds.
export function output(id, label, text) {
  return h('pre', { id, class: 'output', tabindex: '0', 'aria-label': label }, text);
}

// linkRow shows a URL or command with a copy button; href makes it a link.
export function linkRow(label, text, cls, copyLabel, href) {
  return h('div', { class: 'url-row' },
    h('span', { class: 'url-label' }, `${label}:`),
    href ? h('a', { class: cls, href, target: '_blank', rel: 'noopener noreferrer' }, text) : h('code', { class: cls }, text),
    copyButton(text, copyLabel));
}

// confirmDelete is a Delete button (text label) that asks for a
// confirmation in place, no blocking dialog; run deletes, showing its own
// errors.
export function confirmDelete(what, run, label = 'Delete') {
  const box = h('span', { class: 'row-actions' });
  const ask = h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${what}` }, label);
  ask.addEventListener('click', () => {
    const yes = h('button', { type: 'button', class: 'danger', 'aria-label': `Confirm deleting ${what}` }, 'Confirm delete');
    const no = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      await run();
      if (yes.isConnected) showIn(box, ask);
    });
    no.addEventListener('click', () => {
      showIn(box, ask);
      ask.focus();
    });
    showIn(box, yes, ' ', no);
    yes.focus();
  });
  box.append(ask);
  return box;
}

// savedAt says a change was saved, next to el, and puts the focus on el:
// after a save the tab is drawn again (ctx.reload), and the form that had
// the focus is gone.
export function savedAt(el) {
  if (!el) return;
  el.after(h('span', { class: 'saved', role: 'status' }, 'Saved'));
  el.focus();
}
