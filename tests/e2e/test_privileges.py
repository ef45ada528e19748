#!/usr/bin/env python3
"""End-to-end: `visura serve` started as root binds its ports, reads its keys
and certificates, then becomes the user it was told to (option `user`) and
cannot become root again; without that option, root is refused.

CI runs the suites as root: the harness gives every server `--user
visura-test`.  Run as another user, the root-only checks cannot be made
and the tests say so by failing."""
import os
import pwd
import signal
import subprocess

import harness
from harness import *  # noqa: F401,F403


def _serve(srv, *extra):
    return subprocess.run([harness.VISURA, "serve", "--db", srv.db, "--self-signed", srv.tls_dir,
                           "--listen", f"127.0.0.1:{free_port()}", "--metrics-listen", "",
                           *extra], capture_output=True, text=True, timeout=30)


def _status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def test_root_without_user_refused():
    check(os.geteuid() == 0, "these tests run as root (as CI does)")
    with Server() as srv:
        srv.stop()
        p = _serve(srv)
        eq(p.returncode, 2, f"root without 'user': {p.stdout}{p.stderr}")
        check("non si esegue come root" in p.stderr, f"says why: {p.stderr}")
        p = _serve(srv, "--user", "root")
        eq(p.returncode, 2, f"user = root: {p.stderr}")
        p = _serve(srv, "--user", "no-such-user-visura")
        eq(p.returncode, 2, f"an unknown user: {p.stderr}")


def test_running_server_dropped_root():
    check(os.geteuid() == 0, "these tests run as root (as CI does)")
    pw = pwd.getpwnam(harness.TEST_USER)
    with Server() as srv:
        srv.admin()        # the server works as that user: logins write
        st = _status(srv.proc.pid)
        uid = f"{pw.pw_uid}\t{pw.pw_uid}\t{pw.pw_uid}\t{pw.pw_uid}"
        gid = f"{pw.pw_gid}\t{pw.pw_gid}\t{pw.pw_gid}\t{pw.pw_gid}"
        eq(st["Uid"], uid, "real, effective, saved and file-system uid")
        eq(st["Gid"], gid, "real, effective, saved and file-system gid")
        groups = st.get("Groups", "").split()
        check("0" not in groups, f"no root group left: {groups}")
        eq(st["CapEff"], "0000000000000000", "no capability left")
        # Every thread, not only the main one.
        for tid in os.listdir(f"/proc/{srv.proc.pid}/task"):
            eq(_status(f"{srv.proc.pid}/task/{tid}")["Uid"], uid, f"thread {tid}")
        check('msg="privilegi ridotti"' in srv.log_text(), "the log says so")


def test_log_kept_when_it_cannot_be_reopened():
    """After the drop the server cannot create files where only root can:
    a rotated log whose directory is root's is kept, and says so."""
    check(os.geteuid() == 0, "these tests run as root (as CI does)")
    d = tempfile.mkdtemp(prefix="visura-log-")      # root's, 0700
    try:
        log = os.path.join(d, "visura.log")
        kept = 'msg="log non riaperto: resta sul file precedente"'
        with Server(log_file=log) as srv:
            os.rename(log, log + ".1")
            srv.signal(signal.SIGHUP)
            text = ""
            for _ in range(50):
                expect(srv.request("GET", "/healthz"), 200)
                text = open(log + ".1").read()
                if kept in text and "route=/healthz" in text.split(kept)[1]:
                    break
                time.sleep(0.1)
            check(not os.path.exists(log), "no new file where only root may write")
            check(kept in text, f"the failure is logged:\n{text[-800:]}")
            check("route=/healthz" in text.split(kept)[1], "and logging goes on")
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    run_tests(globals())
