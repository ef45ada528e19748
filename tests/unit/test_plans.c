/* The query plans SQLite picks for the statements a request or an
 * import record runs against the register, and of the office's counts of
 * alerts and security events: each must find its rows
 * through an index, never by reading a whole table (a plan that scans
 * `family` made every look-up read every household: 97 ms of CPU per
 * answer at 1,000,000 persons, found by bench/lookup).  The plans are read
 * with EXPLAIN QUERY PLAN on a database made by store_open (the schema of
 * every migration, no statistics: SQLite's plans then follow its rules,
 * not the data).  SQL_PERSON_VERSIONS_HOME_AT is not among them: SQLite,
 * which has no round trips to save, reads the person and the household
 * with two of these instead (store_person_versions_home_at).
 *
 * On PostgreSQL ($VISURA_TEST_PG, unit_pg.test_plans) the name searches'
 * generic plans (the plan a prepared statement keeps after five runs:
 * plan_cache_mode = force_generic_plan) must search their index with the
 * birth date too: "(?3 = 0 OR birth_date = ?3)" was only a filter there,
 * every person of the surname and name read (docs/performance.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>

#include "store/records.h"
#include "store/sql.h"
#include "store/store.h"
#include "testdb.h"

static const struct {
	enum sql_id id;
	const char *name;
} per_request[] = {
#define S(x) {x, #x}
	S(SQL_PERSON_GET_CURRENT), S(SQL_PERSON_EXISTS), S(SQL_PERSON_CF_OWNER),
	S(SQL_PERSON_CF_ELSEWHERE), S(SQL_PERSON_BY_CF), S(SQL_PERSON_HISTORY),
	S(SQL_PERSON_VERSIONS_AT), S(SQL_FAMILY_GET_CURRENT),
	S(SQL_FAMILY_EXISTS), S(SQL_FAMILY_AT), S(SQL_FAMILY_MEMBERS), S(SQL_FAMILY_MEMBERS_PAGE),
	S(SQL_SEARCH_EXACT), S(SQL_SEARCH_SURNAME), S(SQL_SEARCH_NAME),
	/* the office's counts over tables that grow with every login */
	S(SQL_ALERTS_COUNT_ENTE), S(SQL_EVENTS_COUNT_DETAIL),
	/* an overdue feed's alert already raised today (migration 31) */
	S(SQL_ALERTS_SINCE),
	/* the outbox read at every tick: its due messages, not every message */
	S(SQL_MAIL_DUE),
	/* retention, every tick: what is old, not every row (migration 29) */
	S(SQL_PURGE_SECURITY_EVENTS), S(SQL_PURGE_MAIL), S(SQL_PURGE_SUBJECT_CODES),
	/* the PDND tokens' ids, two a call, and the citizens' sessions, past
	 * their end: by index, a batch at a time (migration 33) */
	S(SQL_PDND_JTI_PURGE), S(SQL_CITIZEN_SESSION_PURGE),
	/* the browser sessions past their end, by their end, and the login
	 * throttle's quiet rows, by their last failure (migration 34) */
	S(SQL_PURGE_SESSIONS), S(SQL_PURGE_THROTTLE),
#undef S
};

static const char *const register_tables[] = {"person", "person_history", "family",
					      "family_history", "alert", "security_event", "mail",
					      "subject_code", "pdnd_jti", "citizen_session",
					      "session", "throttle"};

/* "SCAN person", "SCAN person USING COVERING INDEX …": the whole table. */
static const char *scanned(const char *detail)
{
	if (strncmp(detail, "SCAN ", 5))
		return NULL;
	for (size_t i = 0; i < sizeof register_tables / sizeof *register_tables; i++) {
		size_t n = strlen(register_tables[i]);
		if (!strncmp(detail + 5, register_tables[i], n) &&
		    (detail[5 + n] == '\0' || detail[5 + n] == ' '))
			return register_tables[i];
	}
	return NULL;
}

/* How many steps of the plan of `sql` read a whole table of
 * register_tables (each said on stderr). */
static int plan_scans(sqlite3 *db, const char *name, const char *sql)
{
	char q[8192];
	int n = snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
	assert_true(n > 0 && (size_t)n < sizeof q);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", name, sqlite3_errmsg(db));
		return 1;
	}
	int bad = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *detail = (const char *)sqlite3_column_text(st, 3);
		const char *t = detail ? scanned(detail) : NULL;
		if (t) {
			fprintf(stderr, "%s reads the whole table %s: %s\n", name, t, detail);
			bad++;
		}
	}
	sqlite3_finalize(st);
	return bad;
}

/* A new SQLite database with every migration's schema (store_open),
 * opened read-only. */
static sqlite3 *sqlite_schema_db(struct testdb *d, const char *tag)
{
	assert_int_equal(testdb_create(d, false, tag), 0);
	struct store *s;
	struct vis_error e = {0};
	assert_int_equal(testdb_store_open(d->uri, &s, &e), VIS_OK);
	store_close(s);
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(d->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	return db;
}

static void test_register_statements_use_indexes(void **state)
{
	(void)state;
	struct testdb d;
	struct vis_error e = {0};
	sqlite3 *db = sqlite_schema_db(&d, "plans");
	int bad = 0;
	for (size_t i = 0; i < sizeof per_request / sizeof *per_request; i++)
		bad += plan_scans(db, per_request[i].name, store_sql[per_request[i].id]);
	/* the generic lists of records.c that every request or sweep makes:
	 * an account's security events (GET /auth/me's recent logins, its
	 * unused notice, the office's list by account) */
	static const struct store_filter account[] = {{"account_id", NULL, 7}, {NULL, NULL, 0}};
	static const struct store_filter account_kind[] = {
		{"account_id", NULL, 7}, {"kind", "login_success", 0}, {NULL, NULL, 0}};
	const struct store_filter *const lists[] = {account, account_kind};
	for (size_t i = 0; i < sizeof lists / sizeof *lists; i++) {
		char sql[4096];
		assert_true(rec_sql_list(&store_rec_descs[STORE_SECURITY_EVENT], lists[i], false, 10,
					 sql, sizeof sql, &e) >= 0);
		bad += plan_scans(db, "security_event by account", sql);
	}
	/* the outbox by recipient (GET /outbox?recipient=), a page and the
	 * next (migration 29) */
	static const struct store_filter recipient[] = {{"recipient", "a@example.org", 0},
							{NULL, NULL, 0}};
	for (int below = 0; below < 2; below++) {
		char sql[4096];
		assert_true(rec_sql_list(&store_rec_descs[STORE_MAIL], recipient, below, 50, sql,
					 sizeof sql, &e) >= 0);
		bad += plan_scans(db, "mail by recipient", sql);
	}
	sqlite3_close(db);
	testdb_drop(&d);
	assert_int_equal(bad, 0);
}

/* A new PostgreSQL database with every migration's schema (store_open),
 * and a connection to it of its own. */
static PGconn *pg_schema_db(struct testdb *d, const char *tag)
{
	assert_int_equal(testdb_create(d, true, tag), 0);
	struct store *s;
	struct vis_error e = {0};
	assert_int_equal(testdb_store_open(d->uri, &s, &e), VIS_OK);
	store_close(s);
	PGconn *c = PQconnectdb(d->uri + strlen("postgres:"));
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	return c;
}

/* Whether PostgreSQL's generic plan of statement id searches an index
 * with a condition on birth_date (its "Index Cond" line names it). */
static bool generic_plan_indexes_birth_date(PGconn *c, enum sql_id id, const char *name)
{
	char pgsql[8192], sql[8300];
	assert_true(sql_to_pg(store_sql[id], pgsql, sizeof pgsql) > 0);
	int n = snprintf(sql, sizeof sql, "PREPARE q AS %s", pgsql);
	assert_true(n > 0 && (size_t)n < sizeof sql);
	PGresult *r = PQexec(c, sql);
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	r = PQexec(c, "EXPLAIN EXECUTE q('ROSSI', 'MARIO', 19500101, 19501231, '', 20)");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	bool found = false;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *line = PQgetvalue(r, i, 0);
		fprintf(stderr, "%s: %s\n", name, line);
		if (strstr(line, "Index Cond:") && strstr(line, "birth_date"))
			found = true;
	}
	PQclear(r);
	PQclear(PQexec(c, "DEALLOCATE q"));
	return found;
}

static void test_pg_name_search_generic_plans(void **state)
{
	(void)state;
	struct testdb d;
	PGconn *c = pg_schema_db(&d, "plans");
	PQclear(PQexec(c, "SET plan_cache_mode = force_generic_plan"));
	static const struct {
		enum sql_id id;
		const char *name;
	} searches[] = {{SQL_SEARCH_EXACT, "SQL_SEARCH_EXACT"},
			{SQL_SEARCH_SURNAME, "SQL_SEARCH_SURNAME"},
			{SQL_SEARCH_NAME, "SQL_SEARCH_NAME"}};
	int bad = 0;
	for (size_t i = 0; i < sizeof searches / sizeof *searches; i++)
		if (!generic_plan_indexes_birth_date(c, searches[i].id, searches[i].name)) {
			fprintf(stderr, "%s: the generic plan does not search its index by "
					"birth_date\n", searches[i].name);
			bad++;
		}
	PQfinish(c);
	testdb_drop(&d);
	assert_int_equal(bad, 0);
}

/* One row of `sql` on c, as text ("" when there is none). */
static void pg_row(PGconn *c, const char *sql, char *out, size_t cap)
{
	PGresult *r = PQexec(c, sql);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	out[0] = '\0';
	if (PQntuples(r) == 1) {
		int n = snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
		assert_true(n >= 0 && (size_t)n < cap);
	}
	PQclear(r);
}

/* SQL_STATE_SWAP, the anti-extraction counters' statement every look-up
 * runs, keeps one plan for any values on a connection with PostgreSQL's
 * own choice of plan (the register's, without a companion database): a
 * value with many persons seen, its statistics known, and after PostgreSQL's
 * five plans for the values of each call the sixth call on runs the plan
 * for any values.  Before, d's guard ?5 >= 0 was folded to false in each
 * call's own plan (?5 is -1 but when persons leave), that plan cost far
 * less than the one for any values, and the statement was planned again at
 * every call (issue #20, docs/performance.md).  The guard still skips d's
 * scan when the statement runs: "never executed". */
static void test_pg_state_swap_planned_once(void **state)
{
	(void)state;
	struct testdb d;
	PGconn *c = pg_schema_db(&d, "swapplan");
	PGresult *r = PQexec(c, "INSERT INTO shared_state (key, value, updated_at, version)"
				" VALUES ('alert:1', '', 0, 1);"
				" INSERT INTO shared_seen (key, h, at)"
				" SELECT 'alert:1', 1000000 + g, 100 FROM generate_series(1, 50000) AS g;"
				" ANALYZE shared_state; ANALYZE shared_seen");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	char pgsql[8192], sql[8300], row[64];
	assert_true(sql_to_pg(store_sql[SQL_STATE_SWAP], pgsql, sizeof pgsql) > 0);
	int n = snprintf(sql, sizeof sql, "PREPARE q AS %s", pgsql);
	assert_true(n > 0 && (size_t)n < sizeof sql);
	r = PQexec(c, sql);
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	/* the version moves on by one at every call: each one writes */
	for (int i = 1; i <= 8; i++) {
		char call[128];
		n = snprintf(call, sizeof call, "EXECUTE q('alert:1', 'v', %d, %d, -1, '{7,%d}')",
			     200 + i, i, i);
		assert_true(n > 0 && (size_t)n < sizeof call);
		pg_row(c, call, row, sizeof row);
		assert_int_equal(atoi(row), i + 1);
	}
	pg_row(c, "SELECT generic_plans || ' ' || custom_plans FROM pg_prepared_statements"
		  " WHERE name = 'q'", row, sizeof row);
	fprintf(stderr, "SQL_STATE_SWAP: generic and custom plans %s\n", row);
	assert_string_equal(row, "3 5");
	r = PQexec(c, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF)"
		      " EXECUTE q('alert:1', 'v', 300, 9, -1, '{7}')");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	bool skipped = false;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *line = PQgetvalue(r, i, 0);
		if (strstr(line, "Scan on shared_seen") && strstr(line, "never executed"))
			skipped = true;
	}
	PQclear(r);
	assert_true(skipped);
	pg_row(c, "SELECT count(*) FROM shared_seen", row, sizeof row);
	assert_string_equal(row, "50008");
	PQfinish(c);
	testdb_drop(&d);
}

/* Every table a statement deletes rows from: those of sql.c, and those
 * the store clears outside it (ops_register.c's reference data, comune
 * and stato; visura migrate's processing, store.c). */
#define DELETED_MAX 64
static int deleted_tables(char names[][64])
{
	static const char *const outside[] = {"comune", "stato", "processing"};
	int n = 0;
	for (size_t k = 0; k < sizeof outside / sizeof *outside; k++)
		snprintf(names[n++], 64, "%s", outside[k]);
	for (int i = 0; i < SQL__COUNT; i++) {
		const char *p = store_sql[i];
		while (p && (p = strstr(p, "DELETE FROM "))) {
			p += strlen("DELETE FROM ");
			size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
			assert_true(len > 0 && len < 64);
			bool seen = false;
			for (int j = 0; j < n; j++)
				seen = seen || (strlen(names[j]) == len && !strncmp(names[j], p, len));
			if (!seen) {
				assert_true(n < DELETED_MAX);
				snprintf(names[n++], 64, "%.*s", (int)len, p);
			}
		}
	}
	return n;
}

static bool among(char names[][64], int n, const char *t)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], t))
			return true;
	return false;
}

/* Whether table t of schema db (main or trail) has an index whose first
 * columns are exactly the set cols[0..n), or cols is its rowid alias. */
static bool sqlite_key_indexed(sqlite3 *c, const char *db, const char *t, char cols[][64], int n)
{
	char q[256];
	sqlite3_stmt *st;
	bool found = false;
	snprintf(q, sizeof q, "SELECT name FROM pragma_table_info(?1, ?2) WHERE pk = 1 AND "
			      "type = 'INTEGER' AND (SELECT count(*) FROM pragma_table_info(?1, ?2) "
			      "WHERE pk > 0) = 1");
	assert_int_equal(sqlite3_prepare_v2(c, q, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, t, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, db, -1, SQLITE_STATIC);
	if (n == 1 && sqlite3_step(st) == SQLITE_ROW &&
	    !strcmp((const char *)sqlite3_column_text(st, 0), cols[0]))
		found = true;
	sqlite3_finalize(st);
	/* each index: how many of its first n columns are among cols */
	snprintf(q, sizeof q, "SELECT l.name, (SELECT count(*) FROM pragma_index_info(l.name, ?2) "
			      "AS x WHERE x.seqno < ?3 AND x.name IN (SELECT value FROM json_each(?4)))"
			      " FROM pragma_index_list(?1, ?2) AS l");
	assert_int_equal(sqlite3_prepare_v2(c, q, -1, &st, NULL), SQLITE_OK);
	char list[1024] = "[";
	for (int i = 0; i < n; i++) {
		size_t used = strlen(list);
		snprintf(list + used, sizeof list - used, "%s\"%s\"", i ? "," : "", cols[i]);
	}
	strcat(list, "]");
	sqlite3_bind_text(st, 1, t, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, db, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, n);
	sqlite3_bind_text(st, 4, list, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		if (sqlite3_column_int(st, 1) == n)
			found = true;
	sqlite3_finalize(st);
	return found;
}

/* A row deleted from a table other tables refer to is checked by reading
 * the rows that refer to it (foreign keys are on): with no index on the
 * referring columns, that read is the whole table, once per row deleted.
 * So every foreign key to a table rows are deleted from has an index.
 * Before migration 32, access_subject (access_id) had none, and a
 * retention purge of 624,177 records took 604 s, every answer's access
 * record waiting for it (docs/performance.md, "The retention purge"). */
static void test_deleted_rows_keys_indexed(void **state)
{
	(void)state;
	static char deleted[DELETED_MAX][64];
	int nd = deleted_tables(deleted);
	assert_true(among(deleted, nd, "access_log"));
	struct testdb d;
	sqlite3 *c = sqlite_schema_db(&d, "fkeys");
	char trail[600];
	snprintf(trail, sizeof trail, "ATTACH '%s.trail' AS trail", d.path);
	assert_int_equal(sqlite3_exec(c, trail, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(c,
					    "SELECT 'main', t.name, f.id, f.\"table\", f.\"from\""
					    " FROM main.sqlite_master AS t,"
					    " pragma_foreign_key_list(t.name, 'main') AS f"
					    " WHERE t.type = 'table' UNION ALL "
					    "SELECT 'trail', t.name, f.id, f.\"table\", f.\"from\""
					    " FROM trail.sqlite_master AS t,"
					    " pragma_foreign_key_list(t.name, 'trail') AS f"
					    " WHERE t.type = 'table' ORDER BY 1, 2, 3",
					    -1, &st, NULL),
			 SQLITE_OK);
	int bad = 0, keys = 0, n = 0;
	char db[16] = "", t[64] = "", parent[64] = "", cols[8][64];
	int id = -1;
	for (;;) {
		int r = sqlite3_step(st);
		const char *rdb = r == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : "";
		const char *rt = r == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 1) : "";
		int rid = r == SQLITE_ROW ? sqlite3_column_int(st, 2) : -1;
		/* one foreign key's columns end: check it */
		if (n && (r != SQLITE_ROW || strcmp(rdb, db) || strcmp(rt, t) || rid != id)) {
			if (among(deleted, nd, parent)) {
				keys++;
				if (!sqlite_key_indexed(c, db, t, cols, n)) {
					fprintf(stderr, "%s.%s (%s...) -> %s: no index\n", db, t,
						cols[0], parent);
					bad++;
				}
			}
			n = 0;
		}
		if (r != SQLITE_ROW)
			break;
		snprintf(db, sizeof db, "%s", rdb);
		snprintf(t, sizeof t, "%s", rt);
		id = rid;
		snprintf(parent, sizeof parent, "%s", (const char *)sqlite3_column_text(st, 3));
		assert_true(n < 8);
		snprintf(cols[n++], 64, "%s", (const char *)sqlite3_column_text(st, 4));
	}
	sqlite3_finalize(st);
	sqlite3_close(c);
	testdb_drop(&d);
	fprintf(stderr, "%d tables deleted from, %d foreign keys to them\n", nd, keys);
	assert_true(keys >= 1);
	assert_int_equal(bad, 0);
}

/* The same on PostgreSQL: an index whose first columns are exactly the
 * foreign key's. */
static void test_pg_deleted_rows_keys_indexed(void **state)
{
	(void)state;
	static char deleted[DELETED_MAX][64];
	int nd = deleted_tables(deleted);
	struct testdb d;
	PGconn *c = pg_schema_db(&d, "fkeys");
	PGresult *r = PQexec(c, "SELECT k.conrelid::regclass::text, k.confrelid::regclass::text,"
				" k.conname, EXISTS (SELECT 1 FROM pg_index AS i"
				" WHERE i.indrelid = k.conrelid"
				" AND cardinality(k.conkey) <= i.indnkeyatts"
				" AND (i.indkey::int2[])[0:cardinality(k.conkey) - 1] @> k.conkey)"
				" FROM pg_constraint AS k WHERE k.contype = 'f' ORDER BY 1, 3");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	int bad = 0, keys = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *parent = PQgetvalue(r, i, 1);
		const char *dot = strrchr(parent, '.');
		if (!among(deleted, nd, dot ? dot + 1 : parent))
			continue;
		keys++;
		if (strcmp(PQgetvalue(r, i, 3), "t")) {
			fprintf(stderr, "%s (%s) -> %s: no index\n", PQgetvalue(r, i, 0),
				PQgetvalue(r, i, 2), parent);
			bad++;
		}
	}
	PQclear(r);
	PQfinish(c);
	testdb_drop(&d);
	fprintf(stderr, "%d tables deleted from, %d foreign keys to them\n", nd, keys);
	assert_true(keys >= 1);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_statements_use_indexes),
		cmocka_unit_test(test_deleted_rows_keys_indexed),
	};
	const struct CMUnitTest pg_tests[] = {
		cmocka_unit_test(test_pg_name_search_generic_plans),
		cmocka_unit_test(test_pg_state_swap_planned_once),
		cmocka_unit_test(test_pg_deleted_rows_keys_indexed),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	if (getenv("VISURA_TEST_PG"))
		failed += cmocka_run_group_tests(pg_tests, NULL, NULL);
	return failed;
}
