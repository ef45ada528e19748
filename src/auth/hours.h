/* hours — working-hours schedules of external bodies.
 *
 * Owns: the text form of a schedule, its parsing and the question "is this
 * instant inside it?".  Times are local to Europe/Rome (the municipality's
 * clock), daylight saving included.  Italian national holidays are closed
 * unless the schedule says otherwise; extra closing days can be listed.
 *
 * Text form (one line, tokens separated by ';'):
 *   "mon-fri 08:00-14:00,15:00-18:00; sat 08:00-12:00; closed 2026-12-24,2026-12-31"
 *   "always"           every minute of every day, holidays included
 * Day names: mon tue wed thu fri sat sun, ranges like mon-fri.  A time range
 * is [start, end) in minutes; 24:00 is allowed as an end.  The token
 * "holidays open" makes national holidays ordinary days. */
#ifndef VISURA_AUTH_HOURS_H
#define VISURA_AUTH_HOURS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/err.h"

#define HOURS_MAX_RANGES 4
#define HOURS_MAX_CLOSED 64
#define HOURS_SPEC_MAX 1024

struct hours_range {
	uint16_t start, end;    /* minutes from midnight, start < end <= 1440 */
};

struct hours_schedule {
	bool always;
	bool holidays_open;
	struct hours_range day[7][HOURS_MAX_RANGES];   /* 0 = Monday */
	int nranges[7];
	int closed[HOURS_MAX_CLOSED];                   /* YYYYMMDD */
	int nclosed;
};

/* Parses spec; on error says where in `e`. */
vis_err hours_parse(const char *spec, struct hours_schedule *out, struct vis_error *e);

/* Writes the canonical text form (round-trips through hours_parse). */
void hours_format(const struct hours_schedule *s, char *out, size_t cap);

/* Is the instant t (seconds since the epoch) inside the schedule? */
bool hours_allows(const struct hours_schedule *s, int64_t t);

/* Italian national holidays (fixed days, Easter Monday): YYYYMMDD. */
bool hours_is_national_holiday(int date);

/* Local (Europe/Rome) calendar date and minute of day of t. */
void hours_local(int64_t t, int *date, int *minute, int *weekday /* 0 = Monday */);

#endif
