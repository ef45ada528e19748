/* Helpers shared by the API handlers. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "common/text.h"
#include "refdata/refdata.h"
#include "app/app.h"
#include "auth/auth.h"
#include "auth/hours.h"
#include "common/cidr.h"
#include "common/runner.h"
#include "common/date.h"
#include "common/str.h"

struct store *api_store(struct http_request *r)
{
	struct store *s = app_store(r->app);
	if (!s) {
		http_header_add(r, "Retry-After", "30");
		http_reply_error(r, 503, "service_unavailable",
				 "il servizio non raggiunge la sua base dati: riprovare più tardi");
	}
	return s;
}

void api_reply_uncounted(struct http_request *r)
{
	http_header_add(r, "Retry-After", "30");
	http_reply_error(r, 503, "service_unavailable",
			 "i tentativi non riusciti non si possono contare ora: riprovare più tardi");
}

static const char STOPPING[] = "il servizio si sta arrestando: riprovare tra poco";

bool api_server_stopping(void *app)
{
	return atomic_load(&((struct app *)app)->stopping);
}

void api_reply_stopped(struct http_request *r, const struct vis_error *e)
{
	http_header_add(r, "Retry-After", "30");
	http_reply_error(r, 503, "service_unavailable", e->msg[0] ? e->msg : STOPPING);
}

/* On the runner's thread; the job is the request's (freed with it), so
 * nothing of it is touched after http_resume. */
static void slow_run(void *ctx, bool refused)
{
	struct api_slow *j = ctx;
	struct http_request *r = j->r;
	struct store *s = NULL;
	if (refused) {
		http_header_add(r, "Retry-After", "30");
		http_reply_error(r, 503, "service_unavailable", STOPPING);
	} else {
		app_request_begin(r->app, STORE_WAIT_LONG);
		s = api_store(r);
	}
	if (s)
		j->work(r, s, j);
	void (*after)(struct store *, void *) = j->after;
	void *arg = j->after_arg;
	http_resume(r); /* r and j are gone from here */
	if (s && after)
		after(s, arg);
}

/* The connection parked: the job to its runner, or 503 at once. */
static void slow_start(struct http_request *r)
{
	struct api_slow *j = r->handler_ctx;
	if (runner_submit(j->rn, slow_run, j))
		return;
	http_header_add(r, "Retry-After", "30");
	http_reply_error(r, 503, "service_unavailable",
			 atomic_load(&r->app->stopping) ? STOPPING : j->busy);
	http_resume(r);
}

void *api_slow_new(struct http_request *r, size_t size)
{
	void *j = calloc(1, size);
	if (!j)
		http_reply_error(r, 503, "service_unavailable", "memoria esaurita: riprovare più tardi");
	return j;
}

void api_slow_defer(struct http_request *r, struct api_slow *job, struct runner *rn,
		    void (*work)(struct http_request *r, struct store *s, void *job),
		    const char *busy)
{
	job->r = r; /* after and after_arg: the caller's */
	job->rn = rn;
	job->work = work;
	job->busy = busy;
	r->handler_ctx = job;
	r->handler_ctx_free = free;
	http_defer(r, slow_start);
}

int64_t api_now(struct http_request *r)
{
	return app_now(r->app);
}

const char *api_unknown_member(const json_t *obj, const char *const *allowed)
{
	return api_unknown_member_in(obj, NULL, 0, 0, allowed);
}

const char *api_unknown_member_in(const json_t *obj, const void *rows, size_t n, size_t stride,
				  const char *const *also)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		size_t i = 0;
		while (i < n && strcmp(*(const char *const *)((const char *)rows + i * stride), key))
			i++;
		const char *const *a = also;
		while (i == n && a && *a && strcmp(*a, key))
			a++;
		if (i == n && !(a && *a))
			return key;
	}
	return NULL;
}

const char *api_member_shown(char out[64], const char *name)
{
	str_copy_cut(out, 61, name); /* at most 60 bytes, never inside a character */
	utf8_scrub(out);
	return out;
}

const char *api_unknown_message(char out[API_UNKNOWN_MESSAGE], const char *unknown)
{
	char shown[64];
	STR_FMT_KNOWN_CAP(out, API_UNKNOWN_MESSAGE,
			  "il campo \"%s\" non è previsto in questa richiesta, "
			  "che non è stata eseguita (i campi ammessi sono in docs/api.md)",
			  api_member_shown(shown, unknown)); /* api_member_shown's 60 bytes + 120 */
	return out;
}

bool api_refuse_unknown(struct http_request *r, const char *unknown)
{
	if (!unknown)
		return false;
	char msg[API_UNKNOWN_MESSAGE];
	http_reply_error(r, 400, "invalid_request", api_unknown_message(msg, unknown));
	return true;
}

const char *const API_NO_FIELDS[] = {NULL};

bool api_body_members(struct http_request *r, const char *const *allowed)
{
	if (!r->body_len && !r->json)
		return true;
	json_t *b = http_body_object(r);
	return b && !api_refuse_unknown(r, api_unknown_member(b, allowed));
}

int64_t api_param_id(struct http_request *r, int i)
{
	const char *p = i < r->nparams ? r->params[i] : "";
	size_t n = strlen(p);
	int64_t v = 0;
	bool ok = n > 0 && n <= 18 && p[0] != '0';
	for (size_t k = 0; ok && k < n; k++) {
		ok = isdigit((unsigned char)p[k]);
		v = v * 10 + (p[k] - '0');
	}
	if (!ok) {
		http_reply_error(r, 404, "not_found", "risorsa inesistente");
		return 0;
	}
	return v;
}

json_t *api_time(int64_t t)
{
	if (!t)
		return json_null();
	char buf[21];
	timestamp_format(t, buf);
	return json_string(buf);
}

json_t *api_account_json(const struct store_account *a)
{
	json_t *j = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:b,s:o,s:s,s:s,s:o,"
			      "s:b,s:o,s:o,s:o}",
			      "id", (json_int_t)a->id, "username", a->username, "role", a->role,
			      "full_name", a->full_name, "codice_fiscale", a->cf,
			      "email", a->email, "appointment_ref", a->appointment_ref,
			      "issued_at", api_time(a->issued_at),
			      "expires_at", api_time(a->expires_at),
			      "temporary_password", a->password_temporary,
			      "password_set_at", api_time(a->password_set_at),
			      "state", a->state, "disabled_reason", a->disabled_reason,
			      "disabled_at", api_time(a->disabled_at),
			      "totp_enabled", a->totp_enabled,
			      "last_login_at", api_time(a->last_login_at),
			      "previous_login_at", api_time(a->prev_login_at),
			      "created_at", api_time(a->created_at));
	if (j)
		json_object_set_new(j, "ente_id", a->ente_id ? json_integer(a->ente_id) : json_null());
	return j;
}

json_t *api_ente_json(const struct store_ente *en)
{
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "id", (json_int_t)en->id,
			 "name", en->name, "kind", en->kind, "tax_code", en->tax_code,
			 "pec", en->pec, "hours", en->hours, "networks", en->networks,
			 "comune", en->comune, "state", en->state,
			 "created_at", api_time(en->created_at));
}

json_t *api_request_json(const struct store_operator_request *q)
{
	return json_pack("{s:I,s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:o,s:o}",
			 "id", (json_int_t)q->id, "ente_id", (json_int_t)q->ente_id,
			 "requested_by", (json_int_t)q->requested_by, "full_name", q->full_name,
			 "codice_fiscale", q->cf, "email", q->email,
			 "appointment_ref", q->appointment_ref, "username", q->username,
			 "state", q->state, "decided_at", api_time(q->decided_at), "note", q->note,
			 "account_id", q->account_id ? json_integer(q->account_id) : json_null(),
			 "created_at", api_time(q->created_at));
}

void api_reply_export_failed(struct http_request *r, struct strbuf *sb)
{
	if (sb->err == VIS_ERR_LIMIT)
		http_reply_error(r, 422, "result_too_large",
				 "il risultato supera il limite di 64 MB: restringere i filtri");
	else
		http_reply_error(r, 503, "service_unavailable",
				 "memoria esaurita: riprovare più tardi");
	strbuf_release(sb);
}

void api_redirect(struct http_request *r, const char *location)
{
	if (!http_header_add(r, "Location", location)) {
		http_reply_error(r, 503, "service_unavailable", "memoria esaurita: riprovare più tardi");
		return;
	}
	http_reply_static(r, 303, "text/plain; charset=utf-8", "", 0);
}

void api_fail(struct http_request *r, const struct vis_error *e)
{
	/* A write refused because the record changed meanwhile, or a duplicate:
	 * the client's to see (Italian, store.h), not a failure of ours. */
	if (e && e->code == VIS_ERR_CONFLICT) {
		http_reply_error(r, 409, "conflict", e->msg);
		return;
	}
	http_reply_internal(r, e);
}

void api_reply_refusal(struct http_request *r, vis_err rc, const struct vis_error *e)
{
	switch (rc) {
	case VIS_ERR_INVALID:
	case VIS_ERR_LIMIT:
		http_reply_error(r, 400, "invalid_request", e->msg);
		break;
	case VIS_ERR_NOTFOUND:
		http_reply_error(r, 404, "not_found", e->msg);
		break;
	case VIS_ERR_CONFLICT:
		http_reply_error(r, 409, "conflict", e->msg);
		break;
	default:
		api_fail(r, e);
	}
}

bool api_account_load(struct http_request *r, struct store *s, int64_t id,
		      struct store_account *out)
{
	struct vis_error e = {0};
	bool found;
	if (store_account_get(s, id, out, &found, &e)) {
		api_fail(r, &e);
		return false;
	}
	if (!found)
		http_reply_error(r, 404, "not_found", "utenza inesistente");
	return found;
}

bool api_ente_load(struct http_request *r, struct store *s, int64_t id,
		   struct store_ente *out)
{
	struct vis_error e = {0};
	bool found;
	if (store_ente_get(s, id, out, &found, &e)) {
		api_fail(r, &e);
		return false;
	}
	if (!found)
		http_reply_error(r, 404, "not_found", "ente inesistente");
	return found;
}

bool api_username_valid(const char *u)
{
	size_t n = strlen(u);
	if (n < 3 || n > 64 || !islower((unsigned char)u[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)u[i]) && !isdigit((unsigned char)u[i]) &&
		    u[i] != '.' && u[i] != '_' && u[i] != '-')
			return false;
	return true;
}

/* The account's body must be active, reached from one of its networks and
 * inside its working hours; otherwise the refusal is recorded and sent. */
bool api_body_open(struct http_request *r, struct store *s, int64_t now,
		   const struct store_account *a, const char *context)
{
	if (!a->ente_id)
		return true;
	struct store_ente en;
	struct vis_error e = {0};
	bool found;
	if (store_ente_get(s, a->ente_id, &en, &found, &e)) {
		api_fail(r, &e);
		return false;
	}
	if (!found || strcmp(en.state, "active")) {
		auth_event(s, now, "request_refused", a, NULL, r->ip, "ente sospeso o cessato");
		http_reply_error(r, 403, "ente_not_active",
				 "l'accesso dell'ente è sospeso o cessato");
		return false;
	}
	if (en.networks[0] && !cidr_list_contains(en.networks, r->ip)) {
		auth_event(s, now, "network_refused", a, NULL, r->ip, context);
		http_reply_error(r, 403, "network_not_allowed",
				 "l'accesso è ammesso solo dalle reti registrate dell'ente");
		return false;
	}
	struct hours_schedule h;
	if (hours_parse(en.hours, &h, &e) != VIS_OK || !hours_allows(&h, now)) {
		auth_event(s, now, "outside_hours", a, NULL, r->ip, context);
		http_reply_error(r, 403, "outside_hours",
				 "l'accesso è ammesso solo negli orari di servizio dell'ente");
		return false;
	}
	return true;
}

struct list_ctx {
	json_t *arr;
	json_t *(*to_json)(const void *rec);
};

static int list_one(void *ctx, const void *rec)
{
	struct list_ctx *l = ctx;
	json_array_append_new(l->arr, l->to_json(rec));
	return 0;
}

static json_t *list_json(struct http_request *r, struct store *s, enum store_kind kind,
			 const struct store_filter *filters, int64_t before, int limit,
			 json_t *(*to_json)(const void *rec))
{
	struct list_ctx l = {json_array(), to_json};
	struct vis_error e = {0};
	if (store_rec_page(s, kind, filters, before, limit, list_one, &l, &e)) {
		json_decref(l.arr);
		api_fail(r, &e);
		return NULL;
	}
	return l.arr;
}

void api_reply_list(struct http_request *r, struct store *s, enum store_kind kind,
		    const struct store_filter *filters, int limit, const char *key,
		    json_t *(*to_json)(const void *rec))
{
	json_t *arr = list_json(r, s, kind, filters, 0, limit, to_json);
	if (arr)
		http_reply_json(r, 200, json_pack("{s:o}", key, arr));
}

bool api_query_id(struct http_request *r, const char *name, int64_t *out)
{
	const char *v = http_query(r, name);
	*out = 0;
	if (!v)
		return true;
	if (v[0] == '0' || !str_uint(v, STR_UINT18_MAX, out)) {
		*out = 0;
		char msg[120];
		/* a parameter's name, a constant */
		STR_FMT_KNOWN(msg,
			      "il parametro \"%s\" deve essere un identificativo "
			      "(un numero intero positivo)",
			      name);
		http_reply_error(r, 400, "invalid_request", msg);
		return false;
	}
	return true;
}

bool api_query_one_of(struct http_request *r, const char *name, const char *const *allowed)
{
	const char *v = http_query(r, name);
	if (!v)
		return true;
	for (size_t i = 0; allowed[i]; i++)
		if (!strcmp(v, allowed[i]))
			return true;
	char msg[200];
	size_t len = (size_t)snprintf(msg, sizeof msg, "il parametro \"%s\" vale uno tra:", name);
	for (size_t i = 0; allowed[i] && len < sizeof msg; i++)
		len += (size_t)snprintf(msg + len, sizeof msg - len, "%s %s", i ? "," : "", allowed[i]);
	http_reply_error(r, 400, "invalid_request", msg);
	return false;
}

bool api_page_params(struct http_request *r, int def, int max, struct api_page *p)
{
	const char *lim = http_query(r, "limit"), *cur = http_query(r, "cursor");
	/* each, when given, digits only: not empty (no silent default), no
	 * sign or space strtol would take */
	int64_t n = def;
	bool ok = !lim || (str_uint(lim, max, &n) && n >= 1);
	p->limit = (int)n;
	p->cursor = 0;
	if (ok && cur)
		ok = str_uint(cur, STR_UINT18_MAX, &p->cursor);
	if (!ok) {
		char msg[120];
		snprintf(msg, sizeof msg,
			 "il campo \"limit\" deve essere tra 1 e %d e \"cursor\" il "
			 "next_cursor di una pagina precedente", max);
		http_reply_error(r, 400, "invalid_request", msg);
	}
	return ok;
}

bool api_page_finish(json_t *out, json_t *items, const struct api_page *p)
{
	if (json_array_size(items) <= (size_t)p->limit)
		return false;
	json_array_remove(items, (size_t)p->limit);
	json_int_t last = json_integer_value(json_object_get(json_array_get(items, (size_t)p->limit - 1), "id"));
	char buf[24];
	snprintf(buf, sizeof buf, "%lld", (long long)last);
	json_object_set_new(out, "next_cursor", json_string(buf));
	return true;
}

void api_reply_page(struct http_request *r, struct store *s, enum store_kind kind,
		    const struct store_filter *filters, const struct api_page *p, const char *key,
		    json_t *(*to_json)(const void *rec))
{
	json_t *arr = list_json(r, s, kind, filters, p->cursor, p->limit + 1, to_json);
	if (!arr)
		return;
	json_t *out = json_pack("{s:o}", key, arr);
	api_page_finish(out, arr, p);
	http_reply_json(r, 200, out);
}

void api_reply_records(struct http_request *r, struct store *s, enum store_kind kind,
		       const struct store_filter *filters, const struct api_page *p,
		       const char *key, store_rec_fn add)
{
	struct api_list l = {json_array()};
	struct vis_error e = {0};
	if (store_rec_page(s, kind, filters, p->cursor, p->limit + 1, add, &l, &e)) {
		json_decref(l.arr);
		api_fail(r, &e);
		return;
	}
	json_t *out = json_pack("{s:o}", key, l.arr);
	api_page_finish(out, l.arr, p);
	http_reply_json(r, 200, out);
}

json_t *api_account_view(const void *rec)
{
	return api_account_json(rec);
}

json_t *api_request_view(const void *rec)
{
	return api_request_json(rec);
}

json_t *api_ente_view(const void *rec)
{
	return api_ente_json(rec);
}

const char *api_comune_name(const struct refdata *rd, const char *istat)
{
	const struct ref_comune *c = refdata_comune_by_istat(rd, istat, 0);
	return c ? c->name : "";
}

json_t *api_comune_names(const struct refdata *rd, const json_t *codes)
{
	json_t *out = json_object();
	size_t i;
	json_t *v;
	json_array_foreach(codes, i, v) {
		const char *code = json_string_value(v);
		if (code && *api_comune_name(rd, code))
			json_object_set_new(out, code, json_string(api_comune_name(rd, code)));
	}
	return out;
}
