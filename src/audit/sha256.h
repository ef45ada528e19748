/* sha256 — SHA-256 for the access trail: the records' chain and leaf
 * hashes, the Merkle tree's nodes, the receipts' body hashes and leaves,
 * the checkpoints' key ids.
 *
 * Owns: the choice of implementation.  OpenSSL's libcrypto (already linked
 * for the identity providers' keys) hashes with the processor's SHA
 * extensions where it has them (x86 SHA-NI, ARMv8); libsodium's SHA-256 is
 * portable C, 3 to 5 times slower, and was the group-commit writer's
 * largest cost after the disk (docs/performance.md, "The group-commit
 * writer's CPU", issue #20).  The digest is the same.  When libcrypto has
 * no SHA-256 or cannot make a context (memory), libsodium's is used: a
 * hash never fails.  Safe from any thread. */
#ifndef VISURA_AUDIT_SHA256_H
#define VISURA_AUDIT_SHA256_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_BYTES 32

struct sha256 {
	void *evp;                      /* EVP_MD_CTX, or NULL: st below */
	crypto_hash_sha256_state st;
};

void sha256_init(struct sha256 *h);
void sha256_update(struct sha256 *h, const void *data, size_t len);
/* Writes the digest and frees what init took. */
void sha256_final(struct sha256 *h, uint8_t out[SHA256_BYTES]);
/* The digest of one buffer. */
void sha256_of(const void *data, size_t len, uint8_t out[SHA256_BYTES]);

#endif
