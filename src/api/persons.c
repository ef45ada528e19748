/* Handlers of the personal-data services: search, consultation (person,
 * household, history, print), verification of self-declarations.
 *
 * Every one walks the same corridor: the declared purpose resolves to a
 * grant (agreement in force, the caller's body) → the query runs within the
 * grant → the access record is committed → only then the answer leaves.
 * Refusals are recorded too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "api/internal.h"
#include "app/app.h"
#include "alert/alert.h"
#include "audit/audit.h"
#include "auth/auth.h"
#include "common/date.h"
#include "metrics/metrics.h"
#include "common/text.h"
#include "policy/policy.h"
#include "audit/subjects.h"
#include "notify/notify.h"
#include "policy/ratelimit.h"
#include "query/query.h"
#include "common/str.h"

struct corridor {
	struct http_request *r;
	struct store *s;
	struct policy_grant grant;
	struct store_access rec;
	struct subjects subjects;  /* the persons of the answer: rec.subjects is its text */
	bool have_grant;
	bool break_glass;
	bool print;              /* answer as the printable HTML visura */
	bool suspended;          /* the alert rules suspended the account now */
	char justification[301];
	char query_cf[17];
	int64_t retry_after;
	/* the answer that leaves once the record is durable */
	int status;
	json_t *body;            /* success: the data */
	const char *code;        /* refusal: error code and message */
	char message[200];
};

static void corridor_free(void *ctx)
{
	struct corridor *c = ctx;
	json_decref(c->body);
	subjects_release(&c->subjects);
	free(c);
}

static int64_t now_ms(struct http_request *r)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	/* The test clock shifts whole seconds; keep the milliseconds. */
	return api_now(r) * 1000 + tv.tv_usec / 1000;
}

static char *print_page(struct corridor *c)
{
	struct http_request *r = c->r;
	struct store_ente en = {0};
	bool found;
	store_rec_get(c->s, STORE_ENTE, "id", NULL, r->auth->account.ente_id, &en, &found, NULL);
	char when[21], id[32], who[300], purpose[400];
	timestamp_format(c->rec.at / 1000, when);
	snprintf(id, sizeof id, "%lld", (long long)c->rec.id);
	snprintf(who, sizeof who, "%s (%s)", r->auth->account.full_name, r->auth->account.username);
	snprintf(purpose, sizeof purpose, "%s — %s", c->grant.purpose.code,
		 c->grant.purpose.description);
	json_t *as_of = json_object_get(c->body, "as_of");
	struct api_print_meta m = {who, en.name, purpose, c->rec.case_ref, when, id,
				   json_is_string(as_of) ? json_string_value(as_of) : "oggi"};
	return api_print_html(c->body, &m);
}

/* Called by the audit writer once the record is durable or failed: only
 * now may the answer leave, and only if the record made it. */
static void recorded(void *ctx, vis_err rc)
{
	struct corridor *c = ctx;
	struct http_request *r = c->r;
	if (rc != VIS_OK) {
		http_reply_internal(r, &(struct vis_error){VIS_ERR_STORE, "access trail not writable"});
	} else if (c->body) {
		json_object_set_new(c->body, "access_id", json_integer(c->rec.id));
		json_object_set_new(c->body, "purpose", json_pack("{s:I,s:s}", "id",
			(json_int_t)c->grant.purpose.id, "code", c->grant.purpose.code));
		/* The receipt signs the exact bytes that leave. */
		char *text = c->print ? print_page(c) : json_dumps(c->body, JSON_COMPACT | JSON_ENSURE_ASCII);
		char receipt[AUDIT_RECEIPT_MAX], id[32];
		struct vis_error re = {0};
		if (!text) {
			http_reply_internal(r, &(struct vis_error){VIS_ERR_NOMEM, "out of memory"});
		} else if (audit_receipt(r->app->audit, &c->rec, text, strlen(text), receipt,
					 sizeof receipt, &re)) {
			http_reply_internal(r, &re);
			free(text);
		} else {
			snprintf(id, sizeof id, "%lld", (long long)c->rec.id);
			http_header_add(r, "X-Visura-Access-Id", id);
			http_header_add(r, "X-Visura-Receipt", receipt);
			http_reply_bytes(r, c->status, c->print ? "text/html; charset=utf-8"
							       : "application/json", text, strlen(text));
			free(text);
		}
	} else {
		if (c->retry_after > 0) {
			char ra[32];
			snprintf(ra, sizeof ra, "%lld", (long long)c->retry_after);
			http_header_add(r, "Retry-After", ra);
		}
		http_reply_error(r, c->status, c->code, c->message);
	}
	http_resume(r);
}

static void start_record(struct http_request *r)
{
	struct corridor *c = r->handler_ctx;
	struct vis_error e = {0};
	if (audit_submit_async(r->app->audit, &c->rec, recorded, c, &e) != VIS_OK)
		recorded(c, VIS_ERR_STORE);
}

/* Records the outcome, then answers: the worker thread is freed while the
 * record waits for its group commit. */
static void observe(struct corridor *c, const char *outcome);

/* The trail holds text only: a control character that slipped into a
 * refused request is replaced, so records stay one line and unambiguous. */
static void clean(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void record(struct corridor *c, const char *outcome, int status)
{
	clean(c->rec.case_ref);
	clean(c->rec.on_behalf_of);
	clean(c->rec.query);
	/* Only an answer names persons; a refusal names none. */
	if (!c->body)
		subjects_release(&c->subjects);
	c->rec.subjects = subjects_text(&c->subjects);
	observe(c, outcome);
	if (c->suspended) {
		/* This request crossed the hard threshold: no data leaves. */
		outcome = "refused:account_suspended";
		status = 403;
		c->code = "account_suspended";
		snprintf(c->message, sizeof c->message,
			 "the account is suspended pending review by the registry office");
		subjects_release(&c->subjects);
		c->rec.subjects = subjects_text(&c->subjects);
	}
	STR_COPY_KNOWN(c->rec.outcome, outcome); /* "refused:" + a short code, or a word */
	c->rec.status = status;
	c->status = status;
	c->rec.at = now_ms(c->r);
	http_defer(c->r, start_record);
}

static void refuse(struct corridor *c, int status, const char *code, const char *message)
{
	char outcome[64];
	snprintf(outcome, sizeof outcome, "refused:%s", code);
	c->code = code;
	STR_COPY_KNOWN(c->message, message); /* the constant messages of the callers */
	record(c, outcome, status);
}

/* Feeds the anti-extraction rules; past the hard threshold the account is
 * suspended at once (the answer then carries no data). */
static void observe(struct corridor *c, const char *outcome)
{
	struct http_request *r = c->r;
	struct alert_obs o = {
		.account = &r->auth->account, .ip = r->ip, .operation = c->rec.operation,
		.outcome = outcome, .subjects = c->rec.subjects, .case_ref = c->rec.case_ref,
		.query_cf = c->query_cf, .break_glass = c->break_glass,
		.justification = c->justification,
	};
	int64_t now = api_now(r);
	if (!alert_observe(r->app->alerts, c->s, now, &o))
		return;
	struct vis_error e = {0};
	auth_account_disable(c->s, &r->auth->account, "suspended by alert", now, &e);
	auth_event(c->s, now, "account_suspended", &r->auth->account, NULL, r->ip, "alert");
	if (c->body) {
		json_decref(c->body);
		c->body = NULL;
		c->suspended = true;
	}
}

/* Counts the request against the agreement's limits (operator, body,
 * purpose; per minute and per day) unless this is a break-glass request. */
static bool within_limits(struct corridor *c)
{
	const struct store_convenzione *cv = &c->grant.conv;
	struct rl_rule rules[6];
	int64_t acc = c->r->auth->account.id;
	snprintf(rules[0].key, sizeof rules[0].key, "op:%lld", (long long)acc);
	snprintf(rules[1].key, sizeof rules[1].key, "op:%lld", (long long)acc);
	snprintf(rules[2].key, sizeof rules[2].key, "body:%lld", (long long)cv->id);
	snprintf(rules[3].key, sizeof rules[3].key, "body:%lld", (long long)cv->id);
	snprintf(rules[4].key, sizeof rules[4].key, "purpose:%lld", (long long)c->grant.purpose.id);
	snprintf(rules[5].key, sizeof rules[5].key, "purpose:%lld", (long long)c->grant.purpose.id);
	const int lim[6] = {cv->per_minute, cv->per_day, cv->body_per_minute, cv->body_per_day,
			    cv->purpose_per_minute, cv->purpose_per_day};
	for (int i = 0; i < 6; i++) {
		rules[i].limit = lim[i];
		rules[i].window = i % 2 ? 86400 : 60;
	}
	if (c->break_glass)
		return true;
	struct vis_error e = {0};
	int took = ratelimit_take(c->r->app->rl, store_shared(c->s) ? c->s : NULL, rules, 6,
				  api_now(c->r), &c->retry_after, &e);
	if (took > 0)
		return true;
	if (took < 0) {
		http_reply_internal(c->r, &e);
		return false;
	}
	metrics_rate_limited(c->r->app->metrics);
	refuse(c, 429, "rate_limited",
	       "too many requests for the agreement's limits: wait before trying again");
	return false;
}

/* The agreement requires a workstation certificate: one issued by the
 * municipality's CA to this body, not revoked, not expired. */
static bool workstation_ok(struct corridor *c)
{
	struct http_request *r = c->r;
	struct store_workstation w;
	bool found = false;
	struct vis_error e = {0};
	if (!r->client_cert[0]) {
		refuse(c, 403, "workstation_certificate_required",
		       "this agreement requires a workstation certificate issued by the municipality");
		return false;
	}
	if (store_rec_get(c->s, STORE_WORKSTATION, "serial", r->client_cert, 0, &w, &found, &e) ||
	    !found || w.ente_id != r->auth->account.ente_id) {
		refuse(c, 403, "workstation_certificate_unknown",
		       "the workstation certificate is not registered for this body");
		return false;
	}
	if (w.revoked_at || w.expires_at <= api_now(r)) {
		refuse(c, 403, "workstation_certificate_revoked",
		       "the workstation certificate is revoked or expired");
		return false;
	}
	return true;
}

/* Fills the access record's who/why and resolves the grant.  Returns false
 * after replying. */
static struct corridor *corridor_start(struct http_request *r, const char *operation,
				       int64_t purpose_id, const char *case_ref)
{
	struct corridor *c = calloc(1, sizeof *c);
	if (!c) {
		http_reply_error(r, 503, "service_unavailable", "out of memory");
		return NULL;
	}
	subjects_init(&c->subjects);
	r->handler_ctx = c;
	r->handler_ctx_free = corridor_free;
	c->r = r;
	if (!(c->s = api_store(r)))
		return NULL;
	const struct store_account *a = &r->auth->account;
	struct store_access *rec = &c->rec;
	rec->account_id = a->id;
	STR_COPY_KNOWN(rec->username, a->username); /* the same size */
	rec->ente_id = a->ente_id;
	rec->purpose_id = purpose_id;
	/* A case_ref that does not fit is refused below; the refusal is
	 * recorded without it (str_copy leaves it empty). */
	if (!STR_COPY(rec->case_ref, case_ref ? case_ref : ""))
		rec->case_ref[0] = '\0';

	STR_COPY_KNOWN(rec->ip, r->ip);               /* the same size */
	STR_COPY_KNOWN(rec->operation, operation);    /* the routes' constants */
	if (!http_args_valid(r)) {
		snprintf(rec->query, sizeof rec->query, "(malformed parameters)");
		rec->case_ref[0] = '\0';
		refuse(c, 400, "invalid_request",
		       "the path and query parameters must be UTF-8 text without control characters");
		return NULL;
	}
	return c;
}

static struct corridor *corridor_open(struct http_request *r, const char *operation,
				      int64_t purpose_id, const char *case_ref)
{
	struct corridor *c = corridor_start(r, operation, purpose_id, case_ref);
	if (!c)
		return NULL;
	const struct store_account *a = &r->auth->account;
	struct store_access *rec = &c->rec;
	/* An API client acts for a person of its body, who must be named. */
	if (r->auth->via_token) {
		const char *who = http_header(r, "X-Visura-On-Behalf-Of");
		if (!who || !*who || strlen(who) >= sizeof rec->on_behalf_of ||
		    !utf8_valid(who, strlen(who))) {
			refuse(c, 400, "on_behalf_of_required",
			       "API clients must name the end user in X-Visura-On-Behalf-Of");
			return NULL;
		}
		STR_COPY_KNOWN(rec->on_behalf_of, who); /* its length was checked above */
	}
	uint32_t bidi;
	if (case_ref && text_bidi_find(case_ref, strlen(case_ref), &bidi)) {
		char msg[120];
		snprintf(msg, sizeof msg, "'case_ref' holds the direction control U+%04X (text shown "
			 "in another order than written)", (unsigned)bidi);
		refuse(c, 400, "invalid_request", msg);
		return NULL;
	}
	if (case_ref && (strlen(case_ref) > 100 || !utf8_valid(case_ref, strlen(case_ref)))) {

		refuse(c, 400, "invalid_request", "'case_ref' must be text of at most 100 bytes");
		return NULL;
	}
	struct policy_refusal why;
	struct vis_error e = {0};
	if (!policy_grant_for(c->s, a, purpose_id, app_today(r->app), &c->grant, &why, &e)) {
		if (why.status >= 500) {
			http_reply_internal(r, &e);
			return NULL;
		}
		refuse(c, why.status, why.code, why.message);
		return NULL;
	}
	c->have_grant = true;
	rec->convenzione_id = c->grant.conv.id;
	STR_COPY_KNOWN(rec->workstation, r->client_cert); /* 40 hex digits at most */
	if (c->grant.conv.workstation_cert && !workstation_ok(c))
		return NULL;
	policy_categories_format(c->grant.categories, rec->categories, sizeof rec->categories);
	/* Every operation of the corridor but "verify" answers with the
	 * register's data (persons, households, histories, pages, events):
	 * deny by default what a verify_only agreement may not read. */
	if (c->grant.verify_only && strcmp(operation, "verify")) {
		refuse(c, 403, "mode_verify_only",
		       "the agreement allows only the verification of declared facts");
		return NULL;
	}
	/* Break-glass: an urgent request beyond the normal limits, with a
	 * written justification, flagged in the record and alerted at once. */
	const char *bg = r->json ? (json_is_true(json_object_get(r->json, "break_glass")) ? "1" : NULL)
				 : http_query(r, "break_glass");
	if (bg && !strcmp(bg, "1")) {
		const char *why_text = r->json ? json_string_value(json_object_get(r->json, "justification"))
					       : http_query(r, "justification");
		if (!c->grant.conv.break_glass) {
			refuse(c, 403, "break_glass_not_allowed",
			       "the agreement does not allow urgent access beyond its limits");
			return NULL;
		}
		if (!why_text || strlen(why_text) < 20 || strlen(why_text) > 300 ||
		    !utf8_valid(why_text, strlen(why_text))) {
			refuse(c, 400, "justification_required",
			       "break-glass needs a written justification of 20 to 300 characters");
			return NULL;
		}
		c->break_glass = true;
		STR_COPY_KNOWN(c->justification, why_text); /* at most 300, checked above */
		snprintf(rec->flags, sizeof rec->flags, "break_glass");
	}
	if (!within_limits(c))
		return NULL;
	return c;
}

/* Sends a query's outcome: records it, then answers. */
static void corridor_close(struct corridor *c, struct query_ctx *q, enum query_status st)
{
	switch (st) {
	case QUERY_OK:
		c->body = q->body;
		record(c, "ok", 200);
		return;
	case QUERY_NOT_FOUND:
		c->code = "not_found";
		snprintf(c->message, sizeof c->message,
			 "no person found within the agreement's municipalities");
		record(c, "not_found", 404);
		return;
	case QUERY_TOO_BROAD:
		c->code = "query_too_broad";
		STR_COPY_KNOWN(c->message, q->message); /* query's constant messages */
		record(c, "too_broad", 422);
		return;
	case QUERY_INVALID:
		refuse(c, 400, "invalid_request", q->message);
		return;
	case QUERY_NOT_PERMITTED:
		refuse(c, 403, "category_not_permitted", q->message);
		return;
	case QUERY_TOO_LARGE:
		refuse(c, 422, "answer_too_large", q->message);
		return;
	case QUERY_FAILED:
		json_decref(q->body);
		http_reply_internal(c->r, &q->err);
		return;
	}
}

static int64_t purpose_param(struct http_request *r, const char *v)
{
	(void)r;
	if (!v || !*v || strlen(v) > 18)
		return 0;
	char *end;
	long long id = strtoll(v, &end, 10);
	return *end || id <= 0 ? -1 : id;
}

static bool as_of_param(struct corridor *c, const char *v, int *out)
{
	*out = 0;
	if (!v || !*v)
		return true;
	if (!date_parse(v, strlen(v), out)) {
		refuse(c, 400, "invalid_request", "'as_of' must be YYYY-MM-DD");
		return false;
	}
	return true;
}

static void query_init(struct query_ctx *q, struct corridor *c, int as_of)
{
	memset(q, 0, sizeof *q);
	q->s = c->s;
	q->rd = c->r->app->rd;
	q->grant = &c->grant;
	q->as_of = as_of;
	q->subjects = &c->subjects;
}

/* The normalised query parameters of a consultation, for the record. */
static void note_query(struct corridor *c, const char *cf, const char *as_of)
{
	snprintf(c->rec.query, sizeof c->rec.query, "cf=%.16s as_of=%.10s", cf ? cf : "",
		 as_of ? as_of : "");
}

void api_persons_search(struct http_request *r)
{
	const char *purpose = http_query(r, "purpose");
	struct corridor *c = corridor_open(r, "search", purpose_param(r, purpose),
					   http_query(r, "case_ref"));
	if (!c)
		return;
	struct query_search p = {0};
	const char *cf = http_query(r, "cf"), *surname = http_query(r, "surname");
	const char *name = http_query(r, "name"), *bd = http_query(r, "birth_date");
	const char *by = http_query(r, "birth_year"), *comune = http_query(r, "comune");
	const char *street = http_query(r, "street");
	char q1[300];
	snprintf(q1, sizeof q1, "cf=%.16s surname=%.100s name=%.100s birth_date=%.10s birth_year=%.4s comune=%.6s",
		 cf ? cf : "", surname ? surname : "", name ? name : "", bd ? bd : "",
		 by ? by : "", comune ? comune : "");
	STR_COPY_KNOWN(c->rec.query, q1); /* q1[300] < query[512] */
	if (street) {
		refuse(c, 400, "invalid_request",
		       "no search by address: lists of people are a formal request to the registry office");
		return;
	}
	if (cf && *cf) {
		if (strlen(cf) != 16) {
			refuse(c, 400, "invalid_request", "'cf' must be a 16-character codice fiscale");
			return;
		}
		STR_COPY_KNOWN(p.cf, cf); /* 16 characters, checked above */
		STR_COPY_KNOWN(c->query_cf, cf);
	} else {
		if (!surname || !name || strlen(surname) > 100 || strlen(name) > 100) {
			refuse(c, 400, "invalid_request",
			       "search by 'cf', or by 'surname' and 'name' with 'birth_date', "
			       "'birth_year' or 'comune'");
			return;
		}
		STR_COPY_KNOWN(p.surname, surname); /* at most 100, checked above */
		STR_COPY_KNOWN(p.name, name);
		if (bd && *bd && !date_parse(bd, strlen(bd), &p.birth_date)) {
			refuse(c, 400, "invalid_request", "'birth_date' must be YYYY-MM-DD");
			return;
		}
		if (by && *by) {
			char *end;
			long y = strtol(by, &end, 10);
			if (*end || strlen(by) != 4 || y < 1800 || y > 2999) {
				refuse(c, 400, "invalid_request", "'birth_year' must be a year YYYY");
				return;
			}
			p.birth_year = (int)y;
		}
		if (comune && *comune) {
			if (strlen(comune) != 6 || strspn(comune, "0123456789") != 6) {
				refuse(c, 400, "invalid_request", "'comune' must be a 6-digit ISTAT code");
				return;
			}
			STR_COPY_KNOWN(p.comune, comune); /* 6 digits, checked above */
		}
	}
	struct query_ctx q;
	query_init(&q, c, 0);
	corridor_close(c, &q, query_search(&q, &p));
}

typedef enum query_status (*consult_fn)(struct query_ctx *q, const char *cf);

static void consult(struct http_request *r, const char *operation, consult_fn fn)
{
	struct corridor *c = corridor_open(r, operation, purpose_param(r, http_query(r, "purpose")),
					   http_query(r, "case_ref"));
	if (!c)
		return;
	const char *as_of_s = http_query(r, "as_of");
	note_query(c, r->params[0], as_of_s);
	snprintf(c->query_cf, sizeof c->query_cf, "%.16s", r->params[0]);
	int as_of;
	if (!as_of_param(c, as_of_s, &as_of))
		return;
	struct query_ctx q;
	query_init(&q, c, as_of);
	corridor_close(c, &q, fn(&q, r->params[0]));
}

void api_person_get(struct http_request *r)
{
	consult(r, "consult", query_person);
}

void api_person_household(struct http_request *r)
{
	consult(r, "household", query_household);
}

void api_person_history(struct http_request *r)
{
	consult(r, "history", query_history);
}

void api_person_print(struct http_request *r)
{
	consult(r, "print", query_person);
	struct corridor *c = r->handler_ctx;
	if (c)
		c->print = true;
}

void api_verify(struct http_request *r)
{
	json_t *body = NULL;
	json_error_t jerr;
	if (r->body_len)
		body = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(body)) {
		/* A malformed verification is a refused attempt: recorded too. */
		json_decref(body);
		struct corridor *c = corridor_start(r, "verify", 0, NULL);
		if (c)
			refuse(c, 400, "invalid_json", "the body is not a valid JSON object");
		return;
	}
	r->json = body;
	json_t *pid = json_object_get(body, "purpose");
	json_t *jcase = json_object_get(body, "case_ref"), *jasof = json_object_get(body, "as_of");
	const char *case_ref = json_string_value(jcase);
	if ((jcase && !json_is_string(jcase)) || (jasof && !json_is_string(jasof))) {
		struct corridor *c = corridor_start(r, "verify", 0, NULL);
		if (c)
			refuse(c, 400, "invalid_request", "'case_ref' and 'as_of' must be strings");
		return;
	}
	struct corridor *c = corridor_open(r, "verify", json_is_integer(pid) ? json_integer_value(pid) : 0,
					   case_ref);
	if (!c)
		return;
	const char *cf = json_string_value(json_object_get(body, "codice_fiscale"));
	const char *as_of_s = json_string_value(json_object_get(body, "as_of"));
	note_query(c, cf, as_of_s);
	int as_of;
	if (!as_of_param(c, as_of_s, &as_of))
		return;
	if (!cf || strlen(cf) != 16) {
		refuse(c, 400, "invalid_request", "'codice_fiscale' must be a 16-character code");
		return;
	}
	/* The facts checked are part of the record; their values are not. */
	json_t *declared = json_object_get(body, "declared");
	if (json_is_object(declared)) {
		size_t len = strlen(c->rec.query);
		const char *key;
		json_t *v;
		json_object_foreach(declared, key, v) {
			int n = snprintf(c->rec.query + len, sizeof c->rec.query - len, " %s", key);
			if (n < 0 || (size_t)n >= sizeof c->rec.query - len)
				break;
			len += (size_t)n;
		}
	}
	struct query_ctx q;
	query_init(&q, c, as_of);
	corridor_close(c, &q, query_verify(&q, cf, declared));
}

/* ---- the pull feed of event notifications ---- */

struct feed_ctx {
	struct corridor *c;
	struct query_ctx *q;
	json_t *arr;
	int64_t last;
};

static int feed_event(void *ctx, int64_t rowid, const struct store_event *ev, const char *cf)
{
	struct feed_ctx *f = ctx;
	json_t *j = notify_event_json(rowid, ev, cf, f->c->grant.categories, f->q->subjects,
				      &f->q->err);
	if (!j)
		return 1;
	json_array_append_new(f->arr, j);
	f->last = rowid;
	return 0;
}

/* GET /api/v1/events?purpose=&after=&limit=: the events of the agreement's
 * municipalities and subscribed types, after a cursor, in order.  The
 * client keeps the last cursor it processed: delivery is at least once. */
void api_events_feed(struct http_request *r)
{
	struct corridor *c = corridor_open(r, "events", purpose_param(r, http_query(r, "purpose")),
					   http_query(r, "case_ref"));
	if (!c)
		return;
	const char *after_s = http_query(r, "after"), *limit_s = http_query(r, "limit");
	snprintf(c->rec.query, sizeof c->rec.query, "after=%.20s limit=%.6s", after_s ? after_s : "",
		 limit_s ? limit_s : "");
	char *end;
	long long after = after_s && *after_s ? strtoll(after_s, &end, 10) : 0;
	long limit = limit_s && *limit_s ? strtol(limit_s, &end, 10) : 100;
	if (after < 0 || limit < 1 || limit > 1000 ||
	    (after_s && *after_s && strspn(after_s, "0123456789") != strlen(after_s))) {
		refuse(c, 400, "invalid_request", "'after' is a cursor, 'limit' 1 to 1000");
		return;
	}
	if (!c->grant.conv.event_types[0]) {
		refuse(c, 403, "not_subscribed", "the agreement subscribes to no event type");
		return;
	}
	struct query_ctx q;
	query_init(&q, c, 0);
	struct feed_ctx f = {c, &q, json_array(), after};
	if (store_events_after(c->s, after, c->grant.conv.comuni, c->grant.conv.event_types,
			       (int)limit, feed_event, &f, &q.err) && !q.err.code)
		vis_error_set(&q.err, VIS_ERR_STORE, "events");
	if (q.err.code) {
		json_decref(f.arr);
		q.message = QUERY_TOO_LARGE_MESSAGE;
		corridor_close(c, &q, q.err.code == VIS_ERR_LIMIT ? QUERY_TOO_LARGE : QUERY_FAILED);
		return;
	}
	q.body = json_pack("{s:o,s:I}", "events", f.arr, "next_after", (json_int_t)f.last);
	corridor_close(c, &q, QUERY_OK);
}
