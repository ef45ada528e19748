/* ratelimit — request counters in fixed windows (per minute, per day) for
 * operators, bodies and purposes.
 *
 * Owns: the counters.  With one process on the database (SQLite) they live
 * in memory, shared by the worker threads (bounded: expired windows are
 * dropped, and the table never grows past RATELIMIT_MAX_KEYS).  When
 * several instances share the database (store_shared), they live in the
 * database and are taken in one statement (store_counters_take), so that a
 * limit counts every instance's requests exactly.  There they are lost if
 * PostgreSQL crashes (an UNLOGGED table, docs/performance.md): the windows
 * then start afresh. */
#ifndef VISURA_POLICY_RATELIMIT_H
#define VISURA_POLICY_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

struct store;
#define RATELIMIT_MAX_KEYS 65536

struct ratelimit;

struct rl_rule {
	char key[64];       /* e.g. "op:12", "body:3:7", "purpose:9" */
	int limit;          /* requests allowed per window */
	int window;         /* seconds: 60 or 86400 */
};

struct ratelimit *ratelimit_new(void);
void ratelimit_free(struct ratelimit *rl);

/* Counts one request against every rule, all or none: returns 1 when
 * counted; 0 when a rule is exhausted (nothing counted; *retry_after says
 * when that rule's window ends, in seconds); -1 when the counters in the
 * database could not be used, or n is not 1 to 8 (e set).  With `shared` (a store for which
 * store_shared() holds) the counters are the database's, otherwise this
 * process's. */
int ratelimit_take(struct ratelimit *rl, struct store *shared, const struct rl_rule *rules,
		   int n, int64_t now, int64_t *retry_after, struct vis_error *e);

#endif
