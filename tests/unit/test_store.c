/* Unit tests: store.h itself, the same checks on every back end — SQLite,
 * and PostgreSQL when $VISURA_TEST_PG is set (see testdb.h): register
 * versions and reads, control records, the access trail (also appended by
 * two connections at once), codes, cursors, shared state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/driver.h"
#include "store/ops.h"

#include <sqlite3.h>

#include "audit/audit.h"
#include "audit/subjects.h"
#include "auth/auth.h"
#include "common/config.h"
#include "common/str.h"
#include "store/schema.h"
#include "store/sql.h"
#include "store/store.h"
#include "testdb.h"

struct fixture {
	struct testdb db;
	struct store *s;
};

static bool use_pg;   /* the back end of the group being run */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	if (!f || testdb_open(&f->db, use_pg, "store", &f->s))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	testdb_close(&f->db, f->s);
	free(f);
	return 0;
}

/* Asserts success, showing the store's message when it failed (every
 * caller has its struct vis_error in `e`). */
#define OK(call)                                                               \
	do {                                                                   \
		vis_err rc_ = (call);                                          \
		if (rc_ != VIS_OK)                                             \
			fprintf(stderr, "%s\n", e.msg);                        \
		assert_int_equal(rc_, VIS_OK);                                 \
	} while (0)

static void test_schema(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(store_schema_version(f->s), store_schema_latest());
	/* A second handle finds the schema in place. */
	struct store *other;
	struct vis_error e = {0};
	OK(testdb_store_open(f->db.uri, &other, &e));
	assert_int_equal(store_schema_version(other), store_schema_latest());
	store_close(other);
}

/* ---- register ---- */

static struct store_family family(const char *id, int valid_from, const char *street)
{
	struct store_family fam = {.kind = 1, .valid_from = valid_from, .civic = 12};
	snprintf(fam.comune, sizeof fam.comune, "036023");
	snprintf(fam.id, sizeof fam.id, "%s", id);
	snprintf(fam.dug, sizeof fam.dug, "VIA");
	snprintf(fam.street, sizeof fam.street, "%s", street);
	snprintf(fam.cap, sizeof fam.cap, "41121");
	return fam;
}

static struct store_person person(const char *id, const char *cf, const char *surname,
				  const char *name, int birth, const char *fam)
{
	struct store_person p = {.sex = 'F', .birth_date = birth, .valid_from = 20200101,
				 .civil_status = 1, .reg_reason = 1, .reg_date = birth,
				 .relationship = 1};
	snprintf(p.comune, sizeof p.comune, "036023");
	snprintf(p.id, sizeof p.id, "%s", id);
	snprintf(p.cf, sizeof p.cf, "%s", cf);
	snprintf(p.surname, sizeof p.surname, "%s", surname);
	snprintf(p.name, sizeof p.name, "%s", name);
	snprintf(p.birth_place, sizeof p.birth_place, "036023");
	snprintf(p.citizenships, sizeof p.citizenships, "100");
	snprintf(p.family_id, sizeof p.family_id, "%s", fam);
	return p;
}

static int64_t import_begin(struct store *s, int64_t seq, bool full, bool *empty)
{
	struct store_import imp = {.seq = seq, .extract = 1700000000 + seq, .full = full};
	snprintf(imp.comune, sizeof imp.comune, "036023");
	snprintf(imp.sha256, sizeof imp.sha256, "%064lld", (long long)seq);
	snprintf(imp.source, sizeof imp.source, "test-%lld", (long long)seq);
	int64_t id;
	struct vis_error e = {0};
	OK(store_import_start(s, &imp, &id, empty, &e));
	return id;
}

static void import_end(struct store *s, int64_t id, int64_t seq, bool full,
		       struct store_import_counts *c)
{
	struct store_import imp = {.seq = seq, .extract = 1700000000 + seq, .full = full};
	snprintf(imp.comune, sizeof imp.comune, "036023");
	snprintf(imp.sha256, sizeof imp.sha256, "%064lld", (long long)seq);
	struct vis_error e = {0};
	OK(store_import_finish(s, id, &imp, 20240101, c, NULL, &e));
	OK(store_commit(s, &e));
}

struct names {
	int n;
	char ids[8][STORE_ID_MAX];
	int valid_to[8];
};

static int collect(void *ctx, const struct store_person *p)
{
	struct names *n = ctx;
	if (n->n < 8) {
		snprintf(n->ids[n->n], sizeof n->ids[0], "%s", p->id);
		n->valid_to[n->n] = p->valid_to;
	}
	n->n++;
	return 0;
}

struct cursor {
	int n;
	int64_t last;
	char cf[17];
};

static int feed_event(void *ctx, int64_t rowid, const struct store_event *ev, const char *cf)
{
	struct cursor *c = ctx;
	(void)ev;
	assert_true(rowid > c->last);
	c->last = rowid;
	snprintf(c->cf, sizeof c->cf, "%s", cf);
	c->n++;
	return 0;
}

static void test_register(void **state)
{
	struct fixture *f = *state;
	struct vis_error e = {0};
	enum store_put_result res;
	bool empty, found;
	/* A first snapshot into empty tables: the bulk path. */
	int64_t imp1 = import_begin(f->s, 1, true, &empty);
	assert_true(empty);
	struct store_family f1 = family("F1", 20200101, "EMILIA EST");
	OK(store_family_put(f->s, imp1, true, &f1, NULL, &res, &e));
	assert_int_equal(res, STORE_INSERTED);
	struct store_person anna = person("P1", "BNCNNA82C55F257X", "Bianchi", "Anna", 19820315, "F1");
	struct store_person luca = person("P2", "RSSLCU12L30F257Y", "Rossi", "Luca", 20120730, "F1");
	OK(store_person_put(f->s, imp1, true, &anna, NULL, &res, &e));
	OK(store_person_put(f->s, imp1, true, &luca, NULL, &res, &e));
	struct store_event ev = {.date = 20200101};
	snprintf(ev.comune, sizeof ev.comune, "036023");
	snprintf(ev.id, sizeof ev.id, "E1");
	snprintf(ev.type, sizeof ev.type, "NASCITA");
	snprintf(ev.person_id, sizeof ev.person_id, "P2");
	snprintf(ev.place, sizeof ev.place, "036023");
	OK(store_event_put(f->s, imp1, true, &ev, NULL, &res, &e));
	assert_int_equal(res, STORE_INSERTED);
	struct store_import_counts c = {.inserted = 4, .families = 1, .persons = 2, .events = 1};
	import_end(f->s, imp1, 1, true, &c);

	struct store_counts n;
	OK(store_counts_get(f->s, "036023", 0, &n, &e));
	assert_int_equal(n.persons, 2);
	assert_int_equal(n.families, 1);
	assert_int_equal(n.events, 1);
	OK(store_family_exists(f->s, "036023", "F1", &found, &e));
	assert_true(found);
	char owner[STORE_ID_MAX];
	OK(store_person_cf_owner(f->s, "036023", "RSSLCU12L30F257Y", owner, &found, &e));
	assert_true(found);
	assert_string_equal(owner, "P2");

	/* A delta: Anna moves house on 2024-03-01; the same event again is
	 * unchanged, with other content a conflict. */
	int64_t imp2 = import_begin(f->s, 2, false, &empty);
	assert_false(empty);
	struct store_family f1b = family("F1", 20240301, "GIARDINI");
	OK(store_family_put(f->s, imp2, false, &f1b, NULL, &res, &e));
	assert_int_equal(res, STORE_UPDATED);
	struct store_person anna2 = anna;
	anna2.valid_from = 20240301;
	anna2.civil_status = 2;
	OK(store_person_put(f->s, imp2, false, &anna2, NULL, &res, &e));
	assert_int_equal(res, STORE_UPDATED);
	OK(store_person_put(f->s, imp2, false, &luca, NULL, &res, &e));
	assert_int_equal(res, STORE_UNCHANGED);
	OK(store_event_put(f->s, imp2, false, &ev, NULL, &res, &e));
	assert_int_equal(res, STORE_UNCHANGED);
	struct store_event other = ev;
	other.date = 20200102;
	assert_int_equal(store_event_put(f->s, imp2, false, &other, NULL, &res, &e), VIS_ERR_CONFLICT);
	e = (struct vis_error){0};
	struct store_import_counts c2 = {.updated = 2, .unchanged = 2};
	import_end(f->s, imp2, 2, false, &c2);

	struct store_person p;
	OK(store_person_by_cf(f->s, "", "BNCNNA82C55F257X", 20230101, &p, &found, &e));
	assert_true(found);
	assert_int_equal(p.civil_status, 1);
	assert_int_equal(p.valid_to, 20240301);
	OK(store_person_by_cf(f->s, "036023", "BNCNNA82C55F257X", 0, &p, &found, &e));
	assert_int_equal(p.civil_status, 2);
	assert_int_equal(p.valid_to, 0);
	assert_string_equal(p.surname, "Bianchi");
	assert_string_equal(p.family_id, "F1");
	struct names h = {0};
	OK(store_person_history(f->s, "036023", "P1", collect, &h, &e));
	assert_int_equal(h.n, 2);
	assert_int_equal(h.valid_to[0], 20240301);
	assert_int_equal(h.valid_to[1], 0);
	struct store_family fam;
	OK(store_family_get(f->s, "036023", "F1", 20230101, &fam, &found, &e));
	assert_string_equal(fam.street, "EMILIA EST");
	OK(store_family_get(f->s, "036023", "F1", 0, &fam, &found, &e));
	assert_string_equal(fam.street, "GIARDINI");
	struct names m = {0};
	OK(store_family_members(f->s, "036023", "F1", 0, collect, &m, &e));
	assert_int_equal(m.n, 2);
	struct names v = {0};
	OK(store_person_versions_at(f->s, "RSSLCU12L30F257Y", 0, collect, &v, &e));
	assert_int_equal(v.n, 1);
	struct names all = {0};
	OK(store_person_each_at(f->s, "", 20230101, collect, &all, &e));
	assert_int_equal(all.n, 2);

	/* Searches by folded keys, exact and with one of the two. */
	struct store_search q = {.mode = STORE_SEARCH_EXACT, .limit = 10};
	snprintf(q.surname_key, sizeof q.surname_key, "BIANCHI");
	snprintf(q.name_key, sizeof q.name_key, "ANNA");
	struct names r = {0};
	OK(store_person_search(f->s, &q, collect, &r, &e));
	assert_int_equal(r.n, 1);
	q.mode = STORE_SEARCH_SURNAME;
	snprintf(q.name_key, sizeof q.name_key, "ANA");
	q.birth_year = 1982;
	r.n = 0;
	OK(store_person_search(f->s, &q, collect, &r, &e));
	assert_int_equal(r.n, 1);
	q.mode = STORE_SEARCH_NAME;
	snprintf(q.surname_key, sizeof q.surname_key, "ROSI");
	snprintf(q.name_key, sizeof q.name_key, "LUCA");
	q.birth_year = 0;
	snprintf(q.comune, sizeof q.comune, "036023");
	r.n = 0;
	OK(store_person_search(f->s, &q, collect, &r, &e));
	assert_int_equal(r.n, 1);

	/* The feed state, the import history, the event cursor. */
	struct store_feed fs;
	OK(store_feed_get(f->s, "036023", &fs, &found, &e));
	assert_true(found);
	assert_int_equal(fs.last_seq, 2);
	char sha[65];
	OK(store_import_sha(f->s, "036023", 1, sha, &found, &e));
	assert_true(found);
	struct store_import_counts last;
	OK(store_import_last_counts(f->s, "036023", &last, &e));
	assert_int_equal(last.updated, 2);
	struct cursor cur = {0};
	OK(store_events_after(f->s, 0, "036023,036005", "NASCITA", 10, feed_event, &cur, &e));
	assert_int_equal(cur.n, 1);
	assert_string_equal(cur.cf, "RSSLCU12L30F257Y");
	struct cursor none = {.last = cur.last};
	OK(store_events_after(f->s, cur.last, "036023", "NASCITA", 10, feed_event, &none, &e));
	assert_int_equal(none.n, 0);
	OK(store_events_after(f->s, 0, "036023", "MORTE", 10, feed_event, &none, &e));
	assert_int_equal(none.n, 0);
}

/* ---- control records ---- */

static int count_rec(void *ctx, const void *rec)
{
	(void)rec;
	(*(int *)ctx)++;
	return 0;
}

static void test_records(void **state)
{
	struct fixture *f = *state;
	struct vis_error e = {0};
	bool found;
	struct store_ente ente = {.created_at = 1};
	snprintf(ente.name, sizeof ente.name, "Polizia Locale");
	snprintf(ente.kind, sizeof ente.kind, "police");
	snprintf(ente.state, sizeof ente.state, "active");
	int64_t ente_id, acct_id, dup;
	OK(store_ente_insert(f->s, &ente, &ente_id, &e));
	assert_true(ente_id > 0);
	struct store_account a = {.ente_id = ente_id, .expires_at = 99, .created_at = 1};
	snprintf(a.username, sizeof a.username, "mario.rossi");
	snprintf(a.role, sizeof a.role, "operator");
	snprintf(a.state, sizeof a.state, "active");
	snprintf(a.full_name, sizeof a.full_name, "Mario Rossi, l'agente");
	OK(store_account_insert(f->s, &a, &acct_id, &e));
	assert_int_equal(store_account_insert(f->s, &a, &dup, &e), VIS_ERR_CONFLICT);
	/* what may reach a client is Italian; the database's text (English,
	 * naming tables and constraints) only in the log */
	assert_string_equal(e.msg, DRV_CONFLICT_MESSAGE);
	struct store_account got;
	OK(store_account_by_username(f->s, "mario.rossi", &got, &found, &e));
	assert_true(found);
	assert_int_equal(got.id, acct_id);
	assert_string_equal(got.full_name, "Mario Rossi, l'agente");
	struct store_account was = got;
	got.totp_enabled = true;
	snprintf(got.state, sizeof got.state, "disabled");
	OK(store_account_update(f->s, &was, &got, &e));
	OK(store_account_get(f->s, acct_id, &got, &found, &e));
	assert_true(got.totp_enabled);
	assert_string_equal(got.state, "disabled");
	struct store_filter flt[] = {{"ente_id", NULL, ente_id}, {"role", "operator", 0}, {NULL, NULL, 0}};
	int n = 0;
	OK(store_rec_list(f->s, STORE_ACCOUNT, flt, 0, count_rec, &n, &e));
	assert_int_equal(n, 1);
	/* The record of processing is pre-filled by the schema. */
	n = 0;
	OK(store_rec_list(f->s, STORE_PROCESSING, NULL, 3, count_rec, &n, &e));
	assert_int_equal(n, 3);
	OK(store_rec_delete(f->s, STORE_PROCESSING, 5, &e));
	OK(store_processing_get(f->s, 5, &(struct store_processing){0}, &found, &e));
	assert_false(found);

	bool advanced;
	OK(store_account_totp_advance(f->s, acct_id, 100, &advanced, &e));
	assert_true(advanced);
	OK(store_account_totp_advance(f->s, acct_id, 100, &advanced, &e));
	assert_false(advanced);

	int64_t sid[2];
	for (int i = 0; i < 2; i++) {
		struct store_session s = {.account_id = acct_id, .expires_at = 1000};
		snprintf(s.token_hash, sizeof s.token_hash, "%064d", i);
		OK(store_session_insert(f->s, &s, &sid[i], &e));
	}
	OK(store_sessions_revoke_others(f->s, acct_id, sid[0], 50, &e));
	struct store_session s;
	OK(store_session_get(f->s, sid[1], &s, &found, &e));
	assert_int_equal(s.revoked_at, 50);
	OK(store_sessions_revoke_account(f->s, acct_id, 60, &e));
	OK(store_session_get(f->s, sid[0], &s, &found, &e));
	assert_int_equal(s.revoked_at, 60);
	OK(store_tokens_revoke_account(f->s, acct_id, 60, &e));

	OK(store_password_history_add(f->s, acct_id, "h1", 10, &e));
	OK(store_password_history_add(f->s, acct_id, "h2", 10, &e));
	OK(store_password_history_add(f->s, acct_id, "h3", 5, &e));
	char hashes[3][128];
	int nh;
	OK(store_password_history(f->s, acct_id, hashes, 3, &nh, &e));
	assert_int_equal(nh, 3);
	assert_string_equal(hashes[0], "h2");   /* same time: the later one first */
	assert_string_equal(hashes[1], "h1");
	assert_string_equal(hashes[2], "h3");

	struct store_throttle t = {.failures = 3, .last_failure_at = 7, .locked_until = 9};
	OK(store_throttle_put(f->s, "user:mario", &t, &e));
	t.failures = 4;
	OK(store_throttle_put(f->s, "user:mario", &t, &e));
	struct store_throttle t2;
	OK(store_throttle_get(f->s, "user:mario", &t2, &e));
	assert_int_equal(t2.failures, 4);
	OK(store_throttle_get(f->s, "user:nobody", &t2, &e));
	assert_int_equal(t2.failures, 0);

	char val[64];
	OK(store_setting_put(f->s, "totp_roles", "admin", &e));
	OK(store_setting_put(f->s, "totp_roles", "admin,lead", &e));
	OK(store_setting_get(f->s, "totp_roles", val, sizeof val, &found, &e));
	assert_true(found);
	assert_string_equal(val, "admin,lead");

	struct store_convenzione conv = {.ente_id = ente_id, .valid_from = 20260101};
	snprintf(conv.state, sizeof conv.state, "active");
	snprintf(conv.mode, sizeof conv.mode, "consult");
	int64_t conv_id;
	OK(store_convenzione_insert(f->s, &conv, &conv_id, &e));
	struct store_webhook w = {.convenzione_id = conv_id, .cursor = 9, .attempts = 1};
	snprintf(w.last_error, sizeof w.last_error, "timeout");
	OK(store_webhook_put(f->s, &w, &e));
	struct store_webhook w2;
	OK(store_webhook_get(f->s, conv_id, &w2, &e));
	assert_int_equal(w2.cursor, 9);
	assert_string_equal(w2.last_error, "timeout");
	OK(store_webhook_get(f->s, conv_id + 1, &w2, &e));
	assert_int_equal(w2.cursor, 0);
}

/* ---- the access trail ---- */

static void fill(struct store_access *a, int i)
{
	memset(a, 0, sizeof *a);
	a->at = 1700000000000 + i;
	a->account_id = 7 + i % 2;
	snprintf(a->username, sizeof a->username, "op%d", i % 3);
	a->ente_id = 1;
	a->purpose_id = 2;
	snprintf(a->ip, sizeof a->ip, "127.0.0.1");
	snprintf(a->operation, sizeof a->operation, "consult");
	a->subjects = i % 2 ? "RSSMRA80A01F257G,BNCNNA82C55F257X" : "RSSMRA80A01F257G";
	snprintf(a->outcome, sizeof a->outcome, "ok");
	a->status = 200;
}

static int count_access(void *ctx, const struct store_access *a)
{
	(void)a;
	(*(int *)ctx)++;
	return 0;
}

/* The subjects of the first record a walk meets, copied (they are valid
 * during the callback only). */
struct subjects_seen {
	char *text;
	int64_t id;
};

static int first_subjects(void *ctx, const struct store_access *a)
{
	struct subjects_seen *s = ctx;
	s->text = strdup(a->subjects);
	s->id = a->id;
	return 1;
}

/* A callback that lists the same records again (the same statement, in
 * use by the outer listing) and looks one up by id. */
struct nested {
	struct store *s;
	int outer, inner;
	vis_err rc;
};

static int nested_inner(void *ctx, const void *rec)
{
	(void)rec;
	((struct nested *)ctx)->inner++;
	return 0;
}

static int nested_outer(void *ctx, const void *rec)
{
	struct nested *n = ctx;
	const struct store_processing *p = rec;
	struct store_processing again;
	bool found = false;
	n->outer++;
	if (!n->rc)
		n->rc = store_rec_list(n->s, STORE_PROCESSING, NULL, 3, nested_inner, n, NULL);
	if (!n->rc)
		n->rc = store_processing_get(n->s, p->id, &again, &found, NULL);
	if (!n->rc && (!found || strcmp(again.number, p->number)))
		n->rc = VIS_ERR_INTERNAL;
	return 0;
}

/* A body "Comando" and its operator luca.bianchi, active: the account's id,
 * and the body's in *ente_id. */
static int64_t operator_seed(struct fixture *f, int64_t *ente_id)
{
	struct vis_error e = {0};
	struct store_ente ente = {.created_at = 1};
	assert_true(STR_COPY(ente.name, "Comando"));
	assert_true(STR_COPY(ente.kind, "police"));
	assert_true(STR_COPY(ente.state, "active"));
	OK(store_ente_insert(f->s, &ente, ente_id, &e));
	struct store_account a = {.ente_id = *ente_id, .expires_at = 99, .created_at = 1};
	assert_true(STR_COPY(a.username, "luca.bianchi"));
	assert_true(STR_COPY(a.role, "operator"));
	assert_true(STR_COPY(a.state, "active"));
	int64_t id;
	OK(store_account_insert(f->s, &a, &id, &e));
	return id;
}

/* Retention in batches (store_control_purge): 2,500 security events past
 * it and 2,345 expired PDND token ids, with others kept, go in one call,
 * SQL_PURGE_ROWS a statement; the kept ones stay.  Before, each table was
 * one DELETE, which held the register's lock for all of its rows (400,000
 * events: 6.3 s, every login refused meanwhile). */
static void test_control_purge_batches(void **state)
{
	struct fixture *f = *state;
	struct vis_error e = {0};
	int64_t id, n;
	OK(store_begin(f->s, &e));
	for (int i = 0; i < 2600; i++) {
		struct store_security_event ev = {.at = i < 2500 ? 1000 + i : 9000 + i};
		snprintf(ev.kind, sizeof ev.kind, "login_success");
		OK(store_security_event_insert(f->s, &ev, &id, &e));
	}
	OK(store_commit(f->s, &e));
	for (int i = 0; i < 2355; i++) {
		char jti[40];
		bool fresh;
		snprintf(jti, sizeof jti, "voucher:%d", i);
		OK(store_pdnd_jti_take(f->s, jti, i < 2345 ? 5000 + i : 9000 + i, &fresh, &e));
		assert_true(fresh);
	}
	int64_t before[STORE_PURGE_N] = {0}, removed[STORE_PURGE_N];
	before[STORE_PURGE_SECURITY] = 9000;
	before[STORE_PURGE_PDND_JTI] = 9000;
	assert_true(2500 > 2 * SQL_PURGE_ROWS);
	OK(store_control_purge(f->s, before, 9000, removed, &e));
	assert_int_equal(removed[STORE_PURGE_SECURITY], 2500);
	assert_int_equal(removed[STORE_PURGE_PDND_JTI], 2345);
	OK(store_security_events_count(f->s, "login_success", "", &n, &e));
	assert_int_equal(n, 100);
	for (int i = 2340; i < 2355; i++) {
		char jti[40];
		bool fresh;
		snprintf(jti, sizeof jti, "voucher:%d", i);
		OK(store_pdnd_jti_take(f->s, jti, 9999, &fresh, &e));
		assert_int_equal(fresh, i < 2345);   /* the expired forgotten, the rest kept */
	}
	OK(store_control_purge(f->s, before, 9000, removed, &e));
	assert_int_equal(removed[STORE_PURGE_SECURITY], 0);

	/* Browser sessions ended before c go, found by their end (migration
	 * 34): one idle, one revoked, one past its end, and one idle whose end
	 * is as far after c as a session can last (it began just before c);
	 * one still in use and one begun after c stay. */
	int64_t ente_id, acct = operator_seed(f, &ente_id);
	const int64_t c = 1000000, life = (int64_t)CONFIG_SESSION_HOURS_MAX * 3600;
	const struct {
		int64_t created, seen, expires, revoked;
		bool kept;
	} sess[] = {
		{c - 500, c - 400, c - 500 + 8 * 3600, 0, false},
		{c - 300, c - 200, c - 300 + 8 * 3600, c - 100, false},
		{c - life - 60, c - life - 30, c - 60, 0, false},
		{c - 1, c - 1, c - 1 + life, 0, false},
		{c - 600, c + 10, c - 600 + life, 0, true},
		{c + 5, c + 5, c + 5 + life, 0, true},
	};
	int64_t sid[sizeof sess / sizeof *sess];
	for (size_t i = 0; i < sizeof sess / sizeof *sess; i++) {
		struct store_session ss = {.account_id = acct, .created_at = sess[i].created,
					   .last_seen_at = sess[i].seen,
					   .expires_at = sess[i].expires,
					   .revoked_at = sess[i].revoked};
		snprintf(ss.token_hash, sizeof ss.token_hash, "%064zu", i);
		OK(store_session_insert(f->s, &ss, &sid[i], &e));
	}
	int64_t only[STORE_PURGE_N] = {0};
	only[STORE_PURGE_SESSIONS] = c;
	OK(store_control_purge(f->s, only, c + 20, removed, &e));
	assert_int_equal(removed[STORE_PURGE_SESSIONS], 4);
	for (size_t i = 0; i < sizeof sess / sizeof *sess; i++) {
		struct store_session got;
		bool found;
		OK(store_session_get(f->s, sid[i], &got, &found, &e));
		assert_int_equal(found, sess[i].kept);
	}
}

/* The counts that replaced lists cut at 1,000 (a feed's refused pushes,
 * a body's alerts) count every match: 1,300 refusals of one
 * municipality among another's, other kinds and a detail naming it
 * elsewhere; 1,400 alerts of a body beside another's. */
static void test_counts_whole(void **state)
{
	struct fixture *f = *state;
	struct vis_error e = {0};
	int64_t id, n;
	OK(store_begin(f->s, &e));
	for (int i = 0; i < 1600; i++) {
		struct store_security_event ev = {.at = 1000 + i};
		snprintf(ev.kind, sizeof ev.kind, "%s", i % 16 == 1 ? "import_pushed" : "import_refused");
		snprintf(ev.detail, sizeof ev.detail, i % 16 == 2 ? "comune 015146: file respinto" :
			 i % 16 == 3 ? "respinto, comune 036023: no" : "comune 036023: file respinto");
		OK(store_security_event_insert(f->s, &ev, &id, &e));
		struct store_alert al = {.at = 1000 + i, .ente_id = i % 16 < 2 ? 8 : 7};
		snprintf(al.rule, sizeof al.rule, "refused");
		snprintf(al.severity, sizeof al.severity, "medium");
		snprintf(al.state, sizeof al.state, "open");
		OK(store_alert_insert(f->s, &al, &id, &e));
	}
	OK(store_commit(f->s, &e));
	OK(store_security_events_count(f->s, "import_refused", "comune 036023:", &n, &e));
	assert_int_equal(n, 1300);   /* 1,600 less 3 in 16: 100 of each other kind */
	OK(store_security_events_count(f->s, "import_refused", "comune 015146:", &n, &e));
	assert_int_equal(n, 100);
	OK(store_security_events_count(f->s, "import_refused", "", &n, &e));
	assert_int_equal(n, 1500);
	OK(store_security_events_count(f->s, "import_refused", "comune 036023: file respinto!", &n, &e));
	assert_int_equal(n, 0);
	OK(store_alerts_count(f->s, 7, &n, &e));
	assert_int_equal(n, 1400);
	OK(store_alerts_count(f->s, 8, &n, &e));
	assert_int_equal(n, 200);
	OK(store_alerts_count(f->s, 9, &n, &e));
	assert_int_equal(n, 0);
}

static void test_typed_records(void **state)
{
	struct fixture *f = *state;
	struct vis_error e = {0};
	bool found;
	int64_t ente_id, acct_id = operator_seed(f, &ente_id);
	struct store_account got;
	OK(store_account_by_username(f->s, "luca.bianchi", &got, &found, &e));
	assert_true(found);
	assert_int_equal(got.id, acct_id);
	assert_int_equal(got.ente_id, ente_id);
	struct store_account was = got;
	assert_true(STR_COPY(got.state, "disabled"));
	OK(store_account_update(f->s, &was, &got, &e));
	OK(store_account_get(f->s, acct_id, &got, &found, &e));
	assert_true(found);
	assert_string_equal(got.state, "disabled");
	OK(store_account_get(f->s, acct_id + 1000, &got, &found, &e));
	assert_false(found);
	struct store_ente ge;
	OK(store_ente_get(f->s, ente_id, &ge, &found, &e));
	assert_true(found);
	assert_string_equal(ge.name, "Comando");

	/* Uses of one statement nest: a listing inside a listing. */
	struct nested n = {f->s, 0, 0, VIS_OK};
	OK(store_rec_list(f->s, STORE_PROCESSING, NULL, 3, nested_outer, &n, &e));
	assert_int_equal(n.rc, VIS_OK);
	assert_int_equal(n.outer, 3);
	assert_int_equal(n.inner, 9);
}

/* Two requests each read a record, then each writes its change: the
 * second never puts back what the first wrote (store_rec_update writes
 * only what its copy changed, and only over the values it was made from).
 * Before, every update rewrote the whole row from the copy: a login
 * recording its time re-enabled an account disabled meanwhile, a request
 * recording a session's last use un-revoked it, a renewal re-enabled an
 * account an administrator had disabled. */
static void test_stale_copies(void **state)
{
	struct fixture *f = *state;
	struct vis_error e = {0};
	bool found;
	int64_t ente_id, id = operator_seed(f, &ente_id);

	/* a login read the account; an administrator disables it; the login
	 * records its time from its copy: the account stays disabled */
	struct store_account login, admin;
	OK(store_account_get(f->s, id, &login, &found, &e));
	OK(store_account_get(f->s, id, &admin, &found, &e));
	OK(auth_account_disable(f->s, &admin, "disabilitato dall'amministratore", 500, &e));
	struct store_account was = login;
	login.prev_login_at = login.last_login_at;
	login.last_login_at = 600;
	OK(store_account_update(f->s, &was, &login, &e));
	struct store_account now;
	OK(store_account_get(f->s, id, &now, &found, &e));
	assert_string_equal(now.state, "disabled");
	assert_string_equal(now.disabled_reason, "disabilitato dall'amministratore");
	assert_int_equal(now.disabled_at, 500);
	assert_int_equal(now.last_login_at, 600);

	/* a renewal made on a copy read before the disabling: its new period
	 * is written, the account stays disabled */
	struct config cfg = {.credential_months = 12};
	struct store_account renew = was;
	OK(auth_account_renew(f->s, &cfg, &renew, 700, &e));
	OK(store_account_get(f->s, id, &now, &found, &e));
	assert_string_equal(now.state, "disabled");
	assert_int_equal(now.issued_at, 700);
	assert_int_equal(now.last_login_at, 600);

	/* two changes of the same field from the same reading: the second is
	 * refused and writes nothing */
	struct store_account one, two;
	OK(store_account_get(f->s, id, &one, &found, &e));
	two = one;
	was = one;
	assert_true(STR_COPY(one.full_name, "Luca Bianchi"));
	OK(store_account_update(f->s, &was, &one, &e));
	assert_true(STR_COPY(two.full_name, "Luigi Bianchi"));
	two.reminded_at = 800;
	assert_int_equal(store_account_update(f->s, &was, &two, &e), VIS_ERR_CONFLICT);
	assert_string_equal(e.msg, STORE_CHANGED_MEANWHILE);
	vis_error_clear(&e);
	OK(store_account_get(f->s, id, &now, &found, &e));
	assert_string_equal(now.full_name, "Luca Bianchi");
	assert_int_equal(now.reminded_at, 0);
	/* a renewal read the account disabled at its expiry; an administrator
	 * then disables it for a report: the renewal, which would enable it
	 * again, is refused and the account stays disabled for the report */
	OK(auth_account_disable(f->s, &now, "expired", 900, &e));
	struct store_account expired = now;
	OK(auth_account_disable(f->s, &now, "sospeso dopo una segnalazione", 950, &e));
	assert_int_equal(auth_account_renew(f->s, &cfg, &expired, 1000, &e), VIS_ERR_CONFLICT);
	vis_error_clear(&e);
	OK(store_account_get(f->s, id, &now, &found, &e));
	assert_string_equal(now.state, "disabled");
	assert_string_equal(now.disabled_reason, "sospeso dopo una segnalazione");
	assert_int_equal(now.issued_at, 700);

	/* a session revoked while a request records its last use from the
	 * copy it read: it stays revoked */
	struct store_session sess = {.account_id = id, .created_at = 1, .last_seen_at = 1,
				     .expires_at = 4000000000};
	assert_true(STR_COPY(sess.token_hash, "h1"));
	assert_true(STR_COPY(sess.csrf, "c"));
	assert_true(STR_COPY(sess.ip, "192.0.2.1"));
	OK(store_session_insert(f->s, &sess, &sess.id, &e));
	struct store_session req, out;
	OK(store_session_get(f->s, sess.id, &req, &found, &e));
	OK(store_session_get(f->s, sess.id, &out, &found, &e));
	OK(auth_session_revoke(f->s, &out, 1000, &e));
	struct store_session seen = req;
	seen.last_seen_at = 1100;
	OK(store_session_update(f->s, &req, &seen, &e));
	OK(store_session_get(f->s, sess.id, &out, &found, &e));
	assert_int_equal(out.revoked_at, 1000);
	assert_int_equal(out.last_seen_at, 1100);
	/* revoked twice: the second is a success that keeps the first time */
	OK(auth_session_revoke(f->s, &req, 1200, &e));
	OK(store_session_get(f->s, sess.id, &out, &found, &e));
	assert_int_equal(out.revoked_at, 1000);

	/* nothing changed: nothing written, even over a newer row */
	OK(store_session_update(f->s, &req, &req, &e));
	/* a record that is no longer there */
	struct store_session gone = seen;
	gone.id = sess.id + 1000;
	struct store_session gone_was = gone;
	gone.last_seen_at = 1300;
	assert_int_equal(store_session_update(f->s, &gone_was, &gone, &e), VIS_ERR_CONFLICT);
	vis_error_clear(&e);
}

/* A notice withdrawn keeps the times it announced and is never changed
 * again: a correction or a second withdrawal made on a copy read before
 * the withdrawal is refused (the statement itself checks withdrawn_at, not
 * only the API's reading), and the live list leaves it out at once.
 * Before, a withdrawal made the end the withdrawal's time. */
static int count_notice(void *ctx, const void *rec)
{
	(void)rec;
	++*(int *)ctx;
	return 0;
}

static void test_notice_withdrawn(void **state)
{
	struct fixture *f = *state;
	struct vis_error e = {0};
	bool found;
	struct store_notice n = {.starts_at = 1000, .ends_at = 5000, .created_at = 10};
	assert_true(STR_COPY(n.title, "Manutenzione"));
	assert_true(STR_COPY(n.body, "Servizio sospeso"));
	OK(store_notice_insert(f->s, &n, &n.id, &e));
	struct store_notice a, b;
	OK(store_notice_get(f->s, n.id, &a, &found, &e));
	OK(store_notice_get(f->s, n.id, &b, &found, &e));
	int live = 0;
	OK(store_notices_live(f->s, 2000, 10, count_notice, &live, &e));
	assert_int_equal(live, 1);

	struct store_notice gone = a;
	gone.withdrawn_at = 2000;
	OK(store_notice_correct(f->s, &a, &gone, 2000, &e));
	live = 0;
	OK(store_notices_live(f->s, 2000, 10, count_notice, &live, &e));
	assert_int_equal(live, 0);

	/* from the copy read before: a correction, a second withdrawal */
	struct store_notice fix = b;
	assert_true(STR_COPY(fix.title, "Manutenzione prorogata"));
	assert_int_equal(store_notice_correct(f->s, &b, &fix, 2100, &e), VIS_ERR_CONFLICT);
	vis_error_clear(&e);
	struct store_notice again = b;
	again.withdrawn_at = 2200;
	assert_int_equal(store_notice_correct(f->s, &b, &again, 2200, &e), VIS_ERR_CONFLICT);
	vis_error_clear(&e);

	struct store_notice now;
	OK(store_notice_get(f->s, n.id, &now, &found, &e));
	assert_string_equal(now.title, "Manutenzione");
	assert_int_equal(now.starts_at, 1000);
	assert_int_equal(now.ends_at, 5000);
	assert_int_equal(now.withdrawn_at, 2000);
}

/* A value the back end cannot take (a parameter beyond the statement's,
 * or beyond the most a statement may have) fails the statement; before,
 * PostgreSQL's driver dropped it and SQLite's ignored the refusal, and the
 * statement ran with NULL in its place. */
static void test_bind_refused(void **state)
{
	struct fixture *f = *state;
	struct vis_error e = {0};
	struct drv *d = store_drv(f->s);
	int beyond[] = {3, DRV_MAX_PARAMS + 1};
	for (size_t k = 0; k < sizeof beyond / sizeof beyond[0]; k++) {
		struct drv_stmt *st = drv_prepare_sql(d, "SELECT CAST(?1 AS INTEGER) + CAST(?2 AS INTEGER)", "prova", &e);
		assert_non_null(st);
		drv_bind_i64(st, 1, 1);
		drv_bind_i64(st, 2, 2);
		drv_bind_i64(st, beyond[k], 3);
		if (beyond[k] == 3 && !use_pg) {
			/* SQLite knows the statement's parameters */
			assert_int_equal(drv_step(st, &e), DRV_ERROR);
			assert_int_equal(e.code, VIS_ERR_INTERNAL);
		} else if (beyond[k] > DRV_MAX_PARAMS) {
			assert_int_equal(drv_step(st, &e), DRV_ERROR);
			assert_int_equal(e.code, VIS_ERR_INTERNAL);
		} else {
			/* PostgreSQL sends only the statement's own */
			assert_int_equal(drv_step(st, &e), DRV_ROW);
			assert_int_equal(drv_col_i64(st, 0), 3);
		}
		drv_reset(st);
		vis_error_clear(&e);
		/* reset: the statement runs again */
		st = drv_prepare_sql(d, "SELECT CAST(?1 AS INTEGER) + CAST(?2 AS INTEGER)", "prova", &e);
		drv_bind_i64(st, 1, 1);
		drv_bind_i64(st, 2, 2);
		assert_int_equal(drv_step(st, &e), DRV_ROW);
		assert_int_equal(drv_col_i64(st, 0), 3);
		drv_reset(st);
	}
}

static void test_trail(void **state)
{
	struct fixture *f = *state;
	struct vis_error e = {0};
	for (int i = 0; i < 6; i++) {
		struct store_access a;
		fill(&a, i);
		OK(audit_append(f->s, NULL, &a, &e));
		assert_int_equal(a.id, i + 1);
	}
	struct audit_verify_result res;
	OK(audit_verify(f->s, NULL, &res, &e));
	assert_int_equal(res.checked, 6);
	assert_int_equal(res.first_bad_id, 0);
	struct store_access_filter flt = {.limit = 10};
	snprintf(flt.cf, sizeof flt.cf, "BNCNNA82C55F257X");
	int n = 0;
	OK(store_access_search(f->s, &flt, count_access, &n, &e));
	assert_int_equal(n, 3);
	flt.cf[0] = '\0';
	flt.account_id = 7;
	flt.from_ms = 1700000000002;
	n = 0;
	OK(store_access_search(f->s, &flt, count_access, &n, &e));
	assert_int_equal(n, 2);
	struct store_access got;
	bool found;
	OK(store_access_get(f->s, 4, &got, &found, &e));
	assert_true(found);
	assert_int_equal(got.at, 1700000000003);
	assert_string_equal(got.subjects, "");   /* read with the record's callback */
	struct subjects_seen seen = {0};
	OK(store_access_each(f->s, 4, first_subjects, &seen, &e));
	assert_string_equal(seen.text, "RSSMRA80A01F257G,BNCNNA82C55F257X");
	free(seen.text);

	struct store_checkpoint cp = {.at = 5, .last_id = 3};
	snprintf(cp.last_hash, sizeof cp.last_hash, "%s", "abc");
	snprintf(cp.signature, sizeof cp.signature, "%s", "sig");
	OK(store_checkpoint_insert(f->s, &cp, &e));
	n = 0;
	OK(store_checkpoint_each(f->s, (store_checkpoint_fn)count_access, &n, &e));
	assert_int_equal(n, 1);
	int64_t removed;
	OK(store_access_purge(f->s, 2, NULL, &removed, &e));
	assert_int_equal(removed, 2);
	n = 0;
	OK(store_access_each(f->s, 1, count_access, &n, &e));
	assert_int_equal(n, 4);

	char cf[17];
	bool ok;
	OK(store_subject_code_put(f->s, "hash1", "RSSMRA80A01F257G", 1, 100, 200, &e));
	OK(store_subject_code_use(f->s, "hash1", 300, cf, &ok, &e));
	assert_false(ok);                 /* expired */
	OK(store_subject_code_use(f->s, "hash1", 150, cf, &ok, &e));
	assert_true(ok);
	assert_string_equal(cf, "RSSMRA80A01F257G");
	OK(store_subject_code_use(f->s, "hash1", 150, cf, &ok, &e));
	assert_false(ok);                 /* used */
}

/* A record that names 5,000 persons keeps them all: in its text (hashed,
 * so the chain still verifies when read back), and in the per-person index
 * (the last person finds it).  The old fixed 2 KiB field kept ~120. */
static void test_trail_many_subjects(void **state)
{
	struct fixture *f = *state;
	struct vis_error e = {0};
	struct subjects subj;
	subjects_init(&subj);
	char cf[17], first[17] = "", last[17] = "";
	for (int i = 0; i < 5000; i++) {
		snprintf(cf, sizeof cf, "TSTPRS%05dA000Z", i);
		OK(subjects_add(&subj, cf, &e));
		snprintf(i ? last : first, 17, "%s", cf);
	}
	assert_int_equal(subjects_count(&subj), 5000);
	struct store_access a;
	fill(&a, 0);
	a.subjects = subjects_text(&subj);
	OK(audit_append(f->s, NULL, &a, &e));
	fill(&a, 1);
	OK(audit_append(f->s, NULL, &a, &e));
	struct subjects_seen seen = {0};
	OK(store_access_each(f->s, 1, first_subjects, &seen, &e));
	assert_string_equal(seen.text, subjects_text(&subj));
	free(seen.text);
	struct audit_verify_result res;
	OK(audit_verify(f->s, NULL, &res, &e));
	assert_int_equal(res.checked, 2);
	assert_int_equal(res.first_bad_id, 0);
	struct store_access_filter flt = {.limit = 10};
	const char *probe[] = {first, last};
	for (int k = 0; k < 2; k++) {
		snprintf(flt.cf, sizeof flt.cf, "%s", probe[k]);
		seen = (struct subjects_seen){0};
		OK(store_access_search(f->s, &flt, first_subjects, &seen, &e));
		assert_int_equal(seen.id, 1);
		free(seen.text);
	}
	subjects_release(&subj);
}

/* The trail of the search tests: 5 accounts of 3 bodies, 2 purposes each,
 * `at` scrambled against the ids (a time range is no range of ids), two
 * persons named often (A alone or with B), some records naming nobody, the
 * others one person each. */
#define SEARCH_RECORDS 240
#define SEARCH_T0 1700000000000LL
static const char search_cf_a[] = "AAAAAA00A00A000A", search_cf_b[] = "BBBBBB00B00B000B";

static void search_record(struct store_access *a, int i, char cf[40])
{
	memset(a, 0, sizeof *a);
	a->id = i;
	a->at = SEARCH_T0 + (int64_t)((i * 37) % SEARCH_RECORDS) * 1000;
	a->account_id = 1 + (i * 7) % 5;
	a->ente_id = 1 + a->account_id % 3;
	a->purpose_id = a->ente_id * 10 + i % 2;
	snprintf(a->username, sizeof a->username, "op%lld", (long long)a->account_id);
	snprintf(a->operation, sizeof a->operation, "consult");
	snprintf(a->outcome, sizeof a->outcome, "ok");
	a->status = 200;
	if (i % 5 == 0)
		snprintf(cf, 40, "%s,%s", search_cf_b, search_cf_a);
	else if (i % 3 == 0)
		snprintf(cf, 40, "%s", search_cf_a);
	else if (i % 4 == 0)
		cf[0] = '\0';
	else
		snprintf(cf, 40, "CCCCCC00C00C%04d", i);
	a->subjects = cf;
	memset(a->prev_hash, 'a', 64);
	memset(a->hash, 'b', 64);
}

static bool search_match(const struct store_access *a, const char *subjects,
			 const struct store_access_filter *f)
{
	return (!f->cf[0] || strstr(subjects, f->cf)) &&
	       (!f->account_id || a->account_id == f->account_id) &&
	       (!f->ente_id || a->ente_id == f->ente_id) &&
	       (!f->purpose_id || a->purpose_id == f->purpose_id) &&
	       (!f->from_ms || a->at >= f->from_ms) && (!f->to_ms || a->at < f->to_ms);
}

static void search_trail(struct store *s)
{
	struct vis_error e = {0};
	OK(store_begin_trail(s, &e));
	for (int i = 1; i <= SEARCH_RECORDS; i++) {
		struct store_access a;
		char cf[40];
		search_record(&a, i, cf);
		OK(store_access_insert(s, &a, &e));
	}
	OK(store_commit(s, &e));
}

struct search_ids {
	int64_t id[SEARCH_RECORDS + 1];
	int n;
};

static int collect_id(void *ctx, const struct store_access *a)
{
	struct search_ids *x = ctx;
	if (x->n <= SEARCH_RECORDS)
		x->id[x->n++] = a->id;
	return 0;
}

/* Every combination of the filters (a person, an account, a body, a
 * purpose, each also one that matches nothing; the start and the end of a
 * time range), read in pages of 7 by the cursor and all at once, returns
 * the records the unfiltered walk finds matching, in id order: whichever
 * statement leads the search (store_access_search_sql), it filters by
 * everything asked. */
static void test_trail_search_variants(void **state)
{
	struct fixture *f = *state;
	struct vis_error e = {0};
	search_trail(f->s);
	const char *cfs[] = {"", search_cf_a, search_cf_b, "ZZZZZZ00Z00Z000Z"};
	const int64_t accounts[] = {0, 4, 9}, bodies[] = {0, 2, 9}, purposes[] = {0, 21, 99};
	const int64_t froms[] = {0, SEARCH_T0 + 60000}, tos[] = {0, SEARCH_T0 + 180000};
	int combos = 0, nonempty = 0;
	for (size_t c = 0; c < 4; c++)
		for (size_t ac = 0; ac < 3; ac++)
			for (size_t b = 0; b < 3; b++)
				for (size_t p = 0; p < 3; p++)
					for (size_t fr = 0; fr < 2; fr++)
						for (size_t to = 0; to < 2; to++) {
	struct store_access_filter flt = {.account_id = accounts[ac], .ente_id = bodies[b],
					  .purpose_id = purposes[p], .from_ms = froms[fr],
					  .to_ms = tos[to]};
	snprintf(flt.cf, sizeof flt.cf, "%s", cfs[c]);
	struct search_ids want = {.n = 0};
	for (int i = 1; i <= SEARCH_RECORDS; i++) {
		struct store_access a;
		char cf[40];
		search_record(&a, i, cf);
		if (search_match(&a, cf, &flt))
			want.id[want.n++] = a.id;
	}
	struct search_ids all = {.n = 0}, paged = {.n = 0};
	OK(store_access_search(f->s, &flt, collect_id, &all, &e));
	flt.limit = 7;
	for (int page = 0; page <= SEARCH_RECORDS; page++) {
		int before = paged.n;
		OK(store_access_search(f->s, &flt, collect_id, &paged, &e));
		assert_true(paged.n - before <= 7);
		if (paged.n - before < 7)
			break;
		flt.after = paged.id[paged.n - 1];
	}
	if (all.n != want.n || paged.n != want.n ||
	    memcmp(all.id, want.id, (size_t)want.n * sizeof want.id[0]) ||
	    memcmp(paged.id, want.id, (size_t)want.n * sizeof want.id[0]))
		fail_msg("cf '%s' account %lld body %lld purpose %lld from %lld to %lld: "
			 "%d records, %d in pages, %d expected", cfs[c],
			 (long long)accounts[ac], (long long)bodies[b], (long long)purposes[p],
			 (long long)froms[fr], (long long)tos[to], all.n, paged.n, want.n);
	combos++;
	nonempty += want.n > 0;
						}
	assert_int_equal(combos, 432);
	assert_true(nonempty >= 40);   /* the filters do meet records */
	print_message("%d combinations, %d with records\n", combos, nonempty);
}

/* The plan of each search led by a filter searches that filter's index
 * (SQLite's EXPLAIN QUERY PLAN; PostgreSQL's EXPLAIN of the generic plan,
 * sequential scans off as on a trail too large for them): the person's
 * records by access_subject_cf (and by their ids), the account's, the
 * body's, the time range's by their index, never the walk of the whole
 * trail. */
static void test_trail_search_plans(void **state)
{
	struct fixture *f = *state;
	struct vis_error e = {0};
	search_trail(f->s);
	struct drv *d = store_drv(f->s);
	if (use_pg) {
		struct drv_stmt *st = drv_prepare_sql(d, "SET plan_cache_mode = force_generic_plan",
						      "prova", &e);
		OK(drv_done(st, &e));
		st = drv_prepare_sql(d, "SET enable_seqscan = off", "prova", &e);
		OK(drv_done(st, &e));
	}
	struct {
		struct store_access_filter f;
		const char *index;
	} cases[] = {
		{{.cf = "AAAAAA00A00A000A"}, "access_subject_cf"},
		{{.cf = "AAAAAA00A00A000A", .account_id = 2, .from_ms = 1}, "access_subject_cf"},
		{{.account_id = 2}, "access_log_account"},
		{{.account_id = 2, .ente_id = 3, .from_ms = SEARCH_T0, .to_ms = SEARCH_T0 + 1},
		 "access_log_account"},
		{{.ente_id = 3}, "access_log_ente"},
		{{.ente_id = 3, .purpose_id = 31, .to_ms = SEARCH_T0 + 1}, "access_log_ente"},
		/* the first record (37 s) before the range: its index */
		{{.from_ms = SEARCH_T0 + 60000}, "access_log_at"},
		{{.from_ms = SEARCH_T0 + 60000, .to_ms = SEARCH_T0 + 90000, .purpose_id = 21},
		 "access_log_at"},
		/* the last record (0 s) after the range's end: its index */
		{{.to_ms = SEARCH_T0 - 1000}, "access_log_at"},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		const struct store_access_filter *flt = &cases[k].f;
		enum sql_id q;
		OK(store_access_search_sql(f->s, flt, &q, &e));
		const char *text = store_sql[q];
		char sql[8192];
		struct drv_stmt *st;
		if (use_pg) {
			/* the plan a prepared statement keeps after its first runs */
			char pg[4096];
			assert_true(sql_to_pg(text, pg, sizeof pg) >= 0);
			snprintf(sql, sizeof sql, "PREPARE trail_search AS %s", pg);
			OK(drv_done(drv_prepare_sql(d, sql, "prova", &e), &e));
			snprintf(sql, sizeof sql, "EXPLAIN EXECUTE trail_search('%s', %lld, %lld, %lld,"
				 " %lld, %lld, 100, 0)", flt->cf, (long long)flt->account_id,
				 (long long)flt->ente_id, (long long)flt->purpose_id,
				 (long long)flt->from_ms,
				 (long long)(flt->to_ms ? flt->to_ms : INT64_MAX));
			st = drv_prepare_sql(d, sql, "prova", &e);
		} else {
			snprintf(sql, sizeof sql, "EXPLAIN QUERY PLAN %s", text);
			st = drv_prepare_sql(d, sql, "prova", &e);
			assert_non_null(st);
			drv_bind_text(st, 1, flt->cf);
			drv_bind_i64(st, 2, flt->account_id);
			drv_bind_i64(st, 3, flt->ente_id);
			drv_bind_i64(st, 4, flt->purpose_id);
			drv_bind_i64(st, 5, flt->from_ms);
			drv_bind_i64(st, 6, flt->to_ms ? flt->to_ms : INT64_MAX);
			drv_bind_i64(st, 7, 100);
			drv_bind_i64(st, 8, 0);
		}
		assert_non_null(st);
		char plan[4096] = "";
		size_t len = 0;
		enum drv_step r;
		while ((r = drv_step(st, &e)) == DRV_ROW)
			len += (size_t)snprintf(plan + len, sizeof plan - len, "%s\n",
						drv_col_text(st, use_pg ? 0 : 3));
		assert_int_equal(r, DRV_DONE);
		drv_reset(st);
		if (use_pg)
			OK(drv_done(drv_prepare_sql(d, "DEALLOCATE trail_search", "prova", &e), &e));
		if (!strstr(plan, cases[k].index))
			fail_msg("case %zu: the plan does not search %s:\n%s", k, cases[k].index,
				 plan);
		/* a person's records: by their ids, not a walk of the trail that
		 * looks each record up among them */
		const char *walk = use_pg ? "SubPlan" : "rowid>?";
		if (flt->cf[0] && strstr(plan, walk))
			fail_msg("case %zu: the plan walks the trail:\n%s", k, plan);
	}
}

/* A record that cannot be inserted fails its whole transaction, whether
 * the failure shows at the insert or (pipelined) at the commit. */
static void test_trail_failed_batch(void **state)
{
	struct fixture *f = *state;
	struct vis_error e = {0};
	struct store_access a;
	fill(&a, 1);
	a.id = 1;
	OK(store_begin(f->s, &e));
	OK(store_access_insert(f->s, &a, &e));
	vis_err rc = store_access_insert(f->s, &a, &e);     /* the same id again */
	if (rc == VIS_OK)
		rc = store_commit(f->s, &e);
	assert_int_not_equal(rc, VIS_OK);
	store_rollback(f->s);
	int n = 0;
	e = (struct vis_error){0};
	OK(store_access_each(f->s, 1, count_access, &n, &e));
	assert_int_equal(n, 0);
	/* The handle is usable after it. */
	OK(audit_append(f->s, NULL, &a, &e));
	OK(store_access_each(f->s, 1, count_access, &n, &e));
	assert_int_equal(n, 1);
}

/* Two connections append at once: the chain stays one. */
struct appender {
	const char *uri;
	int n;
	vis_err rc;
};

static void *append_many(void *arg)
{
	struct appender *ap = arg;
	struct store *s;
	struct vis_error e = {0};
	if ((ap->rc = testdb_store_open(ap->uri, &s, &e)))
		return NULL;
	for (int i = 0; i < ap->n && !ap->rc; i++) {
		struct store_access a;
		fill(&a, i);
		ap->rc = audit_append(s, NULL, &a, &e);
	}
	store_close(s);
	return NULL;
}

static void test_trail_concurrent(void **state)
{
	struct fixture *f = *state;
	struct appender ap[2] = {{f->db.uri, 150, 0}, {f->db.uri, 150, 0}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, append_many, &ap[i]), 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(ap[i].rc, VIS_OK);
	}
	struct audit_verify_result res;
	struct vis_error e = {0};
	OK(audit_verify(f->s, NULL, &res, &e));
	assert_int_equal(res.checked, 300);
	assert_int_equal(res.first_bad_id, 0);
}

/* Shared state: two connections increment one counter under its lock. */
struct incrementer {
	const char *uri;
	int n;
	vis_err rc;
};

static void *increment_many(void *arg)
{
	struct incrementer *in = arg;
	struct store *s;
	struct vis_error e = {0};
	if ((in->rc = testdb_store_open(in->uri, &s, &e)))
		return NULL;
	for (int i = 0; i < in->n && !in->rc; i++) {
		char v[32];
		if ((in->rc = store_shared_begin(s, &e)))
			break;
		if ((in->rc = store_state_lock(s, "counter", v, sizeof v, &e))) {
			store_shared_rollback(s);
			break;
		}
		snprintf(v, sizeof v, "%d", atoi(v) + 1);
		if ((in->rc = store_state_put(s, "counter", v, i, &e)) || (in->rc = store_shared_commit(s, &e)))
			store_shared_rollback(s);
	}
	store_close(s);
	return NULL;
}

/* Rate-limit counters: two connections (as two instances would) take one
 * counter of limit 37 and one of a larger limit at once, 60 times each. */
struct taker {
	const char *uri;
	int tries, taken;
	vis_err rc;
};

static void *take_many(void *arg)
{
	struct taker *t = arg;
	struct store *s;
	struct vis_error e = {0};
	if ((t->rc = testdb_store_open(t->uri, &s, &e)))
		return NULL;
	const char *keys[] = {"rl:hot:60", "rl:wide:60"};
	int64_t windows[] = {7, 7}, limits[] = {37, 1000};
	for (int i = 0; i < t->tries && !t->rc; i++) {
		bool taken, exhausted[2];
		int64_t granted[2];
		t->rc = store_counters_take(s, keys, windows, limits, 2, 1, 1, 1, &taken, exhausted, granted, &e);
		t->taken += taken;
	}
	store_close(s);
	return NULL;
}

static void test_counters(void **state)
{
	struct fixture *f = *state;
	struct vis_error e = {0};
	if (!use_pg)
		skip();   /* the counters of instances sharing a database */
	const char *keys[] = {"rl:b:60", "rl:a:86400"};
	int64_t windows[] = {100, 3}, limits[] = {2, 3}, granted[2];
	bool taken, exhausted[2];
	for (int i = 0; i < 2; i++) {
		OK(store_counters_take(f->s, keys, windows, limits, 2, 1, 1, 1, &taken, exhausted, granted, &e));
		assert_true(taken);
		assert_false(exhausted[0] || exhausted[1]);
	}
	/* the first is at its limit: neither is counted */
	OK(store_counters_take(f->s, keys, windows, limits, 2, 1, 1, 1, &taken, exhausted, granted, &e));
	assert_false(taken);
	assert_true(exhausted[0]);
	assert_false(exhausted[1]);
	char v[32];
	OK(store_shared_begin(f->s, &e));
	OK(store_state_lock(f->s, "rl:a:86400", v, sizeof v, &e));
	OK(store_shared_commit(f->s, &e));
	assert_string_equal(v, "3 2");
	/* a new window starts afresh */
	windows[0] = 101;
	OK(store_counters_take(f->s, keys, windows, limits, 2, 1, 1, 1, &taken, exhausted, granted, &e));
	assert_true(taken);
	OK(store_shared_begin(f->s, &e));
	OK(store_state_lock(f->s, "rl:a:86400", v, sizeof v, &e));
	OK(store_shared_commit(f->s, &e));
	assert_string_equal(v, "3 3");
	OK(store_counters_take(f->s, keys, windows, limits, 2, 1, 1, 1, &taken, exhausted, granted, &e));
	assert_false(taken);
	assert_false(exhausted[0]);
	assert_true(exhausted[1]);
	/* two instances at once: exactly the limit, not one more */
	struct taker t[2] = {{f->db.uri, 60, 0, 0}, {f->db.uri, 60, 0, 0}};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, take_many, &t[i]), 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].rc, VIS_OK);
	}
	assert_int_equal(t[0].taken + t[1].taken, 37);
	OK(store_shared_begin(f->s, &e));
	OK(store_state_lock(f->s, "rl:wide:60", v, sizeof v, &e));
	OK(store_shared_commit(f->s, &e));
	assert_string_equal(v, "7 37");
	/* a lease: the remaining units / 8, at least 1, at most `most`; the
	 * row counts every unit granted */
	const char *lk[] = {"rl:lease:60", "rl:big:60"};
	int64_t lw[] = {9, 9}, ll[] = {100, 100000};
	const int64_t want[][2] = {{12, 64}, {11, 64}, {9, 64}};
	for (int i = 0; i < 3; i++) {
		OK(store_counters_take(f->s, lk, lw, ll, 2, 8, 64, 1, &taken, exhausted, granted, &e));
		assert_true(taken);
		assert_int_equal(granted[0], want[i][0]);
		assert_int_equal(granted[1], want[i][1]);
	}
	OK(store_shared_begin(f->s, &e));
	OK(store_state_lock(f->s, "rl:lease:60", v, sizeof v, &e));
	OK(store_shared_commit(f->s, &e));
	assert_string_equal(v, "9 32");
	for (int i = 32; i < 100 - 15; ) { /* down to the last 15, one at a time after */
		OK(store_counters_take(f->s, lk, lw, ll, 1, 8, 64, 1, &taken, exhausted, granted, &e));
		assert_true(taken && granted[0] > 1);
		i += (int)granted[0];
	}
	for (int i = 0; i < 15; i++) {
		OK(store_counters_take(f->s, lk, lw, ll, 1, 8, 64, 1, &taken, exhausted, granted, &e));
		assert_true(taken);
		assert_int_equal(granted[0], 1);
	}
	OK(store_counters_take(f->s, lk, lw, ll, 1, 8, 64, 1, &taken, exhausted, granted, &e));
	assert_false(taken);
	assert_true(exhausted[0]);
}

static void test_shared_state(void **state)
{
	struct fixture *f = *state;
	struct vis_error e = {0};
	assert_int_equal(store_shared(f->s), use_pg);
	char v[8];
	OK(store_shared_begin(f->s, &e));
	OK(store_state_lock(f->s, "k", v, sizeof v, &e));
	assert_string_equal(v, "");
	OK(store_state_put(f->s, "k", "1234567890", 1, &e));
	OK(store_shared_commit(f->s, &e));
	OK(store_shared_begin(f->s, &e));
	assert_int_equal(store_state_lock(f->s, "k", v, sizeof v, &e), VIS_ERR_LIMIT);
	store_shared_rollback(f->s);
	struct incrementer in[2] = {{f->db.uri, 100, 0}, {f->db.uri, 100, 0}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, increment_many, &in[i]), 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(in[i].rc, VIS_OK);
	}
	char n[32];
	e = (struct vis_error){0};
	OK(store_shared_begin(f->s, &e));
	OK(store_state_lock(f->s, "counter", n, sizeof n, &e));
	OK(store_shared_commit(f->s, &e));
	assert_string_equal(n, "200");
}

/* One number a query on connection c gives (-1 when it fails). */
static long long pg_number(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	long long n = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
			      ? atoll(PQgetvalue(r, 0, 0))
			      : -1;
	if (n < 0)
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	return n;
}

/* A connection to the database that holds the shared state: the
 * companion (NAME_sh) or, without one, the register's. */
static PGconn *shared_connect(struct fixture *f)
{
	char where[1200];
	snprintf(where, sizeof where, "%s%s", f->db.uri + strlen("postgres:"),
		 f->db.companion ? "_sh" : "");
	PGconn *c = PQconnectdb(where);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	return c;
}

/* Issue 20: a transaction left open on the register's database (a FULL
 * import's, for its whole length) does not keep the dead versions of the
 * shared state's rows, which every look-up rewrites, from being removed:
 * they live in the companion database (store_shared_open), and since
 * PostgreSQL 14 a database's horizon counts only its own backends: a
 * VACUUM there removes them, as store_shared_vacuum does.  With the shared state in the
 * register's database (VISURA_TEST_PG_SHARED=0, the layout without a
 * companion: unit_pg_own.test_store) the 300 versions stay. */
static void test_shared_horizon(void **state)
{
	struct fixture *f = *state;
	struct vis_error e = {0};
	if (!use_pg)
		skip();
	PGconn *hold = PQconnectdb(f->db.uri + strlen("postgres:"));
	assert_int_equal(PQstatus(hold), CONNECTION_OK);
	PGresult *r = PQexec(hold, "BEGIN");
	PQclear(r);
	assert_true(pg_number(hold, "SELECT txid_current()") > 0);
	const char *keys[] = {"rl:horizon:60"};
	int64_t windows[] = {1}, limits[] = {1000000};
	for (int i = 0; i < 300; i++) {
		bool taken, exhausted[1];
		int64_t granted[1];
		OK(store_counters_take(f->s, keys, windows, limits, 1, 1, 1, 1, &taken, exhausted,
				       granted, &e));
		assert_true(taken);
	}
	PGconn *c = shared_connect(f);
	r = PQexec(c, "VACUUM shared_state");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	/* VACUUM reports the versions dead but not yet removable. */
	long long dead = pg_number(c, "SELECT n_dead_tup FROM pg_stat_user_tables"
				      " WHERE relname = 'shared_state'");
	/* the 300 writes were there */
	long long count = pg_number(c, "SELECT split_part(value, ' ', 2) FROM shared_state"
				       " WHERE key = 'rl:horizon:60'");
	/* What visura serve does on every tick of its duties: a vacuum of
	 * the companion's tables (on-access pruning does not remove these
	 * versions: it goes by the snapshots of the whole server). */
	const char *vacuums = "SELECT vacuum_count FROM pg_stat_user_tables"
			      " WHERE relname = 'shared_state'";
	long long before = pg_number(c, vacuums);
	OK(store_shared_vacuum(f->s, &e));
	r = PQexec(c, "SELECT pg_stat_clear_snapshot()");
	PQclear(r);
	long long after = pg_number(c, vacuums);
	PQfinish(c);
	/* the transaction was open all along */
	assert_int_equal(PQtransactionStatus(hold), PQTRANS_INTRANS);
	PQfinish(hold);
	fprintf(stderr, "shared_state after 300 writes and its vacuum: %lld dead versions (%s)\n",
		dead, f->db.companion ? "companion database" : "register's database");
	assert_int_equal(count, 300);
	if (f->db.companion) {
		assert_true(dead >= 0 && dead < 10);
		assert_true(before >= 1);
		assert_int_equal(after, before + 1);
	} else {
		/* the register's database: the open transaction keeps them, and
		 * there is no companion for store_shared_vacuum to clean */
		assert_true(dead >= 250);
		assert_int_equal(after, before);
	}
}

/* Issue 20: an account's anti-extraction value (a few KB, rewritten by
 * every look-up) stays in its row, uncompressed (migration 23): past
 * PostgreSQL's 2 KB it was compressed in vain and moved to the TOAST
 * table, two chunks written and two deleted per write.  Without the
 * migration the 20 writes of a 3,800-byte value leave pages in
 * shared_state's TOAST table. */
static void test_shared_value_inline(void **state)
{
	struct fixture *f = *state;
	struct vis_error e = {0};
	if (!use_pg)
		skip();
	static char v[3801];
	int64_t version = 0;
	char *now;
	bool written;
	OK(store_shared_begin(f->s, &e));
	OK(store_state_lock_dup(f->s, "inline", 4096, &now, &version, &e));
	free(now);
	OK(store_state_put(f->s, "inline", "", 1, &e));
	OK(store_shared_commit(f->s, &e));
	version++;
	uint64_t x = 88172645463325252u;
	for (int i = 0; i < 20; i++) {
		/* base64 of random bytes (xorshift): it does not compress */
		for (size_t k = 0; k < sizeof v - 1; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			v[k] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
				[x >> 58];
		}
		OK(store_state_swap(f->s, "inline", v, 2, version, NULL, 4096, &written, &now, &version,
				    &e));
		assert_true(written);
	}
	PGconn *c = shared_connect(f);
	long long toast = pg_number(c, "SELECT pg_relation_size(reltoastrelid) FROM pg_class"
				       " WHERE relname = 'shared_state'");
	long long stored = pg_number(c, "SELECT pg_column_size(value) FROM shared_state"
					" WHERE key = 'inline'");
	PQfinish(c);
	fprintf(stderr, "20 writes of a 3,800-byte shared value: %lld bytes in the TOAST table,"
			" %lld in its row\n", toast, stored);
	assert_int_equal(toast, 0);
	assert_int_equal(stored, (long long)sizeof v - 1 + 4);   /* uncompressed, 4-byte header */
}

/* The shape of one table of the database on connection c, as text: its
 * persistence (UNLOGGED), its columns in order (name, type, nullability,
 * default), its constraints and its indexes; NULL when it has no such
 * table. */
static char *pg_table_shape(PGconn *c, const char *table)
{
	static const char sql[] =
		"SELECT (SELECT relpersistence::text FROM pg_class WHERE oid = to_regclass($1::text))"
		" || E'\n' || (SELECT string_agg(column_name || ' ' || data_type || ' ' || is_nullable"
		"  || ' ' || coalesce(column_default, '-'), E'\n' ORDER BY ordinal_position)"
		"  FROM information_schema.columns"
		"  WHERE table_schema = current_schema() AND table_name::text = $1::text)"
		" || E'\n' || coalesce((SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid),"
		"  E'\n' ORDER BY conname) FROM pg_constraint WHERE conrelid = to_regclass($1::text)), '')"
		" || E'\n' || coalesce((SELECT string_agg(indexname || ' ' || indexdef, E'\n'"
		"  ORDER BY indexname) FROM pg_indexes"
		"  WHERE schemaname = current_schema() AND tablename::text = $1::text), '')";
	PGresult *r = PQexecParams(c, sql, 1, NULL, &table, NULL, NULL, 0);
	char *out = NULL;
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fprintf(stderr, "%s: %s", table, PQerrorMessage(c));
	else if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
		out = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return out;
}

/* The names of the tables of the database on connection c (of its
 * current schema) that match the LIKE pattern, comma-separated. */
static char *pg_tables(PGconn *c, const char *like)
{
	static const char sql[] = "SELECT coalesce(string_agg(table_name::text, ','"
				  " ORDER BY table_name), '') FROM information_schema.tables"
				  " WHERE table_schema = current_schema() AND table_name::text LIKE $1";
	PGresult *r = PQexecParams(c, sql, 1, NULL, &like, NULL, NULL, 0);
	char *out = PQresultStatus(r) == PGRES_TUPLES_OK ? strdup(PQgetvalue(r, 0, 0)) : NULL;
	PQclear(r);
	return out;
}

/* The companion database on cmp_uri holds the shared state's tables as
 * the migrations leave them in the register's database on main_uri: the
 * same tables (every shared_* table of the register, and no other), each
 * with the same columns, types, defaults, constraints, indexes and
 * persistence. */
static void assert_companion_like_register(const char *main_uri, const char *cmp_uri)
{
	PGconn *main_c = PQconnectdb(main_uri + strlen("postgres:"));
	PGconn *cmp_c = PQconnectdb(cmp_uri + strlen("postgres:"));
	assert_int_equal(PQstatus(main_c), CONNECTION_OK);
	assert_int_equal(PQstatus(cmp_c), CONNECTION_OK);
	char *in_main = pg_tables(main_c, "shared\\_%");
	char *in_cmp = pg_tables(cmp_c, "shared\\_%");
	char *all_cmp = pg_tables(cmp_c, "%");
	assert_non_null(in_main);
	assert_non_null(in_cmp);
	assert_non_null(all_cmp);
	assert_string_equal(in_cmp, in_main);
	assert_non_null(strstr(in_cmp, "shared_state"));
	assert_non_null(strstr(in_cmp, "shared_seen"));
	/* and beside them only the record of its migrations */
	char want[256];
	snprintf(want, sizeof want, "schema_migrations,%s", in_cmp);
	assert_string_equal(all_cmp, want);
	int compared = 0;
	for (char *save = NULL, *t = strtok_r(in_cmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *a = pg_table_shape(main_c, t), *b = pg_table_shape(cmp_c, t);
		assert_non_null(a);
		assert_non_null(b);
		if (strcmp(a, b))
			fprintf(stderr, "%s in the register's database:\n%s\nin the companion:\n%s\n", t,
				a, b);
		assert_string_equal(b, a);
		compared++;
		free(a);
		free(b);
	}
	assert_true(compared >= 2);
	free(in_main);
	free(in_cmp);
	free(all_cmp);
	PQfinish(main_c);
	PQfinish(cmp_c);
}

/* The versions a database's schema_migrations records, comma-separated. */
static char *pg_migrations(const char *uri)
{
	PGconn *c = PQconnectdb(uri + strlen("postgres:"));
	PGresult *r = PQexec(c, "SELECT coalesce(string_agg(version::text, ',' ORDER BY version), '')"
				" FROM schema_migrations");
	char *out = PQresultStatus(r) == PGRES_TUPLES_OK ? strdup(PQgetvalue(r, 0, 0)) : NULL;
	if (!out)
		fprintf(stderr, "schema_migrations: %s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return out;
}

/* Runs sql (several statements) on the database of uri. */
static void pg_run(const char *uri, const char *sql)
{
	PGconn *c = PQconnectdb(uri + strlen("postgres:"));
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

/* Opens a store on the register's database with cmp as its companion;
 * then the shared value of "k" must be want, the companion's tables the
 * register's, and its record of migrations the shared ones. */
static void companion_opened(const char *main_uri, const char *cmp_uri, const char *want)
{
	struct vis_error e = {0};
	struct store *s;
	char v[64], migrations[128] = "";
	OK(store_open(main_uri, &s, &e));
	OK(store_shared_open(s, cmp_uri, &e));
	OK(store_shared_begin(s, &e));
	OK(store_state_lock(s, "k", v, sizeof v, &e));
	OK(store_shared_commit(s, &e));
	store_close(s);
	assert_string_equal(v, want);
	assert_companion_like_register(main_uri, cmp_uri);
	for (int i = 0; i < schema_shared_migration_count; i++)
		snprintf(migrations + strlen(migrations), sizeof migrations - strlen(migrations),
			 "%s%d", i ? "," : "", schema_shared_migrations[i]);
	char *got = pg_migrations(cmp_uri);
	assert_non_null(got);
	assert_string_equal(got, migrations);
	free(got);
}

/* The companion database (shared_db) takes the shared state's
 * migrations (schema_shared_migrations), the same texts as the register's
 * database: in an empty database its tables are the register's.  A
 * migration that changes a shared table, or adds one, without being
 * listed there fails here. */
static void test_shared_schema_follows_migrations(void **state)
{
	struct fixture *f = *state;
	if (!use_pg)
		skip();
	struct testdb cmp;
	assert_int_equal(testdb_create(&cmp, true, "cmp"), 0);
	companion_opened(f->db.uri, cmp.uri, "");
	testdb_drop(&cmp);
}

/* A companion made by an earlier visura, whose last shared migration was
 * 8 (shared_state without its version, no shared_seen), recorded so:
 * opened, it takes migrations 19 and 20, its row kept. */
static void test_shared_companion_migrated(void **state)
{
	struct fixture *f = *state;
	if (!use_pg)
		skip();
	struct testdb cmp;
	assert_int_equal(testdb_create(&cmp, true, "cmp"), 0);
	char *table = schema_sql(schema_migrations_table, SCHEMA_POSTGRES);
	char *m8 = schema_sql(schema_migrations[7].sql, SCHEMA_POSTGRES);
	assert_int_equal(schema_migrations[7].version, 8);
	pg_run(cmp.uri, table);
	pg_run(cmp.uri, m8);
	pg_run(cmp.uri, "INSERT INTO schema_migrations VALUES (8, 'stato condiviso', 0);"
			"INSERT INTO shared_state VALUES ('k', 'kept', 1)");
	free(table);
	free(m8);
	companion_opened(f->db.uri, cmp.uri, "kept");
	testdb_drop(&cmp);
}

/* A companion made before it recorded its migrations: the tables as
 * visura up to migration 22 made them in one go, no schema_migrations.
 * Opened, it is recorded at migration 20 (nothing made again, its rows
 * kept), and opened again it is as it was. */
static void test_shared_companion_adopted(void **state)
{
	struct fixture *f = *state;
	if (!use_pg)
		skip();
	struct testdb cmp;
	assert_int_equal(testdb_create(&cmp, true, "cmp"), 0);
	pg_run(cmp.uri, "CREATE UNLOGGED TABLE IF NOT EXISTS shared_state (key TEXT PRIMARY KEY,"
			" value TEXT NOT NULL, updated_at BIGINT NOT NULL,"
			" version BIGINT NOT NULL DEFAULT 0);"
			"CREATE UNLOGGED TABLE IF NOT EXISTS shared_seen (key TEXT NOT NULL,"
			" h BIGINT NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (key, h));"
			"INSERT INTO shared_state VALUES ('k', 'kept', 1, 7)");
	for (int i = 0; i < 2; i++)
		companion_opened(f->db.uri, cmp.uri, "kept");
	testdb_drop(&cmp);
}

/* Compare and set: two connections (as two instances) increment one
 * counter, each from the value and version it last saw, taking the
 * value as it is whenever the other wrote since.  Every increment counts
 * once: without the version's test the same run loses some. */
struct swapper {
	const char *uri;
	int n, conflicts;
	vis_err rc;
};

static void *swap_many(void *arg)
{
	struct swapper *sw = arg;
	struct store *s;
	struct vis_error e = {0};
	if ((sw->rc = testdb_store_open(sw->uri, &s, &e)))
		return NULL;
	char v[32] = "", *now = NULL;
	int64_t version = -1;   /* never a version: the first swap reads */
	for (int i = 0; i < sw->n && !sw->rc;) {
		char next[32];
		bool written;
		snprintf(next, sizeof next, "%d", atoi(v) + 1);
		if ((sw->rc = store_state_swap(s, "swapped", next, i, version, NULL, sizeof v - 1, &written,
					       &now, &version, &e)))
			break;
		if (written) {
			memcpy(v, next, sizeof v);
			i++;
			continue;
		}
		if (!now) {
			sw->rc = VIS_ERR_STORE;   /* the row was created before */
			break;
		}
		snprintf(v, sizeof v, "%s", now);
		free(now);
		now = NULL;
		sw->conflicts++;
	}
	store_close(s);
	return NULL;
}

static void test_state_swap(void **state)
{
	struct fixture *f = *state;
	struct vis_error e = {0};
	if (!use_pg)
		skip();   /* shared state of instances sharing a database */
	char v[8], *now;
	bool written;
	int64_t version, was;
	/* no value yet: nothing written, nothing read */
	OK(store_state_swap(f->s, "swapped", "1", 1, 0, NULL, 16, &written, &now, &version, &e));
	assert_false(written);
	assert_null(now);
	OK(store_shared_begin(f->s, &e));
	OK(store_state_lock_dup(f->s, "swapped", 16, &now, &was, &e));
	assert_string_equal(now, "");
	free(now);
	OK(store_state_put(f->s, "swapped", "0", 1, &e));
	OK(store_shared_commit(f->s, &e));
	/* a stale version: the value and version as they are */
	OK(store_state_swap(f->s, "swapped", "1", 1, was, NULL, 16, &written, &now, &version, &e));
	assert_false(written);
	assert_string_equal(now, "0");
	free(now);
	assert_int_equal(version, was + 1);
	OK(store_state_swap(f->s, "swapped", "1", 1, version, NULL, 16, &written, &now, &version, &e));
	assert_true(written);
	assert_null(now);
	assert_int_equal(version, was + 2);
	/* a value past max is refused, its version given */
	OK(store_state_swap(f->s, "swapped", "1234567890", 1, version, NULL, 16, &written, &now,
			    &version, &e));
	assert_int_equal(store_state_swap(f->s, "swapped", "2", 1, 0, NULL, 4, &written, &now, &version,
					  &e), VIS_ERR_LIMIT);
	assert_false(written);
	assert_null(now);
	assert_int_equal(version, was + 3);
	OK(store_state_swap(f->s, "swapped", "0", 1, version, NULL, 16, &written, &now, &version, &e));
	assert_true(written);
	struct swapper sw[2] = {{f->db.uri, 150, 0, 0}, {f->db.uri, 150, 0, 0}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, swap_many, &sw[i]), 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(sw[i].rc, VIS_OK);
	}
	fprintf(stderr, "two connections swapping: %d and %d conflicts\n", sw[0].conflicts,
		sw[1].conflicts);
	OK(store_shared_begin(f->s, &e));
	OK(store_state_lock(f->s, "swapped", v, sizeof v, &e));
	OK(store_shared_commit(f->s, &e));
	assert_string_equal(v, "300");
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* An import holds the register's write lock for its whole transaction:
 * access records and the readiness probe's write still commit (SQLite: the trail is a file of its own), and a write a
 * request may skip fails at once rather than wait. */
static void test_trail_beside_import(void **state)
{
	struct fixture *f = *state;
	struct vis_error e = {0};
	struct store *imp;
	OK(testdb_store_open(f->db.uri, &imp, &e));
	OK(store_begin(imp, &e));
	OK(store_setting_put(imp, "held", "by an import", &e));
	struct store_access a;
	fill(&a, 0);
	OK(audit_append(f->s, NULL, &a, &e));
	OK(store_begin_trail(f->s, &e));
	OK(store_readiness_write(f->s, 1, "probe", &e));
	OK(store_commit(f->s, &e));
	/* A write a request may skip (as a session's last-use time; not a
	 * setting, whose change moves the control records' generation, one
	 * row every such change waits for). */
	struct store_throttle th = {.failures = 1};
	assert_int_equal(store_wait(f->s, STORE_WAIT_NONE), STORE_WAIT_LONG);
	vis_err rc = store_throttle_put(f->s, "skippable", &th, &e);
	assert_int_equal(store_wait(f->s, STORE_WAIT_LONG), STORE_WAIT_NONE);
	/* SQLite: the database file is locked; PostgreSQL: rows, not this one. */
	assert_int_equal(rc != VIS_OK, !use_pg);
	/* A request's write (an HTTP thread's) waits briefly, then says why;
	 * the next ones of the process are refused at once while the import
	 * holds the lock, and none waits the ten seconds of a command. */
	e = (struct vis_error){0};
	store_wait(f->s, STORE_WAIT_BRIEF);
	double t0 = now_s();
	rc = store_throttle_put(f->s, "brief", &th, &e);
	double first = now_s() - t0;
	t0 = now_s();
	struct vis_error e2 = {0};
	vis_err rc2 = store_throttle_put(f->s, "brief", &th, &e2);
	double second = now_s() - t0;
	fprintf(stderr, "brief writes beside an import: %.3f s, then %.3f s\n", first, second);
	if (!use_pg) {
		/* busy, not failed: the server answers 503 with Retry-After */
		assert_int_equal(rc, VIS_ERR_BUSY);
		assert_int_equal(e.code, VIS_ERR_BUSY);
		assert_non_null(strstr(e.msg, "la base dati è occupata"));
		assert_true(first >= STORE_WAIT_BRIEF_MS / 1000.0 * 0.9 && first < 5.0);
		assert_int_equal(rc2, VIS_ERR_BUSY);
		assert_int_equal(e2.code, VIS_ERR_BUSY);
		assert_true(second < 0.5);
	} else {
		assert_int_equal(rc, VIS_OK);
		assert_int_equal(rc2, VIS_OK);
	}
	e = (struct vis_error){0};
	OK(store_commit(imp, &e));
	store_close(imp);
	/* the lock free, a brief write commits (and ends the refusals) */
	OK(store_throttle_put(f->s, "brief", &th, &e));
	OK(store_throttle_put(f->s, "brief again", &th, &e));
	store_wait(f->s, STORE_WAIT_LONG);
	struct audit_verify_result res;
	OK(audit_verify(f->s, NULL, &res, &e));
	assert_int_equal(res.checked, 1);
	assert_int_equal(res.first_bad_id, 0);
}

static int exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fprintf(stderr, "%s: %s\n", sql, msg);
	sqlite3_free(msg);
	return rc;
}

/* SQLite: a database made before the trail had its own file (every table
 * in the database file, as the migrations create them) has its trail moved
 * to PATH.trail when opened, rows and indexes with it, the chain intact. */
static void test_trail_moved(void **state)
{
	struct fixture *f = *state;
	struct vis_error e = {0};
	if (use_pg)
		return;   /* one database: nothing to move */
	for (int i = 0; i < 5; i++) {
		struct store_access a;
		fill(&a, i);
		OK(audit_append(f->s, NULL, &a, &e));
	}
	struct testdb old;
	assert_int_equal(testdb_create(&old, false, "oldtrail"), 0);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(old.path, &db), SQLITE_OK);
	assert_int_equal(exec_ok(db, schema_migrations_table), SQLITE_OK);
	for (int i = 0; i < schema_migration_count; i++) {
		char *sql = schema_sql(schema_migrations[i].sql, SCHEMA_SQLITE), rec[128];
		assert_non_null(sql);
		assert_int_equal(exec_ok(db, sql), SQLITE_OK);
		free(sql);
		snprintf(rec, sizeof rec, "INSERT INTO schema_migrations VALUES (%d, 'm', 0)",
			 schema_migrations[i].version);
		assert_int_equal(exec_ok(db, rec), SQLITE_OK);
	}
	char sql[512];
	snprintf(sql, sizeof sql, "ATTACH DATABASE '%s.trail' AS src;"
		 "INSERT INTO main.access_log SELECT * FROM src.access_log;"
		 "INSERT INTO main.access_subject SELECT * FROM src.access_subject;"
		 "DETACH DATABASE src", f->db.path);
	assert_int_equal(exec_ok(db, sql), SQLITE_OK);
	sqlite3_close(db);
	struct store *s;
	OK(testdb_store_open(old.uri, &s, &e));
	struct audit_verify_result res;
	OK(audit_verify(s, NULL, &res, &e));
	assert_int_equal(res.checked, 5);
	assert_int_equal(res.first_bad_id, 0);
	struct store_access a;
	fill(&a, 5);
	OK(audit_append(s, NULL, &a, &e));
	assert_int_equal(a.id, 6);
	store_close(s);
	/* The tables and their indexes are in the trail's file alone. */
	assert_int_equal(sqlite3_open(old.path, &db), SQLITE_OK);
	snprintf(sql, sizeof sql, "ATTACH DATABASE '%s.trail' AS trail", old.path);
	assert_int_equal(exec_ok(db, sql), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM main.sqlite_master"
					    " WHERE tbl_name IN ('access_log', 'access_subject',"
					    " 'audit_checkpoint', 'readiness')),"
					    " (SELECT count(*) FROM trail.sqlite_master WHERE name ="
					    " 'access_subject_cf'), (SELECT count(*) FROM trail.access_log)",
					    -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	assert_int_equal(sqlite3_column_int(st, 1), 1);
	assert_int_equal(sqlite3_column_int(st, 2), 6);
	sqlite3_finalize(st);
	sqlite3_close(db);
	/* Opened again: nothing left to move. */
	OK(testdb_store_open(old.uri, &s, &e));
	OK(audit_verify(s, NULL, &res, &e));
	assert_int_equal(res.checked, 6);
	store_close(s);
	testdb_drop(&old);
}

static int last_row(void *ctx, const struct store_bollettino *b)
{
	*(struct store_bollettino *)ctx = *b;
	return 0;
}

/* The bulletins' archive: a row keeps the rule it was made under; one of
 * another rule is rewritten once (by either of two handles), a current one
 * never, and the archive stays one row per municipality and month. */
static void test_bollettino_rule(void **state)
{
	struct fixture *f = *state;
	struct vis_error e = {0};
	struct store *other;
	OK(testdb_store_open(f->db.uri, &other, &e));
	struct store_bollettino old = {.comune = "036023", .mese = 202511, .generated_at = 100,
				       .sha256 = "aa", .regola = 0};
	bool stored, replaced, found;
	OK(store_bollettino_put(f->s, &old, "<p>vecchio</p>", "b2xk", &stored, &e));
	assert_true(stored);
	struct store_bollettino b = {0};
	OK(store_bollettino_each(f->s, "036023", last_row, &b, &e));
	assert_int_equal(b.regola, 0);
	assert_int_equal(b.generated_at, 100);

	struct store_bollettino cur = old;
	cur.generated_at = 200;
	cur.regola = 3;
	STR_COPY_KNOWN(cur.sha256, "bb");
	/* a put of the same month does nothing: the replace rewrites it */
	OK(store_bollettino_put(f->s, &cur, "<p>nuovo</p>", "bnVvdm8=", &stored, &e));
	assert_false(stored);
	OK(store_bollettino_replace(f->s, &cur, "<p>nuovo</p>", "bnVvdm8=", 300, &replaced, &e));
	assert_true(replaced);
	/* the other handle, after: of the current rule already, nothing */
	OK(store_bollettino_replace(other, &cur, "<p>altro</p>", "YWx0cm8=", 301, &replaced, &e));
	assert_false(replaced);
	char *html, *pdf;
	OK(store_bollettino_get(f->s, "036023", 202511, &b, &html, &pdf, &found, &e));
	assert_true(found);
	assert_int_equal(b.regola, 3);
	assert_int_equal(b.generated_at, 200);
	assert_string_equal(b.sha256, "bb");
	assert_string_equal(html, "<p>nuovo</p>");
	assert_string_equal(pdf, "bnVvdm8=");
	free(html);
	free(pdf);
	/* a month never archived is not created by a replace */
	cur.mese = 202510;
	OK(store_bollettino_replace(f->s, &cur, "<p>x</p>", "eA==", 302, &replaced, &e));
	assert_false(replaced);
	OK(store_bollettino_has(f->s, "036023", 202510, &found, &e));
	assert_false(found);
	/* a later rule: the row of rule 3 is rewritten, kept aside in turn */
	cur.mese = 202511;
	cur.regola = 4;
	OK(store_bollettino_replace(other, &cur, "<p>4</p>", "NA==", 303, &replaced, &e));
	assert_true(replaced);
	OK(store_bollettino_each(f->s, "036023", last_row, &b, &e));
	assert_int_equal(b.regola, 4);
	store_close(other);
}


/* A protection kept (store_protection_*): of the bytes put, the same
 * read, by another handle too (another instance on the database); none
 * for another key. */
static bool protection_read(struct store *s, unsigned char k, size_t *cells,
			    unsigned char *out, size_t cap)
{
	struct vis_error e = {0};
	unsigned char key[STORE_PROTECTION_KEY] = {k}, *data = NULL;
	bool found;
	OK(store_protection_get(s, key, cells, &data, &found, &e));
	if (found) {
		assert_true((*cells + 7) / 8 <= cap);
		memcpy(out, data, (*cells + 7) / 8);
	}
	free(data);
	return found;
}

static void protection_put(struct store *s, unsigned char k, size_t cells,
			   const unsigned char *data, int64_t now, int keep)
{
	struct vis_error e = {0};
	unsigned char key[STORE_PROTECTION_KEY] = {k};
	OK(store_protection_put(s, key, cells, data, now, keep, &e));
}

static void test_protection_kept(void **state)
{
	struct fixture *f = *state;
	struct vis_error e = {0};
	struct store *other;
	OK(testdb_store_open(f->db.uri, &other, &e));
	const unsigned char a[3] = {0xa5, 0x00, 0x13}, b[2] = {0xff, 0x01};
	unsigned char got[8];
	size_t cells;
	protection_put(f->s, 1, 21, a, 100, 3);
	assert_true(protection_read(other, 1, &cells, got, sizeof got));
	assert_int_equal(cells, 21);
	assert_memory_equal(got, a, sizeof a);
	assert_false(protection_read(other, 2, &cells, got, sizeof got));
	/* the same key again: replaced */
	protection_put(other, 1, 9, b, 101, 3);
	assert_true(protection_read(f->s, 1, &cells, got, sizeof got));
	assert_int_equal(cells, 9);
	assert_memory_equal(got, b, sizeof b);
	/* at most `keep` rows, the least recently used deleted with an insert:
	 * 1 (used at 101), 2 (102), 1 used at 103, then 3 (104): 2 goes */
	protection_put(f->s, 2, 16, a, 102, 3);
	unsigned char k1[STORE_PROTECTION_KEY] = {1};
	OK(store_protection_touch(other, k1, 103, &e));
	protection_put(f->s, 3, 16, b, 104, 2);
	assert_true(protection_read(f->s, 1, &cells, got, sizeof got));
	assert_false(protection_read(f->s, 2, &cells, got, sizeof got));
	assert_true(protection_read(f->s, 3, &cells, got, sizeof got));
	/* nonsense refused before any write */
	unsigned char k4[STORE_PROTECTION_KEY] = {4};
	assert_int_equal(store_protection_put(f->s, k4, 0, a, 105, 2, &e), VIS_ERR_INVALID);
	store_close(other);
}

/* A row changed behind the server's back is not read (found false, the
 * caller computes again): its bytes cut, its bytes changed (another
 * valid base64 text of the same length, the digest left), its count of
 * cells changed, its digest changed, its text not base64. */
static void test_protection_tampered(void **state)
{
	struct fixture *f = *state;
	struct vis_error e = {0};
	const unsigned char a[6] = {0xa5, 0x00, 0x13, 0x77, 0x01, 0x80};
	static const char *const tamper[] = {
		"UPDATE stats_protection SET data = substr(data, 1, 4)",
		"UPDATE stats_protection SET data = 'AAAAAAAA'",
		"UPDATE stats_protection SET cells = 40",
		"UPDATE stats_protection SET cells = 47",
		"UPDATE stats_protection SET sha256 = 'x' || substr(sha256, 2)",
		"UPDATE stats_protection SET data = '********'",
		"UPDATE stats_protection SET data = ''",
	};
	unsigned char got[8];
	size_t cells;
	for (size_t i = 0; i < sizeof tamper / sizeof *tamper; i++) {
		protection_put(f->s, 1, 48, a, 100, 3);
		assert_true(protection_read(f->s, 1, &cells, got, sizeof got));
		assert_memory_equal(got, a, sizeof a);
		OK(drv_exec(store_drv(f->s), tamper[i], &e));
		if (protection_read(f->s, 1, &cells, got, sizeof got))
			fail_msg("tampered row read: %s", tamper[i]);
	}
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register, setup, teardown),
		cmocka_unit_test_setup_teardown(test_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_typed_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_purge_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counts_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_copies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notice_withdrawn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trail_many_subjects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trail_failed_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trail_search_variants, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trail_search_plans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trail_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_horizon, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_schema_follows_migrations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_companion_migrated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_companion_adopted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_value_inline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trail_beside_import, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trail_moved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bollettino_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protection_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protection_tampered, setup, teardown),
	};
	return TESTDB_RUN("store", tests, NULL, NULL, &use_pg);
}
