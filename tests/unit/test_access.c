/* Unit tests: the corridor (access.h) without a server — every refusal
 * path, each checked for its code and for the access record it wrote (or
 * did not write), the answer only once its record is durable, and the
 * receipt over the bytes that leave; on SQLite, and on PostgreSQL too when
 * $VISURA_TEST_PG is set (see testdb.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access/access.h"
#include "access/anpr.h"
#include "alert/alert.h"
#include "audit/audit.h"
#include "audit/subjects.h"
#include "auth/auth.h"
#include "common/config.h"
#include "common/str.h"
#include "policy/ratelimit.h"
#include "refdata/refdata.h"
#include "seed.h"
#include "store/store.h"
#include "testdb.h"

#define OK(x) assert_int_equal((x), VIS_OK)
#define NOW 1767268800   /* 2026-01-01 12:00 UTC */
#define TODAY 20260101

struct fx {
	struct testdb db;
	struct store *s;
	struct refdata *rd;
	char keypath[200];
	struct audit_key key;
	struct audit_writer *w;
	int64_t ente, other_ente;
	int64_t conv, purpose;          /* identity,residence,family */
	int64_t other_purpose;          /* the other body's */
	struct store_account acc;
	int64_t last_id;                /* the newest access record seen */
	char crowd_cf[17];
	/* per test */
	struct ratelimit *rl;
	struct alert_tracker *alerts;
};

static bool use_pg;

static int group_setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	struct vis_error e = {0};
	if (!f || sodium_init() < 0 || testdb_open(&f->db, use_pg, "access", &f->s))
		return -1;
	const char *dir = getenv("VISURA_DATA_DIR");
	if (refdata_load(dir ? dir : "data", &f->rd, &e) || store_refdata_replace(f->s, f->rd, &e))
		return -1;
	assert_int_equal(audit_key_path(f->db.uri, f->keypath, sizeof f->keypath, NULL), VIS_OK);
	unlink(f->keypath);
	if (audit_key_ensure(f->s, f->keypath, &f->key, &e) ||
	    audit_writer_start(f->db.uri, &f->key, NULL, &f->w, &e))
		return -1;
	f->ente = seed_body(f->s, "Questura di Modena");
	f->other_ente = seed_body(f->s, "Comando di Bologna");
	seed_account(f->s, f->ente, "op1", &f->acc);
	f->conv = seed_agreement(f->s, f->ente, "identity,residence,family", &f->purpose);
	seed_agreement(f->s, f->other_ente, "identity", &f->other_purpose);
	seed_register(f->s, SUBJECTS_MAX + 1, f->crowd_cf);
	*state = f;
	return 0;
}

static int group_teardown(void **state)
{
	struct fx *f = *state;
	audit_writer_stop(f->w);
	refdata_free(f->rd);
	testdb_close(&f->db, f->s);
	unlink(f->keypath);
	free(f);
	return 0;
}

static int setup(void **state)
{
	struct fx *f = *state;
	struct alert_limits l;
	alert_limits_default(&l);
	f->rl = ratelimit_new();
	f->alerts = alert_tracker_new(&l);
	return f->rl && f->alerts ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	ratelimit_free(f->rl);
	alert_tracker_free(f->alerts);
	return 0;
}

/* ---- one call through the corridor ---- */

struct result {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int status;
	char code[64];
	char message[200];
	char *bytes;
	char content_type[64];
	int64_t access_id;
	char receipt[AUDIT_RECEIPT_MAX];
	int64_t retry_after;
	bool internal;
};

static void on_done(void *arg, const struct access_answer *a)
{
	struct result *r = arg;
	pthread_mutex_lock(&r->lock);
	r->status = a->status;
	r->internal = a->err != NULL;
	if (a->code)
		STR_COPY_KNOWN(r->code, a->code);
	if (a->message)
		STR_COPY_KNOWN(r->message, a->message);
	if (a->bytes) {
		r->bytes = strndup(a->bytes, a->len);
		STR_COPY_KNOWN(r->content_type, a->content_type);
		STR_COPY_KNOWN(r->receipt, a->receipt);
	}
	r->access_id = a->access_id;
	r->retry_after = a->retry_after;
	r->done = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static void call_at(struct fx *f, int64_t now, const struct access_who *who,
		    const struct access_what *what, struct result *r)
{
	memset(r, 0, sizeof *r);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	struct access_env env = {.s = f->s, .audit = f->w, .rl = f->rl,
				 .alerts = f->alerts, .rd = f->rd, .now = now,
				 .today = TODAY};
	struct access_call *c = access_prepare(&env, who, what);
	assert_non_null(c);
	access_finish(c, on_done, r);
	pthread_mutex_lock(&r->lock);
	while (!r->done)
		pthread_cond_wait(&r->cond, &r->lock);
	pthread_mutex_unlock(&r->lock);
	access_call_free(c);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
}

static void call(struct fx *f, const struct access_who *who, const struct access_what *what,
		 struct result *r)
{
	call_at(f, NOW, who, what, r);
}

/* The access records written since the last look: how many, the newest. */
struct trail {
	int n;
	struct store_access last;
	char subjects[512];
};

static int trail_row(void *ctx, const struct store_access *a)
{
	struct trail *t = ctx;
	t->n++;
	t->last = *a;
	str_copy_cut(t->subjects, sizeof t->subjects, a->subjects ? a->subjects : "");
	t->last.subjects = NULL;
	return 0;
}

static struct trail trail_new(struct fx *f)
{
	struct trail t = {0};
	struct vis_error e = {0};
	OK(store_access_each(f->s, f->last_id + 1, trail_row, &t, &e));
	if (t.n)
		f->last_id = t.last.id;
	return t;
}

/* One refusal: its status and code, and one record "refused:<code>" naming
 * nobody. */
static struct trail refused(struct fx *f, const struct result *r, int status, const char *code)
{
	assert_int_equal(r->status, status);
	assert_string_equal(r->code, code);
	assert_null(r->bytes);
	assert_false(r->internal);
	struct trail t = trail_new(f);
	assert_int_equal(t.n, 1);
	char outcome[64];
	snprintf(outcome, sizeof outcome, "refused:%s", code);
	assert_string_equal(t.last.outcome, outcome);
	assert_int_equal(t.last.status, status);
	assert_string_equal(t.subjects, "");
	return t;
}

static struct access_who who_of(struct fx *f, int64_t purpose)
{
	return (struct access_who){.account = &f->acc, .ip = "10.1.2.3", .purpose_id = purpose,
				   .case_ref = "RG 123/2026"};
}

static const struct access_what person_anna = {.op = ACCESS_PERSON, .cf = SEED_ANNA};

/* ---- the answer ---- */

static void test_answer_after_record(void **state)
{
	struct fx *f = *state;
	struct access_who who = who_of(f, f->purpose);
	struct result r;
	call(f, &who, &person_anna, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type, "application/json");
	struct trail t = trail_new(f);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.last.id, r.access_id);
	assert_string_equal(t.last.outcome, "ok");
	assert_string_equal(t.last.operation, "consult");
	assert_string_equal(t.last.case_ref, "RG 123/2026");
	assert_int_equal(t.last.purpose_id, f->purpose);
	assert_int_equal(t.last.convenzione_id, f->conv);
	assert_string_equal(t.last.categories, "identity,residence,family");
	assert_string_equal(t.subjects, SEED_ANNA);
	/* The answer names its record and purpose; the receipt signs it. */
	json_error_t je;
	json_t *body = json_loads(r.bytes, 0, &je);
	assert_non_null(body);
	assert_int_equal(json_integer_value(json_object_get(body, "access_id")), r.access_id);
	assert_string_equal(json_string_value(json_object_get(json_object_get(body, "purpose"),
							      "code")), "IND-01");
	json_t *person = json_object_get(body, "person");
	assert_non_null(json_object_get(person, "identity"));
	assert_null(json_object_get(person, "parentage"));   /* outside the profile */
	json_decref(body);
	struct vis_error e = {0};
	assert_null(audit_receipt_check(f->s, r.receipt, r.bytes, strlen(r.bytes), NULL, &e));
	assert_non_null(audit_receipt_check(f->s, r.receipt, "{}", 2, NULL, &e));
	free(r.bytes);
}

static void test_print_page(void **state)
{
	struct fx *f = *state;
	struct access_who who = who_of(f, f->purpose);
	struct access_what what = {.op = ACCESS_PRINT, .cf = SEED_ANNA};
	struct result r;
	call(f, &who, &what, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type, "text/html; charset=utf-8");
	assert_non_null(strstr(r.bytes, "Questura di Modena"));
	assert_non_null(strstr(r.bytes, "Mario Rossi (op1)"));
	struct trail t = trail_new(f);
	assert_int_equal(t.n, 1);
	assert_string_equal(t.last.operation, "print");
	/* The receipt signs the page with its seal emptied: the page as sent
	 * (seal filled in) checks once unsealed, and a seal visura did not
	 * write is refused. */
	assert_non_null(strstr(r.bytes, "<svg"));
	struct vis_error e = {0};
	size_t len = strlen(r.bytes);
	char *forged = malloc(len + 64);
	assert_non_null(forged);
	const char *seal = strstr(r.bytes, ACCESS_SEAL_OPEN);
	assert_non_null(seal);
	size_t at = (size_t)(seal - r.bytes) + sizeof ACCESS_SEAL_OPEN - 1;
	memcpy(forged, r.bytes, at);
	strcpy(forged + at, "<b>aggiunto</b>");
	strcat(forged, r.bytes + at);
	size_t flen = strlen(forged);
	assert_non_null(access_print_unseal(forged, &flen));
	free(forged);
	assert_null(access_print_unseal(r.bytes, &len));
	assert_null(strstr(r.bytes, "<svg"));
	assert_null(audit_receipt_check(f->s, r.receipt, r.bytes, len, NULL, &e));
	free(r.bytes);
}

static void test_not_found_recorded(void **state)
{
	struct fx *f = *state;
	struct access_who who = who_of(f, f->purpose);
	/* Elsa lives in a municipality the agreement does not cover. */
	struct access_what what = {.op = ACCESS_PERSON, .cf = SEED_ELSA};
	struct result r;
	call(f, &who, &what, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.code, "not_found");
	struct trail t = trail_new(f);
	assert_int_equal(t.n, 1);
	assert_string_equal(t.last.outcome, "not_found");
	assert_string_equal(t.subjects, "");
}

/* ---- refusals before the grant ---- */

static void test_malformed(void **state)
{
	struct fx *f = *state;
	struct access_who who = who_of(f, f->purpose);
	struct access_what what = person_anna;
	what.malformed_code = "invalid_request";
	what.malformed_message = "bad parameters";
	what.malformed_query = "(malformed parameters)";
	struct result r;
	call(f, &who, &what, &r);
	struct trail t = refused(f, &r, 400, "invalid_request");
	assert_string_equal(t.last.query, "(malformed parameters)");
	assert_string_equal(t.last.case_ref, "");
	assert_int_equal(t.last.convenzione_id, 0);
}

static void test_on_behalf_of_required(void **state)
{
	struct fx *f = *state;
	struct access_who who = who_of(f, f->purpose);
	who.via_token = true;
	struct result r;
	call(f, &who, &person_anna, &r);
	refused(f, &r, 400, "on_behalf_of_required");
	who.on_behalf_of = "Ispettore Bruno Neri";
	call(f, &who, &person_anna, &r);
	assert_int_equal(r.status, 200);
	free(r.bytes);
	struct trail t = trail_new(f);
	assert_string_equal(t.last.on_behalf_of, "Ispettore Bruno Neri");
}

static void test_case_ref_refused(void **state)
{
	struct fx *f = *state;
	struct access_who who = who_of(f, f->purpose);
	who.case_ref = "RG \xe2\x80\xae" "321";      /* U+202E: shown reversed */
	struct result r;
	call(f, &who, &person_anna, &r);
	struct trail t = refused(f, &r, 400, "invalid_request");
	assert_non_null(strstr(r.message, "U+202E"));
	char longer[160];
	memset(longer, 'x', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	who.case_ref = longer;
	call(f, &who, &person_anna, &r);
	t = refused(f, &r, 400, "invalid_request");
	assert_string_equal(t.last.case_ref, "");    /* recorded without it */
}

/* ---- the grant ---- */

static void test_no_grant(void **state)
{
	struct fx *f = *state;
	struct result r;
	struct access_who who = who_of(f, 0);
	call(f, &who, &person_anna, &r);
	refused(f, &r, 400, "purpose_required");
	who.purpose_id = -1;
	call(f, &who, &person_anna, &r);
	refused(f, &r, 400, "purpose_required");
	who.purpose_id = 999999;                      /* unknown */
	call(f, &who, &person_anna, &r);
	refused(f, &r, 403, "purpose_not_allowed");
	who.purpose_id = f->other_purpose;            /* another body's */
	call(f, &who, &person_anna, &r);
	struct trail t = refused(f, &r, 403, "purpose_not_allowed");
	assert_int_equal(t.last.purpose_id, f->other_purpose);
}

static void set_state(struct store_convenzione *c, void *ctx)
{
	STR_COPY_KNOWN(c->state, (const char *)ctx);
}

static void set_ended(struct store_convenzione *c, void *ctx)
{
	(void)ctx;
	c->valid_to = 20251231;
}

static void set_future(struct store_convenzione *c, void *ctx)
{
	(void)ctx;
	c->valid_from = 20260102;
}

static void test_agreement_not_in_force(void **state)
{
	struct fx *f = *state;
	struct result r;
	int64_t purpose;
	int64_t conv = seed_agreement(f->s, f->ente, "identity", &purpose);
	struct access_who who = who_of(f, purpose);
	seed_agreement_edit(f->s, conv, set_state, "suspended");
	call(f, &who, &person_anna, &r);
	refused(f, &r, 403, "agreement_not_active");
	seed_agreement_edit(f->s, conv, set_state, "active");
	seed_agreement_edit(f->s, conv, set_ended, NULL);
	call(f, &who, &person_anna, &r);
	refused(f, &r, 403, "agreement_not_active");
	assert_string_equal(r.message, "la convenzione oggi non è in vigore");
	conv = seed_agreement(f->s, f->ente, "identity", &purpose);
	seed_agreement_edit(f->s, conv, set_future, NULL);
	who.purpose_id = purpose;
	call(f, &who, &person_anna, &r);
	refused(f, &r, 403, "agreement_not_active");
}

/* With the process's cache of control records (store_cache_*), as the
 * server runs it: a request reads its grant from the cache, and a change
 * made by another instance or the CLI (a second handle) is refused at the
 * very next request. */
static void test_cached_grant_follows_changes(void **state)
{
	struct fx *f = *state;
	struct result r;
	struct vis_error e = {0};
	struct store *other;
	OK(testdb_store_open(f->db.uri, &other, &e));
	struct store_cache *cache = store_cache_new();
	assert_non_null(cache);
	store_cache_attach(f->s, cache);
	int64_t purpose;
	int64_t conv = seed_agreement(f->s, f->ente, "identity", &purpose);
	struct access_who who = who_of(f, purpose);
	for (int i = 0; i < 2; i++) {
		store_cache_fresh(f->s);
		call(f, &who, &person_anna, &r);
		assert_int_equal(r.status, 200);
		free(r.bytes);
		trail_new(f);
	}
	struct store_cache_stats st;
	store_cache_stats(cache, &st);
	assert_true(st.hits >= 2);   /* the second request read purpose and agreement from it */
	seed_agreement_edit(other, conv, set_state, "suspended");
	store_cache_fresh(f->s);
	call(f, &who, &person_anna, &r);
	refused(f, &r, 403, "agreement_not_active");
	seed_agreement_edit(other, conv, set_state, "active");
	store_cache_fresh(f->s);
	call(f, &who, &person_anna, &r);
	assert_int_equal(r.status, 200);
	free(r.bytes);
	trail_new(f);
	store_cache_attach(f->s, NULL);
	store_cache_free(cache);
	store_close(other);
}

/* The store's work for one look-up by codice fiscale on a session, as
 * the server does it: the gate's reads (src/api/gate.c: the session, the
 * account, the body, the TOTP rule), then the corridor (access_prepare:
 * purpose, agreement, limits, the query, the alert rules); the access
 * record is written by the audit writer's own handle, not counted. */
static struct store_io lookup_io(struct fx *f, const struct config *cfg, const char *token)
{
	struct store_io a, b;
	struct vis_error e = {0};
	struct store_session sess;
	struct store_account acc;
	struct store_ente en;
	bool found;
	store_io_get(f->s, &a);
	store_cache_fresh(f->s);
	OK(auth_session_find(f->s, cfg, token, NOW, &sess, &found, &e));
	assert_true(found);
	OK(store_account_get(f->s, sess.account_id, &acc, &found, &e));
	assert_true(found);
	OK(store_ente_get(f->s, acc.ente_id, &en, &found, &e));
	assert_true(found);
	auth_totp_required(f->s, &acc);
	struct access_who who = who_of(f, f->purpose);
	who.account = &acc;
	struct result r;
	call(f, &who, &person_anna, &r);
	assert_int_equal(r.status, 200);
	free(r.bytes);
	trail_new(f);
	store_io_get(f->s, &b);
	return (struct store_io){b.statements - a.statements, b.round_trips - a.round_trips};
}

/* Counted by the driver, so the same on every run: the cache of control
 * records takes the gate's and the grant's reads off every request but
 * the first of a generation, for one read of the generation. */
static void test_lookup_statements(void **state)
{
	struct fx *f = *state;
	struct vis_error e = {0};
	struct config cfg;
	config_defaults(&cfg);
	char token[AUTH_TOKEN_MAX];
	struct store_session sess;
	OK(auth_session_create(f->s, &cfg, &f->acc, "10.1.2.3", NOW, token, &sess, &e));
	lookup_io(f, &cfg, token);   /* statements prepared on first use */
	struct store_io off = lookup_io(f, &cfg, token);
	struct store_cache *cache = store_cache_new();
	assert_non_null(cache);
	store_cache_attach(f->s, cache);
	struct store_io first = lookup_io(f, &cfg, token);
	struct store_io on = lookup_io(f, &cfg, token);
	struct store_io again = lookup_io(f, &cfg, token);
	store_cache_attach(f->s, NULL);
	store_cache_free(cache);
	fprintf(stderr, "look-up by codice fiscale (%s): without the cache %llu statements, "
		"%llu round trips; with it %llu statements, %llu round trips (first request of "
		"a generation: %llu, %llu)\n", use_pg ? "PostgreSQL" : "SQLite",
		(unsigned long long)off.statements, (unsigned long long)off.round_trips,
		(unsigned long long)on.statements, (unsigned long long)on.round_trips,
		(unsigned long long)first.statements, (unsigned long long)first.round_trips);
	/* account, body, TOTP rule, purpose, agreement: five reads, and the
	 * generation comes with the session */
	assert_int_equal(on.statements, off.statements - 5);
	assert_int_equal(again.statements, on.statements);
	assert_int_equal(first.statements, off.statements);
	/* The figures themselves (docs/performance.md): the session and the
	 * generation, the query (the person with their household: one statement on
	 * PostgreSQL, two on SQLite), the trail read back by
	 * lookup_io; on PostgreSQL the anti-extraction counters (one
	 * statement: the value written if its version is still the one this
	 * process wrote last, no lock held across a round trip; before,
	 * BEGIN with the lock, then the write with the COMMIT: four
	 * statements, two round trips), and no statement for the rate-limit
	 * counters: the first look-up leased 64 units of each of the six
	 * (limits of 1,000 a minute and more: policy/ratelimit.h), spent in
	 * this process by the next 63 (before leases, one statement a
	 * look-up, which locked, decided and wrote the six rows). */
	if (use_pg) {
		assert_int_equal(on.statements, 4);
		assert_int_equal(on.round_trips, 4);
		assert_int_equal(on.round_trips, off.round_trips - 5);
	} else {
		/* the query's reads in one read transaction: its BEGIN and
		 * COMMIT (store_read_begin) around the person and their
		 * household (two statements: no round trips to save, and one
		 * statement would read every household, test_plans.c) */
		assert_int_equal(on.statements, 6);
		assert_int_equal(on.round_trips, 0);
	}
}

/* ---- workstation certificate ---- */

static void set_workstation(struct store_convenzione *c, void *ctx)
{
	(void)ctx;
	c->workstation_cert = true;
}

static void test_workstation(void **state)
{
	struct fx *f = *state;
	struct result r;
	int64_t purpose;
	int64_t conv = seed_agreement(f->s, f->ente, "identity", &purpose);
	seed_agreement_edit(f->s, conv, set_workstation, NULL);
	struct access_who who = who_of(f, purpose);
	call(f, &who, &person_anna, &r);
	refused(f, &r, 403, "workstation_certificate_required");
	who.workstation = "0A0B0C";
	call(f, &who, &person_anna, &r);
	refused(f, &r, 403, "workstation_certificate_unknown");
	struct vis_error e = {0};
	struct store_workstation w = {.ente_id = f->other_ente, .issued_at = NOW - 10,
				      .expires_at = NOW + 86400};
	STR_COPY_KNOWN(w.serial, "0A0B0C");
	STR_COPY_KNOWN(w.name, "altrui");
	OK(store_workstation_insert(f->s, &w, &w.id, &e));
	call(f, &who, &person_anna, &r);             /* another body's */
	refused(f, &r, 403, "workstation_certificate_unknown");
	w.ente_id = f->ente;
	STR_COPY_KNOWN(w.serial, "0D0E0F");
	w.revoked_at = NOW - 1;
	OK(store_workstation_insert(f->s, &w, &w.id, &e));
	who.workstation = "0D0E0F";
	call(f, &who, &person_anna, &r);
	refused(f, &r, 403, "workstation_certificate_revoked");
	w.revoked_at = 0;
	w.expires_at = NOW;
	STR_COPY_KNOWN(w.serial, "0D0E10");
	OK(store_workstation_insert(f->s, &w, &w.id, &e));
	who.workstation = "0D0E10";
	call(f, &who, &person_anna, &r);
	refused(f, &r, 403, "workstation_certificate_revoked");
	w.expires_at = NOW + 60;
	STR_COPY_KNOWN(w.serial, "0D0E11");
	OK(store_workstation_insert(f->s, &w, &w.id, &e));
	who.workstation = "0D0E11";
	call(f, &who, &person_anna, &r);
	assert_int_equal(r.status, 200);
	free(r.bytes);
	struct trail t = trail_new(f);
	assert_string_equal(t.last.workstation, "0D0E11");
}

/* ---- mode, break-glass, limits ---- */

static void set_verify_only(struct store_convenzione *c, void *ctx)
{
	(void)ctx;
	STR_COPY_KNOWN(c->mode, "verify_only");
}

static void test_verify_only(void **state)
{
	struct fx *f = *state;
	struct result r;
	int64_t purpose;
	int64_t conv = seed_agreement(f->s, f->ente, "identity", &purpose);
	seed_agreement_edit(f->s, conv, set_verify_only, NULL);
	struct access_who who = who_of(f, purpose);
	const enum access_op reads[] = {ACCESS_SEARCH, ACCESS_PERSON, ACCESS_HOUSEHOLD,
					ACCESS_HISTORY, ACCESS_PRINT, ACCESS_EVENTS};
	for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
		struct access_what what = {.op = reads[i], .cf = SEED_ANNA};
		call(f, &who, &what, &r);
		refused(f, &r, 403, "mode_verify_only");
	}
	/* A verification passes: the declared surname is checked. */
	json_t *declared = json_pack("{s:s}", "surname", "Bianchi");
	struct access_what what = {.op = ACCESS_VERIFY, .cf = SEED_ANNA, .declared = declared};
	call(f, &who, &what, &r);
	assert_int_equal(r.status, 200);
	free(r.bytes);
	struct trail t = trail_new(f);
	assert_string_equal(t.last.outcome, "ok");
	assert_non_null(strstr(t.last.query, " surname"));
	json_decref(declared);
}

static void no_break_glass(struct store_convenzione *c, void *ctx)
{
	(void)ctx;
	c->break_glass = false;
}

static void one_per_minute(struct store_convenzione *c, void *ctx)
{
	(void)ctx;
	c->per_minute = 1;
}

static void test_break_glass(void **state)
{
	struct fx *f = *state;
	struct result r;
	int64_t purpose;
	int64_t conv = seed_agreement(f->s, f->ente, "identity", &purpose);
	struct access_who who = who_of(f, purpose);
	who.break_glass = true;
	call(f, &who, &person_anna, &r);
	refused(f, &r, 400, "justification_required");
	who.justification = "urgente";                    /* under 20 characters */
	call(f, &who, &person_anna, &r);
	refused(f, &r, 400, "justification_required");
	seed_agreement_edit(f->s, conv, no_break_glass, NULL);
	who.justification = "persona scomparsa, ricerca urgente in corso";
	call(f, &who, &person_anna, &r);
	refused(f, &r, 403, "break_glass_not_allowed");
}

static void test_rate_limit(void **state)
{
	struct fx *f = *state;
	struct result r;
	int64_t purpose;
	int64_t conv = seed_agreement(f->s, f->ente, "identity", &purpose);
	seed_agreement_edit(f->s, conv, one_per_minute, NULL);
	/* Its own operator: with the counters in the database (PostgreSQL),
	 * the other tests' requests of this minute count too. */
	struct store_account acc;
	seed_account(f->s, f->ente, "op_limits", &acc);
	struct access_who who = who_of(f, purpose);
	who.account = &acc;
	call(f, &who, &person_anna, &r);
	assert_int_equal(r.status, 200);
	free(r.bytes);
	trail_new(f);
	call(f, &who, &person_anna, &r);
	refused(f, &r, 429, "rate_limited");
	assert_true(r.retry_after > 0 && r.retry_after <= 60);
	/* Break-glass goes beyond the limits, flagged in the record. */
	who.break_glass = true;
	who.justification = "persona scomparsa, ricerca urgente in corso";
	call(f, &who, &person_anna, &r);
	assert_int_equal(r.status, 200);
	free(r.bytes);
	struct trail t = trail_new(f);
	assert_int_equal(t.n, 1);
	assert_string_equal(t.last.flags, "break_glass");
	/* A minute later the limit has room again. */
	who.break_glass = false;
	call_at(f, NOW + 61, &who, &person_anna, &r);
	assert_int_equal(r.status, 200);
	free(r.bytes);
	trail_new(f);
}

/* A consultation's and a search's parameters in their record (written by
 * hand, no longer by snprintf): each cut at its width, absent ones empty. */
static void test_query_text(void **state)
{
	struct fx *f = *state;
	struct access_who who = who_of(f, f->purpose);
	struct result r;
	struct access_what plain = {.op = ACCESS_PERSON, .cf = SEED_ANNA};
	call(f, &who, &plain, &r);
	assert_int_equal(r.status, 200);
	free(r.bytes);
	struct trail t = trail_new(f);
	assert_string_equal(t.last.query, "cf=" SEED_ANNA " as_of=");
	struct access_what dated = {.op = ACCESS_PERSON, .cf = SEED_ANNA, .as_of = "2026-01-01"};
	call(f, &who, &dated, &r);
	assert_int_equal(r.status, 200);
	free(r.bytes);
	t = trail_new(f);
	assert_string_equal(t.last.query, "cf=" SEED_ANNA " as_of=2026-01-01");
	struct access_what longer = {.op = ACCESS_PERSON, .cf = SEED_ANNA "QQQ",
				     .as_of = "2026-01-01T00:00:00Z"};
	call(f, &who, &longer, &r);
	t = refused(f, &r, 400, "invalid_request");
	assert_string_equal(t.last.query, "cf=" SEED_ANNA " as_of=2026-01-01");
	struct access_what none = {.op = ACCESS_PERSON, .cf = NULL, .as_of = "x"};
	call(f, &who, &none, &r);
	t = refused(f, &r, 400, "invalid_request");
	assert_string_equal(t.last.query, "cf= as_of=x");
	/* a search's: "cf=%.16s surname=%.100s name=%.100s birth_date=%.10s
	 * birth_year=%.4s comune=%.6s" */
	struct access_what search = {.op = ACCESS_SEARCH, .surname = "Bianchi", .name = "Anna",
				     .birth_year = "1982"};
	call(f, &who, &search, &r);
	assert_int_equal(r.status, 200);
	free(r.bytes);
	t = trail_new(f);
	assert_string_equal(t.last.query,
			    "cf= surname=Bianchi name=Anna birth_date= birth_year=1982 comune=");
	char sur[121], nam[121], want[400];
	memset(sur, 'S', 120);
	sur[120] = '\0';
	memset(nam, 'N', 120);
	nam[120] = '\0';
	struct access_what wide = {.op = ACCESS_SEARCH, .cf = "ABCDEFGHIJKLMNOPQRST",
				   .surname = sur, .name = nam, .birth_date = "2026-01-01XX",
				   .birth_year = "198234", .comune = "F257XYZZ"};
	call(f, &who, &wide, &r);
	t = refused(f, &r, 400, "invalid_request");
	snprintf(want, sizeof want, "cf=%.16s surname=%.100s name=%.100s birth_date=%.10s "
		 "birth_year=%.4s comune=%.6s", wide.cf, sur, nam, wide.birth_date,
		 wide.birth_year, wide.comune);
	assert_int_equal(strlen(want), 286);
	assert_string_equal(t.last.query, want);
}

/* ---- the query within the grant ---- */

static void test_query_refusals(void **state)
{
	struct fx *f = *state;
	struct result r;
	int64_t purpose;
	seed_agreement(f->s, f->ente, "residence", &purpose);
	struct access_who who = who_of(f, purpose);
	call(f, &who, &person_anna, &r);             /* identity outside the profile */
	refused(f, &r, 403, "category_not_permitted");
	who.purpose_id = f->purpose;
	struct access_what hist = {.op = ACCESS_HISTORY, .cf = SEED_ANNA};
	call(f, &who, &hist, &r);                    /* history outside the profile */
	refused(f, &r, 403, "category_not_permitted");
	struct access_what bad = {.op = ACCESS_PERSON, .cf = "BNCNNA82C55F257A"};
	call(f, &who, &bad, &r);
	refused(f, &r, 400, "invalid_request");
	struct access_what asof = {.op = ACCESS_PERSON, .cf = SEED_ANNA, .as_of = "2026-13-01"};
	call(f, &who, &asof, &r);
	refused(f, &r, 400, "invalid_request");
	struct access_what street = {.op = ACCESS_SEARCH, .surname = "Bianchi", .name = "Anna",
				     .street = "EMILIA"};
	call(f, &who, &street, &r);
	struct trail t = refused(f, &r, 400, "invalid_request");
	assert_non_null(strstr(t.last.query, "surname=Bianchi"));
	struct access_what bare = {.op = ACCESS_SEARCH, .surname = "Bianchi", .name = "Anna"};
	call(f, &who, &bare, &r);                    /* no birth date, year or comune */
	refused(f, &r, 400, "invalid_request");
	struct access_what verify = {.op = ACCESS_VERIFY, .cf = "SHORT"};
	call(f, &who, &verify, &r);
	refused(f, &r, 400, "invalid_request");
	struct access_what events = {.op = ACCESS_EVENTS};
	call(f, &who, &events, &r);
	refused(f, &r, 403, "not_subscribed");
	struct access_what limit = {.op = ACCESS_EVENTS, .limit = "5000"};
	call(f, &who, &limit, &r);
	refused(f, &r, 400, "invalid_request");
	/* A search by name finds Anna with one typo, approximately. */
	struct access_what typo = {.op = ACCESS_SEARCH, .surname = "Bianchi", .name = "Ana",
				   .birth_year = "1982"};
	call(f, &who, &typo, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.bytes, "\"approximate\":true"));
	free(r.bytes);
	t = trail_new(f);
	assert_string_equal(t.subjects, SEED_ANNA);
}

static void test_too_broad_and_too_large(void **state)
{
	struct fx *f = *state;
	struct result r;
	struct access_who who = who_of(f, f->purpose);
	/* The convivenza's guests: more than max_results share a name. */
	struct access_what many = {.op = ACCESS_SEARCH, .surname = "Ospite", .name = "Anna",
				   .comune = SEED_COMUNE};
	call(f, &who, &many, &r);
	assert_int_equal(r.status, 422);
	assert_string_equal(r.code, "query_too_broad");
	struct trail t = trail_new(f);
	assert_int_equal(t.n, 1);
	assert_string_equal(t.last.outcome, "too_broad");
	/* Its household names more persons than a record may hold. */
	struct access_what house = {.op = ACCESS_HOUSEHOLD, .cf = f->crowd_cf};
	call(f, &who, &house, &r);
	t = refused(f, &r, 422, "answer_too_large");
	assert_string_equal(t.last.operation, "household");
}

/* ---- alerts: past the hard threshold no data leaves ---- */

static void test_suspended_by_alert(void **state)
{
	struct fx *f = *state;
	struct alert_limits l;
	alert_limits_default(&l);
	l.persons_hour = 1;
	l.persons_hour_hard = 2;
	alert_tracker_free(f->alerts);
	f->alerts = alert_tracker_new(&l);
	struct store_account acc;
	seed_account(f->s, f->ente, "op_alert", &acc);
	struct access_who who = who_of(f, f->purpose);
	who.account = &acc;
	struct result r;
	call(f, &who, &person_anna, &r);
	assert_int_equal(r.status, 200);
	free(r.bytes);
	trail_new(f);
	struct access_what luca = {.op = ACCESS_PERSON, .cf = SEED_LUCA};
	call(f, &who, &luca, &r);
	refused(f, &r, 403, "account_suspended");
	struct store_account now;
	bool found = false;
	struct vis_error e = {0};
	OK(store_account_get(f->s, acc.id, &now, &found, &e));
	assert_true(found);
	assert_string_equal(now.state, "disabled");
}

/* ---- no durable record, no answer ---- */

static void trail_refuses(struct fx *f, bool on)
{
	if (f->db.pg)
		assert_true(testdb_exec(&f->db, on ?
			"CREATE FUNCTION no_trail() RETURNS trigger AS $$ BEGIN "
			"RAISE EXCEPTION 'trail refused'; END $$ LANGUAGE plpgsql;"
			"CREATE TRIGGER no_trail BEFORE INSERT ON access_log FOR EACH ROW "
			"EXECUTE FUNCTION no_trail();"
			: "DROP TRIGGER no_trail ON access_log; DROP FUNCTION no_trail();"));
	else
		assert_true(testdb_exec(&f->db, on ?
			"CREATE TRIGGER trail.no_trail BEFORE INSERT ON access_log "
			"BEGIN SELECT RAISE(ABORT, 'trail refused'); END;"
			: "DROP TRIGGER trail.no_trail;"));
}

static void test_record_failure(void **state)
{
	struct fx *f = *state;
	struct access_who who = who_of(f, f->purpose);
	struct result r;
	trail_refuses(f, true);
	call(f, &who, &person_anna, &r);
	assert_int_equal(r.status, 500);
	assert_true(r.internal);
	assert_null(r.bytes);                        /* no data without its record */
	/* A refusal whose record fails is not sent as a refusal either. */
	who.purpose_id = 0;
	call(f, &who, &person_anna, &r);
	assert_int_equal(r.status, 500);
	assert_true(r.internal);
	trail_refuses(f, false);
	assert_int_equal(trail_new(f).n, 0);
	/* The trail takes records again. */
	who.purpose_id = f->purpose;
	call(f, &who, &person_anna, &r);
	assert_int_equal(r.status, 200);
	free(r.bytes);
	assert_int_equal(trail_new(f).n, 1);
}

/* A failure of ours before the record (the store cannot read the grant):
 * 500, no record, nothing sent. */
static void test_store_failure(void **state)
{
	struct fx *f = *state;
	struct access_who who = who_of(f, f->purpose);
	struct result r;
	assert_true(testdb_exec(&f->db, "ALTER TABLE purpose RENAME TO purpose_away;"));
	call(f, &who, &person_anna, &r);
	assert_true(testdb_exec(&f->db, "ALTER TABLE purpose_away RENAME TO purpose;"));
	assert_int_equal(r.status, 500);
	assert_true(r.internal);
	assert_null(r.bytes);
	assert_int_equal(trail_new(f).n, 0);
}

/* ---- the ANPR shape (access/anpr.h): anomalies and field names ---- */

static void test_anpr_anomalies(void **state)
{
	(void)state;
	assert_string_equal(access_anpr_anomaly("not_found")->code, "EN122");
	assert_string_equal(access_anpr_anomaly("several_results")->code, "VIS01");
	assert_string_equal(access_anpr_anomaly("query_too_broad")->code, "VIS01");
	assert_string_equal(access_anpr_anomaly("category_not_permitted")->code, "VIS02");
	assert_string_equal(access_anpr_anomaly("mode_verify_only")->code, "VIS02");
	assert_string_equal(access_anpr_anomaly("reference_date_invalid")->code, "VIS04");
	assert_string_equal(access_anpr_anomaly("reference_date_uncovered")->code, "VIS05");
	assert_string_equal(access_anpr_anomaly("rate_limited")->code, "VIS08");
	/* a code the table does not know, or none: a generic refusal */
	assert_string_equal(access_anpr_anomaly("workstation_certificate_required")->code, "VIS99");
	assert_string_equal(access_anpr_anomaly(NULL)->code, "VIS99");
	assert_string_equal(access_anpr_anomaly("not_found")->type, "E");
	assert_string_equal(access_anpr_anomaly("not_found")->text,
			    "La richiesta effettuata non produce alcun risultato");
}

/* The string at a dotted path of objects ("a.b.c"), or NULL. */
static const char *at(json_t *j, const char *path)
{
	char key[64];
	for (;;) {
		size_t n = strcspn(path, ".");
		snprintf(key, sizeof key, "%.*s", (int)n, path);
		j = json_object_get(j, key);
		if (!path[n])
			return json_string_value(j);
		path += n + 1;
	}
}

static json_t *subject_of(const char *view)
{
	json_error_t e;
	json_t *v = json_loads(view, 0, &e);
	assert_non_null(v);
	json_t *s = access_anpr_subject(v);
	json_decref(v);
	return s;
}

/* The answer holds what the view holds, and nothing a view without a
 * category could give. */
static void test_anpr_subject_follows_view(void **state)
{
	(void)state;
	json_t *s = subject_of("{\"identity\":{\"codice_fiscale\":\"RSSMRA80E10F257Q\","
		"\"surname\":\"ROSSI\",\"name\":\"MARIO\",\"sex\":\"M\",\"birth_date\":\"1980-05-10\","
		"\"birth_place\":{\"code\":\"036023\",\"name\":\"MODENA\"}}}");
	assert_int_equal(json_object_size(s), 1);
	json_t *g = json_object_get(s, "generalita");
	assert_string_equal(at(g, "codiceFiscale.codFiscale"), "RSSMRA80E10F257Q");
	assert_string_equal(at(g, "cognome"), "ROSSI");
	assert_string_equal(at(g, "luogoNascita.comune.codiceIstat"), "036023");
	assert_null(json_object_get(s, "identificativi"));   /* ANPR's holds idANPR only */
	json_decref(s);

	/* a foreign birth place is a locality; residence with its municipality */
	s = subject_of("{\"identity\":{\"birth_place\":{\"code\":\"203\"}},"
		"\"comune\":{\"code\":\"036023\",\"name\":\"MODENA\"},"
		"\"residence\":{\"registration_date\":\"2020-01-01\",\"address\":{\"dug\":\"VIA\","
		"\"street\":\"EMILIA\",\"civic\":10,\"civic_ext\":\"\",\"scala\":\"B\",\"interno\":\"\","
		"\"cap\":\"41121\",\"locality\":\"\"}}}");
	assert_string_equal(at(s, "generalita.luogoNascita.localita.codiceStato"), "203");
	json_t *ind = json_object_get(json_array_get(json_object_get(s, "residenza"), 0), "indirizzo");
	assert_string_equal(at(ind, "comune.codiceIstat"), "036023");
	json_t *civ = json_object_get(ind, "numeroCivico");
	assert_string_equal(at(civ, "numero"), "10");
	assert_null(json_object_get(civ, "esponente1"));    /* empty: left out */
	assert_null(json_object_get(ind, "frazione"));
	assert_string_equal(at(civ, "civicoInterno.scala"), "B");
	assert_null(json_object_get(s, "cittadinanza"));
	assert_null(json_object_get(s, "genitori"));
	json_decref(s);

	/* deceased: not alive, with the date */
	s = subject_of("{\"vital_status\":{\"status\":\"deceased\",\"date\":\"2025-01-15\"}}");
	assert_int_equal(json_object_size(s), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		json_object_get(s, "infoSoggettoEnte"), 0), "valore")), "N");
	assert_string_equal(at(s, "datiDecesso.dataEvento"), "2025-01-15");
	json_decref(s);
	s = subject_of("{}");
	assert_int_equal(json_object_size(s), 0);
	json_decref(s);
}

static void test_anpr_answer(void **state)
{
	(void)state;
	json_t *a = access_anpr_answer("op-1", 42, json_pack("{s:[]}", "datiSoggetto"), NULL);
	assert_string_equal(at(a, "idOperazioneClient"), "op-1");
	assert_string_equal(at(a, "idOperazioneANPR"), "42");
	assert_int_equal(json_array_size(json_object_get(a, "listaAnomalie")), 0);
	assert_non_null(json_object_get(a, "listaSoggetti"));
	json_decref(a);
	a = access_anpr_answer(NULL, 43, NULL, "not_found");
	assert_true(json_is_null(json_object_get(a, "idOperazioneClient")));
	assert_null(json_object_get(a, "listaSoggetti"));
	assert_null(json_object_get(a, "listaAnomalie"));   /* a refusal is RispostaKO */
	json_t *an = json_array_get(json_object_get(a, "listaErrori"), 0);
	assert_string_equal(at(an, "codiceErroreAnomalia"), "EN122");
	assert_string_equal(at(an, "tipoErroreAnomalia"), "E");
	json_decref(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anpr_anomalies),
		cmocka_unit_test(test_anpr_subject_follows_view),
		cmocka_unit_test(test_anpr_answer),
		cmocka_unit_test_setup_teardown(test_answer_after_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_print_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found_recorded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_on_behalf_of_required, setup, teardown),
		cmocka_unit_test_setup_teardown(test_case_ref_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_grant, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agreement_not_in_force, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cached_grant_follows_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_statements, setup, teardown),
		cmocka_unit_test_setup_teardown(test_workstation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_break_glass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_broad_and_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_suspended_by_alert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_failure, setup, teardown),
	};
	return TESTDB_RUN("access", tests, group_setup, group_teardown, &use_pg);
}
