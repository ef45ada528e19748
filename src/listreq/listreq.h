/* listreq — formal requests for lists of people, without HTTP.  Lists are
 * not an online service: a body files a request (purpose, criteria,
 * justification), the registry office approves or rejects it, and an
 * approved request is extracted once by the office with `visura
 * list-extract`, every person of it in the access trail.
 *
 * Owns: the criteria (what they may say, how they are stored, how they are
 * read back), the rule that an agreement allows a list (not verify_only,
 * identity data in its profile — asked at filing and again at extraction,
 * the agreement as it is then), and the states:
 *
 *     pending ──decide approve──▶ approved ──extracted──▶ extracted
 *        └────decide reject───▶ rejected
 *
 * Every other move is refused (VIS_ERR_CONFLICT).  Served by
 * /api/v1/list-requests and `visura list-extract`. */
#ifndef VISURA_LISTREQ_LISTREQ_H
#define VISURA_LISTREQ_LISTREQ_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "policy/policy.h"
#include "store/store.h"

struct refdata;

/* The criteria of a list: {"comune" (required, ISTAT code), "age_from",
 * "age_to" (0-130), "sex" ("M"/"F"), "citizenship" ("italian"/"foreign")}. */
struct listreq_criteria {
	char comune[7];
	int age_from, age_to;       /* age_to 200 when not given */
	char sex;                   /* 'M', 'F' or 0 (any) */
	int citizenship;            /* 0 any, 1 italian, 2 foreign */
};

/* Reads criteria (a JSON object); VIS_ERR_INVALID (the reason in e) on an
 * unknown key or a value out of its range. */
vis_err listreq_criteria_read(const json_t *c, struct listreq_criteria *out,
			      struct vis_error *e);

/* May this agreement give a list?  Its profile's categories into *cats;
 * false with the refusal (403 mode_verify_only or category_not_permitted,
 * 500 for a damaged profile) when not. */
bool listreq_agreement_allows(const struct store_convenzione *c, unsigned *cats,
			      struct policy_refusal *no);

/* Files a request of account `by` under grant `g` (the purpose it
 * declared, already granted by policy_grant_for): the criteria are read,
 * their municipality must be one of the agreement's (and known to rd), the
 * justification at least 20 bytes.  VIS_ERR_INVALID with the reason.  On
 * success *out is the stored request, "pending". */
vis_err listreq_create(struct store *s, const struct store_account *by,
		       const struct policy_grant *g, const json_t *criteria,
		       const char *justification, const struct refdata *rd, int64_t now,
		       struct store_list_request *out, struct vis_error *e);

/* Approves ("approve") or rejects ("reject") request `id`.
 * VIS_ERR_INVALID: not a decision; VIS_ERR_NOTFOUND: no such request;
 * VIS_ERR_CONFLICT: already decided; VIS_ERR_LIMIT: the note does not fit. */
vis_err listreq_decide(struct store *s, int64_t id, const char *decision, const char *note,
		       int64_t by_id, int64_t now, struct store_list_request *out,
		       struct vis_error *e);

/* A request's state as people read it ("in attesa", "approvata",
 * "respinta", "estratta"); another string is returned as is. */
const char *listreq_state_label(const char *state);

/* What an extraction of request `id` needs: the request (approved), its
 * purpose, its agreement (allowing a list now), the agreement's categories
 * and the criteria.  VIS_ERR_NOTFOUND: no such request or purpose;
 * VIS_ERR_CONFLICT: not approved (pending, rejected or already extracted),
 * or the agreement allows no list (the reason in e). */
struct listreq_extraction {
	struct store_list_request q;
	struct store_purpose purpose;
	struct store_convenzione conv;
	unsigned cats;
	struct listreq_criteria criteria;
};
vis_err listreq_extraction_open(struct store *s, int64_t id, struct listreq_extraction *x,
				struct vis_error *e);

/* Marks the extracted request done with the number of persons it gave;
 * VIS_ERR_CONFLICT unless it is "approved". */
vis_err listreq_extracted(struct store *s, struct store_list_request *q, int64_t persons,
			  int64_t now, struct vis_error *e);

#endif
