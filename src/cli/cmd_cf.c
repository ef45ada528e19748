/* cmd_cf — `visura cf`: validate, decode or compute codici fiscali. */
#include <stdio.h>

#include "cli/commands.h"

int cmd_cf(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "visura cf: not implemented yet\n");
	return EXIT_RUNTIME;
}
