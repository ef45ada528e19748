#include "audit/audit.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

#include "common/fsmode.h"
#include "common/text.h"

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
			      a->query, a->subjects, a->categories, a->outcome, a->flags,
			      a->workstation};
	for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
		crypto_hash_sha256_update(&st, (const unsigned char *)text[i], strlen(text[i]));
		crypto_hash_sha256_update(&st, (const unsigned char *)SEP, 1);
	}
	crypto_hash_sha256_final(&st, d);
	sodium_bin2hex(out, 65, d, sizeof d);
}

void audit_key_path(const char *db_uri, char *out, size_t cap)
{
	char prefix[4096];
	store_files_prefix(db_uri, prefix, sizeof prefix);
	snprintf(out, cap, "%s.signing-key", prefix);
}

vis_err audit_key_load(const char *path, struct audit_key *k, struct vis_error *e)
{
	if (fsmode_key_read(path, k->sk, sizeof k->sk, "the signing key", e))
		return e && e->code ? e->code : VIS_ERR_INVALID;
	crypto_sign_ed25519_sk_to_pk(k->pk, k->sk);
	return VIS_OK;
}

vis_err audit_key_ensure(struct store *s, const char *path, struct audit_key *k,
			 struct vis_error *e)
{
	if (access(path, F_OK) != 0) {
		crypto_sign_keypair(k->pk, k->sk);
		if (fsmode_key_write(path, k->sk, sizeof k->sk, "the signing key", e))
			return VIS_ERR_IO;
	} else if (audit_key_load(path, k, e)) {
		return VIS_ERR_INVALID;
	}
	char pkhex[65];
	sodium_bin2hex(pkhex, sizeof pkhex, k->pk, sizeof k->pk);
	char stored[65];
	bool found;
	if (store_setting_get(s, "signing_public_key", stored, sizeof stored, &found, e))
		return VIS_ERR_STORE;
	if (found && strcmp(stored, pkhex))
		return vis_error_set(e, VIS_ERR_CONFLICT,
				     "the signing key '%s' does not match the database's public key", path);
	return found ? VIS_OK : store_setting_put(s, "signing_public_key", pkhex, e);
}

void audit_sign(const struct audit_key *k, const char *msg, size_t len, char out[100])
{
	unsigned char sig[crypto_sign_BYTES];
	crypto_sign_detached(sig, NULL, (const unsigned char *)msg, len, k->sk);
	sodium_bin2base64(out, 100, sig, sizeof sig, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

bool audit_signature_ok(struct store *s, const char *msg, size_t len, const char *sig)
{
	char pkhex[65];
	unsigned char pk[32], raw[crypto_sign_BYTES];
	size_t n;
	bool found;
	if (store_setting_get(s, "signing_public_key", pkhex, sizeof pkhex, &found, NULL) || !found ||
	    sodium_hex2bin(pk, sizeof pk, pkhex, strlen(pkhex), NULL, &n, NULL) || n != sizeof pk ||
	    sodium_base642bin(raw, sizeof raw, sig, strlen(sig), NULL, &n, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) || n != sizeof raw)
		return false;
	return crypto_sign_verify_detached(raw, (const unsigned char *)msg, len, pk) == 0;
}

static void body_sha(const char *body, size_t len, char out[65])
{
	unsigned char d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(d, (const unsigned char *)body, len);
	sodium_bin2hex(out, 65, d, sizeof d);
}

void audit_receipt(const struct audit_key *k, const struct store_access *rec,
		   const char *body, size_t len, char *out, size_t cap)
{
	char sha[65], msg[256], sig[100];
	body_sha(body, len, sha);
	int n = snprintf(msg, sizeof msg, "v1.%lld.%lld.%lld.%s", (long long)rec->id,
			 (long long)rec->at, (long long)rec->purpose_id, sha);
	audit_sign(k, msg, (size_t)n, sig);
	snprintf(out, cap, "%s.%s", msg, sig);
}

const char *audit_receipt_check(struct store *s, const char *receipt, const char *body,
				size_t len, struct vis_error *e)
{
	long long id, at, purpose;
	char sha[65], sig[100];
	int consumed = 0;
	if (sscanf(receipt, "v1.%lld.%lld.%lld.%64[0-9a-f].%99[A-Za-z0-9_-]%n", &id, &at, &purpose,
		   sha, sig, &consumed) != 5 || receipt[consumed] != '\0' || strlen(sha) != 64)
		return "not a visura receipt";
	const char *dot = strrchr(receipt, '.');
	if (!audit_signature_ok(s, receipt, (size_t)(dot - receipt), sig))
		return "the signature does not match this database's key";
	struct store_access rec;
	bool found;
	if (store_access_get(s, id, &rec, &found, e))
		return "the database cannot be read";
	if (!found)
		return "no such access record";
	if (rec.at != at || rec.purpose_id != purpose)
		return "the access record does not match the receipt";
	if (body) {
		char mine[65];
		body_sha(body, len, mine);
		if (strcmp(mine, sha))
			return "the answer was altered: its hash does not match the receipt";
	}
	return NULL;
}

/* A record's text is kept as valid UTF-8 (a refused request may carry
 * any bytes): what is hashed is what every back end stores.  The subjects
 * are printable ASCII already (audit/subjects.h checks every code). */
static void record_scrub(struct store_access *r)
{
	char *text[] = {r->username, r->case_ref, r->on_behalf_of, r->ip, r->operation,
			r->query, r->categories, r->outcome, r->flags, r->workstation};
	for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
		utf8_scrub(text[i]);
	if (!r->subjects)
		r->subjects = "";
}

vis_err audit_append(struct store *s, struct store_access *rec, struct vis_error *e)
{
	record_scrub(rec);
	int64_t last_id;
	if (store_begin_trail(s, e))
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

struct cp_walk {
	struct store *s;
	struct audit_verify_result *res;
	int64_t first_id, last_id;   /* records present */
	char first_prev[65];
	bool start_anchored;         /* the first record follows a checkpoint */
	int64_t max_checkpoint;
	struct vis_error *e;
};

static int check_checkpoint(void *ctx, const struct store_checkpoint *c)
{
	struct cp_walk *w = ctx;
	char msg[128];
	int m = snprintf(msg, sizeof msg, "visura-checkpoint-v1.%lld.%lld.%s", (long long)c->at,
			 (long long)c->last_id, c->last_hash);
	if (!audit_signature_ok(w->s, msg, (size_t)m, c->signature)) {
		snprintf(w->res->why, sizeof w->res->why,
			 "checkpoint %lld has a bad signature", (long long)c->id);
		w->res->first_bad_id = c->last_id ? c->last_id : 1;
		return 1;
	}
	w->res->checkpoints++;
	if (c->last_id > w->max_checkpoint)
		w->max_checkpoint = c->last_id;
	if (c->last_id == w->first_id - 1 && !strcmp(c->last_hash, w->first_prev))
		w->start_anchored = true;
	if (c->last_id >= w->first_id && c->last_id <= w->last_id) {
		struct store_access a;
		bool found;
		if (store_access_get(w->s, c->last_id, &a, &found, w->e))
			return 1;
		if (!found || strcmp(a.hash, c->last_hash)) {
			snprintf(w->res->why, sizeof w->res->why,
				 "record %lld does not match signed checkpoint %lld",
				 (long long)c->last_id, (long long)c->id);
			w->res->first_bad_id = c->last_id;
			return 1;
		}
	}
	return 0;
}

static int first_record(void *ctx, const struct store_access *a)
{
	struct cp_walk *w = ctx;
	w->first_id = a->id;
	memcpy(w->first_prev, a->prev_hash, sizeof w->first_prev);
	return 1;
}

vis_err audit_verify(struct store *s, struct audit_verify_result *res, struct vis_error *e)
{
	memset(res, 0, sizeof *res);
	struct cp_walk cw = {.s = s, .res = res, .e = e};
	char last_hash[65];
	if (store_access_each(s, 1, first_record, &cw, e) ||
	    store_access_last(s, &cw.last_id, last_hash, e))
		return VIS_ERR_STORE;
	/* After a retention purge the trail starts later: the first record
	 * must then follow a signed checkpoint. */
	struct walk w = {.res = res, .expect_id = cw.first_id ? cw.first_id : 1};
	if (cw.first_id > 1)
		memcpy(w.prev, cw.first_prev, sizeof w.prev);
	if (store_access_each(s, 1, check, &w, e))
		return VIS_ERR_STORE;
	if (res->first_bad_id)
		return VIS_OK;
	if (store_checkpoint_each(s, check_checkpoint, &cw, e))
		return VIS_ERR_STORE;
	if (res->first_bad_id)
		return VIS_OK;
	if (cw.first_id > 1 && !cw.start_anchored) {
		snprintf(res->why, sizeof res->why,
			 "records before %lld are missing and no signed checkpoint vouches for the gap",
			 (long long)cw.first_id);
		res->first_bad_id = cw.first_id;
	} else if (cw.max_checkpoint > cw.last_id) {
		snprintf(res->why, sizeof res->why,
			 "the trail ends at record %lld but a signed checkpoint covers up to %lld: "
			 "records were removed from the end", (long long)cw.last_id,
			 (long long)cw.max_checkpoint);
		res->first_bad_id = cw.last_id + 1;
	}
	return VIS_OK;
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
	struct audit_key key;
	bool signing;
	int64_t since_checkpoint;     /* records since the last checkpoint */
	int64_t checkpoint_at;
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
	if (store_begin_trail(w->s, &e))
		return VIS_ERR_STORE;
	if (store_access_last(w->s, &last_id, prev, &e))
		goto fail;
	for (int i = 0; i < n; i++) {
		struct store_access *r = batch[i]->rec;
		record_scrub(r);
		r->id = ++last_id;
		memcpy(r->prev_hash, prev, sizeof prev);
		audit_hash(r, prev, r->hash);
		memcpy(prev, r->hash, sizeof prev);
		if (store_access_insert(w->s, r, &e))
			goto fail;
	}
	w->since_checkpoint += n;
	int64_t now = (int64_t)time(NULL);
	if (w->signing && (w->since_checkpoint >= AUDIT_CHECKPOINT_RECORDS ||
			   now - w->checkpoint_at >= AUDIT_CHECKPOINT_SECONDS)) {
		struct store_checkpoint cp = {.at = now, .last_id = last_id};
		char msg[128];
		memcpy(cp.last_hash, prev, sizeof cp.last_hash);
		int m = snprintf(msg, sizeof msg, "visura-checkpoint-v1.%lld.%lld.%s",
				 (long long)cp.at, (long long)cp.last_id, cp.last_hash);
		audit_sign(&w->key, msg, (size_t)m, cp.signature);
		if (store_checkpoint_insert(w->s, &cp, &e))
			goto fail;
		w->since_checkpoint = 0;
		w->checkpoint_at = now;
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

vis_err audit_writer_start(const char *db_uri, const struct audit_key *key,
			   struct audit_writer **out, struct vis_error *e)
{
	struct audit_writer *w = calloc(1, sizeof *w);
	if (!w)
		return vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
	if (key) {
		w->key = *key;
		w->signing = true;
		w->checkpoint_at = (int64_t)time(NULL);
	}
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
	sodium_memzero(&w->key, sizeof w->key);
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
