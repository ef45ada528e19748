#!/usr/bin/env python3
"""End-to-end: strasa_cittadinanza_eta's protection kept by the server
across requests (issue #17, src/stats/cache.h).

The linked protection of foreign residents by citizenship, sex and age
(its exact audit: seconds at 200,000 persons) is the one protection of
STRASA, strasa_cittadinanza and strasa_cittadinanza_eta; the server keeps
it under the SHA-256 of its inputs, so the second and third table reuse
it.  Here, for each member of a province and for the province (threshold
3): the three tables agree (strasa_cittadinanza_eta's block of all
states hidden as strasa, each state's total row as strasa_cittadinanza),
and each is the table `visura stats --table` computes with no cache, on
the same database; then deltas that change those counts (backdated, as a
register records a move after the fact) are imported while the server
runs, and the answers again are the command line's: a new protection,
never the one kept for the old counts."""
import json
import subprocess

import harness
from harness import *  # noqa: F401,F403
from test_stats_snapshot import Partial

COMUNI = ("036005", "036023")    # two municipalities of one province (Modena)
POOL = ",".join(COMUNI)
DATE = "2026-02-01"              # the population at the end of 31 January
THRESHOLDS = (3,)
TABLES = ("strasa_cittadinanza_eta", "strasa", "strasa_cittadinanza")


def cli_table(db, name, comuni, thr):
    p = subprocess.run([harness.VISURA, "stats", "--db", db, "--table", name, "--comune", comuni,
                        "--date", DATE, "--threshold", str(thr)], capture_output=True, text=True)
    check(p.returncode == 0, f"visura stats --table {name}: {p.returncode} {p.stderr}")
    return json.loads(p.stdout)


def consistent(t, what):
    """The three tables as one protection hides them."""
    cite, strasa, cit = (t[n]["righe"] for n in TABLES)
    eq([[x is None for x in r[5:8]] for r in cite if r[2] == "999"],
       [[x is None for x in r[3:6]] for r in strasa],
       f"{what}: strasa_cittadinanza_eta's block of all states hidden as strasa")
    by_state = {r[2]: [x is None for x in r[4:7]] for r in cit}
    totals = {r[2]: [x is None for x in r[5:8]] for r in cite[101::102] if r[2] != "999"}
    for st, h in by_state.items():
        if st != "999":
            eq(totals.get(st), h, f"{what}: state {st}'s total row hidden as strasa_cittadinanza")


def test_protection_kept_and_renewed():
    pop = Partial(persons=4000, comuni=POOL, seed=11, days=40)
    with Server(population=pop) as srv:
        a = srv.admin()

        def answers():
            out = {}
            for c in COMUNI + (POOL,):
                for thr in THRESHOLDS:
                    out[(c, thr)] = {n: expect(a.get(
                        f"/api/v1/stats/tables?table={n}&comuni={c}&date={DATE}&threshold={thr}"),
                        200).json for n in TABLES}
            return out

        def check_all(got, when):
            for (c, thr), t in got.items():
                what = f"{when}, {c} threshold {thr}"
                consistent(t, what)
                for n in TABLES:
                    eq(t[n]["righe"], cli_table(srv.db, n, c, thr)["righe"],
                       f"{what}: {n} as the command line computes it (no cache)")

        before = answers()
        again = answers()
        eq(again, before, "the same tables asked again")
        check_all(before, "before the deltas")
        check(pop.later, "deltas left to import")
        p = subprocess.run([harness.VISURA, "import", "--quiet", "--db", srv.db] + pop.later,
                           capture_output=True, text=True)
        check(p.returncode == 0, f"visura import: {p.returncode} {p.stderr[-300:]}")
        after = answers()
        check_all(after, "after the deltas")
        # not vacuous: the deltas changed the counts of the three tables
        # on that date, and the protection's cells with them
        for k in after:
            old, new = (x[k][TABLES[0]]["righe"] for x in (before, after))
            check(old != new, f"{k}: strasa_cittadinanza_eta changed by the deltas")
            check([[v is None for v in r] for r in old] != [[v is None for v in r] for r in new],
                  f"{k}: strasa_cittadinanza_eta's hidden cells changed by the deltas")


if __name__ == "__main__":
    run_tests(globals())
