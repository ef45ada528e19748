/* The ANPR shape of the corridor's answers: anomalies and field names. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "access/anpr.h"

/* Codes: EN122 is ANPR's own "no result"; the others are visura's
 * (prefix VIS), listed in docs/api.md, "ANPR". */
#define SEVERAL {"VIS01", "E", "I criteri di ricerca individuano più di un soggetto: " \
			       "indicare il codice fiscale o altri dati"}

static const struct {
	const char *corridor;
	struct access_anpr_anomaly a;
} anomalies[] = {
	{"not_found", {"EN122", "E", "La richiesta effettuata non produce alcun risultato"}},
	{"several_results", SEVERAL},
	{"query_too_broad", SEVERAL},
	{"category_not_permitted", {"VIS02", "E", "I dati richiesti non rientrano nel profilo "
				    "della convenzione"}},
	{"mode_verify_only", {"VIS02", "E", "La convenzione consente solo la verifica dei dati "
			      "dichiarati"}},
	{"purpose_required", {"VIS03", "E", "Finalità non indicata"}},
	{"purpose_not_allowed", {"VIS03", "E", "La finalità non appartiene a una convenzione "
				 "dell'ente"}},
	{"agreement_not_active", {"VIS03", "E", "La convenzione non è in vigore"}},
	{"reference_date_invalid", {"VIS04", "E", "dataRiferimentoRichiesta mancante o non nel "
				    "formato AAAA-MM-GG"}},
	{"reference_date_uncovered", {"VIS05", "E", "dataRiferimentoRichiesta fuori dal periodo "
				      "coperto dall'anagrafe (dal primo caricamento a oggi)"}},
	{"invalid_request", {"VIS06", "E", "Richiesta non valida: campi mancanti o non "
			     "conformi (vedere la documentazione dell'e-service)"}},
	{"invalid_json", {"VIS06", "E", "Il corpo della richiesta non è un oggetto JSON valido"}},
	{"on_behalf_of_required", {"VIS07", "E", "Manca l'utente finale per conto del quale si "
				   "chiede (X-Visura-On-Behalf-Of)"}},
	{"rate_limited", {"VIS08", "E", "Superati i limiti di chiamate della convenzione: "
			  "riprovare più tardi"}},
	{"answer_too_large", {"VIS09", "E", "La risposta sarebbe troppo grande (troppi soggetti "
			      "o troppi dati): rivolgersi all'ufficio anagrafe"}},
	{"account_suspended", {"VIS10", "E", "Account sospeso in attesa di verifica dell'ufficio "
			       "anagrafe"}},
	{"trail_unpublished", {"VIS11", "E", "Registro degli accessi non pubblicato: dati "
			       "personali non disponibili"}},
};

static const struct access_anpr_anomaly other = {
	"VIS99", "E", "Richiesta respinta dalle regole della convenzione"};

const struct access_anpr_anomaly *access_anpr_anomaly(const char *corridor_code)
{
	for (size_t i = 0; corridor_code && i < sizeof anomalies / sizeof *anomalies; i++)
		if (!strcmp(anomalies[i].corridor, corridor_code))
			return &anomalies[i].a;
	return &other;
}

/* {"codiceIstat", "nomeComune"} (or a state's) of a view's place. */
static json_t *place(json_t *p, const char *code_key, const char *name_key)
{
	json_t *j = json_object();
	json_t *code = json_object_get(p, "code"), *name = json_object_get(p, "name");
	if (json_is_string(code))
		json_object_set(j, code_key, code);
	if (json_is_string(name))
		json_object_set(j, name_key, name);
	return j;
}

static void copy(json_t *to, const char *to_key, json_t *from, const char *from_key)
{
	json_t *v = json_object_get(from, from_key);
	/* what the register leaves empty is left out */
	if (v && !json_is_null(v) && !(json_is_string(v) && !json_string_length(v)))
		json_object_set(to, to_key, v);
}

/* An integer of the view as ANPR's decimal text. */
static void copy_number(json_t *to, const char *to_key, json_t *from, const char *from_key)
{
	json_t *v = json_object_get(from, from_key);
	if (json_is_integer(v)) {
		char num[24];
		snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
		json_object_set_new(to, to_key, json_string(num));
	}
}

static json_t *generalita(json_t *id)
{
	json_t *g = json_object();
	json_t *cf = json_object_get(id, "codice_fiscale");
	if (json_is_string(cf))
		json_object_set_new(g, "codiceFiscale", json_pack("{s:O}", "codFiscale", cf));
	copy(g, "cognome", id, "surname");
	copy(g, "nome", id, "name");
	copy(g, "sesso", id, "sex");
	copy(g, "dataNascita", id, "birth_date");
	json_t *bp = json_object_get(id, "birth_place");
	if (json_is_object(bp)) {
		json_t *code = json_object_get(bp, "code");
		/* six digits: an Italian municipality; three: a foreign state */
		bool comune = json_is_string(code) && strlen(json_string_value(code)) == 6;
		json_object_set_new(g, "luogoNascita", comune
			? json_pack("{s:o}", "comune", place(bp, "codiceIstat", "nomeComune"))
			: json_pack("{s:o}", "localita", place(bp, "codiceStato", "descrizioneStato")));
	}
	return g;
}

static json_t *residenza(json_t *res, json_t *comune)
{
	json_t *r = json_object();
	copy(r, "dataDecorrenzaResidenza", res, "registration_date");
	json_t *a = json_object_get(res, "address");
	if (json_is_object(a)) {
		json_t *ind = json_object();
		copy(ind, "cap", a, "cap");
		if (json_is_object(comune))
			json_object_set_new(ind, "comune", place(comune, "codiceIstat", "nomeComune"));
		copy(ind, "frazione", a, "locality");
		json_t *top = json_object();
		copy(top, "specie", a, "dug");
		copy(top, "denominazioneToponimo", a, "street");
		json_object_set_new(ind, "toponimo", top);
		json_t *civ = json_object();
		copy_number(civ, "numero", a, "civic");
		copy(civ, "esponente1", a, "civic_ext");
		json_t *in = json_object();
		copy(in, "scala", a, "scala");
		copy(in, "interno1", a, "interno");
		if (json_object_size(in))
			json_object_set_new(civ, "civicoInterno", in);
		else
			json_decref(in);
		json_object_set_new(ind, "numeroCivico", civ);
		json_object_set_new(r, "indirizzo", ind);
		copy(r, "presso", a, "convivenza");
	}
	return json_pack("[o]", r);
}

json_t *access_anpr_subject(json_t *view)
{
	json_t *s = json_object();
	json_t *v;
	/* ANPR's identificativi holds its own idANPR, which visura has not:
	 * the codice fiscale is in generalita */
	if (json_is_object(v = json_object_get(view, "identity")))
		json_object_set_new(s, "generalita", generalita(v));
	if (json_is_object(v = json_object_get(view, "residence")))
		json_object_set_new(s, "residenza", residenza(v, json_object_get(view, "comune")));
	if (json_is_array(v = json_object_get(view, "citizenship"))) {
		json_t *arr = json_array();
		size_t i;
		json_t *c;
		json_array_foreach(v, i, c)
			json_array_append_new(arr, place(c, "codiceStato", "descrizioneStato"));
		json_object_set_new(s, "cittadinanza", arr);
	}
	if (json_is_object(v = json_object_get(view, "civil_status"))) {
		json_t *st = json_object();
		copy_number(st, "statoCivile", v, "code");
		copy(st, "descrizioneStatoCivile", v, "label");
		copy(st, "dataEvento", v, "date");
		json_object_set_new(s, "statoCivile", st);
	}
	if (json_is_object(v = json_object_get(view, "family"))) {
		json_t *f = json_object();
		copy(f, "idFamiglia", v, "household_id");
		copy_number(f, "relazioneParentela", v, "relationship");
		json_object_set_new(s, "famiglia", f);
	}
	if (json_is_object(v = json_object_get(view, "parentage"))) {
		json_t *g = json_object();
		copy(g, "codiceFiscalePadre", v, "father");
		copy(g, "codiceFiscaleMadre", v, "mother");
		json_object_set_new(s, "genitori", g);
	}
	if (json_is_object(v = json_object_get(view, "vital_status"))) {
		json_t *status = json_object_get(v, "status");
		const char *st = json_string_value(status);
		bool dead = st && !strcmp(st, "deceased");
		/* ANPR's item of a verification: valore "S" / "N" */
		json_object_set_new(s, "infoSoggettoEnte", json_pack("[{s:s,s:s,s:s}]", "id", "1",
			"chiave", "esistenzaInVita", "valore", dead ? "N" : "S"));
		if (dead)
			json_object_set_new(s, "datiDecesso", json_pack("{s:O?}", "dataEvento",
							json_object_get(v, "date")));
	}
	return s;
}

json_t *access_anpr_answer(const char *id_client, int64_t access_id, json_t *soggetti,
			   const char *corridor_code)
{
	char id[24];
	snprintf(id, sizeof id, "%lld", (long long)access_id);
	json_t *anomalie = json_array();
	if (!soggetti) {
		const struct access_anpr_anomaly *a = access_anpr_anomaly(corridor_code);
		json_array_append_new(anomalie, json_pack("{s:s,s:s,s:s}", "codiceErroreAnomalia",
			a->code, "tipoErroreAnomalia", a->type, "testoErroreAnomalia", a->text));
	}
	/* RispostaE002OK's list is listaAnomalie, RispostaKO's listaErrori */
	json_t *j = json_pack("{s:s?,s:s,s:o}", "idOperazioneClient", id_client,
			      "idOperazioneANPR", id, soggetti ? "listaAnomalie" : "listaErrori",
			      anomalie);
	if (j && soggetti)
		json_object_set_new(j, "listaSoggetti", soggetti);
	else
		json_decref(soggetti);
	return j;
}
