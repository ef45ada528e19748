/* stats/series — indicators over time, computed as of past dates from the
 * register's history (the stored versions), never from today's rows alone.
 *
 * Owns: the indicators a series can follow (stocks on the last day of each
 * period: population, men, women, foreigners and their share, old-age
 * index, dependency ratios, average age; flows over each period: births,
 * deaths, registrations, cancellations, natural and migratory balance and
 * their crude rates per 1,000 residents per year), the periods (calendar
 * months or years within the period the register covers), and their
 * protection: per territory the stocks the indicators are made of (by
 * sex, age group and citizenship) are protected as a table with their
 * identities (stats_protect; the population, the sexes and the foreigners
 * are known totals), the balance of each period by sex as the balance
 * table and the bulletin publish it (jointly with the province,
 * stats_balance_linked; a year beside its months; a whole province in a
 * pool as one territory), the age groups as POSAS hides
 * their single years, and a value is published only when none of the
 * counts it is made of is hidden (the average age: no single year of
 * POSAS).
 *
 * Several indicators are computed from one walk of the history and one
 * protection of its counts: each indicator's values are those it has when
 * asked alone (the counts and their hidden cells do not depend on which
 * indicators are asked).
 *
 * A series is a JSON object {indicatore, titolo, unita, passo,
 * periodo_coperto, soglia, territorio, serie: [{codice, nome, punti:
 * [{periodo, dal, al, valore}]}]}; several indicators are {passo,
 * periodo_coperto, soglia, territorio, indicatori: [{indicatore, titolo,
 * unita, serie}]}, in the order asked.  The CSV is the same points, one a
 * line, with the indicator's name in a column. */
#ifndef VISURA_STATS_SERIES_H
#define VISURA_STATS_SERIES_H

#include <jansson.h>

#include "common/err.h"
#include "store/store.h"

struct refdata;

/* Room for every indicator's name once, with the commas between. */
#define STATS_SERIES_LIST_MAX 512

struct stats_series_query {
	char indicator[STATS_SERIES_LIST_MAX]; /* names of stats_series_indicators(),
						* comma-separated (stats_series_parse) */
	char comuni[4096];      /* ISTAT codes, comma-separated; "" = every municipality */
	int from, to;           /* YYYYMM; 0 = the first month covered / the last
				 * one covered whole (stats_complete_month) */
	bool yearly;            /* periods of a year rather than a month */
	bool by_comune;         /* one series per municipality rather than the pool */
	bool by_provincia;      /* one series per province: its municipalities pooled */
	int threshold;          /* smallest count published */
};

/* The indicators' names, comma-separated (for messages and help). */
const char *stats_series_indicators(void);

/* Checks `list`, one indicator or several separated by commas (each a
 * name of stats_series_indicators(), none twice: all of them at most),
 * and copies it into q->indicator.  VIS_ERR_INVALID, with an Italian
 * message naming the bad value, for anything else; the API's indicator=
 * and the CLI's --series both go through it. */
vis_err stats_series_parse(const char *list, struct stats_series_query *q, struct vis_error *e);

/* "YYYY-MM" into YYYYMM; false when not a month. */
bool stats_month_parse(const char *s, int *out);

/* Computes the series into *out (a new JSON object).  A period outside
 * the one the register covers is VIS_ERR_INVALID naming that period, a
 * `to` it does not cover whole is VIS_ERR_INVALID naming the last complete
 * month (stats_complete_check: never cut), and
 * so is q->indicator when stats_series_parse refuses it.  Every read (all
 * periods and members, and the provinces they are protected with) is in
 * one snapshot, as a table's (stats_table_compute). */
vis_err stats_series_compute(struct store *s, const struct refdata *rd,
			     const struct stats_series_query *q, int today, json_t **out,
			     struct vis_error *e);

/* The series as CSV (header and one line per point; hidden values empty);
 * NULL when out of memory.  The caller frees it. */
char *stats_series_csv(json_t *series);

#endif
