// Builds ../assets/vendor/codemirror.js (one minified ES module) and its
// LICENSE notices from entry.mjs and the packages package-lock.json pins.
// The output is committed: the console itself has no build step, and
// `make console-editor-check` rebuilds it to prove it is up to date.
import { build } from 'esbuild';
import { readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '..', 'assets', 'vendor');
const lock = JSON.parse(readFileSync(join(here, 'package-lock.json'), 'utf8'));

// The bundled packages: everything the lock installs but esbuild itself.
const bundled = Object.entries(lock.packages)
  .filter(([p, info]) => p.startsWith('node_modules/') && !p.includes('esbuild'))
  .map(([p, info]) => ({ name: p.slice('node_modules/'.length), version: info.version, license: info.license }))
  .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

const banner = '/* CodeMirror 6 for the openfc console, built by internal/console/editor (npm run build).\n' +
  ' * Packages (MIT licensed; notices in codemirror.LICENSE.txt):\n' +
  bundled.map((p) => ` *   ${p.name}@${p.version} (${p.license})`).join('\n') + '\n */';

await build({
  entryPoints: [join(here, 'entry.mjs')],
  bundle: true,
  format: 'esm',
  minify: true,
  target: 'es2020',
  legalComments: 'none',
  banner: { js: banner },
  outfile: join(outDir, 'codemirror.js'),
  logLevel: 'warning',
});

// licenseText is a package's LICENSE file (whatever its spelling).
function licenseText(name) {
  const dir = join(here, 'node_modules', name);
  const file = existsSync(dir) && readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
  if (!file) throw new Error(`${name}: no LICENSE file to copy`);
  return readFileSync(join(dir, file), 'utf8').trim();
}

const notices = bundled.map((p) => `${p.name}@${p.version}\n${'-'.repeat(40)}\n${licenseText(p.name)}\n`);
writeFileSync(join(outDir, 'codemirror.LICENSE.txt'),
  'Third-party notices for codemirror.js (the console\'s bundled editor).\n\n' + notices.join('\n'));
