#include "common/config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/csv.h"
#include "hooks/hooks.h"

/* Built-in defaults that depend on where the build installs (CMakeLists.txt,
 * VISURA_LAYOUT): the source tree, or the system's paths. */
#ifndef VISURA_DB_DEFAULT
#define VISURA_DB_DEFAULT "visura.db"
#endif

enum opt_type { OPT_STR, OPT_INT, OPT_BOOL };

struct option_row {
	const char *name;
	enum opt_type type;
	size_t offset;
	size_t size;        /* OPT_STR: buffer size */
	long min, max;      /* OPT_INT bounds */
	const char *def;
	const char *help;
};

#define STR(f, d, h) {#f, OPT_STR, offsetof(struct config, f), sizeof(((struct config *)0)->f), 0, 0, d, h}
#define INT(f, lo, hi, d, h) {#f, OPT_INT, offsetof(struct config, f), 0, lo, hi, d, h}
#define BOOL(f, d, h) {#f, OPT_BOOL, offsetof(struct config, f), 0, 0, 1, d, h}

static const struct option_row rows[] = {
	STR(listen, "127.0.0.1:8443", "address:port of the HTTPS listener (IPv4 or [IPv6])"),
	STR(user, "", "started as root: the user to become once ports are bound and keys and certificates read (required as root; docs/deployment.md)"),
	STR(metrics_listen, "127.0.0.1:9464", "plain-HTTP listener for /metrics, /healthz, /readyz (keep it on loopback or a management network; empty: off)"),
	STR(db, VISURA_DB_DEFAULT, "database: sqlite:PATH, a path, or postgres:CONNINFO (docs/deployment.md)"),
	STR(shared_db, "", "PostgreSQL: the companion database of the same server holding the state the instances rewrite on every look-up (rate limits, anti-extraction counters), postgres:CONNINFO; empty: in the database itself (docs/deployment.md)"),
	STR(tls_cert, "", "PEM certificate chain file"),
	STR(tls_key, "", "PEM private key file"),
	STR(client_ca, "", "CA certificate of workstation certificates (empty: the database file + .ca-cert.pem, PostgreSQL: $VISURA_STATE_DIR/visura-DBNAME.ca-cert.pem, when it exists)"),
	STR(log_file, "", "log file (empty: stderr); reopened on SIGHUP"),
	STR(signing_key, "", "Ed25519 key signing receipts, checkpoints and exports (empty: the database file + .signing-key; PostgreSQL: $VISURA_STATE_DIR/visura-DBNAME.signing-key)"),
	STR(trail_origin, "", "the name of this deployment's access trail, the first line of every signed tree head (printable ASCII without spaces, e.g. anagrafe.comune.example/visura; empty: visura/ and the first 16 hex digits of the signing key's public half)"),
	STR(trail_heads_file, "", "a file, on another disk or mount, every signed tree head is appended to once committed (empty: none); keep it: `visura audit verify --head FILE` proves the trail extends it"),
	STR(trail_witnesses, "", "witnesses that cosign this deployment's signed tree heads, separated by ';', each 'NAME URL PUBKEYFILE': the witness's key name, its https address (POST URL/add-checkpoint), a file holding its public key (visura witness keygen); empty: none (docs/audit.md, Witnesses)"),
	STR(trail_witness_ca, "", "PEM file of the certificates (or their CAs) trusted for the witnesses' HTTPS (empty: the system's CAs)"),
	INT(trail_publish_grace, 0, 604800, "600", "seconds a signed tree head may stay unpublished (not appended to trail_heads_file, or not cosigned by every witness of trail_witnesses) before personal-data requests are refused with 503 trail_unpublished, until it is (0: never refuse, only /readyz and the log say so); nothing is required of what is not configured"),
	STR(secrets_key, "", "key sealing TOTP secrets and queued temporary passwords in the database (empty: the database file + .secrets-key; PostgreSQL: $VISURA_STATE_DIR/visura-DBNAME.secrets-key)"),
	STR(trusted_proxies, "", "reverse proxies (CIDR list) whose client_ip_header is believed"),
	STR(client_ip_header, "X-Forwarded-For", "header a trusted proxy puts the client address in (right-most entry used)"),
	STR(smtp_url, "", "SMTP relay: smtps://host:port, or smtp://host:port with STARTTLS required; empty: mail stays in the outbox"),
	BOOL(smtp_plain_loopback, "false", "the relay is on this host (smtp://127.0.0.1...): plain SMTP allowed, and only to a loopback address"),
	STR(smtp_from, "visura@localhost", "sender address of outgoing mail"),
	STR(public_url, "", "the address users reach the service at (used in mail)"),
	STR(print_heading, "Servizio anagrafico", "the heading of the printed visura and of the public verification page /verifica: the municipality's (or the union's) name as it heads its documents, e.g. Comune di Valdoria"),
	STR(print_crest, "", "the crest printed beside print_heading: a PNG or SVG file of at most 256 KiB, read at start (empty: visura's neutral emblem, the arms of no municipality)"),
	STR(help_desk_contact, "", "the help desk's contacts shown on the interface's help page (telephone, e-mail, office)"),
	STR(help_desk_hours, "lunedì-venerdì 8:00-14:00", "the help desk's hours shown on the help page"),
	STR(accessibility_url, "", "https address of the accessibility statement, linked from the help page"),
	STR(privacy_url, "", "https address of the privacy notice, linked from the help page"),
	STR(ui_dir, VISURA_UI_DIR, "directory of the browser interface (index.html and its assets), read at start; empty: no interface"),
	STR(pdnd_jwks, "", "PDND vouchers: a JWKS file of PDND's public keys (empty: no voucher accepted, unless pdnd_jwks_url); read at start, on SIGHUP, and again when a voucher names a key (kid) it does not hold and the file changed (docs/pdnd.md)"),
	STR(pdnd_jwks_url, "", "PDND vouchers: the address of PDND's public keys (JWKS), instead of pdnd_jwks: https (plain http only to loopback); fetched after start, every pdnd_jwks_refresh seconds, on SIGHUP, and when a voucher names a key (kid) not held, at most once every jwks_unknown_kid_interval seconds; a failed fetch or a bad document keeps the keys held (docs/pdnd.md)"),
	STR(pdnd_jwks_ca_file, "", "PDND vouchers: CA certificates for pdnd_jwks_url's https (empty: the system's)"),
	INT(pdnd_jwks_refresh, 60, 86400, "3600", "PDND vouchers: seconds between two fetches of pdnd_jwks_url (default one hour; after a failed fetch, jwks_unknown_kid_interval)"),
	STR(pdnd_issuer, "", "PDND vouchers: the issuer (iss) they must carry, as PDND's documentation gives it for the environment (required with pdnd_jwks or pdnd_jwks_url)"),
	STR(pdnd_audience, "", "PDND vouchers: this e-service's audience (aud), as registered on PDND (required with pdnd_jwks or pdnd_jwks_url)"),
	INT(pdnd_clock_skew, 0, 300, "60", "PDND vouchers: seconds of clock difference tolerated on exp, nbf and iat"),
	INT(pdnd_token_max_bytes, 512, 16384, "4096", "PDND vouchers: the longest voucher accepted, bytes"),
	STR(pdnd_signing_key, "", "PDND calls, INTEGRITY_REST_02: the deployment's signing key (an EC P-256 private JWK made by visura pdnd keygen); with it, a PDND call with a body must carry Digest and Agid-JWT-Signature, every answer to a PDND call carries both, and /.well-known/jwks.json publishes the public key (empty: the pattern is not offered)"),
	INT(pdnd_daily_calls_per_consumer, 0, 1000000000, "0", "PDND calls: the e-service's dailyCallsPerConsumer, calls a day (Italian calendar day) from one body, on every instance; beyond it 429 until midnight (0: no such quota, only the agreements' own limits)"),
	INT(pdnd_daily_calls_total, 0, 1000000000, "0", "PDND calls: the e-service's dailyCallsTotal, calls a day (Italian calendar day) from all bodies together, on every instance; beyond it 429 until midnight (0: no such quota)"),
	STR(oidc_issuer, "", "SPID/CIE login (OpenID Connect): the provider's issuer, its entity id in the federation (empty: no SPID/CIE login; docs/spid-cie.md)"),
	STR(oidc_authorization_endpoint, "", "SPID/CIE login: the provider's authorization endpoint (https, or http on loopback)"),
	STR(oidc_token_endpoint, "", "SPID/CIE login: the provider's token endpoint"),
	STR(oidc_userinfo_endpoint, "", "SPID/CIE login: the provider's userinfo endpoint"),
	STR(oidc_jwks, "", "SPID/CIE login: a JWKS file of the provider's public signing keys; read at start, on SIGHUP, and again when a token names a key (kid) not held and the file changed"),
	STR(oidc_jwks_url, "", "SPID/CIE login: the address of the provider's public signing keys (JWKS), instead of oidc_jwks: https (plain http only to loopback), CAs of oidc_ca_file; fetched after start, every oidc_jwks_refresh seconds, on SIGHUP, and when a token names a key (kid) not held, at most once every jwks_unknown_kid_interval seconds; a failed fetch or a bad document keeps the keys held"),
	INT(oidc_jwks_refresh, 60, 86400, "3600", "SPID/CIE login: seconds between two fetches of oidc_jwks_url (default one hour; after a failed fetch, jwks_unknown_kid_interval)"),
	INT(jwks_unknown_kid_interval, 1, 3600, "60", "PDND vouchers and SPID/CIE login: seconds at least between two fetches of a JWKS address (pdnd_jwks_url, oidc_jwks_url) asked by a key (kid) not held, so that forged kids cannot make visura hammer the publisher; also the wait before a failed fetch is tried again"),
	STR(oidc_client_id, "", "SPID/CIE login: this relying party's client_id as registered"),
	STR(oidc_redirect_uri, "", "SPID/CIE login: the redirect URI as registered (https://HOST/api/v1/auth/spid/callback)"),
	STR(oidc_key, "", "SPID/CIE login: the relying party's private key (a JWK, made at the first start when missing; empty: beside the database, .oidc-key)"),
	STR(oidc_enc_key, "", "SPID/CIE login: the relying party's private RSA key for the encrypted userinfo (a JWK, 4096 bits, made at the first start when missing; empty: beside the database, .oidc-enc-key)"),
	STR(oidc_ca_file, "", "SPID/CIE login: CA certificates for the provider's endpoints (empty: the system's)"),
	STR(oidc_log_dir, "", "SPID/CIE login: the directory of the transaction log (empty: beside the database, .oidc-log)"),
	INT(oidc_level, 2, 3, "2", "SPID/CIE login: the lowest SPID level accepted (2 or 3); a body may ask for more"),
	INT(oidc_clock_skew, 0, 300, "60", "SPID/CIE login: seconds of clock difference tolerated on exp and iat"),
	INT(oidc_log_days, 1, 3650, "730", "SPID/CIE login: days the transaction log is kept"),
	STR(oidc_federation_key, "", "SPID/CIE federation: the relying party's federation key, which signs its entity configuration (a JWK, made at the first start when missing; empty: beside the database, .oidc-federation-key)"),
	STR(oidc_trust_anchor, "", "SPID/CIE federation: the trust anchor's entity id; when set, the provider's endpoints and keys come from its trust chain (empty: configured by hand)"),
	STR(oidc_trust_anchor_jwks, "", "SPID/CIE federation: a JWKS file of the trust anchor's federation public keys; read again on SIGHUP, and when a statement names a key (kid) not held and the file has changed since it was read (a rotation needs no restart; an unknown kid alone never rereads it); a bad document keeps the keys held"),
	STR(oidc_authority_hints, "", "SPID/CIE federation: the relying party's superiors (entity ids, comma-separated) in its entity configuration"),
	STR(oidc_organization_name, "", "SPID/CIE federation: the organization's name in the relying party's metadata"),
	STR(oidc_contacts, "", "SPID/CIE federation: contact e-mail addresses in the relying party's metadata (comma-separated)"),
	STR(oidc_op_trust_marks, "", "SPID/CIE federation: the trust mark ids the provider must hold (comma-separated; each a JWT signed by the trust anchor or an issuer it lists for that id), or none to require none; required with oidc_trust_anchor"),
	STR(oidc_trust_marks, "", "SPID/CIE federation: a file with the relying party's trust marks (a JSON array of {id, trust_mark}); empty: none"),
	INT(oidc_entity_lifetime, 300, 2592000, "86400", "SPID/CIE federation: seconds the entity configuration is valid (its exp)"),
	INT(threads, 1, 64, "2", "worker threads"),
	INT(max_connections, 1, 100000, "1024", "open connections at most"),
	INT(per_ip_connections, 1, 10000, "64", "open connections from one address at most"),
	INT(connection_timeout, 1, 3600, "30", "seconds of inactivity before a connection is closed"),
	INT(max_body_kb, 1, 1048576, "256", "largest request body accepted, KiB"),
	INT(max_import_mb, 1, 4096, "256", "largest daily file pushed to POST /api/v1/imports, MiB (streamed to a temporary file beside the database)"),
	INT(max_uploads_mb, 1, 1048576, "1024", "all pushed files being received at once, MiB at most (their temporary files); beyond it 503"),
	INT(feed_deadline_hours, 1, 720, "30", "a municipality whose last daily file is older than this is overdue (alert)"),
	INT(session_idle_minutes, 1, 1440, "15", "a browser session ends after this much inactivity"),
	INT(session_absolute_hours, 1, 72, "8", "a browser session ends this long after login"),
	INT(max_sessions, 1, 100, "3", "live browser sessions one account may hold; a new login ends the oldest beyond them"),
	INT(login_lock_failures, 3, 100, "5", "failed logins of one account before a temporary lockout"),
	INT(login_lock_minutes, 1, 1440, "15", "the longest lockout"),
	INT(ip_lock_failures, 5, 10000, "20", "failed logins from one address before a temporary lockout"),
	INT(temp_password_days, 1, 30, "7", "a temporary password is valid this many days"),
	INT(password_max_age_days, 30, 366, "182", "a password must be changed after this many days"),
	INT(credential_months, 1, 12, "12", "credentials last this many months from issue or renewal"),
	INT(renewal_window_days, 1, 120, "60", "renewal opens this many days before expiry"),
	INT(alert_persons_hour, 1, 100000000, "100", "alert: distinct persons one account consults within an hour"),
	INT(alert_persons_hard, 1, 100000000, "300", "suspend the account at this many distinct persons within an hour"),
	INT(alert_sequential, 2, 64, "5", "alert: look-ups within an hour of distinct codici fiscali sharing their first 11 characters"),
	INT(alert_no_results_pct, 1, 100, "80", "alert: share of look-ups (searches, requests by codice fiscale) with no result in an hour (from 20)"),
	INT(alert_repeat_no_case, 2, 16, "5", "alert: one person consulted this often in a day without a case reference"),
	INT(alert_refused_hour, 1, 1000000, "5", "alert: refused attempts of one account within an hour"),
	INT(alert_addresses, 2, 4, "3", "alert: addresses one account is used from within 10 minutes"),
	INT(review_unused_days, 1, 3650, "182", "accounts unused this many days are flagged, and their holders noticed"),
	INT(review_notice_days, 1, 365, "30", "an unused account is disabled this many days after its notice"),
	INT(citizen_notice_minutes, 60, 10080, "60", "citizens' e-mail notices of new consultations (docs/spid-cie.md): one message per citizen at most every this many minutes, from 60 (an hour) to 10080 (a week); the consultations of the interval are counted in one message"),
	INT(embargo_days, 0, 3650, "365", "days a police or judicial consultation stays out of the citizen's report"),
	INT(retention_months, 1, 240, "24", "months the access trail is kept (visura audit purge)"),
	INT(stats_threshold_min, 2, 1000, "3", "statistics: the smallest threshold of small-cell suppression a request may ask (API and visura stats)"),
	INT(security_log_days, 183, 3650, "365", "days security events (logins, lockouts, account changes) are kept, then deleted; at least 183: six months, the Garante's minimum for administrators' access logs"),
	INT(session_keep_days, 1, 365, "30", "days an ended session (idle, expired, logged out) is kept, then deleted"),
	BOOL(test_clock, "false", "TEST ONLY: lets a client move the server's clock (only the test binary visura-test accepts true)"),
};

#define NROWS (sizeof rows / sizeof rows[0])

static const struct option_row *find(const char *name)
{
	for (size_t i = 0; i < NROWS; i++)
		if (!strcmp(rows[i].name, name))
			return &rows[i];
	return NULL;
}

bool config_has(const char *name)
{
	return find(name) != NULL;
}

/* An address the interface may link to: empty, or https:// and nothing
 * a link could be made to run (no space, quote or angle bracket). */
static bool link_ok(const char *u)
{
	if (!*u)
		return true;
	if (strncmp(u, "https://", 8) || !u[8])
		return false;
	for (const char *p = u; *p; p++)
		if ((unsigned char)*p <= ' ' || strchr("\"'<>\\`", *p))
			return false;
	return true;
}

/* The segments of the path of a URL ("https://h/a/b/" → 2). */
static int oidc_path_segments(const char *url)
{
	const char *sep = strstr(url, "://");
	const char *p = sep ? strchr(sep + 3, '/') : NULL;
	int n = 0;
	for (; p && *p && *p != '?' && *p != '#'; p++)
		if (*p == '/' && p[1] && p[1] != '/' && p[1] != '?' && p[1] != '#')
			n++;
	return n;
}

vis_err config_check(const struct config *c, struct vis_error *e)
{
	if (c->shared_db[0] && (strncmp(c->db, "postgres", 8) || strncmp(c->shared_db, "postgres", 8)))
		return vis_error_set(e, VIS_ERR_INVALID,
				     "shared_db: a PostgreSQL database (postgres:CONNINFO) beside a "
				     "PostgreSQL db");
	if (!link_ok(c->accessibility_url) || !link_ok(c->privacy_url))
		return vis_error_set(e, VIS_ERR_INVALID, "accessibility_url and privacy_url must be "
				     "empty or an https:// address");
	bool pdnd = c->pdnd_jwks[0] || c->pdnd_jwks_url[0];
	if (c->pdnd_jwks[0] && c->pdnd_jwks_url[0])
		return vis_error_set(e, VIS_ERR_INVALID,
				     "pdnd_jwks and pdnd_jwks_url: PDND's keys from a file or an "
				     "address, not both");
	if (pdnd && (!c->pdnd_issuer[0] || !c->pdnd_audience[0]))
		return vis_error_set(e, VIS_ERR_INVALID,
				     "pdnd_jwks (or pdnd_jwks_url) needs pdnd_issuer and pdnd_audience: "
				     "a voucher is checked against both");
	if (c->pdnd_signing_key[0] && !pdnd)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "pdnd_signing_key signs answers to PDND calls: it needs pdnd_jwks "
				     "or pdnd_jwks_url");
	if (c->oidc_jwks[0] && c->oidc_jwks_url[0])
		return vis_error_set(e, VIS_ERR_INVALID,
				     "oidc_jwks and oidc_jwks_url: the provider's keys from a file or "
				     "an address, not both");
	if (c->oidc_issuer[0] && (!c->oidc_client_id[0] || !c->oidc_redirect_uri[0]))
		return vis_error_set(e, VIS_ERR_INVALID,
				     "oidc_issuer needs oidc_client_id and oidc_redirect_uri");
	if (c->oidc_issuer[0] && oidc_path_segments(c->oidc_client_id) > 3)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "oidc_client_id: a path of at most three segments (the entity "
				     "configuration is served at that path + "
				     "/.well-known/openid-federation)");
	if (c->oidc_issuer[0] && !c->oidc_trust_anchor[0] &&
	    (!c->oidc_authorization_endpoint[0] || !c->oidc_token_endpoint[0] ||
	     !c->oidc_userinfo_endpoint[0] || (!c->oidc_jwks[0] && !c->oidc_jwks_url[0])))
		return vis_error_set(e, VIS_ERR_INVALID,
				     "oidc_issuer without oidc_trust_anchor needs oidc_authorization_endpoint, "
				     "oidc_token_endpoint, oidc_userinfo_endpoint and oidc_jwks (or "
				     "oidc_jwks_url)");
	if (c->oidc_trust_anchor[0] &&
	    (!c->oidc_issuer[0] || !c->oidc_trust_anchor_jwks[0] ||
	     c->oidc_authorization_endpoint[0] || c->oidc_token_endpoint[0] ||
	     c->oidc_userinfo_endpoint[0] || c->oidc_jwks[0] || c->oidc_jwks_url[0]))
		return vis_error_set(e, VIS_ERR_INVALID,
				     "oidc_trust_anchor needs oidc_issuer (the provider's entity id) and "
				     "oidc_trust_anchor_jwks; the provider's endpoints and keys then come "
				     "from the trust chain: leave oidc_*_endpoint, oidc_jwks and "
				     "oidc_jwks_url empty");
	if (c->oidc_trust_anchor[0] && !c->oidc_op_trust_marks[0])
		return vis_error_set(e, VIS_ERR_INVALID,
				     "oidc_trust_anchor needs oidc_op_trust_marks: the trust mark ids "
				     "the provider must hold (the profile requires them), or none");
	if (c->max_uploads_mb < c->max_import_mb)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "max_uploads_mb (%d) must be at least max_import_mb (%d): "
				     "a file of the largest size could never be received",
				     c->max_uploads_mb, c->max_import_mb);
	return VIS_OK;
}

static vis_err apply(struct config *c, const struct option_row *r, const char *value,
		     struct vis_error *e)
{
	char *field = (char *)c + r->offset;
	switch (r->type) {
	case OPT_STR:
		if (strlen(value) >= r->size)
			return vis_error_set(e, VIS_ERR_INVALID, "%s: value too long", r->name);
		strcpy(field, value);
		return VIS_OK;
	case OPT_INT: {
		char *end;
		long v = strtol(value, &end, 10);
		if (!*value || *end || v < r->min || v > r->max)
			return vis_error_set(e, VIS_ERR_INVALID, "%s: must be a whole number from %ld to %ld",
					     r->name, r->min, r->max);
		*(int *)field = (int)v;
		return VIS_OK;
	}
	case OPT_BOOL:
		if (!strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "1"))
			*(bool *)field = true;
		else if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "0"))
			*(bool *)field = false;
		else
			return vis_error_set(e, VIS_ERR_INVALID, "%s: must be true or false", r->name);
		return VIS_OK;
	}
	return VIS_ERR_INTERNAL;
}

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < NROWS; i++)
		apply(c, &rows[i], rows[i].def, NULL);
}

vis_err config_set(struct config *c, const char *name, const char *value,
		   struct vis_error *e)
{
	const struct option_row *r = find(name);
	if (!r)
		return vis_error_set(e, VIS_ERR_INVALID, "unknown option '%s'", name);
	vis_err rc = apply(c, r, value, e);
	if (rc == VIS_OK && c->test_clock && !hooks_enabled()) {
		c->test_clock = false;
		return vis_error_set(e, VIS_ERR_INVALID,
				     "test_clock: this binary has no test hooks (only visura-test has)");
	}
	return rc;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

vis_err config_load_file(struct config *c, const char *path, struct vis_error *e)
{
	size_t len;
	char *buf = file_read_all(path, 1 << 20, &len);
	if (!buf)
		return vis_error_set(e, VIS_ERR_IO, "cannot read configuration '%s'", path);
	vis_err rc = VIS_OK;
	int lineno = 0;
	for (char *line = buf, *next; line && rc == VIS_OK; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *s = trim(line);
		if (!*s)
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			rc = vis_error_set(e, VIS_ERR_INVALID, "%s:%d: expected 'name = value'", path, lineno);
			break;
		}
		*eq = '\0';
		struct vis_error local = {0};
		if (config_set(c, trim(s), trim(eq + 1), &local) != VIS_OK)
			rc = vis_error_set(e, VIS_ERR_INVALID, "%s:%d: %s", path, lineno, local.msg);
	}
	free(buf);
	return rc;
}

void config_print(const struct config *c, FILE *out)
{
	for (size_t i = 0; i < NROWS; i++) {
		const struct option_row *r = &rows[i];
		const char *field = (const char *)c + r->offset;
		fprintf(out, "# %s (default: %s)\n", r->help, *r->def ? r->def : "empty");
		switch (r->type) {
		case OPT_STR: fprintf(out, "%s = %s\n\n", r->name, field); break;
		case OPT_INT: fprintf(out, "%s = %d\n\n", r->name, *(const int *)field); break;
		case OPT_BOOL: fprintf(out, "%s = %s\n\n", r->name, *(const bool *)field ? "true" : "false"); break;
		}
	}
}
