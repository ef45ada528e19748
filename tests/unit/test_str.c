/* Unit tests of common/str: the copy and the format that refuse to cut, the bounded
 * growing buffer and its CSV and HTML appenders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/str.h"

static void test_copy_fits(void **state)
{
	(void)state;
	char d[6];
	assert_true(str_copy(d, sizeof d, "abcde")); /* 5 + NUL: exactly fits */
	assert_string_equal(d, "abcde");
	assert_true(str_copy(d, sizeof d, ""));
	assert_string_equal(d, "");
}

static void test_copy_refuses(void **state)
{
	(void)state;
	char d[6] = "xxxxx";
	assert_false(str_copy(d, sizeof d, "abcdef")); /* one byte too many */
	assert_string_equal(d, "");                     /* no cut prefix left */
	char one[1];
	assert_false(str_copy(one, sizeof one, "a"));
	assert_string_equal(one, "");
	assert_true(str_copy(one, sizeof one, ""));
}

static void test_copy_cut_utf8(void **state)
{
	(void)state;
	char d[5];
	assert_false(str_copy_cut(d, sizeof d, "abcd"));
	assert_string_equal(d, "abcd");
	assert_true(str_copy_cut(d, sizeof d, "abcde"));
	assert_string_equal(d, "abcd");
	/* "abcò": ò is 2 bytes at 3-4; cap 5 keeps 4 bytes: a b c + half of ò */
	assert_true(str_copy_cut(d, sizeof d, "abcòx"));
	assert_string_equal(d, "abc");
}

static void test_macros(void **state)
{
	(void)state;
	struct {
		char f[4];
	} x;
	assert_true(STR_COPY(x.f, "abc"));
	assert_false(STR_COPY(x.f, "abcd"));
	assert_string_equal(x.f, "");
	struct vis_error e = {0};
	assert_int_equal(STR_SET(x.f, "abc", "campo", &e), VIS_OK);
	assert_int_equal(STR_SET(x.f, "abcd", "campo", &e), VIS_ERR_LIMIT);
	assert_int_equal(e.code, VIS_ERR_LIMIT);
	assert_string_equal(e.msg, "campo: più lungo di 3 byte");
	STR_COPY_KNOWN(x.f, "ab");
	assert_string_equal(x.f, "ab");
	STR_COPY_KNOWN(x.f, "abcdef"); /* a bug: logged, cut, never overflows */
	assert_string_equal(x.f, "abc");
}

static void test_fmt(void **state)
{
	(void)state;
	char d[6] = "xxxxx";
	assert_true(str_fmt(d, sizeof d, "%s.%d", "abc", 1)); /* 5 + NUL: exactly fits */
	assert_string_equal(d, "abc.1");
	assert_false(str_fmt(d, sizeof d, "%s.%d", "abc", 12)); /* one byte over */
	assert_string_equal(d, "");                              /* no cut prefix left */
	assert_true(STR_FMT(d, "%s", ""));
	assert_string_equal(d, "");
	struct {
		char f[8];
	} x;
	assert_true(STR_FMT(x.f, "%s.key", "db"));
	assert_string_equal(x.f, "db.key");
	assert_false(STR_FMT(x.f, "%s.signing-key", "db"));
	assert_string_equal(x.f, "");
	struct vis_error e = {0};
	assert_int_equal(STR_FMT_SET(x.f, "percorso", &e, "%s.k", "abc"), VIS_OK);
	assert_string_equal(x.f, "abc.k");
	assert_int_equal(STR_FMT_SET(x.f, "percorso", &e, "%s.key", "abcd"), VIS_ERR_LIMIT);
	assert_string_equal(x.f, "");
	assert_string_equal(e.msg, "percorso: più lungo di 7 byte");
}

static void test_fmt_known(void **state)
{
	(void)state;
	char d[6];
	STR_FMT_KNOWN(d, "n=%d", 12);
	assert_string_equal(d, "n=12");
	STR_FMT_KNOWN(d, "%s", "abcdefgh"); /* a bug: logged, cut, never overflows */
	assert_string_equal(d, "abcde");
	/* "abcò": ò is 2 bytes at 3-4, cap 5 keeps 4 bytes: a b c + half of ò */
	STR_FMT_KNOWN_CAP(d, 5, "abc%s", "òx");
	assert_string_equal(d, "abc");
	STR_FMT_KNOWN_CAP(d, 6, "abc%s", "òx"); /* ò whole in 5 bytes */
	assert_string_equal(d, "abcò");
	/* a 3-byte character (—) cut after its first and second byte */
	STR_FMT_KNOWN_CAP(d, 5, "abc%s", "—");
	assert_string_equal(d, "abc");
	STR_FMT_KNOWN_CAP(d, 6, "abc%s", "—");
	assert_string_equal(d, "abc");
}

static void test_buf_empty_never_null(void **state)
{
	(void)state;
	struct strbuf sb;
	strbuf_init(&sb, 100);
	assert_non_null(sb.buf);
	assert_string_equal(sb.buf, "");
	size_t len = 99;
	char *s = strbuf_detach(&sb, &len);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	strbuf_release(&sb);
	assert_string_equal(sb.buf, "");
}

static void test_buf_grows(void **state)
{
	(void)state;
	struct strbuf sb;
	strbuf_init(&sb, 1 << 20);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(strbuf_addf(&sb, "%d,", i % 10), VIS_OK);
	assert_int_equal(sb.len, 20000);
	assert_int_equal(strlen(sb.buf), 20000);
	assert_memory_equal(sb.buf + 19980, "0,1,2,3,4,", 10);
	strbuf_release(&sb);
}

static void test_buf_maximum(void **state)
{
	(void)state;
	struct strbuf sb;
	strbuf_init(&sb, 10);
	assert_int_equal(strbuf_adds(&sb, "0123456789"), VIS_OK); /* exactly the max */
	assert_int_equal(sb.len, 10);
	assert_int_equal(strbuf_adds(&sb, "x"), VIS_ERR_LIMIT);
	assert_int_equal(sb.err, VIS_ERR_LIMIT);
	assert_string_equal(sb.buf, "0123456789"); /* still terminated, nothing cut in */
	/* the failure sticks: a later small append does not resume the text */
	strbuf_release(&sb);
	strbuf_init(&sb, 10);
	assert_int_equal(strbuf_adds(&sb, "01234567890"), VIS_ERR_LIMIT);
	assert_int_equal(strbuf_adds(&sb, "a"), VIS_ERR_LIMIT);
	assert_int_equal(strbuf_addf(&sb, "%s", "b"), VIS_ERR_LIMIT);
	assert_int_equal(strbuf_add_csv(&sb, "c", true), VIS_ERR_LIMIT);
	assert_int_equal(strbuf_add_html(&sb, "<"), VIS_ERR_LIMIT);
	size_t len = 7;
	assert_null(strbuf_detach(&sb, &len));
	assert_int_equal(len, 7);
	assert_string_equal(sb.buf, "");
	strbuf_release(&sb);
}

static void test_buf_addf_maximum(void **state)
{
	(void)state;
	struct strbuf sb;
	strbuf_init(&sb, 5);
	assert_int_equal(strbuf_addf(&sb, "%d", 12345), VIS_OK);
	assert_int_equal(strbuf_addf(&sb, "%d", 6), VIS_ERR_LIMIT);
	assert_string_equal(sb.buf, "12345");
	strbuf_release(&sb);
}

static char *csv(const char *cell)
{
	struct strbuf sb;
	strbuf_init(&sb, 1000);
	strbuf_add_csv(&sb, cell, true);
	return strbuf_detach(&sb, NULL);
}

/* addf writes in place when the text fits the room already allocated,
 * and otherwise grows: the text is whole either way, and what did not fit
 * the room is not left behind the terminator. */
static void test_buf_addf_in_place(void **state)
{
	(void)state;
	struct strbuf sb;
	strbuf_init(&sb, 1000);
	assert_int_equal(strbuf_addf(&sb, "%s", "ab"), VIS_OK);   /* grows: 256 */
	size_t alloc = sb.alloc;
	assert_int_equal(strbuf_addf(&sb, "%d-%s", 42, "x"), VIS_OK);
	assert_int_equal(sb.alloc, alloc);                           /* in place */
	assert_string_equal(sb.buf, "ab42-x");
	char big[400];
	memset(big, 'y', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(strbuf_addf(&sb, "[%s]", big), VIS_OK);    /* past the room */
	assert_int_equal(sb.len, 6 + 401);
	assert_int_equal(sb.buf[6], '[');
	assert_int_equal(sb.buf[sb.len - 1], ']');
	assert_int_equal(strlen(sb.buf), sb.len);
	/* past the maximum: refused, and the text written into the room
	 * while trying is not kept */
	strbuf_release(&sb);
	strbuf_init(&sb, 300);
	assert_int_equal(strbuf_addf(&sb, "%s", big + 150), VIS_OK); /* 249 bytes */
	assert_int_equal(strbuf_addf(&sb, "%s", big + 300), VIS_ERR_LIMIT); /* 99 */
	assert_int_equal(strlen(sb.buf), 249);
	strbuf_release(&sb);
}

static void test_buf_add_i64(void **state)
{
	(void)state;
	struct strbuf sb;
	strbuf_init(&sb, 100);
	const int64_t v[] = {0, 7, -7, 10, 1234567890123, INT64_MAX, INT64_MIN};
	for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
		char want[32];
		snprintf(want, sizeof want, "%lld", (long long)v[i]);
		strbuf_release(&sb);
		assert_int_equal(strbuf_add_i64(&sb, v[i]), VIS_OK);
		assert_string_equal(sb.buf, want);
	}
	strbuf_release(&sb);
	strbuf_init(&sb, 3);
	assert_int_equal(strbuf_add_i64(&sb, 1234), VIS_ERR_LIMIT);
	strbuf_release(&sb);
}

static void test_csv_quoting(void **state)
{
	(void)state;
	char *s = csv("a,\"b\"\nc");
	assert_string_equal(s, "\"a,\"\"b\"\"\nc\"\n");
	free(s);
	struct strbuf sb;
	strbuf_init(&sb, 100);
	strbuf_add_csv(&sb, "x", false);
	strbuf_add_csv(&sb, "", true);
	assert_string_equal(sb.buf, "\"x\",\"\"\n");
	strbuf_release(&sb);
}

static void test_csv_formulas(void **state)
{
	(void)state;
	static const char *const live[][2] = {
		{"=HYPERLINK(\"http://x\",\"click\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"click\"\")\"\n"},
		{"=1+1", "\"'=1+1\"\n"},
		{"+1+1", "\"'+1+1\"\n"},
		{"-1+1", "\"'-1+1\"\n"},
		{"-", "\"'-\"\n"},
		{"@SUM(A1)", "\"'@SUM(A1)\"\n"},
		{"\t=1", "\"'\t=1\"\n"},
		{"\r=1", "\"'\r=1\"\n"},
		{"-2.", "\"'-2.\"\n"},
		{"-.5", "\"'-.5\"\n"},
	};
	for (size_t i = 0; i < sizeof live / sizeof live[0]; i++) {
		char *s = csv(live[i][0]);
		assert_string_equal(s, live[i][1]);
		free(s);
	}
	/* numbers stay numbers; text with '=' inside is not a formula */
	static const char *const plain[][2] = {
		{"-12", "\"-12\"\n"}, {"-3.25", "\"-3.25\"\n"}, {"42", "\"42\"\n"},
		{"a=1", "\"a=1\"\n"}, {"'=1", "\"'=1\"\n"},
	};
	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
		char *s = csv(plain[i][0]);
		assert_string_equal(s, plain[i][1]);
		free(s);
	}
}

static void test_html(void **state)
{
	(void)state;
	struct strbuf sb;
	strbuf_init(&sb, 100);
	assert_int_equal(strbuf_add_html(&sb, "<a href=\"x\" title='y'>&</a>ò"), VIS_OK);
	assert_string_equal(sb.buf, "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;ò");
	strbuf_release(&sb);
	/* escaping counts against the maximum */
	strbuf_init(&sb, 8);
	assert_int_equal(strbuf_add_html(&sb, "<<"), VIS_OK); /* 8 bytes */
	assert_int_equal(strbuf_add_html(&sb, "a"), VIS_ERR_LIMIT);
	strbuf_release(&sb);
}

/* RFC 4648's vectors, the URL-safe alphabet, and libsodium's text for
 * every length up to 300 of random bytes: the receipts, tree heads and
 * hashes encoded by str_* must stay byte for byte what libsodium wrote. */
/* Numbers from text: digits only, and the bound checked without overflow,
 * against strtoll over every prefix of a few digit strings. */
static void test_numbers(void **state)
{
	(void)state;
	int64_t v = 7;
	assert_true(str_digits("036023", 6));
	assert_true(str_digits("", 0));
	assert_false(str_digits("03602", 6));
	assert_false(str_digits("0360231", 6));
	assert_false(str_digits("03602a", 6));
	assert_false(str_digits(" 36023", 6));
	assert_false(str_digits("+36023", 6));
	assert_true(str_uint("0", 0, &v) && v == 0);
	assert_true(str_uint("42", 42, &v) && v == 42);
	assert_true(str_uint("007", 7, &v) && v == 7);
	assert_true(str_uint("9223372036854775807", INT64_MAX, &v) && v == INT64_MAX);
	assert_true(str_uint("999999999999999999", STR_UINT18_MAX, &v) && v == STR_UINT18_MAX);
	const char *bad[] = {"", " 5", "+5", "-5", "5abc", "5 ", "0x5", "5.0", "1e3", "９",
			     "9223372036854775808", "99999999999999999999999",
			     "1000000000000000000"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		v = 7;
		assert_false(str_uint(bad[i], STR_UINT18_MAX, &v));
		assert_int_equal(v, 0);
	}
	assert_false(str_uint(NULL, 5, &v));
	assert_false(str_uint("5", -1, &v));
	/* a digit above the bound: 5 is not at most 3 (d > max) */
	assert_false(str_uint("5", 3, &v));
	assert_false(str_uint("43", 42, &v));
	assert_false(str_uint("1001", 1000, &v));
	assert_true(str_uint("1000", 1000, &v) && v == 1000);
	/* every prefix of these against strtoll, under bounds around it */
	const char *digits[] = {"9223372036854775807", "1234567890123456789", "1000000000000000000"};
	for (size_t d = 0; d < sizeof digits / sizeof digits[0]; d++)
		for (size_t n = 1; n <= strlen(digits[d]); n++) {
			char s[32];
			memcpy(s, digits[d], n);
			s[n] = '\0';
			long long want = strtoll(s, NULL, 10);
			assert_true(str_uint(s, want, &v) && v == want);
			assert_true(want == 0 || !str_uint(s, want - 1, &v));
			assert_true(str_digits(s, n) && !str_digits(s, n - 1));
		}
	/* str_u64: the same rule up to UINT64_MAX, and not one past it */
	uint64_t u = 7;
	assert_true(str_u64("18446744073709551615", UINT64_MAX, &u) && u == UINT64_MAX);
	assert_true(str_u64("0", UINT64_MAX, &u) && u == 0);
	assert_true(str_u64("9223372036854775808", UINT64_MAX, &u) &&
		    u == UINT64_C(9223372036854775808));
	const char *bad64[] = {"", " 5", "+5", "-5", "5abc", "5 ", "0x5", "1e3",
			       "18446744073709551616", "18446744073709551625",
			       "99999999999999999999", "184467440737095516150"};
	for (size_t i = 0; i < sizeof bad64 / sizeof bad64[0]; i++) {
		u = 7;
		assert_false(str_u64(bad64[i], UINT64_MAX, &u));
		assert_true(u == 0);
	}
	assert_false(str_u64(NULL, UINT64_MAX, &u));
	assert_false(str_u64("43", 42, &u));
	assert_true(str_u64("42", 42, &u) && u == 42);
	/* every prefix of UINT64_MAX against strtoull, under bounds around it */
	const char *m = "18446744073709551615";
	for (size_t n = 1; n <= strlen(m); n++) {
		char s[32];
		memcpy(s, m, n);
		s[n] = '\0';
		unsigned long long want = strtoull(s, NULL, 10);
		assert_true(str_u64(s, want, &u) && u == want);
		assert_true(!str_u64(s, want - 1, &u));
	}
}

static void test_hex_base64(void **state)
{
	(void)state;
	static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const std[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
					  "Zm9vYmFy"};
	static const char *const url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	char out[1024], ref[1024];
	for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
		str_base64(out, sizeof out, in[i], strlen(in[i]), STR_B64);
		assert_string_equal(out, std[i]);
		str_base64(out, sizeof out, in[i], strlen(in[i]), STR_B64URL);
		assert_string_equal(out, url[i]);
	}
	const unsigned char hi[] = {0xfb, 0xff, 0xbf};
	str_base64(out, sizeof out, hi, sizeof hi, STR_B64URL);
	assert_string_equal(out, "-_-_");
	str_base64(out, sizeof out, hi, sizeof hi, STR_B64);
	assert_string_equal(out, "+/+/");
	str_hex(out, hi, sizeof hi);
	assert_string_equal(out, "fbffbf");
	assert_int_equal(sodium_init() < 0, 0);
	unsigned char b[300];
	for (size_t n = 0; n <= sizeof b; n++) {
		randombytes_buf(b, n);
		sodium_bin2base64(ref, sizeof ref, b, n, sodium_base64_VARIANT_ORIGINAL);
		str_base64(out, sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL), b, n,
			   STR_B64);
		assert_string_equal(out, ref);
		sodium_bin2base64(ref, sizeof ref, b, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		str_base64(out,
			   sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
			   b, n, STR_B64URL);
		assert_string_equal(out, ref);
		sodium_bin2hex(ref, sizeof ref, b, n);
		str_hex(out, b, n);
		assert_string_equal(out, ref);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_fits),
		cmocka_unit_test(test_copy_refuses),
		cmocka_unit_test(test_copy_cut_utf8),
		cmocka_unit_test(test_macros),
		cmocka_unit_test(test_fmt),
		cmocka_unit_test(test_fmt_known),
		cmocka_unit_test(test_buf_empty_never_null),
		cmocka_unit_test(test_buf_grows),
		cmocka_unit_test(test_buf_maximum),
		cmocka_unit_test(test_buf_addf_maximum),
		cmocka_unit_test(test_buf_addf_in_place),
		cmocka_unit_test(test_buf_add_i64),
		cmocka_unit_test(test_csv_quoting),
		cmocka_unit_test(test_csv_formulas),
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_hex_base64),
		cmocka_unit_test(test_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
