#!/usr/bin/env python3
"""End-to-end: login as an attacker sees it — no user enumeration (answer
and timing), throttling and lockout per account and per address, working
hours, suspended bodies, the second factor, roles, and injection attempts.

usage: test_login_security.py PATH/TO/visura [TEST...]
"""
import datetime
import json
import secrets
import statistics
import time

import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import (DAY, DAY_NAMES, Server, check, eq, error_shape_ok, expect, new_password,
                     parse_time, rome_local, rome_offset, run_tests, totp)

LOGIN = "/api/v1/auth/login"


def _strip_id(res):
    j = json.loads(res.body)
    j["error"].pop("request_id", None)
    return res.status, j, sorted(k.lower() for k, _ in res.headers
                                 if k.lower() not in ("date", "x-request-id"))


def test_same_answer_and_timing_unknown_user_vs_wrong_password():
    with Server(ip_lock_failures=1000) as srv:
        ente = srv.create_ente()
        victims = [srv.create_account("operator", ente["id"])[0] for _ in range(10)]
        api, _ = srv.create_account("api", ente["id"])
        disabled, dpw = srv.create_account("operator", ente["id"])
        expect(srv.admin().post(f"/api/v1/accounts/{disabled['id']}/disable"), 200, what="disable")
        c = srv.client()
        t_unknown, t_wrong = [], []
        answers = set()
        for i, v in enumerate(victims):
            for kind in ("unknown", "wrong"):
                user = f"nobody{i}x{secrets.token_hex(3)}" if kind == "unknown" else v["username"]
                t = time.perf_counter()
                r = c.login(user, "Wrong-password-42")
                (t_unknown if kind == "unknown" else t_wrong).append(time.perf_counter() - t)
                expect(r, 401, "invalid_credentials", f"{kind} user")
                answers.add(json.dumps(_strip_id(r)))
        for user, what in ((api["username"], "api account"), (disabled["username"], "disabled account")):
            answers.add(json.dumps(_strip_id(expect(c.login(user, "Wrong-password-42"), 401,
                                                    "invalid_credentials", what))))
        eq(len(answers), 1, "answers differ between unknown user, wrong password, api, disabled")
        mu, mw = statistics.mean(t_unknown), statistics.mean(t_wrong)
        check(mu < 3 * mw and mw < 3 * mu,
              f"timing differs: unknown user {mu * 1000:.1f} ms, wrong password {mw * 1000:.1f} ms")
        # Both are recorded, an unknown name without an account.
        ev = srv.events("login_failure")
        check(any(e["account_id"] == 0 and e["username"].startswith("nobody") for e in ev),
              "login_failure of an unknown user")
        check(any(e["account_id"] == victims[0]["id"] for e in ev), "login_failure of a known user")


def _failures_then_lockout(srv, username, good_password):
    """Drives one name through the throttle; returns the Retry-After values
    seen after failures 3, 4 and 5."""
    c = srv.client()
    seen = []
    for n in range(1, 6):
        r = c.login(username, f"Wrong-password-{n}")
        expect(r, 401, "invalid_credentials", f"failure {n} of {username}")
        if n >= 3:
            probe = c.login(username, good_password or "Wrong-password-x")
            expect(probe, 429, "too_many_attempts", f"right after failure {n} (correct password)")
            check(error_shape_ok(probe), "429 error shape")
            ra = probe.header("Retry-After")
            check(ra and ra.isdigit() and int(ra) > 0, f"Retry-After {ra!r}")
            seen.append(int(ra))
        if n < 5:
            srv.advance(31)                  # past any delay, not past a day
    return seen


def test_throttling_delays_then_lockout():
    with Server() as srv:
        ente = srv.create_ente()
        op = srv.user("operator", ente["id"])
        seen = _failures_then_lockout(srv, op.username, op.password)
        check(seen[0] in (1, 2) and seen[1] in (3, 4), f"growing delays: {seen}")
        check(55 <= seen[2] <= 60, f"lockout of a minute after 5 failures: {seen}")
        check(srv.has_event("lockout", account_id=op.account["id"]), "lockout event")
        check(srv.has_event("login_throttled", username=op.username), "login_throttled event")
        # Still locked half a minute later, even with the right password.
        srv.advance(30)
        expect(srv.client().login(op.username, op.password), 429, "too_many_attempts",
               "locked 30 s later")
        srv.advance(31)
        expect(srv.client().login(op.username, op.password), 200, what="after the lockout")
        # Success clears the count: a failure now is not throttled.
        expect(srv.client().login(op.username, "Wrong-password-9"), 401, what="failure after success")
        expect(srv.client().login(op.username, op.password), 200, what="no delay after one failure")


def test_lockout_doubles():
    with Server() as srv:
        ente = srv.create_ente()
        op = srv.user("operator", ente["id"])
        _failures_then_lockout(srv, op.username, op.password)
        srv.advance(61)
        expect(srv.client().login(op.username, "Wrong-password-6"), 401, what="failure 6")
        r = expect(srv.client().login(op.username, op.password), 429, "too_many_attempts",
                   "after failure 6")
        check(110 <= int(r.header("Retry-After")) <= 120, f"doubled lockout: {r.header('Retry-After')}")
        eq(len(srv.events("lockout", account_id=op.account["id"])), 2, "two lockout events")


def test_unknown_users_are_throttled_alike():
    with Server() as srv:
        srv.admin()
        ghost = "ghost" + secrets.token_hex(3)
        seen = _failures_then_lockout(srv, ghost, None)
        check(seen[0] in (1, 2) and seen[1] in (3, 4) and 55 <= seen[2] <= 60,
              f"an unknown name is throttled like a real one: {seen}")
        ev = srv.events("lockout", username=ghost)
        check(ev and ev[0]["account_id"] == 0, "lockout event of an unknown name")
        srv.advance(61)
        expect(srv.client().login(ghost, "Wrong-password-x"), 401, "invalid_credentials",
               "unknown name after the lockout")


def test_per_address_lockout():
    with Server(ip_lock_failures=5, login_lock_failures=100) as srv:
        srv.admin()
        c = srv.client()
        for i in range(5):
            expect(c.login(f"spray{i}", "Wrong-password-1"), 401, "invalid_credentials",
                   f"spray {i}")
        r = expect(srv.client().login(srv.admin_user, srv.admin_password), 429, "too_many_attempts",
                   "a valid account from a locked address")
        check(r.header("Retry-After"), "Retry-After")
        check(srv.has_event("lockout", username="spray4"), "lockout event")
        srv.advance(61)
        expect(srv.client().login(srv.admin_user, srv.admin_password), 200,
               what="after the address lockout")


def test_password_change_is_throttled_too():
    """Guessing the current password through the password change (with a
    stolen session) must meet the same lockout as guessing at login."""
    with Server() as srv:
        ente = srv.create_ente()
        op = srv.user("operator", ente["id"])
        for n in range(5):
            expect(op.change_password(f"Guess-number-{n}", new_password()), 403,
                   "invalid_credentials", f"guess {n}")
            srv.advance(31)
        check(srv.has_event("lockout", account_id=op.account["id"]), "lockout event")
        expect(srv.client().login(op.username, op.password), 429, "too_many_attempts",
               "login while locked")
        r = op.change_password(op.password, new_password())
        eq(r.status, 429, "a password change with the right current password while locked "
                          f"({r.code}) — guessing through /auth/password is not throttled")


def test_guess_not_counted_not_checked():
    """A password is checked only once its attempt is counted: when the
    throttle's counters cannot be written (or read), a login or a password
    change is 503, the password unchecked, so a guesser cannot try without
    end while they fail.  The old server checked the password and answered
    401 to every guess, the count lost (the lockout never came)."""
    with Server() as srv:
        ente = srv.create_ente()
        op = srv.user("operator", ente["id"])
        admin = srv.admin()
        unblock = harness.db_block(srv.db, "throttle")
        for n in range(8):   # past login_lock_failures
            r = srv.client().login(op.username, f"Wrong-password-{n}")
            eq(r.status, 503, f"guess {n} while its count cannot be written ({r.code})")
            check(r.header("Retry-After"), "with Retry-After")
        eq(srv.client().login(op.username, op.password).status, 503,
           "the right password is not checked either")
        eq(op.change_password("Guess-number-1", new_password()).status, 503,
           "nor the current password at a change")
        check(not srv.has_event("login_failure", account_id=op.account["id"]),
              "no failure recorded: none was checked")
        harness.db_exec(srv.db, *unblock)
        # the counters unreadable: refused too, never taken for "no wait"
        harness.db_exec(srv.db, "ALTER TABLE throttle RENAME TO throttle_away")
        eq(srv.client().login(op.username, "Wrong-password-x").status, 503, "counters unreadable")
        harness.db_exec(srv.db, "ALTER TABLE throttle_away RENAME TO throttle")
        expect(srv.client().login(op.username, op.password), 200, what="counted again: checked")
        # and a right password takes its count back: the name is not one
        # failure nearer a lockout for a password change
        expect(op.change_password(op.password, new_password()), 200, what="a change")
        rows = harness.db_query(srv.db, "SELECT failures FROM throttle WHERE key = ?",
                                (f"u:{op.username.lower()}",))
        eq([int(r["failures"]) for r in rows], [0], "no failure left by the change")
        check(admin.get("/api/v1/auth/me").status == 200, "the admin's session unharmed")


def _closed_now_schedule(now):
    """A schedule open one hour on the day after tomorrow (Rome time), and
    the epoch of 10:30 on that day."""
    local = rome_local(now)
    day = (local.weekday() + 3) % 7
    target = (local + datetime.timedelta(days=3)).replace(hour=10, minute=30, second=0)
    naive = target.replace(tzinfo=datetime.timezone.utc).timestamp()
    t = int(naive - rome_offset(int(naive) - 3600))
    return f"{DAY_NAMES[day]} 10:00-11:00; holidays open", t


def test_outside_working_hours():
    with Server() as srv:
        spec, open_at = _closed_now_schedule(srv.now())
        ente = srv.create_ente(hours=spec)
        acc, temp = srv.create_account("operator", ente["id"])
        c = srv.client()
        expect(c.login(acc["username"], "Wrong-password-1"), 401, "invalid_credentials",
               "a wrong password outside hours says nothing about hours")
        srv.advance(31)
        expect(c.login(acc["username"], temp), 403, "outside_hours", "login outside hours")
        ev = srv.events("outside_hours", account_id=acc["id"])
        check(ev and ev[0]["detail"] == "accesso", f"outside_hours event at login: {ev}")
        srv.advance_to(open_at + 25 * 60)    # 10:55 Rome time
        loc = rome_local(srv.now())
        check((loc.hour, loc.minute // 5) == (10, 11), f"(clock at {loc} Rome time)")
        expect(c.login(acc["username"], temp), 200, what="login inside hours")
        expect(c.change_password(temp, new_password()), 200, what="change inside hours")
        expect(c.me(), 200, what="me inside hours")
        srv.advance(10 * 60)                 # 11:05: closed
        expect(c.me(), 403, "outside_hours", "the open session after closing time")
        ev = srv.events("outside_hours", account_id=acc["id"])
        check(ev and ev[0]["detail"] == "/api/v1/auth/me",
              f"outside_hours event of the request: {ev[:1]}")


def test_closed_day_and_holiday():
    with Server() as srv:
        now = srv.now()
        today = rome_local(now).date()
        ente = srv.create_ente(hours=f"mon-sun 00:00-24:00; closed {today.isoformat()}; holidays open")
        acc, temp = srv.create_account("operator", ente["id"])
        expect(srv.client().login(acc["username"], temp), 403, "outside_hours", "closed today")
        tomorrow = datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time(12))
        naive = tomorrow.replace(tzinfo=datetime.timezone.utc).timestamp()
        srv.advance_to(int(naive - rome_offset(int(naive))))
        expect(srv.client().login(acc["username"], temp), 200, what="open tomorrow")


def test_suspended_body_ends_sessions_at_once():
    with Server() as srv:
        admin = srv.admin()
        e1, e2 = srv.create_ente(), srv.create_ente()
        op = srv.user("operator", e1["id"])
        lead = srv.user("lead", e1["id"])
        other = srv.user("operator", e2["id"])
        expect(admin.patch(f"/api/v1/enti/{e1['id']}", {"state": "suspended"}), 200, what="suspend")
        expect(op.me(), 401, what="operator session of a suspended body")
        expect(lead.me(), 401, what="lead session of a suspended body")
        expect(other.me(), 200, what="another body is untouched")
        expect(srv.client().login(op.username, op.password), 403, "ente_not_active",
               "login into a suspended body")
        check(srv.has_event("ente_changed"), "ente_changed event")
        expect(admin.patch(f"/api/v1/enti/{e1['id']}", {"state": "active"}), 200, what="reactivate")
        c = srv.client()
        expect(c.login(op.username, op.password), 200, what="login after reactivation")
        expect(admin.patch(f"/api/v1/enti/{e1['id']}", {"state": "ended"}), 200, what="end")
        expect(c.me(), 401, what="session of an ended body")
        expect(admin.patch(f"/api/v1/enti/{e1['id']}", {"state": "paused"}), 400, "invalid_request",
               "unknown state")
        expect(op.patch(f"/api/v1/enti/{e2['id']}", {"state": "suspended"}), 401,
               what="(dead session)")
        expect(other.patch(f"/api/v1/enti/{e2['id']}", {"state": "suspended"}), 403, "forbidden",
               "an operator suspending a body")


def test_totp_enrolment_and_login():
    with Server() as srv:
        ente = srv.create_ente()
        u = srv.user("lead", ente["id"])
        r = expect(u.post("/api/v1/auth/totp/setup"), 200, what="setup")
        secret = r["secret"]
        check(secret in r["otpauth_uri"] and r["otpauth_uri"].startswith("otpauth://totp/"),
              "otpauth uri")
        expect(u.post("/api/v1/auth/totp/confirm", {"code": "000000" if totp(secret, srv.now()) != "000000" else "111111"}),
               400, "invalid_totp", "confirm with a wrong code")
        expect(u.post("/api/v1/auth/totp/confirm", {"code": "12345"}), 400, what="5 digits")
        now = srv.now()
        code = totp(secret, now)
        expect(u.post("/api/v1/auth/totp/confirm", {"code": code}), 200, what="confirm")
        check(srv.has_event("totp_enabled", account_id=u.account["id"]), "totp_enabled event")
        expect(u.post("/api/v1/auth/totp/setup"), 409, "totp_already_enabled", "setup again")
        check(secret not in u.me().body.decode(), "the secret is shown again")
        # Login now needs the code.
        c = srv.client()
        r = expect(c.login(u.username, u.password), 401, "totp_required", "no code")
        check("Set-Cookie" not in [k for k, _ in r.headers], "a session without the code")
        expect(c.login(u.username, u.password, "123456" if code != "123456" else "654321"),
               401, "invalid_totp", "wrong code")
        srv.advance(31)
        expect(c.login(u.username, "Wrong-password-1", totp(secret, srv.now())), 401,
               "invalid_credentials", "right code, wrong password")
        srv.advance(31)
        # The code used at confirmation cannot be replayed (same or earlier step).
        expect(c.login(u.username, u.password, code), 401, "invalid_totp", "replay of the confirm code")
        srv.advance(31)
        now = srv.now()
        code2 = totp(secret, now)
        expect(c.login(u.username, u.password, code2), 200, what="login with a fresh code")
        expect(c.me(), 200, what="session")
        expect(srv.client().login(u.username, u.password, code2), 401, "invalid_totp",
               "replay of a login code")
        ev = srv.events("login_failure", account_id=u.account["id"])
        check(any("secondo fattore" in e["detail"] for e in ev), "wrong codes are login failures")
        # The registry office resets a lost factor.
        admin = srv.admin()
        expect(admin.post(f"/api/v1/accounts/{u.account['id']}/totp/reset"), 200, what="reset")
        srv.advance(31)
        expect(srv.client().login(u.username, u.password), 200, what="login without a factor")


def _lead_with_totp(srv):
    """A lead of a new body with a second factor enrolled: (user, secret)."""
    u = srv.user("lead", srv.create_ente()["id"])
    secret = expect(u.post("/api/v1/auth/totp/setup"), 200, what="setup")["secret"]
    expect(u.post("/api/v1/auth/totp/confirm", {"code": totp(secret, srv.now())}), 200,
           what="confirm")
    return u, secret


def test_code_guess_counted_before_its_check():
    """A second factor's code is checked only once its guess is counted
    (under the count taken before the password): a wrong code is answered
    401 with its failure already in the counters, and a guess that cannot
    be counted is 503, unchecked.  The old server took the password's count
    back, checked the code, then counted its failure by a write whose error
    it ignored: with that write failing, every code guess was answered and
    none was counted (the lockout never came)."""
    with Server() as srv:
        u, secret = _lead_with_totp(srv)
        srv.advance(31)

        def wrong():
            return "123456" if totp(secret, srv.now()) != "123456" else "654321"

        def failures():
            rows = harness.db_query(srv.db, "SELECT failures FROM throttle WHERE key = ?",
                                    (f"u:{u.username.lower()}",))
            return [int(r["failures"]) for r in rows]

        harness.db_exec(srv.db, "DELETE FROM throttle")
        # a count raised on a row that exists fails; a first count (a new row) is written
        unblock = harness.db_block(srv.db, "throttle", ("UPDATE",), "NEW.failures > OLD.failures")
        expect(srv.client().login(u.username, u.password, wrong()), 401, "invalid_totp",
               "a wrong code, its count written")
        eq(failures(), [1], "the answered guess is counted")
        for what, code in (("a wrong code", wrong()), ("the right code", totp(secret, srv.now()))):
            r = srv.client().login(u.username, u.password, code)
            eq(r.status, 503, f"{what} whose count cannot be written is not checked ({r.code})")
            check(r.header("Retry-After"), "with Retry-After")
        eq(failures(), [1], "nothing counted, nothing checked")
        harness.db_exec(srv.db, *unblock)
        srv.advance(31)
        expect(srv.client().login(u.username, u.password, totp(secret, srv.now())), 200,
               what="counted again: checked")
        eq(failures(), [0], "a login that passed both factors forgives the name's failures")
        check(len(srv.events("login_failure", account_id=u.account["id"])) == 1,
              "one failure recorded: the one guess checked")


def test_totp_code_single_use_under_concurrency():
    """RFC 6238 5.2: a code accepted once must not be accepted again — also
    when the same code arrives in parallel requests."""
    import threading
    with Server() as srv:
        u, secret = _lead_with_totp(srv)
        worst = 0
        for trial in range(3):
            srv.advance(31)
            code = totp(secret, srv.now())
            statuses = []

            def attempt():
                statuses.append(srv.client().login(u.username, u.password, code).status)

            ts = [threading.Thread(target=attempt) for _ in range(4)]
            for t in ts:
                t.start()
            for t in ts:
                t.join(60)
            worst = max(worst, statuses.count(200))
            check(statuses.count(200) >= 1 or 429 in statuses, f"trial {trial}: {statuses}")
        eq(worst, 1, "logins accepted with one TOTP code sent 4 times in parallel")


def test_totp_mandatory_for_a_role():
    with Server() as srv:
        admin = srv.admin()
        ente = srv.create_ente()
        lead = srv.user("lead", ente["id"])
        op = srv.user("operator", ente["id"])
        expect(op.put("/api/v1/settings/totp-required", {"roles": ["operator"]}), 403, "forbidden",
               "an operator changing the setting")
        for bad in (["root"], ["api"], "lead", [1], None):
            expect(admin.put("/api/v1/settings/totp-required", {"roles": bad}), 400,
                   "invalid_request", f"roles {bad!r}")
        expect(admin.put("/api/v1/settings/totp-required", {"roles": ["lead"]}), 200, what="set")
        check(srv.has_event("setting_changed", account_id=srv.admin_id), "setting_changed event")
        # The open session of a lead is held at once.
        expect(lead.get("/api/v1/ente/operators"), 403, "totp_enrolment_required", "open lead session")
        c = srv.client()
        r = expect(c.login(lead.username, lead.password), 200, what="lead login")
        check(r["totp_enrolment_required"] is True, "login says enrolment is due")
        expect(c.get("/api/v1/ente/operators"), 403, "totp_enrolment_required", "lead route")
        expect(c.get(f"/api/v1/enti/{ente['id']}"), 403, "totp_enrolment_required", "another lead route")
        check(c.me()["totp_enrolment_required"] is True, "me says enrolment is due")
        # Other roles are not affected.
        check(op.me()["totp_enrolment_required"] is False, "operator unaffected")
        expect(admin.get("/api/v1/accounts"), 200, what="admin unaffected")
        secret = expect(c.post("/api/v1/auth/totp/setup"), 200, what="setup")["secret"]
        expect(c.get("/api/v1/ente/operators"), 403, "totp_enrolment_required", "set up, not confirmed")
        expect(c.post("/api/v1/auth/totp/confirm", {"code": totp(secret, srv.now())}), 200, what="confirm")
        expect(c.get("/api/v1/ente/operators"), 200, what="after enrolment")
        srv.advance(31)
        expect(srv.client().login(lead.username, lead.password), 401, "totp_required",
               "login now needs the code")
        expect(admin.put("/api/v1/settings/totp-required", {"roles": []}), 200, what="unset")


def test_role_checks():
    with Server() as srv:
        admin = srv.admin()
        e1, e2 = srv.create_ente(), srv.create_ente()
        op = srv.user("operator", e1["id"])
        lead = srv.user("lead", e1["id"])
        aud = srv.user("auditor")
        new = {"username": "intruder", "role": "admin", "full_name": "X",
               "codice_fiscale": "RSSMRA80A01F257G", "email": "x@example.org"}
        for who, c in (("operator", op), ("lead", lead), ("auditor", aud)):
            expect(c.post("/api/v1/accounts", new), 403, "forbidden", f"{who} creates an admin")
            expect(c.get("/api/v1/accounts"), 403, "forbidden", f"{who} lists accounts")
            expect(c.get("/api/v1/outbox"), 403, "forbidden", f"{who} reads the outbox")
            expect(c.put("/api/v1/settings/totp-required", {"roles": []}), 403, "forbidden",
                   f"{who} changes settings")
            expect(c.post(f"/api/v1/accounts/{srv.admin_id}/disable"), 403, "forbidden",
                   f"{who} disables the admin")
            expect(c.post(f"/api/v1/accounts/{op.account['id']}/reset"), 403, "forbidden",
                   f"{who} resets a password")
            expect(c.get("/api/v1/enti"), 403, "forbidden", f"{who} lists bodies")
            expect(c.post("/api/v1/operator-requests/1/approve"), 403, "forbidden", f"{who} approves")
        for who, c in (("operator", op), ("lead", lead)):
            expect(c.get("/api/v1/security-events"), 403, "forbidden", f"{who} reads security events")
        expect(op.get("/api/v1/ente/operators"), 403, "forbidden", "operator on a lead route")
        expect(aud.get("/api/v1/ente/operators"), 403, "forbidden", "auditor on a lead route")
        ev = expect(aud.get("/api/v1/security-events"), 200, what="auditor reads security events")
        check(len(ev["events"]) > 0, "events visible to the auditor")
        names = [a["username"] for a in admin.get("/api/v1/accounts").json["accounts"]]
        check("intruder" not in names, "an account was created by a non-admin")
        # A lead sees its own body and accounts only.
        expect(lead.get(f"/api/v1/enti/{e1['id']}"), 200, what="own body")
        expect(lead.get(f"/api/v1/enti/{e2['id']}"), 403, "forbidden", "another body")
        expect(lead.get(f"/api/v1/accounts/{op.account['id']}"), 200, what="own operator")
        expect(lead.get(f"/api/v1/accounts/{srv.admin_id}"), 403, "forbidden", "the admin's account")
        expect(lead.get(f"/api/v1/accounts/{aud.account['id']}"), 403, "forbidden", "the auditor")
        check(srv.has_event("forbidden", account_id=op.account["id"]), "forbidden event")
        # Roles cannot be smuggled in through account creation.
        bad = dict(new, role="superuser", username="smuggle")
        expect(admin.post("/api/v1/accounts", bad), 400, "invalid_request", "unknown role")
        expect(admin.post("/api/v1/accounts", dict(new, username="adm2", ente_id=e1["id"])), 400,
               "invalid_request", "an admin tied to a body")
        expect(admin.post("/api/v1/accounts", dict(new, username="op2", role="operator")), 400,
               "invalid_request", "an operator without a body")
        expect(admin.post("/api/v1/accounts", dict(new, username="op3", role="operator",
                                                   ente_id=999999)), 404, "not_found",
               "an operator of no body")


def test_injection_attempts():
    with Server() as srv:
        admin = srv.admin()
        before = len(admin.get("/api/v1/accounts").json["accounts"])
        c = srv.client()
        names = ["admin' OR '1'='1", "admin'--", "admin\"; DROP TABLE account; --",
                 "' UNION SELECT password_hash FROM account --", "admin%", "adm_n", "*",
                 "../../../etc/passwd", "<script>alert(1)</script>", "\u0430dmin", "ADMIN",
                 "admin ", " admin", "admin\u200b", "\U0001F600" * 16]
        for n in names:
            r = c.login(n, srv.admin_password)
            check(r.status in (400, 401), f"username {n!r}: {r}")
            check(error_shape_ok(r), f"username {n!r}: error shape")
            srv.advance(31)
        for pw in ("' OR ''='", "x' OR 1=1 --", "%", "*"):
            expect(c.login(srv.admin_user, pw), 401, "invalid_credentials", f"password {pw!r}")
            srv.advance(31)
        srv.advance(DAY + 1)                 # forgive the failures above
        admin = srv.admin()
        for raw in (b'{"username":"admin\\u0000","password":"x"}',
                    b'{"username":"admin","password":"' + b"\\u0000" * 10 + b'"}',
                    b'{"username":"adm\xedn","password":"xxxxxxxxxxxx"}',
                    b'{"username":"' + b"a" * 200000 + b'","password":"x"}',
                    b'{"username":"admin","password":"' + b"p" * 100000 + b'"}',
                    b'{"username":{"$ne":null},"password":{"$ne":null}}',
                    b'{"username":"admin","password":"x","username":"root"}'):
            r = c.post("/api/v1/auth/login", raw=raw)
            check(r.status == 400, f"raw {raw[:60]!r}: {r}")
            check(error_shape_ok(r), "error shape")
        # Query parameters and path ids.
        for q in ("kind=x'%20OR%201=1--", "kind=%27", "account_id=1%20OR%201=1",
                  "username=admin'--", "account_id=-1", "account_id=99999999999999999999999"):
            r = admin.get("/api/v1/security-events?" + q)
            check(r.status in (200, 400), f"security-events?{q}: {r}")
            if q.startswith("kind"):
                eq(r["events"], [], f"?{q} matched events")
        for p in ("1'", "1%20OR%201=1", "-1", "0", "01", "99999999999999999999", "1;DROP", "%00",
                  "..%2f..%2f"):
            r = admin.get("/api/v1/accounts/" + p)
            check(r.status in (400, 404), f"/accounts/{p}: {r}")
        # Text stored and given back literally.
        ente = srv.create_ente(name="Ente O'Brien \"quoted\"; DROP TABLE ente;--")
        acc, _ = srv.create_account("operator", ente["id"])
        r = admin.patch(f"/api/v1/enti/{ente['id']}", {"pec": "pec'; --@example.org"})
        expect(r, 200, what="patch with quotes")
        got = expect(admin.get(f"/api/v1/enti/{ente['id']}"), 200, what="read back")
        eq(got["name"], "Ente O'Brien \"quoted\"; DROP TABLE ente;--", "name read back")
        eq(got["pec"], "pec'; --@example.org", "pec read back")
        # Mail header injection through the address.
        bad = {"username": "mailinj", "role": "auditor", "full_name": "X",
               "codice_fiscale": "RSSMRA80A01F257G", "email": "a@example.org\r\nBcc: x@evil.org"}
        expect(admin.post("/api/v1/accounts", bad), 400, "invalid_request", "CRLF in email")
        bad["email"] = "a@example.org, x@evil.org"
        expect(admin.post("/api/v1/accounts", bad), 400, "invalid_request", "two addresses")
        bad["email"] = "a@example.org"
        bad["full_name"] = "X\r\nSubject: hi"
        expect(admin.post("/api/v1/accounts", bad), 400, "invalid_request", "CRLF in the name")
        after = admin.get("/api/v1/accounts").json["accounts"]
        eq(len(after), before + 1, "accounts after the attempts")
        expect(srv.client().login(srv.admin_user, srv.admin_password), 200,
               what="the admin still logs in")
        expect(c.get("/healthz"), 200, what="alive")


def test_duplicate_body_name_on_update():
    """Renaming a body to the name of another is a conflict, not a server
    failure."""
    with Server() as srv:
        admin = srv.admin()
        a, b = srv.create_ente(), srv.create_ente()
        r = admin.patch(f"/api/v1/enti/{b['id']}", {"name": a["name"]})
        check(r.status in (400, 409), f"rename onto an existing name: {r}")
        expect(admin.post("/api/v1/enti", {"name": a["name"], "kind": "other",
                                           "tax_code": "01234567890"}), 409, "conflict",
               "create with an existing name")


def test_event_kinds_recorded():
    """Every kind of security event the lifecycle produces is there, with
    the account, the body and the address."""
    with Server() as srv:
        admin = srv.admin()
        ente = srv.create_ente()
        op = srv.user("operator", ente["id"])
        expect(srv.client().login(op.username, "Wrong-password-1"), 401, what="failure")
        api, _ = srv.create_account("api", ente["id"])
        t = expect(admin.post(f"/api/v1/accounts/{api['id']}/tokens", {"name": "k"}), 201,
                   what="token")
        expect(admin.delete(f"/api/v1/tokens/{t['id']}"), 200, what="revoke")
        expect(admin.post(f"/api/v1/accounts/{op.account['id']}/disable"), 200, what="disable")
        expect(admin.post(f"/api/v1/accounts/{op.account['id']}/enable"), 200, what="enable")
        expect(admin.post(f"/api/v1/accounts/{op.account['id']}/renew"), 200, what="renew")
        for i in range(5):
            srv.client().login(op.username, f"Wrong-password-{i}")
            srv.advance(31)
        want = {"login_success": op.account["id"], "login_failure": op.account["id"],
                "lockout": op.account["id"], "password_changed": op.account["id"],
                "temporary_password_issued": op.account["id"],
                "account_disabled": op.account["id"], "account_enabled": op.account["id"],
                "renewal": op.account["id"], "account_created": op.account["id"],
                "token_created": api["id"], "token_revoked": api["id"]}
        for kind, acc_id in want.items():
            ev = srv.events(kind, account_id=acc_id)
            check(ev, f"no {kind} event")
            e = ev[0]
            eq(e["kind"], kind, "kind filter")
            eq(e["ente_id"], ente["id"], f"{kind}: ente_id")
            eq(e["ip"], "127.0.0.1", f"{kind}: ip")
            check(parse_time(e["at"]) is not None, "at")
        # The auditor sees the same.
        aud = srv.user("auditor")
        got = expect(aud.get(f"/api/v1/security-events?kind=lockout&account_id={op.account['id']}"),
                     200, what="auditor filter")["events"]
        check(got, "auditor sees the lockout")


if __name__ == "__main__":
    run_tests(globals())
