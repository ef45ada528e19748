/* PDND vouchers and purposes (pdnd.h).  The JOSE work — base64url, the
 * RS256 signature over the JWK — is libjose's. */
#include "pdnd/pdnd.h"

#include <jansson.h>
#include <errno.h>
#include <fcntl.h>
#include <jose/b64.h>
#include <jose/jwk.h>
#include <jose/jws.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth/hours.h"
#include "common/config.h"
#include "common/csv.h"
#include "common/date.h"
#include "policy/ratelimit.h"
#include "common/str.h"
#include "jwks/jwks.h"

/* ---- the keys ---- */

vis_err pdnd_keys_open(const struct config *cfg, struct jwks **out, struct vis_error *e)
{
	bool url = cfg->pdnd_jwks_url[0] != '\0';
	struct jwks_source src = {
		.name = url ? "pdnd_jwks_url" : "pdnd_jwks", .path = cfg->pdnd_jwks,
		.url = cfg->pdnd_jwks_url, .ca_file = cfg->pdnd_jwks_ca_file, .algs = "RS256",
		.refresh = cfg->pdnd_jwks_refresh, .kid_interval = cfg->jwks_unknown_kid_interval};
	return jwks_open(&src, out, e);
}

/* ---- the voucher ---- */

struct pdnd_checks pdnd_checks_from(const struct config *cfg)
{
	return (struct pdnd_checks){.issuer = cfg->pdnd_issuer, .audience = cfg->pdnd_audience,
				    .skew = cfg->pdnd_clock_skew,
				    .max_bytes = (size_t)cfg->pdnd_token_max_bytes,
				    .daily_per_consumer = cfg->pdnd_daily_calls_per_consumer,
				    .daily_total = cfg->pdnd_daily_calls_total};
}

static bool b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* Splits a compact JWS into its three parts' lengths; false unless it is
 * three parts of base64url characters (the last may be empty). */
static bool jws_split(const char *t, size_t len, size_t part[3])
{
	int n = 0;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || t[i] == '.') {
			if (n == 3)
				return false;
			part[n++] = i - start;
			start = i + 1;
		} else if (!b64url_char(t[i])) {
			return false;
		}
	}
	return n == 3 && part[0] && part[1];
}

bool pdnd_is_jwt(const char *token)
{
	size_t part[3];
	return token && jws_split(token, strlen(token), part);
}

/* A base64url part decoded and parsed as a JSON object, or NULL. */
static json_t *part_json(const char *p, size_t len)
{
	size_t n = jose_b64_dec_buf(p, len, NULL, 0);
	if (n == SIZE_MAX || n == 0)
		return NULL;
	char *buf = malloc(n);
	if (!buf)
		return NULL;
	json_t *j = NULL;
	if (jose_b64_dec_buf(p, len, buf, n) == n)
		j = json_loadb(buf, n, JSON_REJECT_DUPLICATES, NULL);
	free(buf);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

static bool refuse(struct pdnd_refusal *why, int status, const char *code, const char *message)
{
	*why = (struct pdnd_refusal){status, code, message};
	return false;
}

/* A claim that must be a string of at most cap-1 bytes of [A-Za-z0-9-]
 * (ids) or any printable ASCII (jti): copied into out. */
static bool claim_text(const json_t *payload, const char *name, char *out, size_t cap,
		       bool id)
{
	const char *v = json_string_value(json_object_get(payload, name));
	if (!v || !*v || strlen(v) >= cap)
		return false;
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return false;
	if (id && !pdnd_id_valid(v))
		return false;
	memcpy(out, v, strlen(v) + 1);
	return true;
}

static bool claim_time(const json_t *payload, const char *name, int64_t *out, bool required)
{
	json_t *v = json_object_get(payload, name);
	*out = 0;
	if (!v)
		return !required;
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return false;
	*out = json_integer_value(v);
	return true;
}

bool pdnd_audience_has(const json_t *aud, const char *want)
{
	if (json_is_string(aud))
		return !strcmp(json_string_value(aud), want);
	size_t i;
	json_t *a;
	json_array_foreach(aud, i, a)
		if (json_is_string(a) && !strcmp(json_string_value(a), want))
			return true;
	return false;
}

/* The claims of a payload whose signature is good. */
static bool claims_ok(const struct pdnd_checks *c, const json_t *payload, int64_t now,
		      struct pdnd_voucher *out, struct pdnd_refusal *why)
{
	/* What identifies the caller is read first: a refusal is recorded with it. */
	bool ids = claim_text(payload, "client_id", out->client_id, sizeof out->client_id, true);
	ids = claim_text(payload, "purposeId", out->purpose_id, sizeof out->purpose_id, true) &&
	      ids;
	const char *iss = json_string_value(json_object_get(payload, "iss"));
	if (!iss || strcmp(iss, c->issuer))
		return refuse(why, 401, "voucher_wrong_issuer",
			      "il voucher non è emesso dalla PDND di cui questo servizio si fida (iss)");
	if (!pdnd_audience_has(json_object_get(payload, "aud"), c->audience))
		return refuse(why, 401, "voucher_wrong_audience",
			      "il voucher non è destinato a questo e-service (aud)");
	if (!claim_time(payload, "exp", &out->exp, true) ||
	    !claim_time(payload, "iat", &out->iat, true) ||
	    !claim_time(payload, "nbf", &out->nbf, false))
		return refuse(why, 401, "voucher_malformed",
			      "exp e iat del voucher devono essere istanti in secondi (anche nbf, se "
			      "presente)");
	if (out->exp + c->skew <= now)
		return refuse(why, 401, "voucher_expired",
			      "il voucher è scaduto: chiederne uno nuovo alla PDND");
	if (out->iat > now + c->skew || (out->nbf && out->nbf > now + c->skew))
		return refuse(why, 401, "voucher_not_yet_valid",
			      "il voucher non è ancora valido (iat o nbf nel futuro)");
	if (!ids)
		return refuse(why, 401, "voucher_malformed",
			      "il voucher deve contenere client_id e purposeId (da 1 a 64 caratteri tra "
			      "A-Z, a-z, 0-9, -)");
	if (!claim_text(payload, "jti", out->jti, sizeof out->jti, false))
		return refuse(why, 401, "voucher_malformed",
			      "il voucher deve contenere un jti da 1 a 128 caratteri stampabili");
	json_t *digest = json_object_get(payload, "digest");
	if (digest) {
		const char *alg = json_string_value(json_object_get(digest, "alg"));
		const char *val = json_string_value(json_object_get(digest, "value"));
		if (!alg || strcmp(alg, "SHA256") || !val || strlen(val) != 64 ||
		    strspn(val, "0123456789abcdefABCDEF") != 64)
			return refuse(why, 401, "voucher_malformed",
				      "il digest del voucher deve essere "
				      "{\"alg\":\"SHA256\",\"value\":<64 cifre esadecimali>}");
		memcpy(out->digest, val, 65);
	}
	return true;
}

/* A compact JWS opened: its header read (RS256 only, a kid), its
 * flattened form for libjose, its payload.  Nothing is verified yet. */
struct jws {
	char kid[65];
	json_t *flat;
	json_t *payload;
};

enum jws_fail { JWS_OK, JWS_TOO_LARGE, JWS_MALFORMED, JWS_ALGORITHM, JWS_NO_KID, JWS_UNSIGNED };

static void jws_close(struct jws *j)
{
	json_decref(j->flat);
	json_decref(j->payload);
	j->flat = j->payload = NULL;
}

static enum jws_fail jws_open(const char *token, size_t len, size_t max, struct jws *out)
{
	memset(out, 0, sizeof *out);
	if (len > max)
		return JWS_TOO_LARGE;
	size_t part[3];
	if (!jws_split(token, len, part))
		return JWS_MALFORMED;
	json_t *hdr = part_json(token, part[0]);
	if (!hdr)
		return JWS_MALFORMED;
	const char *alg = json_string_value(json_object_get(hdr, "alg"));
	const char *kid = json_string_value(json_object_get(hdr, "kid"));
	bool alg_ok = alg && !strcmp(alg, "RS256") && !json_object_get(hdr, "crit");
	bool kid_ok = kid && *kid && strlen(kid) < sizeof out->kid;
	if (kid_ok)
		memcpy(out->kid, kid, strlen(kid) + 1);
	json_decref(hdr);
	if (!alg_ok)
		return JWS_ALGORITHM;
	if (!kid_ok)
		return JWS_NO_KID;
	if (!part[2])
		return JWS_UNSIGNED;
	out->payload = part_json(token + part[0] + 1, part[1]);
	out->flat = json_pack("{s:s%,s:s%,s:s%}", "protected", token, part[0], "payload",
			      token + part[0] + 1, part[1], "signature",
			      token + part[0] + part[1] + 2, part[2]);
	if (!out->payload || !out->flat) {
		jws_close(out);
		return JWS_MALFORMED;
	}
	return JWS_OK;
}

bool pdnd_voucher_check(struct jwks *k, const struct pdnd_checks *c, const char *token,
			size_t len, int64_t now, struct pdnd_voucher *out,
			struct pdnd_refusal *why)
{
	memset(out, 0, sizeof *out);
	struct jws j;
	switch (jws_open(token, len, c->max_bytes, &j)) {
	case JWS_OK: break;
	case JWS_TOO_LARGE:
		return refuse(why, 401, "voucher_too_large",
			      "il voucher è più lungo di quanto questo servizio accetti");
	case JWS_MALFORMED:
		return refuse(why, 401, "voucher_malformed",
			      "il voucher non è un JWT (tre parti base64url, intestazione e contenuto JSON)");
	case JWS_ALGORITHM:
		return refuse(why, 401, "voucher_algorithm",
			      "sono accettati solo voucher firmati con RS256");
	case JWS_NO_KID:
		return refuse(why, 401, "voucher_malformed",
			      "l'intestazione del voucher non indica alcuna chiave (kid)");
	case JWS_UNSIGNED:
		return refuse(why, 401, "voucher_bad_signature", "il voucher non è firmato");
	}
	memcpy(out->kid, j.kid, sizeof out->kid);
	enum jwks_verdict verdict = jwks_verify(k, out->kid, j.flat, now);
	bool good;
	if (verdict == JWKS_KID_UNKNOWN)
		good = refuse(why, 401, "voucher_unknown_key",
			      "il voucher è firmato con una chiave che la PDND non ha pubblicato (kid)");
	else if (verdict == JWKS_BAD_SIGNATURE)
		good = refuse(why, 401, "voucher_bad_signature",
			      "la firma del voucher non è valida");
	else
		good = claims_ok(c, j.payload, now, out, why);
	jws_close(&j);
	return good;
}

vis_err pdnd_jti_take(struct store *s, const struct pdnd_voucher *v, const struct pdnd_evidence *ev,
		      int skew, bool *fresh, struct pdnd_refusal *why, struct vis_error *e)
{
	char key[160], ekey[160];
	bool v_fresh, e_fresh = true;
	STR_FMT_KNOWN(key, "voucher:%s", v->jti); /* jti < 129 bytes */
	if (ev) {
		STR_FMT_KNOWN(ekey, "evidence:%s", ev->jti); /* jti < 129 bytes */
		if (store_pdnd_jti_take_pair(s, key, v->exp + skew, ekey, ev->exp + skew, &v_fresh,
					     &e_fresh, e))
			return e->code;
		/* Refused for the voucher: the evidence stays as if never
		 * shown (one id taken alone, as when the voucher is checked
		 * first). */
		if (!v_fresh && e_fresh && store_pdnd_jti_give_back(s, ekey, e))
			return e->code;
	} else if (store_pdnd_jti_take(s, key, v->exp + skew, &v_fresh, e)) {
		return e->code;
	}
	*fresh = v_fresh && e_fresh;
	if (!v_fresh)
		refuse(why, 401, "voucher_replayed",
		       "questo voucher (jti) è già stato usato: chiederne uno nuovo alla PDND per "
		       "ogni chiamata");
	else if (!e_fresh)
		refuse(why, 401, "tracking_evidence_replayed",
		       "questa tracking evidence (jti) è già stata usata");
	/* The expired ids are forgotten by the periodic duties' retention
	 * purge (auth_retention_purge), a batch at a time: before, a call in
	 * a minute deleted a minute's ids in one statement, holding the
	 * register's lock every other call's ids wait for. */
	return VIS_OK;
}

/* ---- the e-service's daily quotas ---- */

/* The next midnight in Italy after `now` (epoch s), and its UTC offset. */
static int64_t next_midnight(int64_t now, int *offset)
{
	int date, minute;
	hours_local(now, &date, &minute, NULL);
	int64_t u = (date_to_days(date) + 1) * 86400 - 3600; /* midnight at UTC+1 */
	*offset = 3600;
	hours_local(u, &date, &minute, NULL);
	if (minute) { /* summer time: midnight is an hour earlier in UTC */
		u -= 3600;
		*offset = 7200;
	}
	return u;
}

int pdnd_quota_take(struct ratelimit *rl, struct store *shared, const struct pdnd_checks *c,
		    int64_t ente_id, int64_t now, struct pdnd_quota *q, struct pdnd_refusal *why,
		    struct vis_error *e)
{
	struct rl_rule rules[2];
	int n = 0;
	if (c->daily_per_consumer > 0) {
		snprintf(rules[n].key, sizeof rules[n].key, "pdnd:body:%lld", (long long)ente_id);
		rules[n].limit = c->daily_per_consumer;
		rules[n++].window = 86400;
	}
	if (c->daily_total > 0) {
		snprintf(rules[n].key, sizeof rules[n].key, "pdnd:total");
		rules[n].limit = c->daily_total;
		rules[n++].window = 86400;
	}
	if (!n)
		return 1;
	/* Days are counted from Italian midnights: the counters' windows run
	 * on the local clock (local seconds since the epoch). */
	int date, minute, offset;
	hours_local(now, &date, &minute, NULL);
	int64_t local = date_to_days(date) * 86400 + minute * 60 + (now % 60 + 60) % 60;
	int64_t retry;
	int took = ratelimit_take(rl, shared, rules, n, local, &retry, e);
	if (took)
		return took;
	q->until = next_midnight(now, &offset);
	hours_local(q->until, &date, &minute, NULL);
	snprintf(q->message, sizeof q->message,
		 "la quota giornaliera dell'e-service è esaurita (dailyCallsPerConsumer %d per "
		 "ente, dailyCallsTotal %d in tutto; 0: nessuna): le chiamate sono di nuovo "
		 "accettate da "
		 "%04d-%02d-%02dT00:00:00+%02d:00",
		 c->daily_per_consumer, c->daily_total, DATE_YEAR(date), date / 100 % 100,
		 date % 100, offset / 3600);
	refuse(why, 429, "pdnd_daily_quota", q->message);
	return 0;
}

/* ---- who asked: the tracking evidence ---- */

struct key_ctx {
	struct store_pdnd_key *out;
	bool *found;
	bool revoked;   /* a key of that kid was revoked */
};

static int take_key(void *ctx, const void *rec)
{
	struct key_ctx *k = ctx;
	const struct store_pdnd_key *key = rec;
	if (key->revoked_at) {
		k->revoked = true;
		return 0;
	}
	*k->out = *key;
	*k->found = true;
	return 1;
}

/* The body's key in force named kid; *revoked (when given) says whether
 * the body had one of that kid, revoked.  Read from the database at every
 * call, never from a cache: a revocation is seen by the next call on
 * every instance. */
static vis_err body_key(struct store *s, int64_t ente_id, const char *kid,
			struct store_pdnd_key *out, bool *found, bool *revoked, struct vis_error *e)
{
	*found = false;
	const struct store_filter f[] = {{"ente_id", NULL, ente_id}, {"kid", kid, 0},
					 {NULL, NULL, 0}};
	struct key_ctx ctx = {out, found, false};
	if (store_rec_list(s, STORE_PDND_KEY, f, 0, take_key, &ctx, e))
		return e->code;
	if (revoked)
		*revoked = !*found && ctx.revoked;
	return VIS_OK;
}

/* The refusals of a JWS a body's PDND client signs (who asked; integrity). */
struct client_jws_kind {
	const char *algorithm, *m_algorithm;
	const char *bad_signature, *m_unsigned, *m_bad_signature;
	const char *malformed, *m_malformed;
	const char *unknown_key, *m_unknown_key;
	const char *key_revoked, *m_key_revoked;
};

static const struct client_jws_kind evidence_kind = {
	"tracking_evidence_algorithm", "la tracking evidence deve essere firmata con RS256",
	"tracking_evidence_bad_signature", "la tracking evidence non è firmata",
	"la firma della tracking evidence non è valida",
	"tracking_evidence_malformed",
	"la tracking evidence non è un JWT con una chiave (kid), grande al più quanto "
	"il voucher",
	"tracking_evidence_unknown_key",
	"la tracking evidence è firmata con una chiave non registrata per questo ente (kid)",
	"tracking_evidence_key_revoked",
	"la tracking evidence è firmata con una chiave che l'ufficio ha revocato per questo ente "
	"(kid): firmare con una chiave in vigore",
};

static const struct client_jws_kind signature_kind = {
	"integrity_signature_algorithm", "la Agid-JWT-Signature deve essere firmata con RS256",
	"integrity_signature_bad_signature", "la Agid-JWT-Signature non è firmata",
	"la firma della Agid-JWT-Signature non è valida",
	"integrity_signature_malformed",
	"la Agid-JWT-Signature non è un JWT con una chiave (kid), grande al più quanto "
	"il voucher",
	"integrity_signature_unknown_key",
	"la Agid-JWT-Signature è firmata con una chiave non registrata per questo ente (kid)",
	"integrity_signature_key_revoked",
	"la Agid-JWT-Signature è firmata con una chiave che l'ufficio ha revocato per questo ente "
	"(kid): firmare con una chiave in vigore",
};

/* Opens `token`, a JWS RS256 of one of the body's keys in force: true with
 * *j open (the caller closes it) when its signature verifies; false with
 * *why set, or with *rc set when the store failed (e says why). */
static bool client_jws(struct store *s, int64_t ente_id, const struct pdnd_checks *c,
		       const char *token, const struct client_jws_kind *k, struct jws *j,
		       struct pdnd_refusal *why, vis_err *rc, struct vis_error *e)
{
	*rc = VIS_OK;
	switch (jws_open(token, strlen(token), c->max_bytes, j)) {
	case JWS_OK: break;
	case JWS_ALGORITHM: return refuse(why, 401, k->algorithm, k->m_algorithm);
	case JWS_UNSIGNED: return refuse(why, 401, k->bad_signature, k->m_unsigned);
	default: return refuse(why, 400, k->malformed, k->m_malformed);
	}
	struct store_pdnd_key key;
	bool found, revoked = false;
	if (body_key(s, ente_id, j->kid, &key, &found, &revoked, e)) {
		jws_close(j);
		*rc = e->code;
		return false;
	}
	json_t *jwk = found ? json_loads(key.jwk, JSON_REJECT_DUPLICATES, NULL) : NULL;
	bool good = true;
	if (revoked)
		good = refuse(why, 401, k->key_revoked, k->m_key_revoked);
	else if (!found || !jwk)
		good = refuse(why, 401, k->unknown_key, k->m_unknown_key);
	else if (!jose_jws_ver(NULL, j->flat, NULL, jwk, false))
		good = refuse(why, 401, k->bad_signature, k->m_bad_signature);
	json_decref(jwk);
	if (!good)
		jws_close(j);
	return good;
}

static bool evidence_claims(const struct pdnd_checks *c, const struct pdnd_voucher *v,
			    const json_t *p, int64_t now, struct pdnd_evidence *out,
			    struct pdnd_refusal *why)
{
	if (!pdnd_audience_has(json_object_get(p, "aud"), c->audience))
		return refuse(why, 401, "tracking_evidence_wrong_audience",
			      "la tracking evidence non è destinata a questo e-service (aud)");
	const char *purpose = json_string_value(json_object_get(p, "purposeId"));
	if (!purpose || strcmp(purpose, v->purpose_id))
		return refuse(why, 401, "tracking_evidence_not_bound",
			      "la tracking evidence indica una finalità diversa da quella del voucher "
			      "(purposeId)");
	int64_t iat;
	if (!claim_time(p, "exp", &out->exp, true) || !claim_time(p, "iat", &iat, true))
		return refuse(why, 400, "tracking_evidence_malformed",
			      "exp e iat della tracking evidence devono essere istanti in secondi");
	if (out->exp + c->skew <= now)
		return refuse(why, 401, "tracking_evidence_expired",
			      "la tracking evidence è scaduta");
	if (iat > now + c->skew)
		return refuse(why, 401, "tracking_evidence_not_yet_valid",
			      "la tracking evidence non è ancora valida (iat nel futuro)");
	const char *user = json_string_value(json_object_get(p, "userID"));
	bool user_ok = user && *user && strlen(user) < sizeof out->user_id;
	for (const char *q = user_ok ? user : ""; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			user_ok = false;
	if (!user_ok ||
	    !claim_text(p, "userLocation", out->user_location, sizeof out->user_location, false) ||
	    !claim_text(p, "LoA", out->loa, sizeof out->loa, false) ||
	    !claim_text(p, "jti", out->jti, sizeof out->jti, false))
		return refuse(why, 400, "tracking_evidence_malformed",
			      "la tracking evidence deve contenere userID (testo di al massimo 100 "
			      "byte), userLocation, LoA e jti");
	memcpy(out->user_id, user, strlen(user) + 1);
	return true;
}

vis_err pdnd_evidence_check(struct store *s, int64_t ente_id, const struct pdnd_checks *c,
			    const struct pdnd_voucher *v, const char *token, int64_t now,
			    struct pdnd_evidence *out, bool *ok, struct pdnd_refusal *why,
			    struct vis_error *e)
{
	memset(out, 0, sizeof *out);
	*ok = false;
	if (!token || !*token) {
		refuse(why, 400, "tracking_evidence_required",
		       "una chiamata tramite PDND deve portare Agid-JWT-TrackingEvidence con "
		       "l'utente finale");
		return VIS_OK;
	}
	struct jws j;
	vis_err rc;
	if (!client_jws(s, ente_id, c, token, &evidence_kind, &j, why, &rc, e))
		return rc;
	memcpy(out->kid, j.kid, sizeof out->kid);
	bool good = evidence_claims(c, v, j.payload, now, out, why);
	jws_close(&j);
	if (!good)
		return VIS_OK;
	/* Bound to the voucher: the voucher carries the SHA-256 of this evidence. */
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[2 * sizeof h + 1];
	crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	if (!v->digest[0] || strcasecmp(hex, v->digest)) {
		refuse(why, 401, "tracking_evidence_not_bound",
		       "la tracking evidence non è quella indicata dal digest del voucher");
		return VIS_OK;
	}
	*ok = true;   /* its jti is taken with the voucher's (pdnd_jti_take) */
	return VIS_OK;
}

/* ---- integrity (INTEGRITY_REST_02) ---- */

struct pdnd_signer {
	json_t *jwk;        /* the private key */
	char kid[65];
	char *jwks;         /* the public JWKS document */
	size_t jwks_len;
};

vis_err pdnd_signer_generate(const char *path, char **public_jwk, struct vis_error *e)
{
	*public_jwk = NULL;
	json_t *k = json_pack("{s:s}", "alg", "ES256");
	json_t *thp = k && jose_jwk_gen(NULL, k) ? jose_jwk_thp(NULL, k, "S256") : NULL;
	const char *kid = json_string_value(thp);
	char *text = NULL;
	if (kid && !json_object_set_new(k, "kid", json_string(kid)) &&
	    !json_object_set_new(k, "use", json_string("sig")))
		text = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);
	json_t *pub = text ? json_deep_copy(k) : NULL;
	if (pub && jose_jwk_pub(NULL, pub))
		*public_jwk = json_dumps(pub, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(pub);
	json_decref(thp);
	json_decref(k);
	if (!text || !*public_jwk) {
		free(text);
		free(*public_jwk);
		*public_jwk = NULL;
		return vis_error_set(e, VIS_ERR_INTERNAL, "impossibile fare una chiave ES256 "
							  "(libjose)");
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	size_t len = strlen(text);
	bool ok = fd >= 0 && write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1 &&
		  !fsync(fd);
	int err = errno;
	if (fd >= 0 && close(fd) && ok) {
		ok = false;
		err = errno;
	}
	free(text);
	if (!ok) {
		if (fd >= 0)
			unlink(path);
		free(*public_jwk);
		*public_jwk = NULL;
		return vis_error_set(e, VIS_ERR_IO, "impossibile scrivere la chiave '%s': %s", path,
				     strerror(err));
	}
	return VIS_OK;
}

vis_err pdnd_signer_open(const char *path, struct pdnd_signer **out, struct vis_error *e)
{
	*out = NULL;
	size_t len = 0;
	char *text = file_read_all(path, 8192, &len);
	json_t *k = text && strlen(text) == len ? json_loads(text, JSON_REJECT_DUPLICATES, NULL)
						: NULL;
	if (text)
		sodium_memzero(text, len);
	free(text);
	const char *kty = json_string_value(json_object_get(k, "kty"));
	const char *crv = json_string_value(json_object_get(k, "crv"));
	const char *kid = json_string_value(json_object_get(k, "kid"));
	struct pdnd_signer *sg = NULL;
	json_t *pub = NULL;
	if (!kty || strcmp(kty, "EC") || !crv || strcmp(crv, "P-256") || !kid || !*kid ||
	    strlen(kid) >= sizeof sg->kid || !json_is_string(json_object_get(k, "d"))) {
		json_decref(k);
		return vis_error_set(e, VIS_ERR_INVALID,
				     "pdnd_signing_key '%s': non è una JWK privata EC P-256 con un "
				     "kid (farne una con 'visura pdnd keygen --out FILE')", path);
	}
	sg = calloc(1, sizeof *sg);
	pub = json_deep_copy(k);
	json_t *doc = pub && jose_jwk_pub(NULL, pub) ? json_pack("{s:[O]}", "keys", pub) : NULL;
	if (sg && doc)
		sg->jwks = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(doc);
	json_decref(pub);
	if (!sg || !sg->jwks) {
		free(sg);
		json_decref(k);
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	json_object_set_new(k, "alg", json_string("ES256"));
	memcpy(sg->kid, kid, strlen(kid) + 1);
	sg->jwk = k;
	sg->jwks_len = strlen(sg->jwks);
	*out = sg;
	return VIS_OK;
}

void pdnd_signer_free(struct pdnd_signer *sg)
{
	if (!sg)
		return;
	json_decref(sg->jwk);
	free(sg->jwks);
	free(sg);
}

const char *pdnd_signer_jwks(const struct pdnd_signer *sg, size_t *len)
{
	*len = sg->jwks_len;
	return sg->jwks;
}

void pdnd_digest(const void *body, size_t len, char out[PDND_DIGEST_MAX])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, body, len);
	memcpy(out, "SHA-256=", 8);
	sodium_bin2base64(out + 8, PDND_DIGEST_MAX - 8, h, sizeof h,
			  sodium_base64_VARIANT_ORIGINAL);
}

vis_err pdnd_answer_sign(const struct pdnd_signer *sg, const char *iss, const char *aud,
			 const char *digest, const char *content_type, int64_t now, char **jwt,
			 struct vis_error *e)
{
	*jwt = NULL;
	unsigned char r[16];
	char jti[33];
	randombytes_buf(r, sizeof r);
	sodium_bin2hex(jti, sizeof jti, r, sizeof r);
	json_t *claims = json_pack("{s:s,s:s,s:I,s:I,s:I,s:s,s:[{s:s},{s:s}]}", "iss", iss, "aud",
				   aud, "iat", (json_int_t)now, "nbf", (json_int_t)now, "exp",
				   (json_int_t)(now + 300), "jti", jti, "signed_headers", "digest",
				   digest, "content-type", content_type ? content_type : "");
	char *payload = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
	json_decref(claims);
	json_t *jws = payload ? json_pack("{s:o}", "payload", jose_b64_enc(payload, strlen(payload)))
			      : NULL;
	free(payload);
	json_t *tmpl = json_pack("{s:{s:s,s:s,s:s}}", "protected", "alg", "ES256", "kid", sg->kid,
				 "typ", "JWT");
	const char *p = NULL, *b = NULL, *sig = NULL;
	if (jws && tmpl && jose_jws_sig(NULL, jws, tmpl, sg->jwk)) {
		p = json_string_value(json_object_get(jws, "protected"));
		b = json_string_value(json_object_get(jws, "payload"));
		sig = json_string_value(json_object_get(jws, "signature"));
	}
	if (p && b && sig) {
		size_t n = strlen(p) + strlen(b) + strlen(sig) + 3;
		/* n is the three lengths, two dots and the NUL */
		if ((*jwt = malloc(n)))
			STR_FMT_KNOWN_CAP(*jwt, n, "%s.%s.%s", p, b, sig);
	}
	json_decref(tmpl);
	json_decref(jws);
	if (!*jwt)
		return vis_error_set(e, VIS_ERR_INTERNAL, "impossibile firmare la risposta "
							  "(libjose)");
	return VIS_OK;
}

/* The value signed_headers gives `name` (an array of one-member objects),
 * or NULL. */
static const char *signed_header(const json_t *payload, const char *name)
{
	size_t i;
	json_t *h;
	json_array_foreach(json_object_get(payload, "signed_headers"), i, h) {
		const char *k;
		json_t *v;
		json_object_foreach(h, k, v)
			if (!strcasecmp(k, name) && json_is_string(v))
				return json_string_value(v);
	}
	return NULL;
}

static bool integrity_claims(const struct pdnd_checks *c, const json_t *p, const char *digest,
			     const char *content_type, int64_t now, char jti[129], int64_t *exp,
			     struct pdnd_refusal *why)
{
	if (!pdnd_audience_has(json_object_get(p, "aud"), c->audience))
		return refuse(why, 401, "integrity_signature_wrong_audience",
			      "la Agid-JWT-Signature non è destinata a questo e-service (aud)");
	int64_t iat;
	if (!claim_time(p, "exp", exp, true) || !claim_time(p, "iat", &iat, true) ||
	    !claim_text(p, "jti", jti, 129, false))
		return refuse(why, 400, "integrity_signature_malformed",
			      "la Agid-JWT-Signature deve contenere exp e iat (secondi) e jti");
	if (*exp + c->skew <= now)
		return refuse(why, 401, "integrity_signature_expired",
			      "la Agid-JWT-Signature è scaduta");
	if (iat > now + c->skew)
		return refuse(why, 401, "integrity_signature_not_yet_valid",
			      "la Agid-JWT-Signature non è ancora valida (iat nel futuro)");
	const char *d = signed_header(p, "digest");
	const char *ct = signed_header(p, "content-type");
	if (!d || strcmp(d, digest) || (ct && (!content_type || strcasecmp(ct, content_type))))
		return refuse(why, 401, "integrity_signature_not_bound",
			      "i signed_headers della Agid-JWT-Signature non indicano il Digest "
			      "(e il Content-Type) di questa richiesta");
	return true;
}

vis_err pdnd_integrity_check(struct store *s, int64_t ente_id, const struct pdnd_checks *c,
			     const char *digest, const char *token, const char *content_type,
			     const void *body, size_t len, int64_t now, bool *ok,
			     struct pdnd_refusal *why, struct vis_error *e)
{
	*ok = false;
	char want[PDND_DIGEST_MAX];
	pdnd_digest(body, len, want);
	if (!token || !*token || !digest) {
		refuse(why, 400, "integrity_signature_required",
		       "una chiamata tramite PDND con un corpo deve portare Digest e "
		       "Agid-JWT-Signature (INTEGRITY_REST_02)");
		return VIS_OK;
	}
	/* The algorithm's name is case-insensitive (RFC 3230); the value is not. */
	if (strncasecmp(digest, "SHA-256=", 8) || strcmp(digest + 8, want + 8)) {
		refuse(why, 400, "digest_mismatch",
		       "l'intestazione Digest non è SHA-256=<base64 dello SHA-256 del corpo>");
		return VIS_OK;
	}
	struct jws j;
	vis_err rc;
	if (!client_jws(s, ente_id, c, token, &signature_kind, &j, why, &rc, e))
		return rc;
	char jti[129], tkey[160];
	int64_t exp = 0;
	bool good = integrity_claims(c, j.payload, digest, content_type, now, jti, &exp, why);
	jws_close(&j);
	if (!good)
		return VIS_OK;
	STR_FMT_KNOWN(tkey, "signature:%s", jti); /* jti < 129 bytes */
	bool fresh;
	if (store_pdnd_jti_take(s, tkey, exp + c->skew, &fresh, e))
		return e->code;
	if (!fresh) {
		refuse(why, 401, "integrity_signature_replayed",
		       "questa Agid-JWT-Signature (jti) è già stata usata");
		return VIS_OK;
	}
	*ok = true;
	return VIS_OK;
}

vis_err pdnd_key_add(struct store *s, int64_t ente_id, const char *jwk, int64_t now,
		     struct store_pdnd_key *out, struct vis_error *e)
{
	json_t *k = strlen(jwk) < sizeof out->jwk ? json_loads(jwk, JSON_REJECT_DUPLICATES, NULL)
						    : NULL;
	const char *kty = json_string_value(json_object_get(k, "kty"));
	const char *kid = json_string_value(json_object_get(k, "kid"));
	bool ok = json_is_object(k) && kty && !strcmp(kty, "RSA") && kid && *kid &&
		  strlen(kid) < sizeof out->kid && json_is_string(json_object_get(k, "n")) &&
		  json_is_string(json_object_get(k, "e")) && !json_object_get(k, "d");
	*out = (struct store_pdnd_key){.ente_id = ente_id, .created_at = now};
	if (ok) {
		STR_COPY_KNOWN(out->kid, kid); /* its length was checked above */
		char *text = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);
		ok = text && STR_COPY(out->jwk, text);
		free(text);
	}
	json_decref(k);
	if (!ok)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "la chiave deve essere una JWK RSA pubblica con un kid (kty, kid, n, "
				     "e; senza d), di al massimo %zu byte", sizeof out->jwk - 1);
	struct store_ente en;
	bool found;
	if (store_ente_get(s, ente_id, &en, &found, e))
		return e->code;
	if (!found)
		return vis_error_set(e, VIS_ERR_INVALID, "ente %lld inesistente", (long long)ente_id);
	struct store_pdnd_key old;
	if (body_key(s, ente_id, out->kid, &old, &found, NULL, e))
		return e->code;
	if (found)
		return vis_error_set(e, VIS_ERR_CONFLICT, "l'ente %lld ha già una chiave '%s'",
				     (long long)ente_id, out->kid);
	return store_pdnd_key_insert(s, out, &out->id, e);
}

vis_err pdnd_key_revoke(struct store *s, int64_t key_id, int64_t now,
			struct store_pdnd_key *out, struct vis_error *e)
{
	bool found;
	if (store_pdnd_key_get(s, key_id, out, &found, e))
		return e->code;
	if (!found)
		return vis_error_set(e, VIS_ERR_NOTFOUND, "la chiave %lld non esiste",
				     (long long)key_id);
	if (out->revoked_at)
		return vis_error_set(e, VIS_ERR_CONFLICT, "la chiave %lld ('%s') è già revocata",
				     (long long)key_id, out->kid);
	const struct store_pdnd_key was = *out;
	out->revoked_at = now;
	return store_pdnd_key_update(s, &was, out, e);
}

/* ---- the registry office's mapping ---- */

bool pdnd_id_valid(const char *id)
{
	size_t n = strlen(id);
	return n >= 1 && n <= 64 &&
	       strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

struct find_ctx {
	struct store_pdnd_purpose *out;
	bool *found;
};

static int take_first(void *ctx, const void *rec)
{
	struct find_ctx *f = ctx;
	*f->out = *(const struct store_pdnd_purpose *)rec;
	*f->found = true;
	return 1;
}

vis_err pdnd_purpose_find(struct store *s, const char *pdnd_purpose,
			  struct store_pdnd_purpose *out, bool *found, struct vis_error *e)
{
	*found = false;
	const struct store_filter f[] = {{"pdnd_purpose", pdnd_purpose, 0},
					 {"revoked_at", NULL, 0}, {NULL, NULL, 0}};
	struct find_ctx ctx = {out, found};
	return store_rec_list(s, STORE_PDND_PURPOSE, f, 1, take_first, &ctx, e) ? e->code : VIS_OK;
}

vis_err pdnd_purpose_map(struct store *s, const char *pdnd_purpose, const char *client_id,
			 int64_t purpose_id, const char *username, int64_t now,
			 struct store_pdnd_purpose *out, struct vis_error *e)
{
	if (!pdnd_id_valid(pdnd_purpose) || !pdnd_id_valid(client_id))
		return vis_error_set(e, VIS_ERR_INVALID,
				     "i campi \"pdnd_purpose\" e \"client_id\" devono avere da 1 a 64 "
				     "caratteri tra A-Z, a-z, 0-9, -");
	bool found;
	struct store_purpose p;
	struct store_convenzione cv;
	struct store_account a;
	if (store_purpose_get(s, purpose_id, &p, &found, e))
		return e->code;
	if (!found)
		return vis_error_set(e, VIS_ERR_INVALID, "finalità %lld inesistente", (long long)purpose_id);
	if (store_convenzione_get(s, p.convenzione_id, &cv, &found, e))
		return e->code;
	if (!found)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "la convenzione della finalità non esiste");
	if (store_account_by_username(s, username, &a, &found, e))
		return e->code;
	if (!found || strcmp(a.role, "api") || a.ente_id != cv.ente_id)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "'%s' non è un'utenza API dell'ente della finalità %lld", username,
				     (long long)purpose_id);
	struct store_pdnd_purpose old;
	if (pdnd_purpose_find(s, pdnd_purpose, &old, &found, e))
		return e->code;
	if (found)
		return vis_error_set(e, VIS_ERR_CONFLICT,
				     "la finalità PDND %s è già registrata (per la finalità %lld): chiudere prima "
				     "quella",
				     pdnd_purpose, (long long)old.purpose_id);
	*out = (struct store_pdnd_purpose){.purpose_id = purpose_id, .account_id = a.id,
					   .created_at = now};
	STR_COPY_KNOWN(out->pdnd_purpose, pdnd_purpose); /* 64 at most, checked above */
	STR_COPY_KNOWN(out->client_id, client_id);
	return store_pdnd_purpose_insert(s, out, &out->id, e);
}

vis_err pdnd_purpose_unmap(struct store *s, const char *pdnd_purpose, int64_t now,
			   struct vis_error *e)
{
	struct store_pdnd_purpose m;
	bool found;
	if (pdnd_purpose_find(s, pdnd_purpose, &m, &found, e))
		return e->code;
	if (!found)
		return vis_error_set(e, VIS_ERR_NOTFOUND, "la finalità PDND %s non è registrata",
				     pdnd_purpose);
	const struct store_pdnd_purpose was = m;
	m.revoked_at = now;
	return store_pdnd_purpose_update(s, &was, &m, e);
}
