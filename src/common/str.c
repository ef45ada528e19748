#include "common/str.h"

#include "common/log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool str_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap) {
		dst[0] = '\0';
		return false;
	}
	memcpy(dst, src, n + 1);
	return true;
}

bool str_copy_cut(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	bool cut = n >= cap;
	if (cut) {
		n = cap - 1;
		/* back off continuation bytes so no character is split */
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memmove(dst, src, n);
	dst[n] = '\0';
	return cut;
}

vis_err str_set(char *dst, size_t cap, const char *src, const char *what, struct vis_error *e)
{
	if (str_copy(dst, cap, src))
		return VIS_OK;
	return vis_error_set(e, VIS_ERR_LIMIT, "%s: più lungo di %zu byte", what, cap - 1);
}

void str_copy_known(char *dst, size_t cap, const char *src, const char *file, int line)
{
	if (str_copy_cut(dst, cap, src))
		log_error("stringa tagliata",
			  "bug=\"sorgente più lunga del suo campo\" at=%s:%d cap=%zu",
			  file, line, cap);
}

/* vsnprintf into dst; the text's length, or -1 when it did not fit (dst is
 * then the cut prefix) or could not be formatted (dst is then ""). */
static int fmt_into(char *dst, size_t cap, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static int fmt_into(char *dst, size_t cap, const char *fmt, va_list ap)
{
	int n = vsnprintf(dst, cap, fmt, ap);
	if (n < 0) {
		dst[0] = '\0';
		return -1;
	}
	return (size_t)n < cap ? n : -1;
}

bool str_fmt(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_into(dst, cap, fmt, ap);
	va_end(ap);
	if (n < 0)
		dst[0] = '\0';
	return n >= 0;
}

vis_err str_fmt_set(char *dst, size_t cap, const char *what, struct vis_error *e,
		    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_into(dst, cap, fmt, ap);
	va_end(ap);
	if (n >= 0)
		return VIS_OK;
	dst[0] = '\0';
	return vis_error_set(e, VIS_ERR_LIMIT, "%s: più lungo di %zu byte", what, cap - 1);
}

void str_fmt_known(const char *file, int line, char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_into(dst, cap, fmt, ap);
	va_end(ap);
	if (n >= 0)
		return;
	/* vsnprintf kept the first cap - 1 bytes: drop a character it split */
	size_t k = strlen(dst), lead = k;
	while (lead > 0 && ((unsigned char)dst[lead - 1] & 0xC0) == 0x80)
		lead--;
	if (lead > 0) {
		unsigned char c = (unsigned char)dst[lead - 1];
		size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
		if (lead - 1 + len > k)
			dst[lead - 1] = '\0';
	}
	log_error("testo tagliato", "bug=\"testo più lungo del suo campo\" at=%s:%d cap=%zu",
		  file, line, cap);
}

static char empty[1];

void strbuf_init(struct strbuf *sb, size_t max)
{
	*sb = (struct strbuf){.buf = empty, .max = max};
}

void strbuf_release(struct strbuf *sb)
{
	if (sb->alloc)
		free(sb->buf);
	strbuf_init(sb, sb->max);
}

char *strbuf_detach(struct strbuf *sb, size_t *len)
{
	char *out = NULL;
	if (!sb->err)
		out = sb->alloc ? sb->buf : strdup("");
	if (out && len)
		*len = sb->len;
	if (!out && sb->alloc)
		free(sb->buf);
	strbuf_init(sb, sb->max);
	return out;
}

/* Makes room for n more bytes and the NUL. */
static vis_err grow(struct strbuf *sb, size_t n)
{
	if (sb->err)
		return sb->err;
	if (n > sb->max || sb->len > sb->max - n)
		return sb->err = VIS_ERR_LIMIT;
	size_t need = sb->len + n + 1;
	if (need <= sb->alloc)
		return VIS_OK;
	size_t alloc = sb->alloc ? sb->alloc : 256;
	while (alloc < need)
		alloc = alloc > (sb->max + 1) / 2 ? sb->max + 1 : alloc * 2;
	char *nb = realloc(sb->alloc ? sb->buf : NULL, alloc);
	if (!nb)
		return sb->err = VIS_ERR_NOMEM;
	if (!sb->alloc)
		nb[0] = '\0';
	sb->buf = nb;
	sb->alloc = alloc;
	return VIS_OK;
}

vis_err strbuf_add(struct strbuf *sb, const void *data, size_t n)
{
	vis_err rc = grow(sb, n);
	if (rc)
		return rc;
	memcpy(sb->buf + sb->len, data, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
	return VIS_OK;
}

vis_err strbuf_adds(struct strbuf *sb, const char *s)
{
	return strbuf_add(sb, s, strlen(s));
}

vis_err strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	if (sb->err)
		return sb->err;
	/* One pass when the text fits the room already there, two otherwise
	 * (measure, grow, write). */
	size_t room = sb->alloc ? sb->alloc - sb->len : 0;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(room ? sb->buf + sb->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		if (room)
			sb->buf[sb->len] = '\0';
		return sb->err = VIS_ERR_INTERNAL;
	}
	if ((size_t)n < room && (size_t)n <= sb->max - sb->len) {
		sb->len += (size_t)n;
		return VIS_OK;
	}
	if (room)
		sb->buf[sb->len] = '\0'; /* what did not fit is not kept */
	vis_err rc = grow(sb, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
	return VIS_OK;
}

size_t str_i64(char *out, int64_t v)
{
	char buf[24], *p = buf + sizeof buf;
	/* the magnitude as unsigned: INT64_MIN has no positive twin */
	uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do {
		*--p = (char)('0' + m % 10);
		m /= 10;
	} while (m);
	if (v < 0)
		*--p = '-';
	size_t n = (size_t)(buf + sizeof buf - p);
	memcpy(out, p, n);
	out[n] = '\0';
	return n;
}

bool str_digits(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	return i == n && s[n] == '\0';
}

bool str_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	*out = 0;
	if (!s || !*s)
		return false;
	for (; *s; s++) {
		unsigned d = (unsigned char)*s - (unsigned)'0';
		/* v * 10 + d > max, written so that it cannot overflow */
		if (d > 9 || d > max || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

bool str_uint(const char *s, int64_t max, int64_t *out)
{
	uint64_t v;
	*out = 0;
	if (max < 0 || !str_u64(s, (uint64_t)max, &v))
		return false;
	*out = (int64_t)v;
	return true;
}

vis_err strbuf_add_i64(struct strbuf *sb, int64_t v)
{
	char buf[STR_I64_MAX];
	size_t n = str_i64(buf, v);
	return strbuf_add(sb, buf, n);
}

/* A plain decimal number: optional '-', digits, optional '.' and digits. */
static bool is_number(const char *s)
{
	if (*s == '-')
		s++;
	if (!(*s >= '0' && *s <= '9'))
		return false;
	while (*s >= '0' && *s <= '9')
		s++;
	if (*s == '.') {
		s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

vis_err strbuf_add_csv(struct strbuf *sb, const char *cell, bool last)
{
	strbuf_add(sb, "\"", 1);
	if (strchr("=+-@\t\r", cell[0]) && cell[0] && !is_number(cell))
		strbuf_add(sb, "'", 1);
	for (const char *p = cell; *p;) {
		size_t n = strcspn(p, "\"");
		strbuf_add(sb, p, n);
		p += n;
		if (*p == '"') {
			strbuf_add(sb, "\"\"", 2);
			p++;
		}
	}
	strbuf_add(sb, "\"", 1);
	return strbuf_add(sb, last ? "\n" : ",", 1);
}

vis_err strbuf_add_html(struct strbuf *sb, const char *s)
{
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, "&<>\"'");
		strbuf_add(sb, p, n);
		p += n;
		switch (*p) {
		case '&': strbuf_adds(sb, "&amp;"); break;
		case '<': strbuf_adds(sb, "&lt;"); break;
		case '>': strbuf_adds(sb, "&gt;"); break;
		case '"': strbuf_adds(sb, "&quot;"); break;
		case '\'': strbuf_adds(sb, "&#39;"); break;
		default: continue;
		}
		p++;
	}
	return sb->err;
}

void str_hex(char *out, const void *in, size_t n)
{
	static const char digit[] = "0123456789abcdef";
	const unsigned char *b = in;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digit[b[i] >> 4];
		out[2 * i + 1] = digit[b[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

void str_base64(char *out, size_t cap, const void *in, size_t n, enum str_b64 v)
{
	static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *a = v == STR_B64URL ? url : std;
	const unsigned char *b = in;
	size_t rest = n % 3;
	size_t len = n / 3 * 4 + (rest == 0 ? 0 : v == STR_B64URL ? rest + 1 : 4);
	if (len >= cap)
		abort();
	char *o = out;
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t w = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
		*o++ = a[w >> 18];
		*o++ = a[w >> 12 & 0x3f];
		*o++ = a[w >> 6 & 0x3f];
		*o++ = a[w & 0x3f];
	}
	if (rest) {
		uint32_t w = (uint32_t)b[i] << 16 | (rest == 2 ? (uint32_t)b[i + 1] << 8 : 0);
		*o++ = a[w >> 18];
		*o++ = a[w >> 12 & 0x3f];
		if (rest == 2)
			*o++ = a[w >> 6 & 0x3f];
		if (v == STR_B64) {
			if (rest == 1)
				*o++ = '=';
			*o++ = '=';
		}
	}
	*o = '\0';
}
