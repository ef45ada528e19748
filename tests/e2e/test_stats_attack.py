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
import datetime

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

    def solve(self):
        """Repeated single-unknown elimination over every relation."""
        val = dict(self.known)
        changed = True
        while changed:
            changed = False
            for coef, const in self.rel:
                unknown = [v for v, c in coef.items() if c and v not in val]
                if len(unknown) != 1:
                    continue
                x = unknown[0]
                rest = const - sum(c * val[v] for v, c in coef.items() if v != x and c)
                check(rest % coef[x] == 0, f"relation {coef} = {const}: not an integer")
                val[x] = rest // coef[x]
                changed = True
        return val

    def leaks(self):
        val = self.solve()
        out = []
        for var in self.hidden - set(self.known):
            if var in val and not (var[0] == "bal" and var[-1] in DERIVED) \
                    and 0 < val[var] < self.thr:
                out.append((var, val[var]))
        return sorted(out, key=str), len(set(val) - set(self.known))


def day_before(d):
    return (datetime.date.fromisoformat(d) - datetime.timedelta(days=1)).isoformat()


def read_all(get, comune, thr, atk):
    """Every table and series of comune with threshold thr into atk."""
    def table(name, **params):
        q = "&".join(f"{k}={v}" for k, v in params.items())
        return get(f"/api/v1/stats/tables?table={name}&comuni={comune}&threshold={thr}&{q}")

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
            atk.total(row[0:2], row[2])
            atk.total(row[3:6], row[2])
            atk.total(row[6:8], row[2])
        tot_row = {"M": pop("M"), "F": pop("F"), "T": pop("T"), "Y": ("grp", d, "Y"),
                   "W": ("grp", d, "W"), "O": ("grp", d, "O"), "FOR": forr("T"),
                   "ITA": ("ita", d), "FAM": ("famtot", d)}
        for n in names:
            atk.total(cols[n], tot_row[n])
        for g, years in (("Y", range(0, 15)), ("W", range(15, 65)), ("O", range(65, 101))):
            atk.total([("age", d, a, "T") for a in years], ("grp", d, g))

    # The monthly balance: start and end are the populations of POSAS.
    def bvar(dal, al, s, j):
        if j == 0:
            return ("pop", day_before(dal), s)
        if j == 11:
            return ("pop", al, s)
        return ("bal", dal, al, s, j)

    for r in bil["righe"]:
        dal, al, s = r[3], r[4], BAL_SEX[r[5]]
        v = [bvar(dal, al, s, j) for j in range(12)]
        for j in range(12):
            atk.cell(v[j], r[6 + j], f"bilancio {dal} {s}")
        flows = {v[0]: 1, v[11]: -1}
        for j, sign in FLOW_SIGN.items():
            flows[v[j]] = sign
        atk.relation(flows)
        atk.relation({v[1]: 1, v[2]: -1, v[3]: -1})
        atk.relation({v[4]: 1, v[5]: 1, v[6]: 1, v[7]: -1, v[8]: -1, v[9]: -1, v[10]: -1})
        atk.relation({v[0]: 1, v[3]: 1, v[10]: 1, v[11]: -1})
    for dal, al in periods:
        for j in range(12):
            atk.total([bvar(dal, al, "M", j), bvar(dal, al, "F", j)], bvar(dal, al, "T", j))

    # The series: the same unknowns, totals only.
    stocks = {"population": "T", "males": "M", "females": "F"}
    flows = {"births": 1, "deaths": 2, "natural_balance": 3, "migratory_balance": 10}
    sums = {"registrations": (4, 5, 6), "cancellations": (7, 8, 9)}
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
    for seed in (3, 11, 29):
        pop = {"persons": 260, "comuni": "036023,036005", "seed": seed, "days": DAYS}
        with Server(population=pop) as srv:
            a = srv.admin()

            def get(url):
                return expect(a.get(url), 200, None, url).json

            for comune in ("036023", "036005"):
                for thr in (3, 5):
                    atk = Attack(thr)
                    read_all(get, comune, thr, atk)
                    leaks, n = atk.leaks()
                    solved += n
                    hidden += len(atk.hidden - set(atk.known))
                    for var, v in leaks:
                        found.append(f"seed {seed} {comune} t{thr}: {var} = {v}")
    print(f"hidden unknowns {hidden}, of which the attacker solves {solved}, "
          f"{len(found)} small counts among them")
    check(hidden > 0, "the tables hide something (small municipalities)")
    check(not found, "hidden small counts recovered by combining what is published:\n"
          + "\n".join(found[:40]))


if __name__ == "__main__":
    run_tests(globals())
