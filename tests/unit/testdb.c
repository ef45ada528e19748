#include "testdb.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* A connection to the test server's own database, NULL when it fails. */
static PGconn *admin_connect(void)
{
	const char *ci = getenv("VISURA_TEST_PG");
	if (!ci || !*ci)
		return NULL;
	PGconn *c = PQconnectdb(ci);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "VISURA_TEST_PG: cannot connect: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, quiet, NULL);
	return c;
}

int testdb_backends(void)
{
	const char *ci = getenv("VISURA_TEST_PG");
	if (!ci || !*ci)
		return 1;
	PGconn *c = admin_connect();
	if (!c)
		return -1;
	PQfinish(c);
	return 2;
}

int testdb_run(const char *what, const struct CMUnitTest *tests, size_t n,
	       CMFixtureFunction group_setup, CMFixtureFunction group_teardown, bool *use_pg)
{
	char name[128];
	int backends = testdb_backends();
	if (backends < 0)
		return 1;
	*use_pg = false;
	const char *only = getenv("VISURA_TEST_ONLY");
	if (only && *only)
		cmocka_set_test_filter(only);
	snprintf(name, sizeof name, "%s on SQLite", what);
	int failed = _cmocka_run_group_tests(name, tests, n, group_setup, group_teardown);
	if (backends == 2) {
		*use_pg = true;
		snprintf(name, sizeof name, "%s on PostgreSQL", what);
		failed += _cmocka_run_group_tests(name, tests, n, group_setup, group_teardown);
	}
	return failed;
}

static bool admin_exec(const char *sql)
{
	PGconn *c = admin_connect();
	if (!c)
		return false;
	PGresult *r = PQexec(c, sql);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok;
}

static void sqlite_remove(const char *path)
{
	char p[160];
	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
	snprintf(p, sizeof p, "%s.trail", path);   /* the access trail's file */
	unlink(p);
	snprintf(p, sizeof p, "%s.trail-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s.trail-shm", path);
	unlink(p);
}

/* CREATE DATABASE name [TEMPLATE tpl] (and its companion's), after
 * dropping a leftover of the same name. */
static int create_pg(struct testdb *d, const char *tpl)
{
	char sql[256];
	for (int i = 0; i < 1 + d->companion; i++) {
		snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s%s", d->name, i ? "_sh" : "");
		admin_exec(sql);
		if (tpl)
			snprintf(sql, sizeof sql,
				 "CREATE DATABASE %s%s TEMPLATE %s%s STRATEGY FILE_COPY", d->name,
				 i ? "_sh" : "", tpl, i ? "_sh" : "");
		else
			snprintf(sql, sizeof sql, "CREATE DATABASE %s%s STRATEGY FILE_COPY", d->name,
				 i ? "_sh" : "");
		if (!admin_exec(sql))
			return -1;
	}
	/* A later keyword of a conninfo overrides an earlier one. */
	snprintf(d->uri, sizeof d->uri, "postgres:%s dbname=%s", getenv("VISURA_TEST_PG"), d->name);
	return 0;
}

/* Names d (a new name per call) without creating anything. */
static void testdb_name(struct testdb *d, bool pg, const char *tag)
{
	static int seq;
	memset(d, 0, sizeof *d);
	d->pg = pg;
	seq++;
	if (!pg)
		snprintf(d->path, sizeof d->path, "/tmp/visura-test-%s-%d-%d.db", tag, (int)getpid(),
			 seq);
	else
		snprintf(d->name, sizeof d->name, "visura_%s_%d_%d", tag, (int)getpid(), seq);
	d->companion = pg && testdb_companion();
}

int testdb_create(struct testdb *d, bool pg, const char *tag)
{
	testdb_name(d, pg, tag);
	if (!pg) {
		sqlite_remove(d->path);
		snprintf(d->uri, sizeof d->uri, "%s", d->path);
		return 0;
	}
	return create_pg(d, NULL);
}

/* PostgreSQL: a database migrated once by store_open and closed, copied by
 * CREATE DATABASE ... TEMPLATE for every testdb_open of the process: the
 * migrations ran once per test (with a new database and its companion:
 * about 0.9 s each, most of a PostgreSQL unit test's time).  A store opened
 * on the copy finds its schema current, as on any database it migrated. */
static struct testdb tpl;
static int tpl_state;   /* 0 not made yet, 1 made, -1 failed */

static void template_drop(void)
{
	if (tpl_state == 1)
		testdb_drop(&tpl);
}

static const char *template_name(void)
{
	if (tpl_state == 0) {
		struct store *s = NULL;
		struct vis_error e = {0};
		tpl_state = -1;
		if (testdb_create(&tpl, true, "template"))
			return NULL;
		if (testdb_store_open(tpl.uri, &s, &e) != VIS_OK) {
			fprintf(stderr, "store_open (template): %s\n", e.msg);
			testdb_drop(&tpl);
			return NULL;
		}
		store_close(s);
		tpl_state = 1;
		atexit(template_drop);
	}
	return tpl_state == 1 ? tpl.name : NULL;
}

void testdb_drop(struct testdb *d)
{
	if (!d->pg) {
		sqlite_remove(d->path);
		return;
	}
	char sql[128];
	for (int i = 0; i < 1 + d->companion; i++) {
		snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s%s WITH (FORCE)", d->name,
			 i ? "_sh" : "");
		admin_exec(sql);
	}
}

bool testdb_companion(void)
{
	const char *v = getenv("VISURA_TEST_PG_SHARED");
	return !v || strcmp(v, "0");
}

int testdb_store_open(const char *uri, struct store **out, struct vis_error *e)
{
	vis_err rc = store_open(uri, out, e);
	if (rc || strncmp(uri, "postgres:", 9) || !testdb_companion())
		return rc;
	char shared[1200];
	snprintf(shared, sizeof shared, "%s_sh", uri);
	if ((rc = store_shared_open(*out, shared, e))) {
		store_close(*out);
		*out = NULL;
	}
	return rc;
}

int testdb_open(struct testdb *d, bool pg, const char *tag, struct store **out)
{
	struct vis_error e = {0};
	if (!pg || !template_name()) {
		if (testdb_create(d, pg, tag))
			return -1;
	} else {
		testdb_name(d, true, tag);
		if (create_pg(d, tpl.name))
			return -1;
	}
	if (testdb_store_open(d->uri, out, &e) != VIS_OK) {
		fprintf(stderr, "store_open: %s\n", e.msg);
		testdb_drop(d);
		return -1;
	}
	return 0;
}

void testdb_close(struct testdb *d, struct store *s)
{
	store_close(s);
	testdb_drop(d);
}

/* The database file with the access trail's file attached as the store
 * attaches it. */
static bool open_sqlite(const char *path, sqlite3 **db)
{
	char sql[256];
	snprintf(sql, sizeof sql, "ATTACH DATABASE '%s.trail' AS trail", path);
	return sqlite3_open(path, db) == SQLITE_OK &&
	       sqlite3_exec(*db, sql, NULL, NULL, NULL) == SQLITE_OK;
}

bool testdb_exec(const struct testdb *d, const char *sql)
{
	if (!d->pg) {
		sqlite3 *db;
		char *err = NULL;
		bool ok = open_sqlite(d->path, &db) && sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK;
		if (!ok)
			fprintf(stderr, "%s: %s\n", sql, err ? err : sqlite3_errmsg(db));
		sqlite3_free(err);
		sqlite3_close(db);
		return ok;
	}
	PGconn *c = PQconnectdb(d->uri + strlen("postgres:"));
	PQsetNoticeProcessor(c, quiet, NULL);
	PGresult *r = PQexec(c, "SET session_replication_role = replica");
	PQclear(r);
	r = PQexec(c, sql);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok;
}

static uint64_t text_hash(uint64_t h, const char *v)
{
	for (; v && *v; v++)
		h = (h ^ (unsigned char)*v) * 1099511628211ull;
	return (h ^ 0x1f) * 1099511628211ull;
}

static uint64_t fingerprint_sqlite(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *tables, *rows;
	uint64_t sum = 0;
	if (!open_sqlite(path, &db) ||
	    sqlite3_prepare_v2(db, "SELECT name FROM main.sqlite_master WHERE type = 'table'"
			       " UNION ALL SELECT name FROM trail.sqlite_master WHERE type = 'table'",
			       -1, &tables, NULL) != SQLITE_OK)
		abort();
	while (sqlite3_step(tables) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(tables, 0);
		char sql[256];
		snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", t);
		if (sqlite3_prepare_v2(db, sql, -1, &rows, NULL) != SQLITE_OK)
			abort();
		while (sqlite3_step(rows) == SQLITE_ROW) {
			uint64_t h = text_hash(1469598103934665603ull, t);
			for (int c = 0; c < sqlite3_column_count(rows); c++)
				h = text_hash(h, (const char *)sqlite3_column_text(rows, c));
			sum += h;
		}
		sqlite3_finalize(rows);
	}
	sqlite3_finalize(tables);
	sqlite3_close(db);
	return sum;
}

static uint64_t fingerprint_pg(const char *uri)
{
	PGconn *c = PQconnectdb(uri + strlen("postgres:"));
	if (PQstatus(c) != CONNECTION_OK)
		abort();
	PGresult *tables = PQexec(c, "SELECT table_name FROM information_schema.tables"
				     " WHERE table_schema = 'public'");
	uint64_t sum = 0;
	for (int i = 0; i < PQntuples(tables); i++) {
		const char *t = PQgetvalue(tables, i, 0);
		char sql[256];
		snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", t);
		PGresult *rows = PQexec(c, sql);
		if (PQresultStatus(rows) != PGRES_TUPLES_OK)
			abort();
		for (int r = 0; r < PQntuples(rows); r++) {
			uint64_t h = text_hash(1469598103934665603ull, t);
			for (int k = 0; k < PQnfields(rows); k++)
				h = text_hash(h, PQgetisnull(rows, r, k) ? NULL : PQgetvalue(rows, r, k));
			sum += h;
		}
		PQclear(rows);
	}
	PQclear(tables);
	PQfinish(c);
	return sum;
}

uint64_t testdb_fingerprint(const struct testdb *d)
{
	return d->pg ? fingerprint_pg(d->uri) : fingerprint_sqlite(d->path);
}
