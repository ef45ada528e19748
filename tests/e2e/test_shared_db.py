#!/usr/bin/env python3
"""End-to-end: `shared_db` (the companion database of the shared state,
docs/deployment.md) is a PostgreSQL database beside a PostgreSQL `db`.
Beside a SQLite database, or naming a SQLite file, it is refused by
`visura serve` and `serve --check` before anything is opened (config_check,
src/common/config.c), in Italian, with the usage status (2), whether it
comes from the configuration file or from the command line.  No other
command takes the option: `serve` is the only one that opens the shared
state (src/cli: store_shared_open).

The refusal of store_shared_open itself (src/store/store.c) stands behind
this one: `serve` never reaches it with such a configuration."""
import os
import shutil
import subprocess
import tempfile

import harness
from harness import check, eq, english_words, free_port, run_tests

REFUSAL = "shared_db: un database PostgreSQL (postgres:CONNINFO) accanto a un db PostgreSQL"
# Never connected to: the refusal comes first.
PG_ELSEWHERE = "postgres:host=/nonexistent-visura dbname=visura_sh"


def _serve(work, *extra, config=None, timeout=60):
    """`visura serve` with a self-signed certificate in work/tls, on a free
    port, with `config` (text) as its configuration file when given."""
    args = [harness.VISURA, "serve", "--self-signed", os.path.join(work, "tls"),
            "--listen", f"127.0.0.1:{free_port()}", "--metrics-listen", "",
            *harness.serve_user_args()]
    if config is not None:
        path = os.path.join(work, "visura.conf")
        with open(path, "w", encoding="utf-8") as f:
            f.write(config)
        args += ["--config", path]
    harness.give_to_test_user(work)
    return subprocess.run(args + list(extra), capture_output=True, text=True, timeout=timeout)


def _refused(p, what):
    eq(p.returncode, 2, f"{what}: exit status (stdout {p.stdout!r}, stderr {p.stderr!r})")
    check(REFUSAL in p.stderr, f"{what}: the refusal says why: {p.stderr!r}")
    check(not english_words(p.stderr), f"{what}: the refusal is Italian: {p.stderr!r}")
    check("configurazione corretta" not in p.stdout, f"{what}: not taken: {p.stdout!r}")


def _work():
    return tempfile.mkdtemp(prefix="visura-e2e-shared-")


def test_serve_refuses_shared_db_beside_sqlite():
    """A SQLite register with shared_db: the server does not start, and
    the database is not even opened (not created, nothing migrated)."""
    work = _work()
    try:
        db = os.path.join(work, "visura.db")
        p = _serve(work, config=f"db = {db}\nshared_db = {PG_ELSEWHERE}\n")
        _refused(p, "serve, shared_db in the configuration file")
        check(not os.path.exists(db), "the SQLite database was opened before the refusal")
        p = _serve(work, "--db", db, "--shared-db", PG_ELSEWHERE)
        _refused(p, "serve --db SQLITE --shared-db postgres:...")
        check(not os.path.exists(db), "the SQLite database was opened before the refusal")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_serve_refuses_shared_db_beside_an_existing_sqlite_register():
    """The same with a register made by `visura init`: the refusal, the
    register untouched (its bytes the same)."""
    work = _work()
    try:
        db = os.path.join(work, "visura.db")
        p = subprocess.run([harness.VISURA, "init", "--db", db, "--admin-name", harness.ADMIN_NAME,
                            "--admin-email", harness.ADMIN_EMAIL], capture_output=True, text=True)
        eq(p.returncode, 0, f"visura init: {p.stdout}{p.stderr}")
        with open(db, "rb") as f:
            before = f.read()
        p = _serve(work, "--db", db, "--shared-db", PG_ELSEWHERE)
        _refused(p, "serve on an initialised SQLite register")
        with open(db, "rb") as f:
            check(f.read() == before, "the register was written before the refusal")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_check_refuses_shared_db_beside_sqlite():
    """`serve --check` says the same, from either source of the option,
    and takes the configuration once shared_db is gone."""
    work = _work()
    try:
        db = os.path.join(work, "visura.db")
        _refused(_serve(work, "--check", config=f"db = {db}\nshared_db = {PG_ELSEWHERE}\n"),
                 "serve --check, shared_db in the configuration file")
        _refused(_serve(work, "--check", "--db", db, "--shared-db", PG_ELSEWHERE),
                 "serve --check --shared-db")
        # the option given empty on the command line puts it away
        p = _serve(work, "--check", "--shared-db", "", config=f"db = {db}\nshared_db = {PG_ELSEWHERE}\n")
        eq(p.returncode, 0, f"serve --check without shared_db: {p.stdout}{p.stderr}")
        check("configurazione corretta" in p.stdout, f"taken: {p.stdout!r}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_shared_db_must_itself_be_postgres():
    """A PostgreSQL register with a SQLite file as shared_db: refused too
    (before any connection: the register's server is not asked)."""
    work = _work()
    try:
        sqlite = os.path.join(work, "shared.db")
        _refused(_serve(work, "--check", "--db", "postgres:host=/nonexistent-visura dbname=visura",
                        "--shared-db", sqlite),
                 "serve --check, a SQLite file as shared_db")
        _refused(_serve(work, config="db = postgres:host=/nonexistent-visura dbname=visura\n"
                                     f"shared_db = {sqlite}\n"),
                 "serve, a SQLite file as shared_db")
        check(not os.path.exists(sqlite), "the SQLite file was created")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_shared_db_taken_as_the_suite_serves():
    """The suite's own layout passes the same check: a database of the
    suite's back end, with its companion on PostgreSQL (harness.
    shared_database), without one on SQLite."""
    work = _work()
    try:
        db = harness.new_database(work, "visura")
        shared = harness.shared_database(db)
        extra = ["--shared-db", shared] if shared else []
        p = _serve(work, "--check", "--db", db, *extra)
        eq(p.returncode, 0, f"serve --check {db} {extra}: {p.stdout}{p.stderr}")
        check("configurazione corretta" in p.stdout, f"taken: {p.stdout!r}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    run_tests(globals())
