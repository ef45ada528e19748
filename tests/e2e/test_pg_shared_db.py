#!/usr/bin/env python3
"""End-to-end (PostgreSQL only): a `shared_db` that does not answer.

`visura serve` on a PostgreSQL register whose companion database
(shared_db, docs/deployment.md) cannot be reached does not start: it exits
with the runtime status (3) and its last line says which database and why,
in Italian words of its own (the PostgreSQL server's text after them), not
"visura: serve: ok"."""
import os
import re
import shutil
import subprocess
import tempfile

import harness
from harness import check, eq, run_tests
from test_shared_db import _serve


def test_unreachable_companion_said():
    work = tempfile.mkdtemp(prefix="visura-e2e-shared-")
    try:
        db = harness.new_database(work, "visura")
        check(db.startswith("postgres:"), f"a PostgreSQL register: {db}")
        p = subprocess.run([harness.VISURA, "init", "--db", db, "--admin-name", harness.ADMIN_NAME,
                            "--admin-email", harness.ADMIN_EMAIL], capture_output=True, text=True)
        eq(p.returncode, 0, f"visura init: {p.stdout}{p.stderr}")
        # the register's server, a database it does not have
        missing = re.sub(r"dbname=\S+", "dbname=visura_no_such_companion", db)
        p = _serve(work, "--db", db, "--shared-db", missing)
        eq(p.returncode, 3, f"serve with an unreachable shared_db: {p.stdout}{p.stderr}")
        last = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
        check(last.startswith("visura: serve: shared_db: impossibile collegarsi a PostgreSQL"),
              f"the last line says which database and why: {last!r}")
        check("visura_no_such_companion" in last, f"and the PostgreSQL server's reason: {last!r}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    run_tests(globals())
