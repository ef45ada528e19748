#!/usr/bin/env python3
"""stato_civile beside POSAS (docs/performance.md, "stato_civile beside
POSAS"): cells hidden and the time of one request, on generated registers
of 1,400 and 20,000 persons.  Run from the repository:
    python3 bench/stats/stato_civile.py build/visura-test"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "e2e"))
os.environ.setdefault("VISURA_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "data"))
import harness  # noqa: E402
from harness import Server  # noqa: E402

harness.VISURA = os.path.abspath(sys.argv[1])
for persons in (1400, 20000):
    pop = {"persons": persons, "comuni": "036023,036005", "seed": 7, "days": 45}
    with Server(population=pop) as srv:
        a = srv.admin()
        for c in ("036023", "036005", "036023,036005"):
            for thr in (3, 5):
                t0 = time.time()
                doc = a.get(f"/api/v1/stats/tables?table=stato_civile&comuni={c}&date=2026-02-01&threshold={thr}").json
                dt = time.time() - t0
                t0 = time.time()
                p = a.get(f"/api/v1/stats/tables?table=posas&comuni={c}&date=2026-02-01&threshold={thr}").json
                dp = time.time() - t0
                cls = [(r[3 + j] if j < 5 else r[4 + j]) for r in doc["righe"] if r[2] != "999" for j in range(10)]
                nz = [x for x in cls if x != 0]
                hid = sum(x is None for x in cls)
                pc = [x for r in p["righe"] if r[2] != "999" for x in r[3:6]]
                print(f"persons {persons} {c} t{thr}: class cells {len(cls)}, hidden {hid}, published non-zero {sum(1 for x in cls if x)}, posas hidden {sum(x is None for x in pc)}/{len(pc)}; {dt:.2f}s vs posas {dp:.2f}s", flush=True)
