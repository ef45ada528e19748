/* The query plans SQLite picks for the statements a request or an
 * import record runs against the register: each must find its rows
 * through an index, never by reading a whole table (a plan that scans
 * `family` made every look-up read every household: 97 ms of CPU per
 * answer at 1,000,000 persons, found by bench/lookup).  The plans are read
 * with EXPLAIN QUERY PLAN on a database made by store_open (the schema of
 * every migration, no statistics: SQLite's plans then follow its rules,
 * not the data).  SQL_PERSON_VERSIONS_HOME_AT is not among them: SQLite,
 * which has no round trips to save, reads the person and the household
 * with two of these instead (store_person_versions_home_at). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <sqlite3.h>

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
#undef S
};

static const char *const register_tables[] = {"person", "person_history", "family",
					      "family_history"};

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

static void test_register_statements_use_indexes(void **state)
{
	(void)state;
	struct testdb d;
	assert_int_equal(testdb_create(&d, false, "plans"), 0);
	struct store *s;
	struct vis_error e = {0};
	assert_int_equal(testdb_store_open(d.uri, &s, &e), VIS_OK);
	store_close(s);
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(d.path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	int bad = 0;
	for (size_t i = 0; i < sizeof per_request / sizeof *per_request; i++) {
		char sql[8192];
		int n = snprintf(sql, sizeof sql, "EXPLAIN QUERY PLAN %s", store_sql[per_request[i].id]);
		assert_true(n > 0 && (size_t)n < sizeof sql);
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
			fprintf(stderr, "%s: %s\n", per_request[i].name, sqlite3_errmsg(db));
			bad++;
			continue;
		}
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *detail = (const char *)sqlite3_column_text(st, 3);
			const char *t = detail ? scanned(detail) : NULL;
			if (t) {
				fprintf(stderr, "%s reads the whole table %s: %s\n",
					per_request[i].name, t, detail);
				bad++;
			}
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	testdb_drop(&d);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_statements_use_indexes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
