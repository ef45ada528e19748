#!/usr/bin/env python3
"""End-to-end: the credential lifecycle — temporary passwords, password
policy and age, 12-month credentials with automatic expiry, the lead's
yearly renewal and reminders, disabling, operator requests.

usage: test_lifecycle.py PATH/TO/visura [TEST...]
"""
import re
import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import (DAY, Server, check, eq, expect, new_cf, new_password, parse_time,
                     run_tests)


def _months_later(t0, t1, months=12):
    """t1 is t0 plus `months` calendar months (same time of day)."""
    import datetime
    a = datetime.datetime.fromtimestamp(t0, datetime.timezone.utc)
    b = datetime.datetime.fromtimestamp(t1, datetime.timezone.utc)
    m = a.month - 1 + months
    y, m = a.year + m // 12, m % 12 + 1
    return (b.year, b.month, b.time()) == (y, m, a.time()) and b.day in (a.day, a.day - 1, a.day - 2, a.day - 3)


def test_first_login_requires_password_change():
    with Server() as srv:
        ente = srv.create_ente()
        for role, eid, route in (("lead", ente["id"], "/api/v1/ente/operators"),
                                 ("admin", None, "/api/v1/accounts"),
                                 ("auditor", None, "/api/v1/security-events")):
            acc, temp = srv.create_account(role, eid)
            check(acc["temporary_password"] is True, "created with a temporary password")
            check(srv.has_event("temporary_password_issued", account_id=acc["id"]),
                  "temporary_password_issued event")
            c = srv.client()
            r = expect(c.login(acc["username"], temp), 200, what=f"{role} first login")
            check(r["must_change_password"] is True, "must_change_password at first login")
            expect(c.get(route), 403, "password_change_required", f"{role} before the change")
            me = expect(c.me(), 200, what="me is allowed")
            check(me["must_change_password"] is True, "me says must change")
            expect(c.change_password("wrong-current-pass", new_password()), 403,
                   "invalid_credentials", "wrong current password")
            expect(c.change_password(temp, temp), 400, "password_policy",
                   "the temporary password as the new one")
            pw = new_password()
            r = expect(c.change_password(temp, pw), 200, what="change")
            check(r["changed"] is True, "changed")
            expect(c.get(route), 200, what=f"{role} after the change")
            check(c.me()["must_change_password"] is False, "me after the change")
            check(srv.has_event("password_changed", account_id=acc["id"]), "password_changed event")
            check(srv.has_event("login_success", account_id=acc["id"]), "login_success event")
            check(srv.has_event("login_failure", account_id=acc["id"]),
                  "login_failure event for the wrong current password")
            # The temporary password is gone.
            expect(srv.client().login(acc["username"], temp), 401, "invalid_credentials",
                   "old temporary password")
            srv.advance(31)                  # past the growing delay of two failures
            r = expect(srv.client().login(acc["username"], pw), 200, what="new password")
            check(r["must_change_password"] is False, "no change needed any more")


def test_password_policy():
    with Server() as srv:
        ente = srv.create_ente()
        acc, temp = srv.create_account("lead", ente["id"])
        user = acc["username"]
        c = srv.client()
        expect(c.login(user, temp), 200, what="login")
        refused = {
            "short": "Ab3!efgh-jk",                          # 11 characters
            "user id": f"Zz9!{user}!x",
            "user id, other case": f"Zz9!{user.upper()}!x",
            "common": "password1234",
            "common, other case": "PASSWORD1234",
            "common 2": "qwertyuiop123",
            "too long": "A" * 257,
        }
        for what, pw in refused.items():
            r = c.change_password(temp, pw)
            check(r.status == 400 and r.code in ("password_policy", "invalid_request"),
                  f"{what} password {pw[:30]!r} accepted: {r}")
        r = c.change_password(temp, "password1234")
        check("comune" in r.json["error"]["message"], "message says why")
        expect(c.change_password(temp, "Ab3\u0007efgh-jkl"), 400, what="control character")
        # 12 characters, some multibyte, is enough.
        current = temp
        history = []
        for pw in ("pàsswörd-çhé", new_password(), new_password(), new_password(), new_password(),
                   new_password()):
            expect(c.change_password(current, pw), 200, what=f"change to {pw!r}")
            history.append(pw)
            current = pw
        # The last five (the current one included) cannot come back.
        for pw in history[-5:]:
            r = expect(c.change_password(current, pw), 400, "password_policy", f"reuse of {pw!r}")
            check("recente" in r.json["error"]["message"], "reuse message")
        eq(len(srv.events("password_changed", account_id=acc["id"])), 6, "password_changed events")


def test_temporary_password_expires_after_7_days():
    with Server() as srv:
        ente = srv.create_ente()
        acc, temp = srv.create_account("operator", ente["id"])
        srv.advance(7 * DAY - 120)
        c = srv.client()
        r = expect(c.login(acc["username"], temp), 200, what="login on day 7, 2 minutes early")
        check(r["must_change_password"], "must change")
        srv.advance(180)
        expect(c.me(), 401, "temporary_password_expired", "the open session once it expired")
        expect(c.me(), 401, "temporary_password_expired", "and the session stays closed, with its reason")
        expect(srv.client().login(acc["username"], temp), 403, "temporary_password_expired",
               "login with an expired temporary password")
        check(srv.has_event("login_refused", account_id=acc["id"]), "login_refused event")
        # A wrong password does not reveal the state.
        expect(srv.client().login(acc["username"], "wrong-password-99"), 401,
               "invalid_credentials", "wrong password of an expired account")
        # The registry office issues a new one.
        admin = srv.admin()
        r = expect(admin.post(f"/api/v1/accounts/{acc['id']}/reset"), 200, what="reset")
        check(temp not in r.body.decode(), "the reset answer shows a password")
        temp2 = srv.temp_password(acc["email"])
        check(temp2 != temp, "a new temporary password")
        eq(len(srv.events("temporary_password_issued", account_id=acc["id"])), 2,
           "temporary_password_issued events")
        expect(srv.client().login(acc["username"], temp), 401, "invalid_credentials", "old temp")
        srv.advance(31)                      # past the growing delay of two failures
        c = srv.client()
        expect(c.login(acc["username"], temp2), 200, what="new temp")
        expect(c.change_password(temp2, new_password()), 200, what="change")


def test_reset_ends_sessions():
    with Server() as srv:
        admin = srv.admin()
        ente = srv.create_ente()
        op = srv.user("operator", ente["id"])
        expect(op.me(), 200, what="before")
        expect(admin.post(f"/api/v1/accounts/{op.account['id']}/reset"), 200, what="reset")
        expect(op.me(), 401, what="session after a reset")
        expect(srv.client().login(op.username, op.password), 401, "invalid_credentials",
               "the old password after a reset")


def test_password_max_age_182_days():
    with Server() as srv:
        ente = srv.create_ente()
        lead = srv.user("lead", ente["id"])
        srv.advance(182 * DAY - 300)
        c = srv.client()
        r = expect(c.login(lead.username, lead.password), 200, what="5 minutes before 182 days")
        check(r["must_change_password"] is False, "no change needed before 182 days")
        expect(c.get("/api/v1/ente/operators"), 200, what="lead route before 182 days")
        srv.advance(600)
        expect(c.get("/api/v1/ente/operators"), 403, "password_change_required",
               "the open session once the password is 182 days old")
        c2 = srv.client()
        r = expect(c2.login(lead.username, lead.password), 200, what="login on day 182")
        check(r["must_change_password"] is True, "must change after 182 days")
        expect(c2.get("/api/v1/ente/operators"), 403, "password_change_required", "lead route")
        expect(c2.change_password(lead.password, lead.password), 400, "password_policy",
               "the same password again")
        expect(c2.change_password(lead.password, new_password()), 200, what="change")
        expect(c2.get("/api/v1/ente/operators"), 200, what="after the change")


def test_credentials_expire_after_12_months():
    with Server() as srv:
        ente = srv.create_ente()
        t0 = srv.now()
        op = srv.user("operator", ente["id"])
        lead = srv.user("lead", ente["id"])
        acc = srv.admin().get(f"/api/v1/accounts/{op.account['id']}").json
        exp = parse_time(acc["expires_at"])
        check(_months_later(parse_time(acc["issued_at"]), exp), f"12 months: {acc['issued_at']} -> "
                                                               f"{acc['expires_at']}")
        check(abs(parse_time(acc["issued_at"]) - t0) < 10, "issued now")
        srv.advance_to(exp - 30 * DAY)
        srv.admin()                          # renews the harness's own admin in time
        srv.advance_to(exp - 300)
        c = srv.client()
        r = expect(c.login(op.username, op.password), 200, what="5 minutes before expiry")
        check(r["must_change_password"] is True, "(password is older than 182 days)")
        expect(c.me(), 200, what="me before expiry")
        clock = srv.advance(600)
        check(clock["disabled"] >= 2, f"maintenance disabled {clock['disabled']} accounts")
        expect(c.me(), 401, what="the open session after expiry")
        expect(c.me(), 401, "account_disabled", "the session stays closed, with its reason")
        expect(srv.client().login(op.username, op.password), 403, "account_disabled",
               "login after expiry")
        a = srv.admin().get(f"/api/v1/accounts/{op.account['id']}").json
        eq(a["state"], "disabled", "state")
        eq(a["disabled_reason"], "expired", "disabled_reason")
        check(srv.has_event("credentials_expired", account_id=op.account["id"]),
              "credentials_expired event")
        check(srv.has_event("credentials_expired", account_id=lead.account["id"]),
              "the lead expired too")
        expect(srv.admin().me(), 200, what="the renewed admin is fine")


def _cli(srv, *args):
    """`visura ARGS --db DB` on the server, at the server's (test) time."""
    import datetime
    import os
    import subprocess
    now = datetime.datetime.fromtimestamp(srv.now(), datetime.timezone.utc)
    env = dict(os.environ, VISURA_TEST_NOW=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    p = subprocess.run([harness.VISURA, *args, "--db", srv.db], capture_output=True, text=True,
                       env=env)
    return p.returncode, p.stdout + p.stderr


def test_only_admin_recovers_on_the_server():
    """The only administrator's credentials expire after 12 months and the
    account is disabled: on the server, `visura user reset` gives a
    temporary password but leaves the state alone (and says so), `visura
    user renew` makes an account disabled only by its expiry active again,
    `visura user enable` re-enables an account disabled for any reason and
    renews expired credentials, `visura user totp-reset` removes a lost
    second factor."""
    with Server() as srv:
        ente = srv.create_ente()
        op1 = srv.user("operator", ente["id"])
        op2 = srv.user("operator", ente["id"])
        op3 = srv.user("operator", ente["id"])
        admin = srv.admin()
        expect(admin.post(f"/api/v1/accounts/{op1.account['id']}/disable", {"reason": "test"}),
               200, what="disable op1")
        exp = parse_time(admin.me()["expires_at"])
        srv.advance_to(exp + DAY)
        expect(srv.client().login(srv.admin_user, srv.admin_password), 403, "account_disabled",
               "the only admin after 12 months")
        # reset: a temporary password; the account stays disabled, and it is said
        rc, out = _cli(srv, "user", "reset", srv.admin_user)
        eq(rc, 0, f"user reset: {out}")
        check(f"visura user enable {srv.admin_user}" in out, f"reset says what is missing: {out!r}")
        temp = re.search(r"password temporanea di \S+ \(.*\): (\S+)", out).group(1)
        expect(srv.client().login(srv.admin_user, temp), 403, "account_disabled",
               "a reset does not enable")
        # renew: disabled only by the expiry, so active again
        rc, out = _cli(srv, "user", "renew", srv.admin_user)
        eq(rc, 0, f"user renew: {out}")
        c = srv.client()
        r = expect(c.login(srv.admin_user, temp), 200, what="login after renew")
        check(r["must_change_password"], "the temporary password must be changed")
        pw = new_password()
        expect(c.change_password(temp, pw), 200, what="password change")
        srv.admin_password, srv._admin = pw, None
        me = expect(c.me(), 200, what="me").json
        check(parse_time(me["expires_at"]) - srv.now() > 360 * DAY, f"renewed: {me['expires_at']}")
        expect(c.get("/api/v1/accounts"), 200, what="the admin works again")
        check(srv.has_event("renewal", account_id=me["id"]), "renewal event")
        # renew leaves an account disabled by an admin disabled, and says so
        rc, out = _cli(srv, "user", "renew", op1.username)
        eq(rc, 0, f"renew op1: {out}")
        check(f"visura user enable {op1.username}" in out, f"renew says it stays disabled: {out!r}")
        expect(srv.client().login(op1.username, op1.password), 403, "account_disabled",
               "renew does not lift an admin's disabling")
        # enable: any disabled account; expired credentials renewed too
        for u in (op1, op2):
            rc, out = _cli(srv, "user", "enable", u.username)
            eq(rc, 0, f"user enable {u.username}: {out}")
            r = expect(srv.client().login(u.username, u.password), 200,
                       what=f"login of {u.username} after enable")
            a = expect(c.get(f"/api/v1/accounts/{u.account['id']}"), 200).json
            eq((a["state"], a["disabled_reason"] or ""), ("active", ""), "state after enable")
            check(parse_time(a["expires_at"]) > srv.now() + 300 * DAY,
                  f"expired credentials renewed by enable: {a['expires_at']}")
            check(srv.has_event("account_enabled", account_id=u.account["id"]),
                  "account_enabled event")
        # the API's renew does the same as the command line's
        expect(c.post(f"/api/v1/accounts/{op3.account['id']}/renew"), 200, what="API renew")
        expect(srv.client().login(op3.username, op3.password), 200,
               what="login after the API renewed expired credentials")
        rc, out = _cli(srv, "user", "enable", "nobody.here")
        check(rc != 0 and "nessuna utenza" in out, f"enable of an unknown user: {rc} {out!r}")
        # a lost second factor is removed on the server too
        secret = expect(c.post("/api/v1/auth/totp/setup"), 200, what="totp setup")["secret"]
        expect(c.post("/api/v1/auth/totp/confirm", {"code": harness.totp(secret, srv.now())}), 200,
               what="totp confirm")
        expect(srv.client().login(srv.admin_user, pw), 401, "totp_required", "the code is asked")
        rc, out = _cli(srv, "user", "totp-reset", srv.admin_user)
        eq(rc, 0, f"user totp-reset: {out}")
        expect(srv.client().login(srv.admin_user, pw), 200, what="login after totp-reset")


def test_cli_disable_refused_at_next_request():
    """An account disabled with `visura user disable` while the server runs
    is refused at its very next request, with its reason: the server keeps
    the account in its cache of control records, and the change moves the
    generation that cache is valid for.  `visura user enable` lets it log in
    again at once."""
    with Server() as srv:
        ente = srv.create_ente()
        op = srv.user("operator", ente["id"])
        for _ in range(2):
            expect(op.me(), 200, what="before (the account read, then kept)")
        rc, out = _cli(srv, "user", "disable", op.username)
        eq(rc, 0, f"visura user disable: {out}")
        expect(op.me(), 401, "account_disabled", "the very next request, with its reason")
        expect(srv.client().login(op.username, op.password), 403, "account_disabled",
               "login while disabled")
        rc, out = _cli(srv, "user", "enable", op.username)
        eq(rc, 0, f"visura user enable: {out}")
        c = srv.client()
        expect(c.login(op.username, op.password), 200, what="login at once after enable")
        expect(c.me(), 200, what="and a request")


def test_init_takes_the_first_admins_name_and_email():
    import os
    import subprocess
    import tempfile
    d = tempfile.mkdtemp(prefix="visura-init-")
    db = harness.new_database(d, "init")

    def init(*args):
        p = subprocess.run([harness.VISURA, "init", "--db", db, *args], capture_output=True,
                           text=True)
        return p.returncode, p.stdout, p.stderr

    for args in ((), ("--admin-email", "a.verdi@comune.example.it"), ("--admin-name", "Anna Verdi"),
                 ("--admin-name", "Anna Verdi", "--admin-email", "admin@localhost"),
                 ("--admin-name", "", "--admin-email", "a.verdi@comune.example.it")):
        rc, out, err = init(*args)
        eq(rc, 2, f"init {args}: {out} {err}")
        check("first admin" not in out, f"no admin created by init {args}")
        check("--admin-name" in err or "--admin-email" in err, f"a clear refusal: {err!r}")
    rc, out, err = init("--admin-name", "Anna Verdi", "--admin-email", "a.verdi@comune.example.it")
    eq(rc, 0, f"init: {err}")
    rows = harness.db_query(db, "SELECT username, full_name, email FROM account WHERE role = 'admin'")
    eq([(r["username"], r["full_name"], r["email"]) for r in rows],
       [("admin", "Anna Verdi", "a.verdi@comune.example.it")], "the first admin")
    rc, out, err = init()
    eq(rc, 0, f"init again (an admin exists): {err}")
    eq(len(harness.db_query(db, "SELECT id FROM account")), 1, "no second admin")


def _login(c, username, password):
    """Logs in; changes an aged password.  Returns the password in use."""
    r = expect(c.login(username, password), 200, what=f"login of {username}")
    if r["must_change_password"]:
        pw = new_password()
        expect(c.change_password(password, pw), 200, what="aged password")
        return pw
    return password


def _renewal_fixture(srv):
    e1 = srv.create_ente()
    e2 = srv.create_ente()
    lead, temp = srv.create_account("lead", e1["id"])
    ops = [srv.create_account("operator", e1["id"]) for _ in range(3)]
    api, _ = srv.create_account("api", e1["id"])
    other, _ = srv.create_account("operator", e2["id"])
    return e1, e2, (lead, temp), ops, api, other


def test_renewal_by_lead():
    with Server() as srv:
        e1, e2, (lead, temp), ops, api, other = _renewal_fixture(srv)
        lc = srv.client()
        expect(lc.login(lead["username"], temp), 200, what="lead login")
        lead_pw = new_password()
        expect(lc.change_password(temp, lead_pw), 200, what="lead password")
        keep = [ops[0][0]["id"], api["id"], other["id"]]
        body = {"keep": keep, "purposes_confirmed": True}
        expect(lc.post("/api/v1/ente/renewal", body), 409, "renewal_not_open", "a year early")
        expires = parse_time(lead["expires_at"])
        srv.advance_to(expires - 61 * DAY)
        lead_pw = _login(lc, lead["username"], lead_pw)
        expect(lc.post("/api/v1/ente/renewal", body), 409, "renewal_not_open", "61 days before")
        check(not [m for m in srv.outbox(lead["email"]) if m["kind"] == "reminder"],
              "reminder before the window")
        srv.advance(2 * DAY)                 # 59 days before: the window is open
        rem = [m for m in srv.outbox(lead["email"]) if m["kind"] == "reminder"]
        eq(len(rem), 1, "reminders to the lead when renewal opens")
        adm = [m for m in srv.outbox(harness.ADMIN_EMAIL) if m["kind"] == "reminder"]
        eq(len(adm), 1, "reminders to the admin")
        check(srv.has_event("renewal_reminder", account_id=lead["id"]), "renewal_reminder event")
        srv.advance(DAY)
        eq(len([m for m in srv.outbox(lead["email"]) if m["kind"] == "reminder"]), 1,
           "the reminder is sent once")
        # Bad requests.
        lead_pw = _login(lc, lead["username"], lead_pw)
        expect(lc.post("/api/v1/ente/renewal", {"keep": keep}), 400, "invalid_request",
               "purposes not confirmed")
        expect(lc.post("/api/v1/ente/renewal", {"keep": keep, "purposes_confirmed": "yes"}), 400,
               "invalid_request", "purposes as a string")
        expect(lc.post("/api/v1/ente/renewal", {"keep": 5, "purposes_confirmed": True}), 400,
               "invalid_request", "keep not a list")
        # An operator that is not kept, logged in right now.
        dropped, dropped_temp = ops[1]
        dc = srv.client()
        expect(dc.login(dropped["username"], dropped_temp), 403, "temporary_password_expired",
               "(temporary password of an operator that never logged in)")
        srv.admin().post(f"/api/v1/accounts/{dropped['id']}/reset")
        dropped_temp = srv.temp_password(dropped["email"])
        expect(dc.login(dropped["username"], dropped_temp), 200, what="dropped operator login")
        now = srv.now()
        r = expect(lc.post("/api/v1/ente/renewal", body), 200, what="renewal")
        eq(r.json, {"renewed": 3, "disabled": 2}, "renewal counts (lead, op0, api / op1, op2)")
        admin = srv.admin()
        for acc in (lead, ops[0][0], api):
            a = admin.get(f"/api/v1/accounts/{acc['id']}").json
            eq(a["state"], "active", f"{acc['username']} state")
            check(abs(parse_time(a["issued_at"]) - now) < 30, f"{acc['username']} issued now")
            check(_months_later(parse_time(a["issued_at"]), parse_time(a["expires_at"])),
                  f"{acc['username']} extended by 12 months: {a['expires_at']}")
            check(srv.has_event("renewal", account_id=acc["id"]), f"renewal event of {acc['username']}")
        for acc, _ in ops[1:]:
            a = admin.get(f"/api/v1/accounts/{acc['id']}").json
            eq(a["state"], "disabled", f"{acc['username']} not kept")
            eq(a["disabled_reason"], "non confermata al rinnovo annuale", "reason")
            check(srv.has_event("account_disabled", account_id=acc["id"]),
                  f"account_disabled event of {acc['username']}")
        expect(dc.me(), 401, what="the dropped operator's session ends at once")
        # Another body's operator listed in `keep` is not touched.
        o = admin.get(f"/api/v1/accounts/{other['id']}").json
        eq(o["expires_at"], other["expires_at"], "another body's operator renewed by this lead")
        eq(o["state"], "active", "another body's operator")
        # Past the old expiry the renewed stay, the other body's operator goes.
        srv.advance_to(expires + 3600)
        srv.admin()
        lead_pw = _login(srv.client(), lead["username"], lead_pw)
        o = srv.admin().get(f"/api/v1/accounts/{other['id']}").json
        eq(o["state"], "disabled", "the other body's operator expired")
        # Renewal closed again for a year.
        lead_pw = _login(lc, lead["username"], lead_pw)
        expect(lc.post("/api/v1/ente/renewal", {"keep": [], "purposes_confirmed": True}), 409,
               "renewal_not_open", "right after renewing")


def test_renewal_leaves_unlisted_lead_alone():
    """A second lead of the body, not listed in `keep`, is neither renewed
    nor disabled — and the security log must not say it was renewed."""
    with Server() as srv:
        e1 = srv.create_ente()
        l1 = srv.user("lead", e1["id"])
        l2 = srv.user("lead", e1["id"])
        exp = parse_time(l1.account["expires_at"])
        srv.advance_to(exp - 30 * DAY)
        srv.admin()
        c = srv.client()
        _login(c, l1.username, l1.password)
        expect(c.post("/api/v1/ente/renewal", {"keep": [], "purposes_confirmed": True}), 200,
               what="renewal")
        a2 = srv.admin().get(f"/api/v1/accounts/{l2.account['id']}").json
        eq(a2["expires_at"], l2.account["expires_at"], "second lead's expiry")
        eq(a2["state"], "active", "second lead's state")
        eq(srv.events("renewal", account_id=l2.account["id"]), [],
           "a 'renewal' security event for a lead that was not renewed")


def test_lead_disables_own_operator_only():
    with Server() as srv:
        admin = srv.admin()
        e1, e2 = srv.create_ente(), srv.create_ente()
        lead = srv.user("lead", e1["id"])
        lead2 = srv.user("lead", e1["id"])
        op = srv.user("operator", e1["id"])
        foreign = srv.user("operator", e2["id"])
        expect(op.me(), 200, what="operator session")
        lst = expect(lead.get("/api/v1/ente/operators"), 200, what="own operators")
        ids = {a["id"] for a in lst["accounts"]}
        check(op.account["id"] in ids and foreign.account["id"] not in ids, "own operators list")
        expect(lead.post(f"/api/v1/ente/operators/{foreign.account['id']}/disable"), 403,
               "forbidden", "another body's operator")
        expect(lead.post(f"/api/v1/ente/operators/{lead2.account['id']}/disable"), 403,
               "forbidden", "another lead of the body")
        expect(lead.post(f"/api/v1/ente/operators/{srv.admin_id}/disable"), 403,
               "forbidden", "the admin")
        expect(lead.post(f"/api/v1/accounts/{op.account['id']}/disable"), 403, "forbidden",
               "the admin route")
        expect(lead.post("/api/v1/ente/operators/999999/disable"), 404, "not_found", "nobody")
        expect(foreign.me(), 200, what="the foreign operator is untouched")
        expect(lead2.me(), 200, what="the other lead is untouched")
        r = expect(lead.post(f"/api/v1/ente/operators/{op.account['id']}/disable"), 200,
                   what="disable own operator")
        eq(r["state"], "disabled", "state")
        expect(op.me(), 401, what="the operator's session ends at once")
        expect(srv.client().login(op.username, op.password), 403, "account_disabled",
               "login of the disabled operator")
        ev = srv.events("account_disabled", account_id=op.account["id"])
        check(ev and ev[0]["detail"] == lead.username, f"event names the lead: {ev}")
        expect(admin.get(f"/api/v1/accounts/{foreign.account['id']}"), 200, what="admin view")


def test_admin_disables_anyone():
    with Server() as srv:
        admin = srv.admin()
        e1 = srv.create_ente()
        users = [srv.user(role, eid) for role, eid in
                 (("lead", e1["id"]), ("operator", e1["id"]), ("auditor", None), ("admin", None))]
        for u in users:
            expect(u.me(), 200, what=f"{u.account['role']} before")
            r = expect(admin.post(f"/api/v1/accounts/{u.account['id']}/disable",
                                  {"reason": "left the office"}), 200, what="disable")
            eq(r["disabled_reason"], "left the office", "reason")
            expect(u.me(), 401, what=f"{u.account['role']} session after disable")
            expect(srv.client().login(u.username, u.password), 403, "account_disabled",
                   f"{u.account['role']} login after disable")
            check(srv.has_event("account_disabled", account_id=u.account["id"]),
                  "account_disabled event")
        expect(admin.post(f"/api/v1/accounts/{srv.admin_id}/disable"), 409, "conflict",
               "an admin disabling themselves")
        expect(admin.post("/api/v1/accounts/999999/disable"), 404, "not_found", "nobody")
        # A disabled admin cannot act.
        expect(users[3].post(f"/api/v1/accounts/{users[1].account['id']}/enable"), 401,
               what="disabled admin acting")
        u = users[1]
        expect(admin.post(f"/api/v1/accounts/{u.account['id']}/enable"), 200, what="enable")
        expect(srv.client().login(u.username, u.password), 200, what="login after enable")


def test_operator_request_approved():
    with Server() as srv:
        admin = srv.admin()
        e1, e2 = srv.create_ente(), srv.create_ente()
        lead = srv.user("lead", e1["id"])
        lead2 = srv.user("lead", e2["id"])
        req = {"full_name": "Maria Rossi", "codice_fiscale": new_cf(),
               "email": "maria.rossi@example.org", "appointment_ref": "prot. 123/2026",
               "username": "maria.rossi"}
        for field, value, what in (("appointment_ref", "", "no appointment"),
                                   ("codice_fiscale", "RSSMRA80A01F257X", "bad codice fiscale"),
                                   ("email", "not-an-address", "bad email"),
                                   ("username", "Maria Rossi", "bad username")):
            expect(lead.post("/api/v1/ente/operator-requests", dict(req, **{field: value})), 400,
                   "invalid_request", what)
        op = srv.user("operator", e1["id"])
        expect(op.post("/api/v1/ente/operator-requests", req), 403, "forbidden", "operator requesting")
        r = expect(lead.post("/api/v1/ente/operator-requests", req), 201, what="request")
        q = r.json
        eq((q["state"], q["ente_id"], q["requested_by"]), ("pending", e1["id"], lead.account["id"]),
           "request")
        check(srv.has_event("operator_requested", account_id=lead.account["id"]), "event")
        notices = [m for m in srv.outbox(harness.ADMIN_EMAIL) if m["kind"] == "notice"]
        check(notices and "maria.rossi" in notices[0]["body"], "the admin is told")
        mine = expect(lead.get("/api/v1/ente/operator-requests"), 200, what="own list")["requests"]
        eq([x["id"] for x in mine], [q["id"]], "the lead sees the request")
        eq(expect(lead2.get("/api/v1/ente/operator-requests"), 200, what="other")["requests"], [],
           "another body's lead sees nothing")
        expect(lead.post(f"/api/v1/operator-requests/{q['id']}/approve"), 403, "forbidden",
               "a lead approving")
        pend = admin.get("/api/v1/operator-requests?state=pending").json["requests"]
        check(q["id"] in [x["id"] for x in pend], "pending list")
        r = expect(admin.post(f"/api/v1/operator-requests/{q['id']}/approve"), 200, what="approve")
        acc = r["account"]
        eq((acc["username"], acc["role"], acc["ente_id"], acc["codice_fiscale"]),
           ("maria.rossi", "operator", e1["id"], req["codice_fiscale"]), "new account")
        eq(r["request"]["state"], "approved", "request state")
        eq(r["request"]["account_id"], acc["id"], "request account")
        expect(admin.post(f"/api/v1/operator-requests/{q['id']}/approve"), 409, "conflict",
               "approve twice")
        expect(admin.post(f"/api/v1/operator-requests/{q['id']}/reject", {"note": "x"}), 409,
               "conflict", "reject after approve")
        check(srv.has_event("account_created", account_id=acc["id"]), "account_created event")
        check(srv.has_event("temporary_password_issued", account_id=acc["id"]), "temp event")
        temp = srv.temp_password("maria.rossi@example.org")
        c = srv.client()
        r = expect(c.login("maria.rossi", temp), 200, what="new operator login")
        check(r["must_change_password"], "must change")
        expect(c.change_password(temp, new_password()), 200, what="change")
        me = expect(c.me(), 200, what="me")
        eq(me["ente"]["id"], e1["id"], "the operator's body")
        # A request for a username already taken is refused at approval and stays pending.
        r = expect(lead.post("/api/v1/ente/operator-requests", dict(req, email="x@example.org")), 201,
                   what="second request, same username")
        expect(admin.post(f"/api/v1/operator-requests/{r['id']}/approve"), 409, "username_taken",
               "approve a taken username")
        left = [x for x in admin.get("/api/v1/operator-requests").json["requests"] if x["id"] == r["id"]]
        eq(left[0]["state"], "pending", "still pending after a failed approval")
        check(not srv.outbox("x@example.org"), "credentials mailed for a failed approval")


def test_operator_request_rejected():
    with Server() as srv:
        admin = srv.admin()
        e1 = srv.create_ente()
        lead = srv.user("lead", e1["id"])
        req = {"full_name": "Luca Bianchi", "codice_fiscale": new_cf(),
               "email": "luca@example.org", "appointment_ref": "det. 9/2026",
               "username": "luca.bianchi"}
        q = expect(lead.post("/api/v1/ente/operator-requests", req), 201, what="request").json
        expect(admin.post(f"/api/v1/operator-requests/{q['id']}/reject"), 400, what="reject without a note")
        r = expect(admin.post(f"/api/v1/operator-requests/{q['id']}/reject",
                              {"note": "no appointment act attached"}), 200, what="reject")
        eq((r["state"], r["note"]), ("rejected", "no appointment act attached"), "rejected")
        expect(admin.post(f"/api/v1/operator-requests/{q['id']}/approve"), 409, "conflict",
               "approve after reject")
        expect(admin.post(f"/api/v1/operator-requests/{q['id']}/reject", {"note": "again"}), 409,
               "conflict", "reject twice")
        expect(admin.post("/api/v1/operator-requests/999999/approve"), 404, "not_found", "nobody")
        names = [a["username"] for a in admin.get("/api/v1/accounts").json["accounts"]]
        check("luca.bianchi" not in names, "an account was created for a rejected request")
        check(not srv.outbox("luca@example.org"), "mail to a rejected operator")
        expect(srv.client().login("luca.bianchi", "anything-at-all-1"), 401, "invalid_credentials",
               "login of a rejected operator")
        check(srv.has_event("operator_request_rejected"), "operator_request_rejected event")
        mine = lead.get("/api/v1/ente/operator-requests").json["requests"]
        eq(mine[0]["state"], "rejected", "the lead sees the outcome")


if __name__ == "__main__":
    run_tests(globals())
