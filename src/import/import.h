/* import — loads one file of import format v1 (docs/import-format.md) into
 * the store: the daily replica of a municipality's register.
 *
 * Owns: reading the file (bounded lines, SHA-256), the rules that span
 * records (order, duplicates, references, sequence), the all-or-nothing
 * transaction and the reject report.  Per-record rules live in record.h.
 * The file is read and checked on a thread of its own while the caller's
 * thread looks up and writes; the store is used from the caller's only. */
#ifndef VISURA_IMPORT_IMPORT_H
#define VISURA_IMPORT_IMPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"
#include "common/stop.h"
#include "import/record.h"
#include "store/store.h"

struct refdata;

/* At most this many problems are listed in a reject report. */
#define IMPORT_MAX_PROBLEMS 10000

struct import_options {
	const char *source;        /* name recorded with the import (file name) */
	const char *rejects_path;  /* where to write the reject report; NULL = none */
	/* called with each of the first IMPORT_MAX_PROBLEMS problems, as the
	 * report lists them (the HTTPS push answers them without a file);
	 * NULL = none */
	void (*on_problem)(void *ctx, int64_t line, const char *record, const char *field,
			   const char *reason);
	void *problem_ctx;
	bool progress;             /* draw a progress bar on stderr */
	int64_t size_hint;         /* total bytes, for the progress bar (0 = unknown) */
	/* asked every IMPORT_STOP_EVERY records and before the last step
	 * (the indexes, the commit): true stops the import, rolled back
	 * (res->stopped); the server's stop, so that it does not wait for a
	 * snapshot of a million persons.  {0} = never. */
	struct stop_ask stop;
};

/* Records between two questions to import_options' stop. */
#define IMPORT_STOP_EVERY 4096

struct import_result {
	struct record_header hdr;
	struct store_import_counts counts;
	int64_t problems;          /* rejected records and file-level problems */
	int64_t lines;
	bool applied;              /* committed */
	bool stopped;              /* stopped by the options' stopping: nothing written */
	bool already_loaded;       /* same file as a loaded one: nothing to do */
	char sha256[65];
	/* why the reject report (options' rejects_path) could not be opened
	 * or written, "" when it was or none was asked: a refused file's
	 * problems are then in no report, and the caller says so */
	char rejects_error[512]; /* as struct vis_error's msg */
};

/* Imports the file open on `in`, which must be seekable (it may be read
 * twice to recognise a file already loaded).  Returns VIS_OK when the file
 * was applied or recognised as already loaded; VIS_ERR_INVALID when it was
 * refused (res->problems > 0, report written, database unchanged);
 * VIS_ERR_BUSY when the options' stopping stopped it (res->stopped,
 * database unchanged: to be imported again); another code when the store
 * or the file failed. */
vis_err import_stream(struct store *s, const struct refdata *rd, FILE *in,
		      const struct import_options *opt, struct import_result *res,
		      struct vis_error *e);

#endif
