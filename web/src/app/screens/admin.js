// The registry office (admin): the home with what needs attention (stale
// feeds, alerts, requests, incidents), bodies, agreements, accounts,
// requests, imports, alerts, incidents, notices, mail outbox, yearly review,
// record of processing.
import { h, FormError, field, notice, submit, table, fmtTime, fmtDate, fmtHours, clear, button, card, facts, put, pager, pageQuery } from '../dom.js';
import { api, qs, session } from '../api.js';
import { t } from '../i18n.js';
import { go } from '../main.js';
import { onSubmit } from './account.js';
import { stateBadge, confirmAction, alertsTable, incidentsTable, usageView } from './lead.js';
import { listRequestsTable } from './operator.js';
import { picker, placeSource, unchosen } from '../picker.js';

const CATEGORIES = ['identity', 'residence', 'family', 'parentage', 'citizenship', 'civil_status', 'vital_status', 'history'];
const KINDS = ['police', 'health', 'pension', 'tax', 'court', 'municipality', 'service', 'other'];

function lagText(seconds) {
  const hrs = Math.floor(seconds / 3600);
  return hrs >= 48 ? t('feeds.days', { n: Math.floor(hrs / 24) }) : t('feeds.hours', { n: hrs });
}

// Rows per page of the long lists (the server pages them by key).
const PAGE = { accounts: 50, imports: 20, alerts: 50 };

const comuneLabel = (x) => (x.name ? `${x.name} (${x.comune})` : x.comune);

function feedsTable(feeds) {
  return table(t('feeds.title'), [
    [t('field.comune'), (f) => comuneLabel(f)],
    [t('feeds.extract'), (f) => fmtTime(f.last_extract)], [t('feeds.lag'), (f) => lagText(f.lag_seconds)],
    [t('feeds.changed'), (f) => (f.last_import ? `${f.last_import.inserted} / ${f.last_import.updated} / ${f.last_import.closed}` : '')],
    [t('feeds.refused'), (f) => f.refused_pushes],
    [t('account.state'), (f) => stateBadge(f.overdue ? 'overdue' : 'on_time')]], feeds, { captionVisible: true });
}

async function homeScreen() {
  // Each tile counts a list filtered by the server, first pages only: a
  // page that has a next one reads "più di N", never N alone.
  const [feeds, alerts, requests, opened, handled, lists] = await Promise.all([
    api.get('/api/v1/feeds'), api.get('/api/v1/alerts?state=open'), api.get('/api/v1/operator-requests?state=pending'),
    api.get('/api/v1/incidents?state=open'), api.get('/api/v1/incidents?state=handled'),
    api.get('/api/v1/list-requests?state=pending')]);
  const stale = feeds.data.feeds.filter((f) => f.overdue);
  const count = (key, ...pages) => {
    const n = pages.reduce((sum, p) => sum + p.data[key].length, 0);
    return pages.some((p) => p.data.next_cursor) ? t('home.more_than', { n }) : n;
  };
  const tile = (n, label, href) => h('div', { class: 'col-md-3 mb-3' },
    h('a', { href, class: 'card card-bg rounded text-decoration-none h-100' },
      h('div', { class: 'card-body' }, h('p', { class: 'h2 mb-0' }, String(n)), h('p', { class: 'mb-0' }, label))));
  return h('div', {},
    stale.length
      ? notice('danger', t('home.stale', { list: stale.map((f) => `${comuneLabel(f)}: ${lagText(f.lag_seconds)}`).join('; ') }))
      : notice('success', t('home.feeds_ok')),
    h('div', { class: 'row' },
      tile(count('alerts', alerts), t('home.open_alerts'), '#/alerts'),
      tile(count('requests', requests), t('home.pending_requests'), '#/admin-requests'),
      tile(count('incidents', opened, handled), t('home.open_incidents'), '#/admin-incidents'),
      tile(count('requests', lists), t('home.pending_lists'), '#/admin-requests')),
    h('p', { class: 'small mt-4' }, t('feeds.deadline', { n: feeds.data.deadline_hours })),
    feedsTable(feeds.data.feeds));
}

// The fields of a body that change over its life, edited in place.
function enteEdit(e) {
  const out = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { novalidate: true },
    field('hours', t('ente.hours'), { value: e.hours, maxlength: 500, compact: true }),
    field('networks', t('ente.networks'), { value: e.networks, maxlength: 500, compact: true }),
    field('pec', t('ente.pec'), { value: e.pec, maxlength: 200, compact: true }),
    submit(t('common.save'), 'btn-outline-primary btn-sm'));
  onSubmit(form, out, async (v) => {
    await api.patch(`/api/v1/enti/${e.id}`, v);
    go('enti', null, t('common.saved'));
  });
  return h('details', {}, h('summary', {}, t('ente.edit')), out, form);
}

async function entiScreen() {
  const { data } = await api.get('/api/v1/enti');
  const out = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { novalidate: true },
    h('div', { class: 'row' },
      h('div', { class: 'col-md-6' }, field('name', t('ente.name'), { required: true, maxlength: 200 })),
      h('div', { class: 'col-md-3' }, field('kind', t('ente.kind'), { options: KINDS.map((k) => [k, t(`kind.${k}`)]) })),
      h('div', { class: 'col-md-3' }, field('tax_code', t('ente.tax_code'), { required: true, maxlength: 16 })),
      h('div', { class: 'col-md-6' }, field('pec', t('ente.pec'), { type: 'email', maxlength: 200 })),
      h('div', { class: 'col-md-6' }, field('hours', t('ente.hours'), { value: 'mon-fri 08:00-18:00', maxlength: 500, help: t('ente.hours_help') })),
      h('div', { class: 'col-md-6' }, field('networks', t('ente.networks'), { maxlength: 500, help: t('ente.networks_help') })),
      h('div', { class: 'col-md-6' }, picker('comune', t('ente.comune'), { search: placeSource('comune'), help: t('ente.comune_help') }))),
    submit(t('ente.create')));
  onSubmit(form, out, async (v) => {
    const missing = unchosen(form);
    if (missing) throw new FormError(t('picker.unchosen', { label: missing }));
    const body = { name: v.name, kind: v.kind, tax_code: v.tax_code, hours: v.hours };
    for (const k of ['pec', 'networks', 'comune']) if (v[k]) body[k] = v[k];
    await api.post('/api/v1/enti', body);
    go('enti');
  });
  return h('div', {},
    table(t('nav.enti'), [
      ['#', (e) => e.id], [t('ente.name'), (e) => e.name], [t('ente.kind'), (e) => t(`kind.${e.kind}`)],
      [t('ente.hours'), (e) => fmtHours(e.hours)], [t('ente.networks'), (e) => e.networks || t('common.any')],
      [t('account.state'), (e) => stateBadge(e.state)],
      [t('ente.edit'), enteEdit],
      [t('common.actions'), (e) => (e.state === 'active' ? confirmAction(t('ente.suspend'), t('ente.suspend_confirm'), async (reason) => {
        await api.post(`/api/v1/enti/${e.id}/suspend`, { reason: reason || t('ente.suspend_default') });
        go('enti');
      }, { reason: t('ente.suspend_reason') }) : button(t('ente.reactivate'), async () => {
        await api.patch(`/api/v1/enti/${e.id}`, { state: 'active' });
        go('enti');
      }, 'btn-outline-primary btn-sm'))]], data.enti, { captionVisible: true }),
    h('h2', { class: 'h4 mt-4' }, t('ente.new')), out, form);
}

function convEdit(c) {
  const out = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { novalidate: true, class: 'row g-2 align-items-end' },
    h('div', { class: 'col-md-3' }, field('state', t('account.state'), { options: ['active', 'suspended', 'ended'].map((x) => [x, t(`state.${x}`)]), value: c.state })),
    h('div', { class: 'col-md-3' }, field('valid_to', t('conv.valid_to'), { type: 'date', value: c.valid_to || '' })),
    h('div', { class: 'col-md-2' }, field('max_results', t('conv.max_results'), { value: c.max_results, inputmode: 'numeric' })),
    h('div', { class: 'col-md-2' }, field('per_minute', t('conv.per_minute'), { value: c.per_minute, inputmode: 'numeric' })),
    h('div', { class: 'col-md-2' }, field('per_day', t('conv.per_day'), { value: c.per_day, inputmode: 'numeric' })),
    h('div', { class: 'col-md-12' }, submit(t('common.save'), 'btn-outline-primary btn-sm')));
  onSubmit(form, out, async (v) => {
    const body = { state: v.state, max_results: Number(v.max_results), per_minute: Number(v.per_minute), per_day: Number(v.per_day) };
    if (v.valid_to) body.valid_to = v.valid_to;
    await api.patch(`/api/v1/convenzioni/${c.id}`, body);
    go('convenzioni', null, t('common.saved'));
  });
  return h('details', { class: 'my-3' }, h('summary', {}, t('conv.edit')), out, form);
}

// An entry of the record of processing as people name it: "1. Anagrafe".
const registerLabel = (e) => `${e.number}. ${e.process}`;

function purposeForm(conv, register) {
  const out = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { novalidate: true, class: 'row g-2 align-items-end' },
    h('div', { class: 'col-md-2' }, field('code', t('purpose.code'), { required: true, maxlength: 20 })),
    h('div', { class: 'col-md-4' }, field('description', t('purpose.description'), { required: true, maxlength: 300 })),
    h('div', { class: 'col-md-3' }, field('legal_basis', t('purpose.legal_basis'), { required: true, maxlength: 300 })),
    h('div', { class: 'col-md-3' }, field('processing_ref', t('purpose.processing_ref'),
      { options: register.map((e) => [e.number, registerLabel(e)]), value: '1' })),
    h('div', { class: 'col-12' }, submit(t('purpose.add'), 'btn-outline-primary')));
  onSubmit(form, out, async (v) => {
    await api.post(`/api/v1/convenzioni/${conv.id}/purposes`, v);
    go('convenzioni');
  });
  return h('div', { class: 'mt-3' }, h('h3', { class: 'h6' }, t('purpose.add')), out, form);
}

async function convenzioniScreen() {
  const [{ data }, { data: enti }, { data: register }] = await Promise.all([api.get('/api/v1/convenzioni'), api.get('/api/v1/enti'),
    api.get('/api/v1/processing')]);
  const name = (id) => (enti.enti.find((e) => e.id === id) || { name: `#${id}` }).name;
  const out = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { novalidate: true },
    h('div', { class: 'row' },
      h('div', { class: 'col-md-6' }, field('ente_id', t('conv.ente'), { options: enti.enti.map((e) => [e.id, e.name]) })),
      h('div', { class: 'col-md-6' }, field('reference', t('conv.reference'), { required: true, maxlength: 200 })),
      h('div', { class: 'col-md-6' }, picker('comuni', t('conv.comuni'), { search: placeSource('comune'), multiple: true, required: true, help: t('conv.comuni_help') })),
      h('div', { class: 'col-md-3' }, field('valid_from', t('conv.valid_from'), { type: 'date', required: true })),
      h('div', { class: 'col-md-3' }, field('valid_to', t('conv.valid_to'), { type: 'date' })),
      h('div', { class: 'col-md-3' }, field('mode', t('conv.mode'), { options: [['consult', t('mode.consult')], ['verify_only', t('mode.verify_only')]] })),
      h('div', { class: 'col-md-3' }, field('max_results', t('conv.max_results'), { value: '20', inputmode: 'numeric' })),
      h('div', { class: 'col-md-3' }, field('per_minute', t('conv.per_minute'), { value: '30', inputmode: 'numeric' })),
      h('div', { class: 'col-md-3' }, field('per_day', t('conv.per_day'), { value: '1000', inputmode: 'numeric' }))),
    h('fieldset', { class: 'mb-3' }, h('legend', { class: 'h6' }, t('conv.profile')),
      h('div', { class: 'row' }, CATEGORIES.map((c) => h('div', { class: 'col-md-3' }, field(`cat_${c}`, t(`cat.${c}`), { type: 'checkbox', value: c === 'identity' }))))),
    field('workstation_cert', t('conv.workstation_cert'), { type: 'checkbox' }),
    field('break_glass', t('conv.break_glass'), { type: 'checkbox' }),
    submit(t('conv.create')));
  onSubmit(form, out, async (v) => {
    const missing = unchosen(form);
    if (missing) throw new FormError(t('picker.unchosen', { label: missing }));
    if (!v.comuni) throw new FormError(t('conv.comuni_needed'));
    const body = { ente_id: Number(v.ente_id), reference: v.reference, comuni: v.comuni.split(',').filter(Boolean),
                   valid_from: v.valid_from, mode: v.mode, profile: CATEGORIES.filter((c) => v[`cat_${c}`]),
                   max_results: Number(v.max_results), per_minute: Number(v.per_minute), per_day: Number(v.per_day),
                   workstation_cert: v.workstation_cert, break_glass: v.break_glass };
    if (v.valid_to) body.valid_to = v.valid_to;
    await api.post('/api/v1/convenzioni', body);
    go('convenzioni');
  });
  return h('div', {},
    data.convenzioni.map((c) => card(`${c.reference} — ${name(c.ente_id)}`,
      facts([[t('account.state'), stateBadge(c.state)], [t('conv.comuni'), c.comuni.map((k) => c.comuni_names[k] || k).join(', ')],
        [t('conv.validity'), `${fmtDate(c.valid_from)} – ${c.valid_to ? fmtDate(c.valid_to) : t('conv.open_ended')}`],
        [t('conv.mode'), t(`mode.${c.mode}`)], [t('conv.profile'), c.profile.map((k) => t(`cat.${k}`)).join(', ')],
        [t('conv.limits'), t('conv.limits_text', c)], [t('conv.workstation_cert'), c.workstation_cert ? t('common.yes') : t('common.no')]]),
      h('h3', { class: 'h6 mt-3' }, t('conv.purposes')),
      table(t('conv.purposes'), [[t('purpose.code'), (p) => p.code], [t('purpose.description'), (p) => p.description],
        [t('purpose.legal_basis'), (p) => p.legal_basis], [t('purpose.processing_ref'), (p) => {
          const e = register.entries.find((x) => x.number === p.processing_ref);
          return e ? registerLabel(e) : p.processing_ref;
        }]], c.purposes),
      convEdit(c), purposeForm(c, register.entries))),
    h('h2', { class: 'h4 mt-4' }, t('conv.new')), out, form);
}

/* A temporary password the server answered with (no SMTP relay): kept in
 * memory only until the accounts screen shows it, once. */
let tempShown = null;

function tempPasswordPanel(once) {
  return h('div', { class: 'alert alert-warning', role: 'alert', 'data-temp-password-panel': '' },
    h('h2', { class: 'h5' }, t('account.temp_title', { username: once.username })),
    h('p', { class: 'fs-4' }, h('code', { class: 'user-select-all', 'data-temp-password': '' }, once.password)),
    h('p', {}, t('account.temp_in_person')),
    h('p', { class: 'small mb-0' }, t('account.temp_once')));
}

/* Remembers the password of an answer, if it carries one. */
function keepTemp(answer) {
  const d = answer && answer.data;
  tempShown = d && typeof d.temporary_password === 'string'
    ? { username: d.account.username, password: d.temporary_password } : null;
}

async function accountsScreen(params) {
  const once = tempShown;
  tempShown = null;
  const role = params.get('role') || '';
  const state = params.get('state') || '';
  const [{ data }, { data: enti }] = await Promise.all([api.get(`/api/v1/accounts${qs({ role, state, ...pageQuery(params, PAGE.accounts) })}`), api.get('/api/v1/enti')]);
  const enteName = (id) => (id ? (enti.enti.find((e) => e.id === id) || { name: `#${id}` }).name : '');
  const roles = ['admin', 'lead', 'operator', 'auditor', 'api'];
  const filter = h('form', { class: 'row g-2 align-items-end mb-3', novalidate: true },
    h('div', { class: 'col-md-3' }, field('role', t('account.role'), { options: [['', t('common.any')], ...roles.map((r) => [r, t(`role.${r}`)])], value: role })),
    h('div', { class: 'col-md-3' }, field('state', t('account.state'), { options: [['', t('common.any')], ['active', t('state.active')], ['disabled', t('state.disabled')]], value: state })),
    h('div', { class: 'col-md-2' }, submit(t('common.filter'), 'btn-outline-primary')));
  filter.addEventListener('submit', (ev) => { ev.preventDefault(); go('accounts', { role: filter.elements.role.value, state: filter.elements.state.value }); });
  const act = (a) => {
    const box = h('div', { class: 'd-flex flex-wrap gap-1' });
    const post = (path, body) => async () => { keepTemp(await api.post(`/api/v1/accounts/${a.id}/${path}`, body || {})); go('accounts', { role, state }); };
    if (a.state === 'active') put(box, confirmAction(t('account.disable'), t('account.disable_confirm'), async (reason) => post('disable', { reason: reason || '' })(), { reason: t('account.disable_reason') }));
    else put(box, button(t('account.enable'), post('enable'), 'btn-outline-primary btn-sm'));
    if (a.role !== 'api') put(box, button(t('account.reset'), post('reset'), 'btn-outline-secondary btn-sm'));
    put(box, button(t('account.renew'), post('renew'), 'btn-outline-secondary btn-sm'));
    return box;
  };
  const out = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { novalidate: true },
    h('div', { class: 'row' },
      h('div', { class: 'col-md-4' }, field('username', t('account.username'), { required: true, maxlength: 64 })),
      h('div', { class: 'col-md-4' }, field('role', t('account.role'), { options: roles.map((r) => [r, t(`role.${r}`)]) })),
      h('div', { class: 'col-md-4' }, field('ente_id', t('account.ente'), { options: [['', t('account.no_ente')], ...enti.enti.map((e) => [e.id, e.name])] })),
      h('div', { class: 'col-md-4' }, field('full_name', t('account.name'), { required: true, maxlength: 200 })),
      h('div', { class: 'col-md-4' }, field('codice_fiscale', t('field.codice_fiscale'), { maxlength: 40 })),
      h('div', { class: 'col-md-4' }, field('email', t('account.email'), { type: 'email', required: true })),
      h('div', { class: 'col-md-12' }, field('appointment_ref', t('account.appointment'), { maxlength: 200 }))),
    submit(t('account.create')));
  onSubmit(form, out, async (v) => {
    const body = { username: v.username, role: v.role, full_name: v.full_name, email: v.email };
    if (v.codice_fiscale) body.codice_fiscale = v.codice_fiscale.toUpperCase();
    if (v.appointment_ref) body.appointment_ref = v.appointment_ref;
    if (v.ente_id) body.ente_id = Number(v.ente_id);
    keepTemp(await api.post('/api/v1/accounts', body));
    go('accounts');
  });
  return h('div', {}, once ? tempPasswordPanel(once) : null, filter,
    table(t('nav.accounts'), [
      [t('account.username'), (a) => a.username], [t('account.name'), (a) => a.full_name], [t('account.role'), (a) => t(`role.${a.role}`)],
      [t('account.ente'), (a) => enteName(a.ente_id)], [t('account.state'), (a) => stateBadge(a.state)],
      [t('account.expires'), (a) => fmtTime(a.expires_at)], [t('account.last_login'), (a) => fmtTime(a.last_login_at)],
      [t('common.actions'), act]], data.accounts, { captionVisible: true }),
    pager('accounts', params, data.next_cursor, t('account.pages')),
    h('h2', { class: 'h4 mt-4' }, t('account.new')), h('p', { class: 'small' }, t('account.new_help')), out, form);
}

async function requestsScreen() {
  const [{ data: ops }, { data: lists }] = await Promise.all([api.get('/api/v1/operator-requests'), api.get('/api/v1/list-requests')]);
  const decide = (q) => (q.state !== 'pending' ? '' : h('div', { class: 'd-flex gap-1' },
    // Without an SMTP relay the answer carries the new operator's temporary
    // password: the accounts screen shows it, once.
    button(t('requests.approve'), async () => { keepTemp(await api.post(`/api/v1/operator-requests/${q.id}/approve`)); go(tempShown ? 'accounts' : 'admin-requests'); }, 'btn-primary btn-sm'),
    confirmAction(t('requests.reject'), t('requests.reject_confirm'), async (note) => {
      await api.post(`/api/v1/operator-requests/${q.id}/reject`, { note: note || '' });
      go('admin-requests');
    }, { reason: t('requests.note') })));
  const decideList = (q) => (q.state !== 'pending' ? '' : h('div', { class: 'd-flex gap-1' },
    button(t('requests.approve'), async () => { await api.post(`/api/v1/list-requests/${q.id}/decide`, { decision: 'approve', note: '' }); go('admin-requests'); }, 'btn-primary btn-sm'),
    confirmAction(t('requests.reject'), t('requests.reject_confirm'), async (note) => {
      await api.post(`/api/v1/list-requests/${q.id}/decide`, { decision: 'reject', note: note || '' });
      go('admin-requests');
    }, { reason: t('requests.note') })));
  return h('div', {},
    h('h2', { class: 'h4' }, t('requests.operators')),
    table(t('requests.operators'), [
      ['#', (q) => q.id], [t('account.username'), (q) => q.username], [t('account.name'), (q) => q.full_name],
      [t('field.codice_fiscale'), (q) => q.codice_fiscale], [t('account.appointment'), (q) => q.appointment_ref],
      [t('account.state'), (q) => stateBadge(q.state)], [t('common.actions'), decide]], ops.requests),
    h('h2', { class: 'h4 mt-4' }, t('requests.lists')), h('p', { class: 'small' }, t('requests.lists_help')),
    listRequestsTable(lists.requests, decideList));
}

async function importsScreen(params) {
  const [{ data: feeds }, { data: imports }, { data: alerts }] = await Promise.all([
    api.get('/api/v1/feeds'), api.get(`/api/v1/imports${qs(pageQuery(params, PAGE.imports))}`), api.get('/api/v1/alerts')]);
  const rejected = alerts.alerts.filter((a) => a.rule === 'feed_rejected' || a.rule === 'feed_overdue');
  return h('div', {},
    feedsTable(feeds.feeds),
    h('h2', { class: 'h4 mt-4', id: 'imports-title' }, t('imports.history')),
    table(t('imports.history'), [
      ['#', (i) => i.id], [t('field.comune'), (i) => comuneLabel(i)], [t('imports.kind'), (i) => i.kind],
      [t('feeds.extract'), (i) => fmtTime(i.extract_at)], [t('imports.source'), (i) => i.source],
      [t('imports.finished'), (i) => fmtTime(i.finished_at)],
      [t('imports.counts'), (i) => t('imports.counts_text', i)]], imports.imports, { labelledBy: 'imports-title' }),
    pager('imports', params, imports.next_cursor, t('imports.pages')),
    h('h2', { class: 'h4 mt-4' }, t('imports.rejects')), h('p', { class: 'small' }, t('imports.rejects_help')),
    alertsTable(rejected));
}

async function alertsScreen(params) {
  const state = params.get('state') || 'open';
  const { data } = await api.get(`/api/v1/alerts${qs({ state, ...pageQuery(params, PAGE.alerts) })}`);
  const review = (a) => {
    if (a.state !== 'open') return a.note || '';
    const out = h('div', {});
    const form = h('form', { novalidate: true, class: 'd-flex flex-wrap gap-1 align-items-end' },
      field('note', t('alerts.note'), { maxlength: 500, required: true, compact: true }),
      a.rule === 'persons_hard' || /suspend/.test(a.detail) ? field('reactivate', t('alerts.reactivate'), { type: 'checkbox' }) : null,
      submit(t('alerts.review'), 'btn-outline-primary btn-sm'));
    onSubmit(form, out, async (v) => {
      await api.post(`/api/v1/alerts/${a.id}/review`, { note: v.note, reactivate: !!v.reactivate });
      go('alerts', { state });
    });
    return h('div', {}, out, form);
  };
  const tabs = h('ul', { class: 'nav nav-tabs mb-3' }, ['open', 'reviewed'].map((s) => h('li', { class: 'nav-item' },
    h('a', { class: `nav-link${s === state ? ' active' : ''}`, href: `#/alerts?state=${s}`, 'aria-current': s === state ? 'page' : null }, t(`alerts.${s}`)))));
  return h('div', {}, tabs, alertsTable(data.alerts, review), pager('alerts', params, data.next_cursor, t('alerts.pages')));
}

async function incidentsScreen() {
  const [{ data }, { data: enti }] = await Promise.all([api.get('/api/v1/incidents'), api.get('/api/v1/enti')]);
  const act = (i) => {
    const ente = enti.enti.find((e) => e.id === i.ente_id);
    const out = h('div', {});
    const form = h('form', { novalidate: true, class: 'd-flex flex-wrap gap-1 align-items-end mb-2' },
      field('state', t('account.state'), { options: ['open', 'handled', 'closed'].map((s) => [s, t(`state.${s}`)]), value: i.state, compact: true }),
      field('note', t('requests.note'), { maxlength: 500, compact: true }),
      submit(t('incident.update'), 'btn-outline-primary btn-sm'));
    onSubmit(form, out, async (v) => {
      await api.post(`/api/v1/incidents/${i.id}/state`, v);
      go('admin-incidents');
    });
    return h('div', {}, h('p', { class: 'small mb-1' }, ente ? ente.name : `#${i.ente_id}`), out, form,
      ente && ente.state === 'active' ? confirmAction(t('incident.suspend_ente'), t('ente.suspend_confirm'), async (reason) => {
        await api.post(`/api/v1/enti/${ente.id}/suspend`, { reason: reason || t('incident.suspend_reason', { id: i.id }) });
        go('admin-incidents');
      }, { reason: t('ente.suspend_reason') }) : stateBadge(ente ? ente.state : 'unknown'));
  };
  return h('div', {}, h('p', {}, t('incident.admin_intro')), incidentsTable(data.incidents, act));
}

// A datetime-local control's value and back: the browser's time, to the minute.
const toUtc = (local) => new Date(local).toISOString().replace(/\.\d{3}Z$/, 'Z');
const toLocal = (iso) => {
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
};

// A live notice corrected in place: only what the admin changed is sent,
// so that a time not touched keeps its seconds.
function noticeEdit(n) {
  const out = h('div', { 'aria-live': 'assertive' });
  const was = { title: n.title.trim(), body: n.body.replace(/\r\n?/g, '\n').trim(), starts_at: toLocal(n.starts_at), ends_at: toLocal(n.ends_at) };
  const form = h('form', { novalidate: true },
    field('title', t('notices.field_title'), { value: n.title, required: true, maxlength: 200, compact: true }),
    field('body', t('notices.body'), { value: n.body, rows: 3, required: true, maxlength: 2000, compact: true }),
    field('starts_at', t('notices.starts'), { type: 'datetime-local', value: was.starts_at, required: true, compact: true }),
    field('ends_at', t('notices.ends'), { type: 'datetime-local', value: was.ends_at, required: true, compact: true }),
    submit(t('common.save'), 'btn-outline-primary btn-sm'));
  onSubmit(form, out, async (v) => {
    if (!v.starts_at || !v.ends_at) throw new FormError(t('notices.need_dates'));
    const body = {};
    for (const k of ['title', 'body', 'starts_at', 'ends_at']) {
      if (v[k] !== was[k]) body[k] = k.endsWith('_at') ? toUtc(v[k]) : v[k];
    }
    if (!Object.keys(body).length) throw new FormError(t('notices.unchanged'));
    await api.patch(`/api/v1/notices/${n.id}`, body);
    go('notices', null, t('notices.corrected'));
  });
  return h('details', { class: 'mb-1' }, h('summary', {}, t('notices.edit')), out, form);
}

async function noticesScreen() {
  const { data } = await api.get('/api/v1/notices');
  const out = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { novalidate: true, class: 'col-lg-8' },
    field('title', t('notices.field_title'), { required: true, maxlength: 200 }),
    field('body', t('notices.body'), { rows: 3, required: true, maxlength: 2000 }),
    h('div', { class: 'row' },
      h('div', { class: 'col-md-6' }, field('starts_at', t('notices.starts'), { type: 'datetime-local', required: true })),
      h('div', { class: 'col-md-6' }, field('ends_at', t('notices.ends'), { type: 'datetime-local', required: true }))),
    submit(t('notices.create')));
  onSubmit(form, out, async (v) => {
    if (!v.starts_at || !v.ends_at) throw new FormError(t('notices.need_dates'));
    await api.post('/api/v1/notices', { title: v.title, body: v.body, starts_at: toUtc(v.starts_at), ends_at: toUtc(v.ends_at) });
    go('notices');
  });
  // every notice listed is current or upcoming: each can be corrected or withdrawn
  const act = (n) => h('div', {}, noticeEdit(n),
    confirmAction(t('notices.withdraw'), t('notices.withdraw_confirm'), async () => {
      await api.del(`/api/v1/notices/${n.id}`);
      go('notices', null, t('notices.withdrawn'));
    }));
  return h('div', {},
    table(t('notices.title'), [[t('notices.field_title'), (n) => n.title], [t('notices.body'), (n) => n.body],
      [t('notices.starts'), (n) => fmtTime(n.starts_at)], [t('notices.ends'), (n) => fmtTime(n.ends_at)],
      [t('common.actions'), act]], data.notices, { captionVisible: true }),
    data.more ? h('p', { class: 'text-body-secondary' }, t('notices.more')) : null,
    h('h2', { class: 'h4 mt-4' }, t('notices.new')), out, form);
}

async function outboxScreen() {
  const { data } = await api.get('/api/v1/outbox');
  return h('div', {}, h('p', {}, t('outbox.intro')),
    table(t('nav.outbox'), [
      [t('outbox.created'), (m) => fmtTime(m.created_at)], [t('outbox.recipient'), (m) => m.recipient],
      [t('outbox.kind'), (m) => t(`mailkind.${m.kind}`, {}, null) || m.kind], [t('outbox.subject'), (m) => m.subject],
      [t('account.state'), (m) => stateBadge(m.state)], [t('outbox.attempts'), (m) => m.attempts],
      [t('outbox.body'), (m) => h('details', {}, h('summary', {}, t('outbox.show')), h('pre', { class: 'small mb-0' }, m.body))]],
    data.messages, { captionVisible: true }));
}

export async function reviewView(canDecide) {
  const { data } = await api.get('/api/v1/review');
  return h('div', {}, h('p', {}, t('review.intro')), data.agreements.map((a) => {
    const out = h('div', { 'aria-live': 'assertive' });
    let form = null;
    if (canDecide) {
      form = h('form', { novalidate: true, class: 'row g-2 align-items-end' },
        h('div', { class: 'col-md-3' }, field('decision', t('review.decision'), { options: ['confirm', 'restrict', 'revoke'].map((d) => [d, t(`review.${d}`)]) })),
        h('div', { class: 'col-md-6' }, field('note', t('requests.note'), { required: true, maxlength: 1000 })),
        h('div', { class: 'col-md-3' }, submit(t('review.record'))));
      onSubmit(form, out, async (v) => {
        await api.post(`/api/v1/review/${a.convenzione_id}`, v);
        return t('review.recorded');
      });
    }
    return card(`${a.reference} (${t(`state.${a.state}`, {}, null) || a.state})`,
      facts([[t('conv.mode'), t(`mode.${a.mode}`)], [t('conv.profile'), String(a.profile).split(',').map((k) => t(`cat.${k}`)).join(', ')],
        [t('conv.purposes'), a.purposes.map((p) => `${p.code} — ${p.description}`).join('; ')]]),
      h('h3', { class: 'h6 mt-3' }, t('review.accounts')),
      table(t('review.accounts'), [[t('account.username'), (x) => x.username], [t('account.role'), (x) => t(`role.${x.role}`)],
        [t('account.last_login'), (x) => fmtTime(x.last_login_at)], [t('account.expires'), (x) => fmtTime(x.expires_at)],
        [t('review.unused'), (x) => (x.unused ? stateBadge('unused') : '')]], a.active_accounts),
      h('h3', { class: 'h6 mt-3' }, t('review.accesses')),
      facts(Object.entries(a.accesses_by_purpose || {}).map(([k, n]) => [k, String(n)]).concat([[t('review.refused'), String(a.refused ?? '')], [t('nav.alerts'), String(a.alerts ?? '')]])),
      out, form);
  }));
}

async function processingScreen() {
  const { data } = await api.get('/api/v1/processing');
  return h('div', {},
    h('p', {}, h('a', { href: '/api/v1/processing?format=html', target: '_blank', rel: 'noopener', class: 'btn btn-outline-primary me-2' }, t('processing.print')),
      h('a', { href: '/api/v1/processing?format=csv', class: 'btn btn-outline-primary', download: 'registro-trattamenti.csv' }, t('common.csv'))),
    data.entries.map((e) => card(`${e.number}. ${e.process}`, facts([
      [t('processing.description'), e.description], [t('processing.purpose'), e.purpose], [t('processing.legal_basis'), e.legal_basis],
      [t('processing.operations'), e.operations], [t('processing.internal_owner'), e.internal_owner],
      [t('processing.external_processor'), e.external_processor], [t('processing.data_categories'), e.data_categories],
      [t('processing.special'), e.special_categories ? t('common.yes') : t('common.no')], [t('processing.retention'), e.retention],
      [t('processing.subjects'), e.data_subjects], [t('processing.recipients'), e.recipients],
      [t('processing.transfers'), e.third_countries || e.transfers], [t('processing.measures'), e.measures],
      [t('processing.mode'), e.mode]]))));
}

async function adminUsageScreen(params) {
  const { data: enti } = await api.get('/api/v1/enti');
  const id = params.get('ente_id') || (enti.enti[0] && enti.enti[0].id);
  const pick = h('form', { class: 'row g-2 align-items-end mb-3', novalidate: true },
    h('div', { class: 'col-md-6' }, field('ente_id', t('conv.ente'), { options: enti.enti.map((e) => [e.id, e.name]), value: id })),
    h('div', { class: 'col-md-2' }, submit(t('common.show'), 'btn-outline-primary')));
  pick.addEventListener('submit', (ev) => { ev.preventDefault(); go('admin-usage', { ente_id: pick.elements.ente_id.value }); });
  return h('div', {}, pick, id ? await usageView(id, params) : null);
}

export const adminRoutes = {
  home: { roles: ['admin'], title: t('home.title'), menu: t('nav.home'), render: homeScreen },
  enti: { roles: ['admin'], title: t('nav.enti'), menu: t('nav.enti'), render: entiScreen },
  convenzioni: { roles: ['admin'], title: t('nav.convenzioni'), menu: t('nav.convenzioni'), render: convenzioniScreen },
  accounts: { roles: ['admin'], title: t('nav.accounts'), menu: t('nav.accounts'), render: accountsScreen },
  'admin-requests': { roles: ['admin'], title: t('requests.title'), menu: t('nav.requests'), render: requestsScreen },
  imports: { roles: ['admin'], title: t('imports.title'), menu: t('nav.imports'), render: importsScreen },
  alerts: { roles: ['admin'], title: t('nav.alerts'), menu: t('nav.alerts'), render: alertsScreen },
  'admin-incidents': { roles: ['admin'], title: t('nav.incidents'), menu: t('nav.incidents'), render: incidentsScreen },
  'admin-usage': { roles: ['admin'], title: t('usage.title'), menu: t('nav.usage'), render: adminUsageScreen },
  notices: { roles: ['admin'], title: t('notices.title'), menu: t('nav.notices'), render: noticesScreen },
  outbox: { roles: ['admin'], title: t('nav.outbox'), menu: t('nav.outbox'), render: outboxScreen },
  review: { roles: ['admin', 'auditor'], title: t('review.title'), menu: t('nav.review'), render: () => reviewView(session.me.role === 'admin') },
  processing: { roles: ['admin', 'auditor', 'lead'], title: t('processing.title'), menu: t('nav.processing'), render: processingScreen },
};
