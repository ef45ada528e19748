// Every literal string key the interface asks for exists in every language
// table, and no screen appends with the DOM's el.append() (run by the test suite: `node web/check-strings.mjs`).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { strings } from './src/app/i18n.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), 'src', 'app');
const files = [];
const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) =>
  (e.isDirectory() ? walk(path.join(d, e.name)) : e.name.endsWith('.js') && e.name !== 'i18n.js' && files.push(path.join(d, e.name))));
walk(root);
const lookup = (table, key) => key.split('.').reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), table);
let missing = 0;
let used = 0;
for (const f of files) {
  const src = fs.readFileSync(f, 'utf8');
  for (const m of src.matchAll(/\bt\('([a-z_]+(?:\.[a-z_0-9]+)+)'/g)) {
    used++;
    for (const [lang, table] of Object.entries(strings)) {
      if (typeof lookup(table, m[1]) !== 'string') {
        console.error(`${path.relative(root, f)}: '${m[1]}' missing in ${lang}`);
        missing++;
      }
    }
  }
}
// el.append(x) writes "null" or "undefined" on the screen when x is
// missing; the screens add children with put() (dom.js), which leaves them out.
let rawAppends = 0;
for (const f of files) {
  if (path.basename(f) === 'dom.js') continue;
  fs.readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
    if (/\.append\(/.test(line)) {
      console.error(`${path.relative(root, f)}:${i + 1}: el.append() — use put() from dom.js`);
      rawAppends++;
    }
  });
}
console.log(`${used} string uses checked in ${files.length} files, ${missing} missing`);
process.exit(missing || rawAppends ? 1 : 0);
