#include "policy/ratelimit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "common/str.h"

struct slot {
	char key[64];
	int window;
	int64_t window_id;
	int count;          /* this process's counters: requests of the window */
	int64_t credit;     /* shared: units leased in window_id, not yet spent */
	int64_t limit;      /* shared: the limit they were leased under */
	bool exhausted;     /* shared: the database found the limit reached */
	bool used;
};

struct ratelimit {
	pthread_mutex_t lock;
	pthread_mutex_t refill;   /* shared: one lease request at a time */
	struct slot *slots;       /* open addressing, RATELIMIT_MAX_KEYS * 2 */
	size_t cap;
	size_t used;
};

struct ratelimit *ratelimit_new(void)
{
	struct ratelimit *rl = calloc(1, sizeof *rl);
	if (!rl)
		return NULL;
	rl->cap = (size_t)RATELIMIT_MAX_KEYS * 2;
	rl->slots = calloc(rl->cap, sizeof *rl->slots);
	if (!rl->slots) {
		free(rl);
		return NULL;
	}
	pthread_mutex_init(&rl->lock, NULL);
	pthread_mutex_init(&rl->refill, NULL);
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->lock);
	pthread_mutex_destroy(&rl->refill);
	free(rl->slots);
	free(rl);
}

static uint64_t hash(const char *key, int window)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)window;
	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ull;
	return h;
}

/* Drops windows that have ended (rebuilds the table). */
static void sweep(struct ratelimit *rl, int64_t now)
{
	struct slot *old = rl->slots;
	struct slot *fresh = calloc(rl->cap, sizeof *fresh);
	if (!fresh)
		return;
	rl->slots = fresh;
	rl->used = 0;
	for (size_t i = 0; i < rl->cap; i++) {
		struct slot *s = &old[i];
		if (!s->used || s->window_id != now / s->window)
			continue;
		size_t j = hash(s->key, s->window) % rl->cap;
		while (fresh[j].used)
			j = (j + 1) % rl->cap;
		fresh[j] = *s;
		rl->used++;
	}
	free(old);
}

static struct slot *find(struct ratelimit *rl, const char *key, int window, int64_t now)
{
	size_t j = hash(key, window) % rl->cap;
	for (size_t probes = 0; probes < rl->cap; probes++, j = (j + 1) % rl->cap) {
		struct slot *s = &rl->slots[j];
		if (!s->used) {
			if (rl->used >= RATELIMIT_MAX_KEYS)
				return NULL;
			memset(s, 0, sizeof *s);
			/* keys are a prefix and numeric ids ("body:3:7"), < 64 */
			STR_COPY_KNOWN(s->key, key);
			s->window = window;
			s->window_id = now / window;
			s->used = true;
			rl->used++;
			return s;
		}
		if (s->window == window && !strcmp(s->key, key))
			return s;
	}
	return NULL;
}

static int64_t window_wait(int64_t window_id, int window, int64_t now)
{
	return (window_id + 1) * window - now;
}

static int take_local(struct ratelimit *rl, const struct rl_rule *rules, int n, int64_t now,
		      int64_t *retry_after)
{
	struct slot *hit[8];
	bool ok = true;
	pthread_mutex_lock(&rl->lock);
	/* Make room before taking pointers into the table. */
	if (rl->used + (size_t)n > RATELIMIT_MAX_KEYS)
		sweep(rl, now);
	for (int i = 0; i < n; i++) {
		int w = rules[i].window > 0 ? rules[i].window : 60;
		hit[i] = find(rl, rules[i].key, w, now);
		if (!hit[i]) { /* table full of live keys: refuse rather than not count */
			ok = false;
			*retry_after = 60;
			continue;
		}
		if (hit[i]->window_id != now / w) {
			hit[i]->window_id = now / w;
			hit[i]->count = 0;
		}
		if (hit[i]->count >= rules[i].limit) {
			ok = false;
			int64_t wait = window_wait(hit[i]->window_id, w, now);
			if (wait > *retry_after)
				*retry_after = wait;
		}
	}
	if (ok)
		for (int i = 0; i < n; i++)
			hit[i]->count++;
	pthread_mutex_unlock(&rl->lock);
	return ok;
}

static int window_of(const struct rl_rule *r)
{
	return r->window > 0 ? r->window : 60;
}

/* The counters in the database: each rule's "window-id count" under the
 * key rl:RULE:WINDOW, taken in one statement (store_counters_take), up
 * to `most` units of each (a lease; granted[i] when taken), for the
 * rules rules[i] for which pick[i] (every one when pick is NULL). */
static int take_db(struct store *s, const struct rl_rule *rules, int n, const bool *pick,
		   const int64_t *wid, int64_t most, int64_t now, bool *exhausted,
		   int64_t *granted, struct vis_error *e)
{
	char keys[8][96];
	const char *k[8] = {0};
	int64_t w[8] = {0}, lim[8] = {0}, got[8] = {0};
	bool ex[8] = {0}, taken;
	int m = 0, at[8];
	for (int i = 0; i < n; i++) {
		exhausted[i] = false;
		if (pick && !pick[i])
			continue;
		/* key[64] and a number */
		STR_FMT_KNOWN(keys[m], "rl:%s:%d", rules[i].key, window_of(&rules[i]));
		k[m] = keys[m];
		w[m] = wid[i];
		lim[m] = rules[i].limit;
		at[m++] = i;
	}
	if (store_counters_take(s, k, w, lim, m, RATELIMIT_LEASE_SHARE, most, now, &taken, ex,
				got, e))
		return -1;
	for (int j = 0; j < m; j++) {
		exhausted[at[j]] = ex[j];
		granted[at[j]] = taken ? got[j] : 0;
	}
	return taken;
}

/* The latest end among the windows of the rules flagged. */
static void refusal_wait(const struct rl_rule *rules, int n, const bool *flag,
			 const int64_t *wid, int64_t now, int64_t *retry_after)
{
	for (int i = 0; i < n; i++) {
		int64_t wait = window_wait(wid[i], window_of(&rules[i]), now);
		if (flag[i] && wait > *retry_after)
			*retry_after = wait;
	}
}

/* Under rl->lock: rule r's slot in its current window (the later of
 * now's and the slot's: a thread that read the clock before another
 * never moves a window back), its credit dropped when the window or
 * the limit changed (units lost count as spent: the safe side).  NULL
 * when the table is full of live keys. */
static struct slot *lease_slot(struct ratelimit *rl, const struct rl_rule *r, int64_t now)
{
	int w = window_of(r);
	struct slot *s = find(rl, r->key, w, now);
	if (!s)
		return NULL;
	if (s->window_id < now / w) {
		s->window_id = now / w;
		s->credit = 0;
		s->exhausted = false;
	}
	if (s->limit != r->limit) {
		s->limit = r->limit;
		s->credit = 0;
		s->exhausted = false;
	}
	return s;
}

enum { SPENT = 1, REFUSED = 0, NEED = 2, FULL = 3 };

/* Under rl->lock, the local credit of a request: REFUSED when a rule is
 * known exhausted in its window (nothing spent); SPENT when every rule
 * had a unit (one spent of each); otherwise NEED, need[i] the rules
 * without credit, and with `reserve` a unit of every other rule taken
 * aside (reserved[i]) until the database answers.  FULL: the table has
 * no room for a rule. */
static int plan(struct ratelimit *rl, const struct rl_rule *rules, int n, int64_t now,
		bool reserve, int64_t *wid, bool *need, bool *reserved, int64_t *retry_after)
{
	struct slot *hit[8];
	bool ex[8], refused = false, short_of = false;
	if (rl->used + (size_t)n > RATELIMIT_MAX_KEYS)
		sweep(rl, now);
	for (int i = 0; i < n; i++) {
		if (!(hit[i] = lease_slot(rl, &rules[i], now)))
			return FULL;
		wid[i] = hit[i]->window_id;
		ex[i] = hit[i]->exhausted;
		refused |= ex[i];
		need[i] = hit[i]->credit < 1;
		short_of |= need[i];
		reserved[i] = false;
	}
	if (refused) {
		refusal_wait(rules, n, ex, wid, now, retry_after);
		return REFUSED;
	}
	if (short_of && !reserve)
		return NEED;
	for (int i = 0; i < n; i++)
		if (!need[i]) {
			hit[i]->credit--;
			reserved[i] = true;
		}
	return short_of ? NEED : SPENT;
}

/* Under rl->lock, what the database answered for the rules leased in
 * window wid[i]: the units granted beyond this request's (taken), or the
 * rules found exhausted, and the reserved units given back (refused or
 * failed).  Credit of a window or a limit that has changed meanwhile is
 * dropped. */
static void settle(struct ratelimit *rl, const struct rl_rule *rules, int n, int64_t now,
		   const int64_t *wid, const bool *need, const bool *reserved, int took,
		   const bool *exhausted, const int64_t *granted)
{
	for (int i = 0; i < n; i++) {
		struct slot *s = lease_slot(rl, &rules[i], now);
		if (!s || s->window_id != wid[i])
			continue;
		if (took > 0 && need[i])
			s->credit += granted[i] - 1;
		else if (took == 0 && exhausted[i])
			s->exhausted = true;
		else if (took <= 0 && reserved[i])
			s->credit++;
	}
}

/* No room in the table to remember credit: one unit of each rule, as
 * before leases. */
static int take_units(struct store *s, const struct rl_rule *rules, int n, int64_t now,
		      int64_t *retry_after, struct vis_error *e)
{
	int64_t wid[8] = {0}, granted[8] = {0};
	bool exhausted[8] = {0};
	for (int i = 0; i < n; i++)
		wid[i] = now / window_of(&rules[i]);
	int took = take_db(s, rules, n, NULL, wid, 1, now, exhausted, granted, e);
	if (took == 0)
		refusal_wait(rules, n, exhausted, wid, now, retry_after);
	return took;
}

/* The counters of instances sharing the database, spent from leases
 * (ratelimit.h): locally while every rule has credit, otherwise one
 * statement for the rules without, one such request at a time in this
 * process (the others' credit goes on being spent meanwhile). */
static int take_shared(struct ratelimit *rl, struct store *s, const struct rl_rule *rules,
		       int n, int64_t now, int64_t *retry_after, struct vis_error *e)
{
	int64_t wid[8] = {0}, granted[8] = {0};
	bool need[8] = {0}, reserved[8] = {0}, exhausted[8] = {0};
	pthread_mutex_lock(&rl->lock);
	int r = plan(rl, rules, n, now, false, wid, need, reserved, retry_after);
	pthread_mutex_unlock(&rl->lock);
	if (r == SPENT || r == REFUSED)
		return r;
	if (r == FULL)
		return take_units(s, rules, n, now, retry_after, e);
	pthread_mutex_lock(&rl->refill);
	pthread_mutex_lock(&rl->lock);
	/* another thread's lease may have come meanwhile */
	r = plan(rl, rules, n, now, true, wid, need, reserved, retry_after);
	pthread_mutex_unlock(&rl->lock);
	if (r != NEED) {
		pthread_mutex_unlock(&rl->refill);
		return r == FULL ? take_units(s, rules, n, now, retry_after, e) : r;
	}
	int took = take_db(s, rules, n, need, wid, RATELIMIT_LEASE_MAX, now, exhausted, granted,
			   e);
	pthread_mutex_lock(&rl->lock);
	settle(rl, rules, n, now, wid, need, reserved, took, exhausted, granted);
	pthread_mutex_unlock(&rl->lock);
	pthread_mutex_unlock(&rl->refill);
	if (took == 0)
		refusal_wait(rules, n, exhausted, wid, now, retry_after);
	return took;
}

int ratelimit_take(struct ratelimit *rl, struct store *shared, const struct rl_rule *rules,
		   int n, int64_t now, int64_t *retry_after, struct vis_error *e)
{
	*retry_after = 0;
	if (n < 1 || n > 8) { /* never truncated: a rule left out would not count */
		vis_error_set(e, VIS_ERR_INTERNAL, "ratelimit: %d regole (da 1 a 8)", n);
		return -1;
	}
	return shared ? take_shared(rl, shared, rules, n, now, retry_after, e)
		      : take_local(rl, rules, n, now, retry_after);
}
