/* Handlers of the registry office's PDND purposes (/api/v1/pdnd/purposes):
 * which PDND purpose (a voucher's purposeId) stands for which visura
 * purpose and API account.  The rules are pdnd/pdnd.h's, shared with
 * `visura pdnd`. */
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

void api_pdnd_purposes_list(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	const struct store_filter none[] = {{NULL, NULL, 0}};
	api_reply_list(r, s, STORE_PDND_PURPOSE, none, 0, "purposes", mapping_view);
}

void api_pdnd_purpose_map(struct http_request *r)
{
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
