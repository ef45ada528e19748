/* The monthly bulletins (src/bollettino): GET /api/v1/bollettini, the
 * archive the caller may read; GET /api/v1/bollettini/:comune/:mese, one
 * as its printable page or PDF (410 bollettino_superato when it was
 * protected under an earlier rule); POST /api/v1/bollettini/rigenera, the
 * withdrawn ones made again under the current rule; GET
 * /api/v1/bollettini/comuni and PUT / DELETE
 * /api/v1/bollettini/comuni/:comune, the municipalities the office
 * publishes one for.  Who reads what: bollettino_may_read. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "app/app.h"
#include "bollettino/bollettino.h"
#include "common/date.h"
#include "refdata/refdata.h"
#include "stats/series.h"
#include "stats/stats.h"
#include "common/str.h"

/* The caller's body, or none (*has false); false after replying. */
static bool caller_ente(struct http_request *r, struct store *s, struct store_ente *en, bool *has)
{
	*has = false;
	if (!r->auth->account.ente_id)
		return true;
	struct vis_error e = {0};
	if (store_ente_get(s, r->auth->account.ente_id, en, has, &e)) {
		api_fail(r, &e);
		return false;
	}
	return true;
}

static bool comune_param(struct http_request *r, const char *v)
{
	if (!str_digits(v, 6) ||
	    !refdata_comune_by_istat(r->app->rd, v, 0)) {
		http_reply_error(r, 400, "invalid_request",
				 "il comune è il codice ISTAT di sei cifre di un comune");
		return false;
	}
	return true;
}

struct listing {
	struct http_request *r;
	const struct store_ente *en;
	json_t *items;
};

static int add_item(void *ctx, const struct store_bollettino *b)
{
	struct listing *l = ctx;
	if (!bollettino_may_read(l->r->auth->account.role, l->en, b->comune))
		return 0;
	char mese[16], base[64];
	snprintf(mese, sizeof mese, "%04d-%02d", (b->mese / 100) % 10000, b->mese % 100);
	/* comune[7] and a month of 7 bytes */
	STR_FMT_KNOWN(base, "/api/v1/bollettini/%s/%s", b->comune, mese);
	int threshold = l->r->app->cfg.stats_threshold_min;
	bool current = bollettino_current(b, threshold);
	json_t *item = json_pack("{s:s,s:s,s:s,s:o,s:s,s:I,s:i,s:i,s:s}", "comune", b->comune,
				 "nome", api_comune_name(l->r->app->rd, b->comune), "mese", mese,
				 "generated_at", api_time(b->generated_at), "pdf_sha256", b->sha256,
				 "html_chars", (json_int_t)b->html_len, "regola", b->regola,
				 "soglia", b->soglia, "stato", current ? "pubblicato" : "ritirato");
	if (!current) {
		/* not served: no links */
		char note[BOLLETTINO_NOTE_MAX];
		bollettino_withdrawn_note(b, threshold, note);
		json_object_set_new(item, "nota", json_string(note));
		json_array_append_new(l->items, item);
		return 0;
	}
	char url[80];
	STR_FMT_KNOWN(url, "%s?format=html", base); /* base, of at most 64 bytes, + 12 */
	json_object_set_new(item, "html_url", json_string(url));
	STR_FMT_KNOWN(url, "%s?format=pdf", base); /* base, of at most 64 bytes, + 11 */
	json_object_set_new(item, "pdf_url", json_string(url));
	json_array_append_new(l->items, item);
	return 0;
}

void api_bollettini_list(struct http_request *r)
{
	const char *comune = http_query(r, "comune");
	if (comune && !comune_param(r, comune))
		return;
	struct store *s = api_store(r);
	struct store_ente en;
	bool has;
	if (!s || !caller_ente(r, s, &en, &has))
		return;
	struct listing l = {.r = r, .en = has ? &en : NULL, .items = json_array()};
	struct vis_error e = {0};
	if (store_bollettino_each(s, comune ? comune : "", add_item, &l, &e)) {
		json_decref(l.items);
		api_fail(r, &e);
		return;
	}
	http_reply_json(r, 200, json_pack("{s:o}", "bollettini", l.items));
}

void api_bollettino_get(struct http_request *r)
{
	const char *comune = r->params[0], *format = http_query(r, "format");
	int mese;
	if (!comune_param(r, comune))
		return;
	if (!stats_month_parse(r->params[1], &mese)) {
		http_reply_error(r, 400, "invalid_request", "il mese si scrive AAAA-MM");
		return;
	}
	if (format && strcmp(format, "html") && strcmp(format, "pdf")) {
		http_reply_error(r, 400, "invalid_request", "format: html oppure pdf");
		return;
	}
	struct store *s = api_store(r);
	struct store_ente en;
	bool has, found;
	if (!s || !caller_ente(r, s, &en, &has))
		return;
	if (!bollettino_may_read(r->auth->account.role, has ? &en : NULL, comune)) {
		http_reply_error(r, 403, "forbidden",
				 "i bollettini di un comune li leggono l'ufficio anagrafe, i "
				 "revisori e gli account del comune stesso");
		return;
	}
	struct store_bollettino b;
	char *html, *pdf64;
	struct vis_error e = {0};
	if (store_bollettino_get(s, comune, mese, &b, &html, &pdf64, &found, &e)) {
		api_fail(r, &e);
		return;
	}
	if (!found) {
		http_reply_error(r, 404, "not_found", "nessun bollettino in archivio per quel mese");
		return;
	}
	if (!bollettino_current(&b, r->app->cfg.stats_threshold_min)) {
		free(html);
		free(pdf64);
		char note[BOLLETTINO_NOTE_MAX], msg[BOLLETTINO_NOTE_MAX + 128];
		bollettino_withdrawn_note(&b, r->app->cfg.stats_threshold_min, note);
		/* the note (< BOLLETTINO_NOTE_MAX) + 80 bytes */
		STR_FMT_KNOWN(msg,
			      "bollettino %s (con il comando visura stats regenerate "
			      "o con POST /api/v1/bollettini/rigenera)",
			      note);
		http_reply_error(r, 410, "bollettino_superato", msg);
		return;
	}
	char name[320];
	if (format && !strcmp(format, "pdf")) {
		size_t cap = strlen(pdf64), len = 0;
		unsigned char *pdf = malloc(cap + 1);
		if (!pdf || sodium_base642bin(pdf, cap + 1, pdf64, cap, NULL, &len, NULL,
					      sodium_base64_VARIANT_ORIGINAL)) {
			struct vis_error bad = {0};
			vis_error_set(&bad, VIS_ERR_STORE, "bollettino archiviato %s %d: il PDF non è in base64",
				      comune, mese);
			http_reply_internal(r, &bad);
		} else {
			/* comune and month checked above: 6 digits, AAAA-MM */
			STR_FMT_KNOWN(name, "attachment; filename=\"bollettino-%s-%s.pdf\"", comune,
				      r->params[1]);
			http_header_add(r, "Content-Disposition", name);
			http_reply_bytes(r, 200, "application/pdf", pdf, len);
		}
		free(pdf);
	} else
		http_reply_bytes(r, 200, "text/html; charset=utf-8", html, strlen(html));
	free(html);
	free(pdf64);
}

static int add_enabled(void *ctx, const char *comune, int64_t since)
{
	struct listing *l = ctx;
	json_array_append_new(l->items, json_pack("{s:s,s:s,s:o}", "comune", comune, "nome",
						  api_comune_name(l->r->app->rd, comune), "since",
						  api_time(since)));
	return 0;
}

void api_bollettini_comuni(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	struct listing l = {.r = r, .items = json_array()};
	struct vis_error e = {0};
	if (store_bollettino_comune_each(s, add_enabled, &l, &e)) {
		json_decref(l.items);
		api_fail(r, &e);
		return;
	}
	http_reply_json(r, 200, json_pack("{s:o}", "comuni", l.items));
}

void api_bollettini_comune_set(struct http_request *r)
{
	const char *comune = r->params[0];
	if (!comune_param(r, comune))
		return;
	if (!api_body_members(r, API_NO_FIELDS))
		return;
	struct store *s = api_store(r);
	if (!s)
		return;
	bool on = !strcmp(r->method, "PUT"), changed;
	struct vis_error e = {0};
	if (store_bollettino_comune_set(s, comune, on, api_now(r), &changed, &e)) {
		api_fail(r, &e);
		return;
	}
	http_reply_json(r, 200, json_pack("{s:s,s:s,s:b,s:b}", "comune", comune, "nome",
					  api_comune_name(r->app->rd, comune), "enabled", on,
					  "changed", changed));
}

struct regen_job {
	struct api_slow slow;
	char which[7];                /* a municipality, or "": all */
	int mese;                     /* YYYYMM, or 0: all */
};

static void regen_work(struct http_request *r, struct store *s, void *job);

/* POST /api/v1/bollettini/rigenera {comune?, mese?}: the withdrawn
 * bulletins (of one municipality, one month, or all) made again under the
 * current rule now. */
void api_bollettini_regenerate(struct http_request *r)
{
	static const char *const fields[] = {"comune", "mese", NULL};
	if (!api_body_members(r, fields))
		return;
	json_t *body = r->body_len ? http_body_object(r) : NULL;
	if (r->body_len && !body)
		return;
	const char *comune = "", *m = NULL;
	int mese = 0;
	if (body && json_unpack(body, "{s?s,s?s!}", "comune", &comune, "mese", &m)) {
		http_reply_error(r, 400, "invalid_request",
				 "il corpo è {\"comune\": codice ISTAT, \"mese\": \"AAAA-MM\"}, "
				 "entrambi facoltativi");
		return;
	}
	if (comune[0] && !comune_param(r, comune))
		return;
	if (m && !stats_month_parse(m, &mese)) {
		http_reply_error(r, 400, "invalid_request", "il mese si scrive AAAA-MM");
		return;
	}
	struct regen_job *j = api_slow_new(r, sizeof *j);
	if (!j)
		return;
	STR_COPY_KNOWN(j->which, comune); /* checked: six digits or "" */
	j->mese = mese;
	api_slow_defer(r, &j->slow, r->app->slow, regen_work,
		       API_SLOW_BUSY);
}

/* On the statistics runner (app->slow): every bulletin asked for made
 * again, each with its protection (the exact audit, minutes at 1,000,000
 * persons when not kept). */
static void regen_work(struct http_request *r, struct store *s, void *job)
{
	const struct regen_job *j = job;
	const char *which = j->which;
	int mese = j->mese;
	struct bollettino_opts o;
	bollettino_opts_init(&o, &r->app->cfg, r->app->ui, app_today(r->app), api_now(r));
	o.cache = r->app->stats;
	o.stop = (struct stop_ask){api_server_stopping, r->app};
	struct bollettino_actor by = {.account = &r->auth->account, .ip = r->ip, .via = "API"};
	struct bollettino_regen *rg;
	int n;
	struct vis_error e = {0};
	if (bollettino_regenerate(s, r->app->rd, which, mese, &o, &by, &rg, &n, &e)) {
		if (e.code == VIS_ERR_BUSY && api_server_stopping(r->app))
			api_reply_stopped(r, &e);
		else
			api_fail(r, &e);
		return;
	}
	json_t *items = json_array();
	for (int i = 0; i < n; i++) {
		char mm[16];
		snprintf(mm, sizeof mm, "%04d-%02d", (rg[i].mese / 100) % 10000, rg[i].mese % 100);
		json_t *it = json_pack("{s:s,s:s,s:s,s:i,s:i,s:b}", "comune", rg[i].comune, "nome",
				       api_comune_name(r->app->rd, rg[i].comune), "mese", mm,
				       "regola_precedente", rg[i].was, "soglia_precedente",
				       rg[i].was_soglia, "rigenerato", rg[i].done);
		json_object_set_new(it, rg[i].done ? "pdf_sha256" : "motivo",
				    json_string(rg[i].done ? rg[i].sha256 : rg[i].why));
		json_array_append_new(items, it);
	}
	free(rg);
	http_reply_json(r, 200, json_pack("{s:i,s:i,s:o}", "regola", STATS_PROTECTION_RULE,
					  "soglia", o.threshold, "bollettini", items));
}
