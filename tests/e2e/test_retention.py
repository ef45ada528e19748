#!/usr/bin/env python3
"""End-to-end: the tables unauthenticated requests write to do not grow
without bound.  Failed logins with made-up names from one address add one
security event per kind and ten minutes (with a count), their throttle rows
go once a quiet day has passed, ended sessions after session_keep_days,
security events after security_log_days (never less than six months),
outbox messages mail_keep_days after they were queued, whatever their
state (never less than a week), citizens' one-time codes security_log_days
after they expire.
Time moves with the test clock; the tables are read directly."""
import subprocess

import harness
from harness import *  # noqa: F401,F403


def count(srv, sql, params=()):
    return int(db_query(srv.db, "SELECT count(*) AS n FROM " + sql, params)[0]["n"])


def test_unknown_names_bounded():
    with Server() as srv:
        srv.admin()
        events0 = count(srv, "security_event")
        names = [f"ghost{i}x{srv.tag}" for i in range(40)]
        for name in names:
            r = srv.client().login(name, "Wrong-password-1234")
            check(r.status in (401, 429), f"a failed login: {r}")
        added = db_query(srv.db, "SELECT kind, detail FROM security_event WHERE id > ?"
                         " ORDER BY id", (events0,))
        check(len(added) <= 3, f"40 unknown names added {len(added)} security events: {added}")
        failures = [e for e in added if e["kind"] == "login_failure"]
        eq(len(failures), 1, "one row for the failures")
        check("[ripetuto=" in failures[0]["detail"], f"with their count: {failures[0]}")
        def times(e):
            d = e["detail"]
            return int(d.split("[ripetuto=")[1].split()[0]) if "[ripetuto=" in d else 1
        eq(sum(times(e) for e in added if e["kind"] in ("login_failure", "login_throttled")),
           40, "every attempt counted")
        check(count(srv, "throttle WHERE key LIKE 'u:ghost%'") >= 1, "throttled meanwhile")
        # Ten minutes later a new row starts.
        srv.advance(601)
        srv.client().login(names[0], "Wrong-password-1234")
        check(count(srv, "security_event WHERE id > ?", (events0,)) > len(added),
              "a new period, a new row")
        # A quiet day later, their throttle rows are gone.
        srv.advance(harness.DAY + 60)
        eq(count(srv, "throttle WHERE key LIKE 'u:ghost%'"), 0, "throttle rows purged")
        eq(count(srv, "throttle WHERE key LIKE 'ip:%'"), 0, "the address's row too")


def test_sessions_and_events_expire():
    with Server(session_keep_days=1, security_log_days=183) as srv:
        admin = srv.admin()
        ente = srv.create_ente()
        op = srv.user("operator", ente["id"])
        expect(op.post("/api/v1/auth/logout"), 200, what="logout")
        check(count(srv, "session WHERE revoked_at > 0") >= 1, "the ended session is kept")
        t0 = srv.now()
        old_events = count(srv, "security_event WHERE at <= ?", (t0,))
        check(old_events > 0, "events so far")
        srv.advance(2 * harness.DAY)
        eq(count(srv, "session WHERE revoked_at > 0 AND revoked_at <= ?", (t0,)), 0,
           "ended sessions purged after session_keep_days")
        eq(count(srv, "session WHERE last_seen_at <= ?", (t0,)), 0, "idle ones too")
        admin = srv.admin()    # a new session, kept
        check(count(srv, "session WHERE revoked_at = 0") >= 1, "live sessions stay")
        srv.advance(100 * harness.DAY)
        srv.admin()
        eq(count(srv, "security_event WHERE at <= ?", (t0,)), old_events,
           "security events kept for their six months")
        srv.advance(84 * harness.DAY)
        srv.admin()
        eq(count(srv, "security_event WHERE at <= ?", (t0,)), 0,
           "security events older than security_log_days purged")
        check(count(srv, "security_event") > 0, "recent ones stay")


def test_outbox_expires():
    with Server(mail_keep_days=7) as srv:
        srv.admin()
        ente = srv.create_ente()
        srv.user("operator", ente["id"])
        old = db_query(srv.db, "SELECT id, recipient, state FROM mail ORDER BY id")
        check(len(old) >= 1, f"a new account's credentials queued: {old}")
        # Some sent, some failed, some never sent (no relay here): all go.
        db_exec(srv.db, ("UPDATE mail SET state = 'sent' WHERE id = ?", (old[0]["id"],)))
        t0 = srv.now()
        srv.advance(6 * harness.DAY)
        srv.user("operator", ente["id"])
        eq(count(srv, "mail WHERE created_at <= ?", (t0,)), len(old),
           "kept for mail_keep_days")
        srv.advance(harness.DAY + 60)
        eq(count(srv, "mail WHERE created_at <= ?", (t0,)), 0,
           "messages queued more than mail_keep_days ago purged, sent or not")
        check(count(srv, "mail") >= 1, "the later account's message stays")
        # The office's outbox by recipient still lists what is kept.
        kept = db_query(srv.db, "SELECT recipient FROM mail ORDER BY id DESC LIMIT 1")[0]
        r = expect(srv.admin().get("/api/v1/outbox?recipient=" + urllib.parse.quote(kept["recipient"])),
                   200, what="outbox by recipient")
        check(len(r.json["messages"]) >= 1 and
              all(m["recipient"] == kept["recipient"] for m in r.json["messages"]),
              f"the recipient's messages: {r.json}")


def test_subject_codes_expire():
    with Server(security_log_days=183) as srv:
        cf = "RSSMRA80A01H501U"   # a code is issued for any codice fiscale
        r = expect(srv.admin().post("/api/v1/audit/subject-codes", {"codice_fiscale": cf}), 201,
                   what="a code for the citizen")
        expires = parse_time(r.json["expires_at"])
        eq(count(srv, "subject_code WHERE cf = ?", (cf,)), 1, "the code stored")
        srv.advance_to(expires + 182 * harness.DAY)
        srv.admin()
        eq(count(srv, "subject_code WHERE cf = ?", (cf,)), 1,
           "kept as long as the security event of its issue")
        srv.advance(2 * harness.DAY)
        srv.admin()
        eq(count(srv, "subject_code WHERE cf = ?", (cf,)), 0,
           "gone security_log_days after it expired")


def refused_below(option, value, what, says):
    """`visura serve --check` with option below its minimum: exit 2, naming
    the option and its range."""
    d = tempfile.mkdtemp(prefix="visura-retention-")
    try:
        p = subprocess.run([harness.VISURA, "serve", "--self-signed", os.path.join(d, "tls"),
                            "--" + option.replace("_", "-"), value, "--check"]
                           + harness.serve_user_args(), capture_output=True, text=True)
        eq(p.returncode, 2, f"{option} below {what}: {p.stdout}{p.stderr}")
        check(option in p.stderr and says in p.stderr, f"says why: {p.stderr}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_outbox_keep_minimum():
    refused_below("mail_keep_days", "6", "a week", "da 7")


def test_security_log_minimum():
    refused_below("security_log_days", "90", "six months", "da 183")


if __name__ == "__main__":
    run_tests(globals())
