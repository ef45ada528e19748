/* The SPID/CIE relying party (oidc.h).  The JOSE work — signatures,
 * keys, base64url — is libjose's. */
#define _GNU_SOURCE /* asprintf */
#include "oidc/oidc.h"
#include "oidc/internal.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jose/b64.h>
#include <jose/jwk.h>
#include <jose/jws.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/fsmode.h"
#include "common/str.h"
#include "jwks/jwks.h"
#include "net/outbound.h"
#include "pdnd/pdnd.h"

#define ANSWER_MAX (64u << 10)
#define TOKEN_MAX (16u << 10)
#define ACR_PREFIX "https://www.spid.gov.it/SpidL"

/* ---- keys ---- */

json_t *oidc_public_sig_keys(const json_t *jwks)
{
	json_t *keys = json_array();
	size_t i;
	json_t *k;
	json_array_foreach(json_object_get(jwks, "keys"), i, k) {
		const char *kid = json_string_value(json_object_get(k, "kid"));
		if (!kid || !*kid || !jwks_key_signs(k, "RS256 ES256"))
			continue;
		json_array_append(keys, k);
	}
	return keys;
}

/* A new key of ours (rp_key_ensure says which), in memory; NULL with e
 * set when it cannot be made. */
static json_t *rp_key_make(const char *opt, bool enc, struct vis_error *e)
{
	json_t *k = enc ? json_pack("{s:s,s:i}", "kty", "RSA", "bits", 4096)
			: json_pack("{s:s}", "alg", "ES256");
	unsigned char thp[32];
	char kid[64];
	if (!k || !jose_jwk_gen(NULL, k) ||
	    jose_jwk_thp_buf(NULL, k, "S256", thp, sizeof thp) != sizeof thp ||
	    jose_b64_enc_buf(thp, sizeof thp, kid, sizeof kid) == SIZE_MAX) {
		json_decref(k);
		vis_error_set(e, VIS_ERR_INTERNAL, "%s: impossibile fare una chiave", opt);
		return NULL;
	}
	kid[43] = '\0';
	json_object_set_new(k, "kid", json_string(kid));
	json_object_set_new(k, "use", json_string(enc ? "enc" : "sig"));
	if (enc)
		json_object_set_new(k, "alg", json_string("RSA-OAEP-256"));
	return k;
}

/* One of our keys: read, or made (0600) when the file does not exist.
 * opt names the option in messages; enc: the RSA key of the encrypted
 * userinfo (RSA-OAEP-256, 4096 bits, the size the profile recommends),
 * else the signing key (ES256). */
static json_t *rp_key_ensure(const char *path, const char *opt, bool enc, struct vis_error *e)
{
	json_t *k = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
	if (k) {
		const char *kty = json_string_value(json_object_get(k, "kty"));
		size_t nbytes = enc ? jose_b64_dec(json_object_get(k, "n"), NULL, 0) : 0;
		if (!json_is_string(json_object_get(k, "d")) ||
		    !json_is_string(json_object_get(k, "kid")) ||
		    (enc && (!kty || strcmp(kty, "RSA") || nbytes == SIZE_MAX || nbytes < 256))) {
			json_decref(k);
			vis_error_set(e, VIS_ERR_INVALID, "%s: '%s' non è una JWK privata %scon un kid",
				      opt, path, enc ? "RSA (2048 bit o più) " : "");
			return NULL;
		}
		return k;
	}
	if (access(path, F_OK) == 0) {
		vis_error_set(e, VIS_ERR_INVALID, "%s: '%s' non è JSON", opt, path);
		return NULL;
	}
	k = rp_key_make(opt, enc, e);
	if (!k)
		return NULL;
	char *text = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	bool ok = text && fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	if (fd >= 0 && close(fd))
		ok = false;
	free(text);
	if (!ok) {
		json_decref(k);
		vis_error_set(e, VIS_ERR_IO, "%s: impossibile "
					     "scrivere '%s': %s", opt, path, strerror(errno));
		return NULL;
	}
	return k;
}

static bool kid_copy(char *dst, size_t cap, const json_t *key)
{
	return str_copy(dst, cap, json_string_value(json_object_get(key, "kid")));
}

/* The federation key rotated away (oidc_federation_key_rotate): PATH
 * + ".previous", {"key": its public JWK, "until": epoch}, published
 * beside the current one until then.  None: nothing. */
static vis_err fed_previous_read(struct oidc *o, const char *fed_key_path, struct vis_error *e)
{
	char path[CONFIG_PATH_MAX + 16];
	if (snprintf(path, sizeof path, "%s.previous", fed_key_path) >= (int)sizeof path)
		return vis_error_set(e, VIS_ERR_INVALID, "oidc_federation_key: percorso troppo "
							 "lungo");
	if (access(path, F_OK) != 0)
		return VIS_OK;
	json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
	json_t *key = json_object_get(doc, "key"), *until = json_object_get(doc, "until");
	if (!json_is_object(key) || json_object_get(key, "d") ||
	    !json_is_string(json_object_get(key, "kid")) || !json_is_integer(until)) {
		json_decref(doc);
		return vis_error_set(e, VIS_ERR_INVALID,
				     "oidc_federation_key: '%s' non è {\"key\": una JWK pubblica "
				     "con un kid, \"until\": un istante epoch}", path);
	}
	o->fed_prev = json_incref(key);
	o->fed_prev_until = json_integer_value(until);
	json_decref(doc);
	return VIS_OK;
}

vis_err oidc_federation_key_rotate(const char *path, int64_t now, int64_t grace,
				   char old_kid[64], char new_kid[64], struct vis_error *e)
{
	char prev[CONFIG_PATH_MAX + 16];
	/* Both are replaced below: refused before anything is read or made
	 * (reading a FIFO would wait for ever). */
	vis_err rc = STR_FMT_SET(prev, "oidc_federation_key: percorso troppo lungo", e,
				 "%s.previous", path);
	if (!rc)
		rc = fsmode_replaceable(path, "oidc_federation_key", e);
	if (!rc)
		rc = fsmode_replaceable(prev, "oidc_federation_key", e);
	if (rc)
		return rc;
	json_t *old = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_string(json_object_get(old, "d")) ||
	    !kid_copy(old_kid, 64, old)) {
		json_decref(old);
		return vis_error_set(e, VIS_ERR_INVALID, "oidc_federation_key: '%s' non è una JWK "
							 "privata con un kid (il relying party è "
							 "configurato? `visura serve` fa la chiave "
							 "al primo avvio)", path);
	}
	json_t *made = rp_key_make("oidc_federation_key", false, e);
	json_t *pub = json_deep_copy(old);
	json_decref(old);
	if (!made || !pub || !jose_jwk_pub(NULL, pub)) {
		json_decref(made);
		json_decref(pub);
		return e->code ? e->code : vis_error_set(e, VIS_ERR_INTERNAL, "impossibile fare "
									      "una chiave");
	}
	bool kid_ok = kid_copy(new_kid, 64, made);
	char *key = json_dumps(made, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(made);
	json_t *doc = json_pack("{s:o,s:I}", "key", pub, "until", (json_int_t)(now + grace));
	char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(doc);
	/* The old key's public half kept first, then the new key in place;
	 * each written to a new temporary beside it, synced, renamed. */
	if (!kid_ok || !key || !text)
		rc = vis_error_set(e, VIS_ERR_NOMEM, "oidc_federation_key: memoria esaurita");
	if (!rc)
		rc = fsmode_write_replace(prev, "tmp", text, strlen(text), 0600, false,
					  "oidc_federation_key", e);
	if (!rc)
		rc = fsmode_write_replace(path, "next", key, strlen(key), 0600, false,
					  "oidc_federation_key", e);
	if (key)
		sodium_memzero(key, strlen(key));
	free(key);
	free(text);
	return rc;
}


/* The provider configured by hand: its endpoints never expire; its keys
 * are o->op_keys (jwks.h: a file or an address, refreshed). */
static json_t *op_by_hand(const struct config *cfg)
{
	return json_pack("{s:s,s:s,s:s}", "authorization_endpoint",
			 cfg->oidc_authorization_endpoint, "token_endpoint", cfg->oidc_token_endpoint,
			 "userinfo_endpoint", cfg->oidc_userinfo_endpoint);
}

vis_err oidc_open(const struct config *cfg, const char *key_path, const char *enc_key_path,
		  const char *fed_key_path,
		  const char *log_dir, struct oidc **out, struct vis_error *e)
{
	*out = NULL;
	struct oidc *o = calloc(1, sizeof *o);
	if (!o)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	o->cfg = cfg;
	pthread_mutex_init(&o->log_lock, NULL);
	pthread_mutex_init(&o->op_lock, NULL);
	pthread_cond_init(&o->op_done, NULL);
	if (!STR_COPY(o->log_dir, log_dir)) {
		oidc_free(o);
		return vis_error_set(e, VIS_ERR_INVALID, "oidc_log_dir: percorso troppo lungo");
	}
	if (mkdir(log_dir, 0700) && errno != EEXIST) {
		vis_error_set(e, VIS_ERR_IO, "oidc_log_dir: impossibile creare '%s': %s", log_dir,
			      strerror(errno));
		oidc_free(o);
		return e->code;
	}
	if (cfg->oidc_trust_anchor[0]) {
		/* The anchor's keys are a file the operator edits at a rotation:
		 * read again on SIGHUP, and when a statement names a kid not held
		 * and the file is another than the one read (jwks.h). */
		struct jwks_source src = {
			.name = "oidc_trust_anchor_jwks", .path = cfg->oidc_trust_anchor_jwks,
			.url = "", .ca_file = "", .algs = "RS256 ES256",
			.refresh = cfg->oidc_jwks_refresh,
			.kid_interval = cfg->jwks_unknown_kid_interval};
		if (jwks_open(&src, &o->ta_keys, e)) {
			oidc_free(o);
			return e->code;
		}
	} else {
		bool url = cfg->oidc_jwks_url[0] != '\0';
		struct jwks_source src = {
			.name = url ? "oidc_jwks_url" : "oidc_jwks", .path = cfg->oidc_jwks,
			.url = cfg->oidc_jwks_url, .ca_file = cfg->oidc_ca_file,
			.algs = "RS256 ES256", .refresh = cfg->oidc_jwks_refresh,
			.kid_interval = cfg->jwks_unknown_kid_interval};
		if (jwks_open(&src, &o->op_keys, e) || !(o->op = op_by_hand(cfg))) {
			oidc_free(o);
			return e->code ? e->code : vis_error_set(e, VIS_ERR_NOMEM, "memoria "
										   "esaurita");
		}
		o->op_until = INT64_MAX;
	}
	o->rp_key = rp_key_ensure(key_path, "oidc_key", false, e);
	o->enc_key = o->rp_key ? rp_key_ensure(enc_key_path, "oidc_enc_key", true, e) : NULL;
	o->fed_key = o->enc_key ? rp_key_ensure(fed_key_path, "oidc_federation_key", false, e)
				: NULL;
	if (!o->fed_key) {
		oidc_free(o);
		return e->code;
	}
	if (!kid_copy(o->kid, sizeof o->kid, o->rp_key) ||
	    !kid_copy(o->fed_kid, sizeof o->fed_kid, o->fed_key)) {
		oidc_free(o);
		return vis_error_set(e, VIS_ERR_INVALID, "oidc_key, oidc_federation_key: kid "
							 "troppo lungo");
	}
	if (fed_previous_read(o, fed_key_path, e)) {
		oidc_free(o);
		return e->code;
	}
	if (oidc_federation_open(o, e)) {
		oidc_free(o);
		return e->code;
	}
	if (!strcmp(o->kid, o->fed_kid)) {
		oidc_free(o);
		return vis_error_set(e, VIS_ERR_INVALID,
				     "oidc_federation_key deve essere una chiave diversa da "
				     "oidc_key: il profilo tiene le chiavi di federazione separate "
				     "da quelle di OpenID Connect");
	}
	*out = o;
	return VIS_OK;
}

void oidc_free(struct oidc *o)
{
	if (!o)
		return;
	json_decref(o->op);
	jwks_free(o->op_keys);
	jwks_free(o->ta_keys);
	json_decref(o->trust_marks);
	json_decref(o->rp_key);
	json_decref(o->fed_key);
	json_decref(o->fed_prev);
	json_decref(o->enc_key);
	pthread_mutex_destroy(&o->log_lock);
	pthread_mutex_destroy(&o->op_lock);
	pthread_cond_destroy(&o->op_done);
	free(o);
}

struct jwks *oidc_keys(struct oidc *o)
{
	return o->op_keys ? o->op_keys : o->ta_keys;
}

const char *oidc_log_path(const struct oidc *o)
{
	return o->log_dir;
}

json_t *oidc_rp_jwks(struct oidc *o)
{
	json_t *pub = json_deep_copy(o->rp_key), *enc = json_deep_copy(o->enc_key);
	if (!pub || !enc || !jose_jwk_pub(NULL, pub) || !jose_jwk_pub(NULL, enc)) {
		json_decref(pub);
		json_decref(enc);
		return NULL;
	}
	return json_pack("{s:[o,o]}", "keys", pub, enc);
}

/* ---- the flow ---- */

static void b64url(const unsigned char *in, size_t n, char *out, size_t cap)
{
	size_t k = jose_b64_enc_buf(in, n, out, cap - 1);
	out[k == SIZE_MAX ? 0 : k] = '\0';
}

/* nonce and verifier: HMAC-SHA-256 of the state under the secret. */
static void flow_derive(const unsigned char secret[32], struct oidc_flow *f)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char msg[OIDC_STATE_CHARS + 16];
	STR_FMT_KNOWN(msg, "nonce:%s", f->state); /* a state of 43 bytes */
	crypto_auth_hmacsha256(mac, (const unsigned char *)msg, strlen(msg), secret);
	b64url(mac, sizeof mac, f->nonce, sizeof f->nonce);
	STR_FMT_KNOWN(msg, "pkce:%s", f->state); /* a state of 43 bytes */
	crypto_auth_hmacsha256(mac, (const unsigned char *)msg, strlen(msg), secret);
	b64url(mac, sizeof mac, f->verifier, sizeof f->verifier);
	sodium_memzero(mac, sizeof mac);
}

void oidc_flow_new(const unsigned char secret[32], int level, struct oidc_flow *f)
{
	unsigned char r[32];
	randombytes_buf(r, sizeof r);
	b64url(r, sizeof r, f->state, sizeof f->state);
	f->level = level;
	flow_derive(secret, f);
}

bool oidc_flow_from_state(const unsigned char secret[32], const char *state, int level,
			  struct oidc_flow *f)
{
	memset(f, 0, sizeof *f);
	if (strlen(state) != OIDC_STATE_CHARS ||
	    strspn(state, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
		    OIDC_STATE_CHARS)
		return false;
	memcpy(f->state, state, OIDC_STATE_CHARS + 1);
	f->level = level;
	flow_derive(secret, f);
	return true;
}

char *oidc_sign(const json_t *key, const char *kid, const char *typ, json_t *claims)
{
	json_t *jws = json_pack("{s:o}", "payload", jose_b64_enc_dump(claims));
	json_t *sig = json_pack("{s:{s:s,s:s}}", "protected", "alg", "ES256", "kid", kid);
	if (sig && typ)
		json_object_set_new(json_object_get(sig, "protected"), "typ", json_string(typ));
	char *out = NULL;
	if (jws && sig && jose_jws_sig(NULL, jws, sig, key)) {
		const char *p = json_string_value(json_object_get(jws, "protected"));
		const char *b = json_string_value(json_object_get(jws, "payload"));
		const char *s = json_string_value(json_object_get(jws, "signature"));
		if (p && b && s && asprintf(&out, "%s.%s.%s", p, b, s) < 0)
			out = NULL;
	}
	json_decref(jws);
	json_decref(sig);
	json_decref(claims);
	return out;
}

static char *sign_compact(struct oidc *o, json_t *claims)
{
	return oidc_sign(o->rp_key, o->kid, NULL, claims);
}

/* The provider's metadata in use (a new reference), or NULL. */
static json_t *op_take(struct oidc *o)
{
	pthread_mutex_lock(&o->op_lock);
	json_t *op = json_incref(o->op);
	pthread_mutex_unlock(&o->op_lock);
	return op;
}

static const char *op_str(const json_t *op, const char *name)
{
	const char *v = json_string_value(json_object_get(op, name));
	return v ? v : "";
}

static void jti_new(char out[OIDC_STATE_CHARS + 1])
{
	unsigned char r[32];
	randombytes_buf(r, sizeof r);
	b64url(r, sizeof r, out, OIDC_STATE_CHARS + 1);
}

static char *acr_for(int level, char *buf, size_t cap)
{
	snprintf(buf, cap, ACR_PREFIX "%d", level);
	return buf;
}

void oidc_digest(const char *text, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
	sodium_bin2hex(out, 65, h, sizeof h);
}

char *oidc_authorization_url(struct oidc *o, const struct oidc_flow *f, int64_t now,
			     struct vis_error *e)
{
	const struct config *c = o->cfg;
	json_t *op = op_take(o);
	if (!op) {
		vis_error_set(e, VIS_ERR_INTERNAL, "i metadati del provider non sono risolti");
		return NULL;
	}
	char endpoint[512];
	bool fits = STR_COPY(endpoint, op_str(op, "authorization_endpoint"));
	json_decref(op);
	if (!fits) {
		vis_error_set(e, VIS_ERR_LIMIT, "l'authorization endpoint del provider è troppo "
						"lungo");
		return NULL;
	}
	unsigned char h[crypto_hash_sha256_BYTES];
	char challenge[OIDC_STATE_CHARS + 1], jti[OIDC_STATE_CHARS + 1], acr[64];
	crypto_hash_sha256(h, (const unsigned char *)f->verifier, strlen(f->verifier));
	b64url(h, sizeof h, challenge, sizeof challenge);
	jti_new(jti);
	acr_for(f->level, acr, sizeof acr);
	json_t *claims = json_pack(
		"{s:s,s:s,s:[s,s],s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:{s:{s:{s:b}},s:{}},s:I,s:I,s:s}",
		"iss", c->oidc_client_id, "sub", c->oidc_client_id, "aud", c->oidc_issuer,
		endpoint, "client_id", c->oidc_client_id, "response_type",
		"code", "scope", "openid", "redirect_uri", c->oidc_redirect_uri, "state", f->state,
		"nonce", f->nonce, "code_challenge", challenge, "code_challenge_method", "S256",
		"acr_values", acr, "prompt", "login", "claims", "userinfo", OIDC_CLAIM_FISCAL,
		"essential", 1, "id_token", "iat", (json_int_t)now, "exp", (json_int_t)now + 300,
		"jti", jti);
	char *request = claims ? sign_compact(o, claims) : NULL;
	if (!request) {
		vis_error_set(e, VIS_ERR_INTERNAL, "impossibile firmare il request object");
		return NULL;
	}
	char *q_client = curl_easy_escape(NULL, c->oidc_client_id, 0);
	char *q_redirect = curl_easy_escape(NULL, c->oidc_redirect_uri, 0);
	char *q_acr = curl_easy_escape(NULL, acr, 0);
	char *url = NULL;
	if (q_client && q_redirect && q_acr &&
	    asprintf(&url,
		     "%s%cclient_id=%s&response_type=code&scope=openid&redirect_uri=%s&state=%s"
		     "&nonce=%s&code_challenge=%s&code_challenge_method=S256&acr_values=%s"
		     "&prompt=login&request=%s",
		     endpoint, strchr(endpoint, '?') ? '&' : '?', q_client, q_redirect,
		     f->state, f->nonce, challenge, q_acr, request) < 0)
		url = NULL;
	curl_free(q_client);
	curl_free(q_redirect);
	curl_free(q_acr);
	char dreq[65], dstate[65];
	oidc_digest(request, dreq);
	oidc_digest(f->state, dstate);
	free(request);
	if (!url) {
		vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
		return NULL;
	}
	oidc_log(o, now, "authn_request",
		 json_pack("{s:s,s:s,s:s,s:s}", "state_sha256", dstate, "request_sha256", dreq,
			   "acr_values", acr, "client_id", c->oidc_client_id));
	return url;
}

/* ---- checking what the provider sends ---- */

static bool refuse(struct oidc_refusal *why, int status, const char *code, const char *message)
{
	*why = (struct oidc_refusal){status, code, message};
	return false;
}

json_t *oidc_verified(const json_t *keys, struct jwks *set, int64_t now, const char *token,
		      size_t max, const char *typ)
{
	size_t len = strlen(token);
	const char *d1 = memchr(token, '.', len);
	const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
	if (!d1 || !d2 || len > max || strchr(d2 + 1, '.') || !d2[1])
		return NULL;
	json_t *flat = json_pack("{s:s%,s:s%,s:s}", "protected", token, (size_t)(d1 - token),
				 "payload", d1 + 1, (size_t)(d2 - d1 - 1), "signature", d2 + 1);
	json_t *hdr = flat ? jose_b64_dec_load(json_object_get(flat, "protected")) : NULL;
	const char *alg = json_string_value(json_object_get(hdr, "alg"));
	const char *kid = json_string_value(json_object_get(hdr, "kid"));
	const char *htyp = json_string_value(json_object_get(hdr, "typ"));
	json_t *payload = NULL;
	if (alg && kid && (!strcmp(alg, "RS256") || !strcmp(alg, "ES256")) &&
	    !json_object_get(hdr, "crit") && (!typ || (htyp && !strcmp(htyp, typ)))) {
		size_t i;
		json_t *k;
		if (set && jwks_verify(set, kid, flat, now) == JWKS_VERIFIED)
			payload = jose_b64_dec_load(json_object_get(flat, "payload"));
		/* the set, or the keys (never both in use: oidc_open); a payload
		 * verified by the set is not read again */
		json_array_foreach(payload ? NULL : keys, i, k) {
			const char *kk = json_string_value(json_object_get(k, "kid"));
			if (kk && !strcmp(kk, kid) && jose_jws_ver(NULL, flat, NULL, k, false)) {
				payload = jose_b64_dec_load(json_object_get(flat, "payload"));
				break;
			}
		}
	}
	json_decref(hdr);
	json_decref(flat);
	if (payload && !json_is_object(payload)) {
		json_decref(payload);
		payload = NULL;
	}
	return payload;
}

/* A compact JWS signed by one of the provider's keys (by hand: the set,
 * fetched again for an unknown kid; from a trust chain: its keys): its
 * payload, or NULL. */
static json_t *op_verified(struct oidc *o, const json_t *op, const char *token, int64_t now)
{
	return oidc_verified(json_object_get(op, "keys"), o->op_keys, now, token, TOKEN_MAX, NULL);
}

/* iss, aud, exp, iat of an ID token or a signed userinfo. */
static bool common_claims(struct oidc *o, const json_t *p, int64_t now, bool times)
{
	const char *iss = json_string_value(json_object_get(p, "iss"));
	if (!iss || strcmp(iss, o->cfg->oidc_issuer) ||
	    !pdnd_audience_has(json_object_get(p, "aud"), o->cfg->oidc_client_id))
		return false;
	if (!times)
		return true;
	json_t *exp = json_object_get(p, "exp"), *iat = json_object_get(p, "iat");
	int skew = o->cfg->oidc_clock_skew;
	return json_is_integer(exp) && json_is_integer(iat) &&
	       json_integer_value(exp) + skew > now && json_integer_value(iat) <= now + skew &&
	       json_integer_value(iat) > now - 600 - skew;
}

/* The level of an acr value, 0 if not one of SPID's. */
static int acr_level(const char *acr)
{
	size_t n = strlen(ACR_PREFIX);
	if (!acr || strncmp(acr, ACR_PREFIX, n) || strlen(acr) != n + 1 || acr[n] < '1' ||
	    acr[n] > '3')
		return 0;
	return acr[n] - '0';
}

long oidc_http(struct oidc *o, const char *url, const char *const *headers, const char *body,
	       char *buf, size_t cap, char *ctype, char *why, size_t why_cap)
{
	struct outbound_post p = {.url = url, .headers = headers, .body = body,
				  .len = body ? strlen(body) : 0, .ca_file = o->cfg->oidc_ca_file,
				  .timeout = 15, .answer = buf, .answer_cap = cap};
	long st = outbound_post(&p, why, why_cap);
	if (st && p.answer_over) {
		str_copy_cut(why, why_cap, "risposta troppo grande");
		return 0;
	}
	if (ctype)
		memcpy(ctype, p.content_type, sizeof p.content_type);
	return st;
}

static long op_post(struct oidc *o, const char *url, const char *const *headers,
		    const char *body, char *buf, char *why, size_t why_cap)
{
	return oidc_http(o, url, headers, body, buf, ANSWER_MAX, NULL, why, why_cap);
}

static char *token_request_body(struct oidc *o, const struct oidc_flow *f, const char *code,
				int64_t now)
{
	const struct config *c = o->cfg;
	char jti[OIDC_STATE_CHARS + 1];
	jti_new(jti);
	char *assertion = sign_compact(
		o, json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "iss", c->oidc_client_id, "sub",
			     c->oidc_client_id, "aud", c->oidc_issuer, "jti", jti, "iat",
			     (json_int_t)now, "exp", (json_int_t)now + 60));
	char *q_code = curl_easy_escape(NULL, code, 0);
	char *q_redirect = curl_easy_escape(NULL, c->oidc_redirect_uri, 0);
	char *q_client = curl_easy_escape(NULL, c->oidc_client_id, 0);
	char *body = NULL;
	if (assertion && q_code && q_redirect && q_client &&
	    asprintf(&body,
		     "grant_type=authorization_code&code=%s&redirect_uri=%s&client_id=%s"
		     "&code_verifier=%s&client_assertion_type="
		     "urn%%3Aietf%%3Aparams%%3Aoauth%%3Aclient-assertion-type%%3Ajwt-bearer"
		     "&client_assertion=%s",
		     q_code, q_redirect, q_client, f->verifier, assertion) < 0)
		body = NULL;
	free(assertion);
	curl_free(q_code);
	curl_free(q_redirect);
	curl_free(q_client);
	return body;
}

/* The ID token of the token answer, checked. */
static bool id_token_ok(struct oidc *o, const json_t *op, const struct oidc_flow *f,
			const char *id_token, int64_t now, struct oidc_identity *out,
			struct oidc_refusal *why)
{
	json_t *p = op_verified(o, op, id_token, now);
	if (!p)
		return refuse(why, 401, "spid_bad_token",
			      "il gestore dell'identità ha risposto con un ID token non valido "
			      "(firma o formato)");
	bool ok = false;
	const char *nonce = json_string_value(json_object_get(p, "nonce"));
	const char *sub = json_string_value(json_object_get(p, "sub"));
	if (!common_claims(o, p, now, true))
		refuse(why, 401, "spid_bad_token",
		       "l'ID token non è per questo servizio o è scaduto (iss, aud, exp, iat)");
	else if (!nonce || strcmp(nonce, f->nonce))
		refuse(why, 401, "spid_replayed",
		       "l'ID token non appartiene a questo accesso (nonce): ricominci l'accesso");
	else if (!sub || !*sub || !STR_COPY(out->sub, sub))
		refuse(why, 401, "spid_bad_token", "l'ID token non indica il soggetto (sub)");
	else if ((out->level = acr_level(json_string_value(json_object_get(p, "acr")))) <
		 f->level)
		refuse(why, 403, "spid_level_too_low",
		       "il livello di autenticazione SPID/CIE usato è inferiore a quello richiesto");
	else
		ok = true;
	json_decref(p);
	return ok;
}

/* The userinfo, encrypted for our key and signed by the provider, as the
 * profile asks (a JWE holding a JWS), checked; the codice fiscale taken
 * from it. */
static bool userinfo_ok(struct oidc *o, const json_t *op, const char *answer, int64_t now,
			struct oidc_identity *out, struct oidc_refusal *why)
{
	char text[TOKEN_MAX + 1];
	size_t n = strcspn(answer, "\r\n"), dots = 0;
	if (n > TOKEN_MAX)
		return refuse(why, 502, "spid_bad_userinfo", "le informazioni sull'utente sono troppo grandi");
	memcpy(text, answer, n);
	text[n] = '\0';
	for (size_t i = 0; i < n; i++)
		dots += text[i] == '.';
	if (dots != 4)
		return refuse(why, 401, "spid_bad_userinfo",
			      "le informazioni sull'utente non sono cifrate per questo servizio, "
			      "come il profilo SPID/CIE chiede");
	size_t inner_len;
	char *inner = oidc_jwe_decrypt(o->enc_key, text, TOKEN_MAX, &inner_len);
	if (!inner)
		return refuse(why, 401, "spid_bad_userinfo",
			      "le informazioni sull'utente non si decifrano con la chiave di questo "
			      "servizio (algoritmo, chiave o contenuto alterato)");
	json_t *p = op_verified(o, op, inner, now);
	sodium_memzero(inner, inner_len);
	free(inner);
	if (!p)
		return refuse(why, 401, "spid_bad_userinfo",
			      "le informazioni sull'utente non sono firmate dal gestore dell'identità");
	const char *sub = json_string_value(json_object_get(p, "sub"));
	const char *cf = json_string_value(json_object_get(p, OIDC_CLAIM_FISCAL));
	bool ok = false;
	if (!common_claims(o, p, now, false) || !sub || strcmp(sub, out->sub))
		refuse(why, 401, "spid_bad_userinfo",
		       "le informazioni sull'utente non corrispondono all'ID token (iss, aud, sub)");
	else if (!cf || strncmp(cf, "TINIT-", 6) || strlen(cf + 6) != 16)
		refuse(why, 401, "spid_no_fiscal_code",
		       "il gestore dell'identità non ha fornito il codice fiscale");
	else {
		for (int i = 0; i < 16; i++)
			out->fiscal_code[i] = (char)(cf[6 + i] >= 'a' && cf[6 + i] <= 'z'
							? cf[6 + i] - 32 : cf[6 + i]);
		out->fiscal_code[16] = '\0';
		ok = true;
	}
	json_decref(p);
	return ok;
}

static bool complete(struct oidc *o, const struct oidc_flow *f, const char *code, int64_t now,
		     struct oidc_identity *out, struct oidc_refusal *why)
{
	if (!oidc_ready(o, now, why))
		return false;
	json_t *op = op_take(o);
	char dstate[65], dcode[65], why_net[200] = "";
	oidc_digest(f->state, dstate);
	oidc_digest(code, dcode);
	oidc_log(o, now, "authn_response",
		 json_pack("{s:s,s:s}", "state_sha256", dstate, "code_sha256", dcode));
	char *body = token_request_body(o, f, code, now);
	char *buf = malloc(ANSWER_MAX);
	if (!body || !buf || !op) {
		free(body);
		free(buf);
		json_decref(op);
		return refuse(why, 500, "internal_error", "errore interno");
	}
	static const char *const form[] = {"Content-Type: application/x-www-form-urlencoded",
					   "Accept: application/json", NULL};
	long st = op_post(o, op_str(op, "token_endpoint"), form, body, buf, why_net, sizeof why_net);
	free(body);
	json_t *tok = st == 200 ? json_loads(buf, JSON_REJECT_DUPLICATES, NULL) : NULL;
	const char *id_token = json_string_value(json_object_get(tok, "id_token"));
	const char *access = json_string_value(json_object_get(tok, "access_token"));
	char did[65] = "", dat[65] = "";
	if (id_token)
		oidc_digest(id_token, did);
	if (access)
		oidc_digest(access, dat);
	oidc_log(o, now, "token",
		 json_pack("{s:s,s:I,s:s,s:s,s:s}", "state_sha256", dstate, "status", (json_int_t)st,
			   "id_token_sha256", did, "access_token_sha256", dat, "error",
			   st ? "" : why_net));
	bool ok = false;
	if (!id_token || !access || strlen(access) > 4096)
		refuse(why, 502, "spid_provider_error",
		       "il gestore dell'identità non ha concluso l'accesso: ricominci");
	else if (id_token_ok(o, op, f, id_token, now, out, why)) {
		char auth[4200];
		/* access of at most 4096 bytes, checked above */
		STR_FMT_KNOWN(auth, "Authorization: Bearer %s", access);
		const char *const hdrs[] = {auth, "Accept: application/jwt", NULL};
		st = op_post(o, op_str(op, "userinfo_endpoint"), hdrs, "", buf, why_net,
			     sizeof why_net);
		sodium_memzero(auth, sizeof auth);
		char dui[65] = "";
		if (st == 200)
			oidc_digest(buf, dui);
		if (st != 200)
			refuse(why, 502, "spid_provider_error",
			       "il gestore dell'identità non ha fornito le informazioni sull'utente");
		else
			ok = userinfo_ok(o, op, buf, now, out, why);
		oidc_log(o, now, "userinfo",
			 json_pack("{s:s,s:I,s:s,s:s}", "state_sha256", dstate, "status",
				   (json_int_t)st, "userinfo_sha256", dui, "outcome",
				   ok ? "ok" : why->code));
	}
	json_decref(tok);
	json_decref(op);
	free(buf);
	return ok;
}

/* The exchanges with the provider hold a worker thread each (up to the
 * outbound timeout): at most threads - 1 at once, so that a slow or
 * stalled provider, or many answers sent at once, always leave a worker
 * for everything else. */
bool oidc_complete(struct oidc *o, const struct oidc_flow *f, const char *code, int64_t now,
		   struct oidc_identity *out, struct oidc_refusal *why)
{
	memset(out, 0, sizeof *out);
	int cap = o->cfg->threads > 1 ? o->cfg->threads - 1 : 1;
	if (atomic_fetch_add(&o->busy, 1) >= cap) {
		atomic_fetch_sub(&o->busy, 1);
		return refuse(why, 503, "spid_busy",
			      "troppi accessi SPID/CIE in corso in questo momento: riprovi tra "
			      "qualche secondo");
	}
	bool ok = complete(o, f, code, now, out, why);
	atomic_fetch_sub(&o->busy, 1);
	return ok;
}

/* ---- the transaction log ---- */

/* Deletes the day files older than oidc_log_days. */
static void log_purge(struct oidc *o, int64_t now)
{
	DIR *d = opendir(o->log_dir);
	if (!d)
		return;
	time_t cut = (time_t)(now - (int64_t)o->cfg->oidc_log_days * 86400);
	struct tm tm;
	gmtime_r(&cut, &tm);
	char oldest[16];
	strftime(oldest, sizeof oldest, "%Y-%m-%d", &tm);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strlen(de->d_name) != 16 || strcmp(de->d_name + 10, ".jsonl") ||
		    strncmp(de->d_name, oldest, 10) >= 0)
			continue;
		char path[CONFIG_PATH_MAX + 32];
		/* a name of 16 bytes, checked above */
		STR_FMT_KNOWN(path, "%s/%s", o->log_dir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

void oidc_log(struct oidc *o, int64_t now, const char *kind, json_t *fields)
{
	if (!fields)
		return;
	time_t t = (time_t)now;
	struct tm tm;
	gmtime_r(&t, &tm);
	char day[16], at[32];
	strftime(day, sizeof day, "%Y-%m-%d", &tm);
	strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(fields, "at", json_string(at));
	json_object_set_new(fields, "kind", json_string(kind));
	char *line = json_dumps(fields, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(fields);
	if (!line)
		return;
	char path[CONFIG_PATH_MAX + 32];
	STR_FMT_KNOWN(path, "%s/%s.jsonl", o->log_dir, day); /* log_dir[CONFIG_PATH_MAX] + 17 */
	pthread_mutex_lock(&o->log_lock);
	bool fresh = access(path, F_OK) != 0;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		size_t n = strlen(line);
		line[n] = '\n';
		if (write(fd, line, n + 1) != (ssize_t)(n + 1))
			fprintf(stderr, "log delle transazioni oidc: scrittura non riuscita\n");
		close(fd);
	}
	if (fresh)
		log_purge(o, now);
	pthread_mutex_unlock(&o->log_lock);
	free(line);
}
