/* Unit tests: a message as the SMTP relay gets it (mail_compose): the
 * longest stored message whole, line ends CRLF and leading dots doubled,
 * no header forged by a line end in a stored value, and a message that
 * does not fit refused, never cut. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mail.h"

/* The body as sent back to the stored text: CRLF to LF, a line's leading
 * ".." to ".". */
static void unstuff(const char *sent, size_t n, char *out)
{
	size_t o = 0;
	int line_start = 1;
	for (size_t i = 0; i < n; i++) {
		if (line_start && sent[i] == '.' && i + 1 < n && sent[i + 1] == '.')
			i++;
		if (sent[i] == '\r' && i + 1 < n && sent[i + 1] == '\n')
			i++;
		out[o++] = sent[i];
		line_start = sent[i] == '\n';
	}
	out[o] = '\0';
}

static void test_longest_message_whole(void **state)
{
	(void)state;
	static struct config cfg;
	static struct store_mail m;
	memset(cfg.smtp_from, 'f', sizeof cfg.smtp_from - 1);
	memset(m.recipient, 'r', sizeof m.recipient - 1);
	memset(m.subject, 's', sizeof m.subject - 1);
	/* the worst body: every line a lone '.', each doubled and each LF a CRLF */
	for (size_t i = 0; i + 1 < sizeof m.body; i++)
		m.body[i] = i % 2 ? '\n' : '.';
	m.id = 9223372036854775807LL;
	static char out[MAIL_MESSAGE_MAX];
	size_t len = mail_compose(&cfg, &m, 4102444799LL, out, sizeof out);
	assert_true(len > 0 && len < sizeof out);
	out[len] = '\0';
	const char *end = strstr(out, "\r\n\r\n");
	assert_non_null(end);
	const char *body = end + 4;
	static char back[sizeof m.body];
	unstuff(body, len - (size_t)(body - out), back);
	assert_string_equal(back, m.body);
	/* one byte short: refused, not cut */
	assert_int_equal(mail_compose(&cfg, &m, 4102444799LL, out, len - 1), 0);
	assert_int_equal(mail_compose(&cfg, &m, 4102444799LL, out, len), len);
}

static void test_no_forged_header(void **state)
{
	(void)state;
	static struct config cfg;
	static struct store_mail m;
	strcpy(cfg.smtp_from, "anagrafe@comune.example");
	strcpy(m.recipient, "a@example.org>\r\nBcc: <x@attacker.example");
	strcpy(m.subject, "Avviso\r\nBcc: x@attacker.example");
	strcpy(m.body, "riga\n.\nfine");
	char out[MAIL_MESSAGE_MAX];
	size_t len = mail_compose(&cfg, &m, 1700000000, out, sizeof out);
	assert_true(len > 0);
	out[len] = '\0';
	assert_null(strstr(out, "\r\nBcc:"));
	assert_non_null(strstr(out, "Subject: AvvisoBcc: x@attacker.example\r\n"));
	assert_non_null(strstr(out, "\r\n\r\nriga\r\n..\r\nfine"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_longest_message_whole),
		cmocka_unit_test(test_no_forged_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
