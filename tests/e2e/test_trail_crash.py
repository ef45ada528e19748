#!/usr/bin/env python3
"""End-to-end: the access trail survives kill -9 under load (issue 13).

Operators run look-ups concurrently; answers leave with their receipts and
the server appends every head to its heads file.  The server is killed with
SIGKILL while look-ups are in flight, then started again on the same
database.  Every receipt that left must verify, its record present, under a
signed head the database still holds (an answer leaves only after its
record is durable), and every head published before the crash must be one
the trail after the restart extends (`visura audit verify --head`).

usage: test_trail_crash.py PATH/TO/visura [TEST...]
"""
import os
import signal
import sys
import threading

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import harness
from harness import Server, check, eq, run_tests
from trail_common import ALL, POP, Conn, Env, b64url, db_rows, parse_head, registered
from test_trail_log import cli, heads_in, keep, verify

WORKERS = 4
BEFORE_KILL = 40      # receipts received before the kill


def test_kill9_under_load():
    srv = Server(population=POP)
    heads_file = os.path.join(srv.dir, "heads.txt")
    srv.options["trail_heads_file"] = heads_file
    with srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        ops = [env.op] + [env.operator() for _ in range(WORKERS - 1)]
        cfs = [p["cf"] for p in registered(env.pop)[:40]]
        receipts, lock = [], threading.Lock()
        enough, stop = threading.Event(), threading.Event()

        def run(k, client):
            conn = Conn(srv, client, timeout=10)
            i = 0
            try:
                while not stop.is_set():
                    cf = cfs[(k * 11 + i) % len(cfs)]
                    try:
                        r = conn.get(f"/api/v1/persons/{cf}?purpose={pid}&case_ref=K-{k}-{i}",
                                     retry=False)
                    except Exception:   # noqa: BLE001 - the server was killed
                        return
                    i += 1
                    if r.status != 200:
                        continue
                    with lock:
                        receipts.append((r.header("X-Visura-Receipt"), r.body))
                        if len(receipts) >= BEFORE_KILL:
                            enough.set()
            finally:
                conn.close()

        threads = [threading.Thread(target=run, args=(k, c)) for k, c in enumerate(ops)]
        for t in threads:
            t.start()
        try:
            check(enough.wait(300), f"only {len(receipts)} answers under load")
            srv.proc.send_signal(signal.SIGKILL)     # look-ups in flight
            srv.proc.wait()
        finally:
            stop.set()
            for t in threads:
                t.join()
        eq(srv.proc.returncode, -signal.SIGKILL, "killed by SIGKILL")
        srv.proc = None
        srv.log.close()
        with lock:
            left = list(receipts)
        published = heads_in(heads_file)
        check(len(published) >= 2, f"heads were published before the kill: {len(published)}")

        srv._serve(keep_port=True)               # the same database, started again
        heads = {(int(h["size"]), h["root"]) for h in
                 db_rows(srv.db, "SELECT size, root FROM audit_head")}
        pk = cli("audit", "key", "--db", srv.db)[1].strip()
        for n, (receipt, body) in enumerate(left):
            path = os.path.join(srv.dir, f"answer-{n}.bin")
            with open(path, "wb") as f:
                f.write(body)
            rc, out = cli("audit", "verify-receipt", "--db", srv.db, receipt, path)
            eq(rc, 0, f"a receipt that left before the kill, against the trail: {out}")
            rc, out = cli("audit", "verify-receipt", "--key", pk, receipt, path)
            eq(rc, 0, f"and offline against its head: {out}")
            _, size, root, _, _ = parse_head(b64url(receipt.split(".")[6]).decode())
            check((size, root.hex()) in heads,
                  f"the head of receipt {receipt.split('.')[1]} (size {size}) is in the trail "
                  "after the restart")
        # a head whose write the kill cut short (the file not ending with a
        # whole note) was not published; every other one must verify
        with open(heads_file, encoding="utf-8") as f:
            if not f.read().endswith("\n"):
                published.pop()
        for k, note in enumerate(published):
            rc, out = verify(srv.db, keep(srv, "published.txt", note))
            eq(rc, 0, f"head {k + 1} of {len(published)}, published before the kill, is "
                      f"extended by the trail after the restart: {out}")
        rc, out = verify(srv.db)
        eq(rc, 0, f"the trail after the restart: {out}")


if __name__ == "__main__":
    run_tests(globals())
