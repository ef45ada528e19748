#!/usr/bin/env python3
"""End-to-end: the access trail as a verifiable log (issue 13).

A signed tree head after every group commit, appended to the heads file
outside the database; consistency proofs (API and CLI) checked here with
RFC 9162's algorithm written apart from the server's C; and every attack of
someone holding the database — the last records deleted, a truncation to an
earlier size (an old head replayed), an edit with every hash recomputed,
every checkpoint and head deleted, a wipe, a fork (another head of the same
size signed with the deployment's key), a head from another deployment —
detected by `visura audit verify --head` given a head kept outside, and
named.

usage: test_trail_log.py PATH/TO/visura [TEST...]
"""
import base64
import hashlib
import os
import subprocess
import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import harness
from harness import Server, check, eq, expect, run_tests
from test_trail import (ALL, POP, Env, _G, _L, _P, _load, _mul, _node, chain_hash, db_copy,
                        db_exec, db_rows, head_signed, parse_head, public_key, registered)


def cli(*args):
    p = subprocess.run([harness.VISURA] + list(args), capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


# ---------------------------------------------------------------- RFC 9162 2.1.4.2, apart from the C

def consistency_ok(m, n, root_m, root_n, proof):
    if m > n:
        return False
    if m == n:
        return not proof and root_m == root_n
    if m == 0:
        return not proof
    proof = list(proof)
    if m & (m - 1) == 0:
        proof = [root_m] + proof
    if not proof:
        return False
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = _node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == root_m and sr == root_n


# ---------------------------------------------------------------- Ed25519 signing (the attacker who holds the key)

def _compress(p):
    zi = pow(p[2], _P - 2, _P)
    x, y = p[0] * zi % _P, p[1] * zi % _P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def ed25519_sign(seed, msg):
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    pk = _compress(_mul(a, _G))
    r = int.from_bytes(hashlib.sha512(h[32:] + msg).digest(), "little") % _L
    big_r = _compress(_mul(r, _G))
    k = int.from_bytes(hashlib.sha512(big_r + pk + msg).digest(), "little") % _L
    return big_r + ((r + k * a) % _L).to_bytes(32, "little")


def forged_head(srv, origin, size, root):
    """A head signed with the deployment's own key (read from its file)."""
    with open(harness.files_prefix(srv.db) + ".signing-key") as f:
        sk = bytes.fromhex(f.read().strip())
    pk = sk[32:]
    body = f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"
    kid = hashlib.sha256(origin.encode() + b"\n\x01" + pk).digest()[:4]
    sig = ed25519_sign(sk[:32], body.encode())
    return body + "\n\u2014 " + origin + " " + base64.b64encode(kid + sig).decode() + "\n"


# ---------------------------------------------------------------- helpers

def heads_in(path):
    """The notes of a heads file, in order."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    notes, cur = [], []
    for line in lines:
        if cur and len(cur) >= 5 and not line.startswith("\u2014 "):
            notes.append("\n".join(cur) + "\n")
            cur = []
        if line or len(cur) == 3:
            cur.append(line)
    if cur:
        notes.append("\n".join(cur) + "\n")
    return [n for n in notes if n.strip()]


def keep(srv, name, text):
    path = os.path.join(srv.dir, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def verify(db, head=None):
    args = ["audit", "verify", "--db", db] + (["--head", head] if head else [])
    return cli(*args)


# ---------------------------------------------------------------- tests

def test_heads_file_and_consistency():
    srv = Server(population=POP)
    heads_file = os.path.join(srv.dir, "heads.txt")
    srv.options["trail_heads_file"] = heads_file
    with srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        ops = [env.op] + [env.operator() for _ in range(3)]
        cfs = [p["cf"] for p in registered(env.pop)[:30]]
        pk = public_key(srv.db)
        _load(srv, ops, pid, cfs, 20, "A")
        rc, early = cli("audit", "head", "--db", srv.db)
        eq(rc, 0, f"audit head: {early}")
        check(head_signed(early, pk), f"the head is signed: {early!r}")
        _load(srv, ops, pid, cfs, 25, "B")
        notes = heads_in(heads_file)
        rows = db_rows(srv.db, "SELECT size, note FROM audit_head ORDER BY size")
        check(len(notes) >= 2, f"heads appended to the file: {len(notes)}")
        eq(notes[-1], rows[-1]["note"], "the file's last head is the database's last")
        in_db = {r["note"] for r in rows}
        check(all(n in in_db for n in notes), "every head of the file is one of the database's")
        sizes = [parse_head(n)[1] for n in notes]
        eq(sizes, sorted(sizes), "the heads file grows in order")
        for n in notes[:: max(1, len(notes) // 5)]:
            check(head_signed(n, pk), f"a head of the file is signed: {n!r}")
        eq(int(rows[-1]["size"]), len(srv.access_log()), "the last head covers every record")
        # consistency, by the API (auditor role) and the CLI, checked here
        _, m, root_m, _, _ = parse_head(early)
        latest = rows[-1]["note"]
        _, n, root_n, _, _ = parse_head(latest)
        r = expect(srv.admin().get(f"/api/v1/audit/consistency?from={m}&to={n}"), 200,
                   what="consistency").json
        proof = [base64.b64decode(x) for x in r["proof"]]
        eq((r["from"], r["to"]), (m, n), "sizes")
        eq(base64.b64decode(r["from_root"]), root_m, "the root of the kept head")
        eq(base64.b64decode(r["to_root"]), root_n, "the root of the latest head")
        check(consistency_ok(m, n, root_m, root_n, proof),
              f"the consistency proof {m} -> {n} verifies (RFC 9162 2.1.4.2)")
        check(not consistency_ok(m, n, root_m, hashlib.sha256(b"x").digest(), proof),
              "and not against another root")
        rc, out = cli("audit", "consistency", "--db", srv.db, "--from", str(m), "--to", str(n))
        eq(rc, 0, f"audit consistency: {out}")
        check(all(x in out for x in r["proof"]), f"the CLI gives the same proof: {out}")
        expect(env.op.get(f"/api/v1/audit/consistency?from={m}&to={n}"), 403,
               what="an operator asks for a consistency proof")
        expect(srv.admin().get(f"/api/v1/audit/consistency?from={n}&to={m}"), 400,
               what="from > to") if m < n else None
        expect(srv.admin().get(f"/api/v1/audit/consistency?from=0&to={n + 1000}"), 400,
               what="beyond the latest head")
        rc, out = verify(srv.db, keep(srv, "early.txt", early))
        eq(rc, 0, f"the live trail extends the early head: {out}")
        check("extends the kept head" in out, out)
        r = expect(srv.admin().get("/api/v1/audit/verify"), 200, what="verify").json
        check(r["intact"] and r["heads"] >= len(notes), f"live verify: {r}")


def test_attacks_named_against_a_kept_head():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        ops = [env.op] + [env.operator() for _ in range(3)]
        cfs = [p["cf"] for p in registered(env.pop)[:30]]
        _load(srv, ops, pid, cfs, 15, "A")
        rc, early = cli("audit", "head", "--db", srv.db)
        _load(srv, ops, pid, cfs, 15, "B")
        rc, kept = cli("audit", "head", "--db", srv.db)
        eq(rc, 0, f"audit head: {kept}")
        origin, size, root, _, _ = parse_head(kept)
        k1 = parse_head(early)[1]
        eq(size, len(srv.access_log()), "the kept head covers the trail")
        kept_path = keep(srv, "kept.txt", kept)
        early_path = keep(srv, "early.txt", early)
        rc, out = verify(srv.db, kept_path)
        eq(rc, 0, f"intact: {out}")

        def attacked(name, *statements, head=kept_path):
            path = db_copy(srv, name)
            if statements:
                db_exec(path, *statements)
            return path, verify(path, head)

        # the last records deleted
        _, (rc, out) = attacked("tail", f"DELETE FROM access_subject WHERE access_id > {size - 3}",
                                f"DELETE FROM access_log WHERE id > {size - 3}")
        check(rc == 1 and "removed" in out, f"the last records deleted: {rc} {out}")
        # truncated to an earlier size, tree, heads and checkpoints with it:
        # the old head replayed as the latest
        path, (rc, out) = attacked(
            "rollback", f"DELETE FROM access_subject WHERE access_id > {k1}",
            f"DELETE FROM access_log WHERE id > {k1}",
            f"DELETE FROM audit_tree WHERE ((idx + 1) << CAST(level AS INTEGER)) > {k1}",
            f"DELETE FROM audit_head WHERE size > {k1}",
            f"DELETE FROM audit_checkpoint WHERE last_id > {k1}")
        check(rc == 1 and "truncation or rollback" in out,
              f"a rollback to {k1} against the head of {size}: {rc} {out}")
        rc, out = verify(path)
        eq(rc, 0, f"from inside, a consistent rollback is invisible (why heads leave): {out}")
        rc, out = verify(path, early_path)
        eq(rc, 0, f"and it is consistent with the old head it replays: {out}")
        # an edit with every later hash recomputed
        path = db_copy(srv, "rewrite")
        rows = db_rows(path, "SELECT * FROM access_log ORDER BY id")
        prev, updates = "", []
        for row in rows:
            if row["id"] == 10:
                row["case_ref"] = "RITOCCATO"
            if row["id"] >= 10:
                row["prev_hash"] = prev
                row["hash"] = chain_hash(row, prev)
                updates.append(("UPDATE access_log SET case_ref = ?, prev_hash = ?, hash = ? "
                                "WHERE id = ?", (row["case_ref"], row["prev_hash"], row["hash"],
                                                 row["id"])))
            prev = row["hash"]
        db_exec(path, *updates)
        rc, out = verify(path)
        check(rc == 1 and "signed tree head" in out and "altered" in out,
              f"an edit with the chain recomputed, caught by the signed heads: {rc} {out}")
        db_exec(path, "DELETE FROM audit_head WHERE size >= 10", "DELETE FROM audit_checkpoint")
        rc, out = verify(path, kept_path)
        check(rc == 1 and "no signed tree head" in out,
              f"and with the heads after it deleted too: {rc} {out}")
        # every checkpoint and head deleted
        _, (rc, out) = attacked("noheads", "DELETE FROM audit_checkpoint",
                                "DELETE FROM audit_head", head=None)
        check(rc == 1 and "heads were deleted" in out, f"heads deleted: {rc} {out}")
        # wiped
        _, (rc, out) = attacked("wipe", "DELETE FROM access_subject", "DELETE FROM access_log",
                                "DELETE FROM audit_tree", "DELETE FROM audit_head",
                                "DELETE FROM audit_checkpoint")
        check(rc == 1 and "wiped" in out, f"a wiped trail: {rc} {out}")
        # the per-person index (what the art. 15 and citizen reports read)
        _, (rc, out) = attacked("index-del", "DELETE FROM access_subject WHERE access_id = 7",
                                head=None)
        check(rc == 1 and "per-person index" in out and "missing" in out,
              f"index rows deleted: {rc} {out}")
        _, (rc, out) = attacked("index-add", "INSERT INTO access_subject (access_id, cf) "
                                "VALUES (8, 'RSSMRA80A01F257X')", head=None)
        check(rc == 1 and "extra row: record 8, RSSMRA80A01F257X" in out,
              f"an index row added: {rc} {out}")
        _, (rc, out) = attacked("index-move", "UPDATE access_subject SET access_id = 9 "
                                "WHERE access_id = 7", head=None)
        check(rc == 1 and "re-pointed from record 7 to 9" in out,
              f"index rows re-pointed: {rc} {out}")
        # a fork: another head of the same size, signed with the deployment's key
        fork = keep(srv, "fork.txt", forged_head(srv, origin, size,
                                                 hashlib.sha256(b"altro ramo").digest()))
        rc, out = verify(srv.db, fork)
        check(rc == 1 and "fork" in out, f"two heads of size {size}: {rc} {out}")
        # a head from another deployment
        with Server() as other:
            rc, other_head = cli("audit", "head", "--db", other.db)
            eq(rc, 0, f"the other deployment's head: {other_head}")
        rc, out = verify(srv.db, keep(srv, "other.txt", other_head))
        check(rc == 1 and "not this trail's" in out, f"another deployment's head: {rc} {out}")
        # a kept head altered by hand
        bad = kept.replace(f"\n{size}\n", f"\n{size - 1}\n")
        rc, out = verify(srv.db, keep(srv, "bad.txt", bad))
        check(rc == 1 and "not this trail's" in out, f"a kept head altered: {rc} {out}")


if __name__ == "__main__":
    run_tests(globals())
