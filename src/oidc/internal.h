/* What the files of src/oidc share (oidc.h owns the module's contract):
 * the relying party's state, the provider's metadata in use, signing and
 * checking compact JWS, keys made at the first start, and GETs through
 * the outbound rules. */
#ifndef VISURA_OIDC_INTERNAL_H
#define VISURA_OIDC_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "common/config.h"
#include "oidc/oidc.h"

struct jwks;

struct oidc {
	const struct config *cfg;
	json_t *rp_key;    /* ours, with its private part (OpenID Connect) */
	json_t *enc_key;   /* ours for the encrypted userinfo (RSA), private */
	struct jwks *op_keys; /* by hand: the provider's keys (jwks.h, refreshed); else NULL */
	char kid[64];
	json_t *fed_key;   /* the federation key: signs the entity configuration */
	char fed_kid[64];
	json_t *fed_prev;  /* the federation key rotated away (public), or NULL */
	int64_t fed_prev_until; /* published beside fed_key until then */
	struct jwks *ta_keys; /* the trust anchor's federation keys (oidc_trust_anchor_jwks,
			       * jwks.h: read again on SIGHUP and at a kid not held once the
			       * file changed), or NULL */
	json_t *trust_marks; /* the relying party's (array), or NULL */
	char log_dir[CONFIG_PATH_MAX];
	pthread_mutex_t log_lock;
	/* The provider's metadata in use: {"keys":[...], "authorization_endpoint",
	 * "token_endpoint", "userinfo_endpoint"}; by hand it never expires, from
	 * a trust chain until the chain's earliest exp. */
	atomic_int busy;   /* exchanges with the provider under way (oidc_complete) */
	pthread_mutex_t op_lock;
	pthread_cond_t op_done; /* a resolution ended (resolving went false) */
	bool resolving;    /* a resolution is under way, outside op_lock */
	json_t *op;
	int64_t op_from;   /* when the chain in use was resolved */
	int64_t op_until;
	int64_t op_retry;  /* after a failed resolution, not before */
	char op_why[200];  /* what failed */
	bool op_mark;      /* it was a trust mark of the provider (spid_trust_mark) */
};

/* The public signing keys with a kid of a JWKS's "keys" (new array): each
 * one jwks_key_signs takes for RS256 or ES256 (no private or secret part,
 * no use but "sig"). */
json_t *oidc_public_sig_keys(const json_t *jwks);

/* A compact JWS of claims (stolen), signed ES256 with key; typ may be NULL. */
char *oidc_sign(const json_t *key, const char *kid, const char *typ, json_t *claims);

/* The payload of a compact JWS signed (RS256 or ES256) by one of keys,
 * matched by kid, or (set given) by the set at now (jwks_verify, which
 * fetches again for an unknown kid); typ, when not NULL, must be the
 * header's.  NULL when
 * not. */
json_t *oidc_verified(const json_t *keys, struct jwks *set, int64_t now, const char *token,
		      size_t max, const char *typ);

/* A GET (body NULL) or POST through the outbound rules; the status (0: no
 * answer, why says so), the answer in buf (cap bytes with its NUL); when
 * ctype is not NULL, the answer's Content-Type (128 bytes). */
long oidc_http(struct oidc *o, const char *url, const char *const *headers, const char *body,
	       char *buf, size_t cap, char *ctype, char *why, size_t why_cap);

/* The federation's settings read (trust marks); at the open. */
vis_err oidc_federation_open(struct oidc *o, struct vis_error *e);

#endif
