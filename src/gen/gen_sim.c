/* gen_sim — one simulated day of a municipality's register: the events,
 * their rates, and the persons and households they change.  See
 * gen_impl.h and docs/generator.md. */
#include "gen/gen_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "refdata/refdata.h"

/* Yearly rates per resident that no data file gives (ISTAT, rounded). */
#define RATE_BIRTHS 0.0064
#define RATE_DEATHS 0.0110
#define RATE_MARRIAGES 0.0031      /* couples */
#define RATE_DIVORCES 0.0014       /* couples */
#define RATE_UNIONS 0.00005
#define RATE_DISSOLUTIONS 0.00001
#define RATE_CITIZENSHIP 0.0036    /* persons */
#define RATE_FOREIGN_IN 0.0055     /* foreign citizens arriving from abroad */
#define RATE_FOREIGN_OUT 0.0008    /* foreign citizens leaving abroad */
#define RUN_MIGRATION_SHARE 0.35   /* internal moves that stay inside the run */

static int mini(int a, int b)
{
	return a < b ? a : b;
}

static int maxi(int a, int b)
{
	return a > b ? a : b;
}

void gen_touch_person(struct gen_ctx *x, struct gen_comune *c, uint32_t pi)
{
	struct gen_person *p = &c->p[pi];
	p->valid_from = x->today;
	if (p->touched == x->stamp)
		return;
	if (!gen_grow((void **)&c->dper, &c->capdper, c->ndper + 1, sizeof *c->dper)) {
		gen_fail(x, VIS_ERR_NOMEM, "memoria esaurita");
		return;
	}
	p->touched = x->stamp;
	c->dper[c->ndper++] = pi;
}

void gen_touch_family(struct gen_ctx *x, struct gen_comune *c, uint32_t fi)
{
	struct gen_family *f = &c->f[fi];
	f->valid_from = x->today;
	if (f->touched == x->stamp)
		return;
	if (!gen_grow((void **)&c->dfam, &c->capdfam, c->ndfam + 1, sizeof *c->dfam)) {
		gen_fail(x, VIS_ERR_NOMEM, "memoria esaurita");
		return;
	}
	f->touched = x->stamp;
	c->dfam[c->ndfam++] = fi;
}

void gen_event_add(struct gen_ctx *x, struct gen_comune *c, uint8_t type, uint32_t person,
		   int32_t place, uint32_t other_cf)
{
	if (!gen_grow((void **)&c->ev, &c->capev, c->nev + 1, sizeof *c->ev)) {
		gen_fail(x, VIS_ERR_NOMEM, "memoria esaurita");
		return;
	}
	struct gen_event *e = &c->ev[c->nev++];
	e->type = type;
	e->person = person;
	e->place = place;
	e->other_cf = other_cf;
}

void gen_day_reset(struct gen_comune *c)
{
	c->ndper = c->ndfam = c->nev = 0;
}

/* ------------------------------------------------------------- helpers */

static bool avail(const struct gen_ctx *x, const struct gen_comune *c, uint32_t i)
{
	const struct gen_person *p = &c->p[i];
	return p->canc_reason == 0 && p->touched != x->stamp && p->fam != GEN_NONE;
}

static int age_of(const struct gen_ctx *x, const struct gen_person *p)
{
	return date_age(p->birth, x->today);
}

static uint32_t random_person(struct gen_comune *c)
{
	return c->np ? gen_rng_below(&c->rng, c->np) : 0;
}

static bool partner_here(const struct gen_comune *c, const struct gen_person *p)
{
	if (p->partner == GEN_NONE)
		return false;
	const struct gen_person *q = &c->p[p->partner];
	return q->canc_reason == 0 && q->fam == p->fam;
}

static uint32_t cf_of(const struct gen_comune *c, uint32_t i)
{
	return c->p[i].cf;
}

static bool is_head(const struct gen_person *p)
{
	return p->rel == 1 || p->rel == 24;
}

/* Moves a registered person to household fi with relationship rel, fixing
 * the household left behind. */
static void move_person(struct gen_ctx *x, struct gen_comune *c, uint32_t pi, uint32_t fi,
			uint8_t rel)
{
	struct gen_person *p = &c->p[pi];
	uint32_t old = p->fam;
	bool was_head = is_head(p);
	gen_family_remove(c, pi);
	gen_family_add(c, fi, pi);
	p->rel = rel;
	gen_touch_person(x, c, pi);
	if (was_head && old != GEN_NONE && old != fi && c->f[old].size)
		gen_family_rehead(x, c, old, pi);
}

static uint32_t new_household(struct gen_ctx *x, struct gen_comune *c)
{
	uint32_t fi = gen_family_new(x, c, 1, x->today);
	if (fi != GEN_NONE)
		gen_touch_family(x, c, fi);
	return fi;
}

/* Cancels a registered person (death or emigration); the household left
 * behind gets a new head unless the whole household is leaving. */
static void cancel_person(struct gen_ctx *x, struct gen_comune *c, uint32_t pi, uint8_t reason,
			  int32_t dest, bool rehead)
{
	struct gen_person *p = &c->p[pi];
	uint32_t fi = p->fam;
	bool was_head = is_head(p);
	p->canc_reason = reason;
	p->canc_date = x->today;
	p->dest = dest;
	gen_family_remove(c, pi);
	c->residents--;
	gen_touch_person(x, c, pi);
	if (rehead && was_head && c->f[fi].size)
		gen_family_rehead(x, c, fi, pi);
}

static int32_t random_comune(struct gen_ctx *x, struct gen_comune *c, int same_region)
{
	for (int t = 0; t < 200; t++) {
		const struct ref_comune *rc =
			refdata_comune_at(x->rd, x->d.active[gen_rng_below(&c->rng, x->d.nactive)]);
		int code = atoi(rc->istat);
		if (code == c->code)
			continue;
		if (same_region < 0 || (same_region == 1) == !strcmp(rc->region, c->region))
			return code;
	}
	return c->code == 1001 ? 1002 : 1001;
}

static int32_t expat_country(struct gen_ctx *x, struct gen_comune *c)
{
	return x->d.ctry[x->d.expat[gen_wtable_pick(&x->d.w_expat, &c->rng)]].istat;
}

static double month_days(int date)
{
	return date_days_in_month(DATE_YEAR(date), DATE_MONTH(date));
}

/* --------------------------------------------------------------- deaths */

static double hazard(int age)
{
	return age == 0 ? 0.003 : exp(-9.8 + 0.088 * age);
}

static void ev_death(struct gen_ctx *x, struct gen_comune *c)
{
	double hmax = hazard(GEN_AGES - 1);
	for (int t = 0; t < 5000; t++) {
		uint32_t i = random_person(c);
		if (!avail(x, c, i))
			continue;
		struct gen_person *p = &c->p[i];
		if (gen_rng_unit(&c->rng) * hmax >= hazard(age_of(x, p)))
			continue;
		uint32_t q = p->partner;
		if (q != GEN_NONE && c->p[q].canc_reason == 0 && c->p[q].touched == x->stamp)
			continue;
		gen_event_add(x, c, EVT_DECESSO, i, 0, GEN_NONE);
		if (q != GEN_NONE && c->p[q].canc_reason == 0) {
			struct gen_person *s = &c->p[q];
			if (s->cs == 2 || s->cs == 6) {
				s->cs = s->cs == 2 ? 3 : 7;
				s->cs_date = x->today;
				gen_event_add(x, c, EVT_VEDOVANZA, q, 0, cf_of(c, i));
			}
			s->partner = GEN_NONE;
			gen_touch_person(x, c, q);
		}
		p->partner = GEN_NONE;
		cancel_person(x, c, i, 1, 0, true);
		return;
	}
}

/* --------------------------------------------------------------- births */

static bool recent_child(const struct gen_comune *c, uint32_t mother, int today)
{
	uint32_t cf = c->p[mother].cf;
	for (uint32_t m = c->f[c->p[mother].fam].first; m != GEN_NONE; m = c->p[m].next)
		if (c->p[m].mother_cf == cf && date_to_days(today) - date_to_days(c->p[m].birth) < 320)
			return true;
	return false;
}

static void ev_birth(struct gen_ctx *x, struct gen_comune *c)
{
	struct gen_rng *r = &c->rng;
	for (int t = 0; t < 5000; t++) {
		uint32_t mi = random_person(c);
		if (!avail(x, c, mi))
			continue;
		struct gen_person *mo = &c->p[mi];
		int age = age_of(x, mo);
		if (mo->sex != 'F' || age < 18 || age > 46)
			continue;
		if (mo->rel != 1 && mo->rel != 2 && mo->rel != 23 && mo->rel != 28)
			continue;
		double z = (age - 32) / 5.5, f = exp(-z * z / 2);
		if (mo->cit[0] != 100)
			f *= 1.5;
		uint32_t fa = GEN_NONE;
		if (partner_here(c, mo)) {
			if (c->p[mo->partner].touched == x->stamp)
				continue;
			if (c->p[mo->partner].sex == 'M')
				fa = mo->partner;
		} else {
			f *= 0.3;
		}
		if (gen_rng_unit(r) >= f || recent_child(c, mi, x->today))
			continue;
		if (fa != GEN_NONE && date_age(c->p[fa].birth, x->today) > 55)
			continue;
		if (fa != GEN_NONE && date_age(c->p[fa].birth, x->today) < 18)
			fa = GEN_NONE;
		uint32_t bi = gen_person_new(x, c);
		if (bi == GEN_NONE)
			return;
		mo = &c->p[mi];
		struct gen_person *b = &c->p[bi];
		const struct gen_person *fp = fa != GEN_NONE ? &c->p[fa] : NULL;
		b->sex = gen_rng_chance(r, 0.513) ? 'M' : 'F';
		b->birth = date_add_days(x->today, -(int)gen_rng_below(r, 8));
		if (b->birth < mo->reg_date) /* born after the mother moved here */
			b->birth = mo->reg_date;
		bool italian = mo->cit[0] == 100 || (fp && fp->cit[0] == 100);
		b->cit[0] = italian ? 100 : mo->cit[0];
		if (!italian)
			b->group = mo->group;
		else if (mo->group == GRP_IT || (fp && fp->group == GRP_IT))
			b->group = GRP_IT;
		else
			b->group = fp ? fp->group : mo->group;
		b->surname = fp ? fp->surname : mo->surname;
		b->name = gen_pick_name(x, c, b->sex, b->group, b->birth);
		char bf[5];
		b->birth_place = gen_pick_birth_place_it(x, c, b->birth, gen_rng_chance(r, 0.55) ? 0 : 1, bf);
		b->cs = 1;
		b->reg_reason = 1;
		b->reg_date = x->today;
		b->mother_cf = mo->cf;
		b->father_cf = fp ? fp->cf : GEN_NONE;
		if (!gen_person_cf(x, b))
			return;
		uint32_t head = gen_family_head(c, mo->fam);
		b->rel = (head == mi || head == fa) ? 3 : 13;
		gen_family_add(c, mo->fam, bi);
		c->residents++;
		gen_touch_person(x, c, bi);
		gen_event_add(x, c, EVT_NASCITA, bi, 0, GEN_NONE);
		return;
	}
}

/* ------------------------------------------- marriages, unions, divorces */

static bool cs_free(uint8_t cs)
{
	return cs == 1 || cs == 3 || cs == 4 || cs == 7 || cs == 8;
}

static bool free_to_marry(const struct gen_person *p)
{
	return cs_free(p->cs) && p->partner == GEN_NONE;
}

static void wed(struct gen_ctx *x, struct gen_comune *c, uint32_t a, uint32_t b, bool civil_union)
{
	uint8_t cs = civil_union ? 6 : 2, type = civil_union ? EVT_UNIONE_CIVILE : EVT_MATRIMONIO;
	uint32_t ids[2] = {a, b};
	for (int k = 0; k < 2; k++) {
		struct gen_person *p = &c->p[ids[k]];
		p->cs = cs;
		p->cs_date = x->today;
		p->partner = ids[1 - k];
		if (p->rel == 23 || p->rel == 2 || p->rel == 28)
			p->rel = civil_union ? 28 : 2;
		gen_touch_person(x, c, ids[k]);
		gen_event_add(x, c, type, ids[k], 0, cf_of(c, ids[1 - k]));
	}
}

/* A spouse or partner from another municipality joins household fi. */
static uint32_t partner_arrives(struct gen_ctx *x, struct gen_comune *c, uint32_t fi, char sex,
				int age, uint8_t rel)
{
	struct gen_plan pl;
	gen_plan_init(&pl, PLAN_IMMIGRANT, 1);
	int i = gen_plan_add(&pl, sex, age, rel);
	pl.m[i].cs = 1;
	pl.origin = random_comune(x, c, gen_rng_chance(&c->rng, 0.7));
	pl.join = fi;
	uint32_t ids[1];
	if (gen_plan_realize(x, c, &pl, ids) == GEN_NONE)
		return GEN_NONE;
	gen_event_add(x, c, EVT_IMMIGRAZIONE, ids[0], pl.origin, GEN_NONE);
	return ids[0];
}

static void ev_marriage(struct gen_ctx *x, struct gen_comune *c)
{
	struct gen_rng *r = &c->rng;
	double u = gen_rng_unit(r);
	if (u < 0.55) {
		/* a cohabiting couple marries */
		for (int t = 0; t < 3000; t++) {
			uint32_t i = random_person(c);
			if (!avail(x, c, i))
				continue;
			struct gen_person *p = &c->p[i];
			if (p->rel != 1 || !partner_here(c, p) || !avail(x, c, p->partner))
				continue;
			struct gen_person *q = &c->p[p->partner];
			if (p->sex == q->sex || !cs_free(p->cs) || !cs_free(q->cs) ||
			    age_of(x, q) < 18 || age_of(x, p) < 18)
				continue;
			uint32_t j = p->partner;
			p->partner = q->partner = GEN_NONE;
			wed(x, c, i, j, false);
			return;
		}
	} else if (u < 0.8) {
		/* two single residents: one moves in with the other or both move */
		for (int t = 0; t < 3000; t++) {
			uint32_t i = random_person(c);
			if (!avail(x, c, i))
				continue;
			struct gen_person *w = &c->p[i];
			int wa = age_of(x, w);
			if (w->sex != 'F' || wa < 22 || wa > 50 || !free_to_marry(w) ||
			    !(w->rel == 3 || (w->rel == 1 && c->f[w->fam].size == 1)))
				continue;
			for (int k = 0; k < 400; k++) {
				uint32_t j = random_person(c);
				if (!avail(x, c, j))
					continue;
				struct gen_person *m = &c->p[j];
				int ma = age_of(x, m);
				if (m->sex != 'M' || ma < wa - 5 || ma > wa + 12 || ma < 18 ||
				    !free_to_marry(m) || m->fam == w->fam ||
				    !(m->rel == 3 || (m->rel == 1 && c->f[m->fam].size == 1)))
					continue;
				uint32_t fi;
				if (m->rel == 1) {
					fi = m->fam;
					move_person(x, c, i, fi, 2);
					gen_event_add(x, c, EVT_CAMBIO_INDIRIZZO, i, 0, GEN_NONE);
				} else if (w->rel == 1) {
					fi = w->fam;
					move_person(x, c, j, fi, 2);
					gen_event_add(x, c, EVT_CAMBIO_INDIRIZZO, j, 0, GEN_NONE);
				} else {
					fi = new_household(x, c);
					if (fi == GEN_NONE)
						return;
					bool mh = gen_rng_chance(r, 0.65);
					move_person(x, c, j, fi, mh ? 1 : 2);
					move_person(x, c, i, fi, mh ? 2 : 1);
					gen_event_add(x, c, EVT_CAMBIO_INDIRIZZO, j, 0, GEN_NONE);
					gen_event_add(x, c, EVT_CAMBIO_INDIRIZZO, i, 0, GEN_NONE);
				}
				wed(x, c, i, j, false);
				return;
			}
		}
	} else {
		/* a resident head marries someone who moves in from elsewhere */
		for (int t = 0; t < 3000; t++) {
			uint32_t i = random_person(c);
			if (!avail(x, c, i))
				continue;
			struct gen_person *p = &c->p[i];
			int a = age_of(x, p);
			if (p->rel != 1 || c->f[p->fam].kind != 1 || a < 24 || a > 60 ||
			    !free_to_marry(p))
				continue;
			char sex = p->sex == 'F' ? 'M' : 'F';
			int sa = a + (sex == 'M' ? 3 : -3) + gen_rng_range(r, -4, 4);
			sa = maxi(20, sa);
			uint32_t j = partner_arrives(x, c, p->fam, sex, sa, 2);
			if (j != GEN_NONE)
				wed(x, c, i, j, false);
			return;
		}
	}
}

static void ev_union(struct gen_ctx *x, struct gen_comune *c)
{
	struct gen_rng *r = &c->rng;
	for (int t = 0; t < 5000; t++) {
		uint32_t i = random_person(c);
		if (!avail(x, c, i))
			continue;
		struct gen_person *p = &c->p[i];
		int a = age_of(x, p);
		if (p->rel != 1 || a < 25 || a > 70 || c->f[p->fam].kind != 1)
			continue;
		if (partner_here(c, p)) {
			/* a same-sex cohabiting couple */
			struct gen_person *q = &c->p[p->partner];
			if (q->sex != p->sex || !avail(x, c, p->partner) || !cs_free(p->cs) ||
			    !cs_free(q->cs))
				continue;
			uint32_t j = p->partner;
			p->partner = q->partner = GEN_NONE;
			wed(x, c, i, j, true);
			return;
		}
		if (!free_to_marry(p) || c->f[p->fam].size != 1)
			continue;
		uint32_t j = partner_arrives(x, c, p->fam, p->sex, maxi(20, a + gen_rng_range(r, -6, 6)), 28);
		if (j != GEN_NONE)
			wed(x, c, i, j, true);
		return;
	}
}

/* The partner who is not the head leaves for a new household here, or for
 * another municipality. */
static void split_couple(struct gen_ctx *x, struct gen_comune *c, uint32_t a, uint32_t b)
{
	struct gen_rng *r = &c->rng;
	uint32_t leaver = is_head(&c->p[a]) ? b : a;
	if (c->p[a].sex != c->p[b].sex && gen_rng_chance(r, 0.5))
		leaver = c->p[a].sex == 'M' ? a : b;
	if (gen_rng_chance(r, 0.65)) {
		uint32_t fi = new_household(x, c);
		if (fi == GEN_NONE)
			return;
		move_person(x, c, leaver, fi, 1);
		gen_event_add(x, c, EVT_CAMBIO_INDIRIZZO, leaver, 0, GEN_NONE);
	} else {
		int32_t dest = random_comune(x, c, gen_rng_chance(r, 0.7));
		gen_event_add(x, c, EVT_EMIGRAZIONE, leaver, dest, GEN_NONE);
		cancel_person(x, c, leaver, 3, dest, true);
	}
}

static void ev_divorce(struct gen_ctx *x, struct gen_comune *c)
{
	struct gen_rng *r = &c->rng;
	bool separated = gen_rng_chance(r, 0.3);
	for (int t = 0; t < 5000; t++) {
		uint32_t i = random_person(c);
		if (!avail(x, c, i))
			continue;
		struct gen_person *p = &c->p[i];
		if (p->cs != 2)
			continue;
		if (separated) {
			if (p->partner != GEN_NONE || age_of(x, p) < 28)
				continue;
			p->cs = 4;
			p->cs_date = x->today;
			gen_touch_person(x, c, i);
			gen_event_add(x, c, EVT_DIVORZIO, i, 0, GEN_NONE);
			return;
		}
		if (!partner_here(c, p) || !avail(x, c, p->partner) || c->p[p->partner].cs != 2)
			continue;
		uint32_t j = p->partner;
		struct gen_person *q = &c->p[j];
		p->partner = q->partner = GEN_NONE;
		p->cs = q->cs = 4;
		p->cs_date = q->cs_date = x->today;
		gen_touch_person(x, c, i);
		gen_touch_person(x, c, j);
		gen_event_add(x, c, EVT_DIVORZIO, i, 0, cf_of(c, j));
		gen_event_add(x, c, EVT_DIVORZIO, j, 0, cf_of(c, i));
		split_couple(x, c, i, j);
		return;
	}
}

static void ev_dissolution(struct gen_ctx *x, struct gen_comune *c)
{
	for (int t = 0; t < 20000; t++) {
		uint32_t i = random_person(c);
		if (!avail(x, c, i))
			continue;
		struct gen_person *p = &c->p[i];
		if (p->cs != 6 || !partner_here(c, p) || !avail(x, c, p->partner))
			continue;
		uint32_t j = p->partner;
		struct gen_person *q = &c->p[j];
		p->partner = q->partner = GEN_NONE;
		p->cs = q->cs = 8;
		p->cs_date = q->cs_date = x->today;
		gen_touch_person(x, c, i);
		gen_touch_person(x, c, j);
		gen_event_add(x, c, EVT_SCIOGLIMENTO_UNIONE, i, 0, cf_of(c, j));
		gen_event_add(x, c, EVT_SCIOGLIMENTO_UNIONE, j, 0, cf_of(c, i));
		split_couple(x, c, i, j);
		return;
	}
}

/* ---------------------------------------------------------- citizenship */

static void make_italian(struct gen_ctx *x, struct gen_comune *c, uint32_t i)
{
	struct gen_person *p = &c->p[i];
	uint16_t old = p->cit[0];
	p->cit[0] = 100;
	p->cit[1] = gen_rng_chance(&c->rng, 0.6) ? old : 0;
	gen_touch_person(x, c, i);
	gen_event_add(x, c, EVT_CITTADINANZA, i, 0, GEN_NONE);
}

static void ev_citizenship(struct gen_ctx *x, struct gen_comune *c)
{
	for (int t = 0; t < 5000; t++) {
		uint32_t i = random_person(c);
		if (!avail(x, c, i))
			continue;
		struct gen_person *p = &c->p[i];
		if (p->cit[0] == 100 || age_of(x, p) < 18)
			continue;
		bool long_stay = date_age(p->reg_date, x->today) >= 10;
		if (!long_stay && !(p->cs == 2 && t > 2000) && t < 4000)
			continue;
		uint16_t old = p->cit[0];
		make_italian(x, c, i);
		/* minor children living with the parent acquire it too */
		for (uint32_t m = c->f[p->fam].first; m != GEN_NONE; m = c->p[m].next)
			if (avail(x, c, m) && c->p[m].cit[0] == old && age_of(x, &c->p[m]) < 18 &&
			    (c->p[m].mother_cf == p->cf || c->p[m].father_cf == p->cf))
				make_italian(x, c, m);
		return;
	}
}

/* ---------------------------------------------------------------- moves */

static bool household_avail(const struct gen_ctx *x, const struct gen_comune *c, uint32_t fi)
{
	for (uint32_t m = c->f[fi].first; m != GEN_NONE; m = c->p[m].next)
		if (c->p[m].touched == x->stamp)
			return false;
	return c->f[fi].touched != x->stamp;
}

static void ev_move(struct gen_ctx *x, struct gen_comune *c)
{
	struct gen_rng *r = &c->rng;
	bool whole = gen_rng_chance(r, 0.7);
	for (int t = 0; t < 3000; t++) {
		uint32_t i = random_person(c);
		if (!avail(x, c, i))
			continue;
		struct gen_person *p = &c->p[i];
		uint32_t fi = p->fam;
		if (whole) {
			if (c->f[fi].kind != 1 || !household_avail(x, c, fi))
				continue;
			gen_family_address(x, c, fi);
			gen_touch_family(x, c, fi);
			for (uint32_t m = c->f[fi].first; m != GEN_NONE; m = c->p[m].next)
				gen_event_add(x, c, EVT_CAMBIO_INDIRIZZO, m, 0, GEN_NONE);
			return;
		}
		int a = age_of(x, p);
		if (a < 20 || is_head(p) || partner_here(c, p) || p->rel == 25 || p->rel == 6 ||
		    p->rel == 17)
			continue;
		uint32_t nf = new_household(x, c);
		if (nf == GEN_NONE)
			return;
		move_person(x, c, i, nf, 1);
		gen_event_add(x, c, EVT_CAMBIO_INDIRIZZO, i, 0, GEN_NONE);
		return;
	}
}

static uint64_t left_key(uint32_t cf, size_t ci)
{
	return ((uint64_t)cf << 16 | (uint64_t)ci) + 1;
}

static uint32_t left_hash(uint64_t k, uint32_t cap)
{
	k *= 0x9E3779B97F4A7C15ull;
	return (uint32_t)(k >> 32) & (cap - 1);
}

static bool left_put(struct gen_ctx *x, uint32_t cf, size_t ci, uint32_t person)
{
	if ((x->left_n + 1) * 2 > x->left_cap) {
		uint32_t ncap = x->left_cap ? x->left_cap * 2 : 1024;
		uint64_t *nk = calloc(ncap, sizeof *nk);
		uint32_t *nv = calloc(ncap, sizeof *nv);
		if (!nk || !nv) {
			free(nk);
			free(nv);
			return false;
		}
		for (uint32_t i = 0; i < x->left_cap; i++) {
			if (!x->left_key[i])
				continue;
			uint32_t h = left_hash(x->left_key[i], ncap);
			while (nk[h])
				h = (h + 1) & (ncap - 1);
			nk[h] = x->left_key[i];
			nv[h] = x->left_val[i];
		}
		free(x->left_key);
		free(x->left_val);
		x->left_key = nk;
		x->left_val = nv;
		x->left_cap = ncap;
	}
	uint64_t k = left_key(cf, ci);
	uint32_t h = left_hash(k, x->left_cap);
	while (x->left_key[h] && x->left_key[h] != k)
		h = (h + 1) & (x->left_cap - 1);
	if (!x->left_key[h])
		x->left_n++;
	x->left_key[h] = k;
	x->left_val[h] = person;
	return true;
}

static uint32_t left_get(const struct gen_ctx *x, uint32_t cf, size_t ci)
{
	if (!x->left_cap)
		return GEN_NONE;
	uint64_t k = left_key(cf, ci);
	uint32_t h = left_hash(k, x->left_cap);
	while (x->left_key[h]) {
		if (x->left_key[h] == k)
			return x->left_val[h];
		h = (h + 1) & (x->left_cap - 1);
	}
	return GEN_NONE;
}

/* Persons leaving: a whole household or one adult without a partner here. */
static void ev_emigration(struct gen_ctx *x, struct gen_comune *c, size_t ci, int kind)
{
	struct gen_rng *r = &c->rng;
	bool whole = gen_rng_chance(r, 0.55);
	for (int t = 0; t < 3000; t++) {
		uint32_t i = random_person(c);
		if (!avail(x, c, i))
			continue;
		struct gen_person *p = &c->p[i];
		if (kind == 3 && p->cit[0] == 100)
			continue; /* foreign citizens leaving */
		uint32_t fi = p->fam;
		if (c->f[fi].kind != 1)
			continue;
		if (whole && !household_avail(x, c, fi))
			continue;
		if (!whole && (age_of(x, p) < 18 || p->partner != GEN_NONE))
			continue;
		int32_t dest;
		uint8_t reason = 3;
		size_t to = (size_t)-1;
		if (kind == 0 || kind == 1) {
			if (x->nc > 1 && gen_rng_chance(r, RUN_MIGRATION_SHARE)) {
				to = gen_rng_below(r, (uint32_t)x->nc - 1);
				if (to >= ci)
					to++;
				dest = x->c[to].code;
			} else {
				dest = random_comune(x, c, kind == 0);
			}
		} else {
			reason = 8;
			dest = p->cit[0] != 100 && gen_rng_chance(r, 0.8) ? p->cit[0] : expat_country(x, c);
		}
		uint32_t members[GEN_PLAN_MAX];
		uint32_t nm = 0;
		if (whole) {
			for (uint32_t m = c->f[fi].first; m != GEN_NONE && nm < GEN_PLAN_MAX; m = c->p[m].next)
				members[nm++] = m;
		} else {
			members[nm++] = i;
		}
		uint32_t group = x->next_group++;
		for (uint32_t k = 0; k < nm; k++) {
			uint32_t m = members[k];
			if (to != (size_t)-1) {
				if (!gen_grow((void **)&x->mig, &x->capmig, x->nmig + 1, sizeof *x->mig)) {
					gen_fail(x, VIS_ERR_NOMEM, "memoria esaurita");
					return;
				}
				if (!left_put(x, c->p[m].cf, ci, m)) {
					gen_fail(x, VIS_ERR_NOMEM, "memoria esaurita");
					return;
				}
				struct gen_migrant *g = &x->mig[x->nmig++];
				g->to = (uint32_t)to;
				g->from = (uint32_t)ci;
				g->from_place = c->code;
				g->group_id = group;
				g->p = c->p[m];
				g->old_index = m;
				g->old_partner = c->p[m].partner;
				if (!whole)
					g->p.rel = 1;
			}
			gen_event_add(x, c, EVT_EMIGRAZIONE, m, dest, GEN_NONE);
		}
		for (uint32_t k = 0; k < nm; k++)
			cancel_person(x, c, members[k], reason, dest, !whole);
		return;
	}
}

/* Arrivals: a new household (from another municipality or from abroad),
 * or a relative joining a household here. */
static void ev_immigration(struct gen_ctx *x, struct gen_comune *c, bool abroad, bool foreign)
{
	struct gen_rng *r = &c->rng;
	struct gen_plan pl;
	if (abroad && foreign && gen_rng_chance(r, 0.3)) {
		/* family reunification: a spouse or a child joins a foreign head */
		for (int t = 0; t < 2000; t++) {
			uint32_t i = random_person(c);
			if (!avail(x, c, i))
				continue;
			struct gen_person *h = &c->p[i];
			int a = age_of(x, h);
			if (h->rel != 1 || h->cit[0] == 100 || c->f[h->fam].kind != 1 ||
			    c->f[h->fam].size > 4 || a < 21)
				continue;
			uint32_t ctry = GEN_NONE;
			for (uint32_t k = 0; k < x->d.nctry; k++)
				if (x->d.ctry[k].istat == h->cit[0])
					ctry = k;
			if (ctry == GEN_NONE)
				continue;
			gen_plan_init(&pl, PLAN_IMMIGRANT, 1);
			pl.country = ctry;
			pl.origin = h->cit[0];
			pl.join = h->fam;
			bool spouse = h->cs == 2 && h->partner == GEN_NONE;
			int m;
			if (spouse) {
				char sex = h->sex == 'M' ? 'F' : 'M';
				m = gen_plan_add(&pl, sex, maxi(19, a + (sex == 'M' ? 3 : -3)), 2);
			} else {
				int ka = gen_rng_range(r, maxi(0, a - 43), mini(17, a - 19));
				if (ka < 0 || a - ka < 19)
					continue;
				m = gen_plan_add(&pl, gen_rng_chance(r, 0.5) ? 'M' : 'F', ka, 3);
				pl.m[m].surname_of = GEN_PLAN_MAX;
				pl.absent_surname = h->sex == 'M' ? h->surname : GEN_NONE;
			}
			pl.m[m].foreign = true;
			pl.m[m].cs = 1;
			uint32_t ids[1];
			if (gen_plan_realize(x, c, &pl, ids) == GEN_NONE)
				return;
			struct gen_person *n = &c->p[ids[0]];
			h = &c->p[i];
			if (spouse) {
				n->cs = 2;
				n->cs_date = h->cs_date;
				n->partner = i;
				h->partner = ids[0];
			} else if (h->sex == 'F') {
				n->mother_cf = h->cf;
			} else {
				n->father_cf = h->cf;
			}
			gen_event_add(x, c, EVT_IMMIGRAZIONE, ids[0], pl.origin, GEN_NONE);
			return;
		}
		return;
	}
	gen_plan_random(x, c, &pl, foreign);
	if (abroad)
		pl.origin = foreign ? x->d.ctry[pl.country].istat : expat_country(x, c);
	else
		pl.origin = random_comune(x, c, gen_rng_chance(r, 0.75));
	uint32_t ids[GEN_PLAN_MAX];
	if (gen_plan_realize(x, c, &pl, ids) == GEN_NONE)
		return;
	for (int k = 0; k < pl.n; k++)
		gen_event_add(x, c, EVT_IMMIGRAZIONE, ids[k], pl.origin, GEN_NONE);
}

/* Arrivals of persons who left another municipality of the run the day
 * before (registered today). */
void gen_day_arrivals(struct gen_ctx *x)
{
	size_t k = 0;
	while (k < x->nmig && !x->err) {
		size_t end = k;
		while (end < x->nmig && x->mig[end].group_id == x->mig[k].group_id)
			end++;
		struct gen_comune *c = &x->c[x->mig[k].to];
		uint32_t fi = new_household(x, c);
		if (fi == GEN_NONE)
			return;
		uint32_t ids[GEN_PLAN_MAX];
		size_t n = end - k > GEN_PLAN_MAX ? GEN_PLAN_MAX : end - k;
		for (size_t g = 0; g < n; g++) {
			const struct gen_migrant *mg = &x->mig[k + g];
			/* someone coming back gets their old record registered again */
			uint32_t pi = left_get(x, mg->p.cf, mg->to);
			if (pi == GEN_NONE || c->p[pi].canc_reason == 0)
				pi = gen_person_new(x, c);
			if (pi == GEN_NONE)
				return;
			ids[g] = pi;
			struct gen_person *p = &c->p[pi];
			*p = mg->p;
			p->fam = p->next = p->partner = GEN_NONE;
			p->touched = 0;
			p->canc_reason = 0;
			p->canc_date = 0;
			p->dest = 0;
			p->reg_reason = 3;
			p->reg_date = x->today;
			gen_family_add(c, fi, pi);
			c->residents++;
			gen_touch_person(x, c, pi);
			gen_event_add(x, c, EVT_IMMIGRAZIONE, pi, mg->from_place, GEN_NONE);
		}
		/* partners who moved together stay partners */
		for (size_t g = 0; g < n; g++) {
			uint32_t op = x->mig[k + g].old_partner;
			for (size_t h = 0; h < n && op != GEN_NONE; h++)
				if (x->mig[k + h].old_index == op)
					c->p[ids[g]].partner = ids[h];
		}
		if (gen_family_head(c, fi) == GEN_NONE)
			gen_family_rehead(x, c, fi, GEN_NONE);
		k = end;
	}
	x->nmig = 0;
}

/* ------------------------------------------------------------------ day */

static void run_n(struct gen_ctx *x, struct gen_comune *c, double lambda,
		  void (*fn)(struct gen_ctx *, struct gen_comune *))
{
	uint32_t n = gen_rng_poisson(&c->rng, lambda);
	for (uint32_t k = 0; k < n && !x->err; k++)
		fn(x, c);
}

void gen_day_simulate(struct gen_ctx *x, struct gen_comune *c, size_t ci)
{
	const struct gen_data *d = &x->d;
	double pop = c->residents, perday = pop / 365.0;
	int m = DATE_MONTH(x->today);
	double md = month_days(x->today);
	run_n(x, c, perday * RATE_DEATHS, ev_death);
	run_n(x, c, perday * RATE_BIRTHS, ev_birth);
	run_n(x, c, perday * RATE_MARRIAGES, ev_marriage);
	run_n(x, c, perday * RATE_DIVORCES, ev_divorce);
	run_n(x, c, perday * RATE_UNIONS, ev_union);
	run_n(x, c, perday * RATE_DISSOLUTIONS, ev_dissolution);
	run_n(x, c, perday * RATE_CITIZENSHIP, ev_citizenship);
	run_n(x, c, pop * d->r_same[m] / md, ev_move);
	struct gen_rng *r = &c->rng;
	uint32_t n;
	n = gen_rng_poisson(r, pop * d->r_region[m] / md);
	for (uint32_t k = 0; k < n && !x->err; k++)
		ev_emigration(x, c, ci, 0);
	n = gen_rng_poisson(r, pop * d->r_other[m] / md);
	for (uint32_t k = 0; k < n && !x->err; k++)
		ev_emigration(x, c, ci, 1);
	n = gen_rng_poisson(r, pop * d->r_out[m] / md);
	for (uint32_t k = 0; k < n && !x->err; k++)
		ev_emigration(x, c, ci, 2);
	n = gen_rng_poisson(r, perday * RATE_FOREIGN_OUT);
	for (uint32_t k = 0; k < n && !x->err; k++)
		ev_emigration(x, c, ci, 3);
	/* internal arrivals balance internal departures (those within the
	 * run arrive through gen_day_arrivals) */
	double internal = pop * (d->r_region[m] + d->r_other[m]) / md;
	if (x->nc > 1)
		internal *= 1.0 - RUN_MIGRATION_SHARE;
	n = gen_rng_poisson(r, internal);
	for (uint32_t k = 0; k < n && !x->err; k++)
		ev_immigration(x, c, false, gen_rng_chance(r, 0.15));
	n = gen_rng_poisson(r, perday * RATE_FOREIGN_IN);
	for (uint32_t k = 0; k < n && !x->err; k++)
		ev_immigration(x, c, true, true);
	n = gen_rng_poisson(r, pop * d->r_back[m] / md);
	for (uint32_t k = 0; k < n && !x->err; k++)
		ev_immigration(x, c, true, false);
}
