/* The PostgreSQL back end of store.h (see store/backend.h), over libpq.
 *
 * One connection per handle (a handle is used by one thread at a time, so
 * the connections of a process are its pool: one per worker thread and one
 * for the audit writer).  Every statement of store/sql.h is prepared on
 * first use (PQprepare) and run with PQexecPrepared, parameters as text.
 * The first snapshot of a municipality is loaded with COPY; the access
 * records of a group commit are sent in pipeline mode (one round trip for
 * the batch, results read at the next statement or the commit).
 *
 * Several visura instances may share one database:
 *  - the access trail is one chain: store_access_last() inside a
 *    transaction takes a transaction-scoped advisory lock, so that one
 *    writer at a time reads the chain head and appends after it;
 *  - imports are serialised the same way, so that event row ids (the
 *    cursor of the event feed) grow in commit order;
 *  - migrations take a lock of their own.
 *
 * When the server goes away, calls fail (VIS_ERR_STORE) and the next call
 * outside a transaction connects again. */
#include "store/backend.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/text.h"
#include "refdata/refdata.h"
#include "store/records.h"
#include "store/schema.h"
#include "store/sql.h"
#include "common/str.h"

/* Advisory lock keys (one 64-bit space per database). */
#define LOCK_MIGRATE 0x7669737572610001LL
#define LOCK_TRAIL 0x7669737572610002LL
#define LOCK_IMPORT 0x7669737572610003LL

#define PG_MAX_STMTS 256
#define PG_MAX_PARAMS 32
#define PG_SQL_MAX 8192
#define COPY_FLUSH (256 * 1024)

struct pg_stmt {
	char *sql;              /* the source text (?N), owned */
	unsigned hash;
	bool prepared;          /* on the current connection */
	int nparams;
};


struct pg_store {
	PGconn *conn;
	int schema_version;
	bool in_txn;
	struct pg_stmt stmts[PG_MAX_STMTS];
	int nstmts;
	char *copy;              /* the COPY ... FROM STDIN under way, or NULL */
	char *copybuf;           /* rows not yet sent */
	size_t copylen, copycap;
	int piped;               /* statements sent in pipeline mode, results unread */
};

/* Parameters of one statement, as text (NULL = SQL NULL). */
struct pg_params {
	int n;
	const char *v[PG_MAX_PARAMS];
	char num[PG_MAX_PARAMS][24];
};

static void pp_text(struct pg_params *p, const char *v)
{
	p->v[p->n++] = v;
}

static void pp_i64(struct pg_params *p, int64_t v)
{
	snprintf(p->num[p->n], sizeof p->num[p->n], "%lld", (long long)v);
	p->v[p->n] = p->num[p->n];
	p->n++;
}

/* Text, or NULL when empty. */
static void pp_opt(struct pg_params *p, const char *v)
{
	p->v[p->n++] = *v ? v : NULL;
}

static int64_t get_i64(const PGresult *r, int row, int col)
{
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static int get_int(const PGresult *r, int row, int col)
{
	return (int)get_i64(r, row, col);
}

static void get_text(const PGresult *r, int row, int col, char *dst, size_t cap)
{
	snprintf(dst, cap, "%s", PQgetvalue(r, row, col));
}

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* The server's message without its final newline. */
static vis_err pg_fail(struct vis_error *e, vis_err code, const char *what, const char *msg)
{
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	return vis_error_set(e, code, "%s: %.*s", what, (int)n, msg);
}

static void stmts_forget(struct pg_store *s)
{
	for (int i = 0; i < s->nstmts; i++)
		s->stmts[i].prepared = false;
}

static vis_err pipe_flush(struct pg_store *s, struct vis_error *e);

/* A usable connection, with no pipelined results pending: the one we
 * have, or a new one when it was lost and no transaction was under way (a
 * lost transaction is lost). */
static vis_err conn_ready(struct pg_store *s, struct vis_error *e)
{
	if (s->piped && pipe_flush(s, e))
		return VIS_ERR_STORE;
	if (PQstatus(s->conn) == CONNECTION_OK)
		return VIS_OK;
	if (s->in_txn)
		return vis_error_set(e, VIS_ERR_STORE, "the database connection was lost");
	PQreset(s->conn);
	stmts_forget(s);
	free(s->copy);
	s->copy = NULL;
	s->copylen = 0;
	if (PQstatus(s->conn) != CONNECTION_OK)
		return pg_fail(e, VIS_ERR_STORE, "database unavailable", PQerrorMessage(s->conn));
	return VIS_OK;
}

static vis_err copy_end(struct pg_store *s, struct vis_error *e);

/* Checks a result; NULL (and e set, the result freed) when it failed. */
static PGresult *result_ok(struct pg_store *s, PGresult *r, const char *what, struct vis_error *e)
{
	ExecStatusType st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	/* Class 23: integrity constraint violation (unique, foreign key, check). */
	vis_err code = state && !strncmp(state, "23", 2) ? VIS_ERR_CONFLICT : VIS_ERR_STORE;
	pg_fail(e, code, what, r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn));
	if (PQstatus(s->conn) != CONNECTION_OK)
		stmts_forget(s);
	PQclear(r);
	return NULL;
}

static unsigned text_hash(const char *t)
{
	unsigned h = 2166136261u;
	for (; *t; t++)
		h = (h ^ (unsigned char)*t) * 16777619u;
	return h;
}

/* The prepared statement of sql (?N parameters), prepared on first use. */
static struct pg_stmt *stmt_get(struct pg_store *s, const char *sql, int *index,
				struct vis_error *e)
{
	unsigned h = text_hash(sql);
	int i = 0;
	while (i < s->nstmts && (s->stmts[i].hash != h || strcmp(s->stmts[i].sql, sql)))
		i++;
	if (i == s->nstmts) {
		if (s->nstmts == PG_MAX_STMTS) {
			vis_error_set(e, VIS_ERR_INTERNAL, "too many distinct statements");
			return NULL;
		}
		if (!(s->stmts[i].sql = strdup(sql))) {
			vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
			return NULL;
		}
		s->stmts[i].hash = h;
		s->stmts[i].prepared = false;
		s->nstmts++;
	}
	struct pg_stmt *st = &s->stmts[i];
	*index = i;
	if (!st->prepared) {
		char pgsql[PG_SQL_MAX], name[16];
		st->nparams = sql_to_pg(sql, pgsql, sizeof pgsql);
		if (st->nparams < 0) {
			vis_error_set(e, VIS_ERR_INTERNAL, "statement too long");
			return NULL;
		}
		snprintf(name, sizeof name, "v%d", i);
		PGresult *r = result_ok(s, PQprepare(s->conn, name, pgsql, 0, NULL), "prepare", e);
		if (!r)
			return NULL;
		PQclear(r);
		st->prepared = true;
	}
	return st;
}

/* Runs sql with p; the result (rows or none) is the caller's to PQclear,
 * NULL on failure with e set. */
static PGresult *run(struct pg_store *s, const char *sql, const struct pg_params *p,
		     const char *what, struct vis_error *e)
{
	if (s->copy && copy_end(s, e))
		return NULL;
	if (conn_ready(s, e))
		return NULL;
	int i;
	struct pg_stmt *st = stmt_get(s, sql, &i, e);
	if (!st)
		return NULL;
	char name[16];
	snprintf(name, sizeof name, "v%d", i);
	int n = p ? p->n : 0;
	if (n > st->nparams)
		n = st->nparams;
	return result_ok(s, PQexecPrepared(s->conn, name, n, p ? p->v : NULL, NULL, NULL, 0),
			 what, e);
}

/* A consumer of each pipelined statement's result (i: its place). */
typedef vis_err (*pipe_take_fn)(void *ctx, int i, const PGresult *r, struct vis_error *e);

/* Reads the results of the statements sent in pipeline mode (handing the
 * good ones to take, when given) and leaves the mode; the first failure is
 * the one reported. */
static vis_err pipe_read(struct pg_store *s, pipe_take_fn take, void *ctx, struct vis_error *e)
{
	int n = s->piped;
	s->piped = 0;
	vis_err rc = VIS_OK;
	if (PQpipelineSync(s->conn) != 1)
		rc = pg_fail(e, VIS_ERR_STORE, "pipeline", PQerrorMessage(s->conn));
	for (int i = 0; i < n && PQstatus(s->conn) == CONNECTION_OK; i++) {
		PGresult *r;
		while ((r = PQgetResult(s->conn))) {
			ExecStatusType st = PQresultStatus(r);
			if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && rc == VIS_OK) {
				const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
				rc = pg_fail(e, state && !strncmp(state, "23", 2) ? VIS_ERR_CONFLICT
										 : VIS_ERR_STORE,
					     "pipeline", st == PGRES_PIPELINE_ABORTED
							     ? "aborted" : PQresultErrorMessage(r));
			} else if (take && rc == VIS_OK) {
				rc = take(ctx, i, r, e);
			}
			PQclear(r);
		}
	}
	PGresult *sync = PQgetResult(s->conn);
	if (PQresultStatus(sync) != PGRES_PIPELINE_SYNC && rc == VIS_OK)
		rc = pg_fail(e, VIS_ERR_STORE, "pipeline", PQerrorMessage(s->conn));
	PQclear(sync);
	if (PQexitPipelineMode(s->conn) != 1 && rc == VIS_OK)
		rc = pg_fail(e, VIS_ERR_STORE, "pipeline", PQerrorMessage(s->conn));
	if (PQstatus(s->conn) != CONNECTION_OK)
		stmts_forget(s);
	return rc;
}

static vis_err pipe_flush(struct pg_store *s, struct vis_error *e)
{
	return pipe_read(s, NULL, NULL, e);
}

/* Sends a statement in pipeline mode: its result is checked at the next
 * statement run otherwise, or at the commit. */
static vis_err pipe_send(struct pg_store *s, const char *sql, const struct pg_params *p,
			 struct vis_error *e)
{
	if (s->copy && copy_end(s, e))
		return VIS_ERR_STORE;
	int i = 0;
	while (i < s->nstmts && strcmp(s->stmts[i].sql, sql))
		i++;
	/* Statements are prepared outside the pipeline. */
	if (s->piped && (i == s->nstmts || !s->stmts[i].prepared) && pipe_flush(s, e))
		return VIS_ERR_STORE;
	if (!s->piped && conn_ready(s, e))
		return VIS_ERR_STORE;
	struct pg_stmt *st = stmt_get(s, sql, &i, e);
	if (!st)
		return VIS_ERR_STORE;
	if (!s->piped && PQenterPipelineMode(s->conn) != 1)
		return pg_fail(e, VIS_ERR_STORE, "pipeline", PQerrorMessage(s->conn));
	char name[16];
	snprintf(name, sizeof name, "v%d", i);
	int n = p->n < st->nparams ? p->n : st->nparams;
	s->piped++;
	if (!PQsendQueryPrepared(s->conn, name, n, p->v, NULL, NULL, 0))
		return pg_fail(e, VIS_ERR_STORE, "pipeline", PQerrorMessage(s->conn));
	return VIS_OK;
}

/* Runs a statement whose rows the caller does not need. */
static vis_err run_done(struct pg_store *s, const char *sql, const struct pg_params *p,
			const char *what, int64_t *changed, struct vis_error *e)
{
	PGresult *r = run(s, sql, p, what, e);
	if (!r)
		return e && e->code ? e->code : VIS_ERR_STORE;
	if (changed)
		*changed = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return VIS_OK;
}

/* Runs SQL text without parameters (transactions, DDL). */
static vis_err exec_simple(struct pg_store *s, const char *sql, struct vis_error *e)
{
	if (conn_ready(s, e))
		return VIS_ERR_STORE;
	PGresult *r = result_ok(s, PQexec(s->conn, sql), "database", e);
	if (!r)
		return VIS_ERR_STORE;
	PQclear(r);
	return VIS_OK;
}

static vis_err lock_xact(struct pg_store *s, int64_t key, struct vis_error *e)
{
	struct pg_params p = {0};
	pp_i64(&p, key);
	return run_done(s, "SELECT pg_advisory_xact_lock(?1)", &p, "lock", NULL, e);
}

/* ---- COPY of a first snapshot ---- */

static const char copy_family[] = "COPY family (" F_COLS ", import_id, seen_import) FROM STDIN";
static const char copy_person[] = "COPY person (" P_COLS ", surname_key, name_key, import_id,"
				  " seen_import) FROM STDIN";

static vis_err copy_flush(struct pg_store *s, struct vis_error *e)
{
	if (s->copylen && PQputCopyData(s->conn, s->copybuf, (int)s->copylen) != 1)
		return pg_fail(e, VIS_ERR_STORE, "bulk load", PQerrorMessage(s->conn));
	s->copylen = 0;
	return VIS_OK;
}

/* Ends the COPY under way.  Its rows are checked by the server only now:
 * a failure is a failure of the load, not of one record. */
static vis_err copy_end(struct pg_store *s, struct vis_error *e)
{
	if (!s->copy)
		return VIS_OK;
	free(s->copy);
	s->copy = NULL;
	vis_err rc = copy_flush(s, e);
	if (PQputCopyEnd(s->conn, rc ? "aborted" : NULL) != 1 && !rc)
		rc = pg_fail(e, VIS_ERR_STORE, "bulk load", PQerrorMessage(s->conn));
	PGresult *r;
	while ((r = PQgetResult(s->conn))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && !rc)
			rc = pg_fail(e, VIS_ERR_STORE, "bulk load", PQresultErrorMessage(r));
		PQclear(r);
	}
	s->copylen = 0;
	return rc;
}

/* Starts the COPY of sql unless it is the one under way. */
static vis_err copy_start(struct pg_store *s, const char *sql, struct vis_error *e)
{
	if (s->copy && !strcmp(s->copy, sql))
		return VIS_OK;
	if (copy_end(s, e) || conn_ready(s, e))
		return VIS_ERR_STORE;
	PGresult *r = PQexec(s->conn, sql);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		pg_fail(e, VIS_ERR_STORE, "bulk load", r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn));
		PQclear(r);
		return VIS_ERR_STORE;
	}
	PQclear(r);
	if (!(s->copy = strdup(sql))) {
		copy_end(s, NULL);
		return vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
	}
	return VIS_OK;
}

/* Appends one row of COPY's text format: tab-separated, \N for NULL,
 * backslash escapes for the characters the format reserves. */
static vis_err copy_row(struct pg_store *s, const struct pg_params *p, struct vis_error *e)
{
	size_t need = 1;
	for (int i = 0; i < p->n; i++)
		need += 3 + (p->v[i] ? 2 * strlen(p->v[i]) : 0);
	if (s->copylen + need > s->copycap) {
		size_t cap = s->copycap ? s->copycap : COPY_FLUSH;
		while (cap < s->copylen + need)
			cap *= 2;
		char *b = realloc(s->copybuf, cap);
		if (!b)
			return vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
		s->copybuf = b;
		s->copycap = cap;
	}
	char *o = s->copybuf + s->copylen;
	for (int i = 0; i < p->n; i++) {
		if (i)
			*o++ = '\t';
		if (!p->v[i]) {
			memcpy(o, "\\N", 2);
			o += 2;
			continue;
		}
		for (const char *c = p->v[i]; *c; c++) {
			char esc = *c == '\\' ? '\\' : *c == '\t' ? 't' : *c == '\n' ? 'n' : *c == '\r' ? 'r' : 0;
			if (esc) {
				*o++ = '\\';
				*o++ = esc;
			} else {
				*o++ = *c;
			}
		}
	}
	*o++ = '\n';
	s->copylen = (size_t)(o - s->copybuf);
	return s->copylen >= COPY_FLUSH ? copy_flush(s, e) : VIS_OK;
}

/* ---- opening, migrations, transactions ---- */

static vis_err migrate(struct pg_store *s, struct vis_error *e)
{
	char *table = schema_sql(schema_migrations_table, SCHEMA_POSTGRES);
	if (!table)
		return vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
	vis_err rc = VIS_OK;
	/* One migration per transaction, under a lock: instances started at
	 * once apply each migration once. */
	for (;;) {
		if ((rc = exec_simple(s, "BEGIN", e)))
			break;
		s->in_txn = true;
		PGresult *r = NULL;
		if ((rc = lock_xact(s, LOCK_MIGRATE, e)) || (rc = exec_simple(s, table, e)) ||
		    !(r = run(s, "SELECT coalesce(max(version), 0) FROM schema_migrations", NULL,
			      "schema version", e))) {
			rc = VIS_ERR_STORE;
			break;
		}
		s->schema_version = get_int(r, 0, 0);
		PQclear(r);
		if (s->schema_version > store_schema_latest()) {
			rc = vis_error_set(e, VIS_ERR_CONFLICT,
					   "database schema version %d is newer than this visura (%d)",
					   s->schema_version, store_schema_latest());
			break;
		}
		const struct schema_migration *m = NULL;
		for (int i = 0; i < schema_migration_count && !m; i++)
			if (schema_migrations[i].version > s->schema_version)
				m = &schema_migrations[i];
		if (!m) {
			rc = exec_simple(s, "COMMIT", e);
			s->in_txn = false;
			break;
		}
		char *sql = schema_sql(m->sql, SCHEMA_POSTGRES);
		if (!sql) {
			rc = vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
			break;
		}
		rc = exec_simple(s, sql, e);
		free(sql);
		struct pg_params p = {0};
		pp_i64(&p, m->version);
		pp_text(&p, m->name);
		pp_i64(&p, (int64_t)time(NULL));
		if (rc || (rc = run_done(s, "INSERT INTO schema_migrations VALUES (?1, ?2, ?3)", &p,
					 "record migration", NULL, e)) ||
		    (rc = exec_simple(s, "COMMIT", e)))
			break;
		s->in_txn = false;
		s->schema_version = m->version;
	}
	free(table);
	if (rc && s->in_txn)
		pg_rollback(s);
	return rc;
}

vis_err pg_open(const char *conninfo, struct pg_store **out, struct vis_error *e)
{
	struct pg_store *s = calloc(1, sizeof *s);
	if (!s)
		return vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
	s->conn = PQconnectdb(conninfo);
	if (!s->conn) {
		free(s);
		return vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
	}
	if (PQstatus(s->conn) != CONNECTION_OK) {
		pg_fail(e, VIS_ERR_STORE, "cannot connect to PostgreSQL", PQerrorMessage(s->conn));
		pg_close(s);
		return VIS_ERR_STORE;
	}
	PQsetNoticeProcessor(s->conn, quiet, NULL);
	if (migrate(s, e)) {
		pg_close(s);
		return VIS_ERR_STORE;
	}
	*out = s;
	return VIS_OK;
}

void pg_files_name(const char *conninfo, char *out, size_t cap)
{
	const char *db = "visura";
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (!strcmp(o->keyword, "dbname") && o->val && *o->val)
			db = o->val;
	/* Only the characters a file name may safely hold. */
	size_t n = (size_t)snprintf(out, cap, "visura-%s", db);
	for (size_t i = 7; i < n && i < cap; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.", out[i]) ||
		    (out[i] == '.' && i == 7))
			out[i] = '_';
	PQconninfoFree(opts);
}

void pg_close(struct pg_store *s)
{
	if (!s)
		return;
	PQfinish(s->conn);
	free(s->copy);
	for (int i = 0; i < s->nstmts; i++)
		free(s->stmts[i].sql);
	free(s->copybuf);
	free(s);
}

int pg_schema_version(struct pg_store *s)
{
	return s->schema_version;
}

vis_err pg_begin(struct pg_store *s, struct vis_error *e)
{
	if (exec_simple(s, "BEGIN", e))
		return VIS_ERR_STORE;
	s->in_txn = true;
	return VIS_OK;
}

vis_err pg_commit(struct pg_store *s, struct vis_error *e)
{
	vis_err rc = copy_end(s, e);
	if (rc == VIS_OK)
		rc = exec_simple(s, "COMMIT", e);
	if (rc != VIS_OK && PQstatus(s->conn) == CONNECTION_OK &&
	    PQtransactionStatus(s->conn) != PQTRANS_IDLE)
		exec_simple(s, "ROLLBACK", NULL);
	s->in_txn = false;
	return rc;
}

void pg_rollback(struct pg_store *s)
{
	if (s->piped)
		pipe_flush(s, NULL);
	copy_end(s, NULL);
	if (PQstatus(s->conn) == CONNECTION_OK && PQtransactionStatus(s->conn) != PQTRANS_IDLE)
		exec_simple(s, "ROLLBACK", NULL);
	s->in_txn = false;
}

vis_err pg_refdata_replace(struct pg_store *s, const struct refdata *rd, struct vis_error *e)
{
	if (pg_begin(s, e))
		return VIS_ERR_STORE;
	if (exec_simple(s, "DELETE FROM comune; DELETE FROM stato", e))
		goto fail;
	for (size_t i = 0; i < refdata_comune_count(rd); i++) {
		const struct ref_comune *c = refdata_comune_at(rd, i);
		struct pg_params p = {0};
		pp_text(&p, c->istat);
		pp_i64(&p, c->valid_from);
		pp_i64(&p, c->valid_to);
		pp_text(&p, c->name);
		pp_text(&p, c->belfiore);
		pp_text(&p, c->province);
		pp_text(&p, c->region);
		pp_i64(&p, c->active);
		if (run_done(s, store_sql[SQL_COMUNE_INSERT], &p, "insert comune", NULL, e))
			goto fail;
	}
	for (size_t i = 0; i < refdata_stato_count(rd); i++) {
		const struct ref_stato *t = refdata_stato_at(rd, i);
		struct pg_params p = {0};
		pp_text(&p, t->istat);
		pp_text(&p, t->belfiore);
		pp_text(&p, t->iso3);
		pp_text(&p, t->name);
		pp_i64(&p, t->valid_from);
		pp_i64(&p, t->valid_to);
		pp_i64(&p, t->eu);
		if (run_done(s, store_sql[SQL_STATO_INSERT], &p, "insert stato", NULL, e))
			goto fail;
	}
	return pg_commit(s, e);
fail:
	pg_rollback(s);
	return VIS_ERR_STORE;
}

/* ---- feed and imports ---- */

/* Runs a statement of one text parameter (two when b is set). */
static PGresult *run_text2(struct pg_store *s, enum sql_id id, const char *a, const char *b,
			   const char *what, struct vis_error *e)
{
	struct pg_params p = {0};
	pp_text(&p, a);
	if (b)
		pp_text(&p, b);
	return run(s, store_sql[id], &p, what, e);
}

vis_err pg_feed_get(struct pg_store *s, const char *comune, struct store_feed *out,
		    bool *found, struct vis_error *e)
{
	PGresult *r = run_text2(s, SQL_FEED_GET, comune, NULL, "feed state", e);
	if (!r)
		return VIS_ERR_STORE;
	*found = PQntuples(r) > 0;
	if (*found) {
		if (STR_SET(out->comune, comune, "comune", e)) {
			PQclear(r);
			return VIS_ERR_LIMIT;
		}
		out->last_seq = get_i64(r, 0, 0);
		out->last_extract = get_i64(r, 0, 1);
		out->last_import_id = get_i64(r, 0, 2);
	}
	PQclear(r);
	return VIS_OK;
}

vis_err pg_feed_each(struct pg_store *s, store_feed_fn fn, void *ctx, struct vis_error *e)
{
	PGresult *r = run(s, store_sql[SQL_FEED_EACH], NULL, "feed", e);
	if (!r)
		return VIS_ERR_STORE;
	for (int i = 0; i < PQntuples(r); i++) {
		struct store_feed f;
		get_text(r, i, 0, f.comune, sizeof f.comune);
		f.last_seq = get_i64(r, i, 1);
		f.last_extract = get_i64(r, i, 2);
		f.last_import_id = get_i64(r, i, 3);
		if (fn(ctx, &f) != 0)
			break;
	}
	PQclear(r);
	return VIS_OK;
}

static void counts_read(const PGresult *r, int row, int col, struct store_import_counts *c)
{
	int64_t *cols[] = {&c->inserted, &c->updated, &c->unchanged, &c->closed,
			   &c->families, &c->persons, &c->events};
	for (int i = 0; i < 7; i++)
		*cols[i] = get_i64(r, row, col + i);
}

vis_err pg_import_each(struct pg_store *s, const char *comune, int limit, store_import_fn fn,
		       void *ctx, struct vis_error *e)
{
	struct pg_params p = {0};
	pp_text(&p, comune);
	pp_i64(&p, limit);
	PGresult *r = run(s, store_sql[SQL_IMPORT_EACH], &p, "import history", e);
	if (!r)
		return VIS_ERR_STORE;
	for (int i = 0; i < PQntuples(r); i++) {
		struct store_import_row row = {.id = get_i64(r, i, 0)};
		get_text(r, i, 1, row.imp.comune, sizeof row.imp.comune);
		row.imp.seq = get_i64(r, i, 2);
		row.imp.full = !strcmp(PQgetvalue(r, i, 3), "FULL");
		row.imp.extract = get_i64(r, i, 4);
		get_text(r, i, 5, row.imp.sha256, sizeof row.imp.sha256);
		get_text(r, i, 6, row.imp.source, sizeof row.imp.source);
		row.started_at = get_i64(r, i, 7);
		row.finished_at = get_i64(r, i, 8);
		counts_read(r, i, 9, &row.counts);
		if (fn(ctx, &row) != 0)
			break;
	}
	PQclear(r);
	return VIS_OK;
}

vis_err pg_import_last_counts(struct pg_store *s, const char *comune,
			      struct store_import_counts *out, struct vis_error *e)
{
	memset(out, 0, sizeof *out);
	PGresult *r = run_text2(s, SQL_IMPORT_LAST_COUNTS, comune, NULL, "import counts", e);
	if (!r)
		return VIS_ERR_STORE;
	if (PQntuples(r) > 0)
		counts_read(r, 0, 0, out);
	PQclear(r);
	return VIS_OK;
}

vis_err pg_import_sha(struct pg_store *s, const char *comune, int64_t seq, char sha_out[65],
		      bool *found, struct vis_error *e)
{
	struct pg_params p = {0};
	pp_text(&p, comune);
	pp_i64(&p, seq);
	PGresult *r = run(s, store_sql[SQL_IMPORT_SHA], &p, "import look-up", e);
	if (!r)
		return VIS_ERR_STORE;
	*found = PQntuples(r) > 0;
	if (*found)
		get_text(r, 0, 0, sha_out, 65);
	PQclear(r);
	return VIS_OK;
}

/* Runs a probe of one or two text parameters; *found when it has a row,
 * whose first column lands in out (when given). */
static vis_err probe(struct pg_store *s, enum sql_id id, const char *a, const char *b,
		     char *out, size_t cap, bool *found, struct vis_error *e)
{
	PGresult *r = run_text2(s, id, a, b, "look-up", e);
	if (!r)
		return VIS_ERR_STORE;
	*found = PQntuples(r) > 0;
	if (*found && out)
		get_text(r, 0, 0, out, cap);
	PQclear(r);
	return VIS_OK;
}

vis_err pg_import_start(struct pg_store *s, const struct store_import *imp, int64_t *import_id,
			bool *empty, struct vis_error *e)
{
	if (pg_begin(s, e))
		return VIS_ERR_STORE;
	/* One import at a time on the database: event row ids then grow in
	 * commit order, which the event feed's cursor relies on. */
	if (lock_xact(s, LOCK_IMPORT, e))
		return VIS_ERR_STORE;
	PGresult *r = run_text2(s, SQL_COMUNE_HAS_PERSON, imp->comune, NULL, "probe", e);
	if (!r)
		return VIS_ERR_STORE;
	*empty = PQgetisnull(r, 0, 0);
	PQclear(r);
	struct pg_params p = {0};
	pp_text(&p, imp->comune);
	pp_i64(&p, imp->seq);
	pp_text(&p, imp->full ? "FULL" : "DELTA");
	pp_i64(&p, imp->extract);
	pp_text(&p, imp->sha256);
	pp_text(&p, imp->source);
	pp_i64(&p, (int64_t)time(NULL));
	char sql[1024];
	snprintf(sql, sizeof sql, "%s RETURNING id", store_sql[SQL_IMPORT_INSERT]);
	if (!(r = run(s, sql, &p, "record import", e)))
		return e && e->code ? e->code : VIS_ERR_STORE;
	*import_id = get_i64(r, 0, 0);
	PQclear(r);
	return VIS_OK;
}

vis_err pg_family_exists(struct pg_store *s, const char *comune, const char *id, bool *found,
			 struct vis_error *e)
{
	return probe(s, SQL_FAMILY_EXISTS, comune, id, NULL, 0, found, e);
}

vis_err pg_person_exists(struct pg_store *s, const char *comune, const char *id, bool *found,
			 struct vis_error *e)
{
	return probe(s, SQL_PERSON_EXISTS, comune, id, NULL, 0, found, e);
}

vis_err pg_person_cf_owner(struct pg_store *s, const char *comune, const char *cf,
			   char id_out[STORE_ID_MAX], bool *found, struct vis_error *e)
{
	return probe(s, SQL_PERSON_CF_OWNER, comune, cf, id_out, STORE_ID_MAX, found, e);
}

vis_err pg_person_cf_elsewhere(struct pg_store *s, const char *comune, const char *cf,
			       char comune_out[7], bool *found, struct vis_error *e)
{
	return probe(s, SQL_PERSON_CF_ELSEWHERE, comune, cf, comune_out, 7, found, e);
}

/* ---- households and persons ---- */

static void family_params(struct pg_params *p, const struct store_family *f)
{
	pp_text(p, f->comune);
	pp_text(p, f->id);
	pp_i64(p, f->kind);
	pp_i64(p, f->valid_from);
	pp_text(p, f->dug);
	pp_text(p, f->street);
	pp_i64(p, f->civic);
	pp_text(p, f->civic_ext);
	pp_text(p, f->scala);
	pp_text(p, f->interno);
	pp_text(p, f->cap);
	pp_text(p, f->locality);
	pp_text(p, f->convivenza);
}

static void family_read(const PGresult *r, int row, int c, struct store_family *f)
{
	get_text(r, row, c + 0, f->comune, sizeof f->comune);
	get_text(r, row, c + 1, f->id, sizeof f->id);
	f->kind = get_int(r, row, c + 2);
	f->valid_from = get_int(r, row, c + 3);
	get_text(r, row, c + 4, f->dug, sizeof f->dug);
	get_text(r, row, c + 5, f->street, sizeof f->street);
	f->civic = get_int(r, row, c + 6);
	get_text(r, row, c + 7, f->civic_ext, sizeof f->civic_ext);
	get_text(r, row, c + 8, f->scala, sizeof f->scala);
	get_text(r, row, c + 9, f->interno, sizeof f->interno);
	get_text(r, row, c + 10, f->cap, sizeof f->cap);
	get_text(r, row, c + 11, f->locality, sizeof f->locality);
	get_text(r, row, c + 12, f->convivenza, sizeof f->convivenza);
	f->valid_to = get_int(r, row, c + 13);
}

static void person_params(struct pg_params *p, const struct store_person *v)
{
	static const char sex[2][2] = {"F", "M"};
	pp_text(p, v->comune);
	pp_text(p, v->id);
	pp_i64(p, v->valid_from);
	pp_text(p, v->cf);
	pp_text(p, v->surname);
	pp_text(p, v->name);
	pp_text(p, sex[v->sex == 'M']);
	pp_i64(p, v->birth_date);
	pp_text(p, v->birth_place);
	pp_text(p, v->citizenships);
	pp_i64(p, v->civil_status);
	pp_i64(p, v->civil_status_date);
	pp_text(p, v->father_cf);
	pp_text(p, v->mother_cf);
	pp_i64(p, v->reg_reason);
	pp_i64(p, v->reg_date);
	pp_i64(p, v->canc_reason);
	pp_i64(p, v->canc_date);
	pp_text(p, v->destination);
	pp_opt(p, v->family_id);
	pp_i64(p, v->relationship);
}

static void person_read(const PGresult *r, int row, int c, struct store_person *p)
{
	get_text(r, row, c + 0, p->comune, sizeof p->comune);
	get_text(r, row, c + 1, p->id, sizeof p->id);
	p->valid_from = get_int(r, row, c + 2);
	get_text(r, row, c + 3, p->cf, sizeof p->cf);
	get_text(r, row, c + 4, p->surname, sizeof p->surname);
	get_text(r, row, c + 5, p->name, sizeof p->name);
	p->sex = *PQgetvalue(r, row, c + 6) == 'M' ? 'M' : 'F';
	p->birth_date = get_int(r, row, c + 7);
	get_text(r, row, c + 8, p->birth_place, sizeof p->birth_place);
	get_text(r, row, c + 9, p->citizenships, sizeof p->citizenships);
	p->civil_status = get_int(r, row, c + 10);
	p->civil_status_date = get_int(r, row, c + 11);
	get_text(r, row, c + 12, p->father_cf, sizeof p->father_cf);
	get_text(r, row, c + 13, p->mother_cf, sizeof p->mother_cf);
	p->reg_reason = get_int(r, row, c + 14);
	p->reg_date = get_int(r, row, c + 15);
	p->canc_reason = get_int(r, row, c + 16);
	p->canc_date = get_int(r, row, c + 17);
	get_text(r, row, c + 18, p->destination, sizeof p->destination);
	get_text(r, row, c + 19, p->family_id, sizeof p->family_id);
	p->relationship = get_int(r, row, c + 20);
	p->valid_to = get_int(r, row, c + 21);
}

/* The statements that write one versioned kind (households, persons). */
struct version_kind {
	enum sql_id get, seen, to_history, update, insert;
	const char *copy;
	int ncols;
};

static const struct version_kind family_kind = {
	SQL_FAMILY_GET_CURRENT, SQL_FAMILY_SEEN, SQL_FAMILY_TO_HISTORY, SQL_FAMILY_UPDATE,
	SQL_FAMILY_INSERT, copy_family, 13};
static const struct version_kind person_kind = {
	SQL_PERSON_GET_CURRENT, SQL_PERSON_SEEN, SQL_PERSON_TO_HISTORY, SQL_PERSON_UPDATE,
	SQL_PERSON_INSERT, copy_person, 21};

/* The current version of a record: *rowid 0 when none; otherwise the row
 * (the caller reads it and PQclears it) and whether it was dropped. */
static vis_err current_get(struct pg_store *s, const struct version_kind *k, const char *comune,
			   const char *local_id, PGresult **row, int64_t *rowid, bool *dropped,
			   struct vis_error *e)
{
	*row = run_text2(s, k->get, comune, local_id, "current version", e);
	if (!*row)
		return VIS_ERR_STORE;
	*rowid = 0;
	if (PQntuples(*row) > 0) {
		*rowid = get_i64(*row, 0, 0);
		*dropped = get_i64(*row, 0, 1 + k->ncols) != 0;
	}
	return VIS_OK;
}

static vis_err id_pair(struct pg_store *s, enum sql_id id, int64_t a, int64_t b,
		       const char *what, struct vis_error *e)
{
	struct pg_params p = {0};
	pp_i64(&p, a);
	pp_i64(&p, b);
	return run_done(s, store_sql[id], &p, what, NULL, e);
}

/* Writes a new or changed version whose parameters are in p (the import id
 * last).  An existing row is first copied into history, closed on the new
 * valid_from, which never moves before the current one's. */
static vis_err version_write(struct pg_store *s, const struct version_kind *k, bool bulk,
			     int64_t rowid, int cur_valid_from, struct pg_params *p,
			     int valid_from_param, enum store_put_result *res, struct vis_error *e)
{
	if (bulk) {
		/* COPY lists the import id twice (import_id, seen_import). */
		*res = STORE_INSERTED;
		p->v[p->n] = p->v[p->n - 1];
		p->n++;
		vis_err rc = copy_start(s, k->copy, e);
		if (rc == VIS_OK)
			rc = copy_row(s, p, e);
		p->n--;
		return rc;
	}
	if (!rowid) {
		*res = STORE_INSERTED;
		return run_done(s, store_sql[k->insert], p, "store record", NULL, e);
	}
	int vf = (int)strtol(p->v[valid_from_param], NULL, 10);
	if (vf < cur_valid_from) {
		vf = cur_valid_from;
		snprintf(p->num[valid_from_param], sizeof p->num[0], "%d", vf);
		p->v[valid_from_param] = p->num[valid_from_param];
	}
	if (id_pair(s, k->to_history, rowid, vf, "close version", e))
		return VIS_ERR_STORE;
	*res = STORE_UPDATED;
	return run_done(s, store_sql[k->update], p, "store record", NULL, e);
}

vis_err pg_family_put(struct pg_store *s, int64_t import_id, bool bulk,
		      const struct store_family *f, enum store_put_result *res,
		      struct vis_error *e)
{
	struct store_family cur;
	int64_t rowid = 0;
	bool dropped = false;
	if (!bulk) {
		PGresult *row;
		if (current_get(s, &family_kind, f->comune, f->id, &row, &rowid, &dropped, e))
			return VIS_ERR_STORE;
		if (rowid)
			family_read(row, 0, 1, &cur);
		PQclear(row);
	}
	if (rowid && !dropped && rec_family_same(&cur, f)) {
		*res = STORE_UNCHANGED;
		return id_pair(s, SQL_FAMILY_SEEN, rowid, import_id, "mark seen", e);
	}
	struct pg_params p = {0};
	family_params(&p, f);
	pp_i64(&p, import_id);
	return version_write(s, &family_kind, bulk, rowid, rowid ? cur.valid_from : 0, &p, 3, res, e);
}

vis_err pg_person_put(struct pg_store *s, int64_t import_id, bool bulk,
		      const struct store_person *v, enum store_put_result *res,
		      struct vis_error *e)
{
	struct store_person cur;
	int64_t rowid = 0;
	bool dropped = false;
	if (!bulk) {
		PGresult *row;
		if (current_get(s, &person_kind, v->comune, v->id, &row, &rowid, &dropped, e))
			return VIS_ERR_STORE;
		if (rowid)
			person_read(row, 0, 1, &cur);
		PQclear(row);
	}
	if (rowid && !dropped && rec_person_same(&cur, v)) {
		*res = STORE_UNCHANGED;
		return id_pair(s, SQL_PERSON_SEEN, rowid, import_id, "mark seen", e);
	}
	char skey[STORE_NAME_MAX], nkey[STORE_NAME_MAX];
	if (text_fold_letters(v->surname, strlen(v->surname), skey, sizeof skey) < 0 ||
	    text_fold_letters(v->name, strlen(v->name), nkey, sizeof nkey) < 0)
		return vis_error_set(e, VIS_ERR_INVALID, "person %s: name is not valid text", v->id);
	struct pg_params p = {0};
	person_params(&p, v);
	pp_text(&p, skey);
	pp_text(&p, nkey);
	pp_i64(&p, import_id);
	return version_write(s, &person_kind, bulk, rowid, rowid ? cur.valid_from : 0, &p, 2, res, e);
}

vis_err pg_event_put(struct pg_store *s, int64_t import_id, const struct store_event *ev,
		     enum store_put_result *res, struct vis_error *e)
{
	PGresult *r = run_text2(s, SQL_EVENT_GET, ev->comune, ev->id, "event look-up", e);
	if (!r)
		return VIS_ERR_STORE;
	if (PQntuples(r) > 0) {
		bool same = !strcmp(PQgetvalue(r, 0, 0), ev->type) && get_int(r, 0, 1) == ev->date &&
			    !strcmp(PQgetvalue(r, 0, 2), ev->person_id) &&
			    !strcmp(PQgetvalue(r, 0, 3), ev->place) &&
			    !strcmp(PQgetvalue(r, 0, 4), ev->other_cf);
		PQclear(r);
		if (!same)
			return vis_error_set(e, VIS_ERR_CONFLICT,
					     "event id already used for another event");
		*res = STORE_UNCHANGED;
		return VIS_OK;
	}
	PQclear(r);
	struct pg_params p = {0};
	pp_text(&p, ev->comune);
	pp_text(&p, ev->id);
	pp_text(&p, ev->type);
	pp_i64(&p, ev->date);
	pp_text(&p, ev->person_id);
	pp_text(&p, ev->place);
	pp_text(&p, ev->other_cf);
	pp_i64(&p, import_id);
	*res = STORE_INSERTED;
	return run_done(s, store_sql[SQL_EVENT_INSERT], &p, "store event", NULL, e);
}

vis_err pg_import_finish(struct pg_store *s, int64_t import_id, const struct store_import *imp,
			 int close_date, struct store_import_counts *c, struct vis_error *e)
{
	if (copy_end(s, e))
		return VIS_ERR_STORE;
	if (imp->full) {
		enum sql_id drops[] = {SQL_PERSON_DROP, SQL_FAMILY_DROP};
		for (int i = 0; i < 2; i++) {
			struct pg_params p = {0};
			int64_t n = 0;
			pp_text(&p, imp->comune);
			pp_i64(&p, import_id);
			pp_i64(&p, close_date);
			if (run_done(s, store_sql[drops[i]], &p, "close unlisted records", &n, e))
				return VIS_ERR_STORE;
			c->closed += n;
		}
	}
	struct pg_params p = {0};
	pp_i64(&p, import_id);
	pp_i64(&p, (int64_t)time(NULL));
	int64_t counts[] = {c->inserted, c->updated, c->unchanged, c->closed,
			    c->families, c->persons, c->events};
	for (int i = 0; i < 7; i++)
		pp_i64(&p, counts[i]);
	pp_text(&p, imp->sha256);
	if (run_done(s, store_sql[SQL_IMPORT_FINISH], &p, "finish import", NULL, e))
		return VIS_ERR_STORE;
	struct pg_params f = {0};
	pp_text(&f, imp->comune);
	pp_i64(&f, imp->seq);
	pp_i64(&f, imp->extract);
	pp_i64(&f, import_id);
	return run_done(s, store_sql[SQL_FEED_PUT], &f, "feed state", NULL, e);
}

/* ---- reading the register ---- */

/* Runs a statement of (comune, as-of date, third text) parameters. */
static PGresult *run_at(struct pg_store *s, enum sql_id id, const char *comune, int date,
			const char *third, const char *what, struct vis_error *e)
{
	struct pg_params p = {0};
	pp_text(&p, comune);
	pp_i64(&p, rec_as_of(date));
	if (third)
		pp_text(&p, third);
	return run(s, store_sql[id], &p, what, e);
}

vis_err pg_counts_get(struct pg_store *s, const char *comune, int date, struct store_counts *out,
		      struct vis_error *e)
{
	memset(out, 0, sizeof *out);
	PGresult *r;
	if (!(r = run_at(s, SQL_COUNT_PERSONS, comune, date, NULL, "count persons", e)))
		return VIS_ERR_STORE;
	out->persons = get_i64(r, 0, 0);
	out->cancelled = get_i64(r, 0, 1);
	PQclear(r);
	if (!(r = run_at(s, SQL_COUNT_FAMILIES, comune, date, NULL, "count households", e)))
		return VIS_ERR_STORE;
	out->families = get_i64(r, 0, 0);
	PQclear(r);
	if (!(r = run_at(s, SQL_COUNT_EVENTS, comune, date, NULL, "count events", e)))
		return VIS_ERR_STORE;
	out->events = get_i64(r, 0, 0);
	PQclear(r);
	return VIS_OK;
}

/* Hands every row of r to fn as a person, then frees r. */
static vis_err each_person(PGresult *r, store_person_fn fn, void *ctx)
{
	if (!r)
		return VIS_ERR_STORE;
	for (int i = 0; i < PQntuples(r); i++) {
		struct store_person p;
		person_read(r, i, 0, &p);
		if (fn(ctx, &p) != 0)
			break;
	}
	PQclear(r);
	return VIS_OK;
}

vis_err pg_person_by_cf(struct pg_store *s, const char *comune, const char *cf, int date,
			struct store_person *out, bool *found, struct vis_error *e)
{
	PGresult *r = run_at(s, SQL_PERSON_BY_CF, comune, date, cf, "person look-up", e);
	if (!r)
		return VIS_ERR_STORE;
	*found = PQntuples(r) > 0;
	if (*found)
		person_read(r, 0, 0, out);
	PQclear(r);
	return VIS_OK;
}

vis_err pg_person_history(struct pg_store *s, const char *comune, const char *id,
			  store_person_fn fn, void *ctx, struct vis_error *e)
{
	return each_person(run_text2(s, SQL_PERSON_HISTORY, comune, id, "person history", e), fn,
			   ctx);
}

vis_err pg_person_each_at(struct pg_store *s, const char *comune, int date, store_person_fn fn,
			  void *ctx, struct vis_error *e)
{
	return each_person(run_at(s, SQL_PERSON_EACH_AT, comune, date, NULL, "persons", e), fn, ctx);
}

vis_err pg_family_get(struct pg_store *s, const char *comune, const char *id, int date,
		      struct store_family *out, bool *found, struct vis_error *e)
{
	PGresult *r = run_at(s, SQL_FAMILY_AT, comune, date, id, "household look-up", e);
	if (!r)
		return VIS_ERR_STORE;
	*found = PQntuples(r) > 0;
	if (*found)
		family_read(r, 0, 0, out);
	PQclear(r);
	return VIS_OK;
}

vis_err pg_family_members(struct pg_store *s, const char *comune, const char *id, int date,
			  store_person_fn fn, void *ctx, struct vis_error *e)
{
	return each_person(run_at(s, SQL_FAMILY_MEMBERS, comune, date, id, "household members", e),
			   fn, ctx);
}

vis_err pg_person_versions_at(struct pg_store *s, const char *cf, int date, store_person_fn fn,
			      void *ctx, struct vis_error *e)
{
	return each_person(run_at(s, SQL_PERSON_VERSIONS_AT, "", date, cf, "person versions", e),
			   fn, ctx);
}

vis_err pg_person_search(struct pg_store *s, const struct store_search *q, store_person_fn fn,
			 void *ctx, struct vis_error *e)
{
	int m = (int)q->mode;
	if (m < 0 || m > 2)
		return vis_error_set(e, VIS_ERR_INTERNAL, "bad search mode");
	struct pg_params p = {0};
	pp_text(&p, q->surname_key);
	pp_text(&p, q->name_key);
	pp_i64(&p, q->birth_date);
	pp_i64(&p, q->birth_year);
	pp_text(&p, q->comune);
	pp_i64(&p, q->limit);
	return each_person(run(s, store_sql[SQL_SEARCH_EXACT + m], &p, "search", e), fn, ctx);
}

vis_err pg_event_each(struct pg_store *s, const char *comune, int from, int to,
		      store_event_fn fn, void *ctx, struct vis_error *e)
{
	struct pg_params p = {0};
	pp_text(&p, comune);
	pp_i64(&p, from);
	pp_i64(&p, to);
	PGresult *r = run(s, store_sql[SQL_EVENT_EACH], &p, "events", e);
	if (!r)
		return VIS_ERR_STORE;
	for (int i = 0; i < PQntuples(r); i++)
		if (fn(ctx, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), get_int(r, i, 2)) != 0)
			break;
	PQclear(r);
	return VIS_OK;
}

vis_err pg_events_after(struct pg_store *s, int64_t after_rowid, const char *comuni,
			const char *types, int limit, store_feed_event_fn fn, void *ctx,
			struct vis_error *e)
{
	struct pg_params p = {0};
	pp_i64(&p, after_rowid);
	PGresult *r = run(s, store_sql[SQL_EVENTS_AFTER], &p, "events", e);
	if (!r)
		return VIS_ERR_STORE;
	for (int i = 0, n = 0; i < PQntuples(r) && n < limit; i++) {
		struct store_event ev;
		char cf[17];
		get_text(r, i, 1, ev.comune, sizeof ev.comune);
		get_text(r, i, 3, ev.type, sizeof ev.type);
		if (!rec_in_list(comuni, ev.comune) || !rec_in_list(types, ev.type))
			continue;
		get_text(r, i, 2, ev.id, sizeof ev.id);
		ev.date = get_int(r, i, 4);
		get_text(r, i, 5, ev.person_id, sizeof ev.person_id);
		get_text(r, i, 6, ev.place, sizeof ev.place);
		get_text(r, i, 7, ev.other_cf, sizeof ev.other_cf);
		get_text(r, i, 8, cf, sizeof cf);
		n++;
		if (fn(ctx, get_i64(r, i, 0), &ev, cf) != 0)
			break;
	}
	PQclear(r);
	return VIS_OK;
}

vis_err pg_webhook_get(struct pg_store *s, int64_t convenzione_id, struct store_webhook *out,
		       struct vis_error *e)
{
	memset(out, 0, sizeof *out);
	out->convenzione_id = convenzione_id;
	struct pg_params p = {0};
	pp_i64(&p, convenzione_id);
	PGresult *r = run(s, store_sql[SQL_WEBHOOK_GET], &p, "webhook state", e);
	if (!r)
		return VIS_ERR_STORE;
	if (PQntuples(r) > 0) {
		out->cursor = get_i64(r, 0, 0);
		out->attempts = get_int(r, 0, 1);
		out->next_attempt_at = get_i64(r, 0, 2);
		get_text(r, 0, 3, out->last_error, sizeof out->last_error);
		out->delivered = get_i64(r, 0, 4);
	}
	PQclear(r);
	return VIS_OK;
}

vis_err pg_webhook_put(struct pg_store *s, const struct store_webhook *w, struct vis_error *e)
{
	struct pg_params p = {0};
	pp_i64(&p, w->convenzione_id);
	pp_i64(&p, w->cursor);
	pp_i64(&p, w->attempts);
	pp_i64(&p, w->next_attempt_at);
	pp_text(&p, w->last_error);
	pp_i64(&p, w->delivered);
	return run_done(s, store_sql[SQL_WEBHOOK_PUT], &p, "webhook state", NULL, e);
}

/* ---- the access trail ---- */

vis_err pg_access_last(struct pg_store *s, int64_t *id, char hash[65], struct vis_error *e)
{
	/* Inside a transaction this is the start of an append: the lock makes
	 * every writer of every instance append after the head it read. */
	if (s->in_txn && lock_xact(s, LOCK_TRAIL, e))
		return VIS_ERR_STORE;
	PGresult *r = run(s, store_sql[SQL_ACCESS_LAST], NULL, "access trail", e);
	if (!r)
		return VIS_ERR_STORE;
	*id = 0;
	hash[0] = '\0';
	if (PQntuples(r) > 0) {
		*id = get_i64(r, 0, 0);
		get_text(r, 0, 1, hash, 65);
	}
	PQclear(r);
	return VIS_OK;
}

vis_err pg_access_insert(struct pg_store *s, const struct store_access *a, struct vis_error *e)
{
	struct pg_params p = {0};
	pp_i64(&p, a->id);
	pp_i64(&p, a->at);
	pp_i64(&p, a->account_id);
	pp_text(&p, a->username);
	pp_i64(&p, a->ente_id);
	pp_i64(&p, a->convenzione_id);
	pp_i64(&p, a->purpose_id);
	pp_text(&p, a->case_ref);
	pp_text(&p, a->on_behalf_of);
	pp_text(&p, a->ip);
	pp_text(&p, a->operation);
	pp_text(&p, a->query);
	pp_text(&p, a->subjects ? a->subjects : "");
	pp_text(&p, a->categories);
	pp_text(&p, a->outcome);
	pp_i64(&p, a->status);
	pp_text(&p, a->flags);
	pp_text(&p, a->workstation);
	pp_text(&p, a->prev_hash);
	pp_text(&p, a->hash);
	/* Inside a transaction (the group commit) the records are pipelined:
	 * a failure shows at the commit, which then fails as a whole. */
	if (s->in_txn ? pipe_send(s, store_sql[SQL_ACCESS_INSERT], &p, e)
		      : run_done(s, store_sql[SQL_ACCESS_INSERT], &p, "access record", NULL, e))
		return VIS_ERR_STORE;
	for (const char *c = a->subjects ? a->subjects : ""; *c;) {
		const char *end = strchr(c, ',');
		size_t n = end ? (size_t)(end - c) : strlen(c);
		char cf[64];
		snprintf(cf, sizeof cf, "%.*s", (int)(n < sizeof cf ? n : sizeof cf - 1), c);
		struct pg_params sp = {0};
		pp_i64(&sp, a->id);
		pp_text(&sp, cf);
		if (s->in_txn ? pipe_send(s, store_sql[SQL_ACCESS_SUBJECT_INSERT], &sp, e)
			      : run_done(s, store_sql[SQL_ACCESS_SUBJECT_INSERT], &sp, "access subject",
					 NULL, e))
			return VIS_ERR_STORE;
		c += n + (end ? 1 : 0);
	}
	return VIS_OK;
}

static void access_read(const PGresult *r, int row, struct store_access *a)
{
	a->id = get_i64(r, row, 0);
	a->at = get_i64(r, row, 1);
	a->account_id = get_i64(r, row, 2);
	get_text(r, row, 3, a->username, sizeof a->username);
	a->ente_id = get_i64(r, row, 4);
	a->convenzione_id = get_i64(r, row, 5);
	a->purpose_id = get_i64(r, row, 6);
	get_text(r, row, 7, a->case_ref, sizeof a->case_ref);
	get_text(r, row, 8, a->on_behalf_of, sizeof a->on_behalf_of);
	get_text(r, row, 9, a->ip, sizeof a->ip);
	get_text(r, row, 10, a->operation, sizeof a->operation);
	get_text(r, row, 11, a->query, sizeof a->query);
	a->subjects = PQgetvalue(r, row, 12);   /* valid until PQclear */
	get_text(r, row, 13, a->categories, sizeof a->categories);
	get_text(r, row, 14, a->outcome, sizeof a->outcome);
	a->status = get_int(r, row, 15);
	get_text(r, row, 16, a->flags, sizeof a->flags);
	get_text(r, row, 17, a->workstation, sizeof a->workstation);
	get_text(r, row, 18, a->prev_hash, sizeof a->prev_hash);
	get_text(r, row, 19, a->hash, sizeof a->hash);
}

/* Hands every row of r to fn as an access record, then frees r. */
static vis_err each_access(PGresult *r, store_access_fn fn, void *ctx, struct vis_error *e)
{
	if (!r)
		return VIS_ERR_STORE;
	struct store_access *a = malloc(sizeof *a);
	for (int i = 0; a && i < PQntuples(r); i++) {
		access_read(r, i, a);
		if (fn(ctx, a) != 0)
			break;
	}
	PQclear(r);
	if (!a)
		return vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
	free(a);
	return VIS_OK;
}

/* The whole trail is read in pages, not in one result. */
#define ACCESS_PAGE 5000

struct access_page {
	store_access_fn fn;
	void *ctx;
	int64_t next_id;
	int rows;
	bool stopped;
};

static int access_page_row(void *ctx, const struct store_access *a)
{
	struct access_page *pg = ctx;
	pg->rows++;
	pg->next_id = a->id + 1;
	if (pg->fn(pg->ctx, a) != 0) {
		pg->stopped = true;
		return 1;
	}
	return 0;
}

vis_err pg_access_each(struct pg_store *s, int64_t from_id, store_access_fn fn, void *ctx,
		       struct vis_error *e)
{
	char sql[1024];
	snprintf(sql, sizeof sql, "%s LIMIT %d", store_sql[SQL_ACCESS_EACH], ACCESS_PAGE);
	struct access_page pg = {.fn = fn, .ctx = ctx, .next_id = from_id};
	do {
		struct pg_params p = {0};
		pp_i64(&p, pg.next_id);
		pg.rows = 0;
		if (each_access(run(s, sql, &p, "access trail", e), access_page_row, &pg, e))
			return VIS_ERR_STORE;
	} while (!pg.stopped && pg.rows == ACCESS_PAGE);
	return VIS_OK;
}

vis_err pg_access_get(struct pg_store *s, int64_t id, struct store_access *out, bool *found,
		      struct vis_error *e)
{
	struct pg_params p = {0};
	pp_i64(&p, id);
	PGresult *r = run(s, store_sql[SQL_ACCESS_GET], &p, "access record", e);
	if (!r)
		return VIS_ERR_STORE;
	*found = PQntuples(r) > 0;
	if (*found)
		access_read(r, 0, out);
	out->subjects = "";   /* the result ends here */
	PQclear(r);
	return VIS_OK;
}

vis_err pg_access_search(struct pg_store *s, const struct store_access_filter *f,
			 store_access_fn fn, void *ctx, struct vis_error *e)
{
	struct pg_params p = {0};
	pp_text(&p, f->cf);
	pp_i64(&p, f->account_id);
	pp_i64(&p, f->ente_id);
	pp_i64(&p, f->purpose_id);
	pp_i64(&p, f->from_ms);
	pp_i64(&p, f->to_ms);
	pp_i64(&p, f->limit > 0 ? f->limit : 1000000);
	return each_access(run(s, store_sql[SQL_ACCESS_SEARCH], &p, "access search", e), fn, ctx, e);
}

vis_err pg_access_purge(struct pg_store *s, int64_t up_to_id, int64_t *removed,
			struct vis_error *e)
{
	struct pg_params p = {0};
	pp_i64(&p, up_to_id);
	if (pg_begin(s, e))
		return VIS_ERR_STORE;
	if (run_done(s, store_sql[SQL_ACCESS_PURGE_SUBJECTS], &p, "purge", NULL, e) ||
	    run_done(s, store_sql[SQL_ACCESS_PURGE], &p, "purge", removed, e)) {
		pg_rollback(s);
		return VIS_ERR_STORE;
	}
	return pg_commit(s, e);
}

vis_err pg_control_purge(struct pg_store *s, const int64_t before[3], int64_t now,
			 int64_t removed[3], struct vis_error *e)
{
	static const enum sql_id ids[3] = {SQL_PURGE_SECURITY_EVENTS, SQL_PURGE_SESSIONS,
					   SQL_PURGE_THROTTLE};
	for (int i = 0; i < 3; i++) {
		struct pg_params p = {0};
		pp_i64(&p, before[i]);
		if (ids[i] == SQL_PURGE_THROTTLE)
			pp_i64(&p, now);
		if (run_done(s, store_sql[ids[i]], &p, "purge", &removed[i], e))
			return VIS_ERR_STORE;
	}
	return VIS_OK;
}

vis_err pg_subject_code_put(struct pg_store *s, const char *code_hash, const char *cf,
			    int64_t created_by, int64_t now, int64_t expires_at,
			    struct vis_error *e)
{
	struct pg_params p = {0};
	pp_text(&p, code_hash);
	pp_text(&p, cf);
	pp_i64(&p, created_by);
	pp_i64(&p, now);
	pp_i64(&p, expires_at);
	return run_done(s, store_sql[SQL_SUBJECT_CODE_PUT], &p, "subject code", NULL, e);
}

vis_err pg_subject_code_use(struct pg_store *s, const char *code_hash, int64_t now, char cf[17],
			    bool *ok, struct vis_error *e)
{
	struct pg_params p = {0};
	pp_text(&p, code_hash);
	pp_i64(&p, now);
	PGresult *r = run(s, store_sql[SQL_SUBJECT_CODE_USE], &p, "subject code", e);
	if (!r)
		return VIS_ERR_STORE;
	*ok = PQntuples(r) > 0;
	if (*ok)
		get_text(r, 0, 0, cf, 17);
	PQclear(r);
	return VIS_OK;
}

vis_err pg_checkpoint_insert(struct pg_store *s, const struct store_checkpoint *c,
			     struct vis_error *e)
{
	struct pg_params p = {0};
	pp_i64(&p, c->at);
	pp_i64(&p, c->last_id);
	pp_text(&p, c->last_hash);
	pp_text(&p, c->signature);
	return run_done(s, store_sql[SQL_CHECKPOINT_INSERT], &p, "checkpoint", NULL, e);
}

vis_err pg_checkpoint_each(struct pg_store *s, store_checkpoint_fn fn, void *ctx,
			   struct vis_error *e)
{
	PGresult *r = run(s, store_sql[SQL_CHECKPOINT_EACH], NULL, "checkpoints", e);
	if (!r)
		return VIS_ERR_STORE;
	for (int i = 0; i < PQntuples(r); i++) {
		struct store_checkpoint c;
		c.id = get_i64(r, i, 0);
		c.at = get_i64(r, i, 1);
		c.last_id = get_i64(r, i, 2);
		get_text(r, i, 3, c.last_hash, sizeof c.last_hash);
		get_text(r, i, 4, c.signature, sizeof c.signature);
		if (fn(ctx, &c) != 0)
			break;
	}
	PQclear(r);
	return VIS_OK;
}

vis_err pg_tree_put(struct pg_store *s, int level, int64_t idx, const char hash[65],
		    struct vis_error *e)
{
	struct pg_params p = {0};
	pp_i64(&p, level);
	pp_i64(&p, idx);
	pp_text(&p, hash);
	/* In the group commit, pipelined with its records. */
	return s->in_txn ? pipe_send(s, store_sql[SQL_TREE_PUT], &p, e)
			 : run_done(s, store_sql[SQL_TREE_PUT], &p, "trail tree", NULL, e);
}

vis_err pg_tree_get(struct pg_store *s, int level, int64_t idx, char hash[65], bool *found,
		    struct vis_error *e)
{
	struct pg_params p = {0};
	pp_i64(&p, level);
	pp_i64(&p, idx);
	PGresult *r = run(s, store_sql[SQL_TREE_GET], &p, "trail tree", e);
	if (!r)
		return VIS_ERR_STORE;
	*found = PQntuples(r) > 0;
	hash[0] = '\0';
	if (*found)
		get_text(r, 0, 0, hash, 65);
	PQclear(r);
	return VIS_OK;
}

vis_err pg_head_insert(struct pg_store *s, const struct store_head *h, struct vis_error *e)
{
	struct pg_params p = {0};
	pp_i64(&p, h->size);
	pp_i64(&p, h->at);
	pp_text(&p, h->root);
	pp_text(&p, h->note);
	return s->in_txn ? pipe_send(s, store_sql[SQL_HEAD_INSERT], &p, e)
			 : run_done(s, store_sql[SQL_HEAD_INSERT], &p, "trail head", NULL, e);
}

vis_err pg_access_subject_each(struct pg_store *s, store_subject_row_fn fn, void *ctx,
			       struct vis_error *e)
{
	PGresult *r = run(s, store_sql[SQL_ACCESS_SUBJECT_EACH], NULL, "access subjects", e);
	if (!r)
		return VIS_ERR_STORE;
	for (int i = 0; i < PQntuples(r); i++)
		if (fn(ctx, get_i64(r, i, 0), PQgetvalue(r, i, 1)) != 0)
			break;
	PQclear(r);
	return VIS_OK;
}

static vis_err head_rows(struct pg_store *s, enum sql_id q, store_head_fn fn, void *ctx,
			 struct vis_error *e)
{
	PGresult *r = run(s, store_sql[q], NULL, "trail heads", e);
	if (!r)
		return VIS_ERR_STORE;
	struct store_head *h = malloc(sizeof *h);
	if (!h) {
		PQclear(r);
		return vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
	}
	for (int i = 0; i < PQntuples(r); i++) {
		h->size = get_i64(r, i, 0);
		h->at = get_i64(r, i, 1);
		get_text(r, i, 2, h->root, sizeof h->root);
		get_text(r, i, 3, h->note, sizeof h->note);
		if (fn(ctx, h) != 0)
			break;
	}
	free(h);
	PQclear(r);
	return VIS_OK;
}

static int head_copy(void *ctx, const struct store_head *h)
{
	memcpy(ctx, h, sizeof *h);
	return 1;
}

vis_err pg_head_last(struct pg_store *s, struct store_head *out, bool *found,
		     struct vis_error *e)
{
	out->size = -1;
	vis_err rc = head_rows(s, SQL_HEAD_LAST, head_copy, out, e);
	*found = out->size >= 0;
	return rc;
}

vis_err pg_head_each(struct pg_store *s, store_head_fn fn, void *ctx, struct vis_error *e)
{
	return head_rows(s, SQL_HEAD_EACH, fn, ctx, e);
}

/* ---- control records (generic over store/records.h) ---- */

/* Parameters of fields [first, ncols) of rec. */
static vis_err rec_params(const struct rec_desc *d, const void *rec, size_t first,
			  struct pg_params *p, struct vis_error *e)
{
	for (size_t i = first; i < d->ncols; i++) {
		const struct rec_col *col = &d->cols[i];
		const char *f = (const char *)rec + col->offset;
		switch (col->type) {
		case RC_I64: pp_i64(p, *(const int64_t *)f); break;
		case RC_INT: pp_i64(p, *(const int *)f); break;
		case RC_BOOL: pp_i64(p, *(const bool *)f); break;
		case RC_TEXT:
			if (strnlen(f, col->size) == col->size)
				return vis_error_set(e, VIS_ERR_INVALID, "%s.%s is not terminated",
						     d->table, col->name);
			pp_text(p, f);
			break;
		}
	}
	return VIS_OK;
}

static void rec_read(const struct rec_desc *d, const PGresult *r, int row, void *rec)
{
	memset(rec, 0, d->struct_size);
	for (size_t i = 0; i < d->ncols; i++) {
		const struct rec_col *col = &d->cols[i];
		char *f = (char *)rec + col->offset;
		switch (col->type) {
		case RC_I64: *(int64_t *)f = get_i64(r, row, (int)i); break;
		case RC_INT: *(int *)f = get_int(r, row, (int)i); break;
		case RC_BOOL: *(bool *)f = get_i64(r, row, (int)i) != 0; break;
		case RC_TEXT: get_text(r, row, (int)i, f, col->size); break;
		}
	}
}

vis_err pg_rec_insert(struct pg_store *s, enum store_kind k, const void *rec, int64_t *id,
		      struct vis_error *e)
{
	const struct rec_desc *d = &store_rec_descs[k];
	char sql[PG_SQL_MAX];
	struct pg_params p = {0};
	rec_sql_insert(d, sql, sizeof sql - 16);
	strcat(sql, " RETURNING id");
	if (rec_params(d, rec, 1, &p, e))
		return VIS_ERR_INVALID;
	PGresult *r = run(s, sql, &p, d->table, e);
	if (!r)
		return e && e->code ? e->code : VIS_ERR_STORE;
	if (id)
		*id = get_i64(r, 0, 0);
	PQclear(r);
	return VIS_OK;
}

vis_err pg_rec_update(struct pg_store *s, enum store_kind k, const void *rec,
		      struct vis_error *e)
{
	const struct rec_desc *d = &store_rec_descs[k];
	char sql[PG_SQL_MAX];
	struct pg_params p = {0};
	rec_sql_update(d, sql, sizeof sql);
	if (rec_params(d, rec, 1, &p, e))
		return VIS_ERR_INVALID;
	pp_i64(&p, *(const int64_t *)rec);
	return run_done(s, sql, &p, d->table, NULL, e);
}

vis_err pg_rec_get(struct pg_store *s, enum store_kind k, const char *colname, const char *text,
		   int64_t num, void *out, bool *found, struct vis_error *e)
{
	const struct rec_desc *d = &store_rec_descs[k];
	const struct rec_col *col = rec_col_find(d, colname);
	if (!col)
		return vis_error_set(e, VIS_ERR_INTERNAL, "%s has no column %s", d->table, colname);
	char sql[PG_SQL_MAX];
	rec_sql_get(d, col, sql, sizeof sql);
	struct pg_params p = {0};
	if (text)
		pp_text(&p, text);
	else
		pp_i64(&p, num);
	PGresult *r = run(s, sql, &p, d->table, e);
	if (!r)
		return VIS_ERR_STORE;
	*found = PQntuples(r) > 0;
	if (*found)
		rec_read(d, r, 0, out);
	PQclear(r);
	return VIS_OK;
}

vis_err pg_rec_list(struct pg_store *s, enum store_kind k, const struct store_filter *filters,
		    int limit, store_rec_fn fn, void *ctx, struct vis_error *e)
{
	const struct rec_desc *d = &store_rec_descs[k];
	char sql[PG_SQL_MAX];
	int nf = rec_sql_list(d, filters, limit, sql, sizeof sql, e);
	if (nf < 0)
		return VIS_ERR_INTERNAL;
	struct pg_params p = {0};
	for (int i = 0; i < nf; i++) {
		if (filters[i].text)
			pp_text(&p, filters[i].text);
		else
			pp_i64(&p, filters[i].num);
	}
	PGresult *r = run(s, sql, &p, d->table, e);
	if (!r)
		return VIS_ERR_STORE;
	void *rec = malloc(d->struct_size);
	for (int i = 0; rec && i < PQntuples(r); i++) {
		rec_read(d, r, i, rec);
		if (fn(ctx, rec) != 0)
			break;
	}
	PQclear(r);
	if (!rec)
		return vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
	free(rec);
	return VIS_OK;
}

vis_err pg_rec_delete(struct pg_store *s, enum store_kind k, int64_t id, struct vis_error *e)
{
	if (k != STORE_PROCESSING)
		return vis_error_set(e, VIS_ERR_INTERNAL, "records of this kind are never deleted");
	struct pg_params p = {0};
	pp_i64(&p, id);
	return run_done(s, store_sql[SQL_REC_DELETE], &p, "delete", NULL, e);
}

vis_err pg_account_totp_advance(struct pg_store *s, int64_t account_id, int64_t step,
				bool *advanced, struct vis_error *e)
{
	struct pg_params p = {0};
	int64_t n = 0;
	pp_i64(&p, account_id);
	pp_i64(&p, step);
	*advanced = false;
	if (run_done(s, store_sql[SQL_ACCOUNT_TOTP_ADVANCE], &p, "totp", &n, e))
		return VIS_ERR_STORE;
	*advanced = n == 1;
	return VIS_OK;
}

vis_err pg_sessions_revoke_others(struct pg_store *s, int64_t account_id, int64_t keep_id,
				  int64_t now, struct vis_error *e)
{
	struct pg_params p = {0};
	pp_i64(&p, account_id);
	pp_i64(&p, keep_id);
	pp_i64(&p, now);
	return run_done(s, store_sql[SQL_SESSIONS_REVOKE_OTHERS], &p, "revoke sessions", NULL, e);
}

vis_err pg_sessions_revoke_account(struct pg_store *s, int64_t account_id, int64_t now,
				   struct vis_error *e)
{
	return id_pair(s, SQL_SESSIONS_REVOKE_ACCOUNT, account_id, now, "revoke sessions", e);
}

vis_err pg_tokens_revoke_account(struct pg_store *s, int64_t account_id, int64_t now,
				 struct vis_error *e)
{
	return id_pair(s, SQL_TOKENS_REVOKE_ACCOUNT, account_id, now, "revoke tokens", e);
}

vis_err pg_password_history(struct pg_store *s, int64_t account_id, char (*hashes)[128],
			    int max, int *n, struct vis_error *e)
{
	struct pg_params p = {0};
	pp_i64(&p, account_id);
	pp_i64(&p, max);
	*n = 0;
	PGresult *r = run(s, store_sql[SQL_PASSWORD_HISTORY], &p, "password history", e);
	if (!r)
		return VIS_ERR_STORE;
	for (int i = 0; i < PQntuples(r) && *n < max; i++)
		get_text(r, i, 0, hashes[(*n)++], 128);
	PQclear(r);
	return VIS_OK;
}

vis_err pg_password_history_add(struct pg_store *s, int64_t account_id, const char *hash,
				int64_t at, struct vis_error *e)
{
	struct pg_params p = {0};
	pp_i64(&p, account_id);
	pp_text(&p, hash);
	pp_i64(&p, at);
	return run_done(s, store_sql[SQL_PASSWORD_HISTORY_ADD], &p, "password history", NULL, e);
}

vis_err pg_throttle_get(struct pg_store *s, const char *key, struct store_throttle *out,
			struct vis_error *e)
{
	memset(out, 0, sizeof *out);
	PGresult *r = run_text2(s, SQL_THROTTLE_GET, key, NULL, "throttle", e);
	if (!r)
		return VIS_ERR_STORE;
	if (PQntuples(r) > 0) {
		out->failures = get_int(r, 0, 0);
		out->last_failure_at = get_i64(r, 0, 1);
		out->locked_until = get_i64(r, 0, 2);
	}
	PQclear(r);
	return VIS_OK;
}

vis_err pg_throttle_put(struct pg_store *s, const char *key, const struct store_throttle *t,
			struct vis_error *e)
{
	struct pg_params p = {0};
	pp_text(&p, key);
	pp_i64(&p, t->failures);
	pp_i64(&p, t->last_failure_at);
	pp_i64(&p, t->locked_until);
	return run_done(s, store_sql[SQL_THROTTLE_PUT], &p, "throttle", NULL, e);
}

vis_err pg_setting_get(struct pg_store *s, const char *key, char *out, size_t cap, bool *found,
		       struct vis_error *e)
{
	return probe(s, SQL_SETTING_GET, key, NULL, out, cap, found, e);
}

vis_err pg_setting_put(struct pg_store *s, const char *key, const char *value,
		       struct vis_error *e)
{
	struct pg_params p = {0};
	pp_text(&p, key);
	pp_text(&p, value);
	return run_done(s, store_sql[SQL_SETTING_PUT], &p, "setting", NULL, e);
}

vis_err pg_readiness_write(struct pg_store *s, int64_t now, const char *filler,
			   struct vis_error *e)
{
	struct pg_params p = {0};
	pp_i64(&p, now);
	pp_text(&p, filler);
	return run_done(s, store_sql[SQL_READINESS_WRITE], &p, "readiness", NULL, e);
}

/* ---- shared state ---- */

vis_err pg_state_lock(struct pg_store *s, const char *key, char *out, size_t cap,
		      struct vis_error *e)
{
	PGresult *r = run_text2(s, SQL_STATE_LOCK, key, NULL, "shared state", e);
	if (!r)
		return VIS_ERR_STORE;
	vis_err rc = VIS_OK;
	if (PQntuples(r) != 1)
		rc = vis_error_set(e, VIS_ERR_STORE, "shared state %s: no row", key);
	else if ((size_t)PQgetlength(r, 0, 0) >= cap)
		rc = vis_error_set(e, VIS_ERR_LIMIT, "shared state %s is too large", key);
	else
		get_text(r, 0, 0, out, cap);
	PQclear(r);
	return rc;
}

vis_err pg_state_put(struct pg_store *s, const char *key, const char *value, int64_t now,
		     struct vis_error *e)
{
	struct pg_params p = {0};
	pp_text(&p, key);
	pp_text(&p, value);
	pp_i64(&p, now);
	return run_done(s, store_sql[SQL_STATE_PUT], &p, "shared state", NULL, e);
}

struct lock_n {
	const char *const *keys;
	char *out;
	size_t cap;
};

static vis_err lock_n_take(void *ctx, int i, const PGresult *r, struct vis_error *e)
{
	struct lock_n *ln = ctx;
	if (PQntuples(r) != 1 || (size_t)PQgetlength(r, 0, 0) >= ln->cap)
		return vis_error_set(e, VIS_ERR_LIMIT, "shared state %s: no row or too large",
				     ln->keys[i]);
	get_text(r, 0, 0, ln->out + (size_t)i * ln->cap, ln->cap);
	return VIS_OK;
}

/* The n values in one pipeline: sent together, read in order. */
vis_err pg_state_lock_n(struct pg_store *s, const char *const *keys, int n, char *out,
			size_t cap, struct vis_error *e)
{
	/* Prepared (and any earlier pipeline read) first, so that the n
	 * statements go out in one pipeline. */
	int idx;
	if (copy_end(s, e) || conn_ready(s, e) || !stmt_get(s, store_sql[SQL_STATE_LOCK], &idx, e))
		return VIS_ERR_STORE;
	memset(out, 0, (size_t)n * cap);
	for (int i = 0; i < n; i++) {
		struct pg_params p = {0};
		pp_text(&p, keys[i]);
		if (pipe_send(s, store_sql[SQL_STATE_LOCK], &p, e))
			return VIS_ERR_STORE;
	}
	if (s->piped != n)
		return vis_error_set(e, VIS_ERR_INTERNAL, "shared state: %d of %d in the pipeline",
				     s->piped, n);
	struct lock_n ln = {keys, out, cap};
	return pipe_read(s, lock_n_take, &ln, e);
}

/* Pipelined too: a failure shows at the commit. */
vis_err pg_state_put_n(struct pg_store *s, const char *const *keys, const char *const *values,
		       int n, int64_t now, struct vis_error *e)
{
	for (int i = 0; i < n; i++) {
		struct pg_params p = {0};
		pp_text(&p, keys[i]);
		pp_text(&p, values[i]);
		pp_i64(&p, now);
		if (pipe_send(s, store_sql[SQL_STATE_PUT], &p, e))
			return VIS_ERR_STORE;
	}
	return VIS_OK;
}

/* ---- copying a whole database (store_copy) ---- */

vis_err pg_table_each(struct pg_store *s, const char *table, bool with_rowid, store_row_fn fn,
		      void *ctx, struct vis_error *e)
{
	(void)with_rowid;   /* the rowid column is one of the table's here */
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT * FROM %s", table);
	if (copy_end(s, e) || conn_ready(s, e))
		return VIS_ERR_STORE;
	/* Row by row: a register does not fit in one result. */
	if (!PQsendQuery(s->conn, sql) || !PQsetSingleRowMode(s->conn))
		return pg_fail(e, VIS_ERR_STORE, table, PQerrorMessage(s->conn));
	vis_err rc = VIS_OK;
	bool stopped = false;
	PGresult *r;
	while ((r = PQgetResult(s->conn))) {
		ExecStatusType st = PQresultStatus(r);
		int n = PQnfields(r);
		if (st == PGRES_SINGLE_TUPLE && !stopped && rc == VIS_OK && n <= 64) {
			const char *names[64], *values[64];
			for (int i = 0; i < n; i++) {
				names[i] = PQfname(r, i);
				values[i] = PQgetisnull(r, 0, i) ? NULL : PQgetvalue(r, 0, i);
			}
			stopped = fn(ctx, n, names, values) != 0;
		} else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && rc == VIS_OK) {
			rc = pg_fail(e, VIS_ERR_STORE, table, PQresultErrorMessage(r));
		} else if (n > 64 && rc == VIS_OK) {
			rc = vis_error_set(e, VIS_ERR_INTERNAL, "table %s has too many columns", table);
		}
		PQclear(r);
	}
	return rc;
}

vis_err pg_table_insert(struct pg_store *s, const char *table, int ncols,
			const char *const *names, const char *const *values, struct vis_error *e)
{
	char sql[4096];
	size_t len = (size_t)snprintf(sql, sizeof sql, "COPY %s (", table);
	for (int i = 0; i < ncols && len < sizeof sql; i++)
		len += (size_t)snprintf(sql + len, sizeof sql - len, "%s%s", i ? ", " : "", names[i]);
	if (len + 16 >= sizeof sql)
		return vis_error_set(e, VIS_ERR_INTERNAL, "table %s: statement too long", table);
	strcat(sql, ") FROM STDIN");
	struct pg_params p = {0};
	if (ncols > PG_MAX_PARAMS)
		return vis_error_set(e, VIS_ERR_INTERNAL, "table %s has too many columns", table);
	for (int i = 0; i < ncols; i++)
		p.v[p.n++] = values[i];
	if (copy_start(s, sql, e))
		return VIS_ERR_STORE;
	return copy_row(s, &p, e);
}

vis_err pg_table_rows(struct pg_store *s, const char *table, int64_t *n, struct vis_error *e)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
	PGresult *r = run(s, sql, NULL, table, e);
	if (!r)
		return VIS_ERR_STORE;
	*n = get_i64(r, 0, 0);
	PQclear(r);
	return VIS_OK;
}

vis_err pg_table_clear(struct pg_store *s, const char *table, struct vis_error *e)
{
	char sql[128];
	snprintf(sql, sizeof sql, "DELETE FROM %s", table);
	return run_done(s, sql, NULL, table, NULL, e);
}

/* Moves every identity column's generator past the largest id loaded. */
vis_err pg_load_finish(struct pg_store *s, struct vis_error *e)
{
	if (copy_end(s, e))
		return VIS_ERR_STORE;
	PGresult *cols = run(s, "SELECT table_name, column_name FROM information_schema.columns"
				" WHERE table_schema = current_schema() AND is_identity = 'YES'",
			     NULL, "identity columns", e);
	if (!cols)
		return VIS_ERR_STORE;
	vis_err rc = VIS_OK;
	for (int i = 0; rc == VIS_OK && i < PQntuples(cols); i++) {
		const char *t = PQgetvalue(cols, i, 0), *c = PQgetvalue(cols, i, 1);
		char *ti = PQescapeIdentifier(s->conn, t, strlen(t));
		char *ci = PQescapeIdentifier(s->conn, c, strlen(c));
		char sql[512];
		if (!ti || !ci) {
			rc = vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
		} else {
			snprintf(sql, sizeof sql, "SELECT setval(pg_get_serial_sequence(?1, ?2),"
				 " (SELECT coalesce(max(%s), 0) + 1 FROM %s), false)", ci, ti);
			struct pg_params p = {0};
			pp_text(&p, t);
			pp_text(&p, c);
			rc = run_done(s, sql, &p, "identity", NULL, e);
		}
		PQfreemem(ti);
		PQfreemem(ci);
	}
	PQclear(cols);
	return rc;
}
