#!/usr/bin/env python3
"""Harness of the end-to-end tests: a real `visura serve` over HTTPS.

Python 3 standard library only.  A test file does

    from harness import *
    def test_something():
        with Server() as srv:
            admin = srv.admin()
            ...
    if __name__ == "__main__":
        run_tests(globals())

and is run as `python3 test_x.py PATH/TO/visura` (VISURA_DATA_DIR set).

Server   a temporary directory, `visura init` (the first admin's temporary
         password is read from its output), `visura serve --self-signed
         --test-clock true` on a free port, ready when /healthz answers;
         stopped with SIGTERM and required to exit 0 with no sanitizer
         report in its log.
Client   one user agent: a cookie jar, the X-CSRF-Token header on every
         state-changing request, or a bearer token.

Server(share=srv) a second `visura serve` on srv's database (no init): two
         instances of one service (PostgreSQL).
Server(population=dict(persons=N, comuni="036023,036005", seed=S, days=D))
         also runs `visura gen` and `visura import` (snapshot, then the
         daily deltas) between `init` and `serve`; srv.population is a
         Population: a model of the imported register (versions of persons
         and households, events, the snapshot's records) to check answers.
srv.create_agreement(ente_id, profile, ...) an agreement with one purpose;
srv.access_log() the access records read read-only from the database;
audit_verify(db) runs `visura audit verify`.

The back end: SQLite files, or with VISURA_TEST_BACKEND=postgres a fresh
PostgreSQL database per Server on a throwaway server (scripts/pg.sh; the
one of VISURA_TEST_PG_DIR when set, else one started on first use and
stopped at exit).  db_query(db, sql) / db_exec(db, sql) / db_copy(db, tag)
read, change and copy a database on either back end (for tampering tests).
"""
import atexit
import base64
import datetime
import hashlib
import hmac
import http.client
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgwire  # noqa: E402  (the tests' own PostgreSQL connections)
import contract  # noqa: E402  (the API contract: every answer is checked against it)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lint"))
from italian import english_words  # noqa: E402  (every error message is Italian)

VISURA = None            # path of the binary, set by run_tests()
SANITIZER_FINDINGS = []  # (log path, excerpt) of every sanitizer report seen

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "runtime error:", "UndefinedBehaviorSanitizer", "==ERROR:")

DAY = 86400
# The first admin, as `visura init` is told (its name and e-mail are required).
ADMIN_NAME = "Maria Rossi"
ADMIN_EMAIL = "anagrafe@comune.example.it"


class TestFailure(AssertionError):
    pass


def check(cond, what):
    if not cond:
        raise TestFailure(what)


def eq(got, want, what=""):
    if got != want:
        raise TestFailure(f"{what}: expected {want!r}, got {got!r}")


def one_record(srv, before, what, **want):
    """Exactly one access record was written after id `before`, with the
    wanted fields."""
    rows = srv.access_log(before)
    check(len(rows) == 1, f"{what}: expected exactly one access record, got {len(rows)}: "
                          f"{[(r['id'], r['operation'], r['outcome']) for r in rows]}")
    for k, v in want.items():
        eq(rows[0][k], v, f"{what}: access record field {k}")
    return rows[0]


# ---------------------------------------------------------------- times

def parse_time(s):
    """The API's timestamps: 2026-01-02T03:04:05Z -> epoch seconds."""
    if s is None:
        return None
    d = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
    return int(d.replace(tzinfo=datetime.timezone.utc).timestamp())


def _last_sunday(year, month):
    nxt = datetime.date(year + (month == 12), month % 12 + 1, 1)
    d = nxt - datetime.timedelta(days=1)
    return d - datetime.timedelta(days=(d.weekday() - 6) % 7)


def rome_offset(t):
    """Europe/Rome UTC offset (seconds) at epoch t: CET, CEST from the last
    Sunday of March 01:00 UTC to the last Sunday of October 01:00 UTC."""
    y = datetime.datetime.fromtimestamp(t, datetime.timezone.utc).year
    start = datetime.datetime.combine(_last_sunday(y, 3), datetime.time(1),
                                      datetime.timezone.utc).timestamp()
    end = datetime.datetime.combine(_last_sunday(y, 10), datetime.time(1),
                                    datetime.timezone.utc).timestamp()
    return 7200 if start <= t < end else 3600


def rome_local(t):
    return datetime.datetime.fromtimestamp(t + rome_offset(t), datetime.timezone.utc)


DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


# ---------------------------------------------------------------- TOTP

def totp(secret_b32, t, step=30, digits=6):
    """RFC 6238 (HMAC-SHA1) code of time t."""
    s = secret_b32.upper().rstrip("=")
    key = base64.b32decode(s + "=" * (-len(s) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(t) // step), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    v = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % (10 ** digits)
    return str(v).zfill(digits)


# ---------------------------------------------------------------- codice fiscale

_ODD = {c: v for c, v in zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                              [1, 0, 5, 7, 9, 13, 15, 17, 19, 21] +
                              [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3,
                               6, 8, 12, 14, 16, 10, 22, 25, 24, 23])}


def _even(c):
    return int(c) if c.isdigit() else ord(c) - 65


def cf_with_check(first15):
    s = sum(_ODD[c] if i % 2 == 0 else _even(c) for i, c in enumerate(first15))
    return first15 + chr(65 + s % 26)


_cf_counter = itertools.count(1)


def new_cf():
    """A valid, distinct codice fiscale (born in Modena, F257)."""
    n = next(_cf_counter)
    year = 50 + n % 40
    month = "ABCDEHLMPRST"[n // 40 % 12]
    day = 1 + n // 480 % 28
    return cf_with_check(f"RSSMRA{year:02d}{month}{day:02d}F257")


# ---------------------------------------------------------------- HTTP

class Result:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers          # list of (name, value)
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def code(self):
        """The error code of an error answer, or None."""
        if isinstance(self.json, dict) and isinstance(self.json.get("error"), dict):
            return self.json["error"].get("code")
        return None

    def __getitem__(self, k):
        return self.json[k]

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


def expect(res, status, code=None, what=""):
    """Asserts the status (and the error code) of an answer."""
    if res.status != status or (code is not None and res.code != code):
        raise TestFailure(f"{what}: expected {status} {code or ''}, got {res.status} "
                          f"{res.body[:400]!r}")
    return res


def english_message(res):
    """The English words of an error answer's message (tests/lint/italian.py),
    or []: every text a person reads is Italian, error messages too."""
    j = res.json
    if not (isinstance(j, dict) and isinstance(j.get("error"), dict)):
        return []
    return english_words(j["error"].get("message"))


def error_shape_ok(res):
    j = res.json
    return (isinstance(j, dict) and list(j) == ["error"] and isinstance(j["error"], dict)
            and isinstance(j["error"].get("code"), str) and j["error"]["code"]
            and isinstance(j["error"].get("message"), str) and j["error"]["message"])


def free_port():
    """A port free now, for a server the test starts later.  Not one the
    kernel would pick (bind to 0): those are the ephemeral range, which
    every outgoing connection of the tests running meanwhile draws from, so
    one could take the port before the server binds it (seen: the OIDC
    provider, whose port is fixed before visura starts, failed to start
    under -j2).  Below that range (Linux: 32768 and up), chosen at random,
    only outgoing connections are never given it."""
    lo = 32768
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    for _ in range(200):
        port = 10000 + secrets.randbelow(max(lo - 10000, 1))
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise TestFailure("no free port below the ephemeral range")


# ---------------------------------------------------------------- the database

BACKEND = os.environ.get("VISURA_TEST_BACKEND", "sqlite")
if BACKEND not in ("sqlite", "postgres"):
    raise SystemExit(f"VISURA_TEST_BACKEND must be sqlite or postgres, not {BACKEND!r}")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PG_SH = os.path.join(REPO, "scripts", "pg.sh")
_pg = {"dir": None}
_db_seq = itertools.count(1)

if BACKEND == "postgres":
    # Files that belong with a PostgreSQL database (signing key, CA) are
    # kept in $VISURA_STATE_DIR, one per process of tests.
    os.environ["VISURA_STATE_DIR"] = tempfile.mkdtemp(prefix="visura-state-")
    atexit.register(shutil.rmtree, os.environ["VISURA_STATE_DIR"], True)


def pg_server_dir():
    """The throwaway PostgreSQL server of this process (started once)."""
    if _pg["dir"]:
        return _pg["dir"]
    d = os.environ.get("VISURA_TEST_PG_DIR")
    if not d:
        d = tempfile.mkdtemp(prefix="visura-pg-")
        os.rmdir(d)
        p = subprocess.run([PG_SH, "start", d], capture_output=True, text=True,
                           env=dict(os.environ, PG_TEST_FSYNC="off"))
        check(p.returncode == 0, f"scripts/pg.sh start failed: {p.stdout}{p.stderr}")
        atexit.register(subprocess.run, [PG_SH, "stop", d], capture_output=True)
    _pg["dir"] = d
    return d


def new_database(work_dir, tag, backend=None):
    """The URI of a fresh, empty database for one server or test (on the
    suite's back end unless told)."""
    if (backend or BACKEND) == "sqlite":
        return os.path.join(work_dir, f"{tag}.db")
    return "postgres:" + _pg_createdb(_pg_new_name(tag))


def _pg_new_name(tag):
    return f"t{os.getpid()}_{next(_db_seq)}_{re.sub(r'[^a-z0-9_]', '_', tag.lower())}"[:63]


def _pg_base():
    """The conninfo of the tests' server without its dbname value."""
    d = pg_server_dir()
    with open(os.path.join(d, "port")) as f:
        port = f.read().strip()
    with open(os.path.join(d, "user")) as f:
        user = f.read().strip()
    return f"host=127.0.0.1 port={port} user={user} dbname="


def _pg_createdb(name, template=None):
    """Creates database name on the tests' server (as `scripts/pg.sh
    createdb` does, through a kept connection: a third of its time), empty
    or a copy of database template; its conninfo."""
    base = _pg_base()
    check(re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name) is not None, f"bad database name {name!r}")
    copy = f" TEMPLATE {template}" if template else ""
    _pg_run("postgres:" + base + "visura", f"CREATE DATABASE {name}{copy} STRATEGY FILE_COPY")
    return base + name


def shared_database(db):
    """The companion database of a PostgreSQL database (visura serve
    --shared-db: the shared state every look-up rewrites), made on first
    use, one per database; None on SQLite or with VISURA_TEST_PG_SHARED=0
    (the shared state in the database itself)."""
    if not db.startswith("postgres:") or os.environ.get("VISURA_TEST_PG_SHARED") == "0":
        return None
    conninfo = _conninfo(db)
    name = re.search(r"dbname=(\S+)", conninfo).group(1)[:60] + "_sh"
    if name not in _shared_made:
        _pg_createdb(name)
        _shared_made.add(name)
    return "postgres:" + re.sub(r"dbname=\S+", "dbname=" + name, conninfo)


_shared_made = set()


def _conninfo(db):
    return db.split(":", 1)[1]


# Columns read back as integers (SQLite gives ints, psql text).
_INT_COLUMNS = {"id", "rowid", "import_id", "seq", "at", "account_id", "ente_id", "convenzione_id", "purpose_id", "status",
                "last_id", "access_id", "created_at", "expires_at", "used_at", "created_by"}


def _sqlite(db, ro=False):
    """A connection to a SQLite database with its access trail's file
    attached, as the server attaches it (unqualified names reach both)."""
    import sqlite3
    if ro:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        con.execute("ATTACH DATABASE ? AS trail", (f"file:{db}.trail?mode=ro",))
    else:
        con = sqlite3.connect(db)
        con.execute("ATTACH DATABASE ? AS trail", (db + ".trail",))
    return con


def db_query(db, sql, params=()):
    """Rows of a read-only query as dicts; ? parameters (text or int)."""
    if not db.startswith("postgres:"):
        import sqlite3
        con = _sqlite(db, ro=True)
        try:
            con.row_factory = sqlite3.Row
            return [dict(r) for r in con.execute(sql, params).fetchall()]
        finally:
            con.close()
    rows = _pg_run(db, _psql_text(sql, params))
    for r in rows:
        for k in r:
            if r[k] is None:
                r[k] = ""          # as psql's CSV wrote a NULL
            elif k in _INT_COLUMNS and r[k] != "":
                r[k] = int(r[k])
    return rows


# One kept connection per database (the newest few), for the tests' own
# reads and writes: pgwire.py says why not psql.
_pg_conns = {}
_PG_KEEP = 6


def _pg_run(db, text):
    conninfo = _conninfo(db)
    for attempt in (1, 2):
        con = _pg_conns.pop(conninfo, None)
        fresh = con is None
        try:
            if fresh:
                con = pgwire.Connection(conninfo)
            rows = con.query(text)
        except (OSError, pgwire.PgError) as e:
            server_error = isinstance(e, pgwire.PgError) and e.sqlstate
            if con is not None and not server_error:
                con.sock.close()
            elif con is not None:
                _pg_keep(conninfo, con)
            # a kept connection lost (a server restarted): once more, anew
            if fresh or server_error or attempt == 2:
                failure = TestFailure(f"PostgreSQL: {e}\n  {text[:500]}")
                failure.sqlstate = server_error or None
                raise failure from None
            continue
        _pg_keep(conninfo, con)
        return rows


def _pg_keep(conninfo, con):
    _pg_conns[conninfo] = con
    while len(_pg_conns) > _PG_KEEP:
        _pg_conns.pop(next(iter(_pg_conns))).close()


def _psql_text(sql, params):
    """sql with its ? parameters written as literals (test data only)."""
    parts = sql.split("?")
    check(len(parts) == len(params) + 1, "parameter count")
    out = parts[0]
    for v, rest in zip(params, parts[1:]):
        out += (str(int(v)) if isinstance(v, int) else "'" + str(v).replace("'", "''") + "'") + rest
    return out


# A tamperer's change of a control record (account, body, agreement,
# purpose) behind a running server's back moves the control records'
# generation as every change does (src/store/cache.c): the server's cached
# copies then stop serving at its next request.  Without it a test reads
# the cached copy or not by chance (e2e_pg.test_trail_alerts failed once so).
CONTROL_GEN_BUMP = ("INSERT INTO control_gen (id, gen) VALUES (1, 1)"
                    " ON CONFLICT (id) DO UPDATE SET gen = control_gen.gen + 1")


def db_exec(db, *statements):
    """Runs statements that change a database (tests that tamper); a
    statement is SQL text or (SQL, parameters) with ? parameters."""
    statements = [st if isinstance(st, tuple) else (st, ()) for st in statements]
    if not db.startswith("postgres:"):
        con = _sqlite(db)
        try:
            for st in statements:
                con.execute(*st)
            con.commit()
        finally:
            con.close()
        return
    # Like a raw SQLite connection, foreign keys are not enforced: a
    # tamperer may delete what he likes.
    text = "BEGIN;\nSET LOCAL session_replication_role = replica;\n" + ";\n".join(
        _psql_text(sql, params) for sql, params in statements) + ";\nCOMMIT"
    _pg_run(db, text)


def db_block(db, table, ops=("INSERT", "UPDATE"), when=None):
    """Makes every `ops` write to `table` fail (a trigger; `when`: SQL over
    OLD/NEW that limits it), as a disk or a database that refuses writes
    would; returns the statements that lift it (db_exec them)."""
    cond = f" WHEN ({when})" if when else ""
    if db.startswith("postgres:"):
        db_exec(db, "CREATE OR REPLACE FUNCTION visura_test_block() RETURNS trigger"
                    " LANGUAGE plpgsql AS 'BEGIN RAISE EXCEPTION ''bloccato''; END'",
                f"CREATE TRIGGER block_{table} BEFORE {' OR '.join(ops)} ON {table}"
                f" FOR EACH ROW{cond} EXECUTE FUNCTION visura_test_block()")
        return [f"DROP TRIGGER block_{table} ON {table}"]
    db_exec(db, *[f"CREATE TRIGGER block_{table}_{op} BEFORE {op} ON {table}{cond}"
                  f" BEGIN SELECT RAISE(ABORT, 'bloccato'); END" for op in ops])
    return [f"DROP TRIGGER block_{table}_{op}" for op in ops]


def db_columns(db, table):
    """(name, is_integer) of every column of a table."""
    if not db.startswith("postgres:"):
        con = _sqlite(db, ro=True)
        try:
            return [(c[1], "INT" in c[2].upper()) for c in con.execute(f"PRAGMA table_info({table})")]
        finally:
            con.close()
    rows = db_query(db, "SELECT column_name, data_type FROM information_schema.columns"
                        " WHERE table_name = ? ORDER BY ordinal_position", (table,))
    return [(r["column_name"], r["data_type"] in ("bigint", "integer")) for r in rows]


def _pg_copy_idle(db, name):
    """Database name made a copy of db's database by CREATE DATABASE ...
    TEMPLATE, when no session but the harness's own kept one is connected
    to it (its server stopped): a file copy, about 0.1 s where pg_dump |
    psql takes 2 s and more.  PostgreSQL refuses a template with sessions
    on it (and a session opening during the copy waits for its end), so
    the copy is whole and consistent.  Its conninfo, or None when a
    session is on db (a server running): then the caller dumps."""
    conninfo = _conninfo(db)
    src = re.search(r"dbname=(\S+)", conninfo).group(1)
    mine = None
    con = _pg_conns.pop(conninfo, None)
    if con is not None:       # the harness's own session on db: closed first
        try:
            mine = int(con.query("SELECT pg_backend_pid() AS pid")[0]["pid"])
        except (OSError, pgwire.PgError):
            pass
        con.close()
    maint = "postgres:" + _pg_base() + "visura"
    # (an autovacuum worker on db is no reason to dump: CREATE DATABASE
    # ends it)
    others = _pg_run(maint, "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = "
                            f"'{src}' AND pid <> {mine or 0} AND backend_type = 'client backend'")
    if int(others[0]["n"]):
        return None
    try:
        # (it waits for the closed session's backend to end: < 0.1 s)
        return _pg_createdb(name, template=src)
    except TestFailure as e:
        if getattr(e, "sqlstate", None) == "55006":   # a session came meanwhile
            return None
        raise


def db_copy(db, work_dir, tag):
    """A copy of a database (while its server may run), with the files that
    belong with it (the signing key): its URI.  On PostgreSQL a database no
    server is connected to is copied as a template (_pg_copy_idle), one a
    server is on with pg_dump (a snapshot of it)."""
    if not db.startswith("postgres:"):
        import sqlite3
        dst = new_database(work_dir, tag)
        for src, to in ((db, dst), (db + ".trail", dst + ".trail")):  # the trail's file too
            a = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
            b = sqlite3.connect(to)
            try:
                a.backup(b)
            finally:
                a.close()
                b.close()
    else:
        name = _pg_new_name(tag)
        copied = _pg_copy_idle(db, name)
        dst = "postgres:" + (copied or _pg_createdb(name))
        if not copied:
            dump = subprocess.run(["pg_dump", "--no-owner", _conninfo(db)], capture_output=True)
            check(dump.returncode == 0, f"pg_dump failed: {dump.stderr!r}")
            p = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", _conninfo(dst)],
                               input=dump.stdout, capture_output=True)
            check(p.returncode == 0, f"psql restore failed: {p.stderr!r}")
    for suffix in (".signing-key", ".secrets-key"):
        src_key, dst_key = files_prefix(db) + suffix, files_prefix(dst) + suffix
        if os.path.exists(src_key):
            shutil.copyfile(src_key, dst_key)
    return dst


def files_prefix(db):
    """Where the files that belong with a database live (store_files_prefix)."""
    if not db.startswith("postgres:"):
        return db[7:] if db.startswith("sqlite:") else db
    name = re.search(r"dbname=(\S+)", db).group(1)
    return os.path.join(os.environ.get("VISURA_STATE_DIR", "."), "visura-" + name)


def unseal(key_path, b64):
    """Opens a value sealed by src/auth/sealed.c (libsodium secretbox, the
    key in hex in key_path) through libsodium itself (ctypes)."""
    import ctypes
    import ctypes.util
    lib = ctypes.CDLL(ctypes.util.find_library("sodium"))
    with open(key_path) as f:
        key = bytes.fromhex(f.read().strip())
    raw = base64.b64decode(b64)
    nonce, box = raw[:24], raw[24:]
    out = ctypes.create_string_buffer(len(box) - 16 + 1)
    rc = lib.crypto_secretbox_open_easy(out, box, ctypes.c_ulonglong(len(box)), nonce, key)
    check(rc == 0, "a sealed value that does not open under the secrets key")
    return out.raw[:len(box) - 16].decode()


# ---------------------------------------------------------------- the server

TEST_USER = "visura-test"


def serve_user_args():
    """Extra arguments of every `visura serve` the tests start: run as root
    (CI), a server must be told the user to become; it is `visura-test`, a
    system account without a shell, created here when missing."""
    if os.geteuid() != 0:
        return []
    import pwd
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", TEST_USER], capture_output=True)
        pwd.getpwnam(TEST_USER)   # made here or by a concurrent suite
    return ["--user", TEST_USER]


def give_to_test_user(path):
    """Makes a server's directory (and what is in it) the test user's, so
    that the server can use its database once it has dropped root."""
    if not serve_user_args():
        return
    import pwd
    pw = pwd.getpwnam(TEST_USER)
    for top, dirs, files in os.walk(path):
        for name in [top] + [os.path.join(top, n) for n in dirs + files]:
            os.lchown(name, pw.pw_uid, pw.pw_gid)


_server_seq = itertools.count(1)


class Server:
    """One `visura serve` on a fresh database.  Use as a context manager."""

    def __init__(self, test_clock=True, population=None, share=None, **options):
        """share: another (started) Server whose database this one serves
        too — a second instance of one service (PostgreSQL)."""
        self.test_clock = test_clock
        self.share = share
        self.options = options   # max_body_kb=4 -> --max-body-kb 4
        # A Population (or a dict of its arguments): generated and imported
        # into the database after `visura init`, before `serve`.
        if isinstance(population, dict):
            population = Population(**population)
        self.population = population
        self.proc = None
        self.dir = tempfile.mkdtemp(prefix="visura-e2e-")
        self.tag = f"s{next(_server_seq)}"
        self.db = share.db if share else new_database(self.dir, "visura")
        self.tls_dir = os.path.join(self.dir, "tls")
        self.log_path = os.path.join(self.dir, "server.log")
        self.port = None
        self.admin_user = "admin"
        self.admin_password = None
        self.admin_id = None
        self._admin = None
        self._ctx = None
        self._seq = itertools.count(1)

    # ---- lifecycle

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, et, ev, tb):
        if et is None:
            self.stop()
        else:
            try:
                self.stop()
            except Exception as e:   # the first failure is the one to report
                print(f"  (while stopping after a failure: {e})")
            print(f"  server log: {self.log_path}")
        if et is None and not os.environ.get("VISURA_E2E_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def start(self):
        if self.share is not None:
            if self.share.admin_password is None:
                self.share.admin()      # sets the first admin's own password
            self.admin_user, self.admin_password = self.share.admin_user, self.share.admin_password
            self.population = self.share.population
            self._serve()
            return
        p = subprocess.run([VISURA, "init", "--db", self.db, "--admin-name", ADMIN_NAME,
                            "--admin-email", ADMIN_EMAIL], capture_output=True, text=True)
        check(p.returncode == 0, f"visura init failed: {p.returncode}\n{p.stdout}\n{p.stderr}")
        m = re.search(r"primo amministratore: (\S+)\s+password temporanea .*?: (\S+)\s*$", p.stdout, re.M)
        check(m is not None, f"no first admin password in the output of init:\n{p.stdout}")
        self.admin_user, self.admin_temp = m.group(1), m.group(2)
        if self.population is not None:
            self.population.load_into(self.db, os.path.join(self.dir, "population"))
        self._serve()

    def restart(self):
        """Stops the server (SIGTERM) and starts it again on the same
        database and port: for what must survive a restart."""
        self.stop()
        self._serve(keep_port=True)

    def _serve(self, keep_port=False):
        for attempt in range(5):
            if not keep_port or attempt:
                self.port = free_port()
                self.metrics_port = free_port()
            args = [VISURA, "serve", "--db", self.db, "--self-signed", self.tls_dir,
                    "--listen", f"127.0.0.1:{self.port}",
                    "--metrics-listen", f"127.0.0.1:{self.metrics_port}"]
            shared = shared_database(self.db)
            if shared:
                args += ["--shared-db", shared]
            if self.test_clock:
                args += ["--test-clock", "true"]
            args += serve_user_args()
            give_to_test_user(self.dir)
            if self.db.startswith("postgres:") and serve_user_args():
                # pushed files are received in the state directory
                import pwd
                pw = pwd.getpwnam(TEST_USER)
                os.chown(os.environ["VISURA_STATE_DIR"], pw.pw_uid, pw.pw_gid)
            for k, v in self.options.items():
                flag = "--" + k.replace("_", "-")
                if flag in args:   # an option given by the test wins
                    i = args.index(flag)
                    del args[i:i + 2]
                args += [flag, str(v)]
            self.log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
            if self._wait_ready():
                return
            self.proc.wait(timeout=10)
            self.log.close()
            self.proc = None
        raise TestFailure(f"the server did not start; log:\n{self.log_text()[-3000:]}")

    def _wait_ready(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if os.path.exists(os.path.join(self.tls_dir, "cert.pem")):
                try:
                    r = self.request("GET", "/healthz", timeout=2)
                    if r.status == 200:
                        return True
                except (OSError, ssl.SSLError, http.client.HTTPException):
                    pass
            time.sleep(0.05)
        self.proc.kill()
        return False

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def stop(self, timeout=20):
        """SIGTERM; the server must exit 0 and its log hold no sanitizer
        report."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = "timeout"
        self.proc = None
        self.log.close()
        self.check_log()
        check(rc == 0, f"the server exited with {rc} after SIGTERM (log {self.log_path}):\n"
                       f"{self.log_text()[-2000:]}")

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def check_log(self):
        text = self.log_text()
        for marker in SANITIZER_MARKERS:
            i = text.find(marker)
            if i >= 0:
                excerpt = text[max(0, i - 200):i + 4000]
                SANITIZER_FINDINGS.append((self.log_path, excerpt))
                raise TestFailure(f"sanitizer report in the server log {self.log_path}:\n{excerpt}")

    # ---- TLS and raw access

    @property
    def cert(self):
        return os.path.join(self.tls_dir, "cert.pem")

    def ssl_context(self):
        """Verifies the server against its own self-signed certificate."""
        if self._ctx is None:
            ctx = ssl.create_default_context(cafile=self.cert)
            ctx.check_hostname = True
            self._ctx = ctx
        return self._ctx

    def connection(self, timeout=30):
        return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                           context=self.ssl_context())

    def tls_socket(self, context=None, timeout=10):
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        try:
            return (context or self.ssl_context()).wrap_socket(raw, server_hostname="127.0.0.1")
        except Exception:
            raw.close()
            raise

    def raw_exchange(self, data, timeout=15, context=None):
        """Sends raw bytes over TLS and reads until the server closes (or a
        full answer with Content-Length arrived).  Returns the bytes."""
        s = self.tls_socket(context, timeout)
        try:
            try:
                s.sendall(data)
            except (ssl.SSLEOFError, BrokenPipeError, ConnectionResetError):
                # A server refusing an oversized request may answer and
                # close before the client has sent it all: what it sent
                # (an answer, or nothing) is read all the same.
                try:
                    return read_http_answer(s)
                except (OSError, ssl.SSLError):
                    return b""
            return read_http_answer(s)
        finally:
            s.close()

    def request(self, method, path, body=None, headers=None, timeout=30):
        c = self.connection(timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            res = Result(r.status, r.getheaders(), r.read())
            # Every answer is held to the API contract (docs/openapi.yaml).
            bad = contract.contract().problems(method, path, res.status,
                                               res.header("Content-Type"), res.json,
                                               bool(res.body))
            if bad:
                raise TestFailure("answer outside the API contract (docs/openapi.yaml):\n  "
                                  + "\n  ".join(bad) + f"\n  answer: {res.body[:600]!r}")
            english = english_message(res)
            if english:
                raise TestFailure(f"{method} {path}: the error message is not Italian (words "
                                  f"{', '.join(english)}): {res.body[:400]!r}")
            return res
        finally:
            c.close()

    # ---- clock

    def advance(self, seconds):
        """Moves the server's clock forward and runs its periodic duties."""
        r = self.request("POST", "/api/v1/test/clock",
                         json.dumps({"advance_seconds": int(seconds)}),
                         {"Content-Type": "application/json"})
        expect(r, 200, what="test clock")
        return r.json

    def now(self):
        return parse_time(self.advance(0)["now"])

    def advance_to(self, t):
        """Moves the clock to epoch t (if it is in the future)."""
        d = t - self.now()
        if d > 0:
            self.advance(d)
        return self.now()

    # ---- clients and fixtures

    def client(self, bearer=None):
        return Client(self, bearer)

    def unique(self, prefix):
        return f"{prefix}{self.tag}x{next(self._seq)}"

    def admin(self):
        """A logged-in admin session with a personal password (the first
        admin's temporary password is changed at first use; an aged password
        is changed again).  The admin's own credentials are renewed when
        they would end within 60 days, so tests can let months pass."""
        c = self._admin
        if c is not None:
            me = c.get("/api/v1/auth/me")
            if me.status == 200 and not me["must_change_password"]:
                self._maybe_renew_admin(c, me.json)
                return c
        c = Client(self)
        if self.admin_password is None:
            r = expect(c.login(self.admin_user, self.admin_temp), 200, what="first admin login")
            check(r["must_change_password"], "the first admin must change the password")
            self.admin_password = new_password()
            expect(c.change_password(self.admin_temp, self.admin_password), 200,
                   what="first admin password change")
        else:
            r = expect(c.login(self.admin_user, self.admin_password), 200, what="admin login")
            if r["must_change_password"]:
                pw = new_password()
                expect(c.change_password(self.admin_password, pw), 200,
                       what="admin password change")
                self.admin_password = pw
        me = expect(c.get("/api/v1/auth/me"), 200, what="admin me")
        self.admin_id = me["id"]
        self._maybe_renew_admin(c, me.json)
        self._admin = c
        return c

    def _maybe_renew_admin(self, c, me):
        if parse_time(me["expires_at"]) - self.now() < 60 * DAY:
            expect(c.post(f"/api/v1/accounts/{me['id']}/renew"), 200, what="admin renew")

    def create_ente(self, name=None, hours="always", kind="other", **extra):
        body = {"name": name or self.unique("Ente "), "kind": kind,
                "tax_code": f"{secrets.randbelow(10**11):011d}", "hours": hours}
        body.update(extra)
        r = expect(self.admin().post("/api/v1/enti", body), 201, what="create ente")
        return r.json

    def create_account(self, role, ente_id=None, username=None, email=None, admin=None):
        """Creates an account through the API; returns (account, temporary
        password read from the outbox, or None for api accounts)."""
        admin = admin or self.admin()
        username = username or self.unique(role)
        email = email or f"{username}@example.org"
        body = {"username": username, "role": role, "full_name": f"Test {username}",
                "email": email}
        if role != "api":
            body["codice_fiscale"] = new_cf()
        if ente_id is not None:
            body["ente_id"] = ente_id
        r = expect(admin.post("/api/v1/accounts", body), 201, what=f"create {role}")
        acc = r["account"]
        pw = None if role == "api" else self.temp_password(email)
        return acc, pw

    def outbox(self, recipient=None):
        path = "/api/v1/outbox"
        if recipient:
            path += "?recipient=" + recipient.replace("@", "%40").replace("+", "%2B")
        return expect(self.admin().get(path), 200, what="outbox")["messages"]

    def temp_password(self, email):
        """The temporary password of the latest credentials mail to email:
        the outbox shows it to nobody, the database keeps it sealed; the
        tests open it with the secrets key, as only the relay's sender does."""
        rows = db_query(self.db, "SELECT body FROM mail WHERE recipient = ? AND kind = ?"
                                 " ORDER BY id DESC LIMIT 1", (email, "credentials"))
        check(rows, f"no credentials mail to {email}")
        mm = re.search(r"password temporanea: \{sealed:s1:([A-Za-z0-9+/=]+)\}", rows[0]["body"])
        check(mm is not None, f"no sealed password in the credentials mail: {rows[0]['body']!r}")
        return unseal(files_prefix(self.db) + ".secrets-key", mm.group(1))

    def user(self, role, ente_id=None, password=None):
        """A ready user: created, logged in, temporary password changed.
        Returns a Client with .account, .username, .password set."""
        acc, temp = self.create_account(role, ente_id)
        c = Client(self)
        expect(c.login(acc["username"], temp), 200, what=f"first login of {acc['username']}")
        pw = password or new_password()
        expect(c.change_password(temp, pw), 200, what="password change")
        c.account = acc
        return c

    # ---- agreements and the access trail

    def create_agreement(self, ente_id, profile, comuni=("036023", "036005"), mode="consult",
                         purpose_code="P1", **extra):
        """An agreement (by the admin) with one purpose; returns the
        agreement as answered plus "purpose_id".  Its rate limits are high
        unless given, so that tests making many requests are not throttled."""
        body = {"ente_id": ente_id, "reference": self.unique("CONV-"), "comuni": list(comuni),
                "valid_from": "2020-01-01", "mode": mode, "profile": list(profile),
                "per_minute": 1000000, "per_day": 1000000, "body_per_minute": 1000000,
                "body_per_day": 1000000, "purpose_per_minute": 1000000,
                "purpose_per_day": 1000000}
        body.update(extra)
        conv = expect(self.admin().post("/api/v1/convenzioni", body), 201,
                      what="create agreement").json
        p = expect(self.admin().post(f"/api/v1/convenzioni/{conv['id']}/purposes",
                                     {"code": purpose_code, "description": "test purpose",
                                      "legal_basis": "art. 37 DPR 223/1989"}),
                   201, what="create purpose").json
        conv["purpose_id"] = p["id"]
        return conv

    def access_log(self, after_id=0):
        """The access records with id > after_id, read directly (read-only,
        while the server runs), as dicts in id order."""
        return db_query(self.db, "SELECT * FROM access_log WHERE id > ? ORDER BY id", (after_id,))

    def access_last_id(self):
        rows = self.access_log_tail(1)
        return rows[0]["id"] if rows else 0

    def access_log_tail(self, n):
        rows = db_query(self.db, "SELECT * FROM access_log ORDER BY id DESC LIMIT ?", (n,))
        return list(reversed(rows))

    def events(self, kind=None, username=None, account_id=None):
        q = {}
        if kind:
            q["kind"] = kind
        if account_id:
            q["account_id"] = account_id
        elif username:
            q["username"] = username
        path = "/api/v1/security-events" + ("?" + urllib.parse.urlencode(q) if q else "")
        return expect(self.admin().get(path), 200, what="security events")["events"]

    def has_event(self, kind, username=None, account_id=None):
        return len(self.events(kind, username, account_id)) > 0


def audit_verify(db):
    """`visura audit verify --db DB`: (exit status, output)."""
    p = subprocess.run([VISURA, "audit", "verify", "--db", db], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


# ---------------------------------------------------------------- populations

PER_FIELDS = ("id", "valid_from", "cf", "surname", "name", "sex", "birth_date", "birth_place",
              "citizenships", "civil_status", "civil_status_date", "father", "mother",
              "reg_reason", "reg_date", "canc_reason", "canc_date", "destination",
              "family_id", "relationship")
FAM_FIELDS = ("id", "kind", "valid_from", "dug", "street", "civic", "civic_ext", "scala",
              "interno", "cap", "locality", "convivenza")
EVT_FIELDS = ("id", "type", "date", "person", "place", "other")


class Population:
    """A synthetic population made by `visura gen`, and a model of the
    register as `visura import` applies its files (FULL snapshots first,
    then the daily deltas in sequence order).

    persons[(comune, person id)] / families[(comune, family id)]: lists of
    versions (dicts with the fields of PER_FIELDS / FAM_FIELDS, plus
    "comune"), oldest first; snapshot: the PER records of the FULL files;
    events: the EVT records (with "comune" and "seq")."""

    def __init__(self, persons=3000, comuni="036023,036005", seed=1, days=0, date=None):
        self.n, self.comuni, self.seed, self.days, self.date = persons, comuni, seed, days, date
        self.dir = None
        self.persons, self.families, self.events, self.snapshot = {}, {}, [], []
        self.by_cf = {}

    def generate(self, out_dir):
        if self.dir is not None:
            return
        args = [VISURA, "gen", "--persons", str(self.n), "--comune", self.comuni,
                "--seed", str(self.seed), "--out", out_dir]
        if self.days:
            args += ["--days", str(self.days)]
        if self.date:
            args += ["--date", self.date]
        p = subprocess.run(args, capture_output=True, text=True)
        check(p.returncode == 0, f"visura gen failed: {p.returncode}\n{p.stderr}")
        self.dir = out_dir
        for f in self.files():
            self._parse(f)

    def files(self):
        """The files in import order."""
        names = [n for n in os.listdir(self.dir) if n.endswith(".tsv")]
        def key(n):
            comune, seq, _ = n.split("-", 2)
            return (int(seq), comune)
        return [os.path.join(self.dir, n) for n in sorted(names, key=key)]

    def load_into(self, db, work_dir):
        self.generate(work_dir)
        p = subprocess.run([VISURA, "import", "--quiet", "--db", db] + self.files(),
                           capture_output=True, text=True)
        check(p.returncode == 0, f"visura import failed: {p.returncode}\n{p.stdout}\n{p.stderr}")

    def _parse(self, path):
        comune = seq = kind = None
        with open(path, encoding="utf-8") as f:
            for line in f:
                t = line.rstrip("\n").split("\t")
                if t[0] == "HDR":
                    comune, seq, kind = t[3], int(t[5]), t[6]
                elif t[0] == "FAM":
                    rec = dict(zip(FAM_FIELDS, t[1:]), comune=comune)
                    self._add(self.families, (comune, rec["id"]), rec)
                elif t[0] == "PER":
                    rec = dict(zip(PER_FIELDS, t[1:]), comune=comune)
                    if kind == "FULL":
                        self.snapshot.append(rec)
                    self._add(self.persons, (comune, rec["id"]), rec)
                    self.by_cf[rec["cf"]] = (comune, rec["id"])
                elif t[0] == "EVT":
                    self.events.append(dict(zip(EVT_FIELDS, t[1:]), comune=comune, seq=seq))

    @staticmethod
    def _add(table, key, rec):
        versions = table.setdefault(key, [])
        if not versions or versions[-1] != rec:
            versions.append(rec)

    @staticmethod
    def _at(versions, date):
        best = None
        for v in versions:
            if v["valid_from"] <= date:
                best = v
        return best

    def person(self, cf, date=None):
        """The person's version valid on date (YYYY-MM-DD), or the latest."""
        vs = self.persons[self.by_cf[cf]]
        return vs[-1] if date is None else self._at(vs, date)

    def family(self, comune, fid, date=None):
        vs = self.families.get((comune, fid))
        if not vs:
            return None
        return vs[-1] if date is None else self._at(vs, date)

    def current_persons(self):
        return [vs[-1] for vs in self.persons.values()]

    def members(self, comune, fid):
        """The CFs of the registered persons whose latest version belongs to
        household fid of comune."""
        return sorted(p["cf"] for p in self.current_persons()
                      if p["comune"] == comune and p["family_id"] == fid and not p["canc_reason"])


def new_password():
    return "Vt!" + secrets.token_hex(6) + "-Qz9"


def raw_english_check(head, body):
    """The Italian check of english_message for an answer read off a raw
    socket (framing tests): a JSON error body with an English message fails."""
    if not re.search(rb"(?im)^content-type:\s*application/json", head):
        return
    try:
        j = json.loads(body)
    except ValueError:
        return
    english = english_message(Result(0, [], body)) if isinstance(j, dict) else []
    if english:
        raise TestFailure(f"the error message is not Italian (words {', '.join(english)}): "
                          f"{body[:400]!r}")


def read_http_answer(s):
    """Reads one HTTP answer (or whatever arrives until the peer closes)."""
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                return buf
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        if m:
            n = int(m.group(1))
            while len(rest) < n:
                chunk = s.recv(65536)
                if not chunk:
                    break
                rest += chunk
            raw_english_check(head, rest[:n])
            return head + b"\r\n\r\n" + rest
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return buf
            buf += chunk
    except (ConnectionResetError, ssl.SSLError, socket.timeout):
        return buf


def parse_raw(data):
    """(status, headers dict lower-cased, body) of raw answer bytes."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3})", lines[0]) if lines else None
    status = int(m.group(1)) if m else None
    hdr = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        hdr[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    return status, hdr, body


class Client:
    """A user agent: cookie jar, CSRF header on state changes, or bearer."""

    def __init__(self, server, bearer=None):
        self.server = server
        self.cookies = {}
        self.csrf = None
        self.bearer = bearer
        self.account = None
        self.username = None
        self.password = None
        self.last_set_cookie = None

    def request(self, method, path, body=None, headers=None, csrf=True, raw=None):
        h = {}
        data = None
        if raw is not None:
            data = raw
            h["Content-Type"] = "application/json"
        elif body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if self.bearer:
            h["Authorization"] = "Bearer " + self.bearer
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.csrf
        if headers:
            for k, v in headers.items():
                if v is None:
                    h.pop(k, None)
                else:
                    h[k] = v
        r = self.server.request(method, path, data, h)
        for sc in r.header_all("Set-Cookie"):
            self.last_set_cookie = sc
            first = sc.split(";")[0]
            name, _, value = first.partition("=")
            attrs = sc.lower()
            if not value or re.search(r"max-age=0\b", attrs):
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value.strip()
        if r.status == 200 and isinstance(r.json, dict) and isinstance(r.json.get("csrf_token"), str):
            self.csrf = r.json["csrf_token"]
        return r

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def login(self, username, password, totp_code=None):
        body = {"username": username, "password": password}
        if totp_code is not None:
            body["totp"] = totp_code
        r = self.post("/api/v1/auth/login", body, csrf=False)
        if r.status == 200:
            self.username, self.password = username, password
        return r

    def change_password(self, current, new):
        r = self.post("/api/v1/auth/password", {"current_password": current, "new_password": new})
        if r.status == 200:
            self.password = new
        return r

    def me(self):
        return self.get("/api/v1/auth/me")

    @property
    def session(self):
        return self.cookies.get("__Host-visura_session")


# ---------------------------------------------------------------- the runner

def run_tests(namespace, argv=None):
    """Runs every test_* function of namespace (in definition order, or the
    ones named on the command line after the binary); one line per test,
    then 'N passed, M failed'; exits 1 on any failure."""
    global VISURA
    argv = sys.argv if argv is None else argv
    if len(argv) < 2:
        print(f"usage: {argv[0]} PATH/TO/visura [TEST...]", file=sys.stderr)
        sys.exit(2)
    VISURA = os.path.abspath(argv[1])
    only = set(argv[2:])
    tests = [(n, f) for n, f in namespace.items()
             if n.startswith("test_") and callable(f) and (not only or n in only)]
    passed = failed = 0
    t0 = time.monotonic()
    for name, fn in tests:
        t = time.monotonic()
        try:
            fn()
        except Exception as e:
            failed += 1
            print(f"FAIL {name} ({time.monotonic() - t:.1f}s): {e}")
            if not isinstance(e, TestFailure):
                traceback.print_exc()
        else:
            passed += 1
            print(f"ok   {name} ({time.monotonic() - t:.1f}s)")
        sys.stdout.flush()
    if SANITIZER_FINDINGS:
        print(f"sanitizer findings: {len(SANITIZER_FINDINGS)} (see above)")
    print(f"total time {time.monotonic() - t0:.1f}s")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
