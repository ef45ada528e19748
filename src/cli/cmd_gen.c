/* cmd_gen — `visura gen`: writes a synthetic population in import format v1. */
#include <stdio.h>

#include "cli/commands.h"

int cmd_gen(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "visura gen: not implemented yet\n");
	return EXIT_RUNTIME;
}
