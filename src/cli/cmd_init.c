/* visura init — creates or upgrades the database and loads the reference
 * tables. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "auth/password.h"
#include "auth/sealed.h"
#include "cli/commands.h"
#include "common/config.h"
#include "cli/options.h"
#include "common/text.h"
#include "refdata/refdata.h"
#include "store/store.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: visura init [--db URI] --admin-name \"Nome Cognome\" --admin-email ADDRESS\n"
		"                   [--admin-user NAME]\n"
		"       visura init [--db URI] --check\n\n"
		"Creates the database (or migrates it to this version's schema), loads\n"
		"the reference tables of municipalities and foreign states from the data\n"
		"directory ($VISURA_DATA_DIR, default: the one built in) and, when the\n"
		"database has no admin yet, creates the first admin account and prints\n"
		"its generated temporary password once: its holder's real name and e-mail\n"
		"are then required (the office's recovery path, docs/deployment.md, and\n"
		"every alert and reminder reach that person).\n\n"
		"  --db URI             sqlite:PATH, a path, or postgres:CONNINFO\n"
		"                       (default $VISURA_DB or " VISURA_DB_DEFAULT ")\n"
		"  --admin-name NAME    first admin's full name (required for the first admin)\n"
		"  --admin-email ADDR   first admin's e-mail (required for the first admin)\n"
		"  --admin-user NAME    first admin's user id (default admin)\n"
		"  --check              say what init would do to the database (create it,\n"
		"                       or the migrations it would apply) and change nothing;\n"
		"                       exit 1 when the database is newer than this visura\n");
}

static void pending_line(void *ctx, int version, const char *name)
{
	(void)ctx;
	printf("  migration %d: %s\n", version, name);
}

/* visura init --check: what opening the database would do, without
 * opening it for writing. */
static int init_check(const char *uri)
{
	struct store_probe p;
	struct vis_error e = {0};
	if (store_probe(uri, &p, &e)) {
		cli_error("init --check", &e);
		return EXIT_RUNTIME;
	}
	int latest = store_schema_latest();
	if (p.version > latest) {
		fprintf(stderr, "visura: init --check: database %s has schema version %d, newer than "
				"this visura (%d, version %s): it was written by a later release; run that "
				"release (visura does not downgrade a database)\n", uri, p.version, latest,
			VISURA_VERSION);
		return EXIT_INVALID;
	}
	if (p.version < 0)
		printf("database %s does not exist: init would create it at schema version %d\n", uri,
		       latest);
	else if (p.version == latest)
		printf("database %s: schema version %d, this visura's: no migration to apply\n", uri,
		       p.version);
	else
		printf("database %s: schema version %d; this visura (schema version %d) would apply, "
		       "each in one transaction:\n", uri, p.version, latest);
	if (p.version >= 0 && p.version < latest)
		store_schema_pending(p.version, pending_line, NULL);
	if (p.live)
		printf("a server is using it now: a migration runs when a server or command opens it; "
		       "take a backup first (visura backup)\n");
	printf("init would also reload the reference tables and create the first administrator "
	       "and the keys when missing; nothing was changed\n");
	return EXIT_OK;
}

static int has_admin(void *ctx, const void *rec)
{
	(void)rec;
	*(bool *)ctx = true;
	return 1;
}

/* The first admin, when there is none: its password is printed once. */
static int first_admin(struct store *s, const char *username, const char *name,
		       const char *email)
{
	struct vis_error e = {0};
	bool any = false;
	struct store_filter f[] = {{"role", "admin", 0}, {NULL, NULL, 0}};
	if (store_rec_list(s, STORE_ACCOUNT, f, 1, has_admin, &any, &e)) {
		cli_error("init", &e);
		return EXIT_RUNTIME;
	}
	if (any) {
		if (name || email)
			printf("the database has an administrator already: --admin-name and "
			       "--admin-email not used\n");
		return EXIT_OK;
	}
	if (!name || !email) {
		fprintf(stderr, "visura: init: the database has no administrator yet: give the first "
				"administrator's real name and e-mail, --admin-name \"Nome Cognome\" "
				"--admin-email ADDRESS\n");
		return EXIT_USAGE;
	}
	struct store_account a = {0};
	if (!*name || strlen(name) >= sizeof a.full_name || !utf8_valid(name, strlen(name))) {
		fprintf(stderr, "visura: init: --admin-name must be text of 1 to %zu bytes\n",
			sizeof a.full_name - 1);
		return EXIT_USAGE;
	}
	if (strlen(email) >= sizeof a.email || !auth_email_valid(email)) {
		fprintf(stderr, "visura: init: --admin-email is not a valid address\n");
		return EXIT_USAGE;
	}
	if (strlen(username) >= sizeof a.username) {
		fprintf(stderr, "visura: init: --admin-user is too long\n");
		return EXIT_USAGE;
	}
	if (password_init(refdata_default_dir(), &e)) {
		cli_error("init", &e);
		return EXIT_RUNTIME;
	}
	struct config cfg;
	config_defaults(&cfg);
	/* (the lengths were checked above) */
	if (!CLI_COPY(a.username, username, "--admin-user") ||
	    !CLI_COPY(a.full_name, name, "--admin-name") || !CLI_COPY(a.email, email, "--admin-email"))
		return EXIT_USAGE;
	snprintf(a.role, sizeof a.role, "admin");
	char password[64];
	int64_t now = (int64_t)time(NULL);
	int rc = EXIT_OK;
	if (auth_account_create(s, &cfg, &a, now, password, sizeof password, &e)) {
		cli_error("init", &e);
		rc = EXIT_RUNTIME;
	} else {
		auth_event(s, now, "account_created", &a, NULL, "cli", "visura init");
		printf("first admin: %s  temporary password (shown once, first access only, %d days): %s\n",
		       a.username, cfg.temp_password_days, password);
	}
	memset(password, 0, sizeof password);
	password_shutdown();
	return rc;
}

int cmd_init(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"admin-user", required_argument, NULL, 'u'},
		{"admin-email", required_argument, NULL, 'm'},
		{"admin-name", required_argument, NULL, 'n'},
		{"check", no_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *db = NULL, *admin = "admin", *email = NULL, *name = NULL;
	bool check = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'd') {
			db = optarg;
		} else if (c == 'u') {
			admin = optarg;
		} else if (c == 'm') {
			email = optarg;
		} else if (c == 'n') {
			name = optarg;
		} else if (c == 'c') {
			check = true;
		} else if (c == 'h') {
			usage(stdout);
			return EXIT_OK;
		} else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (check)
		return init_check(cli_db_uri(db));
	struct refdata *rd = NULL;
	struct store *s = NULL;
	int rc = cli_refdata_load(&rd);
	if (rc == EXIT_OK)
		rc = cli_store_open(cli_db_uri(db), &s);
	if (rc == EXIT_OK) {
		struct vis_error e = {0};
		if (store_refdata_replace(s, rd, &e) != VIS_OK) {
			cli_error("reference data", &e);
			rc = EXIT_RUNTIME;
		} else {
			printf("database %s ready: schema version %d, %zu municipality records, "
			       "%zu foreign states\n", cli_db_uri(db), store_schema_version(s),
			       refdata_comune_count(rd), refdata_stato_count(rd));
			rc = first_admin(s, admin, name, email);
			char keypath[4096];
			struct audit_key key;
			audit_key_path(cli_db_uri(db), keypath, sizeof keypath);
			if (rc == EXIT_OK && audit_key_ensure(s, keypath, &key, &e)) {
				cli_error("signing key", &e);
				rc = EXIT_RUNTIME;
			} else if (rc == EXIT_OK) {
				printf("signing key: %s (keep it secret; its public half is in the database)\n",
				       keypath);
			}
			sodium_memzero(&key, sizeof key);
			struct sealed_key secrets;
			sealed_key_path(cli_db_uri(db), NULL, keypath, sizeof keypath);
			if (rc == EXIT_OK && sealed_key_ensure(keypath, &secrets, &e)) {
				cli_error("secrets key", &e);
				rc = EXIT_RUNTIME;
			} else if (rc == EXIT_OK) {
				printf("secrets key: %s (keep it secret: it seals the TOTP secrets and "
				       "queued passwords)\n", keypath);
			}
			sodium_memzero(&secrets, sizeof secrets);
		}
	}
	store_close(s);
	refdata_free(rd);
	return rc;
}
