#!/usr/bin/env python3
"""End-to-end: the alert rules of the access trail (sequential codici
fiscali, no-result searches, the sliding windows, the same person
without a case, refused attempts, several addresses, the hard threshold
that suspends an account) with their visibility and mail.

Split from test_trail.py (helpers in trail_common.py) so that ctest runs
the parts side by side.

usage: test_trail_alerts.py PATH/TO/visura [TEST...]
"""
import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

from trail_common import *  # noqa: F401,F403 — the helpers and imports of the trail tests


def test_alert_sequential_cf():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        regs = registered(env.pop)
        base = regs[0]["cf"]
        places = ["A944", "B819", "F257", "H501", "L219", "G393", "C573", "D548", "E512", "M102"]
        seq = [cf_with_check(base[:11] + pl) for pl in places if base[:11] + pl != base[:15]]
        check(all(len(c) == 16 and c[:11] == base[:11] for c in seq), "crafted codici fiscali")
        acc = env.op.account["id"]
        fresh_window(srv, 3600, env.op)

        def look(i, cf):   # searches and consultations both count
            path = (f"/api/v1/persons?purpose={pid}&cf={cf}" if i % 2 else
                    f"/api/v1/persons/{cf}?purpose={pid}")
            r = env.op.get(path)
            check(r.status in (200, 404), f"look-up {cf}: {r}")

        others = [p["cf"] for p in regs if p["cf"][:11] != base[:11]]
        for i in range(4):
            look(i, seq[i])
            look(i + 1, others[i])   # interleaved: an enumeration with look-ups in between
        check(not alerts(srv, rule="sequential_cf", account_id=acc),
              "no alert after 4 look-ups of one prefix among unrelated ones")
        for i in range(3):
            look(i, others[4 + i])
        check(not alerts(srv, rule="sequential_cf", account_id=acc),
              "no alert for unrelated look-ups")
        look(1, seq[4])
        al = alerts(srv, rule="sequential_cf", account_id=acc)
        eq(len(al), 1, "a sequential_cf alert at the 5th look-up of one prefix, unrelated "
                       "look-ups interleaved")
        check(base[:11] in al[0]["detail"], f"the shared prefix in the detail: {al[0]['detail']!r}")
        eq(al[0]["ente_id"], env.ente["id"], "the alert's body")
        # another account, each step separated by two unrelated look-ups
        op2 = env.operator()
        acc2 = op2.account["id"]
        for i in range(5):
            expect(op2.get(f"/api/v1/persons/{others[10 + 2 * i]}?purpose={pid}"), 200,
                   what="unrelated")
            expect(op2.get(f"/api/v1/persons/{others[11 + 2 * i]}?purpose={pid}"), 200,
                   what="unrelated")
            r = op2.get(f"/api/v1/persons?purpose={pid}&cf={seq[i]}")
            check(r.status in (200, 404), f"look-up {seq[i]}: {r}")
        eq(len(alerts(srv, rule="sequential_cf", account_id=acc2)), 1,
           "a sequential_cf alert with two unrelated look-ups between the steps")


def test_sequential_rule_ignores_one_person_looked_up_again():
    """Reopening the same record (one codice fiscale, with a case reference)
    is not an enumeration of consecutive codici fiscali."""
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        p = registered(env.pop)[3]
        fresh_window(srv, 3600, env.op)
        for i in range(6):
            expect(env.op.get(f"/api/v1/persons/{p['cf']}?purpose={pid}&case_ref=PR-{i}"), 200,
                   what=f"consult {i + 1}")
        eq([(a["rule"], a["detail"]) for a in alerts(srv, rule="sequential_cf")], [],
           "sequential_cf alerts for one person consulted 6 times")


def test_alert_no_results():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        acc = env.op.account["id"]
        op2 = env.operator()
        fresh_window(srv, 3600, env.op, op2)
        for i in range(19):
            r = env.op.get("/api/v1/persons?" + q(purpose=pid, surname=f"QXZWK{chr(65 + i)}JV",
                                                  name="BLORFT", birth_year=1970))
            expect(r, 404, "not_found", f"search {i + 1} finds nobody")
        check(not alerts(srv, rule="no_results", account_id=acc), "no alert after 19 empty searches")
        r = env.op.get("/api/v1/persons?" + q(purpose=pid, surname="QXZWKZZJV", name="BLORFT",
                                              birth_year=1971))
        expect(r, 404, "not_found", "search 20")
        al = alerts(srv, rule="no_results", account_id=acc)
        eq(len(al), 1, "a no_results alert after 20 empty searches")
        # an operator whose searches find people raises nothing
        regs = registered(env.pop)
        for p in regs[:20]:
            expect(op2.get("/api/v1/persons?" + q(purpose=pid, surname=p["surname"], name=p["name"],
                                                  birth_date=p["birth_date"])), 200,
                   what="a search that finds the person")
        check(not alerts(srv, rule="no_results", account_id=op2.account["id"]),
              "no alert for searches that find people")


def absent_cfs(n):
    """n well-formed codici fiscali of nobody, no two sharing a prefix."""
    return [cf_with_check(f"QXZWKJ{10 + i:02d}A01F205") for i in range(n)]


def test_no_results_counts_lookups_by_cf():
    """Not-found look-ups by codice fiscale (consultation, household,
    history, search by cf) count in the no-result rule like searches."""
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        acc = env.op.account["id"]
        fresh_window(srv, 3600, env.op)
        cfs = absent_cfs(20)
        kinds = ["", "/household", "/history"]
        for i, cf in enumerate(cfs[:19]):
            expect(env.op.get(f"/api/v1/persons/{cf}{kinds[i % 3]}?purpose={pid}"), 404,
                   "not_found", f"look-up {i + 1} of nobody")
        check(not alerts(srv, rule="no_results", account_id=acc),
              "no alert after 19 look-ups of nobody")
        expect(env.op.get(f"/api/v1/persons?purpose={pid}&cf={cfs[19]}"), 404, "not_found",
               "look-up 20")
        al = alerts(srv, rule="no_results", account_id=acc)
        eq(len(al), 1, "a no_results alert after 20 look-ups by codice fiscale finding nobody")


def before_boundary(srv, period, seconds):
    """Moves the test clock to `seconds` before the next multiple of period."""
    left = period - srv.now() % period
    srv.advance(left - seconds if left > seconds + 5 else left + period - seconds)


def test_windows_slide_across_the_clock_hour():
    """A burst split across the hour (or midnight) is counted whole: the
    hard threshold suspends at 20 distinct persons within an hour even when
    19 of them came just before the hour; refusals and repeated look-ups
    without a case likewise."""
    with Server(population=POP, alert_persons_hour=10, alert_persons_hard=20) as srv:
        env = Env(srv, lead=False)
        # a profile that shows no one but the person asked for: one person
        # per consultation (parentage would add the parents)
        pid = env.purpose(["identity", "residence"])
        narrow = env.purpose(["identity"])
        op, acc = env.op, env.op.account["id"]
        regs = registered(env.pop)
        before_boundary(srv, 3600, 20)
        relogin(op)
        conn = Conn(srv, op)
        try:
            for i, p in enumerate(regs[:19]):
                expect(conn.get(f"/api/v1/persons/{p['cf']}?purpose={pid}&case_ref=W"), 200,
                       what=f"distinct person {i + 1} before the hour")
            for i in range(3):
                expect(conn.get(f"/api/v1/persons/{regs[0]['cf']}/household?purpose={narrow}"),
                       403, "category_not_permitted", f"refusal {i + 1} before the hour")
        finally:
            conn.close()
        check(not alerts(srv, rule="refused", account_id=acc), "no refused alert yet")
        check(not [a for a in alerts(srv, rule="persons_hour", account_id=acc)
                   if a["severity"] == "critical"], "no suspension at 19 persons")
        srv.advance(40)   # past the hour
        relogin(op)
        for i in range(2):
            expect(op.get(f"/api/v1/persons/{regs[0]['cf']}/household?purpose={narrow}"), 403,
                   "category_not_permitted", f"refusal {i + 4} after the hour")
        eq(len(alerts(srv, rule="refused", account_id=acc)), 1,
           "a refused alert for 3 + 2 refusals across the hour")
        r = op.get(f"/api/v1/persons/{regs[19]['cf']}?purpose={pid}&case_ref=W")
        expect(r, 403, "account_suspended", "the 20th distinct person within the hour, across "
                                            "the clock hour")
        check(regs[19]["surname"].encode() not in r.body, "no data in the refusal")
        crit = [a for a in alerts(srv, rule="persons_hour", account_id=acc)
                if a["severity"] == "critical"]
        eq(len(crit), 1, "one critical persons_hour alert")
        # the same person without a case, 3 times before midnight and twice after
        op2 = env.operator()
        acc2 = op2.account["id"]
        before_boundary(srv, DAY, 30)
        relogin(op2)
        p = regs[40]
        for i in range(3):
            expect(op2.get(f"/api/v1/persons/{p['cf']}?purpose={pid}"), 200,
                   what=f"consultation {i + 1} before midnight")
        srv.advance(60)
        relogin(op2)
        for i in range(2):
            expect(op2.get(f"/api/v1/persons/{p['cf']}?purpose={pid}"), 200,
                   what=f"consultation {i + 4} after midnight")
        eq(len(alerts(srv, rule="repeat_no_case", account_id=acc2)), 1,
           "a repeat_no_case alert for 3 + 2 consultations across midnight")


def test_alert_counters_belong_to_one_account():
    """Two accounts whose ids differ by 4096 keep their own counters: one
    cannot reset the other's by making a request."""
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        acc = env.op.account["id"]
        # the next account gets the id acc + 4096
        cols = [c for c, _ in harness.db_columns(srv.db, "account") if c not in ("id", "username")]
        db_exec(srv.db, (f"INSERT INTO account (id, username, {', '.join(cols)}) "
                         f"SELECT ?, 'placeholder.4096', {', '.join(cols)} FROM account WHERE id = ?",
                         (acc + 4095, acc)))
        if srv.db.startswith("postgres:"):
            db_exec(srv.db, ("SELECT setval(pg_get_serial_sequence('account', 'id'), ?)",
                             (acc + 4095,)))
        op2 = env.operator()
        eq(op2.account["id"], acc + 4096, "the second operator's id")
        regs = registered(env.pop)
        base = regs[0]["cf"]
        places = ["A944", "B819", "F257", "H501", "L219", "G393", "C573"]
        seq = [cf_with_check(base[:11] + pl) for pl in places if base[:11] + pl != base[:15]]
        fresh_window(srv, 3600, env.op, op2)
        for i in range(4):
            r = env.op.get(f"/api/v1/persons/{seq[i]}?purpose={pid}")
            check(r.status in (200, 404), f"look-up {seq[i]}: {r}")
            expect(op2.get(f"/api/v1/persons/{regs[5 + i]['cf']}?purpose={pid}&case_ref=X"), 200,
                   what="the other account's request")
        r = env.op.get(f"/api/v1/persons/{seq[4]}?purpose={pid}")
        check(r.status in (200, 404), f"look-up {seq[4]}: {r}")
        eq(len(alerts(srv, rule="sequential_cf", account_id=acc)), 1,
           "a sequential_cf alert for the first account despite the other's requests")
        check(not alerts(srv, rule="sequential_cf", account_id=acc + 4096),
              "none for the other")


def test_alert_same_person_without_case():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        acc = env.op.account["id"]
        p = registered(env.pop)[3]
        op2 = env.operator()
        fresh_window(srv, DAY, env.op, op2)
        for i in range(4):
            expect(env.op.get(f"/api/v1/persons/{p['cf']}?purpose={pid}"), 200,
                   what=f"consult {i + 1} without a case")
        for i in range(3):
            expect(env.op.get(f"/api/v1/persons/{p['cf']}?purpose={pid}&case_ref=PR-{i}"), 200,
                   what=f"consult with case {i}")
        check(not alerts(srv, rule="repeat_no_case", account_id=acc),
              "no alert after 4 consultations without a case (and 3 with one)")
        expect(env.op.get(f"/api/v1/persons/{p['cf']}?purpose={pid}"), 200, what="consult 5")
        al = alerts(srv, rule="repeat_no_case", account_id=acc)
        eq(len(al), 1, "a repeat_no_case alert after the 5th consultation without a case")
        # with a case reference each time: no alert
        for i in range(6):
            expect(op2.get(f"/api/v1/persons/{p['cf']}?purpose={pid}&case_ref=C-{i}"), 200,
                   what="with case")
        check(not alerts(srv, rule="repeat_no_case", account_id=op2.account["id"]),
              "no alert when every consultation has a case reference")


def test_alert_refused_attempts():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        narrow = env.purpose(["identity"])
        acc = env.op.account["id"]
        cf = registered(env.pop)[0]["cf"]
        fresh_window(srv, 3600, env.op)
        for i in range(4):
            expect(env.op.get(f"/api/v1/persons/{cf}/household?purpose={narrow}"), 403,
                   "category_not_permitted", f"refused {i + 1}")
        check(not alerts(srv, rule="refused", account_id=acc), "no alert after 4 refusals")
        r = expect(env.op.get(f"/api/v1/persons/{cf}/history?purpose={narrow}"), 403,
                   "category_not_permitted", "refused 5")
        al = alerts(srv, rule="refused", account_id=acc)
        eq(len(al), 1, "a refused alert after 5 refused attempts")
        # Italian, as the operator read the last refusal; never its code
        eq(al[0]["detail"], "5 tentativi respinti nell'ultima ora (l'ultimo: "
                            f"{r['error']['message']})", "the alert's detail")
        check("_" not in al[0]["detail"], f"no code in {al[0]['detail']!r}")


def test_alert_many_addresses():
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        acc = env.op.account["id"]
        cfs = [p["cf"] for p in registered(env.pop)[:10]]
        op2 = env.operator()
        fresh_window(srv, 3600, env.op, op2)
        # X-Forwarded-For is not trusted: three "addresses" there are one
        for i, xff in enumerate(("198.51.100.1", "198.51.100.2", "198.51.100.3")):
            expect(env.op.get(f"/api/v1/persons/{cfs[i]}?purpose={pid}&case_ref=A",
                              headers={"X-Forwarded-For": xff}), 200, what=f"XFF {xff}")
            eq(srv.access_log_tail(1)[0]["ip"], "127.0.0.1", "the record's address ignores XFF")
        check(not alerts(srv, rule="many_addresses", account_id=acc),
              "no alert for X-Forwarded-For values")
        expect(from_address(srv, env.op, "127.0.0.2", "GET",
                            f"/api/v1/persons/{cfs[3]}?purpose={pid}&case_ref=A"), 200, what="from .2")
        eq(srv.access_log_tail(1)[0]["ip"], "127.0.0.2", "the record's address")
        check(not alerts(srv, rule="many_addresses", account_id=acc), "no alert with two addresses")
        expect(from_address(srv, env.op, "127.0.0.3", "GET",
                            f"/api/v1/persons/{cfs[4]}?purpose={pid}&case_ref=A"), 200, what="from .3")
        eq(srv.access_log_tail(1)[0]["ip"], "127.0.0.3", "the record's address")
        al = alerts(srv, rule="many_addresses", account_id=acc)
        eq(len(al), 1, "a many_addresses alert with three addresses within 10 minutes")
        # another operator using three addresses over more than 10 minutes is fine
        expect(op2.get(f"/api/v1/persons/{cfs[5]}?purpose={pid}&case_ref=B"), 200, what="op2 .1")
        expect(from_address(srv, op2, "127.0.0.2", "GET",
                            f"/api/v1/persons/{cfs[6]}?purpose={pid}&case_ref=B"), 200, what="op2 .2")
        srv.advance(11 * 60)
        relogin(op2)
        expect(from_address(srv, op2, "127.0.0.3", "GET",
                            f"/api/v1/persons/{cfs[7]}?purpose={pid}&case_ref=B"), 200, what="op2 .3")
        check(not alerts(srv, rule="many_addresses", account_id=op2.account["id"]),
              "no alert for three addresses over more than 10 minutes")


def test_hard_threshold_suspends_account():
    with Server(population=POP) as srv:
        env = Env(srv)
        # Without parentage: each answer names one person (parents shown
        # are persons too, and would count).
        pid = env.purpose([c for c in ALL if c != "parentage"])
        op = env.op
        acc = op.account["id"]
        regs = registered(env.pop)
        check(len(regs) >= 320, f"population too small: {len(regs)}")
        fresh_window(srv, 3600, op, env.lead)
        conn = Conn(srv, op)
        try:
            for i, p in enumerate(regs[:299]):
                r = conn.get(f"/api/v1/persons/{p['cf']}?purpose={pid}&case_ref=BULK")
                expect(r, 200, what=f"distinct person {i + 1}")
                if i == 99:
                    check(alerts(srv, rule="persons_hour", account_id=acc),
                          "a persons_hour alert at 100 distinct persons")
            check(not [a for a in alerts(srv, rule="persons_hour", account_id=acc)
                       if a["severity"] == "critical"], "no critical alert before 300")
            before = srv.access_last_id()
            r = conn.get(f"/api/v1/persons/{regs[299]['cf']}?purpose={pid}&case_ref=BULK")
        finally:
            conn.close()
        # Problems of the crossing request are collected, so that the rest
        # (login refused, alerts, review, reactivation) is still checked.
        problems = []
        rows = srv.access_log(before)
        check(len(rows) == 1, f"one record for the crossing request, got {len(rows)}")
        body_has_data = isinstance(r.json, dict) and "person" in r.json
        check(not body_has_data and regs[299]["surname"].encode() not in r.body,
              f"the crossing request returns no data: {r}")
        check(r.header("X-Visura-Receipt") is None, "no receipt without data")
        if (r.status, r.code) != (403, "account_suspended"):
            problems.append(f"the request that crosses 300 distinct persons: expected 403 "
                            f"account_suspended, got {r.status} {r.body[:200]!r}")
        got = (rows[0]["outcome"], rows[0]["status"], rows[0]["subjects"])
        if got != ("refused:account_suspended", 403, ""):
            problems.append(f"the crossing request's record (outcome, status, subjects): expected "
                            f"('refused:account_suspended', 403, ''), got {got}")
        r = op.get(f"/api/v1/persons/{regs[300]['cf']}?purpose={pid}")
        check(r.status in (401, 403) and "person" not in (r.json or {}),
              f"the session ends with the suspension: {r}")
        r = srv.client().login(op.username, op.password)
        expect(r, 403, "account_disabled", "login of the suspended account")
        susp = expect(srv.admin().get(f"/api/v1/accounts/{acc}"), 200)
        eq(susp.json.get("account", susp.json)["disabled_reason"], "sospesa da una segnalazione",
           "the suspension's reason, in Italian")
        crit = [a for a in alerts(srv, rule="persons_hour", account_id=acc) if a["severity"] == "critical"]
        eq(len(crit), 1, "one critical persons_hour alert")
        check(any(a["id"] == crit[0]["id"] for a in alerts(srv, env.lead)), "the lead sees it")
        check(alert_mails(srv, env.lead.account["email"], op.username), "mail to the lead")
        check(alert_mails(srv, harness.ADMIN_EMAIL, op.username), "mail to the registry office")
        # only the registry office reviews
        expect(env.lead.post(f"/api/v1/alerts/{crit[0]['id']}/review",
                             {"note": "ok", "reactivate": True}), 403, "forbidden", "lead review")
        r = expect(srv.admin().post(f"/api/v1/alerts/{crit[0]['id']}/review",
                                  {"note": "bulk check of a legitimate list, verified by phone",
                                   "reactivate": True}), 200, what="admin review")
        eq(r["state"], "reviewed", "the alert's state")
        al = [a for a in alerts(srv) if a["id"] == crit[0]["id"]][0]
        eq((al["state"], al["note"]), ("reviewed", "bulk check of a legitimate list, verified by phone"),
           "the reviewed alert")
        check(al["reviewed_at"] is not None, "reviewed_at")
        relogin(op)
        r = op.get(f"/api/v1/persons/{regs[301]['cf']}?purpose={pid}&case_ref=AFTER")
        if r.status != 200 or "person" not in (r.json or {}):
            problems.append(f"a consultation right after the reactivation (same hour): expected "
                            f"200 with the person, got {r.status} {r.body[:200]!r}")
        elif srv.client().login(op.username, op.password).status != 200:
            problems.append("the account is suspended again by its first request after the "
                            "reactivation")
        check(not problems, "; ".join(problems))


def test_review_reactivates_a_suspension_stored_in_english():
    """A database written before the reasons were Italian holds "suspended
    by alert" for an account the alert tracker suspended: dismissing the
    alert with reactivate enables it all the same.  An account disabled for
    another reason (by the admin) stays disabled."""
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        p = registered(env.pop)[3]
        ops = {"old": env.op, "other": env.operator()}
        fresh_window(srv, DAY, *ops.values())
        found = {}
        for name, op in ops.items():
            for i in range(5):
                expect(op.get(f"/api/v1/persons/{p['cf']}?purpose={pid}"), 200,
                       what=f"{name}: consult {i + 1} without a case")
            found[name] = alerts(srv, rule="repeat_no_case", account_id=op.account["id"])
            eq(len(found[name]), 1, f"{name}: a repeat_no_case alert")
        reasons = {"old": "suspended by alert", "other": "disabled by admin"}
        for name, op in ops.items():
            db_exec(srv.db, ("UPDATE account SET state = 'disabled', disabled_reason = ?,"
                             " disabled_at = ? WHERE id = ?",
                             (reasons[name], srv.now(), op.account["id"])),
                    harness.CONTROL_GEN_BUMP)
        for name, op in ops.items():
            expect(srv.admin().post(f"/api/v1/alerts/{found[name][0]['id']}/review",
                                    {"note": "verificato", "reactivate": True}), 200,
                   what=f"{name}: admin review")
        acc = {name: expect(srv.admin().get(f"/api/v1/accounts/{op.account['id']}"), 200)
               for name, op in ops.items()}
        acc = {k: v.json.get("account", v.json) for k, v in acc.items()}
        eq((acc["old"]["state"], acc["old"]["disabled_reason"] or ""), ("active", ""),
           "the account suspended under the English reason is active again")
        eq((acc["other"]["state"], acc["other"]["disabled_reason"]),
           ("disabled", "disabled by admin"), "the one disabled by the admin stays disabled")


def test_review_whose_reactivation_fails_changes_nothing():
    """The review and the account it re-enables are one transaction: when
    the account cannot be written, the alert stays open, the account stays
    suspended and no event says otherwise.  The old server ignored the
    failed write: 200, the alert closed, "account_enabled" in the log and the
    account still disabled.  A "reactivate" that is not true or false is
    refused, not read as false."""
    with Server(population=POP) as srv:
        env = Env(srv, lead=False)
        pid = env.purpose(ALL)
        p = registered(env.pop)[3]
        fresh_window(srv, DAY, env.op)
        for i in range(5):
            expect(env.op.get(f"/api/v1/persons/{p['cf']}?purpose={pid}"), 200,
                   what=f"consult {i + 1} without a case")
        alert = alerts(srv, rule="repeat_no_case", account_id=env.op.account["id"])[0]
        acc_id = env.op.account["id"]
        db_exec(srv.db, ("UPDATE account SET state = 'disabled', disabled_reason = ?,"
                         " disabled_at = ? WHERE id = ?", ("suspended by alert", srv.now(), acc_id)),
                harness.CONTROL_GEN_BUMP)
        unblock = harness.db_block(srv.db, "account", ("UPDATE",), f"OLD.id = {acc_id}")
        url = f"/api/v1/alerts/{alert['id']}/review"
        expect(srv.admin().post(url, {"note": "verificato", "reactivate": "yes"}), 400,
               "invalid_request", what="reactivate not a boolean")
        r = srv.admin().post(url, {"note": "verificato", "reactivate": True})
        # SQLite's RAISE(ABORT) reads as a constraint (409), PostgreSQL's exception as 500
        check(r.status == 409 or r.status >= 500,
              f"the account could not be written: {r.status} {r.body[:200]!r}")
        eq(alerts(srv, account_id=acc_id)[0]["state"], "open", "the alert stays open")
        acc = expect(srv.admin().get(f"/api/v1/accounts/{acc_id}"), 200).json
        eq(acc.get("account", acc)["state"], "disabled", "the account stays disabled")
        check(not srv.has_event("account_enabled", account_id=acc_id), "no account_enabled event")
        check(not srv.has_event("alert_reviewed"), "no alert_reviewed event")
        db_exec(srv.db, *unblock)
        r = expect(srv.admin().post(url, {"note": "verificato", "reactivate": True}), 200).json
        eq((r["state"], r["reactivated"]), ("reviewed", True), "reviewed and re-enabled")
        acc = expect(srv.admin().get(f"/api/v1/accounts/{acc_id}"), 200).json
        eq(acc.get("account", acc)["state"], "active", "the account is active again")
        check(srv.has_event("account_enabled", account_id=acc_id), "account_enabled now")


def test_alerts_visibility_and_mail():
    with Server(population=POP) as srv:
        a, b = Env(srv), Env(srv)
        na, nb = a.purpose(["identity"]), b.purpose(["identity"])
        cf = registered(a.pop)[0]["cf"]
        fresh_window(srv, 3600, a.op, b.op, a.lead, b.lead)
        for env, pid in ((a, na), (b, nb)):
            for i in range(5):
                expect(env.op.get(f"/api/v1/persons/{cf}/household?purpose={pid}"), 403,
                       "category_not_permitted", "refused")
        all_alerts = alerts(srv)
        ids_a = {x["id"] for x in all_alerts if x["ente_id"] == a.ente["id"]}
        ids_b = {x["id"] for x in all_alerts if x["ente_id"] == b.ente["id"]}
        check(ids_a and ids_b, f"the admin sees both bodies' alerts: {all_alerts}")
        eq({x["id"] for x in alerts(srv, a.lead)}, ids_a, "lead A sees exactly body A's alerts")
        eq({x["id"] for x in alerts(srv, b.lead)}, ids_b, "lead B sees exactly body B's alerts")
        expect(a.op.get("/api/v1/alerts"), 403, "forbidden", "an operator lists alerts")
        auditor = srv.user("auditor")
        r = auditor.get("/api/v1/alerts")
        check(r.status in (200, 403), f"auditor: {r}")
        ua, ub = a.op.account["username"], b.op.account["username"]
        check(alert_mails(srv, a.lead.account["email"], ua), "lead A got mail about operator A")
        check(not alert_mails(srv, a.lead.account["email"], ub), "lead A got no mail about operator B")
        check(not alert_mails(srv, b.lead.account["email"], ua), "lead B got no mail about operator A")
        check(alert_mails(srv, harness.ADMIN_EMAIL, ua) and alert_mails(srv, harness.ADMIN_EMAIL, ub),
              "the registry office got both")
        # review without reactivation; state filters
        one = sorted(ids_a)[0]
        expect(srv.admin().post(f"/api/v1/alerts/{one}/review", {"note": "seen"}), 200, what="review")
        check(one not in {x["id"] for x in alerts(srv, state="open")}, "no longer open")
        check(one in {x["id"] for x in alerts(srv, state="reviewed")}, "reviewed")
        check(one in {x["id"] for x in alerts(srv, a.lead, state="reviewed")}, "the lead sees it reviewed")
        expect(srv.admin().post("/api/v1/alerts/999999/review", {"note": "x"}), 404, what="unknown alert")


if __name__ == "__main__":
    run_tests(globals())
