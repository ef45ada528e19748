#!/usr/bin/env python3
"""End-to-end: small-cell protection against an attacker who reads every
table and series the API publishes for one municipality and a few dates, and
combines them.

For small generated municipalities (several seeds, thresholds 3 and 5) the
test reads POSAS, STRASA, STRASA by citizenship, households by size and by type
and the indicators by locality on the dates a balance touches (the day before its
first month, the last day of each month), the monthly balance and the
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
tables are these tables: it adds nothing to what is read here."""
import csv
import datetime
import io
import math

import harness
from harness import *  # noqa: F401,F403

START = "2026-01-01"
DAYS = 45
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

    def ratio(self, num, den, scale, value, decimals, where):
        """A published indicator: value = scale * num / den, num and den
        {unknown: coefficient}; with `decimals` a rounded value, so an
        interval; None: as computed (a double)."""
        if value is None:
            return
        check(isinstance(value, (int, float)), f"{where}: a number")
        self.ratios.append((num, den, scale, value, decimals))

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

    def leaks(self):
        val = self.solve()
        out = []
        for var in self.hidden - set(self.known):
            if var in val and not (var[0] in ("bal", "ybal") and var[-1] in DERIVED) \
                    and 0 < val[var] < self.thr:
                out.append((var, val[var]))
        # a count one publication hides and another gives outright
        for var in self.hidden & set(self.known):
            if not (var[0] in ("bal", "ybal") and var[-1] in DERIVED) \
                    and 0 < self.known[var] < self.thr:
                out.append((var, self.known[var]))
        return sorted(out, key=str), len(set(val) - set(self.known))


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
    dates = sorted({day_before(dal) for dal, _ in periods} | {al for _, al in periods})
    for d in dates:
        pop = lambda s: ("pop", d, s)  # noqa: E731
        forr = lambda s: ("for", d, s)  # noqa: E731
        # POSAS and STRASA: ages x sexes, the 999 row the population (the
        # foreign residents) by sex.
        for name, tot, kind in (("posas", pop, "age"), ("strasa", forr, "fage")):
            doc = table(name, date=d)
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
            if name == "posas":
                # the sum of the ages, which the average age gives
                atk.relation({**{("age", d, a, "T"): a for a in range(101)}, ("agesum", d): -1})
        # By citizenship and age: a block of strasa per state, then the
        # block of all states, strasa's own cells; every age an identity
        # over the states.
        # (as CSV: the largest table, read without the JSON schema's check,
        # which would take most of the test's time)
        cells = {}
        for r in table_csv("strasa_cittadinanza_eta", date=d)[1:]:
            r = r[:5] + [int(x) if x != "" else None for x in r[5:8]]
            st, a = r[2], r[4]
            if st == "999":
                row = [forr(s) if a == "999" else ("fage", d, int(a), s) for s in SEXES]
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
        doc = table("strasa_cittadinanza", date=d)
        col = {s: [] for s in SEXES}
        for r in doc["righe"]:
            row = [forr(s) if r[2] == "999" else ("cit", d, r[2], s) for s in SEXES]
            for v, x in zip(row, r[4:7]):
                atk.cell(v, x, f"strasa_cittadinanza {d}")
            atk.total(row[:2], row[2])
            if r[2] != "999":
                for s, v in zip(SEXES, row):
                    col[s].append(v)
        for s in SEXES:
            atk.total(col[s], forr(s))
        doc = table("famiglie", date=d)
        parts = []
        for r in doc["righe"]:
            v = ("famtot", d) if r[2] == "Totale" else ("fam", d, r[2])
            check(r[2] == "Totale" or r[2] == ("1", "2", "3", "4", "5", "6 e più")[len(parts)],
                  "famiglie: the sizes in order")
            atk.cell(v, r[3], f"famiglie {d}")
            if r[2] != "Totale":
                parts.append(v)
        atk.total(parts, ("famtot", d))
        # By type and size: the total row is the households by size.
        doc = table("famiglie_tipologia", date=d)
        cols = {k: [] for k in range(7)}
        for r in doc["righe"]:
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
        # By locality: the total row is the population, the foreigners and
        # the households of the date, its age groups POSAS's sums.
        doc = table("localita", date=d)
        names = ("M", "F", "T", "Y", "W", "O", "FOR", "ITA", "FAM")
        cols = {n: [] for n in names}
        for r in doc["righe"]:
            place = r[2]
            if place == "Totale":
                row = [pop("M"), pop("F"), pop("T"), ("grp", d, "Y"), ("grp", d, "W"),
                       ("grp", d, "O"), forr("T"), ("ita", d), ("famtot", d)]
            else:
                row = [("loc", d, place, n) for n in names]
                for n, v in zip(names, row):
                    cols[n].append(v)
            for v, x in zip(row, r[3:12]):
                atk.cell(v, x, f"localita {d}")
            # Indice di vecchiaia and Età media, two decimals
            agesum = ("agesum", d) if place == "Totale" else ("locagesum", d, place)
            if place != "Totale":
                cols.setdefault("AGESUM", []).append(agesum)
            atk.ratio({row[5]: 1}, {row[3]: 1}, 100, r[12], 2, f"localita {d}")
            atk.ratio({agesum: 1}, {row[2]: 1}, 1, r[13], 2, f"localita {d}")
            atk.total(row[0:2], row[2])
            atk.total(row[3:6], row[2])
            atk.total(row[6:8], row[2])
        tot_row = {"M": pop("M"), "F": pop("F"), "T": pop("T"), "Y": ("grp", d, "Y"),
                   "W": ("grp", d, "W"), "O": ("grp", d, "O"), "FOR": forr("T"),
                   "ITA": ("ita", d), "FAM": ("famtot", d)}
        for n in names:
            atk.total(cols[n], tot_row[n])
        atk.total(cols.get("AGESUM", []), ("agesum", d))
        for g, years in (("Y", range(0, 15)), ("W", range(15, 65)), ("O", range(65, 101))):
            atk.total([("age", d, a, "T") for a in years], ("grp", d, g))
        summary(get_summary, comune, thr, d, atk)

    # The monthly balance: start and end are the populations of POSAS.
    def bvar(dal, al, s, j, kind="bal"):
        if j == 0:
            return ("pop", day_before(dal), s)
        if j == 11:
            return ("pop", al, s)
        return (kind, dal, al, s, j)

    def balance(doc, kind):
        for r in doc["righe"]:
            dal, al, s = r[3], r[4], BAL_SEX[r[5]]
            v = [bvar(dal, al, s, j, kind) for j in range(12)]
            for j in range(12):
                atk.cell(v[j], r[6 + j], f"bilancio {kind} {dal} {s}")
            flows = {v[0]: 1, v[11]: -1}
            for j, sign in FLOW_SIGN.items():
                flows[v[j]] = sign
            atk.relation(flows)
            atk.relation({v[1]: 1, v[2]: -1, v[3]: -1})
            atk.relation({v[4]: 1, v[5]: 1, v[6]: 1, v[7]: -1, v[8]: -1, v[9]: -1, v[10]: -1})
            atk.relation({v[0]: 1, v[3]: 1, v[10]: 1, v[11]: -1})
        for dal, al in sorted({(r[3], r[4]) for r in doc["righe"]}):
            for j in range(12):
                atk.total([bvar(dal, al, "M", j, kind), bvar(dal, al, "F", j, kind)],
                          bvar(dal, al, "T", j, kind))

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


def test_attack():
    found, solved, hidden = [], 0, 0
    both = {}   # unknowns one publication hides and another publishes, by kind
    for seed in (3, 11, 29):
        pop = {"persons": 260, "comuni": "036023,036005", "seed": seed, "days": DAYS}
        with Server(population=pop) as srv:
            a = srv.admin()

            def get(url):
                return expect(a.get(url), 200, None, url).json

            def get_text(url):
                return expect(a.get(url), 200, None, url).body.decode()

            def get_summary(url):
                r = a.get(url)
                if r.status == 200:   # the old code: the summary as it was
                    return r.json
                expect(r, 410, "gone", url)
                check("/api/v1/stats/tables" in r.json["error"]["message"],
                      f"{url}: the refusal names the tables")
                return None

            for comune in ("036023", "036005"):
                for thr in (3, 5):
                    atk = Attack(thr)
                    read_all(get, get_text, get_summary, comune, thr, atk)
                    leaks, n = atk.leaks()
                    for var in atk.hidden & set(atk.known):
                        both[var[0]] = both.get(var[0], 0) + 1
                    solved += n
                    hidden += len(atk.hidden - set(atk.known))
                    for var, v in leaks:
                        found.append(f"seed {seed} {comune} t{thr}: {var} = {v}")
    print(f"hidden unknowns {hidden}, of which the attacker solves {solved}, "
          f"{len(found)} small counts among them; hidden in one publication and "
          f"published in another: {both or 'none'}")
    check(hidden > 0, "the tables hide something (small municipalities)")
    check(not found, "hidden small counts recovered by combining what is published:\n"
          + "\n".join(found[:40]))


if __name__ == "__main__":
    run_tests(globals())
