/* policy — what a caller may see, decided in one place: the agreement that
 * covers the declared purpose, its validity, the municipalities it covers,
 * its data categories (the profile) and its access mode.
 *
 * Owns: the data categories and the rules that map an account and a purpose
 * to a grant.  Handlers ask for a grant and serialise only what it allows;
 * nothing outside the profile is ever read into a response. */
#ifndef VISURA_POLICY_POLICY_H
#define VISURA_POLICY_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

/* The data categories of a profile: the same split as the national
 * register's verification and enquiry services. */
enum {
	CAT_IDENTITY = 1 << 0,      /* codice fiscale, names, sex, birth */
	CAT_RESIDENCE = 1 << 1,     /* address and municipality of residence */
	CAT_FAMILY = 1 << 2,        /* household members and relationships */
	CAT_PARENTAGE = 1 << 3,     /* father and mother */
	CAT_CITIZENSHIP = 1 << 4,
	CAT_CIVIL_STATUS = 1 << 5,
	CAT_VITAL_STATUS = 1 << 6,  /* alive, deceased, emigrated, with dates */
	CAT_HISTORY = 1 << 7,       /* past versions */
	CAT_ALL = (1 << 8) - 1,
};

/* "identity,residence" -> mask; false on an unknown name. */
bool policy_categories_parse(const char *list, unsigned *out);
/* mask -> "identity,residence"; cap at least POLICY_CATEGORIES_TEXT_MAX,
 * so that every mask fits (an access record's field is checked against it
 * at compile time, and unit.test_policy checks the constant). */
#define POLICY_CATEGORIES_TEXT_MAX 82
void policy_categories_format(unsigned mask, char *out, size_t cap);

/* ---- what a profile may see, field by field ----
 *
 * The one table every view of the register consults before it builds a
 * field (person, household, history, as-of, print, the events feed and its
 * push, verification, list extraction): a field appears only when the
 * profile holds every category its row needs.  docs/api.md prints it. */
enum policy_field {
	FIELD_COMUNE,          /* the municipality holding the record */
	FIELD_VALIDITY,        /* valid_from, valid_to of a version */
	FIELD_IDENTITY,        /* codice fiscale, surname, name, sex, birth date and place */
	FIELD_RESIDENCE,       /* registration reason and date, address and since when */
	FIELD_FAMILY,          /* a person's household id and relationship to the head */
	FIELD_RELATIONSHIP,    /* the relationship of a household member or a version */
	FIELD_HOUSEHOLD,       /* a household: id, kind, convivenza name, since, members */
	FIELD_PARENTAGE,       /* father, mother */
	FIELD_CITIZENSHIP,
	FIELD_CIVIL_STATUS,
	FIELD_VITAL_STATUS,    /* status, cancellation reason and date, destination */
	FIELD_EVENT,           /* an event's cursor, municipality, type, date, place */
	FIELD_EVENT_PERSON,    /* an event's codice fiscale */
	FIELD_COUNT
};

struct policy_field_row {
	const char *keys;      /* the answer's keys of the field */
	unsigned needs;        /* categories, all required (0: the subscription) */
};
extern const struct policy_field_row policy_fields[FIELD_COUNT];

/* May a profile (a category mask) see the field? */
bool policy_may_see(unsigned categories, enum policy_field f);

struct policy_grant {
	struct store_convenzione conv;
	struct store_purpose purpose;
	unsigned categories;
	bool verify_only;
};

/* Why a request was refused: an HTTP status, a code and a sentence. */
struct policy_refusal {
	int status;
	const char *code;
	const char *message;
};

/* The grant for account `a` declaring purpose `purpose_id` on `today`
 * (YYYYMMDD).  Returns false and fills `why` when the purpose is missing,
 * not one of the caller's body's agreements, or the agreement is not in
 * force. */
bool policy_grant_for(struct store *s, const struct store_account *a, int64_t purpose_id,
		      int today, struct policy_grant *out, struct policy_refusal *why,
		      struct vis_error *e);

/* Does the grant's agreement cover this municipality (ISTAT code)? */
bool policy_covers(const struct policy_grant *g, const char *comune);

/* Validates an agreement's fields (dates, mode, profile, limits, comuni
 * against the reference table); returns a sentence or NULL. */
struct refdata;
const char *policy_convenzione_check(const struct store_convenzione *c,
				     const struct refdata *rd);

#endif
