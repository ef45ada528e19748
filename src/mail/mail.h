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

/* What the outbox shows in place of a sealed password (auth/sealed.h). */
#define MAIL_SEALED_SHOWN "[riservata: inviata solo per posta elettronica]"
/* What replaces a message of credentials once it is sent. */
#define MAIL_SEALED_SENT "[consegnato; la password temporanea è stata tolta dalla posta in uscita]"
/* What replaces it once the message can no longer be sent. */
#define MAIL_SEALED_DROPPED "[non consegnata: emettere una nuova password temporanea]"

/* What a citizen's message (address and text) becomes once sent or
 * failed for good. */
#define MAIL_CITIZEN_SHOWN "[cittadino: rimosso dopo l'invio]"

struct sealed_key;

/* A message as the relay gets it (RFC 5322): its header, and its body
 * with every line end CRLF and a line's leading '.' doubled (SMTP
 * dot-stuffing), into out; its length, or 0 when it does not fit cap.
 * MAIL_MESSAGE_MAX bytes always take one, the longest stored body with
 * every byte a line end included: nothing is cut. */
#define MAIL_MESSAGE_MAX (1280 + 2 * 4096)
size_t mail_compose(const struct config *cfg, const struct store_mail *m, int64_t now,
		    char *out, size_t cap);

/* Sends the pending messages whose time has come, the longest waiting
 * first (at most `max`, and at most 32 a call); a
 * sealed password in a body is opened with k only to be sent, and dropped
 * from the stored message once it is sent or has failed for good.  Returns
 * how many were sent, or -1 on a store error. */
int mail_deliver(struct store *s, const struct config *cfg, const struct sealed_key *k,
		 int64_t now, int max, struct vis_error *e);

#endif
