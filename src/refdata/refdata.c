#include "refdata/refdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/csv.h"
#include "common/date.h"

#ifndef VISURA_DATA_DIR
#define VISURA_DATA_DIR "data"
#endif

#define REFDATA_MAX_FILE (16u << 20)

struct refdata {
	char *comuni_buf;
	char *stati_buf;
	struct ref_comune *comuni;   /* sorted by istat, then valid_from */
	size_t ncomuni;
	const struct ref_comune **by_belfiore; /* sorted by belfiore, valid_from */
	struct ref_stato *stati;     /* sorted by istat */
	size_t nstati;
	const struct ref_stato **stati_by_belfiore;
	size_t nstati_belfiore;
};

const char *refdata_default_dir(void)
{
	const char *d = getenv("VISURA_DATA_DIR");
	return d && *d ? d : VISURA_DATA_DIR;
}

static int cmp_comune(const void *a, const void *b)
{
	const struct ref_comune *x = a, *y = b;
	int c = strcmp(x->istat, y->istat);
	return c ? c : (x->valid_from > y->valid_from) - (x->valid_from < y->valid_from);
}

static int cmp_comune_belfiore(const void *a, const void *b)
{
	const struct ref_comune *x = *(const struct ref_comune *const *)a;
	const struct ref_comune *y = *(const struct ref_comune *const *)b;
	int c = strcmp(x->belfiore, y->belfiore);
	return c ? c : (x->valid_from > y->valid_from) - (x->valid_from < y->valid_from);
}

static int cmp_stato(const void *a, const void *b)
{
	const struct ref_stato *x = a, *y = b;
	return strcmp(x->istat, y->istat);
}

static int cmp_stato_belfiore(const void *a, const void *b)
{
	const struct ref_stato *x = *(const struct ref_stato *const *)a;
	const struct ref_stato *y = *(const struct ref_stato *const *)b;
	return strcmp(x->belfiore, y->belfiore);
}

static int opt_date(const char *s, bool *ok)
{
	int d = 0;
	if (*s && !date_parse(s, strlen(s), &d))
		*ok = false;
	return d;
}

static bool copy_code(char *dst, size_t cap, const char *src, size_t exact)
{
	size_t n = strlen(src);
	if (exact ? n != exact : n >= cap)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

static char *read_data_file(const char *dir, const char *name, size_t *len,
			    struct vis_error *e)
{
	return file_read_in(dir, name, REFDATA_MAX_FILE, len, "i dati di riferimento", e);
}

static vis_err load_comuni(struct refdata *rd, const char *dir, struct vis_error *e)
{
	size_t len;
	rd->comuni_buf = read_data_file(dir, "comuni.csv", &len, e);
	if (!rd->comuni_buf)
		return VIS_ERR_IO;
	size_t cap = 1;
	for (size_t i = 0; i < len; i++)
		cap += rd->comuni_buf[i] == '\n';
	rd->comuni = calloc(cap, sizeof *rd->comuni);
	if (!rd->comuni)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	struct csv_reader r;
	char *f[CSV_MAX_FIELDS];
	int nf;
	csv_reader_init(&r, rd->comuni_buf, len);
	if (csv_reader_next(&r, f) != 14 || strcmp(f[0], "codice_istat"))
		return vis_error_set(e, VIS_ERR_INVALID, "comuni.csv: unexpected header");
	while ((nf = csv_reader_next(&r, f)) != 0) {
		struct ref_comune *c = &rd->comuni[rd->ncomuni];
		bool ok = nf == 14;
		ok = ok && copy_code(c->istat, sizeof c->istat, f[0], 6);
		ok = ok && copy_code(c->province, sizeof c->province, f[4], 0);
		ok = ok && copy_code(c->region, sizeof c->region, f[6], 0);
		ok = ok && (!*f[8] || copy_code(c->belfiore, sizeof c->belfiore, f[8], 4));
		if (ok) {
			c->valid_from = opt_date(f[9], &ok);
			c->valid_to = opt_date(f[10], &ok);
			c->active = !strcmp(f[11], "A");
			c->name = f[1];
		}
		if (!ok)
			return vis_error_set(e, VIS_ERR_INVALID, "comuni.csv: record non valido "
								 "alla riga %zu", r.line);
		rd->ncomuni++;
	}
	qsort(rd->comuni, rd->ncomuni, sizeof *rd->comuni, cmp_comune);
	rd->by_belfiore = malloc((rd->ncomuni + 1) * sizeof *rd->by_belfiore);
	if (!rd->by_belfiore)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	for (size_t i = 0; i < rd->ncomuni; i++)
		rd->by_belfiore[i] = &rd->comuni[i];
	qsort(rd->by_belfiore, rd->ncomuni, sizeof *rd->by_belfiore, cmp_comune_belfiore);
	return VIS_OK;
}

static bool is_eu(const char *iso3)
{
	static const char eu[] = "AUT BEL BGR CYP HRV DNK EST FIN FRA DEU GRC IRL LVA LTU "
				 "LUX MLT NLD POL PRT CZE ROU SVK SVN ESP SWE HUN ITA";
	return strlen(iso3) == 3 && strstr(eu, iso3) != NULL;
}

static vis_err load_stati(struct refdata *rd, const char *dir, struct vis_error *e)
{
	size_t len;
	rd->stati_buf = read_data_file(dir, "stati_esteri.csv", &len, e);
	if (!rd->stati_buf)
		return VIS_ERR_IO;
	size_t cap = 1;
	for (size_t i = 0; i < len; i++)
		cap += rd->stati_buf[i] == '\n';
	rd->stati = calloc(cap, sizeof *rd->stati);
	rd->stati_by_belfiore = calloc(cap, sizeof *rd->stati_by_belfiore);
	if (!rd->stati || !rd->stati_by_belfiore)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	struct csv_reader r;
	char *f[CSV_MAX_FIELDS];
	int nf;
	csv_reader_init(&r, rd->stati_buf, len);
	if (csv_reader_next(&r, f) != 16 || strcmp(f[0], "codice_belfiore") ||
	    strcmp(f[15], "denominazione_attuale"))
		return vis_error_set(e, VIS_ERR_INVALID, "stati_esteri.csv: unexpected header");
	while ((nf = csv_reader_next(&r, f)) != 0) {
		struct ref_stato *s = &rd->stati[rd->nstati];
		bool ok = nf == 16 && *f[15];
		ok = ok && (!*f[4] || copy_code(s->istat, sizeof s->istat, f[4], 3));
		ok = ok && (!*f[0] || copy_code(s->belfiore, sizeof s->belfiore, f[0], 4));
		ok = ok && (!*f[5] || copy_code(s->iso3, sizeof s->iso3, f[5], 3));
		if (ok) {
			s->valid_from = opt_date(f[8], &ok);
			s->valid_to = opt_date(f[9], &ok);
			s->eu = is_eu(s->iso3);
			s->name = f[15];
			s->anpr_name = f[1];
		}
		if (!ok)
			return vis_error_set(e, VIS_ERR_INVALID, "stati_esteri.csv: record non "
								 "valido alla riga %zu", r.line);
		rd->nstati++;
	}
	qsort(rd->stati, rd->nstati, sizeof *rd->stati, cmp_stato);
	for (size_t i = 0; i < rd->nstati; i++)
		if (rd->stati[i].belfiore[0])
			rd->stati_by_belfiore[rd->nstati_belfiore++] = &rd->stati[i];
	qsort(rd->stati_by_belfiore, rd->nstati_belfiore, sizeof *rd->stati_by_belfiore,
	      cmp_stato_belfiore);
	return VIS_OK;
}

vis_err refdata_load(const char *dir, struct refdata **out, struct vis_error *e)
{
	struct refdata *rd = calloc(1, sizeof *rd);
	if (!rd)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	vis_err rc = load_comuni(rd, dir, e);
	if (rc == VIS_OK)
		rc = load_stati(rd, dir, e);
	if (rc != VIS_OK) {
		refdata_free(rd);
		return rc;
	}
	*out = rd;
	return VIS_OK;
}

void refdata_free(struct refdata *rd)
{
	if (!rd)
		return;
	free(rd->comuni);
	free(rd->by_belfiore);
	free(rd->stati);
	free(rd->stati_by_belfiore);
	free(rd->comuni_buf);
	free(rd->stati_buf);
	free(rd);
}

size_t refdata_comune_count(const struct refdata *rd) { return rd->ncomuni; }
const struct ref_comune *refdata_comune_at(const struct refdata *rd, size_t i)
{
	return i < rd->ncomuni ? &rd->comuni[i] : NULL;
}
size_t refdata_stato_count(const struct refdata *rd) { return rd->nstati; }
const struct ref_stato *refdata_stato_at(const struct refdata *rd, size_t i)
{
	return i < rd->nstati ? &rd->stati[i] : NULL;
}

static bool valid_on(const struct ref_comune *c, int date)
{
	return c->valid_from <= date && (c->valid_to == 0 || date <= c->valid_to);
}

/* Among rows [lo, hi) of one code, the one valid on date, else the latest. */
static const struct ref_comune *pick(const struct ref_comune *const *rows,
				     size_t n, int date)
{
	const struct ref_comune *latest = rows[0];
	for (size_t i = 0; i < n; i++) {
		if (date && valid_on(rows[i], date))
			return rows[i];
		if (rows[i]->valid_from >= latest->valid_from)
			latest = rows[i];
	}
	return latest;
}

#define PICK_MAX 64

const struct ref_comune *refdata_comune_by_istat(const struct refdata *rd,
						 const char *istat, int date)
{
	size_t lo = 0, hi = rd->ncomuni;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(rd->comuni[mid].istat, istat) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct ref_comune *rows[PICK_MAX];
	size_t n = 0;
	while (lo < rd->ncomuni && n < PICK_MAX && !strcmp(rd->comuni[lo].istat, istat))
		rows[n++] = &rd->comuni[lo++];
	return n ? pick(rows, n, date) : NULL;
}

static size_t belfiore_first(const struct refdata *rd, const char *belfiore)
{
	size_t lo = 0, hi = rd->ncomuni;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(rd->by_belfiore[mid]->belfiore, belfiore) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct ref_comune *refdata_comune_by_belfiore(const struct refdata *rd,
						    const char *belfiore, int date)
{
	if (!belfiore[0])
		return NULL;
	size_t i = belfiore_first(rd, belfiore), n = 0;
	while (i + n < rd->ncomuni && n < PICK_MAX &&
	       !strcmp(rd->by_belfiore[i + n]->belfiore, belfiore))
		n++;
	return n ? pick(rd->by_belfiore + i, n, date) : NULL;
}

bool refdata_comune_had_belfiore(const struct refdata *rd, const char *istat,
				 const char *belfiore)
{
	if (!belfiore[0])
		return false;
	for (size_t i = belfiore_first(rd, belfiore);
	     i < rd->ncomuni && !strcmp(rd->by_belfiore[i]->belfiore, belfiore); i++)
		if (!strcmp(rd->by_belfiore[i]->istat, istat))
			return true;
	return false;
}

const struct ref_stato *refdata_stato_by_istat(const struct refdata *rd,
					       const char *istat)
{
	struct ref_stato key;
	if (strlen(istat) >= sizeof key.istat || !istat[0])
		return NULL;
	strcpy(key.istat, istat);
	return bsearch(&key, rd->stati, rd->nstati, sizeof key, cmp_stato);
}

const struct ref_stato *refdata_stato_by_belfiore(const struct refdata *rd,
						  const char *belfiore)
{
	struct ref_stato key, *kp = &key;
	if (strlen(belfiore) >= sizeof key.belfiore || !belfiore[0])
		return NULL;
	strcpy(key.belfiore, belfiore);
	const struct ref_stato **hit = bsearch(&kp, rd->stati_by_belfiore, rd->nstati_belfiore,
					       sizeof kp, cmp_stato_belfiore);
	return hit ? *hit : NULL;
}
