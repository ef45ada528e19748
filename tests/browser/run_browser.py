#!/usr/bin/env python3
"""Browser tests of the visura UI: `python3 tests/browser/run_browser.py PATH/TO/visura`.

Starts a real `visura serve` (tests/e2e/harness.py) with a small population
and the UI of web/dist (`--ui-dir`), logging in with SPID/CIE through a
real OpenID provider of its own (tests/oidc, as tests/e2e/test_spid.py
runs it: its login page asks the identity), prepares bodies, agreements, accounts,
a service notice and one consultation through the API, writes them with the
persons to look for (their household and versions as generated) to a JSON
fixture and runs
`node tests/browser/suite.mjs FIXTURE` (headless Debian Chromium through
playwright-core).  Exit status: node's (1 when the setup fails).

Options: --ui-dir DIR (default web/dist).  Environment:
VISURA_BROWSER_ARTIFACTS (default build/browser-artifacts): screenshots
(screens/: every screen visited; *.png: failed steps) and downloads, renewed
at each run; VISURA_BROWSER_FLOWS=flowLead,flowAdmin runs only those flows;
VISURA_E2E_KEEP=1 keeps the server's directory (database, log).

Needs /usr/bin/chromium, web/node_modules (npm ci in web/) and a built UI:
a missing piece is a failure, never a skip.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import harness  # noqa: E402
import test_spid  # noqa: E402
from harness import Client, Server, check, expect, new_cf, new_password  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FULL_PROFILE = ["identity", "residence", "family", "parentage", "citizenship",
                "civil_status", "vital_status", "history"]
VERIFY_PROFILE = ["identity", "residence", "family", "parentage", "citizenship",
                  "civil_status", "vital_status"]


def prerequisites(visura, ui_dir):
    """What is missing to run the browser tests, as messages."""
    missing = [] if os.access(visura, os.X_OK) else [f"{visura} (build visura)"]
    if not shutil.which("node"):
        missing.append("node (Node.js 20)")
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    for pkg in ("playwright-core", "axe-core"):
        if not os.path.isfile(os.path.join(REPO, "web", "node_modules", pkg, "package.json")):
            missing.append(f"web/node_modules/{pkg} (cd web && npm ci)")
    if not os.path.isfile(os.path.join(ui_dir, "index.html")):
        missing.append(f"{ui_dir}/index.html (the UI is not built)")
    return missing


def pick_persons(pop, n=3):
    """n persons of the snapshot still registered (alive and resident) in the
    latest version, whose surname + name + birth date is unique (a name
    search finds exactly them), from the municipalities in turn."""
    latest = pop.current_persons()
    key = lambda p: (p["surname"], p["name"], p["birth_date"])
    seen = {}
    for p in latest:
        seen[key(p)] = seen.get(key(p), 0) + 1
    by_comune = {}
    for s in pop.snapshot:
        p = pop.person(s["cf"])
        if (not p["canc_reason"] and p["cf"] == s["cf"] and seen[key(p)] == 1
                and p["family_id"]):
            by_comune.setdefault(p["comune"], []).append(p)
    comuni = sorted(by_comune)
    out = []
    for i in range(n):
        lst = by_comune[comuni[i % len(comuni)]]
        out.append(lst[i // len(comuni)])
    return [dict({k: p[k] for k in ("cf", "surname", "name", "sex", "birth_date", "birth_place",
                                    "comune", "family_id")},
                 # the household's registered members and the person's versions,
                 # as the register holds them (the screens must show the same)
                 household=pop.members(p["comune"], p["family_id"]),
                 versions=len(pop.persons[pop.by_cf[p["cf"]]]))
            for p in out]


def account(client):
    """Fixture entry of a logged-in harness Client (password already personal)."""
    a = client.account
    return {"id": a["id"], "username": a["username"], "password": client.password,
            "role": a["role"], "ente_id": a.get("ente_id"), "full_name": a.get("full_name"),
            "email": a.get("email"), "expires_at": a.get("expires_at")}


def cf_of(acc):
    """An account's codice fiscale (the API may give it as an object)."""
    cf = acc["codice_fiscale"]
    return cf["value"] if isinstance(cf, dict) else cf


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


LONG_TRAIL = 5000  # records of one body: a hundred pages of the trail (50 a page)
CITIZEN_TRAIL = 119  # of which consultations of the citizen who asks who it was


def long_trail_fixture(srv, pop, current, persons):
    """A body of its own whose operator made LONG_TRAIL - 1 consultations
    (CITIZEN_TRAIL of one citizen, the rest of another person) and looked
    up one household of four or more: the trail screen pages through its
    records (filtered by body) and shows the household's codici fiscali as
    a count.  None of the flows' persons is involved."""
    picked = {c for p in persons for c in [p["cf"], *p["household"]]}
    households = {}
    for p in current:
        if p["family_id"]:
            households.setdefault((p["comune"], p["family_id"]), []).append(p)
    big = next(ms for ms in sorted(households.values(), key=len, reverse=True)
               if len(ms) >= 4 and not picked & {m["cf"] for m in ms})
    # two persons whose records name no parent: a consultation of one
    # never names the other (the trail names the parents an answer shows)
    others = (p for p in current if p["cf"] not in picked and p not in big
              and not (p["father"] or p["mother"]))
    who, busy = next(others), next(others)
    ente = srv.create_ente(name="Ufficio Tributi di Prova", hours="always", kind="tax")
    conv = srv.create_agreement(ente["id"], FULL_PROFILE, purpose_code="T1")
    password = new_password()
    op = srv.user("operator", ente["id"], password=password)
    # three sessions of the operator (max_sessions), each consulting in its
    # own thread: real consultations, each with its durable record
    clients = [op]
    for _ in range(2):
        c = Client(srv)
        expect(c.login(op.account["username"], password), 200, what="another session")
        clients.append(c)
    failures = []

    def consult(c, ks):
        try:
            for k in ks:
                cf = who["cf"] if k < CITIZEN_TRAIL else busy["cf"]
                expect(c.get(f"/api/v1/persons/{cf}?purpose={conv['purpose_id']}"
                             f"&case_ref=TRIB-{k:04d}"), 200,
                       what="a consultation of the long trail")
        except Exception as e:   # noqa: BLE001 — reported after the join
            failures.append(e)
    t0 = time.monotonic()
    threads = [threading.Thread(target=consult, args=(c, range(i, LONG_TRAIL - 1, len(clients))))
               for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not failures, f"the long trail's consultations: {failures[:1]}")
    print(f"long trail: {LONG_TRAIL - 1} consultations in {time.monotonic() - t0:.1f} s", flush=True)
    expect(op.get(f"/api/v1/persons/{big[0]['cf']}/household?purpose={conv['purpose_id']}"
                  "&case_ref=TRIB-FAM"), 200, what="a household look-up")
    return {"ente_id": ente["id"], "ente_name": ente["name"], "records": LONG_TRAIL,
            "household_size": len(big),
            "household_cf": big[0]["cf"], "household": sorted(m["cf"] for m in big),
            "operator": op.account["username"], "operator_name": op.account["full_name"],
            # consulted so often, this citizen asks who it was (flowCitizen)
            "citizen_cf": who["cf"], "citizen_records": CITIZEN_TRAIL}


def prepare(srv):
    """Creates the fixtures through the API; returns the fixture dict."""
    srv.admin()   # the first admin gets a personal password (srv.admin_password)
    ente = srv.create_ente(name="Polizia Locale di Prova", hours="always", kind="police")
    conv = srv.create_agreement(ente["id"], FULL_PROFILE)
    ente_v = srv.create_ente(name="Istituto di Verifica", hours="always", kind="pension")
    conv_v = srv.create_agreement(ente_v["id"], VERIFY_PROFILE, mode="verify_only",
                                  purpose_code="V1")
    # a bulletin archived before migration 21, as an upgrade leaves it:
    # protected under an earlier rule (regola 0), withdrawn, never served
    harness.db_exec(srv.db, ("INSERT INTO bollettino (comune, mese, generated_at, sha256, html,"
                             " pdf, regola) VALUES (?, ?, ?, ?, ?, ?, 0)",
                             ("036023", 202511, srv.now(), "0" * 64, "<p>regola precedente</p>",
                              "JVBERi0=")))
    users = {
        "lead": srv.user("lead", ente["id"], password=new_password()),
        "operator": srv.user("operator", ente["id"], password=new_password()),
        # auditors belong to no body (docs/api.md: ente_id for lead/operator/api)
        "auditor": srv.user("auditor", None, password=new_password()),
        "verify_operator": srv.user("operator", ente_v["id"], password=new_password()),
    }
    fresh, temp = srv.create_account("operator", ente["id"])
    # the SPID/CIE flow logs this one in through the provider's page
    users["spid_operator"] = srv.user("operator", ente["id"], password=new_password())
    # the sessions flow logs this one in twice and ends its sessions
    users["session_user"] = srv.user("auditor", None, password=new_password())
    # the lead flow disables this one (no other flow uses it)
    users["operator_to_disable"] = srv.user("operator", ente["id"], password=new_password())
    # a second body whose lead reports an incident that the admin flow
    # handles by suspending the body (the first body stays usable)
    ente_i = srv.create_ente(name="Azienda Sanitaria di Prova", hours="always", kind="health")
    users["lead_incident"] = srv.user("lead", ente_i["id"], password=new_password())
    # the scheduled-interruption notice the login page must show
    now = srv.now()
    notice = {"title": "Manutenzione programmata del servizio",
              "body": "Il servizio sarà sospeso per aggiornamento dei sistemi.",
              "starts_at": iso(now - 3600), "ends_at": iso(now + 6 * 3600)}
    expect(srv.admin().post("/api/v1/notices", notice), 201, what="create notice")
    pop = srv.population
    current = [p for p in pop.current_persons() if not p["canc_reason"]]
    persons = pick_persons(pop)
    # the birth place as the verification form's picker offers it
    for p in persons:
        places = expect(srv.admin().get(f"/api/v1/places?q={p['birth_place']}"), 200,
                        what="the birth place by code")["places"]
        check(places, f"birth place {p['birth_place']} unknown to the reference data")
        b = places[0]
        p["birth_place_name"] = b["name"]
        p["birth_place_label"] = b["name"] if b["kind"] == "stato" else f"{b['name']} ({b['province']})"
    # one consultation already in the access trail (the auditor flow has
    # something to show even when run alone)
    expect(users["operator"].get(f"/api/v1/persons?purpose={conv['purpose_id']}"
                                 f"&case_ref=FIXTURE-1&cf={persons[0]['cf']}"),
           200, what="fixture consultation")
    long_trail = long_trail_fixture(srv, pop, current, persons)
    return {
        "long_trail": long_trail,
        "baseURL": f"https://127.0.0.1:{srv.port}",
        # the server's self-signed certificate: Chromium trusts its key (lib.mjs)
        "cert": srv.cert,
        "admin": {"id": srv.admin_id, "username": srv.admin_user, "password": srv.admin_password,
                  "role": "admin", "ente_id": None},
        **{k: account(c) for k, c in users.items()},
        # the identity the SPID/CIE operator types at the provider
        "spid_operator_cf": cf_of(users["spid_operator"].account),
        # never logged in: the first login must force a password change
        "fresh_operator": {"id": fresh["id"], "username": fresh["username"],
                           "temp_password": temp, "role": "operator",
                           "ente_id": ente["id"], "new_password": new_password()},
        "ente": ente,
        "agreement": conv,
        "purpose_id": conv["purpose_id"],
        "purpose_label": "P1 — test purpose",   # harness.create_agreement's purpose
        "ente_verify": ente_v,
        "agreement_verify": conv_v,
        "purpose_id_verify": conv_v["purpose_id"],
        "ente_incident": ente_i,
        "notice": notice,
        # what the lead asks for in the form (a new, valid codice fiscale)
        "operator_request": {"full_name": "Giulia Richiesta", "codice_fiscale": new_cf(),
                             "email": "giulia.richiesta@example.org",
                             "username": srv.unique("richiesta."),
                             "appointment_ref": "Decreto di nomina n. 12/2026"},
        # an account the admin creates in the form (no SMTP relay: its
        # temporary password is shown once)
        "temp_account": {"full_name": "Paolo Consegna", "codice_fiscale": new_cf(),
                         "email": "paolo.consegna@example.org",
                         "username": srv.unique("consegna.")},
        "comuni": ["036023", "036005"],
        "persons": persons,
        "population_total": len(current),
        # residents by municipality today, from the files (the map's values)
        "population_by_comune": {c: sum(p["comune"] == c for p in current)
                                 for c in ("036023", "036005")},
        "imports": [os.path.basename(f) for f in pop.files()],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("visura", help="path of the visura binary")
    ap.add_argument("--ui-dir", default=os.path.join(REPO, "web", "dist"))
    args = ap.parse_args()
    ui_dir = os.path.abspath(args.ui_dir)
    missing = prerequisites(os.path.abspath(args.visura), ui_dir)
    if missing:
        print("FAIL browser tests cannot run, missing:\n  " + "\n  ".join(missing))
        return 1
    harness.VISURA = os.path.abspath(args.visura)
    os.environ.setdefault("VISURA_DATA_DIR", os.path.join(REPO, "data"))
    artifacts = os.environ.setdefault("VISURA_BROWSER_ARTIFACTS",
                                      os.path.join(REPO, "build", "browser-artifacts"))
    os.makedirs(artifacts, exist_ok=True)
    # this run's screenshots and downloads only
    for sub in ("screens", "downloads"):
        shutil.rmtree(os.path.join(artifacts, sub), ignore_errors=True)
    for name in os.listdir(artifacts):
        if name.endswith(".png"):
            os.remove(os.path.join(artifacts, name))

    # to 31 December: a month the register covers whole (statistics publish
    # only whole periods; the screen shows the last complete month)
    pop = dict(persons=2000, comuni="036023,036005", seed=7, days=3, date="2025-12-28")
    srv = Server(population=pop, ui_dir=ui_dir, print_heading="Comune di Valdoria")
    op_port, op_key = test_spid.provider_options(srv)
    with srv, tempfile.TemporaryDirectory(prefix="visura-browser-") as tmp:
        # the provider sends the browser back to this server: its port known, once started
        redirect = f"https://127.0.0.1:{srv.port}/api/v1/auth/spid/callback"
        srv.options["oidc_redirect_uri"] = redirect
        srv.restart()
        op = test_spid.provider_start(srv, op_port, op_key, redirect)
        try:
            rc = run_suite(srv, tmp)
        finally:
            op.stop()
    # leaving the with block stopped the server and checked its log
    print(f"browser artifacts: {artifacts}")
    return rc


def run_suite(srv, tmp):
    """The fixture prepared on srv, then the flows: node's exit status."""
    fixture = prepare(srv)
    path = os.path.join(tmp, "fixture.json")
    with open(path, "w") as f:
        json.dump(fixture, f, indent=1)
    sys.stdout.flush()
    # node writes straight to our stdout/stderr: its output streams.
    return subprocess.run(["node", os.path.join(HERE, "suite.mjs"), path]).returncode


if __name__ == "__main__":
    try:
        sys.exit(main())
    except harness.TestFailure as e:
        print(f"FAIL browser test setup: {e}")
        sys.exit(1)
