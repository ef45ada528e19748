#!/usr/bin/env python3
"""End-to-end: `visura backup` while the server runs under look-up load,
`visura backup --verify`, `visura restore` into a fresh place (on SQLite and,
as e2e_pg.test_backup, on PostgreSQL).

The restored deployment holds what the original held (every table's row
count, the access trail record for record), its trail verifies, a receipt
issued before the backup verifies on it, and a server started on it knows
the sessions and the workstation CA of the original, and publishes the
SPID/CIE relying party's keys of the original (OpenID Connect and
federation: the registration in the federation names them).  The keys
are in the backup only encrypted; a changed backup is refused; a restore over a
deployment in use, or over an existing one without --force, is refused.

usage: test_backup.py PATH/TO/visura [TEST...]
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import Client, Server, check, eq, expect, run_tests  # noqa: E402

PASSPHRASE = "frase di prova per il backup 14"
KEY_SUFFIXES = (".signing-key", ".secrets-key", ".ca-key.pem")
# The SPID/CIE relying party's keys (JWKs), made by the server at its start.
OIDC_SUFFIXES = (".oidc-key", ".oidc-enc-key", ".oidc-federation-key")


class WithCA:
    """Population loader that also creates the workstation CA."""

    def __init__(self):
        self.pop = harness.Population(persons=800, comuni="036023,036005", seed=14, days=1)

    def load_into(self, db, work_dir):
        self.pop.load_into(db, work_dir)
        p = subprocess.run([harness.VISURA, "ca", "init", "--db", db], capture_output=True,
                           text=True)
        check(p.returncode == 0, f"ca init: {p.stderr}")

    def __getattr__(self, name):   # the harness reads the population through it
        return getattr(self.pop, name)


def passfile(work):
    path = os.path.join(work, "passphrase")
    with open(path, "w") as f:
        f.write(PASSPHRASE + "\n")
    return path


def visura(*args):
    p = subprocess.run([harness.VISURA, *args], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def tables(db):
    """Every table of a database (SQLite: the database file's and the
    trail's), but schema_migrations."""
    if db.startswith("postgres:"):
        rows = harness.db_query(db, "SELECT table_name AS name FROM information_schema.tables"
                                    " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")
    else:
        rows = harness.db_query(db, "SELECT name FROM main.sqlite_master WHERE type = 'table'"
                                    " UNION SELECT name FROM trail.sqlite_master WHERE type = 'table'")
    return sorted(r["name"] for r in rows if r["name"] != "schema_migrations")


def counts(db):
    return {t: int(harness.db_query(db, f"SELECT count(*) AS n FROM {t}")[0]["n"])
            for t in tables(db)}


def backup_bytes(dest):
    out = b""
    for name in sorted(os.listdir(dest)):
        with open(os.path.join(dest, name), "rb") as f:
            out += f.read()
    return out


def secrets_of(db):
    """Byte strings that would betray a key kept in clear: each key file's
    text, its raw bytes (hex keys), the base64 lines of a PEM key."""
    found = []
    prefix = harness.files_prefix(db)
    for suffix in KEY_SUFFIXES:
        with open(prefix + suffix, "rb") as f:
            text = f.read()
        found.append(text.strip())
        if suffix != ".ca-key.pem":
            found.append(bytes.fromhex(text.decode().strip()))
        else:
            lines = [ln for ln in text.splitlines() if ln and not ln.startswith(b"-----")]
            found += lines
            found.append(base64.b64decode(b"".join(lines)))
    for suffix in OIDC_SUFFIXES:
        with open(prefix + suffix, "rb") as f:
            text = f.read()
        jwk = json.loads(text)
        found.append(text.strip())
        found += [jwk[k].encode() for k in ("d", "p", "q") if k in jwk]
    return found


class Load:
    """Threads that consult persons with an operator's session until
    stopped; each counts its answers and keeps any unexpected one."""

    def __init__(self, srv, op, pid, people, threads=2):
        self.srv, self.op, self.pid, self.people = srv, op, pid, people
        self.stop_flag = threading.Event()
        self.done = 0
        self.errors = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(threads)]

    def run(self, n):
        c = Client(self.srv)
        c.cookies, c.csrf = dict(self.op.cookies), self.op.csrf
        i = n
        while not self.stop_flag.is_set():
            p = self.people[i % len(self.people)]
            r = c.get(f"/api/v1/persons/{p['cf']}?purpose={self.pid}&case_ref=LOAD-{n}-{i}")
            with self.lock:
                if r.status == 200:
                    self.done += 1
                else:
                    self.errors.append((r.status, r.body[:200]))
            i += 2

    def wait_for(self, n):
        """Until n more answers came (or a thread failed)."""
        with self.lock:
            target = self.done + n
        while True:
            with self.lock:
                if self.done >= target or self.errors:
                    return
            self.stop_flag.wait(0.05)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        for t in self.threads:
            t.join()
        return False


def start_on(srv, db):
    """A server on the restored database db, with the original's admin."""
    harness.give_to_test_user(srv.dir)
    if db.startswith("postgres:"):
        harness.give_to_test_user(os.environ["VISURA_STATE_DIR"])
    keep = srv.db
    srv.db = db
    try:
        other = Server(share=srv, **srv.options)
    finally:
        srv.db = keep
    other.start()
    return other


def rp_keys(srv):
    """The relying party's published keys: OpenID Connect and federation."""
    import test_spid
    oidc = expect(srv.request("GET", "/api/v1/auth/spid/jwks"), 200, what="rp jwks").json
    r = srv.request("GET", "/.well-known/openid-federation")
    eq(r.status, 200, "the entity configuration")
    claims = json.loads(test_spid.b64u_dec(r.body.decode().split(".")[1]))
    return oidc, claims["jwks"]


def rp_key_files(db):
    """The relying party's three keys beside db, as `visura serve` keeps
    them (private JWKs with a kid, 0600), made here: a loaded machine can
    take longer than the harness waits for a server to make a 4096-bit RSA
    key at its first start."""
    import test_spid
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    enc = test_spid.rsa_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048),
                            "rp-enc-1")[1]
    enc.update(use="enc", alg="RSA-OAEP-256")
    keys = {".oidc-enc-key": enc}
    for suffix, kid in ((".oidc-key", "rp-sig-1"), (".oidc-federation-key", "rp-fed-1")):
        k = test_spid.FedKey(kid)
        keys[suffix] = dict(k.jwk(), d=test_spid.b64u(
            k.key.private_numbers().private_value.to_bytes(32, "big")))
    prefix = harness.files_prefix(db)
    for suffix, jwk in keys.items():
        fd = os.open(prefix + suffix, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(jwk, f)


def test_backup_restore():
    hook = WithCA()
    srv = Server(population=hook)
    import test_spid
    test_spid.provider_options(srv)   # SPID/CIE: the relying party's keys in use
    rp_key_files(srv.db)
    with srv:
        published = rp_keys(srv)
        work = tempfile.mkdtemp(prefix="visura-backup-")
        pf = passfile(work)
        ente = srv.create_ente(kind="police")
        pid = srv.create_agreement(ente["id"], ["identity", "residence"])["purpose_id"]
        ws_conv = srv.create_agreement(ente["id"], ["identity"], workstation_cert=True)
        op = srv.user("operator", ente["id"])
        acc, _ = srv.create_account("api", ente["id"])
        token = expect(srv.admin().post(f"/api/v1/accounts/{acc['id']}/tokens", {"name": "ws"}),
                       201)["token"]
        out = tempfile.mkdtemp(prefix="visura-ws-")
        rc, text = visura("ca", "issue", "--db", srv.db, "--ente-id", str(ente["id"]),
                          "--name", "ws-01", "--out", out)
        eq(rc, 0, f"ca issue: {text}")
        ws = (os.path.join(out, "ws-01.cert.pem"), os.path.join(out, "ws-01.key.pem"))
        people = [p for p in hook.pop.current_persons() if not p["canc_reason"]]
        r = expect(op.get(f"/api/v1/persons/{people[0]['cf']}?purpose={pid}&case_ref=B-0"), 200,
                   what="a consultation before the backup")
        receipt, body = r.header("X-Visura-Receipt"), r.body

        # A backup while two threads consult persons.
        under_load = os.path.join(work, "under-load")
        with Load(srv, op, pid, people[1:200]) as load:
            load.wait_for(10)
            rc, text = visura("backup", "--db", srv.db, "--passphrase-file", pf, under_load)
            load.wait_for(10)
        eq(load.errors, [], "every look-up of the load answered")
        eq(rc, 0, f"visura backup under load: {text}")
        rc, text = visura("backup", "--verify", "--passphrase-file", pf, under_load)
        eq(rc, 0, f"backup --verify: {text}")
        check("6 chiavi si decifrano" in text, f"the six keys decrypt: {text}")

        # The keys are never in clear in it.
        blob = backup_bytes(under_load)
        for secret in secrets_of(srv.db):
            check(len(secret) >= 16 and secret not in blob, "a key in clear in the backup")

        # A second backup, the load stopped (the server still running).
        quiet = os.path.join(work, "quiet")
        rc, text = visura("backup", "--db", srv.db, "--passphrase-file", pf, quiet)
        eq(rc, 0, f"visura backup: {text}")
        rc, text = visura("backup", "--db", srv.db, "--passphrase-file", pf, quiet)
        eq(rc, 1, f"a backup does not go into an existing directory: {text}")
        original = counts(srv.db)
        trail = harness.db_query(srv.db, "SELECT id, hash FROM access_log ORDER BY id")

        # Restored into fresh places.
        dst_load = harness.new_database(srv.dir, "restored-load")
        rc, text = visura("restore", "--db", dst_load, "--passphrase-file", pf, under_load)
        eq(rc, 0, f"restore of the backup taken under load: {text}")
        dst = harness.new_database(srv.dir, "restored")
        rc, text = visura("restore", "--db", dst, "--passphrase-file", pf, quiet)
        eq(rc, 0, f"restore: {text}")

        eq(counts(dst), original, "every table's row count")
        got = harness.db_query(dst_load, "SELECT id, hash FROM access_log ORDER BY id")
        check(len(got) > 1, "the backup under load holds the records before it")
        eq(got, trail[:len(got)], "the trail of the backup under load: the original's, as far "
                                  "as it goes")
        for db in (dst, dst_load):
            rc, text = harness.audit_verify(db)
            eq(rc, 0, f"audit verify of the restored trail: {text}")
            body_file = os.path.join(work, "body.json")
            with open(body_file, "wb") as f:
                f.write(body)
            rc, text = visura("audit", "verify-receipt", "--db", db, receipt, body_file)
            eq(rc, 0, f"a receipt issued before the backup: {text}")
        for suffix in KEY_SUFFIXES + OIDC_SUFFIXES + (".ca-cert.pem",):
            with open(harness.files_prefix(srv.db) + suffix, "rb") as a, \
                    open(harness.files_prefix(dst_load) + suffix, "rb") as b:
                eq(a.read() == b.read(), True, f"the restored {suffix}")

        # A server on the restored deployment: the session and the CA work.
        srv.stop()
        moved = start_on(srv, dst_load)
        try:
            c = Client(moved)
            c.cookies, c.csrf = dict(op.cookies), op.csrf
            expect(c.get(f"/api/v1/persons/{people[300]['cf']}?purpose={pid}&case_ref=AFTER"),
                   200, what="the operator's session on the restored server")
            import test_mtls
            cf = people[301]["cf"]
            st, answer = test_mtls.call(moved, f"/api/v1/persons?purpose={ws_conv['purpose_id']}"
                                               f"&cf={cf}", token, ws)
            eq(st, 200, f"a workstation certificate of the original CA: {answer}")
            st, answer = test_mtls.call(moved, f"/api/v1/persons?purpose={ws_conv['purpose_id']}"
                                               f"&cf={cf}", token)
            eq(st, 403, "and without it, refused")
            eq(rp_keys(moved), published, "the SPID/CIE relying party's keys (OpenID Connect "
                                          "and federation) are the original's")
        finally:
            moved.stop()
        rc, text = harness.audit_verify(dst_load)
        eq(rc, 0, f"audit verify after new records on the restored server: {text}")
        shutil.rmtree(work, ignore_errors=True)


def test_tampered_and_live():
    with Server(population=dict(persons=300, comuni="036023", seed=3)) as srv:
        work = tempfile.mkdtemp(prefix="visura-backup-")
        pf = passfile(work)
        good = os.path.join(work, "good")
        rc, text = visura("backup", "--db", srv.db, "--passphrase-file", pf, good)
        eq(rc, 0, f"backup: {text}")
        db_file = "database.pgdump" if srv.db.startswith("postgres:") else "database.sqlite"

        def variant(name, change):
            d = os.path.join(work, name)
            shutil.copytree(good, d)
            change(d)
            return d

        def flip(path, at=None):
            with open(path, "r+b") as f:
                data = bytearray(f.read())
                i = len(data) // 2 if at is None else at
                data[i] ^= 0x01
                f.seek(0)
                f.write(data)

        def flip_db(d):
            flip(os.path.join(d, db_file))

        def flip_key(d):
            flip(os.path.join(d, "signing-key.enc"), at=40)

        def extra(d):
            with open(os.path.join(d, "note.txt"), "w") as f:
                f.write("x")

        def flip_key_and_manifest(d):
            """The key changed and the manifest's hash of it rewritten: only
            the MAC (the passphrase) tells."""
            import hashlib
            path = os.path.join(d, "signing-key.enc")
            flip(path, at=40)
            with open(path, "rb") as f:
                sha = hashlib.sha256(f.read()).hexdigest()
            mpath = os.path.join(d, "MANIFEST")
            with open(mpath) as f:
                lines = f.read().splitlines()
            lines = [" ".join(["file", sha] + ln.split()[2:]) if ln.endswith(" signing-key.enc")
                     else ln for ln in lines]
            with open(mpath, "w") as f:
                f.write("\n".join(lines) + "\n")

        for name, change in (("db", flip_db), ("key", flip_key), ("extra", extra)):
            d = variant(name, change)
            rc, text = visura("backup", "--verify", d)
            eq(rc, 1, f"a changed backup ({name}) is refused: {text}")
        d = variant("forged", flip_key_and_manifest)
        rc, text = visura("backup", "--verify", d)
        eq(rc, 0, f"without the passphrase, only the hashes are checked: {text}")
        rc, text = visura("backup", "--verify", "--passphrase-file", pf, d)
        eq(rc, 1, f"with it, the forged manifest is refused: {text}")
        check("MAC" in text, text)
        wrong = os.path.join(work, "wrong")
        with open(wrong, "w") as f:
            f.write("un'altra frase segreta\n")
        rc, text = visura("backup", "--verify", "--passphrase-file", wrong, good)
        eq(rc, 1, f"a wrong passphrase: {text}")
        rc, text = visura("restore", "--db", harness.new_database(work, "x"),
                          "--passphrase-file", pf, os.path.join(work, "db"))
        eq(rc, 1, f"a changed backup is not restored: {text}")

        # Over the live deployment: refused, even with --force, while it runs.
        for force in ([], ["--force"]):
            rc, text = visura("restore", "--db", srv.db, "--passphrase-file", pf, *force, good)
            eq(rc, 1, f"restore over the running deployment {force}: {text}")
            check("un server sta usando il database" in text, text)
        srv.stop()
        rc, text = visura("restore", "--db", srv.db, "--passphrase-file", pf, good)
        eq(rc, 1, f"restore over an existing deployment without --force: {text}")
        check("--force" in text, text)
        # The signing key a symbolic link (to a regular file): refused before
        # anything is written, even with --force; the link left as it was.
        key = harness.files_prefix(srv.db) + ".signing-key"
        os.rename(key, key + ".real")
        os.symlink(key + ".real", key)
        sqlite = not srv.db.startswith("postgres:")
        ino = os.stat(srv.db).st_ino if sqlite else None
        rc, text = visura("restore", "--db", srv.db, "--passphrase-file", pf, "--force", good)
        eq(rc, 1, f"restore --force over a symbolic link: {text}")
        check(f"restore: '{key}' è un collegamento simbolico, non un file regolare" in text, text)
        check(os.path.islink(key), "the link is left a link")
        if sqlite:
            eq(os.stat(srv.db).st_ino, ino, "the database not replaced either")
        os.unlink(key)
        os.rename(key + ".real", key)
        rc, text = visura("restore", "--db", srv.db, "--passphrase-file", pf, "--force", good)
        eq(rc, 0, f"restore --force over a stopped deployment: {text}")
        rc, text = harness.audit_verify(srv.db)
        eq(rc, 0, f"audit verify: {text}")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    run_tests(globals())
