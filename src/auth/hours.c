#include "auth/hours.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"

/* Instants are clamped to 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z so
 * that the arithmetic below cannot overflow on absurd input. */
#define T_MIN (-62135596800LL)
#define T_MAX 253402300799LL

static const char *const day_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* ---- calendar ---------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* 0 = Monday; 1970-01-01 was a Thursday. */
static int weekday_of_days(int64_t days)
{
	int64_t w = (days + 3) % 7;
	return (int)(w < 0 ? w + 7 : w);
}

/* Days since the epoch of the last Sunday of month m (March or October). */
static int64_t last_sunday(int year, int month)
{
	int64_t last = date_to_days(DATE_MAKE(year, month, date_days_in_month(year, month)));
	return last - (weekday_of_days(last) + 1) % 7;
}

/* Europe/Rome: CET (UTC+1), and CEST (UTC+2) from 01:00 UTC on the last
 * Sunday of March to 01:00 UTC on the last Sunday of October (the EU rule,
 * directive 2000/84/EC, in force in Italy since 1996; earlier instants are
 * computed with the same rule).  Pure arithmetic: no TZ, no tzdata. */
static int rome_offset(int64_t t)
{
	int year = DATE_YEAR(date_from_days(floor_div(t, 86400)));
	int64_t start = last_sunday(year, 3) * 86400 + 3600;
	int64_t end = last_sunday(year, 10) * 86400 + 3600;
	return t >= start && t < end ? 7200 : 3600;
}

void hours_local(int64_t t, int *date, int *minute, int *weekday)
{
	if (t < T_MIN)
		t = T_MIN;
	if (t > T_MAX)
		t = T_MAX;
	int64_t local = t + rome_offset(t);
	int64_t days = floor_div(local, 86400);
	if (date)
		*date = date_from_days(days);
	if (minute)
		*minute = (int)((local - days * 86400) / 60);
	if (weekday)
		*weekday = weekday_of_days(days);
}

/* Gregorian Easter Sunday (anonymous algorithm, Meeus/Jones/Butcher). */
static int easter_sunday(int y)
{
	int a = y % 19, b = y / 100, c = y % 100;
	int d = b / 4, e = b % 4, f = (b + 8) / 25, g = (b - f + 1) / 3;
	int h = (19 * a + b - d - g + 15) % 30;
	int i = c / 4, k = c % 4;
	int l = (32 + 2 * e + 2 * i - h - k) % 7;
	int m = (a + 11 * h + 22 * l) / 451;
	int month = (h + l - 7 * m + 114) / 31;
	int day = (h + l - 7 * m + 114) % 31 + 1;
	return DATE_MAKE(y, month, day);
}

/* Legge 27 maggio 1949 n. 260, art. 2, as amended: the fixed days, Easter
 * Sunday and Monday, and 4 October (San Francesco d'Assisi, national holiday
 * again from 2026, legge 1 ottobre 2025 n. 151).  Ordinary Sundays are not
 * listed: the schedule decides about them. */
bool hours_is_national_holiday(int date)
{
	int y = DATE_YEAR(date), m = DATE_MONTH(date), d = DATE_DAY(date);
	if (!date_valid(y, m, d))
		return false;
	static const int fixed[] = {101, 106, 425, 501, 602, 815, 1101, 1208, 1225, 1226};
	int md = m * 100 + d;
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		if (fixed[i] == md)
			return true;
	if (md == 1004 && y >= 2026)
		return true;
	int easter = easter_sunday(y);
	return date == easter || date == date_add_days(easter, 1);
}

bool hours_allows(const struct hours_schedule *s, int64_t t)
{
	if (!s)
		return false;
	if (s->always)
		return true;
	int date, minute, wd;
	hours_local(t, &date, &minute, &wd);
	int nclosed = s->nclosed < 0 ? 0 : s->nclosed > HOURS_MAX_CLOSED ? HOURS_MAX_CLOSED : s->nclosed;
	for (int i = 0; i < nclosed; i++)
		if (s->closed[i] == date)
			return false;
	if (!s->holidays_open && hours_is_national_holiday(date))
		return false;
	int n = s->nranges[wd];
	if (n > HOURS_MAX_RANGES)
		n = HOURS_MAX_RANGES;
	for (int i = 0; i < n; i++)
		if (minute >= s->day[wd][i].start && minute < s->day[wd][i].end)
			return true;
	return false;
}

/* ---- parsing ----------------------------------------------------------- */

struct tok {
	const char *p;
	size_t len;
	int index;      /* 1-based position in the spec */
};

static vis_err bad(struct vis_error *e, const struct tok *t, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static vis_err bad(struct vis_error *e, const struct tok *t, const char *fmt, ...)
{
	char detail[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	return vis_error_set(e, VIS_ERR_INVALID, "orario: elemento %d \"%.*s\": %s", t->index,
			     (int)(t->len > 80 ? 80 : t->len), t->p, detail);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void trim(const char **p, size_t *len)
{
	while (*len > 0 && is_blank(**p)) {
		(*p)++;
		(*len)--;
	}
	while (*len > 0 && is_blank((*p)[*len - 1]))
		(*len)--;
}

static bool word_is(const char *p, size_t len, const char *w)
{
	return strlen(w) == len && memcmp(p, w, len) == 0;
}

static int day_index(const char *p, size_t len)
{
	for (int i = 0; i < 7; i++)
		if (word_is(p, len, day_names[i]))
			return i;
	return -1;
}

/* "HH:MM" into minutes; 24:00 only when allow_24.  -1 on error. */
static int parse_hhmm(const char *p, bool allow_24)
{
	for (int i = 0; i < 5; i++)
		if (i == 2 ? p[i] != ':' : (p[i] < '0' || p[i] > '9'))
			return -1;
	int h = (p[0] - '0') * 10 + (p[1] - '0');
	int m = (p[3] - '0') * 10 + (p[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && (m != 0 || !allow_24)))
		return -1;
	return h * 60 + m;
}

static int cmp_range(const void *a, const void *b)
{
	const struct hours_range *x = a, *y = b;
	return (x->start > y->start) - (x->start < y->start);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* Splits p[0..len) at the next `sep`; returns the trimmed item and moves
 * the cursor (*p, *len) past the separator. */
static void next_item(const char **p, size_t *len, char sep, const char **item, size_t *ilen)
{
	const char *s = memchr(*p, sep, *len);
	size_t n = s ? (size_t)(s - *p) : *len;
	*item = *p;
	*ilen = n;
	trim(item, ilen);
	if (s) {
		*len -= n + 1;
		*p = s + 1;
	} else {
		*p += n;
		*len = 0;
	}
}

static vis_err parse_closed(const struct tok *t, const char *rest, size_t rlen,
			    struct hours_schedule *out, struct vis_error *e)
{
	if (rlen == 0)
		return bad(e, t, "'closed' vuole almeno una data (AAAA-MM-GG)");
	while (true) {
		const char *item;
		size_t ilen;
		bool last = memchr(rest, ',', rlen) == NULL;
		next_item(&rest, &rlen, ',', &item, &ilen);
		int d;
		if (ilen == 0)
			return bad(e, t, "data vuota nell'elenco");
		if (!date_parse(item, ilen, &d))
			return bad(e, t, "'%.*s' non è una data (AAAA-MM-GG)", (int)(ilen > 40 ? 40 : ilen),
				   item);
		for (int i = 0; i < out->nclosed; i++)
			if (out->closed[i] == d)
				return bad(e, t, "data %.*s indicata due volte", (int)ilen, item);
		if (out->nclosed >= HOURS_MAX_CLOSED)
			return bad(e, t, "più di %d date di chiusura", HOURS_MAX_CLOSED);
		out->closed[out->nclosed++] = d;
		if (last)
			return VIS_OK;
	}
}

static vis_err parse_days(const struct tok *t, const char *w, size_t wlen,
			  const char *rest, size_t rlen,
			  struct hours_schedule *out, struct vis_error *e)
{
	int from, to;
	const char *dash = memchr(w, '-', wlen);
	if (dash) {
		size_t l1 = (size_t)(dash - w);
		from = day_index(w, l1);
		to = day_index(dash + 1, wlen - l1 - 1);
		if (from < 0 || to < 0)
			return bad(e, t, "'%.*s' non è un intervallo di giorni (come mon-fri)", (int)wlen, w);
		if (from >= to)
			return bad(e, t, "l'intervallo di giorni '%.*s' deve andare in avanti da mon a sun", (int)wlen, w);
	} else {
		from = to = day_index(w, wlen);
		if (from < 0)
			return bad(e, t,
				   "parola sconosciuta '%.*s' (atteso un giorno come mon, un "
				   "intervallo "
				   "come mon-fri, 'closed', 'holidays open' o 'always')",
				   (int)(wlen > 40 ? 40 : wlen), w);
	}
	for (int d = from; d <= to; d++)
		if (out->nranges[d] > 0)
			return bad(e, t, "%s è indicato due volte", day_names[d]);
	if (rlen == 0)
		return bad(e, t, "mancano le fasce orarie dopo '%.*s' (come 08:00-14:00)", (int)wlen, w);

	struct hours_range r[HOURS_MAX_RANGES];
	int n = 0;
	while (true) {
		const char *item;
		size_t ilen;
		bool last = memchr(rest, ',', rlen) == NULL;
		next_item(&rest, &rlen, ',', &item, &ilen);
		if (ilen == 0)
			return bad(e, t, "fascia oraria vuota nell'elenco");
		int s = -1, en = -1;
		if (ilen == 11 && item[5] == '-') {
			s = parse_hhmm(item, false);
			en = parse_hhmm(item + 6, true);
		}
		if (s < 0 || en < 0)
			return bad(e, t,
				   "'%.*s' non è una fascia oraria (HH:MM-HH:MM, da 00:00 a 24:00)",
				   (int)(ilen > 40 ? 40 : ilen), item);
		if (s >= en)
			return bad(e, t, "la fascia oraria '%.*s' deve finire dopo l'inizio", (int)ilen, item);
		if (n >= HOURS_MAX_RANGES)
			return bad(e, t, "più di %d fasce orarie", HOURS_MAX_RANGES);
		r[n].start = (uint16_t)s;
		r[n].end = (uint16_t)en;
		n++;
		if (last)
			break;
	}
	qsort(r, (size_t)n, sizeof r[0], cmp_range);
	for (int i = 1; i < n; i++)
		if (r[i].start < r[i - 1].end)
			return bad(e, t,
				   "le fasce orarie %02d:%02d-%02d:%02d e %02d:%02d-%02d:%02d si "
				   "sovrappongono",
				   r[i - 1].start / 60, r[i - 1].start % 60, r[i - 1].end / 60,
				   r[i - 1].end % 60, r[i].start / 60, r[i].start % 60, r[i].end / 60,
				   r[i].end % 60);
	for (int d = from; d <= to; d++) {
		memcpy(out->day[d], r, (size_t)n * sizeof r[0]);
		out->nranges[d] = n;
	}
	return VIS_OK;
}

vis_err hours_parse(const char *spec, struct hours_schedule *out, struct vis_error *e)
{
	if (!out)
		return vis_error_set(e, VIS_ERR_INVALID, "orario: nessun orario da compilare");
	memset(out, 0, sizeof *out);
	if (!spec)
		return vis_error_set(e, VIS_ERR_INVALID, "orario: nessun orario indicato");
	size_t len = strnlen(spec, HOURS_SPEC_MAX);
	if (len >= HOURS_SPEC_MAX)
		return vis_error_set(e, VIS_ERR_LIMIT, "orario: più lungo di %d byte",
				     HOURS_SPEC_MAX - 1);
	const char *p = spec;
	size_t rem = len;
	{
		const char *all = spec;
		size_t alen = len;
		trim(&all, &alen);
		if (alen == 0)
			return vis_error_set(e, VIS_ERR_INVALID, "orario: vuoto");
	}
	bool always = false, others = false;
	struct tok t = {0};
	struct tok always_tok = {0};
	vis_err rc = VIS_OK;
	for (int index = 1; rc == VIS_OK; index++) {
		bool last = memchr(p, ';', rem) == NULL;
		next_item(&p, &rem, ';', &t.p, &t.len);
		t.index = index;
		if (t.len == 0) {
			rc = vis_error_set(e, VIS_ERR_INVALID,
					   "orario: l'elemento %d è vuoto (un ';' di troppo?)",
					   index);
			break;
		}
		/* First word, then the rest of the token. */
		const char *w = t.p;
		size_t wlen = 0;
		while (wlen < t.len && !is_blank(w[wlen]))
			wlen++;
		const char *rest = w + wlen;
		size_t rlen = t.len - wlen;
		trim(&rest, &rlen);
		if (word_is(w, wlen, "always")) {
			if (rlen != 0)
				rc = bad(e, &t, "'always' non vuole nulla dopo di sé");
			else if (always)
				rc = bad(e, &t, "'always' è indicato due volte");
			always = true;
			always_tok = t;
		} else if (word_is(w, wlen, "holidays")) {
			others = true;
			if (!word_is(rest, rlen, "open"))
				rc = bad(e, &t, "atteso 'holidays open'");
			else if (out->holidays_open)
				rc = bad(e, &t, "'holidays open' è indicato due volte");
			out->holidays_open = true;
		} else if (word_is(w, wlen, "closed")) {
			others = true;
			rc = parse_closed(&t, rest, rlen, out, e);
		} else {
			others = true;
			rc = parse_days(&t, w, wlen, rest, rlen, out, e);
		}
		if (last)
			break;
	}
	if (rc == VIS_OK && always && others)
		rc = bad(e, &always_tok, "'always' non si combina con altri elementi");
	if (rc != VIS_OK) {
		memset(out, 0, sizeof *out);
		return rc;
	}
	out->always = always;
	qsort(out->closed, (size_t)out->nclosed, sizeof out->closed[0], cmp_int);
	return VIS_OK;
}

/* ---- formatting -------------------------------------------------------- */

struct sink {
	char *out;
	size_t cap, pos;
};

static void put(struct sink *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct sink *k, const char *fmt, ...)
{
	if (k->pos + 1 >= k->cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(k->out + k->pos, k->cap - k->pos, fmt, ap);
	va_end(ap);
	if (w < 0)
		return;
	k->pos += (size_t)w;
	if (k->pos >= k->cap)
		k->pos = k->cap - 1;
}

static int clamp_n(int n, int max)
{
	return n < 0 ? 0 : n > max ? max : n;
}

static bool same_day(const struct hours_schedule *s, int a, int b)
{
	int n = clamp_n(s->nranges[a], HOURS_MAX_RANGES);
	if (n != clamp_n(s->nranges[b], HOURS_MAX_RANGES))
		return false;
	for (int i = 0; i < n; i++)
		if (s->day[a][i].start != s->day[b][i].start || s->day[a][i].end != s->day[b][i].end)
			return false;
	return true;
}

void hours_format(const struct hours_schedule *s, char *out, size_t cap)
{
	if (!out || cap == 0)
		return;
	out[0] = '\0';
	if (!s)
		return;
	struct sink k = {out, cap, 0};
	if (s->always) {
		put(&k, "always");
		return;
	}
	const char *sep = "";
	for (int d = 0; d < 7;) {
		int n = clamp_n(s->nranges[d], HOURS_MAX_RANGES);
		if (n == 0) {
			d++;
			continue;
		}
		int last = d;
		while (last + 1 < 7 && same_day(s, d, last + 1))
			last++;
		put(&k, "%s%s", sep, day_names[d]);
		if (last > d)
			put(&k, "-%s", day_names[last]);
		for (int i = 0; i < n; i++) {
			const struct hours_range *r = &s->day[d][i];
			put(&k, "%c%02d:%02d-%02d:%02d", i ? ',' : ' ', r->start / 60, r->start % 60,
			    r->end / 60, r->end % 60);
		}
		sep = "; ";
		d = last + 1;
	}
	if (s->holidays_open) {
		put(&k, "%sholidays open", sep);
		sep = "; ";
	}
	int nclosed = clamp_n(s->nclosed, HOURS_MAX_CLOSED);
	for (int i = 0; i < nclosed; i++) {
		char buf[11];
		date_format(s->closed[i], buf);
		put(&k, "%s%s", i ? "," : *sep ? "; closed " : "closed ", buf);
	}
}
