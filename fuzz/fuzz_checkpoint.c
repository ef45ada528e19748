/* libFuzzer harness: the checkpoint note (audit/checkpoint.h) and the proof
 * verifiers (audit/merkle.h), the parts of the trail that read what
 * someone else hands over (a kept head, a receipt, a witness's answer).
 * Whatever the input: no crash; a note that parses rebuilds to the same
 * text; a proof from the input is verified without reading past it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/checkpoint.h"
#include "audit/merkle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct checkpoint c, again;
	if (!checkpoint_parse(&c, (const char *)data, size)) {
		size_t len = strlen(c.text);
		if (len != size || memcmp(c.text, data, size))
			abort();
		again = c;
		if (checkpoint_text_rebuild(&again) || strcmp(again.text, c.text))
			abort();
		uint8_t pk[32] = {0};
		(void)checkpoint_verify(&c, pk);
		(void)checkpoint_cosigned(&c, "w", pk, NULL);
	}
	/* 16 bytes of sizes, then hashes: leaf, two roots, the proof. */
	if (size >= 16 + 3 * MERKLE_HASH) {
		uint64_t a = u64(data) % 4096, b = u64(data + 8) % 4096;
		const uint8_t *h = data + 16;
		size_t rest = (size - 16 - 3 * MERKLE_HASH) / MERKLE_HASH;
		int len = rest > MERKLE_PROOF_MAX ? MERKLE_PROOF_MAX : (int)rest;
		uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH];
		memcpy(proof, h + 3 * MERKLE_HASH, (size_t)len * MERKLE_HASH);
		(void)merkle_inclusion_verify(h, a, b, proof, len, h + MERKLE_HASH);
		(void)merkle_consistency_verify(a, b, h + MERKLE_HASH, h + 2 * MERKLE_HASH, proof,
						len);
	}
	return 0;
}
