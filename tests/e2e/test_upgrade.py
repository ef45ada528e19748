#!/usr/bin/env python3
"""Upgrades: a database made by the previous release's own binary
(tests/fixtures/upgrade, see its README) is opened and migrated by this one
with its data intact and its access trail verifying; `visura init --check`
says what a migration would do and changes nothing on disk; a database
newer than this binary is refused with a clear message (on the suite's
back end: SQLite, or PostgreSQL as e2e_pg.test_upgrade).

usage: test_upgrade.py PATH/TO/visura [TEST...]
"""
import gzip
import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import check, eq, run_tests  # noqa: E402

FIXTURE = os.path.join(harness.REPO, "tests", "fixtures", "upgrade")


def visura(*args):
    p = subprocess.run([harness.VISURA, *args], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def unpack(work):
    """The fixture's database and trail file, unpacked into work."""
    db = os.path.join(work, "visura.db")
    for name in ("visura.db", "visura.db.trail"):
        with gzip.open(os.path.join(FIXTURE, name + ".gz")) as src, \
                open(os.path.join(work, name), "wb") as dst:
            shutil.copyfileobj(src, dst)
    return db


def snapshot(work):
    """Every file of a directory and its SHA-256."""
    out = {}
    for name in sorted(os.listdir(work)):
        with open(os.path.join(work, name), "rb") as f:
            out[name] = hashlib.sha256(f.read()).hexdigest()
    return out


def latest():
    rc, out = visura("init", "--check", "--db", os.path.join(tempfile.mkdtemp(), "none.db"))
    eq(rc, 0, out)
    return int(re.search(r"con lo schema alla versione (\d+)", out).group(1))


def table_counts(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.execute("ATTACH DATABASE ? AS trail", (f"file:{db}.trail?mode=ro",))
    try:
        names = [r[0] for r in con.execute(
            "SELECT name FROM main.sqlite_master WHERE type = 'table'"
            " UNION SELECT name FROM trail.sqlite_master WHERE type = 'table'")]
        return {n: con.execute(f"SELECT count(*) FROM {n}").fetchone()[0]
                for n in names if n != "schema_migrations"}
    finally:
        con.close()


def test_previous_release_database_migrated():
    work = tempfile.mkdtemp(prefix="visura-upgrade-")
    db = unpack(work)
    before = table_counts(db)
    check(before["access_log"] == 5 and before["person"] > 100, f"the fixture: {before}")
    version = sqlite3.connect(f"file:{db}?mode=ro", uri=True).execute(
        "SELECT max(version) FROM schema_migrations").fetchone()[0]

    files = snapshot(work)
    rc, out = visura("init", "--check", "--db", db)
    eq(rc, 0, f"init --check: {out}")
    check(f"schema alla versione {version}" in out and "nulla è stato cambiato" in out, out)
    eq(snapshot(work), files, "init --check changed nothing on disk")

    # Opened by this binary: migrated, nothing lost, the trail verifies.
    rc, out = visura("query", "--db", db, "counts")
    eq(rc, 0, f"this visura opens the previous release's database: {out}")
    after = table_counts(db)
    for table, n in before.items():
        eq(after.get(table), n, f"rows of {table} after the upgrade")
    now = sqlite3.connect(f"file:{db}?mode=ro", uri=True).execute(
        "SELECT max(version) FROM schema_migrations").fetchone()[0]
    eq(now, latest(), "migrated to this visura's schema")
    rc, out = harness.audit_verify(db)
    eq(rc, 0, f"audit verify of the upgraded trail: {out}")
    check("5 records" in out or re.search(r"\b5\b", out), f"the 5 access records: {out}")
    shutil.rmtree(work, ignore_errors=True)


def trail_indexes(db):
    """The indexes of the trail's file and of the database file: {name: SQL}."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.execute("ATTACH DATABASE ? AS trail", (f"file:{db}.trail?mode=ro",))
    try:
        return {schema: dict(con.execute(
            f"SELECT name, sql FROM {schema}.sqlite_master WHERE type = 'index'"
            " AND sql IS NOT NULL")) for schema in ("main", "trail")}
    finally:
        con.close()


# The indexes the trail's searches read (migration 25; issue #20), each
# searched in id order (the rowid after the column): the person's records,
# the account's, the body's, the time range's.
SEARCHED = {"access_subject_cf": "(cf)", "access_log_account": "(account_id)",
            "access_log_ente": "(ente_id)", "access_log_at": "(at)",
            # and the subjects of a record, read for the foreign key at each
            # record a retention purge deletes (migration 32)
            "access_subject_access": "(access_id)"}


def searched_indexes_only(ix, what):
    """The trail's file holds the searches' indexes, on their one column
    each, the database file none of them."""
    eq(set(ix["trail"]), set(SEARCHED), f"{what}: the trail's indexes: {ix}")
    for name, cols in SEARCHED.items():
        check(ix["trail"][name].replace(" ", "").endswith(cols.replace(" ", "")),
              f"{what}: {name} on {cols}: {ix['trail'][name]}")
    eq(set(ix["main"]) & set(SEARCHED), set(), f"{what}: none in the database file: {ix}")


def test_trail_indexes_searched():
    """Migrations 24, 25 and 32 (SQLite): the trail's file of an existing
    deployment ends with the indexes the trail's searches read, and the
    subjects' by record (migration 32), and no other
    (access_log_account, (account_id, at) before, rebuilt on account_id
    alone; access_log_ente new), none in the database file, and the trail
    written before still verifies; a new database the same."""
    work = tempfile.mkdtemp(prefix="visura-upgrade-ix-")
    db = unpack(work)
    before = trail_indexes(db)
    check({"access_log_at", "access_log_account"} <= set(before["trail"]),
          f"the fixture's trail has the old indexes: {before}")
    rc, out = visura("query", "--db", db, "counts")
    eq(rc, 0, f"migrated: {out}")
    searched_indexes_only(trail_indexes(db), "migrated")
    rc, out = harness.audit_verify(db)
    eq(rc, 0, f"audit verify of the trail written before: {out}")
    db2 = os.path.join(work, "new.db")
    rc, out = visura("init", "--db", db2, "--admin-name", harness.ADMIN_NAME,
                     "--admin-email", harness.ADMIN_EMAIL)
    eq(rc, 0, f"init: {out}")
    searched_indexes_only(trail_indexes(db2), "a new database")
    shutil.rmtree(work, ignore_errors=True)


def migration_names(top):
    """{version: name} of every migration of this release, from a database
    it makes."""
    work = tempfile.mkdtemp(prefix="visura-upgrade-new-")
    db = os.path.join(work, "latest.db")   # SQLite, as the fixture (on either back end's run)
    rc, out = visura("init", "--db", db, "--admin-name", harness.ADMIN_NAME,
                     "--admin-email", harness.ADMIN_EMAIL)
    eq(rc, 0, f"init: {out}")
    con = sqlite3.connect(db)
    names = dict(con.execute("SELECT version, name FROM schema_migrations"))
    con.close()
    shutil.rmtree(work, ignore_errors=True)
    eq(max(names), top, "a new database is at the latest schema version")
    return names


def test_init_check_names_the_migrations():
    """The previous release's database (or, when it already has every
    migration of this release, the same with its latest one taken back):
    --check lists each migration it would apply and leaves every file as
    it was."""
    work = tempfile.mkdtemp(prefix="visura-upgrade-")
    db = unpack(work)
    top = latest()
    names = migration_names(top)
    con = sqlite3.connect(db)
    have = con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
    check(have <= top, f"the fixture ({have}) is not newer than this release ({top})")
    if have == top:
        con.execute("DELETE FROM schema_migrations WHERE version = ?", (top,))
        con.commit()
        have = max(v for v in names if v < top)
    con.close()
    files = snapshot(work)
    rc, out = visura("init", "--check", "--db", db)
    eq(rc, 0, f"init --check: {out}")
    check(f"schema alla versione {have}" in out, f"the version it is at: {out}")
    # the versions this release has (a branch may lack one another gave)
    for v in sorted(v for v in names if v > have):
        check(f"migrazione {v}: {names[v]}" in out, f"migration {v} it would apply: {out}")
    eq(snapshot(work), files, "init --check changed nothing on disk")
    # A backup is taken by the release that runs the database: this one
    # would migrate it first, so it refuses.
    pf = os.path.join(tempfile.mkdtemp(), "passphrase")
    with open(pf, "w") as f:
        f.write("frase di prova per il backup\n")
    rc, out = visura("backup", "--db", db, "--passphrase-file", pf, os.path.join(work, "bk"))
    eq(rc, 1, f"backup of a database of another schema version: {out}")
    check("fare il backup con la versione che lo usa" in out, out)
    eq(snapshot(work), files, "the refused backup changed nothing")
    shutil.rmtree(work, ignore_errors=True)


def test_newer_database_refused():
    work = tempfile.mkdtemp(prefix="visura-upgrade-")
    db = harness.new_database(work, "newer")
    rc, out = visura("init", "--db", db, "--admin-name", harness.ADMIN_NAME,
                     "--admin-email", harness.ADMIN_EMAIL)
    eq(rc, 0, f"init: {out}")
    top = latest()
    harness.db_exec(db, ("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                         (top + 1, "a migration of a later release", 0)))
    rc, out = visura("init", "--check", "--db", db)
    eq(rc, 1, f"init --check on a newer database: {out}")
    check(f"schema alla versione {top + 1}, più recente di questo visura ({top}" in out, out)
    for args in (["query", "--db", db, "counts"], ["audit", "verify", "--db", db]):
        rc, out = visura(*args)
        check(rc != 0, f"{args[0]} refuses a newer database: {out}")
        check(f"schema del database è alla versione {top + 1}, più recente di questo visura ({top})"
              in out and "versione successiva" in out, f"a clear message: {out}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    run_tests(globals())
