// The operator's work: declare the purpose (and case) first, then search,
// read the person's card within the profile, household, history, "as of" a
// date, verify a self-declaration, print the visura.  Every request names
// the purpose; the server records each one.
import { h, FormError, field, notice, submit, card, facts, table, fmtDate, clear, badge, button, put, pager, pageQuery } from '../dom.js';
import { api, qs, ApiError } from '../api.js';
import { t } from '../i18n.js';
import { go } from '../main.js';
import { onSubmit } from './account.js';
import { picker, placeSource, unchosen } from '../picker.js';

// The declared work context lives for the browser tab only.
const CTX = 'visura.context';
const HOUSEHOLD_PAGE = 50; // members per page of the household screen

export function context() {
  try { return JSON.parse(sessionStorage.getItem(CTX)) || null; } catch { return null; }
}
function setContext(c) { sessionStorage.setItem(CTX, JSON.stringify(c)); }

function contextBar(c) {
  return h('div', { class: 'callout note mb-4', id: 'context' },
    h('div', { class: 'callout-title' }, t('work.current')),
    h('p', { class: 'mb-1' }, `${c.code} — ${c.description}`, c.case_ref ? ` · ${t('work.case')}: ${c.case_ref}` : ''),
    h('a', { href: '#/work' }, t('work.change')));
}

async function workScreen() {
  const { data } = await api.get('/api/v1/purposes');
  const current = context();
  const out = h('div', { 'aria-live': 'assertive' });
  const options = [];
  for (const conv of data.convenzioni) {
    const names = conv.comuni_names || {};
    const comuni = conv.comuni.map((k) => [k, names[k] ? `${names[k]} (${k})` : k]);
    for (const p of conv.purposes) options.push({ ...p, mode: conv.mode, profile: conv.profile, comuni, reference: conv.reference });
  }
  if (!options.length) return notice('warning', t('work.none'));
  const radios = h('fieldset', { class: 'mb-4' }, h('legend', { class: 'h5' }, t('work.purpose')),
    options.map((p, i) => h('div', { class: 'form-check' },
      h('input', { class: 'form-check-input', type: 'radio', name: 'purpose', id: `purpose-${p.id}`, value: p.id,
                   required: true, checked: current ? current.id === p.id : i === 0 }),
      h('label', { class: 'form-check-label', for: `purpose-${p.id}` },
        `${p.code} — ${p.description} (${p.legal_basis}; ${p.reference}; ${t(`mode.${p.mode}`)})`))));
  const form = h('form', { novalidate: true, class: 'col-lg-8' }, radios,
    field('case_ref', t('work.case'), { maxlength: 100, value: current ? current.case_ref : '', help: t('work.case_help') }),
    submit(t('work.start')));
  onSubmit(form, out, async (v) => {
    const p = options.find((o) => String(o.id) === v.purpose);
    if (!p) throw new FormError(t('work.choose'));
    setContext({ id: p.id, code: p.code, description: p.description, mode: p.mode, profile: p.profile, comuni: p.comuni, case_ref: v.case_ref });
    go(p.mode === 'verify_only' ? 'verify' : 'search');
  });
  return h('div', {}, h('p', {}, t('work.intro')), out, form);
}

// Query parameters every personal-data request carries.
function ctxParams(c, extra = {}) {
  return { purpose: c.id, case_ref: c.case_ref, ...extra };
}

function needContext() {
  const c = context();
  if (!c) {
    go('work');
    return null;
  }
  return c;
}

function personLink(p) {
  const cf = p.identity && p.identity.codice_fiscale;
  return cf ? h('a', { href: `#/person?cf=${encodeURIComponent(cf)}` }, cf) : '';
}

async function searchScreen(params) {
  const c = needContext();
  if (!c) return null;
  if (c.mode === 'verify_only') return h('div', {}, contextBar(c), notice('info', t('search.verify_only')), h('a', { href: '#/verify', class: 'btn btn-primary' }, t('nav.verify')));
  const results = h('div', { id: 'results', 'aria-live': 'polite' });
  const byCf = h('form', { novalidate: true, class: 'col-lg-6 mb-4', 'aria-labelledby': 'by-cf' },
    h('h2', { class: 'h5', id: 'by-cf' }, t('search.by_cf')),
    field('cf', t('field.codice_fiscale'), { maxlength: 40, required: true, value: params.get('cf') || '', autocomplete: 'off' }),
    submit(t('search.submit')));
  const byName = h('form', { novalidate: true, class: 'col-lg-8 mb-4', 'aria-labelledby': 'by-name' },
    h('h2', { class: 'h5', id: 'by-name' }, t('search.by_name')),
    h('p', { class: 'small' }, t('search.name_help')),
    h('div', { class: 'row' },
      h('div', { class: 'col-md-6' }, field('surname', t('field.surname'), { required: true, maxlength: 100 })),
      h('div', { class: 'col-md-6' }, field('name', t('field.name'), { required: true, maxlength: 100 })),
      h('div', { class: 'col-md-4' }, field('birth_date', t('field.birth_date'), { type: 'date' })),
      h('div', { class: 'col-md-4' }, field('birth_year', t('field.birth_year'), { inputmode: 'numeric', maxlength: 4 })),
      h('div', { class: 'col-md-4' }, field('comune', t('field.comune'), { options: [['', t('common.any')], ...(c.comuni || [])] }))),
    submit(t('search.submit')));
  const show = async (query) => {
    clear(results);
    const { data, headers } = await api.get(`/api/v1/persons${qs(ctxParams(c, query))}`);
    put(results,
      h('p', { class: 'small text-muted' }, t('common.access_record', { id: headers.get('X-Visura-Access-Id') || data.access_id })),
      data.approximate ? notice('warning', t('search.approximate')) : null,
      table(t('search.results'), [
        [t('field.codice_fiscale'), personLink],
        [t('field.surname'), (p) => p.identity.surname], [t('field.name'), (p) => p.identity.name],
        [t('field.birth_date'), (p) => fmtDate(p.identity.birth_date)],
        [t('field.comune'), (p) => p.comune.name]], data.results, { empty: t('search.nothing'), captionVisible: true }));
  };
  const out = h('div', { 'aria-live': 'assertive' });
  onSubmit(byCf, out, (v) => show({ cf: v.cf }));
  onSubmit(byName, out, (v) => {
    if (!v.birth_date && !v.birth_year && !v.comune) throw new FormError(t('search.need_more'));
    return show({ surname: v.surname, name: v.name, birth_date: v.birth_date, birth_year: v.birth_year, comune: v.comune });
  });
  if (params.get('cf')) show({ cf: params.get('cf') }).catch((e) => put(out, notice('danger', e.text || String(e))));
  return h('div', {}, contextBar(c), out, h('div', { class: 'row' }, byCf, byName), results);
}

const RELATIONSHIP = (code) => t(`relationship.${code}`, {}, null) || t('relationship.other', { code });

function address(a) {
  if (!a) return '';
  const civic = [a.civic, a.civic_ext].filter(Boolean).join('/');
  const inner = [a.scala && `${t('address.scala')} ${a.scala}`, a.interno && `${t('address.interno')} ${a.interno}`].filter(Boolean).join(', ');
  // a care home's name comes first: "Casa di riposo San Giuseppe, Via Roma 3, 41012 Carpi"
  return [a.convivenza, `${a.dug} ${a.street} ${civic}`.trim(), inner, [a.cap, a.locality].filter(Boolean).join(' ')].filter(Boolean).join(', ');
}

// The person's card: one card, a compact section per category the profile
// allows and the register fills, in the order of the printed visura (two
// columns on wide screens); absent categories are simply not there.
function personCard(p) {
  const sections = [];
  const part = (title, pairs) => {
    const list = pairs.filter(([, v]) => v !== undefined && v !== null && v !== '');
    if (list.length) sections.push(h('section', { class: 'col-lg-6 mb-3' }, h('h2', { class: 'h5 mb-2' }, title), facts(list)));
  };
  const id = p.identity;
  if (id) part(t('cat.identity'), [
    [t('field.codice_fiscale'), id.codice_fiscale], [t('field.surname'), id.surname], [t('field.name'), id.name],
    [t('field.sex'), id.sex], [t('field.birth_date'), fmtDate(id.birth_date)],
    [t('field.birth_place'), id.birth_place && `${id.birth_place.name} (${id.birth_place.code})`]]);
  const r = p.residence;
  if (r) part(t('cat.residence'), [
    [t('field.comune'), p.comune && p.comune.name], [t('field.address'), address(r.address)],
    [t('field.address_since'), fmtDate(r.address_since)],
    [t('field.registration_date'), fmtDate(r.registration_date)],
    [t('field.registration_reason'), r.registration_reason !== undefined ? t(`registration.${r.registration_reason}`, {}, null) || String(r.registration_reason) : '']]);
  const f = p.family;
  if (f) part(t('cat.family'), [
    [t('field.household'), f.household_id], [t('field.relationship'), f.relationship !== undefined ? RELATIONSHIP(f.relationship) : '']]);
  if (p.parentage) part(t('cat.parentage'), [
    [t('field.father'), p.parentage.father || t('common.not_given')], [t('field.mother'), p.parentage.mother || t('common.not_given')]]);
  // one line: "ITALIA", or "ITALIA, FRANCIA" for more than one
  if (p.citizenship && p.citizenship.length) part(t('cat.citizenship'), [
    [t(p.citizenship.length > 1 ? 'person.citizenships' : 'person.citizenship'), p.citizenship.map((c) => c.name).join(', ')]]);
  if (p.civil_status) part(t('cat.civil_status'), [
    [t('person.condition'), p.civil_status.date ? t('person.since', { what: p.civil_status.label, date: fmtDate(p.civil_status.date) }) : p.civil_status.label]]);
  const v = p.vital_status;
  if (v) part(t('cat.vital_status'), [
    [t('person.condition'), v.date ? t('person.since', { what: t(`vital.${v.status}`, {}, null) || v.status, date: fmtDate(v.date) }) : t(`vital.${v.status}`, {}, null) || v.status],
    [t('field.cancellation_reason'), v.cancellation_reason !== undefined ? String(v.cancellation_reason) : ''],
    [t('field.destination'), v.destination && (v.destination.name || v.destination)]]);
  return h('div', { class: 'card card-bg no-after mb-4' }, h('div', { class: 'card-body' }, h('div', { class: 'row' }, sections)));
}

function asOfForm(cf, asOf, screen) {
  const form = h('form', { class: 'row g-2 align-items-end mb-4', novalidate: true },
    h('div', { class: 'col-auto' }, field('as_of', t('person.as_of'), { type: 'date', value: asOf || '' })),
    h('div', { class: 'col-auto' }, submit(t('person.as_of_apply'), 'btn-outline-primary')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = form.elements.as_of.value;
    go(screen, v ? { cf, as_of: v } : { cf });
  });
  return form;
}

function printLink(c, cf, asOf) {
  const href = `/api/v1/persons/${encodeURIComponent(cf)}/print${qs(ctxParams(c, { as_of: asOf }))}`;
  return h('a', { class: 'btn btn-outline-primary me-2', href, target: '_blank', rel: 'noopener' }, t('person.print'));
}

async function personScreen(params) {
  const c = needContext();
  if (!c) return null;
  const cf = params.get('cf');
  const asOf = params.get('as_of');
  const { data } = await api.get(`/api/v1/persons/${encodeURIComponent(cf)}${qs(ctxParams(c, { as_of: asOf }))}`);
  const q = asOf ? { cf, as_of: asOf } : { cf };
  const links = h('p', { class: 'mb-4' },
    c.profile.includes('family') ? h('a', { class: 'btn btn-outline-primary me-2', href: `#/household?${new URLSearchParams(q)}` }, t('person.household')) : null,
    c.profile.includes('history') ? h('a', { class: 'btn btn-outline-primary me-2', href: `#/history?cf=${encodeURIComponent(cf)}` }, t('person.history')) : null,
    h('a', { class: 'btn btn-outline-primary me-2', href: `#/verify?cf=${encodeURIComponent(cf)}` }, t('person.verify')),
    printLink(c, cf, asOf));
  return h('div', {}, contextBar(c),
    h('p', { class: 'small text-muted' }, t('common.access_record', { id: data.access_id }),
      asOf ? ` · ${t('person.as_of_shown', { date: fmtDate(asOf) })}` : ''),
    asOfForm(cf, asOf, 'person'), links, personCard(data.person));
}

async function householdScreen(params) {
  const c = needContext();
  if (!c) return null;
  const cf = params.get('cf');
  const asOf = params.get('as_of');
  // A care home may have hundreds of members: a page at a time, each page
  // its own access (its record names that page's members).
  const limit = Math.min(Math.max(Number(params.get('limit')) || HOUSEHOLD_PAGE, 1), 1000);
  const { data } = await api.get(`/api/v1/persons/${encodeURIComponent(cf)}/household${qs(ctxParams(c, { as_of: asOf, ...pageQuery(params, limit) }))}`);
  const pages = () => pager('household', params, data.next_cursor, t('household.pages'));
  return h('div', {}, contextBar(c),
    h('p', { class: 'small text-muted' }, t('common.access_record', { id: data.access_id })),
    asOfForm(cf, asOf, 'household'),
    facts([[t('field.household'), data.household_id], [t('household.convivenza'), data.convivenza || ''],
      [t('field.since'), fmtDate(data.since)]]),
    pages(),
    table(t('household.members'), [
      [t('field.codice_fiscale'), personLink], [t('field.surname'), (p) => p.identity && p.identity.surname],
      [t('field.name'), (p) => p.identity && p.identity.name], [t('field.birth_date'), (p) => p.identity && fmtDate(p.identity.birth_date)],
      [t('field.relationship'), (p) => RELATIONSHIP(p.relationship)]], data.members, { captionVisible: true }),
    pages(),
    h('a', { href: `#/person?cf=${encodeURIComponent(cf)}` }, t('person.back')));
}

async function historyScreen(params) {
  const c = needContext();
  if (!c) return null;
  const cf = params.get('cf');
  const { data } = await api.get(`/api/v1/persons/${encodeURIComponent(cf)}/history${qs(ctxParams(c))}`);
  return h('div', {}, contextBar(c),
    h('p', { class: 'small text-muted' }, t('common.access_record', { id: data.access_id })),
    table(t('history.versions'), [
      [t('field.valid_from'), (v) => fmtDate(v.valid_from)], [t('field.valid_to'), (v) => (v.valid_to ? fmtDate(v.valid_to) : t('history.current'))],
      [t('field.comune'), (v) => v.comune && v.comune.name], [t('field.address'), (v) => v.residence && address(v.residence.address)],
      [t('field.civil_status'), (v) => v.civil_status && v.civil_status.label],
      [t('field.status'), (v) => v.vital_status && (t(`vital.${v.vital_status.status}`, {}, null) || v.vital_status.status)]],
    data.versions, { captionVisible: true }),
    h('a', { href: `#/person?cf=${encodeURIComponent(cf)}` }, t('person.back')));
}

// Codici fiscali as typed in one field: separated by commas, semicolons
// or new lines; spaces, hyphens and dots inside one do not count, and
// codes run together with spaces only are cut every 16 characters.
function cfList(text) {
  return text.split(/[,;\n]+/).flatMap((piece) => {
    const k = piece.replace(/[\s.-]/g, '').toUpperCase();
    return k.length > 16 && k.length % 16 === 0 ? k.match(/.{16}/g) : k ? [k] : [];
  });
}

const VERDICT = { match: 'success', mismatch: 'danger', not_permitted: 'secondary' };

async function verifyScreen(params) {
  const c = needContext();
  if (!c) return null;
  const out = h('div', { 'aria-live': 'polite', id: 'verify-result' });
  const yesNo = [['', t('verify.not_declared')], ['true', t('common.yes')], ['false', t('common.no')]];
  const civil = [['', t('verify.not_declared')], ...['free', 'married', 'widowed', 'divorced', 'civil_union'].map((k) => [k, t(`civil.${k}`)])];
  const form = h('form', { novalidate: true },
    h('div', { class: 'row' },
      h('div', { class: 'col-md-4' }, field('codice_fiscale', t('field.codice_fiscale'), { required: true, maxlength: 40, value: params.get('cf') || '' })),
      h('div', { class: 'col-md-4' }, field('as_of', t('person.as_of'), { type: 'date' }))),
    h('fieldset', {}, h('legend', { class: 'h5' }, t('verify.declared')),
      h('p', { class: 'small' }, t('verify.help')),
      h('div', { class: 'row' },
        h('div', { class: 'col-md-4' }, field('surname', t('field.surname'))),
        h('div', { class: 'col-md-4' }, field('name', t('field.name'))),
        h('div', { class: 'col-md-4' }, field('sex', t('field.sex'), { options: [['', t('verify.not_declared')], ['M', 'M'], ['F', 'F']] })),
        h('div', { class: 'col-md-4' }, field('birth_date', t('field.birth_date'), { type: 'date' })),
        h('div', { class: 'col-md-4' }, picker('birth_place', t('verify.birth_place_code'), { search: placeSource('any') })),
        h('div', { class: 'col-md-4' }, picker('citizenship', t('verify.citizenship_code'), { search: placeSource('stato') })),
        h('div', { class: 'col-md-4' }, picker('res_comune', t('verify.residence_comune'), { search: placeSource('comune') })),
        h('div', { class: 'col-md-4' }, field('res_street', t('verify.residence_street'), { maxlength: 200 })),
        h('div', { class: 'col-md-4' }, field('res_civic', t('verify.residence_civic'), { maxlength: 10 })),
        h('div', { class: 'col-md-4' }, field('civil_status', t('field.civil_status'), { options: civil })),
        h('div', { class: 'col-md-4' }, field('alive', t('verify.alive'), { options: yesNo })),
        h('div', { class: 'col-md-8' }, field('household', t('verify.household'), { help: t('verify.household_help') })))),
    submit(t('verify.submit')));
  onSubmit(form, out, async (v) => {
    const missing = unchosen(form);
    if (missing) throw new FormError(t('picker.unchosen', { label: missing }));
    const declared = {};
    for (const k of ['surname', 'name', 'sex', 'birth_date', 'birth_place', 'citizenship', 'civil_status']) if (v[k]) declared[k] = v[k];
    if (v.alive) declared.alive = v.alive === 'true';
    if (v.res_comune || v.res_street) {
      declared.residence = { comune: v.res_comune, street: v.res_street };
      if (v.res_civic) declared.residence.civic = v.res_civic;
    }
    if (v.household) declared.household = cfList(v.household);
    if (!Object.keys(declared).length) throw new FormError(t('verify.nothing'));
    const body = { purpose: c.id, codice_fiscale: v.codice_fiscale.toUpperCase(), declared };
    if (c.case_ref) body.case_ref = c.case_ref;
    if (v.as_of) body.as_of = v.as_of;
    const { data } = await api.post('/api/v1/verify', body);
    return h('div', {},
      h('p', { class: 'small text-muted' }, t('common.access_record', { id: data.access_id })),
      table(t('verify.result'), [[t('verify.fact'), ([k]) => t(`fact.${k}`, {}, null) || k],
        [t('verify.outcome'), ([, r]) => badge(t(`verdict.${r}`), VERDICT[r] || 'secondary')]],
      Object.entries(data.facts), { captionVisible: true }));
  });
  return h('div', {}, contextBar(c), h('p', {}, t('verify.intro')), form, out);
}

async function listRequestsScreen() {
  const c = context();
  const { data } = await api.get('/api/v1/list-requests');
  const out = h('div', { 'aria-live': 'assertive' });
  const form = c ? h('form', { novalidate: true, class: 'col-lg-8' },
    h('p', {}, t('lists.for_purpose', { purpose: `${c.code} — ${c.description}` })),
    h('div', { class: 'row' },
      h('div', { class: 'col-md-4' }, field('comune', t('field.comune'), { options: c.comuni || [] })),
      h('div', { class: 'col-md-4' }, field('age_from', t('lists.age_from'), { inputmode: 'numeric', maxlength: 3 })),
      h('div', { class: 'col-md-4' }, field('age_to', t('lists.age_to'), { inputmode: 'numeric', maxlength: 3 })),
      h('div', { class: 'col-md-4' }, field('sex', t('field.sex'), { options: [['', t('common.any')], ['M', 'M'], ['F', 'F']] })),
      h('div', { class: 'col-md-4' }, field('citizenship', t('field.citizenship'), { options: [['', t('common.any')], ['italian', t('lists.italian')], ['foreign', t('lists.foreign')]] }))),
    field('justification', t('lists.justification'), { rows: 3, required: true, maxlength: 1000 }),
    submit(t('lists.submit'))) : notice('info', t('lists.need_purpose'));
  if (c) onSubmit(form, out, async (v) => {
    const criteria = { comune: v.comune };
    if (v.age_from) criteria.age_from = Number(v.age_from);
    if (v.age_to) criteria.age_to = Number(v.age_to);
    if (v.sex) criteria.sex = v.sex;
    if (v.citizenship) criteria.citizenship = v.citizenship;
    await api.post('/api/v1/list-requests', { purpose: c.id, criteria, justification: v.justification });
    go('list-requests');
  });
  return h('div', {}, h('p', {}, t('lists.intro')), out, form,
    h('h2', { class: 'h4 mt-4' }, t('lists.mine')), listRequestsTable(data.requests));
}

export function listRequestsTable(rows, actions) {
  return table(t('lists.mine'), [
    ['#', (r) => r.id], [t('lists.state'), (r) => t(`state.${r.state}`, {}, null) || r.state],
    [t('lists.criteria'), (r) => JSON.stringify(r.criteria)], [t('lists.justification'), (r) => r.justification],
    [t('lists.note'), (r) => r.note || ''], ...(actions ? [[t('common.actions'), actions]] : [])], rows);
}

export const operatorRoutes = {
  work: { roles: ['operator'], title: t('work.title'), menu: t('nav.work'), render: workScreen },
  search: { roles: ['operator'], title: t('search.title'), menu: t('nav.search'), render: searchScreen },
  person: { roles: ['operator'], title: t('person.title'), render: personScreen },
  household: { roles: ['operator'], title: t('household.title'), render: householdScreen },
  history: { roles: ['operator'], title: t('history.title'), render: historyScreen },
  verify: { roles: ['operator'], title: t('verify.title'), menu: t('nav.verify'), render: verifyScreen },
  'list-requests': { roles: ['operator'], title: t('lists.title'), menu: t('nav.lists'), render: listRequestsScreen },
};
export { button };
