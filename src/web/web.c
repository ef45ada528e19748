#include "web/web.h"

#include "common/str.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define MAX_DEPTH 8
#define MAX_FILES 4000
#define MAX_BYTES (64u << 20)

struct web_assets {
	struct web_file *files;   /* sorted by path for bsearch */
	size_t n, cap, bytes;
	pthread_mutex_t gz_lock;  /* over every file's etag, etag_done, gz, gz_len, gz_done */
};

/* Only these types are served; anything else in the directory stays on
 * disk (source maps, licences, build leftovers). */
static const struct {
	const char *ext, *type;
} types[] = {
	{".html", "text/html; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".mjs", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".svg", "image/svg+xml"},
	{".png", "image/png"},
	{".ico", "image/x-icon"},
	{".woff2", "font/woff2"},
	{".json", "application/json"},
	{".md", "text/plain; charset=utf-8"},   /* the guides: shown as text by the help page */
};

static const char *type_of(const char *name)
{
	const char *dot = strrchr(name, '.');
	if (!dot)
		return NULL;
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (!strcmp(dot, types[i].ext))
			return types[i].type;
	return NULL;
}

/* gzip (RFC 1952) of data, kept only when it saves at least a tenth. */
static void compress_copy(struct web_file *f)
{
	z_stream z = {0};
	if (f->len < 512 || deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		return;
	uLong cap = deflateBound(&z, (uLong)f->len);
	unsigned char *out = malloc(cap);
	z.next_in = (Bytef *)f->data;
	z.avail_in = (uInt)f->len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (out && deflate(&z, Z_FINISH) == Z_STREAM_END && z.total_out < f->len - f->len / 10) {
		f->gz = out;
		f->gz_len = z.total_out;
	} else {
		free(out);
	}
	deflateEnd(&z);
}

static vis_err add_file(struct web_assets *w, const char *full, const char *rel,
			const char *type, struct vis_error *e)
{
	FILE *f = fopen(full, "rb");
	if (!f)
		return vis_error_set(e, VIS_ERR_IO, "%s: %s", full, strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) || st.st_size < 0 ||
	    w->bytes + (size_t)st.st_size > MAX_BYTES || w->n == MAX_FILES) {
		fclose(f);
		return vis_error_set(e, VIS_ERR_LIMIT, "%s: la cartella dell'interfaccia supera %d "
						       "file o %u MiB",
				     full, MAX_FILES, MAX_BYTES >> 20);
	}
	size_t len = (size_t)st.st_size;
	unsigned char *data = malloc(len ? len : 1);
	char *path = strdup(rel);
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct web_file *nf = realloc(w->files, cap * sizeof *nf);
		if (nf) {
			w->files = nf;
			w->cap = cap;
		}
	}
	if (!data || !path || w->n == w->cap || fread(data, 1, len, f) != len) {
		fclose(f);
		free(data);
		free(path);
		return vis_error_set(e, VIS_ERR_IO, "%s: impossibile leggere", full);
	}
	fclose(f);
	struct web_file *wf = &w->files[w->n++];
	*wf = (struct web_file){.path = path, .content_type = type, .data = data, .len = len};
	/* Fonts and PNG images are compressed already. */
	wf->gz_done = !strncmp(type, "font/", 5) || !strncmp(type, "image/png", 9);
	w->bytes += len;
	return VIS_OK;
}

static vis_err walk(struct web_assets *w, const char *dir, const char *rel, int depth,
		    struct vis_error *e)
{
	if (depth > MAX_DEPTH)
		return VIS_OK;
	DIR *d = opendir(dir);
	if (!d)
		return vis_error_set(e, VIS_ERR_IO, "%s: %s", dir, strerror(errno));
	vis_err rc = VIS_OK;
	struct dirent *de;
	while (!rc && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char full[4096], sub[1024];
		if ((size_t)snprintf(full, sizeof full, "%s/%s", dir, de->d_name) >= sizeof full ||
		    (size_t)snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name) >=
			    sizeof sub)
			continue;
		struct stat st;
		if (stat(full, &st))
			continue;
		if (S_ISDIR(st.st_mode))
			rc = walk(w, full, sub, depth + 1, e);
		else if (S_ISREG(st.st_mode) && type_of(de->d_name))
			rc = add_file(w, full, sub, type_of(de->d_name), e);
	}
	closedir(d);
	return rc;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct web_file *)a)->path, ((const struct web_file *)b)->path);
}

vis_err web_load(const char *dir, struct web_assets **out, struct vis_error *e)
{
	struct web_assets *w = calloc(1, sizeof *w);
	if (!w)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	pthread_mutex_init(&w->gz_lock, NULL);
	vis_err rc = walk(w, dir, "", 0, e);
	if (rc) {
		web_free(w);
		return rc;
	}
	qsort(w->files, w->n, sizeof *w->files, by_path);
	if (!web_find(w, "index.html")) {
		web_free(w);
		return vis_error_set(e, VIS_ERR_NOTFOUND, "%s: no index.html", dir);
	}
	*out = w;
	return VIS_OK;
}

const struct web_file *web_find(const struct web_assets *w, const char *path)
{
	if (!w)
		return NULL;
	struct web_file key = {.path = path};
	return bsearch(&key, w->files, w->n, sizeof *w->files, by_path);
}

const char *web_etag(struct web_assets *w, const struct web_file *f)
{
	/* f is one of w's files: found by web_find, which gives them const. */
	struct web_file *wf = &w->files[f - w->files];
	pthread_mutex_lock(&w->gz_lock);
	if (!wf->etag_done) {
		unsigned char h[crypto_hash_sha256_BYTES];
		crypto_hash_sha256(h, wf->data, wf->len);
		wf->etag[0] = '"';
		str_hex(wf->etag + 1, h, 16);
		wf->etag[33] = '"';
		wf->etag[34] = '\0';
		wf->etag_done = true;
	}
	pthread_mutex_unlock(&w->gz_lock);
	return wf->etag;
}

const unsigned char *web_gzip(struct web_assets *w, const struct web_file *f, size_t *len)
{
	/* f is one of w's files: found by web_find, which gives them const. */
	struct web_file *wf = &w->files[f - w->files];
	pthread_mutex_lock(&w->gz_lock);
	if (!wf->gz_done) {
		compress_copy(wf);
		wf->gz_done = true;
	}
	const unsigned char *gz = wf->gz;
	*len = wf->gz_len;
	pthread_mutex_unlock(&w->gz_lock);
	return gz;
}

size_t web_count(const struct web_assets *w)
{
	return w ? w->n : 0;
}

void web_free(struct web_assets *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++) {
		free((void *)w->files[i].path);
		free((void *)w->files[i].data);
		free((void *)w->files[i].gz);
	}
	pthread_mutex_destroy(&w->gz_lock);
	free(w->files);
	free(w);
}
