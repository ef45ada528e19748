/* The printable visura: an HTML page (with a print style sheet) of one
 * consultation, carrying who asked, for which body, purpose and case, when,
 * and the access record that proves it.  Every value is HTML-escaped; the
 * page has no script and only the same-origin style sheet, so it renders
 * under the strict Content-Security-Policy.  Part of the corridor (access.h):
 * the page is built once the access record is durable, and the receipt
 * signs its bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "common/str.h"

const char access_print_css[] =
	"body{font-family:'Titillium Web',Geneva,Tahoma,sans-serif;color:#1a1a1a;margin:2rem;}"
	"header{border-bottom:3px solid #0066cc;margin-bottom:1rem;padding-bottom:.5rem}"
	"h1{font-size:1.5rem;margin:0;color:#0066cc}h2{font-size:1.1rem;margin:1.2rem 0 .3rem;"
	"color:#17324d;border-bottom:1px solid #ccc}"
	"table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.2rem .5rem;"
	"vertical-align:top;border-bottom:1px solid #eee}th{width:30%;color:#5c6f82;font-weight:600}"
	".meta{font-size:.85rem;color:#333}.receipt{font-family:monospace;font-size:.7rem;"
	"word-break:break-all}footer{margin-top:2rem;font-size:.8rem;color:#5c6f82}"
	"@media print{body{margin:1cm}a{color:inherit}}";

const size_t access_print_css_len = sizeof access_print_css - 1;

/* Labels in Italian, the language of the people who print this. */
static const char *label(const char *key)
{
	static const char *const map[][2] = {
		{"identity", "Dati anagrafici"}, {"residence", "Residenza"},
		{"family", "Famiglia"}, {"parentage", "Paternità e maternità"},
		{"citizenship", "Cittadinanza"}, {"civil_status", "Stato civile"},
		{"vital_status", "Stato in anagrafe"}, {"codice_fiscale", "Codice fiscale"},
		{"surname", "Cognome"}, {"name", "Nome"}, {"sex", "Sesso"},
		{"birth_date", "Data di nascita"}, {"birth_place", "Luogo di nascita"},
		{"address", "Indirizzo"}, {"address_since", "All'indirizzo dal"},
		{"registration_reason", "Motivo di iscrizione"},
		{"registration_date", "Data di iscrizione"}, {"household_id", "Scheda famiglia"},
		{"relationship", "Relazione con l'intestatario"}, {"father", "Padre"},
		{"mother", "Madre"}, {"code", "Codice"}, {"label", "Descrizione"}, {"date", "Data"},
		{"status", "Stato"}, {"cancellation_reason", "Motivo di cancellazione"},
		{"destination", "Destinazione"}, {"comune", "Comune"}, {"valid_from", "Valido dal"},
		{"valid_to", "Valido fino al"},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(map[i][0], key))
			return map[i][1];
	return key;
}

/* The words for the ANPR codes a person's record carries (docs/anpr-model.md),
 * so that the printed page reads like the screen. */
static const char *code_word(const char *key, long long code)
{
	static const struct {
		const char *key;
		int code;
		const char *word;
	} words[] = {
		{"registration_reason", 1, "nascita"},
		{"registration_reason", 2, "esistenza giudizialmente riconosciuta"},
		{"registration_reason", 3, "immigrazione da altro comune"},
		{"registration_reason", 4, "immigrazione dall'estero"},
		{"registration_reason", 5, "ricomparsa"},
		{"registration_reason", 6, "rimpatrio da AIRE"},
		{"registration_reason", 7, "rettifiche post censuarie"},
		{"registration_reason", 8, "trasferimento senza fissa dimora"},
		{"registration_reason", 9, "altri motivi"},
		{"registration_reason", 10, "ripristino"},
		{"relationship", 1, "intestatario scheda"}, {"relationship", 2, "coniuge"},
		{"relationship", 3, "figlio/a"}, {"relationship", 4, "nipote"},
		{"relationship", 6, "genitore"}, {"relationship", 7, "nonno/a"},
		{"relationship", 9, "fratello/sorella"}, {"relationship", 16, "genero/nuora"},
		{"relationship", 17, "suocero/a"}, {"relationship", 18, "cognato/a"},
		{"relationship", 23, "convivente"}, {"relationship", 24, "responsabile convivenza"},
		{"relationship", 25, "convivente in convivenza"}, {"relationship", 26, "tutore"},
		{"relationship", 28, "unito/a civilmente"}, {"relationship", 99, "non definito"},
		{"cancellation_reason", 1, "morte"}, {"cancellation_reason", 2, "morte presunta"},
		{"cancellation_reason", 3, "emigrazione verso altro comune"},
		{"cancellation_reason", 4, "trasferimento senza fissa dimora"},
		{"cancellation_reason", 5, "straniero all'estero"},
		{"cancellation_reason", 6, "irreperibilità"},
		{"cancellation_reason", 7, "mancato rinnovo dimora o permesso"},
		{"cancellation_reason", 8, "trasferimento all'estero (AIRE)"},
		{"cancellation_reason", 9, "rettifiche post censuarie"},
		{"cancellation_reason", 10, "doppia iscrizione"},
		{"cancellation_reason", 11, "perdita della cittadinanza"},
		{"cancellation_reason", 12, "ripristino"}, {"cancellation_reason", 13, "altro"},
	};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (words[i].code == code && !strcmp(words[i].key, key))
			return words[i].word;
	return NULL;
}

static const char *status_word(const char *s)
{
	static const char *const words[][2] = {
		{"registered", "iscritto/a"}, {"deceased", "deceduto/a"},
		{"emigrated", "emigrato/a"}, {"cancelled", "cancellato/a"},
	};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (!strcmp(words[i][0], s))
			return words[i][1];
	return NULL;
}

static void value(struct strbuf *h, json_t *v);

/* A field's value: codes as words, dates as dd/mm/yyyy, the rest as is. */
static void field_value(struct strbuf *h, const char *key, json_t *v)
{
	const char *s = json_string_value(v);
	const char *word = json_is_integer(v) ? code_word(key, json_integer_value(v))
		: s && !strcmp(key, "status") ? status_word(s) : NULL;
	if (word) {
		strbuf_add_html(h, word);
		if (json_is_integer(v)) {
			char n[32];
			snprintf(n, sizeof n, " (%lld)", (long long)json_integer_value(v));
			strbuf_adds(h, n);
		}
		return;
	}
	if (s && strlen(s) == 10 && s[4] == '-' && s[7] == '-' &&
	    strspn(s, "0123456789-") == 10) {
		char d[11];
		snprintf(d, sizeof d, "%.2s/%.2s/%.4s", s + 8, s + 5, s);
		strbuf_adds(h, d);
		return;
	}
	value(h, v);
}

static void value(struct strbuf *h, json_t *v)
{
	if (json_is_string(v)) {
		strbuf_add_html(h, json_string_value(v));
	} else if (json_is_integer(v)) {
		char n[32];
		snprintf(n, sizeof n, "%lld", (long long)json_integer_value(v));
		strbuf_adds(h, n);
	} else if (json_is_null(v)) {
		strbuf_adds(h, "&mdash;");
	} else if (json_is_object(v)) {
		/* A place {code, name} reads as "NAME (code)"; an address as its parts. */
		json_t *name = json_object_get(v, "name"), *code = json_object_get(v, "code");
		if (json_is_string(name) && json_is_string(code) && json_object_size(v) == 2) {
			strbuf_add_html(h, json_string_value(name));
			strbuf_adds(h, " (");
			strbuf_add_html(h, json_string_value(code));
			strbuf_adds(h, ")");
			return;
		}
		const char *k;
		json_t *x;
		bool first = true;
		json_object_foreach(v, k, x) {
			if (json_is_string(x) && !*json_string_value(x))
				continue;
			if (!first)
				strbuf_adds(h, " ");
			first = false;
			value(h, x);
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) {
			if (i)
				strbuf_adds(h, ", ");
			value(h, x);
		}
	}
}

static void section(struct strbuf *h, const char *key, json_t *obj)
{
	strbuf_adds(h, "<h2>");
	strbuf_add_html(h, label(key));
	strbuf_adds(h, "</h2><table>");
	if (json_is_object(obj)) {
		const char *k;
		json_t *v;
		json_object_foreach(obj, k, v) {
			strbuf_adds(h, "<tr><th>");
			strbuf_add_html(h, label(k));
			strbuf_adds(h, "</th><td>");
			field_value(h, k, v);
			strbuf_adds(h, "</td></tr>");
		}
	} else {
		strbuf_adds(h, "<tr><td>");
		value(h, obj);
		strbuf_adds(h, "</td></tr>");
	}
	strbuf_adds(h, "</table>");
}

char *access_print_html(json_t *body, const struct access_print_meta *m)
{
	struct strbuf h;
	strbuf_init(&h, ACCESS_PRINT_MAX);
	json_t *person = json_object_get(body, "person");
	strbuf_adds(&h, "<!DOCTYPE html><html lang=\"it\"><head><meta charset=\"utf-8\">"
		"<title>Visura anagrafica</title>"
		"<link rel=\"stylesheet\" href=\"/static/print.css\"></head><body><header>"
		"<h1>Visura anagrafica</h1><table class=\"meta\">");
	static const char *const meta_labels[] = {"Operatore", "Ente", "Finalità",
						  "Riferimento pratica", "Data e ora (UTC)",
						  "Registrazione di accesso n.", "Dati alla data"};
	const char *meta_values[] = {m->operator_name, m->ente, m->purpose, m->case_ref, m->when,
				     m->access_id, m->as_of};
	for (size_t i = 0; i < sizeof meta_labels / sizeof meta_labels[0]; i++) {
		strbuf_adds(&h, "<tr><th>");
		strbuf_add_html(&h, meta_labels[i]);
		strbuf_adds(&h, "</th><td>");
		strbuf_add_html(&h, meta_values[i] && *meta_values[i] ? meta_values[i] : "—");
		strbuf_adds(&h, "</td></tr>");
	}
	strbuf_adds(&h, "</table></header><main>");
	if (json_is_object(person)) {
		json_t *comune = json_object_get(person, "comune");
		if (comune)
			section(&h, "comune", comune);
		static const char *const order[] = {"identity", "residence", "family", "parentage",
						    "citizenship", "civil_status", "vital_status"};
		for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
			json_t *v = json_object_get(person, order[i]);
			if (v)
				section(&h, order[i], v);
		}
	}
	strbuf_adds(&h, "</main><footer><p>Documento prodotto da visura. I dati mostrati sono quelli "
		"consentiti dal profilo della convenzione. La ricevuta firmata dell'accesso è nell'intestazione "
		"HTTP X-Visura-Receipt della risposta; si verifica con <code>visura audit "
		"verify-receipt</code>.</p></footer></body></html>\n");
	return strbuf_detach(&h, NULL);
}
