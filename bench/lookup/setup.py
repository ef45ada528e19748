#!/usr/bin/env python3
"""Prepares the lookup benchmark: a database of N persons, a body with an
agreement and a purpose, an operator with a live session.  Writes into WORK:
cookie.txt (session cookie), cfs.txt (codici fiscali to look up),
names.txt (surname|name|birth_year to search).  Leaves the server running
(pid in server.pid).

With $AUTH=voucher also the PDND side (docs/pdnd.md): RSA keys made here,
one standing in for PDND's signing key (its JWKS given to the server), one
for the body's client; an API account of the body, the PDND purpose mapped
to the benchmark's purpose and that account, the client's public key
registered.  Writes pdnd-key.pem, consumer-key.pem and pdnd.json (what
bench/lookup/vouchers.py needs to sign vouchers and tracking evidence).

usage: setup.py VISURA WORK PERSONS PORT [DB]   (DB: a URI; default WORK/v.db)
$THREADS: the server's worker threads (default 2).  $SHARED_DB: a URI
given to the server as --shared-db.  $MORE_PORTS: more
instances on the same database, one per port (server2.pid, ...).
$ACCOUNTS: operators with a session (cookies.txt), default 1.
$CACHE: a directory keeping the register once imported (SQLite only):
when it holds one of PERSONS persons (CACHE/persons), its database and
key files are copied into WORK instead of generating and importing again;
otherwise they are copied there after the import, with the first admin's
password and the sampled rows (rows.tsv), so that runs can be repeated on
the same register.  Delete the directory when done (10,000,000 persons:
several GB).
$NICE (non-empty): the generation and the import at nice 10.
$NAMES: "year" (default) or "date": the name searches by surname + name +
birth year, or + full birth date (names.txt's third field).
$DAYS: the register's days of events (gen --days; not with $CACHE or
$ALSO_COMUNE), e.g. for the statistics tables of bench/slow-stop.
"""
import http.client, json, os, random, ssl, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import client as bench_client  # noqa: E402

visura, work, persons, port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
db = sys.argv[5] if len(sys.argv) > 5 else os.path.join(work, "v.db")
feed = os.path.join(work, "feed")

# $NICE: the generation and the import (the set-up's long steps) at nice
# 10, not the server (it would inherit it).
def run(*args):
    pre = ["nice", "-n", "10"] if os.environ.get("NICE") and args[0] in ("gen", "import") else []
    return subprocess.run([*pre, visura, *args], check=True, capture_output=True, text=True).stdout

import glob, re, shutil
cache = os.environ.get("CACHE", "")
if cache and (os.environ.get("ALSO_COMUNE") or db.startswith("postgres:")):
    raise SystemExit("CACHE: SQLite only, without ALSO_COMUNE")
def cached():
    try:
        return int(open(os.path.join(cache, "persons")).read()) == persons
    except (OSError, ValueError):
        return False
from_cache = bool(cache) and cached()
# ALSO_COMUNE (bench/import-serving): a second municipality of as many
# persons generated in the same run, so that no codice fiscale is in both
# (two runs of the generator can give one to two persons); only Modena's
# snapshot is imported here.
also = os.environ.get("ALSO_COMUNE", "")
if from_cache:
    pass
elif also:
    run("gen", "--persons", str(2 * persons), "--comune", "036023," + also, "--seed", "5",
        "--out", feed)
else:
    days = ["--days", os.environ["DAYS"]] if os.environ.get("DAYS") else []
    run("gen", "--persons", str(persons), "--comune", "036023", "--seed", "5", *days,
        "--out", feed)
# Older builds (bench/lookup/instr.sh measures them too) lack some options:
# they are passed only where the build's help names them.
def knows(cmd, opt):
    r = subprocess.run([visura, cmd, "--help"], capture_output=True, text=True)
    return opt in r.stdout + r.stderr
admin_args = ["--admin-name", "Bench Admin", "--admin-email", "bench@example.org"] if knows("init", "--admin-name") else []
# The database's files: the database, its WAL if any, its keys (v.db.*).
def db_files(d):
    return [f for f in glob.glob(glob.escape(d) + "*") if not f.endswith("-shm")]
rnd = random.Random(7)
rows = []
if from_cache:
    for f in db_files(os.path.join(cache, "v.db")):
        shutil.copy(f, os.path.join(os.path.dirname(db), os.path.basename(f)))
    admin_pw = open(os.path.join(cache, "admin.txt")).read().strip()
    with open(os.path.join(cache, "rows.tsv"), encoding="utf-8") as f:
        rows = [line.split("\t") for line in f]
else:
    admin_pw = re.search(r"^(?:first admin|primo amministratore): \S+ .*: (\S+)$", run("init", "--db", db, *admin_args), re.M).group(1)
    run("import", "--db", db, "--quiet", os.path.join(feed, "036023-000001-FULL.tsv"))
    with open(os.path.join(feed, "036023-000001-FULL.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("PER\t") and rnd.random() < 20000 / persons:
                rows.append(line.split("\t"))
    if cache:
        shutil.rmtree(feed)
        os.makedirs(cache, exist_ok=True)
        for f in db_files(db):
            shutil.copy(f, os.path.join(cache, "v.db" + f[len(db):]))
        open(os.path.join(cache, "admin.txt"), "w").write(admin_pw + "\n")
        with open(os.path.join(cache, "rows.tsv"), "w", encoding="utf-8") as f:
            f.writelines("\t".join(r) for r in rows)
        open(os.path.join(cache, "persons"), "w").write(f"{persons}\n")
run("ente", "add", "--db", db, "--name", "Bench body", "--kind", "police",
    "--tax-code", "00221940364", "--hours", "always")
op_pw = run("user", "add", "--db", db, "--username", "bench.op", "--role", "operator",
            "--ente-id", "1", "--name", "Bench Operator", "--cf", "RSSMRA80A01F257G",
            "--email", "op@example.it").strip().rsplit(": ", 1)[1]
voucher = os.environ.get("AUTH", "session") == "voucher"
pdnd_args = []
if voucher:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from vouchers import ISSUER, AUDIENCE, jwk, new_key
    from cryptography.hazmat.primitives import serialization
    keys = {"pdnd-key.pem": new_key(), "consumer-key.pem": new_key()}
    for name, k in keys.items():
        with open(os.path.join(work, name), "wb") as f:
            f.write(k.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
        os.chmod(os.path.join(work, name), 0o600)
    with open(os.path.join(work, "pdnd-jwks.json"), "w") as f:
        json.dump({"keys": [jwk(keys["pdnd-key.pem"], "pdnd-1")]}, f)
    with open(os.path.join(work, "consumer.jwk"), "w") as f:
        json.dump(jwk(keys["consumer-key.pem"], "bench-client-1"), f)
    # before the server starts: the command line writes the database as
    # root, which must not leave it files the server's account cannot write
    run("pdnd", "key-add", "--db", db, "--ente-id", "1",
        "--jwk", os.path.join(work, "consumer.jwk"))
    pdnd_args = ["--pdnd-jwks", os.path.join(work, "pdnd-jwks.json"),
                 "--pdnd-issuer", ISSUER, "--pdnd-audience", AUDIENCE]
# Run as root (this machine, CI), the server must be told the user to become
# (docs/deployment.md): a system account made here when missing, owning WORK.
user_args = []
def serve_knows_user():
    r = subprocess.run([visura, "serve", "--print-config"], capture_output=True, text=True)
    return any(l.split("=")[0].strip() == "user" for l in r.stdout.splitlines())
if os.geteuid() == 0 and serve_knows_user():
    import pwd
    try:
        pw = pwd.getpwnam("visura-bench")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        "visura-bench"], check=True)
        pw = pwd.getpwnam("visura-bench")
    for top, dirs, files in os.walk(work):
        for n in [top] + [os.path.join(top, x) for x in dirs + files]:
            os.lchown(n, pw.pw_uid, pw.pw_gid)
    user_args = ["--user", "visura-bench"]
# $SHARED_DB: the companion database of the shared state (--shared-db).
shared_args = ["--shared-db", os.environ["SHARED_DB"]] if os.environ.get("SHARED_DB") else []
# $SERVER_ENV: "NAME=VALUE ..." in the server's environment only, not in
# nginx's or wrk's (e.g. GLIBC_TUNABLES=glibc.malloc.tcache_count=64).
server_env = dict(os.environ)
for kv in os.environ.get("SERVER_ENV", "").split():
    k, _, v = kv.partition("=")
    server_env[k] = v
def serve(port, name):
    """One instance: server.pid and server.log (NAME "server"), or NAME.pid
    and NAME.log."""
    p = subprocess.Popen([visura, "serve", *user_args, "--db", db, "--self-signed", os.path.join(work, "tls"),
                          "--listen", f"127.0.0.1:{port}",
                          "--threads", os.environ.get("THREADS", "2"),
                          # A benchmark is an extraction by design: the
                          # anti-extraction rules stay on (they run on every
                          # request) with thresholds it cannot reach.
                          "--alert-persons-hour", "100000000", "--alert-persons-hard", "100000000",
                          "--alert-sequential", "64", "--alert-repeat-no-case", "16",
                          "--metrics-listen", "", *pdnd_args, *shared_args,
                          "--log-file", os.path.join(work, name + ".log")],
                         stdout=subprocess.DEVNULL, env=server_env)
    open(os.path.join(work, name + ".pid"), "w").write(str(p.pid))
    for _ in range(100):
        try:
            c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return p
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the instance on port {port} did not answer")

ctx = ssl._create_unverified_context()
server = serve(port, "server")

class Client(bench_client.Client):
    def __init__(self):
        super().__init__(port)
    def first_login(self, user, pw):
        self.ok("POST", "/api/v1/auth/login", {"username": user, "password": pw})
        self.ok("POST", "/api/v1/auth/password",
                  {"current_password": pw, "new_password": "Benchmark password 2026!"})

admin = Client()
admin.first_login("admin", admin_pw)
admin.ok("POST", "/api/v1/convenzioni", {
    "ente_id": 1, "reference": "bench", "comuni": ["036023"], "valid_from": "2000-01-01",
    "profile": ["identity", "residence", "family", "citizenship", "civil_status", "vital_status"],
    "max_results": 20, "per_minute": 1000000000, "per_day": 1000000000,
    "body_per_minute": 1000000000, "body_per_day": 1000000000,
    "purpose_per_minute": 1000000000, "purpose_per_day": 1000000000})
admin.ok("POST", "/api/v1/convenzioni/1/purposes",
           {"code": "BENCH", "description": "benchmark", "legal_basis": "test"})
op = Client()
op.first_login("bench.op", op_pw)
open(os.path.join(work, "cookie.txt"), "w").write(op.cookie)
# $ACCOUNTS (default 1): as many operators of the body, each with a live
# session; cookies.txt holds one cookie a line, bench.op's first.
cookies = [op.cookie]
for i in range(2, int(os.environ.get("ACCOUNTS", "1")) + 1):
    pw = run("user", "add", "--db", db, "--username", f"bench.op{i}", "--role", "operator",
             "--ente-id", "1", "--name", f"Bench Operator {i}", "--cf", "RSSMRA80A01F257G",
             "--email", f"op{i}@example.it").strip().rsplit(": ", 1)[1]
    o = Client()
    o.first_login(f"bench.op{i}", pw)
    cookies.append(o.cookie)
open(os.path.join(work, "cookies.txt"), "w").write("\n".join(cookies) + "\n")
if voucher:
    import uuid
    admin.ok("POST", "/api/v1/accounts", {"username": "bench.api", "role": "api",
                                            "full_name": "Bench API", "email": "api@example.it",
                                            "ente_id": 1})
    client_id, pdnd_purpose = str(uuid.uuid4()), str(uuid.uuid4())
    admin.ok("POST", "/api/v1/pdnd/purposes", {"pdnd_purpose": pdnd_purpose,
                                                 "client_id": client_id, "purpose_id": 1,
                                                 "username": "bench.api"})
    with open(os.path.join(work, "pdnd.json"), "w") as f:
        json.dump({"client_id": client_id, "purpose_id": pdnd_purpose, "pdnd_kid": "pdnd-1",
                   "consumer_kid": "bench-client-1"}, f)

with open(os.path.join(work, "cfs.txt"), "w") as f:
    for r in rows:
        f.write(r[3] + "\n")
from urllib.parse import quote
by_date = os.environ.get("NAMES", "year") == "date"
with open(os.path.join(work, "names.txt"), "w") as f:
    for r in rows:
        f.write(f"{quote(r[4])}|{quote(r[5])}|{r[7] if by_date else r[7][:4]}\n")
# $MORE_PORTS (bench/lookup INSTANCES=N, PostgreSQL): one more instance on
# the same database per port, each its own process (server2.pid, ...),
# sharing the keys of $VISURA_STATE_DIR and the certificate.
for i, p in enumerate(os.environ.get("MORE_PORTS", "").split(), start=2):
    serve(int(p), f"server{i}")
print(f"ready: {len(rows)} codici fiscali, server pid {server.pid}")
