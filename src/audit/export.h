/* export — the access trail as a CSV file, and as a bundle an auditor
 * verifies offline.
 *
 * The CSV: one column set, written by one function, for GET
 * /api/v1/audit/access?format=csv and `visura audit export --format csv`
 * alike (docs/api.md, "The access trail as CSV").  The bundle (`visura
 * audit export --format bundle`, checked by `visura audit verify-export
 * FILE --key PUBKEY` with no database): one JSON document holding the
 * records, each with its leaf index, its leaf and its inclusion proof in
 * the latest signed tree head, that head (cosignatures included) and the
 * public key (docs/design.md, "The export bundle").
 *
 * Owns: the CSV columns and their order, the bundle's format, its writing
 * and its verification.  The CSV columns —
 *
 *   id, at (UTC, YYYY-MM-DDTHH:MM:SSZ), at_ms (the instant the hash covers,
 *   ms since the epoch), account_id, username, ente_id, purpose_id,
 *   case_ref, on_behalf_of, ip, operation, query, subjects (codici fiscali,
 *   ','), categories, outcome, status, flags, prev_hash, hash
 *
 * — prev_hash and hash let whoever holds the file check that its records
 * follow each other in the chain.  Every cell through strbuf_add_csv
 * (RFC 4180 quoting, formulas neutralised). */
#ifndef VISURA_AUDIT_EXPORT_H
#define VISURA_AUDIT_EXPORT_H

#include <stdio.h>

#include "audit/checkpoint.h"
#include "common/str.h"
#include "store/store.h"

/* The header line, "\n" included. */
extern const char audit_export_csv_header[];

/* Appends one record as a CSV line; false when sb has failed (over its
 * maximum, out of memory: its first error kept). */
bool audit_export_csv_row(struct strbuf *sb, const struct store_access *a);

/* ---- the bundle ----
 *
 *   {"format": "visura-trail-export/v1",
 *    "origin": ..., "public_key": hex, "head": the checkpoint's text,
 *    "selection": {"from", "to", "cf"} (null when not given),
 *    "range": {"first": id, "last": id}   — or null: a selection by person,
 *                                          whose completeness cannot be shown
 *    "records": [{"index": leaf index (id - 1), "leaf": hex,
 *                 "proof": [base64 hashes], "record": {every field the leaf
 *                 hashes, and hash}}]}
 *
 * Filtered by period only, the records are every one from the first to
 * the last matching, none left out (the range), so that a record removed
 * from the file is named; filtered by person, account, body or purpose,
 * they are a selection (range null). */
#define AUDIT_BUNDLE_FORMAT "visura-trail-export/v1"
/* The largest bundle verify-export reads. */
#define AUDIT_BUNDLE_MAX (512u << 20)

struct audit_bundle_query {
	struct store_access_filter filter;
	const char *from, *to;               /* as given, for "selection" (or NULL) */
};
/* Writes the bundle to out; *n: the records written.  VIS_ERR_NOTFOUND
 * when the trail has no signed head yet. */
vis_err audit_bundle_write(struct store *s, const struct audit_bundle_query *q, FILE *out,
			   int64_t *n, struct vis_error *e);

struct audit_bundle_result {
	int64_t records;
	int64_t first, last;                 /* the range, 0 when a selection */
	struct checkpoint head;
	char why[400];                       /* "" when valid */
};
/* Verifies a bundle with the deployment's public key only; false (and
 * res->why) when anything fails. */
bool audit_bundle_verify(const char *text, size_t len, const uint8_t pk[32],
			 struct audit_bundle_result *res);

#endif
