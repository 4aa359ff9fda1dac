// The Code tab: the deployed code package (GetFunctionCode, then its
// presigned url) as a file tree and an editor (the vendored CodeMirror
// 6, loaded only here), files added, renamed and deleted in memory, and
// Deploy: the files zipped in the browser and sent with UpdateFunction,
// the upload's progress shown. Binary and large files are read-only.
import * as api from './api.js';
import { h, field, errorBox, showIn } from './ui.js';
import { readZip } from './unzip.js';
import { fileTree } from './filetree.js';
import { zipFiles, updateCode } from './deploy.js';

// maxEditable: larger files open read-only (an editor on megabytes of
// text in a browser tab is slow, and such files are rarely hand-edited).
const maxEditable = 1 << 20;

export async function codeTab(el, ctx) {
  const status = h('p', { class: 'code-status', id: 'code-status', role: 'status' }, 'Loading the code package…');
  const errors = h('div', { class: 'errors', 'aria-live': 'polite' });
  el.replaceChildren(h('h2', { class: 'visually-hidden' }, 'Code'), status, errors);
  let files;
  let editor;
  try {
    const fnPath = `${api.apiVersion}/services/${api.seg(ctx.service)}/functions/${api.seg(ctx.fn)}`;
    const code = await api.call('GET', `${fnPath}/code`);
    // The url is absolute, on the host the call went to; the console
    // fetches its path and query from its own origin all the same, the
    // one CSP's connect-src allows (a proxy in front may name it
    // differently).
    const u = new URL(code.url, location.origin);
    const resp = await fetch(u.pathname + u.search, { signal: ctx.signal, credentials: 'omit', cache: 'no-store' });
    if (!resp.ok) throw api.errorOf(resp, await resp.text());
    const zip = new Uint8Array(await resp.arrayBuffer());
    status.textContent = `Code package: ${formatSize(zip.length)}, checksum ${code.checksum}.`;
    files = (await readZip(zip)).map(classify);
    editor = await import('../vendor/codemirror.js');
  } catch (err) {
    if (ctx.signal.aborted) return;
    status.textContent = 'The code package could not be loaded.';
    showIn(errors, errorBox(err));
    return;
  }
  if (ctx.signal.aborted) return;
  workspace(el, ctx, files, editor, { status, errors });
}

// classify decides how a file opens: text to edit, or read-only (large,
// binary, a symbolic link) with a note saying why.
function classify(f) {
  const file = { name: f.name, data: f.data, mode: f.mode, text: '', readOnly: false, note: '', dirty: false };
  if ((f.mode & 0o170000) === 0o120000) {
    return { ...file, readOnly: true, text: new TextDecoder().decode(f.data), note: 'Symbolic link: its target is shown; it is deployed as it is.' };
  }
  let text = null;
  if (!f.data.subarray(0, 8192).includes(0)) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(f.data);
    } catch {
      text = null;
    }
  }
  if (text === null) {
    return { ...file, readOnly: true, text: hexDump(f.data.subarray(0, 4096)),
      note: `Binary file (${formatSize(f.data.length)}): read-only, its first bytes shown in hex; it is deployed as it is.` };
  }
  if (f.data.length > maxEditable) {
    return { ...file, readOnly: true, text, note: `Large file (${formatSize(f.data.length)}): read-only, as files over ${formatSize(maxEditable)} are; it is deployed as it is.` };
  }
  return { ...file, text };
}

function hexDump(bytes) {
  const lines = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const row = [...bytes.subarray(at, at + 16)];
    const hex = row.map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = row.map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${at.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n');
}

function formatSize(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1 << 20)).toFixed(1)} MiB`;
}

// validName checks a path typed for a new or renamed file.
function validName(name, files, except) {
  if (!name || name.startsWith('/') || name.endsWith('/') || name.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    return 'Give a relative path such as src/util.js, without empty, "." or ".." parts.';
  }
  if (files.some((f) => f.name === name && f !== except)) return `${name} exists already.`;
  return '';
}

// workspace draws the tree, the editor and the Deploy bar, and keeps the
// edits until they are deployed.
function workspace(el, ctx, files, editor, { status, errors }) {
  const st = { files, current: null, view: null, expanded: new Set() };
  const treeBox = h('div', { class: 'code-tree' });
  const fileHead = h('p', { class: 'code-file', id: 'code-file' });
  const note = h('p', { class: 'code-note', id: 'code-note', hidden: true });
  const editorBox = h('div', { class: 'code-editor', id: 'code-editor' });
  const form = fileForm(st, () => redraw(), open, errors);
  let focusTree = () => {};
  const head = () => {
    if (st.current) showIn(fileHead, h('code', {}, st.current.name), st.current.dirty ? ' (modified)' : '');
    else showIn(fileHead, 'No file open.');
  };
  const redraw = () => {
    head();
    // A file opened from the tree keeps the focus there (the redraw
    // replaces the items), so the keyboard can go on walking it.
    focusTree = fileTree(treeBox, {
      label: `Files of ${ctx.fn}`, files: st.files, selected: st.current && st.current.name, expanded: st.expanded,
      onOpen: (f) => {
        open(f);
        focusTree();
      },
    });
  };
  function open(f) {
    if (st.view) st.view.destroy();
    st.view = null;
    st.current = f || null;
    note.hidden = true;
    if (!f) {
      redraw();
      return;
    }
    for (let p = f.name.lastIndexOf('/'); p > 0; p = f.name.lastIndexOf('/', p - 1)) st.expanded.add(f.name.slice(0, p));
    redraw();
    note.textContent = f.note;
    note.hidden = !f.note;
    st.view = editor.createEditor({
      parent: editorBox, doc: f.text, name: f.name, label: `Code editor: ${f.name}`, readOnly: f.readOnly,
      onChange: (text) => {
        f.text = text;
        if (!f.dirty) {
          f.dirty = true;
          redraw();
        }
      },
    });
  }
  ctx.signal.addEventListener('abort', () => st.view && st.view.destroy(), { once: true });
  el.append(
    h('div', { class: 'code-workspace' },
      h('section', { class: 'code-files', 'aria-label': 'Files' },
        h('div', { class: 'code-file-actions' },
          h('button', { type: 'button', class: 'secondary', id: 'code-new', onclick: () => form.show('new') }, 'New file'),
          h('button', { type: 'button', class: 'secondary', id: 'code-rename', onclick: () => form.show('rename') }, 'Rename'),
          h('button', { type: 'button', class: 'secondary danger', id: 'code-delete', onclick: () => form.remove() }, 'Delete')),
        form.el, treeBox),
      h('section', { class: 'code-pane', 'aria-labelledby': 'code-file' }, fileHead, note, editorBox,
        h('p', { class: 'hint', id: 'code-keys' }, 'Tab indents in the editor; press Esc, then Tab, to move on.'))),
    deployBar(ctx, st, errors, (updated) => {
      status.textContent = `Code package: ${formatSize(updated.codeSize)}, checksum ${updated.codeChecksum}.`;
      redraw();
    }));
  open(st.files.find((f) => f.name === 'index.js') || st.files.find((f) => !f.readOnly) || st.files[0]);
  form.setFocusTree(() => focusTree());
}

// fileForm is the inline form that names a new file or renames the open
// one, and the delete action.
function fileForm(st, redraw, open, errors) {
  const input = h('input', { id: 'code-path', autocomplete: 'off', spellcheck: 'false', required: true });
  const problem = h('p', { class: 'field-error', role: 'alert' });
  let mode = 'new';
  let focusTree = () => {};
  const label = h('span', {}, 'New file path');
  const wrap = field('Path', input);
  wrap.querySelector('label').replaceChildren(label);
  const el = h('form', { class: 'code-path-form', id: 'code-path-form', hidden: true }, wrap, problem,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'OK'),
      h('button', { type: 'button', class: 'secondary', onclick: () => { el.hidden = true; focusTree(); } }, 'Cancel')));
  el.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = input.value.trim();
    const why = validName(name, st.files, mode === 'rename' ? st.current : null);
    if (why) {
      problem.textContent = why;
      return;
    }
    el.hidden = true;
    showIn(errors);
    if (mode === 'rename') {
      st.current.name = name;
      st.current.dirty = true;
      open(st.current);
    } else {
      const f = { name, data: new Uint8Array(0), mode: 0o100644, text: '', readOnly: false, note: '', dirty: true };
      st.files.push(f);
      open(f);
    }
    if (st.view) st.view.focus();
  });
  return {
    el,
    setFocusTree: (fn) => { focusTree = fn; },
    show(m) {
      if (m === 'rename' && !st.current) return;
      mode = m;
      label.textContent = m === 'rename' ? `New path of ${st.current.name}` : 'New file path';
      input.value = m === 'rename' ? st.current.name : '';
      problem.textContent = '';
      el.hidden = false;
      input.focus();
    },
    remove() {
      const f = st.current;
      if (!f || !window.confirm(`Delete ${f.name}? The deletion is deployed with the next Deploy.`)) return;
      st.files = st.files.filter((x) => x !== f);
      open(st.files[0]);
      redraw();
    },
  };
}

// deployBar is the Deploy button, the upload's progress and the outcome;
// deployed(fn) is told of the updated function.
function deployBar(ctx, st, errors, deployed) {
  const progress = h('progress', { id: 'deploy-progress', max: '1', value: '0', hidden: true, 'aria-labelledby': 'deploy-status' });
  const status = h('span', { id: 'deploy-status', role: 'status' });
  const button = h('button', { type: 'button', id: 'code-deploy' }, 'Deploy');
  button.addEventListener('click', async () => {
    button.disabled = true;
    showIn(errors);
    progress.hidden = false;
    progress.removeAttribute('data-state');
    progress.max = 1;
    progress.value = 0;
    status.textContent = 'Packing the files…';
    const enc = new TextEncoder();
    // What is deployed: each file as it is now (edits made during the
    // upload stay marked modified).
    const sent = st.files.map((f) => ({ file: f, text: f.text,
      entry: { name: f.name, mode: f.mode, data: f.dirty && !f.readOnly ? enc.encode(f.text) : f.data } }));
    try {
      const zip = await zipFiles(sent.map((x) => x.entry));
      status.textContent = `Uploading ${formatSize(zip.length)}…`;
      const updated = await updateCode(ctx.service, ctx.fn, zip, (done, total) => {
        progress.max = total;
        progress.value = done;
        status.textContent = done < total ? `Uploading: ${Math.floor((100 * done) / total)}%`
          : 'Uploaded; openfc is checking and storing the package…';
      }, ctx.signal);
      for (const { file, text, entry } of sent) {
        file.data = entry.data;
        if (file.text === text) file.dirty = false;
      }
      ctx.f = updated;
      progress.value = progress.max;
      progress.dataset.state = 'done';
      status.textContent = `Deployed: checksum ${updated.codeChecksum}, ${formatSize(updated.codeSize)}.`;
      deployed(updated);
    } catch (err) {
      if (ctx.signal.aborted) return;
      progress.hidden = true;
      status.textContent = 'Deploy failed.';
      showIn(errors, errorBox(err));
    } finally {
      button.disabled = false;
    }
  });
  return h('div', { class: 'code-deploy' }, button, progress, status);
}
