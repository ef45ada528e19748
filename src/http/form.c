/* The body of an HTML form (application/x-www-form-urlencoded), for the
 * few pages without script that post one (the citizen's page): decoded
 * strictly into the same JSON object a JSON body gives, so that a handler
 * reads both with http_body_string. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "common/text.h"
#include "http/http.h"

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..n) ('+' a space, %XX a byte) into out (cap > n). */
static bool decode(const char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			out[o++] = ' ';
		} else if (s[i] == '%') {
			if (i + 2 >= n || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0)
				return false;
			out[o++] = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return !memchr(out, '\0', o);
}

json_t *http_form_decode(const char *body, size_t len, char *err, size_t errcap)
{
	json_t *obj = json_object();
	char *buf = malloc(len + 1);
	if (!obj || !buf) {
		snprintf(err, errcap, "memoria esaurita");
		goto fail;
	}
	size_t pairs = 0;
	for (size_t i = 0; i < len;) {
		const char *p = body + i;
		const char *amp = memchr(p, '&', len - i);
		size_t n = amp ? (size_t)(amp - p) : len - i;
		const char *eq = memchr(p, '=', n);
		if (!eq || eq == p) {
			snprintf(err, errcap, "il modulo inviato non è valido: ogni campo ha "
				 "la forma nome=valore");
			goto fail;
		}
		if (++pairs > HTTP_FORM_FIELDS_MAX) {
			snprintf(err, errcap, "il modulo inviato ha più di %d campi",
				 HTTP_FORM_FIELDS_MAX);
			goto fail;
		}
		/* the name's limit is on its text, not on how it was encoded */
		char key[64];
		size_t kn = (size_t)(eq - p);
		if (!decode(p, kn, buf)) {
			snprintf(err, errcap, "il modulo inviato non è valido: codifica errata");
			goto fail;
		}
		if (!str_copy(key, sizeof key, buf)) {
			snprintf(err, errcap, "il modulo inviato ha un nome di campo di più di %zu byte",
				 sizeof key - 1);
			goto fail;
		}
		if (!utf8_valid(key, strlen(key))) {
			snprintf(err, errcap, "il modulo inviato ha un nome di campo che non è testo "
				 "UTF-8 valido");
			goto fail;
		}
		if (!decode(eq + 1, n - kn - 1, buf)) {
			snprintf(err, errcap, "il modulo inviato non è valido: codifica errata");
			goto fail;
		}
		if (json_object_get(obj, key)) {
			/* key[64] + 45; callers give 160 bytes or more */
			STR_FMT_KNOWN_CAP(err, errcap, "il modulo inviato ripete il campo \"%s\"",
					  key);
			goto fail;
		}
		json_t *v = json_string(buf);
		if (!v) { /* not UTF-8 */
			/* key[64] + 40; callers give 160 bytes or more */
			STR_FMT_KNOWN_CAP(err, errcap, "il campo \"%s\" non è testo UTF-8 valido",
					  key);
			goto fail;
		}
		if (json_object_set_new(obj, key, v)) {
			snprintf(err, errcap, "memoria esaurita");
			goto fail;
		}
		i += n + (amp ? 1 : 0);
		if (amp && i == len) {
			snprintf(err, errcap, "il modulo inviato non è valido: termina con '&'");
			goto fail;
		}
	}
	free(buf);
	return obj;
fail:
	free(buf);
	json_decref(obj);
	return NULL;
}
