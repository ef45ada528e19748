/* libFuzzer harness: the one checker of the compact JWS an OpenID provider
 * and a federation's entities send (oidc_verified, oidc/internal.h: ID
 * tokens, signed userinfo, entity statements, trust marks, signed key
 * sets), and the choice of a key set's public signing keys
 * (oidc_public_sig_keys).  Anyone on the network may send these bytes.
 *
 * The input's first byte chooses the typ the check requires (bit 0:
 * none or "entity-statement+jwt") and the typ a signature carries (bit 1);
 * the rest is the token, and, when it reads as a JSON object, the claims
 * of a token the harness signs (oidc_sign), and a key set.  The keys
 * (an EC P-256 and an RSA one) are made at start, so that no input can be
 * signed by them.  Whatever the input:
 *   - the token given is never accepted (no crash, no leak);
 *   - claims signed here are accepted, and read back equal, exactly when
 *     the typs agree (or none is required) and the token fits the bound;
 *     the same token with one byte of its signature changed, or a bound
 *     one byte short, is refused;
 *   - a key set's public signing keys each have a kid, no private or
 *     secret part (d, p, q, dp, dq, qi, oth, k), a "use", when given, of
 *     the text "sig", an "alg", when given, of the text RS256 or ES256.
 * The corpus holds real tokens of both algorithms and of each typ, signed
 * by other keys with the same kids, so that the signature checks are
 * reached. */
#include <jose/jwk.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oidc/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX 16384
#define TYP "entity-statement+jwt"

static json_t *made(const char *kind, const char *kid)
{
	json_t *k = !strcmp(kind, "RSA") ? json_pack("{s:s,s:i}", "kty", "RSA", "bits", 2048)
					 : json_pack("{s:s}", "alg", "ES256");
	if (!k || !jose_jwk_gen(NULL, k))
		abort();
	json_object_set_new(k, "kid", json_string(kid));
	return k;
}

static json_t *ec_key, *public_keys;

static void keys_make(void)
{
	if (public_keys)
		return;
	ec_key = made("EC", "fuzz-ec");
	json_t *rsa = made("RSA", "fuzz-rsa");
	json_t *set = json_pack("{s:[o,o]}", "keys", json_deep_copy(ec_key), json_deep_copy(rsa));
	json_t *keys = set ? json_object_get(set, "keys") : NULL;
	size_t i;
	json_t *k;
	json_array_foreach(keys, i, k) if (!jose_jwk_pub(NULL, k)) abort();
	public_keys = oidc_public_sig_keys(set);
	if (json_array_size(public_keys) != 2)
		abort();
	json_decref(set);
	json_decref(rsa);
}

/* The claims signed here, checked as the header says. */
static void round_trip(json_t *claims, const char *sig_typ, const char *want_typ)
{
	char *token = oidc_sign(ec_key, "fuzz-ec", sig_typ, json_incref(claims));
	if (!token)
		abort();
	size_t len = strlen(token);
	bool typ_ok = !want_typ || (sig_typ && !strcmp(sig_typ, want_typ));
	json_t *back = oidc_verified(public_keys, NULL, 0, token, MAX, want_typ);
	if ((back != NULL) != (typ_ok && len <= MAX) || (back && !json_equal(back, claims)))
		abort();
	json_decref(back);
	if (typ_ok && len <= MAX) {
		if ((back = oidc_verified(public_keys, NULL, 0, token, len - 1, want_typ)))
			abort();
		/* one character of the signature's base64url changed: its
		 * first, whose six bits all count */
		char *s = strrchr(token, '.') + 1;
		*s = *s == 'A' ? 'B' : 'A';
		if ((back = oidc_verified(public_keys, NULL, 0, token, MAX, want_typ)))
			abort();
	}
	free(token);
}

/* A member given must be a text of the list (space-separated words). */
static bool absent_or_in(const json_t *k, const char *name, const char *list)
{
	const json_t *v = json_object_get(k, name);
	if (!v)
		return true;
	if (!json_is_string(v))
		return false;
	const char *t = json_string_value(v);
	size_t n = strlen(t);
	for (const char *w = list; *w;) {
		size_t len = strcspn(w, " ");
		if (len == n && n && !memcmp(w, t, n))
			return true;
		w += len + (w[len] == ' ');
	}
	return false;
}

static void key_set(json_t *set)
{
	static const char *const secret[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
	json_t *keys = oidc_public_sig_keys(set);
	size_t i;
	json_t *k;
	json_array_foreach(keys, i, k) {
		const char *kid = json_string_value(json_object_get(k, "kid"));
		if (!json_is_object(k) || !kid || !*kid || !absent_or_in(k, "use", "sig") ||
		    !absent_or_in(k, "alg", "RS256 ES256"))
			abort();
		for (size_t j = 0; j < sizeof secret / sizeof secret[0]; j++)
			if (json_object_get(k, secret[j]))
				abort();
	}
	json_decref(keys);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	keys_make();
	if (size < 1)
		return 0;
	const char *want_typ = data[0] & 1 ? TYP : NULL;
	const char *sig_typ = data[0] & 2 ? TYP : NULL;
	char *text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	json_t *got = oidc_verified(public_keys, NULL, 0, text, MAX, want_typ);
	if (got)
		abort();
	json_t *claims = json_loadb((const char *)data + 1, size - 1, 0, NULL);
	if (json_is_object(claims)) {
		round_trip(claims, sig_typ, want_typ);
		key_set(claims);
	}
	json_decref(claims);
	free(text);
	return 0;
}
