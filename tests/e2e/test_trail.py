#!/usr/bin/env python3
"""End-to-end: the access trail, the anti-extraction controls and alerts,
and the access reports.

Receipts (X-Visura-Access-Id, X-Visura-Receipt, `visura audit
verify-receipt`); one complete access record per request; rate limits per
operator, body, purpose and day (429 + Retry-After, recorded); break-glass;
the audit reports (filters, JSON/CSV, signatures, roles), the per-person
report; the per-body usage report.

The alert rules are in test_trail_alerts.py; the citizen's codes, the
police/court embargo and the verification of the trail in
test_trail_verify.py (the helpers of all three in trail_common.py): ctest
runs the three side by side.

usage: test_trail.py PATH/TO/visura [TEST...]
"""
import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

from trail_common import *  # noqa: F401,F403 — the helpers and imports of the trail tests


def test_printable_visura():
    """The printable visura: the record within the profile in Italian words
    (codes named, dates as dd/mm/yyyy), the consultation's metadata, no
    script, and a receipt that proves the exact page."""
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        p = registered(env.pop)[0]
        pid = env.purpose(ALL)
        r = expect(env.op.get(f"/api/v1/persons/{p['cf']}/print?" + q(purpose=pid, case_ref="VERB-9")),
                   200, what="print")
        check(r.header("Content-Type").startswith("text/html"), "an HTML page")
        page = r.body.decode()
        y, m, d = p["birth_date"].split("-")
        for want in (p["cf"], p["surname"], "Visura anagrafica", f"{d}/{m}/{y}", "VERB-9",
                     "Registrazione di accesso n.", "Residenza", "iscritto/a"):
            check(want in page, f"the page shows {want!r}")
        check(re.search(r"Relazione con l&#39;intestatario</th><td>[a-z/ ]+</td>", page),
              "the relationship is named, not a code")
        check("<script" not in page.lower() and "/static/print.css" in page, "no script, the print style")
        body_file = os.path.join(srv.dir, "visura.html")
        with open(body_file, "wb") as f:
            f.write(r.body)
        rc, out = cli("audit", "verify-receipt", "--db", srv.db, r.header("X-Visura-Receipt"), body_file)
        eq(rc, 0, f"the receipt proves the printed page: {out}")
        # The seal: the page carries its receipt's content hash under the QR
        # code, and the receipt signs the page with the seal empty.
        receipt = r.header("X-Visura-Receipt")
        sha = receipt.split(".")[4]
        grouped = " ".join(sha[i:i + 8] for i in range(0, 64, 8))
        check(f"Impronta del contenuto: {grouped}" in page and '<svg xmlns="http://www.w3.org/2000/svg"' in page,
              "the seal: the QR code and the content hash")
        sealed = page.split("<!--contrassegno-->")
        check(len(sealed) == 2, "one seal")
        empty = sealed[0] + "<!--contrassegno-->" + sealed[1].split("<!--/contrassegno-->")[0][:0] + \
            "<!--/contrassegno-->" + sealed[1].split("<!--/contrassegno-->")[1]
        eq(hashlib.sha256(empty.encode()).hexdigest(), sha, "the receipt signs the page with the seal empty")
        check(not re.search(r"\d{4}-\d\d-\d\d|UTC", page.split("<main>")[0] + page.split("</main>")[1].split("<!--contrassegno-->")[0]),
              "no ISO date, no UTC in the heading and foot")
        # An altered page: a surname changed, or something slipped into the seal.
        for what, bad in (("a surname changed", page.replace(p["surname"], p["surname"] + "X", 1)),
                          ("text in the seal", page.replace("<!--contrassegno-->", "<!--contrassegno--><p>annotazione</p>", 1))):
            with open(body_file, "w") as f:
                f.write(bad)
            rc, out = cli("audit", "verify-receipt", "--db", srv.db, receipt, body_file)
            check(rc != 0 and "NON VALIDO" in out, f"{what}: refused ({out.strip()})")
        # /verifica and its API: no login, no personal data, tampering refused.
        anon = srv.client()
        v = expect(anon.post("/api/v1/receipts/verify", {"receipt": receipt, "content_hash": grouped.upper()}),
                   200, what="receipt verify").json
        eq((v["valid"], v["access_id"], v["content_hash"], v["content_hash_matches"], v["purged_on"]),
           (True, int(r.header("X-Visura-Access-Id")), sha, True, None), "the receipt is this deployment's")
        check(re.fullmatch(r"\d{1,2} [a-z]+ \d{4}, ore \d\d:\d\d:\d\d", v["issued_at_text"]), "the time in Italian")
        text = json.dumps(v)
        check(p["cf"] not in text and p["surname"] not in text and "VERB-9" not in text, "no personal data")
        v = expect(anon.post("/api/v1/receipts/verify", {"receipt": receipt, "content_hash": "0" * 64}), 200).json
        eq(v["content_hash_matches"], False, "another content hash does not match")
        f = receipt.split(".")
        f[2] = str(int(f[2]) + 1)
        bad = expect(anon.post("/api/v1/receipts/verify", {"receipt": ".".join(f)}), 422, what="tampered").json
        eq(bad["error"]["code"], "receipt_invalid", "a tampered receipt is refused")
        check("non è valida" in bad["error"]["message"], "in Italian")
        pg = expect(anon.get("/verifica?ricevuta=" + receipt), 200, what="/verifica")
        check("La ricevuta è autentica" in pg.body.decode() and p["cf"] not in pg.body.decode(), "the page confirms it")
        # as the page's own form sends it, the optional hash left empty
        pg = expect(anon.get("/verifica?ricevuta=" + urllib.parse.quote(receipt) + "&impronta="),
                    200, what="/verifica from its form, no hash typed")
        check("La ricevuta è autentica" in pg.body.decode(), "the form's empty field taken")
        expect(anon.get("/verifica?ricevuta=" + ".".join(f)), 422, what="/verifica tampered")
        narrow = env.purpose(["identity"])
        page = expect(env.op.get(f"/api/v1/persons/{p['cf']}/print?" + q(purpose=narrow)), 200).body.decode()
        check(p["cf"] in page and "Residenza" not in page and "Famiglia" not in page,
              "only the categories of the profile are printed")


def test_receipt_verifies_exact_body():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        p = registered(env.pop)[0]
        r = expect(env.op.get(f"/api/v1/persons/{p['cf']}?purpose={pid}&case_ref=R-1"), 200,
                   what="consult")
        aid, receipt = r.header("X-Visura-Access-Id"), r.header("X-Visura-Receipt")
        check(aid is not None and receipt is not None,
              f"an answer with personal data carries X-Visura-Access-Id and X-Visura-Receipt: "
              f"{r.headers}")
        eq(int(aid), r["access_id"], "X-Visura-Access-Id = access_id of the body")
        rec = srv.access_log(int(aid) - 1)[0]
        eq(rec["id"], int(aid), "the access record exists")
        parts = receipt.split(".")
        eq(len(parts), 12, f"receipt shape {receipt!r}")
        eq(parts[:5], ["v3", aid, str(rec["at"]), str(pid), hashlib.sha256(r.body).hexdigest()],
           "receipt fields (version, id, time, purpose, SHA-256 of the exact body)")
        pk = public_key(srv.db)
        eq(bytes.fromhex(parts[5]), leaf_hash(rec), "the leaf is the record's canonical bytes")
        head = b64url(parts[6]).decode()
        check(head_signed(head, pk), f"the head is signed by the deployment's key: {head!r}")
        origin, size, root, _, _ = parse_head(head)
        proof = b64url(parts[7])
        check(len(proof) % 32 == 0, "the proof is whole hashes")
        check(inclusion_ok(leaf_hash(rec), int(aid) - 1, size,
                           [proof[i:i + 32] for i in range(0, len(proof), 32)], root),
              f"the inclusion proof leads from the leaf to the head's root ({size} leaves)")
        check(receipt_batch_ok(pk, receipt),
              "the receipt's path leads to a root its batch's signature covers (database's key)")
        body_file = os.path.join(srv.dir, "answer.json")
        with open(body_file, "wb") as f:
            f.write(r.body)
        rc, out = cli("audit", "verify-receipt", "--db", srv.db, receipt, body_file)
        eq(rc, 0, f"verify-receipt with the exact body: {out}")
        rc, out = cli("audit", "verify-receipt", "--db", srv.db, receipt)
        eq(rc, 0, f"verify-receipt without a body: {out}")
        # one altered byte of the answer (the person's surname)
        i = r.body.index(p["surname"].encode())
        altered = r.body[:i] + bytes([r.body[i] ^ 0x01]) + r.body[i + 1:]
        for what, data in (("one byte changed", altered), ("a trailing newline", r.body + b"\n"),
                           ("empty", b"")):
            with open(body_file, "wb") as f:
                f.write(data)
            rc, out = cli("audit", "verify-receipt", "--db", srv.db, receipt, body_file)
            eq(rc, 1, f"verify-receipt with an altered body ({what}): {out}")
        with open(body_file, "wb") as f:
            f.write(r.body)
        # tampered receipts
        other = expect(env.op.get(f"/api/v1/persons/{registered(env.pop)[1]['cf']}?purpose={pid}"),
                       200, what="second consult")
        sig = parts[11]
        flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
        sha = parts[4]
        tampered = {
            "signature changed": ".".join(parts[:11] + [flipped]),
            "place in the batch changed": ".".join(parts[:8] + [str(int(parts[8]) + 1)] + parts[9:]),
            "batch size changed": ".".join(parts[:9] + [str(int(parts[9]) + 1)] + parts[10:]),
            "a path where there was none" if not parts[10] else "path changed":
                ".".join(parts[:10] + [parts[10][:-1] + ("A" if parts[10][-1:] != "A" else "B")
                                       if parts[10] else "A" * 43] + parts[11:]),
            "v2 named on a v3 receipt": ".".join(["v2"] + parts[1:8] + [parts[11]]),
            "body hash changed": ".".join(parts[:4] + [("0" if sha[0] != "0" else "1") + sha[1:]]
                                          + parts[5:]),
            "other access id": ".".join([parts[0], other.header("X-Visura-Access-Id")] + parts[2:]),
            "time changed": ".".join(parts[:2] + [str(rec["at"] + 1000)] + parts[3:]),
            "purpose changed": ".".join(parts[:3] + [str(pid + 1)] + parts[4:]),
            "signature cut": receipt[:-5],
            "another answer's receipt": other.header("X-Visura-Receipt"),
            "garbage": "not-a-receipt",
        }
        oparts = other.header("X-Visura-Receipt").split(".")
        tampered["another answer's head"] = ".".join(parts[:6] + [oparts[6]] + parts[7:])
        tampered["another answer's proof"] = ".".join(parts[:7] + [oparts[7]] + parts[8:])
        tampered["another answer's leaf"] = ".".join(parts[:5] + [oparts[5]] + parts[6:])
        tampered["another batch's place, path and signature"] = ".".join(parts[:8] + oparts[8:])
        for what, bad in tampered.items():
            rc, out = cli("audit", "verify-receipt", "--db", srv.db, bad, body_file)
            eq(rc, 1, f"verify-receipt with a tampered receipt ({what}): {out}")
            check(out.startswith("NON VALIDO: "), f"the reason is given ({what}): {out}")
        # offline: a copy of the receipt and the answer, the public key, no database
        offline = tempfile.mkdtemp(prefix="visura-offline-")
        with open(os.path.join(offline, "receipt.txt"), "w") as f:
            f.write(receipt + "\n")
        with open(os.path.join(offline, "answer.json"), "wb") as f:
            f.write(r.body)
        rc, pkhex = cli("audit", "key", "--db", srv.db)
        eq(rc, 0, f"audit key: {pkhex}")
        with open(os.path.join(offline, "key.txt"), "w") as f:
            f.write(pkhex)
        p_ = subprocess.run([harness.VISURA, "audit", "verify-receipt", "--key", "key.txt",
                             "receipt.txt", "answer.json"], cwd=offline, capture_output=True,
                            text=True, env={"PATH": os.environ.get("PATH", "")})
        eq(p_.returncode, 0, f"offline verify-receipt: {p_.stdout}{p_.stderr}")
        check(f"foglia {int(aid) - 1}" in p_.stdout and origin in p_.stdout,
              f"it names the leaf and the deployment: {p_.stdout}")
        eq(sorted(os.listdir(offline)), ["answer.json", "key.txt", "receipt.txt"],
           "no database was opened or created")
        for what, bad in tampered.items():
            rc, out = cli("audit", "verify-receipt", "--key", pkhex.strip(), bad,
                          os.path.join(offline, "answer.json"))
            eq(rc, 1, f"offline, a tampered receipt ({what}): {out}")
        rc, out = cli("audit", "verify-receipt", "--key", pkhex.strip(),
                      tampered["another answer's head"])
        check(rc == 1 and "prova di inclusione" in out, f"a proof against the wrong head: {out}")
        # other personal-data answers carry receipts too
        members = expect(env.op.get(f"/api/v1/persons/{p['cf']}/household?purpose={pid}"), 200,
                         what="household")
        found = expect(env.op.get(f"/api/v1/persons?purpose={pid}&cf={p['cf']}"), 200, what="search")
        ver = expect(env.op.post("/api/v1/verify", {"purpose": pid, "codice_fiscale": p["cf"],
                                                   "declared": {"alive": True}}), 200, what="verify")
        for what, res in (("household", members), ("search", found), ("verify", ver)):
            rc_ = res.header("X-Visura-Receipt")
            check(rc_ and res.header("X-Visura-Access-Id"), f"{what}: receipt headers")
            with open(body_file, "wb") as f:
                f.write(res.body)
            rc, out = cli("audit", "verify-receipt", "--db", srv.db, rc_, body_file)
            eq(rc, 0, f"{what}: verify-receipt: {out}")
        # concurrent answers: one group commit carries several, their receipts
        # share one signature (over the batch's receipt tree), each has its own
        # place and path, and every one verifies with its body
        shared = _concurrent_receipts(srv, env, pid, pk, body_file)
        check(shared >= 2, f"concurrent answers share a batch signature ({shared} at most)")
        # a receipt is bound to its database's key
        with Server() as other_srv:
            rc, out = cli("audit", "verify-receipt", "--db", other_srv.db, receipt)
            eq(rc, 1, f"a receipt checked against another database: {out}")
            rc, okey = cli("audit", "key", "--db", other_srv.db)
            rc, out = cli("audit", "verify-receipt", "--key", okey.strip(), receipt)
            check(rc == 1 and "un'altra installazione" in out,
                  f"offline, with another deployment's key: {out}")


def _concurrent_receipts(srv, env, pid, pk, body_file, rounds=5, width=12):
    """Rounds of `width` look-ups sent at once, until two answers share a
    batch; every receipt checked (offline in Python, and one per batch with
    verify-receipt).  Returns the most answers one signature covered."""
    cfs = [p["cf"] for p in registered(env.pop)[:width]]
    most = 0
    for rnd in range(rounds):
        got, errors = [None] * width, []
        gate = threading.Barrier(width)

        def run(k):
            conn = Conn(srv, env.op)
            try:
                conn.get("/api/v1/auth/me")
                gate.wait()
                got[k] = conn.get(f"/api/v1/persons/{cfs[k]}?purpose={pid}&case_ref=B-{rnd}-{k}")
            except Exception as e:   # noqa: BLE001 - reported below
                errors.append(e)
            finally:
                conn.close()

        ts = [threading.Thread(target=run, args=(k,)) for k in range(width)]
        for th in ts:
            th.start()
        for th in ts:
            th.join()
        check(not errors and all(r is not None and r.status == 200 for r in got),
              f"concurrent look-ups: {errors[:3]} {[r.status for r in got if r is not None]}")
        batches = {}
        for r in got:
            rc_ = r.header("X-Visura-Receipt")
            parts = rc_.split(".")
            eq(parts[4], hashlib.sha256(r.body).hexdigest(), "each receipt hashes its own body")
            check(receipt_batch_ok(pk, rc_), f"each receipt's batch signature verifies: {rc_[:40]}")
            batches.setdefault(parts[11], []).append((int(parts[8]), int(parts[9]), rc_, r.body))
        for sig, members in batches.items():
            eq(len({m[1] for m in members}), 1, "one batch size under one signature")
            eq(len({m[0] for m in members}), len(members), "distinct places in the batch")
            check(len(members) <= members[0][1], "no more receipts than the batch holds")
            with open(body_file, "wb") as f:
                f.write(members[-1][3])
            rc, out = cli("audit", "verify-receipt", "--db", srv.db, members[-1][2], body_file)
            eq(rc, 0, f"verify-receipt of a batch's receipt: {out}")
        most = max(most, max(len(m) for m in batches.values()))
        if most >= 2:
            break
    return most


def test_access_record_fields():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pop = env.pop
        conv = env.agreement(ALL)
        pid = conv["purpose_id"]
        narrow = env.agreement(["identity"])
        regs = registered(pop)
        p, p2 = regs[0], regs[1]
        op = env.op
        base = dict(account_id=op.account["id"], username=op.account["username"],
                    ente_id=env.ente["id"])
        t0 = srv.now()

        def rec_of(res, what, **want):
            rows = srv.access_log(before)
            check(len(rows) == 1, f"{what}: one access record per request, got {len(rows)}")
            row = rows[0]
            for k, v in dict(base, **want).items():
                eq(row[k], v, f"{what}: {k}")
            check(abs(row["at"] // 1000 - srv.now()) <= 5, f"{what}: at {row['at']} (ms) is now")
            if res is not None and res.status == 200:
                eq(row["id"], res["access_id"], f"{what}: access_id")
                eq(res.header("X-Visura-Access-Id"), str(row["id"]), f"{what}: header")
            return row

        # a consultation, with a case reference, and X-Forwarded-For (not trusted)
        before = srv.access_last_id()
        r = expect(op.get(f"/api/v1/persons/{p['cf']}?purpose={pid}&case_ref=PRAT%2F2026-7",
                          headers={"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"}),
                   200, what="consult")
        row = rec_of(r, "consult", convenzione_id=conv["id"], purpose_id=pid,
                     case_ref="PRAT/2026-7", on_behalf_of="", ip="127.0.0.1", operation="consult",
                     subjects=p["cf"], categories=",".join(ALL), outcome="ok", status=200, flags="")
        check(p["cf"] in row["query"], f"the query names the person: {row['query']!r}")
        # the household: every member is a subject
        before = srv.access_last_id()
        r = expect(op.get(f"/api/v1/persons/{p['cf']}/household?purpose={pid}"), 200, what="household")
        row = rec_of(r, "household", operation="household", outcome="ok", status=200, case_ref="")
        eq(set(row["subjects"].split(",")), set(pop.members(p["comune"], p["family_id"])),
           "household: subjects")
        # a search by name: the parameters, normalised, in the record
        before = srv.access_last_id()
        r = expect(op.get("/api/v1/persons?" + q(purpose=pid, surname=p2["surname"], name=p2["name"],
                                                 birth_date=p2["birth_date"])), 200, what="search")
        row = rec_of(r, "search by name", operation="search", outcome="ok", status=200)
        check(p2["cf"] in row["subjects"].split(","), f"search: subjects {row['subjects']!r}")
        check(p2["surname"] in row["query"] and p2["birth_date"] in row["query"],
              f"search: query {row['query']!r}")
        # verification: the facts asked are recorded, never their values
        before = srv.access_last_id()
        r = expect(op.post("/api/v1/verify", {"purpose": pid, "codice_fiscale": p["cf"],
                                             "case_ref": "V-1",
                                             "declared": {"surname": "ZZSECRETSURNAME",
                                                          "alive": True}}), 200, what="verify")
        row = rec_of(r, "verify", operation="verify", outcome="ok", subjects=p["cf"], case_ref="V-1")
        check("surname" in row["query"] and "ZZSECRETSURNAME" not in row["query"],
              f"verify: query {row['query']!r}")
        # nothing found
        nobody = cf_with_check("QQQQQQ01A01F257")
        before = srv.access_last_id()
        expect(op.get(f"/api/v1/persons?purpose={pid}&cf={nobody}"), 404, "not_found", "not found")
        rec_of(None, "not found", operation="search", outcome="not_found", status=404, subjects="",
               convenzione_id=conv["id"], purpose_id=pid)
        # refused: a category outside the profile (agreement and purpose known)
        before = srv.access_last_id()
        expect(op.get(f"/api/v1/persons/{p['cf']}/household?purpose={narrow['purpose_id']}"), 403,
               "category_not_permitted", "household outside the profile")
        rec_of(None, "refused category", operation="household", outcome="refused:category_not_permitted",
               status=403, subjects="", convenzione_id=narrow["id"],
               purpose_id=narrow["purpose_id"], categories="identity")
        # refused: a purpose of nobody (no agreement)
        before = srv.access_last_id()
        expect(op.get(f"/api/v1/persons/{p['cf']}?purpose=987654&case_ref=X-9"), 403,
               "purpose_not_allowed", "foreign purpose")
        rec_of(None, "foreign purpose", outcome="refused:purpose_not_allowed", status=403,
               purpose_id=987654, convenzione_id=0, case_ref="X-9", subjects="")
        # from another address: the record names the real source
        before = srv.access_last_id()
        r = from_address(srv, op, "127.0.0.2", "GET", f"/api/v1/persons/{p2['cf']}?purpose={pid}")
        expect(r, 200, what="consult from 127.0.0.2")
        rec_of(r, "from 127.0.0.2", ip="127.0.0.2", subjects=p2["cf"])
        # an API client on behalf of a person of its body
        api_acc, _ = srv.create_account("api", env.ente["id"])
        tok = expect(srv.admin().post(f"/api/v1/accounts/{api_acc['id']}/tokens", {"name": "t"}), 201,
                     what="token").json["token"]
        api = srv.client(bearer=tok)
        before = srv.access_last_id()
        r = expect(api.get(f"/api/v1/persons/{p['cf']}?purpose={pid}&case_ref=API-1",
                           headers={"X-Visura-On-Behalf-Of": "Dott.ssa Anna Bianchi (matr. 42)"}),
                   200, what="api consult")
        rows = srv.access_log(before)
        eq(len(rows), 1, "api: one record")
        for k, v in dict(account_id=api_acc["id"], username=api_acc["username"],
                         ente_id=env.ente["id"], on_behalf_of="Dott.ssa Anna Bianchi (matr. 42)",
                         case_ref="API-1", subjects=p["cf"], outcome="ok", operation="consult",
                         convenzione_id=conv["id"], purpose_id=pid).items():
            eq(rows[0][k], v, f"api: {k}")
        before = srv.access_last_id()
        expect(api.get(f"/api/v1/persons/{p['cf']}?purpose={pid}"), 400, "on_behalf_of_required",
               "api without the end user")
        rows = srv.access_log(before)
        eq([(x["username"], x["outcome"], x["status"]) for x in rows],
           [(api_acc["username"], "refused:on_behalf_of_required", 400)], "api refused: record")
        # the chain links every record to the one before
        log = srv.access_log()
        for a, b in zip(log, log[1:]):
            eq(b["prev_hash"], a["hash"], f"record {b['id']} chained to {a['id']}")
            eq(b["id"], a["id"] + 1, "ids without gaps")
        check(all(x["at"] // 1000 >= t0 - 5 for x in log), "times of the records")


def test_rate_limit_per_operator():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        conv = env.agreement(ALL, per_minute=3)
        pid = conv["purpose_id"]
        other = env.operator()
        cfs = [p["cf"] for p in registered(env.pop)[:10]]
        align(srv, 60)
        for i in range(3):
            expect(env.op.get(f"/api/v1/persons/{cfs[i]}?purpose={pid}&case_ref=RL"), 200,
                   what=f"request {i + 1} of 3")
        before = srv.access_last_id()
        r = env.op.get(f"/api/v1/persons/{cfs[3]}?purpose={pid}&case_ref=RL")
        expect(r, 429, "rate_limited", "the 4th request within the minute")
        check(error_shape_ok(r), f"error shape: {r.body!r}")
        check("person" not in (r.json or {}), "no data in a 429")
        ra = r.header("Retry-After")
        check(ra is not None and ra.isdigit() and 1 <= int(ra) <= 60, f"Retry-After {ra!r}")
        one_record(srv, before, "429", outcome="refused:rate_limited", status=429,
                   convenzione_id=conv["id"], purpose_id=pid, subjects="", case_ref="RL",
                   username=env.op.username)
        # per operator: another operator of the same body is not throttled
        expect(other.get(f"/api/v1/persons/{cfs[4]}?purpose={pid}"), 200, what="other operator")
        # refused requests do not extend the wait
        expect(env.op.get(f"/api/v1/persons/{cfs[3]}?purpose={pid}"), 429, "rate_limited", "again")
        srv.advance(int(ra))
        expect(env.op.get(f"/api/v1/persons/{cfs[3]}?purpose={pid}"), 200,
               what=f"after Retry-After ({ra} s)")
        for i in range(2):
            expect(env.op.get(f"/api/v1/persons/{cfs[5 + i]}?purpose={pid}"), 200, what="new window")
        expect(env.op.get(f"/api/v1/persons/{cfs[7]}?purpose={pid}"), 429, "rate_limited",
               "the 4th of the new window")
        srv.advance(60)
        expect(env.op.get(f"/api/v1/persons/{cfs[7]}?purpose={pid}"), 200, what="60 s later")


def test_rate_limit_body_across_operators():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL, body_per_minute=4)
        op2 = env.operator()
        # another body with the same kind of agreement is independent
        ente_b = srv.create_ente()
        op_b = srv.user("operator", ente_b["id"])
        pid_b = srv.create_agreement(ente_b["id"], ALL, body_per_minute=4)["purpose_id"]
        cfs = [p["cf"] for p in registered(env.pop)[:12]]
        align(srv, 60)
        for i, c in enumerate((env.op, env.op, op2, op2)):
            expect(c.get(f"/api/v1/persons/{cfs[i]}?purpose={pid}"), 200, what=f"body request {i + 1}")
        before = srv.access_last_id()
        r = expect(env.op.get(f"/api/v1/persons/{cfs[4]}?purpose={pid}"), 429, "rate_limited",
                   "the body's 5th request (operator 1)")
        check((r.header("Retry-After") or "").isdigit(), "Retry-After")
        one_record(srv, before, "body limit", outcome="refused:rate_limited", status=429)
        expect(op2.get(f"/api/v1/persons/{cfs[4]}?purpose={pid}"), 429, "rate_limited",
               "the body's 5th request (operator 2)")
        for i in range(4):
            expect(op_b.get(f"/api/v1/persons/{cfs[5 + i]}?purpose={pid_b}"), 200,
                   what=f"another body, request {i + 1}")
        srv.advance(60)
        expect(op2.get(f"/api/v1/persons/{cfs[4]}?purpose={pid}"), 200, what="next minute")


def test_rate_limit_per_purpose():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        conv = env.agreement(ALL, purpose_per_minute=3)
        p1 = conv["purpose_id"]
        p2 = expect(srv.admin().post(f"/api/v1/convenzioni/{conv['id']}/purposes",
                                   {"code": "P2", "description": "second purpose",
                                    "legal_basis": "art. 37 DPR 223/1989"}), 201,
                    what="second purpose").json["id"]
        op2 = env.operator()
        cfs = [p["cf"] for p in registered(env.pop)[:12]]
        align(srv, 60)
        expect(env.op.get(f"/api/v1/persons/{cfs[0]}?purpose={p1}"), 200, what="P1 #1")
        expect(op2.get(f"/api/v1/persons/{cfs[1]}?purpose={p1}"), 200, what="P1 #2 (operator 2)")
        expect(env.op.get(f"/api/v1/persons/{cfs[2]}?purpose={p1}"), 200, what="P1 #3")
        before = srv.access_last_id()
        expect(op2.get(f"/api/v1/persons/{cfs[3]}?purpose={p1}"), 429, "rate_limited",
               "P1 #4 (operator 2)")
        one_record(srv, before, "purpose limit", outcome="refused:rate_limited", purpose_id=p1)
        expect(env.op.get(f"/api/v1/persons/{cfs[3]}?purpose={p1}"), 429, "rate_limited", "P1 #4")
        for i in range(3):
            expect(env.op.get(f"/api/v1/persons/{cfs[4 + i]}?purpose={p2}"), 200,
                   what=f"the other purpose, #{i + 1}")
        expect(env.op.get(f"/api/v1/persons/{cfs[7]}?purpose={p2}"), 429, "rate_limited", "P2 #4")
        srv.advance(60)
        expect(env.op.get(f"/api/v1/persons/{cfs[3]}?purpose={p1}"), 200, what="P1, next minute")


def test_rate_limit_per_day():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL, per_day=5)
        cfs = [p["cf"] for p in registered(env.pop)[:10]]
        align(srv, DAY, margin=60)
        relogin(env.op)
        for i in range(5):
            expect(env.op.get(f"/api/v1/persons/{cfs[i]}?purpose={pid}"), 200, what=f"#{i + 1} today")
        r = expect(env.op.get(f"/api/v1/persons/{cfs[5]}?purpose={pid}"), 429, "rate_limited",
                   "#6 today")
        ra = int(r.header("Retry-After") or 0)
        check(DAY - 3700 < ra <= DAY, f"Retry-After until tomorrow, got {ra}")
        srv.advance(61)
        expect(env.op.get(f"/api/v1/persons/{cfs[5]}?purpose={pid}"), 429, "rate_limited",
               "a minute later, same day")
        srv.advance(ra)
        relogin(env.op)
        expect(env.op.get(f"/api/v1/persons/{cfs[5]}?purpose={pid}"), 200, what="the next day")


def test_break_glass():
    with Server(population=POP) as srv:
        env = Env(srv)
        conv = env.agreement(ALL, per_minute=3, break_glass=True)
        pid = conv["purpose_id"]
        cfs = [p["cf"] for p in registered(env.pop)[:10]]
        align(srv, 60)
        for i in range(3):
            expect(env.op.get(f"/api/v1/persons/{cfs[i]}?purpose={pid}"), 200, what=f"#{i + 1}")
        expect(env.op.get(f"/api/v1/persons/{cfs[3]}?purpose={pid}"), 429, "rate_limited", "#4")
        check(not alerts(srv, rule="break_glass"), "no break_glass alert before")
        before = srv.access_last_id()
        r = env.op.get(f"/api/v1/persons/{cfs[3]}?" + q(purpose=pid, break_glass=1,
                                                         justification=JUSTIFICATION,
                                                         case_ref="URG-1"))
        expect(r, 200, what="break-glass beyond the limit")
        eq(r["person"]["identity"]["codice_fiscale"], cfs[3], "break-glass: the data")
        check(r.header("X-Visura-Receipt"), "break-glass answer has a receipt")
        # the person, and the parents the answer names (the trail's rule)
        par = r["person"].get("parentage") or {}
        named = [cfs[3]] + [c for c in (par.get("father"), par.get("mother")) if c]
        one_record(srv, before, "break-glass", flags="break_glass", outcome="ok", status=200,
                   subjects=",".join(named), case_ref="URG-1")
        al = alerts(srv, rule="break_glass")
        eq(len(al), 1, "one break_glass alert")
        eq((al[0]["account_id"], al[0]["ente_id"], al[0]["state"]),
           (env.op.account["id"], env.ente["id"], "open"), "the alert's account, body and state")
        check(JUSTIFICATION[:100] in al[0]["detail"], f"the justification in the alert: {al[0]['detail']!r}")
        check(any(a["rule"] == "break_glass" for a in alerts(srv, env.lead)),
              "the body's lead sees the break_glass alert")
        check(alert_mails(srv, harness.ADMIN_EMAIL, env.op.username),
              "an alert mail to the registry office")
        mails = alert_mails(srv, env.lead.account["email"], env.op.username)
        check(mails and "accesso in emergenza" in mails[0]["subject"] + mails[0]["body"],
              f"an alert mail to the body's lead, naming the rule in Italian: {mails}")
        check("break_glass" not in mails[0]["subject"] + mails[0]["body"],
              f"no rule code in the mail the lead reads: {mails}")
        # every break-glass request is flagged and alerted, also verification
        r = env.op.post("/api/v1/verify", {"purpose": pid, "codice_fiscale": cfs[4],
                                          "declared": {"alive": True}, "break_glass": True,
                                          "justification": JUSTIFICATION})
        expect(r, 200, what="break-glass verification")
        eq(srv.access_log_tail(1)[0]["flags"], "break_glass", "verify: flag")
        eq(len(alerts(srv, rule="break_glass")), 2, "a second break_glass alert")
        # the normal path is still limited
        expect(env.op.get(f"/api/v1/persons/{cfs[5]}?purpose={pid}"), 429, "rate_limited",
               "without break-glass")
        # justification: 20..300 characters
        for what, just in (("missing", None), ("19 characters", "x" * 19), ("301 characters", "y" * 301)):
            before = srv.access_last_id()
            r = env.op.get(f"/api/v1/persons/{cfs[5]}?" + q(purpose=pid, break_glass=1,
                                                             justification=just))
            expect(r, 400, "justification_required", f"justification {what}")
            one_record(srv, before, f"justification {what}", outcome="refused:justification_required",
                       flags="", subjects="")
        r = env.op.get(f"/api/v1/persons/{cfs[5]}?" + q(purpose=pid, break_glass=1,
                                                         justification="z" * 20))
        expect(r, 200, what="justification of exactly 20 characters")


def test_break_glass_not_allowed():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        conv = env.agreement(ALL)   # break_glass defaults to false
        pid = conv["purpose_id"]
        cf = registered(env.pop)[0]["cf"]
        before = srv.access_last_id()
        r = env.op.get(f"/api/v1/persons/{cf}?" + q(purpose=pid, break_glass=1,
                                                     justification=JUSTIFICATION))
        expect(r, 403, "break_glass_not_allowed", "break-glass on an agreement without it")
        check("person" not in (r.json or {}), "no data")
        one_record(srv, before, "not allowed", outcome="refused:break_glass_not_allowed",
                   status=403, subjects="", flags="", convenzione_id=conv["id"])
        check(not alerts(srv, rule="break_glass"), "no break_glass alert for a refused request")
        expect(env.op.get(f"/api/v1/persons/{cf}?purpose={pid}"), 200, what="a normal request")


def test_audit_access_report():
    with Server(population=POP) as srv:
        t = Trail(srv)
        auditor = srv.user("auditor")
        pk = public_key(srv.db)
        log = srv.access_log()
        day = today_utc(srv)
        d = lambda n: (day + datetime.timedelta(days=n)).isoformat()

        def has(rec, cf):
            return cf in rec["subjects"].split(",")

        cases = [
            ("everything", {}, lambda r: True),
            ("cf", {"cf": t.x["cf"]}, lambda r: has(r, t.x["cf"])),
            ("account", {"account_id": t.op2.account["id"]},
             lambda r: r["account_id"] == t.op2.account["id"]),
            ("body", {"ente_id": t.b.ente["id"]}, lambda r: r["ente_id"] == t.b.ente["id"]),
            ("purpose", {"purpose_id": t.pa1}, lambda r: r["purpose_id"] == t.pa1),
            ("cf and body", {"cf": t.x["cf"], "ente_id": t.a.ente["id"]},
             lambda r: has(r, t.x["cf"]) and r["ente_id"] == t.a.ente["id"]),
            ("from tomorrow", {"from": d(1)}, lambda r: False),
            ("from yesterday to tomorrow", {"from": d(-1), "to": d(1)}, lambda r: True),
            ("until yesterday", {"to": d(-1)}, lambda r: False),
        ]
        for what, params, pred in cases:
            want = [r["id"] for r in log if pred(r)]
            r = expect(auditor.get("/api/v1/audit/access?" + q(**params)), 200, what=what)
            sig = r.header("X-Visura-Signature")
            check(sig and ed25519_verify(pk, r.body, b64url(sig)),
                  f"{what}: X-Visura-Signature verifies over the JSON body")
            eq([x["id"] for x in r["records"]], want, f"{what}: record ids")
            eq(r["count"], len(want), f"{what}: count")
            if what == "everything":
                for got, row in zip(r["records"], log):
                    for k in ("account_id", "username", "ente_id", "convenzione_id", "purpose_id",
                              "case_ref", "on_behalf_of", "ip", "operation", "query", "categories",
                              "outcome", "status", "flags", "hash"):
                        eq(got[k], row[k], f"record {row['id']}: {k}")
                    eq(got["subjects"], [s for s in row["subjects"].split(",") if s],
                       f"record {row['id']}: subjects")
                    eq(harness.parse_time(got["at"]), row["at"] // 1000, f"record {row['id']}: at")
            # the same as CSV
            r = expect(auditor.get("/api/v1/audit/access?" + q(format="csv", **params)), 200,
                       what=f"{what} (CSV)")
            check((r.header("Content-Type") or "").startswith("text/csv"), "CSV content type")
            sig = r.header("X-Visura-Signature")
            check(sig and ed25519_verify(pk, r.body, b64url(sig)),
                  f"{what}: X-Visura-Signature verifies over the CSV body")
            check(not ed25519_verify(pk, r.body + b" ", b64url(sig)),
                  "the signature does not verify an altered body")
            rows = list(csv.DictReader(io.StringIO(r.body.decode())))
            eq([int(x["id"]) for x in rows], want, f"{what} (CSV): ids")
            for x in rows:
                row = next(y for y in log if y["id"] == int(x["id"]))
                for k in ("username", "case_ref", "operation", "subjects", "outcome", "hash"):
                    eq(x[k], str(row[k]), f"CSV record {row['id']}: {k}")
        # roles
        expect(srv.admin().get("/api/v1/audit/access"), 200, what="admin")
        expect(t.a.op.get("/api/v1/audit/access"), 403, "forbidden", "operator")
        expect(t.a.lead.get("/api/v1/audit/access"), 403, "forbidden", "lead")
        # malformed filters
        for bad in ("cf=ABC", "account_id=x", "ente_id=-1", "from=2026-13-01", "to=yesterday",
                    "account_id=%2B1", "ente_id=%201", "purpose_id=1x"):
            expect(auditor.get("/api/v1/audit/access?" + bad), 400, "invalid_request", bad)


def test_audit_access_report_to_date_is_inclusive():
    """`to=D` covers the day D (the report of "from D to D" is not empty when
    there were requests on D)."""
    with Server(population=POP) as srv:
        t = Trail(srv)
        day = today_utc(srv).isoformat()
        n = len(srv.access_log())
        r = expect(srv.admin().get(f"/api/v1/audit/access?from={day}&to={day}"), 200, what="today")
        eq(r["count"], n, f"records of from={day}&to={day}")


def test_subject_report():
    with Server(population=POP) as srv:
        t = Trail(srv)
        auditor = srv.user("auditor")
        r = expect(auditor.get(f"/api/v1/audit/subject/{t.x['cf']}"), 200, what="subject report").json
        eq(r["codice_fiscale"], t.x["cf"], "the person")
        want = [x for x in srv.access_log() if t.x["cf"] in x["subjects"].split(",")
                and x["outcome"] == "ok"]
        eq([e["access_id"] for e in r["accesses"]], [x["id"] for x in want], "the consultations")
        eq({e["ente"] for e in r["accesses"]}, {t.a.ente["name"], t.b.ente["name"]},
           "the bodies that consulted the person")
        for e, row in zip(r["accesses"], want):
            eq(e["username"], row["username"], "username")
            eq(e["case_ref"], row["case_ref"], "case_ref")
            eq(e["operation"], row["operation"], "operation")
            eq(e["embargoed_for_citizen"], False, "no embargo for these bodies")
            check(e["purpose"] == "test purpose", f"purpose description {e['purpose']!r}")
        kinds = {e["ente"]: e["ente_kind"] for e in r["accesses"]}
        eq(kinds[t.b.ente["name"]], "health", "ente_kind")
        r = expect(auditor.get(f"/api/v1/audit/subject/{t.z['cf']}"), 200, what="z").json
        eq([(e["ente"], e["operation"]) for e in r["accesses"]], [(t.b.ente["name"], "verify")],
           "a verification is a consultation too")
        nobody = registered(srv.population)[50]["cf"]
        eq(expect(auditor.get(f"/api/v1/audit/subject/{nobody}"), 200, what="nobody")["accesses"],
           [], "a person nobody consulted")
        expect(srv.admin().get(f"/api/v1/audit/subject/{t.x['cf']}"), 200, what="admin")
        expect(t.a.op.get(f"/api/v1/audit/subject/{t.x['cf']}"), 403, "forbidden", "operator")
        expect(t.a.lead.get(f"/api/v1/audit/subject/{t.x['cf']}"), 403, "forbidden", "lead")
        expect(auditor.get("/api/v1/audit/subject/SHORT"), 400, "invalid_request", "bad cf")


def test_usage_report():
    with Server(population=POP) as srv:
        t = Trail(srv)
        A, B = t.a, t.b
        log = srv.access_log()
        mine = [x for x in log if x["ente_id"] == A.ente["id"]]
        r = expect(srv.admin().get(f"/api/v1/usage?ente_id={A.ente['id']}"), 200, what="admin usage").json
        eq(r["ente_id"], A.ente["id"], "ente_id")
        eq(r["requests"], len(mine), "requests of body A")
        want = {}
        refused = {}
        for x in mine:
            if x["outcome"].startswith("refused:"):
                refused[x["username"]] = refused.get(x["username"], 0) + 1
            else:
                d = want.setdefault(x["username"], {})
                d[str(x["purpose_id"])] = d.get(str(x["purpose_id"]), 0) + 1
        eq(r["accesses_by_operator_and_purpose"], want, "by operator and purpose")
        eq(want, {A.op.account["username"]: {str(t.pa1): 2}, t.op2.account["username"]: {str(t.pa2): 1}},
           "the expected usage")
        eq(r["refused_by_operator"], refused, "refused by operator")
        eq(refused, {A.op.account["username"]: 1}, "the expected refusal")
        # the lead: own body only, whatever ente_id says
        r = expect(A.lead.get("/api/v1/usage"), 200, what="lead usage").json
        eq((r["ente_id"], r["requests"]), (A.ente["id"], len(mine)), "lead A")
        r = expect(A.lead.get(f"/api/v1/usage?ente_id={B.ente['id']}"), 200, what="lead A asks for B").json
        eq(r["ente_id"], A.ente["id"], "lead A gets body A even when asking for B")
        check(B.op.account["username"] not in json.dumps(r), "nothing of body B")
        r = expect(B.lead.get("/api/v1/usage"), 200, what="lead B").json
        eq(r["requests"], len([x for x in log if x["ente_id"] == B.ente["id"]]), "lead B")
        expect(A.op.get("/api/v1/usage"), 403, "forbidden", "operator")
        expect(srv.admin().get("/api/v1/usage"), 400, "invalid_request", "admin without ente_id")
        tomorrow = (today_utc(srv) + datetime.timedelta(days=1)).isoformat()
        r = expect(srv.admin().get(f"/api/v1/usage?ente_id={A.ente['id']}&from={tomorrow}"), 200,
                   what="from tomorrow").json
        eq(r["requests"], 0, "nothing from tomorrow")
        # the body's alerts are part of its usage
        narrow = A.purpose(["identity"])
        for i in range(5):
            expect(A.op.get(f"/api/v1/persons/{t.x['cf']}/household?purpose={narrow}"), 403,
                   "category_not_permitted", "refused")
        r = expect(A.lead.get("/api/v1/usage"), 200, what="lead usage").json
        check(any(a["rule"] == "refused" for a in r["alerts"]), f"the alert in the usage: {r['alerts']}")
        check(all(a["ente_id"] == A.ente["id"] for a in r["alerts"]), "only body A's alerts")
        # how many alerts in all, beside the newest 1,000 listed
        eq(r.get("alerts_total"), len(r["alerts"]), "the count of A's alerts")
        r = expect(B.lead.get("/api/v1/usage"), 200, what="lead B usage").json
        check(not any(a["ente_id"] == A.ente["id"] for a in r["alerts"]), "B sees none of A's alerts")
        eq(r.get("alerts_total"), len(r["alerts"]), "the count of B's alerts")


def test_http_threads_free_beside_an_import():
    """An import holds the register's write lock for the whole of a
    snapshot (SQLite; a minute and more for a large municipality's first).
    Before, a request that had to write there — a failed login counted, by
    anyone, with no account — waited 10 s on one of the server's two HTTP
    threads: two at a time held both, and every look-up waited behind them
    (bench: 29 look-ups in 10 s instead of 50,000).  Now such a write waits
    at most a second, then the next ones of the server are refused at once
    while the lock is held (503 with Retry-After), and look-ups go on.  An
    administrator's change is refused the same way, saying the database is
    busy with another write."""
    import sqlite3
    with Server(population=POP) as srv:
        if srv.db.startswith("postgres:"):
            # PostgreSQL locks rows: an import holds none of these
            env = Env(srv, lead=False)
            expect(login_from(srv, "127.0.0.2", env.op.username, "sbagliata-1"), 401)
            return
        env = Env(srv, lead=False)
        pid = env.purpose()
        cfs = [p["cf"] for p in registered(env.pop)[:40]]
        expect(env.op.get(f"/api/v1/persons/{cfs[0]}?purpose={pid}"), 200, what="before")
        held = sqlite3.connect(srv.db, timeout=0, isolation_level=None)
        held.execute("BEGIN IMMEDIATE")   # what an import's transaction holds
        stop = threading.Event()
        lookups, logins = [], []

        def look():
            conn = Conn(srv, env.op)
            i = 0
            while not stop.is_set():
                t = time.monotonic()
                r = conn.get(f"/api/v1/persons/{cfs[i % len(cfs)]}?purpose={pid}")
                lookups.append((r.status, time.monotonic() - t))
                i += 1
            conn.close()

        def fail_logins(source):
            for k in range(4):
                t = time.monotonic()
                r = login_from(srv, source, env.op.username, f"sbagliata-{k}")
                logins.append((r.status, time.monotonic() - t, r))

        lt = threading.Thread(target=look)
        lt.start()
        time.sleep(0.3)
        ts = [threading.Thread(target=fail_logins, args=(f"127.0.0.{2 + k}",)) for k in range(2)]
        [t.start() for t in ts]
        [t.join(timeout=120) for t in ts]
        # an administrator's change: refused at once as busy, not as a
        # database away (before: 503 "non raggiunge la sua base dati",
        # no Retry-After)
        t = time.monotonic()
        r = env.admin.post("/api/v1/enti", {"name": "Ente durante l'importazione",
                                            "kind": "other", "tax_code": "01234567890",
                                            "hours": "always"})
        secs = time.monotonic() - t
        check(r.status == 503 and secs < 3.0,
              f"an administrator's change beside an import: 503 within 3 s ({r.status}, {secs:.2f} s)")
        ra = r.header("Retry-After")
        check(ra is not None and ra.isdigit(), f"the change refused with Retry-After ({ra!r})")
        check(r.json and "occupata da un'altra scrittura" in r.json["error"]["message"],
              f"the change refused as busy: {r.json}")
        time.sleep(0.5)
        stop.set()
        lt.join(timeout=60)
        # the periodic duties (every 5 s) put off while the register is
        # held: said once, not a warning a duty a tick (before: a `warn`
        # line per failed duty at every tick, for the import's length)
        deadline = time.monotonic() + 15
        while "attività periodiche rimandate" not in srv.log_text() and \
                time.monotonic() < deadline:
            time.sleep(0.1)
        check("attività periodiche rimandate" in srv.log_text(),
              "the duties put off beside the held register, said so")
        held.rollback()
        held.close()
        while "attività periodiche riprese" not in srv.log_text() and \
                time.monotonic() < deadline + 10:
            time.sleep(0.1)
        log = srv.log_text()
        check("attività periodiche riprese" in log, "and said again when they are done")
        eq(log.count("attività periodiche rimandate"), 1, "said once for the stretch")
        busy = [ln for ln in log.splitlines()
                if "level=warn" in ln and "occupata da un'altra scrittura" in ln]
        eq(busy, [], "no duty warned about as failed for the held register")
        eq(len(logins), 8, "every failed login answered")
        for st, secs, r in logins:
            check(st == 503 and secs < 3.0,
                  f"a login that cannot be counted beside an import: 503 within 3 s ({st}, {secs:.2f} s)")
            ra = r.header("Retry-After")
            check(ra is not None and ra.isdigit(), f"with Retry-After ({ra!r})")
        slowest = max(secs for _, secs, _ in logins)
        check(sorted(secs for _, secs, _ in logins)[-3] < 0.5,
              f"after the first brief waits the refusals are at once ({[round(x[1], 2) for x in logins]})")
        check(lookups and all(st == 200 for st, _ in lookups),
              f"every look-up answered 200 ({set(st for st, _ in lookups)})")
        worst = max(secs for _, secs in lookups)
        check(worst < 3.0, f"no look-up waited behind the logins ({worst:.2f} s, "
                           f"{len(lookups)} look-ups; slowest login {slowest:.2f} s)")
        # the lock released: a login is counted and succeeds at once
        r = login_from(srv, "127.0.0.4", env.op.username, "sbagliata-9")
        expect(r, 401, what="a wrong password counted again")
        relogin(env.op)
        expect(env.op.get(f"/api/v1/persons/{cfs[1]}?purpose={pid}"), 200, what="after")


if __name__ == "__main__":
    run_tests(globals())
