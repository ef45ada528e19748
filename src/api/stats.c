/* GET /api/v1/stats: the statistics of stats.h, JSON or CSV. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "app/app.h"
#include "common/date.h"
#include "stats/stats.h"
#include "common/str.h"

void api_stats(struct http_request *r)
{
	struct stats_query q = {.age_step = 5, .threshold = 3};
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
	if (step)
		q.age_step = atoi(step);
	if (thr)
		q.threshold = atoi(thr);
	if (q.age_step < 1 || q.age_step > 50 || q.threshold < 1 || q.threshold > 1000) {
		http_reply_error(r, 400, "invalid_request", "age_step 1-50, threshold 1-1000");
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
	struct vis_error e = {0};
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
