/* stats — what every statistics module shares: the floor of the threshold
 * and which municipalities a query covers.
 *
 * Owns: nothing published.  The tables (stats/tables.h), the series
 * (stats/series.h) and the bulletin publish; every published cell is
 * protected by the one rule of tables.h (stats_protect).  The old summary
 * with its own suppression is retired (GET /api/v1/stats answers 410). */
#ifndef VISURA_STATS_STATS_H
#define VISURA_STATS_STATS_H

#include <stdbool.h>

#include "common/err.h"

/* Refuses a threshold below the configured floor (stats_threshold_min)
 * or above 1000: VIS_ERR_INVALID with the reason.  Every entry point (API,
 * CLI) asks before computing, whoever the caller. */
vis_err stats_threshold_check(int threshold, int floor, struct vis_error *e);

/* True when `comune` is one of the comma-separated `comuni` ("" = all). */
bool stats_covered(const char *comuni, const char *comune);

#endif
