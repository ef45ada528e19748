/* Unit tests: Argon2id hashing, the password policy, generation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "auth/password.h"

static const char *data_dir(void)
{
	const char *d = getenv("VISURA_DATA_DIR");
	return d && *d ? d : "data";
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int setup(void **state)
{
	(void)state;
	struct vis_error e = {0};
	if (password_init(data_dir(), &e) != VIS_OK) {
		print_error("%s\n", e.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	password_shutdown();
	return 0;
}

static void test_hash_verify(void **state)
{
	(void)state;
	char h1[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX];
	struct vis_error e = {0};
	double t0 = now_ms();
	assert_int_equal(password_hash("Cavallo-Batteria-Graffetta", h1, &e), VIS_OK);
	double t1 = now_ms();
	assert_true(password_verify(h1, "Cavallo-Batteria-Graffetta"));
	double t2 = now_ms();
	print_message("argon2id m=19MiB t=2: hash %.1f ms, verify %.1f ms\n", t1 - t0, t2 - t1);
	/* Argon2id with the chosen cost, in the PHC string format. */
	assert_memory_equal(h1, "$argon2id$v=19$m=19456,t=2,p=1$", 31);
	assert_false(password_verify(h1, "cavallo-batteria-graffetta"));
	assert_false(password_verify(h1, "Cavallo-Batteria-Graffett"));
	assert_false(password_verify(h1, ""));
	/* A fresh salt each time. */
	assert_int_equal(password_hash("Cavallo-Batteria-Graffetta", h2, &e), VIS_OK);
	assert_string_not_equal(h1, h2);
	assert_true(password_verify(h2, "Cavallo-Batteria-Graffetta"));
	assert_false(password_needs_rehash(h1));
}

static void test_verify_bad_input(void **state)
{
	(void)state;
	char h[PASSWORD_HASH_MAX];
	struct vis_error e = {0};
	assert_int_equal(password_hash("abc", h, &e), VIS_OK);
	assert_false(password_verify(NULL, "abc"));
	assert_false(password_verify(h, NULL));
	assert_false(password_verify("", "abc"));
	assert_false(password_verify("$argon2id$garbage", "abc"));
	/* A hash string with no NUL within PASSWORD_HASH_MAX bytes. */
	char unterminated[PASSWORD_HASH_MAX + 8];
	memset(unterminated, 'a', sizeof unterminated - 1);
	unterminated[sizeof unterminated - 1] = '\0';
	assert_false(password_verify(unterminated, "abc"));
	/* Overlong input is refused, not cut. */
	char lng[PASSWORD_MAX_LEN + 2];
	memset(lng, 'x', sizeof lng - 1);
	lng[sizeof lng - 1] = '\0';
	assert_int_equal(password_hash(lng, h, &e), VIS_ERR_INVALID);
	assert_non_null(strstr(e.msg, "supera 256"));
	lng[PASSWORD_MAX_LEN] = '\0';
	vis_error_clear(&e);
	assert_int_equal(password_hash(lng, h, &e), VIS_OK);
	assert_true(password_verify(h, lng));
	lng[PASSWORD_MAX_LEN] = 'x';
	assert_false(password_verify(h, lng));
}

static void test_needs_rehash(void **state)
{
	(void)state;
	char h[crypto_pwhash_STRBYTES];
	/* Same algorithm, other cost: must be re-hashed. */
	assert_int_equal(crypto_pwhash_str(h, "abc", 3, 3, 19 * 1024 * 1024), 0);
	assert_true(password_verify(h, "abc"));
	assert_true(password_needs_rehash(h));
	assert_int_equal(crypto_pwhash_str(h, "abc", 3, 2, 12 * 1024 * 1024), 0);
	assert_true(password_needs_rehash(h));
	/* Argon2i: verifies, but is not the current algorithm. */
	assert_int_equal(crypto_pwhash_str_alg(h, "abc", 3, 3, 19 * 1024 * 1024,
					       crypto_pwhash_ALG_ARGON2I13), 0);
	assert_true(password_verify(h, "abc"));
	assert_true(password_needs_rehash(h));
	assert_true(password_needs_rehash("not a hash"));
	assert_true(password_needs_rehash(NULL));
}

static void test_burn(void **state)
{
	(void)state;
	/* The dummy verification does the real work: an Argon2id run takes
	 * milliseconds, a skipped one microseconds. */
	double t0 = now_ms();
	password_burn("some-password-guess");
	double t1 = now_ms();
	print_message("password_burn: %.1f ms\n", t1 - t0);
	assert_true(t1 - t0 > 2.0);
	password_burn(NULL);
}

static void test_policy_length(void **state)
{
	(void)state;
	assert_string_equal(password_policy_check("Kq7#mZp2vR9", NULL, NULL, 0),
			    "la password è più corta di 12 caratteri");
	assert_null(password_policy_check("Kq7#mZp2vR9w", NULL, NULL, 0));
	/* Code points are counted, not bytes: 11 accented letters are 22 bytes. */
	assert_string_equal(password_policy_check("àèìòùàèìòùà", NULL, NULL, 0),
			    "la password è più corta di 12 caratteri");
	assert_null(password_policy_check("àèìòùàèìòùàè", NULL, NULL, 0));
	char lng[PASSWORD_MAX_LEN + 2];
	memset(lng, 'q', sizeof lng - 1);
	lng[sizeof lng - 1] = '\0';
	assert_string_equal(password_policy_check(lng, NULL, NULL, 0),
			    "la password supera 256 byte");
	lng[PASSWORD_MAX_LEN] = '\0';
	assert_null(password_policy_check(lng, NULL, NULL, 0));
	assert_string_equal(password_policy_check(NULL, NULL, NULL, 0), "password assente");
}

static void test_policy_encoding(void **state)
{
	(void)state;
	const char *bad_utf8[] = {
		"abcdefghijkl\xff",             /* invalid byte */
		"abcdefghijkl\xc0\xaf",         /* overlong '/' */
		"abcdefghijkl\xed\xa0\x80",     /* surrogate */
		"abcdefghijkl\xe2\x82",         /* truncated */
		"abcdefghijkl\xf4\x90\x80\x80", /* above U+10FFFF */
	};
	for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++)
		assert_string_equal(password_policy_check(bad_utf8[i], NULL, NULL, 0),
				    "la password non è testo UTF-8 valido");
	const char *controls[] = {
		"abcdefghijkl\t", "abcdef\nghijkl", "abcdefghijkl\x7f",
		"abcdefghijkl\xc2\x85", /* U+0085, a C1 control */
	};
	for (size_t i = 0; i < sizeof controls / sizeof controls[0]; i++)
		assert_string_equal(password_policy_check(controls[i], NULL, NULL, 0),
				    "la password contiene caratteri di controllo");
	/* U+00A0 follows the C1 block and is an ordinary character. */
	assert_null(password_policy_check("abcdefghijkl\xc2\xa0", NULL, NULL, 0));
}

static void test_policy_user_id(void **state)
{
	(void)state;
	assert_string_equal(password_policy_check("Xx-MARIO.Rossi-2026", "mario.rossi", NULL, 0),
			    "la password contiene il nome utente");
	assert_string_equal(password_policy_check("zq8bobzq8vwk", "Bob", NULL, 0),
			    "la password contiene il nome utente");
	assert_null(password_policy_check("Xx-MARIO.Rossi-2026", "mario.bianchi", NULL, 0));
	/* Ids shorter than 3 characters are not searched for. */
	assert_null(password_policy_check("zq8bozq8vwkt", "bo", NULL, 0));
	assert_null(password_policy_check("zq8bobzq8vwk", "", NULL, 0));
	assert_null(password_policy_check("zq8bobzq8vwk", NULL, NULL, 0));
}

static void test_common(void **state)
{
	(void)state;
	assert_true(password_is_common("password"));
	assert_true(password_is_common("PassWord"));
	assert_true(password_is_common("1qaz2wsx3edc"));
	assert_false(password_is_common("Kq7#mZp2vR9w"));
	assert_false(password_is_common(""));
	assert_false(password_is_common(NULL));
	/* Long enough, so only the list refuses it. */
	assert_string_equal(password_policy_check("QAZWSXEDCRFV", NULL, NULL, 0),
			    "la password è troppo comune");
	assert_string_equal(password_policy_check("administrator", NULL, NULL, 0),
			    "la password è troppo comune");
	assert_null(password_policy_check("administrator!", NULL, NULL, 0));
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void test_init_list(void **state)
{
	(void)state;
	char dir[] = "/tmp/visura-pwtest-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof path, "%s/common-passwords.txt", dir);
	struct vis_error e = {0};

	/* Missing file. */
	assert_int_equal(password_init(dir, &e), VIS_ERR_IO);
	assert_non_null(strstr(e.msg, "common-passwords.txt"));

	/* CRLF, upper case, duplicates, blank lines, no final newline. */
	write_file(path, "Zebra-Crossing-99\r\n\r\nalpha-beta-gamma\nZEBRA-crossing-99\n\nomega");
	vis_error_clear(&e);
	assert_int_equal(password_init(dir, &e), VIS_OK);
	assert_true(password_is_common("zebra-crossing-99"));
	assert_true(password_is_common("ALPHA-BETA-GAMMA"));
	assert_true(password_is_common("Omega"));
	assert_false(password_is_common("password"));
	assert_false(password_is_common("zebra-crossing-9"));

	/* Not UTF-8: refused with the line number. */
	write_file(path, "good-one-here\nbad\xff-one\n");
	vis_error_clear(&e);
	assert_int_equal(password_init(dir, &e), VIS_ERR_INVALID);
	assert_non_null(strstr(e.msg, "riga 2"));

	write_file(path, "\n\n");
	vis_error_clear(&e);
	assert_int_equal(password_init(dir, &e), VIS_ERR_INVALID);

	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);

	/* Back to the shipped list for the other tests. */
	vis_error_clear(&e);
	assert_int_equal(password_init(data_dir(), &e), VIS_OK);
	assert_true(password_is_common("password"));
}

static void test_history(void **state)
{
	(void)state;
	char h1[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX];
	struct vis_error e = {0};
	assert_int_equal(password_hash("Primo-Segreto-2025", h1, &e), VIS_OK);
	assert_int_equal(password_hash("Secondo-Segreto-2025", h2, &e), VIS_OK);
	const char *prev[] = {h1, NULL, h2};
	assert_string_equal(password_policy_check("Secondo-Segreto-2025", "mrossi", prev, 3),
			    "la password è stata usata di recente");
	assert_string_equal(password_policy_check("Primo-Segreto-2025", "mrossi", prev, 3),
			    "la password è stata usata di recente");
	assert_null(password_policy_check("Terzo-Segreto-2025", "mrossi", prev, 3));
	/* Only the first n entries count. */
	assert_null(password_policy_check("Secondo-Segreto-2025", "mrossi", prev, 2));
	assert_null(password_policy_check("Secondo-Segreto-2025", "mrossi", NULL, 0));
}

static void test_generate(void **state)
{
	(void)state;
	static const char alphabet[] =
		"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%*+-=?@_";
	char seen[50][17];
	struct vis_error e = {0};
	for (int i = 0; i < 50; i++) {
		char pw[32];
		assert_int_equal(password_generate(pw, sizeof pw, 16, &e), VIS_OK);
		assert_int_equal(strlen(pw), 16);
		assert_int_equal(strspn(pw, alphabet), 16);
		assert_null(strpbrk(pw, "0O1lI"));
		assert_non_null(strpbrk(pw, "ABCDEFGHJKLMNPQRSTUVWXYZ"));
		assert_non_null(strpbrk(pw, "abcdefghijkmnopqrstuvwxyz"));
		assert_non_null(strpbrk(pw, "23456789"));
		assert_non_null(strpbrk(pw, "!#%*+-=?@_"));
		assert_null(password_policy_check(pw, NULL, NULL, 0));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(pw, seen[j]);
		memcpy(seen[i], pw, 17);
	}
	char big[PASSWORD_MAX_LEN + 1];
	assert_int_equal(password_generate(big, sizeof big, PASSWORD_MAX_LEN, &e), VIS_OK);
	assert_int_equal(strlen(big), PASSWORD_MAX_LEN);
	char small[16];
	assert_int_equal(password_generate(small, sizeof small, 15, &e), VIS_ERR_INVALID);
	assert_int_equal(password_generate(small, sizeof small, 16, &e), VIS_ERR_INVALID);
	assert_int_equal(password_generate(NULL, 32, 16, &e), VIS_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_verify),
		cmocka_unit_test(test_verify_bad_input),
		cmocka_unit_test(test_needs_rehash),
		cmocka_unit_test(test_burn),
		cmocka_unit_test(test_policy_length),
		cmocka_unit_test(test_policy_encoding),
		cmocka_unit_test(test_policy_user_id),
		cmocka_unit_test(test_common),
		cmocka_unit_test(test_init_list),
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_generate),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
