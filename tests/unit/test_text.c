/* Unit tests of common/text: the direction controls (Trojan Source) are
 * refused by utf8_valid and neutralised by utf8_scrub, their neighbours
 * are not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/text.h"

/* UTF-8 of one code point (BMP). */
static size_t enc(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	out[0] = (char)(0xE0 | (cp >> 12));
	out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[2] = (char)(0x80 | (cp & 0x3F));
	return 3;
}

static const uint32_t bidi[] = {0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066,
				0x2067, 0x2068, 0x2069, 0x200E, 0x200F, 0x061C};
/* the code points on either side of each range: ordinary text */
static const uint32_t near[] = {0x2029, 0x202F, 0x2065, 0x206A, 0x200D, 0x2010,
				0x061B, 0x061D, 0x00E0, 0x05D0, 0x0627};

static void test_bidi_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bidi / sizeof bidi[0]; i++) {
		char s[16] = "via ";
		size_t n = 4 + enc(bidi[i], s + 4);
		memcpy(s + n, "roma", 5);
		n += 4;
		assert_true(text_bidi_control(bidi[i]));
		assert_false(utf8_valid(s, n));
		uint32_t cp = 0;
		assert_true(text_bidi_find(s, n, &cp));
		assert_int_equal(cp, bidi[i]);
		utf8_scrub(s);
		assert_string_equal(s, "via ?roma");
	}
}

static void test_neighbours_accepted(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof near / sizeof near[0]; i++) {
		char s[16] = "x";
		size_t n = 1 + enc(near[i], s + 1);
		s[n] = '\0';
		char copy[16];
		memcpy(copy, s, n + 1);
		assert_false(text_bidi_control(near[i]));
		assert_true(utf8_valid(s, n));
		uint32_t cp;
		assert_false(text_bidi_find(s, n, &cp));
		utf8_scrub(s);
		assert_string_equal(s, copy);
	}
}

static void test_scrub_mixed(void **state)
{
	(void)state;
	/* malformed byte, override, isolate, then plain text */
	char s[] = "a\xC3(b\xE2\x80\xAE" "c\xE2\x81\xA6" "d\xC3\xA0";
	utf8_scrub(s);
	assert_string_equal(s, "a?(b?c?d\xC3\xA0");
	/* a malformed run around a control is still found */
	uint32_t cp;
	assert_true(text_bidi_find("\xFF\xE2\x80\xAE", 4, &cp));
	assert_int_equal(cp, 0x202E);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bidi_refused),
		cmocka_unit_test(test_neighbours_accepted),
		cmocka_unit_test(test_scrub_mixed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
