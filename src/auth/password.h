/* password — Argon2id hashing (libsodium) and the password policy.
 *
 * Owns: the hash parameters, the policy rules (length, user id, common
 * passwords, reuse of the last PASSWORD_HISTORY passwords) and the
 * generation of temporary passwords.  Hashing costs tens of milliseconds and
 * tens of MiB on purpose: never call it while holding a lock. */
#ifndef VISURA_AUTH_PASSWORD_H
#define VISURA_AUTH_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

#define PASSWORD_MIN_LEN 12
#define PASSWORD_MAX_LEN 256    /* bytes; longer input is refused, not cut */
#define PASSWORD_HASH_MAX 128   /* crypto_pwhash_STRBYTES */
#define PASSWORD_HISTORY 5

/* Must be called once before any other function (initialises libsodium and
 * loads the common-password list from the data directory). */
vis_err password_init(const char *data_dir, struct vis_error *e);
void password_shutdown(void);

/* Hashes pw with Argon2id into out (a NUL-terminated $argon2id$ string). */
vis_err password_hash(const char *pw, char out[PASSWORD_HASH_MAX], struct vis_error *e);

/* Constant-time verification of pw against a stored hash. */
bool password_verify(const char *hash, const char *pw);

/* A hash computed with older parameters should be replaced at next login. */
bool password_needs_rehash(const char *hash);

/* Verifies a dummy hash: called for unknown users so that a wrong user id
 * takes as long as a wrong password. */
void password_burn(const char *pw);

/* Checks the policy.  Returns NULL when pw is acceptable, otherwise a
 * sentence (English, static) saying which rule it breaks.  `previous` holds
 * the hashes of the account's last passwords (may be NULL when n is 0). */
const char *password_policy_check(const char *pw, const char *user_id,
				  const char *const *previous, size_t n);

/* True when pw (case-insensitively) is in the shipped list of common
 * passwords. */
bool password_is_common(const char *pw);

/* Writes a random temporary password of `len` characters (16 <= len < cap)
 * that satisfies the policy, from an alphabet without look-alikes. */
vis_err password_generate(char *out, size_t cap, size_t len, struct vis_error *e);

#endif
