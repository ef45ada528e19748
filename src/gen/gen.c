/* gen — gen_run(): builds each municipality's population, writes its FULL
 * snapshot, then simulates the days and writes one DELTA per municipality
 * per day.  See gen.h. */
#include "gen/gen.h"

#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "gen/gen_impl.h"
#include "refdata/refdata.h"

#ifndef VISURA_VERSION
#define VISURA_VERSION "0"
#endif

vis_err gen_options_check(const struct refdata *rd, const struct gen_options *o,
			  struct vis_error *e)
{
	int date = o->date ? o->date : GEN_DEFAULT_DATE;
	if (!date_valid(DATE_YEAR(date), DATE_MONTH(date), DATE_DAY(date)) || date < 19700101 ||
	    date > 29991231)
		return vis_error_set(e, VIS_ERR_INVALID, "la data dell'estratto deve essere un "
							 "giorno dal 1970 in poi");
	if (!o->out_dir || !*o->out_dir)
		return vis_error_set(e, VIS_ERR_INVALID, "no output directory");
	if (o->ncomuni == 0 || o->ncomuni > GEN_MAX_COMUNI)
		return vis_error_set(e, VIS_ERR_INVALID, "indicare da 1 a %d "
							 "comuni", GEN_MAX_COMUNI);
	if (o->persons < o->ncomuni || o->persons > GEN_MAX_PERSONS)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "le persone devono essere tra il numero dei comuni e %u",
				     GEN_MAX_PERSONS);
	if (o->days < 0 || o->days > GEN_MAX_DAYS)
		return vis_error_set(e, VIS_ERR_INVALID, "i giorni devono essere "
							 "tra 0 e %d", GEN_MAX_DAYS);
	if (o->producer && strlen(o->producer) > 100)
		return vis_error_set(e, VIS_ERR_INVALID, "il nome del produttore supera 100 byte");
	for (size_t i = 0; i < o->ncomuni; i++) {
		const char *code = o->comuni[i];
		bool digits = code && strlen(code) == 6;
		for (size_t k = 0; digits && k < 6; k++)
			digits = code[k] >= '0' && code[k] <= '9';
		if (!digits)
			return vis_error_set(e, VIS_ERR_INVALID, "'%s' non è un codice ISTAT di 6 "
								 "cifre",
					     code ? code : "");
		const struct ref_comune *rc = refdata_comune_by_istat(rd, code, date);
		if (!rc || !rc->active || !rc->belfiore[0] || strcmp(rc->istat, code))
			return vis_error_set(e, VIS_ERR_INVALID,
					     "'%s' non è un comune attivo in "
					     "data/comuni.csv", code);
		for (size_t k = 0; k < i; k++)
			if (!strcmp(o->comuni[k], code))
				return vis_error_set(e, VIS_ERR_INVALID, "municipality '%s' given twice", code);
	}
	return VIS_OK;
}

static void full_stats(struct gen_ctx *x, const struct gen_comune *c)
{
	for (uint32_t i = 0; i < c->np; i++) {
		const struct gen_person *p = &c->p[i];
		if (p->canc_reason)
			continue;
		x->st.residents_start++;
		if (p->cit[0] != 100)
			x->st.foreigners++;
		if (GEN_PLACE_IS_STATE(p->birth_place))
			x->st.born_abroad++;
	}
	for (uint32_t i = 0; i < c->nf; i++) {
		const struct gen_family *f = &c->f[i];
		if (f->kind != 1 || !f->size)
			continue;
		uint32_t s = f->size > GEN_HIST_SIZES ? GEN_HIST_SIZES : f->size;
		x->st.hh_size[s - 1]++;
	}
}

static void ctx_free(struct gen_ctx *x)
{
	for (size_t i = 0; i < x->nc; i++)
		gen_comune_free(&x->c[i]);
	free(x->c);
	free(x->mig);
	free(x->left_key);
	free(x->left_val);
	gen_cfreg_free(&x->cf);
	gen_data_free(&x->d);
}

vis_err gen_run(const struct refdata *rd, const struct gen_options *o, struct gen_stats *st,
		struct vis_error *e)
{
	vis_err rc = gen_options_check(rd, o, e);
	if (rc)
		return rc;
	struct gen_ctx *x = calloc(1, sizeof *x);
	if (!x)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	x->o = o;
	x->rd = rd;
	x->e = e;
	x->full_date = o->date ? o->date : GEN_DEFAULT_DATE;
	x->today = x->full_date;
	x->stamp = 1;
	rc = gen_data_load(&x->d, rd, o->data_dir ? o->data_dir : refdata_default_dir(), o->seed, e);
	if (!rc) {
		x->c = calloc(o->ncomuni, sizeof *x->c);
		if (!x->c)
			rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	for (size_t i = 0; !rc && i < o->ncomuni; i++) {
		uint64_t share = o->persons / o->ncomuni + (i < o->persons % o->ncomuni ? 1 : 0);
		rc = gen_comune_init(x, &x->c[i], o->comuni[i], (uint32_t)share, o->seed);
		if (rc)
			break;
		x->nc++;
		x->today = x->full_date;
		rc = gen_population_build(x, &x->c[i]);
		if (!rc) {
			full_stats(x, &x->c[i]);
			rc = gen_write_file(x, &x->c[i], true, x->full_date);
		}
	}
	for (int day = 1; !rc && day <= o->days; day++) {
		x->today = date_add_days(x->full_date, day);
		x->stamp = (uint32_t)day + 1;
		for (size_t i = 0; i < x->nc && !x->err; i++)
			gen_day_reset(&x->c[i]);
		/* Those who left a municipality of the run yesterday are
		 * registered today: the origin's delta that cancels them comes
		 * first, as a provincial database requires (one registration
		 * per codice fiscale at a time). */
		if (!x->err)
			gen_day_arrivals(x);
		for (size_t i = 0; i < x->nc && !x->err; i++)
			gen_day_simulate(x, &x->c[i], i);
		rc = x->err;
		for (size_t i = 0; !rc && i < x->nc; i++) {
			x->c[i].seq++;
			rc = gen_write_file(x, &x->c[i], false, x->today);
		}
	}
	if (!rc)
		rc = x->err;
	for (size_t i = 0; i < x->nc; i++) {
		x->st.persons += x->c[i].np;
		x->st.residents_end += x->c[i].residents;
	}
	if (st)
		*st = x->st;
	ctx_free(x);
	free(x);
	return rc;
}
