/* str — string copies that say when they cut, the one growing output
 * buffer (`struct strbuf`) with its CSV and HTML appenders, and numbers and
 * public bytes as text (decimal, hex, base64) without printf or libsodium.
 *
 * No code in visura copies a string into a fixed array with
 * snprintf(d, sizeof d, "%s", s): that cuts without telling anyone
 * (tests/lint/check_strings.py refuses it).  str_copy() refuses to cut and the
 * caller decides what a string that does not fit means (nearly always: the
 * input is refused with a clear error).
 *
 * A strbuf, after git's strbuf and curl's dynbuf: never NULL (an empty
 * buffer reads as ""), always NUL-terminated, bounded by a maximum size
 * given at init.  The first failure (out of memory, over the maximum) is
 * kept; every later append does nothing and returns it again, so a writer
 * appends freely and checks once at the end. */
#ifndef VISURA_COMMON_STR_H
#define VISURA_COMMON_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Copies the NUL-terminated src into dst (cap bytes, cap > 0).  Returns
 * true when all of src fits with its NUL; otherwise leaves dst empty ("")
 * and returns false: never a silently cut prefix. */
bool str_copy(char *dst, size_t cap, const char *src)
	__attribute__((warn_unused_result));

/* The size of an array, refused at compile time when `a` is a pointer. */
#define STR_ARRAY_SIZE(a)                                                       \
	(sizeof(a) + 0 * sizeof(char[__builtin_types_compatible_p(__typeof__(a),    \
								   __typeof__(&(a)[0])) ? -1 : 1]))

/* str_copy into an array: the capacity comes from the array itself. */
#define STR_COPY(arr, src) str_copy((arr), STR_ARRAY_SIZE(arr), (src))

/* str_copy that reports a source too long as VIS_ERR_LIMIT in e:
 * "<what>: più lungo di N byte".  For functions that return vis_err. */
vis_err str_set(char *dst, size_t cap, const char *src, const char *what, struct vis_error *e);
#define STR_SET(arr, src, what, e) str_set((arr), STR_ARRAY_SIZE(arr), (src), (what), (e))

/* For a source the code knows fits (the call site says why: a constant, a
 * field of the same size, input already checked): a source that does not
 * fit is a bug, logged with file and line, and the copy is cut at a
 * character boundary rather than left to overflow. */
void str_copy_known(char *dst, size_t cap, const char *src, const char *file, int line);
#define STR_COPY_KNOWN(arr, src) \
	str_copy_known((arr), STR_ARRAY_SIZE(arr), (src), __FILE__, __LINE__)

/* Copies as much of src as fits, cutting at a UTF-8 character boundary, for
 * text whose end may be dropped on purpose (a log line, a note that says it
 * was cut).  Returns true when src was cut. */
bool str_copy_cut(char *dst, size_t cap, const char *src);

/* snprintf that refuses to cut, the same contract as str_copy: true when
 * the whole text fits in dst (cap bytes, cap > 0) with its NUL; otherwise
 * dst is left empty ("") and false, never a silently cut prefix.  No
 * snprintf whose result is dropped formats a %s in src/
 * (tests/lint/check_strings.py). */
bool str_fmt(char *dst, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), warn_unused_result));
#define STR_FMT(arr, ...) str_fmt((arr), STR_ARRAY_SIZE(arr), __VA_ARGS__)

/* str_fmt that reports a text too long as VIS_ERR_LIMIT in e, as str_set:
 * "<what>: più lungo di N byte". */
vis_err str_fmt_set(char *dst, size_t cap, const char *what, struct vis_error *e,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define STR_FMT_SET(arr, what, e, ...) \
	str_fmt_set((arr), STR_ARRAY_SIZE(arr), (what), (e), __VA_ARGS__)

/* For a text the code knows fits (the call site says why: numbers, fixed
 * words, arguments cut by a precision or of a known smaller size), as
 * str_copy_known: a text that does not fit is a bug, logged with file and
 * line, and cut at a character boundary. */
void str_fmt_known(const char *file, int line, char *dst, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
#define STR_FMT_KNOWN(arr, ...) \
	str_fmt_known(__FILE__, __LINE__, (arr), STR_ARRAY_SIZE(arr), __VA_ARGS__)
#define STR_FMT_KNOWN_CAP(dst, cap, ...) \
	str_fmt_known(__FILE__, __LINE__, (dst), (cap), __VA_ARGS__)

struct strbuf {
	char *buf;      /* never NULL; "" until the first append */
	size_t len;     /* bytes before the NUL */
	size_t alloc;   /* 0 while buf is the shared empty string */
	size_t max;     /* the most bytes (without the NUL) it may ever hold */
	vis_err err;    /* first failure: VIS_ERR_NOMEM or VIS_ERR_LIMIT */
};

/* An empty buffer that will never hold more than max bytes. */
void strbuf_init(struct strbuf *sb, size_t max);

/* Frees the memory and leaves sb empty and usable (same maximum). */
void strbuf_release(struct strbuf *sb);

/* Hands the text over to the caller (free() it), *len gets its length (len
 * may be NULL); sb is left empty.  Returns NULL when an append failed (the
 * memory is freed then) or on out of memory. */
char *strbuf_detach(struct strbuf *sb, size_t *len);

/* Appends n bytes / a NUL-terminated string / printf-style text. */
vis_err strbuf_add(struct strbuf *sb, const void *data, size_t n);
vis_err strbuf_adds(struct strbuf *sb, const char *s);
vis_err strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends v in decimal, as printf's %lld writes it (without printf). */
vis_err strbuf_add_i64(struct strbuf *sb, int64_t v);
/* Writes v in decimal, as printf's %lld writes it, and a NUL into out
 * (STR_I64_MAX bytes are enough); returns the digits' length. */
#define STR_I64_MAX 21
size_t str_i64(char *out, int64_t v);

/* Numbers read from text (a query parameter, an option): ASCII digits
 * only, with no sign, space or byte after them, which strtol alone takes
 * (" 5", "+5", "5abc").
 * str_digits: whether s is exactly n digits and nothing else ("036023",
 * n = 6).
 * str_uint: s as a whole number of at least one digit, at most max (0 or
 * more): true and its value in *out; anything else false, *out 0.
 * str_u64: the same over all of uint64 (a generator's seed). */
bool str_digits(const char *s, size_t n);
bool str_uint(const char *s, int64_t max, int64_t *out);
bool str_u64(const char *s, uint64_t max, uint64_t *out);
/* The largest number of 18 digits: the bound of ids and cursors. */
#define STR_UINT18_MAX INT64_C(999999999999999999)

/* Appends one CSV cell (RFC 4180: always quoted, quotes doubled), then ','
 * or, when last, "\n".  A cell a spreadsheet would run as a formula (it
 * starts with = + - @ TAB or CR) is written with a leading apostrophe, as
 * OWASP advises, unless the whole cell is a plain decimal number (-12,
 * 3.5): every CSV visura writes goes through here. */
vis_err strbuf_add_csv(struct strbuf *sb, const char *cell, bool last);

/* Appends s with & < > " ' written as HTML entities. */
vis_err strbuf_add_html(struct strbuf *sb, const char *s);

/* Hex and base64 of PUBLIC bytes (hashes, inclusion proofs, signatures,
 * tree heads): table look-ups, not constant time, the same text as
 * libsodium's sodium_bin2hex / sodium_bin2base64, which stay for secrets
 * (keys, tokens, salts: theirs do not leak the bytes through timing).  On
 * the receipts' path libsodium's took 31,000–44,000 instructions an answer
 * (docs/performance.md, "The request path's cryptography after the
 * trail's SHA-256").
 * str_hex writes 2n lower-case digits and a NUL (out: 2n + 1 bytes).
 * str_base64 writes the encoding and a NUL; cap must hold them
 * (sodium_base64_ENCODED_LEN): a smaller buffer is a caller's bug and
 * aborts, as with libsodium. */
enum str_b64 {
	STR_B64,        /* standard alphabet, padded (sodium_base64_VARIANT_ORIGINAL) */
	STR_B64URL,     /* URL-safe alphabet, unpadded (…_URLSAFE_NO_PADDING) */
};
void str_hex(char *out, const void *in, size_t n);
void str_base64(char *out, size_t cap, const void *in, size_t n, enum str_b64 v);

#endif
