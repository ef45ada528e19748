/* libFuzzer harness: PDND vouchers, as a client may send any bytes after
 * "Bearer ".  Whatever the input: no crash, no leak, and nothing accepted
 * but a voucher whose RS256 signature the one key of the JWKS verifies
 * (the corpus holds one such voucher, so that the claims are reached). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "jwks/jwks.h"
#include "pdnd/pdnd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The public half of the key that signed corpus/fuzz_pdnd/signed. */
static const char jwks[] =
	"{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k1\",\"use\":\"sig\",\"alg\":\"RS256\",\"e\":\"AQAB\","
	"\"n\":\"q3w-W-AjNNjQgQtt90q5OOeiUT9aPrZr1I2G6u3b8HPRv2f5oE-WGHOdtn0WLoo6SQLce2d-1uMWgyfhPzUYKoFiS7QtlV8u-CkUelLDLEvYMLKWBWTv6LqfkeoOHD-9yLkxETXKHBROmTUJ28pS_o1yiEXEUsv8Q81a6AO5EhkxkFpvYfWkEQbLc003v-vyTKUhUaN10TKGQ6NPum93ZeNgtOeD5ML5RlCoY9ndDTP6-sDqTBbEugV0_krMCibGtRV5Y-ctQl0oIZur4wjOH7wqw45hzgKCgfKcrlyYHQC12_rQCspt8BABGZjzj2ln4h5jC9JimlRZB05-lJWOAQ\"}]}";

static struct jwks *keys(void)
{
	static struct jwks *k;
	if (k)
		return k;
	char path[] = "/tmp/visura-fuzz-pdnd-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, jwks, sizeof jwks - 1) != (ssize_t)(sizeof jwks - 1))
		abort();
	close(fd);
	struct vis_error e = {0};
	static struct config cfg;
	config_defaults(&cfg);
	memcpy(cfg.pdnd_jwks, path, sizeof path);
	if (pdnd_keys_open(&cfg, &k, &e))
		abort();
	/* Gone: an unknown kid's reload then fails, and the key read stays. */
	unlink(path);
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *token = malloc(size + 1);
	if (!token)
		return 0;
	memcpy(token, data, size);
	token[size] = '\0';
	struct pdnd_checks c = {.issuer = "fuzz", .audience = "fuzz", .skew = 60, .max_bytes = 8192};
	struct pdnd_voucher v;
	struct pdnd_refusal why;
	bool ok = pdnd_voucher_check(keys(), &c, token, size, 1800000000, &v, &why);
	if (ok && (!v.client_id[0] || !v.purpose_id[0] || !v.jti[0]))
		abort();
	if (!ok && (!why.code || why.status < 400))
		abort();
	pdnd_is_jwt(token);
	free(token);
	return 0;
}
