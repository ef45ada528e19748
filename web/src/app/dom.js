// DOM building without HTML strings: every value from the server becomes a
// text node, so nothing it sends can turn into markup (no innerHTML here).
import { t } from './i18n.js';

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// Adds children to an element the way h() does: null, undefined and false
// are left out.  The DOM's own el.append(null) writes the text "null" on the
// screen, so the screens never call it (web/check-strings.mjs refuses it).
export function put(el, ...children) {
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// A message for the user about what they typed (not a bug: not logged).
export class FormError extends Error {}

let uid = 0;
export const nextId = (p) => `${p}-${++uid}`;

// A labelled form field in Bootstrap Italia's markup.  opts: type, value,
// required, help, options ([value, label] for a select), autocomplete,
// pattern, maxlength, min, max, rows (textarea), compact.
export function field(name, label, opts = {}) {
  const id = nextId(name);
  const helpId = opts.help ? `${id}-help` : null;
  const common = { id, name, required: opts.required, 'aria-describedby': helpId,
                   autocomplete: opts.autocomplete || 'off', class: 'form-control' };
  let input;
  if (opts.options) {
    input = h('select', { ...common, class: 'form-select' },
      opts.options.map(([v, l]) => h('option', { value: v, selected: String(v) === String(opts.value ?? '') }, l)));
  } else if (opts.rows) {
    input = h('textarea', { ...common, rows: opts.rows, maxlength: opts.maxlength }, opts.value ?? '');
  } else {
    input = h('input', { ...common, type: opts.type || 'text', value: opts.value ?? '',
                         pattern: opts.pattern, maxlength: opts.maxlength, min: opts.min,
                         max: opts.max, inputmode: opts.inputmode, spellcheck: 'false' });
  }
  if (opts.type === 'checkbox') {
    input.className = 'form-check-input';
    input.checked = !!opts.value;
    return h('div', { class: 'form-check mb-3' }, input, h('label', { for: id, class: 'form-check-label' }, label));
  }
  // Bootstrap Italia floats the label over text inputs; the "active" class
  // keeps it up (the library's script would do it, ours does it once).
  // compact: a plain label above the control, for forms inside table rows
  // where a floating label would cover the row above.
  const wrap = opts.compact ? 'mb-2' : opts.options || opts.type === 'date' ? 'select-wrapper mb-4' : 'form-group mb-4';
  return h('div', { class: wrap },
    h('label', { for: id, class: opts.compact ? 'form-label small mb-0' : 'active' }, label),
    input,
    opts.help ? h('small', { id: helpId, class: 'form-text' }, opts.help) : null);
}

// The values of a form's named controls as an object (checkboxes as bool).
export function formValues(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    out[el.name] = el.type === 'checkbox' ? el.checked : el.value.trim();
  }
  return out;
}

// A message box: kind is success, danger, warning, info.  role=alert makes
// screen readers announce it.
export function notice(kind, text, extra) {
  return h('div', { class: `alert alert-${kind}`, role: kind === 'danger' ? 'alert' : 'status' }, text, extra || null);
}

// A table from rows: cols = [[header, row => cell]].
export function table(caption, cols, rows, opts = {}) {
  if (!rows || rows.length === 0) {
    return h('div', {}, opts.captionVisible ? h('p', { class: 'fw-semibold mb-1' }, caption) : null,
      h('p', { class: 'text-muted' }, opts.empty || t('common.none')));
  }
  // labelledBy: the id of a heading above that names the table already (a
  // caption too would say it twice)
  // a table wider than a narrow screen scrolls in its box, which the
  // keyboard reaches too (tabindex) and screen readers name (region)
  return h('div', { class: 'table-responsive', tabindex: '0', role: 'region', 'aria-label': caption },
    h('table', { class: 'table table-sm table-striped', 'aria-labelledby': opts.labelledBy },
      opts.labelledBy ? null : h('caption', { class: opts.captionVisible ? '' : 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, cols.map(([hd]) => h('th', { scope: 'col' }, hd)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, cols.map(([, f]) => h('td', {}, f(r))))))));
}

// Links through a list the server gives in pages read by key (docs/api.md,
// "Pages"): the first, previous and next page.  The cursors of the pages
// before the current one travel in the address ("prev", comma-separated;
// "-" for the first page), so the browser's back button and a bookmark
// show the same page.  params: the screen's URLSearchParams.
export function pager(route, params, nextCursor, label) {
  const prev = (params.get('prev') || '').split(',').filter(Boolean);
  const cursor = params.get('cursor') || '';
  if (!nextCursor && !cursor) return null;
  const link = (c, stack) => {
    const p = new URLSearchParams(params);
    p.delete('cursor'); p.delete('prev');
    if (c && c !== '-') p.set('cursor', c);
    if (stack.length) p.set('prev', stack.join(','));
    const q = p.toString();
    return `#/${route}${q ? `?${q}` : ''}`;
  };
  const item = (text, href, current) => h('li', { class: 'page-item' },
    href ? h('a', { class: 'page-link', href }, text)
      : h('span', { class: 'page-link', 'aria-current': current ? 'page' : null }, text));
  return h('nav', { class: 'pagination-wrapper my-3', 'aria-label': label },
    h('ul', { class: 'pagination flex-wrap' },
      cursor ? item(t('pages.first'), link('', [])) : null,
      cursor ? item(t('pages.previous'), link(prev[prev.length - 1] || '', prev.slice(0, -1))) : null,
      item(t('pages.current', { n: prev.length + 1 }), null, true),
      nextCursor ? item(t('pages.next'), link(nextCursor, [...prev, cursor || '-'])) : null));
}

// The page of a list to ask the server for: limit and cursor.
export function pageQuery(params, limit) {
  return { limit, cursor: params.get('cursor') || '' };
}

// A list of many values, compact: the count, the values on demand.
export function many(values, countText) {
  if (values.length <= 3) return values.join(', ');
  return h('details', { class: 'many' }, h('summary', {}, countText),
    h('span', { class: 'small text-break' }, values.join(', ')));
}

export function button(label, onclick, cls = 'btn-primary', attrs = {}) {
  return h('button', { type: 'button', class: `btn ${cls}`, onclick, ...attrs }, label);
}

export function submit(label, cls = 'btn-primary') {
  return h('button', { type: 'submit', class: `btn ${cls}` }, label);
}

// Description list of [label, value] pairs (empty values left out).
// narrow: for small cards, where labels need most of the width.
export function facts(pairs, narrow = false) {
  const [dt, dd] = narrow ? ['col-8', 'col-4 text-end'] : ['col-sm-4', 'col-sm-8'];
  return h('dl', { class: 'row mb-0' }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => [h('dt', { class: dt }, k), h('dd', { class: dd }, v)]));
}

// titleId: the id of the title, for a table of the card named by it.
export function card(title, ...body) {
  return cardWithId(title, null, ...body);
}
export function cardWithId(title, titleId, ...body) {
  return h('section', { class: 'card-wrapper card-space mb-4' },
    h('div', { class: 'card card-bg no-after' },
      h('div', { class: 'card-body' }, title ? h('h2', { class: 'h4 card-title', id: titleId }, title) : null, ...body)));
}

export function badge(text, kind = 'secondary') {
  return h('span', { class: `badge bg-${kind}` }, text);
}

// Dates: the API speaks UTC ISO; people read Europe/Rome local time.
const dtFmt = new Intl.DateTimeFormat('it-IT', { dateStyle: 'short', timeStyle: 'short', timeZone: 'Europe/Rome' });
export function fmtTime(iso) {
  if (!iso) return t('common.never');
  const d = new Date(iso);
  return isNaN(d) ? iso : dtFmt.format(d);
}
export function fmtDate(ymd) {
  if (!ymd) return '';
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(ymd);
  return m ? `${m[3]}/${m[2]}/${m[1]}` : ymd;
}

// A working-hours schedule (src/auth/hours.h: "mon-fri 08:00-14:00; sat
// 08:00-12:00; closed 2026-12-24" or "always") as people read it:
// "lun-ven 08:00–14:00; sab 08:00–12:00; chiuso il 24/12/2026; chiuso nei
// giorni festivi".  A token it does not know is shown as written.
const DAY = /\b(mon|tue|wed|thu|fri|sat|sun)\b/g;
export function fmtHours(spec) {
  const text = String(spec || '').trim();
  if (text === 'always') return t('hours.always');
  let holidaysOpen = false;
  const parts = text.split(';').map((s) => s.trim()).filter(Boolean).map((tok) => {
    if (tok === 'holidays open') { holidaysOpen = true; return t('hours.holidays_open'); }
    const closed = /^closed\s+(.+)$/.exec(tok);
    if (closed) return t('hours.closed', { dates: closed[1].split(',').map((d) => fmtDate(d.trim())).join(', ') });
    const m = /^([a-z,-]+)\s+(.+)$/.exec(tok);
    if (!m) return tok;
    return `${m[1].replace(DAY, (d) => t(`hours.day.${d}`)).replace(/,/g, ', ')} ${m[2].replace(/-/g, '–').replace(/,/g, ', ')}`;
  });
  if (!holidaysOpen && parts.length) parts.push(t('hours.holidays_closed'));
  return parts.join('; ');
}

// Saves text as a file (CSV downloads) without leaving the page.
export function download(filename, text, type = 'text/csv;charset=utf-8') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
