/* convenzione — agreements (convenzioni) and their purposes as records,
 * without HTTP: what a new agreement is before anyone says otherwise,
 * what it must hold, and how it and its purposes are stored.
 *
 * Owns: the defaults of a new agreement (active, consult, at most 20
 * results, 30/min and 1,000/day per operator, 300/min and 20,000/day per
 * body and per purpose), the fields a new one requires (reference, comuni,
 * profile, valid_from; then policy_convenzione_check), and the rules of a
 * purpose (code, description and legal basis required; it points at an
 * entry of the record of processing, entry 1 — consultation by external
 * bodies — unless it says which; one code per agreement).  Served by
 * /api/v1/convenzioni and `visura convenzione`, which call these same
 * functions. */
#ifndef VISURA_POLICY_CONVENZIONE_H
#define VISURA_POLICY_CONVENZIONE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "store/store.h"

struct refdata;

/* A new agreement with the defaults above (everything else empty). */
void convenzione_defaults(struct store_convenzione *c);

/* The agreement's fields as a whole: VIS_ERR_INVALID with the reason when
 * a new one (`create`) lacks a required field or any rule of
 * policy_convenzione_check fails. */
vis_err convenzione_check(const struct store_convenzione *c, bool create,
			  const struct refdata *rd, struct vis_error *e);

/* Stores a new agreement of body c->ente_id (VIS_ERR_NOTFOUND "no such
 * body" when there is none) and, when `first` is not NULL, its first
 * purpose, in one transaction; c->created_at is `now`. */
vis_err convenzione_create(struct store *s, const struct refdata *rd,
			   struct store_convenzione *c, struct store_purpose *first, int64_t now,
			   struct vis_error *e);

/* Checks `after` (convenzione_check) and stores the fields it changes from
 * `before`, the agreement as read (store_rec_update: VIS_ERR_CONFLICT when
 * another change of those fields came in between). */
vis_err convenzione_update(struct store *s, const struct refdata *rd,
			   const struct store_convenzione *before,
			   const struct store_convenzione *after, struct vis_error *e);

/* Checks a purpose of agreement p->convenzione_id (an empty processing_ref
 * becomes "1"): VIS_ERR_INVALID with the reason. */
vis_err convenzione_purpose_check(struct store *s, struct store_purpose *p, struct vis_error *e);

/* Checks and stores a purpose (p->created_at is `now`); VIS_ERR_CONFLICT
 * when the agreement already has one with its code. */
vis_err convenzione_purpose_add(struct store *s, struct store_purpose *p, int64_t now,
				struct vis_error *e);

#endif
