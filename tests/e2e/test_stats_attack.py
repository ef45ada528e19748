#!/usr/bin/env python3
"""End-to-end: small-cell protection against an attacker who reads every
table and series the API publishes for one municipality and a few dates, and
combines them.

For small generated municipalities (several seeds, thresholds 3 and 5) the
test reads POSAS, STRASA, STRASA by citizenship, households by size and by type
and the indicators by locality on the first day of each month a balance touches
(the population at its start: the end of the month before), the monthly balance and the
series of the population, its sexes, the foreigners and every flow.  Each
published cell is a value of one unknown of the register (the population
of a date by sex, a flow of a month by sex, the residents of an age, ...):
the same unknown wherever a table publishes it (the balance's start and
end are the populations POSAS gives for those dates, the series' births
the balance's, ...).  Then, with the published relations only (the totals
of every table, start + flows = end, births - deaths = natural balance,
registrations - cancellations = migratory balance, start + balances = end,
men + women = total, the age groups of the localities' table as sums of
POSAS's single years), it solves for the hidden unknowns by repeated
single-unknown elimination over all the relations at once, and fails when
a hidden count of 1 to threshold-1 persons comes out exactly.  The
monthly bulletin publishes the balance exactly as the monthly table does
(test_bollettino checks it cell by cell, hidden ones included), its other
tables are these tables: it adds nothing to what is read here.

Over dates (read_days, issue #17): POSAS on consecutive days (a cell that
changes by less than the threshold from one day to the next is a count of
persons of that day) and the balance of each single day and of the spans
from the first of the month to each day, linked cell by cell; the API
takes the first of a month and whole months only, so each is refused.

Pools (comuni= with several municipalities, and "" for every one) are read
beside their members: each territory's unknowns are its own, and a pool's
is the sum of its members' same unknowns (a state a member's citizenship
tables do not list: none of its citizens there, 0) -- the geographic
differencing of issue #17 (a cell hidden in A, published in B and in A+B).
by=provincia and by=comune series are the pool's and the members' (the
province 036 is the pool of both municipalities here).  The pool is the
whole province 036: its POSAS, its households (by size and by type),
its foreign residents by citizenship and its balance (monthly and
yearly, the table and the series' flows) are protected as one
territory, each municipality's POSAS, STRASA, households, citizenships
and balance jointly with it (docs/api.md, "Pools"), and the province's
POSAS and monthly balance must hide fewer cells than the union of the
members' (the rule before); test_province_stocks does the same for the
households and citizenships of larger municipalities.  With an exact
solver (Attack.exact: every relation at once, reduced row echelon form):
test_citizenship_both reads strasa_cittadinanza and
strasa_cittadinanza_eta together (a state's row of one is its total row
in the other), test_province_alone the tables of municipalities each
alone in its province (protected on their own).  stato_civile (sex,
age and civil status) is read beside POSAS in test_attack and
test_province_stocks: each age's classes of a sex add up to POSAS's cell
of that age and sex (the same unknown), its total row to the population
by sex.

The tables by place (read_places, issue #17): `localita` and `strade`
of each municipality and date, a place's nine counts its own unknowns,
every row's identities (men + women, the three age groups, foreigners +
Italians = its total) and every column over the places = the total row,
which is the municipality's population by sex, POSAS's age groups, its
foreign residents, Italians and households (the same unknowns as those
tables'); each listed place has a resident at least, no more households
than residents, and a sum of the ages within its age groups' bounds.
With the geography (cross_places: which localities each street crosses,
from the generator's files) both tables are margins of one cross table
of unknowns by (locality, street).  Every relation and every published
cell is checked on the true counts where Truth gives them all (the
places' from test_stats_places' computation).  test_places_nested plays
it on small registers, whose streets each lie in one locality as `visura
gen` draws them, where a locality is the sum of its streets: the two
tables must be protected as one (docs/api.md, `localita` and `strade`).

The interval attacker (Attack.intervals, tests/e2e/lp_attack.py) follows
the linear one in every test: over the same relations, with every count
never negative, each hidden count's minimum and maximum by linear
programming; a small count pinned (minimum = maximum) fails, the narrow
intervals of the truly small ones (Truth: from the generator's files) are
printed.  The indicators it reads (test_attack: the series' ratios and
rates, localita's) are inequalities of it: scale * num between low *
den and high * den, [low, high] the values that publish as the one read
(value_interval), each checked on the true counts where Truth gives
them.  The places' average ages (localita, strade) never give the sum
of the ages a municipality's Totale hides (ages_back: test_attack and
test_province_balance)."""
import csv
import datetime
import io
import math
import time
from fractions import Fraction

import harness
from harness import *  # noqa: F401,F403
import lp_attack
import test_stats_places as places_files
import test_stats_tables as files

START = "2026-01-01"
DAYS = 58                        # to 2026-02-28: February covered whole
LAST = (datetime.date.fromisoformat(START) + datetime.timedelta(days=DAYS)).isoformat()
SEXES = ("M", "F", "T")
BAL_SEX = {"Maschi": "M", "Femmine": "F", "Totale": "T"}
# the balance's columns: start, births, deaths, natural, in x3, out x3, migratory, end
DERIVED = (3, 10)
FLOW_SIGN = {1: 1, 2: -1, 4: 1, 5: 1, 6: 1, 7: -1, 8: -1, 9: -1}


class Attack:
    """The unknowns, what is published of them, and the relations."""

    def __init__(self, threshold):
        self.thr = threshold
        self.known = {}         # unknown -> published value
        self.hidden = set()     # unknowns some publication hides
        self.rel = []           # ({unknown: coefficient}, constant): sum(c * x) = constant
        self.ratios = []        # published indicators: (num, den, scale, value, decimals)
        self.ineq = []          # ({unknown: coefficient}, low, high): low <= sum(c * x) <= high
        self.day_leaks = []     # small changes of a cell between two consecutive days
        self.sums_back = []     # a hidden total's average age given by its places'
        self.rows = 0           # inequalities given the interval attacker
        self.checked = 0        # of which checked on the true counts
        self.checked_rel = 0    # relations checked on the true counts

    def cell(self, var, value, where):
        if value is None:
            self.hidden.add(var)
            return
        if isinstance(value, float):
            return
        if var in self.known:
            eq(self.known[var], value, f"{where}: {var} published twice, two values")
        self.known[var] = value

    def relation(self, coef, const=0):
        self.rel.append((coef, const))

    def total(self, parts, whole):
        c = {p: 1 for p in parts}
        c[whole] = c.get(whole, 0) - 1
        self.relation(c)

    def bound(self, coef, low, high):
        """An inequality the attacker knows: low <= sum(c * x) <= high (None:
        no bound)."""
        self.ineq.append((coef, low, high))

    def ratio(self, num, den, scale, value, decimals, where):
        """A published indicator: value = scale * num / den, num and den
        {unknown: coefficient}; with `decimals` a rounded value, so an
        interval; None: as computed (a double)."""
        if value is None:
            return
        check(isinstance(value, (int, float)), f"{where}: a number")
        if decimals is not None:
            k = round(value * 10 ** decimals)
            check(abs(value * 10 ** decimals - k) < 1e-6, f"{where}: {value} has {decimals} "
                  "decimals")
        self.ratios.append((num, den, scale, value, decimals))

    def ratio_rows(self):
        """The indicators as inequalities for the interval attacker: with
        [low, high] the values that publish as `value`, scale * num - low *
        den >= 0 and scale * num - high * den <= 0 (den > 0: an indicator
        of a base of 0 is not published)."""
        rows = []
        for num, den, scale, value, decimals in self.ratios:
            low, high = value_interval(value, decimals)
            for x, lo, hi in (((low, 0.0, None), (high, None, 0.0)) if low != high
                              else ((low, 0.0, 0.0),)):
                coef = {}
                for v, c in num.items():
                    coef[v] = coef.get(v, 0) + scale * c
                for v, c in den.items():
                    coef[v] = coef.get(v, 0) - x * c
                rows.append((coef, lo, hi))
        return rows

    def balance_rows(self, rows, kind="bal"):
        """A balance's rows (label cells, then the 12 counts): start and
        end are the populations of POSAS, every row's identities, and men
        + women = total in every column."""
        for r in rows:
            dal, al, s = r[3], r[4], BAL_SEX[r[5]]
            v = [bvar(dal, al, s, j, kind) for j in range(12)]
            for j in range(12):
                self.cell(v[j], r[6 + j], f"bilancio {kind} {dal} {s}")
            flows = {v[0]: 1, v[11]: -1}
            for j, sign in FLOW_SIGN.items():
                flows[v[j]] = sign
            self.relation(flows)
            self.relation({v[1]: 1, v[2]: -1, v[3]: -1})
            self.relation({v[4]: 1, v[5]: 1, v[6]: 1, v[7]: -1, v[8]: -1, v[9]: -1, v[10]: -1})
            self.relation({v[0]: 1, v[3]: 1, v[10]: 1, v[11]: -1})
        for dal, al in sorted({(r[3], r[4]) for r in rows}):
            for j in range(12):
                self.total([bvar(dal, al, "M", j, kind), bvar(dal, al, "F", j, kind)],
                           bvar(dal, al, "T", j, kind))

    def solve(self):
        """Repeated single-unknown elimination over every relation, pairs
        of relations over the same two unknowns, and every indicator with
        one unknown side (its interval admitting one integer)."""
        val = dict(self.known)
        # each relation under the unknowns it holds, to revisit it when
        # one of them is solved
        by_var = {}
        for i, (coef, _) in enumerate(self.rel):
            for v, c in coef.items():
                if c:
                    by_var.setdefault(v, []).append(i)

        def eliminate(todo):
            while todo:
                i = todo.pop()
                coef, const = self.rel[i]
                unknown = [v for v, c in coef.items() if c and v not in val]
                if len(unknown) != 1:
                    continue
                x = unknown[0]
                rest = const - sum(c * val[v] for v, c in coef.items() if v != x and c)
                check(rest % coef[x] == 0, f"relation {coef} = {const}: not an integer")
                val[x] = rest // coef[x]
                todo.extend(by_var.get(x, ()))

        eliminate(list(range(len(self.rel))))
        changed = True
        while changed:
            changed = False
            solved = []
            pairs = {}
            for coef, const in self.rel:
                unknown = [v for v, c in coef.items() if c and v not in val]
                if len(unknown) == 2:
                    rest = const - sum(c * val[v] for v, c in coef.items() if v in val and c)
                    x, y = sorted(unknown, key=str)
                    pairs.setdefault((x, y), []).append((coef[x], coef[y], rest))
            for (x, y), eqs in pairs.items():
                if x in val or y in val:
                    continue
                a1, b1, c1 = eqs[0]
                for a2, b2, c2 in eqs[1:]:
                    det = a1 * b2 - a2 * b1
                    if det == 0:
                        continue
                    nx, ny = c1 * b2 - c2 * b1, a1 * c2 - a2 * c1
                    if nx % det == 0 and ny % det == 0:
                        val[x], val[y] = nx // det, ny // det
                        solved += [x, y]
                    break
            for num, den, scale, value, decimals in self.ratios:
                unknown = [v for v in list(num) + list(den) if v not in val]
                if len(unknown) != 1:
                    continue
                x = unknown[0]
                h = 0.5 * 10 ** -decimals if decimals is not None else 1e-9 * max(1.0, abs(value))
                lo, hi = value - h - 1e-12, value + h + 1e-12
                n0 = sum(c * val[v] for v, c in num.items() if v != x)
                d0 = sum(c * val[v] for v, c in den.items() if v != x)
                if x in num:
                    if d0 <= 0:
                        continue
                    a = num[x]
                    first = math.ceil((lo * d0 / scale - n0) / a - 1e-9)
                    last = math.floor((hi * d0 / scale - n0) / a + 1e-9)
                else:
                    if n0 <= 0 or lo <= 0:
                        continue
                    b = den[x]
                    first = math.ceil((scale * n0 / hi - d0) / b - 1e-9)
                    last = math.floor((scale * n0 / lo - d0) / b + 1e-9)
                first = max(first, 0)
                if first == last:
                    val[x] = first
                    solved.append(x)
            for x in solved:
                eliminate(list(by_var.get(x, ())))
            changed = bool(solved)
        return val

    def exact(self):
        """Every unknown the relations determine, by an exact solver: the
        relations over the unknowns solve() leaves brought to reduced row
        echelon form over the rationals (sparse); an unknown is determined
        when its pivot row has no free unknown left.  For the small
        tables (stocks of a date): thousands of unknowns would be slow."""
        val = self.solve()
        pivots = {}   # pivot unknown -> ({unknown: coefficient}, constant)
        for coef, const in self.rel:
            row, rhs = {}, Fraction(const)
            for v, c in coef.items():
                if not c:
                    continue
                if v in val:
                    rhs -= c * val[v]
                else:
                    row[v] = row.get(v, 0) + Fraction(c)
            row = {v: c for v, c in row.items() if c}
            # reduce by the pivots found so far
            for v in [v for v in row if v in pivots]:
                c = row.pop(v, 0)
                if not c:
                    continue
                prow, prhs = pivots[v]
                for w, d in prow.items():
                    if w != v:
                        row[w] = row.get(w, 0) - c * d
                rhs -= c * prhs
                row = {w: d for w, d in row.items() if d}
            if not row:
                continue
            x = min(row, key=str)
            a = row[x]
            row = {w: d / a for w, d in row.items()}
            rhs /= a
            # and out of the other pivots' rows (fully reduced)
            for v, (prow, prhs) in list(pivots.items()):
                c = prow.get(x, 0)
                if c:
                    nrow = dict(prow)
                    del nrow[x]
                    for w, d in row.items():
                        if w != x:
                            nrow[w] = nrow.get(w, 0) - c * d
                    pivots[v] = ({w: d for w, d in nrow.items() if d}, prhs - c * rhs)
            pivots[x] = (row, rhs)
        for v, (row, rhs) in pivots.items():
            if len(row) == 1:
                check(rhs.denominator == 1, f"{v} = {rhs}: not an integer")
                val[v] = int(rhs)
        return val

    def exact_leaks(self):
        """The small hidden counts the exact solver determines."""
        val = self.exact()
        return sorted(((v, val[v]) for v in self.hidden - set(self.known)
                       if v in val and 0 < val[v] < self.thr), key=str)

    def intervals(self, truth, where):
        """The interval attacker (lp_attack): every hidden count's minimum
        and maximum over the relations with every count >= 0 (a balance's
        natural and migratory balances: any sign), the cells published and
        those solve() determines put in.  Returns the hidden counts pinned
        to 1 .. threshold-1 (minimum = maximum), each (unknown, "where:
        unknown = value"), the number of hidden counts whose true value
        (truth: the generator's files) is 1 .. threshold-1, and of those
        the ones in an interval narrower than the threshold, by kind of
        unknown."""
        val = self.solve()
        targets = [v for v in self.hidden - set(self.known) if v not in val and not derived(v)]
        # a count two solutions put threshold or more apart is neither:
        # not solved for (lp_attack.intervals' wide)
        wide = self.thr - 1e-6
        bounds = self.ineq + (self.ratio_rows() if RATIOS else [])
        # every inequality holds of the true counts (where the generator's
        # files give them all): none is tighter than the truth
        self.rows += len(bounds)
        for coef, lo, hi in bounds:
            t = [truth(v) for v in coef]
            if None in t:
                continue
            self.checked += 1
            x = sum(c * y for c, y in zip(coef.values(), t))
            tol = 1e-9 * max(1.0, sum(abs(c * y) for c, y in zip(coef.values(), t)))
            check((lo is None or x >= lo - tol) and (hi is None or x <= hi + tol),
                  f"{where}: {coef} = {x} outside [{lo}, {hi}] on the true counts")
        # so is every relation, and every published cell is the true count
        for coef, const in self.rel:
            t = [truth(v) for v in coef]
            if None in t:
                continue
            self.checked_rel += 1
            x = sum(c * y for c, y in zip(coef.values(), t))
            check(abs(x - const) < 1e-9, f"{where}: {coef} = {x}, not {const}, on the true counts")
        for var, x in self.known.items():
            t = truth(var)
            check(t is None or t == x, f"{where}: {var} published {x}, true {t}")
        got = lp_attack.intervals(self.rel, val, targets, free=derived, wide=wide, bounds=bounds)
        pinned, small, narrow = [], 0, {}
        for var, (lo, hi) in sorted(got.items(), key=str):
            if hi - lo < 1e-6 and 0 < round(lo) < self.thr:
                pinned.append((var, f"{where}: {var} = {round(lo)}"))
            t = truth(var)
            if t is None or not 0 < t < self.thr:
                continue
            small += 1
            if hi - lo < wide:
                # solved: its interval, which holds the true count
                check(lo - 1e-6 <= t <= hi + 1e-6, f"{where}: {var} = {t} outside its "
                      f"interval [{lo}, {hi}] (the relations or the truth wrong)")
                narrow[var[1]] = narrow.get(var[1], 0) + 1
        return pinned, small, narrow


    def leaks(self):
        val = self.solve()
        out = []
        for var in self.hidden - set(self.known):
            if var in val and not derived(var) and 0 < val[var] < self.thr:
                out.append((var, val[var]))
        # a count one publication hides and another gives outright
        for var in self.hidden & set(self.known):
            if not derived(var) and 0 < self.known[var] < self.thr:
                out.append((var, self.known[var]))
        return sorted(out, key=str), len(set(val) - set(self.known))


class Intervals:
    """The interval attacker's findings over a test's runs (Attack.intervals)."""

    def __init__(self):
        self.pinned, self.small, self.narrow, self.time = [], 0, {}, 0.0
        self.rows = self.checked = self.checked_rel = 0

    def run(self, atk, truth, where):
        t0 = time.process_time()   # the test's own CPU: the solver runs in it
        pinned, small, narrow = atk.intervals(truth, where)
        self.time += time.process_time() - t0
        self.pinned += pinned
        self.small += small
        self.rows += atk.rows
        self.checked += atk.checked
        self.checked_rel += atk.checked_rel
        for k, n in narrow.items():
            self.narrow[k] = self.narrow.get(k, 0) + n

    def check(self, what):
        """Prints the counts; fails when a hidden small count is pinned (a
        narrow interval is reported, not a failure: docs/api.md)."""
        print(f"{what}, the interval attacker (counts >= 0, {self.time:.1f} s of CPU): "
              f"{self.small} small hidden counts, {len(self.pinned)} pinned, "
              f"{sum(self.narrow.values())} in an interval "
              f"narrower than the threshold (by kind: {self.narrow or 'none'}); "
              f"{self.rows} inequalities (the indicators), {self.checked} checked on the "
              f"true counts; {self.checked_rel} relations checked on the true counts")
        check(self.small > 0, f"{what}: small hidden counts for the interval attacker")
        pinned = [line for var, line in self.pinned]
        check(not pinned, f"{what}: hidden small counts pinned by the interval attacker "
              "(counts never negative):\n" + "\n".join(pinned[:40]))

def derived(var):
    """A balance's natural or migratory balance (a territory's unknown):
    of any sign."""
    core = var[1:]
    return core[0] in ("bal", "ybal") and core[-1] in DERIVED


# the interval attacker uses the indicators (False: the relations only,
# to measure what they add)
RATIOS = True


def value_interval(value, decimals):
    """The exact values an indicator publishes as `value`: with decimals,
    t = value * 10^decimals is rounded by (long long)(t + 0.5) (tables.c's
    indicator(): half up, toward zero below 0), so t in [k - 1/2, k + 1/2)
    for k > 0 (k - 3/2 below for k <= 0, k - 1/2 above for k < 0); without,
    a double as computed (series.c's value(), printed with 17 digits: the
    same double), within 1e-12 of it relatively (three roundings of 2^-53
    each: the scale, the product, the quotient), 0 exactly 0 (a numerator
    of 0).  Closed, a little wider than the rounding's (1e-9 of a unit of
    the last decimal): never tighter than the truth."""
    if decimals is None:
        e = 1e-12 * abs(value)
        return value - e, value + e
    u = 10.0 ** -decimals
    k = round(value / u)
    slack = 1e-9 * max(1, abs(k))
    lo = (k - 0.5 if k > 0 else k - 1.5) - slack
    hi = (k + 0.5 if k >= 0 else k - 0.5) + slack
    return lo * u, hi * u


# the unknowns Truth counts all of: one it does not list is 0 (agesum:
# the sum of the ages of the residents, agex: of their years beyond 100)
COUNTED = ("pop", "age", "for", "fage", "cit", "cite", "cs", "grp", "ita", "fam", "famtot",
           "tipo", "agesum", "agex", "loc", "locagesum", "str", "stragesum", "pair")


class Truth:
    """The true value of a territory's unknown, from the files `visura gen`
    wrote (the harness's Population, test_stats_tables's computations,
    never visura's database); None for one it does not compute (by
    locality, sums of ages, the series' sums)."""

    def __init__(self, pop):
        self.pop, self.memo = pop, {}
        self.all = tuple(sorted({k[0] for k in pop.persons}))

    def __call__(self, var):
        comuni = tuple(var[0].split(",")) if var[0] else self.all
        kind = var[1]
        if kind in ("bal", "ybal"):
            dal, al, s, j = var[2:]
            key = (comuni, dal, al)
            if key not in self.memo:
                self.memo[key] = files.expected_balance(self.pop, comuni, [(dal, al)])
            sex = {"M": "Maschi", "F": "Femmine", "T": "Totale"}[s]
            return self.memo[key][(dal, sex)][j]
        if kind not in COUNTED:
            return None
        key = (comuni, var[2])
        if key not in self.memo:
            self.memo[key] = self.stocks(comuni, var[2])
        return self.memo[key].get(var[1:], 0)

    def stocks(self, comuni, d):
        out = {}

        def add(*var):
            out[var] = out.get(var, 0) + 1

        out[("agesum", d)] = out[("agex", d)] = 0
        for _, v in files.residents(self.pop, comuni, d):
            a = files.age_on(v["birth_date"], d)
            out[("agesum", d)] += a
            out[("agex", d)] += max(a - 100, 0)
            a = min(a, 100)
            j = files.CIVIL_CLASS.get(v["civil_status"], 4)
            add("cs", d, str(a), v["sex"], j)
            add("cs", d, "999", v["sex"], j)
            add("grp", d, "Y" if a < 15 else "W" if a < 65 else "O")
            if not files.foreign(v):
                add("ita", d)
            for s in (v["sex"], "T"):
                add("pop", d, s)
                add("age", d, a, s)
                if files.foreign(v):
                    st = v["citizenships"][:3]
                    add("for", d, s)
                    add("fage", d, a, s)
                    add("cit", d, st, s)
                    add("cite", d, st, str(a), s)
        if len(comuni) == 1:
            self.places(comuni[0], d, out)
        for members in files.households(self.pop, comuni, d).values():
            n = len(members)
            add("fam", d, str(n) if n < 6 else "6 e più")
            add("famtot", d)
            t = files.household_type(members)
            add("tipo", d, t, min(n, 6) - 1)
            add("tipo", d, t, 6)
        return out


    def places(self, comune, d, out):
        """One municipality's counts by locality and by street
        (test_stats_places' expected) and by both (each resident in the
        pair of their household's address, as there)."""
        for name, kind in PLACES.items():
            for key, r in places_files.expected(self.pop, comune, d, name == "strade").items():
                if key != "Totale":
                    out[(kind + "agesum", d, key)] = r[9]
                    for j, c in enumerate(PLACE_COLS):
                        out[(kind, d, key, c)] = r[j]
        seen = set()
        for (c, _), v in files.residents(self.pop, (comune,), d):
            fam = self.pop.family(c, v["family_id"], d) if v["family_id"] else None
            if fam is None:
                pair = ((places_files.NOT_FOUND,), ("", places_files.NOT_FOUND))
            else:
                pair = ((fam["locality"] or "Nessuna frazione indicata",),
                        (fam["dug"], fam["street"]))
            age = files.age_on(v["birth_date"], d)
            cols = ["M" if v["sex"] == "M" else "F", "T",
                    "Y" if age < 15 else "W" if age < 65 else "O",
                    "FOR" if files.foreign(v) else "ITA"]
            if fam is not None and fam["kind"] == "1" and v["family_id"] not in seen:
                seen.add(v["family_id"])
                cols.append("FAM")
            for col in cols:
                var = ("pair", d) + pair + (col,)
                out[var] = out.get(var, 0) + 1
            var = ("pair", d) + pair + ("AGESUM",)
            out[var] = out.get(var, 0) + age


def bvar(dal, al, s, j, kind="bal"):
    """A cell of a balance: the start and the end are populations."""
    if j == 0:
        return ("pop", day_before(dal), s)
    if j == 11:
        return ("pop", al, s)
    return (kind, dal, al, s, j)


class Territory:
    """What one territory (a municipality, a pool) publishes, in atk: its
    unknowns are (territory, unknown)."""

    def __init__(self, atk, name):
        self.atk, self.name, self.seen = atk, name, set()
        self.day_leaks = atk.day_leaks
        self.sums_back = atk.sums_back
        self.client = None

    balance_rows = Attack.balance_rows

    def _v(self, var):
        self.seen.add(var)
        return (self.name,) + var

    def cell(self, var, value, where):
        self.atk.cell(self._v(var), value, f"{self.name or 'tutti'} {where}")

    def relation(self, coef, const=0):
        self.atk.relation({self._v(v): c for v, c in coef.items()}, const)

    def total(self, parts, whole):
        c = {p: 1 for p in parts}
        c[whole] = c.get(whole, 0) - 1
        self.relation(c)

    def bound(self, coef, low, high):
        self.atk.bound({self._v(v): c for v, c in coef.items()}, low, high)

    def ratio(self, num, den, scale, value, decimals, where):
        self.atk.ratio({self._v(v): c for v, c in num.items()},
                       {self._v(v): c for v, c in den.items()}, scale, value, decimals, where)


def link(atk, pool, members):
    """A pool's unknowns are the sums of its members' same ones (counts
    all: persons, households, flows, sums of ages); a state a member's
    citizenship tables do not list has none of its citizens there."""
    for var in set().union(pool.seen, *(m.seen for m in members)):
        if var[0] in ("loc", "locagesum", "str", "stragesum", "pair"):
            continue   # by place: one municipality only
        for t in (pool,) + tuple(members):
            if var not in t.seen and var[0] in ("cit", "cite"):
                atk.cell((t.name,) + var, 0, "absent")
        atk.relation({(pool.name,) + var: 1, **{(m.name,) + var: -1 for m in members}})


def day_before(d):
    return (datetime.date.fromisoformat(d) - datetime.timedelta(days=1)).isoformat()


def summary(get_summary, comune, thr, d, atk):
    """The old summary (GET /api/v1/stats) of the same date, classes of 1
    and of 2 years: each class the sum of POSAS's single years, the
    population POSAS's, households of 1 to 5 members and of 6 or more
    `famiglie`'s, the indicators ratios of the same unknowns.  Retired: it
    must answer 410 and publish nothing."""
    for step in (1, 2):
        doc = get_summary(f"/api/v1/stats?comuni={comune}&threshold={thr}&as_of={d}"
                          f"&age_step={step}&from={d}&to={d}")
        if doc is None:
            continue
        where = f"summary {d} age_step={step}"
        for s, k in (("T", "total"), ("M", "male"), ("F", "female")):
            atk.cell(("pop", d, s), doc["population"][k], where)
        for r in doc["age_sex"]:
            lo, hi = (100, 100) if r["age"] == "100+" else map(int, r["age"].split("-"))
            for s, k in (("M", "male"), ("F", "female")):
                var = ("age", d, lo, s) if lo == hi else ("cls", d, lo, hi, s)
                atk.cell(var, r[k], where)
                if lo != hi:
                    atk.total([("age", d, a, s) for a in range(lo, hi + 1)], var)
        sizes = doc["households"]["by_size"]
        atk.cell(("famtot", d), doc["households"]["total"], where)
        for k in ("1", "2", "3", "4", "5"):
            atk.cell(("fam", d, k), sizes[k], where)
        big = [("sfam", d, k) for k in sizes if k not in ("1", "2", "3", "4", "5")]
        for k, var in zip([k for k in sizes if k not in ("1", "2", "3", "4", "5")], big):
            atk.cell(var, sizes[k], where)
        atk.total(big, ("fam", d, "6 e più"))
        ind = doc["indicators"]
        grp = lambda g: ("grp", d, g)  # noqa: E731
        for k, num, den, scale in (
                ("old_age_index", {grp("O"): 1}, {grp("Y"): 1}, 100),
                ("dependency_ratio", {grp("Y"): 1, grp("O"): 1}, {grp("W"): 1}, 100),
                ("youth_dependency_ratio", {grp("Y"): 1}, {grp("W"): 1}, 100),
                ("old_age_dependency_ratio", {grp("O"): 1}, {grp("W"): 1}, 100),
                ("average_age", {("agesum", d): 1}, {("pop", d, "T"): 1}, 1)):
            atk.ratio(num, den, scale, ind[k], None, where)


def read_stocks(table, asked, d, atk, listed=False):
    """strasa_cittadinanza, famiglie and famiglie_tipologia of the first of
    a month (`asked`, the population of the end of `d`) into atk: the
    citizenship table's 999 row the foreign residents by sex, the table by
    type's total row the households by size; every row and column an
    identity; listed: the territory lists a state only with citizens of it
    (a province, a municipality alone in its province), each state's total
    at least 1.  Returns the three tables."""
    forr = lambda s: ("for", d, s)  # noqa: E731
    cit = table("strasa_cittadinanza", date=asked)
    col = {s: [] for s in SEXES}
    for r in cit["righe"]:
        row = [forr(s) if r[2] == "999" else ("cit", d, r[2], s) for s in SEXES]
        for v, x in zip(row, r[4:7]):
            atk.cell(v, x, f"strasa_cittadinanza {d}")
        atk.total(row[:2], row[2])
        if r[2] != "999":
            if listed:
                atk.bound({row[2]: 1}, 1, None)
            for s, v in zip(SEXES, row):
                col[s].append(v)
    for s in SEXES:
        atk.total(col[s], forr(s))
    fam = table("famiglie", date=asked)
    parts = []
    for r in fam["righe"]:
        v = ("famtot", d) if r[2] == "Totale" else ("fam", d, r[2])
        check(r[2] == "Totale" or r[2] == ("1", "2", "3", "4", "5", "6 e più")[len(parts)],
              "famiglie: the sizes in order")
        atk.cell(v, r[3], f"famiglie {d}")
        if r[2] != "Totale":
            parts.append(v)
    atk.total(parts, ("famtot", d))
    # By type and size: the total row is the households by size.
    tipo = table("famiglie_tipologia", date=asked)
    cols = {k: [] for k in range(7)}
    for r in tipo["righe"]:
        if r[2] == "Totale":
            row = parts + [("famtot", d)]
        else:
            row = [("tipo", d, r[2], k) for k in range(7)]
            for k in range(7):
                cols[k].append(row[k])
        for v, x in zip(row, r[3:10]):
            atk.cell(v, x, f"famiglie_tipologia {d}")
        atk.total(row[:6], row[6])
    for k in range(7):
        atk.total(cols[k], (parts + [("famtot", d)])[k])
    return {"strasa_cittadinanza": cit, "famiglie": fam, "famiglie_tipologia": tipo}


def read_cite(rows, d, atk):
    """strasa_cittadinanza_eta's rows (CSV, without the header) of the
    population of the end of `d` into atk: the block of all states is
    strasa's cells, a state's 999 row its row of strasa_cittadinanza (the
    same counts: its citizens by sex); every row, every block's column and
    every age over the states an identity."""
    cells = {}
    for r in rows:
        r = r[:5] + [int(x) if x != "" else None for x in r[5:8]]
        st, a = r[2], r[4]
        if st == "999":
            row = [("for", d, s) if a == "999" else ("fage", d, int(a), s) for s in SEXES]
        elif a == "999":
            row = [("cit", d, st, s) for s in SEXES]
        else:
            row = [("cite", d, st, a, s) for s in SEXES]
        for v, x in zip(row, r[5:8]):
            atk.cell(v, x, f"strasa_cittadinanza_eta {d}")
        atk.total(row[:2], row[2])
        for s, v in zip(SEXES, row):
            cells[st, a, s] = v
    states = {st for st, _, _ in cells}
    ages = {a for _, a, _ in cells}
    for s in SEXES:
        for st in states:
            atk.total([cells[st, a, s] for a in ages if a != "999"], cells[st, "999", s])
        for a in ages:
            atk.total([cells[st, a, s] for st in states if st != "999"], cells["999", a, s])


def ages_back(name, doc, d):
    """The places' age sums add up to the municipality's: with the
    Totale's average age hidden (posas hides a single year; with the
    total, the sum of the ages would give two hidden years back), one
    place's at least must be, or their average ages give it back (to
    +-0.005 per person, exactly when every place has fewer than 100
    residents).  A place's hidden with its counts (total, age groups)
    published: only then, the smallest's (the first of the smallest), and
    only when no other place's is hidden.  doc: a `localita` or `strade`
    table; [what is wrong]."""
    *places, total = doc["righe"]
    counted = [r for r in places if None not in r[-9:-5]]
    alone = [r for r in counted if r[-1] is None]
    out = []
    if total[-1] is None and None not in [r[-1] for r in places]:
        out.append(f"{name} {d}: the average ages of all {len(places)} places published, the "
                   "Totale's hidden")
    if alone and (total[-1] is not None or len(counted) < len(places)
                  or alone != [min(places, key=lambda r: r[-9])]):
        out.append(f"{name} {d}: the average age of {[r[2:-11] for r in alone]} hidden, its "
                   "counts published, and not the one complement of the Totale's")
    return out


PLACES = {"localita": "loc", "strade": "str"}   # the tables by place, their unknowns
PLACE_COLS = ("M", "F", "T", "Y", "W", "O", "FOR", "ITA", "FAM")


def place_labels(name):
    """The label cells of a place in a `localita` (the locality) or
    `strade` (the DUG and the street) row, after the municipality's."""
    return slice(2, 3 if name == "localita" else 4)


def read_places(doc, name, d, atk):
    """`localita` or `strade` of the first of a month (the end of d) into
    atk (address_table in src/stats/tables.c): a place's unknowns are
    (loc|str, d, its labels, column); every row's men + women, 0-14 +
    15-64 + 65+ and foreigners + Italians = its total, every column over
    the places = the total row, which is the population by sex, POSAS's
    age groups (sums of its single years, as grp), the foreign residents,
    the Italians and the households of the date (famiglie's total); the
    old-age index and the average age (two decimals) ratios of them, the
    places' sums of the ages adding up to the municipality's.  Returns
    {place labels: its nine unknowns}."""
    kind = PLACES[name]
    pop = lambda s: ("pop", d, s)  # noqa: E731
    total = [pop("M"), pop("F"), pop("T"), ("grp", d, "Y"), ("grp", d, "W"), ("grp", d, "O"),
             ("for", d, "T"), ("ita", d), ("famtot", d)]
    lab = place_labels(name)
    n = len(PLACE_COLS)
    cols, sums, out = [[] for _ in PLACE_COLS], [], {}
    for r in doc["righe"]:
        key = tuple(r[lab])
        first = lab.stop
        if r[first - 1] == "Totale":
            row, agesum = total, ("agesum", d)
        else:
            check(key not in out, f"{name} {d}: the place {key} twice")
            row = out[key] = [(kind, d, key, c) for c in PLACE_COLS]
            agesum = (kind + "agesum", d, key)
            for c, v in zip(cols, row):
                c.append(v)
            sums.append(agesum)
            # a row per place with residents; its households have one
            # there at least each; its sum of the ages by its age groups
            # (0-14, 15-64, 65 and more, at most OLDEST)
            atk.bound({row[2]: 1}, 1, None)
            atk.bound({row[8]: 1, row[2]: -1}, None, 0)
            atk.bound({agesum: 1, row[4]: -15, row[5]: -65}, 0, None)
            atk.bound({agesum: 1, row[3]: -14, row[4]: -64, row[5]: -OLDEST}, None, 0)
        for v, x in zip(row, r[first:first + n]):
            atk.cell(v, x, f"{name} {d}")
        # Indice di vecchiaia and Età media, two decimals
        atk.ratio({row[5]: 1}, {row[3]: 1}, 100, r[first + n], 2, f"{name} {d}")
        atk.ratio({agesum: 1}, {row[2]: 1}, 1, r[first + n + 1], 2, f"{name} {d}")
        atk.total(row[0:2], row[2])
        atk.total(row[3:6], row[2])
        atk.total(row[6:8], row[2])
    check(doc["righe"][-1][lab.stop - 1] == "Totale", f"{name} {d}: the total row last")
    for c, v in zip(cols, total):
        atk.total(c, v)
    atk.total(sums, ("agesum", d))
    return out


def cross_places(pop, comune, d, rows, atk):
    """The attacker who knows the municipality's geography (its street
    guide: which localities each street crosses, here the pairs of the
    addresses of its households on d in the generator's files, whoever
    lives there) links the two tables by place: an unknown per (locality,
    street) pair and column, every locality's count the sum of its pairs',
    every street's too, each pair's row identities as a place's; the
    residents whose household has no address that day are one row of
    both; the sums of the ages too.  rows: read_places' of `localita` and `strade`."""
    pairs = {((places_files.NOT_FOUND,), ("", places_files.NOT_FOUND))}
    for (c, fid), _ in pop.families.items():
        fam = pop.family(c, fid, d)
        if c == comune and fam is not None:
            pairs.add(((fam["locality"] or "Nessuna frazione indicata",),
                       (fam["dug"], fam["street"])))
    parts = {"localita": {}, "strade": {}}
    for loc, st in pairs:
        row = [("pair", d, loc, st, c) for c in PLACE_COLS + ("AGESUM",)]
        atk.bound({row[8]: 1, row[2]: -1}, None, 0)
        atk.total(row[0:2], row[2])
        atk.total(row[3:6], row[2])
        atk.total(row[6:8], row[2])
        for name, key in (("localita", loc), ("strade", st)):
            parts[name].setdefault(key, []).append(row)
    for name, by in parts.items():
        # a place the table does not list has no resident
        check(set(rows[name]) <= set(by), f"{name} {d}: a place out of the geography")
        for key, prs in by.items():
            place = rows[name].get(key)
            if place is not None:
                place = place + [(PLACES[name] + "agesum", d, key)]
            for j, c in enumerate(PLACE_COLS + ("AGESUM",)):
                if place is None:
                    for r in prs:
                        atk.cell(r[j], 0, f"{name} {d}: no resident")
                else:
                    atk.total([r[j] for r in prs], place[j])


def read_ages(doc, name, tot, kind, d, atk):
    """POSAS or STRASA (doc) of the end of d: ages x sexes, the 999 row the
    population (the foreign residents) by sex (tot)."""
    col = {s: [] for s in SEXES}
    for r in doc["righe"]:
        a = r[2]
        row = [tot(s) if a == "999" else (kind, d, int(a), s) for s in SEXES]
        for v, x in zip(row, r[3:6]):
            atk.cell(v, x, f"{name} {d}")
        atk.total(row[:2], row[2])
        if a != "999":
            for s, v in zip(SEXES, row):
                col[s].append(v)
    for s in SEXES:
        atk.total(col[s], tot(s))


def read_civil(table, asked, d, atk):
    """stato_civile of the first of a month (the end of d): each age's
    classes of a sex add up to POSAS's cell of that age and sex (the 999
    row: the population by sex), every class over the ages to its 999 row.
    Returns the table."""
    doc = table("stato_civile", date=asked)
    col = {}
    for r in doc["righe"]:
        a = r[2]
        margin = [("pop", d, s) if a == "999" else ("age", d, int(a), s) for s in SEXES]
        for si, s in enumerate(("M", "F")):
            classes = [("cs", d, a, s, j) for j in range(5)]
            for j, v in enumerate(classes):
                atk.cell(v, r[3 + si * 6 + j], f"stato_civile {d}")
                if a != "999":
                    col.setdefault((s, j), []).append(v)
            atk.cell(margin[si], r[3 + si * 6 + 5], f"stato_civile {d}")
            atk.total(classes, margin[si])
        atk.cell(margin[2], r[15], f"stato_civile {d}")
        atk.total(margin[:2], margin[2])
    for (s, j), vs in col.items():
        atk.total(vs, ("cs", d, "999", s, j))
    return doc


def stock_dates(bil):
    """The dates of the stock tables beside a balance (bil): the stock
    tables are published on the first day of a month only, as the
    population at its start: the first of every month from the one after
    the first import to the one after the last (the register's latest
    state, that of the last import, the end of the month not yet
    complete).  Each (asked, d): a table of the first of a month is the
    population at its start, the end of the day before (d), the previous
    month's balance's end."""
    cov = bil["periodo_coperto"]
    out, m = [], datetime.date.fromisoformat(cov["dal"][:8] + "01")
    while m.isoformat() <= cov["al"]:
        m = (m + datetime.timedelta(days=31)).replace(day=1)
        out.append((m.isoformat(), min(day_before(m.isoformat()), cov["al"])))
    return out


def read_all(get, get_text, get_summary, comune, thr, atk):
    """Every table and series of comune with threshold thr into atk."""
    def table(name, **params):
        q = "&".join(f"{k}={v}" for k, v in params.items())
        return get(f"/api/v1/stats/tables?table={name}&comuni={comune}&threshold={thr}&{q}")

    def table_csv(name, **params):
        q = "&".join(f"{k}={v}" for k, v in params.items())
        return list(csv.reader(io.StringIO(get_text(
            f"/api/v1/stats/tables?table={name}&comuni={comune}&threshold={thr}&{q}&format=csv"))))

    bil = table("bilancio")
    periods = sorted({(r[3], r[4]) for r in bil["righe"]})
    for asked, d in stock_dates(bil):
        pop = lambda s: ("pop", d, s)  # noqa: E731
        forr = lambda s: ("for", d, s)  # noqa: E731
        # POSAS and STRASA: ages x sexes, the 999 row the population (the
        # foreign residents) by sex.
        for name, tot, kind in (("posas", pop, "age"), ("strasa", forr, "fage")):
            read_ages(table(name, date=asked), name, tot, kind, d, atk)
            if name == "posas":
                # the sum of the ages, which the average age gives: POSAS's
                # single years, its last 100 and more, and the years beyond
                # 100 of those (agex), at most OLDEST - 100 each
                atk.relation({**{("age", d, a, "T"): a for a in range(101)}, ("agex", d): 1,
                              ("agesum", d): -1})
                atk.bound({("agex", d): 1, ("age", d, 100, "T"): 100 - OLDEST}, None, 0)
        read_civil(table, asked, d, atk)
        # By citizenship and age: a block of strasa per state, then the
        # block of all states, strasa's own cells; every age an identity
        # over the states.
        # (as CSV: the largest table, read without the JSON schema's check,
        # which would take most of the test's time)
        read_cite(table_csv("strasa_cittadinanza_eta", date=asked)[1:], d, atk)
        read_stocks(table, asked, d, atk)
        for g, years in (("Y", range(0, 15)), ("W", range(15, 65)), ("O", range(65, 101))):
            atk.total([("age", d, a, "T") for a in years], ("grp", d, g))
        if "," in comune or not comune:
            continue   # by locality: one municipality only
        # By locality and by street: two partitions of the same residents,
        # each place's counts adding up to the total row (read_places), and
        # with the geography (which streets cross which localities) one
        # cross table under both.
        docs = {name: table(name, date=asked) for name in PLACES}
        rows = {name: read_places(doc, name, d, atk) for name, doc in docs.items()}
        if getattr(atk, "pop", None) is not None:
            cross_places(atk.pop, comune, d, rows, atk)
        for name, doc in docs.items():
            atk.sums_back += ages_back(name, doc, d)
        summary(get_summary, comune, thr, d, atk)

    def balance(doc, kind):
        atk.balance_rows(doc["righe"], kind)

    balance(bil, "bal")
    # The yearly balance beside the months: each flow of a year is the sum
    # of its months'.
    ybil = table("bilancio", period="anno")
    balance(ybil, "ybal")
    for dal, al in sorted({(r[3], r[4]) for r in ybil["righe"]}):
        months = [(d0, d1) for d0, d1 in periods if dal <= d0 and d1 <= al]
        check(months and months[0][0] == dal and months[-1][1] == al,
              f"the yearly balance {dal}-{al}: the months of the monthly one")
        for s in SEXES:
            for j in range(1, 11):
                atk.total([bvar(d0, d1, s, j) for d0, d1 in months], bvar(dal, al, s, j, "ybal"))

    # The series: the same unknowns, totals only.
    stocks = {"population": "T", "males": "M", "females": "F"}
    flows = {"births": 1, "deaths": 2, "natural_balance": 3, "migratory_balance": 10}
    sums = {"registrations": (4, 5, 6), "cancellations": (7, 8, 9)}
    # The indicators: ratios of the same unknowns, as computed (doubles).
    grp = lambda d, g: ("grp", d, g)  # noqa: E731
    ratios = {
        "foreign_share": lambda d: ({("for", d, "T"): 1}, {("pop", d, "T"): 1}, 100),
        "old_age_index": lambda d: ({grp(d, "O"): 1}, {grp(d, "Y"): 1}, 100),
        "dependency_ratio": lambda d: ({grp(d, "Y"): 1, grp(d, "O"): 1}, {grp(d, "W"): 1}, 100),
        "youth_dependency_ratio": lambda d: ({grp(d, "Y"): 1}, {grp(d, "W"): 1}, 100),
        "old_age_dependency_ratio": lambda d: ({grp(d, "O"): 1}, {grp(d, "W"): 1}, 100),
        "average_age": lambda d: ({("agesum", d): 1}, {("pop", d, "T"): 1}, 1),
    }
    rates = {"crude_birth_rate": 1, "crude_death_rate": 2, "natural_growth_rate": 3,
             "migratory_rate": 10}
    for ind in list(ratios) + list(rates):
        doc = get(f"/api/v1/stats/series?indicator={ind}&comuni={comune}&threshold={thr}")
        for p in doc["serie"][0]["punti"]:
            dal, al, x = p["dal"], p["al"], p["valore"]
            if ind in ratios:
                num, den, scale = ratios[ind](al)
            else:
                days = (datetime.date.fromisoformat(al) - datetime.date.fromisoformat(dal)).days + 1
                num = {bvar(dal, al, "T", rates[ind]): 2}
                den = {("pop", day_before(dal), "T"): 1, ("pop", al, "T"): 1}
                scale = 1000.0 * 365.0 / days
            atk.ratio(num, den, scale, x, None, f"series {ind}")
    # The yearly series of the flows: the yearly balance's cells.
    years = {(r[3], r[4]) for r in ybil["righe"]}
    for ind in list(flows) + list(sums):
        doc = get(f"/api/v1/stats/series?indicator={ind}&comuni={comune}&threshold={thr}&step=year")
        for p in doc["serie"][0]["punti"]:
            dal, al, x = p["dal"], p["al"], p["valore"]
            check((dal, al) in years, f"yearly series {ind}: the yearly balance's periods ({dal})")
            if ind in flows:
                atk.cell(bvar(dal, al, "T", flows[ind], "ybal"), x, f"yearly series {ind}")
            else:
                var = ("ysum", ind, dal)
                atk.cell(var, x, f"yearly series {ind}")
                atk.total([bvar(dal, al, "T", j, "ybal") for j in sums[ind]], var)
    for ind in list(stocks) + ["foreigners"] + list(flows) + list(sums):
        doc = get(f"/api/v1/stats/series?indicator={ind}&comuni={comune}&threshold={thr}")
        for p in doc["serie"][0]["punti"]:
            dal, al, x = p["dal"], p["al"], p["valore"]
            check((dal, al) in periods, f"series {ind}: the balance's months ({dal})")
            if ind in stocks:
                atk.cell(("pop", al, stocks[ind]), x, f"series {ind}")
            elif ind == "foreigners":
                atk.cell(("for", al, "T"), x, f"series {ind}")
            elif ind in flows:
                atk.cell(bvar(dal, al, "T", flows[ind]), x, f"series {ind}")
            else:
                var = ("sum", ind, dal)
                atk.cell(var, x, f"series {ind}")
                atk.total([bvar(dal, al, "T", j) for j in sums[ind]], var)
    return bil


def read_days(get_text, comune, thr, atk, bil):
    """The attacker over dates: the balance of each single day of the first
    month and of the spans from its first day to each day, linked by their
    identities (a balance over [a, c] = [a, b] + [b + 1, c], cell by cell),
    beside the monthly balance (read_all's) of which they are parts.  The
    API takes whole months only: each of these is refused.  Returns (asked,
    refused)."""
    dal, al = sorted({(r[3], r[4]) for r in bil["righe"]})[0]
    first = datetime.date.fromisoformat(dal)
    days = [(first + datetime.timedelta(days=k)).isoformat() for k in range(DAYS_ASKED)]
    if days[-1] > al:
        days = [d for d in days if d <= al]
    asked = refused = 0

    def rows(name, q):
        """The table's rows (CSV), or None when the API refuses it."""
        nonlocal asked, refused
        asked += 1
        url = f"/api/v1/stats/tables?table={name}&comuni={comune}&threshold={thr}&{q}&format=csv"
        r = atk.client.get(url)
        if r.status == 400:
            check(r.json["error"]["code"] == "invalid_request", f"{url}: invalid_request")
            refused += 1
            return None
        expect(r, 200, None, url)
        return list(csv.reader(io.StringIO(r.body.decode())))[1:]

    def balance(f, t):
        got = rows("bilancio", f"from={f}&to={t}")
        if got is not None:
            atk.balance_rows([r[:6] + [int(x) if x != "" else None for x in r[6:18]] for r in got])
        return got is not None

    def posas(d):
        got = rows("posas", f"date={d}")
        if got is None:
            return None
        return {(row[2], s): int(x) for row in got if row[2] != "999"
                for s, x in zip(SEXES[:2], row[3:5]) if x != ""}

    # POSAS on consecutive days: a published cell that changes from one
    # day to the next is the residents of that age and sex born on that
    # day of the year (a birthday) or moved in, born or dead that day — a
    # count of persons no protection sees (the small ones are the leaks).
    before = posas(day_before(dal))
    for d in days:
        after = posas(d)
        if before is not None and after is not None:
            for k in before.keys() & after.keys():
                if 0 < abs(after[k] - before[k]) < thr:
                    atk.day_leaks.append(f"posas {day_before(d)} -> {d} age {k[0]} {k[1]}: "
                                         f"{after[k] - before[k]:+d}")
        before = after
    for d in days:
        one, span = balance(d, d), balance(dal, d)
        if one and span and d != dal:
            for s in SEXES:
                for j in range(1, 11):
                    atk.total([("bal", dal, day_before(d), s, j), ("bal", d, d, s, j)],
                              ("bal", dal, d, s, j))
    if al not in days and days[-1] < al:
        # the rest of the month: the monthly balance less the last span
        nxt = (datetime.date.fromisoformat(days[-1]) + datetime.timedelta(days=1)).isoformat()
        if balance(nxt, al):
            for s in SEXES:
                for j in range(1, 11):
                    atk.total([("bal", dal, days[-1], s, j), ("bal", nxt, al, s, j)],
                              ("bal", dal, al, s, j))
    return asked, refused


DAYS_ASKED = 12


def getters(a):
    """An admin's (a) GETs that must answer 200: its JSON, its text."""
    def get(url):
        return expect(a.get(url), 200, None, url).json

    def get_text(url):
        return expect(a.get(url), 200, None, url).body.decode()
    return get, get_text

OLDEST = 130   # no one has lived longer (122 years, the record)


def test_attack():
    found, solved, hidden = [], 0, 0
    asked = refused = 0   # tables of single days and balances over days (read_days)
    days_found = []
    sums_back = []   # a municipality's hidden age sum by its places' (read_all)
    both = {}   # unknowns one publication hides and another publishes, by kind
    # the province's POSAS and monthly balance: hidden cells, and by the
    # union rule
    gain = {"posas": [0, 0], "bilancio": [0, 0]}
    lp = Intervals()
    for seed in (3, 11, 29):
        pop = {"persons": 260, "comuni": "036023,036005", "seed": seed, "days": DAYS}
        with Server(population=pop) as srv:
            a = srv.admin()
            truth = Truth(srv.population)

            get, get_text = getters(a)

            def get_summary(url):
                r = a.get(url)
                if r.status == 200:   # the old code: the summary as it was
                    return r.json
                expect(r, 410, "gone", url)
                check("/api/v1/stats/tables" in r.json["error"]["message"],
                      f"{url}: the refusal names the tables")
                return None

            for thr in (3, 5):
                atk = Attack(thr)
                one = {c: Territory(atk, c) for c in ("036023", "036005")}
                for comune, t in one.items():
                    t.client = a
                    t.pop = srv.population   # the geography (cross_places)
                    bil = read_all(get, get_text, get_summary, comune, thr, t)
                    n_asked, n_refused = read_days(get_text, comune, thr, t, bil)
                    asked += n_asked
                    refused += n_refused
                # the pool, and every municipality (the same pool here):
                # at one threshold, "" with one seed (the test's time)
                pools = ("036023,036005", "") if seed == 3 else ("036023,036005",)
                for pool in pools if thr == 3 else ():
                    t = Territory(atk, pool)
                    read_all(get, get_text, get_summary, pool, thr, t)
                    link(atk, t, tuple(one.values()))
                    # the whole province 036 protected as one territory
                    # (docs/api.md, "Pools"): its POSAS and its balance
                    # hide fewer cells than the union of its members'
                    # hidden ones, which the union rule hid
                    for name, q in (("posas", "&date=2026-02-01"), ("bilancio", "")):
                        url = f"/api/v1/stats/tables?table={name}&threshold={thr}{q}&comuni="

                        def hid(c):
                            return [[x is None for x in r if not isinstance(x, str)]
                                    for r in get(url + c)["righe"]]
                        cells = hid(pool)
                        members = [hid(c) for c in one]
                        gain[name][0] += sum(map(sum, cells))
                        gain[name][1] += sum(any(m[i][j] for m in members)
                                             for i in range(len(cells))
                                             for j in range(len(cells[i])))
                    if not pool:
                        # the map's series: by province (036: the pool of
                        # both) and by municipality, the same unknowns
                        for by, terr in (("provincia", {"036": t}), ("comune", one)):
                            doc = get(f"/api/v1/stats/series?indicator=population&by={by}"
                                      f"&threshold={thr}")
                            for serie in doc["serie"]:
                                for p in serie["punti"]:
                                    terr[serie["codice"]].cell(("pop", p["al"], "T"), p["valore"],
                                                               f"series by={by}")
                leaks, n = atk.leaks()
                for var in atk.hidden & set(atk.known):
                    both[var[1]] = both.get(var[1], 0) + 1
                solved += n
                lp.run(atk, truth, f"seed {seed} t{thr}")
                hidden += len(atk.hidden - set(atk.known))
                for var, v in leaks:
                    found.append(f"seed {seed} t{thr}: {var} = {v}")
                days_found += [f"seed {seed} t{thr}: {x}" for x in atk.day_leaks]
                sums_back += [f"seed {seed} t{thr}: {x}" for x in atk.sums_back]
    where = {}
    for f in found:
        t = f.split("(", 1)[1].split(",", 1)[0]
        where[t] = where.get(t, 0) + 1
    print(f"hidden unknowns {hidden}, of which the attacker solves {solved}, "
          f"{len(found)} small counts among them (by territory: {where or 'none'}); "
          f"hidden in one publication and published in another: {both or 'none'}; "
          f"tables of days asked {asked}, refused {refused}; small one-day changes of a "
          f"published cell {len(days_found)}; the province hides, of posas and of the "
          f"monthly balance, {gain['posas'][0]} and {gain['bilancio'][0]} cells, "
          f"{gain['posas'][1]} and {gain['bilancio'][1]} by the union rule; the places' "
          f"average ages giving a hidden Totale's {len(sums_back)}")
    for name, (got, union) in gain.items():
        check(got < union, f"the whole province's {name} protected as one territory: {got} "
              f"hidden cells, not fewer than the union of its members' ({union})")
    check(hidden > 0, "the tables hide something (small municipalities)")
    check(not found, "hidden small counts recovered by combining what is published:\n"
          + "\n".join(found[:40]))
    check(not days_found, "counts of persons of one day, as the difference of two days' tables:\n"
          + "\n".join(days_found[:20]))
    check(not sums_back, "the sum of the ages posas's hidden years would give back, by the "
          "places' average ages:\n" + "\n".join(sums_back[:20]))
    lp.check("every table of small municipalities and their pools")
    check(refused == asked, f"tables of single days, not of whole months: {asked - refused} of "
          f"{asked} answered (the API takes date=AAAA-MM-01 and months)")


def street_localities(pop):
    """{(comune, dug, street): the localities its households are in} over
    the generator's files of pop."""
    where, loc = {}, harness.FAM_FIELDS.index("locality") + 1
    for path in pop.files():
        comune = None
        with open(path, encoding="utf-8") as f:
            for line in f:
                t = line.rstrip("\n").split("\t")
                if t[0] == "HDR":
                    comune = t[3]
                elif t[0] == "FAM":
                    where.setdefault((comune, t[4], t[5]), set()).add(t[loc])
    return where


def read_places_all(get, comune, thr, atk, pop):
    """What the tables by place are tied to, of comune on every date:
    POSAS (the Totale's age groups its sums), famiglie (the households),
    localita, strade and the cross table of both (cross_places)."""
    def table(name, **params):
        q = "&".join(f"{k}={v}" for k, v in params.items())
        return get(f"/api/v1/stats/tables?table={name}&comuni={comune}&threshold={thr}&{q}")

    for asked, d in stock_dates(table("bilancio")):
        read_ages(table("posas", date=asked), "posas", lambda s: ("pop", d, s), "age", d, atk)
        for g, years in (("Y", range(0, 15)), ("W", range(15, 65)), ("O", range(65, 101))):
            atk.total([("age", d, a, "T") for a in years], ("grp", d, g))
        for r in table("famiglie", date=asked)["righe"]:
            atk.cell(("famtot", d) if r[2] == "Totale" else ("fam", d, r[2]), r[3],
                     f"famiglie {d}")
        rows = {name: read_places(table(name, date=asked), name, d, atk) for name in PLACES}
        cross_places(pop, comune, d, rows, atk)


def test_places_nested():
    """The attacker of test_attack on small registers whose streets each
    lie in one locality, as `visura gen` draws them (checked here): a
    locality's counts are the sums of its streets' (cross_places), so
    `localita` and `strade` must be protected as one (places_joint in
    src/stats/tables.c: protected each on its own, 36 small counts of
    streets came out of a locality's published sum).  Seed 10: a street's
    single resident was pinned by what every reader knows, a listed place
    has a resident and no more households than residents (place_stops)."""
    found, lp, pairs = [], Intervals(), 0
    for seed in (3, 10, 11):
        pop = {"persons": 260, "comuni": "036023,036005", "seed": seed, "days": DAYS}
        with Server(population=pop) as srv:
            a = srv.admin()
            truth = Truth(srv.population)
            where = street_localities(srv.population)
            check(len(where) > 8 and all(len(v) == 1 for v in where.values())
                  and len({v for s in where.values() for v in s}) > 2,
                  f"seed {seed}: every street in one locality, several localities: {where}")

            get, _ = getters(a)

            for thr in (3, 5):
                atk = Attack(thr)
                for comune in ("036023", "036005"):
                    t = Territory(atk, comune)
                    read_places_all(get, comune, thr, t, srv.population)
                    pairs += sum(1 for v in t.seen if v[0] == "pair" and v[-1] == "T")
                leaks, _ = atk.leaks()
                found += [f"seed {seed} t{thr}: {var} = {v}" for var, v in leaks]
                lp.run(atk, truth, f"seed {seed} t{thr}")
    print(f"streets each in one locality: {pairs} (locality, street) pairs, {len(found)} small "
          "counts recovered")
    check(not found, "hidden small counts recovered by combining the places' tables:\n"
          + "\n".join(found[:40]))
    lp.check("the places of registers whose streets each lie in one locality")


PROVINCE = ("036005", "036023")   # the whole province 036 of the register


def province_runs(persons, seeds=(5, 13)):
    """A register of the two municipalities of PROVINCE (persons in all,
    by default seeds 5 and 13: on 13 a member's POSAS count was pinned by
    the classes of stato_civile that followed its cube taking from a 0),
    each asked at thresholds 3 and 5: yields (seed,
    threshold, get, truth), get an admin's GET answering 200 (its JSON),
    truth the register's Truth."""
    for seed in seeds:
        pop = {"persons": persons, "comuni": ",".join(PROVINCE), "seed": seed, "days": DAYS}
        with Server(population=pop) as srv:
            a = srv.admin()

            def get(url):
                return expect(a.get(url), 200, None, url).json

            for thr in (3, 5):
                yield seed, thr, get, Truth(srv.population)


def test_province_balance():
    """The balance of a whole province beside its members' (issue #17), on
    municipalities large enough for the province to publish flows its
    members hide: the province's monthly and yearly balance, its series
    of the flows (the pool's, by=provincia) and each member's, linked as
    the province = the sum of its members, attacked as test_attack does.
    Each member's balance is protected jointly with the province (the
    province's cell hidden when a member's alone is), so a published
    province less its published members gives no hidden small count."""
    found, beside, cells, lp = [], 0, 0, Intervals()
    back, places = [], 0   # the members' age sums by their places' (ages_back)
    members = PROVINCE
    pool = ",".join(members)
    flows = {"births": 1, "deaths": 2, "natural_balance": 3, "migratory_balance": 10}
    for seed, thr, get, truth in province_runs(3000):
        atk = Attack(thr)
        terr = {c: Territory(atk, c) for c in (pool,) + members}
        rows = {}
        for c, t in terr.items():
            url = f"/api/v1/stats/tables?table=bilancio&threshold={thr}&comuni={c}"
            rows[c] = get(url)["righe"]
            t.balance_rows(rows[c])
            t.balance_rows(get(url + "&period=anno")["righe"], "ybal")
            doc = get(f"/api/v1/stats/series?indicator={','.join(flows)}&comuni={c}"
                      f"&threshold={thr}")
            total = {(r[3], r[4]): r for r in rows[c] if r[5] == "Totale"}
            for one in doc["indicatori"]:
                j = flows[one["indicatore"]]
                for p in one["serie"][0]["punti"]:
                    t.cell(bvar(p["dal"], p["al"], "T", j), p["valore"], "series")
                    # the same cell as the table's, hidden or not
                    eq(p["valore"], total[p["dal"], p["al"]][6 + j],
                       f"{c} {one['indicatore']} {p['dal']}: the series and bilancio")
        # the province's series by=provincia, the members' by=comune
        for by in ("provincia", "comune"):
            doc = get(f"/api/v1/stats/series?indicator=births&by={by}&threshold={thr}")
            for serie in doc["serie"]:
                c = pool if by == "provincia" else serie["codice"]
                total = {(r[3], r[4]): r for r in rows[c] if r[5] == "Totale"}
                for p in serie["punti"]:
                    terr[c].cell(bvar(p["dal"], p["al"], "T", 1), p["valore"], f"by={by}")
                    eq(p["valore"], total[p["dal"], p["al"]][7],
                       f"{c} births by={by} {p['dal']}: the series and bilancio")
        link(atk, terr[pool], tuple(terr[c] for c in members))
        # each member's places (municipalities large enough for a place's
        # average age to be published where the Totale's is not)
        for c in members:
            for name in ("localita", "strade"):
                doc = get(f"/api/v1/stats/tables?table={name}&comuni={c}&threshold={thr}"
                          "&date=2026-02-01")
                back += [f"seed {seed} t{thr} {c}: {x}"
                         for x in ages_back(name, doc, "2026-01-31")]
                places += len(doc["righe"]) - 1
        # the cells where the province publishes what a member hides
        for i, r in enumerate(rows[pool]):
            for j in range(6, 18):
                cells += 1
                beside += r[j] is not None and any(rows[c][i][j] is None for c in members)
        leaks, _ = atk.leaks()
        found += [f"seed {seed} t{thr}: {var} = {v}" for var, v in leaks]
        lp.run(atk, truth, f"seed {seed} t{thr}")
    print(f"the province's balance: {cells} cells, {beside} published where a member's is "
          f"hidden; {len(found)} small counts recovered; the members' {places} places "
          f"(localita, strade), their average ages giving a hidden Totale's {len(back)}")
    check(not back, "the sum of the ages posas's hidden years would give back, by the places' "
          "average ages:\n" + "\n".join(back[:20]))
    check(beside > 0, "the province publishes cells its members hide (what is attacked)")
    check(not found, "hidden small counts recovered from the province's balance and its "
          "members':\n" + "\n".join(found[:40]))
    lp.check("the province's balance and its members'")


def labelled(rows):
    """A table's rows by their labels after the territory's: the hidden
    flags of each row's counts."""
    return {tuple(x for x in r[2:] if isinstance(x, str)): [x is None for x in r
                                                              if not isinstance(x, str)]
            for r in rows}


def test_province_stocks():
    """famiglie, famiglie_tipologia and strasa_cittadinanza of a whole
    province beside its members' (issue #17), on municipalities large
    enough for the province to publish cells its members hide: each
    member's tables, the province's (comuni= both, and empty: the same
    province here), linked as the province = the sum of its members (a
    state a member does not list: none of its citizens there), attacked
    as test_attack does.  Each member's tables are protected jointly with
    the province, so a published province less its published members
    gives no hidden small count; on a variant with the members protected
    alone beside the linked province it does."""
    found, beside, total, hid, lp = [], {}, {}, {}, Intervals()
    members = PROVINCE
    pool = ",".join(members)
    asked, d = "2026-02-01", "2026-01-31"
    for seed, thr, get, truth in province_runs(800):
        atk = Attack(thr)
        terr = {c: Territory(atk, c) for c in (pool, "") + members}
        docs = {}
        for c, t in terr.items():
            def table(name, date, c=c):
                return get(f"/api/v1/stats/tables?table={name}&comuni={c}"
                           f"&threshold={thr}&date={date}")
            docs[c] = read_stocks(table, asked, d, t)
            # stato_civile around its margin, POSAS
            read_ages(table("posas", asked), "posas", lambda s: ("pop", d, s), "age", d, t)
            docs[c]["stato_civile"] = read_civil(table, asked, d, t)
        for province in (pool, ""):
            link(atk, terr[province], tuple(terr[c] for c in members))
        # the cells where the province publishes what a member hides,
        # and the province's hidden cells against the union rule's
        for name, doc in docs[pool].items():
            mine = [labelled(docs[c][name]["righe"]) for c in members]
            for key, flags in labelled(doc["righe"]).items():
                for j, h in enumerate(flags):
                    union = any(m[key][j] for m in mine if key in m)
                    total[name] = total.get(name, 0) + 1
                    beside[name] = beside.get(name, 0) + (not h and union)
                    got = hid.setdefault(name, [0, 0])
                    got[0] += h
                    got[1] += union
        leaks, _ = atk.leaks()
        found += [f"seed {seed} t{thr}: {var} = {v}" for var, v in leaks]
        lp.run(atk, truth, f"seed {seed} t{thr}")
    print(f"the province's cells {total}, published where a member's is hidden {beside}; "
          f"hidden linked and by the union rule {hid}; {len(found)} small counts recovered")
    for name in ("famiglie", "famiglie_tipologia", "strasa_cittadinanza", "stato_civile"):
        check(beside.get(name, 0) > 0, f"{name}: the province publishes cells its members hide "
              "(what is attacked)")
        check(hid[name][0] < hid[name][1], f"{name}: the whole province protected as one "
              f"territory hides {hid[name][0]} cells, not fewer than the union rule's "
              f"{hid[name][1]}")
    check(not found, "hidden small counts recovered from the province's households and "
          "citizenships and its members':\n" + "\n".join(found[:40]))
    # none pinned either: a class the province publishes as 0 is
    # published by its members too, never a complement (issue #17: a
    # member's posas single year was its published classes plus such
    # hidden zeros)
    lp.check("the province's households, citizenships and civil status and its members'")



def test_citizenship_both():
    """strasa_cittadinanza's state rows and strasa_cittadinanza_eta's
    state totals (each state's 999 row) are the same counts, the citizens
    of a state by sex, and strasa's cells its block of all states (999),
    protected by three computations: the exact attacker takes the three
    tables of each municipality of the whole province 036 and of the
    province (comuni= both), each state's row of one the same unknowns as
    its total row in the other, the province the sum of its members (a
    state a member does not list: none of its citizens there), and must
    determine no hidden small count, nor find one published by one table
    and hidden by another: in every territory, the province's pool too,
    strasa_cittadinanza_eta hides its state totals exactly as
    strasa_cittadinanza hides the same rows, and its block of all states
    exactly as strasa.  The province lists a state only with citizens of
    it, so each listed state's total is at least 1 (the attacker's bound):
    on seed 2 it pinned 24 counts (six states of one citizen each) until
    the server's audit knew it too (cite_low in src/stats/tables.c)."""
    found, hidden, cells, unlike, compared, lp = [], 0, 0, [], 0, Intervals()
    members = PROVINCE
    pool = ",".join(members)
    asked, d = "2026-02-01", "2026-01-31"
    for seed, thr, get, truth in province_runs(600, (2, 5, 13)):
        atk = Attack(thr)
        terr = {c: Territory(atk, c) for c in (pool,) + members}
        for c, t in terr.items():
            url = f"/api/v1/stats/tables?comuni={c}&threshold={thr}&date={asked}&table="
            cit = get(url + "strasa_cittadinanza")
            col = {s: [] for s in SEXES}
            for r in cit["righe"]:
                row = [("for", d, s) if r[2] == "999" else ("cit", d, r[2], s) for s in SEXES]
                for v, x in zip(row, r[4:7]):
                    t.cell(v, x, f"strasa_cittadinanza {d}")
                t.total(row[:2], row[2])
                cells += 3
                if r[2] != "999":
                    if c == pool:   # the province lists the states of its citizens
                        t.bound({row[2]: 1}, 1, None)
                    for s, v in zip(SEXES, row):
                        col[s].append(v)
            for s in SEXES:
                t.total(col[s], ("for", d, s))
            strasa = get(url + "strasa")
            read_ages(strasa, "strasa", lambda s: ("for", d, s), "fage", d, t)
            eta = get(url + "strasa_cittadinanza_eta")["righe"]
            rows = [r[:5] + ["" if x is None else str(x) for x in r[5:8]] for r in eta]
            read_cite(rows, d, t)
            # the same cells hidden alike by the three tables
            same = {("999", r[2]): r[3:6] for r in strasa["righe"]}
            same.update({(r[2], "999"): r[4:7] for r in cit["righe"]})
            for r in eta:
                if (r[2], r[4]) in same:
                    compared += 1
                    mine = [x is None for x in r[5:8]]
                    theirs = [x is None for x in same[r[2], r[4]]]
                    if mine != theirs:
                        unlike.append(f"seed {seed} t{thr} {c}: {r[2]} {r[4]} {mine} {theirs}")
        link(atk, terr[pool], tuple(terr[c] for c in members))
        hidden += len(atk.hidden)
        leaks, _ = atk.leaks()
        both = {v for v, _ in leaks if v in atk.known}
        found += [f"seed {seed} t{thr}: {var} = {v}" for var, v in leaks if var in both]
        found += [f"seed {seed} t{thr}: {var} = {v}" for var, v in atk.exact_leaks()]
        lp.run(atk, truth, f"seed {seed} t{thr}")
    print(f"strasa, strasa_cittadinanza and strasa_cittadinanza_eta together: {hidden} hidden "
          f"unknowns, {len(found)} small counts recovered; rows of strasa_cittadinanza_eta "
          f"hidden unlike strasa's or strasa_cittadinanza's: {len(unlike)} of {compared}")
    check(hidden > 0, "the tables hide something")
    check(not unlike, "strasa_cittadinanza_eta hides a row unlike strasa or "
          "strasa_cittadinanza:\n" + "\n".join(unlike[:40]))
    check(not found, "hidden small counts recovered from the two citizenship tables together:\n"
          + "\n".join(found[:40]))
    lp.check("strasa, strasa_cittadinanza and strasa_cittadinanza_eta together")


ALONE = ("036023", "037006")   # two provinces, one municipality of each in the register


def test_province_alone():
    """famiglie, famiglie_tipologia and strasa_cittadinanza of a
    municipality whose province has no other municipality in the register
    (ALONE: two provinces, one municipality each): the province is that
    municipality, so its tables are protected as one territory on their
    own, not beside members.  A table whose rows and columns both add up
    (famiglie_tipologia, with famiglie's column as its total row;
    strasa_cittadinanza), protected with two hidden cells in each line,
    can still leave a cell determined by the system as a whole: the exact
    attacker (every identity at once, reduced row echelon form) reads each
    municipality's three tables and their pool's, linked as the pool = the
    sum of its two, and must determine no hidden small count."""
    found, hidden, asked, d, lp = [], 0, "2026-02-01", "2026-01-31", Intervals()
    for seed in (3, 11, 29, 41):
        pop = {"persons": 900, "comuni": ",".join(ALONE), "seed": seed, "days": DAYS}
        with Server(population=pop) as srv:
            a = srv.admin()

            def get(url):
                return expect(a.get(url), 200, None, url).json

            for thr in (3, 5):
                atk = Attack(thr)
                pool = ",".join(ALONE)
                terr = {c: Territory(atk, c) for c in (pool,) + ALONE}
                for c, t in terr.items():
                    def table(name, date, c=c):
                        return get(f"/api/v1/stats/tables?table={name}&comuni={c}"
                                   f"&threshold={thr}&date={date}")
                    read_stocks(table, asked, d, t, listed=c != pool)
                link(atk, terr[pool], tuple(terr[c] for c in ALONE))
                hidden += len(atk.hidden)
                found += [f"seed {seed} t{thr}: {var} = {v}" for var, v in atk.exact_leaks()]
                lp.run(atk, Truth(srv.population), f"seed {seed} t{thr}")
    print(f"municipalities alone in their province: {hidden} hidden cells, {len(found)} small "
          "counts the exact attacker determines")
    check(hidden > 0, "the tables hide something")
    check(not found, "hidden small counts determined by a lone municipality's households and "
          "citizenships:\n" + "\n".join(found[:40]))
    lp.check("the households and citizenships of municipalities alone in their province")


if __name__ == "__main__":
    run_tests(globals())
