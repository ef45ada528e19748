/* common/stop — the question long work asks as it goes: is it to end
 * now (the server's stop, SIGTERM), rather than hold the stop for as long
 * as it takes?  Owns nothing: a function and its context, which the
 * caller keeps valid for the work's length. */
#ifndef VISURA_COMMON_STOP_H
#define VISURA_COMMON_STOP_H

#include <stdbool.h>
#include <stddef.h>

struct stop_ask {
	bool (*asked)(void *ctx);
	void *ctx;
};

/* True when s asks the work to end; s NULL or without a function: never. */
static inline bool stop_now(const struct stop_ask *s)
{
	return s && s->asked && s->asked(s->ctx);
}

#endif
