/* Handlers of /api/v1/incidents and /api/v1/enti/:id/suspend: parse, call
 * the incident workflow (src/incident), reply. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "app/app.h"
#include "auth/auth.h"
#include "common/str.h"
#include "incident/incident.h"

static json_t *incident_json(const struct store_incident *i)
{
	return json_pack("{s:I,s:I,s:I,s:s,s:s,s:s,s:s,s:o,s:o}", "id", (json_int_t)i->id,
			 "ente_id", (json_int_t)i->ente_id, "reported_by", (json_int_t)i->reported_by,
			 "what", i->what, "occurred_at", i->occurred_at, "accounts", i->accounts,
			 "state", i->state, "created_at", api_time(i->created_at),
			 "updated_at", api_time(i->updated_at));
}

void api_incident_report(struct http_request *r)
{
	static const char *const fields[] = {"what", "occurred_at", "accounts", NULL};
	if (!api_body_members(r, fields))
		return;
	struct store_incident i;
	const char *what = http_body_string(r, "what", true, sizeof i.what - 1);
	const char *when = what ? http_body_string(r, "occurred_at", true, sizeof i.occurred_at - 1) : NULL;
	const char *accounts = when ? http_body_string(r, "accounts", false, sizeof i.accounts - 1) : NULL;
	struct store *s = accounts ? api_store(r) : NULL;
	if (!s)
		return;
	struct vis_error e = {0};
	vis_err rc = incident_report(s, &r->auth->account, what, when, accounts, api_now(r), &i, &e);
	if (rc) {
		api_reply_refusal(r, rc, &e);
		return;
	}
	http_reply_json(r, 201, incident_json(&i));
}

static int add_incident(void *ctx, const void *rec)
{
	struct api_list *l = ctx;
	json_array_append_new(l->arr, incident_json(rec));
	return 0;
}

static int add_step(void *ctx, const void *rec)
{
	const struct store_incident_step *st = rec;
	struct api_list *l = ctx;
	json_array_insert_new(l->arr, 0, json_pack("{s:o,s:I,s:s,s:s}", "at", api_time(st->at),
						   "by_account", (json_int_t)st->by_account,
						   "state", st->state, "note", st->note));
	return 0;
}

void api_incidents_list(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	struct api_page pg;
	static const char *const states[] = {"open", "handled", "closed", NULL};
	if (!api_page_params(r, 1000, 1000, &pg) || !api_query_one_of(r, "state", states))
		return;
	struct store_filter f[3] = {{0}};
	int n = 0;
	if (!strcmp(r->auth->account.role, "lead"))
		f[n++] = (struct store_filter){"ente_id", NULL, r->auth->account.ente_id};
	if (http_query(r, "state"))
		f[n++] = (struct store_filter){"state", http_query(r, "state"), 0};
	struct api_list l = {json_array()};
	struct vis_error e = {0};
	if (store_rec_page(s, STORE_INCIDENT, f, pg.cursor, pg.limit + 1, add_incident, &l, &e)) {
		json_decref(l.arr);
		api_fail(r, &e);
		return;
	}
	json_t *out = json_pack("{s:o}", "incidents", l.arr);
	api_page_finish(out, l.arr, &pg);
	/* Each with its whole history, oldest step first. */
	size_t k;
	json_t *v;
	json_array_foreach(l.arr, k, v) {
		struct api_list h = {json_array()};
		struct store_filter hf[] = {{"incident_id", NULL, json_integer_value(json_object_get(v, "id"))},
					    {NULL, NULL, 0}};
		if (store_rec_list(s, STORE_INCIDENT_STEP, hf, 0, add_step, &h, &e)) {
			json_decref(h.arr);
			json_decref(out);
			api_fail(r, &e);
			return;
		}
		json_object_set_new(v, "history", h.arr);
	}
	http_reply_json(r, 200, out);
}

void api_incident_state(struct http_request *r)
{
	static const char *const fields[] = {"state", "note", NULL};
	if (!api_body_members(r, fields))
		return;
	int64_t id = api_param_id(r, 0);
	const char *state = id ? http_body_string(r, "state", true, 15) : NULL;
	const char *note = state ? http_body_string(r, "note", true, 500) : NULL;
	if (!note)
		return;
	if (!incident_state_valid(state)) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"state\" deve essere open, handled o closed");
		return;
	}
	struct store *s = api_store(r);
	if (!s)
		return;
	int64_t now = api_now(r);
	struct store_incident i;
	struct vis_error e = {0};
	vis_err rc = incident_state_set(s, id, state, note, r->auth->account.id, now, &i, &e);
	if (rc) {
		api_reply_refusal(r, rc, &e);
		return;
	}
	auth_event(s, now, "incident_state", &r->auth->account, NULL, r->ip,
		   incident_state_label(state));
	http_reply_json(r, 200, incident_json(&i));
}

/* One action: the body is suspended, every session and token of its
 * accounts is revoked. */
void api_ente_suspend(struct http_request *r)
{
	static const char *const fields[] = {"reason", NULL};
	if (!api_body_members(r, fields))
		return;
	int64_t id = api_param_id(r, 0);
	const char *reason = id ? http_body_string(r, "reason", true, 200) : NULL;
	struct store *s = reason ? api_store(r) : NULL;
	if (!s)
		return;
	int64_t now = api_now(r);
	struct store_ente en;
	int n;
	struct vis_error e = {0};
	vis_err rc = incident_ente_suspend(s, id, now, &en, &n, &e);
	if (rc) {
		api_reply_refusal(r, rc, &e);
		return;
	}
	auth_event(s, now, "ente_suspended", &r->auth->account, NULL, r->ip, reason);
	http_reply_json(r, 200, json_pack("{s:o,s:i}", "ente", api_ente_json(&en),
					  "accounts_cut_off", n));
}
