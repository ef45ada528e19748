/* Unit tests: secrets sealed at rest (auth/sealed.h): round trip, a
 * changed byte or another key does not open, the key file, mail bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/sealed.h"

static void test_round_trip(void **state)
{
	(void)state;
	struct sealed_key k, other;
	randombytes_buf(k.k, sizeof k.k);
	randombytes_buf(other.k, sizeof other.k);
	char sealed[512], again[512], plain[256];
	struct vis_error e = {0};
	assert_int_equal(sealed_seal(&k, "JBSWY3DPEHPK3PXP", sealed, sizeof sealed, &e), VIS_OK);
	assert_true(sealed_is(sealed));
	assert_null(strstr(sealed, "JBSWY3DPEHPK3PXP"));
	assert_int_equal(sealed_seal(&k, "JBSWY3DPEHPK3PXP", again, sizeof again, &e), VIS_OK);
	assert_string_not_equal(sealed, again);   /* a fresh nonce each time */
	assert_int_equal(sealed_open(&k, sealed, plain, sizeof plain, &e), VIS_OK);
	assert_string_equal(plain, "JBSWY3DPEHPK3PXP");
	assert_int_equal(sealed_open(&other, sealed, plain, sizeof plain, &e), VIS_ERR_INVALID);
	sealed[10] = sealed[10] == 'A' ? 'B' : 'A';
	assert_int_equal(sealed_open(&k, sealed, plain, sizeof plain, &e), VIS_ERR_INVALID);
	assert_int_equal(sealed_open(&k, "JBSWY3DPEHPK3PXP", plain, sizeof plain, &e),
			 VIS_ERR_INVALID);
}

static void test_key_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/visura-sealed-XXXXXX", path[128];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/k.secrets-key", dir);
	struct sealed_key a, b;
	struct vis_error e = {0};
	assert_int_equal(sealed_key_ensure(path, &a, &e), VIS_OK);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(sealed_key_ensure(path, &b, &e), VIS_OK);
	assert_memory_equal(a.k, b.k, sizeof a.k);
	FILE *f = fopen(path, "w");
	fputs("not hex\n", f);
	fclose(f);
	assert_int_equal(sealed_key_ensure(path, &b, &e), VIS_ERR_INVALID);
	unlink(path);
	rmdir(dir);
}

static void test_body(void **state)
{
	(void)state;
	struct sealed_key k;
	randombytes_buf(k.k, sizeof k.k);
	char sealed[512], body[1024], out[1024];
	struct vis_error e = {0};
	assert_int_equal(sealed_seal(&k, "Temp-Pass-123", sealed, sizeof sealed, &e), VIS_OK);
	snprintf(body, sizeof body, "utente: u\npassword: " SEALED_MARK "%s}\nfine\n", sealed);
	assert_int_equal(sealed_body(&k, body, "", out, sizeof out, &e), VIS_OK);
	assert_string_equal(out, "utente: u\npassword: Temp-Pass-123\nfine\n");
	assert_int_equal(sealed_body(NULL, body, "[riservata]", out, sizeof out, &e), VIS_OK);
	assert_string_equal(out, "utente: u\npassword: [riservata]\nfine\n");
	assert_int_equal(sealed_body(&k, "no secret here", "", out, sizeof out, &e), VIS_OK);
	assert_string_equal(out, "no secret here");
	assert_int_equal(sealed_body(&k, body, "", out, 20, &e), VIS_ERR_INVALID);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_key_file),
		cmocka_unit_test(test_body),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
