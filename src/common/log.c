#include "common/log.h"
#include "common/str.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;
static FILE *out;
static char out_path[1024];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void log_set_level(enum log_level lvl)
{
	min_level = lvl;
}

/* A new file for path, owner only (the log names accounts and addresses). */
static FILE *open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
	if (!f && fd >= 0)
		close(fd);
	if (f)
		setvbuf(f, NULL, _IOLBF, 0);
	return f;
}

int log_open(const char *path)
{
	if (path && strlen(path) >= sizeof out_path)
		return -1; /* a path that would not reopen the same file */
	FILE *f = path ? open_file(path) : NULL;
	pthread_mutex_lock(&lock);
	if (out && out != stderr)
		fclose(out);
	out = f ? f : stderr;
	if (!path || !STR_COPY(out_path, path))
		out_path[0] = '\0';
	pthread_mutex_unlock(&lock);
	return path && !f ? -1 : 0;
}

int log_reopen(void)
{
	char path[1024];
	pthread_mutex_lock(&lock);
	STR_COPY_KNOWN(path, out_path); /* the same size */
	pthread_mutex_unlock(&lock);
	if (!path[0])
		return 0;
	/* The file that cannot be reopened (its directory closed to the
	 * service user, a full disk) is kept rather than lost. */
	FILE *f = open_file(path);
	if (!f)
		return -1;
	pthread_mutex_lock(&lock);
	if (out && out != stderr)
		fclose(out);
	out = f;
	pthread_mutex_unlock(&lock);
	return 0;
}

void log_event(enum log_level lvl, const char *msg, const char *kv_fmt, ...)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	if (lvl < min_level)
		return;
	char ts[32], kv[1024];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	va_list ap;
	va_start(ap, kv_fmt);
	vsnprintf(kv, sizeof kv, kv_fmt, ap);
	va_end(ap);
	/* One line per event: a newline in a value must not forge another. */
	for (char *p = kv; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	pthread_mutex_lock(&lock);
	FILE *f = out ? out : stderr;
	fprintf(f, "ts=%s.%03ldZ level=%s msg=\"%s\"%s%s\n", ts, now.tv_nsec / 1000000,
		names[lvl], msg, kv[0] ? " " : "", kv);
	pthread_mutex_unlock(&lock);
}
