/* incident — security incidents and the suspension of a body, without
 * HTTP: a body's lead reports one (what, when, which accounts), the admins
 * are alerted at once (alert "incident", severity high) and follow it
 * through its states with a history of who moved it, when and why.
 *
 * Owns: the incident's states and the rule that moves between them, its
 * history (one step per report or change), and the suspension of a body
 * (the body suspended and every session and token of its accounts revoked,
 * in one transaction).  Served by /api/v1/incidents and
 * /api/v1/enti/:id/suspend. */
#ifndef VISURA_INCIDENT_INCIDENT_H
#define VISURA_INCIDENT_INCIDENT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "store/store.h"

/* The states: "open" on report; the office moves an incident to any of
 * the three at any time — "handled", "closed", or back to "open" when it
 * turns out not to be over — each move a step of the history with its
 * note.  Anything else is refused. */
bool incident_state_valid(const char *state);

/* A state as people read it ("aperto", "in gestione", "chiuso"); another
 * string is returned as is. */
const char *incident_state_label(const char *state);

/* Records an incident reported by `by` (a lead, for their own body) as
 * "open", with its first step ("reported"), and raises the alert.  On
 * success *out is the stored incident.  VIS_ERR_LIMIT when a text does not
 * fit its field (named in e). */
vis_err incident_report(struct store *s, const struct store_account *by, const char *what,
			const char *occurred_at, const char *accounts, int64_t now,
			struct store_incident *out, struct vis_error *e);

/* Moves incident `id` to `state` with `note`, by account `by_id`.
 * VIS_ERR_INVALID: not a state; VIS_ERR_NOTFOUND: no such incident;
 * VIS_ERR_LIMIT: the note does not fit.  On success *out is the incident
 * as stored. */
vis_err incident_state_set(struct store *s, int64_t id, const char *state, const char *note,
			   int64_t by_id, int64_t now, struct store_incident *out,
			   struct vis_error *e);

/* Suspends body `ente_id` and revokes every session and token of its
 * accounts, all or nothing.  VIS_ERR_NOTFOUND: no such body.  *out is the
 * body as stored, *cut_off how many accounts it has. */
vis_err incident_ente_suspend(struct store *s, int64_t ente_id, int64_t now,
			      struct store_ente *out, int *cut_off, struct vis_error *e);

#endif
