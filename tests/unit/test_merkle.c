/* Unit tests: the trail's Merkle tree (audit/merkle.h) against the
 * Certificate Transparency reference tree (RFC 6962's test data, the same
 * hashing as RFC 9162), every inclusion and consistency proof of trees up
 * to 70 leaves generated, verified, and refused when mangled; a tree grown
 * batch by batch from its frontier equal to one built at once; and the
 * checkpoint note (audit/checkpoint.h): signed, parsed, cosigned, and
 * refused when altered or signed by another key; the trail's SHA-256
 * (audit/sha256.h, libcrypto's) the same digest as libsodium's for every
 * length up to a few blocks, whole and in pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/checkpoint.h"
#include "audit/merkle.h"
#include "audit/sha256.h"

#define N 70

static uint8_t leaves[N][MERKLE_HASH];

/* Complete node (level, idx) computed from the leaves. */
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

static void unhex(const char *h, uint8_t out[MERKLE_HASH])
{
	size_t n;
	assert_int_equal(sodium_hex2bin(out, MERKLE_HASH, h, 64, NULL, &n, NULL), 0);
	assert_int_equal(n, MERKLE_HASH);
}

static const char *const ct_data[8] = {"", "\x00", "\x10", "\x20\x21", "\x30\x31",
	"\x40\x41\x42\x43", "\x50\x51\x52\x53\x54\x55\x56\x57",
	"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"};
static const size_t ct_len[8] = {0, 1, 1, 2, 2, 4, 8, 16};
static const char *const ct_roots[9] = {
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

static void ct_leaves(void)
{
	for (int i = 0; i < 8; i++)
		merkle_leaf_hash(ct_data[i], ct_len[i], leaves[i]);
}

static void test_reference_roots(void **state)
{
	(void)state;
	ct_leaves();
	for (uint64_t n = 0; n <= 8; n++) {
		uint8_t root[MERKLE_HASH], want[MERKLE_HASH];
		unhex(ct_roots[n], want);
		assert_int_equal(merkle_root(full_node, &n, n, root), 0);
		assert_memory_equal(root, want, MERKLE_HASH);
	}
}

static void test_reference_inclusion(void **state)
{
	(void)state;
	ct_leaves();
	static const char *const p0[] = {
		"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"};
	static const char *const p5[] = {
		"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
		"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"};
	uint64_t n = 8;
	uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH], want[MERKLE_HASH], root[MERKLE_HASH];
	int len;
	unhex(ct_roots[8], root);
	assert_int_equal(merkle_inclusion_proof(full_node, &n, 0, 8, proof, &len), 0);
	assert_int_equal(len, 3);
	for (int i = 0; i < 3; i++) {
		unhex(p0[i], want);
		assert_memory_equal(proof[i], want, MERKLE_HASH);
	}
	assert_true(merkle_inclusion_verify(leaves[0], 0, 8, proof, len, root));
	assert_int_equal(merkle_inclusion_proof(full_node, &n, 5, 8, proof, &len), 0);
	assert_int_equal(len, 3);
	for (int i = 0; i < 3; i++) {
		unhex(p5[i], want);
		assert_memory_equal(proof[i], want, MERKLE_HASH);
	}
	assert_true(merkle_inclusion_verify(leaves[5], 5, 8, proof, len, root));
	assert_false(merkle_inclusion_verify(leaves[4], 5, 8, proof, len, root));
	assert_false(merkle_inclusion_verify(leaves[5], 4, 8, proof, len, root));
	assert_false(merkle_inclusion_verify(leaves[5], 8, 8, proof, len, root));
}

static void many_leaves(void)
{
	for (int i = 0; i < N; i++) {
		char d[16];
		int n = snprintf(d, sizeof d, "leaf-%d", i);
		merkle_leaf_hash(d, (size_t)n, leaves[i]);
	}
}

static void test_every_inclusion_proof(void **state)
{
	(void)state;
	many_leaves();
	for (uint64_t n = 1; n <= N; n++) {
		uint8_t root[MERKLE_HASH];
		assert_int_equal(merkle_root(full_node, &n, n, root), 0);
		for (uint64_t i = 0; i < n; i++) {
			uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH];
			int len;
			assert_int_equal(merkle_inclusion_proof(full_node, &n, i, n, proof, &len), 0);
			assert_true(merkle_inclusion_verify(leaves[i], i, n, proof, len, root));
			if (n > 1)
				assert_false(merkle_inclusion_verify(leaves[(i + 1) % n], i, n, proof,
								     len, root));
			if (len > 0) {
				assert_false(merkle_inclusion_verify(leaves[i], i, n, proof, len - 1,
								     root));
				proof[len - 1][7] ^= 1;
				assert_false(merkle_inclusion_verify(leaves[i], i, n, proof, len,
								     root));
				proof[len - 1][7] ^= 1;
				memset(proof[len], 0xab, MERKLE_HASH);
				assert_false(merkle_inclusion_verify(leaves[i], i, n, proof, len + 1,
								     root));
			}
		}
	}
}

static void test_every_consistency_proof(void **state)
{
	(void)state;
	many_leaves();
	uint8_t roots[N + 1][MERKLE_HASH];
	for (uint64_t n = 0; n <= N; n++)
		assert_int_equal(merkle_root(full_node, &n, n, roots[n]), 0);
	for (uint64_t n = 0; n <= N; n++) {
		for (uint64_t m = 0; m <= n; m++) {
			uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH];
			int len;
			assert_int_equal(merkle_consistency_proof(full_node, &n, m, n, proof, &len), 0);
			assert_true(merkle_consistency_verify(m, n, roots[m], roots[n], proof, len));
			if (m == 0 || m == n)
				continue;
			/* A head of size m that is not this tree's (a fork). */
			assert_false(merkle_consistency_verify(m, n, roots[m - 1], roots[n], proof,
							       len));
			assert_false(merkle_consistency_verify(m, n, roots[m], roots[n - 1], proof,
							       len));
			assert_false(merkle_consistency_verify(m, n, roots[m], roots[n], proof,
							       len - 1));
			proof[0][3] ^= 0x80;
			assert_false(merkle_consistency_verify(m, n, roots[m], roots[n], proof, len));
		}
	}
	uint8_t proof[1][MERKLE_HASH];
	int len;
	assert_int_equal(merkle_consistency_proof(full_node, &(uint64_t){8}, 9, 8, proof, &len), -1);
}

static void test_batches_from_the_frontier(void **state)
{
	(void)state;
	many_leaves();
	/* Grow the tree by batches of every size 1..7 and compare with the
	 * tree built at once: root, frontier, every new node, every proof. */
	for (uint64_t step = 1; step <= 7; step++) {
		struct merkle_frontier f = {0};
		while (f.size < N) {
			uint64_t n = f.size + step > N ? N - f.size : step;
			struct merkle_batch b;
			assert_int_equal(merkle_batch_build(&b, &f, leaves + f.size, n), 0);
			uint64_t size = f.size + n;
			uint8_t root[MERKLE_HASH];
			assert_int_equal(merkle_root(full_node, &size, size, root), 0);
			assert_memory_equal(b.root, root, MERKLE_HASH);
			for (int l = 0; l < b.levels; l++)
				for (uint64_t j = 0; j < b.count[l]; j++) {
					uint8_t want[MERKLE_HASH];
					assert_int_equal(full_node(&size, l, b.lo[l] + j, want), 0);
					assert_memory_equal(b.node[l][j], want, MERKLE_HASH);
				}
			for (uint64_t i = f.size; i < size; i++) {
				uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH];
				int len;
				assert_int_equal(merkle_inclusion_proof(merkle_batch_node, &b, i, size,
									proof, &len), 0);
				assert_true(merkle_inclusion_verify(leaves[i], i, size, proof, len,
								    root));
			}
			struct merkle_frontier g = f;
			for (uint64_t i = f.size; i < size; i++)
				merkle_frontier_append(&g, leaves[i]);
			uint8_t groot[MERKLE_HASH];
			merkle_frontier_root(&g, groot);
			assert_memory_equal(groot, root, MERKLE_HASH);
			f = b.now;
			merkle_batch_release(&b);
		}
		assert_int_equal(f.size, N);
	}
}

static void test_checkpoint_roundtrip(void **state)
{
	(void)state;
	uint8_t pk[32], sk[64], wpk[32], wsk[64], root[MERKLE_HASH];
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(wpk, wsk);
	memset(root, 7, sizeof root);
	struct checkpoint c, p;
	assert_int_equal(checkpoint_sign(&c, "visura.example/comune-a", 12345, root, sk), 0);
	assert_non_null(strstr(c.text, "visura.example/comune-a\n12345\n"));
	assert_null(checkpoint_parse(&p, c.text, strlen(c.text)));
	assert_int_equal(p.size, 12345);
	assert_memory_equal(p.root, root, MERKLE_HASH);
	assert_null(checkpoint_verify(&p, pk));
	assert_non_null(checkpoint_verify(&p, wpk));     /* another deployment's key */
	assert_int_equal(checkpoint_cosign(&p, "provincia.example/w1", wsk, 1700000000), 0);
	struct checkpoint q;
	assert_null(checkpoint_parse(&q, p.text, strlen(p.text)));
	uint64_t t = 0;
	assert_null(checkpoint_cosigned(&q, "provincia.example/w1", wpk, &t));
	assert_int_equal(t, 1700000000);
	assert_null(checkpoint_verify(&q, pk));
	assert_non_null(checkpoint_cosigned(&q, "provincia.example/w1", pk, NULL));
	/* Altered: another size under the same signature. */
	char text[CHECKPOINT_TEXT_MAX + 1];
	strcpy(text, c.text);
	char *sz = strstr(text, "12345");
	sz[4] = '6';
	assert_null(checkpoint_parse(&p, text, strlen(text)));
	assert_non_null(checkpoint_verify(&p, pk));
	/* Strict parsing. */
	const char *bad[] = {"", "o\n1\n", "o\n01\nAAAA\n\n", "o\n1\nxx\n\n— o AAAA\n",
			     "o\n1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\next\n\n— o AAAAAAAA\n",
			     "o\n1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n\n",
			     "o\n1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n\n— o AAAAAAAA"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_non_null(checkpoint_parse(&p, bad[i], strlen(bad[i])));
	assert_int_equal(checkpoint_sign(&c, "two words", 1, root, sk), -1);
}

/* checkpoint_sign keeps the key id of the thread's last origin and key:
 * a new key, a new origin, and the first again each get their own (a cache
 * that ignored either would sign with another key's id, which the verify
 * refuses). */
static void test_checkpoint_key_id_per_origin_and_key(void **state)
{
	(void)state;
	uint8_t pk[2][32], sk[2][64], root[MERKLE_HASH], id[4];
	crypto_sign_keypair(pk[0], sk[0]);
	crypto_sign_keypair(pk[1], sk[1]);
	memset(root, 3, sizeof root);
	static const struct {
		const char *origin;
		int key;
	} run[] = {{"visura/a", 0}, {"visura/a", 0}, {"visura/a", 1}, {"visura/b", 1},
		   {"visura/a", 0}};
	for (size_t i = 0; i < sizeof run / sizeof *run; i++) {
		struct checkpoint c, p;
		assert_int_equal(checkpoint_sign(&c, run[i].origin, i + 1, root, sk[run[i].key]),
				 0);
		assert_null(checkpoint_parse(&p, c.text, strlen(c.text)));
		assert_null(checkpoint_verify(&p, pk[run[i].key]));
		checkpoint_key_id(run[i].origin, 0x01, pk[run[i].key], id);
		assert_memory_equal(c.sigs[0].key_id, id, sizeof id);
	}
}

static void test_sha256_as_libsodium(void **state)
{
	(void)state;
	uint8_t data[700], a[SHA256_BYTES], b[SHA256_BYTES], c[SHA256_BYTES];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 131 + 7);
	/* FIPS 180-2's "abc". */
	static const uint8_t abc[SHA256_BYTES] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
		0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
		0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
	sha256_of("abc", 3, a);
	assert_memory_equal(a, abc, SHA256_BYTES);
	for (size_t len = 0; len <= sizeof data; len++) {
		crypto_hash_sha256(a, data, len);
		sha256_of(data, len, b);
		assert_memory_equal(a, b, SHA256_BYTES);
		struct sha256 h;
		sha256_init(&h);
		for (size_t at = 0, step = 1; at < len; at += step, step = step * 3 % 67 + 1)
			sha256_update(&h, data + at, step < len - at ? step : len - at);
		sha256_final(&h, c);
		assert_memory_equal(a, c, SHA256_BYTES);
	}
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_roots),
		cmocka_unit_test(test_reference_inclusion),
		cmocka_unit_test(test_every_inclusion_proof),
		cmocka_unit_test(test_every_consistency_proof),
		cmocka_unit_test(test_batches_from_the_frontier),
		cmocka_unit_test(test_checkpoint_roundtrip),
		cmocka_unit_test(test_checkpoint_key_id_per_origin_and_key),
		cmocka_unit_test(test_sha256_as_libsodium),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
