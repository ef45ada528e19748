// Statistics (aggregates only), read from the standard tables and series
// (/api/v1/stats/tables and /series), the ones protected by the one rule
// of docs/api.md ("Segreto statistico"): the population pyramid from
// posas, the monthly events from bilancio, households from famiglie,
// foreign residents from strasa_cittadinanza, civil status from the total
// row of stato_civile (by sex; the total of a class the sum of its two
// cells, hidden when one is), the indicators from the
// series.  Whatever the screen adds up (an age class, the registrations
// of a month) is a sum of cells the tables publish, hidden when one of
// them is, so it shows nothing the tables do not.  Charts (Chart.js), each
// with its table for screen readers; the CSV is posas's.
import { h, field, submit, table, download, facts, card, fmtDate } from '../dom.js';
import { api, qs } from '../api.js';
import { t } from '../i18n.js';
import { go } from '../main.js';
import { mapCard } from './map.js';

const MALE = '#0066cc';
const FEMALE = '#d1344c';
const SERIES = ['#0066cc', '#d1344c', '#008758', '#a66300'];
const STEPS = ['1', '5', '10'];

// "2026-11" as the office reads it: "novembre 2026".
const MONTHS = ['gennaio', 'febbraio', 'marzo', 'aprile', 'maggio', 'giugno', 'luglio', 'agosto', 'settembre', 'ottobre', 'novembre', 'dicembre'];
const monthLabel = (ym) => `${MONTHS[Number(ym.slice(5, 7)) - 1] || ym.slice(5, 7)} ${ym.slice(0, 4)}`;

// A hidden cell (null) is drawn as nothing and written "riservato".
const cell = (v) => (v === null || v === undefined ? t('stats.hidden') : String(v));
// The sum of published cells; null when one of them is hidden.
const sum = (cells) => (cells.some((v) => v === null || v === undefined) ? null : cells.reduce((a, b) => a + b, 0));

function chart(canvas, config) {
  if (!window.Chart) return;
  // eslint-disable-next-line no-new
  new window.Chart(canvas, { ...config, options: { animation: false, responsive: true, maintainAspectRatio: false, ...config.options } });
}

// posas's rows: [code, name, age ("0".."100", "999" the total), M, F, T].
// Classes of `step` years, each the sum of its single years (100 e oltre
// a class of its own).
function classes(posas, step) {
  const byAge = new Map(posas.righe.filter((r) => r[2] !== '999').map((r) => [Number(r[2]), r]));
  const out = [];
  for (let lo = 0; lo < 100; lo += step) {
    const hi = Math.min(lo + step - 1, 99);
    const rows = [];
    for (let a = lo; a <= hi; a++) rows.push(byAge.get(a));
    out.push({ age: lo === hi ? String(lo) : `${lo}-${hi}`, male: sum(rows.map((r) => r && r[3])), female: sum(rows.map((r) => r && r[4])) });
  }
  const last = byAge.get(100);
  out.push({ age: '100+', male: last ? last[3] : null, female: last ? last[4] : null });
  return out;
}

function pyramid(posas, step) {
  const rows = classes(posas, step);
  const canvas = h('canvas', { role: 'img', 'aria-label': t('stats.pyramid_label') });
  const box = h('div', { class: 'chart-box', id: 'chart-pyramid' }, canvas);
  chart(canvas, {
    type: 'bar',
    data: {
      labels: rows.map((r) => r.age),
      datasets: [
        { label: t('stats.male'), data: rows.map((r) => (r.male === null ? null : -r.male)), backgroundColor: MALE },
        { label: t('stats.female'), data: rows.map((r) => r.female), backgroundColor: FEMALE }],
    },
    options: {
      indexAxis: 'y',
      scales: { x: { stacked: true, ticks: { callback: (v) => Math.abs(v) } }, y: { stacked: true, reverse: true } },
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${Math.abs(c.raw)}` } } },
    },
  });
  return card(t('stats.pyramid', { date: fmtDate(posas.riferimento) }), box,
    h('p', { class: 'small mb-0' }, t('stats.pyramid_note')),
    h('details', { class: 'mt-2' }, h('summary', {}, t('stats.table')),
      table(t('stats.pyramid', { date: fmtDate(posas.riferimento) }), [[t('stats.age'), (r) => r.age], [t('stats.male'), (r) => cell(r.male)], [t('stats.female'), (r) => cell(r.female)]], rows)));
}

// bilancio's rows: [code, name, period, from, to, sex, start, births,
// deaths, natural, in x3, out x3, migratory, end]; the totals by month.
function events(bil) {
  const rows = bil.righe.filter((r) => r[5] === 'Totale').map((r) => ({
    month: r[3].slice(0, 7), births: r[7], deaths: r[8], in: sum(r.slice(10, 13)), out: sum(r.slice(13, 16)) }));
  const kinds = [['births', t('stats.births')], ['deaths', t('stats.deaths')], ['in', t('stats.registrations')], ['out', t('stats.cancellations')]];
  const canvas = h('canvas', { role: 'img', 'aria-label': t('stats.series_label') });
  const box = h('div', { class: 'chart-box', id: 'chart-series' }, canvas);
  chart(canvas, {
    type: 'line',
    data: {
      labels: rows.map((r) => monthLabel(r.month)),
      datasets: kinds.map(([k, label], i) => ({ label, data: rows.map((r) => r[k]), borderColor: SERIES[i], backgroundColor: SERIES[i] })),
    },
    options: { scales: { y: { beginAtZero: true } } },
  });
  return card(t('stats.series', { from: fmtDate(bil.riferimento.dal), to: fmtDate(bil.riferimento.al) }), rows.length ? box : h('p', {}, t('stats.no_events')),
    h('details', { class: 'mt-2' }, h('summary', {}, t('stats.table')),
      table(t('stats.series_table'), [[t('stats.month'), (r) => monthLabel(r.month)], ...kinds.map(([k, label]) => [label, (r) => cell(r[k])])], rows)));
}

// The indicators: the last point of each yearly series (stocks on its
// last day, flows and rates over its days).
const INDICATORS = [['old_age_index', 'stats.old_age_index', 1], ['dependency_ratio', 'stats.dependency_ratio', 1],
  ['youth_dependency_ratio', 'stats.youth_dependency', 1], ['old_age_dependency_ratio', 'stats.old_age_dependency', 1],
  ['average_age', 'stats.average_age', 1], ['foreign_share', 'stats.foreign_share', 1],
  ['natural_balance', 'stats.natural_balance', 0], ['migratory_balance', 'stats.migratory_balance', 0],
  ['crude_birth_rate', 'stats.birth_rate', 2], ['crude_death_rate', 'stats.death_rate', 2]];

async function statsScreen(params) {
  const q = { comuni: params.get('comuni') || '', date: params.get('date') || '', step: STEPS.includes(params.get('step')) ? params.get('step') : '5' };
  const form = h('form', { novalidate: true, class: 'row g-2 align-items-end mb-4' },
    h('div', { class: 'col-md-4' }, field('comuni', t('stats.comuni'), { value: q.comuni, help: t('stats.comuni_help') })),
    h('div', { class: 'col-md-3' }, field('date', t('stats.date'), { type: 'month', value: q.date, help: t('stats.date_help') })),
    h('div', { class: 'col-md-2' }, field('step', t('stats.age_step'), { value: q.step, options: STEPS.map((s) => [s, s]) })),
    h('div', { class: 'col-md-3' }, submit(t('common.show'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = {};
    for (const k of Object.keys(q)) if (form.elements[k].value.trim()) v[k] = form.elements[k].value.trim();
    go('stats', v);
  });
  const tab = (name, extra = {}) => api.get(`/api/v1/stats/tables${qs({ table: name, comuni: q.comuni, ...extra })}`).then((r) => r.data);
  // The balance by month over the period covered: it also says the period.
  const bil = await tab('bilancio');
  // The stocks at the start of the chosen month (the API takes the first
  // of a month only); by default the latest state published: the first of
  // the month after the last one the register covers whole, where the
  // balance ends (only whole periods are published).
  const end = bil.riferimento.al;
  const [y, m] = end.slice(0, 7).split('-').map(Number);
  const after = m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
  const date = `${q.date || after}-01`;
  // the last year covered only: one period per series, not the whole
  // history; every indicator of the screen in one answer (one walk of the
  // register's history on the server, each as if asked alone), the last
  // point of each by name
  const names = ['population', ...INDICATORS.map(([k]) => k)];
  const series = api.get(`/api/v1/stats/series${qs({ indicator: names.join(','), comuni: q.comuni, step: 'year', from: `${end.slice(0, 4)}-01`, to: end.slice(0, 7) })}`)
    .then((r) => new Map(r.data.indicatori.map((x) => [x.indicatore, x.serie[0].punti.at(-1)])));
  const [posas, fam, citt, civil, points] = await Promise.all([tab('posas', { date }), tab('famiglie', { date }),
    tab('strasa_cittadinanza', { date }), tab('stato_civile', { date }), series]);
  const pop = points.get('population');
  const ind = INDICATORS.map(([k]) => points.get(k));
  const csv = async () => download(`posas-${date}.csv`, (await api.get(`/api/v1/stats/tables${qs({ table: 'posas', comuni: q.comuni, date, format: 'csv' })}`)).data);
  const num = (v, d) => (v === null || v === undefined ? t('stats.hidden') : Number(v).toLocaleString('it-IT', { maximumFractionDigits: d }));
  const last = ind[0];
  const foreign = citt.righe.filter((r) => r[2] !== '999');
  return h('div', {}, form,
    h('p', {}, t('stats.as_of', { date: fmtDate(pop.al), total: pop.valore ?? t('stats.hidden') }), ' ',
      h('button', { type: 'button', class: 'btn btn-outline-primary btn-sm', onclick: csv, id: 'stats-csv' }, t('common.csv'))),
    h('div', { class: 'row' },
      h('div', { class: 'col-lg-6' }, pyramid(posas, Number(q.step))),
      h('div', { class: 'col-lg-6' }, events(bil))),
    card(t('stats.indicators'), facts(INDICATORS.map(([, label, d], i) => [t(label), num(ind[i].valore, d)])),
      h('p', { class: 'small mb-0', id: 'stats-period' }, t('stats.rates_period', { from: fmtDate(last.dal), to: fmtDate(last.al) }))),
    mapCard(q),
    h('div', { class: 'row' },
      h('div', { class: 'col-md-6' }, card(t('stats.foreigners', { date: fmtDate(citt.riferimento) }),
        table(t('stats.foreigners', { date: fmtDate(citt.riferimento) }), [[t('stats.citizenship'), (r) => r[3]],
          [t('stats.male'), (r) => cell(r[4])], [t('stats.female'), (r) => cell(r[5])], [t('stats.total'), (r) => cell(r[6])]], foreign, { empty: t('stats.no_foreigners') }))),
      h('div', { class: 'col-md-6' }, card(t('stats.households', { date: fmtDate(fam.riferimento) }),
        facts(fam.righe.map((r) => [r[2] === 'Totale' ? t('stats.total') : t(r[2] === '1' ? 'stats.size_one' : 'stats.size', { n: r[2] }), cell(r[3])]), true)))),
    civilCard(civil));
}

// Civil status by sex at the date: stato_civile's total row (999), its
// five classes of men (columns 3-7) and of women (9-13).
const CIVIL = ['stats.civil_single', 'stats.civil_married', 'stats.civil_divorced', 'stats.civil_widowed', 'stats.civil_unknown'];
function civilCard(doc) {
  const total = doc.righe.find((r) => r[2] === '999');
  const rows = CIVIL.map((label, i) => [t(label), total[3 + i], total[9 + i]]);
  const title = t('stats.civil', { date: fmtDate(doc.riferimento) });
  return card(title, table(title, [[t('stats.civil_status'), (r) => r[0]], [t('stats.male'), (r) => cell(r[1])],
    [t('stats.female'), (r) => cell(r[2])], [t('stats.total'), (r) => cell(sum([r[1], r[2]]))]], rows));
}

export const statsRoutes = {
  stats: { roles: ['admin', 'auditor'], title: t('stats.title'), menu: t('nav.stats'), render: statsScreen },
};
