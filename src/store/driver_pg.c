/* The PostgreSQL driver of store/driver.h, over libpq.
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
#include "store/driver.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"
#include "store/schema.h"
#include "store/sql.h"
#include "common/str.h"

/* Advisory lock keys (one 64-bit space per database). */
#define LOCK_MIGRATE 0x7669737572610001LL
#define LOCK_TRAIL 0x7669737572610002LL
#define LOCK_IMPORT 0x7669737572610003LL

#define LOCK_SQL "SELECT pg_advisory_xact_lock(?1)"

#define PG_MAX_STMTS 256
#define PG_MAX_PARAMS DRV_MAX_PARAMS
#define PG_SQL_MAX 8192
#define COPY_FLUSH (256 * 1024)

struct pg_stmt {
	char *sql;              /* the source text (?N), owned */
	unsigned hash;
	bool prepared;          /* on the current connection */
	int nparams;
};


struct pq_stmt;

struct pg_store {
	struct drv base;         /* first: the driver of store/driver.h */
	struct pq_stmt *objs[PG_MAX_STMTS];   /* the driver's statement of stmts[i] */
	int by_id[SQL__COUNT];   /* index + 1 in stmts of a sql.c statement */
	PGconn *conn;
	int schema_version;
	bool in_txn;
	enum store_wait wait;    /* store_wait's mode: only given back here */
	const char *begin_sql;   /* the BEGIN that begin_pending will send */
	struct pg_stmt stmts[PG_MAX_STMTS];
	int nstmts;
	char *copy;              /* the COPY ... FROM STDIN under way, or NULL */
	char *copybuf;           /* rows not yet sent */
	size_t copylen, copycap;
	int piped;               /* statements sent in pipeline mode, results unread */
	/* A transaction begun whose BEGIN is not sent yet: it goes out with
	 * the transaction's first statement, in the same round trip. */
	bool begin_pending;
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

static int64_t get_i64(const PGresult *r, int row, int col)
{
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static int get_int(const PGresult *r, int row, int col)
{
	return (int)get_i64(r, row, col);
}

static const struct drv_ops pq_drv_ops;
static void pq_stmt_free(struct pq_stmt *st);
static void pg_close(struct pg_store *s);
static void pg_rollback(struct pg_store *s);

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

/* Statements sent in one pipeline before their results are read: their
 * results (a few dozen bytes each) stay well within the sockets' buffers. */
#define PIPE_DEPTH 256

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
		return vis_error_set(e, VIS_ERR_STORE, "la connessione al database si è "
						       "interrotta");
	PQreset(s->conn);
	stmts_forget(s);
	free(s->copy);
	s->copy = NULL;
	s->copylen = 0;
	if (PQstatus(s->conn) != CONNECTION_OK)
		return pg_fail(e, VIS_ERR_STORE, "database non disponibile", PQerrorMessage(s->conn));
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
	const char *text = r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn);
	if (state && !strncmp(state, "23", 2))
		drv_conflict(e, what, text);
	else
		pg_fail(e, VIS_ERR_STORE, what, text);
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
			vis_error_set(e, VIS_ERR_INTERNAL, "troppe istruzioni distinte");
			return NULL;
		}
		if (!(s->stmts[i].sql = strdup(sql))) {
			vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
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
			vis_error_set(e, VIS_ERR_INTERNAL, "istruzione troppo lunga");
			return NULL;
		}
		snprintf(name, sizeof name, "v%d", i);
		s->base.round_trips++;
		PGresult *r = result_ok(s, PQprepare(s->conn, name, pgsql, 0, NULL),
					"preparazione", e);
		if (!r)
			return NULL;
		PQclear(r);
		st->prepared = true;
	}
	return st;
}

/* A consumer of each pipelined statement's result (i: its place among
 * the statements of the pipeline). */
typedef vis_err (*pipe_take_fn)(void *ctx, int i, const PGresult *r, struct vis_error *e);

/* Reads the results of the statements sent in pipeline mode (handing the
 * good ones from the first-th on to take, when given; the last one to
 * *last, the caller's to PQclear, when last is given) and leaves the mode;
 * the first failure is the one reported, a constraint as a conflict only
 * when it is the last statement's, the one the caller runs now. */
static vis_err pipe_read(struct pg_store *s, int first, pipe_take_fn take, void *ctx,
			 PGresult **last, struct vis_error *e)
{
	int n = s->piped;
	s->piped = 0;
	vis_err rc = VIS_OK;
	s->base.round_trips++;   /* the statements sent, their results at once */
	if (PQpipelineSync(s->conn) != 1)
		rc = pg_fail(e, VIS_ERR_STORE, "sequenza", PQerrorMessage(s->conn));
	for (int i = 0; i < n && PQstatus(s->conn) == CONNECTION_OK; i++) {
		PGresult *r;
		while ((r = PQgetResult(s->conn))) {
			ExecStatusType st = PQresultStatus(r);
			if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && rc == VIS_OK) {
				const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
				/* A constraint broken by a statement sent earlier
				 * is not the conflict of the one run now (last):
				 * the caller would blame the wrong record. */
				rc = state && !strncmp(state, "23", 2) && (!last || i == n - 1)
					     ? drv_conflict(e, "sequenza", PQresultErrorMessage(r))
					     : pg_fail(e, VIS_ERR_STORE, "sequenza",
						       st == PGRES_PIPELINE_ABORTED
							       ? "interrotta"
							       : PQresultErrorMessage(r));
			} else if (last && i == n - 1 && rc == VIS_OK && !*last) {
				*last = r;
				continue;
			} else if (take && i >= first && rc == VIS_OK) {
				rc = take(ctx, i - first, r, e);
			}
			PQclear(r);
		}
	}
	PGresult *sync = PQgetResult(s->conn);
	if (PQresultStatus(sync) != PGRES_PIPELINE_SYNC && rc == VIS_OK)
		rc = pg_fail(e, VIS_ERR_STORE, "sequenza", PQerrorMessage(s->conn));
	PQclear(sync);
	if (PQexitPipelineMode(s->conn) != 1 && rc == VIS_OK)
		rc = pg_fail(e, VIS_ERR_STORE, "sequenza", PQerrorMessage(s->conn));
	if (PQstatus(s->conn) != CONNECTION_OK)
		stmts_forget(s);
	if (rc && last) {
		PQclear(*last);
		*last = NULL;
	}
	return rc;
}

static vis_err pipe_flush(struct pg_store *s, struct vis_error *e)
{
	return pipe_read(s, 0, NULL, NULL, NULL, e);
}

/* Sends text without parameters (BEGIN, COMMIT, SET) in pipeline mode. */
static vis_err pipe_text(struct pg_store *s, const char *sql, struct vis_error *e)
{
	if (!s->piped && PQenterPipelineMode(s->conn) != 1)
		return pg_fail(e, VIS_ERR_STORE, "sequenza", PQerrorMessage(s->conn));
	s->piped++;
	s->base.statements++;
	if (!PQsendQueryParams(s->conn, sql, 0, NULL, NULL, NULL, NULL, 0))
		return pg_fail(e, VIS_ERR_STORE, "sequenza", PQerrorMessage(s->conn));
	return VIS_OK;
}

static vis_err exec_simple(struct pg_store *s, const char *sql, struct vis_error *e);

/* The BEGIN of a transaction begun, when it has not been sent: in the
 * pipeline (ahead of the statement about to be sent), or at once. */
static vis_err begin_piped(struct pg_store *s, struct vis_error *e)
{
	if (!s->begin_pending)
		return VIS_OK;
	s->begin_pending = false;
	return pipe_text(s, s->begin_sql, e);
}

static vis_err begin_sync(struct pg_store *s, struct vis_error *e)
{
	if (!s->begin_pending)
		return VIS_OK;
	s->begin_pending = false;
	return exec_simple(s, s->begin_sql, e);
}

/* Sends a statement in pipeline mode (after the transaction's BEGIN when
 * that is still to be sent): its result is read with the pipeline's. */
static vis_err pipe_send(struct pg_store *s, const char *sql, const struct pg_params *p,
			 struct vis_error *e)
{
	if (s->copy && copy_end(s, e))
		return VIS_ERR_STORE;
	int i = 0;
	while (i < s->nstmts && strcmp(s->stmts[i].sql, sql))
		i++;
	/* Statements are prepared outside the pipeline; and a pipeline is
	 * read back every PIPE_DEPTH statements: libpq blocks while it sends,
	 * and a server whose results are not read stops reading too. */
	if (s->piped && (i == s->nstmts || !s->stmts[i].prepared || s->piped >= PIPE_DEPTH) &&
	    pipe_flush(s, e))
		return VIS_ERR_STORE;
	if (!s->piped && conn_ready(s, e))
		return VIS_ERR_STORE;
	struct pg_stmt *st = stmt_get(s, sql, &i, e);
	if (!st)
		return VIS_ERR_STORE;
	if (!s->piped && PQenterPipelineMode(s->conn) != 1)
		return pg_fail(e, VIS_ERR_STORE, "sequenza", PQerrorMessage(s->conn));
	if (begin_piped(s, e))
		return VIS_ERR_STORE;
	char name[16];
	snprintf(name, sizeof name, "v%d", i);
	int n = p ? (p->n < st->nparams ? p->n : st->nparams) : 0;
	s->piped++;
	s->base.statements++;
	if (!PQsendQueryPrepared(s->conn, name, n, p ? p->v : NULL, NULL, NULL, 0))
		return pg_fail(e, VIS_ERR_STORE, "sequenza", PQerrorMessage(s->conn));
	return VIS_OK;
}

/* Runs sql with p; the result (rows or none) is the caller's to PQclear,
 * NULL on failure with e set.  Statements sent in pipeline mode before it
 * (and a BEGIN not sent yet) go in the same round trip, their failures
 * reported as its own. */
static PGresult *run(struct pg_store *s, const char *sql, const struct pg_params *p,
		     const char *what, struct vis_error *e)
{
	if (s->copy && copy_end(s, e))
		return NULL;
	if (s->piped || s->begin_pending) {
		PGresult *r = NULL;
		if (pipe_send(s, sql, p, e)) {
			if (s->piped)
				pipe_flush(s, NULL);
			return NULL;
		}
		if (pipe_read(s, 0, NULL, NULL, &r, e))
			return NULL;
		return r;
	}
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
	s->base.statements++;
	s->base.round_trips++;
	return result_ok(s, PQexecPrepared(s->conn, name, n, p ? p->v : NULL, NULL, NULL, 0),
			 what, e);
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
	if (conn_ready(s, e) || begin_sync(s, e))
		return VIS_ERR_STORE;
	s->base.statements++;
	s->base.round_trips++;
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
	return run_done(s, LOCK_SQL, &p, "blocco", NULL, e);
}

/* ---- COPY ---- */

static vis_err copy_flush(struct pg_store *s, struct vis_error *e)
{
	if (s->copylen && PQputCopyData(s->conn, s->copybuf, (int)s->copylen) != 1)
		return pg_fail(e, VIS_ERR_STORE, "caricamento in blocco", PQerrorMessage(s->conn));
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
		rc = pg_fail(e, VIS_ERR_STORE, "caricamento in blocco", PQerrorMessage(s->conn));
	PGresult *r;
	while ((r = PQgetResult(s->conn))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && !rc)
			rc = pg_fail(e, VIS_ERR_STORE, "caricamento in blocco", PQresultErrorMessage(r));
		PQclear(r);
	}
	s->copylen = 0;
	return rc;
}

/* Abandons the COPY under way (a rollback): the rows not yet handed to
 * libpq are dropped, the server's backend is interrupted (a cancel
 * request: it is still in the COPY, which has not been ended) and the
 * COPY failed (CopyFail).  The backend then skips what was sent after
 * it without taking it; ending the COPY normally had it take and check
 * every row sent and buffered first: 1.9 s of a stopped
 * 1,000,000-person snapshot, and 1 s with the CopyFail alone, behind
 * the rows already in the socket. */
static void copy_abort(struct pg_store *s)
{
	if (!s->copy)
		return;
	free(s->copy);
	s->copy = NULL;
	s->copylen = 0;
	PGcancel *c = PQgetCancel(s->conn);
	if (c) {
		char why[256];
		PQcancel(c, why, sizeof why); /* not sent: the CopyFail alone */
		PQfreeCancel(c);
	}
	PQputCopyEnd(s->conn, "caricamento annullato");
	PGresult *r;
	while ((r = PQgetResult(s->conn)))
		PQclear(r);
}

/* Starts the COPY of sql unless it is the one under way. */
static vis_err copy_start(struct pg_store *s, const char *sql, struct vis_error *e)
{
	if (s->copy && !strcmp(s->copy, sql))
		return VIS_OK;
	if (copy_end(s, e) || conn_ready(s, e) || begin_sync(s, e))
		return VIS_ERR_STORE;
	PGresult *r = PQexec(s->conn, sql);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		pg_fail(e, VIS_ERR_STORE, "caricamento in blocco", r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn));
		PQclear(r);
		return VIS_ERR_STORE;
	}
	PQclear(r);
	if (!(s->copy = strdup(sql))) {
		copy_end(s, NULL);
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
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
			return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
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

/* Records migration m as applied, in the open transaction. */
static vis_err migration_record(struct pg_store *s, const struct schema_migration *m,
				struct vis_error *e)
{
	struct pg_params p = {0};
	pp_i64(&p, m->version);
	pp_text(&p, m->name);
	pp_i64(&p, (int64_t)time(NULL));
	return run_done(s, "INSERT INTO schema_migrations VALUES (?1, ?2, ?3)", &p,
			"registrazione della migrazione", NULL, e);
}

/* A companion that holds the shared state's tables but recorded no
 * migration (made before it recorded them) has them as the shared
 * migrations up to SCHEMA_SHARED_UNRECORDED leave them: those are
 * recorded, in the open transaction, and s->schema_version set. */
static vis_err shared_adopt(struct pg_store *s, struct vis_error *e)
{
	PGresult *r = run(s, "SELECT to_regclass('shared_state') IS NOT NULL", NULL,
			  "tabelle dello stato condiviso", e);
	if (!r)
		return VIS_ERR_STORE;
	bool made = !strcmp(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	for (int i = 0; made && i < schema_migration_count; i++) {
		const struct schema_migration *m = &schema_migrations[i];
		if (m->version > SCHEMA_SHARED_UNRECORDED || !schema_migration_shared(m->version))
			continue;
		if (migration_record(s, m, e))
			return VIS_ERR_STORE;
		s->schema_version = m->version;
	}
	return VIS_OK;
}

/* The migrations not applied yet, one per transaction, under a lock.  The
 * companion database (shared) takes only the shared state's
 * (schema_shared_migrations), recorded in its own schema_migrations. */
static vis_err migrate(struct pg_store *s, bool shared, struct vis_error *e)
{
	char *table = schema_sql(schema_migrations_table, SCHEMA_POSTGRES);
	if (!table)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
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
			      "versione dello schema", e))) {
			rc = VIS_ERR_STORE;
			break;
		}
		s->schema_version = get_int(r, 0, 0);
		PQclear(r);
		if (shared && !s->schema_version && (rc = shared_adopt(s, e)))
			break;
		if (s->schema_version > store_schema_latest()) {
			rc = vis_error_set(e, VIS_ERR_CONFLICT,
					   "lo schema del database è alla versione %d, più recente "
					   "di questo visura (%d): il database è stato scritto da "
					   "una versione successiva; usare quella versione (visura "
					   "non riporta indietro un database)",
					   s->schema_version, store_schema_latest());
			break;
		}
		const struct schema_migration *m = NULL;
		for (int i = 0; i < schema_migration_count && !m; i++)
			if (schema_migrations[i].version > s->schema_version &&
			    (!shared || schema_migration_shared(schema_migrations[i].version)))
				m = &schema_migrations[i];
		if (!m) {
			rc = exec_simple(s, "COMMIT", e);
			s->in_txn = false;
			break;
		}
		char *sql = schema_sql(m->sql, SCHEMA_POSTGRES);
		if (!sql) {
			rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
			break;
		}
		rc = exec_simple(s, sql, e);
		free(sql);
		if (rc || (rc = migration_record(s, m, e)) || (rc = exec_simple(s, "COMMIT", e)))
			break;
		s->in_txn = false;
		s->schema_version = m->version;
	}
	free(table);
	if (rc && s->in_txn)
		pg_rollback(s);
	return rc;
}

static vis_err pg_open(const char *conninfo, bool shared, struct pg_store **out,
		       struct vis_error *e)
{
	struct pg_store *s = calloc(1, sizeof *s);
	if (!s)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	s->base.ops = &pq_drv_ops;
	s->conn = PQconnectdb(conninfo);
	if (!s->conn) {
		free(s);
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	if (PQstatus(s->conn) != CONNECTION_OK) {
		pg_fail(e, VIS_ERR_STORE, "impossibile collegarsi a "
					  "PostgreSQL", PQerrorMessage(s->conn));
		pg_close(s);
		return VIS_ERR_STORE;
	}
	PQsetNoticeProcessor(s->conn, quiet, NULL);
	if (migrate(s, shared, e)) {
		pg_close(s);
		return VIS_ERR_STORE;
	}
	*out = s;
	return VIS_OK;
}

void drv_pg_files_name(const char *conninfo, char *out, size_t cap)
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

static void pg_close(struct pg_store *s)
{
	if (!s)
		return;
	PQfinish(s->conn);
	free(s->copy);
	for (int i = 0; i < s->nstmts; i++) {
		pq_stmt_free(s->objs[i]);
		free(s->stmts[i].sql);
	}
	free(s->copybuf);
	free(s);
}

static int pg_schema_version(struct pg_store *s)
{
	return s->schema_version;
}

/* The BEGIN waits for the transaction's first statement, and goes out
 * with it (begin_piped, begin_sync): a transaction costs no round trip of
 * its own. */
static vis_err pg_begin(struct pg_store *s, struct vis_error *e)
{
	if (s->in_txn)
		return vis_error_set(e, VIS_ERR_INTERNAL, "una transazione è già aperta");
	if (copy_end(s, e) || conn_ready(s, e))
		return VIS_ERR_STORE;
	s->in_txn = s->begin_pending = true;
	s->begin_sql = "BEGIN";
	return VIS_OK;
}

/* Statements sent in pipeline mode go with the COMMIT, in one round
 * trip. */
static vis_err pg_commit(struct pg_store *s, struct vis_error *e)
{
	if (s->begin_pending) {   /* nothing was run: nothing to commit */
		s->begin_pending = s->in_txn = false;
		return VIS_OK;
	}
	vis_err rc = copy_end(s, e);
	if (rc == VIS_OK && s->piped)
		rc = pipe_text(s, "COMMIT", e) ? VIS_ERR_STORE : pipe_flush(s, e);
	else if (rc == VIS_OK)
		rc = exec_simple(s, "COMMIT", e);
	if (s->piped)
		pipe_flush(s, NULL);
	if (rc != VIS_OK && PQstatus(s->conn) == CONNECTION_OK &&
	    PQtransactionStatus(s->conn) != PQTRANS_IDLE)
		exec_simple(s, "ROLLBACK", NULL);
	s->in_txn = false;
	return rc;
}

static void pg_rollback(struct pg_store *s)
{
	if (s->begin_pending) {
		s->begin_pending = s->in_txn = false;
		return;
	}
	if (s->piped)
		pipe_flush(s, NULL);
	copy_abort(s);
	if (PQstatus(s->conn) == CONNECTION_OK && PQtransactionStatus(s->conn) != PQTRANS_IDLE)
		exec_simple(s, "ROLLBACK", NULL);
	s->in_txn = false;
}

/* ---- copying a whole database (store_copy) ---- */

static vis_err pg_table_each(struct drv *d, const char *table, bool with_rowid, store_row_fn fn,
		      void *ctx, struct vis_error *e)
{
	struct pg_store *s = (struct pg_store *)d;
	(void)with_rowid;   /* the rowid column is one of the table's here */
	char sql[128];
	/* a table's name, a constant of the schema */
	STR_FMT_KNOWN(sql, "SELECT * FROM %s", table);
	if (copy_end(s, e) || conn_ready(s, e) || begin_sync(s, e))
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
			rc = vis_error_set(e, VIS_ERR_INTERNAL, "la tabella %s ha troppe "
								"colonne", table);
		}
		PQclear(r);
	}
	return rc;
}

static vis_err pg_table_insert(struct drv *d, const char *table, int ncols,
			const char *const *names, const char *const *values, struct vis_error *e)
{
	struct pg_store *s = (struct pg_store *)d;
	char sql[4096];
	size_t len = (size_t)snprintf(sql, sizeof sql, "COPY %s (", table);
	for (int i = 0; i < ncols && len < sizeof sql; i++)
		len += (size_t)snprintf(sql + len, sizeof sql - len, "%s%s", i ? ", " : "", names[i]);
	if (len + 16 >= sizeof sql)
		return vis_error_set(e, VIS_ERR_INTERNAL, "tabella %s: istruzione troppo "
							  "lunga", table);
	strcat(sql, ") FROM STDIN");
	struct pg_params p = {0};
	if (ncols > PG_MAX_PARAMS)
		return vis_error_set(e, VIS_ERR_INTERNAL, "la tabella %s ha troppe colonne", table);
	for (int i = 0; i < ncols; i++)
		p.v[p.n++] = values[i];
	if (copy_start(s, sql, e))
		return VIS_ERR_STORE;
	return copy_row(s, &p, e);
}

static vis_err pg_table_rows(struct drv *d, const char *table, int64_t *n, struct vis_error *e)
{
	struct pg_store *s = (struct pg_store *)d;
	char sql[128];
	/* a table's name, a constant of the schema */
	STR_FMT_KNOWN(sql, "SELECT count(*) FROM %s", table);
	PGresult *r = run(s, sql, NULL, table, e);
	if (!r)
		return VIS_ERR_STORE;
	*n = get_i64(r, 0, 0);
	PQclear(r);
	return VIS_OK;
}

static vis_err pg_table_clear(struct drv *d, const char *table, struct vis_error *e)
{
	struct pg_store *s = (struct pg_store *)d;
	char sql[128];
	STR_FMT_KNOWN(sql, "DELETE FROM %s", table); /* a table's name, a constant of the schema */
	return run_done(s, sql, NULL, table, NULL, e);
}

/* Moves every identity column's generator past the largest id loaded. */
static vis_err pg_load_finish(struct drv *d, struct vis_error *e)
{
	struct pg_store *s = (struct pg_store *)d;
	if (copy_end(s, e))
		return VIS_ERR_STORE;
	PGresult *cols = run(s, "SELECT table_name, column_name FROM information_schema.columns"
				" WHERE table_schema = current_schema() AND is_identity = 'YES'",
			     NULL, "colonne identity", e);
	if (!cols)
		return VIS_ERR_STORE;
	vis_err rc = VIS_OK;
	for (int i = 0; rc == VIS_OK && i < PQntuples(cols); i++) {
		const char *t = PQgetvalue(cols, i, 0), *c = PQgetvalue(cols, i, 1);
		char *ti = PQescapeIdentifier(s->conn, t, strlen(t));
		char *ci = PQescapeIdentifier(s->conn, c, strlen(c));
		char sql[512];
		if (!ti || !ci) {
			rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
		} else {
			/* names of the schema's constants */
			STR_FMT_KNOWN(sql,
				      "SELECT setval(pg_get_serial_sequence(?1, ?2),"
				      " (SELECT coalesce(max(%s), 0) + 1 FROM %s), false)",
				      ci, ti);
			struct pg_params p = {0};
			pp_text(&p, t);
			pp_text(&p, c);
			rc = run_done(s, sql, &p, "colonna identity", NULL, e);
		}
		PQfreemem(ti);
		PQfreemem(ci);
	}
	PQclear(cols);
	return rc;
}

/* ---- the driver (store/driver.h) ---- */

struct pq_stmt {
	struct drv_stmt base;
	int index;             /* in s->stmts */
	struct pg_params p;
	char *texts[PG_MAX_PARAMS];   /* copies of text bound with a length */
	char *copy;            /* drv_load: the COPY of this INSERT, built once */
	PGresult *res;         /* after the first step */
	int row;
	int64_t changes;
	bool busy, owned;
	bool batch;            /* res is a pipeline's, freed by it */
};

static void pq_params_clear(struct pq_stmt *st)
{
	for (int i = 0; i < st->p.n; i++) {
		free(st->texts[i]);
		st->texts[i] = NULL;
		st->p.v[i] = NULL;
	}
	st->p.n = 0;
}

static void pq_stmt_free(struct pq_stmt *st)
{
	if (!st)
		return;
	pq_params_clear(st);
	PQclear(st->res);
	free(st->copy);
	free(st);
}

/* The index in s->stmts of sql, added (not yet prepared) when new. */
static int stmt_find(struct pg_store *s, const char *sql, struct vis_error *e)
{
	unsigned h = text_hash(sql);
	int i = 0;
	while (i < s->nstmts && (s->stmts[i].hash != h || strcmp(s->stmts[i].sql, sql)))
		i++;
	if (i < s->nstmts)
		return i;
	if (s->nstmts == PG_MAX_STMTS)
		return vis_error_set(e, VIS_ERR_INTERNAL, "troppe istruzioni distinte"), -1;
	if (!(s->stmts[i].sql = strdup(sql)))
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita"), -1;
	s->stmts[i].hash = h;
	s->stmts[i].prepared = false;
	s->nstmts++;
	return i;
}

static struct drv_stmt *pq_prepare(struct drv *d, int id, const char *sql, struct vis_error *e)
{
	struct pg_store *s = (struct pg_store *)d;
	int i = id >= 0 ? s->by_id[id] - 1 : -1;
	if (i < 0) {
		if ((i = stmt_find(s, id >= 0 ? store_sql[id] : sql, e)) < 0)
			return NULL;
		if (id >= 0)
			s->by_id[id] = i + 1;
	}
	struct pq_stmt *st = s->objs[i];
	if (st && !st->busy) {
		st->busy = true;
		return &st->base;
	}
	/* In use already (a nested use): one of its own, same server statement. */
	if (!(st = calloc(1, sizeof *st))) {
		vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
		return NULL;
	}
	st->base.d = d;
	st->index = i;
	st->busy = true;
	if (s->objs[i])
		st->owned = true;
	else
		s->objs[i] = st;
	return &st->base;
}

static void pq_bind_set(struct pq_stmt *st, int i, const char *v)
{
	if (i < 1 || i > PG_MAX_PARAMS) {
		st->base.bad_param = i ? i : -1;
		return;
	}
	for (; st->p.n < i; st->p.n++)
		st->p.v[st->p.n] = NULL;
	free(st->texts[i - 1]);
	st->texts[i - 1] = NULL;
	st->p.v[i - 1] = v;
}

static void pq_bind_text(struct drv_stmt *b, int i, const char *v, size_t n)
{
	struct pq_stmt *st = (struct pq_stmt *)b;
	if (n == (size_t)-1 || i < 1 || i > PG_MAX_PARAMS) {
		pq_bind_set(st, i, v);
		return;
	}
	char *copy = strndup(v, n);
	pq_bind_set(st, i, copy);
	st->texts[i - 1] = copy;
	if (!copy)
		b->bad_param = i;   /* out of memory */
}

static void pq_bind_i64(struct drv_stmt *b, int i, int64_t v)
{
	struct pq_stmt *st = (struct pq_stmt *)b;
	pq_bind_set(st, i, NULL);
	if (i < 1 || i > PG_MAX_PARAMS)
		return;
	snprintf(st->p.num[i - 1], sizeof st->p.num[0], "%lld", (long long)v);
	st->p.v[i - 1] = st->p.num[i - 1];
}

static void pq_bind_null(struct drv_stmt *b, int i)
{
	pq_bind_set((struct pq_stmt *)b, i, NULL);
}

/* Parameters never bound are NULL. */
static void pq_params_pad(struct pq_stmt *st)
{
	for (; st->p.n < PG_MAX_PARAMS; st->p.n++)
		st->p.v[st->p.n] = NULL;
}

static enum drv_step pq_step(struct drv_stmt *b, struct vis_error *e)
{
	struct pq_stmt *st = (struct pq_stmt *)b;
	struct pg_store *s = (struct pg_store *)b->d;
	if (!st->res) {
		pq_params_pad(st);
		PGresult *r = run(s, s->stmts[st->index].sql, &st->p,
				  b->what ? b->what : "istruzione", e);
		if (!r) {
			b->err = e && e->code ? e->code : VIS_ERR_STORE;
			return DRV_ERROR;
		}
		st->res = r;
		st->row = -1;
		st->changes = strtoll(PQcmdTuples(r), NULL, 10);
	}
	if (st->row + 1 < PQntuples(st->res)) {
		st->row++;
		return DRV_ROW;
	}
	st->row = PQntuples(st->res);
	return DRV_DONE;
}

static void pq_reset(struct drv_stmt *b)
{
	struct pq_stmt *st = (struct pq_stmt *)b;
	if (st->batch) {
		st->res = NULL;
		return;
	}
	if (st->owned) {
		pq_stmt_free(st);
		return;
	}
	PQclear(st->res);
	st->res = NULL;
	st->changes = 0;
	pq_params_clear(st);
	st->busy = false;
	b->err = VIS_OK;
}

/* Inside a transaction the statement is pipelined: a failure shows at the
 * next statement run otherwise, or at the commit. */
static vis_err pq_send(struct drv_stmt *b, struct vis_error *e)
{
	struct pq_stmt *st = (struct pq_stmt *)b;
	struct pg_store *s = (struct pg_store *)b->d;
	if (!s->in_txn)
		return drv_done(b, e);
	pq_params_pad(st);
	vis_err rc = pipe_send(s, s->stmts[st->index].sql, &st->p, e);
	pq_reset(b);
	return rc;
}

/* "INSERT INTO t (cols) VALUES (...)" becomes "COPY t (cols) FROM STDIN". */
static vis_err pq_load(struct drv_stmt *b, struct vis_error *e)
{
	struct pq_stmt *st = (struct pq_stmt *)b;
	struct pg_store *s = (struct pg_store *)b->d;
	vis_err rc = VIS_OK;
	if (!st->copy) {
		const char *sql = s->stmts[st->index].sql;
		const char *end = strstr(sql, ") VALUES (");
		if (strncmp(sql, "INSERT INTO ", 12) || !end) {
			rc = vis_error_set(e, VIS_ERR_INTERNAL, "un caricamento in blocco di "
								"un'istruzione che non è un "
								"INSERT");
		} else {
			size_t n = (size_t)(end - (sql + 12)) + 1;
			struct strbuf sb;
			strbuf_init(&sb, PG_SQL_MAX);
			strbuf_adds(&sb, "COPY ");
			strbuf_add(&sb, sql + 12, n);
			if ((rc = strbuf_adds(&sb, " FROM STDIN")))
				vis_error_set(e, rc, "caricamento in blocco: istruzione troppo "
						     "lunga");
			else
				st->copy = strbuf_detach(&sb, NULL);
			strbuf_release(&sb);
		}
	}
	if (rc == VIS_OK)
		rc = copy_start(s, st->copy, e);
	if (rc == VIS_OK)
		rc = copy_row(s, &st->p, e);
	pq_reset(b);
	return rc;
}

static int64_t pq_changes(struct drv_stmt *b)
{
	return ((struct pq_stmt *)b)->changes;
}

static const char *pq_col_text(struct drv_stmt *b, int c, size_t *len)
{
	struct pq_stmt *st = (struct pq_stmt *)b;
	if (len)
		*len = (size_t)PQgetlength(st->res, st->row, c);
	return PQgetvalue(st->res, st->row, c);
}

static int64_t pq_col_i64(struct drv_stmt *b, int c)
{
	struct pq_stmt *st = (struct pq_stmt *)b;
	return strtoll(PQgetvalue(st->res, st->row, c), NULL, 10);
}

static bool pq_col_null(struct drv_stmt *b, int c)
{
	struct pq_stmt *st = (struct pq_stmt *)b;
	return PQgetisnull(st->res, st->row, c);
}

static void pq_drv_close(struct drv *d)
{
	pg_close((struct pg_store *)d);
}

static int pq_drv_schema_version(struct drv *d)
{
	return pg_schema_version((struct pg_store *)d);
}

static vis_err pq_drv_begin(struct drv *d, struct vis_error *e)
{
	return pg_begin((struct pg_store *)d, e);
}

/* One database: the trail's transactions are any other's (its appends
 * take DRV_LOCK_TRAIL). */
static vis_err pq_drv_begin_trail(struct drv *d, struct vis_error *e)
{
	return pg_begin((struct pg_store *)d, e);
}

/* Rows, not the database, are locked: an import holds none a request
 * writes.  The mode is kept only to be given back. */
static enum store_wait pq_wait(struct drv *d, enum store_wait mode)
{
	struct pg_store *s = (struct pg_store *)d;
	enum store_wait was = s->wait;
	s->wait = mode;
	return was;
}

static vis_err pq_drv_commit(struct drv *d, struct vis_error *e)
{
	return pg_commit((struct pg_store *)d, e);
}

static void pq_drv_rollback(struct drv *d)
{
	pg_rollback((struct pg_store *)d);
}

static bool pq_in_txn(struct drv *d)
{
	return ((struct pg_store *)d)->in_txn;
}

/* Each statement reads its own snapshot: a BEGIN would cost a round trip. */
static void pq_read_begin(struct drv *d)
{
	(void)d;
}

static void pq_read_end(struct drv *d)
{
	(void)d;
}

/* The snapshot is taken at the transaction's first statement, which the
 * BEGIN goes out with. */
static vis_err pq_begin_snapshot(struct drv *d, struct vis_error *e)
{
	struct pg_store *s = (struct pg_store *)d;
	vis_err rc = pg_begin(s, e);
	if (!rc)
		s->begin_sql = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";
	return rc;
}

/* Pipelined: the lock is held once the statements after it run (the
 * server runs them in order), and they go in the same round trip. */
static vis_err pq_lock(struct drv *d, enum drv_lock which, struct vis_error *e)
{
	struct pg_store *s = (struct pg_store *)d;
	struct pg_params p = {0};
	pp_i64(&p, which == DRV_LOCK_TRAIL ? LOCK_TRAIL : LOCK_IMPORT);
	if (!s->in_txn)
		return vis_error_set(e, VIS_ERR_INTERNAL, "un blocco fuori da una transazione");
	return pipe_send(s, LOCK_SQL, &p, e);
}

static vis_err pq_exec(struct drv *d, const char *sql, struct vis_error *e)
{
	struct pg_store *s = (struct pg_store *)d;
	if (copy_end(s, e))
		return VIS_ERR_STORE;
	return exec_simple(s, sql, e);
}

/* One import at a time on the database: event row ids then grow in commit
 * order, which the event feed's cursor relies on. */
static vis_err pq_load_begin(struct drv *d, bool first, struct vis_error *e)
{
	(void)first;   /* the caller's rows go by COPY (drv_load) */
	struct pg_store *s = (struct pg_store *)d;
	if (pg_begin(s, e))
		return VIS_ERR_STORE;
	return lock_xact(s, LOCK_IMPORT, e);
}

static vis_err pq_load_end(struct drv *d, const struct stop_ask *stop, struct vis_error *e)
{
	(void)stop; /* the COPY's end is the server's: not interrupted */
	return copy_end((struct pg_store *)d, e);
}

struct pq_batch {
	struct pq_stmt *st;
	vis_err (*take)(void *ctx, int i, struct drv_stmt *st, struct vis_error *e);
	void *ctx;
};

static vis_err pq_batch_take(void *ctx, int i, const PGresult *r, struct vis_error *e)
{
	struct pq_batch *bt = ctx;
	bt->st->res = (PGresult *)r;   /* read only, and dropped by the reset */
	bt->st->row = -1;
	return bt->take(bt->ctx, i, &bt->st->base, e);
}

/* The n statements go out in one pipeline, their results are read in
 * order. */
static vis_err pq_batch(struct drv *d, enum sql_id id, const char *what, int n,
			void (*bind)(void *ctx, int i, struct drv_stmt *st),
			vis_err (*take)(void *ctx, int i, struct drv_stmt *st, struct vis_error *e),
			void *ctx, struct vis_error *e)
{
	struct pg_store *s = (struct pg_store *)d;
	struct drv_stmt *b = drv_prepare(d, id, what, e);
	if (!b)
		return VIS_ERR_STORE;
	struct pq_stmt *st = (struct pq_stmt *)b;
	const char *sql = s->stmts[st->index].sql;
	int idx;
	/* Prepared first, so that the n statements go out in one pipeline
	 * (with the statements sent before them, and the transaction's BEGIN
	 * when it is still to be sent). */
	vis_err rc = VIS_OK;
	if (copy_end(s, e) || (!s->piped && conn_ready(s, e)))
		rc = VIS_ERR_STORE;
	else if (!s->stmts[st->index].prepared && s->piped && pipe_flush(s, e))
		rc = VIS_ERR_STORE;
	else if (!stmt_get(s, sql, &idx, e))
		rc = VIS_ERR_STORE;
	for (int i = 0; rc == VIS_OK && i < n; i++) {
		pq_params_clear(st);
		bind(ctx, i, b);
		pq_params_pad(st);
		rc = pipe_send(s, sql, &st->p, e);
	}
	if (rc == VIS_OK && s->piped < n)
		rc = vis_error_set(e, VIS_ERR_INTERNAL, "%s: %d di %d nella sequenza", what,
				   s->piped, n);
	if (rc == VIS_OK) {
		struct pq_batch bt = {st, take, ctx};
		st->batch = true;
		rc = pipe_read(s, s->piped - n, pq_batch_take, &bt, NULL, e);
		st->batch = false;
		st->res = NULL;
	} else if (s->piped) {
		pipe_flush(s, NULL);
	}
	pq_reset(b);
	return rc;
}

static const struct drv_ops pq_drv_ops = DRV_OPS_OF(pq);

vis_err drv_pg_open(const char *conninfo, struct drv **out, struct vis_error *e)
{
	struct pg_store *s = NULL;
	if (pg_open(conninfo, false, &s, e))
		return e && e->code ? e->code : VIS_ERR_STORE;
	*out = &s->base;
	return VIS_OK;
}

/* The companion database runs only the shared state's statements, each
 * on one key or a few (rate limits, anti-extraction values): their plan
 * is the same whatever the values, so it is made once per connection
 * (plan_cache_mode = force_generic_plan), never again at every call as
 * PostgreSQL once chose for SQL_STATE_SWAP, its estimates of the custom
 * plans being lower (issue #20: 114 µs of planning per look-up; that
 * statement is now written so that PostgreSQL's own choice keeps one plan
 * too, sql.c).  The register's connection keeps PostgreSQL's choice. */
vis_err drv_pg_open_shared(const char *conninfo, struct drv **out, struct vis_error *e)
{
	struct pg_store *s = NULL;
	if (pg_open(conninfo, true, &s, e))
		return e && e->code ? e->code : VIS_ERR_STORE;
	if (exec_simple(s, "SET plan_cache_mode = force_generic_plan", e)) {
		pg_close(s);
		return VIS_ERR_STORE;
	}
	*out = &s->base;
	return VIS_OK;
}

const struct drv_copy_ops drv_pg_copy_ops = {
	pg_table_each, pg_table_insert, pg_table_rows, pg_table_clear, pg_load_finish,
};

/* ---- store_probe: what a database holds, without migrating it ---- */

static PGresult *probe_one(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		PQclear(r);
		return NULL;
	}
	return r;
}

vis_err drv_pg_probe(const char *conninfo, int *version, bool *live, struct vis_error *e)
{
	*version = -1;
	*live = false;
	PGconn *c = PQconnectdb(conninfo);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		pg_fail(e, VIS_ERR_STORE, "impossibile collegarsi a PostgreSQL",
			c ? PQerrorMessage(c) : "memoria esaurita");
		PQfinish(c);
		return VIS_ERR_STORE;
	}
	PQsetNoticeProcessor(c, quiet, NULL);
	vis_err rc = VIS_OK;
	PGresult *r = probe_one(c, "SELECT to_regclass('schema_migrations') IS NOT NULL,"
				   " (SELECT count(*) FROM pg_stat_activity WHERE datname ="
				   " current_database() AND pid <> pg_backend_pid())");
	if (!r) {
		rc = pg_fail(e, VIS_ERR_STORE, "verifica", PQerrorMessage(c));
	} else {
		bool has = !strcmp(PQgetvalue(r, 0, 0), "t");
		*live = get_int(r, 0, 1) > 0;
		PQclear(r);
		*version = 0;
		if (has) {
			r = probe_one(c, "SELECT coalesce(max(version), 0) FROM schema_migrations");
			if (!r)
				rc = pg_fail(e, VIS_ERR_STORE, "versione dello schema", PQerrorMessage(c));
			else
				*version = get_int(r, 0, 0);
			PQclear(r);
		}
	}
	PQfinish(c);
	return rc;
}
