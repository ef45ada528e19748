/* visura audit — the access trail from the command line: verification of
 * its hash chain. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/csv.h"
#include "audit/audit.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "store/store.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: visura audit verify [--db URI]\n"
		"       visura audit verify-receipt [--db URI] RECEIPT [BODY_FILE]\n\n"
		"  verify          checks every link of the access trail's hash chain and\n"
		"                  every signed checkpoint; names the first record that was\n"
		"                  altered, removed, reordered, or cut from the end\n"
		"  verify-receipt  checks a receipt (the X-Visura-Receipt header of an\n"
		"                  answer): its signature, its access record and, with\n"
		"                  BODY_FILE, that the answer's bytes are unchanged\n"
		"exit status: 0 valid, 1 broken or invalid, 2 usage, 3 runtime failure\n");
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
	bool receipt = optind < argc && !strcmp(argv[optind], "verify-receipt");
	if (!(optind == argc - 1 && !strcmp(argv[optind], "verify")) &&
	    !(receipt && argc - optind >= 2 && argc - optind <= 3)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	struct store *s;
	int rc = cli_store_open(cli_db_uri(db), &s);
	if (rc)
		return rc;
	if (receipt) {
		size_t len = 0;
		char *body = NULL;
		if (argc - optind == 3 && !(body = file_read_all(argv[optind + 2], 64u << 20, &len))) {
			fprintf(stderr, "visura: cannot read '%s'\n", argv[optind + 2]);
			store_close(s);
			return EXIT_RUNTIME;
		}
		struct vis_error e = {0};
		const char *why = audit_receipt_check(s, argv[optind + 1], body, len, &e);
		if (why)
			printf("INVALID: %s\n", why);
		else
			printf("ok: receipt valid%s\n", body ? ", answer unchanged" : "");
		free(body);
		store_close(s);
		return why ? EXIT_INVALID : EXIT_OK;
	}
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
		printf("ok: %lld access records, hash chain intact, %lld signed checkpoints verified\n",
		       (long long)res.checked, (long long)res.checkpoints);
	}
	store_close(s);
	return rc;
}
