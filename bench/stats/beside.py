#!/usr/bin/env python3
"""bench/stats/beside.py — look-ups by codice fiscale while statistics
tables are computed on the same server: what a table's computation (on the
server's runner, common/runner.h) takes from the operators' answers.

For each build in turn, ROUNDS times, alternated, on a register of its own
generated the same way (the harness: gen, init, import, serve): `wrk -t2
-c64` look-ups by codice fiscale (bench/lookup/lookup.lua) for DURATION
seconds alone, then DURATION seconds while one admin asks
`strasa_cittadinanza_eta` tables one after the other, each at another
threshold (3, 4, ...: each a protection of its own, computed, never taken
from the server's cache).  Prints each window's look-ups a second, p50,
p99, the tables answered during it and the load average before it, and
the CPU seconds of the server's threads (by name, nice value and
SCHED_IDLE), of this script (the admin's client) and of wrk in each
window: how much the runner took from the HTTP workers (docs/performance.md,
"Background work at a lower priority").

usage: bench/stats/beside.py PERSONS BUILD [BASELINE_BUILD]
  BUILD, BASELINE_BUILD: build directories (their `visura-test`).
  Environment: DURATION (seconds, default 20), ROUNDS (default 2),
  DAYS (default 40)."""
import http.client
import os
import re
import ssl
import subprocess
import sys
import tempfile
import threading
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, "..", "..")
sys.path.insert(0, os.path.join(root, "tests", "e2e"))
import harness  # noqa: E402

persons = int(sys.argv[1])
builds = [("this", sys.argv[2])] + ([("baseline", sys.argv[3])] if len(sys.argv) > 3 else [])
duration = int(os.environ.get("DURATION", "20"))
rounds = int(os.environ.get("ROUNDS", "2"))
days = int(os.environ.get("DAYS", "40"))
COMUNE = "036023"


def wrk(srv, cookie, cfs, out):
    env = dict(os.environ, COOKIE=cookie, LIST=cfs, KIND="cf")
    p = subprocess.run(["wrk", "-t2", "-c64", f"-d{duration}s", "--latency", "-s",
                        os.path.join(root, "bench", "lookup", "lookup.lua"),
                        f"https://127.0.0.1:{srv.port}"], env=env, capture_output=True, text=True)
    open(out, "w").write(p.stdout + p.stderr)
    text = p.stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    def pct(n):
        m = re.search(rf"^\s+{n}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return rate, pct(50), pct(99), int(bad.group(1)) if bad else 0


def threads_cpu(pid):
    """CPU seconds (user + system) of each thread of pid, by name, nice and
    SCHED_IDLE, summed over the threads of the same name and class."""
    out = {}
    hz = os.sysconf("SC_CLK_TCK")
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            st = open(f"/proc/{pid}/task/{t}/stat").read()
        except OSError:
            continue
        name = st[st.index("(") + 1:st.rindex(")")]
        f = st[st.rindex(")") + 2:].split()
        key = f"{name}@{f[16]}" + ("/SCHED_IDLE" if f[38] == "5" else "")
        out[key] = out.get(key, 0) + (int(f[11]) + int(f[12])) / hz
    return out


def tables(srv, admin, date, stop, done):
    """The tables one after the other on one connection, each body read and
    dropped unparsed (the harness's client would decode each: about 2 s of
    this script's CPU a table at 200,000 persons, beside wrk)."""
    cookie = "; ".join(f"{k}={v}" for k, v in admin.cookies.items())
    c = http.client.HTTPSConnection("127.0.0.1", srv.port, timeout=600,
                                    context=ssl._create_unverified_context())
    t = 3
    while not stop.is_set():
        c.request("GET", f"/api/v1/stats/tables?table=strasa_cittadinanza_eta&comuni={COMUNE}"
                         f"&date={date}&threshold={t}", headers={"Cookie": cookie})
        r = c.getresponse()
        body = r.read()
        harness.check(r.status == 200, f"table at threshold {t}: {r.status} {body[:200]!r}")
        done.append(t)
        t += 1
    c.close()


def window(name, srv, cookie, cfs, work):
    """One wrk run, and the CPU the server's threads, this script and wrk
    used during it."""
    c0, t0 = threads_cpu(srv.proc.pid), os.times()
    got = wrk(srv, cookie, cfs, os.path.join(work, f"{name}.txt"))
    c1, t1 = threads_cpu(srv.proc.pid), os.times()
    print(f"  CPU during the window '{name}' (s): " +
          ", ".join(f"{k} {c1[k] - c0.get(k, 0):.1f}" for k in sorted(c1)) +
          f"; this script {t1.user + t1.system - t0.user - t0.system:.1f}, wrk"
          f" {t1.children_user + t1.children_system - t0.children_user - t0.children_system:.1f}",
          flush=True)
    return got


def one(build, work):
    harness.VISURA = os.path.join(build, "visura-test")
    pop = harness.Population(persons=persons, comuni=COMUNE, seed=7, days=days)
    with harness.Server(population=pop, alert_persons_hour=100000000,
                        alert_persons_hard=100000000, alert_sequential=64,
                        alert_repeat_no_case=16, per_ip_connections=256) as srv:
        admin = srv.admin()
        ente = srv.create_ente()
        conv = srv.create_agreement(ente["id"], ["identity", "residence"], comuni=(COMUNE,))
        harness.check(conv["purpose_id"] == 1, "lookup.lua asks purpose 1")
        op = srv.user("operator", ente_id=ente["id"])
        cookie = "; ".join(f"{k}={v}" for k, v in op.cookies.items())
        cfs = os.path.join(work, "cfs.txt")
        with open(cfs, "w") as f:
            for i, p in enumerate(pop.current_persons()):
                if i % 97 == 0 and not p["canc_reason"]:
                    f.write(p["cf"] + "\n")
        b = harness.expect(admin.get(f"/api/v1/stats/tables?table=bilancio&comuni={COMUNE}"),
                           200).json
        end = b["riferimento"]["al"]
        y, m = int(end[:4]), int(end[5:7])
        date = f"{y + 1}-01-01" if m == 12 else f"{y}-{m + 1:02d}-01"
        res = {}
        load = open("/proc/loadavg").read().split()[0]
        res["alone"] = window("alone", srv, cookie, cfs, work) + (0, load)
        stop, done = threading.Event(), []
        th = threading.Thread(target=tables, args=(srv, admin, date, stop, done))
        load = open("/proc/loadavg").read().split()[0]
        th.start()
        time.sleep(1)  # the first table under way
        res["tables"] = window("tables", srv, cookie, cfs, work) + (None, load)
        n = len(done)
        stop.set()
        th.join()
        res["tables"] = res["tables"][:4] + (n, load)
        return res


with tempfile.TemporaryDirectory() as work:
    for r in range(rounds):
        for name, build in builds:
            res = one(build, work)
            for k, (rate, p50, p99, bad, n, load) in res.items():
                print(f"round {r + 1} {name:8s} {k:6s}: {rate:8.1f} look-ups/s, p50 {p50:7.2f} ms,"
                      f" p99 {p99:7.2f} ms, non-2xx {bad}, tables {n}, load {load}", flush=True)
