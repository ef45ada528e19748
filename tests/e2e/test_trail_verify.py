#!/usr/bin/env python3
"""End-to-end: the citizen's one-time codes (once, throttled per address)
and the police/court embargo of the citizen's page; verifying the access
trail (the verification endpoint and signed exports, tampered databases,
verification while requests write, a kill -9 in the middle of a load
that keeps every acknowledged record).

Split from test_trail.py (helpers in trail_common.py) so that ctest runs
the parts side by side.

usage: test_trail_verify.py PATH/TO/visura [TEST...]
"""
import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

from trail_common import *  # noqa: F401,F403 — the helpers and imports of the trail tests
from trail_common import _load, _start_load


def _code(srv, cf):
    r = expect(srv.admin().post("/api/v1/audit/subject-codes", {"codice_fiscale": cf}), 201,
               what="subject code")
    check(re.fullmatch(r"[A-Z0-9]{12}", r["code"]) is not None, f"code {r['code']!r}")
    check(r["page"].endswith("/citizen/access-report?code=" + r["code"]),
          f"the address for the citizen: {r['page']!r}")
    return r["code"]


def _citizen(srv, code, source=None):
    path = "/citizen/access-report?" + q(code=code)
    if source:
        return from_address(srv, None, source, "GET", path)
    return srv.request("GET", path)


def _random_code():
    return "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(12))


def _guess_until_locked(srv, source=None, wrong=6):
    """Wrong codes from `source` until `wrong` of them were judged (404),
    letting the short delays pass on the test clock: a lockout follows."""
    seen = 0
    for i in range(60):
        r = _citizen(srv, _random_code(), source)
        if r.status == 404:
            seen += 1
            if seen >= wrong:
                break
        elif r.status == 429:
            srv.advance(int(r.header("Retry-After") or 0) or 31)
        else:
            raise harness.TestFailure(f"a wrong code: {r}")
    eq(seen, wrong, "wrong codes judged")
    expect(_citizen(srv, _random_code(), source), 429, "too_many_attempts", "locked out")


def test_citizen_code_once_and_throttled():
    with Server(population=POP) as srv:
        t = Trail(srv)
        code = _code(srv, t.x["cf"])
        r = expect(_citizen(srv, code), 200, what="the citizen's report")
        eq(r["codice_fiscale"], t.x["cf"], "the person")
        eq(sorted(e["ente"] for e in r["accesses"]),
           sorted([t.a.ente["name"], t.a.ente["name"], t.b.ente["name"]]), "the bodies")
        for e in r["accesses"]:
            check({"at", "ente", "purpose", "operation"} <= set(e), f"entry {e}")
            check(not {"username", "access_id", "case_ref"} & set(e),
                  f"no operator names or case references for the citizen: {e}")
        expect(_citizen(srv, code), 404, what="the same code a second time")
        # other roles may not issue codes
        for who, c in (("operator", t.a.op), ("lead", t.a.lead), ("auditor", srv.user("auditor"))):
            expect(c.post("/api/v1/audit/subject-codes", {"codice_fiscale": t.x["cf"]}), 403,
                   "forbidden", who)
        expect(srv.admin().post("/api/v1/audit/subject-codes", {"codice_fiscale": "ABC"}), 400,
               what="bad cf")
        # guessing: 404, then throttled
        srv.advance(DAY + 60)
        statuses = []
        for i in range(6):
            statuses.append(_citizen(srv, _random_code()).status)
        eq(statuses[0], 404, "a wrong code")
        check(set(statuses) <= {404, 429} and 429 in statuses,
              f"wrong codes are throttled (429 after a few): {statuses}")
        # up to the lockout: throttled even with a right code
        code2 = _code(srv, t.y["cf"])
        _guess_until_locked(srv)
        expect(_citizen(srv, code2), 429, what="a right code during the lockout")
        srv.advance(DAY + 60)
        r = expect(_citizen(srv, code2), 200, what="the right code after the lockout")
        eq(r["codice_fiscale"], t.y["cf"], "the person")
        expect(_citizen(srv, code2), 404, what="and only once")
        # codes expire after 30 days
        code3 = _code(srv, t.y["cf"])
        srv.advance(31 * DAY)
        expect(_citizen(srv, code3), 404, what="an expired code")


def test_citizen_throttle_retry_after():
    with Server() as srv:
        for i in range(10):
            r = _citizen(srv, "WRONGCODE" + str(100 + i))
            if r.status == 429:
                break
        expect(r, 429, "too_many_attempts", "throttled guessing")
        ra = r.header("Retry-After")
        check(ra is not None and ra.isdigit() and int(ra) >= 1,
              f"429 too_many_attempts carries Retry-After (docs/api.md): headers {r.headers}")


def test_citizen_throttle_is_per_address():
    """A guesser at one address must not lock every citizen out."""
    with Server(population=POP) as srv:
        t = Trail(srv)
        code = _code(srv, t.x["cf"])
        _guess_until_locked(srv, "127.0.0.2")
        r = _citizen(srv, code, source="127.0.0.3")
        expect(r, 200, what="a citizen at another address with a right code")


def _police_setup(srv):
    pol, oth = Env(srv, kind="police", lead=False), Env(srv, lead=False)
    p = registered(srv.population)[7]
    expect(pol.op.get(f"/api/v1/persons/{p['cf']}?purpose={pol.purpose(ALL)}&case_ref=INDAGINE-1"),
           200, what="police consult")
    expect(oth.op.get(f"/api/v1/persons/{p['cf']}?purpose={oth.purpose(ALL)}"), 200,
           what="other consult")
    return pol, oth, p


def test_police_embargo_default():
    with Server(population=POP) as srv:
        pol, oth, p = _police_setup(srv)
        office = expect(srv.admin().get(f"/api/v1/audit/subject/{p['cf']}"), 200, what="office").json
        emb = {e["ente"]: e["embargoed_for_citizen"] for e in office["accesses"]}
        eq(emb, {pol.ente["name"]: True, oth.ente["name"]: False},
           "the office sees both, the police one marked embargoed_for_citizen")
        r = expect(_citizen(srv, _code(srv, p["cf"])), 200, what="citizen now")
        eq([e["ente"] for e in r["accesses"]], [oth.ente["name"]], "the police consultation is hidden")
        e = r["accesses"][0]
        check(re.fullmatch(r"\d{1,2} [a-z]+ \d{4}, ore \d\d:\d\d:\d\d", e["data_ora"]),
              f"the time in Italian: {e['data_ora']!r}")
        eq((e["tipo_ente"], e["operazione"]), ("altro", "consultazione della scheda anagrafica"),
           "the body's kind and the operation in Italian")
        check("polizia" in r["note"] and "365 giorni" in r["note"], f"the note in Italian: {r['note']}")
        _citizen_page(srv, p, oth, pol)
        # 364 days later: still hidden (the admin renews itself on the way)
        srv.advance(300 * DAY)
        srv.admin()
        srv.advance(64 * DAY)
        r = expect(_citizen(srv, _code(srv, p["cf"])), 200, what="citizen after 364 days")
        eq([e["ente"] for e in r["accesses"]], [oth.ente["name"]], "still hidden after 364 days")
        srv.advance(2 * DAY)
        r = expect(_citizen(srv, _code(srv, p["cf"])), 200, what="citizen after 366 days")
        eq(sorted(e["ente"] for e in r["accesses"]), sorted([pol.ente["name"], oth.ente["name"]]),
           "the police consultation appears after the embargo")
        office = expect(srv.admin().get(f"/api/v1/audit/subject/{p['cf']}"), 200, what="office").json
        eq({e["embargoed_for_citizen"] for e in office["accesses"]}, {False}, "embargo over")


def _citizen_page(srv, p, shown, hidden):
    """The same report as a page, for a person in a browser: Italian,
    printable, the embargoed consultation neither listed nor counted, no
    operator; a form without a code, a page for a used code."""
    html = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    code = _code(srv, p["cf"])
    path = "/citizen/access-report?" + q(code=code)
    r = expect(srv.request("GET", path, headers=html), 200, what="the citizen's page")
    check((r.header("Content-Type") or "").startswith("text/html"), "an HTML page")
    page = r.body.decode()
    for want in ("<html lang=\"it\">", "Servizio anagrafico", "Chi ha consultato i miei dati",
                 p["cf"], shown.ente["name"], "test purpose", "Data e ora", "Consultazioni (1)",
                 "/static/print.css", "365 giorni", "polizia"):
        check(want in page, f"the page shows {want!r}")
    check(re.search(r"\d{1,2} (gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|"
                    r"settembre|ottobre|novembre|dicembre) \d{4}, ore \d\d:\d\d", page),
          "dates and times in Italian")
    for never in (hidden.ente["name"], "INDAGINE-1", shown.op.account["username"],
                  hidden.op.account["full_name"], shown.op.account["full_name"],
                  "<script", "null", "undefined"):
        check(never not in page, f"the page does not show {never!r}")
    r = expect(srv.request("GET", path, headers=html), 404, what="the used code, as a page")
    check("già stato usato" in r.body.decode() and "<form" in r.body.decode(), "a page and a form")
    r = expect(srv.request("GET", "/citizen/access-report", headers=html), 200, what="the form")
    check("name=\"code\"" in r.body.decode(), "the form asks for the code")
    expect(srv.request("GET", "/citizen/access-report"), 404, "invalid_code", "JSON without a code")


def test_police_embargo_zero_days():
    with Server(population=POP, embargo_days=0) as srv:
        pol, oth, p = _police_setup(srv)
        r = expect(_citizen(srv, _code(srv, p["cf"])), 200, what="citizen")
        eq(sorted(e["ente"] for e in r["accesses"]), sorted([pol.ente["name"], oth.ente["name"]]),
           "with --embargo-days 0 nothing is hidden")
        office = expect(srv.admin().get(f"/api/v1/audit/subject/{p['cf']}"), 200, what="office").json
        eq({e["embargoed_for_citizen"] for e in office["accesses"]}, {False}, "no embargo")
        # a court is embargoed like the police (default server)
    with Server(population=POP) as srv:
        court, _oth = Env(srv, kind="court", lead=False), None
        p = registered(srv.population)[8]
        expect(court.op.get(f"/api/v1/persons/{p['cf']}?purpose={court.purpose(ALL)}"), 200,
               what="court consult")
        r = expect(_citizen(srv, _code(srv, p["cf"])), 200, what="citizen")
        eq(r["accesses"], [], "a court consultation is hidden from the citizen")



def test_verify_endpoint_and_signed_export():
    with Server(population=POP) as srv:
        t = Trail(srv)
        log = srv.access_log()
        auditor = srv.user("auditor")
        r = expect(auditor.get("/api/v1/audit/verify"), 200, what="verify").json
        eq((r["intact"], r["records"], r["first_bad_id"]), (True, len(log), 0), "intact trail")
        expect(t.a.op.get("/api/v1/audit/verify"), 403, "forbidden", "operator")
        rc, out = harness.audit_verify(srv.db)
        eq(rc, 0, f"visura audit verify: {out}")
        pk = public_key(srv.db)
        for fmt in ("json", "csv"):
            path = os.path.join(srv.dir, f"export.{fmt}")
            rc, out = cli("audit", "export", "--db", srv.db, "--format", fmt, "--out", path)
            eq(rc, 0, f"export {fmt}: {out}")
            with open(path, "rb") as f:
                data = f.read()
            with open(path + ".sig") as f:
                sigline = f.read().strip()
            check(sigline.startswith("ed25519ph "), f"signature file {sigline!r}")
            check(ed25519ph_verify(pk, data, b64url(sigline[10:])),
                  f"{fmt}: the signature (Ed25519ph) verifies with the database's public key")
            if fmt == "json":
                recs = [json.loads(line) for line in data.decode().splitlines()]
            else:
                recs = list(csv.DictReader(io.StringIO(data.decode())))
            eq([int(x["id"]) for x in recs], [x["id"] for x in log], f"{fmt}: every record")
            for x, row in zip(recs, log):
                for k in ("username", "subjects", "outcome", "hash", "prev_hash", "case_ref"):
                    eq(x[k], row[k], f"{fmt} record {row['id']}: {k}")
            rc, out = cli("audit", "verify-export", "--db", srv.db, path)
            eq(rc, 0, f"verify-export {fmt}: {out}")
            # one altered byte
            i = data.index(t.x["cf"].encode())
            with open(path, "wb") as f:
                f.write(data[:i] + bytes([data[i] ^ 0x02]) + data[i + 1:])
            rc, out = cli("audit", "verify-export", "--db", srv.db, path)
            eq(rc, 1, f"verify-export {fmt} with one altered byte: {out}")
            with open(path, "wb") as f:
                f.write(data[:-1])
            rc, out = cli("audit", "verify-export", "--db", srv.db, path)
            eq(rc, 1, f"verify-export {fmt} with the last byte cut: {out}")
            with open(path, "wb") as f:
                f.write(data)
            rc, out = cli("audit", "verify-export", "--db", srv.db, path)
            eq(rc, 0, f"verify-export {fmt} restored: {out}")
        # a filtered export (one person)
        path = os.path.join(srv.dir, "x.json")
        rc, out = cli("audit", "export", "--db", srv.db, "--cf", t.x["cf"], "--out", path)
        eq(rc, 0, f"export --cf: {out}")
        with open(path) as f:
            recs = [json.loads(line) for line in f]
        eq([int(x["id"]) for x in recs], [x["id"] for x in log if t.x["cf"] in x["subjects"].split(",")],
           "export --cf: that person's records")
        eq(cli("audit", "verify-export", "--db", srv.db, path)[0], 0, "verify-export --cf")
        # another database's key does not verify the export
        with Server() as other:
            rc, out = cli("audit", "verify-export", "--db", other.db, path)
            eq(rc, 1, f"verify-export against another database: {out}")


def test_tampered_trail_detected():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        ops = [env.op] + [env.operator() for _ in range(3)]
        cfs = [p["cf"] for p in registered(env.pop)[:30]]
        _load(srv, ops, pid, cfs, 265, "T")
        deadline = time.monotonic() + 10
        while True:
            cps = db_rows(srv.db, "SELECT * FROM audit_checkpoint ORDER BY id")
            if cps or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        check(cps, "a signed checkpoint after more than 1000 records")
        cp = cps[-1]
        check(cp["last_id"] >= 1000, f"checkpoint {cp}")
        log = srv.access_log()
        check(len(log) >= cp["last_id"], "records up to the checkpoint")
        prev = ""
        for row in log:
            eq(chain_hash(row, prev), row["hash"], f"recomputed hash of record {row['id']}")
            prev = row["hash"]
        check(ed25519_verify(public_key(srv.db), f"visura-checkpoint-v1.{cp['at']}.{cp['last_id']}."
                             f"{cp['last_hash']}".encode(), b64url(cp["signature"])),
              "the checkpoint's signature")
        # The tampering below is on copies, checked offline: the server is
        # stopped meanwhile, so that each copy is a template copy on
        # PostgreSQL (harness.db_copy), not a dump.
        srv.stop()
        intact = db_copy(srv, "intact.db")
        rc, out = harness.audit_verify(intact)
        eq(rc, 0, f"the intact copy: {out}")
        check(re.search(r"\b[1-9]\d* punti di controllo firmati", out), f"checkpoints verified: {out}")

        def tampered(name, *statements):
            path = db_copy(srv, name + ".db")
            db_exec(path, *statements)
            return harness.audit_verify(path)

        k = 10
        rc, out = tampered("edit", f"UPDATE access_log SET subjects = 'RSSMRA80A01F257X' WHERE id = {k}")
        eq(rc, 1, f"an edited record: {out}")
        check(f"registrazione {k}" in out, f"the edited record is named: {out}")
        rc, out = tampered("edit-case", f"UPDATE access_log SET case_ref = 'X' WHERE id = 500")
        check(rc == 1 and "registrazione 500" in out, f"an edited case_ref: {rc} {out}")
        rc, out = tampered("delete", f"DELETE FROM access_subject WHERE access_id = 20",
                           "DELETE FROM access_log WHERE id = 20")
        check(rc == 1 and re.search(r"registrazione (20|21)\b", out), f"a deleted record: {rc} {out}")
        rc, out = tampered("delete-first", "DELETE FROM access_log WHERE id = 1")
        check(rc == 1 and re.search(r"registrazione [12]\b", out), f"the first record deleted: {rc} {out}")
        # reorder: records 30 and 31 swap places (ids kept)
        cols = [c for c in log[0] if c != "id"]
        sets30 = ", ".join(f"{c} = (SELECT {c} FROM access_log WHERE id = 31)" for c in cols)
        path = db_copy(srv, "reorder.db")
        r30 = db_rows(path, f"SELECT {', '.join(cols)} FROM access_log WHERE id = 30")[0]
        db_exec(path, f"UPDATE access_log SET {sets30} WHERE id = 30",
                (f"UPDATE access_log SET {', '.join(c + ' = ?' for c in cols)} WHERE id = 31",
                 [r30[c] for c in cols]))
        rc, out = harness.audit_verify(path)
        check(rc == 1 and re.search(r"registrazione (30|31)\b", out), f"two records swapped: {rc} {out}")
        # truncation of the tail, within the checkpoint's range
        cut = cp["last_id"] - 3
        rc, out = tampered("truncate", f"DELETE FROM access_subject WHERE access_id > {cut}",
                           f"DELETE FROM access_log WHERE id > {cut}")
        check(rc == 1 and f"COMPROMESSO alla registrazione {cut + 1}" in out,
              f"the tail cut after record {cut} (checkpoint at {cp['last_id']}): {rc} {out}")
        # an edit with every later hash recomputed: only the signed checkpoint catches it
        path = db_copy(srv, "rechain.db")
        rows = db_rows(path, "SELECT * FROM access_log ORDER BY id")
        prev = ""
        updates = []
        for row in rows:
            if row["id"] == 100:
                row["subjects"] = "RSSMRA80A01F257X"
            if row["id"] >= 100:
                row["prev_hash"] = prev
                row["hash"] = chain_hash(row, prev)
                updates.append(("UPDATE access_log SET subjects = ?, prev_hash = ?, hash = ? WHERE id = ?",
                                (row["subjects"], row["prev_hash"], row["hash"], row["id"])))
            prev = row["hash"]
        db_exec(path, *updates)
        rc, out = harness.audit_verify(path)
        check(rc == 1 and "punto di controllo" in out,
              f"a rewritten chain is caught by the signed checkpoint: {rc} {out}")
        # a forged checkpoint
        rc, out = tampered("forged", f"UPDATE audit_checkpoint SET last_id = last_id - 1 WHERE id = {cp['id']}")
        check(rc == 1 and "punto di controllo" in out, f"a forged checkpoint: {rc} {out}")
        # and the live trail is still intact
        srv.restart()
        r = expect(srv.admin().get("/api/v1/audit/verify"), 200, what="live verify").json
        check(r["intact"] and r["checkpoints"] >= 1, f"live trail: {r}")


def test_verify_while_writing():
    """`audit verify` of a live trail, by the API and by the CLI, while
    consultations commit: the records and the signed heads are read in one
    snapshot, so a verification never sees a head covering records its walk
    had not read (before: "a signed tree head covers N records" on an intact
    trail, with the server writing)."""
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        ops = [env.op] + [env.operator() for _ in range(3)]
        cfs = [p["cf"] for p in registered(env.pop)[:30]]
        _load(srv, ops, pid, cfs, 60, "V")   # a history, so that a walk takes a while
        # The load goes on until three verifications have each seen records
        # committed while they ran (on a busy machine, a fixed number of
        # consultations could end before), at most 2,000 per operator.
        stop = threading.Event()
        ts, done, errors = _start_load(srv, ops, pid, cfs, 2000, "W", stop)
        admin, broken, during = srv.admin(), [], 0
        while any(th.is_alive() for th in ts):
            if during >= 3:
                stop.set()
            before = sum(done)
            r = expect(admin.get("/api/v1/audit/verify"), 200, what="live verify").json
            if not r["intact"]:
                broken.append(r["why"])
            rc, out = harness.audit_verify(srv.db)
            if rc != 0:
                broken.append(out)
            during += sum(done) > before
        for th in ts:
            th.join()
        check(not errors, f"load: {errors[:3]}")
        check(during >= 3, f"verifications while records were committed: {during}")
        check(not broken, f"an intact live trail verified as broken: {broken[:3]}")


def _restart(srv):
    """Starts `visura serve` again on the same database (no init)."""
    srv._ctx = None
    for attempt in range(5):
        srv.port = free_port()
        args = [harness.VISURA, "serve", "--db", srv.db, "--self-signed", srv.tls_dir,
                "--listen", f"127.0.0.1:{srv.port}", "--test-clock", "true",
                "--metrics-listen", f"127.0.0.1:{free_port()}"] + harness.serve_user_args()
        for k, v in srv.options.items():
            args += ["--" + k.replace("_", "-"), str(v)]
        srv.log = open(srv.log_path, "ab")
        srv.proc = subprocess.Popen(args, stdout=srv.log, stderr=subprocess.STDOUT)
        if srv._wait_ready():
            return
        srv.proc.wait(timeout=10)
        srv.log.close()
        srv.proc = None
    raise harness.TestFailure(f"the server did not restart:\n{srv.log_text()[-3000:]}")


def _notes(path):
    """The complete signed heads of a heads file (a crash may cut the last)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    notes, cur = [], []
    for line in text.split("\n"):
        if len(cur) >= 5 and not line.startswith("\u2014 "):
            notes.append("\n".join(cur) + "\n")
            cur = []
        if line or len(cur) == 3:
            cur.append(line)
    return notes


def test_kill9_under_load_keeps_acknowledged_records():
    srv = Server(population=POP)
    heads_file = os.path.join(srv.dir, "heads.txt")
    srv.options["trail_heads_file"] = heads_file
    with srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        ops = [env.op] + [env.operator() for _ in range(7)]
        cfs = [p["cf"] for p in registered(env.pop)[:40]]
        acked = []          # (access id, cf, case_ref, username, receipt, body)
        anomalies = []
        lock = threading.Lock()
        stop = threading.Event()

        def run(k, c):
            conn = Conn(srv, c, timeout=10)
            i = 0
            try:
                while not stop.is_set():
                    cf = cfs[(k * 5 + i) % len(cfs)]
                    case = f"K{k}-{i}"
                    r = conn.get(f"/api/v1/persons/{cf}?purpose={pid}&case_ref={case}", retry=False)
                    i += 1
                    if r.status != 200:
                        with lock:
                            anomalies.append(r)
                        return
                    with lock:
                        acked.append((int(r.header("X-Visura-Access-Id")), cf, case,
                                      c.account["username"], r.header("X-Visura-Receipt"), r.body,
                                      r.json.get("access_id") if r.json else None))
            except (OSError, ssl.SSLError, http.client.HTTPException):
                pass        # the server died
            finally:
                conn.close()

        ts = [threading.Thread(target=run, args=(k, c)) for k, c in enumerate(ops)]
        for th in ts:
            th.start()
        time.sleep(2.0)
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        srv.log.close()
        srv.proc = None
        stop.set()
        for th in ts:
            th.join(timeout=30)
        check(not anomalies, f"answers other than 200 under load: {anomalies[:3]}")
        check(len(acked) >= 50, f"too little load before the kill: {len(acked)} answers")
        ids = [a[0] for a in acked]
        eq(len(set(ids)), len(ids), "every answer has its own access id")
        for a in acked:
            eq(a[6], a[0], "the body's access_id equals X-Visura-Access-Id")
        rc, out = harness.audit_verify(srv.db)
        eq(rc, 0, f"audit verify right after kill -9: {out}")
        published = _notes(heads_file)
        check(published, "heads were published before the crash")
        _restart(srv)
        log = {r["id"]: r for r in srv.access_log()}
        if os.environ.get("VISURA_E2E_VERBOSE"):
            print(f"  {len(acked)} answers received, {len(log)} records after the restart, "
                  f"{len(db_rows(srv.db, 'SELECT id FROM audit_checkpoint'))} checkpoints")
        missing = [a[0] for a in acked if a[0] not in log]
        check(not missing, f"{len(missing)} acknowledged access ids are not in the trail "
                           f"(of {len(acked)}): {missing[:10]}")
        for aid, cf, case, user, receipt, body, _ in acked:
            row = log[aid]
            p = env.pop.person(cf)      # the person, then the parents shown
            shown = ",".join([cf] + [x for x in (p["father"], p["mother"]) if x])
            eq((row["subjects"], row["case_ref"], row["username"], row["outcome"]),
               (shown, case, user, "ok"), f"record {aid}")
        # a few receipts still verify against the restarted database
        body_file = os.path.join(srv.dir, "b.json")
        for aid, cf, case, user, receipt, body, _ in acked[::max(1, len(acked) // 3)][:3]:
            with open(body_file, "wb") as f:
                f.write(body)
            rc, out = cli("audit", "verify-receipt", "--db", srv.db, receipt, body_file)
            eq(rc, 0, f"receipt of {aid} after the crash: {out}")
        # the trail goes on after the restart
        admin = srv.admin()
        op = ops[0]
        if op.me().status != 200:
            relogin(op)
        r = expect(op.get(f"/api/v1/persons/{cfs[0]}?purpose={pid}&case_ref=AFTER"), 200,
                   what="after the restart")
        eq(r["access_id"], max(log) + 1, "the next id follows the trail")
        rc, out = harness.audit_verify(srv.db)
        eq(rc, 0, f"audit verify after the restart: {out}")
        check(expect(admin.get("/api/v1/audit/verify"), 200, what="verify")["intact"], "intact")
        # every answer that left is under a signed head after the restart, its
        # receipt verifies offline, and every head published before the crash
        # is one the trail after it extends
        pk = public_key(srv.db)
        last = db_rows(srv.db, "SELECT size, note FROM audit_head ORDER BY size DESC LIMIT 1")[0]
        check(int(last["size"]) >= max(ids), f"the last head ({last['size']}) covers every answer")
        pkhex = pk.hex()
        for aid, cf, case, user, receipt, body, _ in acked[::max(1, len(acked) // 3)][:3]:
            rc, out = cli("audit", "verify-receipt", "--key", pkhex, receipt)
            eq(rc, 0, f"receipt of {aid}, offline, after the crash: {out}")
        for note in (published[0], published[len(published) // 2], published[-1]):
            check(head_signed(note, pk), f"a published head is signed: {note!r}")
            path = os.path.join(srv.dir, "kept.txt")
            with open(path, "w", encoding="utf-8") as f:
                f.write(note)
            rc, out = cli("audit", "verify", "--db", srv.db, "--head", path)
            eq(rc, 0, f"the trail after the crash extends the head of {parse_head(note)[1]} "
                      f"published before it: {out}")


if __name__ == "__main__":
    run_tests(globals())
