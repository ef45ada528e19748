// Screens every role has: login (with the office's notices), the forced
// password change, second-factor enrolment, and the own account.
import { h, FormError, field, formValues, notice, submit, card, facts, table, fmtTime, clear, button, badge, put, cardWithId } from '../dom.js';
import { api, session, login, loadMe, ApiError } from '../api.js';
import { t } from '../i18n.js';
import { go } from '../main.js';

// Runs an async form action, showing its error (or success) in `out`.
export function onSubmit(form, out, action) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(out);
    const btn = form.querySelector('[type=submit]');
    if (btn) btn.disabled = true;
    try {
      const msg = await action(formValues(form));
      if (msg) put(out, typeof msg === 'string' ? notice('success', msg) : msg);
    } catch (e) {
      put(out, notice('danger', e instanceof ApiError ? e.text : e.message));
      if (!(e instanceof ApiError) && !(e instanceof FormError)) console.error(e);
    } finally {
      if (btn) btn.disabled = false;
    }
  });
}

async function noticesBox() {
  try {
    const { data } = await api.get('/api/v1/notices');
    if (!data.notices.length) return null;
    return h('section', { 'aria-labelledby': 'notices-title', class: 'mb-4' },
      h('h2', { class: 'h5', id: 'notices-title' }, t('login.notices')),
      data.notices.map((n) => notice('warning', h('span', {}, h('strong', {}, n.title), ` (${fmtTime(n.starts_at)} – ${fmtTime(n.ends_at)}): `, n.body))),
      data.more ? h('p', {}, t('notices.more')) : null);
  } catch {
    return null;
  }
}

// The way in with SPID/CIE, when the service offers it: the browser goes
// to the provider (via=browser) and comes back logged in, or to an
// Italian page that says why not.
async function spidBox(form, out) {
  let offered = false;
  try {
    offered = (await api.get('/api/v1/help')).data.spid_cie === true;
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
  }
  if (!offered) return null;
  const go = () => {
    const username = form.querySelector('[name=username]').value.trim();
    if (!username) {
      put(out, notice('danger', t('login.spid_needs_username')));
      form.querySelector('[name=username]').focus();
      return;
    }
    window.location.assign(`/api/v1/auth/spid/start?username=${encodeURIComponent(username)}&via=browser`);
  };
  return h('div', { class: 'col-lg-6 mt-4' }, h('p', {}, t('login.spid_or')),
    button(t('login.spid'), go, 'btn-outline-primary'));
}

async function loginScreen() {
  const out = h('div', { 'aria-live': 'assertive' });
  const totpField = field('totp', t('login.totp'), { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6 });
  totpField.hidden = true;
  const form = h('form', { novalidate: true, class: 'col-lg-6' },
    field('username', t('login.username'), { required: true, autocomplete: 'username' }),
    field('password', t('login.password'), { type: 'password', required: true, autocomplete: 'current-password' }),
    totpField,
    submit(t('login.submit')));
  onSubmit(form, out, async (v) => {
    try {
      await login(v.username, v.password, v.totp);
    } catch (e) {
      if (e.code === 'totp_required') {
        totpField.hidden = false;
        totpField.querySelector('input').focus();
      }
      throw e;
    }
    await loadMe();
    go('');
  });
  const flash = session.flash ? notice('warning', session.flash) : null;
  session.flash = null;
  return h('div', {}, flash, await noticesBox(), h('p', {}, t('login.intro')), out, form,
    await spidBox(form, out));
}

function passwordScreen() {
  const me = session.me;
  const out = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { novalidate: true, class: 'col-lg-6' },
    field('current_password', t('password.current'), { type: 'password', required: true, autocomplete: 'current-password' }),
    field('new_password', t('password.new'), { type: 'password', required: true, autocomplete: 'new-password', help: t('password.policy') }),
    field('repeat', t('password.repeat'), { type: 'password', required: true, autocomplete: 'new-password' }),
    submit(t('password.submit')));
  onSubmit(form, out, async (v) => {
    if (v.new_password !== v.repeat) throw new FormError(t('password.mismatch'));
    await api.post('/api/v1/auth/password', { current_password: v.current_password, new_password: v.new_password });
    await loadMe();
    go('');
  });
  return h('div', {},
    me.must_change_password ? notice('info', me.temporary_password ? t('password.due_temporary') : t('password.due_aged')) : null,
    out, form);
}

async function totpScreen(params, body) {
  const out = h('div', { 'aria-live': 'assertive' });
  const me = session.me;
  if (me.totp_enabled) return h('p', {}, t('totp.already'));
  const { data } = await api.post('/api/v1/auth/totp/setup');
  const form = h('form', { novalidate: true, class: 'col-lg-6' },
    field('code', t('totp.code'), { inputmode: 'numeric', required: true, maxlength: 6, autocomplete: 'one-time-code' }),
    submit(t('totp.confirm')));
  onSubmit(form, out, async (v) => {
    await api.post('/api/v1/auth/totp/confirm', { code: v.code });
    await loadMe();
    put(clear(body), notice('success', t('totp.done')));
  });
  return h('div', {},
    me.totp_enrolment_required ? notice('info', t('totp.required')) : null,
    h('p', {}, t('totp.intro')),
    facts([[t('totp.secret'), h('code', { id: 'totp-secret' }, data.secret)], [t('totp.uri'), h('code', { class: 'text-break' }, data.otpauth_uri)]]),
    out, form);
}

// The user's live sessions, each of which they may end (the current one
// too: that is a logout).
async function sessionsCard() {
  const { data } = await api.get('/api/v1/auth/sessions');
  const out = h('div', { 'aria-live': 'polite' });
  const end = (s) => async () => {
    clear(out);
    try {
      await api.del(`/api/v1/auth/sessions/${s.id}`);
    } catch (e) {
      put(out, notice('danger', e instanceof ApiError ? e.text : e.message));
      return;
    }
    if (s.current) {
      session.me = null;
      session.csrf = null;
      session.flash = t('account.session_ended');
      go('login');
      return;
    }
    go('account', null, t('account.session_ended'));
  };
  return card(t('account.sessions'), h('p', {}, t('account.sessions_intro', { n: data.max_sessions })), out,
    table(t('account.sessions'), [
      [t('account.session_opened'), (s) => fmtTime(s.created_at)], [t('account.session_seen'), (s) => fmtTime(s.last_seen_at)],
      [t('account.session_until'), (s) => fmtTime(s.expires_at)], [t('account.ip'), (s) => s.ip],
      [t('common.actions'), (s) => h('span', {}, s.current ? badge(t('account.session_this'), 'primary') : null, ' ',
        button(t('account.session_end'), end(s), 'btn-outline-danger btn-sm',
          { 'aria-label': s.current ? t('account.session_end_this') : t('account.session_end_label', { id: s.id, when: fmtTime(s.created_at), ip: s.ip }),
            dataset: { session: String(s.id) } }))]],
    data.sessions));
}

async function accountScreen() {
  const me = session.me;
  return h('div', {},
    card(t('account.details'), facts([
      [t('account.username'), me.username], [t('account.name'), me.full_name], [t('account.role'), t(`role.${me.role}`)],
      [t('account.ente'), me.ente && me.ente.name], [t('account.email'), me.email],
      [t('account.appointment'), me.appointment_ref],
      [t('account.expires'), fmtTime(me.expires_at)], [t('account.password_set'), fmtTime(me.password_set_at)],
      [t('account.totp'), me.totp_enabled ? t('common.yes') : t('common.no')],
      [t('account.session_ends'), fmtTime(me.session_expires_at)]])),
    cardWithId(t('account.logins'), 'logins-title', table(t('account.logins'), [
      [t('account.when'), (l) => fmtTime(l.at)], [t('account.outcome'), (l) => t(`outcome.${l.outcome}`)], [t('account.ip'), (l) => l.ip]],
    me.recent_logins || [], { labelledBy: 'logins-title' })),
    await sessionsCard(),
    h('p', {},
      h('a', { href: '#/password', class: 'btn btn-outline-primary me-2' }, t('account.change_password')),
      me.totp_enabled ? null : h('a', { href: '#/totp', class: 'btn btn-outline-primary' }, t('account.setup_totp'))));
}

const everyone = ['operator', 'lead', 'admin', 'auditor'];
export const accountRoutes = {
  login: { roles: [], title: t('login.title'), render: loginScreen },
  password: { roles: everyone, title: t('password.title'), render: passwordScreen },
  totp: { roles: everyone, title: t('totp.title'), render: totpScreen },
  account: { roles: everyone, title: t('account.title'), menu: t('nav.account'), render: accountScreen },
};
