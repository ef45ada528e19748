/* libFuzzer harness: the small text parsers a request reaches besides JSON
 * and the import — the citizen's HTML form body (http/form.c), the dates,
 * timestamps and months of query parameters (common/date.h,
 * stats/series.h), a series' list of indicators (stats_series_parse), an
 * agreement's categories (policy/policy.h) — and the
 * key sets a federation publishes (jwks/jwks.h).  Whatever the input: no
 * crash, and what parses is canonical: a date, a timestamp, a month or a
 * list of categories formats back to text that parses to the same value;
 * a list of indicators is taken whole or refused with a message a JSON
 * answer can carry (valid UTF-8);
 * a form decodes to an object of strings that, encoded again, decodes to
 * the same object. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/date.h"
#include "http/http.h"
#include "jwks/jwks.h"
#include "policy/policy.h"
#include "stats/series.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A byte a form may carry as itself: printable ASCII but the separators,
 * '%' and '+'. */
static bool plain(unsigned char c)
{
	return c > ' ' && c < 0x7f && !strchr("%&=+", c);
}

/* Encodes obj as a form body, every other byte as %XX
 * (the caller checks that each name fits the decoder's bound, 63 encoded
 * bytes). */
static char *form_encode(json_t *obj)
{
	size_t cap = 1;
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
		cap += 3 * (strlen(key) + json_string_length(v)) + 2;
	char *out = malloc(cap), *o = out;
	if (!out)
		abort();
	json_object_foreach(obj, key, v) {
		if (o != out)
			*o++ = '&';
		for (int part = 0; part < 2; part++) {
			const char *s = part ? json_string_value(v) : key;
			size_t n = part ? json_string_length(v) : strlen(key);
			for (size_t i = 0; i < n; i++) {
				unsigned char c = (unsigned char)s[i];
				if (plain(c))
					*o++ = (char)c;
				else
					o += sprintf(o, "%%%02X", c);
			}
			if (!part)
				*o++ = '=';
		}
	}
	*o = '\0';
	return out;
}

static void check_form(const char *text, size_t size)
{
	char err[256];
	json_t *obj = http_form_decode(text, size, err, sizeof err);
	if (!obj) {
		if (!err[0])
			abort(); /* a refusal always says why */
		return;
	}
	const char *key;
	json_t *v;
	size_t longest = 0;
	json_object_foreach(obj, key, v) {
		if (!json_is_string(v) || !key[0] || strlen(key) > 63)
			abort();
		size_t n = 0;
		for (const char *c = key; *c; c++)
			n += plain((unsigned char)*c) ? 1 : 3;
		longest = n > longest ? n : longest;
	}
	if (longest > 63) { /* the name's bytes decoded fit; encoded, not */
		json_decref(obj);
		return;
	}
	char *again = form_encode(obj);
	json_t *obj2 = http_form_decode(again, strlen(again), err, sizeof err);
	if (!obj2 || !json_equal(obj, obj2))
		abort();
	json_decref(obj2);
	free(again);
	json_decref(obj);
}

static void check_dates(const char *text, size_t size)
{
	int d;
	if (date_parse(text, size, &d)) {
		char buf[11];
		date_format(d, buf);
		if (size != 10 || memcmp(buf, text, 10) ||
		    !date_valid(DATE_YEAR(d), DATE_MONTH(d), DATE_DAY(d)))
			abort();
		if (date_from_days(date_to_days(d)) != d)
			abort();
	}
	int64_t t;
	if (timestamp_parse(text, size, &t)) {
		char buf[21];
		timestamp_format(t, buf);
		if (size != 20 || memcmp(buf, text, 20))
			abort();
	}
	int m;
	if (stats_month_parse(text, &m)) {
		char buf[16];
		snprintf(buf, sizeof buf, "%04d-%02d", m / 100, m % 100);
		if (strcmp(buf, text))
			abort();
	}
}

static void check_categories(const char *text)
{
	unsigned mask;
	if (!policy_categories_parse(text, &mask))
		return;
	char buf[256];
	policy_categories_format(mask, buf, sizeof buf);
	unsigned again;
	if (!policy_categories_parse(buf, &again) || again != mask)
		abort();
}

static void check_indicators(const char *text)
{
	struct stats_series_query q = {0};
	struct vis_error e = {0};
	if (stats_series_parse(text, &q, &e)) {
		json_t *msg = json_string(e.msg);
		if (e.code != VIS_ERR_INVALID || !msg)
			abort();
		json_decref(msg);
		return;
	}
	if (strcmp(q.indicator, text))
		abort();
}

static void check_jwks(const char *text, size_t size)
{
	char why[256] = "";
	json_t *keys = jwks_parse(text, size, "RS256,ES256,EdDSA", why, sizeof why);
	if (!keys) {
		if (!why[0])
			abort();
		return;
	}
	size_t i;
	json_t *k;
	if (!json_is_array(keys) || !json_array_size(keys))
		abort();
	json_array_foreach(keys, i, k) {
		static const char *const secret[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
		for (size_t j = 0; j < sizeof secret / sizeof secret[0]; j++)
			if (json_object_get(k, secret[j]))
				abort(); /* a private part never taken */
		if (!json_is_string(json_object_get(k, "kid")))
			abort();
	}
	json_decref(keys);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	check_form(text, size);
	check_dates(text, size);
	if (!memchr(data, '\0', size)) {
		check_categories(text);
		check_indicators(text);
	}
	check_jwks(text, size);
	free(text);
	return 0;
}
