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
- the userinfo signed but not encrypted, encrypted to another key, or with
  its ciphertext altered: refused (the profile asks it signed and
  encrypted; every good login above got it encrypted to visura's RSA key);
- a password login for an account marked SPID/CIE required: refused; the
  mark removed: accepted again;
- the provider's keys from its own jwks_uri (oidc_jwks_url): the provider
  rotates its signing key (started again with a new one), and the next
  login is taken without restarting visura (a kid not held fetches the
  keys again).


OpenID Federation (test_spid_federation, another server): a trust anchor
run here (its keys, its entity configuration and its fetch endpoint), the
provider's entity configuration served by the provider, signed here with
the provider's federation key; visura configured with the trust anchor's
entity id and keys only (no endpoints, no provider keys):
- the relying party's entity configuration is well formed and verifies
  with its own published federation keys, apart from its OpenID Connect
  keys; served at the root and at the client_id's path, not elsewhere;
- a login through the resolved trust chain;
- the chain expired (a subordinate statement with exp in the past),
  a statement signed by a stranger's key, one naming another key than
  the one that signed the provider's configuration, one served with
  another content type, a metadata policy that forbids
  the provider's value: login refused (spid_trust_chain), the transaction
  log says why;
- a metadata policy that changes a value (the provider's userinfo
  endpoint, wrong in its own configuration, set right by the trust
  anchor's `value`): the login works only with the policy applied;
- through an intermediate (provider → intermediate → anchor): logged in
  with the two levels' policies merged; an intermediate's subset_of that
  leaves nothing for the anchor's essential: refused;
- the provider's trust marks (oidc_op_trust_marks): one of an issuer the
  anchor lists (its keys from the anchor's statement about it) taken, its
  exp bounding the chain's; missing, of another id only, expired, of an
  issuer not listed, signed by a stranger in the issuer's name, for
  another entity, altered: refused (spid_trust_mark), the log says why;
- the provider's keys from its signed_jwks_uri (signed with its
  federation key) taken; signed by another key, or only a jwks_uri:
  refused;
- a slow trust anchor (8 s a statement) while the chain is refreshed
  ahead of its exp: a login on the chain still valid does not wait.

The browser (in test_spid_login): redirects to the provider and back into
  the interface; a refusal is an Italian page.

A citizen (test_spid_citizen): a session of their own, bound to the
codice fiscale of the assertion, that reads exactly the accesses on it
(one made a minute before included; police ones hidden until the embargo
ends, then shown: both clocks moved), takes no parameter that could name
another person, is refused by every other route, ends at logout and after
15 minutes; downloads the list as a document signed by the deployment
(checked offline by `visura audit verify-document --key`, an altered one
refused); a replayed state and level 1 are refused; the one-time code
still works; the transaction log records the citizen's login.

Limits (test_spid_limits): while the provider is slow to answer, the
exchanges under way hold at most threads - 1 workers: one more answer is
refused at once (503 spid_busy, not counted against the address) and the
server keeps answering; refused answers count against the address like
failed logins, and past ip_lock_failures the start and the callback
answer 429 spid_throttled with Retry-After, until the lockout ends."""
import base64
import glob
import http.cookiejar
import json
import os
import subprocess
import re
import signal
import stat
import urllib.error
import urllib.parse
import time
import urllib.request

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (decode_dss_signature,
                                                              encode_dss_signature)

import csrf_class
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
        if line.strip() != "ready":
            self.log.flush()
            with open(os.path.join(work, "provider.log"), errors="replace") as f:
                said = f.read()[-2000:]
            check(False, f"the provider did not start on port {port}: {line!r}; its log:\n{said}")

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
    c.flow = c.cookies["__Host-visura_spid"]
    query = op.visit(url)
    r = c.get("/api/v1/auth/spid/callback?" + query)
    check("__Host-visura_spid" not in c.cookies, "the flow cookie ends with the flow")
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
    uses = {k.get("use"): k for k in rp["keys"]}
    check(set(uses) == {"sig", "enc"}, f"a signing and an encryption key: {rp}")
    enc = uses["enc"]
    eq((enc["kty"], enc["alg"]), ("RSA", "RSA-OAEP-256"), "the encryption key")
    check(len(base64.urlsafe_b64decode(enc["n"] + "==")) * 8 >= 4096, "an RSA key of 4096 bits")
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


def test_spid_key_rotation():
    srv = Server(population=dict(persons=20, seed=6))
    _, full1 = rsa_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048), "op-1")
    _, full2 = rsa_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048), "op-2")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    srv.options.update(oidc_issuer=base, oidc_authorization_endpoint=base + "/auth",
                       oidc_token_endpoint=base + "/token", oidc_userinfo_endpoint=base + "/me",
                       oidc_jwks_url=base + "/jwks", oidc_client_id=CLIENT_ID,
                       oidc_redirect_uri=REDIRECT, jwks_unknown_kid_interval=30)
    with srv:
        rp = expect(srv.request("GET", "/api/v1/auth/spid/jwks"), 200, what="rp jwks").json
        ente = srv.create_ente()
        user = srv.user("operator", ente["id"])
        name, cf = user.account["username"], user.account["codice_fiscale"]
        cf = cf["value"] if isinstance(cf, dict) else cf
        op = Op(srv.dir, port, full1, rp)
        try:
            # The first fetch, at start, found no provider: a kid not held
            # fetches again once jwks_unknown_kid_interval has passed.
            srv.advance(31)
            _, r = login(op, Client(srv), name, "sub-rot", cf, 2)
            expect(r, 200, what="login with the provider's first key")
        finally:
            op.stop()
        op = Op(srv.dir, port, full2, rp)   # the provider rotates its key
        try:
            _, r = login(op, Client(srv), name, "sub-rot", cf, 2)
            expect(r, 401, "spid_bad_token",
                   what="the new key within jwks_unknown_kid_interval: not fetched yet")
            srv.advance(31)
            _, r = login(op, Client(srv), name, "sub-rot", cf, 2)
            expect(r, 200, what="login with the provider's new key, without restart")
            log = srv.log_text()
            check(any('msg="chiavi ricaricate" source=oidc_jwks_url' in line and
                      'cause="kid sconosciuto"' in line and "kids=op-2" in line
                      for line in log.splitlines()), "the keys fetched for the kid not held")
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
    replay.cookies = {"__Host-visura_spid": c.flow}
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

    # The userinfo not as the profile asks: refused, whatever the reason.
    for mode, what in (("plain", "non sono cifrate"), ("stranger", "non si decifrano"),
                       ("tamper", "non si decifrano")):
        op.post("/test/userinfo", {"mode": mode})
        _, r = login(op, Client(srv), name, "sub-op-1", cf, 2)
        expect(r, 401, "spid_bad_userinfo", what=f"userinfo {mode}")
        check(what in r.json["error"]["message"], f"userinfo {mode}: {r.json}")
    _, r = login(op, Client(srv), name, "sub-op-1", cf, 2)
    expect(r, 200, what="the provider's own encrypted userinfo again")

    # The mark removed: the password works again.
    expect(admin.put(f"/api/v1/accounts/{acc['id']}/spid-required", {"level": 0}), 200,
           what="unmark")
    expect(Client(srv).login(name, user.password), 200, what="password accepted again")

    # The transaction log: every exchange, digests only.
    text = oidc_log_text(srv)
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
    # with a parameter of the provider's own (OpenID Connect Session
    # Management's session_state): ignored, as RFC 6749 §4.1.2 requires
    r = expect(b.get("/api/v1/auth/spid/callback?" + query + "&session_state=ab12.cd",
                     headers=HTML), 303, what="a browser's callback")
    eq(r.header("Location"), "/", "into the interface")
    check("__Host-visura_session" in b.cookies, "the session cookie set")
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
    c.flow = c.cookies["__Host-visura_spid"]
    c.query = op.visit(url)
    return c.get("/api/v1/auth/spid/callback?" + c.query)


def report(c, what, status=200, code=None, path="/citizen/access-report"):
    return expect(c.get(path), status, code, what=what)


def test_spid_limits():
    srv = Server(population=dict(persons=20, seed=7))
    port, op_full = provider_options(srv)
    srv.options.update(ip_lock_failures=5, threads=2)
    with srv:
        op = provider_start(srv, port, op_full)
        try:
            run_limits(srv, op)
        finally:
            op.stop()


def run_limits(srv, op):
    ente = srv.create_ente()
    user = srv.user("operator", ente["id"])
    name, cf = user.account["username"], user.account["codice_fiscale"]
    cf = cf["value"] if isinstance(cf, dict) else cf

    def prepared(sub):
        c = Client(srv)
        op.post("/test/next", {"sub": sub, "fiscal_number": "TINIT-" + cf, "acr": L % 2})
        url = start(c, name)["authorization_url"]
        return c, op.visit(url)

    # The provider takes 4 s for the next exchange: it holds the one
    # worker visura lets such exchanges have (threads 2).
    ca, qa = prepared("sub-a")
    cb, qb = prepared("sub-b")
    op.post("/test/slow", {"ms": 4000})
    got = {}
    slow = threading.Thread(target=lambda: got.update(
        a=ca.get("/api/v1/auth/spid/callback?" + qa)))
    slow.start()
    time.sleep(1.0)
    t0 = time.monotonic()
    rb = cb.get("/api/v1/auth/spid/callback?" + qb)
    expect(rb, 503, "spid_busy", what="a second exchange while one is under way")
    expect(srv.request("GET", "/healthz"), 200, what="the server answers meanwhile")
    check(time.monotonic() - t0 < 2.0, "refused and answered at once, not after the provider")
    slow.join(30)
    expect(got["a"], 200, what="the slow exchange completes")

    # Refused answers count against the address: ip_lock_failures (5).
    for i in range(5):
        expect(Client(srv).get("/api/v1/auth/spid/callback?code=x&state=y"), 400,
               "spid_flow_unknown", what=f"a forged answer {i + 1}")
    r = Client(srv).get("/api/v1/auth/spid/callback?code=x&state=y")
    expect(r, 429, "spid_throttled", what="the address locked out")
    check(int(r.header("Retry-After") or "0") > 0, f"Retry-After: {r.headers}")
    r = Client(srv).get("/api/v1/auth/spid/start?username=" + name)
    expect(r, 429, "spid_throttled", what="the start too, from that address")
    srv.advance(61)
    _, r = login(op, Client(srv), name, "sub-a", cf, 2)
    expect(r, 200, what="once the lockout has passed")


def test_spid_citizen():
    with_provider(run_citizen)


def run_citizen(srv, op):
    # CSRF of both kinds of session, every route (csrf_class.py), first:
    # before the clock moves, a citizen of its own.
    csrf_class.check_class(srv, op, citizen_login, page_says)
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
    check("__Host-visura_cittadino" not in c1.cookies, "no citizen's session at level 1")

    # Level 2: a citizen's session, bound to the codice fiscale asserted.
    c = Client(srv)
    r = expect(citizen_login(op, c, me, 2), 200, what="a citizen at level 2")
    eq((r["codice_fiscale"], r["level"]), (me, 2), "the session's person and level")
    check("__Host-visura_spid" not in c.cookies, "the flow cookie ends with the flow")
    cookie = next((x for x in r.header_all("Set-Cookie")
                   if x.startswith("__Host-visura_cittadino=")), "")
    for attr in ("__Host-visura_cittadino=", "Path=/;", "HttpOnly", "Secure", "SameSite=Lax",
                 "Max-Age=900"):
        check(attr in cookie, f"the citizen's cookie has {attr}: {cookie}")
    token = c.cookies["__Host-visura_cittadino"]
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
    eq((rc, out.strip()), (0, "ok: il documento è integro e firmato con questa chiave"),
       "the signed list verifies offline")
    with open(path, "w") as f:
        f.write(r.body.decode().replace(oth["name"], "Un altro ente"))
    rc, out = cli("audit", "verify-document", "--key", pk.strip(), path)
    check(rc == 1 and out.startswith("NON VALIDO"), f"an altered list does not verify: {rc} {out}")
    expect(c.get("/citizen/access-report?formato=firmato&cf=" + other), 400, "invalid_request",
           what="the signed list of anyone else")

    # It cannot ask for anyone else.
    for q in (f"cf={other}", f"codice_fiscale={other}", "x=1"):
        expect(c.get("/citizen/access-report?" + q), 400, "invalid_request",
               what=f"the citizen's report with {q}")
    # Every other route refuses the citizen's session.
    only = Client(srv)
    only.cookies = {"__Host-visura_cittadino": token}
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
    replay.cookies = {"__Host-visura_spid": c.flow}
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

    # Logout: the session ends on the server (with its CSRF token: test_csrf).
    tok = expect(c.get("/citizen/notifications"), 200, what="the session's token")["csrf_token"]
    expect(c.post("/citizen/logout", csrf=False, headers={"X-CSRF-Token": tok}), 200,
           what="logout")
    check("__Host-visura_cittadino" not in c.cookies, "the cookie ended")
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
    # with a parameter of the provider's own (OpenID Connect Session
    # Management's session_state): ignored, as RFC 6749 §4.1.2 requires
    r = expect(b.get("/api/v1/auth/spid/callback?" + query + "&session_state=ab12.cd",
                     headers=HTML), 303, what="a browser's callback")
    eq(r.header("Location"), "/citizen/access-report", "to the citizen's page")
    page = page_says(expect(b.get("/citizen/access-report", headers=HTML), 200, what="the page"),
                     me, "Consultazioni (2)", "livello 3")
    form = re.search(r'action="/citizen/logout"><input type="hidden" name="csrf_token" '
                     r'value="([0-9a-f]{64})">', page)
    check(form is not None, "the logout form carries the session's CSRF token")
    r = expect(b.request("POST", "/citizen/logout", csrf=False, raw=b"csrf_token=" +
                         form.group(1).encode(),
                         headers={"Accept": "text/html",
                                  "Content-Type": "application/x-www-form-urlencoded"}),
               303, what="a browser's logout")
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
    text = oidc_log_text(srv)
    logins = [json.loads(line) for line in text.splitlines() if '"kind":"login"' in line]
    outcomes = {(x["for"], x["outcome"]) for x in logins}
    for want in (("cittadino", "ok"), ("cittadino", "spid_replayed"),
                 ("cittadino", "spid_level_too_low")):
        check(want in outcomes, f"the transaction log has {want}: {outcomes}")
    check(me not in text and "TINIT-" not in text, "no codice fiscale in the log")


def oidc_log_text(srv):
    """The transaction log, oldest line first: one file per day (UTC),
    named YYYY-MM-DD.jsonl, read in the order of their names.  The test
    clock may cross midnight: a test that took one file, or the files in
    the directory's order, failed near midnight UTC."""
    files = sorted(glob.glob(files_prefix(srv.db) + ".oidc-log/*.jsonl"))
    check(files and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}\.jsonl", os.path.basename(f))
                        for f in files), f"the transaction log's day files: {files}")
    return "".join(open(f).read() for f in files)


# ---- OpenID Federation

FED_TYP = "entity-statement+jwt"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64u_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class FedKey:
    """An EC P-256 federation key that signs entity statements (ES256)."""

    def __init__(self, kid):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.kid = kid

    def jwk(self):
        n = self.key.public_key().public_numbers()
        return {"kty": "EC", "crv": "P-256", "kid": self.kid, "use": "sig",
                "x": b64u(n.x.to_bytes(32, "big")), "y": b64u(n.y.to_bytes(32, "big"))}

    def sign(self, claims, typ=FED_TYP):
        head = b64u(json.dumps({"alg": "ES256", "kid": self.kid, "typ": typ}).encode())
        signing_input = head + "." + b64u(json.dumps(claims).encode())
        r, s = decode_dss_signature(self.key.sign(signing_input.encode(),
                                                  ec.ECDSA(hashes.SHA256())))
        return signing_input + "." + b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def es256_verified(token, keys):
    """The header and claims of a compact JWS that verifies (ES256) with
    the key of keys its kid names; fails the test otherwise."""
    head, body, sig = token.split(".")
    header = json.loads(b64u_dec(head))
    eq(header.get("alg"), "ES256", "the statement's alg")
    key = [k for k in keys if k["kid"] == header.get("kid")]
    check(len(key) == 1, f"the kid {header.get('kid')} is among the keys")
    k = key[0]
    pub = ec.EllipticCurvePublicNumbers(int.from_bytes(b64u_dec(k["x"]), "big"),
                                        int.from_bytes(b64u_dec(k["y"]), "big"),
                                        ec.SECP256R1()).public_key()
    raw = b64u_dec(sig)
    check(len(raw) == 64, "an ES256 signature is 64 bytes")
    try:
        pub.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                        int.from_bytes(raw[32:], "big")),
                   (head + "." + body).encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise TestFailure("the entity configuration does not verify with its own keys")
    return header, json.loads(b64u_dec(body))


class Authority:
    """A trust anchor (or, with a superior, an intermediate) on loopback:
    its entity configuration and its fetch endpoint (the subordinate
    statements the test sets)."""

    def __init__(self, kid="ta-1", superior=None):
        self.key = FedKey(kid)
        self.superior = superior
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.configuration = None
        self.statements = {}
        self.mark_issuers = None
        self.fetches = 0  # subordinate statements asked for
        self.delay = 0    # seconds each waits, as a slow anchor would
        self.documents = {}  # path: (content type, body), other documents it serves
        self.content_type = "application/entity-statement+jwt"
        ta = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                body = None
                if url.path == "/.well-known/openid-federation":
                    body = ta.configuration
                elif url.path == "/fetch":
                    sub = urllib.parse.parse_qs(url.query).get("sub", [""])[0]
                    body = ta.statements.get(sub)
                    ta.fetches += 1
                    time.sleep(ta.delay)
                ctype = ta.content_type
                if url.path in ta.documents:
                    ctype, body = ta.documents[url.path]
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def publish(self, now):
        claims = {
            "iss": self.base, "sub": self.base, "iat": now, "exp": now + 3600,
            "jwks": {"keys": [self.key.jwk()]},
            "metadata": {"federation_entity": {
                "federation_fetch_endpoint": self.base + "/fetch",
                "organization_name": "Autorità di prova"}}}
        if self.superior:
            claims["authority_hints"] = [self.superior.base]
        if self.mark_issuers:
            claims["trust_mark_issuers"] = self.mark_issuers
        self.configuration = self.key.sign(claims)

    def subordinate(self, sub, keys, iat, exp, policy=None, signer=None):
        claims = {"iss": self.base, "sub": sub, "iat": iat, "exp": exp, "jwks": {"keys": keys}}
        if policy:
            claims["metadata_policy"] = {"openid_provider": policy}
        self.statements[sub] = (signer or self.key).sign(claims)


def mark_id(ta):
    return ta.base + "/openid_provider/public/"


def trust_mark(key, iss, sub, mid, iat, exp):
    """A trust mark: a JWS signed by key (ES256)."""
    return {"id": mid, "trust_mark": key.sign({"iss": iss, "sub": sub, "id": mid,
                                                "iat": iat, "exp": exp,
                                                "organization_type": "public"})}


def op_configuration(op, fed, op_pub, superior, now, userinfo="/me", marks=None, keys=None):
    """The provider's entity configuration, set on the provider; its
    trust marks marks, by default one valid mark of the anchor op.ta;
    keys: how its metadata gives its keys (by default {"jwks": ...})."""
    if marks is None:
        marks = [trust_mark(op.ta.key, op.ta.base, op.base, mark_id(op.ta), now, now + 3600)]
    md = {"issuer": op.base, "authorization_endpoint": op.base + "/auth",
          "token_endpoint": op.base + "/token", "userinfo_endpoint": op.base + userinfo,
          "token_endpoint_auth_methods_supported": ["private_key_jwt"],
          "id_token_signing_alg_values_supported": ["RS256", "ES256"],
          "acr_values_supported": [L % 1, L % 2, L % 3]}
    md.update(keys if keys is not None else {"jwks": {"keys": [op_pub]}})
    op.post("/test/federation", {"entity_configuration": fed.sign({
        "iss": op.base, "sub": op.base, "iat": now, "exp": now + 3600,
        "jwks": {"keys": [fed.jwk()]}, "authority_hints": [superior.base],
        "trust_marks": marks, "metadata": {"openid_provider": md}})})


def chain_log(srv):
    return [x for x in map(json.loads, oidc_log_text(srv).splitlines())
            if x["kind"] == "trust_chain"]


def test_spid_federation():
    srv = Server(population=dict(persons=20, seed=6))
    ta = Authority()
    inter = Authority("intermediate-1", superior=ta)
    ta_jwks = os.path.join(srv.dir, "ta-jwks.json")
    with open(ta_jwks, "w") as f:
        json.dump({"keys": [ta.key.jwk()]}, f)
    os.chmod(ta_jwks, 0o644)
    marks = [{"id": ta.base + "/trust-marks/public-sp",
              "trust_mark": ta.key.sign({"iss": ta.base, "sub": CLIENT_ID,
                                         "id": ta.base + "/trust-marks/public-sp"})}]
    marks_file = os.path.join(srv.dir, "trust-marks.json")
    with open(marks_file, "w") as f:
        json.dump(marks, f)
    os.chmod(marks_file, 0o644)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    srv.options.update(oidc_issuer=base, oidc_trust_anchor=ta.base,
                       oidc_trust_anchor_jwks=ta_jwks, oidc_client_id=CLIENT_ID,
                       oidc_redirect_uri=REDIRECT, oidc_authority_hints=ta.base,
                       oidc_organization_name="Comune di Valdoria",
                       oidc_contacts="anagrafe@comune.example.it, ced@comune.example.it",
                       oidc_trust_marks=marks_file, oidc_op_trust_marks=mark_id(ta))
    op_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    op_pub, op_full = rsa_jwk(op_key, "op-1")
    try:
        with srv:
            rp = expect(srv.request("GET", "/api/v1/auth/spid/jwks"), 200, what="rp jwks").json
            entity_configuration(srv, ta, rp, marks)
            op = Op(srv.dir, port, op_full, rp)
            op.ta = ta
            try:
                federation(srv, op, ta, inter, op_pub)
            finally:
                op.stop()
    finally:
        ta.stop()
        inter.stop()


def entity_configuration(srv, ta, rp, marks):
    r = srv.request("GET", "/.well-known/openid-federation")
    eq(r.status, 200, "the entity configuration")
    eq(r.header("Content-Type").split(";")[0], "application/entity-statement+jwt",
       "its content type")
    token = r.body.decode()
    claims = json.loads(b64u_dec(token.split(".")[1]))
    header, claims = es256_verified(token, claims["jwks"]["keys"])
    eq(header.get("typ"), FED_TYP, "typ")
    eq((claims["iss"], claims["sub"]), (CLIENT_ID, CLIENT_ID), "iss and sub: the client_id")
    now = srv.now()
    check(claims["iat"] <= now < claims["exp"], f"iat/exp around now: {claims}")
    eq(claims["exp"] - claims["iat"], 86400, "valid for oidc_entity_lifetime")
    eq(claims["authority_hints"], [ta.base], "authority_hints as configured")
    eq(claims["trust_marks"], marks, "the trust marks as configured")
    check(all("d" not in k for k in claims["jwks"]["keys"]), "no private part")
    fed_kids = {k["kid"] for k in claims["jwks"]["keys"]}
    md = claims["metadata"]["openid_relying_party"]
    eq(md["jwks"], rp, "the OpenID Connect keys are those of /api/v1/auth/spid/jwks")
    check(not fed_kids & {k["kid"] for k in rp["keys"]},
          "the federation key is not the OpenID Connect key")
    eq(md["client_id"], CLIENT_ID, "client_id")
    eq(md["redirect_uris"], [REDIRECT], "redirect_uris")
    eq(md["client_registration_types"], ["automatic"], "client_registration_types")
    eq(md["token_endpoint_auth_method"], "private_key_jwt", "token_endpoint_auth_method")
    eq(md["grant_types"], ["authorization_code"], "grant_types")
    eq(md["response_types"], ["code"], "response_types")
    eq(md["request_object_signing_alg"], "ES256", "request_object_signing_alg")
    eq(md["userinfo_signed_response_alg"], "RS256", "userinfo_signed_response_alg")
    eq((md["userinfo_encrypted_response_alg"], md["userinfo_encrypted_response_enc"]),
       ("RSA-OAEP-256", "A256CBC-HS512"), "the userinfo encrypted as the profile asks")
    eq(md["organization_name"], "Comune di Valdoria", "organization_name")
    eq(md["contacts"], ["anagrafe@comune.example.it", "ced@comune.example.it"], "contacts")
    eq(claims["metadata"]["federation_entity"]["organization_name"], "Comune di Valdoria",
       "federation_entity")
    # The federation key beside the database, 0600, apart from the
    # OpenID Connect key.
    prefix = files_prefix(srv.db)
    fed_file, rp_file = prefix + ".oidc-federation-key", prefix + ".oidc-key"
    eq(oct(os.stat(fed_file).st_mode & 0o777), "0o600", "the federation key's mode")
    eq({json.load(open(fed_file))["kid"]}, fed_kids, "the published federation key is the file's")
    check(json.load(open(fed_file))["d"] != json.load(open(rp_file))["d"],
          "two keys, not one")
    # Signed afresh: a second fetch verifies too, with the same key.
    _, again = es256_verified(srv.request("GET", "/.well-known/openid-federation").body.decode(),
                              claims["jwks"]["keys"])
    eq(again["sub"], CLIENT_ID, "a second fetch")
    # Also where the federation looks for it: the client_id's path
    # (https://comune.example.it/visura) + /.well-known/openid-federation;
    # not under another path.
    r = srv.request("GET", "/visura/.well-known/openid-federation")
    eq((r.status, r.header("Content-Type").split(";")[0]),
       (200, "application/entity-statement+jwt"), "at the client_id's path")
    _, at_path = es256_verified(r.body.decode(), claims["jwks"]["keys"])
    eq((at_path["iss"], at_path["metadata"]["openid_relying_party"]["client_id"]),
       (CLIENT_ID, CLIENT_ID), "the same entity configuration at the client_id's path")
    for other in ("/altro", "/visura/altro", "/a/visura"):
        expect(srv.request("GET", other + "/.well-known/openid-federation"), 404, "not_found",
               what=f"the entity configuration under {other}")


def federation(srv, op, ta, inter, op_pub):
    srv.admin()
    ente = srv.create_ente()
    user = srv.user("operator", ente["id"])
    acc = user.account
    name, cf = acc["username"], acc["codice_fiscale"]
    cf = cf["value"] if isinstance(cf, dict) else cf
    fed = FedKey("op-fed-1")

    # A chain that holds: logged in with the provider's metadata from it.
    t = srv.now()
    ta.publish(t)
    op_configuration(op, fed, op_pub, ta, t)
    ta.subordinate(op.base, [fed.jwk()], t, t + 120)
    _, r = login(op, Client(srv), name, "sub-fed-1", cf, 2)
    expect(r, 200, what="login through the trust chain")
    log = chain_log(srv)
    eq([x["outcome"] for x in log], ["resolved"], "the chain resolved once, in the log")
    eq(log[0]["until"], t + 120, "kept until the chain's earliest exp")

    def refused(what, reason, code="spid_trust_chain"):
        r = Client(srv).get("/api/v1/auth/spid/start?username=" + name)
        expect(r, 502, code, what=what)
        said = "catena di fiducia" if code == "spid_trust_chain" else "marchi di fiducia"
        check(said in r.json["error"]["message"], f"said in Italian: {r.json}")
        last = chain_log(srv)[-1]
        eq(last["outcome"], "refused", f"{what}: refused in the transaction log")
        check(reason in last["reason"], f"{what}: the log says why ({reason}): {last}")

    # The chain expires: resolved again, and the statement is now expired.
    t = both_to(srv, op, t + 121)
    ta.subordinate(op.base, [fed.jwk()], t - 400, t - 100)  # beyond oidc_clock_skew
    refused("expired subordinate statement", "scaduto")
    # A statement signed by a stranger's key (with the anchor's kid).
    t = both_to(srv, op, t + 31)
    ta.subordinate(op.base, [fed.jwk()], t, t + 120, signer=FedKey("ta-1"))
    refused("statement signed by a stranger", "non è firmato dalle chiavi del suo superiore")
    # A statement naming another key than the one that signed the
    # provider's configuration.
    t = both_to(srv, op, t + 31)
    ta.subordinate(op.base, [FedKey("op-fed-1").jwk()], t, t + 120)
    refused("another key vouched for", "chiavi che il suo superiore indica")
    # A statement served as something else than an entity statement.
    t = both_to(srv, op, t + 31)
    ta.subordinate(op.base, [fed.jwk()], t, t + 120)
    ta.content_type = "application/json"
    refused("a statement served as application/json", "non application/entity-statement+jwt")
    ta.content_type = "application/entity-statement+jwt"
    # A policy that forbids the provider's value: only tls_client_auth,
    # essential.
    t = both_to(srv, op, t + 31)
    ta.subordinate(op.base, [fed.jwk()], t, t + 120, policy={
        "token_endpoint_auth_methods_supported": {"subset_of": ["tls_client_auth"],
                                                  "essential": True}})
    refused("a policy that forbids", "token_endpoint_auth_methods_supported")
    # A policy that changes a value.  The provider's own userinfo
    # endpoint is wrong: without a policy the login fails there ...
    t = both_to(srv, op, t + 31)
    op_configuration(op, fed, op_pub, ta, t, userinfo="/non-esiste")
    ta.subordinate(op.base, [fed.jwk()], t, t + 60)
    _, r = login(op, Client(srv), name, "sub-fed-1", cf, 2)
    expect(r, 502, "spid_provider_error", what="the provider's wrong userinfo endpoint")
    # ... and with the anchor's value setting it right, it works (with a
    # subset_of and a one_of that hold).
    t = both_to(srv, op, t + 61)
    op_configuration(op, fed, op_pub, ta, t, userinfo="/non-esiste")
    ta.subordinate(op.base, [fed.jwk()], t, t + 120, policy={
        "userinfo_endpoint": {"value": op.base + "/me"},
        "id_token_signing_alg_values_supported": {"subset_of": ["RS256"]},
        "issuer": {"one_of": [op.base]}})
    _, r = login(op, Client(srv), name, "sub-fed-1", cf, 2)
    expect(r, 200, what="login with the policy's userinfo endpoint")
    eq(chain_log(srv)[-1]["outcome"], "resolved", "the chain with the policy resolved")

    # Through an intermediate: the provider's superior is the
    # intermediate, whose superior is the anchor; the anchor's policy and
    # the intermediate's merged (the anchor's value for the userinfo
    # endpoint, the intermediate's subset_of on the provider's
    # authentication methods, which the anchor's essential then needs).
    t = both_to(srv, op, t + 121)
    inter.publish(t)
    op_configuration(op, fed, op_pub, inter, t, userinfo="/non-esiste")
    inter.subordinate(op.base, [fed.jwk()], t, t + 90, policy={
        "token_endpoint_auth_methods_supported": {"subset_of": ["private_key_jwt"]}})
    ta.subordinate(inter.base, [inter.key.jwk()], t, t + 100, policy={
        "userinfo_endpoint": {"value": op.base + "/me"},
        "token_endpoint_auth_methods_supported": {"essential": True}})
    _, r = login(op, Client(srv), name, "sub-fed-1", cf, 2)
    expect(r, 200, what="login through an intermediate")
    last = chain_log(srv)[-1]
    eq((last["outcome"], last["until"]), ("resolved", t + 90),
       "the chain through the intermediate, kept until its earliest exp")
    # The intermediate's subset_of leaves nothing the anchor's essential
    # can accept: refused.
    t = both_to(srv, op, t + 91)
    inter.subordinate(op.base, [fed.jwk()], t, t + 90, policy={
        "token_endpoint_auth_methods_supported": {"subset_of": ["tls_client_auth"]}})
    refused("the merged policies of two levels", "essential")
    t = trust_marks(srv, op, ta, fed, op_pub, name, cf, refused, t + 31)
    t = signed_jwks(srv, op, ta, fed, op_pub, name, cf, refused, t + 31)
    t = anchor_rotation(srv, op, ta, fed, op_pub, name, cf, refused, t + 31)
    cached_chain(srv, op, ta, fed, op_pub, name, cf, t + 31)


def anchor_rotation(srv, op, ta, fed, op_pub, name, cf, refused, t):
    """The trust anchor rotates its federation key, and the operator
    writes it into oidc_trust_anchor_jwks: no restart.  Statements signed
    with a kid not held are refused while the file is unchanged, and read
    it again nowhere (a flood of unknown kids cannot make visura reread
    it); once the file has the new key, the next statement naming it reads
    the file once and the chain resolves; the old key, removed from the
    file, is refused after SIGHUP."""
    path = srv.options["oidc_trust_anchor_jwks"]
    old, new = ta.key, FedKey("ta-2")

    def reloads():
        return len(re.findall(r"chiavi ricaricate.*source=oidc_trust_anchor_jwks", srv.log_text()))

    def signed_by(key, t):
        ta.key = key
        ta.publish(t)
        op_configuration(op, fed, op_pub, ta, t)   # its trust mark signed by key too
        ta.subordinate(op.base, [fed.jwk()], t, t + 120)

    def keys_file(keys):
        with open(path, "w") as f:
            json.dump({"keys": [k.jwk() for k in keys]}, f)

    before = reloads()
    t = both_to(srv, op, t)
    signed_by(new, t)
    for i in range(3):   # a resolution a try (RETRY_SECONDS apart), several statements each
        refused("the anchor's new key, not yet in the file", "non è firmata dalle chiavi attese")
        t = both_to(srv, op, t + 31)
        signed_by(new, t)
    eq(reloads(), before, "kids not held, the file unchanged: not read again")
    keys_file([old, new])   # both while the anchor rotates
    _, r = login(op, Client(srv), name, "sub-fed-1", cf, 2)
    expect(r, 200, what="login through the anchor's new key, without a restart")
    eq(chain_log(srv)[-1]["outcome"], "resolved", "the chain through the new key")
    eq(reloads(), before + 1, "the file read again once, at the first statement naming ta-2")
    # The old key, removed: taken until the file is read again (SIGHUP).
    keys_file([new])
    srv.signal(signal.SIGHUP)
    deadline = time.time() + 10
    while reloads() < before + 2 and time.time() < deadline:
        time.sleep(0.05)
    eq(reloads(), before + 2, "the file read again on SIGHUP")
    t = both_to(srv, op, t + 121)
    signed_by(old, t)
    refused("the anchor's old key, removed from the file", "non è firmata dalle chiavi attese")
    t = both_to(srv, op, t + 31)
    signed_by(new, t)   # the anchor's configuration under its new key from now on
    return t


def cached_chain(srv, op, ta, fed, op_pub, name, cf, t):
    """A slow trust anchor does not delay a login on a chain still valid:
    near its exp the chain is resolved again by visura's ticks, without
    the lock logins take; they keep the chain in use until the new one is
    published."""
    t = both_to(srv, op, t)
    op_configuration(op, fed, op_pub, ta, t)
    ta.subordinate(op.base, [fed.jwk()], t, t + 120)
    _, r = login(op, Client(srv), name, "sub-fed-1", cf, 2)
    expect(r, 200, what="login (the chain resolved)")
    eq(chain_log(srv)[-1]["until"], t + 120, "the chain until the statement's exp")
    before = ta.fetches
    ta.delay = 8
    try:
        ta.subordinate(op.base, [fed.jwk()], t + 90, t + 400)
        # In the chain's last quarter: the next tick (every 5 s) resolves
        # it again, and waits 8 s for the anchor.
        both_to(srv, op, t + 95)
        deadline = time.monotonic() + 15
        while ta.fetches == before and time.monotonic() < deadline:
            time.sleep(0.1)
        check(ta.fetches > before, "the chain resolved again before its exp")
        t0 = time.monotonic()
        _, r = login(op, Client(srv), name, "sub-fed-1", cf, 2)
        took = time.monotonic() - t0
        expect(r, 200, what="login while the anchor is slow")
        check(took < 4, f"the login did not wait for the slow anchor ({took:.1f} s)")
        deadline = time.monotonic() + 20
        while chain_log(srv)[-1].get("until") != t + 400 and time.monotonic() < deadline:
            time.sleep(0.2)
        last = chain_log(srv)[-1]
        eq((last["outcome"], last["until"], last.get("ahead")), ("resolved", t + 400, True),
           "the new chain published, resolved ahead of the old one's exp")
    finally:
        ta.delay = 0


def signed_jwks(srv, op, ta, fed, op_pub, name, cf, refused, t):
    """The provider's keys from its metadata: signed_jwks_uri (a JWS
    signed with its federation key, here served by the anchor's server)
    taken; one signed by another key refused; jwks_uri alone refused
    (the profile has the provider publish jwks)."""
    path = "/op-signed-jwks"

    def with_keys(keys, signer=fed):
        nonlocal t
        t = both_to(srv, op, t + 31)
        ta.documents[path] = ("application/jwk-set+jwt", signer.sign(
            {"keys": [op_pub], "iss": op.base, "sub": op.base, "iat": t}, typ="jwk-set+jwt"))
        op_configuration(op, fed, op_pub, ta, t, keys=keys)
        ta.subordinate(op.base, [fed.jwk()], t, t + 60)

    with_keys({"signed_jwks_uri": ta.base + path})
    _, r = login(op, Client(srv), name, "sub-fed-1", cf, 2)
    expect(r, 200, what="login with the provider's keys from its signed_jwks_uri")
    t = both_to(srv, op, t + 30)
    with_keys({"signed_jwks_uri": ta.base + path}, signer=FedKey(fed.kid))
    refused("a signed JWKS signed by another key", "non è firmato dalle sue chiavi di federazione")
    with_keys({"jwks_uri": op.base + "/jwks"})
    refused("jwks_uri alone", "jwks_uri ma né")
    return t


def both_to(srv, op, t):
    """Moves visura's clock and the provider's to epoch t (if ahead)."""
    d = t - srv.now()
    if d > 0:
        op.advance(srv, d)
    return srv.now()


def trust_marks(srv, op, ta, fed, op_pub, name, cf, refused, t):
    """The provider's trust marks (oidc_op_trust_marks): one of a listed
    issuer (its keys those the anchor's statement about it names) taken,
    its exp bounding the chain's; missing, expired, of an issuer the
    anchor does not list, for another entity, altered: refused."""
    mid = mark_id(ta)
    issuer = Authority("issuer-1")
    try:
        t = both_to(srv, op, t)
        ta.mark_issuers = {mid: [issuer.base]}
        ta.publish(t)
        ta.subordinate(issuer.base, [issuer.key.jwk()], t, t + 3600)
        op_configuration(op, fed, op_pub, ta, t, marks=[
            trust_mark(issuer.key, issuer.base, op.base, mid, t, t + 50)])
        ta.subordinate(op.base, [fed.jwk()], t, t + 120)
        _, r = login(op, Client(srv), name, "sub-fed-1", cf, 2)
        expect(r, 200, what="login with a trust mark of a listed issuer")
        last = chain_log(srv)[-1]
        eq((last["outcome"], last["until"]), ("resolved", t + 50),
           "the chain kept until the trust mark's exp")

        def case(what, reason, marks):
            nonlocal t
            t = both_to(srv, op, t + 51)
            op_configuration(op, fed, op_pub, ta, t, marks=marks(t))
            ta.subordinate(op.base, [fed.jwk()], t, t + 120)
            refused(what, reason, "spid_trust_mark")

        case("no trust mark", "non ha il trust mark", lambda t: [])
        case("another id only", "non ha il trust mark", lambda t: [
            trust_mark(ta.key, ta.base, op.base, ta.base + "/openid_provider/private/",
                       t, t + 600)])
        case("an expired trust mark", "scaduto", lambda t: [
            trust_mark(ta.key, ta.base, op.base, mid, t - 400, t - 100)])
        stranger = FedKey("stranger-1")
        case("a trust mark of an issuer the anchor does not list", "né è indicato da questo",
             lambda t: [trust_mark(stranger, "https://marchi.example.it", op.base, mid,
                                   t, t + 600)])
        case("a trust mark signed by a stranger in the issuer's name",
             "non è firmato dalle chiavi di federazione del suo emittente", lambda t: [
                 trust_mark(FedKey(issuer.key.kid), issuer.base, op.base, mid, t, t + 600)])
        case("a trust mark for another entity", "un'entità diversa", lambda t: [
            trust_mark(ta.key, ta.base, "https://altro-op.example.it", mid, t, t + 600)])

        def altered(t):
            m = trust_mark(ta.key, ta.base, op.base, mid, t, t + 60)
            h, p, sig = m["trust_mark"].split(".")
            claims = json.loads(b64u_dec(p))
            claims["exp"] = t + 86400 * 365
            m["trust_mark"] = ".".join([h, b64u(json.dumps(claims).encode()), sig])
            return [m]
        case("an altered trust mark",
             "non è firmato dalle chiavi di federazione del suo emittente", altered)
        # A valid one again: taken.
        t = both_to(srv, op, t + 31)
        op_configuration(op, fed, op_pub, ta, t)
        ta.subordinate(op.base, [fed.jwk()], t, t + 120)
        _, r = login(op, Client(srv), name, "sub-fed-1", cf, 2)
        expect(r, 200, what="login with the anchor's own trust mark")
    finally:
        issuer.stop()
    return t


def fed_configuration(srv):
    """The header, claims and published kids of the relying party's entity
    configuration, verified with the key its header names."""
    r = srv.request("GET", "/.well-known/openid-federation")
    eq(r.status, 200, "the entity configuration")
    token = r.body.decode()
    keys = json.loads(b64u_dec(token.split(".")[1]))["jwks"]["keys"]
    header, claims = es256_verified(token, keys)
    return header, claims, {k["kid"] for k in keys}


def test_spid_federation_key_rotation():
    """`visura spid federation-key-rotate`: the new federation key signs
    the entity configuration from the next start, the old one stays
    published beside it for the grace period, then goes; --grace is
    required."""
    srv = Server()
    provider_options(srv)
    with srv:
        header, _, kids = fed_configuration(srv)
        old = header["kid"]
        eq(kids, {old}, "one federation key before the rotation")
        key_file = files_prefix(srv.db) + ".oidc-federation-key"
        rc, out = cli("spid", "federation-key-rotate", "--db", srv.db)
        eq(rc, 2, f"--grace is required: {out}")
        # Where the old key's public half goes, a FIFO: refused, nothing changed.
        os.mkfifo(key_file + ".previous", 0o600)
        before = open(key_file).read()
        rc, out = cli("spid", "federation-key-rotate", "--db", srv.db, "--grace", "600")
        eq(rc, 1, f"a FIFO at .previous refused: {out}")
        check("è una FIFO, non un file regolare" in out, out)
        check(stat.S_ISFIFO(os.lstat(key_file + ".previous").st_mode), "the FIFO is left")
        eq(open(key_file).read(), before, "the key is not rotated")
        os.unlink(key_file + ".previous")
        rc, out = cli("spid", "federation-key-rotate", "--db", srv.db, "--grace", "600")
        eq(rc, 0, f"rotated: {out}")
        new = json.load(open(key_file))["kid"]
        check(new != old and new in out and old in out, f"the two kids said: {out}")
        eq(oct(os.stat(key_file).st_mode & 0o777), "0o600", "the new key's mode")
        check("d" not in json.load(open(key_file + ".previous"))["key"],
              "only the old key's public half kept")
        srv.restart()
        header, _, kids = fed_configuration(srv)
        eq(header["kid"], new, "signed with the new key (verified with it)")
        eq(kids, {old, new}, "the old key still published beside the new one")
        srv.advance(601)
        header, _, kids = fed_configuration(srv)
        eq((header["kid"], kids), (new, {new}), "after the grace, the new key only")


if __name__ == "__main__":
    run_tests(globals())
