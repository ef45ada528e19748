#!/usr/bin/env python3
"""A citizen asks to be told by e-mail when their record is consulted
(docs/spid-cie.md), against a real SPID/CIE provider (test_spid's) and a
local SMTP relay (test_mail's):

- the address given in the citizen's session (CSRF token needed, a
  cross-site request refused) gets only a confirmation message, its
  token sealed in the outbox; while unconfirmed, a consultation notifies
  nothing; the link's page changes nothing by itself, its button confirms;
  the same token again is refused;
- after confirming, an operator's consultation gives exactly one message
  with the count, no body, operator, purpose or case; a police one under
  embargo is neither counted nor sent until both clocks pass the embargo,
  then it is; the outbox keeps no address of a message once sent;
- nothing is sent twice after a restart;
- a new address waits for its own confirmation, the old one notified meanwhile;
- another citizen's session sees nothing of it and cannot change it;
- the unsubscribe link stops the notices and deletes the address; an
  expired confirmation link is refused and its address forgotten; an HTML
  form of the page works the same way."""
import re
import time
import urllib.parse

import test_mail
import test_spid
from harness import *  # noqa: F401,F403
from test_spid import DAY, citizen_login, page_says, with_provider

HTML = {"Accept": "text/html"}
FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}


def test_citizen_mail():
    port = free_port()
    relay, close = test_mail.run_relay(port)
    try:
        with_provider(lambda srv, op: run(srv, op, relay), smtp_url=f"smtp://127.0.0.1:{port}",
                      smtp_plain_loopback="true", smtp_from="visura@comune.example",
                      public_url="https://visura.comune.example/")
    finally:
        close()


def to(relay, address):
    return [m for m in relay.messages if address in m[1]]


def settle(srv):
    """Lets the duties run (notices queued) and the citizens' messages leave
    the outbox."""
    srv.advance(0)
    end = time.time() + 20
    while time.time() < end:
        if not [m for m in srv.admin().get("/api/v1/outbox").json["messages"]
                if m["state"] == "pending" and m["kind"].startswith("citizen_")]:
            return
        time.sleep(0.25)
    check(False, "the outbox did not empty")


def token_of(data, path):
    m = re.search(r"https://visura\.comune\.example" + re.escape(path) + r"\?token=(\S+)", data)
    check(m is not None, f"a link to {path} in: {data}")
    return urllib.parse.unquote(m.group(1))


def run(srv, op, relay):
    oth, pol = srv.create_ente(), srv.create_ente(kind="police")
    oth_pid = srv.create_agreement(oth["id"], ["identity"])["purpose_id"]
    pol_pid = srv.create_agreement(pol["id"], ["identity"])["purpose_id"]
    ops = []
    persons = sorted(x["cf"] for x in srv.population.current_persons() if not x["canc_reason"])
    me, other = persons[0], persons[1]
    addr, addr2 = "mario.rossi@posta.example", "m.rossi@altra.example"

    def consult(ente, pid, cf, case):
        """By a system of ente with an API token made now (credentials end as
        the clock moves; an operator's temporary password would leave by
        mail before the harness could read it)."""
        acc, _ = srv.create_account("api", ente["id"])
        ops.append(acc["username"])
        tok = expect(srv.admin().post(f"/api/v1/accounts/{acc['id']}/tokens", {"name": "t"}),
                     201, what="a token")["token"]
        who = Client(srv, bearer=tok)
        expect(who.get(f"/api/v1/persons/{cf}?purpose={pid}&case_ref={case}",
                       headers={"X-Visura-On-Behalf-Of": "Mario Bianchi"}), 200,
               what=f"consultation {case}")

    c = Client(srv)
    expect(citizen_login(op, c, me, 2), 200, what="the citizen's session")
    st = expect(c.get("/citizen/notifications"), 200, what="the state").json
    eq((st["offered"], st["address"], st["pending_address"], st["interval_minutes"]),
       (True, None, None, 60), "offered, nothing yet, one an hour")
    csrf = st["csrf_token"]
    c.csrf = None

    # CSRF: no token, a wrong one, a cross-site request: refused.
    expect(c.post("/citizen/notifications", {"address": addr}), 403, "csrf_failed",
           what="no token")
    expect(c.post("/citizen/notifications", {"address": addr},
                  headers={"X-CSRF-Token": "0" * 64}), 403, "csrf_failed", what="a wrong token")
    expect(c.post("/citizen/notifications", {"address": addr},
                  headers={"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"}), 403,
           "csrf_failed", what="from another site")
    for bad in ("mario", "mario@posta", "a b@posta.example", "m@posta.example\r\nBcc: x@y.example"):
        expect(c.post("/citizen/notifications", {"address": bad},
                      headers={"X-CSRF-Token": csrf}), 400, "invalid_request",
               what=f"the address {bad!r}")
    # A field the route does not know: refused, naming it, nothing asked
    # (as a JSON client, and as a form, which gets the page).
    unknown(c.post("/citizen/notifications", {"address": addr, "indirizzo_bis": addr2},
                   headers={"X-CSRF-Token": csrf}), "indirizzo_bis", "an unknown member")
    unknown(srv.request("POST", "/citizen/notifications",
                        "address=" + urllib.parse.quote(addr) + "&csrf_token=" + csrf +
                        "&invia_subito=1", dict(FORM, Cookie=citizen_cookie(c))),
            "invia_subito", "an unknown field of the form")
    eq(c.get("/citizen/notifications").json["pending_address"], None, "nothing asked")
    r = expect(c.post("/citizen/notifications", {"address": addr},
                      headers={"X-CSRF-Token": csrf}), 202, what="the address given")
    eq(r["pending_address"], addr, "waiting for confirmation")
    expect(c.post("/citizen/notifications", {"address": addr2},
                  headers={"X-CSRF-Token": csrf}), 429, "too_many_attempts",
           what="another confirmation at once")

    # Nothing but the confirmation reaches the address before it is confirmed.
    consult(oth, oth_pid, me, "PRATICA-0")
    srv.advance(3601)
    op.post("/test/clock", {"advance_seconds": 3601})
    settle(srv)
    got = to(relay, addr)
    eq(len(got), 1, "only the confirmation message")
    data = got[0][2]
    check("Conferma dell'indirizzo" in data and me not in data, "the confirmation, no cf")
    confirm = token_of(data, "/citizen/notifications/confirm")
    outbox = [m for m in srv.admin().get("/api/v1/outbox").json["messages"]
              if m["kind"] == "citizen_confirm"]
    eq(len(outbox), 1, "one confirmation in the outbox")
    check(addr not in outbox[0]["recipient"] and confirm not in outbox[0]["body"],
          f"once sent, no address and no token in the outbox: {outbox[0]}")

    # The link's page changes nothing; its button confirms, once.
    page_says(expect(c.get("/citizen/notifications/confirm?token=" + urllib.parse.quote(confirm),
                           headers=HTML), 200, what="the confirmation page"),
              "Conferma", 'name="token"')
    # The link with a parameter it does not take (a mail service's own):
    # refused, as a page to a browser, naming it; the JSON error otherwise.
    link = "/citizen/notifications/confirm?token=" + urllib.parse.quote(confirm)
    page_says(expect(c.get(link + "&utm_source=posta", headers=HTML), 400,
                     what="the link with a parameter more"),
              "Richiesta non eseguita", "&quot;utm_source&quot; non è previsto")
    expect(c.get(link + "&utm_source=posta"), 400, "invalid_request",
           what="the same without a browser")
    page_says(expect(c.get(link + "&token=x", headers=HTML), 400, what="the token twice"),
              "&quot;token&quot; è ripetuto")
    c = Client(srv)   # the first session ended with the hour gone by
    expect(citizen_login(op, c, me, 2), 200, what="a session again")
    st = expect(c.get("/citizen/notifications"), 200, what="the state").json
    eq((st["address"], st["pending_address"]), (None, addr), "not yet confirmed")
    csrf = st["csrf_token"]
    anon = Client(srv)
    expect(anon.post("/citizen/notifications/confirm", {"token": confirm + "x"}), 404,
           "invalid_token", what="a wrong token")
    unknown(anon.post("/citizen/notifications/confirm", {"token": confirm, "conferma": "sì"}),
            "conferma", "the link's token with an unknown member")
    unknown(srv.request("POST", "/citizen/notifications/confirm",
                        "token=" + urllib.parse.quote(confirm) + "&indirizzo=x%40y.example",
                        FORM), "indirizzo", "the link's form with an unknown field")
    page_says(expect(srv.request("POST", "/citizen/notifications/confirm",
                                 "token=" + urllib.parse.quote(confirm), FORM),
                     200, what="confirmed by the page's button, no login"),
              "Indirizzo confermato")
    expect(anon.post("/citizen/notifications/confirm", {"token": confirm}), 404, "invalid_token",
           what="the same token again")
    st = expect(c.get("/citizen/notifications"), 200, what="the state").json
    eq((st["address"], st["pending_address"]), (addr, None), "active")
    page_says(expect(c.get("/citizen/access-report", headers=HTML), 200, what="the page"),
              "Avvisi per posta elettronica", addr, 'name="csrf_token" value="' + csrf + '"')

    # Another citizen's session sees nothing of it and changes nothing.
    o = Client(srv)
    expect(citizen_login(op, o, other, 2), 200, what="another citizen")
    ost = expect(o.get("/citizen/notifications"), 200, what="their state").json
    eq((ost["address"], ost["pending_address"]), (None, None), "nothing of the first citizen's")
    check(addr not in o.get("/citizen/access-report", headers=HTML).body.decode(),
          "not on their page")
    expect(o.post("/citizen/notifications/delete", {}, headers={"X-CSRF-Token": csrf}), 403,
           "csrf_failed", what="the first citizen's token in another session")
    unknown(o.post("/citizen/notifications/delete", {"cf": me},
                   headers={"X-CSRF-Token": ost["csrf_token"]}), "cf",
            "a delete naming whose address")
    expect(o.post("/citizen/notifications/delete", {}, headers={"X-CSRF-Token": ost["csrf_token"]}),
           200, what="their own (empty) subscription")
    eq(c.get("/citizen/notifications").json["address"], addr, "the first one untouched")

    # One consultation by a body, one by the police: one notice, count 1.
    consult(oth, oth_pid, me, "PRATICA-1")
    consult(pol, pol_pid, me, "INDAGINE-1")
    consult(oth, oth_pid, other, "PRATICA-ALTRO")
    srv.advance(3601)
    op.post("/test/clock", {"advance_seconds": 3601})
    settle(srv)
    got = to(relay, addr)
    eq(len(got), 2, "the confirmation and one notice")
    data = got[1][2]
    check("c'è una nuova consultazione" in data, f"the count: {data}")
    for word in [oth["name"], pol["name"], "PRATICA", "INDAGINE", me, "identity",
                 "Mario Bianchi"] + ops:
        check(word not in data, f"the notice says nothing of {word!r}")
    check("https://visura.comune.example/citizen/access-report" in data, "the link to the page")
    unsub = token_of(data, "/citizen/notifications/unsubscribe")
    sent = [m for m in srv.admin().get("/api/v1/outbox").json["messages"]
            if m["kind"] == "citizen_notice"]
    check(sent and all(addr not in m["recipient"] + m["body"] for m in sent),
          "the outbox keeps no address of a notice sent")

    # Nothing sent twice after a restart (the clock put back where it was).
    offset = srv.advance(0)["offset_seconds"]
    srv.restart()
    srv.advance(offset)
    srv.advance(3601)
    op.post("/test/clock", {"advance_seconds": 3601})
    settle(srv)
    eq(len(to(relay, addr)), 2, "no notice again after the restart")

    # Changing the address asks to confirm the new one; the old one keeps
    # the notices until then.
    c = Client(srv)
    expect(citizen_login(op, c, me, 2), 200, what="a session after the restart")
    st = expect(c.get("/citizen/notifications"), 200, what="the state").json
    expect(c.post("/citizen/notifications", {"address": addr2},
                  headers={"X-CSRF-Token": st["csrf_token"]}), 202, what="a new address")
    settle(srv)
    eq(len(to(relay, addr2)), 1, "the new address gets its confirmation")
    check("Conferma dell'indirizzo" in to(relay, addr2)[0][2], "only that")
    changed = token_of(to(relay, addr2)[0][2], "/citizen/notifications/confirm")
    st = expect(c.get("/citizen/notifications"), 200, what="the state").json
    eq((st["address"], st["pending_address"]), (addr, addr2), "the old one until confirmed")

    # The police consultation: notified once its embargo is over.
    op.advance(srv, 310 * DAY)   # in two steps: the admin's credentials renewed between
    settle(srv)
    eq(len(to(relay, addr)), 2, "still under embargo after 310 days: nothing")
    op.advance(srv, 56 * DAY)
    settle(srv)
    got = to(relay, addr)
    eq(len(got), 3, "the consultation under embargo, notified once it ended")
    check("c'è una nuova consultazione" in got[2][2] and pol["name"] not in got[2][2],
          "counted alone, the police not named")
    op.advance(srv, 3601)
    settle(srv)
    eq(len(to(relay, addr)), 3, "and only once")

    # Unsubscribe: the link's page, its button; again refused; no more notices.
    page_says(expect(Client(srv).get("/citizen/notifications/unsubscribe?token=" +
                                     urllib.parse.quote(unsub), headers=HTML), 200,
                     what="the unsubscribe page"), "Non ricevere più avvisi")
    unknown(Client(srv).post("/citizen/notifications/unsubscribe",
                             {"token": unsub, "motivo": "troppi"}), "motivo",
            "the unsubscribe link's token with an unknown member")
    page_says(expect(srv.request("POST", "/citizen/notifications/unsubscribe",
                                 "token=" + urllib.parse.quote(unsub), FORM), 200,
                     what="unsubscribed"), "Avvisi fermati")
    expect(Client(srv).post("/citizen/notifications/unsubscribe", {"token": unsub}), 404,
           "invalid_token", what="the link again")
    eq(len(to(relay, addr2)), 1, "nothing but its confirmation to the unconfirmed new address")
    expect(Client(srv).post("/citizen/notifications/confirm", {"token": changed}), 404,
           "invalid_token", what="its link, once unsubscribed")
    consult(oth, oth_pid, me, "PRATICA-2")
    op.advance(srv, 3601)
    settle(srv)
    eq(len(to(relay, addr)), 3, "no notice after unsubscribing")

    # The page's form; an expired confirmation link; the address forgotten.
    c = Client(srv)
    expect(citizen_login(op, c, me, 2), 200, what="a new session")
    st = expect(c.get("/citizen/notifications"), 200, what="the state").json
    eq((st["address"], st["pending_address"]), (None, None), "the address was deleted")
    r = srv.request("POST", "/citizen/notifications",
                    "address=" + urllib.parse.quote(addr2) + "&csrf_token=" + st["csrf_token"],
                    dict(FORM, Cookie=citizen_cookie(c)))
    expect(r, 303, what="the page's form")
    eq(r.header("Location"), "/citizen/access-report", "back to the page")
    settle(srv)
    got = to(relay, addr2)
    eq(len(got), 2, "its confirmation")
    late = token_of(got[1][2], "/citizen/notifications/confirm")
    consult(oth, oth_pid, me, "PRATICA-3")
    op.advance(srv, 25 * 3600)
    settle(srv)
    eq(len(to(relay, addr2)), 2, "nothing but the confirmation to an unconfirmed address")
    expect(Client(srv).post("/citizen/notifications/confirm", {"token": late}), 404,
           "invalid_token", what="an expired link")
    c = Client(srv)
    expect(citizen_login(op, c, me, 2), 200, what="a session after the link expired")
    eq(c.get("/citizen/notifications").json["pending_address"], None,
       "the unconfirmed address forgotten")

    # Logging out with a field it does not know: refused, the session lives
    # on; then it ends.
    csrf = c.get("/citizen/notifications").json["csrf_token"]
    unknown(c.post("/citizen/logout", {"ovunque": True}, headers={"X-CSRF-Token": csrf}),
            "ovunque", "a logout with an unknown member")
    unknown(srv.request("POST", "/citizen/logout", "csrf_token=" + csrf + "&tutte=1",
                        dict(FORM, Cookie=citizen_cookie(c))), "tutte",
            "the logout form with an unknown field")
    expect(c.get("/citizen/notifications"), 200, what="the session, still live")
    expect(c.post("/citizen/logout", {}, headers={"X-CSRF-Token": csrf}), 200, what="the logout")
    expect(c.get("/citizen/notifications"), 401, "citizen_session_expired", what="after it")


def citizen_cookie(c):
    return "__Host-visura_cittadino=" + c.cookies["__Host-visura_cittadino"]


def unknown(r, name, what):
    """A citizen's route refuses a field it does not know, naming it: the
    error to a JSON client, the page to a form (Accept: text/html)."""
    expect(r, 400, what=what)
    if (r.header("Content-Type") or "").startswith("text/html"):
        page_says(r, name, "non è previsto")
    else:
        eq(r.code, "invalid_request", what)
        check(name in r.json["error"]["message"], f"{what}: names {name}: {r.json}")


if __name__ == "__main__":
    run_tests(globals())
