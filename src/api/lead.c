/* Handlers of /api/v1/ente: what a body's lead (Responsabile del
 * trattamento) does for their own body — its operators, requests for new
 * ones, disabling, and the yearly renewal of the list. */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"
#include "app/app.h"
#include "auth/auth.h"
#include "auth/oprequest.h"
#include "common/str.h"

#define DAY 86400

void api_own_operators(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	struct store_filter f[] = {{"ente_id", NULL, r->auth->account.ente_id}, {NULL, NULL, 0}};
	api_reply_list(r, s, STORE_ACCOUNT, f, 0, "accounts", api_account_view);
}

void api_own_operator_disable(struct http_request *r)
{
	if (!api_body_members(r, API_NO_FIELDS))
		return;
	int64_t id = api_param_id(r, 0);
	struct store *s = id ? api_store(r) : NULL;
	struct store_account a;
	if (!s || !api_account_load(r, s, id, &a))
		return;
	if (a.ente_id != r->auth->account.ente_id ||
	    (strcmp(a.role, "operator") && strcmp(a.role, "api"))) {
		http_reply_error(r, 403, "forbidden",
				 "un referente disattiva solo gli operatori del proprio ente");
		return;
	}
	int64_t now = api_now(r);
	struct vis_error e = {0};
	if (auth_account_disable(s, &a, AUTH_REASON_BY_LEAD, now, &e)) {
		api_fail(r, &e);
		return;
	}
	auth_event(s, now, "account_disabled", &a, NULL, r->ip, r->auth->account.username);
	http_reply_json(r, 200, api_account_json(&a));
}

void api_own_requests(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	struct api_page pg;
	if (!api_page_params(r, 500, 500, &pg))
		return;
	struct store_filter f[] = {{"ente_id", NULL, r->auth->account.ente_id}, {NULL, NULL, 0}};
	api_reply_page(r, s, STORE_OPERATOR_REQUEST, f, &pg, "requests", api_request_view);
}

void api_own_request_create(struct http_request *r)
{
	static const char *const fields[] = {"username", "full_name", "codice_fiscale", "email", "appointment_ref", NULL};
	if (!api_body_members(r, fields))
		return;
	struct store_operator_request q = {0};
	if (!api_person_fields(r, q.full_name, sizeof q.full_name, q.cf, q.email, sizeof q.email,
			       q.appointment_ref, sizeof q.appointment_ref, true))
		return;
	const char *username = http_body_string(r, "username", true, 64);
	if (!username)
		return;
	if (!api_username_valid(username)) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"username\" deve avere da 3 a 64 caratteri tra a-z 0-9 . _ - "
				 "e iniziare con una lettera");
		return;
	}
	STR_COPY_KNOWN(q.username, username); /* api_username_valid: at most 64 */
	struct store *s = api_store(r);
	if (!s)
		return;
	struct vis_error e = {0};
	vis_err rc = oprequest_create(s, &r->auth->account, &q, api_now(r), &e);
	if (rc) {
		api_reply_refusal(r, rc, &e);
		return;
	}
	auth_event(s, q.created_at, "operator_requested", &r->auth->account, NULL, r->ip, q.username);
	http_reply_json(r, 201, api_request_json(&q));
}

/* ---- yearly renewal ---- */

struct renewal {
	struct http_request *r;
	struct store *s;
	json_t *keep;
	int64_t now;
	int renewed, disabled;
	struct store_account todo[512];
	int ntodo;
};

static int collect(void *ctx, const void *rec)
{
	struct renewal *rn = ctx;
	const struct store_account *a = rec;
	if (!strcmp(a->state, "active") && rn->ntodo < 512)
		rn->todo[rn->ntodo++] = *a;
	return 0;
}

static bool kept(json_t *keep, int64_t id)
{
	size_t i;
	json_t *v;
	json_array_foreach(keep, i, v)
		if (json_is_integer(v) && json_integer_value(v) == id)
			return true;
	return false;
}

void api_own_renewal(struct http_request *r)
{
	static const char *const fields[] = {"keep", "purposes_confirmed", NULL};
	if (!api_body_members(r, fields))
		return;
	json_t *body = http_body_object(r);
	if (!body)
		return;
	json_t *keep = json_object_get(body, "keep");
	json_t *confirm = json_object_get(body, "purposes_confirmed");
	if (!json_is_array(keep) || json_array_size(keep) > 512) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"keep\" deve elencare gli id degli operatori che restano");
		return;
	}
	if (!json_is_true(confirm)) {
		http_reply_error(r, 400, "invalid_request",
				 "le finalità dell'ente devono essere confermate (\"purposes_confirmed\": true)");
		return;
	}
	struct store *s = api_store(r);
	if (!s)
		return;
	struct store_account *me = &r->auth->account;
	int64_t now = api_now(r);
	int64_t window = (int64_t)r->app->cfg.renewal_window_days * DAY;
	if (me->expires_at - window > now) {
		http_reply_error(r, 409, "renewal_not_open",
				 "il rinnovo si apre due mesi prima della scadenza delle credenziali");
		return;
	}
	static _Thread_local struct renewal rn;
	memset(&rn, 0, sizeof rn);
	rn.r = r;
	rn.s = s;
	rn.keep = keep;
	rn.now = now;
	struct store_filter f[] = {{"ente_id", NULL, me->ente_id}, {NULL, NULL, 0}};
	struct vis_error e = {0};
	if (store_begin(s, &e) || store_rec_list(s, STORE_ACCOUNT, f, 0, collect, &rn, &e))
		goto fail;
	/* What happened to each account, for the events after the commit. */
	static _Thread_local const char *what[512];
	for (int i = 0; i < rn.ntodo; i++) {
		struct store_account *a = &rn.todo[i];
		what[i] = NULL;
		if (a->id == me->id || kept(keep, a->id)) {
			if (auth_account_renew(s, &r->app->cfg, a, now, &e))
				goto fail;
			what[i] = "renewal";
			rn.renewed++;
		} else if (strcmp(a->role, "lead")) {
			if (auth_account_disable(s, a, AUTH_REASON_NOT_RENEWED, now, &e))
				goto fail;
			what[i] = "account_disabled";
			rn.disabled++;
		}
	}
	if (store_commit(s, &e))
		goto fail;
	for (int i = 0; i < rn.ntodo; i++)
		if (what[i])
			auth_event(s, now, what[i], &rn.todo[i], NULL, r->ip,
				   "rinnovo annuale del responsabile");
	http_reply_json(r, 200, json_pack("{s:i,s:i}", "renewed", rn.renewed, "disabled", rn.disabled));
	return;
fail:
	store_rollback(s);
	api_fail(r, &e);
}
