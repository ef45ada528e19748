/* Scheduled-interruption notices, and the yearly review of agreements:
 * purposes, profile, active accounts with their last access, accesses in
 * the year by purpose, alerts; accounts unused for review_unused_days are
 * flagged; the admin records a decision per agreement (confirm, restrict,
 * revoke), and revocation ends the agreement and cuts the body's accounts
 * off at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "app/app.h"
#include "auth/auth.h"
#include "common/date.h"

/* ---- notices ---- */

struct notices {
	json_t *arr;
	int64_t now;
	bool all;
};

static int add_notice(void *ctx, const void *rec)
{
	struct notices *n = ctx;
	const struct store_notice *x = rec;
	if (!n->all && x->ends_at <= n->now)
		return 0; /* past notices only for the office */
	json_array_append_new(n->arr, json_pack("{s:I,s:s,s:s,s:o,s:o,s:b}", "id", (json_int_t)x->id,
		"title", x->title, "body", x->body, "starts_at", api_time(x->starts_at),
		"ends_at", api_time(x->ends_at), "current", x->starts_at <= n->now && n->now < x->ends_at));
	return 0;
}

void api_notices_list(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	struct notices n = {json_array(), api_now(r), false};
	struct vis_error e = {0};
	if (store_rec_list(s, STORE_NOTICE, NULL, 100, add_notice, &n, &e)) {
		json_decref(n.arr);
		api_fail(r, &e);
		return;
	}
	http_reply_json(r, 200, json_pack("{s:o}", "notices", n.arr));
}

void api_notices_create(struct http_request *r)
{
	struct store_notice x = {0};
	const char *title = http_body_string(r, "title", true, sizeof x.title - 1);
	const char *body = title ? http_body_string(r, "body", true, sizeof x.body - 1) : NULL;
	const char *from = body ? http_body_string(r, "starts_at", true, 20) : NULL;
	const char *to = from ? http_body_string(r, "ends_at", true, 20) : NULL;
	if (!to)
		return;
	if (!timestamp_parse(from, strlen(from), &x.starts_at) ||
	    !timestamp_parse(to, strlen(to), &x.ends_at) || x.ends_at <= x.starts_at) {
		http_reply_error(r, 400, "invalid_request",
				 "'starts_at' and 'ends_at' are YYYY-MM-DDTHH:MM:SSZ, in that order");
		return;
	}
	snprintf(x.title, sizeof x.title, "%s", title);
	snprintf(x.body, sizeof x.body, "%s", body);
	struct store *s = api_store(r);
	if (!s)
		return;
	x.created_at = api_now(r);
	struct vis_error e = {0};
	if (store_rec_insert(s, STORE_NOTICE, &x, &x.id, &e)) {
		api_fail(r, &e);
		return;
	}
	auth_event(s, x.created_at, "notice_published", &r->auth.account, NULL, r->ip, x.title);
	http_reply_json(r, 201, json_pack("{s:I,s:s}", "id", (json_int_t)x.id, "title", x.title));
}

/* ---- the yearly review ---- */

struct accounts {
	json_t *arr;
	int64_t now, unused_after;
	int flagged;
};

static int add_account(void *ctx, const void *rec)
{
	struct accounts *a = ctx;
	const struct store_account *x = rec;
	if (strcmp(x->state, "active"))
		return 0;
	int64_t last = x->last_login_at ? x->last_login_at : x->created_at;
	bool unused = a->now - last > a->unused_after;
	a->flagged += unused;
	json_array_append_new(a->arr, json_pack("{s:I,s:s,s:s,s:o,s:o,s:b}", "id", (json_int_t)x->id,
		"username", x->username, "role", x->role, "last_login_at", api_time(x->last_login_at),
		"expires_at", api_time(x->expires_at), "unused", unused));
	return 0;
}

struct by_purpose {
	json_t *counts;   /* purpose id -> count */
	int refused;
};

static int count_access(void *ctx, const struct store_access *a)
{
	struct by_purpose *b = ctx;
	if (!strncmp(a->outcome, "refused:", 8)) {
		b->refused++;
		return 0;
	}
	char k[24];
	snprintf(k, sizeof k, "%lld", (long long)a->purpose_id);
	json_t *n = json_object_get(b->counts, k);
	json_object_set_new(b->counts, k, json_integer(n ? json_integer_value(n) + 1 : 1));
	return 0;
}

struct alerts {
	int64_t ente;
	int n;
};

static int count_alert(void *ctx, const void *rec)
{
	struct alerts *a = ctx;
	a->n += ((const struct store_alert *)rec)->ente_id == a->ente;
	return 0;
}

struct review_ctx {
	struct http_request *r;
	struct store *s;
	json_t *out;
	int64_t only;
};

static int purpose_item(void *ctx, const void *rec)
{
	const struct store_purpose *p = rec;
	json_array_append_new(ctx, json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)p->id,
					     "code", p->code, "description", p->description,
					     "processing_ref", p->processing_ref));
	return 0;
}

static int review_one(void *ctx, const void *rec)
{
	struct review_ctx *rc = ctx;
	const struct store_convenzione *c = rec;
	if (rc->only && c->id != rc->only)
		return 0;
	struct http_request *r = rc->r;
	int64_t now = api_now(r);
	json_t *purposes = json_array();
	struct store_filter pf[] = {{"convenzione_id", NULL, c->id}, {NULL, NULL, 0}};
	store_rec_list(rc->s, STORE_PURPOSE, pf, 0, purpose_item, purposes, NULL);
	struct accounts acc = {json_array(), now, (int64_t)r->app->cfg.review_unused_days * 86400, 0};
	struct store_filter af[] = {{"ente_id", NULL, c->ente_id}, {NULL, NULL, 0}};
	store_rec_list(rc->s, STORE_ACCOUNT, af, 0, add_account, &acc, NULL);
	struct by_purpose bp = {json_object(), 0};
	struct store_access_filter f = {.ente_id = c->ente_id, .from_ms = (now - 365 * 86400) * 1000,
					.limit = 0};
	store_access_search(rc->s, &f, count_access, &bp, NULL);
	struct alerts al = {c->ente_id, 0};
	store_rec_list(rc->s, STORE_ALERT, NULL, 0, count_alert, &al, NULL);
	json_array_append_new(rc->out, json_pack(
		"{s:I,s:I,s:s,s:s,s:s,s:s,s:o,s:o,s:i,s:o,s:i,s:i}", "convenzione_id", (json_int_t)c->id,
		"ente_id", (json_int_t)c->ente_id, "reference", c->reference, "state", c->state,
		"mode", c->mode, "profile", c->profile, "purposes", purposes, "active_accounts", acc.arr,
		"unused_accounts", acc.flagged, "accesses_last_year_by_purpose", bp.counts,
		"refused_last_year", bp.refused, "alerts", al.n));
	return 0;
}

void api_review_report(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	const char *only = http_query(r, "convenzione_id");
	struct review_ctx rc = {r, s, json_array(), only ? strtoll(only, NULL, 10) : 0};
	struct vis_error e = {0};
	if (store_rec_list(s, STORE_CONVENZIONE, NULL, 0, review_one, &rc, &e)) {
		json_decref(rc.out);
		api_fail(r, &e);
		return;
	}
	http_reply_json(r, 200, json_pack("{s:o,s:i}", "agreements", rc.out, "unused_after_days",
					  r->app->cfg.review_unused_days));
}

struct cut {
	struct store *s;
	int64_t now;
};

static int cut_off(void *ctx, const void *rec)
{
	struct cut *c = ctx;
	struct store_account a = *(const struct store_account *)rec;
	if (!strcmp(a.state, "active"))
		auth_account_disable(c->s, &a, "agreement revoked at review", c->now, NULL);
	return 0;
}

void api_review_decide(struct http_request *r)
{
	int64_t id = api_param_id(r, 0);
	const char *decision = id ? http_body_string(r, "decision", true, 15) : NULL;
	const char *note = decision ? http_body_string(r, "note", true, 1000) : NULL;
	if (!note)
		return;
	if (strcmp(decision, "confirm") && strcmp(decision, "restrict") && strcmp(decision, "revoke")) {
		http_reply_error(r, 400, "invalid_request", "'decision' is confirm, restrict or revoke");
		return;
	}
	struct store *s = api_store(r);
	if (!s)
		return;
	struct store_convenzione c;
	bool found;
	struct vis_error e = {0};
	if (store_rec_get(s, STORE_CONVENZIONE, "id", NULL, id, &c, &found, &e)) {
		api_fail(r, &e);
		return;
	}
	if (!found) {
		http_reply_error(r, 404, "not_found", "no such agreement");
		return;
	}
	int64_t now = api_now(r);
	struct store_review d = {.convenzione_id = c.id, .decided_by = r->auth.account.id,
				 .decided_at = now};
	snprintf(d.decision, sizeof d.decision, "%s", decision);
	snprintf(d.note, sizeof d.note, "%s", note);
	vis_err rc = store_begin(s, &e);
	if (!rc)
		rc = store_rec_insert(s, STORE_REVIEW, &d, &d.id, &e);
	if (!rc && !strcmp(decision, "revoke")) {
		snprintf(c.state, sizeof c.state, "ended");
		rc = store_rec_update(s, STORE_CONVENZIONE, &c, &e);
		struct cut cut = {s, now};
		struct store_filter f[] = {{"ente_id", NULL, c.ente_id}, {NULL, NULL, 0}};
		if (!rc)
			rc = store_rec_list(s, STORE_ACCOUNT, f, 0, cut_off, &cut, &e);
	}
	if (!rc)
		rc = store_commit(s, &e);
	if (rc) {
		store_rollback(s);
		api_fail(r, &e);
		return;
	}
	auth_event(s, now, "review_decision", &r->auth.account, NULL, r->ip, decision);
	http_reply_json(r, 200, json_pack("{s:I,s:I,s:s,s:s}", "id", (json_int_t)d.id,
					  "convenzione_id", (json_int_t)c.id, "decision", d.decision,
					  "agreement_state", c.state));
}
