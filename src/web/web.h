/* web — the files of the browser interface (HTML, scripts, style sheets,
 * fonts, icons), read once from the interface directory when the server
 * starts and served from memory by exact path.
 *
 * Owns: the in-memory copy of every file and its entity tag.  Nothing on
 * disk is opened while requests are answered, so a request path can never
 * reach a file outside the set loaded at start. */
#ifndef VISURA_WEB_WEB_H
#define VISURA_WEB_WEB_H

#include <stddef.h>

#include "common/err.h"

struct web_assets;

struct web_file {
	const char *path;          /* URL path below /ui/, e.g. "app/main.js" */
	const char *content_type;
	const unsigned char *data;
	size_t len;
	const char *etag;          /* quoted, from the content's SHA-256 */
	const unsigned char *gz;   /* the same bytes gzip-compressed, or NULL
				      when that would not save a tenth */
	size_t gz_len;
};

/* Loads every file of a known type under dir (at most 8 levels, 4,000
 * files, 64 MiB; hidden files and other types are left out), and keeps a
 * gzip copy of the text ones, compressed once here rather than per request. */
vis_err web_load(const char *dir, struct web_assets **out, struct vis_error *e);
/* The file at path (below /ui/), or NULL. */
const struct web_file *web_find(const struct web_assets *w, const char *path);
size_t web_count(const struct web_assets *w);
void web_free(struct web_assets *w);

#endif
