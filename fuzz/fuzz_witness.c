/* libFuzzer harness: the witness's add-checkpoint body (witness/witness.h),
 * what anyone on the network may send a witness, and the decision over
 * it.  Whatever the input: no crash; a body that parses formats back to
 * the same bytes; the decision over it (against a log with that origin and
 * a fixed key, having cosigned a head of the input's old size) never
 * cosigns without the log's signature. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "witness/witness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct witness_request r;
	static char again[WITNESS_BODY_MAX + 1];
	if (witness_request_parse(&r, (const char *)data, size))
		return 0;
	size_t n = witness_request_format(&r, again, sizeof again);
	if (n != size || memcmp(again, data, size))
		abort();
	struct witness_log log = {0};
	memcpy(log.origin, r.cp.origin, sizeof log.origin);
	log.cosigned = r.old_size > 0;
	log.size = r.old_size;
	struct witness_log *g;
	const char *why;
	/* the all-zero key signs nothing: never a cosignature */
	if (witness_check(&r, &log, 1, &g, &why) == WITNESS_COSIGN)
		abort();
	return 0;
}
