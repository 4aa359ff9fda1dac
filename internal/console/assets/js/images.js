// Images (an openfc extension: FC pulls custom-container images from its
// registry, openfc keeps its own store): the stored images, importing a
// `docker save` or OCI tarball from this computer with the upload's
// progress, and deleting one (FC-style ImageInUse names the functions
// that use it; "even if in use" forces it).
import * as api from './api.js';
import { h, field, errorBox, showIn, busy, formatTime, table, confirmDelete } from './ui.js';

const path = `${api.apiVersion}/images`;

export async function imagesPage(main, signal) {
  const errors = h('div', { class: 'errors', id: 'images-errors', 'aria-live': 'polite' });
  const list = h('div', { id: 'image-list' }, h('p', {}, 'Loading images…'));
  const page = { signal, errors, list };
  page.reload = () => load(page);
  main.replaceChildren(
    h('h1', {}, 'Images'),
    h('p', { class: 'hint' }, 'Images for custom-container functions. A function can also name an image in a registry: ',
      'openfc pulls it at its first start.'),
    importForm(page), errors, list);
  await load(page);
}

async function load(page) {
  let images;
  try {
    images = await api.listAll(path, 'images');
  } catch (err) {
    if (!page.signal.aborted) showIn(page.errors, errorBox(err));
    return;
  }
  if (page.signal.aborted) return;
  if (images.length === 0) {
    showIn(page.list, h('p', { class: 'empty' }, 'No images yet: import one above.'));
    return;
  }
  const force = h('input', { type: 'checkbox', id: 'image-force' });
  showIn(page.list,
    table('Stored images', ['Reference', 'Digest', 'Size', 'Source', 'Stored', 'Actions'],
      images.map((im) => [
        h('code', { dataset: { image: im.ref } }, im.ref), h('code', { class: 'digest' }, im.digest),
        formatBytes(im.size), im.source, formatTime(im.createdTime),
        confirmDelete(`image ${im.ref}`, () => remove(page, im.ref, force.checked)),
      ])),
    h('p', { class: 'check-field' }, force, ' ', h('label', { for: force.id }, 'Delete even if functions use it')));
}

async function remove(page, ref, force) {
  try {
    await api.call('DELETE', `${path}/${ref.split('/').map(api.seg).join('/')}${force ? '?force=true' : ''}`);
    showIn(page.errors);
  } catch (err) {
    showIn(page.errors, errorBox(err));
    return;
  }
  await page.reload();
}

// importForm uploads a tarball (POST /images, the body streamed from the
// file) with its progress; ref names the image when the tarball does not.
function importForm(page) {
  const file = h('input', { type: 'file', name: 'tarball', id: 'image-file', required: true, accept: '.tar,.tar.gz,.tgz,application/x-tar' });
  const ref = h('input', { name: 'ref', id: 'image-ref', autocomplete: 'off', spellcheck: 'false', placeholder: 'registry.example.com/app:v1' });
  const status = h('p', { id: 'image-status', role: 'status' });
  const progress = h('progress', { id: 'image-progress', max: '1', value: '0', hidden: true, 'aria-labelledby': 'image-status' });
  const form = h('form', { class: 'card', id: 'import-image', 'aria-labelledby': 'import-image-h' },
    h('h2', { id: 'import-image-h' }, 'Import an image'),
    h('div', { class: 'grid' },
      field('Tarball', file, 'docker save or an OCI layout, as a .tar'),
      field('Reference (optional)', ref, 'Names the image when the tarball has no tag')),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Import')),
    progress, status);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = file.files[0];
    if (!f) return;
    busy(form, async () => {
      progress.hidden = false;
      progress.max = f.size || 1;
      progress.value = 0;
      showIn(status, `Uploading ${f.name}…`);
      try {
        const query = ref.value.trim() ? `ref=${encodeURIComponent(ref.value.trim())}` : '';
        const out = await api.signedUpload('POST', path, query, f, 'application/x-tar', (sent, total) => {
          progress.max = total || 1;
          progress.value = sent;
          showIn(status, `Uploading ${f.name}: ${formatBytes(sent)} of ${formatBytes(total)}`,
            sent >= total ? ' — storing the layers…' : '');
        }, page.signal);
        progress.value = progress.max;
        showIn(status, 'Imported ', ((out && out.images) || []).map((im) => im.ref).join(', '), '.');
        showIn(page.errors);
        form.reset();
      } catch (err) {
        progress.hidden = true;
        showIn(status);
        showIn(page.errors, errorBox(err));
        return;
      }
      await page.reload();
    });
  });
  return form;
}

function formatBytes(n) {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}
