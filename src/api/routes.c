/* The route table: every endpoint of the API, with who may call it and the
 * largest body it takes (bytes; 0: max_body_kb, or max_import_mb for a
 * ROUTE_FILE_BODY route).  The contract of each is in docs/api.md. */
#include "api/api.h"
#include "api/internal.h"

#define ADMIN ROUTE_ADMIN
#define LEAD ROUTE_LEAD
#define DATA (ROUTE_OPERATOR | ROUTE_API)
#define RECORDED (DATA | ROUTE_OWN_ARGS)
#define SELF (ROUTE_ANY_ROLE | ROUTE_PASSWORD_CHANGE | ROUTE_TOTP_SETUP)
/* the citizen's SPID/CIE session (a cookie): the gate asks its CSRF token */
#define CITIZEN (ROUTE_PUBLIC | ROUTE_CITIZEN)

const struct http_route api_routes[] = {
	{"GET", "/", api_ui_index, ROUTE_PUBLIC, 0, "*"},
	{"GET", "/ui/*", api_ui_asset, ROUTE_PUBLIC, 0, "*"},
	{"GET", "/healthz", api_healthz, ROUTE_PUBLIC, 0, NULL},
	{"GET", "/readyz", api_readyz, ROUTE_PUBLIC, 0, NULL},
	{"GET", "/api/v1/openapi.json", api_openapi, ROUTE_PUBLIC, 0, NULL},
	{"GET", "/.well-known/jwks.json", api_pdnd_jwks, ROUTE_PUBLIC, 0, NULL},
	{"GET", "/.well-known/openid-federation", api_oidc_federation, ROUTE_PUBLIC, 0, NULL},
	/* and at oidc_client_id's path, up to three segments deep (config.c) */
	{"GET", "/:p1/.well-known/openid-federation", api_oidc_federation, ROUTE_PUBLIC, 0, NULL},
	{"GET", "/:p1/:p2/.well-known/openid-federation", api_oidc_federation, ROUTE_PUBLIC, 0, NULL},
	{"GET", "/:p1/:p2/:p3/.well-known/openid-federation", api_oidc_federation, ROUTE_PUBLIC, 0, NULL},
	{"GET", "/api/v1/help", api_help, ROUTE_PUBLIC, 0, NULL},
	{"POST", "/api/v1/auth/login", api_login, ROUTE_PUBLIC, 0, NULL},
	{"GET", "/api/v1/auth/spid/start", api_spid_start, ROUTE_PUBLIC, 0, "username for via level"},
	/* an OAuth 2.0 authorization response: a parameter it does not name is
	 * ignored, as RFC 6749 §4.1.2 requires (a provider's session_state) */
	{"GET", "/api/v1/auth/spid/callback", api_spid_callback, ROUTE_PUBLIC, 0, "code state iss error error_description error_uri *"},
	{"GET", "/api/v1/auth/spid/jwks", api_spid_jwks, ROUTE_PUBLIC, 0, NULL},
	{"PUT", "/api/v1/accounts/:id/spid-required", api_spid_required_account, ADMIN, 0, NULL},
	{"PUT", "/api/v1/enti/:id/spid-required", api_spid_required_ente, ADMIN, 0, NULL},
	{"POST", "/api/v1/auth/logout", api_logout, SELF, 0, NULL},
	{"GET", "/api/v1/auth/me", api_me, SELF, 0, NULL},
	{"GET", "/api/v1/auth/sessions", api_sessions_list, SELF, 0, NULL},
	{"DELETE", "/api/v1/auth/sessions/:id", api_session_end, SELF, 0, NULL},
	{"POST", "/api/v1/auth/password", api_password_change, SELF, 0, NULL},
	{"POST", "/api/v1/auth/totp/setup", api_totp_setup, ROUTE_ANY_ROLE | ROUTE_TOTP_SETUP, 0, NULL},
	{"POST", "/api/v1/auth/totp/confirm", api_totp_confirm, ROUTE_ANY_ROLE | ROUTE_TOTP_SETUP, 0, NULL},

	{"GET", "/api/v1/accounts", api_accounts_list, ADMIN, 0, "role state ente_id limit cursor"},
	{"POST", "/api/v1/accounts", api_accounts_create, ADMIN, 0, NULL},
	{"GET", "/api/v1/accounts/:id", api_account_get, ADMIN | LEAD, 0, NULL},
	{"POST", "/api/v1/accounts/:id/disable", api_account_disable, ADMIN, 0, NULL},
	{"POST", "/api/v1/accounts/:id/enable", api_account_enable, ADMIN, 0, NULL},
	{"POST", "/api/v1/accounts/:id/reset", api_account_reset, ADMIN, 0, NULL},
	{"POST", "/api/v1/accounts/:id/renew", api_account_renew, ADMIN, 0, NULL},
	{"POST", "/api/v1/accounts/:id/totp/reset", api_account_totp_reset, ADMIN, 0, NULL},
	{"GET", "/api/v1/accounts/:id/tokens", api_tokens_list, ADMIN | LEAD, 0, "limit cursor"},
	{"POST", "/api/v1/accounts/:id/tokens", api_token_create, ADMIN | LEAD, 0, NULL},
	{"DELETE", "/api/v1/tokens/:id", api_token_revoke, ADMIN | LEAD, 0, NULL},

	{"GET", "/api/v1/enti", api_enti_list, ADMIN, 0, NULL},
	{"POST", "/api/v1/enti", api_enti_create, ADMIN, 0, NULL},
	{"GET", "/api/v1/enti/:id", api_ente_get, ADMIN | LEAD, 0, NULL},
	{"PATCH", "/api/v1/enti/:id", api_ente_update, ADMIN, 0, NULL},
	{"POST", "/api/v1/enti/:id/suspend", api_ente_suspend, ADMIN, 0, NULL},

	{"POST", "/api/v1/incidents", api_incident_report, LEAD, 0, NULL},
	{"GET", "/api/v1/incidents", api_incidents_list, ADMIN | LEAD, 0, "state limit cursor"},
	{"POST", "/api/v1/incidents/:id/state", api_incident_state, ADMIN, 0, NULL},

	{"GET", "/api/v1/ente/operators", api_own_operators, LEAD, 0, NULL},
	{"POST", "/api/v1/ente/operators/:id/disable", api_own_operator_disable, LEAD, 0, NULL},
	{"GET", "/api/v1/ente/operator-requests", api_own_requests, LEAD, 0, "limit cursor"},
	{"POST", "/api/v1/ente/operator-requests", api_own_request_create, LEAD, 0, NULL},
	{"POST", "/api/v1/ente/renewal", api_own_renewal, LEAD, 0, NULL},

	{"GET", "/api/v1/operator-requests", api_requests_list, ADMIN, 0, "state limit cursor"},
	{"POST", "/api/v1/operator-requests/:id/approve", api_request_approve, ADMIN, 0, NULL},
	{"POST", "/api/v1/operator-requests/:id/reject", api_request_reject, ADMIN, 0, NULL},

	{"GET", "/api/v1/convenzioni", api_convenzioni_list, ADMIN | LEAD, 0, "ente_id limit cursor"},
	{"POST", "/api/v1/convenzioni", api_convenzioni_create, ADMIN, 0, NULL},
	{"GET", "/api/v1/convenzioni/:id", api_convenzione_get, ADMIN | LEAD, 0, NULL},
	{"PATCH", "/api/v1/convenzioni/:id", api_convenzione_update, ADMIN, 0, NULL},
	{"POST", "/api/v1/convenzioni/:id/purposes", api_purpose_create, ADMIN, 0, NULL},
	{"GET", "/api/v1/purposes", api_own_purposes, LEAD | DATA, 0, NULL},
	{"GET", "/api/v1/names/enti", api_names_enti, ADMIN | ROUTE_AUDITOR, 0, NULL},
	{"GET", "/api/v1/names/accounts", api_names_accounts, ADMIN | ROUTE_AUDITOR, 0, NULL},
	{"GET", "/api/v1/names/purposes", api_names_purposes, ADMIN | ROUTE_AUDITOR, 0, NULL},
	{"GET", "/api/v1/places", api_places, ADMIN | ROUTE_OPERATOR, 0, "q kind"},

	{"GET", "/api/v1/persons", api_persons_search, RECORDED, 0, "purpose case_ref break_glass justification cf surname name birth_date birth_year comune street"},
	{"GET", "/api/v1/persons/:cf", api_person_get, RECORDED, 0, "purpose case_ref break_glass justification as_of"},
	{"GET", "/api/v1/persons/:cf/household", api_person_household, RECORDED, 0, "purpose case_ref break_glass justification as_of limit cursor"},
	{"GET", "/api/v1/persons/:cf/history", api_person_history, RECORDED, 0, "purpose case_ref break_glass justification as_of"},
	{"POST", "/api/v1/verify", api_verify, RECORDED, 0, NULL},
	{"POST", "/api/v1/anpr/ricerca", api_anpr_lookup, RECORDED, 0, "purpose"},
	{"POST", "/api/v1/anpr/verifica", api_anpr_verify, RECORDED, 0, "purpose"},
	{"GET", "/api/v1/persons/:cf/print", api_person_print, RECORDED, 0, "purpose case_ref break_glass justification as_of"},
	{"GET", "/static/print.css", api_print_css, ROUTE_PUBLIC, 0, NULL},
	{"GET", "/static/stemma", api_print_crest, ROUTE_PUBLIC, 0, NULL},
	{"GET", "/verifica", api_verifica_page, ROUTE_PUBLIC, 0, "ricevuta= impronta="},
	{"POST", "/api/v1/receipts/verify", api_receipt_verify, ROUTE_PUBLIC, 0, NULL},
	{"GET", "/api/v1/events", api_events_feed, RECORDED, 0, "purpose case_ref break_glass justification after limit"},
	{"GET", "/api/v1/notices", api_notices_list, ROUTE_PUBLIC, 0, NULL},
	{"POST", "/api/v1/notices", api_notices_create, ADMIN, 0, NULL},
	{"PATCH", "/api/v1/notices/:id", api_notice_update, ADMIN, 0, NULL},
	{"DELETE", "/api/v1/notices/:id", api_notice_withdraw, ADMIN, 0, NULL},
	{"GET", "/api/v1/review", api_review_report, ADMIN | ROUTE_AUDITOR, 0, "convenzione_id"},
	{"POST", "/api/v1/list-requests", api_list_request_create, LEAD | ROUTE_OPERATOR, 0, NULL},
	{"GET", "/api/v1/list-requests", api_list_requests, ADMIN | LEAD | ROUTE_OPERATOR, 0, "state limit cursor"},
	{"POST", "/api/v1/list-requests/:id/decide", api_list_request_decide, ADMIN, 0, NULL},
	{"POST", "/api/v1/review/:id", api_review_decide, ADMIN, 0, NULL},

	{"GET", "/api/v1/audit/access", api_audit_access, ADMIN | ROUTE_AUDITOR, 0, "cf account_id ente_id purpose_id from to limit cursor format"},
	{"GET", "/api/v1/audit/subject/:cf", api_audit_subject, ADMIN | ROUTE_AUDITOR, 0, NULL},
	{"GET", "/api/v1/audit/verify", api_audit_verify, ADMIN | ROUTE_AUDITOR, 0, NULL},
	{"GET", "/api/v1/audit/consistency", api_audit_consistency, ADMIN | ROUTE_AUDITOR, 0, "from to"},
	{"POST", "/api/v1/audit/subject-codes", api_subject_code_create, ADMIN, 0, NULL},
	{"GET", "/citizen/access-report", api_citizen_report, CITIZEN | ROUTE_OWN_ARGS, 0, "code= formato"},
	{"POST", "/citizen/logout", api_citizen_logout, CITIZEN, 4096, NULL},
	{"GET", "/citizen/notifications", api_citizen_mail_get, CITIZEN, 0, NULL},
	{"POST", "/citizen/notifications", api_citizen_mail_set, CITIZEN, 4096, NULL},
	{"POST", "/citizen/notifications/delete", api_citizen_mail_delete, CITIZEN, 4096, NULL},
	{"GET", "/citizen/notifications/confirm", api_citizen_mail_confirm_page, ROUTE_PUBLIC | ROUTE_OWN_ARGS, 0, "token"},
	{"POST", "/citizen/notifications/confirm", api_citizen_mail_confirm, ROUTE_PUBLIC, 4096, NULL},
	{"GET", "/citizen/notifications/unsubscribe", api_citizen_mail_unsub_page, ROUTE_PUBLIC | ROUTE_OWN_ARGS, 0, "token"},
	{"POST", "/citizen/notifications/unsubscribe", api_citizen_mail_unsub, ROUTE_PUBLIC, 4096, NULL},
	{"GET", "/api/v1/alerts", api_alerts_list, ADMIN | LEAD, 0, "state ente_id limit cursor"},
	{"POST", "/api/v1/alerts/:id/review", api_alert_review, ADMIN, 0, NULL},
	{"GET", "/api/v1/usage", api_usage, ADMIN | LEAD, 0, "ente_id from to"},

	{"POST", "/api/v1/imports", api_import_push, ROUTE_API | ROUTE_FILE_BODY, 0, NULL},
	{"GET", "/api/v1/feeds", api_feeds, ADMIN, 0, NULL},
	{"GET", "/api/v1/imports", api_imports_list, ADMIN, 0, "comune limit cursor"},
	{"GET", "/api/v1/stats", api_stats, ADMIN | ROUTE_AUDITOR, 0, "*"}, /* 410 */
	{"GET", "/api/v1/stats/tables", api_stats_tables, ADMIN | ROUTE_AUDITOR, 0, "table comuni= year date from to period threshold format"},
	{"GET", "/api/v1/stats/series", api_stats_series, ADMIN | ROUTE_AUDITOR, 0, "indicator comuni= from to step by threshold format"},
	{"GET", "/api/v1/bollettini", api_bollettini_list, ROUTE_ANY_ROLE, 0, "comune"},
	{"GET", "/api/v1/bollettini/comuni", api_bollettini_comuni, ADMIN | ROUTE_AUDITOR, 0, NULL},
	{"PUT", "/api/v1/bollettini/comuni/:comune", api_bollettini_comune_set, ADMIN, 0, NULL},
	{"DELETE", "/api/v1/bollettini/comuni/:comune", api_bollettini_comune_set, ADMIN, 0, NULL},
	{"GET", "/api/v1/bollettini/:comune/:mese", api_bollettino_get, ROUTE_ANY_ROLE, 0, "format"},
	{"POST", "/api/v1/bollettini/rigenera", api_bollettini_regenerate, ADMIN, 0, NULL},
	{"GET", "/api/v1/processing", api_processing_list, ADMIN | ROUTE_AUDITOR | LEAD, 0, "format"},
	{"POST", "/api/v1/processing", api_processing_create, ADMIN, 0, NULL},
	{"PUT", "/api/v1/processing/:id", api_processing_update, ADMIN, 0, NULL},
	{"DELETE", "/api/v1/processing/:id", api_processing_delete, ADMIN, 0, NULL},

	{"GET", "/api/v1/pdnd/purposes", api_pdnd_purposes_list, ADMIN | ROUTE_AUDITOR, 0, NULL},
	{"POST", "/api/v1/pdnd/purposes", api_pdnd_purpose_map, ADMIN, 0, NULL},
	{"DELETE", "/api/v1/pdnd/purposes/:id", api_pdnd_purpose_unmap, ADMIN, 0, NULL},
	{"GET", "/api/v1/pdnd/keys", api_pdnd_keys_list, ADMIN | ROUTE_AUDITOR, 0, NULL},
	{"POST", "/api/v1/pdnd/keys", api_pdnd_key_add, ADMIN, 0, NULL},
	{"DELETE", "/api/v1/pdnd/keys/:id", api_pdnd_key_revoke, ADMIN, 0, NULL},

	{"GET", "/api/v1/outbox", api_outbox, ADMIN, 0, "recipient limit cursor"},
	{"GET", "/api/v1/security-events", api_security_events, ADMIN | ROUTE_AUDITOR, 0, "kind account_id username limit cursor"},
	{"PUT", "/api/v1/settings/totp-required", api_settings_totp, ADMIN, 0, NULL},

	{"POST", "/api/v1/test/clock", api_test_clock, ROUTE_PUBLIC | ROUTE_TEST, 0, NULL},
	{NULL, NULL, NULL, 0, 0, NULL},
};
