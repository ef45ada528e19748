/* Unit tests: policy/ratelimit.h — the counters of one process (SQLite),
 * and, on PostgreSQL, the leases of instances sharing the database:
 * instances (each its own struct ratelimit) take the same keys at once
 * from threads with their own connections, as the servers' workers do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/ratelimit.h"
#include "store/store.h"
#include "testdb.h"

struct fixture {
	struct testdb db;
	struct store *s;
};

static bool use_pg;

/* 2026-12-01 00:00:00 UTC: a day's and a minute's window start here. */
#define T0 1796083200LL

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	if (!f || testdb_open(&f->db, use_pg, "ratelimit", &f->s))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	testdb_close(&f->db, f->s);
	free(f);
	return 0;
}

static struct rl_rule rule(const char *key, int limit, int window)
{
	struct rl_rule r = {.limit = limit, .window = window};
	snprintf(r.key, sizeof r.key, "%s", key);
	return r;
}

/* The largest lease of a limit, and the units a process may hold unspent. */
static int lease_of(int limit)
{
	int g = limit / RATELIMIT_LEASE_SHARE;
	return g < 1 ? 1 : g > RATELIMIT_LEASE_MAX ? RATELIMIT_LEASE_MAX : g;
}

/* A worker thread of an instance: takes until its first refusal. */
struct hammer {
	const char *uri;        /* NULL: this process's counters */
	struct ratelimit *rl;
	const struct rl_rule *rules;
	int n;
	int64_t now;
	atomic_int *served;     /* every thread's grants */
	int mine;
	int seen_at_refusal;    /* *served when refused */
	int64_t retry;
	vis_err rc;
};

static void *hammer(void *arg)
{
	struct hammer *h = arg;
	struct store *s = NULL;
	struct vis_error e = {0};
	if (h->uri && (h->rc = testdb_store_open(h->uri, &s, &e)))
		return NULL;
	for (int i = 0; i < 100000; i++) {
		int took = ratelimit_take(h->rl, s, h->rules, h->n, h->now, &h->retry, &e);
		if (took < 0) {
			fprintf(stderr, "%s\n", e.msg);
			h->rc = VIS_ERR_INTERNAL;
			break;
		}
		if (!took) {
			h->seen_at_refusal = atomic_load(h->served);
			break;
		}
		atomic_fetch_add(h->served, 1);
		h->mine++;
	}
	if (s)
		store_close(s);
	return NULL;
}

/* The instances rl[0..instances), `threads` threads each (their own
 * connections with `shared`, else this process's counters), take rules at
 * `now` until each thread is refused: returns the grants; *lowest the
 * fewest grants seen at a refusal, *retry a refusal's Retry-After. */
static int race(const struct fixture *f, struct ratelimit **rl, int instances, int threads,
		bool shared, const struct rl_rule *rules, int n, int64_t now, int *lowest,
		int64_t *retry)
{
	struct hammer h[16];
	pthread_t th[16];
	atomic_int served = 0;
	int k = 0;
	for (int i = 0; i < instances; i++)
		for (int t = 0; t < threads; t++, k++)
			h[k] = (struct hammer){.uri = shared ? f->db.uri : NULL, .rl = rl[i], .rules = rules,
					       .n = n, .now = now, .served = &served};
	for (int i = 0; i < k; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hammer, &h[i]), 0);
	*lowest = 1 << 30;
	for (int i = 0; i < k; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(h[i].rc, VIS_OK);
		if (h[i].seen_at_refusal < *lowest)
			*lowest = h[i].seen_at_refusal;
		*retry = h[i].retry;
	}
	return atomic_load(&served);
}

static void instances_new(struct ratelimit **rl, int n)
{
	for (int i = 0; i < n; i++)
		assert_non_null(rl[i] = ratelimit_new());
}

static void instances_free(struct ratelimit **rl, int n)
{
	for (int i = 0; i < n; i++)
		ratelimit_free(rl[i]);
}

/* The fewest grants a refusal may see: the limit less what the other
 * instances may hold unspent (ratelimit.h), less the grants of the other
 * threads not yet added to the count the test keeps. */
static int floor_of(int limit, int instances, int threads)
{
	return limit - (instances - 1) * (lease_of(limit) - 1) - (instances * threads - 1);
}

/* One process, no database (SQLite): exactly the limit, from threads. */
static void test_local(void **state)
{
	struct fixture *f = *state;
	struct rl_rule r[2] = {rule("op:1", 500, 60), rule("op:1", 100000, 86400)};
	struct ratelimit *rl[1];
	int lowest;
	int64_t retry;
	instances_new(rl, 1);
	assert_int_equal(race(f, rl, 1, 4, false, r, 2, T0 + 5, &lowest, &retry), 500);
	assert_true(lowest >= floor_of(500, 1, 4));
	assert_int_equal(retry, 55);
	instances_free(rl, 1);
}

/* Two instances of two threads on a daily limit: never past it, every
 * unit granted is served in the end, and none is refused before the
 * bound. */
static void test_instances_day(void **state)
{
	struct fixture *f = *state;
	if (!use_pg)
		skip();   /* instances sharing a database */
	const int lim[] = {1000, 200, 15};
	for (int i = 0; i < 3; i++) {
		char key[32];
		snprintf(key, sizeof key, "body:%d", i);
		struct rl_rule r[2] = {rule(key, 1000000, 60), rule(key, lim[i], 86400)};
		struct ratelimit *rl[2];
		int lowest;
		int64_t retry;
		instances_new(rl, 2);
		int got = race(f, rl, 2, 2, true, r, 2, T0 + 3600, &lowest, &retry);
		fprintf(stderr, "limit %d: %d granted, the first refusal after %d (bound %d)\n",
			lim[i], got, lowest, floor_of(lim[i], 2, 2));
		assert_int_equal(got, lim[i]);
		assert_true(lowest >= floor_of(lim[i], 2, 2));
		assert_int_equal(retry, 86400 - 3600);
		instances_free(rl, 2);
	}
}

/* The minute window and its rollover, three instances of two threads:
 * each minute grants its limit again (the day's credit carried from one
 * minute to the next), until the day's limit, never passed, whose
 * refusal waits for the day. */
static void test_instances_minutes(void **state)
{
	struct fixture *f = *state;
	if (!use_pg)
		skip();
	struct rl_rule r[2] = {rule("op:7", 100, 60), rule("op:7", 1000, 86400)};
	struct ratelimit *rl[3];
	int lowest, total = 0, m;
	int64_t retry;
	instances_new(rl, 3);
	for (m = 1; m < 20; m++) {
		int64_t now = T0 + 60 * m + 7;
		int got = race(f, rl, 3, 2, true, r, 2, now, &lowest, &retry);
		total += got;
		assert_true(got <= 100);
		/* the day's credit held unspent cannot exhaust it before */
		if (m <= 5) {
			assert_int_equal(got, 100);
			assert_true(lowest >= floor_of(100, 3, 2));
			assert_int_equal(retry, 53);
		}
		if (!got)
			break;
	}
	assert_int_equal(total, 1000);
	assert_int_equal(retry, 86400 - 60 * m - 7);
	instances_free(rl, 3);
}

/* The bound is reached: an instance that took one request and went quiet
 * holds the rest of its lease, which the other cannot have. */
static void test_idle_instance(void **state)
{
	struct fixture *f = *state;
	if (!use_pg)
		skip();
	struct ratelimit *a = ratelimit_new(), *b = ratelimit_new();
	struct store *sb;
	struct vis_error e = {0};
	assert_int_equal(testdb_store_open(f->db.uri, &sb, &e), VIS_OK);
	struct rl_rule r[1] = {rule("purpose:3", 1000, 86400)};
	int64_t retry;
	assert_int_equal(ratelimit_take(b, sb, r, 1, T0, &retry, &e), 1);
	int served = 1;
	while (ratelimit_take(a, f->s, r, 1, T0, &retry, &e) == 1)
		served++;
	assert_int_equal(served, 1000 - (lease_of(1000) - 1));
	while (ratelimit_take(b, sb, r, 1, T0, &retry, &e) == 1)
		served++;
	assert_int_equal(served, 1000);
	store_close(sb);
	ratelimit_free(a);
	ratelimit_free(b);
}

/* All or none: requests refused for one rule spend nothing of another's
 * credit, local or in the database; and a refused rule costs no
 * statement until its window ends. */
static void test_all_or_none(void **state)
{
	struct fixture *f = *state;
	struct ratelimit *rl = ratelimit_new();
	struct store *s = use_pg ? f->s : NULL;
	struct vis_error e = {0};
	struct rl_rule both[2] = {rule("op:2", 5, 60), rule("body:2", 400, 86400)};
	int64_t retry;
	for (int i = 0; i < 5; i++)
		assert_int_equal(ratelimit_take(rl, s, both, 2, T0 + 10, &retry, &e), 1);
	struct store_io io0, io1;
	store_io_get(f->s, &io0);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(ratelimit_take(rl, s, both, 2, T0 + 10 + i, &retry, &e), 0);
		assert_int_equal(retry, 50 - i);
	}
	store_io_get(f->s, &io1);
	/* the database's refusal, then the 19 others from memory */
	assert_int_equal(io1.statements - io0.statements, use_pg ? 1 : 0);
	/* the body's limit: 395 more, alone */
	int more = 0;
	while (ratelimit_take(rl, s, &both[1], 1, T0 + 40, &retry, &e) == 1)
		more++;
	assert_int_equal(more, 395);
	assert_int_equal(retry, 86400 - 40);
	store_io_get(f->s, &io0);
	if (use_pg) /* leases of 50, 43, 37, ... then 15 of one: not one a request */
		assert_true(io0.statements - io1.statements < 60);
	ratelimit_free(rl);
}

/* Clocks that differ between instances: a's runs into the next minute
 * and takes its whole limit; b's, a second behind, still reads the
 * minute before.  b's lease never moves the row back to its minute (that
 * would reset the later minute's count: c, on a's clock, would be
 * granted the limit again), it is counted in the later one, exhausted. */
static void test_clock_skew(void **state)
{
	struct fixture *f = *state;
	if (!use_pg)
		skip();
	struct rl_rule r[1] = {rule("op:9", 100, 60)};
	struct ratelimit *rl[3];
	struct vis_error e = {0};
	int64_t retry;
	int got[3] = {0};
	const int64_t clock[3] = {T0 + 120, T0 + 119, T0 + 121};
	instances_new(rl, 3);
	for (int i = 0; i < 3; i++)
		while (ratelimit_take(rl[i], f->s, r, 1, clock[i], &retry, &e) == 1)
			got[i]++;
	fprintf(stderr, "granted: a %d, b %d (a second behind), c %d\n", got[0], got[1], got[2]);
	assert_int_equal(got[0], 100);
	assert_int_equal(got[1] + got[2], 0);
	instances_free(rl, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_instances_day, setup, teardown),
		cmocka_unit_test_setup_teardown(test_instances_minutes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_instance, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_or_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_skew, setup, teardown),
	};
	return TESTDB_RUN("ratelimit", tests, NULL, NULL, &use_pg);
}
