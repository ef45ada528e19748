/* date — calendar dates as plain integers YYYYMMDD (0 = no date).
 *
 * The register speaks in whole days; an int compares in date order, prints
 * without a buffer dance and costs nothing to store. */
#ifndef VISURA_COMMON_DATE_H
#define VISURA_COMMON_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DATE_YEAR(d) ((d) / 10000)
#define DATE_MONTH(d) (((d) / 100) % 100)
#define DATE_DAY(d) ((d) % 100)
#define DATE_MAKE(y, m, d) ((y) * 10000 + (m) * 100 + (d))

bool date_valid(int year, int month, int day);
int date_days_in_month(int year, int month);

/* Strict "YYYY-MM-DD" of exactly `len` bytes (len 10), a real calendar day
 * between 1800-01-01 and 2999-12-31.  Returns false on anything else. */
bool date_parse(const char *s, size_t len, int *out);

/* Writes "YYYY-MM-DD" and a NUL into buf (11 bytes). */
void date_format(int date, char buf[11]);

/* Days since 1970-01-01 and back (proleptic Gregorian). */
int64_t date_to_days(int date);
int date_from_days(int64_t days);
int date_add_days(int date, int days);

/* Whole years from `birth` to `on` (age on a day). */
int date_age(int birth, int on);

/* Today (UTC).  Only the test binary (visura-test, src/hooks) honours
 * VISURA_TEST_NOW (an ISO timestamp or date) so that tests can move it. */
int date_today(void);

/* Strict "YYYY-MM-DDTHH:MM:SSZ" (UTC) of `len` bytes into seconds since the
 * epoch.  Returns false on anything else. */
bool timestamp_parse(const char *s, size_t len, int64_t *out);
void timestamp_format(int64_t t, char buf[21]);

/* Now, seconds since the epoch, honouring VISURA_TEST_NOW like date_today
 * (a date alone is its midnight): for the command line's account actions. */
int64_t timestamp_now(void);

#endif
