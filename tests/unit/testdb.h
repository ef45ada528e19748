/* testdb — a fresh database for a unit test, on either back end.
 *
 * Owns: creating and dropping scratch databases for tests: SQLite files
 * in /tmp, or PostgreSQL databases on the server whose conninfo is in
 * $VISURA_TEST_PG (a test asked to use PostgreSQL fails, never skips,
 * when that server cannot be reached), and a digest of their content. */
#ifndef VISURA_TESTS_TESTDB_H
#define VISURA_TESTS_TESTDB_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

struct testdb {
	bool pg;
	char uri[1024];     /* for store_open */
	char path[128];     /* SQLite: the file */
	char name[64];      /* PostgreSQL: the database */
	bool companion;     /* PostgreSQL: NAME_sh holds the shared state */
};

/* The back ends to run: SQLite always, PostgreSQL too when $VISURA_TEST_PG
 * is set.  Returns how many (1 or 2), or -1 (with a message on stderr)
 * when $VISURA_TEST_PG is set but its server does not answer. */
int testdb_backends(void);

/* Runs the tests as a group on SQLite, then (with *use_pg set) on
 * PostgreSQL when $VISURA_TEST_PG is set; returns the number of failures
 * (at least 1 when PostgreSQL was asked for and cannot be reached).
 * $VISURA_TEST_ONLY, when set, runs only the tests whose names match it
 * (a cmocka pattern: * and ? wildcards). */
int testdb_run(const char *what, const struct CMUnitTest *tests, size_t n,
	       CMFixtureFunction group_setup, CMFixtureFunction group_teardown, bool *use_pg);
#define TESTDB_RUN(what, tests, setup, teardown, use_pg)                       \
	testdb_run(what, tests, sizeof(tests) / sizeof((tests)[0]), setup, teardown, use_pg)

/* Opens a store on uri as visura serve does: on PostgreSQL, unless
 * $VISURA_TEST_PG_SHARED is "0", with the shared state in the companion
 * database testdb_create made beside it (the URI's dbname + "_sh",
 * store_shared_open).  Every handle of a test database opens it so. */
struct store;
struct vis_error;
int testdb_store_open(const char *uri, struct store **out, struct vis_error *e);
/* Whether PostgreSQL test databases get a companion. */
bool testdb_companion(void);

/* A new empty database named after tag (a short [a-z_] word); on
 * PostgreSQL its companion too (testdb_store_open). */
int testdb_create(struct testdb *d, bool pg, const char *tag);
void testdb_drop(struct testdb *d);

/* A new empty database with a store open on it (schema migrated): 0, or
 * -1 with the reason on stderr. */
struct store;
int testdb_open(struct testdb *d, bool pg, const char *tag, struct store **out);
/* Closes the store and drops its database. */
void testdb_close(struct testdb *d, struct store *s);

/* Runs statements on the database over a separate connection, foreign
 * keys not enforced (tests that tamper): false (with the reason on stderr)
 * when they fail. */
bool testdb_exec(const struct testdb *d, const char *sql);

/* A digest of every row of every table, read over a separate connection
 * and independent of row order. */
uint64_t testdb_fingerprint(const struct testdb *d);

#endif
