/* merkle — the Merkle tree of the access trail (RFC 9162, section 2.1).
 *
 * Owns: the hashing (leaf: SHA-256(0x00 || data), node: SHA-256(0x01 ||
 * left || right), empty tree: SHA-256 of nothing), the root of a tree of
 * any size, inclusion and consistency proofs (RFC 9162 2.1.3 and 2.1.4,
 * generation and verification) and the appending tree of one group commit
 * (struct merkle_batch).
 *
 * Nodes are named by level and index: node (L, i) is the complete subtree
 * over leaves [i * 2^L, (i + 1) * 2^L).  Only complete nodes exist; a tree
 * of any size is built from them (RFC 9162's split at the largest power of
 * two below the size).  Whoever keeps the nodes (the store, or a batch in
 * memory) hands them out through a merkle_node_fn. */
#ifndef VISURA_AUDIT_MERKLE_H
#define VISURA_AUDIT_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH 32
/* The longest proof of a tree of up to 2^63 leaves. */
#define MERKLE_PROOF_MAX 64

void merkle_leaf_hash(const void *data, size_t len, uint8_t out[MERKLE_HASH]);
void merkle_node_hash(const uint8_t left[MERKLE_HASH], const uint8_t right[MERKLE_HASH],
		      uint8_t out[MERKLE_HASH]);

/* Hands out complete node (level, idx); returns 0, or non-zero when it
 * does not have it. */
typedef int (*merkle_node_fn)(void *ctx, int level, uint64_t idx, uint8_t out[MERKLE_HASH]);

/* Each returns 0, or -1 when a node is missing or the sizes are wrong
 * (index >= size, m > n). */
int merkle_root(merkle_node_fn get, void *ctx, uint64_t size, uint8_t out[MERKLE_HASH]);
int merkle_inclusion_proof(merkle_node_fn get, void *ctx, uint64_t index, uint64_t size,
			   uint8_t proof[][MERKLE_HASH], int *len);
int merkle_consistency_proof(merkle_node_fn get, void *ctx, uint64_t m, uint64_t n,
			     uint8_t proof[][MERKLE_HASH], int *len);

/* The root an inclusion proof leads to from the leaf (false when the
 * proof has not the length of a tree of that size). */
bool merkle_inclusion_root(const uint8_t leaf[MERKLE_HASH], uint64_t index, uint64_t size,
			   const uint8_t proof[][MERKLE_HASH], int len, uint8_t out[MERKLE_HASH]);
bool merkle_inclusion_verify(const uint8_t leaf[MERKLE_HASH], uint64_t index, uint64_t size,
			     const uint8_t proof[][MERKLE_HASH], int len,
			     const uint8_t root[MERKLE_HASH]);
/* m == n: an empty proof and equal roots; m == 0: an empty proof (every
 * tree extends the empty one). */
bool merkle_consistency_verify(uint64_t m, uint64_t n, const uint8_t root_m[MERKLE_HASH],
			       const uint8_t root_n[MERKLE_HASH],
			       const uint8_t proof[][MERKLE_HASH], int len);

/* ---- the frontier and one batch of appended leaves ----
 *
 * The frontier of a tree of `size` leaves: for every bit L set in size,
 * node (L, (size >> L) - 1), the rightmost complete subtree of that
 * height.  It is all an appender needs: the root and every node the new
 * leaves complete follow from it. */
struct merkle_frontier {
	uint64_t size;
	uint8_t node[64][MERKLE_HASH];
};

/* Appends one leaf / the root of the frontier's tree. */
void merkle_frontier_append(struct merkle_frontier *f, const uint8_t leaf[MERKLE_HASH]);
void merkle_frontier_root(const struct merkle_frontier *f, uint8_t out[MERKLE_HASH]);

/* The levels of the frontier's nodes, lowest first; returns their count. */
int merkle_frontier_levels(uint64_t size, int levels[64]);

/* The nodes of a tree grown from a frontier by n leaves: every node the
 * new leaves complete (level L: indexes [lo[L], lo[L] + count[L])), the new
 * frontier, the new root, and (as a merkle_node_fn) every node an
 * inclusion proof of a new leaf needs. */
struct merkle_batch {
	struct merkle_frontier old, now;
	uint8_t root[MERKLE_HASH];
	int levels;                      /* levels with new nodes */
	uint64_t lo[64], count[64];
	uint8_t (*node[64])[MERKLE_HASH];
};

int merkle_batch_build(struct merkle_batch *b, const struct merkle_frontier *f,
		       const uint8_t leaves[][MERKLE_HASH], uint64_t n);
void merkle_batch_release(struct merkle_batch *b);
int merkle_batch_node(void *batch, int level, uint64_t idx, uint8_t out[MERKLE_HASH]);

#endif
