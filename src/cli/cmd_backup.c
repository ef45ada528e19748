/* visura backup / visura restore — a deployment's backup while it runs,
 * its check, and its restore (the work is src/backup's). */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "backup/backup.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "common/config.h"

static void backup_usage(FILE *out)
{
	fprintf(out,
		"usage: visura backup [--db URI] [--config FILE] [--passphrase-file FILE] DEST\n"
		"       visura backup --verify [--passphrase-file FILE] DEST\n\n"
		"Takes a consistent backup of a deployment while its server runs, into\n"
		"the new directory DEST: the database (SQLite: the database file and its\n"
		"access trail through SQLite's online backup API; PostgreSQL: pg_dump,\n"
		"custom format), the signing key, the secrets key, the workstation CA\n"
		"(its key) and the SPID/CIE relying party's keys (oidc_key, oidc_enc_key,\n"
		"oidc_federation_key, when made), each encrypted with the passphrase (Argon2id + secretbox:\n"
		"never in clear), the CA certificate, the configuration file when given,\n"
		"and MANIFEST: the SHA-256 of every file, authenticated with the\n"
		"passphrase.\n\n"
		"--verify checks a backup: every file against the manifest, nothing more\n"
		"in the directory, the databases open and pass SQLite's integrity check\n"
		"(PostgreSQL: pg_restore reads the dump) and, given the passphrase, the\n"
		"manifest's MAC and that every key decrypts.\n\n"
		"  --db URI                the deployment's database (default: the\n"
		"                          configuration's db, $VISURA_DB or visura.db)\n"
		"  --config FILE           the server's configuration: kept in the backup;\n"
		"                          its db, signing_key, secrets_key, client_ca,\n"
		"                          oidc_key, oidc_enc_key, oidc_federation_key used\n"
		"  --passphrase-file FILE  the passphrase (first line), else\n"
		"                          $VISURA_BACKUP_PASSPHRASE; %d to %d bytes\n"
		"exit status: 0 done / sound, 1 the backup is not sound, 2 usage, 3 failure\n",
		BACKUP_PASS_MIN, BACKUP_PASS_MAX - 1);
}

static void restore_usage(FILE *out)
{
	fprintf(out,
		"usage: visura restore [--db URI] [--config FILE] [--config-to FILE]\n"
		"                      [--passphrase-file FILE] [--force] SRC\n\n"
		"Brings a deployment back from the backup SRC (made by `visura backup`):\n"
		"checks it as `visura backup --verify` does (the passphrase is required),\n"
		"restores the database into --db (SQLite: the file and its trail file;\n"
		"PostgreSQL: pg_restore into an existing, empty database), writes the\n"
		"keys and the CA certificate beside it (or where --config says), opens\n"
		"the database (migrating it when the backup is older than this visura)\n"
		"and verifies its access trail.\n\n"
		"Refused while a server uses the database; refused when the database, a\n"
		"key file or the --config-to file exists already, unless --force.\n\n"
		"  --db URI                where to restore (default $VISURA_DB or visura.db)\n"
		"  --config FILE           the target's configuration (its signing_key,\n"
		"                          secrets_key, client_ca, oidc_key, oidc_enc_key,\n"
		"                          oidc_federation_key paths; its db)\n"
		"  --config-to FILE        write the backup's configuration file there\n"
		"  --passphrase-file FILE  the backup's passphrase, else $VISURA_BACKUP_PASSPHRASE\n"
		"  --force                 replace an existing database and key files\n");
}

/* The site of --db / --config. */
static int site_from(struct backup_site *site, struct config *cfg, const char *db,
		     const char *config_file)
{
	config_defaults(cfg);
	memset(site, 0, sizeof *site);
	if (config_file) {
		struct vis_error e = {0};
		if (config_load_file(cfg, config_file, &e)) {
			cli_error("config", &e);
			return EXIT_USAGE;
		}
		site->db = db ? db : cfg->db;
	} else {
		site->db = cli_db_uri(db);
	}
	site->signing_key = cfg->signing_key;
	site->secrets_key = cfg->secrets_key;
	site->client_ca = cfg->client_ca;
	site->oidc_key = cfg->oidc_key;
	site->oidc_enc_key = cfg->oidc_enc_key;
	site->oidc_federation_key = cfg->oidc_federation_key;
	return EXIT_OK;
}

static int exit_of(const struct vis_error *e)
{
	return e->code == VIS_ERR_INVALID || e->code == VIS_ERR_CONFLICT ? EXIT_INVALID
									 : EXIT_RUNTIME;
}

int cmd_backup(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"config", required_argument, NULL, 'c'},
		{"passphrase-file", required_argument, NULL, 'p'},
		{"verify", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *config_file = NULL, *pass_file = NULL;
	bool verify = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'c': config_file = optarg; break;
		case 'p': pass_file = optarg; break;
		case 'v': verify = true; break;
		case 'h': backup_usage(stdout); return EXIT_OK;
		default: backup_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || (verify && (db || config_file))) {
		backup_usage(stderr);
		return EXIT_USAGE;
	}
	const char *dest = argv[optind];
	static char pass[BACKUP_PASS_MAX + 1];
	struct vis_error e = {0};
	struct backup_report r;
	bool have_pass = pass_file || getenv("VISURA_BACKUP_PASSPHRASE");
	if ((!verify || have_pass) && !backup_passphrase(pass_file, pass, &e)) {
		cli_error("backup", &e);
		return EXIT_USAGE;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "visura: backup: libsodium does not start\n");
		return EXIT_RUNTIME;
	}
	int rc = EXIT_OK;
	if (verify) {
		if (backup_verify(dest, have_pass ? pass : NULL, &r, &e)) {
			cli_error("backup --verify", &e);
			rc = exit_of(&e);
		} else {
			printf("backup %s is sound: %s database, schema version %d, %d files match the "
			       "manifest\n", dest, r.backend, r.schema, r.files);
			if (r.keys_checked)
				printf("manifest authenticated; %d keys decrypt with the passphrase\n", r.keys);
			else
				printf("keys and the manifest's MAC not checked: give the passphrase "
				       "(--passphrase-file or $VISURA_BACKUP_PASSPHRASE)\n");
		}
	} else {
		struct backup_site site;
		struct config cfg;
		rc = site_from(&site, &cfg, db, config_file);
		site.config_file = config_file;
		if (rc == EXIT_OK && backup_take(&site, dest, pass, &r, &e)) {
			cli_error("backup", &e);
			rc = exit_of(&e);
		} else if (rc == EXIT_OK) {
			printf("backup of %s written to %s: %s database, schema version %d, %d files, "
			       "%d keys encrypted\n", site.db, dest, r.backend, r.schema, r.files, r.keys);
		}
	}
	sodium_memzero(pass, sizeof pass);
	return rc;
}

int cmd_restore(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"config", required_argument, NULL, 'c'},
		{"config-to", required_argument, NULL, 't'},
		{"passphrase-file", required_argument, NULL, 'p'},
		{"force", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *config_file = NULL, *config_to = NULL, *pass_file = NULL;
	bool force = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'c': config_file = optarg; break;
		case 't': config_to = optarg; break;
		case 'p': pass_file = optarg; break;
		case 'f': force = true; break;
		case 'h': restore_usage(stdout); return EXIT_OK;
		default: restore_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		restore_usage(stderr);
		return EXIT_USAGE;
	}
	static char pass[BACKUP_PASS_MAX + 1];
	struct vis_error e = {0};
	if (!backup_passphrase(pass_file, pass, &e)) {
		cli_error("restore", &e);
		return EXIT_USAGE;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "visura: restore: libsodium does not start\n");
		return EXIT_RUNTIME;
	}
	struct backup_site site;
	struct config cfg;
	struct backup_report r;
	int rc = site_from(&site, &cfg, db, config_file);
	site.config_file = config_to;
	if (rc == EXIT_OK && backup_restore(argv[optind], &site, pass, force, &r, &e)) {
		cli_error("restore", &e);
		rc = exit_of(&e);
	} else if (rc == EXIT_OK) {
		printf("restored %s into %s: %s database, schema version %d; access trail verified: "
		       "%lld records\n", argv[optind], site.db, r.backend, r.schema, r.records);
		if (r.note[0])
			printf("%s\n", r.note);
	}
	sodium_memzero(pass, sizeof pass);
	return rc;
}
