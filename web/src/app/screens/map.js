// The territory on a map: a choropleth of a province's municipalities, or
// of a region's provinces (web/src/geo: ISTAT boundaries via openpolis,
// CC-BY 4.0), drawn as SVG with d3-geo and topojson-client (window.d3,
// window.topojson), no tiles.  The values come from GET
// /api/v1/stats/series?by=comune or by=provincia (a province: its
// municipalities in the register pooled), so small-cell protection is the
// server's: a hidden value is drawn as "no data".  Every area is focusable
// (Tab) and shows its value on focus or hover; the legend and a data table
// sit beside the map.
import { h, put, field, table, card, fmtDate } from '../dom.js';
import { api, qs } from '../api.js';
import { t } from '../i18n.js';

// The boundaries shipped (web/src/geo/SOURCE.md): the municipalities of
// each province (ISTAT code) and the provinces of each region, one file
// each, and index.json giving each province's region.  `file` names the
// file an area of the series is in.
const GEO = '/ui/geo';
const LEVELS = {
  comune: { file: (code) => `comuni-${code.slice(0, 3)}`, layer: 'comuni', key: 'com_istat_code' },
  provincia: { file: (code, region) => region[code] && `province-${region[code]}`, layer: 'province', key: 'prov_istat_code' },
};
let regionOf = null; // index.json's {province: region}, read once
const EARTH_KM = 6371.0088;      // mean radius: d3.geoArea gives steradians
const CLASSES = ['#deebf7', '#9ecae1', '#6baed6', '#3182bd', '#08519c'];
const NO_DATA = '#c5c7c9';
const W = 600;
const H = 480;

// Indicators on the map: those of the series, and the density (population
// per km² of the boundary's area).
const INDICATORS = ['population', 'density', 'old_age_index', 'average_age', 'foreign_share',
  'dependency_ratio', 'crude_birth_rate', 'crude_death_rate', 'natural_balance', 'migratory_balance'];

const fmt = (v, digits) => Number(v).toLocaleString('it-IT', { maximumFractionDigits: digits });

// Equal-count classes over the values present: at most CLASSES.length.
function classes(values) {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  if (!sorted.length) return [];
  const n = Math.min(CLASSES.length, sorted.length);
  const bounds = [];
  for (let i = 0; i < n; i++) {
    const lo = sorted[Math.floor((i * sorted.length) / n)];
    const hi = sorted[Math.floor(((i + 1) * sorted.length) / n) - 1];
    bounds.push([lo, hi]);
  }
  return bounds.map(([lo, hi], i) => ({ lo, hi, color: CLASSES[Math.round((i * (CLASSES.length - 1)) / Math.max(1, n - 1))] }));
}

const classOf = (bounds, v) => bounds.find((b) => v <= b.hi) || bounds[bounds.length - 1];

function swatch(color, label) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', '18');
  svg.setAttribute('height', '14');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'me-2');
  const r = document.createElementNS(ns, 'rect');
  r.setAttribute('width', '18');
  r.setAttribute('height', '14');
  r.setAttribute('fill', color);
  r.setAttribute('stroke', '#5c6f82');
  put(svg, r);
  return h('li', { class: 'd-flex align-items-center' }, svg, label);
}

// The map for the values {code: number|null} of the features, with the
// focus/hover read-out.
function drawMap(level, features, values, bounds, label, describe) {
  const ns = 'http://www.w3.org/2000/svg';
  const { d3 } = window;
  const fc = { type: 'FeatureCollection', features };
  const path = d3.geoPath(d3.geoMercator().fitExtent([[6, 6], [W - 6, H - 6]], fc));
  const info = h('p', { class: 'fw-semibold mb-2', id: 'map-info', 'aria-live': 'polite' }, t('map.hint'));
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('class', 'choropleth');
  svg.setAttribute('role', 'group');
  svg.setAttribute('aria-label', label);
  for (const f of features) {
    const code = f.properties[LEVELS[level].key];
    const v = values[code];
    const p = document.createElementNS(ns, 'path');
    p.setAttribute('d', path(f));
    p.setAttribute('fill', v === null || v === undefined ? NO_DATA : classOf(bounds, v).color);
    p.setAttribute('tabindex', '0');
    p.setAttribute('role', 'img');
    p.setAttribute(`data-${level}`, code);
    const text = `${f.properties.name}: ${describe(code)}`;
    p.setAttribute('aria-label', text);
    // the outline on focus and hover is app.css's (.choropleth path)
    const show = () => { info.textContent = text; };
    p.addEventListener('focus', show);
    p.addEventListener('mouseenter', show);
    put(svg, p);
  }
  return h('div', {}, info, h('div', { class: 'map-box', id: 'map-choropleth' }, svg));
}

// The boundaries of the level for the areas of the series: only the file
// (a province's, a region's) holding most of them is read, or null.
async function boundaries(level, serie) {
  const { file, layer, key } = LEVELS[level];
  if (!regionOf) regionOf = (await api.get(`${GEO}/index.json`)).data.province;
  const count = new Map();
  for (const s of serie) {
    const name = regionOf[s.codice.slice(0, 3)] ? file(s.codice, regionOf) : null;
    if (name) count.set(name, (count.get(name) || 0) + 1);
  }
  const best = [...count].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
  if (!best) return null;
  const topo = (await api.get(`${GEO}/${best[0]}.topo.json`)).data;
  const features = window.topojson.feature(topo, topo.objects[layer]).features;
  const have = new Set(features.map((f) => f.properties[key]));
  return serie.some((s) => have.has(s.codice)) ? features : null;
}

async function render(box, q, opts) {
  const variation = opts.mode === 'variation';
  const { level } = opts;
  const ind = opts.indicator === 'density' ? 'population' : opts.indicator;
  const { data } = await api.get(`/api/v1/stats/series${qs({ indicator: ind, by: level, comuni: q.comuni || '', step: variation ? 'month' : 'year' })}`);
  const features = window.d3 && window.topojson ? await boundaries(level, data.serie) : null;
  if (!features) {
    put(box, h('p', {}, t(level === 'comune' ? 'map.no_boundaries' : 'map.no_region')));
    return;
  }
  const key = LEVELS[level].key;
  const area = Object.fromEntries(features.map((f) => [f.properties[key], window.d3.geoArea(f) * EARTH_KM * EARTH_KM]));
  const names = Object.fromEntries(features.map((f) => [f.properties[key], f.properties.name]));
  const members = Object.fromEntries(data.serie.map((s) => [s.codice, s.comuni]));
  const per = (code, v) => (v === null || v === undefined ? null : opts.indicator === 'density' ? v / area[code] : v);
  const values = {};
  let first = null;
  let last = null;
  for (const s of data.serie) {
    if (!names[s.codice]) continue;
    const pts = s.punti;
    first = pts[0];
    last = pts[pts.length - 1];
    const a = per(s.codice, pts[0].valore);
    const b = per(s.codice, last.valore);
    values[s.codice] = variation ? (a === null || b === null ? null : b - a) : b;
  }
  const digits = opts.indicator === 'population' || /balance/.test(opts.indicator) ? 0 : 1;
  const unit = opts.indicator === 'density' ? t('map.density_unit') : data.unita;
  const shown = (v) => (v === null || v === undefined ? t('map.no_value') : `${variation && v > 0 ? '+' : ''}${fmt(v, digits)}`);
  const describe = (code) => (code in values ? shown(values[code]) : t(level === 'comune' ? 'map.not_covered' : 'map.not_covered_prov'));
  const bounds = classes(Object.values(values).filter((v) => v !== null));
  const title = opts.indicator === 'density' ? t('map.density') : data.titolo;
  const when = !last ? '' : variation
    ? t('map.variation_period', { from: fmtDate(first.al), to: fmtDate(last.al) })
    : t('map.value_period', { period: last.periodo, to: fmtDate(last.al) });
  const label = `${title} ${when}`;
  const legend = h('div', { id: 'map-legend' },
    h('p', { class: 'fw-semibold mb-1' }, `${title} (${variation ? t('map.variation_of', { unit }) : unit})`),
    h('ul', { class: 'list-unstyled small mb-2' },
      bounds.map((b) => swatch(b.color, b.lo === b.hi ? shown(b.lo) : t('map.range', { lo: shown(b.lo), hi: shown(b.hi) }))),
      swatch(NO_DATA, t('map.legend_none', { n: data.soglia }))));
  const rows = Object.keys(values).sort((a, b) => names[a].localeCompare(names[b], 'it'));
  put(box,
    h('p', { class: 'small' }, when),
    h('div', { class: 'row' },
      h('div', { class: 'col-lg-7' }, drawMap(level, features, values, bounds, label, describe)),
      h('div', { class: 'col-lg-5' }, legend,
        table(t('map.table', { title }), level === 'comune'
          ? [[t('map.comune'), (c) => names[c]], [t('map.code'), (c) => c], [unit, (c) => shown(values[c])]]
          : [[t('map.provincia'), (c) => names[c]], [t('map.code'), (c) => c], [t('map.members'), (c) => String(members[c])], [unit, (c) => shown(values[c])]],
        rows, { captionVisible: true }))),
    level === 'provincia' ? h('p', { class: 'small mb-0', id: 'map-pool' }, t('map.pool')) : null,
    h('p', { class: 'small text-muted mt-2 mb-0', id: 'map-attribution' }, t('map.attribution')));
}

// The map card of the statistics screen; q: the screen's query (comuni).
export function mapCard(q) {
  const box = h('div', { 'aria-busy': 'true' });
  const form = h('form', { novalidate: true, class: 'row g-2 align-items-end mb-3' },
    h('div', { class: 'col-md-4' }, field('map_level', t('map.level'), { options: [['comune', t('map.level_comune')], ['provincia', t('map.level_provincia')]], value: 'comune' })),
    h('div', { class: 'col-md-4' }, field('map_indicator', t('map.indicator'), { options: INDICATORS.map((k) => [k, t(`map.ind.${k}`)]), value: 'population' })),
    h('div', { class: 'col-md-4' }, field('map_mode', t('map.mode'), { options: [['value', t('map.mode_value')], ['variation', t('map.mode_variation')]], value: 'value' })));
  const draw = async () => {
    box.replaceChildren();
    box.setAttribute('aria-busy', 'true');
    // Density needs the area of what is counted: a province's municipalities
    // in the register are not the whole province, so not for provinces.
    const { map_level: level, map_indicator: indicator } = form.elements;
    const density = indicator.querySelector('option[value="density"]');
    density.disabled = level.value === 'provincia';
    if (density.disabled && indicator.value === 'density') indicator.value = 'population';
    try {
      await render(box, q, { level: level.value, indicator: indicator.value, mode: form.elements.map_mode.value });
    } catch (e) {
      put(box, h('p', { class: 'text-danger' }, e.text || e.message || String(e)));
    }
    box.setAttribute('aria-busy', 'false');
  };
  form.addEventListener('change', draw);
  draw();
  return card(t('map.title'), form, box);
}
