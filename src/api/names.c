/* Handlers of /api/v1/names/... and /api/v1/places: what the interface's
 * pickers search by name, so that nobody types a code or a number — the
 * bodies, accounts and purposes as id and display name only (for roles
 * that may not list the records themselves), and the municipalities
 * (current and suppressed) and foreign states of the reference data. */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"
#include "app/app.h"
#include "common/date.h"
#include "common/text.h"
#include "refdata/refdata.h"

static json_t *ente_name(const void *rec)
{
	const struct store_ente *en = rec;
	return json_pack("{s:I,s:s}", "id", (json_int_t)en->id, "name", en->name);
}

static json_t *account_name(const void *rec)
{
	const struct store_account *a = rec;
	return json_pack("{s:I,s:s,s:s}", "id", (json_int_t)a->id, "username", a->username,
			 "full_name", a->full_name);
}

static json_t *purpose_name(const void *rec)
{
	const struct store_purpose *p = rec;
	return json_pack("{s:I,s:s,s:s}", "id", (json_int_t)p->id, "code", p->code,
			 "description", p->description);
}

void api_names_enti(struct http_request *r)
{
	struct store *s = api_store(r);
	if (s)
		api_reply_list(r, s, STORE_ENTE, NULL, 0, "enti", ente_name);
}

void api_names_accounts(struct http_request *r)
{
	struct store *s = api_store(r);
	if (s)
		api_reply_list(r, s, STORE_ACCOUNT, NULL, 0, "accounts", account_name);
}

void api_names_purposes(struct http_request *r)
{
	struct store *s = api_store(r);
	if (s)
		api_reply_list(r, s, STORE_PURPOSE, NULL, 0, "purposes", purpose_name);
}

#define PLACES_MAX 20
#define FOLD_CAP 256

/* How well a name answers the folded key: 0 it is the key, 1 it starts
 * with it, 2 it holds it, -1 it does not. */
static int name_rank(const char *name, const char *key)
{
	char folded[FOLD_CAP];
	if (text_fold_letters(name, strlen(name), folded, sizeof folded) < 0)
		return -1;
	const char *at = strstr(folded, key);
	return !at ? -1 : at > folded ? 2 : at[strlen(key)] ? 1 : 0;
}

/* A municipality as a picker offers it: one row per code and name, over
 * the periods the reference data splits it into (from the first's start to
 * the last's end, 0 = still valid). */
struct comune_hit {
	const struct ref_comune *c;
	int from, to;
};

static json_t *comune_place(const struct comune_hit *h)
{
	char from[11], to[11] = "";
	date_format(h->from, from);
	if (h->to)
		date_format(h->to, to);
	return json_pack("{s:s,s:s,s:s,s:s,s:b,s:s,s:o}", "kind", "comune", "code", h->c->istat,
			 "name", h->c->name, "province", h->c->province, "current", h->to == 0,
			 "valid_from", from, "valid_to", to[0] ? json_string(to) : json_null());
}

/* Adds c to hits (at most PLACES_MAX), or merges its period into the hit
 * of the same code and name. */
static void comune_add(struct comune_hit *hits, size_t *n, const struct ref_comune *c)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(hits[i].c->istat, c->istat) && !strcmp(hits[i].c->name, c->name)) {
			if (c->valid_from < hits[i].from)
				hits[i].from = c->valid_from;
			if (hits[i].to && (!c->valid_to || c->valid_to > hits[i].to))
				hits[i].to = c->valid_to;
			return;
		}
	if (*n < PLACES_MAX)
		hits[(*n)++] = (struct comune_hit){c, c->valid_from, c->valid_to};
}

static json_t *stato_place(const struct ref_stato *st)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:b,s:n,s:n}", "kind", "stato", "code", st->istat,
			 "name", st->name, "province", "", "current", st->valid_to == 0,
			 "valid_from", "valid_to");
}

/* GET /api/v1/places?q=&kind=: up to 20 municipalities (the name q
 * first, then names starting with it, then the rest; current ones before
 * suppressed ones) and foreign states whose name holds q
 * (letters folded: accents, case, spaces and apostrophes do not count),
 * or whose ISTAT code is q. */
void api_places(struct http_request *r)
{
	const char *q = http_query(r, "q");
	const char *kind = http_query(r, "kind");
	if (!kind || !*kind)
		kind = "any";
	char key[FOLD_CAP];
	if (!q || strlen(q) > 100 || strlen(q) < 2 ||
	    (strcmp(kind, "any") && strcmp(kind, "comune") && strcmp(kind, "stato"))) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"q\" deve avere da 2 a 100 caratteri e \"kind\" essere "
				 "\"any\", \"comune\" o \"stato\"");
		return;
	}
	int klen = text_fold_letters(q, strlen(q), key, sizeof key);
	if (klen < 0) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"q\" non è testo UTF-8 valido");
		return;
	}
	bool code = str_digits(q, strlen(q));
	if (!code && klen == 0) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"q\" non contiene lettere e non è un codice");
		return;
	}
	const struct refdata *rd = r->app->rd;
	json_t *arr = json_array();
	bool comuni = strcmp(kind, "stato") != 0, stati = strcmp(kind, "comune") != 0;
	/* the exact names first, then those starting with q, then the rest;
	 * within each, the current municipalities before the suppressed ones */
	struct comune_hit hits[PLACES_MAX];
	size_t n = 0;
	for (int pass = 0; comuni && pass < 6; pass++)
		for (size_t i = 0; i < refdata_comune_count(rd); i++) {
			const struct ref_comune *c = refdata_comune_at(rd, i);
			if ((c->valid_to == 0) != (pass % 2 == 0))
				continue;
			if (code ? pass < 2 && !strcmp(c->istat, q) : name_rank(c->name, key) == pass / 2)
				comune_add(hits, &n, c);
		}
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, comune_place(&hits[i]));
	for (size_t i = 0; stati && i < refdata_stato_count(rd) && json_array_size(arr) < PLACES_MAX;
	     i++) {
		const struct ref_stato *st = refdata_stato_at(rd, i);
		if (st->istat[0] && (code ? !strcmp(st->istat, q) : name_rank(st->name, key) >= 0))
			json_array_append_new(arr, stato_place(st));
	}
	http_reply_json(r, 200, json_pack("{s:o}", "places", arr));
}
