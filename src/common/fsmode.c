#include "common/fsmode.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/str.h"

vis_err fsmode_check(const char *path, mode_t tolerated, bool refuse, const char *what,
		     struct vis_error *e)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return VIS_OK;
	mode_t extra = st.st_mode & 07777 & ~(mode_t)0600 & ~tolerated;
	if (!extra)
		return VIS_OK;
	if (refuse)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "%s '%s' ha i permessi %04o: leggibile o scrivibile da altri "
				     "(chmod 600)", what, path, (unsigned)(st.st_mode & 07777));
	log_warn("permessi del file troppo larghi",
		 "file=%s what=\"%s\" mode=%04o want=0600", path, what,
		 (unsigned)(st.st_mode & 07777));
	return VIS_OK;
}

vis_err fsmode_create_private(const char *path, struct vis_error *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		close(fd);
		return VIS_OK;
	}
	if (errno == EEXIST)
		return VIS_OK;
	return vis_error_set(e, VIS_ERR_IO, "impossibile creare '%s': %s", path, strerror(errno));
}

vis_err fsmode_create_beside(const char *path, const char *beside, struct vis_error *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? VIS_OK
				       : vis_error_set(e, VIS_ERR_IO, "impossibile creare "
								      "'%s': %s", path,
						       strerror(errno));
	struct stat st;
	vis_err rc = VIS_OK;
	if (geteuid() == 0 && stat(beside, &st) == 0 && st.st_uid != 0 &&
	    fchown(fd, st.st_uid, st.st_gid) != 0)
		rc = vis_error_set(e, VIS_ERR_IO, "impossibile dare '%s' al proprietario di '%s': "
						  "%s",
				   path, beside, strerror(errno));
	close(fd);
	return rc;
}

vis_err fsmode_key_write(const char *path, const unsigned char *key, size_t len,
			 const char *what, struct vis_error *e)
{
	char hex[2 * 128 + 2];
	if (len > 128)
		return vis_error_set(e, VIS_ERR_INTERNAL, "%s: chiave troppo lunga", what);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return vis_error_set(e, VIS_ERR_IO, "impossibile creare %s '%s': %s", what, path,
				     strerror(errno));
	sodium_bin2hex(hex, sizeof hex - 1, key, len);
	strcat(hex, "\n");
	size_t n = strlen(hex);
	ssize_t w = write(fd, hex, n);
	int rc = fsync(fd);
	close(fd);
	sodium_memzero(hex, sizeof hex);
	if (w != (ssize_t)n || rc != 0) {
		unlink(path);
		return vis_error_set(e, VIS_ERR_IO, "impossibile scrivere %s '%s'", what, path);
	}
	return VIS_OK;
}

vis_err fsmode_key_read(const char *path, unsigned char *out, size_t len, const char *what,
			struct vis_error *e)
{
	char hex[2 * 128 + 2];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vis_error_set(e, VIS_ERR_IO, "impossibile leggere %s '%s'", what, path);
	ssize_t n = read(fd, hex, sizeof hex - 1);
	close(fd);
	size_t got = 0;
	int rc = n < 0 ? -1 : sodium_hex2bin(out, len, hex, (size_t)n, "\n", &got, NULL);
	sodium_memzero(hex, sizeof hex);
	if (rc != 0 || got != len)
		return vis_error_set(e, VIS_ERR_INVALID, "%s '%s' è danneggiata", what, path);
	return VIS_OK;
}

static const char *kind_name(mode_t m)
{
	return S_ISLNK(m)    ? "un collegamento simbolico"
	       : S_ISDIR(m)  ? "una cartella"
	       : S_ISFIFO(m) ? "una FIFO"
	       : S_ISCHR(m)  ? "un dispositivo a caratteri"
	       : S_ISBLK(m)  ? "un dispositivo a blocchi"
	       : S_ISSOCK(m) ? "un socket"
			     : "un file speciale";
}

vis_err fsmode_replaceable(const char *path, const char *what, struct vis_error *e)
{
	struct stat st;
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return VIS_OK;
		return vis_error_set(e, VIS_ERR_IO, "%s: impossibile esaminare '%s': %s", what,
				     path, strerror(errno));
	}
	if (S_ISREG(st.st_mode))
		return VIS_OK;
	return vis_error_set(e, VIS_ERR_INVALID, "%s: '%s' è %s, non un file regolare: non lo "
						 "si sostituisce (indicare il percorso di un file)",
			     what, path, kind_name(st.st_mode));
}

FILE *fsmode_fopen_write(const char *path, const char *what, struct vis_error *e)
{
	if (fsmode_replaceable(path, what, e))
		return NULL;
	/* Opened without following a link and without blocking on a FIFO,
	 * then checked again on the descriptor itself (what lstat saw may have
	 * been swapped since): only a regular file is emptied and written. */
	int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0) {
		vis_error_set(e, VIS_ERR_IO, "%s: impossibile scrivere '%s': %s", what, path,
			      strerror(errno));
		return NULL;
	}
	struct stat st;
	int fl = fcntl(fd, F_GETFL);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		vis_error_set(e, VIS_ERR_INVALID, "%s: '%s' non è un file regolare: non lo si "
						  "sostituisce (indicare il percorso di un file)",
			      what, path);
		close(fd);
		return NULL;
	}
	FILE *f = NULL;
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0 || ftruncate(fd, 0) != 0 ||
	    !(f = fdopen(fd, "w"))) {
		vis_error_set(e, VIS_ERR_IO, "%s: impossibile scrivere '%s': %s", what, path,
			      strerror(errno));
		close(fd);
	}
	return f;
}

vis_err fsmode_replace(const char *tmp, const char *path, bool sync_dir, const char *what,
		       struct vis_error *e)
{
	vis_err rc = fsmode_replaceable(path, what, e);
	if (rc)
		return rc;
	if (rename(tmp, path) != 0)
		return vis_error_set(e, VIS_ERR_IO, "%s: impossibile rinominare '%s' in '%s': %s",
				     what, tmp, path, strerror(errno));
	if (!sync_dir)
		return VIS_OK;
	char dir[4096];
	if (!STR_COPY(dir, path))
		return vis_error_set(e, VIS_ERR_LIMIT, "%s: percorso troppo lungo", what);
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool ok = dfd >= 0 && fsync(dfd) == 0;
	int err = errno;
	if (dfd >= 0)
		close(dfd);
	if (!ok)
		return vis_error_set(e, VIS_ERR_IO, "%s: impossibile scrivere '%s': %s", what, path,
				     strerror(err));
	return VIS_OK;
}

vis_err fsmode_temp_create(const char *path, const char *tag, char *tmp, size_t cap, int *fd,
			   const char *what, struct vis_error *e)
{
	*fd = -1;
	/* 48 random bits a name: a collision (a file someone made there) is
	 * passed over, a few in a row mean something else is wrong. */
	for (int tries = 0; tries < 8; tries++) {
		unsigned char r[6];
		char hex[2 * sizeof r + 1];
		randombytes_buf(r, sizeof r);
		sodium_bin2hex(hex, sizeof hex, r, sizeof r);
		int n = snprintf(tmp, cap, "%s.%s-%s", path, tag, hex);
		if (n < 0 || (size_t)n >= cap)
			return vis_error_set(e, VIS_ERR_LIMIT, "%s: percorso troppo lungo: '%s'", what,
					     path);
		*fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (*fd >= 0)
			return VIS_OK;
		if (errno != EEXIST)
			break;
	}
	return vis_error_set(e, VIS_ERR_IO, "%s: impossibile creare un file temporaneo accanto a "
					    "'%s': %s", what, path, strerror(errno));
}

vis_err fsmode_write_replace(const char *path, const char *tag, const void *data, size_t len,
			     mode_t mode, bool sync_dir, const char *what, struct vis_error *e)
{
	char tmp[4096 + 64];
	int fd;
	vis_err rc = fsmode_temp_create(path, tag, tmp, sizeof tmp, &fd, what, e);
	if (rc)
		return rc;
	bool ok = (mode == 0600 || fchmod(fd, mode) == 0) && write(fd, data, len) == (ssize_t)len &&
		  fsync(fd) == 0;
	int err = errno;
	ok = close(fd) == 0 && ok;
	rc = ok ? fsmode_replace(tmp, path, sync_dir, what, e)
		: vis_error_set(e, VIS_ERR_IO, "%s: impossibile scrivere '%s': %s", what, tmp,
				strerror(err ? err : errno));
	if (rc)
		unlink(tmp);
	return rc;
}
