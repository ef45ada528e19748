#!/usr/bin/env python3
"""PDND vouchers (ModI ID_AUTH_CHANNEL_01 / ID_AUTH_REST_01 / ID_AUTH_REST_02):
real RSA keys made here (one pair standing in for PDND's signing key, a
second published later for its rotation, a stranger's), vouchers signed
with them; one server.

- a voucher whose purposeId the office mapped is a call of the mapped API
  account for the mapped purpose: answered, recorded with the end user;
- every bad voucher is refused with its code and recorded in the access
  trail: too large, malformed, alg=none, HS256 with the public key as the
  secret, unknown kid, bad signature, wrong issuer, wrong audience,
  expired, not yet valid, unknown purpose, another client, a jti seen
  before;
- PDND's key rotation: a voucher signed with a key added to the JWKS file
  is taken without restart (the file is read again for an unknown kid);
  a key removed and SIGHUP: refused;
- the mapping through the API and the command line, ended mappings refused;
- who asked (AUDIT_REST_02): the Agid-JWT-TrackingEvidence signed with the
  body's registered key and bound to the voucher by its digest names the
  end user of the record and of the per-person report; absent, unsigned,
  badly signed, unknown key, bound to another voucher, replayed: refused
  and recorded;
- the e-service's daily quotas (dailyCallsPerConsumer, dailyCallsTotal):
  a body over its quota, then all bodies over the total, refused with 429
  until the next Italian midnight (Retry-After), recorded; taken again
  after midnight;
- integrity (INTEGRITY_REST_02): with pdnd_signing_key (made by `visura
  pdnd keygen`), /.well-known/jwks.json publishes the public key, every
  answer to a PDND call carries Digest and an ES256 Agid-JWT-Signature
  that verifies with it, and a call with a body must carry a Digest of it
  and an Agid-JWT-Signature by the body's client naming that Digest:
  absent, another body, a signature naming another digest, a stranger's
  key, replayed: refused and recorded."""
import base64
import datetime
import hashlib
import hmac
import http.client
import http.server
import json
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

import harness
from harness import *

ISSUER = "pdnd-test-issuer"
AUDIENCE = "visura-test/e-service/anpr-lookup"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key, kid):
    n = key.public_key().public_numbers()
    def num(x):
        return b64u(x.to_bytes((x.bit_length() + 7) // 8, "big"))
    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": num(n.n), "e": num(n.e)}


def write_jwks(path, keys):
    tmp = path + ".new"
    with open(tmp, "w") as f:
        json.dump({"keys": [jwk(k, kid) for kid, k in keys]}, f)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def compact(header, claims, sign):
    h = b64u(json.dumps(header).encode())
    p = b64u(json.dumps(claims).encode())
    return f"{h}.{p}.{sign((h + '.' + p).encode())}"


def rs256(key):
    return lambda msg: b64u(key.sign(msg, padding.PKCS1v15(), hashes.SHA256()))


class Pdnd:
    """PDND as the test plays it: its keys, and vouchers at the server's time."""

    def __init__(self, srv, key, kid, client_id, purpose_id):
        self.srv, self.key, self.kid = srv, key, kid
        self.client_id, self.purpose_id = client_id, purpose_id

    def claims(self, **over):
        now = self.srv.now()
        c = {"iss": ISSUER, "aud": AUDIENCE, "sub": self.client_id, "client_id": self.client_id,
             "purposeId": self.purpose_id, "jti": str(uuid.uuid4()), "iat": now, "nbf": now,
             "exp": now + 600}
        c.update(over)
        return {k: v for k, v in c.items() if v is not None}

    def voucher(self, key=None, kid=None, alg="RS256", evidence=None, **over):
        """A voucher; bound (its digest claim) to the evidence when given."""
        hdr = {"alg": alg, "kid": kid or self.kid, "typ": "at+jwt"}
        if evidence is not None and "digest" not in over:
            over["digest"] = {"alg": "SHA256",
                              "value": hashlib.sha256(evidence.encode()).hexdigest()}
        return compact(hdr, self.claims(**over), rs256(key or self.key))


class Consumer:
    """The body's PDND client: signs who asked (Agid-JWT-TrackingEvidence)."""

    def __init__(self, srv, key, kid, purpose_id):
        self.srv, self.key, self.kid, self.purpose_id = srv, key, kid, purpose_id

    def evidence(self, user="mario.bianchi@asl.example", key=None, alg="RS256", **over):
        now = self.srv.now()
        c = {"aud": AUDIENCE, "purposeId": self.purpose_id, "jti": str(uuid.uuid4()),
             "iat": now, "exp": now + 600, "userID": user, "userLocation": "postazione-12",
             "LoA": "substantial", "dnonce": 1234567890123}
        c.update(over)
        c = {k: v for k, v in c.items() if v is not None}
        return compact({"alg": alg, "kid": self.kid, "typ": "JWT"}, c, rs256(key or self.key))


def lookup(srv, voucher, cf, evidence=None, user=None):
    h = {"Authorization": "Bearer " + voucher}
    if evidence:
        h["Agid-JWT-TrackingEvidence"] = evidence
    if user:
        h["X-Visura-On-Behalf-Of"] = user
    return srv.request("GET", f"/api/v1/persons/{cf}", headers=h)


def call(srv, p, consumer, cf, **ev):
    """A look-up with a fresh evidence and a voucher bound to it."""
    e = consumer.evidence(**ev)
    return lookup(srv, p.voucher(evidence=e), cf, e)


def refused(srv, res, status, code):
    """The refusal answered, and the trail's newest record says it."""
    expect(res, status, code, what=code)
    last = srv.access_log_tail(1)[0]
    eq(last["outcome"], "refused:" + code, f"trail record of {code}")
    eq(last["operation"], "voucher", f"trail operation of {code}")
    eq(last["status"], status, f"trail status of {code}")
    return last


def wait_log(srv, *parts, timeout=20):
    """Waits for a line of the server's log holding every part."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(all(p in line for p in parts) for line in srv.log_text().splitlines()):
            return
        time.sleep(0.05)
    raise TestFailure(f"no log line with {parts}:\n{srv.log_text()[-2000:]}")


def test_vouchers():
    pdnd_key, rotated_key, stranger, asl_key = new_key(), new_key(), new_key(), new_key()
    srv = Server(population=dict(persons=60, seed=7), pdnd_issuer=ISSUER,
                 pdnd_audience=AUDIENCE)
    # In the server's directory: readable by the account it serves as.
    jwks = os.path.join(srv.dir, "pdnd-jwks.json")
    write_jwks(jwks, [("k1", pdnd_key)])
    srv.options["pdnd_jwks"] = jwks
    with srv:
        admin = srv.admin()
        ente = srv.create_ente(kind="health")
        acc, _ = srv.create_account("api", ente["id"])
        conv = srv.create_agreement(ente["id"], ["identity", "residence"])
        client_id, pdnd_purpose = str(uuid.uuid4()), str(uuid.uuid4())
        m = expect(admin.post("/api/v1/pdnd/purposes",
                              {"pdnd_purpose": pdnd_purpose, "client_id": client_id,
                               "purpose_id": conv["purpose_id"], "username": acc["username"]}),
                   201, what="map the PDND purpose").json
        eq(m["revoked_at"], None, "a new mapping is in force")
        expect(admin.post("/api/v1/pdnd/purposes",
                          {"pdnd_purpose": pdnd_purpose, "client_id": client_id,
                           "purpose_id": conv["purpose_id"], "username": acc["username"]}),
               409, "conflict", what="mapped twice")
        other_ente = srv.create_ente()
        other_acc, _ = srv.create_account("api", other_ente["id"])
        expect(admin.post("/api/v1/pdnd/purposes",
                          {"pdnd_purpose": str(uuid.uuid4()), "client_id": client_id,
                           "purpose_id": conv["purpose_id"], "username": other_acc["username"]}),
               400, "invalid_request", what="an account of another body")
        expect(srv.request("GET", "/.well-known/jwks.json"), 404, "not_found",
               what="no signing key, no JWKS")
        listed = expect(admin.get("/api/v1/pdnd/purposes"), 200).json["purposes"]
        check(any(x["pdnd_purpose"] == pdnd_purpose for x in listed), "the mapping is listed")

        p = Pdnd(srv, pdnd_key, "k1", client_id, pdnd_purpose)
        # The body's client key, registered from the command line.
        asl = Consumer(srv, asl_key, "asl-1", pdnd_purpose)
        jwk_path = os.path.join(srv.dir, "asl-1.jwk")
        with open(jwk_path, "w") as f:
            json.dump(jwk(asl_key, "asl-1"), f)
        out = subprocess.run([harness.VISURA, "pdnd", "key-add", "--db", srv.db, "--ente-id",
                              str(ente["id"]), "--jwk", jwk_path], capture_output=True, text=True)
        eq(out.returncode, 0, f"visura pdnd key-add: {out.stdout}{out.stderr}")
        cf = sorted(x["cf"] for x in srv.population.current_persons()
                    if not x["canc_reason"] and x["comune"] in ("036023", "036005"))[0]

        # A good look-up: the mapped account, the mapped purpose, the end
        # user the signed evidence names (not the unsigned header's).
        ev = asl.evidence()
        v = p.voucher(evidence=ev)
        r = expect(lookup(srv, v, cf, ev, user="someone.else"), 200, what="look-up with a voucher")
        eq(r.json["purpose"]["id"], conv["purpose_id"], "the mapped purpose")
        rec = srv.access_log_tail(1)[0]
        eq(rec["outcome"], "ok", "recorded")
        eq(rec["account_id"], acc["id"], "as the mapped API account")
        eq(rec["on_behalf_of"], "mario.bianchi@asl.example", "the end user in the trail")
        check(cf in (rec["subjects"] or ""), "the person in the trail")

        report = expect(admin.get(f"/api/v1/audit/subject/{cf}"), 200).json
        check("mario.bianchi@asl.example" in json.dumps(report),
              f"the end user in the per-person report: {report}")

        # The same voucher again: its jti was taken (ID_AUTH_REST_02).
        refused(srv, lookup(srv, v, cf, ev), 401, "voucher_replayed")
        # The same evidence with a new voucher bound to it: its jti too.
        refused(srv, lookup(srv, p.voucher(evidence=ev), cf, ev), 401,
                "tracking_evidence_replayed")
        # Both jti are taken in one statement: a replayed voucher takes
        # nothing, and leaves its evidence usable.  vb is spent with an
        # evidence it is not bound to (the voucher's jti taken alone), then
        # shown again with its own: refused for the voucher, and that
        # evidence still passes with a new voucher bound to it.
        ev2 = asl.evidence()
        vb = p.voucher(evidence=ev2)
        refused(srv, lookup(srv, vb, cf, asl.evidence()), 401, "tracking_evidence_not_bound")
        refused(srv, lookup(srv, vb, cf, ev2), 401, "voucher_replayed")
        expect(lookup(srv, p.voucher(evidence=ev2), cf, ev2), 200,
               what="an evidence shown with a replayed voucher is still fresh")

        # Who asked (AUDIT_REST_02): absent, unsigned, badly signed, bound
        # to another voucher, unbound, malformed — refused and recorded.
        refused(srv, lookup(srv, p.voucher(), cf), 400, "tracking_evidence_required")
        e1, e2 = asl.evidence(), asl.evidence()
        refused(srv, lookup(srv, p.voucher(evidence=e2), cf, e1), 401,
                "tracking_evidence_not_bound")
        refused(srv, lookup(srv, p.voucher(), cf, asl.evidence()), 401,
                "tracking_evidence_not_bound")
        e = asl.evidence(alg="none")
        refused(srv, lookup(srv, p.voucher(evidence=e), cf, e), 401, "tracking_evidence_algorithm")
        e = asl.evidence().rsplit(".", 1)[0] + "."
        refused(srv, lookup(srv, p.voucher(evidence=e), cf, e), 401,
                "tracking_evidence_bad_signature")
        e = asl.evidence(key=stranger)
        refused(srv, lookup(srv, p.voucher(evidence=e), cf, e), 401,
                "tracking_evidence_bad_signature")
        e = asl.evidence(purposeId=str(uuid.uuid4()))
        refused(srv, lookup(srv, p.voucher(evidence=e), cf, e), 401, "tracking_evidence_not_bound")
        e = asl.evidence(user=None)
        refused(srv, lookup(srv, p.voucher(evidence=e), cf, e), 400, "tracking_evidence_malformed")
        other_key_consumer = Consumer(srv, asl_key, "not-registered", pdnd_purpose)
        e = other_key_consumer.evidence()
        refused(srv, lookup(srv, p.voucher(evidence=e), cf, e), 401,
                "tracking_evidence_unknown_key")

        # Every bad voucher, refused and recorded.
        now = srv.now()
        refused(srv, lookup(srv, p.voucher(pad="x" * 5000), cf), 401, "voucher_too_large")
        refused(srv, lookup(srv, "abc.def.ghi", cf), 401, "voucher_malformed")
        refused(srv, lookup(srv, "e30.e30.%%%", cf), 401, "voucher_malformed")
        none = compact({"alg": "none", "kid": "k1"}, p.claims(), lambda m: "")
        refused(srv, lookup(srv, none, cf), 401, "voucher_algorithm")
        pem = pdnd_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
        hs = compact({"alg": "HS256", "kid": "k1"}, p.claims(),
                     lambda m: b64u(hmac.new(pem, m, hashlib.sha256).digest()))
        refused(srv, lookup(srv, hs, cf), 401, "voucher_algorithm")
        refused(srv, lookup(srv, p.voucher(kid="k9"), cf), 401, "voucher_unknown_key")
        refused(srv, lookup(srv, p.voucher(key=stranger), cf), 401, "voucher_bad_signature")
        good = p.voucher().split(".")
        tampered = json.loads(base64.urlsafe_b64decode(good[1] + "=="))
        tampered["purposeId"] = str(uuid.uuid4())
        forged = ".".join([good[0], b64u(json.dumps(tampered).encode()), good[2]])
        refused(srv, lookup(srv, forged, cf), 401, "voucher_bad_signature")
        refused(srv, lookup(srv, p.voucher(iss="someone-else"), cf), 401, "voucher_wrong_issuer")
        refused(srv, lookup(srv, p.voucher(aud="another/e-service"), cf), 401,
                "voucher_wrong_audience")
        refused(srv, lookup(srv, p.voucher(iat=now - 3600, nbf=now - 3600, exp=now - 120), cf),
                401, "voucher_expired")
        refused(srv, lookup(srv, p.voucher(iat=now + 600, nbf=now + 600, exp=now + 1200), cf),
                401, "voucher_not_yet_valid")
        refused(srv, lookup(srv, p.voucher(client_id=None), cf), 401, "voucher_malformed")
        rec = refused(srv, lookup(srv, p.voucher(purposeId=str(uuid.uuid4())), cf), 403,
                      "pdnd_purpose_unknown")
        eq(rec["username"], "pdnd:" + client_id, "the client PDND named, in the trail")
        refused(srv, lookup(srv, p.voucher(client_id=str(uuid.uuid4())), cf), 403,
                "pdnd_client_mismatch")
        # Within the skew: an expiry 30 s ago is still taken (pdnd_clock_skew 60).
        now = srv.now()
        e = asl.evidence()
        expect(lookup(srv, p.voucher(iat=now - 100, nbf=now - 100, exp=now - 30, evidence=e),
                      cf, e), 200, what="within the skew")

        # PDND rotates: a key added to the file is taken at its first use.
        write_jwks(jwks, [("k1", pdnd_key), ("k2", rotated_key)])
        p2 = Pdnd(srv, rotated_key, "k2", client_id, pdnd_purpose)
        expect(call(srv, p2, asl, cf), 200, what="a voucher signed with the new key")
        # The old key withdrawn, SIGHUP: its vouchers are refused.
        write_jwks(jwks, [("k2", rotated_key)])
        srv.signal(signal.SIGHUP)
        wait_log(srv, 'msg="chiavi ricaricate" source=pdnd_jwks ', 'cause="sighup"')
        refused(srv, lookup(srv, p.voucher(), cf), 401, "voucher_unknown_key")
        expect(call(srv, p2, asl, cf), 200, what="the new key after SIGHUP")

        # The mapping ended (command line), its vouchers refused.
        out = subprocess.run([harness.VISURA, "pdnd", "list", "--db", srv.db], capture_output=True,
                             text=True)
        eq(out.returncode, 0, f"visura pdnd list: {out.stderr}")
        check(pdnd_purpose in out.stdout and "in force" in out.stdout, "listed in force")
        out = subprocess.run([harness.VISURA, "pdnd", "unmap", "--db", srv.db, "--pdnd-purpose",
                              pdnd_purpose], capture_output=True, text=True)
        eq(out.returncode, 0, f"visura pdnd unmap: {out.stderr}")
        refused(srv, lookup(srv, p2.voucher(), cf), 403, "pdnd_purpose_unknown")
        expect(admin.delete(f"/api/v1/pdnd/purposes/{pdnd_purpose}"), 404, "not_found",
               what="an ended mapping")
        # Mapped again through the command line, then ended through the API.
        out = subprocess.run([harness.VISURA, "pdnd", "map", "--db", srv.db, "--pdnd-purpose",
                              pdnd_purpose, "--client-id", client_id, "--purpose",
                              str(conv["purpose_id"]), "--account", acc["username"]],
                             capture_output=True, text=True)
        eq(out.returncode, 0, f"visura pdnd map: {out.stdout}{out.stderr}")
        expect(call(srv, p2, asl, cf), 200, what="mapped again")
        r = expect(admin.delete(f"/api/v1/pdnd/purposes/{pdnd_purpose}"), 200).json
        check(r["revoked_at"] is not None, "ended through the API")
        refused(srv, lookup(srv, p2.voucher(), cf), 403, "pdnd_purpose_unknown")
        rc, out = audit_verify(srv.db)
        eq(rc, 0, f"the access trail verifies: {out}")


def mapped_body(srv, admin, pdnd_key, kid, conv_comuni=("036023", "036005"),
                profile=("identity",)):
    """A body with an API account, an agreement, its PDND purpose mapped
    and its client's key registered: (Pdnd, Consumer, ente)."""
    ente = srv.create_ente(kind="health")
    acc, _ = srv.create_account("api", ente["id"])
    conv = srv.create_agreement(ente["id"], list(profile), comuni=conv_comuni)
    client_id, pdnd_purpose = str(uuid.uuid4()), str(uuid.uuid4())
    expect(admin.post("/api/v1/pdnd/purposes",
                      {"pdnd_purpose": pdnd_purpose, "client_id": client_id,
                       "purpose_id": conv["purpose_id"], "username": acc["username"]}),
           201, what="map the PDND purpose")
    key = new_key()
    jwk_path = os.path.join(srv.dir, f"{kid}.jwk")
    with open(jwk_path, "w") as f:
        json.dump(jwk(key, kid), f)
    out = subprocess.run([harness.VISURA, "pdnd", "key-add", "--db", srv.db, "--ente-id",
                          str(ente["id"]), "--jwk", jwk_path], capture_output=True, text=True)
    eq(out.returncode, 0, f"visura pdnd key-add: {out.stdout}{out.stderr}")
    return (Pdnd(srv, pdnd_key, "k1", client_id, pdnd_purpose),
            Consumer(srv, key, kid, pdnd_purpose), ente)


def file_keys_server(pdnd_key, seed, **options):
    """A server whose PDND keys (k1: pdnd_key) are a JWKS file in its
    directory (readable by the account it serves as)."""
    srv = Server(population=dict(persons=30, seed=seed), pdnd_issuer=ISSUER,
                 pdnd_audience=AUDIENCE, **options)
    jwks = os.path.join(srv.dir, "pdnd-jwks.json")
    write_jwks(jwks, [("k1", pdnd_key)])
    srv.options["pdnd_jwks"] = jwks
    return srv


def answer_key(srv):
    """`visura pdnd keygen` into the server's directory: the key file and
    the public key printed."""
    keyfile = os.path.join(srv.dir, "answers.jwk")
    out = subprocess.run([harness.VISURA, "pdnd", "keygen", "--out", keyfile],
                         capture_output=True, text=True)
    eq(out.returncode, 0, f"visura pdnd keygen: {out.stderr}")
    return keyfile, json.loads(out.stdout)


def rome_midnight_after(t):
    """The next midnight in Italy after epoch t (CET/CEST by the EU rule)."""
    rome = ZoneInfo("Europe/Rome")
    d = datetime.datetime.fromtimestamp(t, rome).date() + datetime.timedelta(days=1)
    return int(datetime.datetime(d.year, d.month, d.day, tzinfo=rome).timestamp())


def test_daily_quotas():
    pdnd_key = new_key()
    srv = file_keys_server(pdnd_key, 11, pdnd_daily_calls_per_consumer=2,
                           pdnd_daily_calls_total=3)
    with srv:
        # One in the morning in Italy: no midnight falls inside the steps below.
        srv.advance_to(rome_midnight_after(srv.now()) + 3600)
        admin = srv.admin()
        pa, ca, _ = mapped_body(srv, admin, pdnd_key, "asl-a")
        pb, cb, _ = mapped_body(srv, admin, pdnd_key, "asl-b")
        cf = sorted(x["cf"] for x in srv.population.current_persons()
                    if not x["canc_reason"] and x["comune"] in ("036023", "036005"))[0]
        # Body A: its two calls of the day, then over its quota.
        expect(call(srv, pa, ca, cf), 200, what="A's first call")
        expect(call(srv, pa, ca, cf), 200, what="A's second call")
        now = srv.now()
        midnight = rome_midnight_after(now)
        res = call(srv, pa, ca, cf)
        rec = refused(srv, res, 429, "pdnd_daily_quota")
        after = srv.now()
        check(midnight - after <= int(res.header("Retry-After")) <= midnight - now,
              f"Retry-After: the seconds to the next midnight in Italy ({res.header('Retry-After')}"
              f", midnight {midnight}, now {now}..{after})")
        local = datetime.datetime.fromtimestamp(midnight, ZoneInfo("Europe/Rome"))
        check(local.strftime("%Y-%m-%dT00:00:00") in res.json["error"]["message"],
              f"the refusal says from when: {res.json}")
        check(rec["username"].startswith("pdnd:"), "recorded as the PDND client's call")
        # Body B: one call brings the total to 3, the next is over the total.
        expect(call(srv, pb, cb, cf), 200, what="B's first call")
        refused(srv, call(srv, pb, cb, cf), 429, "pdnd_daily_quota")
        # A refused call took nothing: still refused, not counted twice.
        refused(srv, call(srv, pa, ca, cf), 429, "pdnd_daily_quota")
        # A minute before midnight (the server's clock runs on): the same day.
        srv.advance(midnight - srv.now() - 60)
        refused(srv, call(srv, pb, cb, cf), 429, "pdnd_daily_quota")
        # After midnight in Italy: a new day's quotas.
        srv.advance_to(midnight + 1)
        expect(call(srv, pa, ca, cf), 200, what="A after midnight")
        expect(call(srv, pb, cb, cf), 200, what="B after midnight")
        expect(call(srv, pa, ca, cf), 200, what="A's second call of the new day")
        refused(srv, call(srv, pb, cb, cf), 429, "pdnd_daily_quota")
        rc, out = audit_verify(srv.db)
        eq(rc, 0, f"the access trail verifies: {out}")


def b64u_dec(t):
    return base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))


def digest_of(body):
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def signed_answer(res, jwks, client_id):
    """The answer's Digest is its body's, its Agid-JWT-Signature verifies
    with the published key and names that Digest, for this client."""
    d, sig = res.header("Digest"), res.header("Agid-JWT-Signature")
    check(d and sig, f"the answer is signed: {res.headers}")
    eq(d, digest_of(res.body), "Digest: the SHA-256 of the answer's bytes")
    h, p, s = sig.split(".")
    hdr, claims = json.loads(b64u_dec(h)), json.loads(b64u_dec(p))
    key = next(k for k in jwks["keys"] if k["kid"] == hdr["kid"])
    eq(hdr["alg"], "ES256", "signed with ES256")
    pub = ec.EllipticCurvePublicNumbers(int.from_bytes(b64u_dec(key["x"]), "big"),
                                        int.from_bytes(b64u_dec(key["y"]), "big"),
                                        ec.SECP256R1()).public_key()
    raw = b64u_dec(s)
    pub.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
               (h + "." + p).encode(), ec.ECDSA(hashes.SHA256()))
    eq(claims["aud"], client_id, "for the caller's client")
    eq(claims["iss"], AUDIENCE, "by this e-service")
    check({"digest": d} in claims["signed_headers"], f"names the Digest: {claims}")
    check(claims["exp"] > claims["iat"] and claims["jti"], f"exp, iat, jti: {claims}")
    return claims


def test_integrity():
    pdnd_key, stranger = new_key(), new_key()
    srv = file_keys_server(pdnd_key, 13)
    keyfile, printed = answer_key(srv)
    check("d" not in printed and printed["crv"] == "P-256", f"keygen prints the public key: {printed}")
    eq(os.stat(keyfile).st_mode & 0o777, 0o600, "the key file is the owner's only")
    out = subprocess.run([harness.VISURA, "pdnd", "keygen", "--out", keyfile],
                         capture_output=True, text=True)
    check(out.returncode != 0, "keygen never replaces a key")
    srv.options["pdnd_signing_key"] = keyfile
    with srv:
        admin = srv.admin()
        p, c, _ = mapped_body(srv, admin, pdnd_key, "asl-i")
        published = expect(srv.request("GET", "/.well-known/jwks.json"), 200).json
        eq(published["keys"][0]["kid"], printed["kid"], "the published key is keygen's")
        check("d" not in published["keys"][0], "no private part published")
        cf = sorted(x["cf"] for x in srv.population.current_persons()
                    if not x["canc_reason"] and x["comune"] in ("036023", "036005"))[0]

        # A look-up (no body): the answer is signed.
        r = expect(call(srv, p, c, cf), 200, what="look-up")
        signed_answer(r, published, p.client_id)

        def post(body, digest=None, sig=None, key=None, **claims):
            raw = json.dumps(body).encode()
            ev = c.evidence()
            h = {"Authorization": "Bearer " + p.voucher(evidence=ev),
                 "Agid-JWT-TrackingEvidence": ev, "Content-Type": "application/json"}
            d = digest_of(raw) if digest is None else digest
            if digest is not False:
                h["Digest"] = d
            if sig is not False:
                now = srv.now()
                cl = {"aud": AUDIENCE, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4()),
                      "signed_headers": [{"digest": d}, {"content-type": "application/json"}]}
                cl.update(claims)
                h["Agid-JWT-Signature"] = sig or compact({"alg": "RS256", "kid": c.kid}, cl,
                                                         rs256(key or c.key))
            return srv.request("POST", "/api/v1/verify", raw, h), h

        body = {"codice_fiscale": cf, "declared": {"alive": True}}
        r, h = post(body)
        expect(r, 200, what="verify with Digest and signature")
        signed_answer(r, published, p.client_id)
        eq(srv.access_log_tail(1)[0]["outcome"], "ok", "recorded")
        # The same signature again (its jti): replayed.
        ev = c.evidence()
        h2 = dict(h, **{"Authorization": "Bearer " + p.voucher(evidence=ev),
                        "Agid-JWT-TrackingEvidence": ev})
        refused(srv, srv.request("POST", "/api/v1/verify", json.dumps(body).encode(), h2), 401,
                "integrity_signature_replayed")
        res = post(body, sig=False)[0]
        refused(srv, res, 400, "integrity_signature_required")
        signed_answer(res, published, p.client_id)  # refusals are signed too
        refused(srv, post(body, digest=False, sig=False)[0], 400, "integrity_signature_required")
        # The body changed on the way: its Digest no longer holds.
        refused(srv, post(body, digest=digest_of(b'{"codice_fiscale":"x"}'))[0], 400,
                "digest_mismatch")
        # A signature naming another digest than the body's.
        refused(srv, post(body, signed_headers=[{"digest": digest_of(b"other")}])[0], 401,
                "integrity_signature_not_bound")
        refused(srv, post(body, signed_headers=[{"digest": digest_of(json.dumps(body).encode())},
                                                {"content-type": "text/plain"}])[0], 401,
                "integrity_signature_not_bound")
        refused(srv, post(body, key=stranger)[0], 401, "integrity_signature_bad_signature")
        refused(srv, post(body, aud="another/e-service")[0], 401,
                "integrity_signature_wrong_audience")
        now = srv.now()
        refused(srv, post(body, iat=now - 900, exp=now - 300)[0], 401,
                "integrity_signature_expired")
        refused(srv, post(body, sig="abc.def.ghi")[0], 400, "integrity_signature_malformed")
        none = compact({"alg": "none", "kid": c.kid}, {"aud": AUDIENCE}, lambda m: "")
        refused(srv, post(body, sig=none)[0], 401, "integrity_signature_algorithm")
        rc, out = audit_verify(srv.db)
        eq(rc, 0, f"the access trail verifies: {out}")


class JwksPublisher:
    """PDND's JWKS address, played on loopback: serves `doc` (bytes) with
    `status`, and counts the fetches."""

    def __init__(self):
        self.doc, self.status, self.fetches = b"{}", 200, 0
        pub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                pub.fetches += 1
                self.send_response(pub.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(pub.doc)))
                self.end_headers()
                self.wfile.write(pub.doc)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def publish(self, keys, extra=None):
        doc = {"keys": [jwk(k, kid) for kid, k in keys] + (extra or [])}
        self.doc, self.status = json.dumps(doc).encode(), 200

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def wait_fetches(pub, n, timeout=20):
    """Waits until the publisher has been fetched n times."""
    deadline = time.monotonic() + timeout
    while pub.fetches < n and time.monotonic() < deadline:
        time.sleep(0.05)
    eq(pub.fetches, n, "fetches of the JWKS address")


def test_keys_from_address():
    """pdnd_jwks_url: PDND's keys fetched after start, rotated without
    restart (a kid not held fetches again, at most once every
    jwks_unknown_kid_interval on the server's clock), fetched every
    pdnd_jwks_refresh and on SIGHUP; a failed fetch, a document with a
    private key, one that is not a JWKS, one too large, one with no key:
    refused, logged, the keys held kept."""
    k1, k2, k3, k4 = new_key(), new_key(), new_key(), new_key()
    pub = JwksPublisher()
    pub.publish([("k1", k1)])
    srv = Server(population=dict(persons=30, seed=17), pdnd_issuer=ISSUER,
                 pdnd_audience=AUDIENCE, pdnd_jwks_url=pub.url, pdnd_jwks_refresh=3600,
                 jwks_unknown_kid_interval=30)
    # `serve --check`: an address the outbound rules refuse; a file and an
    # address both.
    base = [harness.VISURA, "serve", "--db", srv.db, "--self-signed",
            os.path.join(srv.dir, "check-tls"), "--check", "--pdnd-issuer", ISSUER,
            "--pdnd-audience", AUDIENCE] + harness.serve_user_args()
    for extra, says in ((["--pdnd-jwks-url", "http://pdnd.example/jwks"], "pdnd_jwks_url"),
                        (["--oidc-jwks-url", "https://169.254.169.254/jwks"], "oidc_jwks_url"),
                        (["--pdnd-jwks-url", pub.url, "--pdnd-jwks", "/etc/hostname"],
                         "non entrambi")):
        out = subprocess.run(base + extra, capture_output=True, text=True)
        check(out.returncode != 0 and says in out.stderr,
              f"serve --check {extra}: {out.returncode} {out.stdout}{out.stderr}")
    out = subprocess.run(base + ["--pdnd-jwks-url", pub.url], capture_output=True, text=True)
    eq(out.returncode, 0, f"serve --check with pdnd_jwks_url: {out.stdout}{out.stderr}")
    try:
        with srv:
            wait_fetches(pub, 1)   # the first fetch, once listening
            wait_log(srv, 'msg="chiavi ricaricate" source=pdnd_jwks_url ',
                     'cause="primo scaricamento"', "kids=k1")
            admin = srv.admin()
            p, c, _ = mapped_body(srv, admin, k1, "asl-u")
            cf = sorted(x["cf"] for x in srv.population.current_persons()
                        if not x["canc_reason"] and x["comune"] in ("036023", "036005"))[0]
            expect(call(srv, p, c, cf), 200, what="a voucher of the key fetched")
            p2 = Pdnd(srv, k2, "k2", p.client_id, p.purpose_id)

            # PDND rotates: k2 published.  Within the interval of the last
            # fetch, a kid not held fetches nothing; past it, one fetch.
            pub.publish([("k1", k1), ("k2", k2)])
            refused(srv, call(srv, p2, c, cf), 401, "voucher_unknown_key")
            eq(pub.fetches, 1, "no fetch within jwks_unknown_kid_interval")
            srv.advance(31)
            expect(call(srv, p2, c, cf), 200, what="the new key, without restart")
            eq(pub.fetches, 2, "one fetch for the kid not held")

            # A flood of forged kids: at most one fetch per interval.
            for i in range(12):
                refused(srv, lookup(srv, p.voucher(kid=f"forged-{i}"), cf), 401,
                        "voucher_unknown_key")
            eq(pub.fetches, 2, "forged kids within the interval fetch nothing")
            srv.advance(31)
            for i in range(12):
                refused(srv, lookup(srv, p.voucher(kid=f"forged-more-{i}"), cf), 401,
                        "voucher_unknown_key")
            eq(pub.fetches, 3, "forged kids past the interval: one fetch")

            # Bad answers: each refused and logged, the keys held kept.
            p3 = Pdnd(srv, k3, "k3", p.client_id, p.purpose_id)
            private = dict(jwk(k3, "k3"), d=b64u(k3.private_numbers().d.to_bytes(256, "big")))
            bad = [(500, b'{"error":"down"}', "ha risposto HTTP 500"),
                   (200, json.dumps({"keys": [private]}).encode(), "privata"),
                   (200, json.dumps(jwk(k3, "k3")).encode(), "non è un JWKS"),
                   (200, b"<html>maintenance</html>", "non è JSON"),
                   (200, json.dumps({"keys": [], "pad": "x" * (300 << 10)}).encode(),
                    "supera"),
                   (200, b'{"keys":[]}', "nessuna chiave di firma")]
            for status, doc, reason in bad:
                pub.doc, pub.status = doc, status
                srv.advance(31)
                n = pub.fetches
                refused(srv, call(srv, p3, c, cf), 401, "voucher_unknown_key")
                eq(pub.fetches, n + 1, f"fetched ({reason})")
                wait_log(srv, 'msg="chiavi non ricaricate: restano le precedenti"',
                         "source=pdnd_jwks_url", "keys_held=2", reason)
                expect(call(srv, p2, c, cf), 200, what=f"the keys held after: {reason}")
                expect(call(srv, p, c, cf), 200, what=f"k1 held after: {reason}")

            # The periodic fetch (pdnd_jwks_refresh): k1 withdrawn, k4 added,
            # taken without any voucher asking.
            pub.publish([("k2", k2), ("k4", k4)])
            n = pub.fetches
            srv.advance(3601)
            wait_fetches(pub, n + 1)
            wait_log(srv, 'msg="chiavi ricaricate" source=pdnd_jwks_url ',
                     'cause="aggiornamento periodico"', "kids=k2,k4")
            p4 = Pdnd(srv, k4, "k4", p.client_id, p.purpose_id)
            expect(call(srv, p4, c, cf), 200, what="a key taken by the periodic fetch")
            refused(srv, call(srv, p, c, cf), 401, "voucher_unknown_key")

            # SIGHUP fetches whatever the intervals.
            pub.publish([("k3", k3)])
            n = pub.fetches
            srv.signal(signal.SIGHUP)
            wait_fetches(pub, n + 1)
            wait_log(srv, 'msg="chiavi ricaricate" source=pdnd_jwks_url ', 'cause="sighup"',
                     "kids=k3")
            expect(call(srv, p3, c, cf), 200, what="the key fetched on SIGHUP")
            # The address down at SIGHUP: the keys held stay.
            pub.status = 503
            srv.signal(signal.SIGHUP)
            wait_fetches(pub, n + 2)
            wait_log(srv, "ha risposto HTTP 503", "keys_held=1")
            expect(call(srv, p3, c, cf), 200, what="the keys held after a failed SIGHUP")

            # /metrics: the keys held, the fetches and the failures.
            conn = http.client.HTTPConnection("127.0.0.1", srv.metrics_port, timeout=10)
            conn.request("GET", "/metrics")
            text = conn.getresponse().read().decode()
            def metric(name):
                m = re.search("^" + re.escape(name + '{source="pdnd_jwks_url"}') + r" (\d+)$",
                              text, re.M)
                check(m is not None, f"{name} in /metrics")
                return int(m.group(1))
            eq(metric("visura_jwks_keys"), 1, "keys held, in /metrics")
            eq(metric("visura_jwks_fetches_total"), pub.fetches, "fetches, in /metrics")
            eq(metric("visura_jwks_fetch_failures_total"), len(bad) + 1,
               "failed fetches, in /metrics")
    finally:
        pub.stop()


def test_no_keys_yet():
    """pdnd_jwks_url down at start: the server serves, /readyz stays 200 but
    says which key set holds no key; a voucher is refused; once a fetch
    succeeds (SIGHUP here) /readyz no longer says it and the voucher works."""
    k1 = new_key()
    pub = JwksPublisher()
    pub.status, pub.doc = 503, b'{"error":"down"}'
    srv = Server(population=dict(persons=30, seed=23), pdnd_issuer=ISSUER,
                 pdnd_audience=AUDIENCE, pdnd_jwks_url=pub.url, pdnd_jwks_refresh=3600,
                 jwks_unknown_kid_interval=30)
    try:
        with srv:
            wait_fetches(pub, 1)
            wait_log(srv, "ha risposto HTTP 503")
            r = srv.request("GET", "/readyz")
            expect(r, 200, what="/readyz with no PDND key yet")
            degraded = r.json.get("degraded") or []
            check(len(degraded) == 1 and "pdnd_jwks_url" in degraded[0]
                  and "tentativi non riusciti: 1" in degraded[0], f"/readyz says it: {r.json}")
            admin = srv.admin()
            p, c, _ = mapped_body(srv, admin, k1, "asl-nokeys")
            cf = sorted(x["cf"] for x in srv.population.current_persons()
                        if not x["canc_reason"] and x["comune"] in ("036023", "036005"))[0]
            refused(srv, call(srv, p, c, cf), 401, "voucher_unknown_key")
            pub.publish([("k1", k1)])
            n = pub.fetches
            srv.signal(signal.SIGHUP)
            wait_fetches(pub, n + 1)
            wait_log(srv, 'msg="chiavi ricaricate" source=pdnd_jwks_url ', "kids=k1")
            r = srv.request("GET", "/readyz")
            expect(r, 200, what="/readyz once the keys are held")
            check("degraded" not in r.json, f"nothing degraded: {r.json}")
            expect(call(srv, p, c, cf), 200, what="a voucher once the keys are held")
    finally:
        pub.stop()


def test_key_revocation():
    """A body's client key revoked (API, then the command line while the
    server runs): the tracking evidence and the Agid-JWT-Signature it signs
    are refused at the next call with *_key_revoked, recorded; the
    revocation is a security event; revoking twice is a conflict; the kid
    may be registered again with a new key."""
    pdnd_key = new_key()
    srv = file_keys_server(pdnd_key, 19)
    srv.options["pdnd_signing_key"] = answer_key(srv)[0]
    with srv:
        admin = srv.admin()
        p, c1, ente = mapped_body(srv, admin, pdnd_key, "asl-r1")
        cf = sorted(x["cf"] for x in srv.population.current_persons()
                    if not x["canc_reason"] and x["comune"] in ("036023", "036005"))[0]
        # A second key, registered through the API.
        k2 = new_key()
        r = expect(admin.post("/api/v1/pdnd/keys", {"ente_id": ente["id"],
                                                     "jwk": jwk(k2, "asl-r2")}), 201,
                   what="key added through the API").json
        eq(r["kid"], "asl-r2", "the kid registered")
        eq(r["revoked_at"], None, "in force")
        check("d" not in r["jwk"] and r["jwk"]["kty"] == "RSA", f"the public key: {r}")
        check(srv.has_event("pdnd_key_added"), "the addition is a security event")
        expect(admin.post("/api/v1/pdnd/keys", {"ente_id": ente["id"],
                                                "jwk": jwk(k2, "asl-r2")}), 409, "conflict",
               what="the same kid twice")
        expect(admin.post("/api/v1/pdnd/keys", {"ente_id": ente["id"],
                                                "jwk": dict(jwk(k2, "asl-r3"), d="AQAB")}),
               400, "invalid_request", what="a private key")
        keys = expect(admin.get("/api/v1/pdnd/keys"), 200).json["keys"]
        mine = {k["kid"]: k for k in keys if k["ente_id"] == ente["id"]}
        eq(sorted(mine), ["asl-r1", "asl-r2"], "both keys listed")
        c2 = Consumer(srv, k2, "asl-r2", p.purpose_id)

        def post(evidence_by, signed_by):
            body = json.dumps({"codice_fiscale": cf, "declared": {"alive": True}}).encode()
            ev = evidence_by.evidence()
            d = digest_of(body)
            now = srv.now()
            sig = compact({"alg": "RS256", "kid": signed_by.kid},
                          {"aud": AUDIENCE, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4()),
                           "signed_headers": [{"digest": d}, {"content-type": "application/json"}]},
                          rs256(signed_by.key))
            return srv.request("POST", "/api/v1/verify", body,
                               {"Authorization": "Bearer " + p.voucher(evidence=ev),
                                "Agid-JWT-TrackingEvidence": ev, "Digest": d,
                                "Agid-JWT-Signature": sig, "Content-Type": "application/json"})

        expect(call(srv, p, c1, cf), 200, what="evidence of key 1")
        expect(post(c1, c1), 200, what="verify signed with key 1")

        # Key 1 revoked through the API: refused at the next call.
        r = expect(admin.delete(f"/api/v1/pdnd/keys/{mine['asl-r1']['id']}"), 200,
                   what="revoke key 1").json
        check(r["revoked_at"] is not None, f"revoked_at set: {r}")
        check(srv.has_event("pdnd_key_revoked", account_id=srv.admin_id),
              "the revocation is a security event of the admin")
        refused(srv, call(srv, p, c1, cf), 401, "tracking_evidence_key_revoked")
        refused(srv, post(c1, c2), 401, "tracking_evidence_key_revoked")
        refused(srv, post(c2, c1), 401, "integrity_signature_key_revoked")
        expect(call(srv, p, c2, cf), 200, what="evidence of key 2, in force")
        expect(post(c2, c2), 200, what="verify signed with key 2")
        expect(admin.delete(f"/api/v1/pdnd/keys/{mine['asl-r1']['id']}"), 409, "conflict",
               what="revoked twice")
        expect(admin.delete("/api/v1/pdnd/keys/999999"), 404, "not_found", what="no such key")

        # Key 2 revoked from the command line, another process: the
        # server refuses it at its next call.
        out = subprocess.run([harness.VISURA, "pdnd", "key-revoke", "--db", srv.db, "--id",
                              str(mine["asl-r2"]["id"])], capture_output=True, text=True)
        eq(out.returncode, 0, f"visura pdnd key-revoke: {out.stdout}{out.stderr}")
        refused(srv, call(srv, p, c2, cf), 401, "tracking_evidence_key_revoked")
        check(any(ev.get("username") == "visura pdnd key-revoke" and ev.get("detail") == "asl-r2"
                  for ev in srv.events("pdnd_key_revoked")),
              f"the command line's revocation is a security event: "
              f"{srv.events('pdnd_key_revoked')}")
        out = subprocess.run([harness.VISURA, "pdnd", "key-list", "--db", srv.db],
                             capture_output=True, text=True)
        lines = [l.split("\t") for l in out.stdout.splitlines()]
        eq(sorted(l[3] for l in lines if l[2] in ("asl-r1", "asl-r2")), ["revoked", "revoked"],
           f"key-list says revoked: {out.stdout}")
        out = subprocess.run([harness.VISURA, "pdnd", "key-revoke", "--db", srv.db, "--id",
                              str(mine["asl-r2"]["id"])], capture_output=True, text=True)
        check(out.returncode != 0 and "revocata" in out.stderr, f"revoked twice: {out.stderr}")

        # The kid registered again with a new key: the new key is taken,
        # the revoked one still refused (a bad signature, not the new key's).
        k1b = new_key()
        expect(admin.post("/api/v1/pdnd/keys", {"ente_id": ente["id"],
                                                "jwk": jwk(k1b, "asl-r1")}), 201,
               what="the kid registered again")
        expect(call(srv, p, Consumer(srv, k1b, "asl-r1", p.purpose_id), cf), 200,
               what="the new key of the kid")
        refused(srv, call(srv, p, c1, cf), 401, "tracking_evidence_bad_signature")
        rc, out = audit_verify(srv.db)
        eq(rc, 0, f"the access trail verifies: {out}")


if __name__ == "__main__":
    run_tests(globals())
