#include "stats/history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "stats/stats.h"

struct walk {
	const char *comuni;
	stats_record_fn fn;
	void *ctx;
	struct store_person *v;
	int nv, cap;
	struct stats_record r;
	bool oom, stopped;
};

static void walk_flush(struct walk *w)
{
	if (!w->nv || w->stopped)
		return;
	struct stats_record *r = &w->r;
	r->v = w->v;
	r->nv = w->nv;
	r->nep = 0;
	r->sex = w->v[w->nv - 1].sex == 'M';
	for (int i = 0; i < w->nv; i++) {
		const struct store_person *p = &w->v[i];
		if (!p->reg_date)
			continue;
		struct stats_episode *last = r->nep ? &r->ep[r->nep - 1] : NULL;
		if (!last || (last->reg != p->reg_date && last->canc_reason &&
			      p->reg_date >= last->canc)) {
			if (r->nep == STATS_EPISODES_MAX) {
				memmove(r->ep, r->ep + 1, sizeof r->ep - sizeof r->ep[0]);
				r->nep--;
			}
			last = &r->ep[r->nep++];
		}
		*last = (struct stats_episode){p->reg_date, p->reg_reason, p->canc_date,
					       p->canc_reason};
	}
	for (int i = 0; i < r->nep; i++)
		if (r->ep[i].canc_reason && r->ep[i].canc < r->ep[i].reg)
			r->ep[i].canc = r->ep[i].reg;   /* a cancellation before its registration */
	if (w->fn(w->ctx, r))
		w->stopped = true;
	w->nv = 0;
}

static int add_version(void *ctx, const struct store_person *p)
{
	struct walk *w = ctx;
	if (w->stopped)
		return 1;
	if (!stats_covered(w->comuni, p->comune))
		return 0;
	if (w->nv && (strcmp(w->v[0].comune, p->comune) || strcmp(w->v[0].id, p->id)))
		walk_flush(w);
	if (w->nv == w->cap) {
		int cap = w->cap ? w->cap * 2 : 16;
		struct store_person *v = cap <= STATS_VERSIONS_MAX ? realloc(w->v, (size_t)cap * sizeof *v)
								   : NULL;
		if (!v) {
			w->oom = true;
			return 1;
		}
		w->v = v;
		w->cap = cap;
	}
	w->v[w->nv++] = *p;
	return w->stopped;
}

vis_err stats_history_each(struct store *s, const char *comuni, stats_record_fn fn, void *ctx,
			   struct vis_error *e)
{
	struct walk w = {.comuni = comuni, .fn = fn, .ctx = ctx};
	/* One municipality: let the store filter; several: filter here. */
	const char *one = comuni[0] && !strchr(comuni, ',') ? comuni : "";
	vis_err rc = store_person_versions_each(s, one, add_version, &w, e);
	if (!rc && w.oom)
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita: un record con troppe versioni");
	if (!rc)
		walk_flush(&w);
	free(w.v);
	return rc;
}

const struct store_person *stats_record_at(const struct stats_record *r, int date)
{
	for (int i = r->nv - 1; i >= 0; i--)
		if (r->v[i].valid_from <= date && (!r->v[i].valid_to || r->v[i].valid_to > date))
			return &r->v[i];
	return NULL;
}

bool stats_version_resident(const struct store_person *v, int date)
{
	return v && v->reg_date <= date && !(v->canc_reason && v->canc_date <= date);
}

bool stats_episode_resident(const struct stats_episode *x, int date)
{
	return x->reg <= date && !(x->canc_reason && x->canc <= date);
}

static int reg_class(int reason)
{
	/* ISTAT: 1 nascita; 3 da altro comune; 4 dall'estero, 6 rimpatrio da AIRE */
	return reason == 1 ? STATS_B_BIRTHS : reason == 3 ? STATS_B_IN_IT
		: reason == 4 || reason == 6 ? STATS_B_IN_ABROAD : STATS_B_IN_OTHER;
}

static int canc_class(int reason)
{
	/* 1 morte, 2 morte presunta; 3 verso altro comune; 5 straniero
	 * all'estero, 8 trasferimento all'estero (AIRE) */
	return reason == 1 || reason == 2 ? STATS_B_DEATHS : reason == 3 ? STATS_B_OUT_IT
		: reason == 5 || reason == 8 ? STATS_B_OUT_ABROAD : STATS_B_OUT_OTHER;
}

void stats_episode_count(const struct stats_episode *x, int dal, int al, long long *v)
{
	int d0 = date_add_days(dal, -1);
	if (stats_episode_resident(x, d0))
		v[STATS_B_START]++;
	if (stats_episode_resident(x, al))
		v[STATS_B_END]++;
	if (x->reg > d0 && x->reg <= al)
		v[reg_class(x->reg_reason)]++;
	if (x->canc_reason && x->canc > d0 && x->canc <= al)
		v[canc_class(x->canc_reason)]++;
}

int stats_periods(int from, int to, bool yearly, int *dal, int *al, int max)
{
	int np = 0;
	for (int d = from; d <= to;) {
		int y = DATE_YEAR(d), m = DATE_MONTH(d);
		int end = yearly ? y * 10000 + 1231 : y * 10000 + m * 100 + date_days_in_month(y, m);
		if (np == max)
			return -1;
		dal[np] = d;
		al[np++] = end < to ? end : to;
		d = date_add_days(end, 1);
	}
	return np;
}

void stats_balance_close(long long *v)
{
	v[STATS_B_NATURAL] = v[STATS_B_BIRTHS] - v[STATS_B_DEATHS];
	v[STATS_B_MIGR] = v[STATS_B_IN_IT] + v[STATS_B_IN_ABROAD] + v[STATS_B_IN_OTHER] -
			  v[STATS_B_OUT_IT] - v[STATS_B_OUT_ABROAD] - v[STATS_B_OUT_OTHER];
}

const struct stats_identity stats_balance_identity[STATS_BALANCE_IDENTITIES] = {
	{10, {STATS_B_START, STATS_B_BIRTHS, STATS_B_DEATHS, STATS_B_IN_IT, STATS_B_IN_ABROAD,
	      STATS_B_IN_OTHER, STATS_B_OUT_IT, STATS_B_OUT_ABROAD, STATS_B_OUT_OTHER, STATS_B_END}},
	{3, {STATS_B_BIRTHS, STATS_B_DEATHS, STATS_B_NATURAL}},
	{7, {STATS_B_IN_IT, STATS_B_IN_ABROAD, STATS_B_IN_OTHER, STATS_B_OUT_IT, STATS_B_OUT_ABROAD,
	     STATS_B_OUT_OTHER, STATS_B_MIGR}},
	{4, {STATS_B_START, STATS_B_NATURAL, STATS_B_MIGR, STATS_B_END}},
};
