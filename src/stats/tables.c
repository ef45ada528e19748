#include "stats/tables.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/date.h"
#include "common/log.h"
#include "common/str.h"
#include "refdata/refdata.h"
#include "stats/audit.h"
#include "stats/cache.h"
#include "stats/history.h"
#include "stats/series.h"
#include "stats/stats.h"

#define AGES STATS_AGES       /* 0..99 and "100 e oltre" (ISTAT: 100) */
#define MAX_STATES 300        /* citizenships: every state of the ANPR table fits */
#define MAX_PERIODS 240       /* a balance of at most 20 years of months */
#define MAX_EQ_CELLS (1 << 20) /* identities of a table: below this (citizenship by age: 300 x 102 x 9) */
#define LABEL_MAX STATS_LABEL_MAX

/* ------------------------------------------------------------ protection */

static long long magnitude(long long v)
{
	return v < 0 ? -v : v;
}

/* Added to the cost of a cube (linked_cubes, linked_hypercubes,
 * lone_squares) for each way its move is stopped: counts are never
 * negative, so a corner at 0 that the move would lower stops it (the
 * small cell up: a corner of the other sign than the cell's; down: one of
 * its sign), and a cube stopped both ways does not move at all: an
 * attacker who knows counts are never negative (the audit by linear
 * programming of tests/unit/test_stats.c) finds the cell when no other
 * hidden cell moves it.  A cube free both ways is taken when there is
 * one (more persons hidden), else one free one way, else the cheapest. */
#define ZERO_CORNER ((long long)1 << 40)

/* The sign of a cube's corner along one of its dimensions: the same
 * (+1) when one of its two sides is the total of the other's (a
 * province and a member, a total row or column and a line of it), else
 * the other (-1).  last: the total's index. */
static int side_sign(int i, int j, int last)
{
	return i == last || j == last ? 1 : -1;
}

/* ZERO_CORNER times the ways a cube of nc corners q[0..nc) (q[0] its
 * small cell), corner x of sign sign[x], is stopped. */
static long long stopped_cost(const long long *cells, const size_t *q, const int *sign, int nc)
{
	bool up = false, down = false;
	for (int x = 1; x < nc; x++)
		if (cells[q[x]] == 0) {
			up = up || sign[x] < 0;
			down = down || sign[x] > 0;
		}
	return ZERO_CORNER * (up + down);
}

void stats_protect(const long long *cells, const bool *derived, const bool *known, bool *hidden,
		   int n, const int *eq_cells, const int *eq_len, int neq, int threshold)
{
	stats_protect_fixed(cells, derived, known, NULL, hidden, n, eq_cells, eq_len, neq, threshold);
}

void stats_protect_fixed(const long long *cells, const bool *derived, const bool *known,
			 const bool *fixed, bool *hidden, int n, const int *eq_cells,
			 const int *eq_len, int neq, int threshold)
{
	for (int i = 0; i < n; i++)
		if (!(fixed && fixed[i]))
			hidden[i] = !(derived && derived[i]) && cells[i] > 0 && cells[i] < threshold;
	/* Each pass hides one more cell or stops: at most n passes. */
	for (bool changed = true; changed;) {
		changed = false;
		const int *eq = eq_cells;
		for (int k = 0; k < neq; eq += eq_len[k++]) {
			int count = 0, best = -1, zero = -1;
			long long sum = 0;
			/* an identity among known totals alone (men + women =
			 * total) protects them from each other: decided on their
			 * values only, so alike in every table */
			bool among_known = known != NULL;
			for (int j = 0; j < eq_len[k] && among_known; j++)
				among_known = known[eq[j]];
			for (int j = 0; j < eq_len[k]; j++) {
				long long v = magnitude(cells[eq[j]]);
				if (hidden[eq[j]]) {
					count++;
					sum += v;
				} else if (fixed && fixed[eq[j]])
					continue;
				else if (known && known[eq[j]] && !among_known)
					continue;
				else if (v == 0) {
					if (zero < 0)
						zero = eq[j];
				} else if (best < 0 || v < magnitude(cells[best]))
					best = eq[j];
			}
			/* One hidden cell is the total minus the others; several
			 * adding up to less than the threshold are a small cell.
			 * Known cells (published alike by every table) protect
			 * none but each other; a zero protects a cell that would
			 * be alone otherwise (it is the only complement). */
			if (best < 0 && count == 1)
				best = zero;
			if (count == 0 || (count >= 2 && sum >= threshold) || best < 0)
				continue;
			hidden[best] = true;
			changed = true;
		}
	}
}

/* One period's balance v (rows men, women, total) as cells from `base`:
 * its values, the balances derived, the start and the end known, and its
 * identities (each row's, men + women = total in every column) appended
 * at eq_cells[*nc], eq_len[*neq]. */
static void balance_cells(const long long v[][STATS_B_COLS], int base, long long *cells,
			  bool *derived, bool *known, int *eq_cells, int *nc, int *eq_len, int *neq)
{
	for (int sx = 0; sx < 3; sx++) {
		int b = base + sx * STATS_B_COLS;
		memcpy(&cells[b], v[sx], sizeof v[sx]);
		derived[b + STATS_B_NATURAL] = derived[b + STATS_B_MIGR] = true;
		known[b + STATS_B_START] = known[b + STATS_B_END] = true;
		for (int k = 0; k < STATS_BALANCE_IDENTITIES; k++) {
			for (int j = 0; j < stats_balance_identity[k].n; j++)
				eq_cells[(*nc)++] = b + stats_balance_identity[k].cols[j];
			eq_len[(*neq)++] = stats_balance_identity[k].n;
		}
	}
	for (int c = 0; c < STATS_B_COLS; c++) {
		for (int sx = 0; sx < 3; sx++)
			eq_cells[(*nc)++] = base + sx * STATS_B_COLS + c;
		eq_len[(*neq)++] = 3;
	}
}

/* Cells of balance_cells' identities: below this. */
#define BALANCE_EQ_CELLS (3 * 30 + STATS_B_COLS * 3)

void stats_balance_protect(const long long v[][STATS_B_COLS], bool hidden[][STATS_B_COLS],
			   int threshold)
{
	enum { N = 3 * STATS_B_COLS };
	long long cells[N];
	bool derived[N] = {0}, known[N] = {0}, h[N];
	int eq_cells[BALANCE_EQ_CELLS], eq_len[3 * STATS_BALANCE_IDENTITIES + STATS_B_COLS];
	int neq = 0, nc = 0;
	balance_cells(v, 0, cells, derived, known, eq_cells, &nc, eq_len, &neq);
	stats_protect(cells, derived, known, h, N, eq_cells, eq_len, neq, threshold);
	for (int i = 0; i < N; i++)
		hidden[i / STATS_B_COLS][i % STATS_B_COLS] = h[i];
}

void stats_year_balance_protect(const long long months[][3][STATS_B_COLS], int nm,
				bool hidden[][STATS_B_COLS], int threshold)
{
	/* Every identity of the year is the sum of the months' same identity
	 * (start + flows = end telescopes), and in each month's no hidden cell
	 * is alone: so the year's hidden cells are never alone either, and
	 * the year publishes nothing the months do not. */
	memset(hidden, 0, 3 * sizeof *hidden);
	for (int m = 0; m < nm; m++) {
		bool h[3][STATS_B_COLS];
		stats_balance_protect(months[m], h, threshold);
		for (int sx = 0; sx < 3; sx++)
			for (int c = 0; c < STATS_B_COLS; c++)
				if ((c != STATS_B_START || m == 0) && (c != STATS_B_END || m == nm - 1))
					hidden[sx][c] |= h[sx][c];
	}
}

void stats_pool_add(long long *cells, bool *hidden, const long long *member,
		    const bool *member_hidden, int n)
{
	/* The pool publishes only sums of cells its members publish (the
	 * argument of stats_year_balance_protect, over places instead of
	 * months). */
	for (int i = 0; i < n; i++) {
		cells[i] += member[i];
		hidden[i] = hidden[i] || member_hidden[i];
	}
}

/* A linked table as the cube searches read it (linked_cubes,
 * linked_hypercubes): the cells of its members and province (blocks of n
 * cells), and each one's cost as a corner of a cube (w: 0 when hidden
 * already, -1 when it cannot be hidden, else the fewest persons, then
 * the fewest cells), kept as cells are hidden.  A table by rows and
 * columns (linked_cubes: the cubes' column pairs, as there) or of states
 * x ages x sexes (linked_hypercubes: nst blocks of `block` rows). */
struct search {
	const long long *cells;
	const long long *low;   /* what each count is known to be at least (NULL: 0) */
	long long *w;
	size_t n;
	int nm, rows, cols, nst, block;
	const signed char *pairs;
	bool cols_add_up;
};

/* The ways (bit 1 up, bit 2 down) a corner of value v and sign sg stops
 * a cube's move (stopped_cost). */
static unsigned corner_stops(long long v, int sg)
{
	return v ? 0u : sg < 0 ? 1u : 2u;
}

/* ZERO_CORNER times the ways stopped. */
static long long ways_cost(unsigned ways)
{
	return ZERO_CORNER * ((ways & 1) + (ways >> 1));
}

/* A cube's next side: its m corners so far (offsets off[] from the
 * small cell p0, the cell itself first, and signs sg[]) moved by d along
 * a dimension of sign sd, their offsets and signs written after the m,
 * their cost and the ways they stop the cube added to *cost and *ways.
 * False when one of them cannot be hidden, or when the corners so far
 * then cost the best (-1: none yet) or more: the others only add to it. */
static inline bool side_add(const struct search *y, size_t p0, size_t *off, int *sg, int m,
			    size_t d, int sd, long long best, long long *cost, unsigned *ways)
{
	for (int x = 0; x < m; x++) {
		size_t q = p0 + (off[m + x] = off[x] + d);
		long long c = y->w[q];
		if (c < 0)
			return false;
		*cost += c;
		*ways |= corner_stops(y->cells[q] - (y->low ? y->low[q] : 0), sg[m + x] = sg[x] * sd);
		if (best >= 0 && *cost + ways_cost(*ways) >= best)
			return false;
	}
	return true;
}

/* side_add for a cube's first side, from the small cell p0 of member k
 * to member k2 (false too when k2 is k), from no corner but the cell
 * (at its lower bound: it stops the move down). */
static bool member_add(const struct search *y, size_t p0, size_t *off, int *sg, int k, int k2,
		       long long best, long long *cost, unsigned *ways)
{
	*cost = 0;
	*ways = y->low ? corner_stops(y->cells[p0] - y->low[p0], 1) : 0;
	return k2 != k && side_add(y, p0, off, sg, 1, ((size_t)k2 - (size_t)k) * y->n,
				   side_sign(k, k2, y->nm), best, cost, ways);
}

/* The cheapest cube (linked_cubes) of the small cell (k, r, c) over the
 * second members k2 from k_from to k_to costing less than bound (-1:
 * any): its cost (-1: none) and its far corner in b; of those that cost
 * the same, the first by member, row, column.  Its corners are added a
 * side at a time (the member: 2, the row: 4, the column: 8) with the
 * ways stopped so far, a bound below the whole cost: a candidate is
 * dropped as soon as it costs the best. */
static long long cube_search(const struct search *y, int k, int r, int c, int k_from, int k_to,
			     long long bound, int b[3])
{
	size_t cols = (size_t)y->cols, off[8] = {0};
	int sg[8] = {1};
	long long best = bound, found = -1;
	size_t p0 = (size_t)k * y->n + (size_t)r * cols + (size_t)c;
	for (int k2 = k_from; k2 <= k_to && best; k2++) {
		long long c1;
		unsigned w1;
		if (!member_add(y, p0, off, sg, k, k2, best, &c1, &w1))
			continue;
		int r_from = y->cols_add_up ? 0 : r, r_to = y->cols_add_up ? y->rows - 1 : r;
		for (int r2 = r_from; r2 <= r_to && best; r2++) {
			long long c2 = c1;
			unsigned w2 = w1;
			if ((y->cols_add_up && r2 == r) ||
			    !side_add(y, p0, off, sg, 2, ((size_t)r2 - (size_t)r) * cols,
				      r2 != r ? side_sign(r, r2, y->rows - 1) : 1, best, &c2, &w2))
				continue;
			for (int c2i = 0; c2i < y->cols && best; c2i++) {
				int sc = y->pairs[c * y->cols + c2i];
				long long c3 = c2;
				unsigned w3 = w2;
				if (!sc || !side_add(y, p0, off, sg, 4, (size_t)c2i - (size_t)c, sc, best,
						     &c3, &w3))
					continue;
				best = found = c3 + ways_cost(w3);
				b[0] = k2;
				b[1] = r2;
				b[2] = c2i;
			}
		}
	}
	return found;
}

/* Exact differencing over linked tables (members x rows x columns, the
 * province the members' total): with rows and columns adding up, a
 * hidden cell no identity leaves alone can still be determined by the
 * system as a whole.  A 2 x 2 x 2 cube of hidden cells (two members, or
 * a member and the province; two rows; two columns — one of each in a
 * direction that has no identity) holds a direction of the identities'
 * null space, +-1 on its corners: the cells can move along it, so none
 * of them is determined.  Every small hidden cell (1 to threshold-1) gets
 * such a cube: one already hidden, or the cheapest one (the fewest
 * persons, then the fewest cells) whose corners still published are
 * neither fixed nor known, the fewest ways stopped by a zero corner
 * first (ZERO_CORNER).  pairs[c1 * cols + c2] (c1 != c2) marks the two
 * columns a cube may take, 1 when they move the same way, -1 the other,
 * 0 no pair: any two when each row adds up to its last column (the same
 * way when one is that total); in a balance, two flows whose +-1 keeps
 * every identity of the row (births and deaths, a registration and a
 * cancellation, two registrations or two cancellations).  The total row
 * (cols_add_up) and the province are the last.  A derived cell (a balance) is
 * no person: it gets no cube.  open_province: the province's cells (the
 * last block, fixed) may be corners all the same, but for its known
 * ones (a balance, a table by type or by citizenship: the province's
 * own protection leaves a small cell with no square of hidden cells
 * around it).  given (may be NULL): cells another publication decides,
 * never corners.  1 when a cell was hidden, -1 when out of memory. */
static int linked_cubes(const long long *cells, const bool *derived, const bool *known,
			const bool *fixed, const bool *given, bool *h, int nm, int rows, int cols,
			const signed char *pairs, bool cols_add_up, bool open_province, int threshold)
{
	size_t n = (size_t)rows * (size_t)cols, N = n * ((size_t)nm + 1);
	struct search y = {.cells = cells, .w = malloc(N * sizeof(long long)), .n = n, .nm = nm,
			   .rows = rows, .cols = cols, .pairs = pairs, .cols_add_up = cols_add_up};
	if (!y.w)
		return -1;
	for (size_t q = 0; q < N; q++) {
		bool shut = (given && given[q]) || (fixed[q] && !(open_province && q >= (size_t)nm * n));
		y.w[q] = h[q] ? 0 : shut || (known && known[q]) ? -1 : magnitude(cells[q]) * 64 + 1;
	}
	bool changed = false;
	for (int k = 0; k <= nm; k++)
		for (int r = 0; r < rows; r++)
			for (int c = 0; c < cols; c++) {
				size_t p = (size_t)k * n + (size_t)(r * cols + c);
				if (!h[p] || cells[p] <= 0 || cells[p] >= threshold ||
				    (derived && derived[p]))
					continue;
				/* the province's cubes first: the cheapest of them
				 * bounds the whole search (the same cube found) */
				int b[3];
				long long best = cube_search(&y, k, r, c, nm, nm, -1, b);
				best = cube_search(&y, k, r, c, 0, nm, best < 0 ? -1 : best + 1, b);
				if (best <= 0)
					continue;
				int kk[2] = {k, b[0]}, rr[2] = {r, b[1]}, cc[2] = {c, b[2]};
				for (int x = 0; x < 8; x++) {
					size_t q = (size_t)kk[x & 1] * n +
						   (size_t)(rr[(x >> 1) & 1] * cols + cc[x >> 2]);
					changed = changed || !h[q];
					h[q] = true;
					y.w[q] = 0;
				}
			}
	free(y.w);
	return changed;
}

/* hypercube_best over the second members k2 from k_from to k_to. */
static long long hypercube_search(const struct search *y, const int b0[4], int k_from, int k_to,
				  const int *ss, int nss, const int *aa, int naa, long long bound,
				  int b[4])
{
	size_t row = (size_t)y->block * 3, off[16] = {0};
	int k = b0[0], s = b0[1], a = b0[2], c = b0[3], sg[16] = {1};
	long long best = bound, found = -1;
	size_t p0 = (size_t)k * y->n + (size_t)s * row + (size_t)a * 3 + (size_t)c;
	for (int k2 = k_from; k2 <= k_to && best; k2++) {
		long long c1;
		unsigned w1;
		if (!member_add(y, p0, off, sg, k, k2, best, &c1, &w1))
			continue;
		for (int i = 0; i < nss && best; i++) {
			long long c2 = c1;
			unsigned w2 = w1;
			if (ss[i] == s || !side_add(y, p0, off, sg, 2, ((size_t)ss[i] - (size_t)s) * row,
						    side_sign(s, ss[i], y->nst - 1), best, &c2, &w2))
				continue;
			for (int j = 0; j < naa && best; j++) {
				long long c3 = c2;
				unsigned w3 = w2;
				if (aa[j] == a ||
				    !side_add(y, p0, off, sg, 4, ((size_t)aa[j] - (size_t)a) * 3,
					      side_sign(a, aa[j], y->block - 1), best, &c3, &w3))
					continue;
				for (int cx = 0; cx < 3 && best; cx++) {
					long long c4 = c3;
					unsigned w4 = w3;
					if (cx == c || !side_add(y, p0, off, sg, 8, (size_t)cx - (size_t)c,
								 side_sign(c, cx, 2), best, &c4, &w4))
						continue;
					best = found = c4 + ways_cost(w4);
					b[0] = k2;
					b[1] = ss[i];
					b[2] = aa[j];
					b[3] = cx;
				}
			}
		}
	}
	return found;
}

/* The cheapest hypercube (linked_hypercubes) of the small cell (k, s,
 * a, c) over the second states ss[0..nss) and second ages aa[0..naa)
 * (any member, any column) costing less than bound (-1: any): its cost
 * (-1: none) and its far corner in b; of those that cost the same, the
 * first by member, then state and age as listed, then column.  Its
 * corners are added a side at a time (the member and the state: 4
 * corners, the age: 8, the column: 16), with the ways stopped so far (a
 * bound below the whole cost), so a candidate is dropped as soon as it
 * costs more than the best.  The province's cubes are searched first:
 * the cheapest of them (the province's cells are sums, seldom a zero
 * corner: half the cubes of a member of the 47-municipality province)
 * bounds the whole search from its start. */
static long long hypercube_best(const struct search *y, const int b0[4], const int *ss, int nss,
				const int *aa, int naa, long long bound, int b[4])
{
	long long first = hypercube_search(y, b0, y->nm, y->nm, ss, nss, aa, naa, bound, b);
	return hypercube_search(y, b0, 0, y->nm, ss, nss, aa, naa, first < 0 ? bound : first + 1, b);
}

/* linked_cubes for a table of states x ages x sexes (strasa_cittadinanza_eta:
 * nst blocks of `block` rows, the ages then their total, the block of all
 * states last; columns men, women, total), each block's ages adding up to
 * its total row and every age over the states to the last block: two
 * members, two rows and two columns leave a third identity (an age over
 * the states) moved, so the direction of the null space is a 2 x 2 x 2 x 2
 * hypercube (two members or a member and the province, two states or a
 * state and the block of all, two ages or an age and the total row, two
 * columns), +-1 on its 16 corners, one sign per side of each dimension.
 * Every small hidden cell (1 to threshold-1) gets one, already hidden or
 * the cheapest whose corners still published are neither given nor known
 * (the total of all states by sex is known: never a corner); the province
 * (the last block) open as in linked_cubes.  Searched first over the
 * second states and ages the cell's member already hides at its age and
 * state (and the block of all, the total row: given, most often hidden),
 * a few of each, then over every one when none is found there or the one
 * found is stopped both ways, only for a cube stopped one way at most
 * (cheaper than 2 ZERO_CORNER: the bound drops most candidates at their
 * first corners).  The search of every small cell (hypercube_best:
 * 46,817 of them for a member of the 47-municipality province of 200,000
 * persons, over 400 million candidates when each corner was read anew)
 * reads the corners' costs from an array kept as cells are hidden, and
 * starts from the province's cheapest cube: the same cubes, about 4 s of
 * CPU instead of 43-62 s (docs/performance.md).
 * A cube still stopped both ways has no fallback here (tried: the zero
 * corners' own hypercubes, then the cube's two states hidden whole; the
 * member's table of that province twice main's CPU and 3,515 of 5,814
 * cells hidden); a row of zeros hidden in part is hidden whole after the
 * search (the interval attacker of unit.test_stats: 58 small counts
 * pinned on 40 seeds of 40 provinces, 29 so; docs/api.md); the exact
 * audit after it (cite_audit) frees the rest.  1 when a cell was hidden,
 * -1 when out of memory. */
static int linked_hypercubes(const long long *cells, const long long *low, const bool *known,
			      const bool *given, bool *h, int nm, int nst, int block, int threshold)
{
	size_t n = (size_t)nst * (size_t)block * 3, N = n * ((size_t)nm + 1);
	int *all_s = malloc((size_t)nst * sizeof *all_s), *all_a = malloc((size_t)block * sizeof *all_a);
	int *ss = malloc((size_t)nst * sizeof *ss), *aa = malloc((size_t)block * sizeof *aa);
	struct search y = {.cells = cells, .low = low, .w = malloc(N * sizeof(long long)), .n = n,
			   .nm = nm, .nst = nst, .block = block};
	bool changed = false, ok = all_s && all_a && ss && aa && y.w;
	for (size_t q = 0; ok && q < N; q++)
		y.w[q] = h[q] ? 0 : (given && given[q]) || (known && known[q]) ? -1
						 : magnitude(cells[q]) * 64 + 1;
	for (int i = 0; ok && i < nst; i++)
		all_s[i] = (nst - 1 + i) % nst;     /* the block of all states first */
	for (int i = 0; ok && i < block; i++)
		all_a[i] = (block - 1 + i) % block; /* the total row first */
#define HC(k, s, a, c) ((size_t)(k) * n + ((size_t)(s) * (size_t)block + (size_t)(a)) * 3 + (size_t)(c))
	for (int k = 0; ok && k <= nm; k++)
		for (int s = 0; s < nst; s++)
			for (int a = 0; a < block; a++)
				for (int c = 0; c < 3; c++) {
					size_t p = HC(k, s, a, c);
					if (!h[p] || cells[p] <= 0 || cells[p] >= threshold)
						continue;
					int b0[4] = {k, s, a, c}, b[4] = {k, s, a, c}, nss = 0, naa = 0;
					for (int i = 0; i < nst; i++)
						if (all_s[i] != s && (i == 0 || h[HC(k, all_s[i], a, c)] ||
								      h[HC(nm, all_s[i], a, c)]))
							ss[nss++] = all_s[i];
					for (int i = 0; i < block; i++)
						if (all_a[i] != a && (i == 0 || h[HC(k, s, all_a[i], c)] ||
								      h[HC(nm, s, all_a[i], c)]))
							aa[naa++] = all_a[i];
					long long best = hypercube_best(&y, b0, ss, nss, aa, naa, -1, b);
					/* none there, or stopped both ways: every state and
					 * age, only a cube cheaper (stopped one way at most) */
					if (best < 0 || best >= 2 * ZERO_CORNER) {
						int b2[4];
						long long other = hypercube_best(&y, b0, all_s, nst, all_a, block,
										 best < 0 ? -1 : 2 * ZERO_CORNER, b2);
						if (other >= 0) {
							best = other;
							memcpy(b, b2, sizeof b2);
						}
					}
					if (best <= 0)
						continue;
					for (int x = 0; x < 16; x++) {
						size_t q = HC(x & 1 ? b[0] : k, x & 2 ? b[1] : s, x & 4 ? b[2] : a,
							      x & 8 ? b[3] : c);
						changed = changed || !h[q];
						h[q] = true;
						y.w[q] = 0;
					}
				}
	/* A row of a state at one age all 0 and hidden in part: its hidden
	 * zeros are held at 0 by the published ones (men + women = total,
	 * none negative), stopping every cube through them both ways;
	 * hidden whole (zeros: no person), they can rise.  Not in a state
	 * whose total the territory publishes as 0 (every cell of it held at
	 * 0 all the same). */
	for (int k = 0; ok && k <= nm; k++)
		for (int s = 0; s + 1 < nst; s++)
			for (int a = 0; a + 1 < block; a++) {
				size_t p = HC(k, s, a, 0), t = HC(k, s, block - 1, 2);
				bool zero = cells[t] || h[t], some = false;
				for (int c = 0; c < 3; c++) {
					zero = zero && cells[p + (size_t)c] == 0 && y.w[p + (size_t)c] >= 0;
					some = some || h[p + (size_t)c];
				}
				/* each cell another hidden one in its column and over
				 * the states but for the given totals: a pool, which
				 * publishes those, has them too */
				for (int c = 0; zero && some && c < 3; c++) {
					bool col = h[p + (size_t)c], st = col;
					for (int a2 = 0; !col && a2 + 1 < block; a2++)
						col = a2 != a && h[HC(k, s, a2, c)];
					for (int s2 = 0; !st && s2 + 1 < nst; s2++)
						st = s2 != s && h[HC(k, s2, a, c)];
					zero = col && st;
				}
				for (int c = 0; zero && some && c < 3; c++) {
					changed = changed || !h[p + (size_t)c];
					h[p + (size_t)c] = true;
				}
			}
#undef HC
	free(y.w);
	free(all_s);
	free(all_a);
	free(ss);
	free(aa);
	return ok ? changed : -1;
}

/* One table on its own (a territory no other is protected with) whose
 * rows and columns both add up: two hidden cells in every line still
 * leave a cell determined by the system as a whole when it lies on no
 * cycle of hidden cells (two cycles joined by one cell: that cell).  A
 * 2 x 2 rectangle of hidden cells holds a direction of the identities'
 * null space (+-1 on its corners, the signs of a total's row or column
 * alike), so none of its corners is determined: every small hidden cell
 * (1 to threshold-1) gets one, already hidden or the cheapest (the fewest
 * persons, then the fewest cells) whose corners still published are
 * neither given nor known.  The two dimensions of linked_cubes' cube
 * without the members'.  True when a cell was hidden. */
static bool lone_squares(const long long *cells, const bool *known, const bool *given, bool *h,
			 int rows, int cols, int threshold)
{
	bool changed = false;
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++) {
			if (!h[r * cols + c] || cells[r * cols + c] <= 0 || cells[r * cols + c] >= threshold)
				continue;
			long long best = -1;
			int br = r, bc = c;
			for (int r2 = 0; r2 < rows && best; r2++)
				for (int c2 = 0; c2 < cols && best && r2 != r; c2++) {
					if (c2 == c)
						continue;
					int q[4] = {r * cols + c2, r2 * cols + c, r2 * cols + c2, r * cols + c};
					long long cost = 0;
					for (int x = 0; x < 3 && cost >= 0; x++) {
						if (h[q[x]])
							continue;
						if ((given && given[q[x]]) || (known && known[q[x]]))
							cost = -1;
						else
							cost += magnitude(cells[q[x]]) * 64 + 1;
					}
					/* the square's corners, its small cell first */
					size_t qs[4] = {(size_t)q[3], (size_t)q[0], (size_t)q[1], (size_t)q[2]};
					int sg[4] = {1, side_sign(c, c2, cols - 1), side_sign(r, r2, rows - 1),
						     side_sign(c, c2, cols - 1) * side_sign(r, r2, rows - 1)};
					if (cost >= 0)
						cost += stopped_cost(cells, qs, sg, 4);
					if (cost >= 0 && (best < 0 || cost < best)) {
						best = cost;
						br = r2;
						bc = c2;
					}
				}
			if (best <= 0)
				continue;
			changed = changed || !h[r * cols + bc] || !h[br * cols + c] || !h[br * cols + bc];
			h[r * cols + bc] = h[br * cols + c] = h[br * cols + bc] = true;
		}
	return changed;
}

/* strasa_cittadinanza_eta's cells as its exact audit reads them
 * (stats_audit_protect): nb blocks (the members then the province; one:
 * a table alone) of nst states (the block of all states last) x `block`
 * rows (the ages, their total row last) x 3 columns (men, women,
 * total); known cells (the foreign residents by sex) never hidden. */
struct cite_layout {
	const long long *cells;
	const long long *low;   /* what each count is known to be at least */
	const bool *known;
	int nb, nst, block;
	int n;                  /* cells of a block */
	int *ks, *ss, *as;      /* scratch: the second sides of a hypercube */
	bool *any_s, *any_all;  /* scratch of cite_widen: a hidden cell at each age */
	/* cite_widen's hypercubes (linked_hypercubes' search): each cell's
	 * cost as a corner (0 hidden, -1 known), kept as cells are hidden;
	 * the states and the ages in the order searched */
	long long *w;
	int *all_s, *all_a;
};

#define CL(l, k, s, a, c) ((k) * (l)->n + ((s) * (l)->block + (a)) * 3 + (c))

/* A hypercube's next side (as side_add, of hidden cells only): its m
 * corners so far (offsets off[], signs sg[]) moved by d, of sign sd,
 * written after them; false when one is not hidden or when corners at
 * their lower bound now stop it both ways (*ways: bit 1 up, bit 2
 * down). */
static bool cube_side(const struct cite_layout *l, const bool *h, int p0, int *off, int *sg, int m,
		      int d, int sd, unsigned *ways)
{
	for (int x = 0; x < m; x++) {
		int q = p0 + (off[m + x] = off[x] + d);
		if (!h[q])
			return false;
		*ways |= corner_stops(l->cells[q] - l->low[q], sg[m + x] = sg[x] * sd);
	}
	return *ways != 3;
}

/* stats_audit's moves for strasa_cittadinanza_eta: the small hidden
 * cell p is a corner of a hypercube of hidden cells (linked_hypercubes';
 * without the members' dimension for a table alone) that no corner at
 * its lower bound (p too) stops both ways: along it p moves, every
 * identity kept, no count below its bound.  The province, the block of
 * all states and the total row tried first (as the hypercubes are
 * searched). */
static bool cite_moves(void *ctx, int p, const bool *h)
{
	const struct cite_layout *l = ctx;
	int k = p / l->n, r = p % l->n, s = r / (l->block * 3), a = r / 3 % l->block, c = r % 3;
	int nk = 0, ns = 0, na = 0;
	for (int i = 0; i < l->nb; i++) {
		int k2 = (l->nb - 1 + i) % l->nb;
		if (k2 != k && h[CL(l, k2, s, a, c)])
			l->ks[nk++] = k2;
	}
	if (l->nb == 1)
		l->ks[nk++] = k;        /* no members: a cube of states, ages, columns */
	for (int i = 0; i < l->nst; i++) {
		int s2 = (l->nst - 1 + i) % l->nst;
		if (s2 != s && h[CL(l, k, s2, a, c)])
			l->ss[ns++] = s2;
	}
	for (int i = 0; i < l->block; i++) {
		int a2 = (l->block - 1 + i) % l->block;
		if (a2 != a && h[CL(l, k, s, a2, c)])
			l->as[na++] = a2;
	}
	int off[16] = {0}, sg[16] = {1};
	for (int i = 0; i < nk; i++) {
		unsigned w1 = corner_stops(l->cells[p] - l->low[p], 1);   /* p at its bound: up only */
		int m = 1;
		if (l->ks[i] != k) {
			if (!cube_side(l, h, p, off, sg, 1, (l->ks[i] - k) * l->n,
				       side_sign(k, l->ks[i], l->nb - 1), &w1))
				continue;
			m = 2;
		}
		for (int j = 0; j < ns; j++) {
			unsigned w2 = w1;
			if (!cube_side(l, h, p, off, sg, m, (l->ss[j] - s) * l->block * 3,
				       side_sign(s, l->ss[j], l->nst - 1), &w2))
				continue;
			for (int x = 0; x < na; x++) {
				unsigned w3 = w2;
				if (!cube_side(l, h, p, off, sg, 2 * m, (l->as[x] - a) * 3,
					       side_sign(a, l->as[x], l->block - 1), &w3))
					continue;
				for (int c2 = 0; c2 < 3; c2++) {
					unsigned w4 = w3;
					if (c2 != c && cube_side(l, h, p, off, sg, 4 * m, c2 - c,
								 side_sign(c, c2, 2), &w4))
						return true;
				}
			}
		}
	}
	return false;
}

/* Hides the cells of block b, state s, age a (its three columns) but
 * the known ones: how many were published. */
static int cite_hide_row(const struct cite_layout *l, bool *h, int b, int s, int a)
{
	int added = 0;
	for (int c = 0; c < 3; c++) {
		int q = CL(l, b, s, a, c);
		if (!h[q] && !(l->known && l->known[q])) {
			h[q] = true;
			l->w[q] = 0;
			added++;
		}
	}
	return added;
}

/* stats_audit's widen for strasa_cittadinanza_eta, around the pinned
 * cell p of block k, state s, age a.  With members, level 1 the
 * cheapest hypercube through p (linked_hypercubes' search) that moves it
 * at least one way, its corners any cell but the known ones: a state
 * total of the province at its lower bound of 1 moves only up, with
 * another state's total down, and that total is strasa_cittadinanza's,
 * given published to the hypercubes' search (seed 2 of e2e
 * test_citizenship_both: 621 cells of the province hidden with it, 4,587
 * by the levels below alone; 269 with no bound, 24 counts pinned); the
 * levels below then each one higher.  In the blocks of k and the province
 * (every block at levels 4, 5 and 7): level 0 the row of s at a (its three
 * columns: a published zero among them holds the cell's cubes); 1 the
 * rows of s at every age it hides a cell of, its total row (its cells of
 * strasa_cittadinanza) and the block of all states at a (STRASA's); 2
 * besides, the rows of s at every age it counts or the block of all
 * states hides a cell of, and the block of all states at every age s
 * counts or hides a cell of; 3 every row of s besides; 4 the same in
 * every block; 5 besides, every row of the state s2 of the fewest
 * citizens in the province above its lower bound (but s), in every block
 * (a state total at its bound of 1 moves only up, another state's
 * down: cite_audit); 6 every cell of the two blocks; 7 every cell.  Each
 * level hides what the one before did and more (nothing published but
 * the known totals at the last): the audit's problem only relaxes.  The
 * cells of STRASA and strasa_cittadinanza hidden so are hidden in those
 * tables too (the caller's given cells).  On the 1,600 random provinces
 * of unit.test_stats' seeds 1-40 the 29 pinned counts took 29 calls at
 * level 0 (38 cells), 20 at 1 (56), and at 2 8 calls hid 4,734 cells
 * when it was every row of s (3 now). */
static int cite_widen(void *ctx, int p, int level, bool *h)
{
	const struct cite_layout *l = ctx;
	int k = p / l->n, r = p % l->n, s = r / (l->block * 3), a = r / 3 % l->block;
	if (level == 1 && l->nb > 1) {
		/* the cheapest hypercube that moves p at least one way, its
		 * corners the cells of STRASA and strasa_cittadinanza too */
		int b0[4] = {k, s, a, r % 3}, b[4], added = 0;
		struct search y = {.cells = l->cells, .low = l->low, .w = l->w, .n = (size_t)l->n,
				   .nm = l->nb - 1, .nst = l->nst, .block = l->block};
		if (hypercube_best(&y, b0, l->all_s, l->nst, l->all_a, l->block, 2 * ZERO_CORNER, b) < 0)
			return 0;
		for (int x = 0; x < 16; x++) {
			int q = CL(l, x & 1 ? b[0] : k, x & 2 ? b[1] : s, x & 4 ? b[2] : a,
				   x & 8 ? b[3] : b0[3]);
			added += !h[q];
			h[q] = true;
			l->w[q] = 0;
		}
		return added;
	}
	level -= level > 0;
	int all = l->nst - 1, tot = l->block - 1, added = 0, s2 = -1;
	for (int x = 0; level == 5 && x < all; x++) {
		int q = CL(l, l->nb - 1, x, tot, 2);
		if (x != s && l->cells[q] > l->low[q] &&
		    (s2 < 0 || l->cells[q] < l->cells[CL(l, l->nb - 1, s2, tot, 2)]))
			s2 = x;
	}
	for (int b = 0; b < l->nb; b++) {
		bool near = b == k || b == l->nb - 1;
		if (level > 7 || (!near && level != 4 && level != 5 && level != 7))
			continue;
		/* the block as it was: what hides a row not what this call hid */
		for (int a2 = 0; a2 < l->block; a2++) {
			l->any_s[a2] = l->any_all[a2] = false;
			for (int c = 0; c < 3; c++) {
				l->any_s[a2] = l->any_s[a2] || h[CL(l, b, s, a2, c)];
				l->any_all[a2] = l->any_all[a2] || h[CL(l, b, all, a2, c)];
			}
		}
		for (int s3 = 0; s3 < l->nst; s3++)
			for (int a2 = 0; a2 < l->block; a2++) {
				bool row_s = s3 == s || (level == 5 && s3 == s2), row_all = s3 == all;
				bool any = l->any_s[a2], peopled = l->cells[CL(l, b, s, a2, 2)] > 0, hide;
				switch (level) {
				case 0:
					hide = row_s && a2 == a;
					break;
				case 1:
					hide = (row_s && (a2 == a || any || a2 == tot)) || (row_all && a2 == a);
					break;
				case 2:
					hide = (row_s && (a2 == a || any || a2 == tot || peopled ||
							  l->any_all[a2])) ||
					       (row_all && (a2 == a || any || peopled));
					break;
				case 3:
				case 4:
				case 5:
					hide = row_s || (row_all && (a2 == a || any || peopled));
					break;
				default:
					hide = true;
				}
				if (hide)
					added += cite_hide_row(l, h, b, s3, a2);
			}
	}
	return added;
}

/* What every reader knows each count of strasa_cittadinanza_eta's nb
 * blocks (layout nst x block x 3, the province's last) to be at least,
 * besides 0: the province lists a state only when it has citizens of it
 * (stock_linked: the states of its members' citizens), so each state's
 * total (its total row, column Totale: strasa_cittadinanza's cell) is at
 * least 1 there (seed 2 of e2e test_citizenship_both: 24 counts pinned
 * with 0 as its bound).  A province given a state of no citizen (not the
 * server's: unit.test_stats' members alone) lists more than its
 * citizens' states: no bound.  A member's table lists too the states its
 * protection hides a cell of (cite_more_states, stock_more_states), with
 * no citizen: its counts 0.  NULL when out of memory. */
static long long *cite_low(const long long *cells, int nb, int nst, int block)
{
	size_t n = (size_t)nst * (size_t)block * 3;
	long long *low = calloc((size_t)nb * n + 1, sizeof *low);
	bool listed = true;   /* the province's states only those of its citizens */
	for (int pass = 0; low && pass < 2; pass++)
		for (int s = 0; s + 1 < nst; s++) {
			size_t q = (size_t)(nb - 1) * n +
				   ((size_t)s * (size_t)block + (size_t)block - 1) * 3 + 2;
			listed = listed && cells[q] > 0;
			low[q] = pass && listed;
		}
	return low;
}

/* The exact audit of strasa_cittadinanza_eta (stats_audit_protect, its
 * hypercubes as the directions it knows, cite_widen as its rule): the
 * nb blocks' cells, their lower bounds (cite_low), known cells (may be
 * NULL) and hidden flags h of layout nst x block x 3, the identities
 * jc/jl (neq) over them.  Issue #17: the hypercubes leave small counts
 * that the published cells pin with none negative (29 on 40 seeds of 40
 * random provinces of unit.test_stats). */
static vis_err cite_audit(const long long *cells, const long long *low, const bool *known, int nb,
			  int nst, int block, bool *h, const int *jc, const int *jl, int neq,
			  int threshold, const struct stop_ask *stop, struct vis_error *e)
{
	struct cite_layout l = {.cells = cells, .low = low, .known = known, .nb = nb, .nst = nst,
				.block = block, .n = nst * block * 3};
	l.ks = malloc((size_t)nb * sizeof *l.ks);
	l.ss = malloc((size_t)nst * sizeof *l.ss);
	l.as = malloc((size_t)block * sizeof *l.as);
	l.any_s = malloc((size_t)block * sizeof *l.any_s);
	l.any_all = malloc((size_t)block * sizeof *l.any_all);
	l.w = malloc(((size_t)nb * (size_t)l.n + 1) * sizeof *l.w);
	l.all_s = malloc((size_t)nst * sizeof *l.all_s);
	l.all_a = malloc((size_t)block * sizeof *l.all_a);
	for (size_t q = 0; l.w && q < (size_t)nb * (size_t)l.n; q++)
		l.w[q] = h[q] ? 0 : known && known[q] ? -1 : magnitude(cells[q]) * 64 + 1;
	for (int i = 0; l.all_s && i < nst; i++)
		l.all_s[i] = (nst - 1 + i) % nst;     /* the block of all states first */
	for (int i = 0; l.all_a && i < block; i++)
		l.all_a[i] = (block - 1 + i) % block; /* the total row first */
	vis_err rc = VIS_OK;
	if (!l.ks || !l.ss || !l.as || !l.any_s || !l.any_all || !l.w || !l.all_s || !l.all_a)
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	struct stats_audit a = {.cells = cells, .n = nb * l.n, .low = low, .eq_cells = jc,
				.eq_len = jl, .neq = neq, .threshold = threshold,
				.moves = cite_moves, .widen = cite_widen, .levels = 9, .ctx = &l,
				.rounds = 12, .stop = stop};
	if (!rc)
		rc = stats_audit_protect(&a, h, NULL, e);
	free(l.ks);
	free(l.ss);
	free(l.as);
	free(l.any_s);
	free(l.any_all);
	free(l.w);
	free(l.all_s);
	free(l.all_a);
	return rc;
}
#undef CL

/* stats_protect_linked with derived cells (derived[i] of one member, as
 * for stats_protect; may be NULL) and the cubes' column pairs (as for
 * linked_cubes); block > 0: a table of states x ages x sexes (rows in
 * blocks of `block` ages, cols 3), its small cells in hypercubes
 * (linked_hypercubes) instead of cubes. */
static vis_err protect_linked(const long long *members, const bool *derived, int nm, int rows,
			      int cols, const signed char *pairs, bool cols_add_up, bool open_province,
			      int block, const bool *known, const bool *given, const bool *given_hidden,
			      const int *eq_cells, const int *eq_len, int neq, int threshold,
			      long long *province, bool *province_hidden, bool *hidden,
			      const struct stop_ask *stop, struct vis_error *e)
{
	int n = rows * cols;
	/* The province: the members' cells summed, protected as one
	 * territory, then fixed; its known totals (published alike by every
	 * table: decided on the values of known cells only) hidden where a
	 * member's are, as in a pool (stats_pool_add), so that the members'
	 * are hidden as when each is protected alone; its given cells as
	 * given. */
	bool *alone = malloc((size_t)n * sizeof *alone), *pfixed = malloc((size_t)n * sizeof *pfixed);
	if (!alone || !pfixed) {
		free(alone);
		free(pfixed);
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	const bool *pgiven = given ? &given[(size_t)nm * (size_t)n] : NULL;
	memset(province, 0, (size_t)n * sizeof *province);
	memset(province_hidden, 0, (size_t)n * sizeof *province_hidden);
	for (int k = 0; k < nm; k++) {
		const long long *m = &members[(size_t)k * (size_t)n];
		for (int i = 0; i < n; i++)
			province[i] += m[i];
		if (!known)
			continue;
		const bool *g = given ? &given[(size_t)k * (size_t)n] : NULL;
		if (given_hidden)
			memcpy(alone, &given_hidden[(size_t)k * (size_t)n], (size_t)n * sizeof *alone);
		stats_protect_fixed(m, derived, known, g, alone, n, eq_cells, eq_len, neq, threshold);
		for (int i = 0; i < n; i++)
			province_hidden[i] = province_hidden[i] || (known[i] && alone[i]);
	}
	for (int i = 0; i < n; i++) {
		pfixed[i] = (known && known[i]) || (pgiven && pgiven[i]);
		if (pgiven && pgiven[i])
			province_hidden[i] = given_hidden[(size_t)nm * (size_t)n + (size_t)i];
	}
	stats_protect_fixed(province, derived, known, pfixed, province_hidden, n, eq_cells, eq_len, neq,
			    threshold);
	free(alone);
	free(pfixed);
	/* The members jointly: each one's cells and identities (a block each),
	 * the province's block last and fixed, and for every cell position
	 * the identity "the members' add up to the province's". */
	int len = 0;
	for (int k = 0; k < neq; k++)
		len += eq_len[k];
	size_t N = (size_t)(nm + 1) * (size_t)n;
	size_t ncells = (size_t)nm * (size_t)len + (size_t)n * (size_t)(nm + 1);
	size_t nneq = (size_t)nm * (size_t)neq + (size_t)n;
	long long *cells = malloc(N * sizeof *cells);
	bool *jk = calloc(N, sizeof *jk), *fixed = calloc(N, sizeof *fixed);
	bool *jd = calloc(N, sizeof *jd);
	bool *h = calloc(N, sizeof *h);
	int *jc = malloc(ncells * sizeof *jc), *jl = malloc(nneq * sizeof *jl);
	vis_err rc = VIS_OK;
	bool ok = cells && jk && jd && fixed && h && jc && jl &&
		  ncells <= (size_t)MAX_EQ_CELLS * 16;
	if (ok) {
		size_t c = 0, q = 0;
		memcpy(cells, members, (size_t)nm * (size_t)n * sizeof *cells);
		memcpy(&cells[(size_t)nm * (size_t)n], province, (size_t)n * sizeof *cells);
		for (int k = 0; k <= nm; k++) {
			size_t b = (size_t)k * (size_t)n;
			if (known)
				memcpy(&jk[b], known, (size_t)n * sizeof *jk);
			if (derived)
				memcpy(&jd[b], derived, (size_t)n * sizeof *jd);
			if (k == nm)
				break;
			const int *eq = eq_cells;
			for (int j = 0; j < neq; eq += eq_len[j++]) {
				for (int i = 0; i < eq_len[j]; i++)
					jc[c++] = (int)b + eq[i];
				jl[q++] = eq_len[j];
			}
		}
		for (int i = 0; i < n; i++) {
			size_t p = (size_t)nm * (size_t)n + (size_t)i;
			fixed[p] = true;
			h[p] = province_hidden[i];
			for (int k = 0; k <= nm; k++)
				jc[c++] = k * n + i;
			jl[q++] = nm + 1;
		}
		for (size_t i = 0; given && i < (size_t)nm * (size_t)n; i++)
			if (given[i]) {
				fixed[i] = true;
				h[i] = given_hidden[i];
			}
		const bool *jknown = known ? jk : NULL, *jderived = derived ? jd : NULL;
		stats_protect_fixed(cells, jderived, jknown, fixed, h, (int)N, jc, jl, (int)nneq,
				    threshold);
		/* then no small cell determined by the system as a whole; the
		 * cells hidden so far fixed, the identities protected again
		 * around the cubes' */
		long long *low = block ? cite_low(cells, nm + 1, rows / block, block) : NULL;
		int cubes = block && !low ? -1
			  : block ? linked_hypercubes(cells, low, jknown, given, h, nm, rows / block,
						      block, threshold)
				  : linked_cubes(cells, jderived, jknown, fixed, given, h, nm, rows, cols,
						 pairs, cols_add_up, open_province, threshold);
		ok = cubes >= 0;
		if (cubes > 0) {
			for (size_t i = 0; i < N; i++)
				fixed[i] = fixed[i] || h[i];
			stats_protect_fixed(cells, jderived, jknown, fixed, h, (int)N, jc, jl, (int)nneq,
					    threshold);
		}
		/* strasa_cittadinanza_eta: then its exact audit, more cells
		 * hidden until no small count is pinned */
		if (ok && block)
			rc = cite_audit(cells, low, jknown, nm + 1, rows / block, block, h, jc, jl,
					(int)nneq, threshold, stop, e);
		free(low);
		memcpy(hidden, h, (size_t)nm * (size_t)n * sizeof *hidden);
		memcpy(province_hidden, &h[(size_t)nm * (size_t)n], (size_t)n * sizeof *hidden);
	}
	free(cells);
	free(jk);
	free(jd);
	free(fixed);
	free(h);
	free(jc);
	free(jl);
	if (!ok && !rc)
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	return rc;
}

/* stats_protect_linked, the province's cells corners of cubes when
 * open_province (as linked_cubes). */
static bool protect_linked_table(const long long *members, int nm, int rows, int cols,
				 bool rows_add_up, bool cols_add_up, bool open_province,
				 const bool *known, const bool *fixed, const bool *fixed_hidden,
				 const int *eq_cells, const int *eq_len, int neq, int threshold,
				 long long *province, bool *province_hidden, bool *hidden)
{
	signed char *pairs = calloc((size_t)cols * (size_t)cols, sizeof *pairs);
	if (!pairs)
		return false;
	/* the cubes' two columns: any two when each row adds up; with no
	 * identity across the columns, a square in one column (its +-1 keeps
	 * every identity: two members, two rows) */
	for (int a = 0; a < cols; a++)
		for (int b = 0; b < cols; b++)
			pairs[a * cols + b] = (signed char)(rows_add_up ? (a != b) * side_sign(a, b, cols - 1) : a == b);
	bool ok = !protect_linked(members, NULL, nm, rows, cols, pairs, cols_add_up, open_province, 0,
				  known, fixed, fixed_hidden, eq_cells, eq_len, neq, threshold, province,
				  province_hidden, hidden, NULL, NULL);
	free(pairs);
	return ok;
}

bool stats_protect_linked(const long long *members, int nm, int rows, int cols, bool rows_add_up,
			  bool cols_add_up, const bool *known, const bool *fixed,
			  const bool *fixed_hidden, const int *eq_cells, const int *eq_len, int neq,
			  int threshold, long long *province, bool *province_hidden, bool *hidden)
{
	return protect_linked_table(members, nm, rows, cols, rows_add_up, cols_add_up, false, known,
				    fixed, fixed_hidden, eq_cells, eq_len, neq, threshold, province,
				    province_hidden, hidden);
}

/* The two flows of a cube in a balance (linked_cubes' pairs): +-1 on both
 * keeps start + flows = end and the natural and migratory balances; 1
 * when they move the same way (births and deaths, a registration and a
 * cancellation), -1 the other (two registrations, two cancellations), 0
 * when they are no pair. */
static signed char balance_pair(int a, int b)
{
	bool in_a = a == STATS_B_IN_IT || a == STATS_B_IN_ABROAD || a == STATS_B_IN_OTHER;
	bool in_b = b == STATS_B_IN_IT || b == STATS_B_IN_ABROAD || b == STATS_B_IN_OTHER;
	bool out_a = a == STATS_B_OUT_IT || a == STATS_B_OUT_ABROAD || a == STATS_B_OUT_OTHER;
	bool out_b = b == STATS_B_OUT_IT || b == STATS_B_OUT_ABROAD || b == STATS_B_OUT_OTHER;
	if (a == b)
		return 0;
	if ((a == STATS_B_BIRTHS && b == STATS_B_DEATHS) || (a == STATS_B_DEATHS && b == STATS_B_BIRTHS))
		return 1;
	if (!(in_a || out_a) || !(in_b || out_b))
		return 0;
	return in_a == in_b ? -1 : 1;
}

bool stats_balance_protect_linked(const long long (*v)[3][STATS_B_COLS], int nm, int threshold,
				  bool province_hidden[][STATS_B_COLS],
				  bool (*hidden)[3][STATS_B_COLS])
{
	enum { N = 3 * STATS_B_COLS };
	long long one[N];
	bool derived[N] = {0}, known[N] = {0};
	signed char pairs[STATS_B_COLS * STATS_B_COLS];
	int eq_cells[BALANCE_EQ_CELLS], eq_len[3 * STATS_BALANCE_IDENTITIES + STATS_B_COLS];
	int neq = 0, nc = 0;
	long long province[N];
	if (nm <= 0)
		return false;
	/* the identities, derived and known cells: the same for every member */
	balance_cells(v[0], 0, one, derived, known, eq_cells, &nc, eq_len, &neq);
	for (int a = 0; a < STATS_B_COLS; a++)
		for (int b = 0; b < STATS_B_COLS; b++)
			pairs[a * STATS_B_COLS + b] = balance_pair(a, b);
	return !protect_linked(&v[0][0][0], derived, nm, 3, STATS_B_COLS, pairs, true, true, 0,
			       known, NULL, NULL, eq_cells, eq_len, neq, threshold, province,
			       &province_hidden[0][0], &hidden[0][0][0], NULL, NULL);
}

/* ------------------------------------------------------------ a table */

struct grid {
	int rows, cols, labels;   /* cols: counts per row; labels: strings per row */
	char (*label)[LABEL_MAX];
	long long *v;
	bool *known;              /* totals every table publishes alike (stats_protect) */
	bool *fixed, *fixed_hidden; /* cells protected by another table (stats_protect_fixed) */
	/* periods of a balance, 3 rows each: every cell hidden as
	 * bal_hidden says (stats_balance_linked) */
	bool balance;
	bool *bal_hidden;
	int *eq_cells, *eq_len;
	int neq, ncells, cap_eq, cap_cells;
	bool oom;
	bool ages_hidden;         /* by address: POSAS hides a single year of the total row */
	int smallest;             /* by address: the place with the fewest residents (the first) */
	/* values computed from a row's counts once protected (indicators):
	 * nextra more cells appended to row r, or NULL */
	int nextra;
	void (*extra)(const struct grid *g, int r, const bool *hidden, json_t *row);
	const void *extra_ctx;
};

static bool grid_init(struct grid *g, int rows, int cols, int labels)
{
	memset(g, 0, sizeof *g);
	g->rows = rows;
	g->cols = cols;
	g->labels = labels;
	g->label = calloc((size_t)rows * (size_t)labels, sizeof *g->label);
	g->v = calloc((size_t)rows * (size_t)cols, sizeof *g->v);
	g->known = calloc((size_t)rows * (size_t)cols, sizeof *g->known);
	return g->label && g->v && g->known;
}

static void grid_release(struct grid *g)
{
	free(g->label);
	free(g->v);
	free(g->known);
	free(g->fixed);
	free(g->fixed_hidden);
	free(g->bal_hidden);
	free(g->eq_cells);
	free(g->eq_len);
}

static long long *at(struct grid *g, int r, int c)
{
	return &g->v[r * g->cols + c];
}

/* Marks the cells of row r in columns cols[0..n) as totals every table
 * publishes alike (stats_protect's known). */
static void set_known(struct grid *g, int r, const int *cols, int n)
{
	for (int i = 0; i < n; i++)
		g->known[r * g->cols + cols[i]] = true;
}

/* Cell (r, c) hidden or published as another table decides it
 * (stats_protect_fixed); false when out of memory. */
static bool grid_fix(struct grid *g, int r, int c, bool hidden)
{
	size_t n = (size_t)g->rows * (size_t)g->cols;
	if (!g->fixed)
		g->fixed = calloc(n, sizeof *g->fixed);
	if (!g->fixed_hidden)
		g->fixed_hidden = calloc(n, sizeof *g->fixed_hidden);
	if (!g->fixed || !g->fixed_hidden)
		return false;
	g->fixed[r * g->cols + c] = true;
	g->fixed_hidden[r * g->cols + c] = hidden;
	return true;
}

static void set_label(struct grid *g, int r, int i, const char *text)
{
	/* labels are names of the reference data and dates: they fit */
	str_copy_known(g->label[r * g->labels + i], LABEL_MAX, text, __FILE__, __LINE__);
}

/* An identity over the cells (r, c) given as pairs, ending with -1. */
static void eq_add(struct grid *g, const int *rc, int n)
{
	if (g->oom)
		return;
	if (g->neq == g->cap_eq) {
		int cap = g->cap_eq ? g->cap_eq * 2 : 64;
		int *p = realloc(g->eq_len, (size_t)cap * sizeof *p);
		if (!p) {
			g->oom = true;
			return;
		}
		g->eq_len = p;
		g->cap_eq = cap;
	}
	if (g->ncells + n > g->cap_cells) {
		int cap = g->cap_cells ? g->cap_cells * 2 : 512;
		while (cap < g->ncells + n)
			cap *= 2;
		int *p = cap <= MAX_EQ_CELLS ? realloc(g->eq_cells, (size_t)cap * sizeof *p) : NULL;
		if (!p) {
			g->oom = true;
			return;
		}
		g->eq_cells = p;
		g->cap_cells = cap;
	}
	for (int i = 0; i < n; i++)
		g->eq_cells[g->ncells++] = rc[2 * i] * g->cols + rc[2 * i + 1];
	g->eq_len[g->neq++] = n;
}

/* A row: its cells. */
static void eq_row(struct grid *g, int r, const int *cols, int n)
{
	int rc[64];
	for (int i = 0; i < n && i < 32; i++) {
		rc[2 * i] = r;
		rc[2 * i + 1] = cols[i];
	}
	eq_add(g, rc, n < 32 ? n : 32);
}

/* A column over rows first..last (inclusive, step), the total among them. */
static void eq_col(struct grid *g, int c, int first, int last, int step)
{
	int n = (last - first) / step + 1;
	int *rc = malloc((size_t)n * 2 * sizeof *rc);
	if (!rc) {
		g->oom = true;
		return;
	}
	for (int i = 0; i < n; i++) {
		rc[2 * i] = first + i * step;
		rc[2 * i + 1] = c;
	}
	eq_add(g, rc, n);
	free(rc);
}

/* ------------------------------------------------------------ territory */

/* In the order of enum stats_table; a table's code (tavola) is its name in
 * capitals. */
static const char table_names[] = "posas, strasa, strasa_cittadinanza, bilancio, famiglie, "
				  "famiglie_tipologia, strasa_cittadinanza_eta, localita, strade, "
				  "stato_civile";

const char *stats_table_names(void)
{
	return table_names;
}

vis_err stats_table_dates(struct stats_table_query *q, const char *date, const char *from,
			  const char *to, struct vis_error *e)
{
	bool balance = q->table == STATS_BILANCIO;
	if (date && *date) {
		int d;
		if (balance)
			return vis_error_set(e, VIS_ERR_INVALID,
					     "il bilancio non prende \"date\": il periodo è dato in mesi "
					     "interi con \"from\" e \"to\" (AAAA-MM)");
		if (!date_parse(date, strlen(date), &d) || DATE_DAY(d) != 1)
			return vis_error_set(e, VIS_ERR_INVALID,
					     "\"date\" è il primo giorno di un mese (AAAA-MM-01), come "
					     "ISTAT pubblica le tavole: non un altro giorno (%.32s)", date);
		q->date = d;
	}
	const char *ends[] = {from, to}, *names[] = {"from", "to"};
	int *dst[] = {&q->from, &q->to};
	for (int i = 0; i < 2; i++) {
		if (!ends[i] || !*ends[i])
			continue;
		if (!balance)
			return vis_error_set(e, VIS_ERR_INVALID,
					     "\"from\" e \"to\" sono del solo bilancio; le altre tavole "
					     "prendono \"date\" (AAAA-MM-01) o \"year\"");
		if (!stats_month_parse(ends[i], dst[i]))
			return vis_error_set(e, VIS_ERR_INVALID,
					     "\"%s\" è un mese, AAAA-MM: il bilancio si dà per mesi "
					     "interi, dal primo all'ultimo giorno, non da un giorno "
					     "qualsiasi (%.32s)", names[i], ends[i]);
	}
	return VIS_OK;
}

bool stats_table_parse(const char *name, enum stats_table *out)
{
	size_t len = strlen(name);
	int i = 0;
	for (const char *p = table_names; *p; i++) {
		size_t n = strcspn(p, ",");
		if (n == len && !strncmp(p, name, n)) {
			*out = (enum stats_table)i;
			return true;
		}
		p += n;
		p += strspn(p, ", ");
	}
	return false;
}

/* The code of a table: its name in capitals. */
static void table_code(enum stats_table t, char out[32])
{
	const char *p = table_names;
	for (int i = 0; i < (int)t; i++) {
		p += strcspn(p, ",");
		p += strspn(p, ", ");
	}
	size_t n = strcspn(p, ",");
	for (size_t i = 0; i < n && i < 31; i++)
		out[i] = (char)(p[i] >= 'a' && p[i] <= 'z' ? p[i] - 'a' + 'A' : p[i]);
	out[n < 31 ? n : 31] = 0;
}

struct span {
	const char *comuni;
	int from, to;
	bool any;
};

static int add_span(void *ctx, const char *comune, int64_t first, int64_t last)
{
	struct span *sp = ctx;
	if (!stats_covered(sp->comuni, comune))
		return 0;
	/* the last day the register holds whole: the day before the one the
	 * extract was read on, in Italian time, taken as UTC+1 (an extract at
	 * 23:00 UTC or later holds its day; in summer, UTC+2, an hour's
	 * extracts are counted a day short: safe) */
	int f = date_from_days(first / 86400);
	int t = date_add_days(date_from_days((last + 3600) / 86400), -1);
	if (!sp->any || f > sp->from)
		sp->from = f;
	if (!sp->any || t < sp->to)
		sp->to = t;
	sp->any = true;
	return 0;
}

vis_err stats_coverage(struct store *s, const char *comuni, int *from, int *to,
		       struct vis_error *e)
{
	struct span sp = {.comuni = comuni};
	vis_err rc = store_import_span_each(s, add_span, &sp, e);
	if (rc)
		return rc;
	/* A municipality asked for and never imported: nothing is covered. */
	for (const char *p = comuni; *p;) {
		size_t n = strcspn(p, ",");
		char code[8];
		STR_FMT_KNOWN(code, "%.*s", (int)(n < 7 ? n : 7), p); /* its precision bounds it */
		struct span one = {.comuni = code};
		if ((rc = store_import_span_each(s, add_span, &one, e)))
			return rc;
		if (!one.any)
			sp.any = false;
		p += n + (p[n] == ',');
	}
	*from = sp.any ? sp.from : 0;
	*to = sp.any ? sp.to : 0;
	return VIS_OK;
}

int stats_complete_month(int to)
{
	int y = DATE_YEAR(to), m = DATE_MONTH(to);
	if (DATE_DAY(date_add_days(to, 1)) == 1)
		return y * 100 + m;
	return m == 1 ? (y - 1) * 100 + 12 : y * 100 + m - 1;
}

vis_err stats_complete_check(int month, int on, int to, struct vis_error *e)
{
	char dt[11], d[11], next[11];
	date_format(to, dt);
	int last = stats_complete_month(to);
	if (month > 0 && month * 100 + date_days_in_month(month / 100, month % 100) > to)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "il mese %04d-%02d non è coperto per intero dal registro, che "
				     "ha questi comuni per intero fino al %s: si pubblicano solo i "
				     "periodi coperti per intero, l'ultimo mese completo è il %04d-%02d",
				     month / 100, month % 100, dt, last / 100, last % 100);
	if (on > 0 && date_add_days(on, -1) > to) {
		date_format(on, d);
		/* the latest first of a month whose day before is covered */
		int n = date_add_days(to, 1);
		date_format(DATE_YEAR(n) * 10000 + DATE_MONTH(n) * 100 + 1, next);
		return vis_error_set(e, VIS_ERR_INVALID,
				     "la popolazione all'inizio del %s non è coperta per intero dal "
				     "registro, che ha questi comuni per intero fino al %s: si "
				     "pubblicano solo i periodi coperti per intero, l'ultima data è "
				     "il %s", d, dt, next);
	}
	return VIS_OK;
}

void stats_territory(const struct refdata *rd, const char *comuni, int date,
		     char code[STATS_LABEL_MAX], char name[STATS_LABEL_MAX])
{
	int n = 1;
	for (const char *p = comuni; *p; p++)
		n += *p == ',';
	/* the label of a row holds a few codes; the header has them all */
	if (strlen(comuni) >= LABEL_MAX || !comuni[0]) {
		str_copy_known(code, LABEL_MAX, comuni[0] ? "insieme" : "tutti", __FILE__, __LINE__);
		if (comuni[0])
			snprintf(name, LABEL_MAX, "Insieme di %d comuni", n);
		else
			snprintf(name, LABEL_MAX, "Tutti i comuni");
		return;
	}
	/* shorter than LABEL_MAX, checked above */
	STR_FMT_KNOWN_CAP(code, LABEL_MAX, "%.*s", LABEL_MAX - 1, comuni);
	struct strbuf sb;
	strbuf_init(&sb, LABEL_MAX - 1);
	for (const char *p = comuni; *p;) {
		size_t len = strcspn(p, ",");
		char c[8];
		STR_FMT_KNOWN(c, "%.*s", (int)(len < 7 ? len : 7), p); /* its precision bounds it */
		const struct ref_comune *rc = refdata_comune_by_istat(rd, c, date);
		if (sb.len)
			strbuf_adds(&sb, ", ");
		strbuf_adds(&sb, rc ? rc->name : c);
		p += len + (p[len] == ',');
	}
	if (sb.err)
		snprintf(name, LABEL_MAX, "Insieme di %d comuni", n);
	else
		/* sb holds at most LABEL_MAX - 1 bytes */
		STR_FMT_KNOWN_CAP(name, LABEL_MAX, "%.*s", LABEL_MAX - 1, sb.buf);
	strbuf_release(&sb);
}

/* ------------------------------------------------------------ persons on a date */

struct on_date {
	const struct stats_table_query *q;
	const struct refdata *rd;
	int on;
	long long age[2][AGES];               /* [0] women, [1] men */
	long long civil[2][STATS_CIVIL][AGES]; /* [sex][civil_class()][age] */
	struct { char code[4]; long long n[2]; long long age[2][AGES]; } st[MAX_STATES];
	int nst;
	struct member { char key[40]; int rel, cs; char sex; } *fam;
	size_t nfam, capfam;
	bool dropped;                         /* a citizen of a state past MAX_STATES */
	bool oom;
};

/* Room for one more element in *arr (n used of *cap, each size bytes;
 * first: the capacity of a new array); false when out of memory. */
static bool grow(void **arr, size_t *cap, size_t n, size_t size, size_t first)
{
	if (n < *cap)
		return true;
	size_t c = *cap ? *cap * 2 : first;
	void *p = realloc(*arr, c * size);
	if (!p)
		return false;
	*arr = p;
	*cap = c;
	return true;
}

/* ISTAT's civil status (as the permanent census groups it, a civil
 * union with the marriage it stands beside) of an ANPR code
 * (docs/import-format.md): 0 celibe/nubile (1), 1 coniugato/a o unito/a
 * civilmente (2, 6), 2 divorziato/a o già in unione civile per
 * scioglimento (4, 8), 3 vedovo/a o già in unione civile per decesso del
 * partner (3, 7), 4 non classificabile (9, or any other code: ISTAT has
 * no such class, so it is published as such, not guessed). */
static int civil_class(int cs)
{
	switch (cs) {
	case 1: return 0;
	case 2: case 6: return 1;
	case 4: case 8: return 2;
	case 3: case 7: return 3;
	default: return 4;
	}
}

static bool foreign(const struct store_person *p)
{
	return !strstr(p->citizenships, "100");
}

/* A person of the territory asked for, resident on `on`. */
/* Every person version of `on` of each municipality of comuni (one code,
 * or a whole province's, comma-separated: pool_table), each read by its
 * index: with "" for a province, every municipality of the register was
 * read (every province of a regional one), and those of the others
 * dropped by resident_on. */
static vis_err each_member_at(struct store *s, const char *comuni, int on, store_person_fn fn,
			      void *ctx, struct vis_error *e)
{
	if (!comuni[0])
		return store_person_each_at(s, "", on, fn, ctx, e);
	for (const char *p = comuni;;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char code[16];
		if (!n || n >= sizeof code)
			return vis_error_set(e, VIS_ERR_INVALID, "comuni: codice non valido");
		memcpy(code, p, n);
		code[n] = '\0';
		vis_err rc = store_person_each_at(s, code, on, fn, ctx, e);
		if (rc || !end)
			return rc;
		p = end + 1;
	}
}

static bool resident_on(const struct stats_table_query *q, const struct store_person *p, int on)
{
	return stats_covered(q->comuni, p->comune) && p->reg_date <= on &&
	       !(p->canc_reason && p->canc_date <= on);
}

static int add_resident(void *ctx, const struct store_person *p)
{
	struct on_date *a = ctx;
	if (!resident_on(a->q, p, a->on))
		return 0;
	int age = date_age(p->birth_date, a->on);
	if (age < 0)
		return 0;
	int sex = p->sex == 'M';
	enum stats_table t = a->q->table;
	/* strasa_cittadinanza(_eta): STRASA's counts too, which their
	 * province's pass gives its linked protection (stock_linked) */
	bool cit = t == STATS_STRASA_CITT || t == STATS_STRASA_CITT_ETA;
	if (t == STATS_POSAS || t == STATS_STATO_CIVILE ||
	    ((t == STATS_STRASA || cit) && foreign(p)))
		a->age[sex][age < AGES ? age : AGES - 1]++;
	if (t == STATS_STATO_CIVILE)
		a->civil[sex][civil_class(p->civil_status)][age < AGES ? age : AGES - 1]++;
	if (cit && foreign(p)) {
		char first[4];
		STR_FMT_KNOWN(first, "%.3s", p->citizenships); /* its precision bounds it */
		int i = 0;
		while (i < a->nst && strcmp(a->st[i].code, first))
			i++;
		if (i == a->nst) {
			if (a->nst == MAX_STATES) {
				a->dropped = true;
				return 0;
			}
			memcpy(a->st[i].code, first, sizeof first);
			a->nst++;
		}
		a->st[i].n[sex]++;
		a->st[i].age[sex][age < AGES ? age : AGES - 1]++;
	}
	/* Households (famiglie anagrafiche): not the residents of a
	 * convivenza (relationship 24 in charge, 25 member). */
	if ((t == STATS_FAMIGLIE || t == STATS_FAMIGLIE_TIPO) && p->family_id[0] &&
	    p->relationship != 24 && p->relationship != 25) {
		if (!grow((void **)&a->fam, &a->capfam, a->nfam, sizeof *a->fam, 4096)) {
			a->oom = true;
			return 1;
		}
		struct member *m = &a->fam[a->nfam++];
		/* comune[7] and an id of at most 20 bytes */
		STR_FMT_KNOWN(m->key, "%s:%s", p->comune, p->family_id);
		m->rel = p->relationship;
		m->cs = p->civil_status;
		m->sex = p->sex;
	}
	return 0;
}

static int cmp_fam(const void *x, const void *y)
{
	return strcmp(x, y);
}

/* ------------------------------------------------------------ households by type */

/* ISTAT's household typology (census; "Aspetti della vita quotidiana"):
 * households without a nucleus (one person, or several), with one nucleus
 * (a couple without or with children, a father or a mother with children),
 * with two or more.  A nucleus is a couple, or a parent with children who
 * never married; the register only says how each member is related to
 * the head, so the nuclei are those that relationship shows (docs/api.md,
 * "Famiglie per tipologia"). */
enum tipo { T_SOLA, T_ALTRA, T_COPPIA, T_COPPIA_FIGLI, T_PADRE, T_MADRE, T_NUCLEI, TIPI };
_Static_assert(TIPI == STATS_TYPES, "the types of famiglie_tipologia");

static const char *const tipologie[] = {
	"Persona sola", "Altra famiglia senza nuclei", "Coppia senza figli", "Coppia con figli",
	"Padre solo con figli", "Madre sola con figli", "Famiglia con due o più nuclei", "Totale"};

static bool rel_in(int rel, const int *set, int n)
{
	for (int i = 0; i < n; i++)
		if (rel == set[i])
			return true;
	return false;
}

/* Never married, or civil status not classifiable: a child of a nucleus. */
static bool never_married(const struct member *m)
{
	return m->cs == 1 || m->cs == 9;
}

/* How many members of m[0..n) have a relationship in set, and how many of
 * them never married; *sex is the sex of the first. */
static int count_rel(const struct member *m, size_t n, const int *set, int nset, int *single,
		     char *sex)
{
	int c = 0;
	*single = 0;
	for (size_t i = n; i-- > 0;)
		if (rel_in(m[i].rel, set, nset)) {
			c++;
			*single += never_married(&m[i]);
			*sex = m[i].sex;
		}
	return c;
}

/* The parents (or parents-in-law) of the head living with the household:
 * a couple (two of them) or one parent, with their children who never
 * married (the head's or partner's brothers and sisters, and the head
 * when not in a nucleus of their own).  Counts their nucleus. */
static void parents_nucleus(const struct member *m, size_t n, int parent, int sibling,
			    bool head_child, int *nuclei, enum tipo *t)
{
	int single, sib_single;
	char sex = 0, dummy = 0;
	int np = count_rel(m, n, &parent, 1, &single, &sex);
	count_rel(m, n, &sibling, 1, &sib_single, &dummy);
	bool children = head_child || sib_single > 0;
	if (np >= 2) {
		(*nuclei)++;
		*t = children ? T_COPPIA_FIGLI : T_COPPIA;
	} else if (np == 1 && children) {
		(*nuclei)++;
		*t = sex == 'M' ? T_PADRE : T_MADRE;
	}
}

static enum tipo household_type(const struct member *m, size_t n)
{
	if (n == 1)
		return T_SOLA;
	const struct member *head = NULL;
	for (size_t i = 0; i < n; i++)
		if (m[i].rel == 1)
			head = &m[i];
	/* Without its head the relationships relate nobody to anybody. */
	if (!head)
		return T_ALTRA;
	static const int partner[] = {2, 22, 23, 28}, child[] = {3, 13, 27}, in_law[] = {16},
			 grandchild[] = {4};
	int nuclei = 0, single, x;
	char sex = 0;
	enum tipo t = T_ALTRA;
	int np = count_rel(m, n, partner, 4, &x, &sex);
	count_rel(m, n, child, 3, &single, &sex);
	if (np || single) {
		nuclei++;
		t = np ? (single ? T_COPPIA_FIGLI : T_COPPIA) : head->sex == 'M' ? T_PADRE : T_MADRE;
	}
	parents_nucleus(m, n, 6, 9, !nuclei && never_married(head), &nuclei, &t);
	parents_nucleus(m, n, 17, 15, false, &nuclei, &t);
	/* A son- or daughter-in-law: a couple with a child of the head, with
	 * the grandchildren who never married. */
	int sons_in_law = count_rel(m, n, in_law, 1, &x, &sex);
	if (sons_in_law) {
		nuclei += sons_in_law;
		count_rel(m, n, grandchild, 1, &single, &sex);
		t = single ? T_COPPIA_FIGLI : T_COPPIA;
	}
	return nuclei == 0 ? T_ALTRA : nuclei == 1 ? t : T_NUCLEI;
}

/* The households of a's members by type and size (n[type][size - 1],
 * 6 and more the last): the members sorted by household, then counted. */
static void household_counts(struct on_date *a, long long n[][STATS_SIZES])
{
	memset(n, 0, TIPI * sizeof *n);
	if (a->nfam)
		qsort(a->fam, a->nfam, sizeof *a->fam, cmp_fam);
	for (size_t i = 0; i < a->nfam;) {
		size_t j = i;
		while (j < a->nfam && !strcmp(a->fam[j].key, a->fam[i].key))
			j++;
		int size = (j - i > STATS_SIZES ? STATS_SIZES : (int)(j - i)) - 1;
		n[household_type(&a->fam[i], j - i)][size]++;
		i = j;
	}
}

/* Households by size (one column) or by type and size (a row per type,
 * a column per size), of the counts n[type][size - 1]. */
static bool fill_households(struct grid *g, const long long n[][STATS_SIZES], bool by_type,
			    const char *code, const char *name)
{
	int rows = by_type ? TIPI + 1 : 7, cols = by_type ? 7 : 1;
	if (!grid_init(g, rows, cols, 3))
		return false;
	for (int t = 0; t < TIPI; t++)
		for (int size = 0; size < STATS_SIZES; size++) {
			int r = by_type ? t : size;
			int cells[][2] = {{r, by_type ? size : 0}, {r, 6}, {TIPI, size}, {TIPI, 6}};
			for (int k = 0; k < (by_type ? 4 : 1); k++)
				*at(g, cells[k][0], cells[k][1]) += n[t][size];
			if (!by_type)
				*at(g, 6, 0) += n[t][size];
		}
	static const char *const sizes[] = {"1", "2", "3", "4", "5", "6 e più", "Totale"};
	for (int r = 0; r < rows; r++) {
		set_label(g, r, 0, code);
		set_label(g, r, 1, name);
		set_label(g, r, 2, by_type ? tipologie[r] : sizes[r]);
	}
	static const int all[] = {0, 1, 2, 3, 4, 5, 6};
	for (int r = 0; by_type && r < rows; r++)
		eq_row(g, r, all, cols);
	for (int c = 0; c < cols; c++)
		eq_col(g, c, 0, rows - 1, 1);
	/* the households of the territory: their total in every table that
	 * counts them (localita, strade); by size, famiglie's column, the
	 * total row of the table by type, fixed there as famiglie hides it
	 * (stats_households_protect_linked) */
	set_known(g, rows - 1, all, cols);
	return true;
}

/* Age by sex from row r0: rows 0..100, then 999 (Totale), each with the
 * labels lab[0..nlab) and the age; columns men, women, total. */
static void age_block(struct grid *g, int r0, long long age[2][AGES], const char *const *lab,
		      int nlab)
{
	for (int r = r0; r <= r0 + AGES; r++) {
		char a[12];
		snprintf(a, sizeof a, "%d", r - r0 < AGES ? r - r0 : 999);
		for (int i = 0; i < nlab; i++)
			set_label(g, r, i, lab[i]);
		set_label(g, r, nlab, a);
		if (r - r0 < AGES) {
			*at(g, r, 0) = age[1][r - r0];
			*at(g, r, 1) = age[0][r - r0];
			*at(g, r, 2) = age[0][r - r0] + age[1][r - r0];
			for (int c = 0; c < 3; c++)
				*at(g, r0 + AGES, c) += *at(g, r, c);
		}
		static const int mft[] = {0, 1, 2};
		eq_row(g, r, mft, 3);
	}
	for (int c = 0; c < 3; c++)
		eq_col(g, c, r0, r0 + AGES, 1);
}

static bool fill_ages(struct grid *g, long long age[2][AGES], const char *code, const char *name)
{
	if (!grid_init(g, AGES + 1, 3, 3))
		return false;
	const char *lab[] = {code, name};
	age_block(g, 0, age, lab, 2);
	/* the residents (or the foreign residents) by sex: in every table */
	static const int mft[] = {0, 1, 2};
	set_known(g, AGES, mft, 3);
	return true;
}

bool stats_ages_protect(const long long age[2][STATS_AGES], int threshold, bool hidden[][3])
{
	struct grid g;
	long long a[2][AGES];
	memcpy(a, age, sizeof a);
	bool ok = fill_ages(&g, a, "", "") && !g.oom;
	if (ok)
		stats_protect(g.v, NULL, g.known, &hidden[0][0], g.rows * g.cols, g.eq_cells, g.eq_len,
			      g.neq, threshold);
	grid_release(&g);
	return ok;
}

bool stats_ages_protect_linked(const long long (*age)[2][STATS_AGES], int nm, int threshold,
			       bool province_hidden[][3], bool (*hidden)[STATS_AGES + 1][3])
{
	enum { N = (AGES + 1) * 3 };
	struct grid g;
	memset(&g, 0, sizeof g);
	long long a[2][AGES], province[N];
	long long *cells = nm > 0 ? malloc((size_t)nm * N * sizeof *cells) : NULL;
	bool ok = cells != NULL;
	/* each member's cells as its POSAS lays them out; the identities and
	 * the known totals (the same for all) from the last one's */
	for (int k = 0; ok && k < nm; k++) {
		grid_release(&g);
		memcpy(a, age[k], sizeof a);
		ok = fill_ages(&g, a, "", "") && !g.oom;
		if (ok)
			memcpy(&cells[(size_t)k * N], g.v, N * sizeof *cells);
	}
	if (ok)
		ok = stats_protect_linked(cells, nm, AGES + 1, 3, true, true, g.known, NULL, NULL,
					  g.eq_cells, g.eq_len, g.neq, threshold, province,
					  &province_hidden[0][0], &hidden[0][0][0]);
	grid_release(&g);
	free(cells);
	return ok;
}

bool stats_age_groups_hidden(const bool hidden[][3], bool group[3])
{
	group[0] = group[1] = group[2] = false;
	for (int a = 0; a < AGES; a++)
		group[a < 15 ? 0 : a < 65 ? 1 : 2] |= hidden[a][2];
	/* one group alone is the total minus the others: hidden for nothing
	 * (its hidden years add up to what POSAS's total gives already) */
	bool any = group[0] || group[1] || group[2];
	if (group[0] + group[1] + group[2] == 1)
		group[0] = group[1] = group[2] = false;
	return any;
}

/* Foreign residents by citizenship and sex: a row per state (codes
 * states[i], counts n[i] women, men), then the total (999, STRASA's
 * total row); labels from rd when not NULL. */
static bool fill_citizenship(struct grid *g, int nst, const char (*states)[4],
			     const long long (*n)[2], const struct refdata *rd, const char *code,
			     const char *name)
{
	if (!grid_init(g, nst + 1, 3, 4))
		return false;
	static const int mft[] = {0, 1, 2};
	for (int i = 0; i <= nst; i++) {
		const struct ref_stato *st = i < nst && rd ? refdata_stato_by_istat(rd, states[i]) : NULL;
		const char *state = i < nst ? (states ? states[i] : "") : "999";
		const char *lab[] = {code, name, state, i < nst ? (st ? st->name : state) : "Totale"};
		for (int k = 0; k < 4; k++)
			set_label(g, i, k, lab[k]);
		if (i < nst) {
			*at(g, i, 0) = n[i][1];
			*at(g, i, 1) = n[i][0];
			*at(g, i, 2) = n[i][0] + n[i][1];
			for (int c = 0; c < 3; c++)
				*at(g, nst, c) += *at(g, i, c);
		}
		eq_row(g, i, mft, 3);
	}
	for (int c = 0; c < 3; c++)
		eq_col(g, c, 0, nst, 1);
	/* the foreign residents by sex: in every table */
	set_known(g, nst, mft, 3);
	return true;
}

/* Foreign residents by citizenship, sex and age: a block of ages per
 * state, then the block of all states (999 Totale); every age is also an
 * identity over the states. */
static bool fill_citizenship_ages(struct grid *g, struct on_date *a, const struct refdata *rd,
				  const char *code, const char *name)
{
	int block = AGES + 1;
	if (!grid_init(g, (a->nst + 1) * block, 3, 5))
		return false;
	long long total[2][AGES];
	memset(total, 0, sizeof total);
	for (int i = 0; i <= a->nst; i++) {
		const struct ref_stato *st = i < a->nst && rd ? refdata_stato_by_istat(rd, a->st[i].code) : NULL;
		const char *lab[] = {code, name, i < a->nst ? a->st[i].code : "999",
				     i < a->nst ? (st ? st->name : a->st[i].code) : "Totale"};
		for (int sx = 0; i < a->nst && sx < 2; sx++)
			for (int k = 0; k < AGES; k++)
				total[sx][k] += a->st[i].age[sx][k];
		age_block(g, i * block, i < a->nst ? a->st[i].age : total, lab, 4);
	}
	for (int r = 0; r < block; r++)
		for (int c = 0; c < 3; c++)
			eq_col(g, c, r, a->nst * block + r, block);
	static const int mft[] = {0, 1, 2};
	set_known(g, a->nst * block + AGES, mft, 3);
	return true;
}

/* nm members' tables of g's shape (cells[k * n + i], n its cells; its
 * known cells and identities: each column adds up to its last row, each
 * row to its last column when rows_add_up) by stats_protect_linked, the
 * cells given (may be NULL) as given_hidden says, the province's cells
 * corners of cubes too (its own protection of a table by type or by
 * citizenship leaves small cells an exact attacker determines); one
 * member alone is the province, protected alone, every small hidden cell
 * then in a rectangle of hidden cells when rows and columns both add up
 * (lone_squares).  False when out of memory. */
static bool grid_linked(const struct grid *g, const long long *cells, int nm, bool rows_add_up,
			const bool *given, const bool *given_hidden, int threshold,
			bool *province_hidden, bool *hidden)
{
	size_t n = (size_t)g->rows * (size_t)g->cols;
	if (g->oom || nm < 1)
		return false;
	if (nm == 1) {
		if (given_hidden)
			memcpy(hidden, given_hidden, n * sizeof *hidden);
		stats_protect_fixed(cells, NULL, g->known, given, hidden, (int)n, g->eq_cells, g->eq_len,
				    g->neq, threshold);
		/* then no small cell determined by the table as a whole: its
		 * rectangles, the lines protected again around them (the cells
		 * hidden so far fixed) */
		bool *fixed = rows_add_up ? malloc(n * sizeof *fixed) : NULL;
		if (rows_add_up && !fixed)
			return false;
		while (rows_add_up && lone_squares(cells, g->known, given, hidden, g->rows, g->cols,
						   threshold)) {
			for (size_t i = 0; i < n; i++)
				fixed[i] = hidden[i] || (given && given[i]);
			stats_protect_fixed(cells, NULL, g->known, fixed, hidden, (int)n, g->eq_cells,
					    g->eq_len, g->neq, threshold);
		}
		free(fixed);
		memcpy(province_hidden, hidden, n * sizeof *hidden);
		return true;
	}
	long long *province = malloc(n * sizeof *province);
	bool ok = province && protect_linked_table(cells, nm, g->rows, g->cols, rows_add_up, true,
						   true, g->known, given, given_hidden, g->eq_cells,
						   g->eq_len, g->neq, threshold, province,
						   province_hidden, hidden);
	free(province);
	return ok;
}

bool stats_households_protect_linked(const long long (*n)[STATS_TYPES][STATS_SIZES], int nm,
				     bool by_type, int threshold, bool *province_hidden,
				     bool *hidden)
{
	enum { FN = 7, TN = (TIPI + 1) * 7 };
	struct grid g;
	memset(&g, 0, sizeof g);
	size_t nb = nm > 0 ? (size_t)nm + 1 : 0;
	long long *cells = malloc(nb * TN * sizeof *cells);
	bool *fh = malloc(nb * FN * sizeof *fh);
	bool *given = calloc(nb * TN, sizeof *given), *given_h = calloc(nb * TN, sizeof *given_h);
	bool ok = nm > 0 && cells && fh && given && given_h;
	/* famiglie, then (by type) the table by type, its total row
	 * famiglie's column: given, hidden as famiglie hides it */
	for (int pass = 0; ok && pass <= (int)by_type; pass++) {
		int cn = pass ? TN : FN;
		for (int k = 0; ok && k < nm; k++) {
			grid_release(&g);
			ok = fill_households(&g, (const long long(*)[STATS_SIZES])n[k], pass, "", "") &&
			     !g.oom;
			if (ok)
				memcpy(&cells[(size_t)k * (size_t)cn], g.v, (size_t)cn * sizeof *cells);
		}
		for (size_t b = 0; pass && b < nb; b++)
			for (int c = 0; c < 7; c++) {
				given[b * TN + TIPI * 7 + (size_t)c] = true;
				given_h[b * TN + TIPI * 7 + (size_t)c] = fh[b * FN + (size_t)c];
			}
		bool last = pass == (int)by_type;
		ok = ok && grid_linked(&g, cells, nm, pass, pass ? given : NULL, pass ? given_h : NULL,
				       threshold, last ? province_hidden : &fh[(size_t)nm * FN],
				       last ? hidden : fh);
	}
	grid_release(&g);
	free(cells);
	free(fh);
	free(given);
	free(given_h);
	return ok;
}

bool stats_citizenship_protect_linked(const long long (*n)[2], int nm, int nst, int threshold,
				      bool *province_hidden, bool *hidden)
{
	size_t cn = ((size_t)nst + 1) * 3, nb = nm > 0 ? (size_t)nm + 1 : 0;
	struct grid g;
	memset(&g, 0, sizeof g);
	long long *cells = malloc(nb * cn * sizeof *cells);
	bool ok = nm > 0 && cells;
	for (int k = 0; ok && k < nm; k++) {
		const long long(*mine)[2] = &n[(size_t)k * (size_t)nst];
		grid_release(&g);
		ok = fill_citizenship(&g, nst, NULL, mine, NULL, "", "") && !g.oom;
		if (ok)
			memcpy(&cells[(size_t)k * cn], g.v, cn * sizeof *cells);
	}
	ok = ok && grid_linked(&g, cells, nm, true, NULL, NULL, threshold, province_hidden, hidden);
	grid_release(&g);
	free(cells);
	return ok;
}

/* The key of stats_citizenship_ages_protect_linked's result in a cache:
 * the SHA-256 of exactly its inputs. */
static void cite_key(const long long (*age)[2][STATS_AGES], int nm, int nst,
		     bool (*ages_hidden)[STATS_AGES + 1][3], const bool *cit_hidden, int threshold,
		     unsigned char key[STATS_CACHE_KEY])
{
	static const char tag[] = "strasa_cittadinanza_eta linked protection";
	/* the algorithm's version: a protection kept by an earlier release
	 * (in the store, across restarts) is not served by a later one that
	 * hides other cells */
	int32_t dims[5] = {nm, nst, threshold, STATS_CITE_VERSION, STATS_PROTECTION_RULE};
	size_t nb = (size_t)nm + 1;
	crypto_hash_sha256_state h;
	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, (const unsigned char *)tag, sizeof tag);
	crypto_hash_sha256_update(&h, (const unsigned char *)dims, sizeof dims);
	crypto_hash_sha256_update(&h, (const unsigned char *)age,
				  (size_t)nm * (size_t)nst * sizeof *age);
	crypto_hash_sha256_update(&h, (const unsigned char *)ages_hidden, nb * sizeof *ages_hidden);
	crypto_hash_sha256_update(&h, (const unsigned char *)cit_hidden,
				  nb * ((size_t)nst + 1) * 3 * sizeof *cit_hidden);
	crypto_hash_sha256_final(&h, key);
}

static vis_err cite_protect(const long long (*age)[2][STATS_AGES], int nm, int nst,
			    bool (*ages_hidden)[STATS_AGES + 1][3], bool *cit_hidden, int threshold,
			    bool *province_hidden, bool *hidden, const struct stop_ask *stop,
			    struct vis_error *e);

/* Member k's strasa_cittadinanza_eta as a grid (g released first; a is
 * scratch).  False when out of memory. */
static bool cite_member_grid(struct grid *g, struct on_date *a,
			     const long long (*age)[2][STATS_AGES], int k, int nst)
{
	grid_release(g);
	memset(a, 0, sizeof *a);
	a->nst = nst;
	for (int i = 0; i < nst; i++)
		memcpy(a->st[i].age, age[(size_t)k * (size_t)nst + (size_t)i], sizeof a->st[i].age);
	return fill_citizenship_ages(g, a, NULL, "", "") && !g->oom;
}

/* The inputs and the masks the store filled, for cite_plausible. */
struct cite_check {
	const long long (*age)[2][STATS_AGES];
	int nm, nst;
	const bool *was;
	bool (*ages_hidden)[STATS_AGES + 1][3];
	const bool *cit_hidden;
	int threshold;
	const bool *province_hidden, *hidden;
};

/* Whether masks the store gave could be this protection's: every cell
 * given hidden (was: ages_hidden then cit_hidden as given) still hidden,
 * a protection only hides more, and every count of 1 to threshold-1 of
 * each member and of the province hidden, every table's first rule.  Not
 * a proof (the audit is), but a row of the store changed to show a small
 * count is not served (stats/cache.h: the store checks its digest).
 * False too when out of memory: computed. */
static bool cite_plausible(void *ctx)
{
	const struct cite_check *c = ctx;
	const long long (*age)[2][STATS_AGES] = c->age;
	int nm = c->nm, nst = c->nst, threshold = c->threshold;
	const bool *was = c->was, *cit_hidden = c->cit_hidden, *hidden = c->hidden;
	bool (*ages_hidden)[STATS_AGES + 1][3] = c->ages_hidden;
	const bool *province_hidden = c->province_hidden;
	size_t nb = (size_t)nm + 1, na = nb * (AGES + 1) * 3, nc = nb * ((size_t)nst + 1) * 3;
	size_t cn = ((size_t)nst + 1) * (AGES + 1) * 3;
	for (size_t i = 0; i < na; i++)
		if (was[i] && !(&ages_hidden[0][0][0])[i])
			return false;
	for (size_t i = 0; i < nc; i++)
		if (was[na + i] && !cit_hidden[i])
			return false;
	struct grid g;
	memset(&g, 0, sizeof g);
	struct on_date *a = malloc(sizeof *a);
	long long *province = calloc(cn, sizeof *province);
	bool ok = a && province;
	for (int k = 0; ok && k < nm; k++) {
		ok = cite_member_grid(&g, a, age, k, nst);
		for (size_t q = 0; ok && q < cn; q++) {
			province[q] += g.v[q];
			ok = !(g.v[q] > 0 && g.v[q] < threshold) || hidden[(size_t)k * cn + q];
		}
	}
	for (size_t q = 0; ok && q < cn; q++)
		ok = !(province[q] > 0 && province[q] < threshold) || province_hidden[q];
	grid_release(&g);
	free(a);
	free(province);
	return ok;
}

vis_err stats_citizenship_ages_protect_linked(const long long (*age)[2][STATS_AGES], int nm,
					      int nst, bool (*ages_hidden)[STATS_AGES + 1][3],
					      bool *cit_hidden, int threshold, bool *province_hidden,
					      bool *hidden, struct stats_cache *cache,
					      struct store *keep, const struct stop_ask *stop,
					      struct vis_error *e)
{
	if (nm < 1 || nst < 0 || nst > MAX_STATES)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	size_t nb = (size_t)nm + 1, cn = ((size_t)nst + 1) * (AGES + 1) * 3;
	unsigned char key[STATS_CACHE_KEY];
	/* what it returns: every mask it writes */
	const struct stats_cache_part out[] = {
		{province_hidden, cn},
		{hidden, (size_t)nm * cn},
		{&ages_hidden[0][0][0], nb * (AGES + 1) * 3},
		{cit_hidden, nb * ((size_t)nst + 1) * 3},
	};
	int np = (int)(sizeof out / sizeof *out);
	size_t na = nb * (AGES + 1) * 3, nc = nb * ((size_t)nst + 1) * 3;
	/* the given masks as given: the check of what the store gives, and
	 * what a refused one leaves is put back */
	bool *was = cache ? malloc((na + nc) * sizeof *was) : NULL;
	bool kept = was != NULL;
	if (was) {
		memcpy(was, &ages_hidden[0][0][0], na * sizeof *was);
		memcpy(&was[na], cit_hidden, nc * sizeof *was);
		cite_key(age, nm, nst, ages_hidden, cit_hidden, threshold, key);
		struct cite_check ck = {age, nm, nst, was, ages_hidden, cit_hidden, threshold,
					province_hidden, hidden};
		if (stats_cache_get(cache, keep, key, out, np, cite_plausible, &ck)) {
			free(was);
			return VIS_OK;
		}
		memcpy(&ages_hidden[0][0][0], was, na * sizeof *was);
		memcpy(cit_hidden, &was[na], nc * sizeof *was);
	}
	free(was);
	vis_err rc = cite_protect(age, nm, nst, ages_hidden, cit_hidden, threshold, province_hidden,
				  hidden, stop, e);
	if (!rc && kept)
		stats_cache_put(cache, key, out, np);
	return rc;
}

static vis_err cite_protect(const long long (*age)[2][STATS_AGES], int nm, int nst,
			    bool (*ages_hidden)[STATS_AGES + 1][3], bool *cit_hidden, int threshold,
			    bool *province_hidden, bool *hidden, const struct stop_ask *stop,
			    struct vis_error *e)
{
	enum { B = AGES + 1 };
	size_t R = ((size_t)nst + 1) * B, cn = R * 3, nb = nm > 0 ? (size_t)nm + 1 : 0;
	struct grid g;
	memset(&g, 0, sizeof g);
	struct on_date *a = malloc(sizeof *a);
	long long *cells = malloc((nb ? nb : 1) * cn * sizeof *cells);
	bool *given = calloc(nb * cn, sizeof *given), *given_h = calloc(nb * cn, sizeof *given_h);
	long long *province = malloc(cn * sizeof *province);
	bool ok = nm > 0 && nst >= 0 && nst <= MAX_STATES && a && cells && given && given_h && province;
	vis_err rc = VIS_OK;
	for (int k = 0; ok && k < nm; k++) {
		ok = cite_member_grid(&g, a, age, k, nst);
		if (ok)
			memcpy(&cells[(size_t)k * cn], g.v, cn * sizeof *cells);
	}
	/* STRASA's cells (the block of all states) hidden as its linked
	 * protection hides them, each state's total row as
	 * strasa_cittadinanza's: given, the members' then the province's */
	for (size_t b = 0; ok && b < nb; b++)
		for (size_t r = 0; r < R; r++)
			for (int x = 0; x < 3; x++) {
				size_t st = r / B, at_age = r % B, q = b * cn + r * 3 + (size_t)x;
				if (st == (size_t)nst) {
					given[q] = true;
					given_h[q] = ages_hidden[b][at_age][x];
				} else if (at_age == AGES) {
					given[q] = true;
					given_h[q] = cit_hidden[b * ((size_t)nst + 1) * 3 + st * 3 + (size_t)x];
				}
			}
	if (!ok)
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	if (!rc && nm == 1) {
		/* the province is that municipality, protected alone, then
		 * audited as one table */
		memcpy(hidden, given_h, cn * sizeof *hidden);
		stats_protect_fixed(cells, NULL, g.known, given, hidden, (int)cn, g.eq_cells, g.eq_len,
				    g.neq, threshold);
		long long *low = cite_low(cells, 1, nst + 1, B);
		rc = low ? cite_audit(cells, low, g.known, 1, nst + 1, B, hidden, g.eq_cells, g.eq_len,
				      g.neq, threshold, stop, e)
			 : vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
		free(low);
		memcpy(province_hidden, hidden, cn * sizeof *hidden);
	} else if (!rc) {
		rc = protect_linked(cells, NULL, nm, (int)R, 3, NULL, true, true, B, g.known, given,
				    given_h, g.eq_cells, g.eq_len, g.neq, threshold, province,
				    province_hidden, hidden, stop, e);
	}
	/* the cells of STRASA and strasa_cittadinanza the audit hid too */
	for (size_t b = 0; !rc && b < nb; b++) {
		const bool *h = b < (size_t)nm ? &hidden[b * cn] : province_hidden;
		for (size_t r = 0; r < R; r++)
			for (int x = 0; x < 3; x++) {
				size_t st = r / B, at_age = r % B, q = r * 3 + (size_t)x;
				if (st == (size_t)nst)
					ages_hidden[b][at_age][x] = h[q];
				else if (at_age == AGES)
					cit_hidden[b * ((size_t)nst + 1) * 3 + st * 3 + (size_t)x] = h[q];
			}
	}
	grid_release(&g);
	free(a);
	free(cells);
	free(given);
	free(given_h);
	free(province);
	return rc;
}

/* The residents by sex, single year of age and civil status: a row per
 * age then the total (999), labels code, name, age; columns
 * STATS_CIVIL_COLS (the classes of men, Totale maschi, of women, Totale
 * femmine, Totale).  Every row and column an identity; the totals by sex
 * and the total are POSAS's cells, the total row's the population by sex
 * (known). */
static bool fill_civil(struct grid *g, const long long civil[2][STATS_CIVIL][AGES],
		       const char *code, const char *name)
{
	enum { C = STATS_CIVIL_COLS, M_TOT = STATS_CIVIL, F_TOT = 2 * STATS_CIVIL + 1, TOT = C - 1 };
	if (!grid_init(g, AGES + 1, C, 3))
		return false;
	for (int r = 0; r <= AGES; r++) {
		char a[12];
		snprintf(a, sizeof a, "%d", r < AGES ? r : 999);
		set_label(g, r, 0, code);
		set_label(g, r, 1, name);
		set_label(g, r, 2, a);
		for (int x = 0; r < AGES && x < STATS_CIVIL; x++) {
			*at(g, r, x) = civil[1][x][r];
			*at(g, r, M_TOT) += civil[1][x][r];
			*at(g, r, M_TOT + 1 + x) = civil[0][x][r];
			*at(g, r, F_TOT) += civil[0][x][r];
		}
		*at(g, r, TOT) = *at(g, r, M_TOT) + *at(g, r, F_TOT);
		for (int c = 0; r < AGES && c < C; c++)
			*at(g, AGES, c) += *at(g, r, c);
		int men[STATS_CIVIL + 1], women[STATS_CIVIL + 1];
		for (int x = 0; x <= STATS_CIVIL; x++) {
			men[x] = x;
			women[x] = M_TOT + 1 + x;
		}
		const int mft[] = {M_TOT, F_TOT, TOT};
		eq_row(g, r, men, STATS_CIVIL + 1);
		eq_row(g, r, women, STATS_CIVIL + 1);
		eq_row(g, r, mft, 3);
	}
	for (int c = 0; c < C; c++)
		eq_col(g, c, 0, AGES, 1);
	/* the residents by sex: in every table */
	const int mft[] = {M_TOT, F_TOT, TOT};
	set_known(g, AGES, mft, 3);
	return true;
}

/* The column of POSAS (men, women, total) that stato_civile's column c
 * is, -1 for a class. */
static int civil_posas_col(int c)
{
	return c == STATS_CIVIL ? 0 : c == 2 * STATS_CIVIL + 1 ? 1 : c == STATS_CIVIL_COLS - 1 ? 2 : -1;
}

/* What hiding class k of a sex (its first column col0) on the rectangle
 * bl x rw costs (its cells not yet hidden: persons * 64 + 1 each), -1 when
 * a cell is given published; *diag the diagonals whose two cells count 1
 * or more (bit 0: (bl[0], rw[0]) and (bl[1], rw[1]); bit 1: the other). */
static long long margin_class_cost(const long long *v, const bool *gv, const bool *gh,
				   const int bl[2], const int rw[2], int col, int *diag)
{
	enum { C = STATS_CIVIL_COLS, CN = (AGES + 1) * C };
	long long c = 0;
	*diag = 3;
	for (int x = 0; x < 4; x++) {
		size_t q = (size_t)bl[x & 1] * CN + (size_t)(rw[x >> 1] * C + col);
		if (gv[q] && !gh[q])
			return -1;
		if (!gh[q])
			c += (v[q] < 0 ? -v[q] : v[q]) * 64 + 1;
		if (v[q] < 1)
			*diag &= ~(1 << ((x & 1) ^ (x >> 1)));
	}
	return c;
}

/* The cheapest classes of a sex (columns col0 ..) to follow a move on the
 * rectangle bl x rw: one class with both diagonals 1 or more, or two, one
 * for each, so that the move is free both ways; else, ZERO_CORNER more
 * for each way it is stopped, the cheapest there is.  out[0], out[1] the
 * classes (out[1] -1 when one).  Their cost, -1 when there are none. */
static long long margin_classes(const long long *v, const bool *gv, const bool *gh,
				const int bl[2], const int rw[2], int col0, int out[2])
{
	long long cost[STATS_CIVIL];
	int diag[STATS_CIVIL];
	long long best = -1;
	for (int k = 0; k < STATS_CIVIL; k++)
		cost[k] = margin_class_cost(v, gv, gh, bl, rw, col0 + k, &diag[k]);
	for (int k = 0; k < STATS_CIVIL; k++)
		for (int k2 = k; k2 < STATS_CIVIL; k2++) {
			if (cost[k] < 0 || cost[k2] < 0)
				continue;
			int both = diag[k] | diag[k2];
			long long c = cost[k] + (k2 == k ? 0 : cost[k2]) +
				      ZERO_CORNER * (!(both & 1) + !(both & 2));
			if (best < 0 || c < best) {
				best = c;
				out[0] = k;
				out[1] = k2 == k ? -1 : k2;
			}
		}
	return best;
}

/* The classes under POSAS's small hidden cells (stato_civile's margin,
 * given as POSAS hides them: gh over nb blocks of R x STATS_CIVIL_COLS
 * cells v): POSAS's linked protection leaves each such cell a rectangle
 * of hidden cells (two blocks, two ages, its column and another of
 * POSAS's), which the classes must follow, or an age's classes give the
 * cell back.  For each, the cheapest such rectangle (the fewest persons,
 * then cells) and, for each sex whose total it moves, the classes whose
 * cells cost least (never one with a cell given published, gv but not
 * gh: a class the province counts 0): those cells hidden, given (*gv), so
 * that +-1 on the rectangle and on those classes keeps every identity.
 * Both ways: a count is never negative, so +1 takes one from the cells
 * of one diagonal of the move and -1 from the other's.  A move free both
 * ways first (as lone_squares): every cell of the rectangle 1 at least,
 * and so each diagonal of the classes it takes, one class with its four
 * cells 1 or more or two, one for each diagonal (margin_classes; issue
 * #17: a member's POSAS count was pinned by classes the move took from a
 * 0, free one way only). */
static void civil_margin_cubes(const long long *v, bool *gv, bool *gh, int nb, int nm,
			       int threshold)
{
	enum { C = STATS_CIVIL_COLS, R = AGES + 1, CN = R * C };
	static const int mcol[3] = {STATS_CIVIL, 2 * STATS_CIVIL + 1, C - 1};
	for (int b = 0; b < nb; b++)
		for (int r = 0; r < R; r++)
			for (int m = 0; m < 3; m++) {
				size_t p = (size_t)b * CN + (size_t)(r * C + mcol[m]);
				if (!gh[p] || v[p] <= 0 || v[p] >= threshold)
					continue;
				long long best = -1;
				int bx[2][2] = {{-1, -1}, {-1, -1}};
				int br = 0, bm = 0, bb = 0;
				/* (the first corners hoisted out of the inner loops, a
				 * candidate dropped once it costs the best, the search
				 * ended at a cost of 0: the same rectangle, faster) */
				for (int b2 = 0; b2 < nm && best; b2++)
					for (int r2 = 0; r2 < R && b2 != b && best &&
							 gh[(size_t)b2 * CN + (size_t)(r * C + mcol[m])];
					     r2++)
						for (int m2 = 0; m2 < 3 && r2 != r && best; m2++) {
							if (m2 == m)
								continue;
							int bl[2] = {b, b2}, rw[2] = {r, r2}, mc[2] = {m, m2};
							bool ok = true, zero = false;
							for (int x = 1; x < 8 && ok; x++) {
								size_t q = (size_t)bl[x & 1] * CN +
									   (size_t)(rw[(x >> 1) & 1] * C +
										    mcol[mc[x >> 2]]);
								ok = gh[q];
								zero = zero || v[q] < 1;
							}
							if (!ok)
								continue;
							/* the sexes whose total moves: their classes,
							 * none with a cell given published; a
							 * rectangle with a 0 stopped both ways at most */
							long long cost = zero ? 2 * ZERO_CORNER : 0;
							int cls[2][2] = {{-1, -1}, {-1, -1}};
							for (int sx = 0; sx < 2 && cost >= 0 && (best < 0 || cost < best);
							     sx++) {
								if (m != sx && m2 != sx)
									continue;
								long long bc = margin_classes(v, gv, gh, bl, rw,
											      sx * (STATS_CIVIL + 1),
											      cls[sx]);
								cost = bc < 0 ? -1 : cost + bc;
							}
							if (cost >= 0 && (best < 0 || cost < best)) {
								best = cost;
								bb = b2;
								br = r2;
								bm = m2;
								memcpy(bx, cls, sizeof bx);
							}
						}
				if (best < 0)
					continue;
				int bl[2] = {b, bb}, rw[2] = {r, br};
				for (int sx = 0; sx < 2; sx++) {
					if (m != sx && bm != sx)
						continue;
					for (int d = 0; d < 2; d++) {
						if (bx[sx][d] < 0)
							continue;
						int col = sx * (STATS_CIVIL + 1) + bx[sx][d];
						for (int x = 0; x < 4; x++) {
							size_t q = (size_t)bl[x & 1] * CN +
								   (size_t)(rw[x >> 1] * C + col);
							gv[q] = gh[q] = true;
						}
					}
				}
			}
}

bool stats_civil_protect_linked(const long long (*n)[2][STATS_CIVIL][STATS_AGES], int nm,
				const bool (*ages_hidden)[STATS_AGES + 1][3],
				const bool ages_province_hidden[][3], int threshold,
				bool *province_hidden, bool *hidden)
{
	enum { C = STATS_CIVIL_COLS, R = AGES + 1, CN = R * C };
	size_t nb = nm > 0 ? (size_t)nm + 1 : 0;
	struct grid g;
	memset(&g, 0, sizeof g);
	long long *cells = malloc((nb ? nb : 1) * CN * sizeof *cells);
	bool *given = calloc(nb * CN, sizeof *given), *given_h = calloc(nb * CN, sizeof *given_h);
	signed char *pairs = calloc(C * C, sizeof *pairs);
	long long *province = malloc(CN * sizeof *province);
	bool ok = nm > 0 && cells && given && given_h && pairs && province;
	for (int k = 0; ok && k < nm; k++) {
		grid_release(&g);
		ok = fill_civil(&g, n[k], "", "") && !g.oom;
		if (ok)
			memcpy(&cells[(size_t)k * CN], g.v, CN * sizeof *cells);
	}
	/* POSAS's cells, the margin: hidden as its linked protection hides
	 * them, the members' then the province's */
	for (size_t b = 0; ok && b < nb; b++)
		for (int r = 0; r < R; r++)
			for (int c = 0; c < C; c++) {
				int x = civil_posas_col(c);
				if (x < 0)
					continue;
				given[b * CN + (size_t)(r * C + c)] = true;
				given_h[b * CN + (size_t)(r * C + c)] =
					b < (size_t)nm ? ages_hidden[b][r][x] : ages_province_hidden[r][x];
			}
	/* the province's cells: the members' sum */
	for (int k = 0; ok && k < nm; k++)
		for (int i = 0; i < CN; i++)
			cells[(size_t)nm * CN + (size_t)i] =
				(k ? cells[(size_t)nm * CN + (size_t)i] : 0) + cells[(size_t)k * CN + (size_t)i];
	/* a class the province counts 0 (so every member): published,
	 * given, in every block.  Hidden in a member it would protect
	 * nothing -- the province's 0 says it is 0, counts are never negative
	 * (issue #17: a member's hidden POSAS cell was its published classes
	 * plus such zeros) -- and hiding the province's 0 with it would not
	 * help either: the cells hidden in the province's row would still
	 * add up to 0 and be 0 each.  So the complements are taken among the
	 * others (fewer cells hidden than hiding the zeros and a non-zero
	 * cell of the province's besides). */
	for (int i = 0; ok && nm > 1 && i < CN; i++)
		if (civil_posas_col(i % C) < 0 && cells[(size_t)nm * CN + (size_t)i] == 0)
			for (size_t b = 0; b < nb; b++) {
				given[b * CN + (size_t)i] = true;
				given_h[b * CN + (size_t)i] = false;
			}
	if (ok && nm > 1)
		civil_margin_cubes(cells, given, given_h, (int)nb, nm, threshold);
	if (ok && nm == 1) {
		memcpy(hidden, given_h, CN * sizeof *hidden);
		stats_protect_fixed(cells, NULL, g.known, given, hidden, CN, g.eq_cells, g.eq_len, g.neq,
				    threshold);
		memcpy(province_hidden, hidden, CN * sizeof *hidden);
	} else if (ok) {
		/* a cube's two columns: two classes of the same sex (+-1 on
		 * both keeps the row's totals, POSAS's cells) */
		for (int a = 0; a < C; a++)
			for (int b = 0; b < C; b++)
				pairs[a * C + b] = (signed char)-(a != b && civil_posas_col(a) < 0 &&
								  civil_posas_col(b) < 0 &&
								  (a < STATS_CIVIL) == (b < STATS_CIVIL));
		ok = !protect_linked(cells, NULL, nm, R, C, pairs, true, true, 0, g.known, given,
				     given_h, g.eq_cells, g.eq_len, g.neq, threshold, province,
				     province_hidden, hidden, NULL, NULL);
	}
	grid_release(&g);
	free(cells);
	free(given);
	free(given_h);
	free(pairs);
	free(province);
	return ok;
}

/* ------------------------------------------------------------ a whole province */

struct siblings {
	char prefix[4];
	char (*code)[8];
	size_t n, cap;
	bool oom;
};

static int add_sibling(void *ctx, const char *comune, int64_t first, int64_t last)
{
	(void)first;
	(void)last;
	struct siblings *sb = ctx;
	if (strncmp(comune, sb->prefix, 3) || strlen(comune) >= sizeof *sb->code)
		return 0;
	if (!grow((void **)&sb->code, &sb->cap, sb->n, sizeof *sb->code, 64)) {
		sb->oom = true;
		return 1;
	}
	STR_COPY_KNOWN(sb->code[sb->n++], comune);   /* its length checked above */
	return 0;
}

static int cmp_code8(const void *x, const void *y)
{
	return strcmp(x, y);
}

/* The municipalities of comune's province the register has imported,
 * in code order, into sb (sb->code the caller's: NULL when none). */
static vis_err province_members(struct store *s, const char *comune, struct siblings *sb,
				struct vis_error *e)
{
	STR_FMT_KNOWN(sb->prefix, "%.3s", comune); /* its precision bounds it */
	vis_err rc = store_import_span_each(s, add_sibling, sb, e);
	if (!rc && sb->oom)
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	if (rc || !sb->n) {
		free(sb->code);
		sb->code = NULL;
		sb->n = 0;
		return rc;
	}
	qsort(sb->code, sb->n, sizeof *sb->code, cmp_code8);
	return VIS_OK;
}

/* The index of comune among code[0..n), -1 when not one of them. */
static int code_find(const char (*code)[8], int n, const char *comune)
{
	for (int k = 0; k < n; k++)
		if (!strcmp(code[k], comune))
			return k;
	return -1;
}

/* True when comuni (comma-separated) names exactly the n municipalities
 * code[] (n > 1): the whole province. */
static bool province_whole(const char (*code)[8], int n, const char *comuni)
{
	int found = 0;
	for (const char *p = comuni; *p;) {
		size_t len = strcspn(p, ",");
		char c[8];
		if (len >= sizeof c)
			return false;
		STR_FMT_KNOWN(c, "%.*s", (int)len, p); /* len < sizeof c, checked above */
		if (code_find(code, n, c) < 0)
			return false;
		found++;
		p += len + (p[len] == ',');
	}
	return n > 1 && found == n;
}

/* stats_ages_linked, the counts of member `known` (may be NULL) given:
 * known_age, as its pass would count them (a table by place counts them
 * in its own pass: the municipality read once). */
static vis_err ages_linked(struct store *s, const char *comune, int on, bool foreign, int threshold,
			   const char *known, const long long known_age[2][AGES],
			   struct stats_linked_ages *l, struct vis_error *e)
{
	memset(l, 0, sizeof *l);
	struct siblings sb = {0};
	vis_err rc = province_members(s, comune, &sb, e);
	if (rc || !sb.n)
		return rc;
	l->nm = (int)sb.n;
	l->code = sb.code;
	l->age = calloc(sb.n, sizeof *l->age);
	l->hidden = calloc(sb.n, sizeof *l->hidden);
	struct on_date *a = malloc(sizeof *a);
	struct stats_table_query *q = calloc(1, sizeof *q);
	if (!l->age || !l->hidden || !a || !q)
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	for (size_t k = 0; !rc && k < sb.n; k++) {
		if (known && !strcmp(sb.code[k], known)) {
			memcpy(l->age[k], known_age, sizeof l->age[k]);
			continue;
		}
		q->table = foreign ? STATS_STRASA : STATS_POSAS;
		str_copy_known(q->comuni, sizeof q->comuni, sb.code[k], __FILE__, __LINE__);
		memset(a, 0, sizeof *a);
		a->q = q;
		a->on = on;
		rc = store_person_each_at(s, sb.code[k], on, add_resident, a, e);
		memcpy(l->age[k], a->age, sizeof a->age);
	}
	free(a);
	free(q);
	if (!rc)
		rc = stats_linked_ages_protect(l, threshold, e);
	if (rc)
		stats_linked_ages_release(l);
	return rc;
}

vis_err stats_ages_linked(struct store *s, const char *comune, int on, bool foreign, int threshold,
			  struct stats_linked_ages *l, struct vis_error *e)
{
	return ages_linked(s, comune, on, foreign, threshold, NULL, NULL, l, e);
}

const struct store_person *stats_record_resident(const struct stats_record *r, int on, int *age)
{
	const struct store_person *v = stats_record_at(r, on);
	if (!stats_version_resident(v, on))
		return NULL;
	*age = date_age(v->birth_date, on);
	return *age < 0 ? NULL : v;
}

vis_err stats_linked_ages_protect(struct stats_linked_ages *l, int threshold, struct vis_error *e)
{
	if (!l->hidden && !(l->hidden = calloc((size_t)l->nm, sizeof *l->hidden)))
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	/* one municipality imported: the province is that municipality, and
	 * its table is protected alone */
	if (!(l->nm == 1 ? stats_ages_protect((const long long(*)[AGES])l->age[0], threshold,
					      l->hidden[0])
			 : stats_ages_protect_linked((const long long(*)[2][AGES])l->age, l->nm,
						     threshold, l->province_hidden, l->hidden)))
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	if (l->nm == 1)
		memcpy(l->province_hidden, l->hidden[0], sizeof l->province_hidden);
	return VIS_OK;
}

void stats_linked_ages_release(struct stats_linked_ages *l)
{
	free(l->code);
	free(l->age);
	free(l->hidden);
	memset(l, 0, sizeof *l);
}

int stats_linked_ages_find(const struct stats_linked_ages *l, const char *comune)
{
	return code_find((const char(*)[8])l->code, l->nm, comune);
}

/* Counting a province's balance by month: member k's months from
 * v[k * nmo]. */
struct linked_count {
	int nmo, k;
	const int *dal, *al;
	long long (*v)[3][STATS_B_COLS];
};

static int add_linked_record(void *ctx, const struct stats_record *r)
{
	struct linked_count *c = ctx;
	stats_balance_month_count(r, c->nmo, c->dal, c->al, &c->v[(size_t)c->k * (size_t)c->nmo]);
	return 0;
}

/* The periods of a yearly balance from its months (mdal, mv, mh: nmo of
 * them, of member block `from` to `to`): each year the sum of its months
 * (start + flows = end telescopes), a cell hidden where one of its months
 * hides it (the start: the first month's, the end: the last one's). */
static void linked_years(int np, const int *al, int nmo, const int *mal,
			 const long long (*mv)[3][STATS_B_COLS], const bool (*mh)[3][STATS_B_COLS],
			 long long (*v)[3][STATS_B_COLS], bool (*h)[3][STATS_B_COLS])
{
	for (int p = 0, m = 0; p < np; p++) {
		memset(v[p], 0, sizeof v[p]);
		memset(h[p], 0, sizeof h[p]);
		for (int first = m; m < nmo && mal[m] <= al[p]; m++) {
			bool last = m + 1 == nmo || mal[m + 1] > al[p];
			for (int sx = 0; sx < 3; sx++)
				for (int c = 0; c < STATS_B_COLS; c++) {
					if (c == STATS_B_START && m != first)
						continue;
					if (c == STATS_B_END && !last)
						continue;
					if (c != STATS_B_NATURAL && c != STATS_B_MIGR)
						v[p][sx][c] += mv[m][sx][c];
					h[p][sx][c] = h[p][sx][c] || mh[m][sx][c];
				}
		}
		for (int sx = 0; sx < 3; sx++)
			stats_balance_close(v[p][sx]);
	}
}

vis_err stats_balance_linked(struct store *s, const char *comune, int from, int to, bool yearly,
			     int threshold, struct stats_linked_balance *l, struct vis_error *e)
{
	memset(l, 0, sizeof *l);
	struct siblings sb = {0};
	vis_err rc = province_members(s, comune, &sb, e);
	if (rc || !sb.n)
		return rc;
	int *mdal = malloc(MAX_PERIODS * sizeof *mdal), *mal = malloc(MAX_PERIODS * sizeof *mal);
	int nmo = mdal && mal ? stats_periods(from, to, false, mdal, mal, MAX_PERIODS) : 0;
	/* the months of every member, counted one member at a time */
	long long (*mv)[3][STATS_B_COLS] = nmo > 0 ? calloc(sb.n * (size_t)nmo, sizeof *mv) : NULL;
	if (!mdal || !mal)
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	else if (nmo <= 0)
		rc = vis_error_set(e, VIS_ERR_INVALID, "un bilancio ha da 1 a %d mesi", MAX_PERIODS);
	else if (!mv)
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	struct linked_count c = {.nmo = nmo, .dal = mdal, .al = mal, .v = mv};
	for (c.k = 0; !rc && c.k < (int)sb.n; c.k++)
		rc = stats_history_each(s, sb.code[c.k], add_linked_record, &c, e);
	if (!rc)
		rc = stats_balance_linked_counted((const char(*)[8])sb.code, (int)sb.n, from, to, yearly,
						  threshold, mv, l, e);
	free(mv);
	free(mdal);
	free(mal);
	free(sb.code);
	return rc;
}

void stats_balance_month_count(const struct stats_record *r, int nmo, const int *dal, const int *al,
			       long long (*v)[3][STATS_B_COLS])
{
	for (int i = 0; i < r->nep; i++)
		for (int m = 0; m < nmo; m++) {
			stats_episode_count(&r->ep[i], dal[m], al[m], v[m][r->sex ? 0 : 1]);
			stats_episode_count(&r->ep[i], dal[m], al[m], v[m][2]);
		}
}

vis_err stats_balance_linked_counted(const char (*code)[8], int nmembers, int from, int to,
				     bool yearly, int threshold, long long (*mv)[3][STATS_B_COLS],
				     struct stats_linked_balance *l, struct vis_error *e)
{
	memset(l, 0, sizeof *l);
	vis_err rc = VIS_OK;
	l->nm = nmembers;
	l->code = malloc((size_t)nmembers * sizeof *l->code);
	int *mdal = malloc(MAX_PERIODS * sizeof *mdal), *mal = malloc(MAX_PERIODS * sizeof *mal);
	l->dal = malloc(MAX_PERIODS * sizeof *l->dal);
	l->al = malloc(MAX_PERIODS * sizeof *l->al);
	if (!l->code || !mdal || !mal || !l->dal || !l->al) {
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
		goto done;
	}
	memcpy(l->code, code, (size_t)nmembers * sizeof *l->code);
	int nmo = stats_periods(from, to, false, mdal, mal, MAX_PERIODS);
	l->np = nmo < 0 ? -1 : stats_periods(from, to, yearly, l->dal, l->al, MAX_PERIODS);
	if (nmo <= 0 || l->np <= 0) {
		rc = vis_error_set(e, VIS_ERR_INVALID, "un bilancio ha da 1 a %d mesi", MAX_PERIODS);
		goto done;
	}
	size_t nm = (size_t)nmembers, np = (size_t)l->np;
	bool (*mh)[3][STATS_B_COLS] = calloc(nm * (size_t)nmo, sizeof *mh);
	long long (*one)[3][STATS_B_COLS] = calloc(nm, sizeof *one);
	bool (*oneh)[3][STATS_B_COLS] = calloc(nm, sizeof *oneh);
	long long (*pm)[3][STATS_B_COLS] = calloc((size_t)nmo, sizeof *pm);
	bool (*pmh)[3][STATS_B_COLS] = calloc((size_t)nmo, sizeof *pmh);
	l->v = calloc(nm * np, sizeof *l->v);
	l->hidden = calloc(nm * np, sizeof *l->hidden);
	l->province = calloc(np, sizeof *l->province);
	l->province_hidden = calloc(np, sizeof *l->province_hidden);
	if (!mh || !one || !oneh || !pm || !pmh || !l->v || !l->hidden || !l->province ||
	    !l->province_hidden)
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	/* each month protected alone: its start and end are known, so no
	 * identity links two months */
	for (int m = 0; !rc && m < nmo; m++) {
		for (size_t k = 0; k < nm; k++) {
			for (int sx = 0; sx < 3; sx++)
				stats_balance_close(mv[k * (size_t)nmo + (size_t)m][sx]);
			memcpy(one[k], mv[k * (size_t)nmo + (size_t)m], sizeof one[k]);
			for (int sx = 0; sx < 3; sx++)
				for (int x = 0; x < STATS_B_COLS; x++)
					pm[m][sx][x] += one[k][sx][x];
		}
		if (nm == 1) {
			/* the province is that municipality, protected alone */
			stats_balance_protect((const long long(*)[STATS_B_COLS])one[0], oneh[0], threshold);
			memcpy(pmh[m], oneh[0], sizeof pmh[m]);
		} else if (!stats_balance_protect_linked((const long long(*)[3][STATS_B_COLS])one, l->nm,
							 threshold, pmh[m], oneh)) {
			rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
		}
		for (size_t k = 0; k < nm; k++)
			memcpy(mh[k * (size_t)nmo + (size_t)m], oneh[k], sizeof oneh[k]);
	}
	for (size_t k = 0; !rc && k <= nm; k++) {
		const long long(*v)[3][STATS_B_COLS] = k < nm ? (const void *)&mv[k * (size_t)nmo]
							       : (const void *)pm;
		const bool(*h)[3][STATS_B_COLS] = k < nm ? (const void *)&mh[k * (size_t)nmo]
							  : (const void *)pmh;
		long long(*ov)[3][STATS_B_COLS] = k < nm ? &l->v[k * np] : l->province;
		bool(*oh)[3][STATS_B_COLS] = k < nm ? &l->hidden[k * np] : l->province_hidden;
		if (yearly) {
			linked_years(l->np, l->al, nmo, mal, v, h, ov, oh);
		} else {
			memcpy(ov, v, np * sizeof *ov);
			memcpy(oh, h, np * sizeof *oh);
		}
	}
	free(mh);
	free(one);
	free(oneh);
	free(pm);
	free(pmh);
done:
	free(mdal);
	free(mal);
	if (rc)
		stats_linked_balance_release(l);
	return rc;
}

void stats_linked_balance_release(struct stats_linked_balance *l)
{
	free(l->code);
	free(l->dal);
	free(l->al);
	free(l->v);
	free(l->hidden);
	free(l->province);
	free(l->province_hidden);
	memset(l, 0, sizeof *l);
}

int stats_linked_balance_find(const struct stats_linked_balance *l, const char *comune)
{
	return code_find((const char(*)[8])l->code, l->nm, comune);
}

/* famiglie, famiglie_tipologia or strasa_cittadinanza of the whole
 * province of a municipality on a day, by stats_households_protect_linked
 * or stats_citizenship_protect_linked (stock_linked). */
struct linked_stock {
	int nm;                    /* municipalities, in code order */
	char (*code)[8];
	int rows, cols;
	char (*state)[4];          /* strasa_cittadinanza(_eta): the states of its
				    * rows (blocks) but the last (999), in code order */
	int block;                 /* rows per state: 1, strasa_cittadinanza_eta 101 */
	bool *hidden;              /* [k * rows * cols + r * cols + c] */
	bool *province_hidden;     /* [rows * cols] */
	/* each member's counts, read once: a table of a member or of the
	 * whole province takes its own from them (part_counts, states_part) */
	int *nst;                  /* [k]: member k's states, in the order read */
	char (*codes)[4];          /* [k * MAX_STATES + i] */
	long long (*counts)[2];    /* [k * MAX_STATES + i]: women, men */
	long long (*sages)[2][AGES]; /* [k * MAX_STATES + i]: _eta, by age */
	bool dropped;              /* a member's citizen of a state past MAX_STATES */
	long long (*hh)[TIPI][STATS_SIZES];     /* famiglie(_tipologia) */
	long long (*cv)[2][STATS_CIVIL][AGES];  /* stato_civile */
	struct stats_linked_ages ages; /* _eta: STRASA's; stato_civile: POSAS's */
};

static void linked_stock_release(struct linked_stock *l)
{
	free(l->code);
	free(l->state);
	free(l->hidden);
	free(l->province_hidden);
	free(l->nst);
	free(l->codes);
	free(l->counts);
	free(l->sages);
	free(l->hh);
	free(l->cv);
	stats_linked_ages_release(&l->ages);
	memset(l, 0, sizeof *l);
}

/* The key of a province's linked protection kept in a cache: its
 * province (the first three digits) and what it was computed for. */
struct linked_key {
	char prefix[4];
	int a, b, c, threshold;
};

/* True when key is comuni's province with a, b, c and threshold;
 * otherwise key becomes it (the caller computes the protection again). */
static bool linked_key_same(struct linked_key *key, const char *comuni, int a, int b, int c,
			    int threshold)
{
	struct linked_key k = {.a = a, .b = b, .c = c, .threshold = threshold};
	STR_FMT_KNOWN(k.prefix, "%.3s", comuni); /* its precision bounds it */
	bool same = !memcmp(key, &k, sizeof k);
	*key = k;
	return same;
}

/* The linked protection of the province last computed (a pool's members
 * one after the other share it): each valid when its nm is not 0. */
struct linked_cache {
	struct linked_key lkey;        /* on, foreign */
	struct stats_linked_ages l;
	struct linked_key skey;        /* on, table */
	struct linked_stock st;
	/* the balance of the province last computed: valid when b.nm */
	char bprefix[4];
	int bfrom, bto, bthreshold;
	bool byearly;
	struct stats_linked_balance b;
	struct stats_cache *protect;   /* the process's (stats_table_query's cache) */
	const struct stop_ask *stop;   /* stats_table_query's */
};

/* Which part of the province code[0..nm) comuni is: *k its index, -1
 * the whole province, -2 a municipality of a pool the register has not
 * imported (nobody lives there for it: no cell to fix);
 * VIS_ERR_INTERNAL when several but not the whole province. */
static vis_err linked_part(const char (*code)[8], int nm, const char *comuni, int *k,
			   struct vis_error *e)
{
	bool several = strchr(comuni, ',') != NULL;
	*k = several ? -1 : code_find(code, nm, comuni);
	if (*k >= 0 || province_whole(code, nm, comuni))
		return VIS_OK;
	*k = -2;
	if (!several)
		return VIS_OK;
	return vis_error_set(e, VIS_ERR_INTERNAL, "%.64s: né un comune né una provincia intera",
			     comuni);
}

/* The linked protection of POSAS of the province of comuni, a
 * municipality or the whole province, on `on` into c->l
 * (stats_ages_linked, unless c holds it already), *k comuni's part
 * (linked_part). */
static vis_err ages_get(struct store *s, struct linked_cache *c, const char *comuni, int on,
			int threshold, int *k, struct vis_error *e)
{
	if (!linked_key_same(&c->lkey, comuni, on, false, 0, threshold) || !c->l.nm) {
		stats_linked_ages_release(&c->l);
		vis_err rc = stats_ages_linked(s, comuni, on, false, threshold, &c->l, e);
		if (rc)
			return rc;
	}
	return linked_part((const char(*)[8])c->l.code, c->l.nm, comuni, k, e);
}

/* The POSAS cells of g (the ages, then the total row) of part k of l's
 * province (ages_get; -2: none, nothing fixed), fixed as the linked
 * protection hides them.  STRASA's: strasa_fix. */
static vis_err ages_fix(struct grid *g, const struct stats_linked_ages *l, int k,
			struct vis_error *e)
{
	const bool(*h)[3] = k == -1 ? (const bool(*)[3])l->province_hidden
				    : (const bool(*)[3])(k >= 0 ? l->hidden[k] : NULL);
	for (int a = 0; h && a <= AGES; a++)
		for (int x = 0; x < 3; x++)
			if (!grid_fix(g, a, x, h[a][x]))
				return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	return VIS_OK;
}

/* Part k (linked_part) of the counts of a province's nm members, n
 * each (members[m * n + i]), into out[0..n): member k's, or (-1) the
 * whole province's, their sum.  The same counts as a pass of the part's
 * own: store_person_each_at reads a member's persons only, so the pass
 * that reads the members one after the other for the linked protection
 * reads them (issue #17: each person version read once a table).  False
 * for -2 (a municipality the province has not imported) or no counts:
 * the caller reads its own. */
static bool part_counts(long long *out, const long long *members, size_t n, int nm, int k)
{
	if (k < -1 || !members || nm < 1)
		return false;
	memset(out, 0, n * sizeof *out);
	for (int m = k < 0 ? 0 : k; m < (k < 0 ? nm : k + 1); m++)
		for (size_t i = 0; i < n; i++)
			out[i] += members[(size_t)m * n + i];
	return true;
}

/* famiglie, famiglie_tipologia, strasa_cittadinanza(_eta) or
 * stato_civile (t) of the whole province of `comune` (every municipality
 * of it the register has imported) on the end of day `on`: each
 * municipality's counts, then stats_households_protect_linked,
 * stats_citizenship_protect_linked (the states of any of them, in code
 * order; a state a municipality does not list has none of its citizens
 * there, published as such), stats_citizenship_ages_protect_linked
 * (around STRASA's and strasa_cittadinanza's linked protections) or
 * stats_civil_protect_linked (around POSAS's).  One pass over the
 * members: STRASA's (POSAS's) counts taken in it, their linked
 * protection as stats_ages_linked makes it (stats_linked_ages_protect),
 * and each member's counts kept in l for the table's own (part_counts,
 * states_part).  With none imported, l->nm is 0. */
static vis_err stock_linked(struct store *s, const char *comune, int on, enum stats_table t,
			    int threshold, struct stats_cache *pc, const struct stop_ask *stop,
			    struct linked_stock *l, struct vis_error *e)
{
	memset(l, 0, sizeof *l);
	struct siblings sb = {0};
	vis_err rc = province_members(s, comune, &sb, e);
	size_t nm = sb.n;
	if (rc || !nm)
		return rc;
	l->code = sb.code;
	l->nm = (int)nm;
	bool cite = t == STATS_STRASA_CITT_ETA, cit = t == STATS_STRASA_CITT || cite;
	struct on_date *a = malloc(sizeof *a);
	struct stats_table_query *q = calloc(1, sizeof *q);
	long long(*hh)[TIPI][STATS_SIZES] = l->hh = calloc(nm, sizeof *hh);
	bool civil = t == STATS_STATO_CIVILE;
	long long(*cv)[2][STATS_CIVIL][AGES] = l->cv = civil ? calloc(nm, sizeof *cv) : NULL;
	/* _eta: STRASA's linked protection; stato_civile: POSAS's, its
	 * margin (the same municipalities, in the same order); their counts
	 * from this pass, as stats_ages_linked reads them */
	struct stats_linked_ages *ages = &l->ages;
	if (civil || cite) {
		ages->nm = (int)nm;
		ages->code = malloc(nm * sizeof *ages->code);
		ages->age = calloc(nm, sizeof *ages->age);
		if (ages->code)
			memcpy(ages->code, sb.code, nm * sizeof *ages->code);
	}
	/* each member's states and their counts (women, men) */
	char(*codes)[4] = l->codes = calloc(nm * MAX_STATES, sizeof *codes);
	long long(*counts)[2] = l->counts = calloc(nm * MAX_STATES, sizeof *counts);
	long long(*n)[2] = NULL;
	/* strasa_cittadinanza_eta: each member's states by age, then by the
	 * province's states */
	long long(*sages)[2][AGES] = l->sages = cite ? calloc(nm * MAX_STATES, sizeof *sages) : NULL;
	long long(*ag)[2][AGES] = NULL;
	bool *ch = NULL, (*ah)[AGES + 1][3] = NULL;
	int *nst = l->nst = calloc(nm, sizeof *nst), ns = 0;
	l->state = malloc(MAX_STATES * sizeof *l->state);
	if (!a || !q || !hh || !codes || !counts || !nst || !l->state || (civil && !cv) ||
	    (cite && !sages) || ((civil || cite) && (!ages->code || !ages->age)))
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	for (size_t k = 0; !rc && k < nm; k++) {
		memset(a, 0, sizeof *a);
		q->table = t;
		str_copy_known(q->comuni, sizeof q->comuni, sb.code[k], __FILE__, __LINE__);
		a->q = q;
		a->on = on;
		rc = store_person_each_at(s, sb.code[k], on, add_resident, a, e);
		if (!rc && a->oom)
			rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
		if (!rc && civil)
			memcpy(cv[k], a->civil, sizeof cv[k]);
		else if (!rc && !cit)
			household_counts(a, hh[k]);
		if (!rc && (civil || cite))
			memcpy(ages->age[k], a->age, sizeof ages->age[k]);
		l->dropped |= a->dropped;
		free(a->fam);
		for (int i = 0; !rc && i < a->nst; i++) {
			memcpy(codes[k * MAX_STATES + (size_t)i], a->st[i].code, sizeof *codes);
			memcpy(counts[k * MAX_STATES + (size_t)i], a->st[i].n, sizeof *counts);
			if (cite)
				memcpy(sages[k * MAX_STATES + (size_t)i], a->st[i].age, sizeof *sages);
			int j = 0;
			while (j < ns && strcmp(l->state[j], a->st[i].code))
				j++;
			if (j == ns && ns == MAX_STATES)
				rc = vis_error_set(e, VIS_ERR_INVALID, "più di %d cittadinanze nella provincia",
						   MAX_STATES);
			else if (j == ns)
				memcpy(l->state[ns++], a->st[i].code, sizeof *l->state);
		}
		nst[k] = a->nst;
	}
	if (!rc && cit) {
		qsort(l->state, (size_t)ns, sizeof *l->state, cmp_code8);
		n = calloc(nm * (size_t)ns + 1, sizeof *n);
		ag = cite ? calloc(nm * (size_t)ns + 1, sizeof *ag) : NULL;
		if (!n || (cite && !ag))
			rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
		for (size_t k = 0; !rc && k < nm; k++)
			for (int i = 0; i < nst[k]; i++) {
				const char *code = codes[k * MAX_STATES + (size_t)i];
				char(*at_state)[4] = bsearch(code, l->state, (size_t)ns, sizeof *l->state,
							     cmp_code8);
				memcpy(n[k * (size_t)ns + (size_t)(at_state - l->state)],
				       counts[k * MAX_STATES + (size_t)i], sizeof *n);
				if (cite)
					memcpy(ag[k * (size_t)ns + (size_t)(at_state - l->state)],
					       sages[k * MAX_STATES + (size_t)i], sizeof *ag);
			}
	}
	/* strasa_cittadinanza_eta: around strasa_cittadinanza's linked
	 * protection (its state totals) and STRASA's (the block of all
	 * states), the members' blocks then the province's of each */
	size_t cc = ((size_t)ns + 1) * 3;
	if (!rc && cite) {
		ch = calloc((nm + 1) * cc, sizeof *ch);
		ah = calloc(nm + 1, sizeof *ah);
		if (!ch || !ah || !stats_citizenship_protect_linked((const long long(*)[2])n, l->nm, ns,
								     threshold, &ch[nm * cc], ch))
			rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	if (!rc && (civil || cite))
		rc = stats_linked_ages_protect(ages, threshold, e);
	if (!rc && cite) {
		memcpy(ah, ages->hidden, nm * sizeof *ah);
		memcpy(ah[nm], ages->province_hidden, sizeof *ah);
	}
	l->block = cite ? AGES + 1 : 1;
	l->rows = civil ? AGES + 1 : cit ? (ns + 1) * l->block : t == STATS_FAMIGLIE_TIPO ? TIPI + 1 : 7;
	l->cols = civil ? STATS_CIVIL_COLS : cit ? 3 : t == STATS_FAMIGLIE_TIPO ? 7 : 1;
	size_t cells = (size_t)l->rows * (size_t)l->cols;
	l->hidden = rc ? NULL : calloc(nm * cells, sizeof *l->hidden);
	l->province_hidden = rc ? NULL : calloc(cells, sizeof *l->province_hidden);
	if (!rc && cite && l->hidden && l->province_hidden)
		rc = stats_citizenship_ages_protect_linked((const long long(*)[2][AGES])ag, l->nm, ns,
							   ah, ch, threshold, l->province_hidden,
							   l->hidden, pc, s, stop, e);
	else if (!rc && !(l->hidden && l->province_hidden &&
		     (civil ? stats_civil_protect_linked(
				      (const long long(*)[2][STATS_CIVIL][AGES])cv, l->nm,
				      (const bool(*)[AGES + 1][3])ages->hidden,
				      (const bool(*)[3])ages->province_hidden, threshold,
				      l->province_hidden, l->hidden)
		      : cit ? stats_citizenship_protect_linked((const long long(*)[2])n, l->nm, ns,
							    threshold, l->province_hidden, l->hidden)
			  : stats_households_protect_linked(
				    (const long long(*)[STATS_TYPES][STATS_SIZES])hh, l->nm,
				    t == STATS_FAMIGLIE_TIPO, threshold, l->province_hidden,
				    l->hidden))))
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	free(a);
	free(q);
	free(n);
	free(ag);
	free(ch);
	free(ah);
	if (rc)
		linked_stock_release(l);
	return rc;
}

/* strasa_cittadinanza(_eta)'s counts of part k of l's province into
 * a (zero on entry), as part_counts: its states in the order its own
 * pass reads them (each member's in code order, the states of each in
 * the order read), their counts summed.  False for -2, for the whole
 * province when a member's pass dropped a citizen (more than MAX_STATES
 * states: the province's pass keeps other ones), or no counts. */
static bool states_part(const struct linked_stock *l, int k, struct on_date *a)
{
	if (k < -1 || (k == -1 && l->dropped) || !l->nst || !l->codes || !l->counts)
		return false;
	for (int m = k < 0 ? 0 : k; m < (k < 0 ? l->nm : k + 1); m++)
		for (int i = 0; i < l->nst[m]; i++) {
			size_t x = (size_t)m * MAX_STATES + (size_t)i;
			int j = 0;
			while (j < a->nst && strcmp(a->st[j].code, l->codes[x]))
				j++;
			if (j == a->nst) {
				if (j == MAX_STATES) {
					memset(a->st, 0, sizeof a->st);
					a->nst = 0;
					return false;
				}
				memcpy(a->st[j].code, l->codes[x], sizeof a->st[j].code);
				a->nst++;
			}
			for (int sx = 0; sx < 2; sx++) {
				a->st[j].n[sx] += l->counts[x][sx];
				for (int y = 0; l->sages && y < AGES; y++)
					a->st[j].age[sx][y] += l->sages[x][sx][y];
			}
		}
	return true;
}

/* The linked protection of famiglie, famiglie_tipologia or
 * strasa_cittadinanza (t) of the province of comuni, a municipality or
 * the whole province, into *l (kept in c: stock_linked), *k its part
 * (linked_part). */
static vis_err stock_get(struct store *s, struct linked_cache *c, enum stats_table t,
			 const char *comuni, int on, int threshold, const struct linked_stock **l,
			 int *k, struct vis_error *e)
{
	if (!linked_key_same(&c->skey, comuni, on, (int)t, 0, threshold) || !c->st.nm) {
		linked_stock_release(&c->st);
		vis_err rc = stock_linked(s, comuni, on, t, threshold, c->protect, c->stop, &c->st,
					  e);
		if (rc)
			return rc;
	}
	*l = &c->st;
	return linked_part((const char(*)[8])c->st.code, c->st.nm, comuni, k, e);
}

/* The states of l's province whose row member k's protection hides a
 * cell of, and which it has no citizen of, appended to states[0..nst)
 * with no citizen (room for l->rows more): the member lists them, their
 * hidden zeros among them.  The new count of states. */
static int stock_more_states(const struct linked_stock *l, int k, char (*states)[4],
			     long long (*n)[2], int nst)
{
	size_t cells = (size_t)l->rows * (size_t)l->cols;
	for (int j = 0; k >= 0 && j < l->rows / l->block - 1; j++) {
		const bool *h = &l->hidden[(size_t)k * cells +
					   ((size_t)j * (size_t)l->block + (size_t)l->block - 1) * 3];
		bool listed = false;
		for (int i = 0; i < nst && !listed; i++)
			listed = !strcmp(states[i], l->state[j]);
		if (listed || !(h[0] || h[1] || h[2]))
			continue;
		memcpy(states[nst], l->state[j], sizeof *states);
		n[nst][0] = n[nst][1] = 0;
		nst++;
	}
	return nst;
}

/* The cells of g, famiglie, famiglie_tipologia or strasa_cittadinanza (t)
 * of part k of l's province (stock_get; -2: none, nothing fixed), every
 * one fixed as the linked protection hides it: strasa_cittadinanza's
 * rows by their state. */
static vis_err stock_fix(struct grid *g, const struct linked_stock *l, int k, enum stats_table t,
			 struct vis_error *e)
{
	const bool *h = k == -1 ? l->province_hidden
				: k >= 0 ? &l->hidden[(size_t)k * (size_t)(l->rows * l->cols)] : NULL;
	if (h && g->cols != l->cols)
		return vis_error_set(e, VIS_ERR_INTERNAL, "tavola diversa da quella della provincia");
	int nrows = l->rows / l->block;
	for (int r = 0; h && r < g->rows; r++) {
		int lr = r;
		if (t == STATS_STRASA_CITT) {
			/* the state of the row (its third label), the total last */
			const char *code = g->label[r * g->labels + 2];
			char(*at_state)[4] = r == g->rows - 1 ? NULL
				: bsearch(code, l->state, (size_t)(nrows - 1), sizeof *l->state, cmp_code8);
			lr = r == g->rows - 1 ? nrows - 1 : at_state ? (int)(at_state - l->state) : -1;
		}
		if (lr < 0 || lr >= nrows)
			return vis_error_set(e, VIS_ERR_INTERNAL, "tavola diversa da quella della provincia");
		/* strasa_cittadinanza_eta's: the state's total row */
		int row = lr * l->block + l->block - 1;
		for (int x = 0; x < g->cols; x++)
			if (!grid_fix(g, r, x, h[row * l->cols + x]))
				return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	return VIS_OK;
}

/* The states of l's province (strasa_cittadinanza_eta's linked
 * protection) whose block part k's protection hides a cell of and which a
 * has no citizen of, appended to a's states with none: its table lists
 * them, their hidden zeros among them.  The new count of states. */
static int cite_more_states(const struct linked_stock *l, int k, struct on_date *a)
{
	size_t cells = (size_t)l->rows * (size_t)l->cols, bc = (size_t)l->block * 3;
	int nst = a->nst;
	for (int j = 0; k >= 0 && j < l->rows / l->block - 1 && nst < MAX_STATES; j++) {
		const bool *h = &l->hidden[(size_t)k * cells + (size_t)j * bc];
		bool listed = false, any = false;
		for (int i = 0; i < nst && !listed; i++)
			listed = !strcmp(a->st[i].code, l->state[j]);
		for (size_t i = 0; i < bc && !any; i++)
			any = h[i];
		if (listed || !any)
			continue;
		memset(&a->st[nst], 0, sizeof a->st[nst]);
		memcpy(a->st[nst].code, l->state[j], sizeof a->st[nst].code);
		nst++;
	}
	return nst;
}

/* strasa_cittadinanza_eta's cells (g, the states of a) of part k of l's
 * province (-2: none, nothing fixed), every one fixed as its linked
 * protection hides it: each state's block by its state, the block of all
 * states last. */
static vis_err cite_fix(struct grid *g, const struct on_date *a, const struct linked_stock *l,
			int k, struct vis_error *e)
{
	const bool *h = k == -1 ? l->province_hidden
				: k >= 0 ? &l->hidden[(size_t)k * (size_t)(l->rows * l->cols)] : NULL;
	int ns = l->rows / l->block - 1;
	if (h && (l->block != AGES + 1 || g->cols != 3))
		return vis_error_set(e, VIS_ERR_INTERNAL, "tavola diversa da quella della provincia");
	for (int i = 0; h && i <= a->nst; i++) {
		char(*at_state)[4] = i == a->nst ? NULL
			: bsearch(a->st[i].code, l->state, (size_t)ns, sizeof *l->state, cmp_code8);
		if (i < a->nst && !at_state)
			return vis_error_set(e, VIS_ERR_INTERNAL, "tavola diversa da quella della provincia");
		int lb = i == a->nst ? ns : (int)(at_state - l->state);
		for (int r = 0; r <= AGES; r++)
			for (int x = 0; x < 3; x++)
				if (!grid_fix(g, i * (AGES + 1) + r, x, h[(lb * (AGES + 1) + r) * 3 + x]))
					return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	return VIS_OK;
}

/* STRASA's cells (g: the ages, then the total row) of part k of l's
 * province (strasa_cittadinanza_eta's linked protection: its block of
 * all states; -2: none, nothing fixed). */
static vis_err strasa_fix(struct grid *g, const struct linked_stock *l, int k, struct vis_error *e)
{
	const bool *h = k == -1 ? l->province_hidden
				: k >= 0 ? &l->hidden[(size_t)k * (size_t)(l->rows * l->cols)] : NULL;
	int ns = l->rows / l->block - 1;
	if (h && (l->block != AGES + 1 || g->cols != 3 || g->rows != AGES + 1))
		return vis_error_set(e, VIS_ERR_INTERNAL, "tavola diversa da quella della provincia");
	for (int r = 0; h && r <= AGES; r++)
		for (int x = 0; x < 3; x++)
			if (!grid_fix(g, r, x, h[(ns * (AGES + 1) + r) * 3 + x]))
				return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	return VIS_OK;
}

static void linked_cache_release(struct linked_cache *c)
{
	stats_linked_ages_release(&c->l);
	linked_stock_release(&c->st);
	stats_linked_balance_release(&c->b);
}

/* ------------------------------------------------------------ by locality and street */

/* The counts of a row: persons by sex, by age group, by citizenship, and
 * households (famiglie anagrafiche); then two indicators. */
enum { A_MEN, A_WOMEN, A_TOT, A_YOUNG, A_WORKING, A_OLD, A_FOREIGN, A_ITALIAN, A_FAMILIES, A_COLS };

struct address {
	char key[STORE_ID_MAX + 8];            /* comune:family id */
	char place[2][STORE_NAME_MAX];         /* the locality; or the DUG and the street */
	int group;
	bool family, counted;                  /* a famiglia anagrafica; counted once */
	bool lived;                            /* a resident on the date */
};

/* One municipality's residents on a date by the places of one kind (the
 * localities, or the streets): a group per place (in the order of the
 * names), the last (ng) the residents whose household has no address
 * that day. */
struct by_address {
	const struct stats_table_query *q;
	int on;
	bool street;
	struct address *f;                     /* the households, by key */
	struct address **order;                /* the households, by place */
	size_t n, cap;
	long long (*v)[A_COLS], *age_sum;      /* per group, the last "not found" */
	int *row_of;                           /* per group, its row (-1: no resident) */
	int ng, rows;
	long long age[2][AGES];                /* both[0]: POSAS's counts (places_count) */
	bool oom;
};

static int add_address(void *ctx, const struct store_family *f)
{
	struct by_address *b = ctx;
	if (!grow((void **)&b->f, &b->cap, b->n, sizeof *b->f, 1024)) {
		b->oom = true;
		return 1;
	}
	struct address *a = &b->f[b->n++];
	memset(a, 0, sizeof *a);
	/* comune[7] and an id of at most 20 bytes */
	STR_FMT_KNOWN(a->key, "%s:%s", f->comune, f->id);
	str_copy_known(a->place[0], STORE_NAME_MAX, b->street ? f->dug : f->locality, __FILE__,
		       __LINE__);
	if (b->street)
		str_copy_known(a->place[1], STORE_NAME_MAX, f->street, __FILE__, __LINE__);
	a->family = f->kind == 1;
	return 0;
}

static int cmp_place(const void *x, const void *y)
{
	const struct address *a = *(struct address *const *)x, *b = *(struct address *const *)y;
	int c = strcmp(a->place[0], b->place[0]);
	return c ? c : strcmp(a->place[1], b->place[1]);
}

static int add_by_address(void *ctx, const struct store_person *p)
{
	struct by_address *b = ctx;
	if (!resident_on(b->q, p, b->on))
		return 0;
	int age = date_age(p->birth_date, b->on);
	if (age < 0)
		return 0;
	struct address key, *a = NULL;
	/* comune[7] and an id of at most 20 bytes */
	STR_FMT_KNOWN(key.key, "%s:%s", p->comune, p->family_id);
	if (p->family_id[0])
		a = bsearch(&key, b->f, b->n, sizeof *b->f, cmp_fam);
	int g = a ? a->group : b->ng;
	long long *v = b->v[g];
	v[p->sex == 'M' ? A_MEN : A_WOMEN]++;
	v[A_TOT]++;
	v[age < 15 ? A_YOUNG : age < 65 ? A_WORKING : A_OLD]++;
	v[foreign(p) ? A_FOREIGN : A_ITALIAN]++;
	b->age_sum[g] += age;
	if (a) {
		a->lived = true;
		if (a->family && !a->counted) {
			a->counted = true;
			v[A_FAMILIES]++;
		}
	}
	return 0;
}

/* The households, then the residents, handed to both counts of `both`. */
static int add_address_both(void *ctx, const struct store_family *f)
{
	struct by_address *both = ctx;
	return add_address(&both[0], f) || add_address(&both[1], f);
}

static int add_by_address_both(void *ctx, const struct store_person *p)
{
	struct by_address *both = ctx;
	/* POSAS's counts of the municipality, as add_resident makes them:
	 * its linked protection reads only the other members (ages_linked) */
	int age = resident_on(both->q, p, both->on) ? date_age(p->birth_date, both->on) : -1;
	if (age >= 0)
		both->age[p->sex == 'M'][age < AGES ? age : AGES - 1]++;
	return add_by_address(&both[0], p) || add_by_address(&both[1], p);
}

/* The groups of b's households (by place, in order), and room for their
 * counts. */
static vis_err places_group(struct by_address *b, struct vis_error *e)
{
	if (!b->oom && b->n)
		b->order = malloc(b->n * sizeof *b->order);
	if (b->oom || (b->n && !b->order))
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	qsort(b->f, b->n, sizeof *b->f, cmp_fam);
	for (size_t i = 0; i < b->n; i++)
		b->order[i] = &b->f[i];
	if (b->n)
		qsort(b->order, b->n, sizeof *b->order, cmp_place);
	for (size_t i = 0; i < b->n; i++) {
		b->ng += i && cmp_place(&b->order[i - 1], &b->order[i]) != 0;
		b->order[i]->group = b->ng;
	}
	b->ng += b->n > 0;
	b->v = calloc((size_t)b->ng + 1, sizeof *b->v);
	b->age_sum = calloc((size_t)b->ng + 1, sizeof *b->age_sum);
	b->row_of = calloc((size_t)b->ng + 1, sizeof *b->row_of);
	if (!b->v || !b->age_sum || !b->row_of)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	return VIS_OK;
}

/* The residents of q's municipality on `on` by locality (both[0]) and by
 * street (both[1]), from one reading of its households and one of its
 * residents (released by places_release): the groups, their counts, and
 * a row per group with residents, in order. */
static vis_err places_count(struct store *s, const struct stats_table_query *q, int on,
			    struct by_address both[2], struct vis_error *e)
{
	memset(both, 0, 2 * sizeof *both);
	for (int t = 0; t < 2; t++) {
		both[t].q = q;
		both[t].on = on;
		both[t].street = t == 1;
	}
	vis_err rc = store_family_each_at(s, q->comuni, on, add_address_both, both, e);
	for (int t = 0; !rc && t < 2; t++)
		rc = places_group(&both[t], e);
	if (!rc)
		rc = store_person_each_at(s, q->comuni, on, add_by_address_both, both, e);
	/* the places with residents, in order; the households with none are
	 * no row */
	for (int t = 0; !rc && t < 2; t++) {
		struct by_address *b = &both[t];
		for (int k = 0; k <= b->ng; k++)
			b->row_of[k] = b->v[k][A_TOT] ? b->rows++ : -1;
	}
	return rc;
}

static void places_release(struct by_address *b)
{
	free(b->f);
	free(b->order);
	free(b->v);
	free(b->age_sum);
	free(b->row_of);
}

static int uf_root(int *up, int x)
{
	while (up[x] != x)
		x = up[x] = up[up[x]];
	return x;
}

/* The moves that keep every identity of the tables by place (a locality's
 * or a street's row: men + women, the three age groups and foreigners +
 * Italians each = its total; households in none): one unit more in a
 * row and one less in another of the same table and part (places_joint),
 * on a pair of one group's columns (one up, the other down), on the
 * households alone, or on the total with one column of each group. */
static const signed char place_moves[][A_COLS] = {
	{1, -1}, {0, 0, 0, 1, -1}, {0, 0, 0, 1, 0, -1}, {0, 0, 0, 0, 1, -1},
	{0, 0, 0, 0, 0, 0, 1, -1}, {0, 0, 0, 0, 0, 0, 0, 0, 1},
	{1, 0, 1, 1, 0, 0, 1}, {1, 0, 1, 0, 1, 0, 1}, {1, 0, 1, 0, 0, 1, 1},
	{1, 0, 1, 1, 0, 0, 0, 1}, {1, 0, 1, 0, 1, 0, 0, 1}, {1, 0, 1, 0, 0, 1, 0, 1},
	{0, 1, 1, 1, 0, 0, 1}, {0, 1, 1, 0, 1, 0, 1}, {0, 1, 1, 0, 0, 1, 1},
	{0, 1, 1, 1, 0, 0, 0, 1}, {0, 1, 1, 0, 1, 0, 0, 1}, {0, 1, 1, 0, 0, 1, 0, 1}};

/* Which ways cell k of the row at row[0..A_COLS) cannot move by one: 1 it
 * cannot go down, 2 it cannot go up.  Besides a count at 0, what every
 * reader of the tables by place knows: a place is listed only when it has
 * residents (its total is 1 or more), and a household has one resident at
 * least (its households are no more than its residents).  No place_moves
 * moves a row's total and its households together. */
static unsigned place_stops(const long long *cells, size_t row, int k)
{
	const long long *v = &cells[row];
	unsigned st = v[k] == 0 ? 1u : 0u;
	if (k == A_TOT && v[A_TOT] <= (v[A_FAMILIES] > 1 ? v[A_FAMILIES] : 1))
		st |= 1u;
	if (k == A_FAMILIES && v[A_FAMILIES] >= v[A_TOT])
		st |= 2u;
	return st;
}

/* lone_squares for the tables by place: the greedy protection leaves a
 * hidden cell no identity gives alone but the identities together
 * determine (a street's 15-64 as its part's published 15-64 less its
 * other streets', whose 15-64 are their hidden totals, 0-14 and 65+ being
 * 0).  Every small hidden cell gets a move (place_moves) between its row
 * and another of the same table and part whose cells are hidden, none of
 * them known or fixed: already, or the cheapest (the fewest persons, a
 * move free both ways first, as lone_squares).  part[r]: row r's part
 * (-1: the total row), rows below nl the localities.  True when a cell
 * was hidden. */
static bool place_squares(const long long *cells, const bool *known, const bool *fixed, bool *h,
			  int rows, const int *part, int nl, int threshold)
{
	bool changed = false;
	enum { NM = sizeof place_moves / sizeof place_moves[0] };
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < A_COLS && part[r] >= 0; c++) {
			long long x = cells[r * A_COLS + c];
			if (!h[r * A_COLS + c] || x <= 0 || x >= threshold)
				continue;
			long long best = -1;
			int br = -1, bm = -1;
			for (int r2 = 0; r2 < rows && best; r2++) {
				if (r2 == r || part[r2] != part[r] || (r2 < nl) != (r < nl))
					continue;
				for (int m = 0; m < NM && best; m++) {
					if (!place_moves[m][c])
						continue;
					long long cost = 0;
					bool up = false, down = false;
					for (int k = 0; k < A_COLS && cost >= 0; k++) {
						/* the sign of this cell's move, the small one up */
						int sg = place_moves[m][k] * place_moves[m][c];
						for (int y = 0; y < 2 && sg && cost >= 0; y++, sg = -sg) {
							int q = (y ? r2 : r) * A_COLS + k;
							if (q == r * A_COLS + c)
								continue;
							unsigned st = place_stops(cells, (size_t)(q - k), k);
							up = up || (sg < 0 ? st & 1u : st & 2u);
							down = down || (sg > 0 ? st & 1u : st & 2u);
							if (h[q])
								continue;
							if (known[q] || fixed[q])
								cost = -1;
							else
								cost += magnitude(cells[q]) * 64 + 1;
						}
					}
					if (cost >= 0)
						cost += ZERO_CORNER * (up + down);
					if (cost >= 0 && (best < 0 || cost < best)) {
						best = cost;
						br = r2;
						bm = m;
					}
				}
			}
			if (best <= 0 || br < 0)
				continue;
			for (int k = 0; k < A_COLS; k++)
				if (place_moves[bm][k]) {
					changed = changed || !h[r * A_COLS + k] || !h[br * A_COLS + k];
					h[r * A_COLS + k] = h[br * A_COLS + k] = true;
				}
		}
	return changed;
}

/* The two tables by place protected as one (issue #17): `localita` and
 * `strade` are two partitions of the same residents, so every set of
 * localities whose residents live in a set of streets and nowhere else
 * (a connected part of the localities and streets the households join)
 * adds up, column by column, to those streets: with each table protected
 * on its own, a hidden cell of one was the published sum of the other's
 * less its published cells.  One grid, whichever table is asked: rows
 * the localities, the streets, then the total (its known cells and its
 * age groups, `fix`/`fix_hidden`, as the asked table's); every row's
 * identities, every column over each table's places, and every such part
 * column by column.  hidden gets the grid's hidden cells. */
static vis_err places_joint(const struct by_address *loc, const struct by_address *str,
			    const bool *known, const bool *fix, const bool *fix_hidden, int threshold,
			    bool **hidden, struct vis_error *e)
{
	struct grid j;
	int rows = loc->rows + str->rows + 1, tot = rows - 1, nodes = loc->ng + str->ng + 2;
	int *up = malloc((size_t)nodes * sizeof *up), *rc = malloc((size_t)rows * 2 * sizeof *rc);
	int *part_of = NULL;
	bool ok = grid_init(&j, rows, A_COLS, 1) && up && rc;
	for (int c = 0; ok && c < A_COLS; c++)
		ok = grid_fix(&j, tot, c, fix_hidden[c]);
	vis_err err = VIS_OK;
	if (ok) {
		const struct by_address *t[2] = {loc, str};
		for (int x = 0, base = 0; x < 2; base += t[x++]->rows)
			for (int k = 0; k <= t[x]->ng; k++)
				for (int c = 0; c < A_COLS && t[x]->row_of[k] >= 0; c++) {
					*at(&j, base + t[x]->row_of[k], c) = t[x]->v[k][c];
					if (!x)
						*at(&j, tot, c) += t[x]->v[k][c];
				}
		for (int c = 0; c < A_COLS; c++) {
			j.known[tot * A_COLS + c] = known[c];
			j.fixed[tot * A_COLS + c] = fix[c];
		}
		static const int sex[] = {A_MEN, A_WOMEN, A_TOT}, ages[] = {A_YOUNG, A_WORKING, A_OLD, A_TOT},
				 citizens[] = {A_FOREIGN, A_ITALIAN, A_TOT};
		for (int r = 0; r < rows; r++) {
			eq_row(&j, r, sex, 3);
			eq_row(&j, r, ages, 4);
			eq_row(&j, r, citizens, 3);
		}
		for (int c = 0; c < A_COLS; c++) {
			for (int x = 0, first = 0; x < 2; first += t[x++]->rows) {
				int n = 0;
				for (int r = first; r < first + t[x]->rows; r++, n++) {
					rc[2 * n] = r;
					rc[2 * n + 1] = c;
				}
				rc[2 * n] = tot;
				rc[2 * n + 1] = c;
				eq_add(&j, rc, n + 1);
			}
		}
		/* the parts: a locality's group and a street's joined by each
		 * household with residents (and the residents of no household
		 * are a row of both) */
		for (int x = 0; x < nodes; x++)
			up[x] = x;
		for (size_t i = 0; i < loc->n; i++) {
			const struct address *a = &loc->f[i];
			const struct address *b = bsearch(a->key, str->f, str->n, sizeof *str->f, cmp_fam);
			if (a->lived && b)
				up[uf_root(up, a->group)] = uf_root(up, loc->ng + 1 + b->group);
		}
		up[uf_root(up, loc->ng)] = uf_root(up, loc->ng + 1 + str->ng);
		/* each part's rows, by their root (a counting sort) */
		int *first = calloc((size_t)nodes + 1, sizeof *first), *part = malloc((size_t)rows * sizeof *part);
		int *root = malloc((size_t)nodes * sizeof *root);
		part_of = malloc((size_t)rows * sizeof *part_of);
		ok = first && part && root && part_of;
		for (int r = 0; ok && r < rows; r++)
			part_of[r] = -1;
		for (int pass = 0; ok && pass < 2; pass++) {
			for (int x = 0; x < nodes; x++) {
				bool street = x > loc->ng;
				int r = street ? str->row_of[x - loc->ng - 1] : loc->row_of[x];
				if (r < 0)
					continue;
				if (!pass)
					first[(root[x] = uf_root(up, x)) + 1]++;
				else
					part[first[root[x]]++] = street ? loc->rows + r : r;
				part_of[street ? loc->rows + r : r] = root[x];
			}
			for (int x = 0; !pass && x < nodes; x++)
				first[x + 1] += first[x];
		}
		/* after the second pass first[x] is where part x ends */
		for (int x = 0, from = 0; ok && x < nodes; from = first[x++]) {
			int n = first[x] - from;
			for (int c = 0; n >= 2 && c < A_COLS; c++) {
				for (int y = 0; y < n; y++) {
					rc[2 * y] = part[from + y];
					rc[2 * y + 1] = c;
				}
				eq_add(&j, rc, n);
			}
		}
		free(first);
		free(part);
		free(root);
		ok = ok && !j.oom && (*hidden = calloc((size_t)rows * A_COLS, sizeof **hidden));
	}
	if (ok) {
		memcpy(*hidden, j.fixed_hidden, (size_t)rows * A_COLS * sizeof **hidden);
		stats_protect_fixed(j.v, NULL, j.known, j.fixed, *hidden, rows * A_COLS, j.eq_cells,
				    j.eq_len, j.neq, threshold);
		/* then no small cell the tables determine as a whole: its
		 * moves, the lines protected again around them (the cells
		 * hidden so far fixed) */
		size_t n = (size_t)rows * A_COLS;
		bool *fixed = malloc(n * sizeof *fixed);
		ok = fixed != NULL;
		while (ok && place_squares(j.v, j.known, j.fixed, *hidden, rows, part_of, loc->rows,
					   threshold)) {
			for (size_t i = 0; i < n; i++)
				fixed[i] = (*hidden)[i] || j.fixed[i];
			stats_protect_fixed(j.v, NULL, j.known, fixed, *hidden, (int)n, j.eq_cells,
					    j.eq_len, j.neq, threshold);
		}
		free(fixed);
	}
	if (!ok)
		err = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	grid_release(&j);
	free(up);
	free(rc);
	free(part_of);
	return err;
}

/* Two decimals, as published. */
static json_t *indicator(long long num, long long den, double scale, bool hide)
{
	if (hide || den <= 0)
		return json_null();
	return json_real((double)(long long)((double)num * scale * 100 / (double)den + 0.5) / 100);
}

/* Whether row r's average age is hidden by its own counts: the total and
 * the three age groups, and in the total row every single year of POSAS
 * (the sum of the ages then adds nothing to POSAS; with two of its years
 * hidden it would give both back). */
static bool mean_age_hidden(const struct grid *g, int r, const bool *hidden)
{
	const bool *h = &hidden[r * g->cols];
	return (r == g->rows - 1 && g->ages_hidden) || h[A_TOT] || h[A_YOUNG] || h[A_WORKING] ||
	       h[A_OLD];
}

/* The old-age index and the average age of row r, published only when the
 * counts they are made of are: the old-age index, 65+ and 0-14; the
 * average age as mean_age_hidden says.  The places' sums of the ages add
 * up to the total row's: when its average age is hidden, the smallest
 * place's is too unless another place's already is (otherwise their
 * average ages would give the total's sum back, to 0.005 years a
 * resident). */
static void address_indicators(const struct grid *g, int r, const bool *hidden, json_t *row)
{
	const long long *v = &g->v[r * g->cols], *age_sum = g->extra_ctx;
	const bool *h = &hidden[r * g->cols];
	json_array_append_new(row, indicator(v[A_OLD], v[A_YOUNG], 100, h[A_OLD] || h[A_YOUNG]));
	bool hide = mean_age_hidden(g, r, hidden);
	if (!hide && r == g->smallest && mean_age_hidden(g, g->rows - 1, hidden)) {
		hide = true;
		for (int p = 0; p < g->rows - 1 && hide; p++)
			hide = p == r || !mean_age_hidden(g, p, hidden);
	}
	json_array_append_new(row, indicator(age_sum[r], v[A_TOT], 1, hide));
}

/* One municipality's residents on `on` by the locality (or the street) of
 * their household's address that day: a row per place with residents, in
 * the order of the names, then the total, each cell hidden as the two
 * tables by place protected as one hide it (places_joint).  *age_sum gets
 * the sum of the ages of each row (the caller frees it). */
static vis_err address_table(struct store *s, const struct stats_table_query *q, int on,
			     int threshold, struct grid *g, const char *code, const char *name,
			     long long **age_sum, struct vis_error *e)
{
	bool street = q->table == STATS_STRADE;
	struct by_address both[2];   /* by locality, by street */
	vis_err rc = places_count(s, q, on, both, e);
	const struct by_address *b = &both[street];
	int rows = b->rows;
	bool *hidden = NULL;
	if (!rc && (!grid_init(g, rows + 1, A_COLS, street ? 4 : 3) ||
		    !(*age_sum = calloc((size_t)rows + 1, sizeof **age_sum))))
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	for (size_t i = 0, k = 0; !rc && k <= (size_t)b->ng; k++) {
		while (i < b->n && b->order[i]->group < (int)k)
			i++;
		int r = b->row_of[k];
		if (r < 0)
			continue;
		const char *lab[] = {code, name, "", ""};
		if (k == (size_t)b->ng)
			lab[street ? 3 : 2] = "Indirizzo non indicato";
		else if (street) {
			lab[2] = b->order[i]->place[0];
			lab[3] = b->order[i]->place[1];
		} else
			lab[2] = b->order[i]->place[0][0] ? b->order[i]->place[0] : "Nessuna frazione indicata";
		for (int c = 0; c < g->labels; c++)
			set_label(g, r, c, lab[c]);
		for (int c = 0; c < A_COLS; c++) {
			*at(g, r, c) = b->v[k][c];
			*at(g, rows, c) += b->v[k][c];
		}
		(*age_sum)[r] = b->age_sum[k];
		(*age_sum)[rows] += b->age_sum[k];
	}
	if (!rc) {
		const char *lab[] = {code, name, "", ""};
		lab[g->labels - 1] = "Totale";
		for (int c = 0; c < g->labels; c++)
			set_label(g, rows, c, lab[c]);
		static const int sex[] = {A_MEN, A_WOMEN, A_TOT}, ages[] = {A_YOUNG, A_WORKING, A_OLD, A_TOT},
				 citizens[] = {A_FOREIGN, A_ITALIAN, A_TOT};
		for (int r = 0; r <= rows; r++) {
			eq_row(g, r, sex, 3);
			eq_row(g, r, ages, 4);
			eq_row(g, r, citizens, 3);
		}
		for (int c = 0; c < A_COLS; c++)
			eq_col(g, c, 0, rows, 1);
		static const int known[] = {A_MEN, A_WOMEN, A_TOT, A_FOREIGN, A_FAMILIES};
		set_known(g, rows, known, 5);
		g->nextra = 2;
		g->extra = address_indicators;
		g->extra_ctx = *age_sum;
		for (int r = 1; r < rows; r++)
			if (*at(g, r, A_TOT) < *at(g, g->smallest, A_TOT))
				g->smallest = r;
		/* the total row's age groups are sums of POSAS's single years:
		 * hidden as POSAS hides them (stats_age_groups_hidden) */
		bool grp[3];
		struct stats_linked_ages l;
		vis_err lrc = ages_linked(s, q->comuni, on, false, threshold, q->comuni,
					  (const long long(*)[AGES])both[0].age, &l, e);
		int k = lrc ? -1 : stats_linked_ages_find(&l, q->comuni);
		rc = lrc;
		if (!rc && k < 0)
			rc = vis_error_set(e, VIS_ERR_INTERNAL, "%.8s: comune non importato", q->comuni);
		if (!rc)
			g->ages_hidden = stats_age_groups_hidden((const bool(*)[3])l.hidden[k], grp);
		if (!lrc)
			stats_linked_ages_release(&l);
		for (int i = 0; !rc && i < 3; i++)
			if (!grid_fix(g, rows, A_YOUNG + i, grp[i]))
				rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	/* every cell as the tables by place protected as one hide it */
	if (!rc)
		rc = places_joint(&both[0], &both[1], &g->known[rows * A_COLS], &g->fixed[rows * A_COLS],
				  &g->fixed_hidden[rows * A_COLS], threshold, &hidden, e);
	for (int r = 0; !rc && r <= rows; r++) {
		int jr = r == rows ? both[0].rows + both[1].rows : street ? both[0].rows + r : r;
		for (int c = 0; !rc && c < A_COLS; c++)
			if (!grid_fix(g, r, c, hidden[jr * A_COLS + c]))
				rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	free(hidden);
	places_release(&both[0]);
	places_release(&both[1]);
	return rc;
}

/* ------------------------------------------------------------ the balance */

static const char *const mesi[] = {"gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno",
				   "luglio", "agosto", "settembre", "ottobre", "novembre",
				   "dicembre"};

/* The balance of a municipality, or of a whole province (comuni), over
 * from..to: the counts and the hidden cells of the linked protection
 * (stats_balance_linked; kept in cache when not NULL), the one way every
 * publication protects them (docs/api.md, "Pools").  VIS_ERR_INTERNAL
 * when comuni is neither. */
static vis_err balance_table(struct store *s, struct linked_cache *cache,
			     const struct stats_table_query *q, int from, int to, int threshold,
			     struct grid *g, const char *code, const char *name, struct vis_error *e)
{
	struct linked_cache own = {0}, *c = cache ? cache : &own;
	vis_err rc = VIS_OK;
	if (!c->b.nm || strncmp(c->bprefix, q->comuni, 3) || c->bfrom != from || c->bto != to ||
	    c->byearly != q->yearly || c->bthreshold != threshold) {
		stats_linked_balance_release(&c->b);
		rc = stats_balance_linked(s, q->comuni, from, to, q->yearly, threshold, &c->b, e);
		if (rc == VIS_ERR_INVALID)
			rc = vis_error_set(e, VIS_ERR_INVALID,
					   "un bilancio ha al massimo %d mesi (%d anni): indicare \"from\" "
					   "e \"to\" (AAAA-MM) più vicini", MAX_PERIODS, MAX_PERIODS / 12);
		if (rc)
			return rc;
		STR_FMT_KNOWN(c->bprefix, "%.3s", q->comuni); /* its precision bounds it */
		c->bfrom = from;
		c->bto = to;
		c->byearly = q->yearly;
		c->bthreshold = threshold;
	}
	const struct stats_linked_balance *l = &c->b;
	int k = strchr(q->comuni, ',') ? -1 : stats_linked_balance_find(l, q->comuni);
	bool whole = province_whole((const char(*)[8])l->code, l->nm, q->comuni);
	const long long(*v)[3][STATS_B_COLS] = NULL;
	const bool(*h)[3][STATS_B_COLS] = NULL;
	if (whole) {
		v = (const void *)l->province;
		h = (const void *)l->province_hidden;
	} else if (k >= 0) {
		v = (const void *)&l->v[(size_t)k * (size_t)l->np];
		h = (const void *)&l->hidden[(size_t)k * (size_t)l->np];
	} else if (!strchr(q->comuni, ',')) {
		/* the period covered is refused first: not reached */
		rc = vis_error_set(e, VIS_ERR_INVALID, "nessuna importazione per il comune %.8s",
				   q->comuni);
	} else {
		rc = vis_error_set(e, VIS_ERR_INTERNAL, "%.64s: né un comune né una provincia intera",
				   q->comuni);
	}
	if (!rc && (!grid_init(g, l->np * 3, STATS_B_COLS, 6) ||
		    !(g->bal_hidden = calloc((size_t)l->np * 3 * STATS_B_COLS, sizeof *g->bal_hidden))))
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	for (int p = 0; !rc && p < l->np; p++) {
		static const char *const sexes[] = {"Maschi", "Femmine", "Totale"};
		char period[48], dal[11], al[11];
		if (q->yearly)
			snprintf(period, sizeof period, "%d", DATE_YEAR(l->dal[p]));
		else
			STR_FMT_KNOWN(period, "%s %d", mesi[DATE_MONTH(l->dal[p]) - 1],
				      DATE_YEAR(l->dal[p])); /* a month's name and a year */
		date_format(l->dal[p], dal);
		date_format(l->al[p], al);
		for (int sx = 0; sx < 3; sx++) {
			int r = p * 3 + sx;
			const char *lab[] = {code, name, period, dal, al, sexes[sx]};
			for (int i = 0; i < 6; i++)
				set_label(g, r, i, lab[i]);
			for (int x = 0; x < STATS_B_COLS; x++) {
				*at(g, r, x) = v[p][sx][x];
				g->bal_hidden[r * STATS_B_COLS + x] = h[p][sx][x];
			}
		}
	}
	g->balance = true;
	stats_linked_balance_release(&own.b);
	return rc;
}

/* ------------------------------------------------------------ output */

static const char *const age_cols[] = {"Codice territorio", "Territorio", "Età", "Totale maschi",
				       "Totale femmine", "Totale"};

static json_t *grid_json(struct grid *g, int threshold, const char *const *colnames)
{
	int n = g->rows * g->cols;
	bool *hidden = calloc((size_t)n + 1, sizeof *hidden);
	if (!hidden)
		return NULL;
	if (g->balance)
		memcpy(hidden, g->bal_hidden, (size_t)n * sizeof *hidden);
	else {
		if (g->fixed_hidden)
			memcpy(hidden, g->fixed_hidden, (size_t)n * sizeof *hidden);
		stats_protect_fixed(g->v, NULL, g->known, g->fixed, hidden, n, g->eq_cells, g->eq_len,
				    g->neq, threshold);
	}
	json_t *cols = json_array(), *rows = json_array();
	for (int i = 0; i < g->labels + g->cols + g->nextra; i++)
		json_array_append_new(cols, json_string(colnames[i]));
	for (int r = 0; r < g->rows; r++) {
		json_t *row = json_array();
		for (int i = 0; i < g->labels; i++)
			json_array_append_new(row, json_string(g->label[r * g->labels + i]));
		for (int c = 0; c < g->cols; c++)
			json_array_append_new(row, hidden[r * g->cols + c] ? json_null()
							: json_integer(*at(g, r, c)));
		if (g->extra)
			g->extra(g, r, hidden, row);
		json_array_append_new(rows, row);
	}
	free(hidden);
	return json_pack("{s:o,s:o}", "colonne", cols, "righe", rows);
}

/* The period of a balance (*from, *to: q's months, or the first month
 * covered to the last one covered whole, each month from its first day to
 * its last, the first cut to start after cov_from; a month ending after
 * cov_to refused, stats_complete_check) or, for the other tables, the day
 * `on` (the first of a month) and *state, the day whose end is the
 * population "at the start of" `on` (within cov_from..cov_to); refused
 * otherwise. */
static vis_err table_dates(const struct stats_table_query *q, int cov_from, int cov_to, int on,
			   int *from, int *to, int *state, struct vis_error *e)
{
	char df[11] = "", dt[11] = "", d[11];
	if (cov_from) {
		date_format(cov_from, df);
		date_format(cov_to, dt);
	}
	if (q->table == STATS_BILANCIO) {
		/* Whole months, each from its first day to its last, cut to the
		 * period covered: flows before the first import are not in the
		 * register, the first month starts the day after it; the last
		 * month is one the register covers whole, as in the series. */
		if (!cov_from)
			return vis_error_set(e, VIS_ERR_INVALID,
					     "nessuna importazione per questi comuni: il registro "
					     "non copre alcun periodo");
		int next = date_add_days(cov_from, 1);
		int fm = q->from ? q->from : DATE_YEAR(next) * 100 + DATE_MONTH(next);
		/* by default up to the last month covered whole; a later one
		 * asked is refused (only whole months are published) */
		int tm = q->to ? q->to : stats_complete_month(cov_to);
		vis_err rc = stats_complete_check(tm, 0, cov_to, e);
		if (rc)
			return rc;
		int first = fm * 100 + 1;
		int last = tm * 100 + date_days_in_month(tm / 100, tm % 100);
		*from = first > cov_from ? first : next;
		*to = last < cov_to ? last : cov_to;
		if (fm > tm)
			return vis_error_set(e, VIS_ERR_INVALID,
					     "\"from\" (%04d-%02d) è dopo \"to\" (%04d-%02d)",
					     fm / 100, fm % 100, tm / 100, tm % 100);
		if (*from > *to) {
			/* the first day that can be asked for, said as such */
			char first_day[11];
			date_format(next, first_day);
			return vis_error_set(e, VIS_ERR_INVALID,
					     "il bilancio si calcola solo sul periodo coperto dal registro: "
					     "dal %s (il giorno dopo la prima importazione, del %s) al %s; "
					     "i mesi chiesti, da %04d-%02d a %04d-%02d, ne sono fuori",
					     first_day, df, dt, fm / 100, fm % 100, tm / 100, tm % 100);
		}
		return VIS_OK;
	}
	date_format(on, d);
	/* On the first of a month only, at its start: the population at the
	 * end of the day before, the end of the previous month's balance and
	 * the series' stock of that month (one state per month boundary, so
	 * no table differs from another by days of flows). */
	if (DATE_DAY(on) != 1)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "le tavole si danno al primo giorno di un mese (AAAA-MM-01), "
				     "non al %s", d);
	*state = date_add_days(on, -1);
	/* Before the first import the register does not know who lived there. */
	if (!cov_from)
		return vis_error_set(e, VIS_ERR_INVALID, "nessuna importazione per questi comuni");
	vis_err rc = stats_complete_check(0, on, cov_to, e);
	if (rc)
		return rc;
	if (*state < cov_from) {
		int y = DATE_YEAR(cov_from), m = DATE_MONTH(cov_from) + 1;
		if (m > 12) {
			m = 1;
			y++;
		}
		return vis_error_set(e, VIS_ERR_INVALID,
				     "il registro copre questi comuni dal %s: la prima data è il "
				     "%04d-%02d-01 (la popolazione all'inizio del giorno, cioè alla "
				     "fine del giorno prima), non %s", df, y, m, d);
	}
	return VIS_OK;
}

/* ------------------------------------------------------------ a pool */

/* The municipalities of a pool, each once, in code order. */
struct members {
	char (*code)[8];
	size_t n, cap;
	bool bad, oom;
};

static int members_add(struct members *m, const char *code, size_t len)
{
	if (!len || len >= sizeof *m->code) {
		m->bad = true;
		return 1;
	}
	for (size_t i = 0; i < m->n; i++)
		if (strlen(m->code[i]) == len && !strncmp(m->code[i], code, len))
			return 0;
	if (!grow((void **)&m->code, &m->cap, m->n, sizeof *m->code, 64)) {
		m->oom = true;
		return 1;
	}
	/* len < sizeof *m->code, checked above */
	STR_FMT_KNOWN_CAP(m->code[m->n++], sizeof *m->code, "%.*s", (int)len, code);
	return 0;
}

static int add_imported(void *ctx, const char *comune, int64_t first, int64_t last)
{
	(void)first;
	(void)last;
	return members_add(ctx, comune, strlen(comune));
}

static int cmp_code(const void *x, const void *y)
{
	return strcmp(x, y);
}

/* The members of q's pool: its municipalities, or every one imported. */
static vis_err pool_members(struct store *s, const char *comuni, struct members *m,
			    struct vis_error *e)
{
	vis_err rc = VIS_OK;
	if (!comuni[0])
		rc = store_import_span_each(s, add_imported, m, e);
	for (const char *p = comuni; !rc && *p;) {
		size_t n = strcspn(p, ",");
		if (members_add(m, p, n))
			break;
		p += n + (p[n] == ',');
	}
	if (!rc && m->bad)
		return vis_error_set(e, VIS_ERR_INVALID, "comuni: codici ISTAT separati da virgole");
	if (!rc && m->oom)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	if (!rc && !m->n)
		return vis_error_set(e, VIS_ERR_INVALID, "nessuna importazione per questi comuni");
	if (!rc)
		qsort(m->code, m->n, sizeof *m->code, cmp_code);
	return rc;
}

/* Counts of a row of a table: at most this many (the balance has 12). */
#define ROW_COUNTS 16

/* Adds one member's row to the pool's rows: the same row (its label cells
 * after the territory's, the key in index) summed with stats_pool_add, or
 * a new one (the members without it have none of those persons: 0,
 * published).  False when a row is not counts after labels, or out of
 * memory. */
static bool pool_row_add(json_t *rows, json_t *index, json_t *row, const char *code,
			 const char *name)
{
	size_t n = json_array_size(row), nlab = 0;
	while (nlab < n && json_is_string(json_array_get(row, nlab)))
		nlab++;
	if (nlab < 2 || n - nlab > ROW_COUNTS)
		return false;
	struct strbuf key;
	strbuf_init(&key, 4096);
	strbuf_adds(&key, "|");
	for (size_t i = 2; i < nlab; i++) {
		strbuf_adds(&key, json_string_value(json_array_get(row, i)));
		strbuf_add(&key, "\x1f", 1);
	}
	bool ok = !key.err;
	json_t *at = ok ? json_object_get(index, key.buf) : NULL;
	json_t *pooled = at ? json_array_get(rows, (size_t)json_integer_value(at)) : NULL;
	if (ok && !pooled) {
		pooled = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(pooled, i == 0 ? json_string(code)
						      : i == 1 ? json_string(name)
						      : i < nlab ? json_incref(json_array_get(row, i))
								 : json_integer(0));
		ok = !json_object_set_new(index, key.buf, json_integer((json_int_t)json_array_size(rows))) &&
		     !json_array_append_new(rows, pooled);
	}
	long long v[ROW_COUNTS], mv[ROW_COUNTS];
	bool h[ROW_COUNTS], mh[ROW_COUNTS];
	size_t nc = n - nlab;
	for (size_t j = 0; ok && j < nc; j++) {
		json_t *x = json_array_get(pooled, nlab + j), *y = json_array_get(row, nlab + j);
		ok = (json_is_integer(x) || json_is_null(x)) && (json_is_integer(y) || json_is_null(y)) &&
		     json_array_size(pooled) == n;
		v[j] = json_is_integer(x) ? (long long)json_integer_value(x) : 0;
		h[j] = json_is_null(x);
		mv[j] = json_is_integer(y) ? (long long)json_integer_value(y) : 0;
		mh[j] = json_is_null(y);
	}
	if (ok)
		stats_pool_add(v, h, mv, mh, (int)nc);
	for (size_t j = 0; ok && j < nc; j++)
		json_array_set_new(pooled, nlab + j, h[j] ? json_null() : json_integer(v[j]));
	strbuf_release(&key);
	return ok;
}

struct ordered {
	json_t *row;
	size_t i;
};

/* By citizenship code (999, the total, last), then as they came. */
static int cmp_state(const void *x, const void *y)
{
	const struct ordered *a = x, *b = y;
	int c = strcmp(json_string_value(json_array_get(a->row, 2)),
		       json_string_value(json_array_get(b->row, 2)));
	return c ? c : a->i < b->i ? -1 : a->i > b->i;
}

static vis_err table_compute(struct store *s, const struct refdata *rd,
			     const struct stats_table_query *q, int today, int cov_from, int cov_to,
			     struct linked_cache *cache, json_t **out, struct vis_error *e);

/* The table of a pool of municipalities (q->comuni "" or several): each
 * member's computed as when asked alone (same dates, same threshold),
 * then summed cell by cell, a cell hidden when one member's is
 * (stats_pool_add).  on: the day asked (the names as of it); the dates,
 * checked for the pool by the caller, are checked again for each member
 * against the pool's period covered. */
static vis_err pool_table(struct store *s, const struct refdata *rd,
			  const struct stats_table_query *q, int today, int on,
			  int cov_from, int cov_to, json_t **out, struct vis_error *e)
{
	struct members m = {0};
	struct linked_cache cache = {0};
	vis_err rc = pool_members(s, q->comuni, &m, e);
	struct stats_table_query *one = rc ? NULL : malloc(sizeof *one);
	if (!rc && !one)
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	char code[LABEL_MAX], name[LABEL_MAX];
	stats_territory(rd, q->comuni, q->table == STATS_BILANCIO ? today : on, code, name);
	json_t *doc = NULL, *rows = json_array(), *index = json_object();
	if (!rc && (!rows || !index))
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	/* Every table but by locality and by street (of one municipality):
	 * a whole province (every municipality of it the register imports)
	 * is one part, protected as one territory (stats_ages_linked,
	 * stock_linked, stats_balance_linked); the other members each a
	 * part.  STRASA with strasa_cittadinanza_eta: the latter's block of
	 * all states is STRASA's cells, hidden as the province's STRASA. */
	bool by_province = q->table != STATS_LOCALITA && q->table != STATS_STRADE;
	for (size_t i = 0, next = 0; !rc && i < m.n; i = next) {
		*one = *q;
		str_copy_known(one->comuni, sizeof one->comuni, m.code[i], __FILE__, __LINE__);
		next = i + 1;
		struct siblings sb = {0};
		if (by_province)
			rc = province_members(s, m.code[i], &sb, e);
		size_t j = i;
		while (j < m.n && !strncmp(m.code[j], m.code[i], 3))
			j++;
		bool whole = !rc && by_province && sb.n > 1 && j - i == sb.n;
		for (size_t x = 0; whole && x < sb.n; x++)
			whole = !strcmp(sb.code[x], m.code[i + x]);
		if (whole) {
			/* the members are in code order, each once: all of the
			 * province's when as many */
			for (size_t x = i + 1; x < j; x++) {
				size_t len = strlen(one->comuni);
				/* codes of q->comuni, itself shorter than one->comuni */
				STR_FMT_KNOWN_CAP(one->comuni + len, sizeof one->comuni - len,
						  ",%s", m.code[x]);
			}
			next = j;
		}
		free(sb.code);
		if (rc)
			break;
		json_t *mdoc = NULL, *row;
		size_t k;
		/* within the pool's period covered, so within the member's */
		rc = table_compute(s, rd, one, today, cov_from, cov_to, &cache, &mdoc, e);
		json_array_foreach(rc ? NULL : json_object_get(mdoc, "righe"), k, row)
			if (!rc && !pool_row_add(rows, index, row, code, name))
				rc = vis_error_set(e, VIS_ERR_INTERNAL,
						   "tavola %s: righe non sommabili", m.code[i]);
		if (!doc)
			doc = mdoc;
		else
			json_decref(mdoc);
	}
	if (!rc && (q->table == STATS_STRASA_CITT || q->table == STATS_STRASA_CITT_ETA)) {
		/* the states in code order (each member's: as it found them) */
		size_t n = json_array_size(rows);
		struct ordered *o = calloc(n + 1, sizeof *o);
		json_t *sorted = json_array();
		if (!o || !sorted)
			rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
		for (size_t i = 0; !rc && i < n; i++)
			o[i] = (struct ordered){json_array_get(rows, i), i};
		if (!rc)
			qsort(o, n, sizeof *o, cmp_state);
		for (size_t i = 0; !rc && i < n; i++)
			json_array_append(sorted, o[i].row);
		free(o);
		json_decref(rows);
		rows = sorted;
	}
	if (!rc) {
		char df[11], dt[11];
		date_format(cov_from, df);
		date_format(cov_to, dt);
		json_object_set_new(doc, "territorio",
				    json_pack("{s:s,s:s}", "codici", q->comuni, "nome", name));
		json_object_set_new(doc, "periodo_coperto",
				    json_pack("{s:s,s:s}", "dal", df, "al", dt));
		json_object_set(doc, "righe", rows);
		*out = doc;
		doc = NULL;
	}
	json_decref(doc);
	json_decref(rows);
	json_decref(index);
	free(one);
	free(m.code);
	linked_cache_release(&cache);
	return rc;
}

vis_err stats_table_compute(struct store *s, const struct refdata *rd,
			    const struct stats_table_query *q, int today, json_t **out,
			    struct vis_error *e)
{
	int year = q->year ? q->year : DATE_YEAR(today);
	int on = q->date ? q->date : year * 10000 + 101;
	/* A street or a locality is a place of one municipality. */
	if ((q->table == STATS_LOCALITA || q->table == STATS_STRADE) &&
	    (!q->comuni[0] || strchr(q->comuni, ',')))
		return vis_error_set(e, VIS_ERR_INVALID,
				     "le tavole per località e per via sono di un solo comune: "
				     "indicare un codice ISTAT in \"comuni\"");
	/* Every read of the table (its coverage, counts, the province it is
	 * protected with) in one snapshot: an import committing between two
	 * of them would mix two states of the register in one table. */
	bool began;
	vis_err rc = store_snapshot_join(s, &began, e);
	if (rc)
		return rc;
	int cov_from, cov_to, from = 0, to = 0, state = 0;
	rc = stats_coverage(s, q->comuni, &cov_from, &cov_to, e);
	if (!rc)
		rc = table_dates(q, cov_from, cov_to, on, &from, &to, &state, e);
	if (!rc && (!q->comuni[0] || strchr(q->comuni, ',')))
		rc = pool_table(s, rd, q, today, on, cov_from, cov_to, out, e);
	else if (!rc)
		rc = table_compute(s, rd, q, today, cov_from, cov_to, NULL, out, e);
	store_snapshot_leave(s, began);
	return rc;
}

/* One municipality's table (q's dates checked against cov_from..cov_to,
 * the period covered, by the caller). */
static vis_err table_compute(struct store *s, const struct refdata *rd,
			     const struct stats_table_query *q, int today, int cov_from, int cov_to,
			     struct linked_cache *cache, json_t **out, struct vis_error *e)
{
	int threshold = q->threshold > 0 ? q->threshold : 3;
	int year = q->year ? q->year : DATE_YEAR(today);
	int on = q->date ? q->date : year * 10000 + 101;
	int from = 0, to = 0, state = 0;
	long long *age_sum = NULL;
	vis_err rc = table_dates(q, cov_from, cov_to, on, &from, &to, &state, e);
	if (rc)
		return rc;
	/* a stock table says "on" (the first of a month) and counts the
	 * population at the end of the day before (table_dates) */
	int shown = on;
	if (q->table != STATS_BILANCIO)
		on = state;
	char code[LABEL_MAX], name[LABEL_MAX], df[11], dt[11];
	stats_territory(rd, q->comuni, q->table == STATS_BILANCIO ? today : shown, code, name);
	struct grid g;
	memset(&g, 0, sizeof g);
	json_t *head = json_object();
	if (cov_from) {
		date_format(cov_from, df);
		date_format(cov_to, dt);
		json_object_set_new(head, "periodo_coperto", json_pack("{s:s,s:s}", "dal", df, "al", dt));
	} else
		json_object_set_new(head, "periodo_coperto", json_null());
	char tcode[32];
	table_code(q->table, tcode);
	json_object_set_new(head, "tavola", json_string(tcode));
	json_object_set_new(head, "territorio", json_pack("{s:s,s:s}", "codici", q->comuni, "nome", name));
	json_object_set_new(head, "soglia", json_integer(threshold));
	const char *const *colnames = age_cols;
	const char *title = "";

	if (q->table == STATS_BILANCIO) {
		rc = balance_table(s, cache, q, from, to, threshold, &g, code, name, e);
		static const char *const bc[] = {
			"Codice territorio", "Territorio", "Periodo", "Dal", "Al", "Sesso",
			"Popolazione inizio periodo", "Nati vivi", "Morti", "Saldo naturale",
			"Iscritti da altri comuni", "Iscritti dall'estero", "Altri iscritti",
			"Cancellati per altri comuni", "Cancellati per l'estero", "Altri cancellati",
			"Saldo migratorio e per altri motivi", "Popolazione fine periodo"};
		colnames = bc;
		title = q->yearly ? "Bilancio demografico annuale" : "Bilancio demografico mensile";
		date_format(from, df);
		date_format(to, dt);
		json_object_set_new(head, "riferimento", json_pack("{s:s,s:s}", "dal", df, "al", dt));
	} else {
		char d[11];
		date_format(shown, d);
		json_object_set_new(head, "riferimento", json_string(d));
		if (q->table == STATS_LOCALITA || q->table == STATS_STRADE) {
			bool street = q->table == STATS_STRADE;
			static const char *const lc[] = {
				"Codice territorio", "Territorio", "Località (frazione)", "Maschi",
				"Femmine", "Totale", "0-14 anni", "15-64 anni", "65 anni e più",
				"Stranieri", "Italiani", "Famiglie", "Indice di vecchiaia", "Età media"};
			static const char *const sc[] = {
				"Codice territorio", "Territorio", "DUG", "Denominazione", "Maschi",
				"Femmine", "Totale", "0-14 anni", "15-64 anni", "65 anni e più",
				"Stranieri", "Italiani", "Famiglie", "Indice di vecchiaia", "Età media"};
			colnames = street ? sc : lc;
			title = street ? "Popolazione residente, famiglie e indicatori per via"
				       : "Popolazione residente, famiglie e indicatori per località";
			rc = address_table(s, q, on, threshold, &g, code, name, &age_sum, e);
		} else {
			struct on_date *a = calloc(1, sizeof *a);
			if (!a) {
				json_decref(head);
				return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
			}
			a->q = q;
			a->rd = rd;
			a->on = on;
			/* the province's protection: the pool's, or this table's own */
			struct linked_cache own = {0}, *lc = cache ? cache : &own;
			lc->protect = q->cache;
			lc->stop = &q->stop;
			const struct linked_stock *ls = NULL;
			int part = -2;
			/* The province's protection first: its pass reads each
			 * member once, and this part's counts are its members'
			 * (part_counts, states_part); a pass of its own only for
			 * a municipality the province has not imported. */
			bool counted = false;
			enum stats_table lt = q->table == STATS_STRASA || q->table == STATS_STRASA_CITT
				? STATS_STRASA_CITT_ETA : q->table;
			if (q->table == STATS_POSAS) {
				rc = ages_get(s, lc, q->comuni, on, threshold, &part, e);
				counted = !rc && part_counts(&a->age[0][0],
							     lc->l.age ? &lc->l.age[0][0][0] : NULL,
							     2 * AGES, lc->l.nm, part);
			} else {
				/* a municipality with its province, or the whole
				 * province (docs/api.md, "Pools") */
				rc = stock_get(s, lc, lt, q->comuni, on, threshold, &ls, &part, e);
				if (!rc && q->table == STATS_STRASA)
					counted = part_counts(&a->age[0][0],
							      ls->ages.age ? &ls->ages.age[0][0][0] : NULL,
							      2 * AGES, ls->ages.nm, part);
				else if (!rc && (q->table == STATS_STRASA_CITT ||
						 q->table == STATS_STRASA_CITT_ETA))
					counted = states_part(ls, part, a);
				else if (!rc && q->table == STATS_STATO_CIVILE)
					counted = part_counts(&a->civil[0][0][0],
							      ls->cv ? &ls->cv[0][0][0][0] : NULL,
							      2 * STATS_CIVIL * AGES, ls->nm, part);
			}
			/* the households: by type and size (part_counts) */
			long long hh[TIPI][STATS_SIZES];
			bool households = q->table == STATS_FAMIGLIE || q->table == STATS_FAMIGLIE_TIPO;
			if (!rc && households)
				counted = part_counts(&hh[0][0], ls->hh ? &ls->hh[0][0][0] : NULL,
						      TIPI * STATS_SIZES, ls->nm, part);
			if (!rc && !counted) {
				rc = each_member_at(s, q->comuni, on, add_resident, a, e);
				if (!rc && a->oom)
					rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
				if (!rc && households)
					household_counts(a, hh);
			}
			if (!rc && (q->table == STATS_POSAS || q->table == STATS_STRASA)) {
				if (!fill_ages(&g, a->age, code, name))
					rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
				/* a municipality with its province, or the whole
				 * province (docs/api.md, "Pools") */
				if (!rc && q->table == STATS_POSAS)
					rc = ages_fix(&g, &lc->l, part, e);
				/* STRASA: the block of all states of
				 * strasa_cittadinanza_eta's protection, the three
				 * tables' one (its audit may hide more) */
				if (!rc && q->table == STATS_STRASA)
					rc = strasa_fix(&g, ls, part, e);
				title = q->table == STATS_POSAS
					? "Popolazione residente per sesso ed età"
					: "Cittadini stranieri residenti per sesso ed età";
			} else if (!rc && q->table == STATS_STRASA_CITT_ETA) {
				static const char *const ce[] = {"Codice territorio", "Territorio",
								 "Codice cittadinanza", "Paese di cittadinanza",
								 "Età", "Maschi", "Femmine", "Totale"};
				colnames = ce;
				title = "Cittadini stranieri residenti per cittadinanza, sesso ed età";
				/* a municipality with its province, or the whole
				 * province (docs/api.md, "Pools"): its states, and
				 * those of the province its protection hides a zero
				 * of; each state's total row its row of
				 * strasa_cittadinanza, the block of all states STRASA,
				 * hidden as those tables hide them (stock_get above) */
				a->nst = cite_more_states(ls, part, a);
				if (!rc && !fill_citizenship_ages(&g, a, rd, code, name))
					rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
				if (!rc)
					rc = cite_fix(&g, a, ls, part, e);
			} else if (!rc && q->table == STATS_STRASA_CITT) {
				static const char *const cc[] = {"Codice territorio", "Territorio",
								 "Codice cittadinanza", "Paese di cittadinanza",
								 "Maschi", "Femmine", "Totale"};
				colnames = cc;
				title = "Cittadini stranieri residenti per cittadinanza e sesso";
				/* a municipality with its province, or the whole
				 * province (docs/api.md, "Pools"): its states, and
				 * those of the province its protection hides a zero of;
				 * each state's total row of strasa_cittadinanza_eta's
				 * protection, the three tables' one (its audit may hide
				 * more; stock_get above) */
				size_t room = (size_t)a->nst + (size_t)ls->rows + 1;
				char(*states)[4] = malloc(room * sizeof *states);
				long long(*n)[2] = malloc(room * sizeof *n);
				for (int i = 0; states && n && i < a->nst; i++) {
					memcpy(states[i], a->st[i].code, sizeof states[i]);
					memcpy(n[i], a->st[i].n, sizeof n[i]);
				}
				int nst = !states || !n ? 0 : stock_more_states(ls, part, states, n, a->nst);
				if ((!states || !n ||
					    !fill_citizenship(&g, nst, (const char(*)[4])states,
							      (const long long(*)[2])n, rd, code, name)))
					rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
				free(states);
				free(n);
				if (!rc)
					rc = stock_fix(&g, ls, part, q->table, e);
			} else if (!rc && q->table == STATS_STATO_CIVILE) {
				static const char *const sc[] = {
					"Codice territorio", "Territorio", "Età", "Celibi",
					"Coniugati o uniti civilmente",
					"Divorziati o già in unione civile per scioglimento",
					"Vedovi o già in unione civile per decesso del partner",
					"Maschi di stato civile non classificabile", "Totale maschi",
					"Nubili", "Coniugate o unite civilmente",
					"Divorziate o già in unione civile per scioglimento",
					"Vedove o già in unione civile per decesso del partner",
					"Femmine di stato civile non classificabile", "Totale femmine",
					"Totale"};
				colnames = sc;
				title = "Popolazione residente per sesso, età e stato civile";
				if (!fill_civil(&g, (const long long(*)[STATS_CIVIL][AGES])a->civil, code,
						name))
					rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
				/* around POSAS, with the province (docs/api.md,
				 * "Stato civile"; stock_get above) */
				if (!rc)
					rc = stock_fix(&g, ls, part, q->table, e);
			} else if (!rc) {
				bool by_type = q->table == STATS_FAMIGLIE_TIPO;
				static const char *const fc[] = {"Codice territorio", "Territorio",
								 "Numero di componenti", "Famiglie"};
				static const char *const tc[] = {"Codice territorio", "Territorio",
								 "Tipologia familiare", "1 componente",
								 "2 componenti", "3 componenti", "4 componenti",
								 "5 componenti", "6 componenti e più", "Totale"};
				colnames = by_type ? tc : fc;
				title = by_type ? "Famiglie per tipologia familiare e numero di componenti"
						: "Famiglie per numero di componenti";
				if (!fill_households(&g, (const long long(*)[STATS_SIZES])hh, by_type, code,
						     name))
					rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
				/* a municipality with its province, or the whole
				 * province (docs/api.md, "Pools"; stock_get above) */
				if (!rc)
					rc = stock_fix(&g, ls, part, q->table, e);
			}
			free(a->fam);
			free(a);
			linked_cache_release(&own);
		}
	}
	if (!rc && g.oom)
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	json_t *body = rc ? NULL : grid_json(&g, threshold, colnames);
	grid_release(&g);
	free(age_sum);
	if (!rc && !body)
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	if (rc) {
		json_decref(head);
		return rc;
	}
	json_object_set_new(head, "titolo", json_string(title));
	json_object_update(head, body);
	json_decref(body);
	*out = head;
	return VIS_OK;
}

/* A table has at most a few thousand rows: far below this. */
#define TABLE_CSV_MAX (16u << 20)

char *stats_table_csv(json_t *table)
{
	struct strbuf sb;
	strbuf_init(&sb, TABLE_CSV_MAX);
	json_t *cols = json_object_get(table, "colonne"), *rows = json_object_get(table, "righe");
	size_t i, j;
	json_t *x, *row;
	json_array_foreach(cols, i, x)
		strbuf_add_csv(&sb, json_string_value(x), i + 1 == json_array_size(cols));
	vis_err rc = VIS_OK;
	json_array_foreach(rows, i, row) {
		json_array_foreach(row, j, x) {
			char num[24] = "";
			if (json_is_integer(x))
				snprintf(num, sizeof num, "%lld", (long long)json_integer_value(x));
			else if (json_is_real(x))
				snprintf(num, sizeof num, "%.2f", json_real_value(x));
			rc = strbuf_add_csv(&sb, json_is_string(x) ? json_string_value(x) : num,
					    j + 1 == json_array_size(row));
		}
	}
	if (rc || !sb.len) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, NULL);
}
