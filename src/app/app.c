#define _GNU_SOURCE /* memmem */
#include "app/app.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert/alert.h"
#include "common/csv.h"
#include "audit/audit.h"
#include "auth/sealed.h"
#include "metrics/metrics.h"
#include "oidc/oidc.h"
#include "pdnd/pdnd.h"
#include "policy/ratelimit.h"
#include "common/date.h"
#include "common/log.h"
#include "common/runner.h"
#include "refdata/refdata.h"
#include "stats/cache.h"
#include "store/store.h"
#include "web/web.h"
#include "common/str.h"
#include "jwks/jwks.h"
#include "witness/publish.h"

#define APP_MAX_STORES ((int)(sizeof ((struct app *)0)->stores / sizeof(struct store *)))

/* The calling thread's handle, valid for the app it was opened for. */
static _Thread_local struct store *thread_store;
static _Thread_local const struct app *thread_store_app;
/* How long the thread's writes wait for another writer (app_request_begin). */
static _Thread_local enum store_wait thread_wait;
static struct store *store_get(struct app *a, struct vis_error *out);

vis_err app_ui_load(const struct config *cfg, struct web_assets **out, struct vis_error *e)
{
	*out = NULL;
	if (cfg->ui_dir[0] && web_load(cfg->ui_dir, out, e)) {
		if (strcmp(cfg->ui_dir, VISURA_UI_DIR))
			return e->code;
		log_warn("interfaccia web assente", "reason=\"%s\"", e->msg);
		vis_error_clear(e);
		*out = NULL;
	}
	return VIS_OK;
}

vis_err app_init(struct app *a, const struct config *cfg, struct vis_error *e)
{
	memset(a, 0, sizeof *a);
	a->cfg = *cfg;
	atomic_init(&a->clock_offset, 0);
	atomic_init(&a->in_flight, 0);
	atomic_init(&a->stopping, false);
	pthread_mutex_init(&a->stores_lock, NULL);
	randombytes_buf(&a->instance_id, sizeof a->instance_id);
	if (refdata_load(refdata_default_dir(), &a->rd, e))
		return VIS_ERR_IO;
	struct alert_limits lim;
	alert_limits_default(&lim);
	lim.persons_hour = a->cfg.alert_persons_hour;
	lim.persons_hour_hard = a->cfg.alert_persons_hard;
	lim.sequential_run = a->cfg.alert_sequential;
	lim.no_results_pct = a->cfg.alert_no_results_pct;
	lim.repeat_no_case = a->cfg.alert_repeat_no_case;
	lim.refused_hour = a->cfg.alert_refused_hour;
	lim.addresses = a->cfg.alert_addresses;
	a->rl = ratelimit_new();
	a->metrics = metrics_new();
	a->alerts = alert_tracker_new(&lim);
	a->cache = store_cache_new();
	a->stats = stats_cache_new(STATS_CACHE_ENTRIES, STATS_CACHE_BYTES);
	a->slow = runner_new(APP_SLOW_QUEUE);
	a->imports = runner_new(APP_IMPORT_QUEUE);
	if (!a->rl || !a->alerts || !a->metrics || !a->cache || !a->stats || !a->slow ||
	    !a->imports)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	/* The interface: a directory named in the configuration must load; the
	 * built-in default may be absent (a server built without the web
	 * assets still serves the API). */
	if (app_ui_load(&a->cfg, &a->ui, e))
		return e->code;
	/* PDND's public keys: vouchers are accepted only when they load. */
	if ((a->cfg.pdnd_jwks[0] || a->cfg.pdnd_jwks_url[0]) && pdnd_keys_open(&a->cfg, &a->pdnd, e))
		return e->code;
	if (a->cfg.pdnd_signing_key[0] &&
	    pdnd_signer_open(a->cfg.pdnd_signing_key, &a->signer, e))
		return e->code;
	/* SPID/CIE login: its key and transaction log beside the database's
	 * other keys unless configured elsewhere. */
	if (a->cfg.oidc_issuer[0]) {
		char key[CONFIG_PATH_MAX + 16], enc[CONFIG_PATH_MAX + 16],
			logdir[CONFIG_PATH_MAX + 16], fedkey[CONFIG_PATH_MAX + 32];
		const char *db = a->cfg.db;
		if (store_files_path(db, a->cfg.oidc_key, ".oidc-key", key, sizeof key, e) ||
		    store_files_path(db, a->cfg.oidc_enc_key, ".oidc-enc-key", enc, sizeof enc, e) ||
		    store_files_path(db, a->cfg.oidc_federation_key, ".oidc-federation-key", fedkey,
				     sizeof fedkey, e) ||
		    store_files_path(db, a->cfg.oidc_log_dir, ".oidc-log", logdir, sizeof logdir, e) ||
		    oidc_open(&a->cfg, key, enc, fedkey, logdir, &a->oidc, e))
			return e->code;
	}
	if (a->cfg.print_crest[0]) {
		a->crest = file_read_all(a->cfg.print_crest, 256u << 10, &a->crest_len);
		if (!a->crest)
			return vis_error_set(e, VIS_ERR_INVALID, "print_crest: impossibile leggere "
								 "'%s' (un file PNG o SVG di al "
								 "massimo "
								 "256 KiB)", a->cfg.print_crest);
		bool png = a->crest_len > 8 && !memcmp(a->crest, "\x89PNG\r\n\x1a\n", 8);
		bool svg = memmem(a->crest, a->crest_len, "<svg", 4) != NULL;
		if (!png && !svg)
			return vis_error_set(e, VIS_ERR_INVALID, "print_crest: '%s' non è né PNG "
								 "né SVG", a->cfg.print_crest);
		a->crest_type = png ? "image/png" : "image/svg+xml";
	}
	size_t ul = strlen(a->cfg.public_url);
	while (ul && a->cfg.public_url[ul - 1] == '/')
		ul--;
	if (ul && (size_t)snprintf(a->verify_url, sizeof a->verify_url, "%.*s/verifica", (int)ul,
				   a->cfg.public_url) >= sizeof a->verify_url)
		return vis_error_set(e, VIS_ERR_INVALID, "public_url: al massimo %zu caratteri",
				     sizeof a->verify_url - sizeof "/verifica");
	char path[CONFIG_PATH_MAX + 32];
	if (a->cfg.signing_key[0])
		STR_COPY_KNOWN(path, a->cfg.signing_key); /* CONFIG_PATH_MAX < sizeof path */
	else if (audit_key_path(a->cfg.db, path, sizeof path, e))
		return e->code;
	a->key = sodium_malloc(sizeof *a->key);
	if (!a->key)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	struct store *s = store_get(a, e);
	if (!s || audit_key_ensure(s, path, a->key, e))
		return e && e->code ? e->code : VIS_ERR_STORE;
	if (sealed_key_path(a->cfg.db, a->cfg.secrets_key, path, sizeof path, e))
		return e->code;
	a->secrets = sodium_malloc(sizeof *a->secrets);
	if (!a->secrets)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	int sealed;
	if (sealed_key_ensure(path, a->secrets, e) ||
	    (sealed = sealed_migrate_totp(s, a->secrets, e)) < 0)
		return e && e->code ? e->code : VIS_ERR_STORE;
	if (sealed > 0)
		log_info("segreti totp sigillati", "accounts=%d", sealed);
	struct audit_trail_config tc = {a->cfg.trail_origin, a->cfg.trail_heads_file};
	if (audit_writer_start(a->cfg.db, a->key, &tc, &a->audit, e))
		return e && e->code ? e->code : VIS_ERR_STORE;
	/* Heads leave the machine off the corridor's path: the publisher's
	 * own thread and store handle. */
	struct publish_config pc = {
		.db_uri = a->cfg.db,
		.witnesses = a->cfg.trail_witnesses,
		.ca_file = a->cfg.trail_witness_ca,
		.heads_file = a->cfg.trail_heads_file,
		.grace = a->cfg.trail_publish_grace,
	};
	return publish_start(&pc, a->audit, &a->publisher, e);
}

void app_release(struct app *a)
{
	/* its job may use a store and the caches below */
	runner_free(a->slow);
	a->slow = NULL;
	runner_free(a->imports);
	a->imports = NULL;
	publish_stop(a->publisher);
	a->publisher = NULL;
	audit_writer_stop(a->audit);
	a->audit = NULL;
	free(a->crest);
	a->crest = NULL;
	if (a->key)
		sodium_free(a->key);
	a->key = NULL;
	if (a->secrets)
		sodium_free(a->secrets);
	a->secrets = NULL;
	jwks_free(a->pdnd);
	a->pdnd = NULL;
	pdnd_signer_free(a->signer);
	a->signer = NULL;
	oidc_free(a->oidc);
	a->oidc = NULL;
	ratelimit_free(a->rl);
	a->rl = NULL;
	alert_tracker_free(a->alerts);
	a->alerts = NULL;
	metrics_free(a->metrics);
	a->metrics = NULL;
	web_free(a->ui);
	a->ui = NULL;
	pthread_mutex_lock(&a->stores_lock);
	for (int i = 0; i < a->nstores; i++)
		store_close(a->stores[i]);
	a->nstores = 0;
	pthread_mutex_unlock(&a->stores_lock);
	thread_store = NULL;
	store_cache_free(a->cache);
	a->cache = NULL;
	stats_cache_free(a->stats);
	a->stats = NULL;
	refdata_free(a->rd);
	a->rd = NULL;
}

bool app_trail_late(struct app *a)
{
	bool late;
	publish_problem(a->publisher, &late);
	return late;
}

int64_t app_now(const struct app *a)
{
	return (int64_t)time(NULL) + atomic_load(&a->clock_offset);
}

int app_today(const struct app *a)
{
	return date_from_days(app_now(a) / 86400);
}

/* app_store, with why it failed in out (logged too). */
static struct store *store_get(struct app *a, struct vis_error *out)
{
	if (thread_store && thread_store_app == a)
		return thread_store;
	struct store *s;
	struct vis_error e = {0};
	if (store_open(a->cfg.db, &s, &e) != VIS_OK) {
		log_error("database non raggiungibile", "error=\"%s\"", e.msg);
		vis_error_set(out, e.code, "%s", e.msg);
		return NULL;
	}
	if (store_shared_open(s, a->cfg.shared_db, &e) != VIS_OK) {
		log_error("database condiviso non raggiungibile", "error=\"%s\"", e.msg);
		vis_error_set(out, e.code, "shared_db: %s", e.msg);
		store_close(s);
		return NULL;
	}
	pthread_mutex_lock(&a->stores_lock);
	if (a->nstores == APP_MAX_STORES) {
		pthread_mutex_unlock(&a->stores_lock);
		store_close(s);
		log_error("troppi thread", "max=%d", APP_MAX_STORES);
		vis_error_set(out, VIS_ERR_LIMIT, "troppi thread (al più %d)", APP_MAX_STORES);
		return NULL;
	}
	a->stores[a->nstores++] = s;
	pthread_mutex_unlock(&a->stores_lock);
	store_cache_attach(s, a->cache);
	store_wait(s, thread_wait);
	thread_store = s;
	thread_store_app = a;
	return s;
}

struct store *app_store(struct app *a)
{
	return store_get(a, NULL);
}

void app_request_begin(struct app *a, enum store_wait wait)
{
	thread_wait = wait;
	if (thread_store && thread_store_app == a) {
		store_cache_fresh(thread_store);
		store_wait(thread_store, wait);
	}
}

bool app_duties_mine(struct app *a, struct store *s)
{
	if (!store_shared(s))
		return true;
	char v[64];
	long long holder = 0, until = 0;
	int64_t now = (int64_t)time(NULL);
	bool mine = false;
	struct vis_error e = {0};
	if (store_shared_begin(s, &e) || store_state_lock(s, "duties", v, sizeof v, &e))
		goto fail;
	if (sscanf(v, "%llx %lld", (unsigned long long *)&holder, &until) != 2 ||
	    (uint64_t)holder == a->instance_id || until < now) {
		snprintf(v, sizeof v, "%llx %lld", (unsigned long long)a->instance_id,
			 (long long)(now + APP_DUTIES_LEASE));
		if (store_state_put(s, "duties", v, now, &e))
			goto fail;
		mine = true;
	}
	if (store_shared_commit(s, &e))
		return false;
	return mine;
fail:
	store_shared_rollback(s);
	log_warn("turno dei compiti periodici non disponibile", "error=\"%s\"", e.msg);
	return false;
}

void app_duties_release(struct app *a, struct store *s)
{
	if (!s || !store_shared(s))
		return;
	char v[64];
	long long holder = 0, until = 0;
	struct vis_error e = {0};
	if (store_shared_begin(s, &e) || store_state_lock(s, "duties", v, sizeof v, &e))
		goto fail;
	if (sscanf(v, "%llx %lld", (unsigned long long *)&holder, &until) == 2 &&
	    (uint64_t)holder == a->instance_id &&
	    store_state_put(s, "duties", "0 0", (int64_t)time(NULL), &e))
		goto fail;
	if (!store_shared_commit(s, &e))
		return;
fail:
	store_shared_rollback(s);
	log_warn("turno dei compiti periodici non rilasciato: lo prende un'altra istanza "
		 "alla scadenza", "error=\"%s\"", e.msg);
}
