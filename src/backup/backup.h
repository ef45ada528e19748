/* backup — a deployment's backup, its check, and its restore.
 *
 * Owns: the backup directory's layout and manifest, the encryption of the
 * keys it holds, and the steps of a restore.  A backup is a directory:
 *   database.sqlite + database.sqlite.trail   SQLite: the database and its
 *                          access trail, copied while the server runs with
 *                          SQLite's online backup API (store_snapshot)
 *   database.pgdump        PostgreSQL: pg_dump's custom format (one snapshot)
 *   signing-key.enc, secrets-key.enc, ca-key.pem.enc
 *                          the signing key, the secrets key and the
 *                          workstation CA's key, encrypted (never in clear)
 *   ca-cert.pem            the workstation CA's certificate (public)
 *   oidc-key.enc, oidc-enc-key.enc, oidc-federation-key.enc
 *                          the SPID/CIE relying party's keys (signing,
 *                          userinfo decryption, federation), encrypted,
 *                          when the deployment has them: the federation's
 *                          registration names their public halves
 *   visura.conf            the configuration file, when one was given
 *   MANIFEST               the format, back end, schema version, the key
 *                          derivation's parameters, the SHA-256 and size
 *                          of every file, and a MAC over all of it
 * Keys are encrypted with a key derived from a passphrase (libsodium:
 * Argon2id, then XSalsa20-Poly1305 secretbox per file); the same
 * derivation gives the manifest's MAC key (HMAC-SHA-512-256).  The backup
 * is written beside DEST and renamed into place when complete.
 * PostgreSQL's dump and restore run Debian's pg_dump and pg_restore. */
#ifndef VISURA_BACKUP_BACKUP_H
#define VISURA_BACKUP_BACKUP_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

#define BACKUP_PASS_MIN 12
#define BACKUP_PASS_MAX 1024

/* A deployment: its database and where the files beside it are (the
 * configured paths, or store_files_prefix's defaults when empty). */
struct backup_site {
	const char *db;            /* URI */
	const char *signing_key;   /* "" = default */
	const char *secrets_key;   /* "" = default */
	const char *client_ca;     /* "" = default */
	const char *oidc_key;      /* SPID/CIE: oidc_key, "" or NULL = default */
	const char *oidc_enc_key;  /* oidc_enc_key, likewise */
	const char *oidc_federation_key; /* oidc_federation_key, likewise */
	const char *config_file;   /* backup: the file to keep; restore: where to write it; NULL */
};

/* What a command did, for the CLI to print. */
struct backup_report {
	char backend[16];
	int schema;
	int files;
	int keys;                  /* key files (encrypted, or checked to decrypt) */
	bool keys_checked;         /* verify: a passphrase was given and the MAC held */
	long long records;         /* restore: access records verified */
	char note[512];            /* restore: what was kept, e.g. the config not written */
};

/* Reads a passphrase: the first line of `file` when given, else
 * $VISURA_BACKUP_PASSPHRASE; out holds BACKUP_PASS_MAX + 1 bytes.  false
 * (e set) when none, too short or too long. */
bool backup_passphrase(const char *file, char *out, struct vis_error *e);

/* Takes a backup of site into dest (a directory that must not exist). */
vis_err backup_take(const struct backup_site *site, const char *dest, const char *pass,
		    struct backup_report *r, struct vis_error *e);

/* Checks a backup: the manifest's files and hashes, that the databases
 * open and pass the integrity check (PostgreSQL: pg_restore reads the
 * dump), and, with a passphrase, the manifest's MAC and that every key
 * decrypts.  VIS_ERR_INVALID: the backup is not sound (e says why). */
vis_err backup_verify(const char *dest, const char *pass, struct backup_report *r,
		      struct vis_error *e);

/* Restores backup src into site: verified first (pass required); refused
 * (VIS_ERR_CONFLICT) when a server has the target open, or when it holds a
 * database or a key already and force is false.  The database is then
 * opened (migrated to this version when older) and its access trail
 * verified. */
vis_err backup_restore(const char *src, const struct backup_site *site, const char *pass,
		       bool force, struct backup_report *r, struct vis_error *e);

#endif
