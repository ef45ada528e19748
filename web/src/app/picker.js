// The picker: a field that finds a municipality, a foreign state, a body,
// an account or a purpose by its name, so that nobody types a code or a
// number.  The ARIA combobox pattern (an input with a listbox popup, the
// option in focus named by aria-activedescendant): ↓/↑ move through the
// suggestions, Enter chooses, Esc closes, Tab leaves.  What is chosen goes
// into a hidden input named as the field, so formValues() reads the code or
// id; with `multiple`, the chosen values are kept comma-separated and shown
// as a list with a button to remove each.
import { h, clear, put, nextId } from './dom.js';
import { api, qs } from './api.js';
import { t } from './i18n.js';

const MAX = 20;

// Letters and digits only, upper case, accents dropped: "Forlì" = "FORLI",
// "d'Aosta" = "DAOSTA" (as the server folds them, src/common/text.h).
export const fold = (s) => String(s || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '')
  .toUpperCase().replace(/[^A-Z0-9]/g, '');

// A source of suggestions from a list already at hand: items are
// {value, label, hint?}; a text matches when its folded form is in the
// label's (or equals the value).
export function listSource(items) {
  return async (text) => {
    const key = fold(text);
    return items.filter((i) => String(i.value) === text.trim() || (key && fold(i.label).includes(key))).slice(0, MAX);
  };
}

// The label of a place of GET /api/v1/places.
export function placeLabel(p) {
  return p.kind === 'stato' ? p.name : `${p.name} (${p.province})`;
}
function placeHint(p) {
  if (p.kind === 'stato') return p.current ? t('picker.state') : t('picker.state_former');
  return p.current ? '' : t('picker.suppressed', { from: p.valid_from.slice(0, 4), to: (p.valid_to || '').slice(0, 4) });
}

// Suggestions from the reference data on the server: kind is comune,
// stato or any (a place of birth is either).
export function placeSource(kind) {
  return async (text) => {
    if (text.trim().length < 2) return [];
    const { data } = await api.get(`/api/v1/places${qs({ q: text.trim(), kind })}`);
    return data.places.map((p) => ({ value: p.code, label: placeLabel(p), hint: placeHint(p) }));
  };
}

// picker(name, label, {search, value, valueLabel, values, required, help,
// multiple, placeholder}): search(text) → Promise of [{value, label,
// hint?}].  value/valueLabel: what is chosen already (one); values: the
// same for `multiple`, as [{value, label}].
export function picker(name, label, opts = {}) {
  const id = nextId(name);
  const listId = `${id}-list`;
  const helpId = `${id}-help`;
  const statusId = `${id}-status`;
  let chosen = opts.multiple ? [...(opts.values || [])] : (opts.value ? [{ value: String(opts.value), label: opts.valueLabel || String(opts.value) }] : []);
  let items = [];
  let active = -1;
  let asked = 0;

  const hidden = h('input', { type: 'hidden', name, value: '' });
  const input = h('input', {
    id, type: 'text', class: 'form-control', role: 'combobox', autocomplete: 'off', spellcheck: 'false',
    'aria-autocomplete': 'list', 'aria-expanded': 'false', 'aria-controls': listId,
    'aria-describedby': helpId, 'aria-required': opts.required ? 'true' : null,
    placeholder: opts.placeholder || null, dataset: { picker: name },
  });
  const list = h('ul', { id: listId, role: 'listbox', class: 'visura-picker-list', 'aria-label': t('picker.suggestions', { label }), hidden: true });
  const status = h('div', { id: statusId, class: 'visually-hidden', 'aria-live': 'polite' });
  const chips = opts.multiple ? h('ul', { class: 'visura-picker-chosen list-unstyled mb-0', 'aria-label': t('picker.chosen', { label }) }) : null;

  const sync = () => {
    hidden.value = chosen.map((c) => c.value).join(',');
    if (!chips) return;
    put(clear(chips), chosen.map((c) => h('li', { class: 'd-inline-block me-2 mb-1' },
      h('span', { class: 'badge bg-primary me-1' }, c.label),
      h('button', { type: 'button', class: 'btn btn-link btn-sm p-0', 'aria-label': t('picker.remove', { label: c.label }),
        onclick: () => { chosen = chosen.filter((x) => x !== c); sync(); input.focus(); } }, t('picker.remove_short')))));
  };

  const close = () => {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  };
  const mark = (i) => {
    active = i;
    [...list.children].forEach((li, k) => li.setAttribute('aria-selected', k === i ? 'true' : 'false'));
    if (i < 0) { input.removeAttribute('aria-activedescendant'); return; }
    input.setAttribute('aria-activedescendant', list.children[i].id);
    list.children[i].scrollIntoView({ block: 'nearest' });
  };
  const choose = (item) => {
    if (opts.multiple) {
      if (!chosen.some((c) => c.value === String(item.value))) chosen.push({ value: String(item.value), label: item.label });
      input.value = '';
    } else {
      chosen = [{ value: String(item.value), label: item.label }];
      input.value = item.label;
    }
    sync();
    close();
    status.textContent = t('picker.picked', { label: item.label });
  };
  const show = (found) => {
    items = found;
    put(clear(list), found.map((item, k) => h('li', {
      id: `${listId}-${k}`, role: 'option', 'aria-selected': 'false', class: 'visura-picker-option',
      onmousedown: (ev) => { ev.preventDefault(); choose(item); },
    }, item.label, item.hint ? h('span', { class: 'small text-muted ms-2' }, item.hint) : null)));
    list.hidden = found.length === 0;
    input.setAttribute('aria-expanded', found.length ? 'true' : 'false');
    active = -1;
    status.textContent = found.length ? t('picker.found', { n: found.length }) : t('picker.nothing');
  };
  const lookUp = async () => {
    const ticket = ++asked;
    const text = input.value;
    if (!opts.multiple && chosen.length && text !== chosen[0].label) { chosen = []; sync(); }
    if (!text.trim()) { close(); status.textContent = ''; return; }
    let found = [];
    try { found = await opts.search(text); } catch { found = []; }
    if (ticket === asked) show(found);
  };

  input.addEventListener('input', lookUp);
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      if (list.hidden) { if (items.length) show(items); else lookUp(); return; }
      const n = list.children.length;
      if (!n) return;
      mark(ev.key === 'ArrowDown' ? (active + 1) % n : (active <= 0 ? n - 1 : active - 1));
    } else if (ev.key === 'Enter') {
      if (!list.hidden && active >= 0) { ev.preventDefault(); choose(items[active]); }
    } else if (ev.key === 'Escape') {
      if (!list.hidden) { ev.preventDefault(); close(); }
    }
  });
  input.addEventListener('blur', close);
  if (!opts.multiple && chosen.length) input.value = chosen[0].label;
  sync();

  return h('div', { class: 'form-group mb-4 visura-picker', dataset: opts.multiple ? { multiple: '' } : {} },
    h('label', { for: id, class: 'active' }, label),
    input, hidden, list, chips,
    h('small', { id: helpId, class: 'form-text' }, opts.help || t('picker.help')), status);
}

// The label of the first picker of a form with text typed and nothing
// chosen from its suggestions (null when there is none): the form says so
// rather than search without it.
export function unchosen(form) {
  for (const box of form.querySelectorAll('.visura-picker')) {
    const input = box.querySelector('input[role=combobox]');
    const value = box.querySelector('input[type=hidden]').value;
    if (input.value.trim() && ('multiple' in box.dataset || !value)) return box.querySelector('label').textContent;
  }
  return null;
}
