#!/usr/bin/env python3
"""End-to-end: the security events' details are Italian.

The admin's and auditor's screens and the reports show each security
event's detail beside its kind (a machine code, unchanged): the detail is
what a person reads.  The test provokes the events through the API
(failed logins of an unknown name and of an account, a lockout, a refused
login of a disabled account, the login of a suspended body, a session
ended by its holder and one beyond the account's limit, a role's refusal, an account with its temporary
password, an incident moved through its states, a body suspended, a notice
corrected and withdrawn) and
reads every event back through /api/v1/security-events: no detail may
hold an English word or a code in place of words.  What the events carry
as data (a path, a name, a reason typed by someone) is taken out first.

usage: test_event_details.py PATH/TO/visura [TEST...]
"""
import re
import sys
import time

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

from harness import Server, check, expect, run_tests

# Words of the English details the server wrote before they were Italian,
# and the common English words any new one would need.
ENGLISH = set("""
the an of by at after before to for from with without on not too many failed
logins login shown once mailed printed body active holder ended disabled enabled
automatically expiry expired unused notice yearly renewal lead repeated last wrong unknown
user system code second factor current change session sessions oldest beyond level required
alert review reviewed had credentials open handled closed confirm confirmed restrict revoke
revoked approved rejected pending extracted refused suspended is was has
""".split())


def english_in(detail, data):
    """The English words or codes of detail, once the data values are out."""
    for d in sorted(data, key=len, reverse=True):
        if d:
            detail = detail.replace(d, " ")
    words = [w for w in re.split(r"[\s,;:.()\[\]=]+", detail) if w and "/" not in w]
    return [w for w in words if w.lower() in ENGLISH or "_" in w]


def test_security_event_details_are_italian():
    with Server() as srv:
        admin = srv.admin()
        ente = srv.create_ente()
        lead = srv.user("lead", ente["id"])
        op = srv.user("operator", ente["id"])
        victim, victim_pw = srv.create_account("operator", ente["id"])
        # an unknown name, twice (the second counted on the first row)
        for _ in range(2):
            expect(srv.client().login("nessuno-tale", "Wrong-password-1"), 401, "invalid_credentials")
        # an account's wrong passwords up to its lockout
        c = srv.client()
        for n in range(5):
            c.login(victim["username"], f"Wrong-password-{n}")
            srv.advance(31)
        # a role's refusal, a session ended by its holder
        expect(op.get("/api/v1/security-events"), 403, "forbidden")
        other = srv.client()
        expect(other.login(op.account["username"], op.password), 200)
        sessions = expect(op.get("/api/v1/auth/sessions"), 200)["sessions"]
        ended = [s for s in sessions if not s["current"]]
        check(ended, f"a second session to end: {sessions}")
        expect(op.delete(f"/api/v1/auth/sessions/{ended[0]['id']}"), 200)
        # the oldest session of an account beyond max_sessions (3)
        busy = srv.user("operator", ente["id"])
        for _ in range(3):
            expect(srv.client().login(busy.account["username"], busy.password), 200)
        # a disabled account's login
        expect(admin.post(f"/api/v1/accounts/{victim['id']}/disable"), 200)
        srv.advance(600)                     # past the lockout
        expect(srv.client().login(victim["username"], victim_pw), 403, "account_disabled")
        # an incident through its states, then the body suspended and its login refused
        iid = expect(lead.post("/api/v1/incidents", {
            "what": "credenziali trovate su una postazione condivisa",
            "occurred_at": "2026-11-20 10:00", "accounts": op.account["username"]}), 201)["id"]
        for state in ("handled", "closed", "open"):
            expect(admin.post(f"/api/v1/incidents/{iid}/state", {"state": state, "note": "nota"}), 200)
        reason = f"incidente {iid}"
        expect(admin.post(f"/api/v1/enti/{ente['id']}/suspend", {"reason": reason}), 200)
        expect(srv.client().login(op.account["username"], op.password), 403, "ente_not_active")

        # a notice corrected, then withdrawn
        now = srv.now()
        nid = expect(admin.post("/api/v1/notices", {
            "title": "Fermo del servizio", "body": "testo",
            "starts_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 60)),
            "ends_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600))}), 201)["id"]
        expect(admin.patch(f"/api/v1/notices/{nid}", {"body": "testo corretto"}), 200)
        expect(admin.delete(f"/api/v1/notices/{nid}"), 200)

        events = srv.events()
        kinds = {e["kind"] for e in events}
        for k in ("login_failure", "lockout", "login_refused", "request_refused", "session_ended",
                  "forbidden", "account_created", "temporary_password_issued", "incident_state",
                  "ente_suspended", "notice_changed", "notice_withdrawn"):
            check(k in kinds, f"no {k} event to read: {sorted(kinds)}")
        data = {reason, ente["name"], srv.admin_user, victim["username"], op.account["username"],
                lead.account["username"], busy.account["username"]}
        bad = [(e["kind"], e["detail"], english_in(e["detail"], data)) for e in events]
        bad = [b for b in bad if b[2]]
        check(not bad, "details not in Italian:\n  " + "\n  ".join(
            f"{k}: {d!r} ({', '.join(w)})" for k, d, w in bad))


if __name__ == "__main__":
    run_tests(globals())
