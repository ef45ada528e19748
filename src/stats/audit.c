#include "stats/audit.h"

#include <Clp_C_Interface.h>
#include <stdlib.h>
#include <string.h>

/* Two bounds closer than this are one value (the simplex works in
 * doubles; counts are whole numbers). */
#define AUDIT_EPS 1e-6

static int uf_find(int *up, int x)
{
	while (up[x] != x) {
		up[x] = up[up[x]];
		x = up[x];
	}
	return x;
}

/* The scratch of one audit, kept across its rounds. */
struct work {
	const struct stats_audit *a;
	const bool *hidden;
	int *off;       /* [identity]: its first cell in eq_cells */
	int *up;        /* [cell]: union-find of the hidden cells sharing an identity */
	int *comp;      /* [root cell]: its component among those audited, -1 */
	int *col;       /* [cell]: its column in its component's problem (1-based) */
	int *ncol;      /* [component]: columns */
	int *eqs;       /* identities, bucketed by component */
	int *eq_start;  /* [component + 1] */
};

/* CLP's status after a run: 0 optimal, 1 infeasible, 2 unbounded, 3
 * stopped, 4 failed. */
enum { LP_OPT = 0, LP_UNBND = 2 };

/* The first run of a problem: CLP's own choice (its presolve, then, as
 * its log shows, the primal simplex from the slack basis: the dual
 * simplex forced takes 2.5 times the iterations and 4 times the CPU).
 * Its vertex, far from the true counts, shows most small counts moved
 * at once (2,756 of 2,830 at 200,000 persons); the cheaper starts tried
 * leave more to the bounds (docs/performance.md, "The exact audit's
 * first run").  The status. */
static int solve_first(Clp_Simplex *lp)
{
	Clp_initialSolve(lp);
	return Clp_status(lp);
}

/* A run after the objective changed: CLP's presolve again, then its
 * primal simplex (the last solution still feasible: only the objective
 * moved); at 200,000 persons about half the CPU of the primal simplex
 * alone on the whole problem (docs/performance.md).  Anything but
 * optimal or unbounded (the presolve may stop short) retried once by the
 * primal simplex alone from the last basis.  The status. */
static int solve_again(Clp_Simplex *lp, Clp_Solve *primal)
{
	Clp_initialSolveWithOptions(lp, primal);
	int st = Clp_status(lp);
	if (st != LP_OPT && st != LP_UNBND) {
		Clp_primal(lp, 0);
		st = Clp_status(lp);
	}
	return st;
}

/* Component c's problem: a column per hidden cell (>= its lower bound),
 * a row per identity with a hidden cell, the published cells on its
 * right-hand side.  NULL when out of memory. */
static Clp_Simplex *problem(struct work *w, int c)
{
	const struct stats_audit *a = w->a;
	int ncol = w->ncol[c], rows = w->eq_start[c + 1] - w->eq_start[c];
	int *start = calloc((size_t)ncol + 1, sizeof *start);
	double *rhs = malloc(((size_t)rows + 1) * sizeof *rhs);
	int ne = 0;
	for (int x = w->eq_start[c]; start && x < w->eq_start[c + 1]; x++) {
		int k = w->eqs[x];
		const int *q = &a->eq_cells[w->off[k]];
		for (int j = 0; j < a->eq_len[k]; j++)
			if (w->hidden[q[j]]) {
				start[w->col[q[j]]]++;
				ne++;
			}
	}
	int *index = malloc(((size_t)ne + 1) * sizeof *index);
	double *value = malloc(((size_t)ne + 1) * sizeof *value);
	/* a column in no identity keeps 0 (only wider) */
	double *low = a->low ? calloc((size_t)ncol + 1, sizeof *low) : NULL;
	Clp_Simplex *lp = NULL;
	if (!start || !rhs || !index || !value || (a->low && !low))
		goto out;
	/* column-major: start[j] the first entry of column j (0-based) */
	for (int j = 0; j < ncol; j++)
		start[j + 1] += start[j];
	for (int x = w->eq_start[c], row = 0; x < w->eq_start[c + 1]; x++, row++) {
		int k = w->eqs[x], len = a->eq_len[k];
		const int *q = &a->eq_cells[w->off[k]];
		rhs[row] = 0;
		for (int j = 0; j < len; j++) {
			double coef = j == len - 1 ? -1.0 : 1.0;
			if (w->hidden[q[j]]) {
				int at = start[w->col[q[j]] - 1]++;
				index[at] = row;
				value[at] = coef;
				if (low)
					low[w->col[q[j]] - 1] = (double)a->low[q[j]];
			} else {
				rhs[row] -= coef * (double)a->cells[q[j]];
			}
		}
	}
	for (int j = ncol; j > 0; j--)
		start[j] = start[j - 1];
	start[0] = 0;
	lp = Clp_newModel();
	if (!lp)
		goto out;
	Clp_setLogLevel(lp, 0);
	/* columns >= their lower bounds (NULL: 0) with no upper bound, no
	 * objective (NULLs) */
	Clp_loadProblem(lp, ncol, rows, start, index, value, low, NULL, NULL, rhs, rhs);
out:
	free(low);
	free(start);
	free(rhs);
	free(index);
	free(value);
	return lp;
}

/* The targets t[0..nt) of one problem, each seen at values lo..hi among
 * its solutions so far (the true counts first), widened by the last. */
static void seen_update(Clp_Simplex *lp, const struct work *w, const int *t, int nt, double *lo,
			double *hi)
{
	const double *x = Clp_getColSolution(lp);
	for (int i = 0; i < nt; i++) {
		double v = x[w->col[t[i]] - 1];
		if (v < lo[i])
			lo[i] = v;
		if (v > hi[i])
			hi[i] = v;
	}
}

static int cmp_int(const void *x, const void *y)
{
	int a = *(const int *)x, b = *(const int *)y;
	return (a > b) - (a < b);
}

/* The caller's stop (stats_audit's stop), asked before each simplex run:
 * a run is not interrupted (CLP's C interface cannot end a presolved
 * one), so the stop waits for the run under way at most. */
static vis_err audit_stopped(struct vis_error *e)
{
	return vis_error_set(e, VIS_ERR_BUSY, "calcolo della tavola interrotto perché il servizio "
				 "si arresta: nulla è stato conservato, ripetere la richiesta tra poco");
}

/* The targets t[0..nt) (small hidden cells no direction of the caller
 * moves): those pinned moved to the front of t, their number in *np.
 * Each component of hidden cells with a target in it is one problem,
 * solved feasible first, then for each target not yet seen at two
 * values its maximum and, when that is its true count, its minimum. */
static vis_err audit_round(struct work *w, int *t, int nt, int *np, int *solved,
			   struct vis_error *e)
{
	const struct stats_audit *a = w->a;
	int n = a->n;
	for (int i = 0; i < n; i++) {
		w->up[i] = i;
		w->comp[i] = -1;
	}
	for (int k = 0; k < a->neq; k++) {
		const int *q = &a->eq_cells[w->off[k]];
		int first = -1;
		for (int j = 0; j < a->eq_len[k]; j++) {
			if (!w->hidden[q[j]])
				continue;
			if (first < 0) {
				first = uf_find(w->up, q[j]);
				continue;
			}
			int r = uf_find(w->up, q[j]);
			if (r != first)
				w->up[r] = first;
		}
	}
	/* the components audited, numbered; the targets by component */
	int nc = 0;
	int *tc = malloc((size_t)nt * 2 * sizeof *tc);
	if (!tc)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	for (int i = 0; i < nt; i++) {
		int r = uf_find(w->up, t[i]);
		if (w->comp[r] < 0)
			w->comp[r] = nc++;
		tc[2 * i] = w->comp[r];
		tc[2 * i + 1] = t[i];
	}
	qsort(tc, (size_t)nt, 2 * sizeof *tc, cmp_int);
	int *ncol = calloc((size_t)nc + 1, sizeof *ncol), *start = calloc((size_t)nc + 2, sizeof *start);
	if (!ncol || !start) {
		free(tc);
		free(ncol);
		free(start);
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	for (int i = 0; i < n; i++)
		if (w->hidden[i]) {
			int c = w->comp[uf_find(w->up, i)];
			w->col[i] = c >= 0 ? ++ncol[c] : 0;
		}
	/* each identity with a hidden cell in an audited component */
	int *eqc = malloc(((size_t)a->neq + 1) * sizeof *eqc);
	if (!eqc) {
		free(tc);
		free(ncol);
		free(start);
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	for (int k = 0; k < a->neq; k++) {
		const int *q = &a->eq_cells[w->off[k]];
		eqc[k] = -1;
		for (int j = 0; j < a->eq_len[k] && eqc[k] < 0; j++)
			if (w->hidden[q[j]])
				eqc[k] = w->comp[uf_find(w->up, q[j])];
		if (eqc[k] >= 0)
			start[eqc[k] + 1]++;
	}
	for (int c = 0; c < nc; c++)
		start[c + 1] += start[c];
	int *fill = malloc(((size_t)nc + 1) * sizeof *fill);
	if (!fill) {
		free(tc);
		free(ncol);
		free(start);
		free(eqc);
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	memcpy(fill, start, ((size_t)nc + 1) * sizeof *fill);
	for (int k = 0; k < a->neq; k++)
		if (eqc[k] >= 0)
			w->eqs[fill[eqc[k]]++] = k;
	free(fill);
	free(eqc);
	w->ncol = ncol;
	w->eq_start = start;
	vis_err rc = VIS_OK;
	int pinned = 0;
	double *lo = malloc((size_t)nt * sizeof *lo), *hi = malloc((size_t)nt * sizeof *hi);
	int *tt = malloc((size_t)nt * sizeof *tt);
	if (!lo || !hi || !tt)
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	for (int i = 0; !rc && i < nt; i++)
		tt[i] = tc[2 * i + 1];
	for (int i0 = 0, i1; !rc && i0 < nt; i0 = i1) {
		int c = tc[2 * i0];
		for (i1 = i0; i1 < nt && tc[2 * i1] == c; i1++)
			lo[i1] = hi[i1] = (double)a->cells[tt[i1]];
		if (stop_now(a->stop)) {
			rc = audit_stopped(e);
			break;
		}
		Clp_Simplex *lp = problem(w, c);
		Clp_Solve *primal = lp ? ClpSolve_new() : NULL;
		if (!lp || !primal) {
			if (lp)
				Clp_deleteModel(lp);
			rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
			break;
		}
		ClpSolve_setSolveType(primal, 1, -1);      /* the primal simplex */
		ClpSolve_setPresolveType(primal, 0, -1);   /* presolve on */
		int st = solve_first(lp);
		(*solved)++;
		if (st != LP_OPT)
			rc = vis_error_set(e, VIS_ERR_INTERNAL,
					   "verifica della protezione: celle pubblicate incoerenti "
					   "(simplesso: stato %d)", st);
		else
			seen_update(lp, w, &tt[i0], i1 - i0, &lo[i0], &hi[i0]);
		double *obj = Clp_objective(lp);
		for (int i = i0; !rc && i < i1; i++) {
			if (hi[i] - lo[i] > AUDIT_EPS)
				continue;
			int j = w->col[tt[i]] - 1;
			obj[j] = 1.0;
			for (int d = 0; !rc && d < 2 && hi[i] - lo[i] <= AUDIT_EPS; d++) {
				if (stop_now(a->stop)) {
					rc = audit_stopped(e);
					break;
				}
				Clp_setOptimizationDirection(lp, d ? 1.0 : -1.0);
				st = solve_again(lp, primal);
				(*solved)++;
				if (st == LP_UNBND && !d)
					hi[i] = lo[i] + 1;
				else if (st == LP_OPT)
					seen_update(lp, w, &tt[i0], i1 - i0, &lo[i0], &hi[i0]);
				else
					rc = vis_error_set(e, VIS_ERR_INTERNAL,
							   "verifica della protezione: simplesso "
							   "non risolto (stato %d)", st);
			}
			obj[j] = 0.0;
			if (!rc && hi[i] - lo[i] <= AUDIT_EPS)
				t[pinned++] = tt[i];
		}
		ClpSolve_delete(primal);
		Clp_deleteModel(lp);
	}
	*np = pinned;
	free(lo);
	free(hi);
	free(tt);
	free(tc);
	free(ncol);
	free(start);
	w->ncol = NULL;
	w->eq_start = NULL;
	return rc;
}

vis_err stats_audit_protect(const struct stats_audit *a, bool *hidden,
			    struct stats_audit_report *r, struct vis_error *e)
{
	struct stats_audit_report own = {0}, *rep = r ? r : &own;
	memset(rep, 0, sizeof *rep);
	int n = a->n;
	struct work w = {.a = a, .hidden = hidden};
	w.off = malloc(((size_t)a->neq + 1) * sizeof *w.off);
	w.up = malloc(((size_t)n + 1) * sizeof *w.up);
	w.comp = malloc(((size_t)n + 1) * sizeof *w.comp);
	w.col = calloc((size_t)n + 1, sizeof *w.col);
	w.eqs = malloc(((size_t)a->neq + 1) * sizeof *w.eqs);
	int *t = malloc(((size_t)n + 1) * sizeof *t);
	int *level = calloc((size_t)n + 1, sizeof *level);
	vis_err rc = VIS_OK;
	if (!w.off || !w.up || !w.comp || !w.col || !w.eqs || !t || !level)
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	for (int k = 0, o = 0; !rc && k < a->neq; o += a->eq_len[k++])
		w.off[k] = o;
	for (int i = 0; !rc && a->low && i < n; i++)
		if (a->low[i] < 0 || a->low[i] > a->cells[i])
			rc = vis_error_set(e, VIS_ERR_INTERNAL,
					   "verifica della protezione: conteggio %lld sotto il suo "
					   "minimo noto %lld", a->cells[i], a->low[i]);
	/* the small hidden counts no direction of the caller's moves; a
	 * count not pinned stays so when more cells are hidden (its problem
	 * only relaxed): each round audits those the last one pinned */
	int nt = 0;
	for (int i = 0; !rc && i < n; i++) {
		if (!hidden[i] || a->cells[i] < 1 || a->cells[i] >= a->threshold)
			continue;
		rep->small++;
		if (a->moves && a->moves(a->ctx, i, hidden))
			rep->shown++;
		else
			t[nt++] = i;
	}
	while (!rc && nt) {
		if (rep->rounds == a->rounds) {
			rc = vis_error_set(e, VIS_ERR_LIMIT,
					   "segreto statistico: dopo %d verifiche %d conteggi piccoli "
					   "sono ancora determinati dalle celle pubblicate; tavola non "
					   "pubblicabile", a->rounds, nt);
			break;
		}
		rep->rounds++;
		int np = 0;
		rc = audit_round(&w, t, nt, &np, &rep->solved, e);
		if (rc)
			break;
		rep->pinned += np;
		int added = 0;
		/* a level that hides nothing more (done by another cell's):
		 * the next one */
		for (int i = 0; i < np; i++) {
			int p = t[i], got = 0;
			while (!got && level[p] < a->levels)
				got = a->widen(a->ctx, p, level[p]++, hidden);
			added += got;
		}
		rep->added += added;
		if (np && !added)
			rc = vis_error_set(e, VIS_ERR_LIMIT,
					   "segreto statistico: %d conteggi piccoli determinati dalle "
					   "celle pubblicate e nessuna altra cella da nascondere; "
					   "tavola non pubblicabile", np);
		nt = np;
	}
	free(w.off);
	free(w.up);
	free(w.comp);
	free(w.col);
	free(w.eqs);
	free(t);
	free(level);
	return rc;
}
