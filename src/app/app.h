/* app — the running service: its configuration, its clock, the reference
 * tables, and one store handle per worker thread.
 *
 * Owns: everything that lives as long as `visura serve` and is shared by
 * the request handlers.  Handlers receive the app through the request and
 * never reach for globals. */
#ifndef VISURA_APP_APP_H
#define VISURA_APP_APP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"
#include "store/store.h"

struct alert_tracker;
struct metrics;
struct audit_key;
struct audit_writer;
struct publisher;
struct jwks;
struct pdnd_signer;
struct oidc;
struct ratelimit;
struct sealed_key;
struct refdata;
struct store;
struct stats_cache;
struct runner;
struct store_cache;
struct web_assets;

struct app {
	struct config cfg;
	struct refdata *rd;
	struct audit_writer *audit;   /* group commit of the access trail */
	struct audit_key *key;        /* signs receipts and checkpoints */
	struct publisher *publisher;  /* heads to the witnesses; NULL: none configured */
	struct sealed_key *secrets;   /* seals TOTP secrets and queued passwords */
	struct ratelimit *rl;         /* request counters per operator, body, purpose */
	struct alert_tracker *alerts; /* anti-extraction rules */
	struct metrics *metrics;      /* counters for /metrics */
	struct web_assets *ui;        /* the browser interface, or NULL */
	struct store_cache *cache;    /* control records, shared by the threads' stores */
	struct stats_cache *stats;    /* strasa_cittadinanza_eta's protections (stats/cache.h) */
	struct runner *slow;          /* statistics tables and series, bulletins made
					 again, the trail's verification: off the
					 HTTP workers (runner.h) */
	struct runner *imports;       /* the files pushed over HTTPS, the same */
	struct jwks *pdnd;            /* PDND's public keys (pdnd_jwks or pdnd_jwks_url), or
					 NULL: no vouchers */
	struct pdnd_signer *signer;   /* INTEGRITY_REST_02 (pdnd_signing_key), or NULL */
	struct oidc *oidc;            /* the SPID/CIE relying party, or NULL: not configured */
	char *crest;                  /* print_crest's bytes, or NULL: the emblem */
	size_t crest_len;
	const char *crest_type;       /* its content type */
	char verify_url[300];         /* public_url + "/verifica", or "" */
	atomic_llong clock_offset;    /* seconds added to the real time (test clock) */
	atomic_int in_flight;         /* requests being answered */
	atomic_bool stopping;
	atomic_bool serving;          /* every listener is up: /healthz and /readyz
				         answer 503 "starting" until then */
	uint64_t instance_id;         /* random: this process among the instances */
	/* Every store a thread opened, so that app_release() closes them. */
	pthread_mutex_t stores_lock;
	struct store *stores[256];
	int nstores;
};

/* Jobs waiting for app->slow at most; more are answered 503. */
#define APP_SLOW_QUEUE 16
/* Imports pushed over HTTPS waiting at most (each a parked connection and
 * its file on disk); more are answered 503. */
#define APP_IMPORT_QUEUE 32

vis_err app_init(struct app *a, const struct config *cfg, struct vis_error *e);
/* The browser interface of the configuration (ui_dir), loaded into memory
 * (web_load) while the process can still read it (before serve drops
 * root): a directory named in the configuration must load; the built-in
 * default may be absent (*out NULL: the API alone, bulletins without a
 * map), said in the log. */
vis_err app_ui_load(const struct config *cfg, struct web_assets **out, struct vis_error *e);
void app_release(struct app *a);

/* Seconds since the epoch as the service sees them (real time + the test
 * clock offset, which only a test configuration can move). */
int64_t app_now(const struct app *a);
/* Today's date (YYYYMMDD, UTC) on the service's clock. */
int app_today(const struct app *a);

/* Whether this instance runs the periodic duties now.  With one process
 * on the database, always; when several instances share it
 * (store_shared), the one holding the duties lease (taken for
 * APP_DUTIES_LEASE seconds, renewed at every tick, taken over when it
 * lapses), so that mail and event pushes are not sent twice. */
#define APP_DUTIES_LEASE 20
bool app_duties_mine(struct app *a, struct store *s);
/* At a clean stop: gives the lease up if this instance holds it, so that
 * the next instance (a restart, another node) takes the duties at once
 * instead of after the lease lapses. */
void app_duties_release(struct app *a, struct store *s);

/* Whether the trail's newest head has waited longer than
 * trail_publish_grace for its witnesses or the heads file: then no
 * personal data leaves (the corridor refuses, event pushes wait). */
bool app_trail_late(struct app *a);

/* The calling thread's store handle, opened on first use; NULL (with the
 * reason logged) when the database cannot be opened. */
struct store *app_store(struct app *a);

/* A request begins on the calling thread: the control records its store
 * reads from now on are those of the generation it reads next
 * (store_cache_fresh).  A store opened later in the request reads through
 * until the next request.  wait: how long its writes wait for another
 * writer's lock (store_wait): STORE_WAIT_BRIEF on the HTTP threads, which
 * an import must not hold, STORE_WAIT_LONG on the runners. */
void app_request_begin(struct app *a, enum store_wait wait);

#endif
