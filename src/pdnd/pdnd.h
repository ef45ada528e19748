/* pdnd — calls that come through PDND (Piattaforma Digitale Nazionale
 * Dati) under the ModI security patterns, without HTTP.
 *
 * Owns: which of PDND's public keys are taken (RS256; the set itself,
 * from pdnd_jwks or pdnd_jwks_url and refreshed so that PDND's key
 * rotation needs no restart, is jwks/jwks.h's); the checks of a voucher (ID_AUTH_CHANNEL_01 / ID_AUTH_REST_01): its size,
 * its shape, its header (RS256 only, a known kid), its signature (libjose,
 * no JOSE code of ours), its claims (iss, aud, exp/nbf/iat within
 * pdnd_clock_skew, client_id, purposeId, jti), and its jti taken once on
 * the database (ID_AUTH_REST_02: a replay is refused on every instance);
 * the registry office's mapping of a PDND purpose to one visura purpose
 * and one API account of the purpose's body (never deleted: ended).
 *
 * A refusal carries an HTTP status, a code and an English message (the
 * API's convention); the gate answers it and records it in the access
 * trail. */
#ifndef VISURA_PDND_PDND_H
#define VISURA_PDND_PDND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "store/store.h"

struct config;
struct jwks;

/* PDND's public keys as the configuration gives them (pdnd_jwks, or
 * pdnd_jwks_url refreshed: jwks/jwks.h), RSA keys for RS256 only. */
vis_err pdnd_keys_open(const struct config *cfg, struct jwks **out, struct vis_error *e);

/* What a voucher is checked against (borrowed for the call). */
struct pdnd_checks {
	const char *issuer;
	const char *audience;
	int skew;           /* seconds */
	size_t max_bytes;
	int daily_per_consumer;  /* dailyCallsPerConsumer, 0 = none */
	int daily_total;         /* dailyCallsTotal, 0 = none */
};
/* pdnd_checks from the configuration's pdnd_* options. */
struct pdnd_checks pdnd_checks_from(const struct config *cfg);

/* A voucher's claims once checked. */
struct pdnd_voucher {
	char kid[65];
	char client_id[65];
	char purpose_id[65];   /* PDND's purposeId */
	char jti[129];
	char digest[129];      /* the tracking evidence's digest (ModI), "" if none */
	int64_t iat, nbf, exp;
};

/* Why a voucher or a mapping was refused: status, code, message are
 * constants. */
struct pdnd_refusal {
	int status;
	const char *code;
	const char *message;
};

/* Whether a JWT's aud (a string or an array of strings) names want; the
 * SPID/CIE relying party (oidc/oidc.h) checks its tokens with it too. */
struct json_t;
bool pdnd_audience_has(const struct json_t *aud, const char *want);

/* Does this bearer credential look like a JWT (three base64url parts)?
 * visura's own API tokens never do. */
bool pdnd_is_jwt(const char *token);

/* Checks a voucher (its compact serialisation, `len` bytes) at `now`.
 * True with *out filled; false with *why set.  When the signature is good
 * but a claim is not, *out holds what could be read (client_id,
 * purposeId) for the record. */
bool pdnd_voucher_check(struct jwks *k, const struct pdnd_checks *c, const char *token,
			size_t len, int64_t now, struct pdnd_voucher *out,
			struct pdnd_refusal *why);

struct pdnd_evidence;

/* Takes the voucher's jti, and the jti of its tracking evidence `ev` when
 * that was checked good (NULL: it was refused, or not checked), on the
 * database until each expires (plus the skew), in one statement: one
 * commit, one wait for the disk.  *fresh false with *why set on a replay
 * (the voucher's first: a replayed voucher takes nothing, and leaves the
 * evidence untaken); a store failure is an error. */
vis_err pdnd_jti_take(struct store *s, const struct pdnd_voucher *v, const struct pdnd_evidence *ev,
		      int skew, bool *fresh, struct pdnd_refusal *why, struct vis_error *e);

/* ---- the e-service's daily quotas ---- */

struct ratelimit;

/* A call over quota: when the quotas start again, and why in words. */
struct pdnd_quota {
	int64_t until;        /* the next midnight, Italian time (epoch s) */
	char message[256];
};

/* Counts one call of the body `ente_id` against the e-service's daily
 * quotas (c->daily_per_consumer, c->daily_total; 0 = none), by Italian
 * calendar day, on every instance when `shared` (a store for which
 * store_shared() holds) is given.  1 when counted; 0 when a quota is used
 * up (nothing counted; *why is 429 pdnd_daily_quota, *q says until when);
 * -1 when the counters could not be used (e set). */
int pdnd_quota_take(struct ratelimit *rl, struct store *shared, const struct pdnd_checks *c,
		    int64_t ente_id, int64_t now, struct pdnd_quota *q, struct pdnd_refusal *why,
		    struct vis_error *e);

/* ---- who asked: the tracking evidence (AUDIT_REST_02) ---- */

/* The Agid-JWT-TrackingEvidence of a call, once checked. */
struct pdnd_evidence {
	char kid[65];
	char user_id[101];       /* the end user: the access record's on_behalf_of */
	char user_location[101];
	char loa[33];
	char jti[129];
	int64_t exp;
};

/* Checks the evidence `token` (NULL: absent) of a call whose voucher `v`
 * is good, for the body `ente_id`: RS256 with one of the body's keys in
 * force (pdnd_key_add), aud and purposeId those of the voucher, exp/iat
 * within the skew, userID, userLocation and LoA given, its SHA-256 the
 * voucher's digest (bound to this voucher).  Its jti is not taken here:
 * pdnd_jti_take takes it with the voucher's.  *ok false with *why set
 * when refused; an error only when the store fails. */
vis_err pdnd_evidence_check(struct store *s, int64_t ente_id, const struct pdnd_checks *c,
			    const struct pdnd_voucher *v, const char *token, int64_t now,
			    struct pdnd_evidence *out, bool *ok, struct pdnd_refusal *why,
			    struct vis_error *e);

/* Registers a public key (a JWK: RSA, with a kid, no private part) of a
 * body's PDND client.  VIS_ERR_INVALID with the reason, VIS_ERR_CONFLICT
 * when the body has a key in force with that kid. */
vis_err pdnd_key_add(struct store *s, int64_t ente_id, const char *jwk, int64_t now,
		     struct store_pdnd_key *out, struct vis_error *e);
/* Revokes the key `key_id` (kept, with revoked_at): from the next call, on
 * every instance (keys are read from the database, never cached), a
 * tracking evidence or an Agid-JWT-Signature it signs is refused
 * (*_key_revoked).  VIS_ERR_NOTFOUND when there is no such key,
 * VIS_ERR_CONFLICT when it is revoked already; *out is the key. */
vis_err pdnd_key_revoke(struct store *s, int64_t key_id, int64_t now,
			struct store_pdnd_key *out, struct vis_error *e);

/* ---- integrity (INTEGRITY_REST_02) ---- */

/* The deployment's signing key for answers to PDND calls: an EC P-256
 * private JWK (ES256) whose kid is its RFC 7638 thumbprint. */
struct pdnd_signer;

/* Makes a new key and writes it to `path` (created, mode 0600; an existing
 * file is not replaced).  *public_jwk (caller frees) is its public part. */
vis_err pdnd_signer_generate(const char *path, char **public_jwk, struct vis_error *e);
/* Reads the key of pdnd_signing_key: refused unless it is an EC P-256
 * private JWK with a kid. */
vis_err pdnd_signer_open(const char *path, struct pdnd_signer **out, struct vis_error *e);
void pdnd_signer_free(struct pdnd_signer *sg);
/* The public key as a JWKS document ({"keys":[...]}), owned by sg. */
const char *pdnd_signer_jwks(const struct pdnd_signer *sg, size_t *len);

/* The Digest header of a body: "SHA-256=<base64 of its SHA-256>". */
#define PDND_DIGEST_MAX 60
void pdnd_digest(const void *body, size_t len, char out[PDND_DIGEST_MAX]);

/* Signs an answer: *jwt (caller frees) is the Agid-JWT-Signature, ES256,
 * with iss (this e-service), aud (the caller's client_id), iat, nbf, exp
 * (iat + 5 minutes), a fresh jti, and signed_headers naming its Digest
 * (`digest`, from pdnd_digest) and Content-Type. */
vis_err pdnd_answer_sign(const struct pdnd_signer *sg, const char *iss, const char *aud,
			 const char *digest, const char *content_type, int64_t now, char **jwt,
			 struct vis_error *e);

/* Checks the integrity of a PDND call with a body (INTEGRITY_REST_02) of
 * the body `ente_id`: the Digest header (`digest`, NULL when absent) is
 * the SHA-256 of the body, and the Agid-JWT-Signature (`token`) is RS256
 * with one of the body's keys in force, aud this e-service, exp/iat within
 * the skew, a jti never seen, and signed_headers naming that Digest (and
 * the Content-Type `content_type` when it names one).  *ok false with *why
 * set when refused; an error only when the store fails. */
vis_err pdnd_integrity_check(struct store *s, int64_t ente_id, const struct pdnd_checks *c,
			     const char *digest, const char *token, const char *content_type,
			     const void *body, size_t len, int64_t now, bool *ok,
			     struct pdnd_refusal *why, struct vis_error *e);

/* ---- the registry office's mapping ---- */

/* Maps a PDND purpose to a visura purpose and the API account `username`
 * of its body, for the calls of PDND client `client_id`.  VIS_ERR_INVALID
 * (with the reason) for a malformed id, an unknown purpose or account, an
 * account that is not an API account of the purpose's body;
 * VIS_ERR_CONFLICT when the PDND purpose is mapped already. */
vis_err pdnd_purpose_map(struct store *s, const char *pdnd_purpose, const char *client_id,
			 int64_t purpose_id, const char *username, int64_t now,
			 struct store_pdnd_purpose *out, struct vis_error *e);
/* Ends the mapping in force of a PDND purpose; VIS_ERR_NOTFOUND if none. */
vis_err pdnd_purpose_unmap(struct store *s, const char *pdnd_purpose, int64_t now,
			   struct vis_error *e);
/* The mapping in force of a PDND purpose (*found false when none). */
vis_err pdnd_purpose_find(struct store *s, const char *pdnd_purpose,
			  struct store_pdnd_purpose *out, bool *found, struct vis_error *e);

/* A PDND purpose id or client id as accepted: 1 to 64 of [A-Za-z0-9-]. */
bool pdnd_id_valid(const char *id);

#endif
