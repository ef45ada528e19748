#!/usr/bin/env python3
"""Two protection rules side by side (issue #17, the archive of the
bulletins; not a test of the suite: it needs a binary of an earlier rule).

The monthly balance of each member of the generated province 036 (the
populations of tests/e2e/test_stats_attack.py's test_province_balance) as
a binary of the earlier rule hides it (OLD, e.g. built from 06c9281, each
member protected alone) and as this one does (NEW, linked protection), read
through the API; then test_stats_attack's exact attacker, with every
identity of the balance, on: each pattern alone, both (an archived bulletin
beside the regenerated one), and both beside the province's balance of the
current rule, linked as the province = the sum of its members.  Prints,
per seed and threshold, the cells each hides and the small counts
recovered (docs/api.md, "The protection rule of the archive").

usage: VISURA_DATA_DIR=data python3 tests/e2e/diff_rules.py OLD NEW"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server, expect  # noqa: E402
import test_stats_attack as A  # noqa: E402

old_bin, new_bin = (os.path.abspath(p) for p in sys.argv[1:3])
members = ("036005", "036023")
pool = ",".join(members)
SEEDS, THRS = (3, 11), (3, 5)

def read(binary):
    harness.VISURA = binary
    out = {}
    for seed in SEEDS:
        pop = {"persons": 3000, "comuni": pool, "seed": seed, "days": A.DAYS}
        with Server(population=pop) as srv:
            a = srv.admin()
            for thr in THRS:
                for c in members + (pool,):
                    url = f"/api/v1/stats/tables?table=bilancio&threshold={thr}&comuni={c}"
                    out[(seed, thr, c)] = expect(a.get(url), 200, None, url).json["righe"]
    return out

old, new = read(old_bin), read(new_bin)
for seed in SEEDS:
    for thr in THRS:
        res = {}
        for label, pats, prov in (("old alone", (old,), None), ("new alone", (new,), None),
                                  ("old+new", (old, new), None),
                                  ("new+province", (new,), new),
                                  ("old+new+province", (old, new), new)):
            atk = A.Attack(thr)
            terr = {c: A.Territory(atk, c) for c in members}
            for p in pats:
                for c in members:
                    terr[c].balance_rows(p[(seed, thr, c)])
            if prov is not None:
                tp = A.Territory(atk, pool)
                tp.balance_rows(prov[(seed, thr, pool)])
                A.link(atk, tp, tuple(terr[c] for c in members))
            leaks, _ = atk.leaks()
            res[label] = leaks
        hid_old = sum(v is None for c in members for r in old[(seed, thr, c)] for v in r[6:])
        hid_new = sum(v is None for c in members for r in new[(seed, thr, c)] for v in r[6:])
        pub_new_hid_old = sum(o is None and n is not None for c in members
                              for ro, rn in zip(old[(seed, thr, c)], new[(seed, thr, c)])
                              for o, n in zip(ro[6:], rn[6:]))
        cells = sum(len(r[6:]) for c in members for r in old[(seed, thr, c)])
        print(f"seed {seed} t{thr}: {cells} member cells; hidden old {hid_old}, new {hid_new}; "
              f"published by new where old hides {pub_new_hid_old}; small counts recovered: "
              + ", ".join(f"{k} {len(v)}" for k, v in res.items()))
        for var, v in res["old+new+province"][:6]:
            print("   ", var, "=", v)
