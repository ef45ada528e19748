/* gen_pop — persons and households: creation from a plan, codici fiscali,
 * relationships, and the FULL population of a municipality.  See
 * gen_impl.h and docs/generator.md. */
#include "gen/gen_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "refdata/refdata.h"

#define DAYS_YEAR 365
#define CIVIL_UNIONS_FROM 20160605 /* legge 76/2016 in force */
#define DIVORCE_FROM 19701218      /* legge 898/1970 in force */
#define NAMESAKE_P (1.0 / 2500.0)  /* a free-surname person copies an earlier one */
/* Households with two nuclei (docs/generator.md, "Families with children") */
#define ELDER_COUPLE_P 0.3         /* the parent living with a couple has a partner */
#define MARRIED_CHILD_P 0.09       /* the oldest child, 25+, is married, spouse at home */

/* ------------------------------------------------------------ small helpers */

static int sexi(char s)
{
	return s == 'F';
}

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static int add_years(int date, int years)
{
	int y = DATE_YEAR(date) + years, m = DATE_MONTH(date), d = DATE_DAY(date);
	if (m == 2 && d == 29 && !date_valid(y, 2, 29))
		d = 28;
	return DATE_MAKE(y, m, d);
}

static int add_days(int date, int days)
{
	return date_add_days(date, days);
}

static int days_between(int a, int b)
{
	return (int)(date_to_days(b) - date_to_days(a));
}

/* A uniform day in [lo, hi]; lo when the range is empty. */
static int rand_date(struct gen_rng *r, int lo, int hi)
{
	int n = days_between(lo, hi);
	return n <= 0 ? lo : add_days(lo, (int)gen_rng_below(r, (uint32_t)n + 1));
}

static int maxi(int a, int b)
{
	return a > b ? a : b;
}

static int mini(int a, int b)
{
	return a < b ? a : b;
}

vis_err gen_fail(struct gen_ctx *x, vis_err code, const char *msg)
{
	if (!x->err)
		x->err = vis_error_set(x->e, code, "%s", msg);
	return x->err;
}

int gen_birth_for_age(struct gen_rng *r, int age, int ref)
{
	int anniv = add_years(ref, -age);
	return add_days(anniv, -(int)gen_rng_below(r, DAYS_YEAR));
}

/* ------------------------------------------------------- places of birth */

static bool row_valid_on(const struct ref_comune *rc, int date)
{
	return rc->belfiore[0] && rc->valid_from <= date &&
	       (rc->valid_to == 0 || date <= rc->valid_to);
}

/* mode 0: the municipality itself (else its province), 1: its province,
 * 2: anywhere in Italy. */
int32_t gen_pick_birth_place_it(struct gen_ctx *x, struct gen_comune *c, int birth, int mode,
				char belfiore[5])
{
	const struct refdata *rd = x->rd;
	if (mode == 0) {
		const struct ref_comune *rc = refdata_comune_by_istat(rd, c->istat, birth);
		if (!rc || !row_valid_on(rc, birth)) /* the code changed since: same place */
			rc = refdata_comune_by_belfiore(rd, c->belfiore, birth);
		if (rc && row_valid_on(rc, birth)) {
			memcpy(belfiore, rc->belfiore, 5);
			return atoi(rc->istat);
		}
		mode = 1;
	}
	if (mode == 1 && c->row_hi > c->row_lo) {
		for (int t = 0; t < 40; t++) {
			size_t i = c->row_lo + gen_rng_below(&c->rng, (uint32_t)(c->row_hi - c->row_lo));
			const struct ref_comune *rc = refdata_comune_at(rd, i);
			if (row_valid_on(rc, birth)) {
				memcpy(belfiore, rc->belfiore, 5);
				return atoi(rc->istat);
			}
		}
	}
	for (int t = 0; t < 80; t++) {
		size_t i = gen_rng_below(&c->rng, (uint32_t)x->d.nrows);
		const struct ref_comune *rc = refdata_comune_at(rd, i);
		if (row_valid_on(rc, birth)) {
			memcpy(belfiore, rc->belfiore, 5);
			return atoi(rc->istat);
		}
	}
	memcpy(belfiore, c->belfiore, 5);
	return c->code;
}

const char *gen_place_belfiore(struct gen_ctx *x, int32_t place, int birth)
{
	char code[8];
	if (GEN_PLACE_IS_STATE(place)) {
		snprintf(code, sizeof code, "%03d", (int)place);
		const struct ref_stato *s = refdata_stato_by_istat(x->rd, code);
		return s && s->belfiore[0] ? s->belfiore : NULL;
	}
	snprintf(code, sizeof code, "%06d", (int)place);
	const struct ref_comune *rc = refdata_comune_by_istat(x->rd, code, birth);
	return rc && rc->belfiore[0] ? rc->belfiore : NULL;
}

static bool place_suppressed(struct gen_ctx *x, int32_t place)
{
	if (GEN_PLACE_IS_STATE(place))
		return false;
	char code[8];
	snprintf(code, sizeof code, "%06d", (int)place);
	const struct ref_comune *rc = refdata_comune_by_istat(x->rd, code, 0);
	return rc && !rc->active;
}

/* ------------------------------------------------------------ names */

uint32_t gen_pick_name(struct gen_ctx *x, struct gen_comune *c, char sex, int group, int birth)
{
	const struct gen_data *d = &x->d;
	int s = sexi(sex);
	if (group != GRP_IT) {
		const struct gen_names *g = &d->grp[group];
		return s ? g->f[gen_rng_below(&c->rng, g->nf)] : g->m[gen_rng_below(&c->rng, g->nm)];
	}
	int y = DATE_YEAR(birth);
	double p = y < 1950 ? 0.7 : y < 1965 ? 0.5 : y < 1975 ? 0.25 : y < 1985 ? 0.1 : 0.0;
	if (d->ntrad[s] && gen_rng_chance(&c->rng, p)) {
		/* rank-weighted: the first names of the list are the commonest */
		uint32_t k = gen_rng_below(&c->rng, d->ntrad[s]);
		k = gen_rng_below(&c->rng, k + 1);
		return d->trad[s][k];
	}
	return s ? d->it.f[gen_wtable_pick(&d->w_nf, &c->rng)]
		 : d->it.m[gen_wtable_pick(&d->w_nm, &c->rng)];
}

uint32_t gen_pick_surname(struct gen_ctx *x, struct gen_comune *c, int group)
{
	const struct gen_data *d = &x->d;
	if (group != GRP_IT) {
		const struct gen_names *g = &d->grp[group];
		return g->sur[gen_rng_below(&c->rng, g->nsur)];
	}
	if (c->prov != GEN_NONE && gen_rng_chance(&c->rng, 0.05)) {
		static const double w[10] = {1 / 4.0, 1 / 5.0, 1 / 6.0, 1 / 7.0, 1 / 8.0,
					     1 / 9.0, 1 / 10.0, 1 / 11.0, 1 / 12.0, 1 / 13.0};
		double v = gen_rng_unit(&c->rng) * 1.2274864024864025, s = 0;
		for (int i = 0; i < 10; i++) {
			s += w[i];
			if (v < s && d->prov[c->prov].top[i] != GEN_NONE)
				return d->prov[c->prov].top[i];
		}
	}
	return d->it.sur[gen_wtable_pick(&d->w_sur, &c->rng)];
}

/* ---------------------------------------------------- persons, households */

uint32_t gen_person_new(struct gen_ctx *x, struct gen_comune *c)
{
	if (c->np >= GEN_MAX_PERSONS * 2u ||
	    !gen_grow((void **)&c->p, &c->capp, c->np + 1, sizeof *c->p)) {
		gen_fail(x, VIS_ERR_NOMEM, "memoria esaurita");
		return GEN_NONE;
	}
	struct gen_person *p = &c->p[c->np];
	memset(p, 0, sizeof *p);
	p->cf = p->father_cf = p->mother_cf = GEN_NONE;
	p->fam = p->next = p->partner = GEN_NONE;
	p->cit[0] = 100;
	p->cs = 1;
	p->sex = 'M';
	return c->np++;
}

bool gen_person_cf(struct gen_ctx *x, struct gen_person *p)
{
	const char *bf = gen_place_belfiore(x, p->birth_place, p->birth);
	char base[CF_LEN + 1];
	if (!bf || !cf_compute(x->d.str[p->surname], x->d.str[p->name], p->sex,
			       DATE_YEAR(p->birth), DATE_MONTH(p->birth), DATE_DAY(p->birth), bf,
			       base)) {
		gen_fail(x, VIS_ERR_INTERNAL, "impossibile calcolare un codice fiscale");
		return false;
	}
	int level = 0;
	p->cf = gen_cfreg_issue(&x->cf, base, &level);
	if (p->cf == GEN_NONE) {
		gen_fail(x, VIS_ERR_NOMEM, "impossibile assegnare un codice fiscale");
		return false;
	}
	if (level > 0)
		x->st.omocodie++;
	if (place_suppressed(x, p->birth_place))
		x->st.born_suppressed++;
	return true;
}

/* A rural way: a LOCALITA', a CONTRADA, a VIA VICINALE or a STRADA
 * PROVINCIALE. */
static bool street_rural(const struct gen_street *s)
{
	const char *dug = gen_dug_name(s->dug);
	return !strcmp(dug, "LOCALITA'") || !strcmp(dug, "CONTRADA") ||
	       !strcmp(dug, "VIA VICINALE") || !strcmp(dug, "STRADA PROVINCIALE");
}

void gen_family_address(struct gen_ctx *x, struct gen_comune *c, uint32_t fi)
{
	(void)x;
	struct gen_family *f = &c->f[fi];
	struct gen_rng *r = &c->rng;
	f->street = gen_wtable_pick(&c->w_streets, r);
	const struct gen_street *s = &c->streets[f->street];
	bool rural = street_rural(s);
	f->civic = (uint16_t)(1 + gen_rng_below(r, s->maxciv));
	if (gen_rng_chance(r, rural ? 0.25 : 0.008))
		f->civic = 0;
	f->letter = 0;
	if (f->civic && gen_rng_chance(r, 0.07))
		f->letter = (uint8_t)(1 + gen_rng_below(r, 6));
	f->scala = 0;
	f->interno = 0;
	if (!rural && f->kind == 1) {
		bool city = c->target >= 20000;
		if (gen_rng_chance(r, city ? 0.6 : 0.25))
			f->interno = (uint16_t)(1 + gen_rng_below(r, city ? 40 : 12));
		if (f->interno && gen_rng_chance(r, city ? 0.3 : 0.1))
			f->scala = (uint8_t)(1 + gen_rng_below(r, 4));
	}
	f->frazione = s->frazione;
}

uint32_t gen_family_new(struct gen_ctx *x, struct gen_comune *c, uint8_t kind, int valid_from)
{
	if (!gen_grow((void **)&c->f, &c->capf, c->nf + 1, sizeof *c->f)) {
		gen_fail(x, VIS_ERR_NOMEM, "memoria esaurita");
		return GEN_NONE;
	}
	struct gen_family *f = &c->f[c->nf];
	memset(f, 0, sizeof *f);
	f->first = GEN_NONE;
	f->kind = kind;
	f->valid_from = valid_from;
	uint32_t fi = c->nf++;
	gen_family_address(x, c, fi);
	x->st.households++;
	if (kind == 2)
		x->st.convivenze++;
	return fi;
}

void gen_family_add(struct gen_comune *c, uint32_t fi, uint32_t pi)
{
	struct gen_person *p = &c->p[pi];
	p->fam = fi;
	p->next = c->f[fi].first;
	c->f[fi].first = pi;
	c->f[fi].size++;
}

/* Unlinks p from its household's member list; p->fam is kept. */
void gen_family_remove(struct gen_comune *c, uint32_t pi)
{
	struct gen_person *p = &c->p[pi];
	if (p->fam == GEN_NONE)
		return;
	struct gen_family *f = &c->f[p->fam];
	uint32_t *link = &f->first;
	while (*link != GEN_NONE && *link != pi)
		link = &c->p[*link].next;
	if (*link == pi) {
		*link = p->next;
		f->size--;
	}
	p->next = GEN_NONE;
}

uint32_t gen_family_head(const struct gen_comune *c, uint32_t fi)
{
	for (uint32_t m = c->f[fi].first; m != GEN_NONE; m = c->p[m].next)
		if (c->p[m].rel == 1 || c->p[m].rel == 24)
			return m;
	return GEN_NONE;
}

static bool is_parent_of(const struct gen_comune *c, uint32_t parent, uint32_t child)
{
	const struct gen_person *ch = &c->p[child];
	uint32_t cf = c->p[parent].cf;
	return cf != GEN_NONE && (ch->father_cf == cf || ch->mother_cf == cf);
}

static uint8_t partner_rel(const struct gen_person *p)
{
	return p->cs == 2 ? 2 : p->cs == 6 ? 28 : 23;
}

/* The relationship of m to new head n, given both relationships to the old
 * head (rn for n). */
static uint8_t rel_after(const struct gen_comune *c, uint32_t n, uint8_t rn, uint32_t m)
{
	const struct gen_person *pm = &c->p[m];
	uint8_t old = pm->rel;
	if (pm->partner == n)
		return partner_rel(pm);
	if (is_parent_of(c, n, m))
		return 3;
	if (is_parent_of(c, m, n))
		return 6;
	switch (rn) {
	case 2: case 23: case 28: /* the old head's partner */
		switch (old) {
		case 3: return 13;
		case 13: return 3;
		case 4: return 4;
		case 6: return 17;
		case 17: return 6;
		case 9: return 18;
		case 18: return 9;
		case 16: return 16;
		default: return 12;
		}
	case 3: case 13: /* a child of the old head */
		switch (old) {
		case 3: case 13: return 9;
		case 2: case 23: case 28: return 19;
		case 6: case 17: return 7;
		case 4: return 5;
		case 16: return 18;
		default: return 12;
		}
	case 6: case 17: /* a parent of the old head */
		switch (old) {
		case 3: case 13: return 4;
		case 2: case 23: case 28: return 19;
		case 9: return 3;
		default: return 12;
		}
	case 9: /* a sibling */
		switch (old) {
		case 9: return 9;
		case 3: case 13: return 5;
		case 6: return 6;
		default: return 12;
		}
	default:
		return 12;
	}
}

void gen_family_rehead(struct gen_ctx *x, struct gen_comune *c, uint32_t fi, uint32_t old_head)
{
	struct gen_family *f = &c->f[fi];
	if (f->first == GEN_NONE)
		return;
	uint32_t n = GEN_NONE;
	if (old_head != GEN_NONE && c->p[old_head].partner != GEN_NONE &&
	    c->p[c->p[old_head].partner].fam == fi &&
	    c->p[c->p[old_head].partner].canc_reason == 0)
		n = c->p[old_head].partner;
	if (f->kind == 2) {
		/* convivenza: the youngest adult becomes the person in charge */
		for (uint32_t m = f->first; m != GEN_NONE; m = c->p[m].next)
			if (date_age(c->p[m].birth, x->today) >= 18 &&
			    (n == GEN_NONE || c->p[m].birth > c->p[n].birth))
				n = m;
		if (n == GEN_NONE)
			n = f->first;
		if (c->p[n].rel != 24) {
			c->p[n].rel = 24;
			gen_touch_person(x, c, n);
		}
		return;
	}
	if (n == GEN_NONE) {
		/* the oldest adult, else the oldest */
		for (uint32_t m = f->first; m != GEN_NONE; m = c->p[m].next) {
			bool adult = date_age(c->p[m].birth, x->today) >= 18;
			bool nadult = n != GEN_NONE && date_age(c->p[n].birth, x->today) >= 18;
			if (n == GEN_NONE || (adult && !nadult) ||
			    (adult == nadult && c->p[m].birth < c->p[n].birth))
				n = m;
		}
	}
	uint8_t rn = c->p[n].rel;
	for (uint32_t m = f->first; m != GEN_NONE; m = c->p[m].next) {
		if (m == n)
			continue;
		uint8_t nr = rel_after(c, n, rn, m);
		if (nr != c->p[m].rel) {
			c->p[m].rel = nr;
			gen_touch_person(x, c, m);
		}
	}
	if (c->p[n].rel != 1) {
		c->p[n].rel = 1;
		gen_touch_person(x, c, n);
	}
}

/* Each street lies in one locality, as real streets do: the main centre
 * (0) or one of the comune's frazioni, rural ways more often out of the
 * centre (a LOCALITA' or CONTRADA named after one of them lies in it);
 * every household takes its street's.  A stream of its own, so that the
 * rest of the register drawn from the comune's is the same. */
static void streets_place(struct gen_comune *c, uint64_t seed)
{
	struct gen_rng r;
	gen_rng_seed(&r, seed ^ gen_hash64(c->istat) ^ 0x667261u);
	for (uint32_t i = 0; i < c->nstreets; i++) {
		struct gen_street *s = &c->streets[i];
		s->frazione = 0;
		if (!c->nfraz)
			continue;
		if (s->kind == 2) {
			for (unsigned j = 0; j < c->nfraz && !s->frazione; j++)
				if (c->fraz[j] == s->a)
					s->frazione = (uint8_t)(1 + j);
			if (s->frazione)
				continue;
		}
		if (gen_rng_chance(&r, street_rural(s) ? 0.6 : 0.1))
			s->frazione = (uint8_t)(1 + gen_rng_below(&r, c->nfraz));
	}
	/* and every frazione has a street at least (never the first: the
	 * centre's main square) */
	for (unsigned j = 1; j <= c->nfraz && c->nstreets > 1; j++) {
		bool has = false;
		for (uint32_t i = 0; i < c->nstreets && !has; i++)
			has = c->streets[i].frazione == j;
		for (int tries = 0; !has && tries < 64; tries++) {
			struct gen_street *s = &c->streets[1 + gen_rng_below(&r, c->nstreets - 1)];
			if (!s->frazione) {
				s->frazione = (uint8_t)j;
				has = true;
			}
		}
	}
}

/* ------------------------------------------------------- municipality */

vis_err gen_comune_init(struct gen_ctx *x, struct gen_comune *c, const char *istat,
			uint32_t target, uint64_t seed)
{
	memset(c, 0, sizeof *c);
	const struct ref_comune *rc = refdata_comune_by_istat(x->rd, istat, x->full_date);
	if (!rc || !rc->active || !rc->belfiore[0])
		return vis_error_set(x->e, VIS_ERR_INVALID, "'%s' non è un comune attivo", istat);
	memcpy(c->istat, rc->istat, 7);
	memcpy(c->sigla, rc->province, 3);
	memcpy(c->region, rc->region, 3);
	memcpy(c->belfiore, rc->belfiore, 5);
	c->code = atoi(rc->istat);
	c->name = rc->name;
	c->target = target;
	c->prov = GEN_NONE;
	gen_rng_seed(&c->rng, seed ^ gen_hash64(istat));
	for (uint32_t i = 0; i < x->d.nprov; i++)
		if (!strcmp(x->d.prov[i].sigla, c->sigla)) {
			c->prov = i;
			break;
		}
	for (uint32_t i = 0; c->prov == GEN_NONE && i < x->d.nprov; i++)
		if (!strcmp(x->d.prov[i].region, c->region))
			c->prov = i;
	/* rows of the same ISTAT province: contiguous, the table is sorted by code */
	size_t n = refdata_comune_count(x->rd);
	c->row_lo = c->row_hi = 0;
	for (size_t i = 0; i < n; i++) {
		const struct ref_comune *r = refdata_comune_at(x->rd, i);
		if (!memcmp(r->istat, c->istat, 3)) {
			if (c->row_hi == 0)
				c->row_lo = i;
			c->row_hi = i + 1;
		}
	}
	int prefix = gen_cap_prefix(c->sigla);
	if (prefix < 0)
		prefix = atoi(c->istat) / 1000 % 100;
	int prog = c->code % 1000;
	unsigned capv = (unsigned)(prefix % 100) * 1000u + 10u + (unsigned)(prog * 37 % 90);
	for (int k = 4; k >= 0; k--, capv /= 10)
		c->cap[k] = (char)('0' + capv % 10);
	c->cap[5] = '\0';

	/* streets: built-in names in a seeded order, then "name surname" ones */
	uint32_t ns = clampi((int)(target / 90), 8, 6000);
	unsigned nb = gen_street_count();
	c->streets = calloc(ns, sizeof *c->streets);
	double *w = calloc(ns, sizeof *w);
	uint32_t *perm = malloc(nb * sizeof *perm);
	if (!c->streets || !w || !perm) {
		free(w);
		free(perm);
		return vis_error_set(x->e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	for (unsigned i = 0; i < nb; i++)
		perm[i] = i;
	for (unsigned i = nb; i > 1; i--) {
		uint32_t j = gen_rng_below(&c->rng, i), t = perm[i - 1];
		perm[i - 1] = perm[j];
		perm[j] = t;
	}
	static const double dug_w[] = {66, 6, 5, 2, 6, 2, 4, 2, 3, 1, 1, 1, 0.6, 0.4};
	struct gen_wtable wd;
	if (!gen_wtable_init(&wd, dug_w, gen_dug_count())) {
		free(w);
		free(perm);
		return vis_error_set(x->e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	int corsi = 0;
	for (uint32_t i = 0; i < ns; i++) {
		struct gen_street *s = &c->streets[i];
		if (i < nb) {
			s->kind = 0;
			s->a = perm[i];
		} else {
			s->kind = 1;
			s->a = gen_pick_name(x, c, gen_rng_chance(&c->rng, 0.8) ? 'M' : 'F', GRP_IT,
					     19000101);
			s->b = gen_pick_surname(x, c, GRP_IT);
		}
		s->dug = (uint8_t)(i == 0 ? 1 : gen_wtable_pick(&wd, &c->rng));
		if (s->dug == 3 && ++corsi > 4)
			s->dug = 0;
		const char *dug = gen_dug_name(s->dug);
		/* rural ways are named after places and families, or numbered */
		if (!strcmp(dug, "LOCALITA'") || !strcmp(dug, "CONTRADA")) {
			if (gen_rng_chance(&c->rng, 0.5)) {
				s->kind = 2;
				s->a = gen_rng_below(&c->rng, gen_frazione_count());
			} else {
				s->kind = 3;
				s->b = gen_pick_surname(x, c, GRP_IT);
			}
		} else if (!strcmp(dug, "STRADA PROVINCIALE")) {
			s->kind = 4;
			s->a = 1 + gen_rng_below(&c->rng, 400);
		}
		double u = gen_rng_unit(&c->rng);
		if (!strcmp(dug, "VIA") || !strcmp(dug, "VIALE") || !strcmp(dug, "CORSO") ||
		    !strcmp(dug, "STRADA"))
			s->maxciv = (uint16_t)(6 + u * u * 240);
		else
			s->maxciv = (uint16_t)(2 + u * 40);
		w[i] = s->maxciv;
	}
	gen_wtable_free(&wd);
	free(perm);
	bool ok = gen_wtable_init(&c->w_streets, w, ns);
	free(w);
	if (!ok)
		return vis_error_set(x->e, VIS_ERR_NOMEM, "memoria esaurita");
	c->nstreets = ns;
	if (target < 200000) {
		c->nfraz = (uint8_t)gen_rng_below(&c->rng, 5);
		for (unsigned i = 0; i < c->nfraz; i++)
			c->fraz[i] = (uint8_t)gen_rng_below(&c->rng, gen_frazione_count());
	}
	streets_place(c, seed);
	for (int s = 0; s < 2; s++)
		for (int a = 0; a < GEN_AGES; a++)
			c->last_free[s][a] = GEN_NONE;
	c->seq = 1;
	return VIS_OK;
}

void gen_comune_free(struct gen_comune *c)
{
	free(c->streets);
	gen_wtable_free(&c->w_streets);
	free(c->p);
	free(c->f);
	free(c->dper);
	free(c->dfam);
	free(c->ev);
	memset(c, 0, sizeof *c);
}

/* -------------------------------------------------------- plan -> persons */

static int rand_arrival_date(struct gen_rng *r, int lo, int ref, double mean_years)
{
	/* exponential look-back: recent arrivals are the commonest */
	double back = -log(1.0 - gen_rng_unit(r)) * mean_years * DAYS_YEAR;
	int d = add_days(ref, -(int)back - 1);
	if (d < lo)
		d = rand_date(r, lo, ref);
	return d > ref ? ref : d;
}

static int reg_after_birth(struct gen_rng *r, int birth, int ref)
{
	int d = add_days(birth, (int)gen_rng_below(r, 11));
	return d > ref ? ref : d;
}

static uint8_t cs_single(struct gen_rng *r, int age, char sex)
{
	double u = gen_rng_unit(r);
	bool f = sex == 'F';
	if (age < 25)
		return 1;
	double widow = age < 55 ? 0.02 : age < 65 ? (f ? 0.15 : 0.05) : age < 75 ? (f ? 0.45 : 0.2)
		     : age < 85 ? (f ? 0.72 : 0.45) : (f ? 0.86 : 0.65);
	double div = age < 35 ? 0.05 : age < 70 ? 0.24 : 0.08;
	double sep = age >= 35 && age < 75 ? 0.05 : 0.0;
	if (u < widow)
		return 3;
	u -= widow;
	if (u < div)
		return 4;
	u -= div;
	if (u < sep)
		return 2;
	return 1;
}

/* A deed date for civil status cs of someone born on birth, or 0 when
 * none fits (the caller then falls back to status 1). */
static int cs_date_for(struct gen_rng *r, uint8_t cs, int birth, int ref)
{
	int lo, hi = add_days(ref, -1);
	switch (cs) {
	case 2:
		lo = add_years(birth, 20);
		hi = mini(hi, add_years(birth, 38));
		break;
	case 3:
		lo = maxi(add_years(birth, 28), add_years(ref, -40));
		break;
	case 4:
	case 8:
		lo = maxi(add_years(birth, 24), DIVORCE_FROM);
		break;
	case 6:
	case 7:
		lo = maxi(add_years(birth, 18), CIVIL_UNIONS_FROM);
		break;
	default:
		return 0;
	}
	if (lo > hi)
		return 0;
	return rand_date(r, lo, hi);
}

static int32_t pick_expat_country(struct gen_ctx *x, struct gen_comune *c)
{
	uint32_t k = x->d.expat[gen_wtable_pick(&x->d.w_expat, &c->rng)];
	return x->d.ctry[k].istat;
}

/* Birth place of an Italian who has lived here since birth (mode 0/1) or
 * came from elsewhere. */
static int32_t italian_birth_place(struct gen_ctx *x, struct gen_comune *c, int birth, bool native)
{
	char bf[5];
	if (native)
		return gen_pick_birth_place_it(x, c, birth, gen_rng_chance(&c->rng, 0.55) ? 0 : 1, bf);
	double u = gen_rng_unit(&c->rng);
	if (u < 0.04)
		return pick_expat_country(x, c);
	return gen_pick_birth_place_it(x, c, birth, u < 0.38 ? 1 : 2, bf);
}

/* Birth dates of the members, children of a mother spaced by at least 300
 * days unless twins. */
static void plan_births(struct gen_comune *c, const struct gen_plan *pl, int ref, int *birth)
{
	for (int i = 0; i < pl->n; i++) {
		const struct gen_member *m = &pl->m[i];
		birth[i] = (m->twin && i > 0) ? birth[i - 1] : gen_birth_for_age(&c->rng, m->age, ref);
	}
	for (int i = 0; i < pl->n; i++) {
		const struct gen_member *m = &pl->m[i];
		int par = m->mother >= 0 ? m->mother : m->father;
		if (par < 0 || m->twin)
			continue;
		for (int j = 0; j < i; j++) {
			const struct gen_member *o = &pl->m[j];
			int opar = o->mother >= 0 ? o->mother : o->father;
			if (opar != par || birth[j] == birth[i])
				continue;
			int gap = days_between(birth[j], birth[i]);
			if (gap > -300 && gap < 300) {
				int nb = add_days(birth[j], 300 + (int)gen_rng_below(&c->rng, 200));
				birth[i] = nb > ref ? birth[j] : nb;
			}
		}
	}
}

static bool realize_fail(struct gen_ctx *x)
{
	return x->err != VIS_OK;
}

uint32_t gen_plan_realize(struct gen_ctx *x, struct gen_comune *c, struct gen_plan *pl,
			  uint32_t *ids)
{
	const struct gen_data *d = &x->d;
	struct gen_rng *r = &c->rng;
	bool full = pl->mode == PLAN_FULL;
	int ref = full ? x->full_date : x->today;
	int birth[GEN_PLAN_MAX];
	uint32_t pid[GEN_PLAN_MAX];
	if (pl->n == 0 || pl->n > GEN_PLAN_MAX)
		return GEN_NONE;
	plan_births(c, pl, ref, birth);

	int head = 0;
	for (int i = 0; i < pl->n; i++)
		if (pl->m[i].rel == 1 || pl->m[i].rel == 24)
			head = i;
	const struct gen_country *ctry = pl->country != GEN_NONE ? &d->ctry[pl->country] : NULL;

	/* household history (PLAN_FULL): since birth, or since an arrival date */
	bool head_foreign = pl->m[head].foreign && ctry;
	int head_adult = add_years(birth[head], 18);
	int hh_arr = 0; /* 0: the head has lived here since birth */
	uint8_t hh_reason = 3;
	int32_t hh_origin = 0;
	if (!full) {
		hh_arr = ref;
		hh_origin = pl->origin;
		hh_reason = GEN_PLACE_IS_STATE(pl->origin) ? 4 : 3;
	} else if (head_foreign) {
		int lo = maxi(maxi(add_years(birth[head], 16), 19900101), add_years(ref, -35));
		hh_arr = rand_arrival_date(r, mini(lo, ref), ref, 9.0);
		hh_reason = gen_rng_chance(r, 0.7) ? 4 : 3;
	} else if (pl->kind == 2 || !gen_rng_chance(r, 0.5)) {
		hh_arr = rand_arrival_date(r, mini(head_adult, ref), ref, 14.0);
		hh_reason = gen_rng_chance(r, 0.04) ? 4 : 3;
	}
	if (full && hh_arr && hh_reason == 4)
		hh_origin = head_foreign ? ctry->istat : pick_expat_country(x, c);

	/* the persons */
	for (int i = 0; i < pl->n; i++) {
		uint32_t pi = gen_person_new(x, c);
		if (pi == GEN_NONE)
			return GEN_NONE;
		pid[i] = pi;
		struct gen_person *p = &c->p[pi];
		const struct gen_member *m = &pl->m[i];
		p->sex = m->sex;
		p->birth = birth[i];
		p->rel = m->rel;
		if (m->foreign && ctry) {
			p->cit[0] = ctry->istat;
			p->group = ctry->group;
		}
	}
	/* surnames: free ones first, then copies */
	for (int i = 0; i < pl->n && pl->absent_surname == GEN_NONE; i++)
		if (pl->m[i].surname_of == GEN_PLAN_MAX)
			pl->absent_surname = gen_pick_surname(x, c, c->p[pid[i]].group);
	for (int i = 0; i < pl->n; i++)
		if (pl->m[i].surname_of < 0)
			c->p[pid[i]].surname = gen_pick_surname(x, c, c->p[pid[i]].group);
	for (int pass = 0; pass < 3; pass++)
		for (int i = 0; i < pl->n; i++) {
			int so = pl->m[i].surname_of;
			if (so >= 0)
				c->p[pid[i]].surname = so < pl->n ? c->p[pid[so]].surname
								  : pl->absent_surname;
		}

	/* registration, birth place, names */
	for (int i = 0; i < pl->n; i++) {
		struct gen_person *p = &c->p[pid[i]];
		const struct gen_member *m = &pl->m[i];
		bool foreign = m->foreign && ctry;
		int arr; /* 0 = here since birth */
		uint8_t reason = hh_reason;
		int32_t origin = hh_origin;
		if (!full) {
			arr = ref;
		} else if (m->elder) {
			arr = (!hh_arr && !foreign && gen_rng_chance(r, 0.3))
				      ? 0 : rand_date(r, maxi(hh_arr, add_years(p->birth, 60)), ref);
			if (arr)
				reason = 3, origin = 0;
		} else if (i == head || m->partner == head) {
			arr = hh_arr;
			if (i != head && !hh_arr && (foreign || !gen_rng_chance(r, 0.35))) {
				/* moved in when the couple formed */
				arr = rand_date(r, mini(add_years(p->birth, 18), ref), ref);
				reason = foreign ? 4 : 3;
				origin = foreign ? ctry->istat : 0;
			}
		} else if (m->rel == 16) {
			/* moved in with the spouse, a child of the household */
			arr = rand_date(r, maxi(hh_arr, add_years(p->birth, 18)), ref);
			reason = 3;
			origin = 0;
		} else if (pl->kind == 2) {
			arr = gen_rng_chance(r, 0.5) ? 0 : rand_date(r, maxi(add_years(ref, -6), p->birth), ref);
			reason = 3;
			origin = 0;
		} else {
			arr = hh_arr && p->birth < hh_arr ? hh_arr : 0;
		}
		if (arr && arr < p->birth)
			arr = p->birth;
		/* birth place */
		if (foreign && (arr ? (reason == 4 || gen_rng_chance(r, 0.5)) : false)) {
			p->birth_place = ctry->istat;
		} else if (foreign && !arr) {
			char bf[5];
			p->birth_place = gen_pick_birth_place_it(x, c, p->birth,
								 gen_rng_chance(r, 0.55) ? 0 : 1, bf);
		} else if (foreign) {
			char bf[5];
			p->birth_place = gen_pick_birth_place_it(x, c, p->birth, 2, bf);
		} else if (arr && reason == 4 && origin && m->age < 18) {
			p->birth_place = origin;
		} else {
			p->birth_place = italian_birth_place(x, c, p->birth, !arr);
		}
		if (arr) {
			p->reg_reason = reason;
			p->reg_date = arr;
		} else {
			p->reg_reason = 1;
			p->reg_date = reg_after_birth(r, p->birth, ref);
		}
		/* names; Italian free-surname persons sometimes share everything with
		 * an earlier one (the namesakes that make omocodia happen) */
		p->name = gen_pick_name(x, c, p->sex, p->group, p->birth);
		for (int j = 0; j < i; j++)
			if (pl->m[j].mother == m->mother && m->mother >= 0 &&
			    c->p[pid[j]].name == p->name)
				p->name = gen_pick_name(x, c, p->sex, p->group, p->birth);
		if (!foreign && m->surname_of < 0 && m->age < GEN_AGES && m->age >= 18) {
			uint32_t *slot = &c->last_free[sexi(p->sex)][m->age];
			if (*slot != GEN_NONE && *slot < c->np && gen_rng_chance(r, NAMESAKE_P)) {
				const struct gen_person *q = &c->p[*slot];
				if (q->group == GRP_IT && q->canc_reason == 0 && q->fam != GEN_NONE &&
				    date_age(q->birth, ref) == m->age) {
					p->surname = q->surname;
					p->name = q->name;
					p->birth = q->birth;
					p->birth_place = q->birth_place;
					if (p->reg_date < p->birth)
						p->reg_date = p->birth;
					if (p->reg_reason == 1)
						p->reg_date = reg_after_birth(r, p->birth, ref);
				}
			}
			*slot = pid[i];
		}
	}

	/* civil status; each couple's date is drawn for the first of the two */
	int couple_dates[GEN_PLAN_MAX] = {0};
	for (int i = 0; i < pl->n; i++) {
		struct gen_person *p = &c->p[pid[i]];
		const struct gen_member *m = &pl->m[i];
		int age = date_age(p->birth, ref);
		if (m->partner >= 0) {
			struct gen_person *q = &c->p[pid[m->partner]];
			int couple_date = couple_dates[m->partner];
			p->partner = pid[m->partner];
			if (m->couple == 2) {
				p->cs = (age >= 35 && gen_rng_chance(r, 0.25)) ? 4 : 1;
				p->cs_date = p->cs == 4 ? cs_date_for(r, 4, p->birth, ref) : 0;
				if (p->cs == 4 && !p->cs_date)
					p->cs = 1;
				continue;
			}
			if (!couple_date) {
				int lo = maxi(add_years(p->birth, 18), add_years(q->birth, 18));
				if (m->couple == 3)
					lo = maxi(lo, CIVIL_UNIONS_FROM);
				int hi = add_days(ref, -1);
				int first = 0;
				for (int k = 0; k < pl->n; k++)
					if ((pl->m[k].mother == i || pl->m[k].father == i) &&
					    (pl->m[k].mother == m->partner || pl->m[k].father == m->partner) &&
					    (!first || c->p[pid[k]].birth < first))
						first = c->p[pid[k]].birth;
				int young = maxi(p->birth, q->birth);
				int want = first ? add_days(first, -(int)gen_rng_below(r, 1500))
						 : add_years(young, 24 + (int)gen_rng_below(r, 11));
				want = add_days(want, (int)gen_rng_below(r, 365));
				couple_date = clampi(want, lo, hi);
				if (lo > hi)
					couple_date = ref;
			}
			couple_dates[i] = couple_date;
			p->cs = m->couple == 3 ? 6 : 2;
			p->cs_date = couple_date;
			continue;
		}
		uint8_t cs = m->cs;
		if (!cs)
			cs = age < 16 ? 1 : cs_single(r, age, p->sex);
		if (cs == 2 && m->age < 20)
			cs = 1;
		p->cs = cs;
		p->cs_date = 0;
		if (cs != 1 && cs != 9) {
			p->cs_date = cs_date_for(r, cs, p->birth, ref);
			if (!p->cs_date)
				p->cs = 1;
		}
		if (p->cs == 1 && m->foreign && age >= 18 && gen_rng_chance(r, 0.03))
			p->cs = 9;
	}

	/* codici fiscali, parents, validity */
	for (int i = 0; i < pl->n; i++) {
		struct gen_person *p = &c->p[pid[i]];
		if (p->reg_date < p->birth)
			p->reg_date = p->birth;
		if (p->reg_date > ref)
			p->reg_date = ref;
		if (!gen_person_cf(x, p))
			return GEN_NONE;
	}
	for (int i = 0; i < pl->n; i++) {
		struct gen_person *p = &c->p[pid[i]];
		const struct gen_member *m = &pl->m[i];
		if (m->father >= 0)
			p->father_cf = c->p[pid[m->father]].cf;
		if (m->mother >= 0)
			p->mother_cf = c->p[pid[m->mother]].cf;
		/* some foreign-born residents have become Italian as well */
		if (full && p->cit[0] != 100 && date_age(p->reg_date, ref) >= 10 &&
		    gen_rng_chance(r, 0.25))
			p->cit[1] = p->cit[0], p->cit[0] = 100;
		p->valid_from = maxi(p->reg_date, p->cs_date);
		if (!full)
			p->valid_from = ref;
	}

	/* the household */
	uint32_t fi = pl->join;
	if (fi == GEN_NONE) {
		int vf = ref;
		if (full) {
			int lo = c->p[pid[head]].reg_date;
			lo = maxi(lo, mini(add_years(c->p[pid[head]].birth, 18), ref));
			if (pl->m[head].partner >= 0)
				lo = maxi(lo, c->p[pid[pl->m[head].partner]].reg_date);
			vf = rand_arrival_date(r, mini(lo, ref), ref, 9.0);
		}
		fi = gen_family_new(x, c, pl->kind, vf);
		if (fi == GEN_NONE)
			return GEN_NONE;
		c->f[fi].conv_name = pl->conv_name;
	}
	for (int i = 0; i < pl->n; i++) {
		gen_family_add(c, fi, pid[i]);
		c->residents++;
		if (ids)
			ids[i] = pid[i];
		if (!full)
			gen_touch_person(x, c, pid[i]);
	}
	if (!full && pl->join == GEN_NONE)
		gen_touch_family(x, c, fi);
	return realize_fail(x) ? GEN_NONE : fi;
}

/* ------------------------------------------------------ the FULL builder */

void gen_plan_init(struct gen_plan *pl, enum gen_plan_mode mode, uint8_t kind)
{
	pl->n = 0;
	pl->kind = kind;
	pl->couple = 0;
	pl->country = GEN_NONE;
	pl->absent_surname = GEN_NONE;
	pl->mode = mode;
	pl->origin = 0;
	pl->join = GEN_NONE;
	pl->conv_name = 0;
}

int gen_plan_add(struct gen_plan *pl, char sex, int age, uint8_t rel)
{
	if (pl->n >= GEN_PLAN_MAX)
		return -1;
	struct gen_member *m = &pl->m[pl->n];
	memset(m, 0, sizeof *m);
	m->sex = sex;
	m->age = (int16_t)age;
	m->rel = rel;
	m->father = m->mother = m->partner = m->surname_of = -1;
	return pl->n++;
}

/* A couple of members a and b: b becomes the partner of the head a. */
static void plan_pair(struct gen_plan *pl, int a, int b, uint8_t kind)
{
	pl->m[a].partner = (int16_t)b;
	pl->m[b].partner = (int16_t)a;
	pl->m[a].couple = pl->m[b].couple = kind;
}

static void plan_couple(struct gen_plan *pl, int a, int b, uint8_t kind)
{
	plan_pair(pl, a, b, kind);
	pl->couple = kind;
	pl->m[b].rel = kind == 1 ? 2 : kind == 3 ? 28 : 23;
}

static void plan_foreign(struct gen_ctx *x, struct gen_comune *c, struct gen_plan *pl)
{
	pl->country = gen_wtable_pick(&x->d.w_foreign, &c->rng);
	for (int i = 0; i < pl->n; i++)
		pl->m[i].foreign = true;
}

/* Persons not yet in a household, counted by sex and age. */
struct pool {
	uint32_t n[2][GEN_AGES];
	uint64_t tot[2];
};

static void pool_put(struct pool *p, int s, int a)
{
	p->n[s][a]++;
	p->tot[s]++;
}

/* Takes the available age nearest to target within [lo, hi]; -1 if none. */
static int pool_take_near(struct pool *p, struct gen_rng *r, int s, int lo, int hi, int target)
{
	lo = maxi(lo, 0);
	hi = mini(hi, GEN_AGES - 1);
	if (lo > hi || !p->tot[s])
		return -1;
	target = clampi(target, lo, hi);
	int dir = gen_rng_chance(r, 0.5) ? 1 : -1;
	for (int dd = 0; dd <= hi - lo; dd++) {
		for (int k = 0; k < 2; k++) {
			int a = target + (k ? -dir : dir) * dd;
			if (a >= lo && a <= hi && p->n[s][a]) {
				p->n[s][a]--;
				p->tot[s]--;
				return a;
			}
			if (dd == 0)
				break;
		}
	}
	return -1;
}

/* A random age of sex s, weighted by the counts; -1 if empty. */
static int pool_draw(struct pool *p, struct gen_rng *r, int s)
{
	if (!p->tot[s])
		return -1;
	uint64_t v = (uint64_t)(gen_rng_unit(r) * (double)p->tot[s]);
	if (v >= p->tot[s])
		v = p->tot[s] - 1;
	for (int a = 0; a < GEN_AGES; a++) {
		if (v < p->n[s][a]) {
			p->n[s][a]--;
			p->tot[s]--;
			return a;
		}
		v -= p->n[s][a];
	}
	return -1;
}

struct pools {
	struct pool child, adult, conv;
};

/* Share of each age living with parents (ISTAT: 18-34 year-olds, men more
 * than women), by five-year class from 20. */
static double child_p(int age, int s)
{
	static const double p[2][8] = {
		{0.90, 0.70, 0.42, 0.22, 0.12, 0.08, 0.04, 0.04},
		{0.84, 0.55, 0.28, 0.13, 0.07, 0.05, 0.03, 0.03},
	};
	if (age < 18)
		return 0.985;
	if (age < 20)
		return s ? 0.93 : 0.95;
	int k = age / 5 - 4;
	return k < 8 ? p[s][k] : 0.0;
}

static double conv_p(int age)
{
	return age < 75 ? 0 : age < 80 ? 0.008 : age < 85 ? 0.02 : age < 90 ? 0.045 : 0.09;
}

static char sexc(int s)
{
	return s ? 'F' : 'M';
}

static void single_parent_cs(struct gen_rng *r, struct gen_member *m, bool elderly)
{
	double u = gen_rng_unit(r);
	if (elderly)
		m->cs = u < 0.85 ? 3 : u < 0.95 ? 4 : 2;
	else
		m->cs = u < 0.35 ? 1 : u < 0.70 ? 4 : u < 0.85 ? 2 : 3;
}

static void elder_cs(struct gen_rng *r, struct gen_member *m)
{
	double u = gen_rng_unit(r);
	m->cs = u < 0.8 ? 3 : u < 0.9 ? 4 : 1;
}

enum { T_COUPLE, T_MOTHER, T_FATHER, T_GRAND };

/* The partner of elder e (a parent of member child), married to e. */
static void elder_partner(struct gen_plan *pl, struct pools *P, struct gen_rng *r, int e, int child)
{
	int es = pl->m[e].sex == 'F', ea = pl->m[e].age, ca = pl->m[child].age;
	int t = ea + (es ? 3 : -3);
	int a = pool_take_near(&P->adult, r, !es, maxi(ca + 19, ea - 10), mini(ca + 43, ea + 10), t);
	if (a < 0)
		return;
	int o = gen_plan_add(pl, sexc(!es), a, pl->m[e].rel);
	if (o < 0)
		return;
	pl->m[o].elder = true;
	plan_pair(pl, es ? o : e, es ? e : o, 1);
	if (es) {
		pl->m[child].father = (int16_t)o;
		pl->m[child].surname_of = (int16_t)o;
	} else {
		pl->m[child].mother = (int16_t)o;
	}
}

/* The oldest child of the head (from member first_kid on) married, with
 * the spouse (relationship 16) and, half the time, a child of theirs
 * (relationship 4) from the pool of children. */
static void married_child(struct gen_plan *pl, struct pools *P, struct gen_rng *r, int first_kid)
{
	int k = first_kid;
	for (int i = first_kid; i < pl->n; i++)
		if (pl->m[i].rel == 3 && pl->m[i].age > pl->m[k].age)
			k = i;
	if (pl->m[k].rel != 3 || pl->m[k].age < 25)
		return;
	int ks = pl->m[k].sex == 'F', ka = pl->m[k].age;
	int sa = pool_take_near(&P->adult, r, !ks, maxi(20, ka - 8), ka + 10,
				ka + (ks ? 3 : -3));
	if (sa < 0)
		return;
	int sp = gen_plan_add(pl, sexc(!ks), sa, 16);
	if (sp < 0)
		return;
	int husband = ks ? sp : k, wife = ks ? k : sp;
	plan_pair(pl, husband, wife, 1);
	pl->m[sp].cs = 0;
	int young = mini(ka, sa) - 19;
	if (young < 0 || !gen_rng_chance(r, 0.5))
		return;
	int gs = gen_rng_chance(r, 0.5);
	int ga = pool_take_near(&P->child, r, gs, maxi(ka, sa) - 42, young, mini(young, 4));
	if (ga < 0)
		return;
	int g = gen_plan_add(pl, sexc(gs), ga, 4);
	if (g < 0)
		return;
	pl->m[g].father = (int16_t)husband;
	pl->m[g].mother = (int16_t)wife;
	pl->m[g].surname_of = (int16_t)husband;
	pl->m[g].cs = 1;
}

static void full_child_family(struct gen_ctx *x, struct gen_comune *c, struct pools *P, int s0,
			      int a0)
{
	struct gen_rng *r = &c->rng;
	struct gen_plan pl;
	gen_plan_init(&pl, PLAN_FULL, 1);
	int ka[6], ks[6], nk = 1;
	bool twin[6] = {false};
	ka[0] = a0;
	ks[0] = s0;
	double u = gen_rng_unit(r);
	int want = u < 0.46 ? 1 : u < 0.87 ? 2 : u < 0.98 ? 3 : 4;
	if (a0 >= 30)
		want = u < 0.7 ? 1 : 2;
	for (int k = 1; k < want; k++) {
		int sx = gen_rng_chance(r, 0.5), a = -1;
		if (a0 < 40 && gen_rng_chance(r, 0.015)) {
			a = pool_take_near(&P->child, r, sx, ka[nk - 1], ka[nk - 1], ka[nk - 1]);
			if (a >= 0)
				twin[nk] = true;
		}
		if (a < 0) {
			int t = a0 + (gen_rng_chance(r, 0.5) ? 1 : -1) * gen_rng_range(r, 1, 6);
			a = pool_take_near(&P->child, r, sx, a0 - 12, a0 + 12, t);
			if (a < 0)
				a = pool_take_near(&P->child, r, sx = !sx, a0 - 12, a0 + 12, t);
		}
		if (a < 0)
			break;
		ka[nk] = a;
		ks[nk++] = sx;
	}
	int young = ka[0], old = ka[0];
	for (int k = 1; k < nk; k++) {
		young = mini(young, ka[k]);
		old = maxi(old, ka[k]);
	}
	int mlo = old + 19, mhi = young + 42;
	int mt = clampi(young + clampi((int)lround(31 + 5 * gen_rng_normal(r)), 19, 42), mlo, mhi);
	bool elderly = mt >= 70;
	double ps_m = elderly ? 0.42 : 0.12, ps_f = elderly ? 0.12 : 0.025;
	double gp = young < 18 ? 0.006 : 0;
	u = gen_rng_unit(r);
	int type = u < gp ? T_GRAND : u < gp + ps_f ? T_FATHER : u < gp + ps_f + ps_m ? T_MOTHER
										       : T_COUPLE;
	int ma = -1, fa = -1;
	if (type == T_GRAND) {
		int lo = old + 38, hi = young + 80, t = young + 60;
		ma = pool_take_near(&P->adult, r, 1, lo, hi, t);
		if (ma >= 0 && gen_rng_chance(r, 0.5))
			fa = pool_take_near(&P->adult, r, 0, maxi(lo, ma - 5), mini(hi, ma + 10), ma + 3);
		if (ma < 0)
			type = T_MOTHER;
	}
	if (type != T_GRAND) {
		if (type != T_FATHER)
			ma = pool_take_near(&P->adult, r, 1, mlo, mhi, mt);
		if (type == T_COUPLE || type == T_FATHER || ma < 0) {
			int ft = (ma >= 0 ? ma : mt) + (int)lround(3 + 3.5 * gen_rng_normal(r));
			fa = pool_take_near(&P->adult, r, 0, mlo, mhi, ft);
		}
		if (ma >= 0 && fa < 0)
			type = T_MOTHER;
		else if (ma < 0 && fa >= 0)
			type = T_FATHER;
	}

	int im = -1, ifa = -1, head;
	bool guardian = false;
	if (ma < 0 && fa < 0) {
		/* nobody of a parent's age is left: an aunt/uncle or older relative */
		int g = pool_take_near(&P->adult, r, 1, old + 19, GEN_AGES - 1, mt);
		int gs = 1;
		if (g < 0)
			g = pool_take_near(&P->adult, r, gs = 0, old + 19, GEN_AGES - 1, mt);
		if (g >= 0) {
			head = gen_plan_add(&pl, sexc(gs), g, 1);
			pl.m[head].cs = 0;
			guardian = true;
		} else {
			head = -1;
		}
	} else {
		if (ma >= 0)
			im = gen_plan_add(&pl, 'F', ma, 1);
		if (fa >= 0)
			ifa = gen_plan_add(&pl, 'M', fa, 1);
		if (im >= 0 && ifa >= 0) {
			head = gen_rng_chance(r, 0.65) ? ifa : im;
			int other = head == ifa ? im : ifa;
			double pm = elderly ? 0.92 : mt < 35 ? 0.6 : 0.78;
			plan_couple(&pl, head, other, gen_rng_chance(r, pm) ? 1 : 2);
		} else {
			head = im >= 0 ? im : ifa;
			single_parent_cs(r, &pl.m[head], elderly || type == T_GRAND);
		}
	}
	bool recomposed = type == T_COUPLE && !elderly && young < 18 && gen_rng_chance(r, 0.06);
	int first_kid = pl.n;
	for (int k = 0; k < nk; k++) {
		int ki = gen_plan_add(&pl, sexc(ks[k]), ka[k], 3);
		struct gen_member *m = &pl.m[ki];
		m->twin = twin[k] && k > 0;
		if (ka[k] >= 30 && gen_rng_chance(r, 0.1))
			m->cs = 4;
		else
			m->cs = 1;
		if (head < 0) {
			m->rel = ki == first_kid ? 1 : 9;
			m->surname_of = ki == first_kid ? -1 : (int16_t)first_kid;
			continue;
		}
		if (guardian) {
			m->rel = 5;
			m->surname_of = GEN_PLAN_MAX;
			continue;
		}
		if (type == T_GRAND) {
			m->rel = 4;
			m->surname_of = ifa >= 0 ? (int16_t)ifa : GEN_PLAN_MAX;
			continue;
		}
		m->mother = (int16_t)im;
		if (recomposed) {
			m->surname_of = GEN_PLAN_MAX;
			m->rel = head == im ? 3 : 13;
		} else {
			m->father = (int16_t)ifa;
			m->surname_of = ifa >= 0 ? (int16_t)ifa
				      : gen_rng_chance(r, 0.9) ? GEN_PLAN_MAX : (int16_t)im;
		}
	}
	if (head < 0) {
		pl.m[first_kid].rel = 1;
		head = first_kid;
	}
	/* an old widowed parent with a grown-up child: often the child is the head */
	if (type == T_MOTHER && elderly && old >= 45 && nk && gen_rng_chance(r, 0.5)) {
		int oldest = first_kid;
		for (int k = first_kid; k < pl.n; k++)
			if (pl.m[k].age > pl.m[oldest].age)
				oldest = k;
		pl.m[oldest].rel = 1;
		pl.m[head].rel = 6;
		for (int k = first_kid; k < pl.n; k++)
			if (k != oldest)
				pl.m[k].rel = 9;
		head = oldest;
	}
	/* three generations: a widowed parent of one of the parents */
	if (!elderly && !guardian && type != T_GRAND && head != first_kid && gen_rng_chance(r, 0.04)) {
		int child = (ifa >= 0 && (im < 0 || gen_rng_chance(r, 0.5))) ? ifa : im;
		int es = gen_rng_chance(r, 0.7);
		int ca = pl.m[child].age;
		int ea = pool_take_near(&P->adult, r, es, ca + 19, ca + 43, ca + 28);
		if (ea >= 0) {
			int e = gen_plan_add(&pl, sexc(es), ea, child == head ? 6 : 17);
			if (e >= 0) {
				pl.m[e].elder = true;
				elder_cs(r, &pl.m[e]);
				if (es)
					pl.m[child].mother = (int16_t)e;
				else
					pl.m[child].father = (int16_t)e;
				if (!es)
					pl.m[child].surname_of = (int16_t)e;
				/* both parents, a second nucleus */
				if (gen_rng_chance(r, ELDER_COUPLE_P))
					elder_partner(&pl, P, r, e, child);
			}
		}
	}
	/* a married child living on with the parents, with the spouse and
	 * perhaps a grandchild: a second nucleus */
	if (!guardian && type != T_GRAND && head < first_kid && pl.m[head].rel == 1 &&
	    old >= 25 && gen_rng_chance(r, MARRIED_CHILD_P))
		married_child(&pl, P, r, first_kid);
	double pf = mt < 50 ? 0.16 : mt < 65 ? 0.07 : 0.015;
	if (gen_rng_chance(r, pf)) {
		plan_foreign(x, c, &pl);
	} else if (im >= 0 && ifa >= 0 && gen_rng_chance(r, 0.05)) {
		pl.country = gen_wtable_pick(&x->d.w_foreign, &c->rng);
		pl.m[gen_rng_chance(r, 0.75) ? im : ifa].foreign = true;
	}
	gen_plan_realize(x, c, &pl, NULL);
}

static void full_couple_or_single(struct gen_ctx *x, struct gen_comune *c, struct pools *P, int s0,
				  int a0, bool couple)
{
	struct gen_rng *r = &c->rng;
	struct gen_plan pl;
	gen_plan_init(&pl, PLAN_FULL, 1);
	int a = gen_plan_add(&pl, sexc(s0), a0, 1);
	int b = -1;
	if (couple) {
		if (s0 == 0 || gen_rng_chance(r, 0.006)) {
			int pa = pool_take_near(&P->adult, r, s0, 18, GEN_AGES - 1,
						a0 + (int)lround(4 * gen_rng_normal(r)));
			if (pa >= 0) {
				b = gen_plan_add(&pl, sexc(s0), pa, 23);
				plan_couple(&pl, a, b, gen_rng_chance(r, 0.55) ? 3 : 2);
			}
		} else {
			int other = !s0;
			int t = a0 + (s0 ? 3 : -3) + (int)lround(4 * gen_rng_normal(r));
			int pa = pool_take_near(&P->adult, r, other, maxi(18, a0 - 12), a0 + 15, t);
			if (pa >= 0) {
				b = gen_plan_add(&pl, sexc(other), pa, 2);
				double pm = a0 < 30 ? 0.35 : a0 < 40 ? 0.6 : a0 < 60 ? 0.8 : 0.92;
				if (pl.m[b].sex == 'M' && gen_rng_chance(r, 0.65)) {
					pl.m[a].rel = 2;
					pl.m[b].rel = 1;
					plan_couple(&pl, b, a, gen_rng_chance(r, pm) ? 1 : 2);
				} else {
					plan_couple(&pl, a, b, gen_rng_chance(r, pm) ? 1 : 2);
				}
			}
		}
	}
	if (b < 0 && a0 >= 60 && gen_rng_chance(r, 0.03)) {
		/* two elderly siblings living together */
		int ss = gen_rng_chance(r, 0.5) ? s0 : !s0;
		int sa = pool_take_near(&P->adult, r, ss, a0 - 10, a0 + 10, a0);
		if (sa >= 0) {
			b = gen_plan_add(&pl, sexc(ss), sa, 9);
			pl.m[b].surname_of = (int16_t)a;
			if (pl.m[a].sex == 'F')
				pl.m[a].surname_of = -1;
		}
	}
	double pf = a0 < 45 ? 0.12 : a0 < 65 ? 0.05 : 0.01;
	if (gen_rng_chance(r, pf))
		plan_foreign(x, c, &pl);
	else if (b >= 0 && pl.couple && gen_rng_chance(r, 0.04)) {
		pl.country = gen_wtable_pick(&x->d.w_foreign, &c->rng);
		pl.m[pl.m[a].sex == 'F' ? a : b].foreign = true;
	}
	gen_plan_realize(x, c, &pl, NULL);
}

/* Chance that a woman who is not a mother of children at home lives in a
 * couple, by five-year class from 25 (tuned to ISTAT household shares). */
static double couple_p(int age)
{
	static const double p[] = {0.10, 0.40, 0.55, 0.55, 0.55, 0.62, 0.62, 0.72, 0.72, 0.70,
				   0.70, 0.50, 0.38, 0.15};
	int k = age < 25 ? 0 : (age - 25) / 5 + 1;
	return k < 14 ? p[k] : p[13];
}

static void full_convivenze(struct gen_ctx *x, struct gen_comune *c, struct pools *P)
{
	struct gen_rng *r = &c->rng;
	uint64_t t = P->conv.tot[0] + P->conv.tot[1];
	if (t < 6) {
		for (int s = 0; s < 2; s++)
			for (int a = 0; a < GEN_AGES; a++) {
				P->adult.n[s][a] += P->conv.n[s][a];
				P->adult.tot[s] += P->conv.n[s][a];
				P->conv.n[s][a] = 0;
			}
		P->conv.tot[0] = P->conv.tot[1] = 0;
	} else {
		uint64_t homes = t / 45 ? t / 45 : 1;
		for (uint64_t h = 0; h < homes; h++) {
			uint64_t left = P->conv.tot[0] + P->conv.tot[1];
			uint64_t size = left / (homes - h);
			if (size > GEN_PLAN_MAX - 1)
				size = GEN_PLAN_MAX - 1;
			struct gen_plan pl;
			gen_plan_init(&pl, PLAN_FULL, 2);
			pl.conv_name = (uint16_t)gen_rng_below(r, gen_conv_care_count());
			int rs = gen_rng_chance(r, 0.75);
			int ra = pool_take_near(&P->adult, r, rs, 35, 64, gen_rng_range(r, 35, 64));
			if (ra >= 0)
				gen_plan_add(&pl, sexc(rs), ra, 24);
			for (uint64_t k = 0; k < size; k++) {
				int s = gen_rng_chance(r, (double)P->conv.tot[1] /
							      (double)(P->conv.tot[0] + P->conv.tot[1]));
				int a = pool_draw(&P->conv, r, s);
				if (a < 0)
					break;
				int i = gen_plan_add(&pl, sexc(s), a, pl.n ? 25 : 24);
				double u = gen_rng_unit(r);
				pl.m[i].cs = u < 0.65 ? 3 : u < 0.85 ? 1 : u < 0.95 ? 2 : 4;
			}
			if (pl.n)
				gen_plan_realize(x, c, &pl, NULL);
		}
	}
	/* religious communities in the larger towns */
	uint32_t nrel = c->target / 40000;
	for (uint32_t k = 0; k < nrel; k++) {
		struct gen_plan pl;
		gen_plan_init(&pl, PLAN_FULL, 2);
		pl.conv_name = (uint16_t)(gen_conv_care_count() +
					  gen_rng_below(r, gen_conv_count() - gen_conv_care_count()));
		int s = gen_rng_chance(r, 0.6);
		int size = gen_rng_range(r, 5, 18);
		for (int i = 0; i < size; i++) {
			int a = pool_take_near(&P->adult, r, s, 25, 95, gen_rng_range(r, 30, 90));
			if (a < 0)
				break;
			int m = gen_plan_add(&pl, sexc(s), a, pl.n ? 25 : 24);
			pl.m[m].cs = 1;
		}
		if (pl.n)
			gen_plan_realize(x, c, &pl, NULL);
	}
}

/* Persons the register lists as cancelled during the year before the FULL:
 * deceased spouses of widowed residents and grown-up children who left. */
static void full_cancelled(struct gen_ctx *x, struct gen_comune *c)
{
	struct gen_rng *r = &c->rng;
	int ref = x->full_date;
	uint32_t nres = c->np;
	if (nres < 50)
		return;
	uint32_t deaths = (uint32_t)(nres * 0.0095), gone = (uint32_t)(nres * 0.012);
	for (uint32_t k = 0; k < deaths && !x->err; k++) {
		for (int t = 0; t < 300; t++) {
			uint32_t si = gen_rng_below(r, nres);
			struct gen_person *s = &c->p[si];
			int age = date_age(s->birth, ref);
			if (s->cs != 3 || age < 60 || s->rel != 1 || c->f[s->fam].size != 1 ||
			    s->canc_reason)
				continue;
			int dd = add_days(ref, -(int)gen_rng_range(r, 1, 364));
			uint32_t di = gen_person_new(x, c);
			if (di == GEN_NONE)
				return;
			s = &c->p[si];
			struct gen_person *p = &c->p[di];
			p->sex = s->sex == 'F' ? 'M' : 'F';
			int dage = clampi(age + (p->sex == 'M' ? 3 : -3) + (int)lround(3 * gen_rng_normal(r)),
					  age - 12, age + 12);
			dage = clampi(dage, 40, GEN_AGES - 1);
			p->birth = gen_birth_for_age(r, dage, dd);
			p->group = s->group;
			p->cit[0] = s->cit[0];
			p->cit[1] = s->cit[1];
			p->surname = gen_pick_surname(x, c, p->group);
			p->name = gen_pick_name(x, c, p->sex, p->group, p->birth);
			if (p->cit[0] != 100 && s->group != GRP_IT) {
				p->birth_place = s->birth_place;
			} else {
				p->birth_place = italian_birth_place(x, c, p->birth, gen_rng_chance(r, 0.5));
			}
			p->reg_reason = s->reg_reason == 1 ? 1 : s->reg_reason;
			p->reg_date = p->reg_reason == 1 ? reg_after_birth(r, p->birth, ref)
							 : maxi(s->reg_date, p->birth);
			if (p->reg_date >= dd)
				p->reg_date = add_days(dd, -1);
			if (p->reg_date < p->birth)
				p->reg_date = p->birth;
			int lo = maxi(add_years(p->birth, 18), add_years(s->birth, 18));
			int hi = maxi(lo, mini(add_years(lo, 12), add_days(dd, -1)));
			p->cs = 2;
			p->cs_date = rand_date(r, lo, hi);
			if (p->cs_date > dd)
				p->cs_date = dd;
			p->canc_reason = 1;
			p->canc_date = dd;
			p->fam = s->fam;
			p->rel = 2;
			p->valid_from = dd;
			if (!gen_person_cf(x, p))
				return;
			s->cs_date = dd;
			s->valid_from = maxi(s->valid_from, dd);
			break;
		}
	}
	for (uint32_t k = 0; k < gone && !x->err; k++) {
		for (int t = 0; t < 300; t++) {
			uint32_t hi_ = gen_rng_below(r, nres);
			struct gen_person *h = &c->p[hi_];
			if (h->rel != 1 || h->partner == GEN_NONE || h->canc_reason || h->group != GRP_IT)
				continue;
			const struct gen_person *q = &c->p[h->partner];
			const struct gen_person *mo = h->sex == 'F' ? h : q;
			const struct gen_person *fa = h->sex == 'M' ? h : q;
			if (mo->sex != 'F' || fa->sex != 'M')
				continue;
			int mage = date_age(mo->birth, ref), fage = date_age(fa->birth, ref);
			int lo = maxi(18, maxi(mage, fage) - 43), hi = mini(mage, fage) - 19;
			if (hi < lo || hi < 18)
				continue;
			int age = gen_rng_range(r, lo, mini(hi, 40));
			int dd = add_days(ref, -(int)gen_rng_range(r, 1, 364));
			uint32_t pi = gen_person_new(x, c);
			if (pi == GEN_NONE)
				return;
			h = &c->p[hi_];
			q = &c->p[h->partner];
			mo = h->sex == 'F' ? h : q;
			fa = h->sex == 'M' ? h : q;
			struct gen_person *p = &c->p[pi];
			p->sex = gen_rng_chance(r, 0.5) ? 'F' : 'M';
			p->birth = gen_birth_for_age(r, age, ref);
			if (add_years(p->birth, 18) > dd || p->birth - mo->birth < 190000 ||
			    p->birth - fa->birth < 190000 || p->birth - mo->birth > 440000 ||
			    p->birth - fa->birth > 440000) {
				/* too young when leaving or too close to a parent */
				c->np--;
				continue;
			}
			p->surname = fa->surname;
			p->name = gen_pick_name(x, c, p->sex, GRP_IT, p->birth);
			p->birth_place = italian_birth_place(x, c, p->birth, true);
			p->father_cf = fa->cf;
			p->mother_cf = mo->cf;
			p->reg_reason = 1;
			p->reg_date = reg_after_birth(r, p->birth, dd);
			p->cs = 1;
			p->canc_date = dd;
			if (gen_rng_chance(r, 0.15)) {
				p->canc_reason = 8;
				p->dest = pick_expat_country(x, c);
			} else {
				p->canc_reason = 3;
				char bf[5];
				do
					p->dest = gen_pick_birth_place_it(x, c, dd, gen_rng_chance(r, 0.6) ? 1 : 2, bf);
				while (p->dest == c->code);
			}
			p->fam = h->fam;
			p->rel = 3;
			p->valid_from = dd;
			if (!gen_person_cf(x, p))
				return;
			break;
		}
	}
}

vis_err gen_population_build(struct gen_ctx *x, struct gen_comune *c)
{
	struct gen_rng *r = &c->rng;
	struct pools *P = calloc(1, sizeof *P);
	if (!P)
		return gen_fail(x, VIS_ERR_NOMEM, "memoria esaurita");
	for (uint32_t i = 0; i < c->target; i++) {
		uint32_t k = gen_wtable_pick(&x->d.w_pyr, r);
		int s = (int)(k / GEN_AGES), a = (int)(k % GEN_AGES);
		double u = gen_rng_unit(r);
		if (u < conv_p(a))
			pool_put(&P->conv, s, a);
		else if (gen_rng_unit(r) < child_p(a, s))
			pool_put(&P->child, s, a);
		else
			pool_put(&P->adult, s, a);
	}
	full_convivenze(x, c, P);
	while (!x->err && P->child.tot[0] + P->child.tot[1]) {
		int s = gen_rng_chance(r, (double)P->child.tot[1] /
					      (double)(P->child.tot[0] + P->child.tot[1]));
		int a = pool_draw(&P->child, r, s);
		full_child_family(x, c, P, s, a);
	}
	while (!x->err && P->adult.tot[1]) {
		int a = pool_draw(&P->adult, r, 1);
		full_couple_or_single(x, c, P, 1, a, gen_rng_chance(r, couple_p(a)));
	}
	while (!x->err && P->adult.tot[0]) {
		int a = pool_draw(&P->adult, r, 0);
		full_couple_or_single(x, c, P, 0, a, gen_rng_chance(r, 0.006));
	}
	free(P);
	if (!x->err)
		full_cancelled(x, c);
	return x->err;
}

/* ---------------------------------------------------- immigrant households */

static int sample_age(struct gen_ctx *x, struct gen_comune *c, int s, int lo, int hi)
{
	for (int t = 0; t < 200; t++) {
		uint32_t k = gen_wtable_pick(&x->d.w_pyr, &c->rng);
		int a = (int)(k % GEN_AGES);
		if ((int)(k / GEN_AGES) == s && a >= lo && a <= hi)
			return a;
	}
	return gen_rng_range(&c->rng, lo, hi);
}

void gen_plan_random(struct gen_ctx *x, struct gen_comune *c, struct gen_plan *pl, bool foreign)
{
	struct gen_rng *r = &c->rng;
	gen_plan_init(pl, PLAN_IMMIGRANT, 1);
	double u = gen_rng_unit(r);
	int amax = foreign ? 50 : 75;
	if (u < 0.45) {
		int s = gen_rng_chance(r, 0.5);
		int i = gen_plan_add(pl, sexc(s), sample_age(x, c, s, 19, amax), 1);
		pl->m[i].cs = 0;
	} else {
		int ma = sample_age(x, c, 1, 21, amax);
		int fa = clampi(ma + (int)lround(3 + 3.5 * gen_rng_normal(r)), 21, amax + 8);
		bool with_kids = u >= 0.65 && ma >= 21;
		bool single = u >= 0.95;
		int im = gen_plan_add(pl, 'F', ma, 1), ifa = -1;
		if (!single) {
			ifa = gen_plan_add(pl, 'M', fa, 2);
			pl->m[ifa].rel = 1;
			plan_couple(pl, ifa, im, gen_rng_chance(r, 0.7) ? 1 : 2);
		} else {
			single_parent_cs(r, &pl->m[im], false);
		}
		if (with_kids || single) {
			int nk = gen_rng_range(r, 1, 3);
			int young = ma - 19, base = gen_rng_range(r, 0, mini(young, 17));
			for (int k = 0; k < nk; k++) {
				int a = base + k * gen_rng_range(r, 1, 4);
				if (a > ma - 19 || (ifa >= 0 && a > fa - 19) || a < 0 ||
				    ma - a > 43 || (ifa >= 0 && fa - a > 43))
					continue;
				int ki = gen_plan_add(pl, sexc(gen_rng_chance(r, 0.5)), a, 3);
				pl->m[ki].mother = (int16_t)im;
				pl->m[ki].father = (int16_t)ifa;
				pl->m[ki].surname_of = ifa >= 0 ? (int16_t)ifa : GEN_PLAN_MAX;
				pl->m[ki].cs = 1;
			}
		}
	}
	if (foreign)
		plan_foreign(x, c, pl);
}
