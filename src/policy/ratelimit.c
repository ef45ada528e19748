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
	int count;
	bool used;
};

struct ratelimit {
	pthread_mutex_t lock;
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
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->lock);
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

/* The counters in the database: each rule's "window-id count" under the
 * key rl:RULE:WINDOW, taken in one statement (store_counters_take). */
static int take_shared(struct store *s, const struct rl_rule *rules, int n, int64_t now,
		       int64_t *retry_after, struct vis_error *e)
{
	char keys[8][96];
	const char *k[8];
	int64_t wid[8], lim[8];
	bool taken, exhausted[8];
	for (int i = 0; i < n; i++) {
		int w = rules[i].window > 0 ? rules[i].window : 60;
		snprintf(keys[i], sizeof keys[i], "rl:%s:%d", rules[i].key, w);
		k[i] = keys[i];
		wid[i] = now / w;
		lim[i] = rules[i].limit;
	}
	if (store_counters_take(s, k, wid, lim, n, now, &taken, exhausted, e))
		return -1;
	if (taken)
		return 1;
	for (int i = 0; i < n; i++) {
		int w = rules[i].window > 0 ? rules[i].window : 60;
		int64_t wait = window_wait(wid[i], w, now);
		if (exhausted[i] && wait > *retry_after)
			*retry_after = wait;
	}
	return 0;
}

int ratelimit_take(struct ratelimit *rl, struct store *shared, const struct rl_rule *rules,
		   int n, int64_t now, int64_t *retry_after, struct vis_error *e)
{
	*retry_after = 0;
	if (n < 1 || n > 8) { /* never truncated: a rule left out would not count */
		vis_error_set(e, VIS_ERR_INTERNAL, "ratelimit: %d rules (1 to 8)", n);
		return -1;
	}
	return shared ? take_shared(shared, rules, n, now, retry_after, e)
		      : take_local(rl, rules, n, now, retry_after);
}
