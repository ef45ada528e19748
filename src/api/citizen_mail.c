/* The citizen's e-mail notices of new consultations (rules in
 * watch/watch.h): the section of their page (SPID/CIE session), its JSON
 * face under /citizen/notifications, and the two pages a message's links
 * open without login (confirm an address; unsubscribe), each a page with
 * one button, so that a mail filter opening links does nothing.
 * Everything the citizen reads is Italian; the address is never logged. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "access/access.h"
#include "api/internal.h"
#include "app/app.h"
#include "auth/auth.h"
#include "common/str.h"
#include "watch/watch.h"

/* The session of the request, or a 401 sent. */
static bool session_of(struct http_request *r, struct store *s, struct store_citizen_session *cs)
{
	bool stale;
	int got = api_citizen_session_find(r, s, api_now(r), cs, &stale);
	if (got < 0)
		return false;
	if (!got) {
		api_citizen_refuse(r, 401, "citizen_session_expired",
		       "serve la sessione del cittadino: entrare con SPID/CIE dalla pagina "
		       "/citizen/access-report");
		return false;
	}
	return true;
}

static bool offered(struct http_request *r)
{
	if (watch_offered(&r->app->cfg))
		return true;
	api_citizen_refuse(r, 404, "notifications_not_offered",
	       "il Comune non offre gli avvisi per posta elettronica");
	return false;
}

void api_citizen_mail_section(struct strbuf *h, struct http_request *r,
			      const struct store_citizen_session *session)
{
	struct store *s = api_store(r);
	char csrf[65];
	if (!s || !watch_offered(&r->app->cfg) || !api_citizen_csrf(r, csrf))
		return;
	struct store_citizen_mail m;
	bool found;
	struct vis_error e = {0};
	if (store_citizen_mail_get(s, session->cf, 0, &m, &found, &e)) {
		strbuf_adds(h, "<h2>Avvisi per posta elettronica</h2><p class=\"nota\">La situazione "
			    "degli avvisi non è disponibile ora: riprovare più tardi.</p>");
		return;
	}
	strbuf_adds(h, "<section class=\"no-print\"><h2>Avvisi per posta elettronica</h2>");
	if (found && m.address[0]) {
		strbuf_adds(h, "<p class=\"esito\">Riceve un avviso a <strong>");
		strbuf_add_html(h, m.address);
		strbuf_adds(h, "</strong> quando i suoi dati sono consultati.</p>");
	}
	if (found && m.pending_address[0]) {
		char until[64];
		access_print_when(m.confirm_expires_at * 1000, until);
		strbuf_adds(h, "<p class=\"esito\">In attesa di conferma: abbiamo scritto a <strong>");
		strbuf_add_html(h, m.pending_address);
		strbuf_adds(h, "</strong>. Apra il collegamento del messaggio entro il ");
		strbuf_add_html(h, until);
		strbuf_adds(h, "; fino ad allora a quell'indirizzo non arriva alcun avviso.</p>");
	}
	strbuf_addf(h, "<p class=\"nota\">Può chiedere di ricevere un messaggio quando un ente "
		    "consulta i suoi dati anagrafici: al più uno ogni %d minuti, con il solo numero "
		    "delle nuove consultazioni (per vederle si entra qui con SPID/CIE). Le "
		    "consultazioni di polizia e autorità giudiziarie sono segnalate solo quando "
		    "compaiono nell'elenco. L'indirizzo è usato soltanto dopo che lo avrà confermato "
		    "con il collegamento che le inviamo, ed è cancellato quando chiede di non "
		    "ricevere più avvisi.</p>", r->app->cfg.citizen_notice_minutes);
	strbuf_adds(h, "<form method=\"post\" action=\"/citizen/notifications\"><p><label "
		    "for=\"address\">");
	strbuf_adds(h, found && m.address[0] ? "Nuovo indirizzo di posta elettronica"
					     : "Indirizzo di posta elettronica");
	strbuf_addf(h, "</label><br><input id=\"address\" name=\"address\" type=\"email\" "
		    "size=\"40\" maxlength=\"%d\" autocomplete=\"email\" required>"
		    "<input type=\"hidden\" name=\"csrf_token\" value=\"%s\"></p><p><button "
		    "type=\"submit\">Invia il messaggio di conferma</button></p></form>",
		    WATCH_ADDRESS_MAX, csrf);
	if (found)
		strbuf_addf(h, "<form method=\"post\" action=\"/citizen/notifications/delete\">"
			    "<input type=\"hidden\" name=\"csrf_token\" value=\"%s\"><p><button "
			    "type=\"submit\">Non ricevere più avvisi e cancellare l'indirizzo"
			    "</button></p></form>", csrf);
	strbuf_adds(h, "</section>");
}

void api_citizen_mail_get(struct http_request *r)
{
	struct store *s = api_store(r);
	struct store_citizen_session cs;
	if (!s || !session_of(r, s, &cs))
		return;
	struct store_citizen_mail m;
	bool found;
	struct vis_error e = {0};
	if (store_citizen_mail_get(s, cs.cf, 0, &m, &found, &e)) {
		api_fail(r, &e);
		return;
	}
	char csrf[65];
	api_citizen_csrf(r, csrf); /* the session was found by this cookie */
	json_t *o = json_pack("{s:b,s:i,s:s}", "offered", watch_offered(&r->app->cfg),
			      "interval_minutes", r->app->cfg.citizen_notice_minutes,
			      "csrf_token", csrf);
	json_object_set_new(o, "address", found && m.address[0] ? json_string(m.address)
								: json_null());
	json_object_set_new(o, "pending_address",
			    found && m.pending_address[0] ? json_string(m.pending_address)
							  : json_null());
	json_object_set_new(o, "confirmation_expires_at",
			    found && m.pending_address[0] ? api_time(m.confirm_expires_at)
							  : json_null());
	http_reply_json(r, 200, o);
}

/* After a change from the page: back to it; a JSON client gets `o`. */
static void done(struct http_request *r, int status, json_t *o)
{
	if (api_wants_html(r)) {
		json_decref(o);
		api_redirect(r, "/citizen/access-report");
	} else {
		http_reply_json(r, status, o);
	}
}

void api_citizen_mail_set(struct http_request *r)
{
	struct store *s = api_store(r);
	struct store_citizen_session cs;
	static const char *const fields[] = {"address", "csrf_token", NULL};
	if (!s || !session_of(r, s, &cs) || !http_body_form(r) ||
	    !api_citizen_members(r, fields) || !offered(r))
		return;
	const char *address = http_body_string(r, "address", true, WATCH_ADDRESS_MAX);
	if (!address)
		return;
	int64_t until = 0;
	struct vis_error e = {0};
	vis_err rc = watch_ask(s, &r->app->cfg, r->app->secrets, cs.cf, address, api_now(r), &until,
			       &e);
	if (rc == VIS_ERR_INVALID) {
		api_citizen_refuse(r, 400, "invalid_request", e.msg);
		return;
	}
	if (rc == VIS_ERR_CONFLICT) {
		api_citizen_refuse(r, 409, "conflict", e.msg);
		return;
	}
	if (rc == VIS_ERR_LIMIT) {
		api_citizen_refuse(r, 429, "too_many_attempts", e.msg);
		return;
	}
	if (rc) {
		api_fail(r, &e);
		return;
	}
	done(r, 202, json_pack("{s:s,s:o,s:s}", "pending_address", address,
			       "confirmation_expires_at", api_time(until), "message",
			       "le abbiamo inviato un messaggio: l'indirizzo riceve avvisi solo "
			       "dopo che avrà aperto il collegamento e confermato"));
}

void api_citizen_mail_delete(struct http_request *r)
{
	struct store *s = api_store(r);
	struct store_citizen_session cs;
	static const char *const fields[] = {"csrf_token", NULL};
	if (!s || !session_of(r, s, &cs) || !http_body_form(r) ||
	    !api_citizen_members(r, fields))
		return;
	struct vis_error e = {0};
	if (store_citizen_mail_delete(s, cs.cf, &e)) {
		api_fail(r, &e);
		return;
	}
	done(r, 200, json_pack("{s:b}", "deleted", 1));
}

/* The page a message's link opens: one button posting the token back. */
static void token_page(struct http_request *r, const char *title, const char *text,
		       const char *action, const char *button)
{
	if (!api_citizen_query(r))
		return;
	const char *token = http_query(r, "token");
	if (!token || !*token || strlen(token) > 100) {
		api_citizen_message(r, 400, title, "Il collegamento non è completo: lo copi per intero dal "
		     "messaggio ricevuto.", false);
		return;
	}
	struct strbuf h;
	strbuf_init(&h, 1u << 16);
	api_citizen_html_head(&h, r, title);
	strbuf_adds(&h, "<p>");
	strbuf_add_html(&h, text);
	strbuf_adds(&h, "</p><form method=\"post\" action=\"");
	strbuf_add_html(&h, action);
	strbuf_adds(&h, "\"><input type=\"hidden\" name=\"token\" value=\"");
	strbuf_add_html(&h, token);
	strbuf_adds(&h, "\"><p><button type=\"submit\">");
	strbuf_add_html(&h, button);
	strbuf_adds(&h, "</button></p></form>");
	api_citizen_html_send(r, 200, &h);
}

void api_citizen_mail_confirm_page(struct http_request *r)
{
	token_page(r, "Conferma dell'indirizzo",
		   "Confermi che questo indirizzo di posta elettronica riceva un avviso quando "
		   "sono consultati i dati anagrafici di chi lo ha indicato. Se non è stato lei a "
		   "chiederlo, chiuda questa pagina: senza conferma l'indirizzo viene cancellato.",
		   "/citizen/notifications/confirm", "Conferma");
}

void api_citizen_mail_unsub_page(struct http_request *r)
{
	token_page(r, "Non ricevere più avvisi",
		   "Con il pulsante qui sotto gli avvisi si fermano e l'indirizzo di posta "
		   "elettronica viene cancellato.",
		   "/citizen/notifications/unsubscribe", "Non ricevere più avvisi");
}

/* The token of a posted link's form (or JSON). */
static const char *posted_token(struct http_request *r)
{
	static const char *const fields[] = {"token", NULL};
	if (!http_body_form(r) || !api_citizen_members(r, fields))
		return NULL;
	return http_body_string(r, "token", true, 100);
}

/* A link's button posted: the confirmation or the unsubscribe token used. */
static void token_use(struct http_request *r, bool confirm)
{
	struct store *s = api_store(r);
	const char *token;
	if (!s || !(token = posted_token(r)))
		return;
	bool ok;
	struct vis_error e = {0};
	if (confirm ? watch_confirm(s, token, api_now(r), &ok, &e)
		    : watch_unsubscribe(s, r->app->secrets, token, &ok, &e)) {
		api_fail(r, &e);
		return;
	}
	if (!ok) {
		api_citizen_refuse(r, 404, "invalid_token",
		       confirm ? "il collegamento non è valido: è già stato usato, è scaduto (vale "
				 "24 ore) oppure è stato sostituito da una richiesta più recente"
			       : "il collegamento non è valido: gli avvisi sono già stati fermati "
				 "oppure l'indirizzo è cambiato");
		return;
	}
	if (api_wants_html(r) && confirm)
		api_citizen_message(r, 200, "Indirizzo confermato",
		     "Indirizzo confermato: riceverà un avviso quando i suoi dati anagrafici sono "
		     "consultati. Ogni messaggio contiene il collegamento per non riceverne più.",
		     true);
	else if (api_wants_html(r))
		api_citizen_message(r, 200, "Avvisi fermati",
		     "Non riceverà più avvisi: l'indirizzo di posta elettronica è stato cancellato.",
		     true);
	else
		http_reply_json(r, 200, json_pack("{s:b}", confirm ? "confirmed" : "unsubscribed", 1));
}

void api_citizen_mail_confirm(struct http_request *r)
{
	token_use(r, true);
}

void api_citizen_mail_unsub(struct http_request *r)
{
	token_use(r, false);
}
