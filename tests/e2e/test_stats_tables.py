#!/usr/bin/env python3
"""End-to-end: the standard tables (POSAS, STRASA by age, by citizenship and
by both, bilancio demografico,
famiglie by size and by type, stato_civile) over the API and `visura stats --table`, each checked against a
separate computation straight from the files `visura gen` wrote (the
harness's Population model, never visura's database): every published cell
is the true count, no published cell is below the threshold, and in every
row, column and balance identity the hidden cells are none or at least two
(so no total gives one back), adding up to the threshold or more unless
nothing else is left to hide; the
balance identity start + flows = end holds for every municipality and
month; the end of a month is the start of the next.  The household types
are also checked on households written by hand, one of each rule of
docs/api.md (two nuclei included: `visura gen` makes none)."""
import csv
import datetime
import io
import os
import subprocess

import harness
from harness import *  # noqa: F401,F403

COMUNI = ("036023", "036005")
START = "2026-01-01"          # the FULL snapshot of `visura gen`
# The stock tables are on the first of a month, at its start: the
# population at the end of the day before (1 January 2026 is before the
# register covers it, the snapshot being of that day).
FIRST, STATE = "2026-02-01", "2026-01-31"


def resident(v, d):
    return (v is not None and v["reg_date"] and v["reg_date"] <= d
            and not (v["canc_reason"] and v["canc_date"] <= d))


def age_on(birth, d):
    b, o = datetime.date.fromisoformat(birth), datetime.date.fromisoformat(d)
    return o.year - b.year - ((o.month, o.day) < (b.month, b.day))


def residents(pop, comuni, d):
    """(record key, version valid on d) of the persons resident on d."""
    out = []
    for key, vs in pop.persons.items():
        if key[0] in comuni:
            v = pop._at(vs, d)
            if resident(v, d):
                out.append((key, v))
    return out


def foreign(v):
    return "100" not in v["citizenships"].split(",")


def expected_ages(pop, comuni, d, only_foreign=False):
    rows = {a: [0, 0] for a in range(101)}
    for _, v in residents(pop, comuni, d):
        if only_foreign and not foreign(v):
            continue
        rows[min(age_on(v["birth_date"], d), 100)][0 if v["sex"] == "M" else 1] += 1
    table = {str(a): [m, f, m + f] for a, (m, f) in rows.items()}
    table["999"] = [sum(r[i] for r in table.values()) for i in range(3)]
    return table


def expected_households(pop, comuni, d):
    rows = {k: 0 for k in ("1", "2", "3", "4", "5", "6 e più")}
    for n in map(len, households(pop, comuni, d).values()):
        rows[str(n) if n < 6 else "6 e più"] += 1
    rows["Totale"] = sum(rows.values())
    return {k: [v] for k, v in rows.items()}


TIPOLOGIE = ("Persona sola", "Altra famiglia senza nuclei", "Coppia senza figli",
             "Coppia con figli", "Padre solo con figli", "Madre sola con figli",
             "Famiglia con due o più nuclei")


def household_type(members):
    """ISTAT's type of a household from its members' versions, by the rules
    of docs/api.md ("Famiglie per tipologia"): nuclei are the couples and
    the parents with never-married children that the relationship to the
    head shows."""
    if len(members) == 1:
        return "Persona sola"
    heads = [v for v in members if v["relationship"] == "1"]
    if not heads:
        return "Altra famiglia senza nuclei"
    head = heads[0]

    def rel(*codes):
        return [v for v in members if v["relationship"] in codes]

    def unmarried(vs):
        return [v for v in vs if v["civil_status"] in ("1", "9")]

    nuclei = []
    if rel("2", "22", "23", "28"):
        nuclei.append("Coppia con figli" if unmarried(rel("3", "13", "27")) else "Coppia senza figli")
    elif unmarried(rel("3", "13", "27")):
        nuclei.append("Padre solo con figli" if head["sex"] == "M" else "Madre sola con figli")
    for parent, sibling, head_child in (("6", "9", not nuclei and head["civil_status"] in ("1", "9")),
                                        ("17", "15", False)):
        parents, children = rel(parent), head_child or unmarried(rel(sibling))
        if len(parents) >= 2:
            nuclei.append("Coppia con figli" if children else "Coppia senza figli")
        elif parents and children:
            nuclei.append("Padre solo con figli" if parents[0]["sex"] == "M" else "Madre sola con figli")
    for _ in rel("16"):
        nuclei.append("Coppia con figli" if unmarried(rel("4")) else "Coppia senza figli")
    if not nuclei:
        return "Altra famiglia senza nuclei"
    return nuclei[0] if len(nuclei) == 1 else "Famiglia con due o più nuclei"


def households(pop, comuni, d):
    """{(comune, family id): [member versions]} of the famiglie anagrafiche on d."""
    out = {}
    for (comune, _), v in residents(pop, comuni, d):
        fam = pop.family(comune, v["family_id"], d) if v["family_id"] else None
        if fam and fam["kind"] == "1":
            out.setdefault((comune, v["family_id"]), []).append(v)
    return out


def expected_household_types(pop, comuni, d):
    rows = {t: [0] * 7 for t in TIPOLOGIE + ("Totale",)}
    for members in households(pop, comuni, d).values():
        size = min(len(members), 6) - 1
        for r in (rows[household_type(members)], rows["Totale"]):
            r[size] += 1
            r[6] += 1
    return rows


REG = {"1": 1, "3": 4, "4": 5, "6": 5}          # column of the balance by reason
CANC = {"1": 2, "2": 2, "3": 7, "5": 8, "8": 8}


def expected_balance(pop, comuni, periods):
    """{(period, sex): 12 counts}: populations from the versions valid on
    the day before and the last day; flows from each distinct registration
    and cancellation any version of a record carries."""
    out = {}
    for dal, al in periods:
        before = (datetime.date.fromisoformat(dal) - datetime.timedelta(days=1)).isoformat()
        for sex in ("Maschi", "Femmine", "Totale"):
            out[(dal, sex)] = [0] * 12
        for key, vs in pop.persons.items():
            if key[0] not in comuni:
                continue
            sx = "Maschi" if vs[-1]["sex"] == "M" else "Femmine"
            rows = (out[(dal, sx)], out[(dal, "Totale")])
            regs = {(v["reg_date"], v["reg_reason"]) for v in vs if v["reg_date"]}
            cancs = {(v["canc_date"], v["canc_reason"]) for v in vs if v["canc_reason"]}
            for r in rows:
                r[0] += resident(pop._at(vs, before), before)
                r[11] += resident(pop._at(vs, al), al)
                for d, why in regs:
                    if dal <= d <= al:
                        r[REG.get(why, 6)] += 1
                for d, why in cancs:
                    if dal <= d <= al:
                        r[CANC.get(why, 9)] += 1
        for sex in ("Maschi", "Femmine", "Totale"):
            r = out[(dal, sex)]
            r[3] = r[1] - r[2]
            r[10] = r[4] + r[5] + r[6] - r[7] - r[8] - r[9]
    return out


def check_protected(cells, truth, identities, threshold, what, derived=lambda c: False,
                    known=lambda c: False, corner=lambda c: False):
    """cells/truth: {cell id: published value or None / true count}.  The
    rule (docs/api.md, "Segreto statistico"): a count of 1 to threshold-1
    is hidden (not a balance, derived); in every identity no hidden cell is
    alone, and hidden cells adding up to less than the threshold get
    another non-zero cell; a zero is hidden only as the last complement of
    a cell that would be alone; the known totals (the population and the
    foreign residents by sex, the households, published alike by every
    table) are hidden only below the threshold or to protect each other in
    an identity of known cells alone; corner(c): a zero a linked
    protection may hide as a corner of a cube of hidden cells."""
    for c, v in cells.items():
        if v is not None:
            eq(v, truth[c], f"{what}: cell {c}")
            check(v <= 0 or v >= threshold or derived(c),
                  f"{what}: published {c} = {v} under {threshold}")
    for c, v in cells.items():
        if v is not None:
            continue
        mine = [i for i in identities if c in i]
        if truth[c] == 0 and not corner(c):
            # some identity of it has no other non-zero cell left to hide
            check(any(all(cells[x] is None or truth[x] == 0 or (known(x) and not
                                                                 all(map(known, i)))
                          for x in i if x != c) for i in mine),
                  f"{what}: a zero hidden that protects nothing ({c})")
        if known(c) and not 0 < truth[c] < threshold:
            check(any(all(map(known, i)) for i in mine),
                  f"{what}: a known total hidden to protect another cell ({c})")
    for ident in identities:
        hidden = [truth[c] for c in ident if cells[c] is None]
        check(len(hidden) != 1, f"{what}: an identity gives a hidden cell back: {ident}")
        # Hidden cells adding up to a small count: only when no other
        # non-zero cell of the identity was left to hide with them.
        among_known = all(map(known, ident))
        if hidden and sum(abs(x) for x in hidden) < threshold:
            check(all(cells[c] is None or cells[c] == 0 or (known(c) and not among_known)
                      for c in ident),
                  f"{what}: hidden cells of {ident} add up to a small count")


def TOTAL_ROW(c):
    """The known totals of POSAS and the STRASA tables: the 999 row."""
    return c[0] == "999"


def grid_check(doc, truth_rows, key_cols, threshold, what, extra_identities=(), columns=True,
               known=lambda c: False):
    """Checks a table whose rows are keyed by key_cols label columns and
    whose rows and columns are identities (the last row the total; with
    columns=False the columns are not, extra_identities say what is)."""
    nlab = len(doc["colonne"]) - len(next(iter(truth_rows.values())))
    cells, truth, rows = {}, {}, []
    for row in doc["righe"]:
        key = tuple(row[i] for i in key_cols)
        k = key[0] if len(key) == 1 else key
        check(k in truth_rows, f"{what}: unexpected row {k}")
        rows.append(k)
        for j, v in enumerate(row[nlab:]):
            cells[(k, j)] = v
            truth[(k, j)] = truth_rows[k][j]
    eq(len(rows), len(truth_rows), f"{what}: every row")
    ncols = len(doc["colonne"]) - nlab
    idents = [[(k, j) for j in range(ncols)] for k in rows] if ncols > 1 else []
    idents += [[(k, j) for k in rows] for j in range(ncols)] if columns else []
    check_protected(cells, truth, idents + list(extra_identities), threshold, what, known=known)
    return cells


def test_standard_tables():
    # to 2026-02-28: February covered whole (only whole periods are published)
    pop = {"persons": 1400, "comuni": ",".join(COMUNI), "seed": 7, "days": 58}
    with Server(population=pop) as srv:
        a = srv.admin()
        p = srv.population
        last = (datetime.date.fromisoformat(START) + datetime.timedelta(days=58)).isoformat()

        def table(name, **params):
            q = "&".join(f"{k}={v}" for k, v in params.items())
            return expect(a.get(f"/api/v1/stats/tables?table={name}&{q}"), 200).json

        for comuni in (COMUNI[:1], COMUNI[1:], COMUNI):
            c = ",".join(comuni)
            for thr in (3, 5):
                doc = table("posas", comuni=c, date=FIRST, threshold=thr)
                eq(doc["tavola"], "POSAS", "name")
                eq(doc["riferimento"], FIRST, "the first of February")
                eq(doc["periodo_coperto"], {"dal": START, "al": last}, "the period covered")
                grid_check(doc, expected_ages(p, comuni, STATE), [2], thr, f"POSAS {c} t{thr}",
                           known=TOTAL_ROW)
            doc = table("strasa", comuni=c, date=FIRST)
            grid_check(doc, expected_ages(p, comuni, STATE, True), [2], 3, f"STRASA {c}",
                       known=TOTAL_ROW)
            strasa_hidden = [[x is None for x in r[3:6]] for r in doc["righe"]]
            # By citizenship: the first listed state of each foreign resident.
            truth = {}
            for _, v in residents(p, comuni, STATE):
                if foreign(v):
                    r = truth.setdefault(v["citizenships"][:3], [0, 0, 0])
                    r[0 if v["sex"] == "M" else 1] += 1
                    r[2] += 1
            truth["999"] = [sum(r[i] for r in truth.values()) for i in range(3)]
            doc = table("strasa_cittadinanza", comuni=c, date=FIRST)
            # a state of the province with no citizen here is listed only
            # when the protection with the province hides one of its zeros
            for r in doc["righe"]:
                if r[2] not in truth:
                    check(None in r[4:7], f"STRASA cittadinanza {c}: state {r[2]} listed, "
                          "none of its citizens here, no cell hidden")
                    truth[r[2]] = [0, 0, 0]
            grid_check(doc, truth, [2], 3, f"STRASA cittadinanza {c}", known=TOTAL_ROW)
            # Crossed with single years of age: a block of ages per state,
            # then the block of all states; every age of every block and
            # every age over the states is an identity.
            by_state = {}
            for _, v in residents(p, comuni, STATE):
                if foreign(v):
                    for st in (v["citizenships"][:3], "999"):
                        block = by_state.setdefault(st, {y: [0, 0, 0] for y in range(101)})
                        r = block[min(age_on(v["birth_date"], STATE), 100)]
                        r[0 if v["sex"] == "M" else 1] += 1
                        r[2] += 1
            truth = {}
            for st, block in by_state.items():
                for y, r in block.items():
                    truth[(st, str(y))] = r
                truth[(st, "999")] = [sum(r[i] for r in block.values()) for i in range(3)]
            doc = table("strasa_cittadinanza_eta", comuni=c, date=FIRST)
            eq(doc["tavola"], "STRASA_CITTADINANZA_ETA", "name")
            # each state's total row is its row of strasa_cittadinanza: the
            # same states (one with no citizen here listed, as there, for
            # its hidden zero), and a municipality's total row hidden as that
            # row is (a pool's: the sum of its members')
            cit = {r[2]: r[4:7] for r in table("strasa_cittadinanza", comuni=c,
                                               date=FIRST)["righe"]}
            # ... and a state with no citizen here whose block the linked
            # protection hides a zero of (as strasa_cittadinanza lists one)
            listed = [r[2] for r in doc["righe"][101::102]]
            eq([st for st in listed if st in cit], list(cit), "the states, in order")
            for st in listed:
                if st not in cit:
                    check(st not in by_state, f"STRASA cittadinanza ed età {c}: state {st} "
                          "left out by strasa_cittadinanza has citizens here")
                    check(any(x is None for r in doc["righe"] if r[2] == st for x in r[5:8]),
                          f"STRASA cittadinanza ed età {c}: state {st} listed, none of its "
                          "citizens here, no cell hidden")
            for r in doc["righe"][101::102] if len(comuni) == 1 else ():
                eq([x is None for x in r[5:8]], [x is None for x in cit.get(r[2], [0, 0, 0])],
                   f"STRASA cittadinanza ed età {c}: state {r[2]}'s total hidden as by citizenship")
            # ... and its block of all states is strasa, hidden alike (one
            # protection for the three tables: its exact audit may hide
            # more of strasa's cells, which strasa then hides too)
            eq([[x is None for x in r[5:8]] for r in doc["righe"] if r[2] == "999"],
               strasa_hidden, f"STRASA cittadinanza ed età {c}: the block of all states hidden "
               "as strasa")
            for st in listed:
                if st not in by_state:
                    by_state[st] = {y: [0, 0, 0] for y in range(101)}
                    truth.update({(st, str(y)): [0, 0, 0] for y in range(101)})
                    truth[(st, "999")] = [0, 0, 0]
            ages = [str(y) for y in range(101)] + ["999"]
            idents = [[((st, y), j) for y in ages] for st in by_state for j in range(3)]
            idents += [[((st, y), j) for st in by_state] for y in ages for j in range(3)]
            cells = grid_check(doc, truth, [2, 4], 3, f"STRASA cittadinanza ed età {c}",
                               idents, columns=False, known=lambda c: c[0] == ("999", "999"))
            eq(sum(1 for x in cells.values() if x is not None and x > 0) > 0, True,
               "some non-zero cells are published")
            day = "2026-02-01"
            doc = table("famiglie", comuni=c, date=day)
            eq(doc["riferimento"], day, "the date asked for")
            grid_check(doc, expected_households(p, comuni, STATE), [2], 3, f"famiglie {c}",
                       known=lambda c: True)     # by size: known totals (docs/api.md)
            for thr in (3, 5):
                doc = table("famiglie_tipologia", comuni=c, date=day, threshold=thr)
                eq((doc["tavola"], doc["riferimento"]), ("FAMIGLIE_TIPOLOGIA", day), "name, date")
                eq([r[2] for r in doc["righe"]], list(TIPOLOGIE) + ["Totale"], "ISTAT's types, in order")
                truth = expected_household_types(p, comuni, STATE)
                grid_check(doc, truth, [2], thr, f"famiglie per tipologia {c} t{thr}",
                           known=lambda c: c[0] == "Totale")   # = famiglie, by size
                eq(truth["Totale"][6], expected_households(p, comuni, STATE)["Totale"][0],
                   "the same households as by size")
            # The generator makes households of two nuclei (a married child
            # with the spouse, or the parents of a partner), so that row is
            # tested here too, not only by hand.
            if comuni == COMUNI:
                check(truth["Famiglia con due o più nuclei"][6] >= 3,
                      f"generated households of two nuclei: {truth}")

            # The monthly balance over the whole period covered.
            doc = table("bilancio", comuni=c)
            eq(doc["riferimento"], {"dal": "2026-01-02", "al": last}, "from the day after the snapshot")
            periods = sorted({(r[3], r[4]) for r in doc["righe"]})
            eq(periods, [("2026-01-02", "2026-01-31"), ("2026-02-01", last)], "months")
            eq(sorted({r[2] for r in doc["righe"]}), ["febbraio 2026", "gennaio 2026"],
               "Italian month names")
            truth = expected_balance(p, comuni, periods)
            for (dal, sex), r in truth.items():
                eq(r[0] + r[1] - r[2] + r[4] + r[5] + r[6] - r[7] - r[8] - r[9], r[11],
                   f"{c} {dal} {sex}: start + flows = end (independent count)")
            for (d0, _), (d1, _) in zip(periods, periods[1:]):
                for sex in ("Maschi", "Femmine", "Totale"):
                    eq(truth[(d0, sex)][11], truth[(d1, sex)][0], "end = next start")
            rows = {(r[3], r[5]): r for r in doc["righe"]}
            cells, tr = {}, {}
            for k, row in rows.items():
                for j, v in enumerate(row[6:]):
                    cells[(k, j)] = v
                    tr[(k, j)] = truth[k][j]
            idents = []
            for k in rows:
                idents += [[(k, j) for j in (0, 1, 2, 4, 5, 6, 7, 8, 9, 11)],
                           [(k, j) for j in (1, 2, 3)], [(k, j) for j in range(4, 11)],
                           [(k, j) for j in (0, 3, 10, 11)]]
            for dal, _ in periods:
                idents += [[((dal, s), j) for s in ("Maschi", "Femmine", "Totale")]
                           for j in range(12)]
            for (d0, _), (d1, _) in zip(periods, periods[1:]):
                idents += [[((d0, s), 11), ((d1, s), 0)] for s in ("Maschi", "Femmine", "Totale")]
            check_protected(cells, tr, idents, 3, f"bilancio {c}",
                            derived=lambda cell: cell[1] in (3, 10),
                            known=lambda cell: cell[1] in (0, 11))
            # Published identities hold on what is published.
            for k, row in rows.items():
                v = row[6:]
                if None not in v:
                    eq(v[0] + v[3] + v[10], v[11], f"{k}: published start + balances = end")

        # The yearly balance: one period, the year.
        y = table("bilancio", comuni=",".join(COMUNI), period="anno")
        eq([r[2] for r in y["righe"]], ["2026"] * 3, "one year")
        # CSV: the same table.
        res = a.get(f"/api/v1/stats/tables?table=posas&date={FIRST}&format=csv")
        eq(res.status, 200, "csv")
        rows = list(csv.reader(io.StringIO(res.body.decode())))
        doc = table("posas", date=FIRST)
        eq(rows[0], doc["colonne"], "csv header")
        eq(rows[1:], [[x if isinstance(x, str) else "" if x is None else str(x) for x in r]
                      for r in doc["righe"]], "csv rows")
        eq(rows[-1][2:], ["999"] + [str(x) for x in expected_ages(p, COMUNI, STATE)["999"]],
           "the total row")
        # The generated population holds households of every type the
        # register can show but two nuclei (docs/generator.md).
        truth = expected_household_types(p, COMUNI, STATE)
        for t in TIPOLOGIE[:-1]:
            check(truth[t][6] > 0, f"the generated population has households of type {t}")
        res = a.get("/api/v1/stats/tables?table=famiglie_tipologia&date=2026-02-01&format=csv")
        eq(res.status, 200, "csv")
        rows = list(csv.reader(io.StringIO(res.body.decode())))
        doc = table("famiglie_tipologia", date="2026-02-01")
        eq(rows[0], doc["colonne"], "csv header")
        eq(rows[1:], [[x if isinstance(x, str) else "" if x is None else str(x) for x in r]
                      for r in doc["righe"]], "csv rows")
        out = subprocess.run([harness.VISURA, "stats", "--db", srv.db, "--table",
                              "famiglie_tipologia", "--date", "2026-02-01", "--format", "csv"],
                             capture_output=True, text=True)
        eq(out.returncode, 0, out.stderr)
        eq(out.stdout, res.body.decode(), "visura stats --table famiglie_tipologia = the API (CSV)")
        # The command line gives the same table.
        out = subprocess.run([harness.VISURA, "stats", "--db", srv.db, "--table", "bilancio",
                              "--comune", COMUNI[0]], capture_output=True, text=True)
        eq(out.returncode, 0, out.stderr)
        eq(json.loads(out.stdout)["righe"], table("bilancio", comuni=COMUNI[0])["righe"],
           "visura stats --table bilancio = the API")
        # The old summary is retired: 410 naming the tables, for both roles
        # that read statistics; the command line refuses it too.
        for who, c in (("admin", a), ("auditor", srv.user("auditor"))):
            for q in ("", "?age_step=1", "?format=csv"):
                r = expect(c.get(f"/api/v1/stats{q}"), 410, "gone", f"{who}: /api/v1/stats{q}")
                check("/api/v1/stats/tables" in r.json["error"]["message"]
                      and "/api/v1/stats/series" in r.json["error"]["message"],
                      f"the refusal names the tables and the series: {r.json}")
        out = subprocess.run([harness.VISURA, "stats", "--db", srv.db], capture_output=True,
                             text=True)
        check(out.returncode == 2 and "--table" in out.stderr and not out.stdout,
              f"visura stats without --table or --series is refused: {out.returncode} {out.stderr!r}")
        # Refusals: before the register's first import, unknown tables, the floor.
        expect(a.get("/api/v1/stats/tables?table=posas&year=2025"), 400, "invalid_request",
               "1 January 2025 is before the first import")
        r = expect(a.get("/api/v1/stats/tables?table=bilancio&from=2025-12&to=2025-12"), 400,
                   "invalid_request", "flows before the first import")
        day_after = (datetime.date.fromisoformat(START) + datetime.timedelta(days=1)).isoformat()
        check(f"dal {day_after} (il giorno dopo la prima importazione, del {START})"
              in r.json["error"]["message"],
              f"the refusal names the first day that can be asked for: {r.json}")
        # Dates: the stock tables on the first of a month, the balance by
        # whole months; another day is refused, never moved (issue #17: two
        # days' tables differ by unprotected flows).
        for q, says in (("posas&date=2026-01-10", "AAAA-MM-01"),
                        ("famiglie&date=2026-02-15", "AAAA-MM-01"),
                        ("posas&date=2026-02", "AAAA-MM-01"),
                        ("bilancio&from=2026-01-02", "mesi"),
                        ("bilancio&from=2026-01&to=2026-01-31", "mesi"),
                        ("bilancio&from=2026-13", "AAAA-MM"),
                        ("bilancio&to=26-01", "AAAA-MM"),
                        ("bilancio&date=2026-02-01", "mesi"),
                        ("posas&from=2026-01", "date")):
            r = expect(a.get(f"/api/v1/stats/tables?table={q}"), 400, "invalid_request", q)
            check(says in r.json["error"]["message"], f"{q}: the refusal says what is allowed: {r.json}")
        out = subprocess.run([harness.VISURA, "stats", "--db", srv.db, "--table", "posas",
                              "--date", "2026-01-10"], capture_output=True, text=True)
        check(out.returncode == 2 and "AAAA-MM-01" in out.stderr,
              f"visura stats --table refuses the same day: {out.returncode} {out.stderr}")
        out = subprocess.run([harness.VISURA, "stats", "--db", srv.db, "--table", "bilancio",
                              "--from", "2026-01-02"], capture_output=True, text=True)
        check(out.returncode == 2 and "mesi" in out.stderr,
              f"visura stats --table refuses a balance from a day: {out.returncode} {out.stderr}")
        # Whole months: January from the day after the first import,
        # February to its last day, the last one the register covers whole.
        doc = table("bilancio", comuni=COMUNI[0], **{"from": "2026-01", "to": "2026-02"})
        eq(sorted({(r[3], r[4]) for r in doc["righe"]}),
           [("2026-01-02", "2026-01-31"), ("2026-02-01", last)], "whole months, cut to the period")
        eq(doc["righe"], table("bilancio", comuni=COMUNI[0])["righe"], "= the whole period")
        expect(a.get("/api/v1/stats/tables?table=nope"), 400, "invalid_request")
        expect(a.get("/api/v1/stats/tables?table=posas&threshold=2"), 400, "invalid_request")
        expect(a.get("/api/v1/stats/tables?table=bilancio&period=week"), 400, "invalid_request")
        ente = srv.create_ente()
        expect(srv.user("operator", ente["id"]).get("/api/v1/stats/tables?table=posas"), 403,
               "forbidden", "operators do not read statistics")


# stato_civile's classes of ANPR's civil status codes (docs/api.md, "Stato
# civile"), written here from docs/import-format.md's codes: celibe/nubile;
# coniugato/a (2) or unito/a civilmente (6); divorziato/a (4) or libero/a
# per scioglimento dell'unione (8); vedovo/a (3) or libero/a per decesso
# dell'unito civilmente (7); non classificabile (9).
CIVIL_CLASS = {"1": 0, "2": 1, "6": 1, "4": 2, "8": 2, "3": 3, "7": 3, "9": 4}
CIVIL_COLUMNS = [
    "Codice territorio", "Territorio", "Età", "Celibi", "Coniugati o uniti civilmente",
    "Divorziati o già in unione civile per scioglimento",
    "Vedovi o già in unione civile per decesso del partner",
    "Maschi di stato civile non classificabile", "Totale maschi", "Nubili",
    "Coniugate o unite civilmente", "Divorziate o già in unione civile per scioglimento",
    "Vedove o già in unione civile per decesso del partner",
    "Femmine di stato civile non classificabile", "Totale femmine", "Totale"]


def expected_civil(pop, comuni, d):
    """{age or "999": 13 counts}: the five classes of men, their total, the
    five of women, their total, the total, from the files alone."""
    rows = {str(a): [0] * 13 for a in range(101)}
    for _, v in residents(pop, comuni, d):
        r = rows[str(min(age_on(v["birth_date"], d), 100))]
        base = 0 if v["sex"] == "M" else 6
        r[base + CIVIL_CLASS[v["civil_status"]]] += 1
        r[base + 5] += 1
        r[12] += 1
    rows["999"] = [sum(r[i] for r in rows.values()) for i in range(13)]
    return rows


def civil_identities(rows):
    """stato_civile's identities over cells (row, column): each row's classes
    of a sex add up to its total, men + women = total, every column over
    the ages to the 999 row."""
    idents = []
    for k in rows:
        idents += [[(k, j) for j in range(0, 6)], [(k, j) for j in range(6, 12)],
                   [(k, 5), (k, 11), (k, 12)]]
    idents += [[(k, j) for k in rows] for j in range(13)]
    return idents


def test_civil_status():
    """stato_civile (issue #17): every published cell is the count of the
    import files, each (sex, age) row adds up to POSAS's cell, hidden
    exactly where POSAS hides it (its margin), the rule of every table
    holds, for each municipality and the whole province, at thresholds 3
    and 5; CSV and the command line give the same table."""
    pop = {"persons": 1400, "comuni": ",".join(COMUNI), "seed": 7, "days": 45}
    with Server(population=pop) as srv:
        a = srv.admin()
        p = srv.population
        shares = []
        codes = set()
        for comuni in (COMUNI[:1], COMUNI[1:], COMUNI):
            c = ",".join(comuni)
            for thr in (3, 5):
                url = f"/api/v1/stats/tables?comuni={c}&date={FIRST}&threshold={thr}"
                doc = expect(a.get(url + "&table=stato_civile"), 200).json
                posas = {r[2]: r[3:6] for r in expect(a.get(url + "&table=posas"), 200).json["righe"]}
                eq((doc["tavola"], doc["riferimento"]), ("STATO_CIVILE", FIRST), "name, date")
                eq(doc["colonne"], CIVIL_COLUMNS, "ISTAT's classes, Italian labels")
                truth_rows = expected_civil(p, comuni, STATE)
                eq([r[2] for r in doc["righe"]], list(truth_rows), "ages, then 999")
                cells, truth = {}, {}
                for r in doc["righe"]:
                    for j, v in enumerate(r[3:]):
                        cells[(r[2], j)] = v
                        truth[(r[2], j)] = truth_rows[r[2]][j]
                    # the margin: POSAS's cells, hidden where POSAS hides them
                    eq([r[8], r[14], r[15]], posas[r[2]], f"{c} t{thr} age {r[2]}: POSAS's row")
                def corner(x, cells=cells):
                    """a cube's corner (the linked protection): another
                    class of its sex or its sex's total (POSAS's cell, a
                    corner of POSAS's own cube) and another age hidden
                    beside it"""
                    block = range(0, 6) if x[1] < 6 else range(6, 12)
                    return (any(cells[(x[0], j)] is None for j in block if j != x[1])
                            and any(cells[(k, x[1])] is None for k, j in cells
                                    if j == x[1] and k != x[0] and k != "999"))
                check_protected(cells, truth, civil_identities(truth_rows), thr,
                                f"stato_civile {c} t{thr}",
                                known=lambda x: x[0] == "999" and x[1] in (5, 11, 12),
                                corner=corner)
                classes = [x for x in cells if x[1] not in (5, 11, 12)]
                shares.append((c, thr, sum(cells[x] is None for x in classes), len(classes),
                               sum(cells[x] is None and truth[x] > 0 for x in classes),
                               sum(truth[x] > 0 for x in classes)))
        for _, v in residents(p, COMUNI, STATE):
            codes.add(v["civil_status"])
        print("stato_civile hidden (territory, threshold, hidden class cells, of, "
              f"non-zero hidden, non-zero): {shares}; ANPR codes present {sorted(codes)}")
        check({"1", "2", "3", "4", "9"} <= codes, f"the generated codes: {codes}")
        # CSV and the command line: the same table.
        c = COMUNI[0]
        res = a.get(f"/api/v1/stats/tables?table=stato_civile&comuni={c}&date={FIRST}&format=csv")
        eq(res.status, 200, "csv")
        rows = list(csv.reader(io.StringIO(res.body.decode())))
        doc = expect(a.get(f"/api/v1/stats/tables?table=stato_civile&comuni={c}&date={FIRST}"),
                     200).json
        eq(rows[0], doc["colonne"], "csv header")
        eq(rows[1:], [[x if isinstance(x, str) else "" if x is None else str(x) for x in r]
                      for r in doc["righe"]], "csv rows")
        for fmt in ("csv", "json"):
            out = subprocess.run([harness.VISURA, "stats", "--db", srv.db, "--table",
                                  "stato_civile", "--comune", c, "--date", FIRST,
                                  "--format", fmt], capture_output=True, text=True)
            eq(out.returncode, 0, out.stderr)
            if fmt == "csv":
                eq(out.stdout, res.body.decode(), "visura stats --table stato_civile = the API (CSV)")
            else:
                eq(json.loads(out.stdout)["righe"], doc["righe"], "the CLI = the API (JSON)")
        expect(a.get("/api/v1/stats/tables?table=stato_civile&date=2026-02-10"), 400,
               "invalid_request", "the first of a month only")


# Households written by hand, each with the type docs/api.md gives it (not
# computed by household_type above): (members as (relationship, sex, civil
# status), type).  Three of each, so every count is 0 or at least 3.
BY_HAND = [
    ([("1", "M", "1")], "Persona sola"),
    ([("1", "M", "4"), ("9", "F", "1")], "Altra famiglia senza nuclei"),
    ([("1", "M", "4"), ("6", "F", "3")], "Altra famiglia senza nuclei"),
    ([("1", "M", "2"), ("2", "F", "2")], "Coppia senza figli"),
    ([("1", "F", "6"), ("28", "F", "6")], "Coppia senza figli"),
    ([("1", "M", "2"), ("2", "F", "2"), ("3", "M", "2")], "Coppia senza figli"),
    ([("1", "F", "3"), ("3", "M", "2"), ("16", "F", "2")], "Coppia senza figli"),
    ([("1", "M", "1"), ("23", "F", "1"), ("3", "F", "1")], "Coppia con figli"),
    ([("1", "M", "1"), ("6", "M", "2"), ("6", "F", "2")], "Coppia con figli"),
    ([("1", "F", "3"), ("3", "M", "2"), ("16", "F", "2"), ("4", "F", "1")], "Coppia con figli"),
    ([("1", "M", "3"), ("3", "M", "1"), ("3", "F", "1")], "Padre solo con figli"),
    ([("1", "F", "4"), ("13", "F", "1")], "Madre sola con figli"),
    ([("1", "F", "1"), ("6", "F", "3")], "Madre sola con figli"),
    ([("1", "M", "2"), ("2", "F", "2"), ("6", "M", "2"), ("6", "F", "2")],
     "Famiglia con due o più nuclei"),
    ([("1", "M", "2"), ("2", "F", "2"), ("3", "M", "2"), ("16", "F", "2"), ("4", "M", "1")],
     "Famiglia con due o più nuclei"),
    ([("1", "M", "2"), ("2", "F", "2"), ("17", "M", "2"), ("17", "F", "2"), ("15", "F", "1")],
     "Famiglia con due o più nuclei"),
]
MONTHS = "ABCDEHLMPRST"


class HandMade:
    """One municipality's FULL file holding the households of BY_HAND."""

    def load_into(self, db, work_dir):
        os.makedirs(work_dir, exist_ok=True)
        fams, pers, n = [], [], 0
        for k, (members, _) in enumerate(BY_HAND * 3):
            fid = f"F{k:03d}"
            fams.append("\t".join(["FAM", fid, "1", "2020-01-01", "VIA", "EMILIA", str(k + 1), "",
                                   "", "", "41121", "", ""]))
            for rel, sex, cs in members:
                n += 1
                # born 1935.. the parents of the couple, 1960.. the couple and
                # their brothers and sisters, 1985.. a married child and their
                # partner, 2005.. the children who never married, 2012.. the
                # grandchildren
                if rel in ("6", "17"):
                    year = 1935
                elif rel == "4":
                    year = 2012
                elif rel in ("3", "16") and cs == "2":
                    year = 1985
                elif rel in ("3", "13", "15"):
                    year = 2005
                else:
                    year = 1960
                year += n % 5
                month, day = n // 28 % 12, n % 28 + 1
                birth = f"{year}-{month + 1:02d}-{day:02d}"
                cf = cf_with_check(f"RSSMRA{year % 100:02d}{MONTHS[month]}"
                                   f"{day + (40 if sex == 'F' else 0):02d}F257")
                pers.append("\t".join([
                    "PER", f"P{n:04d}", "2020-01-01", cf, "ROSSI", "MARIO" if sex == "M" else "MARIA",
                    sex, birth, "036023", "100", cs, "" if cs in ("1", "9") else "2019-01-01", "", "",
                    "1", birth, "", "", "", fid, rel]))
        lines = ["\t".join(["HDR", "VISURA-ANAGRAFE", "1", "036023", "2026-01-31T23:00:00Z", "1",
                            "FULL", "test"])] + fams + pers
        lines.append(f"END\t{len(lines) - 1}")
        path = os.path.join(work_dir, "036023-000001-FULL.tsv")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        p = subprocess.run([harness.VISURA, "import", "--quiet", "--db", db, path],
                           capture_output=True, text=True)
        rejects = open(path + ".rejects").read() if os.path.exists(path + ".rejects") else ""
        check(p.returncode == 0, f"visura import failed: {p.returncode}\n{p.stderr}\n{rejects[:2000]}")


def test_household_types_by_hand():
    want = {t: [0] * 7 for t in TIPOLOGIE + ("Totale",)}
    for members, t in BY_HAND:
        for row in (want[t], want["Totale"]):
            row[min(len(members), 6) - 1] += 3
            row[6] += 3
    with Server(population=HandMade()) as srv:
        doc = expect(srv.admin().get("/api/v1/stats/tables?table=famiglie_tipologia&date=2026-02-01"),
                     200).json
        eq({r[2]: r[3:] for r in doc["righe"]}, want, "every type as docs/api.md derives it")


if __name__ == "__main__":
    run_tests(globals())
