/* ratelimit — request counters in fixed windows (per minute, per day) for
 * operators, bodies and purposes, shared by the worker threads of one
 * process.
 *
 * Owns: the counters and their memory (bounded: expired windows are
 * dropped, and the table never grows past RATELIMIT_MAX_KEYS).  Several
 * visura instances on one database each count their own share; see
 * docs/deployment notes. */
#ifndef VISURA_POLICY_RATELIMIT_H
#define VISURA_POLICY_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RATELIMIT_MAX_KEYS 65536

struct ratelimit;

struct rl_rule {
	char key[64];       /* e.g. "op:12", "body:3:7", "purpose:9" */
	int limit;          /* requests allowed per window */
	int window;         /* seconds: 60 or 86400 */
};

struct ratelimit *ratelimit_new(void);
void ratelimit_free(struct ratelimit *rl);

/* Counts one request against every rule, all or none: when any rule is
 * exhausted nothing is counted, false is returned and *retry_after says
 * when that rule's window ends (seconds). */
bool ratelimit_take(struct ratelimit *rl, const struct rl_rule *rules, int n, int64_t now,
		    int64_t *retry_after);

#endif
