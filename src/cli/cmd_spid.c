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
		"usage: visura spid federation-key-rotate --grace SECONDS [--config FILE] [--db URI]\n\n"
		"Rotates the relying party's federation key (oidc_federation_key, or the\n"
		"database's default beside it, .oidc-federation-key): a new key is made\n"
		"and put in place, and the old key's public half is kept in the same path\n"
		"+ .previous, published beside the new one in the entity configuration\n"
		"for --grace seconds (1 to %lld; at least oidc_entity_lifetime, so\n"
		"that configurations fetched before the rotation still verify).  The new\n"
		"key signs from the next start of `visura serve` (restart it); give the\n"
		"federation (the superior's statement about the relying party) the new\n"
		"key before the grace ends.\n\n"
		"  --grace SECONDS  how long the old key stays published (required)\n"
		"  --config FILE    the server's configuration (its oidc_federation_key; its db)\n"
		"  --db URI         the database (default: $VISURA_DB or visura.db)\n",
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
		fprintf(stderr, "visura: spid: unknown sub-command '%s'\n", argv[1]);
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
	char *end = NULL;
	long long grace = grace_arg ? strtoll(grace_arg, &end, 10) : 0;
	if (!grace_arg || !*grace_arg || *end || grace < 1 || grace > GRACE_MAX || optind != argc) {
		fprintf(stderr, "visura: spid: --grace SECONDS (1 to %lld) is required\n", GRACE_MAX);
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
	if (cfg.oidc_federation_key[0]) {
		STR_COPY_KNOWN(path, cfg.oidc_federation_key); /* CONFIG_PATH_MAX: fits */
	} else {
		char prefix[CONFIG_PATH_MAX];
		store_files_prefix(uri, prefix, sizeof prefix);
		snprintf(path, sizeof path, "%s.oidc-federation-key", prefix);
	}
	char old_kid[64], new_kid[64];
	if (oidc_federation_key_rotate(path, (int64_t)time(NULL), grace, old_kid, new_kid, &e)) {
		cli_error("spid federation-key-rotate", &e);
		return e.code == VIS_ERR_INVALID ? EXIT_INVALID : EXIT_RUNTIME;
	}
	printf("federation key rotated: %s (new, signs from the next start) replaces %s "
	       "(published until %lld, %s.previous)\n",
	       new_kid, old_kid, (long long)time(NULL) + grace, path);
	return EXIT_OK;
}
