/* query — the register as an external body sees it: searches, consultation
 * of a person, their household and history (each "as of" a date), and the
 * verification of declared facts, all bounded by a policy grant.
 *
 * Owns: the search rules (no wildcards, no surname-only, one typo tolerated
 * when nothing matches exactly, a cap on results) and the JSON views of
 * register records.  A view holds only the fields the grant's profile may
 * see (policy_may_see, field by field): fields outside the profile are never
 * read into it.  Every person a view names (codice fiscale, parents, the
 * members of a household, declared persons a verification confirms) is added
 * to `subjects`; when they would not fit the query fails with
 * QUERY_TOO_LARGE and no answer is built. */
#ifndef VISURA_QUERY_QUERY_H
#define VISURA_QUERY_QUERY_H

#include <jansson.h>
#include <stdbool.h>

#include "audit/subjects.h"
#include "common/err.h"
#include "policy/policy.h"
#include "store/store.h"

struct refdata;
struct jsonw;

/* The most bytes of one answer's JSON text: past it the query fails
 * (QUERY_TOO_LARGE), nothing is cut. */
#define QUERY_ANSWER_MAX (16u << 20)

enum query_status {
	QUERY_OK,
	QUERY_NOT_FOUND,
	QUERY_TOO_BROAD,
	QUERY_INVALID,        /* bad parameters: see `message` */
	QUERY_NOT_PERMITTED,  /* a category outside the profile */
	QUERY_TOO_LARGE,      /* the answer would name more than SUBJECTS_MAX persons,
				 or exceed QUERY_ANSWER_MAX bytes: see `message` */
	QUERY_FAILED,         /* the store failed: see the vis_error */
};

/* Why QUERY_TOO_LARGE: the sentence the caller refuses with (`message`):
 * too many persons for one access record, or (QUERY_ANSWER_BYTES_MESSAGE)
 * more than QUERY_ANSWER_MAX bytes of JSON text. */
#define QUERY_TOO_LARGE_MESSAGE \
	"la risposta nomina più persone di quante ne possa contenere una registrazione " \
	"di accesso: rivolgersi all'ufficio anagrafe"
#define QUERY_ANSWER_BYTES_MESSAGE \
	"la risposta supera la dimensione massima di una risposta (16 MiB di testo JSON): " \
	"restringere la richiesta o rivolgersi all'ufficio anagrafe"
_Static_assert(QUERY_ANSWER_MAX == 16u << 20, "QUERY_ANSWER_BYTES_MESSAGE names the bound");

struct query_ctx {
	struct store *s;
	const struct refdata *rd;
	const struct policy_grant *grant;
	int as_of;                  /* YYYYMMDD, 0 = now */
	/* results */
	json_t *body;               /* owned by the caller after the call */
	/* When set (by the caller, before query_search), the search streams
	 * its answer here instead of building `body`: one JSON object with
	 * "results", "count" and "approximate", left open for the caller's
	 * members (jsonw_resume); emptied when the query fails. */
	struct jsonw *out;
	struct subjects *subjects;  /* the caller's: every person the answer names */
	const char *message;        /* for QUERY_INVALID / QUERY_NOT_PERMITTED / QUERY_TOO_LARGE */
	bool over_bytes;            /* VIS_ERR_LIMIT came from the answer's byte bound */
	struct vis_error err;
};

struct query_search {
	char cf[17];
	char surname[101];
	char name[101];
	int birth_date;
	int birth_year;
	char comune[7];
};

enum query_status query_search(struct query_ctx *q, const struct query_search *p);
enum query_status query_person(struct query_ctx *q, const char *cf);
/* A page of a household's members (docs/api.md, "Pages"): at most `limit`
 * members (0: all of them) after the cursor `after` (the next_cursor of
 * the previous page, NULL or "" for the first).  The answer carries "next_cursor" when more
 * follow; its subjects are the person asked for and the members of the
 * page (and the parents their views show), no one else. */
struct query_page {
	int limit;
	const char *after;
};
#define QUERY_MEMBERS_MAX 1000
/* A cursor as a member's key; false when it is not one visura wrote. */
bool query_member_cursor(const char *text, struct store_member_key *out);
enum query_status query_household(struct query_ctx *q, const char *cf, const struct query_page *pg);
enum query_status query_history(struct query_ctx *q, const char *cf);
/* `declared` is the JSON object of declared facts (see docs/api.md). */
enum query_status query_verify(struct query_ctx *q, const char *cf, json_t *declared);

/* True when a and b (upper-case ASCII) differ by at most one insertion,
 * deletion or substitution. */
bool query_within_one_edit(const char *a, const char *b);

#endif
