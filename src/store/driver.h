/* driver — the few verbs a database back end implements (internal to
 * src/store), after SQLite's VFS: every operation of store.h is written
 * once above them (ops_*.c), over the SQL of store/sql.h.
 *
 * Owns: the seam between the store's operations and a database.  Two
 * drivers implement it: driver_sqlite.c (one file, WAL, PRAGMAs, the bulk
 * tricks of a first load) and driver_pg.c (libpq; COPY, advisory locks,
 * pipelined writes, reconnection).  What only one database needs stays in
 * its driver: opening and migrating the schema, the transaction
 * statements, locks, bulk loads and the table operations of store_copy().
 *
 * A statement's life: drv_prepare() (cached per connection: the statement
 * of a sql.c id, or of a text built at run time), drv_bind_*() (parameters
 * numbered from 1, as ?N in the text), drv_step() until it says done (on
 * PostgreSQL the first step runs the statement and the later ones walk its
 * rows), drv_col_*() on a row, and drv_reset(), which ends the use and
 * must always follow.  A statement already in use (a callback running
 * another operation inside an iteration) is prepared afresh, so uses may
 * nest.  Text bound is borrowed until the statement is stepped (or, for
 * drv_send and drv_load, until they return); a column's text is valid
 * until the next step or the reset. */
#ifndef VISURA_STORE_DRIVER_H
#define VISURA_STORE_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/stop.h"
#include "store/sql.h"
#include "store/store.h" /* enum store_wait */

struct drv;
struct drv_stmt;

/* The locks of a transaction: one writer at a time appends to the trail
 * (after the head it read), one import at a time writes (event row ids,
 * the feed's cursor, grow in commit order).  SQLite's transactions begin
 * holding the write lock of their file (drv_begin: the database's,
 * drv_begin_trail: the trail's); PostgreSQL takes a transaction-scoped
 * advisory lock, shared by every instance. */
enum drv_lock { DRV_LOCK_TRAIL, DRV_LOCK_IMPORT };

/* The most parameters a statement may have (?1..?DRV_MAX_PARAMS). */
#define DRV_MAX_PARAMS 64

/* What drv_step() found. */
enum drv_step { DRV_ERROR = -1, DRV_DONE = 0, DRV_ROW = 1 };

struct drv_ops {
	void (*close)(struct drv *d);
	int (*schema_version)(struct drv *d);
	vis_err (*begin)(struct drv *d, struct vis_error *e);
	vis_err (*begin_trail)(struct drv *d, struct vis_error *e);
	enum store_wait (*wait)(struct drv *d, enum store_wait mode);
	vis_err (*commit)(struct drv *d, struct vis_error *e);
	void (*rollback)(struct drv *d);
	bool (*in_txn)(struct drv *d);
	void (*read_begin)(struct drv *d);
	void (*read_end)(struct drv *d);
	vis_err (*begin_snapshot)(struct drv *d, struct vis_error *e);
	vis_err (*lock)(struct drv *d, enum drv_lock which, struct vis_error *e);
	/* Statements without parameters (several, separated by ';'). */
	vis_err (*exec)(struct drv *d, const char *sql, struct vis_error *e);
	/* id: a statement of store_sql (sql NULL), or -1 and the text. */
	struct drv_stmt *(*prepare)(struct drv *d, int id, const char *sql, struct vis_error *e);
	void (*bind_text)(struct drv_stmt *st, int i, const char *v, size_t n);
	void (*bind_i64)(struct drv_stmt *st, int i, int64_t v);
	void (*bind_null)(struct drv_stmt *st, int i);
	enum drv_step (*step)(struct drv_stmt *st, struct vis_error *e);
	vis_err (*send)(struct drv_stmt *st, struct vis_error *e);
	vis_err (*load)(struct drv_stmt *st, struct vis_error *e);
	int64_t (*changes)(struct drv_stmt *st);
	const char *(*col_text)(struct drv_stmt *st, int c, size_t *len);
	int64_t (*col_i64)(struct drv_stmt *st, int c);
	bool (*col_null)(struct drv_stmt *st, int c);
	void (*reset)(struct drv_stmt *st);
	vis_err (*batch)(struct drv *d, enum sql_id id, const char *what, int n,
			 void (*bind)(void *ctx, int i, struct drv_stmt *st),
			 vis_err (*take)(void *ctx, int i, struct drv_stmt *st, struct vis_error *e),
			 void *ctx, struct vis_error *e);
	/* Bulk loads: see drv_load_begin. */
	vis_err (*load_begin)(struct drv *d, bool first, struct vis_error *e);
	vis_err (*load_end)(struct drv *d, const struct stop_ask *stop, struct vis_error *e);
};

/* The drv_ops of a driver whose verbs are named P_prepare, P_step, ...
 * (and P_drv_close, P_drv_begin, ... for the connection's). */
#define DRV_OPS_OF(P)                                                          \
	{                                                                      \
		.close = P##_drv_close, .schema_version = P##_drv_schema_version, \
		.begin = P##_drv_begin, .commit = P##_drv_commit,              \
		.begin_trail = P##_drv_begin_trail, .wait = P##_wait,          \
		.rollback = P##_drv_rollback, .in_txn = P##_in_txn, .lock = P##_lock, \
		.read_begin = P##_read_begin, .read_end = P##_read_end,        \
		.begin_snapshot = P##_begin_snapshot,                          \
		.exec = P##_exec, .prepare = P##_prepare, .bind_text = P##_bind_text, \
		.bind_i64 = P##_bind_i64, .bind_null = P##_bind_null, .step = P##_step, \
		.send = P##_send, .load = P##_load, .changes = P##_changes,    \
		.col_text = P##_col_text, .col_i64 = P##_col_i64, .col_null = P##_col_null, \
		.reset = P##_reset, .batch = P##_batch, .load_begin = P##_load_begin, \
		.load_end = P##_load_end,                                      \
	}

/* A connection: each driver's own struct starts with this.  The counts
 * (store_io_get) are kept by the driver: statements run (each execution
 * of a statement, and the transaction statements), and round trips, the
 * times the calling thread waited for the database server (PostgreSQL:
 * a statement run, a statement prepared, a pipeline's results; SQLite has
 * no server: none). */
struct drv {
	const struct drv_ops *ops;
	uint64_t statements;
	uint64_t round_trips;
};

/* A statement: each driver's own struct starts with this. */
struct drv_stmt {
	struct drv *d;
	const char *what;      /* what it does, for error messages */
	vis_err err;           /* the code of the last failed step */
	int bad_param;         /* a value the back end could not take (out of
				* range, out of memory): its number; the next
				* step fails instead of running without it */
};

/* Opening: SQLite takes a file path, PostgreSQL a libpq conninfo.  Both
 * bring the schema to the latest migration. */
vis_err drv_sqlite_open(const char *path, struct drv **out, struct vis_error *e);
vis_err drv_pg_open(const char *conninfo, struct drv **out, struct vis_error *e);
/* The companion database of store_shared_open: only the shared state's
 * tables, by their migrations (schema_shared_migrations). */
vis_err drv_pg_open_shared(const char *conninfo, struct drv **out, struct vis_error *e);
/* "visura-DBNAME" (the conninfo's dbname, or "visura" when it names none). */
void drv_pg_files_name(const char *conninfo, char *out, size_t cap);

/* Backups (store_snapshot, store_probe, store_file_check): SQLite's online
 * backup of both files in one read transaction; what a database holds and
 * whether a server has it open, without migrating it; the integrity check
 * of a copy. */
vis_err drv_sqlite_snapshot(struct drv *d, const char *dst, const char *dst_trail,
			    struct vis_error *e);
vis_err drv_sqlite_probe(const char *path, int *version, bool *live, struct vis_error *e);
vis_err drv_pg_probe(const char *conninfo, int *version, bool *live, struct vis_error *e);
vis_err drv_sqlite_file_check(const char *path, const char *trail, int *version, char *why,
			      size_t cap, struct vis_error *e);

/* The operations of store_copy() (visura migrate), each driver's own:
 *   table_each    every row of a table, values as text (NULL for SQL NULL);
 *                 with_rowid: the insertion-order "rowid" too (see @ROWID)
 *   table_insert  one row (bulk: COPY on PostgreSQL) inside a transaction
 *   table_rows    how many rows a table holds
 *   table_clear   deletes every row of a table
 *   load_finish   after the inserts: the bulk load ended, the database's id
 *                 generators moved past the ids loaded
 * table names come from schema_tables, never from input. */
typedef int (*store_row_fn)(void *ctx, int ncols, const char *const *names,
			    const char *const *values);
struct drv_copy_ops {
	vis_err (*table_each)(struct drv *d, const char *table, bool with_rowid, store_row_fn fn,
			      void *ctx, struct vis_error *e);
	vis_err (*table_insert)(struct drv *d, const char *table, int ncols,
				const char *const *names, const char *const *values,
				struct vis_error *e);
	vis_err (*table_rows)(struct drv *d, const char *table, int64_t *n, struct vis_error *e);
	vis_err (*table_clear)(struct drv *d, const char *table, struct vis_error *e);
	vis_err (*load_finish)(struct drv *d, struct vis_error *e);
};
extern const struct drv_copy_ops drv_sqlite_copy_ops, drv_pg_copy_ops;

static inline void drv_close(struct drv *d)
{
	if (d)
		d->ops->close(d);
}

static inline int drv_schema_version(struct drv *d)
{
	return d->ops->schema_version(d);
}

/* SQLite: the database file's write lock at once (not the trail's).
 * PostgreSQL: the BEGIN goes with the transaction's first statement, in
 * its round trip, and statements sent without waiting (drv_send, locks)
 * go with the next one run, or with the COMMIT. */
static inline vis_err drv_begin(struct drv *d, struct vis_error *e)
{
	return d->ops->begin(d, e);
}

/* A transaction that writes the access trail only (store_begin_trail):
 * SQLite: the trail file's write lock at once; PostgreSQL: drv_begin. */
static inline vis_err drv_begin_trail(struct drv *d, struct vis_error *e)
{
	return d->ops->begin_trail(d, e);
}

/* store_wait: how long a write waits for another writer (SQLite). */
static inline enum store_wait drv_wait(struct drv *d, enum store_wait mode)
{
	return d->ops->wait(d, mode);
}

static inline vis_err drv_commit(struct drv *d, struct vis_error *e)
{
	return d->ops->commit(d, e);
}

/* Never fails; a no-op outside a transaction. */
static inline void drv_rollback(struct drv *d)
{
	d->ops->rollback(d);
}

static inline bool drv_in_txn(struct drv *d)
{
	return d->ops->in_txn(d);
}

/* store_read_begin/store_read_end: SQLite, one read transaction for the
 * reads in between (outside a transaction; a no-op inside one);
 * PostgreSQL, nothing (each statement its own snapshot: a BEGIN would
 * cost a round trip). */
static inline void drv_read_begin(struct drv *d)
{
	d->ops->read_begin(d);
}

static inline void drv_read_end(struct drv *d)
{
	d->ops->read_end(d);
}

/* store_begin_snapshot: a read-only transaction whose every statement
 * sees one snapshot (SQLite: a deferred BEGIN; PostgreSQL: REPEATABLE
 * READ, READ ONLY), ended by drv_commit or drv_rollback. */
static inline vis_err drv_begin_snapshot(struct drv *d, struct vis_error *e)
{
	return d->ops->begin_snapshot(d, e);
}

/* Inside a transaction: waits for the lock, held until the transaction
 * ends. */
static inline vis_err drv_lock(struct drv *d, enum drv_lock which, struct vis_error *e)
{
	return d->ops->lock(d, which, e);
}

static inline vis_err drv_exec(struct drv *d, const char *sql, struct vis_error *e)
{
	return d->ops->exec(d, sql, e);
}

/* The statement `id` of store_sql, ready to bind; NULL (e set) when it
 * cannot be prepared.  what names it in error messages. */
static inline struct drv_stmt *drv_prepare(struct drv *d, enum sql_id id, const char *what,
					   struct vis_error *e)
{
	struct drv_stmt *st = d->ops->prepare(d, (int)id, NULL, e);
	if (st) {
		st->what = what;
		st->bad_param = 0;
	}
	return st;
}

/* The same for a statement built at run time (?N parameters). */
static inline struct drv_stmt *drv_prepare_sql(struct drv *d, const char *sql,
					       const char *what, struct vis_error *e)
{
	struct drv_stmt *st = d->ops->prepare(d, -1, sql, e);
	if (st) {
		st->what = what;
		st->bad_param = 0;
	}
	return st;
}

static inline void drv_bind_text(struct drv_stmt *st, int i, const char *v)
{
	st->d->ops->bind_text(st, i, v, (size_t)-1);
}

/* The first n bytes of v. */
static inline void drv_bind_textn(struct drv_stmt *st, int i, const char *v, size_t n)
{
	st->d->ops->bind_text(st, i, v, n);
}

static inline void drv_bind_i64(struct drv_stmt *st, int i, int64_t v)
{
	st->d->ops->bind_i64(st, i, v);
}

static inline void drv_bind_null(struct drv_stmt *st, int i)
{
	st->d->ops->bind_null(st, i);
}

/* Text, or NULL when it is empty. */
static inline void drv_bind_opt(struct drv_stmt *st, int i, const char *v)
{
	if (*v)
		drv_bind_text(st, i, v);
	else
		drv_bind_null(st, i);
}

/* The next row: DRV_ROW, DRV_DONE, or DRV_ERROR with e set (a constraint
 * violation as VIS_ERR_CONFLICT). */
/* A statement a value could not be bound to is never run. */
static inline vis_err drv_bound(struct drv_stmt *st, struct vis_error *e)
{
	if (!st->bad_param)
		return VIS_OK;
	st->err = VIS_ERR_INTERNAL;
	return vis_error_set(e, VIS_ERR_INTERNAL, "%s: il parametro %d non è stato legato",
			     st->what ? st->what : "istruzione", st->bad_param);
}

static inline enum drv_step drv_step(struct drv_stmt *st, struct vis_error *e)
{
	if (drv_bound(st, e))
		return DRV_ERROR;
	return st->d->ops->step(st, e);
}

/* Runs a statement whose rows are not needed.  Inside a transaction,
 * PostgreSQL may pipeline it: a failure then shows at the next statement
 * run otherwise, or at the commit, which fails as a whole.  The statement
 * is reset. */
static inline vis_err drv_send(struct drv_stmt *st, struct vis_error *e)
{
	return drv_bound(st, e) ? VIS_ERR_INTERNAL : st->d->ops->send(st, e);
}

/* One row of a bulk load between drv_load_begin and drv_load_end: st is
 * "INSERT INTO t (c1, ..., cn) VALUES (?1, ..., ?n)".  SQLite runs it;
 * PostgreSQL sends the row in a COPY t (c1, ..., cn), whose rows the
 * server checks when the COPY ends (at the next other statement or
 * drv_load_end).  The statement is reset. */
static inline vis_err drv_load(struct drv_stmt *st, struct vis_error *e)
{
	return drv_bound(st, e) ? VIS_ERR_INTERNAL : st->d->ops->load(st, e);
}

/* Rows inserted, updated or deleted by the statement just run (before its
 * reset). */
static inline int64_t drv_changes(struct drv_stmt *st)
{
	return st->d->ops->changes(st);
}

/* A column of the current row: text ("" for NULL), its length. */
static inline const char *drv_col_text(struct drv_stmt *st, int c)
{
	return st->d->ops->col_text(st, c, NULL);
}

static inline size_t drv_col_bytes(struct drv_stmt *st, int c)
{
	size_t n = 0;
	st->d->ops->col_text(st, c, &n);
	return n;
}

static inline int64_t drv_col_i64(struct drv_stmt *st, int c)
{
	return st->d->ops->col_i64(st, c);
}

static inline int drv_col_int(struct drv_stmt *st, int c)
{
	return (int)st->d->ops->col_i64(st, c);
}

static inline bool drv_col_null(struct drv_stmt *st, int c)
{
	return st->d->ops->col_null(st, c);
}

static inline void drv_reset(struct drv_stmt *st)
{
	st->bad_param = 0;
	st->d->ops->reset(st);
}

/* Runs statement id n times, in one round trip where the database allows
 * it (PostgreSQL: a pipeline): bind(ctx, i, st) binds the i-th run, and
 * take(ctx, i, st, e) reads its rows with drv_step and ends it with
 * drv_reset or drv_done.  The first failure is returned. */
static inline vis_err drv_batch(struct drv *d, enum sql_id id, const char *what, int n,
				void (*bind)(void *ctx, int i, struct drv_stmt *st),
				vis_err (*take)(void *ctx, int i, struct drv_stmt *st,
						struct vis_error *e),
				void *ctx, struct vis_error *e)
{
	return d->ops->batch(d, id, what, n, bind, take, ctx, e);
}

/* Opens the transaction of a load into the register, under the import
 * lock.  first: a FULL snapshot into empty tables, every row new (SQLite
 * then drops the register's indexes, to build them once at the end, and
 * pauses foreign keys until the transaction ends; the importer has checked
 * every reference of the file). */
static inline vis_err drv_load_begin(struct drv *d, bool first, struct vis_error *e)
{
	return d->ops->load_begin(d, first, e);
}

/* The load's rows are written (PostgreSQL: the COPY ended; SQLite: the
 * indexes dropped are built); the transaction stays open.  stop (NULL:
 * none) is asked now and then while SQLite builds the indexes (seconds at
 * a million persons): true interrupts the build, which fails (the caller
 * rolls back).  PostgreSQL's COPY end is not interrupted. */
static inline vis_err drv_load_end(struct drv *d, const struct stop_ask *stop,
				   struct vis_error *e)
{
	return d->ops->load_end(d, stop, e);
}

/* Helpers written once over the verbs (driver.c). */

/* Copies column c into dst (cap bytes): the columns read this way were
 * written from fields of the same size, so a longer value is a bug (logged,
 * cut at a character boundary). */
void drv_col_copy(struct drv_stmt *st, int c, char *dst, size_t cap);
#define DRV_COL_COPY(st, c, arr) drv_col_copy((st), (c), (arr), sizeof(arr))

/* A write the database refused for an integrity constraint (a duplicate,
 * a reference to a missing row): VIS_ERR_CONFLICT with an Italian message
 * that may reach a client; the database's own text (English, naming
 * tables and constraints) goes to the log only. */
vis_err drv_conflict(struct vis_error *e, const char *what, const char *db_text);
#define DRV_CONFLICT_MESSAGE \
	"il dato contrasta con uno già registrato (un duplicato, o un riferimento a un dato " \
	"che non esiste)"

/* Steps a statement that returns no row to its end and resets it. */
vis_err drv_done(struct drv_stmt *st, struct vis_error *e);
/* The same, and *changed (when not NULL) the rows it changed. */
vis_err drv_done_changes(struct drv_stmt *st, int64_t *changed, struct vis_error *e);

/* Steps a statement of at most one row: *found tells whether it had one,
 * left for the caller to read before drv_reset (on failure the statement
 * is reset already and e set). */
vis_err drv_one(struct drv_stmt *st, bool *found, struct vis_error *e);

#endif
