/* alert — anti-extraction and anomaly detection on the access trail.
 *
 * Owns: the per-account counters the rules read (kept in memory, bounded;
 * in the database when several instances share it, see store_shared),
 * the rules themselves, and raising an alert: a row admins review, mail to
 * the admins and the body's lead, and — past the hard threshold — the
 * automatic suspension of the account until an admin reviews it.
 *
 * Every window slides: "within an hour" is the hour before each request,
 * never since a clock boundary.  Counters are kept per account id (a hash
 * table, accounts idle for a day dropped; the shared state keyed by the
 * id when the database is shared, the table then holding this instance's
 * copy of each account's value with its version: a request counts on the
 * copy and writes the result only if the value is still that version, in
 * one statement, so no lock is held across a round trip; the value holds
 * the fixed counters and each person of the hour is a row beside it, so
 * a request writes only the persons it changed; an account
 * another instance counts too goes under the value's lock for a minute,
 * where the copy is brought up to date from what the last writes
 * changed in the persons, which the value records (its last 4 writes, of
 * up to 4 persons each; past that, or when the copy is not the value it
 * was, the persons are read back): every decision is still
 * made on the value it replaces, so every rule is exact across instances
 * and each alert fires once; the threads of one instance count an
 * account's requests one at a time).
 *
 * Not done: counting locally between writes (leases, as the rate limits'
 * quotas): an instance's unreported counts make another's decision late,
 * or, counted as a reservation, early — docs/performance.md, "Leases for
 * the anti-extraction counters".
 *
 * Rules (thresholds in struct alert_limits):
 *   persons_hour      many distinct persons consulted within an hour
 *   sequential_cf     look-ups within an hour of several codici fiscali
 *                     sharing their first 11 characters (enumerating a
 *                     birth date), other look-ups in between or not
 *   no_results        a high share of look-ups with no result in an hour:
 *                     searches and requests by codice fiscale alike
 *   repeat_no_case    the same person consulted repeatedly within a day
 *                     without a case reference
 *   refused           refused attempts (outside hours, outside the profile,
 *                     another body's purpose) within an hour
 *   many_addresses    one account used from several addresses at once
 *   break_glass       an urgent consultation beyond the normal limits */
#ifndef VISURA_ALERT_ALERT_H
#define VISURA_ALERT_ALERT_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

/* The largest thresholds the counters can hold (config.c bounds them);
 * the distinct persons of the hour are held up to the hard threshold. */
#define ALERT_SEQUENTIAL_MAX 64
#define ALERT_REPEAT_MAX 16

struct alert_limits {
	int persons_hour;        /* alert */
	int persons_hour_hard;   /* suspend */
	int sequential_run;
	int no_results_min;      /* searches before the ratio counts */
	int no_results_pct;
	int repeat_no_case;
	int refused_hour;
	int addresses;           /* distinct addresses within 10 minutes */
};

void alert_limits_default(struct alert_limits *l);

struct alert_tracker;

/* NULL when out of memory or a threshold is beyond the maxima above. */
struct alert_tracker *alert_tracker_new(const struct alert_limits *l);
void alert_tracker_free(struct alert_tracker *t);

/* One request of an account, once its outcome is known.  `subjects` are
 * the codici fiscali it returned or consulted (comma-separated).  Raises
 * the alerts that fire; returns true when the account must be suspended. */
struct alert_obs {
	const struct store_account *account;
	const char *ip;
	const char *operation;     /* search, consult, household, history, verify */
	const char *outcome;       /* ok, not_found, refused:..., too_broad */
	const char *message;       /* a refusal's Italian message, as the caller was
				      answered; NULL otherwise */
	const char *subjects;
	const char *case_ref;
	const char *query_cf;      /* the codice fiscale asked for, if any */
	bool break_glass;
	const char *justification;
};
bool alert_observe(struct alert_tracker *t, struct store *s, int64_t now,
		   const struct alert_obs *o);

/* Forgets an account's counters (after an admin reactivated it); s is
 * the store that holds them when shared. */
void alert_tracker_forget(struct alert_tracker *t, struct store *s, int64_t account_id);

/* A rule's and a severity's name in Italian, as people read them; an
 * unknown code comes back as given. */
const char *alert_rule_label(const char *rule);
const char *alert_severity_label(const char *severity);

/* Raises one alert: stored, mailed to admins and the body's lead. */
vis_err alert_raise(struct store *s, int64_t now, const char *rule, const char *severity,
		    const struct store_account *a, const char *detail, struct vis_error *e);

#endif
