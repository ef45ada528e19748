#!/usr/bin/env python3
"""End-to-end: `visura migrate` moves a deployment from SQLite to
PostgreSQL without losing a record or breaking the chain: a server on the
copy answers the same sessions, its trail verifies, receipts issued before
the move still verify, and new records continue the chain.

usage: test_pg_migrate.py PATH/TO/visura [TEST...]   (SQLite to PostgreSQL)
"""
import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
os.environ["VISURA_TEST_BACKEND"] = "sqlite"   # the source; the target is PostgreSQL
os.environ["VISURA_STATE_DIR"] = tempfile.mkdtemp(prefix="visura-state-")
atexit.register(shutil.rmtree, os.environ["VISURA_STATE_DIR"], True)

import harness  # noqa: E402
from harness import Client, Server, check, eq, expect, run_tests  # noqa: E402

POP = dict(persons=1200, comuni="036023,036005", seed=4, days=3)
ALL = ["identity", "residence", "family", "citizenship", "civil_status", "vital_status"]


def migrate(src, dst):
    p = subprocess.run([harness.VISURA, "migrate", "--from", src, "--to", dst],
                       capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def test_sqlite_to_postgres():
    with Server(population=POP) as srv:
        ente = srv.create_ente()
        pid = srv.create_agreement(ente["id"], ALL)["purpose_id"]
        op = srv.user("operator", ente["id"])
        people = [p for p in srv.population.current_persons() if not p["canc_reason"]]
        receipts = []
        for i, p in enumerate(people[:25]):
            r = expect(op.get(f"/api/v1/persons/{p['cf']}?purpose={pid}&case_ref=M-{i}"), 200,
                       what="consult before the move")
            receipts.append((r.header("X-Visura-Receipt"), r.body))
        before = srv.access_log()
        srv.stop()

        # the SPID/CIE keys beside the database go with it (as the signing
        # and secrets keys do): stand-ins, the copy is byte for byte
        beside = {}
        for suffix in (".oidc-key", ".oidc-enc-key", ".oidc-federation-key"):
            beside[suffix] = os.urandom(64)
            with open(srv.db + suffix, "wb") as f:
                f.write(beside[suffix])
        dst = harness.new_database(srv.dir, "moved", backend="postgres")
        rc, out = migrate("sqlite:" + srv.db, dst)
        eq(rc, 0, f"visura migrate: {out}")
        for suffix, data in beside.items():
            m = re.search(r"^copiato " + re.escape(srv.db + suffix) + r" in (\S+)$", out, re.M)
            check(m is not None, f"{suffix} copied: {out}")
            with open(m.group(1), "rb") as f:
                eq(f.read(), data, f"{suffix}: the same bytes")
            eq(os.stat(m.group(1)).st_mode & 0o777, 0o600, f"{suffix}: mode 0600")
        check(f"registro degli accessi verificato: {len(before)} registrazioni" in out, f"migrate output: {out}")
        # the planner's statistics came with the rows (ANALYZE by visura,
        # not autovacuum's pass: last_analyze, not last_autoanalyze)
        eq(sorted(r["relname"] for r in harness.db_query(
            dst, "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
                 " AND relname IN ('person', 'family', 'access_log')")),
           ["access_log", "family", "person"], "tables analyzed by the move")
        rc, out = migrate("sqlite:" + srv.db, dst)
        eq(rc, 1, f"a second migrate into the same database is refused: {out}")

        rc, out = harness.audit_verify(dst)
        eq(rc, 0, f"audit verify of the copy: {out}")
        eq([(r["id"], r["hash"]) for r in harness.db_query(dst, "SELECT * FROM access_log ORDER BY id")],
           [(r["id"], r["hash"]) for r in before], "the chain, record for record")
        body_file = os.path.join(srv.dir, "body.json")
        with open(body_file, "wb") as f:
            f.write(receipts[3][1])
        p = subprocess.run([harness.VISURA, "audit", "verify-receipt", "--db", dst, receipts[3][0],
                            body_file], capture_output=True, text=True)
        eq(p.returncode, 0, f"a receipt issued before the move: {p.stdout}{p.stderr}")

        # The same service on the copy: the operator's session goes on.
        srv.db = dst
        moved = Server(share=srv)
        moved.start()
        try:
            c = Client(moved)
            c.cookies, c.csrf = op.cookies, op.csrf
            r = expect(c.get(f"/api/v1/persons/{people[30]['cf']}?purpose={pid}&case_ref=M-after"),
                       200, what="the same session on the moved service")
            after = moved.access_log(before[-1]["id"])
            eq([x["id"] for x in after], [before[-1]["id"] + 1], "the next record follows the last one")
            eq(after[0]["prev_hash"], before[-1]["hash"], "and is chained to it")
        finally:
            moved.stop()
        rc, out = harness.audit_verify(dst)
        eq(rc, 0, f"audit verify after new records: {out}")


if __name__ == "__main__":
    run_tests(globals())
