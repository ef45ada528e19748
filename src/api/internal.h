/* Shared by the handlers of src/api: JSON views of records, parameter
 * parsing, and the handler declarations the route table points at.
 * Not a public interface. */
#ifndef VISURA_API_INTERNAL_H
#define VISURA_API_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/str.h"
#include "api/api.h"
#include "http/http.h"
#include "store/store.h"

struct store;

/* The thread's store, or NULL after replying 503. */
struct store *api_store(struct http_request *r);
/* 503 with Retry-After: a guess (password, code, receipt) is not checked
 * when the throttle's counters cannot be read or written (auth.h). */
void api_reply_uncounted(struct http_request *r);
int64_t api_now(struct http_request *r);

/* The first member of obj (an object, or absent) that is not one of
 * allowed (NULL-terminated), or NULL when every one is: a body's field the
 * route does not know is refused, never ignored. */
const char *api_unknown_member(const json_t *obj, const char *const *allowed);
/* The same over a table of n rows of `stride` bytes, each opening with its
 * name (a `const char *`): a handler's table of fields is its list; and
 * `also` (NULL-terminated, or NULL). */
const char *api_unknown_member_in(const json_t *obj, const void *rows, size_t n, size_t stride,
				  const char *const *also);
/* A body member's name as a message may show it: at most its first 60
 * bytes, cut between characters (str_copy_cut), a bidi control made '?'
 * (utf8_scrub).  Returns out. */
const char *api_member_shown(char out[64], const char *name);
/* The refusal of an unknown member, naming it (api_member_shown). */
#define API_UNKNOWN_MESSAGE 200
const char *api_unknown_message(char out[API_UNKNOWN_MESSAGE], const char *unknown);
/* When unknown is not NULL, replies 400 naming it and returns true. */
bool api_refuse_unknown(struct http_request *r, const char *unknown);
/* A route's body, when it has one, is a JSON object whose members are all
 * among `allowed` (NULL-terminated; API_NO_FIELDS: none): false after
 * replying 400.  Without a body it is true: the handler asks for what it
 * needs.  The first call of a handler, before it reads or changes
 * anything. */
bool api_body_members(struct http_request *r, const char *const *allowed);
extern const char *const API_NO_FIELDS[];

/* Route parameter i as a positive id, or 0 after replying 404. */
int64_t api_param_id(struct http_request *r, int i);

/* ISO timestamp or null for 0. */
json_t *api_time(int64_t t);

json_t *api_account_json(const struct store_account *a);
json_t *api_ente_json(const struct store_ente *en);
json_t *api_request_json(const struct store_operator_request *q);

/* Work of seconds to minutes (a statistics table's exact audit, a series,
 * an import pushed over HTTPS, a body's usage or the yearly review, which
 * read every record of a year of the trail) done on a runner's thread (common/runner.h)
 * with the connection parked, so that the few HTTP workers go on answering
 * look-ups.  A job is the caller's struct with this as its first member,
 * allocated zeroed (calloc, or malloc and a compound literal: `after`
 * NULL unless set): it becomes the request's (freed with it). */
struct runner;
struct api_slow {
	struct http_request *r;       /* set by api_slow_defer */
	struct runner *rn;
	/* On the runner's thread, with the thread's store: fills the answer
	 * (http_resume is api_slow's). */
	void (*work)(struct http_request *r, struct store *s, void *job);
	const char *busy;             /* the 503's message when the queue is full */
	/* The caller's (set before api_slow_defer, or NULL): called on the
	 * runner's thread with its store once the answer is sent, when the
	 * request and the job are gone (arg: not of either). */
	void (*after)(struct store *s, void *arg);
	void *after_arg;
};
/* The 503's message when app->slow's queue is full (tables, series,
 * bulletins made again, the trail's verification, a body's usage and the
 * yearly review share it). */
#define API_SLOW_BUSY \
	"troppe elaborazioni in attesa (tavole, serie, bollettini, verifiche del registro, " \
	"utilizzo degli enti, revisione annuale): riprovare tra poco"
/* A job of `size` bytes, zeroed, whose first member is its struct
 * api_slow (api_slow_defer frees it with the request); NULL after
 * replying 503 (memory). */
void *api_slow_new(struct http_request *r, size_t size);
/* Parks r and gives job to rn; when rn does not take it (its queue full,
 * or the service stopping) or stops before it, 503 with Retry-After: 30. */
void api_slow_defer(struct http_request *r, struct api_slow *job, struct runner *rn,
		    void (*work)(struct http_request *r, struct store *s, void *job),
		    const char *busy);
/* The question a slow job's long work asks as it goes (app, the
 * request's r->app): the server stops (SIGTERM), so the work ends
 * instead of holding the stop for as long as it takes. */
bool api_server_stopping(void *app);
/* 503 with Retry-After: 30, the work (e's message, in Italian) stopped
 * by the server's stop. */
void api_reply_stopped(struct http_request *r, const struct vis_error *e);

/* Reads an account by id; replies 404 (and returns false) when missing. */
bool api_account_load(struct http_request *r, struct store *s, int64_t id,
		      struct store_account *out);
bool api_ente_load(struct http_request *r, struct store *s, int64_t id,
		   struct store_ente *out);

/* The account's body: active, from its networks, within its hours?
 * Replies (and records the refusal) when not. */
bool api_body_open(struct http_request *r, struct store *s, int64_t now,
		   const struct store_account *a, const char *context);

/* A page of a list (docs/api.md, "Pages"): `limit` items (1..max,
 * default def) after `cursor` (the opaque key the previous page ended at,
 * "" or absent: the first page). */
struct api_page {
	int limit;
	int64_t cursor;
};
/* Reads `limit` and `cursor`; false after replying 400. */
bool api_page_params(struct http_request *r, int def, int max, struct api_page *p);
/* A query parameter naming a record: absent, *out = 0 and true; present,
 * a positive decimal integer (at most 18 digits) or false with 400 sent.
 * Never 0 for a value that does not parse: a filter "= 0" reads as "no
 * filter" in the store's lists. */
bool api_query_id(struct http_request *r, const char *name, int64_t *out);
/* A query parameter that, when present, is one of allowed (NULL-ended);
 * otherwise false with 400 naming them, never the filter left out. */
bool api_query_one_of(struct http_request *r, const char *name, const char *const *allowed);
/* A page is read with one item more than asked: when `items` has it,
 * drops it and sets out's "next_cursor" to the "id" of the last item kept
 * (the next page starts after it).  True when there is a next page. */
bool api_page_finish(json_t *out, json_t *items, const struct api_page *p);

/* Replies {key: [...]} with the JSON view of every record of `kind`
 * matching `filters` (newest first, at most `limit`, 0 = all). */
void api_reply_list(struct http_request *r, struct store *s, enum store_kind kind,
		    const struct store_filter *filters, int limit, const char *key,
		    json_t *(*to_json)(const void *rec));
/* The same, one page of it (newest first), with "next_cursor" when
 * another follows. */
void api_reply_page(struct http_request *r, struct store *s, enum store_kind kind,
		    const struct store_filter *filters, const struct api_page *p, const char *key,
		    json_t *(*to_json)(const void *rec));
/* What a list's store_rec_fn appends its record's JSON view to. */
struct api_list {
	json_t *arr;
};
/* The same as api_reply_page, each record's view made by add (its ctx a
 * struct api_list): one page, newest first, "next_cursor" when another
 * follows; the views need an "id". */
void api_reply_records(struct http_request *r, struct store *s, enum store_kind kind,
		       const struct store_filter *filters, const struct api_page *p,
		       const char *key, store_rec_fn add);
/* The views above, typed for api_reply_list. */
json_t *api_account_view(const void *rec);
json_t *api_request_view(const void *rec);
json_t *api_ente_view(const void *rec);

/* {code: name} of the municipalities in `codes` (an array of ISTAT codes;
 * unknown codes are left out), for people who read names, not codes. */
struct refdata;
json_t *api_comune_names(const struct refdata *rd, const json_t *codes);
/* The current name of the municipality with this ISTAT code, or "". */
const char *api_comune_name(const struct refdata *rd, const char *istat);

/* The most bytes an export (CSV, printable page) built in memory may have. */
#define API_EXPORT_MAX (64u << 20)

/* Replies the failure of an export buffer: 422 result_too_large over its
 * maximum (narrow the filters), 503 out of memory; releases sb. */
void api_reply_export_failed(struct http_request *r, struct strbuf *sb);

/* Sends a store failure as 503/500; a conflict (e->code VIS_ERR_CONFLICT: a
 * duplicate, a record changed meanwhile) as 409 conflict with e's message. */
void api_fail(struct http_request *r, const struct vis_error *e);
/* 303 See Other to location (a browser's next page), replacing any answer
 * made so far; the headers set stay. */
void api_redirect(struct http_request *r, const char *location);

/* The one reply of a workflow's refusal (src/incident, src/review,
 * policy/convenzione, auth/oprequest): VIS_ERR_INVALID and VIS_ERR_LIMIT
 * 400 invalid_request, VIS_ERR_NOTFOUND 404 not_found, VIS_ERR_CONFLICT
 * 409 conflict, each with e's message; anything else api_fail. */
void api_reply_refusal(struct http_request *r, vis_err rc, const struct vis_error *e);

/* Reads the personal fields shared by account creation and operator
 * requests (full_name, codice_fiscale, email, appointment_ref); replies
 * 400 on a bad one. */
bool api_person_fields(struct http_request *r, char *full_name, size_t fn_cap, char *cf,
		       char *email, size_t em_cap, char *appointment, size_t ap_cap,
		       bool cf_required);

/* The answer that issues a temporary password: {"account","credentials"}
 * and, without an SMTP relay, "temporary_password" (this answer only). */
json_t *api_credentials_answer(struct http_request *r, const struct store_account *a,
			       bool person, const char *password);

/* Checks the shape of a username: 3-64 of [a-z0-9._-], starting with a letter. */
bool api_username_valid(const char *u);

#define HANDLER(name) void name(struct http_request *r)
HANDLER(api_healthz);
HANDLER(api_pdnd_jwks);
HANDLER(api_pdnd_purposes_list);
HANDLER(api_pdnd_purpose_map);
HANDLER(api_pdnd_purpose_unmap);
HANDLER(api_pdnd_keys_list);
HANDLER(api_pdnd_key_add);
HANDLER(api_pdnd_key_revoke);
/* Until every listener is up (app->serving) replies 503 "starting" and
 * returns true: a probe answered 200 means the whole service is up. */
bool api_starting(struct http_request *r);
HANDLER(api_login);
HANDLER(api_spid_start);
HANDLER(api_spid_callback);
HANDLER(api_spid_jwks);
HANDLER(api_oidc_federation);
HANDLER(api_spid_required_account);
HANDLER(api_spid_required_ente);
#include "auth/auth.h"
/* The cookies visura sets, all named __Host-: the browser takes such a
 * cookie only from our own host, over HTTPS, with Path=/ and no Domain, so
 * that a sibling subdomain of the deployment cannot plant one for us (a
 * session or a CSRF token of its choosing).  A cookie of the same name
 * without the prefix is not read. */
#define API_COOKIE_SESSION "__Host-visura_session"  /* an operator's session */
#define API_COOKIE_CITIZEN "__Host-visura_cittadino" /* a citizen's (citizen.c) */
#define API_COOKIE_SPID "__Host-visura_spid"       /* a SPID/CIE flow (spid.c) */
/* Sets one of them: HttpOnly, Secure, Path=/, no Domain, max_age seconds
 * (0: ends it). */
void api_cookie_set(struct http_request *r, const char *name, const char *value,
		    int max_age, const char *same_site);
/* Whether the account may log in now (its standing, its body open, within
 * its hours): false after replying with the refusal. */
bool api_login_allowed(struct http_request *r, struct store *s, const struct store_account *a,
		       int64_t now, enum account_standing *st);
/* The end of a successful login: session, cookie, answer (how: "" for a
 * password, else the way, for the security event). */
void api_session_open(struct http_request *r, struct store *s, struct store_account *a,
		      enum account_standing st, int64_t now, const char *how);
HANDLER(api_logout);
HANDLER(api_me);
HANDLER(api_sessions_list);
HANDLER(api_session_end);
HANDLER(api_password_change);
HANDLER(api_totp_setup);
HANDLER(api_totp_confirm);
HANDLER(api_accounts_list);
HANDLER(api_accounts_create);
HANDLER(api_account_get);
HANDLER(api_account_disable);
HANDLER(api_account_enable);
HANDLER(api_account_reset);
HANDLER(api_account_renew);
HANDLER(api_account_totp_reset);
HANDLER(api_tokens_list);
HANDLER(api_token_create);
HANDLER(api_token_revoke);
HANDLER(api_enti_list);
HANDLER(api_enti_create);
HANDLER(api_ente_get);
HANDLER(api_ente_update);
HANDLER(api_own_operators);
HANDLER(api_own_requests);
HANDLER(api_own_request_create);
HANDLER(api_own_operator_disable);
HANDLER(api_own_renewal);
HANDLER(api_requests_list);
HANDLER(api_request_approve);
HANDLER(api_request_reject);
HANDLER(api_outbox);
HANDLER(api_security_events);
HANDLER(api_settings_totp);
HANDLER(api_test_clock);
HANDLER(api_persons_search);
HANDLER(api_person_get);
HANDLER(api_person_household);
HANDLER(api_person_history);
HANDLER(api_verify);
HANDLER(api_anpr_lookup);
HANDLER(api_anpr_verify);
HANDLER(api_convenzioni_list);
HANDLER(api_convenzioni_create);
HANDLER(api_convenzione_get);
HANDLER(api_convenzione_update);
HANDLER(api_purpose_create);
HANDLER(api_own_purposes);
HANDLER(api_audit_access);
HANDLER(api_audit_subject);
HANDLER(api_audit_verify);
HANDLER(api_audit_consistency);
HANDLER(api_subject_code_create);
HANDLER(api_citizen_report);
/* The citizen's page (citizen.c): true when the client asks for HTML (a
 * browser); the page of accesses (the entries of the citizen's report);
 * the form asking for the code, with a problem (NULL: none). */
bool api_wants_html(struct http_request *r);
void api_citizen_page(struct http_request *r, const char *cf, json_t *accesses,
		      const struct store_citizen_session *session);
void api_citizen_page_ask(struct http_request *r, int status, const char *problem);
/* A login with SPID/CIE refused, as a page for a browser: the message and
 * a link to `back` to start again. */
void api_spid_page_refused(struct http_request *r, int status, const char *message,
			   const char *back);
/* The citizen's session from SPID/CIE (citizen.c): a cookie
 * (API_COOKIE_CITIZEN, HttpOnly, Secure, SameSite=Lax so that the provider's
 * redirect reaches the page with it) of CITIZEN_SESSION_SECONDS bound to
 * one codice fiscale, that can only read that person's own access report
 * (GET /citizen/access-report), manage that person's e-mail notices
 * (/citizen/notifications, citizen_mail.c), and end (POST /citizen/logout).  _open: made and set (false after replying with the
 * failure); _find: 1 live (*out), 0 none (*stale: a cookie came that is
 * no longer a session), -1 after replying with a failure. */
#define CITIZEN_SESSION_SECONDS (15 * 60)
bool api_citizen_session_open(struct http_request *r, struct store *s, const char *cf,
			      int level, int64_t now, int64_t *until);
int api_citizen_session_find(struct http_request *r, struct store *s, int64_t now,
			     struct store_citizen_session *out, bool *stale);
HANDLER(api_citizen_logout);
/* The citizen's pages as citizen.c builds them: the head with a title,
 * and the end that sends the page (503 when it could not be built). */
void api_citizen_html_head(struct strbuf *h, const struct http_request *r, const char *title);
void api_citizen_html_send(struct http_request *r, int status, struct strbuf *h);
/* A page with one message (ok: an outcome, else a refusal, role=alert)
 * and the way back to the citizen's page. */
void api_citizen_message(struct http_request *r, int status, const char *title,
			 const char *message, bool ok);
/* A refusal on a citizen's route: that page to a browser, else the one
 * error shape. */
void api_citizen_refuse(struct http_request *r, int status, const char *code,
			const char *message);
/* The query of a page a citizen opens in a browser (a ROUTE_OWN_ARGS route:
 * from a message's link, or the access report): not text, or a parameter
 * the route does not take (http_query_refused), is refused with 400 as a
 * page to a browser (api_citizen_refuse); false after replying.  The
 * first call of such a handler. */
bool api_citizen_query(struct http_request *r);
/* api_body_members for a citizen's route, whose body is a page's form or
 * JSON (http_body_form): a field not among `allowed` is refused, naming
 * it, as that page to a browser (api_citizen_refuse); false after
 * replying.  The first call of a handler, before it reads or changes
 * anything. */
bool api_citizen_members(struct http_request *r, const char *const *allowed);
/* The CSRF token of the citizen's session whose cookie the request
 * carries (a hash of the cookie, which a page of another site can neither
 * read nor make); false without such a cookie.  The gate asks it of every
 * state change on a ROUTE_CITIZEN route (api_body_gate). */
bool api_citizen_csrf(struct http_request *r, char out[65]);
/* E-mail notices of new consultations (citizen_mail.c; rules in
 * watch/watch.h): the section of the citizen's page, and the routes under
 * /citizen/notifications.  A change from the session needs its CSRF token
 * (api_citizen_csrf: a form's hidden field csrf_token or the header
 * X-CSRF-Token; checked by the gate) and no cross-site Sec-Fetch-Site;
 * confirming and unsubscribing need only the token of the message's link. */
void api_citizen_mail_section(struct strbuf *h, struct http_request *r,
			      const struct store_citizen_session *session);
HANDLER(api_citizen_mail_get);
HANDLER(api_citizen_mail_set);
HANDLER(api_citizen_mail_delete);
HANDLER(api_citizen_mail_confirm_page);
HANDLER(api_citizen_mail_confirm);
HANDLER(api_citizen_mail_unsub_page);
HANDLER(api_citizen_mail_unsub);
/* Italian words for a body's kind (an operation's: audit/operation.h);
 * the embargo note. */
const char *api_citizen_kind(const char *kind);
void api_citizen_note(int embargo_days, char *out, size_t size);
HANDLER(api_alerts_list);
HANDLER(api_bollettini_list);
HANDLER(api_bollettino_get);
HANDLER(api_bollettini_comuni);
HANDLER(api_bollettini_comune_set);
HANDLER(api_bollettini_regenerate);
HANDLER(api_alert_review);
HANDLER(api_usage);
HANDLER(api_person_print);
HANDLER(api_print_css);
HANDLER(api_print_crest);
HANDLER(api_verifica_page);
HANDLER(api_receipt_verify);
HANDLER(api_ui_index);
HANDLER(api_help);
HANDLER(api_names_enti);
HANDLER(api_names_accounts);
HANDLER(api_names_purposes);
HANDLER(api_places);
HANDLER(api_ui_asset);
HANDLER(api_openapi);
HANDLER(api_readyz);
HANDLER(api_import_push);
HANDLER(api_feeds);
HANDLER(api_imports_list);
HANDLER(api_incident_report);
HANDLER(api_incidents_list);
HANDLER(api_incident_state);
HANDLER(api_ente_suspend);
HANDLER(api_stats);
HANDLER(api_stats_tables);
HANDLER(api_stats_series);
HANDLER(api_processing_list);
HANDLER(api_processing_create);
HANDLER(api_processing_update);
HANDLER(api_processing_delete);
HANDLER(api_events_feed);
HANDLER(api_notices_list);
HANDLER(api_notices_create);
HANDLER(api_notice_update);
HANDLER(api_notice_withdraw);
HANDLER(api_review_report);
HANDLER(api_review_decide);
HANDLER(api_list_request_create);
HANDLER(api_list_requests);
HANDLER(api_list_request_decide);
HANDLER(api_metrics);

#endif
