/* hooks — test-only behaviour, and whether this binary has it.
 *
 * Owns: the answer to "may tests move this process's clock?".  The file is
 * compiled twice: into `visura` (the release binary, VISURA_TEST_HOOKS=0:
 * no test clock, VISURA_TEST_NOW ignored) and into `visura-test` (the binary
 * the integration, end-to-end and browser suites run, VISURA_TEST_HOOKS=1).
 * Everything else is the same objects: only this answer differs. */
#ifndef VISURA_HOOKS_HOOKS_H
#define VISURA_HOOKS_HOOKS_H

#include <stdbool.h>

/* True only in the test binary. */
bool hooks_enabled(void);

/* The date tests force with VISURA_TEST_NOW (its first 10 characters, an
 * ISO date), or NULL: always NULL in the release binary. */
const char *hooks_test_now(void);

#endif
