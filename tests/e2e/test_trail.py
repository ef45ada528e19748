#!/usr/bin/env python3
"""End-to-end: the access trail, the anti-extraction controls and alerts,
and the access reports.

Receipts (X-Visura-Access-Id, X-Visura-Receipt, `visura audit
verify-receipt`); one complete access record per request; rate limits per
operator, body, purpose and day (429 + Retry-After, recorded); break-glass;
the alert rules (sequential codici fiscali, no-result searches, the same
person without a case, refused attempts, several addresses, the hard
threshold that suspends an account) with their visibility and mail; the
audit reports (filters, JSON/CSV, signatures, roles), the per-person report,
one-time citizen codes and the police/court embargo; chain verification,
signed exports, tampered databases; a kill -9 in the middle of a load; the
per-body usage report.

usage: test_trail.py PATH/TO/visura [TEST...]
"""
import base64
import csv
import datetime
import hashlib
import http.client
import io
import json
import os
import re
import secrets
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import harness
from harness import (DAY, Result, Server, check, cf_with_check, eq, error_shape_ok, expect,
                     free_port, run_tests)

# One population for every test (the same seed gives the same files).
POP = dict(persons=2000, comuni="036023,036005", seed=23)
ALL = ["identity", "residence", "family", "parentage", "citizenship", "civil_status",
       "vital_status", "history"]
JUSTIFICATION = "Paziente incosciente in pronto soccorso: serve l'identita' subito"


# ---------------------------------------------------------------- helpers

def q(**params):
    return urllib.parse.urlencode({k: v for k, v in params.items() if v is not None},
                                  quote_via=urllib.parse.quote)


def registered(pop, comune=None):
    """Registered persons (latest version) with a household, sorted by CF."""
    return sorted((p for p in pop.current_persons()
                   if not p["canc_reason"] and p["family_id"]
                   and (comune is None or p["comune"] == comune)),
                  key=lambda p: p["cf"])


def cli(*args):
    """`visura ARGS...`: (exit status, stdout + stderr)."""
    p = subprocess.run([harness.VISURA] + list(args), capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def auth_headers(client, method="GET"):
    h = {}
    if client is None:
        return h
    if client.bearer:
        h["Authorization"] = "Bearer " + client.bearer
    if client.cookies:
        h["Cookie"] = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    if client.csrf and method not in ("GET", "HEAD"):
        h["X-CSRF-Token"] = client.csrf
    return h


class Conn:
    """A keep-alive HTTPS connection acting as `client` (its cookie or
    token), optionally from a given local source address (127.0.0.2...)."""

    def __init__(self, srv, client=None, source=None, timeout=30):
        self.srv, self.client, self.source, self.timeout = srv, client, source, timeout
        self.c = None

    def _connect(self):
        return http.client.HTTPSConnection(
            "127.0.0.1", self.srv.port, timeout=self.timeout, context=self.srv.ssl_context(),
            source_address=(self.source, 0) if self.source else None)

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None

    def request(self, method, path, body=None, headers=None, retry=True):
        h = auth_headers(self.client, method)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        for attempt in (0, 1):
            fresh = self.c is None
            if fresh:
                self.c = self._connect()
            try:
                self.c.request(method, path, body=data, headers=h)
                r = self.c.getresponse()
                res = Result(r.status, r.getheaders(), r.read())
                if r.will_close:
                    self.close()
                return res
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # a keep-alive connection the server had closed: once more
                self.close()
                if fresh or attempt or not retry:
                    raise

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)


def from_address(srv, client, source, method, path, body=None, headers=None):
    """One request of `client` from the local address `source`."""
    c = Conn(srv, client, source)
    try:
        return c.request(method, path, body, headers)
    finally:
        c.close()


def login_from(srv, source, username, password):
    return from_address(srv, None, source, "POST", "/api/v1/auth/login",
                        {"username": username, "password": password})


class Env:
    """A server with the population, one body with its lead and operator."""

    def __init__(self, srv, kind="other", lead=True):
        self.srv = srv
        self.pop = srv.population
        self.admin = srv.admin()
        self.ente = srv.create_ente(kind=kind)
        self.lead = srv.user("lead", self.ente["id"]) if lead else None
        self.op = srv.user("operator", self.ente["id"])

    def agreement(self, profile=ALL, **kw):
        return self.srv.create_agreement(self.ente["id"], profile, **kw)

    def purpose(self, profile=ALL, **kw):
        return self.agreement(profile, **kw)["purpose_id"]

    def operator(self):
        return self.srv.user("operator", self.ente["id"])


def alerts(srv, client=None, rule=None, account_id=None, state=None):
    path = "/api/v1/alerts" + (f"?state={state}" if state else "")
    r = expect((client or srv.admin()).get(path), 200, what="alerts")
    return [a for a in r["alerts"] if (rule is None or a["rule"] == rule)
            and (account_id is None or a["account_id"] == account_id)]


def alert_mails(srv, recipient, username=None):
    return [m for m in srv.outbox(recipient) if m["kind"] == "alert"
            and (username is None or username in m["subject"] + m["body"])]


def align(srv, period, margin=2):
    """Moves the test clock to `margin` seconds after the start of the next
    window of `period` seconds (fixed-window limits)."""
    now = srv.now()
    srv.advance(period - now % period + margin)


def fresh_window(srv, period, *clients):
    """The alert rules count per hour (and per day): starts a new window on
    the test clock, so that a boundary cannot fall inside the test; the
    clients log in again (their sessions may have idled out)."""
    align(srv, period, margin=1)
    for c in clients:
        relogin(c)


def one_record(srv, before, what, **want):
    rows = srv.access_log(before)
    check(len(rows) == 1, f"{what}: expected exactly one access record, got {len(rows)}: "
                          f"{[(r['id'], r['operation'], r['outcome']) for r in rows]}")
    for k, v in want.items():
        eq(rows[0][k], v, f"{what}: access record field {k}")
    return rows[0]


def relogin(c):
    expect(c.login(c.username, c.password), 200, what=f"login of {c.username}")


def public_key(db):
    rows = harness.db_query(db, "SELECT value FROM setting WHERE key = 'signing_public_key'")
    check(rows, "no signing_public_key in the database")
    return bytes.fromhex(rows[0]["value"])


def b64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def today_utc(srv):
    return datetime.datetime.fromtimestamp(srv.now(), datetime.timezone.utc).date()


def db_copy(srv, name):
    """A consistent copy of the live database: its URI."""
    return harness.db_copy(srv.db, srv.dir, name.replace(".db", ""))


db_exec = harness.db_exec
db_rows = harness.db_query


# ---------------------------------------------------------------- Ed25519 (RFC 8032), verification only

_P = 2 ** 255 - 19
_L = 2 ** 252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _recover_x(y, sign):
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    if x2 % _P == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x


def _add(p, q_):
    a = (p[1] - p[0]) * (q_[1] - q_[0]) % _P
    b = (p[1] + p[0]) * (q_[1] + q_[0]) % _P
    c = 2 * p[3] * q_[3] * _D % _P
    d = 2 * p[2] * q_[2] % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _mul(s, p):
    r = (0, 1, 1, 0)
    while s:
        if s & 1:
            r = _add(r, p)
        p = _add(p, p)
        s >>= 1
    return r


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _recover_x(_GY, 0)
_G = (_GX, _GY, 1, _GX * _GY % _P)


def _decompress(b):
    if len(b) != 32:
        return None
    y = int.from_bytes(b, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


def _ed_verify(pk, sig):
    """The decoded public key, R and s of a signature, or False."""
    if len(pk) != 32 or len(sig) != 64:
        return False
    a, r = _decompress(pk), _decompress(sig[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(sig[32:], "little")
    if s >= _L:
        return False
    return (a, r, s)


def ed25519_verify(pk, msg, sig):
    """Pure Ed25519 (as libsodium's crypto_sign_detached)."""
    t = _ed_verify(pk, sig)
    if not t:
        return False
    a, r, s = t
    h = int.from_bytes(hashlib.sha512(sig[:32] + pk + msg).digest(), "little") % _L
    sb, right = _mul(s, _G), _add(r, _mul(h, a))
    return (sb[0] * right[2] - right[0] * sb[2]) % _P == 0 and \
        (sb[1] * right[2] - right[1] * sb[2]) % _P == 0


def ed25519ph_verify(pk, msg, sig):
    """Ed25519ph (RFC 8032 5.1, empty context), as libsodium's
    crypto_sign_final_verify."""
    t = _ed_verify(pk, sig)
    if not t:
        return False
    a, r, s = t
    dom = b"SigEd25519 no Ed25519 collisions" + bytes([1, 0])
    h = int.from_bytes(hashlib.sha512(dom + sig[:32] + pk + hashlib.sha512(msg).digest())
                       .digest(), "little") % _L
    sb, right = _mul(s, _G), _add(r, _mul(h, a))
    return (sb[0] * right[2] - right[0] * sb[2]) % _P == 0 and \
        (sb[1] * right[2] - right[1] * sb[2]) % _P == 0


# ---------------------------------------------------------------- the chain, recomputed

_SEP = "\x1f"
_NUM = ("id", "at", "account_id", "ente_id", "convenzione_id", "purpose_id", "status")
_TEXT = ("username", "case_ref", "on_behalf_of", "ip", "operation", "query", "subjects",
         "categories", "outcome", "flags", "workstation")


def canonical(rec, prev):
    """The canonical bytes of an access record (docs/design.md, the log)."""
    out = prev.encode() + _SEP.encode()
    out += ("visura-access-v1" + _SEP + _SEP.join(str(rec[k]) for k in _NUM) + _SEP).encode()
    for k in _TEXT:
        out += rec[k].encode() + _SEP.encode()
    return out


def chain_hash(rec, prev):
    """The hash of an access record as the server computes it (what an
    attacker with write access but without the signing key can redo)."""
    return hashlib.sha256(canonical(rec, prev)).hexdigest()


def leaf_hash(rec):
    """Its leaf in the Merkle tree: RFC 9162, SHA-256(0x00 || bytes)."""
    return hashlib.sha256(b"\x00" + canonical(rec, rec["prev_hash"])).digest()


# ---------------------------------------------------------------- the log (RFC 9162, C2SP checkpoints), verification only

def _node(a, b):
    return hashlib.sha256(b"\x01" + a + b).digest()


def inclusion_root(leaf, index, size, proof):
    """RFC 9162 2.1.3.2, written here apart from the server's C: the root
    the proof leads to, or None."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def inclusion_ok(leaf, index, size, proof, root):
    return inclusion_root(leaf, index, size, proof) == root


def receipt_batch_ok(pk, receipt):
    """A v3 receipt's batch: its first eight fields are a leaf of the batch's
    receipt tree, its path leads to the root, and the batch's signature
    covers "visura receipt batch v1 <size> <root hex>" (written apart from
    the server's C)."""
    parts = receipt.split(".")
    if len(parts) != 12 or parts[0] != "v3":
        return False
    index, size, path = int(parts[8]), int(parts[9]), b64url(parts[10])
    if len(path) % 32:
        return False
    leaf = hashlib.sha256(b"\x00" + ".".join(parts[:8]).encode()).digest()
    r = inclusion_root(leaf, index, size, [path[i:i + 32] for i in range(0, len(path), 32)])
    if r is None:
        return False
    return ed25519_verify(pk, f"visura receipt batch v1 {size} {r.hex()}".encode(),
                          b64url(parts[11]))


def parse_head(text):
    """A checkpoint note: (origin, size, root, signed body, [(name, bytes)])."""
    body, _, sigs = text.partition("\n\n")
    lines = body.split("\n")
    eq(len(lines), 3, f"a checkpoint's three lines: {text!r}")
    out = []
    for line in sigs.splitlines():
        check(line.startswith("\u2014 "), f"a signature line: {line!r}")
        name, b64 = line[2:].split(" ")
        out.append((name, base64.b64decode(b64)))
    return lines[0], int(lines[1]), base64.b64decode(lines[2]), (body + "\n").encode(), out


def head_signed(text, pk):
    """The log's Ed25519 note signature: key id SHA-256(name || 0x0A || 0x01 || pk)[:4]."""
    origin, _, _, body, sigs = parse_head(text)
    kid = hashlib.sha256(origin.encode() + b"\n\x01" + pk).digest()[:4]
    return any(n == origin and s[:4] == kid and ed25519_verify(pk, body, s[4:]) for n, s in sigs)


# ---------------------------------------------------------------- receipts

def test_printable_visura():
    """The printable visura: the record within the profile in Italian words
    (codes named, dates as dd/mm/yyyy), the consultation's metadata, no
    script, and a receipt that proves the exact page."""
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        p = registered(env.pop)[0]
        pid = env.purpose(ALL)
        r = expect(env.op.get(f"/api/v1/persons/{p['cf']}/print?" + q(purpose=pid, case_ref="VERB-9")),
                   200, what="print")
        check(r.header("Content-Type").startswith("text/html"), "an HTML page")
        page = r.body.decode()
        y, m, d = p["birth_date"].split("-")
        for want in (p["cf"], p["surname"], "Visura anagrafica", f"{d}/{m}/{y}", "VERB-9",
                     "Registrazione di accesso n.", "Residenza", "iscritto/a"):
            check(want in page, f"the page shows {want!r}")
        check(re.search(r"Relazione con l&#39;intestatario</th><td>[a-z/ ]+</td>", page),
              "the relationship is named, not a code")
        check("<script" not in page.lower() and "/static/print.css" in page, "no script, the print style")
        body_file = os.path.join(srv.dir, "visura.html")
        with open(body_file, "wb") as f:
            f.write(r.body)
        rc, out = cli("audit", "verify-receipt", "--db", srv.db, r.header("X-Visura-Receipt"), body_file)
        eq(rc, 0, f"the receipt proves the printed page: {out}")
        # The seal: the page carries its receipt's content hash under the QR
        # code, and the receipt signs the page with the seal empty.
        receipt = r.header("X-Visura-Receipt")
        sha = receipt.split(".")[4]
        grouped = " ".join(sha[i:i + 8] for i in range(0, 64, 8))
        check(f"Impronta del contenuto: {grouped}" in page and '<svg xmlns="http://www.w3.org/2000/svg"' in page,
              "the seal: the QR code and the content hash")
        sealed = page.split("<!--contrassegno-->")
        check(len(sealed) == 2, "one seal")
        empty = sealed[0] + "<!--contrassegno-->" + sealed[1].split("<!--/contrassegno-->")[0][:0] + \
            "<!--/contrassegno-->" + sealed[1].split("<!--/contrassegno-->")[1]
        eq(hashlib.sha256(empty.encode()).hexdigest(), sha, "the receipt signs the page with the seal empty")
        check(not re.search(r"\d{4}-\d\d-\d\d|UTC", page.split("<main>")[0] + page.split("</main>")[1].split("<!--contrassegno-->")[0]),
              "no ISO date, no UTC in the heading and foot")
        # An altered page: a surname changed, or something slipped into the seal.
        for what, bad in (("a surname changed", page.replace(p["surname"], p["surname"] + "X", 1)),
                          ("text in the seal", page.replace("<!--contrassegno-->", "<!--contrassegno--><p>annotazione</p>", 1))):
            with open(body_file, "w") as f:
                f.write(bad)
            rc, out = cli("audit", "verify-receipt", "--db", srv.db, receipt, body_file)
            check(rc != 0 and "INVALID" in out, f"{what}: refused ({out.strip()})")
        # /verifica and its API: no login, no personal data, tampering refused.
        anon = srv.client()
        v = expect(anon.post("/api/v1/receipts/verify", {"receipt": receipt, "content_hash": grouped.upper()}),
                   200, what="receipt verify").json
        eq((v["valid"], v["access_id"], v["content_hash"], v["content_hash_matches"], v["purged_on"]),
           (True, int(r.header("X-Visura-Access-Id")), sha, True, None), "the receipt is this deployment's")
        check(re.fullmatch(r"\d{1,2} [a-z]+ \d{4}, ore \d\d:\d\d:\d\d", v["issued_at_text"]), "the time in Italian")
        text = json.dumps(v)
        check(p["cf"] not in text and p["surname"] not in text and "VERB-9" not in text, "no personal data")
        v = expect(anon.post("/api/v1/receipts/verify", {"receipt": receipt, "content_hash": "0" * 64}), 200).json
        eq(v["content_hash_matches"], False, "another content hash does not match")
        f = receipt.split(".")
        f[2] = str(int(f[2]) + 1)
        bad = expect(anon.post("/api/v1/receipts/verify", {"receipt": ".".join(f)}), 422, what="tampered").json
        eq(bad["error"]["code"], "receipt_invalid", "a tampered receipt is refused")
        check("non è valida" in bad["error"]["message"], "in Italian")
        pg = expect(anon.get("/verifica?ricevuta=" + receipt), 200, what="/verifica")
        check("La ricevuta è autentica" in pg.body.decode() and p["cf"] not in pg.body.decode(), "the page confirms it")
        expect(anon.get("/verifica?ricevuta=" + ".".join(f)), 422, what="/verifica tampered")
        narrow = env.purpose(["identity"])
        page = expect(env.op.get(f"/api/v1/persons/{p['cf']}/print?" + q(purpose=narrow)), 200).body.decode()
        check(p["cf"] in page and "Residenza" not in page and "Famiglia" not in page,
              "only the categories of the profile are printed")


def test_receipt_verifies_exact_body():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        p = registered(env.pop)[0]
        r = expect(env.op.get(f"/api/v1/persons/{p['cf']}?purpose={pid}&case_ref=R-1"), 200,
                   what="consult")
        aid, receipt = r.header("X-Visura-Access-Id"), r.header("X-Visura-Receipt")
        check(aid is not None and receipt is not None,
              f"an answer with personal data carries X-Visura-Access-Id and X-Visura-Receipt: "
              f"{r.headers}")
        eq(int(aid), r["access_id"], "X-Visura-Access-Id = access_id of the body")
        rec = srv.access_log(int(aid) - 1)[0]
        eq(rec["id"], int(aid), "the access record exists")
        parts = receipt.split(".")
        eq(len(parts), 12, f"receipt shape {receipt!r}")
        eq(parts[:5], ["v3", aid, str(rec["at"]), str(pid), hashlib.sha256(r.body).hexdigest()],
           "receipt fields (version, id, time, purpose, SHA-256 of the exact body)")
        pk = public_key(srv.db)
        eq(bytes.fromhex(parts[5]), leaf_hash(rec), "the leaf is the record's canonical bytes")
        head = b64url(parts[6]).decode()
        check(head_signed(head, pk), f"the head is signed by the deployment's key: {head!r}")
        origin, size, root, _, _ = parse_head(head)
        proof = b64url(parts[7])
        check(len(proof) % 32 == 0, "the proof is whole hashes")
        check(inclusion_ok(leaf_hash(rec), int(aid) - 1, size,
                           [proof[i:i + 32] for i in range(0, len(proof), 32)], root),
              f"the inclusion proof leads from the leaf to the head's root ({size} leaves)")
        check(receipt_batch_ok(pk, receipt),
              "the receipt's path leads to a root its batch's signature covers (database's key)")
        body_file = os.path.join(srv.dir, "answer.json")
        with open(body_file, "wb") as f:
            f.write(r.body)
        rc, out = cli("audit", "verify-receipt", "--db", srv.db, receipt, body_file)
        eq(rc, 0, f"verify-receipt with the exact body: {out}")
        rc, out = cli("audit", "verify-receipt", "--db", srv.db, receipt)
        eq(rc, 0, f"verify-receipt without a body: {out}")
        # one altered byte of the answer (the person's surname)
        i = r.body.index(p["surname"].encode())
        altered = r.body[:i] + bytes([r.body[i] ^ 0x01]) + r.body[i + 1:]
        for what, data in (("one byte changed", altered), ("a trailing newline", r.body + b"\n"),
                           ("empty", b"")):
            with open(body_file, "wb") as f:
                f.write(data)
            rc, out = cli("audit", "verify-receipt", "--db", srv.db, receipt, body_file)
            eq(rc, 1, f"verify-receipt with an altered body ({what}): {out}")
        with open(body_file, "wb") as f:
            f.write(r.body)
        # tampered receipts
        other = expect(env.op.get(f"/api/v1/persons/{registered(env.pop)[1]['cf']}?purpose={pid}"),
                       200, what="second consult")
        sig = parts[11]
        flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
        sha = parts[4]
        tampered = {
            "signature changed": ".".join(parts[:11] + [flipped]),
            "place in the batch changed": ".".join(parts[:8] + [str(int(parts[8]) + 1)] + parts[9:]),
            "batch size changed": ".".join(parts[:9] + [str(int(parts[9]) + 1)] + parts[10:]),
            "a path where there was none" if not parts[10] else "path changed":
                ".".join(parts[:10] + [parts[10][:-1] + ("A" if parts[10][-1:] != "A" else "B")
                                       if parts[10] else "A" * 43] + parts[11:]),
            "v2 named on a v3 receipt": ".".join(["v2"] + parts[1:8] + [parts[11]]),
            "body hash changed": ".".join(parts[:4] + [("0" if sha[0] != "0" else "1") + sha[1:]]
                                          + parts[5:]),
            "other access id": ".".join([parts[0], other.header("X-Visura-Access-Id")] + parts[2:]),
            "time changed": ".".join(parts[:2] + [str(rec["at"] + 1000)] + parts[3:]),
            "purpose changed": ".".join(parts[:3] + [str(pid + 1)] + parts[4:]),
            "signature cut": receipt[:-5],
            "another answer's receipt": other.header("X-Visura-Receipt"),
            "garbage": "not-a-receipt",
        }
        oparts = other.header("X-Visura-Receipt").split(".")
        tampered["another answer's head"] = ".".join(parts[:6] + [oparts[6]] + parts[7:])
        tampered["another answer's proof"] = ".".join(parts[:7] + [oparts[7]] + parts[8:])
        tampered["another answer's leaf"] = ".".join(parts[:5] + [oparts[5]] + parts[6:])
        tampered["another batch's place, path and signature"] = ".".join(parts[:8] + oparts[8:])
        for what, bad in tampered.items():
            rc, out = cli("audit", "verify-receipt", "--db", srv.db, bad, body_file)
            eq(rc, 1, f"verify-receipt with a tampered receipt ({what}): {out}")
            check(out.startswith("INVALID: "), f"the reason is given ({what}): {out}")
        # offline: a copy of the receipt and the answer, the public key, no database
        offline = tempfile.mkdtemp(prefix="visura-offline-")
        with open(os.path.join(offline, "receipt.txt"), "w") as f:
            f.write(receipt + "\n")
        with open(os.path.join(offline, "answer.json"), "wb") as f:
            f.write(r.body)
        rc, pkhex = cli("audit", "key", "--db", srv.db)
        eq(rc, 0, f"audit key: {pkhex}")
        with open(os.path.join(offline, "key.txt"), "w") as f:
            f.write(pkhex)
        p_ = subprocess.run([harness.VISURA, "audit", "verify-receipt", "--key", "key.txt",
                             "receipt.txt", "answer.json"], cwd=offline, capture_output=True,
                            text=True, env={"PATH": os.environ.get("PATH", "")})
        eq(p_.returncode, 0, f"offline verify-receipt: {p_.stdout}{p_.stderr}")
        check(f"leaf {int(aid) - 1}" in p_.stdout and origin in p_.stdout,
              f"it names the leaf and the deployment: {p_.stdout}")
        eq(sorted(os.listdir(offline)), ["answer.json", "key.txt", "receipt.txt"],
           "no database was opened or created")
        for what, bad in tampered.items():
            rc, out = cli("audit", "verify-receipt", "--key", pkhex.strip(), bad,
                          os.path.join(offline, "answer.json"))
            eq(rc, 1, f"offline, a tampered receipt ({what}): {out}")
        rc, out = cli("audit", "verify-receipt", "--key", pkhex.strip(),
                      tampered["another answer's head"])
        check(rc == 1 and "inclusion proof" in out, f"a proof against the wrong head: {out}")
        # other personal-data answers carry receipts too
        members = expect(env.op.get(f"/api/v1/persons/{p['cf']}/household?purpose={pid}"), 200,
                         what="household")
        found = expect(env.op.get(f"/api/v1/persons?purpose={pid}&cf={p['cf']}"), 200, what="search")
        ver = expect(env.op.post("/api/v1/verify", {"purpose": pid, "codice_fiscale": p["cf"],
                                                   "declared": {"alive": True}}), 200, what="verify")
        for what, res in (("household", members), ("search", found), ("verify", ver)):
            rc_ = res.header("X-Visura-Receipt")
            check(rc_ and res.header("X-Visura-Access-Id"), f"{what}: receipt headers")
            with open(body_file, "wb") as f:
                f.write(res.body)
            rc, out = cli("audit", "verify-receipt", "--db", srv.db, rc_, body_file)
            eq(rc, 0, f"{what}: verify-receipt: {out}")
        # concurrent answers: one group commit carries several, their receipts
        # share one signature (over the batch's receipt tree), each has its own
        # place and path, and every one verifies with its body
        shared = _concurrent_receipts(srv, env, pid, pk, body_file)
        check(shared >= 2, f"concurrent answers share a batch signature ({shared} at most)")
        # a receipt is bound to its database's key
        with Server() as other_srv:
            rc, out = cli("audit", "verify-receipt", "--db", other_srv.db, receipt)
            eq(rc, 1, f"a receipt checked against another database: {out}")
            rc, okey = cli("audit", "key", "--db", other_srv.db)
            rc, out = cli("audit", "verify-receipt", "--key", okey.strip(), receipt)
            check(rc == 1 and "another deployment" in out,
                  f"offline, with another deployment's key: {out}")


def _concurrent_receipts(srv, env, pid, pk, body_file, rounds=5, width=12):
    """Rounds of `width` look-ups sent at once, until two answers share a
    batch; every receipt checked (offline in Python, and one per batch with
    verify-receipt).  Returns the most answers one signature covered."""
    cfs = [p["cf"] for p in registered(env.pop)[:width]]
    most = 0
    for rnd in range(rounds):
        got, errors = [None] * width, []
        gate = threading.Barrier(width)

        def run(k):
            conn = Conn(srv, env.op)
            try:
                conn.get("/api/v1/auth/me")
                gate.wait()
                got[k] = conn.get(f"/api/v1/persons/{cfs[k]}?purpose={pid}&case_ref=B-{rnd}-{k}")
            except Exception as e:   # noqa: BLE001 - reported below
                errors.append(e)
            finally:
                conn.close()

        ts = [threading.Thread(target=run, args=(k,)) for k in range(width)]
        for th in ts:
            th.start()
        for th in ts:
            th.join()
        check(not errors and all(r is not None and r.status == 200 for r in got),
              f"concurrent look-ups: {errors[:3]} {[r.status for r in got if r is not None]}")
        batches = {}
        for r in got:
            rc_ = r.header("X-Visura-Receipt")
            parts = rc_.split(".")
            eq(parts[4], hashlib.sha256(r.body).hexdigest(), "each receipt hashes its own body")
            check(receipt_batch_ok(pk, rc_), f"each receipt's batch signature verifies: {rc_[:40]}")
            batches.setdefault(parts[11], []).append((int(parts[8]), int(parts[9]), rc_, r.body))
        for sig, members in batches.items():
            eq(len({m[1] for m in members}), 1, "one batch size under one signature")
            eq(len({m[0] for m in members}), len(members), "distinct places in the batch")
            check(len(members) <= members[0][1], "no more receipts than the batch holds")
            with open(body_file, "wb") as f:
                f.write(members[-1][3])
            rc, out = cli("audit", "verify-receipt", "--db", srv.db, members[-1][2], body_file)
            eq(rc, 0, f"verify-receipt of a batch's receipt: {out}")
        most = max(most, max(len(m) for m in batches.values()))
        if most >= 2:
            break
    return most


# ---------------------------------------------------------------- the access record

def test_access_record_fields():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pop = env.pop
        conv = env.agreement(ALL)
        pid = conv["purpose_id"]
        narrow = env.agreement(["identity"])
        regs = registered(pop)
        p, p2 = regs[0], regs[1]
        op = env.op
        base = dict(account_id=op.account["id"], username=op.account["username"],
                    ente_id=env.ente["id"])
        t0 = srv.now()

        def rec_of(res, what, **want):
            rows = srv.access_log(before)
            check(len(rows) == 1, f"{what}: one access record per request, got {len(rows)}")
            row = rows[0]
            for k, v in dict(base, **want).items():
                eq(row[k], v, f"{what}: {k}")
            check(abs(row["at"] // 1000 - srv.now()) <= 5, f"{what}: at {row['at']} (ms) is now")
            if res is not None and res.status == 200:
                eq(row["id"], res["access_id"], f"{what}: access_id")
                eq(res.header("X-Visura-Access-Id"), str(row["id"]), f"{what}: header")
            return row

        # a consultation, with a case reference, and X-Forwarded-For (not trusted)
        before = srv.access_last_id()
        r = expect(op.get(f"/api/v1/persons/{p['cf']}?purpose={pid}&case_ref=PRAT%2F2026-7",
                          headers={"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"}),
                   200, what="consult")
        row = rec_of(r, "consult", convenzione_id=conv["id"], purpose_id=pid,
                     case_ref="PRAT/2026-7", on_behalf_of="", ip="127.0.0.1", operation="consult",
                     subjects=p["cf"], categories=",".join(ALL), outcome="ok", status=200, flags="")
        check(p["cf"] in row["query"], f"the query names the person: {row['query']!r}")
        # the household: every member is a subject
        before = srv.access_last_id()
        r = expect(op.get(f"/api/v1/persons/{p['cf']}/household?purpose={pid}"), 200, what="household")
        row = rec_of(r, "household", operation="household", outcome="ok", status=200, case_ref="")
        eq(set(row["subjects"].split(",")), set(pop.members(p["comune"], p["family_id"])),
           "household: subjects")
        # a search by name: the parameters, normalised, in the record
        before = srv.access_last_id()
        r = expect(op.get("/api/v1/persons?" + q(purpose=pid, surname=p2["surname"], name=p2["name"],
                                                 birth_date=p2["birth_date"])), 200, what="search")
        row = rec_of(r, "search by name", operation="search", outcome="ok", status=200)
        check(p2["cf"] in row["subjects"].split(","), f"search: subjects {row['subjects']!r}")
        check(p2["surname"] in row["query"] and p2["birth_date"] in row["query"],
              f"search: query {row['query']!r}")
        # verification: the facts asked are recorded, never their values
        before = srv.access_last_id()
        r = expect(op.post("/api/v1/verify", {"purpose": pid, "codice_fiscale": p["cf"],
                                             "case_ref": "V-1",
                                             "declared": {"surname": "ZZSECRETSURNAME",
                                                          "alive": True}}), 200, what="verify")
        row = rec_of(r, "verify", operation="verify", outcome="ok", subjects=p["cf"], case_ref="V-1")
        check("surname" in row["query"] and "ZZSECRETSURNAME" not in row["query"],
              f"verify: query {row['query']!r}")
        # nothing found
        nobody = cf_with_check("QQQQQQ01A01F257")
        before = srv.access_last_id()
        expect(op.get(f"/api/v1/persons?purpose={pid}&cf={nobody}"), 404, "not_found", "not found")
        rec_of(None, "not found", operation="search", outcome="not_found", status=404, subjects="",
               convenzione_id=conv["id"], purpose_id=pid)
        # refused: a category outside the profile (agreement and purpose known)
        before = srv.access_last_id()
        expect(op.get(f"/api/v1/persons/{p['cf']}/household?purpose={narrow['purpose_id']}"), 403,
               "category_not_permitted", "household outside the profile")
        rec_of(None, "refused category", operation="household", outcome="refused:category_not_permitted",
               status=403, subjects="", convenzione_id=narrow["id"],
               purpose_id=narrow["purpose_id"], categories="identity")
        # refused: a purpose of nobody (no agreement)
        before = srv.access_last_id()
        expect(op.get(f"/api/v1/persons/{p['cf']}?purpose=987654&case_ref=X-9"), 403,
               "purpose_not_allowed", "foreign purpose")
        rec_of(None, "foreign purpose", outcome="refused:purpose_not_allowed", status=403,
               purpose_id=987654, convenzione_id=0, case_ref="X-9", subjects="")
        # from another address: the record names the real source
        before = srv.access_last_id()
        r = from_address(srv, op, "127.0.0.2", "GET", f"/api/v1/persons/{p2['cf']}?purpose={pid}")
        expect(r, 200, what="consult from 127.0.0.2")
        rec_of(r, "from 127.0.0.2", ip="127.0.0.2", subjects=p2["cf"])
        # an API client on behalf of a person of its body
        api_acc, _ = srv.create_account("api", env.ente["id"])
        tok = expect(srv.admin().post(f"/api/v1/accounts/{api_acc['id']}/tokens", {"name": "t"}), 201,
                     what="token").json["token"]
        api = srv.client(bearer=tok)
        before = srv.access_last_id()
        r = expect(api.get(f"/api/v1/persons/{p['cf']}?purpose={pid}&case_ref=API-1",
                           headers={"X-Visura-On-Behalf-Of": "Dott.ssa Anna Bianchi (matr. 42)"}),
                   200, what="api consult")
        rows = srv.access_log(before)
        eq(len(rows), 1, "api: one record")
        for k, v in dict(account_id=api_acc["id"], username=api_acc["username"],
                         ente_id=env.ente["id"], on_behalf_of="Dott.ssa Anna Bianchi (matr. 42)",
                         case_ref="API-1", subjects=p["cf"], outcome="ok", operation="consult",
                         convenzione_id=conv["id"], purpose_id=pid).items():
            eq(rows[0][k], v, f"api: {k}")
        before = srv.access_last_id()
        expect(api.get(f"/api/v1/persons/{p['cf']}?purpose={pid}"), 400, "on_behalf_of_required",
               "api without the end user")
        rows = srv.access_log(before)
        eq([(x["username"], x["outcome"], x["status"]) for x in rows],
           [(api_acc["username"], "refused:on_behalf_of_required", 400)], "api refused: record")
        # the chain links every record to the one before
        log = srv.access_log()
        for a, b in zip(log, log[1:]):
            eq(b["prev_hash"], a["hash"], f"record {b['id']} chained to {a['id']}")
            eq(b["id"], a["id"] + 1, "ids without gaps")
        check(all(x["at"] // 1000 >= t0 - 5 for x in log), "times of the records")


# ---------------------------------------------------------------- rate limits

def test_rate_limit_per_operator():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        conv = env.agreement(ALL, per_minute=3)
        pid = conv["purpose_id"]
        other = env.operator()
        cfs = [p["cf"] for p in registered(env.pop)[:10]]
        align(srv, 60)
        for i in range(3):
            expect(env.op.get(f"/api/v1/persons/{cfs[i]}?purpose={pid}&case_ref=RL"), 200,
                   what=f"request {i + 1} of 3")
        before = srv.access_last_id()
        r = env.op.get(f"/api/v1/persons/{cfs[3]}?purpose={pid}&case_ref=RL")
        expect(r, 429, "rate_limited", "the 4th request within the minute")
        check(error_shape_ok(r), f"error shape: {r.body!r}")
        check("person" not in (r.json or {}), "no data in a 429")
        ra = r.header("Retry-After")
        check(ra is not None and ra.isdigit() and 1 <= int(ra) <= 60, f"Retry-After {ra!r}")
        one_record(srv, before, "429", outcome="refused:rate_limited", status=429,
                   convenzione_id=conv["id"], purpose_id=pid, subjects="", case_ref="RL",
                   username=env.op.account["username"])
        # per operator: another operator of the same body is not throttled
        expect(other.get(f"/api/v1/persons/{cfs[4]}?purpose={pid}"), 200, what="other operator")
        # refused requests do not extend the wait
        expect(env.op.get(f"/api/v1/persons/{cfs[3]}?purpose={pid}"), 429, "rate_limited", "again")
        srv.advance(int(ra))
        expect(env.op.get(f"/api/v1/persons/{cfs[3]}?purpose={pid}"), 200,
               what=f"after Retry-After ({ra} s)")
        for i in range(2):
            expect(env.op.get(f"/api/v1/persons/{cfs[5 + i]}?purpose={pid}"), 200, what="new window")
        expect(env.op.get(f"/api/v1/persons/{cfs[7]}?purpose={pid}"), 429, "rate_limited",
               "the 4th of the new window")
        srv.advance(60)
        expect(env.op.get(f"/api/v1/persons/{cfs[7]}?purpose={pid}"), 200, what="60 s later")


def test_rate_limit_body_across_operators():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL, body_per_minute=4)
        op2 = env.operator()
        # another body with the same kind of agreement is independent
        ente_b = srv.create_ente()
        op_b = srv.user("operator", ente_b["id"])
        pid_b = srv.create_agreement(ente_b["id"], ALL, body_per_minute=4)["purpose_id"]
        cfs = [p["cf"] for p in registered(env.pop)[:12]]
        align(srv, 60)
        for i, c in enumerate((env.op, env.op, op2, op2)):
            expect(c.get(f"/api/v1/persons/{cfs[i]}?purpose={pid}"), 200, what=f"body request {i + 1}")
        before = srv.access_last_id()
        r = expect(env.op.get(f"/api/v1/persons/{cfs[4]}?purpose={pid}"), 429, "rate_limited",
                   "the body's 5th request (operator 1)")
        check((r.header("Retry-After") or "").isdigit(), "Retry-After")
        one_record(srv, before, "body limit", outcome="refused:rate_limited", status=429)
        expect(op2.get(f"/api/v1/persons/{cfs[4]}?purpose={pid}"), 429, "rate_limited",
               "the body's 5th request (operator 2)")
        for i in range(4):
            expect(op_b.get(f"/api/v1/persons/{cfs[5 + i]}?purpose={pid_b}"), 200,
                   what=f"another body, request {i + 1}")
        srv.advance(60)
        expect(op2.get(f"/api/v1/persons/{cfs[4]}?purpose={pid}"), 200, what="next minute")


def test_rate_limit_per_purpose():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        conv = env.agreement(ALL, purpose_per_minute=3)
        p1 = conv["purpose_id"]
        p2 = expect(srv.admin().post(f"/api/v1/convenzioni/{conv['id']}/purposes",
                                   {"code": "P2", "description": "second purpose",
                                    "legal_basis": "art. 37 DPR 223/1989"}), 201,
                    what="second purpose").json["id"]
        op2 = env.operator()
        cfs = [p["cf"] for p in registered(env.pop)[:12]]
        align(srv, 60)
        expect(env.op.get(f"/api/v1/persons/{cfs[0]}?purpose={p1}"), 200, what="P1 #1")
        expect(op2.get(f"/api/v1/persons/{cfs[1]}?purpose={p1}"), 200, what="P1 #2 (operator 2)")
        expect(env.op.get(f"/api/v1/persons/{cfs[2]}?purpose={p1}"), 200, what="P1 #3")
        before = srv.access_last_id()
        expect(op2.get(f"/api/v1/persons/{cfs[3]}?purpose={p1}"), 429, "rate_limited",
               "P1 #4 (operator 2)")
        one_record(srv, before, "purpose limit", outcome="refused:rate_limited", purpose_id=p1)
        expect(env.op.get(f"/api/v1/persons/{cfs[3]}?purpose={p1}"), 429, "rate_limited", "P1 #4")
        for i in range(3):
            expect(env.op.get(f"/api/v1/persons/{cfs[4 + i]}?purpose={p2}"), 200,
                   what=f"the other purpose, #{i + 1}")
        expect(env.op.get(f"/api/v1/persons/{cfs[7]}?purpose={p2}"), 429, "rate_limited", "P2 #4")
        srv.advance(60)
        expect(env.op.get(f"/api/v1/persons/{cfs[3]}?purpose={p1}"), 200, what="P1, next minute")


def test_rate_limit_per_day():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL, per_day=5)
        cfs = [p["cf"] for p in registered(env.pop)[:10]]
        align(srv, DAY, margin=60)
        relogin(env.op)
        for i in range(5):
            expect(env.op.get(f"/api/v1/persons/{cfs[i]}?purpose={pid}"), 200, what=f"#{i + 1} today")
        r = expect(env.op.get(f"/api/v1/persons/{cfs[5]}?purpose={pid}"), 429, "rate_limited",
                   "#6 today")
        ra = int(r.header("Retry-After") or 0)
        check(DAY - 3700 < ra <= DAY, f"Retry-After until tomorrow, got {ra}")
        srv.advance(61)
        expect(env.op.get(f"/api/v1/persons/{cfs[5]}?purpose={pid}"), 429, "rate_limited",
               "a minute later, same day")
        srv.advance(ra)
        relogin(env.op)
        expect(env.op.get(f"/api/v1/persons/{cfs[5]}?purpose={pid}"), 200, what="the next day")


# ---------------------------------------------------------------- break-glass

def test_break_glass():
    with Server(population=POP) as srv:
        env = Env(srv)
        conv = env.agreement(ALL, per_minute=3, break_glass=True)
        pid = conv["purpose_id"]
        cfs = [p["cf"] for p in registered(env.pop)[:10]]
        align(srv, 60)
        for i in range(3):
            expect(env.op.get(f"/api/v1/persons/{cfs[i]}?purpose={pid}"), 200, what=f"#{i + 1}")
        expect(env.op.get(f"/api/v1/persons/{cfs[3]}?purpose={pid}"), 429, "rate_limited", "#4")
        check(not alerts(srv, rule="break_glass"), "no break_glass alert before")
        before = srv.access_last_id()
        r = env.op.get(f"/api/v1/persons/{cfs[3]}?" + q(purpose=pid, break_glass=1,
                                                         justification=JUSTIFICATION,
                                                         case_ref="URG-1"))
        expect(r, 200, what="break-glass beyond the limit")
        eq(r["person"]["identity"]["codice_fiscale"], cfs[3], "break-glass: the data")
        check(r.header("X-Visura-Receipt"), "break-glass answer has a receipt")
        # the person, and the parents the answer names (the trail's rule)
        par = r["person"].get("parentage") or {}
        named = [cfs[3]] + [c for c in (par.get("father"), par.get("mother")) if c]
        one_record(srv, before, "break-glass", flags="break_glass", outcome="ok", status=200,
                   subjects=",".join(named), case_ref="URG-1")
        al = alerts(srv, rule="break_glass")
        eq(len(al), 1, "one break_glass alert")
        eq((al[0]["account_id"], al[0]["ente_id"], al[0]["state"]),
           (env.op.account["id"], env.ente["id"], "open"), "the alert's account, body and state")
        check(JUSTIFICATION[:100] in al[0]["detail"], f"the justification in the alert: {al[0]['detail']!r}")
        check(any(a["rule"] == "break_glass" for a in alerts(srv, env.lead)),
              "the body's lead sees the break_glass alert")
        check(alert_mails(srv, harness.ADMIN_EMAIL, env.op.account["username"]),
              "an alert mail to the registry office")
        mails = alert_mails(srv, env.lead.account["email"], env.op.account["username"])
        check(mails and "accesso in emergenza" in mails[0]["subject"] + mails[0]["body"],
              f"an alert mail to the body's lead, naming the rule in Italian: {mails}")
        check("break_glass" not in mails[0]["subject"] + mails[0]["body"],
              f"no rule code in the mail the lead reads: {mails}")
        # every break-glass request is flagged and alerted, also verification
        r = env.op.post("/api/v1/verify", {"purpose": pid, "codice_fiscale": cfs[4],
                                          "declared": {"alive": True}, "break_glass": True,
                                          "justification": JUSTIFICATION})
        expect(r, 200, what="break-glass verification")
        eq(srv.access_log_tail(1)[0]["flags"], "break_glass", "verify: flag")
        eq(len(alerts(srv, rule="break_glass")), 2, "a second break_glass alert")
        # the normal path is still limited
        expect(env.op.get(f"/api/v1/persons/{cfs[5]}?purpose={pid}"), 429, "rate_limited",
               "without break-glass")
        # justification: 20..300 characters
        for what, just in (("missing", None), ("19 characters", "x" * 19), ("301 characters", "y" * 301)):
            before = srv.access_last_id()
            r = env.op.get(f"/api/v1/persons/{cfs[5]}?" + q(purpose=pid, break_glass=1,
                                                             justification=just))
            expect(r, 400, "justification_required", f"justification {what}")
            one_record(srv, before, f"justification {what}", outcome="refused:justification_required",
                       flags="", subjects="")
        r = env.op.get(f"/api/v1/persons/{cfs[5]}?" + q(purpose=pid, break_glass=1,
                                                         justification="z" * 20))
        expect(r, 200, what="justification of exactly 20 characters")


def test_break_glass_not_allowed():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        conv = env.agreement(ALL)   # break_glass defaults to false
        pid = conv["purpose_id"]
        cf = registered(env.pop)[0]["cf"]
        before = srv.access_last_id()
        r = env.op.get(f"/api/v1/persons/{cf}?" + q(purpose=pid, break_glass=1,
                                                     justification=JUSTIFICATION))
        expect(r, 403, "break_glass_not_allowed", "break-glass on an agreement without it")
        check("person" not in (r.json or {}), "no data")
        one_record(srv, before, "not allowed", outcome="refused:break_glass_not_allowed",
                   status=403, subjects="", flags="", convenzione_id=conv["id"])
        check(not alerts(srv, rule="break_glass"), "no break_glass alert for a refused request")
        expect(env.op.get(f"/api/v1/persons/{cf}?purpose={pid}"), 200, what="a normal request")


# ---------------------------------------------------------------- alert rules

def test_alert_sequential_cf():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        regs = registered(env.pop)
        base = regs[0]["cf"]
        places = ["A944", "B819", "F257", "H501", "L219", "G393", "C573", "D548", "E512", "M102"]
        seq = [cf_with_check(base[:11] + pl) for pl in places if base[:11] + pl != base[:15]]
        check(all(len(c) == 16 and c[:11] == base[:11] for c in seq), "crafted codici fiscali")
        acc = env.op.account["id"]
        fresh_window(srv, 3600, env.op)

        def look(i, cf):   # searches and consultations both count
            path = (f"/api/v1/persons?purpose={pid}&cf={cf}" if i % 2 else
                    f"/api/v1/persons/{cf}?purpose={pid}")
            r = env.op.get(path)
            check(r.status in (200, 404), f"look-up {cf}: {r}")

        others = [p["cf"] for p in regs if p["cf"][:11] != base[:11]]
        for i in range(4):
            look(i, seq[i])
            look(i + 1, others[i])   # interleaved: an enumeration with look-ups in between
        check(not alerts(srv, rule="sequential_cf", account_id=acc),
              "no alert after 4 look-ups of one prefix among unrelated ones")
        for i in range(3):
            look(i, others[4 + i])
        check(not alerts(srv, rule="sequential_cf", account_id=acc),
              "no alert for unrelated look-ups")
        look(1, seq[4])
        al = alerts(srv, rule="sequential_cf", account_id=acc)
        eq(len(al), 1, "a sequential_cf alert at the 5th look-up of one prefix, unrelated "
                       "look-ups interleaved")
        check(base[:11] in al[0]["detail"], f"the shared prefix in the detail: {al[0]['detail']!r}")
        eq(al[0]["ente_id"], env.ente["id"], "the alert's body")
        # another account, each step separated by two unrelated look-ups
        op2 = env.operator()
        acc2 = op2.account["id"]
        for i in range(5):
            expect(op2.get(f"/api/v1/persons/{others[10 + 2 * i]}?purpose={pid}"), 200,
                   what="unrelated")
            expect(op2.get(f"/api/v1/persons/{others[11 + 2 * i]}?purpose={pid}"), 200,
                   what="unrelated")
            r = op2.get(f"/api/v1/persons?purpose={pid}&cf={seq[i]}")
            check(r.status in (200, 404), f"look-up {seq[i]}: {r}")
        eq(len(alerts(srv, rule="sequential_cf", account_id=acc2)), 1,
           "a sequential_cf alert with two unrelated look-ups between the steps")


def test_sequential_rule_ignores_one_person_looked_up_again():
    """Reopening the same record (one codice fiscale, with a case reference)
    is not an enumeration of consecutive codici fiscali."""
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        p = registered(env.pop)[3]
        fresh_window(srv, 3600, env.op)
        for i in range(6):
            expect(env.op.get(f"/api/v1/persons/{p['cf']}?purpose={pid}&case_ref=PR-{i}"), 200,
                   what=f"consult {i + 1}")
        eq([(a["rule"], a["detail"]) for a in alerts(srv, rule="sequential_cf")], [],
           "sequential_cf alerts for one person consulted 6 times")


def test_alert_no_results():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        acc = env.op.account["id"]
        op2 = env.operator()
        fresh_window(srv, 3600, env.op, op2)
        for i in range(19):
            r = env.op.get("/api/v1/persons?" + q(purpose=pid, surname=f"QXZWK{chr(65 + i)}JV",
                                                  name="BLORFT", birth_year=1970))
            expect(r, 404, "not_found", f"search {i + 1} finds nobody")
        check(not alerts(srv, rule="no_results", account_id=acc), "no alert after 19 empty searches")
        r = env.op.get("/api/v1/persons?" + q(purpose=pid, surname="QXZWKZZJV", name="BLORFT",
                                              birth_year=1971))
        expect(r, 404, "not_found", "search 20")
        al = alerts(srv, rule="no_results", account_id=acc)
        eq(len(al), 1, "a no_results alert after 20 empty searches")
        # an operator whose searches find people raises nothing
        regs = registered(env.pop)
        for p in regs[:20]:
            expect(op2.get("/api/v1/persons?" + q(purpose=pid, surname=p["surname"], name=p["name"],
                                                  birth_date=p["birth_date"])), 200,
                   what="a search that finds the person")
        check(not alerts(srv, rule="no_results", account_id=op2.account["id"]),
              "no alert for searches that find people")


def absent_cfs(n):
    """n well-formed codici fiscali of nobody, no two sharing a prefix."""
    return [cf_with_check(f"QXZWKJ{10 + i:02d}A01F205") for i in range(n)]


def test_no_results_counts_lookups_by_cf():
    """Not-found look-ups by codice fiscale (consultation, household,
    history, search by cf) count in the no-result rule like searches."""
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        acc = env.op.account["id"]
        fresh_window(srv, 3600, env.op)
        cfs = absent_cfs(20)
        kinds = ["", "/household", "/history"]
        for i, cf in enumerate(cfs[:19]):
            expect(env.op.get(f"/api/v1/persons/{cf}{kinds[i % 3]}?purpose={pid}"), 404,
                   "not_found", f"look-up {i + 1} of nobody")
        check(not alerts(srv, rule="no_results", account_id=acc),
              "no alert after 19 look-ups of nobody")
        expect(env.op.get(f"/api/v1/persons?purpose={pid}&cf={cfs[19]}"), 404, "not_found",
               "look-up 20")
        al = alerts(srv, rule="no_results", account_id=acc)
        eq(len(al), 1, "a no_results alert after 20 look-ups by codice fiscale finding nobody")


def before_boundary(srv, period, seconds):
    """Moves the test clock to `seconds` before the next multiple of period."""
    left = period - srv.now() % period
    srv.advance(left - seconds if left > seconds + 5 else left + period - seconds)


def test_windows_slide_across_the_clock_hour():
    """A burst split across the hour (or midnight) is counted whole: the
    hard threshold suspends at 20 distinct persons within an hour even when
    19 of them came just before the hour; refusals and repeated look-ups
    without a case likewise."""
    with Server(population=POP, alert_persons_hour=10, alert_persons_hard=20) as srv:
        env = Env(srv, lead=False)
        # a profile that shows no one but the person asked for: one person
        # per consultation (parentage would add the parents)
        pid = env.purpose(["identity", "residence"])
        narrow = env.purpose(["identity"])
        op, acc = env.op, env.op.account["id"]
        regs = registered(env.pop)
        before_boundary(srv, 3600, 20)
        relogin(op)
        conn = Conn(srv, op)
        try:
            for i, p in enumerate(regs[:19]):
                expect(conn.get(f"/api/v1/persons/{p['cf']}?purpose={pid}&case_ref=W"), 200,
                       what=f"distinct person {i + 1} before the hour")
            for i in range(3):
                expect(conn.get(f"/api/v1/persons/{regs[0]['cf']}/household?purpose={narrow}"),
                       403, "category_not_permitted", f"refusal {i + 1} before the hour")
        finally:
            conn.close()
        check(not alerts(srv, rule="refused", account_id=acc), "no refused alert yet")
        check(not [a for a in alerts(srv, rule="persons_hour", account_id=acc)
                   if a["severity"] == "critical"], "no suspension at 19 persons")
        srv.advance(40)   # past the hour
        relogin(op)
        for i in range(2):
            expect(op.get(f"/api/v1/persons/{regs[0]['cf']}/household?purpose={narrow}"), 403,
                   "category_not_permitted", f"refusal {i + 4} after the hour")
        eq(len(alerts(srv, rule="refused", account_id=acc)), 1,
           "a refused alert for 3 + 2 refusals across the hour")
        r = op.get(f"/api/v1/persons/{regs[19]['cf']}?purpose={pid}&case_ref=W")
        expect(r, 403, "account_suspended", "the 20th distinct person within the hour, across "
                                            "the clock hour")
        check(regs[19]["surname"].encode() not in r.body, "no data in the refusal")
        crit = [a for a in alerts(srv, rule="persons_hour", account_id=acc)
                if a["severity"] == "critical"]
        eq(len(crit), 1, "one critical persons_hour alert")
        # the same person without a case, 3 times before midnight and twice after
        op2 = env.operator()
        acc2 = op2.account["id"]
        before_boundary(srv, DAY, 30)
        relogin(op2)
        p = regs[40]
        for i in range(3):
            expect(op2.get(f"/api/v1/persons/{p['cf']}?purpose={pid}"), 200,
                   what=f"consultation {i + 1} before midnight")
        srv.advance(60)
        relogin(op2)
        for i in range(2):
            expect(op2.get(f"/api/v1/persons/{p['cf']}?purpose={pid}"), 200,
                   what=f"consultation {i + 4} after midnight")
        eq(len(alerts(srv, rule="repeat_no_case", account_id=acc2)), 1,
           "a repeat_no_case alert for 3 + 2 consultations across midnight")


def test_alert_counters_belong_to_one_account():
    """Two accounts whose ids differ by 4096 keep their own counters: one
    cannot reset the other's by making a request."""
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        acc = env.op.account["id"]
        # the next account gets the id acc + 4096
        cols = [c for c, _ in harness.db_columns(srv.db, "account") if c not in ("id", "username")]
        db_exec(srv.db, (f"INSERT INTO account (id, username, {', '.join(cols)}) "
                         f"SELECT ?, 'placeholder.4096', {', '.join(cols)} FROM account WHERE id = ?",
                         (acc + 4095, acc)))
        if srv.db.startswith("postgres:"):
            db_exec(srv.db, ("SELECT setval(pg_get_serial_sequence('account', 'id'), ?)",
                             (acc + 4095,)))
        op2 = env.operator()
        eq(op2.account["id"], acc + 4096, "the second operator's id")
        regs = registered(env.pop)
        base = regs[0]["cf"]
        places = ["A944", "B819", "F257", "H501", "L219", "G393", "C573"]
        seq = [cf_with_check(base[:11] + pl) for pl in places if base[:11] + pl != base[:15]]
        fresh_window(srv, 3600, env.op, op2)
        for i in range(4):
            r = env.op.get(f"/api/v1/persons/{seq[i]}?purpose={pid}")
            check(r.status in (200, 404), f"look-up {seq[i]}: {r}")
            expect(op2.get(f"/api/v1/persons/{regs[5 + i]['cf']}?purpose={pid}&case_ref=X"), 200,
                   what="the other account's request")
        r = env.op.get(f"/api/v1/persons/{seq[4]}?purpose={pid}")
        check(r.status in (200, 404), f"look-up {seq[4]}: {r}")
        eq(len(alerts(srv, rule="sequential_cf", account_id=acc)), 1,
           "a sequential_cf alert for the first account despite the other's requests")
        check(not alerts(srv, rule="sequential_cf", account_id=acc + 4096),
              "none for the other")


def test_alert_same_person_without_case():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        acc = env.op.account["id"]
        p = registered(env.pop)[3]
        op2 = env.operator()
        fresh_window(srv, DAY, env.op, op2)
        for i in range(4):
            expect(env.op.get(f"/api/v1/persons/{p['cf']}?purpose={pid}"), 200,
                   what=f"consult {i + 1} without a case")
        for i in range(3):
            expect(env.op.get(f"/api/v1/persons/{p['cf']}?purpose={pid}&case_ref=PR-{i}"), 200,
                   what=f"consult with case {i}")
        check(not alerts(srv, rule="repeat_no_case", account_id=acc),
              "no alert after 4 consultations without a case (and 3 with one)")
        expect(env.op.get(f"/api/v1/persons/{p['cf']}?purpose={pid}"), 200, what="consult 5")
        al = alerts(srv, rule="repeat_no_case", account_id=acc)
        eq(len(al), 1, "a repeat_no_case alert after the 5th consultation without a case")
        # with a case reference each time: no alert
        for i in range(6):
            expect(op2.get(f"/api/v1/persons/{p['cf']}?purpose={pid}&case_ref=C-{i}"), 200,
                   what="with case")
        check(not alerts(srv, rule="repeat_no_case", account_id=op2.account["id"]),
              "no alert when every consultation has a case reference")


def test_alert_refused_attempts():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        narrow = env.purpose(["identity"])
        acc = env.op.account["id"]
        cf = registered(env.pop)[0]["cf"]
        fresh_window(srv, 3600, env.op)
        for i in range(4):
            expect(env.op.get(f"/api/v1/persons/{cf}/household?purpose={narrow}"), 403,
                   "category_not_permitted", f"refused {i + 1}")
        check(not alerts(srv, rule="refused", account_id=acc), "no alert after 4 refusals")
        r = expect(env.op.get(f"/api/v1/persons/{cf}/history?purpose={narrow}"), 403,
                   "category_not_permitted", "refused 5")
        al = alerts(srv, rule="refused", account_id=acc)
        eq(len(al), 1, "a refused alert after 5 refused attempts")
        # Italian, as the operator read the last refusal; never its code
        eq(al[0]["detail"], "5 tentativi respinti nell'ultima ora (l'ultimo: "
                            f"{r['error']['message']})", "the alert's detail")
        check("_" not in al[0]["detail"], f"no code in {al[0]['detail']!r}")


def test_alert_many_addresses():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        acc = env.op.account["id"]
        cfs = [p["cf"] for p in registered(env.pop)[:10]]
        op2 = env.operator()
        fresh_window(srv, 3600, env.op, op2)
        # X-Forwarded-For is not trusted: three "addresses" there are one
        for i, xff in enumerate(("198.51.100.1", "198.51.100.2", "198.51.100.3")):
            expect(env.op.get(f"/api/v1/persons/{cfs[i]}?purpose={pid}&case_ref=A",
                              headers={"X-Forwarded-For": xff}), 200, what=f"XFF {xff}")
            eq(srv.access_log_tail(1)[0]["ip"], "127.0.0.1", "the record's address ignores XFF")
        check(not alerts(srv, rule="many_addresses", account_id=acc),
              "no alert for X-Forwarded-For values")
        expect(from_address(srv, env.op, "127.0.0.2", "GET",
                            f"/api/v1/persons/{cfs[3]}?purpose={pid}&case_ref=A"), 200, what="from .2")
        eq(srv.access_log_tail(1)[0]["ip"], "127.0.0.2", "the record's address")
        check(not alerts(srv, rule="many_addresses", account_id=acc), "no alert with two addresses")
        expect(from_address(srv, env.op, "127.0.0.3", "GET",
                            f"/api/v1/persons/{cfs[4]}?purpose={pid}&case_ref=A"), 200, what="from .3")
        eq(srv.access_log_tail(1)[0]["ip"], "127.0.0.3", "the record's address")
        al = alerts(srv, rule="many_addresses", account_id=acc)
        eq(len(al), 1, "a many_addresses alert with three addresses within 10 minutes")
        # another operator using three addresses over more than 10 minutes is fine
        expect(op2.get(f"/api/v1/persons/{cfs[5]}?purpose={pid}&case_ref=B"), 200, what="op2 .1")
        expect(from_address(srv, op2, "127.0.0.2", "GET",
                            f"/api/v1/persons/{cfs[6]}?purpose={pid}&case_ref=B"), 200, what="op2 .2")
        srv.advance(11 * 60)
        relogin(op2)
        expect(from_address(srv, op2, "127.0.0.3", "GET",
                            f"/api/v1/persons/{cfs[7]}?purpose={pid}&case_ref=B"), 200, what="op2 .3")
        check(not alerts(srv, rule="many_addresses", account_id=op2.account["id"]),
              "no alert for three addresses over more than 10 minutes")


def test_hard_threshold_suspends_account():
    with Server(population=POP) as srv:
        env = Env(srv)
        # Without parentage: each answer names one person (parents shown
        # are persons too, and would count).
        pid = env.purpose([c for c in ALL if c != "parentage"])
        op = env.op
        acc = op.account["id"]
        regs = registered(env.pop)
        check(len(regs) >= 320, f"population too small: {len(regs)}")
        fresh_window(srv, 3600, op, env.lead)
        conn = Conn(srv, op)
        try:
            for i, p in enumerate(regs[:299]):
                r = conn.get(f"/api/v1/persons/{p['cf']}?purpose={pid}&case_ref=BULK")
                expect(r, 200, what=f"distinct person {i + 1}")
                if i == 99:
                    check(alerts(srv, rule="persons_hour", account_id=acc),
                          "a persons_hour alert at 100 distinct persons")
            check(not [a for a in alerts(srv, rule="persons_hour", account_id=acc)
                       if a["severity"] == "critical"], "no critical alert before 300")
            before = srv.access_last_id()
            r = conn.get(f"/api/v1/persons/{regs[299]['cf']}?purpose={pid}&case_ref=BULK")
        finally:
            conn.close()
        # Problems of the crossing request are collected, so that the rest
        # (login refused, alerts, review, reactivation) is still checked.
        problems = []
        rows = srv.access_log(before)
        check(len(rows) == 1, f"one record for the crossing request, got {len(rows)}")
        body_has_data = isinstance(r.json, dict) and "person" in r.json
        check(not body_has_data and regs[299]["surname"].encode() not in r.body,
              f"the crossing request returns no data: {r}")
        check(r.header("X-Visura-Receipt") is None, "no receipt without data")
        if (r.status, r.code) != (403, "account_suspended"):
            problems.append(f"the request that crosses 300 distinct persons: expected 403 "
                            f"account_suspended, got {r.status} {r.body[:200]!r}")
        got = (rows[0]["outcome"], rows[0]["status"], rows[0]["subjects"])
        if got != ("refused:account_suspended", 403, ""):
            problems.append(f"the crossing request's record (outcome, status, subjects): expected "
                            f"('refused:account_suspended', 403, ''), got {got}")
        r = op.get(f"/api/v1/persons/{regs[300]['cf']}?purpose={pid}")
        check(r.status in (401, 403) and "person" not in (r.json or {}),
              f"the session ends with the suspension: {r}")
        r = srv.client().login(op.username, op.password)
        expect(r, 403, "account_disabled", "login of the suspended account")
        crit = [a for a in alerts(srv, rule="persons_hour", account_id=acc) if a["severity"] == "critical"]
        eq(len(crit), 1, "one critical persons_hour alert")
        check(any(a["id"] == crit[0]["id"] for a in alerts(srv, env.lead)), "the lead sees it")
        check(alert_mails(srv, env.lead.account["email"], op.username), "mail to the lead")
        check(alert_mails(srv, harness.ADMIN_EMAIL, op.username), "mail to the registry office")
        # only the registry office reviews
        expect(env.lead.post(f"/api/v1/alerts/{crit[0]['id']}/review",
                             {"note": "ok", "reactivate": True}), 403, "forbidden", "lead review")
        r = expect(srv.admin().post(f"/api/v1/alerts/{crit[0]['id']}/review",
                                  {"note": "bulk check of a legitimate list, verified by phone",
                                   "reactivate": True}), 200, what="admin review")
        eq(r["state"], "reviewed", "the alert's state")
        al = [a for a in alerts(srv) if a["id"] == crit[0]["id"]][0]
        eq((al["state"], al["note"]), ("reviewed", "bulk check of a legitimate list, verified by phone"),
           "the reviewed alert")
        check(al["reviewed_at"] is not None, "reviewed_at")
        relogin(op)
        r = op.get(f"/api/v1/persons/{regs[301]['cf']}?purpose={pid}&case_ref=AFTER")
        if r.status != 200 or "person" not in (r.json or {}):
            problems.append(f"a consultation right after the reactivation (same hour): expected "
                            f"200 with the person, got {r.status} {r.body[:200]!r}")
        elif srv.client().login(op.username, op.password).status != 200:
            problems.append("the account is suspended again by its first request after the "
                            "reactivation")
        check(not problems, "; ".join(problems))


def test_alerts_visibility_and_mail():
    with Server(population=POP) as srv:
        a, b = Env(srv), Env(srv)
        na, nb = a.purpose(["identity"]), b.purpose(["identity"])
        cf = registered(a.pop)[0]["cf"]
        fresh_window(srv, 3600, a.op, b.op, a.lead, b.lead)
        for env, pid in ((a, na), (b, nb)):
            for i in range(5):
                expect(env.op.get(f"/api/v1/persons/{cf}/household?purpose={pid}"), 403,
                       "category_not_permitted", "refused")
        all_alerts = alerts(srv)
        ids_a = {x["id"] for x in all_alerts if x["ente_id"] == a.ente["id"]}
        ids_b = {x["id"] for x in all_alerts if x["ente_id"] == b.ente["id"]}
        check(ids_a and ids_b, f"the admin sees both bodies' alerts: {all_alerts}")
        eq({x["id"] for x in alerts(srv, a.lead)}, ids_a, "lead A sees exactly body A's alerts")
        eq({x["id"] for x in alerts(srv, b.lead)}, ids_b, "lead B sees exactly body B's alerts")
        expect(a.op.get("/api/v1/alerts"), 403, "forbidden", "an operator lists alerts")
        auditor = srv.user("auditor")
        r = auditor.get("/api/v1/alerts")
        check(r.status in (200, 403), f"auditor: {r}")
        ua, ub = a.op.account["username"], b.op.account["username"]
        check(alert_mails(srv, a.lead.account["email"], ua), "lead A got mail about operator A")
        check(not alert_mails(srv, a.lead.account["email"], ub), "lead A got no mail about operator B")
        check(not alert_mails(srv, b.lead.account["email"], ua), "lead B got no mail about operator A")
        check(alert_mails(srv, harness.ADMIN_EMAIL, ua) and alert_mails(srv, harness.ADMIN_EMAIL, ub),
              "the registry office got both")
        # review without reactivation; state filters
        one = sorted(ids_a)[0]
        expect(srv.admin().post(f"/api/v1/alerts/{one}/review", {"note": "seen"}), 200, what="review")
        check(one not in {x["id"] for x in alerts(srv, state="open")}, "no longer open")
        check(one in {x["id"] for x in alerts(srv, state="reviewed")}, "reviewed")
        check(one in {x["id"] for x in alerts(srv, a.lead, state="reviewed")}, "the lead sees it reviewed")
        expect(srv.admin().post("/api/v1/alerts/999999/review", {"note": "x"}), 404, what="unknown alert")


# ---------------------------------------------------------------- reports

class Trail:
    """Two bodies, three operators, three purposes, a few consultations."""

    def __init__(self, srv):
        self.srv = srv
        pop = srv.population
        self.a, self.b = Env(srv), Env(srv, kind="health")
        self.op2 = self.a.operator()
        self.pa1, self.pa2 = self.a.purpose(ALL), self.a.purpose(ALL)
        self.pb = self.b.purpose(ALL)
        regs = registered(pop)
        self.x, self.y, self.z = regs[0], regs[1], regs[2]
        A, B = self.a, self.b
        expect(A.op.get(f"/api/v1/persons/{self.x['cf']}?purpose={self.pa1}&case_ref=A-1"), 200, what="a1")
        expect(A.op.get(f"/api/v1/persons/{self.y['cf']}?purpose={self.pa1}"), 200, what="a2")
        expect(self.op2.get(f"/api/v1/persons/{self.x['cf']}?purpose={self.pa2}"), 200, what="a3")
        expect(B.op.get(f"/api/v1/persons/{self.x['cf']}?purpose={self.pb}&case_ref=B-1"), 200,
               what="b1")
        expect(B.op.post("/api/v1/verify", {"purpose": self.pb, "codice_fiscale": self.z["cf"],
                                           "declared": {"alive": True}}), 200, what="b2")
        expect(A.op.get(f"/api/v1/persons/{self.x['cf']}?purpose=424242"), 403,
               "purpose_not_allowed", "a refused")


def test_audit_access_report():
    with Server(population=POP) as srv:
        t = Trail(srv)
        auditor = srv.user("auditor")
        pk = public_key(srv.db)
        log = srv.access_log()
        day = today_utc(srv)
        d = lambda n: (day + datetime.timedelta(days=n)).isoformat()

        def has(rec, cf):
            return cf in rec["subjects"].split(",")

        cases = [
            ("everything", {}, lambda r: True),
            ("cf", {"cf": t.x["cf"]}, lambda r: has(r, t.x["cf"])),
            ("account", {"account_id": t.op2.account["id"]},
             lambda r: r["account_id"] == t.op2.account["id"]),
            ("body", {"ente_id": t.b.ente["id"]}, lambda r: r["ente_id"] == t.b.ente["id"]),
            ("purpose", {"purpose_id": t.pa1}, lambda r: r["purpose_id"] == t.pa1),
            ("cf and body", {"cf": t.x["cf"], "ente_id": t.a.ente["id"]},
             lambda r: has(r, t.x["cf"]) and r["ente_id"] == t.a.ente["id"]),
            ("from tomorrow", {"from": d(1)}, lambda r: False),
            ("from yesterday to tomorrow", {"from": d(-1), "to": d(1)}, lambda r: True),
            ("until yesterday", {"to": d(-1)}, lambda r: False),
        ]
        for what, params, pred in cases:
            want = [r["id"] for r in log if pred(r)]
            r = expect(auditor.get("/api/v1/audit/access?" + q(**params)), 200, what=what)
            sig = r.header("X-Visura-Signature")
            check(sig and ed25519_verify(pk, r.body, b64url(sig)),
                  f"{what}: X-Visura-Signature verifies over the JSON body")
            eq([x["id"] for x in r["records"]], want, f"{what}: record ids")
            eq(r["count"], len(want), f"{what}: count")
            if what == "everything":
                for got, row in zip(r["records"], log):
                    for k in ("account_id", "username", "ente_id", "convenzione_id", "purpose_id",
                              "case_ref", "on_behalf_of", "ip", "operation", "query", "categories",
                              "outcome", "status", "flags", "hash"):
                        eq(got[k], row[k], f"record {row['id']}: {k}")
                    eq(got["subjects"], [s for s in row["subjects"].split(",") if s],
                       f"record {row['id']}: subjects")
                    eq(harness.parse_time(got["at"]), row["at"] // 1000, f"record {row['id']}: at")
            # the same as CSV
            r = expect(auditor.get("/api/v1/audit/access?" + q(format="csv", **params)), 200,
                       what=f"{what} (CSV)")
            check((r.header("Content-Type") or "").startswith("text/csv"), "CSV content type")
            sig = r.header("X-Visura-Signature")
            check(sig and ed25519_verify(pk, r.body, b64url(sig)),
                  f"{what}: X-Visura-Signature verifies over the CSV body")
            check(not ed25519_verify(pk, r.body + b" ", b64url(sig)),
                  "the signature does not verify an altered body")
            rows = list(csv.DictReader(io.StringIO(r.body.decode())))
            eq([int(x["id"]) for x in rows], want, f"{what} (CSV): ids")
            for x in rows:
                row = next(y for y in log if y["id"] == int(x["id"]))
                for k in ("username", "case_ref", "operation", "subjects", "outcome", "hash"):
                    eq(x[k], str(row[k]), f"CSV record {row['id']}: {k}")
        # roles
        expect(srv.admin().get("/api/v1/audit/access"), 200, what="admin")
        expect(t.a.op.get("/api/v1/audit/access"), 403, "forbidden", "operator")
        expect(t.a.lead.get("/api/v1/audit/access"), 403, "forbidden", "lead")
        # malformed filters
        for bad in ("cf=ABC", "account_id=x", "ente_id=-1", "from=2026-13-01", "to=yesterday"):
            expect(auditor.get("/api/v1/audit/access?" + bad), 400, "invalid_request", bad)


def test_audit_access_report_to_date_is_inclusive():
    """`to=D` covers the day D (the report of "from D to D" is not empty when
    there were requests on D)."""
    with Server(population=POP) as srv:
        t = Trail(srv)
        day = today_utc(srv).isoformat()
        n = len(srv.access_log())
        r = expect(srv.admin().get(f"/api/v1/audit/access?from={day}&to={day}"), 200, what="today")
        eq(r["count"], n, f"records of from={day}&to={day}")


def test_subject_report():
    with Server(population=POP) as srv:
        t = Trail(srv)
        auditor = srv.user("auditor")
        r = expect(auditor.get(f"/api/v1/audit/subject/{t.x['cf']}"), 200, what="subject report").json
        eq(r["codice_fiscale"], t.x["cf"], "the person")
        want = [x for x in srv.access_log() if t.x["cf"] in x["subjects"].split(",")
                and x["outcome"] == "ok"]
        eq([e["access_id"] for e in r["accesses"]], [x["id"] for x in want], "the consultations")
        eq({e["ente"] for e in r["accesses"]}, {t.a.ente["name"], t.b.ente["name"]},
           "the bodies that consulted the person")
        for e, row in zip(r["accesses"], want):
            eq(e["username"], row["username"], "username")
            eq(e["case_ref"], row["case_ref"], "case_ref")
            eq(e["operation"], row["operation"], "operation")
            eq(e["embargoed_for_citizen"], False, "no embargo for these bodies")
            check(e["purpose"] == "test purpose", f"purpose description {e['purpose']!r}")
        kinds = {e["ente"]: e["ente_kind"] for e in r["accesses"]}
        eq(kinds[t.b.ente["name"]], "health", "ente_kind")
        r = expect(auditor.get(f"/api/v1/audit/subject/{t.z['cf']}"), 200, what="z").json
        eq([(e["ente"], e["operation"]) for e in r["accesses"]], [(t.b.ente["name"], "verify")],
           "a verification is a consultation too")
        nobody = registered(srv.population)[50]["cf"]
        eq(expect(auditor.get(f"/api/v1/audit/subject/{nobody}"), 200, what="nobody")["accesses"],
           [], "a person nobody consulted")
        expect(srv.admin().get(f"/api/v1/audit/subject/{t.x['cf']}"), 200, what="admin")
        expect(t.a.op.get(f"/api/v1/audit/subject/{t.x['cf']}"), 403, "forbidden", "operator")
        expect(t.a.lead.get(f"/api/v1/audit/subject/{t.x['cf']}"), 403, "forbidden", "lead")
        expect(auditor.get("/api/v1/audit/subject/SHORT"), 400, "invalid_request", "bad cf")


def _code(srv, cf):
    r = expect(srv.admin().post("/api/v1/audit/subject-codes", {"codice_fiscale": cf}), 201,
               what="subject code")
    check(re.fullmatch(r"[A-Z0-9]{12}", r["code"]) is not None, f"code {r['code']!r}")
    check(r["page"].endswith("/citizen/access-report?code=" + r["code"]),
          f"the address for the citizen: {r['page']!r}")
    return r["code"]


def _citizen(srv, code, source=None):
    path = "/citizen/access-report?" + q(code=code)
    if source:
        return from_address(srv, None, source, "GET", path)
    return srv.request("GET", path)


def _random_code():
    return "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(12))


def _guess_until_locked(srv, source=None, wrong=6):
    """Wrong codes from `source` until `wrong` of them were judged (404),
    letting the short delays pass on the test clock: a lockout follows."""
    seen = 0
    for i in range(60):
        r = _citizen(srv, _random_code(), source)
        if r.status == 404:
            seen += 1
            if seen >= wrong:
                break
        elif r.status == 429:
            srv.advance(int(r.header("Retry-After") or 0) or 31)
        else:
            raise harness.TestFailure(f"a wrong code: {r}")
    eq(seen, wrong, "wrong codes judged")
    expect(_citizen(srv, _random_code(), source), 429, "too_many_attempts", "locked out")


def test_citizen_code_once_and_throttled():
    with Server(population=POP) as srv:
        t = Trail(srv)
        code = _code(srv, t.x["cf"])
        r = expect(_citizen(srv, code), 200, what="the citizen's report")
        eq(r["codice_fiscale"], t.x["cf"], "the person")
        eq(sorted(e["ente"] for e in r["accesses"]),
           sorted([t.a.ente["name"], t.a.ente["name"], t.b.ente["name"]]), "the bodies")
        for e in r["accesses"]:
            check({"at", "ente", "purpose", "operation"} <= set(e), f"entry {e}")
            check(not {"username", "access_id", "case_ref"} & set(e),
                  f"no operator names or case references for the citizen: {e}")
        expect(_citizen(srv, code), 404, what="the same code a second time")
        # other roles may not issue codes
        for who, c in (("operator", t.a.op), ("lead", t.a.lead), ("auditor", srv.user("auditor"))):
            expect(c.post("/api/v1/audit/subject-codes", {"codice_fiscale": t.x["cf"]}), 403,
                   "forbidden", who)
        expect(srv.admin().post("/api/v1/audit/subject-codes", {"codice_fiscale": "ABC"}), 400,
               what="bad cf")
        # guessing: 404, then throttled
        srv.advance(DAY + 60)
        statuses = []
        for i in range(6):
            statuses.append(_citizen(srv, _random_code()).status)
        eq(statuses[0], 404, "a wrong code")
        check(set(statuses) <= {404, 429} and 429 in statuses,
              f"wrong codes are throttled (429 after a few): {statuses}")
        # up to the lockout: throttled even with a right code
        code2 = _code(srv, t.y["cf"])
        _guess_until_locked(srv)
        expect(_citizen(srv, code2), 429, what="a right code during the lockout")
        srv.advance(DAY + 60)
        r = expect(_citizen(srv, code2), 200, what="the right code after the lockout")
        eq(r["codice_fiscale"], t.y["cf"], "the person")
        expect(_citizen(srv, code2), 404, what="and only once")
        # codes expire after 30 days
        code3 = _code(srv, t.y["cf"])
        srv.advance(31 * DAY)
        expect(_citizen(srv, code3), 404, what="an expired code")


def test_citizen_throttle_retry_after():
    with Server() as srv:
        for i in range(10):
            r = _citizen(srv, "WRONGCODE" + str(100 + i))
            if r.status == 429:
                break
        expect(r, 429, "too_many_attempts", "throttled guessing")
        ra = r.header("Retry-After")
        check(ra is not None and ra.isdigit() and int(ra) >= 1,
              f"429 too_many_attempts carries Retry-After (docs/api.md): headers {r.headers}")


def test_citizen_throttle_is_per_address():
    """A guesser at one address must not lock every citizen out."""
    with Server(population=POP) as srv:
        t = Trail(srv)
        code = _code(srv, t.x["cf"])
        _guess_until_locked(srv, "127.0.0.2")
        r = _citizen(srv, code, source="127.0.0.3")
        expect(r, 200, what="a citizen at another address with a right code")


def _police_setup(srv):
    pol, oth = Env(srv, kind="police", lead=False), Env(srv, lead=False)
    p = registered(srv.population)[7]
    expect(pol.op.get(f"/api/v1/persons/{p['cf']}?purpose={pol.purpose(ALL)}&case_ref=INDAGINE-1"),
           200, what="police consult")
    expect(oth.op.get(f"/api/v1/persons/{p['cf']}?purpose={oth.purpose(ALL)}"), 200,
           what="other consult")
    return pol, oth, p


def test_police_embargo_default():
    with Server(population=POP) as srv:
        pol, oth, p = _police_setup(srv)
        office = expect(srv.admin().get(f"/api/v1/audit/subject/{p['cf']}"), 200, what="office").json
        emb = {e["ente"]: e["embargoed_for_citizen"] for e in office["accesses"]}
        eq(emb, {pol.ente["name"]: True, oth.ente["name"]: False},
           "the office sees both, the police one marked embargoed_for_citizen")
        r = expect(_citizen(srv, _code(srv, p["cf"])), 200, what="citizen now")
        eq([e["ente"] for e in r["accesses"]], [oth.ente["name"]], "the police consultation is hidden")
        e = r["accesses"][0]
        check(re.fullmatch(r"\d{1,2} [a-z]+ \d{4}, ore \d\d:\d\d:\d\d", e["data_ora"]),
              f"the time in Italian: {e['data_ora']!r}")
        eq((e["tipo_ente"], e["operazione"]), ("altro", "consultazione della scheda anagrafica"),
           "the body's kind and the operation in Italian")
        check("polizia" in r["note"] and "365 giorni" in r["note"], f"the note in Italian: {r['note']}")
        _citizen_page(srv, p, oth, pol)
        # 364 days later: still hidden (the admin renews itself on the way)
        srv.advance(300 * DAY)
        srv.admin()
        srv.advance(64 * DAY)
        r = expect(_citizen(srv, _code(srv, p["cf"])), 200, what="citizen after 364 days")
        eq([e["ente"] for e in r["accesses"]], [oth.ente["name"]], "still hidden after 364 days")
        srv.advance(2 * DAY)
        r = expect(_citizen(srv, _code(srv, p["cf"])), 200, what="citizen after 366 days")
        eq(sorted(e["ente"] for e in r["accesses"]), sorted([pol.ente["name"], oth.ente["name"]]),
           "the police consultation appears after the embargo")
        office = expect(srv.admin().get(f"/api/v1/audit/subject/{p['cf']}"), 200, what="office").json
        eq({e["embargoed_for_citizen"] for e in office["accesses"]}, {False}, "embargo over")


def _citizen_page(srv, p, shown, hidden):
    """The same report as a page, for a person in a browser: Italian,
    printable, the embargoed consultation neither listed nor counted, no
    operator; a form without a code, a page for a used code."""
    html = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    code = _code(srv, p["cf"])
    path = "/citizen/access-report?" + q(code=code)
    r = expect(srv.request("GET", path, headers=html), 200, what="the citizen's page")
    check((r.header("Content-Type") or "").startswith("text/html"), "an HTML page")
    page = r.body.decode()
    for want in ("<html lang=\"it\">", "Servizio anagrafico", "Chi ha consultato i miei dati",
                 p["cf"], shown.ente["name"], "test purpose", "Data e ora", "Consultazioni (1)",
                 "/static/print.css", "365 giorni", "polizia"):
        check(want in page, f"the page shows {want!r}")
    check(re.search(r"\d{1,2} (gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|"
                    r"settembre|ottobre|novembre|dicembre) \d{4}, ore \d\d:\d\d", page),
          "dates and times in Italian")
    for never in (hidden.ente["name"], "INDAGINE-1", shown.op.account["username"],
                  hidden.op.account["full_name"], shown.op.account["full_name"],
                  "<script", "null", "undefined"):
        check(never not in page, f"the page does not show {never!r}")
    r = expect(srv.request("GET", path, headers=html), 404, what="the used code, as a page")
    check("già stato usato" in r.body.decode() and "<form" in r.body.decode(), "a page and a form")
    r = expect(srv.request("GET", "/citizen/access-report", headers=html), 200, what="the form")
    check("name=\"code\"" in r.body.decode(), "the form asks for the code")
    expect(srv.request("GET", "/citizen/access-report"), 404, "invalid_code", "JSON without a code")


def test_police_embargo_zero_days():
    with Server(population=POP, embargo_days=0) as srv:
        pol, oth, p = _police_setup(srv)
        r = expect(_citizen(srv, _code(srv, p["cf"])), 200, what="citizen")
        eq(sorted(e["ente"] for e in r["accesses"]), sorted([pol.ente["name"], oth.ente["name"]]),
           "with --embargo-days 0 nothing is hidden")
        office = expect(srv.admin().get(f"/api/v1/audit/subject/{p['cf']}"), 200, what="office").json
        eq({e["embargoed_for_citizen"] for e in office["accesses"]}, {False}, "no embargo")
        # a court is embargoed like the police (default server)
    with Server(population=POP) as srv:
        court, _oth = Env(srv, kind="court", lead=False), None
        p = registered(srv.population)[8]
        expect(court.op.get(f"/api/v1/persons/{p['cf']}?purpose={court.purpose(ALL)}"), 200,
               what="court consult")
        r = expect(_citizen(srv, _code(srv, p["cf"])), 200, what="citizen")
        eq(r["accesses"], [], "a court consultation is hidden from the citizen")


# ---------------------------------------------------------------- verification and export

def test_verify_endpoint_and_signed_export():
    with Server(population=POP) as srv:
        t = Trail(srv)
        log = srv.access_log()
        auditor = srv.user("auditor")
        r = expect(auditor.get("/api/v1/audit/verify"), 200, what="verify").json
        eq((r["intact"], r["records"], r["first_bad_id"]), (True, len(log), 0), "intact trail")
        expect(t.a.op.get("/api/v1/audit/verify"), 403, "forbidden", "operator")
        rc, out = harness.audit_verify(srv.db)
        eq(rc, 0, f"visura audit verify: {out}")
        pk = public_key(srv.db)
        for fmt in ("json", "csv"):
            path = os.path.join(srv.dir, f"export.{fmt}")
            rc, out = cli("audit", "export", "--db", srv.db, "--format", fmt, "--out", path)
            eq(rc, 0, f"export {fmt}: {out}")
            with open(path, "rb") as f:
                data = f.read()
            with open(path + ".sig") as f:
                sigline = f.read().strip()
            check(sigline.startswith("ed25519ph "), f"signature file {sigline!r}")
            check(ed25519ph_verify(pk, data, b64url(sigline[10:])),
                  f"{fmt}: the signature (Ed25519ph) verifies with the database's public key")
            if fmt == "json":
                recs = [json.loads(line) for line in data.decode().splitlines()]
            else:
                recs = list(csv.DictReader(io.StringIO(data.decode())))
            eq([int(x["id"]) for x in recs], [x["id"] for x in log], f"{fmt}: every record")
            for x, row in zip(recs, log):
                for k in ("username", "subjects", "outcome", "hash", "prev_hash", "case_ref"):
                    eq(x[k], row[k], f"{fmt} record {row['id']}: {k}")
            rc, out = cli("audit", "verify-export", "--db", srv.db, path)
            eq(rc, 0, f"verify-export {fmt}: {out}")
            # one altered byte
            i = data.index(t.x["cf"].encode())
            with open(path, "wb") as f:
                f.write(data[:i] + bytes([data[i] ^ 0x02]) + data[i + 1:])
            rc, out = cli("audit", "verify-export", "--db", srv.db, path)
            eq(rc, 1, f"verify-export {fmt} with one altered byte: {out}")
            with open(path, "wb") as f:
                f.write(data[:-1])
            rc, out = cli("audit", "verify-export", "--db", srv.db, path)
            eq(rc, 1, f"verify-export {fmt} with the last byte cut: {out}")
            with open(path, "wb") as f:
                f.write(data)
            rc, out = cli("audit", "verify-export", "--db", srv.db, path)
            eq(rc, 0, f"verify-export {fmt} restored: {out}")
        # a filtered export (one person)
        path = os.path.join(srv.dir, "x.json")
        rc, out = cli("audit", "export", "--db", srv.db, "--cf", t.x["cf"], "--out", path)
        eq(rc, 0, f"export --cf: {out}")
        with open(path) as f:
            recs = [json.loads(line) for line in f]
        eq([int(x["id"]) for x in recs], [x["id"] for x in log if t.x["cf"] in x["subjects"].split(",")],
           "export --cf: that person's records")
        eq(cli("audit", "verify-export", "--db", srv.db, path)[0], 0, "verify-export --cf")
        # another database's key does not verify the export
        with Server() as other:
            rc, out = cli("audit", "verify-export", "--db", other.db, path)
            eq(rc, 1, f"verify-export against another database: {out}")


def _start_load(srv, clients, pid, cfs, n_each, case):
    """Starts n_each consultations per client, in parallel over keep-alive
    connections; returns (threads, 200 answers per client, errors)."""
    ok = [0] * len(clients)
    errors = []

    def run(k, c):
        conn = Conn(srv, c)
        try:
            for i in range(n_each):
                cf = cfs[(k * 7 + i) % len(cfs)]
                r = conn.get(f"/api/v1/persons/{cf}?purpose={pid}&case_ref={case}-{k}-{i}")
                if r.status == 200:
                    ok[k] += 1
                else:
                    errors.append(r)
                    return
        except Exception as e:   # noqa: BLE001 - reported by the caller
            errors.append(e)
        finally:
            conn.close()

    ts = [threading.Thread(target=run, args=(k, c)) for k, c in enumerate(clients)]
    for th in ts:
        th.start()
    return ts, ok, errors


def _load(srv, clients, pid, cfs, n_each, case):
    """n_each consultations per client, in parallel; returns the number of
    200 answers."""
    ts, ok, errors = _start_load(srv, clients, pid, cfs, n_each, case)
    for th in ts:
        th.join()
    check(not errors, f"load: {errors[:3]}")
    return sum(ok)


def test_tampered_trail_detected():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        ops = [env.op] + [env.operator() for _ in range(3)]
        cfs = [p["cf"] for p in registered(env.pop)[:30]]
        _load(srv, ops, pid, cfs, 265, "T")
        deadline = time.monotonic() + 10
        while True:
            cps = db_rows(srv.db, "SELECT * FROM audit_checkpoint ORDER BY id")
            if cps or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        check(cps, "a signed checkpoint after more than 1000 records")
        cp = cps[-1]
        check(cp["last_id"] >= 1000, f"checkpoint {cp}")
        log = srv.access_log()
        check(len(log) >= cp["last_id"], "records up to the checkpoint")
        prev = ""
        for row in log:
            eq(chain_hash(row, prev), row["hash"], f"recomputed hash of record {row['id']}")
            prev = row["hash"]
        check(ed25519_verify(public_key(srv.db), f"visura-checkpoint-v1.{cp['at']}.{cp['last_id']}."
                             f"{cp['last_hash']}".encode(), b64url(cp["signature"])),
              "the checkpoint's signature")
        intact = db_copy(srv, "intact.db")
        rc, out = harness.audit_verify(intact)
        eq(rc, 0, f"the intact copy: {out}")
        check(re.search(r"\b[1-9]\d* signed checkpoints", out), f"checkpoints verified: {out}")

        def tampered(name, *statements):
            path = db_copy(srv, name + ".db")
            db_exec(path, *statements)
            return harness.audit_verify(path)

        k = 10
        rc, out = tampered("edit", f"UPDATE access_log SET subjects = 'RSSMRA80A01F257X' WHERE id = {k}")
        eq(rc, 1, f"an edited record: {out}")
        check(f"record {k}" in out, f"the edited record is named: {out}")
        rc, out = tampered("edit-case", f"UPDATE access_log SET case_ref = 'X' WHERE id = 500")
        check(rc == 1 and "record 500" in out, f"an edited case_ref: {rc} {out}")
        rc, out = tampered("delete", f"DELETE FROM access_subject WHERE access_id = 20",
                           "DELETE FROM access_log WHERE id = 20")
        check(rc == 1 and re.search(r"record (20|21)\b", out), f"a deleted record: {rc} {out}")
        rc, out = tampered("delete-first", "DELETE FROM access_log WHERE id = 1")
        check(rc == 1 and re.search(r"record [12]\b", out), f"the first record deleted: {rc} {out}")
        # reorder: records 30 and 31 swap places (ids kept)
        cols = [c for c in log[0] if c != "id"]
        sets30 = ", ".join(f"{c} = (SELECT {c} FROM access_log WHERE id = 31)" for c in cols)
        path = db_copy(srv, "reorder.db")
        r30 = db_rows(path, f"SELECT {', '.join(cols)} FROM access_log WHERE id = 30")[0]
        db_exec(path, f"UPDATE access_log SET {sets30} WHERE id = 30",
                (f"UPDATE access_log SET {', '.join(c + ' = ?' for c in cols)} WHERE id = 31",
                 [r30[c] for c in cols]))
        rc, out = harness.audit_verify(path)
        check(rc == 1 and re.search(r"record (30|31)\b", out), f"two records swapped: {rc} {out}")
        # truncation of the tail, within the checkpoint's range
        cut = cp["last_id"] - 3
        rc, out = tampered("truncate", f"DELETE FROM access_subject WHERE access_id > {cut}",
                           f"DELETE FROM access_log WHERE id > {cut}")
        check(rc == 1 and f"record {cut + 1}" in out,
              f"the tail cut after record {cut} (checkpoint at {cp['last_id']}): {rc} {out}")
        # an edit with every later hash recomputed: only the signed checkpoint catches it
        path = db_copy(srv, "rechain.db")
        rows = db_rows(path, "SELECT * FROM access_log ORDER BY id")
        prev = ""
        updates = []
        for row in rows:
            if row["id"] == 100:
                row["subjects"] = "RSSMRA80A01F257X"
            if row["id"] >= 100:
                row["prev_hash"] = prev
                row["hash"] = chain_hash(row, prev)
                updates.append(("UPDATE access_log SET subjects = ?, prev_hash = ?, hash = ? WHERE id = ?",
                                (row["subjects"], row["prev_hash"], row["hash"], row["id"])))
            prev = row["hash"]
        db_exec(path, *updates)
        rc, out = harness.audit_verify(path)
        check(rc == 1 and "checkpoint" in out,
              f"a rewritten chain is caught by the signed checkpoint: {rc} {out}")
        # a forged checkpoint
        rc, out = tampered("forged", f"UPDATE audit_checkpoint SET last_id = last_id - 1 WHERE id = {cp['id']}")
        check(rc == 1 and "checkpoint" in out, f"a forged checkpoint: {rc} {out}")
        # and the live trail is still intact
        r = expect(srv.admin().get("/api/v1/audit/verify"), 200, what="live verify").json
        check(r["intact"] and r["checkpoints"] >= 1, f"live trail: {r}")


def test_verify_while_writing():
    """`audit verify` of a live trail, by the API and by the CLI, while
    consultations commit: the records and the signed heads are read in one
    snapshot, so a verification never sees a head covering records its walk
    had not read (before: "a signed tree head covers N records" on an intact
    trail, with the server writing)."""
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        ops = [env.op] + [env.operator() for _ in range(3)]
        cfs = [p["cf"] for p in registered(env.pop)[:30]]
        _load(srv, ops, pid, cfs, 60, "V")   # a history, so that a walk takes a while
        ts, done, errors = _start_load(srv, ops, pid, cfs, 250, "W")
        admin, broken, during = srv.admin(), [], 0
        while any(th.is_alive() for th in ts):
            before = sum(done)
            r = expect(admin.get("/api/v1/audit/verify"), 200, what="live verify").json
            if not r["intact"]:
                broken.append(r["why"])
            rc, out = harness.audit_verify(srv.db)
            if rc != 0:
                broken.append(out)
            during += sum(done) > before
        for th in ts:
            th.join()
        check(not errors, f"load: {errors[:3]}")
        check(during >= 3, f"verifications while records were committed: {during}")
        check(not broken, f"an intact live trail verified as broken: {broken[:3]}")


# ---------------------------------------------------------------- crash

def _restart(srv):
    """Starts `visura serve` again on the same database (no init)."""
    srv._ctx = None
    for attempt in range(5):
        srv.port = free_port()
        args = [harness.VISURA, "serve", "--db", srv.db, "--self-signed", srv.tls_dir,
                "--listen", f"127.0.0.1:{srv.port}", "--test-clock", "true",
                "--metrics-listen", f"127.0.0.1:{free_port()}"] + harness.serve_user_args()
        for k, v in srv.options.items():
            args += ["--" + k.replace("_", "-"), str(v)]
        srv.log = open(srv.log_path, "ab")
        srv.proc = subprocess.Popen(args, stdout=srv.log, stderr=subprocess.STDOUT)
        if srv._wait_ready():
            return
        srv.proc.wait(timeout=10)
        srv.log.close()
        srv.proc = None
    raise harness.TestFailure(f"the server did not restart:\n{srv.log_text()[-3000:]}")


def _notes(path):
    """The complete signed heads of a heads file (a crash may cut the last)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    notes, cur = [], []
    for line in text.split("\n"):
        if len(cur) >= 5 and not line.startswith("\u2014 "):
            notes.append("\n".join(cur) + "\n")
            cur = []
        if line or len(cur) == 3:
            cur.append(line)
    return notes


def test_kill9_under_load_keeps_acknowledged_records():
    srv = Server(population=POP)
    heads_file = os.path.join(srv.dir, "heads.txt")
    srv.options["trail_heads_file"] = heads_file
    with srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        ops = [env.op] + [env.operator() for _ in range(7)]
        cfs = [p["cf"] for p in registered(env.pop)[:40]]
        acked = []          # (access id, cf, case_ref, username, receipt, body)
        anomalies = []
        lock = threading.Lock()
        stop = threading.Event()

        def run(k, c):
            conn = Conn(srv, c, timeout=10)
            i = 0
            try:
                while not stop.is_set():
                    cf = cfs[(k * 5 + i) % len(cfs)]
                    case = f"K{k}-{i}"
                    r = conn.get(f"/api/v1/persons/{cf}?purpose={pid}&case_ref={case}", retry=False)
                    i += 1
                    if r.status != 200:
                        with lock:
                            anomalies.append(r)
                        return
                    with lock:
                        acked.append((int(r.header("X-Visura-Access-Id")), cf, case,
                                      c.account["username"], r.header("X-Visura-Receipt"), r.body,
                                      r.json.get("access_id") if r.json else None))
            except (OSError, ssl.SSLError, http.client.HTTPException):
                pass        # the server died
            finally:
                conn.close()

        ts = [threading.Thread(target=run, args=(k, c)) for k, c in enumerate(ops)]
        for th in ts:
            th.start()
        time.sleep(2.0)
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        srv.log.close()
        srv.proc = None
        stop.set()
        for th in ts:
            th.join(timeout=30)
        check(not anomalies, f"answers other than 200 under load: {anomalies[:3]}")
        check(len(acked) >= 50, f"too little load before the kill: {len(acked)} answers")
        ids = [a[0] for a in acked]
        eq(len(set(ids)), len(ids), "every answer has its own access id")
        for a in acked:
            eq(a[6], a[0], "the body's access_id equals X-Visura-Access-Id")
        rc, out = harness.audit_verify(srv.db)
        eq(rc, 0, f"audit verify right after kill -9: {out}")
        published = _notes(heads_file)
        check(published, "heads were published before the crash")
        _restart(srv)
        log = {r["id"]: r for r in srv.access_log()}
        if os.environ.get("VISURA_E2E_VERBOSE"):
            print(f"  {len(acked)} answers received, {len(log)} records after the restart, "
                  f"{len(db_rows(srv.db, 'SELECT id FROM audit_checkpoint'))} checkpoints")
        missing = [a[0] for a in acked if a[0] not in log]
        check(not missing, f"{len(missing)} acknowledged access ids are not in the trail "
                           f"(of {len(acked)}): {missing[:10]}")
        for aid, cf, case, user, receipt, body, _ in acked:
            row = log[aid]
            p = env.pop.person(cf)      # the person, then the parents shown
            shown = ",".join([cf] + [x for x in (p["father"], p["mother"]) if x])
            eq((row["subjects"], row["case_ref"], row["username"], row["outcome"]),
               (shown, case, user, "ok"), f"record {aid}")
        # a few receipts still verify against the restarted database
        body_file = os.path.join(srv.dir, "b.json")
        for aid, cf, case, user, receipt, body, _ in acked[::max(1, len(acked) // 3)][:3]:
            with open(body_file, "wb") as f:
                f.write(body)
            rc, out = cli("audit", "verify-receipt", "--db", srv.db, receipt, body_file)
            eq(rc, 0, f"receipt of {aid} after the crash: {out}")
        # the trail goes on after the restart
        admin = srv.admin()
        op = ops[0]
        if op.me().status != 200:
            relogin(op)
        r = expect(op.get(f"/api/v1/persons/{cfs[0]}?purpose={pid}&case_ref=AFTER"), 200,
                   what="after the restart")
        eq(r["access_id"], max(log) + 1, "the next id follows the trail")
        rc, out = harness.audit_verify(srv.db)
        eq(rc, 0, f"audit verify after the restart: {out}")
        check(expect(admin.get("/api/v1/audit/verify"), 200, what="verify")["intact"], "intact")
        # every answer that left is under a signed head after the restart, its
        # receipt verifies offline, and every head published before the crash
        # is one the trail after it extends
        pk = public_key(srv.db)
        last = db_rows(srv.db, "SELECT size, note FROM audit_head ORDER BY size DESC LIMIT 1")[0]
        check(int(last["size"]) >= max(ids), f"the last head ({last['size']}) covers every answer")
        pkhex = pk.hex()
        for aid, cf, case, user, receipt, body, _ in acked[::max(1, len(acked) // 3)][:3]:
            rc, out = cli("audit", "verify-receipt", "--key", pkhex, receipt)
            eq(rc, 0, f"receipt of {aid}, offline, after the crash: {out}")
        for note in (published[0], published[len(published) // 2], published[-1]):
            check(head_signed(note, pk), f"a published head is signed: {note!r}")
            path = os.path.join(srv.dir, "kept.txt")
            with open(path, "w", encoding="utf-8") as f:
                f.write(note)
            rc, out = cli("audit", "verify", "--db", srv.db, "--head", path)
            eq(rc, 0, f"the trail after the crash extends the head of {parse_head(note)[1]} "
                      f"published before it: {out}")


# ---------------------------------------------------------------- usage

def test_usage_report():
    with Server(population=POP) as srv:
        t = Trail(srv)
        A, B = t.a, t.b
        log = srv.access_log()
        mine = [x for x in log if x["ente_id"] == A.ente["id"]]
        r = expect(srv.admin().get(f"/api/v1/usage?ente_id={A.ente['id']}"), 200, what="admin usage").json
        eq(r["ente_id"], A.ente["id"], "ente_id")
        eq(r["requests"], len(mine), "requests of body A")
        want = {}
        refused = {}
        for x in mine:
            if x["outcome"].startswith("refused:"):
                refused[x["username"]] = refused.get(x["username"], 0) + 1
            else:
                d = want.setdefault(x["username"], {})
                d[str(x["purpose_id"])] = d.get(str(x["purpose_id"]), 0) + 1
        eq(r["accesses_by_operator_and_purpose"], want, "by operator and purpose")
        eq(want, {A.op.account["username"]: {str(t.pa1): 2}, t.op2.account["username"]: {str(t.pa2): 1}},
           "the expected usage")
        eq(r["refused_by_operator"], refused, "refused by operator")
        eq(refused, {A.op.account["username"]: 1}, "the expected refusal")
        # the lead: own body only, whatever ente_id says
        r = expect(A.lead.get("/api/v1/usage"), 200, what="lead usage").json
        eq((r["ente_id"], r["requests"]), (A.ente["id"], len(mine)), "lead A")
        r = expect(A.lead.get(f"/api/v1/usage?ente_id={B.ente['id']}"), 200, what="lead A asks for B").json
        eq(r["ente_id"], A.ente["id"], "lead A gets body A even when asking for B")
        check(B.op.account["username"] not in json.dumps(r), "nothing of body B")
        r = expect(B.lead.get("/api/v1/usage"), 200, what="lead B").json
        eq(r["requests"], len([x for x in log if x["ente_id"] == B.ente["id"]]), "lead B")
        expect(A.op.get("/api/v1/usage"), 403, "forbidden", "operator")
        expect(srv.admin().get("/api/v1/usage"), 400, "invalid_request", "admin without ente_id")
        tomorrow = (today_utc(srv) + datetime.timedelta(days=1)).isoformat()
        r = expect(srv.admin().get(f"/api/v1/usage?ente_id={A.ente['id']}&from={tomorrow}"), 200,
                   what="from tomorrow").json
        eq(r["requests"], 0, "nothing from tomorrow")
        # the body's alerts are part of its usage
        narrow = A.purpose(["identity"])
        for i in range(5):
            expect(A.op.get(f"/api/v1/persons/{t.x['cf']}/household?purpose={narrow}"), 403,
                   "category_not_permitted", "refused")
        r = expect(A.lead.get("/api/v1/usage"), 200, what="lead usage").json
        check(any(a["rule"] == "refused" for a in r["alerts"]), f"the alert in the usage: {r['alerts']}")
        check(all(a["ente_id"] == A.ente["id"] for a in r["alerts"]), "only body A's alerts")
        r = expect(B.lead.get("/api/v1/usage"), 200, what="lead B usage").json
        check(not any(a["ente_id"] == A.ente["id"] for a in r["alerts"]), "B sees none of A's alerts")


if __name__ == "__main__":
    run_tests(globals())
