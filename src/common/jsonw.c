/* jsonw — see jsonw.h. */
#include "common/jsonw.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"

void jsonw_init(struct jsonw *w, struct strbuf *sb, unsigned flags)
{
	*w = (struct jsonw){.sb = sb, .flags = flags, .err = sb->err};
}

void jsonw_resume(struct jsonw *w, struct strbuf *sb, unsigned flags)
{
	jsonw_init(w, sb, flags);
	w->top = true;
	w->depth = 1;
	w->open[0] = '{';
	w->any[0] = true;
}

static bool fail(struct jsonw *w, vis_err code)
{
	if (!w->err)
		w->err = code;
	return false;
}

static void put(struct jsonw *w, const char *s, size_t n)
{
	if (!w->err && strbuf_add(w->sb, s, n))
		w->err = w->sb->err;
}

/* Before a value: the comma, and the check that a value may come here. */
static bool value_begin(struct jsonw *w)
{
	if (w->err)
		return false;
	if (w->depth == 0) {
		if (w->top)
			return fail(w, VIS_ERR_INTERNAL); /* one value per text */
		w->top = true;
		return true;
	}
	if (w->open[w->depth - 1] == '{') {
		if (!w->want_value)
			return fail(w, VIS_ERR_INTERNAL);
		w->want_value = false;
		return true;
	}
	if (w->any[w->depth - 1])
		put(w, ",", 1);
	w->any[w->depth - 1] = true;
	return !w->err;
}

/* 1: a byte jansson writes as it is (printable ASCII but '"' and '\\'). */
static const unsigned char plain[256] = {
	['\x20'] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,       /* 0x20-0x2F, '"' */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,                  /* 0x30 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,                  /* 0x40 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,                  /* 0x50, '\\' */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,                  /* 0x60 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,                  /* 0x70-0x7F */
};

static void put_u(struct jsonw *w, uint32_t v)
{
	static const char hex[] = "0123456789ABCDEF";
	char u[6] = {'\\', 'u', hex[(v >> 12) & 15], hex[(v >> 8) & 15], hex[(v >> 4) & 15],
		     hex[v & 15]};
	put(w, u, sizeof u);
}

/* The quoted, escaped string; invalid UTF-8 fails the writer and writes
 * nothing of it. */
static void put_string(struct jsonw *w, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + n;
	size_t mark = w->sb->len;
	put(w, "\"", 1);
	while (s < end && !w->err) {
		const unsigned char *run = s;
		while (s < end && plain[*s])
			s++;
		if (s > run)
			put(w, (const char *)run, (size_t)(s - run));
		if (s == end)
			break;
		uint32_t cp;
		size_t len = utf8_next(s, (size_t)(end - s), &cp);
		if (!len) {
			fail(w, VIS_ERR_INVALID);
			break;
		}
		if (cp >= 0x80 && !(w->flags & JSONW_ASCII)) {
			put(w, (const char *)s, len);
		} else if (cp >= 0x80) {
			if (cp > 0xFFFF) {
				cp -= 0x10000;
				put_u(w, 0xD800 | (cp >> 10));
				put_u(w, 0xDC00 | (cp & 0x3FF));
			} else {
				put_u(w, cp);
			}
		} else {
			switch (cp) {
			case '"': put(w, "\\\"", 2); break;
			case '\\': put(w, "\\\\", 2); break;
			case '\b': put(w, "\\b", 2); break;
			case '\f': put(w, "\\f", 2); break;
			case '\n': put(w, "\\n", 2); break;
			case '\r': put(w, "\\r", 2); break;
			case '\t': put(w, "\\t", 2); break;
			default: put_u(w, cp); break;
			}
		}
		s += len;
	}
	put(w, "\"", 1);
	if (w->err == VIS_ERR_INVALID && w->sb->len >= mark) {
		/* nothing of a refused string stays in the text */
		w->sb->len = mark;
		w->sb->buf[mark] = '\0';
	}
}

void jsonw_object_open(struct jsonw *w)
{
	if (!value_begin(w))
		return;
	if (w->depth == JSONW_DEPTH_MAX) {
		fail(w, VIS_ERR_LIMIT);
		return;
	}
	put(w, "{", 1);
	w->open[w->depth] = '{';
	w->any[w->depth++] = false;
}

void jsonw_array_open(struct jsonw *w)
{
	if (!value_begin(w))
		return;
	if (w->depth == JSONW_DEPTH_MAX) {
		fail(w, VIS_ERR_LIMIT);
		return;
	}
	put(w, "[", 1);
	w->open[w->depth] = '[';
	w->any[w->depth++] = false;
}

static void close_level(struct jsonw *w, unsigned char open, const char *text)
{
	if (w->err)
		return;
	if (w->depth == 0 || w->open[w->depth - 1] != open || w->want_value) {
		fail(w, VIS_ERR_INTERNAL);
		return;
	}
	w->depth--;
	put(w, text, 1);
}

void jsonw_object_close(struct jsonw *w)
{
	close_level(w, '{', "}");
}

void jsonw_array_close(struct jsonw *w)
{
	close_level(w, '[', "]");
}

static void key_n(struct jsonw *w, const char *key, size_t n)
{
	if (w->err)
		return;
	if (w->depth == 0 || w->open[w->depth - 1] != '{' || w->want_value) {
		fail(w, VIS_ERR_INTERNAL);
		return;
	}
	if (w->any[w->depth - 1])
		put(w, ",", 1);
	w->any[w->depth - 1] = true;
	put_string(w, key, n);
	put(w, ":", 1);
	w->want_value = true;
}

void jsonw_key(struct jsonw *w, const char *key)
{
	key_n(w, key, strlen(key));
}

void jsonw_stringn(struct jsonw *w, const char *s, size_t n)
{
	if (value_begin(w))
		put_string(w, s, n);
}

void jsonw_string(struct jsonw *w, const char *s)
{
	jsonw_stringn(w, s, strlen(s));
}

void jsonw_string_or_null(struct jsonw *w, const char *s)
{
	if (s)
		jsonw_string(w, s);
	else
		jsonw_null(w);
}

void jsonw_int(struct jsonw *w, int64_t v)
{
	if (!value_begin(w))
		return;
	if (!w->err && strbuf_add_i64(w->sb, v))
		w->err = w->sb->err;
}

bool jsonw_real_format(double v, char out[32])
{
	if (!isfinite(v))
		return false;
	/* A normal double's shortest text has at most 15 digits when %.15g
	 * reads back as it (15 significant digits survive a round trip through
	 * a double: DBL_DIG), else 16 or 17.  A subnormal one has fewer
	 * significant bits, so a shorter text may read back too: tried from
	 * one digit up. */
	int len = 0, prec = fabs(v) < DBL_MIN && v != 0 ? 1 : 15;
	for (; prec <= 17; prec++) {
		len = snprintf(out, 32, "%.*g", prec, v);
		if (prec == 17 || strtod(out, NULL) == v)
			break;
	}
	/* jansson's form: a '.' or an 'e' so that it reads back as a real,
	 * no '+' and no leading zeros in the exponent */
	if (!strchr(out, '.') && !strchr(out, 'e')) {
		memcpy(out + len, ".0", 3);
		len += 2;
	}
	char *e = strchr(out, 'e');
	if (e) {
		char *start = e + 1, *digits = start + 1;
		if (*start == '-')
			start++;
		while (*digits == '0')
			digits++;
		memmove(start, digits, strlen(digits) + 1);
	}
	return true;
}

void jsonw_real(struct jsonw *w, double v)
{
	char buf[32];
	if (!isfinite(v)) {
		fail(w, VIS_ERR_INVALID);
		return;
	}
	if (!value_begin(w))
		return;
	jsonw_real_format(v, buf);
	put(w, buf, strlen(buf));
}

void jsonw_bool(struct jsonw *w, bool v)
{
	if (value_begin(w))
		put(w, v ? "true" : "false", v ? 4 : 5);
}

void jsonw_null(struct jsonw *w)
{
	if (value_begin(w))
		put(w, "null", 4);
}

void jsonw_dump(struct jsonw *w, const json_t *v)
{
	if (w->err)
		return;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		jsonw_object_open(w);
		for (void *it = json_object_iter((json_t *)v); it && !w->err;
		     it = json_object_iter_next((json_t *)v, it)) {
			key_n(w, json_object_iter_key(it), json_object_iter_key_len(it));
			jsonw_dump(w, json_object_iter_value(it));
		}
		jsonw_object_close(w);
		break;
	}
	case JSON_ARRAY:
		jsonw_array_open(w);
		for (size_t i = 0; i < json_array_size(v) && !w->err; i++)
			jsonw_dump(w, json_array_get(v, i));
		jsonw_array_close(w);
		break;
	case JSON_STRING:
		jsonw_stringn(w, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER: jsonw_int(w, json_integer_value(v)); break;
	case JSON_REAL: jsonw_real(w, json_real_value(v)); break;
	case JSON_TRUE: jsonw_bool(w, true); break;
	case JSON_FALSE: jsonw_bool(w, false); break;
	case JSON_NULL: jsonw_null(w); break;
	}
}

vis_err jsonw_error(const struct jsonw *w)
{
	return w->err;
}

vis_err jsonw_finish(const struct jsonw *w)
{
	if (w->err)
		return w->err;
	return w->depth || w->want_value || !w->top ? VIS_ERR_INTERNAL : VIS_OK;
}

char *jsonw_dumps(const json_t *v, unsigned flags, size_t max, size_t *len, vis_err *err)
{
	struct strbuf sb;
	struct jsonw w;
	strbuf_init(&sb, max);
	jsonw_init(&w, &sb, flags);
	if (!v)
		fail(&w, VIS_ERR_INVALID);
	else
		jsonw_dump(&w, v);
	vis_err rc = jsonw_finish(&w);
	if (err)
		*err = rc;
	if (rc) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, len);
}
