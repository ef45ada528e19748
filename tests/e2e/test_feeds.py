#!/usr/bin/env python3
"""End-to-end: a municipality's system account pushes its daily files over
HTTPS (POST /api/v1/imports), with the same validation and all-or-nothing
rule as `visura import`; the office watches the feeds and is alerted when
one is rejected or overdue."""
import os
import subprocess
import tempfile
import threading
import time

import harness
from harness import *  # noqa: F401,F403


def gen_feed(persons=800, days=2, comune="036023"):
    out = tempfile.mkdtemp(prefix="visura-feed-")
    p = subprocess.run([harness.VISURA, "gen", "--persons", str(persons), "--comune", comune,
                        "--seed", "3", "--days", str(days), "--out", out],
                       capture_output=True, text=True)
    check(p.returncode == 0, f"gen: {p.stderr}")
    files = sorted(os.listdir(out))
    return [open(os.path.join(out, f), "rb").read() for f in files]


def push(srv, token, data):
    return srv.request("POST", "/api/v1/imports", body=data,
                       headers={"Authorization": "Bearer " + token,
                                "X-Visura-On-Behalf-Of": "sistema anagrafe"})


def municipality_token(srv, comune="036023"):
    ente = srv.create_ente(kind="municipality", comune=comune)
    acc, _ = srv.create_account("api", ente["id"])
    tok = expect(srv.admin().post(f"/api/v1/accounts/{acc['id']}/tokens", {"name": "feed"}), 201)
    return ente, tok["token"]


def test_push_daily_files():
    files = gen_feed()   # 036023-000001-FULL, -000002-DELTA, -000003-DELTA
    with Server() as srv:
        _, token = municipality_token(srv)
        r = expect(push(srv, token, files[0]), 201, what="snapshot pushed")
        eq(r["kind"], "FULL", "kind")
        check(r["persons"] > 700, "persons loaded")
        r = expect(push(srv, token, files[0]), 200, what="same file again")
        check(r["already_loaded"], "recognised as already loaded")
        # A gap: sequence 3 before 2 is refused, with the problems listed.
        r = expect(push(srv, token, files[2]), 422, "import_refused", "sequence gap refused")
        check(any("sequenza interrotta" in p["reason"] and "caricare prima i file mancanti" in p["reason"]
                  for p in r["problems"]), f"the reason is given, in Italian: {r['problems']}")
        expect(push(srv, token, files[1]), 201, what="delta 2")
        expect(push(srv, token, files[2]), 201, what="delta 3")
        feeds = expect(srv.admin().get("/api/v1/feeds"), 200)["feeds"]
        f = [x for x in feeds if x["comune"] == "036023"][0]
        eq(f["last_sequence"], 3, "feed state")
        check(f["last_import"]["persons"] > 0 or f["last_import"]["updated"] >= 0, "last import counts")
        eq(f["refused_pushes"], 1, "the refused push is counted")
        alerts = expect(srv.admin().get("/api/v1/alerts"), 200)["alerts"]
        check(any(a["rule"] == "feed_rejected" for a in alerts), "a rejected file raises an alert")


class RegisterHeld:
    """Holds what an import's transaction must take first, so that a
    pushed file's import waits at its start: SQLite's write lock of the
    register (BEGIN IMMEDIATE), PostgreSQL's table of imports (the
    import's first write, its row there)."""

    def __init__(self, db):
        self.db = db
        if db.startswith("postgres:"):
            self.con = harness.pgwire.Connection(harness._conninfo(db))
            self.con.query("BEGIN; LOCK TABLE import IN SHARE ROW EXCLUSIVE MODE")
        else:
            import sqlite3
            self.con = sqlite3.connect(db, timeout=0, isolation_level=None)
            self.con.execute("BEGIN IMMEDIATE")

    def release(self):
        if self.db.startswith("postgres:"):
            self.con.query("ROLLBACK")
        else:
            self.con.execute("ROLLBACK")
        self.con.close()


def test_push_off_the_workers():
    """A pushed file is imported on a thread of its own (app->imports,
    common/runner.h), not on an HTTP worker: with one worker (--threads
    1), while a snapshot is being imported (the metrics say so), the
    server answers other requests; on the worker, as before, nothing else
    was answered until the import was done (a FULL of 1,000,000 persons:
    a minute).  Then, at SIGTERM with one import running and another
    waiting: the running one stops (rolled back, nothing of it written)
    instead of holding the stop for as long as a snapshot takes — before,
    it was finished first, past a service manager's stop timeout
    (debian/visura.service: 30 s) at a million persons; both are answered
    503 with Retry-After, the server exits 0 (harness.stop, which also
    reads the log for sanitizer reports), and the file stopped is imported
    whole when pushed again."""
    from test_stats_cache import answered_meanwhile, gauge
    big = gen_feed(persons=30000, days=1)[0]
    other = gen_feed(persons=30000, days=1, comune="036005")[0]
    srv = Server(threads=1)
    with srv:
        _, token = municipality_token(srv)
        res, answered = answered_meanwhile(srv, lambda: push(srv, token, big),
                                           "a pushed snapshot is imported", "imports")
        eq(res.status, 201, "the snapshot pushed")
        check(answered > 0, "requests answered by the one worker while the file was imported")
        before = feeds_of(srv)
        # another municipality's snapshot runs, held at its start until the
        # server is stopping; the first file again waits behind it
        _, token2 = municipality_token(srv, "036005")
        held = RegisterHeld(srv.db)
        got = {}
        first = threading.Thread(target=lambda: got.update(first=push(srv, token2, other)))
        first.start()
        deadline = time.monotonic() + 60
        while (not gauge(srv, "running", "imports") and first.is_alive()
               and time.monotonic() < deadline):
            time.sleep(0.005)
        check(gauge(srv, "running", "imports") == 1, "036005's file is imported")
        second = threading.Thread(target=lambda: got.update(second=push(srv, token, big)))
        second.start()
        while (not gauge(srv, "waiting", "imports") and second.is_alive()
               and time.monotonic() < deadline):
            time.sleep(0.005)
        check(gauge(srv, "waiting", "imports") == 1, "the second file waits")
        srv.signal()
        term = time.monotonic()
        while "in arresto" not in srv.log_text() and time.monotonic() < deadline:
            time.sleep(0.01)
        check("in arresto" in srv.log_text(), "the server is stopping")
        # the periodic duties, on the thread that takes the signals, wait
        # for the held register a second at most (they waited 10 s a write)
        check(time.monotonic() - term < 5, f"SIGTERM taken after {time.monotonic() - term:.1f} s")
        time.sleep(0.2)
        held.release()   # the import goes on: the server is stopping
        t = time.monotonic()
        srv.stop()
        stop_took = time.monotonic() - t
        first.join()
        second.join()
        for k in ("first", "second"):
            eq(got[k].status, 503, f"the {k} import at the stop")
            eq(got[k].header("Retry-After"), "30", "when to try again")
        check("interrotta" in got["first"]["error"]["message"] and
              "nulla è stato scritto" in got["first"]["error"]["message"],
              f"the import stopped says so: {got['first'].json}")
        check("importazione interrotta dall'arresto" in srv.log_text(), "and the log")
        check(stop_took < 15, f"the stop did not wait for the import: {stop_took:.1f} s")
        srv.restart()   # on the same database (stopped already: started again)
        eq(feeds_of(srv), before, "nothing of the stopped import written")
        eq(db_query(srv.db, "SELECT count(*) AS n FROM person WHERE comune = '036005'")[0]["n"]
           in (0, "0"), True, "no person of the stopped file")
        expect(push(srv, token2, other), 201, what="the stopped file pushed again, imported")
        check("036005" in feeds_of(srv), "its feed now")


def feeds_of(srv):
    """The feeds loaded: {comune: last sequence}."""
    return {f["comune"]: f["last_sequence"]
            for f in expect(srv.admin().get("/api/v1/feeds"), 200)["feeds"]}


def test_push_refused_cleanly():
    files = gen_feed(persons=300, days=0)
    with Server() as srv:
        _, token = municipality_token(srv)
        # Truncated: nothing written.
        cut = files[0][: len(files[0]) // 2]
        r = expect(push(srv, token, cut), 422, "import_refused", "truncated file")
        check(r["problems_total"] >= 1, "problems counted")
        eq(len(r["problems"]), min(r["problems_total"], 100), "the problems listed")
        # More problems than the answer lists: every household's date made
        # impossible.  The first 100 are listed, in the file's order, each
        # with its line and reason (kept in memory by the server: no
        # temporary report whose loss would list none).
        lines = files[0].split(b"\n")
        fams = 0
        for i, ln in enumerate(lines):
            f = ln.split(b"\t")
            if f[0] == b"FAM":
                f[3] = b"2019-13-45"
                lines[i] = b"\t".join(f)
                fams += 1
        check(fams > 100, f"the file has more than 100 households ({fams})")
        r = expect(push(srv, token, b"\n".join(lines)), 422, "import_refused", "bad dates")
        check(r["problems_total"] >= fams, f"every bad household counted: {r['problems_total']}")
        eq(len(r["problems"]), 100, "the first 100 problems listed")
        nums = [p["line"] for p in r["problems"]]
        eq(nums, sorted(nums), "in the file's order")
        check(all(p["line"] >= 2 and p["record"] == "FAM" and p["reason"] for p in r["problems"]),
              f"each with its line, record and reason: {r['problems'][:3]}")
        feeds = expect(srv.admin().get("/api/v1/feeds"), 200)["feeds"]
        eq(feeds, [], "nothing loaded")
        # Another municipality's file.
        other = files[0].replace(b"\t036023\t", b"\t036005\t", 1)
        expect(push(srv, token, other), 403, "forbidden", "another municipality's file")
        # A body that is not a municipality cannot push.
        ente = srv.create_ente(kind="police")
        acc, _ = srv.create_account("api", ente["id"])
        tok = expect(srv.admin().post(f"/api/v1/accounts/{acc['id']}/tokens", {"name": "x"}), 201)
        expect(push(srv, tok["token"], files[0]), 403, "forbidden", "not a municipality")
        # Operators cannot push at all.
        op = srv.user("operator", ente["id"])
        expect(op.post("/api/v1/imports", {"x": 1}), 403, "forbidden", "operator")
        # Invalid UTF-8 and garbage.
        expect(push(srv, token, b"HDR\tVISURA-ANAGRAFE\t1\t036023\t\xff\xfe\n"), 422,
               "import_refused", "garbage header")


def test_overdue_feed_alert():
    files = gen_feed(persons=300, days=0)
    with Server(feed_deadline_hours=30) as srv:
        _, token = municipality_token(srv)
        expect(push(srv, token, files[0]), 201)
        # The snapshot's extract time is in the past (2026-01-01): overdue now.
        srv.advance(60)
        feeds = expect(srv.admin().get("/api/v1/feeds"), 200)["feeds"]
        check(feeds[0]["overdue"], "the feed is overdue")
        alerts = expect(srv.admin().get("/api/v1/alerts"), 200)["alerts"]
        check(any(a["rule"] == "feed_overdue" and "036023" in a["detail"] for a in alerts),
              "an overdue feed raises an alert")
        n = len([a for a in alerts if a["rule"] == "feed_overdue"])
        srv.advance(60)
        alerts = expect(srv.admin().get("/api/v1/alerts"), 200)["alerts"]
        eq(len([a for a in alerts if a["rule"] == "feed_overdue"]), n, "once a day, not every minute")


def overdue_alerts(srv):
    """The feed_overdue alerts, by municipality: {comune: count}."""
    out = {}
    for a in expect(srv.admin().get("/api/v1/alerts?limit=1000"), 200)["alerts"]:
        if a["rule"] == "feed_overdue":
            c = a["username"].removeprefix("feed:")
            out[c] = out.get(c, 0) + 1
    return out


def test_overdue_feed_alert_once_a_day_for_each_municipality():
    """A province of 300 municipalities whose files are late: each alerted
    once, the day's alerts not raised again by a restart (the server kept
    them in memory, for 256 municipalities at most: a restart raised them
    all again, the 257th and later never), and again the next day."""
    files = gen_feed(persons=300, days=0)
    with Server(feed_deadline_hours=30) as srv:
        _, token = municipality_token(srv)
        expect(push(srv, token, files[0]), 201)
        # 299 more municipalities' feeds, as late as the first
        feed = expect(srv.admin().get("/api/v1/feeds"), 200)["feeds"][0]
        extract = parse_time(feed["last_extract"])
        imp = expect(srv.admin().get("/api/v1/imports"), 200)["imports"][0]["id"]
        others = [f"{900000 + i:06d}" for i in range(299)]
        db_exec(srv.db, *[("INSERT INTO feed (comune, last_seq, last_extract, last_import_id)"
                           " VALUES (?, 1, ?, ?)", (c, extract, imp)) for c in others])
        srv.advance(60)
        every = ["036023"] + others
        got = overdue_alerts(srv)
        eq(sorted(got), sorted(every), "every late municipality alerted, the 257th and later too")
        check(all(v == 1 for v in got.values()), f"each once: {[c for c, v in got.items() if v != 1]}")
        srv.restart()
        srv.advance(60)
        eq(overdue_alerts(srv), got, "a restart does not raise the day's alerts again")
        srv.advance(86400)
        again = overdue_alerts(srv)
        check(all(again.get(c) == 2 for c in every),
              f"raised again the next day: {[c for c in every if again.get(c) != 2][:5]}")


if __name__ == "__main__":
    run_tests(globals())
