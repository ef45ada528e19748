#!/usr/bin/env python3
"""End-to-end: one municipality's indicators by locality (frazione) and by
street (`localita`, `strade` of /api/v1/stats/tables and `visura stats
--table`), each checked against a separate computation straight from the
files `visura gen` wrote (the harness's Population model, never visura's
database): each resident counted in the locality, or the DUG and street,
of the address their household has on the date asked for; every published
cell is the true count; no published count is below the threshold; in
every row (men + women, the three age groups, foreigners + Italians, each
= total) and every column (the places add up to the total row) the hidden
cells are none or at least two, adding up to the threshold or more unless
nothing else is left to hide; the old-age index and the average age are
the true ones (to two decimals), and published only when the counts they are made of are;
with the Totale's average age hidden, a place's is too (the smallest's
when no other is); the Totale's age groups and average age hidden as
posas's single years of the municipality are.
Also the series by province (`by=provincia`, the map's region view): each
province the pool of its municipalities in the register."""
import csv
import io
import json
import subprocess

import harness
from harness import *  # noqa: F401,F403
from test_stats_tables import age_on, check_protected, expected_ages, foreign, residents

COMUNI = ("036023", "036005")
OTHER = "037006"    # Bologna: a second province of the region, for by=provincia
COUNTS = 9          # Maschi .. Famiglie
NOT_FOUND = "Indirizzo non indicato"


def expected(pop, comune, d, street):
    """{place key: [9 counts, sum of ages]} with the total row under
    'Totale' (the key is a 1-tuple of the locality, or (DUG, street))."""
    rows, seen = {}, set()
    for (c, _), v in residents(pop, (comune,), d):
        fam = pop.family(c, v["family_id"], d) if v["family_id"] else None
        if fam is None:
            key = ("", NOT_FOUND) if street else (NOT_FOUND,)
        elif street:
            key = (fam["dug"], fam["street"])
        else:
            key = (fam["locality"] or "Nessuna frazione indicata",)
        age = age_on(v["birth_date"], d)
        for k in (key, "Totale"):
            r = rows.setdefault(k, [0] * (COUNTS + 1))
            r[0 if v["sex"] == "M" else 1] += 1
            r[2] += 1
            r[3 if age < 15 else 4 if age < 65 else 5] += 1
            r[6 if foreign(v) else 7] += 1
            r[9] += age
            if fam is not None and fam["kind"] == "1" and (k, v["family_id"]) not in seen:
                seen.add((k, v["family_id"]))
                r[8] += 1
    return rows


def check_table(doc, truth, street, threshold, what):
    nlab = 4 if street else 3
    eq(len(doc["colonne"]), nlab + COUNTS + 2, f"{what}: columns")
    eq(doc["colonne"][-2:], ["Indice di vecchiaia", "Età media"], f"{what}: indicators")
    keys = []
    cells, tr, avgs = {}, {}, {}
    for row in doc["righe"]:
        key = "Totale" if row[nlab - 1] == "Totale" else tuple(row[2:nlab])
        check(key in truth, f"{what}: unexpected row {key}")
        keys.append(key)
        for j in range(COUNTS):
            cells[(key, j)] = row[nlab + j]
            tr[(key, j)] = truth[key][j]
        t = truth[key]
        old_idx, avg = row[nlab + COUNTS:]
        if None in (cells[(key, 3)], cells[(key, 5)]) or t[3] == 0:
            eq(old_idx, None, f"{what} {key}: old-age index hidden with its counts")
        else:
            check(abs(old_idx - 100 * t[5] / t[3]) <= 0.005 + 1e-9,
                  f"{what} {key}: old-age index {old_idx}, true {100 * t[5] / t[3]}")
        avgs[key] = avg
        if None in (cells[(key, 2)], cells[(key, 3)], cells[(key, 4)], cells[(key, 5)]):
            eq(avg, None, f"{what} {key}: average age hidden with the total or an age group")
        elif avg is not None:
            check(abs(avg - t[9] / t[2]) <= 0.005 + 1e-9,
                  f"{what} {key}: average age {avg}, true {t[9] / t[2]}")
    eq(keys[-1], "Totale", f"{what}: the total row last")
    # The places' age sums add up to the Totale's: with its average age
    # hidden (posas hides a single year), one place's is hidden too; only
    # then a place's with its counts published, the smallest's (the first
    # of the smallest), when no other place's is hidden.
    places = keys[:-1]
    check(avgs["Totale"] is not None or None in [avgs[k] for k in places],
          f"{what}: the Totale's average age hidden, every place's published (the sum "
          "of the ages, which posas's hidden years would give back)")
    counted = [k for k in places if None not in [cells[(k, j)] for j in (2, 3, 4, 5)]]
    alone = [k for k in counted if avgs[k] is None]
    if alone:
        smallest = min(places, key=lambda k: truth[k][2])
        check(avgs["Totale"] is None and alone == [smallest] and len(counted) == len(places),
              f"{what}: a place's average age hidden, its counts published ({alone}): "
              f"only the smallest place's ({smallest}) with the Totale's, every other "
              "place's published")
    # in the order of the names as stored (no locality first), the
    # residents whose household has no address that day last
    raw = [(NOT_FOUND in k, tuple("" if x == "Nessuna frazione indicata" else x for x in k))
           for k in keys[:-1]]
    eq(sorted(raw), raw, f"{what}: places in the order of their names")
    eq(set(keys), set(truth), f"{what}: every place with residents, and no other")
    idents = []
    for k in keys:
        idents += [[(k, j) for j in (0, 1, 2)], [(k, j) for j in (3, 4, 5, 2)],
                   [(k, j) for j in (6, 7, 2)]]
    idents += [[(k, j) for k in keys] for j in range(COUNTS)]
    # the total row's population by sex, foreigners and households: known
    # totals (published alike by POSAS, STRASA and the households' tables)
    check_protected(cells, tr, idents, threshold, what,
                    known=lambda c: c[0] == keys[-1] and c[1] in (0, 1, 2, 6, 8))
    return cells


def test_places():
    pop = {"persons": 2000, "comuni": ",".join(COMUNI + (OTHER,)), "seed": 11, "days": 30}  # to 2026-01-31: January whole
    with Server(population=pop) as srv:
        a = srv.admin()
        p = srv.population

        def table(name, **params):
            q = "&".join(f"{k}={v}" for k, v in params.items())
            return expect(a.get(f"/api/v1/stats/tables?table={name}&{q}"), 200).json

        localities = 0
        for comune in COMUNI:
            for name, street in (("localita", False), ("strade", True)):
                # on the first of a month, at its start: the end of the day before
                for thr, asked in ((3, "2026-02-01"), (5, "2026-02-01")):
                    d = "2026-01-31"
                    doc = table(name, comuni=comune, threshold=thr, date=asked)
                    eq((doc["tavola"], doc["riferimento"], doc["soglia"]),
                       (name.upper(), asked, thr), "name, date, threshold")
                    truth = expected(p, comune, d, street)
                    cells = check_table(doc, truth, street, thr, f"{name} {comune} {d} t{thr}")
                    check(any(v is not None and v > 0 for v in cells.values()),
                          "some non-zero cells are published")
                    check(len(truth) > 3, f"{name} {comune}: several places")
                    # the Totale's age groups are sums of POSAS's single
                    # years: hidden as posas (linked with its province)
                    # hides them, a group alone with hidden years
                    # published; its average age hidden when posas hides
                    # any year (the municipality's counts are those of the
                    # pass by place: posas's must be the same)
                    posas = table("posas", comuni=comune, threshold=thr, date=asked)
                    years = [r[5] is None for r in posas["righe"][:-1]]
                    grp = [any(years[lo:hi]) for lo, hi in ((0, 15), (15, 65), (65, 101))]
                    hides = any(grp)
                    if sum(grp) == 1:
                        grp = [False] * 3
                    eq([cells[("Totale", j)] is None for j in (3, 4, 5)], grp,
                       f"{name} {comune} t{thr}: the Totale's age groups hidden as posas's years")
                    if hides:
                        eq(doc["righe"][-1][-1], None, f"{name} {comune} t{thr}: the Totale's average age "
                           "hidden with posas's years")
                    if not street:
                        localities += sum(1 for k in truth if k != "Totale"
                                          and k[0] != "Nessuna frazione indicata")
        check(localities > 0, "the generated population has households in a frazione")
        # CSV and the command line: the same table.
        res = a.get(f"/api/v1/stats/tables?table=strade&comuni={COMUNI[0]}&date=2026-02-01&format=csv")
        eq(res.status, 200, "csv")
        doc = table("strade", comuni=COMUNI[0], date="2026-02-01")
        rows = list(csv.reader(io.StringIO(res.body.decode())))
        eq(rows[0], doc["colonne"], "csv header")
        eq(rows[1:], [[x if isinstance(x, str) else "" if x is None else
                       f"{x:.2f}" if isinstance(x, float) else str(x) for x in r]
                      for r in doc["righe"]], "csv rows")
        out = subprocess.run([harness.VISURA, "stats", "--db", srv.db, "--table", "localita",
                              "--comune", COMUNI[1], "--date", "2026-02-01"],
                             capture_output=True, text=True)
        eq(out.returncode, 0, out.stderr)
        eq(json.loads(out.stdout)["righe"], table("localita", comuni=COMUNI[1], date="2026-02-01")["righe"],
           "visura stats --table localita = the API")
        # Refusals: a place belongs to one municipality; the names listed.
        for q in ("table=strade", f"table=localita&comuni={','.join(COMUNI)}"):
            r = expect(a.get(f"/api/v1/stats/tables?{q}"), 400, "invalid_request", q)
            check("un solo comune" in r.json["error"]["message"], r.json)
        r = expect(a.get("/api/v1/stats/tables?table=vie"), 400, "invalid_request")
        for n in ("posas", "bilancio", "famiglie_tipologia", "localita", "strade"):
            check(n in r.json["error"]["message"], f"the refusal lists {n}: {r.json}")
        out = subprocess.run([harness.VISURA, "stats", "--db", srv.db, "--table", "vie"],
                             capture_output=True, text=True)
        check(out.returncode != 0 and "localita, strade" in out.stderr,
              f"the command line lists the same names: {out.stderr}")
        expect(a.get(f"/api/v1/stats/tables?table=strade&comuni={COMUNI[0]}&threshold=2"), 400,
               "invalid_request", "the floor")

        # A whole province's tables in a register that holds another
        # province too: each municipality of it read by its own index (not
        # the register's every person), the counts those of the files —
        # every published cell, and the totals by sex (known, never
        # hidden) — for the foreign residents too.
        for name, only_foreign in (("posas", False), ("strasa", True)):
            doc = table(name, comuni=",".join(COMUNI), date="2026-02-01")
            truth = expected_ages(p, COMUNI, "2026-01-31", only_foreign)
            eq([r[2] for r in doc["righe"]], list(truth), f"{name} of province 036: its ages")
            for r in doc["righe"]:
                for got, want in zip(r[3:6], truth[r[2]]):
                    check(got is None or got == want,
                          f"{name} of province 036, age {r[2]}: {got}, counted {want}")
                if r[2] == "999":
                    eq(r[3:5], truth["999"][:2], f"{name} of province 036: its totals by sex")

        # The provinces of the region (the map's region view): one series
        # per province, its municipalities in the register pooled, the
        # same as asking for the pool (protection included); populations
        # recounted from the files.
        provinces = {"036": COMUNI, "037": (OTHER,)}
        for ind in ("population", "average_age"):
            doc = expect(a.get(f"/api/v1/stats/series?indicator={ind}&by=provincia"), 200).json
            eq([(x["codice"], x["nome"], x["comuni"]) for x in doc["serie"]],
               [("036", "Provincia MO", 2), ("037", "Provincia BO", 1)], "one series per province")
            for x in doc["serie"]:
                members = provinces[x["codice"]]
                pool = expect(a.get(f"/api/v1/stats/series?indicator={ind}"
                                    f"&comuni={','.join(members)}"), 200).json["serie"][0]
                eq(x["punti"], pool["punti"], f"{ind} {x['codice']}: the pool of its municipalities")
                for pt in x["punti"]:
                    people = residents(p, members, pt["al"])
                    if pt["valore"] is None:
                        continue
                    want = (len(people) if ind == "population" else
                            sum(age_on(v["birth_date"], pt["al"]) for _, v in people) / len(people))
                    check(abs(pt["valore"] - want) < 1e-6,
                          f"{ind} {x['codice']} {pt['periodo']}: {pt['valore']}, counted {want}")
        doc = expect(a.get(f"/api/v1/stats/series?indicator=population&by=provincia"
                           f"&comuni={COMUNI[0]},{OTHER}&threshold=5"), 200).json
        eq([(x["codice"], x["comuni"]) for x in doc["serie"]], [("036", 1), ("037", 1)],
           "only the municipalities asked for")
        eq(doc["serie"][0]["punti"], expect(a.get(
            f"/api/v1/stats/series?indicator=population&comuni={COMUNI[0]}&threshold=5"),
            200).json["serie"][0]["punti"], "a province of one municipality asked for")
        r = expect(a.get("/api/v1/stats/series?indicator=population&by=regione"), 400,
                   "invalid_request")
        check("provincia" in r.json["error"]["message"], r.json)
        out = subprocess.run([harness.VISURA, "stats", "--db", srv.db, "--series", "population",
                              "--by-provincia"], capture_output=True, text=True)
        eq(out.returncode, 0, out.stderr)
        eq(json.loads(out.stdout)["serie"], expect(a.get(
            "/api/v1/stats/series?indicator=population&by=provincia"), 200).json["serie"],
           "visura stats --series population --by-provincia = the API")


if __name__ == "__main__":
    run_tests(globals())
