#include "audit/merkle.h"

#include "audit/sha256.h"

#include <stdlib.h>
#include <string.h>

void merkle_leaf_hash(const void *data, size_t len, uint8_t out[MERKLE_HASH])
{
	struct sha256 st;
	const unsigned char prefix = 0x00;
	sha256_init(&st);
	sha256_update(&st, &prefix, 1);
	sha256_update(&st, data, len);
	sha256_final(&st, out);
}

void merkle_node_hash(const uint8_t left[MERKLE_HASH], const uint8_t right[MERKLE_HASH],
		      uint8_t out[MERKLE_HASH])
{
	unsigned char in[1 + 2 * MERKLE_HASH];
	in[0] = 0x01;
	memcpy(in + 1, left, MERKLE_HASH);
	memcpy(in + 1 + MERKLE_HASH, right, MERKLE_HASH);
	sha256_of(in, sizeof in, out);
}

/* The largest power of two below n (n > 1). */
static uint64_t split_of(uint64_t n)
{
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

/* MTH(D[start : start + size]), size >= 1, from complete nodes. */
static int subtree(merkle_node_fn get, void *ctx, uint64_t start, uint64_t size,
		   uint8_t out[MERKLE_HASH])
{
	if ((size & (size - 1)) == 0 && (start & (size - 1)) == 0) {
		int level = __builtin_ctzll(size);
		return get(ctx, level, start >> level, out);
	}
	uint64_t k = split_of(size);
	uint8_t l[MERKLE_HASH], r[MERKLE_HASH];
	if (subtree(get, ctx, start, k, l) || subtree(get, ctx, start + k, size - k, r))
		return -1;
	merkle_node_hash(l, r, out);
	return 0;
}

int merkle_root(merkle_node_fn get, void *ctx, uint64_t size, uint8_t out[MERKLE_HASH])
{
	if (size == 0) {
		sha256_of(NULL, 0, out);
		return 0;
	}
	return subtree(get, ctx, 0, size, out);
}

static int path(merkle_node_fn get, void *ctx, uint64_t m, uint64_t start, uint64_t n,
		uint8_t proof[][MERKLE_HASH], int *len)
{
	if (n == 1)
		return 0;
	uint64_t k = split_of(n);
	int rc = m < k ? path(get, ctx, m, start, k, proof, len)
		       : path(get, ctx, m - k, start + k, n - k, proof, len);
	if (rc || *len >= MERKLE_PROOF_MAX)
		return -1;
	rc = m < k ? subtree(get, ctx, start + k, n - k, proof[*len])
		   : subtree(get, ctx, start, k, proof[*len]);
	if (rc)
		return -1;
	(*len)++;
	return 0;
}

int merkle_inclusion_proof(merkle_node_fn get, void *ctx, uint64_t index, uint64_t size,
			   uint8_t proof[][MERKLE_HASH], int *len)
{
	*len = 0;
	if (index >= size)
		return -1;
	return path(get, ctx, index, 0, size, proof, len);
}

static int subproof(merkle_node_fn get, void *ctx, uint64_t m, uint64_t start, uint64_t n,
		    bool whole, uint8_t proof[][MERKLE_HASH], int *len)
{
	if (m == n) {
		if (whole)
			return 0;
		if (*len >= MERKLE_PROOF_MAX || subtree(get, ctx, start, m, proof[*len]))
			return -1;
		(*len)++;
		return 0;
	}
	uint64_t k = split_of(n);
	int rc = m <= k ? subproof(get, ctx, m, start, k, whole, proof, len)
			: subproof(get, ctx, m - k, start + k, n - k, false, proof, len);
	if (rc || *len >= MERKLE_PROOF_MAX)
		return -1;
	rc = m <= k ? subtree(get, ctx, start + k, n - k, proof[*len])
		    : subtree(get, ctx, start, k, proof[*len]);
	if (rc)
		return -1;
	(*len)++;
	return 0;
}

int merkle_consistency_proof(merkle_node_fn get, void *ctx, uint64_t m, uint64_t n,
			     uint8_t proof[][MERKLE_HASH], int *len)
{
	*len = 0;
	if (m > n)
		return -1;
	if (m == 0 || m == n)
		return 0;
	return subproof(get, ctx, m, 0, n, true, proof, len);
}

/* RFC 9162, 2.1.3.2: the root the proof leads to. */
bool merkle_inclusion_root(const uint8_t leaf[MERKLE_HASH], uint64_t index, uint64_t size,
			   const uint8_t proof[][MERKLE_HASH], int len, uint8_t out[MERKLE_HASH])
{
	if (index >= size || len < 0 || len > MERKLE_PROOF_MAX)
		return false;
	uint64_t fn = index, sn = size - 1;
	uint8_t r[MERKLE_HASH];
	memcpy(r, leaf, MERKLE_HASH);
	for (int i = 0; i < len; i++) {
		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(proof[i], r, r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			merkle_node_hash(r, proof[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return false;
	memcpy(out, r, MERKLE_HASH);
	return true;
}

bool merkle_inclusion_verify(const uint8_t leaf[MERKLE_HASH], uint64_t index, uint64_t size,
			     const uint8_t proof[][MERKLE_HASH], int len,
			     const uint8_t root[MERKLE_HASH])
{
	uint8_t r[MERKLE_HASH];
	return merkle_inclusion_root(leaf, index, size, proof, len, r) &&
	       sodium_memcmp(r, root, MERKLE_HASH) == 0;
}

/* RFC 9162, 2.1.4.2. */
bool merkle_consistency_verify(uint64_t m, uint64_t n, const uint8_t root_m[MERKLE_HASH],
			       const uint8_t root_n[MERKLE_HASH],
			       const uint8_t proof[][MERKLE_HASH], int len)
{
	if (m > n || len < 0 || len > MERKLE_PROOF_MAX)
		return false;
	if (m == n)
		return len == 0 && sodium_memcmp(root_m, root_n, MERKLE_HASH) == 0;
	if (m == 0)
		return len == 0;
	int i = 0;
	uint8_t fr[MERKLE_HASH], sr[MERKLE_HASH];
	if ((m & (m - 1)) == 0) {
		memcpy(fr, root_m, MERKLE_HASH);
	} else {
		if (len == 0)
			return false;
		memcpy(fr, proof[0], MERKLE_HASH);
		i = 1;
	}
	memcpy(sr, fr, MERKLE_HASH);
	uint64_t fn = m - 1, sn = n - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < len; i++) {
		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(proof[i], fr, fr);
			merkle_node_hash(proof[i], sr, sr);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			merkle_node_hash(sr, proof[i], sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && sodium_memcmp(fr, root_m, MERKLE_HASH) == 0 &&
	       sodium_memcmp(sr, root_n, MERKLE_HASH) == 0;
}

void merkle_frontier_append(struct merkle_frontier *f, const uint8_t leaf[MERKLE_HASH])
{
	uint8_t carry[MERKLE_HASH];
	memcpy(carry, leaf, MERKLE_HASH);
	int l = 0;
	while ((f->size >> l) & 1) {
		merkle_node_hash(f->node[l], carry, carry);
		l++;
	}
	memcpy(f->node[l], carry, MERKLE_HASH);
	f->size++;
}

void merkle_frontier_root(const struct merkle_frontier *f, uint8_t out[MERKLE_HASH])
{
	if (f->size == 0) {
		sha256_of(NULL, 0, out);
		return;
	}
	int l = __builtin_ctzll(f->size);
	memcpy(out, f->node[l], MERKLE_HASH);
	for (l++; l < 64; l++)
		if ((f->size >> l) & 1)
			merkle_node_hash(f->node[l], out, out);
}

int merkle_frontier_levels(uint64_t size, int levels[64])
{
	int n = 0;
	for (int l = 0; l < 64; l++)
		if ((size >> l) & 1)
			levels[n++] = l;
	return n;
}

int merkle_batch_node(void *batch, int level, uint64_t idx, uint8_t out[MERKLE_HASH])
{
	struct merkle_batch *b = batch;
	if (level < 0 || level >= 64)
		return -1;
	if (level < b->levels && idx >= b->lo[level] && idx - b->lo[level] < b->count[level]) {
		memcpy(out, b->node[level][idx - b->lo[level]], MERKLE_HASH);
		return 0;
	}
	if (((b->old.size >> level) & 1) && idx == (b->old.size >> level) - 1) {
		memcpy(out, b->old.node[level], MERKLE_HASH);
		return 0;
	}
	return -1;
}

void merkle_batch_release(struct merkle_batch *b)
{
	for (int l = 0; l < 64; l++) {
		free(b->node[l]);
		b->node[l] = NULL;
	}
	b->levels = 0;
}

int merkle_batch_build(struct merkle_batch *b, const struct merkle_frontier *f,
		       const uint8_t leaves[][MERKLE_HASH], uint64_t n)
{
	memset(b, 0, sizeof *b);
	b->old = *f;
	uint64_t size = f->size + n;
	if (size < f->size || size > ((uint64_t)1 << 62))
		return -1;
	for (int l = 0; l < 63; l++) {
		uint64_t lo = f->size >> l, hi = size >> l;
		if (hi <= lo)
			break;
		b->lo[l] = lo;
		b->count[l] = hi - lo;
		b->node[l] = malloc((size_t)(hi - lo) * MERKLE_HASH);
		if (!b->node[l])
			goto fail;
		b->levels = l + 1;
		if (l == 0) {
			memcpy(b->node[0], leaves, (size_t)n * MERKLE_HASH);
			continue;
		}
		for (uint64_t j = lo; j < hi; j++) {
			uint8_t left[MERKLE_HASH], right[MERKLE_HASH];
			if (merkle_batch_node(b, l - 1, 2 * j, left) ||
			    merkle_batch_node(b, l - 1, 2 * j + 1, right))
				goto fail;
			merkle_node_hash(left, right, b->node[l][j - lo]);
		}
	}
	b->now.size = size;
	int lv[64], nl = merkle_frontier_levels(size, lv);
	for (int i = 0; i < nl; i++)
		if (merkle_batch_node(b, lv[i], (size >> lv[i]) - 1, b->now.node[lv[i]]))
			goto fail;
	if (merkle_root(merkle_batch_node, b, size, b->root))
		goto fail;
	return 0;
fail:
	merkle_batch_release(b);
	return -1;
}
