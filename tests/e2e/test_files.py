#!/usr/bin/env python3
"""End-to-end: the files visura keeps on the host are its owner's alone.

The database, its WAL and SHM, the log, the signing key and the TLS key are
created 0600 whatever the caller's umask; at start an existing data file
that is wider is reported in the log, and a key readable by others is
refused."""
import os
import stat
import subprocess

import harness
from harness import *  # noqa: F401,F403


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _started(srv):
    """The server answers: a login writes to the database (WAL, SHM)."""
    srv.admin()


def test_created_owner_only():
    old = os.umask(0o022)      # the usual umask of a shell or a unit file
    try:
        d = tempfile.mkdtemp(prefix="visura-files-")
        log = os.path.join(d, "visura.log")
        with Server(log_file=log) as srv:
            _started(srv)
            files = [log, srv.cert.replace("cert.pem", "key.pem")]
            if not srv.db.startswith("postgres:"):
                files += [srv.db, srv.db + "-wal", srv.db + "-shm",
                          srv.db + ".trail", srv.db + ".trail-wal", srv.db + ".trail-shm"]
            files.append(harness.files_prefix(srv.db) + ".signing-key")
            for f in files:
                check(os.path.exists(f), f"{f} exists")
                eq(oct(mode(f) & 0o077), oct(0), f"{f}: mode {oct(mode(f))} is owner-only")
        shutil.rmtree(d, ignore_errors=True)
    finally:
        os.umask(old)


def test_wider_data_file_warned():
    d = tempfile.mkdtemp(prefix="visura-files-")
    try:
        log = os.path.join(d, "visura.log")
        with Server(log_file=log) as srv:
            _started(srv)
            srv.stop()
            os.chmod(log, 0o644)
            wide = srv.db if not srv.db.startswith("postgres:") else log
            os.chmod(wide, 0o644)
            srv._serve()
            text = open(log, encoding="utf-8", errors="replace").read()
            check(f'msg="permessi del file troppo larghi" file={wide}' in text
                  and "level=warn" in text,
                  f"a warning names {wide}:\n{text[-1500:]}")
            check(f'msg="permessi del file troppo larghi" file={log}' in text, "and the log file")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_readable_key_refused():
    with Server() as srv:
        srv.stop()
        key = harness.files_prefix(srv.db) + ".signing-key"
        os.chmod(key, 0o640)
        p = subprocess.run([harness.VISURA, "serve", "--db", srv.db, "--self-signed", srv.tls_dir,
                            "--listen", f"127.0.0.1:{free_port()}", "--metrics-listen", ""]
                           + harness.serve_user_args(), capture_output=True, text=True, timeout=30)
        check(p.returncode != 0, f"served with a group-readable signing key: {p.stderr}")
        check("chiave di firma" in p.stderr and "chmod 600" in p.stderr, f"says why: {p.stderr}")
        os.chmod(key, 0o600)
        tls_key = os.path.join(srv.tls_dir, "key.pem")
        os.chmod(tls_key, 0o604)
        p = subprocess.run([harness.VISURA, "serve", "--db", srv.db, "--self-signed", srv.tls_dir,
                            "--listen", f"127.0.0.1:{free_port()}", "--metrics-listen", ""]
                           + harness.serve_user_args(), capture_output=True, text=True, timeout=30)
        check(p.returncode != 0 and "chiave TLS" in p.stderr,
              f"served with a world-readable TLS key: {p.stderr}")
        os.chmod(tls_key, 0o600)


def test_output_never_replaces_a_special_file():
    """visura gen writes each file beside it and renames it over: where the
    file goes, a FIFO (a stand-in for /dev/null, never named here) or a
    symbolic link, even to a regular file, is refused in Italian (exit 1),
    and left as it was, with no temporary behind."""
    d = tempfile.mkdtemp(prefix="visura-files-")
    try:
        name = "036023-000001-FULL.tsv"
        target = os.path.join(d, "target")
        with open(target, "w") as f:
            f.write("vecchio\n")
        for what, make, says in (
                ("FIFO", lambda p: os.mkfifo(p, 0o600), "è una FIFO"),
                ("symlink", lambda p: os.symlink(target, p), "è un collegamento simbolico")):
            out = os.path.join(d, what)
            os.mkdir(out)
            dest = os.path.join(out, name)
            make(dest)
            p = subprocess.run([harness.VISURA, "gen", "--persons", "20", "--comune", "036023",
                                "--seed", "1", "--out", out], capture_output=True, text=True)
            eq(p.returncode, 1, f"gen over a {what}: {p.stdout}{p.stderr}")
            check(f"'{dest}' {says}, non un file regolare" in p.stderr, p.stderr)
            kind = stat.S_IFMT(os.lstat(dest).st_mode)
            eq(kind, stat.S_IFIFO if what == "FIFO" else stat.S_IFLNK, f"the {what} is left")
            eq(os.listdir(out), [name], f"nothing else in the output directory ({what})")
        with open(target) as f:
            eq(f.read(), "vecchio\n", "the link's target is untouched")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_temporary_never_written_through_a_link():
    """visura gen writes each file to a new temporary beside it: a symbolic
    link planted where the temporary used to go (NAME.part), to a file or
    to nothing, is never written through: the run succeeds, the link and
    its target are as they were, nothing is made at the dangling link's
    target, and no temporary is left behind."""
    d = tempfile.mkdtemp(prefix="visura-files-")
    try:
        out = os.path.join(d, "out")
        os.mkdir(out)
        target = os.path.join(d, "target")
        with open(target, "w") as f:
            f.write("vecchio\n")
        made = os.path.join(d, "creato")
        full = "036023-000001-FULL.tsv"
        delta = "036023-000002-DELTA.tsv"
        os.symlink(target, os.path.join(out, full + ".part"))
        os.symlink(made, os.path.join(out, delta + ".part"))
        p = subprocess.run([harness.VISURA, "gen", "--persons", "20", "--comune", "036023",
                            "--seed", "1", "--days", "1", "--out", out],
                           capture_output=True, text=True)
        eq(p.returncode, 0, f"gen beside planted links: {p.stdout}{p.stderr}")
        with open(target) as f:
            eq(f.read(), "vecchio\n", "the link's target is untouched")
        check(not os.path.lexists(made), "nothing made through the dangling link")
        eq(sorted(os.listdir(out)), sorted([full, delta, full + ".part", delta + ".part"]),
           "the two files and the two links, no temporary")
        for name in (full, delta):
            path = os.path.join(out, name)
            check(stat.S_ISREG(os.lstat(path).st_mode), f"{name} is a regular file")
            with open(path) as f:
                check(f.readline().startswith("HDR\tVISURA-ANAGRAFE\t1\t036023\t"),
                      f"{name} holds the generated file")
        for name in (full, delta):
            check(stat.S_ISLNK(os.lstat(os.path.join(out, name + ".part")).st_mode),
                  f"{name}.part is still the link")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_export_never_written_through_a_link():
    """visura audit export writes its --out (and OUT.sig) in place: a
    symbolic link there, even to a regular file, or a FIFO (a stand-in for
    a device, never named here) is refused in Italian (exit 2) without
    writing through it or blocking on it; a link at OUT.sig is refused
    before the export is written; a regular file is written as before."""
    with Server() as srv:
        srv.admin()
        d = tempfile.mkdtemp(prefix="visura-files-")
        target = os.path.join(d, "target")
        with open(target, "w") as f:
            f.write("vecchio\n")
        link, fifo = os.path.join(d, "link.csv"), os.path.join(d, "fifo.csv")
        os.symlink(target, link)
        os.mkfifo(fifo, 0o600)
        for fmt in ("csv", "bundle"):
            for out, says in ((link, "è un collegamento simbolico"), (fifo, "è una FIFO")):
                p = subprocess.run([harness.VISURA, "audit", "export", "--db", srv.db,
                                    "--format", fmt, "--out", out],
                                   capture_output=True, text=True, timeout=60)
                eq(p.returncode, 2, f"{fmt} export over {out}: {p.stdout}{p.stderr}")
                check(f"'{out}' {says}, non un file regolare" in p.stderr, p.stderr)
        regular = os.path.join(d, "trail.csv")
        os.symlink(target, regular + ".sig")
        p = subprocess.run([harness.VISURA, "audit", "export", "--db", srv.db, "--format", "csv",
                            "--out", regular], capture_output=True, text=True, timeout=60)
        eq(p.returncode, 2, f"export beside a link at its .sig: {p.stdout}{p.stderr}")
        check(not os.path.lexists(regular), "the export is not written when its .sig is refused")
        with open(target) as f:
            eq(f.read(), "vecchio\n", "the link's target is untouched")
        check(os.path.islink(link) and stat.S_ISFIFO(os.lstat(fifo).st_mode),
              "the link and the FIFO are left")
        os.unlink(regular + ".sig")
        with open(regular, "w") as f:
            f.write("una riga vecchia e lunga, più lunga dell'esportazione? no\n" * 3)
        p = subprocess.run([harness.VISURA, "audit", "export", "--db", srv.db, "--format", "csv",
                            "--out", regular], capture_output=True, text=True, timeout=60)
        eq(p.returncode, 0, f"export over a regular file: {p.stdout}{p.stderr}")
        with open(regular) as f:
            check(f.readline().startswith("id,at,"), "the export replaced the old content")
            check("riga vecchia" not in f.read(), "nothing of the old file is left")
        shutil.rmtree(d, ignore_errors=True)


def _long_state_dir(base, prefix_len, name):
    """A directory under base (components of at most 200 bytes) in which
    the files prefix "<dir>/visura-<name>" is prefix_len bytes long."""
    want = prefix_len - len("/visura-" + name)
    d = base
    while len(d) < want:
        d = os.path.join(d, "d" * min(200, want - len(d) - 1))
    check(len(d) == want, f"state dir of {want} bytes, not {len(d)}")
    os.makedirs(d)
    return d


def test_no_key_at_a_cut_path():
    """A state directory long enough that "<prefix>.signing-key" and
    ".secrets-key" pass 4,095 bytes while the prefix itself fits: init
    refuses with a clear message and writes no key at a cut path (it wrote
    the signing key at "<prefix>.sign" before str_fmt).  ca init refuses
    too, without a file (its paths, of 4,102 bytes, the system refuses).
    On PostgreSQL (the prefix is in $VISURA_STATE_DIR, any length): SQLite
    opens no database whose path passes 512 bytes, so its prefix never gets
    there."""
    base = tempfile.mkdtemp(prefix="visura-cut-")
    db = harness.new_database(base, "cut", backend="postgres")
    name = re.search(r"dbname=(\S+)", db).group(1)
    state = _long_state_dir(base, 4090, name)
    env = dict(os.environ, VISURA_STATE_DIR=state)
    for args in (["init", "--admin-name", "Anna Verdi", "--admin-email", "a.verdi@example.it"],
                 ["ca", "init"]):
        p = subprocess.run([harness.VISURA, *args, "--db", db], capture_output=True, text=True,
                           env=env, timeout=60)
        check(p.returncode != 0, f"{args[0]} refuses: {p.returncode} {p.stdout}{p.stderr}")
        if args[0] == "init":
            check("percorso troppo lungo" in p.stderr, f"init: a clear message: {p.stderr!r}")
        made = os.listdir(state)
        eq(made, [], f"{args[0]}: no file at a cut path")
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    run_tests(globals())
