#!/usr/bin/env python3
"""How long a server's stop (SIGTERM) takes while a municipality's pushed
FULL snapshot is being imported, and what the pushing municipality is
answered: BUILD, then REF_BUILD (another build, e.g. of an older commit)
in the same run, each on a new database of its own.

usage: bench/import-stop/run.py PERSONS BUILD [REF_BUILD] [AFTER_S]   (REF_BUILD "": none)

Generates one FULL snapshot of PERSONS persons (036023, seed 5) once; for
each build: `visura init`, `visura serve` (self-signed, metrics on a
port of its own), the first admin's login, a body of kind municipality
with an api account and a token; pushes the file (POST /api/v1/imports),
waits until /metrics says the imports' runner is running it, then AFTER_S
seconds more (default 2), sends SIGTERM and times the server's exit.
Prints, per build: the push's status and message, the seconds from
SIGTERM to exit, the exit status, and the persons of 036023 in the
database afterwards (0: nothing of the import written).
BACKEND=postgres: each build's register is a database of its own on one
throwaway PostgreSQL server (scripts/pg.sh), the keys in a state
directory of its own ($VISURA_STATE_DIR).
"""
import http.client, os, re, signal, sqlite3, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from client import Client, free_port  # noqa: E402

persons, builds = int(sys.argv[1]), [sys.argv[2]] + [b for b in sys.argv[3:4] if b]
after = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
work = tempfile.mkdtemp(prefix="visura-import-stop.")
postgres = os.environ.get("BACKEND", "sqlite") == "postgres"
repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
pgdir = os.path.join(work, "pg") if postgres else None
if postgres:
    os.chmod(work, 0o755)   # the server's owner (postgres) reaches its directory
    subprocess.run([os.path.join(repo, "scripts", "pg.sh"), "start", pgdir], check=True,
                   capture_output=True)


def binary(build):
    return os.path.join(os.path.abspath(build), "visura")



feed_dir = os.path.join(work, "feed")
t = time.monotonic()
subprocess.run([binary(builds[0]), "gen", "--persons", str(persons), "--comune", "036023",
                "--seed", "5", "--days", "0", "--out", feed_dir], check=True, capture_output=True)
feed = os.path.join(feed_dir, sorted(os.listdir(feed_dir))[0])
print(f"feed: {feed} ({os.path.getsize(feed) / 1e6:.0f} MB, {time.monotonic() - t:.0f} s to make)",
      flush=True)


def running_imports(mport):
    c = http.client.HTTPConnection("127.0.0.1", mport, timeout=5)
    c.request("GET", "/metrics")
    m = re.search(r'visura_runner_jobs\{runner="imports",state="running"\} (\d+)',
                  c.getresponse().read().decode())
    return int(m.group(1)) if m else 0


def one(build):
    v = binary(build)
    d = os.path.join(work, os.path.basename(os.path.abspath(build)) + f"-{time.monotonic_ns()}")
    os.makedirs(d)
    env = dict(os.environ)
    if postgres:
        name = "stop_" + str(time.monotonic_ns())
        db = "postgres:" + subprocess.run([os.path.join(repo, "scripts", "pg.sh"), "createdb",
                                           pgdir, name], check=True, capture_output=True,
                                          text=True).stdout.strip()
        env["VISURA_STATE_DIR"] = os.path.join(d, "state")
        os.makedirs(env["VISURA_STATE_DIR"])
    else:
        db = os.path.join(d, "v.db")
    out = subprocess.run([v, "init", "--db", db, "--admin-name", "Bench Admin", "--admin-email",
                          "bench@example.org"], check=True, capture_output=True, text=True,
                         env=env).stdout
    admin_pw = re.search(r"^(?:first admin|primo amministratore): \S+ .*: (\S+)$", out,
                         re.M).group(1)
    port, mport = free_port(), free_port()
    log = os.path.join(d, "server.log")
    user = []
    if os.geteuid() == 0:   # run as root, the server must be told whom to become
        import pwd
        try:
            pw = pwd.getpwnam("visura-bench")
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                            "/usr/sbin/nologin", "visura-bench"], check=True)
            pw = pwd.getpwnam("visura-bench")
        os.chown(work, pw.pw_uid, pw.pw_gid)
        for top, dirs, files in os.walk(d):
            for n in [top] + [os.path.join(top, x) for x in dirs + files]:
                os.lchown(n, pw.pw_uid, pw.pw_gid)
        user = ["--user", "visura-bench"]
    srv = subprocess.Popen([v, "serve", *user, "--db", db, "--self-signed", os.path.join(d, "tls"),
                            "--listen", f"127.0.0.1:{port}",
                            "--metrics-listen", f"127.0.0.1:{mport}", "--log-file", log],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    for _ in range(200):
        try:
            if Client(port).call("GET", "/healthz")[0] == 200:
                break
        except OSError:
            time.sleep(0.05)
    else:
        raise SystemExit(f"{build}: the server did not start; its log: {log}")
    admin = Client(port)
    admin.call("POST", "/api/v1/auth/login", {"username": "admin", "password": admin_pw})
    admin.call("POST", "/api/v1/auth/password",
               {"current_password": admin_pw, "new_password": "Benchmark password 2026!"})
    st, ente = admin.call("POST", "/api/v1/enti", {"name": "Comune di Modena",
                                                   "kind": "municipality",
                                                   "tax_code": "00221940364",
                                                   "hours": "always", "comune": "036023"})
    assert st == 201, ente
    st, acc = admin.call("POST", "/api/v1/accounts", {"username": "modena.feed", "role": "api",
                                                      "full_name": "Anagrafe di Modena",
                                                      "email": "feed@example.org",
                                                      "ente_id": ente["id"]})
    assert st == 201, acc
    st, tok = admin.call("POST", f"/api/v1/accounts/{acc['account']['id']}/tokens",
                         {"name": "feed"})
    assert st == 201, tok
    body = open(feed, "rb").read()
    got = {}

    def push():
        got["answer"] = Client(port).call(
            "POST", "/api/v1/imports", raw=body,
            headers={"Authorization": "Bearer " + tok["token"],
                     "Content-Type": "text/tab-separated-values",
                     "X-Visura-On-Behalf-Of": "sistema anagrafe"})

    pt = threading.Thread(target=push)
    t0 = time.monotonic()
    pt.start()
    while not running_imports(mport) and pt.is_alive():
        time.sleep(0.01)
    t_run = time.monotonic()
    time.sleep(after)
    t_term = time.monotonic()
    srv.send_signal(signal.SIGTERM)
    rc = srv.wait()
    t_exit = time.monotonic()
    pt.join()
    st, ans = got["answer"]
    count = "SELECT count(*) FROM person WHERE comune = '036023'"
    if postgres:
        n = int(subprocess.run(["psql", db.split(":", 1)[1], "-qAtc", count], check=True,
                               capture_output=True, text=True).stdout)
    else:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        n = con.execute(count).fetchone()[0]
        con.close()
    msg = ans.get("error", {}).get("message", "") if isinstance(ans, dict) else ""
    print(f"{build}: import running {t_run - t0:.1f} s after the push began; SIGTERM after "
          f"{after:.1f} s more; exited {t_exit - t_term:.2f} s after SIGTERM (status {rc}); "
          f"push answered {st} {msg or (ans.get('persons') if isinstance(ans, dict) else '')}; "
          f"persons of 036023 in the database after: {n}", flush=True)


load = os.getloadavg()
print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
try:
    for b in builds:
        one(b)
finally:
    if postgres:
        subprocess.run([os.path.join(repo, "scripts", "pg.sh"), "stop", pgdir], check=False,
                       capture_output=True)
