/* backend — what a back end of store.h implements (internal to src/store).
 *
 * Owns: the one list of store operations.  store.c, the front, opens the
 * back end a URI names and forwards every call of store.h to it; each back
 * end defines prefix_NAME(handle, ...) for every operation of the list
 * (store_sqlite.c: sq_, store_pg.c: pg_), with the parameters of
 * store_NAME in store.h after the handle. */
#ifndef VISURA_STORE_BACKEND_H
#define VISURA_STORE_BACKEND_H

#include "store/store.h"

#define STORE_STRIP(...) __VA_ARGS__

/* X(return type, name, (parameters after the handle), (their names)) */
#define STORE_OPS(X) \
	X(vis_err, refdata_replace, (const struct refdata *rd, struct vis_error *e), (rd, e)) \
	X(vis_err, begin, (struct vis_error *e), (e)) \
	X(vis_err, commit, (struct vis_error *e), (e)) \
	X(vis_err, feed_get, (const char *comune, struct store_feed *out, bool *found, struct vis_error *e), (comune, out, found, e)) \
	X(vis_err, feed_each, (store_feed_fn fn, void *ctx, struct vis_error *e), (fn, ctx, e)) \
	X(vis_err, import_each, (const char *comune, int limit, store_import_fn fn, void *ctx, struct vis_error *e), (comune, limit, fn, ctx, e)) \
	X(vis_err, import_last_counts, (const char *comune, struct store_import_counts *out, struct vis_error *e), (comune, out, e)) \
	X(vis_err, import_sha, (const char *comune, int64_t seq, char sha_out[65], bool *found, struct vis_error *e), (comune, seq, sha_out, found, e)) \
	X(vis_err, import_start, (const struct store_import *imp, int64_t *import_id, bool *empty, struct vis_error *e), (imp, import_id, empty, e)) \
	X(vis_err, family_put, (int64_t import_id, bool bulk, const struct store_family *f, enum store_put_result *res, struct vis_error *e), (import_id, bulk, f, res, e)) \
	X(vis_err, person_put, (int64_t import_id, bool bulk, const struct store_person *p, enum store_put_result *res, struct vis_error *e), (import_id, bulk, p, res, e)) \
	X(vis_err, event_put, (int64_t import_id, const struct store_event *ev, enum store_put_result *res, struct vis_error *e), (import_id, ev, res, e)) \
	X(vis_err, family_exists, (const char *comune, const char *id, bool *found, struct vis_error *e), (comune, id, found, e)) \
	X(vis_err, person_exists, (const char *comune, const char *id, bool *found, struct vis_error *e), (comune, id, found, e)) \
	X(vis_err, person_cf_owner, (const char *comune, const char *cf, char id_out[STORE_ID_MAX], bool *found, struct vis_error *e), (comune, cf, id_out, found, e)) \
	X(vis_err, person_cf_elsewhere, (const char *comune, const char *cf, char comune_out[7], bool *found, struct vis_error *e), (comune, cf, comune_out, found, e)) \
	X(vis_err, import_finish, (int64_t import_id, const struct store_import *imp, int close_date, struct store_import_counts *counts, struct vis_error *e), (import_id, imp, close_date, counts, e)) \
	X(vis_err, counts_get, (const char *comune, int date, struct store_counts *out, struct vis_error *e), (comune, date, out, e)) \
	X(vis_err, person_by_cf, (const char *comune, const char *cf, int date, struct store_person *out, bool *found, struct vis_error *e), (comune, cf, date, out, found, e)) \
	X(vis_err, person_history, (const char *comune, const char *id, store_person_fn fn, void *ctx, struct vis_error *e), (comune, id, fn, ctx, e)) \
	X(vis_err, person_each_at, (const char *comune, int date, store_person_fn fn, void *ctx, struct vis_error *e), (comune, date, fn, ctx, e)) \
	X(vis_err, event_each, (const char *comune, int from, int to, store_event_fn fn, void *ctx, struct vis_error *e), (comune, from, to, fn, ctx, e)) \
	X(vis_err, family_get, (const char *comune, const char *id, int date, struct store_family *out, bool *found, struct vis_error *e), (comune, id, date, out, found, e)) \
	X(vis_err, family_members, (const char *comune, const char *id, int date, store_person_fn fn, void *ctx, struct vis_error *e), (comune, id, date, fn, ctx, e)) \
	X(vis_err, person_versions_at, (const char *cf, int date, store_person_fn fn, void *ctx, struct vis_error *e), (cf, date, fn, ctx, e)) \
	X(vis_err, person_search, (const struct store_search *q, store_person_fn fn, void *ctx, struct vis_error *e), (q, fn, ctx, e)) \
	X(vis_err, events_after, (int64_t after_rowid, const char *comuni, const char *types, int limit, store_feed_event_fn fn, void *ctx, struct vis_error *e), (after_rowid, comuni, types, limit, fn, ctx, e)) \
	X(vis_err, webhook_get, (int64_t convenzione_id, struct store_webhook *out, struct vis_error *e), (convenzione_id, out, e)) \
	X(vis_err, webhook_put, (const struct store_webhook *w, struct vis_error *e), (w, e)) \
	X(vis_err, access_last, (int64_t *id, char hash[65], struct vis_error *e), (id, hash, e)) \
	X(vis_err, access_insert, (const struct store_access *a, struct vis_error *e), (a, e)) \
	X(vis_err, access_each, (int64_t from_id, store_access_fn fn, void *ctx, struct vis_error *e), (from_id, fn, ctx, e)) \
	X(vis_err, access_search, (const struct store_access_filter *f, store_access_fn fn, void *ctx, struct vis_error *e), (f, fn, ctx, e)) \
	X(vis_err, access_purge, (int64_t up_to_id, int64_t *removed, struct vis_error *e), (up_to_id, removed, e)) \
	X(vis_err, control_purge, (const int64_t before[3], int64_t now, int64_t removed[3], struct vis_error *e), (before, now, removed, e)) \
	X(vis_err, subject_code_put, (const char *code_hash, const char *cf, int64_t created_by, int64_t now, int64_t expires_at, struct vis_error *e), (code_hash, cf, created_by, now, expires_at, e)) \
	X(vis_err, subject_code_use, (const char *code_hash, int64_t now, char cf[17], bool *ok, struct vis_error *e), (code_hash, now, cf, ok, e)) \
	X(vis_err, checkpoint_insert, (const struct store_checkpoint *c, struct vis_error *e), (c, e)) \
	X(vis_err, checkpoint_each, (store_checkpoint_fn fn, void *ctx, struct vis_error *e), (fn, ctx, e)) \
	X(vis_err, tree_put, (int level, int64_t idx, const char hash[65], struct vis_error *e), (level, idx, hash, e)) \
	X(vis_err, tree_get, (int level, int64_t idx, char hash[65], bool *found, struct vis_error *e), (level, idx, hash, found, e)) \
	X(vis_err, access_subject_each, (store_subject_row_fn fn, void *ctx, struct vis_error *e), (fn, ctx, e)) \
	X(vis_err, head_insert, (const struct store_head *h, struct vis_error *e), (h, e)) \
	X(vis_err, head_last, (struct store_head *out, bool *found, struct vis_error *e), (out, found, e)) \
	X(vis_err, head_each, (store_head_fn fn, void *ctx, struct vis_error *e), (fn, ctx, e)) \
	X(vis_err, access_get, (int64_t id, struct store_access *out, bool *found, struct vis_error *e), (id, out, found, e)) \
	X(vis_err, rec_insert, (enum store_kind k, const void *rec, int64_t *id, struct vis_error *e), (k, rec, id, e)) \
	X(vis_err, rec_update, (enum store_kind k, const void *rec, struct vis_error *e), (k, rec, e)) \
	X(vis_err, rec_get, (enum store_kind k, const char *col, const char *text, int64_t num, void *out, bool *found, struct vis_error *e), (k, col, text, num, out, found, e)) \
	X(vis_err, rec_list, (enum store_kind k, const struct store_filter *filters, int limit, store_rec_fn fn, void *ctx, struct vis_error *e), (k, filters, limit, fn, ctx, e)) \
	X(vis_err, account_totp_advance, (int64_t account_id, int64_t step, bool *advanced, struct vis_error *e), (account_id, step, advanced, e)) \
	X(vis_err, rec_delete, (enum store_kind k, int64_t id, struct vis_error *e), (k, id, e)) \
	X(vis_err, sessions_revoke_others, (int64_t account_id, int64_t keep_id, int64_t now, struct vis_error *e), (account_id, keep_id, now, e)) \
	X(vis_err, sessions_revoke_account, (int64_t account_id, int64_t now, struct vis_error *e), (account_id, now, e)) \
	X(vis_err, tokens_revoke_account, (int64_t account_id, int64_t now, struct vis_error *e), (account_id, now, e)) \
	X(vis_err, password_history, (int64_t account_id, char (*hashes)[128], int max, int *n, struct vis_error *e), (account_id, hashes, max, n, e)) \
	X(vis_err, password_history_add, (int64_t account_id, const char *hash, int64_t at, struct vis_error *e), (account_id, hash, at, e)) \
	X(vis_err, throttle_get, (const char *key, struct store_throttle *out, struct vis_error *e), (key, out, e)) \
	X(vis_err, throttle_put, (const char *key, const struct store_throttle *t, struct vis_error *e), (key, t, e)) \
	X(vis_err, setting_get, (const char *key, char *out, size_t cap, bool *found, struct vis_error *e), (key, out, cap, found, e)) \
	X(vis_err, state_lock, (const char *key, char *out, size_t cap, struct vis_error *e), (key, out, cap, e)) \
	X(vis_err, state_put, (const char *key, const char *value, int64_t now, struct vis_error *e), (key, value, now, e)) \
	X(vis_err, state_lock_n, (const char *const *keys, int n, char *out, size_t cap, struct vis_error *e), (keys, n, out, cap, e)) \
	X(vis_err, state_put_n, (const char *const *keys, const char *const *values, int n, int64_t now, struct vis_error *e), (keys, values, n, now, e)) \
	X(vis_err, setting_put, (const char *key, const char *value, struct vis_error *e), (key, value, e)) \
	X(vis_err, readiness_write, (int64_t now, const char *filler, struct vis_error *e), (now, filler, e))

struct sq_store;
struct pg_store;

#define STORE_SQ_DECLARE(ret, name, params, args) \
	ret sq_##name(struct sq_store *s, STORE_STRIP params);
#define STORE_PG_DECLARE(ret, name, params, args) \
	ret pg_##name(struct pg_store *s, STORE_STRIP params);

/* The operations store_copy() (visura migrate) is made of; internal to
 * src/store.  table names come from schema_tables, never from input.
 *   table_each    every row of a table, values as text (NULL for SQL NULL);
 *                 with_rowid: the insertion-order "rowid" too (see @ROWID)
 *   table_insert  one row (bulk: COPY on PostgreSQL) inside a transaction
 *   table_rows    how many rows a table holds
 *   table_clear   deletes every row of a table
 *   load_finish   after the inserts: the bulk load ended, the database's id
 *                 generators moved past the ids loaded */
typedef int (*store_row_fn)(void *ctx, int ncols, const char *const *names,
			    const char *const *values);
#define STORE_COPY_OPS(X) \
	X(vis_err, table_each, (const char *table, bool with_rowid, store_row_fn fn, void *ctx, struct vis_error *e), (table, with_rowid, fn, ctx, e)) \
	X(vis_err, table_insert, (const char *table, int ncols, const char *const *names, const char *const *values, struct vis_error *e), (table, ncols, names, values, e)) \
	X(vis_err, table_rows, (const char *table, int64_t *n, struct vis_error *e), (table, n, e)) \
	X(vis_err, table_clear, (const char *table, struct vis_error *e), (table, e)) \
	X(vis_err, load_finish, (struct vis_error *e), (e))
STORE_OPS(STORE_SQ_DECLARE)
STORE_OPS(STORE_PG_DECLARE)
STORE_COPY_OPS(STORE_SQ_DECLARE)
STORE_COPY_OPS(STORE_PG_DECLARE)

/* The operations outside the lists: opening (SQLite takes a path,
 * PostgreSQL a libpq conninfo), closing, the schema version in force and
 * the rollback that never fails. */
vis_err sq_open(const char *path, struct sq_store **out, struct vis_error *e);
void sq_close(struct sq_store *s);
int sq_schema_version(struct sq_store *s);
void sq_rollback(struct sq_store *s);
vis_err pg_open(const char *conninfo, struct pg_store **out, struct vis_error *e);
void pg_close(struct pg_store *s);
int pg_schema_version(struct pg_store *s);
void pg_rollback(struct pg_store *s);
/* "visura-DBNAME" (the conninfo's dbname, or "visura" when it names none). */
void pg_files_name(const char *conninfo, char *out, size_t cap);

#endif
