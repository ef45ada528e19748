/* audit — the access trail: who saw which persons, when and why.
 *
 * Owns: appending access records (one per request that reads personal data,
 * and one per refused attempt), their hash chain, and its verification.
 * Fail-closed: audit_append() returns only after the record is durable;
 * a caller that gets an error must not release the data.  Records are
 * never updated or deleted by visura; any edit, deletion or reordering
 * breaks the chain, and audit_verify() names the first bad record. */
#ifndef VISURA_AUDIT_AUDIT_H
#define VISURA_AUDIT_AUDIT_H

#include <stdint.h>

#include "common/err.h"
#include "store/store.h"

/* ---- the signing key (Ed25519) ----
 * Created by `visura init` next to the database (mode 0600); its public
 * half is also stored in the database (setting signing_public_key) so that
 * anyone holding a copy can verify checkpoints, exports and receipts. */
struct audit_key {
	unsigned char pk[32];
	unsigned char sk[64];
};

/* The key file of a database: its files prefix (store_files_prefix) +
 * ".signing-key".  Every instance on one PostgreSQL database needs the
 * same key: give it with the signing_key option. */
void audit_key_path(const char *db_uri, char *out, size_t cap);
/* Loads the key, creating it (and storing its public half) when absent. */
vis_err audit_key_ensure(struct store *s, const char *path, struct audit_key *k,
			 struct vis_error *e);
vis_err audit_key_load(const char *path, struct audit_key *k, struct vis_error *e);
/* Base64url signature of msg. */
void audit_sign(const struct audit_key *k, const char *msg, size_t len, char out[100]);
/* Checks a signature against the public key stored in the database. */
bool audit_signature_ok(struct store *s, const char *msg, size_t len, const char *sig);

/* A receipt for an answer that carried personal data:
 *   v1.<access id>.<at ms>.<purpose id>.<sha256 of the body>.<signature> */
void audit_receipt(const struct audit_key *k, const struct store_access *rec,
		   const char *body, size_t len, char *out, size_t cap);
/* Verifies a receipt against the trail (and the body when given).  Returns
 * NULL when valid, else the reason. */
const char *audit_receipt_check(struct store *s, const char *receipt, const char *body,
				size_t len, struct vis_error *e);

/* Appends rec (its id and hashes are set here) in its own transaction. */
vis_err audit_append(struct store *s, struct store_access *rec, struct vis_error *e);

/* The hash of a record given its predecessor's hash (hex SHA-256 over a
 * canonical encoding of every field, the id included). */
void audit_hash(const struct store_access *rec, const char *prev_hash, char out[65]);

/* ---- group commit ----
 *
 * A writer thread with its own store handle takes every record submitted
 * while the previous batch was being committed and commits them together:
 * one fsync for many requests.  audit_submit() returns only when its record
 * is durable (or failed), so fail-closed holds. */
struct audit_writer;

/* With a key, the writer also signs a checkpoint (last id and hash) at
 * least every AUDIT_CHECKPOINT_RECORDS records or AUDIT_CHECKPOINT_SECONDS. */
#define AUDIT_CHECKPOINT_RECORDS 1000
#define AUDIT_CHECKPOINT_SECONDS 60
vis_err audit_writer_start(const char *db_uri, const struct audit_key *key,
			   struct audit_writer **out, struct vis_error *e);
/* Commits what is queued, then stops the thread. */
void audit_writer_stop(struct audit_writer *w);
/* Queues rec and waits until it is committed; sets its id and hashes. */
vis_err audit_submit(struct audit_writer *w, struct store_access *rec, struct vis_error *e);

/* The same without waiting: done(ctx, rc) is called from the writer thread
 * once the record is durable (rc == VIS_OK) or failed.  rec must stay
 * valid until then. */
typedef void (*audit_done_fn)(void *ctx, vis_err rc);
vis_err audit_submit_async(struct audit_writer *w, struct store_access *rec,
			   audit_done_fn done, void *ctx, struct vis_error *e);

struct audit_writer_stats {
	int64_t records;
	int64_t batches;
	int64_t max_batch;
	int64_t commit_us_total;
};
void audit_writer_stats(struct audit_writer *w, struct audit_writer_stats *out);

struct audit_verify_result {
	int64_t checked;        /* records read */
	int64_t checkpoints;    /* signed checkpoints verified */
	int64_t first_bad_id;   /* 0 when the chain holds */
	char why[200];
};

/* Walks the whole trail and checks every link. */
vis_err audit_verify(struct store *s, struct audit_verify_result *res, struct vis_error *e);

#endif
