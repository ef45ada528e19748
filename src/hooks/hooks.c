#include "hooks/hooks.h"

#include <stdlib.h>

#ifndef VISURA_TEST_HOOKS
#error "compile with -DVISURA_TEST_HOOKS=0 (release) or 1 (test binary)"
#endif

bool hooks_enabled(void)
{
	return VISURA_TEST_HOOKS != 0;
}

const char *hooks_test_now(void)
{
#if VISURA_TEST_HOOKS
	return getenv("VISURA_TEST_NOW");
#else
	return NULL;
#endif
}
