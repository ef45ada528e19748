#include "store/records.h"

#include <stdio.h>
#include <string.h>

#include "common/str.h"
#include "store/sql.h"

#define FAR_FUTURE 29991231

#define I64(S, f) {#f, RC_I64, offsetof(struct S, f), 0}
#define INT(S, f) {#f, RC_INT, offsetof(struct S, f), 0}
#define BOOL(S, f) {#f, RC_BOOL, offsetof(struct S, f), 0}
#define TEXT(S, f) {#f, RC_TEXT, offsetof(struct S, f), sizeof(((struct S *)0)->f)}
#define DESC(tbl, S, cols) {tbl, sizeof(struct S), cols, sizeof cols / sizeof cols[0]}

static const struct rec_col ente_cols[] = {
	I64(store_ente, id), TEXT(store_ente, name), TEXT(store_ente, kind),
	TEXT(store_ente, tax_code), TEXT(store_ente, pec), TEXT(store_ente, hours),
	TEXT(store_ente, networks), TEXT(store_ente, comune),
	TEXT(store_ente, state), I64(store_ente, created_at),
};

static const struct rec_col account_cols[] = {
	I64(store_account, id), TEXT(store_account, username), TEXT(store_account, role),
	I64(store_account, ente_id), TEXT(store_account, full_name), TEXT(store_account, cf),
	TEXT(store_account, email), TEXT(store_account, appointment_ref),
	TEXT(store_account, password_hash), I64(store_account, password_set_at),
	BOOL(store_account, password_temporary), I64(store_account, temp_expires_at),
	I64(store_account, issued_at), I64(store_account, expires_at),
	TEXT(store_account, state), TEXT(store_account, disabled_reason),
	I64(store_account, disabled_at), TEXT(store_account, totp_secret),
	BOOL(store_account, totp_enabled), I64(store_account, totp_last_step),
	I64(store_account, last_login_at), I64(store_account, prev_login_at),
	I64(store_account, reminded_at), I64(store_account, created_at),
};

static const struct rec_col session_cols[] = {
	I64(store_session, id), TEXT(store_session, token_hash), I64(store_session, account_id),
	TEXT(store_session, csrf), I64(store_session, created_at), I64(store_session, last_seen_at),
	I64(store_session, expires_at), TEXT(store_session, ip), I64(store_session, revoked_at),
};

static const struct rec_col token_cols[] = {
	I64(store_token, id), I64(store_token, account_id), TEXT(store_token, token_hash),
	TEXT(store_token, name), I64(store_token, created_at), I64(store_token, last_used_at),
	I64(store_token, revoked_at),
};

static const struct rec_col request_cols[] = {
	I64(store_operator_request, id), I64(store_operator_request, ente_id),
	I64(store_operator_request, requested_by), TEXT(store_operator_request, full_name),
	TEXT(store_operator_request, cf), TEXT(store_operator_request, email),
	TEXT(store_operator_request, appointment_ref), TEXT(store_operator_request, username),
	TEXT(store_operator_request, state), I64(store_operator_request, decided_by),
	I64(store_operator_request, decided_at), TEXT(store_operator_request, note),
	I64(store_operator_request, account_id), I64(store_operator_request, created_at),
};

static const struct rec_col mail_cols[] = {
	I64(store_mail, id), TEXT(store_mail, recipient), TEXT(store_mail, subject),
	TEXT(store_mail, body), TEXT(store_mail, kind), TEXT(store_mail, state),
	INT(store_mail, attempts), TEXT(store_mail, last_error), I64(store_mail, created_at),
	I64(store_mail, next_attempt_at), I64(store_mail, sent_at),
};

static const struct rec_col event_cols[] = {
	I64(store_security_event, id), I64(store_security_event, at),
	TEXT(store_security_event, kind), I64(store_security_event, account_id),
	TEXT(store_security_event, username), I64(store_security_event, ente_id),
	TEXT(store_security_event, ip), TEXT(store_security_event, detail),
};

static const struct rec_col convenzione_cols[] = {
	I64(store_convenzione, id), I64(store_convenzione, ente_id),
	TEXT(store_convenzione, reference), TEXT(store_convenzione, comuni),
	INT(store_convenzione, valid_from), INT(store_convenzione, valid_to),
	TEXT(store_convenzione, state), TEXT(store_convenzione, mode),
	TEXT(store_convenzione, profile), INT(store_convenzione, max_results),
	INT(store_convenzione, per_minute), INT(store_convenzione, per_day),
	INT(store_convenzione, body_per_minute), INT(store_convenzione, body_per_day),
	INT(store_convenzione, purpose_per_minute), INT(store_convenzione, purpose_per_day),
	BOOL(store_convenzione, break_glass), BOOL(store_convenzione, workstation_cert),
	I64(store_convenzione, created_at), TEXT(store_convenzione, event_types),
	TEXT(store_convenzione, webhook_url),
};

static const struct rec_col purpose_cols[] = {
	I64(store_purpose, id), I64(store_purpose, convenzione_id), TEXT(store_purpose, code),
	TEXT(store_purpose, description), TEXT(store_purpose, legal_basis),
	TEXT(store_purpose, processing_ref), I64(store_purpose, created_at),
};

static const struct rec_col alert_cols[] = {
	I64(store_alert, id), I64(store_alert, at), TEXT(store_alert, rule),
	I64(store_alert, account_id), TEXT(store_alert, username), I64(store_alert, ente_id),
	TEXT(store_alert, severity), TEXT(store_alert, detail), TEXT(store_alert, state),
	I64(store_alert, reviewed_by), I64(store_alert, reviewed_at), TEXT(store_alert, note),
};

static const struct rec_col incident_cols[] = {
	I64(store_incident, id), I64(store_incident, ente_id), I64(store_incident, reported_by),
	TEXT(store_incident, what), TEXT(store_incident, occurred_at),
	TEXT(store_incident, accounts), TEXT(store_incident, state),
	I64(store_incident, created_at), I64(store_incident, updated_at),
};

static const struct rec_col incident_step_cols[] = {
	I64(store_incident_step, id), I64(store_incident_step, incident_id),
	I64(store_incident_step, at), I64(store_incident_step, by_account),
	TEXT(store_incident_step, state), TEXT(store_incident_step, note),
};

static const struct rec_col workstation_cols[] = {
	I64(store_workstation, id), TEXT(store_workstation, serial),
	I64(store_workstation, ente_id), TEXT(store_workstation, name),
	I64(store_workstation, issued_at), I64(store_workstation, expires_at),
	I64(store_workstation, revoked_at),
};

static const struct rec_col processing_cols[] = {
	I64(store_processing, id), TEXT(store_processing, number), TEXT(store_processing, process),
	TEXT(store_processing, description), TEXT(store_processing, purpose),
	TEXT(store_processing, legal_basis), TEXT(store_processing, operations),
	TEXT(store_processing, internal_owner), TEXT(store_processing, external_processor),
	TEXT(store_processing, data_categories), BOOL(store_processing, special_categories),
	TEXT(store_processing, retention), TEXT(store_processing, data_subjects),
	TEXT(store_processing, recipients), TEXT(store_processing, third_countries),
	TEXT(store_processing, measures), TEXT(store_processing, mode),
	I64(store_processing, updated_at),
};

static const struct rec_col notice_cols[] = {
	I64(store_notice, id), TEXT(store_notice, title), TEXT(store_notice, body),
	I64(store_notice, starts_at), I64(store_notice, ends_at), I64(store_notice, created_at),
	I64(store_notice, withdrawn_at),
};

static const struct rec_col review_cols[] = {
	I64(store_review, id), I64(store_review, convenzione_id), TEXT(store_review, decision),
	TEXT(store_review, note), I64(store_review, decided_by), I64(store_review, decided_at),
};

static const struct rec_col pdnd_purpose_cols[] = {
	I64(store_pdnd_purpose, id), TEXT(store_pdnd_purpose, pdnd_purpose),
	TEXT(store_pdnd_purpose, client_id), I64(store_pdnd_purpose, purpose_id),
	I64(store_pdnd_purpose, account_id), I64(store_pdnd_purpose, created_at),
	I64(store_pdnd_purpose, revoked_at),
};

static const struct rec_col pdnd_key_cols[] = {
	I64(store_pdnd_key, id), I64(store_pdnd_key, ente_id), TEXT(store_pdnd_key, kid),
	TEXT(store_pdnd_key, jwk), I64(store_pdnd_key, created_at),
	I64(store_pdnd_key, revoked_at),
};

static const struct rec_col list_request_cols[] = {
	I64(store_list_request, id), I64(store_list_request, ente_id),
	I64(store_list_request, requested_by), I64(store_list_request, purpose_id),
	TEXT(store_list_request, criteria), TEXT(store_list_request, justification),
	TEXT(store_list_request, state), I64(store_list_request, decided_by),
	I64(store_list_request, decided_at), TEXT(store_list_request, note),
	I64(store_list_request, extracted_at), I64(store_list_request, persons),
	I64(store_list_request, created_at),
};

const struct rec_desc store_rec_descs[STORE_KIND__COUNT] = {
	[STORE_ENTE] = DESC("ente", store_ente, ente_cols),
	[STORE_ACCOUNT] = DESC("account", store_account, account_cols),
	[STORE_SESSION] = DESC("session", store_session, session_cols),
	[STORE_TOKEN] = DESC("api_token", store_token, token_cols),
	[STORE_OPERATOR_REQUEST] = DESC("operator_request", store_operator_request, request_cols),
	[STORE_MAIL] = DESC("mail", store_mail, mail_cols),
	[STORE_SECURITY_EVENT] = DESC("security_event", store_security_event, event_cols),
	[STORE_CONVENZIONE] = DESC("convenzione", store_convenzione, convenzione_cols),
	[STORE_PURPOSE] = DESC("purpose", store_purpose, purpose_cols),
	[STORE_ALERT] = DESC("alert", store_alert, alert_cols),
	[STORE_INCIDENT] = DESC("incident", store_incident, incident_cols),
	[STORE_INCIDENT_STEP] = DESC("incident_history", store_incident_step, incident_step_cols),
	[STORE_WORKSTATION] = DESC("workstation", store_workstation, workstation_cols),
	[STORE_PROCESSING] = DESC("processing", store_processing, processing_cols),
	[STORE_NOTICE] = DESC("notice", store_notice, notice_cols),
	[STORE_REVIEW] = DESC("review_decision", store_review, review_cols),
	[STORE_LIST_REQUEST] = DESC("list_request", store_list_request, list_request_cols),
	[STORE_PDND_PURPOSE] = DESC("pdnd_purpose", store_pdnd_purpose, pdnd_purpose_cols),
	[STORE_PDND_KEY] = DESC("pdnd_key", store_pdnd_key, pdnd_key_cols),
};

const struct rec_col *rec_col_find(const struct rec_desc *d, const char *name)
{
	for (size_t i = 0; i < d->ncols; i++)
		if (!strcmp(d->cols[i].name, name))
			return &d->cols[i];
	return NULL;
}

bool rec_family_same(const struct store_family *a, const struct store_family *b)
{
	return a->kind == b->kind && a->civic == b->civic && !strcmp(a->dug, b->dug) &&
	       !strcmp(a->street, b->street) && !strcmp(a->civic_ext, b->civic_ext) &&
	       !strcmp(a->scala, b->scala) && !strcmp(a->interno, b->interno) &&
	       !strcmp(a->cap, b->cap) && !strcmp(a->locality, b->locality) &&
	       !strcmp(a->convivenza, b->convivenza);
}

bool rec_person_same(const struct store_person *a, const struct store_person *b)
{
	return a->sex == b->sex && a->birth_date == b->birth_date &&
	       a->civil_status == b->civil_status &&
	       a->civil_status_date == b->civil_status_date &&
	       a->reg_reason == b->reg_reason && a->reg_date == b->reg_date &&
	       a->canc_reason == b->canc_reason && a->canc_date == b->canc_date &&
	       a->relationship == b->relationship && !strcmp(a->cf, b->cf) &&
	       !strcmp(a->surname, b->surname) && !strcmp(a->name, b->name) &&
	       !strcmp(a->birth_place, b->birth_place) &&
	       !strcmp(a->citizenships, b->citizenships) &&
	       !strcmp(a->father_cf, b->father_cf) && !strcmp(a->mother_cf, b->mother_cf) &&
	       !strcmp(a->destination, b->destination) &&
	       !strcmp(a->family_id, b->family_id);
}

int rec_as_of(int date)
{
	return date ? date : FAR_FUTURE;
}

/* Is `v` one of the comma-separated items of `list`? */
bool rec_in_list(const char *list, const char *v)
{
	size_t n = strlen(v);
	for (const char *p = list; (p = strstr(p, v)); p += n)
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

/* Appends s; a text that does not fit sets *len to cap, which every
 * later append keeps and the statement's builder reports. */
static void sql_append(char *buf, size_t cap, size_t *len, const char *s)
{
	size_t n = strlen(s);
	if (*len < cap && n < cap - *len) {
		memcpy(buf + *len, s, n + 1);
		*len += n;
	} else {
		*len = cap;
	}
}

/* "a, b, c" of every column, from `first`. */
static void sql_columns(const struct rec_desc *d, size_t first, const char *suffix,
			char *buf, size_t cap, size_t *len)
{
	for (size_t i = first; i < d->ncols; i++) {
		if (i > first)
			sql_append(buf, cap, len, ", ");
		sql_append(buf, cap, len, d->cols[i].name);
		sql_append(buf, cap, len, suffix);
	}
}

static size_t rec_select(const struct rec_desc *d, char *sql, size_t cap)
{
	size_t len = 0;
	sql[0] = '\0';
	sql_append(sql, cap, &len, "SELECT ");
	sql_columns(d, 0, "", sql, cap, &len);
	sql_append(sql, cap, &len, " FROM ");
	sql_append(sql, cap, &len, d->table);
	return len;
}

/* " ?1, ?2, ..." numbered placeholders for the columns from `first`. */
static void sql_params(const struct rec_desc *d, size_t first, char *buf, size_t cap,
		       size_t *len)
{
	char p[32];
	for (size_t i = first; i < d->ncols; i++) {
		STR_FMT_KNOWN(p, "%s?%zu", i > first ? ", " : "", i - first + 1); /* numbers */
		sql_append(buf, cap, len, p);
	}
}

bool rec_sql_insert(const struct rec_desc *d, char *sql, size_t cap)
{
	size_t len = 0;
	sql[0] = '\0';
	sql_append(sql, cap, &len, "INSERT INTO ");
	sql_append(sql, cap, &len, d->table);
	sql_append(sql, cap, &len, " (");
	sql_columns(d, 1, "", sql, cap, &len);
	sql_append(sql, cap, &len, ") VALUES (");
	sql_params(d, 1, sql, cap, &len);
	sql_append(sql, cap, &len, ") RETURNING id");
	return len < cap;
}

bool rec_sql_update(const struct rec_desc *d, char *sql, size_t cap)
{
	size_t len = 0;
	char p[160];
	sql[0] = '\0';
	sql_append(sql, cap, &len, "UPDATE ");
	sql_append(sql, cap, &len, d->table);
	sql_append(sql, cap, &len, " SET ");
	for (size_t i = 1; i < d->ncols; i++) {
		/* a column's name, a constant of the schema */
		STR_FMT_KNOWN(p, "%s%s = COALESCE(?%zu, %s)", i > 1 ? ", " : "", d->cols[i].name, i,
			      d->cols[i].name);
		sql_append(sql, cap, &len, p);
	}
	snprintf(p, sizeof p, " WHERE id = ?%zu", d->ncols);
	sql_append(sql, cap, &len, p);
	for (size_t i = 1; i < d->ncols; i++) {
		/* a column's name, a constant of the schema */
		STR_FMT_KNOWN(p, " AND %s = COALESCE(?%zu, %s)", d->cols[i].name, d->ncols + i,
			      d->cols[i].name);
		sql_append(sql, cap, &len, p);
	}
	return len < cap;
}

bool rec_sql_get(const struct rec_desc *d, const struct rec_col *col, bool with_gen, char *sql,
		 size_t cap)
{
	size_t len = 0;
	sql[0] = '\0';
	sql_append(sql, cap, &len, "SELECT ");
	sql_columns(d, 0, "", sql, cap, &len);
	if (with_gen)
		sql_append(sql, cap, &len, ", (" SQL_CONTROL_GEN ")");
	sql_append(sql, cap, &len, " FROM ");
	sql_append(sql, cap, &len, d->table);
	sql_append(sql, cap, &len, " WHERE ");
	sql_append(sql, cap, &len, col->name);
	sql_append(sql, cap, &len, " = ?1 LIMIT 1");
	return len < cap;
}

int rec_sql_list(const struct rec_desc *d, const struct store_filter *filters, bool below,
		 int limit, char *sql, size_t cap, struct vis_error *e)
{
	char part[96];
	size_t len = rec_select(d, sql, cap);
	int nf = 0;
	for (; filters && nf < 3 && filters[nf].col; nf++) {
		if (!rec_col_find(d, filters[nf].col)) {
			vis_error_set(e, VIS_ERR_INTERNAL, "%s non ha la colonna %s", d->table,
				      filters[nf].col);
			return -1;
		}
		STR_FMT_KNOWN(part, "%s%s = ?%d", nf ? " AND " : " WHERE ", filters[nf].col,
			      nf + 1); /* a column's name, a constant of the schema */
		sql_append(sql, cap, &len, part);
	}
	if (below) {
		STR_FMT_KNOWN(part, "%sid < ?%d", nf ? " AND " : " WHERE ", nf + 1); /* numbers */
		sql_append(sql, cap, &len, part);
	}
	sql_append(sql, cap, &len, " ORDER BY id DESC");
	if (limit > 0) {
		snprintf(part, sizeof part, " LIMIT %d", limit);
		sql_append(sql, cap, &len, part);
	}
	if (len >= cap) {
		vis_error_set(e, VIS_ERR_INTERNAL, "istruzione su %s troppo lunga", d->table);
		return -1;
	}
	return nf;
}
