/* visura ca — the municipality's small certificate authority for
 * workstation certificates (mutual TLS): init, issue, revoke, list. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/date.h"
#include "http/tls.h"
#include "store/store.h"
#include "common/str.h"

static void usage(FILE *out)
{
	fprintf(out,
		"uso: visura ca init [--db URI]\n"
		"     visura ca issue [--db URI] --ente-id N --name POSTAZIONE [--days 365] --out CARTELLA\n"
		"     visura ca revoke [--db URI] NUMERO_DI_SERIE\n"
		"     visura ca list [--db URI]\n\n"
		"init crea la CA (percorso del DB + .ca-cert.pem / .ca-key.pem, la chiave con\n"
		"modo 0600); `visura serve` chiede allora ai client un certificato firmato da\n"
		"essa, e le convenzioni con workstation_cert=true accettano solo richieste da\n"
		"postazioni registrate e non revocate del loro ente.  issue scrive\n"
		"CARTELLA/NOME.cert.pem e CARTELLA/NOME.key.pem per la postazione (CARTELLA è\n"
		"creata, modo 0700, se manca).  Dopo init riavviare il server.\n");
}

static vis_err paths(const char *db, char *cert, char *key, size_t cap, struct vis_error *e)
{
	vis_err rc = store_files_path(db, NULL, ".ca-cert.pem", cert, cap, e);
	return rc ? rc : store_files_path(db, NULL, ".ca-key.pem", key, cap, e);
}

static int print_ws(void *ctx, const void *rec)
{
	(void)ctx;
	const struct store_workstation *w = rec;
	char exp[21];
	timestamp_format(w->expires_at, exp);
	printf("%s\t%lld\t%s\t%s\t%s\n", w->serial, (long long)w->ente_id, w->name, exp,
	       w->revoked_at ? "revoked" : "valid");
	return 0;
}

int cmd_ca(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'}, {"ente-id", required_argument, NULL, 'e'},
		{"name", required_argument, NULL, 'n'}, {"days", required_argument, NULL, 'D'},
		{"out", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *db = NULL, *name = NULL, *out = NULL;
	long long ente = 0;
	int days = 365, c;
	if (argc < 2 || cli_help_arg(argv[1])) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[1], "init") && strcmp(argv[1], "issue") && strcmp(argv[1], "revoke") &&
	    strcmp(argv[1], "list")) {
		fprintf(stderr, "visura: ca: sotto-comando sconosciuto '%s'\n", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'e':
			if (!cli_int(optarg, "ca: --ente-id", 1, INT64_MAX, &ente))
				return EXIT_USAGE;
			break;
		case 'n': name = optarg; break;
		case 'D': {
			long long n;
			if (!cli_int(optarg, "ca: --days", 1, 3650, &n))
				return EXIT_USAGE;
			days = (int)n;
			break;
		}
		case 'o': out = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	const char *sub = argv[1];
	char cert[4200], key[4200];
	const char *uri = cli_db_uri(db);
	struct vis_error e = {0};
	if (paths(uri, cert, key, sizeof cert, &e)) {
		cli_error("ca", &e);
		return EXIT_USAGE;
	}
	struct store *s;
	int rc = cli_store_open(uri, &s);
	if (rc)
		return rc;
	if (!strcmp(sub, "init")) {
		FILE *f = fopen(cert, "r");
		if (f) {
			fclose(f);
			fprintf(stderr, "visura: ca: esiste già una CA (%s)\n", cert);
			rc = EXIT_INVALID;
		} else if (tls_ca_create(cert, key, "visura workstation CA", &e)) {
			cli_error("ca init", &e);
			rc = EXIT_RUNTIME;
		} else {
			printf("CA creata: %s (chiave %s)\n", cert, key);
		}
	} else if (!strcmp(sub, "issue")) {
		struct store_ente en;
		bool found = false;
		if (!name || !out || ente <= 0 || days < 1 || days > 3650 || strlen(name) > 64 ||
		    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") !=
			    strlen(name)) {
			usage(stderr);
			rc = EXIT_USAGE;
		} else if (store_ente_get(s, ente, &en, &found, &e) || !found) {
			fprintf(stderr, "visura: ca: nessun ente %lld\n", ente);
			rc = EXIT_INVALID;
		} else if (!cli_dir_ensure(out, 0700)) { /* refuses paths of 4096 or more */
			rc = EXIT_RUNTIME;
		} else {
			char cpath[4400], kpath[4400];
			struct store_workstation w = {.ente_id = ente, .issued_at = (int64_t)time(NULL)};
			STR_COPY_KNOWN(w.name, name); /* at most 64, checked above */
			/* out < 4096 bytes, name at most 64: both paths fit */
			STR_FMT_KNOWN(cpath, "%s/%s.cert.pem", out, name);
			STR_FMT_KNOWN(kpath, "%s/%s.key.pem", out, name);
			if (tls_client_issue(cert, key, name, ente, days, cpath, kpath, w.serial,
					     &w.expires_at, &e) ||
			    store_workstation_insert(s, &w, NULL, &e)) {
				cli_error("ca issue", &e);
				rc = EXIT_RUNTIME;
			} else {
				printf("postazione %s dell'ente %lld: numero di serie %s\n  %s\n  %s\n", name,
				       ente, w.serial, cpath, kpath);
			}
		}
	} else if (!strcmp(sub, "revoke") && optind == argc - 1) {
		struct store_workstation w;
		bool found = false;
		if (store_workstation_by_serial(s, argv[optind], &w, &found, &e) ||
		    !found) {
			fprintf(stderr, "visura: ca: nessun certificato %s\n", argv[optind]);
			rc = EXIT_INVALID;
		} else {
			const struct store_workstation was = w;
			w.revoked_at = (int64_t)time(NULL);
			if (store_workstation_update(s, &was, &w, &e)) {
				cli_error("ca revoke", &e);
				rc = EXIT_RUNTIME;
			} else {
				printf("certificato %s revocato\n", w.serial);
			}
		}
	} else if (!strcmp(sub, "list")) {
		printf("serial\tente_id\tname\texpires_at\tstate\n");
		if (store_rec_list(s, STORE_WORKSTATION, NULL, 0, print_ws, NULL, &e))
			rc = EXIT_RUNTIME;
	} else {
		usage(stderr);
		rc = EXIT_USAGE;
	}
	store_close(s);
	return rc;
}
