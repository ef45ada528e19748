#!/usr/bin/env python3
"""Operators log in with SPID/CIE (OpenID Connect) against a real provider:
oidc-provider (tests/oidc, pinned; installed there on first use) on
loopback, set up as the SPID/CIE profile asks (PKCE S256, signed request
objects, private_key_jwt, SPID acr values, the fiscal_number claim, signed
userinfo), with an RSA key made here; the relying party's key is the one
visura made (its public half read from /api/v1/auth/spid/jwks).  One
provider, one server.

- the account's named person at level 2: logged in, the session is an
  ordinary one (a look-up goes through the gate), the transaction log has
  the four exchanges and no token in clear;
- level 1 when 2 is asked: refused; a body asking for level 3: level 2
  refused;
- another person's codice fiscale: refused, a security event;
- the provider's answer replayed (same state): refused;
- an ID token altered in transit (a claim changed after signing): refused;
- a password login for an account marked SPID/CIE required: refused; the
  mark removed: accepted again;
- a browser's flow (via=browser): redirects to the provider and back into
  the interface; a refusal is an Italian page.

A citizen (test_spid_citizen): a session of their own, bound to the
codice fiscale of the assertion, that reads exactly the accesses on it
(one made a minute before included; police ones hidden until the embargo
ends, then shown: both clocks moved), takes no parameter that could name
another person, is refused by every other route, ends at logout and after
15 minutes; downloads the list as a document signed by the deployment
(checked offline by `visura audit verify-document --key`, an altered one
refused); a replayed state and level 1 are refused; the one-time code
still works; the transaction log records the citizen's login."""
import base64
import glob
import http.cookiejar
import json
import os
import subprocess
import urllib.error
import urllib.parse
import urllib.request

from cryptography.hazmat.primitives.asymmetric import rsa

import harness
from harness import *

HERE = os.path.dirname(os.path.abspath(__file__))
PROVIDER_DIR = os.path.join(HERE, "..", "oidc")
CLIENT_ID = "https://comune.example.it/visura"
REDIRECT = "https://visura.example.it/api/v1/auth/spid/callback"
L = "https://www.spid.gov.it/SpidL%d"


def b64u_int(x):
    return base64.urlsafe_b64encode(x.to_bytes((x.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


def rsa_jwk(key, kid):
    pub = key.public_key().public_numbers()
    priv = key.private_numbers()
    pub_jwk = {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
               "n": b64u_int(pub.n), "e": b64u_int(pub.e)}
    full = dict(pub_jwk, d=b64u_int(priv.d), p=b64u_int(priv.p), q=b64u_int(priv.q),
                dp=b64u_int(priv.dmp1), dq=b64u_int(priv.dmq1), qi=b64u_int(priv.iqmp))
    return pub_jwk, full


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **kw):
        return None


class Op:
    """The provider, and a browser's visit to it."""

    def __init__(self, work, port, op_key, client_jwks, redirect=REDIRECT):
        self.base = f"http://127.0.0.1:{port}"
        self.redirect = redirect
        cfg = os.path.join(work, "provider.json")
        with open(cfg, "w") as f:
            json.dump({"issuer": self.base, "port": port, "client_id": CLIENT_ID,
                       "redirect_uri": redirect, "op_key": op_key,
                       "client_jwks": client_jwks}, f)
        if not os.path.isdir(os.path.join(PROVIDER_DIR, "node_modules", "oidc-provider")):
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=PROVIDER_DIR, check=True)
        self.log = open(os.path.join(work, "provider.log"), "w")
        self.proc = subprocess.Popen(["node", "provider.mjs", cfg], cwd=PROVIDER_DIR,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        check(line.strip() == "ready", f"the provider did not start: {line!r}")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()

    def advance(self, srv, seconds):
        """Moves visura's clock and the provider's together."""
        srv.advance(seconds)
        self.post("/test/clock", {"advance_seconds": int(seconds)})

    def post(self, path, body):
        req = urllib.request.Request(self.base + path, json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()

    def visit(self, url):
        """A browser following the provider's redirects until it is sent
        back to the relying party: the query it is sent back with."""
        opener = urllib.request.build_opener(
            NoRedirect, urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        for _ in range(10):
            check(url.startswith(self.base), f"sent outside the provider: {url}")
            try:
                r = opener.open(url, timeout=10)
                raise TestFailure(f"the provider answered {r.status} without a redirect: "
                                  f"{r.read()[:400]!r}")
            except urllib.error.HTTPError as e:
                check(e.code in (302, 303), f"provider {e.code}: {e.read()[:400]!r}")
                url = urllib.parse.urljoin(url, e.headers["Location"])
            if url.startswith(self.redirect):
                return urllib.parse.urlsplit(url).query
        raise TestFailure("too many redirects at the provider")


def start(c, username, ask=None):
    q = "/api/v1/auth/spid/start?username=" + username + (f"&level={ask}" if ask else "")
    r = expect(c.get(q), 200, what="spid start")
    check("request=" in r["authorization_url"], "a signed request object is sent")
    return r


def login(op, c, username, sub, cf, level, ask=None):
    op.post("/test/next", {"sub": sub, "fiscal_number": "TINIT-" + cf, "acr": L % level})
    url = start(c, username, ask)["authorization_url"]
    c.flow = c.cookies["visura_spid"]
    query = op.visit(url)
    r = c.get("/api/v1/auth/spid/callback?" + query)
    check("visura_spid" not in c.cookies, "the flow cookie ends with the flow")
    return query, r


def provider_options(srv):
    """Sets srv (not started) up for SPID/CIE against a provider of its own:
    the provider's port and private key, for provider_start."""
    op_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    op_pub, op_full = rsa_jwk(op_key, "op-1")
    jwks = os.path.join(srv.dir, "op-jwks.json")
    with open(jwks, "w") as f:
        json.dump({"keys": [op_pub]}, f)
    os.chmod(jwks, 0o644)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    srv.options.update(oidc_issuer=base, oidc_authorization_endpoint=base + "/auth",
                       oidc_token_endpoint=base + "/token", oidc_userinfo_endpoint=base + "/me",
                       oidc_jwks=jwks, oidc_client_id=CLIENT_ID, oidc_redirect_uri=REDIRECT)
    return port, op_full


def provider_start(srv, port, op_full, redirect=REDIRECT):
    """The provider of a started srv, its client the key visura made."""
    rp = expect(srv.request("GET", "/api/v1/auth/spid/jwks"), 200, what="rp jwks").json
    check(all("d" not in k for k in rp["keys"]), "no private part published")
    check(expect(srv.request("GET", "/api/v1/help"), 200, what="help")["spid_cie"] is True,
          "the interface is told SPID/CIE is offered")
    return Op(srv.dir, port, op_full, rp, redirect)


def with_provider(fn, **options):
    """A server set up for SPID/CIE against a provider of its own: fn(srv, op)."""
    srv = Server(population=dict(persons=20, seed=5), **options)
    port, op_full = provider_options(srv)
    with srv:
        op = provider_start(srv, port, op_full)
        try:
            fn(srv, op)
        finally:
            op.stop()


def test_spid_login():
    with_provider(run)


def run(srv, op):
    admin = srv.admin()
    ente = srv.create_ente()
    pid = srv.create_agreement(ente["id"], ["identity"])["purpose_id"]
    user = srv.user("operator", ente["id"])
    acc = user.account
    name, cf = acc["username"], acc["codice_fiscale"]
    cf = cf["value"] if isinstance(cf, dict) else cf
    expect(admin.put(f"/api/v1/accounts/{acc['id']}/spid-required", {"level": 2}), 200,
           what="mark SPID required")

    # Password refused for an account marked SPID/CIE required.
    expect(Client(srv).login(name, user.password), 403, "spid_required", what="password refused")

    # The named person at level 2: an ordinary session, through the gate.
    c = Client(srv)
    query, r = login(op, c, name, "sub-op-1", cf, 2)
    expect(r, 200, what="spid login")
    eq(r["account"]["id"], acc["id"], "the account logged in")
    check(srv.has_event("login_success", account_id=acc["id"]), "login_success recorded")
    person = sorted(x["cf"] for x in srv.population.current_persons()
                    if not x["canc_reason"])[0]
    expect(c.get(f"/api/v1/persons/{person}?purpose={pid}&case_ref=SPID-1"), 200,
           what="look-up in a SPID session")
    expect(c.post("/api/v1/auth/logout", csrf=False), 403, what="the gate's CSRF check")

    # The same answer again, with its flow cookie (state, code): refused.
    replay = Client(srv)
    replay.cookies = {"visura_spid": c.flow}
    expect(replay.get("/api/v1/auth/spid/callback?" + query), 401, "spid_replayed",
           what="a replayed answer")
    # Another flow's answer in this browser: refused.
    other = Client(srv)
    start(other, name)
    expect(other.get("/api/v1/auth/spid/callback?" + query), 400, "spid_flow_unknown",
           what="another flow's answer")

    # Level 1 when 2 is asked: refused.
    _, r = login(op, Client(srv), name, "sub-op-1", cf, 1)
    expect(r, 403, "spid_level_too_low", what="level 1")
    # A body asking for level 3: level 2 refused.
    expect(admin.put(f"/api/v1/enti/{ente['id']}/spid-required", {"level": 3}), 200,
           what="body level 3")
    # The start says nothing of the account: a marked one, an unmarked
    # one and a user id nobody has get the same level asked.
    plain_user = srv.user("operator", srv.create_ente()["id"]).account["username"]
    for who in (name, plain_user, "nobody_at_all"):
        eq(start(Client(srv), who)["level"], 2, f"the level asked at the start for {who}")
    for bad in ("1", "4", "x", "23"):
        expect(Client(srv).get(f"/api/v1/auth/spid/start?username={name}&level={bad}"), 400,
               "invalid_request", what=f"level={bad}")
    # Level 2 for a level-3 body: refused once the person is known to be
    # the account's, with the level to ask for.
    _, r = login(op, Client(srv), name, "sub-op-1", cf, 2)
    expect(r, 403, "spid_level_too_low", what="level 2 for a level-3 body")
    check("livello 3" in r.json["error"]["message"], f"the level to ask for is named: {r.json}")
    # Another person's identity at level 2 for that account: the mismatch,
    # not the account's level.
    _, r = login(op, Client(srv), name, "sub-other", new_cf(), 2)
    expect(r, 403, "spid_person_mismatch", what="another person, level-3 account")
    # Level 3 asked, the provider answers 2: refused by the flow's own level.
    c5 = Client(srv)
    _, r = login(op, c5, name, "sub-op-1", cf, 2, ask=3)
    expect(r, 403, "spid_level_too_low", what="level 3 asked, level 2 given")
    _, r = login(op, Client(srv), name, "sub-op-1", cf, 3, ask=3)
    expect(r, 200, what="level 3 for a level-3 body")
    expect(admin.put(f"/api/v1/enti/{ente['id']}/spid-required", {"level": 0}), 200,
           what="body unmarked")

    # Another person's codice fiscale: refused, a security event.
    _, r = login(op, Client(srv), name, "sub-other", new_cf(), 2)
    expect(r, 403, "spid_person_mismatch", what="codice fiscale of another person")
    check(srv.has_event("spid_person_mismatch", account_id=acc["id"]), "the security event")

    # An ID token altered in transit: refused.
    op.post("/test/tamper", {"on": True})
    _, r = login(op, Client(srv), name, "sub-op-1", cf, 2)
    expect(r, 401, "spid_bad_token", what="tampered ID token")

    # The mark removed: the password works again.
    expect(admin.put(f"/api/v1/accounts/{acc['id']}/spid-required", {"level": 0}), 200,
           what="unmark")
    expect(Client(srv).login(name, user.password), 200, what="password accepted again")

    # The transaction log: every exchange, digests only.
    files = glob.glob(files_prefix(srv.db) + ".oidc-log/*.jsonl")
    check(len(files) == 1, f"one day file of the transaction log: {files}")
    text = open(files[0]).read()
    kinds = [json.loads(line)["kind"] for line in text.splitlines()]
    for k in ("authn_request", "authn_response", "token", "userinfo"):
        check(k in kinds, f"the transaction log has {k}")
    check("eyJ" not in text and "TINIT-" not in text, "no token or identity in clear")

    # A browser's flow: to the provider and back into the interface.
    b = Client(srv)
    op.post("/test/next", {"sub": "sub-op-1", "fiscal_number": "TINIT-" + cf, "acr": L % 2})
    r = expect(b.get(f"/api/v1/auth/spid/start?username={name}&via=browser", headers=HTML), 303,
               what="a browser's start")
    query = op.visit(r.header("Location"))
    r = expect(b.get("/api/v1/auth/spid/callback?" + query, headers=HTML), 303,
               what="a browser's callback")
    eq(r.header("Location"), "/", "into the interface")
    check("visura_session" in b.cookies, "the session cookie set")
    eq(expect(b.get("/api/v1/auth/me"), 200, what="the session")["id"], acc["id"],
       "the browser's session")
    r = expect(Client(srv).get("/api/v1/auth/spid/callback?" + query, headers=HTML), 400,
               what="a browser's unknown flow")
    page_says(r, "Accesso con SPID/CIE non riuscito", "non è stato avviato da questo browser",
              'href="/"')


HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
DAY = 86400


def page_says(r, *texts):
    """An Italian page (text/html) with every one of texts."""
    check((r.header("Content-Type") or "").startswith("text/html"), f"a page: {r.headers}")
    page = r.body.decode()
    check('<html lang="it">' in page and "<script" not in page, "an Italian page, no script")
    for t in texts:
        check(t in page, f"the page says {t!r}: {page[:1500]}")
    return page


def cli(*args):
    """`visura ARGS...`: (exit status, stdout + stderr)."""
    p = subprocess.run([harness.VISURA] + list(args), capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def citizen_login(op, c, cf, level, ask=None, via=""):
    """A citizen at the provider with cf at level: the callback's answer."""
    op.post("/test/next", {"sub": "cit-" + cf, "fiscal_number": "TINIT-" + cf, "acr": L % level})
    q = "/api/v1/auth/spid/start?for=cittadino" + (f"&level={ask}" if ask else "")
    url = expect(c.get(q), 200, what="a citizen's start")["authorization_url"]
    c.flow = c.cookies["visura_spid"]
    c.query = op.visit(url)
    return c.get("/api/v1/auth/spid/callback?" + c.query)


def report(c, what, status=200, code=None, path="/citizen/access-report"):
    return expect(c.get(path), status, code, what=what)


def test_spid_citizen():
    with_provider(run_citizen)


def run_citizen(srv, op):
    oth, pol = srv.create_ente(), srv.create_ente(kind="police")
    oth_pid = srv.create_agreement(oth["id"], ["identity"])["purpose_id"]
    pol_pid = srv.create_agreement(pol["id"], ["identity"])["purpose_id"]
    oth_op, pol_op = srv.user("operator", oth["id"]), srv.user("operator", pol["id"])
    persons = sorted(x["cf"] for x in srv.population.current_persons() if not x["canc_reason"])
    me, other = persons[0], persons[1]

    def consult(who, pid, cf, case):
        expect(who.get(f"/api/v1/persons/{cf}?purpose={pid}&case_ref={case}"), 200,
               what=f"consultation {case}")

    consult(oth_op, oth_pid, me, "PRATICA-1")
    consult(pol_op, pol_pid, me, "INDAGINE-1")
    consult(oth_op, oth_pid, other, "PRATICA-ALTRO")
    op.advance(srv, 60)   # a minute later, the citizen logs in

    # Start: a citizen names no account; the parameters are checked.
    for bad in ("for=cittadino&username=x", "for=altro", "for=cittadino&via=posta",
                "for=cittadino&level=1"):
        expect(Client(srv).get("/api/v1/auth/spid/start?" + bad), 400, "invalid_request",
               what=f"start with {bad}")

    # Level 1: refused, no session.
    c1 = Client(srv)
    expect(citizen_login(op, c1, me, 1), 403, "spid_level_too_low", what="a citizen at level 1")
    check("visura_cittadino" not in c1.cookies, "no citizen's session at level 1")

    # Level 2: a citizen's session, bound to the codice fiscale asserted.
    c = Client(srv)
    r = expect(citizen_login(op, c, me, 2), 200, what="a citizen at level 2")
    eq((r["codice_fiscale"], r["level"]), (me, 2), "the session's person and level")
    check("visura_spid" not in c.cookies, "the flow cookie ends with the flow")
    cookie = next((x for x in r.header_all("Set-Cookie") if x.startswith("visura_cittadino=")), "")
    for attr in ("visura_cittadino=", "Path=/citizen/", "HttpOnly", "Secure", "SameSite=Lax",
                 "Max-Age=900"):
        check(attr in cookie, f"the citizen's cookie has {attr}: {cookie}")
    token = c.cookies["visura_cittadino"]
    got = report(c, "the citizen's own report")
    eq(got["codice_fiscale"], me, "their own codice fiscale")
    eq([(e["ente"], e["operazione"]) for e in got["accesses"]],
       [(oth["name"], "consultazione della scheda anagrafica")],
       "exactly the accesses on their own codice fiscale, the one made a minute before "
       "included, the police one neither listed nor counted")
    check(pol["name"] not in json.dumps(got.json) and "INDAGINE" not in json.dumps(got.json),
          "nothing of the police consultation")
    eq(got["level"], 2, "the session's level")
    # A consultation made while the session is open shows at once.
    consult(oth_op, oth_pid, me, "PRATICA-2")
    eq(len(report(c, "the report again")["accesses"]), 2, "the new consultation listed")
    page = page_says(expect(c.get("/citizen/access-report", headers=HTML), 200,
                            what="the citizen's page"),
                     me, oth["name"], "Consultazioni (2)", "action=\"/citizen/logout\"",
                     "livello 2")
    check(pol["name"] not in page and "PRATICA" not in page, "no police body, no case on the page")
    check('href="/citizen/access-report?formato=firmato"' in page, "the signed list offered")

    # The list as a document signed by the deployment, checked offline.
    r = expect(c.get("/citizen/access-report?formato=firmato"), 200, what="the signed list")
    eq(r.header("Content-Disposition"), f'attachment; filename="consultazioni-{me}.json"',
       "a download")
    doc = r.json["documento"]
    eq((doc["codice_fiscale"], doc["accesses"]), (me, report(c, "the list")["accesses"]),
       "the document holds the same entries")
    check(pol["name"] not in r.body.decode(), "the document leaves the police one out too")
    path = os.path.join(srv.dir, "elenco.json")
    with open(path, "wb") as f:
        f.write(r.body)
    rc, pk = cli("audit", "key", "--db", srv.db)
    eq(rc, 0, f"the deployment's key: {pk}")
    rc, out = cli("audit", "verify-document", "--key", pk.strip(), path)
    eq((rc, out.strip()), (0, "ok: the document is intact and signed by this key"),
       "the signed list verifies offline")
    with open(path, "w") as f:
        f.write(r.body.decode().replace(oth["name"], "Un altro ente"))
    rc, out = cli("audit", "verify-document", "--key", pk.strip(), path)
    check(rc == 1 and out.startswith("INVALID"), f"an altered list does not verify: {rc} {out}")
    expect(c.get("/citizen/access-report?formato=firmato&cf=" + other), 400, "invalid_request",
           what="the signed list of anyone else")

    # It cannot ask for anyone else.
    for q in (f"cf={other}", f"codice_fiscale={other}", "x=1"):
        expect(c.get("/citizen/access-report?" + q), 400, "invalid_request",
               what=f"the citizen's report with {q}")
    # Every other route refuses the citizen's session.
    only = Client(srv)
    only.cookies = {"visura_cittadino": token}
    doc = expect(srv.request("GET", "/api/v1/openapi.json"), 200, what="the contract").json
    tried = 0
    for path, item in doc["paths"].items():
        for method, o in item.items():
            if method not in ("get", "post", "put", "patch", "delete") or o.get("security") == []:
                continue
            url = (path.replace("{cf}", other).replace("{file}", "x")
                   .replace("{id}", "1").replace("{", "").replace("}", ""))
            r = only.request(method.upper(), url)
            eq(r.status, 401, f"{method.upper()} {path} with a citizen's session")
            tried += 1
    check(tried > 50, f"every authenticated route tried: {tried}")
    for path in ("/api/v1/audit/subject/" + other, "/api/v1/auth/me"):
        expect(only.get(path), 401, "unauthenticated", what=f"{path} with a citizen's session")

    # The same provider's answer again: refused.
    replay = Client(srv)
    replay.cookies = {"visura_spid": c.flow}
    expect(replay.get("/api/v1/auth/spid/callback?" + c.query), 401, "spid_replayed",
           what="a citizen's replayed answer")
    r = expect(replay.get("/api/v1/auth/spid/callback?" + c.query, headers=HTML), 400,
               what="the replay in a browser, its flow cookie ended")
    page_says(r, "Accesso con SPID/CIE non riuscito")

    # The one-time code keeps working, with the same entries.
    code = expect(srv.admin().post("/api/v1/audit/subject-codes", {"codice_fiscale": me}), 201,
                  what="a one-time code")["code"]
    by_code = expect(Client(srv).get("/citizen/access-report?code=" + code), 200,
                     what="the one-time code")
    eq(by_code["accesses"], report(c, "the session again")["accesses"],
       "the code and the session read the same entries")

    # Logout: the session ends on the server.
    expect(c.post("/citizen/logout", csrf=False), 200, what="logout")
    check("visura_cittadino" not in c.cookies, "the cookie ended")
    report(only, "the ended session", 401, "citizen_session_expired")
    page_says(expect(only.get("/citizen/access-report", headers=HTML), 401,
                     what="the ended session, as a page"), "sessione è terminata",
              "Entra con SPID/CIE")

    # A browser's flow: from the page's button to the page, with a session.
    b = Client(srv)
    op.post("/test/next", {"sub": "cit-" + me, "fiscal_number": "TINIT-" + me, "acr": L % 3})
    r = expect(b.get("/api/v1/auth/spid/start?for=cittadino&via=browser&level=3", headers=HTML),
               303, what="a browser's start")
    query = op.visit(r.header("Location"))
    r = expect(b.get("/api/v1/auth/spid/callback?" + query, headers=HTML), 303,
               what="a browser's callback")
    eq(r.header("Location"), "/citizen/access-report", "to the citizen's page")
    page_says(expect(b.get("/citizen/access-report", headers=HTML), 200, what="the page"),
              me, "Consultazioni (2)", "livello 3")
    r = expect(b.post("/citizen/logout", csrf=False, headers=HTML), 303, what="a browser's logout")
    eq(r.header("Location"), "/citizen/access-report", "back to the page")

    # The session is short: over after 15 minutes.
    c2 = Client(srv)
    expect(citizen_login(op, c2, me, 2), 200, what="another session")
    op.advance(srv, 14 * 60)
    report(c2, "after 14 minutes")
    op.advance(srv, 2 * 60)
    report(c2, "after 16 minutes", 401, "citizen_session_expired")

    # The police consultation appears once the embargo (365 days) ends.
    op.advance(srv, 366 * DAY)
    c3 = Client(srv)
    expect(citizen_login(op, c3, me, 2), 200, what="a session after the embargo")
    eq(sorted(e["ente"] for e in report(c3, "after the embargo")["accesses"]),
       sorted([oth["name"], oth["name"], pol["name"]]), "the police consultation now listed")

    # The transaction log records the citizens' logins, their refusals too.
    text = "".join(open(f).read() for f in glob.glob(files_prefix(srv.db) + ".oidc-log/*.jsonl"))
    logins = [json.loads(line) for line in text.splitlines() if '"kind":"login"' in line]
    outcomes = {(x["for"], x["outcome"]) for x in logins}
    for want in (("cittadino", "ok"), ("cittadino", "spid_replayed"),
                 ("cittadino", "spid_level_too_low")):
        check(want in outcomes, f"the transaction log has {want}: {outcomes}")
    check(me not in text and "TINIT-" not in text, "no codice fiscale in the log")


if __name__ == "__main__":
    run_tests(globals())
