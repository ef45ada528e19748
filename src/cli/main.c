/* visura — entry point: dispatches git-style sub-commands. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"cf", cmd_cf, "verifica, decodifica o calcola codici fiscali"},
	{"gen", cmd_gen, "scrive una popolazione sintetica nel formato di importazione v1"},
	{"import", cmd_import, "carica i file di estrazione giornalieri nella replica dell'anagrafe"},
	{"init", cmd_init, "crea o aggiorna il database, carica le tabelle di riferimento"},
	{"migrate", cmd_migrate, "copia un'installazione in un altro database (da SQLite a PostgreSQL)"},
	{"backup", cmd_backup, "copia di sicurezza di un'installazione in funzione, o --verify di una copia"},
	{"restore", cmd_restore, "ripristina un'installazione da una copia di sicurezza"},
	{"query", cmd_query, "legge persone, famiglie, storia e conteggi"},
	{"serve", cmd_serve, "avvia il server HTTPS"},
	{"user", cmd_user, "aggiunge, elenca, disattiva, reimposta o rinnova le utenze"},
	{"ente", cmd_ente, "aggiunge o elenca gli enti fruitori"},
	{"token", cmd_token, "crea i token API delle utenze di sistema"},
	{"convenzione", cmd_convenzione, "aggiunge o elenca le convenzioni (con la prima finalità)"},
	{"audit", cmd_audit, "verifica ed esporta il registro degli accessi, ne elimina le registrazioni scadute"},
	{"list-extract", cmd_list_extract, "estrae una richiesta formale di elenco approvata"},
	{"review", cmd_review, "la revisione annuale delle convenzioni"},
	{"stats", cmd_stats, "statistiche demografiche con protezione delle celle piccole"},
	{"witness", cmd_witness, "controfirma le teste del registro di altre installazioni (servizio testimone)"},
	{"ca", cmd_ca, "certificati delle postazioni: la CA, il rilascio, la revoca, l'elenco"},
	{"spid", cmd_spid, "il fornitore di servizi SPID/CIE: rotazione della chiave di federazione"},
	{"pdnd", cmd_pdnd, "finalità PDND associate a quelle delle convenzioni, chiavi dei client PDND"},
};

static void usage(FILE *out)
{
	fprintf(out, "uso: visura <comando> [opzioni]\n\ncomandi:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'visura <comando> --help' descrive ogni comando.\n"
		     "codice di uscita: 0 riuscito, 1 dati non validi, 2 uso errato, "
		     "3 errore durante l'esecuzione\n");
}

int main(int argc, char **argv)
{
	/* Everything visura writes (database, keys, log, exports, certificates)
	 * is its owner's alone. */
	umask(077);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("visura %s\n", VISURA_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "visura: comando sconosciuto '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
