#include "common/log.h"
#include "common/date.h"
#include "common/str.h"

#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;
static FILE *out;
static char out_path[1024];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void log_set_level(enum log_level lvl)
{
	min_level = lvl;
}

/* A new file for path, owner only (the log names accounts and addresses). */
static FILE *open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
	if (!f && fd >= 0)
		close(fd);
	if (f)
		setvbuf(f, NULL, _IOLBF, 0);
	return f;
}

int log_open(const char *path)
{
	if (path && strlen(path) >= sizeof out_path)
		return -1; /* a path that would not reopen the same file */
	FILE *f = path ? open_file(path) : NULL;
	pthread_mutex_lock(&lock);
	if (out && out != stderr)
		fclose(out);
	out = f ? f : stderr;
	if (!path || !STR_COPY(out_path, path))
		out_path[0] = '\0';
	pthread_mutex_unlock(&lock);
	return path && !f ? -1 : 0;
}

int log_reopen(void)
{
	char path[1024];
	pthread_mutex_lock(&lock);
	STR_COPY_KNOWN(path, out_path); /* the same size */
	pthread_mutex_unlock(&lock);
	if (!path[0])
		return 0;
	/* The file that cannot be reopened (its directory closed to the
	 * service user, a full disk) is kept rather than lost. */
	FILE *f = open_file(path);
	if (!f)
		return -1;
	pthread_mutex_lock(&lock);
	if (out && out != stderr)
		fclose(out);
	out = f;
	pthread_mutex_unlock(&lock);
	return 0;
}

/* ---- one line, written by hand ----
 *
 * The line is built in a buffer and written whole.  The format's
 * conversions are printf's (the header's format attribute checks them):
 * numbers as printf writes them (the common ones without it; '#' with a
 * floating conversion, which no caller writes, as without it), and a text
 * value (%s, %.Ns, %.*s) so that it cannot end its field or start another:
 * inside the format's quotes (key="%s") its '"', '\' and control bytes are
 * escaped (\" \\ \n \r \t \u00XX); bare (key=%s) it is written as it is
 * when it holds none of those, no space and no '=', else quoted and
 * escaped, or, inside a longer token (url=https://%s), each of those as
 * \u00XX.  A line longer than the buffer is cut at a whole character, an
 * open quote closed, and it ends with truncated=true: never cut silently. */

#define LINE_BYTES 2048
static const char line_tail[] = " truncated=true\n";

struct line {
	char buf[LINE_BYTES];
	size_t len;
	size_t cap;  /* room for the text: the tail and the newline kept apart */
	bool quoted; /* inside a quote the format opened */
	bool cut;
	size_t field; /* where the field being written starts */
	bool named;   /* its key and '=' written */
	size_t value; /* where its value starts */
};

static void put(struct line *l, const char *s, size_t n)
{
	if (l->cut)
		return;
	if (n > l->cap - l->len) {
		n = l->cap - l->len;
		while (n && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--; /* not inside a UTF-8 character */
		l->cut = true;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/* A text's bytes, escaped; an escape is written whole or not at all.
 * Quoted: '"', '\' and control bytes (\" \\ \n \r \t \u00XX).  In a bare
 * token: those, the space and '=' too, each as \u00XX. */
static void put_escaped(struct line *l, const char *s, size_t n, bool bare)
{
	static const char hex[] = "0123456789abcdef";
	size_t from = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c > 0x20 && c != 0x7f && c != '"' && c != '\\' && !(bare && c == '='))
			continue;
		if (c == ' ' && !bare)
			continue;
		put(l, s + from, i - from);
		char e[6] = {'\\', (char)c};
		size_t k = 2;
		if (!bare && (c == '\n' || c == '\r' || c == '\t')) {
			e[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		} else if (bare || (c != '"' && c != '\\')) {
			memcpy(e + 1, "u00", 3);
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			k = 6;
		}
		if (!l->cut && l->cap - l->len < k)
			l->cut = true;
		put(l, e, k);
		from = i + 1;
	}
	put(l, s + from, n - from);
}

/* A text value: escaped inside quotes; bare, as it is when it can be, else
 * quoted when it starts its value (key=%s), or escaped within its token
 * when it does not (url=https://%s: quotes there would not hold the whole
 * token). */
static void put_text(struct line *l, const char *s, size_t n)
{
	bool bare = !l->quoted;
	for (size_t i = 0; i < n && bare; i++) {
		unsigned char c = (unsigned char)s[i];
		bare = c > 0x20 && c != 0x7f && c != '"' && c != '\\' && c != '=';
	}
	if (l->quoted || bare) {
		put_escaped(l, s, n, false); /* bare: nothing to escape */
		return;
	}
	bool starts = l->named ? l->len == l->value : l->len == l->field;
	if (!starts) {
		put_escaped(l, s, n, true);
		return;
	}
	put(l, "\"", 1);
	l->quoted = !l->cut; /* open only when written */
	put_escaped(l, s, n, false);
	put(l, "\"", 1);
	if (!l->cut)
		l->quoted = false; /* else closed by the tail if open */
}

/* A width or precision: '*' from the arguments, else digits (held at
 * most 4,096, over the line). */
static int spec_number(const char **p, va_list *ap)
{
	if (**p == '*') {
		(*p)++;
		return va_arg(*ap, int);
	}
	int v = 0;
	for (; **p >= '0' && **p <= '9'; (*p)++)
		v = v < 4096 ? v * 10 + (**p - '0') : v;
	return v;
}

/* One conversion, *fmt at its '%': writes it and moves *fmt past it. */
static void put_conversion(struct line *l, const char **fmt, va_list *ap)
{
	const char *p = *fmt + 1;
	bool left = false, plus = false, space = false, alt = false, zero = false;
	for (;; p++) {
		if (*p == '-')
			left = true;
		else if (*p == '+')
			plus = true;
		else if (*p == ' ')
			space = true;
		else if (*p == '#')
			alt = true;
		else if (*p == '0')
			zero = true;
		else
			break;
	}
	int width = -1, prec = -1;
	if (*p == '*' || (*p >= '0' && *p <= '9')) {
		width = spec_number(&p, ap);
		if (width < 0) { /* printf: a negative '*' width is '-' */
			left = true;
			width = width == INT_MIN ? LINE_BYTES : -width;
		}
		width = width > LINE_BYTES ? LINE_BYTES : width; /* wider than the line */
	}
	if (*p == '.') {
		p++;
		prec = spec_number(&p, ap);
		prec = prec < 0 ? -1 : prec; /* a negative '*': none */
	}
	char len[3] = "";
	for (size_t i = 0; i < 2 && *p && strchr("hlLzjt", *p); i++)
		len[i] = *p++;
	char conv = *p ? *p++ : '%';
	*fmt = p;

	if (conv == 's') {
		const char *s = va_arg(*ap, const char *);
		s = s ? s : "(null)"; /* as glibc's */
		size_t n = prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s);
		for (int pad = width - (int)n; pad > 0 && !left; pad--)
			put(l, " ", 1);
		put_text(l, s, n);
		for (int pad = width - (int)n; pad > 0 && left; pad--)
			put(l, " ", 1);
		return;
	}
	char num[512];
	size_t n = 0;
	char pre[3] = ""; /* sign or base prefix, before any zero padding */
	zero &= !left;
	if (conv && strchr("diouxX", conv)) {
		bool sign = conv == 'd' || conv == 'i';
		long long v = 0;
		unsigned long long u = 0;
		if (sign)
			v = !strcmp(len, "ll")	? va_arg(*ap, long long)
			    : !strcmp(len, "l") ? va_arg(*ap, long)
			    : !strcmp(len, "j") ? (long long)va_arg(*ap, intmax_t)
			    : !strcmp(len, "z") || !strcmp(len, "t")
				    ? (long long)va_arg(*ap, ptrdiff_t)
				    : va_arg(*ap, int);
		else
			u = !strcmp(len, "ll")	? va_arg(*ap, unsigned long long)
			    : !strcmp(len, "l") ? va_arg(*ap, unsigned long)
			    : !strcmp(len, "j") ? (unsigned long long)va_arg(*ap, uintmax_t)
			    : !strcmp(len, "z") || !strcmp(len, "t") ? va_arg(*ap, size_t)
								     : va_arg(*ap, unsigned);
		if (!strcmp(len, "h"))
			sign ? (void)(v = (short)v) : (void)(u = (unsigned short)u);
		else if (!strcmp(len, "hh"))
			sign ? (void)(v = (signed char)v) : (void)(u = (unsigned char)u);
		if (sign) {
			u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;
			strcpy(pre, v < 0 ? "-" : plus ? "+" : space ? " " : "");
		}
		unsigned base = conv == 'o' ? 8 : conv == 'x' || conv == 'X' ? 16 : 10;
		const char *dig = conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
		char *d = num + sizeof num;
		for (unsigned long long m = u; m; m /= base)
			*--d = dig[m % base];
		if (prec < 0 && u == 0)
			*--d = '0';
		for (int p0 = prec; p0 > (int)(num + sizeof num - d) && d > num + 8;)
			*--d = '0'; /* the precision: at least that many digits */
		if (alt && conv == 'o' && *d != '0')
			*--d = '0';
		else if (alt && base == 16 && u)
			strcpy(pre, conv == 'X' ? "0X" : "0x");
		n = (size_t)(num + sizeof num - d);
		memmove(num, d, n);
		zero &= prec < 0; /* printf: a precision turns '0' off */
	} else if (conv && strchr("eEfFgGaA", conv)) {
		/* a double's value is exact as a long double, and printf's
		 * decimal text depends on the value alone (not %a's: its own);
		 * the capital conversions are the small ones in capitals */
		bool big = len[0] == 'L';
		long double v = big ? va_arg(*ap, long double) : va_arg(*ap, double);
		int p6 = prec < 0 ? 6 : prec > 300 ? 300 : prec;
		char c = (char)(conv | 0x20);
		int k = c == 'e'   ? snprintf(num, sizeof num, "%.*Le", p6, v)
			: c == 'f' ? snprintf(num, sizeof num, "%.*Lf", p6, v)
			: c == 'g' ? snprintf(num, sizeof num, "%.*Lg", p6, v)
			: big	   ? (prec < 0 ? snprintf(num, sizeof num, "%La", v)
					       : snprintf(num, sizeof num, "%.*La", p6, v))
			: prec < 0 ? snprintf(num, sizeof num, "%a", (double)v)
				   : snprintf(num, sizeof num, "%.*a", p6, (double)v);
		for (char *q = num; conv != c && *q; q++)
			*q = (char)(*q >= 'a' && *q <= 'z' ? *q - 32 : *q);
		n = k < 0 ? 0 : (size_t)k < sizeof num ? (size_t)k : sizeof num - 1;
		if (num[0] == '-') {
			strcpy(pre, "-");
			memmove(num, num + 1, n--);
		} else {
			strcpy(pre, plus ? "+" : space ? " " : "");
		}
		zero &= isfinite((double)v) != 0;
	} else if (conv == 'c') {
		num[n++] = (char)va_arg(*ap, int);
	} else if (conv == 'p') {
		uintptr_t u = (uintptr_t)va_arg(*ap, void *);
		if (!u) { /* as glibc's */
			put(l, "(nil)", 5);
			return;
		}
		char *d = num + sizeof num;
		do {
			*--d = "0123456789abcdef"[u % 16];
			u /= 16;
		} while (u);
		strcpy(pre, "0x");
		n = (size_t)(num + sizeof num - d);
		memmove(num, d, n);
	} else {
		num[n++] = '%'; /* "%%" (and, reading nothing, any other) */
	}
	int pad = width - (int)(n + strlen(pre));
	for (; pad > 0 && !left && !zero; pad--)
		put(l, " ", 1);
	put(l, pre, strlen(pre));
	for (; pad > 0 && zero; pad--)
		put(l, "0", 1);
	put(l, num, n);
	for (; pad > 0 && left; pad--)
		put(l, " ", 1);
}

/* Literal text of the format up to a conversion: its quotes open and
 * close the quoted values, and outside them its spaces start a field (a
 * newline is one more space: one line per event). */
static void put_literal(struct line *l, const char **fmt)
{
	const char *p = *fmt;
	while (*p && *p != '%') {
		const char *q = p;
		while (*q && *q != '%' && *q != '"' && *q != ' ' && *q != '=' && *q != '\n' &&
		       *q != '\r')
			q++;
		put(l, p, (size_t)(q - p));
		if (!*q || *q == '%') {
			p = q;
			break;
		}
		char c = *q == '\n' || *q == '\r' ? ' ' : *q;
		put(l, &c, 1);
		if (!l->cut) { /* a byte not written changes nothing */
			if (c == '"')
				l->quoted = !l->quoted;
			else if (c == ' ' && !l->quoted)
				l->field = l->len, l->named = false;
			else if (c == '=' && !l->quoted && !l->named)
				l->named = true, l->value = l->len;
		}
		p = q + 1;
	}
	*fmt = p;
}

void log_event(enum log_level lvl, const char *msg, const char *kv_fmt, ...)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	if (lvl < min_level)
		return;
	struct line l = {.cap = sizeof l.buf - sizeof line_tail, .named = true};
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char ts[21];
	timestamp_format((int64_t)now.tv_sec, ts);
	char ms[5] = {'.', (char)('0' + now.tv_nsec / 100000000),
		      (char)('0' + now.tv_nsec / 10000000 % 10),
		      (char)('0' + now.tv_nsec / 1000000 % 10), 'Z'};
	put(&l, "ts=", 3);
	put(&l, ts, 19);
	put(&l, ms, sizeof ms);
	put(&l, " level=", 7);
	put(&l, names[lvl], strlen(names[lvl]));
	put(&l, " msg=\"", 6);
	l.quoted = !l.cut;
	put_escaped(&l, msg, strlen(msg), false);
	put(&l, "\"", 1);
	if (!l.cut)
		l.quoted = false;
	va_list ap;
	va_start(ap, kv_fmt);
	const char *f = kv_fmt;
	if (*f) {
		put(&l, " ", 1);
		l.field = l.len;
		l.named = false;
	}
	while (*f && !l.cut) {
		put_literal(&l, &f);
		if (*f == '%')
			put_conversion(&l, &f, &ap);
	}
	va_end(ap);
	/* a format "%s" given "": no field, no trailing space */
	if (l.len && l.buf[l.len - 1] == ' ' && !l.cut && *kv_fmt)
		l.len--;
	if (l.cut) {
		if (!l.quoted && !l.named && l.field)
			l.len = l.field - 1; /* cut within a key: the field left out */
		if (l.quoted)
			l.buf[l.len++] = '"'; /* the tail's room holds it */
		memcpy(l.buf + l.len, line_tail, sizeof line_tail - 1);
		l.len += sizeof line_tail - 1;
	} else {
		l.buf[l.len++] = '\n';
	}
	pthread_mutex_lock(&lock);
	FILE *out_file = out ? out : stderr;
	fwrite(l.buf, 1, l.len, out_file);
	fflush(out_file);
	pthread_mutex_unlock(&lock);
}
