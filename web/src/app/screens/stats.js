// Statistics (aggregates only): the population pyramid and the monthly
// event series as charts (Chart.js), each with its table for screen
// readers and a CSV download of the full set.
import { h, field, submit, table, download, facts, card, fmtDate } from '../dom.js';
import { api, qs } from '../api.js';
import { t } from '../i18n.js';
import { go } from '../main.js';
import { mapCard } from './map.js';

const MALE = '#0066cc';
const FEMALE = '#d1344c';
const SERIES = ['#0066cc', '#d1344c', '#008758', '#a66300', '#5c2f91', '#17324d', '#cc334d', '#00838f', '#6f7f8c'];

// "2026-11" as the office reads it: "novembre 2026".
const MONTHS = ['gennaio', 'febbraio', 'marzo', 'aprile', 'maggio', 'giugno', 'luglio', 'agosto', 'settembre', 'ottobre', 'novembre', 'dicembre'];
const monthLabel = (ym) => `${MONTHS[Number(ym.slice(5, 7)) - 1] || ym.slice(5, 7)} ${ym.slice(0, 4)}`;

// Suppressed cells (null) are drawn as 0 and written as "<n" in tables.
const cell = (v, thr) => (v === null ? t('stats.suppressed', { n: thr }) : String(v));

function chart(canvas, config) {
  if (!window.Chart) return;
  // eslint-disable-next-line no-new
  new window.Chart(canvas, { ...config, options: { animation: false, responsive: true, maintainAspectRatio: false, ...config.options } });
}

function pyramid(data) {
  const rows = data.age_sex;
  const canvas = h('canvas', { role: 'img', 'aria-label': t('stats.pyramid_label') });
  const box = h('div', { class: 'chart-box', id: 'chart-pyramid' }, canvas);
  chart(canvas, {
    type: 'bar',
    data: {
      labels: rows.map((r) => r.age),
      datasets: [
        { label: t('stats.male'), data: rows.map((r) => -(r.male || 0)), backgroundColor: MALE },
        { label: t('stats.female'), data: rows.map((r) => r.female || 0), backgroundColor: FEMALE }],
    },
    options: {
      indexAxis: 'y',
      scales: { x: { stacked: true, ticks: { callback: (v) => Math.abs(v) } }, y: { stacked: true, reverse: true } },
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${Math.abs(c.raw)}` } } },
    },
  });
  return card(t('stats.pyramid'), box,
    h('details', { class: 'mt-2' }, h('summary', {}, t('stats.table')),
      table(t('stats.pyramid'), [[t('stats.age'), (r) => r.age], [t('stats.male'), (r) => cell(r.male, data.threshold)], [t('stats.female'), (r) => cell(r.female, data.threshold)]], rows)));
}

function series(data) {
  const months = Object.keys(data.events.by_month).sort();
  const types = [...new Set(months.flatMap((m) => Object.keys(data.events.by_month[m])))].sort();
  const canvas = h('canvas', { role: 'img', 'aria-label': t('stats.series_label') });
  const box = h('div', { class: 'chart-box', id: 'chart-series' }, canvas);
  chart(canvas, {
    type: 'line',
    data: {
      labels: months.map(monthLabel),
      datasets: types.map((ty, i) => ({ label: t(`event.${ty}`, {}, null) || ty, data: months.map((m) => data.events.by_month[m][ty] ?? 0),
                                        borderColor: SERIES[i % SERIES.length], backgroundColor: SERIES[i % SERIES.length] })),
    },
    options: { scales: { y: { beginAtZero: true } } },
  });
  return card(t('stats.series', { from: fmtDate(data.events.from), to: fmtDate(data.events.to) }), months.length ? box : h('p', {}, t('stats.no_events')),
    h('details', { class: 'mt-2' }, h('summary', {}, t('stats.table')),
      table(t('stats.series_table'), [[t('stats.month'), (m) => monthLabel(m)], ...types.map((ty) => [t(`event.${ty}`, {}, null) || ty, (m) => cell(data.events.by_month[m][ty] ?? 0, data.threshold)])], months)));
}

async function statsScreen(params) {
  const q = { comuni: params.get('comuni') || '', as_of: params.get('as_of') || '', from: params.get('from') || '', to: params.get('to') || '', age_step: params.get('age_step') || '5' };
  const form = h('form', { novalidate: true, class: 'row g-2 align-items-end mb-4' },
    h('div', { class: 'col-md-3' }, field('comuni', t('stats.comuni'), { value: q.comuni, help: t('stats.comuni_help') })),
    h('div', { class: 'col-md-2' }, field('as_of', t('person.as_of'), { type: 'date', value: q.as_of })),
    h('div', { class: 'col-md-2' }, field('from', t('trail.from'), { type: 'date', value: q.from })),
    h('div', { class: 'col-md-2' }, field('to', t('trail.to'), { type: 'date', value: q.to })),
    h('div', { class: 'col-md-1' }, field('age_step', t('stats.age_step'), { value: q.age_step, inputmode: 'numeric' })),
    h('div', { class: 'col-md-2' }, submit(t('common.show'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = {};
    for (const k of Object.keys(q)) if (form.elements[k].value.trim()) v[k] = form.elements[k].value.trim();
    go('stats', v);
  });
  const { data } = await api.get(`/api/v1/stats${qs(q)}`);
  const csv = async () => download('statistiche.csv', (await api.get(`/api/v1/stats${qs({ ...q, format: 'csv' })}`)).data);
  const ind = data.indicators;
  const num = (v, d = 1) => (v === null || v === undefined ? t('stats.suppressed', { n: data.threshold }) : Number(v).toLocaleString('it-IT', { maximumFractionDigits: d }));
  // Rates exist only over days the register covers: none is not "<3".
  const rate = (v) => (data.events.days ? num(v, 2) : t('stats.no_rate'));
  return h('div', {}, form,
    h('p', {}, t('stats.as_of', { date: fmtDate(data.as_of), total: data.population.total }), ' ',
      h('button', { type: 'button', class: 'btn btn-outline-primary btn-sm', onclick: csv, id: 'stats-csv' }, t('common.csv'))),
    h('div', { class: 'row' },
      h('div', { class: 'col-lg-6' }, pyramid(data)),
      h('div', { class: 'col-lg-6' }, series(data))),
    card(t('stats.indicators'), facts([
      [t('stats.old_age_index'), num(ind.old_age_index)], [t('stats.dependency_ratio'), num(ind.dependency_ratio)],
      [t('stats.average_age'), num(ind.average_age)], [t('stats.natural_balance'), num(ind.natural_balance, 0)],
      [t('stats.youth_dependency'), num(ind.youth_dependency_ratio)], [t('stats.old_age_dependency'), num(ind.old_age_dependency_ratio)],
      [t('stats.migratory_balance'), num(ind.migratory_balance, 0)], [t('stats.birth_rate'), rate(ind.crude_birth_rate)],
      [t('stats.death_rate'), rate(ind.crude_death_rate)]]),
      h('p', { class: 'small mb-0', id: 'stats-period' }, data.events.days
        ? t('stats.rates_period', { from: fmtDate(data.events.from), to: fmtDate(data.events.to), days: data.events.days })
        : t('stats.no_period'))),
    mapCard(q),
    h('div', { class: 'row' },
      h('div', { class: 'col-md-4' }, card(t('cat.citizenship'), facts([[t('stats.italian'), cell(data.citizenship.italian, data.threshold)],
        [t('stats.eu'), cell(data.citizenship.eu, data.threshold)], [t('stats.non_eu'), cell(data.citizenship.non_eu, data.threshold)]], true))),
      h('div', { class: 'col-md-4' }, card(t('cat.civil_status'), facts(Object.entries(data.civil_status).map(([k, v]) => [t(`cstat.${k}`, {}, null) || k, cell(v, data.threshold)]), true))),
      h('div', { class: 'col-md-4' }, card(t('stats.households', { n: data.households.total }), facts(Object.entries(data.households.by_size).map(([k, v]) => [t(k === '1' ? 'stats.size_one' : 'stats.size', { n: k }), cell(v, data.threshold)]), true)))));
}

export const statsRoutes = {
  stats: { roles: ['admin', 'auditor'], title: t('stats.title'), menu: t('nav.stats'), render: statsScreen },
};
