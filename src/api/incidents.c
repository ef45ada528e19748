/* Security incidents: a body's lead reports one (what, when, which
 * accounts); admins are alerted at once, follow it through its states
 * (open → handled → closed) with a history, and can suspend the whole body
 * in one action, which stops every session and token of its accounts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "api/internal.h"
#include "app/app.h"
#include "auth/auth.h"
#include "common/str.h"

static json_t *incident_json(const struct store_incident *i)
{
	return json_pack("{s:I,s:I,s:I,s:s,s:s,s:s,s:s,s:o,s:o}", "id", (json_int_t)i->id,
			 "ente_id", (json_int_t)i->ente_id, "reported_by", (json_int_t)i->reported_by,
			 "what", i->what, "occurred_at", i->occurred_at, "accounts", i->accounts,
			 "state", i->state, "created_at", api_time(i->created_at),
			 "updated_at", api_time(i->updated_at));
}

static vis_err step(struct store *s, const struct store_incident *i, int64_t by, int64_t now,
		    const char *note, struct vis_error *e)
{
	struct store_incident_step st = {.incident_id = i->id, .at = now, .by_account = by};
	if (STR_SET(st.state, i->state, "stato", e) || STR_SET(st.note, note, "nota", e))
		return VIS_ERR_LIMIT;
	return store_rec_insert(s, STORE_INCIDENT_STEP, &st, NULL, e);
}

void api_incident_report(struct http_request *r)
{
	struct store_incident i = {0};
	const char *what = http_body_string(r, "what", true, sizeof i.what - 1);
	const char *when = what ? http_body_string(r, "occurred_at", true, sizeof i.occurred_at - 1) : NULL;
	const char *accounts = when ? http_body_string(r, "accounts", false, sizeof i.accounts - 1) : NULL;
	if (!accounts)
		return;
	struct store *s = api_store(r);
	if (!s)
		return;
	int64_t now = api_now(r);
	const struct store_account *a = &r->auth.account;
	i.ente_id = a->ente_id;
	i.reported_by = a->id;
	/* http_body_string bounded each to its field */
	STR_COPY_KNOWN(i.what, what);
	STR_COPY_KNOWN(i.occurred_at, when);
	STR_COPY_KNOWN(i.accounts, accounts);
	snprintf(i.state, sizeof i.state, "open");
	i.created_at = i.updated_at = now;
	struct vis_error e = {0};
	if (store_rec_insert(s, STORE_INCIDENT, &i, &i.id, &e) ||
	    step(s, &i, a->id, now, "reported", &e)) {
		api_fail(r, &e);
		return;
	}
	char detail[256];
	snprintf(detail, sizeof detail, "incident %lld reported by %s: %.150s", (long long)i.id,
		 a->username, what);
	alert_raise(s, now, "incident", "high", a, detail, NULL);
	http_reply_json(r, 201, incident_json(&i));
}

struct list_ctx {
	json_t *arr;
};

static int add_incident(void *ctx, const void *rec)
{
	struct list_ctx *l = ctx;
	json_array_append_new(l->arr, incident_json(rec));
	return 0;
}

static int add_step(void *ctx, const void *rec)
{
	const struct store_incident_step *st = rec;
	struct list_ctx *l = ctx;
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
	struct store_filter f[2] = {{0}};
	if (!strcmp(r->auth.account.role, "lead"))
		f[0] = (struct store_filter){"ente_id", NULL, r->auth.account.ente_id};
	struct list_ctx l = {json_array()};
	struct vis_error e = {0};
	if (store_rec_list(s, STORE_INCIDENT, f, 1000, add_incident, &l, &e)) {
		json_decref(l.arr);
		api_fail(r, &e);
		return;
	}
	/* Each with its history, oldest step first. */
	size_t k;
	json_t *v;
	json_array_foreach(l.arr, k, v) {
		struct list_ctx h = {json_array()};
		struct store_filter hf[] = {{"incident_id", NULL, json_integer_value(json_object_get(v, "id"))},
					    {NULL, NULL, 0}};
		store_rec_list(s, STORE_INCIDENT_STEP, hf, 0, add_step, &h, NULL);
		json_object_set_new(v, "history", h.arr);
	}
	http_reply_json(r, 200, json_pack("{s:o}", "incidents", l.arr));
}

void api_incident_state(struct http_request *r)
{
	int64_t id = api_param_id(r, 0);
	const char *state = id ? http_body_string(r, "state", true, 15) : NULL;
	const char *note = state ? http_body_string(r, "note", true, 500) : NULL;
	if (!note)
		return;
	if (strcmp(state, "open") && strcmp(state, "handled") && strcmp(state, "closed")) {
		http_reply_error(r, 400, "invalid_request", "'state' must be open, handled or closed");
		return;
	}
	struct store *s = api_store(r);
	if (!s)
		return;
	struct store_incident i;
	bool found;
	struct vis_error e = {0};
	if (store_rec_get(s, STORE_INCIDENT, "id", NULL, id, &i, &found, &e)) {
		api_fail(r, &e);
		return;
	}
	if (!found) {
		http_reply_error(r, 404, "not_found", "no such incident");
		return;
	}
	int64_t now = api_now(r);
	STR_COPY_KNOWN(i.state, state); /* one of the three words checked above */
	i.updated_at = now;
	if (store_rec_update(s, STORE_INCIDENT, &i, &e) ||
	    step(s, &i, r->auth.account.id, now, note, &e)) {
		api_fail(r, &e);
		return;
	}
	auth_event(s, now, "incident_state", &r->auth.account, NULL, r->ip, state);
	http_reply_json(r, 200, incident_json(&i));
}

struct revoke_ctx {
	struct store *s;
	int64_t now;
	int n;
};

static int revoke_all(void *ctx, const void *rec)
{
	struct revoke_ctx *c = ctx;
	const struct store_account *a = rec;
	store_sessions_revoke_account(c->s, a->id, c->now, NULL);
	store_tokens_revoke_account(c->s, a->id, c->now, NULL);
	c->n++;
	return 0;
}

/* One action: the body is suspended, every session and token of its
 * accounts is revoked. */
void api_ente_suspend(struct http_request *r)
{
	int64_t id = api_param_id(r, 0);
	const char *reason = id ? http_body_string(r, "reason", true, 200) : NULL;
	struct store *s = reason ? api_store(r) : NULL;
	struct store_ente en;
	if (!s || !api_ente_load(r, s, id, &en))
		return;
	int64_t now = api_now(r);
	struct vis_error e = {0};
	snprintf(en.state, sizeof en.state, "suspended");
	struct revoke_ctx c = {s, now, 0};
	struct store_filter f[] = {{"ente_id", NULL, en.id}, {NULL, NULL, 0}};
	if (store_begin(s, &e) || store_rec_update(s, STORE_ENTE, &en, &e) ||
	    store_rec_list(s, STORE_ACCOUNT, f, 0, revoke_all, &c, &e) || store_commit(s, &e)) {
		store_rollback(s);
		api_fail(r, &e);
		return;
	}
	auth_event(s, now, "ente_suspended", &r->auth.account, NULL, r->ip, reason);
	http_reply_json(r, 200, json_pack("{s:o,s:i}", "ente", api_ente_json(&en),
					  "accounts_cut_off", c.n));
}
