/* notify — push of event notifications to the institutions that asked for
 * it: each agreement with a webhook_url and subscribed event types gets the
 * new events of its municipalities POSTed in order, signed with the
 * service's Ed25519 key (X-Visura-Signature over the exact body), with
 * retries and exponential back-off; each delivery is an access record.
 * The pull feed (GET /api/v1/events) serves the same events. */
#ifndef VISURA_NOTIFY_NOTIFY_H
#define VISURA_NOTIFY_NOTIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "audit/subjects.h"
#include "common/err.h"
#include "store/store.h"

/* One event as both deliveries show it (pull feed and push), with the
 * fields the profile (`categories`) may see (policy_may_see): cursor,
 * municipality, type, date, place; the person's codice fiscale only with
 * identity, then also added to `subjects`.  NULL when the person does not
 * fit in the subjects or memory failed (the reason in e). */
json_t *notify_event_json(int64_t rowid, const struct store_event *ev, const char *cf,
			  unsigned categories, struct subjects *subjects, struct vis_error *e);

/* Delivers what is due; returns the number of events delivered. */
int notify_push(struct store *s, const struct audit_key *key, int64_t now, struct vis_error *e);

#endif
