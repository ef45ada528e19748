#include "stats/series.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "common/str.h"
#include "refdata/refdata.h"
#include "stats/history.h"
#include "stats/stats.h"
#include "stats/tables.h"

#define MAX_PERIODS 240          /* 20 years of months */
#define MAX_UNITS 2000           /* municipalities of one answer: a region fits */
#define MAX_POINTS 200000        /* periods x municipalities of one answer */

/* The stock cells of a date: the population by sex, by age group and by
 * citizenship, each group adding up to the total. */
enum { S_TOT, S_MEN, S_WOMEN, S_YOUNG, S_WORKING, S_OLD, S_FOREIGN, S_ITALIAN, S_COLS };

enum ind_kind { STOCK, FLOW, RATE };

static const struct indicator {
	const char *name, *title, *unit;
	enum ind_kind kind;
} indicators[] = {
	{"population", "Popolazione residente", "persone", STOCK},
	{"males", "Maschi residenti", "persone", STOCK},
	{"females", "Femmine residenti", "persone", STOCK},
	{"foreigners", "Stranieri residenti", "persone", STOCK},
	{"foreign_share", "Incidenza degli stranieri", "per 100 residenti", STOCK},
	{"old_age_index", "Indice di vecchiaia", "65 anni e più per 100 sotto i 15", STOCK},
	{"dependency_ratio", "Indice di dipendenza strutturale",
	 "sotto i 15 e 65 e più per 100 tra 15 e 64 anni", STOCK},
	{"youth_dependency_ratio", "Indice di dipendenza giovanile",
	 "sotto i 15 per 100 tra 15 e 64 anni", STOCK},
	{"old_age_dependency_ratio", "Indice di dipendenza degli anziani",
	 "65 e più per 100 tra 15 e 64 anni", STOCK},
	{"average_age", "Età media", "anni", STOCK},
	{"births", "Nati vivi", "persone", FLOW},
	{"deaths", "Morti", "persone", FLOW},
	{"natural_balance", "Saldo naturale", "persone", FLOW},
	{"registrations", "Iscritti", "persone", FLOW},
	{"cancellations", "Cancellati", "persone", FLOW},
	{"migratory_balance", "Saldo migratorio e per altri motivi", "persone", FLOW},
	{"crude_birth_rate", "Tasso di natalità", "per 1.000 residenti all'anno", RATE},
	{"crude_death_rate", "Tasso di mortalità", "per 1.000 residenti all'anno", RATE},
	{"natural_growth_rate", "Tasso di crescita naturale", "per 1.000 residenti all'anno", RATE},
	{"migratory_rate", "Tasso migratorio", "per 1.000 residenti all'anno", RATE},
};
#define NIND ((int)(sizeof indicators / sizeof indicators[0]))

const char *stats_series_indicators(void)
{
	return "population, males, females, foreigners, foreign_share, old_age_index, "
	       "dependency_ratio, youth_dependency_ratio, old_age_dependency_ratio, average_age, "
	       "births, deaths, natural_balance, registrations, cancellations, migratory_balance, "
	       "crude_birth_rate, crude_death_rate, natural_growth_rate, migratory_rate";
}

/* The longest part of a bad value a refusal quotes. */
#define QUOTE_MAX 60

/* The indicators of `list` (names separated by commas) into out[] (room
 * for NIND), in the order given; their number, or -1 with the refusal in
 * e naming the bad value: an unknown name, one given twice, an empty one.
 * Every indicator at most, each once: NIND bounds the list. */
static int list_parse(const char *list, const struct indicator **out, struct vis_error *e)
{
	int n = 0;
	for (const char *p = list;; p++) {
		size_t len = strcspn(p, ",");
		const struct indicator *ind = NULL;
		for (int i = 0; i < NIND && !ind; i++)
			if (strlen(indicators[i].name) == len && !strncmp(indicators[i].name, p, len))
				ind = &indicators[i];
		if (!len) {
			vis_error_set(e, VIS_ERR_INVALID,
				      "indicator: un nome vuoto nell'elenco (una virgola in testa, in coda "
				      "o due di seguito); uno o più tra %s, separati da virgole",
				      stats_series_indicators());
			return -1;
		}
		if (!ind) {
			/* quoted when printable ASCII (a refusal is JSON), cut at QUOTE_MAX */
			bool plain = true;
			for (size_t i = 0; i < len; i++)
				plain = plain && p[i] > ' ' && p[i] < 0x7f && p[i] != '"' && p[i] != '\\';
			if (plain)
				vis_error_set(e, VIS_ERR_INVALID,
					      "indicator: \"%.*s%s\" non è un indicatore; uno o più tra %s, "
					      "separati da virgole", len > QUOTE_MAX ? QUOTE_MAX : (int)len,
					      p, len > QUOTE_MAX ? "…" : "", stats_series_indicators());
			else
				vis_error_set(e, VIS_ERR_INVALID,
					      "indicator: un nome con caratteri che nessun indicatore ha; "
					      "uno o più tra %s, separati da virgole",
					      stats_series_indicators());
			return -1;
		}
		for (int i = 0; i < n; i++)
			if (out[i] == ind) {
				vis_error_set(e, VIS_ERR_INVALID,
					      "indicator: \"%s\" è nell'elenco più di una volta", ind->name);
				return -1;
			}
		out[n++] = ind;    /* each at most once: n <= NIND */
		p += len;
		if (!*p)
			return n;
	}
}

vis_err stats_series_parse(const char *list, struct stats_series_query *q, struct vis_error *e)
{
	const struct indicator *ind[NIND];
	if (list_parse(list, ind, e) < 0)
		return VIS_ERR_INVALID;
	/* known names, each once: the whole list fits (STATS_SERIES_LIST_MAX) */
	str_copy_known(q->indicator, sizeof q->indicator, list, __FILE__, __LINE__);
	return VIS_OK;
}

bool stats_month_parse(const char *s, int *out)
{
	if (strlen(s) != 7 || s[4] != '-' || strspn(s, "0123456789") != 4 ||
	    strspn(s + 5, "0123456789") != 2)
		return false;
	int y = atoi(s), m = atoi(s + 5);
	if (y < 1900 || y > 2999 || m < 1 || m > 12)
		return false;
	*out = y * 100 + m;
	return true;
}

/* ------------------------------------------------------------ counting */

/* One municipality (or the sum of a pool's): the stocks on np+1 dates
 * (the day before the first period, then the last day of each) and the
 * balance of each period. */
struct unit {
	char code[7];              /* a municipality */
	long long *stock;          /* [np + 1][S_COLS] */
	long long *age_sum;        /* [np + 1] */
	bool *ages_hidden;         /* [np + 1]: POSAS hides a single year (no average age) */
	long long *bal;            /* [np][men, women, total][STATS_B_COLS] */
};

struct walk {
	const char *comuni;
	int np;
	int dal[MAX_PERIODS], al[MAX_PERIODS], on[MAX_PERIODS + 1];
	bool yearly;               /* periods of a year, each protected beside its months */
	struct unit *u;            /* the municipalities, in code order */
	int nu, last;
	/* Every municipality of the provinces of the units (the register's
	 * imported ones, in code order, as stats_ages_linked and
	 * stats_balance_linked take them), counted in the series' own walk:
	 * POSAS's counts on each date and the balance of each month. */
	char (*mcode)[8];
	int nmem, mlast, nimported;
	bool moom;
	int32_t *mages;            /* [member][np + 1][women, men][STATS_AGES] */
	int nmo, mdal[MAX_PERIODS], mal[MAX_PERIODS];
	long long (*mv)[3][STATS_B_COLS];  /* [member * nmo + month] */
	/* POSAS of the province of the units being protected, on each date
	 * (stats_linked_ages_protect): computed once per province */
	char prefix[4];
	struct stats_linked_ages *linked;  /* [np + 1] */
	/* the balance of that province, each period (stats_balance_linked_counted) */
	struct stats_linked_balance bal;
	int nind;                  /* the indicators asked for, each computed from the same counts */
};

static struct unit *unit_of(struct walk *w, const char *comune)
{
	if (w->last < w->nu && !strcmp(w->u[w->last].code, comune))
		return &w->u[w->last];
	for (int i = 0; i < w->nu; i++)
		if (!strcmp(w->u[i].code, comune)) {
			w->last = i;
			return &w->u[i];
		}
	return NULL;
}

/* The index of comune among the members, -1 when not one of them. */
static int member_of(struct walk *w, const char *comune)
{
	if (w->mlast < w->nmem && !strcmp(w->mcode[w->mlast], comune))
		return w->mlast;
	for (int lo = 0, hi = w->nmem; lo < hi;) {
		int mid = lo + (hi - lo) / 2, c = strcmp(w->mcode[mid], comune);
		if (!c)
			return w->mlast = mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* One record: POSAS's counts and the months' balance of its member of a
 * province, and the stocks and balances of its unit when one asked. */
static int add_record(void *ctx, const struct stats_record *r)
{
	struct walk *w = ctx;
	int m = member_of(w, r->v[0].comune);
	if (m < 0)
		return 0;
	struct unit *u = unit_of(w, r->v[0].comune);
	int32_t *ages = &w->mages[(size_t)m * (size_t)(w->np + 1) * 2 * STATS_AGES];
	for (int k = 0; k <= w->np; k++) {
		int age;
		const struct store_person *v = stats_record_resident(r, w->on[k], &age);
		if (!v)
			continue;
		ages[(k * 2 + (v->sex == 'M')) * STATS_AGES + (age < STATS_AGES ? age : STATS_AGES - 1)]++;
		if (!u)
			continue;
		long long *c = &u->stock[k * S_COLS];
		c[S_TOT]++;
		c[v->sex == 'M' ? S_MEN : S_WOMEN]++;
		c[age < 15 ? S_YOUNG : age < 65 ? S_WORKING : S_OLD]++;
		c[strstr(v->citizenships, "100") ? S_ITALIAN : S_FOREIGN]++;
		u->age_sum[k] += age;
	}
	stats_balance_month_count(r, w->nmo, w->mdal, w->mal, &w->mv[(size_t)m * (size_t)w->nmo]);
	if (!u)
		return 0;
	for (int i = 0; i < r->nep; i++)
		for (int p = 0; p < w->np; p++) {
			long long *b = &u->bal[p * 3 * STATS_B_COLS];
			stats_episode_count(&r->ep[i], w->dal[p], w->al[p], &b[(r->sex ? 0 : 1) * STATS_B_COLS]);
			stats_episode_count(&r->ep[i], w->dal[p], w->al[p], &b[2 * STATS_B_COLS]);
		}
	return 0;
}

/* The register's walk: each member's records (the store reads one
 * municipality by its index), or all of them at once when every
 * municipality imported is a member.  A record is of one municipality,
 * so either way gives the same records. */
static vis_err members_walk(struct store *s, struct walk *w, struct vis_error *e)
{
	if (w->nmem == w->nimported)
		return stats_history_each(s, "", add_record, w, e);
	vis_err rc = VIS_OK;
	for (int m = 0; !rc && m < w->nmem; m++)
		rc = stats_history_each(s, w->mcode[m], add_record, w, e);
	return rc;
}

/* POSAS with the province and its balance for the members mcode[a..b)
 * (one province), from the walk's counts: what stats_ages_linked and
 * stats_balance_linked compute by reading the register again. */
static vis_err province_linked(struct walk *w, int a, int b, int threshold, struct vis_error *e)
{
	int n = b - a;
	vis_err rc = VIS_OK;
	for (int k = 0; !rc && k <= w->np; k++) {
		struct stats_linked_ages *l = &w->linked[k];
		l->nm = n;
		l->code = malloc((size_t)n * sizeof *l->code);
		l->age = calloc((size_t)n, sizeof *l->age);
		if (!l->code || !l->age) {
			rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
			break;
		}
		memcpy(l->code, w->mcode[a], (size_t)n * sizeof *l->code);
		for (int j = 0; j < n; j++) {
			const int32_t *c = &w->mages[((size_t)(a + j) * (size_t)(w->np + 1) + (size_t)k) *
						     2 * STATS_AGES];
			for (int x = 0; x < 2 * STATS_AGES; x++)
				l->age[j][x / STATS_AGES][x % STATS_AGES] = c[x];
		}
		rc = stats_linked_ages_protect(l, threshold, e);
	}
	if (!rc)
		rc = stats_balance_linked_counted((const char(*)[8])w->mcode[a], n, w->dal[0],
						  w->al[w->np - 1], w->yearly, threshold,
						  &w->mv[(size_t)a * (size_t)w->nmo], &w->bal, e);
	return rc;
}

/* ------------------------------------------------------------ protection */

struct eqs {
	int *cells, *len;
	int n, ncells;
};

static void eq_push(struct eqs *q, const int *cells, int n)
{
	memcpy(q->cells + q->ncells, cells, (size_t)n * sizeof *cells);
	q->ncells += n;
	q->len[q->n++] = n;
}

/* The cells of a period's balance: [men, women, total][STATS_B_COLS]. */
#define BAL_CELLS (3 * STATS_B_COLS)

/* Hides the cells of one territory: stocks first ([np+1][S_COLS]), then
 * the balances ([np][BAL_CELLS]); hidden[] has as many flags.  The
 * population by sex and the foreign residents are totals every table
 * publishes (stats_protect's known); each period's balance is the one
 * the balance table and the bulletin publish (stats_balance_linked: with
 * the province, a year beside its months), the same counts checked, so a
 * flow hidden here is hidden there.  The age groups are hidden as POSAS
 * hides the single years they add up (stats_age_groups_hidden), fixed. */
static vis_err unit_protect(struct unit *u, struct walk *w, int threshold, bool *hidden,
			    struct vis_error *e)
{
	/* POSAS with the province (every publication of its single years
	 * hides them alike: docs/api.md, "Pools"), once per province */
	vis_err rc = VIS_OK;
	if (strncmp(w->prefix, u->code, 3)) {
		for (int k = 0; k <= w->np; k++)
			stats_linked_ages_release(&w->linked[k]);
		stats_linked_balance_release(&w->bal);
		w->prefix[0] = 0;
		/* the members of u's province: contiguous, in code order */
		int a = 0;
		while (a < w->nmem && strncmp(w->mcode[a], u->code, 3))
			a++;
		int b = a;
		while (b < w->nmem && !strncmp(w->mcode[b], u->code, 3))
			b++;
		/* the balance with the province, as the balance table and
		 * the bulletin publish it */
		rc = province_linked(w, a, b, threshold, e);
		if (rc)
			return rc;
		STR_FMT_KNOWN(w->prefix, "%.3s", u->code); /* its precision bounds it */
	}
	int member = stats_linked_ages_find(&w->linked[0], u->code);
	int bm = stats_linked_balance_find(&w->bal, u->code);
	if (member < 0 || bm < 0)
		return vis_error_set(e, VIS_ERR_INTERNAL, "%s: comune non importato", u->code);
	/* the same periods and the same counts, or the cells would not be
	 * those the balance table publishes */
	bool same = w->bal.np == w->np;
	for (int p = 0; same && p < w->np; p++)
		same = w->bal.dal[p] == w->dal[p] && w->bal.al[p] == w->al[p] &&
		       !memcmp(w->bal.v[(size_t)bm * (size_t)w->np + (size_t)p], &u->bal[p * BAL_CELLS],
			       BAL_CELLS * sizeof *u->bal);
	if (!same)
		return vis_error_set(e, VIS_ERR_INTERNAL, "%s: bilancio diverso da quello della provincia",
				     u->code);
	int np = w->np, ns = (np + 1) * S_COLS;
	bool *known = calloc((size_t)ns, sizeof *known), *fixed = calloc((size_t)ns, sizeof *fixed);
	struct eqs q = {.cells = malloc((size_t)(np + 1) * 10 * sizeof(int)),
			.len = malloc((size_t)(np + 1) * 3 * sizeof(int))};
	bool ok = known && fixed && q.cells && q.len;
	if (ok) {
		for (int k = 0; k <= np; k++) {
			int b = k * S_COLS;
			int sex[] = {b + S_MEN, b + S_WOMEN, b + S_TOT};
			int age[] = {b + S_YOUNG, b + S_WORKING, b + S_OLD, b + S_TOT};
			int cit[] = {b + S_FOREIGN, b + S_ITALIAN, b + S_TOT};
			eq_push(&q, sex, 3);
			eq_push(&q, age, 4);
			eq_push(&q, cit, 3);
			known[b + S_TOT] = known[b + S_MEN] = known[b + S_WOMEN] = true;
			known[b + S_FOREIGN] = true;
			/* the age groups are sums of POSAS's single years:
			 * hidden as POSAS hides them */
			bool grp[3];
			u->ages_hidden[k] = stats_age_groups_hidden(
				(const bool(*)[3])w->linked[k].hidden[member], grp);
			for (int i = 0; i < 3; i++) {
				fixed[b + S_YOUNG + i] = true;
				hidden[b + S_YOUNG + i] = grp[i];
			}
		}
	}
	if (ok) {
		stats_protect_fixed(u->stock, NULL, known, fixed, hidden, ns, q.cells, q.len, q.n,
				    threshold);
		memcpy(&hidden[ns], w->bal.hidden[(size_t)bm * (size_t)np],
		       (size_t)np * BAL_CELLS * sizeof *hidden);
	}
	free(known);
	free(fixed);
	free(q.cells);
	free(q.len);
	return ok ? VIS_OK : vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
}

/* The value of indicator `ind` for period p of u, NULL (JSON null) when
 * one of the counts it is made of is hidden or its base is zero. */
static json_t *value(const struct indicator *ind, const struct unit *u, const bool *hidden,
		     int np, int p, int days)
{
	int k = p + 1, ns = (np + 1) * S_COLS;
	/* the balance's total row */
	const long long *s = &u->stock[k * S_COLS], *b = &u->bal[p * BAL_CELLS + 2 * STATS_B_COLS];
	const bool *hs = &hidden[k * S_COLS], *hb = &hidden[ns + p * BAL_CELLS + 2 * STATS_B_COLS];
	const char *n = ind->name;
#define SH(c) hs[c]
#define BH(c) hb[STATS_B_##c]
	long long num = 0, den = 1;
	double scale = 1;
	bool hide = false;
	if (!strcmp(n, "population") || !strcmp(n, "males") || !strcmp(n, "females") ||
	    !strcmp(n, "foreigners")) {
		int c = n[0] == 'p' ? S_TOT : n[0] == 'm' ? S_MEN : n[1] == 'e' ? S_WOMEN : S_FOREIGN;
		return hs[c] ? json_null() : json_integer(s[c]);
	} else if (!strcmp(n, "foreign_share")) {
		num = s[S_FOREIGN], den = s[S_TOT], scale = 100;
		hide = SH(S_FOREIGN) || SH(S_TOT);
	} else if (!strcmp(n, "old_age_index")) {
		num = s[S_OLD], den = s[S_YOUNG], scale = 100;
		hide = SH(S_OLD) || SH(S_YOUNG);
	} else if (!strcmp(n, "dependency_ratio")) {
		num = s[S_YOUNG] + s[S_OLD], den = s[S_WORKING], scale = 100;
		hide = SH(S_YOUNG) || SH(S_OLD) || SH(S_WORKING);
	} else if (!strcmp(n, "youth_dependency_ratio")) {
		num = s[S_YOUNG], den = s[S_WORKING], scale = 100;
		hide = SH(S_YOUNG) || SH(S_WORKING);
	} else if (!strcmp(n, "old_age_dependency_ratio")) {
		num = s[S_OLD], den = s[S_WORKING], scale = 100;
		hide = SH(S_OLD) || SH(S_WORKING);
	} else if (!strcmp(n, "average_age")) {
		/* the sum of the ages: nothing beyond POSAS only when every
		 * single year is published */
		num = u->age_sum[k], den = s[S_TOT];
		hide = SH(S_TOT) || u->ages_hidden[k];
	} else if (ind->kind == FLOW) {
		long long v;
		if (!strcmp(n, "births"))
			v = b[STATS_B_BIRTHS], hide = BH(BIRTHS);
		else if (!strcmp(n, "deaths"))
			v = b[STATS_B_DEATHS], hide = BH(DEATHS);
		else if (!strcmp(n, "natural_balance"))
			v = b[STATS_B_NATURAL], hide = BH(NATURAL);
		else if (!strcmp(n, "migratory_balance"))
			v = b[STATS_B_MIGR], hide = BH(MIGR);
		else if (!strcmp(n, "registrations"))
			v = b[STATS_B_IN_IT] + b[STATS_B_IN_ABROAD] + b[STATS_B_IN_OTHER],
			hide = BH(IN_IT) || BH(IN_ABROAD) || BH(IN_OTHER);
		else
			v = b[STATS_B_OUT_IT] + b[STATS_B_OUT_ABROAD] + b[STATS_B_OUT_OTHER],
			hide = BH(OUT_IT) || BH(OUT_ABROAD) || BH(OUT_OTHER);
		return hide ? json_null() : json_integer(v);
	} else {
		/* Crude rates: per 1,000 of the mean population (the day
		 * before and the last day), per year over the days of the
		 * period. */
		int c = !strcmp(n, "crude_birth_rate") ? STATS_B_BIRTHS
			: !strcmp(n, "crude_death_rate") ? STATS_B_DEATHS
			: !strcmp(n, "natural_growth_rate") ? STATS_B_NATURAL : STATS_B_MIGR;
		const long long *s0 = &u->stock[p * S_COLS];
		num = 2 * b[c], den = s0[S_TOT] + s[S_TOT];
		scale = 1000.0 * 365.0 / days;
		hide = hb[c] || hidden[p * S_COLS + S_TOT] || SH(S_TOT);
	}
#undef SH
#undef BH
	if (hide || den <= 0)
		return json_null();
	return json_real((double)num * scale / (double)den);
}

/* ------------------------------------------------------------ the series */

static int add_span_unit(void *ctx, const char *comune, int64_t first, int64_t last)
{
	(void)first;
	(void)last;
	struct walk *w = ctx;
	if (!stats_covered(w->comuni, comune))
		return 0;
	/* in code order: a province's municipalities one after the other */
	if (w->nu == MAX_UNITS) {
		w->nu++;
		return 1;
	}
	str_copy_known(w->u[w->nu++].code, sizeof w->u->code, comune, __FILE__, __LINE__);
	return 0;
}

/* The municipalities imported of the units' provinces (as
 * stats_ages_linked's province_members takes them), and how many are
 * imported in all. */
static int add_span_member(void *ctx, const char *comune, int64_t first, int64_t last)
{
	(void)first;
	(void)last;
	struct walk *w = ctx;
	w->nimported++;
	if (strlen(comune) >= sizeof *w->mcode)
		return 0;
	bool ours = false;
	for (int i = 0; i < w->nu && !ours; i++)
		ours = !strncmp(w->u[i].code, comune, 3);
	if (!ours)
		return 0;
	if (w->nmem % 64 == 0) {
		char (*c)[8] = realloc(w->mcode, ((size_t)w->nmem + 64) * sizeof *c);
		if (!c) {
			w->moom = true;
			return 1;
		}
		w->mcode = c;
	}
	STR_COPY_KNOWN(w->mcode[w->nmem++], comune);   /* its length checked above */
	return 0;
}

static int cmp_code8(const void *x, const void *y)
{
	return strcmp(x, y);
}

/* The arrays of u for w's periods; false when out of memory. */
static bool unit_alloc(struct unit *u, const struct walk *w)
{
	u->stock = calloc((size_t)(w->np + 1) * S_COLS, sizeof *u->stock);
	u->age_sum = calloc((size_t)w->np + 1, sizeof *u->age_sum);
	u->ages_hidden = calloc((size_t)w->np + 1, sizeof *u->ages_hidden);
	u->bal = calloc((size_t)w->np * BAL_CELLS, sizeof *u->bal);
	return u->stock && u->age_sum && u->ages_hidden && u->bal;
}

static void unit_release(struct unit *u)
{
	free(u->stock);
	free(u->age_sum);
	free(u->ages_hidden);
	free(u->bal);
}

/* Every municipality asked for (or imported), in code order, each its own
 * unit: a pool (and a province) is the sum of its parts (stats_pool_add,
 * in stats_series_compute). */
static vis_err units_init(struct store *s, struct walk *w, struct vis_error *e)
{
	w->u = calloc(MAX_UNITS + 1, sizeof *w->u);
	if (!w->u)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	vis_err rc = store_import_span_each(s, add_span_unit, w, e);
	if (rc)
		return rc;
	if (w->nu > MAX_UNITS)
		return vis_error_set(e, VIS_ERR_INVALID, "al massimo %d comuni in una serie",
				     MAX_UNITS);
	if (w->nind == 1 && (long long)w->nu * w->np > MAX_POINTS)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "troppi punti in una risposta (%d comuni per %d periodi): "
				     "al massimo %d", w->nu, w->np, MAX_POINTS);
	if ((long long)w->nu * w->np * w->nind > MAX_POINTS)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "troppi punti in una risposta (%d comuni per %d periodi per %d "
				     "indicatori): al massimo %d", w->nu, w->np, w->nind, MAX_POINTS);
	for (int i = 0; i < w->nu; i++)
		if (!unit_alloc(&w->u[i], w))
			return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	rc = store_import_span_each(s, add_span_member, w, e);
	if (!rc && w->moom)
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	if (rc)
		return rc;
	if (w->nmem)
		qsort(w->mcode, (size_t)w->nmem, sizeof *w->mcode, cmp_code8);
	/* the months of the whole span, as stats_balance_linked cuts them */
	w->nmo = w->np ? stats_periods(w->dal[0], w->al[w->np - 1], false, w->mdal, w->mal,
				       MAX_PERIODS) : 0;
	if (w->nmo < 0)
		return vis_error_set(e, VIS_ERR_INVALID, "al massimo %d mesi in una serie annuale",
				     MAX_PERIODS);
	w->mages = calloc((size_t)w->nmem * (size_t)(w->np + 1) * 2 * STATS_AGES, sizeof *w->mages);
	w->mv = calloc((size_t)w->nmem * (size_t)w->nmo, sizeof *w->mv);
	if (!w->mages || !w->mv)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	return VIS_OK;
}

static void units_release(struct walk *w)
{
	for (int i = 0; w->u && i < w->nu && i < MAX_UNITS; i++)
		unit_release(&w->u[i]);
	free(w->u);
	free(w->mcode);
	free(w->mages);
	free(w->mv);
}

/* The periods asked for, within the covered one; false (with the refusal
 * in e) when outside it. */
static bool periods(const struct stats_series_query *q, int cov_from, int cov_to, struct walk *w,
		    struct vis_error *e)
{
	char df[11], dt[11];
	date_format(cov_from, df);
	date_format(cov_to, dt);
	int fm = q->from ? q->from : DATE_YEAR(date_add_days(cov_from, 1)) * 100 +
					     DATE_MONTH(date_add_days(cov_from, 1));
	/* up to the last month the register covers whole, by default; a
	 * later one asked is refused, not cut (docs/api.md, "Periodi
	 * pubblicati") */
	int tm = q->to ? q->to : stats_complete_month(cov_to);
	if (stats_complete_check(tm, 0, cov_to, e))
		return false;
	if (fm > tm) {
		vis_error_set(e, VIS_ERR_INVALID, "\"from\" (%04d-%02d) è dopo \"to\" (%04d-%02d)", fm / 100,
			      fm % 100, tm / 100, tm % 100);
		return false;
	}
	int first = fm * 100 + 1;
	int last = tm * 100 + date_days_in_month(tm / 100, tm % 100);
	/* The stocks are known from the first import, the flows from the
	 * day after: the first period starts then at the earliest. */
	int from = first > cov_from ? first : date_add_days(cov_from, 1);
	int to = last < cov_to ? last : cov_to;
	if (from > to) {
		vis_error_set(e, VIS_ERR_INVALID,
			      "la serie si calcola solo sul periodo coperto dal registro, dal giorno "
			      "dopo la prima importazione (%s) all'ultima (%s): il periodo chiesto, "
			      "da %04d-%02d a %04d-%02d, ne è fuori", df, dt, fm / 100, fm % 100,
			      tm / 100, tm % 100);
		return false;
	}
	w->np = stats_periods(from, to, q->yearly, w->dal, w->al, MAX_PERIODS);
	if (w->np < 0) {
		vis_error_set(e, VIS_ERR_INVALID, "al massimo %d periodi in una serie", MAX_PERIODS);
		return false;
	}
	w->on[0] = date_add_days(from, -1);
	for (int p = 0; p < w->np; p++)
		w->on[p + 1] = w->al[p];
	/* a year is protected beside its months (as the balance table does):
	 * at most MAX_PERIODS of them */
	w->yearly = q->yearly;
	if (q->yearly) {
		int mdal[MAX_PERIODS], mal[MAX_PERIODS];
		if (stats_periods(from, to, false, mdal, mal, MAX_PERIODS) < 0) {
			vis_error_set(e, VIS_ERR_INVALID, "al massimo %d mesi in una serie annuale",
				      MAX_PERIODS);
			return false;
		}
	}
	return true;
}

static json_t *unit_json(const struct indicator *ind, const struct walk *w, const struct unit *u,
			 const char *code, const char *name, bool yearly, const bool *hidden)
{
	json_t *points = json_array();
	for (int p = 0; p < w->np; p++) {
		char period[16], dal[11], al[11];
		if (yearly)
			snprintf(period, sizeof period, "%04d", DATE_YEAR(w->dal[p]) % 10000);
		else
			snprintf(period, sizeof period, "%04d-%02d", DATE_YEAR(w->dal[p]) % 10000,
				 DATE_MONTH(w->dal[p]) % 100);
		date_format(w->dal[p], dal);
		date_format(w->al[p], al);
		int days = (int)(date_to_days(w->al[p]) - date_to_days(w->dal[p]) + 1);
		json_array_append_new(points, json_pack("{s:s,s:s,s:s,s:o}", "periodo", period, "dal",
							dal, "al", al, "valore",
							value(ind, u, hidden, w->np, p, days)));
	}
	return json_pack("{s:s,s:s,s:o}", "codice", code, "nome", name, "punti", points);
}

static vis_err series_compute(struct store *s, const struct refdata *rd,
			      const struct stats_series_query *q, int today, json_t **out,
			      struct vis_error *e)
{
	/* Several indicators: one walk and one protection of the counts,
	 * then each indicator's values from them, as when asked alone. */
	const struct indicator *ind[NIND];
	int nind = list_parse(q->indicator, ind, e);
	if (nind < 0)
		return VIS_ERR_INVALID;
	int threshold = q->threshold > 0 ? q->threshold : 3;
	int cov_from, cov_to;
	vis_err rc = stats_coverage(s, q->comuni, &cov_from, &cov_to, e);
	if (rc)
		return rc;
	if (!cov_from)
		return vis_error_set(e, VIS_ERR_INVALID, "nessuna importazione per questi comuni: "
					"il registro non copre alcun periodo");
	struct walk *w = calloc(1, sizeof *w);
	if (!w)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	w->comuni = q->comuni;
	w->nind = nind;
	if (!periods(q, cov_from, cov_to, w, e))
		rc = VIS_ERR_INVALID;
	if (!rc)
		rc = units_init(s, w, e);
	if (!rc && !(w->linked = calloc((size_t)w->np + 1, sizeof *w->linked)))
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	if (!rc)
		rc = members_walk(s, w, e);
	int ns = (w->np + 1) * S_COLS, ncells = ns + w->np * BAL_CELLS;
	bool *hidden = rc ? NULL : malloc((size_t)ncells * sizeof *hidden);
	bool *sum_hidden = rc ? NULL : malloc((size_t)ncells * sizeof *sum_hidden);
	/* the balance of the municipalities of one province in the sum */
	size_t nb = (size_t)w->np * BAL_CELLS;
	long long *pbal = rc ? NULL : malloc(nb * sizeof *pbal);
	bool *pbal_hidden = rc ? NULL : malloc(nb * sizeof *pbal_hidden);
	struct unit sum = {0};
	if (!rc && (!hidden || !sum_hidden || !pbal || !pbal_hidden || !unit_alloc(&sum, w)))
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	json_t *series[NIND];
	for (int j = 0; j < nind; j++)
		series[j] = json_array();
	/* Each municipality protected with its province; a territory (the
	 * pool, a province, or one municipality) is the sum of its parts, a
	 * count hidden when one of theirs is (stats_pool_add): the balance of
	 * a whole province is one part, as the province protects it
	 * (stats_balance_linked), the other municipalities each a part. */
	for (int i = 0, first = 0, members = 0, province_members = 0; !rc && i < w->nu; i++) {
		struct unit *u = &w->u[i];
		for (int p = 0; p < 3 * w->np; p++)
			stats_balance_close(&u->bal[p * STATS_B_COLS]);
		rc = unit_protect(u, w, threshold, hidden, e);
		if (rc)
			break;
		if (!members++) {
			first = i;
			memset(sum.stock, 0, (size_t)ns * sizeof *sum.stock);
			memset(sum.bal, 0, (size_t)w->np * BAL_CELLS * sizeof *sum.bal);
			memset(sum.age_sum, 0, (size_t)(w->np + 1) * sizeof *sum.age_sum);
			memset(sum.ages_hidden, 0, (size_t)(w->np + 1) * sizeof *sum.ages_hidden);
			memset(sum_hidden, 0, (size_t)ncells * sizeof *sum_hidden);
		}
		stats_pool_add(sum.stock, sum_hidden, u->stock, hidden, ns);
		/* the sum of the ages, and whether POSAS hides a single year:
		 * the pool's POSAS hides one when a member's does */
		for (int k = 0; k <= w->np; k++) {
			sum.age_sum[k] += u->age_sum[k];
			sum.ages_hidden[k] = sum.ages_hidden[k] || u->ages_hidden[k];
		}
		bool last = i + 1 == w->nu || q->by_comune ||
			    (q->by_provincia && strncmp(w->u[i + 1].code, u->code, 3));
		/* a whole province in the sum: its POSAS, protected as one
		 * territory, may hide a single year none of its members hides
		 * (a complement): its age groups and average age hidden as
		 * that POSAS hides them too (a group published beside it would
		 * give the year back) */
		if (members == 1 || strncmp(w->u[i - 1].code, u->code, 3)) {
			province_members = 0;
			memset(pbal, 0, nb * sizeof *pbal);
			memset(pbal_hidden, 0, nb * sizeof *pbal_hidden);
		}
		province_members++;
		stats_pool_add(pbal, pbal_hidden, u->bal, &hidden[ns], (int)nb);
		bool province_end = last || strncmp(w->u[i + 1].code, u->code, 3);
		bool whole = province_end && province_members > 1 &&
			     province_members == w->linked[0].nm && province_members == w->bal.nm;
		/* the province's balance protected as one territory, or the
		 * municipalities of it in the sum each a part */
		if (whole)
			memcpy(pbal_hidden, w->bal.province_hidden, nb * sizeof *pbal_hidden);
		if (province_end)
			stats_pool_add(sum.bal, &sum_hidden[ns], pbal, pbal_hidden, (int)nb);
		if (whole)
			for (int k = 0; k <= w->np; k++) {
				bool grp[3];
				sum.ages_hidden[k] = stats_age_groups_hidden(
					(const bool(*)[3])w->linked[k].province_hidden, grp) ||
					sum.ages_hidden[k];
				for (int g = 0; g < 3; g++)
					sum_hidden[k * S_COLS + S_YOUNG + g] =
						sum_hidden[k * S_COLS + S_YOUNG + g] || grp[g];
			}
		if (!last)
			continue;
		char code[STATS_LABEL_MAX], name[STATS_LABEL_MAX];
		if (q->by_provincia) {
			/* a province: its plate, from the first municipality */
			const struct ref_comune *c = refdata_comune_by_istat(rd, w->u[first].code, today);
			char prov[4];
			STR_FMT_KNOWN(prov, "%.3s", u->code); /* its precision bounds it */
			str_copy_known(code, sizeof code, prov, __FILE__, __LINE__);
			/* a province's code of 2 bytes, or prov[4] */
			STR_FMT_KNOWN(name, "Provincia %s",
				      c && c->province[0] ? c->province : prov);
		} else {
			stats_territory(rd, q->by_comune ? u->code : q->comuni, today, code, name);
		}
		/* every indicator from the same counts and the same hidden cells */
		for (int j = 0; j < nind; j++) {
			json_t *one = unit_json(ind[j], w, &sum, code, name, q->yearly, sum_hidden);
			if (q->by_provincia)
				json_object_set_new(one, "comuni", json_integer(members));
			json_array_append_new(series[j], one);
		}
		members = 0;
	}
	unit_release(&sum);
	free(pbal);
	free(pbal_hidden);
	free(sum_hidden);
	free(hidden);
	units_release(w);
	for (int k = 0; w->linked && k <= w->np; k++)
		stats_linked_ages_release(&w->linked[k]);
	stats_linked_balance_release(&w->bal);
	free(w->linked);
	free(w);
	if (rc) {
		for (int j = 0; j < nind; j++)
			json_decref(series[j]);
		return rc;
	}
	char code[STATS_LABEL_MAX], name[STATS_LABEL_MAX], df[11], dt[11];
	stats_territory(rd, q->comuni, today, code, name);
	date_format(cov_from, df);
	date_format(cov_to, dt);
	json_t *head = json_pack("{s:s,s:{s:s,s:s},s:i,s:{s:s,s:s}}", "passo",
				 q->yearly ? "year" : "month", "periodo_coperto", "dal", df, "al", dt,
				 "soglia", threshold, "territorio", "codici", q->comuni, "nome", name);
	json_t *list = json_array();
	bool ok = head && list;
	for (int j = 0; j < nind; j++) {
		json_t *one = json_pack("{s:s,s:s,s:s,s:o}", "indicatore", ind[j]->name, "titolo",
					ind[j]->title, "unita", ind[j]->unit, "serie", series[j]);
		ok = !json_array_append_new(list, one) && ok;
	}
	/* One indicator: its name and series beside the rest, as before lists
	 * existed; several: "indicatori", each as one alone would be. */
	*out = NULL;
	if (ok && nind == 1) {
		json_t *one = json_array_get(list, 0);
		*out = json_pack("{s:O,s:O,s:O}", "indicatore", json_object_get(one, "indicatore"),
				 "titolo", json_object_get(one, "titolo"), "unita",
				 json_object_get(one, "unita"));
		ok = *out && !json_object_update(*out, head) &&
		     !json_object_set(*out, "serie", json_object_get(one, "serie"));
	} else if (ok) {
		*out = json_incref(head);
		ok = !json_object_set(*out, "indicatori", list);
	}
	json_decref(head);
	json_decref(list);
	if (!ok) {
		json_decref(*out);
		*out = NULL;
	}
	if (!*out)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	return VIS_OK;
}

/* Every read of a series (its coverage, the history of its periods and
 * members, the linked pass over each province it is protected with) in
 * one snapshot: an import committing between the members' walk and the
 * province's made their balances differ (a 500, "bilancio diverso da
 * quello della provincia"), and in general two states of the register
 * would meet in one answer. */
vis_err stats_series_compute(struct store *s, const struct refdata *rd,
			     const struct stats_series_query *q, int today, json_t **out,
			     struct vis_error *e)
{
	bool began;
	vis_err rc = store_snapshot_join(s, &began, e);
	if (rc)
		return rc;
	rc = series_compute(s, rd, q, today, out, e);
	store_snapshot_leave(s, began);
	return rc;
}

/* A series has at most MAX_POINTS lines: far below this. */
#define SERIES_CSV_MAX (32u << 20)

/* The lines of one indicator's series (series: its "indicatore" and
 * "serie"). */
static vis_err csv_lines(struct strbuf *sb, json_t *series)
{
	const char *ind = json_string_value(json_object_get(series, "indicatore"));
	size_t i, j;
	json_t *unit, *pt;
	vis_err rc = VIS_OK;
	json_array_foreach(json_object_get(series, "serie"), i, unit) {
		json_array_foreach(json_object_get(unit, "punti"), j, pt) {
			json_t *v = json_object_get(pt, "valore");
			char num[32] = "";
			if (json_is_integer(v))
				snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
			else if (json_is_real(v))
				snprintf(num, sizeof num, "%.4f", json_real_value(v));
			const char *cells[] = {json_string_value(json_object_get(unit, "codice")),
					       json_string_value(json_object_get(unit, "nome")), ind,
					       json_string_value(json_object_get(pt, "periodo")),
					       json_string_value(json_object_get(pt, "dal")),
					       json_string_value(json_object_get(pt, "al")), num};
			for (int k = 0; k < 7 && !rc; k++)
				rc = strbuf_add_csv(sb, cells[k], k == 6);
		}
	}
	return rc;
}

char *stats_series_csv(json_t *doc)
{
	struct strbuf sb;
	strbuf_init(&sb, SERIES_CSV_MAX);
	static const char *const head[] = {"Codice territorio", "Territorio", "Indicatore",
					   "Periodo", "Dal", "Al", "Valore"};
	vis_err rc = VIS_OK;
	for (int i = 0; i < 7 && !rc; i++)
		rc = strbuf_add_csv(&sb, head[i], i == 6);
	/* several indicators: each one's lines in the order asked */
	json_t *list = json_object_get(doc, "indicatori");
	size_t i;
	json_t *one;
	if (!list)
		rc = rc ? rc : csv_lines(&sb, doc);
	json_array_foreach(list, i, one)
		rc = rc ? rc : csv_lines(&sb, one);
	if (rc || !sb.len) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, NULL);
}
