/* libFuzzer harness: the rule every query parameter meets before a handler
 * reads it — http_query_word (http/http.h), which names a route takes,
 * which it takes empty ("comuni="), which it ignores ("*"), and the
 * parameter without a name.
 *
 * The input is a route's list and one parameter: the bytes before the
 * first newline are the list (up to a NUL, as a C string in a route
 * table), the rest is the parameter, its name up to the first "=" and its
 * value after it (no "=": no value, "?name"); no newline: the route takes
 * none (NULL) and the whole input is the parameter.  The name may hold
 * any byte, a NUL or a space too; an "=" as well, in the second reading of
 * the same bytes: the whole parameter as a name, with no value and with
 * itself as value.  Each part is copied into an array of
 * exactly its size (the list with its NUL, name and value without one), so
 * that a read past the input is one past an array (AddressSanitizer's to
 * see).  The parameter is also checked against every list of the route
 * tables (api_routes, api_ops_routes).
 *
 * The decision must be the one of a reading written here without
 * word_in's code: split the list on spaces, a word of more than one byte
 * ending in "=" names what comes before it and allows it empty, the first
 * word naming the parameter decides, a word "*" (or "*=") ignores any
 * other name and allows any value empty.  A difference aborts. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A copy of n bytes in an array of exactly n (one byte when n is 0, never
 * read). */
static char *copy_exact(const uint8_t *p, size_t n)
{
	char *c = malloc(n ? n : 1);
	if (!c)
		abort();
	if (n)
		memcpy(c, p, n);
	return c;
}

/* The word of the list that names the parameter: its base (the word
 * without a final "=" when it is longer than one byte) equals the name. */
struct word_found {
	bool named, empty_ok, star;
};

static struct word_found oracle_words(const char *list, const char *name, size_t n)
{
	struct word_found f = {0};
	if (!list)
		return f;
	size_t len = strlen(list);
	size_t i = 0;
	while (i < len) {
		if (list[i] == ' ') {
			i++;
			continue;
		}
		size_t start = i;
		while (i < len && list[i] != ' ')
			i++;
		size_t wlen = i - start;
		bool eq = wlen > 1 && list[i - 1] == '=';
		size_t base = wlen - eq;
		if (base == 1 && list[start] == '*')
			f.star = true;
		if (!f.named && base == n && memcmp(list + start, name, n) == 0) {
			f.named = true;
			f.empty_ok = eq;
		}
	}
	return f;
}

static enum http_query_word oracle(const char *list, const char *name, size_t n,
				   const char *value, size_t value_len)
{
	struct word_found f = oracle_words(list, name, n);
	if (!f.named) {
		if (f.star)
			return HTTP_QUERY_IGNORED;
		return n == 0 ? HTTP_QUERY_NAMELESS : HTTP_QUERY_UNKNOWN;
	}
	bool empty = value == NULL || value_len == 0;
	if (empty && !f.empty_ok && !f.star)
		return HTTP_QUERY_EMPTY;
	return HTTP_QUERY_TAKEN;
}

static void check(const char *list, const char *name, size_t n, const char *value,
		  size_t value_len)
{
	enum http_query_word got = http_query_word(list, name, n, value, value_len);
	if (got != oracle(list, name, n, value, value_len))
		abort();
}

static void check_tables(const char *name, size_t n, const char *value, size_t value_len)
{
	const struct http_route *const tables[] = {api_routes, api_ops_routes};
	for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
		for (const struct http_route *r = tables[t]; r->method; r++)
			check(r->query, name, n, value, value_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	const uint8_t *nl = memchr(data, '\n', size);
	char *list = NULL;
	const uint8_t *param = data;
	size_t plen = size;
	if (nl) {
		const uint8_t *nul = memchr(data, '\0', (size_t)(nl - data));
		size_t llen = (size_t)((nul ? nul : nl) - data);
		list = copy_exact(data, llen + 1);
		list[llen] = '\0';
		param = nl + 1;
		plen = size - (size_t)(param - data);
	}
	const uint8_t *eq = memchr(param, '=', plen);
	size_t name_len = eq ? (size_t)(eq - param) : plen;
	char *name = copy_exact(param, name_len);
	char *value = NULL;
	size_t value_len = 0;
	if (eq) {
		value_len = plen - name_len - 1;
		value = copy_exact(eq + 1, value_len);
	}

	check(list, name, name_len, value, value_len);
	check_tables(name, name_len, value, value_len);
	char *whole = copy_exact(param, plen);
	check(list, whole, plen, NULL, 0);
	check(list, whole, plen, whole, plen);

	free(whole);
	free(value);
	free(name);
	free(list);
	return 0;
}
