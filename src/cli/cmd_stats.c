/* visura stats — demographic statistics with small-cell protection. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "app/app.h"
#include "bollettino/bollettino.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "common/config.h"
#include "common/date.h"
#include "common/fsmode.h"
#include "common/str.h"
#include "refdata/refdata.h"
#include "stats/cache.h"
#include "stats/series.h"
#include "stats/stats.h"
#include "stats/tables.h"
#include "store/store.h"
#include "web/web.h"

static void usage(FILE *out)
{
	fprintf(out,
		"uso: visura stats --table NOME [--comune ISTAT[,ISTAT...]] [--year AAAA]\n"
		"                  [--date AAAA-MM-01] [--from AAAA-MM --to AAAA-MM]\n"
		"                  [--period mese|anno]\n"
		"                  [--threshold N] [--format json|csv]\n"
		"     visura stats --series INDICATORE[,INDICATORE...]\n"
		"                  [--comune ISTAT[,ISTAT...]] [--by-comune | --by-provincia]\n"
		"                  [--from AAAA-MM --to AAAA-MM] [--step month|year]\n"
		"                  [--threshold N] [--format json|csv]\n"
		"     visura stats report --comune ISTAT --month AAAA-MM [--out CARTELLA] [--verify]\n"
		"     visura stats schedule [--enable ISTAT | --disable ISTAT]\n"
		"     visura stats regenerate [--comune ISTAT] [--month AAAA-MM]\n\n"
		"Le celle da 1 a soglia-1 persone (predefinita 3) sono nascoste, con\n"
		"soppressione secondaria, dall'unica regola di ogni tavola, serie e bollettino;\n"
		"una soglia sotto stats_threshold_min della configurazione (FILE; predefinito\n"
		"3) è rifiutata.  Il vecchio riepilogo (senza --table né --series) è ritirato.\n\n"
		"--table dà una tavola standard, nel formato dell'ISTAT: posas (residenti per\n"
		"sesso e singolo anno di età al 1° gennaio di --year), strasa (residenti\n"
		"stranieri per sesso ed età), strasa_cittadinanza (per cittadinanza e sesso),\n"
		"strasa_cittadinanza_eta (per cittadinanza, sesso ed età), famiglie\n"
		"(famiglie per numero di componenti), famiglie_tipologia (famiglie per\n"
		"tipologia ISTAT e numero di componenti), stato_civile (residenti per sesso,\n"
		"singolo anno di età e stato civile, coerente con posas), bilancio (bilancio\n"
		"demografico per mese, o per anno con --period anno, sui mesi interi\n"
		"--from..--to dentro il periodo coperto dall'anagrafe), localita e strade (un\n"
		"solo --comune: residenti per sesso, classe di età e cittadinanza, famiglie,\n"
		"indice di vecchiaia ed età media, per località o via dell'indirizzo della\n"
		"loro famiglia).\n"
		"Le tavole di stock sono al 1° gennaio di --year, o alla --date, il primo\n"
		"giorno di un mese (AAAA-MM-01); un altro giorno, o un bilancio da o fino a un\n"
		"giorno, è rifiutato: le tavole di due giorni differirebbero per flussi non\n"
		"protetti.\n"
		"Si pubblicano solo periodi che l'anagrafe copre per intero: un mese quando\n"
		"ogni comune richiesto è importato fino al suo ultimo giorno (il giorno prima\n"
		"di quello in cui un'estrazione è stata letta, in ora italiana), una tavola di\n"
		"stock alla --date quando lo è il giorno prima; il mese in corso è rifiutato,\n"
		"indicando l'ultimo completo (un bilancio o una serie senza --to finisce lì).\n"
		"Ogni totale di riga e di colonna conserva almeno due celle nascoste che\n"
		"insieme arrivano alla soglia (soppressione secondaria).\n\n"
		"--series segue un indicatore mese per mese (o anno per anno con --step year),\n"
		"o più di uno, separati da virgole, da un'unica lettura della storia, ciascuno\n"
		"come da solo, calcolato all'ultimo giorno di ogni periodo dalla storia\n"
		"dell'anagrafe, dentro il periodo che essa copre; --by-comune dà una serie per\n"
		"comune, --by-provincia una per provincia (i suoi comuni presenti\n"
		"nell'anagrafe messi insieme).\n"
		"Indicatori: %s.\n\n"
		"report prepara il bollettino mensile di un comune (il bilancio del mese, i\n"
		"residenti per classe di età, i residenti stranieri, le famiglie, gli\n"
		"indicatori e un breve testo, con la stessa protezione) e lo archivia, pagina\n"
		"stampabile e PDF, come fa la pianificazione del server; un mese già\n"
		"archiviato resta com'è.  --out scrive anche\n"
		"CARTELLA/bollettino-ISTAT-AAAA-MM.html e .pdf.  --verify non archivia nulla:\n"
		"rigenera il mese archiviato, come al momento della sua generazione, e\n"
		"confronta lo SHA-256 del PDF con quello archiviato (codice di uscita 0 se\n"
		"uguale, 3 se diverso); con --out scrive il PDF rigenerato come\n"
		"CARTELLA/bollettino-ISTAT-AAAA-MM-verifica.pdf.  schedule attiva o ferma il\n"
		"bollettino mensile di un comune (il server archivia ciascuno per il mese\n"
		"appena chiuso, quando l'anagrafe lo copre), poi li elenca.\n"
		"Un bollettino protetto con una regola di protezione precedente (un\n"
		"aggiornamento ha cambiato che cosa si nasconde) è ritirato: non servito,\n"
		"conservato nel database.  regenerate rifà quelli ritirati (di --comune, di\n"
		"--month, o tutti) con la regola attuale, come fa l'esecuzione mensile del\n"
		"server con il bollettino successivo; un mese che l'anagrafe non copre più\n"
		"resta ritirato (codice di uscita 3).\n",
		stats_series_indicators());
}

/* The options shared by report and schedule. */
struct bulletin_args {
	const char *db, *config, *comune, *month, *out, *enable, *disable;
	bool verify;
};

static int bulletin_args(int argc, char **argv, struct bulletin_args *a)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'}, {"config", required_argument, NULL, 'C'},
		{"comune", required_argument, NULL, 'c'}, {"month", required_argument, NULL, 'm'},
		{"out", required_argument, NULL, 'o'}, {"enable", required_argument, NULL, 'e'},
		{"disable", required_argument, NULL, 'x'}, {"help", no_argument, NULL, 'h'},
		{"verify", no_argument, NULL, 'v'},
		{0, 0, 0, 0},
	};
	memset(a, 0, sizeof *a);
	const char **dst[] = {['d'] = &a->db, ['C'] = &a->config, ['c'] = &a->comune,
			      ['m'] = &a->month, ['o'] = &a->out, ['e'] = &a->enable,
			      ['x'] = &a->disable};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return -1;
		}
		if (c == 'v') {
			a->verify = true;
			continue;
		}
		if (c == '?' || c < 0 || c >= (int)(sizeof dst / sizeof dst[0]) || !dst[c]) {
			usage(stderr);
			return EXIT_USAGE;
		}
		*dst[c] = optarg;
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4096];
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
		fprintf(stderr, "visura: stats report: --out: percorso troppo lungo\n");
		return EXIT_USAGE;
	}
	struct vis_error e = {0};
	FILE *f = fsmode_fopen_write(path, "--out", &e);
	if (!f) {
		cli_error("stats report", &e);
		return e.code == VIS_ERR_INVALID ? EXIT_USAGE : EXIT_RUNTIME;
	}
	bool ok = fwrite(data, 1, len, f) == len;
	if (fclose(f) != 0 || !ok) {
		fprintf(stderr, "visura: stats report: non posso scrivere %s\n", path);
		return EXIT_RUNTIME;
	}
	printf("%s\n", path);
	return EXIT_OK;
}

static int print_enabled(void *ctx, const char *comune, int64_t since)
{
	const struct refdata *rd = ctx;
	const struct ref_comune *c = refdata_comune_by_istat(rd, comune, 0);
	char d[11];
	date_format(date_from_days(since / 86400), d);
	printf("%s\t%s\tdal %s\n", comune, c ? c->name : "", d);
	return 0;
}

static int print_archived(void *ctx, const struct store_bollettino *b)
{
	const int *threshold = ctx;
	const char *why = b->regola != STATS_PROTECTION_RULE
				  ? "\tritirato: protetto con una regola precedente"
				  : "\tritirato: fatto con un'altra soglia di quella configurata";
	printf("  %s\t%04d-%02d\tPDF sha256 %s%s\n", b->comune, b->mese / 100, b->mese % 100,
	       b->sha256, bollettino_current(b, *threshold) ? "" : why);
	return 0;
}

/* The municipalities enabled, then the archive. */
static vis_err cli_bulletin_list(struct store *s, const struct refdata *rd, int threshold,
				 struct vis_error *e)
{
	printf("comuni con il bollettino mensile:\n");
	vis_err rc = store_bollettino_comune_each(s, print_enabled, (void *)rd, e);
	if (!rc) {
		printf("archivio:\n");
		rc = store_bollettino_each(s, "", print_archived, &threshold, e);
	}
	return rc;
}

static void print_regen(const struct bollettino_regen *g, int threshold)
{
	if (g->done)
		printf("bollettino %s %04d-%02d rigenerato con la regola %d (era %d) e la soglia %d "
		       "(era %d; PDF sha256 %s)\n", g->comune, g->mese / 100, g->mese % 100,
		       STATS_PROTECTION_RULE, g->was, threshold, g->was_soglia, g->sha256);
	else
		printf("bollettino %s %04d-%02d non rigenerato, resta ritirato: %s\n", g->comune,
		       g->mese / 100, g->mese % 100, g->why);
}

/* visura stats regenerate: the withdrawn bulletins made again. */
static int cli_bulletin_regenerate(struct store *s, const struct refdata *rd,
				   const struct bollettino_opts *opts, const char *comune, int mese)
{
	struct bollettino_opts o = *opts;
	/* the run's own: the members of a province share a protection */
	o.cache = stats_cache_new(STATS_CACHE_ENTRIES, STATS_CACHE_BYTES);
	struct bollettino_actor by = {.via = "riga di comando"};
	struct bollettino_regen *g;
	int n, rc = EXIT_OK;
	struct vis_error e = {0};
	vis_err err = bollettino_regenerate(s, rd, comune, mese, &o, &by, &g, &n, &e);
	stats_cache_free(o.cache);
	if (err) {
		cli_error("stats regenerate", &e);
		return EXIT_RUNTIME;
	}
	for (int i = 0; i < n; i++) {
		print_regen(&g[i], o.threshold);
		if (!g[i].done)
			rc = EXIT_RUNTIME;
	}
	if (!n)
		printf("nessun bollettino ritirato: tutti protetti con la regola attuale (%d) e "
		       "la soglia configurata (%d)\n", STATS_PROTECTION_RULE, o.threshold);
	free(g);
	return rc;
}

/* visura stats report / schedule / regenerate */
static int cmd_bulletin(int argc, char **argv, bool report)
{
	bool regen = !strcmp(argv[1], "regenerate");
	struct bulletin_args a;
	int rc = bulletin_args(argc - 1, argv + 1, &a);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	int mese = 0;
	if (report && (!a.comune || !a.month || !stats_month_parse(a.month, &mese))) {
		fprintf(stderr, "visura: stats report: --comune ISTAT e --month AAAA-MM\n");
		return EXIT_USAGE;
	}
	if (regen && (a.enable || a.disable || a.out || a.verify ||
		      (a.month && !stats_month_parse(a.month, &mese)) ||
		      (a.comune && !str_digits(a.comune, 6)))) {
		fprintf(stderr, "visura: stats regenerate: [--comune ISTAT] [--month AAAA-MM]\n");
		return EXIT_USAGE;
	}
	const char *which = a.enable ? a.enable : a.disable;
	if (!report && which && !str_digits(which, 6)) {
		fprintf(stderr, "visura: stats schedule: il comune è un codice ISTAT di sei cifre\n");
		return EXIT_USAGE;
	}
	struct config cfg;
	config_defaults(&cfg);
	struct vis_error e = {0};
	if (a.config && config_load_file(&cfg, a.config, &e)) {
		cli_error("config", &e);
		return EXIT_USAGE;
	}
	/* the interface's boundaries, for the maps: as the server loads them */
	struct web_assets *ui = NULL;
	if ((report || regen) && app_ui_load(&cfg, &ui, &e)) {
		cli_error("ui_dir", &e);
		return EXIT_USAGE;
	}
	struct bollettino_opts o;
	bollettino_opts_init(&o, &cfg, ui, date_today(), time(NULL));
	struct refdata *rd = NULL;
	struct store *s = NULL;
	rc = cli_refdata_load(&rd);
	if (rc == EXIT_OK)
		rc = cli_store_open(cli_db_uri(a.db ? a.db : a.config ? cfg.db : NULL), &s);
	if (rc == EXIT_OK && !report && which && !refdata_comune_by_istat(rd, which, 0)) {
		fprintf(stderr, "visura: stats schedule: %s non è il codice ISTAT di un comune\n",
			which);
		rc = EXIT_INVALID;
	}
	if (rc == EXIT_OK && regen) {
		rc = cli_bulletin_regenerate(s, rd, &o, a.comune ? a.comune : "", mese);
	} else if (rc == EXIT_OK && !report) {
		bool changed = false;
		if (which && store_bollettino_comune_set(s, which, a.enable != NULL, time(NULL),
							 &changed, &e)) {
			cli_error("stats schedule", &e);
			rc = EXIT_RUNTIME;
		}
		if (rc == EXIT_OK && which)
			printf("%s: bollettino mensile %s%s\n", which,
			       a.enable ? "attivato" : "disattivato", changed ? "" : " (già così)");
		if (rc == EXIT_OK && cli_bulletin_list(s, rd, cfg.stats_threshold_min, &e)) {
			cli_error("stats schedule", &e);
			rc = EXIT_RUNTIME;
		}
	}
	if (rc == EXIT_OK && report && a.verify) {
		struct bollettino_check ck;
		vis_err v = bollettino_verify(s, rd, a.comune, mese, &o, &ck, &e);
			if (v) {
			cli_error("stats report", &e);
			rc = v == VIS_ERR_INVALID || v == VIS_ERR_NOTFOUND || v == VIS_ERR_CONFLICT
				     ? EXIT_INVALID
				     : EXIT_RUNTIME;
		} else {
			printf("bollettino %s %s: PDF in archivio sha256 %s, rigenerato sha256 %s: %s\n",
			       a.comune, a.month, ck.archived, ck.fresh,
			       ck.same ? "identico" : "DIVERSO");
			if (a.out) {
				char name[80];
				/* comune of 6 digits and a month of 7, checked above */
				STR_FMT_KNOWN(name, "bollettino-%s-%s-verifica.pdf", a.comune,
					      a.month);
				rc = write_file(a.out, name, ck.pdf, ck.pdf_len);
			}
			if (rc == EXIT_OK && !ck.same)
				rc = EXIT_RUNTIME;
		}
		free(ck.pdf);
	} else if (rc == EXIT_OK && report) {
		bool stored;
		char sha[65];
		vis_err v = bollettino_publish(s, rd, a.comune, mese, &o, &stored, sha, &e);
			if (v) {
			cli_error("stats report", &e);
			rc = v == VIS_ERR_INVALID ? EXIT_INVALID : EXIT_RUNTIME;
		} else if (stored)
			printf("bollettino %s %s archiviato (PDF sha256 %s)\n", a.comune, a.month, sha);
		else {
			struct store_bollettino b;
			char *html, *pdf64;
			bool found = false;
			if (store_bollettino_get(s, a.comune, mese, &b, &html, &pdf64, &found, &e)) {
				cli_error("stats report", &e);
				rc = EXIT_RUNTIME;
			}
			free(html);
			free(pdf64);
			if (found && !bollettino_current(&b, o.threshold)) {
				fprintf(stderr, "visura: stats report: bollettino %s %s già in archivio "
					"ma ritirato (protetto con la regola %d e la soglia %d, ora %d e "
					"%d): si rigenera con visura stats regenerate\n", a.comune,
					a.month, b.regola, b.soglia, STATS_PROTECTION_RULE, o.threshold);
				rc = EXIT_INVALID;
			} else if (rc == EXIT_OK)
				printf("bollettino %s %s già in archivio: resta quello\n", a.comune,
				       a.month);
		}
		if (rc == EXIT_OK && a.out) {
			struct store_bollettino b;
			char *html, *pdf64;
			bool found;
			if (store_bollettino_get(s, a.comune, mese, &b, &html, &pdf64, &found, &e)) {
				cli_error("stats report", &e);
				rc = EXIT_RUNTIME;
			} else {
				size_t cap = strlen(pdf64), len = 0;
				unsigned char *pdf = malloc(cap + 1);
				char name[64];
				/* comune of 6 digits and a month of 7, checked above */
				STR_FMT_KNOWN(name, "bollettino-%s-%s.html", a.comune, a.month);
				rc = write_file(a.out, name, html, strlen(html));
				if (!pdf || sodium_base642bin(pdf, cap + 1, pdf64, cap, NULL, &len, NULL,
							     sodium_base64_VARIANT_ORIGINAL))
					rc = EXIT_RUNTIME;
				/* comune of 6 digits and a month of 7, checked above */
				STR_FMT_KNOWN(name, "bollettino-%s-%s.pdf", a.comune, a.month);
				if (rc == EXIT_OK)
					rc = write_file(a.out, name, pdf, len);
				free(pdf);
				free(html);
				free(pdf64);
			}
		}
	}
	store_close(s);
	refdata_free(rd);
	web_free(ui);
	return rc;
}

int cmd_stats(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "report") || !strcmp(argv[1], "schedule") ||
			 !strcmp(argv[1], "regenerate")))
		return cmd_bulletin(argc, argv, !strcmp(argv[1], "report"));
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'}, {"comune", required_argument, NULL, 'c'},
		{"threshold", required_argument, NULL, 't'}, {"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 'T'}, {"format", required_argument, NULL, 'F'},
		{"config", required_argument, NULL, 'C'}, {"help", no_argument, NULL, 'h'},
		{"table", required_argument, NULL, 'b'}, {"year", required_argument, NULL, 'y'},
		{"date", required_argument, NULL, 'D'}, {"period", required_argument, NULL, 'p'},
		{"series", required_argument, NULL, 'S'}, {"step", required_argument, NULL, 'P'},
		{"by-comune", no_argument, NULL, 'B'}, {"by-provincia", no_argument, NULL, 'R'},
		{0, 0, 0, 0},
	};
	struct stats_table_query tq = {.threshold = -1};   /* -1: the floor */
	struct stats_series_query sq = {0};
	struct vis_error se = {0};
	const char *from = NULL, *to = NULL, *date = NULL;
	bool table = false, series = false;
	const char *db = NULL, *format = "json", *config = NULL;
	struct config cfg;
	config_defaults(&cfg);
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		const char *v = optarg;
		switch (c) {
		case 'd': db = v; break;
		case 'C': config = v; break;
		case 'c':
			if (!CLI_COPY(tq.comuni, v, "--comuni"))
				return EXIT_USAGE;
			break;
		case 't': {
			int64_t thr;
			if (!str_uint(v, 999999999, &thr)) {
				fprintf(stderr, "visura: stats: --threshold è un numero\n");
				return EXIT_USAGE;
			}
			tq.threshold = (int)thr;
			break;
		}
		case 'F': format = v; break;
		case 'b':
			if (!stats_table_parse(v, &tq.table)) {
				fprintf(stderr, "visura: stats: --table: una tra %s\n",
					stats_table_names());
				return EXIT_USAGE;
			}
			table = true;
			break;
		case 'S':
			if (stats_series_parse(v, &sq, &se)) {
				cli_error("stats: --series", &se);
				return EXIT_USAGE;
			}
			series = true;
			break;
		case 'P':
			if (strcmp(v, "month") && strcmp(v, "year")) {
				fprintf(stderr, "visura: stats: --step: month oppure year\n");
				return EXIT_USAGE;
			}
			sq.yearly = !strcmp(v, "year");
			break;
		case 'B': sq.by_comune = true; break;
		case 'R': sq.by_provincia = true; break;
		case 'y':
			tq.year = atoi(v);
			if (!str_digits(v, 4) || tq.year < 1900) {
				fprintf(stderr, "visura: stats: --year: un anno (AAAA)\n");
				return EXIT_USAGE;
			}
			break;
		case 'p':
			if (strcmp(v, "mese") && strcmp(v, "anno")) {
				fprintf(stderr, "visura: stats: --period: mese oppure anno\n");
				return EXIT_USAGE;
			}
			tq.yearly = !strcmp(v, "anno");
			break;
		case 'f': from = v; break;
		case 'T': to = v; break;
		case 'D': date = v; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc || (strcmp(format, "json") && strcmp(format, "csv")) ||
	    (table && series)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!table && !series) {
		fprintf(stderr, "visura: stats: il riepilogo statistico è stato ritirato: usare "
			"--table NAME (posas, famiglie, bilancio, ...) o --series INDICATOR, "
			"protetti da un'unica regola di segreto statistico\n");
		return EXIT_USAGE;
	}
	struct vis_error e = {0};
	/* --date, --from, --to of a table: as the API takes them */
	if (table && stats_table_dates(&tq, date, from, to, &e)) {
		cli_error("stats", &e);
		return EXIT_USAGE;
	}
	if (series && date) {
		fprintf(stderr, "visura: stats: --date è delle tavole (--table), non delle serie\n");
		return EXIT_USAGE;
	}
	/* --from/--to of a series: months */
	const char *ends[] = {from, to};
	int *months[] = {&sq.from, &sq.to};
	for (int i = 0; i < 2 && series; i++) {
		if (!ends[i])
			continue;
		if (!stats_month_parse(ends[i], months[i])) {
			fprintf(stderr, "visura: stats: --series: --from e --to sono mesi (AAAA-MM)\n");
			return EXIT_USAGE;
		}
	}
	if (config && config_load_file(&cfg, config, &e)) {
		cli_error("config", &e);
		return EXIT_USAGE;
	}
	if (tq.threshold < 0)
		tq.threshold = cfg.stats_threshold_min;
	if (stats_threshold_check(tq.threshold, cfg.stats_threshold_min, &e)) {
		cli_error("stats", &e);
		return EXIT_USAGE;
	}
	if (!db && config)
		db = cfg.db;
	struct refdata *rd = NULL;
	struct store *s = NULL;
	int rc = cli_refdata_load(&rd);
	if (rc == EXIT_OK)
		rc = cli_store_open(cli_db_uri(db), &s);
	json_t *doc = NULL;
	if (series) {
		memcpy(sq.comuni, tq.comuni, sizeof sq.comuni);
		sq.threshold = tq.threshold;
	}
	vis_err v = rc == EXIT_OK ? (series ? stats_series_compute(s, rd, &sq, date_today(), &doc, &e)
					    : stats_table_compute(s, rd, &tq, date_today(), &doc, &e))
				  : VIS_OK;
	if (v) {
		/* a period not covered (whole) is the question's, as the API's 400 */
		cli_error("stats", &e);
		rc = v == VIS_ERR_INVALID ? EXIT_INVALID : EXIT_RUNTIME;
	}
	if (doc) {
		char *text = !strcmp(format, "csv")
			? (series ? stats_series_csv(doc) : stats_table_csv(doc))
						    : json_dumps(doc, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		if (text)
			fputs(text, stdout);
		if (text && strcmp(format, "csv"))
			putchar('\n');
		free(text);
		json_decref(doc);
	}
	store_close(s);
	refdata_free(rd);
	return rc;
}
