/* Scheduled-interruption notices (published, corrected and withdrawn
 * while not yet ended; one ended or withdrawn is never changed, and a
 * withdrawal keeps the times it announced), and the yearly review
 * of agreements:
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

/* The notices not yet ended nor withdrawn, the soonest first; past the first
 * NOTICES_MAX, `more` says there are others (never cut without a word). */
#define NOTICES_MAX 100
struct notices {
	json_t *arr;
	int64_t now;
	bool more;
};

/* A notice as the API shows it; `current`: in force at `now` (never one
 * withdrawn); `withdrawn_at` null when not withdrawn. */
static json_t *notice_json(const struct store_notice *x, int64_t now)
{
	return json_pack("{s:I,s:s,s:s,s:o,s:o,s:o,s:b}", "id", (json_int_t)x->id, "title",
			 x->title, "body", x->body, "starts_at", api_time(x->starts_at), "ends_at",
			 api_time(x->ends_at), "withdrawn_at", api_time(x->withdrawn_at), "current",
			 !x->withdrawn_at && x->starts_at <= now && now < x->ends_at);
}

static int add_notice(void *ctx, const void *rec)
{
	struct notices *n = ctx;
	if (json_array_size(n->arr) == NOTICES_MAX) {
		n->more = true;
		return 1;
	}
	json_array_append_new(n->arr, notice_json(rec, n->now));
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

/* The body's fields over x: all four when `create`, else those present
 * (at least one); each text bounded to its field and not empty, each time
 * AAAA-MM-GGTHH:MM:SSZ, the end after the start; any other member refused.
 * False after replying 400. */
static bool notice_fields(struct http_request *r, struct store_notice *x, bool create)
{
	static const char *const names[] = {"title", "body", "starts_at", "ends_at", NULL};
	json_t *b = http_body_object(r);
	if (!b || api_refuse_unknown(r, api_unknown_member(b, names)))
		return false;
	if (!create && !json_object_size(b)) {
		http_reply_error(r, 400, "invalid_request",
				 "nessun campo da correggere: indicare title, body, starts_at o ends_at");
		return false;
	}
	char *text[] = {x->title, x->body};
	size_t cap[] = {sizeof x->title, sizeof x->body};
	int64_t *at[] = {&x->starts_at, &x->ends_at};
	bool times_ok = true;
	for (int i = 0; i < 4; i++) {
		if (!create && !json_object_get(b, names[i]))
			continue;
		const char *v = http_body_string(r, names[i], true, i < 2 ? cap[i] - 1 : 20);
		if (!v)
			return false;
		if (i < 2) /* http_body_string bounded it to the field */
			str_copy_known(text[i], cap[i], v, __FILE__, __LINE__);
		else
			times_ok = timestamp_parse(v, strlen(v), at[i - 2]) && times_ok;
	}
	if (!times_ok || x->ends_at <= x->starts_at) {
		http_reply_error(r, 400, "invalid_request",
				 "i campi \"starts_at\" e \"ends_at\" sono AAAA-MM-GGTHH:MM:SSZ, in "
				 "quest'ordine");
		return false;
	}
	return true;
}

void api_notices_create(struct http_request *r)
{
	struct store_notice x = {0};
	if (!notice_fields(r, &x, true))
		return;
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

/* A change of a notice: the notice as read (`was`) and as it becomes. */
struct notice_change {
	struct store *s;
	int64_t now;
	struct store_notice was, x;
};

/* Reads the notice the path names into c (was, and x a copy), if it has
 * not ended at c->now nor been withdrawn; false after replying 404 (none)
 * or 409 (over: it is never changed again, the record of what was shown). */
static bool notice_live(struct http_request *r, struct notice_change *c)
{
	int64_t id = api_param_id(r, 0);
	c->now = api_now(r);
	if (!id || !(c->s = api_store(r)))
		return false;
	bool found;
	struct vis_error e = {0};
	if (store_notice_get(c->s, id, &c->was, &found, &e)) {
		api_fail(r, &e);
		return false;
	}
	if (!found) {
		http_reply_error(r, 404, "not_found", "avviso inesistente");
		return false;
	}
	if (c->was.ends_at <= c->now || c->was.withdrawn_at) {
		http_reply_error(r, 409, "notice_ended",
				 "l'avviso è già terminato (o è stato ritirato): non si modifica più; "
				 "per un nuovo annuncio pubblicare un altro avviso");
		return false;
	}
	c->x = c->was;
	return true;
}

/* Writes the change (store_notice_correct), records `kind`, naming the
 * notice, what `changed` (a note) and the times it had (the title last,
 * cut to fit when long), and replies with the notice. */
static void notice_write(struct http_request *r, const struct notice_change *c,
			 const char *kind, const char *changed)
{
	struct vis_error e = {0};
	vis_err rc = store_notice_correct(c->s, &c->was, &c->x, c->now, &e);
	if (rc == VIS_ERR_CONFLICT) {
		http_reply_error(r, 409, "conflict",
				 "l'avviso è stato cambiato, ritirato o è terminato nel frattempo: "
				 "rileggerlo e riprovare");
		return;
	}
	if (rc) {
		api_fail(r, &e);
		return;
	}
	char from[21], to[21], detail[400];
	timestamp_format(c->was.starts_at, from);
	timestamp_format(c->was.ends_at, to);
	/* changed (≤ 38), two times, title[201] */
	STR_FMT_KNOWN(detail, "avviso n. %lld %s (era dal %s al %s): %s", (long long)c->x.id,
		      changed, from, to, c->x.title);
	auth_event(c->s, c->now, kind, &r->auth->account, NULL, r->ip, detail);
	http_reply_json(r, 200, notice_json(&c->x, c->now));
}

void api_notice_update(struct http_request *r)
{
	struct notice_change c;
	if (!notice_live(r, &c) || !notice_fields(r, &c.x, false))
		return;
	if (c.x.ends_at <= c.now) {
		http_reply_error(r, 400, "invalid_request",
				 "la fine \"ends_at\" corretta è già passata: per togliere l'avviso, "
				 "ritirarlo (DELETE /api/v1/notices/ID)");
		return;
	}
	/* "corretto: titolo, fine" (at most 38 bytes) */
	char changed[64] = "corretto";
	const char *name[] = {"titolo", "testo", "inizio", "fine"};
	bool diff[] = {strcmp(c.was.title, c.x.title) != 0, strcmp(c.was.body, c.x.body) != 0,
		       c.was.starts_at != c.x.starts_at, c.was.ends_at != c.x.ends_at};
	for (int i = 0, n = 0; i < 4; i++)
		if (diff[i]) {
			size_t len = strlen(changed);
			STR_FMT_KNOWN_CAP(changed + len, sizeof changed - len, "%s%s",
					  n++ ? ", " : ": ",
					  name[i]); /* at most 38 bytes, as above */
		}
	if (!strchr(changed, ':'))
		STR_COPY_KNOWN(changed, "corretto senza cambiamenti");
	notice_write(r, &c, "notice_changed", changed);
}

void api_notice_withdraw(struct http_request *r)
{
	struct notice_change c;
	if (!notice_live(r, &c))
		return;
	/* the row kept with the times it announced, and when it was withdrawn:
	 * the record of what was shown, and when it stopped */
	c.x.withdrawn_at = c.now;
	notice_write(r, &c, "notice_withdrawn", "ritirato");
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
	static const char *const fields[] = {"decision", "note", NULL};
	if (!api_body_members(r, fields))
		return;
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
