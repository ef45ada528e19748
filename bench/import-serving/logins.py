#!/usr/bin/env python3
"""Failed logins while the snapshot is imported (bench/import-serving,
LOGINS=N): N clients, each from its own loopback address (127.0.0.2, ...;
wrk's 64 connections fill 127.0.0.1's per-address limit), each sending a
login of an unknown name with a wrong password, one after the other, until
SIGINT; then prints how they were answered and how long they took.  Anyone
can send these, with no account: each is counted (a write of the register's
file) before its password is looked at.
  logins.py PORT N"""
import http.client
import json
import signal
import ssl
import sys
import threading
import time

port, n = int(sys.argv[1]), int(sys.argv[2])
ctx = ssl._create_unverified_context()
stop = threading.Event()
signal.signal(signal.SIGINT, lambda *_: stop.set())
signal.signal(signal.SIGTERM, lambda *_: stop.set())
answers = []   # (status, seconds)


def client(k):
    i = 0
    while not stop.is_set():
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=60,
                                        source_address=(f"127.0.0.{2 + k}", 0))
        t = time.monotonic()
        try:
            c.request("POST", "/api/v1/auth/login",
                      json.dumps({"username": f"nessuno{k}", "password": f"sbagliata-{i}"}),
                      {"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            st = r.status
        except OSError as e:
            st = type(e).__name__
        finally:
            c.close()
        answers.append((st, time.monotonic() - t))
        i += 1


ts = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(n)]
for t in ts:
    t.start()
while not stop.is_set():
    time.sleep(0.1)
for t in ts:
    t.join(timeout=70)
by = {}
for st, _ in answers:
    by[st] = by.get(st, 0) + 1
secs = sorted(s for _, s in answers)
if secs:
    pct = lambda p: secs[min(len(secs) - 1, int(p * len(secs)))] * 1000
    print(f"    {len(answers)} failed logins from {n} clients: "
          + ", ".join(f"{k}: {v}" for k, v in sorted(by.items(), key=str))
          + f"; time p50 {pct(0.5):.1f} ms, p99 {pct(0.99):.1f} ms, max {secs[-1] * 1000:.1f} ms")
else:
    print(f"    no login answered ({n} clients)")
