/* The corridor of access.h: grant → workstation certificate → verify-only →
 * break-glass → limits → query → alerts → record → receipt → answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "access/access.h"
#include "access/anpr.h"
#include "cf/cf.h"
#include "alert/alert.h"
#include "audit/audit.h"
#include "audit/subjects.h"
#include "auth/auth.h"
#include "auth/hours.h"
#include "common/date.h"
#include "common/jsonw.h"
#include "common/str.h"
#include "common/text.h"
#include "metrics/metrics.h"
#include "notify/notify.h"
#include "policy/policy.h"
#include "policy/ratelimit.h"
#include "query/query.h"
#include "witness/publish.h"

/* Where a call stands once access_prepare() returns. */
enum stage {
	STAGE_OPEN,       /* still walking the corridor */
	STAGE_RECORD,     /* the outcome is decided: the record is to be written */
	STAGE_FAILED,     /* a failure of ours: no record, 500 */
};

struct access_call {
	struct access_env env;
	struct store_account account;
	enum access_op op;
	enum stage stage;
	struct policy_grant grant;
	struct store_access rec;
	struct subjects subjects;  /* the persons of the answer: rec.subjects is its text */
	bool break_glass;
	bool suspended;          /* the alert rules suspended the account now */
	char justification[301];
	char query_cf[17];
	char ente_name[201];     /* the printable page's body */
	int64_t retry_after;
	/* the answer that leaves once the record is durable */
	int status;
	json_t *body;            /* success: the data */
	/* or, for a search (not ANPR-shaped), the data already written as
	 * JSON text: its object open, completed in recorded() */
	struct strbuf out_sb;
	struct jsonw out;
	bool streamed;
	const char *code;        /* refusal: error code and message */
	char message[200];
	struct vis_error err;    /* STAGE_FAILED, or the record's failure */
	char *bytes;             /* the answer's bytes, built in the writer's callback */
	char *sealed;            /* the printed visura with its seal (what leaves) */
	size_t sealed_len;
	char receipt[AUDIT_RECEIPT_MAX];
	/* an ANPR-shaped service (access.h): its answer's shape and the
	 * client's operation id (echoed) and use case, each once well-formed */
	bool anpr;
	char anpr_id[65];
	char caso_uso[17];
	access_done_fn done;
	void *done_arg;
};

static const char *const op_names[] = {
	[ACCESS_SEARCH] = "search", [ACCESS_PERSON] = "consult",
	[ACCESS_HOUSEHOLD] = "household", [ACCESS_HISTORY] = "history",
	[ACCESS_PRINT] = "print", [ACCESS_VERIFY] = "verify", [ACCESS_EVENTS] = "events",
};

static int64_t now_ms(const struct access_call *c)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	/* The test clock shifts whole seconds; keep the milliseconds. */
	return c->env.now * 1000 + tv.tv_usec / 1000;
}

static void fail(struct access_call *c, const struct vis_error *e)
{
	c->err = *e;
	if (!c->err.code)
		vis_error_set(&c->err, VIS_ERR_STORE, "corridor");
	c->stage = STAGE_FAILED;
}

/* The trail holds text only: a control character that slipped into a
 * refused request is replaced, so records stay one line and unambiguous. */
static void clean(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* Feeds the anti-extraction rules; past the hard threshold the account is
 * suspended at once (the answer then carries no data). */
static void observe(struct access_call *c, const char *outcome)
{
	struct alert_obs o = {
		.account = &c->account, .ip = c->rec.ip, .operation = c->rec.operation,
		.outcome = outcome, .message = c->message,
		.subjects = c->rec.subjects, .case_ref = c->rec.case_ref,
		.query_cf = c->query_cf, .break_glass = c->break_glass,
		.justification = c->justification,
	};
	if (!c->env.alerts || !alert_observe(c->env.alerts, c->env.s, c->env.now, &o))
		return;
	struct vis_error e = {0};
	auth_account_disable(c->env.s, &c->account, AUTH_REASON_SUSPENDED_BY_ALERT, c->env.now, &e);
	auth_event(c->env.s, c->env.now, "account_suspended", &c->account, NULL, c->rec.ip,
		   "sospesa per una segnalazione");
	if (c->body || c->streamed) {
		json_decref(c->body);
		c->body = NULL;
		strbuf_release(&c->out_sb);
		c->streamed = false;
		c->suspended = true;
	}
}

/* Decides the outcome: the record to write, and the answer once it is. */
static void record(struct access_call *c, const char *outcome, int status)
{
	clean(c->rec.case_ref);
	clean(c->rec.on_behalf_of);
	clean(c->rec.query);
	/* Only an answer names persons; a refusal names none. */
	if (!c->body && !c->streamed)
		subjects_release(&c->subjects);
	c->rec.subjects = subjects_text(&c->subjects);
	observe(c, outcome);
	if (c->suspended) {
		/* This request crossed the hard threshold: no data leaves. */
		outcome = "refused:account_suspended";
		status = 403;
		c->code = "account_suspended";
		STR_COPY_KNOWN(c->message,
			       "l'utenza è sospesa in attesa della verifica dell'ufficio anagrafe");
		subjects_release(&c->subjects);
		c->rec.subjects = subjects_text(&c->subjects);
	}
	STR_COPY_KNOWN(c->rec.outcome, outcome); /* "refused:" + a short code, or a word */
	c->rec.status = status;
	c->status = status;
	c->rec.at = now_ms(c);
	c->stage = STAGE_RECORD;
}

static void refuse(struct access_call *c, int status, const char *code, const char *message)
{
	char outcome[64];
	STR_FMT_KNOWN(outcome, "refused:%s", code); /* a code constant of the corridor */
	c->code = code;
	STR_COPY_KNOWN(c->message, message); /* the constant messages of the corridor */
	record(c, outcome, status);
}

/* A limit's key, "<prefix><id>" as "%s%lld" wrote it (the shared
 * counters of a running cluster keep their keys), without snprintf: six
 * keys an answer cost ~9,000 instructions through glibc's
 * printf_positional (docs/performance.md).  Every prefix and id fit. */
_Static_assert(sizeof "purpose:" - 1 + STR_I64_MAX <= sizeof((struct rl_rule *)0)->key,
	       "a limit's key holds its longest prefix and any id");
static void rule_key(struct rl_rule *r, const char *prefix, int64_t id)
{
	size_t n = strlen(prefix); /* "op:", "body:" or "purpose:" */
	memcpy(r->key, prefix, n);
	str_i64(r->key + n, id);
}

/* Counts the request against the agreement's limits (operator, body,
 * purpose; per minute and per day) unless this is a break-glass request. */
static bool within_limits(struct access_call *c)
{
	const struct store_convenzione *cv = &c->grant.conv;
	struct rl_rule rules[6];
	int64_t acc = c->account.id;
	rule_key(&rules[0], "op:", acc);
	rule_key(&rules[1], "op:", acc);
	rule_key(&rules[2], "body:", cv->id);
	rule_key(&rules[3], "body:", cv->id);
	rule_key(&rules[4], "purpose:", c->grant.purpose.id);
	rule_key(&rules[5], "purpose:", c->grant.purpose.id);
	const int lim[6] = {cv->per_minute, cv->per_day, cv->body_per_minute, cv->body_per_day,
			    cv->purpose_per_minute, cv->purpose_per_day};
	for (int i = 0; i < 6; i++) {
		rules[i].limit = lim[i];
		rules[i].window = i % 2 ? 86400 : 60;
	}
	if (c->break_glass)
		return true;
	struct vis_error e = {0};
	int took = ratelimit_take(c->env.rl, store_shared(c->env.s) ? c->env.s : NULL, rules, 6,
				  c->env.now, &c->retry_after, &e);
	if (took > 0)
		return true;
	if (took < 0) {
		fail(c, &e);
		return false;
	}
	if (c->env.metrics)
		metrics_rate_limited(c->env.metrics);
	refuse(c, 429, "rate_limited",
	       "troppe richieste per i limiti della convenzione: attendere prima di riprovare");
	return false;
}

/* The agreement requires a workstation certificate: one issued by the
 * municipality's CA to this body, not revoked, not expired. */
static bool workstation_ok(struct access_call *c)
{
	struct store_workstation w;
	bool found = false;
	struct vis_error e = {0};
	if (!c->rec.workstation[0]) {
		refuse(c, 403, "workstation_certificate_required",
		       "questa convenzione richiede un certificato di postazione rilasciato dal comune");
		return false;
	}
	if (store_workstation_by_serial(c->env.s, c->rec.workstation, &w, &found, &e)) {
		fail(c, &e); /* a store that cannot answer is not an unknown certificate */
		return false;
	}
	if (!found || w.ente_id != c->account.ente_id) {
		refuse(c, 403, "workstation_certificate_unknown",
		       "il certificato di postazione non è registrato per questo ente");
		return false;
	}
	if (w.revoked_at || w.expires_at <= c->env.now) {
		refuse(c, 403, "workstation_certificate_revoked",
		       "il certificato di postazione è revocato o scaduto");
		return false;
	}
	return true;
}

/* Fills the record's who/why; refuses a malformed request.  False once
 * the outcome is decided. */
static bool corridor_start(struct access_call *c, const struct access_who *who,
			   const struct access_what *what)
{
	const struct store_account *a = who->account;
	struct store_access *rec = &c->rec;
	rec->account_id = a->id;
	STR_COPY_KNOWN(rec->username, a->username); /* the same size */
	rec->ente_id = a->ente_id;
	rec->purpose_id = who->purpose_id;
	/* A case_ref that does not fit is refused below; the refusal is
	 * recorded without it (str_copy leaves it empty). */
	if (!STR_COPY(rec->case_ref, who->case_ref ? who->case_ref : ""))
		rec->case_ref[0] = '\0';
	STR_COPY_KNOWN(rec->ip, who->ip ? who->ip : "");          /* at most 63 bytes */
	STR_COPY_KNOWN(rec->operation, op_names[what->op]);      /* the constants above */
	if (what->malformed_code) {
		STR_COPY_KNOWN(rec->query, what->malformed_query ? what->malformed_query : "");
		rec->case_ref[0] = '\0';
		refuse(c, 400, what->malformed_code, what->malformed_message);
		return false;
	}
	return true;
}

/* printable ASCII of 1..max bytes, from `set` when given */
static bool token_ok(const char *v, size_t max, const char *set)
{
	size_t n = v ? strlen(v) : 0;
	if (!n || n > max)
		return false;
	for (const char *p = v; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || (set && !strchr(set, *p)))
			return false;
	return true;
}

/* The ANPR request's operation id and use case: kept for the answer and
 * the record once they are well-formed. */
static bool anpr_fields(struct access_call *c, const struct access_anpr *a)
{
	static const char use_case[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	/* the operation id was checked, and kept, by access_prepare */
	if (!c->anpr_id[0] || !token_ok(a->caso_uso, sizeof c->caso_uso - 1, use_case)) {
		refuse(c, 400, "invalid_request",
		       "servono \"idOperazioneClient\" (da 1 a 64 caratteri stampabili) e "
		       "\"casoUso\" (da 1 a 16 lettere, cifre, '-' o '_')");
		return false;
	}
	STR_COPY_KNOWN(c->caso_uso, a->caso_uso); /* its length checked above */
	return true;
}

static bool corridor_open(struct access_call *c, const struct access_who *who,
			  const struct access_what *what)
{
	if (!corridor_start(c, who, what))
		return false;
	if (what->anpr && !anpr_fields(c, what->anpr))
		return false;
	/* Personal data leaves only while the trail's heads leave the
	 * machine: a trail nobody outside can hold to account is refused. */
	bool late;
	publish_problem(c->env.publisher, &late);
	if (late) {
		refuse(c, 503, "trail_unpublished",
		       "registro degli accessi non pubblicato oltre il tempo di tolleranza "
		       "(testimoni o file delle teste): dati personali non disponibili");
		return false;
	}
	struct store_access *rec = &c->rec;
	const char *case_ref = who->case_ref;
	/* An API client acts for a person of its body, who must be named. */
	if (who->via_token) {
		const char *u = who->on_behalf_of;
		if (!u || !*u || strlen(u) >= sizeof rec->on_behalf_of || !utf8_valid(u, strlen(u))) {
			refuse(c, 400, "on_behalf_of_required",
			       "i client API devono indicare l'utente finale in X-Visura-On-Behalf-Of");
			return false;
		}
		STR_COPY_KNOWN(rec->on_behalf_of, u); /* its length was checked above */
	}
	uint32_t bidi;
	if (case_ref && text_bidi_find(case_ref, strlen(case_ref), &bidi)) {
		char msg[200];
		snprintf(msg, sizeof msg,
			 "il campo \"case_ref\" contiene il controllo di direzione "
			 "U+%04X (testo mostrato in un ordine diverso da quello scritto)",
			 (unsigned)bidi);
		refuse(c, 400, "invalid_request", msg);
		return false;
	}
	if (case_ref && (strlen(case_ref) > 100 || !utf8_valid(case_ref, strlen(case_ref)))) {
		refuse(c, 400, "invalid_request",
		       "il campo \"case_ref\" deve essere un testo di al massimo 100 byte");
		return false;
	}
	struct policy_refusal why;
	struct vis_error e = {0};
	if (!policy_grant_for(c->env.s, &c->account, who->purpose_id, c->env.today, &c->grant,
			      &why, &e)) {
		if (why.status >= 500) {
			fail(c, &e);
			return false;
		}
		refuse(c, why.status, why.code, why.message);
		return false;
	}
	rec->convenzione_id = c->grant.conv.id;
	STR_COPY_KNOWN(rec->workstation, who->workstation ? who->workstation : ""); /* 40 at most */
	if (c->grant.conv.workstation_cert && !workstation_ok(c))
		return false;
	_Static_assert(sizeof rec->categories >= POLICY_CATEGORIES_TEXT_MAX,
		       "an access record holds every category's name");
	policy_categories_format(c->grant.categories, rec->categories, sizeof rec->categories);
	/* Every operation of the corridor but "verify" answers with the
	 * register's data (persons, households, histories, pages, events):
	 * deny by default what a verify_only agreement may not read. */
	if (c->grant.verify_only && what->op != ACCESS_VERIFY) {
		refuse(c, 403, "mode_verify_only",
		       "la convenzione consente solo la verifica di fatti dichiarati");
		return false;
	}
	/* Break-glass: an urgent request beyond the normal limits, with a
	 * written justification, flagged in the record and alerted at once. */
	if (who->break_glass) {
		const char *j = who->justification;
		if (!c->grant.conv.break_glass) {
			refuse(c, 403, "break_glass_not_allowed",
			       "la convenzione non consente l'accesso urgente oltre i suoi limiti");
			return false;
		}
		if (!j || strlen(j) < 20 || strlen(j) > 300 || !utf8_valid(j, strlen(j))) {
			refuse(c, 400, "justification_required",
			       "l'accesso urgente (break-glass) richiede una motivazione scritta da 20 a 300 "
			       "caratteri");
			return false;
		}
		c->break_glass = true;
		STR_COPY_KNOWN(c->justification, j); /* at most 300, checked above */
		snprintf(rec->flags, sizeof rec->flags, "break_glass");
	}
	return within_limits(c);
}

/* A query's outcome becomes the call's. */
static void corridor_close(struct access_call *c, struct query_ctx *q, enum query_status st)
{
	switch (st) {
	case QUERY_OK:
		c->body = q->body;
		c->streamed = q->out != NULL;
		record(c, "ok", 200);
		return;
	case QUERY_NOT_FOUND:
		c->code = "not_found";
		STR_COPY_KNOWN(c->message, "nessuna persona trovata nei comuni della convenzione");
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
		fail(c, &q->err);
		return;
	}
}

struct coverage {
	const struct policy_grant *grant;
	int from;                /* the latest first import of a covered municipality */
};

static int covered_span(void *ctx, const char *comune, int64_t first, int64_t last)
{
	(void)last;
	struct coverage *cv = ctx;
	int d = date_from_days(first / 86400);
	if (policy_covers(cv->grant, comune) && d > cv->from)
		cv->from = d;
	return 0;
}

/* dataRiferimentoRichiesta: required, and within what the register
 * covers for the agreement's municipalities (their first imports to today). */
static bool reference_date(struct access_call *c, const char *v, int *out)
{
	if (!v || !date_parse(v, strlen(v), out)) {
		refuse(c, 400, "reference_date_invalid",
		       "\"dataRiferimentoRichiesta\" deve essere una data AAAA-MM-GG");
		return false;
	}
	struct coverage cv = {&c->grant, 0};
	struct vis_error e = {0};
	if (store_import_span_each(c->env.s, covered_span, &cv, &e)) {
		fail(c, &e);
		return false;
	}
	if (!cv.from || *out < cv.from || *out > c->env.today) {
		refuse(c, 400, "reference_date_uncovered",
		       "\"dataRiferimentoRichiesta\" è fuori dal periodo coperto dall'anagrafe");
		return false;
	}
	return true;
}

static bool as_of_param(struct access_call *c, const char *v, int *out)
{
	*out = 0;
	if (c->anpr)
		return reference_date(c, v, out);
	if (!v || !*v)
		return true;
	if (!date_parse(v, strlen(v), out)) {
		refuse(c, 400, "invalid_request",
		       "il campo \"as_of\" deve essere una data AAAA-MM-GG");
		return false;
	}
	return true;
}

static void query_start(struct query_ctx *q, struct access_call *c, int as_of)
{
	memset(q, 0, sizeof *q);
	q->s = c->env.s;
	q->rd = c->env.rd;
	q->grant = &c->grant;
	q->as_of = as_of;
	q->subjects = &c->subjects;
}

/* A request's parameters as the record keeps them, "key=value" apart by
 * spaces, each value cut at its width (printf's "%.<width>s", NULL as ""):
 * written by hand, snprintf cost ~3,700 instructions an answer through
 * glibc's printf_positional (docs/performance.md).  The callers' keys and
 * widths fit the record's query (asserted where they are listed); a
 * parameter that would not fit ends the text before it, never cut. */
struct query_param {
	const char *key;
	const char *value;
	size_t width;
};

static void query_text(char *out, size_t cap, const struct query_param *p, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		const char *v = p[i].value ? p[i].value : "";
		size_t sep = i > 0, k = strlen(p[i].key), w = strnlen(v, p[i].width);
		if (sep + k + 1 + w >= cap - len)
			break;
		if (sep)
			out[len] = ' ';
		memcpy(out + len + sep, p[i].key, k);
		out[len + sep + k] = '=';
		memcpy(out + len + sep + k + 1, v, w);
		len += sep + k + 1 + w;
	}
	out[len] = '\0';
}

/* The normalised query parameters of a consultation, for the record. */
_Static_assert(sizeof "cf= as_of=" + 16 + 10 <= sizeof((struct store_access *)0)->query,
	       "a consultation's parameters fit the record's query");
static void note_query(struct access_call *c, const char *cf, const char *as_of)
{
	const struct query_param p[] = {{"cf", cf, 16}, {"as_of", as_of, 10}};
	query_text(c->rec.query, sizeof c->rec.query, p, 2);
}

/* An ANPR look-up by name: the search must find exactly one person (exact
 * names, the sex when given), who is then read as of the reference date;
 * the record names that person only. */
static void search_one(struct access_call *c, struct query_ctx *q, const struct query_search *p,
		       const struct access_what *w)
{
	int as_of;
	if (!p->birth_date) {
		refuse(c, 400, "invalid_request",
		       "la ricerca per nome richiede \"cognome\", \"nome\" e "
		       "\"datiNascita.dataEvento\"");
		return;
	}
	if (!as_of_param(c, w->as_of, &as_of))
		return;
	enum query_status st = query_search(q, p);
	if (st != QUERY_OK) {
		corridor_close(c, q, st);
		return;
	}
	char cf[CF_LEN + 1] = "";
	int n = 0;
	size_t i;
	json_t *row;
	json_array_foreach(json_object_get(q->body, "results"), i, row) {
		json_t *id = json_object_get(row, "identity");
		const char *sex = json_string_value(json_object_get(id, "sex"));
		const char *code = json_string_value(json_object_get(id, "codice_fiscale"));
		if (!code || (w->anpr->sex && (!sex || strcmp(sex, w->anpr->sex))))
			continue;
		n++;
		STR_FMT_KNOWN(cf, "%.16s", code); /* its precision bounds it */
	}
	bool approximate = json_is_true(json_object_get(q->body, "approximate"));
	json_decref(q->body);
	q->body = NULL;
	subjects_release(&c->subjects); /* nothing of the search leaves */
	if (approximate || !n) {
		corridor_close(c, q, QUERY_NOT_FOUND);
		return;
	}
	if (n > 1) {
		c->code = "several_results";
		STR_COPY_KNOWN(c->message, "i criteri individuano più di una persona");
		record(c, "several_results", 422);
		return;
	}
	STR_COPY_KNOWN(c->query_cf, cf); /* the same size */
	q->as_of = as_of;
	corridor_close(c, q, query_person(q, cf));
}

static void run_search(struct access_call *c, const struct access_what *w)
{
	struct query_search p = {0};
	const char *cf = w->cf, *surname = w->surname, *name = w->name, *bd = w->birth_date;
	const char *by = w->birth_year, *comune = w->comune;
	char typed[CF_LEN + 1];
	bool cf_ok = cf && *cf && cf_normalize(cf, typed);
	if (cf_ok)
		cf = typed;
	const struct query_param qp[] = {{"cf", cf, 16}, {"surname", surname, 100},
					 {"name", name, 100}, {"birth_date", bd, 10},
					 {"birth_year", by, 4}, {"comune", comune, 6}};
	_Static_assert(sizeof "cf= surname= name= birth_date= birth_year= comune=" + 16 + 100 +
			       100 + 10 + 4 + 6 <= sizeof c->rec.query,
		       "a search's parameters fit the record's query");
	query_text(c->rec.query, sizeof c->rec.query, qp, 6);
	if (w->street) {
		refuse(c, 400, "invalid_request",
		       "nessuna ricerca per indirizzo: gli elenchi di persone si chiedono con una "
		       "richiesta formale all'ufficio anagrafe");
		return;
	}
	if (cf && *cf) {
		if (!cf_ok) {
			refuse(c, 400, "invalid_request", CF_TYPED_RULE("cf"));
			return;
		}
		STR_COPY_KNOWN(p.cf, cf); /* 16 characters, normalised above */
		STR_COPY_KNOWN(c->query_cf, cf);
	} else {
		if (!surname || !name || strlen(surname) > 100 || strlen(name) > 100) {
			refuse(c, 400, "invalid_request",
			       "cercare per \"cf\", oppure per \"surname\" e \"name\" con "
			       "\"birth_date\", \"birth_year\" o \"comune\"");
			return;
		}
		STR_COPY_KNOWN(p.surname, surname); /* at most 100, checked above */
		STR_COPY_KNOWN(p.name, name);
		if (bd && *bd && !date_parse(bd, strlen(bd), &p.birth_date)) {
			refuse(c, 400, "invalid_request",
			       "il campo \"birth_date\" deve essere una data AAAA-MM-GG");
			return;
		}
		if (by && *by) {
			int64_t y;
			if (!str_digits(by, 4) || !str_uint(by, 2999, &y) || y < 1800) {
				refuse(c, 400, "invalid_request",
				       "il campo \"birth_year\" deve essere un anno AAAA");
				return;
			}
			p.birth_year = (int)y;
		}
		if (comune && *comune) {
			if (!str_digits(comune, 6)) {
				refuse(c, 400, "invalid_request",
				       "il campo \"comune\" deve essere un codice ISTAT di 6 "
				       "cifre");
				return;
			}
			STR_COPY_KNOWN(p.comune, comune); /* 6 digits, checked above */
		}
	}
	struct query_ctx q;
	query_start(&q, c, 0);
	if (c->anpr) {
		search_one(c, &q, &p, w);
	} else {
		/* the answer streamed as JSON text: no tree built and dumped */
		jsonw_init(&c->out, &c->out_sb, JSONW_ASCII);
		q.out = &c->out;
		corridor_close(c, &q, query_search(&q, &p));
	}
}

static void run_consult(struct access_call *c, const struct access_what *w)
{
	/* A code as typed is normalised; anything else goes on as given, and the
	 * query refuses it as not a codice fiscale. */
	char typed[CF_LEN + 1];
	const char *cf = w->cf ? w->cf : "";
	if (cf_normalize(cf, typed))
		cf = typed;
	note_query(c, cf, w->as_of);
	size_t cf_len = strnlen(cf, sizeof c->query_cf - 1); /* "%.16s" without snprintf */
	memcpy(c->query_cf, cf, cf_len);
	c->query_cf[cf_len] = '\0';
	int as_of;
	if (!as_of_param(c, w->as_of, &as_of))
		return;
	struct query_ctx q;
	query_start(&q, c, as_of);
	enum query_status st;
	struct query_page pg = {0, w->cursor};
	if (c->op == ACCESS_HOUSEHOLD) {
		size_t len = strlen(c->rec.query);
		/* query ≤ 36 bytes (note_query), + 61 */
		STR_FMT_KNOWN_CAP(c->rec.query + len, sizeof c->rec.query - len,
				  " limit=%.6s cursor=%.40s", w->limit ? w->limit : "",
				  w->cursor ? w->cursor : "");
		if (w->limit && *w->limit) {
			int64_t n; /* digits only: strtol alone took " 5" and "+5" */
			if (!str_uint(w->limit, QUERY_MEMBERS_MAX, &n) || n < 1) {
				refuse(c, 400, "invalid_request",
				       "il campo \"limit\" deve essere da 1 a 1000 componenti");
				return;
			}
			pg.limit = (int)n;
		}
	}
	switch (c->op) {
	case ACCESS_HOUSEHOLD: st = query_household(&q, cf, &pg); break;
	case ACCESS_HISTORY: st = query_history(&q, cf); break;
	default: st = query_person(&q, cf); break;
	}
	corridor_close(c, &q, st);
}

static void run_verify(struct access_call *c, const struct access_what *w)
{
	char typed[CF_LEN + 1];
	const char *cf = w->cf;
	bool cf_ok = cf && cf_normalize(cf, typed);
	if (cf_ok)
		cf = typed;
	note_query(c, cf, w->as_of);
	int as_of;
	if (!as_of_param(c, w->as_of, &as_of))
		return;
	if (!cf_ok) {
		refuse(c, 400, "invalid_request", CF_TYPED_RULE("codice_fiscale"));
		return;
	}
	/* The facts checked are part of the record; their values are not. */
	if (json_is_object(w->declared)) {
		size_t len = strlen(c->rec.query);
		const char *key;
		json_t *v;
		json_object_foreach(w->declared, key, v) {
			int n = snprintf(c->rec.query + len, sizeof c->rec.query - len, " %s", key);
			if (n < 0 || (size_t)n >= sizeof c->rec.query - len)
				break;
			len += (size_t)n;
		}
	}
	struct query_ctx q;
	query_start(&q, c, as_of);
	enum query_status st = query_verify(&q, cf, w->declared);
	if (st == QUERY_OK && c->anpr) {
		/* One outcome for all the facts: a fact outside the profile
		 * refuses the verification. */
		const char *key;
		json_t *v;
		json_object_foreach(json_object_get(q.body, "facts"), key, v)
			if (!strcmp(json_string_value(v), "not_permitted"))
				st = QUERY_NOT_PERMITTED;
		if (st == QUERY_NOT_PERMITTED) {
			json_decref(q.body);
			q.body = NULL;
			q.message = "un dato dichiarato è fuori dal profilo della convenzione";
		}
	}
	corridor_close(c, &q, st);
}

/* ---- the pull feed of event notifications ---- */

struct feed_ctx {
	struct access_call *c;
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

/* The events of the agreement's municipalities and subscribed types, after
 * a cursor, in order.  The client keeps the last cursor it processed:
 * delivery is at least once. */
static void run_events(struct access_call *c, const struct access_what *w)
{
	const char *after_s = w->after, *limit_s = w->limit;
	const struct query_param qp[] = {{"after", after_s, 20}, {"limit", limit_s, 6}};
	query_text(c->rec.query, sizeof c->rec.query, qp, 2);
	/* each, when given, digits only (strtol alone took "5abc", " 5", "+5") */
	int64_t after = 0, limit = 100;
	if ((after_s && !str_uint(after_s, STR_UINT18_MAX, &after)) ||
	    (limit_s && !str_uint(limit_s, 1000, &limit)) || limit < 1) {
		refuse(c, 400, "invalid_request",
		       "il campo \"after\" è un cursore, \"limit\" da 1 a 1000");
		return;
	}
	if (!c->grant.conv.event_types[0]) {
		refuse(c, 403, "not_subscribed",
		       "la convenzione non è abbonata ad alcun tipo di evento");
		return;
	}
	struct query_ctx q;
	query_start(&q, c, 0);
	struct feed_ctx f = {c, &q, json_array(), after};
	if (store_events_after(c->env.s, after, c->grant.conv.comuni, c->grant.conv.event_types,
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

/* The ANPR shape of a decided call (access.h): the person as
 * listaSoggetti, or the verification's one outcome (run_verify refused a
 * fact outside the profile); the client's operation id and use case go
 * into the record's query. */
static void anpr_shape(struct access_call *c)
{
	if (c->anpr_id[0] || c->caso_uso[0]) {
		size_t len = strlen(c->rec.query);
		/* the search's query (≤ 286, its _Static_assert) + 112 bytes */
		STR_FMT_KNOWN_CAP(c->rec.query + len, sizeof c->rec.query - len,
				  " id_operazione_client=%s caso_uso=%s", c->anpr_id, c->caso_uso);
	}
	if (c->stage != STAGE_RECORD || !c->body)
		return;
	json_t *soggetto;
	if (c->op == ACCESS_VERIFY) {
		bool holds = true;
		const char *key;
		json_t *v;
		json_object_foreach(json_object_get(c->body, "facts"), key, v)
			holds = holds && !strcmp(json_string_value(v), "match");
		soggetto = json_pack("{s:[{s:s,s:s,s:s}]}", "infoSoggettoEnte", "id", "1", "chiave",
				     "verificaDatiDichiarati", "valore", holds ? "S" : "N");
	} else {
		soggetto = access_anpr_subject(json_object_get(c->body, "person"));
	}
	json_decref(c->body);
	c->body = json_pack("{s:{s:[o]}}", "listaSoggetti", "datiSoggetto", soggetto);
	if (!c->body) {
		struct vis_error e = {0};
		vis_error_set(&e, VIS_ERR_NOMEM, "memoria esaurita");
		fail(c, &e);
	}
}

struct access_call *access_prepare(const struct access_env *env, const struct access_who *who,
				   const struct access_what *what)
{
	struct access_call *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->env = *env;
	c->account = *who->account;
	c->op = what->op;
	c->anpr = what->anpr != NULL;
	/* echoed even when the rest of the request is refused */
	if (c->anpr && token_ok(what->anpr->id_client, sizeof c->anpr_id - 1, NULL))
		STR_COPY_KNOWN(c->anpr_id, what->anpr->id_client); /* its length checked */
	subjects_init(&c->subjects);
	strbuf_init(&c->out_sb, QUERY_ANSWER_MAX);
	if (!corridor_open(c, who, what)) {
		if (c->anpr)
			anpr_shape(c);
		return c;
	}
	switch (what->op) {
	case ACCESS_SEARCH: run_search(c, what); break;
	case ACCESS_PERSON:
	case ACCESS_HOUSEHOLD:
	case ACCESS_HISTORY:
	case ACCESS_PRINT: run_consult(c, what); break;
	case ACCESS_VERIFY: run_verify(c, what); break;
	case ACCESS_EVENTS: run_events(c, what); break;
	}
	if (c->anpr)
		anpr_shape(c);
	if (c->stage == STAGE_RECORD && c->body && c->op == ACCESS_PRINT) {
		/* The page names the body: read now, on the caller's thread. */
		struct store_ente en = {0};
		bool found = false;
		store_ente_get(c->env.s, c->account.ente_id, &en, &found, NULL);
		STR_COPY_KNOWN(c->ente_name, found ? en.name : ""); /* the same size */
	}
	return c;
}

static char *print_page(struct access_call *c)
{
	char when[64], id[32], who[300], purpose[400], as_of[32];
	access_print_when(c->rec.at, when);
	snprintf(id, sizeof id, "%lld", (long long)c->rec.id);
	/* full_name[201] + username[65] < 300 */
	STR_FMT_KNOWN(who, "%s (%s)", c->account.full_name, c->account.username);
	STR_FMT_KNOWN(purpose, "%s — %s", c->grant.purpose.code,
		      c->grant.purpose.description); /* code[33] + description[301] < 400 */
	const char *d = json_string_value(json_object_get(c->body, "as_of"));
	int date;
	/* without a date asked for, the data are those of the day of the
	 * consultation (Italian calendar) */
	if (!d || !date_parse(d, strlen(d), &date))
		hours_local(c->rec.at / 1000, &date, NULL, NULL);
	access_print_day(date, as_of);
	struct access_print_meta m = {
		.heading = c->env.print_heading, .operator_name = who, .ente = c->ente_name,
		.purpose = purpose, .case_ref = c->rec.case_ref, .when = when, .access_id = id,
		.as_of = as_of, .verify_url = c->env.verify_url};
	return access_print_html(c->body, &m);
}

/* The answer's JSON text: the data with the record's id and the purpose
 * (a search's text was written by the query, its object left open). */
static char *answer_text(struct access_call *c)
{
	struct jsonw w;
	if (c->streamed) {
		jsonw_resume(&w, &c->out_sb, JSONW_ASCII);
	} else {
		jsonw_init(&w, &c->out_sb, JSONW_ASCII);
		jsonw_object_open(&w);
		for (void *it = json_object_iter(c->body); it; it = json_object_iter_next(c->body, it)) {
			jsonw_key(&w, json_object_iter_key(it));
			jsonw_dump(&w, json_object_iter_value(it));
		}
	}
	jsonw_key(&w, "access_id");
	jsonw_int(&w, c->rec.id);
	jsonw_key(&w, "purpose");
	jsonw_object_open(&w);
	jsonw_key(&w, "id");
	jsonw_int(&w, c->grant.purpose.id);
	jsonw_key(&w, "code");
	jsonw_string(&w, c->grant.purpose.code);
	jsonw_object_close(&w);
	jsonw_object_close(&w);
	if (jsonw_finish(&w)) {
		strbuf_release(&c->out_sb);
		return NULL;
	}
	return strbuf_detach(&c->out_sb, NULL);
}

/* The writer's first step, once the record is durable: only now is the
 * answer built.  Returns the bytes its receipt signs (an ANPR-shaped
 * answer, refusals included; data; the printed page with its seal empty),
 * or NULL: nothing to sign, or the building failed (c->err). */
static const char *answer_build(void *ctx, size_t *len)
{
	struct access_call *c = ctx;
	if (c->anpr) {
		json_t *soggetti = c->body ? json_incref(json_object_get(c->body, "listaSoggetti"))
					   : NULL;
		json_t *j = access_anpr_answer(c->anpr_id[0] ? c->anpr_id : NULL, c->rec.id, soggetti,
					       c->code);
		c->bytes = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
		json_decref(j);
	} else if (c->body || c->streamed) {
		c->bytes = c->op == ACCESS_PRINT ? print_page(c) : answer_text(c);
	} else {
		return NULL;
	}
	if (!c->bytes) {
		vis_error_set(&c->err, VIS_ERR_NOMEM, "memoria esaurita");
		return NULL;
	}
	*len = strlen(c->bytes);
	return c->bytes;
}

/* The second: the record failed, or the answer leaves with its receipt
 * (one signature for the batch's receipts, audit.h). */
static void recorded(void *ctx, vis_err rc, const char *receipt, const struct vis_error *e)
{
	struct access_call *c = ctx;
	struct access_answer a = {.status = c->status, .code = c->code, .message = c->message,
				  .retry_after = c->retry_after};
	bool print = c->op == ACCESS_PRINT && !c->anpr;
	if (rc != VIS_OK) {
		/* The record failed, or no answer leaves without its receipt. */
		c->err = *e;
		a = (struct access_answer){.status = 500, .err = &c->err};
	} else if (!(c->anpr || c->body || c->streamed)) {
		/* a refusal without data: no receipt */
	} else if (!c->bytes || !receipt) {
		if (!c->err.code)
			vis_error_set(&c->err, VIS_ERR_INTERNAL, "la risposta non ha una ricevuta");
		a = (struct access_answer){.status = 500, .err = &c->err};
	} else if (!STR_COPY(c->receipt, receipt)) {
		vis_error_set(&c->err, VIS_ERR_LIMIT, "la ricevuta supera i %d byte ammessi",
			      AUDIT_RECEIPT_MAX);
		a = (struct access_answer){.status = 500, .err = &c->err};
	} else if (print && !(c->sealed = access_print_seal(c->bytes, c->receipt,
			c->env.verify_url, &c->sealed_len))) {
		/* The receipt signs the page with an empty seal; the page
		 * that leaves carries it (access.h). */
		vis_error_set(&c->err, VIS_ERR_NOMEM, "impossibile apporre il sigillo alla visura stampata");
		a = (struct access_answer){.status = 500, .err = &c->err};
	} else if (c->anpr) {
		a = (struct access_answer){
			.status = c->status, .bytes = c->bytes, .len = strlen(c->bytes),
			.content_type = "application/json", .access_id = c->rec.id,
			.receipt = c->receipt, .code = c->code, .retry_after = c->retry_after};
	} else {
		a = (struct access_answer){
			.status = c->status, .bytes = print ? c->sealed : c->bytes,
			.len = print ? c->sealed_len : strlen(c->bytes),
			.content_type = print ? "text/html; charset=utf-8" : "application/json",
			.access_id = c->rec.id, .receipt = c->receipt};
	}
	c->done(c->done_arg, &a);
}

void access_finish(struct access_call *c, access_done_fn done, void *arg)
{
	c->done = done;
	c->done_arg = arg;
	if (c->stage != STAGE_RECORD) {
		if (c->stage == STAGE_OPEN)
			vis_error_set(&c->err, VIS_ERR_STORE, "il percorso di accesso non ha deciso nulla");
		struct access_answer a = {.status = 500, .err = &c->err};
		done(arg, &a);
		return;
	}
	struct vis_error e = {0};
	if (audit_submit_async(c->env.audit, &c->rec, answer_build, recorded, c, &e) != VIS_OK)
		recorded(c, VIS_ERR_STORE, NULL, &e);
}

void access_call_free(struct access_call *c)
{
	if (!c)
		return;
	json_decref(c->body);
	strbuf_release(&c->out_sb);
	subjects_release(&c->subjects);
	free(c->bytes);
	free(c->sealed);
	free(c);
}
