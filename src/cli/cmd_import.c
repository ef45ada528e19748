/* visura import — loads daily export files (import format v1) into the
 * register replica, all or nothing per file. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/date.h"
#include "common/fsmode.h"
#include "common/monotime.h"
#include "import/import.h"
#include "refdata/refdata.h"
#include "store/store.h"

static void usage(FILE *out)
{
	fprintf(out,
		"uso: visura import [--db URI] [--rejects PERCORSO] [--quiet] FILE...\n\n"
		"Carica ogni FILE (formato di importazione v1, vedere docs/import-format.md)\n"
		"nell'ordine dato.  Un file si applica per intero o per niente: quando un\n"
		"record è respinto non si scrive nulla, i problemi sono elencati nel\n"
		"rapporto degli scarti (FILE.rejects, o PERCORSO con un solo FILE) e il\n"
		"comando si ferma lì.  Caricare un file già caricato non cambia nulla.\n\n"
		"  --db URI            sqlite:PERCORSO, un percorso, o postgres:CONNINFO\n"
		"                      (predefinito $VISURA_DB o " VISURA_DB_DEFAULT ")\n"
		"  --rejects PERCORSO  dove scrivere il rapporto degli scarti (un solo FILE)\n"
		"  --quiet             senza barra di avanzamento\n\n"
		"codice di uscita: 0 tutti i file caricati, 1 un file respinto, 2 uso errato,\n"
		"3 errore durante l'esecuzione (database, I/O)\n");
}

static int import_one(struct store *s, const struct refdata *rd, const char *path,
		      const char *rejects, bool quiet)
{
	char report[4096];
	int n = rejects ? (int)strlen(rejects)
			: snprintf(report, sizeof report, "%s.rejects", path);
	if ((rejects && !CLI_COPY(report, rejects, "--rejects")) ||
	    (size_t)n >= sizeof report) {
		fprintf(stderr, "visura: import: percorso del rapporto degli scarti troppo lungo\n");
		return EXIT_USAGE;
	}
	struct vis_error re = {0};
	if (fsmode_replaceable(report, "rapporto degli scarti", &re)) {
		cli_error("import", &re);
		return EXIT_USAGE;
	}
	unlink(report);
	FILE *in = fopen(path, "rb");
	if (!in) {
		fprintf(stderr, "visura: import: impossibile aprire '%s'\n", path);
		return EXIT_RUNTIME;
	}
	struct stat st;
	const char *base = strrchr(path, '/');
	struct import_options opt = {
		.source = base ? base + 1 : path,
		.rejects_path = report,
		.progress = !quiet && isatty(STDERR_FILENO),
		.size_hint = fstat(fileno(in), &st) == 0 ? st.st_size : 0,
	};
	struct import_result res;
	struct vis_error e = {0};
	int64_t t0 = monotime_ns();
	vis_err rc = import_stream(s, rd, in, &opt, &res, &e);
	double secs = (double)(monotime_ns() - t0) / 1e9;
	fclose(in);
	if (rc == VIS_ERR_INVALID && res.rejects_error[0]) {
		fprintf(stderr, "visura: import: %s respinto, database invariato (problemi: %lld); "
			"rapporto degli scarti non scritto: %s\n", path, (long long)res.problems,
			res.rejects_error);
		return EXIT_INVALID;
	}
	if (rc == VIS_ERR_INVALID) {
		fprintf(stderr, "visura: import: %s respinto, database invariato (problemi: %lld), "
			"vedere %s\n", path, (long long)res.problems, report);
		return EXIT_INVALID;
	}
	if (rc != VIS_OK) {
		cli_error("import", &e);
		return EXIT_RUNTIME;
	}
	if (res.already_loaded) {
		printf("%s: comune %s sequenza %lld già caricata, nessuna modifica\n", path,
		       res.hdr.comune, (long long)res.hdr.seq);
		return EXIT_OK;
	}
	const struct store_import_counts *c = &res.counts;
	printf("%s: comune %s sequenza %lld %s: %lld persone, %lld famiglie, %lld eventi; "
	       "inseriti %lld, aggiornati %lld, invariati %lld, chiusi %lld, respinti 0 "
	       "(%.2f s, %.0f persone/s)\n",
	       path, res.hdr.comune, (long long)res.hdr.seq, res.hdr.full ? "FULL" : "DELTA",
	       (long long)c->persons, (long long)c->families, (long long)c->events,
	       (long long)c->inserted, (long long)c->updated, (long long)c->unchanged,
	       (long long)c->closed, secs, secs > 0 ? c->persons / secs : 0.0);
	return EXIT_OK;
}

int cmd_import(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"rejects", required_argument, NULL, 'r'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	const char *db = NULL, *rejects = NULL;
	bool quiet = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'r': rejects = optarg; break;
		case 'q': quiet = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind == argc || (rejects && argc - optind > 1)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	struct refdata *rd = NULL;
	struct store *s = NULL;
	int rc = cli_refdata_load(&rd);
	if (rc == EXIT_OK)
		rc = cli_store_open(cli_db_uri(db), &s);
	for (int i = optind; rc == EXIT_OK && i < argc; i++)
		rc = import_one(s, rd, argv[i], rejects, quiet);
	store_close(s);
	refdata_free(rd);
	return rc;
}
