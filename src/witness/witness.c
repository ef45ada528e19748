#include "witness/witness.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/csv.h"
#include "common/fsmode.h"
#include "common/str.h"

const char *witness_request_parse(struct witness_request *r, const char *body, size_t len)
{
	memset(r, 0, sizeof *r);
	if (len > WITNESS_BODY_MAX)
		return "la richiesta è troppo lunga";
	size_t at = 0, n;
	const char *l;
	if (!checkpoint_line(body, len, &at, &l, &n) || n < 5 || memcmp(l, "old ", 4) ||
	    !checkpoint_decimal(l + 4, n - 4, &r->old_size))
		return "la richiesta non comincia con \"old <dimensione>\"";
	for (;;) {
		if (!checkpoint_line(body, len, &at, &l, &n))
			return "la richiesta non ha una riga vuota prima del punto di controllo";
		if (n == 0)
			break;
		size_t got;
		if (r->proof_len == MERKLE_PROOF_MAX)
			return "la prova di coerenza è troppo lunga";
		if (n != 44 || !checkpoint_base64_exact(l, n, r->proof[r->proof_len], MERKLE_HASH, &got) ||
		    got != MERKLE_HASH)
			return "una riga della prova di coerenza non è un hash SHA-256 in base64";
		r->proof_len++;
	}
	const char *why = checkpoint_parse(&r->cp, body + at, len - at);
	if (why)
		return why;
	return NULL;
}

size_t witness_request_format(const struct witness_request *r, char *out, size_t cap)
{
	struct strbuf sb;
	strbuf_init(&sb, WITNESS_BODY_MAX);
	strbuf_addf(&sb, "old %llu\n", (unsigned long long)r->old_size);
	for (int i = 0; i < r->proof_len; i++) {
		char b64[64];
		sodium_bin2base64(b64, sizeof b64, r->proof[i], MERKLE_HASH,
				  sodium_base64_VARIANT_ORIGINAL);
		strbuf_addf(&sb, "%s\n", b64);
	}
	strbuf_adds(&sb, "\n");
	strbuf_adds(&sb, r->cp.text);
	size_t n = 0;
	if (!sb.err && sb.len < cap) {
		memcpy(out, sb.buf, sb.len + 1);
		n = sb.len;
	}
	strbuf_release(&sb);
	return n;
}

enum witness_verdict witness_check(const struct witness_request *r, struct witness_log *logs,
				   int nlogs, struct witness_log **log, const char **why)
{
	*log = NULL;
	for (int i = 0; i < nlogs && !*log; i++)
		if (!strcmp(logs[i].origin, r->cp.origin))
			*log = &logs[i];
	struct witness_log *g = *log;
	if (!g) {
		*why = "registro sconosciuto: questo testimone non segue questa origine";
		return WITNESS_UNKNOWN_LOG;
	}
	if ((*why = checkpoint_verify(&r->cp, g->pk)))
		return WITNESS_BAD_SIGNATURE;
	uint64_t have = g->cosigned ? g->size : 0;
	if (r->old_size != have) {
		*why = "la vecchia dimensione non è quella che questo testimone ha controfirmato "
		       "per ultima";
		return WITNESS_SIZE_MISMATCH;
	}
	if (g->cosigned && r->cp.size < g->size) {
		*why = "ritorno indietro: il punto di controllo è più piccolo di quello che questo "
		       "testimone ha controfirmato";
		return WITNESS_MALFORMED;
	}
	if (g->cosigned && r->cp.size == g->size) {
		if (r->proof_len || memcmp(r->cp.root, g->root, MERKLE_HASH)) {
			*why = "biforcazione: un punto di controllo della dimensione che questo "
			       "testimone ha controfirmato, con un'altra radice";
			return WITNESS_INCONSISTENT;
		}
		*why = NULL;
		return WITNESS_COSIGN;
	}
	if (g->cosigned && !merkle_consistency_verify(g->size, r->cp.size, g->root, r->cp.root,
						     (const uint8_t(*)[MERKLE_HASH])r->proof,
						     r->proof_len)) {
		*why = "biforcazione: la prova di coerenza dalla testa che questo testimone ha "
		       "controfirmato non si verifica";
		return WITNESS_INCONSISTENT;
	}
	if (!g->cosigned && r->proof_len) {
		*why = "una prova dall'albero vuoto deve essere vuota";
		return WITNESS_INCONSISTENT;
	}
	*why = NULL;
	return WITNESS_COSIGN;
}

vis_err witness_state_load(const char *path, struct witness_log *logs, int nlogs,
			   struct vis_error *e)
{
	for (int i = 0; i < nlogs; i++)
		logs[i].cosigned = false;
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return VIS_OK;
	size_t len;
	char *buf = file_read_all(path, (size_t)WITNESS_LOGS_MAX * 256 + 1, &len);
	if (!buf)
		return vis_error_set(e, VIS_ERR_IO, "impossibile leggere lo stato del testimone "
						    "'%s'", path);
	vis_err rc = VIS_OK;
	int lineno = 0;
	for (char *line = buf, *next; *line && rc == VIS_OK; line = next) {
		next = strchr(line, '\n');
		if (!next) {
			rc = vis_error_set(e, VIS_ERR_INVALID, "%s: l'ultima riga è "
							       "tagliata", path);
			break;
		}
		*next++ = '\0';
		lineno++;
		char origin[CHECKPOINT_NAME_MAX + 1], hex[65];
		unsigned long long size;
		uint8_t root[MERKLE_HASH];
		size_t got;
		int end = 0;
		if (sscanf(line, "%128s %llu %64s%n", origin, &size, hex, &end) != 3 ||
		    line[end] != '\0' || strlen(hex) != 64 ||
		    sodium_hex2bin(root, sizeof root, hex, strlen(hex), NULL, &got, NULL) ||
		    got != MERKLE_HASH) {
			rc = vis_error_set(e, VIS_ERR_INVALID, "%s:%d: non è \"origine dimensione "
							       "radice\"",
					   path, lineno);
			break;
		}
		for (int i = 0; i < nlogs; i++)
			if (!strcmp(logs[i].origin, origin)) {
				logs[i].cosigned = true;
				logs[i].size = size;
				memcpy(logs[i].root, root, MERKLE_HASH);
			}
	}
	free(buf);
	return rc;
}

vis_err witness_state_save(const char *path, const struct witness_log *logs, int nlogs,
			   struct vis_error *e)
{
	struct strbuf sb;
	strbuf_init(&sb, (size_t)WITNESS_LOGS_MAX * 256);
	for (int i = 0; i < nlogs; i++) {
		if (!logs[i].cosigned)
			continue;
		char hex[65];
		sodium_bin2hex(hex, sizeof hex, logs[i].root, MERKLE_HASH);
		strbuf_addf(&sb, "%s %llu %s\n", logs[i].origin, (unsigned long long)logs[i].size,
			    hex);
	}
	vis_err rc = sb.err ? vis_error_set(e, VIS_ERR_LIMIT, "lo stato del testimone è troppo "
							      "lungo")
			    : fsmode_write_replace(path, "tmp", sb.buf, sb.len, 0600, true,
						   "lo stato del testimone", e);
	strbuf_release(&sb);
	return rc;
}

vis_err witness_pubkey_read(const char *path, uint8_t pk[32], struct vis_error *e)
{
	size_t len, got;
	char *buf = file_read_all(path, 256, &len);
	if (!buf)
		return vis_error_set(e, VIS_ERR_IO, "impossibile leggere la chiave "
						    "pubblica '%s'", path);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	bool ok = len == 64 && !sodium_hex2bin(pk, 32, buf, len, NULL, &got, NULL) && got == 32;
	free(buf);
	if (!ok)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "'%s' non è una chiave pubblica (una riga di 64 cifre "
				     "esadecimali)", path);
	return VIS_OK;
}

void witness_add_checkpoint(struct witness_service *w, const char *body, size_t len,
			    int *status, char *out, size_t cap, const char **content_type)
{
	static _Thread_local struct witness_request r;
	*content_type = "text/plain; charset=utf-8";
	const char *why = witness_request_parse(&r, body, len);
	if (why) {
		*status = 400;
		/* a constant; out is CHECKPOINT_TEXT_MAX + 512 */
		STR_FMT_KNOWN_CAP(out, cap, "%s\n", why);
		return;
	}
	pthread_mutex_lock(&w->lock);
	struct witness_log *g;
	enum witness_verdict v = witness_check(&r, w->logs, w->nlogs, &g, &why);
	if (v == WITNESS_SIZE_MISMATCH) {
		*status = 409;
		*content_type = "text/x.tlog.size";
		snprintf(out, cap, "%llu\n", (unsigned long long)(g->cosigned ? g->size : 0));
		pthread_mutex_unlock(&w->lock);
		return;
	}
	if (v != WITNESS_COSIGN) {
		*status = (int)v;
		/* a constant; out is CHECKPOINT_TEXT_MAX + 512 */
		STR_FMT_KNOWN_CAP(out, cap, "%s\n", why);
		pthread_mutex_unlock(&w->lock);
		return;
	}
	struct witness_log was = *g;
	g->cosigned = true;
	g->size = r.cp.size;
	memcpy(g->root, r.cp.root, MERKLE_HASH);
	struct vis_error e = {0};
	uint64_t now = w->clock ? w->clock() : (uint64_t)time(NULL);
	if (checkpoint_cosign(&r.cp, w->name, w->sk, now) ||
	    witness_state_save(w->state_path, w->logs, w->nlogs, &e)) {
		*g = was;
		*status = 500;
		/* e.msg[512] or a constant; out is CHECKPOINT_TEXT_MAX + 512 */
		STR_FMT_KNOWN_CAP(out, cap, "%s\n",
				  e.code ? e.msg
					 : "il punto di controllo non si può "
					   "controfirmare");
		pthread_mutex_unlock(&w->lock);
		return;
	}
	pthread_mutex_unlock(&w->lock);
	/* The cosignature's line: the last line of the rebuilt note. */
	const char *t = r.cp.text + strlen(r.cp.text) - 1, *start = t;
	while (start > r.cp.text && start[-1] != '\n')
		start--;
	*status = 200;
	/* a line of the checkpoint; out is CHECKPOINT_TEXT_MAX + 512 */
	STR_FMT_KNOWN_CAP(out, cap, "%.*s\n", (int)(t - start), start);
}

const char *witness_note_check(const struct checkpoint *c, struct witness_tally *t, int n,
			       int64_t *unknown, char *why, size_t cap)
{
	for (int i = 0; i < c->nsigs; i++) {
		const struct checkpoint_sig *s = &c->sigs[i];
		if (!strcmp(s->name, c->origin))
			continue;
		struct witness_tally *w = NULL;
		for (int k = 0; k < n && !w; k++)
			if (!strcmp(t[k].name, s->name))
				w = &t[k];
		if (!w) {
			(*unknown)++;
			continue;
		}
		uint64_t at;
		const char *bad = checkpoint_cosigned(c, w->name, w->pk, &at);
		if (bad) {
			/* a number, a name of at most 128 bytes, a constant; callers: 400 */
			STR_FMT_KNOWN_CAP(why, cap,
					  "la testa di dimensione %llu porta una controfirma del "
					  "testimone %s che non si verifica con la sua chiave "
					  "(%s)",
					  (unsigned long long)c->size, w->name, bad);
			return why;
		}
		w->heads++;
		if (c->size > w->latest)
			w->latest = c->size;
	}
	return NULL;
}
