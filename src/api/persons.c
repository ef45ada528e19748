/* Handlers of the personal-data services: search, consultation (person,
 * household, history, print), verification of self-declarations, the
 * events feed.
 *
 * Each one reads who is asking and what from the request, hands both to
 * the corridor (access/access.h: grant → certificate → limits → query →
 * alerts → durable record → receipt) and sends what it answers.  Nothing
 * here decides who may see what. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "api/internal.h"
#include "app/app.h"

/* Sends the corridor's answer: called from the audit writer's thread once
 * the record is durable (or at once for a failure of ours). */
static void answered(void *arg, const struct access_answer *a)
{
	struct http_request *r = arg;
	if (a->err) {
		http_reply_internal(r, a->err);
	} else if (a->bytes) {
		char id[32];
		snprintf(id, sizeof id, "%lld", (long long)a->access_id);
		http_header_add(r, "X-Visura-Access-Id", id);
		http_header_add(r, "X-Visura-Receipt", a->receipt);
		http_reply_bytes(r, a->status, a->content_type, a->bytes, a->len);
	} else {
		if (a->retry_after > 0) {
			char ra[32];
			snprintf(ra, sizeof ra, "%lld", (long long)a->retry_after);
			http_header_add(r, "Retry-After", ra);
		}
		http_reply_error(r, a->status, a->code, a->message);
	}
	http_resume(r);
}

/* Runs once the connection is parked: the record's commit may resume it
 * at once, from the writer's thread. */
static void finish(struct http_request *r)
{
	access_finish(r->handler_ctx, answered, r);
}

static void call_free(void *ctx)
{
	access_call_free(ctx);
}

static int64_t purpose_param(const char *v)
{
	if (!v || !*v || strlen(v) > 18)
		return 0;
	char *end;
	long long id = strtoll(v, &end, 10);
	return *end || id <= 0 ? -1 : id;
}

/* Who is asking, as the request says: account, address, certificate,
 * purpose and case from the query string, end user from the header. */
static void who_from_query(struct http_request *r, struct access_who *who)
{
	const char *bg = http_query(r, "break_glass");
	*who = (struct access_who){
		.account = &r->auth->account, .via_token = r->auth->via_token, .ip = r->ip,
		.workstation = r->client_cert,
		.purpose_id = purpose_param(http_query(r, "purpose")),
		.case_ref = http_query(r, "case_ref"),
		.on_behalf_of = http_header(r, "X-Visura-On-Behalf-Of"),
		.break_glass = bg && !strcmp(bg, "1"),
		.justification = http_query(r, "justification"),
	};
}

/* Parameters that are not UTF-8 text are refused by the corridor (and
 * recorded), not by the server. */
static void check_args(struct http_request *r, struct access_what *what)
{
	if (http_args_valid(r))
		return;
	what->malformed_code = "invalid_request";
	what->malformed_message =
		"il percorso e i parametri devono essere testo UTF-8 senza caratteri di "
		"controllo";
	what->malformed_query = "(malformed parameters)";
}

static void run(struct http_request *r, const struct access_who *who,
		const struct access_what *what)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	struct app *app = r->app;
	struct access_env env = {
		.s = s, .audit = app->audit, .rl = app->rl, .alerts = app->alerts,
		.rd = app->rd, .metrics = app->metrics, .now = api_now(r), .today = app_today(app),
		.publisher = app->publisher, .print_heading = app->cfg.print_heading,
		.verify_url = app->verify_url,
	};
	/* A PDND call's purpose is the one its voucher's purposeId is mapped
	 * to, whatever the request says, */
	struct access_who w = *who;
	if (r->auth->via_voucher) {
		/* and its end user the one its tracking evidence names, signed */
		w.purpose_id = r->auth->voucher_purpose;
		w.on_behalf_of = r->auth->evidence.user_id;
	}
	struct access_call *c = access_prepare(&env, &w, what);
	if (!c) {
		http_reply_error(r, 503, "service_unavailable",
				 "memoria esaurita: riprovare più tardi");
		return;
	}
	r->handler_ctx = c;
	r->handler_ctx_free = call_free;
	http_defer(r, finish);
}

void api_persons_search(struct http_request *r)
{
	struct access_who who;
	who_from_query(r, &who);
	struct access_what what = {
		.op = ACCESS_SEARCH, .cf = http_query(r, "cf"), .surname = http_query(r, "surname"),
		.name = http_query(r, "name"), .birth_date = http_query(r, "birth_date"),
		.birth_year = http_query(r, "birth_year"), .comune = http_query(r, "comune"),
		.street = http_query(r, "street"),
	};
	check_args(r, &what);
	run(r, &who, &what);
}

static void consult(struct http_request *r, enum access_op op)
{
	struct access_who who;
	who_from_query(r, &who);
	struct access_what what = {.op = op, .cf = r->params[0], .as_of = http_query(r, "as_of")};
	if (op == ACCESS_HOUSEHOLD) {
		what.limit = http_query(r, "limit");
		what.cursor = http_query(r, "cursor");
	}
	check_args(r, &what);
	run(r, &who, &what);
}

void api_person_get(struct http_request *r)
{
	consult(r, ACCESS_PERSON);
}

void api_person_household(struct http_request *r)
{
	consult(r, ACCESS_HOUSEHOLD);
}

void api_person_history(struct http_request *r)
{
	consult(r, ACCESS_HISTORY);
}

void api_person_print(struct http_request *r)
{
	consult(r, ACCESS_PRINT);
}

void api_print_css(struct http_request *r)
{
	r->cacheable = true;
	http_reply_bytes(r, 200, "text/css; charset=utf-8", access_print_css,
			 access_print_css_len);
}

/* The crest beside the printed visura's heading: print_crest, or the
 * neutral emblem. */
void api_print_crest(struct http_request *r)
{
	r->cacheable = true;
	if (r->app->crest)
		http_reply_bytes(r, 200, r->app->crest_type, r->app->crest, r->app->crest_len);
	else
		http_reply_bytes(r, 200, "image/svg+xml", access_print_emblem,
				 access_print_emblem_len);
}

/* POST /api/v1/verify: the purpose, case and break-glass come in the JSON
 * body.  A body that is not a JSON object is a refused attempt, recorded. */
void api_verify(struct http_request *r)
{
	struct access_who who;
	who_from_query(r, &who);
	who.purpose_id = 0;
	who.case_ref = NULL;
	who.break_glass = false;
	who.justification = NULL;
	struct access_what what = {.op = ACCESS_VERIFY};
	check_args(r, &what);
	json_error_t jerr;
	json_t *body = r->body_len ? json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr)
				   : NULL;
	if (!json_is_object(body)) {
		json_decref(body);
		if (!what.malformed_code) {
			what.malformed_code = "invalid_json";
			what.malformed_message = "il corpo della richiesta non è un oggetto JSON valido";
		}
		run(r, &who, &what);
		return;
	}
	r->json = body;
	json_t *pid = json_object_get(body, "purpose");
	json_t *jcase = json_object_get(body, "case_ref"), *jasof = json_object_get(body, "as_of");
	bool typed = !(jcase && !json_is_string(jcase)) && !(jasof && !json_is_string(jasof));
	if (!typed && !what.malformed_code) {
		what.malformed_code = "invalid_request";
		what.malformed_message = "i campi \"case_ref\" e \"as_of\" devono essere testi";
	}
	if (typed) {
		who.purpose_id = json_is_integer(pid) ? json_integer_value(pid) : 0;
		who.case_ref = json_string_value(jcase);
		who.break_glass = json_is_true(json_object_get(body, "break_glass"));
		who.justification = json_string_value(json_object_get(body, "justification"));
	}
	what.cf = json_string_value(json_object_get(body, "codice_fiscale"));
	what.as_of = json_string_value(jasof);
	what.declared = json_object_get(body, "declared");
	run(r, &who, &what);
}

/* GET /api/v1/events?purpose=&after=&limit=: the pull feed of event
 * notifications (access_what.after, .limit). */
void api_events_feed(struct http_request *r)
{
	struct access_who who;
	who_from_query(r, &who);
	struct access_what what = {.op = ACCESS_EVENTS, .after = http_query(r, "after"),
				   .limit = http_query(r, "limit")};
	check_args(r, &what);
	run(r, &who, &what);
}
