/* oidc — the relying party of the SPID/CIE OpenID Connect profile, for
 * operators' logins (the citizens' part is a later slice).
 *
 * Owns: the relying party's keys (an EC P-256 JWK for its signatures,
 * ES256, oidc_key; an RSA JWK of 4096 bits for the userinfo the provider
 * encrypts to it, RSA-OAEP or RSA-OAEP-256, oidc_enc_key; each made at the
 * first start when missing, 0600, kept beside the database like the other
 * keys); which of the provider's public keys are taken (RS256 and ES256;
 * the set, from oidc_jwks or oidc_jwks_url and refreshed so that the
 * provider's key rotation needs no restart, is jwks/jwks.h's); one
 * login flow: state, nonce and PKCE verifier (S256), the nonce and the
 * verifier derived from the state under the secrets key so that nothing
 * but the state needs keeping; the signed request object; the token
 * request with private_key_jwt; the checks of the ID token (signature by
 * the provider's keys, iss, aud, exp/iat within oidc_clock_skew, nonce,
 * acr at or above the level asked) and of the userinfo, encrypted and
 * signed as the profile asks (decrypted with our RSA key, A128CBC-HS256 or
 * A256CBC-HS512; then signature, iss, aud, sub that of the ID token, the
 * fiscal_number claim); and the
 * transaction log the profile asks of a relying party, one JSON line per
 * exchange in a file per day under oidc_log_dir, tokens only as SHA-256
 * digests, files older than oidc_log_days deleted.  The JOSE work is
 * libjose's.
 *
 * And the OpenID Federation part of the profile (federation.c, policy.c):
 * the federation key (EC P-256, made like the relying party's key but
 * apart from it: oidc_federation_key), which signs the relying party's
 * entity configuration; and, when oidc_trust_anchor is set, the
 * provider's metadata (endpoints, keys) from a trust chain resolved from
 * the provider's entity configuration up its authority_hints to the trust
 * anchor (every statement's signature checked, up to the anchor's
 * configured keys; exp; the metadata policy applied; the provider's
 * trust marks of oidc_op_trust_marks, each signed by the anchor or an
 * issuer it lists; the provider's keys from jwks or its signed_jwks_uri),
 * kept until the chain's earliest exp.  Without oidc_trust_anchor the provider is the one
 * configured by hand. */
#ifndef VISURA_OIDC_OIDC_H
#define VISURA_OIDC_OIDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"

struct config;
struct oidc;
struct jwks;

#define OIDC_STATE_CHARS 43   /* base64url of 32 random bytes */
#define OIDC_CLAIM_FISCAL "https://attributes.eid.gov.it/fiscal_number"

/* Opens the relying party of cfg (cfg->oidc_issuer set): the provider's
 * keys read, the relying party's keys read or made (key_path: oidc_key,
 * enc_key_path: oidc_enc_key, fed_key_path: oidc_federation_key, or the
 * database's defaults); the log directory made when missing. */
vis_err oidc_open(const struct config *cfg, const char *key_path, const char *enc_key_path,
		  const char *fed_key_path,
		  const char *log_dir, struct oidc **out, struct vis_error *e);
void oidc_free(struct oidc *o);
/* The directory of the transaction log (given to the service user by
 * `visura serve` before it drops root). */
const char *oidc_log_path(const struct oidc *o);
/* The keys of the party trusted (owned by o): the provider's by hand; with
 * a trust chain, which brings the provider's, the trust anchor's
 * federation keys.  `visura serve` reloads them on SIGHUP and refreshes
 * them on its ticks (a file: nothing to tick). */
struct jwks *oidc_keys(struct oidc *o);
/* The relying party's public keys (a JWKS: the signing key, "use":"sig",
 * and the encryption key, "use":"enc"), new reference. */
json_t *oidc_rp_jwks(struct oidc *o);

/* The plaintext of a compact JWE for jwk (our private RSA key): key
 * management RSA-OAEP or RSA-OAEP-256, content A128CBC-HS256 or
 * A256CBC-HS512, no compression, no critical header, the kid (when named)
 * that of jwk; at most max bytes in and out.  Malloc'd and NUL-terminated
 * (*len its length), or NULL for anything else, a wrong key or an altered
 * part alike. */
char *oidc_jwe_decrypt(const json_t *jwk, const char *compact, size_t max, size_t *len);

/* One login flow. */
struct oidc_flow {
	char state[OIDC_STATE_CHARS + 1];
	char nonce[OIDC_STATE_CHARS + 1];
	char verifier[OIDC_STATE_CHARS + 1];
	int level;   /* the SPID level asked: 2 or 3 */
};

/* A new flow (a random state) at `level`, or the flow of a state received
 * back (false when it is not one: wrong length or characters).  secret:
 * 32 bytes (the secrets key). */
void oidc_flow_new(const unsigned char secret[32], int level, struct oidc_flow *f);
bool oidc_flow_from_state(const unsigned char secret[32], const char *state, int level,
			  struct oidc_flow *f);

/* The URL the browser is sent to: the authorization endpoint with the
 * signed request object (and the same parameters in the query, as the
 * profile asks).  Malloc'd; NULL with e set. */
char *oidc_authorization_url(struct oidc *o, const struct oidc_flow *f, int64_t now,
			     struct vis_error *e);

/* Who logged in, once every check passed. */
struct oidc_identity {
	char sub[256];
	char fiscal_code[17];  /* without "TINIT-" */
	int level;             /* from the ID token's acr */
};

/* Why a login was refused: status, code and an Italian message (constants). */
struct oidc_refusal {
	int status;
	const char *code;
	const char *message;
};

/* The answer of the provider to flow f: the code exchanged, the ID token
 * and the userinfo checked.  False with *why set when refused; 503
 * spid_busy when threads - 1 exchanges are already under way (each holds
 * its worker thread until the provider answers). */
bool oidc_complete(struct oidc *o, const struct oidc_flow *f, const char *code, int64_t now,
		   struct oidc_identity *out, struct oidc_refusal *why);

/* Whether the provider's metadata can be used at `now`: by hand always;
 * from a trust chain when the chain resolved and not expired, resolved
 * again otherwise (a failure is kept for 30 s, so that a broken federation
 * is not fetched again on every start).  The fetches are made without
 * the lock on the chain in use: one resolution at a time (a caller with
 * no chain to use waits for the one under way; one with a valid chain
 * never waits).  False with *why set (502
 * spid_trust_chain) when the chain is expired or broken, (502
 * spid_trust_mark) when the provider lacks a required trust mark; the
 * reason goes to the transaction log. */
bool oidc_ready(struct oidc *o, int64_t now, struct oidc_refusal *why);

/* With a trust anchor: the chain in use resolved again before it
 * expires (in its last quarter, at most its last 300 s), by the caller
 * (`visura serve`'s ticks), without making logins wait: they keep the
 * chain in use until the new one is published; a failure keeps it until
 * its exp and is tried again after 30 s. */
void oidc_tick(struct oidc *o, int64_t now);

/* A new federation key at path (oidc_federation_key's file, which must
 * hold one): the old key's public half kept in path + ".previous" with
 * "until" = now + grace, published beside the new one until then; the
 * new key made and put in place (it signs the entity configuration from
 * the next start of `visura serve`).  The two kids in old_kid, new_kid. */
vis_err oidc_federation_key_rotate(const char *path, int64_t now, int64_t grace,
				   char old_kid[64], char new_kid[64], struct vis_error *e);

/* The relying party's entity configuration (a compact JWS, typ
 * entity-statement+jwt, signed with the federation key), valid from now
 * for oidc_entity_lifetime seconds.  Malloc'd; NULL with e set. */
char *oidc_entity_configuration(struct oidc *o, int64_t now, struct vis_error *e);

/* The metadata policy (policy.c), for one entity type: {parameter:
 * {operator: value}}.  merge: the upper policy (merged so far from the
 * trust anchor down) with the lower one; apply: to the metadata.  Both
 * return a new object, or NULL with why (English, for the log) set. */
json_t *oidc_policy_merge(const json_t *upper, const json_t *lower, char *why, size_t cap);
json_t *oidc_policy_apply(const json_t *policy, const json_t *metadata, char *why, size_t cap);
bool oidc_policy_operator_known(const char *op);

/* A line of the transaction log: kind and the fields (stolen). */
void oidc_log(struct oidc *o, int64_t now, const char *kind, json_t *fields);

/* Hex SHA-256 of a text (what the log keeps of tokens and states). */
void oidc_digest(const char *text, char out[65]);

#endif
