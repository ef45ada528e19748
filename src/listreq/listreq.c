#include "listreq/listreq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "refdata/refdata.h"

static bool age_ok(const json_t *v, int *out)
{
	if (!v)
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 130)
		return false;
	*out = (int)json_integer_value(v);
	return true;
}

vis_err listreq_criteria_read(const json_t *c, struct listreq_criteria *out,
			      struct vis_error *e)
{
	*out = (struct listreq_criteria){.age_to = 200};
	if (!json_is_object(c))
		return vis_error_set(e, VIS_ERR_INVALID,
				     "il campo \"criteria\" deve essere un oggetto");
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)c, key, v)
		if (strcmp(key, "comune") && strcmp(key, "age_from") && strcmp(key, "age_to") &&
		    strcmp(key, "sex") && strcmp(key, "citizenship"))
			return vis_error_set(e, VIS_ERR_INVALID,
					     "il campo \"criteria\" contiene una chiave "
					     "sconosciuta");
	const char *comune = json_string_value(json_object_get(c, "comune"));
	if (!comune || !STR_COPY(out->comune, comune))
		return vis_error_set(e, VIS_ERR_INVALID,
				     "il campo \"criteria.comune\" deve essere un comune della convenzione");
	const json_t *sex = json_object_get(c, "sex"), *cz = json_object_get(c, "citizenship");
	const char *sv = json_string_value(sex), *cv = json_string_value(cz);
	if (!age_ok(json_object_get(c, "age_from"), &out->age_from) ||
	    !age_ok(json_object_get(c, "age_to"), &out->age_to) ||
	    (sex && (!sv || (strcmp(sv, "M") && strcmp(sv, "F")))) ||
	    (cz && (!cv || (strcmp(cv, "italian") && strcmp(cv, "foreign")))))
		return vis_error_set(e, VIS_ERR_INVALID,
				     "criteria: age_from/age_to da 0 a 130, sex M|F, "
				     "citizenship italian|foreign");
	out->sex = sv ? sv[0] : 0;
	out->citizenship = !cv ? 0 : !strcmp(cv, "italian") ? 1 : 2;
	return VIS_OK;
}

static bool refuse(struct policy_refusal *no, int status, const char *code, const char *message)
{
	*no = (struct policy_refusal){status, code, message};
	return false;
}

bool listreq_agreement_allows(const struct store_convenzione *c, unsigned *cats,
			      struct policy_refusal *no)
{
	if (!policy_categories_parse(c->profile, cats))
		return refuse(no, 500, "internal_error",
			      "il profilo della convenzione è danneggiato");
	/* A list is data: not for a verify_only agreement, nor without identity. */
	if (!strcmp(c->mode, "verify_only"))
		return refuse(no, 403, "mode_verify_only",
			      "la convenzione consente solo la verifica di fatti dichiarati");
	if (!policy_may_see(*cats, FIELD_IDENTITY))
		return refuse(no, 403, "category_not_permitted",
			      "il profilo della convenzione non comprende i dati anagrafici");
	return true;
}

vis_err listreq_create(struct store *s, const struct store_account *by,
		       const struct policy_grant *g, const json_t *criteria,
		       const char *justification, const struct refdata *rd, int64_t now,
		       struct store_list_request *out, struct vis_error *e)
{
	struct store_list_request q = {.ente_id = by->ente_id, .requested_by = by->id,
				       .purpose_id = g->purpose.id, .created_at = now};
	if (strlen(justification) < 20)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "servono i campi \"purpose\", \"criteria\" (un oggetto) e "
				     "\"justification\" (almeno 20 caratteri)");
	if (STR_SET(q.justification, justification, "justification", e))
		return VIS_ERR_LIMIT;
	struct listreq_criteria c;
	if (listreq_criteria_read(criteria, &c, e))
		return VIS_ERR_INVALID;
	if (!policy_covers(g, c.comune) || !refdata_comune_by_istat(rd, c.comune, 0))
		return vis_error_set(e, VIS_ERR_INVALID,
				     "il campo \"criteria.comune\" deve essere un comune della convenzione");
	/* Stored as read back: compact, keys sorted. */
	char *text = json_dumps(criteria, JSON_COMPACT | JSON_SORT_KEYS);
	bool fits = text && STR_COPY(q.criteria, text);
	free(text);
	if (!fits)
		return vis_error_set(e, VIS_ERR_INVALID, "il campo \"criteria\" è troppo lungo");
	STR_COPY_KNOWN(q.state, "pending"); /* a constant */
	vis_err rc = store_list_request_insert(s, &q, &q.id, e);
	if (rc)
		return rc;
	*out = q;
	return VIS_OK;
}

static vis_err load(struct store *s, int64_t id, struct store_list_request *q,
		    struct vis_error *e)
{
	bool found;
	if (store_list_request_get(s, id, q, &found, e))
		return VIS_ERR_STORE;
	if (!found)
		return vis_error_set(e, VIS_ERR_NOTFOUND, "richiesta inesistente");
	return VIS_OK;
}

vis_err listreq_decide(struct store *s, int64_t id, const char *decision, const char *note,
		       int64_t by_id, int64_t now, struct store_list_request *out,
		       struct vis_error *e)
{
	if (!decision || (strcmp(decision, "approve") && strcmp(decision, "reject")))
		return vis_error_set(e, VIS_ERR_INVALID,
				     "il campo \"decision\" deve essere approve o reject");
	struct store_list_request q;
	vis_err rc = load(s, id, &q, e);
	if (rc)
		return rc;
	if (strcmp(q.state, "pending"))
		return vis_error_set(e, VIS_ERR_CONFLICT, "la richiesta è già stata decisa");
	const struct store_list_request was = q;
	if (STR_SET(q.note, note, "note", e))
		return VIS_ERR_LIMIT;
	STR_COPY_KNOWN(q.state, !strcmp(decision, "approve") ? "approved" : "rejected");
	q.decided_by = by_id;
	q.decided_at = now;
	if ((rc = store_list_request_update(s, &was, &q, e)))
		return rc;
	*out = q;
	return VIS_OK;
}

vis_err listreq_extraction_open(struct store *s, int64_t id, struct listreq_extraction *x,
				struct vis_error *e)
{
	memset(x, 0, sizeof *x);
	bool found;
	vis_err rc = load(s, id, &x->q, e);
	if (rc)
		return rc;
	if (strcmp(x->q.state, "approved"))
		return vis_error_set(e, VIS_ERR_CONFLICT, "la richiesta %lld è %s, non approvata",
				     (long long)id, x->q.state);
	if (store_purpose_get(s, x->q.purpose_id, &x->purpose, &found, e))
		return VIS_ERR_STORE;
	if (found && store_convenzione_get(s, x->purpose.convenzione_id, &x->conv, &found, e))
		return VIS_ERR_STORE;
	if (!found)
		return vis_error_set(e, VIS_ERR_NOTFOUND,
				     "la finalità della richiesta %lld non esiste più",
				     (long long)id);
	/* The agreement decides what the list may hold, now, not at approval. */
	struct policy_refusal no;
	if (!listreq_agreement_allows(&x->conv, &x->cats, &no))
		return vis_error_set(e, VIS_ERR_CONFLICT,
				     "la convenzione della richiesta %lld non consente "
				     "elenchi: %s", (long long)id, no.message);
	json_error_t jerr;
	json_t *crit = json_loads(x->q.criteria, 0, &jerr);
	rc = listreq_criteria_read(crit, &x->criteria, e);
	json_decref(crit);
	return rc;
}

vis_err listreq_extracted(struct store *s, struct store_list_request *q, int64_t persons,
			  int64_t now, struct vis_error *e)
{
	if (strcmp(q->state, "approved"))
		return vis_error_set(e, VIS_ERR_CONFLICT, "la richiesta %lld è %s, non approvata",
				     (long long)q->id, q->state);
	struct store_list_request done = *q;
	done.extracted_at = now;
	done.persons = persons;
	STR_COPY_KNOWN(done.state, "extracted"); /* a constant */
	vis_err rc = store_list_request_update(s, q, &done, e);
	if (!rc)
		*q = done;
	return rc;
}

const char *listreq_state_label(const char *state)
{
	static const char *const map[][2] = {
		{"pending", "in attesa"}, {"approved", "approvata"}, {"rejected", "respinta"},
		{"extracted", "estratta"},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(map[i][0], state))
			return map[i][1];
	return state;
}
