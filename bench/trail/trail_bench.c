/* trail_bench — the searches of the access trail (store_access_search) on
 * a trail of many records, by the filters an auditor gives.
 *
 *   trail_bench URI fill RECORDS    a trail of RECORDS records over a year
 *   trail_bench URI search [ROUNDS] each search ROUNDS times (default 3)
 *
 * The trail: 2,000 operators of 200 bodies (3 purposes each), one person
 * of 1,000,000 per record, the records a year apart end to end (`at`
 * within 50 ms of its id's order, as the group-commit writer leaves it),
 * person 4242 in every 5,000th record.
 * Not a chain: the hashes are not computed (the searches do not read
 * them).  The search prints, for each, the records it returned and its
 * best time in milliseconds (bench/trail/run.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

#define T0 1735689600000LL          /* 2025-01-01 UTC, ms */
#define YEAR_MS (365LL * 86400000)
#define MONTH_MS (30LL * 86400000)
#define ACCOUNTS 2000
#define BODIES 200
#define PERSONS 1000000

static double secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A small deterministic generator (the same trail on every back end). */
static uint64_t rnd_state = 88172645463325252ull;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void person(long i, char out[17])
{
	snprintf(out, 17, "TRLPRS%06ldA00Z", i % PERSONS);
}

static int fill(struct store *s, long n)
{
	struct vis_error e = {0};
	struct store_access a;
	char cf[17];
	double t = secs();
	for (long i = 1; i <= n;) {
		if (store_begin_trail(s, &e))
			goto fail;
		for (long k = 0; k < 10000 && i <= n; k++, i++) {
			memset(&a, 0, sizeof a);
			a.id = i;
			a.at = T0 + (int64_t)((double)i * YEAR_MS / (double)n) -
			       (int64_t)(rnd() % 50);
			a.account_id = 1 + (int64_t)(rnd() % ACCOUNTS);
			a.ente_id = 1 + a.account_id % BODIES;
			a.convenzione_id = a.ente_id;
			a.purpose_id = a.ente_id * 10 + (int64_t)(rnd() % 3);
			snprintf(a.username, sizeof a.username, "op%lld", (long long)a.account_id);
			snprintf(a.case_ref, sizeof a.case_ref, "pratica %ld", i % 9973);
			snprintf(a.ip, sizeof a.ip, "10.0.%ld.%ld", i % 200, i % 250);
			snprintf(a.operation, sizeof a.operation, "consult");
			/* one person in 5,000 records: the person searched */
			person(i % 5000 ? (long)(rnd() % PERSONS) : 4242, cf);
			snprintf(a.query, sizeof a.query, "cf=%s", cf);
			a.subjects = cf;
			snprintf(a.categories, sizeof a.categories, "base");
			snprintf(a.outcome, sizeof a.outcome, "ok");
			a.status = 200;
			memset(a.prev_hash, 'a', 64);
			memset(a.hash, 'b', 64);
			if (store_access_insert(s, &a, &e))
				goto fail;
		}
		if (store_commit(s, &e))
			goto fail;
	}
	printf("filled %ld records in %.1f s\n", n, secs() - t);
	return 0;
fail:
	fprintf(stderr, "fill: %s\n", e.msg);
	return 1;
}

static int count(void *ctx, const struct store_access *a)
{
	(void)a;
	(*(long *)ctx)++;
	return 0;
}

struct search {
	const char *name;
	struct store_access_filter f;
};

static int search(struct store *s, int rounds)
{
	int64_t last = 0;
	struct vis_error e = {0};
	/* The trail's last record: the month before it, the records after its middle. */
	if (store_begin_trail(s, &e) || store_access_last(s, &last, (char[65]){0}, &e)) {
		fprintf(stderr, "search: %s\n", e.msg);
		return 1;
	}
	store_rollback(s);
	int64_t end = T0 + YEAR_MS, month = end - MONTH_MS;
	char cf[17];
	person(4242, cf);
	struct search q[] = {
		{"account, page 100", {.account_id = 77, .limit = 100}},
		{"account, all", {.account_id = 77}},
		{"account, none", {.account_id = ACCOUNTS + 1, .limit = 100}},
		{"body, page 100", {.ente_id = 78, .limit = 100}},
		{"body, all", {.ente_id = 78}},
		{"purpose, page 100", {.purpose_id = 781, .limit = 100}},
		{"last month, page 100", {.from_ms = month, .to_ms = end, .limit = 100}},
		{"last month, a later page", {.from_ms = month, .to_ms = end, .after = last - last / 20,
					       .limit = 100}},
		{"from the start, page 100", {.from_ms = T0, .limit = 100}},
		{"a day mid-year, all", {.from_ms = T0 + YEAR_MS / 2, .to_ms = T0 + YEAR_MS / 2 + 86400000}},
		{"cf, all", {.limit = 0}},
		{"cf, none", {.limit = 0}},
		{"account + last month, all", {.account_id = 77, .from_ms = month, .to_ms = end}},
		{"body + last month, page 100", {.ente_id = 78, .from_ms = month, .to_ms = end, .limit = 100}},
		{"account, page after the middle", {.account_id = 77, .after = last / 2, .limit = 100}},
		{"none, page 100", {.limit = 100}},
	};
	memcpy(q[10].f.cf, cf, 17);
	memcpy(q[11].f.cf, "TRLNON000000A00Z", 16);
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		double best = 1e9;
		long n = 0;
		for (int r = 0; r < rounds; r++) {
			n = 0;
			double t = secs();
			if (store_access_search(s, &q[i].f, count, &n, &e)) {
				fprintf(stderr, "search %s: %s\n", q[i].name, e.msg);
				return 1;
			}
			t = secs() - t;
			if (t < best)
				best = t;
		}
		printf("%-32s %8ld records %10.2f ms\n", q[i].name, n, best * 1000);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3 || (strcmp(argv[2], "fill") && strcmp(argv[2], "search"))) {
		fprintf(stderr, "usage: trail_bench URI fill RECORDS | URI search [ROUNDS]\n");
		return 2;
	}
	struct store *s;
	struct vis_error e = {0};
	double t = secs();
	if (store_open(argv[1], &s, &e)) {
		fprintf(stderr, "store: %s\n", e.msg);
		return 1;
	}
	printf("opened (migrated) in %.1f s\n", secs() - t);
	int rc = !strcmp(argv[2], "fill") ? fill(s, argc > 3 ? atol(argv[3]) : 1000000)
					   : search(s, argc > 3 ? atoi(argv[3]) : 3);
	store_close(s);
	return rc;
}
