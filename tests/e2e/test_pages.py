#!/usr/bin/env python3
"""End-to-end: long lists in pages read by key (docs/api.md, "Pages") —
the access trail (oldest first), accounts, imports and alerts (newest
first).  Paging through every page gives each item exactly once, in the
order of the unpaged list; the last page has no next_cursor; records
written between two pages neither repeat nor shift the pages; a limit out
of range or a cursor no page gave is refused; a lead's alerts stay their
own body's, page by page.  And a person living in a convivenza (a care
home) has its name in the address.  One server, a small register."""
from harness import *  # noqa: F401,F403

POP = dict(persons=3000, comuni="036023", seed=31, days=1)   # 3,000: a convivenza in it; a FULL and a DELTA import
NO_ALERT_LIMITS = dict(alert_persons_hour=100000000, alert_persons_hard=100000000)


def pages(client, path, key, limit, extra=""):
    """Every page of path (limit items each): (items in order, pages read)."""
    items, cursor, n = [], None, 0
    while True:
        sep = "&" if "?" in path else "?"
        url = f"{path}{sep}limit={limit}{extra}" + (f"&cursor={cursor}" if cursor else "")
        r = expect(client.get(url), 200, what=f"page {n + 1} of {path}")
        n += 1
        got = r[key]
        check(len(got) <= limit, f"a page of {path} holds at most {limit}")
        items += got
        cursor = r.json.get("next_cursor")
        if cursor is None:
            return items, n
        eq(len(got), limit, f"a page of {path} that is not the last is full")
        check(n < 1000, "paging ends")


def test_pages():
    with Server(population=POP, **NO_ALERT_LIMITS) as srv:
        admin = srv.admin()
        ente = srv.create_ente()
        conv = srv.create_agreement(ente["id"], ["identity"])
        pid = conv["purpose_id"]
        op = srv.user("operator", ente["id"])
        people = [p for p in srv.population.current_persons() if not p["canc_reason"]][:23]
        for p in people:
            expect(op.get(f"/api/v1/persons/{p['cf']}?purpose={pid}"), 200, what="a look-up")

        # the trail: oldest first, pages of 5, the same records as unpaged
        whole = expect(admin.get(f"/api/v1/audit/access?ente_id={ente['id']}"), 200)
        eq(whole["truncated"], False, "the unpaged trail is whole")
        check("next_cursor" not in whole.json, "one page: no next_cursor")
        eq(whole["count"], len(people), "one record per look-up")
        recs, n = pages(admin, f"/api/v1/audit/access?ente_id={ente['id']}", "records", 5)
        eq([r["id"] for r in recs], [r["id"] for r in whole["records"]],
           "the pages hold every record once, in order")
        eq(n, 5, "23 records in pages of 5: five pages")
        first = expect(admin.get(f"/api/v1/audit/access?ente_id={ente['id']}&limit=5"), 200)
        eq((first["count"], first["truncated"]), (5, True), "a page's count and truncated")
        check(first.header("X-Visura-Signature"), "a page is signed as the whole trail is")
        # a record written between two pages lands on a later page, once
        expect(op.get(f"/api/v1/persons/{people[0]['cf']}?purpose={pid}"), 200)
        rest = expect(admin.get(f"/api/v1/audit/access?ente_id={ente['id']}&limit=100&cursor="
                                + first["next_cursor"]), 200)["records"]
        eq([r["id"] for r in rest], [r["id"] for r in whole["records"][5:]] + [rest[-1]["id"]],
           "the next page goes on where the first ended, the new record last")
        # the CSV export is not paged
        csv_text = expect(admin.get(f"/api/v1/audit/access?ente_id={ente['id']}&format=csv"),
                          200).body.decode()
        eq(len(csv_text.strip().splitlines()), len(people) + 2, "the CSV holds every record")

        # a care home's name is part of its residents' address
        homes = [f[-1] for f in srv.population.families.values() if f[-1]["kind"] == "2"]
        check(homes, "the population holds a convivenza")
        home = homes[0]
        resident = next(p for p in srv.population.current_persons()
                        if p["comune"] == home["comune"] and p["family_id"] == home["id"]
                        and not p["canc_reason"])
        conv_r = srv.create_agreement(ente["id"], ["identity", "residence"], purpose_code="R1")
        addr = expect(op.get(f"/api/v1/persons/{resident['cf']}?purpose={conv_r['purpose_id']}"),
                      200)["person"]["residence"]["address"]
        eq(addr.get("convivenza"), home["convivenza"], "the convivenza's name in the address")
        fam = next(p for p in people
                   if srv.population.families[(p["comune"], p["family_id"])][-1]["kind"] == "1")
        addr = expect(op.get(f"/api/v1/persons/{fam['cf']}?purpose={conv_r['purpose_id']}"),
                      200)["person"]["residence"]["address"]
        check("convivenza" not in addr, "no convivenza in the address of a famiglia anagrafica")

        # accounts: newest first
        for _ in range(4):
            srv.create_account("auditor")
        whole = expect(admin.get("/api/v1/accounts"), 200)["accounts"]
        got, n = pages(admin, "/api/v1/accounts", "accounts", 2)
        eq([a["id"] for a in got], [a["id"] for a in whole], "accounts page by page")
        eq([a["id"] for a in got], sorted((a["id"] for a in got), reverse=True), "newest first")
        check(n >= 3, "several pages of accounts")
        got, _ = pages(admin, "/api/v1/accounts?role=auditor", "accounts", 3)
        eq(len(got), 4, "a filter and pages together")

        # imports: the snapshot and one daily file
        whole = expect(admin.get("/api/v1/imports"), 200)["imports"]
        check(len(whole) >= 2, "two imports at least")
        got, n = pages(admin, "/api/v1/imports", "imports", 1)
        eq([i["id"] for i in got], [i["id"] for i in whole], "imports page by page")
        eq(n, len(whole), "one import per page")

        # alerts: three incidents raise three alerts; a lead sees their own
        lead = srv.user("lead", ente["id"])
        for k in range(3):
            expect(lead.post("/api/v1/incidents", {"what": f"incidente di prova {k}",
                                                   "occurred_at": "2026-11-20 10:00"}), 201)
        other = srv.create_ente()
        other_lead = srv.user("lead", other["id"])
        expect(other_lead.post("/api/v1/incidents", {"what": "altro ente",
                                                     "occurred_at": "2026-11-20 10:00"}), 201)
        whole = expect(admin.get("/api/v1/alerts"), 200)["alerts"]
        got, _ = pages(admin, "/api/v1/alerts", "alerts", 2)
        eq([a["id"] for a in got], [a["id"] for a in whole], "alerts page by page")
        check(len(whole) >= 4, "the four incidents' alerts")
        mine, n = pages(lead, "/api/v1/alerts", "alerts", 1)
        eq(len(mine), 3, "a lead pages through their body's alerts only")
        check(all(a["ente_id"] == ente["id"] for a in mine), "only their body's")
        eq(n, 3, "one alert a page")

        # what no page gave is refused
        for bad in ("limit=0", "limit=1001", "limit=x", "limit=%2B5", "limit=%205", "cursor=abc",
                    "cursor=-1",
                    "cursor=1234567890123456789"):
            expect(admin.get(f"/api/v1/accounts?{bad}"), 400, "invalid_request", bad)
        expect(admin.get("/api/v1/audit/access?limit=10001"), 400, "invalid_request")
        expect(admin.get("/api/v1/imports?limit=1001"), 400, "invalid_request")


if __name__ == "__main__":
    run_tests(globals())
