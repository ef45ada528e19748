/* stats/audit — the exact audit of a protected table, and the
 * suppression it adds (what tau-argus does after its heuristic; issue #17).
 *
 * Owns: whether a small hidden count (1 to threshold-1) is pinned — its
 * minimum equal to its maximum over every table of counts >= 0 that
 * gives the published cells and keeps the identities — by linear
 * programming (COIN-OR CLP's simplex, the integer condition relaxed: an
 * interval at most as narrow as the integer one), one problem per
 * connected component of hidden cells (cells sharing an identity), the
 * bounds of one cell warm-started from the last; and the rounds of more
 * cells hidden where one is pinned (the caller's rule: stats_audit's
 * widen, which only hides, so each round's problem is the last one
 * relaxed) until none is, or an error rather than a pinned count
 * published.
 *
 * The tables' heuristics (stats/tables.c: the cubes and hypercubes of
 * hidden cells) leave few cells to it: a cell the caller shows to move
 * (stats_audit's moves: a direction of hidden cells that keeps every
 * identity and no count below its lower bound) is not solved for, nor a
 * cell seen at two values among the solutions of its component's
 * problems.
 *
 * A count's lower bound is what every reader knows of it besides the
 * published cells: 0, or more where the table itself tells (a row
 * listed only when its territory has someone in it: its total at least
 * 1; issue #17, strasa_cittadinanza of a province). */
#ifndef VISURA_STATS_AUDIT_H
#define VISURA_STATS_AUDIT_H

#include <stdbool.h>

#include "common/err.h"
#include "common/stop.h"

struct stats_audit {
	const long long *cells;          /* n counts, none negative */
	int n;
	/* [n]: what each count is known to be at least (0 <= low[i] <=
	 * cells[i]), its column's lower bound; NULL: every one 0 */
	const long long *low;
	/* the identities one after the other (eq_len[k] cells each): in
	 * each, the cells but the last add up to the last */
	const int *eq_cells, *eq_len;
	int neq;
	int threshold;                   /* the small counts: 1 to threshold - 1 */
	/* True when cell p (hidden, small) moves along a direction of
	 * hidden cells the caller knows, no count of it taken below its low
	 * (never when unsure); may be NULL. */
	bool (*moves)(void *ctx, int p, const bool *hidden);
	/* Hides more cells (hidden[i] set, never cleared) so that the
	 * pinned cell p may move, at level 0 to levels - 1, each wider than
	 * the one before: the number of cells it hid.  A cell found pinned
	 * gets the next level that hides a cell (none left: an error). */
	int (*widen)(void *ctx, int p, int level, bool *hidden);
	int levels;
	void *ctx;
	int rounds;                      /* audits at most, then an error */
	/* asked before each simplex run (may be NULL): when it says stop,
	 * VIS_ERR_BUSY (hidden as far as it got: not to be published) */
	const struct stop_ask *stop;
};

/* What an audit did, summed over its rounds. */
struct stats_audit_report {
	int small;      /* small hidden counts audited (the last round) */
	int shown;      /* of those, moved by the caller's direction (moves) */
	int solved;     /* bounds solved for (simplex runs) */
	int pinned;     /* pinned counts found, every round */
	int rounds;     /* audits run */
	int added;      /* cells hidden by widen */
};

/* Audits hidden[0..n) (true: not published) and hides more cells until
 * no small count is pinned: VIS_OK, r (may be NULL) filled.
 * VIS_ERR_LIMIT when a->rounds audits still pin one or widen has
 * nothing left to hide (hidden as far as it got: not to be published),
 * VIS_ERR_INTERNAL when the published cells contradict the identities
 * or a count is below its lower bound, VIS_ERR_BUSY when a->stop said
 * stop,
 * VIS_ERR_NOMEM; the message in Italian. */
vis_err stats_audit_protect(const struct stats_audit *a, bool *hidden,
			    struct stats_audit_report *r, struct vis_error *e);

#endif
