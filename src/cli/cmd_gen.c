/* cmd_gen — `visura gen`: writes a synthetic population in import format v1
 * (see docs/generator.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/commands.h"
#include "common/date.h"
#include "common/monotime.h"
#include "common/str.h"
#include "gen/gen.h"
#include "refdata/refdata.h"

static void gen_usage(FILE *out)
{
	fprintf(out,
		"uso: visura gen --persons N --comune CODICE[,CODICE...] --seed S --out CARTELLA\n"
		"                [--days G] [--date AAAA-MM-GG] [--producer TESTO]\n"
		"\n"
		"Scrive una popolazione sintetica di anagrafi comunali nel formato di\n"
		"importazione v1 (docs/import-format.md, docs/generator.md).\n"
		"\n"
		"  --persons N    popolazione residente dell'intera esecuzione, divisa in parti\n"
		"                 uguali tra i comuni (i primi ne hanno una in più quando N non\n"
		"                 si divide esattamente); i file FULL elencano anche le persone\n"
		"                 cancellate nell'anno prima dell'estrazione, come fa un'anagrafe\n"
		"  --comune LISTA codici ISTAT (6 cifre) di comuni attivi, separati da virgole\n"
		"  --seed S       seme del generatore pseudo-casuale (intero senza segno a 64 bit)\n"
		"  --out CARTELLA cartella di destinazione (creata se manca)\n"
		"  --days G       file DELTA giornalieri dopo il FULL (predefinito 0, al massimo %d)\n"
		"  --date DATA    data di estrazione dell'istantanea FULL (predefinita 2026-01-01,\n"
		"                 così che lo stesso seme e gli stessi argomenti diano file\n"
		"                 identici byte per byte)\n"
		"  --producer T   campo producer delle intestazioni (predefinito visura-gen/<versione>)\n"
		"\n"
		"Per ogni comune scrive CARTELLA/<istat>-000001-FULL.tsv (ora di estrazione\n"
		"<data>T23:00:00Z, sequenza 1) e CARTELLA/<istat>-<seq>-DELTA.tsv per i G\n"
		"giorni successivi (sequenze 2..G+1).  Il riepilogo va su stderr.\n"
		"codice di uscita: 0 riuscito, 1 valore di un'opzione non valido (ad es. comune\n"
		"sconosciuto), 2 uso errato, 3 errore durante l'esecuzione\n",
		GEN_MAX_DAYS);
}

/* --name value or --name=value; returns the value or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	const char *a = argv[*i];
	if (strncmp(a, name, n))
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] == '\0' && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

static bool ensure_dir(const char *dir)
{
	struct stat sb;
	if (stat(dir, &sb) == 0)
		return S_ISDIR(sb.st_mode);
	return mkdir(dir, 0777) == 0;
}

int cmd_gen(int argc, char **argv)
{
	const char *persons = NULL, *comuni = NULL, *seed = NULL, *out = NULL;
	const char *days = "0", *date = NULL, *producer = NULL;
	for (int i = 1; i < argc; i++) {
		const char *v;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			gen_usage(stdout);
			return EXIT_OK;
		} else if ((v = opt_value(argc, argv, &i, "--persons"))) {
			persons = v;
		} else if ((v = opt_value(argc, argv, &i, "--comune"))) {
			comuni = v;
		} else if ((v = opt_value(argc, argv, &i, "--seed"))) {
			seed = v;
		} else if ((v = opt_value(argc, argv, &i, "--out"))) {
			out = v;
		} else if ((v = opt_value(argc, argv, &i, "--days"))) {
			days = v;
		} else if ((v = opt_value(argc, argv, &i, "--date"))) {
			date = v;
		} else if ((v = opt_value(argc, argv, &i, "--producer"))) {
			producer = v;
		} else {
			fprintf(stderr, "visura gen: opzione sconosciuta o incompleta '%s'\n", argv[i]);
			gen_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!persons || !comuni || !seed || !out) {
		fprintf(stderr, "visura gen: --persons, --comune, --seed e --out sono obbligatori\n");
		gen_usage(stderr);
		return EXIT_USAGE;
	}
	struct gen_options o = {0};
	uint64_t v;
	if (!str_u64(persons, GEN_MAX_PERSONS, &v) || v == 0) {
		fprintf(stderr, "visura gen: --persons è un numero da 1 a %u\n", GEN_MAX_PERSONS);
		return EXIT_USAGE;
	}
	o.persons = v;
	if (!str_u64(seed, UINT64_MAX, &o.seed)) {
		fprintf(stderr, "visura gen: --seed è un intero senza segno a 64 bit\n");
		return EXIT_USAGE;
	}
	if (!str_u64(days, GEN_MAX_DAYS, &v)) {
		fprintf(stderr, "visura gen: --days è un numero da 0 a %d\n", GEN_MAX_DAYS);
		return EXIT_USAGE;
	}
	o.days = (int)v;
	if (date && !date_parse(date, strlen(date), &o.date)) {
		fprintf(stderr, "visura gen: --date è un giorno scritto AAAA-MM-GG\n");
		return EXIT_USAGE;
	}
	o.producer = producer;
	o.out_dir = out;

	/* the comma-separated list, split in a copy */
	char *list = strdup(comuni);
	const char **codes = calloc(GEN_MAX_COMUNI, sizeof *codes);
	if (!list || !codes) {
		free(list);
		free(codes);
		fprintf(stderr, "visura gen: memoria esaurita\n");
		return EXIT_RUNTIME;
	}
	int rc = EXIT_OK;
	for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (o.ncomuni == GEN_MAX_COMUNI) {
			fprintf(stderr, "visura gen: al massimo %d comuni\n", GEN_MAX_COMUNI);
			rc = EXIT_USAGE;
			break;
		}
		codes[o.ncomuni++] = tok;
	}
	o.comuni = codes;

	struct refdata *rd = NULL;
	struct vis_error e = {0};
	struct gen_stats st = {0};
	int64_t t0 = monotime_ns();
	if (rc == EXIT_OK && refdata_load(refdata_default_dir(), &rd, &e) != VIS_OK) {
		fprintf(stderr, "visura gen: %s\n", e.msg);
		rc = EXIT_RUNTIME;
	}
	if (rc == EXIT_OK && gen_options_check(rd, &o, &e) != VIS_OK) {
		fprintf(stderr, "visura gen: %s\n", e.msg);
		rc = EXIT_INVALID;
	}
	if (rc == EXIT_OK && !ensure_dir(out)) {
		fprintf(stderr, "visura gen: impossibile usare la cartella di destinazione '%s'\n", out);
		rc = EXIT_RUNTIME;
	}
	if (rc == EXIT_OK && gen_run(rd, &o, &st, &e) != VIS_OK) {
		fprintf(stderr, "visura gen: %s\n", e.msg);
		rc = e.code == VIS_ERR_INVALID ? EXIT_INVALID : EXIT_RUNTIME;
	}
	int64_t t1 = monotime_ns();
	if (rc == EXIT_OK) {
		double secs = (double)(t1 - t0) / 1e9;
		uint64_t hh = 0;
		for (int i = 0; i < GEN_HIST_SIZES; i++)
			hh += st.hh_size[i];
		fprintf(stderr,
			"visura gen: %zu comuni, %llu residenti in %llu famiglie "
			"(+%llu convivenze), %.1f%% cittadini stranieri, %.1f%% nati all'estero\n"
			"visura gen: %llu persone scritte, %llu omocodie, %llu nati sotto un codice di "
			"comune non più in vigore, %llu eventi, %llu "
			"residenti dopo %d giorni\n"
			"visura gen: %llu file, %.1f MB in %s, %.2f s\n",
			o.ncomuni, (unsigned long long)st.residents_start, (unsigned long long)hh,
			(unsigned long long)st.convivenze,
			st.residents_start ? 100.0 * (double)st.foreigners / (double)st.residents_start : 0.0,
			st.residents_start ? 100.0 * (double)st.born_abroad / (double)st.residents_start : 0.0,
			(unsigned long long)st.persons, (unsigned long long)st.omocodie,
			(unsigned long long)st.born_suppressed, (unsigned long long)st.events, (unsigned long long)st.residents_end, o.days,
			(unsigned long long)st.files, (double)st.bytes / 1e6, out, secs);
	}
	refdata_free(rd);
	free(codes);
	free(list);
	return rc;
}
