/* Unit tests: the access trail — hash chain, signed checkpoints, the
 * Merkle tree and its signed heads, receipts (offline too), and every kind
 * of tampering with the database, with and without a head kept outside; on SQLite, and on
 * PostgreSQL too when $VISURA_TEST_PG is set (see testdb.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/str.h"
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
	assert_int_equal(audit_key_path(f->db.uri, f->key, sizeof f->key, NULL), VIS_OK);
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
		assert_int_equal(audit_append(f->s, &f->k, &a, &e), VIS_OK);
	}
}

static int64_t verify_bad(struct fx *f, char *why, size_t cap)
{
	struct audit_verify_result res;
	struct vis_error e = {0};
	assert_int_equal(audit_verify(f->s, NULL, &res, &e), VIS_OK);
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
	char why[400];
	append_n(f, 10);
	sql(f, "UPDATE access_log SET subjects = 'BNCNNA82C55F257X' WHERE id = 4");
	assert_int_equal(verify_bad(f, why, sizeof why), 4);
	assert_non_null(strstr(why, "alterat"));
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
	assert_int_equal(audit_writer_start(f->db.uri, &f->k, NULL, &w, &e), VIS_OK);
	for (int i = 0; i < AUDIT_CHECKPOINT_RECORDS + 5; i++) {
		struct store_access a;
		fill(&a, i);
		assert_int_equal(audit_submit(w, &a, &e), VIS_OK);
	}
	audit_writer_stop(w);
	struct audit_verify_result res;
	assert_int_equal(audit_verify(f->s, NULL, &res, &e), VIS_OK);
	assert_int_equal(res.first_bad_id, 0);
	assert_true(res.checkpoints >= 1);
	/* Truncating the end is caught by the checkpoint. */
	sql(f, "DELETE FROM access_subject WHERE access_id > 500; DELETE FROM access_log WHERE id > 500");
	char why[400];
	assert_int_equal(verify_bad(f, why, sizeof why), 501);
	assert_non_null(strstr(why, "rimosse registrazioni dalla fine"));
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
	assert_int_equal(audit_writer_start(f->db.uri, &f->k, NULL, &w, &e), VIS_OK);
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
	assert_int_equal(store_access_purge(f->s, cp.last_id, NULL, &removed, &e), VIS_OK);
	assert_int_equal(removed, cp.last_id);
	assert_int_equal(verify_bad(f, NULL, 0), 0);
	/* Cutting more, where no checkpoint vouches, is detected. */
	assert_int_equal(store_access_purge(f->s, cp.last_id + 3, NULL, &removed, &e), VIS_OK);
	char why[400];
	assert_int_equal(verify_bad(f, why, sizeof why), cp.last_id + 4);
	assert_non_null(strstr(why, "mancano"));
}

static void count_durable(void *ctx, vis_err rc, const char *receipt, const struct vis_error *e)
{
	(void)receipt;
	(void)e;
	if (rc == VIS_OK)
		atomic_fetch_add((atomic_int *)ctx, 1);
}

/* The question of audit_verify_stoppable: how many times it was asked,
 * and the one (1, 2, ...) it answers true; 0: never. */
struct asked {
	int n, stop_at;
};

static bool asked_stop(void *ctx)
{
	struct asked *q = ctx;
	return ++q->n == q->stop_at;
}

/* A verification asked to stop (the server's stop: GET
 * /api/v1/audit/verify on a trail of millions of records took minutes
 * and held SIGTERM) ends at the question answered true, in whichever of
 * its walks it falls (here the chain, the subjects' index and the tree's
 * leaves; the signed heads' walk asks alike),
 * VIS_ERR_BUSY, saying nothing of the trail; never answered true, it
 * asks once every AUDIT_VERIFY_STOP_EVERY rows of all of them and finds
 * what audit_verify finds. */
static void test_verify_stops_when_asked(void **state)
{
	struct fx *f = *state;
	struct vis_error e = {0};
	struct audit_writer *w;
	int n = 2 * AUDIT_VERIFY_STOP_EVERY + 100;   /* one subject each */
	struct store_access *recs = calloc((size_t)n, sizeof *recs);
	assert_non_null(recs);
	atomic_int durable = 0;
	assert_int_equal(audit_writer_start(f->db.uri, &f->k, NULL, &w, &e), VIS_OK);
	for (int i = 0; i < n; i++) {   /* in groups: one commit each, not n */
		fill(&recs[i], i);
		assert_int_equal(audit_submit_async(w, &recs[i], NULL, count_durable, &durable, &e),
				 VIS_OK);
	}
	audit_writer_stop(w);
	free(recs);
	assert_int_equal(atomic_load(&durable), n);
	struct audit_verify_result res, plain;
	assert_int_equal(audit_verify(f->s, NULL, &plain, &e), VIS_OK);
	assert_int_equal(plain.first_bad_id, 0);
	assert_int_equal(plain.checked, n);
	struct asked never = {0};
	struct stop_ask stop = {asked_stop, &never};
	assert_int_equal(audit_verify_stoppable(f->s, NULL, &stop, &res, &e), VIS_OK);
	/* every record twice (the chain, the tree), its subject, every head */
	assert_int_equal(never.n, (3 * n + plain.heads) / AUDIT_VERIFY_STOP_EVERY);
	assert_memory_equal(&res, &plain, sizeof res);
	for (int k = 1; k <= never.n; k++) {
		struct asked q = {.stop_at = k};
		stop.ctx = &q;
		e = (struct vis_error){0};
		assert_int_equal(audit_verify_stoppable(f->s, NULL, &stop, &res, &e), VIS_ERR_BUSY);
		assert_int_equal(q.n, k);   /* not asked again once it said stop */
		assert_non_null(strstr(e.msg, "interrotta"));
		assert_int_equal(res.checked, 0);
		assert_int_equal(res.first_bad_id, 0);
		assert_string_equal(res.why, "");
	}
	/* and the trail is as it was: read in a snapshot, nothing written */
	assert_int_equal(audit_verify(f->s, NULL, &res, &e), VIS_OK);
	assert_memory_equal(&res, &plain, sizeof res);
}

static void test_forged_checkpoint_detected(void **state)
{
	struct fx *f = *state;
	append_n(f, 3);
	sql(f, "INSERT INTO audit_checkpoint (at, last_id, last_hash, signature) VALUES "
	       "(1, 2, 'ab', 'AAAA')");
	char why[400];
	assert_int_not_equal(verify_bad(f, why, sizeof why), 0);
	assert_non_null(strstr(why, "firma non valida"));
}

struct receipt_ctx {
	struct audit_writer *w;
	struct store_access rec;
	const char *body;
	char receipt[AUDIT_RECEIPT_MAX];
	vis_err rc;
	bool done;
	bool *gate;   /* build waits for it: the next records queue */
	bool building;
};

/* The writer's first step: the answer's bytes. */
static const char *receipt_build(void *ctx, size_t *len)
{
	struct receipt_ctx *r = ctx;
	__atomic_store_n(&r->building, true, __ATOMIC_RELEASE);
	while (r->gate && !__atomic_load_n(r->gate, __ATOMIC_ACQUIRE))
		usleep(200);
	*len = strlen(r->body);
	return r->body;
}

static void receipt_done(void *ctx, vis_err rc, const char *receipt, const struct vis_error *e)
{
	struct receipt_ctx *r = ctx;
	r->rc = rc;
	if (!rc && !(receipt && STR_COPY(r->receipt, receipt)))
		r->rc = VIS_ERR_INTERNAL;
	if (rc)
		assert_non_null(e);
	__atomic_store_n(&r->done, true, __ATOMIC_RELEASE);
}

static void receipts_wait(struct receipt_ctx *r, int n)
{
	for (int i = 0; i < n; i++) {
		while (!__atomic_load_n(&r[i].done, __ATOMIC_ACQUIRE))
			usleep(1000);
		assert_int_equal(r[i].rc, VIS_OK);
	}
}

/* Records through the writer, each with its receipt; n at a time in one
 * group commit when the writer is slow enough, one by one otherwise. */
static void receipts_n(struct fx *f, struct receipt_ctx *r, int n, const char *body)
{
	struct vis_error e = {0};
	struct audit_writer *w;
	assert_int_equal(audit_writer_start(f->db.uri, &f->k, NULL, &w, &e), VIS_OK);
	for (int i = 0; i < n; i++) {
		r[i].w = w;
		r[i].body = body;
		fill(&r[i].rec, i);
		assert_int_equal(audit_submit_async(w, &r[i].rec, receipt_build, receipt_done, &r[i],
						    &e), VIS_OK);
	}
	receipts_wait(r, n);
	audit_writer_stop(w);
}

/* One record whose answer is built only once the n - 1 after it are
 * queued: those n - 1 are one group commit (r[1..n-1]), r[0] one alone. */
static void receipts_batch(struct fx *f, struct receipt_ctx *r, int n, const char *const *bodies)
{
	struct vis_error e = {0};
	struct audit_writer *w;
	static bool gate;
	__atomic_store_n(&gate, false, __ATOMIC_RELEASE);
	assert_int_equal(audit_writer_start(f->db.uri, &f->k, NULL, &w, &e), VIS_OK);
	for (int i = 0; i < n; i++) {
		r[i] = (struct receipt_ctx){.w = w, .body = bodies[i], .gate = i ? NULL : &gate};
		fill(&r[i].rec, i);
		assert_int_equal(audit_submit_async(w, &r[i].rec, receipt_build, receipt_done, &r[i],
						    &e), VIS_OK);
		if (i == 0) /* the writer holds r[0]'s batch */
			while (!__atomic_load_n(&r[0].building, __ATOMIC_ACQUIRE))
				usleep(200);
	}
	__atomic_store_n(&gate, true, __ATOMIC_RELEASE);
	receipts_wait(r, n);
	audit_writer_stop(w);
}

/* The field `i` of a receipt (its text up to the next dot). */
static const char *field(const char *receipt, int i, size_t *len)
{
	for (int k = 0; k < i; k++)
		receipt = strchr(receipt, '.') + 1;
	const char *dot = strchr(receipt, '.');
	*len = dot ? (size_t)(dot - receipt) : strlen(receipt);
	return receipt;
}

static void test_receipt(void **state)
{
	struct fx *f = *state;
	struct vis_error e = {0};
	const char body[] = "{\"person\":{\"identity\":{}}}";
	static struct receipt_ctx r[9];
	static struct audit_receipt_info info;
	receipts_n(f, r, 9, body);
	for (int i = 0; i < 9; i++) {
		assert_null(audit_receipt_check(f->s, r[i].receipt, body, strlen(body), NULL, &e));
		assert_null(audit_receipt_check(f->s, r[i].receipt, NULL, 0, NULL, &e));
		/* Offline: the public key only. */
		assert_null(audit_receipt_verify(r[i].receipt, f->k.pk, body, strlen(body), &info));
		assert_int_equal(info.index, r[i].rec.id - 1);
	}
	const char other[] = "{\"person\":{\"identity\":{\"x\":1}}}";
	assert_non_null(audit_receipt_check(f->s, r[0].receipt, other, strlen(other), NULL, &e));
	/* A tampered signature, id or proof. */
	static char bad[AUDIT_RECEIPT_MAX];
	strcpy(bad, r[3].receipt);
	bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A';
	assert_non_null(audit_receipt_verify(bad, f->k.pk, body, strlen(body), &info));
	strcpy(bad, r[3].receipt);
	bad[3] = bad[3] == '4' ? '5' : '4';
	assert_non_null(audit_receipt_verify(bad, f->k.pk, body, strlen(body), &info));
	assert_non_null(audit_receipt_check(f->s, "garbage", NULL, 0, NULL, &e));
	/* Another deployment's key. */
	struct audit_key other_key;
	crypto_sign_keypair(other_key.pk, other_key.sk);
	const char *why = audit_receipt_verify(r[3].receipt, other_key.pk, body, strlen(body),
					       &info);
	assert_non_null(why);
	assert_non_null(strstr(why, "un'altra installazione"));
	/* The record behind it altered in the database. */
	sql(f, "UPDATE access_log SET case_ref = 'x' WHERE id = 4");
	assert_non_null(audit_receipt_check(f->s, r[3].receipt, body, strlen(body), NULL, &e));
}

/* A receipt whose field i is replaced by `with` (NUL-terminated copy). */
static void receipt_with(char *out, const char *receipt, int i, const char *with)
{
	size_t n;
	const char *at = field(receipt, i, &n);
	snprintf(out, AUDIT_RECEIPT_MAX, "%.*s%s%s", (int)(at - receipt), receipt, with, at + n);
}

/* The text of fields [from, 12) of a receipt, with its leading dot. */
static const char *receipt_tail(const char *receipt, int from)
{
	size_t n;
	return field(receipt, from, &n) - 1;
}

/* A group commit of several answers: their receipts share one signature
 * (over the batch's receipt tree), each has its place and path, and every
 * one verifies offline and against the database; a body, a field, the
 * path, the signature, or the whole tail of another receipt or another
 * batch, all refused. */
static void test_receipt_batch_one_signature(void **state)
{
	struct fx *f = *state;
	struct vis_error e = {0};
	static struct receipt_ctx r[6], r2[6];
	static struct audit_receipt_info info;
	static char bodies[6][64], bad[AUDIT_RECEIPT_MAX];
	const char *b[6];
	for (int i = 0; i < 6; i++) {
		snprintf(bodies[i], sizeof bodies[i], "{\"person\":{\"n\":%d}}", i);
		b[i] = bodies[i];
	}
	receipts_batch(f, r, 6, b);
	size_t n, n0;
	const char *sig = field(r[1].receipt, 11, &n), *sig0 = field(r[0].receipt, 11, &n0);
	assert_int_equal(n, 86);
	assert_false(n == n0 && !memcmp(sig, sig0, n));   /* r[0]: a batch of its own */
	assert_int_equal(strncmp(r[0].receipt, "v3.", 3), 0);
	assert_int_equal(strncmp(receipt_tail(r[0].receipt, 8), ".0.1..", 6), 0); /* no path */
	for (int i = 0; i < 6; i++) {
		assert_int_equal(strncmp(r[i].receipt, "v3.", 3), 0);
		assert_null(audit_receipt_verify(r[i].receipt, f->k.pk, b[i], strlen(b[i]), &info));
		assert_int_equal(info.version, 3);
		assert_int_equal(info.batch_size, i ? 5 : 1);
		assert_int_equal(info.batch_index, i ? i - 1 : 0);
		assert_null(audit_receipt_check(f->s, r[i].receipt, b[i], strlen(b[i]), NULL, &e));
		if (i) {
			/* one signature for the five */
			size_t m;
			const char *si = field(r[i].receipt, 11, &m);
			assert_true(m == n && !memcmp(si, sig, n));
		}
	}
	/* Another answer's body. */
	assert_non_null(audit_receipt_verify(r[2].receipt, f->k.pk, b[3], strlen(b[3]), &info));
	/* A field: the time; the index; the size. */
	receipt_with(bad, r[2].receipt, 2, "1700000000009");
	assert_non_null(audit_receipt_verify(bad, f->k.pk, b[2], strlen(b[2]), &info));
	receipt_with(bad, r[2].receipt, 8, "2");
	assert_non_null(audit_receipt_verify(bad, f->k.pk, b[2], strlen(b[2]), &info));
	receipt_with(bad, r[2].receipt, 9, "6");
	assert_non_null(audit_receipt_verify(bad, f->k.pk, b[2], strlen(b[2]), &info));
	/* The path: one character; the signature: one character. */
	const char *pf = field(r[2].receipt, 10, &n);
	strcpy(bad, r[2].receipt);
	bad[pf - r[2].receipt + 5] = bad[pf - r[2].receipt + 5] == 'A' ? 'B' : 'A';
	assert_non_null(audit_receipt_verify(bad, f->k.pk, b[2], strlen(b[2]), &info));
	strcpy(bad, r[2].receipt);
	bad[strlen(bad) - 3] = bad[strlen(bad) - 3] == 'A' ? 'B' : 'A';
	const char *why = audit_receipt_verify(bad, f->k.pk, b[2], strlen(b[2]), &info);
	assert_non_null(why);
	assert_non_null(strstr(why, "la firma del gruppo"));
	assert_non_null(audit_receipt_check(f->s, bad, b[2], strlen(b[2]), NULL, &e));
	/* Another receipt's place and path in the same batch. */
	size_t keep;
	field(r[2].receipt, 8, &keep);
	snprintf(bad, sizeof bad, "%.*s%s", (int)(receipt_tail(r[2].receipt, 8) - r[2].receipt),
		 r[2].receipt, receipt_tail(r[3].receipt, 8));
	assert_non_null(audit_receipt_verify(bad, f->k.pk, b[2], strlen(b[2]), &info));
	/* Moved to another batch of the same size, at the same place. */
	receipts_batch(f, r2, 6, b);
	for (int i = 0; i < 6; i++)
		assert_null(audit_receipt_check(f->s, r2[i].receipt, b[i], strlen(b[i]), NULL, &e));
	snprintf(bad, sizeof bad, "%.*s%s", (int)(receipt_tail(r[2].receipt, 8) - r[2].receipt),
		 r[2].receipt, receipt_tail(r2[2].receipt, 8));
	why = audit_receipt_verify(bad, f->k.pk, b[2], strlen(b[2]), &info);
	assert_non_null(why);
	assert_non_null(strstr(why, "da un altro gruppo"));
	assert_non_null(audit_receipt_check(f->s, bad, b[2], strlen(b[2]), NULL, &e));
	/* A v3 receipt cut to v2's shape, or v2 named on a v3 receipt. */
	receipt_with(bad, r[2].receipt, 0, "v2");
	assert_non_null(audit_receipt_verify(bad, f->k.pk, b[2], strlen(b[2]), &info));
}

/* v2 receipts (the format before one signature per batch: the first eight
 * fields signed, one signature per answer) still verify, offline and
 * against the database: one made here as the old writer made them, from
 * the trail's tree and head, and one made by the old code (commit 1f68763,
 * made by its audit_receipt() with
 * a key of its own, and the answer's body). */
static const char V2_PK[] = "6ff0a261fb35a25e1a161e3888cb00032d0ddf47dd1cfe4282afce8c2bcb76e8";
static const char V2_RECEIPT[] =
	"v2.2.1700000000001.2.063335a51295a2097d9e64ab993608cae393073e77aa06b521d"
	"604b43dbf795b.490d7e83795da2a5695ace3fb4c5b229830bf4136382701f28dfad1d4d"
	"1ea769.dmlzdXJhLzZmZjBhMjYxZmIzNWEyNWUKMgpHelBJdlU0b016UlNkNU5LTWdjL0pGW"
	"khoWS9PTUFvUTh1SURkOTVOMWpVPQoK4oCUIHZpc3VyYS82ZmYwYTI2MWZiMzVhMjVlIDhBW"
	"nlMTmZkTDhXQy85ekNQRXJrV2M2NThRN2JsaytaRC9wTEF3T0UwSlVRbCtveCtTeGVWcWFlN"
	"jZtek9yQjBka1dIM3R1SXJ4SkZOdWMvUi84TUFhckJxd0U9Cg.H65YP51PvHdyGU8sHhdaLB"
	"ZyrKpUEeMyFDJaKCXoIik.PDR0kxAFkIyeQMrTMbIg7_jjnQL1-bDrKSkytxCMW18ryDFtuZ"
	"pAgPp-XqUzl3pf7M458ZKBSbMS-V3RkuweCA";
static const char V2_BODY[] = "{\"person\":{\"identity\":{\"surname\":\"ROSSI\"}},\"access_id\":2}";

/* The first head whose tree holds leaf `want` - 1 (record `want`): the
 * record ids of a fixture need not start at 1 (PostgreSQL's sequences
 * go on across the tests of one database). */
struct head_for {
	uint64_t want;
	struct checkpoint head;
	bool found;
};

static int head_of_size(void *ctx, const struct store_head *h)
{
	struct head_for *hf = ctx;
	static struct checkpoint c;
	if (hf->found)
		return 0;
	assert_null(checkpoint_parse(&c, h->note, strlen(h->note)));
	if (c.size >= hf->want) {
		hf->head = c;
		hf->found = true;
	}
	return 0;
}

static void test_receipt_v2_still_verifies(void **state)
{
	struct fx *f = *state;
	struct vis_error e = {0};
	static struct receipt_ctx r[3];
	static struct audit_receipt_info info;
	static struct head_for hf;
	static char v2[AUDIT_RECEIPT_MAX], bad[AUDIT_RECEIPT_MAX];
	const char body[] = "{\"person\":{}}";
	receipts_n(f, r, 3, body);
	/* The first head that covers the first record. */
	hf = (struct head_for){.want = (uint64_t)r[0].rec.id};
	assert_int_equal(store_head_each(f->s, head_of_size, &hf, &e), VIS_OK);
	assert_true(hf.found);
	const struct checkpoint *head = &hf.head;
	uint8_t leaf[32], proof[MERKLE_PROOF_MAX][32], d[32];
	int plen;
	assert_int_equal(audit_tree_inclusion(f->s, (uint64_t)r[0].rec.id - 1, head->size, leaf,
					      proof, &plen, &e),
			 VIS_OK);
	char sha[65], leafhex[65], note[6000], pr[3000], sig[100];
	crypto_hash_sha256(d, (const unsigned char *)body, strlen(body));
	sodium_bin2hex(sha, sizeof sha, d, 32);
	sodium_bin2hex(leafhex, sizeof leafhex, leaf, 32);
	sodium_bin2base64(note, sizeof note, (const unsigned char *)head->text, strlen(head->text),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_bin2base64(pr, sizeof pr, (const unsigned char *)proof, (size_t)plen * 32,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	int m = snprintf(v2, sizeof v2, "v2.%lld.%lld.%lld.%s.%s.%s.%s", (long long)r[0].rec.id,
			 (long long)r[0].rec.at, (long long)r[0].rec.purpose_id, sha, leafhex, note,
			 pr);
	audit_sign(&f->k, v2, (size_t)m, sig);
	snprintf(v2 + m, sizeof v2 - (size_t)m, ".%s", sig);
	assert_null(audit_receipt_verify(v2, f->k.pk, body, strlen(body), &info));
	assert_int_equal(info.version, 2);
	assert_null(audit_receipt_check(f->s, v2, body, strlen(body), NULL, &e));
	strcpy(bad, v2);
	bad[strlen(bad) - 3] = bad[strlen(bad) - 3] == 'A' ? 'B' : 'A';
	assert_non_null(audit_receipt_verify(bad, f->k.pk, body, strlen(body), &info));
	assert_non_null(audit_receipt_verify(v2, f->k.pk, "{}", 2, &info));
	/* The old code's own receipt, offline. */
	uint8_t pk[32];
	size_t got;
	assert_int_equal(sodium_hex2bin(pk, 32, V2_PK, 64, NULL, &got, NULL), 0);
	assert_null(audit_receipt_verify(V2_RECEIPT, pk, V2_BODY, strlen(V2_BODY), &info));
	assert_int_equal(info.version, 2);
	assert_non_null(audit_receipt_verify(V2_RECEIPT, pk, "{}", 2, &info));
	assert_non_null(audit_receipt_verify(V2_RECEIPT, f->k.pk, V2_BODY, strlen(V2_BODY), &info));
}

static int count_purge(void *ctx, const struct store_purge *p)
{
	(void)p;
	++*(int *)ctx;
	return 0;
}

/* A retention purge through audit_purge: the records before the cutoff
 * go with their index rows, their leaves stay; verify counts them, their
 * receipts still verify ("purged on"), the ids go on after a purge of
 * everything, and records removed outside a signed purge are named. */
static void test_purge_signed(void **state)
{
	struct fx *f = *state;
	struct vis_error e = {0};
	const char body[] = "{}";
	static struct receipt_ctx r[9];
	static struct audit_receipt_info info;
	receipts_n(f, r, 9, body);
	int64_t up_to, removed, at = 1800000000000, purged_at;
	/* in batches of 2: three signed purges, the trail's lock taken three
	 * times a moment (AUDIT_PURGE_BATCH in the command) */
	struct audit_purge_opts po = {.cutoff_ms = 1700000000005, .now_ms = at, .batch = 2};
	assert_int_equal(audit_purge(f->s, &f->k, &po, &up_to, &removed, &e), VIS_OK);
	assert_int_equal(up_to, 5);
	assert_int_equal(removed, 5);
	int purges = 0;
	assert_int_equal(store_purge_each(f->s, count_purge, &purges, &e), VIS_OK);
	assert_int_equal(purges, 3);
	po.batch = 0;
	assert_int_equal(audit_purge(f->s, &f->k, &po, &up_to, &removed, &e), VIS_ERR_INTERNAL);
	e = (struct vis_error){0};
	struct audit_verify_result res;
	assert_int_equal(audit_verify(f->s, NULL, &res, &e), VIS_OK);
	assert_int_equal(res.first_bad_id, 0);
	assert_int_equal(res.purged, 5);
	assert_int_equal(res.purged_at, at);
	assert_int_equal(res.checked, 4);
	assert_null(audit_receipt_check(f->s, r[2].receipt, body, 2, &purged_at, &e));
	assert_int_equal(purged_at, at);
	assert_null(audit_receipt_verify(r[2].receipt, f->k.pk, body, 2, &info));
	assert_null(audit_receipt_check(f->s, r[7].receipt, body, 2, &purged_at, &e));
	assert_int_equal(purged_at, 0);
	/* Everything, then more records: the ids and the chain go on. */
	po = (struct audit_purge_opts){.cutoff_ms = 1900000000000, .now_ms = at + 1,
				       .batch = AUDIT_PURGE_BATCH};
	assert_int_equal(audit_purge(f->s, &f->k, &po, &up_to, &removed, &e), VIS_OK);
	assert_int_equal(up_to, 9);
	assert_int_equal(removed, 4);
	append_n(f, 3);
	assert_int_equal(audit_verify(f->s, NULL, &res, &e), VIS_OK);
	assert_int_equal(res.first_bad_id, 0);
	assert_int_equal(res.purged, 9);
	assert_int_equal(res.checked, 3);
	assert_null(audit_receipt_check(f->s, r[8].receipt, body, 2, &purged_at, &e));
	assert_int_equal(purged_at, at + 1);
	/* A record deleted outside a purge; a forged purge. */
	sql(f, "DELETE FROM access_subject WHERE access_id = 10; DELETE FROM access_log WHERE id = 10");
	char why[400];
	assert_int_equal(verify_bad(f, why, sizeof why), 11);
	assert_non_null(strstr(why, "nessuna eliminazione per conservazione firmata le copre"));
	sql(f, "UPDATE audit_purge SET up_to = 10 WHERE up_to = 9");
	assert_int_equal(verify_bad(f, why, sizeof why), 10);
	assert_non_null(strstr(why, "eliminazione per conservazione fino alla registrazione 10 ha una "
				    "firma non valida"));
}

/* Between a purge's batches the trail is free: after each batch another
 * connection, as the server's group-commit writer, appends a record at
 * once (STORE_WAIT_NONE: a lock still held is an error, not a wait).
 * When a purge was one transaction, the server's answers waited for all
 * of it (624,177 records: 604 s, docs/performance.md). */
struct beside {
	struct fx *f;
	struct store *other;
	int batches, appended;
	int64_t up_to, removed;
};

static void purge_beside(void *ctx, int64_t up_to, int64_t removed)
{
	struct beside *b = ctx;
	struct vis_error e = {0};
	struct store_access a;
	fill(&a, 100 + b->batches);
	a.at = 1900000000000;
	a.subjects = "BNCNNA82C55F257X,RSSMRA80A01F257G";
	b->batches++;
	assert_true(up_to > b->up_to && removed > b->removed);
	b->up_to = up_to;
	b->removed = removed;
	if (audit_append(b->other, &b->f->k, &a, &e) == VIS_OK)
		b->appended++;
	else
		fprintf(stderr, "after batch %d: %s\n", b->batches, e.msg);
}

static void test_purge_batches_leave_the_trail_free(void **state)
{
	struct fx *f = *state;
	struct vis_error e = {0};
	static struct receipt_ctx r[25];
	receipts_n(f, r, 25, "{}");
	struct beside b = {.f = f};
	assert_int_equal(testdb_store_open(f->db.uri, &b.other, &e), VIS_OK);
	store_wait(b.other, STORE_WAIT_NONE);
	struct audit_purge_opts po = {.cutoff_ms = 1700000000020, .now_ms = 1800000000000,
				      .batch = 3, .progress = purge_beside, .ctx = &b};
	int64_t up_to, removed;
	assert_int_equal(audit_purge(f->s, &f->k, &po, &up_to, &removed, &e), VIS_OK);
	store_close(b.other);
	assert_int_equal(up_to, 20);
	assert_int_equal(removed, 20);
	assert_int_equal(b.batches, 7);
	assert_int_equal(b.appended, 7);
	assert_int_equal(b.up_to, 20);
	int purges = 0;
	assert_int_equal(store_purge_each(f->s, count_purge, &purges, &e), VIS_OK);
	assert_int_equal(purges, 7);
	struct audit_verify_result res;
	assert_int_equal(audit_verify(f->s, NULL, &res, &e), VIS_OK);
	assert_int_equal(res.first_bad_id, 0);
	assert_int_equal(res.purged, 20);
	assert_int_equal(res.checked, 5 + 7);
}

/* Two writers on one database, as two instances of the server: one tree,
 * one head per commit, every receipt valid. */
struct instance {
	struct fx *f;
	struct receipt_ctx *r;
	int n;
};

static void *instance_run(void *arg)
{
	struct instance *in = arg;
	struct vis_error e = {0};
	struct audit_writer *w;
	if (audit_writer_start(in->f->db.uri, &in->f->k, NULL, &w, &e))
		return NULL;
	for (int i = 0; i < in->n; i++) {
		in->r[i].w = w;
		in->r[i].body = "{}";
		fill(&in->r[i].rec, i);
		if (i % 7 == 0) {
			/* Now and then one waits: the other's commits interleave. */
			while (i > 0 && !__atomic_load_n(&in->r[i - 1].done, __ATOMIC_ACQUIRE))
				usleep(200);
		}
		if (audit_submit_async(w, &in->r[i].rec, receipt_build, receipt_done, &in->r[i], &e))
			break;
	}
	for (int i = 0; i < in->n; i++)
		while (!__atomic_load_n(&in->r[i].done, __ATOMIC_ACQUIRE))
			usleep(1000);
	audit_writer_stop(w);
	return NULL;
}

static int count_heads(void *ctx, const struct store_head *h)
{
	(void)h;
	(*(int *)ctx)++;
	return 0;
}

static void test_two_instances_one_tree(void **state)
{
	struct fx *f = *state;
	static struct receipt_ctx r[2][120];
	struct instance in[2] = {{f, r[0], 120}, {f, r[1], 120}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, instance_run, &in[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	static struct audit_verify_result res;
	struct vis_error e = {0};
	assert_int_equal(audit_verify(f->s, NULL, &res, &e), VIS_OK);
	assert_int_equal(res.first_bad_id, 0);
	assert_int_equal(res.checked, 240);
	int heads = 0;
	assert_int_equal(store_head_each(f->s, count_heads, &heads, &e), VIS_OK);
	assert_int_equal(res.heads, heads);
	assert_true(heads >= 2);
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < 120; i++) {
			assert_int_equal(r[k][i].rc, VIS_OK);
			assert_null(audit_receipt_check(f->s, r[k][i].receipt, "{}", 2, NULL, &e));
		}
}

/* A head kept outside the database: the latest, as `visura audit head`
 * prints it. */
static int last_head(void *ctx, const struct store_head *h)
{
	struct checkpoint *c = ctx;
	assert_null(checkpoint_parse(c, h->note, strlen(h->note)));
	return 0;
}

static const char *verify_kept(struct fx *f, const struct checkpoint *kept, int64_t *bad)
{
	static struct audit_verify_result res;
	struct vis_error e = {0};
	assert_int_equal(audit_verify(f->s, kept, &res, &e), VIS_OK);
	*bad = res.first_bad_id;
	return res.why;
}

static void test_tree_heads_and_kept_head(void **state)
{
	struct fx *f = *state;
	static struct checkpoint kept, early;
	int64_t bad;
	append_n(f, 5);
	assert_int_equal(store_head_each(f->s, last_head, &early, NULL), VIS_OK);
	append_n(f, 7);
	assert_int_equal(store_head_each(f->s, last_head, &kept, NULL), VIS_OK);
	assert_int_equal(kept.size, 12);
	verify_kept(f, &kept, &bad);
	assert_int_equal(bad, 0);
	verify_kept(f, &early, &bad);
	assert_int_equal(bad, 0);
	/* Consistency proofs from the tree the store keeps. */
	uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH], r5[MERKLE_HASH], r12[MERKLE_HASH];
	int len;
	struct vis_error e = {0};
	assert_int_equal(audit_tree_root(f->s, 5, r5, &e), VIS_OK);
	assert_int_equal(audit_tree_root(f->s, 12, r12, &e), VIS_OK);
	assert_memory_equal(r5, early.root, MERKLE_HASH);
	assert_int_equal(audit_tree_consistency(f->s, 5, 12, proof, &len, &e), VIS_OK);
	assert_true(merkle_consistency_verify(5, 12, early.root, kept.root, proof, len));
	assert_int_equal(audit_tree_consistency(f->s, 5, 13, proof, &len, &e), VIS_ERR_NOTFOUND);
	/* A head kept from another deployment is refused. */
	static struct checkpoint foreign;
	uint8_t pk[32], sk[64];
	crypto_sign_keypair(pk, sk);
	assert_int_equal(checkpoint_sign(&foreign, kept.origin, 12, kept.root, sk), 0);
	const char *why = verify_kept(f, &foreign, &bad);
	assert_int_not_equal(bad, 0);
	assert_non_null(strstr(why, "non è di questo registro degli accessi"));
}

static void test_truncation_and_wipe_against_kept_head(void **state)
{
	struct fx *f = *state;
	static struct checkpoint kept;
	int64_t bad;
	append_n(f, 10);
	assert_int_equal(store_head_each(f->s, last_head, &kept, NULL), VIS_OK);
	/* Rollback: the records and every head after 6 removed, consistently. */
	sql(f, "DELETE FROM access_subject WHERE access_id > 6; DELETE FROM access_log WHERE id > 6;"
	       " DELETE FROM audit_head WHERE size > 6; DELETE FROM audit_tree WHERE idx >= 6");
	int64_t inside;
	verify_kept(f, NULL, &inside);
	assert_int_equal(inside, 0);   /* undetectable from inside: why heads leave */
	const char *why = verify_kept(f, &kept, &bad);
	assert_int_equal(bad, 7);
	assert_non_null(strstr(why, "troncamento o ritorno indietro"));
	/* Wipe. */
	sql(f, "DELETE FROM access_subject; DELETE FROM access_log; DELETE FROM audit_head;"
	       " DELETE FROM audit_tree; DELETE FROM audit_checkpoint");
	why = verify_kept(f, &kept, &bad);
	assert_int_equal(bad, 1);
	assert_non_null(strstr(why, "svuotato"));
}

static void test_deleted_heads_and_added_records(void **state)
{
	struct fx *f = *state;
	int64_t bad;
	append_n(f, 4);
	sql(f, "DELETE FROM audit_head");
	const char *why = verify_kept(f, NULL, &bad);
	assert_int_equal(bad, 1);
	assert_non_null(strstr(why, "le teste sono state cancellate"));
}

/* Rewrites record `id` and recomputes the chain after it, as an attacker
 * with the database would. */
struct rewrite {
	struct fx *f;
	int64_t id;
	char prev[65];
};

static int rewrite_one(void *ctx, const struct store_access *a)
{
	struct rewrite *r = ctx;
	struct store_access b = *a;
	if (a->id == r->id)
		snprintf(b.case_ref, sizeof b.case_ref, "ritoccato");
	if (a->id >= r->id) {
		memcpy(b.prev_hash, r->prev, sizeof b.prev_hash);
		audit_hash(&b, b.prev_hash, b.hash);
		char q[512];
		snprintf(q, sizeof q, "UPDATE access_log SET case_ref = '%s', prev_hash = '%s',"
			 " hash = '%s' WHERE id = %lld", b.case_ref, b.prev_hash, b.hash,
			 (long long)b.id);
		sql(r->f, q);
	}
	memcpy(r->prev, b.hash, sizeof r->prev);
	return 0;
}

static void test_edit_with_recomputed_hashes(void **state)
{
	struct fx *f = *state;
	static struct checkpoint kept;
	int64_t bad;
	append_n(f, 8);
	assert_int_equal(store_head_each(f->s, last_head, &kept, NULL), VIS_OK);
	struct rewrite r = {.f = f, .id = 3};
	struct vis_error e = {0};
	assert_int_equal(store_access_each(f->s, 1, rewrite_one, &r, &e), VIS_OK);
	/* The chain holds; the signed heads do not. */
	const char *why = verify_kept(f, NULL, &bad);
	assert_int_equal(bad, 3);
	assert_non_null(strstr(why, "testa firmata"));
	/* Even with every head of size >= 3 deleted, the kept head names it. */
	sql(f, "DELETE FROM audit_head WHERE size >= 3");
	why = verify_kept(f, &kept, &bad);
	assert_int_not_equal(bad, 0);
}

static void test_per_person_index(void **state)
{
	/* access_subject, which the art. 15 and citizen reports read, is
	 * checked against the records: every row missing, extra or
	 * re-pointed is named. */
	struct fx *f = *state;
	int64_t bad;
	append_n(f, 6);
	verify_kept(f, NULL, &bad);
	assert_int_equal(bad, 0);
	sql(f, "DELETE FROM access_subject WHERE access_id = 3");
	const char *why = verify_kept(f, NULL, &bad);
	assert_int_equal(bad, 3);
	assert_non_null(strstr(why, "manca la riga della registrazione 3 per RSSMRA80A01F257G"));
	sql(f, "INSERT INTO access_subject (access_id, cf) VALUES (3, 'RSSMRA80A01F257G');"
	       "INSERT INTO access_subject (access_id, cf) VALUES (4, 'BNCNNA82C55F257X')");
	why = verify_kept(f, NULL, &bad);
	assert_int_equal(bad, 4);
	assert_non_null(strstr(why, "riga in più: registrazione 4, BNCNNA82C55F257X"));
	sql(f, "DELETE FROM access_subject WHERE cf = 'BNCNNA82C55F257X';"
	       "UPDATE access_subject SET access_id = 5 WHERE access_id = 2");
	why = verify_kept(f, NULL, &bad);
	assert_int_equal(bad, 2);
	assert_non_null(strstr(why, "RSSMRA80A01F257G spostato dalla registrazione 2 alla 5"));
}

static void test_fork_against_kept_head(void **state)
{
	/* Two heads of the same size signed with the deployment's key: the
	 * one kept outside and the database's. */
	struct fx *f = *state;
	static struct checkpoint kept;
	int64_t bad;
	append_n(f, 6);
	uint8_t other_root[MERKLE_HASH];
	memset(other_root, 0x42, sizeof other_root);
	char origin[CHECKPOINT_NAME_MAX + 1];
	audit_origin_default(f->k.pk, origin);
	assert_int_equal(checkpoint_sign(&kept, origin, 6, other_root, f->k.sk), 0);
	const char *why = verify_kept(f, &kept, &bad);
	assert_int_equal(bad, 6);
	assert_non_null(strstr(why, "biforcazione"));
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

/* A record's chain hash and leaf, computed apart (Python's hashlib over
 * the canonical bytes as snprintf's %lld wrote them): the encoding of the
 * trail cannot change, whatever writes it (the numbers are written by hand
 * since issue #20, INT64_MIN and INT64_MAX included). */
static void test_record_hashes_fixed(void **state)
{
	(void)state;
	struct store_access a = {.id = 1234567890123,
				 .at = 1733400000123,
				 .account_id = 42,
				 .ente_id = -7,
				 .convenzione_id = INT64_MIN,
				 .purpose_id = INT64_MAX,
				 .status = 200,
				 .username = "mario.rossi",
				 .case_ref = "PRATICA/1",
				 .ip = "192.0.2.7",
				 .operation = "persons.search",
				 .query = "cf=RSSMRA80A01H501U",
				 .subjects = "RSSMRA80A01H501U,VRDLGU75B02F205X",
				 .categories = "anagrafica",
				 .outcome = "ok",
				 .workstation = "0A1B"};
	for (int i = 0; i < 32; i++)
		memcpy(a.prev_hash + 2 * i, "ab", 2);
	char hex[65], leaf_hex[65];
	uint8_t leaf[MERKLE_HASH];
	audit_hash(&a, a.prev_hash, hex);
	assert_string_equal(hex, "ae1f41e302783e6b251294ac19449a310dc3bd90e14bbd68aac7817a200357b5");
	audit_leaf_hash(&a, leaf);
	str_hex(leaf_hex, leaf, sizeof leaf);
	assert_string_equal(leaf_hex,
			    "bfa039579f10c01db0161ec4bf0ddfa0268ae1f7cd90daf7733cf5ee2810cc02");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_hashes_fixed),
		cmocka_unit_test_setup_teardown(test_chain_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reorder_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoints_and_truncation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_checkpoint_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_purge_keeps_chain_verifiable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_stops_when_asked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receipt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receipt_batch_one_signature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receipt_v2_still_verifies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_purge_signed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_purge_batches_leave_the_trail_free, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tree_heads_and_kept_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncation_and_wipe_against_kept_head, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_deleted_heads_and_added_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit_with_recomputed_hashes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fork_against_kept_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_per_person_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_instances_one_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_mismatch_refused, setup, teardown),
	};
	return TESTDB_RUN("audit", tests, NULL, NULL, &use_pg);
}
