/* Handlers of the registry office's PDND purposes (/api/v1/pdnd/purposes):
 * which PDND purpose (a voucher's purposeId) stands for which visura
 * purpose and API account; and of the bodies' client keys
 * (/api/v1/pdnd/keys): registered, listed, revoked.  The rules are
 * pdnd/pdnd.h's, shared with `visura pdnd`. */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "app/app.h"
#include "auth/auth.h"
#include "pdnd/pdnd.h"

static json_t *mapping_json(const struct store_pdnd_purpose *m)
{
	return json_pack("{s:I,s:s,s:s,s:I,s:I,s:o,s:o}", "id", (json_int_t)m->id,
			 "pdnd_purpose", m->pdnd_purpose, "client_id", m->client_id, "purpose_id",
			 (json_int_t)m->purpose_id, "account_id", (json_int_t)m->account_id,
			 "created_at", api_time(m->created_at), "revoked_at",
			 api_time(m->revoked_at));
}

static json_t *mapping_view(const void *rec)
{
	return mapping_json(rec);
}

/* GET /.well-known/jwks.json: the key that signs answers to PDND calls
 * (INTEGRITY_REST_02), public; 404 when pdnd_signing_key is not set. */
void api_pdnd_jwks(struct http_request *r)
{
	if (!r->app->signer) {
		http_reply_error(r, 404, "not_found",
				 "nessuna chiave di firma è pubblicata (pdnd_signing_key)");
		return;
	}
	size_t len;
	const char *doc = pdnd_signer_jwks(r->app->signer, &len);
	http_reply_static(r, 200, "application/json", doc, len);
}

/* Every record of a kind, newest first. */
static void list_all(struct http_request *r, enum store_kind kind, const char *key,
		     json_t *(*view)(const void *rec))
{
	struct store *s = api_store(r);
	if (!s)
		return;
	const struct store_filter none[] = {{NULL, NULL, 0}};
	api_reply_list(r, s, kind, none, 0, key, view);
}

void api_pdnd_purposes_list(struct http_request *r)
{
	list_all(r, STORE_PDND_PURPOSE, "purposes", mapping_view);
}

void api_pdnd_purpose_map(struct http_request *r)
{
	static const char *const fields[] = {"pdnd_purpose", "client_id", "username", "purpose_id", NULL};
	if (!api_body_members(r, fields))
		return;
	json_t *b = http_body_object(r);
	if (!b)
		return;
	struct store *s = api_store(r);
	if (!s)
		return;
	const char *pdnd = json_string_value(json_object_get(b, "pdnd_purpose"));
	const char *client = json_string_value(json_object_get(b, "client_id"));
	const char *user = json_string_value(json_object_get(b, "username"));
	json_t *pid = json_object_get(b, "purpose_id");
	if (!pdnd || !client || !user || !json_is_integer(pid)) {
		http_reply_error(r, 400, "invalid_request",
				 "servono i campi \"pdnd_purpose\", \"client_id\", \"username\" (testi) e "
				 "\"purpose_id\" (un numero)");
		return;
	}
	struct store_pdnd_purpose m;
	struct vis_error e = {0};
	int64_t now = api_now(r);
	vis_err rc = pdnd_purpose_map(s, pdnd, client, json_integer_value(pid), user, now, &m, &e);
	if (rc) {
		api_reply_refusal(r, rc, &e);
		return;
	}
	auth_event(s, now, "pdnd_purpose_mapped", &r->auth->account, NULL, r->ip, m.pdnd_purpose);
	http_reply_json(r, 201, mapping_json(&m));
}

void api_pdnd_purpose_unmap(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	const char *pdnd = r->params[0];
	struct vis_error e = {0};
	int64_t now = api_now(r);
	struct store_pdnd_purpose m;
	bool found = false;
	if (!pdnd_id_valid(pdnd) || pdnd_purpose_find(s, pdnd, &m, &found, &e) || !found) {
		if (e.code)
			api_fail(r, &e);
		else
			http_reply_error(r, 404, "not_found",
					 "questa finalità PDND non è registrata");
		return;
	}
	vis_err rc = pdnd_purpose_unmap(s, pdnd, now, &e);
	if (rc) {
		api_reply_refusal(r, rc, &e);
		return;
	}
	m.revoked_at = now;
	auth_event(s, now, "pdnd_purpose_unmapped", &r->auth->account, NULL, r->ip, m.pdnd_purpose);
	http_reply_json(r, 200, mapping_json(&m));
}

/* ---- the bodies' client keys ---- */

static json_t *key_json(const struct store_pdnd_key *k)
{
	return json_pack("{s:I,s:I,s:s,s:o,s:o,s:o}", "id", (json_int_t)k->id, "ente_id",
			 (json_int_t)k->ente_id, "kid", k->kid, "jwk",
			 json_loads(k->jwk, JSON_REJECT_DUPLICATES, NULL), "created_at",
			 api_time(k->created_at), "revoked_at", api_time(k->revoked_at));
}

static json_t *key_view(const void *rec)
{
	return key_json(rec);
}

void api_pdnd_keys_list(struct http_request *r)
{
	list_all(r, STORE_PDND_KEY, "keys", key_view);
}

void api_pdnd_key_add(struct http_request *r)
{
	static const char *const fields[] = {"ente_id", "jwk", NULL};
	if (!api_body_members(r, fields))
		return;
	json_t *b = http_body_object(r);
	if (!b)
		return;
	struct store *s = api_store(r);
	if (!s)
		return;
	json_t *ente = json_object_get(b, "ente_id");
	json_t *jwk = json_object_get(b, "jwk");
	char *text = json_is_object(jwk) ? json_dumps(jwk, JSON_COMPACT) : NULL;
	if (!json_is_integer(ente) || !text) {
		free(text);
		http_reply_error(r, 400, "invalid_request",
				 "servono i campi \"ente_id\" (un numero) e \"jwk\" (la chiave pubblica, "
				 "un oggetto JWK)");
		return;
	}
	struct store_pdnd_key k;
	struct vis_error e = {0};
	int64_t now = api_now(r);
	vis_err rc = pdnd_key_add(s, json_integer_value(ente), text, now, &k, &e);
	free(text);
	if (rc) {
		api_reply_refusal(r, rc, &e);
		return;
	}
	auth_event(s, now, "pdnd_key_added", &r->auth->account, NULL, r->ip, k.kid);
	http_reply_json(r, 201, key_json(&k));
}

void api_pdnd_key_revoke(struct http_request *r)
{
	int64_t id = api_param_id(r, 0);
	if (!id)
		return;
	struct store *s = api_store(r);
	if (!s)
		return;
	struct store_pdnd_key k;
	struct vis_error e = {0};
	int64_t now = api_now(r);
	vis_err rc = pdnd_key_revoke(s, id, now, &k, &e);
	if (rc) {
		api_reply_refusal(r, rc, &e);
		return;
	}
	auth_event(s, now, "pdnd_key_revoked", &r->auth->account, NULL, r->ip, k.kid);
	http_reply_json(r, 200, key_json(&k));
}
