#define _GNU_SOURCE /* gettid, SCHED_IDLE */
#include "common/prio.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int prio_nice(void)
{
	/* the nice value itself: -1 is a value too, and the calling thread's
	 * own cannot fail */
	return getpriority(PRIO_PROCESS, (id_t)gettid());
}

bool prio_idle(void)
{
	int policy;
	struct sched_param sp;
	return !pthread_getschedparam(pthread_self(), &policy, &sp) && policy == SCHED_IDLE;
}

vis_err prio_enter(enum prio_class c, struct vis_error *e)
{
	if (c == PRIO_IDLE) {
		struct sched_param sp = {0};
		int rc = pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
		if (rc)
			return vis_error_set(e, VIS_ERR_IO, "priorità: SCHED_IDLE non impostato: %s",
					     strerror(rc));
		return VIS_OK;
	}
	if (c != PRIO_LOWER)
		return VIS_OK;
	int now = prio_nice();
	int want = now > 19 - PRIO_LOWER_STEPS ? 19 : now + PRIO_LOWER_STEPS;
	if (want != now && setpriority(PRIO_PROCESS, (id_t)gettid(), want))
		return vis_error_set(e, VIS_ERR_IO, "priorità: nice %d non impostato: %s", want,
				     strerror(errno));
	return VIS_OK;
}
