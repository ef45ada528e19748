#include "audit/sha256.h"

#include <openssl/evp.h>
#include <pthread.h>

static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md;   /* fetched once, kept for the life of the process */

static void md_fetch(void)
{
	md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static EVP_MD *md_get(void)
{
	pthread_once(&md_once, md_fetch);
	return md;
}

void sha256_init(struct sha256 *h)
{
	EVP_MD *m = md_get();
	EVP_MD_CTX *c = m ? EVP_MD_CTX_new() : NULL;
	if (c && !EVP_DigestInit_ex(c, m, NULL)) {
		EVP_MD_CTX_free(c);
		c = NULL;
	}
	h->evp = c;
	if (!c)
		crypto_hash_sha256_init(&h->st);
}

void sha256_update(struct sha256 *h, const void *data, size_t len)
{
	/* libcrypto's update of a fetched SHA-256 does not fail. */
	if (h->evp)
		EVP_DigestUpdate(h->evp, data, len);
	else
		crypto_hash_sha256_update(&h->st, data, len);
}

void sha256_final(struct sha256 *h, uint8_t out[SHA256_BYTES])
{
	if (!h->evp) {
		crypto_hash_sha256_final(&h->st, out);
		return;
	}
	unsigned int n = 0;
	EVP_DigestFinal_ex(h->evp, out, &n);
	EVP_MD_CTX_free(h->evp);
	h->evp = NULL;
}

void sha256_of(const void *data, size_t len, uint8_t out[SHA256_BYTES])
{
	EVP_MD *m = md_get();
	if (!m || !EVP_Digest(data, len, out, NULL, m, NULL))
		crypto_hash_sha256(out, data, len);
}
