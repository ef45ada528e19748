#!/usr/bin/env python3
"""End-to-end: two `visura serve` instances on one PostgreSQL database
behave as one service — a session made on one works on the other, a rate
limit and the anti-extraction counters count the requests of both, an account disabled through one is
refused by the other at once, failed logins count on both, the access
trail verifies after concurrent load on both, and two imports at once run
one after the other.

usage: test_pg_instances.py PATH/TO/visura [TEST...]   (always PostgreSQL)
"""
import concurrent.futures
import os
import shutil
import time
import subprocess
import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
os.environ["VISURA_TEST_BACKEND"] = "postgres"

import harness  # noqa: E402
from harness import Client, Server, check, eq, expect, run_tests  # noqa: E402

POP = dict(persons=1500, comuni="036023,036005", seed=9)
ALL = ["identity", "residence", "family", "citizenship", "civil_status", "vital_status"]


def _pair(**options):
    a = Server(population=POP, **options)
    a.start()
    b = Server(share=a, **options)
    try:
        b.start()
    except Exception:
        a.stop()
        raise
    return a, b


def _stop(*servers):
    for s in servers:
        s.stop()
    for s in servers:
        shutil.rmtree(s.dir, ignore_errors=True)


def _on(server, client):
    """The same user agent (cookies, CSRF token) talking to another instance."""
    c = Client(server)
    c.cookies, c.csrf = client.cookies, client.csrf
    c.username, c.password, c.account = client.username, client.password, client.account
    return c


def _people(srv):
    return sorted((p for p in srv.population.current_persons() if not p["canc_reason"]),
                  key=lambda p: p["cf"])


def test_session_made_on_one_works_on_the_other():
    a, b = _pair()
    try:
        ente = a.create_ente()
        op = a.user("operator", ente["id"])
        me = expect(_on(b, op).get("/api/v1/auth/me"), 200, what="the session on the other instance")
        eq(me["username"], op.account["username"], "same account")
        expect(_on(b, op).post("/api/v1/auth/logout"), 200, what="logout on the other instance")
        expect(op.get("/api/v1/auth/me"), 401, what="the session ended everywhere")
    finally:
        _stop(b, a)


def test_duties_lease_given_up_at_a_clean_stop():
    """The instance holding the duties (mail, pushes, notices) gives the
    lease up when it stops cleanly: the next instance takes them at once,
    not after the lease lapses (APP_DUTIES_LEASE, 20 s)."""
    a, b = _pair()
    try:
        def lease():
            rows = harness.db_query(harness.shared_database(a.db) or a.db,
                                    "SELECT value FROM shared_state WHERE key = 'duties'")
            return rows[0]["value"] if rows else None
        deadline = time.monotonic() + 30
        while lease() in (None, "0 0") and time.monotonic() < deadline:
            time.sleep(0.2)
        held = lease()
        check(held and held != "0 0", f"an instance holds the duties: {held!r}")
    finally:
        _stop(b, a)
    eq(lease(), "0 0", "the lease given up by the instance that held it")


def test_rate_limit_counts_both_instances():
    a, b = _pair()
    try:
        ente = a.create_ente()
        pid = a.create_agreement(ente["id"], ALL, per_minute=4)["purpose_id"]
        op = a.user("operator", ente["id"])
        people = _people(a)
        codes = []
        for i in range(6):
            c = op if i % 2 == 0 else _on(b, op)
            codes.append(c.get(f"/api/v1/persons/{people[i]['cf']}?purpose={pid}").status)
        eq(codes[:4], [200] * 4, "the first four requests, two on each instance")
        eq(codes[4:], [429, 429], "the limit of 4 a minute holds across the instances")
    finally:
        _stop(b, a)


def test_disabled_on_one_refused_by_the_other():
    a, b = _pair()
    try:
        ente = a.create_ente()
        pid = a.create_agreement(ente["id"], ALL)["purpose_id"]
        op = a.user("operator", ente["id"])
        on_b = _on(b, op)
        cf = _people(a)[0]["cf"]
        expect(on_b.get(f"/api/v1/persons/{cf}?purpose={pid}"), 200, what="before")
        expect(a.admin().post(f"/api/v1/accounts/{op.account['id']}/disable", {"reason": "test"}),
               200, what="disable through instance A")
        r = on_b.get(f"/api/v1/persons/{cf}?purpose={pid}")
        check(r.status in (401, 403) and "person" not in (r.json or {}),
              f"instance B still answers a disabled account: {r}")
        r = Client(b).login(op.username, op.password)
        check(r.status in (401, 403), f"login on B of the disabled account: {r}")
        # Each instance keeps the control records in its cache: a change
        # through the other instance, or the CLI, moves the generation
        # they are valid for, and the very next request sees it.
        conv = a.create_agreement(ente["id"], ALL)
        op2 = a.user("operator", ente["id"])
        op2_b = _on(b, op2)
        url = f"/api/v1/persons/{cf}?purpose={conv['purpose_id']}"
        for c in (op2, op2_b, op2, op2_b):
            expect(c.get(url), 200, what="the agreement read, then kept, on both")
        expect(a.admin().patch(f"/api/v1/convenzioni/{conv['id']}", {"state": "suspended"}),
               200, what="agreement suspended through A")
        expect(op2_b.get(url), 403, "agreement_not_active", "refused by B at once")
        expect(b.admin().patch(f"/api/v1/convenzioni/{conv['id']}", {"state": "active"}),
               200, what="agreement active again through B")
        expect(op2.get(url), 200, what="answered by A at once")
        p = subprocess.run([harness.VISURA, "user", "disable", op2.username, "--db", a.db],
                           capture_output=True, text=True)
        eq(p.returncode, 0, f"visura user disable: {p.stdout}{p.stderr}")
        expect(op2.get(url), 401, "account_disabled", "A refuses the CLI's change at once")
        expect(op2_b.get(url), 401, "account_disabled", "and so does B")
    finally:
        _stop(b, a)


def test_anti_extraction_counts_both_instances_across_the_hour():
    """The distinct persons of the last hour are counted across the
    instances and across the clock hour: 19 persons on two instances just
    before the hour and one more just after reach the hard threshold of 20."""
    a, b = _pair(alert_persons_hour=10, alert_persons_hard=20)
    try:
        ente = a.create_ente()
        pid = a.create_agreement(ente["id"], ALL)["purpose_id"]
        people = _people(a)
        left = 3600 - a.now() % 3600
        a.advance(left - 20 if left > 25 else left + 3580)
        b.advance_to(a.now())
        op = a.user("operator", ente["id"])
        for i in range(19):
            c = op if i % 2 == 0 else _on(b, op)
            expect(c.get(f"/api/v1/persons/{people[i]['cf']}?purpose={pid}&case_ref=W"), 200,
                   what=f"distinct person {i + 1} before the hour")
        a.advance(40)
        b.advance_to(a.now())
        expect(op.login(op.username, op.password), 200, what="login after the hour")
        r = _on(b, op).get(f"/api/v1/persons/{people[19]['cf']}?purpose={pid}&case_ref=W")
        expect(r, 403, "account_suspended", "the 20th distinct person within the hour, on the "
                                            "other instance after the clock hour")
    finally:
        _stop(b, a)


def test_failed_logins_count_on_both():
    a, b = _pair()
    try:
        ente = a.create_ente()
        op = a.user("operator", ente["id"])
        statuses = []
        for i in range(12):
            srv = a if i % 2 == 0 else b
            statuses.append(Client(srv).login(op.username, "wrong-" + str(i)).status)
        check(429 in statuses, f"failed logins spread over both instances are throttled: {statuses}")
    finally:
        _stop(b, a)


def test_chain_verifies_after_concurrent_load_on_both():
    a, b = _pair()
    try:
        ente = a.create_ente()
        pid = a.create_agreement(ente["id"], ALL)["purpose_id"]
        ops = [a.user("operator", ente["id"]) for _ in range(4)]
        people = _people(a)
        before = a.access_last_id()

        def work(k):
            c = ops[k] if k % 2 == 0 else _on(b, ops[k])
            got = []
            for i in range(40):
                p = people[(k * 40 + i) % len(people)]
                got.append(c.get(f"/api/v1/persons/{p['cf']}?purpose={pid}&case_ref=L-{k}-{i}").status)
            return got

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            statuses = [s for got in pool.map(work, range(4)) for s in got]
        eq(statuses.count(200), 160, "every request answered")
        rows = a.access_log(before)
        eq(len(rows), 160, "one access record per request, from both instances")
        ids = [r["id"] for r in rows]
        eq(ids, list(range(before + 1, before + 161)), "ids without gaps or duplicates")
        for x, y in zip(rows, rows[1:]):
            eq(y["prev_hash"], x["hash"], f"record {y['id']} chained to {x['id']}")
        rc, out = harness.audit_verify(a.db)
        eq(rc, 0, f"audit verify: {out}")
    finally:
        _stop(b, a)


def test_two_imports_at_once():
    """Two `visura import` (as two instances would run them) on one database
    at once: both apply, one after the other, and the event row ids (the
    feed's cursor) of each import are one unbroken run."""
    a = Server(population=POP)
    a.start()
    try:
        feeds = []
        for comune, seed in (("036040", 21), ("036013", 22)):
            out = os.path.join(a.dir, "feed-" + comune)
            p = subprocess.run([harness.VISURA, "gen", "--persons", "800", "--comune", comune,
                                "--seed", str(seed), "--days", "4", "--out", out],
                               capture_output=True, text=True)
            eq(p.returncode, 0, f"gen: {p.stderr}")
            feeds.append(sorted(os.path.join(out, n) for n in os.listdir(out)))
        procs = [subprocess.Popen([harness.VISURA, "import", "--db", a.db, "--quiet"] + files,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for files in feeds]
        for p in procs:
            out, _ = p.communicate(timeout=300)
            eq(p.returncode, 0, f"a concurrent import: {out}")
        imports = harness.db_query(a.db, "SELECT id, comune, seq FROM import WHERE comune IN"
                                         " ('036040', '036013') ORDER BY id")
        eq(len(imports), sum(len(f) for f in feeds), "every file imported once")
        events = harness.db_query(a.db, "SELECT rowid, import_id FROM event ORDER BY rowid")
        runs = []
        for ev in events:
            if not runs or runs[-1] != ev["import_id"]:
                runs.append(ev["import_id"])
        eq(len(runs), len(set(runs)), "the events of each import are one run of row ids")
    finally:
        _stop(a)


if __name__ == "__main__":
    run_tests(globals())
