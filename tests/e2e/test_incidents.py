#!/usr/bin/env python3
"""End-to-end: a lead reports a security incident; admins are alerted at
once; one action suspends the whole body and cuts every session and token;
the incident moves through its states with a history."""
import harness
from harness import *  # noqa: F401,F403


def test_incident_to_suspension():
    with Server() as srv:
        ente = srv.create_ente()
        other = srv.create_ente()
        lead = srv.user("lead", ente["id"])
        op = srv.user("operator", ente["id"])
        api, _ = srv.create_account("api", ente["id"])
        tok = expect(srv.admin().post(f"/api/v1/accounts/{api['id']}/tokens", {"name": "t"}), 201)
        bearer = srv.client(bearer=tok["token"])
        expect(bearer.get("/api/v1/auth/me"), 200, what="token works before")
        expect(op.get("/api/v1/auth/me"), 200, what="session works before")

        r = expect(lead.post("/api/v1/incidents", {
            "what": "credentials of an operator found on a shared workstation",
            "occurred_at": "2026-11-20 10:00", "accounts": op.account["username"]}), 201)
        iid = r["id"]
        eq(r["state"], "open", "a new incident is open")
        alerts = expect(srv.admin().get("/api/v1/alerts"), 200)["alerts"]
        check(any(a["rule"] == "incident" and str(iid) in a["detail"] for a in alerts),
              "admins are alerted at once")
        check(any(m["kind"] == "alert" for m in srv.outbox()), "and mailed")
        expect(op.post("/api/v1/incidents", {"what": "x", "occurred_at": "now"}), 403, "forbidden",
               "operators do not report incidents")
        other_lead = srv.user("lead", other["id"])
        eq(expect(other_lead.get("/api/v1/incidents"), 200)["incidents"], [],
           "another body's lead sees none of it")

        r = expect(srv.admin().post(f"/api/v1/enti/{ente['id']}/suspend",
                                    {"reason": f"incident {iid}"}), 200)
        eq(r["ente"]["state"], "suspended", "body suspended")
        check(r["accounts_cut_off"] >= 3, "its accounts are cut off")
        # revoked in the database, not only refused while the body is suspended
        ids = ",".join(str(a) for a in (lead.account["id"], op.account["id"], api["id"]))
        for table in ("session", "api_token"):
            left = db_query(srv.db, f"SELECT id FROM {table} WHERE account_id IN ({ids})"
                                    f" AND revoked_at = 0")
            eq(left, [], f"every {table} of the body's accounts revoked")
        expect(op.get("/api/v1/auth/me"), 401, what="the operator's session ends at once")
        expect(bearer.get("/api/v1/auth/me"), 401, what="the API token ends at once")
        c = srv.client()
        expect(c.login(op.account["username"], op.password), 403, "ente_not_active",
               "no new login while suspended")

        for state in ("handled", "closed"):
            expect(srv.admin().post(f"/api/v1/incidents/{iid}/state",
                                    {"state": state, "note": f"marked {state}"}), 200)
            # the list by state (the office's home counts the open ones so)
            for s in ("open", "handled", "closed"):
                ids = [i["id"] for i in expect(srv.admin().get(f"/api/v1/incidents?state={s}"),
                                               200)["incidents"]]
                eq(iid in ids, s == state, f"after {state}: listed as {s}")
        expect(srv.admin().get("/api/v1/incidents?state=aperto"), 400, "invalid_request",
               what="a state that is not one")
        expect(srv.admin().post(f"/api/v1/incidents/{iid}/state",
                                {"state": "forgotten", "note": "x"}), 400, "invalid_request")
        inc = [i for i in expect(srv.admin().get("/api/v1/incidents"), 200)["incidents"]
               if i["id"] == iid][0]
        eq(inc["state"], "closed", "final state")
        eq([h["state"] for h in inc["history"]], ["open", "handled", "closed"], "history in order")


def test_suspension_whose_revocation_fails_changes_nothing():
    """A suspension and the revocation of the body's sessions and tokens are
    one transaction: when a session cannot be revoked the body stays active
    and the answer says the suspension failed (the old server ignored the
    failed revocation and answered 200 with the body suspended)."""
    with Server() as srv:
        ente = srv.create_ente()
        op = srv.user("operator", ente["id"])
        unblock = harness.db_block(srv.db, "session", ("UPDATE",), f"OLD.account_id = {op.account['id']}")
        r = srv.admin().post(f"/api/v1/enti/{ente['id']}/suspend", {"reason": "incidente"})
        check(r.status == 409 or r.status >= 500, f"the suspension failed: {r.status} {r.body[:200]!r}")
        harness.db_exec(srv.db, *unblock)
        eq(expect(srv.admin().get(f"/api/v1/enti/{ente['id']}"), 200)["state"], "active",
           "the body stays active")
        left = db_query(srv.db, "SELECT id FROM session WHERE account_id = ? AND revoked_at = 0",
                        (op.account["id"],))
        check(left, "the operator's session as it was")
        r = expect(srv.admin().post(f"/api/v1/enti/{ente['id']}/suspend", {"reason": "incidente"}),
                   200, what="the suspension once sessions can be written")
        expect(op.get("/api/v1/auth/me"), 401, what="the operator's session ends")


def test_alert_mail_reaches_every_admin():
    """An alert is mailed to every active admin and the body's leads,
    however many (the old server kept the first 16 addresses: with 20
    admins the body's lead got nothing)."""
    with Server() as srv:
        ente = srv.create_ente()
        lead = srv.user("lead", ente["id"])
        row = harness.db_query(srv.db, "SELECT id FROM account WHERE role = 'admin' ORDER BY id")[0]
        cols = [c for c, _ in harness.db_columns(srv.db, "account") if c != "id"]
        sel = ", ".join("username || '-' || ?" if c == "username" else
                        "? AS email" if c == "email" else c for c in cols)
        extra = [f"admin{n}@esempio.invalid" for n in range(20)]
        harness.db_exec(srv.db, *[(f"INSERT INTO account ({', '.join(cols)}) SELECT {sel}"
                                   f" FROM account WHERE id = ?", (str(n), addr, row["id"]))
                                  for n, addr in enumerate(extra)], harness.CONTROL_GEN_BUMP)
        expect(lead.post("/api/v1/incidents", {"what": "credenziali trovate su un foglio",
                                               "occurred_at": "2026-11-20 10:00"}), 201)
        got = {m["recipient"] for m in srv.outbox() if m["kind"] == "alert"}
        missing = [a for a in extra + [lead.account["email"]] if a not in got]
        eq(missing, [], "every admin and the lead mailed")


if __name__ == "__main__":
    run_tests(globals())
