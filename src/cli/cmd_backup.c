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
		"uso: visura backup [--db URI] [--config FILE] [--passphrase-file FILE] DEST\n"
		"     visura backup --verify [--passphrase-file FILE] DEST\n\n"
		"Fa una copia di sicurezza coerente di un'installazione mentre il suo server è\n"
		"in funzione, nella nuova cartella DEST: il database (SQLite: il file del\n"
		"database e il suo registro degli accessi, con l'API di copia in linea di\n"
		"SQLite; PostgreSQL: pg_dump, formato custom), la chiave di firma, la chiave\n"
		"dei segreti, la CA delle postazioni (la sua chiave) e le chiavi del fornitore\n"
		"di servizi SPID/CIE (oidc_key, oidc_enc_key, oidc_federation_key, se create),\n"
		"ciascuna cifrata con la frase segreta (Argon2id + secretbox: mai in chiaro),\n"
		"il certificato della CA, il file di configurazione se indicato, e MANIFEST:\n"
		"lo SHA-256 di ogni file, autenticato con la frase segreta.\n\n"
		"--verify controlla una copia: ogni file rispetto al manifesto, nient'altro\n"
		"nella cartella, i database si aprono e superano il controllo di integrità di\n"
		"SQLite (PostgreSQL: pg_restore legge il dump) e, con la frase segreta, il MAC\n"
		"del manifesto e che ogni chiave si decifri.\n\n"
		"  --db URI                il database dell'installazione (predefinito: il db\n"
		"                          della configurazione, $VISURA_DB o visura.db)\n"
		"  --config FILE           la configurazione del server: conservata nella copia;\n"
		"                          ne usa db, signing_key, secrets_key, client_ca,\n"
		"                          oidc_key, oidc_enc_key, oidc_federation_key\n"
		"  --passphrase-file FILE  la frase segreta (prima riga), altrimenti\n"
		"                          $VISURA_BACKUP_PASSPHRASE; da %d a %d byte\n"
		"codice di uscita: 0 fatto / integra, 1 la copia non è integra, 2 uso errato,\n"
		"3 errore\n",
		BACKUP_PASS_MIN, BACKUP_PASS_MAX - 1);
}

static void restore_usage(FILE *out)
{
	fprintf(out,
		"uso: visura restore [--db URI] [--config FILE] [--config-to FILE]\n"
		"                    [--passphrase-file FILE] [--force] ORIG\n\n"
		"Ripristina un'installazione dalla copia di sicurezza ORIG (fatta con `visura\n"
		"backup`): la controlla come fa `visura backup --verify` (la frase segreta è\n"
		"obbligatoria), ripristina il database in --db (SQLite: il file e il file del\n"
		"registro; PostgreSQL: pg_restore in un database esistente e vuoto), scrive le\n"
		"chiavi e il certificato della CA accanto a esso (o dove dice --config), apre\n"
		"il database (migrandolo quando la copia è più vecchia di questo visura) e\n"
		"verifica il suo registro degli accessi.\n\n"
		"Rifiutato mentre un server usa il database; rifiutato quando il database, un\n"
		"file di chiave o il file di --config-to esistono già, salvo --force.\n\n"
		"  --db URI                dove ripristinare (predefinito $VISURA_DB o visura.db)\n"
		"  --config FILE           la configurazione della destinazione (i percorsi di\n"
		"                          signing_key, secrets_key, client_ca, oidc_key,\n"
		"                          oidc_enc_key, oidc_federation_key; il suo db)\n"
		"  --config-to FILE        vi scrive il file di configurazione della copia\n"
		"  --passphrase-file FILE  la frase segreta della copia, altrimenti\n"
		"                          $VISURA_BACKUP_PASSPHRASE\n"
		"  --force                 sostituisce un database e file di chiave esistenti\n");
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
		fprintf(stderr, "visura: backup: libsodium non si avvia\n");
		return EXIT_RUNTIME;
	}
	int rc = EXIT_OK;
	if (verify) {
		if (backup_verify(dest, have_pass ? pass : NULL, &r, &e)) {
			cli_error("backup --verify", &e);
			rc = exit_of(&e);
		} else {
			printf("la copia %s è integra: database %s, schema alla versione %d, %d file "
			       "corrispondono al manifesto\n", dest, r.backend, r.schema, r.files);
			if (r.keys_checked)
				printf("manifesto autenticato; %d chiavi si decifrano con la frase segreta\n",
				       r.keys);
			else
				printf("chiavi e MAC del manifesto non verificati: indicare la frase segreta "
				       "(--passphrase-file o $VISURA_BACKUP_PASSPHRASE)\n");
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
			printf("copia di sicurezza di %s scritta in %s: database %s, schema alla versione %d, "
			       "%d file, %d chiavi cifrate\n", site.db, dest, r.backend, r.schema, r.files,
			       r.keys);
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
		fprintf(stderr, "visura: restore: libsodium non si avvia\n");
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
		printf("ripristinata %s in %s: database %s, schema alla versione %d; registro degli "
		       "accessi verificato: %lld registrazioni\n", argv[optind], site.db, r.backend,
		       r.schema, r.records);
		if (r.note[0])
			printf("%s\n", r.note);
	}
	sodium_memzero(pass, sizeof pass);
	return rc;
}
