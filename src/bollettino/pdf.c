/* The bulletin as a PDF: cairo's PDF surface, A4, text laid out by pango
 * (the system's sans-serif font through fontconfig), the same data as the
 * printable page: heading, summary, the tables (their header repeated on
 * each page they run over), the note on statistical confidentiality. */
#include "bollettino/bollettino.h"

#include <cairo-pdf.h>
#include <fontconfig/fontconfig.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/str.h"

#define PAGE_W 595.276     /* A4 in points */
#define PAGE_H 841.89
#define MARGIN 50.0
#define PDF_MAX (16u << 20) /* a bulletin is a few pages: far below this */

struct pdf {
	cairo_surface_t *surface;
	cairo_t *cr;
	/* the render's own font map: a thread's default one (pango's, per
	 * thread) would outlive the render and keep cairo's fonts alive past
	 * the process, keeping cairo's fonts alive to its exit) */
	PangoFontMap *fonts;
	PangoContext *ctx;
	double y;
	struct strbuf out;
};

static cairo_status_t collect(void *ctx, const unsigned char *data, unsigned int len)
{
	struct pdf *p = ctx;
	return strbuf_add(&p->out, data, len) ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

/* A laid-out text at width w (pango units from points), font `font`. */
static PangoLayout *layout(struct pdf *p, const char *text, const char *font, double w,
			   PangoAlignment align)
{
	PangoLayout *l = pango_layout_new(p->ctx);
	PangoFontDescription *fd = pango_font_description_from_string(font);
	pango_layout_set_font_description(l, fd);
	pango_font_description_free(fd);
	pango_layout_set_width(l, (int)(w * PANGO_SCALE));
	pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
	pango_layout_set_alignment(l, align);
	pango_layout_set_text(l, text, -1);
	return l;
}

static double height(PangoLayout *l)
{
	int w, h;
	pango_layout_get_size(l, &w, &h);
	return (double)h / PANGO_SCALE;
}

static void new_page(struct pdf *p)
{
	cairo_show_page(p->cr);
	p->y = MARGIN;
}

/* A paragraph across the page; breaks the page first when it does not fit. */
static void para(struct pdf *p, const char *text, const char *font, double r, double g, double b,
		 double after)
{
	PangoLayout *l = layout(p, text, font, PAGE_W - 2 * MARGIN, PANGO_ALIGN_LEFT);
	double h = height(l);
	if (p->y + h > PAGE_H - MARGIN)
		new_page(p);
	cairo_set_source_rgb(p->cr, r, g, b);
	cairo_move_to(p->cr, MARGIN, p->y);
	pango_cairo_show_layout(p->cr, l);
	g_object_unref(l);
	p->y += h + after;
}

static void rule(struct pdf *p, double width, double r, double g, double b)
{
	cairo_set_source_rgb(p->cr, r, g, b);
	cairo_set_line_width(p->cr, width);
	cairo_move_to(p->cr, MARGIN, p->y);
	cairo_line_to(p->cr, PAGE_W - MARGIN, p->y);
	cairo_stroke(p->cr);
}

#define MAX_COLS 8

/* One row of a table at the current height: cells (or the header's
 * names), widths; returns its height. */
static double row(struct pdf *p, json_t *cells, const double *w, int n, bool head, bool draw)
{
	double x = MARGIN, h = 0;
	PangoLayout *ls[MAX_COLS];
	for (int i = 0; i < n; i++) {
		json_t *c = json_array_get(cells, (size_t)i);
		char text[BOLLETTINO_CELL_MAX];
		bollettino_cell_text(c, text);
		bool num = !json_is_string(c);
		ls[i] = layout(p, text, head ? "Sans Bold 8.5" : "Sans 8.5", w[i] - 6,
			       num || (head && i) ? PANGO_ALIGN_RIGHT : PANGO_ALIGN_LEFT);
		double hi = height(ls[i]);
		if (hi > h)
			h = hi;
	}
	h += 4;
	for (int i = 0; i < n; i++) {
		if (draw) {
			cairo_set_source_rgb(p->cr, head ? 0.36 : 0.1, head ? 0.44 : 0.1,
					     head ? 0.51 : 0.1);
			cairo_move_to(p->cr, x + 3, p->y + 2);
			pango_cairo_show_layout(p->cr, ls[i]);
		}
		x += w[i];
		g_object_unref(ls[i]);
	}
	if (draw) {
		p->y += h;
		cairo_set_source_rgb(p->cr, head ? 0.8 : 0.93, head ? 0.8 : 0.93, head ? 0.8 : 0.93);
		cairo_set_line_width(p->cr, head ? 1.5 : 0.6);
		cairo_move_to(p->cr, MARGIN, p->y);
		cairo_line_to(p->cr, PAGE_W - MARGIN, p->y);
		cairo_stroke(p->cr);
	}
	return h;
}

static void table(struct pdf *p, json_t *t)
{
	json_t *cols = json_object_get(t, "colonne"), *rows = json_object_get(t, "righe");
	int n = (int)json_array_size(cols);
	if (n > MAX_COLS)
		n = MAX_COLS;
	double width = PAGE_W - 2 * MARGIN, w[MAX_COLS];
	/* the label column wide, the others sharing the rest */
	w[0] = n > 1 ? width * (n > 3 ? 0.4 : 0.5) : width;
	for (int i = 1; i < n; i++)
		w[i] = (width - w[0]) / (n - 1);
	/* the title stays with the header and a first row */
	if (p->y + 60 > PAGE_H - MARGIN)
		new_page(p);
	para(p, json_string_value(json_object_get(t, "titolo")), "Sans Bold 11", 0.09, 0.2, 0.3,
	     4);
	row(p, cols, w, n, true, true);
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		if (p->y + row(p, r, w, n, false, false) > PAGE_H - MARGIN) {
			new_page(p);
			row(p, cols, w, n, true, true);
		}
		row(p, r, w, n, false, true);
	}
	p->y += 12;
}

/* The province's map, the municipality highlighted, with its source. */
static void map(struct pdf *p, json_t *m)
{
	if (!json_is_object(m))
		return;
	double hh = json_number_value(json_object_get(m, "altezza"));
	double scale = 0.6, x0 = MARGIN;
	if (p->y + hh * scale + 40 > PAGE_H - MARGIN)
		new_page(p);
	para(p, "Il territorio", "Sans Bold 11", 0.09, 0.2, 0.3, 4);
	double y0 = p->y;
	size_t i, j;
	json_t *u, *ring;
	cairo_set_fill_rule(p->cr, CAIRO_FILL_RULE_EVEN_ODD);
	json_array_foreach(json_object_get(m, "comuni"), i, u) {
		json_array_foreach(json_object_get(u, "anelli"), j, ring) {
			for (size_t k = 0; k + 1 < json_array_size(ring); k += 2) {
				double x = x0 + json_real_value(json_array_get(ring, k)) * scale;
				double y = y0 + json_real_value(json_array_get(ring, k + 1)) * scale;
				if (k)
					cairo_line_to(p->cr, x, y);
				else
					cairo_move_to(p->cr, x, y);
			}
			cairo_close_path(p->cr);
		}
		bool mine = json_is_true(json_object_get(u, "evidenziato"));
		cairo_set_source_rgb(p->cr, mine ? 0.0 : 0.77, mine ? 0.4 : 0.84, mine ? 0.8 : 0.91);
		cairo_fill_preserve(p->cr);
		cairo_set_source_rgb(p->cr, 1, 1, 1);
		cairo_set_line_width(p->cr, 0.4);
		cairo_stroke(p->cr);
	}
	p->y = y0 + hh * scale + 4;
	para(p, json_string_value(json_object_get(m, "fonte")), "Sans 7.5", 0.36, 0.44, 0.51, 12);
}

/* Under LeakSanitizer (the ASan build of the tests): fontconfig, which
 * pango loads, leaves a few hundred bytes unreachable at exit in its own
 * code (the stack holds nothing but fontconfig's frames).  They are
 * fontconfig's, not ours: told to the leak checker here rather than
 * freed with FcFini() and cairo_debug_reset_static_data(), debugging aids
 * that assert when anything is still referenced and aborted the process at
 * exit now and then. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VISURA_LSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(VISURA_LSAN)
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libfontconfig.so\n";
}
#endif

vis_err bollettino_pdf(json_t *data, const char *heading, int64_t created, unsigned char **pdf,
		       size_t *len, struct vis_error *e)
{
	struct pdf p = {.y = MARGIN};
	*pdf = NULL;
	*len = 0;
	strbuf_init(&p.out, PDF_MAX);
	p.surface = cairo_pdf_surface_create_for_stream(collect, &p, PAGE_W, PAGE_H);
	p.cr = cairo_create(p.surface);
	p.fonts = pango_cairo_font_map_new();
	p.ctx = pango_font_map_create_context(p.fonts);
	pango_cairo_update_context(p.cr, p.ctx);
	const char *name = json_string_value(json_object_get(json_object_get(data, "comune"), "nome"));
	const char *month = json_string_value(json_object_get(data, "nome_mese"));
	char title[256];
	/* a name < STATS_LABEL_MAX (128) and a month's name */
	STR_FMT_KNOWN(title, "Bollettino demografico mensile — %s, %s", name, month);
	cairo_pdf_surface_set_metadata(p.surface, CAIRO_PDF_METADATA_TITLE, title);
	cairo_pdf_surface_set_metadata(p.surface, CAIRO_PDF_METADATA_CREATOR, "visura");
	/* cairo (1.16) would write the clock's time as the creation date: the
	 * generation's instead, so the same bulletin gives the same bytes (1.16
	 * writes a date set here without the "D:" prefix, optional in PDF 1.5,
	 * and no ID: nothing else varies) */
	char when[32];
	time_t at = (time_t)created;
	struct tm tm;
	if (!gmtime_r(&at, &tm) || !strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		g_object_unref(p.ctx);
		g_object_unref(p.fonts);
		cairo_destroy(p.cr);
		cairo_surface_destroy(p.surface);
		strbuf_release(&p.out);
		return vis_error_set(e, VIS_ERR_INVALID, "PDF non scritto: data %lld fuori "
							 "dall'intervallo",
				     (long long)created);
	}
	cairo_pdf_surface_set_metadata(p.surface, CAIRO_PDF_METADATA_CREATE_DATE, when);
	cairo_pdf_surface_set_metadata(p.surface, CAIRO_PDF_METADATA_MOD_DATE, when);
	if (heading && *heading)
		para(&p, heading, "Sans Bold 12", 0.09, 0.2, 0.3, 2);
	para(&p, "Bollettino demografico mensile", "Sans Bold 18", 0.0, 0.4, 0.8, 2);
	char sub[200];
	/* a name < STATS_LABEL_MAX (128) and a month's name */
	STR_FMT_KNOWN(sub, "Comune di %s — %s", name, month);
	para(&p, sub, "Sans 11", 0.1, 0.1, 0.1, 6);
	rule(&p, 2.5, 0.0, 0.4, 0.8);
	p.y += 10;
	para(&p, "In sintesi", "Sans Bold 11", 0.09, 0.2, 0.3, 4);
	para(&p, json_string_value(json_object_get(data, "sintesi")), "Sans 10", 0.1, 0.1, 0.1, 14);
	map(&p, json_object_get(data, "mappa"));
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(data, "tavole"), i, t)
		table(&p, t);
	char note[1024];
	bollettino_note(data, note, sizeof note);
	para(&p, note, "Sans 8", 0.2, 0.2, 0.2, 0);
	g_object_unref(p.ctx);
	g_object_unref(p.fonts);
	cairo_destroy(p.cr);
	cairo_surface_finish(p.surface);
	cairo_status_t st = cairo_surface_status(p.surface);
	cairo_surface_destroy(p.surface);
	if (st != CAIRO_STATUS_SUCCESS || p.out.err || !p.out.len) {
		strbuf_release(&p.out);
		return vis_error_set(e, VIS_ERR_NOMEM, "PDF non scritto: %s",
				     cairo_status_to_string(st));
	}
	*pdf = (unsigned char *)strbuf_detach(&p.out, len);
	return VIS_OK;
}
