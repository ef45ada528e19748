/* Sets of public keys from a file or an address (jwks.h).  The
 * signatures are libjose's. */
#include "jwks/jwks.h"

#include <jose/jws.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/csv.h"
#include "common/log.h"
#include "common/str.h"
#include "net/outbound.h"

struct jwks {
	struct jwks_source src;
	pthread_rwlock_t lock;
	json_t *keys;              /* the keys held (array), under lock */
	pthread_mutex_t reloading; /* one read at a time; guards the fields below */
	struct stat seen;          /* a file: as last read */
	bool tried;                /* an address: a fetch was tried */
	bool failed;               /* ... and the last one failed */
	int64_t tried_at;          /* ... when the last one began */
	atomic_llong fetches, failures;
};

/* ---- the document ---- */

/* Whether the word `w` is one of the space-separated words of list. */
static bool word_in(const char *list, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = list; *p;) {
		size_t k = strcspn(p, " ");
		if (k == n && !strncmp(p, w, n))
			return true;
		p += k;
		p += strspn(p, " ");
	}
	return false;
}

/* Whether a key signs with one of algs (its alg, or its kty's).  A member
 * given that is not a text (a "use" of 5, an "alg" of {}) is no statement
 * of what the key is for: the key is not taken. */
static bool key_taken(const json_t *k, const char *algs)
{
	const json_t *use = json_object_get(k, "use");
	const json_t *alg = json_object_get(k, "alg");
	const char *kty = json_string_value(json_object_get(k, "kty"));
	if ((use && (!json_is_string(use) || strcmp(json_string_value(use), "sig"))) ||
	    (alg && !json_is_string(alg)))
		return false;
	if (alg)
		return word_in(algs, json_string_value(alg));
	return kty && ((!strcmp(kty, "RSA") && word_in(algs, "RS256")) ||
		       (!strcmp(kty, "EC") && word_in(algs, "ES256")));
}

static bool has_private_part(const json_t *k)
{
	static const char *const secret[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
	for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++)
		if (json_object_get(k, secret[i]))
			return true;
	return false;
}

bool jwks_key_signs(const json_t *k, const char *algs)
{
	return json_is_object(k) && !has_private_part(k) && key_taken(k, algs);
}

json_t *jwks_parse(const char *text, size_t len, const char *algs, char *why, size_t cap)
{
	json_error_t je;
	json_t *doc = len <= JWKS_MAX_BYTES ? json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)
					    : NULL;
	json_t *in = json_object_get(doc, "keys");
	json_t *keys = json_array();
	const char *problem = NULL;
	if (len > JWKS_MAX_BYTES)
		problem = "supera il massimo di un JWKS (256 KiB)";
	else if (!doc)
		problem = "non è JSON";
	else if (!json_is_array(in))
		problem = "non è un JWKS: nessun array \"keys\"";
	else if (!keys)
		problem = "memoria esaurita";
	size_t i;
	json_t *k;
	json_array_foreach(problem ? NULL : in, i, k) {
		if (!json_is_object(k)) {
			problem = "una chiave che non è un oggetto JSON";
			break;
		}
		if (has_private_part(k)) {
			problem = "una parte privata o segreta di chiave (d, p, q, k...): "
				  "pubblicare solo chiavi pubbliche";
			break;
		}
		if (!key_taken(k, algs))
			continue;
		const char *kid = json_string_value(json_object_get(k, "kid"));
		if (!kid || !*kid || strlen(kid) > JWKS_KID_MAX) {
			problem = "una chiave di firma senza un \"kid\" utilizzabile (da 1 a 64 "
				  "byte)";
			break;
		}
		size_t j;
		json_t *o;
		json_array_foreach(keys, j, o)
			if (!strcmp(kid, json_string_value(json_object_get(o, "kid"))))
				problem = "un \"kid\" indicato due volte";
		if (problem)
			break;
		if (json_array_size(keys) >= JWKS_MAX_KEYS) {
			problem = "più di 64 chiavi di firma";
			break;
		}
		json_array_append(keys, k);
	}
	if (!problem && !json_array_size(keys))
		problem = "nessuna chiave di firma degli algoritmi accettati";
	json_decref(doc);
	if (problem) {
		json_decref(keys);
		str_copy_cut(why, cap, problem); /* a message: cut on purpose */
		return NULL;
	}
	return keys;
}

/* ---- reading and fetching ---- */

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The keys of the file; *st the file read. */
static json_t *file_keys(const struct jwks_source *src, struct stat *st, char *why, size_t cap)
{
	if (stat(src->path, st)) {
		/* %.200s; callers give 400 bytes */
		STR_FMT_KNOWN_CAP(why, cap, "impossibile leggere '%.200s'", src->path);
		return NULL;
	}
	if (st->st_size >= (off_t)JWKS_MAX_BYTES) {
		/* %.200s; callers give 400 bytes */
		STR_FMT_KNOWN_CAP(why, cap, "'%.200s' supera %u byte", src->path, JWKS_MAX_BYTES);
		return NULL;
	}
	size_t len = 0;
	char *text = file_read_all(src->path, JWKS_MAX_BYTES, &len);
	if (!text) {
		/* %.200s; callers give 400 bytes */
		STR_FMT_KNOWN_CAP(why, cap, "impossibile leggere '%.200s'", src->path);
		return NULL;
	}
	char problem[160];
	json_t *keys = jwks_parse(text, len, src->algs, problem, sizeof problem);
	free(text);
	/* %.200s and a constant; callers give 400 bytes */
	if (!keys)
		STR_FMT_KNOWN_CAP(why, cap, "'%.200s': %s", src->path, problem);
	return keys;
}

/* The keys at the address. */
static json_t *fetched_keys(const struct jwks_source *src, char *why, size_t cap)
{
	char *buf = malloc(JWKS_MAX_BYTES + 1);
	if (!buf) {
		str_copy_cut(why, cap, "memoria esaurita"); /* a message: cut on purpose */
		return NULL;
	}
	static const char *const accept[] = {"Accept: application/json", NULL};
	struct outbound_post p = {.url = src->url, .headers = accept, .ca_file = src->ca_file,
				  .timeout = 10, .answer = buf, .answer_cap = JWKS_MAX_BYTES + 1};
	char net[200] = "";
	long st = outbound_get(&p, net, sizeof net);
	json_t *keys = NULL;
	if (p.answer_over) { /* the transfer was cut there */
		snprintf(why, cap, "la risposta supera %u byte", JWKS_MAX_BYTES);
	} else if (!st) {
		/* net[200]; callers give 400 bytes */
		STR_FMT_KNOWN_CAP(why, cap, "nessuna risposta: %s", net);
	} else if (st != 200) {
		snprintf(why, cap, "ha risposto HTTP %ld", st);
	} else {
		keys = jwks_parse(buf, p.answer_len, src->algs, why, cap);
	}
	free(buf);
	return keys;
}

/* The kids of a set, for the log: "k1,k2" (cut when long). */
static void kids_of(const json_t *keys, char *out, size_t cap)
{
	size_t i, n = 0;
	json_t *k;
	out[0] = '\0';
	json_array_foreach(keys, i, k) {
		int w = snprintf(out + n, cap - n, "%s%s", i ? "," : "",
				 json_string_value(json_object_get(k, "kid")));
		if (w < 0 || (size_t)w >= cap - n)
			break;
		n += (size_t)w;
	}
}

/* Reads again, under `reloading`; the keys replaced only by a good set;
 * the outcome logged.  `why_now` says what asked ("sighup", "aggiornamento
 * periodico", "primo scaricamento", "kid sconosciuto"). */
static vis_err refresh(struct jwks *k, int64_t now, const char *why_now, struct vis_error *e)
{
	char why[400] = "";
	struct stat st;
	json_t *keys;
	const char *where = k->src.url[0] ? k->src.url : k->src.path;
	if (k->src.url[0]) {
		k->tried = true;
		k->tried_at = now;
		atomic_fetch_add(&k->fetches, 1);
		keys = fetched_keys(&k->src, why, sizeof why);
		k->failed = keys == NULL;
		if (!keys)
			atomic_fetch_add(&k->failures, 1);
	} else {
		keys = file_keys(&k->src, &st, why, sizeof why);
	}
	if (!keys) {
		pthread_rwlock_rdlock(&k->lock);
		int held = (int)json_array_size(k->keys);
		pthread_rwlock_unlock(&k->lock);
		log_error("chiavi non ricaricate: restano le precedenti",
			  "source=%s from=\"%.300s\" cause=\"%s\" keys_held=%d reason=\"%s\"",
			  k->src.name, where, why_now, held, why);
		return vis_error_set(e, VIS_ERR_INVALID, "%s: %s", k->src.name, why);
	}
	if (!k->src.url[0])
		k->seen = st;
	char kids[200];
	kids_of(keys, kids, sizeof kids);
	pthread_rwlock_wrlock(&k->lock);
	bool same = json_equal(k->keys, keys);
	json_decref(k->keys);
	k->keys = keys;
	pthread_rwlock_unlock(&k->lock);
	if (same)
		log_debug("chiavi invariate",
			  "source=%s cause=\"%s\" kids=%s", k->src.name, why_now, kids);
	else
		log_info("chiavi ricaricate",
			 "source=%s from=\"%.300s\" cause=\"%s\" keys=%zu kids=%s",
			 k->src.name, where, why_now, json_array_size(keys), kids);
	return VIS_OK;
}

/* Whether `interval` seconds have passed since `then` (a clock set back
 * counts as passed). */
static bool elapsed(int64_t then, int64_t now, int interval)
{
	return now < then || now - then >= interval;
}

vis_err jwks_open(const struct jwks_source *src, struct jwks **out, struct vis_error *e)
{
	*out = NULL;
	bool file = src->path && src->path[0], url = src->url && src->url[0];
	if (file == url)
		return vis_error_set(e, VIS_ERR_INVALID, "%s: un file o un indirizzo, uno dei due",
				     src->name);
	struct vis_error ue = {0};
	if (url && outbound_check(src->url, OUTBOUND_WEBHOOK, false, &ue))
		return vis_error_set(e, VIS_ERR_INVALID, "%s: %s", src->name, ue.msg);
	if (src->refresh < 1 || src->kid_interval < 1)
		return vis_error_set(e, VIS_ERR_INVALID, "%s: gli intervalli devono essere "
							 "positivi",
				     src->name);
	struct jwks *k = calloc(1, sizeof *k);
	if (!k)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	k->src = *src;
	k->src.path = file ? src->path : "";
	k->src.url = url ? src->url : "";
	k->src.ca_file = src->ca_file ? src->ca_file : "";
	char why[400] = "";
	k->keys = file ? file_keys(&k->src, &k->seen, why, sizeof why) : json_array();
	if (!k->keys) {
		free(k);
		return vis_error_set(e, file ? VIS_ERR_INVALID : VIS_ERR_NOMEM, "%s: %s", src->name,
				     file ? why : "memoria esaurita");
	}
	pthread_rwlock_init(&k->lock, NULL);
	pthread_mutex_init(&k->reloading, NULL);
	*out = k;
	return VIS_OK;
}

void jwks_free(struct jwks *k)
{
	if (!k)
		return;
	json_decref(k->keys);
	pthread_rwlock_destroy(&k->lock);
	pthread_mutex_destroy(&k->reloading);
	free(k);
}

vis_err jwks_reload(struct jwks *k, int64_t now, struct vis_error *e)
{
	pthread_mutex_lock(&k->reloading);
	vis_err rc = refresh(k, now, "sighup", e);
	pthread_mutex_unlock(&k->reloading);
	return rc;
}

bool jwks_tick(struct jwks *k, int64_t now)
{
	if (!k->src.url[0])
		return false;
	pthread_mutex_lock(&k->reloading);
	bool due = !k->tried ||
		   elapsed(k->tried_at, now, k->failed ? k->src.kid_interval : k->src.refresh);
	struct vis_error e = {0};
	if (due)
		refresh(k, now, k->tried ? "aggiornamento periodico" : "primo scaricamento", &e);
	pthread_mutex_unlock(&k->reloading);
	return due;
}

/* A kid not held: the keys read again when allowed.  A thread that finds
 * another fetching waits for it, then finds the fetch recent. */
static void unknown_kid(struct jwks *k, int64_t now)
{
	pthread_mutex_lock(&k->reloading);
	struct vis_error e = {0};
	struct stat st;
	if (k->src.url[0]) {
		if (!k->tried || elapsed(k->tried_at, now, k->src.kid_interval))
			refresh(k, now, "kid sconosciuto", &e);
	} else if (stat(k->src.path, &st) || !same_file(&st, &k->seen)) {
		refresh(k, now, "kid sconosciuto", &e);
	}
	pthread_mutex_unlock(&k->reloading);
}

/* Under the read lock: the key named kid, or NULL. */
static const json_t *key_find(const struct jwks *k, const char *kid)
{
	size_t i;
	json_t *o;
	json_array_foreach(k->keys, i, o)
		if (!strcmp(kid, json_string_value(json_object_get(o, "kid"))))
			return o;
	return NULL;
}

enum jwks_verdict jwks_verify(struct jwks *k, const char *kid, const json_t *jws, int64_t now)
{
	for (int round = 0; round < 2; round++) {
		if (round)
			unknown_kid(k, now);
		pthread_rwlock_rdlock(&k->lock);
		const json_t *jwk = key_find(k, kid);
		bool ok = jwk && jose_jws_ver(NULL, jws, NULL, jwk, false);
		pthread_rwlock_unlock(&k->lock);
		if (jwk)
			return ok ? JWKS_VERIFIED : JWKS_BAD_SIGNATURE;
	}
	return JWKS_KID_UNKNOWN;
}

void jwks_stats(struct jwks *k, struct jwks_stats *out)
{
	out->source = k->src.name;
	pthread_rwlock_rdlock(&k->lock);
	out->keys = (int)json_array_size(k->keys);
	pthread_rwlock_unlock(&k->lock);
	out->fetches = atomic_load(&k->fetches);
	out->failures = atomic_load(&k->failures);
}
