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
  keys again)."""
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

    def __init__(self, work, port, op_key, client_jwks):
        self.base = f"http://127.0.0.1:{port}"
        cfg = os.path.join(work, "provider.json")
        with open(cfg, "w") as f:
            json.dump({"issuer": self.base, "port": port, "client_id": CLIENT_ID,
                       "redirect_uri": REDIRECT, "op_key": op_key,
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
            if url.startswith(REDIRECT):
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


def test_spid_login():
    srv = Server(population=dict(persons=20, seed=5))
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
    with srv:
        rp = expect(srv.request("GET", "/api/v1/auth/spid/jwks"), 200, what="rp jwks").json
        check(all("d" not in k for k in rp["keys"]), "no private part published")
        uses = {k.get("use"): k for k in rp["keys"]}
        check(set(uses) == {"sig", "enc"}, f"a signing and an encryption key: {rp}")
        enc = uses["enc"]
        eq((enc["kty"], enc["alg"]), ("RSA", "RSA-OAEP-256"), "the encryption key")
        check(len(base64.urlsafe_b64decode(enc["n"] + "==")) * 8 >= 4096,
              "an RSA key of 4096 bits")
        op = Op(srv.dir, port, op_full, rp)
        try:
            run(srv, op)
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
            check(any('msg="keys reloaded" source=oidc_jwks_url' in line and
                      'cause="unknown kid"' in line and "kids=op-2" in line
                      for line in log.splitlines()), "the keys fetched for the kid not held")
        finally:
            op.stop()


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
    files = glob.glob(files_prefix(srv.db) + ".oidc-log/*.jsonl")
    check(len(files) == 1, f"one day file of the transaction log: {files}")
    text = open(files[0]).read()
    kinds = [json.loads(line)["kind"] for line in text.splitlines()]
    for k in ("authn_request", "authn_response", "token", "userinfo"):
        check(k in kinds, f"the transaction log has {k}")
    check("eyJ" not in text and "TINIT-" not in text, "no token or identity in clear")


if __name__ == "__main__":
    run_tests(globals())
