/* GET /api/v1/stats: the old summary, retired (410 pointing to the tables);
 * GET /api/v1/stats/tables: the standard tables of stats/tables.h;
 * GET /api/v1/stats/series: the indicators over time of stats/series.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "app/app.h"
#include "common/date.h"
#include "common/log.h"
#include "common/runner.h"
#include "stats/cache.h"
#include "stats/series.h"
#include "stats/stats.h"
#include "stats/tables.h"
#include "common/str.h"

/* A whole decimal number of at most 9 digits. */
static bool int_param(const char *v, int *out)
{
	int64_t n;
	if (!str_uint(v, 999999999, &n))
		return false;
	*out = (int)n;
	return true;
}

/* The query's threshold and municipalities, shared by both routes; false
 * when refused (the answer is sent). */
static bool common_params(struct http_request *r, int *threshold, char comuni[4096])
{
	const char *thr = http_query(r, "threshold"), *c = http_query(r, "comuni");
	struct vis_error e = {0};
	*threshold = r->app->cfg.stats_threshold_min;
	if (thr && !int_param(thr, threshold)) {
		http_reply_error(r, 400, "invalid_request",
				 "il parametro \"threshold\" deve essere un numero");
		return false;
	}
	if (stats_threshold_check(*threshold, r->app->cfg.stats_threshold_min, &e)) {
		http_reply_error(r, 400, "invalid_request", e.msg);
		return false;
	}
	comuni[0] = 0;
	if (c) {
		if (strlen(c) >= 4096 || strspn(c, "0123456789,") != strlen(c)) {
			http_reply_error(r, 400, "invalid_request",
					 "il parametro \"comuni\" è un elenco di codici ISTAT "
					 "separati da virgole");
			return false;
		}
		memcpy(comuni, c, strlen(c) + 1);
	}
	return true;
}

/* Sends doc as JSON, or as CSV (csv makes it) with format=csv; takes doc. */
static void reply(struct http_request *r, json_t *doc, const char *format, char *(*csv)(json_t *))
{
	if (format && !strcmp(format, "csv")) {
		char *text = csv(doc);
		json_decref(doc);
		if (!text) {
			http_reply_error(r, 503, "service_unavailable",
					 "memoria esaurita: riprovare più tardi");
			return;
		}
		http_reply_bytes(r, 200, "text/csv; charset=utf-8", text, strlen(text));
		free(text);
		return;
	}
	http_reply_json(r, 200, doc);
}

/* The old summary (age classes of any width, civil status, events by
 * type per day range, unrounded indicators) was protected by a rule of its
 * own and gave back cells the standard tables hide: retired for good, so
 * 410, and the answer names what replaces each part. */
void api_stats(struct http_request *r)
{
	http_reply_error(r, 410, "gone",
			 "il riepilogo statistico è stato ritirato: usare le tavole standard "
			 "(/api/v1/stats/tables: posas per età e sesso, famiglie, bilancio, "
			 "strasa_cittadinanza) e gli indicatori di /api/v1/stats/series, "
			 "protetti da un'unica regola di segreto statistico");
}

/* A table asked for, computed on the runner's thread (app->slow): the
 * exact audit of the citizenship tables takes seconds to minutes of CPU,
 * which would hold one of the few HTTP workers (look-ups) that long. */
struct table_job {
	struct api_slow slow;
	struct stats_table_query q;
	const char *format;           /* the request's own */
};

/* Once the table is answered, on the runner's thread and its store (not
 * the request's): the protection computed written to the database
 * (stats/cache.h). */
static void table_after(struct store *s, void *cache)
{
	stats_cache_flush(cache, s);
}

static void table_work(struct http_request *r, struct store *s, void *job)
{
	struct table_job *j = job;
	json_t *doc;
	struct vis_error e = {0};
	/* the server's stop ends a first computation's exact audit (over a
	 * minute at 1,000,000 persons) between two simplex runs */
	j->q.stop = (struct stop_ask){api_server_stopping, r->app};
	vis_err rc = stats_table_compute(s, r->app->rd, &j->q, app_today(r->app), &doc, &e);
	if (rc == VIS_ERR_BUSY && api_server_stopping(r->app)) {
		log_info("tavola statistica interrotta dall'arresto", "%s", "");
		api_reply_stopped(r, &e);
	} else if (rc)
		api_reply_refusal(r, rc, &e);
	else
		reply(r, doc, j->format, stats_table_csv);
}

/* A series, on the same runner: 24 months of a province walk the
 * register's history once a month (seconds at 1,000,000 persons). */
struct series_job {
	struct api_slow slow;
	struct stats_series_query q;
	const char *format;
};

static void series_work(struct http_request *r, struct store *s, void *job)
{
	struct series_job *j = job;
	json_t *doc;
	struct vis_error e = {0};
	vis_err rc = stats_series_compute(s, r->app->rd, &j->q, app_today(r->app), &doc, &e);
	if (rc)
		api_reply_refusal(r, rc, &e);
	else
		reply(r, doc, j->format, stats_series_csv);
}

void api_stats_tables(struct http_request *r)
{
	struct stats_table_query q = {0};
	const char *table = http_query(r, "table"), *format = http_query(r, "format");
	const char *year = http_query(r, "year"), *period = http_query(r, "period");
	if (!table || !stats_table_parse(table, &q.table)) {
		char msg[512];
		/* table_names, a constant of 160 bytes */
		STR_FMT_KNOWN(msg, "table: una tra %s", stats_table_names());
		http_reply_error(r, 400, "invalid_request", msg);
		return;
	}
	if (!common_params(r, &q.threshold, q.comuni))
		return;
	struct vis_error de = {0};
	if (stats_table_dates(&q, http_query(r, "date"), http_query(r, "from"), http_query(r, "to"),
			      &de)) {
		http_reply_error(r, 400, "invalid_request", de.msg);
		return;
	}
	if (year && (!int_param(year, &q.year) || q.year < 1900 || q.year > 2999)) {
		http_reply_error(r, 400, "invalid_request", "year: un anno dal 1900 al 2999");
		return;
	}
	if (period && strcmp(period, "mese") && strcmp(period, "anno")) {
		http_reply_error(r, 400, "invalid_request", "period: mese oppure anno");
		return;
	}
	q.yearly = period && !strcmp(period, "anno");
	q.cache = r->app->stats;
	struct table_job *j = api_slow_new(r, sizeof *j);
	if (!j)
		return;
	j->slow.after = table_after;
	j->slow.after_arg = r->app->stats;
	j->q = q;
	j->format = format;
	api_slow_defer(r, &j->slow, r->app->slow, table_work, API_SLOW_BUSY);
}

void api_stats_series(struct http_request *r)
{
	struct stats_series_query q = {0};
	const char *ind = http_query(r, "indicator"), *format = http_query(r, "format");
	const char *step = http_query(r, "step"), *by = http_query(r, "by");
	struct vis_error ie = {0};
	if (!ind) {
		vis_error_set(&ie, VIS_ERR_INVALID, "indicator: uno o più tra %s, separati da virgole",
			      stats_series_indicators());
		http_reply_error(r, 400, "invalid_request", ie.msg);
		return;
	}
	if (stats_series_parse(ind, &q, &ie)) {
		http_reply_error(r, 400, "invalid_request", ie.msg);
		return;
	}
	if (!common_params(r, &q.threshold, q.comuni))
		return;
	static const char *const months[] = {"from", "to"};
	int *dst[] = {&q.from, &q.to};
	for (int i = 0; i < 2; i++) {
		const char *v = http_query(r, months[i]);
		if (v && *v && !stats_month_parse(v, dst[i])) {
			http_reply_error(r, 400, "invalid_request",
					 "i parametri \"from\" e \"to\" sono mesi: AAAA-MM");
			return;
		}
	}
	if (step && strcmp(step, "month") && strcmp(step, "year")) {
		http_reply_error(r, 400, "invalid_request", "step: month oppure year");
		return;
	}
	if (by && strcmp(by, "comune") && strcmp(by, "provincia")) {
		http_reply_error(r, 400, "invalid_request",
				 "il parametro \"by\" è \"comune\" (una serie per comune) oppure "
				 "\"provincia\" (una per provincia)");
		return;
	}
	q.yearly = step && !strcmp(step, "year");
	q.by_comune = by && !strcmp(by, "comune");
	q.by_provincia = by && !strcmp(by, "provincia");
	struct series_job *j = api_slow_new(r, sizeof *j);
	if (!j)
		return;
	j->q = q;
	j->format = format;
	api_slow_defer(r, &j->slow, r->app->slow, series_work, API_SLOW_BUSY);
}
