/* strset — a set of short strings (ids, codici fiscali) for duplicate and
 * reference checks over files of millions of records.
 *
 * Owns its table and the copies of the strings (kept in large blocks, so
 * a million entries cost two dozen allocations).  Open addressing with
 * linear probing on a 64-bit FNV-1a hash; exact comparison of the text. */
#ifndef VISURA_COMMON_STRSET_H
#define VISURA_COMMON_STRSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strset_block;

struct strset {
	const char **slots;
	size_t cap;      /* power of two */
	size_t count;
	struct strset_block *blocks;
};

void strset_init(struct strset *set);
void strset_release(struct strset *set);

/* Adds s[0..len); returns 1 when added, 0 when already present, -1 when out
 * of memory. */
int strset_add(struct strset *set, const char *s, size_t len);
bool strset_has(const struct strset *set, const char *s, size_t len);

#endif
