#include "auth/totp.h"

#include <stdlib.h>
#include <string.h>

#include <liboath/oath.h>
#include <sodium.h>

#include "common/text.h"

#define TOTP_STEP 30
#define TOTP_DIGITS 6
#define TOTP_SECRET_BYTES 20        /* 160 bits, as RFC 4226 recommends */
#define TOTP_SECRET_MIN_BYTES 16    /* 128 bits, RFC 4226's minimum */
#define TOTP_T_MAX 253402300799LL   /* 9999-12-31T23:59:59Z */

_Static_assert((TOTP_SECRET_BYTES * 8 + 4) / 5 < TOTP_SECRET_B32_MAX,
	       "base32 secret must fit TOTP_SECRET_B32_MAX");

/* Set once by totp_init(), before any thread uses this module. */
static bool inited;

vis_err totp_init(struct vis_error *e)
{
	if (inited)
		return VIS_OK;
	if (sodium_init() < 0)
		return vis_error_set(e, VIS_ERR_INTERNAL, "totp: inizializzazione di libsodium non "
							  "riuscita");
	int rc = oath_init();
	if (rc != OATH_OK)
		return vis_error_set(e, VIS_ERR_INTERNAL, "totp: inizializzazione di liboath non "
							  "riuscita: %s",
				     oath_strerror(rc));
	inited = true;
	return VIS_OK;
}

/* Decodes a base32 secret (upper or lower case, '=' padding optional) into
 * a heap buffer the caller wipes and frees.  Returns the byte length, or 0
 * when the secret is malformed or too short. */
static size_t secret_decode(const char *b32, char **key)
{
	*key = NULL;
	if (!b32)
		return 0;
	size_t len = strnlen(b32, TOTP_SECRET_B32_MAX);
	if (len == 0 || len >= TOTP_SECRET_B32_MAX)
		return 0;
	char norm[TOTP_SECRET_B32_MAX];
	size_t n = 0, klen = 0;
	bool padding = false;
	for (size_t i = 0; i < len; i++) {
		char c = b32[i];
		if (c == '=') {
			padding = true;
			continue;
		}
		if (padding)
			goto bad;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')))
			goto bad;
		norm[n++] = c;
	}
	if (n == 0 || oath_base32_decode(norm, n, key, &klen) != OATH_OK || !*key)
		goto bad;
	sodium_memzero(norm, sizeof norm);
	if (klen < TOTP_SECRET_MIN_BYTES) {
		sodium_memzero(*key, klen);
		free(*key);
		*key = NULL;
		return 0;
	}
	return klen;
bad:
	sodium_memzero(norm, sizeof norm);
	if (*key) {
		free(*key);
		*key = NULL;
	}
	return 0;
}

static void key_free(char *key, size_t klen)
{
	if (!key)
		return;
	sodium_memzero(key, klen);
	free(key);
}

vis_err totp_secret_new(char out[TOTP_SECRET_B32_MAX], struct vis_error *e)
{
	if (!out)
		return vis_error_set(e, VIS_ERR_INVALID, "totp: no output buffer");
	if (!inited)
		return vis_error_set(e, VIS_ERR_INTERNAL, "totp: totp_init non è stata chiamata");
	unsigned char raw[TOTP_SECRET_BYTES];
	randombytes_buf(raw, sizeof raw);
	char *b32 = NULL;
	size_t blen = 0;
	int rc = oath_base32_encode((const char *)raw, sizeof raw, &b32, &blen);
	sodium_memzero(raw, sizeof raw);
	if (rc != OATH_OK || !b32) {
		free(b32);
		return vis_error_set(e, VIS_ERR_INTERNAL, "totp: codifica base32 non riuscita: %s",
				     oath_strerror(rc));
	}
	while (blen > 0 && b32[blen - 1] == '=')
		blen--;
	vis_err ret = VIS_OK;
	if (blen >= TOTP_SECRET_B32_MAX) {
		ret = vis_error_set(e, VIS_ERR_INTERNAL, "totp: segreto codificato troppo lungo");
	} else {
		memcpy(out, b32, blen);
		out[blen] = '\0';
	}
	sodium_memzero(b32, blen);
	free(b32);
	return ret;
}

/* The code of one time step into out (TOTP_DIGITS + NUL). */
static bool code_at(const char *key, size_t klen, int64_t step, char out[TOTP_DIGITS + 1])
{
	return oath_totp_generate(key, klen, (time_t)(step * TOTP_STEP), TOTP_STEP, 0,
				  TOTP_DIGITS, out) == OATH_OK;
}

vis_err totp_code(const char *secret_b32, int64_t t, char out[7], struct vis_error *e)
{
	if (!out)
		return vis_error_set(e, VIS_ERR_INVALID, "totp: no output buffer");
	out[0] = '\0';
	if (!inited)
		return vis_error_set(e, VIS_ERR_INTERNAL, "totp: totp_init non è stata chiamata");
	if (t < 0 || t > TOTP_T_MAX)
		return vis_error_set(e, VIS_ERR_INVALID, "totp: ora fuori dall'intervallo");
	char *key;
	size_t klen = secret_decode(secret_b32, &key);
	if (klen == 0)
		return vis_error_set(e, VIS_ERR_INVALID, "totp: il segreto non è base32 valido di "
							 "almeno %d byte",
				     TOTP_SECRET_MIN_BYTES);
	bool ok = code_at(key, klen, t / TOTP_STEP, out);
	key_free(key, klen);
	if (!ok) {
		sodium_memzero(out, 7);
		return vis_error_set(e, VIS_ERR_INTERNAL, "totp: generazione del codice non "
							  "riuscita");
	}
	return VIS_OK;
}

bool totp_verify(const char *secret_b32, const char *code, int64_t now, int64_t *last_step)
{
	if (!inited || !secret_b32 || !code || !last_step)
		return false;
	if (strnlen(code, TOTP_DIGITS + 1) != TOTP_DIGITS)
		return false;
	for (int i = 0; i < TOTP_DIGITS; i++)
		if (code[i] < '0' || code[i] > '9')
			return false;
	if (now < 0 || now > TOTP_T_MAX)
		return false;
	char *key;
	size_t klen = secret_decode(secret_b32, &key);
	if (klen == 0)
		return false;
	int64_t step = now / TOTP_STEP;
	int64_t accepted = -1;
	/* All three candidates are always computed and compared in constant
	 * time; the earliest matching step not yet used wins. */
	for (int delta = -1; delta <= 1; delta++) {
		int64_t s = step + delta;
		char buf[TOTP_DIGITS + 1];
		if (s < 0)
			continue;
		if (code_at(key, klen, s, buf) && sodium_memcmp(buf, code, TOTP_DIGITS) == 0 &&
		    s > *last_step && accepted < 0)
			accepted = s;
		sodium_memzero(buf, sizeof buf);
	}
	key_free(key, klen);
	if (accepted < 0)
		return false;
	*last_step = accepted;
	return true;
}

struct sink {
	char *out;
	size_t cap, pos;
	bool overflow;
};

static void put_raw(struct sink *k, const char *s, size_t n)
{
	if (k->overflow || n >= k->cap - k->pos) {
		k->overflow = true;
		return;
	}
	memcpy(k->out + k->pos, s, n);
	k->pos += n;
	k->out[k->pos] = '\0';
}

static void put_str(struct sink *k, const char *s)
{
	put_raw(k, s, strlen(s));
}

/* RFC 3986 percent-encoding: unreserved characters kept, the rest %XX. */
static void put_pct(struct sink *k, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			put_raw(k, (const char *)p, 1);
		} else {
			char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
			put_raw(k, esc, 3);
		}
	}
}

vis_err totp_uri(const char *secret_b32, const char *account, const char *issuer,
		 char *out, size_t cap, struct vis_error *e)
{
	if (!out || cap == 0)
		return vis_error_set(e, VIS_ERR_INVALID, "totp: no output buffer");
	out[0] = '\0';
	char *key;
	size_t klen = secret_decode(secret_b32, &key);
	if (klen == 0)
		return vis_error_set(e, VIS_ERR_INVALID, "totp: il segreto non è base32 valido di "
							 "almeno %d byte",
				     TOTP_SECRET_MIN_BYTES);
	key_free(key, klen);
	if (!issuer || !*issuer)
		issuer = "visura";
	if (!account || !*account || !utf8_valid(account, strnlen(account, 257)) ||
	    strnlen(account, 257) > 256)
		return vis_error_set(e, VIS_ERR_INVALID, "totp: nome dell'utenza mancante, troppo "
							 "lungo o non UTF-8");
	if (!utf8_valid(issuer, strnlen(issuer, 257)) || strnlen(issuer, 257) > 256)
		return vis_error_set(e, VIS_ERR_INVALID, "totp: emittente troppo lungo o non "
							 "UTF-8");
	struct sink k = {out, cap, 0, false};
	put_str(&k, "otpauth://totp/");
	put_pct(&k, issuer);
	put_str(&k, ":");
	put_pct(&k, account);
	put_str(&k, "?secret=");
	/* The secret as given, normalised: upper case, no padding. */
	for (const char *p = secret_b32; *p && *p != '='; p++) {
		char c = *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
		put_raw(&k, &c, 1);
	}
	put_str(&k, "&issuer=");
	put_pct(&k, issuer);
	put_str(&k, "&algorithm=SHA1&digits=6&period=30");
	if (k.overflow) {
		sodium_memzero(out, cap);
		return vis_error_set(e, VIS_ERR_LIMIT, "totp: l'URI non sta in %zu byte", cap);
	}
	return VIS_OK;
}
