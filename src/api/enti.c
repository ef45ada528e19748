/* Handlers of /api/v1/enti: the external bodies (enti fruitori). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "api/internal.h"
#include "app/app.h"
#include "auth/auth.h"
#include "auth/hours.h"
#include "common/cidr.h"
#include "refdata/refdata.h"
#include "common/str.h"

static const char *const kinds[] = {"police", "health", "pension", "tax", "court",
				    "municipality", "service", "other", NULL};

static bool kind_valid(const char *k)
{
	for (const char *const *p = kinds; *p; p++)
		if (!strcmp(*p, k))
			return true;
	return false;
}

/* Applies the fields present in the body to en; replies 400 on a bad one.
 * With `create`, name, kind and tax_code are required. */
static bool ente_fields(struct http_request *r, struct store_ente *en, bool create)
{
	static const struct {
		const char *field;
		size_t off, size;
		bool required;
	} text[] = {
		{"name", offsetof(struct store_ente, name), sizeof en->name, true},
		{"kind", offsetof(struct store_ente, kind), sizeof en->kind, true},
		{"tax_code", offsetof(struct store_ente, tax_code), sizeof en->tax_code, true},
		{"pec", offsetof(struct store_ente, pec), sizeof en->pec, false},
		{"hours", offsetof(struct store_ente, hours), sizeof en->hours, false},
		{"networks", offsetof(struct store_ente, networks), sizeof en->networks, false},
		{"comune", offsetof(struct store_ente, comune), sizeof en->comune, false},
		{"state", offsetof(struct store_ente, state), sizeof en->state, false},
	};
	json_t *body = http_body_object(r);
	if (!body ||
	    api_refuse_unknown(r, api_unknown_member_in(body, text, sizeof text / sizeof text[0],
							sizeof text[0], NULL)))
		return false;
	for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
		bool present = json_object_get(body, text[i].field) != NULL;
		if (!present && !(create && text[i].required))
			continue;
		const char *v = http_body_string(r, text[i].field, create && text[i].required,
						 text[i].size - 1);
		if (!v)
			return false;
		/* http_body_string bounded it to the field */
		str_copy_known((char *)en + text[i].off, text[i].size, v, __FILE__, __LINE__);
	}
	if (!kind_valid(en->kind)) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"kind\" deve essere police, health, pension, tax, court, "
				 "municipality, service o other");
		return false;
	}
	struct hours_schedule h;
	struct vis_error e = {0};
	if (hours_parse(en->hours, &h, &e) != VIS_OK) {
		char msg[600];
		STR_FMT_KNOWN(msg, "il campo \"hours\": %s", e.msg); /* e.msg's size + 24 */
		http_reply_error(r, 400, "invalid_request", msg);
		return false;
	}
	hours_format(&h, en->hours, sizeof en->hours);
	if (strcmp(en->state, "active") && strcmp(en->state, "suspended") && strcmp(en->state, "ended")) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"state\" deve essere active, suspended o ended");
		return false;
	}
	if (en->comune[0] && (strcmp(en->kind, "municipality") ||
			      !refdata_comune_by_istat(r->app->rd, en->comune, 0))) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"comune\" è il codice ISTAT, solo per un ente di tipo "
				 "municipality");
		return false;
	}
	if (!cidr_list_valid(en->networks)) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"networks\" deve contenere indirizzi o reti (CIDR) IPv4/IPv6 "
				 "separati da virgole");
		return false;
	}
	size_t tc = strlen(en->tax_code);
	if (tc != 11 && tc != 16) {
		http_reply_error(r, 400, "invalid_request",
				 "il campo \"tax_code\" deve essere una partita IVA (11 cifre) o un codice "
				 "fiscale (16 caratteri)");
		return false;
	}
	return true;
}

void api_enti_list(struct http_request *r)
{
	struct store *s = api_store(r);
	if (!s)
		return;
	api_reply_list(r, s, STORE_ENTE, NULL, 0, "enti", api_ente_view);
}

void api_enti_create(struct http_request *r)
{
	struct store_ente en = {0};
	snprintf(en.hours, sizeof en.hours, "mon-fri 08:00-18:00");
	snprintf(en.state, sizeof en.state, "active");
	if (!ente_fields(r, &en, true))
		return;
	struct store *s = api_store(r);
	if (!s)
		return;
	struct vis_error e = {0};
	en.created_at = api_now(r);
	vis_err rc = store_ente_insert(s, &en, &en.id, &e);
	if (rc == VIS_ERR_CONFLICT) {
		http_reply_error(r, 409, "conflict", "esiste già un ente con questo nome");
		return;
	}
	if (rc) {
		api_fail(r, &e);
		return;
	}
	auth_event(s, en.created_at, "ente_created", &r->auth->account, NULL, r->ip, en.name);
	http_reply_json(r, 201, api_ente_json(&en));
}

void api_ente_get(struct http_request *r)
{
	int64_t id = api_param_id(r, 0);
	struct store *s = id ? api_store(r) : NULL;
	struct store_ente en;
	if (!s)
		return;
	if (!strcmp(r->auth->account.role, "lead") && r->auth->account.ente_id != id) {
		http_reply_error(r, 403, "forbidden", "questo è un altro ente");
		return;
	}
	if (api_ente_load(r, s, id, &en))
		http_reply_json(r, 200, api_ente_json(&en));
}

struct revoke_ctx {
	struct store *s;
	int64_t now;
};

static int end_sessions(void *ctx, const void *rec)
{
	struct revoke_ctx *c = ctx;
	const struct store_account *a = rec;
	store_sessions_revoke_account(c->s, a->id, c->now, NULL);
	return 0;
}

void api_ente_update(struct http_request *r)
{
	int64_t id = api_param_id(r, 0);
	struct store *s = id ? api_store(r) : NULL;
	struct store_ente was, en;
	if (!s || !api_ente_load(r, s, id, &was))
		return;
	en = was;
	if (!ente_fields(r, &en, false))
		return;
	struct vis_error e = {0};
	int64_t now = api_now(r);
	vis_err rc = store_ente_update(s, &was, &en, &e);
	if (rc == VIS_ERR_CONFLICT) {
		http_reply_error(r, 409, "conflict",
				 strcmp(e.msg, STORE_CHANGED_MEANWHILE)
					 ? "esiste già un ente con questo nome" : e.msg);
		return;
	}
	if (rc) {
		api_fail(r, &e);
		return;
	}
	/* A body that is no longer active loses its sessions at once. */
	if (strcmp(en.state, "active")) {
		struct revoke_ctx c = {s, now};
		struct store_filter f[] = {{"ente_id", NULL, en.id}, {NULL, NULL, 0}};
		store_rec_list(s, STORE_ACCOUNT, f, 0, end_sessions, &c, NULL);
	}
	auth_event(s, now, "ente_changed", &r->auth->account, NULL, r->ip, en.name);
	http_reply_json(r, 200, api_ente_json(&en));
}
