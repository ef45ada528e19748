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

/* Appends rec (its id and hashes are set here) in its own transaction. */
vis_err audit_append(struct store *s, struct store_access *rec, struct vis_error *e);

/* The hash of a record given its predecessor's hash (hex SHA-256 over a
 * canonical encoding of every field, the id included). */
void audit_hash(const struct store_access *rec, const char *prev_hash, char out[65]);

struct audit_verify_result {
	int64_t checked;        /* records read */
	int64_t first_bad_id;   /* 0 when the chain holds */
	char why[200];
};

/* Walks the whole trail and checks every link. */
vis_err audit_verify(struct store *s, struct audit_verify_result *res, struct vis_error *e);

#endif
