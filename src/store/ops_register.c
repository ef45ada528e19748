/* The register of store.h written once over store/driver.h: reference
 * data, imports (households, persons and events with their versions),
 * the feed, and every read of the register. */
#include <stddef.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "common/text.h"
#include "common/str.h"
#include "refdata/refdata.h"
#include "store/ops.h"
#include "store/records.h"
#include "store/sql.h"

/* Ends a statement that stopped on DRV_ERROR or ran to its end. */
static vis_err finish(struct drv_stmt *st, enum drv_step r)
{
	vis_err rc = r == DRV_ERROR ? st->err : VIS_OK;
	drv_reset(st);
	return rc;
}

/* ---- reference data ---- */

/* The rows are sent with drv_send: on PostgreSQL some ten thousand rows
 * travel in pipelines, not one round trip each (a failure fails the
 * commit). */
static vis_err refdata_rows(struct drv *d, const struct refdata *rd, struct vis_error *e)
{
	if (drv_exec(d, "DELETE FROM comune; DELETE FROM stato", e))
		return ops_err(e);
	for (size_t i = 0; i < refdata_comune_count(rd); i++) {
		const struct ref_comune *c = refdata_comune_at(rd, i);
		struct drv_stmt *st = drv_prepare(d, SQL_COMUNE_INSERT,
						  "inserimento del comune", e);
		if (!st)
			return ops_err(e);
		drv_bind_text(st, 1, c->istat);
		drv_bind_i64(st, 2, c->valid_from);
		drv_bind_i64(st, 3, c->valid_to);
		drv_bind_text(st, 4, c->name);
		drv_bind_text(st, 5, c->belfiore);
		drv_bind_text(st, 6, c->province);
		drv_bind_text(st, 7, c->region);
		drv_bind_i64(st, 8, c->active);
		if (drv_send(st, e))
			return ops_err(e);
	}
	for (size_t i = 0; i < refdata_stato_count(rd); i++) {
		const struct ref_stato *t = refdata_stato_at(rd, i);
		struct drv_stmt *st = drv_prepare(d, SQL_STATO_INSERT,
						  "inserimento dello stato estero", e);
		if (!st)
			return ops_err(e);
		drv_bind_text(st, 1, t->istat);
		drv_bind_text(st, 2, t->belfiore);
		drv_bind_text(st, 3, t->iso3);
		drv_bind_text(st, 4, t->name);
		drv_bind_i64(st, 5, t->valid_from);
		drv_bind_i64(st, 6, t->valid_to);
		drv_bind_i64(st, 7, t->eu);
		if (drv_send(st, e))
			return ops_err(e);
	}
	return VIS_OK;
}

vis_err store_refdata_replace(struct store *s, const struct refdata *rd, struct vis_error *e)
{
	struct drv *d = store_drv(s);
	if (drv_begin(d, e))
		return ops_err(e);
	if (refdata_rows(d, rd, e)) {
		drv_rollback(d);
		return ops_err(e);
	}
	return drv_commit(d, e);
}

/* ---- feed and imports ---- */

vis_err store_feed_get(struct store *s, const char *comune, struct store_feed *out, bool *found,
		       struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_FEED_GET, "stato del flusso", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, comune);
	if (drv_one(st, found, e))
		return ops_err(e);
	vis_err rc = VIS_OK;
	if (*found && !(rc = STR_SET(out->comune, comune, "comune", e))) {
		out->last_seq = drv_col_i64(st, 0);
		out->last_extract = drv_col_i64(st, 1);
		out->last_import_id = drv_col_i64(st, 2);
	}
	drv_reset(st);
	return rc;
}

vis_err store_feed_each(struct store *s, store_feed_fn fn, void *ctx, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_FEED_EACH, "flusso", e);
	if (!st)
		return ops_err(e);
	enum drv_step r;
	while ((r = drv_step(st, e)) == DRV_ROW) {
		struct store_feed f;
		DRV_COL_COPY(st, 0, f.comune);
		f.last_seq = drv_col_i64(st, 1);
		f.last_extract = drv_col_i64(st, 2);
		f.last_import_id = drv_col_i64(st, 3);
		if (fn(ctx, &f) != 0)
			break;
	}
	return finish(st, r);
}

static void counts_read(struct drv_stmt *st, int c, struct store_import_counts *n)
{
	int64_t *cols[] = {&n->inserted, &n->updated, &n->unchanged, &n->closed,
			   &n->families, &n->persons, &n->events};
	for (int i = 0; i < 7; i++)
		*cols[i] = drv_col_i64(st, c + i);
}

vis_err store_import_each(struct store *s, const char *comune, int64_t before, int limit,
			  store_import_fn fn, void *ctx, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_IMPORT_EACH,
					  "storico delle importazioni", e);
	if (!st)
		return ops_err(e);
	if (comune)
		drv_bind_text(st, 1, comune);
	else
		drv_bind_null(st, 1);
	drv_bind_i64(st, 2, limit);
	drv_bind_i64(st, 3, before);
	enum drv_step r;
	while ((r = drv_step(st, e)) == DRV_ROW) {
		struct store_import_row row = {.id = drv_col_i64(st, 0)};
		DRV_COL_COPY(st, 1, row.imp.comune);
		row.imp.seq = drv_col_i64(st, 2);
		row.imp.full = !strcmp(drv_col_text(st, 3), "FULL");
		row.imp.extract = drv_col_i64(st, 4);
		DRV_COL_COPY(st, 5, row.imp.sha256);
		DRV_COL_COPY(st, 6, row.imp.source);
		row.started_at = drv_col_i64(st, 7);
		row.finished_at = drv_col_i64(st, 8);
		counts_read(st, 9, &row.counts);
		if (fn(ctx, &row) != 0)
			break;
	}
	return finish(st, r);
}

vis_err store_import_last_counts(struct store *s, const char *comune,
				 struct store_import_counts *out, struct vis_error *e)
{
	memset(out, 0, sizeof *out);
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_IMPORT_LAST_COUNTS,
					  "conteggi dell'importazione", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, comune);
	bool found;
	if (drv_one(st, &found, e))
		return ops_err(e);
	if (found)
		counts_read(st, 0, out);
	drv_reset(st);
	return VIS_OK;
}

vis_err store_import_sha(struct store *s, const char *comune, int64_t seq, char sha_out[65],
			 bool *found, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_IMPORT_SHA,
					  "ricerca dell'importazione", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, comune);
	drv_bind_i64(st, 2, seq);
	if (drv_one(st, found, e))
		return ops_err(e);
	if (*found)
		drv_col_copy(st, 0, sha_out, 65);
	drv_reset(st);
	return VIS_OK;
}

/* Runs a look-up of two text parameters; *found tells whether it had a
 * row, whose first column lands in out (cap bytes) when out is given. */
static vis_err probe(struct store *s, enum sql_id id, const char *a, const char *b, char *out,
		     size_t cap, bool *found, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), id, "ricerca", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, a);
	drv_bind_text(st, 2, b);
	if (drv_one(st, found, e))
		return ops_err(e);
	if (*found && out)
		drv_col_copy(st, 0, out, cap);
	drv_reset(st);
	return VIS_OK;
}

vis_err store_family_exists(struct store *s, const char *comune, const char *id, bool *found,
			    struct vis_error *e)
{
	return probe(s, SQL_FAMILY_EXISTS, comune, id, NULL, 0, found, e);
}


vis_err store_person_cf_owner(struct store *s, const char *comune, const char *cf,
			      char id_out[STORE_ID_MAX], bool *found, struct vis_error *e)
{
	return probe(s, SQL_PERSON_CF_OWNER, comune, cf, id_out, STORE_ID_MAX, found, e);
}

/* PostgreSQL: statement id (?1 the municipality, ?2 an array of the n
 * keys) run once, each row handed to row(ctx, n, st). */
static vis_err keys_lookup(struct store *s, enum sql_id id, const char *comune, int n,
			   const char *const *keys,
			   void (*row)(void *ctx, int n, struct drv_stmt *st), void *ctx,
			   struct vis_error *e)
{
	size_t cap = 3;
	for (int i = 0; i < n; i++)
		cap += 2 * strlen(keys[i]) + 3;   /* quoted, each character escaped at worst */
	char *list = malloc(cap);
	if (!list)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	vis_err rc = ops_pg_array(list, cap, n, keys, NULL, e);
	struct drv_stmt *st = rc ? NULL : drv_prepare(store_drv(s), id, "ricerca", e);
	if (!st) {
		free(list);
		return ops_err(e);
	}
	drv_bind_text(st, 1, comune);
	drv_bind_text(st, 2, list);
	enum drv_step r;
	while ((r = drv_step(st, e)) == DRV_ROW)
		row(ctx, n, st);
	free(list);
	return finish(st, r);
}

/* SQLite: statement id (?1 the municipality, ?2 one key) run for each of
 * the n keys, its row, if any, handed to row(ctx, i, st). */
static vis_err keys_each(struct store *s, enum sql_id id, const char *comune, int n,
			 const char *const *keys,
			 void (*row)(void *ctx, int i, struct drv_stmt *st), void *ctx,
			 struct vis_error *e)
{
	for (int i = 0; i < n; i++) {
		struct drv_stmt *st = drv_prepare(store_drv(s), id, "ricerca", e);
		if (!st)
			return ops_err(e);
		drv_bind_text(st, 1, comune);
		drv_bind_text(st, 2, keys[i]);
		bool found;
		if (drv_one(st, &found, e))
			return ops_err(e);
		if (found)
			row(ctx, i, st);
		drv_reset(st);
	}
	return VIS_OK;
}

/* The place (from 0) of the key of a keys_lookup row that names it in
 * column 0 (from 1, WITH ORDINALITY), -1 if out of range. */
static int key_place(struct drv_stmt *st, int n)
{
	int64_t i = drv_col_i64(st, 0) - 1;
	return i >= 0 && i < n ? (int)i : -1;
}

static void owner_found(void *ctx, int n, struct drv_stmt *st)
{
	int i = key_place(st, n);
	if (i >= 0)
		drv_col_copy(st, 1, ((char (*)[STORE_ID_MAX])ctx)[i], STORE_ID_MAX);
}

vis_err store_person_cf_owners(struct store *s, const char *comune, int n,
			       const char *const *cfs, char (*id_out)[STORE_ID_MAX],
			       struct vis_error *e)
{
	if (n < 0 || n > STORE_CF_BATCH)
		return vis_error_set(e, VIS_ERR_INTERNAL, "%d codici fiscali (da 0 a %d)", n,
				     STORE_CF_BATCH);
	for (int i = 0; i < n; i++)
		id_out[i][0] = '\0';
	if (n == 0)
		return VIS_OK;
	if (store_shared(s))
		return keys_lookup(s, SQL_PERSON_CF_OWNER_ANY, comune, n, cfs, owner_found, id_out,
				   e);
	for (int i = 0; i < n; i++) {
		bool found;
		if (store_person_cf_owner(s, comune, cfs[i], id_out[i], &found, e))
			return ops_err(e);
	}
	return VIS_OK;
}

struct cf_elsewhere {
	const char *const *cfs;
	char (*comune_out)[7];
};

static void cf_found(void *ctx, int n, struct drv_stmt *st)
{
	struct cf_elsewhere *c = ctx;
	const char *cf = drv_col_text(st, 0);
	for (int i = 0; i < n; i++)
		if (!strcmp(c->cfs[i], cf))
			drv_col_copy(st, 1, c->comune_out[i], 7);
}

vis_err store_person_cf_elsewhere(struct store *s, const char *comune, int n,
				  const char *const *cfs, char (*comune_out)[7],
				  struct vis_error *e)
{
	if (n < 0 || n > STORE_CF_BATCH)
		return vis_error_set(e, VIS_ERR_INTERNAL, "%d codici fiscali (da 0 a %d)", n,
				     STORE_CF_BATCH);
	for (int i = 0; i < n; i++)
		comune_out[i][0] = '\0';
	/* Nowhere, when the register was empty as the import began: and a
	 * first snapshot's bulk load has no index on cf (SQLite: every look-up
	 * would scan) or a COPY under way (PostgreSQL: every look-up would end
	 * it). */
	if (n == 0 || store_register_empty(s))
		return VIS_OK;
	if (!store_shared(s)) {
		for (int i = 0; i < n; i++) {
			bool found;
			if (probe(s, SQL_PERSON_CF_ELSEWHERE, comune, cfs[i], comune_out[i], 7, &found,
				  e))
				return ops_err(e);
		}
		return VIS_OK;
	}
	struct cf_elsewhere c = {cfs, comune_out};
	return keys_lookup(s, SQL_PERSON_CF_ELSEWHERE_ANY, comune, n, cfs, cf_found, &c, e);
}

bool store_batched(struct store *s)
{
	return store_shared(s);
}

/* Whether the municipality has persons, and whether the register's tables
 * hold any row. */
static vis_err register_probe(struct drv *d, const char *comune, bool *empty, bool *tables_empty,
			      struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(d, SQL_COMUNE_HAS_PERSON, "controllo del comune", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, comune);
	bool found;
	if (drv_one(st, &found, e))
		return ops_err(e);
	*empty = !found || drv_col_null(st, 0);
	*tables_empty = !found || (drv_col_null(st, 1) && drv_col_null(st, 2));
	drv_reset(st);
	return VIS_OK;
}

vis_err store_import_start(struct store *s, const struct store_import *imp, int64_t *import_id,
			   bool *empty, struct vis_error *e)
{
	struct drv *d = store_drv(s);
	bool tables_empty;
	/* The load's kind is chosen before its transaction (SQLite pauses
	 * foreign keys outside one); what the importer reads is probed again
	 * under the import lock. */
	if (register_probe(d, imp->comune, empty, &tables_empty, e) ||
	    drv_load_begin(d, tables_empty && imp->full, e) ||
	    register_probe(d, imp->comune, empty, &tables_empty, e))
		return ops_err(e);
	store_register_empty_set(s, tables_empty);
	struct drv_stmt *st = drv_prepare(d, SQL_IMPORT_INSERT,
					  "registrazione dell'importazione", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, imp->comune);
	drv_bind_i64(st, 2, imp->seq);
	drv_bind_text(st, 3, imp->full ? "FULL" : "DELTA");
	drv_bind_i64(st, 4, imp->extract);
	drv_bind_text(st, 5, imp->sha256);
	drv_bind_text(st, 6, imp->source);
	drv_bind_i64(st, 7, (int64_t)time(NULL));
	bool found;
	if (drv_one(st, &found, e))
		return ops_err(e);
	*import_id = found ? drv_col_i64(st, 0) : 0;   /* RETURNING id */
	return drv_done(st, e);
}

/* ---- versions of households and persons ---- */

static void family_bind(struct drv_stmt *st, const struct store_family *f)
{
	drv_bind_text(st, 1, f->comune);
	drv_bind_text(st, 2, f->id);
	drv_bind_i64(st, 3, f->kind);
	drv_bind_i64(st, 4, f->valid_from);
	drv_bind_text(st, 5, f->dug);
	drv_bind_text(st, 6, f->street);
	drv_bind_i64(st, 7, f->civic);
	drv_bind_text(st, 8, f->civic_ext);
	drv_bind_text(st, 9, f->scala);
	drv_bind_text(st, 10, f->interno);
	drv_bind_text(st, 11, f->cap);
	drv_bind_text(st, 12, f->locality);
	drv_bind_text(st, 13, f->convivenza);
}

static void family_read(struct drv_stmt *st, int c, struct store_family *f)
{
	DRV_COL_COPY(st, c + 0, f->comune);
	DRV_COL_COPY(st, c + 1, f->id);
	f->kind = drv_col_int(st, c + 2);
	f->valid_from = drv_col_int(st, c + 3);
	DRV_COL_COPY(st, c + 4, f->dug);
	DRV_COL_COPY(st, c + 5, f->street);
	f->civic = drv_col_int(st, c + 6);
	DRV_COL_COPY(st, c + 7, f->civic_ext);
	DRV_COL_COPY(st, c + 8, f->scala);
	DRV_COL_COPY(st, c + 9, f->interno);
	DRV_COL_COPY(st, c + 10, f->cap);
	DRV_COL_COPY(st, c + 11, f->locality);
	DRV_COL_COPY(st, c + 12, f->convivenza);
	f->valid_to = drv_col_int(st, c + 13);
}

static void person_bind(struct drv_stmt *st, const struct store_person *p)
{
	static const char sex[2][2] = {"F", "M"};
	drv_bind_text(st, 1, p->comune);
	drv_bind_text(st, 2, p->id);
	drv_bind_i64(st, 3, p->valid_from);
	drv_bind_text(st, 4, p->cf);
	drv_bind_text(st, 5, p->surname);
	drv_bind_text(st, 6, p->name);
	drv_bind_text(st, 7, sex[p->sex == 'M']);
	drv_bind_i64(st, 8, p->birth_date);
	drv_bind_text(st, 9, p->birth_place);
	drv_bind_text(st, 10, p->citizenships);
	drv_bind_i64(st, 11, p->civil_status);
	drv_bind_i64(st, 12, p->civil_status_date);
	drv_bind_text(st, 13, p->father_cf);
	drv_bind_text(st, 14, p->mother_cf);
	drv_bind_i64(st, 15, p->reg_reason);
	drv_bind_i64(st, 16, p->reg_date);
	drv_bind_i64(st, 17, p->canc_reason);
	drv_bind_i64(st, 18, p->canc_date);
	drv_bind_text(st, 19, p->destination);
	drv_bind_opt(st, 20, p->family_id);
	drv_bind_i64(st, 21, p->relationship);
}

static void person_read(struct drv_stmt *st, int c, struct store_person *p)
{
	DRV_COL_COPY(st, c + 0, p->comune);
	DRV_COL_COPY(st, c + 1, p->id);
	p->valid_from = drv_col_int(st, c + 2);
	DRV_COL_COPY(st, c + 3, p->cf);
	DRV_COL_COPY(st, c + 4, p->surname);
	DRV_COL_COPY(st, c + 5, p->name);
	p->sex = *drv_col_text(st, c + 6) == 'M' ? 'M' : 'F';
	p->birth_date = drv_col_int(st, c + 7);
	DRV_COL_COPY(st, c + 8, p->birth_place);
	DRV_COL_COPY(st, c + 9, p->citizenships);
	p->civil_status = drv_col_int(st, c + 10);
	p->civil_status_date = drv_col_int(st, c + 11);
	DRV_COL_COPY(st, c + 12, p->father_cf);
	DRV_COL_COPY(st, c + 13, p->mother_cf);
	p->reg_reason = drv_col_int(st, c + 14);
	p->reg_date = drv_col_int(st, c + 15);
	p->canc_reason = drv_col_int(st, c + 16);
	p->canc_date = drv_col_int(st, c + 17);
	DRV_COL_COPY(st, c + 18, p->destination);
	DRV_COL_COPY(st, c + 19, p->family_id);
	p->relationship = drv_col_int(st, c + 20);
	p->valid_to = drv_col_int(st, c + 21);
}

static void family_read_any(struct drv_stmt *st, int c, void *out)
{
	family_read(st, c, out);
}

static void person_read_any(struct drv_stmt *st, int c, void *out)
{
	person_read(st, c, out);
}

/* The statements that write one versioned kind (households, persons):
 * the current row and its content (of one id, of many), marking it seen,
 * closing it into history, replacing it, inserting a new key, and the
 * bulk load's insert (one parameter per column, the import id last); the
 * kind's store_*_current struct: its size and where the record is in it
 * (rowid and dropped first, as in both). */
struct version_kind {
	enum sql_id get, get_any, seen, to_history, update, insert, load;
	int ncols;
	void (*read)(struct drv_stmt *st, int c, void *out);
	size_t size, rec;
};

static const struct version_kind family_kind = {
	SQL_FAMILY_GET_CURRENT, SQL_FAMILY_GET_CURRENT_ANY, SQL_FAMILY_SEEN,
	SQL_FAMILY_TO_HISTORY, SQL_FAMILY_UPDATE, SQL_FAMILY_INSERT, SQL_FAMILY_LOAD, 13,
	family_read_any, sizeof(struct store_family_current),
	offsetof(struct store_family_current, f)};
static const struct version_kind person_kind = {
	SQL_PERSON_GET_CURRENT, SQL_PERSON_GET_CURRENT_ANY, SQL_PERSON_SEEN,
	SQL_PERSON_TO_HISTORY, SQL_PERSON_UPDATE, SQL_PERSON_INSERT, SQL_PERSON_LOAD, 21,
	person_read_any, sizeof(struct store_person_current),
	offsetof(struct store_person_current, p)};

/* rowid and dropped lead both store_*_current structs */
struct current_head {
	int64_t rowid;
	bool dropped;
};
_Static_assert(offsetof(struct store_family_current, dropped) == offsetof(struct current_head, dropped) &&
	       offsetof(struct store_person_current, dropped) == offsetof(struct current_head, dropped),
	       "store_*_current start with rowid, dropped");

/* A current row of kind k (its id in column c) into out. */
static void current_read(struct drv_stmt *st, const struct version_kind *k, int c, void *out)
{
	struct current_head *h = out;
	h->rowid = drv_col_i64(st, c);
	k->read(st, c + 1, (char *)out + k->rec);
	h->dropped = drv_col_i64(st, c + 1 + k->ncols) != 0;
}

struct current_many {
	const struct version_kind *k;
	char *out;
};

static void current_found(void *ctx, int n, struct drv_stmt *st)
{
	struct current_many *m = ctx;
	int i = key_place(st, n);
	if (i >= 0)
		current_read(st, m->k, 1, m->out + (size_t)i * m->k->size);
}

static void current_one(void *ctx, int i, struct drv_stmt *st)
{
	struct current_many *m = ctx;
	current_read(st, m->k, 0, m->out + (size_t)i * m->k->size);
}

/* The current versions of the n ids into out (k->size bytes each,
 * rowid 0 when none): one statement on PostgreSQL, one each on SQLite. */
static vis_err current_get(struct store *s, const struct version_kind *k, const char *comune,
			   int n, const char *const *ids, void *out, struct vis_error *e)
{
	if (n < 0 || n > STORE_CF_BATCH)
		return vis_error_set(e, VIS_ERR_INTERNAL, "%d identificativi (da 0 a %d)", n, STORE_CF_BATCH);
	for (int i = 0; i < n; i++)
		memset((char *)out + (size_t)i * k->size, 0, k->size);
	struct current_many m = {k, out};
	if (n > 1 && store_shared(s))
		return keys_lookup(s, k->get_any, comune, n, ids, current_found, &m, e);
	return keys_each(s, k->get, comune, n, ids, current_one, &m, e);
}

vis_err store_families_current(struct store *s, const char *comune, int n,
			       const char *const *ids, struct store_family_current *cur,
			       struct vis_error *e)
{
	return current_get(s, &family_kind, comune, n, ids, cur, e);
}

vis_err store_persons_current(struct store *s, const char *comune, int n,
			      const char *const *ids, struct store_person_current *cur,
			      struct vis_error *e)
{
	return current_get(s, &person_kind, comune, n, ids, cur, e);
}

static vis_err id_pair(struct drv *d, enum sql_id id, int64_t a, int64_t b, const char *what,
		       struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(d, id, what, e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, a);
	drv_bind_i64(st, 2, b);
	return drv_send(st, e);
}

/* The writes of an import (marking seen, closing into history, replacing,
 * inserting) are sent with drv_send: on PostgreSQL they travel in the
 * round trip of the next look-up instead of one each (the importer has
 * checked every constraint they could break before writing; should one
 * fail all the same, the import fails as a whole, see pipe_read in
 * driver_pg.c). */

/* The versioning rule, once.  A record the same as its current version is
 * only marked seen by this import (*st NULL).  Otherwise *st is the
 * statement that writes it, for the caller to bind and run: in a bulk load
 * every record is new; an existing key is first copied into history,
 * closed on the new version's start, and then replaced in place; a new key
 * is inserted.  Corrections never rewrite the past: a new version starts
 * no earlier than the one it replaces, so *valid_from may move forward.
 * cur: the current version (k->size bytes) as looked up, or NULL for this
 * to look it up into `one`. */
static vis_err version_open(struct store *s, const struct version_kind *k, int64_t import_id,
			    bool bulk, const char *comune, const char *local_id, const void *rec,
			    const void *cur, void *one, int cur_valid_from_offset,
			    bool (*same)(const void *a, const void *b), int *valid_from,
			    enum store_put_result *res, struct drv_stmt **st, struct vis_error *e)
{
	struct drv *d = store_drv(s);
	*st = NULL;
	if (bulk) {
		*res = STORE_INSERTED;
		return (*st = drv_prepare(d, k->load,
					  "caricamento in blocco", e)) ? VIS_OK : ops_err(e);
	}
	if (!cur) {
		if (current_get(s, k, comune, 1, &local_id, one, e))
			return ops_err(e);
		cur = one;
	}
	const struct current_head *h = cur;
	const void *cur_rec = (const char *)cur + k->rec;
	if (h->rowid && !h->dropped && same(cur_rec, rec)) {
		*res = STORE_UNCHANGED;
		return id_pair(d, k->seen, h->rowid, import_id,
			       "conferma della scheda invariata", e);
	}
	if (!h->rowid) {
		*res = STORE_INSERTED;
		return (*st = drv_prepare(d, k->insert,
					  "scrittura della scheda", e)) ? VIS_OK : ops_err(e);
	}
	int cur_valid_from = *(const int *)((const char *)cur_rec + cur_valid_from_offset);
	if (*valid_from < cur_valid_from)
		*valid_from = cur_valid_from;
	if (id_pair(d, k->to_history, h->rowid, *valid_from, "chiusura della versione", e))
		return ops_err(e);
	*res = STORE_UPDATED;
	return (*st = drv_prepare(d, k->update, "scrittura della scheda", e)) ? VIS_OK : ops_err(e);
}

static bool family_same_any(const void *a, const void *b)
{
	return rec_family_same(a, b);
}

static bool person_same_any(const void *a, const void *b)
{
	return rec_person_same(a, b);
}

vis_err store_family_put(struct store *s, int64_t import_id, bool bulk,
			 const struct store_family *f, const struct store_family_current *cur,
			 enum store_put_result *res, struct vis_error *e)
{
	struct store_family_current one;
	struct store_family next = *f;
	struct drv_stmt *st;
	if (version_open(s, &family_kind, import_id, bulk, f->comune, f->id, f, cur, &one,
			 offsetof(struct store_family, valid_from), family_same_any,
			 &next.valid_from, res, &st, e))
		return ops_err(e);
	if (!st)
		return VIS_OK;
	family_bind(st, &next);
	drv_bind_i64(st, 14, import_id);
	if (!bulk)
		return drv_send(st, e);
	drv_bind_i64(st, 15, import_id);
	return drv_load(st, e);
}

vis_err store_person_put(struct store *s, int64_t import_id, bool bulk,
			 const struct store_person *p, const struct store_person_current *cur,
			 enum store_put_result *res, struct vis_error *e)
{
	/* The search keys are folded before any write, so invalid text
	 * changes nothing. */
	char skey[STORE_NAME_MAX], nkey[STORE_NAME_MAX];
	if (text_fold_letters(p->surname, strlen(p->surname), skey, sizeof skey) < 0 ||
	    text_fold_letters(p->name, strlen(p->name), nkey, sizeof nkey) < 0)
		return vis_error_set(e, VIS_ERR_INVALID, "persona %s: il nome non è un testo valido",
				     p->id);
	struct store_person_current one;
	struct store_person next = *p;
	struct drv_stmt *st;
	if (version_open(s, &person_kind, import_id, bulk, p->comune, p->id, p, cur, &one,
			 offsetof(struct store_person, valid_from), person_same_any,
			 &next.valid_from, res, &st, e))
		return ops_err(e);
	if (!st)
		return VIS_OK;
	person_bind(st, &next);
	drv_bind_text(st, 22, skey);
	drv_bind_text(st, 23, nkey);
	drv_bind_i64(st, 24, import_id);
	if (!bulk)
		return drv_send(st, e);
	drv_bind_i64(st, 25, import_id);
	return drv_load(st, e);
}

static vis_err batch_check(int n, struct vis_error *e)
{
	if (n < 0 || n > STORE_EVENT_BATCH)
		return vis_error_set(e, VIS_ERR_INTERNAL, "%d identificativi (da 0 a %d)", n,
				     STORE_EVENT_BATCH);
	return VIS_OK;
}

static void person_found(void *ctx, int n, struct drv_stmt *st)
{
	int i = key_place(st, n);
	if (i >= 0)
		((bool *)ctx)[i] = true;
}

vis_err store_persons_exist(struct store *s, const char *comune, int n, const char *const *ids,
			    bool *found, struct vis_error *e)
{
	if (batch_check(n, e))
		return VIS_ERR_INTERNAL;
	for (int i = 0; i < n; i++)
		found[i] = false;
	if (n == 0)
		return VIS_OK;
	if (store_shared(s))
		return keys_lookup(s, SQL_PERSON_EXISTS_ANY, comune, n, ids, person_found, found, e);
	for (int i = 0; i < n; i++)
		if (probe(s, SQL_PERSON_EXISTS, comune, ids[i], NULL, 0, &found[i], e))
			return ops_err(e);
	return VIS_OK;
}

/* The stored event of row st (from column c) into ev. */
static void event_read(struct drv_stmt *st, int c, struct store_event *ev)
{
	DRV_COL_COPY(st, c + 0, ev->type);
	ev->date = drv_col_int(st, c + 1);
	DRV_COL_COPY(st, c + 2, ev->person_id);
	DRV_COL_COPY(st, c + 3, ev->place);
	DRV_COL_COPY(st, c + 4, ev->other_cf);
	ev->id[0] = '*';   /* found: the caller sets the id */
}

static void event_one(void *ctx, int i, struct drv_stmt *st)
{
	event_read(st, 0, (struct store_event *)ctx + i);
}

static void event_found(void *ctx, int n, struct drv_stmt *st)
{
	int i = key_place(st, n);
	if (i >= 0)
		event_read(st, 1, (struct store_event *)ctx + i);
}

vis_err store_events_get(struct store *s, const char *comune, int n, const char *const *ids,
			 struct store_event *stored, struct vis_error *e)
{
	if (batch_check(n, e))
		return VIS_ERR_INTERNAL;
	for (int i = 0; i < n; i++)
		stored[i] = (struct store_event){0};
	if (n == 0)
		return VIS_OK;
	if (store_shared(s)) {
		if (keys_lookup(s, SQL_EVENT_GET_ANY, comune, n, ids, event_found, stored, e))
			return ops_err(e);
	} else if (keys_each(s, SQL_EVENT_GET, comune, n, ids, event_one, stored, e)) {
		return ops_err(e);
	}
	for (int i = 0; i < n; i++)
		if (stored[i].id[0] && (STR_SET(stored[i].comune, comune, "comune", e) ||
					STR_SET(stored[i].id, ids[i],
						"identificativo dell'evento", e)))
			return ops_err(e);
	return VIS_OK;
}

vis_err store_event_put(struct store *s, int64_t import_id, bool bulk,
			const struct store_event *ev, const struct store_event *stored,
			enum store_put_result *res, struct vis_error *e)
{
	struct drv *d = store_drv(s);
	struct store_event one;
	if (!bulk && !stored) {
		const char *id = ev->id;
		if (store_events_get(s, ev->comune, 1, &id, &one, e))
			return ops_err(e);
		stored = &one;
	}
	if (!bulk && stored->id[0]) {
		if (strcmp(stored->type, ev->type) || stored->date != ev->date ||
		    strcmp(stored->person_id, ev->person_id) || strcmp(stored->place, ev->place) ||
		    strcmp(stored->other_cf, ev->other_cf))
			return vis_error_set(e, VIS_ERR_CONFLICT,
					     "identificativo di evento già usato per un altro evento");
		*res = STORE_UNCHANGED;
		return VIS_OK;
	}
	struct drv_stmt *st = drv_prepare(d, SQL_EVENT_INSERT, "scrittura dell'evento", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, ev->comune);
	drv_bind_text(st, 2, ev->id);
	drv_bind_text(st, 3, ev->type);
	drv_bind_i64(st, 4, ev->date);
	drv_bind_text(st, 5, ev->person_id);
	drv_bind_text(st, 6, ev->place);
	drv_bind_text(st, 7, ev->other_cf);
	drv_bind_i64(st, 8, import_id);
	*res = STORE_INSERTED;
	return bulk ? drv_load(st, e) : drv_send(st, e);
}

vis_err store_import_finish(struct store *s, int64_t import_id, const struct store_import *imp,
			    int close_date, struct store_import_counts *c, const struct stop_ask *stop,
			    struct vis_error *e)
{
	struct drv *d = store_drv(s);
	if (drv_load_end(d, stop, e))
		return ops_err(e);
	static const enum sql_id drops[] = {SQL_PERSON_DROP, SQL_FAMILY_DROP};
	for (int i = 0; imp->full && i < 2; i++) {
		struct drv_stmt *st = drv_prepare(d, drops[i],
						  "chiusura delle schede non elencate", e);
		if (!st)
			return ops_err(e);
		drv_bind_text(st, 1, imp->comune);
		drv_bind_i64(st, 2, import_id);
		drv_bind_i64(st, 3, close_date);
		enum drv_step r = drv_step(st, e);
		if (r != DRV_ERROR)
			c->closed += drv_changes(st);
		if (finish(st, r))
			return ops_err(e);
	}
	struct drv_stmt *st = drv_prepare(d, SQL_IMPORT_FINISH, "chiusura dell'importazione", e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, import_id);
	drv_bind_i64(st, 2, (int64_t)time(NULL));
	int64_t counts[] = {c->inserted, c->updated, c->unchanged, c->closed,
			    c->families, c->persons, c->events};
	for (int i = 0; i < 7; i++)
		drv_bind_i64(st, 3 + i, counts[i]);
	drv_bind_text(st, 10, imp->sha256);
	if (drv_done(st, e))
		return ops_err(e);
	if (!(st = drv_prepare(d, SQL_FEED_PUT, "stato del flusso", e)))
		return ops_err(e);
	drv_bind_text(st, 1, imp->comune);
	drv_bind_i64(st, 2, imp->seq);
	drv_bind_i64(st, 3, imp->extract);
	drv_bind_i64(st, 4, import_id);
	if (drv_done(st, e))
		return ops_err(e);
	/* A FULL snapshot rewrites the municipality's tables: PostgreSQL has
	 * no statistics of them until autovacuum's next pass, and a
	 * statement planned without them may read a whole table (a look-up
	 * scanned family: 545 ms, docs/performance.md).  ANALYZE in the
	 * import's transaction: the statistics come with the rows.  SQLite's
	 * plans do not depend on statistics (unit.test_plans), and ANALYZE
	 * measured no gain there (docs/performance.md). */
	if (!imp->full || !store_shared(s))
		return VIS_OK;
	if (!(st = drv_prepare(d, SQL_REGISTER_ANALYZE, "statistiche dell'anagrafe", e)))
		return ops_err(e);
	return drv_done(st, e);
}

/* ---- reading the register ---- */

/* Prepares a statement of (comune, as-of date, third text) parameters. */
static struct drv_stmt *prepare_at(struct store *s, enum sql_id id, const char *comune, int date,
				   const char *third, const char *what, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), id, what, e);
	if (!st)
		return NULL;
	drv_bind_text(st, 1, comune);
	drv_bind_i64(st, 2, rec_as_of(date));
	if (third)
		drv_bind_text(st, 3, third);
	return st;
}

/* One count of a municipality's records as of a date: its columns into
 * out. */
static vis_err count_one(struct store *s, enum sql_id id, const char *comune, int date,
			 int64_t *out[2], int ncols, const char *what, struct vis_error *e)
{
	struct drv_stmt *st = prepare_at(s, id, comune, date, NULL, what, e);
	if (!st)
		return ops_err(e);
	return ops_counts_read(st, out, ncols, what, e);
}

vis_err store_counts_get(struct store *s, const char *comune, int date, struct store_counts *out,
			 struct vis_error *e)
{
	memset(out, 0, sizeof *out);
	int64_t *persons[2] = {&out->persons, &out->cancelled};
	int64_t *families[2] = {&out->families, NULL};
	int64_t *events[2] = {&out->events, NULL};
	if (count_one(s, SQL_COUNT_PERSONS, comune, date, persons, 2,
		      "conteggio delle persone", e) ||
	    count_one(s, SQL_COUNT_FAMILIES, comune, date, families, 1,
		      "conteggio delle famiglie", e) ||
	    count_one(s, SQL_COUNT_EVENTS, comune, date, events, 1, "conteggio degli eventi", e))
		return ops_err(e);
	return VIS_OK;
}

/* Steps a prepared statement, handing every row to fn as a person. */
static vis_err each_person(struct drv_stmt *st, store_person_fn fn, void *ctx,
			   struct vis_error *e)
{
	if (!st)
		return ops_err(e);
	enum drv_step r;
	while ((r = drv_step(st, e)) == DRV_ROW) {
		struct store_person p;
		person_read(st, 0, &p);
		if (fn(ctx, &p) != 0)
			break;
	}
	return finish(st, r);
}

vis_err store_person_by_cf(struct store *s, const char *comune, const char *cf, int date,
			   struct store_person *out, bool *found, struct vis_error *e)
{
	struct drv_stmt *st = prepare_at(s, SQL_PERSON_BY_CF, comune, date, cf,
					 "ricerca della persona", e);
	if (!st)
		return ops_err(e);
	if (drv_one(st, found, e))
		return ops_err(e);
	if (*found)
		person_read(st, 0, out);
	drv_reset(st);
	return VIS_OK;
}

vis_err store_person_history(struct store *s, const char *comune, const char *id,
			     store_person_fn fn, void *ctx, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_PERSON_HISTORY,
					  "storia della persona", e);
	if (st) {
		drv_bind_text(st, 1, comune);
		drv_bind_text(st, 2, id);
	}
	return each_person(st, fn, ctx, e);
}

vis_err store_person_versions_each(struct store *s, const char *comune, store_person_fn fn,
				   void *ctx, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s),
					  comune[0] ? SQL_PERSON_VERSIONS_COMUNE : SQL_PERSON_VERSIONS_EACH,
					  "versioni della persona", e);
	if (st)
		drv_bind_text(st, 1, comune);
	return each_person(st, fn, ctx, e);
}

vis_err store_import_span_each(struct store *s, store_import_span_fn fn, void *ctx,
			       struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_IMPORT_SPAN_EACH,
					  "periodo delle importazioni", e);
	if (!st)
		return ops_err(e);
	enum drv_step r;
	while ((r = drv_step(st, e)) == DRV_ROW)
		if (fn(ctx, drv_col_text(st, 0), drv_col_i64(st, 1), drv_col_i64(st, 2)) != 0)
			break;
	return finish(st, r);
}

vis_err store_person_each_at(struct store *s, const char *comune, int date, store_person_fn fn,
			     void *ctx, struct vis_error *e)
{
	return each_person(prepare_at(s, comune[0] ? SQL_PERSON_EACH_AT_COMUNE : SQL_PERSON_EACH_AT,
				      comune, date, NULL, "persone", e),
			   fn, ctx, e);
}

vis_err store_family_each_at(struct store *s, const char *comune, int date,
			     store_family_fn fn, void *ctx, struct vis_error *e)
{
	struct drv_stmt *st = prepare_at(s, comune[0] ? SQL_FAMILY_EACH_AT_COMUNE : SQL_FAMILY_EACH_AT,
					 comune, date, NULL, "famiglie", e);
	if (!st)
		return ops_err(e);
	enum drv_step r;
	while ((r = drv_step(st, e)) == DRV_ROW) {
		struct store_family f;
		family_read(st, 0, &f);
		if (fn(ctx, &f) != 0)
			break;
	}
	return finish(st, r);
}

vis_err store_family_get(struct store *s, const char *comune, const char *id, int date,
			 struct store_family *out, bool *found, struct vis_error *e)
{
	struct drv_stmt *st = prepare_at(s, SQL_FAMILY_AT, comune, date, id,
					 "ricerca della famiglia", e);
	if (!st)
		return ops_err(e);
	if (drv_one(st, found, e))
		return ops_err(e);
	if (*found)
		family_read(st, 0, out);
	drv_reset(st);
	return VIS_OK;
}

vis_err store_family_members(struct store *s, const char *comune, const char *id, int date,
			     store_person_fn fn, void *ctx, struct vis_error *e)
{
	return each_person(prepare_at(s, SQL_FAMILY_MEMBERS, comune, date, id,
				      "componenti della famiglia",
				      e), fn, ctx, e);
}

vis_err store_family_members_page(struct store *s, const char *comune, const char *id,
				  int date, const struct store_member_key *after, int limit,
				  store_person_fn fn, void *ctx, struct vis_error *e)
{
	struct drv_stmt *st = prepare_at(s, SQL_FAMILY_MEMBERS_PAGE, comune, date, id,
					 "componenti della famiglia", e);
	if (st) {
		/* no key sorts before the first member's: relationships start at 1 */
		drv_bind_i64(st, 4, after ? after->relationship : -1);
		drv_bind_i64(st, 5, after ? after->birth_date : 0);
		drv_bind_text(st, 6, after ? after->id : "");
		drv_bind_i64(st, 7, limit);
	}
	return each_person(st, fn, ctx, e);
}

/* Without round trips (SQLite) the household is read after the person by
 * its own indexed statement: SQLite cannot carry the join's key into the
 * union of current and past households and would read them all. */
struct with_home {
	struct store *s;
	int date;
	store_person_home_fn fn;
	void *ctx;
	struct vis_error *e;
	bool failed;
};

static int person_with_home(void *ctx, const struct store_person *p)
{
	struct with_home *h = ctx;
	struct store_family f;
	bool found = false;
	if (p->family_id[0] &&
	    store_family_get(h->s, p->comune, p->family_id, h->date, &f, &found, h->e)) {
		h->failed = true;
		return 1;
	}
	return h->fn(h->ctx, p, found ? &f : NULL);
}

vis_err store_person_versions_home_at(struct store *s, const char *cf, int date,
				      store_person_home_fn fn, void *ctx, struct vis_error *e)
{
	if (!store_shared(s)) {
		struct with_home h = {s, date, fn, ctx, e, false};
		vis_err rc = store_person_versions_at(s, cf, date, person_with_home, &h, e);
		return rc ? rc : h.failed ? ops_err(e) : VIS_OK;
	}
	struct drv_stmt *st = prepare_at(s, SQL_PERSON_VERSIONS_HOME_AT, "", date, cf,
					 "versioni della persona", e);
	if (!st)
		return ops_err(e);
	enum drv_step r;
	while ((r = drv_step(st, e)) == DRV_ROW) {
		struct store_person p;
		struct store_family f;
		person_read(st, 0, &p);
		bool home = !drv_col_null(st, 22);
		if (home)
			family_read(st, 22, &f);
		if (fn(ctx, &p, home ? &f : NULL) != 0)
			break;
	}
	return finish(st, r);
}

vis_err store_person_versions_at(struct store *s, const char *cf, int date, store_person_fn fn,
				 void *ctx, struct vis_error *e)
{
	return each_person(prepare_at(s, SQL_PERSON_VERSIONS_AT, "", date, cf,
				      "versioni della persona",
				      e), fn, ctx, e);
}

vis_err store_person_search(struct store *s, const struct store_search *q, store_person_fn fn,
			    void *ctx, struct vis_error *e)
{
	int m = (int)q->mode;
	if (m < 0 || m > 2)
		return vis_error_set(e, VIS_ERR_INTERNAL, "modo di ricerca sconosciuto");
	struct drv_stmt *st = drv_prepare(store_drv(s), (enum sql_id)(SQL_SEARCH_EXACT + m),
					  "ricerca", e);
	/* the birth date as a range (sql.c): any, the year's days, the day;
	 * a day and a year both, the day when it is in the year (else none) */
	int64_t lo = 0, hi = INT32_MAX;
	if (q->birth_year)
		lo = q->birth_year * 10000LL + 101, hi = q->birth_year * 10000LL + 1231;
	if (q->birth_date) {
		lo = lo > q->birth_date ? lo : q->birth_date;
		hi = hi < q->birth_date ? hi : q->birth_date;
	}
	if (st) {
		drv_bind_text(st, 1, q->surname_key);
		drv_bind_text(st, 2, q->name_key);
		drv_bind_i64(st, 3, lo);
		drv_bind_i64(st, 4, hi);
		drv_bind_text(st, 5, q->comune);
		drv_bind_i64(st, 6, q->limit);
	}
	return each_person(st, fn, ctx, e);
}

vis_err store_event_each(struct store *s, const char *comune, int from, int to,
			 store_event_fn fn, void *ctx, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_EVENT_EACH, "eventi", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, comune);
	drv_bind_i64(st, 2, from);
	drv_bind_i64(st, 3, to);
	enum drv_step r;
	while ((r = drv_step(st, e)) == DRV_ROW)
		if (fn(ctx, drv_col_text(st, 0), drv_col_text(st, 1), drv_col_int(st, 2)) != 0)
			break;
	return finish(st, r);
}

vis_err store_events_after(struct store *s, int64_t after_rowid, const char *comuni,
			   const char *types, int limit, store_feed_event_fn fn, void *ctx,
			   struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_EVENTS_AFTER, "eventi", e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, after_rowid);
	enum drv_step r = DRV_DONE;
	for (int n = 0; n < limit && (r = drv_step(st, e)) == DRV_ROW;) {
		struct store_event ev;
		char cf[17];
		DRV_COL_COPY(st, 1, ev.comune);
		DRV_COL_COPY(st, 3, ev.type);
		if (!rec_in_list(comuni, ev.comune) || !rec_in_list(types, ev.type))
			continue;
		DRV_COL_COPY(st, 2, ev.id);
		ev.date = drv_col_int(st, 4);
		DRV_COL_COPY(st, 5, ev.person_id);
		DRV_COL_COPY(st, 6, ev.place);
		DRV_COL_COPY(st, 7, ev.other_cf);
		DRV_COL_COPY(st, 8, cf);
		n++;
		if (fn(ctx, drv_col_i64(st, 0), &ev, cf) != 0)
			break;
	}
	return finish(st, r);
}
