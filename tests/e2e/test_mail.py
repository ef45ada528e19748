#!/usr/bin/env python3
"""End-to-end: the mail outbox delivered through a real SMTP relay (a local
SMTP server in this process), with retries while the relay is down, and the
temporary password never shown by the outbox, sealed until it is sent and
removed once delivered; plain SMTP only to a relay declared on loopback."""
import re
import threading
import time
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)
import asyncore  # noqa: E402  (smtpd and asyncore ship with Python 3.11, Debian 12's)
import smtpd  # noqa: E402

import harness  # noqa: E402
from harness import *  # noqa: E402,F401,F403


class Relay(smtpd.SMTPServer):
    def __init__(self, port):
        super().__init__(("127.0.0.1", port), None, decode_data=True)
        self.messages = []

    def process_message(self, peer, mailfrom, rcpttos, data, **kw):
        self.messages.append((mailfrom, rcpttos, data))


def run_relay(port):
    relay = Relay(port)
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            asyncore.loop(timeout=0.2, count=1, map=relay._map)
    t = threading.Thread(target=loop, daemon=True)
    t.start()

    def close():
        stop.set()
        t.join(2)
        relay.close()
    return relay, close


def wait_for(pred, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.25)
    return None


def test_credentials_mailed_and_redacted():
    port = free_port()
    relay, close = run_relay(port)
    try:
        with Server(smtp_url=f"smtp://127.0.0.1:{port}", smtp_plain_loopback="true",
                    smtp_from="visura@comune.example") as srv:
            ente = srv.create_ente()
            acc, _ = srv.create_account("operator", ente["id"], email="mario.rossi@ente.example")
            got = wait_for(lambda: [m for m in relay.messages if "mario.rossi@ente.example" in m[1]])
            check(got, "the credentials mail reached the relay")
            mailfrom, rcpt, data = got[0]
            eq(mailfrom, "visura@comune.example", "sender")
            check(acc["username"] in data and "password temporanea:" in data,
                  "the mail carries the user id and the temporary password")
            check("Subject: visura: credenziali di accesso" in data, "subject")
            sent = wait_for(lambda: [m for m in srv.outbox("mario.rossi@ente.example")
                                     if m["state"] == "sent"])
            check(sent, "the outbox marks the message sent")
            pw = re.search(r"password temporanea:\s*(\S+)", data).group(1)
            check(len(pw) >= 12 and pw not in sent[0]["body"],
                  "a delivered password no longer sits in the outbox")
            eq(sent[0]["body"],
               "[consegnato; la password temporanea è stata tolta dalla posta in uscita]",
               "said so, in Italian")
    finally:
        close()


def test_relay_down_then_retried():
    port = free_port()   # nothing listens yet
    with Server(smtp_url=f"smtp://127.0.0.1:{port}", smtp_plain_loopback="true") as srv:
        ente = srv.create_ente()
        srv.create_account("lead", ente["id"], email="lead@ente.example")
        failed = wait_for(lambda: [m for m in srv.outbox("lead@ente.example")
                                   if m["attempts"] >= 1 and m["state"] == "pending"])
        check(failed, "a failed delivery stays pending with its attempt counted")
        check(failed[0]["last_error"], "the error is kept")
        relay, close = run_relay(port)
        try:
            srv.advance(600)   # past the back-off
            got = wait_for(lambda: [m for m in relay.messages if "lead@ente.example" in m[1]])
            check(got, "the message is delivered once the relay is back")
            check(wait_for(lambda: [m for m in srv.outbox("lead@ente.example")
                                    if m["state"] == "sent"]), "then marked sent")
        finally:
            close()


def test_longest_waiting_sent_first():
    """The outbox sends its due messages the longest waiting first, 32 a
    tick, and none before its time.  The old outbox read every pending
    message at each tick and sent the newest 32 due: under a steady flow of
    new messages the oldest waited without end (here it sent the 40th
    first)."""
    port = free_port()
    relay, close = run_relay(port)
    try:
        with Server(smtp_url=f"smtp://127.0.0.1:{port}", smtp_plain_loopback="true") as srv:
            now = srv.now()
            rows = [(f"coda{i:02d}@ente.example", f"avviso {i:02d}", "alert", "pending", 0, "",
                     now - 100 + i, now - 100 + i, 0) for i in range(40)]
            rows += [(f"dopo{i}@ente.example", "non ancora", "alert", "pending", 1, "errore",
                      now, now + 3600, 0) for i in range(3)]
            # one statement: the whole queue appears at once to the tick
            harness.db_exec(srv.db, (
                "INSERT INTO mail (recipient, subject, body, kind, state, attempts, last_error,"
                " created_at, next_attempt_at, sent_at) VALUES "
                + ", ".join(["(?, ?, 'testo', ?, ?, ?, ?, ?, ?, ?)"] * len(rows)),
                tuple(v for r in rows for v in r)))
            got = wait_for(lambda: len(relay.messages) >= 40 and relay.messages, timeout=40)
            check(got, f"every due message sent ({len(relay.messages)} of 40)")
            order = [m[1][0] for m in relay.messages]
            eq(order, [r[0] for r in rows[:40]], "sent in the order they waited")
            time.sleep(1)
            check(not [m for m in relay.messages if m[1][0].startswith("dopo")],
                  "a message whose next attempt is later is not sent")
            eq([m["state"] for m in srv.outbox("dopo0@ente.example")], ["pending"], "still waits")
    finally:
        close()


def test_plain_relay_refused_without_the_setting():
    """A relay that does not offer STARTTLS (or an attacker in the middle
    who drops it) gets nothing: the message stays in the outbox, with the
    reason, and is never sent in clear."""
    port = free_port()
    relay, close = run_relay(port)
    try:
        with Server(smtp_url=f"smtp://127.0.0.1:{port}") as srv:
            ente = srv.create_ente()
            srv.create_account("operator", ente["id"], email="clear@ente.example")
            failed = wait_for(lambda: [m for m in srv.outbox("clear@ente.example")
                                       if m["attempts"] >= 1])
            check(failed, "a delivery was attempted")
            eq(failed[0]["state"], "pending", "not sent")
            check("SSL" in failed[0]["last_error"] or "TLS" in failed[0]["last_error"],
                  f"the reason is kept: {failed[0]['last_error']!r}")
            time.sleep(0.5)
            eq(relay.messages, [], "nothing reached the plain-text relay")
    finally:
        close()


def test_relay_urls_refused():
    d = tempfile.mkdtemp(prefix="visura-smtp-")
    try:
        def serve_check(*opts):
            return subprocess.run([harness.VISURA, "serve", "--self-signed", os.path.join(d, "tls"),
                                   "--check", *opts, *harness.serve_user_args()],
                                  capture_output=True, text=True)
        for url, extra in [(f"file://{d}/mail.txt", []), ("http://127.0.0.1:25/", []),
                           ("smtp://user:pw@relay.example:587", []),
                           ("smtp://relay.example:25", ["--smtp-plain-loopback", "true"]),
                           ("smtp://127.0.0.1.nip.io:25", ["--smtp-plain-loopback", "true"])]:
            p = serve_check("--smtp-url", url, *extra)
            eq(p.returncode, 2, f"smtp_url {url} {extra}: {p.stdout}{p.stderr}")
            check("smtp_url" in p.stderr, f"says why: {p.stderr}")
        for url, extra in [("smtps://relay.example:465", []), ("smtp://relay.example:587", []),
                           ("smtp://127.0.0.1:25", ["--smtp-plain-loopback", "true"])]:
            p = serve_check("--smtp-url", url, *extra)
            eq(p.returncode, 0, f"smtp_url {url} {extra}: {p.stdout}{p.stderr}")
        check(not os.path.exists(os.path.join(d, "mail.txt")), "no mail written to a file")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_without_relay_password_not_shown():
    """Without a relay the message waits in the outbox; admins read it, but
    the password in it only leaves by mail."""
    with Server() as srv:
        ente = srv.create_ente()
        _, temp = srv.create_account("operator", ente["id"], email="op@ente.example")
        msgs = srv.outbox("op@ente.example")
        eq(len(msgs), 1, "one message")
        eq(msgs[0]["state"], "pending", "stays in the outbox")
        check("password temporanea: [riservata" in msgs[0]["body"], "the password is withheld")
        check(temp not in msgs[0]["body"], "the password is not shown to admins")


if __name__ == "__main__":
    run_tests(globals())
