/* Handlers for the registry office: operator requests (decided by
 * auth/oprequest), the mail outbox, security events and settings. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "app/app.h"
#include "auth/auth.h"
#include "auth/oprequest.h"
#include "auth/sealed.h"
#include "common/str.h"
#include "mail/mail.h"

void api_requests_list(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	static const char *const states[] = {"pending", "approved", "rejected", NULL};
	const char *state = http_query(r, "state");
	struct api_page pg;
	if (!api_page_params(r, 1000, 1000, &pg) || !api_query_one_of(r, "state", states))
		return;
	struct store_filter f[2] = {{0}};
	if (state)
		f[0] = (struct store_filter){"state", state, 0};
	api_reply_page(r, s, STORE_OPERATOR_REQUEST, f, &pg, "requests", api_request_view);
}

static bool load_pending(struct http_request *r, struct store **s,
			 struct store_operator_request *q)
{
	int64_t id = api_param_id(r, 0);
	if (!id || !(*s = api_store(r)))
		return false;
	struct vis_error e = {0};
	vis_err rc = oprequest_pending(*s, id, q, &e);
	if (rc)
		api_reply_refusal(r, rc, &e);
	return rc == VIS_OK;
}

void api_request_approve(struct http_request *r)
{
	if (!api_body_members(r, API_NO_FIELDS))
		return;
	struct store *s;
	struct store_operator_request q;
	if (!load_pending(r, &s, &q))
		return;
	int64_t now = api_now(r);
	struct store_account a;
	bool taken;
	char password[64];
	struct vis_error e = {0};
	vis_err rc = oprequest_approve(s, &r->app->cfg, r->app->secrets, &q, r->auth->account.id, now,
				       &a, &taken, password, sizeof password, &e);
	json_t *answer = rc == VIS_OK ? api_credentials_answer(r, &a, true, password) : NULL;
	sodium_memzero(password, sizeof password);
	if (rc == VIS_ERR_CONFLICT && taken) {
		http_reply_error(r, 409, "username_taken", "il nome utente richiesto è già in uso");
		return;
	}
	if (rc) {
		api_reply_refusal(r, rc, &e);
		return;
	}
	auth_event(s, now, "account_created", &a, NULL, r->ip, r->auth->account.username);
	auth_event(s, now, "temporary_password_issued", &a, NULL, r->ip,
		   json_object_get(answer, "temporary_password") ? "mostrata una sola volta" : "inviata per posta elettronica");
	json_object_set_new(answer, "request", api_request_json(&q));
	http_reply_json(r, 200, answer);
}

void api_request_reject(struct http_request *r)
{
	static const char *const fields[] = {"note", NULL};
	if (!api_body_members(r, fields))
		return;
	const char *note = http_body_string(r, "note", true, 500);
	struct store *s;
	struct store_operator_request q;
	if (!note || !load_pending(r, &s, &q))
		return;
	int64_t now = api_now(r);
	struct vis_error e = {0};
	vis_err rc = oprequest_reject(s, &q, note, r->auth->account.id, now, &e);
	if (rc) {
		api_reply_refusal(r, rc, &e);
		return;
	}
	auth_event(s, now, "operator_request_rejected", &r->auth->account, NULL, r->ip, q.username);
	http_reply_json(r, 200, api_request_json(&q));
}

static int add_mail(void *ctx, const void *rec)
{
	const struct store_mail *m = rec;
	struct api_list *l = ctx;
	/* A sealed password is never shown, only sent. */
	static _Thread_local char body[sizeof m->body + 256];
	if (sealed_body(NULL, m->body, MAIL_SEALED_SHOWN, body, sizeof body, NULL))
		STR_COPY_KNOWN(body, MAIL_SEALED_SHOWN); /* a short constant */
	json_array_append_new(l->arr, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:o,s:o}",
						"id", (json_int_t)m->id, "recipient", m->recipient,
						"subject", m->subject, "body", body, "kind", m->kind,
						"state", m->state, "attempts", m->attempts,
						"last_error", m->last_error,
						"created_at", api_time(m->created_at),
						"sent_at", api_time(m->sent_at)));
	return 0;
}

void api_outbox(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	struct api_page pg;
	if (!api_page_params(r, 500, 500, &pg))
		return;
	struct store_filter f[2] = {{0}};
	const char *to = http_query(r, "recipient");
	if (to)
		f[0] = (struct store_filter){"recipient", to, 0};
	api_reply_records(r, s, STORE_MAIL, f, &pg, "messages", add_mail);
}

static int add_event(void *ctx, const void *rec)
{
	const struct store_security_event *ev = rec;
	struct api_list *l = ctx;
	json_array_append_new(l->arr, json_pack("{s:I,s:o,s:s,s:I,s:s,s:I,s:s,s:s}",
						"id", (json_int_t)ev->id, "at", api_time(ev->at),
						"kind", ev->kind, "account_id", (json_int_t)ev->account_id,
						"username", ev->username, "ente_id", (json_int_t)ev->ente_id,
						"ip", ev->ip, "detail", ev->detail));
	return 0;
}

void api_security_events(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	struct api_page pg;
	if (!api_page_params(r, 1000, 1000, &pg))
		return;
	int64_t acc;
	if (!api_query_id(r, "account_id", &acc))
		return;
	struct store_filter f[3] = {{0}};
	int n = 0;
	const char *kind = http_query(r, "kind"), *user = http_query(r, "username");
	if (kind)
		f[n++] = (struct store_filter){"kind", kind, 0};
	if (acc)
		f[n++] = (struct store_filter){"account_id", NULL, acc};
	else if (user)
		f[n++] = (struct store_filter){"username", user, 0};
	api_reply_records(r, s, STORE_SECURITY_EVENT, f, &pg, "events", add_event);
}

void api_settings_totp(struct http_request *r)
{
	static const char *const names[] = {"roles", NULL};
	json_t *body = http_body_object(r);
	if (!body || api_refuse_unknown(r, api_unknown_member(body, names)))
		return;
	json_t *roles = json_object_get(body, "roles");
	char list[256] = "";
	size_t i, len = 0;
	json_t *v;
	if (!json_is_array(roles)) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"roles\" deve essere un elenco di nomi di ruolo");
		return;
	}
	json_array_foreach(roles, i, v) {
		const char *role = json_string_value(v);
		if (!role || (strcmp(role, "admin") && strcmp(role, "lead") && strcmp(role, "operator") &&
			      strcmp(role, "auditor"))) {
			http_reply_error(r, 400, "invalid_request",
					 "il campo \"roles\" ammette solo admin, lead, operator o auditor");
			return;
		}
		len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", len ? "," : "", role);
		if (len >= sizeof list)
			len = sizeof list - 1;
	}
	struct store *s = api_store(r);
	if (!s)
		return;
	struct vis_error e = {0};
	if (store_setting_put(s, "totp_required_roles", list, &e)) {
		api_fail(r, &e);
		return;
	}
	auth_event(s, api_now(r), "setting_changed", &r->auth->account, NULL, r->ip, list);
	http_reply_json(r, 200, json_pack("{s:O}", "roles", roles));
}
