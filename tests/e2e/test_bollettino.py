#!/usr/bin/env python3
"""End-to-end: the monthly bulletin (src/bollettino).

A population whose files cover the month just closed (and, imported later,
the current one) is loaded while the server runs; the office enables the
bulletin of both municipalities (API and `visura stats schedule`), and the
server's periodic duties archive each one once.  Checked: the bulletin's
tables equal the standard tables of the API for that month and, cell by
cell, an independent count from the files (tests/e2e/test_stats_tables.py's
model); its indicators are those of its published cells; the text's numbers
are the table's, and a hidden cell is neither said nor computable from what
is said; the PDF is a PDF whose text (pdftotext) says the same, and
rendered again (`visura stats report --verify`) gives the archived bytes;
only the
office, the auditors and the municipality's own accounts read a
municipality's bulletins; restarts and repeated duties archive nothing
twice; moving the clock across a month end archives the next month once the
register covers it, and not before."""
import datetime
import hashlib
import html.parser
import http.client
import os
import re
import shutil
import subprocess
import tempfile
import time

import harness
from harness import *  # noqa: F401,F403
import test_stats_tables as model

COMUNI = ("036023", "036005")
THRESHOLD = 10          # high on purpose: the month's flows get hidden cells


def month_bounds(year, month):
    first = datetime.date(year, month, 1)
    nxt = datetime.date(year + (month == 12), month % 12 + 1, 1)
    return first, nxt - datetime.timedelta(days=1)


def prev_month(d):
    p = d.replace(day=1) - datetime.timedelta(days=1)
    return p.year, p.month


class Tables(html.parser.HTMLParser):
    """The tables of the bulletin's page by id (rows of cell texts) and its
    summary text."""

    def __init__(self):
        super().__init__()
        self.tables, self.summary = {}, ""
        self._table = self._row = self._cell = None
        self._in_summary = False
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "table":
            self._table = self.tables.setdefault(a.get("id", ""), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""
        elif tag == "p" and a.get("class") == "sintesi":
            self._in_summary = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "p":
            self._in_summary = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._in_summary:
            self.summary += data


def num(text):
    """A cell as printed: None for a hidden one, else the integer (12.345)."""
    return None if text == "ris." else int(text.replace(".", ""))


def wait_for(srv, what, cond, timeout=40):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(1)
    raise TestFailure(f"not within {timeout} s: {what}")


def archive(client, mese=None):
    items = expect(client.get("/api/v1/bollettini"), 200).json["bollettini"]
    return [b for b in items if mese is None or b["mese"] == mese]


def import_files(srv, files):
    p = subprocess.run([harness.VISURA, "import", "--quiet", "--db", srv.db] + files,
                       capture_output=True, text=True)
    eq(p.returncode, 0, f"import: {p.stdout}\n{p.stderr}")


def check_bulletin(srv, a, pop, comune, first, last):
    """The bulletin of comune for first..last against the API's tables and
    the independent count."""
    mese = first.strftime("%Y-%m")
    page = expect(a.get(f"/api/v1/bollettini/{comune}/{mese}?format=html"), 200)
    check(page.header("Content-Type").startswith("text/html"), "a page")
    doc = Tables()
    doc.feed(page.body.decode())
    eq(doc.scripts, 0, "no script on the printable page")
    check('href="/static/print.css"' in page.body.decode(), "the printed visura's style sheet")
    # The province's map from the interface's boundaries, the municipality
    # highlighted (one path), with the attribution of the source.
    body = page.body.decode()
    eq(body.count('<path fill="#0066cc"'), 1, "one municipality highlighted on the map")
    check(body.count("<path ") > 40, "the province's municipalities on the map")
    check("Confini: ISTAT (CC-BY 4.0), elaborazione openpolis" in body, "the map's attribution")
    T = {k: {r[0]: r[1:] for r in rows[1:]} for k, rows in doc.tables.items()}
    last_s, first_s = last.isoformat(), first.isoformat()
    # the stock tables of the last day: those of the first of the next
    # month, the population at its start (the API takes firsts of months)
    next_s = (last + datetime.timedelta(days=1)).isoformat()

    def table(name, **params):
        q = "&".join(f"{k}={v}" for k, v in params.items())
        return expect(a.get(f"/api/v1/stats/tables?table={name}&comuni={comune}"
                            f"&threshold={THRESHOLD}&{q}"), 200).json

    # The balance: the API's table for the month, transposed, protected as
    # the API protects the month, its start and end known: every published
    # cell the independent count, every cell (hidden ones too) as the API's
    # table of the month; no identity gives a hidden cell back.
    bil = table("bilancio", **{"from": first_s[:7], "to": last_s[:7]})
    eq(len(bil["righe"]), 3, "one month, three sexes")
    truth = model.expected_balance(pop, (comune,), [(first_s, last_s)])
    items = bil["colonne"][6:]
    sexes = ("Maschi", "Femmine", "Totale")
    hidden_total, bcells, tr = [], {}, {}
    for j, item in enumerate(items):
        got = [num(x) for x in T["tavola-bilancio"][item]]
        for sx, sex in enumerate(sexes):
            bcells[(sex, j)], tr[(sex, j)] = got[sx], truth[(first_s, sex)][j]
            # the same cells published and hidden as the API's table of
            # the month (and the series): nothing hidden here is shown there
            eq(got[sx], bil["righe"][sx][6 + j],
               f"{comune} {mese} bilancio {item} {sex}: the API's table")
        if got[2] is None:
            hidden_total.append(item)
    # start + flows = end, start + balances = end, the start and the end
    # known (POSAS publishes them for any date)
    flows = (0, 1, 2, 4, 5, 6, 7, 8, 9, 11)
    idents = [[(sex, j) for j in ident] for sex in sexes
              for ident in (flows, (1, 2, 3), (4, 5, 6, 7, 8, 9, 10), (0, 3, 10, 11))]
    idents += [[(sex, j) for sex in sexes] for j in range(12)]
    model.check_protected(bcells, tr, idents, THRESHOLD, f"bulletin balance {comune} {mese}",
                          derived=lambda cell: cell[1] in (3, 10),
                          known=lambda cell: cell[1] in (0, 11))
    for sex in sexes:
        for j in (0, 11):
            check(bcells[(sex, j)] is not None or 0 < tr[(sex, j)] < THRESHOLD
                  or 0 < tr[("Maschi", j)] < THRESHOLD or 0 < tr[("Femmine", j)] < THRESHOLD,
                  f"the population at the start and at the end is published ({sex}, {j})")
    tot = {item: num(T["tavola-bilancio"][item][2]) for item in items}

    # Residents by age group on the last day: the sums of POSAS's single
    # years, published only when each of them is.
    posas = table("posas", date=next_s)
    ages = model.expected_ages(pop, (comune,), last_s)
    groups = {"0-14 anni": range(0, 15), "15-64 anni": range(15, 65), "65 anni e più": range(65, 101)}
    rows = {r[2]: r[3:] for r in posas["righe"]}
    for g, years in groups.items():
        for c in range(3):
            cells = [rows[str(y)][c] for y in years]
            want = None if None in cells else sum(cells)
            eq(num(T["tavola-popolazione"][g][c]), want, f"{g} col {c}")
            if want is not None:
                eq(want, sum(ages[str(y)][c] for y in years), f"{g}: the independent count")
    eq([num(x) for x in T["tavola-popolazione"]["Totale"]], rows["999"], "the total row")
    eq([num(x) for x in T["tavola-popolazione"]["Totale"]],
       [bcells[(sex, 11)] for sex in sexes], "the stock on the last day = the balance's end")

    # Households and foreigners on the last day.
    fam = table("famiglie", date=next_s)
    hh = model.expected_households(pop, (comune,), last_s)
    for r in fam["righe"]:
        eq(num(T["tavola-famiglie"][r[2]][0]), r[3], f"famiglie {r[2]}")
        if r[3] is not None:
            eq(r[3], hh[r[2]][0], f"famiglie {r[2]}: the independent count")
    st = table("strasa_cittadinanza", date=next_s)
    for r in st["righe"]:
        eq([num(x) for x in T["tavola-stranieri"][r[3]]], r[4:], f"stranieri {r[3]}")

    # The indicators: from the published cells above only.
    ind = {k: (None if v[0] == "ris." else float(v[0].replace(".", "").replace(",", ".")))
           for k, v in T["tavola-indicatori"].items()}
    young, old = num(T["tavola-popolazione"]["0-14 anni"][2]), num(T["tavola-popolazione"]["65 anni e più"][2])
    total = num(T["tavola-popolazione"]["Totale"][2])
    if young and old is not None:
        check(abs(ind["Indice di vecchiaia"] - round(100 * old / young, 1)) < 0.051, "old-age index")
    else:
        eq(ind["Indice di vecchiaia"], None, "no old-age index without its cells")
    days = (last - first).days + 1
    births, start, end = tot["Nati vivi"], tot["Popolazione inizio periodo"], tot["Popolazione fine periodo"]
    if None in (births, start, end):
        eq(ind["Tasso di natalità"], None, "no birth rate without its cells")
    else:
        rate = births * 1000 * 365 / days / ((start + end) / 2)
        check(abs(ind["Tasso di natalità"] - round(rate, 1)) < 0.051, f"birth rate {rate}")
    foreign = num(T["tavola-stranieri"]["Totale"][2])
    if foreign is not None and total:
        check(abs(ind["Incidenza degli stranieri"] - round(100 * foreign / total, 1)) < 0.051,
              "foreign share")

    # The text: each number the table's, each hidden cell unsaid.
    text = " ".join(doc.summary.split())
    name = expect(a.get("/api/v1/bollettini"), 200).json["bollettini"][0]["nome"]
    m = re.search(r"^Al [^,]+? i residenti a ([^.]+?) sono ([0-9.]+)(?: \(([+-]?[0-9.]+) rispetto al)?", text)
    if end is None:
        check(m is None and "è riservato" in text, f"a hidden population is not said: {text}")
    else:
        check(m is not None, f"the population is said: {text}")
        eq(num(m.group(2)), end, f"the text's population = the table's: {text}")
    if None not in (start, end):
        eq(int(m.group(3).replace(".", "")), end - start, "the change = end - start")
    said = {}
    for phrase, item in (("nati", "Nati vivi"), ("nato", "Nati vivi"), ("morti", "Morti"),
                         ("morto", "Morti")):
        mm = re.search(r"([0-9.]+) " + phrase + r"\b", text)
        if mm:
            said[item] = num(mm.group(1))
    for item in ("Nati vivi", "Morti"):
        if tot[item] is None:
            check(item not in said, f"a hidden {item} is not said: {text}")
        else:
            eq(said.get(item), tot[item], f"the text's {item} = the table's")
    ins = ("Iscritti da altri comuni", "Iscritti dall'estero", "Altri iscritti")
    outs = ("Cancellati per altri comuni", "Cancellati per l'estero", "Altri cancellati")
    for group, word in ((ins, "iscritti"), (outs, "cancellati")):
        mm = re.search(r"([0-9.]+) " + word + r"\b", text)
        if any(tot[i] is None for i in group):
            check(mm is None, f"{word}: a sum with a hidden term is not said: {text}")
        else:
            eq(num(mm.group(1)), sum(tot[i] for i in group), f"the text's {word}")
    # Every integer the text says is a published cell or a sum of them.
    allowed = {v for v in tot.values() if v is not None}
    allowed |= {abs(end - start)} if None not in (start, end) else set()
    for group in (ins, outs):
        if all(tot[i] is not None for i in group):
            allowed.add(sum(tot[i] for i in group))
    for t in ("tavola-famiglie", "tavola-stranieri", "tavola-popolazione"):
        allowed |= {abs(num(v[-1])) for v in T[t].values() if num(v[-1]) is not None}
    bare = re.sub(r"\b\d{1,2}°? (gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|"
                  r"settembre|ottobre|novembre|dicembre) \d{4}", "", text)
    bare = re.sub(r"\d+,\d+", "", bare)
    for tok in re.findall(r"\d[\d.]*", bare):
        check(abs(num(tok.rstrip("."))) in allowed,
              f"the text says {tok}, which is no published cell: {text}")
    return hidden_total, text, name


def months():
    """The month just closed (first, last day), the current one, and a
    population whose files cover both, from the day before the first."""
    today = datetime.date.today()
    y, mth = prev_month(today)
    first, last = month_bounds(y, mth)
    start = first - datetime.timedelta(days=1)         # the snapshot: the day before
    cur_first, cur_last = month_bounds(today.year, today.month)
    days = (cur_last - start).days + 1                  # files up to the day after this month
    pop = harness.Population(persons=1400, comuni=",".join(COMUNI), seed=11, days=days,
                             date=start.isoformat())
    return today, start, first, last, cur_first, cur_last, pop


def import_until_today(srv, pop, today, start):
    """The population's files up to yesterday imported; the later ones
    returned."""
    pop.generate(os.path.join(srv.dir, "population"))
    files = pop.files()
    # seq 1 is the snapshot, seq n the delta of start + n - 1 days: up to yesterday now
    def seq(f):
        return int(os.path.basename(f).split("-")[1])
    cut = (today - start).days
    now_files = [f for f in files if seq(f) <= cut]
    later = [f for f in files if seq(f) > cut]
    check(later, "files left for the next month")
    import_files(srv, now_files)
    return later


def protections(srv):
    """visura_stats_protections_total by outcome, from /metrics."""
    c = http.client.HTTPConnection("127.0.0.1", srv.metrics_port, timeout=10)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    got = dict(re.findall(r'^visura_stats_protections_total\{outcome="(\w+)"\} (\d+)$', text,
                          re.M))
    return {k: int(v) for k, v in got.items()}


def private_ui():
    """A copy of the interface (web/dist) only root can read, as a source
    tree under /root is on Debian; None when the tests do not run as root
    (the server then drops nothing)."""
    if os.geteuid() != 0:
        return None
    top = tempfile.mkdtemp(prefix="visura-ui-")   # 0700, root's
    shutil.copytree(os.path.join(harness.REPO, "web", "dist"), os.path.join(top, "web"))
    return top


def test_bollettino():
    today, start, first, last, cur_first, cur_last, pop = months()
    # The maps' boundaries where the server, once it has dropped root to
    # serve, can no longer read them: it reads them at its start (with the
    # interface), not when a month is archived.  Before, such a server
    # archived every bulletin without its map, and said nothing.
    top = private_ui()
    try:
        run_bollettino(today, start, first, last, cur_first, cur_last, pop,
                       {"ui_dir": os.path.join(top, "web")} if top else {})
    finally:
        if top:
            shutil.rmtree(top)


def run_bollettino(today, start, first, last, cur_first, cur_last, pop, ui):
    with Server(stats_threshold_min=THRESHOLD, **ui) as srv:
        a = srv.admin()
        later = import_until_today(srv, pop, today, start)

        # Enabling: the API for one, the command line for the other.
        r = expect(a.put(f"/api/v1/bollettini/comuni/{COMUNI[0]}"), 200).json
        eq((r["enabled"], r["changed"]), (True, True), "enabled")
        eq(expect(a.put(f"/api/v1/bollettini/comuni/{COMUNI[0]}"), 200).json["changed"], False,
           "enabled already")
        expect(a.put("/api/v1/bollettini/comuni/999999"), 400, "invalid_request")
        p = subprocess.run([harness.VISURA, "stats", "schedule", "--db", srv.db, "--enable",
                            COMUNI[1]], capture_output=True, text=True)
        eq(p.returncode, 0, p.stderr)
        eq(sorted(c["comune"] for c in expect(a.get("/api/v1/bollettini/comuni"), 200).json["comuni"]),
           sorted(COMUNI), "both enabled")

        mese = first.strftime("%Y-%m")
        got = wait_for(srv, "the month just closed archived for both",
                       lambda: len(archive(a, mese)) == 2 and archive(a, mese))
        eq(sorted(b["comune"] for b in got), sorted(COMUNI), "one each")
        before = {b["comune"]: (b["generated_at"], b["pdf_sha256"]) for b in got}
        # The two municipalities are of one province: their bulletins'
        # strasa_cittadinanza is one protection (with its exact audit),
        # computed for the first and kept for the second.
        kept = protections(srv)
        check(kept["kept"] >= 1 and kept["computed"] >= 1,
              f"the bulletins share the province's protection: {kept}")

        hidden, text, _ = check_bulletin(srv, a, pop, COMUNI[0], first, last)
        check(hidden, f"threshold {THRESHOLD} hides some of the month's flows (else the test "
                      f"of the text proves nothing): {text}")

        # The PDF: a PDF, its hash the archive's, its text the page's.
        res = expect(a.get(f"/api/v1/bollettini/{COMUNI[0]}/{mese}?format=pdf"), 200)
        eq(res.header("Content-Type"), "application/pdf", "a PDF")
        check(res.body.startswith(b"%PDF-") and b"%%EOF" in res.body[-64:], "PDF framing")
        eq(hashlib.sha256(res.body).hexdigest(), before[COMUNI[0]][1], "the archived hash")
        if shutil.which("pdftotext"):
            path = os.path.join(srv.dir, "b.pdf")
            with open(path, "wb") as f:
                f.write(res.body)
            out = subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True,
                                 text=True)
            eq(out.returncode, 0, f"pdftotext reads it: {out.stderr}")
            flat = " ".join(out.stdout.split())
            check("Bollettino demografico mensile" in flat, "the title in the PDF")
            m = re.search(r"i residenti a .+? sono ([0-9.]+)", flat)
            check(m and m.group(1) in text, f"the PDF's population is the page's: {flat[:400]}")
            for word in ("Bilancio demografico", "Indicatori", "Famiglie per numero"):
                check(word in flat, f"{word} in the PDF")

        # Who reads: the office and auditors all; a municipality's accounts
        # their own; anybody else nothing.
        ente = srv.create_ente(kind="municipality", comune=COMUNI[0])
        lead = srv.user("lead", ente["id"])
        eq([b["comune"] for b in archive(lead)], [COMUNI[0]], "the municipality's own")
        expect(lead.get(f"/api/v1/bollettini/{COMUNI[0]}/{mese}?format=pdf"), 200)
        expect(lead.get(f"/api/v1/bollettini/{COMUNI[1]}/{mese}"), 403, "forbidden")
        expect(lead.get("/api/v1/bollettini/comuni"), 403, "forbidden")
        expect(lead.put(f"/api/v1/bollettini/comuni/{COMUNI[1]}"), 403, "forbidden")
        other = srv.create_ente(kind="police")
        op = srv.user("operator", other["id"])
        eq(archive(op), [], "a body that is no municipality reads none")
        expect(op.get(f"/api/v1/bollettini/{COMUNI[0]}/{mese}"), 403, "forbidden")
        aud = srv.user("auditor")
        eq(len(archive(aud, mese)), 2, "auditors read all")
        expect(a.get(f"/api/v1/bollettini/{COMUNI[0]}/1999-01"), 404, "not_found")
        expect(a.get(f"/api/v1/bollettini/{COMUNI[0]}/{mese}?format=doc"), 400, "invalid_request")

        # Once: on demand it stays as it is, and a restart adds nothing
        # (the command line with the server's threshold: with another the
        # archived one is withdrawn).
        conf = os.path.join(srv.dir, "report.conf")
        with open(conf, "w") as f:
            f.write(f"stats_threshold_min = {THRESHOLD}\n")
        p = subprocess.run([harness.VISURA, "stats", "report", "--db", srv.db, "--config", conf,
                            "--comune", COMUNI[0], "--month", mese], capture_output=True, text=True)
        eq(p.returncode, 0, p.stderr)
        check("già in archivio" in p.stdout, p.stdout)
        # Reproducible: rendered again as of its generation, twice, the same
        # bytes as the archive's (the PDF's dates are the generation's).
        archived = res.body
        # (cairo 1.16 writes a date set by the caller without the "D:" that
        # PDF 1.5 calls optional; poppler reads it)
        m = re.search(rb"/CreationDate \((?:D:)?(\d{14})Z\)", archived)
        check(m, f"the PDF has a creation date: {archived[-600:]}")
        gen_at = re.sub(r"\D", "", before[COMUNI[0]][0])[:14]
        eq(m.group(1).decode(), gen_at, "the creation date is the generation's")
        check(re.search(rb"/ModDate \((?:D:)?" + gen_at.encode(), archived), "the modification date too")
        fresh = []
        for k in range(2):
            time.sleep(1.1 * k)          # another second of the clock
            p = subprocess.run([harness.VISURA, "stats", "report", "--db", srv.db, "--config", conf,
                                "--comune", COMUNI[0], "--month", mese, "--verify", "--out",
                                srv.dir], capture_output=True, text=True)
            eq(p.returncode, 0, p.stdout + p.stderr)
            check("identico" in p.stdout and before[COMUNI[0]][1] in p.stdout, p.stdout)
            with open(os.path.join(srv.dir, f"bollettino-{COMUNI[0]}-{mese}-verifica.pdf"), "rb") as f:
                fresh.append(f.read())
        eq(fresh[0], fresh[1], "two renderings, the same bytes")
        eq(hashlib.sha256(fresh[0]).hexdigest(), before[COMUNI[0]][1], "the archived hash")
        eq(fresh[0], archived, "the archived bytes")
        # A month not archived is said, not rendered.
        p = subprocess.run([harness.VISURA, "stats", "report", "--db", srv.db, "--comune",
                            COMUNI[0], "--month", "1999-01", "--verify"], capture_output=True,
                           text=True)
        eq(p.returncode, 1, p.stderr)
        check("non è in archivio" in p.stderr, p.stderr)
        srv.restart()
        a = srv.admin()
        time.sleep(6)
        got = archive(a)
        eq(len(got), 2, "nothing archived twice after a restart")
        eq({b["comune"]: (b["generated_at"], b["pdf_sha256"]) for b in got}, before, "the same")

        # Across the month's end: the current month closes; not archived
        # until the register covers it to its last day.
        target = datetime.datetime.combine(cur_last + datetime.timedelta(days=1),
                                           datetime.time(12, 0), datetime.timezone.utc)
        srv.advance_to(int(target.timestamp()))
        a = srv.admin()
        time.sleep(6)
        eq(len(archive(a)), 2, "the closed month is not archived before it is covered")
        import_files(srv, later)
        cur = cur_first.strftime("%Y-%m")
        wait_for(srv, "the next month archived", lambda: len(archive(a, cur)) == 2)
        time.sleep(6)
        eq(sorted((b["comune"], b["mese"]) for b in archive(a)),
           sorted((c, m) for c in COMUNI for m in (mese, cur)), "one per municipality and month")
        res = expect(a.get(f"/api/v1/bollettini/{COMUNI[1]}/{cur}?format=pdf"), 200)
        check(res.body.startswith(b"%PDF-"), "a PDF for the next month")
        expect(a.delete(f"/api/v1/bollettini/comuni/{COMUNI[1]}"), 200)
        eq([c["comune"] for c in expect(a.get("/api/v1/bollettini/comuni"), 200).json["comuni"]],
           [COMUNI[0]], "stopped")
        eq(len(archive(a)), 4, "the archive stays")


def protection_rule():
    """STATS_PROTECTION_RULE, read from src/stats/stats.h."""
    with open(os.path.join(harness.REPO, "src", "stats", "stats.h")) as f:
        return int(re.search(r"#define STATS_PROTECTION_RULE (\d+)", f.read()).group(1))


def upgrade_from_before_rules(srv):
    """The database as an upgrade from a release before migration 21 leaves
    it: every migration from 21 on taken back (21 and 22's columns and
    table, 30's column gone; the others make indexes only if absent), then
    the server started again, which applies them to the archived rows."""
    srv.stop()
    harness.db_exec(srv.db, "ALTER TABLE bollettino DROP COLUMN soglia",
                    "ALTER TABLE bollettino DROP COLUMN regola",
                    "DROP TABLE bollettino_superato",
                    "ALTER TABLE notice DROP COLUMN withdrawn_at",
                    "DELETE FROM schema_migrations WHERE version >= 21")
    srv._serve(keep_port=True)


def served(client, comune, mese):
    """The archived PDF's hash as served, or the refusal."""
    res = client.get(f"/api/v1/bollettini/{comune}/{mese}?format=pdf")
    if res.status == 200:
        return hashlib.sha256(res.body).hexdigest()
    return res


def regenerate_cli(srv, threshold, comune):
    """`visura stats regenerate` of one municipality with a configuration
    of that threshold: its output, and the configuration's path."""
    conf = os.path.join(srv.dir, f"t{threshold}.conf")
    with open(conf, "w") as f:
        f.write(f"stats_threshold_min = {threshold}\n")
    p = subprocess.run([harness.VISURA, "stats", "regenerate", "--db", srv.db, "--config",
                        conf, "--comune", comune], capture_output=True, text=True)
    eq(p.returncode, 0, p.stdout + p.stderr)
    return p, conf


def test_bollettino_rule_withdrawn():
    """A bulletin archived under an earlier protection rule (as an upgrade
    leaves it) is not served, listed as withdrawn with its content kept,
    and made again under the current rule by the command line, by the API
    and by the monthly run; a current one stays as it is."""
    rule = protection_rule()
    check(rule >= 3, f"the rule's version: {rule}")
    today, start, first, last, cur_first, cur_last, pop = months()
    mese, cur = first.strftime("%Y-%m"), cur_first.strftime("%Y-%m")
    with Server(stats_threshold_min=THRESHOLD) as srv:
        a = srv.admin()
        later = import_until_today(srv, pop, today, start)
        for c in COMUNI:
            expect(a.put(f"/api/v1/bollettini/comuni/{c}"), 200)
        got = wait_for(srv, "the month just closed archived for both",
                       lambda: len(archive(a, mese)) == 2 and archive(a, mese))
        for b in got:
            eq((b["regola"], b["stato"]), (rule, "pubblicato"), f"made under the current rule: {b}")
        before = {b["comune"]: (b["generated_at"], b["pdf_sha256"]) for b in got}
        eq(served(a, COMUNI[0], mese), before[COMUNI[0]][1], "served")

        # An upgrade: the archived months are of no known rule.
        upgrade_from_before_rules(srv)
        a = srv.admin()
        ente = srv.create_ente(kind="municipality", comune=COMUNI[0])
        lead = srv.user("lead", ente["id"])
        for who in (a, lead):
            for fmt in ("pdf", "html"):
                res = expect(who.get(f"/api/v1/bollettini/{COMUNI[0]}/{mese}?format={fmt}"), 410,
                             "bollettino_superato")
                msg = res.json["error"]["message"]
                check("ritirato" in msg and "regola di riservatezza precedente" in msg
                      and "rigener" in msg, f"an Italian reason: {msg}")
        time.sleep(6)        # the periodic duties: no regeneration at a start
        got = archive(a, mese)
        eq(len(got), 2, "both still archived")
        for b in got:
            eq((b["regola"], b["stato"]), (0, "ritirato"), f"listed as withdrawn: {b}")
            check("html_url" not in b and "pdf_url" not in b, f"no link to a withdrawn one: {b}")
            check("regola di riservatezza precedente" in b["nota"], b["nota"])
            eq((b["generated_at"], b["pdf_sha256"]), before[b["comune"]], "the content kept")
        eq([b["stato"] for b in archive(lead)], ["ritirato"], "the municipality sees it withdrawn")
        rows = harness.db_query(srv.db, "SELECT comune, sha256, length(pdf) AS n FROM bollettino"
                                " WHERE mese = ? ORDER BY comune", (int(mese.replace("-", "")),))
        eq({r["comune"]: r["sha256"] for r in rows}, {c: before[c][1] for c in COMUNI},
           "the old documents stay in the database")
        p = subprocess.run([harness.VISURA, "stats", "schedule", "--db", srv.db],
                           capture_output=True, text=True)
        eq(p.returncode, 0, p.stderr)
        eq(p.stdout.count("ritirato: protetto con una regola precedente"), 2, p.stdout)
        # Neither verified nor reported as if current.
        for extra in (["--verify"], []):
            p = subprocess.run([harness.VISURA, "stats", "report", "--db", srv.db, "--comune",
                                COMUNI[0], "--month", mese] + extra, capture_output=True, text=True)
            eq(p.returncode, 1, p.stdout + p.stderr)
            check("ritirato" in p.stderr and "visura stats regenerate" in p.stderr, p.stderr)

        # The command line: one municipality's, with the server's threshold.
        p, conf = regenerate_cli(srv, THRESHOLD, COMUNI[0])
        check(f"bollettino {COMUNI[0]} {mese} rigenerato con la regola {rule} (era 0" in p.stdout,
              p.stdout)
        b0 = archive(a, mese)
        new0 = [b for b in b0 if b["comune"] == COMUNI[0]][0]
        eq((new0["regola"], new0["stato"]), (rule, "pubblicato"), f"regenerated: {new0}")
        check(new0["generated_at"] != before[COMUNI[0]][0], "a new generation")
        eq(served(a, COMUNI[0], mese), new0["pdf_sha256"], "served again, the new PDF")
        eq(served(lead, COMUNI[0], mese), new0["pdf_sha256"], "to the municipality too")
        expect(a.get(f"/api/v1/bollettini/{COMUNI[1]}/{mese}"), 410, "bollettino_superato")
        kept = harness.db_query(srv.db, "SELECT comune, mese, regola, sha256 FROM bollettino_superato")
        eq([(r["comune"], int(r["regola"]), r["sha256"]) for r in kept],
           [(COMUNI[0], 0, before[COMUNI[0]][1])], "the withdrawn one kept aside")
        ev = srv.events("bulletin_regenerated")
        eq(len(ev), 1, f"one event: {ev}")
        check(f"{COMUNI[0]} {mese} regola 0 -> {rule}, soglia 0 -> {THRESHOLD} (riga di comando)"
              in ev[0]["detail"], ev)
        # verified as a current one now: the same bytes made again
        p = subprocess.run([harness.VISURA, "stats", "report", "--db", srv.db, "--config", conf,
                            "--comune", COMUNI[0], "--month", mese, "--verify"],
                           capture_output=True, text=True)
        eq(p.returncode, 0, p.stdout + p.stderr)
        check("identico" in p.stdout and new0["pdf_sha256"] in p.stdout, p.stdout)

        # The monthly run: with the next month's bulletin, the other one's
        # withdrawn month; the current one as it was.
        target = datetime.datetime.combine(cur_last + datetime.timedelta(days=1),
                                           datetime.time(12, 0), datetime.timezone.utc)
        srv.advance_to(int(target.timestamp()))
        a = srv.admin()
        import_files(srv, later)
        wait_for(srv, "the next month archived", lambda: len(archive(a, cur)) == 2)
        wait_for(srv, "the withdrawn month regenerated by the monthly run",
                 lambda: all(b["stato"] == "pubblicato" for b in archive(a, mese)))
        for b in archive(a):
            eq((b["regola"], b["stato"]), (rule, "pubblicato"), f"all current: {b}")
        eq([(b["generated_at"], b["pdf_sha256"]) for b in archive(a, mese)
            if b["comune"] == COMUNI[0]], [(new0["generated_at"], new0["pdf_sha256"])],
           "the current one unchanged")
        eq(served(a, COMUNI[0], mese), new0["pdf_sha256"], "and served unchanged")
        ev = srv.events("bulletin_regenerated")
        eq(len(ev), 2, f"two events: {ev}")
        check(any(f"{COMUNI[1]} {mese} regola 0 -> {rule}, soglia 0 -> {THRESHOLD} (pianificatore)"
                  in e["detail"]
                  for e in ev), ev)

        # The API: the office's, everything withdrawn at once (another
        # upgrade: all four made under no known rule).
        upgrade_from_before_rules(srv)
        a = srv.admin()
        expect(lead.post("/api/v1/bollettini/rigenera", {}), 403, "forbidden")
        expect(a.post("/api/v1/bollettini/rigenera", {"mese": "2026-13"}), 400, "invalid_request")
        expect(a.post("/api/v1/bollettini/rigenera", {"comune": "999999"}), 400, "invalid_request")
        expect(a.post("/api/v1/bollettini/rigenera", {"altro": 1}), 400, "invalid_request")
        r = expect(a.post("/api/v1/bollettini/rigenera", {"mese": "1999-01"}), 200).json
        eq((r["regola"], r["bollettini"]), (rule, []), "nothing withdrawn that month")
        r = expect(a.post("/api/v1/bollettini/rigenera", {}), 200).json
        eq(sorted((b["comune"], b["mese"], b["regola_precedente"], b["rigenerato"])
                  for b in r["bollettini"]),
           sorted((c, m, 0, True) for c in COMUNI for m in (mese, cur)), "all four regenerated")
        for b in archive(a):
            eq((b["regola"], b["stato"]), (rule, "pubblicato"), f"all current: {b}")
            eq(served(a, b["comune"], b["mese"]), b["pdf_sha256"], "served")
        eq(len(srv.events("bulletin_regenerated")), 6, "an event each")
        r = expect(a.post("/api/v1/bollettini/rigenera", {}), 200).json
        eq(r["bollettini"], [], "none left withdrawn")


def test_bollettino_threshold_withdrawn():
    """A bulletin made with another threshold than the configured one
    (stats_threshold_min changed, the server restarted) is withdrawn as
    one of an earlier rule: 410, listed as withdrawn saying why, made again
    with the configured threshold by the API and the command line, the
    earlier one kept aside, once per threshold."""
    rule = protection_rule()
    today, start, first, last, cur_first, cur_last, pop = months()
    mese = first.strftime("%Y-%m")
    lower = 5
    with Server(stats_threshold_min=THRESHOLD) as srv:
        a = srv.admin()
        import_until_today(srv, pop, today, start)
        for c in COMUNI:
            expect(a.put(f"/api/v1/bollettini/comuni/{c}"), 200)
        got = wait_for(srv, "the month just closed archived for both",
                       lambda: len(archive(a, mese)) == 2 and archive(a, mese))
        for b in got:
            eq((b["regola"], b["soglia"], b["stato"]), (rule, THRESHOLD, "pubblicato"),
               f"made with the configured threshold: {b}")
        before = {b["comune"]: (b["generated_at"], b["pdf_sha256"]) for b in got}

        # The office lowers the threshold: both withdrawn, not served.
        srv.options["stats_threshold_min"] = lower
        srv.restart()
        a = srv.admin()
        for fmt in ("pdf", "html"):
            res = expect(a.get(f"/api/v1/bollettini/{COMUNI[0]}/{mese}?format={fmt}"), 410,
                         "bollettino_superato")
            msg = res.json["error"]["message"]
            check(f"con la soglia {THRESHOLD}" in msg and f"fissa la soglia {lower}" in msg
                  and "rigener" in msg, f"an Italian reason naming both thresholds: {msg}")
        time.sleep(6)        # the periodic duties: no regeneration at a start
        for b in archive(a, mese):
            eq((b["soglia"], b["stato"]), (THRESHOLD, "ritirato"), f"listed as withdrawn: {b}")
            check("pdf_url" not in b, f"no link to a withdrawn one: {b}")
            check(f"con la soglia {THRESHOLD}" in b["nota"] and "soglia attuale" in b["nota"],
                  b["nota"])
            eq((b["generated_at"], b["pdf_sha256"]), before[b["comune"]], "the content kept")

        # Made again: the API for one, the command line for the other.
        r = expect(a.post("/api/v1/bollettini/rigenera", {"comune": COMUNI[0]}), 200).json
        eq((r["regola"], r["soglia"]), (rule, lower), "the rule and threshold made with")
        eq([(b["comune"], b["mese"], b["regola_precedente"], b["soglia_precedente"],
             b["rigenerato"]) for b in r["bollettini"]],
           [(COMUNI[0], mese, rule, THRESHOLD, True)], "the one asked for")
        new0 = [b for b in archive(a, mese) if b["comune"] == COMUNI[0]][0]
        eq((new0["soglia"], new0["stato"]), (lower, "pubblicato"), f"regenerated: {new0}")
        eq(served(a, COMUNI[0], mese), new0["pdf_sha256"], "served again, the new PDF")
        check(new0["pdf_sha256"] != before[COMUNI[0]][1], "another document")
        expect(a.get(f"/api/v1/bollettini/{COMUNI[1]}/{mese}"), 410, "bollettino_superato")
        p, _ = regenerate_cli(srv, lower, COMUNI[1])
        check(f"e la soglia {lower} (era {THRESHOLD}" in p.stdout, p.stdout)
        for b in archive(a, mese):
            eq((b["soglia"], b["stato"]), (lower, "pubblicato"), f"all current: {b}")
            eq(served(a, b["comune"], b["mese"]), b["pdf_sha256"], "served")
        ev = srv.events("bulletin_regenerated")
        check(any(f"soglia {THRESHOLD} -> {lower} (API)" in e["detail"] for e in ev), ev)

        # Back to the first threshold: withdrawn again, and made again (the
        # earlier rows kept aside once per threshold).
        srv.options["stats_threshold_min"] = THRESHOLD
        srv.restart()
        a = srv.admin()
        expect(a.get(f"/api/v1/bollettini/{COMUNI[0]}/{mese}"), 410, "bollettino_superato")
        r = expect(a.post("/api/v1/bollettini/rigenera", {}), 200).json
        eq(sorted((b["comune"], b["soglia_precedente"], b["rigenerato"]) for b in r["bollettini"]),
           [(c, lower, True) for c in sorted(COMUNI)], "both made again")
        for b in archive(a, mese):
            eq((b["soglia"], b["stato"]), (THRESHOLD, "pubblicato"), f"current again: {b}")
            eq(served(a, b["comune"], b["mese"]), b["pdf_sha256"], "served")
        kept = harness.db_query(srv.db, "SELECT comune, soglia, sha256 FROM bollettino_superato"
                                " ORDER BY comune, soglia")
        eq(sorted((r["comune"], int(r["soglia"])) for r in kept),
           sorted((c, t) for c in COMUNI for t in (lower, THRESHOLD)),
           "each withdrawn one kept aside, once per threshold")
        eq({r["comune"]: r["sha256"] for r in kept if int(r["soglia"]) == THRESHOLD},
           {c: before[c][1] for c in COMUNI}, "the first ones, as they were")


if __name__ == "__main__":
    run_tests(globals())
