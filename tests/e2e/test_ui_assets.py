#!/usr/bin/env python3
"""End-to-end: the browser interface's files.  `visura serve` reads the
interface directory once at start and serves from memory only the files of
known types it found there: exact paths, no way out of the set, the same
security headers as the API, entity tags for revalidation.  Also the import
history the interface's admin screen reads (GET /api/v1/imports)."""
import gzip
import hashlib
import os
import subprocess
import tempfile

import harness
from harness import *  # noqa: F401,F403


def ui_dir():
    d = tempfile.mkdtemp(prefix="visura-ui-")
    os.makedirs(os.path.join(d, "app", "deep"))
    files = {
        "index.html": "<!doctype html><html lang=it><title>t</title><script type=module src=/ui/app/main.js></script>",
        "app/main.js": "console.log('main');",
        "app/deep/style.css": "body{color:#000}",
        "app/big.css": "".join(
            f".rule-{i}{{color:#123456;margin:0 auto}}\n" for i in range(400)),
        "app/main.js.map": "{}",           # not a served type
        ".hidden.js": "secret()",          # hidden: left out
        "app/notes.txt": "internal notes",  # not a served type
    }
    for name, text in files.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    return d


def test_serves_the_interface_files():
    d = ui_dir()
    with Server(ui_dir=d) as srv:
        r = expect(srv.request("GET", "/"), 200, what="index")
        check(r.header("Content-Type").startswith("text/html"), "html type")
        check("script-src 'self'" in r.header("Content-Security-Policy"), "the CSP is sent with the page")
        eq(r.header("Cache-Control"), "no-store", "the page itself is always fetched again")
        r = expect(srv.request("GET", "/ui/app/main.js"), 200, what="script")
        eq(r.body, b"console.log('main');", "script bytes")
        check(r.header("Content-Type").startswith("text/javascript"), "script type")
        check(r.header("Cache-Control").startswith("private, max-age"), "assets may be cached")
        etag = r.header("ETag")
        eq(etag, '"' + hashlib.sha256(b"console.log('main');").hexdigest()[:32] + '"',
           "the entity tag: the content's SHA-256")
        r = srv.request("GET", "/ui/app/main.js", headers={"If-None-Match": etag})
        eq(r.status, 304, "revalidation with the tag")
        eq(r.body, b"", "no body on 304")
        eq(r.header("ETag"), etag, "the same tag again")
        # A file whose first request is a revalidation: its tag made then.
        r = srv.request("GET", "/ui/app/deep/style.css", headers={"If-None-Match": etag})
        eq(r.status, 200, "another file's tag does not match")
        r = srv.request("GET", "/ui/app/deep/style.css",
                        headers={"If-None-Match": r.header("ETag")})
        eq(r.status, 304, "its own does")
        expect(srv.request("GET", "/ui/app/deep/style.css"), 200, what="nested file")
        # Text assets are also kept gzip-compressed, for clients that take it.
        plain = expect(srv.request("GET", "/ui/app/big.css"), 200, what="big css")
        check(plain.header("Content-Encoding") is None, "no gzip unless asked")
        z = expect(srv.request("GET", "/ui/app/big.css", headers={"Accept-Encoding": "br, gzip"}), 200)
        eq(z.header("Content-Encoding"), "gzip", "gzip when accepted")
        eq(z.header("Vary"), "Accept-Encoding", "caches told the answer varies")
        eq(gzip.decompress(z.body), plain.body, "the same bytes")
        check(len(z.body) * 5 < len(plain.body), f"much smaller: {len(z.body)} of {len(plain.body)}")
        r = srv.request("GET", "/ui/app/big.css", headers={"Accept-Encoding": "gzip;q=0, identity"})
        check(r.header("Content-Encoding") is None, "gzip refused with q=0")
        r = srv.request("GET", "/ui/app/deep/style.css", headers={"Accept-Encoding": "gzip"})
        check(r.header("Content-Encoding") is None and r.body == b"body{color:#000}",
              "tiny files are sent as they are")
        # Outside the loaded set: nothing, whatever the spelling.
        for path in ("/ui/app/main.js.map", "/ui/.hidden.js", "/ui/app/notes.txt", "/ui/",
                     "/ui/../visura.db", "/ui/%2e%2e/visura.db", "/ui/app/../index.html",
                     "/ui/app//main.js", "/ui/APP/main.js", "/ui/index.html%00.js"):
            r = srv.request("GET", path)
            check(r.status in (400, 404), f"{path}: refused, got {r.status}")
            check(error_shape_ok(r), f"{path}: the error shape")
        expect(srv.request("POST", "/ui/app/main.js", body=b"x"), 405, what="read only")
        # Files changed on disk after start are not seen: the set is fixed.
        with open(os.path.join(d, "app", "main.js"), "w") as f:
            f.write("changed()")
        with open(os.path.join(d, "app", "late.js"), "w") as f:
            f.write("late()")
        eq(srv.request("GET", "/ui/app/main.js").body, b"console.log('main');", "loaded once")
        expect(srv.request("GET", "/ui/app/late.js"), 404, what="a file added later")


def test_a_named_directory_must_load():
    d = tempfile.mkdtemp(prefix="visura-ui-empty-")
    db = os.path.join(d, "v.db")
    p = subprocess.run([harness.VISURA, "init", "--db", db, "--admin-name", "Maria Rossi", "--admin-email", "anagrafe@comune.example.it"], capture_output=True, text=True)
    eq(p.returncode, 0, "init")
    p = subprocess.run([harness.VISURA, "serve", "--db", db, "--self-signed", os.path.join(d, "tls"),
                        "--listen", f"127.0.0.1:{free_port()}", "--metrics-listen", "",
                        "--ui-dir", os.path.join(d, "missing")] + harness.serve_user_args(),
                       capture_output=True, text=True, timeout=30)
    check(p.returncode != 0, "a missing interface directory stops the start")
    check("missing" in p.stderr + p.stdout, f"the reason names the directory: {p.stderr}")


def test_import_history():
    with Server(population=dict(persons=400, comuni="036023,036005", seed=5, days=2)) as srv:
        admin = srv.admin()
        r = expect(admin.get("/api/v1/imports"), 200, what="history")["imports"]
        eq(len(r), 6, "2 snapshots + 4 deltas")
        eq([i["id"] for i in r], sorted((i["id"] for i in r), reverse=True), "newest first")
        full = [i for i in r if i["kind"] == "FULL"]
        eq(sorted(i["comune"] for i in full), ["036005", "036023"], "the snapshots")
        check(all(i["persons"] > 0 and len(i["sha256"]) == 64 and i["finished_at"] for i in full),
              "counts, hash, time")
        eq({i["comune"]: i["name"] for i in full}, {"036005": "CARPI", "036023": "MODENA"},
           "municipality names for people")
        feeds = expect(admin.get("/api/v1/feeds"), 200)["feeds"]
        eq({f["comune"]: f["name"] for f in feeds}, {"036005": "CARPI", "036023": "MODENA"}, "feed names")
        one = expect(admin.get("/api/v1/imports?comune=036005&limit=2"), 200)["imports"]
        eq([(i["comune"], i["seq"]) for i in one], [("036005", 3), ("036005", 2)], "filtered, limited")
        for bad in ("limit=0", "limit=1001", "limit=x", "comune=36005", "comune=03600A"):
            expect(admin.get(f"/api/v1/imports?{bad}"), 400, "invalid_request", bad)
        ente = srv.create_ente()
        lead = srv.user("lead", ente["id"])
        expect(lead.get("/api/v1/imports"), 403, "forbidden", "only the office")
        srv.create_agreement(ente["id"], ["identity"], comuni=("036023",))
        conv = expect(lead.get("/api/v1/purposes"), 200)["convenzioni"][0]
        eq(conv["comuni_names"], {"036023": "MODENA"}, "the purposes name their municipalities")


if __name__ == "__main__":
    run_tests(globals())
