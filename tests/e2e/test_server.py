#!/usr/bin/env python3
"""End-to-end: the HTTPS front door of `visura serve` — security headers,
the one error shape, bounded requests, TLS versions, connection limits and
timeouts, graceful stop.

usage: test_server.py PATH/TO/visura [TEST...]
"""
import json
import socket
import ssl
import threading
import time
import warnings

import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

from harness import (Result, Server, check, eq, error_shape_ok, expect, parse_raw, run_tests)

warnings.filterwarnings("ignore", category=DeprecationWarning)

SECURITY_HEADERS = {
    "strict-transport-security": lambda v: "max-age=" in v and
    int(v.split("max-age=")[1].split(";")[0]) >= 31536000,
    "content-security-policy": lambda v: "frame-ancestors 'none'" in v and "default-src" in v,
    "x-content-type-options": lambda v: v == "nosniff",
    "x-frame-options": lambda v: v.upper() == "DENY",
    "cache-control": lambda v: "no-store" in v,
    "referrer-policy": lambda v: v == "no-referrer",
}


def check_security_headers(res, what):
    hdr = {k.lower(): v for k, v in res.headers}
    for name, ok in SECURITY_HEADERS.items():
        check(name in hdr, f"{what}: no {name} header (status {res.status})")
        check(ok(hdr[name]), f"{what}: bad {name}: {hdr[name]!r}")
    check(hdr.get("content-type", "").startswith("application/json"),
          f"{what}: content type {hdr.get('content-type')!r}")


def declared_too_large(srv, path, length):
    host = f"127.0.0.1:{srv.port}"
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()
    status, hdr, body = parse_raw(srv.raw_exchange(head))
    return Result(status, list(hdr.items()), body)


def test_security_headers_on_every_response():
    with Server() as srv:
        admin = srv.admin()
        ente = srv.create_ente()
        op = srv.user("operator", ente["id"])
        anon = srv.client()
        cases = [
            ("healthz 200", anon.get("/healthz"), 200),
            ("unknown path 404", anon.get("/api/v1/nope"), 404),
            ("wrong method 405", anon.request("DELETE", "/healthz"), 405),
            ("no body 400", anon.post("/api/v1/auth/login"), 400),
            ("bad login 401", anon.post("/api/v1/auth/login",
                                        {"username": "nobody", "password": "x" * 12}), 401),
            ("anonymous me 401", anon.get("/api/v1/auth/me"), 401),
            ("operator on admin route 403", op.get("/api/v1/accounts"), 403),
            ("admin me 200", admin.get("/api/v1/auth/me"), 200),
            ("admin list 200", admin.get("/api/v1/accounts"), 200),
            # Refused on its declared length, before any byte of the body is
            # read, and the connection closed: a client still sending would
            # race that close, so this one sends the headers alone.
            ("body too large 413", declared_too_large(srv, "/api/v1/auth/login", 300 * 1024), 413),
        ]
        for what, res, status in cases:
            eq(res.status, status, what)
            check_security_headers(res, what)
            check(res.header("X-Request-Id"), f"{what}: no X-Request-Id")
            if status >= 400:
                check(error_shape_ok(res), f"{what}: not the error shape: {res.body[:200]!r}")


def test_error_shape_and_codes():
    with Server() as srv:
        c = srv.client()
        expect(c.get("/api/v1/does-not-exist"), 404, "not_found", "unknown path")
        expect(c.get("/no-such-page"), 404, "not_found", "unknown page")
        expect(c.request("PUT", "/api/v1/auth/login", {}), 405, "method_not_allowed", "PUT login")
        expect(c.request("DELETE", "/api/v1/accounts"), 405, "method_not_allowed", "DELETE list")
        expect(c.post("/api/v1/auth/login"), 400, "invalid_request", "missing body")
        r = expect(c.post("/api/v1/auth/login", raw=b'{"username": "x", '), 400, "invalid_json",
                   "truncated JSON")
        check(error_shape_ok(r), "error shape of invalid JSON")
        # A request id in the header, the same in the error.
        eq(r.json["error"].get("request_id"), r.header("X-Request-Id"), "request id")
        # The error message never echoes internal detail such as SQL.
        check("sqlite" not in r.body.decode().lower(), "internal detail leaked")


def test_malformed_json_refused_cleanly():
    with Server() as srv:
        c = srv.client()
        L = "/api/v1/auth/login"
        bad_json = [
            b"not json at all",
            b"[]",
            b'"a string"',
            b"{}garbage",
            b'{"username":"a","username":"b","password":"cccccccccccc"}',   # duplicate keys
            b'{"username":"a\xff\xfe","password":"cccccccccccc"}',          # not UTF-8
            b'{"username":"\xc0\xafadmin","password":"cccccccccccc"}',      # overlong UTF-8
            b"[" * 100000,                                                  # deep nesting
            b'{"a":' * 20000 + b"1" + b"}" * 20000,
        ]
        for body in bad_json:
            r = c.post(L, raw=body)
            expect(r, 400, what=f"body {body[:40]!r}")
            check(r.code in ("invalid_json", "invalid_request"), f"code {r.code}")
            check(error_shape_ok(r), f"shape for {body[:40]!r}")
        bad_fields = [
            {"username": 5, "password": "cccccccccccc"},
            {"username": ["admin"], "password": "cccccccccccc"},
            {"username": "admin"},
            {"username": "", "password": "cccccccccccc"},
            {"username": "admin", "password": None},
            {"username": "admin", "password": "cccccccccccc", "totp": 123456},
        ]
        for body in bad_fields:
            r = c.post(L, body)
            expect(r, 400, "invalid_request", f"fields {body!r}")
        r = c.post(L, {"username": "adm\u0000in", "password": "cccccccccccc"})   # embedded NUL
        expect(r, 400, what="embedded NUL")
        check(r.code in ("invalid_json", "invalid_request"), f"NUL: code {r.code}")
        # Still alive and answering.
        expect(c.get("/healthz"), 200, what="healthz after garbage")


def test_oversized_fields():
    with Server() as srv:
        c = srv.client()
        r = expect(c.post("/api/v1/auth/login", {"username": "a" * 65, "password": "x" * 12}),
                   400, "invalid_request", "username of 65")
        check("username" in r.json["error"]["message"], "message names the field")
        expect(c.post("/api/v1/auth/login", {"username": "admin", "password": "x" * 257}),
               400, "invalid_request", "password of 257 bytes")
        expect(c.post("/api/v1/auth/login", {"username": "a" * 100000, "password": "x"}),
               400, "invalid_request", "username of 100000")
        admin = srv.admin()
        expect(admin.post("/api/v1/enti", {"name": "N" * 5000, "kind": "other",
                                           "tax_code": "01234567890", "hours": "always"}),
               400, "invalid_request", "ente name of 5000")
        expect(admin.post("/api/v1/enti", {"name": "ok", "kind": "other",
                                           "tax_code": "01234567890", "hours": "x" * 5000}),
               400, "invalid_request", "hours of 5000")
        ente = srv.create_ente()
        expect(admin.post("/api/v1/accounts", {
            "username": "longname", "role": "operator", "ente_id": ente["id"],
            "full_name": "F" * 5000, "codice_fiscale": "RSSMRA80A01F257G",
            "email": "a@example.org"}), 400, "invalid_request", "full name of 5000")
        expect(admin.post("/api/v1/accounts", {
            "username": "longmail", "role": "operator", "ente_id": ente["id"],
            "full_name": "F", "codice_fiscale": "RSSMRA80A01F257G",
            "email": "a" * 300 + "@example.org"}), 400, "invalid_request", "email of 312")
        # Nothing half-created.
        names = [a["username"] for a in admin.get("/api/v1/accounts").json["accounts"]]
        check("longname" not in names and "longmail" not in names, "refused accounts exist")


def test_body_limit_413():
    with Server(max_body_kb=4) as srv:
        c = srv.client()
        # padded with JSON's white space (a member the route does not know
        # would be refused: 400)
        small = json.dumps({"username": "nobody", "password": "p" * 12}) + " " * 3000
        expect(c.post("/api/v1/auth/login", raw=small.encode()), 401, "invalid_credentials",
               "3 KiB body under a 4 KiB limit")
        big = json.dumps({"username": "nobody", "password": "p" * 12}) + " " * 5000
        expect(c.post("/api/v1/auth/login", raw=big.encode()), 413, "payload_too_large",
               "5 KiB body over a 4 KiB limit")
        # Chunked, without Content-Length: counted as it arrives.
        chunk = b"x" * 4096
        req = (b"POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\n"
               b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
               b"Connection: close\r\n\r\n" +
               b"".join(b"1000\r\n" + chunk + b"\r\n" for _ in range(3)) + b"0\r\n\r\n")
        status, hdr, body = parse_raw(srv.raw_exchange(req))
        eq(status, 413, "chunked body over the limit")
        eq(json.loads(body)["error"]["code"], "payload_too_large", "chunked code")
        # A Content-Length announcing too much: never a success (the server
        # may answer 413 at once, or wait for a body that never comes).
        req = (b"POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\n"
               b"Content-Length: 99999999999\r\nConnection: close\r\n\r\n")
        s = srv.tls_socket(timeout=10)
        s.sendall(req)
        s.settimeout(1.5)
        try:
            data = s.recv(65536)
        except (socket.timeout, ssl.SSLError, ConnectionError):
            data = b""
        s.close()
        status = parse_raw(data)[0] if data else None
        check(status in (413, None), f"huge Content-Length: status {status}")
        expect(c.get("/healthz"), 200, what="healthz after")


def test_tls_versions():
    with Server() as srv:
        s = srv.tls_socket()
        eq(s.version(), "TLSv1.3", "default protocol")
        s.close()
        for ver, ok in ((ssl.TLSVersion.TLSv1_2, True), (ssl.TLSVersion.TLSv1_1, False),
                        (ssl.TLSVersion.TLSv1, False)):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(srv.cert)
            ctx.minimum_version = ctx.maximum_version = ver
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")   # let our client offer old versions
            try:
                s = srv.tls_socket(ctx)
                got = s.version()
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                status = parse_raw(srv_read(s))[0]
                s.close()
                check(ok, f"{ver.name} was accepted ({got}, status {status})")
                eq(status, 200, f"{ver.name} request")
            except ssl.SSLError as e:
                check(not ok, f"{ver.name} refused: {e}")
                # The refusal came from the server, not from our own library.
                check(getattr(e, "reason", "") not in ("NO_PROTOCOLS_AVAILABLE",
                                                       "NO_CIPHERS_AVAILABLE",
                                                       "UNSUPPORTED_PROTOCOL"),
                      f"{ver.name}: our client refused to try ({e})")
        # A client that does not trust the certificate refuses to talk.
        ctx = ssl.create_default_context()
        try:
            srv.tls_socket(ctx).close()
            check(False, "an untrusted self-signed certificate was accepted")
        except ssl.SSLCertVerificationError:
            pass


def srv_read(s):
    from harness import read_http_answer
    return read_http_answer(s)


def test_plain_http_fails():
    with Server() as srv:
        raw = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        data = b""
        try:
            while True:
                chunk = raw.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (socket.timeout, ConnectionError):
            pass
        raw.close()
        check(not data.startswith(b"HTTP/"), f"plain HTTP got an HTTP answer: {data[:100]!r}")
        check(b"status" not in data, "plain HTTP leaked content")
        # Random bytes instead of a handshake.
        raw = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        raw.sendall(bytes(range(256)) * 8)
        try:
            raw.recv(4096)
        except (socket.timeout, ConnectionError):
            pass
        raw.close()
        expect(srv.client().get("/healthz"), 200, what="healthz after plain HTTP")


def test_oversized_headers_rejected():
    with Server() as srv:
        req = (b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 100000 +
               b"\r\nConnection: close\r\n\r\n")
        status, hdr, body = parse_raw(srv.raw_exchange(req))
        check(status in (400, 413, 431, None), f"100 KB header: status {status}")
        check(status != 200, "100 KB header accepted")
        many = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 40) for i in range(3000))
        req = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n" + many + b"Connection: close\r\n\r\n"
        status, hdr, body = parse_raw(srv.raw_exchange(req))
        check(status in (400, 413, 431, None), f"3000 headers: status {status}")
        # A huge cookie too (the session lookup must not choke on it).
        r = srv.request("GET", "/api/v1/auth/me",
                        headers={"Cookie": "__Host-visura_session=" + "A" * 30000})
        check(r.status in (400, 401, 413, 431), f"30 KB cookie: {r.status}")
        # A very long path: refused with the error shape.
        r = srv.request("GET", "/api/v1/accounts/" + "1" * 5000)
        check(400 <= r.status < 500, f"5000-char path: {r.status}")
        check(error_shape_ok(r), "long path: error shape")
        expect(srv.client().get("/healthz"), 200, what="healthz after")


def test_sigterm_waits_for_request_in_flight():
    srv = Server()
    srv.start()
    try:
        body = json.dumps({"username": "nobody", "password": "p" * 16}).encode()
        s = srv.tls_socket(timeout=15)
        s.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\n"
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n"
                  b"Connection: close\r\n\r\n" % len(body) + body[:10])
        time.sleep(0.5)                      # the request has begun
        t_sig = time.monotonic()
        srv.signal()
        time.sleep(0.5)
        check(srv.proc.poll() is None, "the server exited with a request in flight")
        s.sendall(body[10:])
        status, hdr, rbody = parse_raw(srv_read(s))
        s.close()
        eq(status, 401, "the request in flight was answered")
        eq(json.loads(rbody)["error"]["code"], "invalid_credentials", "its answer")
        rc = srv.proc.wait(timeout=15)
        check(time.monotonic() - t_sig < 12, "stop took too long")
        eq(rc, 0, "exit status after SIGTERM")
        log = srv.log_text()
        check('msg="in arresto"' in log and 'msg="arrestato"' in log, "stop not logged")
    finally:
        srv.stop()


def test_per_ip_connection_limit():
    with Server(per_ip_connections=4) as srv:
        held = []
        for _ in range(4):
            held.append(srv.tls_socket())
        refused = False
        try:
            s = srv.tls_socket(timeout=5)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = srv_read(s)
            s.close()
            refused = not data.startswith(b"HTTP/1.1 200")
        except (ssl.SSLError, ConnectionError, socket.timeout, OSError):
            refused = True
        check(refused, "a fifth connection from the same address was served")
        held.pop().close()
        time.sleep(0.3)
        expect(srv.client().get("/healthz"), 200, what="after one connection closed")
        for s in held:
            s.close()



def _closed_at_accept(port):
    """A TCP connection the server closes without a byte (refused at
    accept): True."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        return s.recv(1) == b""
    except (ConnectionError, OSError):
        return True
    finally:
        s.close()


def _hold(srv, n):
    """n TLS connections held open.  A connection the harness made while
    the server started still counts until the server has let it go (slower
    under ASan), so one refused at first is tried again for a while."""
    held, deadline = [], time.monotonic() + 20
    while len(held) < n:
        try:
            held.append(srv.tls_socket())
        except (ssl.SSLError, ConnectionError, OSError):
            check(time.monotonic() < deadline, f"{n} connections held within 20 s")
            time.sleep(0.1)
    return held


def test_refused_connections_logged_bounded():
    """A connection past per_ip_connections is refused by libmicrohttpd, and
    its message reaches the log at warn (it went to debug, below what the
    log keeps); a flood of refusals writes a bounded number of lines: 20 in
    a minute (MHD_LOG_LINES, src/http/server.c), then one line counting
    those left out, written at the latest when the server stops."""
    flood = 300
    with Server(per_ip_connections=2) as srv:
        held = _hold(srv, 2)
        check(_closed_at_accept(srv.port), "a third connection from the address was refused")
        line = None
        deadline = time.monotonic() + 10
        while line is None and time.monotonic() < deadline:
            line = next((l for l in srv.log_text().splitlines()
                         if 'msg="avviso di libmicrohttpd"' in l and "connection limit" in l),
                        None)
            time.sleep(0.05)
        check(line is not None, f"the refusal is in the log:\n{srv.log_text()[-1500:]}")
        check(" level=warn " in line, f"at warn: {line}")
        for _ in range(flood):
            check(_closed_at_accept(srv.port), "refused")
        for s in held:
            s.close()
        srv.stop()
        lines = srv.log_text().splitlines()
        written = [l for l in lines if 'msg="avviso di libmicrohttpd"' in l]
        summary = [l for l in lines if 'msg="avvisi di libmicrohttpd omessi"' in l]
        eq(len(written), 20, f"lines written for {flood + 1} refusals")
        eq(len(summary), 1, f"one line counts the others: {summary}")
        check(" level=warn " in summary[0] and " written=20 window_s=60" in summary[0],
              summary[0])
        dropped = int(summary[0].split(" dropped=")[1].split()[0])
        check(dropped >= flood + 1 - 20, f"{dropped} counted for {flood + 1 - 20} left out")


def test_tls_handshake_failure_logged():
    """Plain HTTP sent to the HTTPS port fails the TLS handshake:
    libmicrohttpd's word of it reaches the log at warn."""
    with Server() as srv:
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        try:
            while s.recv(4096):
                pass
        except (ConnectionError, OSError):
            pass
        s.close()
        line = None
        deadline = time.monotonic() + 10
        while line is None and time.monotonic() < deadline:
            line = next((l for l in srv.log_text().splitlines()
                         if 'msg="avviso di libmicrohttpd"' in l and "handshake" in l), None)
            time.sleep(0.05)
        check(line is not None and " level=warn " in line,
              f"the failed handshake is in the log at warn:\n{srv.log_text()[-1500:]}")

def test_idle_connections_closed_after_timeout():
    with Server(connection_timeout=2) as srv:
        results = {}

        def wait_closed(name, sock):
            t = time.monotonic()
            sock.settimeout(15)
            try:
                while sock.recv(4096):
                    pass
            except (ssl.SSLError, ConnectionError, socket.timeout, OSError):
                pass
            results[name] = time.monotonic() - t

        raw = socket.create_connection(("127.0.0.1", srv.port), timeout=15)   # no handshake
        tls = srv.tls_socket(timeout=15)                                        # handshake, no request
        partial = srv.tls_socket(timeout=15)                                    # half a request
        partial.sendall(b"GET /healthz HTTP/1.1\r\nHost: loc")
        threads = [threading.Thread(target=wait_closed, args=a)
                   for a in (("raw", raw), ("tls", tls), ("partial", partial))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        for name in ("raw", "tls", "partial"):
            check(name in results, f"{name}: never closed")
            check(1.5 <= results[name] <= 8, f"{name}: closed after {results[name]:.1f}s "
                                             f"(timeout 2 s)")
        for s in (raw, tls, partial):
            s.close()
        expect(srv.client().get("/healthz"), 200, what="healthz after")


def test_test_clock_absent_without_flag():
    with Server(test_clock=False) as srv:
        r = srv.request("POST", "/api/v1/test/clock", json.dumps({"advance_seconds": 99999999}),
                        {"Content-Type": "application/json"})
        expect(r, 404, "not_found", "test clock without --test-clock")
        log = srv.log_text()
        check(" test_clock=no" in log, "the log does not say the test clock is off")


def test_keep_alive_and_concurrency():
    with Server() as srv:
        admin = srv.admin()
        conn = srv.connection()
        for _ in range(20):
            conn.request("GET", "/healthz")
            r = conn.getresponse()
            r.read()
            eq(r.status, 200, "keep-alive request")
        conn.close()
        errors = []

        def worker():
            try:
                for _ in range(10):
                    r = admin.get("/api/v1/auth/me")
                    if r.status != 200:
                        errors.append(r.status)
            except Exception as e:   # noqa: BLE001
                errors.append(repr(e))

        ts = [threading.Thread(target=worker) for _ in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        eq(errors, [], "concurrent requests")


if __name__ == "__main__":
    run_tests(globals())
