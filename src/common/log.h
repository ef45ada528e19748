/* log — a tiny leveled logger: one line per event, key=value, to stderr or
 * a file (reopened on SIGHUP by whoever owns the process).
 *
 * Never log personal data beyond record ids.  The access trail is a
 * separate, append-only store, not this log. */
#ifndef VISURA_COMMON_LOG_H
#define VISURA_COMMON_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level lvl);
/* Sends the log to path (append); NULL = stderr.  Returns 0 or -1. */
int log_open(const char *path);
/* Reopens the current file (after rotation); when it cannot be opened,
 * the log stays on the file it had and -1 is returned. */
int log_reopen(void);

/* msg is a short lowercase event name; kv is "key=value ..." (printf's
 * conversions).  Written by hand (log.c): the numbers as printf writes
 * them; a text value (%s) so that it cannot end its field or start another
 * (escaped within the format's quotes, quoted and escaped when bare and
 * holding a space, '"', '\', '=' or a control byte, those as \u00XX when
 * inside a longer token such as url=https://%s); a line longer than
 * 2,048 bytes cut at a whole character and ended with truncated=true. */
void log_event(enum log_level lvl, const char *msg, const char *kv_fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_info(msg, ...) log_event(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...) log_event(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_event(LOG_ERROR, msg, __VA_ARGS__)
#define log_debug(msg, ...) log_event(LOG_DEBUG, msg, __VA_ARGS__)

#endif
