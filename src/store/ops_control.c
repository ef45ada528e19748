/* The control data of store.h written once over store/driver.h: settings,
 * login throttling, password history, sessions and tokens, one-time
 * subject codes, webhook cursors, the shared state, readiness, the purge
 * of control rows, and the generic records of store/records.h. */
#include <stdio.h>
#include <time.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/monotime.h"
#include "store/ops.h"
#include "store/records.h"
#include "store/sql.h"

/* Runs statement id with two integer parameters (b only when two). */
static vis_err run_ids(struct drv *d, enum sql_id id, int np, int64_t a, int64_t b,
		       const char *what, int64_t *changed, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(d, id, what, e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, a);
	if (np > 1)
		drv_bind_i64(st, 2, b);
	return drv_done_changes(st, changed, e);
}

/* ---- settings, throttling, passwords, sessions ---- */

vis_err store_setting_get(struct store *s, const char *key, char *out, size_t cap, bool *found,
			  struct vis_error *e)
{
	int64_t gen;
	bool cached = store_cache_use(s, &gen);
	if (cached && store_cache_hold(s, STORE_CACHE_SETTING, NULL, key, 0, gen, out, cap, found))
		return VIS_OK;
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_SETTING_GET, "impostazione", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, key);
	if (drv_one(st, found, e))
		return ops_err(e);
	if (*found)
		drv_col_copy(st, 0, out, cap);   /* callers size out for the values they write */
	if (cached)
		store_cache_keep(s, STORE_CACHE_SETTING, NULL, key, 0, gen, *found ? out : NULL,
				 *found ? strlen(out) + 1 : 0);
	drv_reset(st);
	return VIS_OK;
}

vis_err store_setting_put(struct store *s, const char *key, const char *value,
			  struct vis_error *e)
{
	bool own;
	if (store_control_begin(s, &own, e))
		return ops_err(e);
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_SETTING_PUT, "impostazione", e);
	vis_err rc = ops_err(e);
	if (st) {
		drv_bind_text(st, 1, key);
		drv_bind_text(st, 2, value);
		rc = drv_done(st, e);
	}
	return store_control_end(s, own, rc, e);
}

vis_err store_throttle_get(struct store *s, const char *key, struct store_throttle *out,
			   struct vis_error *e)
{
	memset(out, 0, sizeof *out);
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_THROTTLE_GET,
					  "blocco dei tentativi", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, key);
	bool found;
	if (drv_one(st, &found, e))
		return ops_err(e);
	if (found) {
		out->failures = drv_col_int(st, 0);
		out->last_failure_at = drv_col_i64(st, 1);
		out->locked_until = drv_col_i64(st, 2);
	}
	drv_reset(st);
	return VIS_OK;
}

vis_err store_throttle_put(struct store *s, const char *key, const struct store_throttle *t,
			   struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_THROTTLE_PUT,
					  "blocco dei tentativi", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, key);
	drv_bind_i64(st, 2, t->failures);
	drv_bind_i64(st, 3, t->last_failure_at);
	drv_bind_i64(st, 4, t->locked_until);
	return drv_done(st, e);
}

vis_err store_throttle_bump(struct store *s, const char *key, int64_t now, int64_t forgive,
			    struct store_throttle *out, struct vis_error *e)
{
	memset(out, 0, sizeof *out);
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_THROTTLE_BUMP,
					  "blocco dei tentativi", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, key);
	drv_bind_i64(st, 2, now);
	drv_bind_i64(st, 3, forgive);
	bool found;
	if (drv_one(st, &found, e))
		return ops_err(e);
	if (!found) {
		drv_reset(st);
		return vis_error_set(e, VIS_ERR_STORE, "blocco dei tentativi: nessuna riga contata");
	}
	out->failures = drv_col_int(st, 0);
	out->last_failure_at = now;
	out->locked_until = drv_col_i64(st, 1);
	drv_reset(st);
	return VIS_OK;
}

vis_err store_throttle_lock(struct store *s, const char *key, int64_t until,
			    struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_THROTTLE_LOCK,
					  "blocco dei tentativi", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, key);
	drv_bind_i64(st, 2, until);
	return drv_done(st, e);
}

vis_err store_throttle_undo(struct store *s, const char *key, int64_t set, int64_t was,
			    struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_THROTTLE_UNDO,
					  "blocco dei tentativi", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, key);
	drv_bind_i64(st, 2, set);
	drv_bind_i64(st, 3, was);
	return drv_done(st, e);
}

vis_err store_password_history(struct store *s, int64_t account_id, char (*hashes)[128], int max,
			       int *n, struct vis_error *e)
{
	*n = 0;
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_PASSWORD_HISTORY,
					  "storico delle password", e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, account_id);
	drv_bind_i64(st, 2, max);
	enum drv_step r = DRV_DONE;
	while (*n < max && (r = drv_step(st, e)) == DRV_ROW)
		drv_col_copy(st, 0, hashes[(*n)++], 128);
	vis_err rc = *n < max && r == DRV_ERROR ? st->err : VIS_OK;
	drv_reset(st);
	return rc;
}

vis_err store_password_history_add(struct store *s, int64_t account_id, const char *hash,
				   int64_t at, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_PASSWORD_HISTORY_ADD,
					  "storico delle password", e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, account_id);
	drv_bind_text(st, 2, hash);
	drv_bind_i64(st, 3, at);
	return drv_done(st, e);
}

vis_err store_sessions_revoke_others(struct store *s, int64_t account_id, int64_t keep_id,
				     int64_t now, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_SESSIONS_REVOKE_OTHERS,
					  "revoca delle sessioni", e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, account_id);
	drv_bind_i64(st, 2, keep_id);
	drv_bind_i64(st, 3, now);
	return drv_done(st, e);
}

vis_err store_sessions_revoke_account(struct store *s, int64_t account_id, int64_t now,
				      struct vis_error *e)
{
	return run_ids(store_drv(s), SQL_SESSIONS_REVOKE_ACCOUNT, 2, account_id, now,
		       "revoca delle sessioni", NULL, e);
}

vis_err store_tokens_revoke_account(struct store *s, int64_t account_id, int64_t now,
				    struct vis_error *e)
{
	return run_ids(store_drv(s), SQL_TOKENS_REVOKE_ACCOUNT, 2, account_id, now,
		       "revoca dei token", NULL, e);
}

vis_err store_account_totp_advance(struct store *s, int64_t account_id, int64_t step,
				   bool *advanced, struct vis_error *e)
{
	int64_t n = 0;
	bool own;
	*advanced = false;
	if (store_control_begin(s, &own, e))
		return ops_err(e);
	vis_err rc = run_ids(store_drv(s), SQL_ACCOUNT_TOTP_ADVANCE, 2, account_id, step,
			     "passo TOTP", &n, e);
	if (store_control_end(s, own, rc, e))
		return ops_err(e);
	*advanced = n == 1;
	return VIS_OK;
}

vis_err store_control_purge(struct store *s, const int64_t before[STORE_PURGE_N], int64_t now,
			    int64_t removed[STORE_PURGE_N], struct vis_error *e)
{
	static const enum sql_id ids[STORE_PURGE_N] = {
		[STORE_PURGE_SECURITY] = SQL_PURGE_SECURITY_EVENTS,
		[STORE_PURGE_SESSIONS] = SQL_PURGE_SESSIONS,
		[STORE_PURGE_THROTTLE] = SQL_PURGE_THROTTLE,
		[STORE_PURGE_MAIL] = SQL_PURGE_MAIL,
		[STORE_PURGE_SUBJECT_CODES] = SQL_PURGE_SUBJECT_CODES,
		[STORE_PURGE_PDND_JTI] = SQL_PDND_JTI_PURGE};
	int64_t end = monotime_ms() + STORE_PURGE_BUDGET_MS;
	for (int i = 0; i < STORE_PURGE_N; i++)
		removed[i] = 0;
	for (int i = 0; i < STORE_PURGE_N; i++) {
		for (;;) {
			int64_t t0 = monotime_ms(), n = 0;
			if (run_ids(store_drv(s), ids[i], ids[i] == SQL_PURGE_THROTTLE ? 2 : 1,
				    before[i], now, "eliminazione", &n, e))
				return ops_err(e);
			removed[i] += n;
			if (n < SQL_PURGE_ROWS)
				break;
			int64_t t1 = monotime_ms(), took = t1 - t0;
			if (t1 + took >= end)
				return VIS_OK; /* the rest at the next call */
			/* the lock free as long as it was held */
			struct timespec pause = {.tv_sec = took / 1000,
						 .tv_nsec = (took % 1000) * 1000000 + 1000000};
			nanosleep(&pause, NULL);
		}
	}
	return VIS_OK;
}

/* ---- one-time subject codes, webhooks, readiness ---- */

vis_err store_subject_code_put(struct store *s, const char *code_hash, const char *cf,
			       int64_t created_by, int64_t now, int64_t expires_at,
			       struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_SUBJECT_CODE_PUT,
					  "codice monouso dell'interessato", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, code_hash);
	drv_bind_text(st, 2, cf);
	drv_bind_i64(st, 3, created_by);
	drv_bind_i64(st, 4, now);
	drv_bind_i64(st, 5, expires_at);
	return drv_done(st, e);
}

vis_err store_subject_code_use(struct store *s, const char *code_hash, int64_t now, char cf[17],
			       bool *ok, struct vis_error *e)
{
	*ok = false;
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_SUBJECT_CODE_USE,
					  "codice monouso dell'interessato", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, code_hash);
	drv_bind_i64(st, 2, now);
	if (drv_one(st, ok, e))
		return ops_err(e);
	if (*ok)
		drv_col_copy(st, 0, cf, 17);
	/* RETURNING: the update is done when the statement is. */
	return drv_done(st, e);
}

vis_err store_citizen_session_put(struct store *s, const char *token_hash, const char *cf,
				  int level, int64_t now, int64_t expires_at,
				  struct vis_error *e)
{
	struct drv *d = store_drv(s);
	if (run_ids(d, SQL_CITIZEN_SESSION_PURGE, 1, now, 0, "sessione del cittadino", NULL, e))
		return ops_err(e);
	struct drv_stmt *st = drv_prepare(d, SQL_CITIZEN_SESSION_PUT, "sessione del cittadino", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, token_hash);
	drv_bind_text(st, 2, cf);
	drv_bind_i64(st, 3, level);
	drv_bind_i64(st, 4, now);
	drv_bind_i64(st, 5, expires_at);
	return drv_done(st, e);
}

vis_err store_citizen_session_get(struct store *s, const char *token_hash, int64_t now,
				  struct store_citizen_session *out, bool *found,
				  struct vis_error *e)
{
	memset(out, 0, sizeof *out);
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_CITIZEN_SESSION_GET,
					  "sessione del cittadino", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, token_hash);
	drv_bind_i64(st, 2, now);
	if (drv_one(st, found, e))
		return ops_err(e);
	if (*found) {
		drv_col_copy(st, 0, out->cf, sizeof out->cf);
		out->level = drv_col_int(st, 1);
		out->expires_at = drv_col_i64(st, 2);
	}
	return drv_done(st, e);
}

vis_err store_citizen_session_end(struct store *s, const char *token_hash, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_CITIZEN_SESSION_END,
					  "sessione del cittadino", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, token_hash);
	return drv_done(st, e);
}

/* ---- citizens' e-mail notices ---- */

static void citizen_mail_read(struct drv_stmt *st, struct store_citizen_mail *m)
{
	m->id = drv_col_i64(st, 0);
	DRV_COL_COPY(st, 1, m->cf);
	DRV_COL_COPY(st, 2, m->address);
	DRV_COL_COPY(st, 3, m->pending_address);
	m->confirm_expires_at = drv_col_i64(st, 4);
	DRV_COL_COPY(st, 5, m->unsub_nonce);
	m->last_access_id = drv_col_i64(st, 6);
	m->last_held_id = drv_col_i64(st, 7);
	m->last_checked_at = drv_col_i64(st, 8);
}

vis_err store_citizen_mail_get(struct store *s, const char *cf, int64_t id,
			       struct store_citizen_mail *out, bool *found, struct vis_error *e)
{
	memset(out, 0, sizeof *out);
	struct drv_stmt *st = drv_prepare(store_drv(s), cf ? SQL_CITIZEN_MAIL_GET
							   : SQL_CITIZEN_MAIL_BY_ID,
					  "posta dei cittadini", e);
	if (!st)
		return ops_err(e);
	if (cf)
		drv_bind_text(st, 1, cf);
	else
		drv_bind_i64(st, 1, id);
	if (drv_one(st, found, e))
		return ops_err(e);
	if (*found)
		citizen_mail_read(st, out);
	return drv_done(st, e);
}

vis_err store_citizen_mail_ask(struct store *s, const char *cf, const char *address,
			       const char *confirm_hash, int64_t expires_at, int64_t now,
			       struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_CITIZEN_MAIL_ASK,
					  "posta dei cittadini", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, cf);
	drv_bind_text(st, 2, address);
	drv_bind_text(st, 3, confirm_hash);
	drv_bind_i64(st, 4, expires_at);
	drv_bind_i64(st, 5, now);
	return drv_done(st, e);
}

vis_err store_citizen_mail_confirm(struct store *s, const char *confirm_hash, int64_t now,
				   const char *unsub_nonce, char cf[17], bool *ok,
				   struct vis_error *e)
{
	*ok = false;
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_CITIZEN_MAIL_CONFIRM,
					  "posta dei cittadini", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, confirm_hash);
	drv_bind_i64(st, 2, now);
	drv_bind_text(st, 3, unsub_nonce);
	if (drv_one(st, ok, e))
		return ops_err(e);
	if (*ok)
		drv_col_copy(st, 0, cf, 17);
	return drv_done(st, e);
}

/* Runs one statement of a text parameter. */
static vis_err run_text(struct drv *d, enum sql_id id, const char *v, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(d, id, "posta dei cittadini", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, v);
	return drv_done(st, e);
}

vis_err store_citizen_mail_delete(struct store *s, const char *cf, struct vis_error *e)
{
	struct drv *d = store_drv(s);
	struct store_citizen_mail m;
	bool found;
	if (store_begin(s, e))
		return ops_err(e);
	if (store_citizen_mail_get(s, cf, 0, &m, &found, e) ||
	    (found && m.address[0] && run_text(d, SQL_CITIZEN_MAIL_DROP_PENDING, m.address, e)) ||
	    (found && m.pending_address[0] &&
	     run_text(d, SQL_CITIZEN_MAIL_DROP_PENDING, m.pending_address, e)) ||
	    run_text(d, SQL_CITIZEN_MAIL_DELETE, cf, e) || store_commit(s, e)) {
		store_rollback(s);
		return ops_err(e);
	}
	return VIS_OK;
}

vis_err store_citizen_mail_expire(struct store *s, int64_t now, struct vis_error *e)
{
	struct drv *d = store_drv(s);
	if (run_ids(d, SQL_CITIZEN_MAIL_FORGET, 1, now, 0, "posta dei cittadini", NULL, e) ||
	    run_ids(d, SQL_CITIZEN_MAIL_UNPEND, 1, now, 0, "posta dei cittadini", NULL, e))
		return ops_err(e);
	return VIS_OK;
}

vis_err store_citizen_mail_due(struct store *s, int64_t checked_before, int max,
			       store_citizen_mail_fn fn, void *ctx, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_CITIZEN_MAIL_DUE,
					  "posta dei cittadini", e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, checked_before);
	drv_bind_i64(st, 2, max);
	enum drv_step r;
	while ((r = drv_step(st, e)) == DRV_ROW) {
		struct store_citizen_mail m = {0};
		citizen_mail_read(st, &m);
		if (fn(ctx, &m))
			break;
	}
	vis_err rc = r == DRV_ERROR ? st->err : VIS_OK;
	drv_reset(st);
	return rc;
}

vis_err store_citizen_mail_advance(struct store *s, const struct store_citizen_mail *from,
				   int64_t to_access, int64_t to_held, int64_t now, bool *ok,
				   struct vis_error *e)
{
	*ok = false;
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_CITIZEN_MAIL_ADVANCE,
					  "posta dei cittadini", e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, from->id);
	drv_bind_i64(st, 2, from->last_access_id);
	drv_bind_i64(st, 3, from->last_held_id);
	drv_bind_i64(st, 4, to_access);
	drv_bind_i64(st, 5, to_held);
	drv_bind_i64(st, 6, now);
	int64_t changed = 0;
	if (drv_done_changes(st, &changed, e))
		return ops_err(e);
	*ok = changed > 0;
	return VIS_OK;
}

vis_err store_webhook_get(struct store *s, int64_t convenzione_id, struct store_webhook *out,
			  struct vis_error *e)
{
	memset(out, 0, sizeof *out);
	out->convenzione_id = convenzione_id;
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_WEBHOOK_GET, "stato del webhook", e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, convenzione_id);
	bool found;
	if (drv_one(st, &found, e))
		return ops_err(e);
	if (found) {
		out->cursor = drv_col_i64(st, 0);
		out->attempts = drv_col_int(st, 1);
		out->next_attempt_at = drv_col_i64(st, 2);
		DRV_COL_COPY(st, 3, out->last_error);
		out->delivered = drv_col_i64(st, 4);
	}
	drv_reset(st);
	return VIS_OK;
}

vis_err store_webhook_put(struct store *s, const struct store_webhook *w, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_WEBHOOK_PUT, "stato del webhook", e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, w->convenzione_id);
	drv_bind_i64(st, 2, w->cursor);
	drv_bind_i64(st, 3, w->attempts);
	drv_bind_i64(st, 4, w->next_attempt_at);
	drv_bind_text(st, 5, w->last_error);
	drv_bind_i64(st, 6, w->delivered);
	return drv_done(st, e);
}

vis_err store_readiness_write(struct store *s, int64_t now, const char *filler,
			      struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_READINESS_WRITE,
					  "prova di scrittura", e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, now);
	drv_bind_text(st, 2, filler);
	return drv_done(st, e);
}

/* ---- shared state ---- */

/* Reads a value in column c into out (cap bytes), or with dup into a
 * copy of at most cap bytes, the caller's to free. */
static vis_err state_value(struct drv_stmt *st, int c, const char *key, char *out, size_t cap,
			   char **dup, struct vis_error *e)
{
	size_t n = drv_col_bytes(st, c);
	if (dup ? n > cap : n >= cap)
		return vis_error_set(e, VIS_ERR_LIMIT, "lo stato condiviso %s è troppo "
						       "grande", key);
	if (!dup)
		drv_col_copy(st, c, out, cap);
	else if ((*dup = malloc(n + 1)))
		memcpy(*dup, drv_col_text(st, c), n + 1);
	else
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	return VIS_OK;
}

static vis_err state_lock(struct store *s, const char *key, char *out, size_t cap, char **dup,
			  int64_t *version, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_shared_drv(s), SQL_STATE_LOCK,
					  "stato condiviso", e);
	if (!st)
		return ops_err(e);
	/* A value created starts at a random version, below 2^62: its
	 * successors never wrap. */
	int64_t first;
	randombytes_buf(&first, sizeof first);
	drv_bind_text(st, 1, key);
	drv_bind_i64(st, 2, (int64_t)((uint64_t)first >> 2));
	bool found;
	if (drv_one(st, &found, e))
		return ops_err(e);
	vis_err rc = found ? state_value(st, 0, key, out, cap, dup, e)
			   : vis_error_set(e, VIS_ERR_STORE, "stato condiviso %s: nessuna riga",
					   key);
	if (version)
		*version = found ? drv_col_i64(st, 1) : 0;
	/* RETURNING: the upsert is done when the statement is. */
	if (rc == VIS_OK)
		return drv_done(st, e);
	drv_reset(st);
	return rc;
}

vis_err store_state_lock(struct store *s, const char *key, char *out, size_t cap,
			 struct vis_error *e)
{
	return state_lock(s, key, out, cap, NULL, NULL, e);
}

vis_err store_state_lock_dup(struct store *s, const char *key, size_t max, char **out,
			     int64_t *version, struct vis_error *e)
{
	*out = NULL;
	return state_lock(s, key, NULL, max, out, version, e);
}

vis_err store_state_put(struct store *s, const char *key, const char *value, int64_t now,
			struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_shared_drv(s), SQL_STATE_PUT, "stato condiviso", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, key);
	drv_bind_text(st, 2, value);
	drv_bind_i64(st, 3, now);
	return drv_send(st, e);
}

/* A PostgreSQL array literal of n numbers, the caller's to free. */
static char *array_i64(const int64_t *v, int n)
{
	/* braces, NUL, and each number (20 characters at most) with its comma */
	char *out = malloc(3 + (size_t)n * 21), *p = out;
	if (!out)
		return NULL;
	*p++ = '{';
	for (int i = 0; i < n; i++)
		p += sprintf(p, i ? ",%lld" : "%lld", (long long)v[i]);
	strcpy(p, "}");
	return out;
}

vis_err store_state_swap(struct store *s, const char *key, const char *value, int64_t now,
			 int64_t expect, const struct store_seen_delta *delta, size_t max,
			 bool *written, char **out, int64_t *version, struct vis_error *e)
{
	*written = false;
	*out = NULL;
	char *seen = array_i64(delta ? delta->seen : NULL, delta ? delta->nseen : 0);
	if (!seen)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	struct drv_stmt *st = drv_prepare(store_shared_drv(s), SQL_STATE_SWAP,
					  "stato condiviso", e);
	if (!st) {
		free(seen);
		return ops_err(e);
	}
	drv_bind_text(st, 1, key);
	drv_bind_text(st, 2, value);
	drv_bind_i64(st, 3, now);
	drv_bind_i64(st, 4, expect);
	drv_bind_i64(st, 5, delta ? delta->drop_upto : -1);
	drv_bind_text(st, 6, seen);
	bool found;
	vis_err failed = drv_one(st, &found, e);
	free(seen);
	if (failed)
		return ops_err(e);
	vis_err rc = VIS_OK;
	if (found && !drv_col_null(st, 0)) {
		*written = true;
		*version = drv_col_i64(st, 0);
	} else if (found) {
		*version = drv_col_i64(st, 2);
		rc = state_value(st, 1, key, NULL, max, out, e);
	}
	if (rc == VIS_OK)
		return drv_done(st, e);
	drv_reset(st);
	return rc;
}

int store_state_seen(struct store *s, const char *key,
		     int (*fn)(void *ctx, int64_t h, int64_t at), void *ctx, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_shared_drv(s), SQL_STATE_SEEN,
					  "stato condiviso", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, key);
	enum drv_step r;
	while ((r = drv_step(st, e)) == DRV_ROW) {
		int rc = fn(ctx, drv_col_i64(st, 0), drv_col_i64(st, 1));
		if (rc) {
			drv_reset(st);
			return rc;
		}
	}
	drv_reset(st);
	return r == DRV_DONE ? VIS_OK : ops_err(e);
}

vis_err ops_pg_array(char *out, size_t cap, int n, const char *const *txt,
			  const int64_t *num, struct vis_error *e)
{
	size_t o = 0;
	out[o++] = '{';
	for (int i = 0; i < n; i++) {
		char one[160];
		size_t m = 0;
		if (txt) {
			one[m++] = '"';
			for (const char *c = txt[i]; *c && m + 3 < sizeof one; c++) {
				if (*c == '"' || *c == '\\')
					one[m++] = '\\';
				one[m++] = *c;
			}
			if (m + 3 >= sizeof one)
				return vis_error_set(e, VIS_ERR_INTERNAL, "valore di elenco troppo "
									  "lungo: %s",
						     txt[i]);
			one[m++] = '"';
		} else {
			m = (size_t)snprintf(one, sizeof one, "%lld", (long long)num[i]);
		}
		if (o + m + 2 >= cap)
			return vis_error_set(e, VIS_ERR_INTERNAL, "%d valori di elenco: troppi", n);
		if (i)
			out[o++] = ',';
		memcpy(out + o, one, m);
		o += m;
	}
	out[o++] = '}';
	out[o] = '\0';
	return VIS_OK;
}

vis_err store_counters_take(struct store *s, const char *const *keys, const int64_t *windows,
			    const int64_t *limits, int n, int64_t share, int64_t most, int64_t now,
			    bool *taken, bool *exhausted, int64_t *granted, struct vis_error *e)
{
	char k[1024], w[256], l[256];
	*taken = false;
	if (n < 1 || n > STORE_COUNTERS_MAX)
		return vis_error_set(e, VIS_ERR_INTERNAL, "%d contatori (da 1 a %d)", n,
				     STORE_COUNTERS_MAX);
	if (share < 1 || most < 1)
		return vis_error_set(e, VIS_ERR_INTERNAL, "contatori: quota %lld, massimo %lld",
				     (long long)share, (long long)most);
	vis_err rc;
	if ((rc = ops_pg_array(k, sizeof k, n, keys, NULL, e)) ||
	    (rc = ops_pg_array(w, sizeof w, n, NULL, windows, e)) ||
	    (rc = ops_pg_array(l, sizeof l, n, NULL, limits, e)))
		return rc;
	/* At most twice: a key seen for the first time is created, then
	 * counted. */
	for (int attempt = 0; attempt < 2; attempt++) {
		struct drv_stmt *st = drv_prepare(store_shared_drv(s), SQL_COUNTERS_TAKE,
						  "contatori", e);
		if (!st)
			return ops_err(e);
		drv_bind_text(st, 1, k);
		drv_bind_text(st, 2, w);
		drv_bind_text(st, 3, l);
		drv_bind_i64(st, 4, now);
		drv_bind_i64(st, 5, share);
		drv_bind_i64(st, 6, most);
		int rows = 0, written = 0;
		bool missing = false;
		enum drv_step r;
		while ((r = drv_step(st, e)) == DRV_ROW) {
			int i = drv_col_int(st, 0) - 1;
			if (i < 0 || i >= n)
				continue;
			exhausted[i] = drv_col_int(st, 1) != 0;
			missing |= drv_col_int(st, 2) != 0;
			written = drv_col_int(st, 3);
			granted[i] = drv_col_i64(st, 4);
			rows++;
		}
		drv_reset(st);
		if (r == DRV_ERROR)
			return ops_err(e);
		if (rows != n)
			return vis_error_set(e, VIS_ERR_STORE, "contatori: %d righe "
							       "per %d chiavi", rows, n);
		if (!missing) {
			*taken = written > 0;
			return VIS_OK;
		}
		st = drv_prepare(store_shared_drv(s), SQL_COUNTERS_CREATE, "contatori", e);
		if (!st)
			return ops_err(e);
		drv_bind_text(st, 1, k);
		if (drv_done(st, e))
			return ops_err(e);
	}
	return vis_error_set(e, VIS_ERR_STORE, "contatori: manca ancora una chiave creata");
}

/* ---- control records (generic over store/records.h) ---- */

/* Binds one column's value of rec at parameter p. */
static vis_err rec_bind_col(const struct rec_desc *d, const struct rec_col *col,
			    struct drv_stmt *st, int p, const void *rec, struct vis_error *e)
{
	const char *f = (const char *)rec + col->offset;
	switch (col->type) {
	case RC_I64: drv_bind_i64(st, p, *(const int64_t *)f); break;
	case RC_INT: drv_bind_i64(st, p, *(const int *)f); break;
	case RC_BOOL: drv_bind_i64(st, p, *(const bool *)f); break;
	case RC_TEXT:
		if (strnlen(f, col->size) == col->size)
			return vis_error_set(e, VIS_ERR_INVALID, "%s.%s non è terminato",
					     d->table, col->name);
		drv_bind_text(st, p, f);
		break;
	}
	return VIS_OK;
}

/* Binds fields [first, ncols) of rec from parameter 1 on. */
static vis_err rec_bind(const struct rec_desc *d, struct drv_stmt *st, const void *rec,
			size_t first, struct vis_error *e)
{
	int p = 1;
	for (size_t i = first; i < d->ncols; i++, p++)
		if (rec_bind_col(d, &d->cols[i], st, p, rec, e))
			return VIS_ERR_INVALID;
	return VIS_OK;
}

static void rec_read(const struct rec_desc *d, struct drv_stmt *st, void *rec)
{
	memset(rec, 0, d->struct_size);
	for (size_t i = 0; i < d->ncols; i++) {
		const struct rec_col *col = &d->cols[i];
		char *f = (char *)rec + col->offset;
		switch (col->type) {
		case RC_I64: *(int64_t *)f = drv_col_i64(st, (int)i); break;
		case RC_INT: *(int *)f = drv_col_int(st, (int)i); break;
		case RC_BOOL: *(bool *)f = drv_col_i64(st, (int)i) != 0; break;
		case RC_TEXT: drv_col_copy(st, (int)i, f, col->size); break;
		}
	}
}

#define REC_SQL_MAX 8192

static vis_err rec_insert(struct store *s, enum store_kind k, const void *rec, int64_t *id,
			  struct vis_error *e)
{
	const struct rec_desc *d = &store_rec_descs[k];
	char sql[REC_SQL_MAX];
	if (!rec_sql_insert(d, sql, sizeof sql))
		return vis_error_set(e, VIS_ERR_INTERNAL, "istruzione su %s troppo lunga", d->table);
	struct drv_stmt *st = drv_prepare_sql(store_drv(s), sql, d->table, e);
	if (!st)
		return ops_err(e);
	if (rec_bind(d, st, rec, 1, e)) {
		drv_reset(st);
		return VIS_ERR_INVALID;
	}
	bool found;
	if (drv_one(st, &found, e))
		return ops_err(e);
	if (found && id)
		*id = drv_col_i64(st, 0);   /* RETURNING id */
	return drv_done(st, e);
}

/* Does column col hold the same value in a and b? */
static bool rec_col_same(const struct rec_col *col, const void *a, const void *b)
{
	const char *x = (const char *)a + col->offset, *y = (const char *)b + col->offset;
	switch (col->type) {
	case RC_I64: return *(const int64_t *)x == *(const int64_t *)y;
	case RC_INT: return *(const int *)x == *(const int *)y;
	case RC_BOOL: return *(const bool *)x == *(const bool *)y;
	case RC_TEXT: return strncmp(x, y, col->size) == 0;
	}
	return false;
}

/* Runs a bound change that must write exactly one row (the record as it
 * was read): none is VIS_ERR_CONFLICT, another change got there first. */
static vis_err done_one(struct drv_stmt *st, struct vis_error *e)
{
	int64_t rows = 0;
	if (drv_done_changes(st, &rows, e))
		return ops_err(e);
	if (rows != 1)
		return vis_error_set(e, VIS_ERR_CONFLICT, "%s", STORE_CHANGED_MEANWHILE);
	return VIS_OK;
}

/* Writes the columns `after` changes from `before` (a copy of the row as
 * it was read), only while the row still holds before's values in them
 * (rec_sql_update): a change made on a copy never puts back what another
 * change wrote in between to another column (an account disabled, a
 * session revoked while a request records its last use), and one made on
 * a copy that another change of the same column has overtaken is refused
 * (VIS_ERR_CONFLICT), never written over it. */
static vis_err rec_update(struct store *s, enum store_kind k, const void *before,
			  const void *after, struct vis_error *e)
{
	const struct rec_desc *d = &store_rec_descs[k];
	int64_t id = *(const int64_t *)after;
	if (id != *(const int64_t *)before)
		return vis_error_set(e, VIS_ERR_INTERNAL, "%s: modifica di due record diversi",
				     d->table);
	char sql[REC_SQL_MAX];
	if (!rec_sql_update(d, sql, sizeof sql) || 2 * d->ncols - 1 > DRV_MAX_PARAMS)
		return vis_error_set(e, VIS_ERR_INTERNAL, "istruzione su %s troppo lunga", d->table);
	struct drv_stmt *st = drv_prepare_sql(store_drv(s), sql, d->table, e);
	if (!st)
		return ops_err(e);
	int n = (int)d->ncols, changed = 0;
	for (int i = 1; i < n; i++) {
		const struct rec_col *col = &d->cols[i];
		if (rec_col_same(col, before, after)) {
			drv_bind_null(st, i);
			drv_bind_null(st, n + i);
			continue;
		}
		changed++;
		if (rec_bind_col(d, col, st, i, after, e) ||
		    rec_bind_col(d, col, st, n + i, before, e)) {
			drv_reset(st);
			return VIS_ERR_INVALID;
		}
	}
	if (!changed) {
		drv_reset(st);
		return VIS_OK;
	}
	drv_bind_i64(st, n, id);
	return done_one(st, e);
}

/* A change to a kind the cache holds moves the generation in its
 * transaction (store_control_begin/end); other kinds are written as they
 * are. */
vis_err store_rec_insert(struct store *s, enum store_kind k, const void *rec, int64_t *id,
			 struct vis_error *e)
{
	bool own;
	if (!store_cache_kind(k))
		return rec_insert(s, k, rec, id, e);
	if (store_control_begin(s, &own, e))
		return ops_err(e);
	return store_control_end(s, own, rec_insert(s, k, rec, id, e), e);
}

vis_err store_rec_update(struct store *s, enum store_kind k, const void *before,
			 const void *after, struct vis_error *e)
{
	bool own;
	if (!store_cache_kind(k))
		return rec_update(s, k, before, after, e);
	if (store_control_begin(s, &own, e))
		return ops_err(e);
	return store_control_end(s, own, rec_update(s, k, before, after, e), e);
}

/* The one record whose column `colname` equals the text or integer value;
 * outside src/store only through the typed look-ups of store.h. */
static vis_err rec_get(struct store *s, enum store_kind k, const char *colname, const char *text,
		       int64_t num, void *out, bool *found, struct vis_error *e)
{
	const struct rec_desc *d = &store_rec_descs[k];
	const struct rec_col *col = rec_col_find(d, colname);
	if (!col)
		return vis_error_set(e, VIS_ERR_INTERNAL, "%s non ha la "
							  "colonna %s", d->table, colname);
	int64_t gen;
	bool cached = store_cache_kind(k) && store_cache_use(s, &gen);
	if (cached && store_cache_hold(s, k, col->name, text, num, gen, out, d->struct_size, found))
		return VIS_OK;
	/* The first read of a request (its session or token, not cached)
	 * brings the generation along, in its round trip. */
	bool with_gen = !cached && store_cache_gen_due(s);
	char sql[REC_SQL_MAX];
	if (!rec_sql_get(d, col, with_gen, sql, sizeof sql))
		return vis_error_set(e, VIS_ERR_INTERNAL, "istruzione su %s troppo lunga", d->table);
	struct drv_stmt *st = drv_prepare_sql(store_drv(s), sql, d->table, e);
	if (!st)
		return ops_err(e);
	if (text)
		drv_bind_text(st, 1, text);
	else
		drv_bind_i64(st, 1, num);
	if (drv_one(st, found, e))
		return ops_err(e);
	if (*found)
		rec_read(d, st, out);
	if (*found && with_gen)
		store_cache_gen_read(s, drv_col_null(st, (int)d->ncols) ? 0
					: drv_col_i64(st, (int)d->ncols));
	if (cached)
		store_cache_keep(s, k, col->name, text, num, gen, *found ? out : NULL, d->struct_size);
	drv_reset(st);
	return VIS_OK;
}

/* Each row of a prepared and bound statement read as a record of d:
 * fn(ctx, record) until it returns non-zero; the statement reset. */
static vis_err rec_each(const struct rec_desc *d, struct drv_stmt *st, store_rec_fn fn,
			void *ctx, struct vis_error *e)
{
	void *rec = malloc(d->struct_size);
	if (!rec) {
		drv_reset(st);
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	enum drv_step r;
	while ((r = drv_step(st, e)) == DRV_ROW) {
		rec_read(d, st, rec);
		if (fn(ctx, rec) != 0)
			break;
	}
	vis_err rc = r == DRV_ERROR ? st->err : VIS_OK;
	drv_reset(st);
	free(rec);
	return rc;
}

vis_err store_rec_list(struct store *s, enum store_kind k, const struct store_filter *filters,
		       int limit, store_rec_fn fn, void *ctx, struct vis_error *e)
{
	return store_rec_page(s, k, filters, 0, limit, fn, ctx, e);
}

vis_err store_rec_page(struct store *s, enum store_kind k, const struct store_filter *filters,
		       int64_t before, int limit, store_rec_fn fn, void *ctx, struct vis_error *e)
{
	const struct rec_desc *d = &store_rec_descs[k];
	char sql[REC_SQL_MAX];
	int nf = rec_sql_list(d, filters, before != 0, limit, sql, sizeof sql, e);
	if (nf < 0)
		return VIS_ERR_INTERNAL;
	struct drv_stmt *st = drv_prepare_sql(store_drv(s), sql, d->table, e);
	if (!st)
		return ops_err(e);
	for (int i = 0; i < nf; i++) {
		if (filters[i].text)
			drv_bind_text(st, i + 1, filters[i].text);
		else
			drv_bind_i64(st, i + 1, filters[i].num);
	}
	if (before)
		drv_bind_i64(st, nf + 1, before);
	return rec_each(d, st, fn, ctx, e);
}

vis_err ops_counts_read(struct drv_stmt *st, int64_t *const out[], int ncols, const char *what,
			struct vis_error *e)
{
	bool found;
	if (drv_one(st, &found, e))
		return ops_err(e);
	for (int i = 0; found && i < ncols; i++)
		if (out[i])
			*out[i] = drv_col_i64(st, i);
	drv_reset(st);
	return found ? VIS_OK : vis_error_set(e, VIS_ERR_STORE, "%s: nessuna riga", what);
}

vis_err store_alerts_count(struct store *s, int64_t ente_id, int64_t *n, struct vis_error *e)
{
	*n = 0;
	const char *what = "conteggio delle segnalazioni";
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_ALERTS_COUNT_ENTE, what, e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, ente_id);
	return ops_counts_read(st, (int64_t *const[]){n}, 1, what, e);
}

/* A count(*) statement whose parameters are the ntext texts `t`, then
 * the number *at when given. */
static vis_err count_texts(struct store *s, enum sql_id id, const char *what,
			   const char *const t[], int ntext, const int64_t *at, int64_t *n,
			   struct vis_error *e)
{
	*n = 0;
	struct drv_stmt *st = drv_prepare(store_drv(s), id, what, e);
	if (!st)
		return ops_err(e);
	for (int i = 0; i < ntext; i++)
		drv_bind_text(st, i + 1, t[i]);
	if (at)
		drv_bind_i64(st, ntext + 1, *at);
	return ops_counts_read(st, (int64_t *const[]){n}, 1, what, e);
}

vis_err store_alerts_since(struct store *s, const char *rule, const char *username, int64_t since,
			   int64_t *n, struct vis_error *e)
{
	return count_texts(s, SQL_ALERTS_SINCE, "segnalazioni di una regola",
			   (const char *const[]){rule, username}, 2, &since, n, e);
}

vis_err store_alerts_by_rule(struct store *s, void (*fn)(void *ctx, const char *rule, int64_t n),
			     void *ctx, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_ALERTS_BY_RULE,
					  "segnalazioni per regola", e);
	if (!st)
		return ops_err(e);
	enum drv_step r;
	while ((r = drv_step(st, e)) == DRV_ROW)
		fn(ctx, drv_col_text(st, 0), drv_col_i64(st, 1));
	vis_err rc = r == DRV_ERROR ? st->err : VIS_OK;
	drv_reset(st);
	return rc;
}

/* The records of kind k a statement of sql.c selects (its columns the
 * kind's, in order), bound to (a, limit): fn(ctx, record) each. */
static vis_err rec_list_by(struct store *s, enum store_kind k, enum sql_id id, const char *what,
			   int64_t a, int limit, store_rec_fn fn, void *ctx, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), id, what, e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, a);
	drv_bind_i64(st, 2, limit);
	return rec_each(&store_rec_descs[k], st, fn, ctx, e);
}

vis_err store_mail_due(struct store *s, int64_t now, int max, store_rec_fn fn, void *ctx,
		       struct vis_error *e)
{
	return rec_list_by(s, STORE_MAIL, SQL_MAIL_DUE, "posta da inviare", now, max, fn, ctx, e);
}

vis_err store_notices_live(struct store *s, int64_t now, int max, store_rec_fn fn, void *ctx,
			   struct vis_error *e)
{
	return rec_list_by(s, STORE_NOTICE, SQL_NOTICES_LIVE, "avvisi", now, max, fn, ctx, e);
}

vis_err store_notice_correct(struct store *s, const struct store_notice *before,
			     const struct store_notice *after, int64_t now, struct vis_error *e)
{
	if (after->id != before->id)
		return vis_error_set(e, VIS_ERR_INTERNAL, "avviso: modifica di due record diversi");
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_NOTICE_CORRECT, "avviso", e);
	if (!st)
		return ops_err(e);
	drv_bind_i64(st, 1, after->id);
	const struct store_notice *x[] = {after, before};
	for (int i = 0; i < 2; i++) {
		drv_bind_text(st, 2 + 4 * i, x[i]->title);
		drv_bind_text(st, 3 + 4 * i, x[i]->body);
		drv_bind_i64(st, 4 + 4 * i, x[i]->starts_at);
		drv_bind_i64(st, 5 + 4 * i, x[i]->ends_at);
	}
	drv_bind_i64(st, 10, now);
	drv_bind_i64(st, 11, after->withdrawn_at);
	return done_one(st, e);
}

vis_err store_security_events_count(struct store *s, const char *kind, const char *prefix,
				    int64_t *n, struct vis_error *e)
{
	return count_texts(s, SQL_EVENTS_COUNT_DETAIL, "conteggio degli eventi di sicurezza",
			   (const char *const[]){kind, prefix}, 2, NULL, n, e);
}

vis_err store_rec_delete(struct store *s, enum store_kind k, int64_t id, struct vis_error *e)
{
	/* processing is not a kind the cache holds: no generation to move */
	if (k != STORE_PROCESSING || store_cache_kind(k))
		return vis_error_set(e, VIS_ERR_INTERNAL, "i dati di questo tipo non si cancellano "
							  "mai");
	return run_ids(store_drv(s), SQL_REC_DELETE, 1, id, 0, "cancellazione", NULL, e);
}

/* ---- PDND: the signed tokens seen ---- */

vis_err store_pdnd_jti_take(struct store *s, const char *jti, int64_t expires_at, bool *fresh,
			    struct vis_error *e)
{
	*fresh = false;
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_PDND_JTI_TAKE,
					  "identificativo del token", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, jti);
	drv_bind_i64(st, 2, expires_at);
	if (drv_step(st, e) == DRV_ERROR) {
		vis_err rc = st->err;
		drv_reset(st);
		return rc;
	}
	*fresh = drv_changes(st) == 1;
	drv_reset(st);
	return VIS_OK;
}

vis_err store_pdnd_jti_take_pair(struct store *s, const char *jti1, int64_t expires1,
				 const char *jti2, int64_t expires2, bool *fresh1, bool *fresh2,
				 struct vis_error *e)
{
	*fresh1 = *fresh2 = false;
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_PDND_JTI_TAKE_PAIR,
					  "identificativi dei token", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, jti1);
	drv_bind_i64(st, 2, expires1);
	drv_bind_text(st, 3, jti2);
	drv_bind_i64(st, 4, expires2);
	enum drv_step r;
	while ((r = drv_step(st, e)) == DRV_ROW) {
		const char *got = drv_col_text(st, 0);
		if (!strcmp(got, jti1))
			*fresh1 = true;
		else if (!strcmp(got, jti2))
			*fresh2 = true;
	}
	vis_err rc = r == DRV_ERROR ? st->err : VIS_OK;
	drv_reset(st);
	if (rc)
		*fresh1 = *fresh2 = false;
	return rc;
}

vis_err store_pdnd_jti_give_back(struct store *s, const char *jti, struct vis_error *e)
{
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_PDND_JTI_GIVE_BACK,
					  "identificativo del token", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, jti);
	return drv_done(st, e);
}

/* ---- the same, typed (store.h: STORE_RECORDS) ---- */

#define STORE_REC_TYPED_DEFINE(name, kind)                                     \
	vis_err store_##name##_get(struct store *s, int64_t id, struct store_##name *out, \
				   bool *found, struct vis_error *e)                   \
	{                                                                      \
		return rec_get(s, kind, "id", NULL, id, out, found, e);  \
	}                                                                      \
	vis_err store_##name##_insert(struct store *s, const struct store_##name *rec, \
				      int64_t *id, struct vis_error *e)                \
	{                                                                      \
		return store_rec_insert(s, kind, rec, id, e);                  \
	}                                                                      \
	vis_err store_##name##_update(struct store *s, const struct store_##name *before, \
				      const struct store_##name *after,                \
				      struct vis_error *e)                             \
	{                                                                      \
		return store_rec_update(s, kind, before, after, e);            \
	}
STORE_RECORDS(STORE_REC_TYPED_DEFINE)

vis_err store_account_by_username(struct store *s, const char *username,
				  struct store_account *out, bool *found, struct vis_error *e)
{
	return rec_get(s, STORE_ACCOUNT, "username", username, 0, out, found, e);
}

vis_err store_session_by_token(struct store *s, const char *token_hash,
			       struct store_session *out, bool *found, struct vis_error *e)
{
	return rec_get(s, STORE_SESSION, "token_hash", token_hash, 0, out, found, e);
}

vis_err store_token_by_hash(struct store *s, const char *token_hash, struct store_token *out,
			    bool *found, struct vis_error *e)
{
	return rec_get(s, STORE_TOKEN, "token_hash", token_hash, 0, out, found, e);
}

vis_err store_workstation_by_serial(struct store *s, const char *serial,
				    struct store_workstation *out, bool *found,
				    struct vis_error *e)
{
	return rec_get(s, STORE_WORKSTATION, "serial", serial, 0, out, found, e);
}

vis_err store_processing_by_number(struct store *s, const char *number,
				   struct store_processing *out, bool *found,
				   struct vis_error *e)
{
	return rec_get(s, STORE_PROCESSING, "number", number, 0, out, found, e);
}
