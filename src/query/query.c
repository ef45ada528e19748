#include "query/query.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf/cf.h"
#include "common/date.h"
#include "common/text.h"
#include "refdata/refdata.h"
#include "common/jsonw.h"
#include "common/str.h"

/* Candidates read for a one-typo search before giving up as too broad. */
#define FUZZY_SCAN 2000

bool query_within_one_edit(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > lb + 1 || lb > la + 1)
		return false;
	size_t i = 0;
	while (i < la && i < lb && a[i] == b[i])
		i++;
	if (la == lb) /* one substitution at i, or equal */
		return i == la || !strcmp(a + i + 1, b + i + 1);
	if (la > lb) /* deletion from a */
		return !strcmp(a + i + 1, b + i);
	return !strcmp(a + i, b + i + 1);
}

static json_t *date_json(int d)
{
	char buf[11];
	if (!d)
		return json_null();
	date_format(d, buf);
	return json_string(buf);
}

/* The name of a municipality (6 digits, as it was on `date`) or a state
 * (3 digits); NULL when the reference data do not know it. */
static const char *place_name(const struct refdata *rd, const char *code, int date)
{
	if (strlen(code) == 6) {
		const struct ref_comune *c = refdata_comune_by_istat(rd, code, date);
		return c ? c->name : NULL;
	} else if (code[0]) {
		const struct ref_stato *s = refdata_stato_by_istat(rd, code);
		return s ? s->name : NULL;
	}
	return NULL;
}

static const char *civil_label(int code)
{
	switch (code) {
	case 1: return "celibe/nubile";
	case 2: return "coniugato/a";
	case 3: return "vedovo/a";
	case 4: return "divorziato/a";
	case 6: return "unito/a civilmente";
	case 7: return "libero/a per decesso dell'unito civilmente";
	case 8: return "libero/a per scioglimento dell'unione";
	default: return "non classificabile";
	}
}

/* The status a cancellation gives (NULL: none, registered). */
static const char *vital(const struct store_person *c)
{
	if (!c)
		return "registered";
	switch (c->canc_reason) {
	case 1: case 2: return "deceased";
	case 3: return "emigrated";
	case 8: return "emigrated_abroad";
	default: return "cancelled";
	}
}

/* Adds a person the answer names to its subjects; a failure (too many
 * persons, no memory) is kept in q->err and ends the query (settle()). */
static void add_subject(struct query_ctx *q, const char *cf)
{
	if (!q->err.code && cf[0])
		subjects_add(q->subjects, cf, &q->err);
}

/* The outcome once a view is built: QUERY_TOO_LARGE when its persons did
 * not fit in the record, QUERY_FAILED when the store or memory failed. */
static enum query_status settle(struct query_ctx *q)
{
	if (!q->err.code)
		return QUERY_OK;
	json_decref(q->body);
	q->body = NULL;
	if (q->out) { /* nothing of a failed view stays */
		strbuf_release(q->out->sb);
		jsonw_init(q->out, q->out->sb, q->out->flags);
	}
	if (q->err.code == VIS_ERR_LIMIT) {
		q->message = q->over_bytes ? QUERY_ANSWER_BYTES_MESSAGE : QUERY_TOO_LARGE_MESSAGE;
		return QUERY_TOO_LARGE;
	}
	return QUERY_FAILED;
}

/* May the grant's profile see the field?  Every view asks here. */
static bool sees(const struct query_ctx *q, enum policy_field f)
{
	return policy_may_see(q->grant->categories, f);
}

static bool is_death(const struct store_person *v)
{
	return v->canc_reason == 1 || v->canc_reason == 2;
}

struct later_death {
	int as_of;
	bool found;
	struct store_person v;
};

static int find_later_death(void *ctx, const struct store_person *v)
{
	struct later_death *d = ctx;
	if (!d->found && v->valid_from > d->as_of && is_death(v) && v->canc_date <= d->as_of) {
		d->v = *v;
		d->found = true;
	}
	return 0;
}

/* The cancellation that holds on the as-of date, for a version valid that
 * day: the version's own when its date is not after the as-of date (a
 * version a file opened before the cancellation's date is not yet
 * cancelled); else, for a version a later one closed, a death that later
 * version records on or before the as-of date (a death recorded late is
 * still a death that day).  NULL: registered that day (or the store
 * failed: q->err). */
static const struct store_person *cancellation(struct query_ctx *q, const struct store_person *p,
					       struct store_person *later)
{
	if (p->canc_reason && (!q->as_of || p->canc_date <= q->as_of))
		return p;
	if (!q->as_of || !p->valid_to)
		return NULL;
	struct later_death d = {.as_of = q->as_of};
	if (store_person_history(q->s, p->comune, p->id, find_later_death, &d, &q->err))
		return NULL;
	if (!d.found)
		return NULL;
	*later = d.v;
	return later;
}

/* A person's household as found beside them (store_person_versions_home_at). */
struct home {
	struct store_family f;
	bool found;
};

static void date_write(struct jsonw *w, int d)
{
	char buf[11];
	if (!d) {
		jsonw_null(w);
		return;
	}
	date_format(d, buf);
	jsonw_string(w, buf);
}

static void place_write(struct jsonw *w, const struct refdata *rd, const char *code, int date)
{
	const char *name = place_name(rd, code, date);
	jsonw_object_open(w);
	jsonw_key(w, "code");
	jsonw_string(w, code);
	jsonw_key(w, "name");
	jsonw_string_or_null(w, name);
	jsonw_object_close(w);
}

/* The view of one person version: the fields the profile may see, written
 * as one JSON object (with the relationship to the head last, when asked
 * and the profile may see it).  The parents it names are subjects of the
 * answer; the person is added by the caller (a household names its
 * members even without identity).  home: the household read with the
 * person, NULL to read it here. */
static void person_write(struct query_ctx *q, struct jsonw *w, const struct store_person *p,
			 bool relationship, const struct home *home)
{
	jsonw_object_open(w);
	/* Where the record is held is residence data; when it changed is
	 * history: neither leaks to a profile without them. */
	if (sees(q, FIELD_COMUNE)) {
		jsonw_key(w, "comune");
		place_write(w, q->rd, p->comune, p->valid_from);
	}
	if (sees(q, FIELD_VALIDITY)) {
		jsonw_key(w, "valid_from");
		date_write(w, p->valid_from);
		jsonw_key(w, "valid_to");
		date_write(w, p->valid_to);
	}
	if (sees(q, FIELD_IDENTITY)) {
		char sex[2] = {p->sex, 0};
		jsonw_key(w, "identity");
		jsonw_object_open(w);
		jsonw_key(w, "codice_fiscale");
		jsonw_string(w, p->cf);
		jsonw_key(w, "surname");
		jsonw_string(w, p->surname);
		jsonw_key(w, "name");
		jsonw_string(w, p->name);
		jsonw_key(w, "sex");
		jsonw_string(w, sex);
		jsonw_key(w, "birth_date");
		date_write(w, p->birth_date);
		jsonw_key(w, "birth_place");
		place_write(w, q->rd, p->birth_place, p->birth_date);
		jsonw_object_close(w);
	}
	if (sees(q, FIELD_RESIDENCE)) {
		jsonw_key(w, "residence");
		jsonw_object_open(w);
		jsonw_key(w, "registration_reason");
		jsonw_int(w, p->reg_reason);
		jsonw_key(w, "registration_date");
		date_write(w, p->reg_date);
		struct store_family f;
		bool found = false;
		if (home) {
			found = home->found;
			if (found)
				f = home->f;
		} else if (p->family_id[0] &&
			   store_family_get(q->s, p->comune, p->family_id, q->as_of, &f, &found,
					    &q->err)) {
			found = false;
		}
		if (found) {
			jsonw_key(w, "address");
			jsonw_object_open(w);
			jsonw_key(w, "dug");
			jsonw_string(w, f.dug);
			jsonw_key(w, "street");
			jsonw_string(w, f.street);
			jsonw_key(w, "civic");
			if (f.civic)
				jsonw_int(w, f.civic);
			else
				jsonw_null(w);
			static const char *const rest[] = {"civic_ext", "scala", "interno", "cap",
							   "locality"};
			const char *vals[] = {f.civic_ext, f.scala, f.interno, f.cap, f.locality};
			for (size_t i = 0; i < sizeof rest / sizeof *rest; i++) {
				jsonw_key(w, rest[i]);
				jsonw_string(w, vals[i]);
			}
			/* a care home's (an institution's) name is part of its address */
			if (f.kind == 2 && f.convivenza[0]) {
				jsonw_key(w, "convivenza");
				jsonw_string(w, f.convivenza);
			}
			jsonw_object_close(w);
			jsonw_key(w, "address_since");
			date_write(w, f.valid_from);
		}
		jsonw_object_close(w);
	}
	if (sees(q, FIELD_FAMILY) && p->family_id[0]) {
		jsonw_key(w, "family");
		jsonw_object_open(w);
		jsonw_key(w, "household_id");
		jsonw_string(w, p->family_id);
		jsonw_key(w, "relationship");
		jsonw_int(w, p->relationship);
		jsonw_object_close(w);
	}
	if (sees(q, FIELD_PARENTAGE)) {
		jsonw_key(w, "parentage");
		jsonw_object_open(w);
		jsonw_key(w, "father");
		jsonw_string_or_null(w, p->father_cf[0] ? p->father_cf : NULL);
		jsonw_key(w, "mother");
		jsonw_string_or_null(w, p->mother_cf[0] ? p->mother_cf : NULL);
		jsonw_object_close(w);
		add_subject(q, p->father_cf);
		add_subject(q, p->mother_cf);
	}
	if (sees(q, FIELD_CITIZENSHIP)) {
		jsonw_key(w, "citizenship");
		jsonw_array_open(w);
		char code[4];
		for (const char *c = p->citizenships; *c;) {
			size_t n = strcspn(c, ","), k = n < 3 ? n : 3;
			memcpy(code, c, k); /* "%.*s" without snprintf's cost */
			code[k] = '\0';
			place_write(w, q->rd, code, 0);
			c += n + (c[n] == ',');
		}
		jsonw_array_close(w);
	}
	if (sees(q, FIELD_CIVIL_STATUS)) {
		jsonw_key(w, "civil_status");
		jsonw_object_open(w);
		jsonw_key(w, "code");
		jsonw_int(w, p->civil_status);
		jsonw_key(w, "label");
		jsonw_string(w, civil_label(p->civil_status));
		jsonw_key(w, "date");
		date_write(w, p->civil_status_date);
		jsonw_object_close(w);
	}
	if (sees(q, FIELD_VITAL_STATUS)) {
		struct store_person later;
		const struct store_person *c = cancellation(q, p, &later);
		jsonw_key(w, "vital_status");
		jsonw_object_open(w);
		jsonw_key(w, "status");
		jsonw_string(w, vital(c));
		if (c) {
			jsonw_key(w, "cancellation_reason");
			jsonw_int(w, c->canc_reason);
			jsonw_key(w, "date");
			date_write(w, c->canc_date);
			if (c->destination[0]) {
				jsonw_key(w, "destination");
				place_write(w, q->rd, c->destination, 0);
			}
		}
		jsonw_object_close(w);
	}
	if (relationship && sees(q, FIELD_RELATIONSHIP)) {
		jsonw_key(w, "relationship");
		jsonw_int(w, p->relationship);
	}
	jsonw_object_close(w);
}

/* A failure of the writer (a text that is not UTF-8 in the register, no
 * memory, the answer's bound) fails the query: never a view with a field
 * left out. */
static void writer_settle(struct query_ctx *q, const struct jsonw *w)
{
	vis_err rc = jsonw_error(w);
	if (rc && !q->err.code) {
		q->over_bytes = rc == VIS_ERR_LIMIT;
		vis_error_set(&q->err, rc == VIS_ERR_LIMIT ? VIS_ERR_LIMIT : VIS_ERR_INTERNAL,
			      "impossibile scrivere la scheda della persona (%s)", vis_strerror(rc));
	}
}

/* The same view as a jansson tree, for the answers still built as one
 * (consultation, household, history, ANPR, the printed page); NULL when
 * it failed (q->err says why). */
static json_t *person_view(struct query_ctx *q, const struct store_person *p, bool relationship,
			   const struct home *home)
{
	struct strbuf sb;
	struct jsonw w;
	strbuf_init(&sb, QUERY_ANSWER_MAX);
	jsonw_init(&w, &sb, 0);
	person_write(q, &w, p, relationship, home);
	writer_settle(q, &w);
	json_t *j = NULL;
	if (!q->err.code && !(j = json_loadb(sb.buf, sb.len, 0, NULL)))
		vis_error_set(&q->err, VIS_ERR_NOMEM, "memoria esaurita");
	strbuf_release(&sb);
	return j;
}

/* ---- finding the one person a codice fiscale names, within the grant ---- */

struct pick {
	struct query_ctx *q;
	struct store_person best;
	bool found;
	struct home *home;   /* the household of the version picked */
};

static int pick_covered(void *ctx, const struct store_person *p)
{
	struct pick *pk = ctx;
	if (!policy_covers(pk->q->grant, p->comune))
		return 0;
	/* Registered first (the query orders them so), else the first. */
	if (!pk->found) {
		pk->best = *p;
		pk->found = true;
	}
	return 0;
}

static int pick_covered_home(void *ctx, const struct store_person *p,
			     const struct store_family *f)
{
	struct pick *pk = ctx;
	bool first = !pk->found;
	pick_covered(ctx, p);
	if (first && pk->found) {
		pk->home->found = f != NULL;
		if (f)
			pk->home->f = *f;
	}
	return 0;
}

/* home: when given, the household of the person found is read with them
 * (one statement). */
static enum query_status find_person_home(struct query_ctx *q, const char *cf,
					  struct store_person *out, struct home *home)
{
	struct pick pk = {.q = q};
	if (cf_decode(cf, strlen(cf), NULL) != CF_OK) {
		q->message = "non è un codice fiscale valido";
		return QUERY_INVALID;
	}
	char upper[17];
	STR_COPY_KNOWN(upper, cf); /* cf_decode accepted it: 16 characters */
	for (char *c = upper; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 32);
	pk.home = home;
	if (home ? store_person_versions_home_at(q->s, upper, q->as_of, pick_covered_home, &pk,
						 &q->err)
		 : store_person_versions_at(q->s, upper, q->as_of, pick_covered, &pk, &q->err))
		return QUERY_FAILED;
	if (!pk.found)
		return QUERY_NOT_FOUND;
	*out = pk.best;
	return QUERY_OK;
}

static enum query_status find_person(struct query_ctx *q, const char *cf,
				     struct store_person *out)
{
	return find_person_home(q, cf, out, NULL);
}

/* ---- search ---- */

struct collect {
	struct query_ctx *q;
	const struct query_search *p;
	const char *fuzzy_surname;   /* compare with one edit allowed */
	const char *fuzzy_name;
	struct store_person *rows;
	int n, cap, scanned;
};

static int collect_row(void *ctx, const struct store_person *p)
{
	struct collect *c = ctx;
	c->scanned++;
	if (!policy_covers(c->q->grant, p->comune))
		return 0;
	if (c->fuzzy_surname) {
		char key[STORE_NAME_MAX];
		if (text_fold_letters(p->surname, strlen(p->surname), key, sizeof key) < 0 ||
		    !query_within_one_edit(key, c->fuzzy_surname))
			return 0;
	}
	if (c->fuzzy_name) {
		char key[STORE_NAME_MAX];
		if (text_fold_letters(p->name, strlen(p->name), key, sizeof key) < 0 ||
		    !query_within_one_edit(key, c->fuzzy_name))
			return 0;
	}
	if (c->n < c->cap)
		c->rows[c->n] = *p;
	c->n++;
	return 0;
}

/* The answer of a search: the persons' views, their count and whether the
 * match was approximate; streamed into q->out (its object left open for
 * the caller's members), else built as q->body. */
static enum query_status results_write(struct query_ctx *q, const struct store_person *rows,
				       int n, bool fuzzy, const struct home *home)
{
	struct strbuf own;
	struct jsonw local, *w = q->out;
	if (!w) {
		strbuf_init(&own, QUERY_ANSWER_MAX);
		jsonw_init(&local, &own, 0);
		w = &local;
	}
	jsonw_object_open(w);
	jsonw_key(w, "results");
	jsonw_array_open(w);
	for (int i = 0; i < n && !q->err.code; i++) {
		add_subject(q, rows[i].cf);
		person_write(q, w, &rows[i], false, n == 1 ? home : NULL);
	}
	jsonw_array_close(w);
	jsonw_key(w, "count");
	jsonw_int(w, n);
	jsonw_key(w, "approximate");
	jsonw_bool(w, fuzzy);
	writer_settle(q, w);
	if (!q->out) {
		jsonw_object_close(w);
		if (!q->err.code && !(q->body = json_loadb(own.buf, own.len, 0, NULL)))
			vis_error_set(&q->err, VIS_ERR_NOMEM, "memoria esaurita");
		strbuf_release(&own);
	}
	return settle(q);
}

static enum query_status search_results(struct query_ctx *q, struct collect *c, bool fuzzy)
{
	int cap = q->grant->conv.max_results;
	if (c->n > cap) {
		q->message = "la ricerca trova più persone di quante la convenzione ne consenta: "
			     "restringerla";
		return QUERY_TOO_BROAD;
	}
	if (c->n == 0)
		return QUERY_NOT_FOUND;
	return results_write(q, c->rows, c->n, fuzzy, NULL);
}

static enum query_status search_in(struct query_ctx *q, const struct query_search *p)
{
	if (!(q->grant->categories & CAT_IDENTITY)) {
		q->message = "il profilo della convenzione non comprende i dati anagrafici";
		return QUERY_NOT_PERMITTED;
	}
	if (p->cf[0]) {
		struct store_person person;
		struct home home = {0};
		/* the address, when the profile shows it, comes with the person */
		bool address = sees(q, FIELD_RESIDENCE);
		enum query_status st = find_person_home(q, p->cf, &person, address ? &home : NULL);
		if (st != QUERY_OK)
			return st;
		return results_write(q, &person, 1, false, address ? &home : NULL);
	}
	struct store_search s = {.mode = STORE_SEARCH_EXACT, .birth_date = p->birth_date,
				 .birth_year = p->birth_year};
	STR_COPY_KNOWN(s.comune, p->comune); /* the same size */
	int sk = text_fold_letters(p->surname, strlen(p->surname), s.surname_key, sizeof s.surname_key);
	int nk = text_fold_letters(p->name, strlen(p->name), s.name_key, sizeof s.name_key);
	if (sk < 2 || nk < 2 || !text_name_valid(p->surname, strlen(p->surname)) ||
	    !text_name_valid(p->name, strlen(p->name))) {
		q->message = "cercare per codice fiscale, oppure per cognome e nome (solo lettere, "
			     "senza caratteri jolly) con data o anno di nascita o comune";
		return QUERY_INVALID;
	}
	if (!p->birth_date && !p->birth_year && !p->comune[0]) {
		q->message = "una ricerca per nome richiede anche la data o l'anno di nascita o il "
			     "comune";
		return QUERY_INVALID;
	}
	int cap = q->grant->conv.max_results;
	struct collect c = {.q = q, .p = p, .cap = cap + 1};
	c.rows = calloc((size_t)c.cap, sizeof *c.rows);
	if (!c.rows) {
		vis_error_set(&q->err, VIS_ERR_NOMEM, "memoria esaurita");
		return QUERY_FAILED;
	}
	enum query_status st = QUERY_FAILED;
	/* Exact first; the store is asked for one row past what the cap can
	 * show, after the municipality filter. */
	s.limit = FUZZY_SCAN;
	if (store_person_search(q->s, &s, collect_row, &c, &q->err))
		goto out;
	bool fuzzy = false;
	if (c.n == 0) {
		/* One typo: in the name (surname exact), then in the surname. */
		fuzzy = true;
		s.mode = STORE_SEARCH_SURNAME;
		c.fuzzy_name = s.name_key;
		if (store_person_search(q->s, &s, collect_row, &c, &q->err))
			goto out;
		c.fuzzy_name = NULL;
		s.mode = STORE_SEARCH_NAME;
		c.fuzzy_surname = s.surname_key;
		if (store_person_search(q->s, &s, collect_row, &c, &q->err))
			goto out;
	}
	st = search_results(q, &c, fuzzy);
out:
	free(c.rows);
	return st;
}

enum query_status query_search(struct query_ctx *q, const struct query_search *p)
{
	store_read_begin(q->s);
	enum query_status st = search_in(q, p);
	store_read_end(q->s);
	return st;
}

/* ---- consultation ---- */

static enum query_status need(struct query_ctx *q, unsigned cat, const char *what)
{
	if (q->grant->categories & cat)
		return QUERY_OK;
	q->message = what;
	return QUERY_NOT_PERMITTED;
}

static enum query_status person_in(struct query_ctx *q, const char *cf)
{
	struct store_person p;
	struct home home = {0};
	/* the address, when the profile shows it, comes with the person */
	bool address = sees(q, FIELD_RESIDENCE);
	enum query_status st = need(q, CAT_IDENTITY, "il profilo non comprende i dati anagrafici");
	if (st == QUERY_OK)
		st = find_person_home(q, cf, &p, address ? &home : NULL);
	if (st != QUERY_OK)
		return st;
	add_subject(q, p.cf);
	q->body = json_pack("{s:o,s:o}", "person",
			    person_view(q, &p, false, address ? &home : NULL), "as_of",
			    date_json(q->as_of));
	return settle(q);
}

/* The reads of one answer in one snapshot (store_read_begin). */
enum query_status query_person(struct query_ctx *q, const char *cf)
{
	store_read_begin(q->s);
	enum query_status st = person_in(q, cf);
	store_read_end(q->s);
	return st;
}

struct members {
	struct query_ctx *q;
	json_t *arr;
	int limit;                      /* a page: members kept; 0 = all */
	bool more;                      /* a page: one more member follows */
	struct store_member_key last;   /* of the last member kept */
};

/* A household member or a version of a person: its view, with the
 * relationship to the head when the profile may see it. */
static int add_member(void *ctx, const struct store_person *p)
{
	struct members *m = ctx;
	if (m->limit && json_array_size(m->arr) == (size_t)m->limit) {
		m->more = true; /* read, neither shown nor recorded */
		return 1;
	}
	m->last.relationship = p->relationship;
	m->last.birth_date = p->birth_date;
	STR_COPY_KNOWN(m->last.id, p->id);
	add_subject(m->q, p->cf);
	json_array_append_new(m->arr, person_view(m->q, p, true, NULL));
	return m->q->err.code != 0; /* stop at the first failure */
}

/* The cursor of a page of members: "relationship.birth date.local id" of
 * the last member of the previous page. */
bool query_member_cursor(const char *text, struct store_member_key *out)
{
	memset(out, 0, sizeof *out);
	size_t d1 = text ? strspn(text, "0123456789") : 0;
	if (d1 < 1 || d1 > 2 || text[d1] != '.')
		return false;
	const char *b = text + d1 + 1;
	size_t d2 = strspn(b, "0123456789");
	if (d2 != 8 || b[d2] != '.')
		return false;
	const char *id = b + d2 + 1;
	size_t len = strlen(id);
	if (!len || len >= sizeof out->id || strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz0123456789-_") != len)
		return false;
	out->relationship = atoi(text);
	out->birth_date = atoi(b);
	memcpy(out->id, id, len + 1);
	return true;
}

static enum query_status household_in(struct query_ctx *q, const char *cf,
				      const struct query_page *pg)
{
	struct store_member_key after;
	if (pg->after && *pg->after && !query_member_cursor(pg->after, &after)) {
		q->message = "il campo \"cursor\" deve essere il next_cursor di una pagina precedente";
		return QUERY_INVALID;
	}
	struct store_person p;
	enum query_status st = need(q, CAT_FAMILY, "il profilo non comprende i dati di famiglia");
	if (st == QUERY_OK)
		st = find_person(q, cf, &p);
	if (st != QUERY_OK)
		return st;
	if (!p.family_id[0])
		return QUERY_NOT_FOUND;
	struct store_family f;
	bool found;
	if (store_family_get(q->s, p.comune, p.family_id, q->as_of, &f, &found, &q->err))
		return QUERY_FAILED;
	if (!found)
		return QUERY_NOT_FOUND;
	struct members m = {q, json_array(), pg->limit, false, {0}};
	add_subject(q, p.cf);
	if (store_family_members_page(q->s, p.comune, p.family_id, q->as_of,
				      pg->after && *pg->after ? &after : NULL,
				      pg->limit ? pg->limit + 1 : INT32_MAX,
				      add_member, &m, &q->err) && !q->err.code)
		vis_error_set(&q->err, VIS_ERR_STORE, "household members");
	q->body = json_object();
	if (sees(q, FIELD_HOUSEHOLD))
		json_object_update_new(q->body, json_pack(
			"{s:s,s:i,s:s?,s:o,s:o}", "household_id", f.id, "kind", f.kind,
			"convivenza", f.convivenza[0] ? f.convivenza : NULL,
			"since", date_json(f.valid_from), "members", m.arr));
	else
		json_decref(m.arr);
	if (m.more) {
		char next[48];
		STR_FMT_KNOWN(next, "%d.%d.%s", m.last.relationship, m.last.birth_date,
			      m.last.id); /* two numbers and an id of at most 20 bytes */
		json_object_set_new(q->body, "next_cursor", json_string(next));
	}
	json_object_set_new(q->body, "as_of", date_json(q->as_of));
	return settle(q);
}

enum query_status query_household(struct query_ctx *q, const char *cf, const struct query_page *pg)
{
	store_read_begin(q->s);
	enum query_status st = household_in(q, cf, pg);
	store_read_end(q->s);
	return st;
}

static enum query_status history_in(struct query_ctx *q, const char *cf)
{
	struct store_person p;
	enum query_status st = need(q, CAT_HISTORY, "il profilo non comprende la storia anagrafica");
	if (st == QUERY_OK)
		st = need(q, CAT_IDENTITY, "il profilo non comprende i dati anagrafici");
	if (st == QUERY_OK)
		st = find_person(q, cf, &p);
	if (st != QUERY_OK)
		return st;
	struct members m = {.q = q, .arr = json_array()};
	int as_of = q->as_of;
	q->as_of = 0;
	if (store_person_history(q->s, p.comune, p.id, add_member, &m, &q->err) && !q->err.code)
		vis_error_set(&q->err, VIS_ERR_STORE, "person history");
	q->as_of = as_of;
	q->body = json_pack("{s:o}", "versions", m.arr);
	return settle(q);
}

enum query_status query_history(struct query_ctx *q, const char *cf)
{
	store_read_begin(q->s);
	enum query_status st = history_in(q, cf);
	store_read_end(q->s);
	return st;
}

/* ---- verification of declared facts ---- */

static void fact(json_t *facts, const char *name, bool permitted, bool match)
{
	json_object_set_new(facts, name, json_string(!permitted ? "not_permitted"
							: match ? "match" : "mismatch"));
}

static bool same_text(const char *a, const char *b)
{
	char ka[256], kb[256];
	return text_fold_letters(a, strlen(a), ka, sizeof ka) >= 0 &&
	       text_fold_letters(b, strlen(b), kb, sizeof kb) >= 0 && !strcmp(ka, kb) && ka[0];
}

struct cfset {
	struct query_ctx *q;
	struct subjects members;
};

static int collect_cf(void *ctx, const struct store_person *p)
{
	struct cfset *c = ctx;
	return subjects_add(&c->members, p->cf, &c->q->err) != VIS_OK;
}

/* The declared household is the register's: the same set of codici
 * fiscali, none declared twice.  A match confirms the declared persons:
 * they are subjects of the answer. */
static bool household_matches(struct query_ctx *q, const struct store_person *p, json_t *declared)
{
	struct cfset c = {.q = q};
	subjects_init(&c.members);
	bool ok = p->family_id[0] && json_is_array(declared) &&
		  !store_family_members(q->s, p->comune, p->family_id, q->as_of, collect_cf, &c,
					&q->err) &&
		  !q->err.code && json_array_size(declared) == (size_t)subjects_count(&c.members);
	/* Same size, every declared member present (as typed: spaces, hyphens,
	 * dots and lower case do not count) and none declared twice: the two
	 * sets are equal. */
	size_t n = ok ? json_array_size(declared) : 0;
	char(*cf)[CF_LEN + 1] = n ? calloc(n, sizeof *cf) : NULL;
	if (n && !cf)
		ok = false;
	for (size_t i = 0; ok && i < n; i++) {
		const char *typed = json_string_value(json_array_get(declared, i));
		ok = typed && cf_normalize(typed, cf[i]) && subjects_has(&c.members, cf[i]);
		for (size_t k = 0; ok && k < i; k++)
			if (!strcmp(cf[k], cf[i]))
				ok = false;
	}
	subjects_release(&c.members);
	for (size_t i = 0; ok && i < n; i++)
		add_subject(q, cf[i]);
	free(cf);
	return ok;
}

static bool residence_matches(struct query_ctx *q, const struct store_person *p, json_t *d)
{
	struct store_family f;
	bool found;
	if (!json_is_object(d) || p->canc_reason || !p->family_id[0] ||
	    store_family_get(q->s, p->comune, p->family_id, q->as_of, &f, &found, &q->err) || !found)
		return false;
	const char *comune = json_string_value(json_object_get(d, "comune"));
	const char *street = json_string_value(json_object_get(d, "street"));
	json_t *civic = json_object_get(d, "civic");
	if (!comune || strcmp(comune, p->comune) || !street || !same_text(street, f.street))
		return false;
	if (civic && !(json_is_integer(civic) && json_integer_value(civic) == f.civic))
		return false;
	return true;
}

static bool civil_matches(int code, const char *declared)
{
	if (!strcmp(declared, "married")) return code == 2;
	if (!strcmp(declared, "widowed")) return code == 3;
	if (!strcmp(declared, "civil_union")) return code == 6;
	if (!strcmp(declared, "free")) return code == 1 || code == 4 || code == 7 || code == 8;
	if (!strcmp(declared, "divorced")) return code == 4;
	/* ANPR's own codes, one each (a verification of ANPR's shape) */
	if (!strcmp(declared, "never_married")) return code == 1;
	if (!strcmp(declared, "civil_union_partner_died")) return code == 7;
	if (!strcmp(declared, "civil_union_dissolved")) return code == 8;
	return false;
}

/* Is `code` (3 digits) one of the comma-separated codes of `list`? */
static bool has_code(const char *list, const char *code)
{
	if (!str_digits(code, 3))
		return false;
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		if (n == 3 && !memcmp(p, code, 3))
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

static enum query_status verify_in(struct query_ctx *q, const char *cf, json_t *declared)
{
	static const char *const known[] = {"surname", "name", "sex", "birth_date", "birth_place",
					    "residence", "household", "citizenship", "civil_status",
					    "alive", "father", "mother", NULL};
	if (!json_is_object(declared) || json_object_size(declared) == 0) {
		q->message = "il campo \"declared\" deve essere un oggetto con almeno un fatto";
		return QUERY_INVALID;
	}
	const char *key;
	json_t *val;
	json_object_foreach(declared, key, val) {
		bool ok = false;
		for (const char *const *k = known; *k; k++)
			ok = ok || !strcmp(*k, key);
		if (!ok) {
			q->message = "il campo \"declared\" contiene un fatto sconosciuto";
			return QUERY_INVALID;
		}
	}
	/* Each fact has one JSON type; anything else is refused, not "mismatch". */
	json_object_foreach(declared, key, val) {
		bool ok;
		if (!strcmp(key, "residence"))
			ok = json_is_object(val);
		else if (!strcmp(key, "household"))
			ok = json_is_array(val) && json_array_size(val) <= 64;
		else if (!strcmp(key, "alive"))
			ok = json_is_boolean(val);
		else
			ok = json_is_string(val) && json_string_length(val) <= 100;
		if (ok && !strcmp(key, "household")) {
			size_t i;
			json_t *m;
			json_array_foreach(val, i, m)
				ok = ok && json_is_string(m) && json_string_length(m) <= CF_TYPED_MAX;
		}
		if (ok && !strcmp(key, "residence")) {
			json_t *cm = json_object_get(val, "comune"), *st = json_object_get(val, "street");
			json_t *cv = json_object_get(val, "civic");
			ok = json_is_string(cm) && json_is_string(st) && (!cv || json_is_integer(cv));
		}
		if (!ok) {
			q->message = "un fatto dichiarato ha il tipo sbagliato (vedere docs/api.md)";
			return QUERY_INVALID;
		}
	}
	struct store_person p;
	enum query_status st = find_person(q, cf, &p);
	if (st != QUERY_OK)
		return st;
	add_subject(q, p.cf);
	json_t *facts = json_object();
	json_object_foreach(declared, key, val) {
		const char *sv = json_string_value(val);
		bool id = sees(q, FIELD_IDENTITY);
		if (!strcmp(key, "surname"))
			fact(facts, key, id, sv && same_text(sv, p.surname));
		else if (!strcmp(key, "name"))
			fact(facts, key, id, sv && same_text(sv, p.name));
		else if (!strcmp(key, "sex"))
			fact(facts, key, id, sv && strlen(sv) == 1 && sv[0] == p.sex);
		else if (!strcmp(key, "birth_date")) {
			int d;
			fact(facts, key, id, sv && date_parse(sv, strlen(sv), &d) && d == p.birth_date);
		} else if (!strcmp(key, "birth_place"))
			fact(facts, key, id, sv && !strcmp(sv, p.birth_place));
		else if (!strcmp(key, "residence"))
			fact(facts, key, sees(q, FIELD_RESIDENCE),
			     sees(q, FIELD_RESIDENCE) && residence_matches(q, &p, val));
		else if (!strcmp(key, "household"))
			fact(facts, key, sees(q, FIELD_HOUSEHOLD),
			     sees(q, FIELD_HOUSEHOLD) && household_matches(q, &p, val));
		else if (!strcmp(key, "citizenship"))
			fact(facts, key, sees(q, FIELD_CITIZENSHIP), sv && has_code(p.citizenships, sv));
		else if (!strcmp(key, "civil_status"))
			fact(facts, key, sees(q, FIELD_CIVIL_STATUS), sv && civil_matches(p.civil_status, sv));
		else if (!strcmp(key, "alive")) {
			struct store_person later;
			const struct store_person *c = NULL;
			if (sees(q, FIELD_VITAL_STATUS))
				c = cancellation(q, &p, &later);
			bool dead = c && is_death(c);
			fact(facts, key, sees(q, FIELD_VITAL_STATUS), json_is_boolean(val) &&
			     json_is_true(val) == !dead);
		} else if (!strcmp(key, "father") || !strcmp(key, "mother")) {
			const char *parent = key[0] == 'f' ? p.father_cf : p.mother_cf;
			char typed[CF_LEN + 1];
			bool match = sees(q, FIELD_PARENTAGE) && sv && parent[0] &&
				     cf_normalize(sv, typed) && !strcmp(typed, parent);
			fact(facts, key, sees(q, FIELD_PARENTAGE), match);
			if (match) /* the parent is confirmed: named by the answer */
				add_subject(q, parent);
		}
	}
	if (q->err.code) {
		json_decref(facts);
		return settle(q);
	}
	q->body = json_pack("{s:o,s:o}", "facts", facts, "as_of", date_json(q->as_of));
	return QUERY_OK;
}

enum query_status query_verify(struct query_ctx *q, const char *cf, json_t *declared)
{
	store_read_begin(q->s);
	enum query_status st = verify_in(q, cf, declared);
	store_read_end(q->s);
	return st;
}
