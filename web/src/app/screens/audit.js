// The auditor (and the office): the access trail searched and exported
// with its signature, the per-person report, the verification of the chain.
import { h, field, notice, submit, table, fmtTime, clear, download, facts, badge, card, put, pager, pageQuery, many, button } from '../dom.js';
import { picker, listSource, unchosen } from '../picker.js';
import { api, qs, session } from '../api.js';
import { t } from '../i18n.js';
import { go } from '../main.js';
import { onSubmit } from './account.js';

// The outcome of a trail record in words: "respinta: utente finale non
// indicato" for "refused:on_behalf_of_required" (the HTTP status is for
// programs, not shown).
function trailOutcome(outcome) {
  const [kind, code] = String(outcome).split(':');
  const word = t(`trailoutcome.${kind}`, {}, null) || outcome;
  if (!code) return word;
  return `${word}: ${t(`refusal.${code}`, {}, null) || t('trailoutcome.unknown_reason', { code })}`;
}

const FILTERS = ['cf', 'account_id', 'ente_id', 'purpose_id', 'from', 'to'];
const TRAIL_PAGE = 50;

// The bodies, accounts and purposes by name (id → label), for the
// filters' pickers and the table's cells.
async function trailNames() {
  const [{ data: e }, { data: a }, { data: p }] = await Promise.all([
    api.get('/api/v1/names/enti'), api.get('/api/v1/names/accounts'), api.get('/api/v1/names/purposes')]);
  const map = (rows, label) => new Map(rows.map((r) => [String(r.id), label(r)]));
  return {
    ente: map(e.enti, (r) => r.name),
    account: map(a.accounts, (r) => `${r.full_name} (${r.username})`),
    purpose: map(p.purposes, (r) => `${r.code} — ${r.description}`),
  };
}

const nameOf = (names, id) => (id ? names.get(String(id)) || t('trail.unknown_id', { id }) : '');

async function trailScreen(params) {
  const q = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || '']));
  const names = await trailNames();
  const pick = (name, label, m) => picker(name, label, {
    search: listSource([...m].map(([value, l]) => ({ value, label: l }))), value: q[name], valueLabel: nameOf(m, q[name]) });
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { novalidate: true, class: 'mb-4' },
    h('div', { class: 'row' },
      h('div', { class: 'col-md-4' }, field('cf', t('field.codice_fiscale'), { value: q.cf, maxlength: 40 })),
      h('div', { class: 'col-md-4' }, pick('account_id', t('trail.account_id'), names.account)),
      h('div', { class: 'col-md-4' }, pick('ente_id', t('trail.ente_id'), names.ente)),
      h('div', { class: 'col-md-4' }, pick('purpose_id', t('trail.purpose_id'), names.purpose)),
      h('div', { class: 'col-md-4' }, field('from', t('trail.from'), { type: 'date', value: q.from })),
      h('div', { class: 'col-md-4' }, field('to', t('trail.to'), { type: 'date', value: q.to }))),
    submit(t('trail.search')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const missing = unchosen(form);
    if (missing) { put(clear(out), notice('danger', t('picker.unchosen', { label: missing }))); return; }
    const v = {};
    for (const k of FILTERS) if (form.elements[k].value.trim()) v[k] = form.elements[k].value.trim().toUpperCase();
    go('trail', v);
  });
  const query = { ...q, cf: q.cf.toUpperCase() };
  const { data, headers } = await api.get(`/api/v1/audit/access${qs({ ...query, ...pageQuery(params, TRAIL_PAGE) })}`);
  const pages = () => pager('trail', params, data.next_cursor, t('trail.pages'));
  const exportCsv = async () => {
    const r = await api.get(`/api/v1/audit/access${qs({ ...query, format: 'csv' })}`);
    download('registro-accessi.csv', r.data);
    put(clear(out), notice('success', t('trail.exported', { sig: r.headers.get('X-Visura-Signature') || '' })));
  };
  return h('div', {}, form,
    h('p', {}, t(data.next_cursor || params.get('cursor') ? 'trail.page_count' : 'trail.count', { n: data.count }), ' ',
      h('button', { type: 'button', class: 'btn btn-outline-primary btn-sm', onclick: exportCsv }, t('trail.export'))),
    out,
    h('p', { class: 'small text-break' }, t('trail.signature'), ' ', h('code', { id: 'trail-signature' }, headers.get('X-Visura-Signature') || '')),
    pages(),
    table(t('trail.records'), [
      ['#', (r) => r.id], [t('trail.when'), (r) => fmtTime(r.at)], [t('account.username'), (r) => r.username],
      [t('trail.ente_id'), (r) => nameOf(names.ente, r.ente_id)], [t('trail.purpose_id'), (r) => nameOf(names.purpose, r.purpose_id)], [t('trail.case'), (r) => r.case_ref],
      [t('trail.operation'), (r) => t(`operation.${r.operation}`, {}, null) || r.operation], [t('trail.subjects'), (r) => many(r.subjects || [], t('trail.subjects_n', { n: (r.subjects || []).length }))],
      [t('trail.on_behalf_of'), (r) => r.on_behalf_of],
      [t('trail.outcome'), (r) => badge(trailOutcome(r.outcome), r.outcome === 'ok' ? 'success' : 'danger')],
      [t('trail.flags'), (r) => r.flags]], data.records, { captionVisible: true }),
    pages());
}

async function subjectScreen(params) {
  const cf = (params.get('cf') || '').toUpperCase();
  const form = h('form', { novalidate: true, class: 'row g-2 align-items-end mb-4' },
    h('div', { class: 'col-md-4' }, field('cf', t('field.codice_fiscale'), { value: cf, maxlength: 40, required: true })),
    h('div', { class: 'col-md-2' }, submit(t('common.show'))));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); go('subject', { cf: form.elements.cf.value.trim().toUpperCase() }); });
  if (!cf) return h('div', {}, h('p', {}, t('subject.intro')), form);
  const { data } = await api.get(`/api/v1/audit/subject/${encodeURIComponent(cf)}`);
  // The office hands the citizen a one-time code for their own page (shown once).
  const issued = h('div', { 'aria-live': 'polite' });
  const issue = async () => {
    const r = (await api.post('/api/v1/audit/subject-codes', { codice_fiscale: data.codice_fiscale })).data;
    clear(issued);
    put(issued, notice('success', t('subject.code_issued', { code: r.code, date: fmtTime(r.expires_at) }),
      h('p', { class: 'mb-0 mt-2' }, t('subject.code_page'), ' ', h('code', {}, r.page.startsWith('/') ? `${location.origin}${r.page}` : r.page))));
  };
  const admin = session.me && session.me.role === 'admin';
  return h('div', {}, h('p', {}, t('subject.intro')), form,
    admin ? h('div', { class: 'mb-3' }, button(t('subject.code'), issue, 'btn-outline-primary'), issued) : null,
    table(t('subject.accesses', { cf: data.codice_fiscale }), [
      [t('trail.when'), (a) => fmtTime(a.at)], [t('conv.ente'), (a) => a.ente], [t('trail.purpose'), (a) => a.purpose],
      [t('trail.operation'), (a) => t(`operation.${a.operation}`, {}, null) || a.operation], [t('account.username'), (a) => a.username],
      [t('subject.on_behalf_of'), (a) => a.on_behalf_of], [t('trail.case'), (a) => a.case_ref],
      [t('subject.embargo'), (a) => (a.embargoed_for_citizen ? badge(t('subject.embargoed'), 'warning') : '')]],
    data.accesses, { captionVisible: true }));
}

async function chainScreen() {
  const { data } = await api.get('/api/v1/audit/verify');
  return h('div', {},
    data.intact ? notice('success', t('chain.intact', { n: data.records })) : notice('danger', t('chain.broken', { id: data.first_bad_id, why: data.why })),
    card(t('chain.details'), facts([[t('chain.records'), String(data.records)], [t('chain.checkpoints'), String(data.checkpoints)],
      [t('chain.first_bad'), data.first_bad_id ? String(data.first_bad_id) : t('common.none')], [t('chain.why'), data.why]])),
    h('p', { class: 'small' }, t('chain.how')));
}

export const auditRoutes = {
  trail: { roles: ['auditor', 'admin'], title: t('trail.title'), menu: t('nav.trail'), render: trailScreen },
  subject: { roles: ['auditor', 'admin'], title: t('subject.title'), menu: t('nav.subject'), render: subjectScreen },
  chain: { roles: ['auditor', 'admin'], title: t('chain.title'), menu: t('nav.chain'), render: chainScreen },
};
