#!/usr/bin/env python3
"""End-to-end: workstation certificates (mutual TLS).  The municipality's
CA (`visura ca`) issues a client certificate per workstation; an agreement
can require one; a missing, foreign, unknown or revoked certificate is
refused with a clear error, and the certificate's identity is recorded with
each access."""
import http.client
import json
import os
import re
import ssl
import stat
import subprocess
import tempfile

import harness
from harness import *  # noqa: F401,F403


class WithCA:
    """Population loader that also creates the CA before `serve` starts."""

    def __init__(self):
        self.pop = harness.Population(persons=600, comuni="036023", seed=4)

    def load_into(self, db, work_dir):
        self.pop.load_into(db, work_dir)
        p = subprocess.run([harness.VISURA, "ca", "init", "--db", db], capture_output=True, text=True)
        check(p.returncode == 0, f"ca init: {p.stderr}")


def issue(srv, ente_id, name):
    out = tempfile.mkdtemp(prefix="visura-ws-")
    p = subprocess.run([harness.VISURA, "ca", "issue", "--db", srv.db, "--ente-id", str(ente_id),
                        "--name", name, "--out", out], capture_output=True, text=True)
    check(p.returncode == 0, f"ca issue: {p.stderr}")
    serial = re.search(r"numero di serie ([0-9a-f]+)", p.stdout).group(1)
    return os.path.join(out, name + ".cert.pem"), os.path.join(out, name + ".key.pem"), serial


def call(srv, path, token, cert=None):
    ctx = ssl.create_default_context(cafile=srv.cert)
    if cert:
        ctx.load_cert_chain(cert[0], cert[1])
    c = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx, timeout=20)
    c.request("GET", path, headers={"Authorization": "Bearer " + token,
                                    "X-Visura-On-Behalf-Of": "agente 12"})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, json.loads(body or b"null")


def test_workstation_certificates():
    hook = WithCA()
    with Server(population=hook) as srv:
        ente = srv.create_ente(kind="police")
        other = srv.create_ente()
        conv = srv.create_agreement(ente["id"], ["identity"], comuni=("036023",),
                                    workstation_cert=True)
        acc, _ = srv.create_account("api", ente["id"])
        token = expect(srv.admin().post(f"/api/v1/accounts/{acc['id']}/tokens",
                                        {"name": "ws"}), 201)["token"]
        cf = hook.pop.snapshot[0]["cf"]
        path = f"/api/v1/persons?purpose={conv['purpose_id']}&cf={cf}"

        st, body = call(srv, path, token)
        eq((st, body["error"]["code"]), (403, "workstation_certificate_required"), "no certificate")

        ws = issue(srv, ente["id"], "ws-01")
        before = srv.access_last_id()
        st, body = call(srv, path, token, ws[:2])
        eq(st, 200, f"with the body's workstation certificate: {body}")
        rec = srv.access_log(before)[-1]
        eq(rec["workstation"], ws[2], "the certificate is recorded with the access")

        foreign = issue(srv, other["id"], "ws-other")
        st, body = call(srv, path, token, foreign[:2])
        eq((st, body["error"]["code"]), (403, "workstation_certificate_unknown"),
           "another body's workstation")

        # A certificate that does not chain to the CA counts as none.
        d = tempfile.mkdtemp()
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{d}/k.pem", "-out",
                        f"{d}/c.pem", "-days", "2", "-subj", "/CN=intruder"],
                       capture_output=True)
        if os.path.exists(f"{d}/c.pem"):
            st, body = call(srv, path, token, (f"{d}/c.pem", f"{d}/k.pem"))
            check(st == 403, f"a self-made certificate is refused ({st})")

        p = subprocess.run([harness.VISURA, "ca", "revoke", "--db", srv.db, ws[2]],
                           capture_output=True, text=True)
        eq(p.returncode, 0, "revoke")
        st, body = call(srv, path, token, ws[:2])
        eq((st, body["error"]["code"]), (403, "workstation_certificate_revoked"), "revoked")
        outcomes = [r["outcome"] for r in srv.access_log(before)]
        check("refused:workstation_certificate_revoked" in outcomes, "refusals are recorded")
        rc, out = audit_verify(srv.db)
        eq(rc, 0, f"chain intact: {out}")

        # The directory of `ca issue --out` is the operator's: a link where
        # the key goes is not written through, a FIFO where the certificate
        # goes is not replaced, and neither leaves a new key behind.
        d = tempfile.mkdtemp(prefix="visura-ws-")
        victim = os.path.join(d, "victim")
        with open(victim, "w") as f:
            f.write("intatto\n")
        os.symlink(victim, os.path.join(d, "ws-link.key.pem"))
        os.mkfifo(os.path.join(d, "ws-fifo.cert.pem"))
        for name, what in (("ws-link", "la chiave"), ("ws-fifo", "il certificato")):
            p = subprocess.run([harness.VISURA, "ca", "issue", "--db", srv.db, "--ente-id",
                                str(ente["id"]), "--name", name, "--out", d],
                               capture_output=True, text=True, timeout=60)
            check(p.returncode != 0 and what in p.stderr and "non un file regolare" in p.stderr,
                  f"ca issue over a {name[3:]} refused: {p.returncode} {p.stderr}")
        with open(victim) as f:
            eq(f.read(), "intatto\n", "the link's target untouched")
        check(os.path.islink(os.path.join(d, "ws-link.key.pem")), "the link left")
        check(stat.S_ISFIFO(os.lstat(os.path.join(d, "ws-fifo.cert.pem")).st_mode),
              "the FIFO left")
        eq(sorted(os.listdir(d)), ["victim", "ws-fifo.cert.pem", "ws-link.key.pem"],
           "no key and no temporary left")


if __name__ == "__main__":
    run_tests(globals())
