/* api — the JSON API under /api/v1 (contract: docs/api.md): the route
 * table, the gate every request passes (authentication, account standing,
 * body status, working hours, CSRF, role), and the handlers.
 *
 * Owns: the mapping from HTTP to the auth and store modules.  Handlers
 * decide nothing about credentials themselves: they ask auth. */
#ifndef VISURA_API_API_H
#define VISURA_API_API_H

#include <stdbool.h>

#include "http/http.h"

extern const struct http_route api_routes[];
/* The operations listener: /metrics, /healthz, /readyz. */
extern const struct http_route api_ops_routes[];
bool api_ops_gate(struct http_request *r, const struct http_route *route);

/* Periodic duty: raises a feed_overdue alert (once a day) for every
 * municipality whose last daily file is older than feed_deadline_hours. */
struct app;
struct store;
void api_feeds_watch(struct app *a, struct store *s, int64_t now);

/* The http_gate of the service. */
bool api_gate(struct http_request *r, const struct http_route *route);

#endif
