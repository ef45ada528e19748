/* cmd_cf — `visura cf`: validate and decode codici fiscali, or compute one.
 *
 *   visura cf CODE...
 *	one line per code, "CODE\tvalid\tsex=.. birth=.. place=.. omocodia=.."
 *	or "CODE\tinvalid\treason"; exit 0 when all are valid, 1 otherwise.
 *   visura cf --compute --surname S --name N --sex M|F --birth YYYY-MM-DD
 *	      --place CODE [--omocodia N]
 *	prints the code; CODE is an ISTAT comune code (6 digits), an ISTAT
 *	state code (3 digits) or a cadastral code (letter + 3 digits). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cf/cf.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "common/date.h"
#include "common/str.h"
#include "refdata/refdata.h"

/* The synopsis; with `full`, the description too. */
static void cf_usage(FILE *out, bool full)
{
	fprintf(out,
		"uso: visura cf CODICE...\n"
		"     visura cf --compute --surname S --name N --sex M|F\n"
		"               --birth AAAA-MM-GG --place LUOGO [--omocodia N]\n");
	if (!full) {
		fprintf(out, "dettagli: 'visura cf --help'\n");
		return;
	}
	fprintf(out,
		"\n"
		"La prima forma verifica e decodifica ogni codice fiscale, una riga per\n"
		"codice (scritto come lo scrivono le persone: \"rss mra 80a01 f205x\" e\n"
		"\"RSS-MRA-80A01-F205X\" si leggono RSSMRA80A01F205X):\n"
		"  CODICE<TAB>valid<TAB>sex=M birth=AAAA-MM-GG place=XNNN (NOME, PR) omocodia=N\n"
		"  CODICE<TAB>invalid<TAB>motivo\n"
		"('valid', 'invalid' e le chiavi sex=, birth=, place=, omocodia= restano\n"
		"come sono: gli script le leggono).  L'anno di nascita è l'ultimo che non cade\n"
		"nel futuro; nome e provincia sono quelli alla data di nascita, e un\n"
		"comune il cui codice oggi non ne indica nessuno (fuso o soppresso nel\n"
		"frattempo) è segnato \"soppresso\".  Esce con 0 quando tutti i codici\n"
		"sono validi, 1 altrimenti.\n"
		"\n"
		"La seconda forma stampa il codice di una persona.  LUOGO è il luogo di\n"
		"nascita: un codice ISTAT di comune (6 cifre), un codice ISTAT di stato\n"
		"estero (3 cifre) o un codice catastale (Belfiore) come H501 o Z404.\n"
		"--omocodia N (1-7) stampa invece la variante omocodica di livello N.\n");
}

/* Loads the reference tables once; NULL (with a message) on failure. */
static struct refdata *cf_refdata(struct refdata **rd)
{
	if (!*rd && cli_refdata_load(rd) != EXIT_OK)
		*rd = NULL;
	return *rd;
}

static bool all_digits(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool cf_place_shape(const char *s, char out[5])
{
	if (strlen(s) != 4)
		return false;
	char c = s[0];
	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	if (c < 'A' || c > 'Z' || !all_digits(s + 1, 3))
		return false;
	out[0] = c;
	memcpy(out + 1, s + 1, 4);
	return true;
}

/* The birth date of a decoded code: the latest century that does not put it
 * after today and in which the day exists.  0 when there is none (29
 * February of a two-digit year that is never a leap year). */
static int cf_cli_birth(const struct cf_decoded *d, int today)
{
	int year = cf_birth_year(d, DATE_YEAR(today));

	if (DATE_MAKE(year, d->month, d->day) > today)
		year -= 100;
	for (int k = 0; k < 4; k++, year -= 100)
		if (date_valid(year, d->month, d->day))
			return DATE_MAKE(year, d->month, d->day);
	return 0;
}

/* Prints an argument as given, with bytes outside printable ASCII (tabs,
 * newlines, UTF-8) as \xNN so that the output stays one line per code. */
static void cf_print_arg(const char *arg)
{
	for (const unsigned char *p = (const unsigned char *)arg; *p; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\')
			putchar(*p);
		else
			printf("\\x%02x", *p);
	}
}

/* Checks and prints one code; returns true when it is valid. */
static bool cf_check_one(const char *arg, struct refdata **rd, int today,
			 int *runtime)
{
	struct cf_decoded d;
	char typed[CF_LEN + 1];
	/* As people write it: spaces, hyphens, dots and lower case are fine. */
	cf_status st = cf_normalize(arg, typed) ? cf_decode(typed, CF_LEN, &d)
						: cf_decode(arg, strlen(arg), &d);

	if (st != CF_OK) {
		cf_print_arg(arg);
		printf("\tinvalid\t%s\n", cf_status_text(st));
		return false;
	}
	int birth = cf_cli_birth(&d, today);
	if (!birth) {
		printf("%s\tinvalid\tla data di nascita non esiste (29 febbraio di un "
		       "anno non bisestile)\n", d.code);
		return false;
	}
	if (!cf_refdata(rd)) {
		*runtime = 1;
		return false;
	}

	char when[11], place[512];
	const struct ref_comune *c = refdata_comune_by_belfiore(*rd, d.place, birth);
	const struct ref_stato *s = NULL;
	if (c) {
		/* Suppressed: the code names no municipality today (Milano's
		 * closed rows of boundary changes, or Agrate Brianza's move to
		 * another province, are not suppressions). */
		const struct ref_comune *now = refdata_comune_by_belfiore(*rd, d.place, 0);
		bool gone = !now || !now->active || now->valid_to != 0;
		/* a code and the reference data's names (< 100 bytes) */
		STR_FMT_KNOWN(place, "%s (%s, %s%s)", d.place, c->name ? c->name : "?", c->province,
			      gone ? ", soppresso" : "");
	} else if ((s = refdata_stato_by_belfiore(*rd, d.place))) {
		/* a code and the reference data's name (< 100 bytes) */
		STR_FMT_KNOWN(place, "%s (%s)", d.place, s->name ? s->name : "?");
	} else {
		printf("%s\tinvalid\tcodice del luogo di nascita sconosciuto: %s\n", d.code, d.place);
		return false;
	}
	date_format(birth, when);
	printf("%s\tvalid\tsex=%c birth=%s place=%s omocodia=%d\n", d.code, d.sex,
	       when, place, d.omocodia);
	return true;
}

static int cf_validate(int argc, char **argv)
{
	struct refdata *rd = NULL;
	int today = date_today();
	int runtime = 0, ncodes = 0;
	bool all_valid = true, opts = true;

	for (int i = 1; i < argc; i++) {
		if (opts && !strcmp(argv[i], "--")) {
			opts = false;
			continue;
		}
		if (opts && argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "visura cf: opzione sconosciuta '%s'\n", argv[i]);
			cf_usage(stderr, false);
			return EXIT_USAGE;
		}
		ncodes++;
	}
	if (ncodes == 0) {
		cf_usage(stderr, false);
		return EXIT_USAGE;
	}

	opts = true;
	for (int i = 1; i < argc && !runtime; i++) {
		if (opts && !strcmp(argv[i], "--")) {
			opts = false;
			continue;
		}
		if (!cf_check_one(argv[i], &rd, today, &runtime))
			all_valid = false;
	}
	refdata_free(rd);
	if (runtime)
		return EXIT_RUNTIME;
	return all_valid ? EXIT_OK : EXIT_INVALID;
}

struct cf_compute_args {
	const char *surname, *name, *sex, *birth, *place, *omocodia;
};

/* Resolves PLACE to the cadastral code in force on `birth`.  Returns the
 * exit status (EXIT_OK on success). */
static int cf_resolve_place(struct refdata *rd, const char *arg, int birth,
			    char out[5])
{
	char shaped[5];

	if (all_digits(arg, 6)) {
		const struct ref_comune *c = refdata_comune_by_istat(rd, arg, birth);
		if (!c) {
			fprintf(stderr, "visura cf: codice ISTAT di comune sconosciuto: %s\n", arg);
			return EXIT_INVALID;
		}
		if (!c->belfiore[0]) {
			fprintf(stderr, "visura cf: il comune %s (%s) non ha un codice "
				"catastale\n", arg, c->name ? c->name : "?");
			return EXIT_INVALID;
		}
		memcpy(out, c->belfiore, 5);
		return EXIT_OK;
	}
	if (all_digits(arg, 3)) {
		const struct ref_stato *s = refdata_stato_by_istat(rd, arg);
		if (!s) {
			fprintf(stderr, "visura cf: codice ISTAT di stato sconosciuto: %s\n", arg);
			return EXIT_INVALID;
		}
		if (!s->belfiore[0]) {
			fprintf(stderr, "visura cf: lo stato %s (%s) non ha un codice "
				"catastale\n", arg, s->name ? s->name : "?");
			return EXIT_INVALID;
		}
		memcpy(out, s->belfiore, 5);
		return EXIT_OK;
	}
	if (cf_place_shape(arg, shaped)) {
		if (!refdata_comune_by_belfiore(rd, shaped, birth) &&
		    !refdata_stato_by_belfiore(rd, shaped)) {
			fprintf(stderr, "visura cf: codice catastale sconosciuto: %s\n",
				shaped);
			return EXIT_INVALID;
		}
		memcpy(out, shaped, 5);
		return EXIT_OK;
	}
	fprintf(stderr, "visura cf: --place è un codice ISTAT di comune "
		"(6 cifre), un codice ISTAT di stato (3 cifre) o un codice catastale "
		"(una lettera e 3 cifre)\n");
	return EXIT_USAGE;
}

static int cf_compute_run(const struct cf_compute_args *a)
{
	int birth, level = 0;
	char sex, place[5], base[CF_LEN + 1], out[CF_LEN + 1];
	struct refdata *rd = NULL;

	if (!a->surname || !a->name || !a->sex || !a->birth || !a->place) {
		fprintf(stderr, "visura cf: --compute richiede --surname, --name, "
			"--sex, --birth e --place\n");
		return EXIT_USAGE;
	}
	if (strlen(a->sex) != 1 || !strchr("MFmf", a->sex[0])) {
		fprintf(stderr, "visura cf: --sex è M o F\n");
		return EXIT_USAGE;
	}
	sex = a->sex[0] == 'm' || a->sex[0] == 'M' ? 'M' : 'F';
	if (!date_parse(a->birth, strlen(a->birth), &birth)) {
		fprintf(stderr, "visura cf: --birth è una data AAAA-MM-GG "
			"tra il 1800 e il 2999\n");
		return EXIT_USAGE;
	}
	if (a->omocodia) {
		if (strlen(a->omocodia) != 1 || a->omocodia[0] < '1' ||
		    a->omocodia[0] > '7') {
			fprintf(stderr, "visura cf: --omocodia va da 1 a 7\n");
			return EXIT_USAGE;
		}
		level = a->omocodia[0] - '0';
	}
	if (!cf_refdata(&rd))
		return EXIT_RUNTIME;
	int rc = cf_resolve_place(rd, a->place, birth, place);
	refdata_free(rd);
	if (rc != EXIT_OK)
		return rc;
	if (!cf_compute(a->surname, a->name, sex, DATE_YEAR(birth),
			DATE_MONTH(birth), DATE_DAY(birth), place, base)) {
		fprintf(stderr, "visura cf: cognome e nome devono essere UTF-8 valido "
			"con almeno una lettera\n");
		return EXIT_INVALID;
	}
	if (level > 0) {
		if (!cf_omocode(base, level, out)) {
			fprintf(stderr, "visura cf: errore interno: nessuna variante omocodica "
				"di %s\n", base);
			return EXIT_RUNTIME;
		}
	} else {
		memcpy(out, base, sizeof out);
	}
	printf("%s\n", out);
	return EXIT_OK;
}

/* Matches "--opt VALUE" or "--opt=VALUE"; advances *i past the value. */
static bool cf_opt(int argc, char **argv, int *i, const char *opt,
		   const char **val, bool *missing)
{
	size_t n = strlen(opt);

	if (strncmp(argv[*i], opt, n) != 0)
		return false;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return true;
	}
	if (argv[*i][n] != '\0')
		return false;
	if (*i + 1 >= argc) {
		*missing = true;
		return true;
	}
	*val = argv[++*i];
	return true;
}

int cmd_cf(int argc, char **argv)
{
	bool compute = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			cf_usage(stdout, true);
			return EXIT_OK;
		}
		if (!strcmp(argv[i], "--compute"))
			compute = true;
	}
	if (!compute)
		return cf_validate(argc, argv);

	struct cf_compute_args a = {0};
	for (int i = 1; i < argc; i++) {
		bool missing = false;
		if (!strcmp(argv[i], "--compute"))
			continue;
		if (!cf_opt(argc, argv, &i, "--surname", &a.surname, &missing) &&
		    !cf_opt(argc, argv, &i, "--name", &a.name, &missing) &&
		    !cf_opt(argc, argv, &i, "--sex", &a.sex, &missing) &&
		    !cf_opt(argc, argv, &i, "--birth", &a.birth, &missing) &&
		    !cf_opt(argc, argv, &i, "--place", &a.place, &missing) &&
		    !cf_opt(argc, argv, &i, "--omocodia", &a.omocodia, &missing)) {
			fprintf(stderr, "visura cf: argomento inatteso con --compute: "
				"'%s'\n", argv[i]);
			cf_usage(stderr, false);
			return EXIT_USAGE;
		}
		if (missing) {
			fprintf(stderr, "visura cf: %s richiede un valore\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	return cf_compute_run(&a);
}
