#!/usr/bin/env python3
"""End-to-end: where webhook pushes may go.  URLs are parsed (not compared
by prefix): a user name before '@', a look-alike name, another scheme are
refused when an agreement is saved, and again when a push is made (a row
written some other way), where the address connected to is checked too.
The receiver listens on 127.0.0.9, so that "127.0.0.1" in the wrong place
of a URL would visibly lead it there."""
import http.server
import threading

from harness import *  # noqa: F401,F403

POP = {"persons": 600, "comuni": "036023", "seed": 11, "days": 4}   # events in its deltas


def _receiver():
    got, lock = [], threading.Lock()

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                got.append((self.path, self.headers.get("Authorization"), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    httpd = http.server.HTTPServer(("127.0.0.9", 0), Hook)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, got


def test_webhook_urls_refused_when_saved():
    with Server() as srv:
        ente = srv.create_ente(kind="health")
        conv = srv.create_agreement(ente["id"], ["identity"], comuni=("036023",),
                                    event_types=["DECESSO"])
        for url in ["http://127.0.0.1@169.254.169.254/", "http://localhost.attacker.example/",
                    "http://127.0.0.1.nip.io/", "http://127.0.0.1:1@127.0.0.9:8080/hook",
                    "https://user:pw@hooks.example/", "https://169.254.169.254/latest",
                    "https://[::ffff:169.254.169.254]/", "http://10.1.2.3/hook",
                    "ftp://127.0.0.1/", "file:///etc/passwd", "gopher://127.0.0.1:70/"]:
            r = srv.admin().patch(f"/api/v1/convenzioni/{conv['id']}", {"webhook_url": url})
            expect(r, 400, "invalid_request", f"webhook_url {url}")
        for url in ["http://127.0.0.9:8080/hook", "http://localhost:8080/hook",
                    "https://hooks.example/visura"]:
            r = srv.admin().patch(f"/api/v1/convenzioni/{conv['id']}", {"webhook_url": url})
            expect(r, 200, what=f"webhook_url {url}")


def test_push_to_a_stored_bad_url_refused():
    httpd, got = _receiver()
    port = httpd.server_address[1]
    try:
        with Server(population=POP) as srv:
            ente = srv.create_ente(kind="health")
            conv = srv.create_agreement(ente["id"], ["identity"], comuni=("036023",),
                                        event_types=["NASCITA", "DECESSO", "CAMBIO_INDIRIZZO",
                                                     "EMIGRAZIONE", "IMMIGRAZIONE"])
            # A row as an older version accepted it (or a tamperer wrote it).
            bad = f"http://127.0.0.1:1@127.0.0.9:{port}/hook"
            db_exec(srv.db, ("UPDATE convenzione SET webhook_url = ? WHERE id = ?",
                             (bad, conv["id"])))
            srv.advance(0)
            time.sleep(0.3)
            eq(got, [], "nothing delivered to the host after '@'")
            st = db_query(srv.db, "SELECT last_error FROM webhook_state WHERE convenzione_id = ?",
                          (conv["id"],))
            check(st and "refused" in st[0]["last_error"], f"the reason is kept: {st}")
            eq([r for r in srv.access_log() if r["operation"] == "events_push"], [],
               "no release recorded")
            # The control: the same receiver at a valid URL gets the events.
            expect(srv.admin().patch(f"/api/v1/convenzioni/{conv['id']}",
                                     {"webhook_url": f"http://127.0.0.9:{port}/hook"}), 200,
                   what="a valid URL")
            for _ in range(5):
                srv.advance(3700)
                if got:
                    break
            check(got, "delivered once the URL is valid")
            eq(got[0][1], None, "no credentials sent")
    finally:
        httpd.shutdown()


if __name__ == "__main__":
    run_tests(globals())
