/* Unit tests: the witness's decision (witness/witness.h) over real
 * checkpoints of real trees: a log's heads cosigned in turn with the
 * consistency proof from the last cosigned one (every pair of sizes up to
 * 40 leaves), refused as a rollback, a fork (same size, another root; a
 * larger head whose proof does not lead from the cosigned root), under
 * another key, for an unknown log, or with the wrong old size (409 with
 * the witness's size); the state file written atomically (never through a
 * link planted at its temporary's old name) and read back;
 * the request body formatted and parsed back, malformed ones refused;
 * cosignatures of a note checked by witness_note_check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/checkpoint.h"
#include "audit/merkle.h"
#include "witness/witness.h"

#define N 40
#define ORIGIN "anagrafe.test.example/visura"

static uint8_t leaves[N][MERKLE_HASH];
static uint8_t log_pk[32], log_sk[64], w_pk[32], w_sk[64];
static char dir[] = "/tmp/visura-witness-XXXXXX";

static int full_node(void *ctx, int level, uint64_t idx, uint8_t out[MERKLE_HASH])
{
	uint64_t n = *(uint64_t *)ctx;
	if ((idx + 1) << level > n)
		return -1;
	if (level == 0) {
		memcpy(out, leaves[idx], MERKLE_HASH);
		return 0;
	}
	uint8_t l[MERKLE_HASH], r[MERKLE_HASH];
	if (full_node(ctx, level - 1, 2 * idx, l) || full_node(ctx, level - 1, 2 * idx + 1, r))
		return -1;
	merkle_node_hash(l, r, out);
	return 0;
}

static void root_of(uint64_t n, uint8_t out[MERKLE_HASH])
{
	assert_int_equal(merkle_root(full_node, &n, n, out), 0);
}

/* A request from old to n of the log's real tree, signed with sk. */
static void request(struct witness_request *r, uint64_t old, uint64_t n, const uint8_t *sk)
{
	uint8_t root[MERKLE_HASH];
	memset(r, 0, sizeof *r);
	r->old_size = old;
	root_of(n, root);
	assert_int_equal(checkpoint_sign(&r->cp, ORIGIN, n, root, sk), 0);
	if (old && old <= n)
		assert_int_equal(merkle_consistency_proof(full_node, &n, old, n, r->proof,
							  &r->proof_len), 0);
}

static struct witness_service svc;

static void service_reset(void)
{
	memset(&svc, 0, sizeof svc);
	strcpy(svc.name, "testimone.example");
	memcpy(svc.sk, w_sk, sizeof w_sk);
	snprintf(svc.state_path, sizeof svc.state_path, "%s/witness.state", dir);
	unlink(svc.state_path);
	strcpy(svc.logs[0].origin, ORIGIN);
	memcpy(svc.logs[0].pk, log_pk, 32);
	svc.nlogs = 1;
	pthread_mutex_init(&svc.lock, NULL);
}

/* Sends r through the service's whole path (format, parse, decide). */
static int send(const struct witness_request *r, char *out, size_t cap)
{
	static char body[WITNESS_BODY_MAX + 1];
	size_t len = witness_request_format(r, body, sizeof body);
	assert_true(len > 0);
	int status;
	const char *type;
	witness_add_checkpoint(&svc, body, len, &status, out, cap, &type);
	return status;
}

static void test_cosigns_every_extension(void **state)
{
	(void)state;
	static struct witness_request r;
	char out[1024];
	for (uint64_t m = 1; m <= N; m += 3) {
		for (uint64_t n = m; n <= N; n += 5) {
			service_reset();
			request(&r, 0, m, log_sk);
			assert_int_equal(send(&r, out, sizeof out), 200);
			request(&r, m, n, log_sk);
			assert_int_equal(send(&r, out, sizeof out), 200);
			/* the line is the witness's valid cosignature */
			static struct checkpoint c;
			static char text[CHECKPOINT_TEXT_MAX + 1100];
			snprintf(text, sizeof text, "%s%s", r.cp.text, out);
			assert_null(checkpoint_parse(&c, text, strlen(text)));
			assert_null(checkpoint_cosigned(&c, "testimone.example", w_pk, NULL));
			assert_int_equal(svc.logs[0].size, n);
		}
	}
}

static void test_refusals(void **state)
{
	(void)state;
	static struct witness_request r;
	char out[1024];
	service_reset();
	request(&r, 0, 20, log_sk);
	assert_int_equal(send(&r, out, sizeof out), 200);
	/* rollback: smaller than cosigned */
	request(&r, 20, 10, log_sk);
	r.proof_len = 0;
	assert_int_equal(send(&r, out, sizeof out), 400);
	assert_non_null(strstr(out, "ritorno indietro"));
	/* fork: same size, another root */
	uint8_t other[MERKLE_HASH];
	memset(other, 7, sizeof other);
	memset(&r, 0, sizeof r);
	r.old_size = 20;
	assert_int_equal(checkpoint_sign(&r.cp, ORIGIN, 20, other, log_sk), 0);
	assert_int_equal(send(&r, out, sizeof out), 422);
	assert_non_null(strstr(out, "biforcazione"));
	/* a larger head whose proof is another tree's */
	request(&r, 20, 30, log_sk);
	r.proof[0][0] ^= 1;
	assert_int_equal(send(&r, out, sizeof out), 422);
	/* another key */
	uint8_t pk2[32], sk2[64];
	crypto_sign_keypair(pk2, sk2);
	request(&r, 20, 30, sk2);
	assert_int_equal(send(&r, out, sizeof out), 403);
	/* the wrong old size: 409 with the witness's */
	request(&r, 10, 30, log_sk);
	assert_int_equal(send(&r, out, sizeof out), 409);
	assert_string_equal(out, "20\n");
	/* an unknown log */
	strcpy(svc.logs[0].origin, "altro.example/log");
	request(&r, 20, 30, log_sk);
	assert_int_equal(send(&r, out, sizeof out), 404);
	strcpy(svc.logs[0].origin, ORIGIN);
	/* none of these moved the witness */
	assert_int_equal(svc.logs[0].size, 20);
	/* the same head again: cosigned */
	request(&r, 20, 20, log_sk);
	assert_int_equal(send(&r, out, sizeof out), 200);
}

static void test_state_survives(void **state)
{
	(void)state;
	static struct witness_request r;
	char out[1024];
	service_reset();
	/* a link planted where the state's temporary used to be written
	 * (PATH.tmp): the save goes beside it, the link's target untouched */
	char target[4200], link[4200];
	snprintf(target, sizeof target, "%s/target", dir);
	snprintf(link, sizeof link, "%s.tmp", svc.state_path);
	FILE *t = fopen(target, "w");
	fputs("vecchio\n", t);
	fclose(t);
	unlink(link);
	assert_int_equal(symlink(target, link), 0);
	request(&r, 0, 17, log_sk);
	assert_int_equal(send(&r, out, sizeof out), 200);
	char buf[32] = {0};
	t = fopen(target, "r");
	assert_non_null(fgets(buf, sizeof buf, t));
	fclose(t);
	assert_string_equal(buf, "vecchio\n");
	unlink(link);
	unlink(target);
	struct witness_log logs[2] = {0};
	strcpy(logs[0].origin, "altro.example/log");
	strcpy(logs[1].origin, ORIGIN);
	struct vis_error e = {0};
	assert_int_equal(witness_state_load(svc.state_path, logs, 2, &e), VIS_OK);
	assert_false(logs[0].cosigned);
	assert_true(logs[1].cosigned);
	assert_int_equal(logs[1].size, 17);
	assert_memory_equal(logs[1].root, r.cp.root, MERKLE_HASH);
	/* a damaged state file is refused, not taken as "nothing cosigned" */
	FILE *f = fopen(svc.state_path, "w");
	fputs(ORIGIN " 17 nothex\n", f);
	fclose(f);
	assert_int_not_equal(witness_state_load(svc.state_path, logs, 2, &e), VIS_OK);
	/* a FIFO or a device where the state is kept is refused at once, not
	 * waited on (a FIFO without a writer blocked the witness before) nor
	 * read (/dev/zero would have been read up to the size bound) */
	unlink(svc.state_path);
	assert_int_equal(mkfifo(svc.state_path, 0600), 0);
	assert_int_equal(witness_state_load(svc.state_path, logs, 2, &e), VIS_ERR_IO);
	unlink(svc.state_path);
	assert_int_equal(witness_state_load("/dev/zero", logs, 2, &e), VIS_ERR_IO);
	uint8_t pk[32];
	assert_int_equal(witness_pubkey_read("/dev/zero", pk, &e), VIS_ERR_IO);
}

static void test_parse(void **state)
{
	(void)state;
	static struct witness_request r, back;
	static char body[WITNESS_BODY_MAX + 1];
	request(&r, 5, 33, log_sk);
	size_t len = witness_request_format(&r, body, sizeof body);
	assert_null(witness_request_parse(&back, body, len));
	assert_int_equal(back.old_size, 5);
	assert_int_equal(back.proof_len, r.proof_len);
	assert_memory_equal(back.proof, r.proof, (size_t)r.proof_len * MERKLE_HASH);
	assert_string_equal(back.cp.text, r.cp.text);
	static const char *const bad[] = {
		"", "old 5", "old 5\n", "old -1\n\n", "old 05\n\n", "old 5\nAAAA\n\n",
		"old 5 \n\n", "OLD 5\n\n", "old 99999999999999999999\n\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_non_null(witness_request_parse(&back, bad[i], strlen(bad[i])));
	/* cut anywhere: refused, never read past */
	for (size_t k = 0; k < len; k++)
		assert_non_null(witness_request_parse(&back, body, k));
}

static void test_note_check(void **state)
{
	(void)state;
	static struct witness_request r;
	char out[1024], why[400];
	service_reset();
	request(&r, 0, 9, log_sk);
	assert_int_equal(send(&r, out, sizeof out), 200);
	static struct checkpoint c;
	static char text[CHECKPOINT_TEXT_MAX + 1100];
	snprintf(text, sizeof text, "%s%s", r.cp.text, out);
	assert_null(checkpoint_parse(&c, text, strlen(text)));
	struct witness_tally t = {0};
	strcpy(t.name, "testimone.example");
	memcpy(t.pk, w_pk, 32);
	int64_t unknown = 0;
	assert_null(witness_note_check(&c, &t, 1, &unknown, why, sizeof why));
	assert_int_equal(t.heads, 1);
	assert_int_equal(t.latest, 9);
	/* a witness not given is counted apart */
	assert_null(witness_note_check(&c, &t, 0, &unknown, why, sizeof why));
	assert_int_equal(unknown, 1);
	/* altered: refused, naming the witness */
	c.sigs[1].sig[20] ^= 1;
	assert_non_null(witness_note_check(&c, &t, 1, &unknown, why, sizeof why));
	assert_non_null(strstr(why, "testimone.example"));
}

int main(void)
{
	assert_true(sodium_init() >= 0);
	for (int i = 0; i < N; i++) {
		char d[16];
		snprintf(d, sizeof d, "leaf %d", i);
		merkle_leaf_hash(d, strlen(d), leaves[i]);
	}
	crypto_sign_keypair(log_pk, log_sk);
	crypto_sign_keypair(w_pk, w_sk);
	if (!mkdtemp(dir))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cosigns_every_extension),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_state_survives),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_note_check),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char path[64];
	snprintf(path, sizeof path, "%s/witness.state", dir);
	unlink(path);
	rmdir(dir);
	return rc;
}
