/* common/prio — background work (an import pushed over HTTPS, a statistics
 * table, the trail's verification) runs below the look-ups beside it, so
 * that an operator's answer does not wait behind someone else's batch.
 *
 * Owns: the calling thread's scheduling class.  Two ways below the normal:
 * - PRIO_LOWER: 10 nice steps lower.  The thread still gets about a tenth
 *   of a core the look-ups want (CFS's weights), so it never stops: for
 *   work that holds a lock others may wait for (an import holds the
 *   register's write lock to its end).
 * - PRIO_IDLE: Linux's SCHED_IDLE.  Any ordinary thread that wakes takes
 *   the core from it at once, which a nice value does not (at nice 10 and
 *   19 look-ups beside statistics tables kept no more of their rate than
 *   at 0; under SCHED_IDLE 0.94 of it: docs/performance.md, "Background
 *   work at a lower priority").  It runs in the gaps the look-ups leave
 *   (waiting for the trail's fsync, the network): for work that holds no
 *   lock a look-up needs.
 * The class is the thread's own (Linux: not the process's); the threads it
 * creates afterwards start in it (the importer's reader).  A thread may
 * always go lower; coming back needs privileges, so a thread that goes
 * lower keeps to background work.  It orders the threads of one process;
 * between processes Linux's autogroups (one per session) and cgroups
 * decide, whatever the threads' classes. */
#ifndef VISURA_COMMON_PRIO_H
#define VISURA_COMMON_PRIO_H

#include <stdbool.h>

#include "common/err.h"

enum prio_class {
	PRIO_NORMAL, /* as created: nothing changed */
	PRIO_LOWER,  /* PRIO_LOWER_STEPS nice steps lower, at most 19 */
	PRIO_IDLE,   /* SCHED_IDLE */
};

#define PRIO_LOWER_STEPS 10

/* Puts the calling thread in class c (PRIO_NORMAL: nothing).  VIS_ERR_IO
 * when the system refuses. */
vis_err prio_enter(enum prio_class c, struct vis_error *e);

/* The calling thread's nice value and whether it runs under SCHED_IDLE. */
int prio_nice(void);
bool prio_idle(void);

#endif
