#include "audit/checkpoint.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "audit/sha256.h"
#include "common/str.h"

#define DASH "\xe2\x80\x94"   /* U+2014, the em dash of a signature line */
#define SIG_ED25519 0x01
#define SIG_COSIGNATURE 0x04

bool checkpoint_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > CHECKPOINT_NAME_MAX || !strncmp(name, DASH, 3))
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] <= 0x20 || name[i] >= 0x7f)
			return false;
	return true;
}

void checkpoint_key_id(const char *name, uint8_t type, const uint8_t pk[32], uint8_t out[4])
{
	struct sha256 st;
	uint8_t d[SHA256_BYTES];
	const uint8_t nl = 0x0a;
	sha256_init(&st);
	sha256_update(&st, name, strlen(name));
	sha256_update(&st, &nl, 1);
	sha256_update(&st, &type, 1);
	sha256_update(&st, pk, 32);
	sha256_final(&st, d);
	memcpy(out, d, 4);
}

int checkpoint_text_rebuild(struct checkpoint *c)
{
	struct strbuf sb;
	strbuf_init(&sb, CHECKPOINT_TEXT_MAX);
	strbuf_add(&sb, c->text, c->body_len);
	strbuf_adds(&sb, "\n");
	for (int i = 0; i < c->nsigs; i++) {
		uint8_t raw[4 + sizeof c->sigs[i].sig];
		char b64[sizeof raw * 2];
		memcpy(raw, c->sigs[i].key_id, 4);
		memcpy(raw + 4, c->sigs[i].sig, c->sigs[i].sig_len);
		str_base64(b64, sizeof b64, raw, 4 + c->sigs[i].sig_len, STR_B64);
		strbuf_addf(&sb, DASH " %s %s\n", c->sigs[i].name, b64);
	}
	int rc = sb.err ? -1 : 0;
	if (!rc) {
		memcpy(c->text, sb.buf, sb.len + 1);
	}
	strbuf_release(&sb);
	return rc;
}

static int body_build(struct checkpoint *c, const char *origin, uint64_t size,
		      const uint8_t root[MERKLE_HASH])
{
	char b64[sodium_base64_ENCODED_LEN(MERKLE_HASH, sodium_base64_VARIANT_ORIGINAL)];
	if (!checkpoint_name_ok(origin))
		return -1;
	memset(c, 0, sizeof *c);
	STR_COPY_KNOWN(c->origin, origin);
	c->size = size;
	memcpy(c->root, root, MERKLE_HASH);
	str_base64(b64, sizeof b64, root, MERKLE_HASH, STR_B64);
	int n = snprintf(c->text, sizeof c->text, "%s\n%llu\n%s\n", origin,
			 (unsigned long long)size, b64);
	if (n < 0 || (size_t)n >= sizeof c->text)
		return -1;
	c->body_len = (size_t)n;
	return 0;
}

int checkpoint_sign(struct checkpoint *c, const char *origin, uint64_t size,
		    const uint8_t root[MERKLE_HASH], const uint8_t sk[64])
{
	if (body_build(c, origin, size, root))
		return -1;
	uint8_t pk[32];
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	struct checkpoint_sig *s = &c->sigs[0];
	STR_COPY_KNOWN(s->name, origin);
	/* The group-commit writer signs every commit with the same origin and
	 * key: their key id (a SHA-256) is kept from the last signature of the
	 * thread.  An origin is never "" (body_build refused it), so the empty
	 * cache never matches. */
	static _Thread_local struct {
		char origin[CHECKPOINT_NAME_MAX + 1];
		uint8_t pk[32], id[4];
	} last;
	if (strcmp(last.origin, origin) || memcmp(last.pk, pk, sizeof pk)) {
		checkpoint_key_id(origin, SIG_ED25519, pk, last.id);
		memcpy(last.pk, pk, sizeof pk);
		STR_COPY_KNOWN(last.origin, origin);
	}
	memcpy(s->key_id, last.id, sizeof s->key_id);
	crypto_sign_detached(s->sig, NULL, (const unsigned char *)c->text, c->body_len, sk);
	s->sig_len = 64;
	c->nsigs = 1;
	return checkpoint_text_rebuild(c);
}

bool checkpoint_decimal(const char *s, size_t n, uint64_t *out)
{
	if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

bool checkpoint_base64_exact(const char *b, size_t n, uint8_t *out, size_t cap, size_t *got)
{
	char again[4 * ((CHECKPOINT_TEXT_MAX + 2) / 3) + 1];
	if (n >= sizeof again ||
	    sodium_base642bin(out, cap, b, n, NULL, got, NULL, sodium_base64_VARIANT_ORIGINAL))
		return false;
	sodium_bin2base64(again, sizeof again, out, *got, sodium_base64_VARIANT_ORIGINAL);
	return strlen(again) == n && !memcmp(again, b, n);
}

bool checkpoint_line(const char *text, size_t len, size_t *at, const char **start, size_t *n)
{
	if (*at >= len)
		return false;
	const char *nl = memchr(text + *at, '\n', len - *at);
	if (!nl)
		return false;
	*start = text + *at;
	*n = (size_t)(nl - *start);
	*at += *n + 1;
	return true;
}

const char *checkpoint_parse(struct checkpoint *c, const char *text, size_t len)
{
	memset(c, 0, sizeof *c);
	if (len > CHECKPOINT_TEXT_MAX)
		return "il punto di controllo è troppo lungo";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 && text[i] != '\n')
			return "il punto di controllo contiene caratteri di controllo";
	size_t at = 0, n;
	const char *l;
	if (!checkpoint_line(text, len, &at, &l, &n) || n == 0 || n > CHECKPOINT_NAME_MAX)
		return "il punto di controllo non ha la riga dell'origine";
	memcpy(c->origin, l, n);
	c->origin[n] = '\0';
	if (!checkpoint_name_ok(c->origin))
		return "l'origine del punto di controllo non è un nome valido";
	if (!checkpoint_line(text, len, &at, &l, &n) || !checkpoint_decimal(l, n, &c->size))
		return "la dimensione del punto di controllo non è un numero decimale";
	size_t got;
	if (!checkpoint_line(text, len, &at, &l, &n) || n != 44 ||
	    !checkpoint_base64_exact(l, n, c->root, sizeof c->root, &got) || got != MERKLE_HASH)
		return "la radice del punto di controllo non è un hash SHA-256 in base64";
	c->body_len = at;
	if (!checkpoint_line(text, len, &at, &l, &n) || n != 0)
		return "il punto di controllo ha righe di estensione o nessuna riga vuota prima "
		       "delle firme";
	while (checkpoint_line(text, len, &at, &l, &n)) {
		if (c->nsigs == CHECKPOINT_SIGS_MAX)
			return "il punto di controllo ha troppe firme";
		struct checkpoint_sig *s = &c->sigs[c->nsigs];
		if (n < 5 || memcmp(l, DASH " ", 4))
			return "una riga di firma non comincia con un trattino lungo";
		const char *name = l + 4, *sp = memchr(name, ' ', n - 4);
		if (!sp || (size_t)(sp - name) > CHECKPOINT_NAME_MAX)
			return "una riga di firma non ha il nome della chiave";
		memcpy(s->name, name, (size_t)(sp - name));
		s->name[sp - name] = '\0';
		if (!checkpoint_name_ok(s->name))
			return "il nome della chiave di una riga di firma non è valido";
		uint8_t raw[4 + sizeof s->sig];
		const char *b = sp + 1;
		size_t bn = n - (size_t)(b - l);
		if (!checkpoint_base64_exact(b, bn, raw, sizeof raw, &got) || got < 5)
			return "una firma non è il base64 di un identificativo di chiave e di una "
			       "firma";
		memcpy(s->key_id, raw, 4);
		s->sig_len = got - 4;
		memcpy(s->sig, raw + 4, s->sig_len);
		c->nsigs++;
	}
	if (at != len)
		return "il punto di controllo non termina con un a capo";
	if (c->nsigs == 0)
		return "il punto di controllo non è firmato";
	memcpy(c->text, text, len);
	c->text[len] = '\0';
	return NULL;
}

const char *checkpoint_verify(const struct checkpoint *c, const uint8_t pk[32])
{
	uint8_t id[4];
	checkpoint_key_id(c->origin, SIG_ED25519, pk, id);
	for (int i = 0; i < c->nsigs; i++) {
		const struct checkpoint_sig *s = &c->sigs[i];
		if (strcmp(s->name, c->origin) || memcmp(s->key_id, id, 4))
			continue;
		if (s->sig_len != 64 ||
		    crypto_sign_verify_detached(s->sig, (const unsigned char *)c->text, c->body_len,
						pk) != 0)
			return "la firma del punto di controllo non si verifica: è stato alterato";
		return NULL;
	}
	return "il punto di controllo non è firmato da questa chiave per la sua origine (un'altra "
	       "installazione, o un'altra chiave)";
}

static void cosign_message(const struct checkpoint *c, uint64_t t, unsigned char **msg,
			   size_t *len, unsigned char *buf, size_t cap)
{
	int n = snprintf((char *)buf, cap, "cosignature/v1\ntime %llu\n", (unsigned long long)t);
	memcpy(buf + n, c->text, c->body_len);
	*msg = buf;
	*len = (size_t)n + c->body_len;
}

int checkpoint_cosign(struct checkpoint *c, const char *witness, const uint8_t sk[64],
		      uint64_t now)
{
	if (!checkpoint_name_ok(witness) || c->nsigs == CHECKPOINT_SIGS_MAX)
		return -1;
	uint8_t pk[32];
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	struct checkpoint_sig *s = &c->sigs[c->nsigs];
	memset(s, 0, sizeof *s);
	STR_COPY_KNOWN(s->name, witness);
	checkpoint_key_id(witness, SIG_COSIGNATURE, pk, s->key_id);
	for (int i = 0; i < 8; i++)
		s->sig[i] = (uint8_t)(now >> (56 - 8 * i));
	unsigned char buf[64 + CHECKPOINT_TEXT_MAX], *msg;
	size_t len;
	cosign_message(c, now, &msg, &len, buf, sizeof buf);
	crypto_sign_detached(s->sig + 8, NULL, msg, len, sk);
	s->sig_len = 72;
	c->nsigs++;
	if (checkpoint_text_rebuild(c)) {
		c->nsigs--;
		return -1;
	}
	return 0;
}

const char *checkpoint_cosigned(const struct checkpoint *c, const char *witness,
				const uint8_t pk[32], uint64_t *time)
{
	uint8_t id[4];
	checkpoint_key_id(witness, SIG_COSIGNATURE, pk, id);
	for (int i = 0; i < c->nsigs; i++) {
		const struct checkpoint_sig *s = &c->sigs[i];
		if (strcmp(s->name, witness) || memcmp(s->key_id, id, 4))
			continue;
		if (s->sig_len != 72)
			return "la controfirma del testimone è malformata";
		uint64_t t = 0;
		for (int k = 0; k < 8; k++)
			t = t << 8 | s->sig[k];
		unsigned char buf[64 + CHECKPOINT_TEXT_MAX], *msg;
		size_t len;
		cosign_message(c, t, &msg, &len, buf, sizeof buf);
		if (crypto_sign_verify_detached(s->sig + 8, msg, len, pk) != 0)
			return "la controfirma del testimone non si verifica";
		if (time)
			*time = t;
		return NULL;
	}
	return "il punto di controllo non ha una controfirma di questo testimone";
}
