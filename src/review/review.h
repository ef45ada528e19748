/* review — the yearly review of agreements: for each, its purposes and
 * profile, the body's active accounts with their last access (flagged when
 * unused for `unused_days`), the accesses of the last year by purpose, the
 * refused attempts and the alerts; and the decision the office records per
 * agreement.  Served by GET and POST /api/v1/review, `visura review` and
 * `visura review decide`.
 *
 * Owns: the report, the decisions (confirm, restrict, revoke) and what a
 * revocation does: the agreement ended and every active account of its
 * body disabled, in the same transaction as the decision. */
#ifndef VISURA_REVIEW_REVIEW_H
#define VISURA_REVIEW_REVIEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "store/store.h"

/* The report for every agreement (or only the one with id `only`). */
vis_err review_report(struct store *s, int64_t now, int unused_days, int64_t only,
		      json_t **out, struct vis_error *e);

/* Is `decision` one of confirm, restrict, revoke? */
bool review_decision_valid(const char *decision);

/* Records the decision on agreement `convenzione_id` by account `by_id`
 * (0: the command line) with its note; "revoke" also ends the agreement
 * and disables the active accounts of its body.  VIS_ERR_INVALID: not a
 * decision; VIS_ERR_NOTFOUND: no such agreement; VIS_ERR_LIMIT: the note
 * does not fit.  On success *out is the decision and *c the agreement as
 * stored. */
vis_err review_decide(struct store *s, int64_t convenzione_id, const char *decision,
		      const char *note, int64_t by_id, int64_t now, struct store_review *out,
		      struct store_convenzione *c, struct vis_error *e);

/* A decision as people read it ("confermata", "limitata", "revocata");
 * another string is returned as is. */
const char *review_decision_label(const char *decision);

#endif
