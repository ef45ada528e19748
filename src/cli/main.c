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
	{"cf", cmd_cf, "validate, decode or compute codici fiscali"},
	{"gen", cmd_gen, "write a synthetic population in import format v1"},
	{"import", cmd_import, "load daily export files into the register replica"},
	{"init", cmd_init, "create or migrate the database, load reference tables"},
	{"migrate", cmd_migrate, "copy a deployment to another database (SQLite to PostgreSQL)"},
	{"backup", cmd_backup, "back up a running deployment, or --verify a backup"},
	{"restore", cmd_restore, "bring a deployment back from a backup"},
	{"query", cmd_query, "read persons, households, history and counts"},
	{"serve", cmd_serve, "run the HTTPS server"},
	{"user", cmd_user, "add, list, disable, reset or renew accounts"},
	{"ente", cmd_ente, "add or list external bodies"},
	{"token", cmd_token, "create API tokens for system accounts"},
	{"convenzione", cmd_convenzione, "add or list agreements (with their first purpose)"},
	{"audit", cmd_audit, "verify, export and purge the access trail"},
	{"list-extract", cmd_list_extract, "extract an approved formal list request"},
	{"review", cmd_review, "the yearly review of agreements"},
	{"stats", cmd_stats, "demographic statistics with small-cell protection"},
	{"witness", cmd_witness, "cosign other deployments' trail heads (a witness service)"},
	{"ca", cmd_ca, "workstation certificates: init, issue, revoke, list"},
	{"spid", cmd_spid, "the SPID/CIE relying party: federation-key-rotate"},
	{"pdnd", cmd_pdnd, "PDND purposes mapped to agreements' purposes: map, unmap, list"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: visura <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'visura <command> --help' describes each command.\n"
		     "exit status: 0 ok, 1 input found invalid, 2 usage error, "
		     "3 runtime failure\n");
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
	fprintf(stderr, "visura: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
