/* review — the yearly review of agreements: for each, its purposes and
 * profile, the body's active accounts with their last access (flagged when
 * unused for `unused_days`), the accesses of the last year by purpose, the
 * refused attempts and the alerts.  Served by GET /api/v1/review and
 * `visura review`. */
#ifndef VISURA_REVIEW_REVIEW_H
#define VISURA_REVIEW_REVIEW_H

#include <jansson.h>
#include <stdint.h>

#include "common/err.h"
#include "store/store.h"

/* The report for every agreement (or only the one with id `only`). */
vis_err review_report(struct store *s, int64_t now, int unused_days, int64_t only,
		      json_t **out, struct vis_error *e);

#endif
