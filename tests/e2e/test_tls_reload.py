#!/usr/bin/env python3
"""End-to-end: SIGHUP reads the TLS certificate and key again (a renewed
certificate: the municipality's CA, certbot) without dropping anything.  A
keep-alive connection opened before the reload keeps answering on the same
socket with the old certificate; a new connection gets the new one.  A bad
pair (not PEM; a key that is not the certificate's) is refused with a log
line, and the server keeps presenting the certificate it had."""
import os
import signal
import ssl
import subprocess
import tempfile
import time

from harness import *  # noqa: F401,F403

GET = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def make_pair(d, name):
    """A new self-signed ECDSA P-256 certificate for 127.0.0.1, by openssl."""
    cert, key = os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
                        "-subj", f"/CN=localhost/O=visura reload test {name}",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", key, "-out", cert], capture_output=True, text=True)
    check(p.returncode == 0, f"openssl req: {p.stderr}")
    return cert, key


def der(pem_path):
    with open(pem_path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def install(srv, cert_src, key_src):
    """Puts a pair where the server reads it, each file replaced at once
    (rename), the key 0600 and both the service user's, as after a renewal."""
    for src, dst, mode in ((cert_src, srv.cert, 0o644),
                           (key_src, os.path.join(srv.tls_dir, "key.pem"), 0o600)):
        tmp = dst + ".new"
        with open(src, "rb") as f, open(tmp, "wb") as g:
            g.write(f.read())
        os.chmod(tmp, mode)
        os.replace(tmp, dst)
    give_to_test_user(srv.tls_dir)


def hup_and_wait(srv, line):
    """SIGHUP, then waits for one more `line` in the log than before."""
    before = srv.log_text().count(line)
    srv.signal(signal.SIGHUP)
    deadline = time.monotonic() + 30
    while srv.log_text().count(line) == before:
        check(time.monotonic() < deadline,
              f"no '{line}' in the log after SIGHUP:\n{srv.log_text()[-2000:]}")
        time.sleep(0.05)


def context_for(cert):
    ctx = ssl.create_default_context(cafile=cert)
    ctx.check_hostname = True
    return ctx


def healthz_on(sock):
    sock.sendall(GET)
    answer = read_http_answer(sock)
    check(answer.startswith(b"HTTP/1.1 200"), f"answer on the kept connection: {answer[:200]!r}")


def presented(srv, cert):
    """The certificate a new connection, trusting `cert`, is shown."""
    s = srv.tls_socket(context_for(cert))
    try:
        healthz_on(s)
        return s.getpeercert(binary_form=True)
    finally:
        s.close()


def test_sighup_reloads_the_certificate_and_keeps_connections():
    d = tempfile.mkdtemp(prefix="visura-tls-reload-")
    with Server() as srv:
        old_cert = os.path.join(d, "old.crt")
        with open(srv.cert, "rb") as f, open(old_cert, "wb") as g:
            g.write(f.read())
        kept = srv.tls_socket(context_for(old_cert), timeout=20)
        try:
            healthz_on(kept)
            eq(kept.getpeercert(binary_form=True), der(old_cert), "before: the old certificate")

            new_cert, new_key = make_pair(d, "new")
            install(srv, new_cert, new_key)
            hup_and_wait(srv, 'msg="certificato TLS ricaricato"')
            # the connection made before the reload: still there, same socket
            healthz_on(kept)
            healthz_on(kept)
            eq(kept.getpeercert(binary_form=True), der(old_cert), "the kept connection")
            # a new connection: the new certificate, and only it
            eq(presented(srv, new_cert), der(new_cert), "a new connection after the reload")
            try:
                presented(srv, old_cert)
                check(False, "a new connection was still shown the old certificate")
            except ssl.SSLCertVerificationError:
                pass

            # Not PEM: refused, said, the new certificate stays.
            with open(os.path.join(d, "junk.crt"), "w") as f:
                f.write("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n"
                        "-----END CERTIFICATE-----\n")
            install(srv, os.path.join(d, "junk.crt"), new_key)
            hup_and_wait(srv, 'msg="certificato TLS non ricaricato')
            eq(presented(srv, new_cert), der(new_cert), "after a certificate that does not parse")

            # A key that is not the certificate's: refused, said, kept.
            other_cert, other_key = make_pair(d, "other")
            install(srv, other_cert, new_key)
            hup_and_wait(srv, 'msg="certificato TLS non ricaricato')
            check("non è quella che il certificato" in srv.log_text(),
                  f"the log does not say why:\n{srv.log_text()[-1500:]}")
            eq(presented(srv, new_cert), der(new_cert), "after a mismatched key")

            # A key others may read: refused as at start.
            install(srv, other_cert, other_key)
            os.chmod(os.path.join(srv.tls_dir, "key.pem"), 0o644)
            hup_and_wait(srv, 'msg="certificato TLS non ricaricato')
            eq(presented(srv, new_cert), der(new_cert), "after a key readable by others")

            # Fixed: the next SIGHUP takes it.
            os.chmod(os.path.join(srv.tls_dir, "key.pem"), 0o600)
            hup_and_wait(srv, 'msg="certificato TLS ricaricato"')
            eq(presented(srv, other_cert), der(other_cert), "after the pair was fixed")
            healthz_on(kept)
        finally:
            kept.close()


if __name__ == "__main__":
    run_tests(globals())
