/* mail — delivery of the outbox through an SMTP relay (libcurl).
 *
 * Owns: picking the messages that are due, sending them, and the retry
 * schedule (exponential back-off, then "failed").  Without a relay
 * configured the outbox is only stored, readable by admins. */
#ifndef VISURA_MAIL_MAIL_H
#define VISURA_MAIL_MAIL_H

#include <stdint.h>

#include "common/config.h"
#include "common/err.h"
#include "store/store.h"

#define MAIL_MAX_ATTEMPTS 8

/* Sends the pending messages whose time has come (at most `max`).  Returns
 * how many were sent, or -1 on a store error. */
int mail_deliver(struct store *s, const struct config *cfg, int64_t now, int max,
		 struct vis_error *e);

#endif
