/* Unit tests: the sets of public keys of PDND and of the SPID/CIE provider
 * (jwks/jwks.h): which documents are refused whole and which keys are
 * taken; a file read again for a kid not held only when it changed, a bad
 * file leaving the keys held; an address fetched for a kid not held at
 * most once every kid_interval, and periodically (every refresh, or
 * kid_interval after a failure); signatures checked by the key of their
 * kid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <jose/b64.h>
#include <jose/jwk.h>
#include <jose/jws.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jwks/jwks.h"

static json_t *parse(const char *doc, const char *algs, char *why)
{
	return jwks_parse(doc, strlen(doc), algs, why, 160);
}

static void refused(const char *doc, const char *algs, const char *reason)
{
	char why[160] = "";
	json_t *k = parse(doc, algs, why);
	if (k)
		fail_msg("taken: %s", doc);
	if (!strstr(why, reason))
		fail_msg("'%s' gave '%s', not '%s'", doc, why, reason);
}

#define RSA1 "{\"kty\":\"RSA\",\"kid\":\"k1\",\"n\":\"AQAB\",\"e\":\"AQAB\"}"
#define EC1 "{\"kty\":\"EC\",\"kid\":\"e1\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}"

static void test_documents(void **state)
{
	(void)state;
	char why[160];
	json_t *k = parse("{\"keys\":[" RSA1 "," EC1 "]}", "RS256", why);
	assert_non_null(k);
	assert_int_equal(json_array_size(k), 1);   /* the EC key is not RS256's */
	json_decref(k);
	k = parse("{\"keys\":[" RSA1 "," EC1 "]}", "RS256 ES256", why);
	assert_non_null(k);
	assert_int_equal(json_array_size(k), 2);
	json_decref(k);
	/* Other uses and algorithms are left out, not judged. */
	k = parse("{\"keys\":[" RSA1 ",{\"kty\":\"RSA\",\"use\":\"enc\",\"n\":\"A\",\"e\":\"A\"},"
		  "{\"kty\":\"RSA\",\"alg\":\"PS256\",\"n\":\"A\",\"e\":\"A\"}]}",
		  "RS256", why);
	assert_non_null(k);
	assert_int_equal(json_array_size(k), 1);
	json_decref(k);
	/* A use or alg that is not a text says nothing the key may be
	 * taken for: left out, as are keys for other uses. */
	k = parse("{\"keys\":[" RSA1 ",{\"kty\":\"RSA\",\"kid\":\"u\",\"use\":5,\"n\":\"A\","
		  "\"e\":\"A\"},{\"kty\":\"RSA\",\"kid\":\"a\",\"alg\":[\"RS256\"],"
		  "\"n\":\"A\",\"e\":\"A\"},{\"kty\":\"EC\",\"kid\":\"o\",\"use\":{},"
		  "\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}]}",
		  "RS256 ES256", why);
	assert_non_null(k);
	assert_int_equal(json_array_size(k), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(k, 0), "kid")), "k1");
	json_decref(k);

	refused("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k1\",\"n\":\"A\",\"e\":\"A\",\"d\":\"A\"}]}",
		"RS256", "privata");
	/* A private part refuses the document even on a key not taken. */
	refused("{\"keys\":[" RSA1 ",{\"kty\":\"EC\",\"kid\":\"e\",\"d\":\"A\"}]}", "RS256",
		"privata");
	refused("{\"keys\":[" RSA1 ",{\"kty\":\"oct\",\"kid\":\"h\",\"k\":\"c2VjcmV0\"}]}",
		"RS256", "segreta");
	refused("{\"keys\":[]}", "RS256", "nessuna chiave di firma");
	refused("{\"keys\":[" EC1 "]}", "RS256", "nessuna chiave di firma");
	refused("{\"kty\":\"RSA\"}", "RS256", "non è un JWKS");
	refused("{\"keys\":{}}", "RS256", "non è un JWKS");
	refused("[1]", "RS256", "non è un JWKS");
	refused("{\"keys\":", "RS256", "non è JSON");
	refused("{\"keys\":[1]}", "RS256", "non è un oggetto JSON");
	refused("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"A\",\"e\":\"A\"}]}", "RS256", "kid");
	refused("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"\",\"n\":\"A\",\"e\":\"A\"}]}", "RS256",
		"kid");
	refused("{\"keys\":[" RSA1 "," RSA1 "]}", "RS256", "indicato due volte");

	/* Too many keys, too many bytes. */
	char *big = malloc(JWKS_MAX_BYTES + 64);
	assert_non_null(big);
	size_t n = (size_t)sprintf(big, "{\"keys\":[");
	for (int i = 0; i <= JWKS_MAX_KEYS; i++)
		n += (size_t)sprintf(big + n, "%s{\"kty\":\"RSA\",\"kid\":\"k%d\",\"n\":\"A\",\"e\":\"A\"}",
				     i ? "," : "", i);
	sprintf(big + n, "]}");
	refused(big, "RS256", "più di 64");
	memset(big, ' ', JWKS_MAX_BYTES + 1);
	memcpy(big, "{\"keys\":[" RSA1 "]}", strlen("{\"keys\":[" RSA1 "]}"));
	assert_null(jwks_parse(big, JWKS_MAX_BYTES + 1, "RS256", why, sizeof why));
	assert_non_null(strstr(why, "supera il massimo"));
	free(big);
}

/* A key made here, its public JWKS, and compact tokens it signs. */
static json_t *new_key(const char *kid)
{
	json_t *k = json_pack("{s:s}", "alg", "RS256");
	assert_true(jose_jwk_gen(NULL, k));
	json_object_set_new(k, "kid", json_string(kid));
	return k;
}

static void write_jwks(const char *path, json_t *a, json_t *b)
{
	json_t *keys = json_array();
	json_t *both[] = {a, b};
	for (int i = 0; i < 2; i++) {
		if (!both[i])
			continue;
		json_t *pub = json_deep_copy(both[i]);
		assert_true(jose_jwk_pub(NULL, pub));
		json_array_append_new(keys, pub);
	}
	json_t *doc = json_pack("{s:o}", "keys", keys);
	char tmp[300];
	snprintf(tmp, sizeof tmp, "%s.new", path);
	assert_int_equal(json_dump_file(doc, tmp, 0), 0);
	assert_int_equal(rename(tmp, path), 0);
	json_decref(doc);
}

static json_t *signed_jws(json_t *key)
{
	json_t *jws = json_pack("{s:o}", "payload", jose_b64_enc("{\"a\":1}", 7));
	json_t *tmpl = json_pack("{s:{s:s,s:O}}", "protected", "alg", "RS256", "kid",
				 json_object_get(key, "kid"));
	assert_true(jose_jws_sig(NULL, jws, tmpl, key));
	json_decref(tmpl);
	return jws;
}

static void test_file(void **state)
{
	(void)state;
	char path[] = "/tmp/visura-test-jwks-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	json_t *k1 = new_key("k1"), *k2 = new_key("k2");
	write_jwks(path, k1, NULL);
	struct jwks_source src = {.name = "pdnd_jwks", .path = path, .url = "", .algs = "RS256",
				  .refresh = 3600, .kid_interval = 60};
	struct jwks *set;
	struct vis_error e = {0};
	assert_int_equal(jwks_open(&src, &set, &e), VIS_OK);
	json_t *t1 = signed_jws(k1), *t2 = signed_jws(k2);
	assert_int_equal(jwks_verify(set, "k1", t1, 100), JWKS_VERIFIED);
	assert_int_equal(jwks_verify(set, "k2", t2, 100), JWKS_KID_UNKNOWN);
	/* A token of k2 under k1's kid: the signature does not verify. */
	assert_int_equal(jwks_verify(set, "k1", t2, 100), JWKS_BAD_SIGNATURE);
	/* PDND publishes k2: the file is read again for the kid not held. */
	write_jwks(path, k1, k2);
	assert_int_equal(jwks_verify(set, "k2", t2, 101), JWKS_VERIFIED);
	/* A bad file: reload refused, the keys held stay. */
	FILE *f = fopen(path, "w");
	fputs("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k1\",\"n\":\"A\",\"e\":\"A\",\"d\":\"A\"}]}", f);
	fclose(f);
	vis_error_clear(&e);
	assert_int_not_equal(jwks_reload(set, 102, &e), VIS_OK);
	assert_non_null(strstr(e.msg, "privata"));
	assert_int_equal(jwks_verify(set, "k9", t1, 103), JWKS_KID_UNKNOWN);
	assert_int_equal(jwks_verify(set, "k2", t2, 103), JWKS_VERIFIED);
	struct jwks_stats st;
	jwks_stats(set, &st);
	assert_int_equal(st.keys, 2);
	assert_int_equal(st.fetches, 0);
	assert_false(jwks_tick(set, 100000));   /* files are not polled */
	/* A file that fails at the start is refused. */
	unlink(path);
	struct jwks *none;
	vis_error_clear(&e);
	assert_int_not_equal(jwks_open(&src, &none, &e), VIS_OK);
	jwks_free(set);
	json_decref(t1);
	json_decref(t2);
	json_decref(k1);
	json_decref(k2);
}

static void test_address(void **state)
{
	(void)state;
	struct vis_error e = {0};
	struct jwks *set;
	static const char *const bad[] = {"http://pdnd.example/jwks", "https://169.254.169.254/x",
					  "ftp://127.0.0.1/x", "not a url"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct jwks_source src = {.name = "pdnd_jwks_url", .path = "", .url = bad[i],
					  .algs = "RS256", .refresh = 3600, .kid_interval = 60};
		vis_error_clear(&e);
		if (jwks_open(&src, &set, &e) == VIS_OK)
			fail_msg("address taken: %s", bad[i]);
	}
	struct jwks_source both = {.name = "x", .path = "/tmp/x", .url = "https://a.example/",
				   .algs = "RS256", .refresh = 3600, .kid_interval = 60};
	vis_error_clear(&e);
	assert_int_not_equal(jwks_open(&both, &set, &e), VIS_OK);

	/* Nothing listens on port 1: every fetch fails at once. */
	struct jwks_source src = {.name = "pdnd_jwks_url", .path = "", .url = "http://127.0.0.1:1/j",
				  .algs = "RS256", .refresh = 3600, .kid_interval = 60};
	vis_error_clear(&e);
	assert_int_equal(jwks_open(&src, &set, &e), VIS_OK);
	struct jwks_stats st;
	jwks_stats(set, &st);
	assert_int_equal(st.keys, 0);
	assert_int_equal(st.fetches, 0);   /* nothing fetched before the first tick */
	json_t *k = new_key("f1");
	json_t *t = signed_jws(k);
	/* A flood of kids not held: one fetch per kid_interval. */
	for (int i = 0; i < 20; i++)
		assert_int_equal(jwks_verify(set, "f1", t, 1000 + i), JWKS_KID_UNKNOWN);
	jwks_stats(set, &st);
	assert_int_equal(st.fetches, 1);
	assert_int_equal(st.failures, 1);
	assert_int_equal(jwks_verify(set, "f2", t, 1060), JWKS_KID_UNKNOWN);
	jwks_stats(set, &st);
	assert_int_equal(st.fetches, 2);
	/* The periodic fetch after a failure: kid_interval later, not refresh. */
	assert_false(jwks_tick(set, 1100));
	assert_true(jwks_tick(set, 1120));
	assert_false(jwks_tick(set, 1150));
	jwks_stats(set, &st);
	assert_int_equal(st.fetches, 3);
	/* SIGHUP fetches whatever the intervals; a failure says why. */
	vis_error_clear(&e);
	assert_int_not_equal(jwks_reload(set, 1151, &e), VIS_OK);
	assert_non_null(strstr(e.msg, "nessuna risposta"));
	jwks_stats(set, &st);
	assert_int_equal(st.fetches, 4);
	assert_int_equal(st.failures, 4);
	assert_int_equal(st.keys, 0);
	jwks_free(set);
	json_decref(t);
	json_decref(k);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_documents),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_address),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
