/* common/runner: jobs in the order asked on one thread, at most cap
 * waiting, and the stop (the waiting ones refused, the running one
 * finished). */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/runner.h"

/* A job that, when gated, waits until the test opens its gate. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool open, started;
};

/* What the jobs did, written by the runner's thread only. */
struct rec {
	int order[16];            /* ids as run */
	bool refused[16];         /* by id */
	pthread_t thread[16];     /* by id */
};

static struct rec log_;
static int log_n;

struct job {
	struct gate *g;
	int id;
};

static void run(void *ctx, bool refused)
{
	struct job *j = ctx;
	log_.refused[j->id] = refused;
	log_.thread[j->id] = pthread_self();
	log_.order[log_n++] = j->id;
	if (j->g && !refused) {
		pthread_mutex_lock(&j->g->lock);
		j->g->started = true;
		pthread_cond_broadcast(&j->g->cond);
		while (!j->g->open)
			pthread_cond_wait(&j->g->cond, &j->g->lock);
		pthread_mutex_unlock(&j->g->lock);
	}
}

static void gate_init(struct gate *g)
{
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->open = g->started = false;
}

static void gate_wait_started(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	while (!g->started)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

static void gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->open = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

static void *stop_it(void *rn)
{
	runner_stop(rn);
	return NULL;
}

/* A runner of cap whose first job (gated) is running. */
static struct runner *started(int cap, struct job *first)
{
	memset(&log_, 0, sizeof log_);
	log_n = 0;
	struct runner *rn = runner_new(cap);
	assert_non_null(rn);
	gate_init(first->g);
	assert_true(runner_submit(rn, run, first));
	gate_wait_started(first->g);
	return rn;
}

/* In the order asked, on one thread that is not the caller's; a full
 * queue turns the job away (counted), and the counts say what runs. */
static void test_order_and_bound(void **state)
{
	(void)state;
	struct gate g;
	struct job first = {&g, 0}, a = {NULL, 1}, b = {NULL, 2}, c = {NULL, 3};
	struct runner *rn = started(2, &first);
	assert_true(runner_submit(rn, run, &a));
	assert_true(runner_submit(rn, run, &b));
	assert_false(runner_submit(rn, run, &c)); /* two waiting already */
	struct runner_counts k;
	runner_counts_get(rn, &k);
	assert_int_equal(k.running, 1);
	assert_int_equal(k.waiting, 2);
	assert_int_equal(k.turned_away, 1);
	/* the stop while the first runs: it waits for it (another thread) */
	pthread_t stopper;
	assert_int_equal(pthread_create(&stopper, NULL, stop_it, rn), 0);
	do
		runner_counts_get(rn, &k);
	while (!k.stopping);
	gate_open(&g);
	pthread_join(stopper, NULL);
	runner_counts_get(rn, &k);
	assert_int_equal(k.running, 0);
	assert_int_equal(k.waiting, 0);
	/* a and b waiting when the stop came: refused, not run */
	assert_int_equal(log_n, 3);
	assert_int_equal(log_.order[0], 0);
	assert_int_equal(log_.order[1], 1);
	assert_int_equal(log_.order[2], 2);
	assert_false(log_.refused[0]);
	assert_true(log_.refused[1]);
	assert_true(log_.refused[2]);
	assert_int_equal(k.done, 1);
	assert_false(pthread_equal(log_.thread[0], pthread_self()));
	assert_true(pthread_equal(log_.thread[0], log_.thread[1]));
	/* stopped: nothing taken; stopping again is nothing */
	assert_false(runner_submit(rn, run, &c));
	runner_stop(rn);
	runner_free(rn);
}

/* Jobs taken when nothing stops run to the end, each in turn. */
static void test_all_run(void **state)
{
	(void)state;
	struct gate g;
	struct job first = {&g, 0}, j[5];
	struct runner *rn = started(8, &first);
	for (int i = 0; i < 5; i++) {
		j[i] = (struct job){NULL, i + 1};
		assert_true(runner_submit(rn, run, &j[i]));
	}
	gate_open(&g);
	struct runner_counts k;
	do
		runner_counts_get(rn, &k);
	while (k.done < 6);
	runner_free(rn);
	assert_int_equal(log_n, 6);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(log_.order[i], i);
		assert_false(log_.refused[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_bound),
		cmocka_unit_test(test_all_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
