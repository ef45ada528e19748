"""The interval attacker of the statistics' e2e tests (issue #17): each
hidden count's minimum and maximum over every table consistent with what
is published, the counts never negative -- the audit of tau-argus, as
unit.test_stats's lp_recovered does in-process.

The solver is GLPK's simplex, the same library unit.test_stats links
(libglpk40, which libglpk-dev brings: scripts/deps.sh), called through
ctypes: the integer condition relaxed (an interval at most as narrow as the
integer one), each cell's minimum and maximum solved from the previous
basis (a warm start), one problem per connected part of the relations
(the cells a relation ties together once the published ones are put in).
Beside the relations, inequalities (a published indicator rounded: its
numerator against its denominator times the interval of its value) are
rows with one bound or two."""
import ctypes
import ctypes.util

GLP_MIN, GLP_MAX = 1, 2
GLP_FR, GLP_LO, GLP_UP, GLP_DB, GLP_FX = 1, 2, 3, 4, 5
GLP_OPT, GLP_UNBND = 5, 6

_glpk = None


def glpk():
    """libglpk, loaded once, its output off."""
    global _glpk
    if _glpk is None:
        name = ctypes.util.find_library("glpk")
        if name is None:
            raise RuntimeError("libglpk not found: scripts/deps.sh installs libglpk-dev")
        g = ctypes.CDLL(name)
        g.glp_create_prob.restype = ctypes.c_void_p
        g.glp_delete_prob.argtypes = [ctypes.c_void_p]
        for f in ("glp_add_rows", "glp_add_cols"):
            getattr(g, f).argtypes = [ctypes.c_void_p, ctypes.c_int]
        for f in ("glp_set_row_bnds", "glp_set_col_bnds"):
            getattr(g, f).argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                                      ctypes.c_double, ctypes.c_double]
        g.glp_load_matrix.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
                                      ctypes.c_void_p, ctypes.c_void_p]
        g.glp_set_obj_coef.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_double]
        g.glp_set_obj_dir.argtypes = [ctypes.c_void_p, ctypes.c_int]
        g.glp_simplex.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        g.glp_get_status.argtypes = [ctypes.c_void_p]
        g.glp_get_obj_val.argtypes = [ctypes.c_void_p]
        g.glp_get_obj_val.restype = ctypes.c_double
        g.glp_get_col_prim.argtypes = [ctypes.c_void_p, ctypes.c_int]
        g.glp_get_col_prim.restype = ctypes.c_double
        g.glp_term_out(0)
        _glpk = g
    return _glpk


def parts(rows):
    """The rows (each {unknown: coefficient} first) grouped by the unknowns
    they share: a list of lists of row indices."""
    up = {}

    def root(x):
        while up.setdefault(x, x) != x:
            up[x] = up[up[x]]
            x = up[x]
        return x

    for coef, *_ in rows:
        it = iter(coef)
        first = root(next(it))
        for v in it:
            r = root(v)
            if r != first:
                up[r] = first
    out = {}
    for i, (coef, *_) in enumerate(rows):
        out.setdefault(root(next(iter(coef))), []).append(i)
    return list(out.values())


def intervals(relations, fixed, targets, free=lambda v: False, wide=float("inf"),
              bounds=()):
    """{target: (minimum, maximum)} of each unknown in targets over the
    solutions of relations ([({unknown: coefficient}, constant)]: sum(c *
    x) = constant) with the unknowns of fixed ({unknown: value}) put in,
    every other unknown >= 0 unless free(unknown); a maximum with no
    bound is inf.  A target no relation holds is left out.  With wide, a
    target two solutions already found put at least wide apart is not
    solved for: its (lowest, highest) value in the solutions found, an
    interval within its own, at least wide (each solution's values of the
    targets left are read; at 0 a target >= 0 has its minimum).  bounds
    ([({unknown: coefficient}, low, high)]: low <= sum(c * x) <= high,
    None no bound) are inequalities beside the relations.  Raises
    AssertionError when the relations have no such solution (the
    published cells are the true ones: they always have one)."""
    g = glpk()
    rows = []   # ({unknown: coefficient}, low, high): low = high an equality

    def put(coef):
        """coef with fixed's unknowns put in: (the rest, their value)."""
        row, known = {}, 0
        for v, c in coef.items():
            if not c:
                continue
            if v in fixed:
                known += c * fixed[v]
            else:
                row[v] = row.get(v, 0) + c
        return {v: c for v, c in row.items() if c}, known

    for coef, const in relations:
        row, known = put(coef)
        if row:
            rows.append((row, const - known, const - known))
        elif const - known:
            raise AssertionError(f"a relation of published cells only does not hold: {coef}")
    for coef, low, high in bounds:
        row, known = put(coef)
        low = None if low is None else low - known
        high = None if high is None else high - known
        if row:
            rows.append((row, low, high))
        elif (low is not None and low > 1e-9 * max(1, abs(low))) or \
                (high is not None and high < -1e-9 * max(1, abs(high))):
            raise AssertionError(f"an inequality of published cells only does not hold: {coef}")
    targets = set(targets)
    out = {}
    for part in parts(rows):
        cols = {}
        for i in part:
            for v in rows[i][0]:
                cols.setdefault(v, len(cols) + 1)
        mine = [v for v in cols if v in targets]
        if not mine:
            continue
        ne = sum(len(rows[i][0]) for i in part)
        ia, ja = (ctypes.c_int * (ne + 1))(), (ctypes.c_int * (ne + 1))()
        ar = (ctypes.c_double * (ne + 1))()
        lp = g.glp_create_prob()
        try:
            g.glp_add_rows(lp, len(part))
            g.glp_add_cols(lp, len(cols))
            for v, j in cols.items():
                g.glp_set_col_bnds(lp, j, GLP_FR if free(v) else GLP_LO, 0.0, 0.0)
            k = 0
            for r, i in enumerate(part, 1):
                coef, low, high = rows[i]
                if low is None and high is None:
                    g.glp_set_row_bnds(lp, r, GLP_FR, 0.0, 0.0)
                elif low is None:
                    g.glp_set_row_bnds(lp, r, GLP_UP, 0.0, float(high))
                elif high is None:
                    g.glp_set_row_bnds(lp, r, GLP_LO, float(low), 0.0)
                elif low == high:
                    g.glp_set_row_bnds(lp, r, GLP_FX, float(low), float(low))
                else:
                    g.glp_set_row_bnds(lp, r, GLP_DB, float(low), float(high))
                for v, c in coef.items():
                    k += 1
                    ia[k], ja[k], ar[k] = r, cols[v], float(c)
            g.glp_load_matrix(lp, ne, ia, ja, ar)
            if g.glp_simplex(lp, None) != 0 or g.glp_get_status(lp) != GLP_OPT:
                raise AssertionError("the published cells admit no table of counts >= 0 "
                                     f"(a part of {len(cols)} unknowns)")
            seen = {}    # target -> [lowest, highest] in the solutions found
            left = list(mine)

            def read():
                nonlocal left
                keep = []
                for v in left:
                    x = g.glp_get_col_prim(lp, cols[v])
                    s = seen.setdefault(v, [x, x])
                    s[0], s[1] = min(s[0], x), max(s[1], x)
                    if s[1] - s[0] >= wide:
                        out[v] = tuple(s)
                    else:
                        keep.append(v)
                left = keep

            if wide < float("inf"):
                read()
                # two solutions far apart first: every target at its
                # highest together, then at its lowest
                for d in (GLP_MAX, GLP_MIN):
                    for v in mine:
                        g.glp_set_obj_coef(lp, cols[v], 1.0)
                    g.glp_set_obj_dir(lp, d)
                    if g.glp_simplex(lp, None) == 0 and g.glp_get_status(lp) == GLP_OPT:
                        read()
                for v in mine:
                    g.glp_set_obj_coef(lp, cols[v], 0.0)
            while left:
                v = left.pop()
                j = cols[v]
                g.glp_set_obj_coef(lp, j, 1.0)
                bound = []
                for d in (GLP_MIN, GLP_MAX):
                    if d == GLP_MIN and not free(v) and v in seen and seen[v][0] <= 0:
                        bound.append(0.0)
                        continue
                    g.glp_set_obj_dir(lp, d)
                    if g.glp_simplex(lp, None) != 0:
                        raise AssertionError(f"the simplex failed on {v}")
                    st = g.glp_get_status(lp)
                    if st == GLP_UNBND and (d == GLP_MAX or free(v)):
                        bound.append(float("inf") if d == GLP_MAX else float("-inf"))
                    elif st == GLP_OPT:
                        bound.append(g.glp_get_obj_val(lp))
                        if wide < float("inf"):
                            read()
                    else:
                        raise AssertionError(f"the simplex on {v}: status {st}")
                g.glp_set_obj_coef(lp, j, 0.0)
                out[v] = tuple(bound)
        finally:
            g.glp_delete_prob(lp)
    return out
