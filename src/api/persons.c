/* Handlers of the personal-data services: search, consultation (person,
 * household, history, print), verification of self-declarations, the
 * events feed, and the same services in ANPR's shape (look-up and
 * verification, POST /api/v1/anpr/...).
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
#include "common/str.h"

/* Sends the corridor's answer: called from the audit writer's thread once
 * the record is durable (or at once for a failure of ours). */
static void answered(void *arg, const struct access_answer *a)
{
	struct http_request *r = arg;
	if (a->retry_after > 0 && !a->err) {
		char ra[STR_I64_MAX];
		str_i64(ra, a->retry_after);
		http_header_add(r, "Retry-After", ra);
	}
	if (a->err) {
		http_reply_internal(r, a->err);
	} else if (a->bytes) {
		char id[STR_I64_MAX];
		str_i64(id, a->access_id); /* "%lld" without snprintf's cost */
		http_header_add(r, "X-Visura-Access-Id", id);
		http_header_add(r, "X-Visura-Receipt", a->receipt);
		http_reply_bytes(r, a->status, a->content_type, a->bytes, a->len);
	} else {
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
	if (!v || !*v)
		return 0;
	int64_t id;
	return str_uint(v, STR_UINT18_MAX, &id) && id > 0 ? id : -1;
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
	what->malformed_message = HTTP_ARGS_MESSAGE;
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
	/* A query parameter the route does not take, or given twice: a
	 * malformed request, refused and recorded as one (http_query_refused). */
	struct access_what wh = *what;
	char refusal[HTTP_QUERY_MESSAGE];
	if (!wh.malformed_code && http_query_refused(r, refusal)) {
		wh.malformed_code = "invalid_request";
		wh.malformed_message = refusal;
		wh.malformed_query = "(malformed parameters)";
	}
	if (r->auth->via_voucher) {
		/* and its end user the one its tracking evidence names, signed */
		w.purpose_id = r->auth->voucher_purpose;
		w.on_behalf_of = r->auth->evidence.user_id;
	}
	struct access_call *c = access_prepare(&env, &w, &wh);
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

/* A service with a JSON body: who is asking as the request says (case and
 * break-glass only from the body), and the body, kept on the request.  A
 * body that is not a JSON object is a refused attempt: NULL, the request
 * marked malformed (run() records it). */
static json_t *json_call(struct http_request *r, struct access_who *who, struct access_what *what)
{
	who_from_query(r, who);
	who->case_ref = NULL;
	who->break_glass = false;
	who->justification = NULL;
	check_args(r, what);
	json_error_t jerr;
	json_t *body = r->body_len ? json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr)
				   : NULL;
	if (!json_is_object(body)) {
		json_decref(body);
		if (!what->malformed_code) {
			what->malformed_code = "invalid_json";
			what->malformed_message = "il corpo della richiesta non è un oggetto JSON valido";
		}
		return NULL;
	}
	r->json = body;
	return body;
}

/* POST /api/v1/verify: the purpose, case and break-glass come in the JSON
 * body. */
void api_verify(struct http_request *r)
{
	struct access_who who;
	struct access_what what = {.op = ACCESS_VERIFY};
	json_t *body = json_call(r, &who, &what);
	who.purpose_id = 0;
	if (!body) {
		run(r, &who, &what);
		return;
	}
	static const char *const fields[] = {"codice_fiscale", "declared", "purpose", "case_ref",
					     "as_of", "break_glass", "justification", NULL};
	json_t *pid = json_object_get(body, "purpose");
	json_t *jcase = json_object_get(body, "case_ref"), *jasof = json_object_get(body, "as_of");
	bool typed = !(jcase && !json_is_string(jcase)) && !(jasof && !json_is_string(jasof));
	if (!typed && !what.malformed_code) {
		what.malformed_code = "invalid_request";
		what.malformed_message = "i campi \"case_ref\" e \"as_of\" devono essere testi";
	}
	/* a member it does not know: a refused attempt, recorded as one */
	const char *unknown = api_unknown_member(body, fields);
	/* copied by the corridor before run() returns */
	static _Thread_local char unknown_msg[API_UNKNOWN_MESSAGE];
	if (unknown && !what.malformed_code) {
		what.malformed_code = "invalid_request";
		what.malformed_message = api_unknown_message(unknown_msg, unknown);
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

/* ---- the ANPR-shaped services (access.h, "ANPR-shaped services") ----
 *
 * The request as ANPR's e-services take it: {"idOperazioneClient",
 * "criteriRicerca": {"codiceFiscale"} or {"cognome","nome","sesso"?,
 * "datiNascita":{"dataEvento"}}, "verifica"?: {...}, "datiRichiesta":
 * {"dataRiferimentoRichiesta","motivoRichiesta","casoUso"}}.  Read here
 * into the corridor's who and what; the corridor decides and shapes the
 * answer.  A request that does not fit is a refused attempt, recorded and
 * answered with its anomaly. */

static const char *member(json_t *o, const char *path)
{
	char key[40];
	while (json_is_object(o)) {
		size_t n = strcspn(path, ".");
		if (n >= sizeof key)
			return NULL;
		STR_FMT_KNOWN(key, "%.*s", (int)n, path); /* n < sizeof key, checked above */
		o = json_object_get(o, key);
		if (!path[n])
			return json_string_value(o);
		path += n + 1;
	}
	return NULL;
}

static bool anpr_malformed(struct access_what *what, const char *code, const char *message)
{
	if (!what->malformed_code) {
		what->malformed_code = code;
		what->malformed_message = message;
	}
	return false;
}

/* verifica → the declared facts of POST /api/v1/verify (docs/api.md,
 * "ANPR").  False (the request refused) for a field it does not know or
 * a value of another shape. */
static bool anpr_declared(json_t *v, json_t *declared, struct access_what *what)
{
	/* each ANPR code checked as itself: "1" (never married) is not
	 * matched by a divorced person */
	static const char *const civil[][2] = {{"1", "never_married"}, {"2", "married"},
		{"3", "widowed"}, {"4", "divorced"}, {"6", "civil_union"},
		{"7", "civil_union_partner_died"}, {"8", "civil_union_dissolved"}};
	const char *bad = "\"verifica\" contiene un campo che visura non verifica, o un valore "
			  "di forma diversa (docs/api.md, \"ANPR\")";
	if (!json_is_object(v) || !json_object_size(v))
		return anpr_malformed(what, "invalid_request", bad);
	const char *key;
	json_t *f;
	json_object_foreach(v, key, f) {
		const char *sv = json_string_value(f);
		if (!strcmp(key, "cognome") && sv)
			json_object_set_new(declared, "surname", json_string(sv));
		else if (!strcmp(key, "nome") && sv)
			json_object_set_new(declared, "name", json_string(sv));
		else if (!strcmp(key, "sesso") && sv)
			json_object_set_new(declared, "sex", json_string(sv));
		else if (!strcmp(key, "datiNascita") && json_is_object(f)) {
			const char *d = member(f, "dataEvento");
			const char *c = member(f, "luogoNascita.comune.codiceIstat");
			const char *st = member(f, "luogoNascita.localita.codiceStato");
			if (!d && !c && !st)
				return anpr_malformed(what, "invalid_request", bad);
			if (d)
				json_object_set_new(declared, "birth_date", json_string(d));
			if (c || st)
				json_object_set_new(declared, "birth_place", json_string(c ? c : st));
		} else if (!strcmp(key, "residenza") && json_is_object(f)) {
			const char *c = member(f, "indirizzo.comune.codiceIstat");
			const char *t = member(f, "indirizzo.toponimo.denominazioneToponimo");
			const char *n = member(f, "indirizzo.numeroCivico.numero");
			int64_t civic = 0; /* digits only: strtol alone took " 10", "+10" */
			if (!c || !t || (n && (!str_uint(n, 1000000, &civic) || civic < 1)))
				return anpr_malformed(what, "invalid_request", bad);
			json_t *res = json_pack("{s:s,s:s}", "comune", c, "street", t);
			if (n)
				json_object_set_new(res, "civic", json_integer(civic));
			json_object_set_new(declared, "residence", res);
		} else if (!strcmp(key, "cittadinanza") && member(f, "codiceStato"))
			json_object_set_new(declared, "citizenship",
					    json_string(member(f, "codiceStato")));
		else if (!strcmp(key, "statoCivile") && sv) {
			size_t i = 0;
			while (i < sizeof civil / sizeof *civil && strcmp(civil[i][0], sv))
				i++;
			if (i == sizeof civil / sizeof *civil)
				return anpr_malformed(what, "invalid_request", bad);
			json_object_set_new(declared, "civil_status", json_string(civil[i][1]));
		} else if (!strcmp(key, "esistenzaInVita") && sv && (!strcmp(sv, "S") || !strcmp(sv, "N")))
			json_object_set_new(declared, "alive", json_boolean(sv[0] == 'S'));
		else if (!strcmp(key, "componentiFamiglia") && json_is_array(f))
			json_object_set(declared, "household", f);
		else if (!strcmp(key, "genitori") && json_is_object(f) &&
			 (member(f, "codiceFiscalePadre") || member(f, "codiceFiscaleMadre"))) {
			if (member(f, "codiceFiscalePadre"))
				json_object_set_new(declared, "father",
						    json_string(member(f, "codiceFiscalePadre")));
			if (member(f, "codiceFiscaleMadre"))
				json_object_set_new(declared, "mother",
						    json_string(member(f, "codiceFiscaleMadre")));
		} else
			return anpr_malformed(what, "invalid_request", bad);
	}
	return true;
}

static void anpr_service(struct http_request *r, bool verify)
{
	struct access_who who;
	struct access_anpr anpr = {0};
	struct access_what what = {.op = verify ? ACCESS_VERIFY : ACCESS_PERSON, .anpr = &anpr};
	json_t *body = json_call(r, &who, &what);
	if (!body) {
		run(r, &who, &what);
		return;
	}
	json_t *declared = json_object(); /* borrowed by the corridor until run() returns */
	json_t *crit = json_object_get(body, "criteriRicerca");
	anpr.id_client = json_string_value(json_object_get(body, "idOperazioneClient"));
	anpr.caso_uso = member(body, "datiRichiesta.casoUso");
	what.as_of = member(body, "datiRichiesta.dataRiferimentoRichiesta");
	who.case_ref = member(body, "datiRichiesta.motivoRichiesta");
	what.cf = member(crit, "codiceFiscale");
	json_t *vf = json_object_get(body, "verifica");
	/* What visura does not know is refused, not ignored: a criterion it
	 * would leave out could widen or change the answer. */
	static const char *const top[] = {"idOperazioneClient", "criteriRicerca", "datiRichiesta",
					  "verifica", NULL};
	static const char *const crits[] = {"codiceFiscale", "cognome", "nome", "sesso",
					    "datiNascita", NULL};
	static const char *const birth[] = {"dataEvento", NULL};
	static const char *const req[] = {"dataRiferimentoRichiesta", "motivoRichiesta", "casoUso",
					  NULL};
	const char *unknown = api_unknown_member(body, top);
	if (!unknown)
		unknown = api_unknown_member(crit, crits);
	if (!unknown)
		unknown = api_unknown_member(json_object_get(crit, "datiNascita"), birth);
	if (!unknown)
		unknown = api_unknown_member(json_object_get(body, "datiRichiesta"), req);
	char why[160];
	if (unknown) {
		char shown[64];
		/* api_member_shown's 60 bytes + 80 */
		STR_FMT_KNOWN(why,
			      "il campo \"%s\" non è tra quelli che visura accetta "
			      "(docs/pdnd.md, punto 7)",
			      api_member_shown(shown, unknown));
		anpr_malformed(&what, "invalid_request", why);
	} else if (!json_is_object(crit) || !who.case_ref || !*who.case_ref)
		anpr_malformed(&what, "invalid_request",
			       "servono \"criteriRicerca\" e \"datiRichiesta.motivoRichiesta\"");
	else if (verify ? !what.cf || !anpr_declared(vf, declared, &what) : vf != NULL)
		anpr_malformed(&what, "invalid_request", verify
			? "la verifica richiede \"criteriRicerca.codiceFiscale\" e \"verifica\""
			: "la ricerca non accetta \"verifica\"");
	else if (!verify && !what.cf) {
		what.op = ACCESS_SEARCH;
		what.surname = member(crit, "cognome");
		what.name = member(crit, "nome");
		what.birth_date = member(crit, "datiNascita.dataEvento");
		anpr.sex = member(crit, "sesso");
		if (anpr.sex && strcmp(anpr.sex, "M") && strcmp(anpr.sex, "F"))
			anpr_malformed(&what, "invalid_request", "\"sesso\" deve essere M o F");
	}
	what.declared = declared;
	run(r, &who, &what);
	json_decref(declared);
}

/* POST /api/v1/anpr/ricerca: a look-up by codice fiscale or by surname,
 * name and birth date (ANPR C015-C032) */
void api_anpr_lookup(struct http_request *r)
{
	anpr_service(r, false);
}

/* POST /api/v1/anpr/verifica: declared facts, true or false (ANPR C003-C012) */
void api_anpr_verify(struct http_request *r)
{
	anpr_service(r, true);
}
