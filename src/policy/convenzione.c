#include "policy/convenzione.h"

#include <string.h>

#include "common/str.h"
#include "policy/policy.h"

void convenzione_defaults(struct store_convenzione *c)
{
	*c = (struct store_convenzione){.max_results = 20, .per_minute = 30, .per_day = 1000,
					.body_per_minute = 300, .body_per_day = 20000,
					.purpose_per_minute = 300, .purpose_per_day = 20000};
	STR_COPY_KNOWN(c->state, "active"); /* constants */
	STR_COPY_KNOWN(c->mode, "consult");
}

vis_err convenzione_check(const struct store_convenzione *c, bool create,
			  const struct refdata *rd, struct vis_error *e)
{
	if (create && (!c->reference[0] || !c->comuni[0] || !c->profile[0] || !c->valid_from))
		return vis_error_set(e, VIS_ERR_INVALID,
				     "i campi \"reference\", \"comuni\", \"profile\" e \"valid_from\" "
				     "sono obbligatori");
	const char *why = policy_convenzione_check(c, rd);
	return why ? vis_error_set(e, VIS_ERR_INVALID, "%s", why) : VIS_OK;
}

vis_err convenzione_purpose_check(struct store *s, struct store_purpose *p, struct vis_error *e)
{
	if (!p->code[0] || !p->description[0] || !p->legal_basis[0])
		return vis_error_set(e, VIS_ERR_INVALID,
				     "una finalità richiede i campi \"code\", \"description\" e "
				     "\"legal_basis\"");
	/* By default the consultation by external bodies (entry 1). */
	if (!p->processing_ref[0])
		STR_COPY_KNOWN(p->processing_ref, "1"); /* a constant */
	struct store_processing entry;
	bool found = false;
	if (store_processing_by_number(s, p->processing_ref, &entry, &found, e))
		return VIS_ERR_STORE;
	if (!found)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "il campo \"processing_ref\" deve essere il numero di "
				     "una voce del registro dei trattamenti");
	return VIS_OK;
}

static vis_err purpose_insert(struct store *s, struct store_purpose *p, struct vis_error *e)
{
	vis_err rc = store_purpose_insert(s, p, &p->id, e);
	if (rc == VIS_ERR_CONFLICT) {
		vis_error_clear(e);
		return vis_error_set(e, VIS_ERR_CONFLICT,
				     "la convenzione ha già una finalità con questo codice");
	}
	return rc;
}

vis_err convenzione_create(struct store *s, const struct refdata *rd,
			   struct store_convenzione *c, struct store_purpose *first, int64_t now,
			   struct vis_error *e)
{
	vis_err rc = convenzione_check(c, true, rd, e);
	if (rc)
		return rc;
	struct store_ente en;
	bool found;
	if (store_ente_get(s, c->ente_id, &en, &found, e))
		return VIS_ERR_STORE;
	if (!found)
		return vis_error_set(e, VIS_ERR_NOTFOUND, "ente inesistente");
	if (first && (rc = convenzione_purpose_check(s, first, e)))
		return rc;
	c->created_at = now;
	rc = store_begin(s, e);
	if (!rc)
		rc = store_convenzione_insert(s, c, &c->id, e);
	if (!rc && first) {
		first->convenzione_id = c->id;
		first->created_at = now;
		rc = purpose_insert(s, first, e);
	}
	if (!rc)
		rc = store_commit(s, e);
	if (rc)
		store_rollback(s);
	return rc;
}

vis_err convenzione_update(struct store *s, const struct refdata *rd,
			   const struct store_convenzione *before,
			   const struct store_convenzione *after, struct vis_error *e)
{
	vis_err rc = convenzione_check(after, false, rd, e);
	return rc ? rc : store_convenzione_update(s, before, after, e);
}

vis_err convenzione_purpose_add(struct store *s, struct store_purpose *p, int64_t now,
				struct vis_error *e)
{
	vis_err rc = convenzione_purpose_check(s, p, e);
	if (rc)
		return rc;
	p->created_at = now;
	return purpose_insert(s, p, e);
}
