#!/usr/bin/env python3
"""End-to-end: the help page's configuration (GET /api/v1/help, public):
the help desk's contacts and hours (default: the municipal rules' Monday to
Friday 8-14), the accessibility and privacy links and the interface's
heading (print_heading), as configured; only
https links are accepted; the guides in Italian are served as plain text.

usage: test_help.py PATH/TO/visura [TEST...]
"""
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import harness  # noqa: E402
from harness import Server, check, eq, expect, run_tests  # noqa: E402

GUIDES = ("guida-operatore", "guida-responsabile", "guida-ufficio-anagrafe", "backup",
          "aggiornamento")


def test_help_defaults_and_guides():
    with Server(test_clock=False) as srv:
        r = expect(srv.request("GET", "/api/v1/help"), 200, what="help, without a session")
        eq(r["help_desk"]["hours"], "lunedì-venerdì 8:00-14:00", "the default hours")
        eq((r["help_desk"]["contact"], r["accessibility_url"], r["privacy_url"]), ("", "", ""),
           "nothing else configured")
        eq(r["heading"], "Servizio anagrafico", "the header's heading: print_heading's default")
        eq(r["spid_cie"], False, "no SPID/CIE login offered without oidc_issuer")
        for g in GUIDES:
            r = expect(srv.request("GET", f"/ui/guide/{g}.md"), 200, what=f"the guide {g}")
            eq(r.header("Content-Type"), "text/plain; charset=utf-8", f"{g} is served as text")
            eq(r.header("X-Content-Type-Options"), "nosniff", "never sniffed as HTML")
            check(r.body.decode().startswith("# "), f"{g}: its Markdown")


def test_help_configured():
    opts = dict(help_desk_contact="Ufficio anagrafe, tel. 059 000 0000, anagrafe@comune.example.it",
                help_desk_hours="lunedì-venerdì 8:00-14:00, giovedì anche 15:00-17:00",
                accessibility_url="https://comune.example.it/accessibilita",
                privacy_url="https://comune.example.it/privacy", print_heading="Comune di Valdoria")
    with Server(test_clock=False, **opts) as srv:
        r = expect(srv.request("GET", "/api/v1/help"), 200, what="help")
        eq((r["help_desk"]["contact"], r["help_desk"]["hours"], r["accessibility_url"],
            r["privacy_url"]), (opts["help_desk_contact"], opts["help_desk_hours"],
                                opts["accessibility_url"], opts["privacy_url"]), "as configured")
        eq(r["heading"], "Comune di Valdoria", "the header's heading: print_heading")


def test_only_https_links():
    d = tempfile.mkdtemp(prefix="visura-help-")
    db = harness.new_database(d, "help")
    for bad in ("javascript:alert(1)", "http://comune.example.it/privacy",
                'https://x.example/"onmouseover=1'):
        p = subprocess.run([harness.VISURA, "serve", "--db", db, "--self-signed",
                            os.path.join(d, "tls"), "--listen", "127.0.0.1:0",
                            "--privacy-url", bad] + harness.serve_user_args(),
                           capture_output=True, text=True, timeout=60)
        check(p.returncode != 0 and "https://" in p.stderr,
              f"privacy_url {bad!r} refused at start: {p.returncode} {p.stderr}")


if __name__ == "__main__":
    run_tests(globals())
