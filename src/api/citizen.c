/* The citizen's side.  Their own page of who consulted them (GDPR art.
 * 15): the HTML face of GET /citizen/access-report, for a person opening
 * the one-time code, or logged in with SPID/CIE, in a browser.  Printable
 * (print style sheet, A4), no script, no operator names or case
 * references: the same entries as the JSON report for the citizen, police
 * and judicial consultations under embargo left out exactly as there
 * (reports.c decides; this only renders; in a session, the section of
 * e-mail notices comes from citizen_mail.c).  The citizen's session from
 * SPID/CIE (internal.h: cookie, look-up, logout), and the page that tells
 * a browser why a SPID/CIE login was refused. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "access/access.h"
#include "api/internal.h"
#include "app/app.h"
#include "auth/auth.h"
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

#define TITLE "Chi ha consultato i miei dati anagrafici"

static void head(struct strbuf *h, const struct http_request *r, const char *title)
{
	strbuf_adds(h, "<!DOCTYPE html><html lang=\"it\"><head><meta charset=\"utf-8\">"
		    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		    "<title>");
	strbuf_add_html(h, title);
	strbuf_adds(h, "</title><link rel=\"stylesheet\" href=\"/static/print.css\"></head><body>"
		    "<header><img src=\"/static/stemma\" alt=\"Stemma\"><div><p class=\"emittente\">");
	strbuf_add_html(h, r->app->cfg.print_heading);
	strbuf_adds(h, "</p><h1>");
	strbuf_add_html(h, title);
	strbuf_adds(h, "</h1></div></header><main>");
}

/* The way in with SPID/CIE, when the service offers it. */
static void spid_button(struct strbuf *h, const struct http_request *r)
{
	if (!r->app->oidc)
		return;
	strbuf_adds(h, "<p class=\"no-print\"><a class=\"pulsante\" "
		    "href=\"/api/v1/auth/spid/start?for=cittadino&amp;via=browser\">"
		    "Entra con SPID/CIE</a></p><p class=\"nota no-print\">Con SPID (livello 2 o 3) "
		    "o con la Carta d'identità elettronica vede subito le consultazioni del suo codice "
		    "fiscale, senza chiedere un codice all'ufficio. Chi non ha SPID né CIE usa il "
		    "codice qui sotto.</p>");
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

void api_citizen_html_head(struct strbuf *h, const struct http_request *r, const char *title)
{
	head(h, r, title);
}

static void reply(struct http_request *r, int status, struct strbuf *h);
void api_citizen_html_send(struct http_request *r, int status, struct strbuf *h)
{
	reply(r, status, h);
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
	head(&h, r, TITLE);
	if (problem) {
		strbuf_adds(&h, "<p class=\"esito esito-no\" role=\"alert\">");
		strbuf_add_html(&h, problem);
		strbuf_adds(&h, "</p>");
	}
	spid_button(&h, r);
	form(&h);
	reply(r, status, &h);
}

void api_spid_page_refused(struct http_request *r, int status, const char *message,
			   const char *back)
{
	struct strbuf h;
	strbuf_init(&h, 1u << 16);
	head(&h, r, "Accesso con SPID/CIE non riuscito");
	strbuf_adds(&h, "<p class=\"esito esito-no\" role=\"alert\">");
	strbuf_add_html(&h, message);
	strbuf_adds(&h, ".</p><p><a class=\"pulsante\" href=\"");
	strbuf_add_html(&h, back);
	strbuf_adds(&h, "\">");
	strbuf_adds(&h, strcmp(back, "/") ? "Torna alla pagina delle consultazioni"
					  : "Torna alla pagina di accesso");
	strbuf_adds(&h, "</a></p>");
	reply(r, status, &h);
}

static const char *text(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v && *v ? v : "—";
}

void api_citizen_page(struct http_request *r, const char *cf, json_t *accesses,
		      const struct store_citizen_session *session)
{
	struct strbuf h;
	strbuf_init(&h, 4u << 20);
	head(&h, r, TITLE);
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
		    "Comune.</p>");
	if (!session) {
		strbuf_adds(&h, "<p class=\"nota no-print\">Il codice è stato usato e non vale più: "
			    "per conservare questo elenco lo stampi o lo salvi come PDF (comando Stampa "
			    "del browser).</p>");
		reply(r, 200, &h);
		return;
	}
	char until[64];
	access_print_when(session->expires_at * 1000, until);
	strbuf_adds(&h, "<p class=\"nota no-print\">Ha effettuato l'accesso con SPID/CIE (livello ");
	strbuf_addf(&h, "%d", session->level);
	strbuf_adds(&h, "); la sessione termina il ");
	strbuf_add_html(&h, until);
	strbuf_adds(&h, ". Per conservare questo elenco lo stampi o lo salvi come PDF (comando "
		    "Stampa del browser), oppure scarichi l'elenco firmato dal Comune: un file che "
		    "chiunque può verificare con la chiave pubblica del servizio.</p>"
		    "<p class=\"no-print\"><a class=\"pulsante\" "
		    "href=\"/citizen/access-report?formato=firmato\">Scarica l'elenco firmato</a></p>");
	api_citizen_mail_section(&h, r, session);
	char csrf[65];
	if (api_citizen_csrf(r, csrf)) /* the session was found by this cookie */
		strbuf_addf(&h, "<form class=\"no-print\" method=\"post\" action=\"/citizen/logout\">"
			    "<input type=\"hidden\" name=\"csrf_token\" value=\"%s\"><p><button "
			    "type=\"submit\">Esci</button></p></form>", csrf);
	reply(r, 200, &h);
}

void api_citizen_message(struct http_request *r, int status, const char *title,
			 const char *message, bool ok)
{
	struct strbuf h;
	strbuf_init(&h, 1u << 16);
	head(&h, r, title);
	strbuf_adds(&h, ok ? "<p class=\"esito\">" : "<p class=\"esito esito-no\" role=\"alert\">");
	strbuf_add_html(&h, message);
	strbuf_adds(&h, "</p><p><a class=\"pulsante\" href=\"/citizen/access-report\">"
		    "Vai alla pagina delle consultazioni</a></p>");
	reply(r, status, &h);
}

void api_citizen_refuse(struct http_request *r, int status, const char *code,
			const char *message)
{
	if (api_wants_html(r))
		api_citizen_message(r, status, "Richiesta non eseguita", message, false);
	else
		http_reply_error(r, status, code, message);
}

bool api_citizen_query(struct http_request *r)
{
	char why[HTTP_QUERY_MESSAGE];
	const char *message = why;
	if (!http_args_valid(r))
		message = HTTP_ARGS_MESSAGE;
	else if (!http_query_refused(r, why))
		return true;
	api_citizen_refuse(r, 400, "invalid_request", message);
	return false;
}

/* ---- the citizen's session ---- */

bool api_citizen_csrf(struct http_request *r, char out[65])
{
	const char *cookie = http_cookie(r, API_COOKIE_CITIZEN);
	if (!cookie || !*cookie || strlen(cookie) > 64)
		return false;
	char in[96];
	/* a cookie of at most 64 bytes (above) */
	STR_FMT_KNOWN(in, "visura-cittadino-csrf:%s", cookie);
	auth_token_hash(in, out);
	sodium_memzero(in, sizeof in);
	return true;
}

static void session_cookie(struct http_request *r, const char *value, int max_age)
{
	api_cookie_set(r, API_COOKIE_CITIZEN, value, max_age, "Lax");
}

bool api_citizen_session_open(struct http_request *r, struct store *s, const char *cf,
			      int level, int64_t now, int64_t *until)
{
	unsigned char raw[32];
	char token[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)], hash[65];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(token, sizeof token, raw, sizeof raw,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
	auth_token_hash(token, hash);
	*until = now + CITIZEN_SESSION_SECONDS;
	struct vis_error e = {0};
	if (store_citizen_session_put(s, hash, cf, level, now, *until, &e)) {
		sodium_memzero(token, sizeof token);
		api_fail(r, &e);
		return false;
	}
	session_cookie(r, token, CITIZEN_SESSION_SECONDS);
	sodium_memzero(token, sizeof token);
	return true;
}

int api_citizen_session_find(struct http_request *r, struct store *s, int64_t now,
			     struct store_citizen_session *out, bool *stale)
{
	*stale = false;
	const char *cookie = http_cookie(r, API_COOKIE_CITIZEN);
	if (!cookie || !*cookie)
		return 0;
	if (strlen(cookie) > 64) {
		*stale = true;
		return 0;
	}
	char hash[65];
	bool found = false;
	struct vis_error e = {0};
	auth_token_hash(cookie, hash);
	if (store_citizen_session_get(s, hash, now, out, &found, &e)) {
		api_fail(r, &e);
		return -1;
	}
	*stale = !found;
	return found ? 1 : 0;
}

bool api_citizen_members(struct http_request *r, const char *const *allowed)
{
	if (!r->body_len && !r->json)
		return true;
	json_t *b = http_body_form(r);
	const char *unknown = b ? api_unknown_member(b, allowed) : NULL;
	if (unknown) {
		char msg[API_UNKNOWN_MESSAGE];
		api_citizen_refuse(r, 400, "invalid_request", api_unknown_message(msg, unknown));
	}
	return b && !unknown;
}

/* POST /citizen/logout: the session ends (on the database: the cookie is
 * worth nothing from now on, wherever it is).  Its CSRF token was asked
 * by the gate (a page of another site cannot end the session). */
void api_citizen_logout(struct http_request *r)
{
	static const char *const fields[] = {"csrf_token", NULL};
	struct store *s = api_store(r);
	if (!s || !api_citizen_members(r, fields))
		return;
	const char *cookie = http_cookie(r, API_COOKIE_CITIZEN);
	if (cookie && *cookie && strlen(cookie) <= 64) {
		char hash[65];
		struct vis_error e = {0};
		auth_token_hash(cookie, hash);
		if (store_citizen_session_end(s, hash, &e)) {
			api_fail(r, &e);
			return;
		}
	}
	session_cookie(r, "", 0);
	if (api_wants_html(r))
		api_redirect(r, "/citizen/access-report");
	else
		http_reply_json(r, 200, json_pack("{s:b}", "ended", 1));
}
