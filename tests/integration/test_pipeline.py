#!/usr/bin/env python3
"""Integration test: gen -> full import -> daily deltas, driving the real
`visura` binary, with counts and "as of" answers checked against a model of
the register rebuilt here, independently, from the files the generator wrote.

usage: test_pipeline.py PATH/TO/visura
(on PostgreSQL with VISURA_TEST_BACKEND=postgres: see tests/e2e/harness.py)
"""
import datetime
import glob
import os
import random
import shutil
import subprocess
import stat
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness  # noqa: E402  (the database of either back end)

VISURA = sys.argv[1]
FAILED = []
PASSED = [0]


def run(*args, ok=(0,)):
    p = subprocess.run([VISURA, *args], capture_output=True, text=True)
    if p.returncode not in ok:
        raise AssertionError(f"visura {' '.join(args)} -> {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def check(cond, what):
    if not cond:
        FAILED.append(what)
        print("FAIL:", what)
    else:
        PASSED[0] += 1


def tsv(text):
    lines = text.strip("\n").split("\n")
    head = lines[0].split("\t")
    return [dict(zip(head, line.split("\t"))) for line in lines[1:] if line]


def ymd(s):
    return int(s.replace("-", "")) if s else 0


# Person fields that make up a version (everything but id and valid_from).
CONTENT = slice(3, 21)


class Register:
    """What the store must hold, rebuilt from the files."""

    def __init__(self):
        self.persons = {}   # (comune, id) -> list of [valid_from, fields]
        self.events = []    # (comune, date)

    def load(self, path):
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        comune = lines[0].split("\t")[3]
        for line in lines[1:]:
            if not line.startswith("PER\t"):
                if line.startswith("EVT\t"):
                    self.events.append((comune, ymd(line.split("\t")[3])))
                continue
            f = line.split("\t")
            key = (comune, f[1])
            vf = ymd(f[2])
            versions = self.persons.setdefault(key, [])
            if versions and versions[-1][1][CONTENT] == f[CONTENT]:
                continue
            if versions:
                vf = max(vf, versions[-1][0])
            versions.append([vf, f])

    def version_at(self, key, date):
        found = None
        versions = self.persons[key]
        for i, (vf, f) in enumerate(versions):
            nxt = versions[i + 1][0] if i + 1 < len(versions) else None
            if vf <= date and (nxt is None or date < nxt):
                found = f
        return found

    def counts(self, comune, date):
        persons = cancelled = 0
        families = set()
        for key in self.persons:
            if comune and key[0] != comune:
                continue
            f = self.version_at(key, date)
            if f is None or ymd(f[15]) > date:
                continue
            if not f[16] or ymd(f[17]) > date:
                persons += 1
                if f[19]:
                    families.add((key[0], f[19]))
            else:
                cancelled += 1
        events = sum(1 for c, d in self.events if (not comune or c == comune) and d <= date)
        return persons, cancelled, len(families), events


def store_counts(db, comune, date):
    args = ["query", "--db", db]
    if comune:
        args += ["--comune", comune]
    if date:
        d = str(date)
        args += ["--as-of", f"{d[:4]}-{d[4:6]}-{d[6:]}"]
    row = tsv(run(*args, "counts").stdout)[0]
    return int(row["persons"]), int(row["cancelled"]), int(row["households"]), int(row["events"])


def iso(date):
    d = str(date)
    return f"{d[:4]}-{d[4:6]}-{d[6:]}"


def main():
    work = tempfile.mkdtemp(prefix="visura-it-")
    try:
        feed = os.path.join(work, "feed")
        db = harness.new_database(work, "v")
        comuni = ["036023", "036005"]
        run("gen", "--persons", "4000", "--comune", ",".join(comuni), "--seed", "11",
            "--days", "20", "--date", "2026-01-01", "--out", feed)
        run("init", "--db", db, "--admin-name", "Maria Rossi", "--admin-email", "anagrafe@comune.example.it")

        # Same seed, same output.
        feed2 = os.path.join(work, "feed2")
        run("gen", "--persons", "4000", "--comune", ",".join(comuni), "--seed", "11",
            "--days", "20", "--date", "2026-01-01", "--out", feed2)
        for f in sorted(os.listdir(feed)):
            with open(os.path.join(feed, f), "rb") as a, open(os.path.join(feed2, f), "rb") as b:
                check(a.read() == b.read(), f"gen is deterministic for {f}")

        model = Register()
        # Day by day (sequence, then municipality): a person who moves is
        # cancelled by the origin's delta before the destination's registers
        # them, and one codice fiscale is registered in one place at a time.
        files = sorted(glob.glob(os.path.join(feed, "*.tsv")),
                       key=lambda f: (int(os.path.basename(f).split("-")[1]), f))
        fulls = [f for f in files if f.endswith("-FULL.tsv")]
        deltas = [f for f in files if f.endswith("-DELTA.tsv")]
        check(len(fulls) == 2 and len(deltas) == 40, "gen wrote 2 snapshots and 20 deltas each")

        for f in fulls:
            run("import", "--db", db, "--quiet", f)
            model.load(f)
        snap = 20260101
        for c in comuni + [""]:
            check(store_counts(db, c, snap) == model.counts(c, snap),
                  f"counts after snapshot for {c or 'all'}: "
                  f"{store_counts(db, c, snap)} vs {model.counts(c, snap)}")

        # Deltas day by day, each checked; re-importing one changes nothing.
        for f in deltas:
            out = run("import", "--db", db, "--quiet", f).stdout
            check("DELTA" in out, f"delta imported: {out}")
            model.load(f)
        again = run("import", "--db", db, "--quiet", deltas[3]).stdout
        check("già caricata, nessuna modifica" in again, "re-importing a delta changes nothing")

        last = 20260121
        dates = [snap, 20260105, 20260110, 20260115, last, 0]
        for c in comuni + [""]:
            for d in dates:
                want = model.counts(c, d or 29991231)
                got = store_counts(db, c, d)
                check(got == want, f"counts for {c or 'all'} as of {d}: store {got}, model {want}")

        # Every person a delta changed: the version as of each day matches.
        rnd = random.Random(5)
        changed = [k for k, v in model.persons.items() if len(v) > 1]
        check(len(changed) >= 8, f"deltas changed persons ({len(changed)})")
        for key in rnd.sample(changed, min(60, len(changed))):
            for d in (snap, 20260110, last):
                f = model.version_at(key, d)
                if f is None:
                    continue
                rows = tsv(run("query", "--db", db, "--as-of", iso(d), "--comune", key[0],
                               "person", f[3], ok=(0, 1)).stdout)
                check(len(rows) == 1 and rows[0]["id"] == key[1] and
                      rows[0]["family_id"] == f[19] and rows[0]["civil_status"] == f[10] and
                      rows[0]["canc_reason"] == (f[16] or "0"),
                      f"person {key} as of {d}")

        # A household as of the snapshot lists its registered members then.
        fam_members = {}
        for key in model.persons:
            f = model.version_at(key, snap)
            if f and key[0] == "036023" and f[19] and not f[16]:
                fam_members.setdefault(f[19], set()).add(key[1])
        for fam in rnd.sample(sorted(fam_members), 10):
            text = run("query", "--db", db, "--as-of", iso(snap), "household", "036023",
                       fam).stdout
            members = tsv(text.split("\n\n", 1)[1])
            check({m["id"] for m in members} == fam_members[fam], f"household {fam} as of snapshot")

        # A bad file through the CLI: exit 1, a reject report, nothing changed.
        before = store_counts(db, "", 0)
        bad = os.path.join(work, "bad.tsv")
        with open(deltas[-1], encoding="utf-8") as f:
            lines = f.read().split("\n")
        hdr = lines[0].split("\t")
        hdr[5] = str(int(hdr[5]) + 1)
        hdr[4] = "2026-02-01T23:00:00Z"
        body = [l for l in lines[1:] if l.startswith("PER\t")][:3]
        with open(bad, "w", encoding="utf-8") as f:
            f.write("\t".join(hdr) + "\n" + "\n".join(body) + "\n")   # no END: truncated
        p = run("import", "--db", db, "--quiet", bad, ok=(1,))
        check("respinto, database invariato" in p.stderr, "truncated file refused")
        with open(bad + ".rejects", encoding="utf-8") as f:
            check("il file è troncato" in f.read(), "reject report names the truncation")
        check(store_counts(db, "", 0) == before, "database unchanged after a refused file")
        # --rejects naming a FIFO (what /dev/null is to root): refused before
        # anything, not removed nor replaced by the report.
        fifo = os.path.join(work, "rejects.fifo")
        os.mkfifo(fifo, 0o600)
        p = run("import", "--db", db, "--quiet", "--rejects", fifo, bad, ok=(2,))
        check(f"rapporto degli scarti: '{fifo}' è una FIFO, non un file regolare" in p.stderr,
              f"--rejects on a FIFO refused: {p.stderr}")
        check(stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO is left a FIFO")
        check(store_counts(db, "", 0) == before, "database unchanged")
        # A report that cannot be written is said, not pointed to.
        nowhere = os.path.join(work, "no-such-dir", "bad.rejects")
        p = run("import", "--db", db, "--quiet", "--rejects", nowhere, bad, ok=(1,))
        check("respinto, database invariato" in p.stderr and
              "rapporto degli scarti non scritto: --rejects: impossibile scrivere" in p.stderr and
              "vedere" not in p.stderr, f"an unwritable report is said: {p.stderr}")

        # A gap in the sequence is refused.
        hdr[5] = str(int(hdr[5]) + 5)
        with open(bad, "w", encoding="utf-8") as f:
            f.write("\t".join(hdr) + "\nEND\t0\n")
        p = run("import", "--db", db, "--quiet", bad, ok=(1,))
        with open(bad + ".rejects", encoding="utf-8") as f:
            check("sequenza interrotta" in f.read(), "sequence gap refused")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"checks: {PASSED[0]} passed, {len(FAILED)} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
