#!/usr/bin/env python3
"""End-to-end: the operations listener — /metrics counters move as
requests are made, /healthz and /readyz answer, and the listener is a
separate plain-HTTP socket."""
import http.client
import re

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


if __name__ == "__main__":
    run_tests(globals())
