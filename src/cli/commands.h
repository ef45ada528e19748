/* commands — the sub-commands of the `visura` binary (git-style).
 *
 * Each takes the arguments after its own name (argv[0] is the sub-command)
 * and returns the process exit status:
 *   0 success; 1 the input was checked and found wrong (invalid code,
 *   rejected file); 2 usage error; 3 runtime failure (I/O, database). */
#ifndef VISURA_CLI_COMMANDS_H
#define VISURA_CLI_COMMANDS_H

enum {
	EXIT_OK = 0,
	EXIT_INVALID = 1,
	EXIT_USAGE = 2,
	EXIT_RUNTIME = 3,
};

int cmd_cf(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_ente(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_ca(int argc, char **argv);
int cmd_pdnd(int argc, char **argv);
int cmd_spid(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_list_extract(int argc, char **argv);
int cmd_review(int argc, char **argv);
int cmd_convenzione(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_witness(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);

#endif
