#include "metrics/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "common/str.h"

#define MAX_SERIES 256
static const double latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
					 0.1, 0.25, 0.5, 1, 2.5};
#define NBUCKETS (sizeof latency_buckets / sizeof latency_buckets[0])

struct series {
	char name[48];        /* metric */
	char labels[160];     /* rendered label set */
	uint64_t count;
	double sum;
	uint64_t buckets[NBUCKETS];
	int kind;             /* 0 counter, 1 histogram */
};

struct metrics {
	pthread_mutex_t lock;
	struct series s[MAX_SERIES];
	int n;
};

struct metrics *metrics_new(void)
{
	struct metrics *m = calloc(1, sizeof *m);
	if (m)
		pthread_mutex_init(&m->lock, NULL);
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static struct series *series_get(struct metrics *m, const char *name, const char *labels,
				 int kind)
{
	for (int i = 0; i < m->n; i++)
		if (!strcmp(m->s[i].name, name) && !strcmp(m->s[i].labels, labels))
			return &m->s[i];
	if (m->n == MAX_SERIES)
		return NULL;
	struct series *s = &m->s[m->n++];
	/* Names are the constants below; labels are rendered into buffers of
	 * at most this size by the callers. */
	STR_COPY_KNOWN(s->name, name);
	STR_COPY_KNOWN(s->labels, labels);
	s->kind = kind;
	return s;
}

static void observe(struct metrics *m, const char *name, const char *labels, int kind,
		    double value)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	struct series *s = series_get(m, name, labels, kind);
	if (s) {
		s->count++;
		s->sum += value;
		if (kind == 1)
			for (size_t b = 0; b < NBUCKETS; b++)
				if (value <= latency_buckets[b])
					s->buckets[b]++;
	}
	pthread_mutex_unlock(&m->lock);
}

void metrics_request(struct metrics *m, const char *route, int status, double seconds)
{
	char l[160];
	const char *cls = status < 300 ? "2xx" : status < 400 ? "3xx" : status < 500 ? "4xx" : "5xx";
	/* a route's pattern, a constant of the table, and a status class */
	STR_FMT_KNOWN(l, "route=\"%s\",status=\"%s\"", route, cls);
	observe(m, "visura_http_requests_total", l, 0, 1);
	STR_FMT_KNOWN(l, "route=\"%s\"", route); /* a route's pattern, a constant of the table */
	observe(m, "visura_http_request_duration_seconds", l, 1, seconds);
}

void metrics_audit_batch(struct metrics *m, int records, double seconds)
{
	observe(m, "visura_access_commit_duration_seconds", "", 1, seconds);
	observe(m, "visura_access_batch_records", "", 0, records);
}

void metrics_login(struct metrics *m, const char *outcome)
{
	char l[64];
	STR_FMT_KNOWN(l, "outcome=\"%s\"", outcome); /* an outcome, a constant */
	observe(m, "visura_logins_total", l, 0, 1);
}

void metrics_rate_limited(struct metrics *m)
{
	observe(m, "visura_rate_limited_total", "", 0, 1);
}

void metrics_alert(struct metrics *m, const char *rule)
{
	char l[64];
	STR_FMT_KNOWN(l, "rule=\"%s\"", rule); /* a rule's name, a constant */
	observe(m, "visura_alerts_total", l, 0, 1);
}

void metrics_import(struct metrics *m, const char *outcome)
{
	char l[64];
	STR_FMT_KNOWN(l, "outcome=\"%s\"", outcome); /* an outcome, a constant */
	observe(m, "visura_imports_total", l, 0, 1);
}

struct buf {
	char *p;
	size_t len, cap;
};

static void out(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap + (size_t)n + 1) * 2;
		char *np = realloc(b->p, cap);
		if (!np)
			return;
		b->p = np;
		b->cap = cap;
	}
}

static const char *help(const char *name)
{
	if (!strcmp(name, "visura_http_requests_total")) return "requests answered, by route and status class";
	if (!strcmp(name, "visura_http_request_duration_seconds")) return "request latency by route";
	if (!strcmp(name, "visura_access_commit_duration_seconds")) return "time to commit one group of access records";
	if (!strcmp(name, "visura_access_batch_records")) return "access records committed (sum) and groups (count)";
	if (!strcmp(name, "visura_logins_total")) return "logins by outcome";
	if (!strcmp(name, "visura_rate_limited_total")) return "requests refused by a rate limit";
	if (!strcmp(name, "visura_alerts_total")) return "alerts raised by rule";
	if (!strcmp(name, "visura_imports_total")) return "imports by outcome";
	return "";
}

static int count_session(void *ctx, const void *rec)
{
	int64_t *c = ctx;
	(void)rec;
	(*c)++;
	return 0;
}

char *metrics_render(struct metrics *m, struct store *s, int64_t now)
{
	struct buf b = {0};
	out(&b, "%s", "");
	pthread_mutex_lock(&m->lock);
	/* One family at a time: its HELP and TYPE, then all its series. */
	for (int i = 0; i < m->n; i++) {
		bool seen = false;
		for (int k = 0; k < i; k++)
			seen = seen || !strcmp(m->s[k].name, m->s[i].name);
		if (seen)
			continue;
		const char *name = m->s[i].name;
		bool batch = !strcmp(name, "visura_access_batch_records");
		out(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help(name), name,
		    m->s[i].kind || batch ? (batch ? "summary" : "histogram") : "counter");
		for (int j = i; j < m->n; j++) {
			struct series *x = &m->s[j];
			if (strcmp(x->name, name))
				continue;
			const char *sep = x->labels[0] ? "," : "";
			if (batch) {
				out(&b, "%s_sum %.0f\n%s_count %llu\n", name, x->sum, name,
				    (unsigned long long)x->count);
			} else if (x->kind == 0) {
				out(&b, "%s{%s} %llu\n", name, x->labels, (unsigned long long)x->count);
			} else {
				for (size_t k = 0; k < NBUCKETS; k++)
					out(&b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, x->labels, sep,
					    latency_buckets[k], (unsigned long long)x->buckets[k]);
				out(&b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n%s_sum{%s} %.6f\n%s_count{%s} %llu\n",
				    name, x->labels, sep, (unsigned long long)x->count, name, x->labels,
				    x->sum, name, x->labels, (unsigned long long)x->count);
			}
		}
	}
	pthread_mutex_unlock(&m->lock);
	/* Gauges read now. */
	int64_t sessions = 0;
	struct store_filter f[] = {{"revoked_at", NULL, 0}, {NULL, NULL, 0}};
	if (s && store_rec_list(s, STORE_SESSION, f, 0, count_session, &sessions, NULL) == VIS_OK)
		out(&b, "# HELP visura_sessions_open sessions not revoked (some may have timed out)\n"
			"# TYPE visura_sessions_open gauge\nvisura_sessions_open %lld\n",
		    (long long)sessions);
	(void)now;
	return b.p;
}
