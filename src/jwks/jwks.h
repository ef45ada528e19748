/* jwks — a set of public keys (a JWKS) another party signs with, read
 * from a file or fetched from an address, kept true without a restart.
 * PDND's keys (pdnd_jwks or pdnd_jwks_url), the SPID/CIE provider's
 * (oidc_jwks or oidc_jwks_url) and the SPID/CIE trust anchor's federation
 * keys (oidc_trust_anchor_jwks) are each one of these; pdnd/ and oidc/
 * only say which algorithms they take.
 *
 * Owns: the keys held (replaced whole, behind a read-write lock) and when
 * they are read again:
 *  - a file: on jwks_reload (SIGHUP), and when a signature names a kid not
 *    held and the file is another than the one read;
 *  - an address: on jwks_reload, at the first jwks_tick and then every
 *    `refresh` seconds (after a failure, every `kid_interval`), and when a
 *    signature names a kid not held, at most once every `kid_interval`
 *    seconds, so that forged kids cannot make visura hammer the publisher.
 *    Fetched by the outbound rules (net/outbound.h: https, plain http only
 *    to loopback, no redirect, no proxy), at most JWKS_MAX_BYTES.
 * The checks of a document (jwks_parse).  A document that fails them, or a
 * fetch that fails, leaves the keys held as they were and is logged: a set
 * of keys is never replaced by an empty or a bad one. */
#ifndef VISURA_JWKS_JWKS_H
#define VISURA_JWKS_JWKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"

#define JWKS_MAX_BYTES (256u << 10)
#define JWKS_MAX_KEYS 64
#define JWKS_KID_MAX 64

/* Where the keys come from and what is taken (borrowed by jwks_open: the
 * strings must outlive the set, as the configuration's do). */
struct jwks_source {
	const char *name;      /* the option set, for messages and the log: "pdnd_jwks_url" */
	const char *path;      /* a file, or "" */
	const char *url;       /* an address, or "" (exactly one of the two) */
	const char *ca_file;   /* for the address's https; "" = the system's CAs */
	const char *algs;      /* the algorithms taken, space-separated: "RS256 ES256" */
	int refresh;           /* seconds between fetches of the address */
	int kid_interval;      /* seconds at least between fetches for a kid not held */
};

struct jwks;

/* The keys of a document's text (len bytes) that sign with one of `algs`:
 * an array (the caller's), or NULL with *why saying what is wrong.  The
 * document is refused whole when it is not a JSON object with a "keys"
 * array, when any key in it has a private or secret part (d, p, q, dp, dq,
 * qi, oth, k), when a key taken has no kid (1 to JWKS_KID_MAX bytes) or a
 * kid named twice, beyond JWKS_MAX_KEYS keys taken, and when none is
 * taken.  A key is taken when its use is absent or "sig" and its alg, or
 * when it has none its kty (RSA: RS256, EC: ES256), is one of algs; the
 * others are left out (keys for other uses are not ours to judge), as is a
 * key whose use or alg is not a text. */
json_t *jwks_parse(const char *text, size_t len, const char *algs, char *why, size_t cap);

/* Whether k is a key jwks_parse would take for algs: a JSON object with no
 * private or secret part, whose "use", when given, is the text "sig", and
 * whose "alg", when given, is a text of algs (without one, its kty's).
 * A "use" or "alg" that is not a text leaves the key out. */
bool jwks_key_signs(const json_t *k, const char *algs);

/* Opens the set of src.  A file is read now and must load.  An address is
 * checked by the outbound rules now and fetched at the first jwks_tick
 * (after the service has given up root) or at the first kid not held: the
 * set starts empty. */
vis_err jwks_open(const struct jwks_source *src, struct jwks **out, struct vis_error *e);
void jwks_free(struct jwks *k);

/* Reads the file or fetches the address again now (SIGHUP), whatever the
 * intervals; the outcome is logged, and on failure the keys held stay and
 * e says why. */
vis_err jwks_reload(struct jwks *k, int64_t now, struct vis_error *e);

/* The periodic refresh of an address (nothing for a file): fetched when
 * due at `now` (the service's clock, seconds).  True when a fetch was
 * made (its outcome logged). */
bool jwks_tick(struct jwks *k, int64_t now);

/* What a signature check found. */
enum jwks_verdict { JWKS_VERIFIED, JWKS_KID_UNKNOWN, JWKS_BAD_SIGNATURE };

/* Checks the flattened JWS `jws` (libjose's form: protected, payload,
 * signature) against the key named kid; a kid not held reads the keys
 * again first when allowed (above).  The algorithm of the header is the
 * caller's to have checked. */
enum jwks_verdict jwks_verify(struct jwks *k, const char *kid, const json_t *jws, int64_t now);

/* How many keys are held; how many fetches of the address were tried and
 * how many failed (a file: 0); for /metrics. */
struct jwks_stats {
	const char *source;   /* the option set (jwks_source.name) */
	int keys;
	int64_t fetches, failures;
};
void jwks_stats(struct jwks *k, struct jwks_stats *out);

#endif
