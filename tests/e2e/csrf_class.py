"""CSRF as a class (run by test_spid.test_spid_citizen, whose server has
both kinds of session): a state change made with a cookie must come from the
service's own pages.  The routes are read from the route table
(src/api/routes.c, contract.route_table), so a new route is tested as soon
as it exists, or this test fails until it is classified here:

- every route behind the gate (not ROUTE_PUBLIC), with an admin's session
  cookie (the CSRF check comes before the role's): a change without the
  X-CSRF-Token header, with a wrong one, or with the right one from a page
  of another site or of a sibling site (Sec-Fetch-Site) is refused
  `403 csrf_failed`; a read from a foreign page too (a read can record a
  consultation in the operator's name);
- every ROUTE_CITIZEN change, with a citizen's SPID/CIE session: without
  the session's token (header or the form's csrf_token field), with a
  wrong one, or from a foreign page, refused `403 csrf_failed`; the page's
  own forms carry the token and work; the refusals for the token are a
  `csrf_refused` security event, as an operator's are; a cookie whose
  session is over is no session: the route answers 401, no event;
- every other public change is in PUBLIC_CHANGES with the reason it needs
  no session token (there is no cookie to ride), and is still refused from
  a foreign page; every public read is in PUBLIC_READS with what it does;
- login CSRF: a login from a foreign page, or as a form body (an old
  browser that sends no Sec-Fetch-Site), is refused and sets no cookie;
- every refusal before anyone is authenticated (a change from a foreign
  page, any cookie or none) and every citizen's is a `csrf_refused` event
  naming no one, and all of them from one address are one row with their
  exact count (a page sending many cannot flood the events);
- nothing the refused requests could have changed has changed (every
  table of the database, the access trail included, compared before and
  after: the sessions' last use and the security events, where the
  refusals are recorded, apart);
- every Set-Cookie seen is named __Host- (the browser takes it only from
  our own host: a sibling subdomain cannot plant it), HttpOnly, Secure,
  Path=/, no Domain, SameSite=Strict or Lax (the operator's session Strict);
- cookie tossing: a session's own valid value, planted under the name
  without the prefix (what a sibling subdomain can set), authenticates
  nobody."""
import json
import re

import contract
from harness import *  # noqa: F401,F403

CHANGES = ("POST", "PUT", "PATCH", "DELETE")

# Public changes that need no session token, and why.  Each is still
# refused from a foreign page (the gate, for every change with no
# Authorization header).
PUBLIC_CHANGES = {
    ("POST", "/api/v1/auth/login"): "no session yet; login CSRF is tested below",
    ("POST", "/api/v1/receipts/verify"): "checks a receipt's signature, changes nothing",
    ("POST", "/citizen/notifications/confirm"): "the one-time token of the message's link",
    ("POST", "/citizen/notifications/unsubscribe"): "the one-time token of the message's link",
    ("POST", "/api/v1/test/clock"): "test builds only (test_clock)",
}

# Public reads, and what they do: none rides a cookie to change anything.
PUBLIC_READS = {
    "/": "the interface", "/ui/*": "the interface's files",
    "/healthz": "probe", "/readyz": "probe", "/api/v1/openapi.json": "the contract",
    "/.well-known/jwks.json": "public keys",
    "/.well-known/openid-federation": "entity configuration",
    "/:p1/.well-known/openid-federation": "entity configuration",
    "/:p1/:p2/.well-known/openid-federation": "entity configuration",
    "/:p1/:p2/:p3/.well-known/openid-federation": "entity configuration",
    "/api/v1/help": "help", "/api/v1/auth/spid/jwks": "public keys",
    "/api/v1/auth/spid/start": "starts a login: a flow cookie bound to its state, no session",
    "/api/v1/auth/spid/callback": "OIDC callback: its state must match the flow cookie "
                                  "of the browser that started (an attacker's callback "
                                  "logs no victim in), taken once",
    "/static/print.css": "style sheet", "/static/stemma": "image", "/verifica": "a page",
    "/api/v1/notices": "notices",
    "/citizen/access-report": "reads the citizen's report; a one-time code is used up "
                              "(a public token, no cookie)",
    "/citizen/notifications": "reads the citizen's settings",
    "/citizen/notifications/confirm": "a page with one button: changes nothing",
    "/citizen/notifications/unsubscribe": "a page with one button: changes nothing",
}

FOREIGN = ("cross-site", "same-site")
SESSION, CITIZEN = "__Host-visura_session", "__Host-visura_cittadino"


def fill(pattern, cf):
    """A concrete path for a route's pattern."""
    values = {"id": "1", "cf": cf, "comune": "036023", "mese": "2026-01",
              "p1": "a", "p2": "b", "p3": "c"}
    path = re.sub(r":(\w+)", lambda m: values[m.group(1)], pattern)
    return path[:-1] + "app.js" if path.endswith("/*") else path


class Cookies:
    """Every Set-Cookie answered, for the attribute check at the end."""

    def __init__(self):
        self.seen = []

    def note(self, r):
        self.seen += r.header_all("Set-Cookie")
        return r


def send(srv, jar, method, path, cookies, headers=None, body=None):
    h = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    return jar.note(srv.request(method, path, body, h))


HOLES = []


def refused(r, what):
    """Notes (in HOLES) a request that was not refused as it must be:
    403 csrf_failed, no cookie set.  All are listed at the end."""
    code = r.json.get("error", {}).get("code") if isinstance(r.json, dict) else None
    if r.status != 403 or code != "csrf_failed" or r.header_all("Set-Cookie"):
        HOLES.append(f"{what}: {r.status} {code}")


def snapshot(db):
    """Every table's rows (the sessions' last use, the security events,
    the rate-limit counters and the duties' own bookkeeping apart)."""
    if db.startswith("postgres:"):
        names = [r["name"] for r in db_query(
            db, "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()")]
    else:
        names = [r["name"] for r in db_query(
            db, "SELECT name FROM sqlite_master WHERE type = 'table' UNION "
                "SELECT name FROM trail.sqlite_master WHERE type = 'table'")]
    check("account" in names and "access_log" in names, f"the tables: {names}")
    out = {}
    for t in sorted(set(names) - {"security_event", "throttle", "shared_state", "readiness",
                                  "control_gen", "webhook_state", "audit_checkpoint"}):
        cols = [c for c, _ in db_columns(db, t)]
        if t == "mail":   # a message's delivery moves on by itself; a new one counts
            cols = ["id", "kind"]
        if t in ("session", "citizen_session"):
            cols = [c for c in cols if "seen" not in c and "idle" not in c and "last" not in c]
        rows = db_query(db, f"SELECT {', '.join(cols)} FROM {t}")
        out[t] = sorted(json.dumps(r, sort_keys=True, default=str) for r in rows)
    return out


def anonymous_refusals(srv):
    """The csrf_refused events that name no one: (rows, refusals counted)."""
    ev = [e for e in srv.events("csrf_refused") if e["account_id"] == 0]
    n = 0
    for e in ev:
        m = re.search(r" \[ripetuto=(\d+) ", e["detail"])
        n += int(m.group(1)) if m else 1
    return ev, n


def check_class(srv, op, citizen_login, page_says):
    """The whole class against srv (SPID/CIE set up, its provider op)."""
    jar = Cookies()
    HOLES.clear()
    routes = contract.route_table()
    check(len(routes) > 100, f"the route table read: {len(routes)} routes")
    cf = sorted(x["cf"] for x in srv.population.current_persons() if not x["canc_reason"])[-1]

    # Things a missing check would change (every :id is 1): the admin
    # (account 1) to disable, a token to revoke, a citizen's session to end.
    admin = srv.admin()
    api, _ = srv.create_account("api", srv.create_ente()["id"])
    expect(admin.post(f"/api/v1/accounts/{api['id']}/tokens", {"name": "t"}), 201,
           what="a token")
    cit = Client(srv)
    jar.note(expect(cit.get("/api/v1/auth/spid/start?for=cittadino"), 200, what="a start"))
    jar.note(expect(citizen_login(op, cit, cf, 2), 200, what="a citizen's session"))
    ctok = expect(cit.get("/citizen/notifications"), 200, what="the citizen's state")["csrf_token"]
    ccookies = {CITIZEN: cit.cookies[CITIZEN]}
    acookies = dict(admin.cookies)

    unclassified = []
    before = snapshot(srv.db)
    ev0, anon0 = anonymous_refusals(srv)
    n = anon = 0
    for i, (method, pattern, flags) in enumerate(routes):
        path = fill(pattern, cf)
        what = f"{method} {pattern}"
        if "ROUTE_PUBLIC" not in flags:
            if method in CHANGES:
                refused(send(srv, jar, method, path, acookies, body={}),
                        what + ": an operator's cookie, no token")
                refused(send(srv, jar, method, path, acookies, {"X-CSRF-Token": "0" * 64}, {}),
                        what + ": a wrong token")
                n += 2
            # one foreign page a route, both kinds over the table (seconds count)
            site = FOREIGN[i % 2]
            h = {"Sec-Fetch-Site": site}
            if method in CHANGES:
                h["X-CSRF-Token"] = admin.csrf
            refused(send(srv, jar, method, path, acookies, h, {} if method in CHANGES else None),
                    f"{what}: the right token from a {site} page")
            n += 1
            anon += method in CHANGES   # refused before the session is read
        elif "ROUTE_CITIZEN" in flags and method in CHANGES:
            refused(send(srv, jar, method, path, ccookies, {"Accept": "application/json"}),
                    what + ": a citizen's cookie, no token")
            refused(send(srv, jar, method, path, ccookies, {"X-CSRF-Token": "0" * 64}, {}),
                    what + ": a wrong token")
            refused(send(srv, jar, method, path, ccookies,
                         {"Content-Type": "application/x-www-form-urlencoded"},
                         b"address=b%40posta.example&csrf_token=" + b"0" * 64),
                    what + ": a form with a wrong token")
            refused(send(srv, jar, method, path, ccookies,
                         {"Content-Type": "application/x-www-form-urlencoded"},
                         b"address=b%40posta.example"),
                    what + ": a form without the token")
            for site in FOREIGN:
                refused(send(srv, jar, method, path, ccookies,
                             {"Sec-Fetch-Site": site,
                              "Content-Type": "application/x-www-form-urlencoded"},
                             b"address=b%40posta.example&csrf_token=" + ctok.encode()),
                        f"{what}: the page's form sent from a {site} page")
            n += 6
            anon += 6
            # A cookie whose session is over: nothing to forge, the route
            # answers (401; a logout has nothing to end), no event.
            r = send(srv, jar, method, path, {CITIZEN: "x" * 43}, {"X-CSRF-Token": "0" * 64}, {})
            check(r.status == (200 if pattern == "/citizen/logout" else 401),
                  f"{what}: a wrong token with a cookie of no session: {r.status} {r.body[:200]}")
        elif method in CHANGES:
            if (method, pattern) not in PUBLIC_CHANGES:
                unclassified.append(what)
                continue
            for site in FOREIGN:
                refused(send(srv, jar, method, path, ccookies, {"Sec-Fetch-Site": site}, {}),
                        f"{what}: from a {site} page")
                n += 1
                anon += 1
        elif pattern not in PUBLIC_READS:
            unclassified.append(what)
    check(not HOLES, f"{len(HOLES)} requests not refused 403 csrf_failed:\n  " +
          "\n  ".join(HOLES))
    check(not unclassified,
          f"public routes not classified in test_csrf.py (a change needs the session's "
          f"token or a reason in PUBLIC_CHANGES; a read a line in PUBLIC_READS): {unclassified}")
    # A citizen's refusals and those made before anyone is authenticated
    # (a change from a foreign page) are security events, like an
    # operator's: no account, so one row for the address with the count.
    ev, got = anonymous_refusals(srv)
    check(len(ev) == len(ev0) + 1 and got - anon0 == anon and anon > 20,
          f"the {anon} refusals naming no one recorded as one csrf_refused event "
          f"counting them ({got - anon0}): {ev}")
    after = snapshot(srv.db)
    changed = [t for t in before if before[t] != after.get(t)]
    check(not changed, f"refused requests changed tables: {changed}")
    check(n > 120, f"only {n} refusals tried")

    # Cookie tossing: a sibling subdomain can set a cookie without the
    # prefix (Domain= the parent domain) but never one named __Host-.  The
    # sessions' own valid values under the names without it are not read.
    planted = {SESSION[len("__Host-"):]: admin.cookies[SESSION]}
    expect(send(srv, jar, "GET", "/api/v1/auth/me", planted), 401, "unauthenticated",
           what="an operator's session value planted without the __Host- prefix")
    planted = {CITIZEN[len("__Host-"):]: ccookies[CITIZEN]}
    expect(send(srv, jar, "GET", "/citizen/notifications", planted), 401,
           "citizen_session_expired",
           what="a citizen's session value planted without the __Host- prefix")

    # The sessions were not touched, and the right token from our own page works.
    expect(admin.get("/api/v1/auth/me"), 200, what="the admin's session still there")
    expect(cit.get("/citizen/notifications"), 200, what="the citizen's session still there")
    page = page_says(expect(send(srv, jar, "GET", "/citizen/access-report", ccookies,
                                 {"Accept": "text/html", "Sec-Fetch-Site": "cross-site"}), 200,
                            what="the page, reached from the provider's redirect"),
                     'action="/citizen/logout"')
    m = re.search(r'action="/citizen/logout"><input type="hidden" name="csrf_token" '
                  r'value="([0-9a-f]{64})">', page)
    check(m is not None and m.group(1) == ctok, "the logout form carries the session's token")
    r = send(srv, jar, "POST", "/citizen/logout", ccookies,
             {"Accept": "text/html", "Sec-Fetch-Site": "same-origin",
              "Content-Type": "application/x-www-form-urlencoded"},
             b"csrf_token=" + m.group(1).encode())
    expect(r, 303, what="the page's logout form")
    expect(cit.get("/citizen/notifications"), 401, "citizen_session_expired",
           what="the session ended by the form")

    # Login CSRF: an attacker's credentials posted by the victim's browser.
    user = srv.user("operator", srv.create_ente()["id"])
    body = json.dumps({"username": user.username, "password": user.password}).encode()
    for site in FOREIGN:
        refused(send(srv, jar, "POST", "/api/v1/auth/login", {},
                     {"Sec-Fetch-Site": site, "Content-Type": "application/json"}, body),
                f"a login from a {site} page")
    check(not HOLES, f"logins from foreign pages not refused: {HOLES}")
    ev, got = anonymous_refusals(srv)
    check(len(ev) == len(ev0) + 1 and got - anon0 == anon + len(FOREIGN),
          f"the logins from foreign pages counted in the address's csrf_refused event: {ev}")
    for ctype in ("text/plain", "application/x-www-form-urlencoded",
                  "multipart/form-data; boundary=x"):
        r = send(srv, jar, "POST", "/api/v1/auth/login", {}, {"Content-Type": ctype}, body)
        expect(r, 400, "invalid_request", what=f"a login as a form body ({ctype})")
        check(not r.header_all("Set-Cookie"), "no cookie for a form's login")
    expect(send(srv, jar, "POST", "/api/v1/auth/login", {},
                {"Sec-Fetch-Site": "same-origin", "Content-Type": "application/json"}, body),
           200, what="a login from our own page")
    # A bearer token is no ambient credential: a foreign page cannot send it.
    tok = expect(admin.post(f"/api/v1/accounts/{api['id']}/tokens", {"name": "t2"}), 201,
                 what="a token")["token"]
    expect(send(srv, jar, "GET", "/api/v1/purposes", {},
                {"Authorization": "Bearer " + tok, "Sec-Fetch-Site": "cross-site"}), 200,
           what="a token's call, whatever Sec-Fetch-Site says")

    # Every cookie the service set.
    check(jar.seen, "cookies were set")
    for sc in jar.seen:
        attrs = [a.strip().lower() for a in sc.split(";")[1:]]
        name = sc.split("=", 1)[0]
        check(name.startswith("__Host-"), f"the __Host- prefix: {sc}")
        check("httponly" in attrs and "secure" in attrs, f"HttpOnly and Secure: {sc}")
        check([a for a in attrs if a.startswith("path=")] == ["path=/"], f"Path=/: {sc}")
        check(not any(a.startswith("domain=") for a in attrs), f"no Domain: {sc}")
        same = [a for a in attrs if a.startswith("samesite=")]
        want = ("samesite=strict",) if name == SESSION else ("samesite=strict", "samesite=lax")
        check(len(same) == 1 and same[0] in want, f"SameSite: {sc}")
    names = {sc.split("=", 1)[0] for sc in jar.seen}
    check({SESSION, CITIZEN, "__Host-visura_spid"} <= names,
          f"both sessions' cookies and the SPID/CIE flow's seen: {names}")

