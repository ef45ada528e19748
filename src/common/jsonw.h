/* jsonw — the JSON writer of the answers: values streamed into one bounded
 * output buffer (a `struct strbuf`, str.h), without building a tree.
 *
 * Owns: how visura writes JSON text on the paths that run on every
 * request (the answers of the corridor, the envelope of HTTP replies).
 * The bytes are exactly those of jansson's
 * json_dumps(JSON_COMPACT [| JSON_ENSURE_ASCII]) for the same data, keys
 * in the order written, except for real numbers: jansson writes %.17g
 * ("45.229999999999997"), jsonw the shortest text that reads back as the
 * same double ("45.23"), with jansson's ".0" and exponent form ("1.0",
 * "1e20", "1e-5").  Escapes: \" \\ \b \f \n \r \t, other bytes below 0x20
 * as \u00XX (upper-case hex), '/' and 0x7F as they are; with JSONW_ASCII
 * every character above 0x7F as \uXXXX (a surrogate pair above 0xFFFF),
 * else UTF-8 passes through.  A string that is not valid UTF-8 (as
 * jansson's json_string refuses it: overlong forms, surrogates, above
 * U+10FFFF, cut sequences) is refused; a NUL inside a string given with
 * its length is written \u0000, as jansson does.
 *
 * Errors: the first one is kept (VIS_ERR_INVALID: a string that is not
 * UTF-8, a number that is not finite; VIS_ERR_LIMIT: the buffer's maximum
 * or JSONW_DEPTH_MAX; VIS_ERR_NOMEM; VIS_ERR_INTERNAL: a call out of
 * order, such as a value without its key inside an object); every later
 * call does nothing, and jsonw_finish() returns it: nothing is ever
 * silently cut, the caller checks once.  jsonw_dump() writes a jansson
 * tree through the same rules, for the cold paths that still build one. */
#ifndef VISURA_COMMON_JSONW_H
#define VISURA_COMMON_JSONW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/str.h"

#define JSONW_ASCII 1u     /* as JSON_ENSURE_ASCII */
#define JSONW_DEPTH_MAX 32 /* nesting of objects and arrays */

struct jsonw {
	struct strbuf *sb;             /* the caller's, borrowed */
	unsigned flags;
	int depth;
	vis_err err;
	bool want_value;               /* a key was written, its value not yet */
	bool top;                      /* the top-level value has begun */
	unsigned char open[JSONW_DEPTH_MAX];  /* '{' or '[' per level */
	bool any[JSONW_DEPTH_MAX];            /* the level has a member already */
};

/* Writes one JSON text into sb, appended after what it holds; sb's
 * maximum bounds the text. */
void jsonw_init(struct jsonw *w, struct strbuf *sb, unsigned flags);

/* Continues an object the caller left open at depth 1 with members in it
 * (the answer's envelope, completed after its access record is written).
 * sb must end inside that object, right after a complete member. */
void jsonw_resume(struct jsonw *w, struct strbuf *sb, unsigned flags);

void jsonw_object_open(struct jsonw *w);
void jsonw_object_close(struct jsonw *w);
void jsonw_array_open(struct jsonw *w);
void jsonw_array_close(struct jsonw *w);

/* A member's key inside an object: the next call writes its value. */
void jsonw_key(struct jsonw *w, const char *key);

/* Values.  jsonw_string_or_null writes null for NULL. */
void jsonw_string(struct jsonw *w, const char *s);
void jsonw_stringn(struct jsonw *w, const char *s, size_t n);
void jsonw_string_or_null(struct jsonw *w, const char *s);
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_real(struct jsonw *w, double v);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);

/* Writes a jansson value (objects in their keys' insertion order). */
void jsonw_dump(struct jsonw *w, const json_t *v);

/* The first error, or VIS_ERR_INTERNAL when objects or arrays are still open;
 * VIS_OK when the text is one complete value. */
vis_err jsonw_finish(const struct jsonw *w);

/* The first error so far (VIS_OK while the text can still be completed). */
vis_err jsonw_error(const struct jsonw *w);

/* jsonw_dump of v into a new NUL-terminated text (free() it) of at most
 * max bytes; *len (may be NULL) gets its length.  NULL on any error, its
 * code in *err (may be NULL). */
char *jsonw_dumps(const json_t *v, unsigned flags, size_t max, size_t *len, vis_err *err);

/* The shortest text of a finite double that strtod reads back as it,
 * in jansson's form; false for NaN and infinities.  out: 32 bytes. */
bool jsonw_real_format(double v, char out[32]);

#endif
