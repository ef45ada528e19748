/* The citizen's own page of who consulted them (GDPR art. 15): the HTML
 * face of GET /citizen/access-report, for a person opening the one-time
 * code in a browser.  Printable (print style sheet, A4), no script, no
 * operator names or case references: the same entries as the JSON report
 * for the citizen, police and judicial consultations under embargo left
 * out exactly as there (reports.c decides; this only renders). */
#include <stdio.h>
#include <string.h>

#include "access/access.h"
#include "api/internal.h"
#include "app/app.h"
#include "common/str.h"

const char *api_citizen_kind(const char *kind)
{
	static const char *const k[][2] = {{"police", "polizia"}, {"health", "sanità"},
		{"pension", "previdenza"}, {"tax", "fisco"}, {"court", "giustizia"},
		{"municipality", "comune"}, {"service", "servizi"}};
	for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
		if (!strcmp(kind, k[i][0]))
			return k[i][1];
	return "altro";
}

const char *api_citizen_operation(const char *op)
{
	static const char *const o[][2] = {{"search", "ricerca"},
		{"consult", "consultazione della scheda anagrafica"},
		{"household", "consultazione della famiglia anagrafica"},
		{"history", "consultazione dello storico anagrafico"},
		{"print", "stampa della visura anagrafica"},
		{"verify", "verifica di una dichiarazione sostitutiva"},
		{"events", "comunicazione di un evento anagrafico"}};
	for (size_t i = 0; i < sizeof o / sizeof o[0]; i++)
		if (!strcmp(op, o[i][0]))
			return o[i][1];
	return "consultazione";
}

void api_citizen_note(int embargo_days, char *out, size_t size)
{
	if (embargo_days <= 0)
		snprintf(out, size, "L'elenco comprende tutte le consultazioni dei suoi dati anagrafici, "
			 "comprese quelle di forze di polizia e autorità giudiziarie.");
	else
		snprintf(out, size, "Le consultazioni fatte da forze di polizia e autorità giudiziarie "
			 "per indagini e procedimenti compaiono in questo elenco soltanto dopo %d giorni: "
			 "la legge consente di rinviare questa informazione per non pregiudicarli. "
			 "Prima di allora non sono elencate, né se ne indica il numero.", embargo_days);
}

bool api_wants_html(struct http_request *r)
{
	const char *a = http_header(r, "Accept");
	return a && strstr(a, "text/html");
}

static void head(struct strbuf *h, const struct http_request *r)
{
	strbuf_adds(h, "<!DOCTYPE html><html lang=\"it\"><head><meta charset=\"utf-8\">"
		    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		    "<title>Chi ha consultato i miei dati anagrafici</title>"
		    "<link rel=\"stylesheet\" href=\"/static/print.css\"></head><body><header>"
		    "<img src=\"/static/stemma\" alt=\"Stemma\"><div><p class=\"emittente\">");
	strbuf_add_html(h, r->app->cfg.print_heading);
	strbuf_adds(h, "</p><h1>Chi ha consultato i miei dati anagrafici</h1></div></header><main>");
}

static void form(struct strbuf *h)
{
	strbuf_adds(h, "<form class=\"no-print\" method=\"get\" action=\"/citizen/access-report\">"
		    "<p><label for=\"code\">Codice ricevuto dall'ufficio anagrafe (12 caratteri)"
		    "</label><br><input id=\"code\" name=\"code\" size=\"16\" maxlength=\"12\" "
		    "autocomplete=\"off\" required></p><p><button type=\"submit\">Mostra le "
		    "consultazioni</button></p></form><p class=\"nota\">Il codice vale una sola volta "
		    "e per 30 giorni: lo chieda all'ufficio anagrafe del Comune, che lo rilascia a lei "
		    "soltanto.</p>");
}

static void reply(struct http_request *r, int status, struct strbuf *h)
{
	strbuf_adds(h, "</main></body></html>\n");
	if (h->err) {
		strbuf_release(h);
		http_reply_error(r, 503, "service_unavailable",
				 "memoria esaurita: riprovare più tardi");
		return;
	}
	http_reply_bytes(r, status, "text/html; charset=utf-8", h->buf, h->len);
	strbuf_release(h);
}

void api_citizen_page_ask(struct http_request *r, int status, const char *problem)
{
	struct strbuf h;
	strbuf_init(&h, 1u << 16);
	head(&h, r);
	if (problem) {
		strbuf_adds(&h, "<p class=\"esito esito-no\" role=\"alert\">");
		strbuf_add_html(&h, problem);
		strbuf_adds(&h, "</p>");
	}
	form(&h);
	reply(r, status, &h);
}

static const char *text(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v && *v ? v : "—";
}

void api_citizen_page(struct http_request *r, const char *cf, json_t *accesses)
{
	struct strbuf h;
	strbuf_init(&h, 4u << 20);
	head(&h, r);
	char now[64], note[600];
	access_print_when(api_now(r) * 1000, now);
	strbuf_adds(&h, "<table class=\"meta\"><tr><th>Codice fiscale</th><td>");
	strbuf_add_html(&h, cf);
	strbuf_adds(&h, "</td></tr><tr><th>Situazione al</th><td>");
	strbuf_add_html(&h, now);
	strbuf_adds(&h, "</td></tr></table>");
	size_t n = json_array_size(accesses);
	if (!n) {
		strbuf_adds(&h, "<p class=\"esito\">Nessun ente ha consultato i suoi dati anagrafici "
			    "tramite questo servizio.</p>");
	} else {
		strbuf_addf(&h, "<h2>Consultazioni (%zu)</h2><table class=\"elenco\"><thead><tr>"
			    "<th scope=\"col\">Data e ora</th><th scope=\"col\">Ente</th>"
			    "<th scope=\"col\">Finalità</th><th scope=\"col\">Operazione</th></tr>"
			    "</thead><tbody>", n);
		size_t i;
		json_t *e;
		json_array_foreach(accesses, i, e) {
			strbuf_adds(&h, "<tr><td>");
			strbuf_add_html(&h, text(e, "data_ora"));
			strbuf_adds(&h, "</td><td>");
			strbuf_add_html(&h, text(e, "ente"));
			strbuf_adds(&h, " <span class=\"tipo\">(");
			strbuf_add_html(&h, text(e, "tipo_ente"));
			strbuf_adds(&h, ")</span></td><td>");
			strbuf_add_html(&h, text(e, "purpose"));
			strbuf_adds(&h, "</td><td>");
			strbuf_add_html(&h, text(e, "operazione"));
			strbuf_adds(&h, "</td></tr>");
		}
		strbuf_adds(&h, "</tbody></table>");
	}
	api_citizen_note(r->app->cfg.embargo_days, note, sizeof note);
	strbuf_adds(&h, "<h2>Consultazioni riservate</h2><p class=\"nota\">");
	strbuf_add_html(&h, note);
	strbuf_adds(&h, "</p><p class=\"nota\">Sono elencati gli enti che hanno consultato i suoi "
		    "dati, con la finalità dichiarata e la data; non i nomi dei singoli operatori. "
		    "Per chiarimenti, o se ritiene che una consultazione non fosse dovuta, può "
		    "rivolgersi all'ufficio anagrafe o al responsabile della protezione dei dati del "
		    "Comune.</p><p class=\"nota no-print\">Il codice è stato usato e non vale più: "
		    "per conservare questo elenco lo stampi o lo salvi come PDF (comando Stampa del "
		    "browser).</p>");
	reply(r, 200, &h);
}
