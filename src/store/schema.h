/* schema — the versioned migrations of the database, in order.
 *
 * Owns: the SQL that creates and evolves every table, written once for
 * every back end.  Migration N brings the schema from version N-1 to N;
 * they are applied in one transaction each and recorded in
 * schema_migrations.  Never edit a released migration: append a new one.
 *
 * The migrations are written in SQLite's DDL with three markers, and
 * schema_sql() turns them into a back end's own:
 *   @ID     an integer primary key the database assigns
 *           (SQLite: INTEGER PRIMARY KEY; PostgreSQL: a BIGINT identity)
 *   @ROWID  the insertion-order column "rowid" queries may sort on
 *           (SQLite: implicit, nothing; PostgreSQL: a BIGINT identity)
 *   @UNLOGGED  a table whose rows need not survive a crash
 *           (SQLite: nothing; PostgreSQL: UNLOGGED)
 * and INTEGER is a 64-bit integer (PostgreSQL: BIGINT).  Keep to what both
 * accept: no AUTOINCREMENT, no SQLite-only types or functions. */
#ifndef VISURA_STORE_SCHEMA_H
#define VISURA_STORE_SCHEMA_H

#include <stdbool.h>

/* SQLite with the access trail's tables in the database file (a new
 * database, before they move), PostgreSQL, SQLite with them in the trail's
 * own file (attached as "trail"): there "@TRAIL" names that schema, for an
 * index a migration adds to a trail table (SQLite makes an index in "main"
 * unless told). */
enum schema_dialect { SCHEMA_SQLITE, SCHEMA_POSTGRES, SCHEMA_SQLITE_TRAIL };

struct schema_migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct schema_migration schema_migrations[];
extern const int schema_migration_count;

/* Every table but schema_migrations, parents before children (the order
 * a copy loads them in); rowid: the table has an @ROWID column. */
struct schema_table {
	const char *name;
	bool rowid;
};
extern const struct schema_table schema_tables[];
extern const int schema_table_count;

/* The access trail's tables, in creation order (parents first).  SQLite
 * keeps them in a file of their own beside the database (PATH.trail,
 * attached as "trail"): the migrations create them in the database file
 * like any other table, and opening moves them (store_sqlite.c).  A
 * migration may alter or index such a table only by naming its schema on
 * SQLite ("CREATE INDEX trail.x ON t"), which PostgreSQL does not take:
 * add new tables rather than indexes to existing ones. */
#define SCHEMA_TRAIL_MAX 16
extern const char *const schema_trail_tables[];
extern const int schema_trail_table_count;

/* The table that records the migrations applied (in the neutral DDL). */
extern const char schema_migrations_table[];
/* The migrations that make or change the shared state's tables
 * (shared_state, shared_seen) and nothing else, in order.  The companion
 * database (shared_db, PostgreSQL: store_shared_open) applies these and
 * only these, the same texts the register's database takes, and records
 * them in its own schema_migrations: its tables are the register's, and
 * a companion made before a later one gets it.  A migration that changes
 * a shared table is listed here and changes no other table;
 * unit_pg.test_store (test_shared_schema_follows_migrations) compares the
 * two databases' tables. */
extern const int schema_shared_migrations[];
extern const int schema_shared_migration_count;
bool schema_migration_shared(int version);
/* A companion made before it recorded its migrations (visura up to
 * migration 22) holds the tables as the shared migrations up to this one
 * leave them, and no schema_migrations: it is recorded at this one. */
#define SCHEMA_SHARED_UNRECORDED 20

/* The neutral DDL `sql` in dialect d: a string the caller frees, NULL when
 * out of memory. */
char *schema_sql(const char *sql, enum schema_dialect d);

/* The indexes of the register's current-state tables, to drop before and
 * build after the bulk load of a first snapshot into empty tables (SQLite). */
extern const char schema_register_indexes[];
extern const char schema_register_indexes_drop[];

#endif
