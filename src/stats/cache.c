/* stats/cache — see cache.h. */
#include "stats/cache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	unsigned char key[STATS_CACHE_KEY];
	size_t bits;                 /* cells of every part together */
	unsigned char *packed;       /* (bits + 7) / 8 bytes; NULL: empty slot */
	uint64_t used;               /* the tick of its last get or put */
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

bool stats_cache_get(struct stats_cache *c, const unsigned char key[STATS_CACHE_KEY],
		     const struct stats_cache_part *parts, int np)
{
	if (!c)
		return false;
	pthread_mutex_lock(&c->lock);
	struct entry *x = find(c, key);
	bool hit = x && x->bits == parts_bits(parts, np);
	if (hit) {
		size_t b = 0;
		for (int i = 0; i < np; i++)
			for (size_t j = 0; j < parts[i].n; j++, b++)
				parts[i].v[j] = x->packed[b / 8] >> (b % 8) & 1;
		x->used = ++c->tick;
		c->counts.hits++;
	} else
		c->counts.misses++;
	pthread_mutex_unlock(&c->lock);
	return hit;
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
	pthread_mutex_lock(&c->lock);
	struct entry *x = find(c, key);
	if (x)
		drop(c, x);
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
	c->bytes += len;
	c->counts.stored++;
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
