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
import datetime
import hashlib
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import harness
from harness import Server, check, eq, expect, run_tests
from trail_common import (ALL, POP, Conn, Env, _G, _L, _P, _load, _mul, _node, b64url, chain_hash,
                        db_copy, db_exec, db_rows, head_signed, inclusion_ok, leaf_hash,
                        parse_head, public_key, registered, relogin)


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


def lookups(srv, client, pid, cfs, n, case):
    """n consultations, one after the other: [(access id, receipt, answer file)]."""
    conn = Conn(srv, client)
    out = []
    try:
        for i in range(n):
            r = conn.get(f"/api/v1/persons/{cfs[i % len(cfs)]}?purpose={pid}&case_ref={case}-{i}")
            expect(r, 200, what=f"look-up {case}-{i}")
            path = os.path.join(srv.dir, f"answer-{case}-{i}.json")
            with open(path, "wb") as f:
                f.write(r.body)
            out.append((int(r.header("X-Visura-Access-Id")), r.header("X-Visura-Receipt"), path))
    finally:
        conn.close()
    return out


def mth(leaves):
    """RFC 9162 2.1.1: the root of a tree of these leaves."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1 << ((n - 1).bit_length() - 1)
    return _node(mth(leaves[:k]), mth(leaves[k:]))


def tree_nodes(leaves):
    """Every complete node (level, idx, hash) of the tree of these leaves."""
    out, level, cur = [], 0, list(leaves)
    while cur:
        out += [(level, i, h) for i, h in enumerate(cur)]
        cur = [_node(cur[i], cur[i + 1]) for i in range(0, len(cur) - 1, 2)]
        level += 1
    return out


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
        check("estende la testa conservata" in out, out)
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
        # The attacks below are on copies, checked offline: the server is
        # stopped first, so that each copy is a template copy on
        # PostgreSQL (harness.db_copy), not a dump.
        srv.stop()

        def attacked(name, *statements, head=kept_path):
            path = db_copy(srv, name)
            if statements:
                db_exec(path, *statements)
            return path, verify(path, head)

        # the last records deleted
        _, (rc, out) = attacked("tail", f"DELETE FROM access_subject WHERE access_id > {size - 3}",
                                f"DELETE FROM access_log WHERE id > {size - 3}")
        check(rc == 1 and "rimosse" in out, f"the last records deleted: {rc} {out}")
        # truncated to an earlier size, tree, heads and checkpoints with it:
        # the old head replayed as the latest
        path, (rc, out) = attacked(
            "rollback", f"DELETE FROM access_subject WHERE access_id > {k1}",
            f"DELETE FROM access_log WHERE id > {k1}",
            f"DELETE FROM audit_tree WHERE ((idx + 1) << CAST(level AS INTEGER)) > {k1}",
            f"DELETE FROM audit_head WHERE size > {k1}",
            f"DELETE FROM audit_checkpoint WHERE last_id > {k1}")
        check(rc == 1 and "troncamento o ritorno indietro" in out,
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
        check(rc == 1 and "testa firmata" in out and "alterat" in out,
              f"an edit with the chain recomputed, caught by the signed heads: {rc} {out}")
        db_exec(path, "DELETE FROM audit_head WHERE size >= 10", "DELETE FROM audit_checkpoint")
        rc, out = verify(path, kept_path)
        check(rc == 1 and ("alcuna testa firmata" in out or "nessuna testa firmata" in out),
              f"and with the heads after it deleted too: {rc} {out}")
        # truncated to other earlier sizes, tree and heads cut to match
        for cut in sorted({1, size // 2, size - 1}):
            _, (rc, out) = attacked(
                f"cut{cut}", f"DELETE FROM access_subject WHERE access_id > {cut}",
                f"DELETE FROM access_log WHERE id > {cut}",
                f"DELETE FROM audit_tree WHERE ((idx + 1) << CAST(level AS INTEGER)) > {cut}",
                f"DELETE FROM audit_head WHERE size > {cut}",
                f"DELETE FROM audit_checkpoint WHERE last_id > {cut}")
            check(rc == 1 and f"contiene {cut} registrazioni ma una testa conservata ne ha firmate {size}" in out
                  and "troncamento o ritorno indietro" in out, f"truncated to {cut}: {rc} {out}")
        # every checkpoint and head deleted
        _, (rc, out) = attacked("noheads", "DELETE FROM audit_checkpoint",
                                "DELETE FROM audit_head", head=None)
        check(rc == 1 and "le teste sono state cancellate" in out, f"heads deleted: {rc} {out}")
        _, (rc, out) = attacked("noheads-kept", "DELETE FROM audit_checkpoint",
                                "DELETE FROM audit_head")
        check(rc == 1 and "le teste sono state cancellate" in out,
              f"heads deleted, against the kept head: {rc} {out}")
        # wiped
        _, (rc, out) = attacked("wipe", "DELETE FROM access_subject", "DELETE FROM access_log",
                                "DELETE FROM audit_tree", "DELETE FROM audit_head",
                                "DELETE FROM audit_checkpoint")
        check(rc == 1 and "svuotato" in out, f"a wiped trail: {rc} {out}")
        # the per-person index (what the art. 15 and citizen reports read)
        _, (rc, out) = attacked("index-del", "DELETE FROM access_subject WHERE access_id = 7")
        check(rc == 1 and "indice per persona" in out and "manca" in out,
              f"index rows deleted: {rc} {out}")
        _, (rc, out) = attacked("index-add", "INSERT INTO access_subject (access_id, cf) "
                                "VALUES (8, 'RSSMRA80A01F257X')")
        check(rc == 1 and "riga in più: registrazione 8, RSSMRA80A01F257X" in out,
              f"an index row added: {rc} {out}")
        _, (rc, out) = attacked("index-move", "UPDATE access_subject SET access_id = 9 "
                                "WHERE access_id = 7")
        check(rc == 1 and "spostato dalla registrazione 7 alla 9" in out,
              f"index rows re-pointed: {rc} {out}")
        # a fork: another head of the same size, signed with the deployment's key
        fork = keep(srv, "fork.txt", forged_head(srv, origin, size,
                                                 hashlib.sha256(b"altro ramo").digest()))
        rc, out = verify(srv.db, fork)
        check(rc == 1 and "biforcazione" in out, f"two heads of size {size}: {rc} {out}")
        # a fork inside the database: history rewritten from record 10 by
        # someone who also holds the signing key — chain, tree and every
        # head redone and re-signed; only the kept head shows it
        path = db_copy(srv, "fork-db")
        rows = db_rows(path, "SELECT * FROM access_log ORDER BY id")
        prev, updates = "", []
        for row in rows:
            if row["id"] == 10:
                row["case_ref"] = "ALTRO-RAMO"
            if row["id"] >= 10:
                row["prev_hash"] = prev
                row["hash"] = chain_hash(row, prev)
                updates.append(("UPDATE access_log SET case_ref = ?, prev_hash = ?, hash = ? "
                                "WHERE id = ?", (row["case_ref"], row["prev_hash"], row["hash"],
                                                 row["id"])))
            prev = row["hash"]
        leaves = [leaf_hash(row) for row in rows]
        updates += ["DELETE FROM audit_tree", "DELETE FROM audit_checkpoint"]
        updates += [("INSERT INTO audit_tree (level, idx, hash) VALUES (?, ?, ?)",
                     (lv, i, h.hex())) for lv, i, h in tree_nodes(leaves)]
        for hr in db_rows(path, "SELECT size FROM audit_head"):
            n = int(hr["size"])
            updates.append(("UPDATE audit_head SET root = ?, note = ? WHERE size = ?",
                            (mth(leaves[:n]).hex(), forged_head(srv, origin, n, mth(leaves[:n])),
                             n)))
        db_exec(path, *updates)
        rc, out = verify(path)
        eq(rc, 0, f"a history re-signed with the key is consistent from inside: {out}")
        rc, out = verify(path, kept_path)
        check(rc == 1 and "non estende la testa conservata" in out and "biforcazione" in out,
              f"the re-signed fork against the kept head: {rc} {out}")
        # a head from another deployment
        with Server() as other:
            rc, other_head = cli("audit", "head", "--db", other.db)
            eq(rc, 0, f"the other deployment's head: {other_head}")
        rc, out = verify(srv.db, keep(srv, "other.txt", other_head))
        check(rc == 1 and "non è di questo registro degli accessi" in out, f"another deployment's head: {rc} {out}")
        # a kept head altered by hand
        bad = kept.replace(f"\n{size}\n", f"\n{size - 1}\n")
        rc, out = verify(srv.db, keep(srv, "bad.txt", bad))
        check(rc == 1 and "non è di questo registro degli accessi" in out, f"a kept head altered: {rc} {out}")


def test_purge_keeps_heads_and_receipts():
    """Retention purges old records (while the server runs): their content
    and per-person index rows go, their leaves stay; every kept head still
    verifies, the count of purged records is reported, their receipts
    verify ("purged on"), and a record removed outside a signed purge is
    named."""
    srv = Server(population=POP)
    heads_file = os.path.join(srv.dir, "heads.txt")
    srv.options["trail_heads_file"] = heads_file
    with srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        cfs = [p["cf"] for p in registered(env.pop)[:10]]
        old = lookups(srv, env.op, pid, cfs, 8, "OLD")
        rc, early = cli("audit", "head", "--db", srv.db)
        eq(rc, 0, f"audit head: {early}")
        cutoff_day = datetime.date.fromtimestamp(srv.now()) + datetime.timedelta(days=1)
        cutoff_ms = int(datetime.datetime.combine(
            cutoff_day, datetime.time(), datetime.timezone.utc).timestamp()) * 1000
        srv.advance(3 * harness.DAY)
        relogin(env.op)
        new = lookups(srv, env.op, pid, cfs, 5, "NEW")
        rc, kept = cli("audit", "head", "--db", srv.db)
        kept_path, early_path = keep(srv, "kept.txt", kept), keep(srv, "early.txt", early)
        n_old = len([r for r in srv.access_log() if r["at"] < cutoff_ms])
        last_old = max(r["id"] for r in srv.access_log() if r["at"] < cutoff_ms)
        check(n_old >= len(old) and last_old == n_old, f"old records 1..{last_old}")
        rc, out = cli("audit", "purge", "--db", srv.db, "--before", cutoff_day.isoformat())
        eq(rc, 0, f"audit purge: {out}")
        check(out.startswith(f"{n_old} registrazioni di accesso eliminate (fino alla registrazione {n_old})"),
              f"the records before the cutoff: {out}")
        after = lookups(srv, env.op, pid, cfs, 3, "AFTER")
        eq(after[0][0], max(a for a, _, _ in new) + 1, "the ids go on after the purge")
        count = lambda sql: int(db_rows(srv.db, "SELECT count(*) AS n FROM " + sql)[0]["n"])
        eq(count(f"access_log WHERE id <= {n_old}"), 0, "the purged records' content is gone")
        eq(count(f"access_subject WHERE access_id <= {n_old}"), 0, "and their index rows")
        eq(count(f"audit_tree WHERE level = 0 AND idx < {n_old}"), n_old, "their leaves stay")
        check(count("access_log") >= len(new) + len(after), "the rest stays")
        today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
        for head in (kept_path, early_path):
            rc, out = verify(srv.db, head)
            eq(rc, 0, f"the trail still extends the head kept before the purge: {out}")
            check(f"{n_old} eliminate per fine conservazione (ultima eliminazione {today}" in out, out)
        notes = heads_in(heads_file)
        for note in notes[:: max(1, len(notes) // 6)] + notes[-1:]:
            rc, out = verify(srv.db, keep(srv, "published.txt", note))
            eq(rc, 0, f"a published head verifies after the purge: {out}")
        r = expect(srv.admin().get("/api/v1/audit/verify"), 200, what="verify").json
        check(r["intact"] and r["purged"] == n_old, f"the API counts the purged records: {r}")
        rc, pk = cli("audit", "key", "--db", srv.db)
        for aid, receipt, body in old:
            rc, out = cli("audit", "verify-receipt", "--db", srv.db, receipt, body)
            check(rc == 0 and f"esistita, eliminata il {today}" in out,
                  f"the receipt of purged record {aid}: {rc} {out}")
            rc, out = cli("audit", "verify-receipt", "--key", pk.strip(), receipt, body)
            eq(rc, 0, f"and offline, proof against its head: {out}")
        rc, out = cli("audit", "verify-receipt", "--db", srv.db, new[0][1], new[0][2])
        check(rc == 0 and "eliminata il" not in out, f"a kept record's receipt: {out}")
        # a record removed outside a purge; a purge forged or moved (on
        # copies, checked offline: the server stopped first, so that each
        # is a template copy on PostgreSQL, harness.db_copy)
        srv.stop()
        first = n_old + 1
        path = db_copy(srv, "deleted")
        db_exec(path, f"DELETE FROM access_subject WHERE access_id = {first}",
                f"DELETE FROM access_log WHERE id = {first}")
        rc, out = verify(path, kept_path)
        check(rc == 1 and f"mancano le registrazioni da 1 a {first} e nessuna eliminazione per conservazione firmata"
              in out, f"a record deleted beyond the purge: {rc} {out}")
        rc, out = cli("audit", "verify-receipt", "--db", path, new[0][1], new[0][2])
        check(rc == 1 and "nessuna eliminazione per conservazione firmata la copre" in out,
              f"its receipt names the deletion: {rc} {out}")
        path = db_copy(srv, "forged-purge")
        db_exec(path, f"UPDATE audit_purge SET up_to = {first}",
                f"DELETE FROM access_subject WHERE access_id = {first}",
                f"DELETE FROM access_log WHERE id = {first}")
        rc, out = verify(path, kept_path)
        check(rc == 1 and f"eliminazione per conservazione fino alla registrazione {first} ha una firma non valida" in out,
              f"a purge moved forward by hand: {rc} {out}")


def test_export_bundle_offline():
    """`audit export --format bundle`: records, proofs, head and key in one
    file; `verify-export --key` checks it with no database and names what
    fails: an altered record, a record missing from the range, a proof
    against another head, a head from another deployment."""
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        cfs = [p["cf"] for p in registered(env.pop)[:4]]
        lookups(srv, env.op, pid, cfs, 12, "EXP")
        rc, pk = cli("audit", "key", "--db", srv.db)
        pk = pk.strip()
        bundle = os.path.join(srv.dir, "export.json")
        rc, out = cli("audit", "export", "--db", srv.db, "--format", "bundle", "--out", bundle)
        eq(rc, 0, f"export bundle: {out}")
        with open(bundle, encoding="utf-8") as f:
            doc = json.load(f)
        n = len(doc["records"])
        check(n >= 12, f"every record: {n}")
        eq(doc["public_key"], pk, "the public key")
        check(head_signed(doc["head"], bytes.fromhex(pk)), "the head is signed")
        _, size, root, _, _ = parse_head(doc["head"])
        eq(doc["range"], {"first": 1, "last": n}, "a range, complete")
        for e in doc["records"]:
            leaf = bytes.fromhex(e["leaf"])
            eq(leaf, leaf_hash(e["record"]), f"record {e['record']['id']}: its leaf")
            check(inclusion_ok(leaf, e["index"], size, [base64.b64decode(x) for x in e["proof"]],
                               root), f"record {e['record']['id']}: its proof (RFC 9162)")
        rc, out = cli("audit", "verify-export", bundle, "--key", pk)
        check(rc == 0 and f"ok: {n} registrazioni" in out and f"registrazioni da 1 a {n} completo" in out,
              f"verify-export offline: {rc} {out}")

        def tampered(name, change):
            d = json.loads(json.dumps(doc))
            change(d)
            path = os.path.join(srv.dir, name)
            with open(path, "w", encoding="utf-8") as f:
                json.dump(d, f)
            return cli("audit", "verify-export", path, "--key", pk)

        rc, out = tampered("altered.json",
                           lambda d: d["records"][3]["record"].update(case_ref="RITOCCATO"))
        check(rc == 1 and "la registrazione 4 è stata alterata" in out, f"an altered record: {rc} {out}")
        rc, out = tampered("missing.json", lambda d: d["records"].pop(5))
        check(rc == 1 and "la registrazione 6 manca dall'intervallo esportato" in out,
              f"a record removed from the file: {rc} {out}")
        rc, out = tampered("short.json", lambda d: d["records"].pop())
        check(rc == 1 and f"la registrazione {n} manca dall'intervallo esportato" in out,
              f"the last record removed from the file: {rc} {out}")
        lookups(srv, env.op, pid, cfs, 3, "LATER")
        rc, later = cli("audit", "head", "--db", srv.db)
        check(parse_head(later)[1] > size, "a later head")
        rc, out = tampered("wrong-head.json", lambda d: d.update(head=later))
        check(rc == 1 and "non porta alla radice della testa" in out
              and "un'altra testa" in out, f"the proofs against another head: {rc} {out}")
        with Server() as other:
            rc, other_head = cli("audit", "head", "--db", other.db)
            rc, other_pk = cli("audit", "key", "--db", other.db)
        rc, out = tampered("other-head.json", lambda d: d.update(head=other_head))
        check(rc == 1 and "un'altra installazione" in out, f"another deployment's head: {rc} {out}")
        rc, out = cli("audit", "verify-export", bundle, "--key", other_pk.strip())
        check(rc == 1 and "un'altra installazione" in out, f"checked with another key: {rc} {out}")
        # by person: a selection, its completeness not claimed
        sel = os.path.join(srv.dir, "person.json")
        rc, out = cli("audit", "export", "--db", srv.db, "--format", "bundle", "--cf", cfs[0],
                      "--out", sel)
        eq(rc, 0, f"export by person: {out}")
        rc, out = cli("audit", "verify-export", sel, "--key", pk)
        check(rc == 0 and "la sua completezza non si può dimostrare" in out, f"a selection: {rc} {out}")
        # the same bundle from the API
        for query, what in (("", f"registrazioni da 1 a "), (f"&purpose_id={pid}", "una selezione")):
            r = expect(srv.admin().get(f"/api/v1/audit/access?format=bundle{query}"), 200,
                       what="the bundle from the API")
            eq(r.header("Content-Type"), "application/vnd.visura.trail-export+json", "its type")
            path = os.path.join(srv.dir, "api-bundle.json")
            with open(path, "wb") as f:
                f.write(r.body)
            rc, out = cli("audit", "verify-export", path, "--key", pk)
            check(rc == 0 and what in out, f"the API's bundle{query} verifies offline: {out}")
        # the CSV and its signature as before
        csv_path = os.path.join(srv.dir, "export.csv")
        rc, out = cli("audit", "export", "--db", srv.db, "--format", "csv", "--out", csv_path)
        eq(rc, 0, f"export csv: {out}")
        rc, out = cli("audit", "verify-export", "--db", srv.db, csv_path)
        eq(rc, 0, f"the CSV verifies as before: {out}")


if __name__ == "__main__":
    run_tests(globals())
