/* visura review — the yearly review report (JSON), as GET /api/v1/review,
 * and `visura review decide`, the decision on one agreement, as POST
 * /api/v1/review/ID: both through src/review. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "common/config.h"
#include "review/review.h"

static void usage(FILE *out)
{
	fprintf(out,
		"uso: visura review [--db URI] [--convenzione ID]\n"
		"     visura review decide [--db URI] --convenzione ID\n"
		"                          --decision confirm|restrict|revoke --note TESTO\n\n"
		"La revisione annuale: per convenzione, finalità, profilo, utenze attive e il\n"
		"loro ultimo accesso (quelle inutilizzate segnalate), accessi dell'ultimo anno\n"
		"per finalità, tentativi rifiutati, segnalazioni.  `decide` registra la\n"
		"decisione su una convenzione (come POST /api/v1/review/ID): revoke la chiude e\n"
		"disattiva le utenze attive del suo ente.\n");
}

static int decide(struct store *s, long long id, const char *decision, const char *note)
{
	if (!id || !decision || !note) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!cli_text_ok(note, "--note"))
		return EXIT_USAGE;
	int64_t now = (int64_t)time(NULL);
	struct store_review d;
	struct store_convenzione c;
	struct vis_error e = {0};
	vis_err rc = review_decide(s, id, decision, note, 0, now, &d, &c, &e);
	if (rc) {
		cli_error("review decide", &e);
		return vis_err_store(rc) || rc == VIS_ERR_NOMEM ? EXIT_RUNTIME : EXIT_INVALID;
	}
	auth_event(s, now, "review_decision", NULL, "visura review decide", "cli",
		   review_decision_label(decision));
	printf("convenzione %lld: decisione %s registrata (n. %lld), stato della convenzione: %s\n",
	       (long long)c.id, d.decision, (long long)d.id, c.state);
	return EXIT_OK;
}

int cmd_review(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'}, {"convenzione", required_argument, NULL, 'c'},
		{"decision", required_argument, NULL, 'D'}, {"note", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'}, {0, 0, 0, 0},
	};
	bool deciding = argc > 1 && !strcmp(argv[1], "decide");
	const char *db = NULL, *decision = NULL, *note = NULL;
	long long only = 0;
	int c;
	optind = deciding ? 2 : 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'd') {
			db = optarg;
		} else if (c == 'c') {
			if (!cli_int(optarg, "review: --convenzione", 1, INT64_MAX, &only))
				return EXIT_USAGE;
		} else if (deciding && c == 'D') {
			decision = optarg;
		} else if (deciding && c == 'n') {
			note = optarg;
		} else {
			usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? EXIT_OK : EXIT_USAGE;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	struct store *s;
	int rc = cli_store_open(cli_db_uri(db), &s);
	if (rc)
		return rc;
	if (deciding) {
		rc = decide(s, only, decision, note);
		store_close(s);
		return rc;
	}
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
