/* Handlers of /api/v1/accounts and /api/v1/tokens: the registry office
 * manages accounts; leads manage the API tokens of their own body. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "app/app.h"
#include "auth/auth.h"
#include "auth/oprequest.h"
#include "auth/sealed.h"
#include "auth/password.h"
#include "cf/cf.h"
#include "common/email.h"
#include "common/str.h"

static const char *const roles[] = {"admin", "lead", "operator", "auditor", "api", NULL};

static bool is_role(const char *role)
{
	for (size_t i = 0; roles[i]; i++)
		if (!strcmp(role, roles[i]))
			return true;
	return false;
}

/* The caller may act on account `a`: an admin on anyone, a lead on the
 * accounts of their own body. */
static bool may_manage(struct http_request *r, const struct store_account *a)
{
	const struct store_account *me = &r->auth->account;
	if (!strcmp(me->role, "admin"))
		return true;
	if (!strcmp(me->role, "lead") && me->ente_id && me->ente_id == a->ente_id)
		return true;
	http_reply_error(r, 403, "forbidden", "questa utenza appartiene a un altro ente");
	return false;
}

void api_accounts_list(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	struct api_page pg;
	if (!api_page_params(r, 1000, 1000, &pg))
		return;
	static const char *const states[] = {"active", "disabled", NULL};
	int64_t ente;
	if (!api_query_one_of(r, "role", roles) || !api_query_one_of(r, "state", states) ||
	    !api_query_id(r, "ente_id", &ente))
		return;
	/* the three filters together (the store takes three) */
	struct store_filter f[4] = {{0}};
	int n = 0;
	const char *role = http_query(r, "role"), *state = http_query(r, "state");
	if (role)
		f[n++] = (struct store_filter){"role", role, 0};
	if (state)
		f[n++] = (struct store_filter){"state", state, 0};
	if (ente)
		f[n++] = (struct store_filter){"ente_id", NULL, ente};
	api_reply_page(r, s, STORE_ACCOUNT, f, &pg, "accounts", api_account_view);
}

bool api_person_fields(struct http_request *r, char *full_name, size_t fn_cap, char *cf,
		       char *email, size_t em_cap, char *appointment, size_t ap_cap,
		       bool cf_required)
{
	const char *name = http_body_string(r, "full_name", true, fn_cap - 1);
	const char *code = name ? http_body_string(r, "codice_fiscale", cf_required, CF_TYPED_MAX) : NULL;
	const char *mail = code ? http_body_string(r, "email", true, em_cap - 1) : NULL;
	const char *appt = mail ? http_body_string(r, "appointment_ref", false, ap_cap - 1) : NULL;
	if (!appt)
		return false;
	char typed[CF_LEN + 1] = "";
	if (code[0] && (!cf_normalize(code, typed) || cf_decode(typed, CF_LEN, NULL) != CF_OK)) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"codice_fiscale\" non è un codice fiscale valido");
		return false;
	}
	if (!email_valid(mail)) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"email\" non è un indirizzo di posta valido");
		return false;
	}
	/* http_body_string bounded each to its field */
	str_copy_known(full_name, fn_cap, name, __FILE__, __LINE__);
	str_copy_known(cf, 17, typed, __FILE__, __LINE__);
	str_copy_known(email, em_cap, mail, __FILE__, __LINE__);
	str_copy_known(appointment, ap_cap, appt, __FILE__, __LINE__);
	return true;
}

/* The answer that issues a temporary password.  With an SMTP relay it
 * goes to the holder by mail (the outbox keeps it sealed, never shown);
 * without one the mail could never leave, so the answer carries the
 * password this once (the reply is no-store; it is not kept anywhere in
 * clear) for the admin to hand over in person, as the CLI prints it. */
json_t *api_credentials_answer(struct http_request *r, const struct store_account *a,
			       bool person, const char *password)
{
	bool relay = r->app->cfg.smtp_url[0] != '\0';
	json_t *j = json_pack("{s:o,s:s}", "account", api_account_json(a), "credentials",
			      !person ? "nessuna: usare i token API"
			      : relay ? "inviate per posta elettronica (coda di invio)"
				      : "mostrate una sola volta: consegnarle di persona");
	if (person && !relay)
		json_object_set_new(j, "temporary_password", json_string(password));
	return j;
}

void api_accounts_create(struct http_request *r)
{
	static const char *const fields[] = {"username", "role", "full_name", "codice_fiscale", "email", "appointment_ref", "ente_id", NULL};
	if (!api_body_members(r, fields))
		return;
	struct store_account a = {0};
	const char *username = http_body_string(r, "username", true, 64);
	const char *role = username ? http_body_string(r, "role", true, 15) : NULL;
	if (!role)
		return;
	if (!api_username_valid(username)) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"username\" deve avere da 3 a 64 caratteri tra a-z 0-9 . _ - "
				 "e iniziare con una lettera");
		return;
	}
	if (!is_role(role)) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"role\" deve essere admin, lead, operator, auditor o api");
		return;
	}
	STR_COPY_KNOWN(a.username, username); /* api_username_valid: at most 64 */
	STR_COPY_KNOWN(a.role, role);         /* is_role: one of five words */
	bool person = strcmp(role, "api") != 0;
	if (!api_person_fields(r, a.full_name, sizeof a.full_name, a.cf, a.email, sizeof a.email,
			       a.appointment_ref, sizeof a.appointment_ref, person))
		return;
	json_t *ente = json_object_get(r->json, "ente_id");
	bool needs_ente = !strcmp(role, "lead") || !strcmp(role, "operator") || !strcmp(role, "api");
	if (needs_ente != json_is_integer(ente)) {
		http_reply_error(r, 400, "invalid_request",
				 needs_ente ? "il campo \"ente_id\" è obbligatorio per questo ruolo"
					    : "il campo \"ente_id\" non è ammesso per questo ruolo");
		return;
	}
	struct store *s = api_store(r);
	if (!s)
		return;
	struct store_ente en;
	if (needs_ente && !api_ente_load(r, s, json_integer_value(ente), &en))
		return;
	a.ente_id = needs_ente ? en.id : 0;
	int64_t now = api_now(r);
	char password[64];
	struct vis_error e = {0};
	vis_err rc = store_begin(s, &e);
	if (rc == VIS_OK)
		rc = auth_account_create(s, &r->app->cfg, &a, now, password, sizeof password, &e);
	if (rc == VIS_OK && person)
		rc = oprequest_credentials_mail(s, &r->app->cfg, r->app->secrets, &a, password, now, &e);
	if (rc == VIS_OK)
		rc = store_commit(s, &e);
	json_t *answer = rc == VIS_OK ? api_credentials_answer(r, &a, person, password) : NULL;
	sodium_memzero(password, sizeof password);
	if (rc != VIS_OK) {
		store_rollback(s);
		if (rc == VIS_ERR_CONFLICT)
			http_reply_error(r, 409, "username_taken",
					 "questo nome utente è già in uso");
		else
			api_fail(r, &e);
		return;
	}
	auth_event(s, now, "account_created", &a, NULL, r->ip, r->auth->account.username);
	if (person)
		auth_event(s, now, "temporary_password_issued", &a, NULL, r->ip,
			   json_object_get(answer, "temporary_password") ? "mostrata una sola volta" : "inviata per posta elettronica");
	http_reply_json(r, 201, answer);
}

void api_account_get(struct http_request *r)
{
	int64_t id = api_param_id(r, 0);
	struct store *s = id ? api_store(r) : NULL;
	struct store_account a;
	if (!s || !api_account_load(r, s, id, &a) || !may_manage(r, &a))
		return;
	http_reply_json(r, 200, api_account_json(&a));
}

/* Loads the account named by the route for an admin action. */
static bool target(struct http_request *r, struct store **s, struct store_account *a)
{
	int64_t id = api_param_id(r, 0);
	if (!id || !(*s = api_store(r)) || !api_account_load(r, *s, id, a))
		return false;
	return may_manage(r, a);
}

/* Ends a state change on one account: the failure, or the event in the
 * auth log and the account as it now stands. */
static void account_changed(struct http_request *r, struct store *s, vis_err rc,
			    const struct vis_error *e, int64_t now, const char *event,
			    const struct store_account *a)
{
	if (rc != VIS_OK) {
		api_fail(r, e);
		return;
	}
	auth_event(s, now, event, a, NULL, r->ip, r->auth->account.username);
	http_reply_json(r, 200, api_account_json(a));
}

void api_account_disable(struct http_request *r)
{
	static const char *const fields[] = {"reason", NULL};
	if (!api_body_members(r, fields))
		return;
	struct store *s;
	struct store_account a;
	json_t *body = r->body_len ? http_body_object(r) : NULL;
	if (r->body_len && !body)
		return;
	const char *reason = body ? http_body_string(r, "reason", false, 60) : "";
	if (!reason || !target(r, &s, &a))
		return;
	if (a.id == r->auth->account.id) {
		http_reply_error(r, 409, "conflict",
				 "un amministratore non può disattivare la propria utenza");
		return;
	}
	int64_t now = api_now(r);
	struct vis_error e = {0};
	vis_err rc = auth_account_disable(s, &a, reason[0] ? reason : AUTH_REASON_BY_ADMIN, now, &e);
	account_changed(r, s, rc, &e, now, "account_disabled", &a);
}

void api_account_enable(struct http_request *r)
{
	if (!api_body_members(r, API_NO_FIELDS))
		return;
	struct store *s;
	struct store_account a;
	if (!target(r, &s, &a))
		return;
	int64_t now = api_now(r);
	struct vis_error e = {0};
	account_changed(r, s, auth_account_enable(s, &r->app->cfg, &a, now, &e), &e, now,
			"account_enabled", &a);
}

void api_account_reset(struct http_request *r)
{
	if (!api_body_members(r, API_NO_FIELDS))
		return;
	struct store *s;
	struct store_account a;
	if (!target(r, &s, &a))
		return;
	if (!strcmp(a.role, "api")) {
		http_reply_error(r, 409, "conflict",
				 "le utenze di sistema (api) hanno token, non password");
		return;
	}
	int64_t now = api_now(r);
	char password[64];
	struct vis_error e = {0};
	vis_err rc = store_begin(s, &e);
	if (rc == VIS_OK)
		rc = auth_password_temporary(s, &r->app->cfg, &a, now, password, sizeof password, &e);
	if (rc == VIS_OK)
		rc = store_sessions_revoke_account(s, a.id, now, &e);
	if (rc == VIS_OK)
		rc = oprequest_credentials_mail(s, &r->app->cfg, r->app->secrets, &a, password, now, &e);
	if (rc == VIS_OK)
		rc = store_commit(s, &e);
	json_t *answer = rc == VIS_OK ? api_credentials_answer(r, &a, true, password) : NULL;
	sodium_memzero(password, sizeof password);
	if (rc != VIS_OK) {
		store_rollback(s);
		api_fail(r, &e);
		return;
	}
	auth_event(s, now, "temporary_password_issued", &a, NULL, r->ip, r->auth->account.username);
	http_reply_json(r, 200, answer);
}

void api_account_renew(struct http_request *r)
{
	if (!api_body_members(r, API_NO_FIELDS))
		return;
	struct store *s;
	struct store_account a;
	if (!target(r, &s, &a))
		return;
	int64_t now = api_now(r);
	struct vis_error e = {0};
	account_changed(r, s, auth_account_renew(s, &r->app->cfg, &a, now, &e), &e, now,
			"renewal", &a);
}

void api_account_totp_reset(struct http_request *r)
{
	if (!api_body_members(r, API_NO_FIELDS))
		return;
	struct store *s;
	struct store_account a;
	if (!target(r, &s, &a))
		return;
	int64_t now = api_now(r);
	struct vis_error e = {0};
	account_changed(r, s, auth_account_totp_reset(s, &a, &e), &e, now, "totp_reset", &a);
}

/* ---- API tokens ---- */

static int add_token(void *ctx, const void *rec)
{
	const struct store_token *t = rec;
	struct api_list *l = ctx;
	json_array_append_new(l->arr, json_pack("{s:I,s:s,s:o,s:o,s:o}", "id", (json_int_t)t->id,
						"name", t->name, "created_at", api_time(t->created_at),
						"last_used_at", api_time(t->last_used_at),
						"revoked_at", api_time(t->revoked_at)));
	return 0;
}

void api_tokens_list(struct http_request *r)
{
	struct store *s;
	struct store_account a;
	if (!target(r, &s, &a))
		return;
	struct api_page pg;
	if (!api_page_params(r, 1000, 1000, &pg))
		return;
	struct store_filter f[] = {{"account_id", NULL, a.id}, {NULL, NULL, 0}};
	api_reply_records(r, s, STORE_TOKEN, f, &pg, "tokens", add_token);
}

void api_token_create(struct http_request *r)
{
	static const char *const fields[] = {"name", NULL};
	if (!api_body_members(r, fields))
		return;
	const char *name = http_body_string(r, "name", true, 100);
	struct store *s;
	struct store_account a;
	if (!name || !target(r, &s, &a))
		return;
	if (strcmp(a.role, "api")) {
		http_reply_error(r, 409, "conflict",
				 "i token sono solo per le utenze di sistema (api)");
		return;
	}
	if (strcmp(a.state, "active")) {
		http_reply_error(r, 409, "conflict", "l'utenza è disattivata");
		return;
	}
	int64_t now = api_now(r), id;
	char token[AUTH_TOKEN_MAX];
	struct vis_error e = {0};
	if (auth_token_create(s, &a, name, now, token, &id, &e)) {
		api_fail(r, &e);
		return;
	}
	auth_event(s, now, "token_created", &a, NULL, r->ip, r->auth->account.username);
	http_reply_json(r, 201, json_pack("{s:I,s:s,s:s}", "id", (json_int_t)id, "token", token,
					  "note", "il token è mostrato una sola volta"));
	sodium_memzero(token, sizeof token);
}

void api_token_revoke(struct http_request *r)
{
	int64_t id = api_param_id(r, 0);
	struct store *s = id ? api_store(r) : NULL;
	if (!s)
		return;
	struct store_token t;
	struct store_account a;
	struct vis_error e = {0};
	bool found;
	if (store_token_get(s, id, &t, &found, &e)) {
		api_fail(r, &e);
		return;
	}
	if (!found) {
		http_reply_error(r, 404, "not_found", "token inesistente");
		return;
	}
	if (!api_account_load(r, s, t.account_id, &a) || !may_manage(r, &a))
		return;
	int64_t now = api_now(r);
	if (!t.revoked_at) {
		const struct store_token was = t;
		t.revoked_at = now;
		if (store_token_update(s, &was, &t, &e)) {
			api_fail(r, &e);
			return;
		}
		auth_event(s, now, "token_revoked", &a, NULL, r->ip, r->auth->account.username);
	}
	http_reply_json(r, 200, json_pack("{s:I,s:o}", "id", (json_int_t)t.id, "revoked_at",
					  api_time(t.revoked_at)));
}
