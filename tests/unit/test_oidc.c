/* Unit tests: the encrypted userinfo of the SPID/CIE relying party
 * (oidc_jwe_decrypt).  The JWEs are made here: the content key wrapped
 * with OpenSSL's RSA-OAEP, the content encrypted by libjose.  The
 * profile's two key wrappings and two content encryptions open; anything
 * else — another algorithm (dir would let the sender choose the key),
 * another content encryption, compression, a critical header, another
 * kid, another key, a changed byte of any part, truncation — does not. */
#define _GNU_SOURCE /* asprintf, strndup */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jose/b64.h>
#include <jose/jwe.h>
#include <jose/jwk.h>
#include <jose/openssl.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oidc/oidc.h"

static json_t *key_new(const char *kid)
{
	json_t *k = json_pack("{s:s,s:i}", "kty", "RSA", "bits", 2048);
	assert_non_null(k);
	assert_true(jose_jwk_gen(NULL, k));
	json_object_set_new(k, "kid", json_string(kid));
	return k;
}

/* A compact JWE of pt for key's public half; hdr: the protected header
 * (stolen).  wrap_md: the OAEP hash, NULL for no encrypted key. */
static char *jwe_make(const json_t *key, json_t *hdr, const EVP_MD *wrap_md, size_t cek_len,
		      const char *pt)
{
	unsigned char cek[64], wrapped[512];
	size_t wl = 0;
	randombytes_buf(cek, cek_len);
	if (wrap_md) {
		EVP_PKEY *pk = jose_openssl_jwk_to_EVP_PKEY(NULL, key);
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pk, NULL);
		wl = sizeof wrapped;
		assert_true(c && EVP_PKEY_encrypt_init(c) > 0 &&
			    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) > 0 &&
			    EVP_PKEY_CTX_set_rsa_oaep_md(c, wrap_md) > 0 &&
			    EVP_PKEY_CTX_set_rsa_mgf1_md(c, wrap_md) > 0 &&
			    EVP_PKEY_encrypt(c, wrapped, &wl, cek, cek_len) > 0);
		EVP_PKEY_CTX_free(c);
		EVP_PKEY_free(pk);
	}
	json_t *jwe = json_pack("{s:o}", "protected", hdr);
	json_t *k = json_pack("{s:s,s:o}", "kty", "oct", "k", jose_b64_enc(cek, cek_len));
	assert_true(jose_jwe_enc_cek(NULL, jwe, k, pt, strlen(pt)));
	json_t *ek = jose_b64_enc(wrapped, wl);
	char *out;
	assert_true(asprintf(&out, "%s.%s.%s.%s.%s",
			     json_string_value(json_object_get(jwe, "protected")),
			     json_string_value(ek),
			     json_string_value(json_object_get(jwe, "iv")),
			     json_string_value(json_object_get(jwe, "ciphertext")),
			     json_string_value(json_object_get(jwe, "tag"))) > 0);
	json_decref(ek);
	json_decref(k);
	json_decref(jwe);
	return out;
}

static void expect_open(const json_t *key, const char *jwe, const char *pt)
{
	size_t len = 0;
	char *out = oidc_jwe_decrypt(key, jwe, 16384, &len);
	assert_non_null(out);
	assert_int_equal(len, strlen(pt));
	assert_string_equal(out, pt);
	free(out);
}

static void expect_closed(const json_t *key, const char *jwe)
{
	size_t len = 7;
	char *out = oidc_jwe_decrypt(key, jwe, 16384, &len);
	assert_null(out);
	assert_int_equal(len, 0);
}

static const char PT[] = "eyJhbGciOiJSUzI1NiIsImtpZCI6Im9wIn0.eyJzdWIiOiJ4In0.c2ln";

static void test_profile_algorithms_open(void **state)
{
	(void)state;
	json_t *k = key_new("rp");
	static const struct { const char *alg, *enc; size_t cek; } ok[] = {
		{"RSA-OAEP", "A128CBC-HS256", 32}, {"RSA-OAEP", "A256CBC-HS512", 64},
		{"RSA-OAEP-256", "A128CBC-HS256", 32}, {"RSA-OAEP-256", "A256CBC-HS512", 64}};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		const EVP_MD *md = strcmp(ok[i].alg, "RSA-OAEP") ? EVP_sha256() : EVP_sha1();
		char *j = jwe_make(k, json_pack("{s:s,s:s,s:s,s:s}", "alg", ok[i].alg, "enc",
						ok[i].enc, "kid", "rp", "cty", "JWT"),
				   md, ok[i].cek, PT);
		expect_open(k, j, PT);
		free(j);
		/* The kid may be left out. */
		j = jwe_make(k, json_pack("{s:s,s:s}", "alg", ok[i].alg, "enc", ok[i].enc), md,
			     ok[i].cek, PT);
		expect_open(k, j, PT);
		free(j);
	}
	json_decref(k);
}

static void test_other_headers_refused(void **state)
{
	(void)state;
	json_t *k = key_new("rp");
	char *j;
	/* A content encryption outside the profile. */
	j = jwe_make(k, json_pack("{s:s,s:s}", "alg", "RSA-OAEP-256", "enc", "A256GCM"),
		     EVP_sha256(), 32, PT);
	expect_closed(k, j);
	free(j);
	/* The hash of the header's alg, not another one. */
	j = jwe_make(k, json_pack("{s:s,s:s}", "alg", "RSA-OAEP-256", "enc", "A128CBC-HS256"),
		     EVP_sha1(), 32, PT);
	expect_closed(k, j);
	free(j);
	/* dir: the sender would choose the content key. */
	j = jwe_make(k, json_pack("{s:s,s:s}", "alg", "dir", "enc", "A128CBC-HS256"), NULL, 32,
		     PT);
	expect_closed(k, j);
	free(j);
	/* Compression, a critical header, another kid. */
	j = jwe_make(k, json_pack("{s:s,s:s,s:s}", "alg", "RSA-OAEP", "enc", "A128CBC-HS256",
				  "zip", "DEF"), EVP_sha1(), 32, PT);
	expect_closed(k, j);
	free(j);
	j = jwe_make(k, json_pack("{s:s,s:s,s:[s],s:s}", "alg", "RSA-OAEP", "enc",
				  "A128CBC-HS256", "crit", "exp", "exp", "x"), EVP_sha1(), 32, PT);
	expect_closed(k, j);
	free(j);
	j = jwe_make(k, json_pack("{s:s,s:s,s:s}", "alg", "RSA-OAEP", "enc", "A128CBC-HS256",
				  "kid", "someone-else"), EVP_sha1(), 32, PT);
	expect_closed(k, j);
	free(j);
	json_decref(k);
}

static void test_another_key_or_a_changed_byte(void **state)
{
	(void)state;
	json_t *k = key_new("rp"), *other = key_new("rp");
	char *j = jwe_make(other, json_pack("{s:s,s:s,s:s}", "alg", "RSA-OAEP-256", "enc",
					    "A256CBC-HS512", "kid", "rp"), EVP_sha256(), 64, PT);
	expect_closed(k, j);
	expect_open(other, j, PT);
	/* One character changed in each part (header, key, iv, content, tag). */
	size_t n = strlen(j);
	for (size_t part = 0, at = 0; part < 5; part++) {
		size_t mid = at + strcspn(j + at, ".") / 2;
		char *t = strdup(j);
		t[mid] = t[mid] == 'A' ? 'B' : 'A';
		expect_closed(other, t);
		free(t);
		at += strcspn(j + at, ".") + 1;
	}
	/* Truncated, too long, an extra part, not base64url. */
	char *t = strndup(j, n - 4);
	expect_closed(other, t);
	free(t);
	assert_null(oidc_jwe_decrypt(other, j, n - 1, &n));
	assert_true(asprintf(&t, "%s.x", j) > 0);
	expect_closed(other, t);
	free(t);
	t = strdup(j);
	t[3] = '+';
	expect_closed(other, t);
	free(t);
	expect_closed(other, "a.b.c.d.");
	expect_closed(other, "....");
	expect_closed(other, "");
	free(j);
	json_decref(k);
	json_decref(other);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profile_algorithms_open),
		cmocka_unit_test(test_other_headers_refused),
		cmocka_unit_test(test_another_key_or_a_changed_byte),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
