#include "alert/alert.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "common/log.h"
#include "common/str.h"
#include "common/text.h"

#define MAX_ACCOUNTS 4096
#define PERSONS_SET 1024
#define REPEAT_SET 64

struct acct {
	int64_t id;
	int64_t hour;                   /* hour window */
	uint64_t persons[PERSONS_SET];  /* hashes of distinct codici fiscali */
	int npersons;
	int searches, no_results, refused;
	unsigned fired;                 /* rules already raised this hour */
	char prefix[12];
	char last_cf[17];
	int prefix_run;
	int64_t day;
	uint64_t repeat_cf[REPEAT_SET];
	int repeat_n[REPEAT_SET];
	char ips[4][64];
	int64_t ip_seen[4];
};

struct alert_tracker {
	pthread_mutex_t lock;
	struct alert_limits lim;
	struct acct *accts;             /* MAX_ACCOUNTS, direct-mapped by id */
};

enum {
	F_PERSONS = 1, F_SEQ = 2, F_NORES = 4, F_REPEAT = 8, F_REFUSED = 16, F_ADDR = 32,
	F_HARD = 64,
};

void alert_limits_default(struct alert_limits *l)
{
	*l = (struct alert_limits){
		.persons_hour = 100, .persons_hour_hard = 300, .sequential_run = 5,
		.no_results_min = 20, .no_results_pct = 80, .repeat_no_case = 5,
		.refused_hour = 5, .addresses = 3,
	};
}

struct alert_tracker *alert_tracker_new(const struct alert_limits *l)
{
	struct alert_tracker *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->accts = calloc(MAX_ACCOUNTS, sizeof *t->accts);
	if (!t->accts) {
		free(t);
		return NULL;
	}
	t->lim = *l;
	pthread_mutex_init(&t->lock, NULL);
	return t;
}

void alert_tracker_free(struct alert_tracker *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->accts);
	free(t);
}

static uint64_t h64(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h | 1; /* never 0: 0 marks an empty slot */
}

static void add_person(struct acct *a, uint64_t h)
{
	for (int i = 0; i < a->npersons; i++)
		if (a->persons[i] == h)
			return;
	if (a->npersons < PERSONS_SET)
		a->persons[a->npersons++] = h;
}

static int repeat_count(struct acct *a, uint64_t h)
{
	int free_slot = -1;
	for (int i = 0; i < REPEAT_SET; i++) {
		if (a->repeat_cf[i] == h)
			return ++a->repeat_n[i];
		if (!a->repeat_cf[i] && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		free_slot = (int)(h % REPEAT_SET);
	a->repeat_cf[free_slot] = h;
	a->repeat_n[free_slot] = 1;
	return 1;
}

static int distinct_addresses(struct acct *a, const char *ip, int64_t now)
{
	int slot = -1, oldest = 0, n = 0;
	for (int i = 0; i < 4; i++) {
		if (!strcmp(a->ips[i], ip))
			slot = i;
		if (a->ip_seen[i] < a->ip_seen[oldest])
			oldest = i;
	}
	if (slot < 0) {
		slot = oldest;
		STR_COPY_KNOWN(a->ips[slot], ip); /* http_request's ip has the same size */
	}
	a->ip_seen[slot] = now;
	for (int i = 0; i < 4; i++)
		n += a->ips[i][0] && now - a->ip_seen[i] < 600;
	return n;
}

/* A rule that fired, to raise once the tracker's lock is released. */
struct fire {
	const char *rule, *severity;
	char detail[200];
};

/* The key of an account's counters among the shared state. */
static void state_key(int64_t account_id, char key[32])
{
	snprintf(key, 32, "alert:%lld", (long long)account_id);
}

void alert_tracker_forget(struct alert_tracker *t, struct store *s, int64_t account_id)
{
	if (s && store_shared(s)) {
		char key[32], v[8];
		struct vis_error e = {0};
		state_key(account_id, key);
		if (store_begin(s, &e) || store_state_lock(s, key, v, sizeof v, &e) == VIS_ERR_STORE ||
		    store_state_put(s, key, "", 0, &e) || store_commit(s, &e)) {
			store_rollback(s);
			log_warn("alert counters not reset", "account=%lld error=\"%s\"",
				 (long long)account_id, e.msg);
		}
		return;
	}
	pthread_mutex_lock(&t->lock);
	struct acct *a = &t->accts[(uint64_t)account_id % MAX_ACCOUNTS];
	if (a->id == account_id)
		memset(a, 0, sizeof *a);
	pthread_mutex_unlock(&t->lock);
}

/* Applies the rules to one request of the account whose counters are a;
 * the rules that fire land in fires (at most 8). */
static void rules_apply(struct acct *a, const struct alert_limits *L, int64_t now,
			const struct alert_obs *o, struct fire *fires, int *nfires, bool *suspend)
{
	int nf = 0;
	if (a->id != o->account->id) {
		memset(a, 0, sizeof *a);
		a->id = o->account->id;
	}
	if (a->hour != now / 3600) {
		a->hour = now / 3600;
		a->npersons = a->searches = a->no_results = a->refused = 0;
		a->fired = 0;
	}
	if (a->day != now / 86400) {
		a->day = now / 86400;
		memset(a->repeat_cf, 0, sizeof a->repeat_cf);
		memset(a->repeat_n, 0, sizeof a->repeat_n);
	}
#define FIRE(flag, r, sev, ...)                                                  \
	do {                                                                     \
		if (!(a->fired & (flag)) && nf < 8) {                            \
			a->fired |= (flag);                                      \
			fires[nf].rule = (r);                                    \
			fires[nf].severity = (sev);                              \
			snprintf(fires[nf].detail, sizeof fires[nf].detail, __VA_ARGS__); \
			nf++;                                                    \
		}                                                                \
	} while (0)
	if (o->break_glass && nf < 8) {
		fires[nf].rule = "break_glass";
		fires[nf].severity = "high";
		snprintf(fires[nf].detail, sizeof fires[nf].detail, "%s: %.150s", o->operation,
			 o->justification ? o->justification : "");
		nf++;
	}
	if (!strncmp(o->outcome, "refused:", 8) && ++a->refused >= L->refused_hour)
		FIRE(F_REFUSED, "refused", "medium", "%d refused attempts within the hour (last: %s)",
		     a->refused, o->outcome + 8);
	if (!strcmp(o->operation, "search")) {
		a->searches++;
		if (!strcmp(o->outcome, "not_found"))
			a->no_results++;
		if (a->searches >= L->no_results_min &&
		    a->no_results * 100 >= a->searches * L->no_results_pct)
			FIRE(F_NORES, "no_results", "medium", "%d of %d searches found nobody",
			     a->no_results, a->searches);
	}
	for (const char *p = o->subjects; p && *p;) {
		size_t n = strcspn(p, ",");
		add_person(a, h64(p, n));
		p += n + (p[n] == ',');
	}
	if (a->npersons >= L->persons_hour_hard) {
		/* Suspend once, at the crossing; an admin's review decides after. */
		*suspend = !(a->fired & F_HARD);
		FIRE(F_HARD, "persons_hour", "critical",
		     "%d distinct persons within the hour: account suspended", a->npersons);
	} else if (a->npersons >= L->persons_hour) {
		FIRE(F_PERSONS, "persons_hour", "high", "%d distinct persons within the hour",
		     a->npersons);
	}
	if (o->query_cf && strlen(o->query_cf) == 16 && strcmp(a->last_cf, o->query_cf)) {
		/* Another person with the same first 11 characters: same name
		 * codes, birth date and sex — one step of an enumeration. */
		STR_COPY_KNOWN(a->last_cf, o->query_cf); /* 16 characters, checked above */
		if (!strncmp(a->prefix, o->query_cf, 11)) {
			if (++a->prefix_run >= L->sequential_run)
				FIRE(F_SEQ, "sequential_cf", "high",
				     "%d consecutive look-ups of codici fiscali starting %.11s",
				     a->prefix_run, o->query_cf);
		} else {
			memcpy(a->prefix, o->query_cf, 11);
			a->prefix[11] = '\0';
			a->prefix_run = 1;
		}
	}
	if ((!o->case_ref || !*o->case_ref) && !strcmp(o->outcome, "ok") && o->subjects &&
	    *o->subjects && strcmp(o->operation, "search")) {
		size_t n = strcspn(o->subjects, ",");
		if (repeat_count(a, h64(o->subjects, n)) >= L->repeat_no_case)
			FIRE(F_REPEAT, "repeat_no_case", "medium",
			     "the same person consulted %d times today without a case reference",
			     L->repeat_no_case);
	}
	if (o->ip && distinct_addresses(a, o->ip, now) >= L->addresses)
		FIRE(F_ADDR, "many_addresses", "high",
		     "the account is used from %d addresses within 10 minutes", L->addresses);
#undef FIRE
	*nfires = nf;
}

/* The shared counters of the account: read, updated, written back in one
 * transaction under the lock of their key. */
static vis_err observe_shared(struct store *s, const struct alert_limits *L, int64_t now,
			      const struct alert_obs *o, struct fire *fires, int *nf,
			      bool *suspend, struct vis_error *e)
{
	char key[32];
	size_t cap = 2 * sizeof(struct acct) + 1;
	struct acct *a = calloc(1, sizeof *a);
	char *hex = malloc(cap);
	vis_err rc = VIS_ERR_NOMEM;
	state_key(o->account->id, key);
	if (!a || !hex || (rc = store_begin(s, e)))
		goto out;
	if ((rc = store_state_lock(s, key, hex, cap, e)))
		goto fail;
	/* Counters written by another build (another layout) start afresh. */
	if (strlen(hex) != cap - 1 ||
	    sodium_hex2bin((unsigned char *)a, sizeof *a, hex, cap - 1, NULL, NULL, NULL))
		memset(a, 0, sizeof *a);
	rules_apply(a, L, now, o, fires, nf, suspend);
	sodium_bin2hex(hex, cap, (const unsigned char *)a, sizeof *a);
	if ((rc = store_state_put(s, key, hex, now, e)) || (rc = store_commit(s, e)))
		goto fail;
	goto out;
fail:
	store_rollback(s);
out:
	free(hex);
	free(a);
	return rc;
}

bool alert_observe(struct alert_tracker *t, struct store *s, int64_t now,
		   const struct alert_obs *o)
{
	struct fire fires[8];
	int nf = 0;
	bool suspend = false;
	if (store_shared(s)) {
		struct vis_error e = {0};
		if (observe_shared(s, &t->lim, now, o, fires, &nf, &suspend, &e))
			log_warn("alert counters unavailable", "account=%lld error=\"%s\"",
				 (long long)o->account->id, e.msg);
	} else {
		pthread_mutex_lock(&t->lock);
		rules_apply(&t->accts[(uint64_t)o->account->id % MAX_ACCOUNTS], &t->lim, now, o,
			    fires, &nf, &suspend);
		pthread_mutex_unlock(&t->lock);
	}
	for (int i = 0; i < nf; i++)
		alert_raise(s, now, fires[i].rule, fires[i].severity, o->account, fires[i].detail, NULL);
	return suspend;
}

struct recipients {
	char addr[16][255];
	int n;
};

static int collect(void *ctx, const void *rec)
{
	struct recipients *r = ctx;
	const struct store_account *a = rec;
	if (a->email[0] && !strcmp(a->state, "active") && r->n < 16)
		STR_COPY_KNOWN(r->addr[r->n++], a->email); /* the same size */
	return 0;
}

vis_err alert_raise(struct store *s, int64_t now, const char *rule, const char *severity,
		    const struct store_account *a, const char *detail, struct vis_error *e)
{
	struct store_alert al = {.at = now, .account_id = a->id, .ente_id = a->ente_id};
	/* rule and severity are constants of the callers */
	STR_COPY_KNOWN(al.rule, rule);
	STR_COPY_KNOWN(al.severity, severity);
	STR_COPY_KNOWN(al.username, a->username);
	/* the detail is a note for the reviewer: cut to fit on purpose */
	str_copy_cut(al.detail, sizeof al.detail, detail);
	utf8_scrub(al.detail); /* it may quote a file name or a request */
	snprintf(al.state, sizeof al.state, "open");
	vis_err rc = store_rec_insert(s, STORE_ALERT, &al, &al.id, e);
	if (rc)
		return rc;
	char subject[200], body[600];
	snprintf(subject, sizeof subject, "visura: allerta %s (%s) per l'utente %s", rule, severity,
		 a->username);
	snprintf(body, sizeof body, "Allerta n. %lld, regola %s, gravita' %s.\nUtente: %s\n%s\n",
		 (long long)al.id, rule, severity, a->username, detail);
	struct recipients r = {.n = 0};
	struct store_filter admins[] = {{"role", "admin", 0}, {NULL, NULL, 0}};
	store_rec_list(s, STORE_ACCOUNT, admins, 0, collect, &r, NULL);
	if (a->ente_id) {
		struct store_filter leads[] = {{"role", "lead", 0}, {"ente_id", NULL, a->ente_id},
					       {NULL, NULL, 0}};
		store_rec_list(s, STORE_ACCOUNT, leads, 0, collect, &r, NULL);
	}
	for (int i = 0; i < r.n; i++)
		auth_mail_queue(s, r.addr[i], subject, body, "alert", now, NULL);
	auth_event(s, now, "alert", a, NULL, NULL, rule);
	return VIS_OK;
}
