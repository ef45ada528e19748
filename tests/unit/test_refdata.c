/* Unit tests: reference tables of municipalities and foreign states. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/date.h"
#include "refdata/refdata.h"

static int setup(void **state)
{
	struct refdata *rd = NULL;
	struct vis_error e = {0};
	if (refdata_load(refdata_default_dir(), &rd, &e) != VIS_OK) {
		print_error("%s\n", e.msg);
		return -1;
	}
	*state = rd;
	return 0;
}

static int teardown(void **state)
{
	refdata_free(*state);
	return 0;
}

static void test_counts(void **state)
{
	struct refdata *rd = *state;
	assert_int_equal(refdata_comune_count(rd), 19352);
	assert_int_equal(refdata_stato_count(rd), 250);
}

static void test_comune_lookup(void **state)
{
	struct refdata *rd = *state;
	const struct ref_comune *c = refdata_comune_by_istat(rd, "036023", 0);
	assert_non_null(c);
	assert_string_equal(c->name, "MODENA");
	assert_string_equal(c->belfiore, "F257");
	assert_string_equal(c->province, "MO");
	assert_true(c->active);
	c = refdata_comune_by_belfiore(rd, "H501", 20200101);
	assert_non_null(c);
	assert_string_equal(c->name, "ROMA");
	assert_null(refdata_comune_by_istat(rd, "999999", 0));
	assert_null(refdata_comune_by_belfiore(rd, "", 0));
}

static void test_comune_history(void **state)
{
	struct refdata *rd = *state;
	/* Abano became Abano Terme in 1924: same ISTAT and cadastral code. */
	const struct ref_comune *c = refdata_comune_by_istat(rd, "028001", 19100101);
	assert_string_equal(c->name, "ABANO");
	assert_false(c->active);
	c = refdata_comune_by_istat(rd, "028001", 19500101);
	assert_string_equal(c->name, "ABANO TERME");
	assert_true(refdata_comune_had_belfiore(rd, "028001", "A001"));
	assert_false(refdata_comune_had_belfiore(rd, "028001", "F257"));
}

static void test_stati(void **state)
{
	struct refdata *rd = *state;
	const struct ref_stato *s = refdata_stato_by_istat(rd, "100");
	assert_non_null(s);
	assert_string_equal(s->name, "ITALIA");
	assert_true(s->eu);
	s = refdata_stato_by_belfiore(rd, "Z100");
	assert_non_null(s);
	assert_string_equal(s->istat, "201");
	assert_false(s->eu);
	s = refdata_stato_by_istat(rd, "235");
	assert_non_null(s);
	assert_true(s->eu); /* Romania */
	assert_null(refdata_stato_by_istat(rd, "1000"));
	assert_null(refdata_stato_by_belfiore(rd, "Z999"));
	/* People read today's names; ANPR's 2018 table keeps the old ones. */
	s = refdata_stato_by_belfiore(rd, "Z148");
	assert_non_null(s);
	assert_string_equal(s->name, "MACEDONIA DEL NORD");
	assert_string_equal(s->anpr_name, "REPUBBLICA DI MACEDONIA");
	s = refdata_stato_by_istat(rd, "456");
	assert_non_null(s);
	assert_string_equal(s->name, "ESWATINI");
	assert_string_equal(s->anpr_name, "SWAZILAND");
	for (size_t i = 0; i < refdata_stato_count(rd); i++)
		assert_true(refdata_stato_at(rd, i)->name[0] != '\0');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_comune_lookup),
		cmocka_unit_test(test_comune_history),
		cmocka_unit_test(test_stati),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
