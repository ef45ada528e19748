/* GET /api/v1/stats: the statistics of stats.h, JSON or CSV. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "app/app.h"
#include "common/date.h"
#include "stats/stats.h"
#include "common/str.h"

/* A whole decimal number of at most 9 digits. */
static bool int_param(const char *v, int *out)
{
	size_t n = strlen(v);
	if (!n || n > 9 || strspn(v, "0123456789") != n)
		return false;
	*out = atoi(v);
	return true;
}

void api_stats(struct http_request *r)
{
	struct stats_query q = {.age_step = 5, .threshold = r->app->cfg.stats_threshold_min};
	const char *comuni = http_query(r, "comuni"), *format = http_query(r, "format");
	static const char *const dates[] = {"as_of", "from", "to"};
	int *ddst[] = {&q.as_of, &q.events_from, &q.events_to};
	for (int i = 0; i < 3; i++) {
		const char *v = http_query(r, dates[i]);
		if (v && *v && !date_parse(v, strlen(v), ddst[i])) {
			http_reply_error(r, 400, "invalid_request", "dates must be YYYY-MM-DD");
			return;
		}
	}
	const char *step = http_query(r, "age_step"), *thr = http_query(r, "threshold");
	if ((step && !int_param(step, &q.age_step)) || q.age_step < 1 || q.age_step > 50) {
		http_reply_error(r, 400, "invalid_request", "age_step is a number from 1 to 50");
		return;
	}
	struct vis_error e = {0};
	if (thr && !int_param(thr, &q.threshold)) {
		http_reply_error(r, 400, "invalid_request", "threshold is a number");
		return;
	}
	if (stats_threshold_check(q.threshold, r->app->cfg.stats_threshold_min, &e)) {
		http_reply_error(r, 400, "invalid_request", e.msg);
		return;
	}
	if (comuni) {
		if (strlen(comuni) >= sizeof q.comuni || strspn(comuni, "0123456789,") != strlen(comuni)) {
			http_reply_error(r, 400, "invalid_request", "'comuni' is a list of ISTAT codes");
			return;
		}
		STR_COPY_KNOWN(q.comuni, comuni); /* its length was checked above */
	}
	struct store *s = api_store(r);
	if (!s)
		return;
	json_t *doc;
	if (stats_compute(s, r->app->rd, &q, app_today(r->app), &doc, &e)) {
		api_fail(r, &e);
		return;
	}
	if (format && !strcmp(format, "csv")) {
		char *csv = stats_to_csv(doc);
		json_decref(doc);
		if (!csv) {
			http_reply_error(r, 503, "service_unavailable", "out of memory");
			return;
		}
		http_reply_bytes(r, 200, "text/csv; charset=utf-8", csv, strlen(csv));
		free(csv);
		return;
	}
	http_reply_json(r, 200, doc);
}
