#include "common/fsmode.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

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
				     "%s '%s' has mode %04o: readable or writable by others "
				     "(chmod 600 it)", what, path, (unsigned)(st.st_mode & 07777));
	log_warn("file mode too wide", "file=%s what=\"%s\" mode=%04o want=0600", path, what,
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
	return vis_error_set(e, VIS_ERR_IO, "cannot create '%s': %s", path, strerror(errno));
}
