/* Unit tests: query (query.h) — the search rules, the views bounded by the
 * profile field by field, the persons every answer names, and the
 * verification of declared facts; on SQLite, and on PostgreSQL too when
 * $VISURA_TEST_PG is set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/subjects.h"
#include "common/str.h"
#include "policy/policy.h"
#include "query/query.h"
#include "refdata/refdata.h"
#include "seed.h"
#include "store/store.h"
#include "testdb.h"

struct fx {
	struct testdb db;
	struct store *s;
	struct refdata *rd;
	struct subjects subjects;
	struct policy_grant grant;
	struct query_ctx q;
};

static bool use_pg;

static int group_setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	struct vis_error e = {0};
	const char *dir = getenv("VISURA_DATA_DIR");
	if (!f || testdb_open(&f->db, use_pg, "query", &f->s) ||
	    refdata_load(dir ? dir : "data", &f->rd, &e) || store_refdata_replace(f->s, f->rd, &e))
		return -1;
	char crowd[17];
	seed_register(f->s, 12, crowd);
	*state = f;
	return 0;
}

static int group_teardown(void **state)
{
	struct fx *f = *state;
	refdata_free(f->rd);
	testdb_close(&f->db, f->s);
	free(f);
	return 0;
}

/* A query within a grant of these categories on SEED_COMUNE. */
static struct query_ctx *ctx(struct fx *f, unsigned categories)
{
	subjects_release(&f->subjects);
	subjects_init(&f->subjects);
	memset(&f->grant, 0, sizeof f->grant);
	f->grant.categories = categories;
	f->grant.conv.max_results = 10;
	STR_COPY_KNOWN(f->grant.conv.comuni, SEED_COMUNE);
	memset(&f->q, 0, sizeof f->q);
	f->q.s = f->s;
	f->q.rd = f->rd;
	f->q.grant = &f->grant;
	f->q.subjects = &f->subjects;
	return &f->q;
}

static void done(struct fx *f)
{
	json_decref(f->q.body);
	f->q.body = NULL;
	subjects_release(&f->subjects);
}

static void test_one_edit(void **state)
{
	(void)state;
	assert_true(query_within_one_edit("ROSSI", "ROSSI"));
	assert_true(query_within_one_edit("ROSSI", "ROSI"));
	assert_true(query_within_one_edit("ROSSI", "ROSSO"));
	assert_true(query_within_one_edit("ROSSI", "ROSSII"));
	assert_false(query_within_one_edit("ROSSI", "RUSSO"));
	assert_false(query_within_one_edit("ROSSI", "ROS"));
}

static void test_person_view(void **state)
{
	struct fx *f = *state;
	struct query_ctx *q = ctx(f, CAT_IDENTITY);
	assert_int_equal(query_person(q, SEED_ANNA), QUERY_OK);
	json_t *p = json_object_get(q->body, "person");
	assert_non_null(json_object_get(p, "identity"));
	assert_null(json_object_get(p, "residence"));      /* outside the profile */
	assert_null(json_object_get(p, "family"));
	assert_string_equal(subjects_text(&f->subjects), SEED_ANNA);
	done(f);
	q = ctx(f, CAT_IDENTITY | CAT_RESIDENCE);
	assert_int_equal(query_person(q, SEED_ANNA), QUERY_OK);
	assert_non_null(json_object_get(json_object_get(q->body, "person"), "residence"));
	done(f);
	q = ctx(f, CAT_IDENTITY);
	assert_int_equal(query_person(q, SEED_ELSA), QUERY_NOT_FOUND);   /* not covered */
	assert_int_equal(query_person(q, "BNCNNA82C55F257A"), QUERY_INVALID);
	q = ctx(f, CAT_RESIDENCE);
	assert_int_equal(query_person(q, SEED_ANNA), QUERY_NOT_PERMITTED);
	assert_null(q->body);
	done(f);
}

static void test_household_history(void **state)
{
	struct fx *f = *state;
	const struct query_page all = {QUERY_MEMBERS_MAX, NULL};
	struct query_ctx *q = ctx(f, CAT_IDENTITY);
	assert_int_equal(query_household(q, SEED_ANNA, &all), QUERY_NOT_PERMITTED);
	assert_int_equal(query_history(q, SEED_ANNA), QUERY_NOT_PERMITTED);
	q = ctx(f, CAT_IDENTITY | CAT_FAMILY);
	assert_int_equal(query_household(q, SEED_LUCA, &all), QUERY_OK);
	assert_int_equal(json_array_size(json_object_get(q->body, "members")), 2);
	assert_true(subjects_has(&f->subjects, SEED_ANNA));
	assert_true(subjects_has(&f->subjects, SEED_LUCA));
	assert_int_equal(subjects_count(&f->subjects), 2);
	done(f);
	q = ctx(f, CAT_IDENTITY | CAT_HISTORY);
	assert_int_equal(query_history(q, SEED_ANNA), QUERY_OK);
	done(f);
}

/* A page of one member, then the next: each names the person asked for
 * and its own member only; the second is the last. */
static void test_household_pages(void **state)
{
	struct fx *f = *state;
	struct query_ctx *q = ctx(f, CAT_IDENTITY | CAT_FAMILY);
	struct query_page pg = {1, NULL};
	assert_int_equal(query_household(q, SEED_LUCA, &pg), QUERY_OK);
	json_t *m = json_object_get(q->body, "members");
	assert_int_equal(json_array_size(m), 1);
	char first[17], next[48];
	assert_true(STR_COPY(first, json_string_value(json_object_get(json_object_get(json_array_get(m, 0),
		"identity"), "codice_fiscale"))));
	assert_true(STR_COPY(next, json_string_value(json_object_get(q->body, "next_cursor"))));
	assert_true(subjects_has(&f->subjects, first));
	assert_true(subjects_has(&f->subjects, SEED_LUCA));
	assert_int_equal(subjects_count(&f->subjects), strcmp(first, SEED_LUCA) ? 2 : 1);
	done(f);
	q = ctx(f, CAT_IDENTITY | CAT_FAMILY);
	pg.after = next;
	assert_int_equal(query_household(q, SEED_LUCA, &pg), QUERY_OK);
	m = json_object_get(q->body, "members");
	assert_int_equal(json_array_size(m), 1);
	const char *second = json_string_value(json_object_get(json_object_get(json_array_get(m, 0),
		"identity"), "codice_fiscale"));
	assert_string_not_equal(second, first);
	assert_false(subjects_has(&f->subjects, first) && strcmp(first, SEED_LUCA));
	assert_null(json_object_get(q->body, "next_cursor"));
	done(f);
	struct store_member_key k;
	assert_true(query_member_cursor("25.19400101.P0001", &k));
	assert_int_equal(k.relationship, 25);
	assert_int_equal(k.birth_date, 19400101);
	assert_string_equal(k.id, "P0001");
	static const char *const bad[] = {"", "5", "25.1940.P1", "+5.19400101.P1", "1.19400101.",
					  "1.19400101.P 1", "123.19400101.P1", "1.19400101.ABCDEFGHIJKLMNOPQRSTU"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(query_member_cursor(bad[i], &k));
}

static struct query_search named(const char *surname, const char *name, int year)
{
	struct query_search p = {.birth_year = year};
	STR_COPY_KNOWN(p.surname, surname);
	STR_COPY_KNOWN(p.name, name);
	return p;
}

static void test_search(void **state)
{
	struct fx *f = *state;
	struct query_ctx *q = ctx(f, CAT_IDENTITY);
	struct query_search by_cf = {0};
	STR_COPY_KNOWN(by_cf.cf, SEED_LUCA);
	assert_int_equal(query_search(q, &by_cf), QUERY_OK);
	assert_int_equal(json_integer_value(json_object_get(q->body, "count")), 1);
	done(f);
	q = ctx(f, CAT_IDENTITY);
	struct query_search p = named("Bianchi", "Anna", 1982);
	assert_int_equal(query_search(q, &p), QUERY_OK);
	assert_false(json_is_true(json_object_get(q->body, "approximate")));
	done(f);
	q = ctx(f, CAT_IDENTITY);
	p = named("Bianchi", "Ana", 1982);                    /* one typo */
	assert_int_equal(query_search(q, &p), QUERY_OK);
	assert_true(json_is_true(json_object_get(q->body, "approximate")));
	done(f);
	q = ctx(f, CAT_IDENTITY);
	p = named("Bianco", "Anne", 1982);                    /* two */
	assert_int_equal(query_search(q, &p), QUERY_NOT_FOUND);
	p = named("Bian*", "Anna", 1982);                     /* no wildcards */
	assert_int_equal(query_search(q, &p), QUERY_INVALID);
	p = named("Bianchi", "Anna", 0);                      /* a name alone */
	assert_int_equal(query_search(q, &p), QUERY_INVALID);
	p = named("Ospite", "Anna", 1950);                    /* 12 guests, 10 at most */
	assert_int_equal(query_search(q, &p), QUERY_TOO_BROAD);
	assert_null(q->body);
	assert_int_equal(subjects_count(&f->subjects), 0);
	f->grant.conv.max_results = 12;
	assert_int_equal(query_search(q, &p), QUERY_OK);
	assert_int_equal(subjects_count(&f->subjects), 12);
	done(f);
	q = ctx(f, CAT_RESIDENCE);
	p = named("Bianchi", "Anna", 1982);
	assert_int_equal(query_search(q, &p), QUERY_NOT_PERMITTED);
}

static const char *fact(const struct query_ctx *q, const char *key)
{
	const char *v = json_string_value(json_object_get(json_object_get(q->body, "facts"), key));
	return v ? v : "(none)";
}

static void test_verify(void **state)
{
	struct fx *f = *state;
	struct query_ctx *q = ctx(f, CAT_IDENTITY);
	json_t *d = json_pack("{s:s}", "surname", "Bianchi");
	assert_int_equal(query_verify(q, SEED_ANNA, d), QUERY_OK);
	assert_string_equal(fact(q, "surname"), "match");
	json_decref(d);
	done(f);
	q = ctx(f, CAT_IDENTITY);
	d = json_pack("{s:s}", "surname", "Verdi");
	assert_int_equal(query_verify(q, SEED_ANNA, d), QUERY_OK);
	assert_string_equal(fact(q, "surname"), "mismatch");
	json_decref(d);
	done(f);
	q = ctx(f, CAT_IDENTITY);                          /* vital status outside the profile */
	d = json_pack("{s:b}", "alive", 1);
	assert_int_equal(query_verify(q, SEED_ANNA, d), QUERY_OK);
	assert_string_equal(fact(q, "alive"), "not_permitted");
	json_decref(d);
	done(f);
	q = ctx(f, CAT_IDENTITY);
	d = json_pack("{s:s}", "shoe_size", "42");
	assert_int_equal(query_verify(q, SEED_ANNA, d), QUERY_INVALID);
	json_decref(d);
	d = json_object();
	assert_int_equal(query_verify(q, SEED_ANNA, d), QUERY_INVALID);
	json_decref(d);
	done(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_edit),
		cmocka_unit_test(test_person_view),
		cmocka_unit_test(test_household_history),
		cmocka_unit_test(test_household_pages),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_verify),
	};
	return TESTDB_RUN("query", tests, group_setup, group_teardown, &use_pg);
}
