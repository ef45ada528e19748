#!/usr/bin/env python3
"""End-to-end: without an SMTP relay, the temporary password of an account
created, reset or approved (a lead's operator request) through the API is
in that answer once — for the admin to
hand over in person — and nowhere else: not in any later answer, not in the
outbox, not in clear in the database.  With a relay it is never in an
answer (it goes by mail).

usage: test_temp_password.py PATH/TO/visura [TEST...]
"""
import os
import socket
import subprocess
import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import Client, Server, check, eq, expect, run_tests  # noqa: E402


def database_bytes(db):
    """Everything the database holds, as bytes (SQLite: its files and WAL;
    PostgreSQL: a plain dump)."""
    if db.startswith("postgres:"):
        p = subprocess.run(["pg_dump", "--no-owner", db.split(":", 1)[1]], capture_output=True)
        check(p.returncode == 0, f"pg_dump: {p.stderr!r}")
        return p.stdout
    out = b""
    for suffix in ("", "-wal", ".trail", ".trail-wal"):
        if os.path.exists(db + suffix):
            with open(db + suffix, "rb") as f:
                out += f.read()
    return out


def test_shown_once_without_relay():
    with Server() as srv:
        admin = srv.admin()
        ente = srv.create_ente()
        body = {"username": srv.unique("op"), "role": "operator", "full_name": "Anna Verdi",
                "email": "anna.verdi@example.org", "codice_fiscale": harness.new_cf(),
                "ente_id": ente["id"]}
        r = expect(admin.post("/api/v1/accounts", body), 201, what="create")
        eq(r["credentials"], "mostrate una sola volta: consegnarle di persona", "where the password went")
        temp = r["temporary_password"]
        check(isinstance(temp, str) and len(temp) >= 12, "a temporary password in the answer")
        eq(r.header("Cache-Control"), "no-store", "the answer is not cached")
        acc = r["account"]
        eq(srv.temp_password(body["email"]), temp, "the outbox's sealed copy is the same one")

        # Never again: not in the account, the list, the outbox, the events.
        for path in (f"/api/v1/accounts/{acc['id']}", "/api/v1/accounts", "/api/v1/outbox",
                     f"/api/v1/security-events?account_id={acc['id']}"):
            res = admin.get(path)
            check(temp.encode() not in res.body, f"the password again in {path}")
        check(temp.encode() not in database_bytes(srv.db), "the password in clear in the database")

        c = Client(srv)
        r = expect(c.login(acc["username"], temp), 200, what="first login with it")
        check(r["must_change_password"], "it is temporary")

        # A reset: a new one, once; the first no longer works.
        r = expect(admin.post(f"/api/v1/accounts/{acc['id']}/reset"), 200, what="reset")
        eq(r["credentials"], "mostrate una sola volta: consegnarle di persona", "reset: in person")
        temp2 = r["temporary_password"]
        check(temp2 != temp, "a new password")
        expect(Client(srv).login(acc["username"], temp), 401, "invalid_credentials",
               what="the first temporary password after the reset")
        expect(Client(srv).login(acc["username"], temp2), 200, what="the new one")
        check(temp2.encode() not in database_bytes(srv.db), "the reset's password in clear")
        check(srv.has_event("temporary_password_issued", account_id=acc["id"]), "the event")

        # A system account has no password at all.
        r = expect(admin.post("/api/v1/accounts", {"username": srv.unique("api"), "role": "api",
                                                    "full_name": "Sistema", "email": "s@example.org",
                                                    "ente_id": ente["id"]}), 201)
        check("temporary_password" not in r.json, "no password for an api account")


def test_approved_operator_request_shown_once_without_relay():
    """An account made by approving a lead's request is an account created
    in the interface too: its password is in the approval's answer once."""
    with Server() as srv:
        admin = srv.admin()
        ente = srv.create_ente()
        lead = srv.user("lead", ente["id"])
        req = {"full_name": "Maria Rossi", "codice_fiscale": harness.new_cf(),
               "email": "maria.rossi@example.org", "appointment_ref": "prot. 123/2026",
               "username": srv.unique("mrossi")}
        q = expect(lead.post("/api/v1/ente/operator-requests", req), 201, what="request").json
        r = expect(admin.post(f"/api/v1/operator-requests/{q['id']}/approve"), 200, what="approve")
        eq(r["credentials"], "mostrate una sola volta: consegnarle di persona", "where the password went")
        eq(r.header("Cache-Control"), "no-store", "the answer is not cached")
        eq(r["request"]["state"], "approved", "the request is approved")
        temp = r["temporary_password"]
        eq(srv.temp_password(req["email"]), temp, "the outbox's sealed copy is the same one")
        acc = r["account"]
        for path in (f"/api/v1/accounts/{acc['id']}", "/api/v1/operator-requests",
                     "/api/v1/outbox", f"/api/v1/security-events?account_id={acc['id']}"):
            check(temp.encode() not in admin.get(path).body, f"the password again in {path}")
        check(temp.encode() not in database_bytes(srv.db), "the password in clear in the database")
        r = expect(Client(srv).login(req["username"], temp), 200, what="first login with it")
        check(r["must_change_password"], "it is temporary")


def test_never_in_the_answer_with_relay():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()   # nothing listens: the mail stays queued; the answer is what is tested
    with Server(smtp_url=f"smtp://127.0.0.1:{port}", smtp_plain_loopback="true") as srv:
        acc, temp = srv.create_account("operator", srv.create_ente()["id"])
        r = expect(srv.admin().post(f"/api/v1/accounts/{acc['id']}/reset"), 200, what="reset")
        eq(r["credentials"], "inviate per posta elettronica (coda di invio)", "with a relay, by mail")
        check("temporary_password" not in r.json, "never in the answer with a relay")
        ente = srv.create_ente()
        lead = srv.user("lead", ente["id"])
        q = expect(lead.post("/api/v1/ente/operator-requests", {
            "full_name": "Maria Rossi", "codice_fiscale": harness.new_cf(),
            "email": "maria.rossi@example.org", "appointment_ref": "prot. 1/2026",
            "username": srv.unique("mrossi")}), 201).json
        r = expect(srv.admin().post(f"/api/v1/operator-requests/{q['id']}/approve"), 200,
                   what="approve with a relay")
        eq(r["credentials"], "inviate per posta elettronica (coda di invio)", "approval with a relay: by mail")
        check("temporary_password" not in r.json, "never in the approval's answer with a relay")


if __name__ == "__main__":
    run_tests(globals())
