/* common/prio — background work (an import, a statistics table) runs at a
 * lower CPU priority than the look-ups beside it, so that an operator's
 * answer does not wait behind a minute of someone else's batch.
 *
 * Owns: the calling thread's nice value.  On Linux the nice value is each
 * thread's own (not the process's, as POSIX has it): only the calling
 * thread is lowered, and the threads it creates afterwards start at its
 * value (the importer's reader thread).  A thread may always lower its
 * priority; raising it again needs privileges, so a thread that lowers
 * itself keeps to background work from then on. */
#ifndef VISURA_COMMON_PRIO_H
#define VISURA_COMMON_PRIO_H

#include "common/err.h"

/* The range of nice values (nice(1), setpriority(2)). */
#define PRIO_NICE_MIN (-20)
#define PRIO_NICE_MAX 19

/* The calling thread's nice value. */
int prio_nice(void);

/* Lowers the calling thread's priority by `steps` nice values (0 to 39;
 * 0: nothing), to at most PRIO_NICE_MAX.  VIS_ERR_INVALID for steps out of
 * range, VIS_ERR_IO when the system refuses. */
vis_err prio_lower(int steps, struct vis_error *e);

#endif
