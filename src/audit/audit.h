/* audit — the access trail: who saw which persons, when and why.
 *
 * Owns: appending access records (one per request that reads personal data,
 * and one per refused attempt), their hash chain, the Merkle tree over them
 * (audit/merkle.h) with a signed tree head after every group commit
 * (audit/checkpoint.h), receipts that carry an inclusion proof, the
 * signed retention purge, and the verification of all of it.
 * Fail-closed: audit_append() returns only after the record is durable;
 * a caller that gets an error must not release the data.  Records are
 * never updated by visura, and deleted only by a signed retention purge
 * that keeps their leaves; any other edit, deletion or reordering breaks
 * the chain or the tree, and audit_verify() names it. */
#ifndef VISURA_AUDIT_AUDIT_H
#define VISURA_AUDIT_AUDIT_H

#include <stdint.h>

#include <jansson.h>

#include "audit/checkpoint.h"
#include "common/err.h"
#include "common/stop.h"
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
 * ".signing-key", or VIS_ERR_LIMIT when that does not fit in cap.  Every instance on one PostgreSQL database needs the
 * same key: give it with the signing_key option. */
vis_err audit_key_path(const char *db_uri, char *out, size_t cap, struct vis_error *e);
/* Loads the key, creating it (and storing its public half) when absent. */
vis_err audit_key_ensure(struct store *s, const char *path, struct audit_key *k,
			 struct vis_error *e);
vis_err audit_key_load(const char *path, struct audit_key *k, struct vis_error *e);
/* Base64url signature of msg. */
void audit_sign(const struct audit_key *k, const char *msg, size_t len, char out[100]);
/* Checks a signature against the public key stored in the database. */
bool audit_signature_ok(struct store *s, const char *msg, size_t len, const char *sig);

/* A document signed by the deployment, to keep and check offline (the
 * citizen's list of who consulted them):
 *   {"documento": DOC, "firma": "ed25519:<base64url>"}
 * the signature over DOC serialised compact, keys sorted, ASCII (jansson's
 * JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII).  _sign: the text
 * (malloc'd; NULL without memory), doc borrowed.  _verify: NULL when text
 * is such a document signed with pk, else why. */
char *audit_document_sign(const struct audit_key *k, json_t *doc, size_t *len);
const char *audit_document_verify(const char *text, size_t len, const uint8_t pk[32]);

/* A receipt for an answer that carried personal data, one line (v3):
 *   v3.<access id>.<at ms>.<purpose id>.<sha256 of the body, hex>
 *     .<leaf hash, hex>.<signed tree head, base64url>.<inclusion proof,
 *     base64url of the concatenated hashes>.<index in the batch>
 *     .<receipts in the batch>.<receipt path, base64url>.<batch signature>
 * The record is leaf <access id> - 1 of the trail's tree; the head is the
 * one its group commit signed.  The text of the first eight fields (up to
 * the proof, without the final dot) is a leaf (SHA-256(0x00 || text)) of
 * the batch's receipt tree: every receipt of one group commit, in commit
 * order, an RFC 9162 tree of <receipts in the batch> leaves (at most
 * AUDIT_MAX_BATCH); the path is the leaf's inclusion proof in it.  The
 * batch signature (Ed25519, base64url) covers
 *   "visura receipt batch v1 <receipts in the batch> <root, hex>"
 * (spaces and no newline: never a tree head's text, nor another receipt's):
 * one signature per group commit, not one per answer.
 * v2 receipts (the same first eight fields with "v2", then the signature
 * of that text) still verify; v1 receipts, without tree, are still checked
 * against a database.  The longest receipt the writer can make fits
 * AUDIT_RECEIPT_MAX (checked at build time in audit.c); anything longer
 * is refused, never cut. */
#define AUDIT_RECEIPT_MAX 8192
/* The most records one group commit takes (and so receipts per batch). */
#define AUDIT_MAX_BATCH 1024
struct audit_writer;

struct audit_receipt_info {
	int version;            /* 2 or 3 */
	int64_t id, at, purpose_id;
	uint64_t index;
	uint8_t leaf[MERKLE_HASH];
	struct checkpoint head;
	uint64_t batch_index, batch_size;   /* v3: its place in the receipt tree */
};
/* Checks a receipt offline, with the deployment's public key only: its
 * head's signature, the inclusion proof of its leaf under that head, its
 * own signature (v2) or its batch's signature over the root its path
 * leads to (v3), and (body given) the answer's bytes.  Returns NULL when
 * valid, else why. */
const char *audit_receipt_verify(const char *receipt, const uint8_t pk[32], const char *body,
				 size_t len, struct audit_receipt_info *out);
/* Verifies a receipt against the trail (and the body when given): the
 * offline checks with the database's key, then its record and leaf.
 * Returns NULL when valid, else the reason.  *purged_at (may be NULL):
 * 0 when the record is in the trail, else the day (ms) a signed
 * retention purge removed it (its leaf still in the tree). */
const char *audit_receipt_check(struct store *s, const char *receipt, const char *body,
				size_t len, int64_t *purged_at, struct vis_error *e);

/* The leaf of a record: RFC 9162's hash of its canonical bytes, the same
 * bytes the chain hashes (audit_hash). */
void audit_leaf_hash(const struct store_access *rec, uint8_t out[MERKLE_HASH]);
/* The deployment's public key, from the database. */
bool audit_public_key(struct store *s, uint8_t pk[32]);
/* The trail's origin when trail_origin is empty: "visura/" and the first
 * 16 hex digits of the public key. */
void audit_origin_default(const uint8_t pk[32], char out[CHECKPOINT_NAME_MAX + 1]);

/* Proofs from the tree the store keeps: the root of size n, a
 * consistency proof from m to n.  VIS_ERR_NOTFOUND when the tree has
 * fewer than n leaves. */
vis_err audit_tree_root(struct store *s, uint64_t n, uint8_t root[MERKLE_HASH],
			struct vis_error *e);
vis_err audit_tree_consistency(struct store *s, uint64_t m, uint64_t n,
			       uint8_t proof[][MERKLE_HASH], int *len, struct vis_error *e);
/* The inclusion proof of leaf `index` in the tree of n leaves, and the
 * leaf the tree keeps (also for a purged record). */
vis_err audit_tree_inclusion(struct store *s, uint64_t index, uint64_t n,
			     uint8_t leaf[MERKLE_HASH], uint8_t proof[][MERKLE_HASH], int *len,
			     struct vis_error *e);

/* Appends rec (its id and hashes are set here) in its own transaction;
 * with a key, also its leaf and a signed tree head (the origin the server
 * keeps in the setting trail_origin).  Without one, the record waits for
 * the server's next commit to be put under a head. */
vis_err audit_append(struct store *s, const struct audit_key *key, struct store_access *rec,
		     struct vis_error *e);

/* The hash of a record given its predecessor's hash (hex SHA-256 over a
 * canonical encoding of every field, the id included). */
void audit_hash(const struct store_access *rec, const char *prev_hash, char out[65]);

/* ---- group commit ----
 *
 * A writer thread with its own store handle takes every record submitted
 * while the previous batch was being committed and commits them together:
 * one fsync for many requests.  audit_submit() returns only when its record
 * is durable (or failed), so fail-closed holds. */
/* With a key, the writer also signs a checkpoint (last id and hash) at
 * least every AUDIT_CHECKPOINT_RECORDS records or AUDIT_CHECKPOINT_SECONDS. */
#define AUDIT_CHECKPOINT_RECORDS 1000
#define AUDIT_CHECKPOINT_SECONDS 60
struct audit_trail_config {
	const char *origin;       /* "" or NULL: audit_origin_default */
	const char *heads_file;   /* "" or NULL: none */
};
vis_err audit_writer_start(const char *db_uri, const struct audit_key *key,
			   const struct audit_trail_config *tc, struct audit_writer **out,
			   struct vis_error *e);
/* Commits what is queued, then stops the thread. */
void audit_writer_stop(struct audit_writer *w);
/* Queues rec and waits until it is committed; sets its id and hashes. */
vis_err audit_submit(struct audit_writer *w, struct store_access *rec, struct vis_error *e);

/* The same without waiting, for an answer that leaves with its receipt,
 * in two steps on the writer thread once the batch is committed:
 *   build(ctx, &len): the record is durable; the answer's bytes (borrowed
 *     until done returns), or NULL when there is nothing to sign (an
 *     answer without a receipt, or one whose building failed: it is left
 *     out, the others go on).  Called for every record of the batch before
 *     any done, so that one signature covers all their receipts.
 *   done(ctx, rc, receipt, e): always, once.  rc == VIS_OK: the record is
 *     durable and, when build gave bytes, receipt is theirs (borrowed for
 *     the call), else NULL.  Otherwise e says why: the record failed
 *     (VIS_ERR_STORE, build was not called) or its receipt could not be
 *     made (the record is durable; the answer must not leave).
 * build may be NULL (no receipts).  rec must stay valid until done. */
typedef const char *(*audit_build_fn)(void *ctx, size_t *len);
typedef void (*audit_done_fn)(void *ctx, vis_err rc, const char *receipt,
			      const struct vis_error *e);
vis_err audit_submit_async(struct audit_writer *w, struct store_access *rec,
			   audit_build_fn build, audit_done_fn done, void *ctx,
			   struct vis_error *e);

/* 0 while trail_heads_file takes every head; else since when (CLOCK_MONOTONIC
 * seconds, plus one) its appends fail. */
int64_t audit_writer_heads_failing(struct audit_writer *w);

struct audit_writer_stats {
	int64_t records;
	int64_t batches;
	int64_t max_batch;
	int64_t commit_us_total;
};
void audit_writer_stats(struct audit_writer *w, struct audit_writer_stats *out);

/* ---- retention ----
 *
 * A purge removes the records older than a cutoff and their per-person
 * index rows; their leaves stay in the tree, so every head, every proof
 * and every receipt still verifies.  Each purge is recorded and signed
 * ("visura-purge-v1.<up_to>.<at ms>.<last purged record's chain hash>"):
 * records missing with no signed purge covering them were deleted.  Only
 * records under a signed head (whose leaves the tree holds) are purged,
 * and only those whose content still matches their leaf.
 * At most `batch` records a transaction, each batch its own signed purge:
 * the trail's write lock, which every answer's access record needs, is
 * held a moment at a time, and the answers go on while a purge runs.
 * After each batch, `progress` (if set) with what is purged so far;
 * *up_to and *removed: what was purged, also when a later batch fails. */
#define AUDIT_PURGE_BATCH 1000
typedef void (*audit_purge_fn)(void *ctx, int64_t up_to, int64_t removed);
struct audit_purge_opts {
	int64_t cutoff_ms;       /* records older than this */
	int64_t now_ms;          /* the purges' time */
	int64_t batch;           /* records a transaction, at least 1 */
	audit_purge_fn progress;
	void *ctx;
};
vis_err audit_purge(struct store *s, const struct audit_key *key, const struct audit_purge_opts *o,
		    int64_t *up_to, int64_t *removed, struct vis_error *e);

struct audit_verify_result {
	int64_t checked;        /* records read */
	int64_t purged;         /* records 1..purged removed by retention, leaves kept */
	int64_t purged_at;      /* the last purge (ms), 0 when none recorded */
	int64_t checkpoints;    /* signed checkpoints verified */
	int64_t heads;          /* signed tree heads verified */
	int64_t first_bad_id;   /* 0 when the chain holds */
	char why[400];
};

/* Walks the whole trail and checks every link, recomputes the Merkle tree
 * and checks it against every signed tree head, and (kept non-NULL)
 * against a head kept outside the database: the trail must extend it.
 * Everything is read in one snapshot (store_begin_snapshot), so a server
 * writing meanwhile is seen before or after a commit, never in between;
 * outside a transaction only. */
vis_err audit_verify(struct store *s, const struct checkpoint *kept,
		     struct audit_verify_result *res, struct vis_error *e);

/* Rows read between two questions to audit_verify_stoppable's stop. */
#define AUDIT_VERIFY_STOP_EVERY 4096

/* audit_verify, asking stop (may be NULL) every AUDIT_VERIFY_STOP_EVERY
 * rows it reads (records, their subjects, signed tree heads, purged
 * leaves): once it answers true the verification ends, VIS_ERR_BUSY, its
 * message saying so, and res says nothing (the server's stop: a trail of
 * 100,000,000 records takes over half an hour). */
vis_err audit_verify_stoppable(struct store *s, const struct checkpoint *kept,
			       const struct stop_ask *stop, struct audit_verify_result *res,
			       struct vis_error *e);

#endif
