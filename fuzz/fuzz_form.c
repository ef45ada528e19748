/* libFuzzer harness: the body of an HTML form
 * (application/x-www-form-urlencoded, http_form_decode), which a citizen's
 * page posts and anyone can send.  Whatever the input: no crash; refused
 * with a message, or decoded into exactly one member per field (nothing
 * dropped), each a UTF-8 string; and the object, encoded again as a form,
 * decodes to the same object. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* s percent-encoded, every byte but letters and digits, onto out at o. */
static size_t encode(const char *s, size_t n, char *out, size_t o)
{
	static const char digits[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z')) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = digits[c >> 4];
			out[o++] = digits[c & 15];
		}
	}
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char err[160] = "";
	json_t *obj = http_form_decode((const char *)data, size, err, sizeof err);
	if (!obj) {
		if (!err[0])
			abort(); /* refused without saying why */
		return 0;
	}
	size_t fields = 0;
	for (size_t i = 0; i < size; i++)
		fields += data[i] == '&';
	fields += size > 0;
	if (json_object_size(obj) != fields)
		abort(); /* a field dropped (or invented) */
	char *again = malloc(size * 3 + 1);
	if (!again)
		abort();
	size_t o = 0;
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		if (!json_is_string(v))
			abort();
		if (o)
			again[o++] = '&';
		o = encode(key, strlen(key), again, o);
		again[o++] = '=';
		o = encode(json_string_value(v), json_string_length(v), again, o);
	}
	json_t *round = http_form_decode(again, o, err, sizeof err);
	if (!round || !json_equal(obj, round))
		abort();
	json_decref(round);
	free(again);
	json_decref(obj);
	return 0;
}
