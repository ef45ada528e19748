// The interface's entry point: who is logged in, the frame (header, menu
// for the role), and the hash router that draws one screen at a time.
import { h, clear, notice, put } from './dom.js';
import { session, loadMe, login, api, ApiError } from './api.js';
import { t } from './i18n.js';
import { accountRoutes } from './screens/account.js';
import { operatorRoutes } from './screens/operator.js';
import { leadRoutes } from './screens/lead.js';
import { adminRoutes } from './screens/admin.js';
import { auditRoutes } from './screens/audit.js';
import { statsRoutes } from './screens/stats.js';
import { bollettiniRoutes } from './screens/bollettini.js';
import { helpRoutes } from './screens/help.js';

// name -> { roles, title, menu (shown in the menu of those roles), render(params) }
const routes = { ...operatorRoutes, ...leadRoutes, ...adminRoutes, ...auditRoutes, ...statsRoutes, ...bollettiniRoutes, ...accountRoutes, ...helpRoutes };

const HOME = { operator: 'work', lead: 'operators', admin: 'home', auditor: 'trail' };

const main = document.getElementById('main');

// A confirmation to show on the next screen drawn (after a change that
// redraws the screen it was made on).
let pendingFlash = null;

export function go(name, params, flash) {
  pendingFlash = flash || null;
  const q = params ? new URLSearchParams(params).toString() : '';
  const hash = `#/${name}${q ? `?${q}` : ''}`;
  if (location.hash === hash) render();
  else location.hash = hash;
}

function parseHash() {
  const m = /^#\/([a-z-]*)(?:\?(.*))?$/.exec(location.hash);
  return m ? { name: m[1], params: new URLSearchParams(m[2] || '') } : { name: '', params: new URLSearchParams() };
}

// The screen the account may see now: a due password change or
// second-factor enrolment comes before anything else.
function allowed(name) {
  const me = session.me;
  if (routes[name] && routes[name].public) return name;   // the help page, before login too
  if (!me) return 'login';
  if (me.must_change_password) return 'password';
  if (me.totp_enrolment_required) return 'totp';
  const r = routes[name];
  if (!r || !r.roles.includes(me.role)) return HOME[me.role] || 'account';
  return name;
}

// The office's menu in groups (the screens not named here stay on the bar).
const MENU_FLAT = 9;
const MENU_GROUPS = [
  ['bodies', ['enti', 'convenzioni', 'accounts', 'admin-requests']],
  ['register', ['imports', 'alerts', 'admin-incidents', 'notices', 'outbox']],
  ['controls', ['trail', 'subject', 'chain', 'admin-usage', 'review', 'processing', 'stats', 'bollettini']],
];

function menu() {
  const nav = clear(document.getElementById('nav'));
  const zone = clear(document.getElementById('user-zone'));
  const me = session.me;
  if (!me || me.must_change_password || me.totp_enrolment_required) return;
  const current = parseHash().name;
  const mine = Object.entries(routes).filter(([, r]) => r.menu && r.roles.includes(me.role)).map(([name]) => name);
  const link = (name) => h('a', { class: `nav-link${name === current ? ' active' : ''}`, href: `#/${name}`,
    'aria-current': name === current ? 'page' : null }, h('span', {}, routes[name].menu));
  // A long menu (the office's) in groups that open on demand; a short one flat.
  const groups = mine.length > MENU_FLAT ? MENU_GROUPS.map(([key, names]) => [key, names.filter((n) => mine.includes(n))]) : [];
  const grouped = new Set(groups.flatMap(([, names]) => names));
  let placed = false;
  for (const name of mine) {
    if (!grouped.has(name)) {
      put(nav, h('li', { class: 'nav-item' }, link(name)));
      continue;
    }
    if (placed) continue;
    placed = true;
    for (const [key, names] of groups) {
      if (!names.length) continue;
      const open = names.includes(current);
      const box = h('details', { class: 'visura-group' },
        h('summary', { class: open ? 'active' : null }, t(`menu.${key}`)),
        h('ul', { class: 'list-unstyled' }, names.map((n) => h('li', {}, link(n)))));
      // one group open at a time
      box.addEventListener('toggle', () => {
        if (box.open) for (const d of nav.querySelectorAll('details.visura-group')) if (d !== box) d.open = false;
      });
      put(nav, h('li', { class: 'nav-item' }, box));
    }
  }
  put(zone,
    h('span', { class: 'me-3 text-white', id: 'whoami' },
      `${me.full_name} · ${t(`role.${me.role}`)}${me.ente ? ` · ${me.ente.name}` : ''}`),
    h('button', { type: 'button', class: 'btn btn-primary btn-sm', id: 'logout', onclick: logout }, t('nav.logout')));
}

async function logout() {
  try { await api.post('/api/v1/auth/logout'); } catch { /* the session may be gone already */ }
  session.me = null;
  session.csrf = null;
  sessionStorage.clear();
  go('login');
}

let drawing = 0;
// The hash whose screen was drawn last.  Changing the hash in render (the
// redirect below) fires a hashchange afterwards, and that screen is drawn
// already: drawing it again, perhaps after it was shown, would wipe what
// was typed or chosen in it.
let drawn = null;
function hashChanged() {
  if (location.hash !== drawn) render();
}

export async function render() {
  const ticket = ++drawing;
  const { name, params } = parseHash();
  const target = allowed(name);
  if (target !== name) {
    location.replace(`#/${target}`);
    if (location.hash === `#/${target}`) return render();
    return;
  }
  drawn = location.hash;
  const r = target === 'login' ? accountRoutes.login : routes[target];
  menu();
  document.title = `${r.title} — ${brand}`;
  const body = h('div', {});
  const title = h('h1', { class: 'h2 mb-4', id: 'screen-title', tabindex: '-1' }, r.title);
  put(clear(main), title, body);
  if (pendingFlash) put(body, notice('success', pendingFlash));
  pendingFlash = null;
  main.dataset.screen = target;
  main.setAttribute('aria-busy', 'true');
  try {
    const node = await r.render(params, body);
    if (ticket !== drawing) return;
    if (node) put(body, node);
  } catch (e) {
    if (ticket !== drawing) return;
    put(body, notice('danger', e instanceof ApiError ? e.text : String(e)));
    if (!(e instanceof ApiError)) console.error(e);
  }
  main.setAttribute('aria-busy', 'false');
  // Screen readers start reading the new screen at its title.
  if (document.activeElement === document.body || !main.contains(document.activeElement)) title.focus({ preventScroll: true });
}

// The login dialog over the current screen when the session ended: the
// form under it keeps what was typed; the request is repeated afterwards.
function reloginDialog() {
  return new Promise((resolve) => {
    const previous = session.me && session.me.username;
    const err = h('div', { 'aria-live': 'assertive' });
    const user = h('input', { id: 'relogin-user', class: 'form-control', autocomplete: 'username', value: previous || '', required: true });
    const pass = h('input', { id: 'relogin-pass', class: 'form-control', type: 'password', autocomplete: 'current-password', required: true });
    const code = h('input', { id: 'relogin-totp', class: 'form-control', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '6' });
    const form = h('form', { class: 'modal-content', novalidate: true },
      h('div', { class: 'modal-header' }, h('h2', { class: 'modal-title h5', id: 'relogin-title' }, t('relogin.title'))),
      h('div', { class: 'modal-body' },
        h('p', {}, t('relogin.text')), err,
        h('div', { class: 'form-group mb-4' }, h('label', { for: 'relogin-user', class: 'active' }, t('login.username')), user),
        h('div', { class: 'form-group mb-4' }, h('label', { for: 'relogin-pass', class: 'active' }, t('login.password')), pass),
        h('div', { class: 'form-group mb-2' }, h('label', { for: 'relogin-totp', class: 'active' }, t('login.totp_optional')), code)),
      h('div', { class: 'modal-footer' }, h('button', { type: 'submit', class: 'btn btn-primary' }, t('login.submit'))));
    const dialog = h('div', { class: 'modal visura-modal', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'relogin-title', id: 'relogin' },
      h('div', { class: 'modal-dialog' }, form));
    // Everything but the dialog is out of reach (keyboard and screen
    // readers) until the new login.
    const behind = [...document.body.children];
    behind.forEach((el) => el.setAttribute('inert', ''));
    put(document.body, dialog);
    // Tab and Shift+Tab cycle inside the dialog.
    dialog.addEventListener('keydown', (ev) => {
      if (ev.key !== 'Tab') return;
      const stops = [...dialog.querySelectorAll('input, button')].filter((el) => !el.disabled);
      const first = stops[0];
      const last = stops[stops.length - 1];
      if (ev.shiftKey && document.activeElement === first) { ev.preventDefault(); last.focus(); }
      else if (!ev.shiftKey && document.activeElement === last) { ev.preventDefault(); first.focus(); }
    });
    pass.focus();
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clear(err);
      try {
        await login(user.value.trim(), pass.value, code.value.trim());
        const me = await loadMe();
        dialog.remove();
        behind.forEach((el) => el.removeAttribute('inert'));
        if (me.username !== previous) { location.hash = '#/'; location.reload(); return; }
        menu();
        resolve();
      } catch (e) {
        put(err, notice('danger', e instanceof ApiError ? e.text : String(e)));
      }
    });
  });
}

// The skip link moves the focus to the screen's title; following its
// "#main" would be taken for a route.
function skipLink() {
  const link = document.querySelector('.skip-link');
  if (link) link.addEventListener('click', (ev) => {
    ev.preventDefault();
    const title = document.getElementById('screen-title');
    if (title) title.focus();
  });
}

// The header names the municipality as its printed visura does
// (print_heading, from GET /api/v1/help); "visura" only when it is empty.
let brand = 'visura';
async function heading() {
  try {
    const { data } = await api.get('/api/v1/help');
    if (!data.heading) return;
    brand = data.heading;
    const title = document.querySelector('.it-brand-title');
    if (title) title.textContent = brand;
    const screen = document.getElementById('screen-title');
    if (screen) document.title = `${screen.textContent} — ${brand}`;
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
  }
}

async function boot() {
  skipLink();
  heading();
  session.relogin = reloginDialog;
  try { await loadMe(); } catch (e) { if (!(e instanceof ApiError)) throw e; session.me = null; }
  window.addEventListener('hashchange', hashChanged);
  render();
}

boot();
