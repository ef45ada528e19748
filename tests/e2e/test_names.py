#!/usr/bin/env python3
"""End-to-end: what the interface's pickers search by name, so that nobody
types a code or a number.  /api/v1/names/{enti,accounts,purposes} give the
auditor and the office id and display name only (nothing else of the
record); /api/v1/places finds municipalities (the name itself first, then
names starting with it, then the rest, current ones before suppressed ones;
one row per name over its periods) and foreign states by
today's name, or by ISTAT code.  Every other role is refused (403), and
nobody without a session (401).

usage: test_names.py PATH/TO/visura [TEST...]
"""
import sys
import urllib.parse

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

from harness import Client, Server, check, eq, expect, run_tests  # noqa: E402

NAMES = ("enti", "accounts", "purposes")


def places(c, q, kind=None):
    p = {"q": q}
    if kind:
        p["kind"] = kind
    return expect(c.get("/api/v1/places?" + urllib.parse.urlencode(p)), 200,
                  what=f"places {q!r}")["places"]


def test_names_and_places_by_role():
    with Server() as srv:
        ente = srv.create_ente(name="Questura di Valdoria")
        conv = srv.create_agreement(ente["id"], ["identity"], purpose_code="PS-1")
        auditor = srv.user("auditor")
        op = srv.user("operator", ente["id"])
        lead = srv.user("lead", ente["id"])
        admin = srv.admin()

        for who, c in (("auditor", auditor), ("admin", admin)):
            e = expect(c.get("/api/v1/names/enti"), 200, what=f"{who}: bodies")["enti"]
            eq([x for x in e if x["id"] == ente["id"]], [{"id": ente["id"], "name": ente["name"]}],
               f"{who}: the body by id and name only")
            a = expect(c.get("/api/v1/names/accounts"), 200, what=f"{who}: accounts")["accounts"]
            mine = [x for x in a if x["id"] == op.account["id"]]
            eq(mine, [{"id": op.account["id"], "username": op.account["username"],
                       "full_name": op.account["full_name"]}], f"{who}: the operator, names only")
            p = expect(c.get("/api/v1/names/purposes"), 200, what=f"{who}: purposes")["purposes"]
            eq([x for x in p if x["id"] == conv["purpose_id"]],
               [{"id": conv["purpose_id"], "code": "PS-1", "description": "test purpose"}],
               f"{who}: the purpose by code and description only")
        for who, c in (("operator", op), ("lead", lead)):
            for n in NAMES:
                expect(c.get(f"/api/v1/names/{n}"), 403, "forbidden", f"{who}: names/{n}")
        for who, c in (("auditor", auditor), ("lead", lead)):
            expect(c.get("/api/v1/places?q=roma"), 403, "forbidden", f"{who}: places")
        anon = Client(srv)
        for path in [f"/api/v1/names/{n}" for n in NAMES] + ["/api/v1/places?q=roma"]:
            expect(anon.get(path), 401, "unauthenticated", f"no session: {path}")

        for who, c in (("operator", op), ("admin", admin)):
            rome = [x for x in places(c, "roma", "comune") if x["code"] == "058091"]
            eq(rome, [{"kind": "comune", "code": "058091", "name": "ROMA", "province": "RM",
                       "current": True, "valid_from": "1884-09-11", "valid_to": None}],
               f"{who}: Rome once, over all its periods")
        got = places(op, "abano")
        eq([(x["name"], x["current"]) for x in got], [("ABANO", False), ("ABANO TERME", True)],
           "the name itself first (suppressed), then the names starting with it")
        eq((got[0]["valid_from"], got[0]["valid_to"]), ("1866-11-19", "1924-11-13"),
           "the suppressed one's period")
        eq([(x["kind"], x["name"]) for x in places(op, "028001")],
           [("comune", "ABANO TERME"), ("comune", "ABANO")], "by ISTAT code")
        typed = places(op, "reggio nell'emilia", "comune")
        check(any(x["code"] == "035033" for x in typed), f"Reggio nell'Emilia: {typed}")
        eq(typed, places(op, "REGGIONELLEMILIA", "comune"), "spaces, apostrophes and case do not count")
        st = places(op, "eswatini", "stato")
        eq([(x["kind"], x["code"], x["name"], x["province"]) for x in st],
           [("stato", "456", "ESWATINI", "")], "a state by today's name")
        eq(places(op, "swaziland", "stato"), [], "not by its 2018 name")
        eq(places(op, "456", "comune"), [], "kind comune: no state")
        check(all(x["kind"] == "stato" for x in places(op, "ital", "stato")), "kind stato: states only")
        check(len(places(op, "san")) == 20, "at most 20")
        for bad in ("r", "x" * 101, "--", ""):
            expect(op.get("/api/v1/places?" + urllib.parse.urlencode({"q": bad})), 400,
                   "invalid_request", f"q {bad!r}")
        expect(op.get("/api/v1/places?q=roma&kind=city"), 400, "invalid_request", "a bad kind")


if __name__ == "__main__":
    run_tests(globals())
