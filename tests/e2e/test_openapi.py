#!/usr/bin/env python3
"""End-to-end: the API contract (docs/openapi.yaml).

- The route table (src/api/routes.c) and the contract name the same
  operations, both ways: a route without a contract, or a documented
  operation that does not exist, fails.
- The contract holds together: unique operationIds, every path parameter
  declared, every $ref resolves, every operation answers errors in the
  one error shape.
- The server serves, at /api/v1/openapi.json, exactly the contract it was
  built from, to anyone.
- The check every suite runs on every answer (tests/e2e/contract.py) does
  refuse answers that break the contract.
The lint (Redocly) is tests/api/lint.sh, a ctest of its own."""
import json
import re

import yaml

import contract
import harness
from harness import *  # noqa: F401,F403

def route_table():
    """(METHOD, template in OpenAPI form, flags) of every route."""
    out = []
    for method, path, flags in contract.route_table():
        path = re.sub(r":(\w+)", r"{\1}", path)
        if path.endswith("/*"):
            path = path[:-1] + "{file}"
        out.append((method, path, flags))
    check(len(out) > 50, f"route table parsed: only {len(out)} routes")
    return out


def test_routes_and_contract_match():
    doc = contract.contract().doc
    documented = {(m.upper(), p) for p, item in doc["paths"].items()
                  for m in item if m in contract.METHODS}
    routes = {(m, p) for m, p, _ in route_table()}
    missing = sorted(routes - documented)
    extra = sorted(documented - routes)
    check(not missing, f"routes without a contract in docs/openapi.yaml: {missing}")
    check(not extra, f"documented operations the server does not have: {extra}")


def test_public_routes_say_so():
    doc = contract.contract().doc
    for method, path, flags in route_table():
        op = doc["paths"][path][method.lower()]
        public = "ROUTE_PUBLIC" in flags
        declared_public = op.get("security") == []
        check(public == declared_public,
              f"{method} {path}: the route is {'public' if public else 'authenticated'} "
              f"but the contract says {'no security' if declared_public else 'security'}")


def resolve(doc, ref):
    node = doc
    for part in ref.lstrip("#/").split("/"):
        check(isinstance(node, dict) and part in node, f"$ref {ref} does not resolve")
        node = node[part]
    return node


def walk(node, fn):
    if isinstance(node, dict):
        fn(node)
        for v in node.values():
            walk(v, fn)
    elif isinstance(node, list):
        for v in node:
            walk(v, fn)


def test_contract_holds_together():
    doc = contract.contract().doc
    walk(doc, lambda n: resolve(doc, n["$ref"]) if isinstance(n.get("$ref"), str) else None)
    ids = []
    for path, item in doc["paths"].items():
        names = set(re.findall(r"\{(\w+)\}", path))
        for method, op in item.items():
            if method not in contract.METHODS:
                continue
            check("operationId" in op, f"{method} {path}: no operationId")
            ids.append(op["operationId"])
            declared = set()
            for p in op.get("parameters", []):
                p = resolve(doc, p["$ref"]) if "$ref" in p else p
                if p["in"] == "path":
                    declared.add(p["name"])
            check(names == declared, f"{method} {path}: path parameters {sorted(names)} "
                                     f"declared {sorted(declared)}")
            responses = op.get("responses", {})
            check(responses, f"{method} {path}: no responses")
            errors = [k for k in responses if k.startswith(("4", "5"))]
            check(errors or path in ("/", "/static/print.css", "/api/v1/openapi.json"),
                  f"{method} {path}: no error answer documented")
    dup = sorted({i for i in ids if ids.count(i) > 1})
    check(not dup, f"operationIds used twice: {dup}")


def test_served_contract_is_the_source():
    with open(contract.SPEC_PATH, encoding="utf-8") as f:
        want = yaml.safe_load(f)
    with Server() as srv:
        r = srv.request("GET", "/api/v1/openapi.json")
        expect(r, 200, what="the contract, without logging in")
        eq(r.header("Content-Type").split(";")[0], "application/json", "content type")
        eq(r.json, want, "served contract")
        h = srv.request("HEAD", "/api/v1/openapi.json")
        eq((h.status, h.body), (200, b""), "HEAD")


def test_the_check_refuses_what_breaks_the_contract():
    c = contract.contract()
    good_error = {"error": {"code": "not_found", "message": "nessun dato",
                            "request_id": "0123456789abcdef"}}
    eq(c.problems("GET", "/api/v1/persons/RSSMRA80A01F257G?purpose=1", 404,
                  "application/json", good_error, True), [], "a good error")
    person = {"person": {"identity": {"codice_fiscale": "RSSMRA80A01F257G", "surname": "ROSSI",
                                      "name": "MARIO", "sex": "M", "birth_date": "1980-01-01",
                                      "birth_place": {"code": "036023", "name": "MODENA"}}},
              "as_of": None, "access_id": 7, "purpose": {"id": 1, "code": "CDS"}}
    eq(c.problems("GET", "/api/v1/persons/RSSMRA80A01F257G", 200, "application/json",
                  person, True), [], "a good answer")
    cases = [
        ("a field outside every profile group",
         dict(person, person=dict(person["person"], secret="x")), 200),
        ("an answer with personal data and no access record",
         {k: v for k, v in person.items() if k != "access_id"}, 200),
        ("an error without its request id",
         {"error": {"code": "not_found", "message": "x"}}, 404),
        ("an error with internal details",
         {"error": dict(good_error["error"], sql="SELECT")}, 500),
        ("a date in another format",
         dict(person, as_of="02/12/2026"), 200),
    ]
    for what, body, status in cases:
        check(c.problems("GET", "/api/v1/persons/RSSMRA80A01F257G", status,
                         "application/json", body, True), f"not refused: {what}")
    check(c.problems("GET", "/api/v1/no-such-route", 200, "application/json", {}, True),
          "a 200 on an unknown route")
    check(c.problems("POST", "/api/v1/auth/logout", 201, "application/json",
                     {"logged_out": True}, True), "a status the contract does not list")
    check(c.problems("GET", "/api/v1/stats/tables", 200, "text/plain", None, True),
          "a content type the contract does not list")


if __name__ == "__main__":
    harness.run_tests(globals())
