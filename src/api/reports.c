/* Handlers of the audit reports: the access trail searched by person,
 * operator, body, purpose and time (JSON or CSV, signed), the per-person
 * report (GDPR art. 15) for the office and — with a one-time code — for the
 * citizen, chain verification, alerts and per-body usage. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "alert/alert.h"
#include "api/internal.h"
#include "app/app.h"
#include "audit/audit.h"
#include "audit/export.h"
#include "audit/operation.h"
#include "cf/cf.h"
#include "auth/auth.h"
#include "common/date.h"
#include "common/log.h"
#include "common/str.h"
#include "watch/watch.h"

#define REPORT_MAX 10000

static bool num_param(struct http_request *r, const char *name, int64_t *out)
{
	const char *v = http_query(r, name);
	*out = 0;
	if (!v || !*v)
		return true;
	int64_t n;
	if (!str_uint(v, STR_UINT18_MAX, &n)) {
		char msg[80];
		/* a field's name, a constant */
		STR_FMT_KNOWN(msg, "il campo \"%s\" deve essere un numero", name);
		http_reply_error(r, 400, "invalid_request", msg);
		return false;
	}
	*out = n;
	return true;
}

/* A date parameter as milliseconds: "from" is the start of its day, "to"
 * the start of the next (both days included). */
static bool date_param(struct http_request *r, const char *name, int64_t *ms)
{
	const char *v = http_query(r, name);
	int d;
	*ms = 0;
	if (!v || !*v)
		return true;
	if (!date_parse(v, strlen(v), &d)) {
		char msg[80];
		/* a field's name, a constant */
		STR_FMT_KNOWN(msg, "il campo \"%s\" deve essere una data AAAA-MM-GG", name);
		http_reply_error(r, 400, "invalid_request", msg);
		return false;
	}
	*ms = (date_to_days(d) + (strcmp(name, "to") ? 0 : 1)) * 86400000;
	return true;
}

static json_t *ms_time(int64_t ms)
{
	char buf[21];
	timestamp_format(ms / 1000, buf);
	return json_string(buf);
}

static json_t *access_json(const struct store_access *a)
{
	json_t *subjects = json_array();
	for (const char *p = a->subjects; *p;) {
		size_t n = strcspn(p, ",");
		json_array_append_new(subjects, json_stringn(p, n));
		p += n + (p[n] == ',');
	}
	return json_pack("{s:I,s:o,s:I,s:s,s:I,s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:s,s:i,s:s,s:s}",
			 "id", (json_int_t)a->id, "at", ms_time(a->at),
			 "account_id", (json_int_t)a->account_id, "username", a->username,
			 "ente_id", (json_int_t)a->ente_id, "convenzione_id", (json_int_t)a->convenzione_id,
			 "purpose_id", (json_int_t)a->purpose_id, "case_ref", a->case_ref,
			 "on_behalf_of", a->on_behalf_of, "ip", a->ip, "operation", a->operation,
			 "query", a->query, "subjects", subjects, "categories", a->categories,
			 "outcome", a->outcome, "status", a->status, "flags", a->flags, "hash", a->hash);
}

struct collect {
	json_t *arr;
	struct strbuf csv;
	int n;
};

static int collect_access(void *ctx, const struct store_access *a)
{
	struct collect *c = ctx;
	c->n++;
	if (c->arr) {
		json_array_append_new(c->arr, access_json(a));
		return 0;
	}
	audit_export_csv_row(&c->csv, a); /* a failure is kept in c->csv.err */
	return 0;
}

/* The body and its signature (over the exact bytes), for the judicial
 * authority: `visura audit verify-receipt`-style checking with the key. */
static void reply_signed(struct http_request *r, const char *type, const char *body, size_t len)
{
	char sig[100];
	audit_sign(r->app->key, body, len, sig);
	http_header_add(r, "X-Visura-Signature", sig);
	http_reply_bytes(r, 200, type, body, len);
}

/* The records with their proofs, head and key (audit/export.h), checked
 * offline by `visura audit verify-export FILE --key PUBKEY`. */
static void access_bundle(struct http_request *r, struct store *s,
			  const struct store_access_filter *f)
{
	struct audit_bundle_query q = {.filter = *f, .from = http_query(r, "from"),
				       .to = http_query(r, "to")};
	char *buf = NULL;
	size_t len = 0;
	int64_t n;
	struct vis_error e = {0};
	FILE *out = open_memstream(&buf, &len);
	if (!out) {
		http_reply_error(r, 503, "service_unavailable",
				 "memoria esaurita: riprovare più tardi");
		return;
	}
	vis_err rc = audit_bundle_write(s, &q, out, &n, &e);
	if (fclose(out) && !rc)
		rc = vis_error_set(&e, VIS_ERR_NOMEM, "memoria esaurita");
	if (rc == VIS_ERR_NOTFOUND)
		http_reply_error(r, 409, "conflict", "il registro degli accessi non ha ancora una "
				 "testa firmata");
	else if (rc)
		api_fail(r, &e);
	else if (len > API_EXPORT_MAX)
		http_reply_error(r, 422, "result_too_large",
				 "il risultato supera il limite di 64 MB: restringere i filtri");
	else {
		auth_event(s, api_now(r), "audit_report", &r->auth->account, NULL, r->ip, f->cf);
		reply_signed(r, "application/vnd.visura.trail-export+json", buf, len);
	}
	free(buf);
}

void api_audit_access(struct http_request *r)
{
	struct store_access_filter f = {.limit = REPORT_MAX};
	const char *cf = http_query(r, "cf"), *format = http_query(r, "format");
	bool paged = !format || !strcmp(format, "json");
	struct api_page pg = {REPORT_MAX, 0};
	if (paged && !api_page_params(r, REPORT_MAX, REPORT_MAX, &pg))
		return;
	if (paged) { /* one more than asked, to know whether another page follows */
		f.limit = pg.limit + 1;
		f.after = pg.cursor;
	}
	if (!num_param(r, "account_id", &f.account_id) || !num_param(r, "ente_id", &f.ente_id) ||
	    !num_param(r, "purpose_id", &f.purpose_id) || !date_param(r, "from", &f.from_ms) ||
	    !date_param(r, "to", &f.to_ms))
		return;
	if (cf && *cf && !cf_normalize(cf, f.cf)) {
		http_reply_error(r, 400, "invalid_request", CF_TYPED_RULE("cf"));
		return;
	}
	bool csv = format && !strcmp(format, "csv");
	struct store *s = api_store(r);
	if (!s)
		return;
	if (format && !strcmp(format, "bundle")) {
		access_bundle(r, s, &f);
		return;
	}
	struct collect c = {.arr = csv ? NULL : json_array()};
	strbuf_init(&c.csv, API_EXPORT_MAX);
	if (csv)
		strbuf_adds(&c.csv, audit_export_csv_header);
	struct vis_error e = {0};
	if (store_access_search(s, &f, collect_access, &c, &e)) {
		json_decref(c.arr);
		strbuf_release(&c.csv);
		api_fail(r, &e);
		return;
	}
	if (c.csv.err) {
		api_reply_export_failed(r, &c.csv);
		return;
	}
	auth_event(s, api_now(r), "audit_report", &r->auth->account, NULL, r->ip, f.cf);
	if (csv) {
		reply_signed(r, "text/csv; charset=utf-8", c.csv.buf, c.csv.len);
		strbuf_release(&c.csv);
		return;
	}
	json_t *out = json_pack("{s:o}", "records", c.arr);
	bool more = api_page_finish(out, c.arr, &pg);
	json_object_set_new(out, "count", json_integer((json_int_t)json_array_size(c.arr)));
	json_object_set_new(out, "truncated", json_boolean(more));
	char *text = json_dumps(out, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(out);
	if (!text) {
		http_reply_error(r, 503, "service_unavailable",
				 "memoria esaurita: riprovare più tardi");
		return;
	}
	reply_signed(r, "application/json", text, strlen(text));
	free(text);
}

/* ---- per-person report ---- */

struct subject_ctx {
	struct store *s;
	json_t *arr;
	int64_t now;
	int embargo_days;
	bool citizen;       /* leave out embargoed entries */
	int hidden;
};

static int add_subject_entry(void *ctx, const struct store_access *a)
{
	struct subject_ctx *c = ctx;
	if (strcmp(a->outcome, "ok"))
		return 0; /* only consultations that returned the person */
	struct store_ente en = {0};
	struct store_purpose p = {0};
	bool found;
	store_ente_get(c->s, a->ente_id, &en, &found, NULL);
	store_purpose_get(c->s, a->purpose_id, &p, &found, NULL);
	bool embargoed = watch_embargoed(en.kind, a->at, c->embargo_days, c->now);
	if (c->citizen && embargoed) {
		c->hidden++;
		return 0;
	}
	json_t *j = json_pack("{s:o,s:s,s:s,s:s,s:s}", "at", ms_time(a->at), "ente", en.name,
			      "ente_kind", en.kind, "purpose", p.description, "operation", a->operation);
	if (c->citizen) {
		/* what the citizen reads, in Italian */
		char when[64];
		access_print_when(a->at, when);
		json_object_set_new(j, "data_ora", json_string(when));
		json_object_set_new(j, "tipo_ente", json_string(api_citizen_kind(en.kind)));
		json_object_set_new(j, "operazione", json_string(audit_operation_label(a->operation)));
	} else {
		json_object_set_new(j, "access_id", json_integer(a->id));
		json_object_set_new(j, "username", json_string(a->username));
		json_object_set_new(j, "on_behalf_of", json_string(a->on_behalf_of));
		json_object_set_new(j, "case_ref", json_string(a->case_ref));
		json_object_set_new(j, "embargoed_for_citizen", json_boolean(embargoed));
	}
	json_array_append_new(c->arr, j);
	return 0;
}

/* The citizen's list as a document signed with the deployment's key
 * (audit_document_sign), to download and keep: the report, who issues it
 * and when; checked offline by `visura audit verify-document`. */
static void reply_document(struct http_request *r, json_t *report)
{
	json_object_set_new(report, "emittente", json_string(r->app->cfg.print_heading));
	json_object_set_new(report, "emesso_il", api_time(api_now(r)));
	json_object_set_new(report, "verifica",
			    json_string("visura audit verify-document FILE --key CHIAVE_PUBBLICA"));
	size_t len = 0;
	char *text = audit_document_sign(r->app->key, report, &len);
	char disp[96];
	/* a codice fiscale: 16 bytes */
	STR_FMT_KNOWN(disp, "attachment; filename=\"consultazioni-%s.json\"",
		      json_string_value(json_object_get(report, "codice_fiscale")));
	json_decref(report);
	if (!text) {
		http_reply_error(r, 503, "service_unavailable", "memoria esaurita: riprovare più tardi");
		return;
	}
	http_header_add(r, "Content-Disposition", disp);
	http_reply_bytes(r, 200, "application/vnd.visura.signed-document+json", text, len);
	free(text);
}

/* The report of one person: for the office (citizen false), or for the
 * citizen themselves, by a one-time code or in their session (session:
 * NULL for a code; signed: the signed document, in a session only). */
static void subject_report(struct http_request *r, struct store *s, const char *cf, bool citizen,
			   const struct store_citizen_session *session, bool signed_doc)
{
	struct store_access_filter f = {.limit = REPORT_MAX};
	/* both callers checked that cf has 16 characters */
	STR_COPY_KNOWN(f.cf, cf);
	struct subject_ctx c = {s, json_array(), api_now(r), r->app->cfg.embargo_days, citizen, 0};
	struct vis_error e = {0};
	if (store_access_search(s, &f, add_subject_entry, &c, &e)) {
		json_decref(c.arr);
		api_fail(r, &e);
		return;
	}
	if (citizen && !signed_doc && api_wants_html(r)) {
		api_citizen_page(r, cf, c.arr, session);
		json_decref(c.arr);
		return;
	}
	json_t *out = json_pack("{s:s,s:o}", "codice_fiscale", cf, "accesses", c.arr);
	if (citizen) {
		char note[600];
		api_citizen_note(r->app->cfg.embargo_days, note, sizeof note);
		json_object_set_new(out, "note", json_string(note));
	}
	if (session) {
		json_object_set_new(out, "level", json_integer(session->level));
		json_object_set_new(out, "session_expires_at", api_time(session->expires_at));
	}
	if (signed_doc)
		reply_document(r, out);
	else
		http_reply_json(r, 200, out);
}

void api_audit_subject(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	char cf[CF_LEN + 1];
	if (!cf_normalize(r->params[0], cf)) {
		http_reply_error(r, 400, "invalid_request", CF_TYPED_RULE("cf"));
		return;
	}
	auth_event(s, api_now(r), "subject_report", &r->auth->account, NULL, r->ip, cf);
	subject_report(r, s, cf, false, NULL, false);
}

void api_subject_code_create(struct http_request *r)
{
	static const char *const fields[] = {"codice_fiscale", NULL};
	if (!api_body_members(r, fields))
		return;
	const char *typed = http_body_string(r, "codice_fiscale", true, CF_TYPED_MAX);
	char cf[CF_LEN + 1];
	if (!typed)
		return;
	if (!cf_normalize(typed, cf)) {
		http_reply_error(r, 400, "invalid_request", CF_TYPED_RULE("codice_fiscale"));
		return;
	}
	struct store *s = api_store(r);
	if (!s)
		return;
	/* 12 characters from an alphabet without look-alikes: ~60 bits. */
	static const char alpha[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	char code[13], hash[65];
	for (int i = 0; i < 12; i++)
		code[i] = alpha[randombytes_uniform(sizeof alpha - 1)];
	code[12] = '\0';
	auth_token_hash(code, hash);
	int64_t now = api_now(r);
	if (store_subject_code_put(s, hash, cf, r->auth->account.id, now, now + 30 * 86400, NULL)) {
		http_reply_error(r, 503, "service_unavailable",
				 "la base dati non è raggiungibile: riprovare più tardi");
		return;
	}
	auth_event(s, now, "subject_code_issued", &r->auth->account, NULL, r->ip, cf);
	/* The address the citizen opens in a browser: the deployment's public
	 * one when configured. */
	const char *pub = r->app->cfg.public_url;
	size_t ul = strlen(pub);
	while (ul && pub[ul - 1] == '/')
		ul--;
	char page[400];
	/* public_url[256] + 30 + a code of 12 */
	STR_FMT_KNOWN(page, "%.*s/citizen/access-report?code=%s", (int)ul, pub, code);
	http_reply_json(r, 201, json_pack("{s:s,s:o,s:s,s:s}", "code", code,
					  "expires_at", api_time(now + 30 * 86400),
					  "use", "GET /citizen/access-report?code=<code> (once)",
					  "page", page));
	sodium_memzero(page, sizeof page);
	sodium_memzero(code, sizeof code);
}

/* A citizen in their SPID/CIE session: their own report, and nothing
 * else (no argument picks another person).  False when there is no
 * session: the one-time code's way. */
static bool citizen_in_session(struct http_request *r, struct store *s, int64_t now, bool html)
{
	struct store_citizen_session cs;
	bool stale;
	int got = api_citizen_session_find(r, s, now, &cs, &stale);
	if (got < 0)
		return true;
	if (!got) {
		if (!stale)
			return false;
		if (html)
			api_citizen_page_ask(r, 401, "La sessione è terminata o è scaduta: entri di "
					     "nuovo con SPID/CIE oppure usi un codice.");
		else
			http_reply_error(r, 401, "citizen_session_expired",
					 "la sessione del cittadino è terminata o è scaduta: entrare "
					 "di nuovo con SPID/CIE");
		return true;
	}
	const char *format = http_query(r, "formato");
	bool signed_doc = format && !strcmp(format, "firmato");
	if (http_query_count(r) != (signed_doc ? 1 : 0)) {
		http_reply_error(r, 400, "invalid_request",
				 "questa pagina mostra soltanto le consultazioni del codice fiscale "
				 "con cui si è entrati: accetta solo \"formato=firmato\" (l'elenco "
				 "firmato da scaricare)");
		return true;
	}
	subject_report(r, s, cs.cf, true, &cs, signed_doc);
	return true;
}

void api_citizen_report(struct http_request *r)
{
	if (!api_citizen_query(r))
		return;
	const char *code = http_query(r, "code");
	bool html = api_wants_html(r);
	struct store *s = NULL;
	int64_t now = api_now(r);
	if (!code) {
		if (!(s = api_store(r)) || citizen_in_session(r, s, now, html))
			return;
	}
	if (html && (!code || !*code)) {
		api_citizen_page_ask(r, 200, NULL); /* a person in a browser: the form */
		return;
	}
	if (!s && !(s = api_store(r)))
		return;
	/* Guessing codes is throttled per address like logins (the key names
	 * the address, so one guesser does not lock out other citizens). */
	char key[96];
	STR_FMT_KNOWN(key, "citizen-code@%s", r->ip); /* ip[64] */
	int64_t wait = auth_throttle_wait(s, &r->app->cfg, key, r->ip, now);
	if (wait == AUTH_THROTTLE_UNKNOWN) {
		if (!html) {
			api_reply_uncounted(r);
			return;
		}
		http_header_add(r, "Retry-After", "30");
		api_citizen_page_ask(r, 503, "Il servizio non può verificare i codici ora: "
				     "riprovare più tardi.");
		return;
	}
	if (wait > 0) {
		char ra[32];
		snprintf(ra, sizeof ra, "%lld", (long long)wait);
		http_header_add(r, "Retry-After", ra);
		if (html)
			api_citizen_page_ask(r, 429, "Troppi codici errati da questo indirizzo: "
					     "riprovare più tardi.");
		else
			http_reply_error(r, 429, "too_many_attempts",
					 "troppi tentativi: attendere prima di riprovare");
		return;
	}
	char hash[65], cf[17];
	bool ok = false;
	if (code && strlen(code) == 12) {
		auth_token_hash(code, hash);
		if (store_subject_code_use(s, hash, now, cf, &ok, NULL)) {
			http_reply_error(r, 503, "service_unavailable",
					 "la base dati non è raggiungibile: riprovare più tardi");
			return;
		}
	}
	if (!ok) {
		auth_throttle_fail(s, &r->app->cfg, key, r->ip, now);
		if (html)
			api_citizen_page_ask(r, 404, "Il codice non è valido: è errato, scaduto "
					     "oppure è già stato usato. Ogni codice vale una volta sola.");
		else
			http_reply_error(r, 404, "invalid_code",
					 "il codice è errato, scaduto o già usato");
		return;
	}
	subject_report(r, s, cf, true, NULL, false);
}

/* On the runner (app->slow): every record of the trail read and hashed
 * again (minutes on a trail of 100,000,000 records), off the HTTP
 * workers; the server's stop ends it (503), instead of waiting for it
 * past a service manager's stop timeout. */
static void verify_work(struct http_request *r, struct store *s, void *job)
{
	(void)job;
	struct audit_verify_result res;
	struct vis_error e = {0};
	struct stop_ask stop = {api_server_stopping, r->app};
	vis_err rc = audit_verify_stoppable(s, NULL, &stop, &res, &e);
	if (rc == VIS_ERR_BUSY && api_server_stopping(r->app)) {
		log_info("verifica del registro interrotta dall'arresto", "%s", "");
		api_reply_stopped(r, &e);
		return;
	}
	if (rc) {
		api_fail(r, &e);
		return;
	}
	http_reply_json(r, 200, json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:s}", "intact",
					  !res.first_bad_id, "records", (json_int_t)res.checked,
					  "purged", (json_int_t)res.purged,
					  "checkpoints", (json_int_t)res.checkpoints,
					  "heads", (json_int_t)res.heads,
					  "first_bad_id", (json_int_t)res.first_bad_id, "why", res.why));
}

void api_audit_verify(struct http_request *r)
{
	struct api_slow *j = api_slow_new(r, sizeof *j);
	if (!j)
		return;
	api_slow_defer(r, j, r->app->slow, verify_work,
		       API_SLOW_BUSY);
}

static json_t *b64_hash(const uint8_t h[MERKLE_HASH])
{
	char b64[sodium_base64_ENCODED_LEN(MERKLE_HASH, sodium_base64_VARIANT_ORIGINAL)];
	sodium_bin2base64(b64, sizeof b64, h, MERKLE_HASH, sodium_base64_VARIANT_ORIGINAL);
	return json_string(b64);
}

/* The proof that the trail's tree of `to` records extends that of `from`
 * (RFC 9162 2.1.4), with both roots and the latest signed head: an auditor
 * holding a head of size `from` checks that nothing before it changed. */
void api_audit_consistency(struct http_request *r)
{
	int64_t from, to;
	if (!num_param(r, "from", &from) || !num_param(r, "to", &to))
		return;
	struct store *s = api_store(r);
	if (!s)
		return;
	static _Thread_local struct store_head h;
	bool found;
	struct vis_error e = {0};
	if (store_head_last(s, &h, &found, &e)) {
		api_fail(r, &e);
		return;
	}
	if (!http_query(r, "to") || !*http_query(r, "to"))
		to = found ? h.size : 0;
	if (from > to || !found || to > h.size) {
		http_reply_error(r, 400, "invalid_request",
				 "deve valere 0 <= \"from\" <= \"to\" <= la "
				 "dimensione dell'ultima testa firmata");
		return;
	}
	uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH], rf[MERKLE_HASH], rt[MERKLE_HASH];
	int len;
	if (audit_tree_root(s, (uint64_t)from, rf, &e) || audit_tree_root(s, (uint64_t)to, rt, &e) ||
	    audit_tree_consistency(s, (uint64_t)from, (uint64_t)to, proof, &len, &e)) {
		api_fail(r, &e);
		return;
	}
	json_t *arr = json_array();
	for (int i = 0; i < len; i++)
		json_array_append_new(arr, b64_hash(proof[i]));
	http_reply_json(r, 200, json_pack("{s:I,s:I,s:o,s:o,s:o,s:s}", "from", (json_int_t)from,
					  "to", (json_int_t)to, "from_root", b64_hash(rf),
					  "to_root", b64_hash(rt), "proof", arr, "head", h.note));
}

/* ---- alerts ---- */

static json_t *alert_json(const void *rec)
{
	const struct store_alert *a = rec;
	return json_pack("{s:I,s:o,s:s,s:I,s:s,s:I,s:s,s:s,s:s,s:o,s:s}",
		"id", (json_int_t)a->id, "at", api_time(a->at), "rule", a->rule,
		"account_id", (json_int_t)a->account_id, "username", a->username,
		"ente_id", (json_int_t)a->ente_id, "severity", a->severity, "detail", a->detail,
		"state", a->state, "reviewed_at", api_time(a->reviewed_at), "note", a->note);
}

static int add_alert(void *ctx, const void *rec)
{
	struct api_list *l = ctx;
	json_array_append_new(l->arr, alert_json(rec));
	return 0;
}

void api_alerts_list(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	static const char *const states[] = {"open", "reviewed", NULL};
	struct api_page pg;
	int64_t ente;
	if (!api_page_params(r, 1000, 1000, &pg) || !api_query_one_of(r, "state", states) ||
	    !api_query_id(r, "ente_id", &ente))
		return;
	bool lead = !strcmp(r->auth->account.role, "lead");
	if (lead && ente && ente != r->auth->account.ente_id) {
		http_reply_error(r, 403, "forbidden", "solo le segnalazioni del proprio ente");
		return;
	}
	const char *state = http_query(r, "state");
	struct store_filter f[4] = {{0}};
	int n = 0;
	if (state)
		f[n++] = (struct store_filter){"state", state, 0};
	if (lead) /* a lead sees their own body's */
		f[n++] = (struct store_filter){"ente_id", NULL, r->auth->account.ente_id};
	else if (ente)
		f[n++] = (struct store_filter){"ente_id", NULL, ente};
	api_reply_page(r, s, STORE_ALERT, f, &pg, "alerts", alert_json);
}

/* The review and the re-enabled account are one transaction: an account
 * that cannot be enabled leaves the alert open, and no event says it was
 * (before, a failed update was ignored: "account_enabled" in the log, the
 * account still disabled, the alert closed). */
void api_alert_review(struct http_request *r)
{
	static const char *const fields[] = {"note", "reactivate", NULL};
	if (!api_body_members(r, fields))
		return;
	int64_t id = api_param_id(r, 0);
	const char *note = id ? http_body_string(r, "note", true, 500) : NULL;
	if (!note)
		return;
	json_t *re = json_object_get(r->json, "reactivate");
	if (re && !json_is_boolean(re)) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"reactivate\" deve essere true o false");
		return;
	}
	struct store *s = api_store(r);
	if (!s)
		return;
	struct store_alert a;
	struct store_account acc;
	bool found = false, reactivated = false;
	struct vis_error e = {0};
	int64_t now = api_now(r);
	if (store_begin(s, &e)) {
		api_fail(r, &e);
		return;
	}
	vis_err rc = store_alert_get(s, id, &a, &found, &e);
	if (rc == VIS_OK && found) {
		const struct store_alert was = a;
		snprintf(a.state, sizeof a.state, "reviewed");
		STR_COPY_KNOWN(a.note, note); /* http_body_string: at most 500 */
		a.reviewed_by = r->auth->account.id;
		a.reviewed_at = now;
		rc = store_alert_update(s, &was, &a, &e);
	}
	bool acc_found = false;
	if (rc == VIS_OK && found && json_is_true(re))
		rc = store_account_get(s, a.account_id, &acc, &acc_found, &e);
	if (rc == VIS_OK && acc_found &&
	    (!strcmp(acc.disabled_reason, AUTH_REASON_SUSPENDED_BY_ALERT) ||
	     /* rows written before the reason was Italian (auth.h) */
	     !strcmp(acc.disabled_reason, AUTH_REASON_SUSPENDED_BY_ALERT_LEGACY))) {
		const struct store_account acc_was = acc;
		snprintf(acc.state, sizeof acc.state, "active");
		acc.disabled_reason[0] = '\0';
		acc.disabled_at = 0;
		rc = store_account_update(s, &acc_was, &acc, &e);
		reactivated = rc == VIS_OK;
	}
	if (rc == VIS_OK && found)
		rc = store_commit(s, &e);
	if (rc != VIS_OK || !found)
		store_rollback(s);   /* nothing written, or all of it undone */
	if (rc != VIS_OK) {
		api_fail(r, &e);
		return;
	}
	if (!found) {
		http_reply_error(r, 404, "not_found", "segnalazione inesistente");
		return;
	}
	if (reactivated) {
		alert_tracker_forget(r->app->alerts, s, acc.id);
		auth_event(s, now, "account_enabled", &acc, NULL, r->ip, "dopo l'esame della segnalazione");
	}
	auth_event(s, now, "alert_reviewed", &r->auth->account, NULL, r->ip,
		   alert_rule_label(a.rule));
	http_reply_json(r, 200, json_pack("{s:I,s:s,s:b}", "id", (json_int_t)a.id, "state", a.state,
					  "reactivated", reactivated));
}

/* ---- per-body usage ---- */

struct usage_ctx {
	json_t *by_operator;   /* username -> {purpose code -> count} */
	json_t *refused;       /* username -> count */
	int64_t total;         /* records: a year of a large body's trail can pass 2^31 */
};

static int add_usage(void *ctx, const struct store_access *a)
{
	struct usage_ctx *u = ctx;
	char pid[24];
	u->total++;
	if (!strncmp(a->outcome, "refused:", 8)) {
		json_t *n = json_object_get(u->refused, a->username);
		json_object_set_new(u->refused, a->username,
				    json_integer(n ? json_integer_value(n) + 1 : 1));
		return 0;
	}
	json_t *op = json_object_get(u->by_operator, a->username);
	if (!op) {
		op = json_object();
		json_object_set_new(u->by_operator, a->username, op);
	}
	snprintf(pid, sizeof pid, "%lld", (long long)a->purpose_id);
	json_t *n = json_object_get(op, pid);
	json_object_set_new(op, pid, json_integer(n ? json_integer_value(n) + 1 : 1));
	return 0;
}

#define USAGE_ALERTS 1000

struct usage_job {
	struct api_slow slow;
	struct store_access_filter f;
};

/* On the runner (app->slow): every record of the body's trail in the
 * period read and counted (the whole trail of a year of a large body:
 * seconds to minutes), off the HTTP workers. */
static void usage_work(struct http_request *r, struct store *s, void *job)
{
	const struct usage_job *j = job;
	struct usage_ctx u = {json_object(), json_object(), 0};
	struct vis_error e = {0};
	if (store_access_search(s, &j->f, add_usage, &u, &e)) {
		json_decref(u.by_operator);
		json_decref(u.refused);
		api_fail(r, &e);
		return;
	}
	/* the newest USAGE_ALERTS alerts, and how many there are in all */
	struct store_filter af[] = {{"ente_id", NULL, j->f.ente_id}, {NULL, NULL, 0}};
	struct api_list ac = {json_array()};
	int64_t alerts;
	if (store_rec_list(s, STORE_ALERT, af, USAGE_ALERTS, add_alert, &ac, &e) ||
	    store_alerts_count(s, j->f.ente_id, &alerts, &e)) {
		json_decref(u.by_operator);
		json_decref(u.refused);
		json_decref(ac.arr);
		api_fail(r, &e);
		return;
	}
	http_reply_json(r, 200, json_pack("{s:I,s:I,s:o,s:o,s:o,s:I}", "ente_id", (json_int_t)j->f.ente_id,
					  "requests", (json_int_t)u.total,
					  "accesses_by_operator_and_purpose", u.by_operator,
					  "refused_by_operator", u.refused, "alerts", ac.arr,
					  "alerts_total", (json_int_t)alerts));
}

void api_usage(struct http_request *r)
{
	struct store_access_filter f = {.limit = 0}; /* every record: counted, not kept */
	if (!num_param(r, "ente_id", &f.ente_id) || !date_param(r, "from", &f.from_ms) ||
	    !date_param(r, "to", &f.to_ms))
		return;
	if (!strcmp(r->auth->account.role, "lead"))
		f.ente_id = r->auth->account.ente_id;
	if (!f.ente_id) {
		http_reply_error(r, 400, "invalid_request", "il campo \"ente_id\" è obbligatorio");
		return;
	}
	struct usage_job *j = api_slow_new(r, sizeof *j);
	if (!j)
		return;
	j->f = f;
	api_slow_defer(r, &j->slow, r->app->slow, usage_work, API_SLOW_BUSY);
}
