/* The gate: the one place that decides whether a request reaches its
 * handler.  Order: who is calling (session cookie or bearer token), is the
 * account usable now, is the body active and inside its working hours, is
 * the CSRF token right for a state change, does the role fit the route,
 * and is a password change or TOTP enrolment due first.  Before all: no
 * change with a cookie from another site's page (Sec-Fetch-Site), on any
 * route; once the body is in, a citizen's change carries their session's
 * CSRF token (ROUTE_CITIZEN).  A CSRF token missing or wrong, an
 * operator's or a citizen's, and a change from a foreign page, before
 * anyone is authenticated, are a security event (csrf_refused). */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "api/api.h"
#include "api/internal.h"
#include "app/app.h"
#include "audit/audit.h"
#include "auth/auth.h"
#include "common/log.h"
#include "common/str.h"
#include "pdnd/pdnd.h"

static unsigned role_bit(const char *role)
{
	if (!strcmp(role, "admin")) return ROUTE_ADMIN;
	if (!strcmp(role, "lead")) return ROUTE_LEAD;
	if (!strcmp(role, "operator")) return ROUTE_OPERATOR;
	if (!strcmp(role, "auditor")) return ROUTE_AUDITOR;
	if (!strcmp(role, "api")) return ROUTE_API;
	return 0;
}

static bool state_changing(const char *method)
{
	return strcmp(method, "GET") && strcmp(method, "HEAD");
}

/* A browser's word (Sec-Fetch-Site) that the request comes from a page of
 * another site, or of a sibling of ours under the same domain: anything
 * but our own origin or the user's own typing.  Absent (a program, an old
 * browser), the CSRF token alone decides. */
static bool foreign(struct http_request *r)
{
	const char *site = http_header(r, "Sec-Fetch-Site");
	return site && strcmp(site, "same-origin") && strcmp(site, "none");
}

#define CSRF_FOREIGN_MESSAGE "richiesta rifiutata: parte da una pagina di un altro sito " \
	"(Sec-Fetch-Site), non da quelle di questo servizio"

/* A change made with ambient credentials (a cookie, which the browser
 * adds by itself; not an Authorization header, which a page of another
 * site cannot set) from a foreign page is refused on every route, the
 * public ones too (a login, a citizen's form, a message's link).  It is
 * a security event (csrf_refused) like a wrong token's: no one is
 * authenticated yet, so the refusals of one address are one row with a
 * count (auth_event), whatever a page sends.  Without the database the
 * request is refused all the same. */
static bool change_from_foreign(struct http_request *r, const struct http_route *route)
{
	if (!state_changing(r->method) || http_header(r, "Authorization") || !foreign(r))
		return false;
	struct store *s = app_store(r->app);
	if (s)
		auth_event(s, api_now(r), "csrf_refused", NULL, "-", r->ip, r->path);
	else
		log_warn("rifiuto csrf non registrato", "request_id=%s reason=\"senza database\"",
			 r->request_id);
	if (route->access & ROUTE_CITIZEN)
		api_citizen_refuse(r, 403, "csrf_failed", CSRF_FOREIGN_MESSAGE);
	else
		http_reply_error(r, 403, "csrf_failed", CSRF_FOREIGN_MESSAGE);
	return true;
}

/* A change on a citizen's route with their live session's cookie carries
 * the session's CSRF token: the header X-CSRF-Token, or the field
 * csrf_token of the body (the page's plain HTML forms cannot send a
 * header).  No such cookie, or one whose session is over: no session to
 * act in, nothing to forge, the handler answers (401). */
static bool citizen_change_allowed(struct http_request *r)
{
	char want[65];
	if (!(r->found->access & ROUTE_CITIZEN) || !state_changing(r->method) ||
	    !api_citizen_csrf(r, want))
		return true;
	struct store *s = api_store(r);
	if (!s)
		return false;
	struct store_citizen_session cs;
	bool stale;
	int live = api_citizen_session_find(r, s, api_now(r), &cs, &stale);
	if (live <= 0)
		return live == 0;
	const char *got = http_header(r, "X-CSRF-Token");
	if (!got && r->body_len) {
		if (!http_body_form(r))
			return false;
		got = json_string_value(json_object_get(r->json, "csrf_token"));
	}
	if (got && auth_equal(got, want))
		return true;
	/* A security event like an operator's refusal: no account (the
	 * citizen's session names a person, not kept here), so the refusals of
	 * one address are one row with a count (auth_event). */
	auth_event(s, api_now(r), "csrf_refused", NULL, "-", r->ip, r->path);
	api_citizen_refuse(r, 403, "csrf_failed",
			   "richiesta rifiutata: deve partire dalla pagina delle consultazioni "
			   "(manca il codice di sicurezza del modulo o non corrisponde)");
	return false;
}

/* A session revoked because its account was disabled or expired, or its
 * body suspended, is answered with that reason rather than "log in again",
 * so that the user learns it at once.  False for any other revocation
 * (logout, password change). */
static bool session_ended_why(struct http_request *r, struct store *s, int64_t now)
{
	struct store_account a;
	bool found = false;
	if (store_account_get(s, r->auth->session.account_id, &a, &found, NULL) || !found)
		return false;
	enum account_standing st = auth_standing(&r->app->cfg, &a, now);
	if (st == STANDING_DISABLED || st == STANDING_CREDENTIALS_EXPIRED ||
	    st == STANDING_TEMP_EXPIRED) {
		http_reply_error(r, 401, auth_standing_code(st), auth_standing_message(st));
		return true;
	}
	struct store_ente en;
	if (a.ente_id && !store_ente_get(s, a.ente_id, &en, &found, NULL) &&
	    found && strcmp(en.state, "active")) {
		http_reply_error(r, 401, "ente_not_active",
				 "l'accesso dell'ente è sospeso o cessato");
		return true;
	}
	return false;
}

/* A PDND call refused before it reached the corridor: recorded in the
 * access trail (who PDND says is calling, as far as the voucher could be
 * read; the account of the purpose's mapping when there is one), then
 * answered.  A trail that cannot take the record answers 500. */
static void voucher_refused(struct http_request *r, int64_t now, const struct pdnd_voucher *v,
			    const struct store_pdnd_purpose *m, const struct store_account *a,
			    const struct pdnd_refusal *why)
{
	struct store_access rec = {0};
	struct timeval tv;
	gettimeofday(&tv, NULL);
	rec.at = now * 1000 + tv.tv_usec / 1000;
	rec.account_id = a ? a->id : 0;
	rec.ente_id = a ? a->ente_id : 0;
	rec.purpose_id = m ? m->purpose_id : 0;
	STR_FMT_KNOWN(rec.username, "pdnd:%.58s", v->client_id); /* its precision bounds it */
	STR_COPY_KNOWN(rec.ip, r->ip); /* the same size */
	STR_COPY_KNOWN(rec.operation, "voucher");
	/* its precisions bound it (424 bytes at most) */
	STR_FMT_KNOWN(rec.query, "kid=%.64s client_id=%.64s purposeId=%.64s path=%.200s", v->kid,
		      v->client_id, v->purpose_id, r->path);
	for (char *p = rec.query; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	rec.subjects = "";
	STR_FMT_KNOWN(rec.outcome, "refused:%s", why->code); /* a refusal's code, a constant */
	rec.status = why->status;
	struct vis_error e = {0};
	if (audit_submit(r->app->audit, &rec, &e)) {
		http_reply_internal(r, &e);
		return;
	}
	http_reply_error(r, why->status, why->code, why->message);
}

/* A PDND voucher: checked (pdnd.h), its purpose mapped, its jti taken;
 * the call is then the mapped API account's, for the mapped purpose. */
static bool authenticate_voucher(struct http_request *r, struct store *s, int64_t now,
				 const char *token)
{
	struct http_auth *au = r->auth;
	struct pdnd_checks checks = pdnd_checks_from(&r->app->cfg);
	struct pdnd_refusal why;
	struct vis_error e = {0};
	bool found = false;
	if (!pdnd_voucher_check(r->app->pdnd, &checks, token, strlen(token), now, &au->voucher,
				&why)) {
		voucher_refused(r, now, &au->voucher, NULL, NULL, &why);
		return false;
	}
	struct store_pdnd_purpose m;
	if (pdnd_purpose_find(s, au->voucher.purpose_id, &m, &found, &e)) {
		api_fail(r, &e);
		return false;
	}
	if (!found) {
		why = (struct pdnd_refusal){403, "pdnd_purpose_unknown",
			"la finalità del voucher (purposeId) non corrisponde a una convenzione di "
			"questa anagrafe"};
		voucher_refused(r, now, &au->voucher, NULL, NULL, &why);
		return false;
	}
	if (store_account_get(s, m.account_id, &au->account, &found, &e)) {
		api_fail(r, &e);
		return false;
	}
	if (!found || strcmp(au->account.role, "api")) {
		vis_error_set(&e, VIS_ERR_INTERNAL, "alla finalità PDND %s non corrisponde alcuna utenza API",
			      m.pdnd_purpose);
		api_fail(r, &e);
		return false;
	}
	if (strcmp(m.client_id, au->voucher.client_id)) {
		why = (struct pdnd_refusal){403, "pdnd_client_mismatch",
			"il client del voucher (client_id) non è quello per cui la finalità è "
			"registrata"};
		voucher_refused(r, now, &au->voucher, &m, &au->account, &why);
		return false;
	}
	/* Who asked (AUDIT_REST_02): signed by the body's client, bound to the voucher. */
	bool ok;
	struct pdnd_refusal evidence_why;
	if (pdnd_evidence_check(s, au->account.ente_id, &checks, &au->voucher,
				http_header(r, "Agid-JWT-TrackingEvidence"), now, &au->evidence, &ok,
				&evidence_why, &e)) {
		api_fail(r, &e);
		return false;
	}
	/* Both jti in one commit (the evidence's only when it is good): a
	 * replayed voucher is refused as such before what its evidence says. */
	bool fresh;
	if (pdnd_jti_take(s, &au->voucher, ok ? &au->evidence : NULL, checks.skew, &fresh, &why,
			  &e)) {
		api_fail(r, &e);
		return false;
	}
	if (!fresh || !ok) {
		voucher_refused(r, now, &au->voucher, &m, &au->account, fresh ? &evidence_why : &why);
		return false;
	}
	/* The e-service's daily quotas, once the call is known good. */
	struct pdnd_quota q;
	int took = pdnd_quota_take(r->app->rl, store_shared(s) ? s : NULL, &checks,
				   au->account.ente_id, now, &q, &why, &e);
	if (took < 0) {
		api_fail(r, &e);
		return false;
	}
	if (!took) {
		char ra[24];
		snprintf(ra, sizeof ra, "%lld", (long long)(q.until - now));
		http_header_add(r, "Retry-After", ra);
		voucher_refused(r, now, &au->voucher, &m, &au->account, &why);
		return false;
	}
	au->via_token = true;
	au->via_voucher = true;
	au->voucher_purpose = m.purpose_id;
	return true;
}

/* INTEGRITY_REST_02: a PDND call with a body carries Digest and an
 * Agid-JWT-Signature of its body's client over it. */
bool api_body_gate(struct http_request *r)
{
	if (!citizen_change_allowed(r))
		return false;
	struct http_auth *au = r->auth;
	if (!au->via_voucher || !r->app->signer)
		return true;
	bool body = r->body_len > 0 || r->body_fd >= 0 || !strcmp(r->method, "POST") ||
		    !strcmp(r->method, "PUT") || !strcmp(r->method, "PATCH");
	if (!body)
		return true;
	struct store *s = api_store(r);
	if (!s)
		return false;
	int64_t now = app_now(r->app);
	struct store_pdnd_purpose m = {.purpose_id = au->voucher_purpose};
	struct pdnd_refusal why;
	if (r->body_fd >= 0) { /* a file upload: not an e-service of PDND */
		why = (struct pdnd_refusal){403, "pdnd_route_not_offered",
			"questa risorsa non è offerta alle chiamate tramite PDND"};
		voucher_refused(r, now, &au->voucher, &m, &au->account, &why);
		return false;
	}
	struct pdnd_checks checks = pdnd_checks_from(&r->app->cfg);
	struct vis_error e = {0};
	bool ok;
	if (pdnd_integrity_check(s, au->account.ente_id, &checks, http_header(r, "Digest"),
				 http_header(r, "Agid-JWT-Signature"),
				 http_header(r, "Content-Type"), r->body ? r->body : "", r->body_len,
				 now, &ok, &why, &e)) {
		api_fail(r, &e);
		return false;
	}
	if (!ok)
		voucher_refused(r, now, &au->voucher, &m, &au->account, &why);
	return ok;
}

/* The answer to a PDND call, signed with the deployment's key: Digest of
 * its bytes, and Agid-JWT-Signature naming it, for the caller's client. */
void api_answer_sign(struct http_request *r)
{
	struct http_auth *au = r->auth;
	if (!au->via_voucher || !r->app->signer)
		return;
	const char *body = r->resp ? r->resp : r->resp_static ? r->resp_static : "";
	char digest[PDND_DIGEST_MAX];
	pdnd_digest(body, r->resp_len, digest);
	char *jwt = NULL;
	struct vis_error e = {0};
	if (pdnd_answer_sign(r->app->signer, r->app->cfg.pdnd_audience, au->voucher.client_id,
			     digest, r->content_type, app_now(r->app), &jwt, &e) ||
	    !http_header_add(r, "Digest", digest) ||
	    !http_header_add(r, "Agid-JWT-Signature", jwt)) {
		/* An answer the e-service promises signed does not leave unsigned. */
		au->via_voucher = false;
		log_error("risposta PDND non firmata", "request_id=%s error=\"%s\"", r->request_id,
			  e.msg[0] ? e.msg : "le intestazioni non ci stanno");
		http_reply_error(r, 500, "internal_error",
				 "non è stato possibile firmare la risposta: nulla è stato inviato");
	}
	free(jwt);
}

/* Who is calling: fills r->auth or replies 401. */
static bool authenticate(struct http_request *r, struct store *s, int64_t now)
{
	struct vis_error e = {0};
	bool found = false;
	const char *authz = http_header(r, "Authorization");
	if (authz) {
		if (strncmp(authz, "Bearer ", 7)) {
			http_reply_error(r, 401, "unauthenticated",
					 "schema di autorizzazione non supportato (usare Bearer)");
			return false;
		}
		/* visura's own tokens are base64url: a dot makes it a JWT. */
		if (r->app->pdnd && strchr(authz + 7, '.')) {
			if (!authenticate_voucher(r, s, now, authz + 7))
				return false;
			r->auth->authenticated = true;
			return true;
		}
		struct store_token t;
		if (auth_token_find(s, authz + 7, now, &t, &found, &e)) {
			api_fail(r, &e);
			return false;
		}
		if (found && store_account_get(s, t.account_id, &r->auth->account, &found, &e)) {
			api_fail(r, &e);
			return false;
		}
		if (!found || strcmp(r->auth->account.role, "api")) {
			http_reply_error(r, 401, "unauthenticated", "token non valido o revocato");
			return false;
		}
		r->auth->via_token = true;
		r->auth->token_id = t.id;
	} else {
		const char *cookie = http_cookie(r, API_COOKIE_SESSION);
		if (cookie && auth_session_find(s, &r->app->cfg, cookie, now, &r->auth->session,
						&found, &e)) {
			api_fail(r, &e);
			return false;
		}
		if (found && store_account_get(s, r->auth->session.account_id, &r->auth->account, &found, &e)) {
			api_fail(r, &e);
			return false;
		}
		if (!found) {
			if (!(r->auth->session.revoked_at && session_ended_why(r, s, now)))
				http_reply_error(r, 401, "unauthenticated",
						 "accesso richiesto: nessuna sessione, oppure la sessione è scaduta");
			return false;
		}
	}
	r->auth->authenticated = true;
	return true;
}

bool api_gate(struct http_request *r, const struct http_route *route)
{
	/* A request begins: the control records this thread reads (here and
	 * in the handler) are those of the generation read now, so a change
	 * committed by any process is seen from this request on.  Its writes
	 * wait briefly for another writer: this is one of the server's few
	 * HTTP threads, and an import may hold the register for minutes. */
	app_request_begin(r->app, STORE_WAIT_BRIEF);
	if (change_from_foreign(r, route))
		return false;
	if (route->access & ROUTE_PUBLIC)
		return true;
	struct store *s = api_store(r);
	if (!s)
		return false;
	int64_t now = app_now(r->app);
	if (!authenticate(r, s, now))
		return false;
	struct store_account *a = &r->auth->account;
	enum account_standing st = auth_standing(&r->app->cfg, a, now);
	if (st == STANDING_DISABLED || st == STANDING_CREDENTIALS_EXPIRED ||
	    st == STANDING_TEMP_EXPIRED) {
		struct vis_error e = {0};
		if (!r->auth->via_token)
			auth_session_revoke(s, &r->auth->session, now, &e);
		auth_event(s, now, "request_refused", a, NULL, r->ip, auth_standing_message(st));
		http_reply_error(r, 401, auth_standing_code(st), auth_standing_message(st));
		return false;
	}
	if (!api_body_open(r, s, now, a, r->path))
		return false;
	/* An operator's session acts only from its own pages: a read from a
	 * sibling site (SameSite=Strict lets its requests carry the cookie)
	 * could still record a consultation in the operator's name. */
	if (!r->auth->via_token && foreign(r)) {
		auth_event(s, now, "csrf_refused", a, NULL, r->ip, r->path);
		http_reply_error(r, 403, "csrf_failed", CSRF_FOREIGN_MESSAGE);
		return false;
	}
	if (state_changing(r->method) && !r->auth->via_token) {
		const char *csrf = http_header(r, "X-CSRF-Token");
		if (!csrf || !auth_equal(csrf, r->auth->session.csrf)) {
			auth_event(s, now, "csrf_refused", a, NULL, r->ip, r->path);
			http_reply_error(r, 403, "csrf_failed",
					 "intestazione X-CSRF-Token assente o errata");
			return false;
		}
	}
	if (!(route->access & role_bit(a->role))) {
		auth_event(s, now, "forbidden", a, NULL, r->ip, r->path);
		http_reply_error(r, 403, "forbidden",
				 "questo ruolo non può eseguire questa operazione");
		return false;
	}
	if (st == STANDING_MUST_CHANGE) {
		r->auth->must_change_password = true;
		if (!(route->access & ROUTE_PASSWORD_CHANGE)) {
			http_reply_error(r, 403, "password_change_required",
					 auth_standing_message(st));
			return false;
		}
	}
	if (!r->auth->via_token && !a->totp_enabled && auth_totp_required(s, a)) {
		r->auth->totp_enrolment_required = true;
		if (!(route->access & (ROUTE_TOTP_SETUP | ROUTE_PASSWORD_CHANGE))) {
			http_reply_error(r, 403, "totp_enrolment_required",
					 "prima di tutto occorre attivare il secondo fattore di autenticazione");
			return false;
		}
	}
	return true;
}
