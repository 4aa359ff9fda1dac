// The console's entry: sign-in and hash routing between the pages.
//
//   #/signin                          sign in with an AccessKey
//   #/services                        services
//   #/services/{service}              functions of a service
//   #/services/{service}/versions     versions and aliases of a service
//   #/services/{service}/functions/{function}[/{tab}]   a function
//   #/domains                         custom domains
//   #/images                          images (custom containers)
import * as api from './api.js';
import { h, field, errorBox, showIn, busy } from './ui.js';
import { servicesPage } from './services.js';
import { functionsPage } from './functions.js';
import { functionPage } from './detail.js';
import { versionsPage } from './versions.js';
import { domainsPage } from './domains.js';
import { imagesPage } from './images.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');

// go shows the page of hash (hashchange does when the hash changes).
function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// page is the shown page's AbortController: leaving a page aborts it,
// so live pages (logs, instances) stop following.
let page = new AbortController();

function route() {
  page.abort();
  page = new AbortController();
  const { signal } = page;
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (!api.credentials() || parts[0] === 'signin') {
    header([]);
    return signInPage();
  }
  if (parts[0] === 'services' && parts.length === 2) {
    header([['Services', '#/services'], [parts[1]]]);
    return functionsPage(main, parts[1]);
  }
  const serviceCrumb = () => [parts[1], `#/services/${encodeURIComponent(parts[1])}`];
  if (parts[0] === 'services' && parts.length === 3 && parts[2] === 'versions') {
    header([['Services', '#/services'], serviceCrumb(), ['Versions & Aliases']]);
    return versionsPage(main, parts[1], signal);
  }
  if (parts[0] === 'services' && (parts.length === 4 || parts.length === 5) && parts[2] === 'functions') {
    header([['Services', '#/services'], serviceCrumb(), [parts[3]]]);
    return functionPage(main, parts[1], parts[3], parts[4], signal);
  }
  if (parts[0] === 'images') {
    header([['Images']]);
    return imagesPage(main, signal);
  }
  if (parts[0] === 'domains') {
    header([['Custom domains']]);
    return domainsPage(main, signal);
  }
  header([['Services']]);
  return servicesPage(main);
}

// header draws the breadcrumb (the last item is the current page) and
// who is signed in.
function header(crumbs) {
  document.title = [...crumbs.map(([label]) => label).reverse(), 'openfc console'].join(' · ');
  nav.replaceChildren(...(crumbs.length === 0 ? [] : [h('ol', {}, crumbs.map(([label, href], i) =>
    h('li', {}, href && i < crumbs.length - 1 ? h('a', { href }, label) : h('span', { 'aria-current': 'page' }, label))))]));
  const cred = api.credentials();
  who.replaceChildren(...(cred ? [
    h('nav', { class: 'sections', 'aria-label': 'Sections' },
      h('a', { href: '#/services' }, 'Services'), ' ', h('a', { href: '#/domains', id: 'nav-domains' }, 'Custom domains'), ' ',
      h('a', { href: '#/images', id: 'nav-images' }, 'Images')),
    h('span', { class: 'key-id' }, cred.accessKeyId),
    h('button', { type: 'button', class: 'secondary', id: 'sign-out', onclick: () => {
      api.forgetCredentials();
      go('#/signin');
    } }, 'Sign out'),
  ] : []));
}

function signInPage() {
  const id = h('input', { name: 'accessKeyId', id: 'access-key-id', required: true, autocomplete: 'username', spellcheck: 'false' });
  const secret = h('input', { name: 'accessKeySecret', id: 'access-key-secret', type: 'password', required: true, autocomplete: 'current-password' });
  const errors = h('div', { class: 'errors', 'aria-live': 'polite' });
  const form = h('form', { class: 'card signin', id: 'signin', 'aria-labelledby': 'signin-h' },
    h('h1', { id: 'signin-h' }, 'Sign in to openfc'),
    h('p', {}, 'Requests are signed in this browser with your AccessKey (FC\'s signature). ',
      'The secret stays in this tab\'s session storage and is never sent.'),
    field('AccessKey ID', id),
    field('AccessKey secret', secret),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Sign in')),
    errors);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, async () => {
      const cred = { accessKeyId: id.value.trim(), accessKeySecret: secret.value };
      try {
        await api.call('GET', `${api.apiVersion}/services?limit=1`, undefined, cred);
      } catch (err) {
        showIn(errors, errorBox(err));
        secret.focus();
        return;
      }
      api.saveCredentials(cred);
      go('#/services');
    });
  });
  main.replaceChildren(form);
  id.focus();
}

window.addEventListener('hashchange', () => {
  route();
  main.focus({ preventScroll: true });
});
route();
