#include "common/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/str.h"

void csv_reader_init(struct csv_reader *r, char *buf, size_t len)
{
	r->p = buf;
	r->end = buf + len;
	r->line = 0;
}

int csv_reader_next(struct csv_reader *r, char *fields[CSV_MAX_FIELDS])
{
	if (r->p >= r->end)
		return 0;
	r->line++;
	int n = 0;
	char *p = r->p;
	for (;;) {
		if (n == CSV_MAX_FIELDS)
			return -1;
		char *out = p;
		fields[n++] = out;
		if (p < r->end && *p == '"') {
			p++;
			for (;;) {
				if (p >= r->end)
					return -1;
				if (*p == '"') {
					if (p + 1 < r->end && p[1] == '"') {
						*out++ = '"';
						p += 2;
						continue;
					}
					p++;
					break;
				}
				if (*p == '\n')
					r->line++;
				*out++ = *p++;
			}
		} else {
			while (p < r->end && *p != ',' && *p != '\n' && *p != '\r')
				*out++ = *p++;
		}
		if (p < r->end && *p == ',') {
			*out = '\0';
			p++;
			continue;
		}
		if (p < r->end && *p == '\r')
			p++;
		if (p < r->end && *p != '\n')
			return -1;
		*out = '\0';
		r->p = p + 1;
		return n;
	}
}

char *file_read_all(const char *path, size_t max, size_t *len)
{
	/* opened without blocking (a FIFO would wait for a writer) and read
	 * only when it is a regular file: a device (/dev/zero, a terminal)
	 * or a FIFO where a configuration, key or state is expected is
	 * refused, never waited on */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	int fl = fcntl(fd, F_GETFL);
	FILE *f = fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) ? NULL : fdopen(fd, "rb");
	if (!f) {
		close(fd);
		return NULL;
	}
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	while (buf) {
		if (n == cap) {
			if (cap >= max)
				break;
			cap = cap * 2 > max ? max : cap * 2;
			char *nb = realloc(buf, cap + 1);
			if (!nb)
				break;
			buf = nb;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f))
				break;
			fclose(f);
			buf[n] = '\0';
			*len = n;
			return buf;
		}
	}
	free(buf);
	fclose(f);
	return NULL;
}

char *file_read_in(const char *dir, const char *name, size_t max, size_t *len, const char *what,
		   struct vis_error *e)
{
	char path[4096];
	if (!STR_FMT(path, "%s/%s", dir, name)) {
		vis_error_set(e, VIS_ERR_LIMIT, "percorso troppo lungo: la cartella di %s '%s'", what,
			      dir);
		return NULL;
	}
	char *buf = file_read_all(path, max, len);
	if (!buf)
		vis_error_set(e, VIS_ERR_IO, "impossibile leggere %s '%s'", what, path);
	return buf;
}
