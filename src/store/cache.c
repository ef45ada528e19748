/* The per-process cache of control records (store.h: store_cache_*) and
 * the generation that keeps it true, written once over store/driver.h.
 *
 * A fixed table of slots, one record each, found by hashing the kind, the
 * column and the value looked up; a slot holds the generation it was read
 * under, and serves only readers that read the same generation.  A reader
 * reads the generation before the record, so what a slot holds is at
 * least as new as its generation: a change committed later moves the
 * generation, and the slot stops serving at the next request. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "store/ops.h"
#include "store/sql.h"

#define CACHE_SLOTS 1024
#define CACHE_KEY_MAX 72          /* usernames (64), serials (40), setting keys */

struct slot {
	bool used;
	int kind;
	const char *col;          /* the column's name in store/records.c (by address) */
	bool is_text;
	char text[CACHE_KEY_MAX];
	int64_t num;
	int64_t gen;
	size_t size;              /* of rec: the record's struct, or a setting's text + NUL */
	void *rec;                /* NULL: there is no such record (inserts move the generation) */
};

struct store_cache {
	pthread_mutex_t lock;
	struct store_cache_stats stats;
	struct slot slots[CACHE_SLOTS];
};

struct store_cache *store_cache_new(void)
{
	struct store_cache *c = calloc(1, sizeof *c);
	if (c && pthread_mutex_init(&c->lock, NULL)) {
		free(c);
		return NULL;
	}
	return c;
}

/* Records hold password hashes and sealed secrets: wiped before free. */
static void slot_clear(struct slot *sl)
{
	if (sl->rec) {
		explicit_bzero(sl->rec, sl->size);
		free(sl->rec);
	}
	memset(sl, 0, sizeof *sl);
}

void store_cache_free(struct store_cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < CACHE_SLOTS; i++)
		slot_clear(&c->slots[i]);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void store_cache_stats(const struct store_cache *c, struct store_cache_stats *out)
{
	struct store_cache *m = (struct store_cache *)c;  /* the lock only */
	pthread_mutex_lock(&m->lock);
	*out = c->stats;
	pthread_mutex_unlock(&m->lock);
}

bool store_cache_kind(int k)
{
	return k == STORE_ENTE || k == STORE_ACCOUNT || k == STORE_CONVENZIONE ||
	       k == STORE_PURPOSE || k == STORE_WORKSTATION || k == STORE_CACHE_SETTING;
}

bool store_cache_gen_due(struct store *s)
{
	bool fresh;
	int64_t gen;
	return store_cache_of(s) && !store_gen_get(s, &fresh, &gen) && fresh &&
	       !drv_in_txn(store_drv(s));
}

void store_cache_gen_read(struct store *s, int64_t gen)
{
	struct store_cache *c = store_cache_of(s);
	store_gen_set(s, true, gen);
	pthread_mutex_lock(&c->lock);
	c->stats.gen_reads++;
	pthread_mutex_unlock(&c->lock);
}

bool store_cache_use(struct store *s, int64_t *gen)
{
	struct store_cache *c = store_cache_of(s);
	bool fresh;
	if (!c)
		return false;
	bool known = store_gen_get(s, &fresh, gen);
	if (!fresh || drv_in_txn(store_drv(s)))
		return false;
	if (known)
		return true;
	struct vis_error e = {0};
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_CONTROL_GEN_GET,
					  "generazione di controllo", &e);
	bool found = false;
	if (!st || drv_one(st, &found, &e)) {
		log_warn("generazione di controllo illeggibile", "error=\"%s\"", e.msg);
		return false;
	}
	*gen = found ? drv_col_i64(st, 0) : 0;
	drv_reset(st);
	store_cache_gen_read(s, *gen);
	return true;
}

static struct slot *slot_of(struct store_cache *c, int k, const char *col, const char *text,
			    int64_t num)
{
	uint64_t h = 1469598103934665603ull;
	h = (h ^ (uint64_t)k) * 1099511628211ull;
	h = (h ^ (uint64_t)(uintptr_t)col) * 1099511628211ull;
	if (text)
		for (const unsigned char *p = (const unsigned char *)text; *p; p++)
			h = (h ^ *p) * 1099511628211ull;
	else
		h = (h ^ (uint64_t)num) * 1099511628211ull;
	return &c->slots[h % CACHE_SLOTS];
}

static bool slot_is(const struct slot *sl, int k, const char *col, const char *text, int64_t num)
{
	return sl->used && sl->kind == k && sl->col == col && sl->is_text == (text != NULL) &&
	       (text ? !strcmp(sl->text, text) : sl->num == num);
}

bool store_cache_hold(struct store *s, int k, const char *col, const char *text, int64_t num,
		      int64_t gen, void *out, size_t size, bool *found)
{
	struct store_cache *c = store_cache_of(s);
	struct slot *sl = slot_of(c, k, col, text, num);
	pthread_mutex_lock(&c->lock);
	/* absent (no record), or: a setting's text fits the caller's buffer,
	 * a record is its struct */
	bool hit = slot_is(sl, k, col, text, num) && sl->gen == gen &&
		   (!sl->rec || (k == STORE_CACHE_SETTING ? sl->size <= size : sl->size == size));
	if (hit) {
		*found = sl->rec != NULL;
		if (sl->rec)
			memcpy(out, sl->rec, sl->size);
	}
	if (hit)
		c->stats.hits++;
	else
		c->stats.misses++;
	pthread_mutex_unlock(&c->lock);
	return hit;
}

void store_cache_keep(struct store *s, int k, const char *col, const char *text, int64_t num,
		      int64_t gen, const void *rec, size_t size)
{
	struct store_cache *c = store_cache_of(s);
	if (text && strlen(text) >= CACHE_KEY_MAX)
		return;
	struct slot *sl = slot_of(c, k, col, text, num);
	pthread_mutex_lock(&c->lock);
	/* Never replaced by an older generation's copy. */
	if (!(sl->used && sl->gen > gen)) {
		if (!rec || !sl->rec || sl->size != size) {
			slot_clear(sl);
			sl->rec = rec ? malloc(size) : NULL;
		}
		if (sl->rec || !rec) {
			if (rec)
				memcpy(sl->rec, rec, size);
			sl->used = true;
			sl->kind = k;
			sl->col = col;
			sl->is_text = text != NULL;
			if (text)
				memcpy(sl->text, text, strlen(text) + 1);
			sl->num = text ? 0 : num;
			sl->gen = gen;
			sl->size = rec ? size : 0;
		}
	}
	pthread_mutex_unlock(&c->lock);
}

vis_err store_control_begin(struct store *s, bool *own, struct vis_error *e)
{
	*own = !drv_in_txn(store_drv(s));
	if (*own && store_begin(s, e))
		return ops_err(e);
	return VIS_OK;
}

vis_err store_control_end(struct store *s, bool own, vis_err rc, struct vis_error *e)
{
	if (rc == VIS_OK) {
		struct drv_stmt *st = drv_prepare(store_drv(s), SQL_CONTROL_GEN_BUMP,
						  "generazione di controllo", e);
		rc = st ? drv_done(st, e) : ops_err(e);
	}
	/* This handle's next cached read reads the generation again. */
	store_gen_set(s, false, 0);
	if (!own)
		return rc;
	if (rc == VIS_OK)
		return store_commit(s, e) ? ops_err(e) : VIS_OK;
	store_rollback(s);
	return rc;
}
