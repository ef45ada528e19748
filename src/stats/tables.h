/* stats/tables — the standard tables of Italian demographic statistics,
 * computed from the register: aggregates only, never a person.
 *
 * Owns: the tables in the layouts and with the names ISTAT uses
 * (POSAS: residents by sex and single year of age at 1 January; STRASA:
 * foreign residents by sex and age, by citizenship, and by both; the monthly or
 * yearly demographic balance; households by size, and by ISTAT's type
 * (persona sola, coppia senza/con figli, padre/madre solo/a con figli, ...)
 * and size; within one municipality, the main indicators by locality
 * (frazione) and by street, from the address of each household), the period the
 * register covers (from each municipality's first import to its last),
 * and protection of small cells over tables with totals: a cell of 1 to
 * threshold-1 is hidden (primary), and in every row, column or balance
 * identity of the table the hidden cells are at least two and add up to
 * the threshold or more (secondary), so no total gives one back; the
 * cells another publication protects (STRASA's, the months of a year,
 * POSAS's single years under the age groups) hidden as it hides them;
 * a pool of municipalities as the sum of its members' tables, each
 * protected alone (stats_pool_add); POSAS and STRASA of a municipality
 * protected jointly with its province (stats_protect_linked,
 * stats_ages_linked), a pool's POSAS cut into whole provinces (each
 * protected as one territory) and single municipalities; the balance of
 * a municipality by the same rule, jointly with its province
 * (stats_balance_protect_linked, stats_balance_linked: the one way the
 * balance table, the series and the bulletin publish it), a pool's
 * balance cut into whole provinces and single municipalities as POSAS;
 * the households by size and by type and the foreign residents by
 * citizenship by the same rule, jointly with the province
 * (stats_households_protect_linked, stats_citizenship_protect_linked:
 * the tables alone, in pools cut as POSAS, the bulletin); a table
 * protected alone (a province with one municipality) with a rectangle of
 * hidden cells around each small hidden one; STRASA by citizenship and
 * age around STRASA and STRASA by citizenship (its block of all states and
 * its state totals hidden as those tables hide them), jointly with the
 * province (stats_citizenship_ages_protect_linked), then audited exactly
 * (stats/audit.h: more cells of the three tables hidden where a small
 * count is pinned; STRASA and STRASA by citizenship published as it
 * leaves them), STRASA's and its pools cut as POSAS's;
 * the residents by sex, age and civil status (stato_civile) around
 * POSAS, its margin, jointly with the province
 * (stats_civil_protect_linked).
 *
 * A table is a JSON object {tavola, titolo, territorio, riferimento,
 * soglia, colonne, righe}: righe are arrays, label cells first (strings),
 * then counts (null when hidden).  The CSV is the same table. */
#ifndef VISURA_STATS_TABLES_H
#define VISURA_STATS_TABLES_H

#include <jansson.h>

#include "common/err.h"
#include "common/stop.h"
#include "stats/history.h"
#include "store/store.h"

struct refdata;
struct stats_cache;

enum stats_table {
	STATS_POSAS,            /* residents by single year of age and sex, 1 January */
	STATS_STRASA,           /* foreign residents by single year of age and sex */
	STATS_STRASA_CITT,      /* foreign residents by citizenship and sex */
	STATS_BILANCIO,         /* demographic balance by month or year, by sex */
	STATS_FAMIGLIE,         /* households by number of members */
	STATS_FAMIGLIE_TIPO,    /* households by type (ISTAT) and number of members */
	STATS_STRASA_CITT_ETA,  /* foreign residents by citizenship, sex and single year of age */
	STATS_LOCALITA,         /* one municipality's indicators by locality (frazione) */
	STATS_STRADE,           /* one municipality's indicators by street (toponimo) */
	STATS_STATO_CIVILE,     /* residents by sex, single year of age and civil status */
};

struct stats_table_query {
	enum stats_table table;
	char comuni[4096];      /* ISTAT codes, comma-separated; "" = every municipality */
	int year;               /* all but the balance: 1 January of this year; 0 = this year */
	int date;               /* this day instead (YYYYMMDD), 0 = 1 January; from outside
				 * (stats_table_dates) the first of a month only */
	int from, to;           /* balance: months YYYYMM, each whole, cut to the
				 * period covered; 0 = the whole period covered */
	bool yearly;            /* balance by year rather than by month */
	int threshold;          /* smallest count published */
	struct stats_cache *cache; /* protections kept across requests (stats/cache.h:
				    * the server's), or NULL: each computed */
	/* asked as the table is computed (the exact audit's simplex runs):
	 * when it says stop, VIS_ERR_BUSY; {0}: never asked */
	struct stop_ask stop;
};

/* The table by its name (one of stats_table_names()); false when unknown. */
bool stats_table_parse(const char *name, enum stats_table *out);

/* The names of the tables, in the order of enum stats_table, separated by
 * ", ": the one list the API, the command line and their messages use. */
const char *stats_table_names(void);

/* The dates of a request as the API and the command line take them, into
 * q (q->table set): `date` the first day of a month, YYYY-MM-01, for the
 * stock tables; `from` and `to` months, YYYY-MM, for the balance (whole
 * months).  A stock at any day, or a balance over any span of days, would
 * differ from the next day's or the overlapping span's by a few days of
 * flows that no protection sees (docs/api.md, "Segreto statistico").
 * NULL or "" = not given.  VIS_ERR_INVALID naming what is allowed. */
vis_err stats_table_dates(struct stats_table_query *q, const char *date, const char *from,
			  const char *to, struct vis_error *e);

/* Computes the table into *out (a new JSON object), every read in one
 * snapshot of the database (store_snapshot_join: its own, or the
 * caller's, as a bulletin's); inside another transaction VIS_ERR_INTERNAL. */
vis_err stats_table_compute(struct store *s, const struct refdata *rd,
			    const struct stats_table_query *q, int today, json_t **out,
			    struct vis_error *e);

/* The code and the name of a territory ("tutti", one or a few
 * municipalities by name, "Insieme di N comuni"), names as of `date`. */
#define STATS_LABEL_MAX 128
void stats_territory(const struct refdata *rd, const char *comuni, int date,
		     char code[STATS_LABEL_MAX], char name[STATS_LABEL_MAX]);

/* The period the register covers for these municipalities ("" = all): from
 * the latest of their first imports (the UTC date of the extract) to the
 * earliest of the last days their last imports hold whole (YYYYMMDD): the
 * day before the extract's day in Italian time, taken as UTC+1 (an extract
 * read at 23:00 UTC or later holds its own day; in summer a day short for
 * an hour: never a day the register has not seen end).  *from = 0 when one
 * has none.  Only periods covered whole are published (docs/api.md,
 * "Periodi pubblicati"): a stock at the end of a day up to *to, a month of
 * flows ending by *to (stats_complete_month). */
vis_err stats_coverage(struct store *s, const char *comuni, int *from, int *to,
		       struct vis_error *e);

/* The last month (YYYYMM) whose last day is on or before `to` (a day
 * stats_coverage gives): the last one the register covers whole. */
int stats_complete_month(int to);

/* Refuses a month of flows (YYYYMM, month > 0) or a stock at the start of
 * a day `on` (YYYYMMDD, on > 0: the population at the end of the day
 * before) that the register does not cover whole (after `to`,
 * stats_coverage's), with the Italian message naming the last
 * complete month and the last day: VIS_ERR_INVALID.  Every table, series
 * and bulletin asks it, API and command line alike. */
vis_err stats_complete_check(int month, int on, int to, struct vis_error *e);

/* Small-cell protection of a table of n cells whose linear identities
 * are given as sets of cell indices: eq_cells holds the indices of every
 * identity one after the other, eq_len the size of each.  A count of 1 to
 * threshold-1 is hidden, unless derived[i] (a balance: a difference, not
 * persons; derived may be NULL); then, in every identity, one hidden cell
 * or hidden cells adding up (in absolute value) to less than the
 * threshold get the smallest other non-zero cell hidden too, or, when a
 * hidden cell is alone and no non-zero cell is left, a zero (a zero as
 * the only complement gives the hidden cell back), until none is left.
 * known[i] (may be NULL) marks the totals every table publishes alike
 * (the population and the foreign residents by sex, the households by
 * size of a territory on a date: the rule of docs/api.md, "Segreto
 * statistico"): hidden below the threshold, or to protect each other in
 * an identity made of known cells alone (men + women = total: decided on
 * their values only, so alike in every table), never to protect another
 * cell.  hidden[i] is set for the cells to suppress. */
void stats_protect(const long long *cells, const bool *derived, const bool *known, bool *hidden,
		   int n, const int *eq_cells, const int *eq_len, int neq, int threshold);

/* The same, with the cells marked fixed[i] (may be NULL) decided
 * beforehand: hidden[i] as given on entry, never changed, and never
 * chosen to protect another cell (the cells another publication protects
 * its own way: STRASA's in the citizenship-by-age table, the months in a
 * yearly balance, the age groups that are sums of POSAS's single years). */
void stats_protect_fixed(const long long *cells, const bool *derived, const bool *known,
			 const bool *fixed, bool *hidden, int n, const int *eq_cells,
			 const int *eq_len, int neq, int threshold);

/* Single years of age of POSAS and STRASA: 0..99 and 100 e oltre. */
#define STATS_AGES 101

/* The protection of POSAS (or STRASA) for the counts age[0] women,
 * age[1] men by single year: hidden[a][men, women, total] for every age,
 * then row STATS_AGES the totals — the cells the posas (strasa) table
 * hides for the same counts.  False when out of memory. */
bool stats_ages_protect(const long long age[2][STATS_AGES], int threshold, bool hidden[][3]);

/* The age groups 0-14, 15-64, 65 and over published beside POSAS (by
 * locality, in the series) are sums of its single years: group[g] hidden
 * when one of the single years it adds up is hidden in POSAS's total
 * column (hidden as stats_ages_protect gives it), unless it is the only
 * such group (then the total minus the others, and its hidden years add
 * up to what POSAS's total gives already).  True when POSAS hides any
 * single year of the total: then the sum of the ages (the average age)
 * is not published. */
bool stats_age_groups_hidden(const bool hidden[][3], bool group[3]);

/* One period of the demographic balance, rows men, women, total (columns
 * enum stats_flow), protected alone: the population at the start and at
 * the end is known (every table publishes it), the balances are derived,
 * and the identities are each row's (stats_balance_identity) and men +
 * women = total in every column.  The publications use it only for a
 * province with one municipality imported (stats_balance_linked). */
void stats_balance_protect(const long long v[][STATS_B_COLS], bool hidden[][STATS_B_COLS],
			   int threshold);

/* A yearly balance's period (rows men, women, total), published beside
 * the nm months it is made of (months[m], each protected alone by
 * stats_balance_protect): a cell of the year is hidden when the same cell
 * of one of its months is (the start: the first month's; the end: the
 * last one's).  Every identity of the year is the sum of the months'
 * same identity, so no hidden cell of the year is alone in one, and the
 * year publishes only sums of cells the months publish. */
void stats_year_balance_protect(const long long months[][3][STATS_B_COLS], int nm,
				bool hidden[][STATS_B_COLS], int threshold);

/* A pool of municipalities (comuni= with several, or "" with several
 * imported) publishes only sums of what its members publish: each
 * member's cells computed and protected exactly as when it is asked
 * alone, then the pool's cell is the sum of its members' same cells,
 * hidden when one of them is.  Adds one member: cells[i] += member[i],
 * hidden[i] |= member_hidden[i] (cells and hidden start at 0 and false).
 * Every identity of the pool is the sum of its members' same identities,
 * in each of which no hidden cell is alone: so none is alone in the
 * pool's, as for a year beside its months (stats_year_balance_protect). */
void stats_pool_add(long long *cells, bool *hidden, const long long *member,
		    const bool *member_hidden, int n);

/* Hierarchical (linked-table) protection of a whole province and its
 * municipalities (issue #17): nm members' tables of the same shape,
 * rows x cols cells each (members[k * rows * cols + r * cols + c]; known,
 * eq_cells, eq_len, neq describe one of them as for stats_protect; each
 * row adds up to its last column when rows_add_up, each column to its
 * last row when cols_add_up).  The province's table, province[i] the sum
 * of the members' cell i, is protected as ONE territory (stats_protect)
 * into province_hidden, but for its known totals, hidden where a
 * member's are when protected alone (as in a pool: the known totals are
 * hidden alike in every table, the members' never to protect another
 * cell); then the members are protected jointly
 * (stats_protect_fixed over all of them at once): each one's cells and
 * identities, the province's cells fixed (published ones known, hidden
 * ones hidden) and, for every cell position i, the identity "the
 * members' i add up to the province's i", so no member's hidden cell is
 * alone there either; then every small hidden cell, of a member or of
 * the province, gets a 2 x 2 x 2 cube of hidden cells (members or the
 * province, rows, columns) so that the system as a whole determines none
 * (a cell a differencing attacker would get from identities each with
 * two hidden cells), and the identities are protected again around the
 * cells it added.  hidden[k * rows * cols + i] is member k's.  Every
 * identity of a member holds as when it is protected alone; a member
 * asked alone must publish these cells, not its own protection's.
 * fixed (may be NULL), fixed_hidden: (nm + 1) blocks, the members' then
 * the province's, of cells another publication decides (hidden as
 * fixed_hidden says, never chosen to protect another, never a cube's
 * corner), as stats_protect_fixed.  With no identity across the columns
 * (!rows_add_up) a cube is a square in one column.  False when out of
 * memory. */
bool stats_protect_linked(const long long *members, int nm, int rows, int cols, bool rows_add_up,
			  bool cols_add_up, const bool *known, const bool *fixed,
			  const bool *fixed_hidden, const int *eq_cells, const int *eq_len, int neq,
			  int threshold, long long *province, bool *province_hidden, bool *hidden);

/* POSAS (or STRASA) of a whole province by stats_protect_linked: age[k]
 * member k's counts (women, men) by single year; province_hidden the
 * province's table as stats_ages_protect hides it for the summed counts,
 * hidden[k] member k's cells, jointly.  False when out of memory. */
bool stats_ages_protect_linked(const long long (*age)[2][STATS_AGES], int nm, int threshold,
			       bool province_hidden[][3], bool (*hidden)[STATS_AGES + 1][3]);

/* One period of the demographic balance of a whole province by
 * stats_protect_linked: v[k] member k's (rows men, women, total, as for
 * stats_balance_protect: the start and the end known, the natural and
 * migratory balances derived, each row's identities and men + women =
 * total); province_hidden the province's period protected as one
 * territory, hidden[k] member k's, jointly; the cubes of hidden cells
 * over two flows whose +-1 keeps every identity of the row (births and
 * deaths, registrations and cancellations).  Each period alone: start
 * and end are known, so no identity links two periods; a year beside
 * its months hides a cell where one of its months does (as
 * stats_year_balance_protect).  False when out of memory or nm < 1. */
bool stats_balance_protect_linked(const long long (*v)[3][STATS_B_COLS], int nm, int threshold,
				  bool province_hidden[][STATS_B_COLS],
				  bool (*hidden)[3][STATS_B_COLS]);

/* POSAS (foreign: STRASA) of the whole province of `comune` (its first
 * three digits: every municipality of it the register has imported) on
 * the end of day `on`, by stats_ages_protect_linked: the one protection
 * every publication of those municipalities' single years uses (the
 * tables, the age groups by locality and in the series, the bulletin).
 * A province with one municipality imported is protected alone; with
 * none, l->nm is 0. */
struct stats_linked_ages {
	int nm;                                   /* municipalities, in code order */
	char (*code)[8];
	long long (*age)[2][STATS_AGES];          /* [women, men][age] */
	bool (*hidden)[STATS_AGES + 1][3];        /* as stats_ages_protect lays them out */
	bool province_hidden[STATS_AGES + 1][3];
};
vis_err stats_ages_linked(struct store *s, const char *comune, int on, bool foreign, int threshold,
			  struct stats_linked_ages *l, struct vis_error *e);
void stats_linked_ages_release(struct stats_linked_ages *l);
/* The version of r POSAS counts on the end of day `on` (resident then,
 * born by then: *age its age), NULL when none: what stats_ages_linked
 * reads from the register on that day, found in a walk of its history
 * (a series counts every date in one walk). */
const struct store_person *stats_record_resident(const struct stats_record *r, int on, int *age);
/* The protection of stats_ages_linked on counts already in l (nm, code,
 * age: the province's municipalities in code order, as stats_ages_linked
 * reads them): hidden (allocated here when NULL) and province_hidden. */
vis_err stats_linked_ages_protect(struct stats_linked_ages *l, int threshold, struct vis_error *e);
/* The index of comune in l, -1 when not one of them. */
int stats_linked_ages_find(const struct stats_linked_ages *l, const char *comune);

/* Households by number of members: 1 to 5, 6 and more; by ISTAT's type
 * (famiglie_tipologia's rows but the total). */
#define STATS_SIZES 6
#define STATS_TYPES 7

/* famiglie (by_type false) or famiglie_tipologia of a whole province by
 * stats_protect_linked: n[k] member k's households by type and size
 * (n[k][type][size - 1]); famiglie is the column of the sizes and their
 * total (known: localita and strade publish it too), famiglie_tipologia
 * a row per type and the total row, a column per size and the total, its
 * total row famiglie's column, fixed as famiglie's linked protection
 * hides it (members' and province's).  province_hidden the province's
 * cells (7 or 8 x 7), hidden[k * cells + i] member k's; a cube of a
 * one-column table is a square (two members, two sizes).  One member:
 * protected alone.  False when out of memory or nm < 1. */
bool stats_households_protect_linked(const long long (*n)[STATS_TYPES][STATS_SIZES], int nm,
				     bool by_type, int threshold, bool *province_hidden,
				     bool *hidden);

/* strasa_cittadinanza of a whole province by stats_protect_linked: nst
 * states, n[k * nst + i] member k's citizens of state i (women, men);
 * rows the states then the total (known: STRASA's), columns men, women,
 * total.  A state with no citizen in member k: its zeros, hidden only
 * as the last complement of a cell or in a cube (its table then lists
 * that state).  province_hidden the
 * province's (nst + 1) x 3 cells, hidden[k * cells + i] member k's.  One
 * member: protected alone.  False when out of memory or nm < 1. */
bool stats_citizenship_protect_linked(const long long (*n)[2], int nm, int nst, int threshold,
				      bool *province_hidden, bool *hidden);

/* strasa_cittadinanza_eta of a whole province by stats_protect_linked:
 * nst states, age[k * nst + i] member k's citizens of state i (women, men
 * by single year); each block's rows the ages then their total (999), the
 * block of all states last, columns men, women, total.  Given, the members'
 * then the province's (nm + 1 blocks each): the block of all states as
 * STRASA's linked protection hides it (ages_hidden), each state's total
 * row as strasa_cittadinanza's (cit_hidden, as
 * stats_citizenship_protect_linked gives it, the same states in the same
 * order); the other cells jointly, every small hidden one in a hypercube
 * of hidden cells (two members, two states, two ages, two columns: the
 * identities over the ages, over the states and over the members leave
 * no smaller direction).  Then the exact audit (stats/audit.h): every
 * small hidden count's interval over the three tables as published, none
 * negative, and where one is pinned more cells hidden — of this table,
 * and of STRASA and strasa_cittadinanza too (ages_hidden and cit_hidden
 * then say so on return: those tables publish them hidden, one
 * protection for the three) — until none is.  province_hidden the
 * province's (nst + 1) x 101 x 3 cells, hidden[k * cells + i] member k's.
 * One member: protected alone, then audited.  With a cache (may be
 * NULL): every mask it returns kept under the SHA-256 of its inputs (the
 * counts, nm, nst, ages_hidden and cit_hidden as given, the threshold)
 * and of STATS_CITE_VERSION and STATS_PROTECTION_RULE, and given back
 * from it by a later call with the same inputs without protecting again
 * (STRASA, strasa_cittadinanza and this table of the province's members,
 * each request, share one); keep (may be NULL) the store it is looked
 * for in too, when memory has none (stats_cache_get: kept there by an
 * earlier process or another instance; the caller's stats_cache_flush
 * writes what this computes).  What the store gives is taken only when
 * every count from 1 to threshold-1 of each member and of the province
 * is hidden in it and every cell given hidden still is; else computed.
 * stop (may be NULL) is asked before each of the audit's simplex runs.
 * VIS_ERR_NOMEM; VIS_ERR_LIMIT when the audit cannot free a pinned count
 * (nothing to publish, nothing kept); VIS_ERR_BUSY when stop said stop
 * (nothing kept). */
vis_err stats_citizenship_ages_protect_linked(const long long (*age)[2][STATS_AGES], int nm,
					      int nst, bool (*ages_hidden)[STATS_AGES + 1][3],
					      bool *cit_hidden, int threshold, bool *province_hidden,
					      bool *hidden, struct stats_cache *cache,
					      struct store *keep, const struct stop_ask *stop,
					      struct vis_error *e);

/* The version of stats_citizenship_ages_protect_linked's algorithm (its
 * hypercubes, its exact audit and what the audit is given), part of the
 * key its result is kept under (stats/cache.h): the store keeps a
 * protection across restarts and releases, so a release that changes
 * which cells it hides for the same inputs moves this on, and the
 * protections kept by an earlier release are computed again rather than
 * served beside the new ones.
 *   1  the exact audit on CLP, the listed states' totals at least 1
 *      (December 2026) */
#define STATS_CITE_VERSION 1

/* Civil status as ISTAT groups it (stato_civile's columns for each sex):
 * celibi/nubili; coniugati/e o uniti/e civilmente; divorziati/e o già in
 * unione civile per scioglimento; vedovi/e o già in unione civile per
 * decesso del partner; non classificabile (ANPR's code 9). */
#define STATS_CIVIL 5
/* stato_civile's counts: the five classes of men, Totale maschi, the five
 * of women, Totale femmine, Totale: the three totals POSAS's columns. */
#define STATS_CIVIL_COLS (2 * (STATS_CIVIL + 1) + 1)

/* stato_civile of a whole province by the linked machinery
 * (stats_protect_linked): n[k] member k's residents
 * (n[k][sex][class][age], sex 0 women, 1 men); rows the single years and
 * the total row, STATS_CIVIL_COLS columns.  Its totals by sex are POSAS's
 * cells, given: hidden exactly as POSAS's linked protection hides them
 * (ages_hidden[k] member k's, ages_province_hidden the province's, as
 * stats_ages_protect_linked gives them), never chosen to protect another
 * cell, so POSAS is the margin and keeps its cells; the classes are
 * protected around it, each member jointly with the province (its cubes
 * over two classes of the same sex, whose +-1 keeps every total); a
 * class the province counts 0 (so every member) is published everywhere,
 * never a complement: hidden, counts being never negative, it would be
 * known 0 all the same (issue #17).  province_hidden the province's (STATS_AGES + 1) x STATS_CIVIL_COLS
 * cells, hidden[k * cells + i] member k's.  One member: protected alone
 * around its POSAS.  False when out of memory or nm < 1. */
bool stats_civil_protect_linked(const long long (*n)[2][STATS_CIVIL][STATS_AGES], int nm,
				const bool (*ages_hidden)[STATS_AGES + 1][3],
				const bool ages_province_hidden[][3], int threshold,
				bool *province_hidden, bool *hidden);

/* The demographic balance of the whole province of `comune` (its first
 * three digits: every municipality of it the register has imported) over
 * from..to (YYYYMMDD) cut into calendar months, each month protected by
 * stats_balance_protect_linked (one municipality imported: alone, by
 * stats_balance_protect): the one protection every publication of those
 * municipalities' balances uses (the balance table, alone or in a pool,
 * the series' flows, the bulletin).  yearly: the periods are the years
 * (stats_periods), each the sum of its months, a cell hidden where the
 * same cell of one of its months is (the start: the first month's; the
 * end: the last one's), as stats_year_balance_protect.  The same month
 * gives the same cells whoever asks and whatever else is asked.  With no
 * municipality of the province imported, l->nm is 0. */
struct stats_linked_balance {
	int nm;                                   /* municipalities, in code order */
	char (*code)[8];
	int np;                                   /* periods */
	int *dal, *al;                            /* [np] */
	long long (*v)[3][STATS_B_COLS];          /* [k * np + p]: member k, period p */
	bool (*hidden)[3][STATS_B_COLS];          /* [k * np + p] */
	long long (*province)[3][STATS_B_COLS];   /* [p]: the members' sum */
	bool (*province_hidden)[3][STATS_B_COLS]; /* [p]: the province as one territory */
};
vis_err stats_balance_linked(struct store *s, const char *comune, int from, int to, bool yearly,
			     int threshold, struct stats_linked_balance *l, struct vis_error *e);
void stats_linked_balance_release(struct stats_linked_balance *l);
/* Adds the episodes of one record to v[m] (rows men, women, total) of
 * the months dal[m]..al[m], m < nmo: the counts stats_balance_linked
 * takes from each member's walk. */
void stats_balance_month_count(const struct stats_record *r, int nmo, const int *dal, const int *al,
			       long long (*v)[3][STATS_B_COLS]);
/* stats_balance_linked on counts already made: code[nm] the province's
 * municipalities in code order, mv[k * nmo + m] member k's month m of
 * from..to (stats_periods), counted by stats_balance_month_count and
 * closed here (in place).  A series counts them in its own walk. */
vis_err stats_balance_linked_counted(const char (*code)[8], int nm, int from, int to, bool yearly,
				     int threshold, long long (*mv)[3][STATS_B_COLS],
				     struct stats_linked_balance *l, struct vis_error *e);
/* The index of comune in l, -1 when not one of them. */
int stats_linked_balance_find(const struct stats_linked_balance *l, const char *comune);

/* The table as CSV (header and rows; hidden cells empty); NULL when out of
 * memory.  The caller frees it. */
char *stats_table_csv(json_t *table);

#endif
