#!/usr/bin/env python3
"""End-to-end: the operations listener — /metrics counters move as
requests are made, /healthz and /readyz answer, and the listener is a
separate plain-HTTP socket."""
import http.client
import os
import re
import signal
import tempfile
import time

import harness
from harness import *  # noqa: F401,F403


def scrape(srv):
    c = http.client.HTTPConnection("127.0.0.1", srv.metrics_port, timeout=10)
    c.request("GET", "/metrics")
    r = c.getresponse()
    body = r.read().decode()
    eq(r.status, 200, "metrics status")
    check(r.getheader("Content-Type", "").startswith("text/plain"), "Prometheus text format")
    return body


def value(text, series):
    m = re.search(r"^" + re.escape(series) + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def test_metrics_move():
    with Server() as srv:
        before = scrape(srv)
        c = srv.client()
        for i in range(3):   # distinct names: no throttling delay in between
            c.login(f"nobody-{i}", "wrong password 123")
        expect(srv.request("GET", "/healthz"), 200)
        after = scrape(srv)
        check(value(after, 'visura_logins_total{outcome="failure"}') >=
              value(before, 'visura_logins_total{outcome="failure"}') + 3, "failed logins counted")
        check(value(after, 'visura_http_requests_total{route="/healthz",status="2xx"}') >=
              value(before, 'visura_http_requests_total{route="/healthz",status="2xx"}') + 1,
              "requests counted by route")
        check('visura_http_request_duration_seconds_bucket{route="/api/v1/auth/login",le="+Inf"}'
              in after, "latency histogram")
        # One TYPE line per family, before its samples.
        types = re.findall(r"^# TYPE (\S+) ", after, re.M)
        eq(len(types), len(set(types)), "one TYPE per metric family")
        check("visura_access_records_total" in after and "visura_feed_lag_seconds" in after,
              "access-trail and feed metrics present")


def test_alerts_by_rule():
    """visura_alerts_stored counts every alert by rule, in one statement:
    more than 16 rules are all there (the old tally kept 16), and a rule's
    text is escaped as a label (it is the database's)."""
    with Server() as srv:
        ente = srv.create_ente()
        rules = [f"regola_{n:02d}" for n in range(20)] + ['con "virgolette"']
        harness.db_exec(srv.db, *[("INSERT INTO alert (at, rule, account_id, username, ente_id,"
                                   " severity, detail, state, reviewed_by, reviewed_at, note)"
                                   " VALUES (?, ?, 0, 'x', ?, 'low', 'prova', 'open', 0, 0, '')",
                                   (1767225600 + k, rule, ente["id"]))
                                  for n, rule in enumerate(rules) for k in range(n % 3 + 1)])
        text = scrape(srv)
        for n, rule in enumerate(rules[:-1]):
            eq(value(text, f'visura_alerts_stored{{rule="{rule}"}}'), n % 3 + 1, rule)
        eq(value(text, 'visura_alerts_stored{rule="con \\"virgolette\\""}'), 20 % 3 + 1,
           "the quoted rule, escaped")


def test_health_and_readiness():
    with Server() as srv:
        eq(srv.request("GET", "/healthz").json["status"], "ok", "healthz")
        r = srv.request("GET", "/readyz")
        eq(r.status, 200, "readyz")
        eq(r.json["status"], "ready", "ready")
        c = http.client.HTTPConnection("127.0.0.1", srv.metrics_port, timeout=10)
        c.request("GET", "/readyz")
        eq(c.getresponse().status, 200, "readyz on the operations listener")
        c = http.client.HTTPConnection("127.0.0.1", srv.metrics_port, timeout=10)
        c.request("GET", "/api/v1/auth/me")
        eq(c.getresponse().status, 404, "the API is not on the operations listener")




def _ready_user_on(srv, networks):
    ente = srv.create_ente(networks=networks)
    acc, temp = srv.create_account("operator", ente["id"])
    return ente, acc, temp


def test_network_allow_list():
    with Server() as srv:
        ente, acc, temp = _ready_user_on(srv, "10.0.0.0/8, 2001:db8::/32")
        c = srv.client()
        expect(c.login(acc["username"], temp), 403, "network_not_allowed",
               "login from outside the body's networks")
        check(srv.has_event("network_refused", username=acc["username"]), "recorded")
        expect(srv.admin().patch(f"/api/v1/enti/{ente['id']}", {"networks": "127.0.0.0/8"}), 200)
        expect(c.login(acc["username"], temp), 200, what="login from an allowed network")
        expect(srv.admin().patch(f"/api/v1/enti/{ente['id']}", {"networks": "192.0.2.0/24"}), 200)
        expect(c.get("/api/v1/auth/me"), 403, "network_not_allowed",
               "a live session from a network no longer allowed")
        for bad in ("10.0.0.0/33", "not-an-ip", "10.0.0.0/8,", "::1/129", "10.0.0.0/ 8",
                    "10.0.0.0/+8", "10.0.0.0/", "10.0.0.0/8x", "::1/-0"):
            expect(srv.admin().patch(f"/api/v1/enti/{ente['id']}", {"networks": bad}), 400,
                   "invalid_request", f"bad networks {bad!r}")


def login_forwarded(srv, acc, temp, lines):
    """A login with one X-Forwarded-For line per entry of lines."""
    body = json.dumps({"username": acc["username"], "password": temp}).encode()
    c = srv.connection(30)
    try:
        c.putrequest("POST", "/api/v1/auth/login")
        c.putheader("Content-Type", "application/json")
        c.putheader("Content-Length", str(len(body)))
        for v in lines:
            c.putheader("X-Forwarded-For", v)
        c.endheaders(body)
        r = c.getresponse()
        return harness.Result(r.status, r.getheaders(), r.read())
    finally:
        c.close()


def test_trusted_proxy_header():
    # From a trusted proxy, the client address is the header's right-most entry.
    with Server(trusted_proxies="127.0.0.1/32") as srv:
        ente, acc, temp = _ready_user_on(srv, "198.51.100.0/24")
        c = srv.client()
        r = c.post("/api/v1/auth/login", {"username": acc["username"], "password": temp},
                   csrf=False, headers={"X-Forwarded-For": "203.0.113.9, 198.51.100.7"})
        expect(r, 200, what="client address taken from the trusted proxy's header")
        r = c.post("/api/v1/auth/login", {"username": acc["username"], "password": temp},
                   csrf=False, headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9"})
        expect(r, 403, "network_not_allowed", "only the right-most entry counts")
        # The header on two lines, as a proxy that adds its own line after
        # the client's leaves it (HAProxy's option forwardfor): one list,
        # in order (RFC 9110 §5.3), so its right-most entry is the last
        # line's.  Before, the first line was read: the client's own.
        expect(login_forwarded(srv, acc, temp, ["198.51.100.7", "203.0.113.9"]), 403,
               "network_not_allowed", "the client's own line before the proxy's")
        expect(login_forwarded(srv, acc, temp, ["203.0.113.9", "10.0.0.1, 198.51.100.7"]), 200,
               what="the proxy's line, last")
    # From anyone else, the header is ignored.
    with Server() as srv:
        ente, acc, temp = _ready_user_on(srv, "198.51.100.0/24")
        r = srv.client().post("/api/v1/auth/login", {"username": acc["username"], "password": temp},
                              csrf=False, headers={"X-Forwarded-For": "198.51.100.7"})
        expect(r, 403, "network_not_allowed", "an untrusted header is ignored")



def test_structured_log_reopened_on_sighup():
    d = tempfile.mkdtemp(prefix="visura-log-")
    harness.give_to_test_user(d)   # the server reopens its log as its own user
    log = os.path.join(d, "visura.log")
    with Server(log_file=log) as srv:
        expect(srv.request("GET", "/healthz"), 200)
        os.rename(log, log + ".1")          # what logrotate does
        srv.signal(signal.SIGHUP)
        for _ in range(50):
            expect(srv.request("GET", "/healthz"), 200)
            if os.path.exists(log) and "route=/healthz" in open(log).read():
                break
            time.sleep(0.1)
        check(os.path.exists(log), "a new log file after SIGHUP")
        lines = [l for l in open(log).read().splitlines() if l]
        check(lines and all(l.startswith("ts=") and " level=" in l and ' msg="' in l for l in lines),
              "one key=value event per line")
        check(any("route=/healthz" in l and "status=200" in l for l in lines), "requests logged")
        old = open(log + ".1").read()
        check("route=/healthz" in old, "the rotated file kept the earlier lines")


if __name__ == "__main__":
    run_tests(globals())
