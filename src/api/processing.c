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
	json_t *b = http_body_object(r);
	if (!b)
		return false;
	for (size_t i = 0; i < NFIELDS; i++) {
		if (!create && !json_object_get(b, fields[i].name))
			continue;
		const char *v = http_body_string(r, fields[i].name, create && fields[i].required,
						 fields[i].size - 1);
		if (!v)
			return false;
		snprintf((char *)p + fields[i].off, fields[i].size, "%s", v);
	}
	json_t *sc = json_object_get(b, "special_categories");
	if (sc && !json_is_boolean(sc)) {
		http_reply_error(r, 400, "invalid_request", "'special_categories' must be true or false");
		return false;
	}
	if (sc)
		p->special_categories = json_is_true(sc);
	return true;
}

static void csv_cell(char **buf, size_t *len, size_t *cap, const char *v, bool last)
{
	size_t need = strlen(v) * 2 + 4;
	if (*len + need >= *cap) {
		size_t nc = (*cap + need) * 2;
		char *nb = realloc(*buf, nc);
		if (!nb)
			return;
		*buf = nb;
		*cap = nc;
	}
	char *o = *buf + *len;
	*o++ = '"';
	for (; *v; v++) {
		if (*v == '"')
			*o++ = '"';
		*o++ = *v;
	}
	*o++ = '"';
	*o++ = last ? '\n' : ',';
	*len = (size_t)(o - *buf);
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

static void html_esc(char **buf, size_t *len, size_t *cap, const char *v)
{
	for (; *v; v++) {
		const char *rep = *v == '<' ? "&lt;" : *v == '>' ? "&gt;" : *v == '&' ? "&amp;"
				: *v == '"' ? "&quot;" : NULL;
		char one[2] = {*v, 0};
		const char *s = rep ? rep : one;
		size_t n = strlen(s);
		if (*len + n + 1 >= *cap) {
			size_t nc = (*cap + n + 1) * 2;
			char *nb = realloc(*buf, nc);
			if (!nb)
				return;
			*buf = nb;
			*cap = nc;
		}
		memcpy(*buf + *len, s, n + 1);
		*len += n;
	}
}

static void html_raw(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);
	if (*len + n + 1 >= *cap) {
		size_t nc = (*cap + n + 1) * 2;
		char *nb = realloc(*buf, nc);
		if (!nb)
			return;
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
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
	size_t cap = 4096, len = 0, i;
	char *buf = malloc(cap);
	json_t *row;
	if (!buf) {
		json_decref(rows.arr);
		http_reply_error(r, 503, "service_unavailable", "out of memory");
		return;
	}
	buf[0] = '\0';
	bool html = !strcmp(format, "html");
	if (html)
		html_raw(&buf, &len, &cap, "<!DOCTYPE html><html lang=\"it\"><head><meta charset=\"utf-8\">"
			 "<title>Registro delle attività di trattamento</title><link rel=\"stylesheet\" "
			 "href=\"/static/print.css\"></head><body><header><h1>Registro delle attività di "
			 "trattamento (art. 30 GDPR)</h1></header><main>");
	else
		for (size_t k = 0; k < NFIELDS; k++)
			csv_cell(&buf, &len, &cap, fields[k].name, false);
	if (!html)
		csv_cell(&buf, &len, &cap, "special_categories", true);
	json_array_foreach(rows.arr, i, row) {
		if (html) {
			html_raw(&buf, &len, &cap, "<h2>");
			html_esc(&buf, &len, &cap, json_string_value(json_object_get(row, "number")));
			html_raw(&buf, &len, &cap, ". ");
			html_esc(&buf, &len, &cap, json_string_value(json_object_get(row, "process")));
			html_raw(&buf, &len, &cap, "</h2><table>");
		}
		for (size_t k = 0; k < NFIELDS; k++) {
			const char *v = json_string_value(json_object_get(row, fields[k].name));
			if (html) {
				html_raw(&buf, &len, &cap, "<tr><th>");
				html_esc(&buf, &len, &cap, fields[k].name);
				html_raw(&buf, &len, &cap, "</th><td>");
				html_esc(&buf, &len, &cap, v ? v : "");
				html_raw(&buf, &len, &cap, "</td></tr>");
			} else {
				csv_cell(&buf, &len, &cap, v ? v : "", false);
			}
		}
		bool sc = json_is_true(json_object_get(row, "special_categories"));
		if (html)
			html_raw(&buf, &len, &cap, sc ? "<tr><th>special_categories</th><td>sì</td></tr></table>"
						      : "<tr><th>special_categories</th><td>no</td></tr></table>");
		else
			csv_cell(&buf, &len, &cap, sc ? "si" : "no", true);
	}
	if (html)
		html_raw(&buf, &len, &cap, "</main></body></html>\n");
	json_decref(rows.arr);
	http_reply_bytes(r, 200, html ? "text/html; charset=utf-8" : "text/csv; charset=utf-8", buf,
			 len);
	free(buf);
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
	vis_err rc = store_rec_insert(s, STORE_PROCESSING, &p, &p.id, &e);
	if (rc == VIS_ERR_CONFLICT) {
		http_reply_error(r, 409, "conflict", "an entry with this number exists");
		return;
	}
	if (rc) {
		api_fail(r, &e);
		return;
	}
	auth_event(s, p.updated_at, "processing_changed", &r->auth.account, NULL, r->ip, p.number);
	http_reply_json(r, 201, entry_json(&p));
}

static bool load(struct http_request *r, struct store **s, struct store_processing *p)
{
	int64_t id = api_param_id(r, 0);
	if (!id || !(*s = api_store(r)))
		return false;
	bool found;
	struct vis_error e = {0};
	if (store_rec_get(*s, STORE_PROCESSING, "id", NULL, id, p, &found, &e)) {
		api_fail(r, &e);
		return false;
	}
	if (!found)
		http_reply_error(r, 404, "not_found", "no such entry");
	return found;
}

void api_processing_update(struct http_request *r)
{
	struct store *s;
	struct store_processing p;
	if (!load(r, &s, &p))
		return;
	char number[sizeof p.number];
	snprintf(number, sizeof number, "%s", p.number);
	if (!read_fields(r, &p, false))
		return;
	if (strcmp(number, p.number)) {
		http_reply_error(r, 409, "conflict", "an entry's number does not change (purposes point at it)");
		return;
	}
	p.updated_at = api_now(r);
	struct vis_error e = {0};
	if (store_rec_update(s, STORE_PROCESSING, &p, &e)) {
		api_fail(r, &e);
		return;
	}
	auth_event(s, p.updated_at, "processing_changed", &r->auth.account, NULL, r->ip, p.number);
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
				 "a purpose of an agreement points at this entry: it cannot be deleted");
		return;
	}
	if (store_rec_delete(s, STORE_PROCESSING, p.id, &e)) {
		api_fail(r, &e);
		return;
	}
	auth_event(s, api_now(r), "processing_deleted", &r->auth.account, NULL, r->ip, p.number);
	http_reply_json(r, 200, json_pack("{s:I,s:b}", "id", (json_int_t)p.id, "deleted", 1));
}

bool api_processing_exists(struct store *s, const char *number)
{
	struct store_processing p;
	bool found = false;
	return store_rec_get(s, STORE_PROCESSING, "number", number, 0, &p, &found, NULL) == VIS_OK &&
	       found;
}
