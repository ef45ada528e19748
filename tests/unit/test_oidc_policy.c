/* Unit tests of the OpenID Federation metadata policy (oidc/policy.c):
 * each operator applied, their order, the merge of a superior's policy
 * with a subordinate's, and the refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "oidc/oidc.h"

static json_t *J(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	return j;
}

/* out (from f of x and y): equal to want, or (want NULL) a refusal whose
 * why names needle. */
static void outcome(const char *f, const char *x, const char *y, json_t *out, const char *why,
		    const char *want, const char *needle)
{
	if (want) {
		json_t *w = J(want);
		if (!out || !json_equal(out, w)) {
			char *got = out ? json_dumps(out, JSON_SORT_KEYS) : NULL;
			fail_msg("%s %s, %s: got %s (%s), want %s", f, x, y, got ? got : "refusal",
				 why, want);
		}
		json_decref(w);
	} else {
		assert_null(out);
		assert_non_null(strstr(why, needle));
	}
	json_decref(out);
}

/* policy applied to md. */
static void applies(const char *policy, const char *md, const char *want, const char *needle)
{
	json_t *p = J(policy), *m = J(md);
	char why[200] = "";
	outcome("apply", policy, md, oidc_policy_apply(p, m, why, sizeof why), why, want, needle);
	json_decref(p);
	json_decref(m);
}

static void test_value(void **state)
{
	(void)state;
	applies("{\"a\":{\"value\":\"x\"}}", "{\"a\":\"y\",\"b\":1}", "{\"a\":\"x\",\"b\":1}", NULL);
	applies("{\"a\":{\"value\":\"x\"}}", "{}", "{\"a\":\"x\"}", NULL);
	applies("{\"a\":{\"value\":null}}", "{\"a\":\"y\"}", "{}", NULL);
}

static void test_add_default(void **state)
{
	(void)state;
	applies("{\"a\":{\"add\":[\"b\",\"c\"]}}", "{\"a\":[\"a\",\"b\"]}",
		"{\"a\":[\"a\",\"b\",\"c\"]}", NULL);
	applies("{\"a\":{\"add\":[\"b\"]}}", "{}", "{\"a\":[\"b\"]}", NULL);
	applies("{\"a\":{\"add\":[\"b\"]}}", "{\"a\":\"s\"}", NULL, "add");
	applies("{\"a\":{\"default\":\"d\"}}", "{}", "{\"a\":\"d\"}", NULL);
	applies("{\"a\":{\"default\":\"d\"}}", "{\"a\":\"x\"}", "{\"a\":\"x\"}", NULL);
}

static void test_one_of(void **state)
{
	(void)state;
	applies("{\"a\":{\"one_of\":[\"x\",\"y\"]}}", "{\"a\":\"y\"}", "{\"a\":\"y\"}", NULL);
	applies("{\"a\":{\"one_of\":[\"x\",\"y\"]}}", "{\"a\":\"z\"}", NULL, "one_of");
	applies("{\"a\":{\"one_of\":[\"x\"]}}", "{\"a\":[\"x\"]}", NULL, "one_of");
	/* absent and not essential: nothing to check */
	applies("{\"a\":{\"one_of\":[\"x\"]}}", "{}", "{}", NULL);
	/* default then one_of: the default is checked too */
	applies("{\"a\":{\"default\":\"z\",\"one_of\":[\"x\"]}}", "{}", NULL, "one_of");
}

static void test_subset_superset(void **state)
{
	(void)state;
	applies("{\"a\":{\"subset_of\":[\"x\",\"y\"]}}", "{\"a\":[\"y\",\"z\",\"x\"]}",
		"{\"a\":[\"y\",\"x\"]}", NULL);
	/* nothing in common: the parameter is removed ... */
	applies("{\"a\":{\"subset_of\":[\"x\"]}}", "{\"a\":[\"z\"]}", "{}", NULL);
	/* ... which essential then refuses */
	applies("{\"a\":{\"subset_of\":[\"x\"],\"essential\":true}}", "{\"a\":[\"z\"]}", NULL,
		"essential");
	applies("{\"a\":{\"subset_of\":[\"x\"]}}", "{\"a\":\"x\"}", NULL, "subset_of");
	applies("{\"a\":{\"superset_of\":[\"x\",\"y\"]}}", "{\"a\":[\"y\",\"z\",\"x\"]}",
		"{\"a\":[\"y\",\"z\",\"x\"]}", NULL);
	applies("{\"a\":{\"superset_of\":[\"x\",\"y\"]}}", "{\"a\":[\"y\"]}", NULL, "superset_of");
	/* subset_of before superset_of: the intersection must still hold them */
	applies("{\"a\":{\"subset_of\":[\"x\"],\"superset_of\":[\"y\"]}}", "{\"a\":[\"x\",\"y\"]}",
		NULL, "superset_of");
}

static void test_essential(void **state)
{
	(void)state;
	applies("{\"a\":{\"essential\":true}}", "{}", NULL, "essential");
	applies("{\"a\":{\"essential\":true}}", "{\"a\":1}", "{\"a\":1}", NULL);
	applies("{\"a\":{\"essential\":false}}", "{}", "{}", NULL);
	applies("{\"a\":{\"essential\":\"yes\"}}", "{}", NULL, "essential");
	applies("{\"a\":{\"one_of\":\"x\"}}", "{}", NULL, "array");
	/* value then essential: a value set by the policy counts */
	applies("{\"a\":{\"value\":2,\"essential\":true}}", "{}", "{\"a\":2}", NULL);
}

/* upper merged with lower. */
static void merges(const char *upper, const char *lower, const char *want, const char *needle)
{
	json_t *u = J(upper), *l = J(lower);
	char why[200] = "";
	outcome("merge", upper, lower, oidc_policy_merge(u, l, why, sizeof why), why, want,
		needle);
	json_decref(u);
	json_decref(l);
}

static void test_merge(void **state)
{
	(void)state;
	merges("{\"a\":{\"one_of\":[\"x\",\"y\",\"z\"]}}", "{\"a\":{\"one_of\":[\"z\",\"y\"]}}",
	       "{\"a\":{\"one_of\":[\"y\",\"z\"]}}", NULL);
	merges("{\"a\":{\"one_of\":[\"x\"]}}", "{\"a\":{\"one_of\":[\"y\"]}}", NULL, "one_of");
	merges("{\"a\":{\"subset_of\":[\"x\",\"y\"]}}", "{\"a\":{\"subset_of\":[\"y\",\"w\"]}}",
	       "{\"a\":{\"subset_of\":[\"y\"]}}", NULL);
	merges("{\"a\":{\"superset_of\":[\"x\"]}}", "{\"a\":{\"superset_of\":[\"y\"]}}",
	       "{\"a\":{\"superset_of\":[\"x\",\"y\"]}}", NULL);
	merges("{\"a\":{\"add\":[\"x\"]}}", "{\"a\":{\"add\":[\"y\",\"x\"]}}",
	       "{\"a\":{\"add\":[\"x\",\"y\"]}}", NULL);
	merges("{\"a\":{\"value\":1}}", "{\"a\":{\"value\":1}}", "{\"a\":{\"value\":1}}", NULL);
	merges("{\"a\":{\"value\":1}}", "{\"a\":{\"value\":2}}", NULL, "value");
	merges("{\"a\":{\"default\":1}}", "{\"a\":{\"default\":2}}", NULL, "default");
	merges("{\"a\":{\"essential\":true}}", "{\"a\":{\"essential\":false}}",
	       "{\"a\":{\"essential\":true}}", NULL);
	/* different parameters and operators side by side */
	merges("{\"a\":{\"value\":1}}", "{\"b\":{\"default\":2},\"a\":{\"essential\":true}}",
	       "{\"a\":{\"value\":1,\"essential\":true},\"b\":{\"default\":2}}", NULL);
	merges("{}", "{\"a\":{\"add\":\"x\"}}", NULL, "array");
}

/* A trust anchor's policy with an intermediate's, then applied: the
 * chain's policies as the trust chain applies them. */
static void test_chain(void **state)
{
	(void)state;
	char why[200] = "";
	json_t *ta = J("{\"token_endpoint_auth_methods_supported\":{\"subset_of\":"
		       "[\"private_key_jwt\",\"tls_client_auth\"],\"essential\":true},"
		       "\"userinfo_endpoint\":{\"value\":\"https://op.example/me\"}}");
	json_t *in = J("{\"token_endpoint_auth_methods_supported\":{\"subset_of\":"
		       "[\"private_key_jwt\",\"client_secret_basic\"]}}");
	json_t *md = J("{\"token_endpoint_auth_methods_supported\":[\"client_secret_basic\","
		       "\"private_key_jwt\"],\"userinfo_endpoint\":\"https://op.example/other\"}");
	json_t *merged = oidc_policy_merge(ta, in, why, sizeof why);
	assert_non_null(merged);
	json_t *out = oidc_policy_apply(merged, md, why, sizeof why);
	assert_non_null(out);
	json_t *want = J("{\"token_endpoint_auth_methods_supported\":[\"private_key_jwt\"],"
			 "\"userinfo_endpoint\":\"https://op.example/me\"}");
	assert_true(json_equal(out, want));
	json_decref(want);
	json_decref(out);
	json_decref(merged);
	json_decref(ta);
	json_decref(in);
	json_decref(md);
	assert_true(oidc_policy_operator_known("subset_of"));
	assert_false(oidc_policy_operator_known("regexp"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value),        cmocka_unit_test(test_add_default),
		cmocka_unit_test(test_one_of),       cmocka_unit_test(test_subset_superset),
		cmocka_unit_test(test_essential),    cmocka_unit_test(test_merge),
		cmocka_unit_test(test_chain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
