/* sealed — secrets the database keeps but must never hold in clear: TOTP
 * secrets, and a temporary password waiting in the outbox for the relay.
 * They are sealed with libsodium's secretbox (XSalsa20-Poly1305) under the
 * secrets key, a file beside the signing key (0600; made by `visura init`,
 * or by the first `visura serve` of an older deployment, which then seals
 * the TOTP secrets earlier versions stored in clear).
 *
 * Owns: the key file, the sealed text form "s1:" + base64(nonce || box),
 * the outbox placeholder of a sealed password, and that migration. */
#ifndef VISURA_AUTH_SEALED_H
#define VISURA_AUTH_SEALED_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "store/store.h"

struct sealed_key {
	unsigned char k[32];
};

/* The key file of a database: `configured` when set, else the database's
 * files prefix + ".secrets-key" (store_files_path); VIS_ERR_LIMIT when it
 * does not fit in cap. */
vis_err sealed_key_path(const char *db_uri, const char *configured, char *out, size_t cap,
			struct vis_error *e);
/* Reads the key, or creates it (0600) when the file does not exist. */
vis_err sealed_key_ensure(const char *path, struct sealed_key *k, struct vis_error *e);

/* The sealed form of `plain` (at most 200 bytes) into out; 512 bytes
 * always suffice. */
vis_err sealed_seal(const struct sealed_key *k, const char *plain, char *out, size_t cap,
		    struct vis_error *e);
/* The plain text of a sealed value; VIS_ERR_INVALID when it is not one or
 * does not open under this key. */
vis_err sealed_open(const struct sealed_key *k, const char *sealed, char *out, size_t cap,
		    struct vis_error *e);
bool sealed_is(const char *s);

/* A mail body carries a sealed secret as "{sealed:s1:...}": opened only
 * when the message is sent (mail/mail.c), shown as `shown` elsewhere.
 * Writes body with each placeholder replaced into out; with k == NULL each
 * is replaced by `shown`.  Fails on a placeholder that does not open, or
 * when out is too small. */
#define SEALED_MARK "{sealed:"
vis_err sealed_body(const struct sealed_key *k, const char *body, const char *shown, char *out,
		    size_t cap, struct vis_error *e);

/* Seals every TOTP secret still stored in clear.  Returns how many. */
int sealed_migrate_totp(struct store *s, const struct sealed_key *k, struct vis_error *e);

#endif
