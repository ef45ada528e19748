/* Unit tests: the persons of an access record (audit/subjects.h) — kept
 * once each, in the order first named, never cut: the set grows to
 * SUBJECTS_MAX persons and then refuses, unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/subjects.h"

static void code(char out[17], int i)
{
	snprintf(out, 17, "PRSTST%05dZ%04d", i % 100000, (i / 100000) % 10000);
}

static void test_order_and_duplicates(void **state)
{
	(void)state;
	struct subjects s;
	struct vis_error e = {0};
	subjects_init(&s);
	assert_string_equal(subjects_text(&s), "");
	assert_int_equal(subjects_add(&s, "RSSMRA80A01F257G", &e), VIS_OK);
	assert_int_equal(subjects_add(&s, "BNCNNA82C55F257X", &e), VIS_OK);
	assert_int_equal(subjects_add(&s, "RSSMRA80A01F257G", &e), VIS_OK);
	assert_string_equal(subjects_text(&s), "RSSMRA80A01F257G,BNCNNA82C55F257X");
	assert_int_equal(subjects_count(&s), 2);
	assert_true(subjects_has(&s, "BNCNNA82C55F257X"));
	assert_false(subjects_has(&s, "BNCNNA82C55F257"));     /* a prefix is not a member */
	assert_false(subjects_has(&s, "RSSMRA80A01F257G,BNCNNA82C55F257X"));
	/* A prefix of a member is another person, not a duplicate. */
	assert_int_equal(subjects_add(&s, "RSSMRA80A01F257", &e), VIS_OK);
	assert_int_equal(subjects_count(&s), 3);
	subjects_release(&s);
	assert_int_equal(subjects_count(&s), 0);
	assert_string_equal(subjects_text(&s), "");
}

static void test_invalid_codes(void **state)
{
	(void)state;
	struct subjects s;
	subjects_init(&s);
	const char *bad[] = {"", "RSSMRA80A01F257GX", "RSS,RA80A01F257G", "RSS MRA", "RSS\nMRA",
			     "RSS\xc3\xa0"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct vis_error e = {0};
		assert_int_equal(subjects_add(&s, bad[i], &e), VIS_ERR_INVALID);
		assert_true(e.msg[0] != '\0');
	}
	assert_int_equal(subjects_count(&s), 0);
	subjects_release(&s);
}

/* 1, 120, 121, 5,000 and SUBJECTS_MAX persons are all kept, in order; one
 * more is refused with VIS_ERR_LIMIT and leaves the set as it was. */
static void test_grows_to_the_bound(void **state)
{
	(void)state;
	const int sizes[] = {1, 120, 121, 5000, SUBJECTS_MAX};
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		struct subjects s;
		struct vis_error e = {0};
		char c[17];
		subjects_init(&s);
		for (int i = 0; i < sizes[k]; i++) {
			code(c, i);
			assert_int_equal(subjects_add(&s, c, &e), VIS_OK);
			assert_int_equal(subjects_add(&s, c, &e), VIS_OK);   /* once only */
		}
		assert_int_equal(subjects_count(&s), sizes[k]);
		assert_int_equal(strlen(subjects_text(&s)), (size_t)sizes[k] * 17 - 1);
		const char *t = subjects_text(&s);
		for (int i = 0; i < sizes[k]; i++) {
			code(c, i);
			assert_memory_equal(t + (size_t)i * 17, c, 16);
			assert_true(subjects_has(&s, c));
		}
		if (sizes[k] == SUBJECTS_MAX) {
			char *before = strdup(t);
			code(c, SUBJECTS_MAX);
			assert_int_equal(subjects_add(&s, c, &e), VIS_ERR_LIMIT);
			assert_int_equal(e.code, VIS_ERR_LIMIT);
			assert_string_equal(subjects_text(&s), before);
			assert_int_equal(subjects_count(&s), SUBJECTS_MAX);
			assert_false(subjects_has(&s, c));
			/* One already there is still no news. */
			code(c, 7);
			assert_int_equal(subjects_add(&s, c, NULL), VIS_OK);
			free(before);
		}
		subjects_release(&s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_duplicates),
		cmocka_unit_test(test_invalid_codes),
		cmocka_unit_test(test_grows_to_the_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
