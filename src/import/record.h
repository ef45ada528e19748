/* record — parsing and checking of one line of import format v1
 * (docs/import-format.md), on its own: no file, no database.
 *
 * Owns: the syntax and the per-record rules (field counts, dates and their
 * order, codes against the reference tables, the codice fiscale and its
 * consistency with the person's data).  Rules that need other records
 * (duplicates, references) belong to import.c.  Pure and re-entrant, so the
 * fuzzer drives it directly. */
#ifndef VISURA_IMPORT_RECORD_H
#define VISURA_IMPORT_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct refdata;

#define IMPORT_MAX_LINE 4096
#define IMPORT_MAX_FIELDS 64
#define IMPORT_FORMAT_NAME "VISURA-ANAGRAFE"
#define IMPORT_FORMAT_VERSION "1"

enum record_type {
	REC_HDR,
	REC_FAM,
	REC_PER,
	REC_EVT,
	REC_END,
};

struct record_header {
	char comune[7];
	int64_t extract;      /* seconds since the epoch */
	int extract_date;     /* YYYYMMDD of the extract */
	int64_t seq;
	bool full;
	char producer[101];
};

struct record {
	enum record_type type;
	union {
		struct record_header hdr;
		struct store_family fam;
		struct store_person per;
		struct store_event evt;
		int64_t end_count;
	} u;
};

/* Why a record was refused: the field (by its name in the format document,
 * "" for the whole record) and a sentence. */
struct record_problem {
	char field[32];
	char reason[200];
};

/* Parses line[0..len) (no LF).  `hdr` is the file's header (NULL while
 * parsing the header itself): it gives the municipality and the extract date
 * that other records are checked against.  Returns true and fills `out`, or
 * false and fills `why`. */
bool record_parse(const char *line, size_t len, const struct refdata *rd,
		  const struct record_header *hdr, struct record *out,
		  struct record_problem *why);

/* The record type's tag ("HDR", "FAM", ...). */
const char *record_type_name(enum record_type t);

/* Event types of the format, NULL-terminated. */
extern const char *const record_event_types[];

#endif
