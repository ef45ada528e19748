/* stats/cache — see cache.h. */
#include "stats/cache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "store/store.h"

_Static_assert(STATS_CACHE_KEY == STORE_PROTECTION_KEY, "the store's key is the cache's");

/* What the next flush owes the store for an entry. */
enum due { DUE_NONE, DUE_WRITE, DUE_TOUCH };

struct entry {
	unsigned char key[STATS_CACHE_KEY];
	size_t bits;                 /* cells of every part together */
	unsigned char *packed;       /* (bits + 7) / 8 bytes; NULL: empty slot */
	uint64_t used;               /* the tick of its last get or put */
	enum due due;
};

struct stats_cache {
	pthread_mutex_t lock;
	struct entry *e;
	int n;
	size_t max_bytes, bytes;
	uint64_t tick;
	struct stats_cache_counts counts;
};

struct stats_cache *stats_cache_new(int entries, size_t max_bytes)
{
	if (entries < 1)
		return NULL;
	struct stats_cache *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->e = calloc((size_t)entries, sizeof *c->e);
	if (!c->e || pthread_mutex_init(&c->lock, NULL)) {
		free(c->e);
		free(c);
		return NULL;
	}
	c->n = entries;
	c->max_bytes = max_bytes;
	return c;
}

void stats_cache_free(struct stats_cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->n; i++)
		free(c->e[i].packed);
	free(c->e);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static size_t parts_bits(const struct stats_cache_part *parts, int np)
{
	size_t bits = 0;
	for (int i = 0; i < np; i++)
		bits += parts[i].n;
	return bits;
}

static struct entry *find(struct stats_cache *c, const unsigned char *key)
{
	for (int i = 0; i < c->n; i++)
		if (c->e[i].packed && !memcmp(c->e[i].key, key, STATS_CACHE_KEY))
			return &c->e[i];
	return NULL;
}

static void drop(struct stats_cache *c, struct entry *x)
{
	c->bytes -= (x->bits + 7) / 8;
	free(x->packed);
	memset(x, 0, sizeof *x);
}

static void unpack(const unsigned char *packed, const struct stats_cache_part *parts, int np)
{
	size_t b = 0;
	for (int i = 0; i < np; i++)
		for (size_t j = 0; j < parts[i].n; j++, b++)
			parts[i].v[j] = packed[b / 8] >> (b % 8) & 1;
}

/* Keeps packed (taken: freed when not kept) under key, with what the
 * next flush owes for it. */
static void keep(struct stats_cache *c, const unsigned char *key, unsigned char *packed,
		 size_t bits, enum due due);

bool stats_cache_get(struct stats_cache *c, struct store *s,
		     const unsigned char key[STATS_CACHE_KEY], const struct stats_cache_part *parts,
		     int np, bool (*check)(void *ctx), void *ctx)
{
	if (!c)
		return false;
	size_t bits = parts_bits(parts, np);
	pthread_mutex_lock(&c->lock);
	struct entry *x = find(c, key);
	bool hit = x && x->bits == bits;
	if (hit)
		unpack(x->packed, parts, np);
	pthread_mutex_unlock(&c->lock);
	if (hit) {
		/* in memory only what this process computed, or took from the
		 * store past the check: not checked again */
		pthread_mutex_lock(&c->lock);
		if ((x = find(c, key))) {
			x->used = ++c->tick;
			if (x->due == DUE_NONE)
				x->due = DUE_TOUCH;   /* its row's last use, at the next flush */
		}
		c->counts.hits++;
		pthread_mutex_unlock(&c->lock);
		return true;
	}
	bool refused = false;
	/* the store, outside the lock: a round trip, another thread's hit
	 * need not wait for it */
	size_t cells = 0;
	unsigned char *packed = NULL;
	bool found = false;
	struct vis_error e = {0};
	if (s && store_protection_get(s, key, &cells, &packed, &found, &e))
		log_warn("protezione conservata non letta", "error=\"%s\"", e.msg);
	if (found && cells != bits) {
		/* the key covers the table's shape: a row of other cells is
		 * not of this key's inputs */
		log_warn("protezione conservata scartata", "why=\"celle %zu, attese %zu\"", cells,
			 bits);
		found = false;
	}
	if (found) {
		unpack(packed, parts, np);
		if (check && !check(ctx)) {
			log_warn("protezione conservata scartata", "why=\"non supera la verifica\"");
			found = false;
			refused = true;
		}
	}
	if (!found)
		free(packed);
	pthread_mutex_lock(&c->lock);
	if (found)
		c->counts.loaded++;
	else
		c->counts.misses++;
	if (refused)
		c->counts.refused++;
	pthread_mutex_unlock(&c->lock);
	if (found)
		keep(c, key, packed, bits, DUE_TOUCH);
	return found;
}

void stats_cache_put(struct stats_cache *c, const unsigned char key[STATS_CACHE_KEY],
		     const struct stats_cache_part *parts, int np)
{
	size_t bits = parts_bits(parts, np), len = (bits + 7) / 8;
	if (!c || len > c->max_bytes)
		return;
	/* packed outside the lock */
	unsigned char *packed = calloc(len ? len : 1, 1);
	if (!packed)
		return;
	size_t b = 0;
	for (int i = 0; i < np; i++)
		for (size_t j = 0; j < parts[i].n; j++, b++)
			if (parts[i].v[j])
				packed[b / 8] |= (unsigned char)(1u << (b % 8));
	keep(c, key, packed, bits, DUE_WRITE);
}

static void keep(struct stats_cache *c, const unsigned char *key, unsigned char *packed,
		 size_t bits, enum due due)
{
	size_t len = (bits + 7) / 8;
	if (len > c->max_bytes) {
		free(packed);
		return;
	}
	pthread_mutex_lock(&c->lock);
	struct entry *x = find(c, key);
	if (x) {
		/* a write still owed stays owed: the bits are the same */
		if (x->due == DUE_WRITE)
			due = DUE_WRITE;
		drop(c, x);
	}
	for (;;) {
		/* a free slot, or the least recently used dropped */
		struct entry *lru = NULL;
		x = NULL;
		for (int i = 0; i < c->n; i++)
			if (!c->e[i].packed) {
				if (!x)
					x = &c->e[i];
			} else if (!lru || c->e[i].used < lru->used) {
				lru = &c->e[i];
			}
		if (x && c->bytes + len <= c->max_bytes)
			break;
		if (!lru) /* nothing left to drop: len <= max_bytes, so it fits */
			break;
		drop(c, lru);
		c->counts.dropped++;
	}
	memcpy(x->key, key, STATS_CACHE_KEY);
	x->bits = bits;
	x->packed = packed;
	x->used = ++c->tick;
	x->due = due;
	c->bytes += len;
	c->counts.stored++;
	pthread_mutex_unlock(&c->lock);
}

void stats_cache_flush(struct stats_cache *c, struct store *s)
{
	if (!c || !s)
		return;
	struct job {
		unsigned char key[STATS_CACHE_KEY];
		size_t bits;
		unsigned char *packed;     /* a copy to write, NULL: a use to record */
	} *jobs = calloc((size_t)c->n, sizeof *jobs);
	if (!jobs)
		return;
	int nj = 0;
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < c->n; i++) {
		struct entry *x = &c->e[i];
		if (!x->packed || x->due == DUE_NONE)
			continue;
		struct job *j = &jobs[nj];
		size_t len = (x->bits + 7) / 8;
		if (x->due == DUE_WRITE && !(j->packed = malloc(len ? len : 1)))
			continue;   /* owed still: the next flush */
		if (j->packed)
			memcpy(j->packed, x->packed, len);
		memcpy(j->key, x->key, STATS_CACHE_KEY);
		j->bits = x->bits;
		x->due = DUE_NONE;
		nj++;
	}
	pthread_mutex_unlock(&c->lock);
	long long saved = 0, unsaved = 0;
	for (int i = 0; i < nj; i++) {
		struct vis_error e = {0};
		int64_t now = (int64_t)time(NULL);
		if (jobs[i].packed) {
			if (store_protection_put(s, jobs[i].key, jobs[i].bits, jobs[i].packed, now,
						 STATS_CACHE_STORED, &e)) {
				log_warn("protezione non conservata", "error=\"%s\"", e.msg);
				unsaved++;
			} else
				saved++;
			free(jobs[i].packed);
		} else if (store_protection_touch(s, jobs[i].key, now, &e)) {
			log_warn("uso della protezione conservata non registrato", "error=\"%s\"",
				 e.msg);
		}
	}
	free(jobs);
	pthread_mutex_lock(&c->lock);
	c->counts.saved += saved;
	c->counts.unsaved += unsaved;
	pthread_mutex_unlock(&c->lock);
}

void stats_cache_counts_get(struct stats_cache *c, struct stats_cache_counts *out)
{
	memset(out, 0, sizeof *out);
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	*out = c->counts;
	pthread_mutex_unlock(&c->lock);
}
