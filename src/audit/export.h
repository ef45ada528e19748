/* export — the access trail as a CSV file: one column set, written by one
 * function, for GET /api/v1/audit/access?format=csv and `visura audit
 * export --format csv` alike (docs/api.md, "The access trail as CSV").
 *
 * Owns: the columns and their order —
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

#include "common/str.h"
#include "store/store.h"

/* The header line, "\n" included. */
extern const char audit_export_csv_header[];

/* Appends one record as a CSV line; false when sb has failed (over its
 * maximum, out of memory: its first error kept). */
bool audit_export_csv_row(struct strbuf *sb, const struct store_access *a);

#endif
