#!/usr/bin/env python3
"""End-to-end: the HTTP front as an attacker meets it.  Who is calling is
decided on the headers, before any byte of a body is read (the server's
memory stays flat while large unauthenticated uploads are refused); a
declared length over a route's limit is refused at once, even with
Expect: 100-continue; pushed files stream to a temporary file under a
quota; ambiguous framing (what request smuggling behind a proxy needs) is
refused with 400; HEAD answers wherever GET does; /healthz answers only
once every listener is up."""
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import harness
from harness import *  # noqa: F401,F403

MiB = 1 << 20


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise TestFailure("no VmRSS in /proc")


def raw(srv, data, timeout=15):
    return parse_raw(srv.raw_exchange(data, timeout=timeout))


def gen_feed(persons=1500):
    out = tempfile.mkdtemp(prefix="visura-feed-")
    p = subprocess.run([harness.VISURA, "gen", "--persons", str(persons), "--comune", "036023",
                        "--seed", "5", "--days", "0", "--out", out],
                       capture_output=True, text=True)
    check(p.returncode == 0, f"gen: {p.stderr}")
    return open(os.path.join(out, sorted(os.listdir(out))[0]), "rb").read()


def municipality_token(srv):
    ente = srv.create_ente(kind="municipality", comune="036023")
    acc, _ = srv.create_account("api", ente["id"])
    tok = expect(srv.admin().post(f"/api/v1/accounts/{acc['id']}/tokens", {"name": "feed"}), 201)
    return tok["token"]


def upload(srv, head, total, chunk=64 * 1024):
    """Sends `head` then up to `total` bytes of body as fast as the server
    takes them; returns (bytes of body sent, status of the answer or None)."""
    s = srv.tls_socket(timeout=20)
    sent = 0
    block = b"x" * chunk
    try:
        s.sendall(head)
        while sent < total:
            s.sendall(block[:min(chunk, total - sent)])
            sent += min(chunk, total - sent)
    except (OSError, ssl.SSLError):
        pass
    try:
        status, _, _ = parse_raw(read_http_answer(s))
    except (OSError, ssl.SSLError):
        status = None
    s.close()
    return sent, status


def test_unauthenticated_uploads_leave_memory_flat():
    with Server() as srv:
        pid = srv.proc.pid
        srv.request("GET", "/healthz")
        base = rss_kib(pid)
        peak = [base]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], rss_kib(pid))
                time.sleep(0.02)

        results = []

        def one(i):
            head = (b"POST /api/v1/imports HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % (64 * MiB))
            if i % 2:   # a token nobody was given
                head = head.replace(b"Host:", b"Authorization: Bearer vtk_nothing\r\nHost:")
            results.append(upload(srv, head, 64 * MiB))

        sampler = threading.Thread(target=sample)
        sampler.start()
        workers = [threading.Thread(target=one, args=(i,)) for i in range(8)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(120)
        done.set()
        sampler.join()
        grown = (peak[0] - base) / 1024
        print(f"    RSS {base / 1024:.1f} MiB before, peak {peak[0] / 1024:.1f} MiB "
              f"(+{grown:.1f}) during 8 x 64 MiB unauthenticated uploads; "
              f"body bytes the clients got through: {[r[0] // MiB for r in results]} MiB")
        check(grown < 24, f"the server grew by {grown:.1f} MiB while refusing uploads")
        # Refused on the headers: the connection is cut long before the
        # 64 MiB are through (socket buffers hold a few MiB at most).
        for sent, status in results:
            check(sent < 16 * MiB, f"the server read {sent // MiB} MiB of an unauthenticated body")
            check(status in (401, None), f"refusal status {status}")
        check(any(st == 401 for _, st in results), f"no 401 seen: {results}")
        # Expect: 100-continue without credentials: 401 at once, no 100.
        s, h, _ = raw(srv, b"POST /api/v1/imports HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           b"Expect: 100-continue\r\nContent-Length: 1000000\r\n\r\n")
        eq(s, 401, "unauthenticated upload with Expect")
        expect(srv.request("GET", "/healthz"), 200, what="still serving")


def test_declared_length_over_the_limit_is_413_at_once():
    with Server() as srv:
        token = municipality_token(srv)
        for who in (b"Authorization: Bearer " + token.encode() + b"\r\n", b""):
            s, h, _ = raw(srv, b"POST /api/v1/imports HTTP/1.1\r\nHost: 127.0.0.1\r\n" + who +
                          b"Expect: 100-continue\r\nContent-Length: 999999999\r\n\r\n")
            eq(s, 413, f"declared 999,999,999 bytes with Expect ({'token' if who else 'no token'})")
        # The smaller limit of ordinary routes, before the login is checked.
        s, _, _ = raw(srv, b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           b"Expect: 100-continue\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 10485760\r\n\r\n")
        eq(s, 413, "10 MiB declared to the login")


def test_authenticated_push_streams_to_a_file_under_a_quota():
    data = gen_feed()
    check(64 * 1024 < len(data) < 700 * 1024, f"the file is larger than a socket read: {len(data)}")
    with Server(max_uploads_mb=1, max_import_mb=1) as srv:
        token = municipality_token(srv)
        auth = {"Authorization": "Bearer " + token, "X-Visura-On-Behalf-Of": "sistema anagrafe"}
        r = expect(srv.request("POST", "/api/v1/imports", body=data, headers=auth), 201,
                   what="pushed file imported")
        check(r["persons"] > 1000, f"persons loaded: {r.json}")
        # Chunked (no declared length): the quota is taken as bytes come.
        c = srv.connection()
        c.request("POST", "/api/v1/imports", body=iter([data[i:i + 50000] for i in
                                                       range(0, len(data), 50000)]),
                  headers=auth, encode_chunked=True)
        r = c.getresponse()
        body = r.read()
        c.close()
        check(r.status in (200, 201), f"chunked push: {r.status} {body[:200]!r}")
        # One upload under way holds 700 KiB of the 1 MiB of uploads
        # received at once (it was let in: 100 Continue)...
        head = (b"POST /api/v1/imports HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Authorization: Bearer " + token.encode() + b"\r\n"
                b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n")
        held = srv.tls_socket()
        held.sendall(head % (700 * 1024))
        first = held.recv(4096)
        check(first.startswith(b"HTTP/1.1 100"), f"the first upload is let in: {first[:100]!r}")
        # ... so a second one of 600 KiB does not fit: 503 before its body.
        s, h, body = raw(srv, head % (600 * 1024))
        eq(s, 503, "declared length over what is left of the upload quota")
        check(b"uploads_busy" in body and h.get("retry-after"), f"503 uploads_busy: {h} {body!r}")
        # Without a declared length, once its bytes reach the quota.
        big = data[:100] + b"y" * (500 * 1024)
        c = srv.connection()
        c.request("POST", "/api/v1/imports", body=iter([big[i:i + 65536] for i in
                                                      range(0, len(big), 65536)]),
                  headers=auth, encode_chunked=True)
        r = c.getresponse()
        eq(r.status, 503, "chunked upload over the quota")
        r.read()
        c.close()
        # The quota is given back when the first upload goes away.
        held.close()
        for _ in range(100):
            try:
                r = srv.request("POST", "/api/v1/imports", body=data, headers=auth)
            except (ssl.SSLError, OSError):
                # refused (503) before its body while the server had not yet
                # seen the first upload go: the connection closed under the
                # client still sending (seen under ASan)
                r = None
            if r is not None and r.status != 503:
                break
            time.sleep(0.05)
        expect(r, 200, what="the same file again, once the quota is free")
        check(r["already_loaded"], "recognised as already loaded")
        # Temporary files are unlinked at once, never left beside the database.
        d = os.path.dirname(files_prefix(srv.db)) or "."
        left = [f for f in os.listdir(d) if f.startswith(".visura-upload-")]
        eq(left, [], "upload files left")
    # A quota that could never take one file is refused at start.
    p = subprocess.run([harness.VISURA, "serve", "--self-signed", tempfile.mkdtemp(),
                        "--max-import-mb", "8", "--max-uploads-mb", "4", "--check"],
                       capture_output=True, text=True)
    check(p.returncode != 0 and "max_uploads_mb" in p.stderr, f"--check: {p.returncode} {p.stderr}")


def test_ambiguous_framing_is_refused():
    with Server() as srv:
        ok = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        eq(raw(srv, ok)[0], 200, "a plain request")
        eq(raw(srv, b"GET /healthz HTTP/1.0\r\n\r\n")[0], 200, "HTTP/1.0 needs no Host")
        login = b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        cases = {
            "HTTP/1.1 without Host": b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n",
            "two Host headers": b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n",
            "a Host that is not a host": b"GET /healthz HTTP/1.1\r\nHost: a/b@c\r\n\r\n",
            "two different Content-Length": login + b"Content-Length: 0\r\nContent-Length: 7\r\n\r\n{}\r\n\r\nX",
            "two equal Content-Length": login + b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
            "Transfer-Encoding and Content-Length": login +
                b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            "a transfer coding other than chunked": login +
                b"Transfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            "Transfer-Encoding twice": login +
                b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            "Transfer-Encoding in HTTP/1.0": b"POST /api/v1/auth/login HTTP/1.0\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            "a space before the colon": login + b"Content-Length : 2\r\n\r\n{}",
        }
        for what, data in cases.items():
            status, hdr, _ = raw(srv, data)
            eq(status, 400, what)
        # The connection is closed after such a refusal: nothing after it
        # is taken for a second request.
        s = srv.tls_socket()
        s.sendall(login + b"Content-Length: 0\r\nContent-Length: 40\r\n\r\n"
                  b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        got = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (OSError, ssl.SSLError):
                break
            if not chunk:
                break
            got += chunk
        s.close()
        eq(got.count(b"HTTP/1.1 "), 1, f"one answer, then the connection closes: {got[:300]!r}")


def single_fields():
    """The request fields read from one line (server.c's and listener.c's
    single_fields lists)."""
    out = []
    for part in (("http", "server.c"), ("api", "listener.c")):
        text = open(os.path.join(harness.REPO, "src", *part), encoding="utf-8").read()
        m = re.search(r"single_fields\[\] = \{(.*?)\};", text, re.S)
        check(m, f"single_fields in {part}")
        out += re.findall(r'"([^"]+)"', m.group(1))
    return out


def test_single_fields_twice_are_refused():
    """A field the service reads from one line, given on two (what a proxy
    in front may read otherwise: the other credentials, CSRF token, body
    type, ModI signature), is refused with 400 naming it, before anything
    else, whatever its case; a field that is a list (Accept,
    X-Forwarded-For) may be repeated.  Before, the first line was read."""
    names = single_fields()
    for must in ("Authorization", "Cookie", "Content-Type", "X-CSRF-Token",
                 "Agid-JWT-Signature", "Digest"):
        check(must in names, f"{must} is read from one line: {names}")
    with Server() as srv:
        before = int(db_query(srv.db, "SELECT count(*) AS n FROM security_event")[0]["n"])
        for name in names:
            for second in (name, name.lower()):
                data = (f"GET /api/v1/auth/me HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        f"{name}: a\r\n{second}: b\r\nConnection: close\r\n\r\n").encode()
                status, _, body = raw(srv, data)
                eq(status, 400, f"{name} and {second}: {body[:200]!r}")
                msg = json.loads(body)["error"]["message"]
                check(f"intestazione {name} è ripetuta" in msg, f"names {name}: {msg}")
        eq(int(db_query(srv.db, "SELECT count(*) AS n FROM security_event")[0]["n"]), before,
           "refused before the gate: nothing recorded")
        # Lists may be repeated.
        ok = (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/html\r\n"
              b"Accept: */*\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-For: 192.0.2.2\r\n"
              b"Connection: close\r\n\r\n")
        eq(raw(srv, ok)[0], 200, "Accept and X-Forwarded-For twice")


def test_head_wherever_get():
    with Server() as srv:
        admin = srv.admin()
        paths = ["/", "/healthz", "/readyz", "/api/v1/notices", "/static/print.css"]
        for p in paths:
            g = srv.request("GET", p)
            h = srv.request("HEAD", p)
            eq(h.status, g.status, f"HEAD {p}")
            eq(h.body, b"", f"HEAD {p} has no body")
            if not g.header("Content-Encoding"):
                eq(h.header("Content-Length"), str(len(g.body)), f"HEAD {p} Content-Length")
        # Behind the gate too, with the same refusals as GET.
        eq(admin.request("HEAD", "/api/v1/auth/me").status, 200, "HEAD /api/v1/auth/me")
        eq(srv.request("HEAD", "/api/v1/auth/me").status, 401, "HEAD without a session")
        # On the wire: headers only, even with a Content-Length.
        s, hdr, body = raw(srv, b"HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                b"Connection: close\r\n\r\n")
        eq((s, body), (200, b""), "raw HEAD /healthz")
        # 405 says what the path allows.
        r = srv.request("DELETE", "/healthz")
        eq(r.status, 405, "DELETE /healthz")
        eq(r.header("Allow"), "GET, HEAD", "Allow")
        r = srv.request("PUT", "/api/v1/imports")
        eq(r.status, 405, "PUT /api/v1/imports")
        eq(sorted(r.header("Allow").split(", ")), ["GET", "HEAD", "POST"], "Allow of imports")
        # HEAD on the operations listener.
        c = http.client.HTTPConnection("127.0.0.1", srv.metrics_port, timeout=10)
        c.request("HEAD", "/metrics")
        r = c.getresponse()
        eq(r.status, 200, "HEAD /metrics")
        eq(r.read(), b"", "HEAD /metrics has no body")
        c.close()


def test_secrets_are_never_compressed():
    """BREACH needs a secret in a compressed answer: only the static files
    of the interface are ever compressed."""
    with Server() as srv:
        admin = srv.admin()
        gz = {"Accept-Encoding": "gzip, deflate, br"}
        for r in (admin.request("GET", "/api/v1/auth/me", headers=gz),
                  Client(srv).request("POST", "/api/v1/auth/login",
                                      {"username": srv.admin_user, "password": srv.admin_password},
                                      headers=gz)):
            eq(r.status, 200, "answer with a CSRF token")
            check(r.json and r.json.get("csrf_token"), "the answer carries the token")
            eq(r.header("Content-Encoding"), None, "Content-Encoding of an answer with a secret")


SLOW_BIND = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
/* The second bind() of the process (the second listener) waits 2 s first. */
int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	static int (*real)(int, const struct sockaddr *, socklen_t);
	static int n;
	if (!real)
		real = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
	if (++n == 2)
		sleep(2);
	return real(fd, sa, len);
}
"""


def test_ready_means_every_listener_is_up():
    """The second listener binds late (a bind() that takes 2 s): once the
    harness sees /healthz answer 200, as every suite does, both listeners
    must accept; meanwhile /healthz and /readyz say 503 "starting"."""
    d = tempfile.mkdtemp(prefix="visura-slowbind-")
    src, lib = os.path.join(d, "slow.c"), os.path.join(d, "slow.so")
    with open(src, "w") as f:
        f.write(SLOW_BIND)
    p = subprocess.run(["cc", "-shared", "-fPIC", "-o", lib, src, "-ldl"],
                       capture_output=True, text=True)
    check(p.returncode == 0, f"cc: {p.stderr}")
    srv = Server()
    seen = []
    done = threading.Event()

    def watch():   # what a load balancer's probe sees meanwhile
        while not done.is_set():
            port = srv.port
            if port:
                for path in ("/healthz", "/readyz"):
                    try:
                        c = http.client.HTTPSConnection("127.0.0.1", port, timeout=2,
                                                        context=srv.ssl_context())
                        c.request("GET", path)
                        r = c.getresponse()
                        seen.append((path, r.status, r.read()))
                        c.close()
                    except (OSError, ssl.SSLError, http.client.HTTPException):
                        pass
            time.sleep(0.05)

    saved = {k: os.environ.get(k) for k in ("LD_PRELOAD", "ASAN_OPTIONS")}
    os.environ["LD_PRELOAD"] = lib
    os.environ["ASAN_OPTIONS"] = (saved["ASAN_OPTIONS"] or "") + ":verify_asan_link_order=0"
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        srv.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        done.set()
        watcher.join()
    try:
        # Ready as the harness saw it: the operations listener accepts.
        with socket.create_connection(("127.0.0.1", srv.metrics_port), timeout=2):
            pass
        starting = [s for s in seen if s[1] == 503]
        check(starting, f"no 503 while the second listener was binding: {seen[:6]}")
        for path, status, body in seen:
            check(status == 200 or (status == 503 and (b'"starting"' in body or
                                                       b'"service_stopping"' in body)),
                  f"{path} while starting: {status} {body!r}")
        expect(srv.request("GET", "/readyz"), 200, what="readyz once up")
    finally:
        srv.stop()
    shutil.rmtree(srv.dir, ignore_errors=True)


if __name__ == "__main__":
    run_tests(globals())
