#!/usr/bin/env python3
"""End-to-end: the access trail of the personal-data services — one record
per request also under concurrency, and `visura audit verify` on tampered
copies of the database (an altered field, a deleted record, two records
swapped).

usage: test_audit_trail.py PATH/TO/visura [TEST...]
"""
import concurrent.futures
import os
import shutil
import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import harness
from harness import Server, check, eq, expect, run_tests

POP = dict(persons=2000, comuni="036023,036005", seed=5)
ALL = ["identity", "residence", "family", "parentage", "citizenship", "civil_status",
       "vital_status", "history"]


def _setup(srv):
    admin = srv.admin()
    ente = srv.create_ente()
    pid = srv.create_agreement(ente["id"], ALL)["purpose_id"]
    op = srv.user("operator", ente["id"])
    people = sorted((p for p in srv.population.current_persons() if not p["canc_reason"]),
                    key=lambda p: p["cf"])
    return admin, ente, pid, op, people


def _tamper(srv, name, *sql):
    """A copy of the server's database with sql applied: its URI."""
    dst = harness.db_copy(srv.db, srv.dir, name)
    harness.db_exec(dst, *sql)
    return dst


def test_concurrent_requests_one_record_each():
    with Server(population=POP) as srv:
        _, _, pid, op, people = _setup(srv)
        before = srv.access_last_id()
        paths = []
        for i, p in enumerate(people[:24]):
            paths.append((f"/api/v1/persons/{p['cf']}?purpose={pid}&case_ref=K-{i}", 200))
            paths.append((f"/api/v1/persons/{p['cf']}?case_ref=N-{i}", 400))      # no purpose
        with concurrent.futures.ThreadPoolExecutor(max_workers=12) as ex:
            results = list(ex.map(lambda pc: (pc, op.get(pc[0])), paths))
        ids = []
        for (path, status), r in results:
            eq(r.status, status, f"{path}: status ({r.body[:200]!r})")
            if status == 200:
                ids.append(r["access_id"])
        rows = srv.access_log(before)
        eq(len(rows), len(paths), "one access record per request")
        eq([r["id"] for r in rows], list(range(before + 1, before + 1 + len(paths))),
           "record ids without gaps")
        for a, b in zip(rows, rows[1:]):
            eq(b["prev_hash"], a["hash"], f"record {b['id']} chained to {a['id']}")
        by_id = {r["id"]: r for r in rows}
        eq(len(set(ids)), len(ids), "distinct access ids")
        for (path, status), r in results:
            if status == 200:
                rec = by_id[r["access_id"]]
                cf = path.split("/")[4].split("?")[0]
                # The person, then the parents the profile shows: every
                # person of the answer.
                p = srv.population.person(cf)
                shown = ",".join([cf] + [x for x in (p["father"], p["mother"]) if x])
                eq((rec["subjects"], rec["outcome"], rec["case_ref"]),
                   (shown, "ok", path.rsplit("=", 1)[1]), f"record of {path}")
        eq(sorted(r["case_ref"] for r in rows if r["outcome"] == "refused:purpose_required"),
           sorted(f"N-{i}" for i in range(24)), "records of the refusals")
        rc, out = harness.audit_verify(srv.db)
        eq(rc, 0, f"audit verify: {out}")


def test_export_beyond_a_million():
    """`visura audit export` writes every record asked for: a trail of
    1,000,003 records is exported whole.  Before, a search without a
    limit stopped at 1,000,000 records without a word (the export, signed,
    one year of a province's trail cut to its first million; the same
    search counted a body's usage and its yearly review)."""
    import subprocess
    n = 1000003
    with Server() as srv:
        srv.stop()   # a database made by the server, the records written beside it
        harness.db_exec(srv.db, (
            "INSERT INTO access_log (at, account_id, username, ente_id, convenzione_id,"
            " purpose_id, case_ref, on_behalf_of, ip, operation, query, subjects, categories,"
            " outcome, status, flags, workstation, prev_hash, hash)"
            " WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)"
            " SELECT 1767225600000 + i, 1, 'operatore', 1, 1, 1, '', '', '127.0.0.1', 'lookup',"
            " '', '', '', 'ok', 200, '', '', '', '' FROM k", (n,)))
        out = os.path.join(srv.dir, "export.csv")
        p = subprocess.run([harness.VISURA, "audit", "export", "--db", srv.db, "--format", "csv",
                            "--from", "2026-01-01", "--out", out], capture_output=True, text=True)
        check(p.returncode == 0, f"visura audit export: {p.returncode} {p.stderr[-500:]}")
        with open(out, "rb") as f:
            rows = sum(1 for _ in f) - 1   # the header
        eq(rows, n, "records exported")


def test_tampered_copies_detected():
    with Server(population=POP) as srv:
        _, _, pid, op, people = _setup(srv)
        for i, p in enumerate(people[:4]):
            expect(op.get(f"/api/v1/persons/{p['cf']}?purpose={pid}&case_ref=T-{i}"), 200,
                   what="consult")
            expect(op.get(f"/api/v1/persons/{p['cf']}"), 400, "purpose_required", "refused")
        expect(op.post("/api/v1/verify", {"purpose": pid, "codice_fiscale": people[5]["cf"],
                                          "declared": {"alive": True}}), 200, what="verify")
        srv.stop()
        n = len(srv.access_log())
        check(n >= 9, f"only {n} access records")
        rc, out = harness.audit_verify(srv.db)
        eq(rc, 0, f"audit verify of the original: {out}")
        check(f"ok: {n} registrazioni di accesso" in out, f"audit verify output: {out!r}")

        def verify(name, *sql):
            return harness.audit_verify(_tamper(srv, "copy-" + name, *sql))

        # An altered field of record 3 (the brief's case: subjects).
        rc, out = verify("subjects", "UPDATE access_log SET subjects = 'RSSMRA80A01F257G' WHERE id = 3")
        eq(rc, 1, f"altered subjects: exit status ({out!r})")
        check("registrazione 3" in out, f"altered subjects: record 3 not named: {out!r}")
        # Every column of the record is covered by its hash.
        missed = []
        for col, is_int in harness.db_columns(srv.db, "access_log"):
            if col in ("id", "prev_hash", "hash"):
                continue
            change = f"{col} = {col} + 1" if is_int else f"{col} = {col} || 'x'"
            rc, out = verify("col-" + col, f"UPDATE access_log SET {change} WHERE id = 3")
            if rc != 1 or "registrazione 3" not in out:
                missed.append(f"{col}: exit {rc}, {out.strip()!r}")
        check(not missed, "alterations not detected:\n  " + "\n  ".join(missed))
        # A record deleted from the middle.
        rc, out = verify("deleted", "DELETE FROM access_subject WHERE access_id = 3",
                         "DELETE FROM access_log WHERE id = 3")
        eq(rc, 1, f"deleted record: exit status ({out!r})")
        check("registrazione 3" in out or "registrazione 4 segue la 2" in out,
              f"deleted record: the gap is not named: {out!r}")
        # Two records swapped (ids exchanged).
        rc, out = verify("swapped", "UPDATE access_log SET id = -3 WHERE id = 3",
                         "UPDATE access_log SET id = 3 WHERE id = 4",
                         "UPDATE access_log SET id = 4 WHERE id = -3")
        eq(rc, 1, f"swapped records: exit status ({out!r})")
        check("registrazione 3" in out, f"swapped records: record 3 not named: {out!r}")
        # A record's hash recomputed by a forger who does not know the
        # encoding: its successor no longer points at it.
        rc, out = verify("rehash", "UPDATE access_log SET hash = "
                         "'0000000000000000000000000000000000000000000000000000000000000000' WHERE id = 3")
        eq(rc, 1, f"replaced hash: exit status ({out!r})")
        check("registrazione 3" in out, f"replaced hash: record 3 not named: {out!r}")
        # The untouched copy still verifies (the copies are faithful).
        rc, out = verify("untouched")
        eq(rc, 0, f"untouched copy: {out!r}")


def test_field_boundaries_cannot_be_shifted():
    """The record's hash ends each text field with 0x1F.  If a caller can
    put 0x1F into a recorded field (case_ref, the end user, the search
    parameters), an insider may move text from one field to the next
    (case_ref "PRAT-1<US>mario", on_behalf_of "" → case_ref "PRAT-1",
    on_behalf_of "mario<US>": the same bytes are hashed) and `audit verify`
    would not see it.  So either 0x1F never reaches a record, or the shift
    is detected."""
    with Server(population=POP) as srv:
        admin, ente, pid, op, people = _setup(srv)
        cf = people[0]["cf"]
        api_acc, _ = srv.create_account("api", ente["id"])
        tok = expect(admin.post(f"/api/v1/accounts/{api_acc['id']}/tokens", {"name": "t"}), 201,
                     what="token").json["token"]
        api = srv.client(bearer=tok)
        op.get(f"/api/v1/persons/{cf}?purpose={pid}&case_ref=PRAT-1%1Fmario")
        op.get(f"/api/v1/persons/{cf}?case_ref=PRAT-1%1Fmario")
        op.post("/api/v1/verify", {"purpose": pid, "codice_fiscale": cf, "case_ref": "PRAT-1\x1fmario",
                                   "declared": {"alive": True}})
        op.post("/api/v1/verify", {"codice_fiscale": cf, "case_ref": "PRAT-1\x1fmario",
                                   "declared": {"alive": True}})
        api.get(f"/api/v1/persons/{cf}?purpose={pid}", headers={"X-Visura-On-Behalf-Of": "ma\x1frio"})
        rows = [r for r in srv.access_log() if "\x1f" in r["case_ref"]]
        srv.stop()
        if not rows:
            return      # the separator never reaches case_ref: nothing to shift
        rec = rows[0]
        head, _, tail = rec["case_ref"].partition("\x1f")
        check(rec["on_behalf_of"] == "", f"record {rec['id']}: on_behalf_of {rec['on_behalf_of']!r}")
        path = _tamper(srv, "shifted", f"UPDATE access_log SET case_ref = '{head}', "
                                       f"on_behalf_of = '{tail}\x1f' WHERE id = {rec['id']}")
        rc, out = harness.audit_verify(path)
        eq(rc, 1, f"record {rec['id']} with case_ref {rec['case_ref']!r} shifted into on_behalf_of "
                  f"verifies: {out.strip()!r}")


if __name__ == "__main__":
    run_tests(globals())
