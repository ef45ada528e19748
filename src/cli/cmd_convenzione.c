/* visura convenzione — agreements from the command line (the API has the
 * same, with more options): add one with its first purpose, list them.
 * Defaults and rules are policy/convenzione's, as for the API. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/date.h"
#include "auth/auth.h"
#include "policy/convenzione.h"
#include "refdata/refdata.h"
#include "store/store.h"

static void usage(FILE *out)
{
	fprintf(out,
		"uso: visura convenzione add [--db URI] --ente-id N --reference RIF\n"
		"         --comuni ISTAT[,ISTAT...] --profile CAT[,CAT...] --valid-from DATA\n"
		"         [--valid-to DATA] [--mode consult|verify_only] [--max-results 20]\n"
		"         --purpose-code CODICE --purpose \"DESCRIZIONE\" --legal-basis \"BASE\"\n"
		"     visura convenzione list [--db URI]\n\n"
		"Categorie: identity, residence, family, parentage, citizenship, civil_status,\n"
		"vital_status, history.  Limiti, accesso di emergenza, certificati delle\n"
		"postazioni, sottoscrizioni agli eventi: PATCH /api/v1/convenzioni/ID\n"
		"(docs/api.md).\n");
}

static int print_conv(void *ctx, const void *rec)
{
	(void)ctx;
	const struct store_convenzione *c = rec;
	printf("%lld\t%lld\t%s\t%s\t%s\t%s\t%s\n", (long long)c->id, (long long)c->ente_id,
	       c->reference, c->state, c->mode, c->comuni, c->profile);
	return 0;
}

int cmd_convenzione(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'}, {"ente-id", required_argument, NULL, 'e'},
		{"reference", required_argument, NULL, 'r'}, {"comuni", required_argument, NULL, 'c'},
		{"profile", required_argument, NULL, 'p'}, {"valid-from", required_argument, NULL, 'f'},
		{"valid-to", required_argument, NULL, 't'}, {"mode", required_argument, NULL, 'm'},
		{"max-results", required_argument, NULL, 'x'},
		{"purpose-code", required_argument, NULL, 'C'}, {"purpose", required_argument, NULL, 'P'},
		{"legal-basis", required_argument, NULL, 'L'}, {"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	if (argc < 2 || cli_help_arg(argv[1])) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[1], "add") && strcmp(argv[1], "list")) {
		fprintf(stderr, "visura: convenzione: sotto-comando sconosciuto '%s'\n", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	struct store_convenzione c;
	convenzione_defaults(&c); /* the same as POST /api/v1/convenzioni */
	struct store_purpose p = {0};
	/* the text options and the fields they fill */
	const struct {
		int ch;
		char *dst;
		size_t cap;
		const char *option;
	} texts[] = {
		{'r', c.reference, sizeof c.reference, "--reference"},
		{'c', c.comuni, sizeof c.comuni, "--comuni"},
		{'p', c.profile, sizeof c.profile, "--profile"},
		{'m', c.mode, sizeof c.mode, "--mode"},
		{'C', p.code, sizeof p.code, "--purpose-code"},
		{'P', p.description, sizeof p.description, "--purpose"},
		{'L', p.legal_basis, sizeof p.legal_basis, "--legal-basis"},
	};
	const char *db = NULL;
	int ch;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		const char *v = optarg;
		switch (ch) {
		case 'd': db = v; break;
		case 'e':
		case 'x': {
			long long n;
			if (!cli_int(v, ch == 'e' ? "convenzione: --ente-id" : "convenzione: --max-results",
				     1, 1000000000, &n))
				return EXIT_USAGE;
			if (ch == 'e')
				c.ente_id = n;
			else
				c.max_results = (int)n;
			break;
		}
		case 'r': case 'c': case 'p': case 'm': case 'C': case 'P': case 'L':
			for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++)
				if (texts[k].ch == ch && !cli_copy(texts[k].dst, texts[k].cap, v,
								   texts[k].option))
					return EXIT_USAGE;
			break;
		case 'f':
		case 't':
			if (!date_parse(v, strlen(v), ch == 'f' ? &c.valid_from : &c.valid_to)) {
				fprintf(stderr, "visura: convenzione: le date sono AAAA-MM-GG\n");
				return EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	struct store *s;
	int rc = cli_store_open(cli_db_uri(db), &s);
	if (rc)
		return rc;
	struct vis_error e = {0};
	if (!strcmp(argv[1], "list")) {
		printf("id\tente_id\treference\tstate\tmode\tcomuni\tprofile\n");
		rc = store_rec_list(s, STORE_CONVENZIONE, NULL, 0, print_conv, NULL, &e) ? EXIT_RUNTIME
											 : EXIT_OK;
	} else if (!strcmp(argv[1], "add")) {
		struct refdata *rd = NULL;
		if ((rc = cli_refdata_load(&rd)) == EXIT_OK) {
			int64_t now = (int64_t)time(NULL);
			vis_err vrc = convenzione_create(s, rd, &c, &p, now, &e);
			if (vrc) {
				cli_error("convenzione add", &e);
				rc = vis_err_store(vrc) || vrc == VIS_ERR_NOMEM ? EXIT_RUNTIME
										: EXIT_INVALID;
			} else {
				auth_event(s, now, "agreement_created", NULL, "visura convenzione add",
					   "cli", c.reference);
				printf("convenzione %lld per l'ente %lld, finalità %lld (%s)\n", (long long)c.id,
				       (long long)c.ente_id, (long long)p.id, p.code);
			}
		}
		refdata_free(rd);
	} else {
		usage(stderr);
		rc = EXIT_USAGE;
	}
	store_close(s);
	return rc;
}
