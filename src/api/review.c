/* Scheduled-interruption notices, and the yearly review of agreements:
 * purposes, profile, active accounts with their last access, accesses in
 * the year by purpose, alerts; accounts unused for review_unused_days are
 * flagged; the admin records a decision per agreement (src/review decides
 * what it does). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "app/app.h"
#include "auth/auth.h"
#include "common/date.h"
#include "review/review.h"
#include "common/str.h"

/* ---- notices ---- */

/* The notices not yet ended, the soonest first; past the first
 * NOTICES_MAX, `more` says there are others (never cut without a word). */
#define NOTICES_MAX 100
struct notices {
	json_t *arr;
	int64_t now;
	bool more;
};

static int add_notice(void *ctx, const void *rec)
{
	struct notices *n = ctx;
	const struct store_notice *x = rec;
	if (json_array_size(n->arr) == NOTICES_MAX) {
		n->more = true;
		return 1;
	}
	json_array_append_new(n->arr, json_pack("{s:I,s:s,s:s,s:o,s:o,s:b}", "id", (json_int_t)x->id,
		"title", x->title, "body", x->body, "starts_at", api_time(x->starts_at),
		"ends_at", api_time(x->ends_at), "current", x->starts_at <= n->now));
	return 0;
}

void api_notices_list(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	struct notices n = {json_array(), api_now(r), false};
	struct vis_error e = {0};
	if (store_notices_live(s, n.now, NOTICES_MAX + 1, add_notice, &n, &e)) {
		json_decref(n.arr);
		api_fail(r, &e);
		return;
	}
	http_reply_json(r, 200, json_pack("{s:o,s:b}", "notices", n.arr, "more", n.more));
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
				 "i campi \"starts_at\" e \"ends_at\" sono AAAA-MM-GGTHH:MM:SSZ, in "
				 "quest'ordine");
		return;
	}
	/* http_body_string refused anything longer than the fields */
	STR_COPY_KNOWN(x.title, title);
	STR_COPY_KNOWN(x.body, body);
	struct store *s = api_store(r);
	if (!s)
		return;
	x.created_at = api_now(r);
	struct vis_error e = {0};
	if (store_notice_insert(s, &x, &x.id, &e)) {
		api_fail(r, &e);
		return;
	}
	auth_event(s, x.created_at, "notice_published", &r->auth->account, NULL, r->ip, x.title);
	http_reply_json(r, 201, json_pack("{s:I,s:s}", "id", (json_int_t)x.id, "title", x.title));
}

/* ---- the yearly review ---- */

struct review_job {
	struct api_slow slow;
	int64_t only;                 /* an agreement's id, or 0: all */
};

/* On the runner (app->slow): each agreement's body's accesses of the last
 * year read and counted (seconds to minutes on a large trail), off the
 * HTTP workers. */
static void review_work(struct http_request *r, struct store *s, void *job)
{
	const struct review_job *j = job;
	json_t *out;
	struct vis_error e = {0};
	if (review_report(s, api_now(r), r->app->cfg.review_unused_days, j->only, &out, &e)) {
		api_fail(r, &e);
		return;
	}
	http_reply_json(r, 200, out);
}

void api_review_report(struct http_request *r)
{
	int64_t only;
	if (!api_query_id(r, "convenzione_id", &only))
		return;
	struct review_job *j = api_slow_new(r, sizeof *j);
	if (!j)
		return;
	j->only = only;
	api_slow_defer(r, &j->slow, r->app->slow, review_work, API_SLOW_BUSY);
}

void api_review_decide(struct http_request *r)
{
	int64_t id = api_param_id(r, 0);
	const char *decision = id ? http_body_string(r, "decision", true, 15) : NULL;
	const char *note = decision ? http_body_string(r, "note", true, 1000) : NULL;
	if (!note)
		return;
	if (!review_decision_valid(decision)) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"decision\" deve essere confirm, restrict o revoke");
		return;
	}
	struct store *s = api_store(r);
	if (!s)
		return;
	int64_t now = api_now(r);
	struct store_review d;
	struct store_convenzione c;
	struct vis_error e = {0};
	vis_err rc = review_decide(s, id, decision, note, r->auth->account.id, now, &d, &c, &e);
	if (rc) {
		api_reply_refusal(r, rc, &e);
		return;
	}
	auth_event(s, now, "review_decision", &r->auth->account, NULL, r->ip,
		   review_decision_label(decision));
	http_reply_json(r, 200, json_pack("{s:I,s:I,s:s,s:s}", "id", (json_int_t)d.id,
					  "convenzione_id", (json_int_t)c.id, "decision", d.decision,
					  "agreement_state", c.state));
}
