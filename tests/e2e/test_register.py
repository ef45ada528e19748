#!/usr/bin/env python3
"""End-to-end: the record of processing activities (GDPR art. 30) and the
statistics API."""
from harness import *  # noqa: F401,F403


def test_record_of_processing():
    with Server() as srv:
        a = srv.admin()
        entries = expect(a.get("/api/v1/processing"), 200)["entries"]
        eq([e["number"] for e in entries], ["1", "2", "3", "4", "5"], "pre-filled at init")
        check(all(e["legal_basis"] and e["retention"] and e["measures"] for e in entries),
              "the entries carry legal basis, retention and measures")
        new = expect(a.post("/api/v1/processing", {
            "number": "6", "process": "Prova", "description": "d", "purpose": "p",
            "legal_basis": "art. 6", "data_categories": "anagrafici", "retention": "1 anno",
            "data_subjects": "residenti", "measures": "cifratura", "special_categories": False}), 201)
        expect(a.post("/api/v1/processing", {"number": "6", "process": "x"}), 400,
               "invalid_request", "missing required fields")
        expect(a.put(f"/api/v1/processing/{new['id']}", {"retention": "2 anni"}), 200)
        csv = a.get("/api/v1/processing?format=csv")
        eq(csv.status, 200, "csv")
        check(csv.body.decode().count("\n") == 7 and "2 anni" in csv.body.decode(), "csv rows")
        page = a.get("/api/v1/processing?format=html")
        check(page.status == 200 and b"<h1>Registro" in page.body and b"<script" not in page.body,
              "printable page")
        # Purposes point at entries; a referenced entry cannot be deleted.
        ente = srv.create_ente()
        conv = srv.create_agreement(ente["id"], ["identity"])
        p = [x for x in expect(a.get(f"/api/v1/convenzioni/{conv['id']}"), 200)["purposes"]][0]
        eq(p["processing_ref"], "1", "a purpose without a reference points at entry 1")
        expect(a.post(f"/api/v1/convenzioni/{conv['id']}/purposes",
                      {"code": "X", "description": "x", "legal_basis": "y",
                       "processing_ref": "99"}), 400, "invalid_request", "unknown entry")
        expect(a.post(f"/api/v1/convenzioni/{conv['id']}/purposes",
                      {"code": "Y", "description": "x", "legal_basis": "y",
                       "processing_ref": "6"}), 201)
        expect(a.request("DELETE", f"/api/v1/processing/{new['id']}"), 409, "entry_in_use",
               "a referenced entry stays")
        first = entries[3]
        expect(a.request("DELETE", f"/api/v1/processing/{first['id']}"), 200, what="unreferenced")
        op = srv.user("operator", ente["id"])
        expect(op.get("/api/v1/processing"), 403, "forbidden", "operators do not read it")


# a standard table at the start of the month after the population's import (the
# old summary is retired; the stock tables take the first of a month)
FAM = "/api/v1/stats/tables?table=famiglie&date=2026-02-01"
FAM_CLI = ("--table", "famiglie", "--date", "2026-02-01")


def test_statistics_threshold_has_a_floor():
    """Small-cell suppression cannot be switched off: a threshold below the
    configured floor (stats_threshold_min, default 3) is refused for every
    role, over the API and by `visura stats`."""
    import subprocess
    import harness
    pop = {"persons": 600, "comuni": "036023", "seed": 4, "days": 35}
    with Server(population=pop) as srv:
        for who, c in (("admin", srv.admin()), ("auditor", srv.user("auditor"))):
            for t in ("0", "1", "2", "-1", "1x"):
                r = c.get(f"{FAM}&threshold={t}")
                expect(r, 400, "invalid_request", f"{who}: threshold={t}")
            check(b"stats_threshold_min" in c.get(f"{FAM}&threshold=1").body,
                  "the error names the floor")
            eq(expect(c.get(f"{FAM}&threshold=3"), 200).json["soglia"], 3,
               f"{who}: threshold 3")
            eq(expect(c.get(FAM), 200).json["soglia"], 3, f"{who}: the default")
            expect(c.get(f"{FAM}&threshold=1&format=csv"), 400, "invalid_request",
                   f"{who}: csv with threshold 1")
        for t in ("1", "2", "0"):
            p = subprocess.run([harness.VISURA, "stats", "--db", srv.db, *FAM_CLI,
                                "--threshold", t],
                               capture_output=True, text=True)
            eq(p.returncode, 2, f"visura stats --threshold {t}: {p.stderr}")
            check("stats_threshold_min" in p.stderr and not p.stdout, f"a clear refusal: {p.stderr!r}")
        cfg = os.path.join(srv.dir, "stats.conf")
        with open(cfg, "w") as f:
            f.write(f"db = {srv.db}\nstats_threshold_min = 5\n")
        p = subprocess.run([harness.VISURA, "stats", "--config", cfg, *FAM_CLI,
                            "--threshold", "4"],
                           capture_output=True, text=True)
        eq(p.returncode, 2, f"threshold 4 under a floor of 5: {p.stderr}")
        p = subprocess.run([harness.VISURA, "stats", "--config", cfg, *FAM_CLI],
                           capture_output=True, text=True)
        eq(p.returncode, 0, f"the configured floor as default: {p.stderr}")
        eq(json.loads(p.stdout)["soglia"], 5, "the default threshold is the floor")
    with Server(population=pop, stats_threshold_min=5) as srv:
        a = srv.admin()
        expect(a.get(f"{FAM}&threshold=4"), 400, "invalid_request", "4 under a floor of 5")
        eq(expect(a.get(FAM), 200).json["soglia"], 5, "the default is the floor")
        eq(expect(a.get(f"{FAM}&threshold=7"), 200).json["soglia"], 7, "above the floor")


if __name__ == "__main__":
    run_tests(globals())
