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
#include "common/email.h"
#include "cli/options.h"
#include "common/text.h"
#include "refdata/refdata.h"
#include "store/store.h"

static void usage(FILE *out)
{
	fprintf(out,
		"uso: visura init [--db URI] --admin-name \"Nome Cognome\" --admin-email INDIRIZZO\n"
		"                 [--admin-user NOME]\n"
		"     visura init [--db URI] --check\n\n"
		"Crea il database (o lo migra allo schema di questa versione), carica le\n"
		"tabelle di riferimento dei comuni e degli stati esteri dalla cartella dei\n"
		"dati ($VISURA_DATA_DIR, predefinita: quella indicata alla compilazione) e,\n"
		"quando il database non ha ancora un amministratore, crea la prima utenza di\n"
		"amministratore e ne stampa una volta la password temporanea generata: sono\n"
		"allora obbligatori il nome reale e l'e-mail del titolare (la via di recupero\n"
		"dell'ufficio, docs/deployment.md, e ogni allerta e promemoria raggiungono\n"
		"quella persona).\n\n"
		"  --db URI             sqlite:PERCORSO, un percorso, o postgres:CONNINFO\n"
		"                       (predefinito $VISURA_DB o " VISURA_DB_DEFAULT ")\n"
		"  --admin-name NOME    nome completo del primo amministratore (obbligatorio\n"
		"                       per il primo amministratore)\n"
		"  --admin-email IND    e-mail del primo amministratore (obbligatoria per il\n"
		"                       primo amministratore)\n"
		"  --admin-user NOME    nome utente del primo amministratore (predefinito admin)\n"
		"  --check              dice che cosa farebbe init al database (crearlo, o le\n"
		"                       migrazioni che applicherebbe) e non cambia nulla;\n"
		"                       esce con 1 quando il database è più recente di questo\n"
		"                       visura\n");
}

static void pending_line(void *ctx, int version, const char *name)
{
	(void)ctx;
	printf("  migrazione %d: %s\n", version, name);
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
		fprintf(stderr, "visura: init --check: il database %s ha lo schema alla versione %d, più "
				"recente di questo visura (%d, versione %s): è stato scritto da un rilascio "
				"successivo; usare quel rilascio (visura non riporta indietro un database)\n",
			uri, p.version, latest,
			VISURA_VERSION);
		return EXIT_INVALID;
	}
	if (p.version < 0)
		printf("il database %s non esiste: init lo creerebbe con lo schema alla versione %d\n",
		       uri, latest);
	else if (p.version == latest)
		printf("database %s: schema alla versione %d, quella di questo visura: nessuna "
		       "migrazione da applicare\n", uri, p.version);
	else
		printf("database %s: schema alla versione %d; questo visura (schema alla versione %d) "
		       "applicherebbe, ciascuna in una transazione:\n", uri, p.version, latest);
	if (p.version >= 0 && p.version < latest)
		store_schema_pending(p.version, pending_line, NULL);
	if (p.live)
		printf("un server lo sta usando ora: una migrazione avviene quando un server o un comando "
		       "lo apre; fare prima una copia di sicurezza (visura backup)\n");
	printf("init ricaricherebbe anche le tabelle di riferimento e creerebbe il primo "
	       "amministratore e le chiavi se mancano; nulla è stato cambiato\n");
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
			printf("il database ha già un amministratore: --admin-name e "
			       "--admin-email non usati\n");
		return EXIT_OK;
	}
	if (!name || !email) {
		fprintf(stderr, "visura: init: il database non ha ancora un amministratore: indicare "
				"nome reale ed e-mail del primo amministratore, --admin-name \"Nome "
				"Cognome\" --admin-email INDIRIZZO\n");
		return EXIT_USAGE;
	}
	struct store_account a = {0};
	if (!*name || strlen(name) >= sizeof a.full_name || !utf8_valid(name, strlen(name))) {
		fprintf(stderr, "visura: init: --admin-name è un testo da 1 a %zu byte\n",
			sizeof a.full_name - 1);
		return EXIT_USAGE;
	}
	if (strlen(email) >= sizeof a.email || !email_valid(email)) {
		fprintf(stderr, "visura: init: --admin-email non è un indirizzo valido\n");
		return EXIT_USAGE;
	}
	if (strlen(username) >= sizeof a.username) {
		fprintf(stderr, "visura: init: --admin-user è troppo lungo\n");
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
		printf("primo amministratore: %s  password temporanea (mostrata una sola volta, solo per "
		       "il primo accesso, %d giorni): %s\n", a.username, cfg.temp_password_days,
		       password);
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
			cli_error("dati di riferimento", &e);
			rc = EXIT_RUNTIME;
		} else {
			printf("database %s pronto: schema alla versione %d, %zu righe di comuni, "
			       "%zu stati esteri\n", cli_db_uri(db), store_schema_version(s),
			       refdata_comune_count(rd), refdata_stato_count(rd));
			rc = first_admin(s, admin, name, email);
			char keypath[4096];
			struct audit_key key;
			if (rc == EXIT_OK &&
			    (audit_key_path(cli_db_uri(db), keypath, sizeof keypath, &e) ||
			     audit_key_ensure(s, keypath, &key, &e))) {
				cli_error("chiave di firma", &e);
				rc = EXIT_RUNTIME;
			} else if (rc == EXIT_OK) {
				printf("chiave di firma: %s (da tenere segreta; la sua metà pubblica è nel "
				       "database)\n", keypath);
			}
			sodium_memzero(&key, sizeof key);
			struct sealed_key secrets;
			if (rc == EXIT_OK &&
			    (sealed_key_path(cli_db_uri(db), NULL, keypath, sizeof keypath, &e) ||
			     sealed_key_ensure(keypath, &secrets, &e))) {
				cli_error("chiave dei segreti", &e);
				rc = EXIT_RUNTIME;
			} else if (rc == EXIT_OK) {
				printf("chiave dei segreti: %s (da tenere segreta: sigilla i segreti TOTP e "
				       "le password in coda di invio)\n", keypath);
			}
			sodium_memzero(&secrets, sizeof secrets);
		}
	}
	store_close(s);
	refdata_free(rd);
	return rc;
}
