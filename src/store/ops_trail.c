/* The access trail of store.h written once over store/driver.h: the chain
 * of access records with their subjects, its reads, its retention purge
 * and its signed checkpoints. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/ops.h"
#include "store/sql.h"

/* The whole trail is read in pages, not in one result. */
#define ACCESS_PAGE 5000

vis_err store_access_last(struct store *s, int64_t *id, char hash[65], struct vis_error *e)
{
	struct drv *d = store_drv(s);
	*id = 0;
	hash[0] = '\0';
	/* Inside a transaction this is the start of an append: the lock makes
	 * every writer of every instance append after the head it read. */
	if (drv_in_txn(d) && drv_lock(d, DRV_LOCK_TRAIL, e))
		return ops_err(e);
	struct drv_stmt *st = drv_prepare(d, SQL_ACCESS_LAST, "registro degli accessi", e);
	if (!st)
		return ops_err(e);
	bool found;
	if (drv_one(st, &found, e))
		return ops_err(e);
	if (found) {
		*id = drv_col_i64(st, 0);
		drv_col_copy(st, 1, hash, 65);
	}
	drv_reset(st);
	/* Every record purged: the ids go on after the last purged one, and
	 * the chain from its hash. */
	if (!found) {
		if (!(st = drv_prepare(d, SQL_PURGE_LAST, "registro degli accessi", e)) ||
		    drv_one(st, &found, e))
			return ops_err(e);
		if (found) {
			*id = drv_col_i64(st, 0);
			drv_col_copy(st, 1, hash, 65);
		}
		drv_reset(st);
	}
	return VIS_OK;
}

/* Inside a transaction (the group commit) the records are sent without
 * waiting (PostgreSQL: pipelined): a failure shows at the commit, which
 * then fails as a whole. */
vis_err store_access_insert(struct store *s, const struct store_access *a, struct vis_error *e)
{
	struct drv *d = store_drv(s);
	struct drv_stmt *st = drv_prepare(d, SQL_ACCESS_INSERT, "registrazione dell'accesso", e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, a->id);
	drv_bind_i64(st, 2, a->at);
	drv_bind_i64(st, 3, a->account_id);
	drv_bind_text(st, 4, a->username);
	drv_bind_i64(st, 5, a->ente_id);
	drv_bind_i64(st, 6, a->convenzione_id);
	drv_bind_i64(st, 7, a->purpose_id);
	drv_bind_text(st, 8, a->case_ref);
	drv_bind_text(st, 9, a->on_behalf_of);
	drv_bind_text(st, 10, a->ip);
	drv_bind_text(st, 11, a->operation);
	drv_bind_text(st, 12, a->query);
	drv_bind_text(st, 13, a->subjects ? a->subjects : "");
	drv_bind_text(st, 14, a->categories);
	drv_bind_text(st, 15, a->outcome);
	drv_bind_i64(st, 16, a->status);
	drv_bind_text(st, 17, a->flags);
	drv_bind_text(st, 18, a->workstation);
	drv_bind_text(st, 19, a->prev_hash);
	drv_bind_text(st, 20, a->hash);
	if (drv_send(st, e))
		return ops_err(e);
	for (const char *p = a->subjects ? a->subjects : ""; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (!(st = drv_prepare(d, SQL_ACCESS_SUBJECT_INSERT, "persona di un accesso", e)))
			return ops_err(e);
		drv_bind_i64(st, 1, a->id);
		drv_bind_textn(st, 2, p, n);
		if (drv_send(st, e))
			return ops_err(e);
		p += n + (end ? 1 : 0);
	}
	return VIS_OK;
}

static void access_read(struct drv_stmt *st, struct store_access *a)
{
	a->id = drv_col_i64(st, 0);
	a->at = drv_col_i64(st, 1);
	a->account_id = drv_col_i64(st, 2);
	DRV_COL_COPY(st, 3, a->username);
	a->ente_id = drv_col_i64(st, 4);
	a->convenzione_id = drv_col_i64(st, 5);
	a->purpose_id = drv_col_i64(st, 6);
	DRV_COL_COPY(st, 7, a->case_ref);
	DRV_COL_COPY(st, 8, a->on_behalf_of);
	DRV_COL_COPY(st, 9, a->ip);
	DRV_COL_COPY(st, 10, a->operation);
	DRV_COL_COPY(st, 11, a->query);
	a->subjects = drv_col_text(st, 12);   /* valid until the next step: the callback's */
	DRV_COL_COPY(st, 13, a->categories);
	DRV_COL_COPY(st, 14, a->outcome);
	a->status = drv_col_int(st, 15);
	DRV_COL_COPY(st, 16, a->flags);
	DRV_COL_COPY(st, 17, a->workstation);
	DRV_COL_COPY(st, 18, a->prev_hash);
	DRV_COL_COPY(st, 19, a->hash);
}

/* Hands every row of a prepared, bound statement to fn as an access record
 * (fn stops it by returning non-zero, *stopped then); *rows counts them,
 * *last_id is the last one's id.  The statement is reset. */
static vis_err access_rows(struct drv_stmt *st, store_access_fn fn, void *ctx, int *rows,
			   int64_t *last_id, bool *stopped, struct vis_error *e)
{
	struct store_access *a = malloc(sizeof *a);
	if (!a) {
		drv_reset(st);
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	enum drv_step r;
	*stopped = false;
	while ((r = drv_step(st, e)) == DRV_ROW) {
		access_read(st, a);
		(*rows)++;
		*last_id = a->id;
		if (fn(ctx, a) != 0) {
			*stopped = true;
			break;
		}
	}
	vis_err rc = r == DRV_ERROR ? st->err : VIS_OK;
	drv_reset(st);
	free(a);
	return rc;
}

vis_err store_access_each(struct store *s, int64_t from_id, store_access_fn fn, void *ctx,
			  struct vis_error *e)
{
	int rows;
	bool stopped;
	int64_t next = from_id, last = 0;
	do {
		struct drv_stmt *st = drv_prepare(store_drv(s), SQL_ACCESS_EACH,
						  "registro degli accessi", e);
		if (!st)
			return ops_err(e);
		drv_bind_i64(st, 1, next);
		drv_bind_i64(st, 2, ACCESS_PAGE);
		rows = 0;
		if (access_rows(st, fn, ctx, &rows, &last, &stopped, e))
			return ops_err(e);
		next = last + 1;
	} while (!stopped && rows == ACCESS_PAGE);
	return VIS_OK;
}

vis_err store_access_search_sql(struct store *s, const struct store_access_filter *f,
				enum sql_id *q, struct vis_error *e)
{
	*q = f->cf[0] ? SQL_ACCESS_SEARCH_CF
		      : f->account_id ? SQL_ACCESS_SEARCH_ACCOUNT
				      : f->ente_id ? SQL_ACCESS_SEARCH_ENTE : SQL_ACCESS_SEARCH;
	if (*q != SQL_ACCESS_SEARCH || (!f->from_ms && !f->to_ms))
		return VIS_OK;
	/* A time range alone: the walk from the cursor when the record after
	 * it is already in the range and the range runs past the last record
	 * (the page's next one, a search from a date to now: the walk meets
	 * the range's records from its first rows, `at` being nearly in id
	 * order, and never walks beyond them), or when no record follows;
	 * else the range's index.  Both return the same records: only the
	 * cost depends on the order of `at`. */
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_ACCESS_SEARCH_SPAN,
					  "ricerca negli accessi", e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, f->after);
	bool found;
	if (drv_one(st, &found, e))
		return ops_err(e);
	bool walk = !found || drv_col_null(st, 0) ||
		    (drv_col_i64(st, 0) >= f->from_ms && (!f->to_ms || drv_col_i64(st, 1) < f->to_ms));
	drv_reset(st);
	*q = walk ? SQL_ACCESS_SEARCH : SQL_ACCESS_SEARCH_TIME;
	return VIS_OK;
}

vis_err store_access_search(struct store *s, const struct store_access_filter *f,
			    store_access_fn fn, void *ctx, struct vis_error *e)
{
	enum sql_id q;
	if (store_access_search_sql(s, f, &q, e))
		return ops_err(e);
	struct drv_stmt *st = drv_prepare(store_drv(s), q, "ricerca negli accessi", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, f->cf);
	drv_bind_i64(st, 2, f->account_id);
	drv_bind_i64(st, 3, f->ente_id);
	drv_bind_i64(st, 4, f->purpose_id);
	drv_bind_i64(st, 5, f->from_ms);
	drv_bind_i64(st, 6, f->to_ms ? f->to_ms : INT64_MAX);   /* a range with no end */
	drv_bind_i64(st, 7, f->limit > 0 ? f->limit : INT64_MAX); /* 0: every match */
	drv_bind_i64(st, 8, f->after);
	int rows = 0;
	int64_t last;
	bool stopped;
	return access_rows(st, fn, ctx, &rows, &last, &stopped, e);
}

vis_err store_access_get(struct store *s, int64_t id, struct store_access *out, bool *found,
			 struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_ACCESS_GET,
					  "registrazione dell'accesso", e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, id);
	if (drv_one(st, found, e))
		return ops_err(e);
	if (*found)
		access_read(st, out);
	out->subjects = "";   /* the row ends with the reset */
	drv_reset(st);
	return VIS_OK;
}

static vis_err purge_rows(struct drv *d, int64_t up_to_id, int64_t *removed,
			  struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(d, SQL_ACCESS_PURGE_SUBJECTS, "eliminazione", e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, up_to_id);
	if (drv_done(st, e) || !(st = drv_prepare(d, SQL_ACCESS_PURGE, "eliminazione", e)))
		return ops_err(e);
	drv_bind_i64(st, 1, up_to_id);
	enum drv_step r = drv_step(st, e);
	if (r == DRV_ERROR) {
		vis_err rc = st->err;
		drv_reset(st);
		return rc;
	}
	*removed = drv_changes(st);
	drv_reset(st);
	return VIS_OK;
}

static vis_err purge_record(struct drv *d, const struct store_purge *p, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(d, SQL_PURGE_INSERT, "eliminazione", e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, p->up_to);
	drv_bind_i64(st, 2, p->at);
	drv_bind_text(st, 3, p->last_hash);
	drv_bind_text(st, 4, p->signature);
	return drv_done(st, e);
}

vis_err store_access_purge(struct store *s, int64_t up_to_id, const struct store_purge *p,
			   int64_t *removed, struct vis_error *e)
{
	struct drv *d = store_drv(s);
	if (drv_begin_trail(d, e))
		return ops_err(e);
	if (purge_rows(d, up_to_id, removed, e) || (p && purge_record(d, p, e))) {
		drv_rollback(d);
		return ops_err(e);
	}
	return drv_commit(d, e);
}

vis_err store_purge_each(struct store *s, store_purge_fn fn, void *ctx, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_PURGE_EACH, "eliminazioni", e);
	if (!st)
		return ops_err(e);
	enum drv_step r;
	while ((r = drv_step(st, e)) == DRV_ROW) {
		struct store_purge p;
		p.up_to = drv_col_i64(st, 0);
		p.at = drv_col_i64(st, 1);
		DRV_COL_COPY(st, 2, p.last_hash);
		DRV_COL_COPY(st, 3, p.signature);
		if (fn(ctx, &p) != 0)
			break;
	}
	vis_err rc = r == DRV_ERROR ? st->err : VIS_OK;
	drv_reset(st);
	return rc;
}

vis_err store_checkpoint_insert(struct store *s, const struct store_checkpoint *c,
				struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_CHECKPOINT_INSERT,
					  "punto di controllo", e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, c->at);
	drv_bind_i64(st, 2, c->last_id);
	drv_bind_text(st, 3, c->last_hash);
	drv_bind_text(st, 4, c->signature);
	return drv_done(st, e);
}

vis_err store_checkpoint_each(struct store *s, store_checkpoint_fn fn, void *ctx,
			      struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_CHECKPOINT_EACH,
					  "punti di controllo", e);
	if (!st)
		return ops_err(e);
	enum drv_step r;
	while ((r = drv_step(st, e)) == DRV_ROW) {
		struct store_checkpoint c;
		c.id = drv_col_i64(st, 0);
		c.at = drv_col_i64(st, 1);
		c.last_id = drv_col_i64(st, 2);
		DRV_COL_COPY(st, 3, c.last_hash);
		DRV_COL_COPY(st, 4, c.signature);
		if (fn(ctx, &c) != 0)
			break;
	}
	vis_err rc = r == DRV_ERROR ? st->err : VIS_OK;
	drv_reset(st);
	return rc;
}

/* ---- the trail's Merkle tree and signed heads ---- */

vis_err store_tree_put(struct store *s, int level, int64_t idx, const char hash[65],
		       struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_TREE_PUT, "albero del registro", e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, level);
	drv_bind_i64(st, 2, idx);
	drv_bind_text(st, 3, hash);
	/* In the group commit, sent with its records. */
	return drv_send(st, e) ? ops_err(e) : VIS_OK;
}

vis_err store_tree_get(struct store *s, int level, int64_t idx, char hash[65], bool *found,
		       struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_TREE_GET, "albero del registro", e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, level);
	drv_bind_i64(st, 2, idx);
	hash[0] = '\0';
	if (drv_one(st, found, e))
		return ops_err(e);
	if (*found)
		drv_col_copy(st, 0, hash, 65);
	drv_reset(st);
	return VIS_OK;
}

vis_err store_head_insert(struct store *s, const struct store_head *h, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_HEAD_INSERT, "testa del registro", e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, h->size);
	drv_bind_i64(st, 2, h->at);
	drv_bind_text(st, 3, h->root);
	drv_bind_text(st, 4, h->note);
	return drv_send(st, e) ? ops_err(e) : VIS_OK;
}

vis_err store_head_cosigned(struct store *s, int64_t size, const char *root, const char *note,
			    struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_HEAD_COSIGNED, "testa del registro", e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, size);
	drv_bind_text(st, 2, root);
	drv_bind_text(st, 3, note);
	return drv_send(st, e) ? ops_err(e) : VIS_OK;
}

static vis_err head_rows(struct store *s, enum sql_id q, store_head_fn fn, void *ctx,
			 struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), q, "teste del registro", e);
	if (!st)
		return ops_err(e);
	struct store_head *h = malloc(sizeof *h);
	if (!h) {
		drv_reset(st);
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	enum drv_step r;
	while ((r = drv_step(st, e)) == DRV_ROW) {
		h->size = drv_col_i64(st, 0);
		h->at = drv_col_i64(st, 1);
		DRV_COL_COPY(st, 2, h->root);
		DRV_COL_COPY(st, 3, h->note);
		if (fn(ctx, h) != 0)
			break;
	}
	free(h);
	vis_err rc = r == DRV_ERROR ? st->err : VIS_OK;
	drv_reset(st);
	return rc;
}

static int head_copy(void *ctx, const struct store_head *h)
{
	memcpy(ctx, h, sizeof *h);
	return 1;
}

vis_err store_head_last(struct store *s, struct store_head *out, bool *found,
			struct vis_error *e)
{
	out->size = -1;
	vis_err rc = head_rows(s, SQL_HEAD_LAST, head_copy, out, e);
	*found = out->size >= 0;
	return rc;
}

vis_err store_head_each(struct store *s, store_head_fn fn, void *ctx, struct vis_error *e)
{
	return head_rows(s, SQL_HEAD_EACH, fn, ctx, e);
}

vis_err store_access_subject_each(struct store *s, store_subject_row_fn fn, void *ctx,
				  struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_ACCESS_SUBJECT_EACH,
					  "persone degli accessi",
					  e);
	if (!st)
		return ops_err(e);
	enum drv_step r;
	while ((r = drv_step(st, e)) == DRV_ROW) {
		const char *cf = drv_col_text(st, 1);
		if (fn(ctx, drv_col_i64(st, 0), cf ? cf : "") != 0)
			break;
	}
	vis_err rc = r == DRV_ERROR ? st->err : VIS_OK;
	drv_reset(st);
	return rc;
}
