/* stats/cache — protections kept across requests (issue #17).
 *
 * Owns: a few results of a costly protection (strasa_cittadinanza_eta's
 * linked one with its exact audit: seconds of CPU at 200,000 persons),
 * each under the SHA-256 of exactly its inputs (the counts, the given
 * masks, the threshold: the caller hashes them), its hidden masks packed
 * one bit a cell.  A protection is a function of its inputs, so an entry
 * is never stale: a changed register gives other counts, another key.
 * At most `entries` entries and `max_bytes` of masks, the least recently
 * used dropped first; one mutex, so the server's threads share it (two
 * threads missing the same key both compute it, the last one kept).
 *
 * Lives as long as its owner (the server's app, also given to the
 * monthly bulletins; `visura stats regenerate` makes one for its run);
 * `visura stats --table` passes none (NULL: every call computes). */
#ifndef VISURA_STATS_CACHE_H
#define VISURA_STATS_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#define STATS_CACHE_KEY 32           /* SHA-256 */
#define STATS_CACHE_ENTRIES 4
#define STATS_CACHE_BYTES (64u << 20)

struct stats_cache;

/* A mask of n cells, read from (put) or written to (get). */
struct stats_cache_part {
	bool *v;
	size_t n;
};

/* What a cache did since it was made. */
struct stats_cache_counts {
	long long hits, misses, stored, dropped;
};

/* NULL when out of memory. */
struct stats_cache *stats_cache_new(int entries, size_t max_bytes);
void stats_cache_free(struct stats_cache *c);

/* True, and parts[0..np) filled, when key's masks are kept with the same
 * sizes; false (a miss) otherwise, parts untouched.  c may be NULL. */
bool stats_cache_get(struct stats_cache *c, const unsigned char key[STATS_CACHE_KEY],
		     const struct stats_cache_part *parts, int np);

/* Keeps parts[0..np) under key (replacing the same key's), dropping the
 * least recently used entries to stay within the bounds; an entry larger
 * than max_bytes, or out of memory: not kept.  c may be NULL. */
void stats_cache_put(struct stats_cache *c, const unsigned char key[STATS_CACHE_KEY],
		     const struct stats_cache_part *parts, int np);

void stats_cache_counts_get(struct stats_cache *c, struct stats_cache_counts *out);

#endif
