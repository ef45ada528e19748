/* Handlers of /api/v1/convenzioni (agreements and their purposes), for the
 * registry office, and /api/v1/purposes, the purposes a body's people may
 * declare: the JSON read and written here, the rules and the defaults in
 * policy/convenzione (shared with `visura convenzione`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "common/text.h"
#include "app/app.h"
#include "auth/auth.h"
#include "common/date.h"
#include "import/record.h"
#include "net/outbound.h"
#include "policy/convenzione.h"
#include "common/str.h"

static json_t *split_list(const char *list)
{
	json_t *arr = json_array();
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		json_array_append_new(arr, json_stringn(p, n));
		p += n + (p[n] == ',');
	}
	return arr;
}

static json_t *date_or_null(int d)
{
	char buf[11];
	if (!d)
		return json_null();
	date_format(d, buf);
	return json_string(buf);
}

static json_t *purpose_json(const struct store_purpose *p)
{
	return json_pack("{s:I,s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)p->id,
			 "convenzione_id", (json_int_t)p->convenzione_id, "code", p->code,
			 "description", p->description, "legal_basis", p->legal_basis,
			 "processing_ref", p->processing_ref);
}

static int add_purpose(void *ctx, const void *rec)
{
	struct api_list *l = ctx;
	json_array_append_new(l->arr, purpose_json(rec));
	return 0;
}

/* An agreement as answered; its municipalities by code and by name
 * (comuni_names: code → today's name).  NULL (e set) when its purposes
 * cannot be read; with e NULL, an agreement just written: its purposes
 * as far as they were read. */
static json_t *conv_json(struct http_request *r, struct store *s,
			 const struct store_convenzione *c, struct vis_error *e)
{
	json_t *j = json_pack("{s:I,s:I,s:s,s:o,s:o,s:o,s:s,s:s,s:o,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:b,s:o}",
			      "id", (json_int_t)c->id, "ente_id", (json_int_t)c->ente_id,
			      "reference", c->reference, "comuni", split_list(c->comuni),
			      "valid_from", date_or_null(c->valid_from),
			      "valid_to", date_or_null(c->valid_to), "state", c->state, "mode", c->mode,
			      "profile", split_list(c->profile), "max_results", c->max_results,
			      "per_minute", c->per_minute, "per_day", c->per_day,
			      "body_per_minute", c->body_per_minute, "body_per_day", c->body_per_day,
			      "purpose_per_minute", c->purpose_per_minute,
			      "purpose_per_day", c->purpose_per_day,
			      "break_glass", c->break_glass, "created_at", api_time(c->created_at));
	struct api_list l = {json_array()};
	struct store_filter f[] = {{"convenzione_id", NULL, c->id}, {NULL, NULL, 0}};
	if (store_rec_list(s, STORE_PURPOSE, f, 0, add_purpose, &l, e) && e) {
		json_decref(l.arr);
		json_decref(j);
		return NULL;
	}
	json_object_set_new(j, "purposes", l.arr);
	json_object_set_new(j, "workstation_cert", json_boolean(c->workstation_cert));
	json_object_set_new(j, "event_types", split_list(c->event_types));
	json_object_set_new(j, "webhook_url", json_string(c->webhook_url));
	json_object_set_new(j, "comuni_names",
			    api_comune_names(r->app->rd, json_object_get(j, "comuni")));
	return j;
}

/* Joins a JSON array of strings into "a,b,c"; false on a non-string. */
static bool join_list(json_t *arr, char *out, size_t cap)
{
	size_t len = 0, i;
	json_t *v;
	out[0] = '\0';
	if (!json_is_array(arr))
		return false;
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		if (!s || strchr(s, ',') || !utf8_valid(s, strlen(s)))
			return false;

		int n = snprintf(out + len, cap - len, "%s%s", len ? "," : "", s);
		if (n < 0 || (size_t)n >= cap - len)
			return false;
		len += (size_t)n;
	}
	return true;
}

/* An agreement's fields; ente_id only when it is made (conv_names + 1 for a
 * change). */
static const char *const conv_names[] = {
	"ente_id", "reference", "comuni", "event_types", "profile", "mode", "state",
	"webhook_url", "valid_from", "valid_to", "max_results", "per_minute", "per_day",
	"body_per_minute", "body_per_day", "purpose_per_minute", "purpose_per_day",
	"break_glass", "workstation_cert", NULL};

/* Applies the body's fields to c; replies 400 on a bad one, or on a member
 * that is none of them. */
static bool conv_fields(struct http_request *r, struct store_convenzione *c, bool create)
{
	json_t *b = http_body_object(r);
	if (!b || api_refuse_unknown(r, api_unknown_member(b, conv_names + !create)))
		return false;
	json_t *v;
	if ((v = json_object_get(b, "reference"))) {
		const char *s = http_body_string(r, "reference", true, sizeof c->reference - 1);
		if (!s)
			return false;
		STR_COPY_KNOWN(c->reference, s); /* http_body_string bounded it */
	}
	if ((v = json_object_get(b, "comuni")) && !join_list(v, c->comuni, sizeof c->comuni)) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"comuni\" deve essere un elenco di codici ISTAT");
		return false;
	}
	if ((v = json_object_get(b, "event_types"))) {
		if (!join_list(v, c->event_types, sizeof c->event_types)) {
			http_reply_error(r, 400, "invalid_request",
					 "il campo \"event_types\" deve essere un elenco di tipi "
					 "di evento");
			return false;
		}
		for (const char *p = c->event_types; *p;) {
			size_t n = strcspn(p, ",");
			bool known = false;
			for (const char *const *t = record_event_types; *t; t++)
				known = known || (strlen(*t) == n && !strncmp(*t, p, n));
			if (!known) {
				http_reply_error(r, 400, "invalid_request",
						 "il campo \"event_types\" contiene un tipo sconosciuto "
						 "(vedere docs/import-format.md)");
				return false;
			}
			p += n + (p[n] == ',');
		}
	}
	if ((v = json_object_get(b, "profile")) && !join_list(v, c->profile, sizeof c->profile)) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"profile\" deve essere un elenco di categorie");
		return false;
	}
	static const char *const texts[] = {"mode", "state"};
	char *dst[] = {c->mode, c->state};
	for (int i = 0; i < 2; i++) {
		if (!json_object_get(b, texts[i]))
			continue;
		const char *s = http_body_string(r, texts[i], true, 15);
		if (!s)
			return false;
		str_copy_known(dst[i], 16, s, __FILE__, __LINE__); /* bounded to 15 above */
	}
	if (json_object_get(b, "webhook_url")) {
		const char *u = http_body_string(r, "webhook_url", false, sizeof c->webhook_url - 1);
		if (!u)
			return false;
		struct vis_error e = {0};
		if (u[0] && outbound_check(u, OUTBOUND_WEBHOOK, false, &e)) {
			char msg[sizeof e.msg + 32];
			/* e.msg's size + 32 */
			STR_FMT_KNOWN(msg, "il campo \"webhook_url\": %s", e.msg);
			http_reply_error(r, 400, "invalid_request", msg);
			return false;
		}
		STR_COPY_KNOWN(c->webhook_url, u); /* http_body_string bounded it */
	}
	static const char *const dates[] = {"valid_from", "valid_to"};
	int *ddst[] = {&c->valid_from, &c->valid_to};
	for (int i = 0; i < 2; i++) {
		v = json_object_get(b, dates[i]);
		if (!v)
			continue;
		const char *s = json_string_value(v);
		if (json_is_null(v) && i == 1) {
			*ddst[i] = 0;
		} else if (!s || !date_parse(s, strlen(s), ddst[i])) {
			char msg[80];
			/* a field's name, a constant */
			STR_FMT_KNOWN(msg, "il campo \"%s\" deve essere una data AAAA-MM-GG",
				      dates[i]);
			http_reply_error(r, 400, "invalid_request", msg);
			return false;
		}
	}
	static const char *const ints[] = {"max_results", "per_minute", "per_day",
					   "body_per_minute", "body_per_day",
					   "purpose_per_minute", "purpose_per_day"};
	int *idst[] = {&c->max_results, &c->per_minute, &c->per_day, &c->body_per_minute,
		       &c->body_per_day, &c->purpose_per_minute, &c->purpose_per_day};
	for (int i = 0; i < 7; i++) {
		v = json_object_get(b, ints[i]);
		if (!v)
			continue;
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000000) {
			char msg[80];
			/* a field's name, a constant */
			STR_FMT_KNOWN(msg, "il campo \"%s\" deve essere un numero intero", ints[i]);
			http_reply_error(r, 400, "invalid_request", msg);
			return false;
		}
		*idst[i] = (int)json_integer_value(v);
	}
	static const char *const flags[] = {"break_glass", "workstation_cert"};
	bool *fdst[] = {&c->break_glass, &c->workstation_cert};
	for (int i = 0; i < 2; i++) {
		if (!(v = json_object_get(b, flags[i])))
			continue;
		if (!json_is_boolean(v)) {
			char msg[80];
			/* a field's name, a constant */
			STR_FMT_KNOWN(msg, "il campo \"%s\" deve essere true o false", flags[i]);
			http_reply_error(r, 400, "invalid_request", msg);
			return false;
		}
		*fdst[i] = json_is_true(v);
	}
	struct vis_error e = {0};
	vis_err rc = convenzione_check(c, create, r->app->rd, &e);
	if (rc)
		api_reply_refusal(r, rc, &e);
	return rc == VIS_OK;
}

/* A page of agreements, each written whole (with its purposes) as the
 * page reads it; the row past the page only says that another follows. */
struct conv_page {
	struct http_request *r;
	struct store *s;
	json_t *arr;
	size_t limit;
	struct vis_error *e;
	bool failed;
};

static int add_conv(void *ctx, const void *rec)
{
	struct conv_page *p = ctx;
	const struct store_convenzione *c = rec;
	json_t *one = json_array_size(p->arr) < p->limit ? conv_json(p->r, p->s, c, p->e)
							 : json_pack("{s:I}", "id", (json_int_t)c->id);
	if (!one) {
		p->failed = true;
		return 1;
	}
	json_array_append_new(p->arr, one);
	return 0;
}

void api_convenzioni_list(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	struct api_page pg;
	if (!api_page_params(r, 1000, 1000, &pg))
		return;
	int64_t ente;
	if (!api_query_id(r, "ente_id", &ente))
		return;
	struct store_filter f[2] = {{0}};
	if (!strcmp(r->auth->account.role, "lead"))
		f[0] = (struct store_filter){"ente_id", NULL, r->auth->account.ente_id};
	else if (ente)
		f[0] = (struct store_filter){"ente_id", NULL, ente};
	struct vis_error e = {0};
	struct conv_page p = {r, s, json_array(), (size_t)pg.limit, &e, false};
	if (store_rec_page(s, STORE_CONVENZIONE, f, pg.cursor, pg.limit + 1, add_conv, &p, &e) ||
	    p.failed) {
		json_decref(p.arr);
		api_fail(r, &e);
		return;
	}
	json_t *out = json_pack("{s:o}", "convenzioni", p.arr);
	api_page_finish(out, p.arr, &pg);
	http_reply_json(r, 200, out);
}

void api_convenzioni_create(struct http_request *r)
{
	struct store_convenzione c;
	convenzione_defaults(&c);
	if (!api_body_members(r, conv_names))
		return;
	json_t *b = http_body_object(r);
	if (!b)
		return;
	json_t *ente = json_object_get(b, "ente_id");
	if (!json_is_integer(ente)) {
		http_reply_error(r, 400, "invalid_request", "il campo \"ente_id\" è obbligatorio");
		return;
	}
	if (!conv_fields(r, &c, true))
		return;
	struct store *s = api_store(r);
	if (!s)
		return;
	c.ente_id = json_integer_value(ente);
	struct vis_error e = {0};
	vis_err rc = convenzione_create(s, r->app->rd, &c, NULL, api_now(r), &e);
	if (rc) {
		api_reply_refusal(r, rc, &e);
		return;
	}
	auth_event(s, c.created_at, "agreement_created", &r->auth->account, NULL, r->ip, c.reference);
	http_reply_json(r, 201, conv_json(r, s, &c, NULL));
}

static bool conv_load(struct http_request *r, struct store **s, struct store_convenzione *c)
{
	int64_t id = api_param_id(r, 0);
	if (!id || !(*s = api_store(r)))
		return false;
	struct vis_error e = {0};
	bool found;
	if (store_convenzione_get(*s, id, c, &found, &e)) {
		api_fail(r, &e);
		return false;
	}
	if (!found || (!strcmp(r->auth->account.role, "lead") && c->ente_id != r->auth->account.ente_id)) {
		http_reply_error(r, 404, "not_found", "convenzione inesistente");
		return false;
	}
	return true;
}

void api_convenzione_get(struct http_request *r)
{
	struct store *s;
	struct store_convenzione c;
	if (!conv_load(r, &s, &c))
		return;
	struct vis_error e = {0};
	json_t *j = conv_json(r, s, &c, &e);
	if (!j) {
		api_fail(r, &e);
		return;
	}
	http_reply_json(r, 200, j);
}

void api_convenzione_update(struct http_request *r)
{
	struct store *s;
	struct store_convenzione was, c;
	if (!conv_load(r, &s, &was))
		return;
	c = was;
	if (!conv_fields(r, &c, false))
		return;
	struct vis_error e = {0};
	vis_err rc = convenzione_update(s, r->app->rd, &was, &c, &e);
	if (rc) {
		api_reply_refusal(r, rc, &e);
		return;
	}
	auth_event(s, api_now(r), "agreement_changed", &r->auth->account, NULL, r->ip, c.reference);
	http_reply_json(r, 200, conv_json(r, s, &c, NULL));
}

void api_purpose_create(struct http_request *r)
{
	static const char *const fields[] = {"code", "description", "legal_basis", "processing_ref", NULL};
	if (!api_body_members(r, fields))
		return;
	struct store *s;
	struct store_convenzione c;
	if (!conv_load(r, &s, &c))
		return;
	struct store_purpose p = {.convenzione_id = c.id};
	const char *code = http_body_string(r, "code", true, sizeof p.code - 1);
	const char *desc = code ? http_body_string(r, "description", true, sizeof p.description - 1) : NULL;
	const char *basis = desc ? http_body_string(r, "legal_basis", true, sizeof p.legal_basis - 1) : NULL;
	const char *ref = basis ? http_body_string(r, "processing_ref", false, sizeof p.processing_ref - 1) : NULL;
	if (!ref)
		return;
	/* http_body_string bounded each to its field */
	STR_COPY_KNOWN(p.code, code);
	STR_COPY_KNOWN(p.description, desc);
	STR_COPY_KNOWN(p.legal_basis, basis);
	STR_COPY_KNOWN(p.processing_ref, ref);
	struct vis_error e = {0};
	vis_err rc = convenzione_purpose_add(s, &p, api_now(r), &e);
	if (rc) {
		api_reply_refusal(r, rc, &e);
		return;
	}
	auth_event(s, p.created_at, "purpose_created", &r->auth->account, NULL, r->ip, p.code);
	http_reply_json(r, 201, purpose_json(&p));
}

struct own {
	struct store *s;
	int today;
	json_t *arr;
	const struct refdata *rd;
	struct vis_error *e;      /* a failed read of an agreement's purposes */
	bool failed;
};

static int add_own(void *ctx, const void *rec)
{
	struct own *o = ctx;
	const struct store_convenzione *c = rec;
	if (strcmp(c->state, "active") || o->today < c->valid_from ||
	    (c->valid_to && o->today > c->valid_to))
		return 0;
	struct api_list l = {json_array()};
	struct store_filter f[] = {{"convenzione_id", NULL, c->id}, {NULL, NULL, 0}};
	/* an agreement shown without the purposes it has would tell the
	 * operator it has none */
	if (store_rec_list(o->s, STORE_PURPOSE, f, 0, add_purpose, &l, o->e)) {
		json_decref(l.arr);
		o->failed = true;
		return 1;
	}
	json_t *comuni = split_list(c->comuni);
	json_array_append_new(o->arr, json_pack("{s:I,s:s,s:s,s:o,s:o,s:o,s:o}", "convenzione_id",
		(json_int_t)c->id, "reference", c->reference, "mode", c->mode,
		"profile", split_list(c->profile), "comuni", comuni,
		"comuni_names", api_comune_names(o->rd, comuni), "purposes", l.arr));
	return 0;
}

void api_own_purposes(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	struct vis_error e = {0};
	struct own o = {s, app_today(r->app), json_array(), r->app->rd, &e, false};
	struct store_filter f[] = {{"ente_id", NULL, r->auth->account.ente_id}, {NULL, NULL, 0}};
	if (store_rec_list(s, STORE_CONVENZIONE, f, 0, add_own, &o, &e) || o.failed) {
		json_decref(o.arr);
		api_fail(r, &e);
		return;
	}
	http_reply_json(r, 200, json_pack("{s:o}", "convenzioni", o.arr));
}
