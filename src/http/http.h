/* http — the HTTPS front door: libmicrohttpd with GnuTLS, bounded requests,
 * one request/response type, one way to send errors, security headers on
 * every response, and a route table that says who may call what.
 *
 * Owns: the listening daemon, the per-request state (body buffer, parsed
 * JSON, response under construction) and its lifetime: everything a request
 * allocates is freed when the connection reports it complete.
 *
 * Knows nothing of the layers above it: what it needs from them comes in
 * struct http_config (limits, paths, addresses, and the hooks it calls),
 * the routes (each with its own body limit) and the gate; the caller's
 * context and its view of who is calling ride on each request as opaque
 * pointers the server never looks inside. */
#ifndef VISURA_HTTP_HTTP_H
#define VISURA_HTTP_HTTP_H

#include <jansson.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"

struct app;
struct http_auth;
struct http_server;

#define HTTP_MAX_PARAMS 4
#define HTTP_PARAM_MAX 128
#define HTTP_MAX_HEADERS 8

struct http_request {
	struct app *app;              /* the caller's context (http_config.owner), opaque here */
	struct MHD_Connection *conn;
	const char *method;
	char path[1024];
	char ip[64];
	char request_id[17];
	char client_cert[41];         /* serial (hex) of a verified client certificate */
	/* body, bounded by its route (see ROUTE_FILE_BODY): in memory, or
	 * streamed to an unlinked temporary file */
	char *body;
	size_t body_len;
	size_t body_cap;
	int body_fd;                  /* ROUTE_FILE_BODY: the file, or -1 */
	size_t body_reserved;         /* bytes of the server's upload quota held */
	bool body_too_large;
	bool upload_refused;          /* no room for it (quota or disk): 503 */
	bool url_too_long;
	bool answered;                /* refused before its body was read */
	bool framing_bad;             /* where the request ends is ambiguous */
	bool arrived_stopping;        /* came in after shutdown began: 503 */
	const struct http_route *found;
	json_t *json;                 /* the body parsed as a JSON object */
	/* route parameters (":id") */
	char params[HTTP_MAX_PARAMS][HTTP_PARAM_MAX];
	int nparams;
	/* Who is calling, as the gate found it: defined by the layer above
	 * (api/api.h), http_config.auth_size bytes zeroed for each request and
	 * wiped when it completes. */
	struct http_auth *auth;
	/* the response under construction */
	int status;
	char *resp;
	const void *resp_static;      /* or bytes that outlive the server (not freed) */
	size_t resp_len;
	const char *content_type;
	bool cacheable;               /* static assets: no "no-store" */
	char *headers[HTTP_MAX_HEADERS][2];
	int nheaders;
	int64_t started_ns;
	/* a response completed later, off the worker thread (see http_defer) */
	void (*deferred)(struct http_request *r);
	bool resumed;
	const char *route;
	/* a handler's state that outlives the handler (freed at completion) */
	void *handler_ctx;
	void (*handler_ctx_free)(void *ctx);
};

/* A handler fills the response through the http_reply_* calls. */
typedef void (*http_handler)(struct http_request *r);

/* Access rules of a route, checked before its handler runs. */
enum {
	ROUTE_PUBLIC = 1 << 0,        /* no authentication */
	ROUTE_ADMIN = 1 << 1,
	ROUTE_LEAD = 1 << 2,
	ROUTE_OPERATOR = 1 << 3,
	ROUTE_AUDITOR = 1 << 4,
	ROUTE_API = 1 << 5,
	ROUTE_ANY_ROLE = ROUTE_ADMIN | ROUTE_LEAD | ROUTE_OPERATOR | ROUTE_AUDITOR | ROUTE_API,
	ROUTE_PASSWORD_CHANGE = 1 << 8,  /* allowed while a password change is due */
	ROUTE_TOTP_SETUP = 1 << 9,       /* allowed while TOTP enrolment is due */
	ROUTE_TEST = 1 << 10,            /* exists only with test_clock on */
	/* The handler checks its query arguments itself (http_args_valid,
	 * http_query_refused): the corridor, to record the refusal; a page a
	 * citizen opens from a message, to answer it as a page. */
	ROUTE_OWN_ARGS = 1 << 11,
	/* The body is held in memory, unless ROUTE_FILE_BODY: a pushed file,
	 * streamed to a temporary file in http_config.upload_dir (0600,
	 * unlinked at once; read it with http_body_stream), all such bodies
	 * together at most http_config.max_uploads. */
	ROUTE_FILE_BODY = 1 << 12,
	/* Public, but a citizen's SPID/CIE session cookie may come with it: a
	 * state change then needs the session's CSRF token (api_body_gate). */
	ROUTE_CITIZEN = 1 << 13,
};

struct http_route {
	const char *method;           /* "GET" routes answer HEAD too */
	const char *pattern;          /* "/api/v1/accounts/:id/disable" */
	http_handler handler;
	unsigned access;
	/* The largest body the route takes, in bytes; 0: the server's default
	 * (http_config.max_body, or max_file_body with ROUTE_FILE_BODY).  A
	 * declared Content-Length over it is refused with 413 before any byte
	 * of the body is read; a body that grows past it, when it does. */
	size_t body_max;
	/* The query's parameters the route takes, their names separated by
	 * spaces; NULL: none.  Any other, one given twice, or one given
	 * empty ("?limit=", "?limit": neither a value nor its absence) is
	 * refused with 400 before the gate; with ROUTE_OWN_ARGS, by the
	 * handler (http_query_refused).  A name written with a final "="
	 * ("comuni=") may be given empty, where the route gives that a
	 * meaning of its own (docs/openapi.yaml: allowEmptyValue).  A word "*" among them: any other is ignored,
	 * where a protocol says so (an OAuth 2.0 authorization response,
	 * RFC 6749 §4.1.2), each named one still at most once; "*" alone:
	 * whatever is asked, for a retired route that refuses every request
	 * (410), or a file that reads no parameter (the interface's page and
	 * files: a link's tracking or cache-busting parameter is ignored, as
	 * by any web server). */
	const char *query;
};

/* What the server needs from the layers above, given at start. */
struct http_config {
	const char *listen;           /* "address:port" */
	bool tls;                     /* HTTPS (cert and key below), or plain HTTP */
	const char *tls_cert, *tls_key; /* PEM files */
	/* CA of client certificates (PEM file): requested, not required,
	 * when it exists; client_ca_required: its absence is an error. */
	const char *client_ca;
	bool client_ca_required;
	const char *upload_dir;       /* temporary files of ROUTE_FILE_BODY bodies */
	size_t max_body, max_file_body, max_uploads;    /* bytes */
	int threads, max_connections, per_ip_connections, connection_timeout;
	/* The client address from client_ip_header when the peer is one of
	 * trusted_proxies (CIDR list); "" for none. */
	const char *trusted_proxies, *client_ip_header;
	bool test_routes;             /* ROUTE_TEST routes exist */
	/* Request fields of the owner's read from one line, which their
	 * definitions allow once (NULL-terminated; outlives the server; with
	 * the server's own, at most 64): given on two lines, the request is
	 * refused with 400 before anything else, as a second Host is.  May be
	 * NULL. */
	const char *const *single_fields;
	struct app *owner;            /* handed to every request as r->app */
	size_t auth_size;             /* sizeof(struct http_auth) */
	/* Requests in flight (kept by the server); requests arriving while
	 * *stopping is true are answered 503. */
	atomic_int *in_flight;
	atomic_bool *stopping;
	/* Called once per response, after it is queued, with its latency: the
	 * owner's metrics and request log.  May be NULL. */
	void (*on_response)(struct http_request *r, double seconds);
	/* Called once a request's whole body is in, before its handler: the
	 * owner's checks of the body (a signature over it); false when it has
	 * answered.  May be NULL. */
	bool (*on_body)(struct http_request *r);
	/* Called as an answer is about to be sent, its bytes final
	 * (r->resp or r->resp_static, r->resp_len): the owner may add headers
	 * (a signature over the body) or replace the answer.  May be NULL. */
	void (*on_send)(struct http_request *r);
};

/* Decides whether a request may reach its route's handler (authentication,
 * account state, CSRF, roles); on refusal it has already replied.  It runs
 * on the request's headers, before any byte of its body is read, so that
 * no one uploads anything before being recognised. */
typedef bool (*http_gate)(struct http_request *r, const struct http_route *route);

/* Starts listening with the routes (terminated by a NULL method); every
 * matched request passes through `gate` first.  cfg's strings are copied
 * or read before it returns; routes must outlive the server.  A plain-HTTP
 * listener (cfg->tls false) is for operations (metrics, health), meant for
 * loopback or a management network only. */
vis_err http_server_start(const struct http_config *cfg, const struct http_route *routes,
			  http_gate gate, struct http_server **out, struct vis_error *e);
/* Stops accepting, lets requests in flight finish (up to `grace_ms`), stops. */
void http_server_stop(struct http_server *srv, int grace_ms);
/* libmicrohttpd's messages are logged at warn within a budget (server.c,
 * mhd_log); this writes the count of those left out once their window has
 * ended.  Called periodically (every few seconds) by a serving process. */
void http_server_log_flush(void);
/* One message of libmicrohttpd (its printf format and arguments) as the
 * log gets it, into out: a request's path it quotes ("... for the request
 * for `%s' ...") left out, as it may name a person; trailing newlines
 * dropped, double quotes made single (the log's detail="..."). */
void http_mhd_message(char *out, size_t cap, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* Reads the certificate and key again from the files given at start: new
 * handshakes present them, connections already made are untouched.  When
 * they cannot be read, do not parse, do not belong together or have
 * expired, the current ones stay and `e` says why. */
vis_err http_server_tls_reload(struct http_server *srv, struct vis_error *e);

/* ---- building responses: the only way handlers answer ---- */

/* Bytes that live as long as the server (not copied, not freed). */
void http_reply_static(struct http_request *r, int status, const char *content_type,
		       const void *data, size_t len);
/* Sends obj (reference stolen) with `status`, written by common/jsonw
 * (jansson's compact bytes, ASCII only; reals in their shortest form).
 * A text past HTTP_JSON_MAX, or one that cannot be written, is a 500. */
#define HTTP_JSON_MAX ((size_t)256 << 20)
void http_reply_json(struct http_request *r, int status, json_t *obj);
/* The one error shape: {"error":{"code":code,"message":message}}. */
void http_reply_error(struct http_request *r, int status, const char *code,
		      const char *message);
/* Raw bytes (copied) with a content type. */
void http_reply_bytes(struct http_request *r, int status, const char *content_type,
		      const void *data, size_t len);
/* Completes the response later: after the handler returns, the server
 * parks the connection (freeing its worker thread) and calls start(r);
 * whoever finishes the work fills the response with the http_reply_* calls
 * and calls http_resume(r), from any thread, exactly once. */
void http_defer(struct http_request *r, void (*start)(struct http_request *r));
void http_resume(struct http_request *r);

/* Adds a response header (copied); false when it could not be (no room,
 * no memory): the answer goes without it. */
bool http_header_add(struct http_request *r, const char *name, const char *value);

/* 500 for a failure of ours: logs the detail with the request id, sends the
 * client nothing but the id. */
void http_reply_internal(struct http_request *r, const struct vis_error *e);

/* ---- reading requests ---- */

/* A header value, or NULL. */
const char *http_header(struct http_request *r, const char *name);
/* A cookie value, or NULL. */
const char *http_cookie(struct http_request *r, const char *name);
/* True when every query argument is UTF-8 text without control characters
 * (a %00 included), at most 1024 bytes; HTTP_ARGS_MESSAGE says so otherwise. */
bool http_args_valid(struct http_request *r);
#define HTTP_ARGS_MESSAGE "il percorso e i parametri devono essere testo UTF-8 senza caratteri " \
	"di controllo, di al massimo 1024 byte ciascuno"

/* When the request's query has a parameter its route does not take
 * (http_route.query), one twice or one empty: true, and the refusal's
 * message (in Italian, naming it) in out. */
#define HTTP_QUERY_MESSAGE 200
bool http_query_refused(struct http_request *r, char out[HTTP_QUERY_MESSAGE]);

/* The rule http_query_refused applies to each parameter, on its own (no
 * request, no libmicrohttpd): what a route whose http_route.query is takes
 * (NULL: none) does with one parameter, its name of name_len bytes (any
 * bytes, compared whole) and its value (NULL: "?name" without "=").
 * Whether a taken name comes twice is the caller's to count. */
enum http_query_word {
	HTTP_QUERY_TAKEN,     /* a word of takes, with a value or allowed empty */
	HTTP_QUERY_IGNORED,   /* no word of takes, but takes has "*" */
	HTTP_QUERY_UNKNOWN,   /* no word of takes: refused */
	HTTP_QUERY_EMPTY,     /* a word without a final "=", given empty: refused */
	HTTP_QUERY_NAMELESS,  /* "?=1", "?&a=1": refused (unless "*") */
};
enum http_query_word http_query_word(const char *takes, const char *name, size_t name_len,
				     const char *value, size_t value_len);

/* How many query-string arguments the request has. */
int http_query_count(struct http_request *r);
/* A query-string argument, or NULL. */
const char *http_query(struct http_request *r, const char *name);

/* The body of a ROUTE_FILE_BODY route as a stream from its start (the
 * caller closes it), or NULL when there is none or it cannot be read. */
FILE *http_body_stream(struct http_request *r);

/* The JSON body as an object; on a missing or malformed body replies 400
 * and returns NULL. */
json_t *http_body_object(struct http_request *r);

/* The body of an HTML form (application/x-www-form-urlencoded) as a JSON
 * object of strings (form.c): every field name=value, '+' a space, %XX a
 * byte; refused (NULL, err says why in Italian) when a field has no '=' or
 * no name, a %-escape is not two hex digits, a byte is NUL or the text not
 * UTF-8, a name repeats or is longer than 63 bytes, or there are more
 * than HTTP_FORM_FIELDS_MAX fields. */
#define HTTP_FORM_FIELDS_MAX 16
json_t *http_form_decode(const char *body, size_t len, char *err, size_t errcap);
/* The body as an object, a JSON one or, when the request says
 * application/x-www-form-urlencoded, a form's (http_form_decode); on a
 * missing or malformed body replies 400 and returns NULL. */
json_t *http_body_form(struct http_request *r);

/* Reads a string member of the body: required or not, at most max bytes,
 * valid UTF-8 without control characters.  On a violation replies 400
 * naming the field and returns NULL.  An absent optional member gives "". */
const char *http_body_string(struct http_request *r, const char *field, bool required,
			     size_t max);

#endif
