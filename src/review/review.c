#include "review/review.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "common/date.h"
#include "common/str.h"

static json_t *when(int64_t t)
{
	char buf[21];
	if (!t)
		return json_null();
	timestamp_format(t, buf);
	return json_string(buf);
}

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
		"username", x->username, "role", x->role, "last_login_at", when(x->last_login_at),
		"expires_at", when(x->expires_at), "unused", unused));
	return 0;
}

struct by_purpose {
	json_t *counts;
	int64_t refused;   /* records of a year: can pass 2^31 */
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

static int purpose_item(void *ctx, const void *rec)
{
	const struct store_purpose *p = rec;
	json_array_append_new(ctx, json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)p->id,
					     "code", p->code, "description", p->description,
					     "processing_ref", p->processing_ref));
	return 0;
}

struct review_ctx {
	struct store *s;
	json_t *out;
	int64_t now, only;
	int unused_days;
	struct vis_error *e;    /* a read that failed: the report is not given */
	bool failed;
};

static int review_one(void *ctx, const void *rec)
{
	struct review_ctx *rc = ctx;
	const struct store_convenzione *c = rec;
	if (rc->only && c->id != rc->only)
		return 0;
	json_t *purposes = json_array();
	struct store_filter pf[] = {{"convenzione_id", NULL, c->id}, {NULL, NULL, 0}};
	struct accounts acc = {json_array(), rc->now, (int64_t)rc->unused_days * 86400, 0};
	struct store_filter af[] = {{"ente_id", NULL, c->ente_id}, {NULL, NULL, 0}};
	struct by_purpose bp = {json_object(), 0};
	/* every access of the last year counted (limit 0: none left out) */
	struct store_access_filter f = {.ente_id = c->ente_id,
					.from_ms = (rc->now - 365 * 86400) * 1000};
	int64_t alerts;
	if (store_rec_list(rc->s, STORE_PURPOSE, pf, 0, purpose_item, purposes, rc->e) ||
	    store_rec_list(rc->s, STORE_ACCOUNT, af, 0, add_account, &acc, rc->e) ||
	    store_access_search(rc->s, &f, count_access, &bp, rc->e) ||
	    store_alerts_count(rc->s, c->ente_id, &alerts, rc->e)) {
		json_decref(purposes);
		json_decref(acc.arr);
		json_decref(bp.counts);
		rc->failed = true;
		return 1;
	}
	json_array_append_new(rc->out, json_pack(
		"{s:I,s:I,s:s,s:s,s:s,s:s,s:o,s:o,s:i,s:o,s:I,s:I}", "convenzione_id", (json_int_t)c->id,
		"ente_id", (json_int_t)c->ente_id, "reference", c->reference, "state", c->state,
		"mode", c->mode, "profile", c->profile, "purposes", purposes, "active_accounts", acc.arr,
		"unused_accounts", acc.flagged, "accesses_last_year_by_purpose", bp.counts,
		"refused_last_year", (json_int_t)bp.refused, "alerts", (json_int_t)alerts));
	return 0;
}

vis_err review_report(struct store *s, int64_t now, int unused_days, int64_t only,
		      json_t **out, struct vis_error *e)
{
	struct review_ctx rc = {s, json_array(), now, only, unused_days, e, false};
	if (store_rec_list(s, STORE_CONVENZIONE, NULL, 0, review_one, &rc, e) || rc.failed) {
		json_decref(rc.out);
		return VIS_ERR_STORE;
	}
	*out = json_pack("{s:o,s:i}", "agreements", rc.out, "unused_after_days", unused_days);
	return VIS_OK;
}

bool review_decision_valid(const char *decision)
{
	return decision && (!strcmp(decision, "confirm") || !strcmp(decision, "restrict") ||
			    !strcmp(decision, "revoke"));
}

const char *review_decision_label(const char *decision)
{
	static const char *const map[][2] = {
		{"confirm", "confermata"}, {"restrict", "limitata"}, {"revoke", "revocata"},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(map[i][0], decision))
			return map[i][1];
	return decision;
}

struct cut {
	struct store *s;
	int64_t now;
	struct vis_error *e;
	vis_err rc;
};

static int cut_off(void *ctx, const void *rec)
{
	struct cut *c = ctx;
	struct store_account a = *(const struct store_account *)rec;
	if (strcmp(a.state, "active"))
		return 0;
	c->rc = auth_account_disable(c->s, &a, AUTH_REASON_AGREEMENT_REVOKED, c->now, c->e);
	return c->rc != VIS_OK;
}

vis_err review_decide(struct store *s, int64_t convenzione_id, const char *decision,
		      const char *note, int64_t by_id, int64_t now, struct store_review *out,
		      struct store_convenzione *c, struct vis_error *e)
{
	if (!review_decision_valid(decision))
		return vis_error_set(e, VIS_ERR_INVALID,
				     "il campo \"decision\" deve essere confirm, restrict o "
				     "revoke");
	struct store_review d = {.convenzione_id = convenzione_id, .decided_by = by_id,
				 .decided_at = now};
	STR_COPY_KNOWN(d.decision, decision); /* one of the three words above */
	if (STR_SET(d.note, note, "note", e))
		return VIS_ERR_LIMIT;
	bool found;
	if (store_convenzione_get(s, convenzione_id, c, &found, e))
		return VIS_ERR_STORE;
	if (!found)
		return vis_error_set(e, VIS_ERR_NOTFOUND, "convenzione inesistente");
	vis_err rc = store_begin(s, e);
	if (!rc)
		rc = store_review_insert(s, &d, &d.id, e);
	if (!rc && !strcmp(decision, "revoke")) {
		const struct store_convenzione was = *c;
		STR_COPY_KNOWN(c->state, "ended"); /* a constant */
		rc = store_convenzione_update(s, &was, c, e);
		struct cut cut = {s, now, e, VIS_OK};
		struct store_filter f[] = {{"ente_id", NULL, c->ente_id}, {NULL, NULL, 0}};
		if (!rc && store_rec_list(s, STORE_ACCOUNT, f, 0, cut_off, &cut, e))
			rc = VIS_ERR_STORE;
		if (!rc)
			rc = cut.rc;
	}
	if (!rc)
		rc = store_commit(s, e);
	if (rc) {
		store_rollback(s);
		return rc;
	}
	*out = d;
	return VIS_OK;
}
