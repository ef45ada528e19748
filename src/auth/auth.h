/* auth — accounts, credentials and sessions: the rules of the credential
 * lifecycle, login throttling, browser sessions, API tokens and the record
 * of security events.
 *
 * Owns: every decision about whether a credential is usable right now.
 * Callers (HTTP gate, CLI) ask here and act on the answer; they never
 * compare dates or hashes themselves.  Functions take the store and the
 * current time explicitly, so tests can move the clock. */
#ifndef VISURA_AUTH_AUTH_H
#define VISURA_AUTH_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"
#include "store/store.h"

#define AUTH_TOKEN_CHARS 44     /* base64url of 32 random bytes, NUL excluded */
#define AUTH_TOKEN_MAX 64

/* What an account may do right now, most restrictive first. */
enum account_standing {
	STANDING_OK,
	STANDING_DISABLED,             /* disabled by a person or by expiry */
	STANDING_CREDENTIALS_EXPIRED,  /* past the 12-month validity */
	STANDING_TEMP_EXPIRED,         /* temporary password older than allowed */
	STANDING_MUST_CHANGE,          /* temporary or too old: change it first */
};

enum account_standing auth_standing(const struct config *cfg,
				    const struct store_account *a, int64_t now);
const char *auth_standing_code(enum account_standing s);
const char *auth_standing_message(enum account_standing s);

/* True when roles that must use TOTP include a's role, or when that setting
 * cannot be read (fails closed). */
bool auth_totp_required(struct store *s, const struct store_account *a);

/* The SPID level an account must log in with (2 or 3; the higher of the
 * account's mark and its body's, at least oidc_level), or 0 when neither
 * is marked "SPID/CIE required" (then passwords are accepted).  A mark
 * that cannot be read counts as level 2 (fails closed). */
int auth_spid_level(struct store *s, const struct config *cfg, const struct store_account *a);
/* Marks (level 2 or 3) or unmarks (0) an account ("account") or a body
 * ("ente") as SPID/CIE required. */
vis_err auth_spid_mark(struct store *s, const char *what, int64_t id, int level,
		       struct vis_error *e);

/* Records a security event (login, lockout, password change, disable...).
 * Without an account (a == NULL: unauthenticated traffic), events of one
 * kind from one address within AUTH_COALESCE_SECONDS share one row whose
 * detail ends with " [repeated=N last=TIME]". */
void auth_event(struct store *s, int64_t now, const char *kind,
		const struct store_account *a, const char *username, const char *ip,
		const char *detail);

/* ---- login throttling (per account name and per source address) ---- */

/* Seconds until a login may be attempted for this name from this address
 * (0 = now); AUTH_THROTTLE_UNKNOWN when the counters cannot be read: the
 * caller refuses (503), never takes it for "no wait". */
#define AUTH_THROTTLE_UNKNOWN (-1)
int64_t auth_throttle_wait(struct store *s, const struct config *cfg,
			   const char *username, const char *ip, int64_t now);
/* A password check counted before it is made, so that a check whose
 * failure could not be counted is never made (the counters failing open
 * let a guesser try without end): one failure more for the name and for
 * the address, taken back by auth_throttle_passed when the password was
 * right.  An error: refuse the attempt (503) without checking it. */
struct auth_attempt {
	char key[2][128];   /* the name's, the address's */
	int64_t set[2];     /* the lock the count wrote (0: none) */
	int64_t was[2];     /* the lock before it */
	bool locked;        /* the count started a lockout */
	bool counted;
};
vis_err auth_throttle_attempt(struct store *s, const struct config *cfg, const char *username,
			      const char *ip, int64_t now, struct auth_attempt *at,
			      struct vis_error *e);
void auth_throttle_passed(struct store *s, struct auth_attempt *at);
/* A login that passed every check (its password, its second factor's code,
 * both under the one count): the name's failures forgiven, the address's
 * count of this attempt taken back.  Idempotent with auth_throttle_passed:
 * either clears at->counted. */
void auth_throttle_succeeded(struct store *s, struct auth_attempt *at, int64_t now);
/* Counts a failure after the fact (a citizen's code, a receipt: guesses
 * whose space is a code or a signature); returns true when it started a
 * lockout. */
bool auth_throttle_fail(struct store *s, const struct config *cfg,
			const char *username, const char *ip, int64_t now);
/* The address alone, for what names no account (a SPID/CIE callback
 * before the provider has answered): its wait, and a failure counted
 * with the failed logins from that address (ip_lock_failures). */
int64_t auth_throttle_ip_wait(struct store *s, const char *ip, int64_t now);
bool auth_throttle_ip_fail(struct store *s, const struct config *cfg, const char *ip,
			   int64_t now);

/* ---- credentials ---- */

/* Sets a new temporary password (generated; written into `out`), valid for
 * the first access only and for temp_password_days. */
vis_err auth_password_temporary(struct store *s, const struct config *cfg,
				struct store_account *a, int64_t now, char *out,
				size_t cap, struct vis_error *e);

/* Changes the password after checking the policy; on a policy violation
 * returns VIS_ERR_INVALID with the rule in e. */
vis_err auth_password_change(struct store *s, struct store_account *a,
			     const char *new_password, int64_t now,
			     struct vis_error *e);

/* Why an account was disabled, as stored in account.disabled_reason and
 * shown to the admins (at most 63 bytes).  "expired" and "unused" are codes
 * the server itself reads (renewal, the unused-account sweep) and stay as
 * they are; these are sentences. */
#define AUTH_REASON_BY_ADMIN "disattivata dall'amministratore"
#define AUTH_REASON_BY_ADMIN_CLI "disattivata dall'amministratore (riga di comando)"
#define AUTH_REASON_BY_LEAD "disattivata dal referente dell'ente"
#define AUTH_REASON_NOT_RENEWED "non confermata al rinnovo annuale"
#define AUTH_REASON_AGREEMENT_REVOKED "convenzione revocata in sede di revisione"
/* Suspended by the alert tracker: dismissing the alert enables the account
 * again (src/api/reports.c), so this one is also compared; databases written
 * before it was Italian hold AUTH_REASON_SUSPENDED_BY_ALERT_LEGACY for the
 * same suspension, and that must still re-enable. */
#define AUTH_REASON_SUSPENDED_BY_ALERT "sospesa da una segnalazione"
#define AUTH_REASON_SUSPENDED_BY_ALERT_LEGACY "suspended by alert"

/* Disables an account, ends its sessions and tokens at once. */
vis_err auth_account_disable(struct store *s, struct store_account *a,
			     const char *reason, int64_t now, struct vis_error *e);

/* Extends the credential validity by credential_months from now.  An
 * account disabled only because its credentials expired (reason
 * "expired") is active again: the renewal removes the cause.  One disabled
 * for another reason (by an admin, by an alert) stays disabled. */
vis_err auth_account_renew(struct store *s, const struct config *cfg,
			   struct store_account *a, int64_t now, struct vis_error *e);

/* Enables an account again: active, the reason cleared; credentials that
 * have expired are renewed too, so that the account can be used at once. */
vis_err auth_account_enable(struct store *s, const struct config *cfg,
			    struct store_account *a, int64_t now, struct vis_error *e);

/* Removes the account's second factor (enrolled again at the next login
 * when its role requires one). */
vis_err auth_account_totp_reset(struct store *s, struct store_account *a, struct vis_error *e);

/* Creates an account with a temporary password written into `password`. */
vis_err auth_account_create(struct store *s, const struct config *cfg,
			    struct store_account *a, int64_t now, char *password,
			    size_t cap, struct vis_error *e);

/* ---- sessions and tokens ---- */

/* A new browser session: the cookie value and the CSRF token go to the
 * caller; only the token's hash is stored.  An account holds at most
 * cfg->max_sessions live sessions: the oldest beyond them end (a
 * `session_ended` security event each). */
vis_err auth_session_create(struct store *s, const struct config *cfg,
			    const struct store_account *a, const char *ip, int64_t now,
			    char token[AUTH_TOKEN_MAX], struct store_session *out,
			    struct vis_error *e);

/* Finds a live session for a cookie value: not revoked, not idle longer
 * than allowed, not past its absolute end.  Touches last_seen_at (at most
 * once a minute, to spare the database).  When *found is false, out is
 * the session that was revoked (revoked_at != 0, so the caller can say
 * why it ended) or all zeros. */
vis_err auth_session_find(struct store *s, const struct config *cfg, const char *token,
			  int64_t now, struct store_session *out, bool *found,
			  struct vis_error *e);

vis_err auth_session_revoke(struct store *s, struct store_session *sess, int64_t now,
			    struct vis_error *e);

/* True while a session may be used: not revoked, not past its absolute
 * end, not idle longer than session_idle_minutes. */
bool auth_session_live(const struct config *cfg, const struct store_session *sess, int64_t now);

/* The live sessions of an account, newest first, to fn (which gets a
 * const struct store_session *; non-zero stops). */
vis_err auth_sessions_each(struct store *s, const struct config *cfg, int64_t account_id,
			   int64_t now, store_rec_fn fn, void *ctx, struct vis_error *e);

/* A new API token for an account: the value goes to the caller once. */
vis_err auth_token_create(struct store *s, const struct store_account *a,
			  const char *name, int64_t now, char token[AUTH_TOKEN_MAX],
			  int64_t *id, struct vis_error *e);
vis_err auth_token_find(struct store *s, const char *token, int64_t now,
			struct store_token *out, bool *found, struct vis_error *e);

/* Hex SHA-256 of a secret token (what the store keeps). */
void auth_token_hash(const char *token, char out[65]);

/* Constant-time string equality. */
bool auth_equal(const char *a, const char *b);

/* ---- periodic duties ---- */

/* Disables accounts past their credential end and queues renewal reminders
 * to leads (and admins) when renewal opens.  Returns how many accounts it
 * disabled. */
int auth_maintenance(struct store *s, const struct config *cfg, int64_t now,
		     struct vis_error *e);

/* Deletes what retention lets go: security events older than
 * security_log_days, sessions ended more than session_keep_days ago,
 * throttle rows quiet for a day, outbox messages queued more than
 * mail_keep_days ago, citizens' one-time codes expired more than
 * security_log_days ago.  Run by auth_maintenance (every periodic
 * tick, on the instance holding the duties lease).  Returns the rows
 * deleted, or -1. */
int64_t auth_retention_purge(struct store *s, const struct config *cfg, int64_t now,
			     struct vis_error *e);

/* Unauthenticated events of one kind from one address within this period
 * are one row, with a count (auth_event). */
#define AUTH_COALESCE_SECONDS 600

/* Queues a message in the outbox. */
vis_err auth_mail_queue(struct store *s, const char *recipient, const char *subject,
			const char *body, const char *kind, int64_t now,
			struct vis_error *e);
/* The same message to every active account the filters name that has an
 * address, however many (queued as they are listed).  A failed list or
 * queueing is logged with `what` and is an error: the others are queued. */
vis_err auth_mail_accounts(struct store *s, const struct store_filter *filters,
			   const char *subject, const char *body, const char *kind, int64_t now,
			   const char *what, struct vis_error *e);

#endif
