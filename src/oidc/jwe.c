/* Encrypted userinfo (oidc.h): a compact JWE for the relying party's RSA
 * key.  The key is unwrapped with OpenSSL's RSA-OAEP (libjose 11, Debian
 * 12's, fails RSA-OAEP and RSA-OAEP-256 even on its own round trip); the
 * content is decrypted and its tag checked by libjose (jose_jwe_dec_cek).
 * Nothing here is hand-written cryptography: it chooses, checks sizes,
 * and hands over. */
#include "oidc/oidc.h"

#include <jose/b64.h>
#include <jose/jwe.h>
#include <jose/openssl.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* The key sizes of the content encryptions the SPID/CIE profile names
 * (MAC key + AES key), 0 for any other. */
static size_t cek_bytes(const char *enc)
{
	if (enc && !strcmp(enc, "A128CBC-HS256"))
		return 32;
	if (enc && !strcmp(enc, "A256CBC-HS512"))
		return 64;
	return 0;
}

char *oidc_jwe_decrypt(const json_t *jwk, const char *compact, size_t max, size_t *len)
{
	*len = 0;
	size_t n = strlen(compact);
	if (n > max || strspn(compact, B64URL ".") != n)
		return NULL;
	/* Five parts: header, encrypted key, iv, ciphertext, tag. */
	const char *part[5];
	size_t plen[5];
	const char *p = compact;
	for (int i = 0; i < 5; i++) {
		const char *dot = strchr(p, '.');
		if ((i < 4) != (dot != NULL))
			return NULL;
		part[i] = p;
		plen[i] = dot ? (size_t)(dot - p) : strlen(p);
		if (!plen[i])
			return NULL;
		p = dot ? dot + 1 : p + plen[i];
	}
	json_t *flat = json_pack("{s:s%,s:s%,s:s%,s:s%,s:s%}", "protected", part[0], plen[0],
				 "encrypted_key", part[1], plen[1], "iv", part[2], plen[2],
				 "ciphertext", part[3], plen[3], "tag", part[4], plen[4]);
	json_t *hdr = flat ? jose_b64_dec_load(json_object_get(flat, "protected")) : NULL;
	const char *alg = json_string_value(json_object_get(hdr, "alg"));
	const char *kid = json_string_value(json_object_get(hdr, "kid"));
	const char *ours = json_string_value(json_object_get(jwk, "kid"));
	size_t want = cek_bytes(json_string_value(json_object_get(hdr, "enc")));
	const EVP_MD *md = !alg ? NULL : !strcmp(alg, "RSA-OAEP") ? EVP_sha1()
			 : !strcmp(alg, "RSA-OAEP-256") ? EVP_sha256() : NULL;
	char *out = NULL;
	/* Only the profile's algorithms, no compression, nothing critical,
	 * and (when named) our key. */
	if (!json_is_object(hdr) || !md || !want || json_object_get(hdr, "zip") ||
	    json_object_get(hdr, "crit") || (kid && (!ours || strcmp(kid, ours))))
		goto done;
	unsigned char wrapped[1024], cek[1024];
	size_t wl = jose_b64_dec(json_object_get(flat, "encrypted_key"), NULL, 0);
	if (wl == SIZE_MAX || wl > sizeof wrapped ||
	    jose_b64_dec(json_object_get(flat, "encrypted_key"), wrapped, wl) != wl)
		goto done;
	EVP_PKEY *pk = jose_openssl_jwk_to_EVP_PKEY(NULL, jwk);
	EVP_PKEY_CTX *c = pk ? EVP_PKEY_CTX_new(pk, NULL) : NULL;
	size_t cl = sizeof cek;
	bool unwrapped = c && EVP_PKEY_decrypt_init(c) > 0 &&
			 EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) > 0 &&
			 EVP_PKEY_CTX_set_rsa_oaep_md(c, md) > 0 &&
			 EVP_PKEY_CTX_set_rsa_mgf1_md(c, md) > 0 &&
			 EVP_PKEY_decrypt(c, cek, &cl, wrapped, wl) > 0 && cl == want;
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(pk);
	/* A key that did not unwrap goes on as a random one (RFC 7516 §11.5):
	 * the tag check then fails the same way, so the answer's time says
	 * nothing about the padding. */
	if (!unwrapped)
		randombytes_buf(cek, cl = want);
	json_t *k = json_pack("{s:s,s:o}", "kty", "oct", "k", jose_b64_enc(cek, cl));
	sodium_memzero(cek, sizeof cek);
	size_t pl = 0;
	unsigned char *pt = k ? jose_jwe_dec_cek(NULL, flat, k, &pl) : NULL;
	json_decref(k);
	if (pt && unwrapped && pl < max && !memchr(pt, '\0', pl)) {
		out = malloc(pl + 1);
		if (out) {
			memcpy(out, pt, pl);
			out[pl] = '\0';
			*len = pl;
		}
	}
	if (pt)
		sodium_memzero(pt, pl);
	free(pt);
done:
	json_decref(hdr);
	json_decref(flat);
	return out;
}
