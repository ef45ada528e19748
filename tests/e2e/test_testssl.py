#!/usr/bin/env python3
"""End-to-end: TLS as an outside scanner sees it.  testssl.sh (Debian's
testssl, scripts/deps.sh installs it) checks protocols, cipher categories,
server defaults and the known vulnerabilities: any "NOT ok" or
"VULNERABLE" line fails, except what a self-signed test certificate
explains and BREACH on "/" (the interface's static page is compressed,
nothing carrying a secret is: test_http_front.py).  Each property of
Mozilla's "intermediate" profile is also checked directly with openssl
s_client (test_tls.py).

Registered on SQLite only (CMakeLists.txt): the scan sees the TLS stack,
which the database back end does not change, and takes over a minute."""
import os
import re
import shutil
import subprocess
import tempfile

from harness import *  # noqa: F401,F403

# What a self-signed certificate without revocation information explains,
# and BREACH on the static page.
EXPLAINED = (
    re.compile(r"^\s*Chain of trust\s+NOT ok \(self signed\)"),
    re.compile(r"^\s*NOT ok -- neither CRL nor OCSP URI provided"),
    re.compile(r'^\s*BREACH \(CVE-2013-3587\)\s+potentially NOT ok, "gzip" HTTP compression '
               r'detected\. - only supplied "/" tested'),
)


def test_testssl_finds_nothing():
    testssl = shutil.which("testssl") or shutil.which("testssl.sh")
    check(testssl is not None, "testssl is not installed (scripts/deps.sh installs testssl.sh)")
    with Server() as srv:
        p = subprocess.run([testssl, "--quiet", "--color", "0", "--warnings", "batch", "--fast",
                            "-p", "-s", "-S", "-U", f"127.0.0.1:{srv.port}"],
                           capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, TMPDIR=tempfile.gettempdir()))
        out = p.stdout
        bad = [line for line in out.splitlines()
               if ("NOT ok" in line or "VULNERABLE" in line)
               and not any(e.search(line) for e in EXPLAINED)]
        check(not bad, "testssl findings:\n" + "\n".join(bad))
        # (Resumption is checked with s_client, test_tls.py: testssl's probe of it
        # exits before a TLS 1.3 ticket arrives on a loaded machine.)
        for want in (r"TLS 1\.2\s+offered", r"TLS 1\.3\s+offered",
                     r"TLS 1\.1\s+not offered", r"Obsolete CBC ciphers.*not offered",
                     r"Secure Client-Initiated Renegotiation\s+not vulnerable",
                     r"LUCKY13.*not vulnerable"):
            check(re.search(want, out), f"testssl output lacks /{want}/:\n{out[-4000:]}")


if __name__ == "__main__":
    run_tests(globals())
