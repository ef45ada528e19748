#include "auth/password.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/csv.h"
#include "common/text.h"

/* Argon2id cost: t = 2 passes over m = 19 MiB, one lane (libsodium always
 * uses p = 1).  This is the first of the equivalent minimum configurations
 * that the OWASP Password Storage Cheat Sheet recommends for Argon2id
 * (m=19456 KiB, t=2, p=1).  Raising either value later is safe: old hashes
 * still verify (the parameters live in the hash string) and
 * password_needs_rehash() tells the caller to re-hash at the next login. */
#define PW_OPSLIMIT 2ULL
#define PW_MEMLIMIT ((size_t)19 * 1024 * 1024)
/* Argon2's version 1.3 (0x13), the one libsodium writes: "v=19". */
#define ARGON2_VERSION_NUMBER 0x13

#define PW_LIST_FILE "common-passwords.txt"
#define PW_LIST_MAX_BYTES ((size_t)16 * 1024 * 1024)

#define XSTR(x) STR(x)
#define STR(x) #x

_Static_assert(PASSWORD_HASH_MAX == crypto_pwhash_STRBYTES,
	       "PASSWORD_HASH_MAX must match crypto_pwhash_STRBYTES");

/* Read-only after password_init(), so the query functions are thread-safe. */
static char *common_buf;        /* the file, lower-cased, lines NUL-terminated */
static const char **common;     /* sorted, unique, pointers into common_buf */
static size_t ncommon;
static char dummy_hash[crypto_pwhash_STRBYTES];
static bool have_dummy;

/* Alphabet of generated passwords: no 0 O 1 l I. */
static const char gen_upper[] = "ABCDEFGHJKLMNPQRSTUVWXYZ";
static const char gen_lower[] = "abcdefghijkmnopqrstuvwxyz";
static const char gen_digit[] = "23456789";
static const char gen_punct[] = "!#%*+-=?@_";

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}


/* Counts the code points of s[0..len); -1 when not UTF-8, -2 when a
 * control character (C0, DEL, C1) is present. */
static long utf8_count(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	long count = 0;
	size_t i = 0;
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_next(p + i, len - i, &cp);
		if (n == 0)
			return -1;
		if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
			return -2;
		i += n;
		count++;
	}
	return count;
}

/* Case-insensitive (ASCII letters) search of needle in hay. */
static bool contains_nocase(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	if (nlen == 0 || nlen > hlen)
		return false;
	for (size_t i = 0; i + nlen <= hlen; i++) {
		size_t j = 0;
		while (j < nlen && ascii_lower(hay[i + j]) == ascii_lower(needle[j]))
			j++;
		if (j == nlen)
			return true;
	}
	return false;
}

static void list_free(void)
{
	free(common);
	free(common_buf);
	common = NULL;
	common_buf = NULL;
	ncommon = 0;
}

static vis_err list_load(const char *data_dir, struct vis_error *e)
{
	char path[4096];
	int w = snprintf(path, sizeof path, "%s/%s", data_dir, PW_LIST_FILE);
	if (w < 0 || (size_t)w >= sizeof path)
		return vis_error_set(e, VIS_ERR_LIMIT, "percorso dell'elenco delle password troppo "
						       "lungo: %s", data_dir);
	size_t len = 0;
	errno = 0;
	char *buf = file_read_all(path, PW_LIST_MAX_BYTES, &len);
	if (!buf)
		return vis_error_set(e, VIS_ERR_IO, "impossibile leggere %s: %s", path,
				     errno ? strerror(errno) : "troppo grande o illeggibile");
	/* One entry per line: count the lines to size the array. */
	size_t lines = 1;
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	const char **arr = calloc(lines, sizeof *arr);
	if (!arr) {
		free(buf);
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita caricando %s", path);
	}
	size_t n = 0, lineno = 0;
	char *p = buf, *end = buf + len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *stop = nl ? nl : end;
		lineno++;
		if (stop > p && stop[-1] == '\r')
			stop--;
		*stop = '\0';
		size_t l = (size_t)(stop - p);
		if (l > 0) {
			if (utf8_count(p, l) < 0) {
				free(arr);
				free(buf);
				return vis_error_set(e, VIS_ERR_INVALID,
						     "%s riga %zu: UTF-8 non valido o caratteri di "
						     "controllo",
						     path, lineno);
			}
			/* Entries longer than the maximum can never match. */
			if (l <= PASSWORD_MAX_LEN) {
				for (size_t i = 0; i < l; i++)
					p[i] = ascii_lower(p[i]);
				arr[n++] = p;
			}
		}
		p = nl ? nl + 1 : end;
	}
	if (n == 0) {
		free(arr);
		free(buf);
		return vis_error_set(e, VIS_ERR_INVALID, "%s holds no passwords", path);
	}
	qsort(arr, n, sizeof *arr, cmp_str);
	size_t u = 1;
	for (size_t i = 1; i < n; i++)
		if (strcmp(arr[i], arr[u - 1]) != 0)
			arr[u++] = arr[i];
	common_buf = buf;
	common = arr;
	ncommon = u;
	return VIS_OK;
}

vis_err password_init(const char *data_dir, struct vis_error *e)
{
	if (!data_dir || !*data_dir)
		return vis_error_set(e, VIS_ERR_INVALID, "password: no data directory");
	if (sodium_init() < 0)
		return vis_error_set(e, VIS_ERR_INTERNAL, "password: inizializzazione di libsodium "
							  "non riuscita");
	password_shutdown();
	vis_err rc = list_load(data_dir, e);
	if (rc != VIS_OK)
		return rc;
	/* The dummy hash has the parameters of real ones, so that
	 * password_burn() costs what a real verification costs: a verification
	 * hashes with the string's salt and parameters, then compares.  Its
	 * salt and digest are random, so no password matches it; written
	 * rather than computed, which cost a hash (about 60 ms, with 19 MiB
	 * touched) at every start of every command. */
	unsigned char salt[crypto_pwhash_SALTBYTES], digest[32];
	char salt64[sizeof salt * 2], digest64[sizeof digest * 2];
	randombytes_buf(salt, sizeof salt);
	randombytes_buf(digest, sizeof digest);
	sodium_bin2base64(salt64, sizeof salt64, salt, sizeof salt,
			  sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	sodium_bin2base64(digest64, sizeof digest64, digest, sizeof digest,
			  sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	int n = snprintf(dummy_hash, sizeof dummy_hash, "%sv=%d$m=%zu,t=%llu,p=1$%s$%s",
			 crypto_pwhash_STRPREFIX, ARGON2_VERSION_NUMBER, PW_MEMLIMIT / 1024,
			 PW_OPSLIMIT, salt64, digest64);
	/* needs_rehash parses the string: 0 when it is an argon2id hash of
	 * exactly these parameters. */
	if (n < 0 || (size_t)n >= sizeof dummy_hash ||
	    crypto_pwhash_str_needs_rehash(dummy_hash, PW_OPSLIMIT, PW_MEMLIMIT) != 0) {
		list_free();
		return vis_error_set(e, VIS_ERR_INTERNAL, "password: hash fittizio malformato");
	}
	have_dummy = true;
	return VIS_OK;
}

void password_shutdown(void)
{
	list_free();
	sodium_memzero(dummy_hash, sizeof dummy_hash);
	have_dummy = false;
}

vis_err password_hash(const char *pw, char out[PASSWORD_HASH_MAX], struct vis_error *e)
{
	if (!pw || !out)
		return vis_error_set(e, VIS_ERR_INVALID, "password: nulla di cui fare l'hash");
	size_t len = strnlen(pw, PASSWORD_MAX_LEN + 1);
	if (len > PASSWORD_MAX_LEN)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "la password supera " XSTR(PASSWORD_MAX_LEN) " byte");
	if (crypto_pwhash_str(out, pw, len, PW_OPSLIMIT, PW_MEMLIMIT) != 0) {
		sodium_memzero(out, PASSWORD_HASH_MAX);
		return vis_error_set(e, VIS_ERR_NOMEM, "password: calcolo dell'hash non riuscito "
						       "(memoria esaurita)");
	}
	return VIS_OK;
}

bool password_verify(const char *hash, const char *pw)
{
	if (!hash || !pw)
		return false;
	if (strnlen(hash, PASSWORD_HASH_MAX) >= PASSWORD_HASH_MAX)
		return false;
	size_t len = strnlen(pw, PASSWORD_MAX_LEN + 1);
	if (len > PASSWORD_MAX_LEN)
		return false;
	return crypto_pwhash_str_verify(hash, pw, len) == 0;
}

bool password_needs_rehash(const char *hash)
{
	if (!hash || strnlen(hash, PASSWORD_HASH_MAX) >= PASSWORD_HASH_MAX)
		return true;
	/* 0: current parameters; 1: other parameters; -1: not an argon2id hash
	 * (argon2i or garbage), which also has to be replaced. */
	return crypto_pwhash_str_needs_rehash(hash, PW_OPSLIMIT, PW_MEMLIMIT) != 0;
}

void password_burn(const char *pw)
{
	if (!have_dummy)
		return;
	/* Same early exits as password_verify(), then the same work. */
	if (!pw)
		pw = "";
	size_t len = strnlen(pw, PASSWORD_MAX_LEN + 1);
	if (len > PASSWORD_MAX_LEN)
		return;
	volatile int r = crypto_pwhash_str_verify(dummy_hash, pw, len);
	(void)r;
}

bool password_is_common(const char *pw)
{
	if (!pw || ncommon == 0)
		return false;
	size_t len = strnlen(pw, PASSWORD_MAX_LEN + 1);
	if (len > PASSWORD_MAX_LEN)
		return false;
	char low[PASSWORD_MAX_LEN + 1];
	for (size_t i = 0; i < len; i++)
		low[i] = ascii_lower(pw[i]);
	low[len] = '\0';
	const char *key = low;
	bool found = bsearch(&key, common, ncommon, sizeof *common, cmp_str) != NULL;
	sodium_memzero(low, sizeof low);
	return found;
}

const char *password_policy_check(const char *pw, const char *user_id,
				  const char *const *previous, size_t n)
{
	if (!pw)
		return "password assente";
	size_t len = strnlen(pw, PASSWORD_MAX_LEN + 1);
	if (len > PASSWORD_MAX_LEN)
		return "la password supera " XSTR(PASSWORD_MAX_LEN) " byte";
	long chars = utf8_count(pw, len);
	if (chars == -1)
		return "la password non è testo UTF-8 valido";
	if (chars == -2)
		return "la password contiene caratteri di controllo";
	if (chars < PASSWORD_MIN_LEN)
		return "la password è più corta di " XSTR(PASSWORD_MIN_LEN) " caratteri";
	if (user_id) {
		size_t ulen = strnlen(user_id, PASSWORD_MAX_LEN + 1);
		long uchars = utf8_count(user_id, ulen);
		if (uchars < 0)
			uchars = (long)ulen;
		if (uchars >= 3 && contains_nocase(pw, len, user_id, ulen))
			return "la password contiene il nome utente";
	}
	if (password_is_common(pw))
		return "la password è troppo comune";
	for (size_t i = 0; previous && i < n; i++)
		if (previous[i] && password_verify(previous[i], pw))
			return "la password è stata usata di recente";
	return NULL;
}

static bool has_any(const char *s, size_t len, const char *set)
{
	for (size_t i = 0; i < len; i++)
		if (strchr(set, s[i]))
			return true;
	return false;
}

vis_err password_generate(char *out, size_t cap, size_t len, struct vis_error *e)
{
	if (!out)
		return vis_error_set(e, VIS_ERR_INVALID, "password: no output buffer");
	if (len < 16 || len >= cap || len > PASSWORD_MAX_LEN)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "password: impossibile generare %zu caratteri in "
				     "%zu byte", len, cap);
	if (sodium_init() < 0)
		return vis_error_set(e, VIS_ERR_INTERNAL, "password: inizializzazione di libsodium "
							  "non riuscita");
	char alphabet[sizeof gen_upper + sizeof gen_lower + sizeof gen_digit + sizeof gen_punct];
	int w = snprintf(alphabet, sizeof alphabet, "%s%s%s%s", gen_upper, gen_lower, gen_digit,
			 gen_punct);
	if (w < 0 || (size_t)w >= sizeof alphabet)
		return vis_error_set(e, VIS_ERR_INTERNAL, "password: l'alfabeto non ci sta");
	uint32_t na = (uint32_t)w;
	/* Uniform draws, retried until every class is present: no bias, and
	 * with 16 characters about four tries in five succeed at once. */
	for (int attempt = 0; attempt < 1000; attempt++) {
		for (size_t i = 0; i < len; i++)
			out[i] = alphabet[randombytes_uniform(na)];
		out[len] = '\0';
		if (has_any(out, len, gen_upper) && has_any(out, len, gen_lower) &&
		    has_any(out, len, gen_digit) && has_any(out, len, gen_punct) &&
		    password_policy_check(out, NULL, NULL, 0) == NULL)
			return VIS_OK;
	}
	sodium_memzero(out, cap);
	return vis_error_set(e, VIS_ERR_INTERNAL, "password: impossibile generare una password "
						  "valida");
}
