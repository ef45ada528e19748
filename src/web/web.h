/* web — the files of the browser interface (HTML, scripts, style sheets,
 * fonts, icons), read once from the interface directory when the server
 * starts and served from memory by exact path.
 *
 * Owns: the in-memory copy of every file, its entity tag and its gzip copy
 * (both made at the file's first request, not at start).  Nothing on
 * disk is opened while requests are answered, so a request path can never
 * reach a file outside the set loaded at start. */
#ifndef VISURA_WEB_WEB_H
#define VISURA_WEB_WEB_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

struct web_assets;

struct web_file {
	const char *path;          /* URL path below /ui/, e.g. "app/main.js" */
	const char *content_type;
	const unsigned char *data;
	size_t len;
	/* Read through web_etag() and web_gzip() only: */
	char etag[35];             /* quoted, from the content's SHA-256 */
	bool etag_done;
	const unsigned char *gz;
	size_t gz_len;
	bool gz_done;
};

/* Loads every file of a known type under dir (at most 8 levels, 4,000
 * files, 64 MiB; hidden files and other types are left out). */
vis_err web_load(const char *dir, struct web_assets **out, struct vis_error *e);
/* The file at path (below /ui/), or NULL. */
const struct web_file *web_find(const struct web_assets *w, const char *path);
/* f's entity tag (quoted: the first 16 bytes of its content's SHA-256 in
 * hex), hashed at its first request, then kept: at start, hashing the
 * whole interface took about 16 ms of every start of the server. */
const char *web_etag(struct web_assets *w, const struct web_file *f);
/* The gzip copy of f (one of w's files), or NULL when it would not save a
 * tenth (or f is a font or PNG image); *len its length.  Compressed at the
 * first request that takes gzip, then kept: not at start, where the whole
 * interface (4.5 MB, the maps' boundaries among it) took about 0.3 s of
 * every start of the server. */
const unsigned char *web_gzip(struct web_assets *w, const struct web_file *f, size_t *len);
size_t web_count(const struct web_assets *w);
void web_free(struct web_assets *w);

#endif
