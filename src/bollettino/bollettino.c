#include "bollettino/bollettino.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "common/log.h"
#include "common/str.h"
#include "refdata/refdata.h"
#include "stats/cache.h"
#include "stats/history.h"
#include "stats/stats.h"
#include "stats/tables.h"

/* A bulletin's page is a few tables: far below this. */
#define PAGE_MAX (4u << 20)

static const char *const mesi[] = {"gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno",
				   "luglio", "agosto", "settembre", "ottobre", "novembre",
				   "dicembre"};

/* ------------------------------------------------------------ numbers */

/* An integer the Italian way: 12.345, -3. */
static void fmt_int(long long v, char *out)
{
	char digits[24];
	snprintf(digits, sizeof digits, "%lld", v < 0 ? -v : v);
	size_t n = strlen(digits), o = 0;
	if (v < 0)
		out[o++] = '-';
	for (size_t i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			out[o++] = '.';
		out[o++] = digits[i];
	}
	out[o] = 0;
}

/* With its sign: +12, -3, 0. */
static void fmt_signed(long long v, char *out)
{
	if (v > 0) {
		out[0] = '+';
		fmt_int(v, out + 1);
	} else
		fmt_int(v, out);
}

/* One decimal, comma: 163,2. */
static void fmt_real(double v, char out[32])
{
	snprintf(out, 32, "%.1f", v);
	char *dot = strchr(out, '.');
	if (dot)
		*dot = ',';
}

/* "30 novembre 2026" */
static void fmt_day(int d, char out[32])
{
	STR_FMT_KNOWN_CAP(out, 32, "%d%s %s %d", d % 100, d % 100 == 1 ? "°" : "",
			  mesi[(d / 100) % 100 - 1],
			  DATE_YEAR(d)); /* a day, a month's name, a year */
}

/* A published count of a table: false when hidden (null). */
static bool cell(json_t *row, size_t i, long long *v)
{
	json_t *x = json_array_get(row, i);
	if (!json_is_integer(x))
		return false;
	*v = (long long)json_integer_value(x);
	return true;
}

static json_t *count_or_null(bool ok, long long v)
{
	return ok ? json_integer(v) : json_null();
}

/* ------------------------------------------------------------ the tables */

static vis_err table(struct store *s, const struct refdata *rd, enum stats_table t,
		     const char *comune, int date, int from, int to,
		     const struct bollettino_opts *o, json_t **out, struct vis_error *e)
{
	struct stats_table_query q = {.table = t, .date = date, .from = from, .to = to,
				      .threshold = o->threshold, .cache = o->cache,
				      .stop = o->stop};
	str_copy_known(q.comuni, sizeof q.comuni, comune, __FILE__, __LINE__);
	return stats_table_compute(s, rd, &q, o->today, out, e);
}

/* The balance transposed: a row per item, columns men, women, total
 * (the table's rows are the sexes, its columns the items). */
static json_t *balance_view(json_t *bil)
{
	json_t *cols = json_object_get(bil, "colonne"), *rows = json_object_get(bil, "righe");
	json_t *out = json_array();
	for (size_t c = 6; c < json_array_size(cols); c++) {
		json_t *r = json_array();
		json_array_append(r, json_array_get(cols, c));
		for (size_t sx = 0; sx < 3; sx++)
			json_array_append(r, json_array_get(json_array_get(rows, sx), c));
		json_array_append_new(out, r);
	}
	return out;
}

/* POSAS by broad age group: a group's count is published only when every
 * single year it adds up is (a sum of published cells reveals nothing the
 * table does not); sums[g][sex] keep them for the indicators. */
enum { G_YOUNG, G_WORKING, G_OLD, G_TOTAL, GROUPS };
struct groups {
	long long n[GROUPS][3];
	bool ok[GROUPS][3];
	long long age_sum2;       /* sum of (2 x age + 1) over the residents */
	bool age_ok;
};

static json_t *age_view(json_t *posas, struct groups *g)
{
	json_t *rows = json_object_get(posas, "righe");
	memset(g, 0, sizeof *g);
	for (int k = 0; k < GROUPS; k++)
		for (int c = 0; c < 3; c++)
			g->ok[k][c] = true;
	g->age_ok = true;
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row) {
		int age = atoi(json_string_value(json_array_get(row, 2)));
		int k = age == 999 ? G_TOTAL : age < 15 ? G_YOUNG : age < 65 ? G_WORKING : G_OLD;
		for (int c = 0; c < 3; c++) {
			long long v;
			if (!cell(row, (size_t)3 + c, &v)) {
				g->ok[k][c] = false;
				if (c == 2 && k != G_TOTAL)
					g->age_ok = false;
				continue;
			}
			g->n[k][c] += v;
			/* ISTAT's average age: each single year at its middle */
			if (c == 2 && k != G_TOTAL)
				g->age_sum2 += v * (2LL * age + 1);
		}
	}
	static const char *const names[] = {"0-14 anni", "15-64 anni", "65 anni e più", "Totale"};
	json_t *out = json_array();
	for (int k = 0; k < GROUPS; k++) {
		json_t *r = json_pack("[s]", names[k]);
		for (int c = 0; c < 3; c++)
			json_array_append_new(r, count_or_null(g->ok[k][c], g->n[k][c]));
		json_array_append_new(out, r);
	}
	return out;
}

/* Some columns of a table (cols[0..n), the label first), and the count in
 * column `total_col` of its row whose column `key_col` is `total_key`:
 * *total_ok false when hidden (or absent). */
static json_t *columns_view(json_t *t, const int *cols, int n, int key_col, const char *total_key,
			    int total_col, long long *total, bool *total_ok)
{
	json_t *out = json_array();
	size_t i;
	json_t *row;
	*total_ok = false;
	json_array_foreach(json_object_get(t, "righe"), i, row) {
		json_t *r = json_array();
		for (int c = 0; c < n; c++)
			json_array_append(r, json_array_get(row, (size_t)cols[c]));
		json_array_append_new(out, r);
		if (!strcmp(json_string_value(json_array_get(row, (size_t)key_col)), total_key))
			*total_ok = cell(row, (size_t)total_col, total);
	}
	return out;
}

static json_t *table_json(const char *id, const char *title, json_t *cols, json_t *rows)
{
	return json_pack("{s:s,s:s,s:o,s:o}", "id", id, "titolo", title, "colonne", cols, "righe",
			 rows);
}

/* ------------------------------------------------------------ indicators */

/* The balance's total row (the third), by column of the table. */
struct totals {
	long long v[STATS_B_COLS];
	bool ok[STATS_B_COLS];
};

static json_t *indicator(const char *id, const char *name, bool ok, double v, const char *unit)
{
	return json_pack("{s:s,s:s,s:o,s:s}", "id", id, "nome", name, "valore",
			 ok ? json_real(v) : json_null(), "unita", unit);
}

/* ------------------------------------------------------------ the text */

/* The main figures, from the published cells only: a hidden cell is
 * neither said nor computable from what is said. */
static char *summary(const char *name, int to, int start_day, const struct totals *t,
		     bool foreign_ok, long long foreign, bool fam_ok, long long families,
		     json_t *indicators)
{
	struct strbuf sb;
	strbuf_init(&sb, 8192);
	char d[32], a[32], b[32];
	fmt_day(to, d);
	enum { START = 0, BIRTHS, DEATHS, NATURAL, IN_IT, IN_ABROAD, IN_OTHER, OUT_IT, OUT_ABROAD,
	       OUT_OTHER, MIGR, END };
	if (t->ok[END]) {
		fmt_int(t->v[END], a);
		strbuf_addf(&sb, "Al %s i residenti a %s sono %s", d, name, a);
		if (t->ok[START]) {
			fmt_signed(t->v[END] - t->v[START], b);
			fmt_day(start_day, d);
			strbuf_addf(&sb, " (%s rispetto al %s)", b, d);
		}
		strbuf_adds(&sb, ".");
	} else
		strbuf_addf(&sb, "Al %s il numero dei residenti a %s è riservato (segreto "
			    "statistico).", d, name);
	/* the flows: each said only when published */
	struct { int col; const char *one, *many; } flows[] = {
		{BIRTHS, "nato", "nati"}, {DEATHS, "morto", "morti"},
	};
	bool any = false;
	for (size_t i = 0; i < sizeof flows / sizeof flows[0]; i++) {
		if (!t->ok[flows[i].col])
			continue;
		fmt_int(t->v[flows[i].col], a);
		strbuf_addf(&sb, "%s%s %s", any ? ", " : " Nel mese: ", a,
			    t->v[flows[i].col] == 1 ? flows[i].one : flows[i].many);
		any = true;
	}
	if (t->ok[NATURAL]) {
		fmt_signed(t->v[NATURAL], a);
		strbuf_addf(&sb, "%ssaldo naturale %s", any ? ", " : " Nel mese: ", a);
		any = true;
	}
	bool in_ok = t->ok[IN_IT] && t->ok[IN_ABROAD] && t->ok[IN_OTHER];
	bool out_ok = t->ok[OUT_IT] && t->ok[OUT_ABROAD] && t->ok[OUT_OTHER];
	if (in_ok) {
		fmt_int(t->v[IN_IT] + t->v[IN_ABROAD] + t->v[IN_OTHER], a);
		strbuf_addf(&sb, "%s%s iscritti", any ? ", " : " Nel mese: ", a);
		any = true;
	}
	if (out_ok) {
		fmt_int(t->v[OUT_IT] + t->v[OUT_ABROAD] + t->v[OUT_OTHER], a);
		strbuf_addf(&sb, "%s%s cancellati", any ? ", " : " Nel mese: ", a);
		any = true;
	}
	if (t->ok[MIGR]) {
		fmt_signed(t->v[MIGR], a);
		strbuf_addf(&sb, "%ssaldo migratorio e per altri motivi %s", any ? ", " : " Nel mese: ",
			    a);
		any = true;
	}
	if (any)
		strbuf_adds(&sb, ".");
	bool hidden = false;
	for (int c = BIRTHS; c <= MIGR; c++)
		hidden |= !t->ok[c];
	if (hidden)
		strbuf_adds(&sb, " Alcuni movimenti del mese non sono riportati perché riservati "
			    "(segreto statistico).");
	if (foreign_ok) {
		fmt_int(foreign, a);
		strbuf_addf(&sb, " Gli stranieri residenti sono %s", a);
		json_t *share = json_object_get(json_array_get(indicators, 0), "valore");
		if (json_is_real(share)) {
			fmt_real(json_real_value(share), b);
			strbuf_addf(&sb, " (%s%% dei residenti)", b);
		}
		strbuf_adds(&sb, ".");
	}
	if (fam_ok) {
		fmt_int(families, a);
		strbuf_addf(&sb, " Le famiglie sono %s.", a);
	}
	size_t i;
	json_t *ind;
	json_array_foreach(indicators, i, ind) {
		const char *id = json_string_value(json_object_get(ind, "id"));
		json_t *v = json_object_get(ind, "valore");
		if (!json_is_real(v) || (strcmp(id, "old_age_index") && strcmp(id, "average_age")))
			continue;
		fmt_real(json_real_value(v), a);
		strbuf_addf(&sb, !strcmp(id, "old_age_index")
				 ? " L'indice di vecchiaia è %s anziani ogni 100 giovani."
				 : " L'età media è di %s anni.", a);
	}
	if (sb.err) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, NULL);
}

/* ------------------------------------------------------------ the page */

void bollettino_cell_text(json_t *x, char out[BOLLETTINO_CELL_MAX])
{
	if (json_is_string(x))
		/* labels of stats/tables (below STATS_LABEL_MAX) and column names */
		str_copy_known(out, BOLLETTINO_CELL_MAX, json_string_value(x), __FILE__, __LINE__);
	else if (json_is_integer(x))
		fmt_int((long long)json_integer_value(x), out);
	else if (json_is_real(x))
		fmt_real(json_real_value(x), out);
	else
		str_copy_known(out, BOLLETTINO_CELL_MAX, "ris.", __FILE__, __LINE__);
}

void bollettino_note(json_t *d, char *out, size_t cap)
{
	json_t *per = json_object_get(d, "periodo");
	/* four dates of 10 bytes + 440 < 1024, its callers' size */
	STR_FMT_KNOWN_CAP(
		out, cap,
		"Movimenti dal %s al %s; popolazione all'inizio: al %s; popolazione, stranieri e "
		"famiglie: al %s. Segreto statistico: i conteggi da 1 a %lld persone, e quelli da "
		"cui si potrebbero ricavare, sono indicati con «ris.» (dato riservato); gli "
		"indicatori e la sintesi usano solo i dati pubblicati. L'età media è calcolata "
		"come dall'ISTAT, con ogni anno di età al suo punto centrale. Documento prodotto "
		"da visura dai dati dell'anagrafe.",
		json_string_value(json_object_get(per, "dal")),
		json_string_value(json_object_get(per, "al")),
		json_string_value(json_object_get(d, "inizio")),
		json_string_value(json_object_get(per, "al")),
		(long long)json_integer_value(json_object_get(d, "soglia")) - 1);
}

static void html_table(struct strbuf *h, json_t *t)
{
	strbuf_adds(h, "<h2>");
	strbuf_add_html(h, json_string_value(json_object_get(t, "titolo")));
	strbuf_addf(h, "</h2><table class=\"elenco\" id=\"tavola-%s\"><thead><tr>",
		    json_string_value(json_object_get(t, "id")));
	size_t i, j;
	json_t *x, *row;
	json_array_foreach(json_object_get(t, "colonne"), i, x) {
		strbuf_adds(h, "<th scope=\"col\">");
		strbuf_add_html(h, json_string_value(x));
		strbuf_adds(h, "</th>");
	}
	strbuf_adds(h, "</tr></thead><tbody>");
	json_array_foreach(json_object_get(t, "righe"), i, row) {
		strbuf_adds(h, "<tr>");
		json_array_foreach(row, j, x) {
			char text[BOLLETTINO_CELL_MAX];
			bollettino_cell_text(x, text);
			if (json_is_null(x))
				strbuf_adds(h, "<td class=\"numero\"><abbr title=\"dato riservato\">");
			else
				strbuf_adds(h, !json_is_string(x) ? "<td class=\"numero\">"
					       : j ? "<td>" : "<th scope=\"row\">");
			strbuf_add_html(h, text);
			strbuf_adds(h, json_is_null(x) ? "</abbr></td>" : j ? "</td>" : "</th>");
		}
		strbuf_adds(h, "</tr>");
	}
	strbuf_adds(h, "</tbody></table>");
}

/* The map as inline SVG (no script, no style attribute: the page's CSP). */
static void map_svg(struct strbuf *h, json_t *map, const char *name)
{
	if (!json_is_object(map))
		return;
	strbuf_addf(h, "<h2>Il territorio</h2><figure class=\"mappa\"><svg xmlns=\"http://www.w3.org/2000/svg\" "
		    "viewBox=\"0 0 %.0f %.0f\" width=\"100%%\" role=\"img\" aria-labelledby=\"mappa-titolo\">"
		    "<title id=\"mappa-titolo\">Mappa della provincia: il comune di ",
		    json_number_value(json_object_get(map, "larghezza")),
		    json_number_value(json_object_get(map, "altezza")));
	strbuf_add_html(h, name);
	strbuf_adds(h, " è evidenziato</title>");
	size_t i, j;
	json_t *u, *ring;
	json_array_foreach(json_object_get(map, "comuni"), i, u) {
		bool mine = json_is_true(json_object_get(u, "evidenziato"));
		strbuf_addf(h, "<path fill=\"%s\" stroke=\"#ffffff\" stroke-width=\"0.6\" "
			    "fill-rule=\"evenodd\" d=\"", mine ? "#0066cc" : "#c5d7e8");
		json_array_foreach(json_object_get(u, "anelli"), j, ring) {
			for (size_t p = 0; p + 1 < json_array_size(ring); p += 2)
				strbuf_addf(h, "%s%.1f %.1f", p ? "L" : "M",
					    json_real_value(json_array_get(ring, p)),
					    json_real_value(json_array_get(ring, p + 1)));
			strbuf_adds(h, "Z");
		}
		strbuf_adds(h, "\"><title>");
		strbuf_add_html(h, json_string_value(json_object_get(u, "nome")));
		strbuf_adds(h, "</title></path>");
	}
	strbuf_adds(h, "</svg><figcaption>");
	strbuf_add_html(h, json_string_value(json_object_get(map, "fonte")));
	strbuf_adds(h, "</figcaption></figure>");
}

static char *page(json_t *d, const char *heading, size_t *len)
{
	struct strbuf h;
	strbuf_init(&h, PAGE_MAX);
	const char *name = json_string_value(json_object_get(json_object_get(d, "comune"), "nome"));
	const char *month = json_string_value(json_object_get(d, "nome_mese"));
	strbuf_adds(&h, "<!DOCTYPE html><html lang=\"it\"><head><meta charset=\"utf-8\">"
		    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		    "<title>Bollettino demografico mensile — ");
	strbuf_add_html(&h, name);
	strbuf_adds(&h, ", ");
	strbuf_add_html(&h, month);
	strbuf_adds(&h, "</title><link rel=\"stylesheet\" href=\"/static/print.css\"></head><body>"
		    "<header><img src=\"/static/stemma\" alt=\"Stemma\"><div><p class=\"emittente\">");
	strbuf_add_html(&h, heading);
	strbuf_adds(&h, "</p><h1>Bollettino demografico mensile</h1><p class=\"alla-data\">Comune di ");
	strbuf_add_html(&h, name);
	strbuf_adds(&h, " — ");
	strbuf_add_html(&h, month);
	strbuf_adds(&h, "</p></div></header><main><h2>In sintesi</h2><p class=\"sintesi\">");
	strbuf_add_html(&h, json_string_value(json_object_get(d, "sintesi")));
	strbuf_adds(&h, "</p>");
	map_svg(&h, json_object_get(d, "mappa"), name);
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(d, "tavole"), i, t)
		html_table(&h, t);
	char note[1024];
	bollettino_note(d, note, sizeof note);
	strbuf_adds(&h, "</main><footer><p class=\"nota\">");
	strbuf_add_html(&h, note);
	strbuf_adds(&h, "</p></footer></body></html>\n");
	if (h.err) {
		strbuf_release(&h);
		return NULL;
	}
	return strbuf_detach(&h, len);
}

/* ------------------------------------------------------------ building */

void bollettino_opts_init(struct bollettino_opts *o, const struct config *cfg,
			  const struct web_assets *ui, int today, int64_t now)
{
	*o = (struct bollettino_opts){.threshold = cfg->stats_threshold_min,
				      .heading = cfg->print_heading, .today = today, .now = now,
				      .ui = ui};
}

int bollettino_month_closed(int date)
{
	int y = DATE_YEAR(date), m = DATE_MONTH(date) - 1;
	if (m == 0) {
		y--;
		m = 12;
	}
	return y * 100 + m;
}

/* The period of the month the register covers, or a refusal. */
static vis_err month_period(struct store *s, const char *comune, int mese, int *from, int *to,
			    struct vis_error *e)
{
	int cov_from, cov_to;
	vis_err rc = stats_coverage(s, comune, &cov_from, &cov_to, e);
	if (rc)
		return rc;
	int first = mese * 100 + 1;
	int last = mese * 100 + date_days_in_month(mese / 100, mese % 100);
	if (!cov_from)
		return vis_error_set(e, VIS_ERR_INVALID, "nessuna importazione per il comune %s: il "
				     "registro non copre alcun periodo", comune);
	char df[11], dt[11];
	date_format(cov_from, df);
	date_format(cov_to, dt);
	if (last > cov_to || date_add_days(cov_from, 1) > last)
		return vis_error_set(e, VIS_ERR_INVALID, "il registro copre il comune %s dal %s al %s: "
				     "non tutto il mese %04d-%02d", comune, df, dt, mese / 100,
				     mese % 100);
	/* the flows are known from the day after the first import */
	*from = first > cov_from ? first : date_add_days(cov_from, 1);
	*to = last;
	return VIS_OK;
}

vis_err bollettino_build(struct store *s, const struct refdata *rd, const char *comune, int mese,
			 const struct bollettino_opts *o, struct bollettino_doc *out,
			 struct vis_error *e)
{
	memset(out, 0, sizeof *out);
	const struct ref_comune *rc_ = refdata_comune_by_istat(rd, comune, 0);
	if (!str_digits(comune, 6) || !rc_)
		return vis_error_set(e, VIS_ERR_INVALID, "comune: un codice ISTAT di sei cifre di un "
				     "comune esistente");
	if (mese / 100 < 1900 || mese % 100 < 1 || mese % 100 > 12)
		return vis_error_set(e, VIS_ERR_INVALID, "mese: AAAA-MM");
	/* Every read of the bulletin (its period, its balance and its
	 * tables) in one snapshot, each table joining it: an import
	 * committing between two tables would make the month's end
	 * population and the stocks beside it two states of the register.
	 * The map is drawn from files, not the register. */
	bool began;
	vis_err rc = store_snapshot_join(s, &began, e);
	if (rc)
		return rc;
	int from = 0, to = 0;
	rc = month_period(s, comune, mese, &from, &to, e);
	json_t *bil = NULL, *posas = NULL, *st = NULL, *fam = NULL;
	/* the stocks of the last day: the tables of the first of the next
	 * month, which are the population at its start */
	int next = rc ? 0 : date_add_days(to, 1);
	int thr = o->threshold;
	/* the month's balance as the balance table publishes it: protected
	 * jointly with the province (stats_balance_linked), as the series
	 * and a pool publish it too */
	if (!rc)
		rc = table(s, rd, STATS_BILANCIO, comune, 0, mese, mese, o, &bil, e);
	if (!rc)
		rc = table(s, rd, STATS_POSAS, comune, next, 0, 0, o, &posas, e);
	if (!rc)
		rc = table(s, rd, STATS_STRASA_CITT, comune, next, 0, 0, o, &st, e);
	if (!rc)
		rc = table(s, rd, STATS_FAMIGLIE, comune, next, 0, 0, o, &fam, e);
	store_snapshot_leave(s, began);
	/* the protections computed written to the store, outside the
	 * snapshot (a caller's that holds one flushes after it) */
	if (began)
		stats_cache_flush(o->cache, s);
	if (rc) {
		json_decref(bil);
		json_decref(posas);
		json_decref(st);
		json_decref(fam);
		return rc;
	}
	/* the balance's total row */
	struct totals t;
	json_t *total = json_array_get(json_object_get(bil, "righe"), 2);
	for (int c = 0; c < STATS_B_COLS; c++)
		t.ok[c] = cell(total, (size_t)6 + c, &t.v[c]);
	struct groups g;
	long long foreign = 0, families = 0;
	bool foreign_ok, fam_ok;
	json_t *ages = age_view(posas, &g);
	/* foreign residents: country, men, women, total; households: size, count */
	static const int cit_cols[] = {3, 4, 5, 6}, fam_cols[] = {2, 3};
	json_t *cits = columns_view(st, cit_cols, 4, 2, "999", 6, &foreign, &foreign_ok);
	json_t *hh = columns_view(fam, fam_cols, 2, 2, "Totale", 3, &families, &fam_ok);
	json_t *balance = balance_view(bil);

	/* the indicators, from the published cells above only */
	long long young = g.n[G_YOUNG][2], working = g.n[G_WORKING][2], old = g.n[G_OLD][2];
	long long pop = g.n[G_TOTAL][2];
	bool y_ok = g.ok[G_YOUNG][2], w_ok = g.ok[G_WORKING][2], o_ok = g.ok[G_OLD][2];
	bool p_ok = g.ok[G_TOTAL][2];
	int days = (int)(date_to_days(to) - date_to_days(from) + 1);
	double mean2 = (double)(t.v[0] + t.v[11]);   /* twice the mean population */
	double per_year = 1000.0 * 365.0 / days;
	json_t *ind = json_array();
	json_array_append_new(ind, indicator("foreign_share", "Incidenza degli stranieri",
					     foreign_ok && p_ok && pop > 0,
					     100.0 * (double)foreign / (double)(pop ? pop : 1),
					     "per 100 residenti"));
	json_array_append_new(ind, indicator("old_age_index", "Indice di vecchiaia",
					     o_ok && y_ok && young > 0,
					     100.0 * (double)old / (double)(young ? young : 1),
					     "65 anni e più per 100 sotto i 15"));
	json_array_append_new(ind, indicator("dependency_ratio", "Indice di dipendenza strutturale",
					     y_ok && o_ok && w_ok && working > 0,
					     100.0 * (double)(young + old) / (double)(working ? working : 1),
					     "sotto i 15 e 65 e più per 100 tra 15 e 64 anni"));
	json_array_append_new(ind, indicator("old_age_dependency_ratio",
					     "Indice di dipendenza degli anziani",
					     o_ok && w_ok && working > 0,
					     100.0 * (double)old / (double)(working ? working : 1),
					     "65 e più per 100 tra 15 e 64 anni"));
	json_array_append_new(ind, indicator("average_age", "Età media", g.age_ok && p_ok && pop > 0,
					     (double)g.age_sum2 / 2.0 / (double)(pop ? pop : 1),
					     "anni"));
	static const struct { const char *id, *name; int col; } rates[] = {
		{"crude_birth_rate", "Tasso di natalità", 1},
		{"crude_death_rate", "Tasso di mortalità", 2},
		{"natural_growth_rate", "Tasso di crescita naturale", 3},
		{"migratory_rate", "Tasso migratorio", 10},
	};
	for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
		int c = rates[i].col;
		bool ok = t.ok[c] && t.ok[0] && t.ok[11] && mean2 > 0;
		json_array_append_new(ind, indicator(rates[i].id, rates[i].name, ok,
						     2.0 * (double)t.v[c] * per_year / (mean2 > 0 ? mean2 : 1),
						     "per 1.000 residenti all'anno"));
	}

	char name[STATS_LABEL_MAX], code[STATS_LABEL_MAX], dal[11], al[11], start[11], mm[8],
		nm[32];
	stats_territory(rd, comune, to, code, name);
	date_format(from, dal);
	date_format(to, al);
	int start_day = date_add_days(from, -1);
	date_format(start_day, start);
	snprintf(mm, sizeof mm, "%04d-%02d", (mese / 100) % 10000, mese % 100);
	/* a month's name and a year */
	STR_FMT_KNOWN(nm, "%s %d", mesi[mese % 100 - 1], (mese / 100) % 10000);
	char *text = summary(name, to, start_day, &t, foreign_ok, foreign, fam_ok, families, ind);

	json_t *ind_rows = json_array();
	size_t i;
	json_t *x;
	json_array_foreach(ind, i, x)
		json_array_append_new(ind_rows, json_pack("[OOO]", json_object_get(x, "nome"),
							  json_object_get(x, "valore"),
							  json_object_get(x, "unita")));
	char bal_title[96];
	/* two dates of 10 bytes */
	STR_FMT_KNOWN(bal_title, "Bilancio demografico dal %s al %s", dal, al);
	json_t *tavole = json_pack(
		"[oooo]",
		table_json("bilancio", bal_title, json_pack("[ssss]", "Voce", "Maschi", "Femmine",
							    "Totale"), balance),
		table_json("popolazione", "Popolazione residente per sesso e classe di età",
			   json_pack("[ssss]", "Classe di età", "Maschi", "Femmine", "Totale"), ages),
		table_json("stranieri", "Cittadini stranieri residenti per cittadinanza e sesso",
			   json_pack("[ssss]", "Paese di cittadinanza", "Maschi", "Femmine", "Totale"),
			   cits),
		table_json("famiglie", "Famiglie per numero di componenti",
			   json_pack("[ss]", "Numero di componenti", "Famiglie"), hh));
	json_array_append_new(tavole, table_json("indicatori", "Indicatori",
						 json_pack("[sss]", "Indicatore", "Valore", "Unità"),
						 ind_rows));
	json_decref(bil);
	json_decref(posas);
	json_decref(st);
	json_decref(fam);
	if (!text) {
		json_decref(tavole);
		json_decref(ind);
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	json_t *map = bollettino_map(o->ui, comune);
	out->data = json_pack("{s:{s:s,s:s},s:s,s:s,s:{s:s,s:s},s:s,s:i,s:s,s:o,s:o,s:o}", "comune",
			      "codice", comune, "nome", name, "mese", mm, "nome_mese", nm, "periodo",
			      "dal", dal, "al", al, "inizio", start, "soglia", thr, "sintesi", text,
			      "tavole", tavole, "indicatori", ind, "mappa", map ? map : json_null());
	free(text);
	if (!out->data)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	const char *heading = o->heading ? o->heading : "";
	out->html = page(out->data, heading, &out->html_len);
	if (!out->html) {
		bollettino_doc_release(out);
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	if ((rc = bollettino_pdf(out->data, heading, o->now, &out->pdf, &out->pdf_len, e)))
		bollettino_doc_release(out);
	return rc;
}

void bollettino_doc_release(struct bollettino_doc *d)
{
	json_decref(d->data);
	free(d->html);
	free(d->pdf);
	memset(d, 0, sizeof *d);
}

/* ------------------------------------------------------------ the archive */

/* A month built for the archive: its row (the current rule), its page and
 * its PDF in base64 (*html, *b64 the caller's). */
static vis_err render(struct store *s, const struct refdata *rd, const char *comune, int mese,
		      const struct bollettino_opts *o, struct store_bollettino *b, char **html,
		      char **b64, struct vis_error *e)
{
	*html = *b64 = NULL;
	struct bollettino_doc d;
	vis_err rc = bollettino_build(s, rd, comune, mese, o, &d, e);
	if (rc)
		return rc;
	memset(b, 0, sizeof *b);
	b->mese = mese;
	b->generated_at = o->now;
	b->regola = STATS_PROTECTION_RULE;
	b->soglia = o->threshold;
	str_copy_known(b->comune, sizeof b->comune, comune, __FILE__, __LINE__);
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, d.pdf, d.pdf_len);
	sodium_bin2hex(b->sha256, sizeof b->sha256, h, sizeof h);
	size_t n = sodium_base64_encoded_len(d.pdf_len, sodium_base64_VARIANT_ORIGINAL);
	*b64 = malloc(n);
	if (!*b64) {
		bollettino_doc_release(&d);
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	sodium_bin2base64(*b64, n, d.pdf, d.pdf_len, sodium_base64_VARIANT_ORIGINAL);
	*html = d.html;
	d.html = NULL;
	bollettino_doc_release(&d);
	return VIS_OK;
}

vis_err bollettino_publish(struct store *s, const struct refdata *rd, const char *comune,
			   int mese, const struct bollettino_opts *o, bool *stored, char *sha256,
			   struct vis_error *e)
{
	*stored = false;
	struct store_bollettino b;
	char *html, *b64;
	vis_err rc = render(s, rd, comune, mese, o, &b, &html, &b64, e);
	if (!rc)
		rc = store_bollettino_put(s, &b, html, b64, stored, e);
	free(html);
	free(b64);
	if (!rc && sha256)
		memcpy(sha256, b.sha256, sizeof b.sha256);
	return rc;
}

bool bollettino_current(const struct store_bollettino *b, int threshold)
{
	return b->regola == STATS_PROTECTION_RULE && b->soglia == threshold;
}

void bollettino_withdrawn_note(const struct store_bollettino *b, int threshold,
			       char note[BOLLETTINO_NOTE_MAX])
{
	if (b->regola != STATS_PROTECTION_RULE) {
		snprintf(note, BOLLETTINO_NOTE_MAX,
			 "ritirato: protetto con una regola di riservatezza precedente; accostato "
			 "al bollettino dello stesso mese protetto con la regola attuale potrebbe "
			 "rivelare celle nascoste. L'ufficio lo rigenera con la regola attuale");
		return;
	}
	char was[48];
	if (b->soglia > 0)
		snprintf(was, sizeof was, "con la soglia %d", b->soglia);
	else
		STR_COPY_KNOWN(was, "con una soglia non registrata");
	STR_FMT_KNOWN_CAP(
		note, BOLLETTINO_NOTE_MAX,
		"ritirato: fatto %s, mentre la configurazione ora fissa la soglia %d "
		"(stats_threshold_min); con un'altra soglia le stesse tavole nascondono altre "
		"celle, e accostato al bollettino dello stesso mese fatto con la soglia attuale "
		"potrebbe rivelare celle nascoste. L'ufficio lo rigenera con la soglia attuale",
		was, threshold); /* was[48] + 300 < BOLLETTINO_NOTE_MAX */
}

/* The withdrawn bulletins to regenerate. */
struct withdrawn {
	int mese, threshold;
	struct bollettino_regen *v;
	int n, cap;
	bool nomem;
};

static int add_withdrawn(void *ctx, const struct store_bollettino *b)
{
	struct withdrawn *w = ctx;
	if (bollettino_current(b, w->threshold) || (w->mese && b->mese != w->mese))
		return 0;
	if (w->n == w->cap) {
		int cap = w->cap ? w->cap * 2 : 16;
		void *p = realloc(w->v, (size_t)cap * sizeof *w->v);
		if (!p) {
			w->nomem = true;
			return 1;
		}
		w->v = p;
		w->cap = cap;
	}
	struct bollettino_regen *r = &w->v[w->n++];
	memset(r, 0, sizeof *r);
	memcpy(r->comune, b->comune, sizeof r->comune);
	r->mese = b->mese;
	r->was = b->regola;
	r->was_soglia = b->soglia;
	return 0;
}

/* One withdrawn bulletin made again and put in its place, its event
 * recorded; r->done false with r->why when it cannot be built. */
static vis_err regenerate_one(struct store *s, const struct refdata *rd,
			      const struct bollettino_opts *o, const struct bollettino_actor *by,
			      struct bollettino_regen *r, struct vis_error *e)
{
	struct store_bollettino b;
	char *html, *b64;
	struct vis_error why = {0};
	vis_err rc = render(s, rd, r->comune, r->mese, o, &b, &html, &b64, &why);
	if (rc == VIS_ERR_INVALID) {
		/* the register no longer covers the month: it stays withdrawn */
		str_copy_cut(r->why, sizeof r->why, why.msg);
		return VIS_OK;
	}
	if (rc) {
		*e = why;
		return rc;
	}
	bool replaced;
	rc = store_bollettino_replace(s, &b, html, b64, o->now, &replaced, e);
	free(html);
	free(b64);
	if (rc)
		return rc;
	if (!replaced) {
		STR_COPY_KNOWN(r->why, "rigenerato nel frattempo da un'altra istanza");
		return VIS_OK;
	}
	r->done = true;
	memcpy(r->sha256, b.sha256, sizeof r->sha256);
	/* the operations' log (security events): who, which, under which rules */
	struct store_security_event ev = {.at = o->now};
	STR_COPY_KNOWN(ev.kind, "bulletin_regenerated");
	if (by && by->account) {
		ev.account_id = by->account->id;
		ev.ente_id = by->account->ente_id;
		STR_COPY_KNOWN(ev.username, by->account->username);
	}
	if (by && by->ip)
		STR_COPY_KNOWN(ev.ip, by->ip); /* http_request's ip has the same size */
	/* comune[7], numbers, a way's name, %.16s */
	STR_FMT_KNOWN(ev.detail,
		      "%s %04d-%02d regola %d -> %d, soglia %d -> %d (%s), PDF sha256 %.16s",
		      r->comune, r->mese / 100, r->mese % 100, r->was, STATS_PROTECTION_RULE,
		      r->was_soglia, b.soglia, by && by->via ? by->via : "pianificatore", b.sha256);
	log_info("bollettino rigenerato",
		 "comune=%s month=%d rule=%d was=%d threshold=%d was_threshold=%d sha256=%s",
		 r->comune, r->mese, STATS_PROTECTION_RULE, r->was, b.soglia, r->was_soglia,
		 b.sha256);
	return store_security_event_insert(s, &ev, NULL, e);
}

vis_err bollettino_regenerate(struct store *s, const struct refdata *rd, const char *comune,
			      int mese, const struct bollettino_opts *o,
			      const struct bollettino_actor *by, struct bollettino_regen **out,
			      int *n, struct vis_error *e)
{
	*out = NULL;
	*n = 0;
	struct withdrawn w = {.mese = mese, .threshold = o->threshold};
	vis_err rc = store_bollettino_each(s, comune ? comune : "", add_withdrawn, &w, e);
	if (!rc && w.nomem)
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	for (int i = 0; !rc && i < w.n; i++)
		rc = regenerate_one(s, rd, o, by, &w.v[i], e);
	if (rc) {
		free(w.v);
		return rc;
	}
	*out = w.v;
	*n = w.n;
	return VIS_OK;
}

vis_err bollettino_verify(struct store *s, const struct refdata *rd, const char *comune, int mese,
			  const struct bollettino_opts *o, struct bollettino_check *out,
			  struct vis_error *e)
{
	memset(out, 0, sizeof *out);
	struct store_bollettino b;
	char *html = NULL, *pdf64 = NULL;
	bool found;
	vis_err rc = store_bollettino_get(s, comune, mese, &b, &html, &pdf64, &found, e);
	free(html);
	free(pdf64);
	if (rc)
		return rc;
	if (!found)
		return vis_error_set(e, VIS_ERR_NOTFOUND,
				     "il bollettino di %s del %04d-%02d non è in archivio", comune,
				     mese / 100, mese % 100);
	if (!bollettino_current(&b, o->threshold))
		return vis_error_set(e, VIS_ERR_CONFLICT,
				     "il bollettino di %s del %04d-%02d è ritirato: fu protetto con "
				     "la regola %d e la soglia %d (ora la regola %d e la soglia %d) e "
				     "non si rifà uguale; si rigenera con visura stats regenerate",
				     comune, mese / 100, mese % 100, b.regola, b.soglia,
				     STATS_PROTECTION_RULE, o->threshold);
	memcpy(out->archived, b.sha256, sizeof out->archived);
	/* rendered again as of the archived generation */
	struct bollettino_opts again = *o;
	again.now = b.generated_at;
	struct bollettino_doc d;
	if ((rc = bollettino_build(s, rd, comune, mese, &again, &d, e)))
		return rc;
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, d.pdf, d.pdf_len);
	sodium_bin2hex(out->fresh, sizeof out->fresh, h, sizeof h);
	out->same = !strcmp(out->fresh, out->archived);
	out->pdf = d.pdf;
	out->pdf_len = d.pdf_len;
	d.pdf = NULL;
	bollettino_doc_release(&d);
	return VIS_OK;
}

struct due {
	char (*comuni)[7];
	int n, cap;
};

static int add_enabled(void *ctx, const char *comune, int64_t since)
{
	(void)since;
	struct due *d = ctx;
	if (d->n == d->cap) {
		int cap = d->cap ? d->cap * 2 : 16;
		void *p = realloc(d->comuni, (size_t)cap * sizeof *d->comuni);
		if (!p)
			return 1;
		d->comuni = p;
		d->cap = cap;
	}
	str_copy_known(d->comuni[d->n++], sizeof d->comuni[0], comune, __FILE__, __LINE__);
	return 0;
}

int bollettino_due(struct store *s, const struct refdata *rd, const struct bollettino_opts *o,
		   struct vis_error *e)
{
	/* a bulletin that cannot be built is said once per process, not every tick */
	static char failed[16];
	int mese = bollettino_month_closed(o->today), made = 0;
	struct due d = {0};
	if (store_bollettino_comune_each(s, add_enabled, &d, e)) {
		free(d.comuni);
		return -1;
	}
	for (int i = 0; i < d.n; i++) {
		bool found, stored;
		int from, to;
		struct vis_error why = {0};
		if (store_bollettino_has(s, d.comuni[i], mese, &found, e)) {
			made = -1;
			break;
		}
		/* not until the register covers the whole month */
		if (found || month_period(s, d.comuni[i], mese, &from, &to, &why))
			continue;
		char key[16], sha[65];
		/* comune of 6 + 8 < 16 */
		STR_FMT_KNOWN(key, "%s-%06d", d.comuni[i], mese % 1000000);
		if (bollettino_publish(s, rd, d.comuni[i], mese, o, &stored, sha, &why)) {
			if (why.code == VIS_ERR_BUSY && stop_now(&o->stop)) {
				*e = why;   /* the server stops: no other is begun */
				made = -1;
				break;
			}
			if (strcmp(failed, key))
				log_warn("bollettino non prodotto",
					 "comune=%s month=%d error=\"%s\"",
					 d.comuni[i], mese, why.msg);
			memcpy(failed, key, sizeof failed);
			continue;
		}
		if (stored) {
			made++;
			log_info("bollettino archiviato",
				 "comune=%s month=%d sha256=%s", d.comuni[i], mese, sha);
			/* the monthly run also makes again, under the current
			 * rule, the municipality's bulletins of an earlier one
			 * still covered by the register (those not are left
			 * withdrawn) */
			struct bollettino_regen *rg;
			int nr;
			if (bollettino_regenerate(s, rd, d.comuni[i], 0, o, NULL, &rg, &nr, e)) {
				made = -1;
				break;
			}
			for (int k = 0; k < nr; k++)
				if (!rg[k].done)
					log_warn("bollettino non rigenerato",
						 "comune=%s month=%d error=\"%s\"", rg[k].comune,
						 rg[k].mese, rg[k].why);
			free(rg);
		}
	}
	free(d.comuni);
	return made;
}

bool bollettino_may_read(const char *role, const struct store_ente *en, const char *comune)
{
	if (!strcmp(role, "admin") || !strcmp(role, "auditor"))
		return true;
	return en && !strcmp(en->kind, "municipality") && !strcmp(en->state, "active") &&
	       en->comune[0] && !strcmp(en->comune, comune);
}
