// Browser-test helpers for the visura UI: Debian's Chromium driven by
// playwright-core, problem recording (console/page errors, 5xx, CSP
// violations), steps with screenshots on failure, axe-core accessibility checks.
//
// playwright-core and axe-core come from web/node_modules (web/package.json).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const require = createRequire(path.join(repo, 'web', 'package.json'));
const { chromium } = require('playwright-core');

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = process.env.VISURA_BROWSER_ARTIFACTS ||
  path.join(repo, 'build', 'browser-artifacts');
fs.mkdirSync(path.join(ARTIFACTS, 'screens'), { recursive: true });

// The base64 SHA-256 of a PEM certificate's public key (its SPKI).
function spkiHash(certFile) {
  const key = new crypto.X509Certificate(fs.readFileSync(certFile)).publicKey;
  return crypto.createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('base64');
}

// Never downloads anything: the system Chromium, headless, with a fresh
// temporary profile (chromium.launch makes one and removes it on close).
//
// certFile: the test server's self-signed certificate, trusted by its key
// (--ignore-certificate-errors-spki-list), so that no connection meets a
// certificate error.  Not the contexts' ignoreHTTPSErrors: with it each new
// connection fails its handshake on the certificate and the request is
// restarted ignoring the error (a netlog of five fresh pages: 37 such
// handshakes, a request restarted up to 3 times), and Chromium gives a
// request up after 32 restarts with net::ERR_TOO_MANY_RETRIES — once a
// font on a fresh page of a loaded CI run.  Now a certificate error fails
// the page instead.
export async function launch(certFile) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--ignore-certificate-errors-spki-list=${spkiHash(certFile)}`],
  });
  return { browser };
}

const recorded = new WeakMap();   // page -> its problems

// Runs in every document before the page's own scripts.  Injected through
// CDP (Page.addScriptToEvaluateOnNewDocument), so the page's CSP does not
// block it.  Violations are kept in the page and also forwarded to Node, so
// the ones seen before a navigation are not lost with the old document.
function cspListener() {
  window.__cspViolations = [];
  window.addEventListener('securitypolicyviolation', (e) => {
    const v = { directive: e.violatedDirective, blocked: e.blockedURI,
      source: e.sourceFile, line: e.lineNumber, sample: e.sample, page: location.href };
    window.__cspViolations.push(v);
    if (typeof window.__visuraCsp === 'function') window.__visuraCsp(v);
  }, true);
}

// A page in a new context: Italian locale, Rome time (the self-signed
// certificate is trusted at launch; no bypassCSP: the CSP is under test).
// screen: { width, height, deviceScaleFactor } (default a 1280-px desktop).
export async function newPage(browser, baseURL, screen = {}) {
  const context = await browser.newContext({
    baseURL, locale: 'it-IT', timezoneId: 'Europe/Rome',
    viewport: { width: screen.width || 1280, height: screen.height || 900 },
    deviceScaleFactor: screen.deviceScaleFactor || 1, acceptDownloads: true,
  });
  // an action that cannot happen fails in 10 s, not Playwright's 30
  context.setDefaultTimeout(10000);
  const p = { consoleErrors: [], pageErrors: [], serverErrors: [], csp: [] };
  await context.exposeBinding('__visuraCsp', (_src, v) => p.csp.push(v));
  await context.addInitScript(cspListener);
  const page = await context.newPage();
  watch(page, p);
  return page;
}

// The page's security state as Chromium shows it (CDP Security domain):
// "secure", or "insecure-broken" with the certificate error a context
// that ignores them let through.
export async function securityState(page) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const changed = new Promise((resolve) =>
      cdp.once('Security.visibleSecurityStateChanged', (e) => resolve(e.visibleSecurityState)));
    await cdp.send('Security.enable');
    const s = await Promise.race([changed, new Promise((_, reject) =>
      setTimeout(() => reject(new Error('no security state from Chromium in 5 s')), 5000))]);
    return { securityState: s.securityState,
      certificateError: s.certificateSecurityState && s.certificateSecurityState.certificateNetworkError,
      issues: s.securityStateIssueIds };
  } finally {
    await cdp.detach().catch(() => {});
  }
}

// Records the problems of `page` in `p` (a new page's own record, or the
// record of the page that opened it: a tab opened by a link).
function watch(page, p) {
  recorded.set(page, p);
  page.on('console', (msg) => {
    const text = msg.text();
    // Chromium also reports each violation on the console, more verbosely
    // than the event: kept with the CSP problems, not as a console error.
    if (/Content Security Policy/i.test(text)) p.csp.push({ console: text });
    else if (msg.type() === 'error') p.consoleErrors.push({ text, url: msg.location().url });
  });
  page.on('pageerror', (err) => p.pageErrors.push(String(err.stack || err)));
  page.on('response', (res) => {
    if (res.status() >= 500)
      p.serverErrors.push(`${res.status()} ${res.request().method()} ${res.url()}`);
  });
}

// A page opened from `opener` (target=_blank): its problems count as the
// opener's (CSP violations of its documents arrive through the context's
// binding already).
export function adopt(page, opener) {
  watch(page, recorded.get(opener));
  return page;
}

export function problems(page) {
  return recorded.get(page);
}

// Forgets what was recorded so far (after a flow provoked an expected error).
export function clearProblems(page) {
  for (const list of Object.values(recorded.get(page))) list.length = 0;
}

const isFavicon = (e) => /\/favicon\.ico(\?|$)/.test(e.url || '');

// Throws if the page had CSP violations, uncaught errors, console errors or
// 5xx answers.  opts.ignore: regexps of console errors a flow expects (e.g.
// Chromium's "Failed to load resource: ... 401" after a wrong password),
// tested against "<text> <url>" (the failed resource's address is the url).
export function assertNoProblems(page, opts = {}) {
  const p = problems(page);
  const ignore = opts.ignore || [];
  const consoleErrors = p.consoleErrors.filter(
    (e) => !isFavicon(e) && !ignore.some((re) => re.test(`${e.text} ${e.url || ''}`)));
  const out = [];
  for (const v of p.csp)
    out.push(v.console ? `CSP (console): ${v.console}`
      : `CSP: ${v.directive} blocked ${v.blocked || '?'} at ${v.source}:${v.line} (page ${v.page})`);
  for (const e of p.pageErrors) out.push('page error: ' + e);
  for (const e of consoleErrors) out.push(`console error: ${e.text}${e.url ? ` (${e.url})` : ''}`);
  for (const e of p.serverErrors) out.push('server error: ' + e);
  if (out.length) throw new Error(`${out.length} problem(s):\n  ` + out.join('\n  '));
}

// ---------------------------------------------------------------- steps

const results = { ok: 0, failed: [] };
const sanitize = (name) => name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120);

export async function screenshot(page, name) {
  const file = path.join(ARTIFACTS, 'screens', sanitize(name) + '.png');
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

export async function step(name, page, fn) {
  const t0 = Date.now();
  try {
    const r = await fn();
    results.ok++;
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
    return r;
  } catch (err) {
    results.failed.push({ name, why: err && err.message || String(err) });
    console.log(`FAIL ${name}: ${err && err.stack || err}`);
    if (err && typeof err === 'object') err.__reported = true;   // for the flow runner
    if (page && !page.isClosed()) {
      const file = path.join(ARTIFACTS, sanitize(name) + '.png');
      await page.screenshot({ path: file, fullPage: true }).then(
        () => console.log(`     screenshot: ${file}`),
        (e) => console.log(`     (no screenshot: ${e.message})`));
    }
    throw err;
  }
}

// Failures outside any step (e.g. a flow that could not start).
export function recordFailure(name, err) {
  results.failed.push({ name, why: err && err.message || String(err) });
  console.log(`FAIL ${name}: ${err && err.stack || err}`);
}

export function summary() {
  for (const [screen, c] of Object.entries(a11yCounts))
    console.log(`a11y ${screen}: ${c.minor} minor, ${c.moderate} moderate (not failing)`);
  console.log(`${results.ok} steps ok, ${results.failed.length} failed`);
  // each failure's reason again at the end, where a cut log (CI keeps its
  // tail) still shows it
  for (const f of results.failed) console.log(`  failed: ${f.name}: ${f.why.slice(0, 1500)}`);
  return results.failed.length ? 1 : 0;
}

// ---------------------------------------------------------------- accessibility

const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const a11yCounts = {};   // screen -> { minor, moderate }

// axe-core is put into the page with page.evaluate, which runs through the
// DevTools protocol and is not subject to the page's CSP (addScriptTag would
// add a <script> that script-src 'self' refuses).
export async function checkA11y(page, screenName) {
  if (!(await page.evaluate(() => typeof window.axe === 'object')))
    await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')), count: v.nodes.length }));
  });
  const count = (impact) => violations.filter((v) => v.impact === impact).length;
  a11yCounts[screenName] = { minor: count('minor'), moderate: count('moderate') };
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length)
    throw new Error(`accessibility (${screenName}): ${bad.length} serious/critical violation(s):\n` +
      bad.map((v) => `  [${v.impact}] ${v.id}: ${v.help} (${v.count} node(s): ` +
        `${v.targets.join(' | ')})`).join('\n'));
  return violations;
}
