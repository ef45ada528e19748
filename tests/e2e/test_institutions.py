#!/usr/bin/env python3
"""End-to-end: event notifications to institutions (pull feed with a
cursor), scheduled-interruption notices, and the yearly review of
agreements with revocation."""
import csv
import json
import os
import re
import subprocess

import contract
import harness
from harness import *  # noqa: F401,F403

POP = {"persons": 3000, "comuni": "036023", "seed": 9, "days": 12}


OP_PASSWORD = [None]
OP_NAMES = {}


def feed_client(srv, ente_id, types, profile=("identity",)):
    conv = srv.create_agreement(ente_id, list(profile), comuni=("036023",), event_types=list(types))
    op = srv.user("operator", ente_id)
    OP_PASSWORD[0] = op.password
    OP_NAMES[ente_id] = op.account["username"]
    return conv, op


def op_name(srv, ente):
    return OP_NAMES[ente["id"]]


def test_event_feed_in_order_and_within_subscription():
    with Server(population=POP) as srv:
        ente = srv.create_ente(kind="health")
        types = ["DECESSO", "EMIGRAZIONE", "CAMBIO_INDIRIZZO"]
        conv, op = feed_client(srv, ente["id"], types)
        expected = [e for e in srv.population.events if e["type"] in types]
        check(len(expected) >= 3, f"the deltas hold subscribed events ({len(expected)})")
        got, after = [], 0
        for _ in range(100):
            before = srv.access_last_id()
            r = expect(op.get(f"/api/v1/events?purpose={conv['purpose_id']}&after={after}&limit=7"), 200)
            eq([x["query"] for x in srv.access_log(before)], [f"after={after} limit=7"],
               "the record keeps the feed's parameters")
            if not r["events"]:
                break
            cursors = [e["cursor"] for e in r["events"]]
            eq(cursors, sorted(cursors), "in order")
            check(all(c > after for c in cursors), "after the cursor")
            got += r["events"]
            after = r["next_after"]
        eq(len(got), len(expected), "every subscribed event, once, across pages")
        check(all(e["type"] in types for e in got), "only subscribed types")
        check(all("codice_fiscale" in e for e in got if e["type"] == "DECESSO"), "who, with identity")
        # The same cursor again: the same events (at least once).
        again = expect(op.get(f"/api/v1/events?purpose={conv['purpose_id']}&after=0&limit=7"), 200)
        eq([e["cursor"] for e in again["events"]], [e["cursor"] for e in got[:7]], "replayable")
        recs = [r for r in srv.access_log() if r["operation"] == "events" and r["outcome"] == "ok"]
        check(recs and any(r["subjects"] for r in recs), "each delivery is in the access trail")
        # No subscription, no feed; bad parameters refused.
        conv2 = srv.create_agreement(ente["id"], ["identity"], comuni=("036023",), purpose_code="P2")
        expect(op.get(f"/api/v1/events?purpose={conv2['purpose_id']}"), 403, "not_subscribed")
        expect(op.get(f"/api/v1/events?purpose={conv['purpose_id']}&after=-1"), 400, "invalid_request")
        expect(op.get(f"/api/v1/events?purpose={conv['purpose_id']}&limit=5000"), 400, "invalid_request")
        # digits only: strtol alone took these for 5 and 1
        for bad in ("limit=5abc", "limit=%205", "limit=%2B5", "after=%2B1", "after=1x"):
            expect(op.get(f"/api/v1/events?purpose={conv['purpose_id']}&{bad}"), 400,
                   "invalid_request", bad)
        expect(srv.admin().post("/api/v1/convenzioni", {
            "ente_id": ente["id"], "reference": "x", "comuni": ["036023"], "valid_from": "2020-01-01",
            "profile": ["identity"], "event_types": ["NOZZE"]}), 400, "invalid_request")


def test_notices():
    with Server() as srv:
        a = srv.admin()
        now = srv.now()
        def ts(t):
            return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        expect(a.post("/api/v1/notices", {"title": "Manutenzione", "body": "Servizio sospeso",
                                          "starts_at": ts(now - 60), "ends_at": ts(now + 3600)}), 201)
        expect(a.post("/api/v1/notices", {"title": "x", "body": "y", "starts_at": ts(now),
                                          "ends_at": ts(now - 1)}), 400, "invalid_request")
        pub = expect(srv.request("GET", "/api/v1/notices"), 200).json["notices"]
        check(pub and pub[0]["current"] and pub[0]["title"] == "Manutenzione",
              "shown to anyone before login")
        notices_corrected_and_withdrawn(srv, a, now, ts)
        # Notices ended since, however many, never hide one still current:
        # the old list took the newest 100 notices, then dropped the ended.
        for i in range(100):
            expect(a.post("/api/v1/notices", {"title": f"Passato {i}", "body": "y",
                                              "starts_at": ts(now - 7200),
                                              "ends_at": ts(now - 3600)}), 201)
        pub = expect(srv.request("GET", "/api/v1/notices"), 200).json
        eq([(x["title"], x["current"]) for x in pub["notices"]], [("Manutenzione", True)],
           "the current notice, behind 100 ended ones")
        eq(pub["more"], False, "nothing else")
        for i in range(100):   # upcoming: listed after the current one, the soonest first
            expect(a.post("/api/v1/notices", {"title": f"Futuro {i}", "body": "y",
                                              "starts_at": ts(now + 86400 - i),
                                              "ends_at": ts(now + 90000)}), 201)
        pub = expect(srv.request("GET", "/api/v1/notices"), 200).json
        eq([x["title"] for x in pub["notices"][:3]], ["Manutenzione", "Futuro 99", "Futuro 98"],
           "current first, then the soonest to start")
        eq((len(pub["notices"]), pub["more"]), (100, True), "100 listed, and more said")
        srv.advance(100000)
        eq(expect(srv.request("GET", "/api/v1/notices"), 200).json["notices"], [], "past notices go")


def notices_corrected_and_withdrawn(srv, a, now, ts):
    """An admin's notice corrected (PATCH) or withdrawn (DELETE): the public
    list shows it at once; refused for anyone else, an unknown id, a bad
    field, a notice already ended; each change a security event naming the
    notice.  Before, a notice could be neither: a wrong one stayed public
    until it ended."""
    def public():
        return {x["id"]: x for x in expect(srv.request("GET", "/api/v1/notices"), 200).json["notices"]}
    mid = next(x["id"] for x in public().values() if x["title"] == "Manutenzione")
    up = expect(a.post("/api/v1/notices", {"title": "Aggiornamento", "body": "Di notte",
                                           "starts_at": ts(now + 7200),
                                           "ends_at": ts(now + 10800)}), 201).json["id"]
    ended = expect(a.post("/api/v1/notices", {"title": "Concluso", "body": "Ieri",
                                              "starts_at": ts(now - 7200),
                                              "ends_at": ts(now - 3600)}), 201).json["id"]
    # corrected: only the fields sent change, the public list at once
    got = expect(a.patch(f"/api/v1/notices/{mid}", {"body": "Servizio sospeso fino alle 12"}),
                 200).json
    eq((got["id"], got["title"], got["body"], got["current"], got["withdrawn_at"]),
       (mid, "Manutenzione", "Servizio sospeso fino alle 12", True, None),
       "the body corrected, not withdrawn")
    got = expect(a.patch(f"/api/v1/notices/{mid}", {"title": "Manutenzione straordinaria",
                                                   "ends_at": ts(now + 5400)}), 200).json
    eq(public()[mid], got, "the public list shows the corrected notice")
    eq((got["title"], got["body"], got["starts_at"], got["ends_at"]),
       ("Manutenzione straordinaria", "Servizio sospeso fino alle 12", ts(now - 60),
        ts(now + 5400)), "title and end corrected, the rest kept")
    # refused, and nothing changed
    auditor = srv.user("auditor", None)
    expect(auditor.patch(f"/api/v1/notices/{mid}", {"title": "x"}), 403, "forbidden", "not admin")
    expect(auditor.delete(f"/api/v1/notices/{mid}"), 403, "forbidden", "not admin")
    expect(a.patch("/api/v1/notices/999999", {"title": "x"}), 404, "not_found", "unknown id")
    expect(a.delete("/api/v1/notices/999999"), 404, "not_found", "unknown id")
    expect(a.delete("/api/v1/notices/abc"), 404, "not_found", "not an id")
    for bad, why in (({"starts_at": "2026-12-06 10:00"}, "not AAAA-MM-GGTHH:MM:SSZ"),
                     ({"ends_at": "2026-13-01T00:00:00Z"}, "no such month"),
                     ({"ends_at": ts(now - 120)}, "the end before the start"),
                     ({"starts_at": ts(now + 6000)}, "the start after the end"),
                     ({"ends_at": ts(now - 30)}, "an end already past (a withdrawal)"),
                     ({"titolo": "x"}, "a field a notice has not"),
                     ({"title": "x", "id": 5}, "the id is not a field to correct"),
                     ({"title": ""}, "an empty title"),
                     ({"title": "x" * 201}, "a title over 200 bytes"),
                     ({"body": None}, "a null body"),
                     ({"ends_at": 1767225600}, "a number for a time"),
                     ({}, "nothing to correct")):
        r = expect(a.patch(f"/api/v1/notices/{mid}", bad), 400, "invalid_request", why)
        check(not english_message(r), f"{why}: an Italian message: {r.json}")
    for raw, why in ((b"{\"title\": ", "malformed JSON"), (b"[1]", "not an object")):
        r = a.request("PATCH", f"/api/v1/notices/{mid}", raw=raw)
        check(r.status == 400 and r.code in ("invalid_json", "invalid_request"),
              f"{why}: refused 400, got {r.status} {r.body[:200]!r}")
    eq(public()[mid], got, "the refused corrections changed nothing")
    # an ended notice is not corrected nor withdrawn: 409
    for r in (a.patch(f"/api/v1/notices/{ended}", {"title": "Concluso ieri"}),
              a.delete(f"/api/v1/notices/{ended}")):
        r = expect(r, 409, "notice_ended", "a notice already ended")
        check(not english_message(r), f"an Italian message: {r.json}")
    # withdrawn: gone from the public list at once, the other kept; the
    # notice keeps the times it announced (before, its end was made the
    # withdrawal's time, and the end announced lost from the record)
    check(up in public(), "the upcoming notice is listed")
    eq(public()[up]["withdrawn_at"], None, "a live notice is not withdrawn")
    t0 = srv.now()
    w = expect(a.delete(f"/api/v1/notices/{up}"), 200).json
    eq((w["id"], w["title"], w["starts_at"], w["ends_at"], w["current"]),
       (up, "Aggiornamento", ts(now + 7200), ts(now + 10800), False),
       "withdrawn, its announced times kept")
    gone_at = parse_time(w["withdrawn_at"]) if w.get("withdrawn_at") else None
    check(gone_at is not None and t0 <= gone_at <= srv.now(),
          f"withdrawn_at is the withdrawal's time: {w}")
    eq(sorted(public()), [mid], "gone from the public list at once, the other kept")
    for r in (a.delete(f"/api/v1/notices/{up}"), a.patch(f"/api/v1/notices/{up}", {"title": "y"})):
        expect(r, 409, "notice_ended", "a notice withdrawn is over")
    # the row is kept (an honest record): what it announced, and when it
    # was withdrawn
    row = db_query(srv.db, "SELECT * FROM notice WHERE id = ?", (up,))
    eq([(x["title"], int(x["starts_at"]), int(x["ends_at"]), int(x.get("withdrawn_at") or 0))
        for x in row], [("Aggiornamento", now + 7200, now + 10800, gone_at)],
       "the withdrawn notice kept with its announced end and its withdrawal")
    # each change and the withdrawal a security event naming the notice
    changed = [e for e in srv.events("notice_changed")]
    eq(len(changed), 2, f"two corrections recorded: {changed}")
    me = expect(a.get("/api/v1/auth/me"), 200).json["username"]
    check(all(e["username"] == me and f"avviso n. {mid} " in e["detail"]
              for e in changed), f"each names the admin and the notice: {changed}")
    check("Manutenzione straordinaria" in changed[0]["detail"] and
          "titolo" in changed[0]["detail"] and "fine" in changed[0]["detail"],
          f"the newest names what was corrected: {changed[0]}")
    gone = srv.events("notice_withdrawn")
    eq(len(gone), 1, f"one withdrawal recorded: {gone}")
    check(f"avviso n. {up} " in gone[0]["detail"] and "Aggiornamento" in gone[0]["detail"]
          and ts(now + 10800) in gone[0]["detail"],
          f"the withdrawal names the notice and the end it had: {gone[0]}")
    # the withdrawn notice no longer counts among the live ones below; a
    # current one withdrawn leaves the list at once too, its end kept
    w = expect(a.delete(f"/api/v1/notices/{mid}"), 200).json
    eq((w["ends_at"], w["current"]), (ts(now + 5400), False), "withdrawn while current")
    eq(public(), {}, "both withdrawn")
    for r in (a.delete(f"/api/v1/notices/{mid}"), a.patch(f"/api/v1/notices/{mid}", {"body": "y"})):
        expect(r, 409, "notice_ended", "a current notice withdrawn is over")
    mid2 = expect(a.post("/api/v1/notices", {"title": "Manutenzione", "body": "Servizio sospeso",
                                             "starts_at": ts(now - 60),
                                             "ends_at": ts(now + 3600)}), 201).json["id"]
    check(mid2 not in (mid, up), "a new notice")


def test_yearly_review_and_revocation():
    with Server(population={"persons": 500, "comuni": "036023", "seed": 2}) as srv:
        ente = srv.create_ente()
        conv = srv.create_agreement(ente["id"], ["identity"], comuni=("036023",))
        op = srv.user("operator", ente["id"])
        idle, _ = srv.create_account("operator", ente["id"])
        cf = srv.population.snapshot[0]["cf"]
        expect(op.get(f"/api/v1/persons?purpose={conv['purpose_id']}&cf={cf}"), 200)
        srv.advance(200 * DAY)
        rep = expect(srv.admin().get(f"/api/v1/review?convenzione_id={conv['id']}"), 200).json
        ag = rep["agreements"][0]
        eq(ag["convenzione_id"], conv["id"], "the agreement")
        eq(sum(ag["accesses_last_year_by_purpose"].values()), 1, "accesses in the year")
        check(ag["unused_accounts"] >= 1, "unused accounts flagged")
        expect(srv.admin().post(f"/api/v1/review/{conv['id']}", {"decision": "maybe", "note": "x"}),
               400, "invalid_request")
        r = expect(srv.admin().post(f"/api/v1/review/{conv['id']}",
                                    {"decision": "revoke", "note": "no longer needed"}), 200).json
        eq(r["agreement_state"], "ended", "revoked")
        c = srv.client()
        expect(c.login(op.account["username"], op.password), 403, "account_disabled",
               "the body's accounts are cut off")



def test_review_decided_from_the_command_line():
    """`visura review decide` is POST /api/v1/review/ID: the same refusals,
    and a revocation cuts the body's accounts off the same way."""
    with Server() as srv:
        ente = srv.create_ente()
        conv = srv.create_agreement(ente["id"], ["identity"], comuni=("036023",))
        op = srv.user("operator", ente["id"])

        def decide(*args):
            return subprocess.run([harness.VISURA, "review", "decide", "--db", srv.db, *args],
                                  capture_output=True, text=True)
        p = decide("--convenzione", str(conv["id"]), "--decision", "maybe", "--note", "x")
        eq(p.returncode, 1, f"not a decision: {p.stderr}")
        p = decide("--convenzione", str(conv["id"] + 100), "--decision", "revoke", "--note", "x")
        eq(p.returncode, 1, f"no such agreement: {p.stderr}")
        p = decide("--convenzione", str(conv["id"]), "--decision", "revoke")
        eq(p.returncode, 2, "the note is required")
        p = decide("--convenzione", str(conv["id"]), "--decision", "revoke", "--note", "cessata")
        eq(p.returncode, 0, f"revoked: {p.stderr}")
        got = expect(srv.admin().get(f"/api/v1/convenzioni/{conv['id']}"), 200).json
        eq(got["state"], "ended", "the agreement ended")
        c = srv.client()
        expect(c.login(op.account["username"], op.password), 403, "account_disabled",
               "the body's accounts are cut off")


def test_agreement_rules_shared_by_the_command_line():
    """`visura convenzione add` and POST /api/v1/convenzioni take the same
    defaults and rules (policy/convenzione); where they disagreed, the
    stricter one holds for both."""
    with Server() as srv:
        ente = srv.create_ente()
        base = ["convenzione", "add", "--db", srv.db, "--ente-id", str(ente["id"]),
                "--comuni", "036023", "--profile", "identity", "--valid-from", "2026-01-01",
                "--purpose-code", "P", "--purpose", "verifica", "--legal-basis", "art. 1"]

        def run(*args):
            return subprocess.run([harness.VISURA, *args], capture_output=True, text=True)
        p = run(*base, "--reference", "CLI-1")
        eq(p.returncode, 0, f"added: {p.stderr}")
        conv = [c for c in expect(srv.admin().get(f"/api/v1/convenzioni?ente_id={ente['id']}"),
                                  200).json["convenzioni"] if c["reference"] == "CLI-1"][0]
        eq((conv["max_results"], conv["per_minute"], conv["per_day"], conv["body_per_minute"],
            conv["body_per_day"], conv["purpose_per_minute"], conv["purpose_per_day"],
            conv["mode"], conv["state"]), (20, 30, 1000, 300, 20000, 300, 20000, "consult",
                                            "active"), "the defaults of the API")
        eq(conv["purposes"][0]["processing_ref"], "1", "entry 1 of the record of processing")
        ev = db_query(srv.db, "SELECT detail FROM security_event WHERE kind = 'agreement_created'")
        check(any(e["detail"] == "CLI-1" for e in ev), f"recorded as the API records it: {ev}")
        p = run(*base, "--reference", "CLI-2", "--max-results", "many")
        eq(p.returncode, 2, f"--max-results is a number: {p.stderr}")
        p = run(*base, "--reference", "")
        eq(p.returncode, 1, f"the reference is required: {p.stderr}")
        check('"reference"' in p.stderr, f"the API's reason: {p.stderr}")
        # an empty description: refused by the command line, and now by the API too
        expect(srv.admin().post(f"/api/v1/convenzioni/{conv['id']}/purposes",
                                {"code": "P2", "description": "", "legal_basis": "art. 1"}),
               400, "invalid_request", "a purpose without a description")


def pages(client, path, key, what):
    """Reads a list one record a page (limit=1) to its end: the ids, newest
    first, each page's own; the whole list (no limit) must be the same."""
    sep = "&" if "?" in path else "?"
    whole = [x["id"] for x in expect(client.get(path), 200, what=what).json[key]]
    check(len(whole) >= 2, f"{what}: at least two records to page ({len(whole)})")
    got, cursor = [], None
    while True:
        page = expect(client.get(f"{path}{sep}limit=1" + (f"&cursor={cursor}" if cursor else "")),
                      200, what=f"{what}, a page").json
        eq(len(page[key]), 1, f"{what}: one record a page")
        got.append(page[key][0]["id"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
        check(len(got) <= len(whole), f"{what}: more pages than records")
    eq(got, whole, f"{what}: the pages, one after the other, are the whole list")
    expect(client.get(f"{path}{sep}limit=0"), 400, "invalid_request", f"{what}: limit 0")
    expect(client.get(f"{path}{sep}cursor=x"), 400, "invalid_request", f"{what}: a bad cursor")


def test_lists_in_pages():
    """The lists that answered their newest 1,000 (or 500) records and said
    nothing of the rest come in pages ("Pages" in docs/api.md): the first
    page as before, and "next_cursor" when more follow.  Each is read one
    record a page here; the old server ignored limit and cursor."""
    with Server(population={"persons": 800, "comuni": "036023", "seed": 5}) as srv:
        admin = srv.admin()
        ente = srv.create_ente()
        conv = srv.create_agreement(ente["id"], ["identity"], comuni=("036023",))
        srv.create_agreement(ente["id"], ["identity"], comuni=("036023",))
        lead = srv.user("lead", ente["id"])
        for i in range(2):
            expect(lead.post("/api/v1/ente/operator-requests", {
                "full_name": f"Maria Rossi {'AB'[i]}", "codice_fiscale": harness.new_cf(),
                "email": f"maria.rossi{i}@example.org", "appointment_ref": f"prot. {i}/2026",
                "username": f"maria.rossi{i}"}), 201, what="an operator request")
            expect(lead.post("/api/v1/list-requests", {
                "purpose": conv["purpose_id"],
                "justification": f"elenco per la campagna vaccinale 2027, lotto {i}",
                "criteria": {"comune": "036023", "age_from": 65 + i, "age_to": 70, "sex": "F"}}),
                201, what="a list request")
            expect(lead.post("/api/v1/incidents", {
                "what": f"credenziali trovate su una postazione condivisa ({i})",
                "occurred_at": "2026-11-20 10:00", "accounts": ""}), 201, what="an incident")
        acc, _ = srv.create_account("api", ente["id"])
        for i in range(3):
            expect(admin.post(f"/api/v1/accounts/{acc['id']}/tokens", {"name": f"t{i}"}), 201)
        pages(admin, "/api/v1/operator-requests", "requests", "operator requests (office)")
        pages(lead, "/api/v1/ente/operator-requests", "requests", "operator requests (lead)")
        pages(lead, "/api/v1/list-requests", "requests", "list requests")
        pages(admin, f"/api/v1/accounts/{acc['id']}/tokens", "tokens", "tokens")
        pages(admin, "/api/v1/incidents", "incidents", "incidents (office)")
        pages(lead, "/api/v1/incidents", "incidents", "incidents (lead)")
        pages(admin, "/api/v1/outbox", "messages", "outbox")
        pages(admin, "/api/v1/security-events?kind=login_success", "events", "security events")
        pages(admin, "/api/v1/convenzioni", "convenzioni", "agreements (office)")
        pages(admin, f"/api/v1/convenzioni?ente_id={ente['id']}", "convenzioni",
              "a body's agreements (office)")
        pages(lead, "/api/v1/convenzioni", "convenzioni", "agreements (lead)")
        # a page's agreements are whole, as the list's and each one's own
        whole = expect(admin.get("/api/v1/convenzioni"), 200).json["convenzioni"]
        for i, c in enumerate(whole):
            check(c["purposes"], f"an agreement with its purposes: {c}")
            eq(c, expect(admin.get(f"/api/v1/convenzioni/{c['id']}"), 200).json, "as its own")
            if i + 1 < len(whole):
                page = expect(admin.get(f"/api/v1/convenzioni?limit={i + 1}"), 200).json
                eq(page["convenzioni"], whole[:i + 1], f"the first {i + 1}, whole")
                eq(page["next_cursor"], str(c["id"]), "the next page after the last")


def test_list_filters_that_do_not_fit_refused():
    """A list's filter that does not parse is refused, never left out: the
    old server read "ente_id=abc" as 0, which the store takes as "no
    filter" (every body's agreements, every agreement's review), ignored an
    unknown role or state (every account), and dropped the body when role
    and state were given too (every body's operators)."""
    with Server() as srv:
        admin = srv.admin()
        a, b = srv.create_ente(), srv.create_ente()
        srv.create_agreement(a["id"], ["identity"])
        srv.create_agreement(b["id"], ["identity"])
        srv.create_account("operator", a["id"])
        srv.create_account("operator", b["id"])
        for path in ("/api/v1/convenzioni?ente_id=", "/api/v1/accounts?ente_id=",
                     "/api/v1/review?convenzione_id=", "/api/v1/security-events?account_id=",
                     "/api/v1/alerts?ente_id="):
            for bad in ("abc", "0", "-1", "1x", "01", "", "9" * 19):
                r = expect(admin.get(path + bad), 400, "invalid_request", what=f"{path}{bad}")
                msg = r.json["error"]["message"]
                check(("è vuoto" if bad == "" else "identificativo") in msg, f"{path}{bad}: {msg}")
        for path in ("/api/v1/accounts?role=operatore", "/api/v1/accounts?state=attivo",
                     "/api/v1/accounts?role=", "/api/v1/operator-requests?state=aperta",
                     "/api/v1/alerts?state=aperte"):
            r = expect(admin.get(path), 400, "invalid_request", what=path)
            check(("è vuoto" if path.endswith("=") else "vale uno tra")
                  in r.json["error"]["message"], f"{path}: {r.json}")
        got = expect(admin.get(f"/api/v1/accounts?role=operator&state=active&ente_id={a['id']}"),
                     200, what="three filters")["accounts"]
        eq([x["ente_id"] for x in got], [a["id"]], "role, state and body all applied")
        got = expect(admin.get(f"/api/v1/convenzioni?ente_id={b['id']}"), 200)["convenzioni"]
        eq([x["ente_id"] for x in got], [b["id"]], "the body's agreements only")


def test_alerts_by_body():
    """The office reads one body's alerts with ente_id (among every body's);
    a lead reads only their own body's, and naming another is refused, not
    answered with their own as if it were the other's."""
    with Server() as srv:
        admin = srv.admin()
        a, b = srv.create_ente(), srv.create_ente()
        rows = [(f"INSERT INTO alert (at, rule, account_id, username, ente_id, severity, detail,"
                 f" state, reviewed_by, reviewed_at, note) VALUES (?, 'many_subjects', 0, 'x', ?,"
                 f" 'high', 'prova', 'open', 0, 0, '')", (1767225600 + i, e["id"]))
                for i, e in enumerate((a, b, a, b, a))]
        harness.db_exec(srv.db, *rows)
        got = expect(admin.get(f"/api/v1/alerts?ente_id={a['id']}"), 200)["alerts"]
        eq([x["ente_id"] for x in got], [a["id"]] * 3, "the office: one body's alerts")
        got = expect(admin.get("/api/v1/alerts"), 200)["alerts"]
        eq(len(got), 5, "the office: every body's without the filter")
        got = expect(admin.get(f"/api/v1/alerts?ente_id={b['id']}&state=open&limit=1"), 200).json
        eq([x["ente_id"] for x in got["alerts"]], [b["id"]], "with the state and a page")
        check(got.get("next_cursor"), "a next page")
        lead = srv.user("lead", a["id"])
        eq(len(expect(lead.get("/api/v1/alerts"), 200)["alerts"]), 3, "a lead: their own body's")
        eq(len(expect(lead.get(f"/api/v1/alerts?ente_id={a['id']}"), 200)["alerts"]), 3,
           "a lead naming their own body")
        expect(lead.get(f"/api/v1/alerts?ente_id={b['id']}"), 403, "forbidden",
               what="a lead naming another body")


def test_formal_list_request():
    with Server(population={"persons": 800, "comuni": "036023", "seed": 5}) as srv:
        ente = srv.create_ente()
        conv = srv.create_agreement(ente["id"], ["identity"], comuni=("036023",))
        lead = srv.user("lead", ente["id"])
        body = {"purpose": conv["purpose_id"], "justification": "elenco per la campagna vaccinale 2027",
                "criteria": {"comune": "036023", "age_from": 65, "age_to": 70, "sex": "F"}}
        expect(lead.post("/api/v1/list-requests", dict(body, justification="short")), 400)
        expect(lead.post("/api/v1/list-requests", dict(body, criteria={"comune": "036005"})), 400,
               what="a municipality outside the agreement")
        expect(lead.post("/api/v1/list-requests", dict(body, criteria={"comune": "036023",
                                                                       "street": "VIA ROMA"})), 400,
               what="unknown criteria")
        req = expect(lead.post("/api/v1/list-requests", body), 201).json
        eq(req["state"], "pending", "filed")
        out = os.path.join(srv.dir, "list.csv")
        p = subprocess.run([harness.VISURA, "list-extract", "--db", srv.db, "--out", out, str(req["id"])],
                           capture_output=True, text=True)
        eq(p.returncode, 1, "a pending request is not extracted")
        pending = expect(srv.admin().get("/api/v1/list-requests?state=pending"), 200)["requests"]
        eq([x["id"] for x in pending], [req["id"]], "listed as pending")
        expect(srv.admin().post(f"/api/v1/list-requests/{req['id']}/decide",
                                {"decision": "approve", "note": "ok"}), 200)
        eq(expect(srv.admin().get("/api/v1/list-requests?state=pending"), 200)["requests"], [],
           "no longer pending")
        eq([x["id"] for x in expect(lead.get("/api/v1/list-requests?state=approved"),
                                     200)["requests"]], [req["id"]], "the lead's, approved")
        expect(lead.get("/api/v1/list-requests?state=in_attesa"), 400, "invalid_request",
               what="a state that is not one")
        before = srv.access_last_id()
        p = subprocess.run([harness.VISURA, "list-extract", "--db", srv.db, "--out", out, str(req["id"])],
                           capture_output=True, text=True)
        eq(p.returncode, 0, f"extracted: {p.stderr}")
        with open(out, newline="") as f:
            rows = list(csv.reader(f))[1:]
        check(rows, "some persons match")
        check(all(r[3] == "F" for r in rows), "criteria applied")
        recs = [r for r in srv.access_log(before) if r["operation"] == "list_extract"]
        recorded = set(",".join(r["subjects"] for r in recs).split(","))
        eq(recorded, {r[0] for r in rows}, "every person of the list is in the trail")
        reqs = expect(lead.get("/api/v1/list-requests"), 200)["requests"]
        eq((reqs[0]["state"], reqs[0]["persons"]), ("extracted", len(rows)), "state and count")
        rc, _ = audit_verify(srv.db)
        eq(rc, 0, "chain intact")



def test_unused_accounts_noticed_then_disabled():
    with Server(review_unused_days=60, review_notice_days=10) as srv:
        ente = srv.create_ente()
        used = srv.user("operator", ente["id"])
        idle, _ = srv.create_account("operator", ente["id"])
        srv.advance(61 * DAY)
        expect(used.login(used.account["username"], used.password), 200, what="still in use")
        srv.advance(60)
        notices = [m for m in srv.outbox(idle["email"]) if "inutilizzata" in m["subject"]]
        eq(len(notices), 1, "the idle account's holder is noticed")
        check(srv.has_event("unused_notice", account_id=idle["id"]), "recorded")
        srv.advance(11 * DAY)
        acc = expect(srv.admin().get(f"/api/v1/accounts/{idle['id']}"), 200).json
        eq((acc["state"], acc["disabled_reason"]), ("disabled", "unused"), "disabled after notice")
        acc = expect(srv.admin().get(f"/api/v1/accounts/{used.account['id']}"), 200).json
        eq(acc["state"], "active", "the account in use stays")
        p = subprocess.run([harness.VISURA, "review", "--db", srv.db], capture_output=True, text=True)
        eq(p.returncode, 0, f"visura review: {p.stderr}")
        check('"agreements"' in p.stdout, "the CLI prints the review report")



def test_unused_sweep_sees_every_account():
    """The sweeps read the accounts a page at a time: past a page of idle
    accounts the oldest is noticed and disabled too (the old sweep kept the
    newest 128 and saw them again at every run, never the rest); and its
    notice is found among its own events of that kind (the old one looked
    in the account's newest 200 events: enough failed logins against the
    account hid the notice, which was sent again, the account never
    disabled)."""
    with Server(review_unused_days=60, review_notice_days=10) as srv:
        ente = srv.create_ente()
        idle, _ = srv.create_account("operator", ente["id"])
        cols = [c for c, _ in harness.db_columns(srv.db, "account") if c != "id"]
        sel = ", ".join("username || '-' || ?" if c == "username" else c for c in cols)
        harness.db_exec(srv.db, *[(f"INSERT INTO account ({', '.join(cols)}) SELECT {sel}"
                                   f" FROM account WHERE id = ?", (str(n), idle["id"]))
                                  for n in range(300)], harness.CONTROL_GEN_BUMP)
        srv.advance(61 * DAY)
        check(srv.has_event("unused_notice", account_id=idle["id"]),
              "the oldest idle account, behind 300 newer ones, is noticed")
        t = srv.now()
        harness.db_exec(srv.db, *[("INSERT INTO security_event (at, kind, account_id, username,"
                                   " ente_id, ip, detail) VALUES (?, 'login_failure', ?, ?, ?, ?,"
                                   " 'password errata')",
                                   (t + n, idle["id"], idle["username"], ente["id"], f"10.0.{n // 250}.{n % 250}"))
                                  for n in range(250)])
        srv.advance(11 * DAY)
        acc = expect(srv.admin().get(f"/api/v1/accounts/{idle['id']}"), 200).json
        eq((acc["state"], acc["disabled_reason"]), ("disabled", "unused"),
           "disabled after its notice, failed logins against it or not")
        eq(len(srv.events("unused_notice", account_id=idle["id"])), 1, "noticed once")


# the event types the push tests subscribe to
PUSHED = ["DECESSO", "EMIGRAZIONE", "CAMBIO_INDIRIZZO", "NASCITA"]


def hook_receiver(on_post):
    """A webhook receiver on loopback: on_post(body bytes, headers) gives the
    status of each answer.  Returns (server, port); shutdown() when done."""
    import http.server
    import threading

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(on_post(body, self.headers))
            self.end_headers()

        def log_message(self, *a):
            pass

    port = free_port()
    httpd = http.server.HTTPServer(("127.0.0.1", port), Hook)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, port


def test_webhook_push_with_retries():
    import threading
    received, lock = [], threading.Lock()
    fail = {"left": 2}

    def on_post(body, headers):
        with lock:
            if fail["left"] > 0:
                fail["left"] -= 1
                return 500
            received.append((json.loads(body), headers.get("X-Visura-Signature")))
            return 200

    httpd, port = hook_receiver(on_post)
    try:
        with Server(population=POP) as srv:
            ente = srv.create_ente(kind="health")
            types = PUSHED
            expected = [e for e in srv.population.events if e["type"] in types]
            conv = srv.create_agreement(ente["id"], ["identity"], comuni=("036023",),
                                        event_types=types,
                                        webhook_url=f"http://127.0.0.1:{port}/hook")
            for step in range(40):
                srv.advance(3700 if step else 0)    # past any back-off
                with lock:
                    got = [e for body, _ in received for e in body["events"]]
                if len(got) >= len(expected) and fail["left"] == 0:
                    break
            with lock:
                bodies = list(received)
            check(fail["left"] == 0, "the failing receiver was retried")
            got = [e for body, _ in bodies for e in body["events"]]
            cursors = [e["cursor"] for e in got]
            eq(cursors, sorted(set(cursors)), "in order, none twice")
            eq(len(got), len(expected), "every subscribed event delivered")
            check(all(sig for _, sig in bodies), "every push is signed")
            check(all(b["convenzione_id"] == conv["id"] for b, _ in bodies), "names the agreement")
            recs = [r for r in srv.access_log() if r["operation"] == "events_push"]
            # Every attempt is in the trail, recorded before it is sent: the
            # receiver had the persons even when it answered 500.
            eq(len(recs), len(bodies) + 2, "each delivery and each failed attempt in the access trail")
            eq(recs[0]["subjects"], recs[2]["subjects"], "a retry sends (and records) the same persons")
            expect(srv.admin().patch(f"/api/v1/convenzioni/{conv['id']}",
                                     {"webhook_url": "http://example.org/x"}), 400,
                   "invalid_request", "plain http only on loopback")
    finally:
        httpd.shutdown()



def test_push_whose_state_cannot_be_saved_goes_again():
    """A push delivered whose agreement's state (its cursor) cannot be
    written is sent again, the same batch (at least once: the receiver sees
    the same next_after), and the log says why; once the state is written
    the cursor moves on.  The old server ignored the failed write without
    a word."""
    import threading
    received, lock = [], threading.Lock()

    def on_post(body, headers):
        with lock:
            received.append(json.loads(body))
        return 200

    httpd, port = hook_receiver(on_post)
    try:
        with Server(population=POP) as srv:
            unblock = harness.db_block(srv.db, "webhook_state", ("INSERT", "UPDATE", "DELETE"))
            srv.create_agreement(srv.create_ente(kind="health")["id"], ["identity"],
                                 comuni=("036023",), event_types=PUSHED,
                                 webhook_url=f"http://127.0.0.1:{port}/hook")
            for _ in range(40):
                srv.advance(5)
                with lock:
                    if len(received) >= 2:
                        break
                time.sleep(0.5)
            with lock:
                first = list(received)
            check(len(first) >= 2, f"pushed again ({len(first)} pushes)")
            eq({b["next_after"] for b in first}, {first[0]["next_after"]}, "the same batch again")
            check("stato della consegna delle notifiche non salvato" in srv.log_text(),
                  "the log says the state was not saved")
            harness.db_exec(srv.db, *unblock)

            def cursor():
                rows = harness.db_query(srv.db, "SELECT cursor FROM webhook_state")
                return [int(r["cursor"]) for r in rows]
            for _ in range(40):
                srv.advance(5)
                if cursor() == [first[0]["next_after"]]:
                    break
                time.sleep(0.5)
            eq(cursor(), [first[0]["next_after"]], "then the cursor is saved")
            with lock:
                n = len(received)
            srv.advance(5)
            time.sleep(6)
            with lock:
                eq(len(received), n, "and the batch is not sent again")
    finally:
        httpd.shutdown()


def test_every_agreement_gets_its_push():
    """However many agreements subscribe (the push once kept 64 and dropped the
    rest without a word), each one is pushed its events."""
    import threading
    seen, lock, go = set(), threading.Lock(), threading.Event()

    # Until every agreement exists, pushes fail (and are retried later):
    # only the pushes made with all 70 agreements present count.
    def on_post(body, headers):
        with lock:
            if go.is_set():
                seen.add(json.loads(body)["convenzione_id"])
        return 200 if go.is_set() else 500

    httpd, port = hook_receiver(on_post)
    try:
        with Server(population=POP) as srv:
            ente = srv.create_ente(kind="health")
            types = PUSHED
            ids = {srv.create_agreement(ente["id"], ["identity"], comuni=("036023",),
                                        event_types=types,
                                        webhook_url=f"http://127.0.0.1:{port}/hook/{i}")["id"]
                   for i in range(70)}
            go.set()
            for step in range(10):
                srv.advance(3700)
                with lock:
                    if seen >= ids:
                        break
            with lock:
                eq(sorted(ids - seen), [], "every one of 70 agreements pushed")
    finally:
        httpd.shutdown()


def test_event_feed_survives_a_restart():
    with Server(population=POP) as srv:
        ente = srv.create_ente(kind="pension")
        types = ["DECESSO", "CAMBIO_INDIRIZZO", "NASCITA", "EMIGRAZIONE"]
        conv, op = feed_client(srv, ente["id"], types)
        first = expect(op.get(f"/api/v1/events?purpose={conv['purpose_id']}&after=0&limit=5"), 200).json
        cursor = first["next_after"]
        srv.restart()
        op = srv.client()
        expect(op.login(op_name(srv, ente), OP_PASSWORD[0]), 200, what="login after restart")
        rest, after = [], cursor
        for _ in range(100):
            r = expect(op.get(f"/api/v1/events?purpose={conv['purpose_id']}&after={after}&limit=50"), 200).json
            if not r["events"]:
                break
            rest += r["events"]
            after = r["next_after"]
        all_cursors = [e["cursor"] for e in first["events"]] + [e["cursor"] for e in rest]
        eq(all_cursors, sorted(set(all_cursors)), "the cursor continues in order after a restart")
        expected = [e for e in srv.population.events if e["type"] in types]
        eq(len(all_cursors), len(expected), "nothing lost across the restart")
        again = expect(op.get(f"/api/v1/events?purpose={conv['purpose_id']}&after=0&limit=5"), 200).json
        eq([e["cursor"] for e in again["events"]], [e["cursor"] for e in first["events"]],
           "events already delivered can be read again (at least once)")


def test_changes_refuse_unknown_fields():
    """A change (PUT, PATCH) with a field its route does not know is
    refused naming it, and nothing of the request is applied: before,
    PATCH /enti/:id {"nmoe": ...} answered 200 and changed nothing, and a
    typo beside a right field was dropped while the rest was written.  The
    routes are read from the route table, so a new PUT or PATCH route fails
    here until it is listed."""
    with Server() as srv:
        admin = srv.admin()
        ente = srv.create_ente()
        conv = srv.create_agreement(ente["id"], ["identity"])
        acc, _ = srv.create_account("operator", ente["id"])
        proc_id = db_query(srv.db, "SELECT id FROM processing ORDER BY id LIMIT 1")[0]["id"]
        notice = expect(admin.post("/api/v1/notices", {
            "title": "Manutenzione", "body": "Servizio sospeso",
            "starts_at": "2030-01-01T08:00:00Z", "ends_at": "2030-01-01T10:00:00Z"}), 201).json
        # (method, pattern): the path, a right field beside the unknown one,
        # and how to read the record back (None: the route has no fields)
        cases = {
            ("PUT", "/api/v1/accounts/:id/spid-required"):
                (f"/api/v1/accounts/{acc['id']}/spid-required", {"level": 2}, None),
            ("PUT", "/api/v1/enti/:id/spid-required"):
                (f"/api/v1/enti/{ente['id']}/spid-required", {"level": 2}, None),
            ("PATCH", "/api/v1/enti/:id"):
                (f"/api/v1/enti/{ente['id']}", {"pec": "nuova@pec.example"},
                 f"/api/v1/enti/{ente['id']}"),
            ("PATCH", "/api/v1/convenzioni/:id"):
                (f"/api/v1/convenzioni/{conv['id']}", {"max_results": 7},
                 f"/api/v1/convenzioni/{conv['id']}"),
            ("PATCH", "/api/v1/notices/:id"):
                (f"/api/v1/notices/{notice['id']}", {"title": "Altro"}, None),
            ("PUT", "/api/v1/bollettini/comuni/:comune"):
                ("/api/v1/bollettini/comuni/036023", {}, None),
            ("PUT", "/api/v1/processing/:id"):
                (f"/api/v1/processing/{proc_id}", {"retention": "un giorno"}, None),
            ("PUT", "/api/v1/settings/totp-required"):
                ("/api/v1/settings/totp-required", {"roles": ["admin"]}, None),
        }
        routes = [(m, p) for m, p, _ in contract.route_table() if m in ("PUT", "PATCH")]
        eq(sorted(set(routes) - set(cases)), [], "every PUT and PATCH route is listed here")
        events = db_query(srv.db, "SELECT count(*) AS n FROM security_event")[0]["n"]
        rows = {t: db_query(srv.db, f"SELECT * FROM {t} ORDER BY id")
                for t in ("ente", "convenzione", "account", "notice", "processing")}
        for (method, pattern), (path, right, read) in cases.items():
            was = expect(admin.get(read), 200).json if read else None
            for body in ({"zz_sconosciuto": 1}, dict(right, zz_sconosciuto=1)):
                r = admin.request(method, path, body)
                eq(r.status, 400, f"{method} {pattern} {body}: {r.body[:200]}")
                check("zz_sconosciuto" in r.json["error"]["message"],
                      f"{method} {pattern}: names the field: {r.json}")
            if read:
                eq(expect(admin.get(read), 200).json, was, f"{method} {pattern}: nothing applied")
        for t, was in rows.items():
            eq(db_query(srv.db, f"SELECT * FROM {t} ORDER BY id"), was, f"{t}: nothing changed")
        eq(db_query(srv.db, "SELECT count(*) AS n FROM security_event")[0]["n"], events,
           "no change recorded")


# POST routes this test sends no JSON to: why, or the test that does.
POST_NOT_HERE = {
    ("POST", "/api/v1/imports"): "the import file itself (docs/import-format.md)",
    # A page's form or JSON: their unknown fields are refused in
    # test_citizen_mail, which has the SPID/CIE provider their sessions need.
    ("POST", "/citizen/logout"): "test_citizen_mail",
    ("POST", "/citizen/notifications"): "test_citizen_mail",
    ("POST", "/citizen/notifications/delete"): "test_citizen_mail",
    ("POST", "/citizen/notifications/confirm"): "test_citizen_mail",
    ("POST", "/citizen/notifications/unsubscribe"): "test_citizen_mail",
}


def test_posts_refuse_unknown_fields():
    """Every POST with a JSON body refuses a member it does not know, naming
    it, before it reads or changes anything: before, most took
    {"nmae": ...} beside the right fields and dropped it (a typo in an
    optional field silently became its default).  The routes are read
    from the route table: a new POST fails here until it is listed in
    POST_NOT_HERE or answers so.  /api/v1/verify, a consultation, records
    the refused attempt in the trail, as any malformed one."""
    with Server() as srv:
        admin = srv.admin()
        ente = srv.create_ente()
        conv = srv.create_agreement(ente["id"], ["identity"])
        lead = srv.user("lead", ente["id"])
        op = srv.user("operator", ente["id"])
        anyone = srv.client()
        notice = expect(admin.post("/api/v1/notices", {
            "title": "Avviso", "body": "Testo", "starts_at": "2030-01-01T08:00:00Z",
            "ends_at": "2030-01-01T10:00:00Z"}), 201).json
        events = db_query(srv.db, "SELECT max(id) AS n FROM security_event")[0]["n"]
        trail = db_query(srv.db, "SELECT count(*) AS n FROM access_log")[0]["n"]
        routes = [(m, p, f) for m, p, f in contract.route_table() if m == "POST"]
        tried = 0
        for method, pattern, flags in routes:
            if (method, pattern) in POST_NOT_HERE:
                continue
            path = re.sub(r":comune", "036023", re.sub(r":id\b", "999999", pattern))
            if "ROUTE_PUBLIC" in flags:
                who = anyone
            elif "ROUTE_ADMIN" in flags:
                who = admin
            elif "ROUTE_LEAD" in flags:
                who = lead
            else:
                who = op
            if "ROUTE_OWN_ARGS" in flags:
                path += f"?purpose={conv['purpose_id']}"
            body = {"zz_sconosciuto": 1}
            if pattern == "/api/v1/verify":
                body.update(purpose=conv["purpose_id"], codice_fiscale="RSSMRA80A01H501U")
            r = who.post(path, body)
            eq(r.status, 400, f"{method} {pattern} {body}: {r.body[:300]}")
            if pattern.startswith("/api/v1/anpr/"):
                # the ANPR e-services answer in their own format (VIS06)
                check(any(x["codiceErroreAnomalia"] == "VIS06" for x in r.json["listaErrori"]),
                      f"{method} {pattern}: refused as malformed: {r.body[:300]}")
            else:
                check("zz_sconosciuto" in ((r.json or {}).get("error") or {}).get("message", ""),
                      f"{method} {pattern}: names the field: {r.body[:300]}")
            tried += 1
        check(tried >= 30, f"the POST routes tried: {tried}")
        # A member's name of any bytes JSON allows: longer than the 60 bytes
        # shown, it is cut between characters (cut inside one, the answer
        # was a 500 with no body); a bidi control in it is shown as '?'.
        # The four messages that name it:
        for name, shown in (("a" * 59 + "é", "a" * 59), ("x\u202ey", "x?y")):
            for who, path, body in (
                    (admin, "/api/v1/audit/subject-codes", {}),
                    (admin, f"/api/v1/notices/{notice['id']}", None),
                    (op, "/api/v1/verify", {"purpose": conv["purpose_id"],
                                            "codice_fiscale": "RSSMRA80A01H501U"})):
                b = dict(body or {}, **{name: 1})
                r = who.patch(path, b) if body is None else who.post(path, b)
                eq(r.status, 400, f"{path} {name!r}: {r.body[:200]}")
                check(f'"{shown}"' in r.json["error"]["message"],
                      f"{path}: {name!r} shown as {shown!r}: {r.json}")
            r = op.post(f"/api/v1/anpr/ricerca?purpose={conv['purpose_id']}", {name: 1})
            eq(r.status, 400, f"ANPR {name!r}: {r.body[:200]}")
            check(r.json["listaErrori"][0]["codiceErroreAnomalia"] == "VIS06", f"ANPR: {r.json}")
        # only the consultation's refused attempts are recorded (its trail);
        # no other change happened
        refused = db_query(srv.db, "SELECT operation, outcome FROM access_log WHERE id > ?",
                           (trail,))
        check(refused and all(x["outcome"].startswith("refused:") for x in refused),
              f"the consultations refused, and recorded: {refused}")
        # (the operator's refused attempts raise the anti-extraction alert:
        # a signal, not a change)
        eq(db_query(srv.db, "SELECT kind, detail FROM security_event WHERE id > ?"
                            " AND kind <> 'alert'", (events,)), [], "no change recorded")


def route_words():
    """{(METHOD, pattern): the words of its query list} of every route of
    src/api/routes.c (the sixth field, NULL: none); a word "name=" is a
    parameter that may be given empty."""
    text = open(contract.ROUTES_C, encoding="utf-8").read()
    return {(m.group(1), m.group(2)): (m.group(3) or "").split()
            for m in re.finditer(r'\{"([A-Z]+)", "([^"]+)", \w+, [^,}]+, \w+, '
                                 r'(?:NULL|"([^"]*)")\}', text)}


def route_queries():
    """{(METHOD, pattern): the set of query parameters it takes}."""
    return {k: {w.rstrip("=") for w in ws} for k, ws in route_words().items()}


def route_empty_ok():
    """{(METHOD, pattern): the parameters it takes given empty}."""
    return {k: {w[:-1] for w in ws if len(w) > 1 and w.endswith("=")}
            for k, ws in route_words().items()}


def test_queries_refuse_unknown_parameters():
    """Every route refuses a query parameter it does not take, or one given
    twice, naming it, before it reads or changes anything: before, each
    ignored what it did not read, so GET /api/v1/outbox?recipent=x (a typo)
    listed the whole outbox, and ?limit=1&limit=2 took the first.  The
    parameters each route takes are in the route table, and must be the
    ones docs/openapi.yaml declares.  Before authentication, as a path that
    is not text is refused: anyone may read the contract.  The
    consultations refuse it in the corridor and record the refusal."""
    queries, empties = route_queries(), route_empty_ok()
    routes = contract.route_table()
    eq(sorted(set((m, p) for m, p, _ in routes) - set(queries)), [],
       "every route's parameters read from the table")
    spec = contract.contract()
    for (method, pattern), takes in sorted(queries.items()):
        path = re.sub(r":\w+", "x", pattern).replace("*", "x")
        template, op = spec.operation(method, path)
        if takes == {"*"}:   # retired (410), or a file that reads none
            check((op.get("deprecated") and "410" in op["responses"])
                  or pattern in ("/", "/ui/*"), f"{method} {pattern}")
            continue
        declared, empty_ok = set(), set()
        for prm in (op or {}).get("parameters", []) + \
                ((spec.doc["paths"].get(template) or {}).get("parameters", [])):
            prm = spec._resolve(prm)
            if prm.get("in") == "query":
                declared.add(prm["name"])
                if prm.get("allowEmptyValue"):
                    empty_ok.add(prm["name"])
        eq(sorted(takes - {"*"}), sorted(declared),
           f"{method} {pattern}: the table's parameters are the contract's")
        eq(sorted(empties[(method, pattern)]), sorted(empty_ok),
           f"{method} {pattern}: those taken empty are the contract's allowEmptyValue")
    with Server(population=dict(persons=20, comuni="036023", seed=3, days=2)) as srv:
        ente = srv.create_ente()
        conv = srv.create_agreement(ente["id"], ["identity", "family", "history"])
        op = srv.user("operator", ente["id"])
        pid = conv["purpose_id"]
        cf = sorted(x["cf"] for x in srv.population.current_persons() if not x["canc_reason"])[0]
        # The interface's page and files: a link's parameters are ignored,
        # the same bytes as without them (and a control character is not).
        plain = srv.request("GET", "/")
        eq(plain.status, 200, "the interface's page")
        for q in ("utm_source=newsletter&utm_medium=email", "v=3&v=4", "x="):
            r = srv.request("GET", f"/?{q}")
            eq((r.status, r.body), (200, plain.body), f"/?{q}: the page, as without it")
            r = srv.request("GET", f"/ui/app/main.js?{q}")
            eq(r.status, 200, f"/ui/app/main.js?{q}")
        expect(srv.request("GET", "/?x=%01"), 400, "invalid_request", "a control character")
        events = db_query(srv.db, "SELECT max(id) AS n FROM security_event")[0]["n"]
        for method, pattern, flags in routes:
            if "ROUTE_OWN_ARGS" in flags:
                continue
            path = re.sub(r":\w+", "1", pattern).replace("*", "x")
            if queries[(method, pattern)] == {"*"}:
                r = srv.request(method, f"{path}?zz_sconosciuto=1")
                check(r.status != 400, f"{method} {path}: past the parameters: {r.status}")
                continue
            if "*" in queries[(method, pattern)]:
                # An OAuth 2.0 authorization response: what it does not
                # name is ignored (RFC 6749 §4.1.2), a named one not twice.
                r = srv.request(method, f"{path}?session_state=x&zz_sconosciuto=1")
                check("zz_sconosciuto" not in r.body.decode(errors="replace")
                      and "session_state" not in r.body.decode(errors="replace"),
                      f"{method} {path}: an unknown parameter ignored: {r.status} {r.body[:200]}")
                name = sorted(queries[(method, pattern)] - {"*"})[0]
                r = srv.request(method, f"{path}?{name}=1&{name}=2")
                eq((r.status, r.code), (400, "invalid_request"), f"{method} {path}: {name} twice")
                continue
            for q, name, says in (("zz_sconosciuto=1", "zz_sconosciuto", "non è previsto"),
                                  ("z" * 59 + "%C3%A9=1", "z" * 59, "non è previsto"),
                                  ("&x=1", "", "senza nome"), ("=1", "", "senza nome")):
                r = srv.request(method, f"{path}?{q}")
                eq((r.status, r.code), (400, "invalid_request"), f"{method} {path}?{q}: {r.body[:200]}")
                msg = r.json["error"]["message"]
                check((not name or f'"{name}"' in msg) and says in msg,
                      f"{method} {path}: names it: {msg}")
            for name in sorted(queries[(method, pattern)]):
                r = srv.request(method, f"{path}?{name}=1&{name}=2")
                eq((r.status, r.code), (400, "invalid_request"), f"{method} {path}: {name} twice")
                check(f'"{name}" è ripetuto' in r.json["error"]["message"], f"{r.json}")
                # given empty: neither a value nor its absence (no default),
                # unless the route gives that a meaning ("comuni=")
                for empty in (f"{name}=", name):
                    r = srv.request(method, f"{path}?{empty}")
                    if name in empties[(method, pattern)]:
                        check(r.status != 400 or "è vuoto" not in r.body.decode(errors="replace"),
                              f"{method} {path}?{empty}: taken empty: {r.body[:200]}")
                        continue
                    eq((r.status, r.code), (400, "invalid_request"), f"{method} {path}?{empty}")
                    check(f'"{name}" è vuoto' in r.json["error"]["message"], f"{r.json}")
        # The pages a citizen opens in a browser refuse it themselves: as a
        # page naming it to a browser, the error to any other client.
        pages = [(m, p) for m, p, flags in routes
                 if "ROUTE_OWN_ARGS" in flags and p.startswith("/citizen/")]
        check(len(pages) >= 3, f"the citizen's pages: {pages}")
        for method, pattern in pages:
            name = sorted(queries[(method, pattern)] - empties[(method, pattern)])[0]
            for q, says in (("zz_sconosciuto=1", '&quot;zz_sconosciuto&quot; non è previsto'),
                            (f"{name}=1&{name}=2", f"&quot;{name}&quot; è ripetuto"),
                            (f"{name}=", f"&quot;{name}&quot; è vuoto"),
                            ("x=%01", "senza caratteri di controllo")):
                r = srv.request(method, f"{pattern}?{q}", headers={"Accept": "text/html"})
                eq(r.status, 400, f"{method} {pattern}?{q}: {r.body[:200]}")
                check((r.header("Content-Type") or "").startswith("text/html")
                      and says in r.body.decode(), f"{method} {pattern}?{q}: a page: {r.body[:600]}")
                r = srv.request(method, f"{pattern}?{q}")
                eq((r.status, r.code), (400, "invalid_request"), f"{method} {pattern}?{q}")
        eq(int(db_query(srv.db, "SELECT count(*) AS n FROM security_event WHERE id > ?",
                        (int(events or 0),))[0]["n"]), 0,
           "nothing recorded by the refusals before the gate")
        # The consultations: refused by the corridor, and recorded.
        own = [(m, p) for m, p, flags in routes
               if "ROUTE_OWN_ARGS" in flags and (m, p) not in pages]
        for method, pattern in own:
            path = pattern.replace(":cf", cf)
            body = {} if method == "POST" else None
            takes = queries[(method, pattern)]
            given = f"purpose={pid}&" if "purpose" in takes else ""
            cases = [(given + "nme=MARIO", "nme")]
            cases += [(given + f"{name}=", name) for name in sorted(takes - {"purpose"})[:2]]
            if "purpose" in takes:
                cases.append((f"purpose={pid}&purpose={pid}", "purpose"))
            for q, name in cases:
                before = srv.access_last_id()
                r = op.request(method, f"{path}?{q}", body)
                if "/anpr/" in path:   # ANPR's own shape (docs/anpr.md)
                    eq(r.status, 400, f"{method} {path}?{q}: {r.body[:300]}")
                    err = r.json["listaErrori"][0]
                    eq(err["codiceErroreAnomalia"], "VIS06", f"{method} {path}: {r.json}")
                    msg = f'"{name}"'   # its fixed text for VIS06 names nothing
                else:
                    eq((r.status, r.code), (400, "invalid_request"),
                       f"{method} {path}?{q}: {r.body[:200]}")
                    msg = r.json["error"]["message"]
                check(f'"{name}"' in msg, f"{method} {path}: names it: {r.json}")
                recs = srv.access_log(before)
                eq([x["outcome"] for x in recs], ["refused:invalid_request"],
                   f"{method} {path}?{q}: the refusal recorded")
        # What a route takes still works: the outbox by recipient, a search.
        expect(srv.admin().get("/api/v1/outbox?recipient=nessuno%40x.example&limit=5"), 200)
        expect(op.get(f"/api/v1/persons/{cf}?purpose={pid}&case_ref=P-1"), 200)


if __name__ == "__main__":
    run_tests(globals())
