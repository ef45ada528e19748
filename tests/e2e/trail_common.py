#!/usr/bin/env python3
"""Helpers of the access-trail end-to-end tests (test_trail.py,
test_trail_alerts.py, test_trail_verify.py: one suite split in three so
that ctest runs them side by side): the population, Env (a body, its
agreement and accounts), connections from other addresses, alerts and
their mails, the trail's signatures (Ed25519 in pure Python), hashes and
inclusion proofs, the checkpoint heads.  Not a test file itself."""
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
                     free_port, one_record, run_tests)

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
    """Registered persons (latest version) with a household: first those
    whose consultation names no one else (no parent's codice fiscale in
    their record: the trail's records of the tests then have one subject
    each), each part sorted by CF."""
    return sorted((p for p in pop.current_persons()
                   if not p["canc_reason"] and p["family_id"]
                   and (comune is None or p["comune"] == comune)),
                  key=lambda p: (bool(p["father"] or p["mother"]), p["cf"]))


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


def _start_load(srv, clients, pid, cfs, n_each, case, stop=None):
    """Starts n_each consultations per client, in parallel over keep-alive
    connections (each client stops early once the threading.Event stop is
    set); returns (threads, 200 answers per client, errors)."""
    ok = [0] * len(clients)
    errors = []

    def run(k, c):
        conn = Conn(srv, c)
        try:
            for i in range(n_each):
                if stop is not None and stop.is_set():
                    return
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
