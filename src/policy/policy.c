#include "policy/policy.h"

#include <stdio.h>
#include <string.h>

#include "refdata/refdata.h"

static const char *const cat_names[] = {"identity", "residence", "family", "parentage",
					"citizenship", "civil_status", "vital_status", "history"};
#define NCATS (sizeof cat_names / sizeof cat_names[0])

bool policy_categories_parse(const char *list, unsigned *out)
{
	*out = 0;
	const char *p = list;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		bool known = false;
		for (size_t i = 0; i < NCATS; i++) {
			if (strlen(cat_names[i]) == n && !strncmp(cat_names[i], p, n)) {
				*out |= 1u << i;
				known = true;
			}
		}
		if (!known)
			return false;
		p += n + (end ? 1 : 0);
		if (end && !*p)
			return false;
	}
	return true;
}

void policy_categories_format(unsigned mask, char *out, size_t cap)
{
	/* Copies, not snprintf ("%s%s" cost ~1,400 instructions a name, up
	 * to 8 an answer).  A name that does not fit (a cap under the
	 * contract's) ends the text before it, never a name cut short. */
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < NCATS; i++) {
		if (!(mask & (1u << i)))
			continue;
		size_t n = strlen(cat_names[i]), sep = len ? 1 : 0;
		if (sep + n >= cap - len)
			return;
		if (sep)
			out[len] = ',';
		memcpy(out + len + sep, cat_names[i], n + 1);
		len += sep + n;
	}
}

const struct policy_field_row policy_fields[FIELD_COUNT] = {
	[FIELD_COMUNE] = {"comune", CAT_RESIDENCE},
	[FIELD_VALIDITY] = {"valid_from, valid_to", CAT_HISTORY},
	[FIELD_IDENTITY] = {"identity {codice_fiscale, surname, name, sex, birth_date, birth_place}",
			    CAT_IDENTITY},
	[FIELD_RESIDENCE] = {"residence {registration_reason, registration_date, address, "
			     "address_since}", CAT_RESIDENCE},
	[FIELD_FAMILY] = {"family {household_id, relationship}", CAT_FAMILY},
	[FIELD_RELATIONSHIP] = {"relationship", CAT_FAMILY},
	[FIELD_HOUSEHOLD] = {"household_id, kind, convivenza, since, members", CAT_FAMILY},
	[FIELD_PARENTAGE] = {"parentage {father, mother}", CAT_PARENTAGE},
	[FIELD_CITIZENSHIP] = {"citizenship", CAT_CITIZENSHIP},
	[FIELD_CIVIL_STATUS] = {"civil_status {code, label, date}", CAT_CIVIL_STATUS},
	[FIELD_VITAL_STATUS] = {"vital_status {status, cancellation_reason, date, destination}",
				CAT_VITAL_STATUS},
	[FIELD_EVENT] = {"cursor, comune, type, date, place", 0},
	[FIELD_EVENT_PERSON] = {"codice_fiscale", CAT_IDENTITY},
};

bool policy_may_see(unsigned categories, enum policy_field f)
{
	return (unsigned)f < FIELD_COUNT &&
	       (categories & policy_fields[f].needs) == policy_fields[f].needs;
}

static bool refuse(struct policy_refusal *why, int status, const char *code, const char *msg)
{
	why->status = status;
	why->code = code;
	why->message = msg;
	return false;
}

bool policy_grant_for(struct store *s, const struct store_account *a, int64_t purpose_id,
		      int today, struct policy_grant *out, struct policy_refusal *why,
		      struct vis_error *e)
{
	bool found;
	memset(out, 0, sizeof *out);
	if (purpose_id <= 0)
		return refuse(why, 400, "purpose_required",
			      "ogni richiesta di dati personali deve dichiarare una delle finalità "
			      "della convenzione");
	if (store_purpose_get(s, purpose_id, &out->purpose, &found, e))
		return refuse(why, 503, "service_unavailable",
			      "la base dati non è raggiungibile: riprovare più tardi");
	if (found && store_convenzione_get(s, out->purpose.convenzione_id, &out->conv, &found, e))
		return refuse(why, 503, "service_unavailable",
			      "la base dati non è raggiungibile: riprovare più tardi");
	if (!found || out->conv.ente_id != a->ente_id || !a->ente_id)
		return refuse(why, 403, "purpose_not_allowed",
			      "questa finalità non appartiene alle convenzioni del suo ente");
	if (strcmp(out->conv.state, "active"))
		return refuse(why, 403, "agreement_not_active",
			      "la convenzione è sospesa o cessata");
	if (today < out->conv.valid_from || (out->conv.valid_to && today > out->conv.valid_to))
		return refuse(why, 403, "agreement_not_active",
			      "la convenzione oggi non è in vigore");
	if (!policy_categories_parse(out->conv.profile, &out->categories))
		return refuse(why, 500, "internal_error",
			      "il profilo della convenzione è danneggiato");
	out->verify_only = !strcmp(out->conv.mode, "verify_only");
	return true;
}

bool policy_covers(const struct policy_grant *g, const char *comune)
{
	size_t n = strlen(comune);
	if (n != 6)
		return false;
	for (const char *p = g->conv.comuni; (p = strstr(p, comune)); p += n)
		if ((p == g->conv.comuni || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

const char *policy_convenzione_check(const struct store_convenzione *c,
				     const struct refdata *rd)
{
	unsigned cats;
	if (strcmp(c->mode, "consult") && strcmp(c->mode, "verify_only"))
		return "il campo \"mode\" deve essere consult o verify_only";
	if (strcmp(c->state, "active") && strcmp(c->state, "suspended") && strcmp(c->state, "ended"))
		return "il campo \"state\" deve essere active, suspended o ended";
	if (!policy_categories_parse(c->profile, &cats) || !cats)
		return "il campo \"profile\" deve elencare categorie tra identity, residence, family, "
		       "parentage, citizenship, civil_status, vital_status, history";
	if (!c->valid_from || (c->valid_to && c->valid_to < c->valid_from))
		return "il campo \"valid_to\" è prima di \"valid_from\"";
	if (c->max_results < 1 || c->max_results > 100)
		return "il campo \"max_results\" deve essere da 1 a 100";
	const int lim[6] = {c->per_minute, c->per_day, c->body_per_minute, c->body_per_day,
			    c->purpose_per_minute, c->purpose_per_day};
	for (int i = 0; i < 6; i++)
		if (lim[i] < 1 || lim[i] > 1000000000)
			return "i limiti di frequenza (per_minute, per_day, body_per_minute, body_per_day, "
			       "purpose_per_minute, purpose_per_day) devono essere da 1 a 1.000.000.000";
	const char *p = c->comuni;
	if (!*p)
		return "il campo \"comuni\" deve elencare almeno un comune";
	while (*p) {
		char code[7];
		size_t n = strcspn(p, ",");
		if (n != 6)
			return "il campo \"comuni\" deve contenere codici ISTAT di 6 cifre separati da virgole";
		memcpy(code, p, 6);
		code[6] = '\0';
		if (!refdata_comune_by_istat(rd, code, 0))
			return "il campo \"comuni\" contiene un codice ISTAT sconosciuto";
		p += n;
		if (*p == ',' && !*++p)
			return "il campo \"comuni\" finisce con una virgola";
	}
	return NULL;
}
