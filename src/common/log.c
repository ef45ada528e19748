#include "common/log.h"
#include "common/str.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level min_level = LOG_INFO;
static FILE *out;
static char out_path[1024];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void log_set_level(enum log_level lvl)
{
	min_level = lvl;
}

int log_open(const char *path)
{
	pthread_mutex_lock(&lock);
	if (out && out != stderr)
		fclose(out);
	out = NULL;
	out_path[0] = '\0';
	int rc = 0;
	if (path) {
		if (!STR_COPY(out_path, path)) {
			pthread_mutex_unlock(&lock);
			return -1; /* a path that would not reopen the same file */
		}
		out = fopen(path, "a");
		if (!out) {
			out = stderr;
			rc = -1;
		} else {
			setvbuf(out, NULL, _IOLBF, 0);
		}
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

int log_reopen(void)
{
	char path[1024];
	pthread_mutex_lock(&lock);
	STR_COPY_KNOWN(path, out_path); /* the same size */
	pthread_mutex_unlock(&lock);
	return path[0] ? log_open(path) : 0;
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
