// The console's entry point: it loads app.js and, when that fails, reloads
// the page, at most three times in a row.
//
// Why: Chromium fails requests still waiting for a connection with
// ERR_NETWORK_CHANGED whenever a network interface appears on the
// machine, and openfc makes one (an instance network, ahead of time) at
// start and after each cold start. The console is some thirty modules,
// and one failed fetch fails the whole module graph, which a static
// <script type=module> cannot retry.
const key = 'openfc.bootRetries';

import('./app.js').then(() => sessionStorage.removeItem(key), (err) => {
  const tries = Number(sessionStorage.getItem(key) || 0);
  if (tries < 3) {
    sessionStorage.setItem(key, String(tries + 1));
    setTimeout(() => location.reload(), 250 * (tries + 1));
    return;
  }
  sessionStorage.removeItem(key);
  const p = document.createElement('p');
  p.setAttribute('role', 'alert');
  p.textContent = `The console could not load (${err && err.message ? err.message : err}). Reload the page to try again.`;
  document.getElementById('main').replaceChildren(p);
});
