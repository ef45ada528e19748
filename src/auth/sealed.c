#include "auth/sealed.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/fsmode.h"
#include "common/str.h"

#define PREFIX "s1:"
#define PLAIN_MAX 200

vis_err sealed_key_path(const char *db_uri, const char *configured, char *out, size_t cap,
			struct vis_error *e)
{
	return store_files_path(db_uri, configured, ".secrets-key", out, cap, e);
}

vis_err sealed_key_ensure(const char *path, struct sealed_key *k, struct vis_error *e)
{
	if (access(path, F_OK) != 0) {
		randombytes_buf(k->k, sizeof k->k);
		return fsmode_key_write(path, k->k, sizeof k->k, "la chiave dei segreti", e);
	}
	return fsmode_key_read(path, k->k, sizeof k->k, "la chiave dei segreti", e);
}

bool sealed_is(const char *s)
{
	return !strncmp(s, PREFIX, strlen(PREFIX));
}

vis_err sealed_seal(const struct sealed_key *k, const char *plain, char *out, size_t cap,
		    struct vis_error *e)
{
	size_t n = strlen(plain);
	unsigned char box[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + PLAIN_MAX];
	size_t blen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + n;
	if (n > PLAIN_MAX ||
	    cap < strlen(PREFIX) + sodium_base64_ENCODED_LEN(blen, sodium_base64_VARIANT_ORIGINAL))
		return vis_error_set(e, VIS_ERR_INTERNAL, "segreto troppo lungo da sigillare");
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const unsigned char *)plain, n,
			      box, k->k);
	strcpy(out, PREFIX);
	sodium_bin2base64(out + strlen(PREFIX), cap - strlen(PREFIX), box, blen,
			  sodium_base64_VARIANT_ORIGINAL);
	return VIS_OK;
}

vis_err sealed_open(const struct sealed_key *k, const char *sealed, char *out, size_t cap,
		    struct vis_error *e)
{
	unsigned char box[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + PLAIN_MAX];
	size_t blen = 0;
	if (!sealed_is(sealed) ||
	    sodium_base642bin(box, sizeof box, sealed + strlen(PREFIX), strlen(sealed + strlen(PREFIX)),
			      NULL, &blen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    blen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
		return vis_error_set(e, VIS_ERR_INVALID, "non è un segreto sigillato");
	size_t n = blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	if (n + 1 > cap)
		return vis_error_set(e, VIS_ERR_INVALID, "segreto sigillato troppo lungo");
	if (crypto_secretbox_open_easy((unsigned char *)out, box + crypto_secretbox_NONCEBYTES,
				       blen - crypto_secretbox_NONCEBYTES, box, k->k) != 0)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "un segreto sigillato non si apre con la chiave dei segreti");
	out[n] = '\0';
	return VIS_OK;
}

vis_err sealed_body(const struct sealed_key *k, const char *body, const char *shown, char *out,
		    size_t cap, struct vis_error *e)
{
	size_t o = 0;
	const char *p = body;
	for (;;) {
		const char *m = strstr(p, SEALED_MARK);
		const char *end = m ? strchr(m, '}') : NULL;
		size_t lit = m && end ? (size_t)(m - p) : strlen(p);
		char plain[PLAIN_MAX + 1];
		const char *put = shown;
		if (m && end && k) {
			char sealed[512];
			size_t sl = (size_t)(end - m) - strlen(SEALED_MARK);
			if (sl >= sizeof sealed)
				return vis_error_set(e, VIS_ERR_INVALID, "non è un segreto "
									 "sigillato");
			memcpy(sealed, m + strlen(SEALED_MARK), sl);
			sealed[sl] = '\0';
			if (sealed_open(k, sealed, plain, sizeof plain, e))
				return VIS_ERR_INVALID;
			put = plain;
		}
		size_t add = lit + (m && end ? strlen(put) : 0);
		if (o + add + 1 > cap) {
			sodium_memzero(plain, sizeof plain);
			return vis_error_set(e, VIS_ERR_INVALID, "messaggio troppo lungo");
		}
		memcpy(out + o, p, lit);
		o += lit;
		if (!(m && end))
			break;
		memcpy(out + o, put, strlen(put));
		o += strlen(put);
		sodium_memzero(plain, sizeof plain);
		p = end + 1;
	}
	out[o] = '\0';
	return VIS_OK;
}

struct clear_totp {
	struct store_account list[64];
	int n;
};

static int collect_clear(void *ctx, const void *rec)
{
	struct clear_totp *c = ctx;
	const struct store_account *a = rec;
	if (a->totp_secret[0] && !sealed_is(a->totp_secret))
		c->list[c->n++] = *a;
	return c->n >= 64;
}

int sealed_migrate_totp(struct store *s, const struct sealed_key *k, struct vis_error *e)
{
	static _Thread_local struct clear_totp c;
	struct store_filter all[] = {{NULL, NULL, 0}};
	int done = 0, n;
	do {
		c.n = 0;
		if (store_rec_list(s, STORE_ACCOUNT, all, 0, collect_clear, &c, e))
			return -1;
		n = c.n;
		for (int i = 0; i < c.n; i++) {
			struct store_account *a = &c.list[i];
			char sealed[sizeof a->totp_secret];
			if (sealed_seal(k, a->totp_secret, sealed, sizeof sealed, e))
				return -1;
			struct store_account was = *a;
			memcpy(a->totp_secret, sealed, sizeof sealed);
			vis_err rc = store_account_update(s, &was, a, e);
			sodium_memzero(&was, sizeof was);
			if (rc)
				return -1;
			done++;
		}
		sodium_memzero(&c, sizeof c);
	} while (n == 64);
	return done;
}
