/* stats — demographic statistics of the register: aggregates only, never a
 * person.
 *
 * Owns: the tables (population by sex and age class, citizenship, civil
 * status, household size; events per month), the standard indicators, and
 * small-cell protection: a cell counting 1 to threshold-1 persons is
 * suppressed, and so is a second cell of the same table when one alone
 * would be recoverable from the published total (secondary suppression).
 * The result is a JSON document the API and the CLI both serve. */
#ifndef VISURA_STATS_STATS_H
#define VISURA_STATS_STATS_H

#include <jansson.h>

#include "common/err.h"
#include "store/store.h"

struct refdata;

struct stats_query {
	char comuni[4096];   /* ISTAT codes, comma-separated; "" = every municipality */
	int as_of;           /* YYYYMMDD, 0 = today */
	int age_step;        /* width of the age classes, default 5 */
	int threshold;       /* smallest count published, default 3 */
	int events_from;     /* YYYYMMDD; events per month from ... */
	int events_to;       /* ... to (inclusive); 0 = the year before as_of */
};

/* Refuses a threshold below the configured floor (stats_threshold_min)
 * or above 1000: VIS_ERR_INVALID with the reason.  Every entry point (API,
 * CLI) asks before computing, whoever the caller. */
vis_err stats_threshold_check(int threshold, int floor, struct vis_error *e);

/* Computes every table and indicator into *out (a new JSON object). */
vis_err stats_compute(struct store *s, const struct refdata *rd, const struct stats_query *q,
		      int today, json_t **out, struct vis_error *e);

/* True when `comune` is one of the comma-separated `comuni` ("" = all). */
bool stats_covered(const char *comuni, const char *comune);

/* Suppresses small cells of a one-dimensional table of counts in place:
 * values 1..threshold-1 become -1, then, when exactly one cell is
 * suppressed, the smallest other non-zero cell too.  Exposed for tests. */
void stats_suppress(long long *cells, int n, int threshold);

/* The same table flattened as CSV lines "key","value" (common/str's
 * writer); NULL when out of memory.  The caller frees it. */
char *stats_to_csv(json_t *doc);

#endif
