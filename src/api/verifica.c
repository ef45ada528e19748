/* The public check of a printed visura's receipt (the QR code at its foot):
 * GET /verifica, a page with no script that anyone holding the paper opens,
 * and POST /api/v1/receipts/verify, its JSON twin.  Both say only what the
 * paper already shows: issued by this deployment (the signature, and the
 * record in the signed trail), when, under which access number, and
 * whether the content hash the holder reads matches.  No personal data,
 * nothing of the body beyond the receipt.  Failed checks are throttled per
 * address like the citizen's codes. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "api/internal.h"
#include "app/app.h"
#include "audit/audit.h"
#include "auth/auth.h"
#include "common/date.h"
#include "common/str.h"

#define REFUSED "La ricevuta non è valida: non è stata rilasciata da questo servizio, oppure è " \
	"stata alterata o trascritta in modo errato."

struct check {
	bool valid;
	int64_t wait;                 /* > 0: throttled, seconds */
	int64_t access_id, at, purged_at;
	char content_hash[65];
	int hash_given;               /* 0: none given, 1: matches, -1: differs */
	char origin[CHECKPOINT_NAME_MAX + 1];
	uint64_t size;
};

/* The printed hash as the holder types it: hex digits, spaces ignored. */
static bool hash_typed(const char *in, char out[65])
{
	size_t n = 0;
	for (const char *p = in; *p; p++) {
		if (*p == ' ' || *p == '\t' || *p == '-')
			continue;
		char c = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
		if (!strchr("0123456789abcdef", c) || !c || n == 64)
			return false;
		out[n++] = c;
	}
	out[n] = '\0';
	return n == 64;
}

/* Checks the receipt; false after replying 503 (the database). */
static bool check(struct http_request *r, struct store *s, const char *receipt,
		  const char *typed, struct check *c)
{
	*c = (struct check){0};
	int64_t now = api_now(r);
	char key[96];
	STR_FMT_KNOWN(key, "receipt@%s", r->ip); /* ip[64] */
	if ((c->wait = auth_throttle_wait(s, &r->app->cfg, key, r->ip, now)) ==
	    AUTH_THROTTLE_UNKNOWN) {
		api_reply_uncounted(r);
		return false;
	}
	if (c->wait > 0)
		return true;
	uint8_t pk[32];
	static _Thread_local struct audit_receipt_info info;
	struct vis_error e = {0};
	int64_t purged = 0;
	const char *why = strlen(receipt) > AUDIT_RECEIPT_MAX ||
				  (strncmp(receipt, "v2.", 3) && strncmp(receipt, "v3.", 3))
		? "not a v2 or v3 receipt"
		: !audit_public_key(s, pk) ? "no key"
		: audit_receipt_verify(receipt, pk, NULL, 0, &info);
	if (!why && (why = audit_receipt_check(s, receipt, NULL, 0, &purged, &e)) &&
	    e.code) {
		api_fail(r, &e);
		return false;
	}
	if (why) {
		auth_throttle_fail(s, &r->app->cfg, key, r->ip, now);
		return true;
	}
	c->valid = true;
	c->access_id = info.id;
	c->at = info.at;
	c->purged_at = purged;
	c->size = info.head.size;
	STR_COPY_KNOWN(c->origin, info.head.origin);
	const char *f = receipt;
	for (int i = 0; i < 4; i++)
		f = strchr(f, '.') + 1; /* a valid receipt has nine or twelve fields */
	STR_FMT_KNOWN(c->content_hash, "%.64s", f); /* its precision bounds it */
	char mine[65];
	if (typed && *typed)
		c->hash_given = hash_typed(typed, mine) && !strcmp(mine, c->content_hash) ? 1 : -1;
	return true;
}

static void retry_after(struct http_request *r, int64_t wait)
{
	char ra[32];
	snprintf(ra, sizeof ra, "%lld", (long long)wait);
	http_header_add(r, "Retry-After", ra);
}

void api_receipt_verify(struct http_request *r)
{
	static const char *const fields[] = {"receipt", "content_hash", NULL};
	if (!api_body_members(r, fields))
		return;
	json_t *body = http_body_object(r);
	if (!body)
		return;
	const char *receipt = http_body_string(r, "receipt", true, AUDIT_RECEIPT_MAX);
	const char *typed = receipt ? http_body_string(r, "content_hash", false, 200) : NULL;
	if (!receipt || !typed)
		return;
	struct store *s = api_store(r);
	struct check c;
	if (!s || !check(r, s, receipt, typed, &c))
		return;
	if (c.wait > 0) {
		retry_after(r, c.wait);
		http_reply_error(r, 429, "too_many_attempts",
				 "troppe verifiche non riuscite da questo indirizzo: riprovare più tardi");
		return;
	}
	if (!c.valid) {
		http_reply_error(r, 422, "receipt_invalid", REFUSED);
		return;
	}
	char when[64];
	access_print_when(c.at, when);
	json_t *j = json_pack("{s:b,s:I,s:o,s:s,s:s,s:{s:s,s:I}}", "valid", 1,
			      "access_id", (json_int_t)c.access_id, "issued_at",
			      api_time(c.at / 1000), "issued_at_text", when,
			      "content_hash", c.content_hash, "trail", "origin", c.origin,
			      "size", (json_int_t)c.size);
	json_object_set_new(j, "content_hash_matches",
			    c.hash_given ? json_boolean(c.hash_given > 0) : json_null());
	json_object_set_new(j, "purged_on", c.purged_at ? api_time(c.purged_at / 1000)
							 : json_null());
	http_reply_json(r, 200, j);
}

/* ---- the page ---- */

static void dl_row(struct strbuf *h, const char *th, const char *td)
{
	strbuf_adds(h, "<tr><th>");
	strbuf_add_html(h, th);
	strbuf_adds(h, "</th><td>");
	strbuf_add_html(h, td);
	strbuf_adds(h, "</td></tr>");
}

void api_verifica_page(struct http_request *r)
{
	const char *receipt = http_query(r, "ricevuta");
	const char *typed = http_query(r, "impronta");
	struct check c = {0};
	bool asked = receipt && *receipt;
	if (asked) {
		struct store *s = api_store(r);
		if (!s || !check(r, s, receipt, typed, &c))
			return;
	}
	struct strbuf h;
	strbuf_init(&h, 1u << 20);
	strbuf_adds(&h, "<!DOCTYPE html><html lang=\"it\"><head><meta charset=\"utf-8\">"
		    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		    "<title>Verifica di una visura</title>"
		    "<link rel=\"stylesheet\" href=\"/static/print.css\"></head><body><header>"
		    "<img src=\"/static/stemma\" alt=\"Stemma\"><div><p class=\"emittente\">");
	strbuf_add_html(&h, r->app->cfg.print_heading);
	strbuf_adds(&h, "</p><h1>Verifica di una visura</h1></div></header><main>");
	int status = 200;
	if (asked && c.wait > 0) {
		status = 429;
		retry_after(r, c.wait);
		strbuf_addf(&h, "<p class=\"esito esito-no\" role=\"alert\">Troppe verifiche non "
			    "riuscite da questo indirizzo: riprovare fra %lld secondi.</p>",
			    (long long)c.wait);
	} else if (asked && !c.valid) {
		status = 422;
		strbuf_adds(&h, "<p class=\"esito esito-no\" role=\"alert\">" REFUSED "</p>");
	} else if (asked) {
		char when[64], id[32], size[32];
		access_print_when(c.at, when);
		snprintf(id, sizeof id, "%lld", (long long)c.access_id);
		snprintf(size, sizeof size, "%llu", (unsigned long long)c.size);
		struct strbuf g;
		strbuf_init(&g, 128);
		for (int i = 0; i < 8; i++)
			strbuf_addf(&g, "%s%.8s", i ? " " : "", c.content_hash + 8 * i);
		strbuf_adds(&h, "<p class=\"esito esito-si\" role=\"status\">La ricevuta è autentica: "
			    "è stata rilasciata da questo servizio e la consultazione è registrata nel "
			    "registro degli accessi firmato.</p><table>");
		dl_row(&h, "Registrazione di accesso n.", id);
		dl_row(&h, "Data e ora della consultazione", when);
		dl_row(&h, "Impronta del contenuto", g.buf);
		dl_row(&h, "Registro firmato", c.origin);
		dl_row(&h, "Registrazioni coperte dalla firma", size);
		strbuf_adds(&h, "</table>");
		strbuf_release(&g);
		if (c.purged_at) {
			int day = date_from_days(c.purged_at / 1000 / 86400);
			char d[32];
			access_print_day(day, d);
			strbuf_adds(&h, "<p>Il contenuto della registrazione è stato cancellato il ");
			strbuf_add_html(&h, d);
			strbuf_adds(&h, " alla scadenza dei termini di conservazione; la sua impronta "
				    "resta nel registro firmato.</p>");
		}
		if (c.hash_given > 0)
			strbuf_adds(&h, "<p class=\"esito esito-si\" role=\"status\">L'impronta indicata "
				    "corrisponde a quella della ricevuta.</p>");
		else if (c.hash_given < 0)
			strbuf_adds(&h, "<p class=\"esito esito-no\" role=\"alert\">L'impronta indicata "
				    "NON corrisponde a quella della ricevuta: il documento non è quello "
				    "rilasciato.</p>");
		else
			strbuf_adds(&h, "<p>Confrontare l'impronta qui sopra con quella stampata sotto "
				    "il codice QR del documento, oppure scriverla qui sotto.</p>");
	}
	strbuf_adds(&h, "<form method=\"get\" action=\"/verifica\"><p><label for=\"ricevuta\">"
		    "Ricevuta (il contenuto del codice QR)</label><br><textarea id=\"ricevuta\" "
		    "name=\"ricevuta\" rows=\"4\" cols=\"60\" required>");
	strbuf_add_html(&h, asked ? receipt : "");
	strbuf_adds(&h, "</textarea></p><p><label for=\"impronta\">Impronta del contenuto stampata "
		    "sul documento (facoltativa)</label><br><input id=\"impronta\" name=\"impronta\" "
		    "size=\"72\" value=\"");
	strbuf_add_html(&h, typed ? typed : "");
	strbuf_adds(&h, "\"></p><p><button type=\"submit\">Verifica</button></p></form>"
		    "<p class=\"nota\">Questa pagina non mostra dati personali: conferma soltanto che "
		    "la visura è stata rilasciata da questo servizio, quando e con quale numero di "
		    "registrazione. La stessa verifica si fa senza rete con <code>visura audit "
		    "verify-receipt</code>.</p></main></body></html>\n");
	if (h.err) {
		strbuf_release(&h);
		http_reply_error(r, 503, "service_unavailable",
				 "memoria esaurita: riprovare più tardi");
		return;
	}
	http_reply_bytes(r, status, "text/html; charset=utf-8", h.buf, h.len);
	strbuf_release(&h);
}
