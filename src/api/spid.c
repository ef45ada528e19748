/* Handlers of /api/v1/auth/spid: operators and citizens log in with SPID
 * or CIE through the provider (oidc/oidc.h).  An operator's session is an
 * ordinary one, under the same gate; a citizen's is a session of its own
 * (citizen.c) that can only read that person's access report.  And the
 * office's "SPID/CIE required" marks.
 *
 * The flow lives in the browser between start and callback: a cookie
 * (API_COOKIE_SPID, SameSite=Lax so that the provider's redirect brings it
 * back, 10 minutes) sealed under the secrets key holds its end, level,
 * state, who logs in (operatore: the account's user id; cittadino) and
 * how it answers (api: JSON; browser: redirects into the interface and
 * Italian pages for refusals); the nonce and the PKCE verifier are derived
 * from the state.  The state is taken once on the database: a replayed
 * answer is refused on every instance. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/internal.h"
#include "app/app.h"
#include "auth/auth.h"
#include "auth/sealed.h"
#include "common/str.h"
#include "metrics/metrics.h"
#include "oidc/oidc.h"

#define FLOW_SECONDS 600
#define FOR_OPERATOR "operatore"
#define FOR_CITIZEN "cittadino"
#define VIA_API "api"
#define VIA_BROWSER "browser"

/* A flow as the sealed cookie holds it. */
struct flow {
	long long until;
	int level;
	char state[64];
	char who[16];        /* FOR_OPERATOR or FOR_CITIZEN */
	char via[16];        /* VIA_API or VIA_BROWSER */
	char username[65];   /* "-" for a citizen */
};

static bool for_citizen(const struct flow *fl)
{
	return !strcmp(fl->who, FOR_CITIZEN);
}

/* Where a browser goes back to start again. */
static const char *back_to(const struct flow *fl)
{
	return for_citizen(fl) ? "/citizen/access-report" : "/";
}

static bool configured(struct http_request *r)
{
	if (r->app->oidc)
		return true;
	http_reply_error(r, 404, "spid_not_configured",
			 "l'accesso con SPID o CIE non è configurato su questo servizio");
	return false;
}

/* A refusal already answered as JSON becomes, for a browser, an Italian
 * page with its message and the way back. */
static void as_page(struct http_request *r, const char *back)
{
	if (r->status < 400 || !r->resp || !r->content_type ||
	    strcmp(r->content_type, "application/json"))
		return;
	json_t *j = json_loadb(r->resp, r->resp_len, 0, NULL);
	const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	char text[600];
	str_copy_cut(text, sizeof text, msg ? msg : "errore interno");
	json_decref(j);
	if (text[0] >= 'a' && text[0] <= 'z')
		text[0] = (char)(text[0] - 'a' + 'A'); /* a sentence on the page */
	api_spid_page_refused(r, r->status, text, back);
}

static void flow_cookie(struct http_request *r, const char *value, int max_age)
{
	api_cookie_set(r, API_COOKIE_SPID, value, max_age, "Lax");
}

/* GET /api/v1/auth/spid/start?username=U | for=cittadino [&level=2|3]
 * [&via=browser]: the provider's URL to send the browser to (JSON), or,
 * via=browser, a redirect to it.  The level asked is the deployment's, or
 * the one the browser asks when higher; it never depends on the account,
 * so that the answer says nothing of which accounts exist or are marked
 * (the account's own mark is checked at the callback, once the person is
 * known to be its named person). */
/* An address with too many failed logins (passwords, SPID/CIE answers)
 * waits before it may start or complete another: 429 + Retry-After.
 * True when refused. */
static bool throttled(struct http_request *r, struct store *s, int64_t now)
{
	int64_t wait = auth_throttle_ip_wait(s, r->ip, now);
	if (wait == AUTH_THROTTLE_UNKNOWN) {
		api_reply_uncounted(r);
		return true;
	}
	if (wait == 0)
		return false;
	char ra[32];
	snprintf(ra, sizeof ra, "%lld", (long long)wait);
	http_header_add(r, "Retry-After", ra);
	http_reply_error(r, 429, "spid_throttled",
			 "troppi accessi non riusciti da questo indirizzo: riprovi più tardi");
	return true;
}

static void start(struct http_request *r, struct flow *fl)
{
	if (!configured(r))
		return;
	const char *who = http_query(r, "for");
	const char *username = http_query(r, "username");
	if (who && strcmp(who, FOR_OPERATOR) && strcmp(who, FOR_CITIZEN)) {
		http_reply_error(r, 400, "invalid_request",
				 "il parametro \"for\" deve essere \"operatore\" o \"cittadino\"");
		return;
	}
	STR_COPY_KNOWN(fl->who, who ? who : FOR_OPERATOR);
	if (for_citizen(fl)) {
		if (username) {
			http_reply_error(r, 400, "invalid_request",
					 "un cittadino non indica un nome utente: tolga il parametro "
					 "\"username\"");
			return;
		}
		STR_COPY_KNOWN(fl->username, "-");
	} else if (!username || !api_username_valid(username) ||
		   !STR_COPY(fl->username, username)) {
		http_reply_error(r, 400, "invalid_request",
				 "il parametro \"username\" deve essere un nome utente");
		return;
	}
	const char *asked = http_query(r, "level");
	int level = r->app->cfg.oidc_level;
	if (asked) {
		if (strcmp(asked, "2") && strcmp(asked, "3")) {
			http_reply_error(r, 400, "invalid_request",
					 "il parametro \"level\" deve essere 2 o 3");
			return;
		}
		if (asked[0] - '0' > level)
			level = asked[0] - '0';
	}
	int64_t now = api_now(r);
	struct store *s = api_store(r);
	if (!s || throttled(r, s, now))
		return;
	struct oidc_refusal chain;
	if (!oidc_ready(r->app->oidc, now, &chain)) {
		http_reply_error(r, chain.status, chain.code, chain.message);
		return;
	}
	struct vis_error e = {0};
	struct oidc_flow f;
	oidc_flow_new(r->app->secrets->k, level, &f);
	char plain[200], sealed[512];
	/* state[64], who[16], via[16], username[65], numbers */
	STR_FMT_KNOWN(plain, "%lld %d %s %s %s %s", (long long)(now + FLOW_SECONDS), level, f.state,
		      fl->who, fl->via, fl->username);
	char *url = oidc_authorization_url(r->app->oidc, &f, now, &e);
	if (!url || sealed_seal(r->app->secrets, plain, sealed, sizeof sealed, &e)) {
		free(url);
		api_fail(r, &e);
		return;
	}
	flow_cookie(r, sealed, FLOW_SECONDS);
	if (!strcmp(fl->via, VIA_BROWSER))
		api_redirect(r, url);
	else
		http_reply_json(r, 200,
				json_pack("{s:s,s:i}", "authorization_url", url, "level", level));
	free(url);
	sodium_memzero(&f, sizeof f);
}

void api_spid_start(struct http_request *r)
{
	struct flow fl = {0};
	const char *via = http_query(r, "via");
	if (via && strcmp(via, VIA_API) && strcmp(via, VIA_BROWSER)) {
		http_reply_error(r, 400, "invalid_request",
				 "il parametro \"via\" deve essere \"api\" o \"browser\"");
		return;
	}
	STR_COPY_KNOWN(fl.via, via ? via : VIA_API);
	start(r, &fl);
	if (!strcmp(fl.via, VIA_BROWSER))
		as_page(r, back_to(&fl));
}

static void refused(struct http_request *r, struct store *s, int64_t now,
		    const struct store_account *a, const struct flow *fl, const char *kind,
		    const struct oidc_refusal *why)
{
	metrics_login(r->app->metrics, "refused");
	auth_event(s, now, kind, a, fl->username[0] ? fl->username : "-", r->ip, why->message);
	/* Each refusal counts against the address (a guesser of states or
	 * codes makes visura call the provider), but not "busy": that one is
	 * visura's, not the caller's. */
	if (strcmp(why->code, "spid_busy"))
		auth_throttle_ip_fail(s, &r->app->cfg, r->ip, now);
	if (fl->state[0]) {
		char dstate[65];
		oidc_digest(fl->state, dstate);
		oidc_log(r->app->oidc, now, "login",
			 json_pack("{s:s,s:s,s:s}", "state_sha256", dstate, "for", fl->who,
				   "outcome", why->code));
	}
	flow_cookie(r, "", 0);
	http_reply_error(r, why->status, why->code, why->message);
}

/* The line of the transaction log that ends a flow that let someone in. */
static void logged_in(struct http_request *r, int64_t now, const struct flow *fl, int level)
{
	char dstate[65];
	oidc_digest(fl->state, dstate);
	oidc_log(r->app->oidc, now, "login",
		 json_pack("{s:s,s:s,s:s,s:i}", "state_sha256", dstate, "for", fl->who, "outcome",
			   "ok", "level", level));
	flow_cookie(r, "", 0);
}

/* The operator's account: the person who logged in must be its named
 * person, at the level it and its body ask; then an ordinary session. */
static void operator_in(struct http_request *r, struct store *s, int64_t now,
			const struct flow *fl, const struct oidc_identity *id)
{
	struct vis_error e = {0};
	struct store_account a;
	bool found = false;
	if (store_account_by_username(s, fl->username, &a, &found, &e)) {
		api_fail(r, &e);
		return;
	}
	struct oidc_refusal why;
	if (!found || !a.cf[0] || strcmp(a.cf, id->fiscal_code)) {
		why = (struct oidc_refusal){403, "spid_person_mismatch",
					    "l'identità SPID/CIE usata non è quella della persona "
					    "intestataria di questa utenza"};
		refused(r, s, now, found ? &a : NULL, fl, "spid_person_mismatch", &why);
		return;
	}
	/* Its mark (or its body's), told only to its named person. */
	int need = auth_spid_level(s, &r->app->cfg, &a);
	if (id->level < need) {
		char msg[200];
		snprintf(msg, sizeof msg,
			 "questa utenza richiede SPID di livello %d o CIE: ricominci l'accesso "
			 "chiedendo il livello %d",
			 need, need);
		why = (struct oidc_refusal){403, "spid_level_too_low", msg};
		refused(r, s, now, &a, fl, "login_failure", &why);
		return;
	}
	enum account_standing st;
	if (!api_login_allowed(r, s, &a, now, &st))
		return;
	logged_in(r, now, fl, id->level);
	char how[32];
	snprintf(how, sizeof how, "SPID o CIE, livello %d", id->level);
	api_session_open(r, s, &a, st, now, how);
	if (r->status == 200 && !strcmp(fl->via, VIA_BROWSER))
		api_redirect(r, "/");
}

/* The citizen: a session of their own, bound to the codice fiscale of
 * the assertion (citizen.c). */
static void citizen_in(struct http_request *r, struct store *s, int64_t now,
		       const struct flow *fl, const struct oidc_identity *id)
{
	int64_t until;
	if (!api_citizen_session_open(r, s, id->fiscal_code, id->level, now, &until))
		return;
	logged_in(r, now, fl, id->level);
	if (!strcmp(fl->via, VIA_BROWSER))
		api_redirect(r, "/citizen/access-report");
	else
		http_reply_json(r, 200, json_pack("{s:s,s:i,s:o}", "codice_fiscale", id->fiscal_code,
						  "level", id->level, "session_expires_at",
						  api_time(until)));
}

/* GET /api/v1/auth/spid/callback?code=C&state=S: the provider's answer. */
static void callback(struct http_request *r, struct flow *fl)
{
	if (!configured(r))
		return;
	struct store *s = api_store(r);
	if (!s)
		return;
	int64_t now = api_now(r);
	if (throttled(r, s, now))
		return;
	struct vis_error e = {0};
	const char *code = http_query(r, "code");
	const char *state = http_query(r, "state");
	const char *cookie = http_cookie(r, API_COOKIE_SPID);
	char plain[256] = "";
	if (cookie && strlen(cookie) < 512)
		sealed_open(r->app->secrets, cookie, plain, sizeof plain, &e);
	struct oidc_refusal why = {400, "spid_flow_unknown",
				   "questo accesso SPID/CIE non è stato avviato da questo browser "
				   "o è scaduto: ricominci"};
	struct flow got = {0};
	if (sscanf(plain, "%lld %d %63s %15s %15s %64s", &got.until, &got.level, got.state,
		   got.who, got.via, got.username) != 6 ||
	    (strcmp(got.who, FOR_OPERATOR) && strcmp(got.who, FOR_CITIZEN)) ||
	    (strcmp(got.via, VIA_API) && strcmp(got.via, VIA_BROWSER))) {
		refused(r, s, now, NULL, fl, "login_failure", &why);
		return;
	}
	*fl = got; /* from here on, the flow's own way of answering */
	if (got.until < now || !state || !auth_equal(state, got.state) ||
	    (got.level != 2 && got.level != 3)) {
		fl->state[0] = '\0';
		refused(r, s, now, NULL, fl, "login_failure", &why);
		return;
	}
	if (!code || !*code || strlen(code) > 1024) {
		why = (struct oidc_refusal){401, "spid_denied",
					    "l'accesso con SPID o CIE non è stato completato"};
		refused(r, s, now, NULL, fl, "login_failure", &why);
		return;
	}
	struct oidc_flow f;
	if (!oidc_flow_from_state(r->app->secrets->k, state, fl->level, &f)) {
		refused(r, s, now, NULL, fl, "login_failure", &why);
		return;
	}
	/* The state once: a replayed answer is refused. */
	char key[80];
	bool fresh = false;
	STR_FMT_KNOWN(key, "oidc-state:%s", f.state); /* a state of 43 bytes */
	if (store_pdnd_jti_take(s, key, fl->until + r->app->cfg.oidc_clock_skew, &fresh, &e)) {
		api_fail(r, &e);
		return;
	}
	if (!fresh) {
		why = (struct oidc_refusal){401, "spid_replayed",
					    "questa risposta del gestore dell'identità è già stata "
					    "usata: ricominci l'accesso"};
		refused(r, s, now, NULL, fl, "login_failure", &why);
		return;
	}
	struct oidc_identity id;
	bool ok = oidc_complete(r->app->oidc, &f, code, now, &id, &why);
	sodium_memzero(&f, sizeof f);
	if (!ok) {
		struct store_account a;
		bool found = false;
		if (!for_citizen(fl) &&
		    store_account_by_username(s, fl->username, &a, &found, &e)) {
			api_fail(r, &e);
			return;
		}
		refused(r, s, now, found ? &a : NULL, fl, "login_failure", &why);
		return;
	}
	if (for_citizen(fl))
		citizen_in(r, s, now, fl, &id);
	else
		operator_in(r, s, now, fl, &id);
	sodium_memzero(&id, sizeof id);
}

void api_spid_callback(struct http_request *r)
{
	/* Until the flow is known, a browser is told by what it accepts. */
	struct flow fl = {0};
	STR_COPY_KNOWN(fl.who, FOR_OPERATOR);
	STR_COPY_KNOWN(fl.via, api_wants_html(r) ? VIA_BROWSER : VIA_API);
	callback(r, &fl);
	if (!strcmp(fl.via, VIA_BROWSER))
		as_page(r, back_to(&fl));
	sodium_memzero(&fl, sizeof fl);
}

/* GET /api/v1/auth/spid/jwks: the relying party's public keys, for the
 * provider's registration (docs/spid-cie.md). */
void api_spid_jwks(struct http_request *r)
{
	if (!configured(r))
		return;
	json_t *j = oidc_rp_jwks(r->app->oidc);
	if (!j) {
		struct vis_error e = {0};
		vis_error_set(&e, VIS_ERR_INTERNAL, "impossibile leggere la chiave di visura come relying party");
		api_fail(r, &e);
		return;
	}
	http_reply_json(r, 200, j);
}

/* PUT .../spid-required {"level": 0|2|3}. */
static void mark(struct http_request *r, const char *what)
{
	static const char *const names[] = {"level", NULL};
	json_t *body = http_body_object(r);
	if (!body || api_refuse_unknown(r, api_unknown_member(body, names)))
		return;
	json_t *lv = json_object_get(body, "level");
	int level = json_is_integer(lv) ? (int)json_integer_value(lv) : -1;
	if (level != 0 && level != 2 && level != 3) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"level\" deve essere 0 (password ammesse), 2 o 3 (SPID/CIE "
				 "obbligatori)");
		return;
	}
	struct store *s = api_store(r);
	if (!s)
		return;
	int64_t id = api_param_id(r, 0);
	struct store_account a;
	struct store_ente en;
	if (!strcmp(what, "account") ? !api_account_load(r, s, id, &a)
				     : !api_ente_load(r, s, id, &en))
		return;
	struct vis_error e = {0};
	if (auth_spid_mark(s, what, id, level, &e)) {
		api_fail(r, &e);
		return;
	}
	char detail[96];
	/* fixed words and numbers */
	STR_FMT_KNOWN(detail, "SPID o CIE richiesto per %s %lld: livello %d",
		      !strcmp(what, "account") ? "l'utenza" : "l'ente", (long long)id, level);
	auth_event(s, api_now(r), "setting_changed", &r->auth->account, NULL, r->ip, detail);
	http_reply_json(r, 200, json_pack("{s:I,s:i}", "id", (json_int_t)id, "level", level));
}

void api_spid_required_account(struct http_request *r)
{
	mark(r, "account");
}

void api_spid_required_ente(struct http_request *r)
{
	mark(r, "ente");
}
