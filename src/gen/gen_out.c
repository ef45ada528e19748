/* gen_out — writes FULL and DELTA files in import format v1 through one
 * large buffer per file.  See gen_impl.h and docs/import-format.md. */
#include "gen/gen_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/date.h"
#include "common/fsmode.h"
#include "common/str.h"

#ifndef VISURA_VERSION
#define VISURA_VERSION "0"
#endif

#define WBUF_SIZE (4u << 20)

struct wbuf {
	FILE *f;
	char *b;
	size_t n;
	uint64_t bytes;
	bool err;
};

static void w_flush(struct wbuf *w)
{
	if (w->n && !w->err && fwrite(w->b, 1, w->n, w->f) != w->n)
		w->err = true;
	w->bytes += w->n;
	w->n = 0;
}

static void w_mem(struct wbuf *w, const char *s, size_t n)
{
	if (w->n + n > WBUF_SIZE)
		w_flush(w);
	if (n > WBUF_SIZE) {
		w->err = true;
		return;
	}
	memcpy(w->b + w->n, s, n);
	w->n += n;
}

static void w_str(struct wbuf *w, const char *s)
{
	w_mem(w, s, strlen(s));
}

static void w_ch(struct wbuf *w, char ch)
{
	if (w->n + 1 > WBUF_SIZE)
		w_flush(w);
	w->b[w->n++] = ch;
}

static void w_tab(struct wbuf *w)
{
	w_ch(w, '\t');
}

/* Decimal, zero-padded to width digits. */
static void w_num(struct wbuf *w, uint64_t v, int width)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n < width && n < (int)sizeof tmp)
		tmp[n++] = '0';
	char out[24];
	for (int i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	w_mem(w, out, (size_t)n);
}

static void w_date(struct wbuf *w, int date)
{
	if (!date)
		return;
	char buf[10];
	int y = DATE_YEAR(date), m = DATE_MONTH(date), d = DATE_DAY(date);
	buf[0] = (char)('0' + y / 1000 % 10);
	buf[1] = (char)('0' + y / 100 % 10);
	buf[2] = (char)('0' + y / 10 % 10);
	buf[3] = (char)('0' + y % 10);
	buf[4] = '-';
	buf[5] = (char)('0' + m / 10);
	buf[6] = (char)('0' + m % 10);
	buf[7] = '-';
	buf[8] = (char)('0' + d / 10);
	buf[9] = (char)('0' + d % 10);
	w_mem(w, buf, 10);
}

static void w_place(struct wbuf *w, int32_t place)
{
	if (place > 0)
		w_num(w, (uint64_t)place, GEN_PLACE_IS_STATE(place) ? 3 : 6);
}

static void w_cf(struct wbuf *w, const struct gen_cfreg *reg, uint32_t id)
{
	if (id != GEN_NONE)
		w_mem(w, reg->code[id], CF_LEN);
}

static void w_id(struct wbuf *w, char prefix, uint64_t n, int width)
{
	w_ch(w, prefix);
	w_num(w, n, width);
}

static const char *const letters[] = {"", "A", "B", "C", "BIS", "/2", "D"};

static void write_fam(struct wbuf *w, struct gen_ctx *x, const struct gen_comune *c, uint32_t fi)
{
	const struct gen_family *f = &c->f[fi];
	const struct gen_street *s = &c->streets[f->street];
	w_str(w, "FAM\t");
	w_id(w, 'F', (uint64_t)fi + 1, 8);
	w_tab(w);
	w_ch(w, (char)('0' + f->kind));
	w_tab(w);
	w_date(w, f->valid_from);
	w_tab(w);
	w_str(w, gen_dug_name(s->dug));
	w_tab(w);
	switch (s->kind) {
	case 0:
		w_str(w, gen_street_name(s->a));
		break;
	case 1:
		w_str(w, x->d.str[s->a]);
		w_ch(w, ' ');
		w_str(w, x->d.str[s->b]);
		break;
	case 2:
		w_str(w, gen_frazione_name(s->a));
		break;
	case 3:
		w_str(w, x->d.str[s->b]);
		break;
	default:
		w_num(w, s->a, 0);
		break;
	}
	w_tab(w);
	if (f->civic)
		w_num(w, f->civic, 0);
	w_tab(w);
	if (f->letter && f->letter < sizeof letters / sizeof letters[0])
		w_str(w, letters[f->letter]);
	w_tab(w);
	if (f->scala)
		w_ch(w, (char)('A' + f->scala - 1));
	w_tab(w);
	if (f->interno)
		w_num(w, f->interno, 0);
	w_tab(w);
	w_str(w, c->cap);
	w_tab(w);
	if (f->frazione && f->frazione <= c->nfraz)
		w_str(w, gen_frazione_name(c->fraz[f->frazione - 1]));
	w_tab(w);
	if (f->kind == 2)
		w_str(w, gen_conv_name(f->conv_name));
	w_ch(w, '\n');
}

static void write_per(struct wbuf *w, struct gen_ctx *x, const struct gen_comune *c, uint32_t pi)
{
	const struct gen_person *p = &c->p[pi];
	w_str(w, "PER\t");
	w_id(w, 'P', (uint64_t)pi + 1, 8);
	w_tab(w);
	w_date(w, p->valid_from);
	w_tab(w);
	w_cf(w, &x->cf, p->cf);
	w_tab(w);
	w_str(w, x->d.str[p->surname]);
	w_tab(w);
	w_str(w, x->d.str[p->name]);
	w_tab(w);
	w_ch(w, p->sex);
	w_tab(w);
	w_date(w, p->birth);
	w_tab(w);
	w_place(w, p->birth_place);
	w_tab(w);
	w_num(w, p->cit[0], 3);
	if (p->cit[1]) {
		w_ch(w, ',');
		w_num(w, p->cit[1], 3);
	}
	w_tab(w);
	w_num(w, p->cs, 0);
	w_tab(w);
	if (p->cs != 1 && p->cs != 9)
		w_date(w, p->cs_date);
	w_tab(w);
	w_cf(w, &x->cf, p->father_cf);
	w_tab(w);
	w_cf(w, &x->cf, p->mother_cf);
	w_tab(w);
	w_num(w, p->reg_reason, 0);
	w_tab(w);
	w_date(w, p->reg_date);
	w_tab(w);
	if (p->canc_reason) {
		w_num(w, p->canc_reason, 0);
		w_tab(w);
		w_date(w, p->canc_date);
		w_tab(w);
		if (p->canc_reason == 3 || p->canc_reason == 8)
			w_place(w, p->dest);
	} else {
		w_tab(w);
		w_tab(w);
	}
	w_tab(w);
	if (p->fam != GEN_NONE) {
		w_id(w, 'F', (uint64_t)p->fam + 1, 8);
		w_tab(w);
		w_num(w, p->rel, 0);
	} else {
		w_tab(w);
	}
	w_ch(w, '\n');
}

static const char *const evt_names[] = {
	[EVT_NASCITA] = "NASCITA",
	[EVT_IMMIGRAZIONE] = "IMMIGRAZIONE",
	[EVT_DECESSO] = "DECESSO",
	[EVT_EMIGRAZIONE] = "EMIGRAZIONE",
	[EVT_CAMBIO_INDIRIZZO] = "CAMBIO_INDIRIZZO",
	[EVT_MATRIMONIO] = "MATRIMONIO",
	[EVT_DIVORZIO] = "DIVORZIO",
	[EVT_VEDOVANZA] = "VEDOVANZA",
	[EVT_UNIONE_CIVILE] = "UNIONE_CIVILE",
	[EVT_SCIOGLIMENTO_UNIONE] = "SCIOGLIMENTO_UNIONE",
	[EVT_CITTADINANZA] = "CITTADINANZA",
};

const char *gen_evt_name(uint8_t type)
{
	return type < sizeof evt_names / sizeof evt_names[0] ? evt_names[type] : "?";
}

static void write_evt(struct wbuf *w, struct gen_ctx *x, struct gen_comune *c,
		      const struct gen_event *e, int date)
{
	w_str(w, "EVT\t");
	w_id(w, 'E', ++c->next_event, 9);
	w_tab(w);
	w_str(w, gen_evt_name(e->type));
	w_tab(w);
	w_date(w, date);
	w_tab(w);
	w_id(w, 'P', (uint64_t)e->person + 1, 8);
	w_tab(w);
	w_place(w, e->place);
	w_tab(w);
	w_cf(w, &x->cf, e->other_cf);
	w_ch(w, '\n');
}

vis_err gen_write_file(struct gen_ctx *x, struct gen_comune *c, bool full, int date)
{
	char path[4200], tmp[4300];
	if (!STR_FMT(path, "%s/%s-%06u-%s.tsv", x->o->out_dir, c->istat, (unsigned)c->seq,
		     full ? "FULL" : "DELTA"))
		return gen_fail(x, VIS_ERR_LIMIT, "percorso troppo lungo: la cartella di uscita");
	struct wbuf w = {0};
	w.b = malloc(WBUF_SIZE);
	if (!w.b)
		return gen_fail(x, VIS_ERR_NOMEM, "memoria esaurita");
	int fd;
	vis_err trc = fsmode_temp_create(path, "part", tmp, sizeof tmp, &fd, "file generato", x->e);
	w.f = trc ? NULL : fdopen(fd, "wb");
	if (!w.f) {
		free(w.b);
		if (trc)
			return x->err = trc;
		int err = errno;
		close(fd);
		remove(tmp);
		return x->err = vis_error_set(x->e, VIS_ERR_IO, "impossibile creare '%s': %s", tmp,
					      strerror(err));
	}
	const char *producer = x->o->producer ? x->o->producer : "visura-gen/" VISURA_VERSION;
	w_str(&w, "HDR\tVISURA-ANAGRAFE\t1\t");
	w_str(&w, c->istat);
	w_tab(&w);
	w_date(&w, date);
	w_str(&w, "T23:00:00Z\t");
	w_num(&w, c->seq, 0);
	w_str(&w, full ? "\tFULL\t" : "\tDELTA\t");
	w_str(&w, producer);
	w_ch(&w, '\n');
	uint64_t count = 0;
	if (full) {
		for (uint32_t i = 0; i < c->nf; i++)
			write_fam(&w, x, c, i);
		for (uint32_t i = 0; i < c->np; i++)
			write_per(&w, x, c, i);
		count = (uint64_t)c->nf + c->np;
	} else {
		for (uint32_t i = 0; i < c->ndfam; i++)
			write_fam(&w, x, c, c->dfam[i]);
		for (uint32_t i = 0; i < c->ndper; i++)
			write_per(&w, x, c, c->dper[i]);
		for (uint32_t i = 0; i < c->nev; i++)
			write_evt(&w, x, c, &c->ev[i], date);
		count = (uint64_t)c->ndfam + c->ndper + c->nev;
		x->st.events += c->nev;
	}
	w_str(&w, "END\t");
	w_num(&w, count, 0);
	w_ch(&w, '\n');
	w_flush(&w);
	bool bad = w.err;
	if (fclose(w.f) != 0)
		bad = true;
	free(w.b);
	if (bad) {
		remove(tmp);
		return x->err = vis_error_set(x->e, VIS_ERR_IO, "impossibile scrivere "
								"'%s': %s", path,
					      strerror(errno));
	}
	vis_err rc = fsmode_replace(tmp, path, false, "file generato", x->e);
	if (rc) {
		remove(tmp);
		return x->err = rc;
	}
	x->st.files++;
	x->st.bytes += w.bytes;
	return VIS_OK;
}
