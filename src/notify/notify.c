#include "notify/notify.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "common/log.h"
#include "net/outbound.h"
#include "policy/policy.h"
#include "common/str.h"

#define BATCH 100

struct batch {
	json_t *events;
	struct subjects subjects;
	struct vis_error err;
	int64_t last;
	unsigned categories;
};

json_t *notify_event_json(int64_t rowid, const struct store_event *ev, const char *cf,
			  unsigned categories, struct subjects *subjects, struct vis_error *e)
{
	char d[11];
	if (!policy_may_see(categories, FIELD_EVENT))
		return json_object();
	date_format(ev->date, d);
	json_t *j = json_pack("{s:I,s:s,s:s,s:s}", "cursor", (json_int_t)rowid, "comune", ev->comune,
			      "type", ev->type, "date", d);
	if (ev->place[0])
		json_object_set_new(j, "place", json_string(ev->place));
	if (policy_may_see(categories, FIELD_EVENT_PERSON) && cf[0]) {
		if (subjects_add(subjects, cf, e) != VIS_OK) {
			json_decref(j);
			return NULL;
		}
		json_object_set_new(j, "codice_fiscale", json_string(cf));
	}
	return j;
}

static int add_event(void *ctx, int64_t rowid, const struct store_event *ev, const char *cf)
{
	struct batch *b = ctx;
	json_t *j = notify_event_json(rowid, ev, cf, b->categories, &b->subjects, &b->err);
	if (!j)
		return 1;
	json_array_append_new(b->events, j);
	b->last = rowid;
	return 0;
}

/* POSTs body; returns 0 on a 2xx answer, else fills err. */
static int post(const char *url, const char *body, const char *sig, int64_t conv, char *err,
		size_t cap)
{
	char h1[160], h2[64];
	STR_FMT_KNOWN(h1, "X-Visura-Signature: %s", sig); /* sig[100] */
	snprintf(h2, sizeof h2, "X-Visura-Agreement: %lld", (long long)conv);
	const char *const headers[] = {"Content-Type: application/json", h1, h2, NULL};
	struct outbound_post req = {.url = url, .headers = headers, .body = body,
				    .len = strlen(body), .timeout = 10};
	long status = outbound_post(&req, err, cap);
	if (!status)
		return -1;
	if (status < 200 || status > 299) {
		snprintf(err, cap, "HTTP %ld", status);
		return -1;
	}
	return 0;
}

/* The agreements with a push due: every one of them, however many (an
 * array that grows, so that no agreement is ever left out unsaid). */
struct due {
	struct store_convenzione *list;
	int n, cap;
	bool nomem;
};

static int collect(void *ctx, const void *rec)
{
	struct due *d = ctx;
	const struct store_convenzione *c = rec;
	/* Events name persons: data, which a verify_only agreement never receives. */
	if (!c->webhook_url[0] || !c->event_types[0] || strcmp(c->state, "active") ||
	    !strcmp(c->mode, "verify_only"))
		return 0;
	if (d->n == d->cap) {
		int cap = d->cap ? d->cap * 2 : 16;
		struct store_convenzione *l = realloc(d->list, (size_t)cap * sizeof *l);
		if (!l) {
			d->nomem = true;
			return 1;
		}
		d->list = l;
		d->cap = cap;
	}
	d->list[d->n++] = *c;
	return 0;
}

/* A failed attempt: exponential back-off from 10 s up to an hour. */
static void retry_later(struct store_webhook *w, int64_t now, const char *err)
{
	w->attempts++;
	int64_t wait = 10;
	for (int k = 1; k < w->attempts && wait < 3600; k++)
		wait *= 2;
	w->next_attempt_at = now + (wait < 3600 ? wait : 3600);
	/* curl's message, cut to the field on purpose */
	str_copy_cut(w->last_error, sizeof w->last_error, err);
}

/* An agreement's state written; a failure is logged: its batch, already
 * recorded, goes again at the next tick (at least once: the receiver sees
 * the same `next_after`). */
static void webhook_put(struct store *s, const struct store_webhook *w)
{
	struct vis_error e = {0};
	if (store_webhook_put(s, w, &e))
		log_error("stato della consegna delle notifiche non salvato",
			  "convenzione=%lld error=\"%s\"", (long long)w->convenzione_id, e.msg);
}

/* One agreement's due batch: the number of events delivered, or -1 with
 * the reason in e (nothing sent). */
static int push_one(struct store *s, const struct audit_key *key,
		    const struct store_convenzione *c, int64_t now, struct vis_error *e)
{
	struct store_webhook w;
	if (store_webhook_get(s, c->id, &w, e))
		return -1;
	if (w.next_attempt_at > now)
		return 0;
	/* A URL the outbound rules refuse (a row written before them, or by
	 * hand) gets nothing, and nothing is recorded as sent. */
	struct vis_error ue = {0};
	if (outbound_check(c->webhook_url, OUTBOUND_WEBHOOK, false, &ue)) {
		char err[200];
		/* its precision bounds it */
		STR_FMT_KNOWN(err, "webhook_url refused: %.150s", ue.msg);
		retry_later(&w, now, err);
		webhook_put(s, &w);
		return 0;
	}
	unsigned cats = 0;
	policy_categories_parse(c->profile, &cats);
	struct batch b = {.events = json_array(), .last = w.cursor, .categories = cats};
	subjects_init(&b.subjects);
	if (store_events_after(s, w.cursor, c->comuni, c->event_types, BATCH, add_event, &b, e) ||
	    b.err.code || json_array_size(b.events) == 0) {
		if (!e->code && b.err.code)
			*e = b.err;
		json_decref(b.events);
		subjects_release(&b.subjects);
		return e->code ? -1 : 0;
	}
	size_t n = json_array_size(b.events);
	json_t *doc = json_pack("{s:I,s:o,s:I}", "convenzione_id", (json_int_t)c->id, "events",
				b.events, "next_after", (json_int_t)b.last);
	char *body = json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(doc);
	/* The persons leave with the request, whatever the receiver answers:
	 * the record is durable first, or nothing is sent. */
	struct store_access rec = {.at = now * 1000, .ente_id = c->ente_id,
				   .convenzione_id = c->id, .status = 200};
	snprintf(rec.username, sizeof rec.username, "webhook");
	snprintf(rec.ip, sizeof rec.ip, "push");
	snprintf(rec.operation, sizeof rec.operation, "events_push");
	STR_FMT_KNOWN(rec.query, "after=%lld count=%zu url=%.200s", (long long)w.cursor, n,
		      c->webhook_url); /* numbers and %.200s < 512 */
	rec.subjects = subjects_text(&b.subjects);
	policy_categories_format(cats, rec.categories, sizeof rec.categories);
	snprintf(rec.outcome, sizeof rec.outcome, "ok");
	if (!body || audit_append(s, key, &rec, e) != VIS_OK) {
		if (!body)
			vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita nel preparare le notifiche");
		free(body);
		subjects_release(&b.subjects);
		return -1;
	}
	char sig[100], err[200] = "";
	audit_sign(key, body, strlen(body), sig);
	int delivered = 0;
	if (post(c->webhook_url, body, sig, c->id, err, sizeof err) == 0) {
		w.cursor = b.last;
		w.attempts = 0;
		w.next_attempt_at = 0;
		w.last_error[0] = '\0';
		w.delivered += (int64_t)n;
		delivered = (int)n;
	} else {
		retry_later(&w, now, err);
	}
	free(body);
	subjects_release(&b.subjects);
	webhook_put(s, &w);
	return delivered;
}

int notify_push(struct store *s, const struct audit_key *key, int64_t now, struct vis_error *e)
{
	struct due d = {0};
	if (store_rec_list(s, STORE_CONVENZIONE, NULL, 0, collect, &d, e) || d.nomem) {
		if (d.nomem)
			vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita nell'elencare le convenzioni a cui inviare le notifiche");
		free(d.list);
		return -1;
	}
	int delivered = 0;
	for (int i = 0; i < d.n; i++) {
		/* one agreement's failure is its own: logged, the others go on */
		struct vis_error ce = {0};
		int n = push_one(s, key, &d.list[i], now, &ce);
		if (n < 0)
			log_error("notifiche non inviate", "convenzione=%lld error=\"%s\"",
				  (long long)d.list[i].id, ce.msg);
		else
			delivered += n;
	}
	free(d.list);
	return delivered;
}
