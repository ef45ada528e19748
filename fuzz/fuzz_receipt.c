/* libFuzzer harness: the offline check of a receipt
 * (audit_receipt_verify), which reads what anyone holding a printed visura
 * hands over — on the command line and, on a public verification page,
 * from the network.  Whatever the input: no crash, no read past it, and
 * never "valid" for a receipt this harness's key did not sign (the key is
 * made here; a fuzzer cannot forge an Ed25519 signature). */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	static bool ready;
	if (!ready) {
		uint8_t sk[crypto_sign_SECRETKEYBYTES];
		if (sodium_init() < 0)
			abort();
		crypto_sign_keypair(pk, sk);
		sodium_memzero(sk, sizeof sk);
		ready = true;
	}
	if (size > AUDIT_RECEIPT_MAX + 16)
		return 0;
	/* The receipt up to the first newline, the answer's body after it. */
	const uint8_t *nl = memchr(data, '\n', size);
	size_t rlen = nl ? (size_t)(nl - data) : size;
	char *receipt = malloc(rlen + 1);
	if (!receipt)
		abort();
	memcpy(receipt, data, rlen);
	receipt[rlen] = '\0';
	struct audit_receipt_info info;
	const char *why = audit_receipt_verify(receipt, pk, nl ? (const char *)nl + 1 : NULL,
					       nl ? size - rlen - 1 : 0, &info);
	if (!why)
		abort(); /* accepted without this key's signature */
	free(receipt);
	return 0;
}
