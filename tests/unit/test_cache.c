/* Unit tests: the per-process cache of control records (store.h:
 * store_cache_*) — a record read twice in one generation is read from the
 * database once; every write path of a cached kind moves the generation in
 * its own transaction, so the next request sees the change, whether it was
 * made through the same handle, or through a second handle standing for
 * another instance or the CLI; a rolled-back change moves nothing; reads
 * inside a transaction go to the database; threads share the cache.  On
 * SQLite, and on PostgreSQL too when $VISURA_TEST_PG is set (testdb.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "common/str.h"
#include "seed.h"
#include "store/store.h"
#include "testdb.h"

#define OK(call)                                                               \
	do {                                                                   \
		vis_err rc_ = (call);                                          \
		if (rc_ != VIS_OK)                                             \
			fprintf(stderr, "%s\n", e.msg);                        \
		assert_int_equal(rc_, VIS_OK);                                 \
	} while (0)

struct fx {
	struct testdb db;
	struct store *s;            /* the server's thread: the cache attached */
	struct store *other;        /* another instance, or the CLI: no cache */
	struct store_cache *cache;
	int64_t ente, conv, purpose;
	struct store_account acc;
};

static bool use_pg;

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	struct vis_error e = {0};
	if (!f || testdb_open(&f->db, use_pg, "cache", &f->s) ||
	    testdb_store_open(f->db.uri, &f->other, &e) || !(f->cache = store_cache_new()))
		return -1;
	f->ente = seed_body(f->s, "Questura di Modena");
	seed_account(f->s, f->ente, "op1", &f->acc);
	f->conv = seed_agreement(f->s, f->ente, "identity", &f->purpose);
	store_cache_attach(f->s, f->cache);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	store_close(f->other);
	testdb_close(&f->db, f->s);
	store_cache_free(f->cache);
	free(f);
	return 0;
}

static struct store_cache_stats stats(struct fx *f)
{
	struct store_cache_stats st;
	store_cache_stats(f->cache, &st);
	return st;
}

/* The account as a new request on the server's handle reads it. */
static struct store_account account_now(struct fx *f)
{
	struct store_account a;
	bool found = false;
	struct vis_error e = {0};
	store_cache_fresh(f->s);
	OK(store_account_get(f->s, f->acc.id, &a, &found, &e));
	assert_true(found);
	return a;
}

static void test_one_read_per_generation(void **state)
{
	struct fx *f = *state;
	struct vis_error e = {0};
	struct store_cache_stats st0 = stats(f);
	struct store_account a;
	struct store_ente en;
	bool found;
	/* Without store_cache_fresh the handle reads through. */
	OK(store_account_get(f->s, f->acc.id, &a, &found, &e));
	assert_int_equal(stats(f).misses + stats(f).hits, st0.misses + st0.hits);
	/* Three requests: the first reads the records, the others do not;
	 * each reads the generation once, however many records it reads. */
	for (int i = 0; i < 3; i++) {
		store_cache_fresh(f->s);
		OK(store_account_get(f->s, f->acc.id, &a, &found, &e));
		assert_true(found);
		OK(store_ente_get(f->s, f->ente, &en, &found, &e));
		assert_true(found);
		OK(store_account_by_username(f->s, "op1", &a, &found, &e));
		assert_true(found);
		assert_int_equal(a.id, f->acc.id);
	}
	struct store_cache_stats st = stats(f);
	assert_int_equal(st.gen_reads - st0.gen_reads, 3);
	assert_int_equal(st.misses - st0.misses, 3);
	assert_int_equal(st.hits - st0.hits, 6);
	/* That there is no such record is held too (an insert moves the
	 * generation): asked again, it is not read again. */
	store_cache_fresh(f->s);
	st0 = stats(f);
	OK(store_account_get(f->s, 999999, &a, &found, &e));
	assert_false(found);
	OK(store_account_get(f->s, 999999, &a, &found, &e));
	assert_false(found);
	assert_int_equal(stats(f).hits - st0.hits, 1);
}

/* Another instance (or the CLI) disables the account: the next request
 * sees it; the request already under way keeps its generation. */
static void test_other_handle_seen_next_request(void **state)
{
	struct fx *f = *state;
	struct vis_error e = {0};
	struct store_account a = account_now(f);
	assert_string_equal(a.state, "active");
	struct store_account b;
	bool found;
	OK(store_account_get(f->other, f->acc.id, &b, &found, &e));
	OK(auth_account_disable(f->other, &b, "test", 1767268800, &e));
	/* same request: its generation was read before the change */
	OK(store_account_get(f->s, f->acc.id, &a, &found, &e));
	assert_string_equal(a.state, "active");
	/* the next request */
	a = account_now(f);
	assert_string_equal(a.state, "disabled");
	/* and back */
	struct store_account was = b;
	STR_COPY_KNOWN(b.state, "active");
	OK(store_account_update(f->other, &was, &b, &e));
	assert_string_equal(account_now(f).state, "active");
}

static void edit_state(struct store_convenzione *c, void *ctx)
{
	STR_COPY_KNOWN(c->state, (const char *)ctx);
}

/* Every write path of a cached kind, through either handle. */
static void test_every_write_path(void **state)
{
	struct fx *f = *state;
	struct vis_error e = {0};
	bool found;
	for (int h = 0; h < 2; h++) {
		struct store *w = h ? f->other : f->s;
		/* body */
		struct store_ente en;
		store_cache_fresh(f->s);
		OK(store_ente_get(f->s, f->ente, &en, &found, &e));
		struct store_ente en_was = en;
		STR_COPY_KNOWN(en.state, "suspended");
		OK(store_ente_update(w, &en_was, &en, &e));
		store_cache_fresh(f->s);
		OK(store_ente_get(f->s, f->ente, &en, &found, &e));
		assert_string_equal(en.state, "suspended");
		en_was = en;
		STR_COPY_KNOWN(en.state, "active");
		OK(store_ente_update(w, &en_was, &en, &e));
		/* agreement */
		struct store_convenzione cv;
		store_cache_fresh(f->s);
		OK(store_convenzione_get(f->s, f->conv, &cv, &found, &e));
		assert_string_equal(cv.state, "active");
		seed_agreement_edit(w, f->conv, edit_state, "suspended");
		store_cache_fresh(f->s);
		OK(store_convenzione_get(f->s, f->conv, &cv, &found, &e));
		assert_string_equal(cv.state, "suspended");
		seed_agreement_edit(w, f->conv, edit_state, "active");
		/* purpose */
		struct store_purpose p;
		store_cache_fresh(f->s);
		OK(store_purpose_get(f->s, f->purpose, &p, &found, &e));
		struct store_purpose p_was = p;
		STR_COPY_KNOWN(p.description, h ? "altra" : "nuova");
		OK(store_purpose_update(w, &p_was, &p, &e));
		store_cache_fresh(f->s);
		OK(store_purpose_get(f->s, f->purpose, &p, &found, &e));
		assert_string_equal(p.description, h ? "altra" : "nuova");
		/* workstation: inserted, then revoked */
		struct store_workstation ws = {.ente_id = f->ente, .issued_at = 1,
					       .expires_at = 4000000000};
		snprintf(ws.serial, sizeof ws.serial, "%s", h ? "0a0b" : "0c0d");
		STR_COPY_KNOWN(ws.name, "pc");
		store_cache_fresh(f->s);
		OK(store_workstation_by_serial(f->s, ws.serial, &ws, &found, &e));
		assert_false(found);
		OK(store_workstation_insert(w, &ws, &ws.id, &e));
		store_cache_fresh(f->s);
		OK(store_workstation_by_serial(f->s, ws.serial, &ws, &found, &e));
		assert_true(found);
		assert_int_equal(ws.revoked_at, 0);
		struct store_workstation ws_was = ws;
		ws.revoked_at = 5;
		OK(store_workstation_update(w, &ws_was, &ws, &e));
		store_cache_fresh(f->s);
		OK(store_workstation_by_serial(f->s, ws.serial, &ws, &found, &e));
		assert_int_equal(ws.revoked_at, 5);
		/* setting */
		char v[64];
		store_cache_fresh(f->s);
		OK(store_setting_get(f->s, "totp_required_roles", v, sizeof v, &found, &e));
		OK(store_setting_put(w, "totp_required_roles", h ? "lead" : "operator", &e));
		store_cache_fresh(f->s);
		OK(store_setting_get(f->s, "totp_required_roles", v, sizeof v, &found, &e));
		assert_true(found);
		assert_string_equal(v, h ? "lead" : "operator");
		/* an account's TOTP step */
		bool advanced;
		int64_t step = account_now(f).totp_last_step + 10;
		OK(store_account_totp_advance(w, f->acc.id, step, &advanced, &e));
		assert_true(advanced);
		assert_int_equal(account_now(f).totp_last_step, step);
		/* an account inserted */
		struct store_account n = {.ente_id = f->ente, .issued_at = 1, .expires_at = 2};
		snprintf(n.username, sizeof n.username, "nuovo%d", h);
		STR_COPY_KNOWN(n.role, "operator");
		STR_COPY_KNOWN(n.state, "active");
		store_cache_fresh(f->s);
		OK(store_account_by_username(f->s, n.username, &n, &found, &e));
		assert_false(found);
		OK(store_account_insert(w, &n, &n.id, &e));
		store_cache_fresh(f->s);
		OK(store_account_by_username(f->s, n.username, &n, &found, &e));
		assert_true(found);
	}
}

/* A change inside the caller's transaction moves the generation only if
 * it commits; reads inside a transaction go to the database. */
static void test_transactions(void **state)
{
	struct fx *f = *state;
	struct vis_error e = {0};
	struct store_account a = account_now(f), b;
	const struct store_account was = a;
	bool found;
	OK(store_begin(f->s, &e));
	STR_COPY_KNOWN(a.full_name, "Giulia Bianchi");
	OK(store_account_update(f->s, &was, &a, &e));
	struct store_cache_stats st0 = stats(f);
	OK(store_account_get(f->s, f->acc.id, &b, &found, &e));
	assert_string_equal(b.full_name, "Giulia Bianchi");
	assert_int_equal(stats(f).hits + stats(f).misses, st0.hits + st0.misses);
	store_rollback(f->s);
	assert_string_equal(account_now(f).full_name, "Mario Rossi");
	/* the same through the other handle, committed */
	OK(store_begin(f->other, &e));
	OK(store_account_update(f->other, &was, &a, &e));
	assert_string_equal(account_now(f).full_name, "Mario Rossi");
	OK(store_commit(f->other, &e));
	assert_string_equal(account_now(f).full_name, "Giulia Bianchi");
}

/* Threads of one process, each with its own handle on the one cache,
 * while another handle changes the record: after the change, every
 * thread's next request sees it. */
struct reader {
	struct fx *f;
	struct store *s;
	int rounds;
	char seen[16];
};

static void *reader_run(void *arg)
{
	struct reader *r = arg;
	struct vis_error e = {0};
	for (int i = 0; i < r->rounds; i++) {
		struct store_account a;
		bool found = false;
		store_cache_fresh(r->s);
		if (store_account_get(r->s, r->f->acc.id, &a, &found, &e) || !found)
			return NULL;
		STR_COPY_KNOWN(r->seen, a.state);
	}
	return r;
}

static void test_threads(void **state)
{
	struct fx *f = *state;
	struct vis_error e = {0};
	struct reader r[3];
	pthread_t t[3];
	for (int i = 0; i < 3; i++) {
		r[i] = (struct reader){.f = f, .rounds = 200};
		OK(testdb_store_open(f->db.uri, &r[i].s, &e));
		store_cache_attach(r[i].s, f->cache);
		assert_int_equal(pthread_create(&t[i], NULL, reader_run, &r[i]), 0);
	}
	struct store_account b;
	bool found;
	OK(store_account_get(f->other, f->acc.id, &b, &found, &e));
	for (int k = 0; k < 20; k++) {
		struct store_account b_was = b;
		STR_COPY_KNOWN(b.state, k % 2 ? "active" : "disabled");
		OK(store_account_update(f->other, &b_was, &b, &e));
	}
	for (int i = 0; i < 3; i++) {
		void *ok;
		pthread_join(t[i], &ok);
		assert_non_null(ok);
		r[i].rounds = 1;
		assert_non_null(reader_run(&r[i]));
		assert_string_equal(r[i].seen, "active");
		store_close(r[i].s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_read_per_generation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_handle_seen_next_request, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_every_write_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};
	return TESTDB_RUN("cache", tests, NULL, NULL, &use_pg);
}
