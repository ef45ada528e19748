/* csv — an in-place reader for the RFC 4180 files under data/.
 *
 * Owns nothing: it walks a caller's mutable buffer, unquoting fields in
 * place and NUL-terminating them, so the fields live as long as the buffer. */
#ifndef VISURA_COMMON_CSV_H
#define VISURA_COMMON_CSV_H

#include <stddef.h>

#include "common/err.h"

#define CSV_MAX_FIELDS 32

struct csv_reader {
	char *p;        /* next unread byte */
	char *end;
	size_t line;    /* line number of the record just read, 1-based */
};

void csv_reader_init(struct csv_reader *r, char *buf, size_t len);

/* Reads the next record into fields[]; returns the field count, 0 at end of
 * input, or -1 on a malformed record (unterminated quote, too many fields). */
int csv_reader_next(struct csv_reader *r, char *fields[CSV_MAX_FIELDS]);

/* Reads a whole regular file into a NUL-terminated heap buffer (at most max
 * bytes).  Returns NULL on error, a larger file, or anything but a regular
 * file (errno EINVAL: a FIFO, device or directory, opened without blocking
 * and never read); *len gets the size.  The caller frees it. */
char *file_read_all(const char *path, size_t max, size_t *len);

/* file_read_all of dir/name; on failure NULL and e says "impossibile
 * leggere <what> 'dir/name'", or VIS_ERR_LIMIT "percorso troppo lungo" when
 * dir/name passes 4,095 bytes (never a cut path read). */
char *file_read_in(const char *dir, const char *name, size_t max, size_t *len, const char *what,
		   struct vis_error *e);

#endif
