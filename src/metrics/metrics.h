/* metrics — the service's counters and histograms, rendered in the
 * Prometheus text format on a separate listener (loopback by default).
 *
 * Owns: the counters.  All are atomic or behind one lock; any thread may
 * count.  Label values come from fixed sets (routes of the route table,
 * outcomes, rule names), never from user input, so cardinality is bounded. */
#ifndef VISURA_METRICS_METRICS_H
#define VISURA_METRICS_METRICS_H

#include <stdint.h>

#include "common/err.h"

struct metrics;
struct store;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* A request answered: its route pattern ("-" when none), status, latency. */
void metrics_request(struct metrics *m, const char *route, int status, double seconds);
/* One group commit of the access trail: records in it and its duration. */
void metrics_audit_batch(struct metrics *m, int records, double seconds);
/* A login and its outcome ("success", "failure", "locked", "refused"). */
void metrics_login(struct metrics *m, const char *outcome);
void metrics_rate_limited(struct metrics *m);
void metrics_alert(struct metrics *m, const char *rule);
void metrics_import(struct metrics *m, const char *outcome);

/* Renders everything, plus gauges read from the store now (active
 * sessions, per-municipality feed lag), into a malloc'd text. */
char *metrics_render(struct metrics *m, struct store *s, int64_t now);

#endif
