#!/usr/bin/env python3
"""End-to-end: the members of a large household, a page at a time
(issue 21, item 5).

A care home (convivenza) of 300 members, two of them born on each day so
that the order's ties are broken by the local id: paged with `limit` and
`cursor`, every member appears exactly once, head first, and each page is
its own access whose record names exactly the person asked for and the
members of that page.  Without `limit` the household comes whole, as
before.  Bad limits and cursors are refused.

usage: test_household_pages.py PATH/TO/visura [TEST...]
"""
import os
import subprocess
import sys
import urllib.parse

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import harness
from harness import Server, cf_with_check, check, db_query, eq, expect, run_tests

COMUNE = "036023"
MONTHS = "ABCDEHLMPRST"
OMOCODE = "LMNPQRSTUV"
SIZE = 300
NO_ALERT_LIMITS = dict(alert_persons_hour=100000000, alert_persons_hard=100000000)


def q(**params):
    return urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})


class CareHome:
    """An import file of one municipality: the convivenza C300 and a
    family of one, written and imported (Server(population=CareHome()))."""

    def __init__(self):
        self.members = []        # (local id, cf), head first in the register's order
        for k in range(SIZE // 2):
            month, day = k // 28 + 1, k % 28 + 1
            plain = f"RSSMRA40{MONTHS[month - 1]}{day:02d}F257"
            # the same person data, told apart by omocodia (F257 -> F25T)
            for cf15 in (plain, plain[:14] + OMOCODE[int(plain[14])]):
                self.members.append((f"P{len(self.members) + 1:04d}", cf_with_check(cf15),
                                     f"1940-{month:02d}-{day:02d}"))
        self.cfs = [cf for _, cf, _ in self.members]

    def load_into(self, db, work_dir):
        os.makedirs(work_dir, exist_ok=True)
        lines = ["\t".join(["HDR", "VISURA-ANAGRAFE", "1", COMUNE, "2026-01-01T12:00:00Z", "1",
                            "FULL", "test"]),
                 "\t".join(["FAM", "C300", "2", "2020-01-01", "VIA", "EMILIA", "10", "", "", "",
                            "41121", "", "CASA DI RIPOSO SAN GIOVANNI"])]
        for i, (pid, cf, birth) in enumerate(self.members):
            lines.append("\t".join([
                "PER", pid, "2020-01-01", cf, "ROSSI", "MARIO", "M", birth, COMUNE, "100", "1",
                "", "", "", "1", birth, "", "", "", "C300", "24" if i == 0 else "25"]))
        lines.append(f"END\t{len(lines) - 1}")
        path = os.path.join(work_dir, f"{COMUNE}-000001-FULL.tsv")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        p = subprocess.run([harness.VISURA, "import", "--quiet", "--db", db, path],
                           capture_output=True, text=True)
        check(p.returncode == 0, f"visura import failed: {p.returncode}\n{p.stdout}\n{p.stderr}")


def record_subjects(srv, res):
    aid = int(res.header("X-Visura-Access-Id"))
    rows = db_query(srv.db, "SELECT subjects, outcome FROM access_log WHERE id = ?", (aid,))
    eq(len(rows), 1, f"access record {aid}")
    eq(rows[0]["outcome"], "ok", f"record {aid}: outcome")
    subj = [s for s in rows[0]["subjects"].split(",") if s]
    eq(len(subj), len(set(subj)), f"record {aid}: a person twice")
    index = db_query(srv.db, "SELECT cf FROM access_subject WHERE access_id = ?", (aid,))
    eq(sorted(r["cf"] for r in index), sorted(subj), f"record {aid}: the per-person index")
    return aid, set(subj)


def test_household_of_300_paged():
    home = CareHome()
    with Server(population=home, **NO_ALERT_LIMITS) as srv:
        ente = srv.create_ente(kind="health")
        op = srv.user("operator", ente["id"])
        pid = srv.create_agreement(ente["id"], ["identity", "family"], comuni=(COMUNE,))["purpose_id"]
        asked = home.cfs[150]
        base = f"/api/v1/persons/{asked}/household?"
        # Whole, as before: no limit, no cursor.
        r = expect(op.get(base + q(purpose=pid)), 200, what="the whole household")
        eq([m["identity"]["codice_fiscale"] for m in r["members"]], home.cfs,
           "all 300 members, head first, ties by local id")
        check("next_cursor" not in r.json, "no next_cursor for the whole household")
        eq(r["convivenza"], "CASA DI RIPOSO SAN GIOVANNI", "the care home")
        # A page at a time.
        seen, cursor, pages, ids = [], None, 0, set()
        while True:
            r = expect(op.get(base + q(purpose=pid, limit=70, cursor=cursor)), 200,
                       what=f"page {pages + 1}")
            page = [m["identity"]["codice_fiscale"] for m in r["members"]]
            check(0 < len(page) <= 70, f"page {pages + 1}: {len(page)} members")
            eq(r["household_id"], "C300", "every page names the household")
            aid, subj = record_subjects(srv, r)
            check(aid not in ids, "each page is its own access")
            ids.add(aid)
            eq(subj, set(page) | {asked},
               f"page {pages + 1}: the record names the person asked for and that page's members")
            seen += page
            pages += 1
            cursor = r.json.get("next_cursor")
            if not cursor:
                break
            eq(len(page), 70, f"page {pages}: full when another follows")
        eq(pages, 5, "300 members in pages of 70")
        eq(seen, home.cfs, "every member exactly once, in order")
        # Exactly divisible: the last full page says whether more follow.
        r = expect(op.get(base + q(purpose=pid, limit=300)), 200, what="a page of 300")
        eq(len(r["members"]), 300, "the page of 300")
        check("next_cursor" not in r.json, "no next page after the last member")
        # Refused: bad limits and cursors (recorded as refusals, nobody named).
        before = srv.access_last_id()
        for bad in (dict(limit=0), dict(limit=1001), dict(limit="x"), dict(limit=" 5"), dict(limit="+5"),
                    dict(limit="5 "), dict(limit="0x5"), dict(limit=10, cursor="5"),
                    dict(limit=10, cursor="25.19400101.P 01"), dict(limit=10, cursor="25.1940.P0001")):
            expect(op.get(base + q(purpose=pid, **bad)), 400, "invalid_request", f"{bad}")
        eq({x["subjects"] for x in srv.access_log(before)}, {""}, "refusals name no one")


if __name__ == "__main__":
    run_tests(globals())
