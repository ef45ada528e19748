/* watch — citizens told by e-mail when their record is consulted (as
 * Estonia's Data Tracker does), on their request only.
 *
 * Owns: the rules of a subscription and the periodic notice.  A citizen in
 * their SPID/CIE session gives an address; nothing about consultations is
 * sent to it before it is confirmed: a confirmation message with a
 * single-use link (a random token, stored only as its hash, valid
 * WATCH_CONFIRM_HOURS) goes through the outbox, and the address is used
 * only once the link is opened and confirmed.  Changing the address asks
 * for the same confirmation of the new one (the old keeps working until
 * then).  The duty (watch_due, on the instance holding the duties) checks
 * each subscription once every citizen_notice_minutes: it counts the
 * consultations recorded after the last one notified and queues at most
 * one message per citizen per check: the number only and the link to the page
 * (SPID/CIE needed there), never who, why or what.  Consultations under
 * embargo (police and judicial: watch_embargoed, the rule of the
 * citizen's report) are neither counted nor notified before the embargo
 * ends.  The cursors move in the same transaction as the message is
 * queued, guarded by their old values: exactly once across restarts and
 * instances.  Every message carries a signed unsubscribe link (no login);
 * unsubscribing deletes the address, and with it the citizen's messages
 * still waiting in the outbox; once a message is sent the outbox keeps no
 * address of it (mail/mail.c).  Confirmation and unsubscribe tokens travel
 * sealed in the outbox (auth/sealed.h): an administrator reading it
 * cannot use them. */
#ifndef VISURA_WATCH_WATCH_H
#define VISURA_WATCH_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/email.h"
#include "common/err.h"
#include "store/store.h"

struct sealed_key;

#define WATCH_CONFIRM_HOURS 24
/* A new confirmation message for the same citizen at most this often. */
#define WATCH_ASK_GAP_SECONDS 300
/* The longest address taken (common/email.h). */
#define WATCH_ADDRESS_MAX EMAIL_MAX
/* Outbox kinds of the two messages. */
#define WATCH_KIND_CONFIRM "citizen_confirm"
#define WATCH_KIND_NOTICE "citizen_notice"

/* Whether this deployment offers the notices: a relay (smtp_url) and the
 * public address the links point at (public_url). */
bool watch_offered(const struct config *cfg);

/* Whether a consultation by a body of kind `ente_kind` at at_ms is still
 * hidden from the citizen at `now` (police and court, embargo_days). */
bool watch_embargoed(const char *ente_kind, int64_t at_ms, int embargo_days, int64_t now);

/* The citizen cf asks notices at `address`: its confirmation message is
 * queued.  VIS_ERR_INVALID for an address email_valid refuses,
 * VIS_ERR_CONFLICT when it is already the confirmed one, VIS_ERR_LIMIT
 * when a confirmation was asked less than WATCH_ASK_GAP_SECONDS ago.
 * *expires_at: when its link stops working. */
vis_err watch_ask(struct store *s, const struct config *cfg, const struct sealed_key *k,
		  const char *cf, const char *address, int64_t now, int64_t *expires_at,
		  struct vis_error *e);
/* A confirmation token: *ok true when it was live (now used). */
vis_err watch_confirm(struct store *s, const char *token, int64_t now, bool *ok,
		      struct vis_error *e);
/* An unsubscribe token of a message: *ok true when it names a live
 * subscription, now deleted. */
vis_err watch_unsubscribe(struct store *s, const struct sealed_key *k, const char *token,
			  bool *ok, struct vis_error *e);
/* The periodic duty: forgets unconfirmed addresses whose link expired,
 * and queues the notices due.  Returns how many were queued, or -1. */
int watch_due(struct store *s, const struct config *cfg, const struct sealed_key *k,
	      int64_t now, struct vis_error *e);

#endif
