/* err — the one error vocabulary of visura.
 *
 * Every function that can fail returns an `vis_err` (0 = OK).  When a caller
 * wants the reason in words it passes a `struct vis_error`; the *first*
 * message written into it is kept, so the root cause reaches the user. */
#ifndef VISURA_COMMON_ERR_H
#define VISURA_COMMON_ERR_H

#include <stddef.h>

typedef enum vis_err {
	VIS_OK = 0,
	VIS_ERR_INVALID,   /* input does not follow its format or rules */
	VIS_ERR_NOTFOUND,  /* the thing asked for does not exist */
	VIS_ERR_CONFLICT,  /* state forbids it (duplicate, sequence gap...) */
	VIS_ERR_IO,        /* file or socket error */
	VIS_ERR_STORE,     /* the database failed */
	VIS_ERR_NOMEM,     /* allocation failed */
	VIS_ERR_LIMIT,     /* a size or count bound was exceeded */
	VIS_ERR_INTERNAL,  /* a bug: an invariant did not hold */
	VIS_ERR_BUSY,      /* the database is held by another write: try again soon */
} vis_err;

/* The database failed or was held by another write: not the input's fault. */
static inline int vis_err_store(vis_err code)
{
	return code == VIS_ERR_STORE || code == VIS_ERR_BUSY;
}

/* Short lowercase name of a code, in Italian ("non valido", "non trovato", ...):
 * people read it (the command line, a failed visura). */
const char *vis_strerror(vis_err code);

struct vis_error {
	vis_err code;
	char msg[512];
};

/* Records `code` and a printf-style message unless an error is already kept.
 * `e` may be NULL.  Returns `code`, so `return vis_error_set(e, ...)` works. */
vis_err vis_error_set(struct vis_error *e, vis_err code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Forgets any kept error. */
void vis_error_clear(struct vis_error *e);

#endif
