#!/usr/bin/env python3
"""End-to-end: what is answered and what is recorded (issue 18, items 1, 3, 4).

- Every person an answer reveals is in its access record (subjects and the
  per-person index access_subject), or the answer is not given: answers of
  1, 120, 121 and 5,000 persons on each endpoint that can give them
  (household, events feed, search within its cap, list extraction), and a
  household past the bound refused (422 answer_too_large).
- The class: for every route that returns persons, the set of codici
  fiscali in the bytes that leave equals the set in its access record.
- A verify_only agreement reads no data on any route of the corridor (the
  routes are read from src/api/routes.c, so a new one must be listed here),
  files no list request, extracts no list and gets no push.
- Every category x every person-returning endpoint: exactly the fields of
  the profile field table (docs/api.md) appear.

The register is crafted (a FULL and a DELTA file of 036023): everyone is
ROSSI MARIO / ROSSI MARIA born in Modena, so that birth dates alone make the
codici fiscali and the sizes of households, searches, feeds and lists are
exact.

usage: test_answers.py PATH/TO/visura [TEST...]
"""
import contextlib
import csv
import datetime
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import harness
from harness import (Server, cf_with_check, check, db_query, eq, expect, free_port, run_tests)

ALL = ["identity", "residence", "family", "parentage", "citizenship", "civil_status",
       "vital_status", "history"]
CF_RE = re.compile(rb"[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z]"
                   rb"[0-9LMNPQRSTUV]{3}[A-Z]")
COMUNE = "036023"
NO_ALERT_LIMITS = dict(alert_persons_hour=100000000, alert_persons_hard=100000000)


def q(**params):
    return urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})


# ---------------------------------------------------------------- the crafted register

MONTHS = "ABCDEHLMPRST"


def cf_of(year, month, day, sex):
    d = day + (40 if sex == "F" else 0)
    return cf_with_check(f"RSSMRA{year % 100:02d}{MONTHS[month - 1]}{d:02d}F257")


class Register:
    """The persons, households and events of the crafted files, and the
    import of them (used as Server(population=Register()))."""

    def __init__(self):
        self.free = {}          # (year, sex) -> next free slot
        self.persons = {}       # id -> person dict
        self.by_cf = {}
        self.families = {}      # id -> (kind, [member ids])
        self.events = []        # (event id, person id)
        self.groups = {}        # name -> [person ids]
        self.n = 0
        self.build()

    def take(self, year, sex, n):
        out = []
        for _ in range(n):
            k = self.free.get((year, sex), 0)
            check(k < 336, f"no more slots in {year} {sex}")
            self.free[(year, sex)] = k + 1
            month, day = k // 28 + 1, k % 28 + 1
            self.n += 1
            pid = f"P{self.n:06d}"
            p = dict(id=pid, cf=cf_of(year, month, day, sex), sex=sex,
                     name="MARIO" if sex == "M" else "MARIA",
                     birth=f"{year:04d}-{month:02d}-{day:02d}", father="", mother="",
                     family="", rel=0)
            self.persons[pid] = p
            self.by_cf[p["cf"]] = p
            out.append(pid)
        return out

    def spread(self, years, n):
        out = []
        i = 0
        while len(out) < n:
            out += self.take(years[i % len(years)], "MF"[(i // len(years)) % 2], 1)
            i += 1
        return out

    def household(self, fid, kind, members, head_rel):
        self.families[fid] = (kind, members)
        for i, pid in enumerate(members):
            self.persons[pid]["family"] = fid
            self.persons[pid]["rel"] = head_rel if i == 0 else (25 if kind == 2 else 3)

    def build(self):
        g = self.groups
        # List groups, one age range each with empty years around them.
        g["list1"] = self.take(2005, "M", 1)
        g["list120"] = self.take(1995, "M", 60) + self.take(1995, "F", 60)
        g["list121"] = self.take(1985, "M", 61) + self.take(1985, "F", 60)
        g["list5000"] = self.spread(list(range(1945, 1975)), 5000)
        # Name searches: ROSSI MARIO born in 2005 (1), 1978 (100), 1979 (101).
        g["search100"] = self.take(1978, "M", 100)
        g["search101"] = self.take(1979, "M", 101)
        # Everyone else: born in years one empty year away from each list
        # group (ages of years two apart never meet).
        years = ([1976, 1977, 1980, 1981, 1982, 1983] + list(range(1987, 1994)) +
                 list(range(1997, 2004)))
        others = self.spread(years, 12000) + self.take(1978, "F", 336) + self.take(1979, "F", 336)
        fam = others[:3]
        rest = others[3:]
        # Households of 1, 120, 121, 5,000 and 10,001 persons.
        self.household("H1", 1, g["list1"], 1)
        self.household("C120", 2, g["list120"], 24)
        self.household("C121", 2, g["list121"], 24)
        self.household("C5000", 2, g["list5000"], 24)
        big = g["search100"] + g["search101"] + rest
        check(len(big) >= 10001, f"persons for the largest household: {len(big)}")
        self.household("C10001", 2, big[:10001], 24)
        self.household("REST", 2, big[10001:], 24)
        # A family of three: the child has both parents, and moves out in
        # the DELTA (two versions, two relationships).
        head, spouse, child = fam
        if self.persons[head]["sex"] != "M":
            head, spouse = spouse, head
        self.household("FAM", 1, [head, spouse, child], 1)
        self.persons[spouse]["rel"] = 2
        self.persons[child].update(father=self.persons[head]["cf"], mother=self.persons[spouse]["cf"])
        self.family_ids = dict(head=head, spouse=spouse, child=child)
        # Parents for the members of C120 (men and women of C10001).
        men = [p for p in big[:10001] if self.persons[p]["sex"] == "M"]
        women = [p for p in big[:10001] if self.persons[p]["sex"] == "F"]
        for i, pid in enumerate(g["list120"]):
            self.persons[pid].update(father=self.persons[men[i]]["cf"],
                                     mother=self.persons[women[i]]["cf"])
        # One event per member of C5000.
        for i, pid in enumerate(g["list5000"]):
            self.events.append((f"E{i + 1:06d}", pid))

    def cfs(self, ids):
        return [self.persons[p]["cf"] for p in ids]

    def members(self, fid):
        return self.families[fid][1]

    @staticmethod
    def per_line(p, valid_from="2020-01-01", family=None, rel=None):
        return "\t".join([
            "PER", p["id"], valid_from, p["cf"], "ROSSI", p["name"], p["sex"], p["birth"], COMUNE,
            "100", "1", "", p["father"], p["mother"], "1", p["birth"], "", "", "",
            family or p["family"], str(rel or p["rel"])])

    def write(self, out_dir):
        os.makedirs(out_dir, exist_ok=True)
        lines = ["\t".join(["HDR", "VISURA-ANAGRAFE", "1", COMUNE, "2026-01-01T12:00:00Z", "1",
                            "FULL", "test"])]
        for fid, (kind, _) in self.families.items():
            lines.append("\t".join(["FAM", fid, str(kind), "2020-01-01", "VIA", "EMILIA", "10", "",
                                    "", "", "41121", "", "CASA DI RIPOSO" if kind == 2 else ""]))
        for p in self.persons.values():
            lines.append(self.per_line(p))
        for eid, pid in self.events:
            lines.append("\t".join(["EVT", eid, "CAMBIO_INDIRIZZO", "2025-06-01", pid, "", ""]))
        lines.append(f"END\t{len(lines) - 1}")
        full = os.path.join(out_dir, f"{COMUNE}-000001-FULL.tsv")
        with open(full, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        child = self.persons[self.family_ids["child"]]
        delta = [
            "\t".join(["HDR", "VISURA-ANAGRAFE", "1", COMUNE, "2026-01-02T12:00:00Z", "2", "DELTA",
                       "test"]),
            "\t".join(["FAM", "FAM2", "1", "2025-12-01", "VIA", "GIARDINI", "5", "", "", "", "41124",
                       "", ""]),
            self.per_line(child, valid_from="2025-12-01", family="FAM2", rel=1),
            "END\t2"]
        path = os.path.join(out_dir, f"{COMUNE}-000002-DELTA.tsv")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(delta) + "\n")
        return [full, path]

    def load_into(self, db, work_dir):
        files = self.write(work_dir)
        p = subprocess.run([harness.VISURA, "import", "--quiet", "--db", db] + files,
                           capture_output=True, text=True)
        check(p.returncode == 0, f"visura import failed: {p.returncode}\n{p.stdout}\n{p.stderr}")


# ---------------------------------------------------------------- helpers

def record_of(srv, res):
    """The access record of an answer (by its X-Visura-Access-Id) and the
    codici fiscali of its per-person index."""
    aid = res.header("X-Visura-Access-Id")
    check(aid, f"answer without an access id: {res}")
    rows = db_query(srv.db, "SELECT * FROM access_log WHERE id = ?", (int(aid),))
    eq(len(rows), 1, f"access record {aid}")
    index = db_query(srv.db, "SELECT cf FROM access_subject WHERE access_id = ?", (int(aid),))
    return rows[0], [r["cf"] for r in index]


def subjects_of(rec):
    return [s for s in rec["subjects"].split(",") if s]


def answer_cfs(res):
    return {m.decode() for m in CF_RE.findall(res.body)}


def recorded_exactly(srv, res, want, what):
    """The record of res names exactly the persons `want`, once each, in
    its text and in its per-person index."""
    rec, index = record_of(srv, res)
    subj = subjects_of(rec)
    eq(len(subj), len(set(subj)), f"{what}: a person twice in the record")
    missing, extra = set(want) - set(subj), set(subj) - set(want)
    check(not missing and not extra,
          f"{what}: the record names {len(subj)} persons, the answer {len(set(want))}: "
          f"{len(missing)} missing {sorted(missing)[:3]}, {len(extra)} extra {sorted(extra)[:3]}")
    eq(sorted(index), sorted(subj), f"{what}: the per-person index")
    return rec


class Env:
    def __init__(self, srv):
        self.srv = srv
        self.reg = srv.population
        self.admin = srv.admin()
        self.ente = srv.create_ente(kind="health")
        self.op = srv.user("operator", self.ente["id"])
        self.n = 0

    def purpose(self, profile, **kw):
        self.n += 1
        return self.srv.create_agreement(self.ente["id"], profile, comuni=(COMUNE,),
                                         purpose_code=f"P{self.n}", **kw)["purpose_id"]


# ---------------------------------------------------------------- 1. sizes

def test_answers_of_1_120_121_5000_persons_recorded_whole():
    with Server(population=Register(), **NO_ALERT_LIMITS) as srv:
        env = Env(srv)
        reg = env.reg
        g = reg.groups
        # Households (no parentage: the members only).
        pid = env.purpose(["identity", "family"], max_results=100)
        for fid in ("H1", "C120", "C121", "C5000"):
            members = reg.cfs(reg.members(fid))
            r = expect(env.op.get(f"/api/v1/persons/{members[-1]}/household?" +
                                  q(purpose=pid, case_ref="SIZE")), 200, what=f"household {fid}")
            got = [m["identity"]["codice_fiscale"] for m in r["members"]]
            eq(sorted(got), sorted(members), f"household {fid}: the members answered")
            recorded_exactly(srv, r, members, f"household {fid} ({len(members)})")
            eq(answer_cfs(r), set(members), f"household {fid}: persons in the bytes")
        # Past the bound: refused, nobody named, recorded as a refusal.
        before = srv.access_last_id()
        big = reg.cfs(reg.members("C10001"))
        r = expect(env.op.get(f"/api/v1/persons/{big[0]}/household?" + q(purpose=pid)), 422,
                   "answer_too_large", "a household of 10,001")
        check(not answer_cfs(r), "no person in the refusal")
        recs = srv.access_log(before)
        eq([(x["outcome"], x["status"], x["subjects"]) for x in recs],
           [("refused:answer_too_large", 422, "")], "the refusal's record")

        # The events feed: one event per person of C5000, limit up to 1000.
        fpid = env.purpose(["identity"], event_types=["CAMBIO_INDIRIZZO"])
        for limit in (1, 120, 121, 1000):
            r = expect(env.op.get("/api/v1/events?" + q(purpose=fpid, after=0, limit=limit)), 200,
                       what=f"feed {limit}")
            got = [e["codice_fiscale"] for e in r["events"]]
            eq(len(set(got)), limit, f"feed {limit}: distinct persons delivered")
            recorded_exactly(srv, r, got, f"feed of {limit}")
        expect(env.op.get("/api/v1/events?" + q(purpose=fpid, limit=5000)), 400, "invalid_request",
               "a page larger than the feed allows")
        # Every page of the 5,000 events: every person recorded once.
        seen, after = [], 0
        while True:
            r = expect(env.op.get("/api/v1/events?" + q(purpose=fpid, after=after, limit=1000)), 200)
            if not r["events"]:
                break
            page = [e["codice_fiscale"] for e in r["events"]]
            recorded_exactly(srv, r, page, f"feed page after {after}")
            seen += page
            after = r["next_after"]
        eq(sorted(seen), sorted(reg.cfs(g["list5000"])), "5,000 persons across the pages")

        # Searches: within max_results (100) every result recorded; past it none.
        spid = env.purpose(["identity", "parentage"], max_results=100)
        for year, ids in ((2005, g["list1"]), (1978, g["search100"])):
            r = expect(env.op.get("/api/v1/persons?" + q(purpose=spid, surname="Rossi", name="Mario",
                                                          birth_year=year)), 200, what=f"search {year}")
            eq(sorted(x["identity"]["codice_fiscale"] for x in r["results"]), sorted(reg.cfs(ids)),
               f"search {year}: the results")
            recorded_exactly(srv, r, reg.cfs(ids), f"search of {len(ids)}")
        before = srv.access_last_id()
        expect(env.op.get("/api/v1/persons?" + q(purpose=spid, surname="Rossi", name="Mario",
                                                 birth_year=1979)), 422, "query_too_broad")
        eq([x["subjects"] for x in srv.access_log(before)], [""], "a refused search names nobody")
        # 100 results with both parents each: 300 persons in one record.
        r = expect(env.op.get("/api/v1/persons?" + q(purpose=spid, cf=reg.cfs(g["list120"])[0])), 200)
        p = reg.persons[g["list120"][0]]
        recorded_exactly(srv, r, [p["cf"], p["father"], p["mother"]], "a person and the parents shown")

        # List extraction (CLI): 1, 120, 121 and 5,000 persons.
        lead = srv.user("lead", env.ente["id"])
        lpid = env.purpose(["identity", "residence"])
        today = datetime.date.today()

        def age(birth):
            b = datetime.date.fromisoformat(birth)
            return today.year - b.year - ((today.month, today.day) < (b.month, b.day))

        for name in ("list1", "list120", "list121", "list5000"):
            ages = [age(reg.persons[x]["birth"]) for x in g[name]]
            lo, hi = min(ages), max(ages)
            inside = [x for x in reg.persons.values() if lo <= age(x["birth"]) <= hi]
            eq(len(inside), len(g[name]), f"{name}: the age range holds the group only")
            req = expect(lead.post("/api/v1/list-requests", {
                "purpose": lpid, "justification": "verifica delle dimensioni degli elenchi",
                "criteria": {"comune": COMUNE, "age_from": lo, "age_to": hi}}), 201).json
            expect(srv.admin().post(f"/api/v1/list-requests/{req['id']}/decide",
                                    {"decision": "approve", "note": "ok"}), 200)
            before = srv.access_last_id()
            out = os.path.join(srv.dir, f"{name}.csv")
            p = subprocess.run([harness.VISURA, "list-extract", "--db", srv.db, "--out", out,
                                str(req["id"])], capture_output=True, text=True)
            eq(p.returncode, 0, f"{name}: list-extract {p.stderr}")
            rows = open(out).read().splitlines()
            eq(rows[0], "codice_fiscale,surname,name,sex,birth_date,comune", f"{name}: columns")
            listed = [x[0] for x in csv.reader(rows[1:])]
            eq(sorted(listed), sorted(reg.cfs(g[name])), f"{name}: the list")
            recs = [x for x in srv.access_log(before) if x["operation"] == "list_extract"]
            named = [s for x in recs for s in subjects_of(x)]
            eq(sorted(named), sorted(listed), f"{name}: every person of the list in the trail once")
            index = db_query(srv.db, "SELECT cf FROM access_subject WHERE access_id > ?", (before,))
            eq(sorted(x["cf"] for x in index), sorted(listed), f"{name}: the per-person index")
        code, out = harness.audit_verify(srv.db)
        eq(code, 0, f"the trail verifies with its large records: {out}")


def test_a_large_household_counts_every_member_against_extraction():
    """With the default anti-extraction limits (suspension at 300 distinct
    persons within the hour), the household of a convivenza of 5,000 is
    5,000 persons: the account is suspended and the answer withheld.  When
    only ~120 were recorded, it answered."""
    with Server(population=Register()) as srv:
        env = Env(srv)
        reg = env.reg
        pid = env.purpose(["identity", "family"])
        members = reg.cfs(reg.members("C5000"))
        before = srv.access_last_id()
        r = expect(env.op.get(f"/api/v1/persons/{members[0]}/household?" + q(purpose=pid)), 403,
                   "account_suspended", "a household of 5,000")
        check(not answer_cfs(r), "no person in the refusal")
        eq([(x["outcome"], x["subjects"]) for x in srv.access_log(before)],
           [("refused:account_suspended", "")], "recorded, nobody released")
        check(srv.has_event("account_suspended", account_id=env.op.account["id"]),
              "the suspension is a security event")


# ---------------------------------------------------------------- 2. the class

def anpr(criteri, verifica=None):
    """A request to the ANPR-shaped services (docs/api.md, "ANPR")."""
    body = {"idOperazioneClient": "1", "criteriRicerca": criteri,
            "datiRichiesta": {"dataRiferimentoRichiesta": "2026-06-01",
                              "motivoRichiesta": "verifica d'ufficio", "casoUso": "C015"}}
    if verifica is not None:
        body["verifica"] = verifica
    return body


def data_routes():
    """The routes of the corridor (RECORDED in src/api/routes.c)."""
    text = open(os.path.join(harness.REPO, "src", "api", "routes.c")).read()
    return sorted(set(re.findall(r'\{"(GET|POST)", "([^"]+)", \w+, RECORDED(?:, [^}]*)?\}', text)))


class Hook(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        Hook.received.append(self.rfile.read(n))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *a):
        pass


@contextlib.contextmanager
def webhook_receiver():
    """A plain-HTTP receiver of pushes on loopback; yields its port."""
    port = free_port()
    httpd = http.server.HTTPServer(("127.0.0.1", port), Hook)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield port
    finally:
        httpd.shutdown()


def test_every_route_records_every_person_it_answers():
    """For every route that returns persons (and the push and the list,
    which are not routes), the codici fiscali in the bytes that leave are
    the codici fiscali of the access record, in its text and its index."""
    with webhook_receiver() as port:
        with Server(population=Register(), **NO_ALERT_LIMITS) as srv:
            env = Env(srv)
            reg = env.reg
            fam = reg.family_ids
            child = reg.persons[fam["child"]]
            head = reg.persons[fam["head"]]
            spouse = reg.persons[fam["spouse"]]
            c120 = reg.cfs(reg.members("C120"))
            pid = env.purpose(ALL, max_results=100, event_types=["CAMBIO_INDIRIZZO"])
            fam_cfs = [head["cf"], spouse["cf"], child["cf"]]
            members120 = set(c120) | {reg.persons[x][k] for x in reg.members("C120")
                                      for k in ("father", "mother")}
            calls = {
                ("GET", "/api/v1/persons"): [
                    ("search by cf", lambda: env.op.get("/api/v1/persons?" + q(purpose=pid, cf=child["cf"])),
                     {child["cf"], head["cf"], spouse["cf"]}),
                    ("search by name", lambda: env.op.get("/api/v1/persons?" + q(
                        purpose=pid, surname="ROSSI", name="MARIO", birth_year=1978)),
                     set(reg.cfs(reg.groups["search100"])))],
                ("GET", "/api/v1/persons/:cf"): [
                    ("person", lambda: env.op.get(f"/api/v1/persons/{child['cf']}?" + q(purpose=pid)),
                     set(fam_cfs)),
                    ("person as of", lambda: env.op.get(f"/api/v1/persons/{child['cf']}?" + q(
                        purpose=pid, as_of="2025-06-01")), set(fam_cfs))],
                ("GET", "/api/v1/persons/:cf/household"): [
                    ("household", lambda: env.op.get(f"/api/v1/persons/{c120[5]}/household?" + q(purpose=pid)),
                     members120),
                    ("household as of", lambda: env.op.get(f"/api/v1/persons/{head['cf']}/household?" + q(
                        purpose=pid, as_of="2025-06-01")), set(fam_cfs))],
                ("GET", "/api/v1/persons/:cf/history"): [
                    ("history", lambda: env.op.get(f"/api/v1/persons/{child['cf']}/history?" + q(purpose=pid)),
                     set(fam_cfs))],
                ("GET", "/api/v1/persons/:cf/print"): [
                    ("print", lambda: env.op.get(f"/api/v1/persons/{child['cf']}/print?" + q(
                        purpose=pid, case_ref="PR-1")), set(fam_cfs))],
                ("GET", "/api/v1/events"): [
                    ("events", lambda: env.op.get("/api/v1/events?" + q(purpose=pid, after=0, limit=300)),
                     set(reg.cfs(reg.groups["list5000"][:300])))],
                ("POST", "/api/v1/anpr/ricerca"): [
                    ("ANPR look-up", lambda: env.op.post(f"/api/v1/anpr/ricerca?purpose={pid}",
                                                         anpr({"codiceFiscale": child["cf"]})),
                     set(fam_cfs))],
            }
            eq(sorted(calls) + [("POST", "/api/v1/anpr/verifica"), ("POST", "/api/v1/verify")],
               data_routes(), "every route of the corridor is walked here")
            for route, cases in calls.items():
                for what, call, want in cases:
                    r = expect(call(), 200, what=what)
                    got = answer_cfs(r)
                    eq(got, want, f"{what}: the persons in the answer")
                    recorded_exactly(srv, r, got, what)
            # Verify names no one in its bytes: its record names the person
            # verified and those a match confirms.
            v = env.op.post("/api/v1/verify", {"purpose": pid, "codice_fiscale": head["cf"],
                                               "declared": {"household": fam_cfs[:2] + [fam_cfs[2]],
                                                            "surname": "ROSSI"}})
            # (the child moved out in the DELTA: the household is head + spouse)
            expect(v, 200, what="verify")
            eq(v["facts"]["household"], "mismatch", "the household of today")
            recorded_exactly(srv, v, [head["cf"]], "verify with a mismatch")
            v = expect(env.op.post("/api/v1/verify", {
                "purpose": pid, "codice_fiscale": child["cf"],
                "declared": {"father": head["cf"], "mother": spouse["cf"],
                             "household": [child["cf"]]}}), 200, what="verify")
            eq(set(v["facts"].values()), {"match"}, f"verify facts {v['facts']}")
            check(not answer_cfs(v), "verify returns no codice fiscale")
            recorded_exactly(srv, v, fam_cfs, "verify confirming parents and household")
            # The ANPR-shaped verification: the same, with one outcome.
            v = expect(env.op.post(f"/api/v1/anpr/verifica?purpose={pid}", anpr(
                {"codiceFiscale": child["cf"]},
                {"genitori": {"codiceFiscalePadre": head["cf"], "codiceFiscaleMadre": spouse["cf"]},
                 "componentiFamiglia": [child["cf"]]})), 200, what="ANPR verification")
            eq(v["listaSoggetti"]["datiSoggetto"][0]["infoSoggettoEnte"][0]["valore"], "S",
               "ANPR verification")
            check(not answer_cfs(v), "the ANPR verification returns no codice fiscale")
            recorded_exactly(srv, v, fam_cfs, "ANPR verification confirming parents and household")
            # The same as a person types them: spaces, hyphens, lower case.
            typed = lambda cf: f"{cf[:3].lower()} {cf[3:6]}-{cf[6:11].lower()} {cf[11:]}"  # noqa: E731
            v = expect(env.op.post("/api/v1/verify", {
                "purpose": pid, "codice_fiscale": typed(child["cf"]),
                "declared": {"father": typed(head["cf"]), "mother": typed(spouse["cf"]),
                             "household": [typed(child["cf"])]}}), 200, what="verify, typed")
            eq(set(v["facts"].values()), {"match"}, f"verify facts, typed {v['facts']}")
            recorded_exactly(srv, v, fam_cfs, "verify with codes as typed")
            # The push: each delivery's persons are its record's.
            Hook.received.clear()
            expect(srv.admin().post("/api/v1/convenzioni", {
                "ente_id": env.ente["id"], "reference": "PUSH-1", "comuni": [COMUNE],
                "valid_from": "2020-01-01", "mode": "consult", "profile": ["identity"],
                "event_types": ["CAMBIO_INDIRIZZO"], "webhook_url": f"http://127.0.0.1:{port}/h"}),
                201)
            before = srv.access_last_id()
            for _ in range(5):
                srv.advance(10)
            check(Hook.received, "the push delivered")
            # A delivery's record is durable before it is sent: one may be
            # recorded and still on its way.  Wait (10 s at most) until
            # every record has arrived, then compare.
            deadline = time.monotonic() + 10
            while True:
                recs = [x for x in srv.access_log(before) if x["operation"] == "events_push"]
                pushed = [json.loads(b) for b in list(Hook.received)]
                if len(recs) == len(pushed) or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            eq(len(recs), len(pushed), "one record per delivery")
            for body, rec in zip(pushed, recs):
                cfs = [e["codice_fiscale"] for e in body["events"]]
                eq(sorted(subjects_of(rec)), sorted(set(cfs)), "a push's persons in its record")
                index = db_query(srv.db, "SELECT cf FROM access_subject WHERE access_id = ?",
                                 (rec["id"],))
                eq(sorted(x["cf"] for x in index), sorted(set(cfs)), "and in the index")


# ---------------------------------------------------------------- 3. verify_only reads nothing

def test_verify_only_reads_no_data_anywhere():
    with webhook_receiver() as port:
        with Server(population=Register(), **NO_ALERT_LIMITS) as srv:
            env = Env(srv)
            reg = env.reg
            head = reg.persons[reg.family_ids["head"]]
            conv = srv.create_agreement(env.ente["id"], ALL, comuni=(COMUNE,), mode="verify_only",
                                        event_types=["CAMBIO_INDIRIZZO"],
                                        webhook_url=f"http://127.0.0.1:{port}/h")
            pid = conv["purpose_id"]
            cf = head["cf"]
            calls = {
                ("GET", "/api/v1/persons"): lambda: env.op.get("/api/v1/persons?" + q(purpose=pid, cf=cf)),
                ("GET", "/api/v1/persons/:cf"): lambda: env.op.get(f"/api/v1/persons/{cf}?" + q(purpose=pid)),
                ("GET", "/api/v1/persons/:cf/household"):
                    lambda: env.op.get(f"/api/v1/persons/{cf}/household?" + q(purpose=pid)),
                ("GET", "/api/v1/persons/:cf/history"):
                    lambda: env.op.get(f"/api/v1/persons/{cf}/history?" + q(purpose=pid)),
                ("GET", "/api/v1/persons/:cf/print"):
                    lambda: env.op.get(f"/api/v1/persons/{cf}/print?" + q(purpose=pid)),
                ("GET", "/api/v1/events"):
                    lambda: env.op.get("/api/v1/events?" + q(purpose=pid, after=0, limit=1000)),
            }
            eq(sorted(calls) + [("POST", "/api/v1/anpr/ricerca"), ("POST", "/api/v1/anpr/verifica"),
                                ("POST", "/api/v1/verify")], data_routes(),
               "every route of the corridor is tried here")
            # The ANPR-shaped look-up: refused with its anomaly, recorded.
            before = srv.access_last_id()
            r = env.op.post(f"/api/v1/anpr/ricerca?purpose={pid}", anpr({"codiceFiscale": cf}))
            eq((r.status, r.json["listaErrori"][0]["codiceErroreAnomalia"]), (403, "VIS02"),
               "ANPR look-up under verify_only")
            check(not answer_cfs(r), "ANPR look-up: a person in the refusal")
            eq([(x["outcome"], x["subjects"]) for x in srv.access_log(before)],
               [("refused:mode_verify_only", "")], "ANPR look-up: recorded, nobody named")
            r = expect(env.op.post(f"/api/v1/anpr/verifica?purpose={pid}",
                                   anpr({"codiceFiscale": cf}, {"cognome": "ROSSI"})), 200)
            eq(r["listaSoggetti"]["datiSoggetto"][0]["infoSoggettoEnte"][0]["valore"], "S",
               "ANPR verification under verify_only")
            api_acc, _ = srv.create_account("api", env.ente["id"])
            tok = expect(srv.admin().post(f"/api/v1/accounts/{api_acc['id']}/tokens", {"name": "t"}),
                         201).json["token"]
            api = srv.client(bearer=tok)
            for route, call in calls.items():
                before = srv.access_last_id()
                r = expect(call(), 403, "mode_verify_only", f"{route}")
                check(not answer_cfs(r), f"{route}: a person in the refusal")
                eq([(x["outcome"], x["subjects"]) for x in srv.access_log(before)],
                   [("refused:mode_verify_only", "")], f"{route}: recorded, nobody named")
            # The same as an API client.
            r = api.get("/api/v1/events?" + q(purpose=pid), headers={"X-Visura-On-Behalf-Of": "m.rossi"})
            expect(r, 403, "mode_verify_only", "events feed via a token")
            # Verification works, and says match/mismatch only.
            r = expect(env.op.post("/api/v1/verify", {"purpose": pid, "codice_fiscale": cf,
                                                      "declared": {"surname": "ROSSI"}}), 200)
            eq(r["facts"], {"surname": "match"}, "verify")
            # No list request, no list, no push.
            lead = srv.user("lead", env.ente["id"])
            body = {"purpose": pid, "justification": "elenco richiesto per la verifica annuale",
                    "criteria": {"comune": COMUNE, "age_from": 40, "age_to": 45}}
            expect(lead.post("/api/v1/list-requests", body), 403, "mode_verify_only", "list request")
            consult = srv.create_agreement(env.ente["id"], ["identity"], comuni=(COMUNE,),
                                           purpose_code="PL")
            req = expect(lead.post("/api/v1/list-requests", dict(body, purpose=consult["purpose_id"])),
                         201).json
            expect(srv.admin().post(f"/api/v1/list-requests/{req['id']}/decide",
                                    {"decision": "approve", "note": "ok"}), 200)
            expect(srv.admin().patch(f"/api/v1/convenzioni/{consult['id']}", {"mode": "verify_only"}),
                   200)
            before = srv.access_last_id()
            out = os.path.join(srv.dir, "list.csv")
            p = subprocess.run([harness.VISURA, "list-extract", "--db", srv.db, "--out", out,
                                str(req["id"])], capture_output=True, text=True)
            check(p.returncode != 0, "an agreement turned verify_only extracts no list")
            check(not os.path.exists(out) or not CF_RE.search(open(out, "rb").read()),
                  "no person written")
            eq(srv.access_log(before), [], "nothing recorded, nothing released")
            Hook.received.clear()
            for _ in range(3):
                srv.advance(10)
            eq(Hook.received, [], "no push to a verify_only agreement")


# ---------------------------------------------------------------- 4. every category x every endpoint

# The profile field table of docs/api.md: the keys of a person's view and
# the categories each needs (all of them).
VIEW_FIELDS = {
    "comune": {"residence"},
    "valid_from": {"history"}, "valid_to": {"history"},
    "identity": {"identity"},
    "residence": {"residence"},
    "family": {"family"},
    "relationship": {"family"},
    "parentage": {"parentage"},
    "citizenship": {"citizenship"},
    "civil_status": {"civil_status"},
    "vital_status": {"vital_status"},
}
SUBKEYS = {
    "identity": {"codice_fiscale", "surname", "name", "sex", "birth_date", "birth_place"},
    "residence": {"registration_reason", "registration_date", "address", "address_since"},
    "family": {"household_id", "relationship"},
    "parentage": {"father", "mother"},
    "civil_status": {"code", "label", "date"},
    "vital_status": {"status"},        # a registered person: no cancellation
}
HOUSEHOLD_FIELDS = {"household_id", "kind", "convivenza", "since", "members"}
PRINT_SECTIONS = {"identity": "Dati anagrafici", "residence": "Residenza", "family": "Famiglia",
                  "parentage": "Paternità e maternità", "citizenship": "Cittadinanza",
                  "civil_status": "Stato civile", "vital_status": "Stato in anagrafe"}
VERIFY_FACTS = {"surname": "identity", "residence": "residence", "household": "family",
                "citizenship": "citizenship", "civil_status": "civil_status",
                "alive": "vital_status", "father": "parentage"}


def allowed(profile, view_keys, where):
    """The keys of VIEW_FIELDS a profile sees (only those a view can have:
    `where` is the set the endpoint builds)."""
    return {k for k in where if VIEW_FIELDS[k] <= set(profile)}


def check_view(view, profile, where, what):
    want = allowed(profile, VIEW_FIELDS, where)
    eq(set(view), want, f"{what}: the fields of a view with {profile}")
    for k, sub in SUBKEYS.items():
        if k in view:
            eq(set(view[k]), sub, f"{what}: the keys of {k} with {profile}")


def test_every_category_on_every_endpoint():
    with Server(population=Register(), **NO_ALERT_LIMITS) as srv:
        env = Env(srv)
        reg = env.reg
        fam = reg.family_ids
        child = reg.persons[fam["child"]]        # both parents, two versions
        head = reg.persons[fam["head"]]
        person_keys = set(VIEW_FIELDS) - {"relationship"}
        member_keys = version_keys = set(VIEW_FIELDS)
        fam_cfs = {child["cf"], head["cf"], reg.persons[fam["spouse"]]["cf"]}
        for cat in ALL:
            # The endpoint's own need, plus the category walked.
            for need, endpoint in ((["identity"], "search"), (["identity"], "person"),
                                   (["identity"], "print"), (["family"], "household"),
                                   (["identity", "history"], "history"), ([], "events"),
                                   ([], "verify")):
                profile = sorted(set(need) | {cat})
                what = f"{endpoint} with {profile}"
                kw = dict(event_types=["CAMBIO_INDIRIZZO"]) if endpoint == "events" else {}
                pid = env.purpose(profile, **kw)
                if endpoint == "search":
                    r = expect(env.op.get("/api/v1/persons?" + q(purpose=pid, cf=child["cf"])), 200,
                               what=what)
                    eq(set(r.json), {"results", "count", "approximate", "access_id", "purpose"}, what)
                    check_view(r["results"][0], profile, person_keys, what)
                elif endpoint == "person":
                    for as_of in (None, "2025-06-01"):
                        r = expect(env.op.get(f"/api/v1/persons/{child['cf']}?" + q(
                            purpose=pid, as_of=as_of)), 200, what=what)
                        eq(set(r.json), {"person", "as_of", "access_id", "purpose"}, what)
                        check_view(r["person"], profile, person_keys, f"{what} as of {as_of}")
                elif endpoint == "print":
                    r = expect(env.op.get(f"/api/v1/persons/{child['cf']}/print?" + q(purpose=pid)),
                               200, what=what)
                    page = r.body.decode()
                    for c, title in PRINT_SECTIONS.items():
                        eq(f"<h2>{title}</h2>" in page, c in profile, f"{what}: section {title}")
                    eq("Comune</h2>" in page, "residence" in profile, f"{what}: the municipality")
                    eq(answer_cfs(r), fam_cfs - ({head["cf"], reg.persons[fam["spouse"]]["cf"]}
                                                 if "parentage" not in profile else set()),
                       f"{what}: the persons printed")
                elif endpoint == "household":
                    r = expect(env.op.get(f"/api/v1/persons/{head['cf']}/household?" + q(
                        purpose=pid, as_of="2025-06-01")), 200, what=what)
                    eq(set(r.json), HOUSEHOLD_FIELDS | {"as_of", "access_id", "purpose"}, what)
                    eq(len(r["members"]), 3, f"{what}: members as of before the move")
                    for m in r["members"]:
                        check_view(m, profile, member_keys, what)
                    # Without identity the members are named by no code, but
                    # recorded all the same.
                    rec, index = record_of(srv, r)
                    eq(set(subjects_of(rec)), fam_cfs | answer_cfs(r), f"{what}: recorded")
                elif endpoint == "history":
                    r = expect(env.op.get(f"/api/v1/persons/{child['cf']}/history?" + q(purpose=pid)),
                               200, what=what)
                    eq(len(r["versions"]), 2, f"{what}: two versions")
                    for v in r["versions"]:
                        check_view(v, profile, version_keys, what)
                    if "family" in profile:
                        eq(sorted(v["relationship"] for v in r["versions"]), [1, 3],
                           f"{what}: the relationship of each version")
                elif endpoint == "events":
                    r = expect(env.op.get("/api/v1/events?" + q(purpose=pid, limit=3)), 200, what=what)
                    want = {"cursor", "comune", "type", "date"} | (
                        {"codice_fiscale"} if "identity" in profile else set())
                    for e in r["events"]:
                        eq(set(e), want, f"{what}: the fields of an event")
                elif endpoint == "verify":
                    declared = {"surname": "ROSSI", "residence": {"comune": COMUNE, "street": "EMILIA"},
                                "household": [head["cf"], reg.persons[fam["spouse"]]["cf"]],
                                "citizenship": "100", "civil_status": "free", "alive": True,
                                "father": head["cf"]}
                    r = expect(env.op.post("/api/v1/verify", {
                        "purpose": pid, "codice_fiscale": (head if cat != "parentage" else child)["cf"],
                        "declared": declared}), 200, what=what)
                    for fact, c in VERIFY_FACTS.items():
                        got = r["facts"][fact]
                        check((got == "not_permitted") == (c not in profile),
                              f"{what}: fact {fact} is {got}")
        # The list's columns follow the same table.
        lead = srv.user("lead", env.ente["id"])
        for profile, cols in ((["identity"], "codice_fiscale,surname,name,sex,birth_date"),
                              (["identity", "residence"],
                               "codice_fiscale,surname,name,sex,birth_date,comune")):
            pid = env.purpose(profile)
            req = expect(lead.post("/api/v1/list-requests", {
                "purpose": pid, "justification": "colonne dell'elenco secondo il profilo",
                "criteria": {"comune": COMUNE, "age_from": 20, "age_to": 21}}), 201).json
            expect(srv.admin().post(f"/api/v1/list-requests/{req['id']}/decide",
                                    {"decision": "approve", "note": "ok"}), 200)
            out = os.path.join(srv.dir, f"cols{len(profile)}.csv")
            p = subprocess.run([harness.VISURA, "list-extract", "--db", srv.db, "--out", out,
                                str(req["id"])], capture_output=True, text=True)
            eq(p.returncode, 0, p.stderr)
            eq(open(out).read().splitlines()[0], cols, f"list columns with {profile}")
        expect(lead.post("/api/v1/list-requests", {
            "purpose": env.purpose(["residence"]), "justification": "elenco senza dati anagrafici",
            "criteria": {"comune": COMUNE}}), 403, "category_not_permitted", "a list without identity")


if __name__ == "__main__":
    run_tests(globals())
