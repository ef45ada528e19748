/* visura review — the yearly review report (JSON), as GET /api/v1/review. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/config.h"
#include "review/review.h"

int cmd_review(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'}, {"convenzione", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'}, {0, 0, 0, 0},
	};
	const char *db = NULL;
	long long only = 0;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'd') {
			db = optarg;
		} else if (c == 'c') {
			only = atoll(optarg);
		} else {
			fprintf(c == 'h' ? stdout : stderr,
				"usage: visura review [--db URI] [--convenzione ID]\n\n"
				"The yearly review: per agreement, purposes, profile, active accounts\n"
				"and their last access (unused ones flagged), accesses of the last year\n"
				"by purpose, refused attempts, alerts.  Decisions are recorded with\n"
				"POST /api/v1/review/ID.\n");
			return c == 'h' ? EXIT_OK : EXIT_USAGE;
		}
	}
	struct store *s;
	int rc = cli_store_open(cli_db_uri(db), &s);
	if (rc)
		return rc;
	struct config cfg;
	config_defaults(&cfg);
	json_t *out;
	struct vis_error e = {0};
	if (review_report(s, (int64_t)time(NULL), cfg.review_unused_days, only, &out, &e)) {
		cli_error("review", &e);
		store_close(s);
		return EXIT_RUNTIME;
	}
	char *text = json_dumps(out, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	if (text)
		puts(text);
	free(text);
	json_decref(out);
	store_close(s);
	return EXIT_OK;
}
