#define _GNU_SOURCE /* gettid */
#include "common/prio.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int prio_nice(void)
{
	/* getpriority returns the nice value itself: -1 is a value too, so a
	 * failure shows only in errno (none for the calling thread's own). */
	return getpriority(PRIO_PROCESS, (id_t)gettid());
}

vis_err prio_lower(int steps, struct vis_error *e)
{
	if (steps < 0 || steps > PRIO_NICE_MAX - PRIO_NICE_MIN)
		return vis_error_set(e, VIS_ERR_INVALID, "priorità: %d passi fuori da 0-%d", steps,
				     PRIO_NICE_MAX - PRIO_NICE_MIN);
	if (!steps)
		return VIS_OK;
	int now = prio_nice();
	int want = now > PRIO_NICE_MAX - steps ? PRIO_NICE_MAX : now + steps;
	if (want == now)
		return VIS_OK;
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), want))
		return vis_error_set(e, VIS_ERR_IO, "priorità: nice %d non impostato: %s", want,
				     strerror(errno));
	return VIS_OK;
}
