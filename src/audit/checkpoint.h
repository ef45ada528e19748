/* checkpoint — signed tree heads of the access trail, as text.
 *
 * Owns: the checkpoint format (C2SP tlog-checkpoint over a C2SP signed
 * note) and its Ed25519 signatures and witness cosignatures:
 *
 *   <origin>\n                 the deployment (option trail_origin)
 *   <size>\n                   leaves, decimal, no leading zero
 *   <root>\n                   base64 (standard, padded) of the 32-byte root
 *   \n
 *   — <origin> <base64(key id || signature)>\n
 *   — <witness> <base64(key id || time || cosignature)>\n   (zero or more)
 *
 * The signed text (the "body") is the three lines, final newline
 * included.  Key id: the first 4 bytes of SHA-256(name || 0x0A || type ||
 * public key), type 0x01 for the log's Ed25519 key and 0x04 for a
 * witness's timestamped cosignature, whose signed message is
 * "cosignature/v1\ntime <seconds>\n" followed by the body, and whose time
 * is 8 bytes big-endian before the signature.  Parsing is strict: anything
 * else is refused, never repaired. */
#ifndef VISURA_AUDIT_CHECKPOINT_H
#define VISURA_AUDIT_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/merkle.h"

#define CHECKPOINT_NAME_MAX 128     /* an origin or a witness name */
#define CHECKPOINT_SIGS_MAX 16
#define CHECKPOINT_TEXT_MAX 4096    /* a whole note, signatures included */

struct checkpoint_sig {
	char name[CHECKPOINT_NAME_MAX + 1];
	uint8_t key_id[4];
	uint8_t sig[8 + 64];            /* cosignature: time (8) + signature */
	size_t sig_len;
};

struct checkpoint {
	char origin[CHECKPOINT_NAME_MAX + 1];
	uint64_t size;
	uint8_t root[MERKLE_HASH];
	size_t body_len;                /* the signed text is text[0, body_len) */
	char text[CHECKPOINT_TEXT_MAX + 1];
	int nsigs;
	struct checkpoint_sig sigs[CHECKPOINT_SIGS_MAX];
};

/* A name a note may carry: 1..CHECKPOINT_NAME_MAX printable ASCII bytes
 * without spaces and not beginning with "—". */
bool checkpoint_name_ok(const char *name);
void checkpoint_key_id(const char *name, uint8_t type, const uint8_t pk[32], uint8_t out[4]);

/* Builds and signs (sk: libsodium's 64-byte Ed25519 secret key) a
 * checkpoint; returns 0, or -1 when the origin is not a valid name. */
int checkpoint_sign(struct checkpoint *c, const char *origin, uint64_t size,
		    const uint8_t root[MERKLE_HASH], const uint8_t sk[64]);
/* Parses a note; returns NULL, or why it is not a checkpoint. */
const char *checkpoint_parse(struct checkpoint *c, const char *text, size_t len);
/* The log's signature by pk (of the origin's name) verifies: NULL, or why
 * not. */
const char *checkpoint_verify(const struct checkpoint *c, const uint8_t pk[32]);

/* Strict base64 (standard, padded): only the one canonical encoding of
 * the bytes; *got bytes of at most cap decoded into out. */
bool checkpoint_base64_exact(const char *b, size_t n, uint8_t *out, size_t cap, size_t *got);

/* The text helpers of the note, for the formats that carry one (the
 * witness's request): a decimal without sign or leading zero; the next
 * line of text[*at, len), newline excluded (false when none). */
bool checkpoint_decimal(const char *s, size_t n, uint64_t *out);
bool checkpoint_line(const char *text, size_t len, size_t *at, const char **start, size_t *n);

/* Witness cosignatures. */
int checkpoint_cosign(struct checkpoint *c, const char *witness, const uint8_t sk[64],
		      uint64_t now);
/* NULL when `witness`'s cosignature by pk is present and verifies (its
 * time returned), else why. */
const char *checkpoint_cosigned(const struct checkpoint *c, const char *witness,
				const uint8_t pk[32], uint64_t *time);
/* Appends a signature line to the note's text (the last cosignature of
 * c->sigs); returns 0, or -1 when the text would be too long. */
int checkpoint_text_rebuild(struct checkpoint *c);

#endif
