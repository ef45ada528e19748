#include "audit/audit.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* Field separator of the canonical encoding: never present in a field
 * (the fields are validated text without control characters). */
#define SEP "\x1f"

void audit_hash(const struct store_access *a, const char *prev_hash, char out[65])
{
	crypto_hash_sha256_state st;
	char num[160];
	unsigned char d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_init(&st);
	snprintf(num, sizeof num, "visura-access-v1" SEP "%lld" SEP "%lld" SEP "%lld" SEP "%lld"
		 SEP "%lld" SEP "%lld" SEP "%d" SEP, (long long)a->id, (long long)a->at,
		 (long long)a->account_id, (long long)a->ente_id, (long long)a->convenzione_id,
		 (long long)a->purpose_id, a->status);
	crypto_hash_sha256_update(&st, (const unsigned char *)prev_hash, strlen(prev_hash));
	crypto_hash_sha256_update(&st, (const unsigned char *)SEP, 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)num, strlen(num));
	const char *text[] = {a->username, a->case_ref, a->on_behalf_of, a->ip, a->operation,
			      a->query, a->subjects, a->categories, a->outcome};
	for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
		crypto_hash_sha256_update(&st, (const unsigned char *)text[i], strlen(text[i]));
		crypto_hash_sha256_update(&st, (const unsigned char *)SEP, 1);
	}
	crypto_hash_sha256_final(&st, d);
	sodium_bin2hex(out, 65, d, sizeof d);
}

vis_err audit_append(struct store *s, struct store_access *rec, struct vis_error *e)
{
	int64_t last_id;
	if (store_begin(s, e))
		return VIS_ERR_STORE;
	if (store_access_last(s, &last_id, rec->prev_hash, e))
		goto fail;
	rec->id = last_id + 1;
	audit_hash(rec, rec->prev_hash, rec->hash);
	if (store_access_insert(s, rec, e) || store_commit(s, e))
		goto fail;
	return VIS_OK;
fail:
	store_rollback(s);
	return e && e->code ? e->code : VIS_ERR_STORE;
}

struct walk {
	struct audit_verify_result *res;
	char prev[65];
	int64_t expect_id;
};

static int check(void *ctx, const struct store_access *a)
{
	struct walk *w = ctx;
	char h[65];
	w->res->checked++;
	if (a->id != w->expect_id) {
		snprintf(w->res->why, sizeof w->res->why,
			 "record %lld follows record %lld: records are missing or reordered",
			 (long long)a->id, (long long)w->expect_id - 1);
	} else if (strcmp(a->prev_hash, w->prev)) {
		snprintf(w->res->why, sizeof w->res->why,
			 "record %lld does not point at its predecessor's hash", (long long)a->id);
	} else {
		audit_hash(a, a->prev_hash, h);
		if (strcmp(h, a->hash))
			snprintf(w->res->why, sizeof w->res->why,
				 "record %lld was altered: its content does not match its hash",
				 (long long)a->id);
	}
	if (w->res->why[0]) {
		w->res->first_bad_id = a->id;
		return 1;
	}
	memcpy(w->prev, a->hash, sizeof w->prev);
	w->expect_id = a->id + 1;
	return 0;
}

vis_err audit_verify(struct store *s, struct audit_verify_result *res, struct vis_error *e)
{
	memset(res, 0, sizeof *res);
	struct walk w = {.res = res, .expect_id = 1};
	return store_access_each(s, 1, check, &w, e);
}
