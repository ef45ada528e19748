#define _GNU_SOURCE /* pthread_setname_np */
#include "audit/audit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sodium.h>
#include <unistd.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

#include "audit/sha256.h"
#include "common/fsmode.h"
#include "common/log.h"
#include "common/monotime.h"
#include "common/str.h"
#include "common/text.h"

/* Field separator of the canonical encoding: never present in a field
 * (the fields are validated text without control characters). */
#define SEP "\x1f"

/* The canonical bytes of a record after its predecessor's hash, into st. */
static void canonical(struct sha256 *st, const struct store_access *a,
		      const char *prev_hash)
{
	/* "visura-access-v1" SEP, then each number in decimal (as %lld) and
	 * SEP: written by hand, snprintf took ~5,000 instructions a hash. */
	static const char tag[] = "visura-access-v1" SEP;
	const int64_t nums[] = {a->id, a->at, a->account_id, a->ente_id, a->convenzione_id,
				a->purpose_id, a->status};
	char num[sizeof tag - 1 + sizeof nums / sizeof *nums * STR_I64_MAX];
	size_t n = sizeof tag - 1;
	memcpy(num, tag, n);
	for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
		n += str_i64(num + n, nums[i]);
		num[n++] = SEP[0];
	}
	sha256_update(st, prev_hash, strlen(prev_hash));
	sha256_update(st, SEP, 1);
	sha256_update(st, num, n);
	const char *text[] = {a->username, a->case_ref, a->on_behalf_of, a->ip, a->operation,
			      a->query, a->subjects, a->categories, a->outcome, a->flags,
			      a->workstation};
	for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
		sha256_update(st, text[i], strlen(text[i]));
		sha256_update(st, SEP, 1);
	}
}

void audit_hash(const struct store_access *a, const char *prev_hash, char out[65])
{
	struct sha256 st;
	uint8_t d[SHA256_BYTES];
	sha256_init(&st);
	canonical(&st, a, prev_hash);
	sha256_final(&st, d);
	str_hex(out, d, sizeof d);
}

void audit_leaf_hash(const struct store_access *a, uint8_t out[MERKLE_HASH])
{
	struct sha256 st;
	const unsigned char prefix = 0x00;
	sha256_init(&st);
	sha256_update(&st, &prefix, 1);
	canonical(&st, a, a->prev_hash);
	sha256_final(&st, out);
}

void audit_origin_default(const uint8_t pk[32], char out[CHECKPOINT_NAME_MAX + 1])
{
	char hex[65];
	sodium_bin2hex(hex, sizeof hex, pk, 32);
	hex[16] = '\0';
	memcpy(out, "visura/", 7);
	memcpy(out + 7, hex, 17);
}

bool audit_public_key(struct store *s, uint8_t pk[32])
{
	char pkhex[65];
	size_t n;
	bool found;
	return !store_setting_get(s, "signing_public_key", pkhex, sizeof pkhex, &found, NULL) &&
	       found && !sodium_hex2bin(pk, 32, pkhex, strlen(pkhex), NULL, &n, NULL) && n == 32;
}

vis_err audit_key_path(const char *db_uri, char *out, size_t cap, struct vis_error *e)
{
	return store_files_path(db_uri, NULL, ".signing-key", out, cap, e);
}

vis_err audit_key_load(const char *path, struct audit_key *k, struct vis_error *e)
{
	if (fsmode_key_read(path, k->sk, sizeof k->sk, "la chiave di firma", e))
		return e && e->code ? e->code : VIS_ERR_INVALID;
	crypto_sign_ed25519_sk_to_pk(k->pk, k->sk);
	return VIS_OK;
}

vis_err audit_key_ensure(struct store *s, const char *path, struct audit_key *k,
			 struct vis_error *e)
{
	if (access(path, F_OK) != 0) {
		crypto_sign_keypair(k->pk, k->sk);
		if (fsmode_key_write(path, k->sk, sizeof k->sk, "la chiave di firma", e))
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
				     "la chiave di firma '%s' non corrisponde alla chiave pubblica "
				     "del database", path);
	return found ? VIS_OK : store_setting_put(s, "signing_public_key", pkhex, e);
}

void audit_sign(const struct audit_key *k, const char *msg, size_t len, char out[100])
{
	unsigned char sig[crypto_sign_BYTES];
	crypto_sign_detached(sig, NULL, (const unsigned char *)msg, len, k->sk);
	str_base64(out, 100, sig, sizeof sig, STR_B64URL);
}

#define DOC_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)
#define DOC_SIG "ed25519:"

char *audit_document_sign(const struct audit_key *k, json_t *doc, size_t *len)
{
	char *bytes = json_dumps(doc, DOC_FLAGS);
	if (!bytes)
		return NULL;
	char sig[100], firma[120];
	audit_sign(k, bytes, strlen(bytes), sig);
	free(bytes);
	STR_FMT_KNOWN(firma, DOC_SIG "%s", sig); /* 8 + sig[100] < 120 */
	json_t *out = json_pack("{s:O,s:s}", "documento", doc, "firma", firma);
	char *text = out ? json_dumps(out, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_ENSURE_ASCII) : NULL;
	json_decref(out);
	if (text)
		*len = strlen(text);
	return text;
}

const char *audit_document_verify(const char *text, size_t len, const uint8_t pk[32])
{
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *doc = json_object_get(j, "documento");
	const char *firma = json_string_value(json_object_get(j, "firma"));
	const char *why = NULL;
	unsigned char raw[crypto_sign_BYTES];
	size_t n;
	char *bytes = json_is_object(doc) ? json_dumps(doc, DOC_FLAGS) : NULL;
	if (!json_is_object(j) || json_object_size(j) != 2 || !bytes || !firma)
		why = "non è un documento firmato da visura (documento, firma)";
	else if (strncmp(firma, DOC_SIG, strlen(DOC_SIG)) ||
		 sodium_base642bin(raw, sizeof raw, firma + strlen(DOC_SIG),
				   strlen(firma + strlen(DOC_SIG)), NULL, &n, NULL,
				   sodium_base64_VARIANT_URLSAFE_NO_PADDING) || n != sizeof raw)
		why = "la firma è malformata";
	else if (crypto_sign_verify_detached(raw, (const unsigned char *)bytes, strlen(bytes), pk))
		why = "la firma non si verifica: il documento è stato alterato, o l'ha firmato "
		      "un'altra chiave";
	free(bytes);
	json_decref(j);
	return why;
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

/* The caller's question (audit_verify_stoppable), asked every
 * AUDIT_VERIFY_STOP_EVERY rows read: once it answers true, every walk of
 * the verification ends. */
struct asker {
	const struct stop_ask *stop;
	long rows;
	bool stopped;
};

static bool asker_stop(struct asker *a)
{
	if (!a->stopped && a->stop && ++a->rows % AUDIT_VERIFY_STOP_EVERY == 0)
		a->stopped = stop_now(a->stop);
	return a->stopped;
}

static vis_err verify_stopped(struct vis_error *e)
{
	return vis_error_set(e, VIS_ERR_BUSY, "verifica del registro degli accessi interrotta "
				 "perché il servizio si arresta: ripeterla tra poco");
}

struct walk {
	struct audit_verify_result *res;
	char prev[65];
	int64_t expect_id;
	struct asker *ask;
};

static int check(void *ctx, const struct store_access *a)
{
	struct walk *w = ctx;
	if (asker_stop(w->ask))
		return 1;
	char h[65];
	w->res->checked++;
	if (a->id != w->expect_id) {
		snprintf(w->res->why, sizeof w->res->why,
			 "la registrazione %lld segue la %lld: mancano registrazioni o sono state "
			 "riordinate",
			 (long long)a->id, (long long)w->expect_id - 1);
	} else if (strcmp(a->prev_hash, w->prev)) {
		snprintf(w->res->why, sizeof w->res->why,
			 "la registrazione %lld non rimanda all'hash della "
			 "precedente", (long long)a->id);
	} else {
		audit_hash(a, a->prev_hash, h);
		if (strcmp(h, a->hash))
			snprintf(w->res->why, sizeof w->res->why,
				 "la registrazione %lld è stata alterata: il suo contenuto non "
				 "corrisponde al suo hash",
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
			 "il punto di controllo %lld ha una firma non valida", (long long)c->id);
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
				 "la registrazione %lld non corrisponde al punto di controllo "
				 "firmato %lld",
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

static void hex_of(const uint8_t h[MERKLE_HASH], char out[65])
{
	str_hex(out, h, MERKLE_HASH);
}

static bool bin_of(const char *hex, uint8_t h[MERKLE_HASH])
{
	size_t n;
	return strlen(hex) == 64 &&
	       !sodium_hex2bin(h, MERKLE_HASH, hex, 64, NULL, &n, NULL) && n == MERKLE_HASH;
}

/* ---- the tree against its signed heads ---- */

struct head_root {
	uint64_t size;
	uint8_t root[MERKLE_HASH];
};

/* The per-person index against the records. */
struct subject_row {
	int64_t id;
	char cf[40];
};

#define INDEX_PROBLEMS 8
struct index_check {
	struct subject_row *rows;
	size_t n, cap, pos;
	struct subject_row missing[INDEX_PROBLEMS], extra[INDEX_PROBLEMS];
	int nmissing, nextra;
	int64_t total, first_id;
	bool oom;
	struct asker *ask;
};

static int index_row(void *ctx, int64_t access_id, const char *cf)
{
	struct index_check *x = ctx;
	if (asker_stop(x->ask))
		return 1;
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 1024;
		void *p = realloc(x->rows, cap * sizeof *x->rows);
		if (!p) {
			x->oom = true;
			return 1;
		}
		x->rows = p;
		x->cap = cap;
	}
	x->rows[x->n].id = access_id;
	if (!STR_COPY(x->rows[x->n].cf, cf))
		STR_COPY_KNOWN(x->rows[x->n].cf, "(troppo lungo)");
	x->n++;
	return 0;
}

static void index_problem(struct index_check *x, bool missing, int64_t id, const char *cf,
			  size_t len)
{
	struct subject_row *list = missing ? x->missing : x->extra;
	int *n = missing ? &x->nmissing : &x->nextra;
	x->total++;
	if (!x->first_id || id < x->first_id)
		x->first_id = id;
	if (*n == INDEX_PROBLEMS)
		return;
	list[*n].id = id;
	if (len >= sizeof list[*n].cf)
		len = sizeof list[*n].cf - 1;
	memcpy(list[*n].cf, cf, len);
	list[*n].cf[len] = '\0';
	(*n)++;
}

struct span {
	const char *p;
	size_t n;
};

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

static int span_row_cmp(const struct span *s, const char *cf)
{
	struct span r = {cf, strlen(cf)};
	return span_cmp(s, &r);
}

/* The record's subjects against its index rows (sorted by cf). */
static void index_record(struct index_check *x, const struct store_access *a)
{
	while (x->pos < x->n && x->rows[x->pos].id < a->id) {
		index_problem(x, false, x->rows[x->pos].id, x->rows[x->pos].cf,
			      strlen(x->rows[x->pos].cf));
		x->pos++;
	}
	size_t start = x->pos;
	while (x->pos < x->n && x->rows[x->pos].id == a->id)
		x->pos++;
	size_t ns = 0;
	const char *subj = a->subjects ? a->subjects : "";
	for (const char *c = subj; *c; c++)
		ns += *c == ',';
	ns += *subj ? 1 : 0;
	struct span *sp = ns ? malloc(ns * sizeof *sp) : NULL;
	if (ns && !sp) {
		x->oom = true;
		return;
	}
	size_t k = 0;
	for (const char *c = subj; *c && k < ns;) {
		const char *end = strchr(c, ',');
		sp[k].p = c;
		sp[k].n = end ? (size_t)(end - c) : strlen(c);
		k++;
		c += sp[k - 1].n + (end ? 1 : 0);
	}
	if (k > 1)
		qsort(sp, k, sizeof *sp, span_cmp);
	size_t i = 0, j = start;
	while (i < k || j < x->pos) {
		int c = i == k ? 1 : j == x->pos ? -1 : span_row_cmp(&sp[i], x->rows[j].cf);
		if (c == 0) {
			i++;
			j++;
		} else if (c < 0) {
			index_problem(x, true, a->id, sp[i].p, sp[i].n);
			i++;
		} else {
			index_problem(x, false, a->id, x->rows[j].cf, strlen(x->rows[j].cf));
			j++;
		}
	}
	free(sp);
}

/* Names what is wrong with the index: rows missing, extra, re-pointed
 * (the same person missing from one record and extra on another). */
static void index_report(struct index_check *x, struct audit_verify_result *res)
{
	struct strbuf sb;
	strbuf_init(&sb, sizeof res->why - 1);
	strbuf_addf(&sb, "l'indice per persona non corrisponde alle registrazioni (%lld righe): ",
		    (long long)x->total);
	int shown = 0;
	bool used[INDEX_PROBLEMS] = {0};
	for (int i = 0; i < x->nmissing && shown < 3; i++) {
		int moved = -1;
		for (int j = 0; j < x->nextra && moved < 0; j++)
			if (!used[j] && !strcmp(x->missing[i].cf, x->extra[j].cf))
				moved = j;
		if (moved >= 0) {
			used[moved] = true;
			strbuf_addf(&sb, "%s%s spostato dalla registrazione "
					 "%lld alla %lld", shown ? "; " : "",
				    x->missing[i].cf, (long long)x->missing[i].id,
				    (long long)x->extra[moved].id);
		} else {
			strbuf_addf(&sb, "%smanca la riga della registrazione "
					 "%lld per %s", shown ? "; " : "",
				    (long long)x->missing[i].id, x->missing[i].cf);
		}
		shown++;
	}
	for (int j = 0; j < x->nextra && shown < 3; j++) {
		if (used[j])
			continue;
		strbuf_addf(&sb, "%sriga in più: registrazione %lld, %s", shown ? "; " : "",
			    (long long)x->extra[j].id, x->extra[j].cf);
		shown++;
	}
	if (!sb.err)
		memcpy(res->why, sb.buf, sb.len + 1);
	else
		str_copy_cut(res->why, sizeof res->why, sb.buf);
	strbuf_release(&sb);
	res->first_bad_id = x->first_id > 0 ? x->first_id : 1;
}

struct tree_walk {
	struct index_check index;
	struct store *s;
	struct audit_verify_result *res;
	uint8_t pk[32];
	struct head_root *heads;
	size_t nheads, cap, next;
	const struct checkpoint *kept;
	bool kept_matched;
	struct merkle_frontier f;
	struct vis_error *e;
};

static int head_load(void *ctx, const struct store_head *h)
{
	struct tree_walk *t = ctx;
	if (asker_stop(t->index.ask))
		return 1;
	struct checkpoint c;
	const char *why = checkpoint_parse(&c, h->note, strlen(h->note));
	uint8_t root[MERKLE_HASH];
	if (!why)
		why = checkpoint_verify(&c, t->pk);
	if (!why && (c.size != (uint64_t)h->size || !bin_of(h->root, root) ||
		     memcmp(root, c.root, MERKLE_HASH)))
		why = "le sue colonne non corrispondono al suo testo firmato";
	if (why) {
		/* a number and checkpoint_parse's constant message */
		STR_FMT_KNOWN(t->res->why, "la testa firmata %lld non è valida: %s",
			      (long long)h->size, why);
		t->res->first_bad_id = h->size > 0 ? h->size : 1;
		return 1;
	}
	if (t->nheads == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		void *p = realloc(t->heads, cap * sizeof *t->heads);
		if (!p) {
			snprintf(t->res->why, sizeof t->res->why, "memoria esaurita");
			t->res->first_bad_id = 1;
			return 1;
		}
		t->heads = p;
		t->cap = cap;
	}
	t->heads[t->nheads].size = c.size;
	memcpy(t->heads[t->nheads].root, c.root, MERKLE_HASH);
	t->nheads++;
	t->res->heads++;
	return 0;
}

/* Compares the tree of the leaves so far with the heads of this size. */
static bool tree_check(struct tree_walk *t)
{
	uint8_t root[MERKLE_HASH];
	bool have = false;
	while (t->next < t->nheads && t->heads[t->next].size == t->f.size) {
		if (!have)
			merkle_frontier_root(&t->f, root);
		have = true;
		if (memcmp(root, t->heads[t->next].root, MERKLE_HASH)) {
			snprintf(t->res->why, sizeof t->res->why,
				 "le prime %llu registrazioni non corrispondono alla testa firmata "
				 "di quella dimensione: una registrazione fino alla %llu è stata "
				 "alterata, rimossa o inserita",
				 (unsigned long long)t->f.size, (unsigned long long)t->f.size);
			t->res->first_bad_id = (int64_t)t->f.size;
			return false;
		}
		t->next++;
	}
	if (t->kept && t->kept->size == t->f.size) {
		if (!have)
			merkle_frontier_root(&t->f, root);
		if (memcmp(root, t->kept->root, MERKLE_HASH)) {
			snprintf(t->res->why, sizeof t->res->why,
				 "il registro degli accessi non estende la testa conservata: le "
				 "sue prime %llu registrazioni differiscono da quelle firmate "
				 "dalla testa conservata (storia riscritta, o una biforcazione: "
				 "due teste diverse di dimensione %llu)",
				 (unsigned long long)t->f.size, (unsigned long long)t->f.size);
			t->res->first_bad_id = (int64_t)t->f.size > 0 ? (int64_t)t->f.size : 1;
			return false;
		}
		t->kept_matched = true;
	}
	return true;
}

static int tree_leaf(void *ctx, const struct store_access *a)
{
	struct tree_walk *t = ctx;
	if (asker_stop(t->index.ask))
		return 1;
	uint8_t leaf[MERKLE_HASH];
	audit_leaf_hash(a, leaf);
	merkle_frontier_append(&t->f, leaf);
	if (!tree_check(t))
		return 1;
	index_record(&t->index, a);
	return t->index.oom ? 1 : 0;
}

static vis_err verify_tree(struct store *s, int64_t first_id, int64_t last_id,
			   const struct checkpoint *kept, struct asker *ask,
			   struct audit_verify_result *res, struct vis_error *e)
{
	struct tree_walk t = {.s = s, .res = res, .kept = kept, .e = e, .index.ask = ask};
	vis_err rc = VIS_OK;
	if (!audit_public_key(s, t.pk)) {
		/* A trail no server ever signed (no key yet) has no heads to
		 * check; heads without the key that signed them are a removal. */
		struct store_head h;
		bool found;
		if (store_head_last(s, &h, &found, e))
			return VIS_ERR_STORE;
		if (found || kept) {
			snprintf(res->why, sizeof res->why, "la chiave pubblica di firma del "
							    "database è stata rimossa: le sue "
							    "teste firmate non si possono "
							    "controllare");
			res->first_bad_id = 1;
		}
		return VIS_OK;
	}
	if (kept) {
		const char *why = checkpoint_verify(kept, t.pk);
		if (why) {
			STR_FMT_KNOWN(res->why,
				      "la testa conservata non è di questo "
				      "registro degli accessi: %s",
				      why); /* checkpoint_verify's constant message + 70 */
			res->first_bad_id = 1;
			return VIS_OK;
		}
	}
	if (store_head_each(s, head_load, &t, e)) {
		rc = VIS_ERR_STORE;
		goto done;
	}
	if (ask->stopped) {
		rc = verify_stopped(e);
		goto done;
	}
	if (res->first_bad_id)
		goto done;
	uint64_t records = last_id > 0 ? (uint64_t)last_id : 0;
	uint64_t top = t.nheads ? t.heads[t.nheads - 1].size : 0;
	if (kept && kept->size > records) {
		/* numbers and fixed words */
		STR_FMT_KNOWN(
			res->why,
			"il registro degli accessi contiene %llu registrazioni ma una testa "
			"conservata ne ha firmate %llu: sono state rimosse registrazioni dalla "
			"fine (%s)",
			(unsigned long long)records, (unsigned long long)kept->size,
			records == 0 ? "il registro è stato svuotato"
				     : "troncamento o ritorno indietro");
		res->first_bad_id = (int64_t)records + 1;
		goto done;
	}
	if (top > records) {
		snprintf(res->why, sizeof res->why,
			 "il registro degli accessi contiene %llu registrazioni ma una testa "
			 "firmata ne copre %llu: sono state rimosse "
			 "registrazioni dalla fine", (unsigned long long)records,
			 (unsigned long long)top);
		res->first_bad_id = (int64_t)records + 1;
		goto done;
	}
	if (records > 0 && t.nheads == 0) {
		snprintf(res->why, sizeof res->why,
			 "nessuna testa firmata copre le %llu registrazioni: le teste sono state "
			 "cancellate",
			 (unsigned long long)records);
		res->first_bad_id = 1;
		goto done;
	}
	if (top < records) {
		snprintf(res->why, sizeof res->why,
			 "le registrazioni da %llu a %llu non sono sotto alcuna testa firmata: "
			 "sono state aggiunte fuori da visura, o sono state cancellate le teste "
			 "dopo la %llu",
			 (unsigned long long)top + 1, (unsigned long long)records,
			 (unsigned long long)top);
		res->first_bad_id = (int64_t)top + 1;
		goto done;
	}
	/* Purged records: their leaves stay in the tree. */
	for (int64_t id = 1; first_id > 0 && id < first_id; id++) {
		char hex[65];
		uint8_t leaf[MERKLE_HASH];
		bool found;
		if (asker_stop(ask)) {
			rc = verify_stopped(e);
			goto done;
		}
		if (store_tree_get(s, 0, id - 1, hex, &found, e)) {
			rc = VIS_ERR_STORE;
			goto done;
		}
		if (!found || !bin_of(hex, leaf)) {
			snprintf(res->why, sizeof res->why,
				 "la registrazione %lld è stata eliminata e la sua foglia manca "
				 "dall'albero",
				 (long long)id);
			res->first_bad_id = id;
			goto done;
		}
		merkle_frontier_append(&t.f, leaf);
		if (!tree_check(&t))
			goto done;
	}
	if (!tree_check(&t))
		goto done;
	if (store_access_subject_each(s, index_row, &t.index, e) ||
	    (!ask->stopped && store_access_each(s, 1, tree_leaf, &t, e))) {
		rc = VIS_ERR_STORE;
		goto done;
	}
	if (ask->stopped) {
		rc = verify_stopped(e);
		goto done;
	}
	if (res->first_bad_id)
		goto done;
	if (t.index.oom) {
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
		goto done;
	}
	for (; t.index.pos < t.index.n; t.index.pos++)
		index_problem(&t.index, false, t.index.rows[t.index.pos].id,
			      t.index.rows[t.index.pos].cf, strlen(t.index.rows[t.index.pos].cf));
	if (t.index.total)
		index_report(&t.index, res);
done:
	free(t.heads);
	free(t.index.rows);
	return rc;
}

/* ---- retention purges ---- */

/* The records a purge removes: from the first present, every one older
 * than the cutoff up to `limit`, with their leaves. */
struct purge_pick {
	struct store *s;
	int64_t cutoff_ms, limit;
	int64_t first, n, max;
	char last_hash[65];
	uint8_t (*leaves)[MERKLE_HASH];
	int64_t cap;
	bool oom;
};

static int purge_pick_one(void *ctx, const struct store_access *a)
{
	struct purge_pick *p = ctx;
	if (a->id > p->limit || a->at >= p->cutoff_ms || p->n == p->max)
		return 1;
	if (!p->n)
		p->first = a->id;
	if (p->n == p->cap) {
		int64_t cap = p->cap ? p->cap * 2 : 1024;
		void *q = realloc(p->leaves, (size_t)cap * MERKLE_HASH);
		if (!q) {
			p->oom = true;
			return 1;
		}
		p->leaves = q;
		p->cap = cap;
	}
	audit_leaf_hash(a, p->leaves[p->n++]);
	memcpy(p->last_hash, a->hash, sizeof p->last_hash);
	return 0;
}


static int purge_message(const struct store_purge *p, char *msg, size_t cap)
{
	return snprintf(msg, cap, "visura-purge-v1.%lld.%lld.%s", (long long)p->up_to,
			(long long)p->at, p->last_hash);
}

struct purge_walk {
	struct store *s;
	int64_t id;                  /* purge_walk_find: the record looked for */
	struct store_purge last;     /* the newest purge (or the one covering id) */
	bool found;
	int64_t bad;                 /* up_to of a purge whose signature fails */
};

static int purge_load(void *ctx, const struct store_purge *p)
{
	struct purge_walk *w = ctx;
	char msg[160];
	int m = purge_message(p, msg, sizeof msg);
	if (!audit_signature_ok(w->s, msg, (size_t)m, p->signature)) {
		w->bad = p->up_to > 0 ? p->up_to : 1;
		return 1;
	}
	if (w->id > 0 && w->found)
		return 0;
	w->last = *p;
	w->found = true;
	if (w->id > 0 && p->up_to < w->id)
		w->found = false;
	return 0;
}

/* One batch of audit_purge: *up_to 0 when nothing (more) is to go. */
static vis_err purge_batch(struct store *s, const struct audit_key *key, int64_t cutoff_ms,
			   int64_t now_ms, int64_t batch, int64_t *up_to, int64_t *removed,
			   struct vis_error *e)
{
	*up_to = *removed = 0;
	int64_t last_id;
	char hash[65];
	struct store_head h;
	bool found;
	if (store_access_last(s, &last_id, hash, e) || store_head_last(s, &h, &found, e))
		return VIS_ERR_STORE;
	struct purge_pick p = {.s = s, .cutoff_ms = cutoff_ms, .max = batch,
			       .limit = found && h.size < last_id ? h.size : last_id};
	if (!found)
		p.limit = 0;   /* no head: no leaf is signed yet */
	if (p.limit > 0 && store_access_each(s, 1, purge_pick_one, &p, e)) {
		free(p.leaves);
		return VIS_ERR_STORE;
	}
	if (p.oom) {
		free(p.leaves);
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	/* Only records whose leaf the tree keeps, and unchanged. */
	for (int64_t i = 0; i < p.n; i++) {
		char hex[65];
		uint8_t leaf[MERKLE_HASH];
		if (store_tree_get(s, 0, p.first + i - 1, hex, &found, e)) {
			free(p.leaves);
			return VIS_ERR_STORE;
		}
		if (!found || !bin_of(hex, leaf) || memcmp(leaf, p.leaves[i], MERKLE_HASH)) {
			free(p.leaves);
			return vis_error_set(e, VIS_ERR_CONFLICT,
					     "la registrazione %lld non corrisponde alla sua "
					     "foglia nell'albero del registro degli accessi "
					     "(eseguire visura audit verify): nulla eliminato",
					     (long long)(p.first + i));
		}
	}
	free(p.leaves);
	if (p.n == 0)
		return VIS_OK;
	struct store_purge rec = {.up_to = p.first + p.n - 1, .at = now_ms};
	memcpy(rec.last_hash, p.last_hash, sizeof rec.last_hash);
	char msg[160];
	int m = purge_message(&rec, msg, sizeof msg);
	audit_sign(key, msg, (size_t)m, rec.signature);
	if (store_access_purge(s, rec.up_to, &rec, removed, e))
		return VIS_ERR_STORE;
	*up_to = rec.up_to;
	return VIS_OK;
}

vis_err audit_purge(struct store *s, const struct audit_key *key, const struct audit_purge_opts *o,
		    int64_t *up_to, int64_t *removed, struct vis_error *e)
{
	*up_to = *removed = 0;
	if (o->batch < 1)
		return vis_error_set(e, VIS_ERR_INTERNAL, "eliminazione a lotti di %lld",
				     (long long)o->batch);
	for (;;) {
		int64_t to, n;
		vis_err rc = purge_batch(s, key, o->cutoff_ms, o->now_ms, o->batch, &to, &n, e);
		if (rc)
			return rc;
		if (!to)
			return VIS_OK;
		*up_to = to;
		*removed += n;
		if (o->progress)
			o->progress(o->ctx, *up_to, *removed);
	}
}

static vis_err verify_snapshot(struct store *s, const struct checkpoint *kept,
			       struct asker *ask, struct audit_verify_result *res,
			       struct vis_error *e)
{
	memset(res, 0, sizeof *res);
	struct cp_walk cw = {.s = s, .res = res, .e = e};
	struct purge_walk pw = {.s = s};
	char last_hash[65];
	if (store_access_each(s, 1, first_record, &cw, e) ||
	    store_access_last(s, &cw.last_id, last_hash, e) ||
	    store_purge_each(s, purge_load, &pw, e))
		return VIS_ERR_STORE;
	if (pw.bad) {
		snprintf(res->why, sizeof res->why, "l'eliminazione per conservazione fino alla "
						    "registrazione %lld ha una firma non valida: è "
						    "stata falsificata o "
						    "alterata", (long long)pw.bad);
		res->first_bad_id = pw.bad;
		return VIS_OK;
	}
	/* Every record purged: the trail starts after the last one. */
	if (!cw.first_id && pw.found)
		cw.first_id = cw.last_id + 1;
	/* After a retention purge the trail starts later: a signed purge
	 * covers the records before the first (older trails: the first
	 * record follows a signed checkpoint), and the first points at the
	 * last purged record's hash. */
	struct walk w = {.res = res, .expect_id = cw.first_id ? cw.first_id : 1, .ask = ask};
	if (cw.first_id > 1)
		memcpy(w.prev, cw.first_prev, sizeof w.prev);
	bool purged = cw.first_id > 1 && pw.found && pw.last.up_to >= cw.first_id - 1;
	if (purged && pw.last.up_to == cw.first_id - 1 && cw.first_id <= cw.last_id &&
	    strcmp(cw.first_prev, pw.last.last_hash)) {
		snprintf(res->why, sizeof res->why, "la registrazione %lld non rimanda all'hash "
						    "dell'ultima "
						    "registrazione eliminata",
						    (long long)cw.first_id);
		res->first_bad_id = cw.first_id;
		return VIS_OK;
	}
	if (store_access_each(s, 1, check, &w, e))
		return VIS_ERR_STORE;
	if (ask->stopped)
		return verify_stopped(e);
	if (res->first_bad_id)
		return VIS_OK;
	if (store_checkpoint_each(s, check_checkpoint, &cw, e))
		return VIS_ERR_STORE;
	if (res->first_bad_id)
		return VIS_OK;
	if (cw.first_id > 1 && (purged || cw.start_anchored)) {
		res->purged = cw.first_id - 1;
		res->purged_at = pw.found ? pw.last.at : 0;
	}
	if (cw.first_id > 1 && !purged && !cw.start_anchored) {
		snprintf(res->why, sizeof res->why,
			 "mancano le registrazioni da 1 a %lld e nessuna eliminazione per "
			 "conservazione firmata le copre (né un punto di controllo firmato): sono "
			 "state cancellate",
			 (long long)cw.first_id - 1);
		res->first_bad_id = cw.first_id;
	} else if (cw.max_checkpoint > cw.last_id) {
		snprintf(res->why, sizeof res->why,
			 "il registro degli accessi finisce alla registrazione %lld ma un punto di "
			 "controllo firmato copre fino alla %lld: sono state rimosse registrazioni "
			 "dalla fine", (long long)cw.last_id,
			 (long long)cw.max_checkpoint);
		res->first_bad_id = cw.last_id + 1;
	}
	if (res->first_bad_id)
		return VIS_OK;
	return verify_tree(s, cw.first_id, cw.last_id, kept, ask, res, e);
}

/* ---- group commit ---- */

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

struct pending {
	struct store_access *rec;
	vis_err rc;
	bool done;
	audit_build_fn build;     /* async: the answer's bytes, then */
	audit_done_fn callback;   /* called, then the node is freed */
	void *ctx;
	/* While the batch's receipts are made (the writer thread): */
	const char *body;         /* build's bytes, NULL when none */
	size_t len;
	char *receipt;            /* malloc'd; NULL until made */
	struct vis_error err;     /* why there is no receipt */
	struct pending *next;
};

struct audit_writer {
	struct store *s;
	struct audit_key key;
	bool signing;
	char origin[CHECKPOINT_NAME_MAX + 1];
	char heads_file[4096];
	int heads_fd;                   /* opened at start, before privileges drop */
	_Atomic int64_t heads_failing;  /* monotonic s of the first failed append, or 0 */
	struct merkle_frontier front;   /* the tree as of the last commit */
	bool front_ok;
	/* While the callbacks of a committed batch run: its tree and head. */
	struct merkle_batch batch;
	bool batch_ok;
	struct checkpoint signed_head;
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

/* A merkle_node_fn over the nodes the store keeps. */
static int store_node(void *ctx, int level, uint64_t idx, uint8_t out[MERKLE_HASH])
{
	char hex[65];
	bool found;
	if (idx > INT64_MAX || store_tree_get(ctx, level, (int64_t)idx, hex, &found, NULL) ||
	    !found)
		return -1;
	return bin_of(hex, out) ? 0 : -1;
}

vis_err audit_tree_root(struct store *s, uint64_t n, uint8_t root[MERKLE_HASH],
			struct vis_error *e)
{
	if (merkle_root(store_node, s, n, root))
		return vis_error_set(e, VIS_ERR_NOTFOUND, "l'albero del registro degli accessi ha "
							  "meno di %llu foglie",
				     (unsigned long long)n);
	return VIS_OK;
}

vis_err audit_tree_consistency(struct store *s, uint64_t m, uint64_t n,
			       uint8_t proof[][MERKLE_HASH], int *len, struct vis_error *e)
{
	if (m > n)
		return vis_error_set(e, VIS_ERR_INVALID, "l'inizio dell'intervallo è dopo la fine");
	if (merkle_consistency_proof(store_node, s, m, n, proof, len))
		return vis_error_set(e, VIS_ERR_NOTFOUND, "l'albero del registro degli accessi ha "
							  "meno di %llu foglie",
				     (unsigned long long)n);
	return VIS_OK;
}

vis_err audit_tree_inclusion(struct store *s, uint64_t index, uint64_t n,
			     uint8_t leaf[MERKLE_HASH], uint8_t proof[][MERKLE_HASH], int *len,
			     struct vis_error *e)
{
	if (store_node(s, 0, index, leaf) ||
	    merkle_inclusion_proof(store_node, s, index, n, proof, len))
		return vis_error_set(e, VIS_ERR_NOTFOUND, "l'albero del registro degli accessi non "
							  "ha la foglia %llu sotto una testa di "
							  "%llu", (unsigned long long)index,
				     (unsigned long long)n);
	return VIS_OK;
}

/* The frontier of the tree of `size` leaves from the store, inside the
 * writer's transaction; the leaves of records the tree does not have yet
 * (a trail from before the tree) are added to `leaves` first. */
struct catch_up {
	uint8_t (*leaves)[MERKLE_HASH];
	uint64_t n, cap;
	int64_t expect;
	bool gap;
};

static int catch_one(void *ctx, const struct store_access *a)
{
	struct catch_up *c = ctx;
	if (a->id != c->expect) {
		c->gap = true;
		return 1;
	}
	if (c->n == c->cap) {
		uint64_t cap = c->cap ? c->cap * 2 : 1024;
		void *p = realloc(c->leaves, (size_t)cap * MERKLE_HASH);
		if (!p) {
			c->gap = true;
			return 1;
		}
		c->leaves = p;
		c->cap = cap;
	}
	audit_leaf_hash(a, c->leaves[c->n++]);
	c->expect++;
	return 0;
}

static vis_err frontier_load(struct audit_writer *w, int64_t last_id, struct catch_up *c,
			     struct vis_error *e)
{
	struct store_head h;
	bool found;
	if (w->front_ok && w->front.size == (uint64_t)last_id)
		return VIS_OK;
	if (store_head_last(w->s, &h, &found, e))
		return VIS_ERR_STORE;
	uint64_t size = found ? (uint64_t)h.size : 0;
	if (size > (uint64_t)last_id)
		return vis_error_set(e, VIS_ERR_CONFLICT,
				     "il registro degli accessi finisce alla registrazione %lld ma "
				     "una testa firmata copre %llu: sono state rimosse "
				     "registrazioni", (long long)last_id,
				     (unsigned long long)size);
	memset(&w->front, 0, sizeof w->front);
	w->front.size = size;
	int lv[64], nl = merkle_frontier_levels(size, lv);
	for (int i = 0; i < nl; i++)
		if (store_node(w->s, lv[i], (size >> lv[i]) - 1, w->front.node[lv[i]]))
			return vis_error_set(e, VIS_ERR_CONFLICT,
					     "all'albero del registro degli accessi manca il nodo "
					     "%d/%llu", lv[i],
					     (unsigned long long)((size >> lv[i]) - 1));
	if (size < (uint64_t)last_id) {
		c->expect = (int64_t)size + 1;
		if (store_access_each(w->s, c->expect, catch_one, c, e))
			return VIS_ERR_STORE;
		if (c->gap || c->n != (uint64_t)last_id - size)
			return vis_error_set(e, VIS_ERR_CONFLICT,
					     "le registrazioni da %llu a %lld non hanno foglie e "
					     "non si possono leggere",
					     (unsigned long long)size + 1, (long long)last_id);
	}
	w->front_ok = true;
	return VIS_OK;
}

/* Appends a committed head to the file outside the database. */
static void head_publish(struct audit_writer *w)
{
	if (w->heads_fd < 0)
		return;
	size_t len = strlen(w->signed_head.text);
	bool ok = write(w->heads_fd, w->signed_head.text, len) == (ssize_t)len &&
		  fsync(w->heads_fd) == 0;
	int64_t none = 0;
	if (ok) {
		atomic_store(&w->heads_failing, 0);
		return;
	}
	/* Since the first failure (the publisher's grace rule reads it). */
	atomic_compare_exchange_strong(&w->heads_failing, &none, monotime_s() + 1);
	log_warn("testa del registro non aggiunta al file delle teste", "file=%s size=%llu",
		 w->heads_file, (unsigned long long)w->signed_head.size);
}

/* Commits one batch: ids and hashes follow the chain in queue order; the
 * tree grows by the batch's leaves and its new head is signed in the same
 * transaction.  n == 0: only a head for the trail as it is, when it has
 * none (start, clean shutdown, a trail from before the tree). */
static vis_err commit_batch(struct audit_writer *w, struct pending **batch, int n)
{
	struct vis_error e = {0};
	int64_t last_id;
	char prev[65];
	struct catch_up c = {0};
	w->batch_ok = false;
	if (store_begin_trail(w->s, &e))
		return VIS_ERR_STORE;
	if (store_access_last(w->s, &last_id, prev, &e))
		goto fail;
	if (w->signing && frontier_load(w, last_id, &c, &e))
		goto fail;
	if (w->signing && n == 0 && c.n == 0) {
		/* Nothing to add: a head exists for this size unless the
		 * trail is empty and unsigned. */
		struct store_head h;
		bool found;
		if (store_head_last(w->s, &h, &found, &e))
			goto fail;
		if (found || last_id > 0) {
			store_rollback(w->s);
			return VIS_OK;
		}
	}
	if (c.n + (uint64_t)n > c.cap && c.n + (uint64_t)n > 0) {
		void *p = realloc(c.leaves, (size_t)(c.n + (uint64_t)n) * MERKLE_HASH);
		if (!p)
			goto fail;
		c.leaves = p;
	}
	for (int i = 0; i < n; i++) {
		struct store_access *r = batch[i]->rec;
		record_scrub(r);
		r->id = ++last_id;
		memcpy(r->prev_hash, prev, sizeof prev);
		audit_hash(r, prev, r->hash);
		memcpy(prev, r->hash, sizeof prev);
		audit_leaf_hash(r, c.leaves[c.n + (uint64_t)i]);
		if (store_access_insert(w->s, r, &e))
			goto fail;
	}
	if (w->signing) {
		if (merkle_batch_build(&w->batch, &w->front, (const uint8_t(*)[MERKLE_HASH])c.leaves,
				       c.n + (uint64_t)n))
			goto fail;
		w->batch_ok = true;
		for (int l = 0; l < w->batch.levels; l++)
			for (uint64_t j = 0; j < w->batch.count[l]; j++) {
				char hex[65];
				hex_of(w->batch.node[l][j], hex);
				if (store_tree_put(w->s, l, (int64_t)(w->batch.lo[l] + j), hex, &e))
					goto fail;
			}
		struct store_head h = {.size = (int64_t)w->batch.now.size};
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		h.at = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		hex_of(w->batch.root, h.root);
		if (checkpoint_sign(&w->signed_head, w->origin, w->batch.now.size, w->batch.root,
				    w->key.sk) ||
		    !STR_COPY(h.note, w->signed_head.text) || store_head_insert(w->s, &h, &e))
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
	free(c.leaves);
	if (w->batch_ok) {
		w->front = w->batch.now;
		head_publish(w);
	}
	return VIS_OK;
fail:
	store_rollback(w->s);
	free(c.leaves);
	if (w->batch_ok)
		merkle_batch_release(&w->batch);
	w->batch_ok = false;
	w->front_ok = false;
	if (e.code)
		log_error("registro degli accessi non scritto", "records=%d why=%s", n, e.msg);
	return VIS_ERR_STORE;
}

static void receipts_issue(struct audit_writer *w, struct pending **batch, int n, vis_err rc);

static void *writer_main(void *arg)
{
	struct audit_writer *w = arg;
	struct pending *batch[AUDIT_MAX_BATCH];
	/* Named for perf and top (bench/lookup/run.sh, PERF=1). */
	pthread_setname_np(pthread_self(), "audit-writer");
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
		int64_t t0 = monotime_ns() / 1000;
		vis_err rc = commit_batch(w, batch, n);
		int64_t dt = monotime_ns() / 1000 - t0;
		/* Asynchronous submitters are told outside the lock: every
		 * answer built, their receipts made under one signature, then
		 * each sent. */
		receipts_issue(w, batch, n, rc);
		for (int i = 0; i < n; i++) {
			struct pending *p = batch[i];
			if (p->callback) {
				if (rc)
					vis_error_set(&p->err, rc, "registro degli accessi non "
								   "scrivibile");
				vis_err prc = rc ? rc : p->err.code;
				p->callback(p->ctx, prc, p->receipt, prc ? &p->err : NULL);
				free(p->receipt);
				free(p);
				batch[i] = NULL;
			}
		}
		if (w->batch_ok)
			merkle_batch_release(&w->batch);
		w->batch_ok = false;
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

/* A writer whose thread never started. */
static void writer_free_early(struct audit_writer *w)
{
	store_close(w->s);
	if (w->heads_fd >= 0)
		close(w->heads_fd);
	sodium_memzero(&w->key, sizeof w->key);
	free(w);
}

vis_err audit_writer_start(const char *db_uri, const struct audit_key *key,
			   const struct audit_trail_config *tc, struct audit_writer **out,
			   struct vis_error *e)
{
	struct audit_writer *w = calloc(1, sizeof *w);
	if (!w)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	if (key) {
		w->key = *key;
		w->signing = true;
		w->checkpoint_at = (int64_t)time(NULL);
		if (tc && tc->origin && tc->origin[0]) {
			if (!checkpoint_name_ok(tc->origin) || !STR_COPY(w->origin, tc->origin)) {
				free(w);
				return vis_error_set(e, VIS_ERR_INVALID,
						     "trail_origin: ASCII stampabile senza spazi, "
						     "al massimo %d byte", CHECKPOINT_NAME_MAX);
			}
		} else {
			audit_origin_default(key->pk, w->origin);
		}
		if (tc && tc->heads_file && !STR_COPY(w->heads_file, tc->heads_file)) {
			free(w);
			return vis_error_set(e, VIS_ERR_LIMIT, "trail_heads_file: troppo lungo");
		}
	}
	w->heads_fd = -1;
	if (w->heads_file[0] &&
	    (w->heads_fd = open(w->heads_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) < 0) {
		vis_error_set(e, VIS_ERR_IO, "trail_heads_file: impossibile aprire '%s' in "
					     "aggiunta",
			      w->heads_file);
		free(w);
		return VIS_ERR_IO;
	}
	if (store_open(db_uri, &w->s, e)) {
		if (w->heads_fd >= 0)
			close(w->heads_fd);
		free(w);
		return VIS_ERR_STORE;
	}
	/* The origin, for those appending outside the server; then a trail
	 * from before the tree gets its leaves and a head. */
	char stored[CHECKPOINT_NAME_MAX + 1];
	bool found;
	if (w->signing &&
	    (store_setting_get(w->s, "trail_origin", stored, sizeof stored, &found, e) ||
	     ((!found || strcmp(stored, w->origin)) &&
	      store_setting_put(w->s, "trail_origin", w->origin, e)))) {
		writer_free_early(w);
		return VIS_ERR_STORE;
	}
	if (w->signing && commit_batch(w, NULL, 0)) {
		writer_free_early(w);
		return vis_error_set(e, VIS_ERR_STORE, "l'albero del registro degli accessi non si "
						       "può aggiornare (vedere il log)");
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->done, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		writer_free_early(w);
		return vis_error_set(e, VIS_ERR_INTERNAL, "impossibile avviare chi scrive il "
							  "registro degli accessi");
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
	/* A head for the trail as it is (another instance may have added
	 * records after this one's last head). */
	if (w->signing && commit_batch(w, NULL, 0))
		log_warn("nessuna testa del registro all'arresto", "origin=%s", w->origin);
	store_close(w->s);
	if (w->heads_fd >= 0)
		close(w->heads_fd);
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
		return vis_error_set(e, VIS_ERR_STORE, "il registro degli accessi si sta "
						       "chiudendo");
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
		return vis_error_set(e, p.rc, "la registrazione dell'accesso non si è potuta "
					      "confermare");
	return VIS_OK;
}

vis_err audit_submit_async(struct audit_writer *w, struct store_access *rec,
			   audit_build_fn build, audit_done_fn done, void *ctx,
			   struct vis_error *e)
{
	struct pending *p = calloc(1, sizeof *p);
	if (!p)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	p->rec = rec;
	p->build = build;
	p->callback = done;
	p->ctx = ctx;
	pthread_mutex_lock(&w->lock);
	if (w->stop) {
		pthread_mutex_unlock(&w->lock);
		free(p);
		return vis_error_set(e, VIS_ERR_STORE, "il registro degli accessi si sta "
						       "chiudendo");
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

int64_t audit_writer_heads_failing(struct audit_writer *w)
{
	return w ? atomic_load(&w->heads_failing) : 0;
}

void audit_writer_stats(struct audit_writer *w, struct audit_writer_stats *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->stats;
	pthread_mutex_unlock(&w->lock);
}

/* ---- receipts ---- */

#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING

static void body_sha(const char *body, size_t len, char out[65])
{
	uint8_t d[SHA256_BYTES];
	sha256_of(body, len, d);
	str_hex(out, d, sizeof d);
}

/* The longest receipt the writer can make: a head of the longest origin
 * with its one signature line, a proof of MERKLE_PROOF_MAX hashes, the
 * path of a full batch; numbers of 19 digits.  It must fit, with its NUL. */
#define B64URL_LEN(n) (((n) * 4 + 2) / 3)
#define RECEIPT_PATH_MAX 10
_Static_assert(((size_t)1 << RECEIPT_PATH_MAX) >= AUDIT_MAX_BATCH,
	       "a batch's receipt path is at most RECEIPT_PATH_MAX hashes");
#define RECEIPT_HEAD_MAX (2 * CHECKPOINT_NAME_MAX + 20 + 44 + 92 + 10)
#define RECEIPT_LONGEST                                                                    \
	(2 + 3 * 19 + 64 + 64 + B64URL_LEN(RECEIPT_HEAD_MAX) +                             \
	 B64URL_LEN(MERKLE_PROOF_MAX * MERKLE_HASH) + 4 + 4 +                              \
	 B64URL_LEN(RECEIPT_PATH_MAX * MERKLE_HASH) + B64URL_LEN(64) + 11)
_Static_assert(RECEIPT_LONGEST < AUDIT_RECEIPT_MAX, "the longest receipt must fit");

/* The message a batch's signature covers: spaces, no newline (a tree
 * head's text always has one, its origin none), "visura " first (v1/v2
 * receipts begin with "v1."/"v2.", checkpoints and purges with "visura-"). */
#define RECEIPT_BATCH_PREFIX "visura receipt batch v1 "

static void batch_message(uint64_t size, const uint8_t root[MERKLE_HASH], struct strbuf *sb)
{
	char hex[65];
	hex_of(root, hex);
	strbuf_adds(sb, RECEIPT_BATCH_PREFIX);
	strbuf_add_i64(sb, (int64_t)size);
	strbuf_add(sb, " ", 1);
	strbuf_adds(sb, hex);
}

/* A receipt's first eight fields: v3.id.at.purpose.sha.leaf.head.proof
 * (pieces appended: no printf on every answer). */
static vis_err receipt_fields(struct audit_writer *w, const struct store_access *rec,
			      const char *body, size_t len, const char *head_b64,
			      struct strbuf *sb, struct vis_error *e)
{
	uint64_t index = (uint64_t)rec->id - 1;
	if (!w->batch_ok || rec->id < 1 || index < w->batch.old.size ||
	    index >= w->batch.now.size)
		return vis_error_set(e, VIS_ERR_INTERNAL, "la registrazione %lld non è nel gruppo "
							  "appena confermato", (long long)rec->id);
	uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH], leaf[MERKLE_HASH];
	int plen;
	if (merkle_inclusion_proof(merkle_batch_node, &w->batch, index, w->batch.now.size, proof,
				   &plen) ||
	    merkle_batch_node(&w->batch, 0, index, leaf))
		return vis_error_set(e, VIS_ERR_INTERNAL, "nessuna prova di inclusione per la "
							  "registrazione %lld",
				     (long long)rec->id);
	char sha[65], leafhex[65];
	char pr[sodium_base64_ENCODED_LEN(MERKLE_PROOF_MAX * MERKLE_HASH, B64URL)];
	body_sha(body, len, sha);
	hex_of(leaf, leafhex);
	str_base64(pr, sizeof pr, proof, (size_t)plen * MERKLE_HASH, STR_B64URL);
	const int64_t nums[] = {rec->id, rec->at, rec->purpose_id};
	const char *texts[] = {sha, leafhex, head_b64, pr};
	strbuf_add(sb, "v3", 2);
	for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
		strbuf_add(sb, ".", 1);
		strbuf_add_i64(sb, nums[i]);
	}
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
		strbuf_add(sb, ".", 1);
		strbuf_adds(sb, texts[i]);
	}
	return sb->err ? vis_error_set(e, sb->err, "la ricevuta della registrazione %lld non sta "
						   "in %d "
						   "byte", (long long)rec->id, AUDIT_RECEIPT_MAX)
		       : VIS_OK;
}

/* The receipts of a committed batch (the writer thread): every answer
 * built first, each one's first fields and leaf, the receipt tree over
 * them, its root signed once, then each receipt completed with its place,
 * its path and that signature.  An answer with no bytes, or whose receipt
 * fails, is left out; the others go on. */
static void receipts_issue(struct audit_writer *w, struct pending **batch, int n, vis_err rc)
{
	if (rc)
		return;
	struct pending **got = malloc((size_t)n * sizeof *got);
	struct strbuf *sb = malloc((size_t)n * sizeof *sb);
	uint8_t(*leaves)[MERKLE_HASH] = malloc((size_t)n * MERKLE_HASH);
	int m = 0, k = 0;
	for (int i = 0; i < n; i++) {
		struct pending *p = batch[i];
		if (!p->callback || !p->build || !(p->body = p->build(p->ctx, &p->len)))
			continue;
		if (!got || !sb || !leaves)
			vis_error_set(&p->err, VIS_ERR_NOMEM, "memoria esaurita per le ricevute");
		else
			got[m++] = p;
	}
	if (m == 0)
		goto out;
	char head[sodium_base64_ENCODED_LEN(CHECKPOINT_TEXT_MAX, B64URL)];
	head[0] = '\0';   /* not zero-filled: this runs for every commit */
	if (w->batch_ok)
		str_base64(head, sizeof head, w->signed_head.text, strlen(w->signed_head.text),
			   STR_B64URL);
	for (int j = 0; j < m; j++) {
		struct pending *p = got[j];
		strbuf_init(&sb[k], AUDIT_RECEIPT_MAX - 1);
		if (receipt_fields(w, p->rec, p->body, p->len, head, &sb[k], &p->err)) {
			strbuf_release(&sb[k]);
			log_error("nessuna ricevuta per una risposta", "access_id=%lld why=%s",
				  (long long)p->rec->id, p->err.msg);
			continue;
		}
		merkle_leaf_hash(sb[k].buf, sb[k].len, leaves[k]);
		got[k++] = p;
	}
	if (k == 0)
		goto out;
	struct merkle_batch tree;
	static const struct merkle_frontier empty;
	struct strbuf msg;
	char sig[100];
	if (merkle_batch_build(&tree, &empty, (const uint8_t(*)[MERKLE_HASH])leaves,
			       (uint64_t)k)) {
		for (int j = 0; j < k; j++) {
			vis_error_set(&got[j]->err, VIS_ERR_NOMEM, "memoria esaurita per le "
								   "ricevute");
			strbuf_release(&sb[j]);
		}
		goto out;
	}
	strbuf_init(&msg, 200);
	batch_message((uint64_t)k, tree.root, &msg);
	audit_sign(&w->key, msg.buf, msg.len, sig);
	strbuf_release(&msg);
	for (int j = 0; j < k; j++) {
		struct pending *p = got[j];
		uint8_t path[RECEIPT_PATH_MAX][MERKLE_HASH];
		char pb[sodium_base64_ENCODED_LEN(RECEIPT_PATH_MAX * MERKLE_HASH, B64URL)];
		int plen;
		if (merkle_inclusion_proof(merkle_batch_node, &tree, (uint64_t)j, (uint64_t)k, path,
					   &plen)) {
			vis_error_set(&p->err, VIS_ERR_INTERNAL, "nessun percorso nell'albero "
								 "delle ricevute");
			strbuf_release(&sb[j]);
			continue;
		}
		str_base64(pb, sizeof pb, path, (size_t)plen * MERKLE_HASH, STR_B64URL);
		const int64_t nums[] = {j, k};
		for (size_t i = 0; i < 2; i++) {
			strbuf_add(&sb[j], ".", 1);
			strbuf_add_i64(&sb[j], nums[i]);
		}
		strbuf_add(&sb[j], ".", 1);
		strbuf_adds(&sb[j], pb);
		strbuf_add(&sb[j], ".", 1);
		strbuf_adds(&sb[j], sig);
		if (sb[j].err) {
			vis_error_set(&p->err, sb[j].err, "la ricevuta della registrazione %lld "
							  "non sta in %d byte",
							  (long long)p->rec->id, AUDIT_RECEIPT_MAX);
			log_error("nessuna ricevuta per una risposta", "access_id=%lld why=%s",
				  (long long)p->rec->id, p->err.msg);
			strbuf_release(&sb[j]);
			continue;
		}
		p->receipt = strbuf_detach(&sb[j], NULL);
	}
	merkle_batch_release(&tree);
out:
	free(got);
	free(sb);
	free(leaves);
}

static bool dec_i64(const char *s, size_t n, int64_t *out)
{
	if (n == 0 || n > 18 || (n > 1 && s[0] == '0'))
		return false;
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static bool hex64(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

const char *audit_receipt_verify(const char *receipt, const uint8_t pk[32], const char *body,
				 size_t len, struct audit_receipt_info *out)
{
	/* v2 . id . at . purpose . body sha . leaf . head . proof . signature
	 * v3 . (the same seven) . index . size . path . batch signature */
	const char *f[12];
	size_t fl[12];
	int nf = 0;
	size_t total = strlen(receipt);
	if (total > AUDIT_RECEIPT_MAX)
		return "non è una ricevuta di visura: troppo lunga";
	for (const char *p = receipt;; nf++) {
		const char *dot = strchr(p, '.');
		if (nf == 12)
			return "non è una ricevuta di visura: troppi campi";
		f[nf] = p;
		fl[nf] = dot ? (size_t)(dot - p) : strlen(p);
		if (!dot) {
			nf++;
			break;
		}
		p = dot + 1;
	}
	int version = fl[0] == 2 && !memcmp(f[0], "v2", 2) ? 2
		      : fl[0] == 2 && !memcmp(f[0], "v3", 2) ? 3 : 0;
	if (version == 2 && nf != 9)
		return "non è una ricevuta di visura (v2): servono nove campi";
	if (version == 3 && nf != 12)
		return "non è una ricevuta di visura (v3): servono dodici campi";
	if (!version)
		return "non è una ricevuta di visura: serve v2 o v3";
	memset(out, 0, sizeof *out);
	out->version = version;
	if (!dec_i64(f[1], fl[1], &out->id) || out->id < 1 || !dec_i64(f[2], fl[2], &out->at) ||
	    !dec_i64(f[3], fl[3], &out->purpose_id))
		return "non è una ricevuta di visura: i suoi numeri sono malformati";
	if (!hex64(f[4], fl[4]) || !hex64(f[5], fl[5]))
		return "non è una ricevuta di visura: i suoi hash sono malformati";
	static _Thread_local char note[CHECKPOINT_TEXT_MAX + 1];
	uint8_t proof[MERKLE_PROOF_MAX + 1][MERKLE_HASH], sig[crypto_sign_BYTES];
	size_t n, pn;
	if (sodium_base642bin((unsigned char *)note, CHECKPOINT_TEXT_MAX, f[6], fl[6], NULL, &n,
			      NULL, B64URL))
		return "la testa della ricevuta non è base64url";
	const char *why = checkpoint_parse(&out->head, note, n);
	if (why)
		return why;
	if (sodium_base642bin((unsigned char *)proof, sizeof proof, f[7], fl[7], NULL, &pn, NULL,
			      B64URL) || pn % MERKLE_HASH || pn / MERKLE_HASH > MERKLE_PROOF_MAX)
		return "la prova di inclusione della ricevuta è malformata";
	int sf = nf - 1;   /* the signature's field */
	if (sodium_base642bin(sig, sizeof sig, f[sf], fl[sf], NULL, &n, NULL, B64URL) ||
	    n != sizeof sig)
		return "la firma della ricevuta è malformata";
	/* v3: its place in the batch's receipt tree, and the path there */
	int64_t bi = 0, bs = 0;
	uint8_t path[MERKLE_PROOF_MAX + 1][MERKLE_HASH];
	size_t pl = 0;
	if (version == 3 &&
	    (!dec_i64(f[8], fl[8], &bi) || !dec_i64(f[9], fl[9], &bs) || bs < 1 || bi >= bs))
		return "non è una ricevuta di visura: la sua posizione nel gruppo è malformata";
	if (version == 3 &&
	    (sodium_base642bin((unsigned char *)path, sizeof path, f[10], fl[10], NULL, &pl, NULL,
			       B64URL) || pl % MERKLE_HASH || pl / MERKLE_HASH > MERKLE_PROOF_MAX))
		return "il percorso della ricevuta nel suo gruppo è malformato";
	if ((why = checkpoint_verify(&out->head, pk)))
		return why;
	out->index = (uint64_t)out->id - 1;
	sodium_hex2bin(out->leaf, sizeof out->leaf, f[5], 64, NULL, &n, NULL);
	if (!merkle_inclusion_verify(out->leaf, out->index, out->head.size,
				     (const uint8_t(*)[MERKLE_HASH])proof, (int)(pn / MERKLE_HASH),
				     out->head.root))
		return "la prova di inclusione non porta dalla foglia della registrazione alla "
		       "radice della testa: la registrazione, la prova o la testa della ricevuta "
		       "sono state alterate";
	if (version == 2) {
		if (crypto_sign_verify_detached(sig, (const unsigned char *)receipt,
						(size_t)(f[8] - 1 - receipt), pk) != 0)
			return "la firma della ricevuta non si verifica: è stata alterata";
	} else {
		uint8_t leaf[MERKLE_HASH], root[MERKLE_HASH];
		merkle_leaf_hash(receipt, (size_t)(f[8] - 1 - receipt), leaf);
		if (!merkle_inclusion_root(leaf, (uint64_t)bi, (uint64_t)bs,
					   (const uint8_t(*)[MERKLE_HASH])path,
					   (int)(pl / MERKLE_HASH), root))
			return "il percorso della ricevuta non è compatibile con un gruppo di "
			       "quella dimensione: è stata alterata";
		struct strbuf msg;
		strbuf_init(&msg, 200);
		batch_message((uint64_t)bs, root, &msg);
		bool ok = !msg.err && crypto_sign_verify_detached(sig, (const unsigned char *)msg.buf,
								 msg.len, pk) == 0;
		strbuf_release(&msg);
		if (!ok)
			return "la firma del gruppo non si verifica sulla radice a cui porta il "
			       "percorso della ricevuta: la ricevuta è stata alterata, o spostata "
			       "da un altro gruppo";
		out->batch_index = (uint64_t)bi;
		out->batch_size = (uint64_t)bs;
	}
	if (body) {
		char mine[65];
		body_sha(body, len, mine);
		if (memcmp(mine, f[4], 64))
			return "la risposta è stata alterata: il suo hash non corrisponde alla "
			       "ricevuta";
	}
	return NULL;
}

static const char *receipt_check_v1(struct store *s, const char *receipt, const char *body,
				    size_t len, struct vis_error *e)
{
	long long id, at, purpose;
	char sha[65], sig[100];
	int consumed = 0;
	if (sscanf(receipt, "v1.%lld.%lld.%lld.%64[0-9a-f].%99[A-Za-z0-9_-]%n", &id, &at, &purpose,
		   sha, sig, &consumed) != 5 || receipt[consumed] != '\0' || strlen(sha) != 64)
		return "non è una ricevuta di visura";
	const char *dot = strrchr(receipt, '.');
	if (!audit_signature_ok(s, receipt, (size_t)(dot - receipt), sig))
		return "la firma non corrisponde alla chiave di questo database";
	struct store_access rec;
	bool found;
	if (store_access_get(s, id, &rec, &found, e))
		return "il database non si può leggere";
	if (!found)
		return "nessuna registrazione di accesso con quel numero";
	if (rec.at != at || rec.purpose_id != purpose)
		return "la registrazione dell'accesso non corrisponde alla ricevuta";
	if (body) {
		char mine[65];
		body_sha(body, len, mine);
		if (strcmp(mine, sha))
			return "la risposta è stata alterata: il suo hash non corrisponde alla "
			       "ricevuta";
	}
	return NULL;
}

/* The subjects are not needed for the leaf: store_access_each gives them. */
struct leaf_of {
	int64_t id;
	bool found;
	uint8_t leaf[MERKLE_HASH];
	int64_t at, purpose_id;
};

static int leaf_one(void *ctx, const struct store_access *a)
{
	struct leaf_of *l = ctx;
	if (a->id == l->id) {
		l->found = true;
		l->at = a->at;
		l->purpose_id = a->purpose_id;
		audit_leaf_hash(a, l->leaf);
	}
	return 1;
}

const char *audit_receipt_check(struct store *s, const char *receipt, const char *body,
				size_t len, int64_t *purged_at, struct vis_error *e)
{
	if (purged_at)
		*purged_at = 0;
	if (!strncmp(receipt, "v1.", 3))
		return receipt_check_v1(s, receipt, body, len, e);
	uint8_t pk[32];
	if (!audit_public_key(s, pk))
		return "il database non ha una chiave pubblica di firma";
	static _Thread_local struct audit_receipt_info info;
	const char *why = audit_receipt_verify(receipt, pk, body, len, &info);
	if (why)
		return why;
	struct leaf_of l = {.id = info.id};
	if (store_access_each(s, info.id, leaf_one, &l, e))
		return "il database non si può leggere";
	if (!l.found) {
		/* Purged: the tree keeps its leaf. */
		char hex[65];
		uint8_t leaf[MERKLE_HASH];
		bool found;
		if (store_tree_get(s, 0, (int64_t)info.index, hex, &found, e))
			return "il database non si può leggere";
		if (!found || !bin_of(hex, leaf) || memcmp(leaf, info.leaf, MERKLE_HASH))
			return "nessuna registrazione di accesso con quel numero, e l'albero del "
			       "registro degli accessi non ne contiene la foglia: il registro è "
			       "stato tagliato";
		struct purge_walk pw = {.s = s, .id = info.id};
		if (store_purge_each(s, purge_load, &pw, e))
			return "il database non si può leggere";
		if (pw.bad)
			return "un'eliminazione per conservazione del registro degli accessi ha "
			       "una firma non valida: è stata falsificata";
		if (!pw.found)
			return "la registrazione dell'accesso è stata cancellata dal registro: "
			       "nessuna eliminazione per conservazione firmata la copre (la sua "
			       "foglia è ancora nell'albero)";
		if (purged_at)
			*purged_at = pw.last.at;
		return NULL;
	}
	if (l.at != info.at || l.purpose_id != info.purpose_id ||
	    memcmp(l.leaf, info.leaf, MERKLE_HASH))
		return "la registrazione dell'accesso nel registro non corrisponde alla ricevuta: "
		       "è stata alterata";
	return NULL;
}

/* ---- one record outside the server (list extraction, the push) ---- */

vis_err audit_append(struct store *s, const struct audit_key *key, struct store_access *rec,
		     struct vis_error *e)
{
	if (!key) {
		int64_t last_id;
		record_scrub(rec);
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
	/* The writer's commit, for one record, on the caller's handle: the
	 * record, its leaf and a signed head in one transaction. */
	struct audit_writer *w = calloc(1, sizeof *w);
	if (!w)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	w->s = s;
	w->heads_fd = -1;
	w->key = *key;
	w->signing = true;
	w->checkpoint_at = (int64_t)time(NULL);
	bool found;
	if (store_setting_get(s, "trail_origin", w->origin, sizeof w->origin, &found, NULL) ||
	    !found || !checkpoint_name_ok(w->origin))
		audit_origin_default(key->pk, w->origin);
	struct pending p = {.rec = rec}, *batch[1] = {&p};
	vis_err rc = commit_batch(w, batch, 1);
	if (w->batch_ok)
		merkle_batch_release(&w->batch);
	sodium_memzero(&w->key, sizeof w->key);
	free(w);
	return rc ? vis_error_set(e, rc, "la registrazione dell'accesso non si è "
					 "potuta confermare") : VIS_OK;
}

/* One snapshot for every read: the records, their last id, the purges,
 * checkpoints and signed heads are read by several statements, and a
 * server committing between two of them (records and the head that
 * covers them) made a live trail look truncated ("a signed tree head
 * covers N records" when the walk had read fewer). */
vis_err audit_verify(struct store *s, const struct checkpoint *kept,
		     struct audit_verify_result *res, struct vis_error *e)
{
	return audit_verify_stoppable(s, kept, NULL, res, e);
}

vis_err audit_verify_stoppable(struct store *s, const struct checkpoint *kept,
			       const struct stop_ask *stop, struct audit_verify_result *res,
			       struct vis_error *e)
{
	memset(res, 0, sizeof *res);
	struct asker ask = {.stop = stop};
	if (store_begin_snapshot(s, e))
		return VIS_ERR_STORE;
	vis_err rc = verify_snapshot(s, kept, &ask, res, e);
	if (ask.stopped)
		memset(res, 0, sizeof *res);
	if (rc)
		store_rollback(s);
	else
		rc = store_commit(s, e);
	return rc;
}
