/* bollettino — the monthly demographic bulletin of a municipality, and its
 * archive: what the office publishes to each member municipality.
 *
 * Owns: the bulletin of one municipality and one month (the standard
 * tables of stats/tables.h for that month — the balance, the residents by
 * sex and broad age group, the foreign residents by citizenship, the
 * households by size — the indicators computed from those tables' published
 * cells only, and a short Italian text of the main figures written from
 * the same cells, so that neither reveals a cell the tables hide); its two
 * renderings, a printable HTML page (the printed visura's style sheet, A4,
 * no script) and a PDF (cairo's PDF surface, text laid out by pango:
 * pdf.c); the archive's workflow, shared by the scheduler of `visura
 * serve`, `visura stats report` and the API: which month is due, generating
 * it once, who may read it; and the bulletins withdrawn because they were
 * protected under an earlier rule (STATS_PROTECTION_RULE of stats/stats.h)
 * or with another threshold than the configured one: not served, made again under the current rule by `visura stats
 * regenerate`, POST /api/v1/bollettini/rigenera and the monthly run, the
 * earlier one kept in the database (bollettino_superato).
 *
 * A bulletin's data is a JSON object {comune: {codice, nome}, mese
 * ("YYYY-MM"), nome_mese, periodo: {dal, al}, inizio (the day before the
 * period: the population at start), soglia, sintesi (the text), tavole:
 * [{id, titolo, colonne, righe}] (rows: a label, then counts, null when
 * hidden), indicatori: [{id, nome, valore (null when it would need a hidden
 * cell), unita}], mappa: the province's map (map.c) or null}.  Both
 * renderings are made from it. */
#ifndef VISURA_BOLLETTINO_BOLLETTINO_H
#define VISURA_BOLLETTINO_BOLLETTINO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"
#include "common/stop.h"
#include "store/store.h"

struct stats_cache;

struct refdata;
struct web_assets;

/* What a bulletin needs besides its municipality and month. */
struct bollettino_opts {
	int threshold;            /* small-cell threshold (stats_threshold_min) */
	const char *heading;      /* the issuer printed on top (print_heading), "" = none */
	int today;                /* YYYYMMDD */
	int64_t now;              /* epoch seconds: generated_at */
	/* the interface loaded (app_ui_load): the maps' boundaries are its
	 * geo/comuni-PPP.topo.json, read from memory, never from the disk
	 * (serve has dropped root by then); NULL = no map */
	const struct web_assets *ui;
	/* the protections kept (stats/cache.h; the caller's, NULL = none):
	 * every member of a province shares strasa_cittadinanza's, so a
	 * month's bulletins pay its exact audit once */
	struct stats_cache *cache;
	/* asked as the tables are computed (stats_table_query's stop): the
	 * server's stop; {0} = never */
	struct stop_ask stop;
};

/* The options of the configuration's bulletin (threshold, heading) with
 * the interface's boundaries of ui (the caller's), as of today and now; no
 * cache. */
void bollettino_opts_init(struct bollettino_opts *o, const struct config *cfg,
			  const struct web_assets *ui, int today, int64_t now);

/* A bulletin built: its data and both renderings (the caller's). */
struct bollettino_doc {
	json_t *data;
	char *html;
	size_t html_len;
	unsigned char *pdf;
	size_t pdf_len;
};

/* Builds the bulletin of `comune` (ISTAT code) for month `mese` (YYYYMM).
 * A month the register does not cover to its last day (imports stop
 * earlier), or not at all, is VIS_ERR_INVALID with the reason in Italian.
 * Its period and tables are read in one snapshot (store_snapshot_join:
 * its own, or the caller's); inside another transaction VIS_ERR_INTERNAL. */
vis_err bollettino_build(struct store *s, const struct refdata *rd, const char *comune, int mese,
			 const struct bollettino_opts *o, struct bollettino_doc *out,
			 struct vis_error *e);
void bollettino_doc_release(struct bollettino_doc *d);

/* The PDF of a bulletin's data (pdf.c): *pdf is the caller's.  `created`
 * (epoch seconds) is its creation and modification date, the only thing
 * besides the data and the heading it depends on: the same arguments give
 * the same bytes. */
vis_err bollettino_pdf(json_t *data, const char *heading, int64_t created, unsigned char **pdf,
		       size_t *len, struct vis_error *e);

/* The map of the municipality's province (map.c): {larghezza, altezza,
 * comuni: [{codice, nome, evidenziato, anelli: [[x, y, x, y, ...]]}], fonte},
 * from ui's geo/comuni-PPP.topo.json; NULL when there is no such file or the
 * municipality is not in it. */
json_t *bollettino_map(const struct web_assets *ui, const char *comune);

/* What both renderings print: a table cell (a label; a count, 12.345; a
 * value, 163,2; "ris." for a hidden one), and the closing note (periods,
 * confidentiality). */
#define BOLLETTINO_CELL_MAX 128   /* a table's labels are below STATS_LABEL_MAX (128) */
void bollettino_cell_text(json_t *x, char out[BOLLETTINO_CELL_MAX]);
void bollettino_note(json_t *data, char *out, size_t cap);


/* Builds and archives the bulletin of a month: the one function of the
 * scheduler, the command line and on-demand generation.  *stored is false
 * when that month was archived already (the first one stays: the archive's
 * key is the municipality and the month); *sha256 (65 bytes, may be NULL)
 * gets the archived PDF's hash. */
vis_err bollettino_publish(struct store *s, const struct refdata *rd, const char *comune,
			   int mese, const struct bollettino_opts *o, bool *stored, char *sha256,
			   struct vis_error *e);

/* Whether an archived bulletin was made under the current protection rule
 * (STATS_PROTECTION_RULE) and with the configured threshold (`threshold`:
 * stats_threshold_min): only those are served.  One made under another
 * rule or with another threshold (0: none recorded, before migration 22)
 * is withdrawn: the same month's tables hidden two ways, side by side,
 * can give hidden cells back. */
bool bollettino_current(const struct store_bollettino *b, int threshold);

/* Why a bulletin that is not current is withdrawn, in Italian (the
 * listing's nota, the 410's message). */
#define BOLLETTINO_NOTE_MAX 512
void bollettino_withdrawn_note(const struct store_bollettino *b, int threshold,
			       char note[BOLLETTINO_NOTE_MAX]);

/* Who regenerates (the operations' log, security events): an account of
 * the API and its address, or nobody (the command line, the scheduler);
 * via names the way ("API", "riga di comando"; NULL: the scheduler). */
struct bollettino_actor {
	const struct store_account *account;
	const char *ip;
	const char *via;
};
/* One withdrawn bulletin and what became of it. */
struct bollettino_regen {
	char comune[7];
	int mese;                 /* YYYYMM */
	int was;                  /* the rule it was made under (0: unknown) */
	int was_soglia;           /* the threshold it was made with (0: unknown) */
	bool done;                /* made again under the current rule */
	char sha256[65];          /* done: the new PDF's hash */
	char why[256];            /* not done: why, in Italian */
};
/* Makes again, under the current rule, every withdrawn bulletin of `comune`
 * ("" or NULL: all) and `mese` (YYYYMM, 0: all) as of o->now: the earlier
 * row kept aside and the new one put in its place in one transaction
 * (store_bollettino_replace), a bulletin_regenerated security event for
 * each.  A month the register no longer covers stays withdrawn (done
 * false, why).  *out (the caller's, free()) lists each one found, *n how
 * many; an error only for a failure of the database. */
vis_err bollettino_regenerate(struct store *s, const struct refdata *rd, const char *comune,
			      int mese, const struct bollettino_opts *o,
			      const struct bollettino_actor *by, struct bollettino_regen **out,
			      int *n, struct vis_error *e);

/* An archived bulletin checked against a fresh rendering of its month,
 * as of its archived generation time (o->now is not used). */
struct bollettino_check {
	bool same;                /* the fresh PDF has the archived bytes' hash */
	char archived[65], fresh[65];
	unsigned char *pdf;       /* the fresh PDF, the caller's */
	size_t pdf_len;
};
/* VIS_ERR_NOTFOUND (Italian reason) when the month is not archived,
 * VIS_ERR_CONFLICT when it is withdrawn (bollettino_current). */
vis_err bollettino_verify(struct store *s, const struct refdata *rd, const char *comune, int mese,
			  const struct bollettino_opts *o, struct bollettino_check *out,
			  struct vis_error *e);

/* The scheduler's duty: for each municipality enabled, the bulletin of the
 * month just closed (the one before `o->today`'s), once the register covers
 * it to its last day, unless archived; with each one archived, the
 * municipality's withdrawn bulletins regenerated (bollettino_regenerate:
 * once a month, not at every start).  Returns how many were archived, or
 * -1 (e set) on a failure of the database; a bulletin that cannot be built
 * is logged once and left for the next call. */
int bollettino_due(struct store *s, const struct refdata *rd, const struct bollettino_opts *o,
		   struct vis_error *e);

/* The month before the one of `date` (YYYYMMDD), as YYYYMM. */
int bollettino_month_closed(int date);

/* Who may read a municipality's bulletins (deny by default): the registry
 * office's admins and the auditors, every one; an account of a body of
 * kind "municipality" whose ISTAT code is that municipality (en: the
 * account's body, NULL when it has none), its own; nobody else. */
bool bollettino_may_read(const char *role, const struct store_ente *en, const char *comune);

#endif
