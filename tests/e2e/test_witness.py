#!/usr/bin/env python3
"""End-to-end: witnesses of the access trail (issue 13).

A `visura witness` on another port, with its own key, follows the server's
log (origin and public key): it cosigns every head while the trail stays
consistent with the head it cosigned last (the server's publisher sends the
consistency proof, from the size the witness names on 409); the
cosignatures are stored with the heads, appended to the heads file, and
checked here with Ed25519 written apart from the C and by `visura audit
verify --witness`.  The witness refuses, over HTTPS, a rolled-back head, a
forked head (same size, another root, signed with the deployment's own
key as an attacker holding it would), a head signed by another key, an
unknown log and a wrong old size (409 with its size), and keeps refusing
after a restart (its state is durable).  With the witness down past a short
grace, personal-data requests answer 503 trail_unpublished, /readyz says
why, and both recover by themselves when the witness returns.

usage: test_witness.py PATH/TO/visura [TEST...]
"""
import base64
import hashlib
import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request
import urllib.error

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import harness
from harness import Server, check, eq, expect, run_tests
from trail_common import (ALL, POP, Env, db_exec, db_rows, ed25519_verify, parse_head,
                        public_key, registered)
from test_trail_log import ed25519_sign, forged_head, heads_in

WNAME = "testimone.provincia.example"


def cli(*args):
    p = subprocess.run([harness.VISURA] + list(args), capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def poll(what, fn, timeout=30.0):
    """fn() until it returns something true; its value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        check(time.monotonic() < deadline, f"gave up waiting: {what}")
        time.sleep(0.1)


class Witness:
    """One `visura witness serve` following one log."""

    def __init__(self, work, origin, log_pub):
        self.dir = os.path.join(work, "witness")
        os.makedirs(self.dir, exist_ok=True)
        self.key = os.path.join(self.dir, "witness.key")
        rc, out = cli("witness", "keygen", "--key", self.key)
        eq(rc, 0, f"witness keygen: {out}")
        self.pub = self.key + ".pub"
        with open(self.pub) as f:
            self.pk = bytes.fromhex(f.read().strip())
        eq(out.strip(), self.pk.hex(), "keygen prints the public key of the .pub file")
        eq(os.stat(self.key).st_mode & 0o777, 0o600, "the witness key is 0600")
        self.origin, self.log_pub = origin, log_pub
        self.state = os.path.join(self.dir, "state")
        self.port = harness.free_port()
        self.proc = None

    def start(self):
        self.log = open(os.path.join(self.dir, "witness.log"), "ab")
        self.proc = subprocess.Popen(
            [harness.VISURA, "witness", "serve", "--listen", f"127.0.0.1:{self.port}",
             "--key", self.key, "--name", WNAME, "--state", self.state,
             "--log-key", f"{self.origin}={self.log_pub}", *harness.serve_user_args()],
            stdout=self.log, stderr=subprocess.STDOUT)
        poll("the witness listens", lambda: self.proc.poll() is not None or self._up())
        check(self.proc.poll() is None, "the witness runs")

    def _up(self):
        """Answering as itself: until it has given up root it answers 503."""
        try:
            return self.post("")[0] != 503
        except OSError:
            return False

    def stop(self):
        if self.proc:
            self.proc.terminate()
            eq(self.proc.wait(timeout=20), 0, "the witness stops cleanly on SIGTERM")
            self.log.close()
            self.proc = None
            with open(os.path.join(self.dir, "witness.log"), "rb") as f:
                text = f.read().decode("utf-8", "replace")
            for marker in harness.SANITIZER_MARKERS:
                i = text.find(marker)
                if i >= 0:
                    harness.SANITIZER_FINDINGS.append((self.dir, text[i:i + 4000]))
                    raise harness.TestFailure(f"sanitizer report in the witness log:\n"
                                              f"{text[max(0, i - 200):i + 4000]}")

    @property
    def cert(self):
        return os.path.join(self.state, "cert.pem")

    def post(self, body):
        ctx = ssl.create_default_context(cafile=self.cert)
        req = urllib.request.Request(f"https://127.0.0.1:{self.port}/add-checkpoint",
                                     data=body.encode(), method="POST")
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()


def setup(srv, grace=600):
    """The server (started, then restarted) configured with a witness."""
    origin = "anagrafe.e2e.example/" + srv.tag
    srv.options["trail_origin"] = origin
    srv.options["trail_heads_file"] = os.path.join(srv.dir, "heads.txt")
    srv.start()
    rc, out = cli("audit", "key", "--db", srv.db)
    eq(rc, 0, f"audit key: {out}")
    log_pub = os.path.join(srv.dir, "log.pub")
    with open(log_pub, "w") as f:
        f.write(out)
    w = Witness(srv.dir, origin, log_pub)
    w.start()
    ca = os.path.join(srv.dir, "witness-ca.pem")
    shutil.copy(w.cert, ca)
    os.chmod(ca, 0o644)
    srv.options["trail_witnesses"] = f"{WNAME} https://127.0.0.1:{w.port} {w.pub}"
    srv.options["trail_witness_ca"] = ca
    srv.options["trail_publish_grace"] = grace
    harness.give_to_test_user(srv.dir)
    srv.restart()
    return origin, w


def done(srv, w):
    w.stop()
    if srv.proc:
        srv.stop()
    if sys.exc_info()[0] is None and not os.environ.get("VISURA_E2E_KEEP"):
        shutil.rmtree(srv.dir, ignore_errors=True)
    else:
        print(f"  server log: {srv.log_path}; witness: {w.dir}")


def cosigned_by_witness(note, w):
    """The witness's cosignature (cosignature/v1) verifies: its time, else None."""
    origin, size, root, body, sigs = parse_head(note)
    kid = hashlib.sha256(WNAME.encode() + b"\n\x04" + w.pk).digest()[:4]
    for name, raw in sigs:
        if name == WNAME and raw[:4] == kid and len(raw) == 4 + 8 + 64:
            t = int.from_bytes(raw[4:12], "big")
            msg = f"cosignature/v1\ntime {t}\n".encode() + body
            if ed25519_verify(w.pk, msg, raw[12:]):
                return t
    return None


def wait_cosigned(srv, w, n):
    """Polls until the newest head covers n records and is cosigned: its row."""
    def ready():
        h = last_head(srv)
        return h if int(h["size"]) >= n and cosigned_by_witness(h["note"], w) else None
    return poll(f"the head of size >= {n} cosigned", ready)


def last_head(srv):
    return db_rows(srv.db, "SELECT size, note FROM audit_head ORDER BY size DESC LIMIT 1")[0]


def consult(env, pid, cf, case):
    return env.op.get(f"/api/v1/persons/{cf}?purpose={pid}&case_ref={case}")


def readyz(srv):
    r = srv.request("GET", "/readyz")
    return r


def test_witness_cosigns_while_consistent():
    srv = Server(population=POP)
    origin, w = setup(srv)
    try:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        cfs = [p["cf"] for p in registered(env.pop)[:10]]
        sizes = []
        for i, cf in enumerate(cfs[:4]):
            expect(consult(env, pid, cf, f"W-{i}"), 200, what="a consultation")
            n = srv.access_last_id()
            # each newest head, cosigned in turn (the proof from the last one)
            row = wait_cosigned(srv, w, n)
            sizes.append(int(row["size"]))
        eq(sizes, sorted(sizes), "cosigned heads grow")
        check(parse_head(row["note"])[0] == origin, "the cosigned head is the log's")
        # the witness remembers the last head it cosigned, durably
        with open(os.path.join(w.state, "witness.state")) as f:
            state = f.read().split()
        eq(state[0], origin, "the witness's state names the log")
        check(int(state[1]) >= sizes[-1], f"and the size it cosigned: {state}")
        # cosigned heads are appended to the heads file too
        notes = heads_in(os.path.join(srv.dir, "heads.txt"))
        check(any(cosigned_by_witness(n, w) for n in notes),
              "a cosigned head is in the heads file")
        # audit verify names the witness and what it cosigned
        rc, out = cli("audit", "verify", "--db", srv.db, "--witness", f"{WNAME}={w.pub}")
        eq(rc, 0, f"audit verify --witness: {out}")
        check(f"testimone {WNAME}: " in out and "controfirme verificate" in out, out)
        # a cosigned head kept outside is accepted by audit verify --head
        kept = os.path.join(srv.dir, "kept.txt")
        with open(kept, "w") as f:
            f.write(row["note"])
        rc, out = cli("audit", "verify", "--db", srv.db, "--head", kept,
                      "--witness", f"{WNAME}={w.pub}")
        eq(rc, 0, f"audit verify --head (cosigned): {out}")
        check("estende la testa conservata" in out, out)
        # a cosignature altered in the database is refused, naming the witness
        origin_, size, root, body, sigs = parse_head(row["note"])
        bad = row["note"]
        for name, raw in sigs:
            if name == WNAME:
                good_b64 = base64.b64encode(raw).decode()
                flipped = raw[:12] + bytes([raw[12] ^ 1]) + raw[13:]
                bad = bad.replace(good_b64, base64.b64encode(flipped).decode())
        check(bad != row["note"], "a cosignature to alter")
        srv.stop()
        db_exec(srv.db, ("UPDATE audit_head SET note = ? WHERE size = ?", (bad, size)))
        rc, out = cli("audit", "verify", "--db", srv.db, "--witness", f"{WNAME}={w.pub}")
        eq(rc, 1, f"audit verify refuses a bad cosignature: {out}")
        check(WNAME in out and "non si verifica" in out, out)
    finally:
        done(srv, w)


def test_receipts_and_bundles_checked_against_the_witness():
    """verify-receipt --witness: a receipt is issued before any witness
    cosigns; the database's later head the witness cosigned is proven to
    extend the receipt's head.  verify-export --witness: the bundle's head
    must carry the witness's cosignature, verified; without --witness the
    cosigners are said to be not checked (before: named, never checked)."""
    srv = Server(population=POP)
    origin, w = setup(srv)
    try:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        cf = registered(env.pop)[0]["cf"]
        r = consult(env, pid, cf, "W-R")
        expect(r, 200, what="a consultation")
        receipt = os.path.join(srv.dir, "receipt.txt")
        with open(receipt, "w") as f:
            f.write(r.header("X-Visura-Receipt"))
        answer = os.path.join(srv.dir, "answer.json")
        with open(answer, "wb") as f:
            f.write(r.body)
        n = srv.access_last_id()
        # one more access, so the cosigned head is larger than the receipt's
        expect(consult(env, pid, registered(env.pop)[1]["cf"], "W-R2"), 200, what="another")
        wait_cosigned(srv, w, n + 1)
        other = Witness(os.path.join(srv.dir, "other"), origin, os.path.join(srv.dir, "log.pub"))
        good, wrong = f"{WNAME}={w.pub}", f"{WNAME}={other.pub}"
        rc, out = cli("audit", "verify-receipt", "--db", srv.db, "--witness", good, receipt, answer)
        eq(rc, 0, f"verify-receipt --witness: {out}")
        check("prova di coerenza verificata" in out and f"testimone {WNAME}: ha controfirmato la testa" in out,
              out)
        rc, out = cli("audit", "verify-receipt", "--db", srv.db, "--witness", wrong, receipt)
        eq(rc, 1, f"verify-receipt with another key under the witness's name: {out}")
        check("non si verifica con la sua chiave" in out, out)
        rc, out = cli("audit", "verify-receipt", "--db", srv.db, "--witness",
                      f"altro.testimone.example={w.pub}", receipt)
        eq(rc, 1, f"verify-receipt with a witness that cosigned nothing: {out}")
        check("nessuna testa controfirmata dal testimone altro.testimone.example" in out, out)
        # offline, the receipt's own head: signed before the witness saw it
        log_key = open(os.path.join(srv.dir, "log.pub")).read().strip()
        rc, out = cli("audit", "verify-receipt", "--key", log_key, "--witness", good, receipt)
        eq(rc, 1, f"verify-receipt --key --witness on a head not cosigned: {out}")
        check("non è controfirmata dal testimone" in out, out)
        rc, out = cli("audit", "verify-receipt", "--key", log_key, receipt, answer)
        eq(rc, 0, f"verify-receipt --key without --witness: {out}")

        # a bundle exported once the head is cosigned carries the cosignature
        bundle = os.path.join(srv.dir, "bundle.json")
        rc, out = cli("audit", "export", "--db", srv.db, "--format", "bundle", "--cf", cf,
                      "--out", bundle)
        eq(rc, 0, f"export bundle: {out}")
        rc, out = cli("audit", "verify-export", bundle, "--key", log_key, "--witness", good)
        eq(rc, 0, f"verify-export --witness: {out}")
        check(f"testimone {WNAME}: controfirma verificata" in out, out)
        rc, out = cli("audit", "verify-export", bundle, "--key", log_key)
        eq(rc, 0, f"verify-export without --witness: {out}")
        check(f"testimone {WNAME}: ha controfirmato, non controllato" in out, out)
        rc, out = cli("audit", "verify-export", bundle, "--key", log_key, "--witness", wrong)
        eq(rc, 1, f"verify-export with another key under the witness's name: {out}")
        check("non si verifica" in out, out)
        rc, out = cli("audit", "verify-export", bundle, "--key", log_key, "--witness",
                      f"altro.testimone.example={w.pub}")
        eq(rc, 1, f"verify-export with a witness that did not cosign: {out}")
        check("non è controfirmata dal testimone altro.testimone.example" in out, out)
        # a cosignature altered in the bundle is refused
        import json
        doc = json.load(open(bundle))
        _, _, _, _, sigs = parse_head(doc["head"])
        for name, raw in sigs:
            if name == WNAME:
                good_b64 = base64.b64encode(raw).decode()
                flipped = raw[:20] + bytes([raw[20] ^ 1]) + raw[21:]
                doc["head"] = doc["head"].replace(good_b64, base64.b64encode(flipped).decode())
        with open(bundle, "w") as f:
            json.dump(doc, f)
        rc, out = cli("audit", "verify-export", bundle, "--key", log_key, "--witness", good)
        eq(rc, 1, f"verify-export refuses an altered cosignature: {out}")
        check(WNAME in out and "non si verifica" in out, out)
    finally:
        done(srv, w)


def test_witness_refuses_rollback_and_fork():
    srv = Server(population=POP)
    origin, w = setup(srv)
    try:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        cfs = [p["cf"] for p in registered(env.pop)[:10]]
        for i, cf in enumerate(cfs[:3]):
            expect(consult(env, pid, cf, f"R-{i}"), 200, what="a consultation")
        n = srv.access_last_id()
        row = wait_cosigned(srv, w, n)
        srv.stop()      # no more heads: the witness's size stays put
        size = int(row["size"])
        _, _, root, _, _ = parse_head(row["note"])
        with open(os.path.join(w.state, "witness.state")) as f:
            eq(int(f.read().split()[1]), size, "the witness cosigned the last head")
        # the same head again: cosigned (idempotent)
        bare = row["note"].split("\n\n")[0] + "\n\n" + \
            [l for l in row["note"].split("\n\n")[1].splitlines() if l.startswith(f"\u2014 {origin} ")][0] + "\n"
        st, body = w.post(f"old {size}\n\n" + bare)
        eq(st, 200, f"the same head again: {body}")
        check(body.startswith(f"\u2014 {WNAME} "), f"a cosignature line: {body!r}")
        # a wrong old size: 409 with the witness's size
        st, body = w.post(f"old {max(0, size - 1)}\n\n" + bare)
        eq((st, body), (409, f"{size}\n"), "a wrong old size")
        # rollback: a smaller head, signed with the log's own key
        smaller = forged_head(srv, origin, size - 1, hashlib.sha256(b"old").digest())
        st, body = w.post(f"old {size}\n\n" + smaller)
        eq(st, 400, f"a rolled-back head: {body}")
        check("ritorno indietro" in body, body)
        # fork: the same size, another root, signed with the log's key
        fork = forged_head(srv, origin, size, hashlib.sha256(b"fork").digest())
        st, body = w.post(f"old {size}\n\n" + fork)
        eq(st, 422, f"a forked head: {body}")
        check("biforcazione" in body, body)
        # a larger head whose proof does not lead from the cosigned root
        bigger = forged_head(srv, origin, size + 5, hashlib.sha256(b"big").digest())
        proof = base64.b64encode(hashlib.sha256(b"p").digest()).decode()
        st, body = w.post(f"old {size}\n{proof}\n\n" + bigger)
        eq(st, 422, f"an inconsistent larger head: {body}")
        check("biforcazione" in body, body)
        # a head signed with another key (a second log key)
        seed = hashlib.sha256(b"another key").digest()
        text = f"{origin}\n{size + 1}\n{base64.b64encode(root).decode()}\n"
        other = text + "\n\u2014 " + origin + " " + base64.b64encode(
            b"\0\0\0\0" + ed25519_sign(seed, text.encode())).decode() + "\n"
        st, body = w.post(f"old {size}\n\n" + other)
        eq(st, 403, f"a head signed by another key: {body}")
        # an unknown log
        st, body = w.post(f"old 0\n\n" + other.replace(origin, "altro.example/log"))
        eq(st, 404, f"an unknown log: {body}")
        # malformed bodies
        for junk in ("", "old\n\n", "old 01\n\n" + bare, f"old {size}\n" + bare,
                     f"old {size}\nnot-base64\n\n" + bare):
            st, body = w.post(junk)
            eq(st, 400, f"malformed {junk[:20]!r}: {body}")
        # the state survives a restart: the rollback is still refused
        w.stop()
        w.start()
        st, body = w.post(f"old {size}\n\n" + fork)
        eq(st, 422, f"a fork after the witness's restart: {body}")
        st, body = w.post(f"old 0\n\n" + bare)
        eq((st, body), (409, f"{size}\n"), "the restarted witness remembers its size")
        if os.geteuid() == 0:
            # a witness started as root never answers as root
            with open(f"/proc/{w.proc.pid}/status") as f:
                uid = next(l.split()[1] for l in f if l.startswith("Uid:"))
            check(uid != "0", "the running witness has given up root")
            w.stop()
            p = subprocess.run(
                [harness.VISURA, "witness", "serve", "--listen", f"127.0.0.1:{w.port}",
                 "--key", w.key, "--name", WNAME, "--state", w.state,
                 "--log-key", f"{origin}={w.log_pub}"], capture_output=True, text=True,
                timeout=30)
            eq(p.returncode, 2, f"a witness started as root without --user: {p.stderr}")
            check("root" in p.stderr, f"the refusal says why: {p.stderr}")
    finally:
        done(srv, w)


def test_unpublished_heads_refuse_personal_data():
    srv = Server(population=POP)
    origin, w = setup(srv, grace=2)
    try:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        cfs = [p["cf"] for p in registered(env.pop)[:10]]
        expect(consult(env, pid, cfs[0], "G-0"), 200, what="with the witness up")
        eq(readyz(srv).status, 200, "ready with the witness up")
        w.stop()
        # a new head the witness cannot cosign
        expect(consult(env, pid, cfs[1], "G-1"), 200, what="within the grace")
        r = poll("/readyz says not ready",
                 lambda: (lambda r: r if r.status == 503 else None)(readyz(srv)))
        check(WNAME in r.json["problem"], f"/readyz names the witness: {r.json}")
        r = consult(env, pid, cfs[2], "G-2")
        expect(r, 503, "trail_unpublished", what="personal data past the grace")
        rows = db_rows(srv.db, "SELECT outcome, status FROM access_log ORDER BY id DESC LIMIT 1")
        eq((rows[0]["outcome"], int(rows[0]["status"])), ("refused:trail_unpublished", 503),
           "the refusal is recorded")
        # the witness returns: both recover by themselves
        w.start()
        poll("/readyz ready again", lambda: readyz(srv).status == 200)
        expect(consult(env, pid, cfs[3], "G-3"), 200, what="after the witness returned")
        n = srv.access_last_id()
        wait_cosigned(srv, w, n)
    finally:
        done(srv, w)


def test_rolled_back_server_is_held_to_its_witness():
    """An attacker puts back an earlier copy of the database (records,
    tree, heads, cosignatures and key all consistent): the server cannot
    tell, but its witness has cosigned a larger head: it refuses every new
    head, and past the grace personal data is refused; audit verify
    against the cosigned head names the rollback."""
    srv = Server(population=POP)
    origin, w = setup(srv, grace=2)
    try:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        cfs = [p["cf"] for p in registered(env.pop)[:10]]
        expect(consult(env, pid, cfs[0], "B-0"), 200, what="a consultation")
        wait_cosigned(srv, w, srv.access_last_id())
        early = harness.db_copy(srv.db, srv.dir, "early")
        prefix = harness.files_prefix(early)
        for path in (prefix, prefix + ".trail", prefix + ".signing-key", prefix + ".secrets-key"):
            if os.path.exists(path) and (early.startswith("postgres:") is False or
                                         path.endswith("-key")):
                os.chmod(path, 0o600)
        for i in range(1, 4):
            expect(consult(env, pid, cfs[i], f"B-{i}"), 200, what="more consultations")
        later = wait_cosigned(srv, w, srv.access_last_id())
        kept = os.path.join(srv.dir, "cosigned.txt")
        with open(kept, "w") as f:
            f.write(later["note"])
        srv.stop()
        srv.db = early          # the attacker's rollback
        srv._serve()
        consult(env, pid, cfs[4], "B-4")   # a new head the witness must refuse
        r = poll("/readyz says not ready",
                 lambda: (lambda r: r if r.status == 503 else None)(readyz(srv)))
        check(WNAME in r.json["problem"] and "ritorno indietro" in r.json["problem"],
              f"/readyz names the witness and the rollback: {r.json}")
        # the witness's reason whole, on one line (it was cut at 120
        # characters, with the witness's raw newline inside)
        check(r.json["problem"].endswith("con questa origine)") and "\n" not in r.json["problem"],
              f"/readyz gives the whole reason: {r.json}")
        expect(consult(env, pid, cfs[5], "B-5"), 503, "trail_unpublished",
               what="personal data from a rolled-back trail")
        rc, out = cli("audit", "verify", "--db", srv.db, "--head", kept,
                      "--witness", f"{WNAME}={w.pub}")
        eq(rc, 1, f"verify against the cosigned head: {out}")
        check("ritorno indietro" in out or "troncamento" in out, out)
    finally:
        done(srv, w)


def test_heads_file_failing_refuses_personal_data():
    """No witness, but a heads file that takes nothing (/dev/full: every
    append fails): past the grace, personal data is refused and /readyz
    names the heads file; a bad trail_witnesses is refused at --check."""
    srv = Server(population=POP, trail_heads_file="/dev/full", trail_publish_grace=1)
    with srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        cfs = [p["cf"] for p in registered(env.pop)[:4]]
        consult(env, pid, cfs[0], "F-0")     # a head the file cannot take
        r = poll("/readyz says not ready",
                 lambda: (lambda r: r if r.status == 503 else None)(readyz(srv)))
        check("trail_heads_file" in r.json["problem"], f"/readyz names the file: {r.json}")
        expect(consult(env, pid, cfs[1], "F-1"), 503, "trail_unpublished",
               what="personal data while no head reaches the heads file")
    for bad in ("w1 https://127.0.0.1:1", "w1 ftp://127.0.0.1:1 /dev/null",
                "w1 https://127.0.0.1:1 /nonexistent.pub"):
        p = subprocess.run([harness.VISURA, "serve", "--check", "--tls-cert", "x", "--tls-key",
                            "y", "--trail-witnesses", bad], capture_output=True, text=True)
        eq(p.returncode, 2, f"serve --check with trail_witnesses = {bad!r}: {p.stderr}")
        check("trail_witnesses" in p.stderr or "chiave pubblica" in p.stderr, p.stderr)


if __name__ == "__main__":
    run_tests(globals())
