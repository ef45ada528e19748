/* The printable visura: an HTML page (with a print style sheet) of one
 * consultation, carrying who asked, for which body, purpose and case, when,
 * and the access record that proves it.  Every value is HTML-escaped; the
 * page has no script and only the same-origin style sheet, so it renders
 * under the strict Content-Security-Policy.  Part of the corridor (access.h):
 * the page is built once the access record is durable, and the receipt
 * signs its bytes. */
#define _GNU_SOURCE /* memmem */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "auth/hours.h"
#include "common/date.h"
#include "common/qr.h"
#include "common/str.h"

const char access_print_css[] =
	"body{font-family:'Titillium Web',Geneva,Tahoma,sans-serif;color:#1a1a1a;margin:2rem;"
	"max-width:50rem}"
	"header{display:flex;align-items:center;gap:1rem;border-bottom:3px solid #0066cc;"
	"margin-bottom:1rem;padding-bottom:.5rem}header img{width:4.5rem;height:auto}"
	".emittente{font-size:1.3rem;font-weight:700;margin:0;color:#17324d}"
	"h1{font-size:1.5rem;margin:0;color:#0066cc}.alla-data{margin:.2rem 0 0}"
	"h2{font-size:1.1rem;margin:1.2rem 0 .3rem;color:#17324d;border-bottom:1px solid #ccc}"
	"table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.2rem .5rem;"
	"vertical-align:top;border-bottom:1px solid #eee}th{width:30%;color:#5c6f82;font-weight:600}"
	"footer{margin-top:2rem;border-top:3px solid #0066cc;padding-top:.5rem;font-size:.85rem;"
	"break-inside:avoid}.piede{display:flex;gap:1rem;align-items:flex-start}"
	".piede table{flex:1}.contrassegno{width:14rem;text-align:center}"
	".contrassegno svg{width:14rem;height:14rem}.contrassegno path{fill:#000}"
	".impronta{font-family:monospace;font-size:.75rem;word-spacing:.2rem;margin:.2rem 0}"
	".nota{color:#333}"
	".elenco th{width:auto;border-bottom:2px solid #ccc}.elenco tr{break-inside:avoid}"
	".elenco thead{display:table-header-group}.tipo{color:#5c6f82}"
	/* the monthly bulletin (src/bollettino): counts to the right, the map */
	".elenco td.numero{text-align:right}.sintesi{font-size:1.05rem}"
	"figure.mappa{margin:0}figure.mappa svg{max-width:24rem;height:auto}"
	"figure.mappa figcaption{font-size:.8rem;color:#5c6f82}"
	/* a phone or 200% zoom (WCAG 1.4.10): one column, the seal under the
	 * foot's table, long words and the hash wrap */
	"@media screen and (max-width:40rem){body{margin:1rem}header,.piede{flex-direction:column;"
	"align-items:flex-start}.contrassegno{width:auto;max-width:100%}"
	"table:not(.elenco) th,table:not(.elenco) td{display:block;width:auto}"
	"table:not(.elenco) th{border-bottom:0;padding-bottom:0}"
	"td,.impronta{overflow-wrap:anywhere}.elenco{display:block;overflow-x:auto}}"
	"@media print{body{margin:0;max-width:none}a{color:inherit;text-decoration:none}"
	".no-print{display:none}"
	"@page{size:A4;margin:1.5cm}}";

const size_t access_print_css_len = sizeof access_print_css - 1;

/* The neutral emblem printed when no crest is configured (print_crest): a
 * shield with a tower and a wreath, drawn for visura, the arms of no
 * municipality. */
const char access_print_emblem[] =
	"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 100 120\">"
	"<title>Emblema</title>"
	"<path d=\"M10 8h80v52c0 28-20 44-40 54C30 104 10 88 10 60z\" fill=\"#1f5fa8\" "
	"stroke=\"#c9a227\" stroke-width=\"4\"/>"
	"<path d=\"M36 78V46h-4V34h8v5h6v-5h8v5h6v-5h8v12h-4v32z\" fill=\"#f4f1e6\"/>"
	"<path d=\"M46 78V64a4 4 0 0 1 8 0v14z\" fill=\"#1f5fa8\"/>"
	"<path d=\"M22 96c8 8 18 12 28 12s20-4 28-12\" fill=\"none\" stroke=\"#3c8d3c\" "
	"stroke-width=\"4\"/>"
	"<circle cx=\"50\" cy=\"22\" r=\"5\" fill=\"#c9a227\"/></svg>\n";

const size_t access_print_emblem_len = sizeof access_print_emblem - 1;

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

static const char *const months[] = {"gennaio", "febbraio", "marzo", "aprile", "maggio",
	"giugno", "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"};

void access_print_day(int date, char out[32])
{
	/* day, a month's name, year: 4 digits at most */
	STR_FMT_KNOWN_CAP(out, 32, "%d %s %d", DATE_DAY(date) % 100,
			  months[(DATE_MONTH(date) + 11) % 12], DATE_YEAR(date) % 10000);
}

void access_print_when(int64_t ms, char out[64])
{
	int64_t t = ms / 1000;
	int date, minute;
	hours_local(t, &date, &minute, NULL);
	char day[32];
	access_print_day(date, day);
	STR_FMT_KNOWN_CAP(out, 64, "%s, ore %02d:%02d:%02d", day, (minute / 60) % 100, minute % 60,
			  (int)(((t % 60) + 60) % 60)); /* access_print_day's 31 bytes + 14 */
}

/* A place {code, name}: its name; a code the tables do not know says so. */
static void place(struct strbuf *h, json_t *v)
{
	const char *name = json_string_value(json_object_get(v, "name"));
	const char *code = json_string_value(json_object_get(v, "code"));
	if (name) {
		strbuf_add_html(h, name);
	} else {
		strbuf_adds(h, "località non presente nelle tabelle (codice ");
		strbuf_add_html(h, code ? code : "");
		strbuf_adds(h, ")");
	}
}

static bool is_place(json_t *v)
{
	return json_is_object(v) && json_is_string(json_object_get(v, "code")) &&
	       json_object_size(v) <= 2 &&
	       (json_object_size(v) == 1 || json_is_string(json_object_get(v, "name")));
}

/* An address as it is written on an envelope, with its municipality. */
static void address(struct strbuf *h, json_t *a, json_t *comune)
{
	const char *parts[][2] = {{"dug", ""}, {"street", " "}};
	for (size_t i = 0; i < 2; i++) {
		const char *x = json_string_value(json_object_get(a, parts[i][0]));
		if (x && *x) {
			strbuf_adds(h, h->len && i ? parts[i][1] : "");
			strbuf_add_html(h, x);
		}
	}
	json_t *civic = json_object_get(a, "civic");
	if (json_is_integer(civic))
		strbuf_addf(h, " %lld", (long long)json_integer_value(civic));
	const char *ext = json_string_value(json_object_get(a, "civic_ext"));
	if (ext && *ext) {
		strbuf_adds(h, "/");
		strbuf_add_html(h, ext);
	}
	static const char *const more[][2] = {{"scala", ", scala "}, {"interno", ", interno "},
					      {"locality", ", località "}};
	for (size_t i = 0; i < 3; i++) {
		const char *x = json_string_value(json_object_get(a, more[i][0]));
		if (x && *x) {
			strbuf_adds(h, more[i][1]);
			strbuf_add_html(h, x);
		}
	}
	const char *cap = json_string_value(json_object_get(a, "cap"));
	if ((cap && *cap) || is_place(comune))
		strbuf_adds(h, " &mdash; ");
	if (cap && *cap) {
		strbuf_add_html(h, cap);
		strbuf_adds(h, " ");
	}
	if (is_place(comune))
		place(h, comune);
}

/* A field's value: codes as words, dates as dd/mm/yyyy, places by name,
 * the rest as is. */
static void field_value(struct strbuf *h, const char *key, json_t *v)
{
	const char *s = json_string_value(v);
	if (s && !strcmp(key, "sex") && (!strcmp(s, "M") || !strcmp(s, "F"))) {
		strbuf_adds(h, *s == 'M' ? "maschile" : "femminile");
		return;
	}
	const char *word = json_is_integer(v) ? code_word(key, json_integer_value(v))
		: s && !strcmp(key, "status") ? status_word(s) : NULL;
	if (word) {
		strbuf_add_html(h, word);
		return;
	}
	if (s && strlen(s) == 10 && s[4] == '-' && s[7] == '-' &&
	    strspn(s, "0123456789-") == 10) {
		char d[11];
		STR_FMT_KNOWN(d, "%.2s/%.2s/%.4s", s + 8, s + 5, s); /* its precisions bound it */
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
	} else if (is_place(v)) {
		place(h, v);
	} else if (json_is_object(v)) {
		const char *k;
		json_t *x;
		bool first = true;
		json_object_foreach(v, k, x) {
			if (json_is_string(x) && !*json_string_value(x))
				continue;
			if (!first)
				strbuf_adds(h, " ");
			first = false;
			field_value(h, k, x);
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

static void row(struct strbuf *h, const char *th)
{
	strbuf_adds(h, "<tr><th>");
	strbuf_add_html(h, th);
	strbuf_adds(h, "</th><td>");
}

static void section(struct strbuf *h, const char *key, json_t *obj, json_t *comune)
{
	strbuf_adds(h, "<h2>");
	strbuf_add_html(h, label(key));
	strbuf_adds(h, "</h2><table>");
	if (!strcmp(key, "civil_status") && json_is_object(obj)) {
		/* {code, label, date}: the label is the code's word. */
		row(h, "Stato civile");
		value(h, json_object_get(obj, "label"));
		strbuf_adds(h, "</td></tr>");
		json_t *d = json_object_get(obj, "date");
		if (json_is_string(d)) {
			row(h, "Dal");
			field_value(h, "date", d);
			strbuf_adds(h, "</td></tr>");
		}
	} else if (json_is_object(obj) && !is_place(obj)) {
		const char *k;
		json_t *v;
		json_object_foreach(obj, k, v) {
			row(h, label(k));
			if (!strcmp(k, "address") && json_is_object(v))
				address(h, v, comune);
			else
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
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		"<title>Visura anagrafica</title>"
		"<link rel=\"stylesheet\" href=\"/static/print.css\"></head><body><header>"
		"<img src=\"/static/stemma\" alt=\"Stemma\"><div><p class=\"emittente\">");
	strbuf_add_html(&h, m->heading && *m->heading ? m->heading : "");
	strbuf_adds(&h, "</p><h1>Visura anagrafica</h1><p class=\"alla-data\">Dati alla data del ");
	strbuf_add_html(&h, m->as_of);
	strbuf_adds(&h, "</p></div></header><main>");
	json_t *comune = json_is_object(person) ? json_object_get(person, "comune") : NULL;
	if (json_is_object(person)) {
		if (comune)
			section(&h, "comune", comune, NULL);
		static const char *const order[] = {"identity", "residence", "family", "parentage",
						    "citizenship", "civil_status", "vital_status"};
		for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
			json_t *v = json_object_get(person, order[i]);
			if (v)
				section(&h, order[i], v, comune);
		}
	}
	strbuf_adds(&h, "</main><footer><div class=\"piede\"><table class=\"meta\">");
	static const char *const meta_labels[] = {"Registrazione di accesso n.",
		"Data e ora della consultazione", "Ente", "Operatore", "Finalità",
		"Riferimento pratica"};
	const char *meta_values[] = {m->access_id, m->when, m->ente, m->operator_name, m->purpose,
				     m->case_ref};
	for (size_t i = 0; i < sizeof meta_labels / sizeof meta_labels[0]; i++) {
		row(&h, meta_labels[i]);
		strbuf_add_html(&h, meta_values[i] && *meta_values[i] ? meta_values[i] : "—");
		strbuf_adds(&h, "</td></tr>");
	}
	strbuf_adds(&h, "</table><div class=\"contrassegno\">" ACCESS_SEAL_OPEN ACCESS_SEAL_CLOSE
		"</div></div><p class=\"nota\">Documento prodotto da visura. I dati mostrati sono "
		"quelli consentiti dal profilo della convenzione. Il codice QR contiene la ricevuta "
		"firmata di questa consultazione: inquadrandolo si apre la pagina pubblica di verifica");
	if (m->verify_url && *m->verify_url) {
		strbuf_adds(&h, " (");
		strbuf_add_html(&h, m->verify_url);
		strbuf_adds(&h, ")");
	}
	strbuf_adds(&h, ", che conferma senza mostrare dati personali chi ha rilasciato il "
		"documento, quando, con quale numero di registrazione e con quale impronta del "
		"contenuto; la stessa verifica si fa senza rete con <code>visura audit "
		"verify-receipt</code>.</p></footer></body></html>\n");
	return strbuf_detach(&h, NULL);
}

/* ---- the seal: the receipt on the page it signs ---- */

#define SEAL_LABEL "Codice QR della ricevuta di accesso"
#define SEAL_HASH "<p class=\"impronta\">Impronta del contenuto: "

/* The content hash in groups of eight hex digits, as printed. */
static void grouped(struct strbuf *h, const char *hex)
{
	for (int i = 0; i < 8; i++)
		strbuf_addf(h, "%s%.8s", i ? " " : "", hex + 8 * i);
}

char *access_print_seal(const char *page, const char *receipt, const char *verify_url,
			size_t *len)
{
	const char *at = strstr(page, ACCESS_SEAL_OPEN ACCESS_SEAL_CLOSE);
	const char *f = receipt;
	for (int i = 0; f && i < 4; i++)
		f = strchr(f, '.') ? strchr(f, '.') + 1 : NULL;
	if (!at || !f || strspn(f, "0123456789abcdef") < 64)
		return NULL;
	struct strbuf h, text;
	strbuf_init(&h, ACCESS_PRINT_MAX);
	strbuf_init(&text, 4096);
	if (verify_url && *verify_url)
		strbuf_addf(&text, "%s?ricevuta=", verify_url);
	strbuf_adds(&text, receipt);
	size_t open = sizeof ACCESS_SEAL_OPEN - 1;
	strbuf_add(&h, page, (size_t)(at - page) + open);
	vis_err rc = text.err ? text.err : qr_svg(&h, text.buf, SEAL_LABEL);
	strbuf_adds(&h, SEAL_HASH);
	grouped(&h, f);
	strbuf_adds(&h, "</p>");
	strbuf_adds(&h, at + open);
	strbuf_release(&text);
	if (rc || h.err) {
		strbuf_release(&h);
		return NULL;
	}
	return strbuf_detach(&h, len);
}

const char *access_print_unseal(char *page, size_t *len)
{
	size_t n = *len, ol = sizeof ACCESS_SEAL_OPEN - 1, cl = sizeof ACCESS_SEAL_CLOSE - 1;
	char *open = memmem(page, n, ACCESS_SEAL_OPEN, ol);
	if (!open)
		return NULL; /* not a sealed page: the bytes are what was signed */
	char *in = open + ol;
	char *close = memmem(in, n - (size_t)(in - page), ACCESS_SEAL_CLOSE, cl);
	if (!close || memmem(close + cl, n - (size_t)(close + cl - page), ACCESS_SEAL_OPEN, ol))
		return "the printed visura's seal is malformed";
	if (close == in)
		return NULL; /* not sealed yet */
	size_t hl = sizeof SEAL_HASH - 1, tail = hl + 71 + 4;
	size_t il = (size_t)(close - in);
	if (il <= tail || memcmp(close - 4, "</p>", 4) || memcmp(close - tail, SEAL_HASH, hl) ||
	    !qr_svg_shape_ok(in, il - tail, SEAL_LABEL))
		return "the printed visura's seal is not the one visura writes: the page was altered";
	for (size_t i = 0; i < 71; i++) {
		char c = close[-75 + (ptrdiff_t)i];
		if (i % 9 == 8 ? c != ' ' : !strchr("0123456789abcdef", c) || !c)
			return "the printed visura's content hash is malformed: the page was altered";
	}
	memmove(in, close, n - (size_t)(close - page));
	*len = n - il;
	page[*len] = '\0';
	return NULL;
}
