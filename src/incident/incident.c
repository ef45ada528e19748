#include "incident/incident.h"

#include <stdio.h>
#include <string.h>

#include "alert/alert.h"
#include "common/log.h"
#include "common/str.h"

static const char *const states[] = {"open", "handled", "closed"};

bool incident_state_valid(const char *state)
{
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
		if (state && !strcmp(state, states[i]))
			return true;
	return false;
}

const char *incident_state_label(const char *state)
{
	static const char *const label[] = {"aperto", "in gestione", "chiuso"};
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
		if (!strcmp(state, states[i]))
			return label[i];
	return state;
}

static vis_err step(struct store *s, const struct store_incident *i, int64_t by, int64_t now,
		    const char *note, struct vis_error *e)
{
	struct store_incident_step st = {.incident_id = i->id, .at = now, .by_account = by};
	STR_COPY_KNOWN(st.state, i->state); /* the same size */
	if (STR_SET(st.note, note, "nota", e))
		return VIS_ERR_LIMIT;
	return store_incident_step_insert(s, &st, NULL, e);
}

vis_err incident_report(struct store *s, const struct store_account *by, const char *what,
			const char *occurred_at, const char *accounts, int64_t now,
			struct store_incident *out, struct vis_error *e)
{
	struct store_incident i = {.ente_id = by->ente_id, .reported_by = by->id,
				   .created_at = now, .updated_at = now};
	if (STR_SET(i.what, what, "what", e) || STR_SET(i.occurred_at, occurred_at, "occurred_at", e) ||
	    STR_SET(i.accounts, accounts, "accounts", e))
		return VIS_ERR_LIMIT;
	STR_COPY_KNOWN(i.state, "open"); /* a constant */
	vis_err rc = store_begin(s, e);
	if (!rc)
		rc = store_incident_insert(s, &i, &i.id, e);
	if (!rc)
		rc = step(s, &i, by->id, now, "reported", e);
	if (!rc)
		rc = store_commit(s, e);
	if (rc) {
		store_rollback(s);
		return rc;
	}
	char detail[256];
	STR_FMT_KNOWN(detail, "incidente n. %lld segnalato da %s: %.140s", (long long)i.id,
		      by->username, what); /* an id of 18 digits, username[65], %.140s: 251 bytes */
	struct vis_error ae = {0};
	if (alert_raise(s, now, "incident", "high", by, detail, &ae))
		log_error("segnalazione dell'incidente non registrata", "incident=%lld error=\"%s\"",
			  (long long)i.id, ae.msg);
	*out = i;
	return VIS_OK;
}

vis_err incident_state_set(struct store *s, int64_t id, const char *state, const char *note,
			   int64_t by_id, int64_t now, struct store_incident *out,
			   struct vis_error *e)
{
	if (!incident_state_valid(state))
		return vis_error_set(e, VIS_ERR_INVALID,
				     "il campo \"state\" deve essere open, handled o closed");
	struct store_incident i;
	bool found;
	if (store_incident_get(s, id, &i, &found, e))
		return VIS_ERR_STORE;
	if (!found)
		return vis_error_set(e, VIS_ERR_NOTFOUND, "incidente inesistente");
	const struct store_incident was = i;
	STR_COPY_KNOWN(i.state, state); /* one of the three words checked above */
	i.updated_at = now;
	vis_err rc = store_begin(s, e);
	if (!rc)
		rc = store_incident_update(s, &was, &i, e);
	if (!rc)
		rc = step(s, &i, by_id, now, note, e);
	if (!rc)
		rc = store_commit(s, e);
	if (rc) {
		store_rollback(s);
		return rc;
	}
	*out = i;
	return VIS_OK;
}

struct revoke_ctx {
	struct store *s;
	int64_t now;
	int n;
	struct vis_error *e;
	bool failed;
};

/* A revocation that fails stops the list and undoes the suspension: a
 * body reported suspended keeps no session or token alive. */
static int revoke_all(void *ctx, const void *rec)
{
	struct revoke_ctx *c = ctx;
	const struct store_account *a = rec;
	if (store_sessions_revoke_account(c->s, a->id, c->now, c->e) ||
	    store_tokens_revoke_account(c->s, a->id, c->now, c->e)) {
		c->failed = true;
		return 1;
	}
	c->n++;
	return 0;
}

vis_err incident_ente_suspend(struct store *s, int64_t ente_id, int64_t now,
			      struct store_ente *out, int *cut_off, struct vis_error *e)
{
	struct store_ente en;
	bool found;
	if (store_ente_get(s, ente_id, &en, &found, e))
		return VIS_ERR_STORE;
	if (!found)
		return vis_error_set(e, VIS_ERR_NOTFOUND, "ente inesistente");
	const struct store_ente was = en;
	STR_COPY_KNOWN(en.state, "suspended"); /* a constant */
	struct revoke_ctx c = {s, now, 0, e, false};
	struct store_filter f[] = {{"ente_id", NULL, en.id}, {NULL, NULL, 0}};
	vis_err rc = store_begin(s, e);
	if (!rc)
		rc = store_ente_update(s, &was, &en, e);
	if (!rc && (store_rec_list(s, STORE_ACCOUNT, f, 0, revoke_all, &c, e) || c.failed))
		rc = VIS_ERR_STORE;
	if (!rc)
		rc = store_commit(s, e);
	if (rc) {
		store_rollback(s);
		return rc;
	}
	*out = en;
	*cut_off = c.n;
	return VIS_OK;
}
