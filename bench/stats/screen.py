#!/usr/bin/env python3
"""bench/stats/screen.py — how long the statistics screen waits for its
numbers (web/src/app/screens/stats.js): `bilancio` first (it says the
period), then `posas`, `famiglie`, `strasa_cittadinanza`, `stato_civile`
at the screen's date and the series of its indicators, all five at once
from five admin sessions, as the browser asks them; the wall time until
the last of the five is answered, on a fresh server (first load) and
again (second load).  Each build in turn, ROUNDS times, alternated, each
on a register of its own generated the same way (the harness: gen, init,
import).  Since the tables and the series are computed one at a time on
the server's runner (common/runner.h), this is what that order costs the
screen against a build that computed the series on an HTTP worker.

usage: bench/stats/screen.py PERSONS BUILD [BASELINE_BUILD]
  BUILD, BASELINE_BUILD: build directories (their `visura-test`).
  Environment: COMUNI (default 036005,036023), DAYS (400), ROUNDS (2)."""
import concurrent.futures
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "e2e"))
import harness  # noqa: E402

persons = int(sys.argv[1])
builds = [("this", sys.argv[2])] + ([("baseline", sys.argv[3])] if len(sys.argv) > 3 else [])
comuni = os.environ.get("COMUNI", "036005,036023")
days = int(os.environ.get("DAYS", "400"))
rounds = int(os.environ.get("ROUNDS", "2"))
INDICATORS = ("population,births,deaths,natural_balance,registrations,cancellations,"
              "migratory_balance,crude_birth_rate,crude_death_rate,old_age_index,average_age")


def load(clients, urls):
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(len(urls)) as ex:
        res = list(ex.map(lambda cu: cu[0].get(cu[1]), zip(clients, urls)))
    took = time.monotonic() - t0
    harness.check(all(r.status == 200 for r in res), [r.status for r in res])
    return took


def one(build):
    harness.VISURA = os.path.join(build, "visura-test")   # the test clock the harness sets
    pop = harness.Population(persons=persons, comuni=comuni, seed=11, days=days)
    with harness.Server(population=pop) as srv:
        a = srv.admin()
        b = harness.expect(a.get("/api/v1/stats/tables?table=bilancio"), 200).json
        end = b["riferimento"]["al"]
        y, m = int(end[:4]), int(end[5:7])
        date = f"{y + 1}-01-01" if m == 12 else f"{y}-{m + 1:02d}-01"
        urls = [f"/api/v1/stats/tables?table={t}&date={date}"
                for t in ("posas", "famiglie", "strasa_cittadinanza", "stato_civile")]
        urls.append(f"/api/v1/stats/series?indicator={INDICATORS}&step=year"
                    f"&from={end[:4]}-01&to={end[:7]}")
        clients = [a] + [srv.user("admin") for _ in range(len(urls) - 1)]
        return load(clients, urls), load(clients, urls)


for r in range(rounds):
    for label, build in builds:
        la = os.getloadavg()
        first, second = one(build)
        print(f"round {r + 1} {label:8} first load {first:6.2f} s  second load {second:6.2f} s"
              f"  (load {la[0]:.1f})", flush=True)
