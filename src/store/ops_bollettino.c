/* The monthly bulletin's rows of store.h written once over store/driver.h:
 * the municipalities that get one and the archive (src/bollettino). */
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "store/ops.h"
#include "store/sql.h"

/* Ends a statement stepped to the end: its failure, or VIS_OK. */
static vis_err done(struct drv_stmt *st, enum drv_step r)
{
	vis_err rc = r == DRV_ERROR ? st->err : VIS_OK;
	drv_reset(st);
	return rc;
}

vis_err store_bollettino_comune_set(struct store *s, const char *comune, bool on, int64_t now,
				    bool *changed, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s),
					  on ? SQL_BOLLETTINO_COMUNE_ADD : SQL_BOLLETTINO_COMUNE_DEL,
					  "comuni del bollettino", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, comune);
	if (on)
		drv_bind_i64(st, 2, now);
	enum drv_step r = drv_step(st, e);
	*changed = r != DRV_ERROR && drv_changes(st) == 1;
	return done(st, r);
}

vis_err store_bollettino_comune_each(struct store *s, store_bollettino_comune_fn fn, void *ctx,
				     struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_BOLLETTINO_COMUNE_EACH,
					  "comuni del bollettino", e);
	if (!st)
		return ops_err(e);
	enum drv_step r;
	while ((r = drv_step(st, e)) == DRV_ROW)
		if (fn(ctx, drv_col_text(st, 0), drv_col_i64(st, 1)) != 0)
			break;
	return done(st, r);
}

/* An archive row's values, as SQL_BOLLETTINO_PUT and _REPLACE number them. */
static void bind_row(struct drv_stmt *st, const struct store_bollettino *b, const char *html,
		     const char *pdf_base64)
{
	drv_bind_text(st, 1, b->comune);
	drv_bind_i64(st, 2, b->mese);
	drv_bind_i64(st, 3, b->generated_at);
	drv_bind_text(st, 4, b->sha256);
	drv_bind_text(st, 5, html);
	drv_bind_text(st, 6, pdf_base64);
	drv_bind_i64(st, 7, b->regola);
	drv_bind_i64(st, 8, b->soglia);
}

vis_err store_bollettino_put(struct store *s, const struct store_bollettino *b, const char *html,
			     const char *pdf_base64, bool *stored, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_BOLLETTINO_PUT, "bollettino", e);
	if (!st)
		return ops_err(e);
	bind_row(st, b, html, pdf_base64);
	enum drv_step r = drv_step(st, e);
	*stored = r != DRV_ERROR && drv_changes(st) == 1;
	return done(st, r);
}

vis_err store_bollettino_replace(struct store *s, const struct store_bollettino *b,
				 const char *html, const char *pdf_base64, int64_t now,
				 bool *replaced, struct vis_error *e)
{
	*replaced = false;
	struct drv *d = store_drv(s);
	struct drv_stmt *keep = drv_prepare(d, SQL_BOLLETTINO_SUPERSEDE, "bollettino", e);
	struct drv_stmt *put = keep ? drv_prepare(d, SQL_BOLLETTINO_REPLACE,
						  "bollettino", e) : NULL;
	if (!put || drv_begin(d, e))
		return ops_err(e);
	drv_bind_text(keep, 1, b->comune);
	drv_bind_i64(keep, 2, b->mese);
	drv_bind_i64(keep, 3, b->regola);
	drv_bind_i64(keep, 4, now);
	drv_bind_i64(keep, 5, b->soglia);
	vis_err rc = done(keep, drv_step(keep, e));
	if (!rc) {
		bind_row(put, b, html, pdf_base64);
		enum drv_step r = drv_step(put, e);
		*replaced = r != DRV_ERROR && drv_changes(put) == 1;
		rc = done(put, r);
	}
	if (rc) {
		*replaced = false;
		drv_rollback(d);
		return rc;
	}
	if (drv_commit(d, e)) {
		*replaced = false;
		return ops_err(e);
	}
	return VIS_OK;
}

vis_err store_bollettino_has(struct store *s, const char *comune, int mese, bool *found,
			     struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_BOLLETTINO_HAS, "bollettino", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, comune);
	drv_bind_i64(st, 2, mese);
	if (drv_one(st, found, e))
		return ops_err(e);
	drv_reset(st);
	return VIS_OK;
}

/* The columns every read of the archive starts with. */
static void meta_read(struct drv_stmt *st, struct store_bollettino *b)
{
	memset(b, 0, sizeof *b);
	/* written by store_bollettino_put from checked values: they fit */
	str_copy_known(b->comune, sizeof b->comune, drv_col_text(st, 0), __FILE__, __LINE__);
	b->mese = (int)drv_col_i64(st, 1);
	b->generated_at = drv_col_i64(st, 2);
	str_copy_known(b->sha256, sizeof b->sha256, drv_col_text(st, 3), __FILE__, __LINE__);
	b->html_len = drv_col_i64(st, 4);
	b->pdf_len = drv_col_i64(st, 5);
	b->regola = (int)drv_col_i64(st, 6);
	b->soglia = (int)drv_col_i64(st, 7);
}

vis_err store_bollettino_each(struct store *s, const char *comune, store_bollettino_fn fn,
			      void *ctx, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_BOLLETTINO_EACH, "bollettini", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, comune);
	enum drv_step r;
	while ((r = drv_step(st, e)) == DRV_ROW) {
		struct store_bollettino b;
		meta_read(st, &b);
		if (fn(ctx, &b) != 0)
			break;
	}
	return done(st, r);
}

vis_err store_bollettino_get(struct store *s, const char *comune, int mese,
			     struct store_bollettino *out, char **html, char **pdf_base64,
			     bool *found, struct vis_error *e)
{
	*html = *pdf_base64 = NULL;
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_BOLLETTINO_GET, "bollettino", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, comune);
	drv_bind_i64(st, 2, mese);
	if (drv_one(st, found, e))
		return ops_err(e);
	vis_err rc = VIS_OK;
	if (*found) {
		meta_read(st, out);
		*html = strndup(drv_col_text(st, 8), drv_col_bytes(st, 8));
		*pdf_base64 = strndup(drv_col_text(st, 9), drv_col_bytes(st, 9));
		if (!*html || !*pdf_base64) {
			free(*html);
			free(*pdf_base64);
			*html = *pdf_base64 = NULL;
			rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
		}
	}
	drv_reset(st);
	return rc;
}
