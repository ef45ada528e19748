/* libFuzzer harness: the encrypted userinfo (oidc_jwe_decrypt), as a
 * provider or anyone on its path may send any bytes.  The key is made at
 * start, so no input can be encrypted to it: whatever the input, no
 * crash, no leak, and nothing decrypted.  The corpus holds real JWEs of
 * each algorithm the profile names (for other keys), so that the key
 * unwrapping and the content decryption are reached. */
#include <jose/jwk.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oidc/oidc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *key(void)
{
	static json_t *k;
	if (!k) {
		k = json_pack("{s:s,s:i}", "kty", "RSA", "bits", 2048);
		if (!k || !jose_jwk_gen(NULL, k))
			abort();
		json_object_set_new(k, "kid", json_string("fuzz"));
	}
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	size_t len;
	char *out = oidc_jwe_decrypt(key(), text, 16384, &len);
	if (out)
		abort();
	free(text);
	return 0;
}
