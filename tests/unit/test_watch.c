/* The parsing of the citizens' notices: the addresses taken
 * (email_valid), the HTML form bodies their page posts
 * (http_form_decode), and the embargo rule shared with the report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/email.h"
#include "http/http.h"
#include "watch/watch.h"

static void test_addresses(void **state)
{
	(void)state;
	const char *good[] = {"mario.rossi@comune.example.it", "a@b.it", "x+tag@mail-1.example.org",
			      "o'neil@example.com", "A.B_C@Example.COM"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_true(email_valid(good[i]));
	char local65[80], label64[90], long255[300];
	memset(local65, 'a', 65);
	strcpy(local65 + 65, "@example.it");
	strcpy(label64, "a@");
	memset(label64 + 2, 'b', 64);
	strcpy(label64 + 66, ".it");
	strcpy(long255, "a@");
	for (size_t n = 2; n < 250; n += 4)
		memcpy(long255 + n, "bbb.", 4);
	strcpy(long255 + 250, "it.it");
	assert_int_equal(strlen(long255), 255);
	const char *bad[] = {"", "mario", "@example.it", "mario@", "mario@it", "mario@@example.it",
			     "ma rio@example.it", "mario@exa mple.it", ".mario@example.it",
			     "mario.@example.it", "ma..rio@example.it", "mario@-example.it",
			     "mario@example-.it", "mario@example..it", "mario@example.it.",
			     "\"mario\"@example.it", "mario@[127.0.0.1]", "mario@example.it\r\nBcc: x@y.it",
			     "mario@exàmple.it", "mario<x@y.it>@example.it", "a@b@c.it",
			     local65, label64, long255};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(email_valid(bad[i]));
}

static json_t *form(const char *body, char *err)
{
	return http_form_decode(body, strlen(body), err, 160);
}

static void test_forms(void **state)
{
	(void)state;
	char err[160];
	json_t *o = form("address=mario.rossi%40example.it&csrf_token=ab+c%2Bd", err);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "address")),
			    "mario.rossi@example.it");
	assert_string_equal(json_string_value(json_object_get(o, "csrf_token")), "ab c+d");
	json_decref(o);
	o = form("", err);
	assert_non_null(o);
	assert_int_equal(json_object_size(o), 0);
	json_decref(o);
	o = form("a=&b=%C3%A0", err);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "a")), "");
	assert_string_equal(json_string_value(json_object_get(o, "b")), "\xC3\xA0");
	json_decref(o);
	/* a name's limit is on its text (63 bytes), however it is encoded */
	char name[64 * 3 + 8] = "";
	for (int i = 0; i < 63; i++)
		strcat(name, "%3C");
	strcat(name, "=1");
	o = form(name, err);
	assert_non_null(o);
	assert_int_equal(json_object_size(o), 1);
	json_decref(o);
	const char *bad[] = {"%FF=1", "a=1&%C3%28=2", "a", "=x", "a=1&a=2", "a=%4", "a=%zz", "a=%00", "a=%C3", "a=1&",
			     "a=1&&b=2", "%00=1",
			     "a=1&b=1&c=1&d=1&e=1&f=1&g=1&h=1&i=1&j=1&k=1&l=1&m=1&n=1&o=1&p=1&q=1",
			     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_null(form(bad[i], err));
		assert_true(err[0] != '\0');
	}
}

static void test_embargo(void **state)
{
	(void)state;
	int64_t now = 1700000000;
	int64_t day = 86400;
	assert_true(watch_embargoed("police", (now - 10 * day) * 1000, 365, now));
	assert_true(watch_embargoed("court", (now - 364 * day) * 1000, 365, now));
	assert_false(watch_embargoed("police", (now - 365 * day) * 1000, 365, now));
	assert_false(watch_embargoed("health", now * 1000, 365, now));
	assert_false(watch_embargoed("police", now * 1000, 0, now));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_embargo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
