/* visura init — creates or upgrades the database and loads the reference
 * tables. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "refdata/refdata.h"
#include "store/store.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: visura init [--db URI]\n\n"
		"Creates the database (or migrates it to this version's schema) and\n"
		"loads the reference tables of municipalities and foreign states from\n"
		"the data directory ($VISURA_DATA_DIR, default: the one built in).\n\n"
		"  --db URI   sqlite:PATH or a path (default $VISURA_DB or visura.db)\n");
}

int cmd_init(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *db = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'd') {
			db = optarg;
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
		}
	}
	store_close(s);
	refdata_free(rd);
	return rc;
}
