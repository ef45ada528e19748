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
never the one kept for the old counts.  The protection is kept in the
database too (migration 26, table stats_protection): a restarted server
takes it from there instead of computing it again, and ignores a row
changed behind its back (computes again, the same tables)."""
import base64
import hashlib
import http.client
import json
import re
import subprocess
import threading
import time

import harness
from harness import *  # noqa: F401,F403
from test_bollettino import protections
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


def three_tables(a, c=COMUNI[0]):
    return {n: expect(a.get(f"/api/v1/stats/tables?table={n}&comuni={c}&date={DATE}&threshold=3"),
                      200, None, n).json for n in TABLES}


def test_protection_stored():
    """Kept in the database: the first table computes the protection
    (outcome computed) and the server writes it to stats_protection; a
    restarted server (memory empty) takes it from there — outcome
    stored, nothing computed — and gives the same three tables (before,
    each restart computed it again: computed 1, stored 0)."""
    pop = harness.Population(persons=4000, comuni=POOL, seed=11, days=40)
    with Server(population=pop) as srv:
        a = srv.admin()
        first = three_tables(a)
        eq(protections(srv), {"kept": 2, "stored": 0, "computed": 1},
           "the first table computes, the other two reuse")
        rows = db_query(srv.db, "SELECT cells, made_at, used_at FROM stats_protection")
        eq(len(rows), 1, "the protection written to the database")
        srv.restart()
        a = srv.admin()
        again = three_tables(a)
        eq(protections(srv), {"kept": 2, "stored": 1, "computed": 0},
           "after a restart: taken from the database, not computed")
        eq(again, first, "the same tables after the restart")
        # the protection of the province's pool is the same linked one
        pool = expect(a.get(f"/api/v1/stats/tables?table=strasa&comuni={POOL}&date={DATE}"
                            "&threshold=3"), 200).json
        eq(protections(srv)["computed"], 0, "the pool's strasa: the same protection")
        check(pool["righe"], "the pool's table")


def forged(db):
    """The row's bits all 0 (nothing hidden) with the digest made again
    as the server makes it (src/store/ops_stats.c): whole to the store."""
    row = db_query(db, "SELECT key, cells FROM stats_protection")[0]
    cells = int(row["cells"])
    zeros = bytes((cells + 7) // 8)
    digest = hashlib.sha256(bytes.fromhex(row["key"]) + cells.to_bytes(8, "little")
                            + zeros).hexdigest()
    return ("UPDATE stats_protection SET data = ?, sha256 = ?",
            (base64.b64encode(zeros).decode(), digest))


def test_protection_tampered():
    """A row changed behind the server's back (its bytes cut, or one
    character of them changed; or its bits all 0 with its digest made
    again, which the store takes: the masks then show small counts, and
    the protection's check refuses them) is not taken: the restarted
    server computes again (outcome computed, nothing stored), gives the
    same tables, and writes the row anew, which the next restart takes."""
    pop = harness.Population(persons=4000, comuni=POOL, seed=11, days=40)
    with Server(population=pop) as srv:
        a = srv.admin()
        first = three_tables(a)
        for what, sql in (
                ("cut", "UPDATE stats_protection SET data = substr(data, 1, length(data) - 8)"),
                ("changed", "UPDATE stats_protection SET data = CASE WHEN substr(data, 1, 1) = 'A'"
                            " THEN 'B' ELSE 'A' END || substr(data, 2)"),
                ("forged", forged)):
            srv.stop()
            before = db_query(srv.db, "SELECT data FROM stats_protection")
            db_exec(srv.db, sql(srv.db) if callable(sql) else sql)
            check(db_query(srv.db, "SELECT data FROM stats_protection") != before,
                  f"{what}: the row changed")
            srv.restart()
            a = srv.admin()
            eq(three_tables(a), first, f"{what}: the same tables, computed again")
            eq(protections(srv), {"kept": 2, "stored": 0, "computed": 1},
               f"{what}: the changed row not taken")
            eq(db_query(srv.db, "SELECT data FROM stats_protection"), before,
               f"{what}: the row written anew")
        srv.restart()
        a = srv.admin()
        eq(three_tables(a), first, "the row written anew: the same tables")
        eq(protections(srv), {"kept": 2, "stored": 1, "computed": 0},
           "the row written anew taken")


def test_protection_shared():
    """PostgreSQL: a second instance of the service on the same database
    takes the protection the first computed from the database (outcome
    stored, nothing computed: before, each instance computed its own)."""
    if harness.BACKEND == "sqlite":
        print("one instance per SQLite database: nothing to share")
        return
    pop = harness.Population(persons=4000, comuni=POOL, seed=11, days=40)
    with Server(population=pop) as one:
        first = three_tables(one.admin())
        eq(protections(one), {"kept": 2, "stored": 0, "computed": 1}, "the first instance")
        with Server(share=one) as two:
            eq(three_tables(two.admin()), first, "the second instance's tables")
            eq(protections(two), {"kept": 2, "stored": 1, "computed": 0},
               "the second instance: taken from the database")


def metric(srv, pattern, what):
    c = http.client.HTTPConnection("127.0.0.1", srv.metrics_port, timeout=10)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    m = re.search(r"^%s (\d+)$" % pattern, text, re.M)
    check(m, f"/metrics has {what}")
    return int(m.group(1))


def gauge(srv, state, runner="slow"):
    """A runner's jobs (common/runner.h) in that state, from /metrics."""
    return metric(srv, r'visura_runner_jobs\{runner="%s",state="%s"\}' % (runner, state),
                  f"{runner}'s jobs {state}")


def done(srv, runner="slow"):
    """A runner's jobs done to the end, from /metrics."""
    return metric(srv, r'visura_runner_jobs_done_total\{runner="%s"\}' % runner,
                  f"{runner}'s jobs done")


def answered_meanwhile(srv, ask, what, runner="slow"):
    """Runs ask() (a long request) in a thread; while the runner's gauge
    says it is being done, /healthz is asked again and again: each must
    be answered.  The long request's answer, and how many were answered
    while it ran (the caller checks it is more than none)."""
    got = {}
    t = threading.Thread(target=lambda: got.update(res=ask()))
    t.start()
    deadline = time.monotonic() + 60
    while not gauge(srv, "running", runner) and t.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    answered = 0
    while t.is_alive() and gauge(srv, "running", runner):
        eq(srv.request("GET", "/healthz").status, 200, f"/healthz while {what}")
        if gauge(srv, "running", runner):
            answered += 1
    t.join()
    eq(gauge(srv, "running", runner), 0, f"nothing running after {what}")
    print(f"requests answered while {what}: {answered}")
    return got["res"], answered


def test_tables_off_the_workers():
    """A table is computed on a thread of its own (common/runner.h), not
    on an HTTP worker: with one worker (--threads 1), while a table is
    being computed (the metrics say so before and after), the server
    answers other requests; computed on the worker, as before, nothing
    else was answered until the table was done (strasa_cittadinanza_eta's
    exact audit: minutes at 1,000,000 persons).  The same for a series,
    the trail's verification, the bulletins made again, a body's usage
    and the yearly review."""
    pop = harness.Population(persons=15000, comuni=POOL, seed=11, days=40)
    with Server(population=pop, threads=1) as srv:
        a = srv.admin()

        def answered_while(what, url):
            """Some request answered while url's work ran: asked again with
            another threshold (work not kept) when, on a busy machine, the
            work ended before /healthz could be asked."""
            for threshold in (3, 4, 5, 6, 7):
                res, answered = answered_meanwhile(
                    srv, lambda: a.get(f"{url}&threshold={threshold}"), what)
                expect(res, 200, None, what)
                if answered > 0:
                    return
            check(False, f"requests answered by the one worker while {what}")

        answered_while("a table is computed",
                       f"/api/v1/stats/tables?table=strasa_cittadinanza_eta&comuni={COMUNI[0]}"
                       f"&date={DATE}")
        # A series goes the same way (on the HTTP worker before: every
        # month of a province walks the register's history).
        every = ("population,males,females,foreigners,foreign_share,old_age_index,"
                 "dependency_ratio,average_age,births,deaths,registrations,cancellations,"
                 "crude_birth_rate,migratory_rate")
        answered_while("a series is computed",
                       f"/api/v1/stats/series?indicator={every}&comuni={POOL}&by=comune")
        # The trail's verification, the bulletins made again, a body's usage
        # and the yearly review too: each a job done on the runner (minutes
        # on a trail of 100,000,000 records; every bulletin's protection; a
        # year of a body's trail read whole).
        for method, path, body in (("GET", "/api/v1/audit/verify", None),
                                   ("POST", "/api/v1/bollettini/rigenera", {}),
                                   ("GET", "/api/v1/review", None),
                                   ("GET", "/api/v1/usage?ente_id=1", None)):
            n = done(srv)
            res = a.get(path) if method == "GET" else a.post(path, body)
            expect(res, 200, None, path)
            deadline = time.monotonic() + 10   # counted after its answer is sent
            while done(srv) == n and time.monotonic() < deadline:
                time.sleep(0.01)
            eq(done(srv), n + 1, f"{path} done on the runner")


def test_tables_at_stop():
    """SIGTERM while a table is computed and another waits: the one being
    computed is finished and answered (200) or, when the stop comes
    before one of its exact audit's simplex runs, ends there and is
    answered 503 with Retry-After saying so (since 2026-12-07: the first
    audit of a date took over a minute at 1,000,000 persons, past a
    service manager's stop timeout); the waiting one is answered 503, and
    the server exits 0 (harness.stop, which also reads the log for
    sanitizer reports)."""
    pop = harness.Population(persons=15000, comuni=POOL, seed=11, days=40)
    srv = Server(population=pop, threads=1)
    with srv:
        a = srv.admin()
        b = Client(srv)     # a second session of the admin, for the second request
        expect(b.login(a.username, a.password), 200, None, "a second session")
        url = (f"/api/v1/stats/tables?table=strasa_cittadinanza_eta&comuni={{}}"
               f"&date={DATE}&threshold=3")
        got = {}
        first = threading.Thread(target=lambda: got.update(first=a.get(url.format(COMUNI[0]))))
        first.start()
        deadline = time.monotonic() + 60
        while not gauge(srv, "running") and first.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        check(gauge(srv, "running") == 1, "the first table is being computed")
        second = threading.Thread(target=lambda: got.update(
            second=b.get(url.format(COMUNI[1]))))
        second.start()
        while not gauge(srv, "waiting") and second.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        check(gauge(srv, "waiting") == 1, "the second table waits")
        srv.stop()
        first.join()
        second.join()
        r = got["first"]
        if r.status != 200:
            eq(r.status, 503, "the table being computed at the stop: finished, or stopped")
            eq(r.header("Retry-After"), "30", "when to ask again")
            check("interrotto" in r.json["error"]["message"],
                  f"stopped by the stop, and says so: {r.json}")
            check("tavola statistica interrotta dall'arresto" in srv.log_text(), "and the log")
        eq(got["second"].status, 503, "the table waiting at the stop")


if __name__ == "__main__":
    run_tests(globals())
