/* Unit tests: TOTP (RFC 6238) codes, drift, replay, secrets, URIs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "auth/totp.h"

/* RFC 6238 appendix B: the SHA1 key is the ASCII "12345678901234567890". */
#define RFC_SECRET "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

static int setup(void **state)
{
	(void)state;
	struct vis_error e = {0};
	if (totp_init(&e) != VIS_OK) {
		print_error("%s\n", e.msg);
		return -1;
	}
	return 0;
}

static void check_code(const char *secret, int64_t t, const char *want)
{
	char out[7];
	struct vis_error e = {0};
	if (totp_code(secret, t, out, &e) != VIS_OK)
		fail_msg("t=%lld: %s", (long long)t, e.msg);
	if (strcmp(out, want) != 0)
		fail_msg("t=%lld: got %s, want %s", (long long)t, out, want);
}

static void test_rfc6238_vectors(void **state)
{
	(void)state;
	/* The 8-digit SHA1 values of RFC 6238, last 6 digits. */
	check_code(RFC_SECRET, 59, "287082");                  /* 94287082 */
	check_code(RFC_SECRET, 1111111109, "081804");          /* 07081804 */
	check_code(RFC_SECRET, 1111111111, "050471");          /* 14050471 */
	check_code(RFC_SECRET, 1234567890, "005924");          /* 89005924 */
	check_code(RFC_SECRET, 2000000000, "279037");          /* 69279037 */
	check_code(RFC_SECRET, 20000000000LL, "353130");       /* 65353130 */
	/* Same 30-second step, same code; lower case and padding accepted. */
	check_code(RFC_SECRET, 30, "287082");
	check_code("gezdgnbvgy3tqojqgezdgnbvgy3tqojq", 59, "287082");
	check_code(RFC_SECRET "====", 59, "287082");
}

static void test_code_errors(void **state)
{
	(void)state;
	char out[7];
	struct vis_error e = {0};
	assert_int_equal(totp_code("GEZDGNBVGY3TQOJQ", 59, out, &e), VIS_ERR_INVALID); /* 80 bits */
	assert_int_equal(totp_code("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1", 59, out, &e),
			 VIS_ERR_INVALID);                                       /* '1' */
	assert_int_equal(totp_code("", 59, out, &e), VIS_ERR_INVALID);
	assert_int_equal(totp_code(NULL, 59, out, &e), VIS_ERR_INVALID);
	assert_int_equal(totp_code(RFC_SECRET "=A", 59, out, &e), VIS_ERR_INVALID);
	assert_int_equal(totp_code(RFC_SECRET, -1, out, &e), VIS_ERR_INVALID);
	assert_int_equal(totp_code(RFC_SECRET, INT64_MAX, out, &e), VIS_ERR_INVALID);
}

static void test_verify(void **state)
{
	(void)state;
	const int64_t t = 1234567890;          /* step 41152263, code 005924 */
	int64_t last = 0;
	assert_true(totp_verify(RFC_SECRET, "005924", t, &last));
	assert_int_equal(last, t / 30);
	/* Replay: the same code again, even in the same step, is refused. */
	assert_false(totp_verify(RFC_SECRET, "005924", t, &last));
	assert_false(totp_verify(RFC_SECRET, "005924", t + 1, &last));
	assert_int_equal(last, t / 30);
	/* Wrong code. */
	last = 0;
	assert_false(totp_verify(RFC_SECRET, "005925", t, &last));
	assert_int_equal(last, 0);
}

static void test_drift(void **state)
{
	(void)state;
	const int64_t t = 1111111109;          /* code 081804 */
	int64_t last;
	/* One step either way is accepted. */
	last = 0;
	assert_true(totp_verify(RFC_SECRET, "081804", t + 30, &last));
	assert_int_equal(last, t / 30);
	last = 0;
	assert_true(totp_verify(RFC_SECRET, "081804", t - 30, &last));
	assert_int_equal(last, t / 30);
	/* Two steps are not. */
	last = 0;
	assert_false(totp_verify(RFC_SECRET, "081804", t + 60, &last));
	assert_false(totp_verify(RFC_SECRET, "081804", t - 60, &last));
	assert_int_equal(last, 0);
	/* Step boundaries: t=59 is the last second of step 1. */
	last = 0;
	assert_true(totp_verify(RFC_SECRET, "287082", 89, &last));     /* step 2 */
	last = 0;
	assert_false(totp_verify(RFC_SECRET, "287082", 90, &last));    /* step 3 */
	last = 0;
	assert_true(totp_verify(RFC_SECRET, "287082", 0, &last));      /* step 0 */
}

static void test_replay_older_step(void **state)
{
	(void)state;
	char cur[7], prev[7];
	struct vis_error e = {0};
	const int64_t now = 1700000000;
	assert_int_equal(totp_code(RFC_SECRET, now, cur, &e), VIS_OK);
	assert_int_equal(totp_code(RFC_SECRET, now - 30, prev, &e), VIS_OK);
	assert_string_not_equal(cur, prev);
	int64_t last = 0;
	assert_true(totp_verify(RFC_SECRET, cur, now, &last));
	/* The previous step's code is inside the drift window but older than
	 * the step already used. */
	assert_false(totp_verify(RFC_SECRET, prev, now, &last));
	assert_int_equal(last, now / 30);
	/* The other way round, both in turn are fine. */
	last = 0;
	assert_true(totp_verify(RFC_SECRET, prev, now, &last));
	assert_true(totp_verify(RFC_SECRET, cur, now, &last));
	assert_int_equal(last, now / 30);
}

static void test_malformed(void **state)
{
	(void)state;
	const char *bad[] = {"12345", "abcdef", "1234567", "", "28708 ", " 287082", "287 082",
			     "2870８", "-28708", "+28708", "287082\n"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t last = 0;
		if (totp_verify(RFC_SECRET, bad[i], 59, &last))
			fail_msg("\"%s\" accepted", bad[i]);
		assert_int_equal(last, 0);
	}
	int64_t last = 0;
	assert_false(totp_verify(RFC_SECRET, NULL, 59, &last));
	assert_false(totp_verify(NULL, "287082", 59, &last));
	assert_false(totp_verify(RFC_SECRET, "287082", 59, NULL));
	assert_false(totp_verify("GEZDGNBVGY3TQOJQ", "287082", 59, &last));
	assert_false(totp_verify("not base32!", "287082", 59, &last));
	assert_false(totp_verify(RFC_SECRET, "287082", -1, &last));
	assert_false(totp_verify(RFC_SECRET, "287082", INT64_MAX, &last));
	assert_int_equal(last, 0);
	assert_true(totp_verify(RFC_SECRET, "287082", 59, &last));
}

static void test_secret_new(void **state)
{
	(void)state;
	char a[TOTP_SECRET_B32_MAX], b[TOTP_SECRET_B32_MAX];
	struct vis_error e = {0};
	assert_int_equal(totp_secret_new(a, &e), VIS_OK);
	assert_int_equal(totp_secret_new(b, &e), VIS_OK);
	assert_int_equal(strlen(a), 32);        /* 160 bits */
	assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), 32);
	assert_string_not_equal(a, b);
	char code[7];
	assert_int_equal(totp_code(a, 1700000000, code, &e), VIS_OK);
	int64_t last = 0;
	assert_true(totp_verify(a, code, 1700000000, &last));
}

static void test_uri(void **state)
{
	(void)state;
	char out[512];
	struct vis_error e = {0};
	assert_int_equal(totp_uri(RFC_SECRET, "mario.rossi@comune.modena.it", NULL, out,
				  sizeof out, &e), VIS_OK);
	assert_string_equal(out, "otpauth://totp/visura:mario.rossi%40comune.modena.it?secret="
			    RFC_SECRET "&issuer=visura&algorithm=SHA1&digits=6&period=30");
	assert_int_equal(totp_uri("gezdgnbvgy3tqojqgezdgnbvgy3tqojq", "a:b c", "Comune di Modena",
				  out, sizeof out, &e), VIS_OK);
	assert_string_equal(out, "otpauth://totp/Comune%20di%20Modena:a%3Ab%20c?secret="
			    RFC_SECRET "&issuer=Comune%20di%20Modena&algorithm=SHA1&digits=6&period=30");
	/* Too small a buffer: refused, nothing half-written. */
	char small[40];
	assert_int_equal(totp_uri(RFC_SECRET, "mrossi", NULL, small, sizeof small, &e),
			 VIS_ERR_LIMIT);
	assert_string_equal(small, "");
	vis_error_clear(&e);
	assert_int_equal(totp_uri("bad!", "mrossi", NULL, out, sizeof out, &e), VIS_ERR_INVALID);
	assert_int_equal(totp_uri(RFC_SECRET, "", NULL, out, sizeof out, &e), VIS_ERR_INVALID);
	assert_int_equal(totp_uri(RFC_SECRET, "a\nb", NULL, out, sizeof out, &e), VIS_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6238_vectors),
		cmocka_unit_test(test_code_errors),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_drift),
		cmocka_unit_test(test_replay_older_step),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_secret_new),
		cmocka_unit_test(test_uri),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
