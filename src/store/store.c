/* The front of store.h: opens the back end a URI names and forwards every
 * call to it (the list of calls is STORE_OPS in store/backend.h). */
#include "store/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/schema.h"

struct store {
	struct sq_store *sq;    /* exactly one of the two is set */
	struct pg_store *pg;
};

/* The PostgreSQL conninfo of a URI ("postgres:CONNINFO" or
 * "postgresql:CONNINFO"), NULL for any other URI. */
static const char *pg_conninfo(const char *uri)
{
	if (!strncmp(uri, "postgres:", 9))
		return uri + 9;
	if (!strncmp(uri, "postgresql:", 11))
		return uri + 11;
	return NULL;
}

vis_err store_open(const char *uri, struct store **out, struct vis_error *e)
{
	struct store *s = calloc(1, sizeof *s);
	if (!s)
		return vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
	const char *conninfo = pg_conninfo(uri);
	vis_err rc;
	if (conninfo) {
		rc = pg_open(conninfo, &s->pg, e);
	} else {
		const char *path = !strncmp(uri, "sqlite:", 7) ? uri + 7 : uri;
		rc = *path ? sq_open(path, &s->sq, e)
			   : vis_error_set(e, VIS_ERR_INVALID, "empty database path");
	}
	if (rc != VIS_OK) {
		free(s);
		return rc;
	}
	*out = s;
	return VIS_OK;
}

void store_files_prefix(const char *uri, char *out, size_t cap)
{
	const char *conninfo = pg_conninfo(uri);
	if (!conninfo) {
		snprintf(out, cap, "%s", !strncmp(uri, "sqlite:", 7) ? uri + 7 : uri);
		return;
	}
	char name[128];
	const char *dir = getenv("VISURA_STATE_DIR");
	pg_files_name(conninfo, name, sizeof name);
	if (dir && *dir)
		snprintf(out, cap, "%s/%s", dir, name);
	else
		snprintf(out, cap, "%s", name);
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->pg)
		pg_close(s->pg);
	else
		sq_close(s->sq);
	free(s);
}

int store_schema_latest(void)
{
	return schema_migrations[schema_migration_count - 1].version;
}

int store_schema_version(struct store *s)
{
	return s->pg ? pg_schema_version(s->pg) : sq_schema_version(s->sq);
}

void store_rollback(struct store *s)
{
	if (s->pg)
		pg_rollback(s->pg);
	else
		sq_rollback(s->sq);
}

#define STORE_FORWARD(ret, name, params, args)                                 \
	ret store_##name(struct store *s, STORE_STRIP params)                  \
	{                                                                      \
		return s->pg ? pg_##name(s->pg, STORE_STRIP args)              \
			     : sq_##name(s->sq, STORE_STRIP args);             \
	}
STORE_OPS(STORE_FORWARD)
