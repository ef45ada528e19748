#!/usr/bin/env python3
"""End-to-end: TLS as a client sees it.  openssl s_client checks each
property of Mozilla's "intermediate" profile directly: no CBC suite,
client-initiated renegotiation cut, sessions resumed (TLS 1.2 and 1.3).
The scan by testssl.sh is test_testssl.py (on SQLite only: CMakeLists.txt
says why)."""
import os
import re
import shutil
import subprocess
import tempfile

from harness import *  # noqa: F401,F403


def s_client(port, args, stdin=b"", timeout=20):
    p = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}"] + args,
                       input=stdin, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode("latin-1", "replace") + p.stderr.decode("latin-1", "replace")


def test_intermediate_profile_directly():
    with Server() as srv:
        get = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        rc, out = s_client(srv.port, ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384"],
                           get)
        check(rc != 0 and not re.search(r"Cipher is ECDHE", out),
              f"a CBC suite was accepted in TLS 1.2:\n{out[-1500:]}")
        rc, out = s_client(srv.port, ["-tls1_1"], get)
        check(rc != 0, "TLS 1.1 was accepted")
        # Client-initiated renegotiation: the connection is cut (reset, no
        # close_notify), and the server says so in its log.
        rc, out = s_client(srv.port, ["-tls1_2"], b"R\n", timeout=30)
        check("RENEGOTIATING" in out, f"s_client did not try: {out[-800:]}")
        check(rc != 0, f"the renegotiation was not refused (s_client exit 0):\n{out[-800:]}")
        check('msg="rinegoziazione TLS chiesta dal client rifiutata"' in srv.log_text(), "logged")
        # Resumption by ticket, both versions.
        d = tempfile.mkdtemp(prefix="visura-tls-")
        for v in ("-tls1_2", "-tls1_3"):
            sess = os.path.join(d, v + ".pem")
            rc, out = s_client(srv.port, [v, "-ign_eof", "-sess_out", sess], get)
            check(rc == 0 and re.search(r"^New, TLSv1\.[23]", out, re.M), f"{v} first: {out[-800:]}")
            rc, out = s_client(srv.port, [v, "-ign_eof", "-sess_in", sess], get)
            check(rc == 0 and re.search(r"^Reused, TLSv1\.[23]", out, re.M),
                  f"{v}: the session was not resumed:\n{out[-1500:]}")
            check("HTTP/1.1 200" in out, f"{v}: the resumed connection is served")
        shutil.rmtree(d, ignore_errors=True)
        # A normal client still works after all that.
        expect(srv.request("GET", "/healthz"), 200, what="healthz")


if __name__ == "__main__":
    run_tests(globals())
