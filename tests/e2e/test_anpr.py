#!/usr/bin/env python3
"""The ANPR-shaped services (POST /api/v1/anpr/ricerca and
/api/v1/anpr/verifica) on the corridor of every consultation, called by a
body through PDND (a voucher and Agid-JWT-TrackingEvidence signed with real
RSA keys made here) and by an API account with its token.

A register made here: a snapshot (sequence 1, 1 January 2026) with a
person, his father and two homonyms (same surname, name, sex and birth
date, told apart by omocodia), and a later import (sequence 2, 1 March
2026) in which the person marries on 14 February 2026 and three others
die on 20 February 2026: one in a version from that day, one in a
version the file opens earlier (10 February), one in a version the file
opens later (25 February, the death recorded late).

- verification: true, false, a fact outside the profile (an anomaly), as
  of a date before the marriage (the older state);
- look-up by codice fiscale and by surname, name and birth date: the data
  the profile allows and nothing else, idOperazioneClient echoed,
  idOperazioneANPR the access record, as of a date the older state;
- anomalies (RispostaKO: listaErrori): no result (EN122), several results, outside the profile,
  a verify_only agreement, a bad or uncovered dataRiferimentoRichiesta,
  malformed requests, an API client without its end user, the
  agreement's limits (429 with Retry-After);
- the trail: motivoRichiesta as the record's case reference, casoUso and
  idOperazioneClient in its query, the end user of the evidence, the
  persons of the answer, and only them;
- death and dataRiferimentoRichiesta: whatever version the later import
  opened, a person who died after the as-of date is alive on it (the
  look-up says esistenzaInVita S without datiDecesso, a verification of
  esistenzaInVita "S" says S), and one who died on or before it is not
  (N with datiDecesso, the verification of "S" says N)."""
import json
import os
import subprocess
import sys
import uuid

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import harness
from harness import Server, audit_verify, cf_with_check, check, db_query, eq, expect, run_tests
from test_pdnd import AUDIENCE, ISSUER, mapped_body, new_key, write_jwks

COMUNE = "036023"   # Modena: cadastral code F257
PERSON = cf_with_check("RSSMRA80E10F257")        # ROSSI MARIO, 10 May 1980
FATHER = cf_with_check("RSSMRA50A01F257")        # ROSSI MARIO, 1 January 1950
TWIN_A = cf_with_check("RSSMRA75C03F257")        # ROSSI MARIO, 3 March 1975 ...
TWIN_B = cf_with_check("RSSMRA75C03F25T")        # ... the same data, omocodia
ABSENT = cf_with_check("RSSMRA81E10F257")        # valid, not in the register
DIVORCED = cf_with_check("RSSMRA70L07F257")      # ROSSI MARIO, 7 July 1970, divorced
MARRIED = "2026-02-14"
DIED = "2026-02-20"
# Who dies on DIED, and the valid-from of the version the later import opens.
DYING = ((cf_with_check("RSSMRA60A01F257"), "1960-01-01", DIED),          # on the day
         (cf_with_check("RSSMRA62B02F257"), "1962-02-02", "2026-02-10"),  # opened earlier
         (cf_with_check("RSSMRA64C03F257"), "1964-03-03", "2026-02-25"))  # recorded late


class Register:
    """The population of the module's docstring, in two imports."""

    def load_into(self, db, work_dir):
        os.makedirs(work_dir, exist_ok=True)

        def per(pid, valid, cf, birth, civil, civil_date, father, fam, rel, died=""):
            return ["PER", pid, valid, cf, "ROSSI", "MARIO", "M", birth, COMUNE, "100", civil,
                    civil_date, father, "", "1", birth, "1" if died else "", died, "", fam, rel]
        snapshot = [
            ["HDR", "VISURA-ANAGRAFE", "1", COMUNE, "2026-01-01T12:00:00Z", "1", "FULL", "test"],
            ["FAM", "F1", "1", "2020-01-01", "VIA", "EMILIA", "10", "", "", "", "41121", "", ""],
            ["FAM", "F2", "1", "2020-01-01", "VIA", "ROMA", "5", "", "", "", "41121", "", ""],
            ["FAM", "F3", "1", "2020-01-01", "VIA", "MODENA", "7", "", "", "", "41121", "", ""],
            per("P1", "2020-01-01", PERSON, "1980-05-10", "1", "", FATHER, "F1", "1"),
            per("P2", "2020-01-01", FATHER, "1950-01-01", "3", "2010-06-01", "", "F1", "6"),
            per("P3", "2020-01-01", TWIN_A, "1975-03-03", "1", "", "", "F2", "1"),
            per("P4", "2020-01-01", TWIN_B, "1975-03-03", "1", "", "", "F2", "9"),
            per("P5", "2020-01-01", DIVORCED, "1970-07-07", "4", "2015-09-01", "", "F3", "1"),
        ] + [per(f"D{i}", "2020-01-01", cf, birth, "1", "", "", "F3", "9")
             for i, (cf, birth, _) in enumerate(DYING)]
        later = [
            ["HDR", "VISURA-ANAGRAFE", "1", COMUNE, "2026-03-01T12:00:00Z", "2", "DELTA", "test"],
            per("P1", MARRIED, PERSON, "1980-05-10", "2", MARRIED, FATHER, "F1", "1"),
        ] + [per(f"D{i}", valid, cf, birth, "1", "", "", "F3", "9", died=DIED)
             for i, (cf, birth, valid) in enumerate(DYING)]
        paths = []
        for seq, kind, lines in ((1, "FULL", snapshot), (2, "DELTA", later)):
            lines = lines + [["END", str(len(lines) - 1)]]
            path = os.path.join(work_dir, f"{COMUNE}-{seq:06d}-{kind}.tsv")
            with open(path, "w", encoding="utf-8") as f:
                f.write("\n".join("\t".join(t) for t in lines) + "\n")
            paths.append(path)
        for path in paths:   # one import after the other
            p = subprocess.run([harness.VISURA, "import", "--quiet", "--db", db, path],
                               capture_output=True, text=True)
            check(p.returncode == 0, f"visura import failed: {p.returncode}\n{p.stdout}\n{p.stderr}")


def request(criteri, date="2026-06-01", motivo="Accertamento d'ufficio prot. 123",
            caso="C015", op=None, verifica=None):
    body = {"idOperazioneClient": op or str(uuid.uuid4().int % 10**12),
            "criteriRicerca": criteri,
            "datiRichiesta": {"dataRiferimentoRichiesta": date, "motivoRichiesta": motivo,
                              "casoUso": caso}}
    if verifica is not None:
        body["verifica"] = verifica
    return body


class Caller:
    """Calls the services as a PDND client (voucher + tracking evidence) or
    as an API account (token, purpose in the query, end user header)."""

    def __init__(self, srv, pdnd=None, consumer=None, token=None, purpose=None,
                 user="mario.bianchi@asl.example"):
        self.srv, self.pdnd, self.consumer = srv, pdnd, consumer
        self.token, self.purpose, self.user = token, purpose, user

    def post(self, service, body, raw=None, user=None):
        h = {"Content-Type": "application/json"}
        path = f"/api/v1/anpr/{service}"
        if self.pdnd:
            ev = self.consumer.evidence(user=user or self.user)
            h["Authorization"] = "Bearer " + self.pdnd.voucher(evidence=ev)
            h["Agid-JWT-TrackingEvidence"] = ev
        else:
            h["Authorization"] = "Bearer " + self.token
            path += f"?purpose={self.purpose}"
            if user != "":
                h["X-Visura-On-Behalf-Of"] = user or self.user
        data = raw if raw is not None else json.dumps(body).encode()
        return self.srv.request("POST", path, data, h)


def record(srv, res):
    """The access record an answer names (idOperazioneANPR)."""
    rid = int(res.json["idOperazioneANPR"])
    eq(res.header("X-Visura-Access-Id"), str(rid), "idOperazioneANPR is the access record")
    check(res.header("X-Visura-Receipt"), "the answer carries its receipt")
    rows = db_query(srv.db, "SELECT * FROM access_log WHERE id = ?", (rid,))
    eq(len(rows), 1, f"access record {rid}")
    return rows[0]


def answered(srv, res, body, what):
    """A 200 with listaSoggetti, no anomaly, the record durable: the record."""
    expect(res, 200, what=what)
    eq(res.json["idOperazioneClient"], body["idOperazioneClient"], f"{what}: echoed")
    eq(res.json["listaAnomalie"], [], f"{what}: no anomaly")
    rec = record(srv, res)
    eq(rec["outcome"], "ok", f"{what}: recorded")
    return rec


def anomaly(srv, res, status, code, what, outcome=None, body=None):
    """A refusal in ANPR's shape, recorded: the record."""
    eq(res.status, status, f"{what}: status ({res.body[:300]!r})")
    j = res.json
    check(j and "listaSoggetti" not in j, f"{what}: no data ({res.body[:300]!r})")
    # ANPR's RispostaKO: the list is listaErrori, not RispostaE002OK's listaAnomalie
    check("listaAnomalie" not in j, f"{what}: a refusal is RispostaKO ({res.body[:300]!r})")
    eq([a["codiceErroreAnomalia"] for a in j["listaErrori"]], [code], f"{what}: anomaly")
    a = j["listaErrori"][0]
    eq(a["tipoErroreAnomalia"], "E", f"{what}: type")
    check(len(a["testoErroreAnomalia"]) > 10, f"{what}: its text {a!r}")
    if body is not None:
        eq(j["idOperazioneClient"], body.get("idOperazioneClient"), f"{what}: echoed")
    rec = record(srv, res)
    if outcome:
        eq(rec["outcome"], outcome, f"{what}: outcome")
    eq(rec["subjects"], "", f"{what}: a refusal names no one")
    return rec


def subject(res):
    people = res.json["listaSoggetti"]["datiSoggetto"]
    eq(len(people), 1, "one person")
    return people[0]


def test_pdnd_services():
    pdnd_key = new_key()
    srv = Server(population=Register(), pdnd_issuer=ISSUER, pdnd_audience=AUDIENCE)
    jwks = os.path.join(srv.dir, "pdnd-jwks.json")
    write_jwks(jwks, [("k1", pdnd_key)])
    srv.options["pdnd_jwks"] = jwks
    with srv:
        admin = srv.admin()
        profile = ["identity", "residence", "civil_status", "vital_status"]
        p, c, _ = mapped_body(srv, admin, pdnd_key, "asl-1", conv_comuni=(COMUNE,),
                              profile=profile)
        asl = Caller(srv, p, c)
        purpose_id = [m["purpose_id"] for m in expect(admin.get("/api/v1/pdnd/purposes"), 200)
                      ["purposes"] if m["pdnd_purpose"] == p.purpose_id][0]

        # ---- look-up by codice fiscale: the profile's data, nothing else
        body = request({"codiceFiscale": PERSON.lower()}, op="100001")
        r = asl.post("ricerca", body)
        rec = answered(srv, r, body, "look-up by codice fiscale")
        s = subject(r)
        eq(s["generalita"]["codiceFiscale"]["codFiscale"], PERSON, "the person")
        eq((s["generalita"]["cognome"], s["generalita"]["nome"], s["generalita"]["sesso"],
            s["generalita"]["dataNascita"]), ("ROSSI", "MARIO", "M", "1980-05-10"), "generalita")
        eq(s["generalita"]["luogoNascita"]["comune"]["codiceIstat"], COMUNE, "birth place")
        ind = s["residenza"][0]["indirizzo"]
        eq((ind["toponimo"]["specie"], ind["toponimo"]["denominazioneToponimo"],
            ind["numeroCivico"]["numero"], ind["comune"]["codiceIstat"]),
           ("VIA", "EMILIA", "10", COMUNE), "the address")
        eq(s["statoCivile"]["statoCivile"], "2", "married as of June 2026")
        eq(s["infoSoggettoEnte"], [{"id": "1", "chiave": "esistenzaInVita", "valore": "S"}],
           "alive")
        for outside in ("cittadinanza", "genitori", "famiglia"):
            check(outside not in s, f"{outside} is outside the profile: {s}")
        check(FATHER not in r.body.decode(), "the father (parentage) is not in the answer")
        eq(rec["operation"], "consult", "trail operation")
        eq(rec["case_ref"], "Accertamento d'ufficio prot. 123", "motivoRichiesta in the trail")
        check("caso_uso=C015" in rec["query"] and "id_operazione_client=100001" in rec["query"],
              f"casoUso and idOperazioneClient in the trail: {rec['query']!r}")
        eq(rec["on_behalf_of"], "mario.bianchi@asl.example", "the end user of the evidence")
        eq(rec["subjects"], PERSON, "the record names the person")
        eq(rec["purpose_id"], purpose_id, "the mapped purpose")

        # ---- as of a date before the later import's change: the older state
        body = request({"codiceFiscale": PERSON}, date="2026-02-13")
        s = subject(asl.post("ricerca", body))
        eq(s["statoCivile"]["statoCivile"], "1", "unmarried the day before the marriage")
        s = subject(asl.post("ricerca", request({"codiceFiscale": PERSON}, date=MARRIED)))
        eq(s["statoCivile"]["statoCivile"], "2", "married on the day")

        # ---- look-up by surname, name and birth date
        body = request({"cognome": "Rossi", "nome": "Mario", "sesso": "M",
                        "datiNascita": {"dataEvento": "1980-05-10"}}, caso="C018",
                       date="2026-02-01")
        r = asl.post("ricerca", body)
        rec = answered(srv, r, body, "look-up by name and birth date")
        s = subject(r)
        eq(s["generalita"]["codiceFiscale"]["codFiscale"], PERSON, "found by name")
        eq(s["statoCivile"]["statoCivile"], "1", "as of February 1st")
        eq(rec["operation"], "search", "trail operation")
        eq(rec["subjects"], PERSON, "the record names that person only")
        check("caso_uso=C018" in rec["query"], f"casoUso in the trail: {rec['query']!r}")
        # the sex given does not fit: no result
        anomaly(srv, asl.post("ricerca", request({"cognome": "ROSSI", "nome": "MARIO", "sesso": "F",
                                                  "datiNascita": {"dataEvento": "1980-05-10"}})),
                404, "EN122", "another sex", outcome="not_found")

        # ---- verification: true, false, as of a date
        facts = {"cognome": "ROSSI", "nome": "MARIO", "sesso": "M",
                 "datiNascita": {"dataEvento": "1980-05-10",
                                 "luogoNascita": {"comune": {"codiceIstat": COMUNE}}},
                 "residenza": {"indirizzo": {"comune": {"codiceIstat": COMUNE},
                                             "toponimo": {"denominazioneToponimo": "Emilia"},
                                             "numeroCivico": {"numero": "10"}}},
                 "statoCivile": "2", "esistenzaInVita": "S"}

        def verify(verifica, date="2026-06-01", cf=PERSON):
            body = request({"codiceFiscale": cf}, date=date, caso="C004", verifica=verifica)
            r = asl.post("verifica", body)
            rec = answered(srv, r, body, f"verification {verifica} as of {date}")
            eq(rec["operation"], "verify", "trail operation")
            check(r.json["listaSoggetti"]["datiSoggetto"][0].keys() == {"infoSoggettoEnte"},
                  f"only the outcome: {r.json}")
            info = r.json["listaSoggetti"]["datiSoggetto"][0]["infoSoggettoEnte"]
            eq(len(info), 1, "one outcome")
            eq(info[0]["chiave"], "verificaDatiDichiarati", "the outcome's key")
            return info[0]["valore"]

        eq(verify(facts), "S", "every declared fact holds")
        eq(verify(dict(facts, residenza={"indirizzo": {"comune": {"codiceIstat": COMUNE},
                                                       "toponimo": {"denominazioneToponimo": "Roma"}}})),
           "N", "another street")
        eq(verify({"statoCivile": "2"}, date="2026-02-13"), "N", "not married yet then")
        eq(verify({"statoCivile": "1"}, date="2026-02-13"), "S", "unmarried then")
        eq(verify({"esistenzaInVita": "N"}), "N", "declared dead, alive")
        # each civil status code as itself: a divorced person is not
        # "never married", a widower neither
        eq(verify({"statoCivile": "1"}, cf=DIVORCED), "N", "divorced, declared never married")
        eq(verify({"statoCivile": "4"}, cf=DIVORCED), "S", "divorced, declared divorced")
        eq(verify({"statoCivile": "8"}, cf=DIVORCED), "N", "divorced, declared free after a union")
        eq(verify({"statoCivile": "1"}, cf=FATHER), "N", "widowed, declared never married")

        # ---- anomalies
        body = request({"codiceFiscale": ABSENT})
        anomaly(srv, asl.post("ricerca", body), 404, "EN122", "no such person",
                outcome="not_found", body=body)
        body = request({"cognome": "ROSSI", "nome": "MARIO",
                        "datiNascita": {"dataEvento": "1975-03-03"}})
        rec = anomaly(srv, asl.post("ricerca", body), 422, "VIS01", "two homonyms",
                      outcome="several_results", body=body)
        check(TWIN_A not in rec["query"] + rec["subjects"], "the homonyms are named nowhere")
        body = request({"codiceFiscale": PERSON}, caso="C004",
                       verifica={"cittadinanza": {"codiceStato": "100"}})
        anomaly(srv, asl.post("verifica", body), 403, "VIS02", "a fact outside the profile",
                outcome="refused:category_not_permitted", body=body)
        for date, code, what in (("2025-12-31", "VIS05", "before the first import"),
                                 ("2099-01-01", "VIS05", "in the future"),
                                 ("2026-13-01", "VIS04", "not a date"),
                                 ("01/06/2026", "VIS04", "not YYYY-MM-DD")):
            body = request({"codiceFiscale": PERSON}, date=date)
            rec = anomaly(srv, asl.post("ricerca", body), 400, code, what, body=body)
            check(rec["outcome"].startswith("refused:reference_date"), f"{what}: {rec['outcome']}")
        body = request({"codiceFiscale": PERSON})
        del body["datiRichiesta"]["dataRiferimentoRichiesta"]
        anomaly(srv, asl.post("ricerca", body), 400, "VIS04", "no reference date")
        for what, change in (
                ("no criteriRicerca", lambda b: b.pop("criteriRicerca")),
                ("no motivoRichiesta", lambda b: b["datiRichiesta"].pop("motivoRichiesta")),
                ("no casoUso", lambda b: b["datiRichiesta"].pop("casoUso")),
                ("no idOperazioneClient", lambda b: b.pop("idOperazioneClient")),
                ("a look-up with verifica", lambda b: b.update(verifica={"nome": "MARIO"})),
                ("a bad sex", lambda b: b.update(criteriRicerca={
                    "cognome": "ROSSI", "nome": "MARIO", "sesso": "X",
                    "datiNascita": {"dataEvento": "1980-05-10"}})),
                ("a name without birth date", lambda b: b.update(criteriRicerca={
                    "cognome": "ROSSI", "nome": "MARIO"})),
                # What visura does not know is refused, not ignored.
                ("an unknown criterion", lambda b: b["criteriRicerca"].update(idANPR="AB123")),
                ("senzaCognome", lambda b: b["criteriRicerca"].update(senzaCognome="S")),
                ("an unknown birth field", lambda b: b.update(criteriRicerca={
                    "cognome": "ROSSI", "nome": "MARIO",
                    "datiNascita": {"dataEvento": "1980-05-10", "luogoNascita": {}}})),
                ("an unknown request field", lambda b: b["datiRichiesta"].update(
                    tipoOperazione="R")),
                ("an unknown top field", lambda b: b.update(idOperazioneANPR="1"))):
            body = request({"codiceFiscale": PERSON})
            change(body)
            rec = anomaly(srv, asl.post("ricerca", body), 400, "VIS06", what, body=body)
            eq(rec["outcome"], "refused:invalid_request", f"{what}: outcome")
            if "idOperazioneClient" in body:
                check("id_operazione_client=" + body["idOperazioneClient"] in rec["query"],
                      f"{what}: the operation id in the trail: {rec['query']!r}")
        for what, verifica in (("unknown fact", {"titoloStudio": "laurea"}),
                               ("bad civil status code", {"statoCivile": "5"}),
                               ("alive not S/N", {"esistenzaInVita": True}),
                               ("no facts", {})):
            body = request({"codiceFiscale": PERSON}, verifica=verifica)
            anomaly(srv, asl.post("verifica", body), 400, "VIS06", what, body=body)
        # a civic number is digits, 1 to 1,000,000: nothing else read as one
        # (strtol alone took " 10" and "+10" as 10)
        for civic in (" 10", "+10", "10 ", "10a", "", "0", "-1", "1000001", "0x0A"):
            address = {"indirizzo": {"comune": {"codiceIstat": COMUNE},
                                     "toponimo": {"denominazioneToponimo": "Emilia"},
                                     "numeroCivico": {"numero": civic}}}
            body = request({"codiceFiscale": PERSON}, verifica={"residenza": address})
            anomaly(srv, asl.post("verifica", body), 400, "VIS06", f"civic {civic!r}", body=body)
        anomaly(srv, asl.post("ricerca", None, raw=b'{"idOperazioneClient": '), 400, "VIS06",
                "not JSON", outcome="refused:invalid_json")
        # The trail as the office reads it: the reason, the use case, the operation id.
        trail = expect(admin.get(f"/api/v1/audit/access?cf={PERSON}"), 200, what="trail").body.decode()
        for shown in ("Accertamento d'ufficio prot. 123", "caso_uso=C015",
                      "id_operazione_client=100001"):
            check(shown in trail, f"{shown!r} in GET /api/v1/audit/access")
        # A PDND call's end user is the evidence's: the person report shows it.
        rep = expect(admin.get(f"/api/v1/audit/subject/{PERSON}"), 200, what="per-person report")
        check("mario.bianchi@asl.example" in rep.body.decode(), "the end user in the report")
        rc, out = audit_verify(srv.db)
        eq(rc, 0, f"the access trail verifies: {out}")


def test_api_account_limits_and_modes():
    with Server(population=Register()) as srv:
        admin = srv.admin()
        ente = srv.create_ente()
        acc, _ = srv.create_account("api", ente["id"])
        conv = srv.create_agreement(ente["id"], ["identity"], comuni=(COMUNE,), per_day=2)
        tok = expect(admin.post(f"/api/v1/accounts/{acc['id']}/tokens", {"name": "t"}), 201,
                     what="token").json["token"]
        api = Caller(srv, token=tok, purpose=conv["purpose_id"], user="ufficio.tributi.7")
        body = request({"codiceFiscale": PERSON})
        r = api.post("ricerca", body)
        rec = answered(srv, r, body, "look-up by an API account")
        s = subject(r)
        # identificativi is ANPR's own idANPR, which visura has not
        eq(set(s), {"generalita"}, "identity only: the profile")
        eq(rec["on_behalf_of"], "ufficio.tributi.7", "its end user")
        anomaly(srv, api.post("ricerca", request({"codiceFiscale": PERSON}), user=""), 400,
                "VIS07", "no end user", outcome="refused:on_behalf_of_required")
        eq(verify_value(srv, api), "S", "a verification counts too")
        r = api.post("ricerca", request({"codiceFiscale": PERSON}))
        rec = anomaly(srv, r, 429, "VIS08", "over the agreement's limit per day",
                      outcome="refused:rate_limited")
        check(int(r.header("Retry-After")) > 0, "Retry-After says until when")
        # A verify_only agreement verifies, never looks up.
        ente2 = srv.create_ente()
        acc2, _ = srv.create_account("api", ente2["id"])
        conv2 = srv.create_agreement(ente2["id"], ["identity"], comuni=(COMUNE,),
                                     mode="verify_only")
        tok2 = expect(admin.post(f"/api/v1/accounts/{acc2['id']}/tokens", {"name": "t"}), 201,
                      what="token").json["token"]
        api2 = Caller(srv, token=tok2, purpose=conv2["purpose_id"])
        anomaly(srv, api2.post("ricerca", request({"codiceFiscale": PERSON})), 403, "VIS02",
                "a look-up under verify_only", outcome="refused:mode_verify_only")
        eq(verify_value(srv, api2), "S", "a verification under verify_only")
        # Another body's purpose: outside the agreement.
        anomaly(srv, Caller(srv, token=tok2, purpose=conv["purpose_id"]).post(
            "ricerca", request({"codiceFiscale": PERSON})), 403, "VIS03", "another body's purpose",
            outcome="refused:purpose_not_allowed")


def test_death_as_of():
    with Server(population=Register()) as srv:
        admin = srv.admin()
        ente = srv.create_ente()
        acc, _ = srv.create_account("api", ente["id"])
        conv = srv.create_agreement(ente["id"], ["identity", "vital_status"], comuni=(COMUNE,))
        tok = expect(admin.post(f"/api/v1/accounts/{acc['id']}/tokens", {"name": "t"}), 201,
                     what="token").json["token"]
        api = Caller(srv, token=tok, purpose=conv["purpose_id"])

        def look(cf, date):
            body = request({"codiceFiscale": cf}, date=date)
            r = api.post("ricerca", body)
            answered(srv, r, body, f"look-up of {cf} as of {date}")
            return subject(r)

        def verify(cf, date, declared):
            body = request({"codiceFiscale": cf}, date=date, caso="C004",
                           verifica={"esistenzaInVita": declared})
            r = api.post("verifica", body)
            answered(srv, r, body, f"verification of {cf} alive={declared} as of {date}")
            return r.json["listaSoggetti"]["datiSoggetto"][0]["infoSoggettoEnte"][0]["valore"]

        for cf, _, valid in DYING:
            # as-of dates before the death: the day before, and (when the
            # file opened the version earlier) a day inside that version
            alive_on = ["2026-02-19"] + (["2026-02-15"] if valid < DIED else [])
            # on the death's day, after it, and (recorded late) before the
            # version the file opened
            dead_on = [DIED, "2026-06-01"] + (["2026-02-22"] if valid > DIED else [])
            for date in alive_on:
                what = f"{cf} (version from {valid}) as of {date}, before the death"
                s = look(cf, date)
                eq(s["infoSoggettoEnte"], [{"id": "1", "chiave": "esistenzaInVita",
                                            "valore": "S"}], what)
                check("datiDecesso" not in s, f"{what}: no death data {s}")
                eq(verify(cf, date, "S"), "S", f"{what}: declared alive")
                eq(verify(cf, date, "N"), "N", f"{what}: declared dead")
            for date in dead_on:
                what = f"{cf} (version from {valid}) as of {date}, after the death"
                s = look(cf, date)
                eq(s["infoSoggettoEnte"], [{"id": "1", "chiave": "esistenzaInVita",
                                            "valore": "N"}], what)
                eq(s.get("datiDecesso"), {"dataEvento": DIED}, f"{what}: the death's date")
                eq(verify(cf, date, "S"), "N", f"{what}: declared alive")
                eq(verify(cf, date, "N"), "S", f"{what}: declared dead")


def verify_value(srv, caller):
    body = request({"codiceFiscale": PERSON}, caso="C003", verifica={"cognome": "Rossi"})
    r = caller.post("verifica", body)
    answered(srv, r, body, "verification")
    return r.json["listaSoggetti"]["datiSoggetto"][0]["infoSoggettoEnte"][0]["valore"]


if __name__ == "__main__":
    run_tests(globals())
