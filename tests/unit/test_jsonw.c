/* Unit tests of common/jsonw: the streaming JSON writer writes the bytes
 * jansson's compact dump writes for the same data (reals excepted: the
 * shortest text that reads back), refuses what is not UTF-8, and reports
 * every limit instead of cutting. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/jsonw.h"

/* Text of one string value written by jsonw with flags. */
static char *w_string(const char *s, size_t n, unsigned flags, vis_err *rc)
{
	struct strbuf sb;
	struct jsonw w;
	strbuf_init(&sb, 1 << 20);
	jsonw_init(&w, &sb, flags);
	jsonw_stringn(&w, s, n);
	*rc = jsonw_finish(&w);
	return strbuf_detach(&sb, NULL);
}

/* jansson's compact dump of the same string. */
static char *j_string(const char *s, size_t n, size_t jflags)
{
	json_t *j = json_stringn(s, n);
	if (!j)
		return NULL;
	char *t = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | jflags);
	json_decref(j);
	return t;
}

static void same_as_jansson(const char *s, size_t n)
{
	for (int ascii = 0; ascii < 2; ascii++) {
		vis_err rc;
		char *mine = w_string(s, n, ascii ? JSONW_ASCII : 0, &rc);
		char *theirs = j_string(s, n, ascii ? JSON_ENSURE_ASCII : 0);
		assert_non_null(theirs);
		assert_int_equal(rc, VIS_OK);
		assert_string_equal(mine, theirs);
		free(mine);
		free(theirs);
	}
}

static void test_every_control_char(void **state)
{
	(void)state;
	static const char *want[32] = {
		"\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006",
		"\\u0007", "\\b", "\\t", "\\n", "\\u000B", "\\f", "\\r", "\\u000E", "\\u000F",
		"\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016",
		"\\u0017", "\\u0018", "\\u0019", "\\u001A", "\\u001B", "\\u001C", "\\u001D",
		"\\u001E", "\\u001F"};
	for (int c = 0; c < 32; c++) {
		char in[3] = {'a', (char)c, 'z'}, expect[16];
		snprintf(expect, sizeof expect, "\"a%sz\"", want[c]);
		vis_err rc;
		char *t = w_string(in, 3, 0, &rc);
		assert_int_equal(rc, VIS_OK);
		assert_string_equal(t, expect);
		free(t);
		same_as_jansson(in, 3);
	}
	/* the other ASCII bytes: only '"' and '\\' are escaped; '/' and DEL not */
	for (int c = 32; c < 128; c++) {
		char in[1] = {(char)c};
		same_as_jansson(in, 1);
	}
	vis_err rc;
	char *t = w_string("\"\\/\x7f", 4, JSONW_ASCII, &rc);
	assert_string_equal(t, "\"\\\"\\\\/\x7f\"");
	free(t);
}

static void test_utf8(void **state)
{
	(void)state;
	const char *s = "Niccolò Ça ☃ 𝄞 €";
	vis_err rc;
	char *t = w_string(s, strlen(s), 0, &rc);
	assert_int_equal(rc, VIS_OK);
	char expect[64];
	snprintf(expect, sizeof expect, "\"%s\"", s);
	assert_string_equal(t, expect); /* passes through */
	free(t);
	t = w_string(s, strlen(s), JSONW_ASCII, &rc);
	assert_string_equal(t, "\"Niccol\\u00F2 \\u00C7a \\u2603 \\uD834\\uDD1E \\u20AC\"");
	free(t);
	same_as_jansson(s, strlen(s));
	/* the edges of each length */
	const char *edges[] = {"\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf",
			       "\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80",
			       "\xf4\x8f\xbf\xbf"};
	for (size_t i = 0; i < sizeof edges / sizeof *edges; i++)
		same_as_jansson(edges[i], strlen(edges[i]));
}

static void test_invalid_utf8_refused(void **state)
{
	(void)state;
	const char *bad[] = {
		"\x80",             /* a lone continuation byte */
		"a\xc3",            /* cut */
		"\xc0\xaf",         /* overlong '/' */
		"\xc1\xbf",         /* overlong */
		"\xe0\x80\xaf",     /* overlong 3-byte */
		"\xed\xa0\x80",     /* a surrogate */
		"\xf0\x80\x80\xaf", /* overlong 4-byte */
		"\xf4\x90\x80\x80", /* above U+10FFFF */
		"\xf5\x80\x80\x80", /* never a first byte */
		"\xe2\x82",         /* cut 3-byte */
		"\xe2(\xac",        /* not a continuation */
		"\xff",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_null(json_string(bad[i])); /* jansson refuses them too */
		struct strbuf sb;
		struct jsonw w;
		strbuf_init(&sb, 1024);
		jsonw_init(&w, &sb, JSONW_ASCII);
		jsonw_array_open(&w);
		jsonw_string(&w, "ok");
		jsonw_string(&w, bad[i]);
		jsonw_string(&w, "later");
		jsonw_array_close(&w);
		assert_int_equal(jsonw_finish(&w), VIS_ERR_INVALID);
		assert_string_equal(sb.buf, "[\"ok\","); /* nothing of it written */
		strbuf_release(&sb);
	}
	/* a refused key too */
	char *t = NULL;
	json_t *o = json_object();
	assert_int_equal(json_object_set_new_nocheck(o, "\xc3", json_true()), 0);
	vis_err rc = VIS_OK;
	t = jsonw_dumps(o, 0, 1024, NULL, &rc);
	assert_null(t);
	assert_int_equal(rc, VIS_ERR_INVALID);
	json_decref(o);
}

static void test_numbers(void **state)
{
	(void)state;
	struct strbuf sb;
	struct jsonw w;
	strbuf_init(&sb, 4096);
	jsonw_init(&w, &sb, 0);
	jsonw_array_open(&w);
	jsonw_int(&w, 0);
	jsonw_int(&w, -1);
	jsonw_int(&w, 42);
	jsonw_int(&w, INT64_MAX);
	jsonw_int(&w, INT64_MIN);
	jsonw_real(&w, 45.23);
	jsonw_real(&w, 0.1);
	jsonw_real(&w, 1.0);
	jsonw_real(&w, -0.0);
	jsonw_real(&w, 1e20);
	jsonw_real(&w, 1e-5);
	jsonw_real(&w, 1.0 / 3);
	jsonw_real(&w, 5e-324);
	jsonw_real(&w, 1.7976931348623157e308);
	jsonw_real(&w, 123456789012345680.0);
	jsonw_array_close(&w);
	assert_int_equal(jsonw_finish(&w), VIS_OK);
	assert_string_equal(sb.buf,
			    "[0,-1,42,9223372036854775807,-9223372036854775808,45.23,0.1,1.0,"
			    "-0.0,1e20,1e-5,0.3333333333333333,5e-324,"
			    "1.7976931348623157e308,1.2345678901234568e17]");
	/* every real read back is the same double */
	json_t *back = json_loads(sb.buf, 0, NULL);
	assert_non_null(back);
	assert_true(json_real_value(json_array_get(back, 5)) == 45.23);
	assert_true(json_real_value(json_array_get(back, 11)) == 1.0 / 3);
	json_decref(back);
	strbuf_release(&sb);
	/* integers as jansson writes them */
	json_int_t ints[] = {0, 1, -1, 10, 99, -100, INT64_MAX, INT64_MIN, 1234567890123};
	for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
		json_t *j = json_integer(ints[i]);
		char *a = json_dumps(j, JSON_ENCODE_ANY), *b = jsonw_dumps(j, 0, 64, NULL, NULL);
		assert_string_equal(a, b);
		free(a);
		free(b);
		json_decref(j);
	}
	/* the shortest text (as Python's repr), in jansson's form */
	static const struct {
		double v;
		const char *text;
	} shortest[] = {
		{0.1 + 0.2, "0.30000000000000004"}, {1e23, "1e23"}, {2.2250738585072014e-308,
		"2.2250738585072014e-308"}, {1e-310, "1e-310"}, {-1.5, "-1.5"}, {100.0, "100.0"},
		{1e16, "1e16"}, {123456789.125, "123456789.125"}, {44.5, "44.5"},
	};
	for (size_t i = 0; i < sizeof shortest / sizeof *shortest; i++) {
		char out[32];
		assert_true(jsonw_real_format(shortest[i].v, out));
		assert_string_equal(out, shortest[i].text);
		assert_true(strtod(out, NULL) == shortest[i].v);
	}
	/* not finite: refused */
	char r[32];
	assert_false(jsonw_real_format(NAN, r));
	assert_false(jsonw_real_format(INFINITY, r));
	strbuf_init(&sb, 64);
	jsonw_init(&w, &sb, 0);
	jsonw_real(&w, -INFINITY);
	assert_int_equal(jsonw_finish(&w), VIS_ERR_INVALID);
	strbuf_release(&sb);
}

static void test_nesting_same_as_jansson(void **state)
{
	(void)state;
	const char *text =
		"{\"results\":[{\"identity\":{\"codice_fiscale\":\"RSSMRA80A01F257X\",\"surname\":"
		"\"D'Àlema \\\"x\\\"\",\"birth_date\":null},\"civic\":12,\"ok\":true,\"no\":false,"
		"\"empty\":{},\"list\":[],\"deep\":[[[{\"a\":[1,2,{\"b\":\"\\u0001\"}]}]]]}],"
		"\"count\":1,\"approximate\":false,\"z\":\"\\u00e9\\ud834\\udd1e\"}";
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	for (int ascii = 0; ascii < 2; ascii++) {
		char *a = json_dumps(j, JSON_COMPACT | (ascii ? JSON_ENSURE_ASCII : 0));
		size_t len = 0;
		char *b = jsonw_dumps(j, ascii ? JSONW_ASCII : 0, 1 << 16, &len, NULL);
		assert_non_null(b);
		assert_string_equal(a, b);
		assert_int_equal(len, strlen(a));
		free(a);
		free(b);
	}
	json_decref(j);

	/* the same written by hand, and an answer resumed to add members */
	struct strbuf sb;
	struct jsonw w;
	strbuf_init(&sb, 1024);
	jsonw_init(&w, &sb, JSONW_ASCII);
	jsonw_object_open(&w);
	jsonw_key(&w, "results");
	jsonw_array_open(&w);
	jsonw_object_open(&w);
	jsonw_key(&w, "name");
	jsonw_string_or_null(&w, NULL);
	jsonw_object_close(&w);
	jsonw_array_close(&w);
	jsonw_key(&w, "count");
	jsonw_int(&w, 1);
	assert_int_equal(jsonw_finish(&w), VIS_ERR_INTERNAL); /* still open */
	assert_int_equal(jsonw_error(&w), VIS_OK);
	struct jsonw w2;
	jsonw_resume(&w2, &sb, JSONW_ASCII);
	jsonw_key(&w2, "access_id");
	jsonw_int(&w2, 7);
	jsonw_object_close(&w2);
	assert_int_equal(jsonw_finish(&w2), VIS_OK);
	assert_string_equal(sb.buf, "{\"results\":[{\"name\":null}],\"count\":1,\"access_id\":7}");
	strbuf_release(&sb);
}

static void test_misuse(void **state)
{
	(void)state;
	struct strbuf sb;
	struct jsonw w;
	/* a value without its key */
	strbuf_init(&sb, 1024);
	jsonw_init(&w, &sb, 0);
	jsonw_object_open(&w);
	jsonw_int(&w, 1);
	assert_int_equal(jsonw_finish(&w), VIS_ERR_INTERNAL);
	strbuf_release(&sb);
	/* a key in an array, a wrong close, two top-level values, a key left */
	strbuf_init(&sb, 1024);
	jsonw_init(&w, &sb, 0);
	jsonw_array_open(&w);
	jsonw_key(&w, "k");
	assert_int_equal(jsonw_error(&w), VIS_ERR_INTERNAL);
	strbuf_release(&sb);
	jsonw_init(&w, &sb, 0);
	jsonw_array_open(&w);
	jsonw_object_close(&w);
	assert_int_equal(jsonw_error(&w), VIS_ERR_INTERNAL);
	strbuf_release(&sb);
	jsonw_init(&w, &sb, 0);
	jsonw_null(&w);
	assert_int_equal(jsonw_finish(&w), VIS_OK);
	jsonw_null(&w);
	assert_int_equal(jsonw_finish(&w), VIS_ERR_INTERNAL);
	strbuf_release(&sb);
	jsonw_init(&w, &sb, 0);
	jsonw_object_open(&w);
	jsonw_key(&w, "k");
	jsonw_object_close(&w);
	assert_int_equal(jsonw_finish(&w), VIS_ERR_INTERNAL);
	strbuf_release(&sb);
	/* nothing written at all is not a text */
	jsonw_init(&w, &sb, 0);
	assert_int_equal(jsonw_finish(&w), VIS_ERR_INTERNAL);
}

static void test_limits(void **state)
{
	(void)state;
	struct strbuf sb;
	struct jsonw w;
	/* the buffer's maximum: an error, never a cut text handed out */
	strbuf_init(&sb, 10);
	jsonw_init(&w, &sb, 0);
	jsonw_array_open(&w);
	jsonw_string(&w, "abcdefghijklmnop");
	jsonw_array_close(&w);
	assert_int_equal(jsonw_finish(&w), VIS_ERR_LIMIT);
	assert_null(strbuf_detach(&sb, NULL));
	json_t *j = json_pack("[s,s]", "abcd", "efgh");
	vis_err rc = VIS_OK;
	assert_null(jsonw_dumps(j, 0, 12, NULL, &rc));
	assert_int_equal(rc, VIS_ERR_LIMIT);
	char *t = jsonw_dumps(j, 0, 15, NULL, &rc); /* ["abcd","efgh"]: 15 bytes */
	assert_string_equal(t, "[\"abcd\",\"efgh\"]");
	assert_int_equal(rc, VIS_OK);
	free(t);
	json_decref(j);
	/* nesting past JSONW_DEPTH_MAX */
	strbuf_init(&sb, 1024);
	jsonw_init(&w, &sb, 0);
	for (int i = 0; i < JSONW_DEPTH_MAX; i++)
		jsonw_array_open(&w);
	assert_int_equal(jsonw_error(&w), VIS_OK);
	jsonw_array_open(&w);
	assert_int_equal(jsonw_finish(&w), VIS_ERR_LIMIT);
	strbuf_release(&sb);
	assert_null(jsonw_dumps(NULL, 0, 100, NULL, &rc));
	assert_int_equal(rc, VIS_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_control_char),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_invalid_utf8_refused),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_nesting_same_as_jansson),
		cmocka_unit_test(test_misuse),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
