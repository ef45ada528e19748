// The monthly bulletins archived (src/bollettino): the ones the account may
// read (the office and auditors every municipality's, a municipality's own
// accounts its own), newest month first, each as printable page and PDF;
// one withdrawn (protected under an earlier rule, not served) says so,
// without links.
import { h, table, card, fmtTime } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';

const MONTHS = ['gennaio', 'febbraio', 'marzo', 'aprile', 'maggio', 'giugno', 'luglio', 'agosto', 'settembre', 'ottobre', 'novembre', 'dicembre'];
const monthLabel = (ym) => `${MONTHS[Number(ym.slice(5, 7)) - 1] || ym.slice(5, 7)} ${ym.slice(0, 4)}`;

async function bollettiniScreen() {
  const { data } = await api.get('/api/v1/bollettini');
  const link = (b, href, label, format) => h('a', { href, target: '_blank', rel: 'noopener', class: 'me-3',
    'aria-label': t('bollettini.link_label', { what: label, comune: b.nome, mese: monthLabel(b.mese) }), 'data-format': format }, label);
  return h('div', {},
    h('p', {}, t('bollettini.intro')),
    card(t('bollettini.archive'), table(t('bollettini.archive'), [
      [t('bollettini.mese'), (b) => monthLabel(b.mese)],
      [t('bollettini.comune'), (b) => `${b.nome} (${b.comune})`],
      [t('bollettini.generated'), (b) => fmtTime(b.generated_at)],
      [t('bollettini.documents'), (b) => (b.stato === 'ritirato'
        ? h('div', { 'data-stato': 'ritirato' }, h('strong', {}, t('bollettini.withdrawn')),
          // why, as the server says it (an earlier rule, another threshold)
          h('div', { class: 'small text-muted' }, b.nota || t('bollettini.withdrawn_help')))
        : h('span', {}, link(b, b.html_url, t('bollettini.html'), 'html'), link(b, b.pdf_url, t('bollettini.pdf'), 'pdf')))],
    ], data.bollettini, { empty: t('bollettini.empty') })));
}

export const bollettiniRoutes = {
  bollettini: { roles: ['admin', 'auditor', 'lead', 'operator'], title: t('bollettini.title'), menu: t('nav.bollettini'), render: bollettiniScreen },
};
