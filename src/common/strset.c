#include "common/strset.h"

#include <stdlib.h>
#include <string.h>

#define BLOCK_SIZE (1u << 20)

struct strset_block {
	struct strset_block *next;
	size_t used;
	char data[BLOCK_SIZE];
};

void strset_init(struct strset *set)
{
	memset(set, 0, sizeof *set);
}

void strset_release(struct strset *set)
{
	free(set->slots);
	while (set->blocks) {
		struct strset_block *next = set->blocks->next;
		free(set->blocks);
		set->blocks = next;
	}
	memset(set, 0, sizeof *set);
}

static uint64_t hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h ^ (h >> 29);
}

static bool same(const char *stored, const char *s, size_t len)
{
	return !strncmp(stored, s, len) && stored[len] == '\0';
}

bool strset_has(const struct strset *set, const char *s, size_t len)
{
	if (!set->cap)
		return false;
	for (size_t i = hash(s, len) & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
		if (!set->slots[i])
			return false;
		if (same(set->slots[i], s, len))
			return true;
	}
}

static int grow(struct strset *set)
{
	size_t ncap = set->cap ? set->cap * 2 : 1024;
	const char **nslots = calloc(ncap, sizeof *nslots);
	if (!nslots)
		return -1;
	for (size_t i = 0; i < set->cap; i++) {
		const char *v = set->slots[i];
		if (!v)
			continue;
		size_t j = hash(v, strlen(v)) & (ncap - 1);
		while (nslots[j])
			j = (j + 1) & (ncap - 1);
		nslots[j] = v;
	}
	free(set->slots);
	set->slots = nslots;
	set->cap = ncap;
	return 0;
}

static const char *copy(struct strset *set, const char *s, size_t len)
{
	if (len + 1 > BLOCK_SIZE)
		return NULL;
	if (!set->blocks || set->blocks->used + len + 1 > BLOCK_SIZE) {
		struct strset_block *b = malloc(sizeof *b);
		if (!b)
			return NULL;
		b->next = set->blocks;
		b->used = 0;
		set->blocks = b;
	}
	char *dst = set->blocks->data + set->blocks->used;
	memcpy(dst, s, len);
	dst[len] = '\0';
	set->blocks->used += len + 1;
	return dst;
}

int strset_add(struct strset *set, const char *s, size_t len)
{
	if ((set->count + 1) * 4 > set->cap * 3 && grow(set) != 0)
		return -1;
	size_t i = hash(s, len) & (set->cap - 1);
	for (; set->slots[i]; i = (i + 1) & (set->cap - 1))
		if (same(set->slots[i], s, len))
			return 0;
	const char *c = copy(set, s, len);
	if (!c)
		return -1;
	set->slots[i] = c;
	set->count++;
	return 1;
}
