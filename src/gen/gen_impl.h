/* gen_impl — internals shared by the files of src/gen/; not an API.
 *
 * gen_data.c   PRNG, weighted tables, the reference data of the generator
 *              (names, surnames, age pyramid, countries, monthly rates) and
 *              the built-in lists (streets, foreign names, postcodes)
 * gen_pop.c    persons and households: creation from a plan, codici fiscali,
 *              the FULL population of a municipality
 * gen_sim.c    one simulated day of events for a municipality
 * gen_out.c    the writer of FULL and DELTA files
 * gen.c        gen_run(): the driver
 *
 * Owns nothing by itself: a struct gen_ctx (gen.c) owns every allocation
 * of a run and frees it in gen_ctx_free(). */
#ifndef VISURA_GEN_GEN_IMPL_H
#define VISURA_GEN_GEN_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cf/cf.h"
#include "common/err.h"
#include "gen/gen.h"

struct refdata;
struct ref_comune;

#define GEN_NONE UINT32_MAX
#define GEN_AGES 106     /* ages 0..105 */
#define GEN_PLAN_MAX 128 /* members of one household plan */
#define GEN_TRAD_NAMES 30 /* traditional first names per sex */

/* ---- pseudo-random numbers: xoshiro256**, seeded by splitmix64 ---- */
struct gen_rng {
	uint64_t s[4];
};

void gen_rng_seed(struct gen_rng *r, uint64_t seed);
uint64_t gen_rng_next(struct gen_rng *r);
double gen_rng_unit(struct gen_rng *r);                 /* [0, 1) */
uint32_t gen_rng_below(struct gen_rng *r, uint32_t n);  /* [0, n), n > 0 */
int gen_rng_range(struct gen_rng *r, int lo, int hi);   /* [lo, hi] */
bool gen_rng_chance(struct gen_rng *r, double p);
double gen_rng_normal(struct gen_rng *r);
uint32_t gen_rng_poisson(struct gen_rng *r, double lambda);
uint64_t gen_hash64(const char *s);

/* ---- weighted choice: cumulative weights and a binary search ---- */
struct gen_wtable {
	double *cum;
	uint32_t n;
};

bool gen_wtable_init(struct gen_wtable *t, const double *w, uint32_t n);
uint32_t gen_wtable_pick(const struct gen_wtable *t, struct gen_rng *r);
void gen_wtable_free(struct gen_wtable *t);

/* ---- name groups: Italian (from data/) and a few built-in foreign ones ---- */
enum gen_group {
	GRP_IT, GRP_RO, GRP_AL, GRP_AR, GRP_ZH, GRP_SL, GRP_SA, GRP_HI, GRP_PH,
	GRP_WA, GRP_COUNT
};

struct gen_names {
	uint32_t *m, *f, *sur;       /* string ids */
	uint32_t nm, nf, nsur;
};

struct gen_country {
	uint16_t istat;              /* ISTAT state code */
	char belfiore[5];
	uint8_t group;
	double weight;               /* residents born there (ISTAT 2024) */
	double male_share;
};

struct gen_province {
	char sigla[3];
	char region[3];
	uint32_t top[10];            /* string ids of the 10 commonest surnames */
};

struct gen_data {
	const struct refdata *rd;
	/* every name and surname, as NUL-terminated upper-case UTF-8 */
	const char **str;
	uint32_t nstr, capstr;
	char *buf_nm, *buf_nf, *buf_sur, *buf_top;
	struct gen_names it;             /* Italian: from data/ */
	struct gen_wtable w_nm, w_nf;    /* first names by weight */
	struct gen_wtable w_sur;         /* Zipf-Mandelbrot over a seeded order */
	uint32_t trad[2][GEN_TRAD_NAMES]; /* traditional names for the old, by sex */
	uint32_t ntrad[2];
	struct gen_names grp[GRP_COUNT]; /* built-in foreign names, [GRP_IT] unused */
	struct gen_province *prov;
	uint32_t nprov;
	double pyr[2 * GEN_AGES];        /* [sex * GEN_AGES + age], sex 0 = M */
	struct gen_wtable w_pyr;
	struct gen_country *ctry;
	uint32_t nctry;
	struct gen_wtable w_foreign;     /* country of foreign citizens */
	uint32_t *expat;                 /* countries where Italians are born/go */
	uint32_t nexpat;
	struct gen_wtable w_expat;
	/* monthly rates per resident, [month 1..12] */
	double r_same[13], r_region[13], r_other[13], r_out[13], r_back[13];
	/* rows of active municipalities with a cadastral code */
	uint32_t *active;
	uint32_t nactive;
	size_t nrows;
};

vis_err gen_data_load(struct gen_data *d, const struct refdata *rd, const char *dir,
		      uint64_t seed, struct vis_error *e);
void gen_data_free(struct gen_data *d);
uint32_t gen_str_add(struct gen_data *d, const char *s); /* GEN_NONE on OOM */

/* built-in lists (gen_data.c) */
const char *gen_dug_name(unsigned i);
unsigned gen_dug_count(void);
const char *gen_street_name(unsigned i);
unsigned gen_street_count(void);
const char *gen_frazione_name(unsigned i);
unsigned gen_frazione_count(void);
const char *gen_conv_name(unsigned i);
unsigned gen_conv_count(void);
unsigned gen_conv_care_count(void);  /* the first ones are care homes */
int gen_cap_prefix(const char *sigla); /* 0-99, -1 unknown */

/* ---- the set of issued codici fiscali, across the whole run ---- */
struct gen_cfreg {
	char (*code)[CF_LEN];
	uint32_t n, cap;
	uint32_t *slot;
	uint32_t nslot;              /* power of two */
};

/* Issues the first free code among base and its omocode levels 1..7.
 * Returns its id (GEN_NONE when out of memory or all 8 are taken) and the
 * level in *level. */
uint32_t gen_cfreg_issue(struct gen_cfreg *reg, const char base[CF_LEN + 1], int *level);
void gen_cfreg_free(struct gen_cfreg *reg);

/* ---- the simulated register of one municipality ---- */

/* Places are ints: a municipality is its ISTAT code (>= 1000, printed with
 * 6 digits), a state its ISTAT code (100-999, printed with 3). */
#define GEN_PLACE_IS_STATE(p) ((p) > 0 && (p) < 1000)

struct gen_person {
	uint32_t cf, father_cf, mother_cf; /* ids in the run's gen_cfreg */
	uint32_t fam;                /* household index */
	uint32_t next;               /* next member of the household */
	uint32_t partner;            /* spouse/partner in this municipality */
	uint32_t surname, name;      /* string ids */
	uint32_t touched;            /* day stamp of the last change */
	int32_t birth, cs_date, reg_date, canc_date, valid_from;
	int32_t birth_place, dest;
	uint16_t cit[2];             /* state codes, cit[1] == 0: one citizenship */
	char sex;                    /* 'M' or 'F' */
	uint8_t cs, reg_reason, canc_reason, rel;
	uint8_t group;               /* name group */
};

struct gen_family {
	uint32_t first;              /* first member (any order) */
	uint32_t size;               /* registered members */
	uint32_t touched;
	int32_t valid_from;
	uint32_t street;             /* index in the municipality's streets */
	uint16_t civic;              /* 0 = senza numero civico */
	uint16_t interno;            /* 0 = none */
	uint8_t letter;              /* 0 none, else index in the letter list */
	uint8_t scala;               /* 0 none, else 'A' + scala - 1 */
	uint8_t kind;                /* 1 famiglia, 2 convivenza */
	uint8_t frazione;            /* 0 none, else 1 + index in the comune's list */
	uint16_t conv_name;          /* convivenza name index */
};

struct gen_street {
	uint8_t dug;
	uint8_t kind;                /* 0 built-in name a, 1 name a + surname b (string
				      * ids), 2 frazione name a, 3 surname b, 4 number a */
	uint16_t maxciv;
	uint8_t frazione;            /* the street's locality: 0 the main centre,
				      * else 1 + index in the comune's list */
	uint32_t a, b;
};

enum gen_evt_type {
	EVT_NASCITA, EVT_IMMIGRAZIONE, EVT_DECESSO, EVT_EMIGRAZIONE,
	EVT_CAMBIO_INDIRIZZO, EVT_MATRIMONIO, EVT_DIVORZIO, EVT_VEDOVANZA,
	EVT_UNIONE_CIVILE, EVT_SCIOGLIMENTO_UNIONE, EVT_CITTADINANZA
};

struct gen_event {
	uint32_t person;
	uint32_t other_cf;           /* GEN_NONE = empty */
	int32_t place;               /* 0 = empty */
	uint8_t type;
};

/* A person on the move between two municipalities of the same run. */
struct gen_migrant {
	uint32_t to;                 /* destination municipality index */
	uint32_t from;               /* origin municipality index */
	int32_t from_place;
	uint32_t group_id;           /* persons with the same id move together */
	struct gen_person p;         /* copy; fam/next/partner are remapped */
	uint32_t old_index;
	uint32_t old_partner;
};

struct gen_comune {
	char istat[7];
	char sigla[3];
	char region[3];
	char belfiore[5];
	int code;
	const char *name;
	uint32_t prov;               /* d->prov index or GEN_NONE */
	size_t row_lo, row_hi;       /* refdata rows of the same ISTAT province */
	char cap[6];
	uint32_t target;             /* residents asked for */
	struct gen_street *streets;
	uint32_t nstreets;
	struct gen_wtable w_streets;
	uint8_t fraz[4];
	uint8_t nfraz;
	struct gen_person *p;
	uint32_t np, capp;
	struct gen_family *f;
	uint32_t nf, capf;
	uint32_t residents;
	uint64_t next_event;
	uint32_t seq;
	struct gen_rng rng;
	/* the changes of the day being simulated */
	uint32_t *dper, ndper, capdper;
	uint32_t *dfam, ndfam, capdfam;
	struct gen_event *ev;
	uint32_t nev, capev;
	/* the last free-surname Italian person created by sex and age */
	uint32_t last_free[2][GEN_AGES];
};

struct gen_ctx {
	const struct gen_options *o;
	const struct refdata *rd;
	struct gen_data d;
	struct gen_cfreg cf;
	struct gen_comune *c;
	size_t nc;
	int full_date;
	int today;                   /* the day being simulated (YYYYMMDD) */
	uint32_t stamp;              /* 1 for the FULL, day + 1 for deltas */
	struct gen_migrant *mig;
	uint32_t nmig, capmig;
	/* (codice fiscale, municipality) -> person, for those who left a
	 * municipality of the run for another one: if they come back, their old
	 * record is registered again (same person id) */
	uint64_t *left_key;
	uint32_t *left_val;
	uint32_t left_n, left_cap;
	uint32_t next_group;
	struct gen_stats st;
	struct vis_error *e;
	vis_err err;                 /* first failure, sticky */
};

/* gen_pop.c */
vis_err gen_comune_init(struct gen_ctx *x, struct gen_comune *c, const char *istat,
			uint32_t target, uint64_t seed);
void gen_comune_free(struct gen_comune *c);
vis_err gen_population_build(struct gen_ctx *x, struct gen_comune *c);
uint32_t gen_person_new(struct gen_ctx *x, struct gen_comune *c);
uint32_t gen_family_new(struct gen_ctx *x, struct gen_comune *c, uint8_t kind, int valid_from);
void gen_family_address(struct gen_ctx *x, struct gen_comune *c, uint32_t f);
void gen_family_add(struct gen_comune *c, uint32_t f, uint32_t p);
void gen_family_remove(struct gen_comune *c, uint32_t p);
uint32_t gen_family_head(const struct gen_comune *c, uint32_t f);
/* Picks a new head after the head left and rewrites relationships; marks
 * changed persons with gen_touch_person. */
void gen_family_rehead(struct gen_ctx *x, struct gen_comune *c, uint32_t f, uint32_t old_head);
/* Codice fiscale of a new person from its data; sets p->cf. */
bool gen_person_cf(struct gen_ctx *x, struct gen_person *p);
uint32_t gen_pick_name(struct gen_ctx *x, struct gen_comune *c, char sex, int group, int birth);
uint32_t gen_pick_surname(struct gen_ctx *x, struct gen_comune *c, int group);
int gen_birth_for_age(struct gen_rng *r, int age, int ref);
int32_t gen_pick_birth_place_it(struct gen_ctx *x, struct gen_comune *c, int birth,
				int mode, char belfiore[5]);
const char *gen_place_belfiore(struct gen_ctx *x, int32_t place, int birth);

/* A household to create: members with sex, age, relationship and parents. */
struct gen_member {
	char sex;
	int16_t age;
	uint8_t rel;
	int16_t father, mother;      /* member index or -1 */
	int16_t partner;             /* member index or -1 */
	uint8_t couple;              /* with a partner: plan.couple's kinds */
	int16_t surname_of;          /* copy the surname of this member, -1 free */
	uint8_t cs;                  /* 0 = decide from age and role */
	bool twin;                   /* same birth date as the previous member */
	bool foreign;
	bool elder;                  /* arrives late (parent moving in) */
};

enum gen_plan_mode {
	PLAN_FULL,                   /* history before the FULL extract */
	PLAN_IMMIGRANT,              /* arrives today from plan.origin */
};

struct gen_plan {
	uint8_t kind;
	uint8_t couple;              /* the head's: 0 none, 1 married, 2 cohabiting, 3 civil union */
	uint16_t n;
	uint32_t country;            /* d->ctry index for foreign members, GEN_NONE */
	uint32_t absent_surname;     /* surname for children of an absent father */
	enum gen_plan_mode mode;
	int32_t origin;              /* PLAN_IMMIGRANT: place of origin */
	uint32_t join;               /* PLAN_IMMIGRANT: existing family to join, or GEN_NONE */
	uint16_t conv_name;
	struct gen_member m[GEN_PLAN_MAX];
};

/* Creates the persons (and the household unless plan->join) of a plan.
 * Returns the family index, GEN_NONE on failure (x->err set).  ids[] (may
 * be NULL) receives the person index of each member. */
uint32_t gen_plan_realize(struct gen_ctx *x, struct gen_comune *c, struct gen_plan *pl,
			  uint32_t *ids);
void gen_plan_init(struct gen_plan *pl, enum gen_plan_mode mode, uint8_t kind);
/* Appends a member (no parents, no partner, free surname); its index or -1. */
int gen_plan_add(struct gen_plan *pl, char sex, int age, uint8_t rel);
/* Random plans used by immigration. */
void gen_plan_random(struct gen_ctx *x, struct gen_comune *c, struct gen_plan *pl,
		     bool foreign);

/* gen_sim.c */
void gen_touch_person(struct gen_ctx *x, struct gen_comune *c, uint32_t p);
void gen_touch_family(struct gen_ctx *x, struct gen_comune *c, uint32_t f);
void gen_event_add(struct gen_ctx *x, struct gen_comune *c, uint8_t type, uint32_t person,
		   int32_t place, uint32_t other_cf);
void gen_day_reset(struct gen_comune *c);
void gen_day_simulate(struct gen_ctx *x, struct gen_comune *c, size_t ci);
void gen_day_arrivals(struct gen_ctx *x);

/* gen_out.c */
vis_err gen_write_file(struct gen_ctx *x, struct gen_comune *c, bool full, int date);
const char *gen_evt_name(uint8_t type);

/* helpers shared by all */
bool gen_grow(void **p, uint32_t *cap, uint32_t need, size_t size);
vis_err gen_fail(struct gen_ctx *x, vis_err code, const char *msg);

#endif
