/* subjects — the persons an answer reveals, as its access record holds them.
 *
 * Owns: the set of distinct codici fiscali named by one answer (in the order
 * first named) and its text, comma-separated, which the access record hashes
 * and the store splits into its per-person index (access_subject).
 *
 * The rule it serves: every person an answer reveals is in its access
 * record, or the answer is not given.  The set grows as needed and is never
 * cut: past SUBJECTS_MAX persons subjects_add() fails with VIS_ERR_LIMIT and
 * the caller refuses the request instead of answering (docs/api.md, 422
 * answer_too_large). */
#ifndef VISURA_AUDIT_SUBJECTS_H
#define VISURA_AUDIT_SUBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* The most persons one answer (and so one access record) may name: above
 * the largest household a register holds (a convivenza of a few thousand),
 * ten times the largest page of the events feed. */
#define SUBJECTS_MAX 10000
/* The longest code kept: a codice fiscale. */
#define SUBJECTS_CODE_MAX 16

struct subjects {
	char *text;          /* "a,b,c"; NULL until the first add */
	size_t len, cap;
	uint32_t *slots;     /* open addressing: 1 + offset of a code in text */
	size_t nslots;       /* a power of two, or 0 */
	int n;
};

void subjects_init(struct subjects *s);
/* Frees what the set holds; the set is empty (and usable) again. */
void subjects_release(struct subjects *s);

/* Adds a code unless it is already there.  VIS_ERR_INVALID when the code is
 * empty, longer than SUBJECTS_CODE_MAX or not printable ASCII without a
 * comma; VIS_ERR_LIMIT past SUBJECTS_MAX persons; VIS_ERR_NOMEM.  The set is
 * unchanged by a failed add. */
vis_err subjects_add(struct subjects *s, const char *code, struct vis_error *e);

/* The comma-separated text ("" when empty); valid until the next add or
 * release. */
const char *subjects_text(const struct subjects *s);
bool subjects_has(const struct subjects *s, const char *code);
int subjects_count(const struct subjects *s);

#endif
