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

/* The version of the protection rule: what every table, series and
 * bulletin hides, given the counts and the threshold.  Bump it with any
 * change of which cells are hidden (a new primary or secondary
 * suppression, another way of protecting pools, provinces or periods),
 * and add a line below: a bulletin archived under another version is
 * withdrawn (src/bollettino), since the same table hidden two ways, side
 * by side, can give hidden cells back (it is in the key of the
 * protections kept in the database too, stats/cache.h: one of another
 * version is computed again).  0 is no version: the archive's
 * bulletins made before the versions were recorded (migration 21).
 *   1  each table protected alone (threshold, secondary suppression)
 *   2  a pool of municipalities protected as the sum of its members
 *   3  a municipality's ages and balance protected jointly with its whole
 *      province (linked protection: stats_protect_linked,
 *      stats_balance_linked), December 2026
 *   4  no small count determined by what is published: moves of hidden
 *      cells free both ways (the cubes, stato_civile's classes, the
 *      places), the exact audit by linear programming (stats/audit.h),
 *      what the listing of rows tells (a listed row's total at least 1),
 *      December 2026 */
#define STATS_PROTECTION_RULE 4

/* Refuses a threshold below the configured floor (stats_threshold_min)
 * or above 1000: VIS_ERR_INVALID with the reason.  Every entry point (API,
 * CLI) asks before computing, whoever the caller. */
vis_err stats_threshold_check(int threshold, int floor, struct vis_error *e);

/* True when `comune` is one of the comma-separated `comuni` ("" = all). */
bool stats_covered(const char *comuni, const char *comune);

#endif
