#include "audit/export.h"

#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "common/date.h"

const char audit_export_csv_header[] =
	"id,at,at_ms,account_id,username,ente_id,purpose_id,case_ref,on_behalf_of,ip,operation,"
	"query,subjects,categories,outcome,status,flags,prev_hash,hash\n";

bool audit_export_csv_row(struct strbuf *sb, const struct store_access *a)
{
	char num[6][24], at[21];
	timestamp_format(a->at / 1000, at);
	snprintf(num[0], sizeof num[0], "%lld", (long long)a->id);
	snprintf(num[1], sizeof num[1], "%lld", (long long)a->at);
	snprintf(num[2], sizeof num[2], "%lld", (long long)a->account_id);
	snprintf(num[3], sizeof num[3], "%lld", (long long)a->ente_id);
	snprintf(num[4], sizeof num[4], "%lld", (long long)a->purpose_id);
	snprintf(num[5], sizeof num[5], "%d", a->status);
	const char *f[] = {num[0], at, num[1], num[2], a->username, num[3], num[4], a->case_ref,
			   a->on_behalf_of, a->ip, a->operation, a->query,
			   a->subjects ? a->subjects : "", a->categories, a->outcome, num[5],
			   a->flags, a->prev_hash, a->hash};
	size_t nf = sizeof f / sizeof f[0];
	for (size_t i = 0; i < nf; i++)
		strbuf_add_csv(sb, f[i], i == nf - 1);
	return !sb->err;
}

/* ---- the bundle ---- */

#define B64 sodium_base64_VARIANT_ORIGINAL

static json_t *record_json(const struct store_access *a)
{
	return json_pack("{s:I,s:I,s:I,s:s,s:I,s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,"
			 "s:s,s:s,s:s,s:s}",
			 "id", (json_int_t)a->id, "at", (json_int_t)a->at,
			 "account_id", (json_int_t)a->account_id, "username", a->username,
			 "ente_id", (json_int_t)a->ente_id,
			 "convenzione_id", (json_int_t)a->convenzione_id,
			 "purpose_id", (json_int_t)a->purpose_id, "case_ref", a->case_ref,
			 "on_behalf_of", a->on_behalf_of, "ip", a->ip, "operation", a->operation,
			 "query", a->query, "subjects", a->subjects ? a->subjects : "",
			 "categories", a->categories, "outcome", a->outcome, "status", a->status,
			 "flags",
			 a->flags, "workstation", a->workstation, "prev_hash", a->prev_hash,
			 "hash", a->hash);
}

struct bundle_walk {
	json_t *records;     /* record objects, in id order */
	int64_t min, max, limit;
	bool range, failed;
};

/* The search: every match (a selection by person), or only its bounds. */
static int bundle_match(void *ctx, const struct store_access *a)
{
	struct bundle_walk *w = ctx;
	if (a->id > w->limit)
		return 1;
	if (!w->min)
		w->min = a->id;
	w->max = a->id;
	if (!w->range) {
		json_t *o = record_json(a);
		if (!o || json_array_append_new(w->records, o)) {
			w->failed = true;
			return 1;
		}
	}
	return 0;
}

/* The range: every record from the first match to the last. */
static int bundle_range(void *ctx, const struct store_access *a)
{
	struct bundle_walk *w = ctx;
	if (a->id > w->max)
		return 1;
	json_t *o = record_json(a);
	if (!o || json_array_append_new(w->records, o)) {
		w->failed = true;
		return 1;
	}
	return 0;
}

static json_t *hash_b64(const uint8_t h[MERKLE_HASH])
{
	char b64[sodium_base64_ENCODED_LEN(MERKLE_HASH, B64)];
	sodium_bin2base64(b64, sizeof b64, h, MERKLE_HASH, B64);
	return json_string(b64);
}

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

vis_err audit_bundle_write(struct store *s, const struct audit_bundle_query *q, FILE *out,
			   int64_t *n, struct vis_error *e)
{
	static _Thread_local struct store_head h;
	static _Thread_local struct checkpoint head;
	bool found;
	uint8_t pk[32];
	*n = 0;
	if (store_head_last(s, &h, &found, e))
		return VIS_ERR_STORE;
	if (!found)
		return vis_error_set(e, VIS_ERR_NOTFOUND, "il registro degli accessi non ha ancora "
							  "una testa firmata");
	const char *why = checkpoint_parse(&head, h.note, strlen(h.note));
	if (why || !audit_public_key(s, pk))
		return vis_error_set(e, VIS_ERR_INVALID, "l'ultima testa firmata: %s",
				     why ? why : "nessuna chiave pubblica");
	struct bundle_walk w = {.records = json_array(), .limit = (int64_t)head.size,
				.range = !q->filter.cf[0] && !q->filter.account_id &&
					 !q->filter.ente_id && !q->filter.purpose_id};
	if (!w.records)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	vis_err rc = VIS_OK;
	json_t *doc = NULL;
	if (store_access_search(s, &q->filter, bundle_match, &w, e) ||
	    (w.range && w.min && store_access_each(s, w.min, bundle_range, &w, e))) {
		rc = VIS_ERR_STORE;
		goto done;
	}
	if (w.failed) {
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
		goto done;
	}
	size_t i;
	json_t *r;
	json_array_foreach(w.records, i, r) {
		int64_t id = json_integer_value(json_object_get(r, "id"));
		uint8_t leaf[MERKLE_HASH], proof[MERKLE_PROOF_MAX][MERKLE_HASH];
		int len;
		if (audit_tree_inclusion(s, (uint64_t)id - 1, head.size, leaf, proof, &len, e)) {
			rc = VIS_ERR_STORE;
			goto done;
		}
		char hex[65];
		sodium_bin2hex(hex, sizeof hex, leaf, MERKLE_HASH);
		json_t *pr = json_array();
		for (int k = 0; k < len; k++)
			json_array_append_new(pr, hash_b64(proof[k]));
		json_t *entry = json_pack("{s:I,s:s,s:o,s:O}", "index", (json_int_t)(id - 1),
					  "leaf", hex, "proof", pr, "record", r);
		if (!entry || json_array_set_new(w.records, i, entry)) {
			rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
			goto done;
		}
	}
	char pkhex[65];
	sodium_bin2hex(pkhex, sizeof pkhex, pk, sizeof pk);
	json_t *range = w.range && w.min ? json_pack("{s:I,s:I}", "first", (json_int_t)w.min,
						     "last", (json_int_t)w.max)
					 : json_null();
	doc = json_pack("{s:s,s:s,s:s,s:s,s:{s:o,s:o,s:o},s:o,s:O}", "format",
			AUDIT_BUNDLE_FORMAT, "origin", head.origin, "public_key", pkhex, "head",
			h.note, "selection", "from", str_or_null(q->from), "to", str_or_null(q->to),
			"cf", str_or_null(q->filter.cf), "range", range, "records", w.records);
	if (!doc || json_dumpf(doc, out, JSON_INDENT(1) | JSON_ENSURE_ASCII) || fputc('\n', out) == EOF) {
		rc = vis_error_set(e, VIS_ERR_IO, "il pacchetto non si può scrivere");
		goto done;
	}
	*n = (int64_t)json_array_size(w.records);
done:
	json_decref(doc);
	json_decref(w.records);
	return rc;
}

/* ---- verification ---- */

static bool fail(struct audit_bundle_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static bool fail(struct audit_bundle_result *res, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res->why, sizeof res->why, fmt, ap);
	va_end(ap);
	return false;
}

/* A text field of a record: present, a string, fitting. */
static bool text_field(json_t *o, const char *name, char *dst, size_t cap)
{
	json_t *v = json_object_get(o, name);
	return json_is_string(v) && str_copy(dst, cap, json_string_value(v));
}

static bool int_field(json_t *o, const char *name, int64_t *out)
{
	json_t *v = json_object_get(o, name);
	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return true;
}

static bool record_of(json_t *o, struct store_access *a)
{
	int64_t status;
	memset(a, 0, sizeof *a);
	json_t *subj = json_object_get(o, "subjects");
	if (!json_is_object(o) || !json_is_string(subj) || json_object_size(o) != 20)
		return false;
	a->subjects = json_string_value(subj);
	if (!int_field(o, "id", &a->id) || !int_field(o, "at", &a->at) ||
	    !int_field(o, "account_id", &a->account_id) ||
	    !int_field(o, "ente_id", &a->ente_id) ||
	    !int_field(o, "convenzione_id", &a->convenzione_id) ||
	    !int_field(o, "purpose_id", &a->purpose_id) || !int_field(o, "status", &status) ||
	    status < 0 || status > 999)
		return false;
	a->status = (int)status;
#define TEXT(f) text_field(o, #f, a->f, sizeof a->f)
	return TEXT(username) && TEXT(case_ref) && TEXT(on_behalf_of) && TEXT(ip) &&
	       TEXT(operation) && TEXT(query) && TEXT(categories) && TEXT(outcome) &&
	       TEXT(flags) && TEXT(workstation) && TEXT(prev_hash) && TEXT(hash);
#undef TEXT
}

static bool hex_leaf(json_t *v, uint8_t out[MERKLE_HASH])
{
	size_t n;
	const char *s = json_string_value(v);
	return s && strlen(s) == 64 &&
	       !sodium_hex2bin(out, MERKLE_HASH, s, 64, NULL, &n, NULL) && n == MERKLE_HASH;
}

static bool proof_of(json_t *v, uint8_t proof[][MERKLE_HASH], int *len)
{
	size_t i, n;
	json_t *x;
	if (!json_is_array(v) || json_array_size(v) > MERKLE_PROOF_MAX)
		return false;
	json_array_foreach(v, i, x) {
		const char *s = json_string_value(x);
		if (!s || sodium_base642bin(proof[i], MERKLE_HASH, s, strlen(s), NULL, &n, NULL, B64) ||
		    n != MERKLE_HASH)
			return false;
	}
	*len = (int)json_array_size(v);
	return true;
}

static bool bundle_check(json_t *doc, const uint8_t pk[32], struct audit_bundle_result *res)
{
	json_t *fmt = json_object_get(doc, "format");
	if (!json_is_string(fmt) || strcmp(json_string_value(fmt), AUDIT_BUNDLE_FORMAT))
		return fail(res, "non è un pacchetto di esportazione di "
				 "visura (%s)", AUDIT_BUNDLE_FORMAT);
	const char *note = json_string_value(json_object_get(doc, "head"));
	json_t *records = json_object_get(doc, "records"), *range = json_object_get(doc, "range");
	if (!note || !json_is_array(records) || !(json_is_null(range) || json_is_object(range)))
		return fail(res, "non è un pacchetto di esportazione di visura: testa, intervallo "
				 "o registrazioni malformati");
	const char *why = checkpoint_parse(&res->head, note, strlen(note));
	if (why)
		return fail(res, "la testa del pacchetto è malformata: %s", why);
	if ((why = checkpoint_verify(&res->head, pk)))
		return fail(res, "la testa del pacchetto non è firmata da questa chiave: viene da "
				 "un'altra installazione, o è stata alterata (%s)", why);
	if (json_is_object(range) &&
	    (!int_field(range, "first", &res->first) || !int_field(range, "last", &res->last) ||
	     res->first < 1 || res->last < res->first))
		return fail(res, "l'intervallo del pacchetto è malformato");
	size_t i;
	json_t *entry;
	int64_t expect = res->first;
	char prev[65] = "";
	json_array_foreach(records, i, entry) {
		static _Thread_local struct store_access a;
		uint8_t leaf[MERKLE_HASH], mine[MERKLE_HASH], proof[MERKLE_PROOF_MAX][MERKLE_HASH];
		int64_t index;
		int len;
		char h[65];
		if (!json_is_object(entry) || !int_field(entry, "index", &index) ||
		    !hex_leaf(json_object_get(entry, "leaf"), leaf) ||
		    !proof_of(json_object_get(entry, "proof"), proof, &len) ||
		    !record_of(json_object_get(entry, "record"), &a) || index != a.id - 1 || a.id < 1)
			return fail(res, "la voce %zu del pacchetto è malformata", i + 1);
		if (res->first && a.id != expect)
			return fail(res, "la registrazione %lld manca dall'intervallo esportato "
					 "(registrazioni da %lld a %lld)",
					 (long long)(a.id > expect ? expect : a.id),
				    (long long)res->first, (long long)res->last);
		if (res->first && a.id > res->first && strcmp(a.prev_hash, prev))
			return fail(res, "la registrazione %lld non segue la %lld nella catena: "
					 "l'intervallo è "
					 "stato alterato", (long long)a.id, (long long)a.id - 1);
		audit_leaf_hash(&a, mine);
		audit_hash(&a, a.prev_hash, h);
		if (memcmp(mine, leaf, MERKLE_HASH) || strcmp(h, a.hash))
			return fail(res, "la registrazione %lld è stata alterata: il suo contenuto "
					 "non corrisponde alla sua foglia", (long long)a.id);
		if ((uint64_t)index >= res->head.size)
			return fail(res, "la registrazione %lld è oltre le %llu registrazioni "
					 "della testa",
				    (long long)a.id, (unsigned long long)res->head.size);
		if (!merkle_inclusion_verify(leaf, (uint64_t)index, res->head.size,
					     (const uint8_t(*)[MERKLE_HASH])proof, len,
					     res->head.root))
			return fail(res, "la prova di inclusione della registrazione %lld non "
					 "porta alla radice della testa: una prova rispetto a "
					 "un'altra testa, o la foglia o la prova della "
					 "registrazione sono state alterate", (long long)a.id);
		memcpy(prev, a.hash, sizeof prev);
		expect = a.id + 1;
		res->records++;
	}
	if (res->first && expect != res->last + 1)
		return fail(res, "la registrazione %lld manca dall'intervallo esportato "
				 "(registrazioni da %lld a %lld)",
				 (long long)expect, (long long)res->first, (long long)res->last);
	return true;
}

bool audit_bundle_verify(const char *text, size_t len, const uint8_t pk[32],
			 struct audit_bundle_result *res)
{
	memset(res, 0, sizeof *res);
	json_error_t err;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	if (!doc)
		return fail(res, "non è un pacchetto di esportazione di visura: JSON non valido "
				 "alla riga %d: %s", err.line,
			    err.text);
	bool ok = json_is_object(doc) && bundle_check(doc, pk, res);
	if (json_is_object(doc) == false)
		fail(res, "non è un pacchetto di esportazione di visura: non è un oggetto JSON");
	json_decref(doc);
	return ok;
}
