/* visura spid — the SPID/CIE relying party's keys from the command line:
 * federation-key-rotate (oidc/oidc.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/config.h"
#include "oidc/oidc.h"
#include "store/store.h"

#define GRACE_MAX (366LL * 86400)

static void usage(FILE *out)
{
	fprintf(out,
		"uso: visura spid federation-key-rotate --grace SECONDI [--config FILE] [--db URI]\n\n"
		"Ruota la chiave di federazione del fornitore di servizi (oidc_federation_key,\n"
		"o quella predefinita accanto al database, .oidc-federation-key): una chiave\n"
		"nuova è creata e messa al suo posto, e la metà pubblica della vecchia è\n"
		"conservata nello stesso percorso + .previous, pubblicata accanto alla nuova\n"
		"nella entity configuration per --grace secondi (da 1 a %lld; almeno\n"
		"oidc_entity_lifetime, così che le configurazioni scaricate prima della\n"
		"rotazione si verifichino ancora).  La nuova chiave firma dal prossimo avvio\n"
		"di `visura serve` (riavviarlo); dare la nuova chiave alla federazione (la\n"
		"dichiarazione del superiore sul fornitore di servizi) prima che finisca il\n"
		"periodo di grazia.\n\n"
		"  --grace SECONDI  per quanto la vecchia chiave resta pubblicata (obbligatorio)\n"
		"  --config FILE    la configurazione del server (il suo oidc_federation_key;\n"
		"                   il suo db)\n"
		"  --db URI         il database (predefinito: $VISURA_DB o visura.db)\n",
		GRACE_MAX);
}

int cmd_spid(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"grace", required_argument, NULL, 'g'}, {"config", required_argument, NULL, 'c'},
		{"db", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	if (argc < 2 || cli_help_arg(argv[1])) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[1], "federation-key-rotate")) {
		fprintf(stderr, "visura: spid: sotto-comando sconosciuto '%s'\n", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *db = NULL, *config_file = NULL, *grace_arg = NULL;
	int c;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'g': grace_arg = optarg; break;
		case 'c': config_file = optarg; break;
		case 'd': db = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	long long grace = 0;
	if (grace_arg && !cli_int(grace_arg, "spid: --grace", 1, GRACE_MAX, &grace))
		return EXIT_USAGE;
	if (!grace_arg || optind != argc) {
		fprintf(stderr, "visura: spid: serve --grace SECONDI (da 1 a %lld)\n", GRACE_MAX);
		usage(stderr);
		return EXIT_USAGE;
	}
	static struct config cfg;
	config_defaults(&cfg);
	struct vis_error e = {0};
	if (config_file && config_load_file(&cfg, config_file, &e)) {
		cli_error("config", &e);
		return EXIT_USAGE;
	}
	const char *uri = config_file && !db ? cfg.db : cli_db_uri(db);
	char path[CONFIG_PATH_MAX + 32];
	char old_kid[64], new_kid[64];
	if (store_files_path(uri, cfg.oidc_federation_key, ".oidc-federation-key", path,
			     sizeof path, &e) ||
	    oidc_federation_key_rotate(path, (int64_t)time(NULL), grace, old_kid, new_kid, &e)) {
		cli_error("spid federation-key-rotate", &e);
		return e.code == VIS_ERR_INVALID ? EXIT_INVALID : EXIT_RUNTIME;
	}
	printf("chiave di federazione ruotata: %s (nuova, firma dal prossimo avvio) sostituisce %s "
	       "(pubblicata fino a %lld, %s.previous)\n",
	       new_kid, old_kid, (long long)time(NULL) + grace, path);
	return EXIT_OK;
}
