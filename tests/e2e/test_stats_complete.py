#!/usr/bin/env python3
"""End-to-end: only periods the register covers whole are published
(docs/api.md, "Periodi pubblicati").

The register holds a municipality through the day before the one its last
extract was read on (Italian time): `visura gen` reads at 23:00 UTC, so a
file of day D holds D.  With the files imported up to 3 March: the month
of March (a balance, a series' point, a bulletin) and the stocks at the
start of 1 April are refused, with an Italian message naming the last
complete month (February) and the last date (1 March), by the API and the
command line alike; without an end, a balance and a series stop at
February, stating the period covered.  Then the file of 4 March (which
holds flows) is imported: every answer of a complete period is the same
(but for the period covered it states) — what two readings of an incomplete month on consecutive
days would have differed by is one day's flows by sex."""
import os
import subprocess

import harness
from harness import *  # noqa: F401,F403

COMUNI = ("036023", "036005")
POOL = ",".join(COMUNI)
DAYS = 64                     # files to 2026-03-06
NOW = 62                      # seq 62: the delta of 2026-03-03


def seq(f):
    return int(os.path.basename(f).split("-")[1])


class Upto(harness.Population):
    """The snapshot of 1 January and the deltas to 3 March imported before
    `serve`; the later ones kept."""

    def load_into(self, db, work_dir):
        self.generate(work_dir)
        files = self.files()
        self.later = sorted((f for f in files if seq(f) > NOW), key=seq)
        now = [f for f in files if seq(f) <= NOW]
        p = subprocess.run([harness.VISURA, "import", "--quiet", "--db", db] + now,
                           capture_output=True, text=True)
        check(p.returncode == 0, f"visura import failed: {p.returncode}\n{p.stderr}")


def refused(client, url, *says):
    res = expect(client.get(url), 400, "invalid_request", url)
    msg = res.json["error"]["message"]
    for s in says:
        check(s in msg, f"{url}: the refusal says {s!r}: {msg}")
    return msg


READINGS = (
    f"/api/v1/stats/tables?table=bilancio&comuni={COMUNI[0]}",
    f"/api/v1/stats/tables?table=bilancio&comuni={POOL}&from=2026-02&to=2026-02",
    f"/api/v1/stats/tables?table=bilancio&comuni={POOL}&period=anno",
    f"/api/v1/stats/tables?table=posas&comuni={COMUNI[0]}&date=2026-03-01",
    f"/api/v1/stats/tables?table=famiglie&comuni={POOL}&date=2026-03-01",
    f"/api/v1/stats/series?indicator=population,births,deaths,registrations,cancellations"
    f"&comuni={POOL}&by=comune",
    f"/api/v1/stats/series?indicator=population,natural_balance&comuni={COMUNI[1]}&step=year",
)


def test_only_complete_periods():
    pop = Upto(persons=5000, comuni=POOL, seed=7, days=DAYS)
    with Server(population=pop) as srv:
        a = srv.admin()
        month = ("il mese 2026-03 non è coperto per intero", "per intero fino al 2026-03-03",
                 "l'ultimo mese completo è il 2026-02")
        # (a) the month in course and the stocks after the last whole day:
        # refused, naming the last complete month and the last date
        refused(a, f"/api/v1/stats/tables?table=bilancio&comuni={COMUNI[0]}&to=2026-03", *month)
        refused(a, f"/api/v1/stats/tables?table=bilancio&comuni={POOL}&from=2026-03&to=2026-03",
                *month)
        refused(a, f"/api/v1/stats/series?indicator=births&comuni={COMUNI[0]}&to=2026-03", *month)
        refused(a, f"/api/v1/stats/series?indicator=population&step=year&to=2026-03", *month)
        refused(a, f"/api/v1/stats/tables?table=posas&comuni={COMUNI[0]}&date=2026-04-01",
                "all'inizio del 2026-04-01 non è coperta per intero",
                "per intero fino al 2026-03-03", "l'ultima data è il 2026-03-01")
        out = subprocess.run([harness.VISURA, "stats", "--db", srv.db, "--table", "bilancio",
                              "--comune", COMUNI[0], "--to", "2026-03"],
                             capture_output=True, text=True)
        check(out.returncode == 1 and all(s in out.stderr for s in month),
              f"the command line refuses it alike: {out.returncode} {out.stderr}")
        out = subprocess.run([harness.VISURA, "stats", "--db", srv.db, "--series", "deaths",
                              "--to", "2026-03"], capture_output=True, text=True)
        check(out.returncode == 1 and all(s in out.stderr for s in month),
              f"the command line refuses the series alike: {out.returncode} {out.stderr}")
        out = subprocess.run([harness.VISURA, "stats", "report", "--db", srv.db, "--comune",
                              COMUNI[0], "--month", "2026-03"], capture_output=True, text=True)
        check(out.returncode != 0 and "non tutto il mese 2026-03" in out.stderr,
              f"no bulletin of the month in course: {out.returncode} {out.stderr}")
        # without an end: up to the last complete month, the period stated
        doc = expect(a.get(READINGS[0]), 200).json
        eq(max(r[4] for r in doc["righe"]), "2026-02-28", "the balance ends with February")
        eq(doc["riferimento"]["al"], "2026-02-28", "and says so")
        eq(doc["periodo_coperto"]["al"], "2026-03-03", "the period covered, stated")
        doc = expect(a.get(READINGS[5]), 200).json
        eq([p["periodo"] for p in doc["indicatori"][0]["serie"][0]["punti"]],
           ["2026-01", "2026-02"], "the series ends with February")
        eq(doc["periodo_coperto"]["al"], "2026-03-03", "the period covered, stated")
        # the web interface's default: the first of the month after the
        # balance's end
        expect(a.get(f"/api/v1/stats/tables?table=posas&comuni={POOL}&date=2026-03-01"), 200)

        # (b) another day imported: every complete period reads the same
        def reading(u):
            # all but the period covered, which states the day the register
            # reaches (one more after the import)
            doc = expect(a.get(u), 200, None, u).json
            doc.pop("periodo_coperto")
            return doc

        before = [reading(u) for u in READINGS]
        nxt = [f for f in pop.later if seq(f) == NOW + 1]     # 4 March, both municipalities
        flows = 0
        for f in nxt:
            with open(f, encoding="utf-8") as fh:
                flows += sum(ln.startswith(("PER\t", "EVT\t")) for ln in fh)
        check(flows > 0, f"the day imported changes persons: {flows} records")
        p = subprocess.run([harness.VISURA, "import", "--quiet", "--db", srv.db] + nxt,
                           capture_output=True, text=True)
        eq(p.returncode, 0, p.stderr)
        doc = expect(a.get(READINGS[0]), 200).json
        eq(doc["periodo_coperto"]["al"], "2026-03-04", "one more day covered")
        after = [reading(u) for u in READINGS]
        for u, x, y in zip(READINGS, before, after):
            eq(x, y, f"{u}: the same answer after another day's import")


if __name__ == "__main__":
    run_tests(globals())
