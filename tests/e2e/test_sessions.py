#!/usr/bin/env python3
"""End-to-end: browser sessions (cookie, CSRF, logout, idle and absolute
timeouts, tampering) and API bearer tokens.

usage: test_sessions.py PATH/TO/visura [TEST...]
"""
import re
import secrets

import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import Server, check, eq, expect, parse_time, run_tests


def test_cookie_flags_and_login_answer():
    with Server() as srv:
        srv.admin()
        ente = srv.create_ente()
        acc, temp = srv.create_account("operator", ente["id"])
        c = srv.client()
        r = expect(c.login(acc["username"], temp), 200, what="login")
        cookies = r.header_all("Set-Cookie")
        eq(len(cookies), 1, "one Set-Cookie")
        sc = cookies[0]
        parts = [p.strip() for p in sc.split(";")]
        name, _, value = parts[0].partition("=")
        eq(name, "__Host-visura_session", "cookie name")
        check(re.fullmatch(r"[A-Za-z0-9_-]{43}", value), f"cookie value shape {value!r}")
        attrs = {p.split("=")[0].lower(): (p.split("=", 1)[1] if "=" in p else True) for p in parts[1:]}
        check(attrs.get("httponly") is True, f"HttpOnly missing: {sc}")
        check(attrs.get("secure") is True, f"Secure missing: {sc}")
        eq(attrs.get("samesite"), "Strict", f"SameSite in {sc}")
        eq(attrs.get("path"), "/", "Path")
        eq(attrs.get("max-age"), str(8 * 3600), "Max-Age")
        check("domain" not in attrs, "a Domain attribute widens the cookie")
        # The body has the CSRF token, never the session token.
        check(value not in r.body.decode(), "the session token is in the body")
        csrf = r["csrf_token"]
        check(re.fullmatch(r"[A-Za-z0-9_-]{43}", csrf) and csrf != value, "csrf token")
        check(r["must_change_password"] is True, "must change")
        # Session end reported, 8 h after login.
        now = srv.now()
        end = parse_time(r["session_expires_at"])
        check(abs(end - (now + 8 * 3600)) <= 5, "session_expires_at")
        # No secret ever in an account view.
        for body in (r.body, c.me().body, srv.admin().get(f"/api/v1/accounts/{acc['id']}").body):
            text = body.decode()
            for word in ("password_hash", "totp_secret", "$argon2", temp):
                check(word not in text, f"{word!r} in an account view")


def test_session_fixation_impossible():
    with Server() as srv:
        srv.admin()
        chosen = secrets.token_urlsafe(32)[:43]
        c = srv.client()
        c.cookies["__Host-visura_session"] = chosen
        expect(c.login(srv.admin_user, srv.admin_password), 200, what="login")
        check(c.session != chosen, "the server kept a session id chosen by the client")
        expect(c.me(), 200, what="new session works")
        bad = srv.client()
        bad.cookies["__Host-visura_session"] = chosen
        expect(bad.me(), 401, "unauthenticated", "chosen id")


def test_csrf_required_on_state_changes():
    with Server() as srv:
        admin = srv.admin()
        other = srv.client()
        expect(other.login(srv.admin_user, srv.admin_password), 200, what="second session")
        check(other.csrf != admin.csrf, "two sessions share a CSRF token")
        body = {"name": "Ente CSRF", "kind": "police", "tax_code": "01234567890",
                "hours": "always"}
        expect(admin.post("/api/v1/enti", body, csrf=False), 403, "csrf_failed", "no token")
        expect(admin.post("/api/v1/enti", body, headers={"X-CSRF-Token": ""}), 403,
               "csrf_failed", "empty token")
        expect(admin.post("/api/v1/enti", body, headers={"X-CSRF-Token": "x" * 43}), 403,
               "csrf_failed", "wrong token")
        expect(admin.post("/api/v1/enti", body, headers={"X-CSRF-Token": admin.csrf[:-1]}), 403,
               "csrf_failed", "truncated token")
        expect(admin.post("/api/v1/enti", body, headers={"X-CSRF-Token": other.csrf}), 403,
               "csrf_failed", "another session's token")
        expect(admin.post("/api/v1/enti", body, headers={"X-CSRF-Token": admin.session}), 403,
               "csrf_failed", "the session token as CSRF token")
        expect(admin.put("/api/v1/settings/totp-required", {"roles": []}, csrf=False), 403,
               "csrf_failed", "PUT without token")
        expect(admin.patch("/api/v1/enti/1", {"state": "ended"}, csrf=False), 403,
               "csrf_failed", "PATCH without token")
        expect(admin.delete("/api/v1/tokens/1", csrf=False), 403, "csrf_failed", "DELETE without token")
        expect(admin.post("/api/v1/auth/logout", csrf=False), 403, "csrf_failed", "logout without token")
        names = [e["name"] for e in admin.get("/api/v1/enti").json["enti"]]
        check("Ente CSRF" not in names, "a refused request had an effect")
        expect(admin.get("/api/v1/enti"), 200, what="GET needs no token")
        expect(admin.post("/api/v1/enti", body), 201, what="with the right token")
        check(len(srv.events("csrf_refused", srv.admin_user)) >= 9, "csrf_refused events")
        expect(admin.me(), 200, what="the session survived")


def test_logout_revokes_session():
    with Server() as srv:
        srv.admin()
        a = srv.client()
        b = srv.client()
        expect(a.login(srv.admin_user, srv.admin_password), 200, what="login a")
        expect(b.login(srv.admin_user, srv.admin_password), 200, what="login b")
        token, csrf = a.session, a.csrf
        r = expect(a.post("/api/v1/auth/logout"), 200, what="logout")
        sc = r.header("Set-Cookie") or ""
        check(sc.startswith("__Host-visura_session=;") and "Max-Age=0" in sc, f"cookie not cleared: {sc}")
        replay = srv.client()
        replay.cookies["__Host-visura_session"] = token
        replay.csrf = csrf
        expect(replay.me(), 401, "unauthenticated", "old cookie after logout")
        expect(replay.post("/api/v1/enti", {"name": "x", "kind": "other",
                                            "tax_code": "01234567890"}), 401,
               "unauthenticated", "old cookie + csrf after logout")
        expect(b.me(), 200, what="the other session is untouched")
        check(srv.has_event("logout", srv.admin_user), "logout event")


def test_idle_timeout_15_minutes():
    with Server() as srv:
        srv.admin()
        c = srv.client()
        expect(c.login(srv.admin_user, srv.admin_password), 200, what="login")
        srv.advance(14 * 60)
        expect(c.me(), 200, what="after 14 idle minutes")
        srv.advance(14 * 60)
        expect(c.me(), 200, what="14 more minutes after activity")
        srv.advance(16 * 60)
        expect(c.me(), 401, "unauthenticated", "after 16 idle minutes")
        srv.advance(1)
        expect(c.me(), 401, "unauthenticated", "stays dead")
        expect(c.login(srv.admin_user, srv.admin_password), 200, what="login again")
        expect(c.me(), 200, what="new session")


def test_absolute_timeout_8_hours():
    with Server() as srv:
        srv.admin()
        c = srv.client()
        expect(c.login(srv.admin_user, srv.admin_password), 200, what="login")
        for i in range(47):                 # 7 h 50 min of activity every 10 min
            srv.advance(600)
            expect(c.me(), 200, what=f"active after {(i + 1) * 10} min")
        srv.advance(600)                    # 8 h
        expect(c.me(), 401, "unauthenticated", "after 8 hours")


def test_session_token_tampering():
    with Server() as srv:
        admin = srv.admin()
        good = admin.session
        flip = good[:-1] + ("A" if good[-1] != "A" else "B")
        variants = [flip, good[:-1], good + "A", good.upper() if good.upper() != good else good.lower(),
                    "", "A" * 43, "' OR '1'='1", good + "' OR '1'='1", "A" * 5000, good[::-1]]
        for v in variants:
            c = srv.client()
            c.cookies["__Host-visura_session"] = v
            r = c.me()
            expect(r, 401, "unauthenticated", f"cookie {v[:50]!r}")
        # The CSRF token is not a session token; the session token is not a bearer token.
        c = srv.client()
        c.cookies["__Host-visura_session"] = admin.csrf
        expect(c.me(), 401, "unauthenticated", "csrf token as cookie")
        expect(srv.client(bearer=good).me(), 401, "unauthenticated", "session token as bearer")
        for auth in ("Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer ", "bearer " + good, "Token " + good):
            r = srv.client().get("/api/v1/auth/me", headers={"Authorization": auth})
            expect(r, 401, what=f"Authorization {auth[:20]!r}")
        # A wrong Authorization header is not rescued by a valid cookie.
        r = admin.get("/api/v1/auth/me", headers={"Authorization": "Bearer " + "A" * 43})
        expect(r, 401, "unauthenticated", "bad bearer + good cookie")
        expect(admin.me(), 200, what="the real session still works")


def _api_setup(srv):
    ente = srv.create_ente()
    api, _ = srv.create_account("api", ente["id"])
    return ente, api


def test_bearer_tokens_lifecycle():
    with Server() as srv:
        admin = srv.admin()
        ente, api = _api_setup(srv)
        check(api["temporary_password"] is False, "api accounts have no password")
        # api accounts cannot log in with a password, and look like anybody else.
        r = expect(srv.client().login(api["username"], "whatever-password-1"), 401,
                   "invalid_credentials", "password login of an api account")
        r = expect(admin.post(f"/api/v1/accounts/{api['id']}/tokens", {"name": "gestionale"}),
                   201, what="create token")
        token, tid = r["token"], r["id"]
        check(re.fullmatch(r"[A-Za-z0-9_-]{43}", token), "token shape")
        lst = expect(admin.get(f"/api/v1/accounts/{api['id']}/tokens"), 200, what="list")
        check(token not in lst.body.decode(), "the token is shown again by the list")
        eq([t["id"] for t in lst["tokens"]], [tid], "listed tokens")
        bearer = srv.client(bearer=token)
        me = expect(bearer.me(), 200, what="bearer me")
        eq(me["username"], api["username"], "bearer identity")
        check("csrf_token" not in me.json, "a bearer answer carries a CSRF token")
        # State-changing request with a bearer needs no CSRF token.
        expect(bearer.post("/api/v1/auth/logout"), 200, what="bearer POST without CSRF")
        expect(bearer.me(), 200, what="bearer logout does not revoke the token")
        # A bearer cannot reach admin routes.
        expect(bearer.get("/api/v1/accounts"), 403, "forbidden", "api on admin route")
        expect(bearer.post("/api/v1/accounts", {"username": "x"}), 403, "forbidden",
               "api creating accounts")
        lst = admin.get(f"/api/v1/accounts/{api['id']}/tokens").json["tokens"]
        check(lst[0]["last_used_at"] is not None, "last_used_at not recorded")
        # Revocation takes effect at once.
        r = expect(admin.delete(f"/api/v1/tokens/{tid}"), 200, what="revoke")
        check(r["revoked_at"], "revoked_at")
        expect(bearer.me(), 401, "unauthenticated", "revoked token")
        expect(bearer.post("/api/v1/auth/logout"), 401, "unauthenticated", "revoked token POST")
        expect(admin.delete(f"/api/v1/tokens/{tid}"), 200, what="revoking twice is harmless")
        expect(admin.delete("/api/v1/tokens/999999"), 404, "not_found", "unknown token")
        # Events.
        check(srv.has_event("token_created", account_id=api["id"]), "token_created event")
        eq(len(srv.events("token_revoked", account_id=api["id"])), 1, "one token_revoked event")


def test_tokens_only_for_api_accounts():
    with Server() as srv:
        admin = srv.admin()
        ente = srv.create_ente()
        for role, eid in (("operator", ente["id"]), ("lead", ente["id"]), ("auditor", None),
                          ("admin", None)):
            acc, _ = srv.create_account(role, eid)
            expect(admin.post(f"/api/v1/accounts/{acc['id']}/tokens", {"name": "t"}), 409,
                   "conflict", f"token for a {role}")
        expect(admin.post(f"/api/v1/accounts/{srv.admin_id}/tokens", {"name": "t"}), 409,
               "conflict", "token for oneself (admin)")
        expect(admin.post("/api/v1/accounts/999999/tokens", {"name": "t"}), 404, "not_found",
               "token for nobody")
        check(not srv.has_event("token_created"), "a refused token was recorded as created")


def test_tokens_by_lead_of_own_body_only():
    with Server() as srv:
        admin = srv.admin()
        e1, api1 = _api_setup(srv)
        e2, api2 = _api_setup(srv)
        lead1 = srv.user("lead", e1["id"])
        r = expect(lead1.post(f"/api/v1/accounts/{api1['id']}/tokens", {"name": "own"}), 201,
                   what="lead creates a token for its own body")
        expect(lead1.get(f"/api/v1/accounts/{api1['id']}/tokens"), 200, what="lead lists own")
        expect(lead1.post(f"/api/v1/accounts/{api2['id']}/tokens", {"name": "x"}), 403,
               "forbidden", "lead creates a token for another body")
        expect(lead1.get(f"/api/v1/accounts/{api2['id']}/tokens"), 403, "forbidden",
               "lead lists another body's tokens")
        other = expect(admin.post(f"/api/v1/accounts/{api2['id']}/tokens", {"name": "o"}), 201,
                       what="admin token for body 2")
        expect(lead1.delete(f"/api/v1/tokens/{other['id']}"), 403, "forbidden",
               "lead revokes another body's token")
        expect(srv.client(bearer=other["token"]).me(), 200, what="body 2 token still works")
        expect(lead1.delete(f"/api/v1/tokens/{r['id']}"), 200, what="lead revokes its own")
        expect(srv.client(bearer=r["token"]).me(), 401, "unauthenticated", "revoked by lead")
        # Operators have no say on tokens.
        op = srv.user("operator", e1["id"])
        expect(op.post(f"/api/v1/accounts/{api1['id']}/tokens", {"name": "x"}), 403, "forbidden",
               "operator creates a token")


def test_disabling_api_account_kills_tokens():
    with Server() as srv:
        admin = srv.admin()
        ente, api = _api_setup(srv)
        t = expect(admin.post(f"/api/v1/accounts/{api['id']}/tokens", {"name": "a"}), 201,
                   what="token")["token"]
        bearer = srv.client(bearer=t)
        expect(bearer.me(), 200, what="works")
        expect(admin.post(f"/api/v1/accounts/{api['id']}/disable", {"reason": "test"}), 200,
               what="disable")
        expect(bearer.me(), 401, what="token of a disabled account")
        expect(admin.post(f"/api/v1/accounts/{api['id']}/tokens", {"name": "b"}), 409, "conflict",
               "token for a disabled account")
        expect(admin.post(f"/api/v1/accounts/{api['id']}/enable"), 200, what="enable")
        expect(bearer.me(), 401, what="re-enabling does not resurrect revoked tokens")
        # Suspended body: its tokens are refused while suspended.
        t2 = expect(admin.post(f"/api/v1/accounts/{api['id']}/tokens", {"name": "c"}), 201,
                    what="new token")["token"]
        b2 = srv.client(bearer=t2)
        expect(b2.me(), 200, what="new token works")
        expect(admin.patch(f"/api/v1/enti/{ente['id']}", {"state": "suspended"}), 200,
               what="suspend body")
        expect(b2.me(), 403, "ente_not_active", "token of a suspended body")
        expect(admin.patch(f"/api/v1/enti/{ente['id']}", {"state": "active"}), 200,
               what="reactivate")
        expect(b2.me(), 200, what="token after reactivation")


def test_me_shows_recent_logins():
    with Server() as srv:
        srv.admin()
        c = srv.client()
        expect(c.login(srv.admin_user, "wrong-password-123"), 401, what="failed attempt")
        srv.advance(5)
        expect(c.login(srv.admin_user, srv.admin_password), 200, what="login")
        me = expect(c.me(), 200, what="me")
        outcomes = [x["outcome"] for x in me["recent_logins"]]
        check("login_failure" in outcomes, f"the failed attempt is not shown: {outcomes}")
        eq(outcomes[0], "login_success", "newest first")
        check(me["previous_login_at"] is not None, "previous login")
        # Whatever else the account has in the security log: the old
        # /auth/me looked for its logins among its newest 200 events, so
        # 250 of another kind (written straight into the log, as a long
        # run of changes would) left it none to show.
        t = srv.now()
        harness.db_exec(srv.db, (
            "INSERT INTO security_event (at, kind, account_id, username, ente_id, ip, detail)"
            " VALUES " + ", ".join(["(?, 'password_changed', ?, '', 0, '127.0.0.1', '')"] * 250),
            tuple(v for i in range(250) for v in (t + i, me["id"]))))
        outcomes = [x["outcome"] for x in expect(c.me(), 200, what="me")["recent_logins"]]
        eq(outcomes[:2], ["login_success", "login_failure"], "both logins, newest first")
        for n in range(12):   # each a new session (the oldest end: max_sessions)
            srv.advance(5)
            c = srv.client()
            expect(c.login(srv.admin_user, srv.admin_password), 200, what=f"login {n}")
        outcomes = [x["outcome"] for x in expect(c.me(), 200, what="me")["recent_logins"]]
        eq(outcomes, ["login_success"] * 10, "the ten newest, successes and failures merged")


def test_sessions_per_user_are_capped():
    """40 logins of one user leave 3 live sessions (max_sessions): each new
    login ends the oldest; the user lists their sessions and ends them."""
    with Server() as srv:
        ente = srv.create_ente()
        op = srv.user("operator", ente["id"])   # session 1
        clients = [op]
        for i in range(39):
            c = srv.client()
            expect(c.login(op.username, op.password), 200, what=f"login {i + 2}")
            clients.append(c)
        alive = [i for i, c in enumerate(clients) if c.me().status == 200]
        eq(alive, [37, 38, 39], "the live sessions after 40 logins: the 3 newest")
        check(all(c.me().status == 401 for c in clients[:37]), "the others ended")
        me = clients[39]
        r = expect(me.get("/api/v1/auth/sessions"), 200, what="own sessions")
        eq(r["max_sessions"], 3, "max_sessions")
        sess = r["sessions"]
        eq(len(sess), 3, f"three live sessions listed: {sess}")
        eq([x["current"] for x in sess], [True, False, False], "the current one, newest first")
        check(all(x["ip"] == "127.0.0.1" and x["created_at"] and x["last_seen_at"]
                  and x["expires_at"] for x in sess), f"session fields: {sess}")
        ended = srv.events("session_ended", account_id=op.account["id"])
        eq(len(ended), 37, "a session_ended event for each session the limit ended")
        # ending another of one's own sessions
        other = sess[2]["id"]
        r = expect(me.delete(f"/api/v1/auth/sessions/{other}"), 200, what="end a session")
        eq((r["id"], r["ended"], r["current"]), (other, True, False), "the answer")
        expect(clients[37].me(), 401, what="the ended session")
        eq(len(expect(me.get("/api/v1/auth/sessions"), 200)["sessions"]), 2, "two left")
        expect(me.delete(f"/api/v1/auth/sessions/{other}"), 404, "not_found", "ended already")
        expect(me.request("DELETE", f"/api/v1/auth/sessions/{sess[1]['id']}", csrf=False), 403,
               what="no CSRF token")
        # another user's session is not theirs to see or end
        op2 = srv.user("operator", ente["id"])
        mine = expect(op2.get("/api/v1/auth/sessions"), 200)["sessions"]
        check(all(x["id"] not in {y["id"] for y in sess} for x in mine), "own sessions only")
        expect(op2.delete(f"/api/v1/auth/sessions/{sess[1]['id']}"), 404, "not_found",
               "another user's session")
        expect(clients[38].me(), 200, what="still alive")
        # ending the current one logs out
        cur = sess[0]["id"]
        r = expect(me.delete(f"/api/v1/auth/sessions/{cur}"), 200, what="end the current one")
        check(r["current"] and any("Max-Age=0" in h for h in r.header_all("Set-Cookie")),
              "the cookie is cleared")
        expect(me.me(), 401, what="after ending the current session")


def test_session_cap_is_configurable():
    with Server(max_sessions=1) as srv:
        ente = srv.create_ente()
        op = srv.user("operator", ente["id"])
        c = srv.client()
        expect(c.login(op.username, op.password), 200, what="a second login")
        expect(op.me(), 401, what="the first session ends with max_sessions 1")
        expect(c.me(), 200, what="the new one lives")
        eq(len(expect(c.get("/api/v1/auth/sessions"), 200)["sessions"]), 1, "one session")


def test_ended_sessions_say_why():
    """A session cut off by disabling the account or suspending its body is
    answered with that reason (so the browser goes to the login page with
    it); a session ended by logout just asks for a login."""
    with Server() as srv:
        ente = srv.create_ente()
        op = srv.user("operator", ente["id"])
        lead = srv.user("lead", ente["id"])
        admin = srv.admin()
        expect(admin.post(f"/api/v1/accounts/{op.account['id']}/disable", {"reason": "left"}), 200)
        expect(op.me(), 401, "account_disabled", "disabled: the reason")
        expect(op.me(), 401, "account_disabled", "and again")
        expect(admin.post(f"/api/v1/accounts/{op.account['id']}/enable"), 200)
        expect(op.me(), 401, "unauthenticated", "re-enabled: a plain new login is needed")
        expect(admin.post(f"/api/v1/enti/{ente['id']}/suspend", {"reason": "incident"}), 200)
        expect(lead.me(), 401, "ente_not_active", "suspended body: the reason")
        other = srv.user("auditor")
        expect(other.post("/api/v1/auth/logout"), 200)
        expect(other.me(), 401, "unauthenticated", "after logout")
        stranger = srv.client()
        stranger.cookies["__Host-visura_session"] = "A" * 43
        expect(stranger.me(), 401, "unauthenticated", "an unknown cookie learns nothing")


if __name__ == "__main__":
    run_tests(globals())
