// Lints the API contract with Redocly's lint engine and the rules of
// redocly.yaml; exits 1 on any error or warning not accepted, with its
// reason, in .redocly.lint-ignore.yaml.
//   node tests/api/lint.mjs docs/openapi.yaml
import core from '@redocly/openapi-core';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const spec = process.argv[2];
if (!spec) {
  console.error('usage: node lint.mjs OPENAPI.yaml');
  process.exit(2);
}
const config = await core.loadConfig({ configPath: path.join(here, 'redocly.yaml') });
const problems = await core.lint({ ref: spec, config });
for (const p of problems.filter((x) => !x.ignored)) {
  const where = (p.location || []).map((l) => l.pointer).join(', ');
  console.log(`${p.severity} ${p.ruleId}: ${p.message} ${where}`);
}
const totals = core.getTotals(problems);
console.log(`${spec}: ${totals.errors} errors, ${totals.warnings} warnings`);
process.exit(totals.errors + totals.warnings > 0 ? 1 : 0);
