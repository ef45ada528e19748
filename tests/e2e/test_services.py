#!/usr/bin/env python3
"""End-to-end: the personal-data services against a generated population —
agreements (CRUD, validation, visibility), /purposes, profiles, verify_only,
verification of declared facts, purposes and agreement states, the
municipalities of an agreement, name searches, "as of" consultation,
deceased and emigrated persons, malformed input, API clients acting on
behalf of a person, and one access record per request.

usage: test_services.py PATH/TO/visura [TEST...]
"""
import collections
import datetime
import json
import sys
import unicodedata
import urllib.parse

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import harness
from harness import (DAY, Server, check, eq, error_shape_ok, expect, one_record, parse_raw,
                     run_tests)

# One population for every test: the same seed gives the same files.  Six
# daily deltas hold moves (CAMBIO_INDIRIZZO) to test "as of" answers.
POP = dict(persons=6000, comuni="036023,036005", seed=11, days=6)
ALL = ["identity", "residence", "family", "parentage", "citizenship", "civil_status",
       "vital_status", "history"]

# The keys that belong to each category (anywhere in an answer).
CATEGORY_KEYS = {
    "identity": {"identity", "codice_fiscale", "surname", "birth_date", "birth_place"},
    "residence": {"residence", "address", "street", "civic", "registration_reason",
                  "registration_date", "address_since"},
    "family": {"family", "household_id"},
    "parentage": {"parentage", "father", "mother"},
    "citizenship": {"citizenship"},
    "civil_status": {"civil_status"},
    "vital_status": {"vital_status", "cancellation_reason", "destination"},
}


# ---------------------------------------------------------------- helpers

def q(**params):
    return urllib.parse.urlencode({k: v for k, v in params.items() if v is not None},
                                  quote_via=urllib.parse.quote)


def fold(s):
    """The service's name key: letters only, upper case, accents removed."""
    s = unicodedata.normalize("NFD", s.upper())
    return "".join(c for c in s if "A" <= c <= "Z")


def all_keys(j):
    out = set()
    if isinstance(j, dict):
        for k, v in j.items():
            out.add(k)
            out |= all_keys(v)
    elif isinstance(j, list):
        for v in j:
            out |= all_keys(v)
    return out


def day_before(d):
    return (datetime.date.fromisoformat(d) - datetime.timedelta(days=1)).isoformat()


class Env:
    """A server with the population, one body, its operator."""

    def __init__(self, srv):
        self.srv = srv
        self.pop = srv.population
        self.admin = srv.admin()
        self.ente = srv.create_ente()
        self.op = srv.user("operator", self.ente["id"])

    def agreement(self, profile=ALL, **kw):
        return self.srv.create_agreement(self.ente["id"], profile, **kw)

    def purpose(self, profile=ALL, **kw):
        return self.agreement(profile, **kw)["purpose_id"]


def registered(pop, comune=None, pred=lambda p: True):
    """Registered persons (latest version) sorted by CF, optionally of one
    municipality and matching pred."""
    return sorted((p for p in pop.current_persons()
                   if not p["canc_reason"] and p["family_id"]
                   and (comune is None or p["comune"] == comune) and pred(p)),
                  key=lambda p: p["cf"])


def unique_by_name(pop, persons):
    """The persons whose folded surname + name + birth date no one else has."""
    cnt = collections.Counter((fold(p["surname"]), fold(p["name"]), p["birth_date"])
                              for p in pop.current_persons())
    return [p for p in persons if cnt[(fold(p["surname"]), fold(p["name"]), p["birth_date"])] == 1]


# ---------------------------------------------------------------- agreements

def test_agreements_crud_and_validation():
    with Server() as srv:
        admin = srv.admin()
        a = srv.create_ente()
        b = srv.create_ente()
        body = {"ente_id": a["id"], "reference": "CONV-A-1", "comuni": ["036023", "036005"],
                "valid_from": "2026-01-01", "mode": "consult", "profile": ["identity", "residence"]}
        c = expect(admin.post("/api/v1/convenzioni", body), 201, what="create").json
        for k, v in {"ente_id": a["id"], "reference": "CONV-A-1", "comuni": ["036023", "036005"],
                     "valid_from": "2026-01-01", "valid_to": None, "mode": "consult",
                     "profile": ["identity", "residence"], "state": "active", "max_results": 20,
                     "per_minute": 30, "per_day": 1000, "break_glass": False,
                     "purposes": []}.items():
            eq(c.get(k, "<absent>"), v, f"created agreement field {k}")
        got = expect(admin.get(f"/api/v1/convenzioni/{c['id']}"), 200, what="get").json
        eq(got, c, "GET returns what POST answered")
        # Purposes: created, listed with the agreement; codes unique per agreement.
        p = expect(admin.post(f"/api/v1/convenzioni/{c['id']}/purposes",
                              {"code": "ORDPUB", "description": "ordine pubblico",
                               "legal_basis": "art. 37 DPR 223/1989", "processing_ref": "3"}),
                   201, what="purpose").json
        eq((p["code"], p["convenzione_id"], p["processing_ref"]), ("ORDPUB", c["id"], "3"), "purpose")
        expect(admin.post(f"/api/v1/convenzioni/{c['id']}/purposes",
                          {"code": "ORDPUB", "description": "x", "legal_basis": "y"}),
               409, "conflict", "duplicate purpose code")
        for bad in ({"description": "x", "legal_basis": "y"}, {"code": "", "description": "x",
                     "legal_basis": "y"}, {"code": "X2", "legal_basis": "y"},
                    {"code": 5, "description": "x", "legal_basis": "y"}):
            expect(admin.post(f"/api/v1/convenzioni/{c['id']}/purposes", bad), 400,
                   "invalid_request", f"purpose {bad}")
        expect(admin.post("/api/v1/convenzioni/99999/purposes",
                          {"code": "Z", "description": "x", "legal_basis": "y"}),
               404, "not_found", "purpose of a missing agreement")
        got = admin.get(f"/api/v1/convenzioni/{c['id']}").json
        eq([x["code"] for x in got["purposes"]], ["ORDPUB"], "purposes of the agreement")
        # Update.
        r = expect(admin.patch(f"/api/v1/convenzioni/{c['id']}",
                               {"max_results": 5, "profile": ["identity"], "valid_to": "2027-12-31",
                                "state": "suspended", "comuni": ["036005"]}), 200, what="patch").json
        eq((r["max_results"], r["profile"], r["valid_to"], r["state"], r["comuni"]),
           (5, ["identity"], "2027-12-31", "suspended", ["036005"]), "patched fields")
        eq(admin.get(f"/api/v1/convenzioni/{c['id']}").json, r, "GET after PATCH")
        r = expect(admin.patch(f"/api/v1/convenzioni/{c['id']}", {"valid_to": None, "state": "active"}),
                   200, what="patch valid_to null").json
        eq((r["valid_to"], r["state"]), (None, "active"), "valid_to cleared")
        expect(admin.patch("/api/v1/convenzioni/99999", {"state": "ended"}), 404, "not_found",
               "patch missing agreement")

        # Validation: every bad field is a 400 and creates nothing.
        bad_fields = [
            ("mode", "read"), ("mode", 5), ("mode", ""), ("mode", None),
            ("profile", ["identity", "medical"]), ("profile", []), ("profile", "identity"),
            ("profile", ["identity,residence"]), ("profile", [1]), ("profile", ["IDENTITY"]),
            ("comuni", ["36023"]), ("comuni", ["999999"]), ("comuni", []), ("comuni", [36023]),
            ("comuni", "036023"), ("comuni", ["036023,036005"]), ("comuni", ["03602X"]),
            ("comuni", ["036023", ""]),
            ("valid_from", "2026-02-30"), ("valid_from", "2026/01/01"), ("valid_from", "01-01-2026"),
            ("valid_from", 20260101), ("valid_from", None), ("valid_from", ""),
            ("valid_to", "2025-12-31"), ("valid_to", "2026-13-01"), ("valid_to", 5),
            ("state", "paused"), ("state", 1),
            ("max_results", 0), ("max_results", 101), ("max_results", "5"), ("max_results", -1),
            ("max_results", 2.5), ("per_minute", 0), ("per_day", -3),
            ("break_glass", "yes"), ("reference", ""), ("reference", 7), ("reference", "x" * 5000),
        ]
        before = len(admin.get("/api/v1/convenzioni").json["convenzioni"])
        for field, value in bad_fields:
            bb = dict(body, reference="CONV-BAD")
            bb[field] = value
            r = admin.post("/api/v1/convenzioni", bb)
            expect(r, 400, None, f"create with {field}={value!r}")
            check(error_shape_ok(r) and r.code in ("invalid_request", "invalid_json"),
                  f"create with {field}={value!r}: error shape {r.body[:200]!r}")
        for missing in ("ente_id", "reference", "comuni", "valid_from", "profile"):
            bb = {k: v for k, v in body.items() if k != missing}
            expect(admin.post("/api/v1/convenzioni", bb), 400, "invalid_request", f"without {missing}")
        expect(admin.post("/api/v1/convenzioni", dict(body, ente_id="1")), 400, "invalid_request",
               "ente_id as a string")
        r = admin.post("/api/v1/convenzioni", dict(body, ente_id=99999))
        check(r.status in (400, 404) and error_shape_ok(r), f"unknown ente_id: {r}")
        eq(len(admin.get("/api/v1/convenzioni").json["convenzioni"]), before,
           "refused creations created agreements")
        # A bad PATCH changes nothing.
        snapshot = admin.get(f"/api/v1/convenzioni/{c['id']}").json
        for field, value in bad_fields:
            if value is None and field == "valid_to":
                continue
            companion = {"per_day": 999} if field != "per_day" else {"per_minute": 29}
            r = admin.patch(f"/api/v1/convenzioni/{c['id']}", dict(companion, **{field: value}))
            expect(r, 400, None, f"patch with {field}={value!r}")
        eq(admin.get(f"/api/v1/convenzioni/{c['id']}").json, snapshot, "refused patches changed it")

        # Another body's agreement, and visibility for the leads.
        cb = srv.create_agreement(b["id"], ["identity"])
        lead_a = srv.user("lead", a["id"])
        lead_b = srv.user("lead", b["id"])
        ids = lambda res: sorted(x["id"] for x in res.json["convenzioni"])
        eq(ids(expect(admin.get("/api/v1/convenzioni"), 200, what="admin list")),
           sorted([c["id"], cb["id"]]), "the admin sees all")
        eq(ids(admin.get(f"/api/v1/convenzioni?ente_id={b['id']}")), [cb["id"]], "admin filter")
        eq(ids(expect(lead_a.get("/api/v1/convenzioni"), 200, what="lead list")), [c["id"]],
           "lead A sees only A's agreements")
        eq(ids(expect(lead_a.get(f"/api/v1/convenzioni?ente_id={b['id']}"), 200, what="lead filter")),
           [c["id"]], "lead A asking for B's agreements")
        eq(ids(lead_b.get("/api/v1/convenzioni")), [cb["id"]], "lead B")
        expect(lead_a.get(f"/api/v1/convenzioni/{c['id']}"), 200, what="lead A own agreement")
        expect(lead_a.get(f"/api/v1/convenzioni/{cb['id']}"), 404, "not_found",
               "lead A reading B's agreement")
        expect(lead_a.post("/api/v1/convenzioni", dict(body, reference="LEAD")), 403, "forbidden",
               "lead creates")
        expect(lead_a.patch(f"/api/v1/convenzioni/{c['id']}", {"max_results": 100}), 403,
               "forbidden", "lead patches")
        expect(lead_a.post(f"/api/v1/convenzioni/{c['id']}/purposes",
                           {"code": "L", "description": "x", "legal_basis": "y"}), 403,
               "forbidden", "lead adds a purpose")
        op = srv.user("operator", a["id"])
        expect(op.post("/api/v1/convenzioni", dict(body, reference="OP")), 403, "forbidden",
               "operator creates")
        expect(op.get("/api/v1/convenzioni"), 403, "forbidden", "operator lists")
        expect(op.patch(f"/api/v1/convenzioni/{c['id']}", {"state": "ended"}), 403, "forbidden",
               "operator patches")
        eq(admin.get(f"/api/v1/convenzioni/{c['id']}").json, snapshot,
           "refused roles changed the agreement")
        eq(len(admin.get("/api/v1/convenzioni").json["convenzioni"]), 2, "agreements after refusals")


def test_purposes_unreadable_refused():
    """An operator's agreements with their purposes (GET /api/v1/purposes):
    a failed read of the purposes is an error, never the agreement shown
    with none (the old server answered 200, "purposes": [])."""
    with Server() as srv:
        ente = srv.create_ente()
        srv.create_agreement(ente["id"], ["identity"])
        op = srv.user("operator", ente["id"])
        r = expect(op.get("/api/v1/purposes"), 200, what="purposes")
        eq(len(r["convenzioni"][0]["purposes"]), 1, "the agreement's purpose")
        harness.db_exec(srv.db, "ALTER TABLE purpose RENAME TO purpose_gone")
        r = op.get("/api/v1/purposes")
        check(r.status >= 500, f"purposes unreadable: {r.status} {r.json}")


def test_purposes_list():
    with Server() as srv:
        admin = srv.admin()
        ente = srv.create_ente()
        other = srv.create_ente()
        active = srv.create_agreement(ente["id"], ["identity", "residence"], comuni=["036005"])
        p2 = expect(admin.post(f"/api/v1/convenzioni/{active['id']}/purposes",
                               {"code": "P2", "description": "second", "legal_basis": "lb"}),
                    201, what="second purpose").json
        verify = srv.create_agreement(ente["id"], ["identity"], mode="verify_only")
        srv.create_agreement(ente["id"], ["identity"], state="suspended")
        srv.create_agreement(ente["id"], ["identity"], valid_from="2099-01-01")
        srv.create_agreement(ente["id"], ["identity"], valid_from="2020-01-01", valid_to="2021-01-01")
        ended = srv.create_agreement(ente["id"], ["identity"])
        expect(admin.patch(f"/api/v1/convenzioni/{ended['id']}", {"state": "ended"}), 200, what="end")
        srv.create_agreement(other["id"], ALL)

        op = srv.user("operator", ente["id"])
        lead = srv.user("lead", ente["id"])
        api_acc, _ = srv.create_account("api", ente["id"])
        tok = expect(admin.post(f"/api/v1/accounts/{api_acc['id']}/tokens", {"name": "t"}), 201,
                     what="token").json["token"]
        for who, c in (("operator", op), ("lead", lead), ("api", srv.client(bearer=tok))):
            r = expect(c.get("/api/v1/purposes"), 200, what=f"purposes as {who}")
            convs = {x["convenzione_id"]: x for x in r.json["convenzioni"]}
            eq(sorted(convs), sorted([active["id"], verify["id"]]),
               f"{who}: the agreements in force of the own body")
            a = convs[active["id"]]
            eq((a["mode"], a["profile"], a["comuni"], a["reference"]),
               ("consult", ["identity", "residence"], ["036005"], active["reference"]),
               f"{who}: mode, profile, comuni")
            eq(sorted(p["id"] for p in a["purposes"]), sorted([active["purpose_id"], p2["id"]]),
               f"{who}: purposes")
            eq(convs[verify["id"]]["mode"], "verify_only", f"{who}: verify_only mode shown")
        for who, c in (("admin", admin), ("auditor", srv.user("auditor"))):
            expect(c.get("/api/v1/purposes"), 403, "forbidden", f"purposes as {who}")


# ---------------------------------------------------------------- profiles

def _check_view(view, profile, what):
    keys = all_keys(view)
    for cat, ks in CATEGORY_KEYS.items():
        top = cat in view
        if cat in profile:
            if cat != "family":      # "family" only when the person has a household
                check(top, f"{what}: category {cat} in the profile but absent")
            if top:
                check(view[cat] is not None, f"{what}: {cat} is null")
        else:
            leaked = keys & ks
            check(not leaked, f"{what}: keys {sorted(leaked)} of {cat} present outside the profile "
                              f"{profile}")


def test_fields_outside_profile_absent():
    with Server(population=POP) as srv:
        env = Env(srv)
        pop = env.pop
        # A registered adult with father and mother in the register's data,
        # in a household of at least two.
        cands = [p for p in unique_by_name(pop, registered(pop, pred=lambda p: p["father"] and p["mother"]))
                 if len(pop.members(p["comune"], p["family_id"])) >= 2]
        check(cands, "no suitable person in the population")
        p = cands[0]
        fam = pop.family(p["comune"], p["family_id"])
        others = [c for c in CATEGORY_KEYS if c != "identity"]
        profiles = [["identity"]] + [["identity", c] for c in others] + \
                   [[c for c in ALL if c != x] for x in others] + [ALL]
        for profile in profiles:
            pid = env.purpose(profile)
            tag = f"profile {profile}"
            r = expect(env.op.get("/api/v1/persons?" + q(purpose=pid, cf=p["cf"])), 200,
                       what=f"{tag}: search by cf")
            eq(r["count"], 1, f"{tag}: count")
            _check_view(r["results"][0], profile, f"{tag}: search by cf")
            r = expect(env.op.get("/api/v1/persons?" + q(purpose=pid, surname=p["surname"],
                                                        name=p["name"], birth_date=p["birth_date"])),
                       200, what=f"{tag}: search by name")
            _check_view(r["results"][0], profile, f"{tag}: search by name")
            r = expect(env.op.get(f"/api/v1/persons/{p['cf']}?" + q(purpose=pid)), 200,
                       what=f"{tag}: consult")
            view = r["person"]
            _check_view(view, profile, f"{tag}: consult")
            eq(view["identity"]["codice_fiscale"], p["cf"], f"{tag}: cf")
            eq((view["identity"]["surname"], view["identity"]["name"], view["identity"]["sex"],
                view["identity"]["birth_date"], view["identity"]["birth_place"]["code"]),
               (p["surname"], p["name"], p["sex"], p["birth_date"], p["birth_place"]),
               f"{tag}: identity values")
            if "residence" in profile:
                addr = view["residence"]["address"]
                eq((addr["street"], addr["dug"], str(addr["civic"] or ""), addr["cap"]),
                   (fam["street"], fam["dug"], fam["civic"], fam["cap"]), f"{tag}: address")
            if "parentage" in profile:
                eq(view["parentage"], {"father": p["father"], "mother": p["mother"]},
                   f"{tag}: parentage")
            if "family" in profile:
                eq(view["family"], {"household_id": p["family_id"],
                                    "relationship": int(p["relationship"])}, f"{tag}: family")
            if "citizenship" in profile:
                eq([c["code"] for c in view["citizenship"]], p["citizenships"].split(","),
                   f"{tag}: citizenship")
            if "civil_status" in profile:
                eq(view["civil_status"]["code"], int(p["civil_status"]), f"{tag}: civil status")
            if "vital_status" in profile:
                eq(view["vital_status"], {"status": "registered"}, f"{tag}: vital status")
            hh = env.op.get(f"/api/v1/persons/{p['cf']}/household?" + q(purpose=pid))
            if "family" in profile:
                expect(hh, 200, what=f"{tag}: household")
                eq(hh["household_id"], p["family_id"], f"{tag}: household id")
                members = hh["members"]
                eq(len(members), len(pop.members(p["comune"], p["family_id"])), f"{tag}: members")
                for m in members:
                    _check_view(m, profile, f"{tag}: household member")
                eq(sorted(m["identity"]["codice_fiscale"] for m in members),
                   pop.members(p["comune"], p["family_id"]), f"{tag}: member CFs")
            else:
                expect(hh, 403, "category_not_permitted", f"{tag}: household outside the profile")
                check("members" not in hh.json, f"{tag}: household data in a refusal")
            if "history" not in profile:
                expect(env.op.get(f"/api/v1/persons/{p['cf']}/history?" + q(purpose=pid)), 403,
                       "category_not_permitted", f"{tag}: history outside the profile")


def test_history_within_profile():
    with Server(population=POP) as srv:
        env = Env(srv)
        pop = env.pop
        # A person who changed household in a delta has two versions.
        moved = [e for e in pop.events if e["type"] == "CAMBIO_INDIRIZZO"
                 and len(pop.persons[(e["comune"], e["person"])]) >= 2]
        check(moved, "no person with two versions in the population")
        key = (moved[0]["comune"], moved[0]["person"])
        versions = pop.persons[key]
        cf = versions[-1]["cf"]
        for profile in (["identity", "history"], ["identity", "residence", "history"], ALL):
            pid = env.purpose(profile)
            r = expect(env.op.get(f"/api/v1/persons/{cf}/history?" + q(purpose=pid)), 200,
                       what=f"history with {profile}")
            got = r["versions"]
            eq([v["valid_from"] for v in got], [v["valid_from"] for v in versions],
               f"{profile}: versions")
            check(got[0]["valid_to"] == versions[1]["valid_from"] and got[-1]["valid_to"] is None,
                  f"{profile}: validity of the versions {[(v['valid_from'], v['valid_to']) for v in got]}")
            for v in got:
                _check_view(v, profile, f"history {profile}")
        for profile in (["history"], ["identity"], ["identity", "residence", "family"]):
            pid = env.purpose(profile)
            expect(env.op.get(f"/api/v1/persons/{cf}/history?" + q(purpose=pid)), 403,
                   "category_not_permitted", f"history with {profile}")


# ---------------------------------------------------------------- verification

def test_verify_only_mode():
    with Server(population=POP) as srv:
        env = Env(srv)
        pop = env.pop
        p = registered(pop)[0]
        pid = env.purpose(ALL, mode="verify_only")
        refused = [
            ("search by cf", "/api/v1/persons?" + q(purpose=pid, cf=p["cf"])),
            ("search by name", "/api/v1/persons?" + q(purpose=pid, surname=p["surname"],
                                                      name=p["name"], birth_date=p["birth_date"])),
            ("consult", f"/api/v1/persons/{p['cf']}?" + q(purpose=pid)),
            ("household", f"/api/v1/persons/{p['cf']}/household?" + q(purpose=pid)),
            ("history", f"/api/v1/persons/{p['cf']}/history?" + q(purpose=pid)),
        ]
        for what, path in refused:
            before = srv.access_last_id()
            r = expect(env.op.get(path), 403, "mode_verify_only", what)
            check(p["surname"] not in r.body.decode(), f"{what}: data in the refusal")
            one_record(srv, before, what, outcome="refused:mode_verify_only", status=403,
                       subjects="")
        fam = pop.family(p["comune"], p["family_id"])
        declared = {"surname": p["surname"], "name": "NOBODY", "sex": p["sex"],
                    "birth_date": p["birth_date"], "birth_place": p["birth_place"],
                    "residence": {"comune": p["comune"], "street": fam["street"]},
                    "household": pop.members(p["comune"], p["family_id"]),
                    "citizenship": p["citizenships"].split(",")[0], "civil_status": "married",
                    "alive": True, "father": p["father"] or "X", "mother": p["mother"] or "X"}
        r = expect(env.op.post("/api/v1/verify", {"purpose": pid, "codice_fiscale": p["cf"],
                                                  "declared": declared}), 200, what="verify")
        eq(sorted(r.json), sorted(["facts", "as_of", "access_id", "purpose"]), "verify answer keys")
        eq(sorted(r["facts"]), sorted(declared), "one answer per declared fact")
        check(all(v in ("match", "mismatch", "not_permitted") for v in r["facts"].values()),
              f"fact values {r['facts']}")
        eq(r["facts"]["surname"], "match", "surname")
        eq(r["facts"]["name"], "mismatch", "name")
        text = r.body.decode()
        for leak in (p["name"], fam["street"], p["cf"], fam["cap"]):
            check(leak not in text, f"verify answer holds register data {leak!r}: {text}")
        # With a narrow profile the other facts are not permitted, never answered.
        pid2 = env.purpose(["identity"], mode="verify_only")
        r = expect(env.op.post("/api/v1/verify", {"purpose": pid2, "codice_fiscale": p["cf"],
                                                  "declared": declared}), 200, what="verify narrow")
        for k in declared:
            want = "not_permitted" if k in ("residence", "household", "citizenship", "civil_status",
                                            "alive", "father", "mother") else None
            if want:
                eq(r["facts"][k], want, f"narrow profile: {k}")


def _verify(env, pid, cf, declared, as_of=None):
    body = {"purpose": pid, "codice_fiscale": cf, "declared": declared}
    if as_of:
        body["as_of"] = as_of
    r = expect(env.op.post("/api/v1/verify", body), 200, what=f"verify {declared}")
    return r["facts"]


def _fact(env, pid, cf, name, value, want, as_of=None):
    got = _verify(env, pid, cf, {name: value}, as_of)[name]
    check(got == want, f"verify {cf} {name}={value!r}{' as of ' + as_of if as_of else ''}: "
                       f"expected {want}, got {got}")


def _never_match(env, pid, cf, name, value):
    """A declared value of the wrong shape: refused (400) or a mismatch,
    never a match."""
    r = env.op.post("/api/v1/verify", {"purpose": pid, "codice_fiscale": cf,
                                       "declared": {name: value}})
    if r.status == 400:
        check(r.code == "invalid_request", f"verify {name}={value!r}: {r}")
    else:
        expect(r, 200, what=f"verify {name}={value!r}")
        eq(r["facts"][name], "mismatch", f"verify {name}={value!r}")


def test_verify_facts_against_the_register():
    with Server(population=POP) as srv:
        env = Env(srv)
        pop = env.pop
        pid = env.purpose(ALL, mode="verify_only")
        regs = registered(pop)
        p = regs[0]
        cf = p["cf"]
        # identity
        for name, right, wrong in (("surname", p["surname"], p["surname"] + "X"),
                                   ("name", p["name"], "Z" + p["name"]),
                                   ("sex", p["sex"], "M" if p["sex"] == "F" else "F"),
                                   ("birth_date", p["birth_date"], day_before(p["birth_date"])),
                                   ("birth_place", p["birth_place"],
                                    "036023" if p["birth_place"] != "036023" else "036005")):
            _fact(env, pid, cf, name, right, "match")
            _fact(env, pid, cf, name, wrong, "mismatch")
        _fact(env, pid, cf, "surname", p["surname"].lower(), "match")   # case does not matter
        _never_match(env, pid, cf, "birth_date", "not a date")
        _never_match(env, pid, cf, "birth_date", 19800101)
        _never_match(env, pid, cf, "surname", ["x"])
        # residence
        q_res = [x for x in regs if pop.family(x["comune"], x["family_id"])["civic"]]
        x = q_res[0]
        f = pop.family(x["comune"], x["family_id"])
        civic = int(f["civic"])
        good = {"comune": x["comune"], "street": f["street"], "civic": civic}
        _fact(env, pid, x["cf"], "residence", good, "match")
        _fact(env, pid, x["cf"], "residence", {"comune": x["comune"], "street": f["street"]}, "match")
        _fact(env, pid, x["cf"], "residence", dict(good, civic=civic + 1), "mismatch")
        _fact(env, pid, x["cf"], "residence", dict(good, street=f["street"] + " NUOVA"), "mismatch")
        other = "036023" if x["comune"] == "036005" else "036005"
        _fact(env, pid, x["cf"], "residence", dict(good, comune=other), "mismatch")
        # household composition
        big = [y for y in regs if len(pop.members(y["comune"], y["family_id"])) >= 3]
        h = big[0]
        members = pop.members(h["comune"], h["family_id"])
        _fact(env, pid, h["cf"], "household", members, "match")
        _fact(env, pid, h["cf"], "household", list(reversed(members)), "match")
        _fact(env, pid, h["cf"], "household", members[:-1], "mismatch")
        outsider = next(y["cf"] for y in regs if y["cf"] not in members)
        _fact(env, pid, h["cf"], "household", members + [outsider], "mismatch")
        _fact(env, pid, h["cf"], "household", members[:-1] + [outsider], "mismatch")
        _fact(env, pid, h["cf"], "household", [members[0]] + members[:-1], "mismatch")  # a repeat
        _never_match(env, pid, h["cf"], "household", ",".join(members))
        # codici fiscali as people type them (docs/api.md): case, spaces and hyphens do not count
        _fact(env, pid, h["cf"], "household", [f"{m[:6].lower()} {m[6:11]}-{m[11:]}" for m in members], "match")
        _never_match(env, pid, x["cf"], "residence", dict(good, civic=str(civic)))
        _never_match(env, pid, x["cf"], "residence", [x["comune"], f["street"]])
        # citizenship
        it = next(y for y in regs if y["citizenships"] == "100")
        _fact(env, pid, it["cf"], "citizenship", "100", "match")
        _fact(env, pid, it["cf"], "citizenship", "215", "mismatch")
        fo = next(y for y in regs if "100" not in y["citizenships"].split(","))
        code = fo["citizenships"].split(",")[0]
        _fact(env, pid, fo["cf"], "citizenship", code, "match")
        _fact(env, pid, fo["cf"], "citizenship", "100", "mismatch")
        # civil status
        for code, right, wrong in (("2", "married", "free"), ("1", "free", "married"),
                                   ("3", "widowed", "married"), ("6", "civil_union", "married"),
                                   ("4", "divorced", "married")):
            who = [y for y in regs if y["civil_status"] == code]
            check(who, f"no registered person with civil status {code}")
            _fact(env, pid, who[0]["cf"], "civil_status", right, "match")
            _fact(env, pid, who[0]["cf"], "civil_status", wrong, "mismatch")
        _never_match(env, pid, cf, "civil_status", "MARRIED?")
        _never_match(env, pid, cf, "civil_status", 2)
        # alive / deceased (from the snapshot's PER records with reason 1)
        dead = [y for y in pop.snapshot if y["canc_reason"] == "1"]
        check(dead, "no deceased person in the snapshot")
        for y in dead[:3]:
            _fact(env, pid, y["cf"], "alive", False, "match")
            _fact(env, pid, y["cf"], "alive", True, "mismatch")
        _fact(env, pid, cf, "alive", True, "match")
        _fact(env, pid, cf, "alive", False, "mismatch")
        _never_match(env, pid, cf, "alive", "true")
        _never_match(env, pid, cf, "alive", 1)
        # father / mother
        ch = next(y for y in regs if y["father"] and y["mother"])
        _fact(env, pid, ch["cf"], "father", ch["father"], "match")
        _fact(env, pid, ch["cf"], "mother", ch["mother"], "match")
        _fact(env, pid, ch["cf"], "father", ch["mother"], "mismatch")
        _fact(env, pid, ch["cf"], "mother", ch["father"], "mismatch")
        _fact(env, pid, ch["cf"], "father", outsider, "mismatch")
        # Several facts at once.
        facts = _verify(env, pid, ch["cf"], {"surname": ch["surname"], "father": ch["father"],
                                             "alive": False, "sex": ch["sex"]})
        eq(facts, {"surname": "match", "father": "match", "alive": "mismatch", "sex": "match"},
           "several facts")
        # Bad requests.
        for bad in ({}, [], "x", None, {"shoe_size": 42}, {"surname": "A", "hobby": "x"}):
            r = env.op.post("/api/v1/verify", {"purpose": pid, "codice_fiscale": cf, "declared": bad})
            expect(r, 400, "invalid_request", f"declared={bad!r}")
        for badcf in ("", "RSSMRA80A01F257", "RSSMRA80A01F257X", 12, None):
            r = env.op.post("/api/v1/verify", {"purpose": pid, "codice_fiscale": badcf,
                                               "declared": {"alive": True}})
            expect(r, 400, "invalid_request", f"codice_fiscale={badcf!r}")
        r = env.op.post("/api/v1/verify", {"purpose": pid, "codice_fiscale": harness.new_cf(),
                                           "declared": {"alive": True}})
        expect(r, 404, "not_found", "a codice fiscale nobody holds")
        # Dual citizenship: each code matches; a string spanning the
        # separator ("0,2" of "100,201") is no code and must not match.
        dual = [y for y in regs if len(y["citizenships"].split(",")) >= 2]
        check(dual, "no registered person with two citizenships")
        d = dual[0]
        c1, c2 = d["citizenships"].split(",")[:2]
        _fact(env, pid, d["cf"], "citizenship", c1, "match")
        _fact(env, pid, d["cf"], "citizenship", c2, "match")
        _never_match(env, pid, d["cf"], "citizenship", c1[2:] + "," + c2[:1])
        _never_match(env, pid, d["cf"], "citizenship", c1[1:] + ",")


# ---------------------------------------------------------------- purposes and agreements

def test_purpose_required_and_not_allowed():
    with Server(population=POP) as srv:
        env = Env(srv)
        p = registered(env.pop)[0]
        own = env.purpose(ALL)
        other_ente = srv.create_ente()
        foreign = srv.create_agreement(other_ente["id"], ALL)["purpose_id"]
        cf = p["cf"]

        def calls(purpose):
            qs = {} if purpose is None else {"purpose": purpose}
            yield "search", lambda: env.op.get("/api/v1/persons?" + q(cf=cf, **qs))
            yield "consult", lambda: env.op.get(f"/api/v1/persons/{cf}?" + q(**qs))
            yield "household", lambda: env.op.get(f"/api/v1/persons/{cf}/household?" + q(**qs))
            yield "history", lambda: env.op.get(f"/api/v1/persons/{cf}/history?" + q(**qs))
            body = {"codice_fiscale": cf, "declared": {"alive": True}}
            if purpose not in (None, ""):       # "" in a query = no purpose in a body
                body["purpose"] = int(purpose)
            yield "verify", lambda: env.op.post("/api/v1/verify", body)

        for purpose, status, code in ((None, 400, "purpose_required"), ("", 400, "purpose_required"),
                                      (foreign, 403, "purpose_not_allowed"),
                                      (987654, 403, "purpose_not_allowed")):
            for op, call in calls(purpose):
                before = srv.access_last_id()
                r = call()
                # "?purpose=" is neither a purpose nor none: malformed
                want = "invalid_request" if purpose == "" and op != "verify" else code
                expect(r, status, want, f"{op} with purpose {purpose!r}")
                check(p["surname"] not in r.body.decode(), f"{op}: data in a refusal")
                one_record(srv, before, f"{op} with purpose {purpose!r}", operation=op,
                           outcome="refused:" + want, status=status, subjects="")
        expect(env.op.get("/api/v1/persons?" + q(purpose=own, cf=cf)), 200, what="own purpose works")
        for typed in (f"%2B{own}", f"%20{own}"):   # strtoll alone took these
            expect(env.op.get(f"/api/v1/persons/{cf}?purpose={typed}"), 400, "purpose_required",
                   f"purpose {typed}")


def test_cross_municipality():
    with Server(population=POP) as srv:
        env = Env(srv)
        pop = env.pop
        only5 = env.purpose(ALL, comuni=["036005"])
        both = env.purpose(ALL)
        # Persons held only by 036023 (no version in 036005).
        in23 = unique_by_name(pop, registered(pop, "036023",
                              lambda p: ("036005", p["id"]) not in pop.persons
                              or pop.persons[("036005", p["id"])][-1]["cf"] != p["cf"]))
        in23 = [p for p in in23 if sum(1 for k in pop.persons if pop.persons[k][-1]["cf"] == p["cf"]) == 1]
        p = in23[0]
        in5 = registered(pop, "036005")[0]
        cf = p["cf"]
        refusals = [
            ("search by cf", "/api/v1/persons?" + q(purpose=only5, cf=cf)),
            ("search by cf, lower case", "/api/v1/persons?" + q(purpose=only5, cf=cf.lower())),
            ("search by name", "/api/v1/persons?" + q(purpose=only5, surname=p["surname"],
                                                      name=p["name"], birth_date=p["birth_date"])),
            ("search by name in 036023", "/api/v1/persons?" + q(purpose=only5, surname=p["surname"],
                                                                 name=p["name"], comune="036023")),
            ("consult", f"/api/v1/persons/{cf}?" + q(purpose=only5)),
            ("household", f"/api/v1/persons/{cf}/household?" + q(purpose=only5)),
            ("history", f"/api/v1/persons/{cf}/history?" + q(purpose=only5)),
        ]
        for what, path in refusals:
            before = srv.access_last_id()
            r = expect(env.op.get(path), 404, "not_found", what)
            check(p["surname"] not in r.body.decode(), f"{what}: data in the answer")
            one_record(srv, before, what, outcome="not_found", status=404, subjects="")
        r = expect(env.op.post("/api/v1/verify", {"purpose": only5, "codice_fiscale": cf,
                                                  "declared": {"alive": True}}), 404, "not_found",
                   "verify")
        # The household of a person of 036005 holds no one of 036023, and
        # the same person is visible with an agreement covering both.
        expect(env.op.get("/api/v1/persons?" + q(purpose=only5, cf=in5["cf"])), 200,
               what="a person of 036005")
        r = expect(env.op.get("/api/v1/persons?" + q(purpose=both, cf=cf)), 200,
                   what="the same person with both municipalities")
        eq(r["results"][0]["identity"]["codice_fiscale"], cf, "found with both")


def test_agreement_state_and_dates():
    with Server(population=POP) as srv:
        env = Env(srv)
        p = registered(env.pop)[0]
        conv = env.agreement(ALL)
        cid, pid = conv["id"], conv["purpose_id"]
        path = f"/api/v1/persons/{p['cf']}?" + q(purpose=pid)
        verify = {"purpose": pid, "codice_fiscale": p["cf"], "declared": {"alive": True}}

        def state_is(ok, what):
            before = srv.access_last_id()
            if ok:
                expect(env.op.get(path), 200, what=what)
                expect(env.op.post("/api/v1/verify", verify), 200, what=what + " (verify)")
            else:
                r = expect(env.op.get(path), 403, "agreement_not_active", what)
                check(p["surname"] not in r.body.decode(), f"{what}: data in the refusal")
                expect(env.op.post("/api/v1/verify", verify), 403, "agreement_not_active",
                       what + " (verify)")
                rows = srv.access_log(before)
                eq([r["outcome"] for r in rows], ["refused:agreement_not_active"] * 2,
                   f"{what}: access records")

        def patch(body):
            expect(srv.admin().patch(f"/api/v1/convenzioni/{cid}", body), 200, what=f"patch {body}")

        def listed():
            return [c["convenzione_id"] for c in env.op.get("/api/v1/purposes").json["convenzioni"]]

        state_is(True, "active")
        patch({"state": "suspended"})
        state_is(False, "suspended")
        check(cid not in listed(), "a suspended agreement is listed in /purposes")
        patch({"state": "active"})
        state_is(True, "active again")
        patch({"state": "ended"})
        state_is(False, "ended")
        patch({"state": "active"})
        today = datetime.datetime.fromtimestamp(srv.now(), datetime.timezone.utc).date()
        patch({"valid_from": (today + datetime.timedelta(days=1)).isoformat()})
        state_is(False, "valid from tomorrow")
        check(cid not in listed(), "a future agreement is listed in /purposes")
        patch({"valid_from": today.isoformat()})
        state_is(True, "valid from today")
        patch({"valid_from": "2020-01-01", "valid_to": (today - datetime.timedelta(days=1)).isoformat()})
        state_is(False, "valid until yesterday")
        patch({"valid_to": (today + datetime.timedelta(days=2)).isoformat()})
        state_is(True, "valid until the day after tomorrow")
        srv.advance(3 * DAY + 3600)
        expect(env.op.login(env.op.username, env.op.password), 200, what="log in again")
        state_is(False, "three days later, past valid_to")
        check(cid not in listed(), "an expired agreement is listed in /purposes")
        patch({"valid_to": None})
        state_is(True, "without an end date")


# ---------------------------------------------------------------- searches

def test_name_search_rules():
    with Server(population=POP) as srv:
        env = Env(srv)
        pop = env.pop
        pid = env.purpose(ALL)
        regs = unique_by_name(pop, registered(pop))

        def search(what, status=200, code=None, **params):
            before = srv.access_last_id()
            r = expect(env.op.get("/api/v1/persons?" + q(purpose=pid, **params)), status, code, what)
            one_record(srv, before, what, operation="search", status=status)
            return r

        def finds(p, what, approximate=False, **params):
            r = search(what, **params)
            cfs = [x["identity"]["codice_fiscale"] for x in r["results"]]
            check(p["cf"] in cfs, f"{what}: {p['cf']} not among {cfs}")
            eq(r["approximate"], approximate, f"{what}: approximate")
            eq(r["count"], len(r["results"]), f"{what}: count")
            return r

        # Apostrophes and spaces.
        apo = next(p for p in regs if "'" in p["surname"] and " " not in p["surname"])
        s = apo["surname"]
        for variant in (s, s.replace("'", ""), s.replace("'", " "), s.lower(), s.title(),
                        s.replace("'", "").lower(), s.replace("'", "-")):
            finds(apo, f"surname {variant!r}", surname=variant, name=apo["name"],
                  birth_year=apo["birth_date"][:4])
        sp = next(p for p in regs if " " in p["surname"])
        s = sp["surname"]
        for variant in (s, s.replace(" ", ""), s.lower(), s.replace(" ", "'")):
            finds(sp, f"surname {variant!r}", surname=variant, name=sp["name"].lower(),
                  birth_date=sp["birth_date"])
        # Accents: a name with an accented letter, and accents added.
        acc = [p for p in regs if any(c in p["surname"] + p["name"] for c in "ÀÈÉÌÒÙ")]
        if acc:
            a = acc[0]
            finds(a, "accented, as registered", surname=a["surname"], name=a["name"],
                  comune=a["comune"])
            finds(a, "accents removed", surname=fold(a["surname"]), name=fold(a["name"]),
                  comune=a["comune"])
        plain = next(p for p in regs if "A" in p["name"] and p["name"].isalpha()
                     and p["surname"].isalpha() and len(p["surname"]) >= 5 and len(p["name"]) >= 4)
        finds(plain, "accent added", surname=plain["surname"], name=plain["name"].replace("A", "À", 1),
              birth_year=plain["birth_date"][:4])
        # The combination of criteria: birth date, birth year, comune.
        finds(plain, "with comune", surname=plain["surname"], name=plain["name"], comune=plain["comune"])
        other = "036023" if plain["comune"] == "036005" else "036005"
        search("wrong comune", 404, "not_found", surname=plain["surname"], name=plain["name"],
               comune=other)
        search("wrong birth date", 404, "not_found", surname=plain["surname"], name=plain["name"],
               birth_date=day_before(plain["birth_date"]))
        # One typo tolerated, flagged approximate; two are not.
        sur, nam = plain["surname"], plain["name"]
        by = plain["birth_date"][:4]
        typo_s = sur[:2] + ("Q" if sur[2] != "Q" else "W") + sur[3:]
        finds(plain, "one substitution in the surname", True, surname=typo_s, name=nam, birth_year=by)
        finds(plain, "one deletion in the name", True, surname=sur, name=nam[:1] + nam[2:],
              birth_year=by)
        finds(plain, "one insertion in the surname", True, surname=sur + "I", name=nam, birth_year=by)
        search("two typos", 404, "not_found", surname=typo_s, name=nam[:1] + nam[2:], birth_year=by)
        search("two typos in the surname", 404, "not_found", surname=typo_s[:-1], name=nam,
               birth_year=by)
        # Refused shapes.
        refused = [
            ("surname only", dict(surname=sur)),
            ("surname and birth year", dict(surname=sur, birth_year=by)),
            ("name and birth date", dict(name=nam, birth_date=plain["birth_date"])),
            ("surname and name only", dict(surname=sur, name=nam)),
            ("wildcard ROSS*", dict(surname="ROSS*", name=nam, birth_year=by)),
            ("wildcard %", dict(surname="%", name=nam, birth_year=by)),
            ("wildcard % in name", dict(surname=sur, name="%", birth_year=by)),
            ("wildcard _", dict(surname=sur[:-1] + "_", name=nam, birth_year=by)),
            ("wildcard ?", dict(surname=sur[:-1] + "?", name=nam, birth_year=by)),
            ("one letter", dict(surname=sur[0], name=nam, birth_year=by)),
            ("street", dict(surname=sur, name=nam, birth_year=by, street="VIA EMILIA")),
            ("street alone", dict(street="VIA EMILIA")),
            ("street with cf", dict(cf=plain["cf"], street="VIA EMILIA")),
            ("empty street", dict(surname=sur, name=nam, birth_year=by, street="")),
            ("nothing", dict()),
            ("bad birth year", dict(surname=sur, name=nam, birth_year="19x0")),
            ("bad birth date", dict(surname=sur, name=nam, birth_date="1980-02-30")),
            ("bad comune", dict(surname=sur, name=nam, comune="36023")),
        ]
        for what, params in refused:
            r = search(what, 400, "invalid_request", **params)
            check("results" not in r.json, f"{what}: results in a refusal")
        # Too broad: more matches than max_results, no list.
        cnt = collections.Counter((fold(p["surname"]), fold(p["name"]), p["birth_date"][:4])
                                  for p in pop.current_persons())
        (bs, bn, byear), n = cnt.most_common(1)[0]
        check(n >= 2, "no two persons share surname, name and birth year")
        pid1 = env.purpose(ALL, max_results=1)
        before = srv.access_last_id()
        r = expect(env.op.get("/api/v1/persons?" + q(purpose=pid1, surname=bs, name=bn,
                                                    birth_year=byear)), 422, "query_too_broad",
                   "too broad")
        check(error_shape_ok(r) and "results" not in r.body.decode(), f"too broad: body {r.body[:300]!r}")
        one_record(srv, before, "too broad", outcome="too_broad", status=422, subjects="")
        r = search("the same with max_results 20", surname=bs, name=bn, birth_year=byear)
        eq(r["count"], n, "persons sharing surname, name and birth year")
        eq(r["approximate"], False, "exact")


def test_as_of_consultation():
    with Server(population=POP) as srv:
        env = Env(srv)
        pop = env.pop
        pid = env.purpose(ALL)
        cases = []
        for e in pop.events:
            if e["type"] != "CAMBIO_INDIRIZZO":
                continue
            cur = pop.persons[(e["comune"], e["person"])][-1]
            d = e["date"]
            old_p, new_p = pop.person(cur["cf"], day_before(d)), pop.person(cur["cf"], d)
            old_f = pop.family(e["comune"], old_p["family_id"], day_before(d))
            new_f = pop.family(e["comune"], new_p["family_id"], d)
            if (old_f["street"], old_f["civic"]) != (new_f["street"], new_f["civic"]):
                cases.append((cur["cf"], d, old_p, new_p, old_f, new_f))
        check(cases, "no change of address in the deltas")
        for cf, d, old_p, new_p, old_f, new_f in cases:
            before = day_before(d)

            def addr(as_of):
                r = expect(env.op.get(f"/api/v1/persons/{cf}?" + q(purpose=pid, as_of=as_of)), 200,
                           what=f"consult {cf} as of {as_of}")
                eq(r["as_of"], as_of, "as_of echoed")
                a = r["person"]["residence"]["address"]
                return (a["street"], str(a["civic"] or "")), r["person"]["family"]["household_id"]

            eq(addr(before), ((old_f["street"], old_f["civic"]), old_p["family_id"]),
               f"{cf}: address and household the day before the move ({before})")
            eq(addr(d), ((new_f["street"], new_f["civic"]), new_p["family_id"]),
               f"{cf}: address and household on the day of the move ({d})")
            r = expect(env.op.get(f"/api/v1/persons/{cf}?" + q(purpose=pid)), 200, what="today")
            eq(r["person"]["residence"]["address"]["street"], new_f["street"], f"{cf}: today")
            # The household as of each date.
            for as_of, p_, f_ in ((before, old_p, old_f), (d, new_p, new_f)):
                r = expect(env.op.get(f"/api/v1/persons/{cf}/household?" + q(purpose=pid, as_of=as_of)),
                           200, what=f"household as of {as_of}")
                eq(r["household_id"], p_["family_id"], f"{cf}: household id as of {as_of}")
                eq(r["since"], f_["valid_from"], f"{cf}: household since, as of {as_of}")
                check(cf in [m["identity"]["codice_fiscale"] for m in r["members"]],
                      f"{cf}: not a member of the household as of {as_of}")
                for m in r["members"]:
                    eq(m["residence"]["address"]["street"], f_["street"],
                       f"{cf}: members' address as of {as_of}")
            if old_p["family_id"] != new_p["family_id"]:
                # The old household no longer holds the person after the move.
                stayed = [m for m in pop.members(old_p["comune"], old_p["family_id"])]
                if stayed:
                    r = expect(env.op.get(f"/api/v1/persons/{stayed[0]}/household?" +
                                          q(purpose=pid, as_of=d)), 200, what="old household after")
                    check(cf not in [m["identity"]["codice_fiscale"] for m in r["members"]],
                          f"{cf} still in the old household {old_p['family_id']} as of {d}")
            # Verification as of a date.
            old = {"comune": old_p["comune"], "street": old_f["street"]}
            new = {"comune": new_p["comune"], "street": new_f["street"]}
            _fact(env, pid, cf, "residence", old, "match", before)
            _fact(env, pid, cf, "residence", new, "mismatch", before)
            _fact(env, pid, cf, "residence", new, "match", d)
            _fact(env, pid, cf, "residence", new, "match")
            _fact(env, pid, cf, "residence", old, "mismatch")
        cf = cases[0][0]
        expect(env.op.get(f"/api/v1/persons/{cf}?" + q(purpose=pid, as_of="1800-01-01")), 404,
               "not_found", "as of a date before the person existed")
        for bad in ("2026-13-01", "2026-02-30", "yesterday", "2026-1-1", "20260101", "-1",
                    "2026-01-01T00:00:00Z", "0000-00-00"):
            for path in (f"/api/v1/persons/{cf}", f"/api/v1/persons/{cf}/household"):
                expect(env.op.get(path + "?" + q(purpose=pid, as_of=bad)), 400, "invalid_request",
                       f"{path} as_of={bad!r}")
            expect(env.op.post("/api/v1/verify", {"purpose": pid, "codice_fiscale": cf,
                                                  "as_of": bad, "declared": {"alive": True}}),
                   400, "invalid_request", f"verify as_of={bad!r}")


def test_deceased_and_emigrated_shown_with_status():
    with Server(population=POP) as srv:
        env = Env(srv)
        pop = env.pop
        pid = env.purpose(ALL)
        snap = {p["cf"]: p for p in pop.snapshot}
        want = {"1": "deceased", "3": "emigrated", "8": "emigrated_abroad"}
        for reason, status in want.items():
            group = [p for p in pop.snapshot if p["canc_reason"] == reason
                     and pop.person(p["cf"]) == p]   # unchanged since the snapshot
            check(group, f"no person cancelled with reason {reason} in the snapshot")
            for p in group[:2]:
                r = expect(env.op.get(f"/api/v1/persons/{p['cf']}?" + q(purpose=pid)), 200,
                           what=f"consult a person cancelled with reason {reason}")
                v = r["person"]["vital_status"]
                eq(v["status"], status, f"{p['cf']}: status")
                eq(v.get("cancellation_reason"), int(reason), f"{p['cf']}: cancellation reason")
                eq(v.get("date"), p["canc_date"], f"{p['cf']}: cancellation date")
                if p["destination"]:
                    eq(v.get("destination", {}).get("code"), p["destination"], f"{p['cf']}: destination")
                # Found by a name search too, with the same status.
                r = expect(env.op.get("/api/v1/persons?" + q(purpose=pid, surname=p["surname"],
                                                            name=p["name"], birth_date=p["birth_date"])),
                           200, what="name search of a cancelled person")
                hit = [x for x in r["results"] if x["identity"]["codice_fiscale"] == p["cf"]]
                check(hit, f"{p['cf']} not found by name")
                eq(hit[0]["vital_status"]["status"], status, "status in the search")
                # As of the day before the cancellation (when a version
                # holds that day) the person is not yet cancelled.
                if p["valid_from"] < p["canc_date"]:
                    r = expect(env.op.get(f"/api/v1/persons/{p['cf']}?" +
                                          q(purpose=pid, as_of=day_before(p["canc_date"]))),
                               200, what="as of the day before")
                    eq(r["person"]["vital_status"], {"status": "registered"}, "before the cancellation")
        # A death in a delta: alive before, deceased after.
        deaths = [e for e in pop.events if e["type"] == "DECESSO"]
        for e in deaths:
            p = pop.persons[(e["comune"], e["person"])][-1]
            r = expect(env.op.get(f"/api/v1/persons/{p['cf']}?" + q(purpose=pid)), 200,
                       what="died in a delta")
            eq(r["person"]["vital_status"]["status"], "deceased", "death from a delta")
            eq(r["person"]["vital_status"]["date"], e["date"], "date of the death")
            _fact(env, pid, p["cf"], "alive", True, "match", day_before(e["date"]))
            _fact(env, pid, p["cf"], "alive", False, "match")


# ---------------------------------------------------------------- hostile input

INJECTIONS = [
    "' OR '1'='1", "'; DROP TABLE person; --", "\" UNION SELECT * FROM account --",
    "1; DELETE FROM access_log", "RSSMRA80A01F257G' --", "../../etc/passwd", "<script>x</script>",
    "${jndi:ldap://x}", "%s%s%n", "\\", "*", "%", "_",
]
# Already percent-encoded: invalid UTF-8, control characters, numbers out
# of range, 10 KB.  (NUL bytes have their own test.)
RAW = ["A%00B", "%FF%FE", "%C3%28", "%ED%A0%80", "%C0%AF", "%1F", "%0D%0AX-Injected:%201",
       "%E2%80%AE", "-1", "0", "99999999999999999999999", "1e5", "0x10", "A" * 10240]


def _clean_4xx(r, what, failures=None):
    why = None
    if not 400 <= r.status < 500:
        why = f"{what}: expected a 4xx, got {r.status} {r.body[:120]!r}"
    elif not error_shape_ok(r):
        why = f"{what}: not a JSON error: {r.body[:120]!r}"
    if why and failures is None:
        raise harness.TestFailure(why)
    if why:
        failures.append(why)


def _report(fails, what):
    check(not fails, f"{len(fails)} {what}:\n  " + "\n  ".join(fails[:30]))


def _still_works(srv, env, p, pid):
    """The server answers, the register is untouched, the chain holds."""
    expect(srv.request("GET", "/healthz"), 200, what="healthz after hostile input")
    r = expect(env.op.get(f"/api/v1/persons/{p['cf']}?purpose={pid}"), 200, what="a normal request")
    eq(r["person"]["identity"]["surname"], p["surname"], "data intact")
    eq(int(harness.db_query(srv.db, "SELECT count(*) AS n FROM person")[0]["n"]),
       len(env.pop.persons), "persons in the store")
    eq(int(harness.db_query(srv.db, "SELECT count(*) AS n FROM account")[0]["n"]) >= 2, True,
       "accounts")
    rc, out = harness.audit_verify(srv.db)
    eq(rc, 0, f"audit verify after hostile input: {out}")


def test_injection_and_malformed_input():
    with Server(population=POP) as srv:
        env = Env(srv)
        p = registered(env.pop)[0]
        cf = p["cf"]
        pid = env.purpose(ALL)
        good = dict(purpose=str(pid), surname=p["surname"], name=p["name"],
                    birth_year=p["birth_date"][:4])
        enc = lambda v: urllib.parse.quote(v, safe="")
        fails = []
        for v in [enc(v) for v in INJECTIONS] + RAW:
            # Each parameter of the name search, the cf search, consultation.
            for param in ("purpose", "surname", "name", "birth_year", "birth_date", "comune"):
                qs = "&".join(f"{k}={enc(x)}" for k, x in good.items() if k != param)
                r = env.op.get(f"/api/v1/persons?{qs}&{param}={v}")
                _clean_4xx(r, f"search {param}={v[:40]!r}", fails)
            for path in (f"/api/v1/persons?purpose={pid}&cf={v}",
                         f"/api/v1/persons/{v}?purpose={pid}",
                         f"/api/v1/persons/{v}/household?purpose={pid}",
                         f"/api/v1/persons/{cf}?purpose={pid}&as_of={v}",
                         f"/api/v1/persons/{cf}/household?purpose={v}",
                         f"/api/v1/persons/{cf}/history?purpose={v}"):
                _clean_4xx(env.op.get(path), f"GET {path[:80]!r}", fails)
            # case_ref may be any short text, but never breaks anything.
            r = env.op.get(f"/api/v1/persons?purpose={pid}&cf={cf}&case_ref={v}")
            if not (r.status in (200, 400, 414) and isinstance(r.json, dict)):
                fails.append(f"case_ref={v[:40]!r}: {r.status} {r.body[:200]!r}")
        # Purpose ids: negative, zero, huge, not numbers.
        for v, code in (("-1", "purpose_required"), ("0", "purpose_required"),
                        ("-9223372036854775808", "purpose_required"),
                        ("99999999999999999999", "purpose_required"), ("1.0", "purpose_required"),
                        ("1%20", "purpose_required"), ("1abc", "purpose_required"),
                        ("9223372036854775807", None), ("123456789012", "purpose_not_allowed")):
            r = env.op.get(f"/api/v1/persons?purpose={v}&cf={cf}")
            _clean_4xx(r, f"purpose={v!r}", fails)
            if code and r.code != code:
                fails.append(f"purpose={v!r}: expected {code}, got {r.status} {r.code}")
        # Verification bodies.
        bodies = [
            {"purpose": str(pid), "codice_fiscale": cf, "declared": {"alive": True}},
            {"purpose": -5, "codice_fiscale": cf, "declared": {"alive": True}},
            {"purpose": 2 ** 63 - 1, "codice_fiscale": cf, "declared": {"alive": True}},
            {"purpose": 1.5, "codice_fiscale": cf, "declared": {"alive": True}},
            {"purpose": 1e300, "codice_fiscale": cf, "declared": {"alive": True}},
            {"purpose": None, "codice_fiscale": cf, "declared": {"alive": True}},
            {"purpose": pid, "codice_fiscale": "' OR 1=1 --     ", "declared": {"alive": True}},
            {"purpose": pid, "codice_fiscale": "A" * 10240, "declared": {"alive": True}},
            {"purpose": pid, "codice_fiscale": cf, "declared": {"alive": True}, "case_ref": "x" * 101},
            {"purpose": pid, "codice_fiscale": cf, "declared": {"alive": True}, "as_of": "2026-02-30"},
            {"purpose": pid, "codice_fiscale": cf, "declared": {"x' OR 1=1": 1}},
        ]
        for b in bodies:
            _clean_4xx(env.op.post("/api/v1/verify", b), f"verify {str(b)[:100]}", fails)
        for b in ({"surname": "x" * 10240}, {"household": "'; DROP TABLE person"},
                  {"residence": {"comune": "' OR 1=1", "street": "x' --"}},
                  {"father": "' OR father_cf <> '"}):
            r = env.op.post("/api/v1/verify", {"purpose": pid, "codice_fiscale": cf, "declared": b})
            if not (r.status in (200, 400) and isinstance(r.json, dict)) or \
                    (r.status == 200 and not set(r["facts"].values()) <= {"mismatch"}):
                fails.append(f"verify {str(b)[:80]}: {r}")
        raw_bodies = [b"{", b"[]", b"null", b'{"purpose": 1, "purpose": 2}',
                      b'{"purpose": 1, "codice_fiscale": "\\u0000RSSMRA80A01F257G", "declared": {}}',
                      b'{"purpose": 1, "codice_fiscale": "\xff\xfe", "declared": {"alive": true}}',
                      b'{"purpose": 99999999999999999999999999, "codice_fiscale": "x"}',
                      b"\x00" * 100, b'{"declared": ' * 5000]
        for raw in raw_bodies:
            _clean_4xx(env.op.post("/api/v1/verify", raw=raw), f"verify raw {raw[:40]!r}", fails)
        # Invalid UTF-8 raw in the request target (the client library
        # would refuse to send it).
        cookie = "; ".join(f"{k}={v}" for k, v in env.op.cookies.items())
        target = f"/api/v1/persons?purpose={pid}&surname=\xff\xfe&name=A&birth_year=1980".encode("latin-1")
        data = (b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: " + cookie.encode() +
                b"\r\nConnection: close\r\n\r\n")
        st, _, _ = parse_raw(srv.raw_exchange(data))
        if st is not None and not 400 <= st < 500:
            fails.append(f"raw target {target[:60]!r}: status {st}")
        _report(fails, "hostile requests not refused cleanly")
        _still_works(srv, env, p, pid)


def test_nul_bytes_in_parameters_refused():
    """A NUL inside a parameter is malformed input: the value must not be
    silently cut at the NUL (cf=VALIDCF%00junk is not that codice fiscale)."""
    with Server(population=POP) as srv:
        env = Env(srv)
        p = registered(env.pop)[0]
        cf = p["cf"]
        pid = env.purpose(ALL)
        by = p["birth_date"][:4]
        fails = []
        paths = [
            f"/api/v1/persons?purpose={pid}&cf={cf}%00",
            f"/api/v1/persons?purpose={pid}&cf={cf}%00XYZ",
            f"/api/v1/persons?purpose={pid}&cf={cf}%00'%20OR%201%3D1",
            f"/api/v1/persons/{cf}%00XYZ?purpose={pid}",
            f"/api/v1/persons/{cf}%00?purpose={pid}",
            f"/api/v1/persons?purpose={pid}%00&cf={cf}",
            f"/api/v1/persons?purpose=%00&cf={cf}",
            f"/api/v1/persons?" + q(purpose=pid, surname=p["surname"], name=p["name"], birth_year=by) + "%00",
            f"/api/v1/persons?" + q(purpose=pid, surname=p["surname"], name=p["name"], birth_year=by) +
            "&comune=%00",
            f"/api/v1/persons?" + q(purpose=pid, surname=p["surname"], name=p["name"], birth_year=by) +
            "&birth_date=%00",
            f"/api/v1/persons/{cf}?purpose={pid}&as_of=%00",
            f"/api/v1/persons/{cf}?purpose={pid}&as_of=2026-01-01%00junk",
        ]
        for path in paths:
            _clean_4xx(env.op.get(path), f"GET {path[-60:]!r}", fails)
        cookie = "; ".join(f"{k}={v}" for k, v in env.op.cookies.items())
        # A raw NUL byte in the request line (not valid HTTP) is cut off by
        # libmicrohttpd before visura sees the target, which cannot be
        # detected from its API.  What must hold: the request answered is
        # the one recorded — nothing after the NUL reaches the trail.
        for target in (f"/api/v1/persons?purpose={pid}&cf={cf}\x00X".encode(),
                       f"/api/v1/persons/{cf}\x00?purpose={pid}".encode()):
            data = (b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: " + cookie.encode() +
                    b"\r\nConnection: close\r\n\r\n")
            before = srv.access_last_id()
            st, _, _ = parse_raw(srv.raw_exchange(data))
            recs = srv.access_log(before)
            if st == 200:
                if len(recs) != 1 or "X" in recs[0]["query"].replace(cf, "") or \
                        recs[0]["subjects"] != cf:
                    fails.append(f"raw NUL in the target {target[-40:]!r}: answered 200 but "
                                 f"recorded {recs!r}")
            elif st is not None and not 400 <= st < 500:
                fails.append(f"raw NUL in the target {target[-40:]!r}: status {st}")
        _report(fails, "requests with a NUL byte answered as if it were not there")
        _still_works(srv, env, p, pid)


def test_verify_fields_of_the_wrong_type_refused():
    """A field of /verify with the wrong JSON type is an error, not absent:
    "as_of": 20260101 must not give today's answer."""
    with Server(population=POP) as srv:
        env = Env(srv)
        p = registered(env.pop)[0]
        pid = env.purpose(ALL)
        base = {"purpose": pid, "codice_fiscale": p["cf"], "declared": {"alive": True}}
        fails = []
        for field, value in (("as_of", 20260101), ("as_of", ["2026-01-01"]), ("as_of", True),
                             ("case_ref", 5), ("case_ref", {"x": 1}), ("purpose", str(pid)),
                             ("codice_fiscale", [p["cf"]])):
            r = env.op.post("/api/v1/verify", dict(base, **{field: value}))
            _clean_4xx(r, f"verify {field}={value!r}", fails)
        _report(fails, "verifications with a field of the wrong type not refused")


def test_access_records_hold_no_control_characters():
    """The hash chain separates fields with 0x1F and relies on fields being
    text without control characters: hostile values must not reach the
    record raw (refused, or cleaned)."""
    with Server(population=POP) as srv:
        env = Env(srv)
        p = registered(env.pop)[0]
        pid = env.purpose(ALL)
        api_acc, _ = srv.create_account("api", env.ente["id"])
        tok = expect(env.admin.post(f"/api/v1/accounts/{api_acc['id']}/tokens", {"name": "t"}), 201,
                     what="token").json["token"]
        api = srv.client(bearer=tok)
        for v in ("%1F", "A%1FB", "%0A", "%09", "%7F", "%1Bc"):
            env.op.get(f"/api/v1/persons?purpose={pid}&cf={p['cf']}&case_ref={v}")
            env.op.get(f"/api/v1/persons?purpose={pid}&surname=A{v}B&name={p['name']}&birth_year=1980")
            env.op.get(f"/api/v1/persons/{p['cf']}?purpose={pid}&as_of=2026{v}")
        env.op.post("/api/v1/verify", {"purpose": pid, "codice_fiscale": p["cf"],
                                       "declared": {"alive\u001fsurname": True}})
        env.op.post("/api/v1/verify", {"purpose": pid, "codice_fiscale": p["cf"], "case_ref": "a\u001fb",
                                       "declared": {"alive": True}})
        api.get(f"/api/v1/persons?purpose={pid}&cf={p['cf']}",
                headers={"X-Visura-On-Behalf-Of": "mario\x1frossi"})
        bad = []
        for row in srv.access_log():
            for k, v in row.items():
                if isinstance(v, str) and any(ord(c) < 0x20 or ord(c) == 0x7F for c in v):
                    bad.append((row["id"], k, v))
        check(not bad, f"access records hold control characters: {bad[:6]}")


# ---------------------------------------------------------------- API clients

def test_api_client_on_behalf_of():
    with Server(population=POP) as srv:
        env = Env(srv)
        p = registered(env.pop)[0]
        pid = env.purpose(ALL)
        api_acc, _ = srv.create_account("api", env.ente["id"])
        tok = expect(env.admin.post(f"/api/v1/accounts/{api_acc['id']}/tokens", {"name": "t"}), 201,
                     what="token").json["token"]
        api = srv.client(bearer=tok)
        search = f"/api/v1/persons?purpose={pid}&cf={p['cf']}&case_ref=PRAT-1"
        verify = {"purpose": pid, "codice_fiscale": p["cf"], "declared": {"alive": True}}
        for hdr in (None, "", "x" * 5000, "\udcff"):
            h = {} if hdr is None else {"X-Visura-On-Behalf-Of": hdr}
            if hdr == "\udcff":
                h = {"X-Visura-On-Behalf-Of": "caf\xe8"}   # latin-1 on the wire: not UTF-8
            before = srv.access_last_id()
            r = api.get(search, headers=h)
            _clean_4xx(r, f"header {str(hdr)[:20]!r}")
            eq((r.status, r.code), (400, "on_behalf_of_required"), f"search, header {str(hdr)[:20]!r}")
            one_record(srv, before, "refused api search", outcome="refused:on_behalf_of_required",
                       status=400, username=api_acc["username"], subjects="")
            expect(api.post("/api/v1/verify", verify, headers=h), 400, "on_behalf_of_required",
                   f"verify, header {str(hdr)[:20]!r}")
            expect(api.get(f"/api/v1/persons/{p['cf']}?purpose={pid}", headers=h), 400,
                   "on_behalf_of_required", "consult")
        expect(api.get("/api/v1/purposes"), 200, what="/purposes needs no end user")
        h = {"X-Visura-On-Behalf-Of": "Mario Rossi (matr. 123)"}
        before = srv.access_last_id()
        r = expect(api.get(search, headers=h), 200, what="search with the end user")
        rec = one_record(srv, before, "api search", outcome="ok", status=200,
                         on_behalf_of="Mario Rossi (matr. 123)", case_ref="PRAT-1",
                         username=api_acc["username"], subjects=p["cf"], operation="search")
        eq(r["access_id"], rec["id"], "access_id of the answer")
        expect(api.post("/api/v1/verify", verify, headers=h), 200, what="verify with the end user")
        expect(api.get(f"/api/v1/persons/{p['cf']}/household?purpose={pid}", headers=h), 200,
               what="household with the end user")
        # An operator (browser session) needs no such header; the record says so.
        before = srv.access_last_id()
        expect(env.op.get(search), 200, what="operator without the header")
        one_record(srv, before, "operator", on_behalf_of="", outcome="ok")


# ---------------------------------------------------------------- the access trail

def test_one_access_record_per_request():
    with Server(population=POP) as srv:
        env = Env(srv)
        pop = env.pop
        regs = unique_by_name(pop, registered(pop))
        p = regs[0]
        cf = p["cf"]
        conv = env.agreement(ALL)
        pid = conv["purpose_id"]
        narrow = env.agreement(["identity"])
        vonly = env.purpose(ALL, mode="verify_only")
        only5 = env.purpose(ALL, comuni=["036005"])
        in23 = next(x for x in regs if x["comune"] == "036023"
                    and sum(1 for k in pop.persons if pop.persons[k][-1]["cf"] == x["cf"]) == 1)
        suspended = env.agreement(ALL)
        expect(env.admin.patch(f"/api/v1/convenzioni/{suspended['id']}", {"state": "suspended"}), 200,
               what="suspend")
        members = pop.members(p["comune"], p["family_id"])
        base = dict(username=env.op.account["username"], ente_id=env.ente["id"])
        G = lambda path: (lambda: env.op.get(path))
        V = lambda body: (lambda: env.op.post("/api/v1/verify", body))
        cases = [
            # (what, call, status, operation, outcome, subjects, purpose, agreement, categories)
            ("search by cf", G(f"/api/v1/persons?purpose={pid}&cf={cf}&case_ref=C-1"), 200, "search",
             "ok", cf, pid, conv["id"], ",".join(ALL)),
            ("search by name", G("/api/v1/persons?" + q(purpose=pid, surname=p["surname"], name=p["name"],
                                                       birth_date=p["birth_date"])),
             200, "search", "ok", cf, pid, conv["id"], None),
            ("consult", G(f"/api/v1/persons/{cf}?purpose={pid}"), 200, "consult", "ok", cf, pid,
             conv["id"], None),
            ("household", G(f"/api/v1/persons/{cf}/household?purpose={pid}"), 200, "household", "ok",
             set(members), pid, conv["id"], None),
            ("verify", V({"purpose": pid, "codice_fiscale": cf, "declared": {"alive": True}}), 200,
             "verify", "ok", cf, pid, conv["id"], None),
            ("not found", G(f"/api/v1/persons?purpose={pid}&cf={harness.new_cf()}"), 404, "search",
             "not_found", "", pid, conv["id"], None),
            ("other municipality", G(f"/api/v1/persons/{in23['cf']}?purpose={only5}"), 404, "consult",
             "not_found", "", only5, None, None),
            ("no purpose", G(f"/api/v1/persons/{cf}"), 400, "consult", "refused:purpose_required", "",
             0, 0, ""),
            ("foreign purpose", G(f"/api/v1/persons/{cf}?purpose=99999"), 403, "consult",
             "refused:purpose_not_allowed", "", 99999, 0, ""),
            ("verify only", G(f"/api/v1/persons/{cf}?purpose={vonly}"), 403, "consult",
             "refused:mode_verify_only", "", vonly, None, None),
            ("household outside the profile", G(f"/api/v1/persons/{cf}/household?purpose="
                                                f"{narrow['purpose_id']}"), 403, "household",
             "refused:category_not_permitted", "", narrow["purpose_id"], narrow["id"], "identity"),
            ("suspended", G(f"/api/v1/persons/{cf}?purpose={suspended['purpose_id']}"), 403, "consult",
             "refused:agreement_not_active", "", suspended["purpose_id"], None, None),
            ("street", G(f"/api/v1/persons?purpose={pid}&street=VIA%20ROMA"), 400, "search",
             "refused:invalid_request", "", pid, conv["id"], None),
            ("bad as_of", G(f"/api/v1/persons/{cf}?purpose={pid}&as_of=2026-02-30"), 400, "consult",
             "refused:invalid_request", "", pid, conv["id"], None),
            ("verify unknown fact", V({"purpose": pid, "codice_fiscale": cf, "declared": {"x": 1}}), 400,
             "verify", "refused:invalid_request", "", pid, conv["id"], None),
            ("verify without purpose", V({"codice_fiscale": cf, "declared": {"alive": True}}), 400,
             "verify", "refused:purpose_required", "", 0, 0, ""),
            ("case_ref too long", G(f"/api/v1/persons?purpose={pid}&cf={cf}&case_ref={'x' * 101}"), 400,
             "search", "refused:invalid_request", "", pid, None, None),
        ]
        prev_hash = None
        for what, call, status, operation, outcome, subjects, purpose, conv_id, cats in cases:
            before = srv.access_last_id()
            r = call()
            eq(r.status, status, f"{what}: status ({r.body[:200]!r})")
            rec = one_record(srv, before, what, operation=operation, outcome=outcome, status=status,
                             purpose_id=purpose, **base)
            if isinstance(subjects, set):
                eq(set(rec["subjects"].split(",")), subjects, f"{what}: subjects")
            else:
                eq(rec["subjects"], subjects, f"{what}: subjects")
            if conv_id is not None:
                eq(rec["convenzione_id"], conv_id, f"{what}: agreement")
            if cats is not None:
                eq(rec["categories"], cats, f"{what}: categories")
            if status == 200:
                eq(r["access_id"], rec["id"], f"{what}: access_id of the answer")
                eq(r["purpose"]["id"], purpose, f"{what}: purpose of the answer")
            if prev_hash is not None:
                eq(rec["prev_hash"], prev_hash, f"{what}: chained to the previous record")
            prev_hash = rec["hash"]
        eq(next(x for x in srv.access_log() if x["operation"] == "search")["case_ref"], "C-1",
           "case_ref in the record")
        # Refusals by role never reach the data (and are security events).
        before = srv.access_last_id()
        expect(env.admin.get(f"/api/v1/persons/{cf}?purpose={pid}"), 403, "forbidden", "admin")
        lead = srv.user("lead", env.ente["id"])
        expect(lead.get(f"/api/v1/persons/{cf}?purpose={pid}"), 403, "forbidden", "lead")
        # A malformed verification body is refused — and recorded.
        r = env.op.post("/api/v1/verify", raw=b'{"purpose": ')
        _clean_4xx(r, "malformed verify body")
        rows = srv.access_log(before)
        eq([(x["operation"], x["status"]) for x in rows], [("verify", 400)],
           "records after role refusals and a malformed verify body")
        rc, out = harness.audit_verify(srv.db)
        eq(rc, 0, f"audit verify while running: {out}")
        srv.stop()
        rc, out = harness.audit_verify(srv.db)
        eq(rc, 0, f"audit verify after stopping: {out}")
        check(f"ok: {len(srv.access_log())} registrazioni di accesso" in out, f"audit verify output: {out}")


if __name__ == "__main__":
    run_tests(globals())
