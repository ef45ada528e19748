/* schema — the versioned migrations of the database, in order.
 *
 * Owns: the SQL that creates and evolves every table.  Migration N brings
 * the schema from version N-1 to N; they are applied in one transaction each
 * and recorded in schema_migrations.  Never edit a released migration:
 * append a new one. */
#ifndef VISURA_STORE_SCHEMA_H
#define VISURA_STORE_SCHEMA_H

struct schema_migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct schema_migration schema_migrations[];
extern const int schema_migration_count;

/* The indexes of the register's current-state tables, to drop before and
 * build after the bulk load of a first snapshot into empty tables. */
extern const char schema_register_indexes[];
extern const char schema_register_indexes_drop[];

#endif
