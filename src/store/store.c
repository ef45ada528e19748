/* The front of store.h: opens the driver (store/driver.h) a URI names;
 * the operations, written once over it, are in ops_*.c.  Also the copy of
 * a whole database (visura migrate). */
#include "store/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/schema.h"
#include "common/str.h"

struct store {
	struct drv *d;
	struct drv *sd;                    /* the companion database, or NULL */
	const struct drv_copy_ops *copy;   /* the driver's table operations */
	bool shared;                       /* PostgreSQL: other instances may use it */
	bool register_empty;               /* see store_register_empty() */
	bool snapshot;                     /* the transaction open is store_begin_snapshot's */
	struct store_cache *cache;         /* the process's control records, or NULL */
	bool fresh;                        /* store_cache_fresh() was called */
	bool gen_known;                    /* the generation was read since */
	int64_t gen;
};

void store_cache_attach(struct store *s, struct store_cache *c)
{
	s->cache = c;
	s->fresh = s->gen_known = false;
}

void store_cache_fresh(struct store *s)
{
	s->fresh = s->cache != NULL;
	s->gen_known = false;
}

struct store_cache *store_cache_of(struct store *s)
{
	return s->cache;
}

bool store_gen_get(struct store *s, bool *fresh, int64_t *gen)
{
	*fresh = s->fresh;
	*gen = s->gen;
	return s->gen_known;
}

void store_gen_set(struct store *s, bool known, int64_t gen)
{
	s->gen_known = known;
	s->gen = gen;
}

struct drv *store_drv(struct store *s)
{
	return s->d;
}

struct drv *store_shared_drv(struct store *s)
{
	return s->sd ? s->sd : s->d;
}

void store_register_empty_set(struct store *s, bool empty)
{
	s->register_empty = empty;
}

bool store_register_empty(const struct store *s)
{
	return s->register_empty;
}

/* The PostgreSQL conninfo of a URI ("postgres:CONNINFO" or
 * "postgresql:CONNINFO"), NULL for any other URI. */
const char *store_pg_conninfo(const char *uri)
{
	/* libpq takes its own URIs as they are. */
	if (!strncmp(uri, "postgres://", 11) || !strncmp(uri, "postgresql://", 13))
		return uri;
	if (!strncmp(uri, "postgres:", 9))
		return uri + 9;
	if (!strncmp(uri, "postgresql:", 11))
		return uri + 11;
	return NULL;
}

vis_err store_open(const char *uri, struct store **out, struct vis_error *e)
{
	struct store *s = calloc(1, sizeof *s);
	if (!s)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	const char *conninfo = store_pg_conninfo(uri);
	vis_err rc;
	if (conninfo) {
		rc = drv_pg_open(conninfo, &s->d, e);
		s->copy = &drv_pg_copy_ops;
		s->shared = true;
	} else {
		const char *path = !strncmp(uri, "sqlite:", 7) ? uri + 7 : uri;
		rc = *path ? drv_sqlite_open(path, &s->d, e)
			   : vis_error_set(e, VIS_ERR_INVALID, "percorso del database vuoto");
		s->copy = &drv_sqlite_copy_ops;
	}
	if (rc != VIS_OK) {
		free(s);
		return rc;
	}
	*out = s;
	return VIS_OK;
}

static vis_err too_long(const char *suffix, size_t cap, struct vis_error *e)
{
	return vis_error_set(e, VIS_ERR_LIMIT,
			     "percorso troppo lungo: il file della base dati \"…%s\" supererebbe "
			     "%zu byte; dare alla base dati (o a VISURA_STATE_DIR) un percorso più "
			     "corto", suffix, cap - 1);
}

vis_err store_files_prefix(const char *uri, char *out, size_t cap, struct vis_error *e)
{
	return store_files_path(uri, NULL, "", out, cap, e);
}

vis_err store_files_path(const char *uri, const char *configured, const char *suffix, char *out,
			 size_t cap, struct vis_error *e)
{
	if (configured && *configured)
		return str_set(out, cap, configured, "percorso troppo lungo", e);
	const char *conninfo = store_pg_conninfo(uri);
	bool fits;
	if (!conninfo) {
		fits = str_fmt(out, cap, "%s%s", !strncmp(uri, "sqlite:", 7) ? uri + 7 : uri,
			       suffix);
	} else {
		char name[128];
		const char *dir = getenv("VISURA_STATE_DIR");
		drv_pg_files_name(conninfo, name, sizeof name);
		fits = dir && *dir ? str_fmt(out, cap, "%s/%s%s", dir, name, suffix)
				   : str_fmt(out, cap, "%s%s", name, suffix);
	}
	return fits ? VIS_OK : too_long(suffix, cap, e);
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->sd)
		drv_close(s->sd);
	drv_close(s->d);
	free(s);
}

int store_schema_latest(void)
{
	return schema_migrations[schema_migration_count - 1].version;
}

int store_schema_version(struct store *s)
{
	return drv_schema_version(s->d);
}

void store_io_get(struct store *s, struct store_io *out)
{
	out->statements = s->d->statements + (s->sd ? s->sd->statements : 0);
	out->round_trips = s->d->round_trips + (s->sd ? s->sd->round_trips : 0);
}

bool store_shared(struct store *s)
{
	return s->shared;
}

vis_err store_shared_open(struct store *s, const char *uri, struct vis_error *e)
{
	if (!uri || !*uri)
		return VIS_OK;
	const char *conninfo = store_pg_conninfo(uri);
	if (!s->shared || !conninfo)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "shared_db: un database PostgreSQL (postgres:CONNINFO) accanto a "
				     "un db PostgreSQL");
	if (s->sd)
		return vis_error_set(e, VIS_ERR_INTERNAL, "shared_db: già aperto");
	return drv_pg_open_shared(conninfo, &s->sd, e);
}

vis_err store_shared_vacuum(struct store *s, struct vis_error *e)
{
	if (!s->sd)
		return VIS_OK;
	struct drv_stmt *st = drv_prepare(s->sd, SQL_SHARED_VACUUM,
					  "pulizia dello stato condiviso", e);
	return st ? drv_done(st, e) : VIS_ERR_STORE;
}

vis_err store_shared_begin(struct store *s, struct vis_error *e)
{
	return s->sd ? drv_begin(s->sd, e) : store_begin(s, e);
}

vis_err store_shared_commit(struct store *s, struct vis_error *e)
{
	return s->sd ? drv_commit(s->sd, e) : store_commit(s, e);
}

void store_shared_rollback(struct store *s)
{
	if (s->sd)
		drv_rollback(s->sd);
	else
		store_rollback(s);
}

vis_err store_begin(struct store *s, struct vis_error *e)
{
	vis_err rc = drv_begin(s->d, e);
	if (!rc)
		s->snapshot = false;   /* a write transaction, begun by an operation too */
	return rc;
}

vis_err store_commit(struct store *s, struct vis_error *e)
{
	s->register_empty = s->snapshot = false;
	return drv_commit(s->d, e);
}

void store_rollback(struct store *s)
{
	s->register_empty = s->snapshot = false;
	drv_rollback(s->d);
}

enum store_wait store_wait(struct store *s, enum store_wait mode)
{
	return drv_wait(s->d, mode);
}

void store_read_begin(struct store *s)
{
	drv_read_begin(s->d);
}

void store_read_end(struct store *s)
{
	drv_read_end(s->d);
}

vis_err store_begin_snapshot(struct store *s, struct vis_error *e)
{
	vis_err rc = drv_begin_snapshot(s->d, e);
	if (!rc)
		s->snapshot = true;
	return rc;
}

vis_err store_snapshot_join(struct store *s, bool *began, struct vis_error *e)
{
	*began = false;
	if (drv_in_txn(s->d))
		return s->snapshot ? VIS_OK
				   : vis_error_set(e, VIS_ERR_INTERNAL,
						   "un'istantanea dentro una transazione che non "
						   "lo è");
	if (store_begin_snapshot(s, e))
		return VIS_ERR_STORE;
	*began = true;
	return VIS_OK;
}

void store_snapshot_leave(struct store *s, bool began)
{
	if (began)
		store_rollback(s);
}

vis_err store_begin_trail(struct store *s, struct vis_error *e)
{
	vis_err rc = drv_begin_trail(s->d, e);
	if (!rc)
		s->snapshot = false;
	return rc;
}

/* The copy operations of the store's driver (internal to this file). */
#define front_table_each(s, ...) (s)->copy->table_each((s)->d, __VA_ARGS__)
#define front_table_insert(s, ...) (s)->copy->table_insert((s)->d, __VA_ARGS__)
#define front_table_rows(s, ...) (s)->copy->table_rows((s)->d, __VA_ARGS__)
#define front_table_clear(s, ...) (s)->copy->table_clear((s)->d, __VA_ARGS__)
#define front_load_finish(s, ...) (s)->copy->load_finish((s)->d, __VA_ARGS__)

struct copy_ctx {
	struct store *to;
	const char *table;
	int64_t rows;
	struct vis_error *e;
	vis_err rc;
};

static int copy_row(void *ctx, int ncols, const char *const *names, const char *const *values)
{
	struct copy_ctx *c = ctx;
	c->rc = front_table_insert(c->to, c->table, ncols, names, values, c->e);
	c->rows++;
	return c->rc != VIS_OK;
}

/* Every table of `to` but the rows its migrations seed (processing) is
 * empty. */
static vis_err copy_target_empty(struct store *to, struct vis_error *e)
{
	for (int i = 0; i < schema_table_count; i++) {
		int64_t n;
		if (!strcmp(schema_tables[i].name, "processing"))
			continue;
		if (front_table_rows(to, schema_tables[i].name, &n, e))
			return VIS_ERR_STORE;
		if (n)
			return vis_error_set(e, VIS_ERR_CONFLICT,
					     "la destinazione contiene già dati (tabella %s: %lld "
					     "righe)",
					     schema_tables[i].name, (long long)n);
	}
	return VIS_OK;
}

vis_err store_copy(struct store *from, struct store *to, store_copy_fn progress, void *ctx,
		   struct vis_error *e)
{
	if (store_schema_version(from) != store_schema_version(to))
		return vis_error_set(e, VIS_ERR_CONFLICT, "le versioni dello schema sono diverse: "
							  "%d e %d",
				     store_schema_version(from), store_schema_version(to));
	if (copy_target_empty(to, e))
		return e && e->code ? e->code : VIS_ERR_STORE;
	/* The source's transaction gives one consistent picture (and, on
	 * SQLite, keeps writers out while it is read). */
	if (store_begin(from, e))
		return VIS_ERR_STORE;
	if (store_begin(to, e)) {
		store_rollback(from);
		return VIS_ERR_STORE;
	}
	vis_err rc = front_table_clear(to, "processing", e);
	for (int i = 0; rc == VIS_OK && i < schema_table_count; i++) {
		struct copy_ctx c = {to, schema_tables[i].name, 0, e, VIS_OK};
		rc = front_table_each(from, c.table, schema_tables[i].rowid, copy_row, &c, e);
		if (rc == VIS_OK)
			rc = c.rc;
		if (rc == VIS_OK && progress)
			progress(ctx, c.table, c.rows);
	}
	if (rc == VIS_OK)
		rc = front_load_finish(to, e);
	/* PostgreSQL: the planner's statistics of what was loaded, which
	 * autovacuum would take only at its next pass (store_import_finish). */
	struct drv_stmt *st;
	if (rc == VIS_OK && to->shared)
		rc = (st = drv_prepare(to->d, SQL_DATABASE_ANALYZE,
				       "statistiche", e)) ? drv_done(st, e)
										 : VIS_ERR_STORE;
	if (rc == VIS_OK)
		rc = store_commit(to, e);
	else
		store_rollback(to);
	store_rollback(from);
	for (int i = 0; rc == VIS_OK && i < schema_table_count; i++) {
		int64_t a, b;
		const char *t = schema_tables[i].name;
		if ((rc = front_table_rows(from, t, &a, e)) || (rc = front_table_rows(to, t, &b, e)))
			break;
		if (a != b)
			rc = vis_error_set(e, VIS_ERR_INTERNAL, "tabella %s: %lld righe copiate su "
								"%lld",
					   t, (long long)b, (long long)a);
	}
	return rc;
}

const char *store_sqlite_path(const char *uri)
{
	return !strncmp(uri, "sqlite:", 7) ? uri + 7 : uri;
}

vis_err store_snapshot(struct store *s, const char *dst, const char *dst_trail,
		       struct vis_error *e)
{
	if (s->shared)
		return vis_error_set(e, VIS_ERR_INVALID, "non è un database SQLite");
	return drv_sqlite_snapshot(s->d, dst, dst_trail, e);
}

vis_err store_probe(const char *uri, struct store_probe *p, struct vis_error *e)
{
	const char *conninfo = store_pg_conninfo(uri);
	if (conninfo)
		return drv_pg_probe(conninfo, &p->version, &p->live, e);
	return drv_sqlite_probe(store_sqlite_path(uri), &p->version, &p->live, e);
}

vis_err store_file_check(const char *path, const char *trail, int *version, char *why,
			 size_t cap, struct vis_error *e)
{
	return drv_sqlite_file_check(path, trail, version, why, cap, e);
}

void store_schema_pending(int from, void (*fn)(void *ctx, int version, const char *name),
			  void *ctx)
{
	for (int i = 0; i < schema_migration_count; i++)
		if (schema_migrations[i].version > from)
			fn(ctx, schema_migrations[i].version, schema_migrations[i].name);
}
