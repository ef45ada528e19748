#!/usr/bin/env python3
"""End-to-end: no secret sits in the database in clear.  TOTP secrets and a
temporary password waiting in the outbox are sealed under the secrets key
(a 0600 file beside the signing key); the outbox shows no password to
admins.  The whole database is searched for the secrets as bytes (SQLite:
the file and its WAL; PostgreSQL: pg_dump).  A TOTP secret an older
version stored in clear is sealed at the next start and still works."""
import os
import stat
import subprocess

import harness
from harness import *  # noqa: F401,F403


def database_bytes(db):
    """Everything the database holds, as bytes."""
    if db.startswith("postgres:"):
        p = subprocess.run(["pg_dump", "--no-owner", harness._conninfo(db)], capture_output=True)
        check(p.returncode == 0, f"pg_dump: {p.stderr!r}")
        return p.stdout
    data = b""
    for suffix in ("", "-wal"):
        if os.path.exists(db + suffix):
            with open(db + suffix, "rb") as f:
                data += f.read()
    return data


def test_no_secret_in_clear():
    with Server() as srv:
        ente = srv.create_ente()
        acc, temp = srv.create_account("operator", ente["id"])
        check(len(temp) >= 12, "a temporary password was issued")
        lead = srv.user("lead", ente["id"])
        secret = expect(lead.post("/api/v1/auth/totp/setup"), 200, what="setup")["secret"]
        expect(lead.post("/api/v1/auth/totp/confirm", {"code": totp(secret, srv.now())}), 200,
               what="confirm")
        for m in srv.outbox(acc["email"]):
            check(temp not in m["body"], "the outbox shows the temporary password")
            check("{sealed:" not in m["body"], "nor its sealed form")
        data = database_bytes(srv.db)
        check(temp.encode() not in data, "the temporary password is in the database in clear")
        check(secret.encode() not in data, "the TOTP secret is in the database in clear")
        check(secret.lower().encode() not in data, "the TOTP secret (lower case) in clear")
        row = db_query(srv.db, "SELECT totp_secret FROM account WHERE id = ?", (lead.account["id"],))
        check(row[0]["totp_secret"].startswith("s1:"), f"sealed: {row[0]['totp_secret'][:8]}")
        key = harness.files_prefix(srv.db) + ".secrets-key"
        eq(oct(stat.S_IMODE(os.stat(key).st_mode)), oct(0o600), "the secrets key is 0600")
        # The sealed values work: a login with the factor, the first login.
        srv.advance(31)
        expect(srv.client().login(lead.username, lead.password, totp(secret, srv.now())), 200,
               what="login with the sealed factor")
        expect(srv.client().login(acc["username"], temp), 200, what="first login")


def test_clear_totp_secret_sealed_at_start():
    with Server() as srv:
        ente = srv.create_ente()
        lead = srv.user("lead", ente["id"])
        srv.stop()
        # As an older version stored it.
        secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
        db_exec(srv.db, ("UPDATE account SET totp_secret = ?, totp_enabled = 1 WHERE id = ?",
                         (secret, lead.account["id"])))
        srv._serve()
        check('msg="segreti totp sigillati"' in srv.log_text(), "the log says so")
        srv.stop()          # SQLite: the WAL is written back into the file
        check(secret.encode() not in database_bytes(srv.db), "sealed at start")
        srv._serve()
        expect(srv.client().login(lead.username, lead.password, totp(secret, srv.now())), 200,
               what="the factor still works")


if __name__ == "__main__":
    run_tests(globals())
