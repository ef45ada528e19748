/* The metadata policy of OpenID Federation 1.0 (oidc.h): the policies of
 * a trust chain merged from the trust anchor down, then applied to the
 * leaf's metadata of one entity type.  Operators: value, add, default,
 * one_of, subset_of, superset_of, essential; applied in that order. */
#include <stdio.h>
#include <string.h>

#include "common/str.h"
#include "oidc/oidc.h"

static const char *const KNOWN[] = {"value", "add", "default", "one_of", "subset_of",
				    "superset_of", "essential", NULL};

bool oidc_policy_operator_known(const char *op)
{
	for (const char *const *k = KNOWN; *k; k++)
		if (!strcmp(*k, op))
			return true;
	return false;
}

static bool array_has(const json_t *a, const json_t *v)
{
	size_t i;
	json_t *x;
	json_array_foreach(a, i, x) {
		if (json_equal(x, v))
			return true;
	}
	return false;
}

/* a ∩ b (common) or a ∪ b: a new array without repeats, in a's order
 * then b's. */
static json_t *combine(const json_t *a, const json_t *b, bool common)
{
	json_t *out = json_array();
	const json_t *from[2] = {a, common ? NULL : b};
	for (int n = 0; n < 2; n++) {
		size_t i;
		json_t *x;
		json_array_foreach(from[n], i, x) {
			if ((!common || array_has(b, x)) && !array_has(out, x))
				json_array_append(out, x);
		}
	}
	return out;
}

static json_t *intersect(const json_t *a, const json_t *b)
{
	return combine(a, b, true);
}

static json_t *unite(const json_t *a, const json_t *b)
{
	return combine(a, b, false);
}

static bool fail(char *why, size_t cap, const char *param, const char *what)
{
	/* the parameter comes with the metadata: left out when too long */
	if (!str_fmt(why, cap, "metadata policy: %s: %s", param, what))
		STR_FMT_KNOWN_CAP(why, cap, "metadata policy: %s", what); /* what: a constant */
	return false;
}

/* The operators of one parameter's policy well formed. */
static bool operators_ok(const char *param, const json_t *ops, char *why, size_t cap)
{
	if (!json_is_object(ops))
		return fail(why, cap, param, "la policy non è un oggetto");
	static const char *const LISTS[] = {"add", "one_of", "subset_of", "superset_of", NULL};
	for (const char *const *k = LISTS; *k; k++) {
		json_t *v = json_object_get(ops, *k);
		if (v && !json_is_array(v))
			return fail(why, cap, param, "add, one_of, subset_of e superset_of "
						     "vogliono un array");
	}
	json_t *ess = json_object_get(ops, "essential");
	if (ess && !json_is_boolean(ess))
		return fail(why, cap, param, "essential vuole true o false");
	return true;
}

/* One parameter's operators, upper (the superior's, merged so far) with
 * lower: a new object. */
static json_t *merge_param(const char *param, const json_t *up, const json_t *lo, char *why,
			   size_t cap)
{
	json_t *out = json_deep_copy(up);
	const char *op;
	json_t *v;
	json_object_foreach((json_t *)lo, op, v) {
		json_t *have = json_object_get(out, op);
		if (!have) {
			json_object_set(out, op, v);
			continue;
		}
		json_t *merged = NULL;
		if (!strcmp(op, "value") || !strcmp(op, "default")) {
			if (!json_equal(have, v)) {
				json_decref(out);
				fail(why, cap, param, "two superiors set different values (value/default)");
				return NULL;
			}
			continue;
		} else if (!strcmp(op, "add") || !strcmp(op, "superset_of")) {
			merged = unite(have, v);
		} else if (!strcmp(op, "one_of") || !strcmp(op, "subset_of")) {
			merged = intersect(have, v);
			if (!strcmp(op, "one_of") && !json_array_size(merged)) {
				json_decref(merged);
				json_decref(out);
				fail(why, cap, param, "one_of di due superiori non hanno nulla in "
						      "comune");
				return NULL;
			}
		} else if (!strcmp(op, "essential")) {
			merged = json_boolean(json_is_true(have) || json_is_true(v));
		} else {
			continue; /* not understood and not critical: ignored */
		}
		json_object_set_new(out, op, merged);
	}
	return out;
}

json_t *oidc_policy_merge(const json_t *upper, const json_t *lower, char *why, size_t cap)
{
	if ((upper && !json_is_object(upper)) || (lower && !json_is_object(lower))) {
		snprintf(why, cap, "metadata policy: non è un oggetto");
		return NULL;
	}
	json_t *out = upper ? json_deep_copy(upper) : json_object();
	const char *param;
	json_t *ops;
	json_object_foreach(out, param, ops) {
		if (!operators_ok(param, ops, why, cap)) {
			json_decref(out);
			return NULL;
		}
	}
	json_object_foreach((json_t *)lower, param, ops) {
		if (!operators_ok(param, ops, why, cap)) {
			json_decref(out);
			return NULL;
		}
		json_t *have = json_object_get(out, param);
		json_t *m = have ? merge_param(param, have, ops, why, cap) : json_deep_copy(ops);
		if (!m) {
			json_decref(out);
			return NULL;
		}
		json_object_set_new(out, param, m);
	}
	return out;
}

/* One parameter's operators applied to md (changed in place). */
static bool apply_param(json_t *md, const char *param, const json_t *ops, char *why, size_t cap)
{
	json_t *v;
	if ((v = json_object_get(ops, "value"))) {
		if (json_is_null(v))
			json_object_del(md, param);
		else
			json_object_set(md, param, v);
	}
	if ((v = json_object_get(ops, "add"))) {
		json_t *cur = json_object_get(md, param);
		if (cur && !json_is_array(cur))
			return fail(why, cap, param, "add su un valore che non è un array");
		json_object_set_new(md, param, cur ? unite(cur, v) : json_deep_copy(v));
	}
	if ((v = json_object_get(ops, "default")) && !json_object_get(md, param))
		json_object_set(md, param, v);
	json_t *cur = json_object_get(md, param);
	if ((v = json_object_get(ops, "one_of")) && cur) {
		if (json_is_array(cur) || json_is_object(cur) || !array_has(v, cur))
			return fail(why, cap, param, "il valore non è tra quelli ammessi (one_of)");
	}
	if ((v = json_object_get(ops, "subset_of")) && cur) {
		if (!json_is_array(cur))
			return fail(why, cap, param, "subset_of su un valore che non è un array");
		json_t *in = intersect(cur, v);
		if (json_array_size(in))
			json_object_set_new(md, param, in);
		else {
			json_decref(in);
			json_object_del(md, param);
		}
		cur = json_object_get(md, param);
	}
	if ((v = json_object_get(ops, "superset_of")) && cur) {
		if (!json_is_array(cur))
			return fail(why, cap, param, "superset_of su un valore che non è un array");
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) {
			if (!array_has(cur, x))
				return fail(why, cap, param,
					    "manca un valore richiesto da superset_of");
		}
	}
	if (json_is_true(json_object_get(ops, "essential")) && !json_object_get(md, param))
		return fail(why, cap, param, "essential, e manca");
	return true;
}

json_t *oidc_policy_apply(const json_t *policy, const json_t *metadata, char *why, size_t cap)
{
	if (!json_is_object(metadata)) {
		snprintf(why, cap, "metadata policy: i metadati non sono un oggetto");
		return NULL;
	}
	json_t *md = json_deep_copy(metadata);
	const char *param;
	json_t *ops;
	json_object_foreach((json_t *)policy, param, ops) {
		if (!operators_ok(param, ops, why, cap) || !apply_param(md, param, ops, why, cap)) {
			json_decref(md);
			return NULL;
		}
	}
	return md;
}
