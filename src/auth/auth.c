#include "auth/auth.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/password.h"
#include "common/date.h"
#include "common/log.h"
#include "common/str.h"
#include "common/text.h"

#define DAY 86400

/* ---- standing ---- */

enum account_standing auth_standing(const struct config *cfg,
				    const struct store_account *a, int64_t now)
{
	if (strcmp(a->state, "active"))
		return STANDING_DISABLED;
	if (a->expires_at <= now)
		return STANDING_CREDENTIALS_EXPIRED;
	if (!strcmp(a->role, "api"))
		return STANDING_OK; /* tokens only: no password to age */
	if (a->password_temporary && a->temp_expires_at <= now)
		return STANDING_TEMP_EXPIRED;
	if (a->password_temporary)
		return STANDING_MUST_CHANGE;
	if (a->password_set_at + (int64_t)cfg->password_max_age_days * DAY <= now)
		return STANDING_MUST_CHANGE;
	return STANDING_OK;
}

const char *auth_standing_code(enum account_standing s)
{
	switch (s) {
	case STANDING_OK: return "ok";
	case STANDING_DISABLED: return "account_disabled";
	case STANDING_CREDENTIALS_EXPIRED: return "credentials_expired";
	case STANDING_TEMP_EXPIRED: return "temporary_password_expired";
	case STANDING_MUST_CHANGE: return "password_change_required";
	}
	return "unknown";
}

const char *auth_standing_message(enum account_standing s)
{
	switch (s) {
	case STANDING_OK: return "ok";
	case STANDING_DISABLED: return "l'utenza è disattivata";
	case STANDING_CREDENTIALS_EXPIRED:
		return "le credenziali sono scadute: il referente dell'ente deve rinnovarle";
	case STANDING_TEMP_EXPIRED:
		return "la password temporanea è scaduta: chiederne una nuova all'ufficio anagrafe";
	case STANDING_MUST_CHANGE: return "prima di tutto occorre cambiare la password";
	}
	return "unknown";
}

bool auth_totp_required(struct store *s, const struct store_account *a)
{
	char roles[256];
	bool found = false;
	/* A setting that cannot be read asks for the second factor: a security
	 * rule fails closed. */
	if (store_setting_get(s, "totp_required_roles", roles, sizeof roles, &found, NULL))
		return true;
	if (!found)
		return false;
	/* A comma-separated list of role names. */
	size_t n = strlen(a->role);
	for (const char *p = roles; (p = strstr(p, a->role)); p += n)
		if ((p == roles || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

/* The mark of one account or body: 0, 2 or 3; -1 unreadable. */
static int spid_mark(struct store *s, const char *what, int64_t id)
{
	char key[64], v[8] = "";
	bool found = false;
	/* "account" or "ente" and a number */
	STR_FMT_KNOWN(key, "spid_required:%s:%lld", what, (long long)id);
	if (store_setting_get(s, key, v, sizeof v, &found, NULL))
		return -1;
	return found && (!strcmp(v, "2") || !strcmp(v, "3")) ? v[0] - '0' : 0;
}

int auth_spid_level(struct store *s, const struct config *cfg, const struct store_account *a)
{
	int acc = spid_mark(s, "account", a->id);
	int body = a->ente_id ? spid_mark(s, "ente", a->ente_id) : 0;
	if (acc < 0 || body < 0)
		return cfg->oidc_level > 2 ? cfg->oidc_level : 2;
	int level = acc > body ? acc : body;
	if (!level)
		return 0;
	return level > cfg->oidc_level ? level : cfg->oidc_level;
}

vis_err auth_spid_mark(struct store *s, const char *what, int64_t id, int level,
		       struct vis_error *e)
{
	char key[64], v[8];
	/* "account" or "ente" and a number */
	STR_FMT_KNOWN(key, "spid_required:%s:%lld", what, (long long)id);
	snprintf(v, sizeof v, "%d", level);
	return store_setting_put(s, key, level ? v : "0", e);
}

static int newest_event(void *ctx, const void *rec)
{
	*(struct store_security_event *)ctx = *(const struct store_security_event *)rec;
	return 1;
}

/* An event without an account comes from unauthenticated traffic (unknown
 * names, throttled attempts): the same kind from the same address within
 * AUTH_COALESCE_SECONDS is counted on the first row instead of adding one,
 * so that such traffic adds at most one row per kind, address and period. */
static bool event_coalesce(struct store *s, int64_t now, const char *kind, const char *ip)
{
	struct store_security_event last = {0};
	struct store_filter f[] = {{"kind", kind, 0}, {"ip", ip, 0}, {"account_id", NULL, 0},
				   {NULL, NULL, 0}};
	if (store_rec_list(s, STORE_SECURITY_EVENT, f, 1, newest_event, &last, NULL) ||
	    !last.id || last.at < now - AUTH_COALESCE_SECONDS)
		return false;
	/* The count is Italian as all the detail; rows written before it
	 * was ("[repeated=") are read too. */
	const struct store_security_event was = last;
	long n = 1;
	char *mark = strstr(last.detail, " [ripetuto=");
	char *old = mark ? NULL : strstr(last.detail, " [repeated=");
	if (mark || old) {
		n = strtol(mark ? mark + 11 : old + 11, NULL, 10);
		*(mark ? mark : old) = '\0';
	}
	char ts[21];
	timestamp_format(now, ts);
	char detail[sizeof last.detail];
	STR_FMT_KNOWN(detail, "%.180s [ripetuto=%ld volte, ultima %s]", last.detail, n + 1,
		      ts); /* %.180s + 60 < 256 */
	struct store_security_event counted = last;
	memcpy(counted.detail, detail, sizeof detail);
	return store_security_event_update(s, &was, &counted, NULL) == VIS_OK;
}

void auth_event(struct store *s, int64_t now, const char *kind,
		const struct store_account *a, const char *username, const char *ip,
		const char *detail)
{
	if (!a && event_coalesce(s, now, kind, ip ? ip : ""))
		return;
	struct store_security_event ev = {.at = now};
	STR_COPY_KNOWN(ev.kind, kind); /* one of the event names of the callers */
	if (a) {
		ev.account_id = a->id;
		ev.ente_id = a->ente_id;
		STR_COPY_KNOWN(ev.username, a->username); /* the same size */
	} else {
		/* The name someone typed at a login: the event keeps as much
		 * as fits, on purpose, it names no account. */
		str_copy_cut(ev.username, sizeof ev.username, username ? username : "");
	}
	STR_COPY_KNOWN(ev.ip, ip ? ip : ""); /* http_request's ip has the same size */
	/* The detail is a note (a path, a title, a name): cut to fit on
	 * purpose, the event's record is elsewhere in full. */
	str_copy_cut(ev.detail, sizeof ev.detail, detail ? detail : "");
	/* typed text shown on the security screen: valid UTF-8, no bidi control */
	utf8_scrub(ev.username);
	utf8_scrub(ev.detail);
	/* the security log is not the access trail (nothing waits for it),
	 * but an event it cannot keep is said where the operator reads */
	struct vis_error e = {0};
	if (store_security_event_insert(s, &ev, NULL, &e))
		log_error("evento di sicurezza non registrato", "kind=%s account=%lld error=\"%s\"",
			  kind, (long long)ev.account_id, e.msg);
}

/* ---- throttling ---- */

static void throttle_key(char *out, size_t cap, const char *prefix, const char *v)
{
	size_t n = (size_t)snprintf(out, cap, "%s:", prefix);
	for (; *v && n + 1 < cap; v++)
		out[n++] = (char)tolower((unsigned char)*v);
	out[n] = '\0';
}

/* A key's wait; AUTH_THROTTLE_UNKNOWN when its row cannot be read. */
static int64_t key_wait(struct store *s, const char *key, int64_t now)
{
	struct store_throttle t;
	struct vis_error e = {0};
	if (store_throttle_get(s, key, &t, &e) != VIS_OK) {
		log_error("blocco dei tentativi illeggibile", "error=\"%s\"", e.msg);
		return AUTH_THROTTLE_UNKNOWN;
	}
	return t.locked_until > now ? t.locked_until - now : 0;
}

int64_t auth_throttle_ip_wait(struct store *s, const char *ip, int64_t now)
{
	char k[128];
	throttle_key(k, sizeof k, "ip", ip);
	return key_wait(s, k, now);
}

int64_t auth_throttle_wait(struct store *s, const struct config *cfg,
			   const char *username, const char *ip, int64_t now)
{
	(void)cfg;
	char k[128];
	int64_t wait = auth_throttle_ip_wait(s, ip, now);
	throttle_key(k, sizeof k, "u", username);
	int64_t mine = wait < 0 ? wait : key_wait(s, k, now);
	return mine < 0 || mine > wait ? mine : wait;
}

/* A failure counted (one statement: two at once are two): below
 * `threshold` a short, growing delay; from it a lockout that doubles each
 * time, up to `max_lock`.  *locked when it started a lockout; *set the
 * locked_until it wrote (0: none) and *was the one before. */
static vis_err throttle_bump(struct store *s, const char *key, int threshold, int64_t max_lock,
			     bool delays, int64_t now, bool *locked, int64_t *set, int64_t *was,
			     struct vis_error *e)
{
	struct store_throttle t;
	*locked = false;
	*set = *was = 0;
	if (store_throttle_bump(s, key, now, DAY, &t, e))   /* a quiet day forgives */
		return VIS_ERR_STORE;
	*was = t.locked_until;
	int64_t until = 0;
	if (t.failures >= threshold) {
		int64_t lock = 60;
		for (int i = threshold; i < t.failures && lock < max_lock; i++)
			lock *= 2;
		until = now + (lock < max_lock ? lock : max_lock);
		*locked = true;
	} else if (delays && t.failures >= 2) {
		int64_t d = 1;
		for (int i = 2; i < t.failures && d < 30; i++)
			d *= 2;
		until = now + d;
	}
	if (until > t.locked_until) {
		if (store_throttle_lock(s, key, until, e))
			return VIS_ERR_STORE;
		*set = until;
	}
	return VIS_OK;
}

vis_err auth_throttle_attempt(struct store *s, const struct config *cfg, const char *username,
			      const char *ip, int64_t now, struct auth_attempt *at,
			      struct vis_error *e)
{
	memset(at, 0, sizeof *at);
	throttle_key(at->key[0], sizeof at->key[0], "u", username);
	throttle_key(at->key[1], sizeof at->key[1], "ip", ip);
	bool locked[2];
	if (throttle_bump(s, at->key[0], cfg->login_lock_failures,
			  (int64_t)cfg->login_lock_minutes * 60, true, now, &locked[0], &at->set[0],
			  &at->was[0], e) ||
	    throttle_bump(s, at->key[1], cfg->ip_lock_failures,
			  (int64_t)cfg->login_lock_minutes * 60, false, now, &locked[1], &at->set[1],
			  &at->was[1], e)) {
		log_error("tentativo di accesso non contato: rifiutato", "error=\"%s\"", e->msg);
		return VIS_ERR_STORE;
	}
	at->locked = locked[0] || locked[1];
	at->counted = true;
	return VIS_OK;
}

void auth_throttle_passed(struct store *s, struct auth_attempt *at)
{
	struct vis_error e = {0};
	for (int k = 0; at->counted && k < 2; k++)
		if (store_throttle_undo(s, at->key[k], at->set[k], at->was[k], &e))
			/* the attempt stays counted as a failure: the safe side */
			log_error("tentativo riuscito ancora contato", "error=\"%s\"", e.msg);
	at->counted = false;
}

void auth_throttle_succeeded(struct store *s, struct auth_attempt *at, int64_t now)
{
	struct vis_error e = {0};
	struct store_throttle t = {.last_failure_at = now};
	if (store_throttle_put(s, at->key[0], &t, &e))
		/* the name's failures stay counted: the safe side */
		log_error("tentativi non riusciti non azzerati", "error=\"%s\"", e.msg);
	if (at->counted && store_throttle_undo(s, at->key[1], at->set[1], at->was[1], &e))
		log_error("tentativo riuscito ancora contato", "error=\"%s\"", e.msg);
	at->counted = false;
}

bool auth_throttle_ip_fail(struct store *s, const struct config *cfg, const char *ip,
			   int64_t now)
{
	char k[128];
	bool locked;
	int64_t set, was;
	struct vis_error e = {0};
	throttle_key(k, sizeof k, "ip", ip);
	if (throttle_bump(s, k, cfg->ip_lock_failures, (int64_t)cfg->login_lock_minutes * 60,
			  false, now, &locked, &set, &was, &e))
		log_error("tentativo non riuscito non contato", "error=\"%s\"", e.msg);
	return !e.code && locked;
}

bool auth_throttle_fail(struct store *s, const struct config *cfg,
			const char *username, const char *ip, int64_t now)
{
	char k[128];
	bool locked;
	int64_t set, was;
	struct vis_error e = {0};
	throttle_key(k, sizeof k, "u", username);
	if (throttle_bump(s, k, cfg->login_lock_failures, (int64_t)cfg->login_lock_minutes * 60,
			  true, now, &locked, &set, &was, &e)) {
		log_error("tentativo non riuscito non contato", "error=\"%s\"", e.msg);
		locked = false;
	}
	return auth_throttle_ip_fail(s, cfg, ip, now) || locked;
}

/* ---- credentials ---- */

/* t plus `months` calendar months (clamped to the month's length). */
static int64_t add_months(int64_t t, int months)
{
	int64_t days = t / DAY, secs = t % DAY;
	int d = date_from_days(days);
	int y = DATE_YEAR(d), m = DATE_MONTH(d) + months, day = DATE_DAY(d);
	y += (m - 1) / 12;
	m = (m - 1) % 12 + 1;
	if (day > date_days_in_month(y, m))
		day = date_days_in_month(y, m);
	return date_to_days(DATE_MAKE(y, m, day)) * DAY + secs;
}

vis_err auth_password_temporary(struct store *s, const struct config *cfg,
				struct store_account *a, int64_t now, char *out,
				size_t cap, struct vis_error *e)
{
	const struct store_account was = *a;
	if (password_generate(out, cap, 16, e))
		return VIS_ERR_INTERNAL;
	if (password_hash(out, a->password_hash, e))
		return VIS_ERR_INTERNAL;
	a->password_temporary = true;
	a->password_set_at = now;
	a->temp_expires_at = now + (int64_t)cfg->temp_password_days * DAY;
	if (a->id && store_account_update(s, &was, a, e))
		return VIS_ERR_STORE;
	return a->id ? store_password_history_add(s, a->id, a->password_hash, now, e) : VIS_OK;
}

vis_err auth_password_change(struct store *s, struct store_account *a,
			     const char *new_password, int64_t now,
			     struct vis_error *e)
{
	char hist[PASSWORD_HISTORY][128];
	const char *prev[PASSWORD_HISTORY + 1];
	int n = 0;
	if (store_password_history(s, a->id, hist, PASSWORD_HISTORY, &n, e))
		return VIS_ERR_STORE;
	size_t np = 0;
	prev[np++] = a->password_hash;
	for (int i = 0; i < n; i++)
		prev[np++] = hist[i];
	const char *why = password_policy_check(new_password, a->username, prev, np);
	if (why)
		return vis_error_set(e, VIS_ERR_INVALID, "%s", why);
	char hash[PASSWORD_HASH_MAX];
	if (password_hash(new_password, hash, e))
		return VIS_ERR_INTERNAL;
	const struct store_account was = *a;
	memcpy(a->password_hash, hash, sizeof a->password_hash);
	a->password_temporary = false;
	a->temp_expires_at = 0;
	a->password_set_at = now;
	if (store_account_update(s, &was, a, e) ||
	    store_password_history_add(s, a->id, hash, now, e))
		return VIS_ERR_STORE;
	return VIS_OK;
}

vis_err auth_account_disable(struct store *s, struct store_account *a,
			     const char *reason, int64_t now, struct vis_error *e)
{
	const struct store_account was = *a;
	snprintf(a->state, sizeof a->state, "disabled");
	if (STR_SET(a->disabled_reason, reason, "motivo della disattivazione", e))
		return VIS_ERR_LIMIT;
	a->disabled_at = now;
	if (store_account_update(s, &was, a, e) ||
	    store_sessions_revoke_account(s, a->id, now, e) ||
	    store_tokens_revoke_account(s, a->id, now, e))
		return VIS_ERR_STORE;
	return VIS_OK;
}

/* A new period of validity from now; an account disabled because it had
 * expired is active again. */
static void account_renewed(const struct config *cfg, struct store_account *a, int64_t now)
{
	a->issued_at = now;
	a->expires_at = add_months(now, cfg->credential_months);
	a->reminded_at = 0;
	if (!strcmp(a->state, "disabled") && !strcmp(a->disabled_reason, "expired")) {
		snprintf(a->state, sizeof a->state, "active");
		a->disabled_reason[0] = '\0';
		a->disabled_at = 0;
	}
}

vis_err auth_account_renew(struct store *s, const struct config *cfg,
			   struct store_account *a, int64_t now, struct vis_error *e)
{
	const struct store_account was = *a;
	account_renewed(cfg, a, now);
	return store_account_update(s, &was, a, e);
}

vis_err auth_account_enable(struct store *s, const struct config *cfg,
			    struct store_account *a, int64_t now, struct vis_error *e)
{
	const struct store_account was = *a;
	snprintf(a->state, sizeof a->state, "active");
	a->disabled_reason[0] = '\0';
	a->disabled_at = 0;
	if (a->expires_at <= now)
		account_renewed(cfg, a, now);
	return store_account_update(s, &was, a, e);
}

vis_err auth_account_totp_reset(struct store *s, struct store_account *a, struct vis_error *e)
{
	const struct store_account was = *a;
	a->totp_enabled = false;
	a->totp_secret[0] = '\0';
	a->totp_last_step = 0;
	return store_account_update(s, &was, a, e);
}

vis_err auth_account_create(struct store *s, const struct config *cfg,
			    struct store_account *a, int64_t now, char *password,
			    size_t cap, struct vis_error *e)
{
	a->id = 0;
	snprintf(a->state, sizeof a->state, "active");
	a->created_at = now;
	a->issued_at = now;
	a->expires_at = add_months(now, cfg->credential_months);
	if (!strcmp(a->role, "api")) {
		/* System accounts authenticate with tokens only. */
		a->password_hash[0] = '\0';
		if (cap)
			password[0] = '\0';
	} else if (auth_password_temporary(s, cfg, a, now, password, cap, e)) {
		return VIS_ERR_INTERNAL;
	}
	vis_err rc = store_account_insert(s, a, &a->id, e);
	if (rc == VIS_OK && a->password_hash[0])
		rc = store_password_history_add(s, a->id, a->password_hash, now, e);
	return rc;
}

/* ---- sessions and tokens ---- */

void auth_token_hash(const char *token, char out[65])
{
	unsigned char d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(d, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(out, 65, d, sizeof d);
}

bool auth_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la != lb)
		return false;
	return sodium_memcmp(a, b, la) == 0;
}

static void random_token(char out[AUTH_TOKEN_MAX])
{
	unsigned char raw[32];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(out, AUTH_TOKEN_MAX, raw, sizeof raw,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
}

/* A token as we issue them: 43 base64url characters. */
static bool token_shape(const char *t)
{
	size_t n = strlen(t);
	if (n < 40 || n >= AUTH_TOKEN_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && t[i] != '-' && t[i] != '_')
			return false;
	return true;
}

bool auth_session_live(const struct config *cfg, const struct store_session *sess, int64_t now)
{
	return !sess->revoked_at && now < sess->expires_at &&
	       now - sess->last_seen_at < (int64_t)cfg->session_idle_minutes * 60;
}

struct live_sessions {
	const struct config *cfg;
	int64_t now;
	store_rec_fn fn;
	void *ctx;
};

static int live_only(void *ctx, const void *rec)
{
	struct live_sessions *l = ctx;
	return auth_session_live(l->cfg, rec, l->now) ? l->fn(l->ctx, rec) : 0;
}

vis_err auth_sessions_each(struct store *s, const struct config *cfg, int64_t account_id,
			   int64_t now, store_rec_fn fn, void *ctx, struct vis_error *e)
{
	struct live_sessions l = {cfg, now, fn, ctx};
	struct store_filter f[] = {{"account_id", NULL, account_id}, {"revoked_at", NULL, 0},
				   {NULL, NULL, 0}};
	return store_rec_list(s, STORE_SESSION, f, 0, live_only, &l, e);
}

/* The live sessions beyond the newest `keep`, oldest last. */
struct surplus {
	int keep, seen;
	struct store_session *end;
	int nend, cap;
	bool nomem;
};

static int take_surplus(void *ctx, const void *rec)
{
	struct surplus *x = ctx;
	if (++x->seen <= x->keep)
		return 0;
	if (x->nend == x->cap) {
		int cap = x->cap ? 2 * x->cap : 8;
		struct store_session *p = realloc(x->end, (size_t)cap * sizeof *p);
		if (!p) {
			x->nomem = true;
			return 1;
		}
		x->end = p;
		x->cap = cap;
	}
	x->end[x->nend++] = *(const struct store_session *)rec;
	return 0;
}

/* Ends the oldest live sessions of the account beyond max_sessions. */
static vis_err sessions_cap(struct store *s, const struct config *cfg,
			    const struct store_account *a, int64_t now, struct vis_error *e)
{
	struct surplus x = {.keep = cfg->max_sessions};
	vis_err rc = auth_sessions_each(s, cfg, a->id, now, take_surplus, &x, e);
	if (!rc && x.nomem)
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	for (int i = 0; !rc && i < x.nend; i++) {
		char detail[96];
		snprintf(detail, sizeof detail, "sessione %lld: la meno recente oltre le %d ammesse",
			 (long long)x.end[i].id, cfg->max_sessions);
		rc = auth_session_revoke(s, &x.end[i], now, e);
		if (!rc)
			auth_event(s, now, "session_ended", a, NULL, x.end[i].ip, detail);
	}
	free(x.end);
	return rc;
}

vis_err auth_session_create(struct store *s, const struct config *cfg,
			    const struct store_account *a, const char *ip, int64_t now,
			    char token[AUTH_TOKEN_MAX], struct store_session *out,
			    struct vis_error *e)
{
	memset(out, 0, sizeof *out);
	random_token(token);
	auth_token_hash(token, out->token_hash);
	random_token(out->csrf);
	out->account_id = a->id;
	out->created_at = now;
	out->last_seen_at = now;
	out->expires_at = now + (int64_t)cfg->session_absolute_hours * 3600;
	STR_COPY_KNOWN(out->ip, ip); /* http_request's ip has the same size */
	if (store_session_insert(s, out, &out->id, e))
		return VIS_ERR_STORE;
	return sessions_cap(s, cfg, a, now, e);
}

/* Records when a session or token was last used, at most once a minute.
 * The answer does not wait for it: while another writer (an import) holds
 * the database, the time is recorded at a later request. */
static void touch(struct store *s, enum store_kind k, void *rec, size_t size, int64_t *at,
		  int64_t now)
{
	union {
		struct store_session session;
		struct store_token token;
	} before;
	if (size > sizeof before)
		return;
	memcpy(&before, rec, size);
	int64_t was = *at;
	struct vis_error e = {0};
	*at = now;
	enum store_wait mode = store_wait(s, STORE_WAIT_NONE);
	if (store_rec_update(s, k, &before, rec, &e))
		*at = was;
	store_wait(s, mode);
}

vis_err auth_session_find(struct store *s, const struct config *cfg, const char *token,
			  int64_t now, struct store_session *out, bool *found,
			  struct vis_error *e)
{
	char hash[65];
	*found = false;
	memset(out, 0, sizeof *out);
	if (!token_shape(token))
		return VIS_OK;
	auth_token_hash(token, hash);
	bool exists;
	if (store_session_by_token(s, hash, out, &exists, e))
		return VIS_ERR_STORE;
	if (!exists || !auth_session_live(cfg, out, now))
		return VIS_OK;
	*found = true;
	if (now - out->last_seen_at >= 60)
		touch(s, STORE_SESSION, out, sizeof *out, &out->last_seen_at, now);
	return VIS_OK;
}

vis_err auth_session_revoke(struct store *s, struct store_session *sess, int64_t now,
			    struct vis_error *e)
{
	const struct store_session was = *sess;
	sess->revoked_at = now;
	/* Refused only when the session's revocation time moved since it was
	 * read: another revocation came first (or the session is gone). */
	vis_err rc = store_session_update(s, &was, sess, e);
	if (rc == VIS_ERR_CONFLICT) {
		vis_error_clear(e);
		return VIS_OK;
	}
	return rc;
}

vis_err auth_token_create(struct store *s, const struct store_account *a,
			  const char *name, int64_t now, char token[AUTH_TOKEN_MAX],
			  int64_t *id, struct vis_error *e)
{
	struct store_token t = {.account_id = a->id, .created_at = now};
	random_token(token);
	auth_token_hash(token, t.token_hash);
	if (STR_SET(t.name, name, "nome del token", e))
		return VIS_ERR_LIMIT;
	return store_token_insert(s, &t, id, e);
}

vis_err auth_token_find(struct store *s, const char *token, int64_t now,
			struct store_token *out, bool *found, struct vis_error *e)
{
	char hash[65];
	*found = false;
	memset(out, 0, sizeof *out);
	if (!token_shape(token))
		return VIS_OK;
	auth_token_hash(token, hash);
	bool exists;
	if (store_token_by_hash(s, hash, out, &exists, e))
		return VIS_ERR_STORE;
	if (!exists || out->revoked_at)
		return VIS_OK;
	*found = true;
	if (now - out->last_used_at >= 60)
		touch(s, STORE_TOKEN, out, sizeof *out, &out->last_used_at, now);
	return VIS_OK;
}

/* ---- periodic duties ---- */

vis_err auth_mail_queue(struct store *s, const char *recipient, const char *subject,
			const char *body, const char *kind, int64_t now,
			struct vis_error *e)
{
	struct store_mail m = {.created_at = now, .next_attempt_at = now};
	if (STR_SET(m.recipient, recipient, "destinatario", e) ||
	    STR_SET(m.subject, subject, "oggetto", e) || STR_SET(m.body, body, "testo", e) ||
	    STR_SET(m.kind, kind, "tipo di messaggio", e))
		return VIS_ERR_LIMIT;
	snprintf(m.state, sizeof m.state, "pending");
	return store_mail_insert(s, &m, NULL, e);
}

struct mail_to {
	struct store *s;
	const char *subject, *body, *kind;
	int64_t now;
	int failed;
};

static int mail_one(void *ctx, const void *rec)
{
	struct mail_to *m = ctx;
	const struct store_account *a = rec;
	if (a->email[0] && !strcmp(a->state, "active") &&
	    auth_mail_queue(m->s, a->email, m->subject, m->body, m->kind, m->now, NULL))
		m->failed++;
	return 0;
}

vis_err auth_mail_accounts(struct store *s, const struct store_filter *filters,
			   const char *subject, const char *body, const char *kind, int64_t now,
			   const char *what, struct vis_error *e)
{
	struct mail_to m = {s, subject, body, kind, now, 0};
	struct vis_error le = {0};
	if (store_rec_list(s, STORE_ACCOUNT, filters, 0, mail_one, &m, &le) || m.failed) {
		log_error("messaggio non accodato a ogni destinatario", "what=\"%s\" failed=%d "
			  "error=\"%s\"", what, m.failed, le.msg);
		return vis_error_set(e, VIS_ERR_STORE, "%s: messaggio non accodato a ogni destinatario",
				     what);
	}
	return VIS_OK;
}

/* The sweeps read the active accounts a page at a time, newest first,
 * and handle a page's due ones before the next: every account is seen
 * however many are due (one list cut at a fixed number saw the same first
 * ones at every run, those after them never). */
#define SWEEP_PAGE 256

struct maint {
	struct store *s;
	const struct config *cfg;
	int64_t now;
	int disabled;
	struct store_account due[SWEEP_PAGE];  /* expired or to remind, handled after the page */
	int ndue;
	int seen;                              /* the page's accounts */
	int64_t last_id;                       /* the page's last (the next page's cursor) */
};

static int collect(void *ctx, const void *rec)
{
	struct maint *m = ctx;
	const struct store_account *a = rec;
	m->seen++;
	m->last_id = a->id;
	int64_t window = (int64_t)m->cfg->renewal_window_days * DAY;
	bool expired = a->expires_at <= m->now;
	bool remind = !strcmp(a->role, "lead") && a->expires_at - window <= m->now &&
		      a->reminded_at < a->issued_at + 1;
	if (expired || remind)
		m->due[m->ndue++] = *a;   /* at most one per account of the page */
	return 0;
}

/* Unused accounts: a notice first, then — if still unused after
 * review_notice_days — disabled. */
struct unused {
	const struct config *cfg;
	int64_t now;
	struct store_account due[SWEEP_PAGE];
	int n;
	int seen;
	int64_t last_id;
};

static int collect_unused(void *ctx, const void *rec)
{
	struct unused *u = ctx;
	const struct store_account *a = rec;
	u->seen++;
	u->last_id = a->id;
	if (strcmp(a->role, "operator") && strcmp(a->role, "lead"))
		return 0;
	int64_t last = a->last_login_at > a->created_at ? a->last_login_at : a->created_at;
	if (u->now - last > (int64_t)u->cfg->review_unused_days * DAY)
		u->due[u->n++] = *a;   /* at most one per account of the page */
	return 0;
}

static int notice_at(void *ctx, const void *rec)
{
	const struct store_security_event *ev = rec;
	*(int64_t *)ctx = ev->at;
	return 1;   /* the newest is enough */
}

/* One page of the unused accounts' sweep; its disabled added to *disabled. */
static vis_err unused_page(struct store *s, const struct config *cfg, struct unused *u,
			   int *disabled)
{
	int64_t now = u->now;
	for (int i = 0; i < u->n; i++) {
		struct store_account *a = &u->due[i];
		int64_t last = a->last_login_at > a->created_at ? a->last_login_at : a->created_at;
		/* the account's last notice, among its events of that kind only:
		 * among all its events (the newest 200) enough failed logins
		 * against it hid the notice, and it was noticed again, never
		 * disabled */
		int64_t notice = 0;
		struct vis_error e = {0};
		struct store_filter f[] = {{"account_id", NULL, a->id}, {"kind", "unused_notice", 0},
					   {NULL, NULL, 0}};
		if (store_rec_list(s, STORE_SECURITY_EVENT, f, 1, notice_at, &notice, &e)) {
			log_error("utenza inutilizzata: avvisi illeggibili", "account=%lld error=\"%s\"",
				  (long long)a->id, e.msg);
			return VIS_ERR_STORE;
		}
		if (notice <= last) {
			char body[512];
			/* username[65] and numbers + 130 */
			STR_FMT_KNOWN(body,
				      "L'utenza %s non e' stata usata da oltre %d giorni: sara' "
				      "disattivata tra %d giorni se non verra' usata.\n",
				      a->username, cfg->review_unused_days,
				      cfg->review_notice_days);
			if (a->email[0])
				auth_mail_queue(s, a->email, "visura: utenza inutilizzata", body, "notice",
						now, NULL);
			auth_event(s, now, "unused_notice", a, NULL, NULL, "");
		} else if (now - notice >= (int64_t)cfg->review_notice_days * DAY) {
			if (auth_account_disable(s, a, "unused", now, NULL) == VIS_OK) {
				auth_event(s, now, "account_disabled", a, NULL, NULL, "inutilizzata dopo l'avviso");
				(*disabled)++;
			}
		}
	}
	return VIS_OK;
}

static int unused_accounts(struct store *s, const struct config *cfg, int64_t now)
{
	static _Thread_local struct unused u;
	int disabled = 0;
	struct store_filter active[] = {{"state", "active", 0}, {NULL, NULL, 0}};
	for (int64_t cursor = 0;;) {
		memset(&u, 0, sizeof u);
		u.cfg = cfg;
		u.now = now;
		struct vis_error e = {0};
		if (store_rec_page(s, STORE_ACCOUNT, active, cursor, SWEEP_PAGE, collect_unused, &u,
				   &e)) {
			log_error("utenze inutilizzate non lette", "error=\"%s\"", e.msg);
			break;
		}
		if (unused_page(s, cfg, &u, &disabled) || u.seen < SWEEP_PAGE)
			break;
		cursor = u.last_id;
	}
	return disabled;
}

/* One page of the credentials' sweep: the expired disabled, the leads
 * whose renewal opens reminded. */
static void maint_page(struct store *s, struct maint *m, struct vis_error *e)
{
	int64_t now = m->now;
	for (int i = 0; i < m->ndue; i++) {
		struct store_account *a = &m->due[i];
		if (a->expires_at <= now) {
			if (auth_account_disable(s, a, "expired", now, e) == VIS_OK) {
				auth_event(s, now, "credentials_expired", a, NULL, NULL,
					   "disabilitata automaticamente alla scadenza delle credenziali");
				m->disabled++;
			}
			continue;
		}
		char end[11], body[1024];
		date_format(date_from_days(a->expires_at / DAY), end);
		char subject[200];
		/* a date of 10 bytes */
		STR_FMT_KNOWN(subject, "visura: rinnovo delle credenziali entro il %s", end);
		/* username[65] and a date + 230 */
		STR_FMT_KNOWN(body,
			      "Le credenziali dell'ente (responsabile %s) scadono il %s.\n"
			      "Il responsabile deve confermare l'elenco aggiornato degli "
			      "incaricati e le finalita' entro quella data, altrimenti le "
			      "credenziali saranno disattivate.\n",
			      a->username, end);
		/* the reminder is marked sent first: one whose mark cannot be
		 * written is not sent (it would go again at every run) */
		const struct store_account was = *a;
		a->reminded_at = now;
		struct vis_error ue = {0};
		if (store_account_update(s, &was, a, &ue)) {
			log_error("promemoria di rinnovo non segnato: non inviato",
				  "account=%lld error=\"%s\"", (long long)a->id, ue.msg);
			continue;
		}
		struct vis_error me = {0};
		if (a->email[0] && auth_mail_queue(s, a->email, subject, body, "reminder", now, &me))
			log_error("promemoria di rinnovo segnato, non accodato",
				  "account=%lld error=\"%s\"", (long long)a->id, me.msg);
		struct store_filter f[] = {{"role", "admin", 0}, {NULL, NULL, 0}};
		auth_mail_accounts(s, f, subject, body, "reminder", now, "promemoria di rinnovo",
				   NULL);
		auth_event(s, now, "renewal_reminder", a, NULL, NULL, end);
	}
}

int auth_maintenance(struct store *s, const struct config *cfg, int64_t now,
		     struct vis_error *e)
{
	static _Thread_local struct maint m;
	struct store_filter active[] = {{"state", "active", 0}, {NULL, NULL, 0}};
	int disabled = 0;
	for (int64_t cursor = 0;;) {
		memset(&m, 0, sizeof m);   /* 256 accounts: not a temporary on the stack */
		m.s = s;
		m.cfg = cfg;
		m.now = now;
		if (store_rec_page(s, STORE_ACCOUNT, active, cursor, SWEEP_PAGE, collect, &m, e))
			return -1;
		maint_page(s, &m, e);
		disabled += m.disabled;
		if (m.seen < SWEEP_PAGE)
			break;
		cursor = m.last_id;
	}
	disabled += unused_accounts(s, cfg, now);
	auth_retention_purge(s, cfg, now, NULL);
	return disabled;
}

/* ---- retention ---- */

int64_t auth_retention_purge(struct store *s, const struct config *cfg, int64_t now,
			     struct vis_error *e)
{
	int64_t before[STORE_PURGE_N], removed[STORE_PURGE_N] = {0};
	before[STORE_PURGE_SECURITY] = now - (int64_t)cfg->security_log_days * DAY;
	before[STORE_PURGE_SESSIONS] = now - (int64_t)cfg->session_keep_days * DAY;
	/* A quiet day forgives (throttle_bump): such a row says nothing more. */
	before[STORE_PURGE_THROTTLE] = now - DAY;
	before[STORE_PURGE_MAIL] = now - (int64_t)cfg->mail_keep_days * DAY;
	/* A citizen's code (a codice fiscale, who issued it, when it was
	 * used) is kept as long as the security event of its issue. */
	before[STORE_PURGE_SUBJECT_CODES] = now - (int64_t)cfg->security_log_days * DAY;
	/* A PDND token's id is kept until the token expires (pdnd.c). */
	before[STORE_PURGE_PDND_JTI] = now;
	if (store_control_purge(s, before, now, removed, e))
		return -1;
	int64_t n = 0;
	for (int i = 0; i < STORE_PURGE_N; i++)
		n += removed[i];
	return n;
}
