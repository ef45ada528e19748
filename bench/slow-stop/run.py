#!/usr/bin/env python3
"""How long a server's stop (SIGTERM) takes while it does a slow job for
an administrator, on the runner of the slow jobs — by default the access
trail's verification (GET /api/v1/audit/verify: every record read and
hashed again, about 20 µs a record here, so minutes on a trail of
millions) — and what the administrator is answered: BUILD, then
REF_BUILD (e.g. an older commit's) in the same run, each on a copy of
the same database.

usage: bench/slow-stop/run.py WORK BUILD [REF_BUILD] [AFTER_S]   (REF_BUILD "": none)
ROUTE=PATH (environment): another GET, e.g. a statistics table's first
computation, /api/v1/stats/tables?table=strasa_cittadinanza_eta&comuni=036023

WORK is a work directory that bench/lookup/run.sh kept (KEEP=1: its v.db,
with the trail its look-ups wrote, and the first admin's password that
bench/lookup/setup.py set), its server stopped.  For each build: the
database's files copied into a new directory, `visura serve` on them,
the admin's login, the GET in a thread, SIGTERM AFTER_S seconds later
(default 1), the seconds from SIGTERM to the server's exit, its exit
status and the answer.  Then, on the same copy, the time of the whole
job alone: `visura audit verify`, or the same GET to a server of its own
(not stopped).
"""
import os, shutil, signal, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from client import Client, free_port  # noqa: E402

work = os.path.abspath(sys.argv[1])
builds = [sys.argv[2]] + [b for b in sys.argv[3:4] if b]
after = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
tmp = tempfile.mkdtemp(prefix="visura-verify-stop.")
os.chmod(tmp, 0o755)
PASSWORD = "Benchmark password 2026!"
ROUTE = os.environ.get("ROUTE", "/api/v1/audit/verify")


def start(build, d):
    visura = os.path.join(os.path.abspath(build), "visura")
    port = free_port()
    log = os.path.join(d, "server.log")
    user = ["--user", "visura-bench"] if os.geteuid() == 0 else []
    if user:
        subprocess.run(["chown", "-R", "visura-bench:", d], check=True)
    srv = subprocess.Popen([visura, "serve", "--db", os.path.join(d, "v.db"), "--self-signed",
                            os.path.join(d, "tls"), "--listen", f"127.0.0.1:{port}",
                            "--log-file", log] + user,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            if Client(port).call("GET", "/healthz")[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.05)
    else:
        raise SystemExit(f"{build}: the server did not start; its log: {log}")
    admin = Client(port)
    admin.ok("POST", "/api/v1/auth/login", {"username": "admin", "password": PASSWORD})
    return srv, admin


def run(build):
    visura = os.path.join(os.path.abspath(build), "visura")
    d = tempfile.mkdtemp(prefix=os.path.basename(os.path.normpath(build)) + "-", dir=tmp)
    os.chmod(d, 0o777)
    for f in os.listdir(work):
        if f.startswith("v.db"):
            shutil.copy2(os.path.join(work, f), d)
    srv, admin = start(build, d)
    got = {}

    def verify():
        try:
            got["answer"] = admin.call("GET", ROUTE)
        except OSError as e:
            got["answer"] = (None, str(e))
    t = threading.Thread(target=verify)
    t.start()
    time.sleep(after)
    term = time.monotonic()
    srv.send_signal(signal.SIGTERM)
    rc = srv.wait()
    took = time.monotonic() - term
    t.join()
    st, body = got["answer"]
    msg = body.get("error", {}).get("message") if isinstance(body, dict) and "error" in body \
        else str(body)[:160]
    t0 = time.monotonic()
    if ROUTE == "/api/v1/audit/verify":
        v = subprocess.run([visura, "audit", "verify", "--db", os.path.join(d, "v.db")],
                           capture_output=True, text=True)
        alone = v.stdout.strip() or v.stderr.strip()
    else:
        srv, admin = start(build, d)
        alone = admin.call("GET", ROUTE)[0]
        srv.send_signal(signal.SIGTERM)
        srv.wait()
    whole = time.monotonic() - t0
    print(f"{build}: SIGTERM {after:.1f} s into {ROUTE}; exited {took:.2f} s after it "
          f"(status {rc}); answered {st} {msg}; the whole job alone: {whole:.2f} s ({alone})",
          flush=True)


print(f"load average before: {' '.join(open('/proc/loadavg').read().split()[:3])}")
for b in builds:
    run(b)
shutil.rmtree(tmp, ignore_errors=True)
