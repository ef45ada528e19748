/* Unit tests: the access trail — hash chain, signed checkpoints, receipts,
 * and every kind of tampering with the database; on SQLite, and on
 * PostgreSQL too when $VISURA_TEST_PG is set (see testdb.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "store/store.h"
#include "testdb.h"

struct fx {
	struct testdb db;
	char key[200];
	struct store *s;
	struct audit_key k;
};

static bool use_pg;   /* the back end of the group being run */

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	struct vis_error e = {0};
	if (!f || sodium_init() < 0 || testdb_open(&f->db, use_pg, "audit", &f->s))
		return -1;
	audit_key_path(f->db.uri, f->key, sizeof f->key);
	unlink(f->key);
	if (audit_key_ensure(f->s, f->key, &f->k, &e))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	testdb_close(&f->db, f->s);
	unlink(f->key);
	free(f);
	return 0;
}

static void fill(struct store_access *a, int i)
{
	memset(a, 0, sizeof *a);
	a->at = 1700000000000 + i;
	a->account_id = 7;
	snprintf(a->username, sizeof a->username, "op%d", i % 3);
	a->ente_id = 1;
	a->convenzione_id = 1;
	a->purpose_id = 2;
	snprintf(a->ip, sizeof a->ip, "127.0.0.1");
	snprintf(a->operation, sizeof a->operation, "consult");
	snprintf(a->query, sizeof a->query, "cf=RSSMRA80A01F257G");
	a->subjects = "RSSMRA80A01F257G";
	snprintf(a->categories, sizeof a->categories, "identity");
	snprintf(a->outcome, sizeof a->outcome, "ok");
	a->status = 200;
}

static void append_n(struct fx *f, int n)
{
	struct vis_error e = {0};
	for (int i = 0; i < n; i++) {
		struct store_access a;
		fill(&a, i);
		assert_int_equal(audit_append(f->s, &a, &e), VIS_OK);
	}
}

static int64_t verify_bad(struct fx *f, char *why, size_t cap)
{
	struct audit_verify_result res;
	struct vis_error e = {0};
	assert_int_equal(audit_verify(f->s, &res, &e), VIS_OK);
	if (why)
		snprintf(why, cap, "%s", res.why);
	return res.first_bad_id;
}

static void sql(struct fx *f, const char *q)
{
	if (!testdb_exec(&f->db, q))
		fail_msg("%s", q);
}

static void test_chain_ok(void **state)
{
	struct fx *f = *state;
	append_n(f, 10);
	assert_int_equal(verify_bad(f, NULL, 0), 0);
}

static void test_edit_detected(void **state)
{
	struct fx *f = *state;
	char why[200];
	append_n(f, 10);
	sql(f, "UPDATE access_log SET subjects = 'BNCNNA82C55F257X' WHERE id = 4");
	assert_int_equal(verify_bad(f, why, sizeof why), 4);
	assert_non_null(strstr(why, "altered"));
}

static void test_delete_detected(void **state)
{
	struct fx *f = *state;
	append_n(f, 10);
	sql(f, "DELETE FROM access_subject WHERE access_id = 6; DELETE FROM access_log WHERE id = 6");
	assert_int_equal(verify_bad(f, NULL, 0), 7);
}

static void test_reorder_detected(void **state)
{
	struct fx *f = *state;
	append_n(f, 10);
	sql(f, "UPDATE access_log SET id = -1 WHERE id = 3; UPDATE access_log SET id = 3 WHERE id = 5;"
	       " UPDATE access_log SET id = 5 WHERE id = -1;");
	assert_int_equal(verify_bad(f, NULL, 0), 3);
}

static void test_checkpoints_and_truncation(void **state)
{
	/* An attacker who edits a record and recomputes every later hash
	 * still cannot forge the signed checkpoint. */
	struct fx *f = *state;
	struct vis_error e = {0};
	struct audit_writer *w;
	assert_int_equal(audit_writer_start(f->db.uri, &f->k, &w, &e), VIS_OK);
	for (int i = 0; i < AUDIT_CHECKPOINT_RECORDS + 5; i++) {
		struct store_access a;
		fill(&a, i);
		assert_int_equal(audit_submit(w, &a, &e), VIS_OK);
	}
	audit_writer_stop(w);
	struct audit_verify_result res;
	assert_int_equal(audit_verify(f->s, &res, &e), VIS_OK);
	assert_int_equal(res.first_bad_id, 0);
	assert_true(res.checkpoints >= 1);
	/* Truncating the end is caught by the checkpoint. */
	sql(f, "DELETE FROM access_subject WHERE access_id > 500; DELETE FROM access_log WHERE id > 500");
	char why[200];
	assert_int_equal(verify_bad(f, why, sizeof why), 501);
	assert_non_null(strstr(why, "removed from the end"));
}

struct first_cp {
	int64_t last_id;
};

static int first_cp(void *ctx, const struct store_checkpoint *c)
{
	((struct first_cp *)ctx)->last_id = c->last_id;
	return 1;
}

static void test_purge_keeps_chain_verifiable(void **state)
{
	struct fx *f = *state;
	struct vis_error e = {0};
	struct audit_writer *w;
	assert_int_equal(audit_writer_start(f->db.uri, &f->k, &w, &e), VIS_OK);
	for (int i = 0; i < AUDIT_CHECKPOINT_RECORDS + 20; i++) {
		struct store_access a;
		fill(&a, i);
		assert_int_equal(audit_submit(w, &a, &e), VIS_OK);
	}
	audit_writer_stop(w);
	struct first_cp cp = {0};
	assert_int_equal(store_checkpoint_each(f->s, first_cp, &cp, &e), VIS_OK);
	assert_true(cp.last_id >= AUDIT_CHECKPOINT_RECORDS);
	int64_t removed = 0;
	assert_int_equal(store_access_purge(f->s, cp.last_id, &removed, &e), VIS_OK);
	assert_int_equal(removed, cp.last_id);
	assert_int_equal(verify_bad(f, NULL, 0), 0);
	/* Cutting more, where no checkpoint vouches, is detected. */
	assert_int_equal(store_access_purge(f->s, cp.last_id + 3, &removed, &e), VIS_OK);
	char why[200];
	assert_int_equal(verify_bad(f, why, sizeof why), cp.last_id + 4);
	assert_non_null(strstr(why, "missing"));
}

static void test_forged_checkpoint_detected(void **state)
{
	struct fx *f = *state;
	append_n(f, 3);
	sql(f, "INSERT INTO audit_checkpoint (at, last_id, last_hash, signature) VALUES "
	       "(1, 2, 'ab', 'AAAA')");
	char why[200];
	assert_int_not_equal(verify_bad(f, why, sizeof why), 0);
	assert_non_null(strstr(why, "bad signature"));
}

static void test_receipt(void **state)
{
	struct fx *f = *state;
	struct vis_error e = {0};
	struct store_access a;
	fill(&a, 1);
	assert_int_equal(audit_append(f->s, &a, &e), VIS_OK);
	const char body[] = "{\"person\":{\"identity\":{}}}";
	char receipt[400];
	audit_receipt(&f->k, &a, body, strlen(body), receipt, sizeof receipt);
	assert_null(audit_receipt_check(f->s, receipt, body, strlen(body), &e));
	assert_null(audit_receipt_check(f->s, receipt, NULL, 0, &e));
	const char other[] = "{\"person\":{\"identity\":{\"x\":1}}}";
	assert_non_null(audit_receipt_check(f->s, receipt, other, strlen(other), &e));
	/* A tampered signature or id. */
	char bad[420];
	snprintf(bad, sizeof bad, "%s", receipt);
	bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A';
	assert_non_null(audit_receipt_check(f->s, bad, body, strlen(body), &e));
	snprintf(bad, sizeof bad, "v1.99%.380s", receipt + 4);
	assert_non_null(audit_receipt_check(f->s, bad, body, strlen(body), &e));
	assert_non_null(audit_receipt_check(f->s, "garbage", NULL, 0, &e));
}

static void test_key_mismatch_refused(void **state)
{
	struct fx *f = *state;
	struct vis_error e = {0};
	struct audit_key other;
	char path[256];
	snprintf(path, sizeof path, "%s.other", f->key);
	unlink(path);
	/* A second key for the same database is refused. */
	assert_int_not_equal(audit_key_ensure(f->s, path, &other, &e), VIS_OK);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chain_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reorder_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoints_and_truncation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_checkpoint_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_purge_keeps_chain_verifiable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receipt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_mismatch_refused, setup, teardown),
	};
	return TESTDB_RUN("audit", tests, NULL, NULL, &use_pg);
}
