#!/usr/bin/env python3
"""End-to-end: every statistic is read in one snapshot (issue #17).

A series is read by several statements (the period covered, the history
of its members, the linked pass over the province each member is
protected with), and so is a table; an import committing between two of
them made the members' balance differ from the province's, and the series
answered 500 ("bilancio diverso da quello della provincia") during every
import.  Here the daily deltas of two municipalities of one province are
imported one after the other, each in its own commit, while the API is
asked again and again for series (every month covered, each member and the
province, several indicators at once) and tables (the balance of each
member and of the province, POSAS, households): every answer is 200 and
agrees with itself (population at the end of a month = at the end of the
month before + natural balance + migratory balance; natural = births -
deaths; migratory = registrations - cancellations; in the balance, start +
flows = end, a month's start = the end of the month before), and the test
counts the answers during which an import committed."""
import datetime
import os
import subprocess
import threading
import time

import harness
from harness import *  # noqa: F401,F403

COMUNI = ("036005", "036023")    # two municipalities of one province (Modena)
POOL = ",".join(COMUNI)
DAYS = 58                        # to 2026-02-28: February complete at the end
FIRST = 30                       # deltas imported before the server starts: January
                                 # complete (only whole periods are published)


LAG = 4                          # days a change is recorded after it happened


def backdate(path):
    """Dates the changes of a DELTA LAG days before its extract, as a
    register records a death or a move after the fact (docs/import-format.md:
    a version opens on its valid-from date; birth <= registration <=
    cancellation <= extract): what it changes is then inside the period the
    register already covers, not after it.  A newborn's dates stay (the
    codice fiscale holds the birth date)."""
    with open(path, encoding="utf-8") as f:
        lines = [ln.rstrip("\n").split("\t") for ln in f]
    extract = lines[0][4][:10]
    early = (datetime.date.fromisoformat(extract) - datetime.timedelta(days=LAG)).isoformat()
    births = {t[1]: t[7] for t in lines if t[0] == "PER"}

    def move(v, floor):
        return max(early, floor) if v == extract else v

    for t in lines:
        if t[0] == "FAM":
            t[3] = move(t[3], "")
        elif t[0] == "PER":
            birth = t[7]
            t[2] = move(t[2], birth)
            t[15] = move(t[15], birth)
            t[11] = move(t[11], birth) if t[11] else t[11]
            if t[17]:
                t[17] = max(move(t[17], birth), t[15])
        elif t[0] == "EVT":
            t[3] = move(t[3], births.get(t[4], ""))
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join("\t".join(t) + "\n" for t in lines))


class Partial(harness.Population):
    """A population whose FULL snapshots and first FIRST days are imported
    before `serve`; the rest (`later`, backdated) while the server answers."""

    def load_into(self, db, work_dir):
        self.generate(work_dir)
        files = self.files()
        seq = lambda f: int(os.path.basename(f).split("-")[1])  # noqa: E731
        self.later = [f for f in files if seq(f) > FIRST + 1]
        for f in self.later:
            backdate(f)
        now = [f for f in files if seq(f) <= FIRST + 1]
        p = subprocess.run([harness.VISURA, "import", "--quiet", "--db", db] + now,
                           capture_output=True, text=True)
        check(p.returncode == 0, f"visura import failed: {p.returncode}\n{p.stderr}")


def importer(db, files, done, errors):
    """Imports the files one by one (each file one commit), counting them."""
    for f in files:
        p = subprocess.run([harness.VISURA, "import", "--quiet", "--db", db, f],
                           capture_output=True, text=True)
        if p.returncode != 0:
            errors.append(f"{os.path.basename(f)}: {p.returncode} {p.stderr[-300:]}")
            return
        done[0] += 1


def pub(*xs):
    return all(x is not None for x in xs)


def series_consistent(doc, what, bad):
    """Each territory of a series of population and flows: the balance
    identities between its indicators and months."""
    ind = {x["indicatore"]: x["serie"] for x in doc["indicatori"]}
    checked = 0
    for k, terr in enumerate(ind["population"]):
        v = {name: [p["valore"] for p in ind[name][k]["punti"]] for name in ind}
        for p in range(len(v["population"])):
            b, d, r, c = (v[n][p] for n in ("births", "deaths", "registrations",
                                             "cancellations"))
            nat, mig = v["natural_balance"][p], v["migratory_balance"][p]
            checked += pub(b, d, nat) + pub(r, c, mig)
            if pub(b, d, nat) and b - d != nat:
                bad.append(f"{what} {terr['codice']} month {p}: {b} - {d} != {nat}")
            if pub(r, c, mig) and r - c != mig:
                bad.append(f"{what} {terr['codice']} month {p}: {r} - {c} != {mig}")
            if p and pub(v["population"][p - 1], nat, mig, v["population"][p]):
                checked += 1
                if v["population"][p - 1] + nat + mig != v["population"][p]:
                    bad.append(f"{what} {terr['codice']} month {p}: {v['population'][p - 1]} + "
                               f"{nat} + {mig} != {v['population'][p]}")
    return checked


def balance_consistent(doc, what, bad):
    """The balance table's rows: start + flows = end, natural and
    migratory balances, and each month's start the end of the month
    before (sex by sex)."""
    end = {}
    checked = 0
    for r in doc["righe"]:
        sex, v = r[5], r[6:]
        start, b, d, nat, i1, i2, i3, o1, o2, o3, mig, fin = v
        if pub(*v):
            checked += 3
            if start + nat + mig != fin or b - d != nat or i1 + i2 + i3 - o1 - o2 - o3 != mig:
                bad.append(f"{what} {r[3]} {sex}: {v}")
        checked += sex in end and pub(end[sex], start)
        if sex in end and pub(end[sex], start) and end[sex] != start:
            bad.append(f"{what} {r[3]} {sex}: starts at {start}, the month before ended at "
                       f"{end[sex]}")
        end[sex] = fin
    return checked


FLOWS = "population,births,deaths,natural_balance,registrations,cancellations,migratory_balance"


def test_stats_while_importing():
    pop = Partial(persons=20000, comuni=POOL, seed=5, days=DAYS)
    # threshold 2 (the floor allowed): most flows published, so checked
    with Server(population=pop, stats_threshold_min=2) as srv:
        a = srv.admin()
        check(len(pop.later) >= 50, f"deltas left to import: {len(pop.later)}")
        done, errors = [0], []
        th = threading.Thread(target=importer, args=(srv.db, pop.later, done, errors))
        queries = [f"{q}&threshold=2" for q in (
            f"/api/v1/stats/series?indicator={FLOWS}&comuni={POOL}&by=comune",
            f"/api/v1/stats/series?indicator={FLOWS}&comuni={POOL}",
            f"/api/v1/stats/series?indicator={FLOWS}&by=provincia",
            f"/api/v1/stats/tables?table=bilancio&comuni={COMUNI[0]}",
            f"/api/v1/stats/tables?table=bilancio&comuni={POOL}",
            f"/api/v1/stats/series?indicator={FLOWS}&comuni={COMUNI[1]}",
            f"/api/v1/stats/tables?table=posas&comuni={COMUNI[1]}&date=2026-02-01",
            f"/api/v1/stats/tables?table=famiglie&comuni={POOL}&date=2026-02-01",
        )]
        status, bad = {}, []

        def ask(url):
            """One answer: its identities checked (0 when not 200)."""
            res = a.get(url)
            status[res.status] = status.get(res.status, 0) + 1
            if res.status != 200:
                bad.append(f"{url}: {res.status} {res.body[:200]!r}")
                return 0
            if "series" in url:
                return series_consistent(res.json, url, bad)
            return balance_consistent(res.json, url, bad) if "bilancio" in url else 0

        during, answers, checked_during = 0, 0, 0
        t0 = time.monotonic()
        th.start()
        while th.is_alive():
            before = done[0]
            n = ask(queries[answers % len(queries)])
            answers += 1
            if done[0] > before:
                during += 1
                checked_during += n
        th.join()
        took = time.monotonic() - t0
        # Then each question once more on the whole register: while the
        # imports run only January is complete, and how many answers fit
        # in them depends on the machine's speed; these make sure the
        # checker itself checked something, whatever that speed.
        checked_after = sum(ask(q) for q in queries)
        print(f"{done[0]} imports committed in {took:.1f} s; {answers} answers "
              f"({status}), {during} of them while an import committed; identities checked "
              f"{checked_during} in those, {checked_after} after; {len(bad)} wrong")
        check(not errors, f"imports: {errors[:3]}")
        check(done[0] == len(pop.later), f"imports committed: {done[0]} of {len(pop.later)}")
        # not vacuous: imports did commit while the statistics were read,
        # and identities were checked in those answers and after
        check(during >= 10, f"answers during which an import committed: {during}")
        check(checked_during >= 1, f"identities checked while imports committed: {checked_during}")
        # (one pass over January and February of the two municipalities,
        # their pool and their province checks 43 on this population)
        check(checked_after >= 40, f"identities checked after the imports: {checked_after}")
        check(not bad, f"{len(bad)} answers not 200 or not consistent: {bad[:4]}")


if __name__ == "__main__":
    run_tests(globals())
