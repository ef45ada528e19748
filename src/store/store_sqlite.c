/* The SQLite back end of store.h (see store/backend.h): one file, WAL,
 * foreign keys on, every statement prepared once and reused. */
#include "store/backend.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/date.h"
#include "common/fsmode.h"
#include "common/text.h"
#include "refdata/refdata.h"
#include "store/records.h"
#include "store/schema.h"
#include "store/sql.h"
#include "common/str.h"

/* SQLite's own transaction statements, after the shared ones (store/sql.h). */
enum {
	ST_BEGIN = SQL__COUNT, ST_COMMIT, ST_ROLLBACK,
	ST__COUNT
};
static const char *const txn_sql[] = {"BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"};

#define P_NCOLS 21

struct rec_cache;

struct sq_store {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST__COUNT];
	struct rec_cache *recs;
	int schema_version;
	bool indexes_dropped;    /* bulk load in progress: rebuild at finish */
	bool fk_paused;          /* foreign keys off until the transaction ends */
	sqlite3_stmt *search[11]; /* searches and the access trail, prepared on first use */
	sqlite3_stmt *load;      /* store_copy: the INSERT of load_table */
	char load_table[64];
};

static void rec_cache_free(struct rec_cache *c);

static vis_err db_error(struct sq_store *s, struct vis_error *e, const char *what)
{
	return vis_error_set(e, VIS_ERR_STORE, "%s: %s", what, sqlite3_errmsg(s->db));
}

static sqlite3_stmt *stmt_get(struct sq_store *s, int id, struct vis_error *e)
{
	sqlite3_stmt *st = s->stmt[id];
	if (!st) {
		const char *sql = id < SQL__COUNT ? store_sql[id] : txn_sql[id - SQL__COUNT];
		if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
				       &s->stmt[id], NULL) != SQLITE_OK) {
			db_error(s, e, "prepare");
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
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		if (rc == SQLITE_CONSTRAINT)
			return vis_error_set(e, VIS_ERR_CONFLICT, "%s: %s", what,
					     sqlite3_errmsg(s->db));
		return db_error(s, e, what);
	}
	return VIS_OK;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static void copy_col(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
	const unsigned char *v = sqlite3_column_text(st, col);
	size_t n = v ? (size_t)sqlite3_column_bytes(st, col) : 0;
	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, v, n);
	dst[n] = '\0';
}

static vis_err exec_sql(struct sq_store *s, const char *sql, struct vis_error *e)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		vis_error_set(e, VIS_ERR_STORE, "%s", msg ? msg : "sql error");
		sqlite3_free(msg);
		return VIS_ERR_STORE;
	}
	return VIS_OK;
}

static vis_err migrate(struct sq_store *s, struct vis_error *e)
{
	if (exec_sql(s, schema_migrations_table, e))
		return VIS_ERR_STORE;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT coalesce(max(version), 0) FROM schema_migrations",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "schema version");
	s->schema_version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	if (s->schema_version > store_schema_latest())
		return vis_error_set(e, VIS_ERR_CONFLICT,
				     "database schema version %d is newer than this visura (%d)",
				     s->schema_version, store_schema_latest());
	for (int i = 0; i < schema_migration_count; i++) {
		const struct schema_migration *m = &schema_migrations[i];
		if (m->version <= s->schema_version)
			continue;
		char rec[256];
		snprintf(rec, sizeof rec,
			 "INSERT INTO schema_migrations VALUES (%d, '%s', %lld)", m->version,
			 m->name, (long long)time(NULL));
		char *sql = schema_sql(m->sql, SCHEMA_SQLITE);
		if (!sql)
			return vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
		if (exec_sql(s, "BEGIN IMMEDIATE", e)) {
			free(sql);
			return VIS_ERR_STORE;
		}
		vis_err rc = exec_sql(s, sql, e);
		free(sql);
		if (rc || exec_sql(s, rec, e)) {
			exec_sql(s, "ROLLBACK", NULL);
			return VIS_ERR_STORE;
		}
		if (exec_sql(s, "COMMIT", e))
			return VIS_ERR_STORE;
		s->schema_version = m->version;
	}
	return VIS_OK;
}

int sq_schema_version(struct sq_store *s)
{
	return s->schema_version;
}

vis_err sq_open(const char *path, struct sq_store **out, struct vis_error *e)
{
	/* The database file is made owner-only before SQLite creates it: its
	 * WAL and SHM files take the database file's mode. */
	if (fsmode_create_private(path, e))
		return VIS_ERR_STORE;
	struct sq_store *s = calloc(1, sizeof *s);
	if (!s)
		return vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				  SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		vis_error_set(e, VIS_ERR_STORE, "cannot open database '%s': %s", path,
			      s->db ? sqlite3_errmsg(s->db) : "out of memory");
		sq_close(s);
		return VIS_ERR_STORE;
	}
	sqlite3_busy_timeout(s->db, 10000);
	/* WAL: readers never block the writer; synchronous FULL: a committed
	 * import survives a power cut. */
	/* secure_delete: the bytes of a row changed or deleted (a secret sealed
	 * in place, a purged record) are zeroed, not left in the page. */
	if (exec_sql(s, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
			"PRAGMA secure_delete = FAST;"
			"PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;"
			"PRAGMA cache_size = -131072;", e) ||
	    migrate(s, e)) {
		sq_close(s);
		return VIS_ERR_STORE;
	}
	*out = s;
	return VIS_OK;
}

void sq_close(struct sq_store *s)
{
	if (!s)
		return;
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	rec_cache_free(s->recs);
	for (size_t i = 0; i < sizeof s->search / sizeof s->search[0]; i++)
		sqlite3_finalize(s->search[i]);
	sqlite3_finalize(s->load);
	sqlite3_close(s->db);
	free(s);
}

vis_err sq_begin(struct sq_store *s, struct vis_error *e)
{
	sqlite3_stmt *st = stmt_get(s, ST_BEGIN, e);
	return st ? stmt_done(s, st, e, "begin") : VIS_ERR_STORE;
}

static void fk_resume(struct sq_store *s)
{
	if (s->fk_paused && sqlite3_get_autocommit(s->db)) {
		exec_sql(s, "PRAGMA foreign_keys = ON", NULL);
		s->fk_paused = false;
	}
}

vis_err sq_commit(struct sq_store *s, struct vis_error *e)
{
	sqlite3_stmt *st = stmt_get(s, ST_COMMIT, e);
	vis_err rc = st ? stmt_done(s, st, e, "commit") : VIS_ERR_STORE;
	fk_resume(s);
	return rc;
}

void sq_rollback(struct sq_store *s)
{
	s->indexes_dropped = false;
	if (!sqlite3_get_autocommit(s->db)) {
		sqlite3_stmt *st = stmt_get(s, ST_ROLLBACK, NULL);
		if (st)
			stmt_done(s, st, NULL, "rollback");
	}
	fk_resume(s);
}

vis_err sq_refdata_replace(struct sq_store *s, const struct refdata *rd,
			      struct vis_error *e)
{
	sqlite3_stmt *ins_c = NULL, *ins_s = NULL;
	vis_err rc = VIS_ERR_STORE;
	if (sq_begin(s, e) || exec_sql(s, "DELETE FROM comune; DELETE FROM stato;", e))
		goto fail;
	if (sqlite3_prepare_v2(s->db, store_sql[SQL_COMUNE_INSERT],
			       -1, &ins_c, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, store_sql[SQL_STATO_INSERT],
			       -1, &ins_s, NULL) != SQLITE_OK) {
		db_error(s, e, "prepare reference data");
		goto fail;
	}
	for (size_t i = 0; i < refdata_comune_count(rd); i++) {
		const struct ref_comune *c = refdata_comune_at(rd, i);
		sqlite3_reset(ins_c);
		bind_text(ins_c, 1, c->istat);
		sqlite3_bind_int(ins_c, 2, c->valid_from);
		sqlite3_bind_int(ins_c, 3, c->valid_to);
		bind_text(ins_c, 4, c->name);
		bind_text(ins_c, 5, c->belfiore);
		bind_text(ins_c, 6, c->province);
		bind_text(ins_c, 7, c->region);
		sqlite3_bind_int(ins_c, 8, c->active);
		if (stmt_done(s, ins_c, e, "insert comune"))
			goto fail;
	}
	for (size_t i = 0; i < refdata_stato_count(rd); i++) {
		const struct ref_stato *t = refdata_stato_at(rd, i);
		sqlite3_reset(ins_s);
		bind_text(ins_s, 1, t->istat);
		bind_text(ins_s, 2, t->belfiore);
		bind_text(ins_s, 3, t->iso3);
		bind_text(ins_s, 4, t->name);
		sqlite3_bind_int(ins_s, 5, t->valid_from);
		sqlite3_bind_int(ins_s, 6, t->valid_to);
		sqlite3_bind_int(ins_s, 7, t->eu);
		if (stmt_done(s, ins_s, e, "insert stato"))
			goto fail;
	}
	rc = sq_commit(s, e);
fail:
	sqlite3_finalize(ins_c);
	sqlite3_finalize(ins_s);
	if (rc != VIS_OK)
		sq_rollback(s);
	return rc;
}

/* ---- feed and imports ---- */

vis_err sq_feed_get(struct sq_store *s, const char *comune, struct store_feed *out,
		       bool *found, struct vis_error *e)
{
	sqlite3_stmt *st = stmt_get(s, SQL_FEED_GET, e);
	if (!st)
		return VIS_ERR_STORE;
	bind_text(st, 1, comune);
	int rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	if (*found) {
		if (STR_SET(out->comune, comune, "comune", e)) {
			sqlite3_reset(st);
			return VIS_ERR_LIMIT;
		}
		out->last_seq = sqlite3_column_int64(st, 0);
		out->last_extract = sqlite3_column_int64(st, 1);
		out->last_import_id = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "feed state");
}

vis_err sq_feed_each(struct sq_store *s, store_feed_fn fn, void *ctx, struct vis_error *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, store_sql[SQL_FEED_EACH], -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_feed f;
		copy_col(st, 0, f.comune, sizeof f.comune);
		f.last_seq = sqlite3_column_int64(st, 1);
		f.last_extract = sqlite3_column_int64(st, 2);
		f.last_import_id = sqlite3_column_int64(st, 3);
		if (fn(ctx, &f) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "feed");
}

vis_err sq_import_each(struct sq_store *s, const char *comune, int limit, store_import_fn fn,
			  void *ctx, struct vis_error *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, store_sql[SQL_IMPORT_EACH],
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	if (comune)
		bind_text(st, 1, comune);
	sqlite3_bind_int(st, 2, limit);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_import_row row = {.id = sqlite3_column_int64(st, 0)};
		copy_col(st, 1, row.imp.comune, sizeof row.imp.comune);
		row.imp.seq = sqlite3_column_int64(st, 2);
		row.imp.full = !strcmp((const char *)sqlite3_column_text(st, 3), "FULL");
		row.imp.extract = sqlite3_column_int64(st, 4);
		copy_col(st, 5, row.imp.sha256, sizeof row.imp.sha256);
		copy_col(st, 6, row.imp.source, sizeof row.imp.source);
		row.started_at = sqlite3_column_int64(st, 7);
		row.finished_at = sqlite3_column_int64(st, 8);
		struct store_import_counts *c = &row.counts;
		int64_t *cols[] = {&c->inserted, &c->updated, &c->unchanged, &c->closed,
				   &c->families, &c->persons, &c->events};
		for (int i = 0; i < 7; i++)
			*cols[i] = sqlite3_column_int64(st, 9 + i);
		if (fn(ctx, &row) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "import history");
}

vis_err sq_import_last_counts(struct sq_store *s, const char *comune,
				 struct store_import_counts *out, struct vis_error *e)
{
	sqlite3_stmt *st;
	memset(out, 0, sizeof *out);
	if (sqlite3_prepare_v2(s->db, store_sql[SQL_IMPORT_LAST_COUNTS], -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	bind_text(st, 1, comune);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->inserted = sqlite3_column_int64(st, 0);
		out->updated = sqlite3_column_int64(st, 1);
		out->unchanged = sqlite3_column_int64(st, 2);
		out->closed = sqlite3_column_int64(st, 3);
		out->families = sqlite3_column_int64(st, 4);
		out->persons = sqlite3_column_int64(st, 5);
		out->events = sqlite3_column_int64(st, 6);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "import counts");
}

vis_err sq_import_sha(struct sq_store *s, const char *comune, int64_t seq,
			 char sha_out[65], bool *found, struct vis_error *e)
{
	sqlite3_stmt *st = stmt_get(s, SQL_IMPORT_SHA, e);
	if (!st)
		return VIS_ERR_STORE;
	bind_text(st, 1, comune);
	sqlite3_bind_int64(st, 2, seq);
	int rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	if (*found)
		copy_col(st, 0, sha_out, 65);
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "import look-up");
}

/* Runs a one-row probe; *found tells whether it returned a row. */
/* Runs a look-up of one or two text parameters; the first column of the
 * first row goes to out (cap bytes) when out is not NULL. */
static vis_err probe(struct sq_store *s, int id, const char *a, const char *b, char *out,
		     size_t cap, bool *found, struct vis_error *e)
{
	sqlite3_stmt *st = stmt_get(s, id, e);
	if (!st)
		return VIS_ERR_STORE;
	bind_text(st, 1, a);
	if (b)
		bind_text(st, 2, b);
	int rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	if (*found && out)
		copy_col(st, 0, out, cap);
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "look-up");
}

vis_err sq_import_start(struct sq_store *s, const struct store_import *imp,
			   int64_t *import_id, bool *empty, struct vis_error *e)
{
	sqlite3_stmt *probe_st = stmt_get(s, SQL_COMUNE_HAS_PERSON, e);
	if (!probe_st)
		return VIS_ERR_STORE;
	bind_text(probe_st, 1, imp->comune);
	if (sqlite3_step(probe_st) != SQLITE_ROW) {
		sqlite3_reset(probe_st);
		return db_error(s, e, "probe");
	}
	*empty = sqlite3_column_type(probe_st, 0) == SQLITE_NULL;
	bool tables_empty = sqlite3_column_type(probe_st, 1) == SQLITE_NULL &&
			    sqlite3_column_type(probe_st, 2) == SQLITE_NULL;
	sqlite3_reset(probe_st);
	/* A first snapshot into empty tables: build the indexes once, sorted,
	 * after the rows (the transaction undoes the drop if the file fails).
	 * Foreign keys need those indexes, so their enforcement pauses for the
	 * load; the importer has checked every reference of the file (a FULL
	 * snapshot may only reference its own households) and the enforcement
	 * is back on when the transaction ends. */
	s->indexes_dropped = false;
	bool bulk = tables_empty && imp->full;
	if (bulk && exec_sql(s, "PRAGMA foreign_keys = OFF", e))
		return VIS_ERR_STORE;
	s->fk_paused = bulk;
	if (sq_begin(s, e))
		return VIS_ERR_STORE;
	if (bulk) {
		if (exec_sql(s, schema_register_indexes_drop, e))
			return VIS_ERR_STORE;
		s->indexes_dropped = true;
	}
	sqlite3_stmt *st = stmt_get(s, SQL_IMPORT_INSERT, e);
	if (!st)
		return VIS_ERR_STORE;
	bind_text(st, 1, imp->comune);
	sqlite3_bind_int64(st, 2, imp->seq);
	bind_text(st, 3, imp->full ? "FULL" : "DELTA");
	sqlite3_bind_int64(st, 4, imp->extract);
	bind_text(st, 5, imp->sha256);
	bind_text(st, 6, imp->source);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)time(NULL));
	if (stmt_done(s, st, e, "record import"))
		return VIS_ERR_STORE;
	*import_id = sqlite3_last_insert_rowid(s->db);
	return VIS_OK;
}

vis_err sq_family_exists(struct sq_store *s, const char *comune, const char *id,
			    bool *found, struct vis_error *e)
{
	return probe(s, SQL_FAMILY_EXISTS, comune, id, NULL, 0, found, e);
}

vis_err sq_person_exists(struct sq_store *s, const char *comune, const char *id,
			    bool *found, struct vis_error *e)
{
	return probe(s, SQL_PERSON_EXISTS, comune, id, NULL, 0, found, e);
}

vis_err sq_person_cf_owner(struct sq_store *s, const char *comune, const char *cf,
			      char id_out[STORE_ID_MAX], bool *found,
			      struct vis_error *e)
{
	return probe(s, SQL_PERSON_CF_OWNER, comune, cf, id_out, STORE_ID_MAX, found, e);
}

vis_err sq_person_cf_elsewhere(struct sq_store *s, const char *comune, const char *cf,
			       char comune_out[7], bool *found, struct vis_error *e)
{
	return probe(s, SQL_PERSON_CF_ELSEWHERE, comune, cf, comune_out, 7, found, e);
}

/* ---- households ---- */

static void family_bind(sqlite3_stmt *st, const struct store_family *f)
{
	bind_text(st, 1, f->comune);
	bind_text(st, 2, f->id);
	sqlite3_bind_int(st, 3, f->kind);
	sqlite3_bind_int(st, 4, f->valid_from);
	bind_text(st, 5, f->dug);
	bind_text(st, 6, f->street);
	sqlite3_bind_int(st, 7, f->civic);
	bind_text(st, 8, f->civic_ext);
	bind_text(st, 9, f->scala);
	bind_text(st, 10, f->interno);
	bind_text(st, 11, f->cap);
	bind_text(st, 12, f->locality);
	bind_text(st, 13, f->convivenza);
}

static void family_read(sqlite3_stmt *st, int c, struct store_family *f)
{
	copy_col(st, c + 0, f->comune, sizeof f->comune);
	copy_col(st, c + 1, f->id, sizeof f->id);
	f->kind = sqlite3_column_int(st, c + 2);
	f->valid_from = sqlite3_column_int(st, c + 3);
	copy_col(st, c + 4, f->dug, sizeof f->dug);
	copy_col(st, c + 5, f->street, sizeof f->street);
	f->civic = sqlite3_column_int(st, c + 6);
	copy_col(st, c + 7, f->civic_ext, sizeof f->civic_ext);
	copy_col(st, c + 8, f->scala, sizeof f->scala);
	copy_col(st, c + 9, f->interno, sizeof f->interno);
	copy_col(st, c + 10, f->cap, sizeof f->cap);
	copy_col(st, c + 11, f->locality, sizeof f->locality);
	copy_col(st, c + 12, f->convivenza, sizeof f->convivenza);
	f->valid_to = sqlite3_column_int(st, c + 13);
}

/* Looks up the current version of a record: its rowid, its content read by
 * `read`, and whether it was dropped from the feed. */
static vis_err current_get(struct sq_store *s, int id, const char *comune,
			   const char *local_id, void (*read)(sqlite3_stmt *, int, void *),
			   void *out, int ncols, int64_t *rowid, bool *dropped,
			   struct vis_error *e)
{
	sqlite3_stmt *st = stmt_get(s, id, e);
	if (!st)
		return VIS_ERR_STORE;
	bind_text(st, 1, comune);
	bind_text(st, 2, local_id);
	int rc = sqlite3_step(st);
	*rowid = 0;
	if (rc == SQLITE_ROW) {
		*rowid = sqlite3_column_int64(st, 0);
		read(st, 1, out);
		*dropped = sqlite3_column_int(st, 1 + ncols) != 0;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "current version");
}

static void family_read_any(sqlite3_stmt *st, int c, void *out)
{
	family_read(st, c, out);
}

static vis_err mark_seen(struct sq_store *s, int id, int64_t rowid,
			 int64_t import_id, struct vis_error *e)
{
	sqlite3_stmt *st = stmt_get(s, id, e);
	if (!st)
		return VIS_ERR_STORE;
	sqlite3_bind_int64(st, 1, rowid);
	sqlite3_bind_int64(st, 2, import_id);
	return stmt_done(s, st, e, "mark seen");
}

/* Copies the current version into history, closed on `valid_to`. */
static vis_err to_history(struct sq_store *s, int id, int64_t rowid, int valid_to,
			  struct vis_error *e)
{
	sqlite3_stmt *st = stmt_get(s, id, e);
	if (!st)
		return VIS_ERR_STORE;
	sqlite3_bind_int64(st, 1, rowid);
	sqlite3_bind_int(st, 2, valid_to);
	return stmt_done(s, st, e, "close version");
}

/* The statements that write one versioned kind (households, persons). */
struct version_stmts {
	int to_history, update, insert;
};

/* Opens the statement that writes a changed record. An existing row
 * (`rowid`) is first copied into history and then updated in place; a new
 * key is inserted. Corrections never rewrite the past: a new version starts
 * no earlier than the one it replaces, so `*valid_from` may move forward. */
static sqlite3_stmt *version_open(struct sq_store *s, const struct version_stmts *k,
				  int64_t rowid, int cur_valid_from, int *valid_from,
				  enum store_put_result *res, struct vis_error *e)
{
	if (!rowid) {
		*res = STORE_INSERTED;
		return stmt_get(s, k->insert, e);
	}
	if (*valid_from < cur_valid_from)
		*valid_from = cur_valid_from;
	if (to_history(s, k->to_history, rowid, *valid_from, e))
		return NULL;
	*res = STORE_UPDATED;
	return stmt_get(s, k->update, e);
}

vis_err sq_family_put(struct sq_store *s, int64_t import_id, bool bulk,
			 const struct store_family *f, enum store_put_result *res,
			 struct vis_error *e)
{
	struct store_family cur;
	int64_t rowid = 0;
	bool dropped = false;
	if (!bulk && current_get(s, SQL_FAMILY_GET_CURRENT, f->comune, f->id, family_read_any,
				 &cur, 13, &rowid, &dropped, e))
		return VIS_ERR_STORE;
	if (rowid && !dropped && rec_family_same(&cur, f)) {
		*res = STORE_UNCHANGED;
		return mark_seen(s, SQL_FAMILY_SEEN, rowid, import_id, e);
	}
	static const struct version_stmts family_stmts = {
		SQL_FAMILY_TO_HISTORY, SQL_FAMILY_UPDATE, SQL_FAMILY_INSERT};
	struct store_family next = *f;
	sqlite3_stmt *st = version_open(s, &family_stmts, rowid, rowid ? cur.valid_from : 0,
					&next.valid_from, res, e);
	if (!st)
		return VIS_ERR_STORE;
	family_bind(st, &next);
	sqlite3_bind_int64(st, 14, import_id);
	return stmt_done(s, st, e, "store household");
}

/* ---- persons ---- */

static void bind_opt(sqlite3_stmt *st, int i, const char *v)
{
	if (*v)
		bind_text(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static void person_bind(sqlite3_stmt *st, const struct store_person *p)
{
	static const char sex[2][2] = {"F", "M"};
	bind_text(st, 1, p->comune);
	bind_text(st, 2, p->id);
	sqlite3_bind_int(st, 3, p->valid_from);
	bind_text(st, 4, p->cf);
	bind_text(st, 5, p->surname);
	bind_text(st, 6, p->name);
	bind_text(st, 7, sex[p->sex == 'M']);
	sqlite3_bind_int(st, 8, p->birth_date);
	bind_text(st, 9, p->birth_place);
	bind_text(st, 10, p->citizenships);
	sqlite3_bind_int(st, 11, p->civil_status);
	sqlite3_bind_int(st, 12, p->civil_status_date);
	bind_text(st, 13, p->father_cf);
	bind_text(st, 14, p->mother_cf);
	sqlite3_bind_int(st, 15, p->reg_reason);
	sqlite3_bind_int(st, 16, p->reg_date);
	sqlite3_bind_int(st, 17, p->canc_reason);
	sqlite3_bind_int(st, 18, p->canc_date);
	bind_text(st, 19, p->destination);
	bind_opt(st, 20, p->family_id);
	sqlite3_bind_int(st, 21, p->relationship);
}

static void person_read(sqlite3_stmt *st, int c, struct store_person *p)
{
	copy_col(st, c + 0, p->comune, sizeof p->comune);
	copy_col(st, c + 1, p->id, sizeof p->id);
	p->valid_from = sqlite3_column_int(st, c + 2);
	copy_col(st, c + 3, p->cf, sizeof p->cf);
	copy_col(st, c + 4, p->surname, sizeof p->surname);
	copy_col(st, c + 5, p->name, sizeof p->name);
	const unsigned char *sex = sqlite3_column_text(st, c + 6);
	p->sex = sex && *sex == 'M' ? 'M' : 'F';
	p->birth_date = sqlite3_column_int(st, c + 7);
	copy_col(st, c + 8, p->birth_place, sizeof p->birth_place);
	copy_col(st, c + 9, p->citizenships, sizeof p->citizenships);
	p->civil_status = sqlite3_column_int(st, c + 10);
	p->civil_status_date = sqlite3_column_int(st, c + 11);
	copy_col(st, c + 12, p->father_cf, sizeof p->father_cf);
	copy_col(st, c + 13, p->mother_cf, sizeof p->mother_cf);
	p->reg_reason = sqlite3_column_int(st, c + 14);
	p->reg_date = sqlite3_column_int(st, c + 15);
	p->canc_reason = sqlite3_column_int(st, c + 16);
	p->canc_date = sqlite3_column_int(st, c + 17);
	copy_col(st, c + 18, p->destination, sizeof p->destination);
	copy_col(st, c + 19, p->family_id, sizeof p->family_id);
	p->relationship = sqlite3_column_int(st, c + 20);
	p->valid_to = sqlite3_column_int(st, c + 21);
}

static void person_read_any(sqlite3_stmt *st, int c, void *out)
{
	person_read(st, c, out);
}

vis_err sq_person_put(struct sq_store *s, int64_t import_id, bool bulk,
			 const struct store_person *p, enum store_put_result *res,
			 struct vis_error *e)
{
	struct store_person cur;
	int64_t rowid = 0;
	bool dropped = false;
	if (!bulk && current_get(s, SQL_PERSON_GET_CURRENT, p->comune, p->id, person_read_any,
				 &cur, P_NCOLS, &rowid, &dropped, e))
		return VIS_ERR_STORE;
	if (rowid && !dropped && rec_person_same(&cur, p)) {
		*res = STORE_UNCHANGED;
		return mark_seen(s, SQL_PERSON_SEEN, rowid, import_id, e);
	}
	/* Fold the search keys before any write, so invalid text changes nothing. */
	char skey[STORE_NAME_MAX], nkey[STORE_NAME_MAX];
	if (text_fold_letters(p->surname, strlen(p->surname), skey, sizeof skey) < 0 ||
	    text_fold_letters(p->name, strlen(p->name), nkey, sizeof nkey) < 0)
		return vis_error_set(e, VIS_ERR_INVALID, "person %s: name is not valid text", p->id);
	static const struct version_stmts person_stmts = {
		SQL_PERSON_TO_HISTORY, SQL_PERSON_UPDATE, SQL_PERSON_INSERT};
	struct store_person next = *p;
	sqlite3_stmt *st = version_open(s, &person_stmts, rowid, rowid ? cur.valid_from : 0,
					&next.valid_from, res, e);
	if (!st)
		return VIS_ERR_STORE;
	person_bind(st, &next);
	bind_text(st, 22, skey);
	bind_text(st, 23, nkey);
	sqlite3_bind_int64(st, 24, import_id);
	return stmt_done(s, st, e, "store person");
}

/* ---- events ---- */

vis_err sq_event_put(struct sq_store *s, int64_t import_id,
			const struct store_event *ev, enum store_put_result *res,
			struct vis_error *e)
{
	sqlite3_stmt *st = stmt_get(s, SQL_EVENT_GET, e);
	if (!st)
		return VIS_ERR_STORE;
	bind_text(st, 1, ev->comune);
	bind_text(st, 2, ev->id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		struct store_event cur;
		copy_col(st, 0, cur.type, sizeof cur.type);
		cur.date = sqlite3_column_int(st, 1);
		copy_col(st, 2, cur.person_id, sizeof cur.person_id);
		copy_col(st, 3, cur.place, sizeof cur.place);
		copy_col(st, 4, cur.other_cf, sizeof cur.other_cf);
		sqlite3_reset(st);
		if (strcmp(cur.type, ev->type) || cur.date != ev->date ||
		    strcmp(cur.person_id, ev->person_id) || strcmp(cur.place, ev->place) ||
		    strcmp(cur.other_cf, ev->other_cf))
			return vis_error_set(e, VIS_ERR_CONFLICT,
					     "event id already used for another event");
		*res = STORE_UNCHANGED;
		return VIS_OK;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_error(s, e, "event look-up");
	st = stmt_get(s, SQL_EVENT_INSERT, e);
	if (!st)
		return VIS_ERR_STORE;
	bind_text(st, 1, ev->comune);
	bind_text(st, 2, ev->id);
	bind_text(st, 3, ev->type);
	sqlite3_bind_int(st, 4, ev->date);
	bind_text(st, 5, ev->person_id);
	bind_text(st, 6, ev->place);
	bind_text(st, 7, ev->other_cf);
	sqlite3_bind_int64(st, 8, import_id);
	*res = STORE_INSERTED;
	return stmt_done(s, st, e, "store event");
}

static vis_err drop_unseen(struct sq_store *s, int id, const char *comune,
			   int64_t import_id, int close_date, int64_t *closed,
			   struct vis_error *e)
{
	sqlite3_stmt *st = stmt_get(s, id, e);
	if (!st)
		return VIS_ERR_STORE;
	bind_text(st, 1, comune);
	sqlite3_bind_int64(st, 2, import_id);
	sqlite3_bind_int(st, 3, close_date);
	if (stmt_done(s, st, e, "close unlisted records"))
		return VIS_ERR_STORE;
	*closed += sqlite3_changes(s->db);
	return VIS_OK;
}

vis_err sq_import_finish(struct sq_store *s, int64_t import_id,
			    const struct store_import *imp, int close_date,
			    struct store_import_counts *c, struct vis_error *e)
{
	if (s->indexes_dropped) {
		s->indexes_dropped = false;
		if (exec_sql(s, schema_register_indexes, e))
			return vis_error_set(e, VIS_ERR_CONFLICT, "rebuilding indexes: %s", e ? e->msg : "");
	}
	if (imp->full &&
	    (drop_unseen(s, SQL_PERSON_DROP, imp->comune, import_id, close_date, &c->closed, e) ||
	     drop_unseen(s, SQL_FAMILY_DROP, imp->comune, import_id, close_date, &c->closed, e)))
		return VIS_ERR_STORE;
	sqlite3_stmt *st = stmt_get(s, SQL_IMPORT_FINISH, e);
	if (!st)
		return VIS_ERR_STORE;
	sqlite3_bind_int64(st, 1, import_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
	sqlite3_bind_int64(st, 3, c->inserted);
	sqlite3_bind_int64(st, 4, c->updated);
	sqlite3_bind_int64(st, 5, c->unchanged);
	sqlite3_bind_int64(st, 6, c->closed);
	sqlite3_bind_int64(st, 7, c->families);
	sqlite3_bind_int64(st, 8, c->persons);
	sqlite3_bind_int64(st, 9, c->events);
	bind_text(st, 10, imp->sha256);
	if (stmt_done(s, st, e, "finish import"))
		return VIS_ERR_STORE;
	st = stmt_get(s, SQL_FEED_PUT, e);
	if (!st)
		return VIS_ERR_STORE;
	bind_text(st, 1, imp->comune);
	sqlite3_bind_int64(st, 2, imp->seq);
	sqlite3_bind_int64(st, 3, imp->extract);
	sqlite3_bind_int64(st, 4, import_id);
	return stmt_done(s, st, e, "feed state");
}

/* ---- reading ---- */

/* Runs one count of a municipality's records as of a date; the statement
 * is left on its row for the caller to read, then reset. */
static sqlite3_stmt *count_step(struct sq_store *s, int id, const char *comune,
				int date, const char *what, struct vis_error *e)
{
	sqlite3_stmt *st = stmt_get(s, id, e);
	if (!st)
		return NULL;
	bind_text(st, 1, comune);
	sqlite3_bind_int(st, 2, rec_as_of(date));
	if (sqlite3_step(st) != SQLITE_ROW) {
		db_error(s, e, what);
		return NULL;
	}
	return st;
}

vis_err sq_counts_get(struct sq_store *s, const char *comune, int date,
			 struct store_counts *out, struct vis_error *e)
{
	sqlite3_stmt *st;
	memset(out, 0, sizeof *out);
	if (!(st = count_step(s, SQL_COUNT_PERSONS, comune, date, "count persons", e)))
		return VIS_ERR_STORE;
	out->persons = sqlite3_column_int64(st, 0);
	out->cancelled = sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	if (!(st = count_step(s, SQL_COUNT_FAMILIES, comune, date, "count households", e)))
		return VIS_ERR_STORE;
	out->families = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (!(st = count_step(s, SQL_COUNT_EVENTS, comune, date, "count events", e)))
		return VIS_ERR_STORE;
	out->events = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return VIS_OK;
}

vis_err sq_person_by_cf(struct sq_store *s, const char *comune, const char *cf,
			   int date, struct store_person *out, bool *found,
			   struct vis_error *e)
{
	sqlite3_stmt *st = stmt_get(s, SQL_PERSON_BY_CF, e);
	if (!st)
		return VIS_ERR_STORE;
	bind_text(st, 1, comune);
	sqlite3_bind_int(st, 2, rec_as_of(date));
	bind_text(st, 3, cf);
	int rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	if (*found)
		person_read(st, 0, out);
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "person look-up");
}

/* Steps a statement, handing every row to fn as a person. */
static vis_err each_person(struct sq_store *s, sqlite3_stmt *st, store_person_fn fn,
			   void *ctx, struct vis_error *e)
{
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_person p;
		person_read(st, 0, &p);
		if (fn(ctx, &p) != 0)
			break;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "person rows");
}

vis_err sq_person_history(struct sq_store *s, const char *comune, const char *id,
			     store_person_fn fn, void *ctx, struct vis_error *e)
{
	sqlite3_stmt *st = stmt_get(s, SQL_PERSON_HISTORY, e);
	if (!st)
		return VIS_ERR_STORE;
	bind_text(st, 1, comune);
	bind_text(st, 2, id);
	return each_person(s, st, fn, ctx, e);
}

vis_err sq_family_get(struct sq_store *s, const char *comune, const char *id,
			 int date, struct store_family *out, bool *found,
			 struct vis_error *e)
{
	sqlite3_stmt *st = stmt_get(s, SQL_FAMILY_AT, e);
	if (!st)
		return VIS_ERR_STORE;
	bind_text(st, 1, comune);
	sqlite3_bind_int(st, 2, rec_as_of(date));
	bind_text(st, 3, id);
	int rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	if (*found)
		family_read(st, 0, out);
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "household look-up");
}

vis_err sq_family_members(struct sq_store *s, const char *comune, const char *id,
			     int date, store_person_fn fn, void *ctx,
			     struct vis_error *e)
{
	sqlite3_stmt *st = stmt_get(s, SQL_FAMILY_MEMBERS, e);
	if (!st)
		return VIS_ERR_STORE;
	bind_text(st, 1, comune);
	sqlite3_bind_int(st, 2, rec_as_of(date));
	bind_text(st, 3, id);
	return each_person(s, st, fn, ctx, e);
}

/* ---- control records (generic over store/records.h) ---- */

enum rec_op { RO_INSERT, RO_UPDATE, RO__COUNT };

#define REC_GET_CACHE 32

struct rec_get_entry {
	enum store_kind kind;
	const char *col;      /* the descriptor's name pointer: compared by address */
	sqlite3_stmt *st;
};

struct rec_cache {
	sqlite3_stmt *op[STORE_KIND__COUNT][RO__COUNT];
	struct rec_get_entry get[REC_GET_CACHE];
	int nget;
};

static struct rec_cache *rec_cache(struct sq_store *s)
{
	if (!s->recs)
		s->recs = calloc(1, sizeof *s->recs);
	return s->recs;
}

static void rec_cache_free(struct rec_cache *c)
{
	if (!c)
		return;
	for (int k = 0; k < STORE_KIND__COUNT; k++)
		for (int o = 0; o < RO__COUNT; o++)
			sqlite3_finalize(c->op[k][o]);
	for (int i = 0; i < c->nget; i++)
		sqlite3_finalize(c->get[i].st);
	free(c);
}

static sqlite3_stmt *rec_prepare(struct sq_store *s, const char *sql, struct vis_error *e)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		db_error(s, e, "prepare");
		return NULL;
	}
	return st;
}

static sqlite3_stmt *rec_op_stmt(struct sq_store *s, enum store_kind k, enum rec_op op,
				 struct vis_error *e)
{
	struct rec_cache *c = rec_cache(s);
	if (!c) {
		vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (c->op[k][op]) {
		sqlite3_reset(c->op[k][op]);
		sqlite3_clear_bindings(c->op[k][op]);
		return c->op[k][op];
	}
	char sql[2048];
	if (op == RO_INSERT)
		rec_sql_insert(&store_rec_descs[k], sql, sizeof sql);
	else
		rec_sql_update(&store_rec_descs[k], sql, sizeof sql);
	c->op[k][op] = rec_prepare(s, sql, e);
	return c->op[k][op];
}

/* Binds fields [first, ncols) of rec from parameter 1 on. */
static vis_err rec_bind(const struct rec_desc *d, sqlite3_stmt *st, const void *rec,
			size_t first, struct vis_error *e)
{
	int p = 1;
	for (size_t i = first; i < d->ncols; i++, p++) {
		const struct rec_col *col = &d->cols[i];
		const char *f = (const char *)rec + col->offset;
		switch (col->type) {
		case RC_I64: sqlite3_bind_int64(st, p, *(const int64_t *)f); break;
		case RC_INT: sqlite3_bind_int(st, p, *(const int *)f); break;
		case RC_BOOL: sqlite3_bind_int(st, p, *(const bool *)f); break;
		case RC_TEXT:
			if (strnlen(f, col->size) == col->size)
				return vis_error_set(e, VIS_ERR_INVALID, "%s.%s is not terminated",
						     d->table, col->name);
			bind_text(st, p, f);
			break;
		}
	}
	return VIS_OK;
}

static void rec_read(const struct rec_desc *d, sqlite3_stmt *st, void *rec)
{
	memset(rec, 0, d->struct_size);
	for (size_t i = 0; i < d->ncols; i++) {
		const struct rec_col *col = &d->cols[i];
		char *f = (char *)rec + col->offset;
		switch (col->type) {
		case RC_I64: *(int64_t *)f = sqlite3_column_int64(st, (int)i); break;
		case RC_INT: *(int *)f = sqlite3_column_int(st, (int)i); break;
		case RC_BOOL: *(bool *)f = sqlite3_column_int(st, (int)i) != 0; break;
		case RC_TEXT: copy_col(st, (int)i, f, col->size); break;
		}
	}
}

vis_err sq_rec_insert(struct sq_store *s, enum store_kind k, const void *rec,
			 int64_t *id, struct vis_error *e)
{
	const struct rec_desc *d = &store_rec_descs[k];
	sqlite3_stmt *st = rec_op_stmt(s, k, RO_INSERT, e);
	if (!st)
		return VIS_ERR_STORE;
	vis_err rc = rec_bind(d, st, rec, 1, e);
	if (rc == VIS_OK)
		rc = stmt_done(s, st, e, d->table);
	if (rc == VIS_OK && id)
		*id = sqlite3_last_insert_rowid(s->db);
	return rc;
}

vis_err sq_rec_update(struct sq_store *s, enum store_kind k, const void *rec,
			 struct vis_error *e)
{
	const struct rec_desc *d = &store_rec_descs[k];
	sqlite3_stmt *st = rec_op_stmt(s, k, RO_UPDATE, e);
	if (!st)
		return VIS_ERR_STORE;
	vis_err rc = rec_bind(d, st, rec, 1, e);
	if (rc != VIS_OK)
		return rc;
	sqlite3_bind_int64(st, (int)d->ncols, *(const int64_t *)rec);
	return stmt_done(s, st, e, d->table);
}

vis_err sq_rec_get(struct sq_store *s, enum store_kind k, const char *colname,
		      const char *text, int64_t num, void *out, bool *found,
		      struct vis_error *e)
{
	const struct rec_desc *d = &store_rec_descs[k];
	const struct rec_col *col = rec_col_find(d, colname);
	struct rec_cache *c = rec_cache(s);
	if (!col)
		return vis_error_set(e, VIS_ERR_INTERNAL, "%s has no column %s", d->table, colname);
	if (!c)
		return vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
	sqlite3_stmt *st = NULL;
	for (int i = 0; i < c->nget && !st; i++)
		if (c->get[i].kind == k && c->get[i].col == col->name)
			st = c->get[i].st;
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	} else {
		char sql[2048];
		rec_sql_get(d, col, sql, sizeof sql);
		if (!(st = rec_prepare(s, sql, e)))
			return VIS_ERR_STORE;
		if (c->nget < REC_GET_CACHE)
			c->get[c->nget++] = (struct rec_get_entry){k, col->name, st};
	}
	if (text)
		bind_text(st, 1, text);
	else
		sqlite3_bind_int64(st, 1, num);
	int rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	if (*found)
		rec_read(d, st, out);
	sqlite3_reset(st);
	bool cached = false;
	for (int i = 0; i < c->nget; i++)
		cached = cached || c->get[i].st == st;
	if (!cached)
		sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? VIS_OK : db_error(s, e, d->table);
}

vis_err sq_rec_list(struct sq_store *s, enum store_kind k,
		       const struct store_filter *filters, int limit,
		       store_rec_fn fn, void *ctx, struct vis_error *e)
{
	const struct rec_desc *d = &store_rec_descs[k];
	char sql[2048];
	int nf = rec_sql_list(d, filters, limit, sql, sizeof sql, e);
	if (nf < 0)
		return VIS_ERR_INTERNAL;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "prepare list");
	for (int i = 0; i < nf; i++) {
		if (filters[i].text)
			bind_text(st, i + 1, filters[i].text);
		else
			sqlite3_bind_int64(st, i + 1, filters[i].num);
	}
	void *rec = malloc(d->struct_size);
	int rc = SQLITE_DONE;
	while (rec && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rec_read(d, st, rec);
		if (fn(ctx, rec) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	free(rec);
	sqlite3_finalize(st);
	if (!rec)
		return vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
	return rc == SQLITE_DONE ? VIS_OK : db_error(s, e, d->table);
}

static vis_err exec_bound(struct sq_store *s, const char *sql, int64_t a, int64_t b,
			  struct vis_error *e);

vis_err sq_rec_delete(struct sq_store *s, enum store_kind k, int64_t id, struct vis_error *e)
{
	if (k != STORE_PROCESSING)
		return vis_error_set(e, VIS_ERR_INTERNAL, "records of this kind are never deleted");
	return exec_bound(s, store_sql[SQL_REC_DELETE], id, 0, e);
}

static vis_err exec_bound(struct sq_store *s, const char *sql, int64_t a, int64_t b,
			  struct vis_error *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, b);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "update");
}

vis_err sq_sessions_revoke_account(struct sq_store *s, int64_t account_id,
				      int64_t now, struct vis_error *e)
{
	return exec_bound(s, store_sql[SQL_SESSIONS_REVOKE_ACCOUNT], account_id, now, e);
}

vis_err sq_account_totp_advance(struct sq_store *s, int64_t account_id, int64_t step,
				   bool *advanced, struct vis_error *e)
{
	*advanced = false;
	vis_err rc = exec_bound(s, store_sql[SQL_ACCOUNT_TOTP_ADVANCE], account_id, step, e);
	if (rc == VIS_OK)
		*advanced = sqlite3_changes(s->db) == 1;
	return rc;
}

vis_err sq_sessions_revoke_others(struct sq_store *s, int64_t account_id, int64_t keep_id,
				    int64_t now, struct vis_error *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, store_sql[SQL_SESSIONS_REVOKE_OTHERS], -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_int64(st, 2, keep_id);
	sqlite3_bind_int64(st, 3, now);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "revoke sessions");
}

vis_err sq_tokens_revoke_account(struct sq_store *s, int64_t account_id,
				    int64_t now, struct vis_error *e)
{
	return exec_bound(s, store_sql[SQL_TOKENS_REVOKE_ACCOUNT], account_id, now, e);
}

vis_err sq_password_history(struct sq_store *s, int64_t account_id,
			       char (*hashes)[128], int max, int *n,
			       struct vis_error *e)
{
	sqlite3_stmt *st;
	*n = 0;
	if (sqlite3_prepare_v2(s->db, store_sql[SQL_PASSWORD_HISTORY], -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_int(st, 2, max);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max)
		copy_col(st, 0, hashes[(*n)++], 128);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? VIS_OK : db_error(s, e, "password history");
}

vis_err sq_password_history_add(struct sq_store *s, int64_t account_id,
				   const char *hash, int64_t at, struct vis_error *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, store_sql[SQL_PASSWORD_HISTORY_ADD], -1,
			       &st, NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	sqlite3_bind_int64(st, 1, account_id);
	bind_text(st, 2, hash);
	sqlite3_bind_int64(st, 3, at);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "password history");
}

vis_err sq_throttle_get(struct sq_store *s, const char *key, struct store_throttle *out,
			   struct vis_error *e)
{
	sqlite3_stmt *st;
	memset(out, 0, sizeof *out);
	if (sqlite3_prepare_v2(s->db, store_sql[SQL_THROTTLE_GET], -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	bind_text(st, 1, key);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->failures = sqlite3_column_int(st, 0);
		out->last_failure_at = sqlite3_column_int64(st, 1);
		out->locked_until = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "throttle");
}

vis_err sq_throttle_put(struct sq_store *s, const char *key,
			   const struct store_throttle *t, struct vis_error *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, store_sql[SQL_THROTTLE_PUT], -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	bind_text(st, 1, key);
	sqlite3_bind_int(st, 2, t->failures);
	sqlite3_bind_int64(st, 3, t->last_failure_at);
	sqlite3_bind_int64(st, 4, t->locked_until);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "throttle");
}

vis_err sq_setting_get(struct sq_store *s, const char *key, char *out, size_t cap,
			  bool *found, struct vis_error *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, store_sql[SQL_SETTING_GET], -1, &st,
			       NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	bind_text(st, 1, key);
	int rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	if (*found)
		copy_col(st, 0, out, cap);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "setting");
}

vis_err sq_setting_put(struct sq_store *s, const char *key, const char *value,
			  struct vis_error *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, store_sql[SQL_SETTING_PUT], -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	bind_text(st, 1, key);
	bind_text(st, 2, value);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "setting");
}

/* ---- register searches ---- */

vis_err sq_person_versions_at(struct sq_store *s, const char *cf, int date,
				 store_person_fn fn, void *ctx, struct vis_error *e)
{
	sqlite3_stmt *st = s->search[0];
	if (!st && !(st = s->search[0] = rec_prepare(s, store_sql[SQL_PERSON_VERSIONS_AT], e)))
		return VIS_ERR_STORE;
	sqlite3_reset(st);
	bind_text(st, 1, "");
	sqlite3_bind_int(st, 2, rec_as_of(date));
	bind_text(st, 3, cf);
	return each_person(s, st, fn, ctx, e);
}

vis_err sq_person_search(struct sq_store *s, const struct store_search *q,
			    store_person_fn fn, void *ctx, struct vis_error *e)
{
	int m = (int)q->mode;
	if (m < 0 || m > 2)
		return vis_error_set(e, VIS_ERR_INTERNAL, "bad search mode");
	sqlite3_stmt *st = s->search[1 + m];
	if (!st && !(st = s->search[1 + m] = rec_prepare(s, store_sql[SQL_SEARCH_EXACT + m], e)))
		return VIS_ERR_STORE;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	bind_text(st, 1, q->surname_key);
	bind_text(st, 2, q->name_key);
	sqlite3_bind_int(st, 3, q->birth_date);
	sqlite3_bind_int(st, 4, q->birth_year);
	bind_text(st, 5, q->comune);
	sqlite3_bind_int(st, 6, q->limit);
	return each_person(s, st, fn, ctx, e);
}

/* ---- the access trail ---- */


vis_err sq_access_last(struct sq_store *s, int64_t *id, char hash[65], struct vis_error *e)
{
	sqlite3_stmt *st = s->search[4];
	if (!st && !(st = s->search[4] = rec_prepare(
			     s, store_sql[SQL_ACCESS_LAST], e)))
		return VIS_ERR_STORE;
	sqlite3_reset(st);
	int rc = sqlite3_step(st);
	*id = 0;
	hash[0] = '\0';
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		copy_col(st, 1, hash, 65);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "access trail");
}

vis_err sq_access_insert(struct sq_store *s, const struct store_access *a,
			    struct vis_error *e)
{
	sqlite3_stmt *st = s->search[5];
	if (!st && !(st = s->search[5] = rec_prepare(
			     s, store_sql[SQL_ACCESS_INSERT], e)))
		return VIS_ERR_STORE;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, a->id);
	sqlite3_bind_int64(st, 2, a->at);
	sqlite3_bind_int64(st, 3, a->account_id);
	bind_text(st, 4, a->username);
	sqlite3_bind_int64(st, 5, a->ente_id);
	sqlite3_bind_int64(st, 6, a->convenzione_id);
	sqlite3_bind_int64(st, 7, a->purpose_id);
	bind_text(st, 8, a->case_ref);
	bind_text(st, 9, a->on_behalf_of);
	bind_text(st, 10, a->ip);
	bind_text(st, 11, a->operation);
	bind_text(st, 12, a->query);
	bind_text(st, 13, a->subjects ? a->subjects : "");
	bind_text(st, 14, a->categories);
	bind_text(st, 15, a->outcome);
	sqlite3_bind_int(st, 16, a->status);
	bind_text(st, 17, a->flags);
	bind_text(st, 18, a->workstation);
	bind_text(st, 19, a->prev_hash);
	bind_text(st, 20, a->hash);
	if (stmt_done(s, st, e, "access record"))
		return VIS_ERR_STORE;
	sqlite3_stmt *sub = s->search[6];
	if (!sub && !(sub = s->search[6] = rec_prepare(
			      s, store_sql[SQL_ACCESS_SUBJECT_INSERT], e)))
		return VIS_ERR_STORE;
	for (const char *p = a->subjects ? a->subjects : ""; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		sqlite3_reset(sub);
		sqlite3_bind_int64(sub, 1, a->id);
		sqlite3_bind_text(sub, 2, p, (int)n, SQLITE_TRANSIENT);
		if (stmt_done(s, sub, e, "access subject"))
			return VIS_ERR_STORE;
		p += n + (end ? 1 : 0);
	}
	return VIS_OK;
}

vis_err sq_tree_put(struct sq_store *s, int level, int64_t idx, const char hash[65],
		    struct vis_error *e)
{
	sqlite3_stmt *st = s->search[8];
	if (!st && !(st = s->search[8] = rec_prepare(s, store_sql[SQL_TREE_PUT], e)))
		return VIS_ERR_STORE;
	sqlite3_reset(st);
	sqlite3_bind_int(st, 1, level);
	sqlite3_bind_int64(st, 2, idx);
	bind_text(st, 3, hash);
	return stmt_done(s, st, e, "trail tree") ? VIS_ERR_STORE : VIS_OK;
}

vis_err sq_tree_get(struct sq_store *s, int level, int64_t idx, char hash[65], bool *found,
		    struct vis_error *e)
{
	sqlite3_stmt *st = s->search[9];
	if (!st && !(st = s->search[9] = rec_prepare(s, store_sql[SQL_TREE_GET], e)))
		return VIS_ERR_STORE;
	sqlite3_reset(st);
	sqlite3_bind_int(st, 1, level);
	sqlite3_bind_int64(st, 2, idx);
	int rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	hash[0] = '\0';
	if (*found)
		copy_col(st, 0, hash, 65);
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "trail tree");
}

vis_err sq_head_insert(struct sq_store *s, const struct store_head *h, struct vis_error *e)
{
	sqlite3_stmt *st = s->search[10];
	if (!st && !(st = s->search[10] = rec_prepare(s, store_sql[SQL_HEAD_INSERT], e)))
		return VIS_ERR_STORE;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, h->size);
	sqlite3_bind_int64(st, 2, h->at);
	bind_text(st, 3, h->root);
	bind_text(st, 4, h->note);
	return stmt_done(s, st, e, "trail head") ? VIS_ERR_STORE : VIS_OK;
}

static vis_err head_rows(struct sq_store *s, enum sql_id q, store_head_fn fn, void *ctx,
			 struct vis_error *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, store_sql[q], -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	struct store_head *h = malloc(sizeof *h);
	int rc = SQLITE_NOMEM;
	while (h && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		h->size = sqlite3_column_int64(st, 0);
		h->at = sqlite3_column_int64(st, 1);
		copy_col(st, 2, h->root, sizeof h->root);
		copy_col(st, 3, h->note, sizeof h->note);
		if (fn(ctx, h) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	free(h);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "trail heads");
}

static int head_copy(void *ctx, const struct store_head *h)
{
	memcpy(ctx, h, sizeof *h);
	return 1;
}

vis_err sq_head_last(struct sq_store *s, struct store_head *out, bool *found,
		     struct vis_error *e)
{
	out->size = -1;
	vis_err rc = head_rows(s, SQL_HEAD_LAST, head_copy, out, e);
	*found = out->size >= 0;
	return rc;
}

vis_err sq_head_each(struct sq_store *s, store_head_fn fn, void *ctx, struct vis_error *e)
{
	return head_rows(s, SQL_HEAD_EACH, fn, ctx, e);
}

vis_err sq_access_subject_each(struct sq_store *s, store_subject_row_fn fn, void *ctx,
			       struct vis_error *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, store_sql[SQL_ACCESS_SUBJECT_EACH], -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *cf = (const char *)sqlite3_column_text(st, 1);
		if (fn(ctx, sqlite3_column_int64(st, 0), cf ? cf : "") != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "access subjects");
}

static void access_read(sqlite3_stmt *st, struct store_access *a);

/* Runs a prepared, bound statement over access records, handing each to
 * fn (which stops it by returning non-zero); finalizes the statement. */
static vis_err access_rows(struct sq_store *s, sqlite3_stmt *st, store_access_fn fn, void *ctx,
			   const char *what, struct vis_error *e)
{
	struct store_access *a = malloc(sizeof *a);
	int rc = SQLITE_DONE;
	while (a && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		access_read(st, a);
		if (fn(ctx, a) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	free(a);
	sqlite3_finalize(st);
	if (!a)
		return vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
	return rc == SQLITE_DONE ? VIS_OK : db_error(s, e, what);
}

static vis_err access_query(struct sq_store *s, const char *sql, int64_t arg, store_access_fn fn,
			    void *ctx, struct vis_error *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	sqlite3_bind_int64(st, 1, arg);
	return access_rows(s, st, fn, ctx, "access trail", e);
}

vis_err sq_access_each(struct sq_store *s, int64_t from_id, store_access_fn fn, void *ctx,
			  struct vis_error *e)
{
	return access_query(s, store_sql[SQL_ACCESS_EACH],
			    from_id, fn, ctx, e);
}

vis_err sq_access_search(struct sq_store *s, const struct store_access_filter *f,
			    store_access_fn fn, void *ctx, struct vis_error *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, store_sql[SQL_ACCESS_SEARCH], -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	bind_text(st, 1, f->cf);
	sqlite3_bind_int64(st, 2, f->account_id);
	sqlite3_bind_int64(st, 3, f->ente_id);
	sqlite3_bind_int64(st, 4, f->purpose_id);
	sqlite3_bind_int64(st, 5, f->from_ms);
	sqlite3_bind_int64(st, 6, f->to_ms);
	sqlite3_bind_int(st, 7, f->limit > 0 ? f->limit : 1000000);
	return access_rows(s, st, fn, ctx, "access search", e);
}

vis_err sq_access_purge(struct sq_store *s, int64_t up_to_id, int64_t *removed,
			   struct vis_error *e)
{
	if (sq_begin(s, e))
		return VIS_ERR_STORE;
	if (exec_bound(s, store_sql[SQL_ACCESS_PURGE_SUBJECTS],
		       up_to_id, 0, e) ||
	    exec_bound(s, store_sql[SQL_ACCESS_PURGE], up_to_id, 0, e)) {
		sq_rollback(s);
		return VIS_ERR_STORE;
	}
	*removed = sqlite3_changes(s->db);
	return sq_commit(s, e);
}

vis_err sq_control_purge(struct sq_store *s, const int64_t before[3], int64_t now,
			  int64_t removed[3], struct vis_error *e)
{
	static const enum sql_id ids[3] = {SQL_PURGE_SECURITY_EVENTS, SQL_PURGE_SESSIONS,
					   SQL_PURGE_THROTTLE};
	for (int i = 0; i < 3; i++) {
		if (exec_bound(s, store_sql[ids[i]], before[i], now, e))
			return VIS_ERR_STORE;
		removed[i] = sqlite3_changes(s->db);
	}
	return VIS_OK;
}

vis_err sq_subject_code_put(struct sq_store *s, const char *code_hash, const char *cf,
			       int64_t created_by, int64_t now, int64_t expires_at,
			       struct vis_error *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, store_sql[SQL_SUBJECT_CODE_PUT],
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	bind_text(st, 1, code_hash);
	bind_text(st, 2, cf);
	sqlite3_bind_int64(st, 3, created_by);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, expires_at);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "subject code");
}

vis_err sq_subject_code_use(struct sq_store *s, const char *code_hash, int64_t now,
			       char cf[17], bool *ok, struct vis_error *e)
{
	sqlite3_stmt *st;
	*ok = false;
	if (sqlite3_prepare_v2(s->db, store_sql[SQL_SUBJECT_CODE_USE], -1, &st,
			       NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	bind_text(st, 1, code_hash);
	sqlite3_bind_int64(st, 2, now);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		copy_col(st, 0, cf, 17);
		*ok = true;
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "subject code");
}

struct access_one {
	struct store_access *out;
	bool found;
};

static int access_one(void *ctx, const struct store_access *a)
{
	struct access_one *o = ctx;
	*o->out = *a;
	o->out->subjects = "";   /* the statement's text ends with it */
	o->found = true;
	return 1;
}

vis_err sq_access_get(struct sq_store *s, int64_t id, struct store_access *out, bool *found,
			 struct vis_error *e)
{
	struct access_one o = {out, false};
	vis_err rc = access_query(s, store_sql[SQL_ACCESS_GET], id,
				  access_one, &o, e);
	*found = o.found;
	return rc;
}

vis_err sq_checkpoint_insert(struct sq_store *s, const struct store_checkpoint *c,
				struct vis_error *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, store_sql[SQL_CHECKPOINT_INSERT], -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	sqlite3_bind_int64(st, 1, c->at);
	sqlite3_bind_int64(st, 2, c->last_id);
	bind_text(st, 3, c->last_hash);
	bind_text(st, 4, c->signature);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "checkpoint");
}

vis_err sq_checkpoint_each(struct sq_store *s, store_checkpoint_fn fn, void *ctx,
			      struct vis_error *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, store_sql[SQL_CHECKPOINT_EACH], -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_checkpoint c;
		c.id = sqlite3_column_int64(st, 0);
		c.at = sqlite3_column_int64(st, 1);
		c.last_id = sqlite3_column_int64(st, 2);
		copy_col(st, 3, c.last_hash, sizeof c.last_hash);
		copy_col(st, 4, c.signature, sizeof c.signature);
		if (fn(ctx, &c) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "checkpoints");
}

static void access_read(sqlite3_stmt *st, struct store_access *a)
{
	{
		a->id = sqlite3_column_int64(st, 0);
		a->at = sqlite3_column_int64(st, 1);
		a->account_id = sqlite3_column_int64(st, 2);
		copy_col(st, 3, a->username, sizeof a->username);
		a->ente_id = sqlite3_column_int64(st, 4);
		a->convenzione_id = sqlite3_column_int64(st, 5);
		a->purpose_id = sqlite3_column_int64(st, 6);
		copy_col(st, 7, a->case_ref, sizeof a->case_ref);
		copy_col(st, 8, a->on_behalf_of, sizeof a->on_behalf_of);
		copy_col(st, 9, a->ip, sizeof a->ip);
		copy_col(st, 10, a->operation, sizeof a->operation);
		copy_col(st, 11, a->query, sizeof a->query);
		/* valid until the next step: the callback's lifetime */
		a->subjects = (const char *)sqlite3_column_text(st, 12);
		if (!a->subjects)
			a->subjects = "";
		copy_col(st, 13, a->categories, sizeof a->categories);
		copy_col(st, 14, a->outcome, sizeof a->outcome);
		a->status = sqlite3_column_int(st, 15);
		copy_col(st, 16, a->flags, sizeof a->flags);
		copy_col(st, 17, a->workstation, sizeof a->workstation);
		copy_col(st, 18, a->prev_hash, sizeof a->prev_hash);
		copy_col(st, 19, a->hash, sizeof a->hash);
	}
}

/* ---- statistics ---- */

vis_err sq_person_each_at(struct sq_store *s, const char *comune, int date,
			     store_person_fn fn, void *ctx, struct vis_error *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, store_sql[SQL_PERSON_EACH_AT], -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	bind_text(st, 1, comune);
	sqlite3_bind_int(st, 2, rec_as_of(date));
	vis_err rc = each_person(s, st, fn, ctx, e);
	sqlite3_finalize(st);
	return rc;
}

vis_err sq_event_each(struct sq_store *s, const char *comune, int from, int to,
			 store_event_fn fn, void *ctx, struct vis_error *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, store_sql[SQL_EVENT_EACH], -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	bind_text(st, 1, comune);
	sqlite3_bind_int(st, 2, from);
	sqlite3_bind_int(st, 3, to);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (fn(ctx, (const char *)sqlite3_column_text(st, 0),
		       (const char *)sqlite3_column_text(st, 1), sqlite3_column_int(st, 2)) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "events");
}

vis_err sq_events_after(struct sq_store *s, int64_t after_rowid, const char *comuni,
			   const char *types, int limit, store_feed_event_fn fn, void *ctx,
			   struct vis_error *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, store_sql[SQL_EVENTS_AFTER],
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	sqlite3_bind_int64(st, 1, after_rowid);
	int rc = SQLITE_DONE, n = 0;
	while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_event ev;
		char cf[17];
		copy_col(st, 1, ev.comune, sizeof ev.comune);
		copy_col(st, 3, ev.type, sizeof ev.type);
		if (!rec_in_list(comuni, ev.comune) || !rec_in_list(types, ev.type))
			continue;
		copy_col(st, 2, ev.id, sizeof ev.id);
		ev.date = sqlite3_column_int(st, 4);
		copy_col(st, 5, ev.person_id, sizeof ev.person_id);
		copy_col(st, 6, ev.place, sizeof ev.place);
		copy_col(st, 7, ev.other_cf, sizeof ev.other_cf);
		copy_col(st, 8, cf, sizeof cf);
		n++;
		if (fn(ctx, sqlite3_column_int64(st, 0), &ev, cf) != 0)
			break;
	}
	if (n >= limit)
		rc = SQLITE_DONE;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "events");
}

vis_err sq_webhook_get(struct sq_store *s, int64_t convenzione_id, struct store_webhook *out,
			  struct vis_error *e)
{
	sqlite3_stmt *st;
	memset(out, 0, sizeof *out);
	out->convenzione_id = convenzione_id;
	if (sqlite3_prepare_v2(s->db, store_sql[SQL_WEBHOOK_GET], -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	sqlite3_bind_int64(st, 1, convenzione_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->cursor = sqlite3_column_int64(st, 0);
		out->attempts = sqlite3_column_int(st, 1);
		out->next_attempt_at = sqlite3_column_int64(st, 2);
		copy_col(st, 3, out->last_error, sizeof out->last_error);
		out->delivered = sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "webhook state");
}

vis_err sq_webhook_put(struct sq_store *s, const struct store_webhook *w, struct vis_error *e)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, store_sql[SQL_WEBHOOK_PUT],
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, "prepare");
	sqlite3_bind_int64(st, 1, w->convenzione_id);
	sqlite3_bind_int64(st, 2, w->cursor);
	sqlite3_bind_int(st, 3, w->attempts);
	sqlite3_bind_int64(st, 4, w->next_attempt_at);
	bind_text(st, 5, w->last_error);
	sqlite3_bind_int64(st, 6, w->delivered);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? VIS_OK : db_error(s, e, "webhook state");
}

vis_err sq_readiness_write(struct sq_store *s, int64_t now, const char *filler,
			   struct vis_error *e)
{
	sqlite3_stmt *st = stmt_get(s, SQL_READINESS_WRITE, e);
	if (!st)
		return VIS_ERR_STORE;
	sqlite3_bind_int64(st, 1, now);
	bind_text(st, 2, filler);
	return stmt_done(s, st, e, "readiness");
}

/* ---- shared state ---- */

vis_err sq_state_lock(struct sq_store *s, const char *key, char *out, size_t cap,
		      struct vis_error *e)
{
	sqlite3_stmt *st = stmt_get(s, SQL_STATE_LOCK, e);
	if (!st)
		return VIS_ERR_STORE;
	bind_text(st, 1, key);
	vis_err rc = VIS_OK;
	if (sqlite3_step(st) != SQLITE_ROW)
		rc = db_error(s, e, "shared state");
	else if ((size_t)sqlite3_column_bytes(st, 0) >= cap)
		rc = vis_error_set(e, VIS_ERR_LIMIT, "shared state %s is too large", key);
	else
		copy_col(st, 0, out, cap);
	/* RETURNING: the statement is done only when stepped to its end. */
	if (rc == VIS_OK && sqlite3_step(st) != SQLITE_DONE)
		rc = db_error(s, e, "shared state");
	sqlite3_reset(st);
	return rc;
}

vis_err sq_state_put(struct sq_store *s, const char *key, const char *value, int64_t now,
		     struct vis_error *e)
{
	sqlite3_stmt *st = stmt_get(s, SQL_STATE_PUT, e);
	if (!st)
		return VIS_ERR_STORE;
	bind_text(st, 1, key);
	bind_text(st, 2, value);
	sqlite3_bind_int64(st, 3, now);
	return stmt_done(s, st, e, "shared state");
}

vis_err sq_state_lock_n(struct sq_store *s, const char *const *keys, int n, char *out,
			size_t cap, struct vis_error *e)
{
	for (int i = 0; i < n; i++)
		if (sq_state_lock(s, keys[i], out + (size_t)i * cap, cap, e))
			return e && e->code ? e->code : VIS_ERR_STORE;
	return VIS_OK;
}

vis_err sq_state_put_n(struct sq_store *s, const char *const *keys, const char *const *values,
		       int n, int64_t now, struct vis_error *e)
{
	for (int i = 0; i < n; i++)
		if (sq_state_put(s, keys[i], values[i], now, e))
			return VIS_ERR_STORE;
	return VIS_OK;
}

/* ---- copying a whole database (store_copy) ---- */

vis_err sq_table_each(struct sq_store *s, const char *table, bool with_rowid, store_row_fn fn,
		      void *ctx, struct vis_error *e)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT %s* FROM %s", with_rowid ? "rowid AS rowid, " : "", table);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, table);
	int n = sqlite3_column_count(st);
	const char *names[64], *values[64];
	if (n > 64) {
		sqlite3_finalize(st);
		return vis_error_set(e, VIS_ERR_INTERNAL, "table %s has too many columns", table);
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

vis_err sq_table_insert(struct sq_store *s, const char *table, int ncols,
			const char *const *names, const char *const *values, struct vis_error *e)
{
	if (!s->load || strcmp(s->load_table, table)) {
		char sql[4096];
		size_t len = (size_t)snprintf(sql, sizeof sql, "INSERT INTO %s (", table);
		for (int i = 0; i < ncols && len < sizeof sql; i++)
			len += (size_t)snprintf(sql + len, sizeof sql - len, "%s%s", i ? ", " : "", names[i]);
		for (int i = 0; i < ncols && len < sizeof sql; i++)
			len += (size_t)snprintf(sql + len, sizeof sql - len, "%s?%d", i ? ", " : ") VALUES (",
						i + 1);
		if (len + 2 >= sizeof sql)
			return vis_error_set(e, VIS_ERR_INTERNAL, "table %s: statement too long", table);
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

vis_err sq_table_rows(struct sq_store *s, const char *table, int64_t *n, struct vis_error *e)
{
	char sql[128];
	sqlite3_stmt *st;
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, e, table);
	int rc = sqlite3_step(st);
	*n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? VIS_OK : db_error(s, e, table);
}

vis_err sq_table_clear(struct sq_store *s, const char *table, struct vis_error *e)
{
	char sql[128];
	snprintf(sql, sizeof sql, "DELETE FROM %s", table);
	return exec_sql(s, sql, e);
}

vis_err sq_load_finish(struct sq_store *s, struct vis_error *e)
{
	(void)e;
	sqlite3_finalize(s->load);
	s->load = NULL;
	return VIS_OK;
}
