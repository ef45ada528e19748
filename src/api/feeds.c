/* The daily replica over HTTPS: a municipality's system account pushes its
 * daily file (POST /api/v1/imports, same validation and all-or-nothing rule
 * as `visura import`), and the office watches every municipality's feed
 * (GET /api/v1/feeds). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "api/api.h"
#include "api/internal.h"
#include "app/app.h"
#include "auth/auth.h"
#include "common/date.h"
#include "common/log.h"
#include "import/import.h"
#include "metrics/metrics.h"
#include "common/str.h"

/* The first problems of a refused file, as the import reports them: kept
 * in memory (no reject report written to a temporary file, where a full
 * or unwritable directory would have answered an empty list). */
enum { PUSH_PROBLEMS_MAX = 100 };

static void problem_add(void *ctx, int64_t line, const char *record, const char *field,
			const char *reason)
{
	json_t *arr = ctx;
	if (json_array_size(arr) >= PUSH_PROBLEMS_MAX)
		return;
	json_t *p = json_pack("{s:I,s:s,s:s,s:s}", "line", (json_int_t)line, "record", record,
			      "field", field, "reason", reason);
	if (!p) /* a text that is not UTF-8: the problem is still listed */
		p = json_pack("{s:I,s:s,s:s,s:s}", "line", (json_int_t)line, "record", "", "field", "",
			      "reason", "motivo non rappresentabile: il testo del file in quel punto non "
			      "è UTF-8 valido");
	json_array_append_new(arr, p);
}

/* On the imports' runner (app->imports): a FULL snapshot of 1,000,000
 * persons takes a minute, which would hold one of the few HTTP workers
 * (look-ups) that long; imports are taken one at a time, in order. */
struct push_job {
	struct api_slow slow;
};

static void push_work(struct http_request *r, struct store *s, void *job)
{
	(void)job;
	const struct store_account *a = &r->auth->account;
	struct store_ente en;
	if (!api_ente_load(r, s, a->ente_id, &en))
		return;
	if (strcmp(en.kind, "municipality") || !en.comune[0]) {
		http_reply_error(r, 403, "forbidden",
				 "solo l'utenza di sistema di un comune invia i file giornalieri");
		return;
	}
	/* The file's own header must name this municipality. */
	char expect[32], head[32];
	int hn = snprintf(expect, sizeof expect, "HDR\tVISURA-ANAGRAFE\t1\t%s\t", en.comune);
	FILE *in = http_body_stream(r);
	bool own = in && fread(head, 1, (size_t)hn, in) == (size_t)hn &&
		   !memcmp(head, expect, (size_t)hn) && !fseek(in, 0, SEEK_SET);
	int64_t now = api_now(r);
	if (!own) {
		if (in)
			fclose(in);
		alert_raise(s, now, "feed_rejected", "medium", a, "un file inviato indica un altro comune o un'altra versione", NULL);
		metrics_import(r->app->metrics, "refused");
		http_reply_error(r, 403, "forbidden",
				 "l'intestazione del file deve indicare il comune di questo ente e la "
				 "versione 1 del formato");
		return;
	}
	json_t *list = json_array();
	struct import_options opt = {.source = "https push", .on_problem = problem_add,
				     .problem_ctx = list, .stop = {api_server_stopping, r->app}};
	struct import_result res;
	struct vis_error e = {0};
	vis_err rc = import_stream(s, r->app->rd, in, &opt, &res, &e);
	fclose(in);
	if (rc == VIS_ERR_INVALID) {
		char detail[200];
		STR_FMT_KNOWN(detail, "comune %s: file respinto (problemi: %lld)", en.comune,
			      (long long)res.problems); /* comune[7] and a number */
		alert_raise(s, now, "feed_rejected", "medium", a, detail, NULL);
		metrics_import(r->app->metrics, "refused");
		auth_event(s, now, "import_refused", a, NULL, r->ip, detail);
		http_reply_json(r, 422, json_pack("{s:{s:s,s:s,s:s},s:I,s:o}", "error", "code",
						  "import_refused", "message",
						  "il file è stato respinto: nulla è stato scritto", "request_id",
						  r->request_id, "problems_total", (json_int_t)res.problems,
						  "problems", list));
		return;
	}
	json_decref(list);
	if (res.stopped) {
		metrics_import(r->app->metrics, "stopped");
		log_info("importazione interrotta dall'arresto", "comune=%s", en.comune);
		http_header_add(r, "Retry-After", "30");
		http_reply_error(r, 503, "service_unavailable",
				 "il servizio si sta arrestando: l'importazione è stata interrotta e "
				 "nulla è stato scritto; inviare di nuovo il file tra poco");
		return;
	}
	if (rc != VIS_OK) {
		metrics_import(r->app->metrics, "failed");
		api_fail(r, &e);
		return;
	}
	metrics_import(r->app->metrics, res.already_loaded ? "already_loaded" : "applied");
	auth_event(s, now, "import_pushed", a, NULL, r->ip, en.comune);
	const struct store_import_counts *c = &res.counts;
	http_reply_json(r, res.already_loaded ? 200 : 201, json_pack(
		"{s:s,s:I,s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s}", "comune", res.hdr.comune,
		"sequence", (json_int_t)res.hdr.seq, "kind", res.hdr.full ? "FULL" : "DELTA",
		"already_loaded", res.already_loaded, "persons", (json_int_t)c->persons,
		"households", (json_int_t)c->families, "events", (json_int_t)c->events,
		"inserted", (json_int_t)c->inserted, "updated", (json_int_t)c->updated,
		"unchanged", (json_int_t)c->unchanged, "closed", (json_int_t)c->closed,
		"sha256", res.sha256));
}

void api_import_push(struct http_request *r)
{
	if (!r->body_len) {
		http_reply_error(r, 400, "invalid_request",
				 "il corpo della richiesta deve essere un file di importazione "
				 "(versione 1)");
		return;
	}
	struct push_job *j = api_slow_new(r, sizeof *j);
	if (!j)
		return;
	api_slow_defer(r, &j->slow, r->app->imports, push_work,
		       "troppi file in attesa di importazione: riprovare tra poco");
}

struct feeds_ctx {
	struct store *s;
	json_t *arr;
	int64_t now;
	int64_t deadline;
	const struct refdata *rd;
	struct vis_error *e;    /* a read that failed: no list given */
	bool failed;
};

static int add_feed(void *ctx, const struct store_feed *f)
{
	struct feeds_ctx *c = ctx;
	int64_t lag = c->now - f->last_extract;
	char ts[21];
	timestamp_format(f->last_extract, ts);
	struct store_import_counts n;
	/* every refusal counted (the detail push_work writes begins so) */
	char prefix[24];
	STR_FMT_KNOWN(prefix, "comune %s:", f->comune); /* comune[7] */
	int64_t refused;
	if (store_import_last_counts(c->s, f->comune, &n, c->e) ||
	    store_security_events_count(c->s, "import_refused", prefix, &refused, c->e)) {
		c->failed = true;
		return 1;
	}
	json_array_append_new(c->arr, json_pack(
		"{s:s,s:s,s:I,s:s,s:I,s:b,s:{s:I,s:I,s:I,s:I,s:I},s:I}", "comune", f->comune,
		"name", api_comune_name(c->rd, f->comune),
		"last_sequence", (json_int_t)f->last_seq, "last_extract", ts,
		"lag_seconds", (json_int_t)lag, "overdue", lag > c->deadline, "last_import",
		"persons", (json_int_t)n.persons, "inserted", (json_int_t)n.inserted,
		"updated", (json_int_t)n.updated, "unchanged", (json_int_t)n.unchanged,
		"closed", (json_int_t)n.closed, "refused_pushes", (json_int_t)refused));
	return 0;
}

void api_feeds(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	struct vis_error e = {0};
	struct feeds_ctx c = {s, json_array(), api_now(r),
			      (int64_t)r->app->cfg.feed_deadline_hours * 3600, r->app->rd, &e, false};
	if (store_feed_each(s, add_feed, &c, &e) || c.failed) {
		json_decref(c.arr);
		api_fail(r, &e);
		return;
	}
	http_reply_json(r, 200, json_pack("{s:o,s:i}", "feeds", c.arr, "deadline_hours",
					  r->app->cfg.feed_deadline_hours));
}

struct watch {
	struct app *app;
	struct store *s;
	int64_t now;
};

static int watch_feed(void *ctx, const struct store_feed *f)
{
	struct watch *w = ctx;
	struct app *a = w->app;
	if (w->now - f->last_extract <= (int64_t)a->cfg.feed_deadline_hours * 3600)
		return 0;
	struct store_account system = {.id = 0};
	STR_FMT_KNOWN(system.username, "feed:%s", f->comune); /* comune[7] */
	/* once a (UTC) day per municipality, as the alerts already raised
	 * say: a restart or another instance does not raise it again */
	int64_t raised;
	struct vis_error e = {0};
	if (store_alerts_since(w->s, "feed_overdue", system.username, w->now / 86400 * 86400,
			       &raised, &e)) {
		log_warn("flusso in ritardo non segnalato", "comune=%s error=\"%s\"", f->comune,
			 e.msg);
		return 0;
	}
	if (raised)
		return 0;
	char detail[200];
	/* comune[7] and numbers */
	STR_FMT_KNOWN(detail, "comune %s: ultimo flusso giornaliero %lld ore fa (sequenza %lld)",
		      f->comune, (long long)((w->now - f->last_extract) / 3600),
		      (long long)f->last_seq);
	alert_raise(w->s, w->now, "feed_overdue", "high", &system, detail, NULL);
	return 0;
}

void api_feeds_watch(struct app *a, struct store *s, int64_t now)
{
	/* one watch at a time in the process (the duties' tick, the test
	 * clock's route): between reading the day's alerts and raising one,
	 * no other; across instances, the duties' lease */
	static pthread_mutex_t one = PTHREAD_MUTEX_INITIALIZER;
	struct watch w = {a, s, now};
	pthread_mutex_lock(&one);
	store_feed_each(s, watch_feed, &w, NULL);
	pthread_mutex_unlock(&one);
}

struct imports_ctx {
	json_t *arr;
	const struct refdata *rd;
};

static int add_import(void *ctx, const struct store_import_row *row)
{
	struct imports_ctx *c = ctx;
	const struct store_import_counts *n = &row->counts;
	json_array_append_new(c->arr, json_pack(
		"{s:I,s:s,s:s,s:I,s:s,s:o,s:s,s:s,s:o,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
		"id", (json_int_t)row->id, "comune", row->imp.comune,
		"name", api_comune_name(c->rd, row->imp.comune), "seq", (json_int_t)row->imp.seq,
		"kind", row->imp.full ? "FULL" : "DELTA", "extract_at", api_time(row->imp.extract),
		"sha256", row->imp.sha256, "source", row->imp.source,
		"started_at", api_time(row->started_at), "finished_at", api_time(row->finished_at),
		"inserted", (json_int_t)n->inserted, "updated", (json_int_t)n->updated,
		"unchanged", (json_int_t)n->unchanged, "closed", (json_int_t)n->closed,
		"families", (json_int_t)n->families, "persons", (json_int_t)n->persons,
		"events", (json_int_t)n->events));
	return 0;
}

void api_imports_list(struct http_request *r)
{
	const char *comune = http_query(r, "comune");
	struct api_page pg;
	if (!api_page_params(r, 100, 1000, &pg))
		return;
	if (comune && !str_digits(comune, 6)) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"comune\" deve essere un codice ISTAT di 6 cifre");
		return;
	}
	struct store *s = api_store(r);
	if (!s)
		return;
	struct imports_ctx c = {json_array(), r->app->rd};
	struct vis_error e = {0};
	if (store_import_each(s, comune, pg.cursor, pg.limit + 1, add_import, &c, &e)) {
		json_decref(c.arr);
		api_fail(r, &e);
		return;
	}
	json_t *out = json_pack("{s:o}", "imports", c.arr);
	api_page_finish(out, c.arr, &pg);
	http_reply_json(r, 200, out);
}
