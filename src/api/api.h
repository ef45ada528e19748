/* api — the JSON API under /api/v1 (contract: docs/api.md): the route
 * table, the gate every request passes (authentication, account standing,
 * body status, working hours, CSRF, role), and the handlers.
 *
 * Owns: the mapping from HTTP to the auth and store modules.  Handlers
 * decide nothing about credentials themselves: they ask auth. */
#ifndef VISURA_API_API_H
#define VISURA_API_API_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "http/http.h"
#include "pdnd/pdnd.h"
#include "store/store.h"

/* Who is calling, once the gate has looked at the request (r->auth: the
 * http layer keeps it opaque, sized by http_config.auth_size). */
struct http_auth {
	bool authenticated;
	bool via_token;               /* bearer token (API client) */
	bool must_change_password;    /* only the password change is allowed */
	bool totp_enrolment_required; /* only TOTP setup is allowed */
	struct store_account account;
	struct store_session session; /* when !via_token */
	int64_t token_id;             /* when via_token */
	/* A PDND voucher (via_token is true too): its claims, and the visura
	 * purpose its purposeId is mapped to, which the request's is. */
	bool via_voucher;
	int64_t voucher_purpose;
	struct pdnd_voucher voucher;
	struct pdnd_evidence evidence; /* who asked: the end user, signed */
};

/* A listener of the service: the http_config built from the app's
 * configuration (limits, paths, proxies, the request hook: metrics and the
 * request log), with the paths it points at. */
struct api_listener {
	struct http_config http;
	char upload_dir[CONFIG_PATH_MAX];
	char client_ca[CONFIG_PATH_MAX + 32];
};
struct app;
/* VIS_ERR_LIMIT when a path beside the database does not fit. */
vis_err api_listener_init(struct api_listener *l, struct app *a, const char *listen, bool tls,
			  struct vis_error *e);

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
/* Once the body is in (http_config.on_body): a citizen's change carries
 * their session's CSRF token (ROUTE_CITIZEN); a PDND call's integrity
 * (INTEGRITY_REST_02) when pdnd_signing_key is set; false when answered. */
bool api_body_gate(struct http_request *r);
/* As an answer leaves (http_config.on_send): the answer to a PDND call
 * signed (Digest, Agid-JWT-Signature) when pdnd_signing_key is set. */
void api_answer_sign(struct http_request *r);

#endif
