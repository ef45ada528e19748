#include "auth/oprequest.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/sealed.h"
#include "common/str.h"

vis_err oprequest_credentials_mail(struct store *s, const struct config *cfg,
				   const struct sealed_key *secrets, const struct store_account *a,
				   const char *password, int64_t now, struct vis_error *e)
{
	/* The outbox keeps the password sealed: it is opened only to send the
	 * message (mail/mail.c) and never shown to admins. */
	char body[2048], sealed[512];
	if (sealed_seal(secrets, password, sealed, sizeof sealed, e))
		return VIS_ERR_INTERNAL;
	/* full_name[201], username[65], sealed[512], public_url[256] + 350 < 2048 */
	STR_FMT_KNOWN(
		body,
		"Gentile %s,\n\nper l'accesso a visura sono state emesse le credenziali:\n"
		"  utente: %s\n  password temporanea: " SEALED_MARK "%s}\n\n"
		"La password vale solo per il primo accesso ed entro %d giorni; al primo accesso "
		"va sostituita con una personale.\n%s%s\n",
		a->full_name, a->username, sealed, cfg->temp_password_days,
		cfg->public_url[0] ? "Indirizzo del servizio: " : "", cfg->public_url);
	vis_err rc = auth_mail_queue(s, a->email, "visura: credenziali di accesso", body,
				     "credentials", now, e);
	sodium_memzero(body, sizeof body);
	return rc;
}

vis_err oprequest_create(struct store *s, const struct store_account *by,
			 struct store_operator_request *q, int64_t now, struct vis_error *e)
{
	if (!q->appointment_ref[0])
		return vis_error_set(e, VIS_ERR_INVALID, "il campo \"appointment_ref\" (l'atto di "
				     "nomina dell'operatore) è obbligatorio");
	STR_COPY_KNOWN(q->state, "pending"); /* a constant */
	q->ente_id = by->ente_id;
	q->requested_by = by->id;
	q->created_at = now;
	q->decided_by = q->decided_at = q->account_id = 0;
	vis_err rc = store_operator_request_insert(s, q, &q->id, e);
	if (rc)
		return rc;
	char body[512];
	/* username[65], full_name[201], username[65] + 60 */
	STR_FMT_KNOWN(body, "Il responsabile %s chiede un nuovo incaricato: %s (%s).\n",
		      by->username, q->full_name, q->username);
	struct store_filter f[] = {{"role", "admin", 0}, {NULL, NULL, 0}};
	auth_mail_accounts(s, f, "visura: richiesta di nuovo incaricato", body, "notice", now,
			   "richiesta di nuovo incaricato", NULL);
	return VIS_OK;
}

vis_err oprequest_pending(struct store *s, int64_t id, struct store_operator_request *q,
			  struct vis_error *e)
{
	bool found;
	if (store_operator_request_get(s, id, q, &found, e))
		return VIS_ERR_STORE;
	if (!found)
		return vis_error_set(e, VIS_ERR_NOTFOUND, "richiesta inesistente");
	if (strcmp(q->state, "pending"))
		return vis_error_set(e, VIS_ERR_CONFLICT, "la richiesta è già stata decisa");
	return VIS_OK;
}

vis_err oprequest_approve(struct store *s, const struct config *cfg,
			  const struct sealed_key *secrets, struct store_operator_request *q,
			  int64_t by_id, int64_t now, struct store_account *a, bool *username_taken,
			  char *password_out, size_t password_cap, struct vis_error *e)
{
	*username_taken = false;
	if (strcmp(q->state, "pending"))
		return vis_error_set(e, VIS_ERR_CONFLICT, "la richiesta è già stata decisa");
	*a = (struct store_account){.ente_id = q->ente_id};
	/* an operator request's fields have the sizes of an account's */
	STR_COPY_KNOWN(a->username, q->username);
	STR_COPY_KNOWN(a->role, "operator");
	STR_COPY_KNOWN(a->full_name, q->full_name);
	STR_COPY_KNOWN(a->cf, q->cf);
	STR_COPY_KNOWN(a->email, q->email);
	STR_COPY_KNOWN(a->appointment_ref, q->appointment_ref);
	struct store_operator_request done = *q;
	char password[64];
	vis_err rc = store_begin(s, e);
	if (rc == VIS_OK) {
		rc = auth_account_create(s, cfg, a, now, password, sizeof password, e);
		*username_taken = rc == VIS_ERR_CONFLICT;
	}
	if (rc == VIS_OK)
		rc = oprequest_credentials_mail(s, cfg, secrets, a, password, now, e);
	if (rc == VIS_OK) {
		STR_COPY_KNOWN(done.state, "approved"); /* a constant */
		done.decided_by = by_id;
		done.decided_at = now;
		done.account_id = a->id;
		rc = store_operator_request_update(s, q, &done, e);
	}
	if (rc == VIS_OK && password_out && !str_copy(password_out, password_cap, password))
		rc = vis_error_set(e, VIS_ERR_INTERNAL, "la password temporanea non ci sta");
	if (rc == VIS_OK)
		rc = store_commit(s, e);
	if (rc != VIS_OK && password_out && password_cap > 0)
		sodium_memzero(password_out, password_cap);
	sodium_memzero(password, sizeof password);
	if (rc != VIS_OK) {
		store_rollback(s);
		return rc;
	}
	*q = done;
	return VIS_OK;
}

vis_err oprequest_reject(struct store *s, struct store_operator_request *q, const char *note,
			 int64_t by_id, int64_t now, struct vis_error *e)
{
	if (strcmp(q->state, "pending"))
		return vis_error_set(e, VIS_ERR_CONFLICT, "la richiesta è già stata decisa");
	struct store_operator_request done = *q;
	if (STR_SET(done.note, note, "note", e))
		return VIS_ERR_LIMIT;
	STR_COPY_KNOWN(done.state, "rejected"); /* a constant */
	done.decided_by = by_id;
	done.decided_at = now;
	vis_err rc = store_operator_request_update(s, q, &done, e);
	if (!rc)
		*q = done;
	return rc;
}
