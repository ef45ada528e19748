/* refdata — the reference tables every other module leans on: Italian
 * municipalities (current and suppressed, with their ISTAT and cadastral
 * codes and validity dates) and foreign states (ISTAT 3-digit and Belfiore
 * Z codes), loaded from the project's data/ directory.
 *
 * Owns: the in-memory tables.  Everything it returns is borrowed and lives
 * until refdata_free(). */
#ifndef VISURA_REFDATA_REFDATA_H
#define VISURA_REFDATA_REFDATA_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

struct refdata;

struct ref_comune {
	char istat[7];       /* ISTAT code during this period */
	char belfiore[5];    /* cadastral code, "" when unknown */
	char province[3];    /* car-plate abbreviation */
	char region[3];      /* ISTAT region code, "EX", "00" */
	int valid_from;      /* YYYYMMDD */
	int valid_to;        /* YYYYMMDD, 0 = still valid */
	bool active;
	const char *name;    /* official name, UTF-8 */
};

struct ref_stato {
	char istat[4];       /* ISTAT 3-digit code (100 = Italia); "" for a few historical states */
	char belfiore[5];    /* Z code, "" when none */
	char iso3[4];
	int valid_from;
	int valid_to;        /* 0 = open */
	bool eu;             /* member of the European Union today */
	const char *name;    /* the name in use today (denominazione_attuale): shown to people */
	const char *anpr_name; /* the name of ANPR's 2018 table (denominazione) */
};

/* The data directory: $VISURA_DATA_DIR, else the one chosen at build time. */
const char *refdata_default_dir(void);

/* Loads comuni.csv and stati_esteri.csv from dir. */
vis_err refdata_load(const char *dir, struct refdata **out, struct vis_error *e);
void refdata_free(struct refdata *rd);

size_t refdata_comune_count(const struct refdata *rd);
const struct ref_comune *refdata_comune_at(const struct refdata *rd, size_t i);
size_t refdata_stato_count(const struct refdata *rd);
const struct ref_stato *refdata_stato_at(const struct refdata *rd, size_t i);

/* The row of a municipality with this ISTAT code valid on `date`
 * (YYYYMMDD); with date 0, or none valid then, the most recent row.
 * NULL when the code is unknown. */
const struct ref_comune *refdata_comune_by_istat(const struct refdata *rd,
						 const char *istat, int date);
/* Same, by cadastral code. */
const struct ref_comune *refdata_comune_by_belfiore(const struct refdata *rd,
						    const char *belfiore, int date);
/* True when the municipality with this ISTAT code has ever had this
 * cadastral code. */
bool refdata_comune_had_belfiore(const struct refdata *rd, const char *istat,
				 const char *belfiore);

const struct ref_stato *refdata_stato_by_istat(const struct refdata *rd,
					       const char *istat);
const struct ref_stato *refdata_stato_by_belfiore(const struct refdata *rd,
						  const char *belfiore);

#endif
