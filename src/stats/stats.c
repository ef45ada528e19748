#include "stats/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "common/str.h"
#include "refdata/refdata.h"
#include "stats/tables.h"

#define MAX_AGE 120
#define MAX_SIZE 12          /* households of 12 or more in the last cell */
#define MAX_STATES 64        /* citizenship by country: distinct states kept */

void stats_suppress(long long *cells, int n, int threshold)
{
	int suppressed = 0;
	for (int i = 0; i < n; i++)
		if (cells[i] > 0 && cells[i] < threshold) {
			cells[i] = -1;
			suppressed++;
		}
	if (suppressed != 1)
		return;
	/* One hidden cell and a published total would give it away. */
	int best = -1;
	for (int i = 0; i < n; i++)
		if (cells[i] > 0 && (best < 0 || cells[i] < cells[best]))
			best = i;
	if (best >= 0)
		cells[best] = -1;
}

vis_err stats_threshold_check(int threshold, int floor, struct vis_error *e)
{
	if (threshold < floor)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "la soglia %d è sotto il minimo di %d fissato dalla configurazione "
				     "(stats_threshold_min): celle più piccole identificherebbero persone",
				     threshold, floor);
	if (threshold > 1000)
		return vis_error_set(e, VIS_ERR_INVALID, "la soglia è al massimo 1000");
	return VIS_OK;
}

struct family_count {
	char key[28];         /* comune + family id */
	int members;
};

struct acc {
	const struct stats_query *q;
	const struct refdata *rd;
	int on;
	long long age_sex[2][MAX_AGE + 1];
	long long total, male, female, age_sum;
	long long italian, eu, non_eu;
	struct { char code[4]; long long n; } states[MAX_STATES];
	int nstates;
	long long other_states;
	long long civil[10];
	struct family_count *fam;
	size_t nfam, capfam;
	bool oom;
};

bool stats_covered(const char *comuni, const char *comune)
{
	if (!comuni[0])
		return true;
	size_t n = strlen(comune);
	for (const char *p = comuni; (p = strstr(p, comune)); p += n)
		if ((p == comuni || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

static int add_person(void *ctx, const struct store_person *p)
{
	struct acc *a = ctx;
	if (!stats_covered(a->q->comuni, p->comune))
		return 0;
	/* Residents on the date: registered by then, not cancelled by then. */
	if (p->reg_date > a->on || (p->canc_reason && p->canc_date <= a->on))
		return 0;
	int age = date_age(p->birth_date, a->on);
	if (age < 0)
		return 0;
	if (age > MAX_AGE)
		age = MAX_AGE;
	int sex = p->sex == 'M';
	a->age_sex[sex][age]++;
	a->total++;
	a->age_sum += age;
	if (sex)
		a->male++;
	else
		a->female++;
	/* Citizenship: the first listed state is the one counted. */
	char first[4] = "";
	snprintf(first, sizeof first, "%.3s", p->citizenships);
	const struct ref_stato *st = refdata_stato_by_istat(a->rd, first);
	if (strstr(p->citizenships, "100"))
		a->italian++;
	else if (st && st->eu)
		a->eu++;
	else
		a->non_eu++;
	if (!strstr(p->citizenships, "100")) {
		int i = 0;
		while (i < a->nstates && strcmp(a->states[i].code, first))
			i++;
		if (i < a->nstates)
			a->states[i].n++;
		else if (a->nstates < MAX_STATES) {
			/* a state code is 3 digits (ANPR citizenship table) */
			str_copy_known(a->states[a->nstates].code, 4, first, __FILE__, __LINE__);
			a->states[a->nstates++].n = 1;
		} else
			a->other_states++;
	}
	if (p->civil_status >= 1 && p->civil_status <= 9)
		a->civil[p->civil_status]++;
	if (p->family_id[0]) {
		if (a->nfam == a->capfam) {
			size_t cap = a->capfam ? a->capfam * 2 : 4096;
			struct family_count *f = realloc(a->fam, cap * sizeof *f);
			if (!f) {
				a->oom = true;
				return 1;
			}
			a->fam = f;
			a->capfam = cap;
		}
		snprintf(a->fam[a->nfam].key, sizeof a->fam[0].key, "%s:%s", p->comune, p->family_id);
		a->fam[a->nfam++].members = 1;
	}
	return 0;
}

static int cmp_key(const void *x, const void *y)
{
	return strcmp(((const struct family_count *)x)->key, ((const struct family_count *)y)->key);
}

/* A published count: null when suppressed. */
static json_t *cell(long long v)
{
	return v < 0 ? json_null() : json_integer(v);
}

static json_t *table(const char *const *keys, long long *cells, int n, int threshold)
{
	stats_suppress(cells, n, threshold);
	json_t *t = json_object();
	for (int i = 0; i < n; i++)
		json_object_set_new(t, keys[i], cell(cells[i]));
	return t;
}

struct ev {
	const struct stats_query *q;
	json_t *months;       /* "YYYY-MM" -> {type: count} */
	long long births, deaths, immigrations, emigrations;
};

static int add_event(void *ctx, const char *comune, const char *type, int date)
{
	struct ev *v = ctx;
	if (!stats_covered(v->q->comuni, comune))
		return 0;
	char month[16];
	snprintf(month, sizeof month, "%04u-%02u", (unsigned)DATE_YEAR(date) % 10000u,
		 (unsigned)DATE_MONTH(date) % 100u);
	json_t *m = json_object_get(v->months, month);
	if (!m) {
		m = json_object();
		json_object_set_new(v->months, month, m);
	}
	json_t *c = json_object_get(m, type);
	json_object_set_new(m, type, json_integer(c ? json_integer_value(c) + 1 : 1));
	v->births += !strcmp(type, "NASCITA");
	v->deaths += !strcmp(type, "DECESSO");
	v->immigrations += !strcmp(type, "IMMIGRAZIONE");
	v->emigrations += !strcmp(type, "EMIGRAZIONE");
	return 0;
}

static json_t *ratio(long long num, long long den, double scale)
{
	return den > 0 ? json_real((double)num * scale / (double)den) : json_null();
}

vis_err stats_compute(struct store *s, const struct refdata *rd, const struct stats_query *q,
		      int today, json_t **out, struct vis_error *e)
{
	int threshold = q->threshold > 0 ? q->threshold : 3;
	int step = q->age_step > 0 && q->age_step <= 50 ? q->age_step : 5;
	struct acc *a = calloc(1, sizeof *a);
	if (!a)
		return vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
	a->q = q;
	a->rd = rd;
	a->on = q->as_of ? q->as_of : today;
	/* One municipality: let the store filter; several: filter here. */
	const char *one = q->comuni[0] && !strchr(q->comuni, ',') ? q->comuni : "";
	vis_err rc = store_person_each_at(s, one, a->on, add_person, a, e);
	if (rc == VIS_OK && a->oom)
		rc = vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
	if (rc) {
		free(a->fam);
		free(a);
		return rc;
	}
	json_t *doc = json_object();
	char d[11];
	date_format(a->on, d);
	json_object_set_new(doc, "as_of", json_string(d));
	json_object_set_new(doc, "threshold", json_integer(threshold));

	/* Age pyramid: classes of `step` years by sex. */
	int nclasses = (100 + step - 1) / step + 1;
	json_t *pyr = json_array();
	long long *m = calloc((size_t)nclasses, sizeof *m), *f = calloc((size_t)nclasses, sizeof *f);
	for (int age = 0; age <= MAX_AGE && m && f; age++) {
		int c = age >= 100 ? nclasses - 1 : age / step;
		m[c] += a->age_sex[1][age];
		f[c] += a->age_sex[0][age];
	}
	if (m && f) {
		/* Suppress per sex (each a published column with its total). */
		stats_suppress(m, nclasses, threshold);
		stats_suppress(f, nclasses, threshold);
		for (int c = 0; c < nclasses; c++) {
			char label[16];
			if (c == nclasses - 1)
				snprintf(label, sizeof label, "100+");
			else
				snprintf(label, sizeof label, "%d-%d", c * step,
					 c * step + step - 1 < 99 ? c * step + step - 1 : 99);
			json_array_append_new(pyr, json_pack("{s:s,s:o,s:o}", "age", label,
							     "male", cell(m[c]), "female", cell(f[c])));
		}
	}
	free(m);
	free(f);
	json_object_set_new(doc, "population", json_pack("{s:I,s:I,s:I}", "total",
				(json_int_t)a->total, "male", (json_int_t)a->male, "female",
				(json_int_t)a->female));
	json_object_set_new(doc, "age_sex", pyr);

	static const char *const cz_keys[] = {"italian", "eu", "non_eu"};
	long long cz[3] = {a->italian, a->eu, a->non_eu};
	json_object_set_new(doc, "citizenship", table(cz_keys, cz, 3, threshold));
	{
		long long *cells = calloc((size_t)a->nstates + 1, sizeof *cells);
		const char **keys = calloc((size_t)a->nstates + 1, sizeof *keys);
		char (*names)[64] = calloc((size_t)a->nstates + 1, sizeof *names);
		if (cells && keys && names) {
			for (int i = 0; i < a->nstates; i++) {
				const struct ref_stato *st = refdata_stato_by_istat(rd, a->states[i].code);
				/* A country's name is a key of the table: one that does
				 * not fit its cell is a bug of the reference data. */
				STR_COPY_KNOWN(names[i], st ? st->name : a->states[i].code);
				keys[i] = names[i];
				cells[i] = a->states[i].n;
			}
			keys[a->nstates] = "OTHER";
			cells[a->nstates] = a->other_states;
			json_object_set_new(doc, "foreign_by_country",
					    table(keys, cells, a->nstates + 1, threshold));
		}
		free(cells);
		free(keys);
		free(names);
	}
	static const char *const cs_keys[] = {"celibe_nubile", "coniugato", "vedovo", "divorziato",
					      "unito_civilmente", "libero_decesso_unito",
					      "libero_scioglimento", "non_classificabile"};
	long long cs[8] = {a->civil[1], a->civil[2], a->civil[3], a->civil[4], a->civil[6],
			   a->civil[7], a->civil[8], a->civil[9]};
	json_object_set_new(doc, "civil_status", table(cs_keys, cs, 8, threshold));

	/* Households by size: count the members of each household. */
	if (a->nfam)
		qsort(a->fam, a->nfam, sizeof *a->fam, cmp_key);
	long long sizes[MAX_SIZE] = {0};
	long long households = 0;
	for (size_t i = 0; i < a->nfam;) {
		size_t j = i;
		while (j < a->nfam && !strcmp(a->fam[j].key, a->fam[i].key))
			j++;
		size_t n = j - i;
		sizes[(n > MAX_SIZE ? MAX_SIZE : n) - 1]++;
		households++;
		i = j;
	}
	static const char *const hs_keys[MAX_SIZE] = {"1", "2", "3", "4", "5", "6", "7", "8", "9",
						      "10", "11", "12+"};
	json_object_set_new(doc, "households", json_pack("{s:I,s:o}", "total", (json_int_t)households,
				"by_size", table(hs_keys, sizes, MAX_SIZE, threshold)));

	/* Events per month over a year (default: the year up to the date),
	 * within the period the register covers: the day after the first
	 * import to the last one.  Before it the register knows no event. */
	struct ev v = {.q = q, .months = json_object()};
	int to = q->events_to ? q->events_to : a->on;
	int from = q->events_from ? q->events_from : date_add_days(to, -364);
	int cov_from = 0, cov_to = 0;
	rc = stats_coverage(s, q->comuni, &cov_from, &cov_to, e);
	if (!rc && cov_from) {
		if (from <= cov_from)
			from = date_add_days(cov_from, 1);
		if (to > cov_to)
			to = cov_to;
	}
	bool window = cov_from && from <= to;
	if (!rc && window)
		rc = store_event_each(s, one, from, to, add_event, &v, e);
	if (rc) {
		json_decref(v.months);
		json_decref(doc);
		free(a->fam);
		free(a);
		return rc;
	}
	/* Each month's counts are small: suppress them too. */
	const char *month;
	json_t *counts;
	json_object_foreach(v.months, month, counts) {
		const char *type;
		json_t *n;
		long long cells[16];
		const char *keys[16];
		int k = 0;
		json_object_foreach(counts, type, n) {
			if (k < 16) {
				keys[k] = type;
				cells[k++] = json_integer_value(n);
			}
		}
		stats_suppress(cells, k, threshold);
		for (int i = 0; i < k; i++)
			json_object_set_new(counts, keys[i], cell(cells[i]));
	}
	char df[11], dt[11];
	date_format(window ? from : a->on, df);
	date_format(window ? to : a->on, dt);
	int days = window ? (int)(date_to_days(to) - date_to_days(from) + 1) : 0;
	json_object_set_new(doc, "events", json_pack("{s:s,s:s,s:i,s:o}", "from", df, "to", dt,
						     "days", days, "by_month", v.months));

	/* Indicators (over the whole population: totals, not cells); the
	 * crude rates are per 1,000 residents per year over the days of the
	 * events window actually covered by the register (stated in
	 * "events": from, to, days); none without a covered day. */
	double year_share = days ? 365.0 / (double)days : 0;
	long long young = 0, old = 0, working = 0;
	for (int age = 0; age <= MAX_AGE; age++) {
		long long n = a->age_sex[0][age] + a->age_sex[1][age];
		if (age < 15)
			young += n;
		else if (age >= 65)
			old += n;
		else
			working += n;
	}
	json_object_set_new(doc, "indicators", json_pack(
		"{s:o,s:o,s:o,s:o,s:o,s:I,s:I,s:o,s:o}",
		"old_age_index", ratio(old, young, 100),
		"dependency_ratio", ratio(young + old, working, 100),
		"youth_dependency_ratio", ratio(young, working, 100),
		"old_age_dependency_ratio", ratio(old, working, 100),
		"average_age", ratio(a->age_sum, a->total, 1),
		"natural_balance", (json_int_t)(v.births - v.deaths),
		"migratory_balance", (json_int_t)(v.immigrations - v.emigrations),
		"crude_birth_rate", days ? ratio(v.births, a->total, 1000 * year_share) : json_null(),
		"crude_death_rate", days ? ratio(v.deaths, a->total, 1000 * year_share) : json_null()));
	free(a->fam);
	free(a);
	*out = doc;
	return VIS_OK;
}

/* The statistics are a few thousand cells: far below this. */
#define STATS_CSV_MAX (16u << 20)

/* Writes the leaves of v as "path","value" rows; false when a path does
 * not fit its buffer (the caller then gives no CSV rather than a cut one). */
static bool csv_walk(json_t *v, const char *path, struct strbuf *sb)
{
	char p[256];
	int n;
	if (json_is_object(v)) {
		const char *k;
		json_t *x;
		json_object_foreach(v, k, x) {
			n = snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", k);
			if (n < 0 || (size_t)n >= sizeof p || !csv_walk(x, p, sb))
				return false;
		}
		return true;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) {
			json_t *label = json_object_get(x, "age");
			if (json_is_string(label))
				n = snprintf(p, sizeof p, "%s.%s", path, json_string_value(label));
			else
				n = snprintf(p, sizeof p, "%s.%zu", path, i);
			if (n < 0 || (size_t)n >= sizeof p)
				return false;
			json_t *copy = json_deep_copy(x);
			json_object_del(copy, "age");
			bool ok = csv_walk(copy, p, sb);
			json_decref(copy);
			if (!ok)
				return false;
		}
		return true;
	}
	char val[64];
	const char *text = val;
	if (json_is_integer(v))
		snprintf(val, sizeof val, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(val, sizeof val, "%.4f", json_real_value(v));
	else if (json_is_string(v))
		text = json_string_value(v);
	else
		text = json_is_null(v) ? "suppressed" : "";
	strbuf_add_csv(sb, path, false);
	return strbuf_add_csv(sb, text, true) == VIS_OK;
}

char *stats_to_csv(json_t *doc)
{
	struct strbuf sb;
	strbuf_init(&sb, STATS_CSV_MAX);
	strbuf_adds(&sb, "key,value\n");
	if (!csv_walk(doc, "", &sb))
		strbuf_release(&sb);
	return sb.len ? strbuf_detach(&sb, NULL) : NULL;
}
