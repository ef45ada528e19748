#!/usr/bin/env python3
"""End-to-end: /readyz tries a durable write.  The disk under the store is
filled up (a small tmpfs: the SQLite database lives on it; on PostgreSQL
the tables /readyz and the access trail write go to a tablespace on it):
/readyz must answer 503 on both listeners, and 200 again once there is
room.  Needs mount (root)."""
import os
import shutil
import subprocess
import tempfile
import time

import harness
from harness import *  # noqa: F401,F403


def sh(*cmd):
    p = subprocess.run(list(cmd), capture_output=True, text=True)
    check(p.returncode == 0, f"{' '.join(cmd)}: {p.stderr}")


def psql(db, sql):
    p = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", harness._conninfo(db),
                        "-c", sql], capture_output=True, text=True)
    check(p.returncode == 0, f"psql: {sql}: {p.stderr}")


def fill(path):
    """Writes zeros into path until the file system is full."""
    with open(path, "wb") as f:
        block = b"\0" * (1 << 20)
        try:
            while True:
                f.write(block)
                f.flush()
        except OSError:
            pass
    try:   # the last bytes a partial block can take
        with open(path + ".2", "wb") as f:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
    except OSError:
        pass


def readyz(srv):
    r = srv.request("GET", "/readyz")
    c = http.client.HTTPConnection("127.0.0.1", srv.metrics_port, timeout=10)
    c.request("GET", "/readyz")
    ops = c.getresponse()
    ops.read()
    c.close()
    return r, ops.status


def test_readyz_fails_on_a_full_disk():
    pg = harness.BACKEND != "sqlite"
    srv = Server()
    mnt = tempfile.mkdtemp(prefix="visura-full-") if pg else srv.dir
    sh("mount", "-t", "tmpfs", "-o", "size=24m,mode=0755", "tmpfs", mnt)
    try:
        with srv:
            if pg:
                sh("chown", "postgres:", mnt)
                psql(srv.db, f"CREATE TABLESPACE full_{srv.tag} LOCATION '{mnt}'")
                psql(srv.db, f"ALTER TABLE IF EXISTS readiness SET TABLESPACE full_{srv.tag};"
                             f"ALTER TABLE access_log SET TABLESPACE full_{srv.tag}")
            r, ops = readyz(srv)
            expect(r, 200, what="ready with room")
            eq(ops, 200, "ready on the operations listener")
            filler = os.path.join(mnt, "filler")
            fill(filler)
            time.sleep(1.1)     # past the second in which probes share one write
            r, ops = readyz(srv)
            eq(r.status, 503, f"/readyz on a full disk: {r}")
            eq(r.json["status"], "not_ready", "status")
            check("non scrivibile" in r.json["problem"], f"problem: {r.json}")
            eq(ops, 503, "/readyz of the operations listener on a full disk")
            check("database or disk is full" in srv.log_text() or "No space left" in srv.log_text()
                  or "could not extend" in srv.log_text(), "the cause is logged")
            os.unlink(filler)
            os.unlink(filler + ".2")
            time.sleep(1.1)
            r, ops = readyz(srv)
            expect(r, 200, what="ready again once there is room")
            if pg:
                psql(srv.db, "ALTER TABLE IF EXISTS readiness SET TABLESPACE pg_default;"
                             "ALTER TABLE access_log SET TABLESPACE pg_default")
                psql(srv.db, f"DROP TABLESPACE full_{srv.tag}")
    finally:
        subprocess.run(["umount", "-l", mnt], capture_output=True)
        shutil.rmtree(mnt, ignore_errors=True)


if __name__ == "__main__":
    run_tests(globals())
