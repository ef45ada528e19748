#!/usr/bin/env python3
"""bench/stats/cache.py — what the server's kept protection of
strasa_cittadinanza_eta saves (issue #17, src/stats/cache.h): each of
strasa_cittadinanza_eta, strasa and strasa_cittadinanza of one member of a
province and of the whole province, asked of a freshly started server
(cold: nothing kept) then again (warm), and the three one after the other
(the second and third reuse the first's protection); each build's server
in turn, on the same database.  Per request: wall time (the answer's) and
the server's CPU (user + system of the process, /proc), and the load.

usage: bench/stats/cache.py WORK PERSONS BUILD [BASELINE_BUILD]
  WORK keeps the register (gen + init + import of PERSONS persons over
  COMUNI, DAYS days from 2026-01-01, seed 1) and is reused when it holds
  one of as many persons; BUILD and BASELINE_BUILD are build directories
  (their `visura`).  Environment: COMUNI (default the 47 municipalities
  of Modena, 036001-036047; the member is the first), DAYS (760), DATE
  (2027-01-01), THRESHOLD (3), ONLY (comma-separated tables), MEMBER_ONLY=1
  (not the province), SETUP_ONLY=1 (the register only).

  RESTART=1: the protection kept across a restart (migration 26, the
  database's stats_protection): for each build, on a copy of WORK's
  register of its own (WORK/restart-LABEL.db, made afresh: a build that
  migrates it is not the other's), the member's strasa_cittadinanza_eta
  asked of a fresh server, the server restarted (SIGTERM, started again
  on the same database), then the three tables asked again: the first
  of them is what a restart costs."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "e2e"))
import harness  # noqa: E402

work, persons, build = sys.argv[1], int(sys.argv[2]), sys.argv[3]
baseline = sys.argv[4] if len(sys.argv) > 4 else None
comuni = os.environ.get("COMUNI", ",".join(f"036{i:03d}" for i in range(1, 48)))
days = os.environ.get("DAYS", "760")
date = os.environ.get("DATE", "2027-01-01")
thr = os.environ.get("THRESHOLD", "3")
tables = os.environ.get("ONLY", "strasa_cittadinanza_eta,strasa,strasa_cittadinanza").split(",")
db = os.path.join(work, "v.db")
cred = os.path.join(work, "admin.json")


def visura(b):
    return os.path.abspath(os.path.join(b, "visura"))


def setup():
    os.makedirs(work, exist_ok=True)
    try:
        if json.load(open(cred))["persons"] == persons:
            print(f"set-up: the register of {work} again")
            return
    except (OSError, ValueError, KeyError):
        pass
    t0 = time.monotonic()
    v, feed = visura(build), os.path.join(work, "feed")
    subprocess.run([v, "gen", "--persons", str(persons), "--comune", comuni, "--seed", "1",
                    "--days", days, "--out", feed], check=True, capture_output=True)
    out = subprocess.run([v, "init", "--db", db, "--admin-name", "Bench Admin", "--admin-email",
                          "bench@example.org"], check=True, capture_output=True, text=True).stdout
    import re
    m = re.search(r"primo amministratore: (\S+)\s+password temporanea .*?: (\S+)\s*$", out, re.M)
    files = sorted(os.listdir(feed), key=lambda f: (f.split("-")[1], f.split("-")[0]))
    for i in range(0, len(files), 500):
        subprocess.run([v, "import", "--quiet", "--db", db] +
                       [os.path.join(feed, f) for f in files[i:i + 500]], check=True,
                       capture_output=True)
    subprocess.run(["rm", "-rf", feed], check=True)
    json.dump({"persons": persons, "user": m.group(1), "temp": m.group(2), "password": None},
              open(cred, "w"))
    print(f"set-up: {persons} persons, {len(comuni.split(','))} municipalities, {days} days: "
          f"{time.monotonic() - t0:.0f} s, database {os.path.getsize(db) >> 20} MB")


class Bench(harness.Server):
    """`visura serve` on WORK's register, or a copy of it (its first
    admin's credentials kept)."""

    def __init__(self, on=None):
        super().__init__(test_clock=False)
        self.db = on or db

    def request(self, method, path, body=None, headers=None, timeout=30):
        return super().request(method, path, body, headers, timeout=3600)

    def _maybe_renew_admin(self, c, me):
        # no test clock here; the password kept as soon as it is changed
        k = json.load(open(cred))
        k["password"] = self.admin_password
        json.dump(k, open(cred, "w"))

    def start(self):
        c = json.load(open(cred))
        self.admin_user, self.admin_temp, self.admin_password = c["user"], c["temp"], c["password"]
        harness.give_to_test_user(work)
        self._serve()


def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def ask(srv, a, name, c):
    c0, t0 = cpu(srv.proc.pid), time.monotonic()
    r = a.get(f"/api/v1/stats/tables?table={name}&comuni={c}&date={date}&threshold={thr}")
    wall, used = time.monotonic() - t0, cpu(srv.proc.pid) - c0
    harness.check(r.status == 200, f"{name} {c}: {r.status} {r.body[:300]!r}")
    # the server's own time for the answer (its log), without the client's
    import re
    ms = re.findall(r'msg="richiesta".*? route=\S*stats\S* status=200 ms=([\d.]+)', srv.log_text())
    wall = float(ms[-1]) / 1000 if ms else wall
    hidden = sum(x is None for row in r.json["righe"] for x in row)
    return wall, used, hidden


def load():
    return open("/proc/loadavg").read().split()[0]


def run(b, label):
    harness.VISURA = visura(b)
    member, province = comuni.split(",")[0], comuni
    parts = [(member, f"member {member}"), (province, "province")]
    for c, what in parts[:1] if os.environ.get("MEMBER_ONLY") else parts:
        for name in tables:
            with Bench() as srv:
                a = srv.admin()
                for turn in ("cold", "warm"):
                    w, u, h = ask(srv, a, name, c)
                    print(f"{label:9} {what:16} {name:24} {turn}: {w:6.2f} s wall, {u:6.2f} s CPU, "
                          f"{h} hidden (load {load()})", flush=True)
        with Bench() as srv:
            a = srv.admin()
            seq = [f"{n} {ask(srv, a, n, c)[1]:.2f}" for n in tables]
            print(f"{label:9} {what:16} one after the other (s CPU): {', '.join(seq)} "
                  f"(load {load()})", flush=True)


def run_restart(b, label):
    harness.VISURA = visura(b)
    member = comuni.split(",")[0]
    copy = os.path.join(work, f"restart-{label}.db")
    for f in (copy, copy + ".trail", copy + "-wal", copy + "-shm"):
        if os.path.exists(f):
            os.remove(f)
    harness.db_copy(db, work, f"restart-{label}")
    for f in (copy, copy + ".trail", copy + ".signing-key", copy + ".secrets-key"):
        if os.path.exists(f):
            os.chmod(f, 0o600)
    with Bench(copy) as srv:
        a = srv.admin()
        w, u, h = ask(srv, a, tables[0], member)
        print(f"{label:9} member {member} {tables[0]:24} fresh server: {w:6.2f} s wall, "
              f"{u:6.2f} s CPU, {h} hidden (load {load()})", flush=True)
        srv.restart()
        a = srv.admin()
        for name in tables:
            w, u, h = ask(srv, a, name, member)
            print(f"{label:9} member {member} {name:24} after a restart: {w:6.2f} s wall, "
                  f"{u:6.2f} s CPU, {h} hidden (load {load()})", flush=True)


setup()
if os.environ.get("SETUP_ONLY"):
    sys.exit(0)
if os.environ.get("RESTART"):
    # the admin's own password set once on WORK's register, by the
    # reference build when there is one (this build would migrate it)
    if json.load(open(cred))["password"] is None:
        harness.VISURA = visura(baseline or build)
        with Bench() as srv:
            srv.admin()
    for b, label in [(build, "this")] + ([(baseline, "baseline"), (build, "this")]
                                         if baseline else []):
        run_restart(b, label)
    sys.exit(0)
run(build, "this")
if baseline:
    run(baseline, "baseline")
    run(build, "this")
