/* Handlers of /api/v1/list-requests: parse, call the workflow of formal
 * list requests (src/listreq), reply. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "app/app.h"
#include "auth/auth.h"
#include "common/str.h"
#include "listreq/listreq.h"
#include "policy/policy.h"

static json_t *request_json(const void *rec)
{
	const struct store_list_request *q = rec;
	json_error_t err;
	json_t *criteria = json_loads(q->criteria, 0, &err);
	return json_pack("{s:I,s:I,s:I,s:I,s:o,s:s,s:s,s:o,s:s,s:o,s:I,s:o}", "id", (json_int_t)q->id,
			 "ente_id", (json_int_t)q->ente_id, "requested_by", (json_int_t)q->requested_by,
			 "purpose_id", (json_int_t)q->purpose_id,
			 "criteria", criteria ? criteria : json_null(),
			 "justification", q->justification, "state", q->state,
			 "decided_at", api_time(q->decided_at), "note", q->note,
			 "extracted_at", api_time(q->extracted_at), "persons", (json_int_t)q->persons,
			 "created_at", api_time(q->created_at));
}

void api_list_request_create(struct http_request *r)
{
	static const char *const fields[] = {"purpose", "criteria", "justification", NULL};
	if (!api_body_members(r, fields))
		return;
	json_t *b = http_body_object(r);
	if (!b)
		return;
	json_t *pid = json_object_get(b, "purpose"), *criteria = json_object_get(b, "criteria");
	const char *why = http_body_string(r, "justification", true, 1000);
	if (!why)
		return;
	if (!json_is_integer(pid) || !json_is_object(criteria) || strlen(why) < 20) {
		http_reply_error(r, 400, "invalid_request",
				 "servono i campi \"purpose\", \"criteria\" (un oggetto) e \"justification\" "
				 "(almeno 20 caratteri)");
		return;
	}
	struct store *s = api_store(r);
	if (!s)
		return;
	struct policy_grant g;
	struct policy_refusal no;
	struct vis_error e = {0};
	unsigned cats;
	if (!policy_grant_for(s, &r->auth->account, json_integer_value(pid), app_today(r->app), &g, &no,
			      &e) ||
	    !listreq_agreement_allows(&g.conv, &cats, &no)) {
		http_reply_error(r, no.status, no.code, no.message);
		return;
	}
	struct store_list_request q;
	vis_err rc = listreq_create(s, &r->auth->account, &g, criteria, why, r->app->rd, api_now(r),
				    &q, &e);
	if (rc) {
		api_reply_refusal(r, rc, &e);
		return;
	}
	auth_event(s, q.created_at, "list_requested", &r->auth->account, NULL, r->ip, q.criteria);
	http_reply_json(r, 201, request_json(&q));
}

void api_list_requests(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	struct api_page pg;
	static const char *const states[] = {"pending", "approved", "rejected", "extracted", NULL};
	if (!api_page_params(r, 500, 500, &pg) || !api_query_one_of(r, "state", states))
		return;
	struct store_filter f[3] = {{0}};
	int n = 0;
	if (r->auth->account.ente_id)
		f[n++] = (struct store_filter){"ente_id", NULL, r->auth->account.ente_id};
	if (http_query(r, "state"))
		f[n++] = (struct store_filter){"state", http_query(r, "state"), 0};
	api_reply_page(r, s, STORE_LIST_REQUEST, f, &pg, "requests", request_json);
}

void api_list_request_decide(struct http_request *r)
{
	static const char *const fields[] = {"decision", "note", NULL};
	if (!api_body_members(r, fields))
		return;
	int64_t id = api_param_id(r, 0);
	const char *decision = id ? http_body_string(r, "decision", true, 15) : NULL;
	const char *note = decision ? http_body_string(r, "note", true, 500) : NULL;
	if (!note)
		return;
	struct store *s = api_store(r);
	if (!s)
		return;
	struct store_list_request q;
	struct vis_error e = {0};
	vis_err rc = listreq_decide(s, id, decision, note, r->auth->account.id, api_now(r), &q, &e);
	if (rc) {
		api_reply_refusal(r, rc, &e);
		return;
	}
	auth_event(s, q.decided_at, "list_request_decided", &r->auth->account, NULL, r->ip,
		   listreq_state_label(q.state));
	http_reply_json(r, 200, request_json(&q));
}
