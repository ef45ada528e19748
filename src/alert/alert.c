#include "alert/alert.h"

#include <pthread.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/operation.h"
#include "auth/auth.h"
#include "common/log.h"
#include "common/str.h"
#include "common/text.h"

/* Every window slides: a rule counts what happened within the last hour
 * (or day) at the moment of each request, never since a clock boundary,
 * so that a burst across the hour is counted whole. */
#define HOUR 3600
#define DAY 86400
#define MINUTES 61              /* per-minute buckets: the window covers 60 to 61 minutes */
#define TABLE_SIZE 1024         /* buckets of the in-process table of accounts */
#define ALERT_SEQ_RING 128      /* distinct codici fiscali asked for, remembered */
#define ALERT_REPEAT_SET 64     /* persons consulted without a case, remembered */
#define ALERT_RECENT 4          /* the last writes of a shared value, remembered in it */
#define ALERT_RECENT_H 4        /* ... with up to this many persons each */

struct bucket {
	int64_t minute;
	int32_t lookups, no_results, refused;
};

/* A person consulted: the hash of the codice fiscale, when last seen. */
struct seen {
	uint64_t h;
	int64_t at;
};

/* What one write of a shared value changed in its persons (the rows
 * of store_seen_delta), kept in the value for the last ALERT_RECENT
 * writes: an instance whose copy is a few versions behind applies them
 * instead of reading every person back (recent_apply). */
struct recent {
	int64_t version;   /* the version the write made (0: none) */
	int64_t at;        /* when the persons below were seen */
	int64_t drop;      /* the persons seen at or before drop - 1 left (0: none) */
	int32_t n;         /* persons seen (-1: more than fit: read them back) */
	int32_t cleared;   /* every other person left */
	int64_t h[ALERT_RECENT_H];
};

/* One account's counters: a fixed part, then the persons of the last hour
 * (as many as the hard threshold at most).  When several instances share
 * the database the fixed part is written as it is into the shared state,
 * and the persons beside it a row each (store_seen_delta): a request
 * writes the persons it changed, noted here as it counts. */
struct acct {
	uint64_t layout;                       /* ACCT_LAYOUT: this build's shape */
	int64_t id;
	int64_t last_seen;
	struct bucket min[MINUTES];
	int64_t fired_at[8];                   /* per rule: re-armed a window later */
	char seq_cf[ALERT_SEQ_RING][16]; /* the last distinct codici fiscali asked for */
	uint32_t seq_at[ALERT_SEQ_RING];
	uint64_t repeat[ALERT_REPEAT_SET];     /* persons consulted without a case */
	uint32_t repeat_at[ALERT_REPEAT_SET][ALERT_REPEAT_MAX];
	char ips[4][64];
	int64_t ip_seen[4];
	struct recent recent[ALERT_RECENT];
	/* not part of the fixed layout: */
	struct seen *persons;
	int npersons, cap;
	/* An open-addressing index of `persons` by hash (slot = position + 1,
	 * 0 = empty; never more than half full), rebuilt whenever persons
	 * leave the set, and when the persons last left it. */
	uint32_t *index;
	uint32_t index_mask;
	int64_t expired_at;
	/* What the request being counted changed in `persons`: the hashes
	 * of those it added or saw again, the persons seen at or before
	 * drop_upto that left (-1: none), and whether the set was emptied
	 * (all the persons written before leave). */
	int64_t *seen;
	int nseen, seen_cap;
	int64_t drop_upto;
	bool cleared;
};

#define ACCT_FIXED offsetof(struct acct, persons)
#define ACCT_LAYOUT 0x7669737572610005ull  /* "visura", counters version 5 */

/* An account's counters.  When the database is shared they are this
 * instance's copy of the shared value, valid while `known`: the value of
 * `version`, as this instance last wrote or read it; until
 * `contended_until` another instance counts the account too. */
struct slot {
	struct slot *next;
	int64_t version;
	bool known;
	int64_t contended_until;
	struct acct a;
};

/* The accounts whose id falls in one bucket of the table, and the lock
 * of their counters: held while a request of one of them counts (with a
 * shared database, across its statement), so that the threads of the
 * process count an account's requests one at a time. */
struct chain {
	pthread_mutex_t lock;
	struct slot *head;
};

struct alert_tracker {
	struct alert_limits lim;
	struct chain table[TABLE_SIZE];  /* by the account's real id */
};

static void acct_release(struct acct *a)
{
	free(a->persons);
	free(a->index);
	free(a->seen);
}

enum { R_PERSONS, R_SEQ, R_NORES, R_REPEAT, R_REFUSED, R_ADDR, R_HARD };

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
	if (l->sequential_run > ALERT_SEQUENTIAL_MAX || l->repeat_no_case > ALERT_REPEAT_MAX)
		return NULL;
	struct alert_tracker *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->lim = *l;
	for (int i = 0; i < TABLE_SIZE; i++)
		pthread_mutex_init(&t->table[i].lock, NULL);
	return t;
}

void alert_tracker_free(struct alert_tracker *t)
{
	if (!t)
		return;
	for (int i = 0; i < TABLE_SIZE; i++) {
		for (struct slot *s = t->table[i].head, *next; s; s = next) {
			next = s->next;
			acct_release(&s->a);
			free(s);
		}
		pthread_mutex_destroy(&t->table[i].lock);
	}
	free(t);
}

/* The chain of an account's counters: its lock taken. */
static struct chain *chain_lock(struct alert_tracker *t, int64_t id)
{
	struct chain *c = &t->table[(uint64_t)id % TABLE_SIZE];
	pthread_mutex_lock(&c->lock);
	return c;
}

/* The counters of an account, created when missing (NULL: no memory),
 * under the chain's lock.  Accounts idle for a day (every window empty)
 * are dropped on the way. */
static struct slot *tracker_find(struct chain *c, int64_t id, int64_t now, bool create)
{
	struct slot **pp = &c->head;
	while (*pp) {
		struct slot *s = *pp;
		if (s->a.id == id)
			return s;
		if (now - s->a.last_seen > DAY) {
			*pp = s->next;
			acct_release(&s->a);
			free(s);
			continue;
		}
		pp = &s->next;
	}
	if (!create)
		return NULL;
	struct slot *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->a.layout = ACCT_LAYOUT;
	s->a.id = id;
	s->next = c->head;
	c->head = s;
	return s;
}

static uint64_t h64(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h | 1; /* never 0: 0 marks an empty slot */
}

static bool within(uint32_t at, int64_t now, int64_t window)
{
	return at && now - (int64_t)at < window;
}

/* Forgets every count of the account (the room for what changes is
 * kept). */
static void acct_clear(struct acct *a, int64_t id)
{
	int64_t *seen = a->seen;
	int seen_cap = a->seen_cap;
	free(a->persons);
	free(a->index);
	memset(a, 0, sizeof *a);
	a->layout = ACCT_LAYOUT;
	a->id = id;
	a->seen = seen;
	a->seen_cap = seen_cap;
	a->drop_upto = -1;
	a->cleared = true;
}

/* Notes a person the request added or saw again.  False when out of
 * memory. */
static bool seen_note(struct acct *a, uint64_t h)
{
	if (a->nseen == a->seen_cap) {
		int cap = a->seen_cap ? 2 * a->seen_cap : 16;
		int64_t *p = realloc(a->seen, (size_t)cap * sizeof *p);
		if (!p)
			return false;
		a->seen = p;
		a->seen_cap = cap;
	}
	a->seen[a->nseen++] = (int64_t)h;
	return true;
}

/* ---- the distinct persons of the hour ----
 *
 * A set of (hash, last seen) with a hash index: a request looks up each
 * person it names in constant time.  Persons older than the hour leave the
 * set in one pass at most once a minute (persons_expire), and at once
 * before a decision depends on the count (persons_exact): the count a rule
 * reads is always the persons of the hour before the request. */

static uint32_t *index_slot(const struct acct *a, uint64_t h)
{
	uint32_t i = (uint32_t)(h ^ h >> 32) & a->index_mask;
	while (a->index[i] && a->persons[a->index[i] - 1].h != h)
		i = (i + 1) & a->index_mask;
	return &a->index[i];
}

/* Rebuilds the index for room of at least `want` persons.  False when out
 * of memory (the old index is kept). */
static bool index_build(struct acct *a, int want)
{
	uint32_t size = 16;
	while (size < 2 * (uint32_t)want)
		size *= 2;
	uint32_t *ix = calloc(size, sizeof *ix);
	if (!ix)
		return false;
	free(a->index);
	a->index = ix;
	a->index_mask = size - 1;
	for (int i = 0; i < a->npersons; i++)
		*index_slot(a, a->persons[i].h) = (uint32_t)i + 1;
	return true;
}

/* Drops the persons not seen within the hour, and rebuilds the index. */
static void persons_drop_old(struct acct *a, int64_t now)
{
	int before = a->npersons;
	for (int i = 0; i < a->npersons;)
		if (now - a->persons[i].at >= HOUR)
			a->persons[i] = a->persons[--a->npersons];
		else
			i++;
	a->expired_at = now;
	if (a->npersons != before && now - HOUR > a->drop_upto)
		a->drop_upto = now - HOUR;
	if (a->npersons != before || !a->index)
		index_build(a, a->cap);
}

/* At most once a minute: what remains may hold persons seen up to a
 * minute beyond the hour, until persons_exact. */
static void persons_expire(struct acct *a, int64_t now)
{
	if (!a->index || now - a->expired_at >= 60 || now < a->expired_at)
		persons_drop_old(a, now);
}

/* The count of the persons of the hour, exactly. */
static int persons_exact(struct acct *a, int64_t now)
{
	if (a->expired_at != now)
		persons_drop_old(a, now);
	return a->npersons;
}

/* Room in the set for one more person (of hash h, *slot its place in
 * the index, moved when the index grows), up to `limit`.  False when out
 * of memory. */
static bool persons_room(struct acct *a, uint64_t h, int limit, uint32_t **slot)
{
	if (a->npersons < a->cap)
		return true;
	int cap = a->cap ? (a->cap > limit / 2 ? limit : 2 * a->cap) : (limit < 64 ? limit : 64);
	struct seen *p = realloc(a->persons, (size_t)cap * sizeof *p);
	if (!p)
		return false;
	a->persons = p;
	a->cap = cap;
	if ((uint32_t)cap * 2 > a->index_mask + 1) {
		if (!index_build(a, cap))
			return false;
		*slot = index_slot(a, h);
	}
	return true;
}

/* Notes a person consulted.  The set holds `limit` persons at most (the
 * hard threshold): a full set is past it already.  False when out of
 * memory. */
static bool add_person(struct acct *a, uint64_t h, int64_t now, int limit)
{
	if (!a->index && !index_build(a, a->cap))
		return false;
	uint32_t *slot = index_slot(a, h);
	if (*slot) {
		if (!seen_note(a, h))
			return false;
		a->persons[*slot - 1].at = now;
		return true;
	}
	if (a->npersons >= limit) {
		/* Full: only persons of the hour may keep a newcomer out. */
		if (a->expired_at == now || persons_exact(a, now) >= limit)
			return true;
		slot = index_slot(a, h);
	}
	if (!persons_room(a, h, limit, &slot) || !seen_note(a, h))
		return false;
	a->persons[a->npersons++] = (struct seen){h, now};
	*slot = (uint32_t)a->npersons;
	return true;
}

/* The per-minute bucket of now, and the sums over the last hour. */
static struct bucket *minute_bucket(struct acct *a, int64_t now)
{
	struct bucket *b = &a->min[(now / 60) % MINUTES];
	if (b->minute != now / 60)
		*b = (struct bucket){.minute = now / 60};
	return b;
}

static struct bucket hour_sum(const struct acct *a, int64_t now)
{
	struct bucket s = {0};
	for (int i = 0; i < MINUTES; i++)
		if (now / 60 - a->min[i].minute < MINUTES) {
			s.lookups += a->min[i].lookups;
			s.no_results += a->min[i].no_results;
			s.refused += a->min[i].refused;
		}
	return s;
}

/* Notes a codice fiscale asked for; returns how many distinct codici
 * fiscali asked for within the hour share its first 11 characters.  Every
 * recent code counts, not only the previous one: unrelated look-ups
 * interleaved between the steps of an enumeration do not break it. */
static int seq_note(struct acct *a, const char *cf, int64_t now)
{
	int slot = -1, n = 0;
	for (int i = 0; i < ALERT_SEQ_RING; i++)
		if (!memcmp(a->seq_cf[i], cf, 16))
			slot = i;
	if (slot < 0) {
		slot = 0;
		for (int i = 1; i < ALERT_SEQ_RING; i++)
			if (a->seq_at[i] < a->seq_at[slot])
				slot = i;
		memcpy(a->seq_cf[slot], cf, 16);
	}
	a->seq_at[slot] = (uint32_t)now;
	for (int i = 0; i < ALERT_SEQ_RING; i++)
		n += within(a->seq_at[i], now, HOUR) && !memcmp(a->seq_cf[i], cf, 11);
	return n;
}

/* Notes a consultation of a person without a case reference; returns how
 * many there were within the last day (up to ALERT_REPEAT_MAX). */
static int repeat_note(struct acct *a, uint64_t h, int64_t now)
{
	int slot = -1, oldest = 0;
	for (int i = 0; i < ALERT_REPEAT_SET; i++) {
		if (a->repeat[i] == h)
			slot = i;
		/* the slot whose latest consultation is oldest is reused */
		uint32_t li = 0, lo = 0;
		for (int k = 0; k < ALERT_REPEAT_MAX; k++) {
			li = a->repeat_at[i][k] > li ? a->repeat_at[i][k] : li;
			lo = a->repeat_at[oldest][k] > lo ? a->repeat_at[oldest][k] : lo;
		}
		if (li < lo)
			oldest = i;
	}
	if (slot < 0) {
		slot = oldest;
		a->repeat[slot] = h;
		memset(a->repeat_at[slot], 0, sizeof a->repeat_at[slot]);
	}
	uint32_t *at = a->repeat_at[slot];
	int k = 0, n = 0;
	for (int i = 1; i < ALERT_REPEAT_MAX; i++)
		if (at[i] < at[k])
			k = i;
	at[k] = (uint32_t)now;
	for (int i = 0; i < ALERT_REPEAT_MAX; i++)
		n += within(at[i], now, DAY);
	return n;
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
	char detail[sizeof ((struct store_alert *)0)->detail];
};

/* The key of an account's counters among the shared state. */
static void state_key(int64_t account_id, char key[32])
{
	snprintf(key, 32, "alert:%lld", (long long)account_id);
}

void alert_tracker_forget(struct alert_tracker *t, struct store *s, int64_t account_id)
{
	struct chain *c = chain_lock(t, account_id);
	if (s && store_shared(s)) {
		/* The shared value emptied moves its version on: every
		 * instance's copy is stale from then on. */
		char key[32], v[8];
		struct vis_error e = {0};
		state_key(account_id, key);
		if (store_shared_begin(s, &e) ||
		    vis_err_store(store_state_lock(s, key, v, sizeof v, &e)) ||
		    store_state_put(s, key, "", 0, &e) || store_shared_commit(s, &e)) {
			store_shared_rollback(s);
			log_warn("contatori degli allarmi non azzerati",
				 "account=%lld error=\"%s\"",
				 (long long)account_id, e.msg);
		}
	}
	struct slot *sl = tracker_find(c, account_id, 0, false);
	if (sl) {
		acct_clear(&sl->a, account_id);
		sl->known = false;
	}
	pthread_mutex_unlock(&c->lock);
}

/* Applies the rules to one request of the account whose counters are a;
 * the rules that fire land in fires (at most 8). */
static void rules_apply(struct acct *a, const struct alert_limits *L, int64_t now,
			const struct alert_obs *o, struct fire *fires, int *nfires, bool *suspend)
{
	int nf = 0;
	if (a->id != o->account->id)
		acct_clear(a, o->account->id);
	a->nseen = 0;
	a->drop_upto = -1;
	a->last_seen = now;
	/* A rule fires once per window; it fires again once a window has
	 * passed and it still holds. */
#define FIRE(which, win, r, sev, ...)                                             \
	do {                                                                     \
		if ((!a->fired_at[which] || now - a->fired_at[which] >= (win)) && nf < 8) { \
			a->fired_at[which] = now;                                 \
			fires[nf].rule = (r);                                    \
			fires[nf].severity = (sev);                              \
			snprintf(fires[nf].detail, sizeof fires[nf].detail, __VA_ARGS__); \
			nf++;                                                    \
		}                                                                \
	} while (0)
	if (o->break_glass && nf < 8) {
		fires[nf].rule = "break_glass";
		fires[nf].severity = "high";
		/* the operation as the reviewer calls it, never its internal name */
		/* an operation's label + %.150s < 256 */
		STR_FMT_KNOWN(fires[nf].detail, "%s: %.150s", audit_operation_label(o->operation),
			      o->justification ? o->justification : "");
		nf++;
	}
	struct bucket *b = minute_bucket(a, now);
	bool refused = !strncmp(o->outcome, "refused:", 8);
	/* A look-up: a search, or any request for a person by codice fiscale
	 * (consultation, household, history, print, verification). */
	bool lookup = !refused && (!strcmp(o->operation, "search") || (o->query_cf && *o->query_cf));
	b->refused += refused;
	b->lookups += lookup;
	b->no_results += lookup && !strcmp(o->outcome, "not_found");
	struct bucket h = hour_sum(a, now);
	if (refused && h.refused >= L->refused_hour)
		/* the last one as its caller read it (cut to fit on purpose:
		 * a note for the reviewer), never the refusal's code */
		FIRE(R_REFUSED, HOUR, "refused", "medium",
		     "%d tentativi respinti nell'ultima ora (l'ultimo: %.190s)", h.refused,
		     o->message && *o->message ? o->message : "motivo non indicato");
	if (lookup && h.lookups >= L->no_results_min &&
	    (int64_t)h.no_results * 100 >= (int64_t)h.lookups * L->no_results_pct)
		FIRE(R_NORES, HOUR, "no_results", "medium", "%d ricerche su %d senza alcun risultato",
		     h.no_results, h.lookups);
	persons_expire(a, now);
	for (const char *p = o->subjects; p && *p;) {
		size_t n = strcspn(p, ",");
		if (!add_person(a, h64(p, n), now, L->persons_hour_hard))
			log_warn("contatori degli allarmi incompleti",
				 "account=%lld error=\"memoria esaurita\"", (long long)a->id);
		p += n + (p[n] == ',');
	}
	int persons = a->npersons;
	/* The count may hold persons up to a minute beyond the hour: when a
	 * rule could fire on it, count exactly first. */
	bool hard_armed = !a->fired_at[R_HARD] || now - a->fired_at[R_HARD] >= HOUR;
	bool soft_armed = !a->fired_at[R_PERSONS] || now - a->fired_at[R_PERSONS] >= HOUR;
	if ((persons >= L->persons_hour_hard && (hard_armed || soft_armed)) ||
	    (persons >= L->persons_hour && soft_armed))
		persons = persons_exact(a, now);
	if (persons >= L->persons_hour_hard) {
		/* Suspend once, at the crossing; an admin's review decides after. */
		*suspend = !a->fired_at[R_HARD] || now - a->fired_at[R_HARD] >= HOUR;
		FIRE(R_HARD, HOUR, "persons_hour", "critical",
		     "%d persone diverse nell'ultima ora: account sospeso", persons);
	} else if (persons >= L->persons_hour) {
		FIRE(R_PERSONS, HOUR, "persons_hour", "high", "%d persone diverse nell'ultima ora",
		     persons);
	}
	if (o->query_cf && strlen(o->query_cf) == 16) {
		/* Other persons with the same first 11 characters: same name
		 * codes, birth date and sex — the steps of an enumeration. */
		int run = seq_note(a, o->query_cf, now);
		if (run >= L->sequential_run)
			FIRE(R_SEQ, HOUR, "sequential_cf", "high",
			     "%d consultazioni nell'ultima ora di codici fiscali che iniziano per %.11s", run,
			     o->query_cf);
	}
	if ((!o->case_ref || !*o->case_ref) && !strcmp(o->outcome, "ok") && o->subjects &&
	    *o->subjects && strcmp(o->operation, "search")) {
		size_t n = strcspn(o->subjects, ",");
		if (repeat_note(a, h64(o->subjects, n), now) >= L->repeat_no_case)
			FIRE(R_REPEAT, DAY, "repeat_no_case", "medium",
			     "la stessa persona consultata %d volte in un giorno senza riferimento di pratica",
			     L->repeat_no_case);
	}
	if (o->ip && distinct_addresses(a, o->ip, now) >= L->addresses)
		FIRE(R_ADDR, HOUR, "many_addresses", "high",
		     "l'account è usato da %d indirizzi di rete in 10 minuti", L->addresses);
#undef FIRE
	*nfires = nf;
}

/* The shared form of an account's fixed counters, compact (it goes to
 * the database on every request): runs of zero bytes written as a zero
 * and their length (the fixed part is mostly zeros: empty windows and
 * rings), in base64.  The persons go beside it, a row each. */

/* The bytes before runs of zeros are folded: raw (n bytes) into out,
 * which has room for 2n; returns the length written. */
static size_t zeros_fold(const unsigned char *raw, size_t n, unsigned char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		if (raw[i]) {
			out[o++] = raw[i++];
			continue;
		}
		size_t run = 1;
		while (i + run < n && !raw[i + run] && run < 255)
			run++;
		out[o++] = 0;
		out[o++] = (unsigned char)run;
		i += run;
	}
	return o;
}

/* The length folded bytes unfold to (SIZE_MAX when malformed), and with
 * out: the bytes. */
static size_t zeros_unfold(const unsigned char *in, size_t n, unsigned char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (in[i]) {
			if (out)
				out[o] = in[i];
			o++;
			continue;
		}
		if (i + 1 == n || !in[i + 1])
			return SIZE_MAX;
		if (out)
			memset(out + o, 0, in[i + 1]);
		o += in[++i];
	}
	return o;
}

/* False when `text` is not such a form (written by another build: the
 * counters start afresh). */
static bool acct_decode(struct acct *a, const char *text)
{
	size_t len = strlen(text), n = 0;
	unsigned char *folded = malloc(len / 4 * 3 + 3), *raw = NULL;
	bool ok = folded &&
		  !sodium_base642bin(folded, len / 4 * 3 + 3, text, len, NULL, &n, NULL,
				     sodium_base64_VARIANT_ORIGINAL_NO_PADDING) &&
		  zeros_unfold(folded, n, NULL) == ACCT_FIXED && (raw = malloc(ACCT_FIXED));
	if (ok) {
		uint64_t layout;
		zeros_unfold(folded, n, raw);
		memcpy(&layout, raw, sizeof layout);   /* the first member */
		ok = layout == ACCT_LAYOUT;
	}
	if (ok)
		memcpy(a, raw, ACCT_FIXED);
	free(folded);
	free(raw);
	return ok;
}

static char *acct_encode(const struct acct *a)
{
	unsigned char *folded = malloc(2 * ACCT_FIXED);
	char *text = NULL;
	if (folded) {
		size_t n = zeros_fold((const unsigned char *)a, ACCT_FIXED, folded);
		size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
		if ((text = malloc(cap)))
			sodium_bin2base64(text, cap, folded, n, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	}
	free(folded);
	return text;
}

/* The persons of a shared value read back, as many as the hard
 * threshold at most. */
struct persons_load {
	struct acct *a;
	int limit;
};

static int persons_take(void *ctx, int64_t h, int64_t at)
{
	struct persons_load *l = ctx;
	struct acct *a = l->a;
	if (a->npersons >= l->limit)
		return VIS_ERR_LIMIT;
	if (a->npersons == a->cap) {
		int cap = a->cap ? (a->cap > l->limit / 2 ? l->limit : 2 * a->cap)
				 : (l->limit < 64 ? l->limit : 64);
		struct seen *p = realloc(a->persons, (size_t)cap * sizeof *p);
		if (!p)
			return VIS_ERR_NOMEM;
		a->persons = p;
		a->cap = cap;
	}
	a->persons[a->npersons++] = (struct seen){(uint64_t)h, at};
	return VIS_OK;
}

/* a: the counters of a shared value (text) and its persons, read under
 * its lock; none when there is no text or it is not such a value, or
 * they are more than the hard threshold (written by another build or
 * with other limits: the counters start afresh, and the persons written
 * before leave with the next write). */
static vis_err acct_load(struct store *s, const char *key, struct acct *a, const char *text,
			 int limit, int64_t id, struct vis_error *e)
{
	acct_clear(a, id);
	if (!text || !acct_decode(a, text)) {
		acct_clear(a, id);
		return VIS_OK;
	}
	struct persons_load l = {a, limit};
	int rc = store_state_seen(s, key, persons_take, &l, e);
	if (rc == VIS_ERR_LIMIT) {
		acct_clear(a, id);
		return VIS_OK;
	}
	if (rc) {
		if (rc == VIS_ERR_NOMEM)
			vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
		return rc;
	}
	a->cleared = false;   /* the copy is the value: index built on first use */
	return VIS_OK;
}

/* Brings a copy of a value at version `from` to the value `fresh` read
 * at version `to`, by the changes to the persons the writes in between
 * recorded in it, as store_state_swap made them to the rows: the
 * persons seen at or before a write's drop left unless it saw them, or
 * all but those it saw when it emptied the set; those it saw were
 * added, or their time moved to its.  False when a write in between is
 * not recorded (more than ALERT_RECENT since, or more persons than one
 * records) or the set would pass `limit`: the rows are then read back.
 * The copy's persons may then be part-changed; its fixed part is not. */
static bool recent_apply(struct acct *a, const struct acct *fresh, int64_t from, int64_t to,
			 int limit)
{
	if (to < from || to - from > ALERT_RECENT)
		return false;
	for (int64_t v = from + 1; v <= to; v++)
		if (fresh->recent[v % ALERT_RECENT].version != v ||
		    fresh->recent[v % ALERT_RECENT].n < 0)
			return false;
	if (!a->index && !index_build(a, a->cap))
		return false;
	for (int64_t v = from + 1; v <= to; v++) {
		const struct recent *r = &fresh->recent[v % ALERT_RECENT];
		if (r->cleared || r->drop) {
			int before = a->npersons;
			for (int i = 0; i < a->npersons;) {
				bool kept = false;
				for (int k = 0; k < r->n; k++)
					kept |= a->persons[i].h == (uint64_t)r->h[k];
				if (!kept && (r->cleared || a->persons[i].at <= r->drop - 1))
					a->persons[i] = a->persons[--a->npersons];
				else
					i++;
			}
			if (a->npersons != before && !index_build(a, a->cap))
				return false;
		}
		for (int k = 0; k < r->n; k++) {
			uint64_t h = (uint64_t)r->h[k];
			uint32_t *slot = index_slot(a, h);
			if (*slot) {
				a->persons[*slot - 1].at = r->at;
				continue;
			}
			if (a->npersons >= limit || !persons_room(a, h, limit, &slot))
				return false;
			a->persons[a->npersons++] = (struct seen){h, r->at};
			*slot = (uint32_t)a->npersons;
		}
	}
	return true;
}

/* a: the counters of the shared value (text, at `version`) read under
 * its lock.  When the copy in a was the value at version `had` (-1:
 * not known) and the writes since recorded what they changed, the copy
 * is brought to it without reading the persons back; otherwise as
 * acct_load. */
static vis_err acct_refresh(struct store *s, const char *key, struct acct *a, const char *text,
			    int64_t had, int64_t version, int limit, int64_t id,
			    struct vis_error *e)
{
	struct acct *fresh = had >= 0 && text ? calloc(1, sizeof *fresh) : NULL;
	bool done = fresh && acct_decode(fresh, text) && fresh->id == id &&
		    recent_apply(a, fresh, had, version, limit);
	if (done) {
		memcpy(a, fresh, ACCT_FIXED);
		a->cleared = false;
	}
	free(fresh);
	return done ? VIS_OK : acct_load(s, key, a, text, limit, id, e);
}

/* Notes in the copy what the write it is about to make (version
 * `version`) changes in the persons: the record recent_apply reads. */
static void recent_note(struct acct *a, int64_t version, int64_t now)
{
	struct recent *r = &a->recent[version % ALERT_RECENT];
	memset(r, 0, sizeof *r);
	r->version = version;
	r->at = now;
	r->cleared = a->cleared;
	r->drop = !a->cleared && a->drop_upto >= 0 ? a->drop_upto + 1 : 0;
	r->n = a->nseen <= ALERT_RECENT_H ? a->nseen : -1;
	for (int k = 0; k < r->n; k++)
		r->h[k] = a->seen[k];
}

/* The shared counters of the account, sl this instance's copy (its chain
 * locked).  While the copy is known, the request counts on it and the
 * result is written only if the value is still the copy's version (one
 * statement, no lock held in between): the fixed part, and of the
 * persons only what the request changed.  When another instance wrote
 * since, or on the first request of the account here, or within a
 * minute of a refused swap, the request reads the value and its persons
 * and writes under the value's lock, which always ends. */
static vis_err observe_shared(struct store *s, const struct alert_limits *L, int64_t now,
			      const struct alert_obs *o, struct slot *sl, struct fire *fires,
			      int *nf, bool *suspend, struct vis_error *e)
{
	char key[32];
	/* the longest form: nothing folded, in base64 */
	size_t most = 4 * (2 * ACCT_FIXED / 3 + 1);
	struct acct *a = &sl->a;
	char *text = NULL, *now_text = NULL;
	vis_err rc = VIS_OK;
	bool done = false;
	state_key(o->account->id, key);
	for (int attempt = 0; !done && attempt < 3; attempt++) {
		bool locked = !sl->known || attempt > 0 || now < sl->contended_until;
		/* the copy is the value at its version until a request counts on it */
		int64_t had = sl->known && attempt == 0 ? sl->version : -1;
		*nf = 0;
		*suspend = false;
		if (locked) {
			if ((rc = store_shared_begin(s, e)))
				break;
			rc = store_state_lock_dup(s, key, most, &now_text, &sl->version, e);
			if (rc && rc != VIS_ERR_LIMIT)
				break;
			rc = acct_refresh(s, key, a, rc ? NULL : now_text, had, sl->version,
					  L->persons_hour_hard, o->account->id, e);
			free(now_text);
			now_text = NULL;
			if (rc)
				break;
		}
		rules_apply(a, L, now, o, fires, nf, suspend);
		recent_note(a, sl->version + 1, now);
		free(text);
		if (!(text = acct_encode(a))) {
			rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
			break;
		}
		struct store_seen_delta d = {a->cleared ? INT64_MAX : a->drop_upto, a->seen,
					     a->nseen};
		rc = store_state_swap(s, key, text, now, sl->version, &d, most, &done, &now_text,
				      &sl->version, e);
		if (rc && rc != VIS_ERR_LIMIT)
			break;
		if (locked && !done) {
			rc = vis_error_set(e, VIS_ERR_STORE, "stato condiviso %s: cambiato mentre "
							     "era bloccato",
					   key);
			break;
		}
		if (locked && (rc = store_shared_commit(s, e)))
			break;
		if (done) {
			a->cleared = false;
			sl->known = true;
		} else if (!rc && !now_text) {
			sl->known = false;   /* no value any more (PostgreSQL restarted) */
		} else {
			/* Another instance counts this account too: its copy here
			 * would mostly be stale, and each refused swap an encoding
			 * wasted, so for a minute it goes under the lock. */
			sl->contended_until = now + 60;
		}
		free(now_text);
		now_text = NULL;
		rc = VIS_OK;
	}
	if (!done) {
		/* What the copy holds is not the value: it is read again.  The
		 * rules that fired on this request's count still raise. */
		store_shared_rollback(s);
		acct_clear(a, o->account->id);
		sl->known = false;
		if (!rc)
			rc = vis_error_set(e, VIS_ERR_STORE, "stato condiviso %s: non "
							     "scritto", key);
	}
	free(text);
	free(now_text);
	return rc;
}

bool alert_observe(struct alert_tracker *t, struct store *s, int64_t now,
		   const struct alert_obs *o)
{
	struct fire fires[8];
	int nf = 0;
	bool suspend = false;
	struct vis_error e = {0};
	struct chain *c = chain_lock(t, o->account->id);
	struct slot *sl = tracker_find(c, o->account->id, now, true);
	if (sl && store_shared(s)) {
		if (observe_shared(s, &t->lim, now, o, sl, fires, &nf, &suspend, &e))
			log_warn("contatori degli allarmi non disponibili",
				 "account=%lld error=\"%s\"",
				 (long long)o->account->id, e.msg);
	} else if (sl) {
		rules_apply(&sl->a, &t->lim, now, o, fires, &nf, &suspend);
	}
	pthread_mutex_unlock(&c->lock);
	if (!sl)
		log_warn("contatori degli allarmi non disponibili",
			 "account=%lld error=\"memoria esaurita\"",
			 (long long)o->account->id);
	for (int i = 0; i < nf; i++) {
		struct vis_error re = {0};
		if (alert_raise(s, now, fires[i].rule, fires[i].severity, o->account,
				fires[i].detail, &re))
			log_error("segnalazione non registrata", "rule=%s account=%lld error=\"%s\"",
				  fires[i].rule, (long long)o->account->id, re.msg);
	}
	return suspend;
}

/* The rules and severities as the people who read the mail call them
 * (the same words as the interface's, web/src/app/i18n.js). */
const char *alert_rule_label(const char *rule)
{
	static const char *const map[][2] = {
		{"persons_hour", "molte persone in un'ora"}, {"persons_hard", "soglia di blocco superata"},
		{"sequential_cf", "codici fiscali in sequenza"}, {"no_results", "molte ricerche senza esito"},
		{"repeat_no_case", "stessa persona senza pratica"}, {"refused", "tentativi respinti"},
		{"many_addresses", "più indirizzi di rete"}, {"break_glass", "accesso in emergenza"},
		{"incident", "incidente di sicurezza"}, {"feed_overdue", "flusso giornaliero in ritardo"},
		{"feed_rejected", "flusso giornaliero respinto"},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(map[i][0], rule))
			return map[i][1];
	return rule;
}

const char *alert_severity_label(const char *severity)
{
	static const char *const map[][2] = {
		{"low", "bassa"}, {"medium", "media"}, {"high", "alta"}, {"critical", "critica"},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(map[i][0], severity))
			return map[i][1];
	return severity;
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
	vis_err rc = store_alert_insert(s, &al, &al.id, e);
	if (rc)
		return rc;
	char subject[200], body[600];
	/* the labels (≤ 30 bytes), username[65] */
	STR_FMT_KNOWN(subject, "visura: segnalazione \"%s\" (gravità %s), utente %s",
		      alert_rule_label(rule), alert_severity_label(severity), a->username);
	STR_FMT_KNOWN(body, "Segnalazione n. %lld: %s.\nGravità: %s.\nUtente: %s.\n%s\n",
		      (long long)al.id, alert_rule_label(rule), alert_severity_label(severity),
		      a->username,
		      al.detail); /* labels, username[65], the detail as kept (≤ 255 bytes) */
	/* every active admin, and the body's leads: however many */
	struct store_filter admins[] = {{"role", "admin", 0}, {NULL, NULL, 0}};
	auth_mail_accounts(s, admins, subject, body, "alert", now, "segnalazione", NULL);
	if (a->ente_id) {
		struct store_filter leads[] = {{"role", "lead", 0}, {"ente_id", NULL, a->ente_id},
					       {NULL, NULL, 0}};
		auth_mail_accounts(s, leads, subject, body, "alert", now, "segnalazione", NULL);
	}
	/* the security event as the office reads it: the alert's number and
	 * its rule in Italian (the rule's own name is the alert's field) */
	char note[160];
	STR_FMT_KNOWN(note, "segnalazione n. %lld: %s", (long long)al.id,
		      alert_rule_label(rule)); /* a number and a rule's label (≤ 30 bytes) */
	auth_event(s, now, "alert", a, NULL, NULL, note);
	return VIS_OK;
}
