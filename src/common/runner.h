/* common/runner — work that takes seconds of CPU, done on one thread of
 * its own in the order asked (a statistics table: strasa_cittadinanza_eta's
 * exact audit takes 17 s at 200,000 persons, over a minute at 1,000,000;
 * a series; the bulletins made again; the trail's verification; an
 * import pushed over HTTPS, on a runner of its own: api_slow_defer), so
 * that the server's HTTP workers go on answering look-ups meanwhile.
 *
 * Owns: the thread, its queue (at most `cap` jobs waiting: more are not
 * taken, and the caller says so), and the stop: from runner_stop on no job
 * is taken, each one still waiting is called with `refused` set (to answer
 * without working), and the one running is waited for. */
#ifndef VISURA_COMMON_RUNNER_H
#define VISURA_COMMON_RUNNER_H

#include <stdbool.h>

struct runner;

/* A job: ctx is the caller's; refused when the runner stops before it. */
typedef void (*runner_fn)(void *ctx, bool refused);

struct runner_counts {
	int running;            /* 0 or 1 */
	int waiting;
	long long done;         /* jobs run to the end */
	long long turned_away;  /* not taken: the queue full, or stopping */
	bool stopping;          /* runner_stop called */
};

/* The runner and its thread; NULL when out of memory or no thread. */
struct runner *runner_new(int cap);
/* Takes fn(ctx) to run after those waiting: false when the queue is full
 * or the runner stops (not taken: the caller answers). */
bool runner_submit(struct runner *rn, runner_fn fn, void *ctx);
void runner_counts_get(struct runner *rn, struct runner_counts *out);
/* No more jobs; the waiting ones called with refused, the running one
 * waited for, the thread joined.  Again: nothing. */
void runner_stop(struct runner *rn);
/* Stops it first.  NULL: nothing. */
void runner_free(struct runner *rn);

#endif
