/* ratelimit — request counters in fixed windows (per minute, per day) for
 * operators, bodies and purposes.
 *
 * Owns: the counters.  With one process on the database (SQLite) they live
 * in memory, shared by the worker threads (bounded: expired windows are
 * dropped, and the table never grows past RATELIMIT_MAX_KEYS).
 *
 * When several instances share the database (store_shared), each rule's
 * count of the window lives in the database (store_counters_take), and
 * counts the units *granted to instances*, never fewer than the requests
 * they served: so no limit is ever exceeded across instances.  An
 * instance does not take one unit a request but a lease: when one of a
 * request's rules has no local credit, one statement takes, for every
 * rule without credit (all or none), g = min(RATELIMIT_LEASE_MAX,
 * max(1, floor(remaining / RATELIMIT_LEASE_SHARE))) units, `remaining`
 * being the limit less the count, read under the row's lock; the request
 * spends one and the rest is this process's credit for that window
 * (in the same bounded table, shared by the worker threads), spent
 * without the database until it runs out or the window changes.  A
 * look-up thus rewrites the shared rows once every g requests instead of
 * every request, and the last 2 * RATELIMIT_LEASE_SHARE - 1 units (15)
 * before a limit are taken one at a time.
 *
 * Refused early, the bound: one lease request at a time per process, and
 * only for a rule without credit, so a process never holds more than
 * G - 1 unspent units of a rule, G = min(RATELIMIT_LEASE_MAX,
 * max(1, floor(limit / RATELIMIT_LEASE_SHARE))).  A request is refused
 * only when the database has granted the whole limit, of which the
 * refusing process holds nothing: at least limit - (I - 1) * (G - 1)
 * requests of the window have then been served or are being served, I
 * the instances (credit lost, below, adds to it).  With limits up to 15
 * (G = 1) the count is exact; a limit of 60 a minute, 2 instances: at
 * most 6 refused early; 1,000 a day: 63; from 512 on, 63 per other
 * instance.
 *
 * All or none: a request refused spends no credit of its other rules
 * (the units set aside while the database answers are given back); the
 * database's refusal of a rule is remembered until its window ends or
 * its limit changes (its count never falls within a window), so a
 * refused operator costs no statement.  A row's window never moves back:
 * an instance whose clock is behind another's is counted in the later
 * window (the safe side).  Credit is dropped when a window ends or a rule's limit
 * changes, and lost when an instance stops or crashes: counted as spent,
 * the safe side.  The counts are lost if PostgreSQL crashes (an UNLOGGED
 * table, docs/performance.md): the windows then start afresh. */
#ifndef VISURA_POLICY_RATELIMIT_H
#define VISURA_POLICY_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

struct store;
#define RATELIMIT_MAX_KEYS 65536
#define RATELIMIT_LEASE_SHARE 8   /* a lease: the remaining units / 8 ... */
#define RATELIMIT_LEASE_MAX 64    /* ... at most 64 */

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
