/* Handlers of /api/v1/auth: login, logout, own account, password change,
 * second factor; and /healthz and the test clock. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/internal.h"
#include "app/app.h"
#include "auth/auth.h"
#include "auth/password.h"
#include "auth/sealed.h"
#include "auth/totp.h"
#include "common/log.h"
#include "common/str.h"
#include "metrics/metrics.h"
#include "notify/notify.h"
#include "watch/watch.h"

void api_healthz(struct http_request *r)
{
	if (api_starting(r))
		return;
	http_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

void api_cookie_set(struct http_request *r, const char *name, const char *value,
		    int max_age, const char *same_site)
{
	char cookie[1024];
	/* visura's own names and values: a token, a constant */
	STR_FMT_KNOWN(cookie, "%s=%s; Path=/; Max-Age=%d; HttpOnly; Secure; SameSite=%s", name,
		      value, max_age, same_site);
	http_header_add(r, "Set-Cookie", cookie);
}

static void set_session_cookie(struct http_request *r, const char *token, int max_age)
{
	api_cookie_set(r, API_COOKIE_SESSION, token, max_age, "Strict");
}

/* The same answer for an unknown user and a wrong password. */
static void reply_bad_credentials(struct http_request *r)
{
	http_reply_error(r, 401, "invalid_credentials", "nome utente o password errati");
}

/* A failure; `at` its attempt counted before the check. */
static void login_failed(struct http_request *r, struct store *s, int64_t now,
			 const struct store_account *a, const char *username, const char *why,
			 const struct auth_attempt *at)
{
	metrics_login(r->app->metrics, "failure");
	auth_event(s, now, "login_failure", a, username, r->ip, why);
	if (at->locked)
		auth_event(s, now, "lockout", a, username, r->ip, "troppi accessi non riusciti");
}

/* The wait before a password may be checked: false after replying (429,
 * or 503 when it cannot be known); otherwise the check counted in *at. */
static bool password_attempt(struct http_request *r, struct store *s, const char *username,
			     int64_t now, bool log, struct auth_attempt *at)
{
	int64_t wait = auth_throttle_wait(s, &r->app->cfg, username, r->ip, now);
	if (wait == AUTH_THROTTLE_UNKNOWN) {
		api_reply_uncounted(r);
		return false;
	}
	if (wait > 0) {
		char ra[32];
		snprintf(ra, sizeof ra, "%lld", (long long)wait);
		http_header_add(r, "Retry-After", ra);
		if (log) {
			auth_event(s, now, "login_throttled", NULL, username, r->ip, "");
			metrics_login(r->app->metrics, "throttled");
		}
		http_reply_error(r, 429, "too_many_attempts",
				 "troppi tentativi non riusciti: attendere prima di riprovare");
		return false;
	}
	struct vis_error e = {0};
	if (auth_throttle_attempt(s, &r->app->cfg, username, r->ip, now, at, &e)) {
		api_reply_uncounted(r);
		return false;
	}
	return true;
}

/* A code against an account's sealed secret. */
static bool totp_check(struct http_request *r, struct store_account *a, const char *code,
		       int64_t now)
{
	char secret[TOTP_SECRET_B32_MAX];
	struct vis_error e = {0};
	if (sealed_open(r->app->secrets, a->totp_secret, secret, sizeof secret, &e)) {
		log_error("segreto totp inutilizzabile",
			  "account=%lld error=\"%s\"", (long long)a->id, e.msg);
		return false;
	}
	bool ok = totp_verify(secret, code, now, &a->totp_last_step);
	sodium_memzero(secret, sizeof secret);
	return ok;
}

/* The end of a successful login (password or SPID/CIE): the account's
 * last login moved, a session made, its cookie set, the answer. */
void api_session_open(struct http_request *r, struct store *s, struct store_account *a,
		      enum account_standing st, int64_t now, const char *how)
{
	struct vis_error e = {0};
	const struct store_account was = *a;
	a->prev_login_at = a->last_login_at;
	a->last_login_at = now;
	char token[AUTH_TOKEN_MAX];
	struct store_session sess;
	if (store_account_update(s, &was, a, &e) ||
	    auth_session_create(s, &r->app->cfg, a, r->ip, now, token, &sess, &e)) {
		api_fail(r, &e);
		return;
	}
	auth_event(s, now, "login_success", a, NULL, r->ip, how);
	metrics_login(r->app->metrics, "success");
	set_session_cookie(r, token, r->app->cfg.session_absolute_hours * 3600);
	sodium_memzero(token, sizeof token);
	bool must_change = st == STANDING_MUST_CHANGE;
	bool enrol = !a->totp_enabled && auth_totp_required(s, a);
	http_reply_json(r, 200, json_pack("{s:o,s:s,s:b,s:b,s:o}", "account", api_account_json(a),
					  "csrf_token", sess.csrf, "must_change_password", must_change,
					  "totp_enrolment_required", enrol,
					  "session_expires_at", api_time(sess.expires_at)));
}

bool api_login_allowed(struct http_request *r, struct store *s, const struct store_account *a,
		       int64_t now, enum account_standing *st)
{
	*st = auth_standing(&r->app->cfg, a, now);
	if (*st == STANDING_DISABLED || *st == STANDING_CREDENTIALS_EXPIRED ||
	    *st == STANDING_TEMP_EXPIRED) {
		auth_event(s, now, "login_refused", a, NULL, r->ip, auth_standing_message(*st));
		metrics_login(r->app->metrics, "refused");
		http_reply_error(r, 403, auth_standing_code(*st), auth_standing_message(*st));
		return false;
	}
	return api_body_open(r, s, now, a, "accesso");
}

/* Login CSRF (a victim logged into an account of the attacker's, whose
 * actions then go in the attacker's trail): the gate refuses a change from
 * another site's page when the browser says so (Sec-Fetch-Site); for a
 * browser that does not, a login arrives only as JSON, which a form of
 * another site cannot send (its bodies are text/plain, urlencoded or
 * multipart; anything else asks the browser's CORS preflight, which this
 * service never grants). */
static bool login_from_form(struct http_request *r)
{
	const char *type = http_header(r, "Content-Type");
	if (!type || (strncasecmp(type, "text/plain", 10) &&
		      strncasecmp(type, "application/x-www-form-urlencoded", 33) &&
		      strncasecmp(type, "multipart/form-data", 19)))
		return false;
	http_reply_error(r, 400, "invalid_request",
			 "l'accesso si chiede con un corpo JSON (Content-Type: application/json)");
	return true;
}

void api_login(struct http_request *r)
{
	static const char *const fields[] = {"username", "password", "totp", NULL};
	if (login_from_form(r) || !api_body_members(r, fields))
		return;
	const char *username = http_body_string(r, "username", true, 64);
	const char *password = username ? http_body_string(r, "password", true, PASSWORD_MAX_LEN) : NULL;
	const char *code = password ? http_body_string(r, "totp", false, 16) : NULL;
	if (!code)
		return;
	struct store *s = api_store(r);
	if (!s)
		return;
	int64_t now = api_now(r);
	struct vis_error e = {0};
	struct auth_attempt at;
	if (!password_attempt(r, s, username, now, true, &at))
		return;
	struct store_account a;
	bool found;
	if (store_account_by_username(s, username, &a, &found, &e)) {
		api_fail(r, &e);
		return;
	}
	if (!found || !a.password_hash[0]) {
		password_burn(password);
		login_failed(r, s, now, NULL, username, found ? "utenza di sistema" : "utente sconosciuto",
			     &at);
		reply_bad_credentials(r);
		return;
	}
	if (!password_verify(a.password_hash, password)) {
		login_failed(r, s, now, &a, username, "password errata", &at);
		reply_bad_credentials(r);
		return;
	}
	/* The password was right.  A second factor's code is checked under
	 * the same count, taken before the password: a wrong code keeps it (a
	 * failure, counted before its check), a right one takes it back.  So
	 * a code is never checked without its guess counted. */
	enum account_standing st;
	if (!api_login_allowed(r, s, &a, now, &st)) {
		auth_throttle_passed(s, &at);
		return;
	}
	if (a.totp_enabled) {
		if (!code[0]) {
			auth_throttle_passed(s, &at);
			http_reply_error(r, 401, "totp_required",
					 "serve il codice del secondo fattore");
			return;
		}
		/* The step is claimed atomically: two requests racing with the
		 * same code cannot both pass. */
		bool fresh = false;
		if (!totp_check(r, &a, code, now) ||
		    store_account_totp_advance(s, a.id, a.totp_last_step, &fresh, &e) || !fresh) {
			login_failed(r, s, now, &a, username, "codice del secondo fattore errato", &at);
			http_reply_error(r, 401, "invalid_totp",
					 "codice del secondo fattore errato o già usato");
			return;
		}
	}
	if (auth_spid_level(s, &r->app->cfg, &a)) {
		auth_throttle_passed(s, &at);
		auth_event(s, now, "login_refused", &a, NULL, r->ip, "accesso solo con SPID o CIE");
		metrics_login(r->app->metrics, "refused");
		http_reply_error(r, 403, "spid_required",
				 "per questa utenza l'accesso è solo con SPID o CIE");
		return;
	}
	auth_throttle_succeeded(s, &at, now);
	api_session_open(r, s, &a, st, now, "");
}

void api_logout(struct http_request *r)
{
	if (!api_body_members(r, API_NO_FIELDS))
		return;
	struct store *s = api_store(r);
	if (!s)
		return;
	struct vis_error e = {0};
	int64_t now = api_now(r);
	if (!r->auth->via_token && auth_session_revoke(s, &r->auth->session, now, &e)) {
		api_fail(r, &e);
		return;
	}
	auth_event(s, now, "logout", &r->auth->account, NULL, r->ip, "");
	set_session_cookie(r, "", 0);
	http_reply_json(r, 200, json_pack("{s:b}", "logged_out", 1));
}

/* ---- the caller's own sessions ---- */

struct session_list {
	json_t *arr;
	int64_t current;
};

static int add_session(void *ctx, const void *rec)
{
	struct session_list *l = ctx;
	const struct store_session *x = rec;
	json_array_append_new(l->arr, json_pack("{s:I,s:o,s:o,s:o,s:s,s:b}", "id", (json_int_t)x->id,
						"created_at", api_time(x->created_at),
						"last_seen_at", api_time(x->last_seen_at),
						"expires_at", api_time(x->expires_at), "ip", x->ip,
						"current", x->id == l->current));
	return 0;
}

/* GET /api/v1/auth/sessions: the caller's live browser sessions, newest
 * first, the current one marked. */
void api_sessions_list(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	struct vis_error e = {0};
	struct session_list l = {json_array(), r->auth->via_token ? 0 : r->auth->session.id};
	if (auth_sessions_each(s, &r->app->cfg, r->auth->account.id, api_now(r), add_session, &l,
			       &e)) {
		json_decref(l.arr);
		api_fail(r, &e);
		return;
	}
	http_reply_json(r, 200, json_pack("{s:o,s:i}", "sessions", l.arr, "max_sessions",
					  r->app->cfg.max_sessions));
}

/* DELETE /api/v1/auth/sessions/:id: ends one of the caller's own live
 * sessions (the current one too: that is a logout). */
void api_session_end(struct http_request *r)
{
	int64_t id = api_param_id(r, 0);
	struct store *s = id ? api_store(r) : NULL;
	if (!s)
		return;
	struct store_session x;
	struct vis_error e = {0};
	bool found;
	int64_t now = api_now(r);
	if (store_session_get(s, id, &x, &found, &e)) {
		api_fail(r, &e);
		return;
	}
	/* Another account's session is not named: the same answer as none. */
	if (!found || x.account_id != r->auth->account.id || !auth_session_live(&r->app->cfg, &x, now)) {
		http_reply_error(r, 404, "not_found", "sessione inesistente");
		return;
	}
	if (auth_session_revoke(s, &x, now, &e)) {
		api_fail(r, &e);
		return;
	}
	auth_event(s, now, "session_ended", &r->auth->account, NULL, r->ip, "chiusa dal titolare");
	bool current = !r->auth->via_token && x.id == r->auth->session.id;
	if (current)
		set_session_cookie(r, "", 0);
	http_reply_json(r, 200, json_pack("{s:I,s:b,s:b}", "id", (json_int_t)x.id, "ended", 1,
					  "current", current));
}

/* The account's newest logins, each outcome read by its own kind (by the
 * index on the account's events: other events, however many, never hide
 * them), then merged newest first. */
#define RECENT_LOGINS 10
struct logins {
	struct store_security_event ev[RECENT_LOGINS];
	int n;
};

static int collect_login(void *ctx, const void *rec)
{
	struct logins *l = ctx;
	l->ev[l->n++] = *(const struct store_security_event *)rec;
	return l->n >= RECENT_LOGINS;
}

static json_t *recent_logins(struct store *s, int64_t account, struct vis_error *e)
{
	static _Thread_local struct logins l[2];
	static const char *const kinds[2] = {"login_success", "login_failure"};
	for (int k = 0; k < 2; k++) {
		struct store_filter f[] = {{"account_id", NULL, account}, {"kind", kinds[k], 0},
					   {NULL, NULL, 0}};
		l[k].n = 0;
		if (store_rec_list(s, STORE_SECURITY_EVENT, f, RECENT_LOGINS, collect_login, &l[k], e))
			return NULL;
	}
	json_t *arr = json_array();
	for (int a = 0, b = 0; a + b < RECENT_LOGINS && (a < l[0].n || b < l[1].n);) {
		bool first = b >= l[1].n || (a < l[0].n && l[0].ev[a].id > l[1].ev[b].id);
		const struct store_security_event *ev = first ? &l[0].ev[a++] : &l[1].ev[b++];
		json_array_append_new(arr, json_pack("{s:o,s:s,s:s}", "at", api_time(ev->at),
						     "outcome", ev->kind, "ip", ev->ip));
	}
	return arr;
}

void api_me(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	struct vis_error e = {0};
	json_t *me = api_account_json(&r->auth->account);
	json_t *logins = recent_logins(s, r->auth->account.id, &e);
	if (!logins) {
		json_decref(me);
		api_fail(r, &e);
		return;
	}
	json_object_set_new(me, "recent_logins", logins);
	json_object_set_new(me, "must_change_password", json_boolean(r->auth->must_change_password));
	json_object_set_new(me, "totp_enrolment_required",
			    json_boolean(r->auth->totp_enrolment_required));
	if (!r->auth->via_token) {
		json_object_set_new(me, "csrf_token", json_string(r->auth->session.csrf));
		json_object_set_new(me, "session_expires_at", api_time(r->auth->session.expires_at));
	}
	if (r->auth->account.ente_id) {
		struct store_ente en;
		bool found;
		if (store_ente_get(s, r->auth->account.ente_id, &en, &found, &e) == VIS_OK && found)
			json_object_set_new(me, "ente", api_ente_json(&en));
	}
	http_reply_json(r, 200, me);
}

void api_password_change(struct http_request *r)
{
	static const char *const fields[] = {"current_password", "new_password", NULL};
	if (!api_body_members(r, fields))
		return;
	const char *current = http_body_string(r, "current_password", true, PASSWORD_MAX_LEN);
	const char *next = current ? http_body_string(r, "new_password", true, PASSWORD_MAX_LEN) : NULL;
	if (!next)
		return;
	struct store *s = api_store(r);
	if (!s)
		return;
	struct store_account *a = &r->auth->account;
	int64_t now = api_now(r);
	struct vis_error e = {0};
	/* Guessing the current password is throttled like a login. */
	struct auth_attempt at;
	if (!password_attempt(r, s, a->username, now, false, &at))
		return;
	if (!a->password_hash[0] || !password_verify(a->password_hash, current)) {
		login_failed(r, s, now, a, a->username, "password attuale errata al cambio", &at);
		http_reply_error(r, 403, "invalid_credentials", "la password attuale è errata");
		return;
	}
	auth_throttle_passed(s, &at);
	vis_err rc = auth_password_change(s, a, next, now, &e);
	if (rc == VIS_ERR_INVALID) {
		http_reply_error(r, 400, "password_policy", e.msg);
		return;
	}
	if (rc) {
		api_fail(r, &e);
		return;
	}
	/* Whoever else held a session of this account loses it. */
	if (!r->auth->via_token &&
	    store_sessions_revoke_others(s, a->id, r->auth->session.id, now, &e)) {
		api_fail(r, &e);
		return;
	}
	auth_event(s, now, "password_changed", a, NULL, r->ip, "");
	http_reply_json(r, 200, json_pack("{s:b,s:o}", "changed", 1,
					  "password_set_at", api_time(a->password_set_at)));
}

void api_totp_setup(struct http_request *r)
{
	if (!api_body_members(r, API_NO_FIELDS))
		return;
	struct store *s = api_store(r);
	if (!s)
		return;
	struct store_account *a = &r->auth->account;
	struct vis_error e = {0};
	if (a->totp_enabled) {
		http_reply_error(r, 409, "totp_already_enabled",
				 "un secondo fattore è già attivo: un amministratore può azzerarlo");
		return;
	}
	char uri[512], secret[TOTP_SECRET_B32_MAX];
	const struct store_account was = *a;
	/* Shown once to the user; the database keeps it sealed. */
	if (totp_secret_new(secret, &e) ||
	    totp_uri(secret, a->username, "visura", uri, sizeof uri, &e) ||
	    sealed_seal(r->app->secrets, secret, a->totp_secret, sizeof a->totp_secret, &e) ||
	    store_account_update(s, &was, a, &e)) {
		sodium_memzero(secret, sizeof secret);
		api_fail(r, &e);
		return;
	}
	http_reply_json(r, 200, json_pack("{s:s,s:s}", "secret", secret, "otpauth_uri", uri));
	sodium_memzero(secret, sizeof secret);
	sodium_memzero(uri, sizeof uri);
}


void api_totp_confirm(struct http_request *r)
{
	static const char *const fields[] = {"code", NULL};
	if (!api_body_members(r, fields))
		return;
	const char *code = http_body_string(r, "code", true, 16);
	if (!code)
		return;
	struct store *s = api_store(r);
	if (!s)
		return;
	struct store_account *a = &r->auth->account;
	int64_t now = api_now(r);
	struct vis_error e = {0};
	if (a->totp_enabled || !a->totp_secret[0]) {
		http_reply_error(r, 409, "totp_not_pending",
				 "nessuna attivazione in corso: iniziare da "
				 "/api/v1/auth/totp/setup");
		return;
	}
	const struct store_account was = *a;
	if (!totp_check(r, a, code, now)) {
		http_reply_error(r, 400, "invalid_totp",
				 "codice errato: controllare l'orologio dell'app di "
				 "autenticazione");
		return;
	}
	a->totp_enabled = true;
	if (store_account_update(s, &was, a, &e)) {
		api_fail(r, &e);
		return;
	}
	auth_event(s, now, "totp_enabled", a, NULL, r->ip, "");
	http_reply_json(r, 200, json_pack("{s:b}", "totp_enabled", 1));
}

/* TEST ONLY (test_clock = true): moves the service's clock and runs the
 * periodic duties at once, so tests can let months pass. */
void api_test_clock(struct http_request *r)
{
	static const char *const fields[] = {"advance_seconds", NULL};
	if (!api_body_members(r, fields))
		return;
	json_t *body = http_body_object(r);
	if (!body)
		return;
	json_t *adv = json_object_get(body, "advance_seconds");
	if (!json_is_integer(adv) || json_integer_value(adv) < 0) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"advance_seconds\" deve essere un intero non negativo");
		return;
	}
	atomic_fetch_add(&r->app->clock_offset, (long long)json_integer_value(adv));
	struct store *s = api_store(r);
	if (!s)
		return;
	struct vis_error e = {0};
	int disabled = auth_maintenance(s, &r->app->cfg, api_now(r), &e);
	api_feeds_watch(r->app, s, api_now(r));
	if (!app_trail_late(r->app)) {
		notify_push(s, r->app->key, api_now(r), &e);
		watch_due(s, &r->app->cfg, r->app->secrets, api_now(r), &e);
	}
	http_reply_json(r, 200, json_pack("{s:o,s:I,s:i}", "now", api_time(api_now(r)),
					  "offset_seconds", (json_int_t)atomic_load(&r->app->clock_offset),
					  "disabled", disabled));
}
