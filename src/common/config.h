/* config — the server's settings: one table, one row per option (name, type,
 * bounds, default, help), read from a file of "name = value" lines and
 * overridden by command-line flags of the same names.
 *
 * Secrets are never inline: options that lead to secrets are file paths. */
#ifndef VISURA_COMMON_CONFIG_H
#define VISURA_COMMON_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "common/err.h"

#define CONFIG_PATH_MAX 1024

/* A browser session's longest life (session_absolute_hours' bound): the
 * retention of ended sessions finds them by their end (SQL_PURGE_SESSIONS),
 * which is at most this long after their start. */
#define CONFIG_SESSION_HOURS_MAX 72

struct config {
	char listen[64];            /* address:port of the HTTPS listener */
	char user[64];              /* the account serve runs as after start (root only) */
	char metrics_listen[64];    /* plain-HTTP operations listener, "" = none */
	char db[CONFIG_PATH_MAX];
	char shared_db[CONFIG_PATH_MAX]; /* PostgreSQL: the companion database, "" = none */
	char tls_cert[CONFIG_PATH_MAX];
	char tls_key[CONFIG_PATH_MAX];
	char client_ca[CONFIG_PATH_MAX];  /* CA of workstation certificates */
	char log_file[CONFIG_PATH_MAX];
	char signing_key[CONFIG_PATH_MAX];
	char trail_origin[129];
	char trail_heads_file[CONFIG_PATH_MAX];
	char trail_witnesses[2048];   /* "NAME URL PUBKEYFILE; ..." */
	char trail_witness_ca[CONFIG_PATH_MAX];
	int trail_publish_grace;    /* seconds */
	char secrets_key[CONFIG_PATH_MAX];
	char trusted_proxies[512];  /* CIDR list of reverse proxies */
	char client_ip_header[64];  /* header naming the client, from a trusted proxy */
	char smtp_url[512];
	char smtp_from[256];
	bool smtp_plain_loopback;   /* the relay is on loopback: no TLS required */
	char public_url[256];
	char print_heading[201];      /* heads the printed visura and /verifica */
	char print_crest[CONFIG_PATH_MAX]; /* PNG or SVG beside it, "" = the neutral emblem */
	char help_desk_contact[256];  /* the help page: who to call or write */
	char help_desk_hours[128];    /* and when */
	char accessibility_url[256];  /* the accessibility statement (https) */
	char privacy_url[256];        /* the privacy notice (https) */
	char ui_dir[CONFIG_PATH_MAX];  /* files of the browser interface, "" = none */
	char pdnd_jwks[CONFIG_PATH_MAX];  /* PDND's public keys (a file), "" = none */
	char pdnd_jwks_url[512];    /* ... or their address, "" = none; neither: no vouchers */
	char pdnd_jwks_ca_file[CONFIG_PATH_MAX]; /* CA for its https, "" = the system's */
	int pdnd_jwks_refresh;      /* seconds between two fetches of the address */
	char pdnd_issuer[256];      /* the iss of a voucher */
	char pdnd_audience[256];    /* the aud of a voucher: this e-service */
	int pdnd_clock_skew;        /* seconds tolerated on exp, nbf, iat */
	int pdnd_token_max_bytes;   /* the longest voucher */
	char pdnd_signing_key[CONFIG_PATH_MAX]; /* INTEGRITY_REST_02's key, "" = none */
	int pdnd_daily_calls_per_consumer; /* calls a day from one body, 0 = none */
	int pdnd_daily_calls_total;        /* calls a day from all bodies, 0 = none */
	char oidc_issuer[256];      /* SPID/CIE OpenID Provider: its issuer, "" = no SPID/CIE login */
	char oidc_authorization_endpoint[512];
	char oidc_token_endpoint[512];
	char oidc_userinfo_endpoint[512];
	char oidc_jwks[CONFIG_PATH_MAX];  /* the provider's public keys (a JWKS file) */
	char oidc_jwks_url[512];    /* ... or their address */
	int oidc_jwks_refresh;      /* seconds between two fetches of the address */
	int jwks_unknown_kid_interval; /* seconds at least between fetches for an unknown kid */
	char oidc_client_id[256];   /* this relying party's client_id */
	char oidc_redirect_uri[512];  /* .../api/v1/auth/spid/callback as registered */
	char oidc_key[CONFIG_PATH_MAX];   /* the relying party's private key, "" = beside the db */
	char oidc_enc_key[CONFIG_PATH_MAX]; /* its RSA key for the encrypted userinfo, "" = beside the db */
	char oidc_ca_file[CONFIG_PATH_MAX]; /* CA for the provider's endpoints, "" = system's */
	char oidc_log_dir[CONFIG_PATH_MAX]; /* the transaction log, "" = beside the db */
	int oidc_level;             /* the lowest SPID level accepted (2 or 3) */
	int oidc_clock_skew;        /* seconds tolerated on exp and iat */
	int oidc_log_days;          /* days the transaction log is kept */
	/* OpenID Federation (docs/spid-cie.md): the relying party's entity
	 * configuration, and the provider's metadata from a trust chain. */
	char oidc_federation_key[CONFIG_PATH_MAX]; /* federation key, "" = beside the db */
	char oidc_trust_anchor[256];  /* the trust anchor's entity id, "" = provider by hand */
	char oidc_trust_anchor_jwks[CONFIG_PATH_MAX]; /* its federation public keys */
	char oidc_authority_hints[1024]; /* superiors of the relying party, comma-separated */
	char oidc_organization_name[256];
	char oidc_contacts[512];      /* e-mail addresses, comma-separated */
	char oidc_op_trust_marks[1024]; /* ids the provider must hold, comma-separated, or "none" */
	char oidc_trust_marks[CONFIG_PATH_MAX]; /* a JSON array of {id, trust_mark}, "" = none */
	int oidc_entity_lifetime;     /* seconds the entity configuration is valid */
	int threads;
	int max_connections;
	int per_ip_connections;
	int connection_timeout;     /* seconds */
	int max_body_kb;
	int max_import_mb;          /* largest daily file pushed over HTTPS */
	int max_uploads_mb;         /* all pushed files being received at once */
	int feed_deadline_hours;    /* a municipality's feed is overdue after this */
	int session_idle_minutes;
	int session_absolute_hours; /* at most CONFIG_SESSION_HOURS_MAX */
	int max_sessions;           /* live browser sessions of one account; the oldest ends */
	int login_lock_failures;    /* failures of one account before lockout */
	int login_lock_minutes;
	int ip_lock_failures;       /* failures from one address before lockout */
	int temp_password_days;
	int password_max_age_days;
	int credential_months;
	int renewal_window_days;
	int alert_persons_hour;     /* anti-extraction thresholds, see alert/alert.h */
	int alert_persons_hard;
	int alert_sequential;
	int alert_no_results_pct;
	int alert_repeat_no_case;
	int alert_refused_hour;
	int alert_addresses;
	int review_unused_days;     /* accounts unused this long are flagged */
	int review_notice_days;     /* ... noticed, then disabled this long after */
	int citizen_notice_minutes; /* one e-mail notice per citizen at most this often */
	int embargo_days;           /* police/court consultations hidden from citizens */
	int retention_months;       /* access records kept this long */
	int stats_threshold_min;    /* smallest small-cell threshold a statistic may ask */
	int security_log_days;      /* security events kept this long */
	int session_keep_days;      /* ended sessions kept this long */
	int mail_keep_days;         /* outbox messages kept this long */
	bool test_clock;            /* test-only clock control endpoint */
};

void config_defaults(struct config *c);
/* Applies one option by name ("max_body_kb", "listen"...). */
vis_err config_set(struct config *c, const char *name, const char *value,
		   struct vis_error *e);
/* Reads a file of "name = value" lines; '#' starts a comment. */
vis_err config_load_file(struct config *c, const char *path, struct vis_error *e);
/* Writes every option with its value and help, as a valid config file. */
void config_print(const struct config *c, FILE *out);
/* True when `name` is an option. */
bool config_has(const char *name);
/* What no single option's bounds can say: the options that must agree
 * with each other do. */
vis_err config_check(const struct config *c, struct vis_error *e);

#endif
