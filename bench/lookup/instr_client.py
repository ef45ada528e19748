#!/usr/bin/env python3
"""Sequential look-ups by codice fiscale on one keep-alive HTTPS connection,
for bench/lookup/instr.sh: each request waits for its answer, so every group
commit carries one access record and the server's work per answer does not
depend on scheduling.

usage: instr_client.py PORT COOKIE_FILE CF_FILE N [SKIP]
Takes the codici fiscali SKIP.. SKIP+N-1 of CF_FILE (wrapping round); fails
unless every answer is a 200 naming one person.
"""
import http.client, json, ssl, sys

port, cookie_file, cf_file, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
skip = int(sys.argv[5]) if len(sys.argv) > 5 else 0
cookie = open(cookie_file).read().strip()
cfs = [l.strip() for l in open(cf_file) if l.strip()]
c = http.client.HTTPSConnection("127.0.0.1", port, context=ssl._create_unverified_context(), timeout=600)
for i in range(n):
    cf = cfs[(skip + i) % len(cfs)]
    c.request("GET", f"/api/v1/persons?purpose=1&cf={cf}", headers={"Cookie": cookie})
    r = c.getresponse()
    body = r.read()
    if r.status != 200:
        sys.exit(f"{cf}: {r.status} {body[:300]!r}")
    if not json.loads(body).get("results"):
        sys.exit(f"{cf}: no person in {body[:300]!r}")
print(n)
