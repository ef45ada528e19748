/* stats/history — one walk over the register's history, record by record,
 * for the statistics computed as of past dates (the balance, the series).
 *
 * Owns: grouping the stored versions of each person record (oldest first),
 * the version valid on a date, and the record's residence episodes
 * (registration, cancellation) as the balance counts them: a new
 * registration after a cancellation opens a new episode; another
 * registration date on an open one corrects it. */
#ifndef VISURA_STATS_HISTORY_H
#define VISURA_STATS_HISTORY_H

#include "common/err.h"
#include "store/store.h"

#define STATS_EPISODES_MAX 16     /* the latest episodes of a record kept */
#define STATS_VERSIONS_MAX 4096   /* versions of one record: far beyond any real one */

struct stats_episode {
	int reg, reg_reason, canc, canc_reason;   /* canc_reason 0: still registered */
};

struct stats_record {
	const struct store_person *v;    /* versions, oldest first */
	int nv;
	struct stats_episode ep[STATS_EPISODES_MAX];
	int nep;
	int sex;                         /* 1 man, 0 woman (the latest version) */
};

/* fn gets each record of the municipalities `comuni` (comma-separated, ""
 * = all) once, with all its versions; a non-zero return stops the walk.
 * The record and its versions are borrowed for the call only. */
typedef int (*stats_record_fn)(void *ctx, const struct stats_record *r);
vis_err stats_history_each(struct store *s, const char *comuni, stats_record_fn fn, void *ctx,
			   struct vis_error *e);

/* The version valid on `date`, or NULL. */
const struct store_person *stats_record_at(const struct stats_record *r, int date);

/* Resident on `date` by this version (registered by then, not cancelled
 * by then); false for NULL. */
bool stats_version_resident(const struct store_person *v, int date);

/* Resident on `date` by this episode. */
bool stats_episode_resident(const struct stats_episode *x, int date);

/* The columns of the demographic balance (ISTAT's bilancio demografico). */
enum stats_flow {
	STATS_B_START, STATS_B_BIRTHS, STATS_B_DEATHS, STATS_B_NATURAL, STATS_B_IN_IT,
	STATS_B_IN_ABROAD, STATS_B_IN_OTHER, STATS_B_OUT_IT, STATS_B_OUT_ABROAD,
	STATS_B_OUT_OTHER, STATS_B_MIGR, STATS_B_END, STATS_B_COLS
};

/* Adds one episode to the balance v[STATS_B_COLS] of the period dal..al
 * (resident the day before, resident on the last day, registration and
 * cancellation within it by ISTAT's classes); the balances are left. */
void stats_episode_count(const struct stats_episode *x, int dal, int al, long long *v);

/* Computes the natural and the migratory balance of v[STATS_B_COLS]. */
void stats_balance_close(long long *v);

/* The identities of a balance row (start + flows = end, births - deaths =
 * natural balance, registrations - cancellations = migratory balance,
 * start + balances = end), as column sets. */
#define STATS_BALANCE_IDENTITIES 4
extern const struct stats_identity {
	int n;
	int cols[10];
} stats_balance_identity[STATS_BALANCE_IDENTITIES];

/* Cuts from..to (YYYYMMDD) into calendar months (or years), the first and
 * last cut to from and to, into dal[], al[] (room for max); returns how
 * many, or -1 when from..to needs more than max (nothing is cut short). */
int stats_periods(int from, int to, bool yearly, int *dal, int *al, int max);

#endif
