/* libFuzzer harness: the export bundle's verifier (audit/export.h), which
 * reads a file someone else hands over.  The key is the one the input
 * names (so that a mutated record behind a valid head is reached), else
 * zeros.  Whatever the input: no crash, no read past it; a bundle found
 * valid counts as many records as it holds. */
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/export.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct audit_bundle_result res;
	uint8_t pk[32] = {0};
	size_t n;
	json_t *doc = json_loadb((const char *)data, size, 0, NULL);
	const char *hex = json_string_value(json_object_get(doc, "public_key"));
	if (hex && strlen(hex) == 64)
		(void)sodium_hex2bin(pk, sizeof pk, hex, 64, NULL, &n, NULL);
	size_t records = json_array_size(json_object_get(doc, "records"));
	json_decref(doc);
	if (audit_bundle_verify((const char *)data, size, pk, &res) &&
	    (res.records != (int64_t)records || res.why[0]))
		abort();
	return 0;
}
