/* Unit tests: policy (policy.h) — the data categories, the field table,
 * the municipalities an agreement covers, the checks of an agreement's
 * fields, and every refusal of policy_grant_for; on SQLite, and on
 * PostgreSQL too when $VISURA_TEST_PG is set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "policy/policy.h"
#include "refdata/refdata.h"
#include "seed.h"
#include "store/store.h"
#include "testdb.h"

#define OK(x) assert_int_equal((x), VIS_OK)
#define TODAY 20260101

struct fx {
	struct testdb db;
	struct store *s;
	struct refdata *rd;
	int64_t ente, conv, purpose, other_purpose;
	struct store_account acc;
};

static bool use_pg;

static int group_setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	struct vis_error e = {0};
	const char *dir = getenv("VISURA_DATA_DIR");
	if (!f || testdb_open(&f->db, use_pg, "policy", &f->s) ||
	    refdata_load(dir ? dir : "data", &f->rd, &e))
		return -1;
	f->ente = seed_body(f->s, "Questura di Modena");
	int64_t other = seed_body(f->s, "Comando di Bologna");
	seed_account(f->s, f->ente, "op1", &f->acc);
	f->conv = seed_agreement(f->s, f->ente, "identity,residence", &f->purpose);
	seed_agreement(f->s, other, "identity", &f->other_purpose);
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

static void test_categories(void **state)
{
	(void)state;
	unsigned m;
	assert_true(policy_categories_parse("identity,residence", &m));
	assert_int_equal(m, CAT_IDENTITY | CAT_RESIDENCE);
	char out[256];
	policy_categories_format(m, out, sizeof out);
	assert_string_equal(out, "identity,residence");
	assert_true(policy_categories_parse("identity,residence,family,parentage,citizenship,"
					    "civil_status,vital_status,history", &m));
	assert_int_equal(m, CAT_ALL);
	/* every category's name, and its terminator, in exactly the size
	 * the callers are held to */
	char all[POLICY_CATEGORIES_TEXT_MAX];
	policy_categories_format(CAT_ALL, all, sizeof all);
	assert_int_equal(strlen(all) + 1, POLICY_CATEGORIES_TEXT_MAX);
	assert_true(policy_categories_parse(all, &m));
	assert_int_equal(m, CAT_ALL);
	assert_false(policy_categories_parse("identity,wealth", &m));
}

/* policy_categories_format copies the names (snprintf's cost,
 * docs/performance.md): every mask gives the text snprintf's "%s%s" gave;
 * a buffer below POLICY_CATEGORIES_TEXT_MAX (a caller's bug) gets whole
 * names only, never one cut short. */
static void test_categories_text(void **state)
{
	(void)state;
	static const char *const names[] = {"identity", "residence", "family", "parentage",
					    "citizenship", "civil_status", "vital_status",
					    "history"};
	for (unsigned m = 0; m <= CAT_ALL; m++) {
		char want[POLICY_CATEGORIES_TEXT_MAX] = "", got[POLICY_CATEGORIES_TEXT_MAX + 1];
		size_t len = 0;
		for (unsigned i = 0; i < 8; i++)
			if (m & (1u << i))
				len += (size_t)snprintf(want + len, sizeof want - len, "%s%s",
							len ? "," : "", names[i]);
		memset(got, 'x', sizeof got);
		policy_categories_format(m, got, POLICY_CATEGORIES_TEXT_MAX);
		assert_string_equal(got, want);
		assert_int_equal(got[POLICY_CATEGORIES_TEXT_MAX], 'x');
		unsigned back;
		assert_true(policy_categories_parse(got, &back));
		assert_int_equal(back, m);
	}
	char full[POLICY_CATEGORIES_TEXT_MAX];
	policy_categories_format(CAT_ALL, full, sizeof full);
	for (size_t cap = 1; cap < POLICY_CATEGORIES_TEXT_MAX; cap++) {
		char small[POLICY_CATEGORIES_TEXT_MAX + 1];
		memset(small, 'x', sizeof small);
		policy_categories_format(CAT_ALL, small, cap);
		size_t n = strlen(small);
		assert_true(n < cap);
		assert_int_equal(small[cap], 'x');
		/* a prefix of the whole text that ends where a name ends */
		assert_memory_equal(small, full, n);
		assert_true(full[n] == ',' || (n == 0 && cap <= strlen(names[0])));
		unsigned back;
		assert_true(n == 0 || policy_categories_parse(small, &back));
	}
}

static void test_fields(void **state)
{
	(void)state;
	assert_true(policy_may_see(CAT_IDENTITY, FIELD_IDENTITY));
	assert_false(policy_may_see(CAT_IDENTITY, FIELD_RESIDENCE));
	assert_false(policy_may_see(CAT_RESIDENCE, FIELD_FAMILY));
	assert_true(policy_may_see(CAT_FAMILY, FIELD_FAMILY));
	assert_false(policy_may_see(CAT_ALL, FIELD_COUNT));
	assert_true(policy_may_see(0, FIELD_EVENT));     /* the subscription only */
	for (int i = 0; i < FIELD_COUNT; i++)
		assert_non_null(policy_fields[i].keys);
}

static void test_covers(void **state)
{
	(void)state;
	struct policy_grant g = {0};
	STR_COPY_KNOWN(g.conv.comuni, "036023,037006");
	assert_true(policy_covers(&g, "036023"));
	assert_true(policy_covers(&g, "037006"));
	assert_false(policy_covers(&g, "036002"));
	assert_false(policy_covers(&g, "6023,0"));       /* not a piece of the list */
	assert_false(policy_covers(&g, "03602"));
	STR_COPY_KNOWN(g.conv.comuni, "1036023");
	assert_false(policy_covers(&g, "036023"));
}

static void test_convenzione_check(void **state)
{
	struct fx *f = *state;
	struct store_convenzione c;
	bool found;
	struct vis_error e = {0};
	OK(store_convenzione_get(f->s, f->conv, &c, &found, &e));
	assert_null(policy_convenzione_check(&c, f->rd));
	struct store_convenzione bad = c;
	STR_COPY_KNOWN(bad.mode, "browse");
	assert_non_null(policy_convenzione_check(&bad, f->rd));
	bad = c;
	STR_COPY_KNOWN(bad.profile, "");
	assert_non_null(policy_convenzione_check(&bad, f->rd));
	bad = c;
	bad.valid_to = 20191231;
	assert_non_null(policy_convenzione_check(&bad, f->rd));
	bad = c;
	bad.per_minute = 0;
	assert_non_null(policy_convenzione_check(&bad, f->rd));
	bad = c;
	STR_COPY_KNOWN(bad.comuni, "999999");
	assert_string_equal(policy_convenzione_check(&bad, f->rd),
			    "il campo \"comuni\" contiene un codice ISTAT sconosciuto");
	STR_COPY_KNOWN(bad.comuni, "036023,");
	assert_non_null(policy_convenzione_check(&bad, f->rd));
}

static void grant_refused(struct fx *f, const struct store_account *a, int64_t purpose,
			  int today, int status, const char *code)
{
	struct policy_grant g;
	struct policy_refusal why;
	struct vis_error e = {0};
	assert_false(policy_grant_for(f->s, a, purpose, today, &g, &why, &e));
	assert_int_equal(why.status, status);
	assert_string_equal(why.code, code);
}

static void edit_state(struct store_convenzione *c, void *ctx)
{
	STR_COPY_KNOWN(c->state, (const char *)ctx);
}

static void edit_profile(struct store_convenzione *c, void *ctx)
{
	STR_COPY_KNOWN(c->profile, (const char *)ctx);
}

static void edit_mode(struct store_convenzione *c, void *ctx)
{
	STR_COPY_KNOWN(c->mode, (const char *)ctx);
}

static void test_grant(void **state)
{
	struct fx *f = *state;
	struct policy_grant g;
	struct policy_refusal why;
	struct vis_error e = {0};
	assert_true(policy_grant_for(f->s, &f->acc, f->purpose, TODAY, &g, &why, &e));
	assert_int_equal(g.conv.id, f->conv);
	assert_int_equal(g.categories, CAT_IDENTITY | CAT_RESIDENCE);
	assert_false(g.verify_only);
	grant_refused(f, &f->acc, 0, TODAY, 400, "purpose_required");
	grant_refused(f, &f->acc, -1, TODAY, 400, "purpose_required");
	grant_refused(f, &f->acc, 424242, TODAY, 403, "purpose_not_allowed");
	grant_refused(f, &f->acc, f->other_purpose, TODAY, 403, "purpose_not_allowed");
	struct store_account admin = f->acc;
	admin.ente_id = 0;
	grant_refused(f, &admin, f->purpose, TODAY, 403, "purpose_not_allowed");
	grant_refused(f, &f->acc, f->purpose, 20191231, 403, "agreement_not_active");
	seed_agreement_edit(f->s, f->conv, edit_state, "ended");
	grant_refused(f, &f->acc, f->purpose, TODAY, 403, "agreement_not_active");
	seed_agreement_edit(f->s, f->conv, edit_state, "active");
	seed_agreement_edit(f->s, f->conv, edit_profile, "identity,gossip");
	grant_refused(f, &f->acc, f->purpose, TODAY, 500, "internal_error");
	seed_agreement_edit(f->s, f->conv, edit_profile, "identity,residence");
	seed_agreement_edit(f->s, f->conv, edit_mode, "verify_only");
	assert_true(policy_grant_for(f->s, &f->acc, f->purpose, TODAY, &g, &why, &e));
	assert_true(g.verify_only);
	seed_agreement_edit(f->s, f->conv, edit_mode, "consult");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_categories),
		cmocka_unit_test(test_categories_text),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_covers),
		cmocka_unit_test(test_convenzione_check),
		cmocka_unit_test(test_grant),
	};
	return TESTDB_RUN("policy", tests, group_setup, group_teardown, &use_pg);
}
