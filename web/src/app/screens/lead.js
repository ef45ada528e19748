// The body's lead (Responsabile del trattamento): the body's operators and
// their expiry, new-operator requests, disabling, the yearly renewal, the
// body's usage and alerts, security incidents.
import { h, FormError, field, notice, submit, table, fmtTime, clear, button, badge, put, pager, pageQuery } from '../dom.js';
import { api, session, qs, ApiError } from '../api.js';
import { t } from '../i18n.js';
import { go } from '../main.js';
import { onSubmit } from './account.js';

export function stateBadge(state) {
  const kind = { active: 'success', on_time: 'success', disabled: 'danger', suspended: 'warning', pending: 'warning',
                 open: 'danger', overdue: 'danger' }[state] || 'secondary';
  return badge(t(`state.${state}`, {}, null) || state, kind);
}

// A destructive action in two steps without a browser dialog: the button
// turns into "confirm / cancel" with an optional reason field.
export function confirmAction(label, confirmLabel, action, opts = {}) {
  const box = h('div', { class: 'd-inline-block' });
  const reset = () => put(clear(box), button(label, ask, 'btn-outline-danger btn-sm'));
  const ask = () => {
    const id = `reason-${Math.random().toString(36).slice(2)}`;
    const reason = opts.reason ? h('input', { id, class: 'form-control form-control-sm d-inline-block w-auto me-1', maxlength: 300 }) : null;
    put(clear(box),
      reason ? h('label', { for: id, class: 'visually-hidden' }, opts.reason) : null, reason,
      button(confirmLabel, async () => {
        try {
          await action(reason ? reason.value.trim() : undefined);
        } catch (e) {
          put(box, notice('danger', e instanceof ApiError ? e.text : String(e)));
        }
      }, 'btn-danger btn-sm me-1'),
      button(t('common.cancel'), reset, 'btn-outline-secondary btn-sm'));
    (reason || box.querySelector('button')).focus();
  };
  reset();
  return box;
}

async function operatorsScreen() {
  const { data } = await api.get('/api/v1/ente/operators');
  return h('div', {},
    h('p', {}, t('lead.operators_intro')),
    table(t('lead.operators'), [
      [t('account.username'), (a) => a.username], [t('account.name'), (a) => a.full_name],
      [t('account.role'), (a) => t(`role.${a.role}`)], [t('account.state'), (a) => stateBadge(a.state)],
      [t('account.expires'), (a) => fmtTime(a.expires_at)], [t('account.last_login'), (a) => fmtTime(a.last_login_at)],
      [t('common.actions'), (a) => (a.state === 'active' && a.id !== session.me.id
        ? confirmAction(t('lead.disable'), t('lead.disable_confirm'), async () => {
          await api.post(`/api/v1/ente/operators/${a.id}/disable`, {});
          go('operators');
        }) : '')]],
    data.accounts || data.operators || [], { captionVisible: true }));
}

async function requestsScreen() {
  const { data } = await api.get('/api/v1/ente/operator-requests');
  const out = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { novalidate: true, class: 'col-lg-8' },
    h('div', { class: 'row' },
      h('div', { class: 'col-md-6' }, field('full_name', t('account.name'), { required: true, maxlength: 200 })),
      h('div', { class: 'col-md-6' }, field('codice_fiscale', t('field.codice_fiscale'), { required: true, maxlength: 40 })),
      h('div', { class: 'col-md-6' }, field('email', t('account.email'), { type: 'email', required: true, maxlength: 200 })),
      h('div', { class: 'col-md-6' }, field('username', t('account.username'), { required: true, maxlength: 64, help: t('lead.username_help') })),
      h('div', { class: 'col-md-12' }, field('appointment_ref', t('account.appointment'), { required: true, maxlength: 200, help: t('lead.appointment_help') }))),
    submit(t('lead.request_submit')));
  onSubmit(form, out, async (v) => {
    await api.post('/api/v1/ente/operator-requests', { ...v, codice_fiscale: v.codice_fiscale.toUpperCase() });
    go('requests');
  });
  return h('div', {}, h('h2', { class: 'h4' }, t('lead.new_request')), out, form,
    h('h2', { class: 'h4 mt-4' }, t('lead.requests')),
    table(t('lead.requests'), [
      [t('account.username'), (q) => q.username], [t('account.name'), (q) => q.full_name],
      [t('account.state'), (q) => stateBadge(q.state)], [t('lead.requested_at'), (q) => fmtTime(q.created_at)],
      [t('lists.note'), (q) => q.note || '']], data.requests));
}

async function renewalScreen() {
  const [{ data: ops }, { data: convs }] = await Promise.all([api.get('/api/v1/ente/operators'), api.get('/api/v1/purposes')]);
  const out = h('div', { 'aria-live': 'assertive' });
  const accounts = (ops.accounts || ops.operators || []).filter((a) => a.state === 'active' && a.id !== session.me.id);
  const form = h('form', { novalidate: true },
    h('fieldset', { class: 'mb-4' }, h('legend', { class: 'h5' }, t('renewal.keep')),
      accounts.length ? accounts.map((a) => field(`keep_${a.id}`, `${a.full_name} (${a.username}, ${t(`role.${a.role}`)}) — ${t('account.expires')}: ${fmtTime(a.expires_at)}`, { type: 'checkbox', value: true }))
        : h('p', {}, t('common.none'))),
    h('fieldset', { class: 'mb-4' }, h('legend', { class: 'h5' }, t('renewal.purposes')),
      h('ul', {}, convs.convenzioni.flatMap((c) => c.purposes.map((p) => h('li', {}, `${p.code} — ${p.description} (${c.reference}; ${c.profile.map((k) => t(`cat.${k}`)).join(', ')})`)))),
      field('purposes_confirmed', t('renewal.confirm_purposes'), { type: 'checkbox' })),
    submit(t('renewal.submit')));
  onSubmit(form, out, async (v) => {
    if (!v.purposes_confirmed) throw new FormError(t('renewal.must_confirm'));
    const keep = accounts.filter((a) => v[`keep_${a.id}`]).map((a) => a.id);
    const { data } = await api.post('/api/v1/ente/renewal', { keep, purposes_confirmed: true });
    return t('renewal.done', { renewed: data.renewed, disabled: data.disabled });
  });
  return h('div', {}, h('p', {}, t('renewal.intro', { date: fmtTime(session.me.expires_at) })), out, form);
}

export async function usageView(enteId, params) {
  const from = params.get('from') || '';
  const to = params.get('to') || '';
  const [{ data }, { data: convs }] = await Promise.all([api.get(`/api/v1/usage${qs({ ente_id: enteId, from, to })}`),
    api.get(`/api/v1/convenzioni${qs({ ente_id: enteId })}`)]);
  const purposes = new Map(convs.convenzioni.flatMap((c) => c.purposes.map((p) => [String(p.id), `${p.code} — ${p.description}`])));
  const rows = [];
  for (const [user, byPurpose] of Object.entries(data.accesses_by_operator_and_purpose || {})) {
    for (const [purpose, n] of Object.entries(byPurpose)) rows.push({ user, purpose, n });
  }
  return h('div', {},
    h('p', {}, t('usage.total', { n: data.requests })),
    table(t('usage.by_operator'), [[t('account.username'), (r) => r.user], [t('usage.purpose_id'), (r) => purposes.get(String(r.purpose)) || t('trail.unknown_id', { id: r.purpose })], [t('usage.count'), (r) => r.n]], rows, { captionVisible: true }),
    table(t('usage.refused'), [[t('account.username'), ([u]) => u], [t('usage.count'), ([, n]) => n]], Object.entries(data.refused_by_operator || {}), { captionVisible: true }),
    h('h2', { class: 'h4 mt-4' }, t('nav.alerts')),
    data.alerts_total > (data.alerts || []).length
      ? h('p', {}, t('usage.alerts_more', { total: data.alerts_total, shown: data.alerts.length })) : null,
    alertsTable(data.alerts || []));
}

export function alertsTable(rows, actions) {
  return table(t('nav.alerts'), [
    [t('alerts.when'), (a) => fmtTime(a.at)], [t('alerts.rule'), (a) => t(`rule.${a.rule}`, {}, null) || a.rule],
    [t('account.username'), (a) => a.username], [t('alerts.severity'), (a) => t(`severity.${a.severity}`, {}, null) || a.severity], [t('alerts.detail'), (a) => a.detail],
    [t('account.state'), (a) => stateBadge(a.state)], ...(actions ? [[t('common.actions'), actions]] : [])], rows);
}

async function usageScreen(params) {
  return usageView(session.me.ente_id, params);
}

async function alertsScreen(params) {
  const { data } = await api.get(`/api/v1/alerts${qs(pageQuery(params, 50))}`);
  return h('div', {}, h('p', {}, t('alerts.lead_intro')), alertsTable(data.alerts),
    pager('lead-alerts', params, data.next_cursor, t('alerts.pages')));
}

export function incidentsTable(rows, actions) {
  return table(t('nav.incidents'), [
    ['#', (i) => i.id], [t('incident.occurred_at'), (i) => fmtTime(i.occurred_at)], [t('incident.what'), (i) => i.what],
    [t('incident.accounts'), (i) => i.accounts], [t('account.state'), (i) => stateBadge(i.state)],
    [t('incident.history'), (i) => h('ul', { class: 'mb-0 small' }, (i.history || []).map((s) => h('li', {}, `${fmtTime(s.at)}: ${t(`state.${s.state}`, {}, null) || s.state}${s.note ? ` — ${s.note}` : ''}`)))],
    ...(actions ? [[t('common.actions'), actions]] : [])], rows);
}

async function incidentsScreen() {
  const { data } = await api.get('/api/v1/incidents');
  const out = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { novalidate: true, class: 'col-lg-8' },
    field('what', t('incident.what'), { rows: 4, required: true, maxlength: 2000, help: t('incident.what_help') }),
    field('occurred_at', t('incident.occurred_at'), { type: 'datetime-local', required: true }),
    field('accounts', t('incident.accounts'), { maxlength: 500, help: t('incident.accounts_help') }),
    submit(t('incident.submit'), 'btn-danger'));
  onSubmit(form, out, async (v) => {
    if (!v.what || !v.occurred_at) throw new FormError(t('incident.required'));
    // datetime-local is the reporter's local time: sent as UTC.
    const at = new Date(v.occurred_at).toISOString().replace(/\.\d{3}Z$/, 'Z');
    await api.post('/api/v1/incidents', { what: v.what, occurred_at: at, accounts: v.accounts });
    go('incidents');
  });
  return h('div', {}, h('p', {}, t('incident.intro')), out, form,
    h('h2', { class: 'h4 mt-4' }, t('incident.reported')), incidentsTable(data.incidents));
}

export const leadRoutes = {
  operators: { roles: ['lead'], title: t('lead.operators'), menu: t('nav.operators'), render: operatorsScreen },
  requests: { roles: ['lead'], title: t('lead.requests_title'), menu: t('nav.requests'), render: requestsScreen },
  renewal: { roles: ['lead'], title: t('renewal.title'), menu: t('nav.renewal'), render: renewalScreen },
  usage: { roles: ['lead'], title: t('usage.title'), menu: t('nav.usage'), render: usageScreen },
  'lead-alerts': { roles: ['lead'], title: t('nav.alerts'), menu: t('nav.alerts'), render: alertsScreen },
  incidents: { roles: ['lead'], title: t('nav.incidents'), menu: t('nav.incidents'), render: incidentsScreen },
};
