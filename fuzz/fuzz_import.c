/* libFuzzer harness: whole import files (header, records, trailer) through
 * the importer into an in-memory database.  Whatever the bytes, the importer
 * must not crash, and a refused file must leave no import behind. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "import/import.h"
#include "refdata/refdata.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct refdata *rd;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vis_error e = {0};
	if (!rd && refdata_load(refdata_default_dir(), &rd, &e) != VIS_OK)
		abort();
	if (size == 0)
		return 0;
	struct store *s;
	if (store_open("sqlite::memory:", &s, &e) != VIS_OK)
		abort();
	FILE *in = fmemopen((void *)data, size, "rb");
	if (!in)
		abort();
	struct import_options opt = {.source = "fuzz"};
	struct import_result res;
	vis_err rc = import_stream(s, rd, in, &opt, &res, &e);
	fclose(in);
	/* Refused means nothing was written. */
	if (rc == VIS_ERR_INVALID) {
		struct store_counts c;
		if (res.applied || store_counts_get(s, "", 0, &c, &e) != VIS_OK ||
		    c.persons || c.cancelled || c.events)
			abort();
	}
	if (rc == VIS_OK && !res.applied && !res.already_loaded)
		abort();
	store_close(s);
	return 0;
}
