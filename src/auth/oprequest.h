/* oprequest — a lead's request for a new operator of their body, and its
 * decision by the registry office, without HTTP; and the mail that carries
 * the credentials of a new account to its holder.
 *
 * Owns: the request's states —
 *
 *     pending ──approve──▶ approved (the account created, its temporary
 *        │                 password mailed, all in one transaction)
 *        └─────reject────▶ rejected (with a note)
 *
 * a decided request is never decided again (VIS_ERR_CONFLICT); the admins'
 * notice of a new request; the credentials mail (the password sealed in
 * the outbox, opened only to send it).  Served by /api/v1/ente/requests
 * and /api/v1/requests. */
#ifndef VISURA_AUTH_OPREQUEST_H
#define VISURA_AUTH_OPREQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"
#include "store/store.h"

struct sealed_key;

/* Queues the mail that carries `password` to the holder of account a. */
vis_err oprequest_credentials_mail(struct store *s, const struct config *cfg,
				   const struct sealed_key *secrets, const struct store_account *a,
				   const char *password, int64_t now, struct vis_error *e);

/* Files request q (its personal fields and username filled and checked by
 * the caller) from lead `by` for their body, "pending", and tells every
 * active admin by mail.  VIS_ERR_INVALID when it names no appointment. */
vis_err oprequest_create(struct store *s, const struct store_account *by,
			 struct store_operator_request *q, int64_t now, struct vis_error *e);

/* Request `id`, still pending: VIS_ERR_NOTFOUND "no such request",
 * VIS_ERR_CONFLICT "the request was already decided". */
vis_err oprequest_pending(struct store *s, int64_t id, struct store_operator_request *q,
			  struct vis_error *e);

/* Approves pending request q by account `by_id`: the operator's account
 * (into *a) and its credentials mail, and q approved, in one transaction.
 * VIS_ERR_CONFLICT when q is not pending or its username is taken
 * (*username_taken says which).  password (NULL: not wanted) receives the
 * temporary password, for an office without SMTP relay to hand over in
 * person; the caller wipes it. */
vis_err oprequest_approve(struct store *s, const struct config *cfg,
			  const struct sealed_key *secrets, struct store_operator_request *q,
			  int64_t by_id, int64_t now, struct store_account *a, bool *username_taken,
			  char *password, size_t password_cap, struct vis_error *e);

/* Rejects pending request q with `note`; VIS_ERR_CONFLICT when q is not
 * pending, VIS_ERR_LIMIT when the note does not fit. */
vis_err oprequest_reject(struct store *s, struct store_operator_request *q, const char *note,
			 int64_t by_id, int64_t now, struct vis_error *e);

#endif
