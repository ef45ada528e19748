#include "audit/audit.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* Field separator of the canonical encoding: never present in a field
 * (the fields are validated text without control characters). */
#define SEP "\x1f"

void audit_hash(const struct store_access *a, const char *prev_hash, char out[65])
{
	crypto_hash_sha256_state st;
	char num[160];
	unsigned char d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_init(&st);
	snprintf(num, sizeof num, "visura-access-v1" SEP "%lld" SEP "%lld" SEP "%lld" SEP "%lld"
		 SEP "%lld" SEP "%lld" SEP "%d" SEP, (long long)a->id, (long long)a->at,
		 (long long)a->account_id, (long long)a->ente_id, (long long)a->convenzione_id,
		 (long long)a->purpose_id, a->status);
	crypto_hash_sha256_update(&st, (const unsigned char *)prev_hash, strlen(prev_hash));
	crypto_hash_sha256_update(&st, (const unsigned char *)SEP, 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)num, strlen(num));
	const char *text[] = {a->username, a->case_ref, a->on_behalf_of, a->ip, a->operation,
			      a->query, a->subjects, a->categories, a->outcome, a->flags};
	for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
		crypto_hash_sha256_update(&st, (const unsigned char *)text[i], strlen(text[i]));
		crypto_hash_sha256_update(&st, (const unsigned char *)SEP, 1);
	}
	crypto_hash_sha256_final(&st, d);
	sodium_bin2hex(out, 65, d, sizeof d);
}

vis_err audit_append(struct store *s, struct store_access *rec, struct vis_error *e)
{
	int64_t last_id;
	if (store_begin(s, e))
		return VIS_ERR_STORE;
	if (store_access_last(s, &last_id, rec->prev_hash, e))
		goto fail;
	rec->id = last_id + 1;
	audit_hash(rec, rec->prev_hash, rec->hash);
	if (store_access_insert(s, rec, e) || store_commit(s, e))
		goto fail;
	return VIS_OK;
fail:
	store_rollback(s);
	return e && e->code ? e->code : VIS_ERR_STORE;
}

struct walk {
	struct audit_verify_result *res;
	char prev[65];
	int64_t expect_id;
};

static int check(void *ctx, const struct store_access *a)
{
	struct walk *w = ctx;
	char h[65];
	w->res->checked++;
	if (a->id != w->expect_id) {
		snprintf(w->res->why, sizeof w->res->why,
			 "record %lld follows record %lld: records are missing or reordered",
			 (long long)a->id, (long long)w->expect_id - 1);
	} else if (strcmp(a->prev_hash, w->prev)) {
		snprintf(w->res->why, sizeof w->res->why,
			 "record %lld does not point at its predecessor's hash", (long long)a->id);
	} else {
		audit_hash(a, a->prev_hash, h);
		if (strcmp(h, a->hash))
			snprintf(w->res->why, sizeof w->res->why,
				 "record %lld was altered: its content does not match its hash",
				 (long long)a->id);
	}
	if (w->res->why[0]) {
		w->res->first_bad_id = a->id;
		return 1;
	}
	memcpy(w->prev, a->hash, sizeof w->prev);
	w->expect_id = a->id + 1;
	return 0;
}

vis_err audit_verify(struct store *s, struct audit_verify_result *res, struct vis_error *e)
{
	memset(res, 0, sizeof *res);
	struct walk w = {.res = res, .expect_id = 1};
	return store_access_each(s, 1, check, &w, e);
}

/* ---- group commit ---- */

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define AUDIT_MAX_BATCH 1024

struct pending {
	struct store_access *rec;
	vis_err rc;
	bool done;
	audit_done_fn callback;   /* async: called, then the node is freed */
	void *ctx;
	struct pending *next;
};

struct audit_writer {
	struct store *s;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t work;      /* the writer waits for records */
	pthread_cond_t done;      /* submitters wait for their batch */
	struct pending *head, *tail;
	bool stop;
	struct audit_writer_stats stats;
};

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Commits one batch: ids and hashes follow the chain in queue order. */
static vis_err commit_batch(struct audit_writer *w, struct pending **batch, int n)
{
	struct vis_error e = {0};
	int64_t last_id;
	char prev[65];
	if (store_begin(w->s, &e))
		return VIS_ERR_STORE;
	if (store_access_last(w->s, &last_id, prev, &e))
		goto fail;
	for (int i = 0; i < n; i++) {
		struct store_access *r = batch[i]->rec;
		r->id = ++last_id;
		memcpy(r->prev_hash, prev, sizeof prev);
		audit_hash(r, prev, r->hash);
		memcpy(prev, r->hash, sizeof prev);
		if (store_access_insert(w->s, r, &e))
			goto fail;
	}
	if (store_commit(w->s, &e))
		goto fail;
	return VIS_OK;
fail:
	store_rollback(w->s);
	return VIS_ERR_STORE;
}

static void *writer_main(void *arg)
{
	struct audit_writer *w = arg;
	struct pending *batch[AUDIT_MAX_BATCH];
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->head && !w->stop)
			pthread_cond_wait(&w->work, &w->lock);
		if (!w->head && w->stop)
			break;
		int n = 0;
		while (w->head && n < AUDIT_MAX_BATCH) {
			batch[n++] = w->head;
			w->head = w->head->next;
		}
		if (!w->head)
			w->tail = NULL;
		pthread_mutex_unlock(&w->lock);
		int64_t t0 = mono_us();
		vis_err rc = commit_batch(w, batch, n);
		int64_t dt = mono_us() - t0;
		/* Asynchronous submitters are told outside the lock. */
		for (int i = 0; i < n; i++) {
			if (batch[i]->callback) {
				batch[i]->callback(batch[i]->ctx, rc);
				free(batch[i]);
				batch[i] = NULL;
			}
		}
		pthread_mutex_lock(&w->lock);
		for (int i = 0; i < n; i++) {
			if (!batch[i])
				continue;
			batch[i]->rc = rc;
			batch[i]->done = true;
		}
		w->stats.records += n;
		w->stats.batches++;
		w->stats.commit_us_total += dt;
		if (n > w->stats.max_batch)
			w->stats.max_batch = n;
		pthread_cond_broadcast(&w->done);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

vis_err audit_writer_start(const char *db_uri, struct audit_writer **out,
			   struct vis_error *e)
{
	struct audit_writer *w = calloc(1, sizeof *w);
	if (!w)
		return vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
	if (store_open(db_uri, &w->s, e)) {
		free(w);
		return VIS_ERR_STORE;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->done, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		store_close(w->s);
		free(w);
		return vis_error_set(e, VIS_ERR_INTERNAL, "cannot start the audit writer");
	}
	*out = w;
	return VIS_OK;
}

void audit_writer_stop(struct audit_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	store_close(w->s);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->done);
	free(w);
}

vis_err audit_submit(struct audit_writer *w, struct store_access *rec, struct vis_error *e)
{
	struct pending p = {.rec = rec};
	pthread_mutex_lock(&w->lock);
	if (w->stop) {
		pthread_mutex_unlock(&w->lock);
		return vis_error_set(e, VIS_ERR_STORE, "the access trail is closing");
	}
	if (w->tail)
		w->tail->next = &p;
	else
		w->head = &p;
	w->tail = &p;
	pthread_cond_signal(&w->work);
	while (!p.done)
		pthread_cond_wait(&w->done, &w->lock);
	pthread_mutex_unlock(&w->lock);
	if (p.rc)
		return vis_error_set(e, p.rc, "the access record could not be committed");
	return VIS_OK;
}

vis_err audit_submit_async(struct audit_writer *w, struct store_access *rec,
			   audit_done_fn done, void *ctx, struct vis_error *e)
{
	struct pending *p = calloc(1, sizeof *p);
	if (!p)
		return vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
	p->rec = rec;
	p->callback = done;
	p->ctx = ctx;
	pthread_mutex_lock(&w->lock);
	if (w->stop) {
		pthread_mutex_unlock(&w->lock);
		free(p);
		return vis_error_set(e, VIS_ERR_STORE, "the access trail is closing");
	}
	if (w->tail)
		w->tail->next = p;
	else
		w->head = p;
	w->tail = p;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->lock);
	return VIS_OK;
}

void audit_writer_stats(struct audit_writer *w, struct audit_writer_stats *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->stats;
	pthread_mutex_unlock(&w->lock);
}
