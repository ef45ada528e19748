/* store — the one interface to persistence.
 *
 * Owns: the database connection, the schema and its migrations, and every
 * statement that reads or writes register data.  Callers never see SQL or a
 * back end: they open a store by URI ("sqlite:PATH", or a bare path, which
 * is SQLite) and call these functions.  A PostgreSQL back end plugs in
 * behind the same names.
 *
 * Register data is versioned: every person and household has one current
 * version and any number of closed ones (valid_from inclusive, valid_to
 * exclusive), so "as of date D" is answerable.  Dates are YYYYMMDD ints.
 *
 * A store handle is used by one thread at a time. */
#ifndef VISURA_STORE_STORE_H
#define VISURA_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/stop.h"

struct refdata;
struct store;

/* Opens (creating if needed) and migrates the schema to the latest version. */
vis_err store_open(const char *uri, struct store **out, struct vis_error *e);
void store_close(struct store *s);

/* Where the files that belong with a database live (its signing key, its
 * CA): the prefix their names start with.  SQLite: the database file's
 * path; PostgreSQL: "visura-DBNAME" in $VISURA_STATE_DIR (default: the
 * current directory).  A prefix that does not fit in cap is never cut (a
 * cut one names another file): out is left "" and VIS_ERR_LIMIT says
 * "percorso troppo lungo". */
vis_err store_files_prefix(const char *uri, char *out, size_t cap, struct vis_error *e);
/* One of those files: `configured` when set (a path from the
 * configuration), else the prefix + suffix (".signing-key"); VIS_ERR_LIMIT
 * as above when it does not fit. */
vis_err store_files_path(const char *uri, const char *configured, const char *suffix, char *out,
			 size_t cap, struct vis_error *e);

/* The schema version in force, and the newest this build knows. */
int store_schema_version(struct store *s);
int store_schema_latest(void);

/* Copies every row of every table of `from` into `to` (visura migrate):
 * `to` must be at the same schema version and hold no data yet (a new
 * database opened with store_open).  One transaction on each side; ids,
 * the access trail and its checkpoints, event row ids (the event feed's
 * cursors) are kept, and every table's row count is compared after.
 * PostgreSQL's planner statistics are taken (ANALYZE) before the commit.
 * progress (may be NULL) is told each table when it is copied. */
typedef void (*store_copy_fn)(void *ctx, const char *table, int64_t rows);
vis_err store_copy(struct store *from, struct store *to, store_copy_fn progress, void *ctx,
		   struct vis_error *e);

/* ---- backups and upgrades (src/backup, visura init --check) ---- */

/* The PostgreSQL conninfo of a URI ("postgres:CONNINFO", "postgresql:...",
 * or a libpq URI), NULL when the URI names a SQLite file; the SQLite path
 * of a URI otherwise (store_sqlite_path). */
const char *store_pg_conninfo(const char *uri);
const char *store_sqlite_path(const char *uri);

/* A consistent copy of a SQLite deployment while it runs (the online
 * backup API, one read transaction over the database file and the trail's
 * file): dst and dst_trail are created (they must not exist).  On
 * PostgreSQL: VIS_ERR_INVALID (a backup uses pg_dump there). */
vis_err store_snapshot(struct store *s, const char *dst, const char *dst_trail,
		       struct vis_error *e);

/* What the database of uri holds, without creating or migrating it:
 * version -1 when there is no database (SQLite: no file), 0 when it holds
 * no visura schema, else its schema version; live when another process has
 * it open (SQLite: a connection holds its WAL index; PostgreSQL: another
 * session on the database). */
struct store_probe {
	int version;
	bool live;
};
vis_err store_probe(const char *uri, struct store_probe *p, struct vis_error *e);

/* Opens a SQLite file and its trail file read-only and runs SQLite's
 * integrity check on both: why is "" when they pass, else the first
 * problem; version: the file's schema version. */
vis_err store_file_check(const char *path, const char *trail, int *version, char *why,
			 size_t cap, struct vis_error *e);

/* The migrations a database at schema version `from` would be given, in
 * order: fn(ctx, version, name). */
void store_schema_pending(int from, void (*fn)(void *ctx, int version, const char *name),
			  void *ctx);

/* Replaces the reference tables (municipalities, states) with rd's rows. */
vis_err store_refdata_replace(struct store *s, const struct refdata *rd,
			      struct vis_error *e);

/* One transaction; store_rollback() never fails (it logs). */
vis_err store_begin(struct store *s, struct vis_error *e);
vis_err store_commit(struct store *s, struct vis_error *e);
void store_rollback(struct store *s);

/* Reads in between see one snapshot of the database (SQLite: one read
 * transaction, so its WAL-index lock is taken once, not per statement;
 * PostgreSQL: nothing, each statement reads its own).  Outside a
 * transaction only, with no write in between; store_read_end always
 * follows. */
void store_read_begin(struct store *s);
void store_read_end(struct store *s);

/* A read-only transaction in which every read sees one snapshot of the
 * database, on both back ends (PostgreSQL: REPEATABLE READ), for reads
 * that must agree with each other while servers write: a trail's records
 * and its signed heads (audit_verify).  End it with store_commit or
 * store_rollback; outside a transaction only. */
vis_err store_begin_snapshot(struct store *s, struct vis_error *e);

/* The snapshot of a computation that another may contain (a statistics
 * table alone, or one of a bulletin's): joins the snapshot open on s
 * (store_begin_snapshot's; *began = false) or, outside a transaction,
 * begins one (*began = true).  Inside any other transaction VIS_ERR_INTERNAL:
 * its reads would not be one snapshot (PostgreSQL: READ COMMITTED), and a
 * read-only one cannot be nested in it.  store_snapshot_leave always
 * follows, on every path. */
vis_err store_snapshot_join(struct store *s, bool *began, struct vis_error *e);

/* Ends the snapshot when `began`: read only, it has nothing to commit, so
 * it is rolled back, which never fails (an answer already computed is not
 * lost to its end). */
void store_snapshot_leave(struct store *s, bool began);

/* A transaction that writes the access trail only (its records and their
 * subjects, checkpoints, the readiness probe's row; schema_trail_tables)
 * and may read anything.  On SQLite the trail is a file of its own and
 * this takes that file's write lock alone, so that it commits while an
 * import holds the register's; on PostgreSQL it is store_begin. */
vis_err store_begin_trail(struct store *s, struct vis_error *e);

/* How long a write waits for another connection's write lock (SQLite: an
 * import holds the register's for the whole of a snapshot, a minute and
 * more for a large municipality's first one):
 * STORE_WAIT_LONG (the default): up to 10 s — commands, the runners, the
 *   group-commit writer;
 * STORE_WAIT_BRIEF: up to STORE_WAIT_BRIEF_MS, and not at all while a
 *   write of this process gave up less than STORE_WAIT_BRIEF_HOLD_S ago
 *   (each such refusal extends it, a write that commits ends it): a
 *   request on one of the server's few HTTP threads (a login, an
 *   administrator's change), which must not be held while an import holds
 *   the register — before, two logins during an import held both threads
 *   10 s each and every look-up waited behind them;
 * STORE_WAIT_NONE: not at all, for writes a request may skip (a session's
 *   last-seen time).
 * A write that gives up fails with VIS_ERR_STORE ("la base dati è
 * occupata..."); reads never wait (WAL).  PostgreSQL locks rows, which an
 * import does not hold: the modes change nothing there.  Returns the mode
 * before. */
enum store_wait { STORE_WAIT_LONG, STORE_WAIT_BRIEF, STORE_WAIT_NONE };
#define STORE_WAIT_BRIEF_MS 1000
#define STORE_WAIT_BRIEF_HOLD_S 5
enum store_wait store_wait(struct store *s, enum store_wait mode);

/* ---- register records (field sizes include the NUL) ---- */

#define STORE_ID_MAX 21      /* local ids: 1-20 characters */
#define STORE_NAME_MAX 101   /* names, streets: 1-100 bytes */
#define STORE_SHORT_MAX 31   /* DUG */
#define STORE_PART_MAX 11    /* civic exponent, scala, interno */
#define STORE_CITIZ_MAX 64   /* "100,201" ISTAT state codes */

struct store_family {
	char comune[7];
	char id[STORE_ID_MAX];
	int kind;                       /* 1 famiglia, 2 convivenza */
	int valid_from;
	char dug[STORE_SHORT_MAX];
	char street[STORE_NAME_MAX];
	int civic;                      /* 0 = senza numero civico */
	char civic_ext[STORE_PART_MAX];
	char scala[STORE_PART_MAX];
	char interno[STORE_PART_MAX];
	char cap[6];
	char locality[STORE_NAME_MAX];
	char convivenza[STORE_NAME_MAX];
	int valid_to;                   /* read side only: 0 = current */
};

struct store_person {
	char comune[7];
	char id[STORE_ID_MAX];
	int valid_from;
	char cf[17];
	char surname[STORE_NAME_MAX];
	char name[STORE_NAME_MAX];
	char sex;                       /* 'M' / 'F' */
	int birth_date;
	char birth_place[7];            /* ISTAT comune (6) or state (3) */
	char citizenships[STORE_CITIZ_MAX];
	int civil_status;
	int civil_status_date;
	char father_cf[17];
	char mother_cf[17];
	int reg_reason;
	int reg_date;
	int canc_reason;                /* 0 = registered */
	int canc_date;
	char destination[7];
	char family_id[STORE_ID_MAX];
	int relationship;
	int valid_to;                   /* read side only: 0 = current */
};

struct store_event {
	char comune[7];
	char id[STORE_ID_MAX];
	char type[24];
	int date;
	char person_id[STORE_ID_MAX];
	char place[7];
	char other_cf[17];
};

enum store_put_result {
	STORE_INSERTED,
	STORE_UPDATED,
	STORE_UNCHANGED,
};

/* ---- the daily feed ---- */

struct store_feed {
	char comune[7];
	int64_t last_seq;
	int64_t last_extract;      /* seconds since the epoch */
	int64_t last_import_id;
};

struct store_import {
	char comune[7];
	int64_t seq;
	int64_t extract;           /* seconds since the epoch */
	bool full;
	char sha256[65];           /* hex of the whole file; known at finish */
	char source[256];          /* file name, for the record */
};

struct store_import_counts {
	int64_t inserted, updated, unchanged, closed;
	int64_t families, persons, events;
};

/* The feed state of a municipality; *found false when nothing loaded yet. */
vis_err store_feed_get(struct store *s, const char *comune, struct store_feed *out,
		       bool *found, struct vis_error *e);

/* Every municipality's feed state. */
typedef int (*store_feed_fn)(void *ctx, const struct store_feed *f);
vis_err store_feed_each(struct store *s, store_feed_fn fn, void *ctx, struct vis_error *e);

/* A finished import, for the history the office reads. */
struct store_import_row {
	int64_t id;
	struct store_import imp;
	int64_t started_at, finished_at;
	struct store_import_counts counts;
};
/* Finished imports, newest first, at most `limit`; of one municipality
 * when comune is not NULL; only those with an id below `before` when it
 * is not 0 (the keyset cursor of a page). */
typedef int (*store_import_fn)(void *ctx, const struct store_import_row *row);
vis_err store_import_each(struct store *s, const char *comune, int64_t before, int limit,
			  store_import_fn fn,
			  void *ctx, struct vis_error *e);

/* The counts of a municipality's last import (zeros when none). */
vis_err store_import_last_counts(struct store *s, const char *comune,
				 struct store_import_counts *out, struct vis_error *e);

/* The SHA-256 of the import with this sequence, if any. */
vis_err store_import_sha(struct store *s, const char *comune, int64_t seq,
			 char sha_out[65], bool *found, struct vis_error *e);

/* Opens the import's transaction (end it with store_commit or
 * store_rollback) and records the start of an import, returning its id.
 * When the municipality has no person yet, *empty is set and the puts may
 * skip their look-ups.  A FULL snapshot into empty register tables is a
 * bulk load: the store may build its indexes at store_import_finish and
 * leave reference checks to the importer, which has made them. */
vis_err store_import_start(struct store *s, const struct store_import *imp,
			   int64_t *import_id, bool *empty, struct vis_error *e);

/* The current version of a household or a person of the register, as
 * store_families_current / store_persons_current answer it: rowid 0 when
 * there is none; dropped: no longer listed by its feed. */
struct store_family_current {
	int64_t rowid;
	bool dropped;
	struct store_family f;
};
struct store_person_current {
	int64_t rowid;
	bool dropped;
	struct store_person p;
};

/* Inside the import's transaction: stores the new state of a record; a state
 * equal to the current one changes nothing, a different one closes the
 * current version on the new valid_from and opens a new version.  cur: the
 * record's current version as store_*_current answered it, or NULL for the
 * put to look it up itself (nothing is looked up in a bulk load). */
vis_err store_family_put(struct store *s, int64_t import_id, bool bulk,
			 const struct store_family *f, const struct store_family_current *cur,
			 enum store_put_result *res, struct vis_error *e);
vis_err store_person_put(struct store *s, int64_t import_id, bool bulk,
			 const struct store_person *p, const struct store_person_current *cur,
			 enum store_put_result *res, struct vis_error *e);
/* The current versions of the households, or persons, of `comune` with
 * the n ids (n at most STORE_CF_BATCH, distinct) into cur[i].  On
 * PostgreSQL one statement for them all (one round trip), on SQLite a
 * look-up each. */
vis_err store_families_current(struct store *s, const char *comune, int n,
			       const char *const *ids, struct store_family_current *cur,
			       struct vis_error *e);
vis_err store_persons_current(struct store *s, const char *comune, int n,
			      const char *const *ids, struct store_person_current *cur,
			      struct vis_error *e);
/* An event id already stored with the same content is STORE_UNCHANGED; with
 * other content, VIS_ERR_CONFLICT.  stored: the event stored with ev's id
 * as store_events_get answered (id "" when none), or NULL for the put to
 * look it up itself.  In a bulk load (bulk: the municipality had no person
 * as the import began) nothing is looked up and the event goes with the
 * load's rows: no event of the municipality can be stored then, since
 * each names one of its persons (a reference the store enforces, and the
 * importer in a bulk load) and persons are never deleted. */
vis_err store_event_put(struct store *s, int64_t import_id, bool bulk,
			const struct store_event *ev, const struct store_event *stored,
			enum store_put_result *res, struct vis_error *e);
/* The events of `comune` stored with the n ids (n at most
 * STORE_EVENT_BATCH, distinct) into stored[i], with stored[i].id "" when
 * there is none.  On PostgreSQL one statement for them all (one round
 * trip), on SQLite a look-up each. */
#define STORE_EVENT_BATCH 1024
vis_err store_events_get(struct store *s, const char *comune, int n, const char *const *ids,
			 struct store_event *stored, struct vis_error *e);

/* Existence checks used by validation. */
vis_err store_family_exists(struct store *s, const char *comune, const char *id,
			    bool *found, struct vis_error *e);
/* Whether `comune` has a person with each of the n ids (n at most
 * STORE_EVENT_BATCH, repeats allowed): found[i].  As store_events_get: one
 * statement on PostgreSQL, a look-up each on SQLite. */
vis_err store_persons_exist(struct store *s, const char *comune, int n, const char *const *ids,
			    bool *found, struct vis_error *e);
/* The local id of the current person of `comune` holding `cf`, if any. */
vis_err store_person_cf_owner(struct store *s, const char *comune, const char *cf,
			      char id_out[STORE_ID_MAX], bool *found,
			      struct vis_error *e);
/* The same for the n codici fiscali cfs[i] (n at most STORE_CF_BATCH,
 * distinct): the local id into id_out[i], "" when none.  One statement on
 * PostgreSQL, a look-up each on SQLite. */
vis_err store_person_cf_owners(struct store *s, const char *comune, int n,
			       const char *const *cfs, char (*id_out)[STORE_ID_MAX],
			       struct vis_error *e);

/* For each of the n codici fiscali cfs[i] (n at most STORE_CF_BATCH, in
 * any order, repeats allowed): the municipality other than `comune` where
 * it is registered now (not cancelled, not dropped from its feed), the
 * first by ISTAT code when several, into comune_out[i]; "" when none: one
 * codice fiscale is resident in one municipality at a time.  On
 * PostgreSQL one statement for them all (one round trip: a bulk load's
 * COPY is ended once, not once a person), on SQLite a look-up each. */
#define STORE_CF_BATCH 1024
vis_err store_person_cf_elsewhere(struct store *s, const char *comune, int n,
				  const char *const *cfs, char (*comune_out)[7],
				  struct vis_error *e);
/* Whether the look-ups of many keys (store_person_cf_elsewhere,
 * store_events_get) answer them in one statement (PostgreSQL), so that a
 * caller gains by gathering them. */
bool store_batched(struct store *s);

/* Ends an import: for a FULL snapshot closes every person and household of
 * the municipality it did not list (on `close_date`), then records the
 * counts and the file's SHA-256 and moves the feed state forward; after a
 * FULL snapshot, PostgreSQL's planner statistics of the register's tables
 * are taken again (ANALYZE), in the same transaction.  stop (NULL: none)
 * may interrupt a bulk load's index build (drv_load_end): the call fails,
 * the caller rolls back. */
vis_err store_import_finish(struct store *s, int64_t import_id,
			    const struct store_import *imp, int close_date,
			    struct store_import_counts *counts, const struct stop_ask *stop,
			    struct vis_error *e);

/* ---- reading the register ---- */

/* Counts for a municipality ("" = all) as of `date` (0 = now):
 * registered persons, households with at least one registered member. */
struct store_counts {
	int64_t persons;       /* registered (not cancelled) */
	int64_t cancelled;     /* known but cancelled (dead, emigrated...) */
	int64_t families;
	int64_t events;
};
vis_err store_counts_get(struct store *s, const char *comune, int date,
			 struct store_counts *out, struct vis_error *e);

/* The version of the person with this codice fiscale valid on `date`
 * (0 = current), in `comune` ("" = any municipality; then the registered
 * one wins over cancelled ones).  *found false when none. */
vis_err store_person_by_cf(struct store *s, const char *comune, const char *cf,
			   int date, struct store_person *out, bool *found,
			   struct vis_error *e);

/* Every version of one person, oldest first; calls fn for each. */
typedef int (*store_person_fn)(void *ctx, const struct store_person *p);
vis_err store_person_history(struct store *s, const char *comune, const char *id,
			     store_person_fn fn, void *ctx, struct vis_error *e);

/* Every person version valid on `date` (0 = now) whose record belongs to
 * `comune` ("" = every municipality), registered or not; for statistics. */
vis_err store_person_each_at(struct store *s, const char *comune, int date,
			     store_person_fn fn, void *ctx, struct vis_error *e);

/* Every household version valid on `date` (0 = now) whose record belongs
 * to `comune` ("" = every municipality); for statistics by address. */
typedef int (*store_family_fn)(void *ctx, const struct store_family *f);
vis_err store_family_each_at(struct store *s, const char *comune, int date,
			     store_family_fn fn, void *ctx, struct vis_error *e);

/* Every version of every person of `comune` ("" = all), each record's
 * versions together, oldest first (the history the statistics read). */
vis_err store_person_versions_each(struct store *s, const char *comune, store_person_fn fn,
				   void *ctx, struct vis_error *e);

/* For each municipality with a finished import: the extract times (Unix
 * seconds) of its first and last import, by ISTAT code. */
typedef int (*store_import_span_fn)(void *ctx, const char *comune, int64_t first, int64_t last);
vis_err store_import_span_each(struct store *s, store_import_span_fn fn, void *ctx,
			       struct vis_error *e);

/* Events of `comune` ("" = all) with from <= date <= to; fn gets the type
 * and the date. */
typedef int (*store_event_fn)(void *ctx, const char *comune, const char *type, int date);
vis_err store_event_each(struct store *s, const char *comune, int from, int to,
			 store_event_fn fn, void *ctx, struct vis_error *e);


/* The household valid on `date` (0 = current) and the persons who were its
 * registered members then, head first. */
vis_err store_family_get(struct store *s, const char *comune, const char *id,
			 int date, struct store_family *out, bool *found,
			 struct vis_error *e);
vis_err store_family_members(struct store *s, const char *comune, const char *id,
			     int date, store_person_fn fn, void *ctx,
			     struct vis_error *e);
/* A page of them in the same order: at most `limit` members after the
 * one whose key (relationship, birth date, local id) is `after` (NULL:
 * from the head). */
struct store_member_key {
	int relationship;
	int birth_date;
	char id[STORE_ID_MAX];
};
vis_err store_family_members_page(struct store *s, const char *comune, const char *id,
				  int date, const struct store_member_key *after, int limit,
				  store_person_fn fn, void *ctx, struct vis_error *e);

/* Every version of any person with this codice fiscale valid on `date`
 * (0 = now), one per municipality holding a record of them. */
vis_err store_person_versions_at(struct store *s, const char *cf, int date,
				 store_person_fn fn, void *ctx, struct vis_error *e);

/* The same, each version with its household on `date` (f NULL when it
 * has none), read in one statement. */
typedef int (*store_person_home_fn)(void *ctx, const struct store_person *p,
				    const struct store_family *f);
vis_err store_person_versions_home_at(struct store *s, const char *cf, int date,
				      store_person_home_fn fn, void *ctx, struct vis_error *e);

/* Searches current records by folded name keys (see text_fold_letters).
 * With STORE_SEARCH_EXACT both keys must match; with
 * STORE_SEARCH_SURNAME only the surname key (for a typo in the name), with
 * STORE_SEARCH_NAME only the name key (for a typo in the surname).  The
 * optional filters narrow it: birth date, birth year, municipality.  At
 * most `limit` rows reach fn. */
enum store_search_mode {
	STORE_SEARCH_EXACT,
	STORE_SEARCH_SURNAME,
	STORE_SEARCH_NAME,
};
struct store_search {
	enum store_search_mode mode;
	char surname_key[STORE_NAME_MAX];
	char name_key[STORE_NAME_MAX];
	int birth_date;
	int birth_year;
	char comune[7];
	int limit;
};
vis_err store_person_search(struct store *s, const struct store_search *q,
			    store_person_fn fn, void *ctx, struct vis_error *e);

/* Events after `after_rowid` in order, of the listed municipalities and
 * types (comma lists), at most `limit`: the pull feed of notifications.
 * fn gets the event, its row id (the cursor) and the person's current
 * codice fiscale ("" when unknown). */
typedef int (*store_feed_event_fn)(void *ctx, int64_t rowid, const struct store_event *ev,
				   const char *cf);
vis_err store_events_after(struct store *s, int64_t after_rowid, const char *comuni,
			   const char *types, int limit, store_feed_event_fn fn, void *ctx,
			   struct vis_error *e);

/* Delivery state of an agreement's webhook (zeros when none yet). */
struct store_webhook {
	int64_t convenzione_id;
	int64_t cursor;          /* last event delivered */
	int attempts;            /* failures since the last success */
	int64_t next_attempt_at;
	char last_error[201];
	int64_t delivered;       /* events delivered so far */
};
vis_err store_webhook_get(struct store *s, int64_t convenzione_id, struct store_webhook *out,
			  struct vis_error *e);
vis_err store_webhook_put(struct store *s, const struct store_webhook *w, struct vis_error *e);

/* ---- the access trail ---- */

struct store_access {
	int64_t id;
	int64_t at;              /* milliseconds since the epoch */
	int64_t account_id;
	char username[65];
	int64_t ente_id;
	int64_t convenzione_id;
	int64_t purpose_id;
	char case_ref[101];
	char on_behalf_of[101];
	char ip[64];
	char operation[32];
	char query[512];         /* normalised parameters */
	/* The persons of the record: codici fiscali, comma-separated, as many
	 * as the answer named (audit/subjects.h builds it).  Borrowed: the
	 * writer of a record keeps the text alive until the record is
	 * committed; in a record read from the store it is valid during the
	 * callback only, and store_access_get() leaves it "". */
	const char *subjects;
	char categories[256];
	char outcome[64];
	int status;
	char flags[64];          /* "break_glass" */
	char workstation[64];    /* the client certificate's serial, if any */
	char prev_hash[65];
	char hash[65];
};

/* The id and hash of the newest access record (0 and "" when none; when
 * every record was purged, the last purged one's, from audit_purge), read
 * inside the caller's transaction. */
vis_err store_access_last(struct store *s, int64_t *id, char hash[65], struct vis_error *e);
/* Inserts a record whose id and hashes the caller has set, with one
 * subject row per codice fiscale. */
vis_err store_access_insert(struct store *s, const struct store_access *a,
			    struct vis_error *e);
/* Every record in id order from `from_id`; fn returns non-zero to stop. */
typedef int (*store_access_fn)(void *ctx, const struct store_access *a);
vis_err store_access_each(struct store *s, int64_t from_id, store_access_fn fn, void *ctx,
			  struct vis_error *e);

/* Access records matching every filter given (0 / "" = any), oldest
 * first, at most `limit`. */
struct store_access_filter {
	char cf[17];
	int64_t account_id;
	int64_t ente_id;
	int64_t purpose_id;
	int64_t from_ms, to_ms;     /* [from, to) */
	int64_t after;              /* ids above it only (keyset cursor of a page; 0: all) */
	int limit;                  /* at most that many; 0: every match (an export, a
				       count: never cut short) */
};
vis_err store_access_search(struct store *s, const struct store_access_filter *f,
			    store_access_fn fn, void *ctx, struct vis_error *e);

/* A retention purge of the access trail: records 1..up_to removed at
 * `at` (ms), the last one's chain hash kept (the next record points at
 * it), signed by the deployment's key (audit_purge). */
struct store_purge {
	int64_t up_to;
	int64_t at;
	char last_hash[65];
	char signature[100];
};
/* Removes access records with id <= up_to_id and their per-person index
 * rows (retention purge), and records `p` (NULL: none) in the same
 * transaction; the caller has checked that the tree keeps their leaves
 * under a signed head.  The tree and the heads are left as they are. */
vis_err store_access_purge(struct store *s, int64_t up_to_id, const struct store_purge *p,
			   int64_t *removed, struct vis_error *e);
typedef int (*store_purge_fn)(void *ctx, const struct store_purge *p);
/* Every recorded purge, by up_to. */
vis_err store_purge_each(struct store *s, store_purge_fn fn, void *ctx, struct vis_error *e);

/* What retention lets go (auth_retention_purge): before[0]: security events
 * older than it; before[1]: sessions ended (idle, expired, revoked) before
 * it; before[2]: throttle rows with no failure since it and no longer
 * locked at `now`; before[3]: outbox messages queued before it, whatever
 * their state; before[4]: citizens' one-time codes that expired before it,
 * used or not; before[5]: PDND tokens' ids that expired before it.
 * removed[i]: the rows deleted from each table.
 * A batch of rows a statement (SQL_PURGE_ROWS, sql.h), each a transaction
 * of its own, after each a pause as long as it took, until every table is
 * done or STORE_PURGE_BUDGET_MS have passed (the rest at the next call):
 * the register's write lock, which logins and changes wait for at most a
 * second, is held a moment at a time and at most half the time. */
enum { STORE_PURGE_SECURITY, STORE_PURGE_SESSIONS, STORE_PURGE_THROTTLE, STORE_PURGE_MAIL,
       STORE_PURGE_SUBJECT_CODES, STORE_PURGE_PDND_JTI, STORE_PURGE_N };
#define STORE_PURGE_BUDGET_MS 2000
vis_err store_control_purge(struct store *s, const int64_t before[STORE_PURGE_N], int64_t now,
			    int64_t removed[STORE_PURGE_N], struct vis_error *e);

/* One-time codes that let a citizen read who consulted their record:
 * stored hashed, valid until expires_at, usable once. */
vis_err store_subject_code_put(struct store *s, const char *code_hash, const char *cf,
			       int64_t created_by, int64_t now, int64_t expires_at,
			       struct vis_error *e);
/* Marks a valid unused code as used and returns its cf; *ok false when the
 * code is unknown, expired or used. */
vis_err store_subject_code_use(struct store *s, const char *code_hash, int64_t now,
			       char cf[17], bool *ok, struct vis_error *e);

/* Citizens' sessions from SPID/CIE (api/spid.c): stored by the hash of
 * their cookie, each bound to one codice fiscale.  _put also forgets the
 * sessions expired by `now`; _get finds a live one (*found false when
 * unknown or expired); _end deletes it (logout). */
struct store_citizen_session {
	char cf[17];
	int level;
	int64_t expires_at;
};
vis_err store_citizen_session_put(struct store *s, const char *token_hash, const char *cf,
				  int level, int64_t now, int64_t expires_at,
				  struct vis_error *e);
vis_err store_citizen_session_get(struct store *s, const char *token_hash, int64_t now,
				  struct store_citizen_session *out, bool *found,
				  struct vis_error *e);
vis_err store_citizen_session_end(struct store *s, const char *token_hash, struct vis_error *e);

/* Citizens' e-mail notices of new consultations (watch/watch.h owns the
 * rules).  One subscription per codice fiscale: `address` gets notices
 * ("" until a first address is confirmed), `pending_address` waits for
 * the confirmation whose token is stored only as a hash.
 * _get: by cf, or by id when cf is NULL (*found false when none).
 * _ask: sets the pending address and its token (a new row, or beside the
 * address already confirmed).  _confirm: a live token makes its pending
 * address the one notified (a first one starting after the last
 * consultation recorded); *ok false when the token is unknown, used or
 * expired.  _delete: the subscription goes, with the citizen's messages
 * still waiting in the outbox.  _expire: unconfirmed addresses whose
 * token has expired are forgotten.  _due: the subscriptions with an
 * address last checked at or before `checked_before`, in id order, at most
 * `max`.  _advance: the cursors moved and the check's time set, only if
 * the cursors are still at from's (*ok false otherwise: another instance
 * moved them); in the caller's transaction. */
struct store_citizen_mail {
	int64_t id;
	char cf[17];
	char address[255];
	char pending_address[255];
	int64_t confirm_expires_at;
	char unsub_nonce[65];
	int64_t last_access_id;      /* the last ordinary consultation notified */
	int64_t last_held_id;        /* the last one under embargo notified */
	int64_t last_checked_at;     /* the last run of the notice on it */
};
vis_err store_citizen_mail_get(struct store *s, const char *cf, int64_t id,
			       struct store_citizen_mail *out, bool *found, struct vis_error *e);
vis_err store_citizen_mail_ask(struct store *s, const char *cf, const char *address,
			       const char *confirm_hash, int64_t expires_at, int64_t now,
			       struct vis_error *e);
vis_err store_citizen_mail_confirm(struct store *s, const char *confirm_hash, int64_t now,
				   const char *unsub_nonce, char cf[17], bool *ok,
				   struct vis_error *e);
vis_err store_citizen_mail_delete(struct store *s, const char *cf, struct vis_error *e);
vis_err store_citizen_mail_expire(struct store *s, int64_t now, struct vis_error *e);
typedef int (*store_citizen_mail_fn)(void *ctx, const struct store_citizen_mail *m);
vis_err store_citizen_mail_due(struct store *s, int64_t checked_before, int max,
			       store_citizen_mail_fn fn, void *ctx, struct vis_error *e);
vis_err store_citizen_mail_advance(struct store *s, const struct store_citizen_mail *from,
				   int64_t to_access, int64_t to_held, int64_t now, bool *ok,
				   struct vis_error *e);

/* Signed checkpoints of the access trail. */
struct store_checkpoint {
	int64_t id;
	int64_t at;
	int64_t last_id;
	char last_hash[65];
	char signature[100];
};
vis_err store_checkpoint_insert(struct store *s, const struct store_checkpoint *c,
				struct vis_error *e);
typedef int (*store_checkpoint_fn)(void *ctx, const struct store_checkpoint *c);
vis_err store_checkpoint_each(struct store *s, store_checkpoint_fn fn, void *ctx,
			      struct vis_error *e);
/* The trail's Merkle tree: complete node (level, idx) as hex SHA-256;
 * node (0, i) is the leaf of access record i + 1.  Written in the group
 * commit's transaction, never updated; purges leave them. */
vis_err store_tree_put(struct store *s, int level, int64_t idx, const char hash[65],
		       struct vis_error *e);
vis_err store_tree_get(struct store *s, int level, int64_t idx, char hash[65], bool *found,
		       struct vis_error *e);

/* Every row of the per-person index (access_subject), by record then
 * codice fiscale: what audit_verify checks against the records. */
typedef int (*store_subject_row_fn)(void *ctx, int64_t access_id, const char *cf);
vis_err store_access_subject_each(struct store *s, store_subject_row_fn fn, void *ctx,
				  struct vis_error *e);

/* Signed tree heads (audit/checkpoint.h), one per size. */
#define STORE_HEAD_NOTE_MAX 4096
struct store_head {
	int64_t size;
	int64_t at;                          /* ms */
	char root[65];                       /* hex */
	char note[STORE_HEAD_NOTE_MAX + 1];  /* the checkpoint's text */
};
vis_err store_head_insert(struct store *s, const struct store_head *h, struct vis_error *e);
/* Replaces the note of the head (size, root: hex) with the same note
 * carrying witnesses' cosignatures (the caller checked them). */
vis_err store_head_cosigned(struct store *s, int64_t size, const char *root, const char *note,
			    struct vis_error *e);
/* The largest head; *found false when none. */
vis_err store_head_last(struct store *s, struct store_head *out, bool *found,
			struct vis_error *e);
typedef int (*store_head_fn)(void *ctx, const struct store_head *h);
vis_err store_head_each(struct store *s, store_head_fn fn, void *ctx, struct vis_error *e);

/* One access record by id, without its subjects (""; read them with
 * store_access_each or store_access_search); *found false when absent. */
vis_err store_access_get(struct store *s, int64_t id, struct store_access *out, bool *found,
			 struct vis_error *e);

/* ---- control data: bodies, accounts, sessions, tokens, mail ----
 *
 * Plain records with an integer id.  Times are seconds since the epoch
 * (0 = never).  Text fields are bounded; the store refuses longer values. */

struct store_ente {
	int64_t id;
	char name[201];
	char kind[32];          /* police, health, pension, tax, court, municipality, service, other */
	char tax_code[17];      /* codice fiscale / partita IVA of the body */
	char pec[255];          /* certified e-mail */
	char hours[1024];       /* working-hours schedule, see auth/hours.h */
	char networks[1024];    /* allowed source networks (CIDR list), "" = any */
	char comune[7];         /* for kind "municipality": its ISTAT code (feeds it may push) */
	char state[16];         /* active, suspended, ended */
	int64_t created_at;
};

struct store_account {
	int64_t id;
	char username[65];
	char role[16];          /* admin, lead, operator, auditor, api */
	int64_t ente_id;        /* 0 for admin and auditor */
	char full_name[201];
	char cf[17];
	char email[255];
	char appointment_ref[201];
	char password_hash[128];
	int64_t password_set_at;
	bool password_temporary;
	int64_t temp_expires_at;
	int64_t issued_at;      /* credential issue or last renewal */
	int64_t expires_at;     /* credential end */
	char state[16];         /* active, disabled */
	char disabled_reason[64];
	int64_t disabled_at;
	char totp_secret[160];    /* sealed (auth/sealed.h), "" when none */
	bool totp_enabled;
	int64_t totp_last_step;
	int64_t last_login_at;
	int64_t prev_login_at;
	int64_t reminded_at;    /* last renewal reminder queued */
	int64_t created_at;
};

struct store_session {
	int64_t id;
	char token_hash[65];    /* hex SHA-256 of the cookie value */
	int64_t account_id;
	char csrf[64];
	int64_t created_at;
	int64_t last_seen_at;
	int64_t expires_at;     /* absolute end */
	char ip[64];
	int64_t revoked_at;
};

struct store_token {
	int64_t id;
	int64_t account_id;
	char token_hash[65];
	char name[101];
	int64_t created_at;
	int64_t last_used_at;
	int64_t revoked_at;
};

struct store_operator_request {
	int64_t id;
	int64_t ente_id;
	int64_t requested_by;   /* the lead's account */
	char full_name[201];
	char cf[17];
	char email[255];
	char appointment_ref[201];
	char username[65];
	char state[16];         /* pending, approved, rejected */
	int64_t decided_by;
	int64_t decided_at;
	char note[501];
	int64_t account_id;     /* the account created on approval */
	int64_t created_at;
};

struct store_mail {
	int64_t id;
	char recipient[255];
	char subject[201];
	char body[4096];
	char kind[32];          /* credentials, reminder, alert, notice */
	char state[16];         /* pending, sent, failed, stored */
	int attempts;
	char last_error[201];
	int64_t created_at;
	int64_t next_attempt_at;
	int64_t sent_at;
};

struct store_security_event {
	int64_t id;
	int64_t at;
	char kind[48];          /* login_success, login_failure, lockout, ... */
	int64_t account_id;
	char username[65];
	int64_t ente_id;
	char ip[64];
	char detail[256];
};

/* An agreement (convenzione) between the municipality and a body. */
struct store_convenzione {
	int64_t id;
	int64_t ente_id;
	char reference[101];    /* the signed agreement's reference */
	char comuni[4096];      /* ISTAT codes covered, comma-separated */
	int valid_from;         /* YYYYMMDD */
	int valid_to;           /* YYYYMMDD, 0 = open-ended */
	char state[16];         /* active, suspended, ended */
	char mode[16];          /* consult, verify_only */
	char profile[256];      /* data categories, comma-separated */
	int max_results;        /* results per search */
	int per_minute;         /* requests per operator per minute */
	int per_day;            /* requests per operator per day */
	int body_per_minute;    /* requests of the whole body under the agreement */
	int body_per_day;
	int purpose_per_minute; /* requests per purpose, whole body */
	int purpose_per_day;
	bool break_glass;       /* urgent access beyond limits allowed */
	bool workstation_cert;  /* requests need a workstation certificate */
	char event_types[256];  /* subscribed event types, comma-separated */
	char webhook_url[256];  /* where events are pushed, "" = pull only */
	int64_t created_at;
};

/* An institutional purpose (finalità) of an agreement. */
struct store_purpose {
	int64_t id;
	int64_t convenzione_id;
	char code[33];
	char description[301];
	char legal_basis[301];
	char processing_ref[65];  /* entry of the record of processing */
	int64_t created_at;
};

/* An alert raised by the anti-extraction rules. */
struct store_alert {
	int64_t id;
	int64_t at;
	char rule[32];
	int64_t account_id;
	char username[65];
	int64_t ente_id;
	char severity[16];      /* medium, high, critical */
	char detail[256];
	char state[16];         /* open, reviewed */
	int64_t reviewed_by;
	int64_t reviewed_at;
	char note[501];
};

/* A security incident reported by a body's lead, and its history. */
struct store_incident {
	int64_t id;
	int64_t ente_id;
	int64_t reported_by;
	char what[1001];
	char occurred_at[64];   /* as the lead states it */
	char accounts[256];     /* account ids or user ids involved */
	char state[16];         /* open, handled, closed */
	int64_t created_at;
	int64_t updated_at;
};

struct store_incident_step {
	int64_t id;
	int64_t incident_id;
	int64_t at;
	int64_t by_account;
	char state[16];
	char note[501];
};

/* A workstation certificate issued by the municipality's CA. */
struct store_workstation {
	int64_t id;
	char serial[41];        /* hex */
	int64_t ente_id;
	char name[65];
	int64_t issued_at;
	int64_t expires_at;
	int64_t revoked_at;
};

/* A PDND purpose (the purposeId of a voucher) mapped by the registry
 * office to one visura purpose (and so one agreement and body) and to the
 * body's API account the calls are made as; never deleted: an ended
 * mapping keeps its revoked_at (src/pdnd/pdnd.h). */
struct store_pdnd_purpose {
	int64_t id;
	char pdnd_purpose[65];  /* PDND's purposeId (a UUID) */
	char client_id[65];     /* PDND's client_id the voucher must carry */
	int64_t purpose_id;
	int64_t account_id;
	int64_t created_at;
	int64_t revoked_at;     /* 0: in force */
};

/* A public key of a body's PDND client (a JWK), with which it signs its
 * Agid-JWT-TrackingEvidence (AUDIT_REST_02); ended, never deleted. */
struct store_pdnd_key {
	int64_t id;
	int64_t ente_id;
	char kid[65];
	char jwk[2048];         /* the public JWK, JSON */
	int64_t created_at;
	int64_t revoked_at;     /* 0: in force */
};

/* An entry of the record of processing activities (GDPR art. 30). */
struct store_processing {
	int64_t id;
	char number[17];
	char process[201];
	char description[1001];
	char purpose[501];
	char legal_basis[501];
	char operations[301];
	char internal_owner[201];
	char external_processor[201];
	char data_categories[301];
	bool special_categories;
	char retention[201];
	char data_subjects[301];
	char recipients[301];
	char third_countries[201];
	char measures[1001];
	char mode[64];
	int64_t updated_at;
};

/* A scheduled-interruption notice, shown at login and through the API. */
struct store_notice {
	int64_t id;
	char title[201];
	char body[2001];
	int64_t starts_at;
	int64_t ends_at;              /* as announced, kept when withdrawn */
	int64_t created_at;
	int64_t withdrawn_at;         /* 0: not withdrawn */
};

/* The admin's yearly decision on an agreement. */
struct store_review {
	int64_t id;
	int64_t convenzione_id;
	char decision[16];      /* confirm, restrict, revoke */
	char note[1001];
	int64_t decided_by;
	int64_t decided_at;
};

/* A formal request for a list of people, decided and extracted by the
 * registry office. */
struct store_list_request {
	int64_t id;
	int64_t ente_id;
	int64_t requested_by;
	int64_t purpose_id;
	char criteria[512];     /* JSON: comune, age_from, age_to, sex, citizenship */
	char justification[1001];
	char state[16];         /* pending, approved, rejected, extracted */
	int64_t decided_by;
	int64_t decided_at;
	char note[501];
	int64_t extracted_at;
	int64_t persons;
	int64_t created_at;
};

/* The kinds of control record, for the generic calls below. */
enum store_kind {
	STORE_ENTE,
	STORE_ACCOUNT,
	STORE_SESSION,
	STORE_TOKEN,
	STORE_OPERATOR_REQUEST,
	STORE_MAIL,
	STORE_SECURITY_EVENT,
	STORE_CONVENZIONE,
	STORE_PURPOSE,
	STORE_ALERT,
	STORE_INCIDENT,
	STORE_INCIDENT_STEP,
	STORE_WORKSTATION,
	STORE_PROCESSING,
	STORE_NOTICE,
	STORE_REVIEW,
	STORE_LIST_REQUEST,
	STORE_PDND_PURPOSE,
	STORE_PDND_KEY,
	STORE_KIND__COUNT,
};

/* Inserts rec (its id is ignored) and sets *id.  A unique value already
 * taken (username, token) gives VIS_ERR_CONFLICT. */
vis_err store_rec_insert(struct store *s, enum store_kind k, const void *rec,
			 int64_t *id, struct vis_error *e);
/* Writes what `after` changes from `before`, the copy of the record (same
 * id) it was made from: only the fields that differ, and only while the
 * record still holds before's values in them.  So a change made on a copy
 * read earlier never puts back a field another change wrote since (a
 * session revoked, an account disabled while a request records its last
 * use keeps revoked, disabled); a change of a field another change has
 * written since is refused with VIS_ERR_CONFLICT and writes nothing (read
 * the record again and decide again).  Nothing changed: nothing written. */
vis_err store_rec_update(struct store *s, enum store_kind k, const void *before,
			 const void *after, struct vis_error *e);
#define STORE_CHANGED_MEANWHILE \
	"il dato è stato cambiato da un'altra operazione nel frattempo (o non c'è più): " \
	"rileggerlo e riprovare"
/* Lists records matching up to three "column = value" filters (a NULL
 * column ends the list; text when text != NULL, otherwise num), newest
 * first, at most `limit` (0 = no limit).  fn returns non-zero to stop. */
struct store_filter {
	const char *col;
	const char *text;
	int64_t num;
};
typedef int (*store_rec_fn)(void *ctx, const void *rec);
vis_err store_rec_list(struct store *s, enum store_kind k,
		       const struct store_filter *filters, int limit,
		       store_rec_fn fn, void *ctx, struct vis_error *e);
/* The same, only records with an id below `before` (0: all): one page of
 * the list after the one that ended at `before` (keyset, not offset). */
vis_err store_rec_page(struct store *s, enum store_kind k, const struct store_filter *filters,
		       int64_t before, int limit, store_rec_fn fn, void *ctx, struct vis_error *e);
/* Counts, every match (no cap), in one statement: a body's alerts; the
 * security events of `kind` whose detail begins with `prefix` ("": every
 * one of the kind). */
vis_err store_alerts_count(struct store *s, int64_t ente_id, int64_t *n, struct vis_error *e);
/* Every alert counted by rule, in one statement (/metrics): fn(ctx, rule,
 * count) for each rule that has any, in the rules' order. */
vis_err store_alerts_by_rule(struct store *s, void (*fn)(void *ctx, const char *rule, int64_t n),
			     void *ctx, struct vis_error *e);
/* How many alerts of `rule` about `username` were raised at `since` or
 * later, in one statement (by index: migration 31). */
vis_err store_alerts_since(struct store *s, const char *rule, const char *username, int64_t since,
			   int64_t *n, struct vis_error *e);
/* The outbox's messages due at `now` (pending, their next attempt not
 * after it), the longest waiting first, at most `max`: fn(ctx, mail) each. */
vis_err store_mail_due(struct store *s, int64_t now, int max, store_rec_fn fn, void *ctx,
		       struct vis_error *e);
/* The notices not ended at `now` (current and upcoming) nor withdrawn,
 * the soonest to start first, at most `max`: fn(ctx, notice) each. */
vis_err store_notices_live(struct store *s, int64_t now, int max, store_rec_fn fn, void *ctx,
			   struct vis_error *e);
/* Writes `after`'s title, body, times and withdrawn_at over the notice
 * `before` (the same id), read earlier: only while the notice still holds
 * all of before's, has not ended at `now` and is not withdrawn (a notice
 * over is never changed); otherwise VIS_ERR_CONFLICT, nothing written.  A
 * withdrawal is the same change with withdrawn_at made `now`, the times
 * it announced kept. */
vis_err store_notice_correct(struct store *s, const struct store_notice *before,
			     const struct store_notice *after, int64_t now, struct vis_error *e);
vis_err store_security_events_count(struct store *s, const char *kind, const char *prefix,
				    int64_t *n, struct vis_error *e);

/* The same calls typed, one set per kind (the compiler checks the struct;
 * a look-up by any other column is not offered: the generic one, by a
 * column name and a void *, stays inside src/store):
 *   store_NAME_get(s, id, &out, &found, e)      the record by id
 *   store_NAME_insert(s, &rec, &id, e)          as store_rec_insert
 *   store_NAME_update(s, &before, &after, e)    as store_rec_update
 * and the look-ups by a unique text column below. */
#define STORE_RECORDS(X)                                                      \
	X(ente, STORE_ENTE) X(account, STORE_ACCOUNT) X(session, STORE_SESSION) \
	X(token, STORE_TOKEN) X(operator_request, STORE_OPERATOR_REQUEST)     \
	X(mail, STORE_MAIL) X(security_event, STORE_SECURITY_EVENT)           \
	X(convenzione, STORE_CONVENZIONE) X(purpose, STORE_PURPOSE)           \
	X(alert, STORE_ALERT) X(incident, STORE_INCIDENT)                     \
	X(incident_step, STORE_INCIDENT_STEP) X(workstation, STORE_WORKSTATION) \
	X(processing, STORE_PROCESSING) X(notice, STORE_NOTICE)               \
	X(review, STORE_REVIEW) X(list_request, STORE_LIST_REQUEST)               \
	X(pdnd_purpose, STORE_PDND_PURPOSE) X(pdnd_key, STORE_PDND_KEY)
#define STORE_REC_TYPED_DECLARE(name, kind)                                    \
	vis_err store_##name##_get(struct store *s, int64_t id, struct store_##name *out, \
				   bool *found, struct vis_error *e);                  \
	vis_err store_##name##_insert(struct store *s, const struct store_##name *rec, \
				      int64_t *id, struct vis_error *e);               \
	vis_err store_##name##_update(struct store *s, const struct store_##name *before, \
				      const struct store_##name *after, struct vis_error *e);
STORE_RECORDS(STORE_REC_TYPED_DECLARE)
vis_err store_account_by_username(struct store *s, const char *username,
				  struct store_account *out, bool *found, struct vis_error *e);
vis_err store_session_by_token(struct store *s, const char *token_hash,
			       struct store_session *out, bool *found, struct vis_error *e);
vis_err store_token_by_hash(struct store *s, const char *token_hash, struct store_token *out,
			    bool *found, struct vis_error *e);
vis_err store_workstation_by_serial(struct store *s, const char *serial,
				    struct store_workstation *out, bool *found,
				    struct vis_error *e);
vis_err store_processing_by_number(struct store *s, const char *number,
				   struct store_processing *out, bool *found,
				   struct vis_error *e);

/* Records that a TOTP step was used, only if it is newer than the last one
 * used: *advanced is false when another request got there first (replay). */
vis_err store_account_totp_advance(struct store *s, int64_t account_id, int64_t step,
				   bool *advanced, struct vis_error *e);

/* Takes the id of a signed token (PDND voucher, tracking evidence) until
 * expires_at: *fresh is false when it was taken before (a replay), by
 * this instance or another on the same database. */
vis_err store_pdnd_jti_take(struct store *s, const char *jti, int64_t expires_at, bool *fresh,
			    struct vis_error *e);
/* The same for two ids at once, in one statement and one commit (a PDND
 * call's voucher and tracking evidence: one wait for the disk instead of
 * two); the ids differ. */
vis_err store_pdnd_jti_take_pair(struct store *s, const char *jti1, int64_t expires1,
				 const char *jti2, int64_t expires2, bool *fresh1, bool *fresh2,
				 struct vis_error *e);
/* Gives back an id just taken (the call it came with was refused for
 * another token's replay), so that it stays usable. */
vis_err store_pdnd_jti_give_back(struct store *s, const char *jti, struct vis_error *e);
/* The ids that expired are forgotten by the retention purge
 * (store_control_purge, STORE_PURGE_PDND_JTI). */

/* ---- the monthly bulletin (src/bollettino) ----
 *
 * The municipalities the office publishes a monthly bulletin for, and the
 * archive: one bulletin per municipality and month, written once, but
 * rewritten when made under an earlier protection rule (the earlier one
 * kept aside: store_bollettino_replace). */
struct store_bollettino {
	char comune[7];
	int mese;                /* YYYYMM */
	int64_t generated_at;
	char sha256[65];         /* of the PDF's bytes, hex */
	int64_t html_len;        /* characters of the page */
	int64_t pdf_len;         /* characters of the PDF in base64 */
	int regola;              /* STATS_PROTECTION_RULE it was made under, 0 unknown */
	int soglia;              /* the threshold it was made with, 0 unknown */
};
/* Enables (on) or stops the bulletin of a municipality; *changed is false
 * when it already was (or was not). */
vis_err store_bollettino_comune_set(struct store *s, const char *comune, bool on, int64_t now,
				    bool *changed, struct vis_error *e);
/* Each municipality enabled, in code order; fn returns non-zero to stop. */
typedef int (*store_bollettino_comune_fn)(void *ctx, const char *comune, int64_t since);
vis_err store_bollettino_comune_each(struct store *s, store_bollettino_comune_fn fn, void *ctx,
				     struct vis_error *e);
/* Archives a bulletin: *stored is false when the municipality's month was
 * archived already (by another instance, the scheduler or the command
 * line): the first one stays. */
vis_err store_bollettino_put(struct store *s, const struct store_bollettino *b, const char *html,
			     const char *pdf_base64, bool *stored, struct vis_error *e);
/* Rewrites the archived bulletin of b->comune and b->mese with b (its
 * rule b->regola, its threshold b->soglia) if it was made under another
 * rule or with another threshold: the row as it was is kept in
 * bollettino_superato (superseded_at: now), in the same transaction.
 * *replaced is false when there is none of another rule or threshold
 * (none at all, or rewritten already by another instance). */
vis_err store_bollettino_replace(struct store *s, const struct store_bollettino *b,
				 const char *html, const char *pdf_base64, int64_t now,
				 bool *replaced, struct vis_error *e);
/* Whether the month (YYYYMM) of a municipality is archived. */
vis_err store_bollettino_has(struct store *s, const char *comune, int mese, bool *found,
			     struct vis_error *e);
/* The archive, newest month first, of one municipality ("" = all), without
 * the documents; fn returns non-zero to stop. */
typedef int (*store_bollettino_fn)(void *ctx, const struct store_bollettino *b);
vis_err store_bollettino_each(struct store *s, const char *comune, store_bollettino_fn fn,
			      void *ctx, struct vis_error *e);
/* One bulletin with its documents: *html and *pdf_base64 are the caller's
 * (free them); both NULL when not found. */
vis_err store_bollettino_get(struct store *s, const char *comune, int mese,
			     struct store_bollettino *out, char **html, char **pdf_base64,
			     bool *found, struct vis_error *e);

/* ---- the statistics' protections kept (src/stats/cache.h) ----
 *
 * A costly protection's result, its masks packed one bit a cell, under
 * the 32-byte key its caller makes of exactly its inputs (and of its
 * algorithm's version): kept across restarts and shared by the instances
 * of one database.  At most `keep` rows (the caller's bound), the least
 * recently used deleted first. */
#define STORE_PROTECTION_KEY 32
/* The bits kept under key: *found, and then *cells (how many) and *data
 * ((cells + 7) / 8 bytes, the caller's to free).  Only a whole row is
 * found: its text decodes to exactly that many bytes and its digest is
 * the one written with the key, the count and the bytes; any other (cut,
 * changed) is not (*found false, logged): the caller computes again. */
vis_err store_protection_get(struct store *s, const unsigned char key[STORE_PROTECTION_KEY],
			     size_t *cells, unsigned char **data, bool *found,
			     struct vis_error *e);
/* Keeps cells bits of data under key (replacing the key's row), made and
 * used at now, then deletes all but the `keep` most recently used rows,
 * in one transaction (outside any other). */
vis_err store_protection_put(struct store *s, const unsigned char key[STORE_PROTECTION_KEY],
			     size_t cells, const unsigned char *data, int64_t now, int keep,
			     struct vis_error *e);
/* The row of key used at now (none: nothing). */
vis_err store_protection_touch(struct store *s, const unsigned char key[STORE_PROTECTION_KEY],
			       int64_t now, struct vis_error *e);

/* Deletes a record by id (only processing entries may be deleted, and
 * only by a caller that checked no purpose points at them). */
vis_err store_rec_delete(struct store *s, enum store_kind k, int64_t id, struct vis_error *e);

/* Revokes every live session of an account (at `now`), but `keep_id`. */
vis_err store_sessions_revoke_others(struct store *s, int64_t account_id, int64_t keep_id,
				    int64_t now, struct vis_error *e);

/* Revokes every live session of an account (at `now`). */
vis_err store_sessions_revoke_account(struct store *s, int64_t account_id,
				      int64_t now, struct vis_error *e);
/* Revokes every live API token of an account. */
vis_err store_tokens_revoke_account(struct store *s, int64_t account_id,
				    int64_t now, struct vis_error *e);

/* The last `max` password hashes of an account, newest first. */
vis_err store_password_history(struct store *s, int64_t account_id,
			       char (*hashes)[128], int max, int *n,
			       struct vis_error *e);
vis_err store_password_history_add(struct store *s, int64_t account_id,
				   const char *hash, int64_t at, struct vis_error *e);

/* Login throttling counters, shared by every process on the database. */
struct store_throttle {
	int failures;
	int64_t last_failure_at;
	int64_t locked_until;
};
vis_err store_throttle_get(struct store *s, const char *key, struct store_throttle *out,
			   struct vis_error *e);
vis_err store_throttle_put(struct store *s, const char *key,
			   const struct store_throttle *t, struct vis_error *e);
/* One failure more, counted in one statement (no lost count when two
 * arrive at once; a key quiet for `forgive` seconds starts again at 1):
 * *out the row after it. */
vis_err store_throttle_bump(struct store *s, const char *key, int64_t now, int64_t forgive,
			    struct store_throttle *out, struct vis_error *e);
/* locked_until raised to `until` (never lowered). */
vis_err store_throttle_lock(struct store *s, const char *key, int64_t until,
			    struct vis_error *e);
/* A bump taken back: one failure less, and locked_until back to `was`
 * if it is still `set` (the lock that bump made). */
vis_err store_throttle_undo(struct store *s, const char *key, int64_t set, int64_t was,
			    struct vis_error *e);

/* ---- state shared by the instances on one database ----
 *
 * True when other processes may serve from the same database at once
 * (PostgreSQL): state that must be one for the whole service (rate-limit
 * and alert counters) then lives in the database; with SQLite it may live
 * in the process. */
bool store_shared(struct store *s);
/* PostgreSQL: moves the shared state (this section's values, rows and
 * counters, which the look-ups rewrite) to a companion database, `uri`
 * (postgres:CONNINFO; its tables made when missing), reached over a
 * second connection of the handle.  A database of the same server, not
 * the register's own: since PostgreSQL 14 a transaction left open in one
 * database (a FULL import's, for its whole length) does not keep the dead
 * versions of another database's rows from being pruned, so the look-ups
 * no longer step over one more of them for every write since the import
 * began.  Every instance of a database must name the same companion, and
 * one per database: its keys name no database.  Without it (the
 * default) the shared state stays in the database itself.  VIS_ERR_INVALID
 * on SQLite or for another URI; NULL or "" is a no-op. */
vis_err store_shared_open(struct store *s, const char *uri, struct vis_error *e);
/* The transaction of the shared state's connection (the companion's, or
 * the handle's own without one): store_state_lock()'s lock is held until
 * it ends.  Independent of the register's transaction: nothing of the
 * register or the trail is ever written in it. */
/* With a companion database: removes the dead versions of its rows
 * (VACUUM).  A transaction of the register's database does not keep
 * VACUUM from removing them, but it does keep a look-up from pruning
 * them as it reads a page (PostgreSQL prunes on access only what every
 * snapshot of the server, whatever its database, no longer sees): they
 * pile up between two vacuums, and autovacuum visits a database about
 * once a minute.  visura serve calls it on every tick of its periodic
 * duties (5 s) on the instance that holds them.  Without a companion, a
 * no-op (during an import it could remove nothing). */
vis_err store_shared_vacuum(struct store *s, struct vis_error *e);
vis_err store_shared_begin(struct store *s, struct vis_error *e);
vis_err store_shared_commit(struct store *s, struct vis_error *e);
void store_shared_rollback(struct store *s);
/* Small named text values updated under a lock.  Inside the caller's
 * transaction: store_state_lock() locks key's value (creating it empty)
 * until the transaction ends and reads it ("" when new; VIS_ERR_LIMIT when
 * it does not fit in cap); store_state_put() replaces it (sent without
 * waiting: PostgreSQL pipelines it with the commit, where a failure shows).
 * Every value has a version, which every write moves on by one (a value
 * created starts at a random one: never one an instance remembers from
 * before a crash of PostgreSQL emptied the table). */
vis_err store_state_lock(struct store *s, const char *key, char *out, size_t cap,
			 struct vis_error *e);
/* The same for a value of any length up to max bytes (VIS_ERR_LIMIT
 * beyond): *out is the value, the caller's to free, *version its version
 * (after a store_state_put() and the commit: *version + 1). */
vis_err store_state_lock_dup(struct store *s, const char *key, size_t max, char **out,
			     int64_t *version, struct vis_error *e);
vis_err store_state_put(struct store *s, const char *key, const char *value, int64_t now,
			struct vis_error *e);
/* The persons a value counts (the anti-extraction counters' distinct
 * persons of the hour), kept as rows beside it, each a hash and when it
 * was last seen: what a write changes in them. */
struct store_seen_delta {
	int64_t drop_upto;   /* the rows seen at or before it leave (-1: none) */
	const int64_t *seen; /* seen now: added, or their time moved on */
	int nseen;
};
/* Compare and set, in one statement (PostgreSQL only, where store_shared
 * holds; outside a transaction, or inside one holding the value's lock):
 * replaces key's value by `value` if its version is still `expect`, and
 * applies `delta` (NULL: none) to its persons, with no lock held before
 * or after.  Then *written and *version the new version; otherwise *out
 * (the caller's to free, NULL when key has no value: store_state_lock()
 * creates it) and *version are what the value is now, the write of
 * another instance or thread (VIS_ERR_LIMIT when past max bytes). */
vis_err store_state_swap(struct store *s, const char *key, const char *value, int64_t now,
			 int64_t expect, const struct store_seen_delta *delta, size_t max,
			 bool *written, char **out, int64_t *version, struct vis_error *e);
/* Calls fn for each person of key's value (as store_state_swap wrote
 * them), inside the transaction holding its lock; fn's non-zero return
 * stops and is returned. */
int store_state_seen(struct store *s, const char *key,
		     int (*fn)(void *ctx, int64_t h, int64_t at), void *ctx, struct vis_error *e);
/* Rate-limit counters shared by the instances on one database, in one
 * statement (PostgreSQL only, where store_shared holds; outside a
 * transaction): n counters (at most STORE_COUNTERS_MAX) named keys[i],
 * each counting in window windows[i] (a number that grows as windows
 * pass) and allowing limits[i] a window.  Each counter grows by
 * granted[i] = its remaining units (limit - count) divided by `share`,
 * at least 1 and at most `most` (most = 1: one request; more: a lease
 * spent by the caller, policy/ratelimit.h).  All grow (*taken) or none:
 * exhausted[i] tells which are at their limit.  The rows are locked in
 * key order for the statement and read after another instance's
 * statement on them, so the instances together are never granted past
 * a limit. */
#define STORE_COUNTERS_MAX 8
vis_err store_counters_take(struct store *s, const char *const *keys, const int64_t *windows,
			    const int64_t *limits, int n, int64_t share, int64_t most, int64_t now,
			    bool *taken, bool *exhausted, int64_t *granted, struct vis_error *e);

/* Readiness: rewrites one row with `filler` (inside the caller's
 * transaction), so that a commit after it proves the database, and the
 * disk under it, take writes as large as `filler`.  A write of one small
 * row would not do: SQLite reuses the space of its write-ahead log, so a
 * one-page commit may still fit on a full disk where a look-up's record
 * does not. */
vis_err store_readiness_write(struct store *s, int64_t now, const char *filler,
			      struct vis_error *e);

/* ---- the per-process cache of control records ----
 *
 * The records the gate and the corridor read on every request (bodies,
 * accounts, agreements, purposes, workstation certificates, settings)
 * are kept in memory, shared by every thread of the process, and valid
 * for one generation: a counter in the database that every change to
 * such a record moves in the same transaction as the change (the store's
 * own writes do it; no other code writes these tables).  A handle reads
 * the counter once after store_cache_fresh() (one cheap statement, at the
 * first cached read), so a change committed by any process, another
 * instance or the CLI is seen at the next request of every instance.
 * Sessions and API tokens are not cached (their last-use time is written
 * as they are used).  Reads inside a transaction, and reads of a handle
 * without a cache or never made fresh, go to the database. */
struct store_cache;
/* NULL when out of memory. */
struct store_cache *store_cache_new(void);
/* Frees the cache (NULL is a no-op); no handle may use it any more. */
void store_cache_free(struct store_cache *c);
/* Lets handle s use c (NULL: none); c must outlive the handle's use. */
void store_cache_attach(struct store *s, struct store_cache *c);
/* A request begins on s: its first cached read reads the generation. */
void store_cache_fresh(struct store *s);
/* What the cache did so far (tests, metrics). */
struct store_cache_stats {
	uint64_t hits, misses;
	uint64_t gen_reads;     /* statements that read the generation */
};
void store_cache_stats(const struct store_cache *c, struct store_cache_stats *out);

/* What a handle asked of its database so far (a deterministic count, for
 * tests and measurements): statements run, and round trips — the times
 * the thread waited for the database server (PostgreSQL: each statement
 * run or prepared, one per pipeline of statements; SQLite: 0), on both
 * connections of a handle with a companion database (store_shared_open). */
struct store_io {
	uint64_t statements;
	uint64_t round_trips;
};
void store_io_get(struct store *s, struct store_io *out);

/* Settings: small named values (e.g. roles that must use TOTP). */
vis_err store_setting_get(struct store *s, const char *key, char *out, size_t cap,
			  bool *found, struct vis_error *e);
vis_err store_setting_put(struct store *s, const char *key, const char *value,
			  struct vis_error *e);

#endif
