/* visura query — reads the register replica from the command line, for the
 * registry office and for checking imports: a person by codice fiscale, a
 * household, a person's history, population counts, each "as of" a date. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/date.h"
#include "store/store.h"

static void usage(FILE *out)
{
	fprintf(out,
		"uso: visura query [--db URI] [--as-of AAAA-MM-GG] [--comune ISTAT] COSA ...\n\n"
		"  person CF                 la versione della persona valida alla data\n"
		"  history COMUNE ID_PERSONA tutte le versioni di una persona, dalla più vecchia\n"
		"  household COMUNE ID_FAM   la famiglia e i suoi componenti iscritti\n"
		"  counts                    persone iscritte, persone cancellate, famiglie ed\n"
		"                            eventi (tutti i comuni, salvo --comune)\n\n"
		"Le righe sono separate da tabulazioni, con una riga di intestazione (i nomi\n"
		"delle colonne restano come sono: gli script li leggono); date AAAA-MM-GG;\n"
		"un valid_to '-' indica la versione in vigore.\n"
		"codice di uscita: 0 trovato, 1 non trovato, 2 uso errato, 3 errore durante\n"
		"l'esecuzione\n");
}

static void print_date(int d)
{
	char buf[11];
	if (!d) {
		fputs("-", stdout);
		return;
	}
	date_format(d, buf);
	fputs(buf, stdout);
}

static const char person_header[] =
	"comune\tid\tvalid_from\tvalid_to\tcf\tsurname\tname\tsex\tbirth_date\t"
	"birth_place\tcitizenships\tcivil_status\tcivil_status_date\tfather\tmother\t"
	"reg_reason\treg_date\tcanc_reason\tcanc_date\tdestination\tfamily_id\trelationship\n";

static int print_person(void *ctx, const struct store_person *p)
{
	int *rows = ctx;
	(*rows)++;
	printf("%s\t%s\t", p->comune, p->id);
	print_date(p->valid_from);
	putchar('\t');
	print_date(p->valid_to);
	printf("\t%s\t%s\t%s\t%c\t", p->cf, p->surname, p->name, p->sex);
	print_date(p->birth_date);
	printf("\t%s\t%s\t%d\t", p->birth_place, p->citizenships, p->civil_status);
	print_date(p->civil_status_date);
	printf("\t%s\t%s\t%d\t", p->father_cf, p->mother_cf, p->reg_reason);
	print_date(p->reg_date);
	printf("\t%d\t", p->canc_reason);
	print_date(p->canc_date);
	printf("\t%s\t%s\t%d\n", p->destination, p->family_id, p->relationship);
	return 0;
}

static int query(struct store *s, int argc, char **argv, const char *comune, int date)
{
	struct vis_error e = {0};
	int rows = 0;
	const char *what = argv[0];
	if (!strcmp(what, "person") && argc == 2) {
		struct store_person p;
		bool found;
		if (store_person_by_cf(s, comune, argv[1], date, &p, &found, &e))
			goto fail;
		fputs(person_header, stdout);
		if (found)
			print_person(&rows, &p);
	} else if (!strcmp(what, "history") && argc == 3) {
		fputs(person_header, stdout);
		if (store_person_history(s, argv[1], argv[2], print_person, &rows, &e))
			goto fail;
	} else if (!strcmp(what, "household") && argc == 3) {
		struct store_family f;
		bool found;
		if (store_family_get(s, argv[1], argv[2], date, &f, &found, &e))
			goto fail;
		if (!found)
			return EXIT_INVALID;
		printf("comune\tid\tkind\tvalid_from\tvalid_to\tdug\tstreet\tcivic\tcivic_ext\t"
		       "scala\tinterno\tcap\tlocality\tconvivenza\n");
		printf("%s\t%s\t%d\t", f.comune, f.id, f.kind);
		print_date(f.valid_from);
		putchar('\t');
		print_date(f.valid_to);
		printf("\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n\n", f.dug, f.street, f.civic,
		       f.civic_ext, f.scala, f.interno, f.cap, f.locality, f.convivenza);
		fputs(person_header, stdout);
		if (store_family_members(s, argv[1], argv[2], date, print_person, &rows, &e))
			goto fail;
		rows = 1;
	} else if (!strcmp(what, "counts") && argc == 1) {
		struct store_counts c;
		if (store_counts_get(s, comune, date, &c, &e))
			goto fail;
		printf("persons\tcancelled\thouseholds\tevents\n%lld\t%lld\t%lld\t%lld\n",
		       (long long)c.persons, (long long)c.cancelled, (long long)c.families,
		       (long long)c.events);
		rows = 1;
	} else {
		usage(stderr);
		return EXIT_USAGE;
	}
	return rows ? EXIT_OK : EXIT_INVALID;
fail:
	cli_error("query", &e);
	return EXIT_RUNTIME;
}

int cmd_query(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"as-of", required_argument, NULL, 'a'},
		{"comune", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *db = NULL, *comune = "";
	int date = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'c': comune = optarg; break;
		case 'a':
			if (!date_parse(optarg, strlen(optarg), &date)) {
				fprintf(stderr, "visura: query: --as-of è una data AAAA-MM-GG\n");
				return EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	struct store *s = NULL;
	int rc = cli_store_open(cli_db_uri(db), &s);
	if (rc == EXIT_OK)
		rc = query(s, argc - optind, argv + optind, comune, date);
	store_close(s);
	return rc;
}
