/* monotime — the one monotonic clock: elapsed time, deadlines and
 * budgets that a change of the wall clock (NTP, an operator, faketime in
 * the tests) must not move.
 *
 * Owns: reading CLOCK_MONOTONIC, in the units its callers count
 * (nanoseconds, milliseconds, whole seconds).  The wall clock (the time
 * records carry) is the caller's `now`, never this. */
#ifndef VISURA_COMMON_MONOTIME_H
#define VISURA_COMMON_MONOTIME_H

#include <stdint.h>

/* Nanoseconds since an unspecified start (boot): only differences mean
 * anything. */
int64_t monotime_ns(void);

static inline int64_t monotime_ms(void)
{
	return monotime_ns() / 1000000;
}

static inline int64_t monotime_s(void)
{
	return monotime_ns() / 1000000000;
}

#endif
