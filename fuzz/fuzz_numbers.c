/* libFuzzer harness: the one reader of numbers in query parameters, ids,
 * cursors and limits — str_digits and str_uint (common/str.h).  The input
 * is what a C string caller passes: the bytes up to the first NUL, copied
 * into an array of exactly that many bytes and the NUL, so that a read
 * past the NUL is one past the array (AddressSanitizer's to see).
 * Whatever the input: no crash, and each answer is the one of an
 * independent reading (every byte an ASCII digit, then strtoll with its
 * overflow), for the bounds 0, 3, 999, STR_UINT18_MAX, INT64_MAX, the
 * number itself and one less (and -1, which takes nothing), and for
 * str_digits the lengths 0 to 40, the text's and its neighbours, and
 * SIZE_MAX.
 * A difference aborts. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether the len bytes of s are all ASCII digits. */
static bool all_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* The independent reading: s as a number of at least one digit, at most
 * max; false for anything else (a sign, a space, a letter, more than
 * INT64_MAX). */
static bool oracle_uint(const char *s, size_t len, int64_t max, int64_t *v)
{
	*v = 0;
	if (!len || !all_digits(s, len) || max < 0)
		return false;
	errno = 0;
	char *end;
	long long n = strtoll(s, &end, 10);
	if (errno == ERANGE || end != s + len)
		return false; /* over INT64_MAX: over every bound */
	if (n > max)
		return false;
	*v = n;
	return true;
}

static void check_uint(const char *s, size_t len, int64_t max)
{
	int64_t got = -1, want;
	bool ok = str_uint(s, max, &got);
	if (ok != oracle_uint(s, len, max, &want) || got != want)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 2048) /* a query value is at most 1024 bytes */
		return 0;
	const uint8_t *nul = memchr(data, '\0', size);
	size_t len = nul ? (size_t)(nul - data) : size;
	char *s = malloc(len + 1);
	if (!s)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';

	static const int64_t bounds[] = {0, 3, 999, STR_UINT18_MAX, INT64_MAX, -1};
	for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++)
		check_uint(s, len, bounds[i]);
	/* the bound at the number itself: taken at it, refused one below */
	int64_t v;
	if (oracle_uint(s, len, INT64_MAX, &v)) {
		check_uint(s, len, v);
		if (v > 0)
			check_uint(s, len, v - 1);
	}

	bool digits = all_digits(s, len);
	for (size_t n = 0; n <= 40; n++)
		if (str_digits(s, n) != (n == len && digits))
			abort();
	if ((len && str_digits(s, len - 1)) || str_digits(s, len) != digits ||
	    str_digits(s, len + 1) || str_digits(s, len + 2) || str_digits(s, SIZE_MAX))
		abort();

	int64_t out = 1;
	if (str_uint(NULL, INT64_MAX, &out) || out != 0)
		abort();
	free(s);
	return 0;
}
