/* The record of processing activities (GDPR art. 30): CRUD for admins,
 * CSV export and a printable page.  Every purpose of an agreement points at
 * an entry; an entry still pointed at cannot be deleted. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "app/app.h"
#include "auth/auth.h"
#include "common/str.h"

struct field {
	const char *name;
	size_t off, size;
	bool required;
};

#define F(n, req) {#n, offsetof(struct store_processing, n), sizeof(((struct store_processing *)0)->n), req}
static const struct field fields[] = {
	F(number, true), F(process, true), F(description, true), F(purpose, true),
	F(legal_basis, true), F(operations, false), F(internal_owner, false),
	F(external_processor, false), F(data_categories, true), F(retention, true),
	F(data_subjects, true), F(recipients, false), F(third_countries, false),
	F(measures, true), F(mode, false),
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static json_t *entry_json(const void *rec)
{
	const struct store_processing *p = rec;
	json_t *j = json_pack("{s:I,s:b,s:o}", "id", (json_int_t)p->id, "special_categories",
			      p->special_categories, "updated_at", api_time(p->updated_at));
	for (size_t i = 0; i < NFIELDS; i++)
		json_object_set_new(j, fields[i].name,
				    json_string((const char *)p + fields[i].off));
	return j;
}

static bool read_fields(struct http_request *r, struct store_processing *p, bool create)
{
	static const char *const flag[] = {"special_categories", NULL};
	json_t *b = http_body_object(r);
	if (!b || api_refuse_unknown(r, api_unknown_member_in(b, fields, NFIELDS, sizeof fields[0],
								 flag)))
		return false;
	for (size_t i = 0; i < NFIELDS; i++) {
		if (!create && !json_object_get(b, fields[i].name))
			continue;
		const char *v = http_body_string(r, fields[i].name, create && fields[i].required,
						 fields[i].size - 1);
		if (!v)
			return false;
		/* http_body_string bounded it to the field */
		str_copy_known((char *)p + fields[i].off, fields[i].size, v, __FILE__, __LINE__);
	}
	json_t *sc = json_object_get(b, "special_categories");
	if (sc && !json_is_boolean(sc)) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"special_categories\" deve essere true o false");
		return false;
	}
	if (sc)
		p->special_categories = json_is_true(sc);
	return true;
}

struct rows {
	json_t *arr;
};

static int add_row(void *ctx, const void *rec)
{
	struct rows *r = ctx;
	json_array_insert_new(r->arr, 0, entry_json(rec)); /* oldest first */
	return 0;
}

void api_processing_list(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	const char *format = http_query(r, "format");
	struct rows rows = {json_array()};
	struct vis_error e = {0};
	if (store_rec_list(s, STORE_PROCESSING, NULL, 0, add_row, &rows, &e)) {
		json_decref(rows.arr);
		api_fail(r, &e);
		return;
	}
	if (!format || !strcmp(format, "json")) {
		http_reply_json(r, 200, json_pack("{s:o}", "entries", rows.arr));
		return;
	}
	struct strbuf sb;
	size_t i;
	json_t *row;
	strbuf_init(&sb, API_EXPORT_MAX);
	bool html = !strcmp(format, "html");
	if (html)
		strbuf_adds(&sb, "<!DOCTYPE html><html lang=\"it\"><head><meta charset=\"utf-8\">"
			    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
			    "<title>Registro delle attività di trattamento</title><link rel=\"stylesheet\" "
			    "href=\"/static/print.css\"></head><body><header><h1>Registro delle attività di "
			    "trattamento (art. 30 GDPR)</h1></header><main>");
	else
		for (size_t k = 0; k < NFIELDS; k++)
			strbuf_add_csv(&sb, fields[k].name, false);
	if (!html)
		strbuf_add_csv(&sb, "special_categories", true);
	json_array_foreach(rows.arr, i, row) {
		if (html) {
			strbuf_adds(&sb, "<h2>");
			strbuf_add_html(&sb, json_string_value(json_object_get(row, "number")));
			strbuf_adds(&sb, ". ");
			strbuf_add_html(&sb, json_string_value(json_object_get(row, "process")));
			strbuf_adds(&sb, "</h2><table>");
		}
		for (size_t k = 0; k < NFIELDS; k++) {
			const char *v = json_string_value(json_object_get(row, fields[k].name));
			if (html) {
				strbuf_adds(&sb, "<tr><th>");
				strbuf_add_html(&sb, fields[k].name);
				strbuf_adds(&sb, "</th><td>");
				strbuf_add_html(&sb, v ? v : "");
				strbuf_adds(&sb, "</td></tr>");
			} else {
				strbuf_add_csv(&sb, v ? v : "", false);
			}
		}
		bool sc = json_is_true(json_object_get(row, "special_categories"));
		if (html)
			strbuf_adds(&sb, sc ? "<tr><th>special_categories</th><td>sì</td></tr></table>"
					    : "<tr><th>special_categories</th><td>no</td></tr></table>");
		else
			strbuf_add_csv(&sb, sc ? "si" : "no", true);
	}
	if (html)
		strbuf_adds(&sb, "</main></body></html>\n");
	json_decref(rows.arr);
	if (sb.err) {
		api_reply_export_failed(r, &sb);
		return;
	}
	http_reply_bytes(r, 200, html ? "text/html; charset=utf-8" : "text/csv; charset=utf-8",
			 sb.buf, sb.len);
	strbuf_release(&sb);
}

void api_processing_create(struct http_request *r)
{
	struct store_processing p = {0};
	snprintf(p.mode, sizeof p.mode, "elettronica");
	if (!read_fields(r, &p, true))
		return;
	struct store *s = api_store(r);
	if (!s)
		return;
	p.updated_at = api_now(r);
	struct vis_error e = {0};
	vis_err rc = store_processing_insert(s, &p, &p.id, &e);
	if (rc == VIS_ERR_CONFLICT) {
		http_reply_error(r, 409, "conflict", "esiste già una voce con questo numero");
		return;
	}
	if (rc) {
		api_fail(r, &e);
		return;
	}
	auth_event(s, p.updated_at, "processing_changed", &r->auth->account, NULL, r->ip, p.number);
	http_reply_json(r, 201, entry_json(&p));
}

static bool load(struct http_request *r, struct store **s, struct store_processing *p)
{
	int64_t id = api_param_id(r, 0);
	if (!id || !(*s = api_store(r)))
		return false;
	bool found;
	struct vis_error e = {0};
	if (store_processing_get(*s, id, p, &found, &e)) {
		api_fail(r, &e);
		return false;
	}
	if (!found)
		http_reply_error(r, 404, "not_found", "voce inesistente");
	return found;
}

void api_processing_update(struct http_request *r)
{
	struct store *s;
	struct store_processing was, p;
	if (!load(r, &s, &was))
		return;
	p = was;
	if (!read_fields(r, &p, false))
		return;
	if (strcmp(was.number, p.number)) {
		http_reply_error(r, 409, "conflict",
				 "il numero di una voce non cambia (le finalità vi fanno "
				 "riferimento)");
		return;
	}
	p.updated_at = api_now(r);
	struct vis_error e = {0};
	if (store_processing_update(s, &was, &p, &e)) {
		api_fail(r, &e);
		return;
	}
	auth_event(s, p.updated_at, "processing_changed", &r->auth->account, NULL, r->ip, p.number);
	http_reply_json(r, 200, entry_json(&p));
}

static int referenced(void *ctx, const void *rec)
{
	(void)rec;
	*(bool *)ctx = true;
	return 1;
}

void api_processing_delete(struct http_request *r)
{
	struct store *s;
	struct store_processing p;
	if (!load(r, &s, &p))
		return;
	bool used = false;
	struct store_filter f[] = {{"processing_ref", p.number, 0}, {NULL, NULL, 0}};
	struct vis_error e = {0};
	if (store_rec_list(s, STORE_PURPOSE, f, 1, referenced, &used, &e)) {
		api_fail(r, &e);
		return;
	}
	if (used) {
		http_reply_error(r, 409, "entry_in_use",
				 "una finalità di una convenzione fa riferimento a questa voce: non si può "
				 "eliminare");
		return;
	}
	if (store_rec_delete(s, STORE_PROCESSING, p.id, &e)) {
		api_fail(r, &e);
		return;
	}
	auth_event(s, api_now(r), "processing_deleted", &r->auth->account, NULL, r->ip, p.number);
	http_reply_json(r, 200, json_pack("{s:I,s:b}", "id", (json_int_t)p.id, "deleted", 1));
}
