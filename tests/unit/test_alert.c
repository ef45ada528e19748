/* Unit tests: the anti-extraction rules (alert.h) — each rule raises its
 * alert, the hard threshold suspends once, every window slides (a person
 * leaves the count exactly an hour after they were last consulted, though
 * the set is swept at most once a minute), and the set of distinct persons
 * stays right at tens of thousands; on SQLite (counters in memory), and on
 * PostgreSQL (counters in the shared state) when $VISURA_TEST_PG is set. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "audit/operation.h"
#include "common/str.h"
#include "seed.h"
#include "store/store.h"
#include "testdb.h"

#define OK(x) assert_int_equal((x), VIS_OK)
#define T0 1767268800

struct fx {
	struct testdb db;
	struct store *s;
	int64_t ente;
	int accounts;
};

static bool use_pg;

static int group_setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	if (!f || testdb_open(&f->db, use_pg, "alert", &f->s))
		return -1;
	f->ente = seed_body(f->s, "Questura di Modena");
	*state = f;
	return 0;
}

static int group_teardown(void **state)
{
	struct fx *f = *state;
	testdb_close(&f->db, f->s);
	free(f);
	return 0;
}

/* A fresh account per test: the shared counters are keyed by its id. */
static struct store_account account(struct fx *f)
{
	struct store_account a;
	char name[32];
	snprintf(name, sizeof name, "op%d", ++f->accounts);
	seed_account(f->s, f->ente, name, &a);
	return a;
}

static struct alert_tracker *tracker(int persons_hour, int hard)
{
	struct alert_limits l;
	alert_limits_default(&l);
	l.persons_hour = persons_hour;
	l.persons_hour_hard = hard;
	struct alert_tracker *t = alert_tracker_new(&l);
	assert_non_null(t);
	return t;
}

static void code(unsigned i, char out[17])
{
	snprintf(out, 17, "P%010uX%04u", i % 1000000000u, i % 10000);
}

static bool consult(struct fx *f, struct alert_tracker *t, const struct store_account *a,
		    int64_t now, const char *cf)
{
	struct alert_obs o = {.account = a, .ip = "10.0.0.1", .operation = "consult",
			      .outcome = "ok", .subjects = cf, .case_ref = "RG 1",
			      .query_cf = ""};
	return alert_observe(t, f->s, now, &o);
}

static bool person(struct fx *f, struct alert_tracker *t, const struct store_account *a,
		   int64_t now, int i)
{
	char cf[17];
	code(i, cf);
	return consult(f, t, a, now, cf);
}

struct count {
	const char *rule, *severity;
	int n;
};

static int count_row(void *ctx, const void *rec)
{
	struct count *c = ctx;
	const struct store_alert *al = rec;
	c->n += !strcmp(al->rule, c->rule) && (!c->severity || !strcmp(al->severity, c->severity));
	return 0;
}

static int alerts(struct fx *f, const struct store_account *a, const char *rule,
		  const char *severity)
{
	struct count c = {rule, severity, 0};
	struct store_filter by[] = {{"account_id", NULL, a->id}, {NULL, NULL, 0}};
	struct vis_error e = {0};
	OK(store_rec_list(f->s, STORE_ALERT, by, 0, count_row, &c, &e));
	return c.n;
}

static void test_persons_hour(void **state)
{
	struct fx *f = *state;
	struct store_account a = account(f);
	struct alert_tracker *t = tracker(3, 5);
	for (int i = 0; i < 2; i++)
		assert_false(person(f, t, &a, T0 + i, i));
	assert_int_equal(alerts(f, &a, "persons_hour", NULL), 0);
	/* The same persons again are not more persons. */
	assert_false(person(f, t, &a, T0 + 2, 0));
	assert_false(person(f, t, &a, T0 + 3, 1));
	assert_int_equal(alerts(f, &a, "persons_hour", NULL), 0);
	assert_false(person(f, t, &a, T0 + 4, 2));
	assert_int_equal(alerts(f, &a, "persons_hour", "high"), 1);
	assert_false(person(f, t, &a, T0 + 5, 3));
	assert_int_equal(alerts(f, &a, "persons_hour", "high"), 1);   /* once per window */
	assert_true(person(f, t, &a, T0 + 6, 4));                   /* the hard threshold */
	assert_int_equal(alerts(f, &a, "persons_hour", "critical"), 1);
	assert_false(person(f, t, &a, T0 + 7, 5));                  /* suspended once */
	alert_tracker_free(t);
}

/* A person leaves the count exactly an hour after their last consultation. */
static void test_window_slides(void **state)
{
	struct fx *f = *state;
	struct store_account a = account(f);
	struct alert_tracker *t = tracker(3, 3);
	assert_false(person(f, t, &a, T0, 0));
	assert_false(person(f, t, &a, T0 + 10, 1));
	assert_false(person(f, t, &a, T0 + 3600, 2));      /* person 0 is an hour old */
	assert_true(person(f, t, &a, T0 + 3605, 3));       /* 1, 2, 3 within the hour */
	alert_tracker_free(t);

	/* Between two sweeps (at most a minute apart) a person past the hour
	 * still sits in the set: the count a rule reads is exact all the same. */
	a = account(f);
	t = tracker(3, 100);
	assert_false(person(f, t, &a, T0, 0));
	assert_false(person(f, t, &a, T0 + 30, 1));
	assert_false(person(f, t, &a, T0 + 3610, 2));      /* swept: 0 leaves, 1 stays */
	assert_false(person(f, t, &a, T0 + 3640, 3));      /* 1 is past the hour now */
	assert_int_equal(alerts(f, &a, "persons_hour", NULL), 0);
	assert_false(person(f, t, &a, T0 + 3641, 4));      /* 2, 3 and 4 */
	assert_int_equal(alerts(f, &a, "persons_hour", NULL), 1);
	/* Re-consulting keeps a person in the window. */
	alert_tracker_free(t);
	a = account(f);
	t = tracker(2, 100);
	assert_false(person(f, t, &a, T0, 0));
	assert_false(person(f, t, &a, T0 + 3000, 0));
	assert_false(person(f, t, &a, T0 + 3700, 1));
	assert_int_equal(alerts(f, &a, "persons_hour", NULL), 1);
	alert_tracker_free(t);
}

/* Tens of thousands of distinct persons: the index grows and is rebuilt,
 * repeated persons are found, the threshold fires at the exact count. */
static void test_many_persons(void **state)
{
	struct fx *f = *state;
	struct store_account a = account(f);
	const int n = use_pg ? 500 : 30000;
	struct alert_tracker *t = tracker(n + 1, n + 2);
	for (int i = 0; i < n; i++)
		assert_false(person(f, t, &a, T0 + (int64_t)i * 3000 / n, i));
	for (int i = 0; i < n; i += 7)
		assert_false(person(f, t, &a, T0 + 3000, i));
	assert_int_equal(alerts(f, &a, "persons_hour", NULL), 0);
	assert_false(person(f, t, &a, T0 + 3001, n));
	assert_int_equal(alerts(f, &a, "persons_hour", "high"), 1);
	assert_true(person(f, t, &a, T0 + 3002, n + 1));
	alert_tracker_free(t);
}

static bool observe(struct fx *f, struct alert_tracker *t, const struct store_account *a,
		    int64_t now, const char *op, const char *outcome, const char *subjects,
		    const char *case_ref, const char *query_cf, const char *ip)
{
	struct alert_obs o = {.account = a, .ip = ip, .operation = op, .outcome = outcome,
			      .subjects = subjects, .case_ref = case_ref, .query_cf = query_cf};
	return alert_observe(t, f->s, now, &o);
}

static void test_rules(void **state)
{
	struct fx *f = *state;
	struct alert_limits l;
	alert_limits_default(&l);
	l.refused_hour = 2;
	l.no_results_min = 3;
	l.no_results_pct = 60;
	l.sequential_run = 3;
	l.repeat_no_case = 3;
	l.addresses = 3;
	struct alert_tracker *t = alert_tracker_new(&l);
	assert_non_null(t);
	struct store_account a = account(f);
	const char *ip = "10.0.0.1";
	/* refused */
	observe(f, t, &a, T0, "consult", "refused:purpose_required", "", "", "", ip);
	assert_int_equal(alerts(f, &a, "refused", NULL), 0);
	observe(f, t, &a, T0 + 1, "consult", "refused:purpose_required", "", "", "", ip);
	assert_int_equal(alerts(f, &a, "refused", NULL), 1);
	/* no_results: 3 look-ups, 2 finding nobody (67% >= 60%) */
	observe(f, t, &a, T0 + 2, "search", "ok", SEED_ANNA, "RG 1", "", ip);
	observe(f, t, &a, T0 + 3, "search", "not_found", "", "RG 1", "", ip);
	assert_int_equal(alerts(f, &a, "no_results", NULL), 0);
	observe(f, t, &a, T0 + 4, "search", "not_found", "", "RG 1", "", ip);
	assert_int_equal(alerts(f, &a, "no_results", NULL), 1);
	/* sequential_cf: three codes sharing their first 11 characters,
	 * another look-up in between */
	observe(f, t, &a, T0 + 5, "consult", "not_found", "", "RG 1", "RSSMRA80A01F257A", ip);
	observe(f, t, &a, T0 + 6, "consult", "ok", SEED_LUCA, "RG 1", SEED_LUCA, ip);
	observe(f, t, &a, T0 + 7, "consult", "not_found", "", "RG 1", "RSSMRA80A01F257B", ip);
	assert_int_equal(alerts(f, &a, "sequential_cf", NULL), 0);
	observe(f, t, &a, T0 + 8, "consult", "not_found", "", "RG 1", "RSSMRA80A01F257C", ip);
	assert_int_equal(alerts(f, &a, "sequential_cf", NULL), 1);
	/* repeat_no_case: the same person three times without a case */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(alerts(f, &a, "repeat_no_case", NULL), 0);
		observe(f, t, &a, T0 + 9 + i, "consult", "ok", SEED_ANNA, "", SEED_ANNA, ip);
	}
	assert_int_equal(alerts(f, &a, "repeat_no_case", NULL), 1);
	/* many_addresses: three addresses within ten minutes */
	observe(f, t, &a, T0 + 20, "search", "ok", SEED_ANNA, "RG 1", "", "10.0.0.2");
	assert_int_equal(alerts(f, &a, "many_addresses", NULL), 0);
	observe(f, t, &a, T0 + 21, "search", "ok", SEED_ANNA, "RG 1", "", "10.0.0.3");
	assert_int_equal(alerts(f, &a, "many_addresses", NULL), 1);
	/* break_glass: at once */
	struct alert_obs o = {.account = &a, .ip = ip, .operation = "consult", .outcome = "ok",
			      .subjects = SEED_ANNA, .case_ref = "RG 1", .query_cf = SEED_ANNA,
			      .break_glass = true, .justification = "persona scomparsa"};
	alert_observe(t, f->s, T0 + 22, &o);
	assert_int_equal(alerts(f, &a, "break_glass", "high"), 1);
	alert_tracker_free(t);
}

/* The internal names a reader must never meet in an alert's detail: the
 * trail's operations and the refusals' codes (whole words: "consultazioni"
 * is Italian, "consult" is not). */
static const char *const internal_names[] = {
	"search", "consult", "household", "history", "print", "verify", "events",
	"events_push", "voucher", "list_extract", "refused", "not_found", "ok",
	"purpose_required", "break_glass",
};

static int italian_row(void *ctx, const void *rec)
{
	int *rules = ctx;
	const struct store_alert *al = rec;
	const char *p = al->detail;
	while (*p) {
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:");
		if (!n) {
			p++;
			continue;
		}
		for (size_t i = 0; i < sizeof internal_names / sizeof internal_names[0]; i++) {
			size_t k = strlen(internal_names[i]);
			if ((n == k || (n == k + 1 && p[k] == ':')) && !strncmp(p, internal_names[i], k))
				fail_msg("alert %s: its detail names \"%s\": %s", al->rule,
					 internal_names[i], al->detail);
		}
		p += n;
	}
	(*rules)++;
	return 0;
}

/* Every alert the rules raised above (each kind of the corridor's), read
 * as the reviewer and the mail read it: Italian, no internal name.  And
 * every operation has its Italian label. */
static void test_details_italian(void **state)
{
	struct fx *f = *state;
	int rules = 0;
	struct vis_error e = {0};
	struct store_filter all[] = {{NULL, NULL, 0}};
	OK(store_rec_list(f->s, STORE_ALERT, all, 0, italian_row, &rules, &e));
	assert_true(rules >= 7);
	const char *kinds[] = {"persons_hour", "refused", "no_results", "sequential_cf",
			       "repeat_no_case", "many_addresses", "break_glass"};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		struct count c = {kinds[i], NULL, 0};
		OK(store_rec_list(f->s, STORE_ALERT, all, 0, count_row, &c, &e));
		if (!c.n)
			fail_msg("no %s alert raised to read", kinds[i]);
	}
	for (size_t i = 0; i < 10; i++) {
		const char *l = audit_operation_label(internal_names[i]);
		assert_string_not_equal(l, "altra operazione");
		assert_string_not_equal(l, internal_names[i]);
	}
}

static void test_forget(void **state)
{
	struct fx *f = *state;
	struct store_account a = account(f);
	struct alert_tracker *t = tracker(3, 3);
	assert_false(person(f, t, &a, T0, 0));
	assert_false(person(f, t, &a, T0 + 1, 1));
	alert_tracker_forget(t, f->s, a.id);
	assert_false(person(f, t, &a, T0 + 2, 2));     /* one person, not three */
	assert_false(person(f, t, &a, T0 + 3, 3));
	assert_true(person(f, t, &a, T0 + 4, 4));
	alert_tracker_free(t);
	/* Thresholds beyond what the counters hold are refused. */
	struct alert_limits l;
	alert_limits_default(&l);
	l.sequential_run = ALERT_SEQUENTIAL_MAX + 1;
	assert_null(alert_tracker_new(&l));
}

/* Two instances (a tracker and a connection each) count one account's
 * requests at once, each its own persons: the count is exact (no request
 * lost when one writes over the other's), the threshold fires once at
 * the exact count, and the next person past the hard one suspends the
 * account on either instance. */
struct racer {
	const char *uri;
	struct alert_tracker *t;
	const struct store_account *a;
	int first, n;
	vis_err rc;
	int suspended;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct store *s;
	struct vis_error e = {0};
	if ((r->rc = testdb_store_open(r->uri, &s, &e)))
		return NULL;
	for (int i = 0; i < r->n; i++) {
		char cf[17];
		code(r->first + i, cf);
		struct alert_obs o = {.account = r->a, .ip = "10.0.0.1", .operation = "consult",
				      .outcome = "ok", .subjects = cf, .case_ref = "RG 1",
				      .query_cf = ""};
		r->suspended += alert_observe(r->t, s, T0 + 1, &o);
	}
	store_close(s);
	return NULL;
}

static void test_instances_race(void **state)
{
	struct fx *f = *state;
	struct store_account a = account(f);
	const int n = use_pg ? 150 : 1500;
	/* on SQLite each process counts alone: one tracker for both threads */
	struct alert_tracker *t1 = tracker(2 * n, 2 * n + 1), *t2 = use_pg ? tracker(2 * n, 2 * n + 1) : t1;
	struct racer r[2] = {{f->db.uri, t1, &a, 0, n, 0, 0}, {f->db.uri, t2, &a, n, n, 0, 0}};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(r[i].rc, VIS_OK);
		assert_int_equal(r[i].suspended, 0);
	}
	assert_int_equal(alerts(f, &a, "persons_hour", "high"), 1);
	assert_int_equal(alerts(f, &a, "persons_hour", "critical"), 0);
	/* the same persons again are not more: then one more is past the hard
	 * threshold, wherever it is asked */
	assert_false(person(f, t2, &a, T0 + 2, 0));
	assert_false(person(f, t1, &a, T0 + 2, n));
	assert_true(person(f, t2, &a, T0 + 3, 2 * n));
	assert_int_equal(alerts(f, &a, "persons_hour", "critical"), 1);
	if (t2 != t1)
		alert_tracker_free(t2);
	alert_tracker_free(t1);
}

/* The length of the account's shared value, and how many persons sit
 * beside it (PostgreSQL). */
static int count_seen(void *ctx, int64_t h, int64_t at)
{
	(void)h;
	(void)at;
	++*(int *)ctx;
	return 0;
}

static size_t shared_len(struct fx *f, const struct store_account *a, int *seen)
{
	struct vis_error e = {0};
	char key[32], *v;
	int64_t version;
	snprintf(key, sizeof key, "alert:%lld", (long long)a->id);
	OK(store_shared_begin(f->s, &e));
	OK(store_state_lock_dup(f->s, key, 1 << 22, &v, &version, &e));
	*seen = 0;
	OK(store_state_seen(f->s, key, count_seen, seen, &e));
	OK(store_shared_commit(f->s, &e));
	size_t n = strlen(v);
	free(v);
	return n;
}

/* What an answer writes of the shared counters does not grow with the
 * persons of the hour (issue 20): the value holds the fixed counters and
 * every person is a row beside it, written when seen.  Another instance
 * reads them back exactly, and the persons past the hour leave them. */
static void test_write_size(void **state)
{
	struct fx *f = *state;
	if (!use_pg)
		skip();   /* the counters of instances sharing a database */
	struct store_account a = account(f);
	struct alert_tracker *t1 = tracker(1000, 1001);
	int seen;
	for (int i = 0; i < 20; i++)
		assert_false(person(f, t1, &a, T0 + i, i));
	size_t few = shared_len(f, &a, &seen);
	assert_int_equal(seen, 20);
	for (int i = 20; i < 420; i++)
		assert_false(person(f, t1, &a, T0 + 20 + (i - 20) / 4, i));
	size_t many = shared_len(f, &a, &seen);
	assert_int_equal(seen, 420);
	fprintf(stderr, "shared value: %zu bytes with 20 persons, %zu with 420\n", few, many);
	assert_true(many < few + 64);   /* before: 16 more bytes a person */
	/* a second instance: 421 persons */
	struct alert_tracker *t2 = tracker(421, 1001);
	assert_false(person(f, t2, &a, T0 + 200, 420));
	assert_int_equal(alerts(f, &a, "persons_hour", "high"), 1);
	/* an hour after the last of them: they leave, one newcomer stays */
	assert_false(person(f, t1, &a, T0 + 3800, 1000));
	shared_len(f, &a, &seen);
	assert_int_equal(seen, 1);
	alert_tracker_free(t2);
	alert_tracker_free(t1);
}

/* Two instances taking turns on one account (PostgreSQL): after the
 * first refused write each goes under the value's lock, and brings its
 * copy up to date from what the writes in between recorded in the value
 * (recent_apply) instead of reading every person back: four statements
 * a request (BEGIN, the lock, the write, COMMIT), and the count exact —
 * several writes in between, a person seen again (their time moved on,
 * so they stay within the hour), a write of more persons than one
 * records (read back).  Each threshold below fires on the instance that
 * had to catch up, at the exact count. */
static void persons_of(int first, int n, char *out, size_t cap)
{
	size_t o = 0;
	for (int i = 0; i < n; i++) {
		char cf[17];
		code((unsigned)(first + i), cf);
		o += (size_t)snprintf(out + o, cap - o, i ? ",%s" : "%s", cf);
	}
}

static uint64_t statements(struct fx *f)
{
	struct store_io io;
	store_io_get(f->s, &io);
	return io.statements;
}

/* A fresh account, two instances of threshold thr, and persons 0 to
 * n - 1 consulted at T0 by each in turn, the first by t[0]. */
static struct store_account turns(struct fx *f, int thr, struct alert_tracker *t[2], int n)
{
	struct store_account a = account(f);
	t[0] = tracker(thr, 1000);
	t[1] = tracker(thr, 1000);
	for (int i = 0; i < n; i++)
		assert_false(person(f, t[i % 2], &a, T0, i));
	return a;
}

/* Person i at now on t is the one the alert fires at. */
static void fires(struct fx *f, struct alert_tracker *t, const struct store_account *a,
		  int64_t now, int i)
{
	assert_int_equal(alerts(f, a, "persons_hour", NULL), 0);
	assert_false(person(f, t, a, now, i));
	assert_int_equal(alerts(f, a, "persons_hour", "high"), 1);
}

static void test_turns(void **state)
{
	struct fx *f = *state;
	if (!use_pg)
		skip();   /* the counters of instances sharing a database */
	/* several writes in between */
	struct alert_tracker *t[2];
	struct store_account a = turns(f, 9, t, 4);
	uint64_t before = statements(f);
	for (int i = 4; i < 7; i++)
		assert_false(person(f, t[1], &a, T0 + 1, i));
	assert_false(person(f, t[0], &a, T0 + 1, 7));       /* 3 writes to catch up */
	uint64_t used = statements(f) - before;
	fprintf(stderr, "four requests taking turns: %llu statements\n", (unsigned long long)used);
	assert_int_equal(used, 4 * 4);
	fires(f, t[0], &a, T0 + 1, 8);                      /* the ninth */
	alert_tracker_free(t[1]);
	alert_tracker_free(t[0]);

	/* a person seen again by the other instance stays within the hour */
	a = turns(f, 6, t, 3);
	assert_false(person(f, t[1], &a, T0 + 3590, 11));  /* refused writes: both under the lock */
	assert_false(person(f, t[0], &a, T0 + 3590, 10));
	assert_false(person(f, t[1], &a, T0 + 3595, 0));   /* seen again */
	/* an hour after T0: 1 and 2 left, 0 stays */
	assert_false(person(f, t[0], &a, T0 + 3600, 12));
	assert_false(person(f, t[0], &a, T0 + 3600, 13));
	fires(f, t[0], &a, T0 + 3600, 14);                  /* 0, 10, 11, 12, 13, 14 */
	alert_tracker_free(t[1]);
	alert_tracker_free(t[0]);

	/* a write of more persons than one records */
	a = turns(f, 10, t, 4);
	char many[200];
	persons_of(4, 5, many, sizeof many);
	assert_false(observe(f, t[1], &a, T0 + 1, "search", "ok", many, "RG 1", "", "10.0.0.1"));
	fires(f, t[0], &a, T0 + 1, 9);                      /* the tenth */
	alert_tracker_free(t[1]);
	alert_tracker_free(t[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_persons_hour),
		cmocka_unit_test(test_window_slides),
		cmocka_unit_test(test_many_persons),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_details_italian),
		cmocka_unit_test(test_forget),
		cmocka_unit_test(test_instances_race),
		cmocka_unit_test(test_write_size),
		cmocka_unit_test(test_turns),
	};
	return TESTDB_RUN("alert", tests, group_setup, group_teardown, &use_pg);
}
