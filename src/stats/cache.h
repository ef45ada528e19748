/* stats/cache — protections kept across requests and restarts (issue #17).
 *
 * Owns: a few results of a costly protection (strasa_cittadinanza_eta's
 * linked one with its exact audit: seconds of CPU at 200,000 persons),
 * each under the SHA-256 of exactly its inputs (the counts, the given
 * masks, the threshold, and the version of the algorithm: the caller
 * hashes them), its hidden masks packed one bit a cell.  A protection is
 * a function of its inputs, so an entry is never stale: a changed
 * register gives other counts, another key; a release that changes the
 * algorithm moves its version (STATS_CITE_VERSION of stats/tables.h,
 * and STATS_PROTECTION_RULE), another key too.
 *
 * Two levels.  In memory: at most `entries` entries and `max_bytes` of
 * masks, the least recently used dropped first; one mutex, so the
 * server's threads share it (two threads missing the same key both
 * compute it, the last one kept).  In the store (store_protection_*,
 * given a store handle): what memory misses is looked for there, so that
 * a restart, or another instance on the same database, does not compute
 * it again; at most STATS_CACHE_STORED rows, the least recently used
 * deleted.  A row is taken only whole (its digest checked by the store),
 * of the cells the key's table needs, and accepted by the caller's check
 * of the masks against the counts (stats_cache_get's check); any other is
 * ignored and computed again.  What is computed is written to the store later, by
 * stats_cache_flush outside the computation's read-only snapshot, best
 * effort: a failed write is logged and the table still answered.
 *
 * Lives as long as its owner (the server's app, also given to the
 * monthly bulletins; `visura stats regenerate` makes one for its run);
 * `visura stats --table` passes none (NULL: every call computes, the
 * reference the tests compare the server's tables with). */
#ifndef VISURA_STATS_CACHE_H
#define VISURA_STATS_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#define STATS_CACHE_KEY 32           /* SHA-256 */
#define STATS_CACHE_ENTRIES 4
#define STATS_CACHE_BYTES (64u << 20)
#define STATS_CACHE_STORED 32        /* rows kept in the store */

struct stats_cache;
struct store;

/* A mask of n cells, read from (put) or written to (get). */
struct stats_cache_part {
	bool *v;
	size_t n;
};

/* What a cache did since it was made: hits (in memory), loaded (from
 * the store), misses (neither: computed; refused among them, found but
 * refused by the caller's check), stored and dropped (in memory), saved
 * and unsaved (protections written to the store, and the writes that
 * failed). */
struct stats_cache_counts {
	long long hits, misses, stored, dropped;
	long long loaded, refused, saved, unsaved;
};

/* NULL when out of memory. */
struct stats_cache *stats_cache_new(int entries, size_t max_bytes);
void stats_cache_free(struct stats_cache *c);

/* True, and parts[0..np) filled, when key's masks are kept with the same
 * sizes in memory, or (s not NULL) in s's store, where a read sees the
 * caller's snapshot, and check(ctx) (may be NULL), called with parts
 * filled, accepts them (a store kept one is then kept in memory too, and
 * not checked again); its use recorded in the store at the next flush.
 * False (a miss) otherwise, parts filled or not: what check refused is
 * counted as refused.  c may be NULL. */
bool stats_cache_get(struct stats_cache *c, struct store *s,
		     const unsigned char key[STATS_CACHE_KEY], const struct stats_cache_part *parts,
		     int np, bool (*check)(void *ctx), void *ctx);

/* Keeps parts[0..np) under key (replacing the same key's), dropping the
 * least recently used entries to stay within the bounds, and marks it to
 * be written to the store at the next flush; an entry larger than
 * max_bytes, or out of memory: not kept.  c may be NULL. */
void stats_cache_put(struct stats_cache *c, const unsigned char key[STATS_CACHE_KEY],
		     const struct stats_cache_part *parts, int np);

/* Writes to s's store what was put since the last flush (and records the
 * use of what was taken from it), each in a transaction of its own:
 * outside any transaction of s, after the computation's snapshot.  Best
 * effort: a write that fails (SQLite: the database's write lock held by
 * another connection, taken without waiting) is logged and counted, and
 * not tried again.  c may be NULL. */
void stats_cache_flush(struct stats_cache *c, struct store *s);

void stats_cache_counts_get(struct stats_cache *c, struct stats_cache_counts *out);

#endif
