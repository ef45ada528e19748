/* Unit tests: the rules of outbound connections (webhooks, SMTP): URLs
 * parsed by curl's URL API, and the address actually connected to checked
 * by the socket hook, whatever the name resolved to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "net/outbound.h"

static bool ok(const char *url, enum outbound_use use, bool plain)
{
	struct vis_error e = {0};
	return outbound_check(url, use, plain, &e) == VIS_OK;
}

static void test_webhook_urls(void **state)
{
	(void)state;
	static const char *const refused[] = {
		"http://127.0.0.1@169.254.169.254/",
		"http://localhost.attacker.example/",
		"http://127.0.0.1.nip.io/",
		"http://127.0.0.1:1@127.0.0.9:8080/hook",
		"https://user:secret@example.org/hook",
		"https://169.254.169.254/latest/meta-data/",
		"https://[fe80::1]/",
		"https://[::ffff:169.254.169.254]/",
		"https://0.0.0.0/",
		"https://224.0.0.1/",
		"http://10.0.0.5/hook",
		"http://example.org/x",
		"ftp://127.0.0.1/x",
		"file:///etc/passwd",
		"gopher://127.0.0.1/",
		"127.0.0.1/hook",
		"",
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		if (ok(refused[i], OUTBOUND_WEBHOOK, false))
			fail_msg("accepted: %s", refused[i]);
	static const char *const accepted[] = {
		"http://127.0.0.9:8080/hook",
		"http://localhost:8080/hook",
		"http://[::1]:8080/hook",
		"https://example.org/hook",
		"https://10.0.0.5/hook",
	};
	for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++)
		if (!ok(accepted[i], OUTBOUND_WEBHOOK, false))
			fail_msg("refused: %s", accepted[i]);
}

static void test_smtp_urls(void **state)
{
	(void)state;
	assert_true(ok("smtps://relay.example:465", OUTBOUND_SMTP, false));
	assert_true(ok("smtp://relay.example:587", OUTBOUND_SMTP, false));   /* STARTTLS required */
	assert_false(ok("file:///tmp/mail", OUTBOUND_SMTP, false));
	assert_false(ok("http://relay.example/", OUTBOUND_SMTP, false));
	assert_false(ok("smtp://user:pw@relay.example:587", OUTBOUND_SMTP, false));
	/* Plain SMTP only to a loopback relay. */
	assert_true(ok("smtp://127.0.0.1:25", OUTBOUND_SMTP, true));
	assert_true(ok("smtp://localhost:25", OUTBOUND_SMTP, true));
	assert_false(ok("smtp://relay.example:25", OUTBOUND_SMTP, true));
	assert_false(ok("smtp://192.0.2.1:25", OUTBOUND_SMTP, true));
	assert_false(ok("smtp://127.0.0.1.nip.io:25", OUTBOUND_SMTP, true));
}

static void test_addresses(void **state)
{
	(void)state;
	assert_true(outbound_address_allowed("127.0.0.9", true));
	assert_true(outbound_address_allowed("::1", true));
	assert_true(outbound_address_allowed("::ffff:127.0.0.1", true));
	assert_false(outbound_address_allowed("10.0.0.1", true));
	assert_false(outbound_address_allowed("::ffff:10.0.0.1", true));
	assert_true(outbound_address_allowed("10.0.0.1", false));
	assert_true(outbound_address_allowed("2001:db8::1", false));
	assert_false(outbound_address_allowed("169.254.169.254", false));
	assert_false(outbound_address_allowed("::ffff:169.254.169.254", false));
	assert_false(outbound_address_allowed("fe80::1", false));
	assert_false(outbound_address_allowed("0.0.0.0", false));
	assert_false(outbound_address_allowed("::", false));
	assert_false(outbound_address_allowed("255.255.255.255", false));
	assert_false(outbound_address_allowed("ff02::1", false));
}

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

/* The name passes the URL rules; it resolves to a forbidden address: the
 * socket hook refuses it, nothing is connected. */
static void run_resolved(const char *url, const char *resolve, enum outbound_use use, bool plain,
			 const char *want_refused)
{
	CURL *c = curl_easy_init();
	assert_non_null(c);
	struct outbound o;
	struct vis_error e = {0};
	assert_int_equal(outbound_prepare(c, &o, url, use, plain, &e), VIS_OK);
	struct curl_slist *r = curl_slist_append(NULL, resolve);
	curl_easy_setopt(c, CURLOPT_RESOLVE, r);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 2L);
	CURLcode rc = curl_easy_perform(c);
	assert_int_not_equal(rc, CURLE_OK);
	assert_string_equal(o.refused, want_refused);
	curl_slist_free_all(r);
	curl_easy_cleanup(c);
	outbound_release(&o);
}

static void test_connected_address_checked(void **state)
{
	(void)state;
	run_resolved("https://hooks.example:8443/x", "hooks.example:8443:169.254.169.254",
		     OUTBOUND_WEBHOOK, false, "169.254.169.254");
	run_resolved("https://hooks.example:8443/x", "hooks.example:8443:[fe80::1]",
		     OUTBOUND_WEBHOOK, false, "fe80::1");
	/* A plain relay declared on loopback, whose name leads elsewhere. */
	run_resolved("smtp://localhost:2525", "localhost:2525:192.0.2.7", OUTBOUND_SMTP, true,
		     "192.0.2.7");
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_webhook_urls),
		cmocka_unit_test(test_smtp_urls),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_connected_address_checked),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
