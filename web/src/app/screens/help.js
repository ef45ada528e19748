// The help page, for everyone (before login too): the guides in Italian
// (docs/it/*.md, copied into the interface by scripts/web.sh and served as
// plain text), the help desk's contacts and hours, and the links a public
// body's site must publish (accessibility statement, privacy notice) — from
// GET /api/v1/help.  A guide is drawn from its Markdown with h(): text is
// always text (never innerHTML); a link is kept only to an https address or
// to another guide.
import { h, card, notice } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';

// The guides, in the order the page lists them.
export const GUIDES = [
  ['guida-operatore', 'operator'], ['guida-responsabile', 'lead'], ['guida-ufficio-anagrafe', 'admin'],
  ['installazione', 'it'], ['backup', 'it'], ['aggiornamento', 'it'],
];

// `code`, **bold**, [text](link) inside a line.
function inline(text) {
  const out = [];
  const re = /`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)\s]+)\)/g;
  let last = 0;
  let m;
  while ((m = re.exec(text))) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[1] !== undefined) out.push(h('code', {}, m[1]));
    else if (m[2] !== undefined) out.push(h('strong', {}, m[2]));
    else {
      const guide = /^([a-z-]+)\.md$/.exec(m[4]);
      if (guide && GUIDES.some(([g]) => g === guide[1])) out.push(h('a', { href: `#/aiuto?guida=${guide[1]}` }, m[3]));
      else if (/^https:\/\/[^\s"'<>`]+$/.test(m[4])) out.push(h('a', { href: m[4], rel: 'noopener noreferrer' }, m[3]));
      else out.push(m[3]);
    }
    last = re.lastIndex;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

const cells = (line) => line.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim());

// A guide's Markdown (the subset the guides use) as DOM nodes.
export function markdown(src) {
  const lines = src.replace(/\r/g, '').split('\n');
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    let m;
    if (!line.trim()) { i++; continue; }
    if (line.startsWith('```')) {
      const code = [];
      for (i++; i < lines.length && !lines[i].startsWith('```'); i++) code.push(lines[i]);
      i++;
      out.push(h('pre', { class: 'bg-light p-2' }, h('code', {}, code.join('\n'))));
    } else if (/^ {4}/.test(line)) {
      const code = [];
      for (; i < lines.length && (/^ {4}/.test(lines[i]) || (!lines[i].trim() && /^ {4}/.test(lines[i + 1] || ''))); i++) code.push(lines[i].slice(4));
      out.push(h('pre', { class: 'bg-light p-2' }, h('code', {}, code.join('\n'))));
    } else if ((m = /^(#{1,4})\s+(.*)$/.exec(line))) {
      out.push(h(`h${Math.min(m[1].length + 1, 5)}`, { class: 'mt-4' }, ...inline(m[2])));
      i++;
    } else if (line.startsWith('|')) {
      const rows = [];
      for (; i < lines.length && lines[i].startsWith('|'); i++) if (!/^\|[\s|:-]+\|?\s*$/.test(lines[i])) rows.push(cells(lines[i]));
      const [head, ...body] = rows;
      out.push(h('div', { class: 'table-responsive' }, h('table', { class: 'table table-sm' },
        h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, ...inline(c))))),
        h('tbody', {}, body.map((r) => h('tr', {}, r.map((c) => h('td', {}, ...inline(c)))))))));
    } else if (/^\s*([-*]|\d+\.)\s+/.test(line)) {
      const ordered = /^\s*\d+\./.test(line);
      const items = [];
      for (; i < lines.length && lines[i].trim() && !/^#/.test(lines[i]); i++) {
        const item = /^\s*(?:[-*]|\d+\.)\s+(.*)$/.exec(lines[i]);
        if (item && !/^ {4,}/.test(lines[i])) items.push(item[1]);
        else if (items.length && !/^ {4}\S/.test(lines[i]) ) items[items.length - 1] += ` ${lines[i].trim()}`;
        else break;
      }
      out.push(h(ordered ? 'ol' : 'ul', {}, items.map((it) => h('li', {}, ...inline(it)))));
    } else {
      const para = [];
      for (; i < lines.length && lines[i].trim() && !/^(#|\||```| {4}|\s*([-*]|\d+\.)\s)/.test(lines[i]); i++) para.push(lines[i].trim());
      out.push(h('p', {}, ...inline(para.join(' '))));
    }
  }
  return out;
}

async function helpScreen(params) {
  const { data: cfg } = await api.get('/api/v1/help');
  const guide = params.get('guida');
  if (guide && GUIDES.some(([g]) => g === guide)) {
    const back = h('p', {}, h('a', { href: '#/aiuto' }, t('help.back')));
    let text;
    try {
      ({ data: text } = await api.get(`/ui/guide/${guide}.md`));
    } catch {
      return h('div', {}, back, notice('warning', t('help.missing')));
    }
    return h('div', {}, back, h('article', { class: 'visura-guide', 'data-guide': guide }, markdown(String(text))));
  }
  const link = (url, label) => (url ? h('a', { href: url, rel: 'noopener noreferrer' }, label) : h('span', {}, `${label}: ${t('help.not_set')}`));
  return h('div', {},
    card(t('help.desk'),
      h('p', {}, t('help.desk_text')),
      h('dl', { class: 'row' },
        h('dt', { class: 'col-sm-3' }, t('help.hours')), h('dd', { class: 'col-sm-9', 'data-help': 'hours' }, cfg.help_desk.hours || t('help.not_set')),
        h('dt', { class: 'col-sm-3' }, t('help.contact')), h('dd', { class: 'col-sm-9', 'data-help': 'contact' }, cfg.help_desk.contact || t('help.not_set')))),
    card(t('help.guides'),
      h('ul', {}, GUIDES.map(([g, who]) => h('li', {}, h('a', { href: `#/aiuto?guida=${g}` }, t(`help.guide_${g.replace(/-/g, '_')}`)), ` — ${t(`help.for_${who}`)}`)))),
    card(t('help.legal'),
      h('ul', {},
        h('li', {}, link(cfg.accessibility_url, t('help.accessibility'))),
        h('li', {}, link(cfg.privacy_url, t('help.privacy'))))));
}

const everyoneAndNobody = ['operator', 'lead', 'admin', 'auditor', 'api'];
export const helpRoutes = {
  aiuto: { roles: everyoneAndNobody, public: true, title: t('help.title'), menu: t('nav.help'), render: helpScreen },
};
