/* The SQLite driver of store/driver.h: the register and control data in
 * the database file, the access trail (schema_trail_tables) in a second
 * file beside it, PATH.trail, attached as "trail" so that the statements of
 * sql.c name its tables unqualified; WAL, foreign keys on, every statement
 * prepared once and reused; transactions that lock one file, the bulk
 * tricks of a first load, and the table operations of store_copy().  The
 * trail has its own write lock: its records commit while an import holds
 * the register's. */
#include "store/driver.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/fsmode.h"
#include "common/monotime.h"
#include "store/store.h"
#include "store/schema.h"
#include "store/sql.h"
#include "common/str.h"

/* SQLite's own transaction statements. */
enum { ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_MAIN_LOCK, ST_TRAIL_LOCK, ST__COUNT };
/* BEGIN IMMEDIATE would take the write lock of every attached file: a
 * transaction begins deferred and takes the lock of one file with its
 * first statement, a write that changes nothing (the database file's for
 * drv_begin, the trail's for drv_begin_trail).  A transaction of the
 * database file that writes the trail too (store_copy into a new database)
 * takes the trail's lock when it first writes there. */
static const char *const txn_sql[] = {"BEGIN", "COMMIT", "ROLLBACK",
				      "DELETE FROM main.schema_migrations WHERE 0",
				      "DELETE FROM trail.readiness WHERE 0"};

struct sq_stmt;

#define SQ_TEXT_CACHE 256

struct sq_store {
	struct drv base;         /* first: the driver of store/driver.h */
	sqlite3 *db;
	struct sq_stmt *by_id[SQL__COUNT];       /* the driver's statements */
	struct sq_stmt *by_text[SQ_TEXT_CACHE];
	int ntext;
	sqlite3_stmt *stmt[ST__COUNT];   /* the transaction statements */
	int schema_version;
	bool indexes_dropped;    /* bulk load in progress: rebuild at finish */
	const struct stop_ask *load_stop; /* sq_load_end's, while it builds the indexes */
	bool fk_paused;          /* foreign keys off until the transaction ends */
	bool reading;            /* in the read transaction of sq_read_begin */
	enum store_wait wait;    /* store_wait: how long a write waits (sq_busy) */
	bool writing;            /* the statement being stepped writes */
	sqlite3_stmt *load;      /* store_copy: the INSERT of load_table */
	char load_table[64];
};

static const struct drv_ops sq_drv_ops;
static void sq_stmt_free(struct sq_stmt *st);
static void sq_close(struct sq_store *s);

static vis_err db_error(struct sq_store *s, struct vis_error *e, const char *what)
{
	if (sqlite3_errcode(s->db) == SQLITE_BUSY)
		return vis_error_set(e, VIS_ERR_BUSY, "%s: la base dati è occupata da un'altra "
				     "scrittura (un'importazione?): riprovare tra poco", what);
	return vis_error_set(e, VIS_ERR_STORE, "%s: %s", what, sqlite3_errmsg(s->db));
}

/* ---- waiting for another connection's write lock (store_wait) ----
 * When a write of a STORE_WAIT_BRIEF connection of this process last gave
 * up (CLOCK_MONOTONIC seconds; 0: none since the last write that
 * committed). */
static _Atomic int64_t brief_gave_up;

static int64_t mono_seconds(void)
{
	return monotime_s() + 1; /* never 0 */
}

/* SQLite's busy handler: called while another connection holds a lock the
 * statement needs, count the calls so far in this wait; 1 to wait on, 0 to
 * give up (the statement fails with SQLITE_BUSY).  The pauses of SQLite's
 * own sqlite3_busy_timeout, up to the mode's limit. */
static int sq_busy(void *ctx, int count)
{
	static const int pause[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100};
	static const int before[] = {0, 1, 3, 8, 18, 33, 53, 78, 103, 128, 178, 228};
	enum { NPAUSE = sizeof pause / sizeof pause[0] };
	struct sq_store *s = ctx;
	bool brief = s->wait == STORE_WAIT_BRIEF && s->writing;
	if (s->wait == STORE_WAIT_NONE)
		return 0;
	if (brief) {
		int64_t last = atomic_load(&brief_gave_up), now = mono_seconds();
		if (last && now - last < STORE_WAIT_BRIEF_HOLD_S) {
			atomic_store(&brief_gave_up, now); /* still held: refused at once */
			return 0;
		}
	}
	int limit = brief ? STORE_WAIT_BRIEF_MS : 10000;
	int ms = count < NPAUSE ? pause[count] : pause[NPAUSE - 1];
	int waited = count < NPAUSE ? before[count]
				    : before[NPAUSE - 1] + pause[NPAUSE - 1] * (count - (NPAUSE - 1));
	if (waited + ms > limit)
		ms = limit - waited;
	if (ms <= 0) {
		if (brief)
			atomic_store(&brief_gave_up, mono_seconds());
		return 0;
	}
	sqlite3_sleep(ms);
	return 1;
}

/* Before a statement's step: whether it writes (sq_busy's limit). */
static void step_begins(struct sq_store *s, sqlite3_stmt *st)
{
	s->writing = !sqlite3_stmt_readonly(st);
}

/* After it: a write of a brief connection went through, so no other holds
 * the lock now. */
static void step_ends(struct sq_store *s, int rc)
{
	if (s->writing && s->wait == STORE_WAIT_BRIEF && rc != SQLITE_BUSY &&
	    atomic_load(&brief_gave_up))
		atomic_store(&brief_gave_up, 0);
	s->writing = false;
}

static sqlite3_stmt *stmt_get(struct sq_store *s, int id, struct vis_error *e)
{
	sqlite3_stmt *st = s->stmt[id];
	if (!st) {
		const char *sql = txn_sql[id];
		if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
				       &s->stmt[id], NULL) != SQLITE_OK) {
			db_error(s, e, "preparazione");
			return NULL;
		}
		st = s->stmt[id];
	} else {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	return st;
}

/* Runs a statement that returns no row. */
static vis_err stmt_done(struct sq_store *s, sqlite3_stmt *st, struct vis_error *e,
			 const char *what)
{
	s->base.statements++;
	step_begins(s, st);
	int rc = sqlite3_step(st);
	step_ends(s, rc);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		if (rc == SQLITE_CONSTRAINT)
			return drv_conflict(e, what, sqlite3_errmsg(s->db));
		return db_error(s, e, what);
	}
	return VIS_OK;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static vis_err exec_sql(struct sq_store *s, const char *sql, struct vis_error *e)
{
	char *msg = NULL;
	s->base.statements++;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		vis_error_set(e, VIS_ERR_STORE, "%s", msg ? msg : "errore SQL");
		sqlite3_free(msg);
		return VIS_ERR_STORE;
	}
	return VIS_OK;
}

/* The row of a migration applied, its values bound (a name is any text). */
static vis_err migration_record(struct sq_store *s, const struct schema_migration *m,
				struct vis_error *e)
{
	sqlite3_stmt *st;
	s->base.statements++;
	if (sqlite3_prepare_v2(s->db, "INSERT INTO schema_migrations VALUES (?1, ?2, ?3)", -1, &st,
			       NULL) != SQLITE_OK)
		return db_error(s, e, "registrazione della migrazione");
	sqlite3_bind_int(st, 1, m->version);
	bind_text(st, 2, m->name);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
	vis_err rc = sqlite3_step(st) == SQLITE_DONE ? VIS_OK : db_error(s, e, "registrazione della migrazione");
	sqlite3_finalize(st);
	return rc;
}

/* Whether schema db ("main" or "trail") has table t. */
static bool table_in(struct sq_store *s, const char *db, const char *t)
{
	char sql[160];
	sqlite3_stmt *st;
	/* "main" or "trail" and a table's name of the schema */
	STR_FMT_KNOWN(sql,
		      "SELECT count(*) FROM %s.sqlite_master WHERE type = 'table' AND name = '%s'",
		      db, t);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return false;
	bool exists = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
	sqlite3_finalize(st);
	return exists;
}

/* How many rows table t holds in schema db ("main" or "trail"); -1: no
 * such table. */
static int64_t table_rows_in(struct sq_store *s, const char *db, const char *t)
{
	char sql[160];
	sqlite3_stmt *st;
	if (!table_in(s, db, t))
		return -1;
	/* "main" or "trail" and a table's name of the schema */
	STR_FMT_KNOWN(sql, "SELECT count(*) FROM %s.%s", db, t);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	return n;
}

static vis_err migrate(struct sq_store *s, struct vis_error *e)
{
	if (exec_sql(s, schema_migrations_table, e))
		return VIS_ERR_STORE;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT coalesce(max(version), 0) FROM schema_migrations",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "versione dello schema");
	s->schema_version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	if (s->schema_version > store_schema_latest())
		return vis_error_set(e, VIS_ERR_CONFLICT,
				     "lo schema del database è alla versione %d, più recente di "
				     "questo visura (%d): il database è stato scritto da una "
				     "versione successiva; usare quella versione (visura non "
				     "riporta indietro un database)",
				     s->schema_version, store_schema_latest());
	for (int i = 0; i < schema_migration_count; i++) {
		const struct schema_migration *m = &schema_migrations[i];
		if (m->version <= s->schema_version)
			continue;
		/* the trail's tables in their file: its indexes there too */
		char *sql = schema_sql(m->sql, table_in(s, "trail", "access_log") ?
					       SCHEMA_SQLITE_TRAIL : SCHEMA_SQLITE);
		if (!sql)
			return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
		if (exec_sql(s, "BEGIN IMMEDIATE", e)) {
			free(sql);
			return VIS_ERR_STORE;
		}
		vis_err rc = exec_sql(s, sql, e);
		free(sql);
		if (rc || migration_record(s, m, e)) {
			exec_sql(s, "ROLLBACK", NULL);
			return VIS_ERR_STORE;
		}
		if (exec_sql(s, "COMMIT", e))
			return VIS_ERR_STORE;
		s->schema_version = m->version;
	}
	return VIS_OK;
}

/* Creates table t and its indexes in the trail file as the migrations made
 * them in the database file, and copies its rows there. */
static vis_err trail_copy_table(struct sq_store *s, const char *t, struct vis_error *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT sql FROM main.sqlite_master WHERE tbl_name = ?"
			       " AND sql IS NOT NULL ORDER BY type = 'index', rowid",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "schema del registro degli accessi");
	bind_text(st, 1, t);
	vis_err rc = VIS_OK;
	while (rc == VIS_OK && sqlite3_step(st) == SQLITE_ROW) {
		/* "CREATE [UNIQUE] TABLE|INDEX name ..." → "... trail.name ..." */
		const char *sql = (const char *)sqlite3_column_text(st, 0);
		const char *kw = strstr(sql, "TABLE ");
		const char *ix = strstr(sql, "INDEX ");
		if (!kw || (ix && ix < kw))
			kw = ix;
		if (!kw) {
			rc = vis_error_set(e, VIS_ERR_INTERNAL, "schema del registro degli accessi: %s",
					   sql);
			break;
		}
		struct strbuf b;
		strbuf_init(&b, 1 << 16);
		size_t head = (size_t)(kw - sql) + 6;
		strbuf_add(&b, sql, head);
		strbuf_adds(&b, "trail.");
		if (strbuf_adds(&b, sql + head))
			rc = vis_error_set(e, VIS_ERR_LIMIT, "schema del registro degli accessi: "
							     "istruzione troppo lunga");
		else
			rc = exec_sql(s, b.buf, e);
		strbuf_release(&b);
	}
	sqlite3_finalize(st);
	if (rc)
		return rc;
	char sql[160];
	/* a table's name, a constant of the schema */
	STR_FMT_KNOWN(sql, "INSERT INTO trail.%s SELECT * FROM main.%s", t, t);
	return exec_sql(s, sql, e);
}

/* Moves the access trail's tables that the migrations created in the
 * database file (every table of a database made before the trail had its
 * own file, and those a new migration adds) into the trail file: one
 * transaction copies them, a second drops them from the database file (the
 * two files do not commit atomically together); a copy that is already
 * complete is recognised by its row counts. */
static vis_err trail_move(struct sq_store *s, struct vis_error *e)
{
	bool in_main[SCHEMA_TRAIL_MAX] = {0}, copied[SCHEMA_TRAIL_MAX] = {0};
	bool any = false, copy = false;
	for (int i = 0; i < schema_trail_table_count; i++) {
		const char *t = schema_trail_tables[i];
		in_main[i] = table_in(s, "main", t);
		copied[i] = table_in(s, "trail", t);
		/* Rows counted only for a table in both files (a move that
		 * stopped between its two transactions): counting every open
		 * read the whole trail, about 1 s at 3,000,000 records. */
		int64_t m = in_main[i] && copied[i] ? table_rows_in(s, "main", t) : 0;
		int64_t tr = in_main[i] && copied[i] ? table_rows_in(s, "trail", t) : 0;
		if (m != tr)
			return vis_error_set(e, VIS_ERR_CONFLICT,
					     "la tabella %s è sia nel file del database (%lld "
					     "righe) sia nel file del registro degli accessi (%lld "
					     "righe)", t, (long long)m, (long long)tr);
		any |= in_main[i];
		copy |= in_main[i] && !copied[i];
	}
	if (!any)
		return VIS_OK;
	if (copy) {
		if (exec_sql(s, "BEGIN IMMEDIATE", e))
			return VIS_ERR_STORE;
		for (int i = 0; i < schema_trail_table_count; i++)
			if (in_main[i] && !copied[i] &&
			    trail_copy_table(s, schema_trail_tables[i], e)) {
				exec_sql(s, "ROLLBACK", NULL);
				return VIS_ERR_STORE;
			}
		if (exec_sql(s, "COMMIT", e))
			return VIS_ERR_STORE;
	}
	if (exec_sql(s, "BEGIN IMMEDIATE", e))
		return VIS_ERR_STORE;
	/* Children before parents (the list is in creation order). */
	for (int i = schema_trail_table_count - 1; i >= 0; i--) {
		char sql[96];
		/* a table's name, a constant of the schema */
		STR_FMT_KNOWN(sql, "DROP TABLE main.%s", schema_trail_tables[i]);
		if (in_main[i] && exec_sql(s, sql, e)) {
			exec_sql(s, "ROLLBACK", NULL);
			return VIS_ERR_STORE;
		}
	}
	return exec_sql(s, "COMMIT", e);
}

static int sq_schema_version(struct sq_store *s)
{
	return s->schema_version;
}

static vis_err sq_open(const char *path, struct sq_store **out, struct vis_error *e)
{
	/* The database file is made owner-only before SQLite creates it: its
	 * WAL and SHM files take the database file's mode. */
	if (fsmode_create_private(path, e))
		return VIS_ERR_STORE;
	struct sq_store *s = calloc(1, sizeof *s);
	if (!s)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	s->base.ops = &sq_drv_ops;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				  SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		vis_error_set(e, VIS_ERR_STORE, "impossibile aprire il database '%s': %s", path,
			      s->db ? sqlite3_errmsg(s->db) : "memoria esaurita");
		sq_close(s);
		return VIS_ERR_STORE;
	}
	sqlite3_busy_handler(s->db, sq_busy, s);
	/* The trail's file: PATH.trail (an in-memory database: another). */
	bool memory = !strcmp(path, ":memory:") || !strncmp(path, "file::memory:", 13);
	struct strbuf trail;
	strbuf_init(&trail, 4096);
	strbuf_adds(&trail, memory ? ":memory:" : path);
	if ((!memory && strbuf_adds(&trail, ".trail")) || trail.err) {
		vis_error_set(e, VIS_ERR_LIMIT, "percorso del database troppo lungo");
		strbuf_release(&trail);
		sq_close(s);
		return VIS_ERR_STORE;
	}
	if (!memory && fsmode_create_beside(trail.buf, path, e)) {
		strbuf_release(&trail);
		sq_close(s);
		return VIS_ERR_STORE;
	}
	sqlite3_stmt *att;
	if (sqlite3_prepare_v2(s->db, "ATTACH DATABASE ? AS trail", -1, &att, NULL) != SQLITE_OK) {
		db_error(s, e, "collegare il registro degli accessi");
		strbuf_release(&trail);
		sq_close(s);
		return VIS_ERR_STORE;
	}
	bind_text(att, 1, trail.buf);
	int arc = sqlite3_step(att);
	sqlite3_finalize(att);
	if (arc != SQLITE_DONE)
		vis_error_set(e, VIS_ERR_STORE, "impossibile aprire il registro degli accessi "
						"'%s': %s", trail.buf,
			      sqlite3_errmsg(s->db));
	strbuf_release(&trail);
	if (arc != SQLITE_DONE) {
		sq_close(s);
		return VIS_ERR_STORE;
	}
	/* WAL: readers never block the writer; synchronous FULL: a committed
	 * import survives a power cut. */
	/* secure_delete: the bytes of a row changed or deleted (a secret sealed
	 * in place, a purged record) are zeroed, not left in the page. */
	if (exec_sql(s, "PRAGMA main.journal_mode = WAL; PRAGMA main.synchronous = FULL;"
			"PRAGMA main.secure_delete = FAST;"
			"PRAGMA trail.journal_mode = WAL; PRAGMA trail.synchronous = FULL;"
			"PRAGMA trail.secure_delete = FAST;"
			"PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;"
			"PRAGMA main.cache_size = -131072; PRAGMA trail.cache_size = -16384;", e) ||
	    migrate(s, e) || trail_move(s, e)) {
		sq_close(s);
		return VIS_ERR_STORE;
	}
	*out = s;
	return VIS_OK;
}

static void sq_close(struct sq_store *s)
{
	if (!s)
		return;
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	for (int i = 0; i < SQL__COUNT; i++)
		sq_stmt_free(s->by_id[i]);
	for (int i = 0; i < s->ntext; i++)
		sq_stmt_free(s->by_text[i]);
	sqlite3_finalize(s->load);
	sqlite3_close(s->db);
	free(s);
}

static void sq_rollback(struct sq_store *s);

/* BEGIN, then the write lock of one file (ST_MAIN_LOCK, ST_TRAIL_LOCK). */
static void sq_read_end(struct drv *d);

static vis_err begin_locking(struct sq_store *s, int lock, struct vis_error *e)
{
	sq_read_end(&s->base);   /* a write ends the reads' snapshot */
	sqlite3_stmt *st = stmt_get(s, ST_BEGIN, e);
	if (!st || stmt_done(s, st, e, "apertura della transazione"))
		return VIS_ERR_STORE;
	st = stmt_get(s, lock, e);
	if (!st || stmt_done(s, st, e, "apertura della transazione")) {
		sq_rollback(s);
		return VIS_ERR_STORE;
	}
	return VIS_OK;
}

static vis_err sq_begin(struct sq_store *s, struct vis_error *e)
{
	return begin_locking(s, ST_MAIN_LOCK, e);
}

static void fk_resume(struct sq_store *s)
{
	if (s->fk_paused && sqlite3_get_autocommit(s->db)) {
		exec_sql(s, "PRAGMA foreign_keys = ON", NULL);
		s->fk_paused = false;
	}
}

static vis_err sq_commit(struct sq_store *s, struct vis_error *e)
{
	sqlite3_stmt *st = stmt_get(s, ST_COMMIT, e);
	vis_err rc = st ? stmt_done(s, st, e, "conferma della transazione") : VIS_ERR_STORE;
	fk_resume(s);
	return rc;
}

static void sq_rollback(struct sq_store *s)
{
	s->indexes_dropped = false;
	if (!sqlite3_get_autocommit(s->db)) {
		sqlite3_stmt *st = stmt_get(s, ST_ROLLBACK, NULL);
		if (st)
			stmt_done(s, st, NULL, "annullamento della transazione");
	}
	fk_resume(s);
}

/* ---- copying a whole database (store_copy) ---- */

static vis_err sq_table_each(struct drv *d, const char *table, bool with_rowid, store_row_fn fn,
		      void *ctx, struct vis_error *e)
{
	struct sq_store *s = (struct sq_store *)d;
	char sql[128];
	/* a table's name, a constant of the schema */
	STR_FMT_KNOWN(sql, "SELECT %s* FROM %s", with_rowid ? "rowid AS rowid, " : "", table);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, table);
	int n = sqlite3_column_count(st);
	const char *names[64], *values[64];
	if (n > 64) {
		sqlite3_finalize(st);
		return vis_error_set(e, VIS_ERR_INTERNAL, "la tabella %s ha troppe colonne", table);
	}
	for (int i = 0; i < n; i++)
		names[i] = sqlite3_column_name(st, i);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < n; i++)
			values[i] = (const char *)sqlite3_column_text(st, i);
		if (fn(ctx, n, names, values) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? VIS_OK : db_error(s, e, table);
}

static vis_err sq_table_insert(struct drv *d, const char *table, int ncols,
			const char *const *names, const char *const *values, struct vis_error *e)
{
	struct sq_store *s = (struct sq_store *)d;
	if (!s->load || strcmp(s->load_table, table)) {
		char sql[4096];
		size_t len = (size_t)snprintf(sql, sizeof sql, "INSERT INTO %s (", table);
		for (int i = 0; i < ncols && len < sizeof sql; i++)
			len += (size_t)snprintf(sql + len, sizeof sql - len, "%s%s", i ? ", " : "", names[i]);
		for (int i = 0; i < ncols && len < sizeof sql; i++)
			len += (size_t)snprintf(sql + len, sizeof sql - len, "%s?%d", i ? ", " : ") VALUES (",
						i + 1);
		if (len + 2 >= sizeof sql)
			return vis_error_set(e, VIS_ERR_INTERNAL, "tabella %s: istruzione troppo "
								  "lunga", table);
		strcat(sql, ")");
		sqlite3_finalize(s->load);
		s->load = NULL;
		if (sqlite3_prepare_v2(s->db, sql, -1, &s->load, NULL) != SQLITE_OK)
			return db_error(s, e, table);
		STR_COPY_KNOWN(s->load_table, table); /* the loader's table names */
	}
	sqlite3_reset(s->load);
	for (int i = 0; i < ncols; i++) {
		if (values[i])
			bind_text(s->load, i + 1, values[i]);
		else
			sqlite3_bind_null(s->load, i + 1);
	}
	return stmt_done(s, s->load, e, table);
}

static vis_err sq_table_rows(struct drv *d, const char *table, int64_t *n, struct vis_error *e)
{
	struct sq_store *s = (struct sq_store *)d;
	char sql[128];
	sqlite3_stmt *st;
	/* a table's name, a constant of the schema */
	STR_FMT_KNOWN(sql, "SELECT count(*) FROM %s", table);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, table);
	int rc = sqlite3_step(st);
	*n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? VIS_OK : db_error(s, e, table);
}

static vis_err sq_table_clear(struct drv *d, const char *table, struct vis_error *e)
{
	struct sq_store *s = (struct sq_store *)d;
	char sql[128];
	STR_FMT_KNOWN(sql, "DELETE FROM %s", table); /* a table's name, a constant of the schema */
	return exec_sql(s, sql, e);
}

static vis_err sq_load_finish(struct drv *d, struct vis_error *e)
{
	struct sq_store *s = (struct sq_store *)d;
	(void)e;
	sqlite3_finalize(s->load);
	s->load = NULL;
	return VIS_OK;
}

/* ---- the driver (store/driver.h) ---- */

struct sq_stmt {
	struct drv_stmt base;
	sqlite3_stmt *st;
	char *sql;      /* the text of a statement built at run time, owned */
	unsigned hash;
	bool busy;      /* between prepare and reset */
	bool owned;     /* prepared for one nested use: finalized at reset */
};

static void sq_stmt_free(struct sq_stmt *st)
{
	if (!st)
		return;
	sqlite3_finalize(st->st);
	free(st->sql);
	free(st);
}

static unsigned sq_hash(const char *t)
{
	unsigned h = 2166136261u;
	for (; *t; t++)
		h = (h ^ (unsigned char)*t) * 16777619u;
	return h;
}

static struct sq_stmt *sq_stmt_new(struct sq_store *s, const char *sql, bool persistent,
				   struct vis_error *e)
{
	struct sq_stmt *st = calloc(1, sizeof *st);
	if (!st) {
		vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
		return NULL;
	}
	st->base.d = &s->base;
	if (sqlite3_prepare_v3(s->db, sql, -1, persistent ? SQLITE_PREPARE_PERSISTENT : 0,
			       &st->st, NULL) != SQLITE_OK) {
		db_error(s, e, "preparazione");
		free(st);
		return NULL;
	}
	return st;
}

static struct drv_stmt *sq_prepare(struct drv *d, int id, const char *sql, struct vis_error *e)
{
	struct sq_store *s = (struct sq_store *)d;
	struct sq_stmt **slot = NULL;
	unsigned h = 0;
	if (id >= 0) {
		sql = store_sql[id];
		slot = &s->by_id[id];
	} else {
		h = sq_hash(sql);
		for (int i = 0; i < s->ntext && !slot; i++)
			if (s->by_text[i]->hash == h && !strcmp(s->by_text[i]->sql, sql))
				slot = &s->by_text[i];
		if (!slot && s->ntext < SQ_TEXT_CACHE)
			slot = &s->by_text[s->ntext];
	}
	if (slot && *slot && !(*slot)->busy) {
		sqlite3_reset((*slot)->st);
		sqlite3_clear_bindings((*slot)->st);
		(*slot)->busy = true;
		return &(*slot)->base;
	}
	/* In use already (a nested use), or beyond the cache: one of its own. */
	bool cache = slot && !*slot;
	struct sq_stmt *st = sq_stmt_new(s, sql, cache, e);
	if (!st)
		return NULL;
	st->busy = true;
	if (cache) {
		if (id < 0) {
			if (!(st->sql = strdup(sql))) {
				sq_stmt_free(st);
				vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
				return NULL;
			}
			st->hash = h;
			s->ntext++;
		}
		*slot = st;
	} else {
		st->owned = true;
	}
	return &st->base;
}

static void sq_bind_text(struct drv_stmt *b, int i, const char *v, size_t n)
{
	struct sq_stmt *st = (struct sq_stmt *)b;
	int rc = n == (size_t)-1 ? sqlite3_bind_text(st->st, i, v, -1, SQLITE_STATIC)
		 : n > INT_MAX ? SQLITE_TOOBIG
			       : sqlite3_bind_text(st->st, i, v, (int)n, SQLITE_TRANSIENT);
	if (rc != SQLITE_OK)
		b->bad_param = i;
}

static void sq_bind_i64(struct drv_stmt *b, int i, int64_t v)
{
	if (sqlite3_bind_int64(((struct sq_stmt *)b)->st, i, v) != SQLITE_OK)
		b->bad_param = i;
}

static void sq_bind_null(struct drv_stmt *b, int i)
{
	if (sqlite3_bind_null(((struct sq_stmt *)b)->st, i) != SQLITE_OK)
		b->bad_param = i;
}

static enum drv_step sq_step(struct drv_stmt *b, struct vis_error *e)
{
	struct sq_stmt *st = (struct sq_stmt *)b;
	struct sq_store *s = (struct sq_store *)b->d;
	if (!sqlite3_stmt_busy(st->st))
		b->d->statements++;   /* its first step runs it */
	step_begins(s, st->st);
	int rc = sqlite3_step(st->st);
	step_ends(s, rc);
	if (rc == SQLITE_ROW)
		return DRV_ROW;
	if (rc == SQLITE_DONE)
		return DRV_DONE;
	b->err = rc == SQLITE_CONSTRAINT ? drv_conflict(e, b->what, sqlite3_errmsg(s->db))
					 : db_error(s, e, b->what ? b->what : "istruzione");
	return DRV_ERROR;
}

static void sq_reset(struct drv_stmt *b)
{
	struct sq_stmt *st = (struct sq_stmt *)b;
	if (st->owned) {
		sq_stmt_free(st);
		return;
	}
	sqlite3_reset(st->st);
	st->busy = false;
}

static vis_err sq_send(struct drv_stmt *b, struct vis_error *e)
{
	return drv_done(b, e);
}

static vis_err sq_load(struct drv_stmt *b, struct vis_error *e)
{
	return drv_done(b, e);
}

/* One run after the other: SQLite has no round trips to save. */
static vis_err sq_batch(struct drv *d, enum sql_id id, const char *what, int n,
			void (*bind)(void *ctx, int i, struct drv_stmt *st),
			vis_err (*take)(void *ctx, int i, struct drv_stmt *st, struct vis_error *e),
			void *ctx, struct vis_error *e)
{
	for (int i = 0; i < n; i++) {
		struct drv_stmt *st = drv_prepare(d, id, what, e);
		if (!st)
			return e && e->code ? e->code : VIS_ERR_STORE;
		bind(ctx, i, st);
		vis_err rc = take(ctx, i, st, e);
		if (rc)
			return rc;
	}
	return VIS_OK;
}

static int64_t sq_changes(struct drv_stmt *b)
{
	return sqlite3_changes64(sqlite3_db_handle(((struct sq_stmt *)b)->st));
}

static const char *sq_col_text(struct drv_stmt *b, int c, size_t *len)
{
	sqlite3_stmt *st = ((struct sq_stmt *)b)->st;
	const char *v = (const char *)sqlite3_column_text(st, c);
	if (len)
		*len = v ? (size_t)sqlite3_column_bytes(st, c) : 0;
	return v ? v : "";
}

static int64_t sq_col_i64(struct drv_stmt *b, int c)
{
	return sqlite3_column_int64(((struct sq_stmt *)b)->st, c);
}

static bool sq_col_null(struct drv_stmt *b, int c)
{
	return sqlite3_column_type(((struct sq_stmt *)b)->st, c) == SQLITE_NULL;
}

static void sq_drv_close(struct drv *d)
{
	sq_close((struct sq_store *)d);
}

static int sq_drv_schema_version(struct drv *d)
{
	return sq_schema_version((struct sq_store *)d);
}

static vis_err sq_drv_begin(struct drv *d, struct vis_error *e)
{
	return sq_begin((struct sq_store *)d, e);
}

static vis_err sq_drv_begin_trail(struct drv *d, struct vis_error *e)
{
	return begin_locking((struct sq_store *)d, ST_TRAIL_LOCK, e);
}

static enum store_wait sq_wait(struct drv *d, enum store_wait mode)
{
	struct sq_store *s = (struct sq_store *)d;
	enum store_wait was = s->wait;
	s->wait = mode;
	return was;
}

static vis_err sq_drv_commit(struct drv *d, struct vis_error *e)
{
	return sq_commit((struct sq_store *)d, e);
}

static void sq_drv_rollback(struct drv *d)
{
	sq_rollback((struct sq_store *)d);
}

static bool sq_in_txn(struct drv *d)
{
	return !sqlite3_get_autocommit(((struct sq_store *)d)->db);
}

/* Several reads in one transaction: one snapshot, and the WAL-index read
 * lock taken and released once (two fcntl calls) instead of once per
 * statement.  BEGIN is deferred: the snapshot begins at the first read. */
static void sq_read_begin(struct drv *d)
{
	struct sq_store *s = (struct sq_store *)d;
	if (s->reading || !sqlite3_get_autocommit(s->db))
		return;
	sqlite3_stmt *st = stmt_get(s, ST_BEGIN, NULL);
	s->reading = st && stmt_done(s, st, NULL, "apertura della transazione") == VIS_OK;
}

static void sq_read_end(struct drv *d)
{
	struct sq_store *s = (struct sq_store *)d;
	if (!s->reading)
		return;
	s->reading = false;
	if (sqlite3_get_autocommit(s->db))
		return;
	sqlite3_stmt *st = stmt_get(s, ST_COMMIT, NULL);
	if (!st || stmt_done(s, st, NULL, "conferma della transazione"))
		sq_rollback(s);
}

/* A deferred BEGIN: the snapshot begins at the first read, of each file
 * at its first read (the trail's tables are all in its own file). */
static vis_err sq_begin_snapshot(struct drv *d, struct vis_error *e)
{
	struct sq_store *s = (struct sq_store *)d;
	if (!sqlite3_get_autocommit(s->db))
		return vis_error_set(e, VIS_ERR_INTERNAL, "una transazione è già aperta");
	sqlite3_stmt *st = stmt_get(s, ST_BEGIN, e);
	return st ? stmt_done(s, st, e, "apertura della transazione") : VIS_ERR_STORE;
}

/* The transaction took its file's write lock when it began. */
static vis_err sq_lock(struct drv *d, enum drv_lock which, struct vis_error *e)
{
	(void)which;
	if (!sq_in_txn(d))
		return vis_error_set(e, VIS_ERR_INTERNAL, "un blocco fuori da una transazione");
	return VIS_OK;
}

static vis_err sq_exec(struct drv *d, const char *sql, struct vis_error *e)
{
	return exec_sql((struct sq_store *)d, sql, e);
}

static vis_err sq_load_begin(struct drv *d, bool first, struct vis_error *e)
{
	struct sq_store *s = (struct sq_store *)d;
	/* A first snapshot into empty tables: build the indexes once, sorted,
	 * after the rows (the transaction undoes the drop if the file fails).
	 * Foreign keys need those indexes, so their enforcement pauses for the
	 * load (it can change only outside a transaction); it is back on when
	 * the transaction ends. */
	s->indexes_dropped = false;
	if (first && exec_sql(s, "PRAGMA foreign_keys = OFF", e))
		return VIS_ERR_STORE;
	s->fk_paused = first;
	if (sq_begin(s, e)) {
		fk_resume(s);
		return VIS_ERR_STORE;
	}
	if (first) {
		if (exec_sql(s, schema_register_indexes_drop, e))
			return VIS_ERR_STORE;
		s->indexes_dropped = true;
	}
	return VIS_OK;
}

/* SQLite's progress handler during the indexes' build: non-zero
 * interrupts it. */
static int load_stop(void *p)
{
	struct sq_store *s = p;
	return stop_now(s->load_stop);
}

/* The VM steps between two questions to the load's stop (counted per
 * statement: each index is one; a million rows are about six million
 * steps an index), a fraction of a millisecond: the stop is asked a few
 * hundred times an index. */
#define LOAD_STOP_STEPS 10000

static vis_err sq_load_end(struct drv *d, const struct stop_ask *stop, struct vis_error *e)
{
	struct sq_store *s = (struct sq_store *)d;
	if (s->indexes_dropped) {
		s->indexes_dropped = false;
		s->load_stop = stop;
		if (stop && stop->asked)
			sqlite3_progress_handler(s->db, LOAD_STOP_STEPS, load_stop, s);
		vis_err rc = exec_sql(s, schema_register_indexes, e);
		if (stop && stop->asked)
			sqlite3_progress_handler(s->db, 0, NULL, NULL);
		if (rc)
			return vis_error_set(e, VIS_ERR_CONFLICT, "rebuilding indexes: %s", e ? e->msg : "");
	}
	return VIS_OK;
}

static const struct drv_ops sq_drv_ops = DRV_OPS_OF(sq);

vis_err drv_sqlite_open(const char *path, struct drv **out, struct vis_error *e)
{
	struct sq_store *s = NULL;
	if (sq_open(path, &s, e))
		return e && e->code ? e->code : VIS_ERR_STORE;
	*out = &s->base;
	return VIS_OK;
}

const struct drv_copy_ops drv_sqlite_copy_ops = {
	sq_table_each, sq_table_insert, sq_table_rows, sq_table_clear, sq_load_finish,
};

/* ---- backups (store_snapshot, store_probe, store_file_check) ---- */

/* Copies schema `name` of s ("main" or "trail") into the file dst with
 * SQLite's online backup API, in the read transaction the caller holds;
 * the copy is left in rollback-journal mode (no WAL beside it). */
static vis_err snapshot_one(struct sq_store *s, const char *name, const char *dst,
			    struct vis_error *e)
{
	if (fsmode_create_private(dst, e))
		return VIS_ERR_IO;
	sqlite3 *to = NULL;
	if (sqlite3_open_v2(dst, &to, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		vis_error_set(e, VIS_ERR_IO, "impossibile aprire '%s': %s", dst,
			      to ? sqlite3_errmsg(to) : "memoria esaurita");
		sqlite3_close(to);
		return VIS_ERR_IO;
	}
	vis_err rc = VIS_OK;
	sqlite3_backup *b = sqlite3_backup_init(to, "main", s->db, name);
	if (!b) {
		rc = vis_error_set(e, VIS_ERR_STORE, "copia di %s: %s", name, sqlite3_errmsg(to));
	} else {
		int step = sqlite3_backup_step(b, -1);
		int fin = sqlite3_backup_finish(b);
		if (step != SQLITE_DONE || fin != SQLITE_OK)
			rc = vis_error_set(e, VIS_ERR_STORE, "copia di %s: %s", name,
					   sqlite3_errstr(step != SQLITE_DONE ? step : fin));
	}
	char *msg = NULL;
	if (!rc && sqlite3_exec(to, "PRAGMA journal_mode = DELETE", NULL, NULL, &msg) != SQLITE_OK)
		rc = vis_error_set(e, VIS_ERR_STORE, "copia di %s: %s", name, msg ? msg : "?");
	sqlite3_free(msg);
	if (sqlite3_close(to) != SQLITE_OK && !rc)
		rc = vis_error_set(e, VIS_ERR_IO, "impossibile chiudere '%s'", dst);
	return rc;
}

vis_err drv_sqlite_snapshot(struct drv *d, const char *dst, const char *dst_trail,
			    struct vis_error *e)
{
	struct sq_store *s = (struct sq_store *)d;
	if (sqlite3_get_autocommit(s->db) == 0)
		return vis_error_set(e, VIS_ERR_INTERNAL, "una copia dentro una transazione");
	/* One read transaction over both files: the register and the trail as
	 * they were at one moment, while writers go on (WAL). */
	vis_err rc = exec_sql(s, "BEGIN; SELECT count(*) FROM main.schema_migrations;"
				 " SELECT count(*) FROM trail.readiness", e);
	if (rc)
		return rc;
	rc = snapshot_one(s, "main", dst, e);
	if (!rc)
		rc = snapshot_one(s, "trail", dst_trail, e);
	exec_sql(s, "COMMIT", NULL);
	return rc;
}

/* Does another process hold the SHM file of a WAL database open?  Every
 * SQLite connection keeps a shared lock on byte 128 of PATH-shm (the unix
 * VFS's "DMS" slot) for as long as it is open. */
static bool shm_in_use(const char *db_path)
{
	char shm[4200];
	if ((size_t)snprintf(shm, sizeof shm, "%s-shm", db_path) >= sizeof shm)
		return false;
	int fd = open(shm, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 128, .l_len = 1};
	bool used = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
	close(fd);
	return used;
}

/* The schema version of an open read-only connection: -1 when the file
 * holds no visura schema. */
static int ro_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int v = -1;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
			       " AND name = 'schema_migrations'", -1, &st, NULL) != SQLITE_OK)
		return -1;
	bool has = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
	sqlite3_finalize(st);
	if (has && sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) FROM schema_migrations",
				      -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	return v;
}

vis_err drv_sqlite_probe(const char *path, int *version, bool *live, struct vis_error *e)
{
	char trail[4200], wal[4200];
	if (STR_FMT_SET(trail, "percorso troppo lungo", e, "%s.trail", path) ||
	    STR_FMT_SET(wal, "percorso troppo lungo", e, "%s-wal", path))
		return e ? e->code : VIS_ERR_LIMIT;
	*live = shm_in_use(path) || shm_in_use(trail);
	*version = -1;
	if (access(path, F_OK) != 0)
		return VIS_OK;
	/* Read-only, and when no process uses it and no WAL is left, as an
	 * immutable file: a read-only connection would leave WAL and SHM files
	 * behind (it may not delete them), and probing changes nothing. */
	struct strbuf uri;
	strbuf_init(&uri, 3 * 4096 + 64);
	strbuf_adds(&uri, "file:");
	for (const char *c = path; *c; c++) {
		if (strchr("%?#", *c))
			strbuf_addf(&uri, "%%%02X", (unsigned char)*c);
		else
			strbuf_add(&uri, c, 1);
	}
	strbuf_adds(&uri, !*live && access(wal, F_OK) != 0 ? "?immutable=1" : "?mode=ro");
	if (uri.err) {
		strbuf_release(&uri);
		return vis_error_set(e, VIS_ERR_LIMIT, "percorso del database troppo lungo");
	}
	sqlite3 *db = NULL;
	int orc = sqlite3_open_v2(uri.buf, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	strbuf_release(&uri);
	if (orc != SQLITE_OK) {
		vis_error_set(e, VIS_ERR_STORE, "impossibile aprire il database '%s': %s", path,
			      db ? sqlite3_errmsg(db) : "memoria esaurita");
		sqlite3_close(db);
		return VIS_ERR_STORE;
	}
	sqlite3_busy_timeout(db, 10000);
	*version = ro_version(db);
	if (*version < 0)
		*version = 0;   /* a file, not (yet) a visura database */
	sqlite3_close(db);
	return VIS_OK;
}

/* why: "'path' what: detail" ("'path' what" when detail is NULL), or "il
 * file what: detail" when the path does not fit. */
static void file_why(char *why, size_t cap, const char *path, const char *what, const char *detail)
{
	const char *sep = detail ? ": " : "";
	if (!detail)
		detail = "";
	/* the fallback: what a constant, detail cut by the precision; callers give 600 */
	if (!str_fmt(why, cap, "'%s' %s%s%s", path, what, sep, detail))
		STR_FMT_KNOWN_CAP(why, cap, "il file %s%s%.200s", what, sep, detail);
}

/* PRAGMA integrity_check of one read-only file: "ok" or the first problem
 * in why. */
static vis_err integrity(const char *path, int *version, char *why, size_t cap,
			 struct vis_error *e)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		file_why(why, cap, path, "non si apre", db ? sqlite3_errmsg(db) : "?");
		sqlite3_close(db);
		return VIS_OK;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check(1)", -1, &st, NULL) != SQLITE_OK) {
		file_why(why, cap, path, "non è un database", sqlite3_errmsg(db));
		sqlite3_close(db);
		return VIS_OK;
	}
	int rc = sqlite3_step(st);
	const char *r = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
	if (!r || strcmp(r, "ok"))
		file_why(why, cap, path, "non supera il controllo di integrità",
			 r ? r : sqlite3_errmsg(db));
	sqlite3_finalize(st);
	if (version)
		*version = ro_version(db);
	sqlite3_close(db);
	(void)e;
	return VIS_OK;
}

vis_err drv_sqlite_file_check(const char *path, const char *trail, int *version, char *why,
			      size_t cap, struct vis_error *e)
{
	why[0] = '\0';
	if (integrity(path, version, why, cap, e) || why[0])
		return VIS_OK;
	if (*version <= 0) {
		file_why(why, cap, path, "non contiene uno schema di visura", NULL);
		return VIS_OK;
	}
	return integrity(trail, NULL, why, cap, e);
}
