/* alert_bench — the cost of the anti-extraction rules per request when one
 * account's hour already holds many distinct persons.
 *
 *   alert_bench DB_PATH [PERSONS [REQUESTS]]
 *
 * Fills the account's set with PERSONS distinct persons (default 100,000,
 * one consultation each, a second apart), then times REQUESTS more
 * consultations (default 10,000): half of persons already in the set, half
 * new.  Prints the time of each phase.  Under valgrind --tool=callgrind
 * --collect-atstart=no --toggle-collect=measure the instruction counts of
 * the measured phase alone are repeatable (bench/alert/run.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alert/alert.h"
#include "store/store.h"

static double secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A codice fiscale-shaped code per person number (no two share their
 * first 11 characters, so the sequential rule stays quiet). */
static void code(long i, char out[17])
{
	unsigned long v = (unsigned long)i % 10000000000ul;
	snprintf(out, 17, "B%010luX%04lu", v, v % 10000);
}

static void observe(struct alert_tracker *t, struct store *s, const struct store_account *a,
		    int64_t now, long person)
{
	char cf[17];
	code(person, cf);
	struct alert_obs o = {.account = a, .ip = "10.0.0.1", .operation = "consult",
			      .outcome = "ok", .subjects = cf, .case_ref = "pratica 1",
			      .query_cf = ""};
	if (alert_observe(t, s, now, &o)) {
		fprintf(stderr, "unexpected suspension\n");
		exit(1);
	}
}

/* The phase callgrind counts. */
__attribute__((noinline)) void measure(struct alert_tracker *t, struct store *s,
				       const struct store_account *a, int64_t now, long persons,
				       long requests);
__attribute__((noinline)) void measure(struct alert_tracker *t, struct store *s,
				       const struct store_account *a, int64_t now, long persons,
				       long requests)
{
	for (long i = 0; i < requests; i++)
		observe(t, s, a, now + i / 100, i % 2 ? i * 7919 % persons : persons + i);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: alert_bench DB_PATH [PERSONS [REQUESTS]]\n");
		return 2;
	}
	long persons = argc > 2 ? atol(argv[2]) : 100000;
	long requests = argc > 3 ? atol(argv[3]) : 10000;
	struct store *s;
	struct vis_error e = {0};
	unlink(argv[1]);
	if (store_open(argv[1], &s, &e)) {
		fprintf(stderr, "store: %s\n", e.msg);
		return 1;
	}
	struct alert_limits l;
	alert_limits_default(&l);
	l.persons_hour = l.persons_hour_hard = (int)(2 * (persons + requests));
	l.repeat_no_case = 16;
	l.addresses = 4;
	struct alert_tracker *t = alert_tracker_new(&l);
	struct store_account a = {.id = 7, .ente_id = 1};
	snprintf(a.username, sizeof a.username, "bench");
	/* The persons arrive within the hour: a fraction of a second apart. */
	int64_t start = 1767225600;
	double t0 = secs();
	for (long i = 0; i < persons; i++)
		observe(t, s, &a, start + i * 3000 / persons, i);
	double t1 = secs();
	measure(t, s, &a, start + 3000, persons, requests);
	double t2 = secs();
	printf("persons=%ld fill_s=%.3f requests=%ld measured_s=%.4f us_per_request=%.2f\n", persons,
	       t1 - t0, requests, t2 - t1, (t2 - t1) * 1e6 / (double)requests);
	alert_tracker_free(t);
	store_close(s);
	unlink(argv[1]);
	return 0;
}
