#include "watch/watch.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/sealed.h"
#include "common/email.h"
#include "common/str.h"

bool watch_offered(const struct config *cfg)
{
	return cfg->smtp_url[0] && cfg->public_url[0];
}

/* Police and courts: their consultations wait for the embargo. */
static bool held_kind(const char *kind)
{
	return !strcmp(kind, "police") || !strcmp(kind, "court");
}

bool watch_embargoed(const char *ente_kind, int64_t at_ms, int embargo_days, int64_t now)
{
	return held_kind(ente_kind) && at_ms / 1000 + (int64_t)embargo_days * 86400 > now;
}

/* A random token for a link, base64url without padding (43 characters). */
#define TOKEN_LEN sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)
static void token_new(char out[TOKEN_LEN])
{
	unsigned char raw[32];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(out, TOKEN_LEN, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
}

/* The public address without its trailing slashes. */
static int base_len(const struct config *cfg)
{
	size_t n = strlen(cfg->public_url);
	while (n && cfg->public_url[n - 1] == '/')
		n--;
	return (int)n;
}

/* "{sealed:...}" of a token, for a body of the outbox. */
static vis_err seal_token(const struct sealed_key *k, const char *token, char *out, size_t cap,
			  struct vis_error *e)
{
	char sealed[512];
	if (sealed_seal(k, token, sealed, sizeof sealed, e))
		return e ? e->code : VIS_ERR_INTERNAL;
	int n = snprintf(out, cap, SEALED_MARK "%s}", sealed);
	return n > 0 && (size_t)n < cap ? VIS_OK
					: vis_error_set(e, VIS_ERR_INTERNAL, "token sigillato "
									     "troppo lungo");
}

vis_err watch_ask(struct store *s, const struct config *cfg, const struct sealed_key *k,
		  const char *cf, const char *address, int64_t now, int64_t *expires_at,
		  struct vis_error *e)
{
	if (!email_valid(address))
		return vis_error_set(e, VIS_ERR_INVALID,
				     "l'indirizzo di posta elettronica non è valido: serve la forma "
				     "nome@dominio.it, senza spazi, al più %d caratteri",
				     WATCH_ADDRESS_MAX);
	struct store_citizen_mail m;
	bool found;
	if (store_citizen_mail_get(s, cf, 0, &m, &found, e))
		return VIS_ERR_STORE;
	if (found && !strcmp(m.address, address))
		return vis_error_set(e, VIS_ERR_CONFLICT,
				     "questo indirizzo è già confermato e riceve gli avvisi");
	if (found && m.pending_address[0] &&
	    m.confirm_expires_at - WATCH_CONFIRM_HOURS * 3600 + WATCH_ASK_GAP_SECONDS > now)
		return vis_error_set(e, VIS_ERR_LIMIT,
				     "un messaggio di conferma è stato appena inviato: attendere "
				     "qualche minuto prima di chiederne un altro");
	char token[TOKEN_LEN], hash[65], sealed[600], body[2048];
	token_new(token);
	auth_token_hash(token, hash);
	vis_err rc = seal_token(k, token, sealed, sizeof sealed, e);
	sodium_memzero(token, sizeof token);
	if (rc)
		return rc;
	*expires_at = now + WATCH_CONFIRM_HOURS * 3600;
	int n = snprintf(body, sizeof body,
			 "Buongiorno,\n\n"
			 "è stato chiesto di ricevere a questo indirizzo un avviso quando un ente "
			 "consulta i dati anagrafici di chi ha fatto la richiesta, tramite il "
			 "servizio del Comune.\n\n"
			 "Per confermare, apra entro %d ore questo collegamento e prema "
			 "\"Conferma\":\n%.*s/citizen/notifications/confirm?token=%s\n\n"
			 "Se non è stato lei a chiederlo, ignori questo messaggio: senza conferma "
			 "l'indirizzo viene cancellato e a questo indirizzo non arriva nient'altro.\n",
			 WATCH_CONFIRM_HOURS, base_len(cfg), cfg->public_url, sealed);
	if (n < 0 || (size_t)n >= sizeof body)
		return vis_error_set(e, VIS_ERR_LIMIT, "public_url troppo lungo per il messaggio");
	/* The address is replaced and its message queued together; a message
	 * still waiting for an address replaced goes. */
	if (store_begin(s, e))
		return VIS_ERR_STORE;
	if (store_citizen_mail_ask(s, cf, address, hash, *expires_at, now, e) ||
	    auth_mail_queue(s, address, "Conferma dell'indirizzo per gli avvisi di consultazione",
			    body, WATCH_KIND_CONFIRM, now, e) ||
	    store_commit(s, e)) {
		store_rollback(s);
		return e && e->code ? e->code : VIS_ERR_STORE;
	}
	return VIS_OK;
}

vis_err watch_confirm(struct store *s, const char *token, int64_t now, bool *ok,
		      struct vis_error *e)
{
	*ok = false;
	if (strlen(token) != TOKEN_LEN - 1)
		return VIS_OK;
	char hash[65], cf[17], nonce[TOKEN_LEN];
	auth_token_hash(token, hash);
	token_new(nonce);
	return store_citizen_mail_confirm(s, hash, now, nonce, cf, ok, e) ? VIS_ERR_STORE : VIS_OK;
}

/* The unsubscribe token of a subscription: "<id>.<mac>", the mac
 * (HMAC-SHA-256 under a key derived from the secrets key) over the id and
 * the subscription's nonce, which changes with every confirmed address. */
static void unsub_token(const struct sealed_key *k, int64_t id, const char *nonce,
			char out[128])
{
	unsigned char key[crypto_auth_hmacsha256_KEYBYTES], mac[crypto_auth_hmacsha256_BYTES];
	static const char ctx[] = "visura citizen unsubscribe";
	crypto_generichash(key, sizeof key, (const unsigned char *)ctx, sizeof ctx - 1, k->k,
			   sizeof k->k);
	char msg[128];
	int n = snprintf(msg, sizeof msg, "%lld|%s", (long long)id, nonce);
	crypto_auth_hmacsha256(mac, (const unsigned char *)msg, (size_t)n, key);
	char b64[sodium_base64_ENCODED_LEN(sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	sodium_bin2base64(b64, sizeof b64, mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	/* an id and 43 bytes of base64 */
	STR_FMT_KNOWN_CAP(out, 128, "%lld.%s", (long long)id, b64);
	sodium_memzero(key, sizeof key);
}

vis_err watch_unsubscribe(struct store *s, const struct sealed_key *k, const char *token,
			  bool *ok, struct vis_error *e)
{
	*ok = false;
	long long id = 0;
	int used = 0;
	if (strlen(token) > 100 || sscanf(token, "%lld.%n", &id, &used) != 1 || used < 2 || id <= 0)
		return VIS_OK;
	struct store_citizen_mail m;
	bool found;
	if (store_citizen_mail_get(s, NULL, id, &m, &found, e))
		return VIS_ERR_STORE;
	if (!found || !m.unsub_nonce[0])
		return VIS_OK;
	char want[128];
	unsub_token(k, m.id, m.unsub_nonce, want);
	if (!auth_equal(want, token))
		return VIS_OK;
	if (store_citizen_mail_delete(s, m.cf, e))
		return VIS_ERR_STORE;
	*ok = true;
	return VIS_OK;
}

/* ---- the periodic notice ---- */

/* Subscriptions checked in one run (the next ones at the next run, a few
 * seconds later: each is checked once an interval), and consultations
 * read in one pass (the rest at the next check). */
#define DUE_MAX 256
#define SCAN_MAX 10000

struct due {
	struct store_citizen_mail m[DUE_MAX];
	int n;
};

static int collect(void *ctx, const struct store_citizen_mail *m)
{
	struct due *d = ctx;
	d->m[d->n++] = *m;
	return d->n >= DUE_MAX;
}

struct scan {
	struct store *s;
	int64_t now;
	int embargo_days;
	bool held_pass;                  /* the second pass: police and courts */
	int64_t to_access, to_held;      /* where the cursors move */
	int count;
	bool failed;                     /* a body could not be read */
};

/* The body of a consultation that returned the person (kind "" for any
 * other outcome: not counted); false when it could not be read. */
static bool ente_of(struct scan *c, const struct store_access *a, struct store_ente *en)
{
	memset(en, 0, sizeof *en);
	if (strcmp(a->outcome, "ok"))
		return true;
	bool found = false;
	if (store_ente_get(c->s, a->ente_id, en, &found, NULL)) {
		c->failed = true;
		return false;
	}
	return true;
}

/* In id order, two passes.  The first, past last_access_id, counts the
 * ordinary consultations.  The second, past last_held_id, counts those of
 * police and courts whose embargo is over, and stops at the first still
 * hidden: the held cursor waits just before it until its embargo ends. */
static int scan_one(void *ctx, const struct store_access *a)
{
	struct scan *c = ctx;
	struct store_ente en;
	if (!ente_of(c, a, &en))
		return 1;
	const char *kind = en.kind;
	bool held = held_kind(kind);
	if (!c->held_pass) {
		if (!strcmp(a->outcome, "ok") && !held)
			c->count++;
		c->to_access = a->id;
		return 0;
	}
	if (held && watch_embargoed(kind, a->at, c->embargo_days, c->now))
		return 1;
	if (held)
		c->count++;
	c->to_held = a->id;
	return 0;
}

static vis_err notice_body(const struct config *cfg, const struct sealed_key *k,
			   const struct store_citizen_mail *m, int count, char *body, size_t cap,
			   struct vis_error *e)
{
	char token[128], sealed[600], what[160];
	unsub_token(k, m->id, m->unsub_nonce, token);
	vis_err rc = seal_token(k, token, sealed, sizeof sealed, e);
	sodium_memzero(token, sizeof token);
	if (rc)
		return rc;
	if (count == 1)
		snprintf(what, sizeof what, "c'è una nuova consultazione");
	else
		snprintf(what, sizeof what, "ci sono %d nuove consultazioni", count);
	int n = snprintf(body, cap,
			 "Buongiorno,\n\n"
			 "%s dei suoi dati anagrafici nel servizio del Comune.\n\n"
			 "Per vedere quali enti li hanno consultati e per quale finalità, entri "
			 "con SPID o CIE in questa pagina:\n%.*s/citizen/access-report\n\n"
			 "Le consultazioni di forze di polizia e autorità giudiziarie sono "
			 "segnalate soltanto quando compaiono nell'elenco, dopo il periodo previsto "
			 "dalla legge.\n\n"
			 "Per non ricevere più questi avvisi (l'indirizzo viene cancellato):\n"
			 "%.*s/citizen/notifications/unsubscribe?token=%s\n",
			 what, base_len(cfg), cfg->public_url, base_len(cfg), cfg->public_url, sealed);
	if (n < 0 || (size_t)n >= cap)
		return vis_error_set(e, VIS_ERR_LIMIT, "public_url troppo lungo per il messaggio");
	return VIS_OK;
}

/* One subscription, checked once an interval: counts, then queues the
 * notice and moves the cursors and the time of the check in one
 * transaction (only if nobody moved the cursors meanwhile).  Returns 1
 * when a notice was queued, 0 when none, -1 on a store failure. */
static int notify_one(struct store *s, const struct config *cfg, const struct sealed_key *k,
		      const struct store_citizen_mail *m, int64_t now, struct vis_error *e)
{
	struct scan c = {s, now, cfg->embargo_days, false, m->last_access_id, m->last_held_id, 0,
			 false};
	struct store_access_filter f = {.limit = SCAN_MAX, .after = m->last_access_id};
	STR_COPY_KNOWN(f.cf, m->cf);
	if (store_access_search(s, &f, scan_one, &c, e))
		return -1;
	c.held_pass = true;
	f.after = m->last_held_id;
	if (!c.failed && store_access_search(s, &f, scan_one, &c, e))
		return -1;
	if (c.failed) {
		vis_error_set(e, VIS_ERR_STORE, "non si sono potuti leggere i corpi delle "
						"consultazioni");
		return -1;
	}
	static _Thread_local char body[2048];
	if (c.count && notice_body(cfg, k, m, c.count, body, sizeof body, e))
		return -1;
	bool moved;
	if (store_begin(s, e))
		return -1;
	if (store_citizen_mail_advance(s, m, c.to_access, c.to_held, now, &moved, e) ||
	    (moved && c.count &&
	     auth_mail_queue(s, m->address, "Nuove consultazioni dei suoi dati anagrafici", body,
			     WATCH_KIND_NOTICE, now, e)) ||
	    store_commit(s, e)) {
		store_rollback(s);
		return -1;
	}
	return moved && c.count ? 1 : 0;
}

int watch_due(struct store *s, const struct config *cfg, const struct sealed_key *k,
	      int64_t now, struct vis_error *e)
{
	if (store_citizen_mail_expire(s, now, e))
		return -1;
	if (!watch_offered(cfg) || !k)
		return 0;
	static _Thread_local struct due d;
	d.n = 0;
	if (store_citizen_mail_due(s, now - (int64_t)cfg->citizen_notice_minutes * 60, DUE_MAX,
				   collect, &d, e))
		return -1;
	int queued = 0;
	for (int i = 0; i < d.n; i++) {
		int r = notify_one(s, cfg, k, &d.m[i], now, e);
		if (r < 0)
			return -1;
		queued += r;
	}
	return queued;
}
