#!/usr/bin/env python3
"""The server's own time per look-up by codice fiscale, 10 s at a time,
from its log (`ms=` of each `route=/api/v1/persons` request line): from
the request's headers to its answer queued, the wait for its durable
access record included, the wait for a worker thread and TLS not.
Prints each 10 s window's look-ups, p50, p90, p99 and the slowest.

usage: timeline.py SERVER_LOG"""
import collections, re, sys

if len(sys.argv) != 2:
    sys.exit(__doc__)
windows = collections.defaultdict(list)
with open(sys.argv[1]) as f:
    for line in f:
        if "route=/api/v1/persons" not in line:
            continue
        m = re.match(r"ts=\S*T(\d\d:\d\d:\d)\d\.\d+Z .* ms=([0-9.]+)", line)
        if m:
            windows[m.group(1) + "0"].append(float(m.group(2)))
for w in sorted(windows):
    x = sorted(windows[w])
    n = len(x)
    print(f"    {w}  {n:6d} look-ups  p50 {x[n // 2]:6.1f}  p90 {x[int(n * .9)]:6.1f}"
          f"  p99 {x[int(n * .99)]:6.1f}  max {x[-1]:6.1f} ms")
