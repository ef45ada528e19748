/* visura audit — the access trail from the command line: verification of
 * its hash chain. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "store/store.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: visura audit verify [--db URI]\n\n"
		"  verify   checks every link of the access trail's hash chain and names\n"
		"           the first record that was altered, removed or reordered\n"
		"exit status: 0 the chain holds, 1 it is broken, 2 usage, 3 runtime failure\n");
}

int cmd_audit(int argc, char **argv)
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
	if (optind != argc - 1 || strcmp(argv[optind], "verify")) {
		usage(stderr);
		return EXIT_USAGE;
	}
	struct store *s;
	int rc = cli_store_open(cli_db_uri(db), &s);
	if (rc)
		return rc;
	struct audit_verify_result res;
	struct vis_error e = {0};
	if (audit_verify(s, &res, &e)) {
		cli_error("audit verify", &e);
		rc = EXIT_RUNTIME;
	} else if (res.first_bad_id) {
		printf("BROKEN at record %lld (%lld records read): %s\n", (long long)res.first_bad_id,
		       (long long)res.checked, res.why);
		rc = EXIT_INVALID;
	} else {
		printf("ok: %lld access records, hash chain intact\n", (long long)res.checked);
	}
	store_close(s);
	return rc;
}
