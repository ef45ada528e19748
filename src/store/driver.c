/* The helpers of store/driver.h written once over a driver's verbs. */
#include "store/driver.h"

#include "common/log.h"
#include "common/str.h"

vis_err drv_conflict(struct vis_error *e, const char *what, const char *db_text)
{
	log_warn("scrittura rifiutata dal database", "what=\"%s\" error=\"%s\"",
		 what ? what : "istruzione", db_text ? db_text : "");
	return vis_error_set(e, VIS_ERR_CONFLICT, "%s", DRV_CONFLICT_MESSAGE);
}

void drv_col_copy(struct drv_stmt *st, int c, char *dst, size_t cap)
{
	str_copy_known(dst, cap, drv_col_text(st, c), __FILE__, __LINE__);
}

vis_err drv_done(struct drv_stmt *st, struct vis_error *e)
{
	enum drv_step rc;
	while ((rc = drv_step(st, e)) == DRV_ROW)
		;
	vis_err err = rc == DRV_DONE ? VIS_OK : st->err;
	drv_reset(st);
	return err;
}

vis_err drv_done_changes(struct drv_stmt *st, int64_t *changed, struct vis_error *e)
{
	enum drv_step rc;
	while ((rc = drv_step(st, e)) == DRV_ROW)
		;
	vis_err err = rc == DRV_DONE ? VIS_OK : st->err;
	if (!err && changed)
		*changed = drv_changes(st);
	drv_reset(st);
	return err;
}

vis_err drv_one(struct drv_stmt *st, bool *found, struct vis_error *e)
{
	enum drv_step rc = drv_step(st, e);
	*found = rc == DRV_ROW;
	if (rc != DRV_ERROR)
		return VIS_OK;
	vis_err err = st->err;
	drv_reset(st);
	return err;
}
