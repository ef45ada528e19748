/* Operations endpoints: /readyz (on both listeners) and /metrics (on the
 * operations listener, loopback by default). */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/internal.h"
#include "app/app.h"
#include "audit/audit.h"
#include "common/log.h"
#include "common/monotime.h"
#include "common/runner.h"
#include "jwks/jwks.h"
#include "metrics/metrics.h"
#include "oidc/oidc.h"
#include "stats/cache.h"
#include "witness/publish.h"
#include "common/str.h"

#define READINESS_BYTES 65536

struct last_cp {
	int64_t at, last_id;
};

static int last_checkpoint(void *ctx, const struct store_checkpoint *c)
{
	struct last_cp *l = ctx;
	l->at = c->at;
	l->last_id = c->last_id;
	return 0;
}

/* 64 KiB of fresh random text (more than an access record and its
 * indexes need). */
static const char *readiness_filler(void)
{
	static _Thread_local char hex[READINESS_BYTES + 1];
	unsigned char raw[READINESS_BYTES / 2];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
	return hex;
}

/* The durable write of /readyz, run at most once a second whoever asks:
 * the route is public, and each probe is a 64 KiB commit under the write
 * lock the access trail needs, so a flood of probes must not become a flood
 * of commits.  Callers within the second share the last probe's outcome. */
static bool readiness_probe(struct store *s, struct vis_error *e)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static int64_t probed_at_ms;
	static bool probed_ok;
	int64_t now_ms = monotime_ms();
	pthread_mutex_lock(&mu);
	if (probed_at_ms && now_ms - probed_at_ms < 1000) {
		bool ok = probed_ok;
		pthread_mutex_unlock(&mu);
		return ok;
	}
	bool ok = true;
	if (store_begin_trail(s, e))
		ok = false;
	else if (store_readiness_write(s, (int64_t)time(NULL), readiness_filler(), e) ||
		 store_commit(s, e)) {
		store_rollback(s);
		ok = false;
	}
	probed_at_ms = now_ms;
	probed_ok = ok;
	pthread_mutex_unlock(&mu);
	return ok;
}

bool api_starting(struct http_request *r)
{
	if (atomic_load(&r->app->serving))
		return false;
	http_reply_json(r, 503, json_pack("{s:s,s:s}", "status", "starting", "problem",
					  "il server non è ancora in ascolto su tutti gli indirizzi"));
	return true;
}

/* The public key sets of PDND and of the SPID/CIE provider, or of its
 * trust anchor (jwks.h); NULL where not configured. */
#define KEY_SETS 2
static void key_sets(struct app *a, struct jwks *sets[KEY_SETS])
{
	sets[0] = a->pdnd;
	sets[1] = a->oidc ? oidc_keys(a->oidc) : NULL;
}

void api_readyz(struct http_request *r)
{
	if (api_starting(r))
		return;
	struct store *s = app_store(r->app);
	struct vis_error e = {0};
	const char *problem = NULL;
	int64_t last_id = 0;
	char hash[65];
	struct last_cp cp = {0, 0};
	if (!s)
		problem = "database non raggiungibile";
	else if (store_access_last(s, &last_id, hash, &e) ||
		 store_checkpoint_each(s, last_checkpoint, &cp, &e))
		problem = "database non leggibile";
	else if (!readiness_probe(s, &e))
		/* A write committed, as the access trail's are, and larger
		 * than a look-up's: a full disk, a read-only database or a
		 * standby fail here. */
		problem = "database non scrivibile (non è stato possibile scrivere nel registro degli accessi)";
	/* Records newer than the last checkpoint must not wait long for one. */
	int64_t now = (int64_t)time(NULL);
	if (!problem && last_id > cp.last_id && cp.at && now - cp.at > 5 * AUDIT_CHECKPOINT_SECONDS)
		problem = "manca un checkpoint firmato recente del registro degli accessi";
	/* Heads unpublished past the grace: personal data is refused. */
	bool late;
	const char *unpublished = publish_problem(r->app->publisher, &late);
	if (!problem && late)
		problem = unpublished;
	if (problem)
		log_warn("non pronto", "request_id=%s problem=\"%s\" error=\"%s\"", r->request_id,
			 problem, e.msg);
	json_t *doc = problem ? json_pack("{s:s,s:s}", "status", "not_ready", "problem", problem)
			      : json_pack("{s:s,s:I,s:I}", "status", "ready", "access_records",
					  (json_int_t)last_id, "last_checkpoint", (json_int_t)cp.last_id);
	/* A key set from an address with no key yet (the first fetch failed):
	 * the instance serves, but every call signed with those keys (a PDND
	 * voucher, a SPID/CIE login) is refused until a fetch succeeds.  Said,
	 * not a 503: the other instances have the same address, and taking
	 * them all out of rotation would stop sessions too. */
	struct jwks *sets[KEY_SETS];
	key_sets(r->app, sets);
	json_t *degraded = json_array();
	for (size_t i = 0; i < KEY_SETS; i++) {
		struct jwks_stats js;
		if (!sets[i])
			continue;
		jwks_stats(sets[i], &js);
		if (js.keys == 0)
			json_array_append_new(degraded, json_sprintf(
				"nessuna chiave pubblica ancora ottenuta da %s (tentativi non "
				"riusciti: %lld): ciò che firmano è respinto finché un tentativo non riesce", js.source,
				(long long)js.failures));
	}
	if (json_array_size(degraded))
		json_object_set_new(doc, "degraded", degraded);
	else
		json_decref(degraded);
	/* A server whose clock any client may move says so on every answer. */
	if (r->app->cfg.test_clock)
		json_object_set_new(doc, "warning",
				    json_string("TEST CLOCK ON: qualsiasi client può spostare l'orologio di questo server"));
	http_reply_json(r, problem ? 503 : 200, doc);
}

/* One line of visura_alerts_stored; the rule's text escaped as a
 * Prometheus label (it is the database's). */
static void alert_rule_line(void *ctx, const char *rule, int64_t n)
{
	struct strbuf *sb = ctx;
	strbuf_adds(sb, "visura_alerts_stored{rule=\"");
	for (const char *p = rule; *p; p++) {
		if (*p == '"' || *p == '\\')
			strbuf_addf(sb, "\\%c", *p);
		else if (*p == '\n')
			strbuf_adds(sb, "\\n");
		else
			strbuf_addf(sb, "%c", *p);
	}
	strbuf_addf(sb, "\"} %lld\n", (long long)n);
}

struct lag {
	struct strbuf *sb;
	int64_t now;
};

static int feed_lag(void *ctx, const struct store_feed *f)
{
	struct lag *l = ctx;
	strbuf_addf(l->sb,
		    "visura_feed_lag_seconds{comune=\"%s\"} %lld\nvisura_feed_last_sequence{comune=\"%s\"} %lld\n",
		    f->comune, (long long)(l->now - f->last_extract), f->comune,
		    (long long)f->last_seq);
	return 0;
}

/* At most this much text: far above a province's (a few hundred
 * municipalities' lines); beyond it the answer is an error, never a
 * silently shortened page. */
#define METRICS_MAX (4u << 20)

void api_metrics(struct http_request *r)
{
	struct store *s = app_store(r->app);
	char *text = metrics_render(r->app->metrics, s, app_now(r->app));
	if (!text) {
		http_reply_error(r, 503, "service_unavailable",
				 "memoria esaurita: riprovare più tardi");
		return;
	}
	/* Gauges and totals read from the database and the audit writer. */
	struct audit_writer_stats st;
	audit_writer_stats(r->app->audit, &st);
	struct strbuf sb;
	strbuf_init(&sb, METRICS_MAX);
	strbuf_adds(&sb, text);
	free(text);
	strbuf_addf(&sb,
		"# HELP visura_access_records_total access records committed by this process\n"
		"# TYPE visura_access_records_total counter\nvisura_access_records_total %lld\n"
		"# HELP visura_access_commits_total group commits of the access trail\n"
		"# TYPE visura_access_commits_total counter\nvisura_access_commits_total %lld\n"
		"# HELP visura_access_commit_seconds_total time spent committing access records\n"
		"# TYPE visura_access_commit_seconds_total counter\nvisura_access_commit_seconds_total %.6f\n"
		"# HELP visura_access_batch_max largest group commit so far\n"
		"# TYPE visura_access_batch_max gauge\nvisura_access_batch_max %lld\n"
		"# HELP visura_alerts_stored alerts in the database by rule\n"
		"# TYPE visura_alerts_stored gauge\n",
		(long long)st.records, (long long)st.batches, st.commit_us_total / 1e6,
		(long long)st.max_batch);
	struct vis_error ae = {0};
	if (s && store_alerts_by_rule(s, alert_rule_line, &sb, &ae))
		log_error("metriche: segnalazioni per regola illeggibili", "error=\"%s\"", ae.msg);
	/* strasa_cittadinanza_eta's protections kept (stats/cache.h), and the
	 * work done off the HTTP workers (common/runner.h) */
	struct stats_cache_counts kc = {0};
	stats_cache_counts_get(r->app->stats, &kc);
	strbuf_addf(&sb,
		"# HELP visura_stats_protections_total the citizenship tables' protections, "
		"taken as kept in memory, read from the database, or computed\n"
		"# TYPE visura_stats_protections_total counter\n"
		"visura_stats_protections_total{outcome=\"kept\"} %lld\n"
		"visura_stats_protections_total{outcome=\"stored\"} %lld\n"
		"visura_stats_protections_total{outcome=\"computed\"} %lld\n"
		"# HELP visura_stats_protections_saved_total protections computed written to the "
		"database, by outcome\n"
		"# TYPE visura_stats_protections_saved_total counter\n"
		"visura_stats_protections_saved_total{outcome=\"written\"} %lld\n"
		"visura_stats_protections_saved_total{outcome=\"failed\"} %lld\n",
		kc.hits, kc.loaded, kc.misses, kc.saved, kc.unsaved);
	/* the runners: "slow" (tables, series, bulletins made again, the
	 * trail's verification), "imports" (files pushed over HTTPS) */
	const struct { const char *name; struct runner *rn; } runners[] = {
		{"slow", r->app->slow}, {"imports", r->app->imports}};
	struct runner_counts rc[2] = {{0}};
	for (int i = 0; i < 2; i++)
		runner_counts_get(runners[i].rn, &rc[i]);
	strbuf_adds(&sb, "# HELP visura_runner_jobs long work done off the HTTP workers, being "
			 "done or waiting, by runner\n# TYPE visura_runner_jobs gauge\n");
	for (int i = 0; i < 2; i++)
		strbuf_addf(&sb,
			    "visura_runner_jobs{runner=\"%s\",state=\"running\"} %d\n"
			    "visura_runner_jobs{runner=\"%s\",state=\"waiting\"} %d\n",
			    runners[i].name, rc[i].running, runners[i].name, rc[i].waiting);
	strbuf_adds(&sb, "# HELP visura_runner_jobs_done_total long work done to the end, by "
			 "runner\n# TYPE visura_runner_jobs_done_total counter\n");
	for (int i = 0; i < 2; i++)
		strbuf_addf(&sb, "visura_runner_jobs_done_total{runner=\"%s\"} %lld\n",
			    runners[i].name, rc[i].done);
	strbuf_adds(&sb, "# HELP visura_runner_jobs_turned_away_total long work answered 503: the "
			 "queue full, or stopping\n# TYPE visura_runner_jobs_turned_away_total counter\n");
	for (int i = 0; i < 2; i++)
		strbuf_addf(&sb, "visura_runner_jobs_turned_away_total{runner=\"%s\"} %lld\n",
			    runners[i].name, rc[i].turned_away);
	/* The public keys of PDND and of the SPID/CIE provider (jwks.h). */
	struct jwks *sets[KEY_SETS];
	key_sets(r->app, sets);
	strbuf_adds(&sb,
		"# HELP visura_jwks_keys public keys held, per set (the option it comes from)\n"
		"# TYPE visura_jwks_keys gauge\n"
		"# HELP visura_jwks_fetches_total fetches of a JWKS address tried\n"
		"# TYPE visura_jwks_fetches_total counter\n"
		"# HELP visura_jwks_fetch_failures_total fetches of a JWKS address that failed or "
		"brought a document refused (the keys held kept)\n"
		"# TYPE visura_jwks_fetch_failures_total counter\n");
	for (size_t i = 0; i < KEY_SETS; i++) {
		struct jwks_stats js;
		if (!sets[i])
			continue;
		jwks_stats(sets[i], &js);
		strbuf_addf(&sb,
			"visura_jwks_keys{source=\"%s\"} %d\n"
			"visura_jwks_fetches_total{source=\"%s\"} %lld\n"
			"visura_jwks_fetch_failures_total{source=\"%s\"} %lld\n",
			js.source, js.keys, js.source, (long long)js.fetches, js.source,
			(long long)js.failures);
	}
	strbuf_adds(&sb, "# HELP visura_feed_lag_seconds age of the last daily file loaded, per municipality\n"
			 "# TYPE visura_feed_lag_seconds gauge\n"
			 "# TYPE visura_feed_last_sequence gauge\n");
	struct lag l = {&sb, app_now(r->app)};
	if (s)
		store_feed_each(s, feed_lag, &l, NULL);
	size_t len;
	char *all = strbuf_detach(&sb, &len);
	if (!all) {
		http_reply_error(r, 503, "service_unavailable",
				 "le metriche non entrano nello spazio previsto o la memoria è "
				 "esaurita: riprovare più tardi");
		return;
	}
	http_reply_bytes(r, 200, "text/plain; version=0.0.4", all, len);
	free(all);
}

/* The operations listener lets every request through: it must only be
 * reachable from the machine or a management network (metrics_listen). */
bool api_ops_gate(struct http_request *r, const struct http_route *route)
{
	(void)r;
	(void)route;
	return true;
}

const struct http_route api_ops_routes[] = {
	{"GET", "/metrics", api_metrics, ROUTE_PUBLIC, 0, NULL},
	{"GET", "/healthz", api_healthz, ROUTE_PUBLIC, 0, NULL},
	{"GET", "/readyz", api_readyz, ROUTE_PUBLIC, 0, NULL},
	{NULL, NULL, NULL, 0, 0, NULL},
};
