#!/usr/bin/env python3
"""End-to-end: PostgreSQL stops and comes back while `visura serve` is under
load.  Every answer with personal data has its access record; while the
database is away requests fail cleanly (503, no personal data); once it is
back the service answers again without restarting visura, and the trail
verifies.

usage: test_pg_outage.py PATH/TO/visura [TEST...]   (always PostgreSQL)
"""
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
os.environ["VISURA_TEST_BACKEND"] = "postgres"

import harness  # noqa: E402
from harness import Server, check, eq, expect, run_tests  # noqa: E402

POP = dict(persons=1500, comuni="036023,036005", seed=3)
ALL = ["identity", "residence", "family", "citizenship", "civil_status", "vital_status"]


def _own_server():
    """A PostgreSQL server of this test alone (it is stopped and started)."""
    d = tempfile.mkdtemp(prefix="visura-pg-outage-")
    os.rmdir(d)
    p = subprocess.run([harness.PG_SH, "start", d], capture_output=True, text=True)
    check(p.returncode == 0, f"pg.sh start: {p.stderr}")
    harness._pg["dir"] = d
    return d


def test_outage_and_recovery_under_load():
    pgdir = _own_server()
    try:
        with Server(population=POP) as srv:
            ente = srv.create_ente()
            pid = srv.create_agreement(ente["id"], ALL)["purpose_id"]
            ops = [srv.user("operator", ente["id"]) for _ in range(3)]
            people = [p for p in srv.population.current_persons() if not p["canc_reason"]]
            results = []          # (phase, status, json or None)
            no_retry = []         # 503s without Retry-After
            lock = threading.Lock()
            phase = {"now": "before"}
            stop = threading.Event()

            def load(k):
                i = 0
                while not stop.is_set():
                    p = people[(k * 997 + i) % len(people)]
                    i += 1
                    try:
                        r = ops[k].get(f"/api/v1/persons/{p['cf']}?purpose={pid}&case_ref=O-{k}-{i}")
                    except OSError:
                        continue
                    with lock:
                        results.append((phase["now"], r.status, r.json, p["cf"]))
                        if r.status == 503 and not (r.header("Retry-After") or "").isdigit():
                            no_retry.append(r.json)
                    time.sleep(0.01)

            threads = [threading.Thread(target=load, args=(k,)) for k in range(3)]
            for t in threads:
                t.start()
            time.sleep(2)
            phase["now"] = "outage"
            subprocess.run([harness.PG_SH, "halt", pgdir], check=True)
            time.sleep(3)
            phase["now"] = "after"
            subprocess.run([harness.PG_SH, "resume", pgdir], check=True)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with lock:
                    ok_after = sum(1 for ph, st, _, _ in results if ph == "after" and st == 200)
                if ok_after >= 30:
                    break
                time.sleep(0.2)
            stop.set()
            for t in threads:
                t.join()

            by_phase = {ph: [st for p_, st, _, _ in results if p_ == ph] for ph in ("before", "outage", "after")}
            print("  answers: " + ", ".join(
                f"{ph} {len(v)} ({v.count(200)} with data, {v.count(503)} 503)" for ph, v in by_phase.items()))
            check(by_phase["before"].count(200) > 10, f"answers before the outage: {by_phase['before'][:20]}")
            outage = by_phase["outage"]
            check(outage and 200 not in outage[len(outage) // 2:],
                  f"the database was away but answers kept coming: {outage[-20:]}")
            bad = [st for st in outage if st not in (200, 503)]
            eq(bad, [], "while the database is away, refusals are 503")
            eq(no_retry[:3], [], "a 503 says when to try again (Retry-After)")
            for ph, st, j, cf in results:
                if st != 200:
                    check(not (isinstance(j, dict) and "person" in j),
                          f"a {st} answer carried personal data: {j}")
            check(by_phase["after"].count(200) >= 30,
                  f"the service did not come back by itself: {by_phase['after'][-20:]}")
            # Every answer with data has its record, with the person it showed.
            log = {r["id"]: r for r in srv.access_log()}
            missing = []
            for ph, st, j, cf in results:
                if st == 200:
                    rec = log.get(j.get("access_id"))
                    if rec is None or rec["subjects"] != cf or rec["outcome"] != "ok":
                        missing.append((ph, j.get("access_id"), cf))
            eq(missing, [], "answers without their access record")
            rc, out = harness.audit_verify(srv.db)
            eq(rc, 0, f"audit verify after the outage: {out}")
            expect(srv.request("GET", "/healthz"), 200, what="healthz after the outage")
    finally:
        subprocess.run([harness.PG_SH, "stop", pgdir], capture_output=True)
        harness._pg["dir"] = None


if __name__ == "__main__":
    run_tests(globals())
