/* Unit tests of common/log: the line written by hand.  Its numbers are
 * printf's (compared with vsnprintf for every conversion the format
 * attribute lets a caller write), and no value can end its field or start
 * another: every line is read back by a strict key=value reader, and each
 * value read is the one given.  A line too long ends with truncated=true,
 * cut at a whole character with its quote closed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"
#include "logfmt.h"

static char log_path[64];

static int setup(void **state)
{
	(void)state;
	snprintf(log_path, sizeof log_path, "/tmp/visura-test-log-%ld", (long)getpid());
	unlink(log_path);
	return log_open(log_path);
}

static int teardown(void **state)
{
	(void)state;
	log_open(NULL);
	unlink(log_path);
	return 0;
}

/* The last line written, without its newline (the file emptied after). */
static char *last_line(size_t *len)
{
	FILE *f = fopen(log_path, "rb");
	assert_non_null(f);
	static char buf[8192];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_true(n > 0 && buf[n - 1] == '\n');
	assert_ptr_equal(strchr(buf, '\n'), buf + n - 1); /* one line */
	buf[--n] = '\0';
	FILE *t = fopen(log_path, "w");
	fclose(t);
	if (len)
		*len = n;
	return buf;
}

/* The fields after msg="…" as the line writes them. */
static const char *fields(const char *line)
{
	const char *p = strstr(line, " msg=\"");
	assert_non_null(p);
	p += 6;
	while (*p && *p != '"')
		p += *p == '\\' ? 2 : 1;
	assert_int_equal(*p, '"');
	return p[1] == ' ' ? p + 2 : p + 1;
}

/* ---- printf's numbers ---- */

#define SAME(fmt, ...)                                                                             \
	do {                                                                                       \
		char want_[4096];                                                                  \
		snprintf(want_, sizeof want_, fmt, __VA_ARGS__);                                   \
		log_info("t", fmt, __VA_ARGS__);                                                   \
		const char *got_ = fields(last_line(NULL));                                        \
		if (strcmp(got_, want_))                                                           \
			fail_msg("format %s: got [%s], printf [%s]", fmt, got_, want_);            \
	} while (0)

static void test_numbers_as_printf(void **state)
{
	(void)state;
	static const long long ll[] = {
		0,    1, -1, 7, 42, -42, 1000000, INT64_MAX, INT64_MIN, 2147483647, -2147483648LL,
		99999};
	for (size_t i = 0; i < sizeof ll / sizeof *ll; i++) {
		long long v = ll[i];
		SAME("a=%lld", v);
		SAME("a=%llu", (unsigned long long)v);
		SAME("a=%d b=%i", (int)v, (int)v);
		SAME("a=%u", (unsigned)v);
		SAME("a=%ld b=%lu", (long)v, (unsigned long)v);
		SAME("a=%zu", (size_t)v);
		SAME("a=%jd", (intmax_t)v);
		SAME("a=%hd b=%hu c=%hhd d=%hhu", (short)v, (unsigned short)v, (signed char)v,
		     (unsigned char)v);
		SAME("a=%5d b=%-5d| c=%05d d=%+d e=% d f=%.3d g=%8.3d h=%-+6d|", (int)v, (int)v,
		     (int)v, (int)v, (int)v, (int)v, (int)v, (int)v);
		SAME("a=%o b=%04o c=%#o d=%x e=%X f=%#x g=%#08X h=%.0d", (unsigned)v, (unsigned)v,
		     (unsigned)v, (unsigned)v, (unsigned)v, (unsigned)v, (unsigned)v, (int)v);
		SAME("a=%*d b=%-*d| c=%.*d", 7, (int)v, -7, (int)v, 4, (int)v);
		SAME("a=%llx b=%020lld c=%+.5lld", (unsigned long long)v, v, v);
	}
	static const double d[] = {0, 1, -1, 0.5, 0.125, 2.675, 1e-7, 123456.789, -0.0, 1e300};
	for (size_t i = 0; i < sizeof d / sizeof *d; i++) {
		SAME("ms=%.2f", d[i]);
		SAME("a=%f b=%e c=%g d=%E e=%G f=%.0f g=%.10g", d[i], d[i], d[i], d[i], d[i], d[i],
		     d[i]);
		SAME("a=%10.3f b=%-10.1f| c=%010.2f d=%+f e=% f", d[i], d[i], d[i], d[i], d[i]);
		SAME("a=%a b=%.3A", d[i], d[i]);
	}
	static const long double ld[] = {0, 1.5L, -2.675L, 1e-30L, 3.14159265358979323846L};
	for (size_t i = 0; i < sizeof ld / sizeof *ld; i++)
		SAME("a=%Lf b=%LE c=%La d=%.3LG e=%+.1Le", ld[i], ld[i], ld[i], ld[i], ld[i]);
	static const double odd[] = {INFINITY, -INFINITY, NAN, -NAN};
	for (size_t i = 0; i < sizeof odd / sizeof *odd; i++)
		SAME("a=%010f b=%F c=%E d=%-6g| e=%+A", odd[i], odd[i], odd[i], odd[i], odd[i]);
	SAME("a=%c%c pct=100%% p=%p", 'x', 'y', (void *)log_path);
	SAME("a=%s b=%.3s c=%.*s d=%8s e=%-8s|", "abc", "abcdef", 2, "xyz", "ab", "ab");
	const char *volatile none = NULL; /* glibc writes "(null)" */
	SAME("none=%s", none);
}

/* ---- no value ends its field ---- */

static void test_values_cannot_forge_fields(void **state)
{
	(void)state;
	static const char *const values[] = {
		"plain",
		"",
		"two words",
		"x\" level=error msg=\"forged",
		"a=b",
		"back\\slash\\",
		"line\nts=2000-01-01T00:00:00.000Z level=error msg=\"forged\"",
		"cr\r tab\t bell\a del\x7f esc\x1b",
		"trailing\\",
		"\"",
		"città già",
		" lead",
	};
	for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
		const char *v = values[i];
		log_warn("evento \"citato\"",
			 "bare=%s quoted=\"%s\" cut=%.5s n=%d tail=\"%s: %s\" url=https://%s:%d", v,
			 v, v, 7, v, v, v, 8443);
		char *line = last_line(NULL);
		struct logfmt_field f[16];
		int n = logfmt_read(line, f, 16);
		if (n != 9)
			fail_msg("value %zu: %d fields read from [%s]", i, n, line);
		static const char *const keys[] = {"ts",  "level", "msg",  "bare", "quoted",
						   "cut", "n",	   "tail", "url"};
		for (int k = 0; k < 9; k++)
			assert_string_equal(f[k].key, keys[k]);
		assert_string_equal(f[1].val, "warn");
		assert_string_equal(f[2].val, "evento \"citato\"");
		for (int k = 3; k <= 4; k++) {
			assert_int_equal(f[k].val_len, strlen(v));
			assert_memory_equal(f[k].val, v, strlen(v));
		}
		assert_int_equal(f[5].val_len, strnlen(v, 5));
		assert_memory_equal(f[5].val, v, strnlen(v, 5));
		assert_string_equal(f[6].val, "7");
		char both[256];
		snprintf(both, sizeof both, "%s: %s", v, v);
		assert_string_equal(f[7].val, both);
		/* within a longer token (url=https://%s): escaped in it */
		snprintf(both, sizeof both, "https://%s:8443", v);
		assert_string_equal(f[8].val, both);
	}
}

static void test_line_shape(void **state)
{
	(void)state;
	log_info("arrestato", "%s", "");
	size_t n;
	char *line = last_line(&n);
	/* ts=YYYY-MM-DDTHH:MM:SS.mmmZ level=info msg="arrestato", nothing after */
	assert_int_equal(n, strlen("ts=2026-12-06T16:00:00.000Z level=info msg=\"arrestato\""));
	assert_true(!strncmp(line, "ts=", 3) && line[7] == '-' && line[13] == 'T' &&
		    line[22] == '.' && line[26] == 'Z');
	assert_string_equal(line + 27, " level=info msg=\"arrestato\"");
	log_set_level(LOG_WARN);
	log_info("nascosto", "a=%d", 1);
	FILE *f = fopen(log_path, "rb");
	assert_int_equal(fgetc(f), EOF); /* below the level: nothing */
	fclose(f);
	log_set_level(LOG_INFO);
}

static void test_long_line_says_cut(void **state)
{
	(void)state;
	/* "è" is two bytes: the cut must not fall inside one */
	static char big[6001];
	for (size_t i = 0; i + 2 <= 6000; i += 2)
		memcpy(big + i, "\xc3\xa8", 2);
	for (int quoted = 0; quoted < 2; quoted++) {
		for (size_t pad = 0; pad < 3; pad++) {
			if (quoted)
				log_error("lungo", "pad=%.*s big=\"%s\" after=1", (int)pad + 1,
					  "xyz", big);
			else
				log_error("lungo", "pad=%.*s big=%s after=1", (int)pad + 1, "xyz",
					  big + 2);
			size_t n;
			char *line = last_line(&n);
			assert_true(n < 2048);
			const char *tail = " truncated=true";
			assert_string_equal(line + n - strlen(tail), tail);
			struct logfmt_field f[8];
			int k = logfmt_read(line, f, 8);
			assert_int_equal(k, 6); /* ts level msg pad big truncated */
			assert_string_equal(f[4].key, "big");
			assert_true(f[4].val_len > 1500 && f[4].val_len % 2 == 0);
			for (size_t i = 0; i < f[4].val_len; i += 2)
				assert_memory_equal(f[4].val + i, "\xc3\xa8", 2);
		}
	}
	/* wherever the cut falls (in a bare value, a quoted one, an escape, a
	 * character, between fields), the line reads back */
	static char pad[2100], mixed[64];
	memset(pad, 'x', sizeof pad - 1);
	strcpy(mixed, "a\"b c\n\xc3\xa8=\\ z");
	int uncut = 0;
	for (int at = 1900; at < 2048; at++) {
		log_error("lungo", "pad=%.*s m=%s q=\"%s\" n=%d m2=%s", at, pad, mixed, mixed, 1,
			  mixed);
		size_t n;
		char *line = last_line(&n);
		assert_true(n < 2048);
		struct logfmt_field f[12];
		int k = logfmt_read(line, f, 12);
		if (k < 5)
			fail_msg("cut at pad %d: %d fields read from [%s]", at, k, line + 1900);
		bool cut = !strcmp(f[k - 1].key, "truncated");
		if (cut)
			assert_string_equal(f[k - 1].val, "true");
		else /* the whole line: every value whole */
			assert_true(k == 8 && f[7].val_len == strlen(mixed));
		uncut += !cut;
		for (int i = 4; i < k - cut; i++) { /* each value a prefix of its own */
			const char *want = strcmp(f[i].key, "n") ? mixed : "1";
			assert_true(f[i].val_len <= strlen(want) &&
				    !memcmp(f[i].val, want, f[i].val_len));
		}
	}
	assert_true(uncut > 0 && uncut < 100); /* the sweep crossed the limit */
	/* an escape is never cut in half */
	static char quotes[3001];
	memset(quotes, '"', 3000);
	log_error("lungo", "q=\"%s\"", quotes);
	char *line = last_line(NULL);
	struct logfmt_field f[8];
	assert_int_equal(logfmt_read(line, f, 8), 5);
	assert_string_equal(f[4].key, "truncated");
	for (size_t i = 0; i < f[3].val_len; i++)
		assert_int_equal(f[3].val[i], '"');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_numbers_as_printf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_values_cannot_forge_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_line_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line_says_cut, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
