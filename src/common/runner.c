#include "common/runner.h"

#include <pthread.h>
#include <stdlib.h>

struct job {
	runner_fn fn;
	void *ctx;
};

struct runner {
	pthread_mutex_t lock;
	pthread_cond_t more;            /* a job waits, or stopping */
	pthread_t thread;
	bool stopping, joined;
	struct job *q;                  /* a ring of cap */
	int cap, head, n;
	struct runner_counts counts;
};

static void *loop(void *arg)
{
	struct runner *rn = arg;
	pthread_mutex_lock(&rn->lock);
	for (;;) {
		while (!rn->n && !rn->stopping)
			pthread_cond_wait(&rn->more, &rn->lock);
		if (!rn->n)
			break; /* stopping, nothing left */
		struct job j = rn->q[rn->head];
		rn->head = (rn->head + 1) % rn->cap;
		rn->n--;
		bool refused = rn->stopping;
		rn->counts.waiting = rn->n;
		rn->counts.running = !refused;
		pthread_mutex_unlock(&rn->lock);
		j.fn(j.ctx, refused);
		pthread_mutex_lock(&rn->lock);
		rn->counts.running = 0;
		if (!refused)
			rn->counts.done++;
	}
	pthread_mutex_unlock(&rn->lock);
	return NULL;
}

struct runner *runner_new(int cap)
{
	struct runner *rn = calloc(1, sizeof *rn);
	if (!rn)
		return NULL;
	rn->cap = cap > 0 ? cap : 1;
	rn->q = calloc((size_t)rn->cap, sizeof *rn->q);
	if (!rn->q || pthread_mutex_init(&rn->lock, NULL)) {
		free(rn->q);
		free(rn);
		return NULL;
	}
	pthread_cond_init(&rn->more, NULL);
	if (pthread_create(&rn->thread, NULL, loop, rn)) {
		pthread_cond_destroy(&rn->more);
		pthread_mutex_destroy(&rn->lock);
		free(rn->q);
		free(rn);
		return NULL;
	}
	return rn;
}

bool runner_submit(struct runner *rn, runner_fn fn, void *ctx)
{
	if (!rn)
		return false;
	pthread_mutex_lock(&rn->lock);
	bool taken = !rn->stopping && rn->n < rn->cap;
	if (taken) {
		rn->q[(rn->head + rn->n) % rn->cap] = (struct job){fn, ctx};
		rn->counts.waiting = ++rn->n;
		pthread_cond_signal(&rn->more);
	} else {
		rn->counts.turned_away++;
	}
	pthread_mutex_unlock(&rn->lock);
	return taken;
}

void runner_counts_get(struct runner *rn, struct runner_counts *out)
{
	*out = (struct runner_counts){0};
	if (!rn)
		return;
	pthread_mutex_lock(&rn->lock);
	*out = rn->counts;
	out->stopping = rn->stopping;
	pthread_mutex_unlock(&rn->lock);
}

void runner_stop(struct runner *rn)
{
	if (!rn)
		return;
	pthread_mutex_lock(&rn->lock);
	bool join = !rn->joined;
	rn->stopping = rn->joined = true;
	pthread_cond_signal(&rn->more);
	pthread_mutex_unlock(&rn->lock);
	if (join)
		pthread_join(rn->thread, NULL);
}

void runner_free(struct runner *rn)
{
	if (!rn)
		return;
	runner_stop(rn);
	pthread_cond_destroy(&rn->more);
	pthread_mutex_destroy(&rn->lock);
	free(rn->q);
	free(rn);
}
