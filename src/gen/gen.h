/* gen — a deterministic synthetic population of Italian municipal registers,
 * written in import format v1 (docs/import-format.md, docs/generator.md).
 *
 * For each municipality of a run it writes one FULL snapshot (sequence 1)
 * and then one DELTA per following day, simulating births, deaths, moves,
 * migrations, marriages, divorces, civil unions and citizenship
 * acquisitions.  The same options (seed included) give byte-identical files.
 *
 * Owns: the whole simulated state of a run (persons, households, the set of
 * issued codici fiscali) and the files it writes; all of it is freed before
 * gen_run() returns.  The reference tables are borrowed from the caller. */
#ifndef VISURA_GEN_GEN_H
#define VISURA_GEN_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct refdata;

#define GEN_MAX_COMUNI 256
#define GEN_MAX_DAYS 3660
#define GEN_MAX_PERSONS 20000000u
#define GEN_DEFAULT_DATE 20260101
#define GEN_HIST_SIZES 8 /* household size histogram: 1..7, 8+ */

struct gen_options {
	const char *data_dir;        /* names, surnames, distributions; NULL = refdata_default_dir() */
	const char *out_dir;         /* must exist */
	const char *const *comuni;   /* ISTAT codes of active municipalities */
	size_t ncomuni;              /* 1..GEN_MAX_COMUNI, no repeats */
	uint64_t persons;            /* resident population of the whole run, split evenly */
	uint64_t seed;
	int days;                    /* daily DELTA files after the FULL, 0..GEN_MAX_DAYS */
	int date;                    /* YYYYMMDD extract date of the FULL; 0 = GEN_DEFAULT_DATE */
	const char *producer;        /* HDR field 8; NULL = "visura-gen/<version>" */
};

struct gen_stats {
	uint64_t persons;            /* PER records created (registered and cancelled) */
	uint64_t residents_start;    /* registered in the FULL files */
	uint64_t residents_end;      /* registered after the last DELTA */
	uint64_t households;         /* FAM ever created */
	uint64_t convivenze;         /* of which kind 2 */
	uint64_t foreigners;         /* registered non-Italian citizens in the FULL files */
	uint64_t born_abroad;        /* registered residents born abroad in the FULL files */
	uint64_t born_suppressed;    /* persons whose birth place code is no longer in force
				      * (suppressed or renumbered municipality) */
	uint64_t omocodie;           /* codici fiscali issued with omocodia level >= 1 */
	uint64_t events;             /* EVT records written */
	uint64_t files;              /* files written */
	uint64_t bytes;              /* bytes written */
	uint64_t hh_size[GEN_HIST_SIZES]; /* FULL households (kind 1) by size 1..7, 8+ */
};

/* Validates the options (municipalities active in rd, counts in range).
 * Returns VIS_ERR_INVALID with a message on the first problem. */
vis_err gen_options_check(const struct refdata *rd, const struct gen_options *o,
			  struct vis_error *e);

/* Writes the files of a run into o->out_dir: for every municipality
 * <istat>-000001-FULL.tsv and <istat>-<seq>-DELTA.tsv for seq 2..days+1.
 * `st` (may be NULL) receives counters.  Returns VIS_OK, or an error with
 * a message (files already written are left in place). */
vis_err gen_run(const struct refdata *rd, const struct gen_options *o,
		struct gen_stats *st, struct vis_error *e);

#endif
