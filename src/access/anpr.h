/* access/anpr — the ANPR shape of the corridor's answers (access.h,
 * "ANPR-shaped services").  Internal to src/access.
 *
 * Owns: the table of anomalies (a corridor refusal → an ANPR-style
 * codiceErroreAnomalia, tipoErroreAnomalia and an Italian
 * testoErroreAnomalia) and the translation of a person view — which holds
 * only what the profile may see (query.h) — into ANPR's field names.
 * Nothing here reads the register or decides who may see what: a view
 * without a field gives an answer without it. */
#ifndef VISURA_ACCESS_ANPR_H
#define VISURA_ACCESS_ANPR_H

#include <jansson.h>
#include <stdint.h>

struct access_anpr_anomaly {
	const char *code;              /* codiceErroreAnomalia */
	const char *type;              /* tipoErroreAnomalia: "E" error, "W" warning */
	const char *text;              /* testoErroreAnomalia, Italian */
};

/* The anomaly of a corridor code (its refusal or not-found code); a code
 * the table does not know is a generic refusal, never NULL. */
const struct access_anpr_anomaly *access_anpr_anomaly(const char *corridor_code);

/* datiSoggetto of one person view (query.h's "person"): a new object. */
json_t *access_anpr_subject(json_t *view);

/* The answer: on success (`soggetti`, listaSoggetti, stolen) ANPR's
 * RispostaE002OK {"idOperazioneClient", "idOperazioneANPR", "listaSoggetti",
 * "listaAnomalie": []}; else (NULL and the corridor's code) its RispostaKO
 * {"idOperazioneClient", "idOperazioneANPR", "listaErrori": [one anomaly]}.
 * NULL when out of memory. */
json_t *access_anpr_answer(const char *id_client, int64_t access_id, json_t *soggetti,
			   const char *corridor_code);

#endif
