#!/usr/bin/env python3
"""End-to-end: test-only behaviour lives only in the test binary.

The suites run `visura-test`; beside it the build makes `visura`, the
release binary (installed, run by scripts/demo.sh).  The release binary
refuses the test clock and ignores VISURA_TEST_NOW, so that
`VISURA_TEST_NOW=2099-01-01 visura audit purge` cannot purge a fresh
trail; the test binary announces its test clock at start and on /readyz."""
import os
import subprocess

import harness
from harness import *  # noqa: F401,F403


def release_binary():
    path = os.path.join(os.path.dirname(harness.VISURA), "visura")
    check(os.path.exists(path) and os.path.abspath(path) != harness.VISURA,
          f"no release binary beside the test binary: {path}")
    return path


def _fresh_trail(srv):
    """One access record and its signed checkpoint, made a moment ago."""
    ente = srv.create_ente()
    conv = srv.create_agreement(ente["id"], ["identity"])
    op = srv.user("operator", ente["id"])
    r = op.get(f"/api/v1/persons/{new_cf()}?purpose={conv['purpose_id']}&case_ref=K-1")
    check(r.status in (200, 404), f"a look-up: {r}")
    last = srv.access_log_tail(1)
    check(last, "the look-up left an access record")
    # The writer signs a checkpoint a minute after the last one; rather than
    # wait, one is written now (purge only needs its time and record id).
    db_exec(srv.db, ("INSERT INTO audit_checkpoint (at, last_id, last_hash, signature)"
                     " VALUES (?, ?, ?, ?)", (int(time.time()), last[0]["id"], last[0]["hash"], "-")))


def _purge(binary, db):
    env = dict(os.environ, VISURA_TEST_NOW="2099-01-01")
    p = subprocess.run([binary, "audit", "purge", "--db", db], capture_output=True, text=True,
                       env=env)
    eq(p.returncode, 0, f"audit purge: {p.stdout}{p.stderr}")
    return p.stdout


def test_release_binary_ignores_test_now():
    with Server() as srv:
        _fresh_trail(srv)
        before = len(srv.access_log())
        srv.stop()
        out = _purge(release_binary(), srv.db)
        check(out.startswith("0 registrazioni di accesso eliminate"), f"release purge removed records: {out}")
        eq(len(srv.access_log()), before, "the trail is intact")
        # The same command through the test binary does move the date: the
        # check above is not vacuous.
        out = _purge(harness.VISURA, srv.db)
        check(not out.startswith("0 "), f"the test binary did not purge: {out}")


def test_release_binary_refuses_test_clock():
    d = tempfile.mkdtemp(prefix="visura-release-")
    try:
        p = subprocess.run([release_binary(), "serve", "--self-signed", os.path.join(d, "tls"),
                            "--test-clock", "true", "--check"] + harness.serve_user_args(),
                           capture_output=True, text=True)
        eq(p.returncode, 2, f"release serve with a test clock: {p.stdout}{p.stderr}")
        check("comandi di prova" in p.stderr, f"the refusal says why: {p.stderr}")
        p = subprocess.run([harness.VISURA, "serve", "--self-signed", os.path.join(d, "tls"),
                            "--test-clock", "true", "--check"] + harness.serve_user_args(),
                           capture_output=True, text=True)
        eq(p.returncode, 0, f"the test binary accepts it: {p.stdout}{p.stderr}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_test_clock_announced():
    with Server() as srv:
        r = srv.request("GET", "/readyz")
        eq(r.status, 200, "ready")
        check("TEST CLOCK" in (r.json or {}).get("warning", ""), f"/readyz warns: {r.body!r}")
        check("level=warn" in srv.log_text() and "TEST CLOCK ON" in srv.log_text(),
              "a warning at start")
    with Server(test_clock=False) as srv:
        r = srv.request("GET", "/readyz")
        check("warning" not in r.json, f"no warning without the test clock: {r.body!r}")


if __name__ == "__main__":
    run_tests(globals())
