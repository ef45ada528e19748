/* Formal requests for lists of people: lists are not an online service, so
 * a body files a request (purpose, criteria, justification), the registry
 * office approves or rejects it, and an approved request is extracted by
 * the office with `visura list-extract`, every person of it in the access
 * trail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "api/internal.h"
#include "app/app.h"
#include "auth/auth.h"
#include "policy/policy.h"
#include "refdata/refdata.h"
#include "common/str.h"

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

/* Criteria: {"comune" (required, one of the agreement's), "age_from",
 * "age_to", "sex" ("M"/"F"), "citizenship" ("italian"/"foreign")}. */
static bool criteria_valid(struct http_request *r, json_t *c, const struct policy_grant *g,
			   char *out, size_t cap)
{
	const char *comune = json_string_value(json_object_get(c, "comune"));
	json_t *from = json_object_get(c, "age_from"), *to = json_object_get(c, "age_to");
	json_t *sex = json_object_get(c, "sex"), *cz = json_object_get(c, "citizenship");
	const char *key;
	json_t *v;
	json_object_foreach(c, key, v)
		if (strcmp(key, "comune") && strcmp(key, "age_from") && strcmp(key, "age_to") &&
		    strcmp(key, "sex") && strcmp(key, "citizenship")) {
			http_reply_error(r, 400, "invalid_request", "'criteria' holds an unknown key");
			return false;
		}
	if (!comune || !policy_covers(g, comune) ||
	    !refdata_comune_by_istat(r->app->rd, comune, 0)) {
		http_reply_error(r, 400, "invalid_request",
				 "'criteria.comune' must be a municipality of the agreement");
		return false;
	}
	if ((from && (!json_is_integer(from) || json_integer_value(from) < 0 ||
		      json_integer_value(from) > 130)) ||
	    (to && (!json_is_integer(to) || json_integer_value(to) < 0 ||
		    json_integer_value(to) > 130)) ||
	    (sex && (!json_is_string(sex) || (strcmp(json_string_value(sex), "M") &&
					      strcmp(json_string_value(sex), "F")))) ||
	    (cz && (!json_is_string(cz) || (strcmp(json_string_value(cz), "italian") &&
					    strcmp(json_string_value(cz), "foreign"))))) {
		http_reply_error(r, 400, "invalid_request",
				 "criteria: age_from/age_to 0-130, sex M|F, citizenship italian|foreign");
		return false;
	}
	char *text = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text || strlen(text) >= cap) {
		free(text);
		http_reply_error(r, 400, "invalid_request", "'criteria' too long");
		return false;
	}
	str_copy_known(out, cap, text, __FILE__, __LINE__); /* its length was checked above */
	free(text);
	return true;
}

void api_list_request_create(struct http_request *r)
{
	json_t *b = http_body_object(r);
	if (!b)
		return;
	json_t *pid = json_object_get(b, "purpose"), *criteria = json_object_get(b, "criteria");
	const char *why = http_body_string(r, "justification", true, 1000);
	if (!why)
		return;
	if (!json_is_integer(pid) || !json_is_object(criteria) || strlen(why) < 20) {
		http_reply_error(r, 400, "invalid_request",
				 "'purpose', 'criteria' (object) and a 'justification' of 20+ characters");
		return;
	}
	struct store *s = api_store(r);
	if (!s)
		return;
	struct policy_grant g;
	struct policy_refusal no;
	struct vis_error e = {0};
	if (!policy_grant_for(s, &r->auth.account, json_integer_value(pid), app_today(r->app), &g, &no,
			      &e)) {
		http_reply_error(r, no.status, no.code, no.message);
		return;
	}
	/* A list is data: not for a verify_only agreement, nor without identity. */
	if (g.verify_only) {
		http_reply_error(r, 403, "mode_verify_only",
				 "the agreement allows only the verification of declared facts");
		return;
	}
	if (!policy_may_see(g.categories, FIELD_IDENTITY)) {
		http_reply_error(r, 403, "category_not_permitted",
				 "the agreement's profile does not include identity data");
		return;
	}
	struct store_list_request q = {.ente_id = r->auth.account.ente_id,
				       .requested_by = r->auth.account.id,
				       .purpose_id = g.purpose.id, .created_at = api_now(r)};
	if (!criteria_valid(r, criteria, &g, q.criteria, sizeof q.criteria))
		return;
	STR_COPY_KNOWN(q.justification, why); /* http_body_string: at most 1000 */
	snprintf(q.state, sizeof q.state, "pending");
	if (store_rec_insert(s, STORE_LIST_REQUEST, &q, &q.id, &e)) {
		api_fail(r, &e);
		return;
	}
	auth_event(s, q.created_at, "list_requested", &r->auth.account, NULL, r->ip, q.criteria);
	http_reply_json(r, 201, request_json(&q));
}

void api_list_requests(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	struct store_filter f[2] = {{0}};
	if (r->auth.account.ente_id)
		f[0] = (struct store_filter){"ente_id", NULL, r->auth.account.ente_id};
	api_reply_list(r, s, STORE_LIST_REQUEST, f, 500, "requests", request_json);
}

void api_list_request_decide(struct http_request *r)
{
	int64_t id = api_param_id(r, 0);
	const char *decision = id ? http_body_string(r, "decision", true, 15) : NULL;
	const char *note = decision ? http_body_string(r, "note", true, 500) : NULL;
	if (!note)
		return;
	if (strcmp(decision, "approve") && strcmp(decision, "reject")) {
		http_reply_error(r, 400, "invalid_request", "'decision' is approve or reject");
		return;
	}
	struct store *s = api_store(r);
	if (!s)
		return;
	struct store_list_request q;
	bool found;
	struct vis_error e = {0};
	if (store_rec_get(s, STORE_LIST_REQUEST, "id", NULL, id, &q, &found, &e)) {
		api_fail(r, &e);
		return;
	}
	if (!found) {
		http_reply_error(r, 404, "not_found", "no such request");
		return;
	}
	if (strcmp(q.state, "pending")) {
		http_reply_error(r, 409, "conflict", "the request was already decided");
		return;
	}
	STR_COPY_KNOWN(q.state, !strcmp(decision, "approve") ? "approved" : "rejected");

	STR_COPY_KNOWN(q.note, note); /* http_body_string: at most 500 */
	q.decided_by = r->auth.account.id;
	q.decided_at = api_now(r);
	if (store_rec_update(s, STORE_LIST_REQUEST, &q, &e)) {
		api_fail(r, &e);
		return;
	}
	auth_event(s, q.decided_at, "list_request_decided", &r->auth.account, NULL, r->ip, q.state);
	http_reply_json(r, 200, request_json(&q));
}
