/* The libmicrohttpd daemon, the request lifecycle and the route table. */
#include "http/http.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "app/app.h"
#include "common/cidr.h"
#include "common/csv.h"
#include "common/log.h"
#include "common/text.h"
#include "metrics/metrics.h"
#include "store/store.h"
#include "common/str.h"

struct http_server {
	struct MHD_Daemon *daemon;
	char *trust;              /* CA of client certificates, PEM */
	struct app *app;
	const struct http_route *routes;
	http_gate gate;
	char *cert;
	char *key;
};

/* TLS 1.3 preferred, 1.2 accepted, nothing older. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE"

static const char csp[] =
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
	"font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
	"form-action 'self'; frame-ancestors 'none'";

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- responses ---- */

static void reply_take(struct http_request *r, int status, const char *type, char *data,
		       size_t len)
{
	free(r->resp);
	r->resp = data;
	r->resp_static = NULL;
	r->resp_len = len;
	r->status = status;
	r->content_type = type;
}

void http_reply_bytes(struct http_request *r, int status, const char *content_type,
		      const void *data, size_t len)
{
	char *copy = malloc(len ? len : 1);
	if (!copy) {
		reply_take(r, 503, "text/plain", NULL, 0);
		return;
	}
	memcpy(copy, data, len);
	reply_take(r, status, content_type, copy, len);
}

void http_reply_static(struct http_request *r, int status, const char *content_type,
		       const void *data, size_t len)
{
	reply_take(r, status, content_type, NULL, 0);
	r->resp_static = data;
	r->resp_len = len;
}

void http_reply_json(struct http_request *r, int status, json_t *obj)
{
	char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(obj);
	if (!text) {
		reply_take(r, 500, "application/json", NULL, 0);
		return;
	}
	reply_take(r, status, "application/json", text, strlen(text));
}

void http_reply_error(struct http_request *r, int status, const char *code,
		      const char *message)
{
	http_reply_json(r, status, json_pack("{s:{s:s,s:s,s:s}}", "error", "code", code,
					     "message", message, "request_id", r->request_id));
}

void http_reply_internal(struct http_request *r, const struct vis_error *e)
{
	log_error("request failed", "request_id=%s error=\"%s\"", r->request_id,
		  e && e->msg[0] ? e->msg : "unknown");
	if (e && e->code == VIS_ERR_STORE)
		http_reply_error(r, 503, "service_unavailable",
				 "the service cannot reach its database; try again later");
	else
		http_reply_error(r, 500, "internal_error",
				 "an internal error occurred; quote the request id to support");
}

void http_header_add(struct http_request *r, const char *name, const char *value)
{
	if (r->nheaders == HTTP_MAX_HEADERS)
		return;
	char *n = strdup(name), *v = strdup(value);
	if (!n || !v) {
		free(n);
		free(v);
		return;
	}
	r->headers[r->nheaders][0] = n;
	r->headers[r->nheaders][1] = v;
	r->nheaders++;
}

/* ---- requests ---- */

const char *http_header(struct http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_cookie(struct http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

const char *http_query(struct http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

json_t *http_body_object(struct http_request *r)
{
	if (r->json)
		return r->json;
	if (!r->body_len) {
		http_reply_error(r, 400, "invalid_request", "a JSON object body is required");
		return NULL;
	}
	json_error_t err;
	json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &err);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		http_reply_error(r, 400, "invalid_json", "the body is not a valid JSON object");
		return NULL;
	}
	r->json = j;
	return j;
}

const char *http_body_string(struct http_request *r, const char *field, bool required,
			     size_t max)
{
	char msg[160];
	json_t *obj = http_body_object(r);
	if (!obj)
		return NULL;
	json_t *v = json_object_get(obj, field);
	if (!v || json_is_null(v)) {
		if (!required)
			return "";
		snprintf(msg, sizeof msg, "'%s' is required", field);
		http_reply_error(r, 400, "invalid_request", msg);
		return NULL;
	}
	if (!json_is_string(v)) {
		snprintf(msg, sizeof msg, "'%s' must be a string", field);
		http_reply_error(r, 400, "invalid_request", msg);
		return NULL;
	}
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	uint32_t cp;
	if (len <= max && text_bidi_find(s, len, &cp)) {
		snprintf(msg, sizeof msg, "'%s' holds the direction control U+%04X (text shown "
			 "in another order than written): remove it", field, (unsigned)cp);
		http_reply_error(r, 400, "invalid_request", msg);
		return NULL;
	}
	if (len > max || strlen(s) != len || !utf8_valid(s, len)) {
		snprintf(msg, sizeof msg, "'%s' must be text of at most %zu bytes", field, max);

		http_reply_error(r, 400, "invalid_request", msg);
		return NULL;
	}
	if (required && len == 0) {
		snprintf(msg, sizeof msg, "'%s' must not be empty", field);
		http_reply_error(r, 400, "invalid_request", msg);
		return NULL;
	}
	return s;
}

/* ---- routing ---- */

/* Matches path against pattern, capturing ":name" segments; a final "*"
 * matches any non-empty rest. */
static bool route_match(const char *pattern, const char *path, struct http_request *r)
{
	int np = 0;
	const char *p = pattern, *u = path;
	while (*p && *u) {
		if (p[0] == '*' && !p[1]) {   /* a final star: any non-empty rest */
			r->nparams = np;
			return true;
		}
		if (*p == ':') {
			const char *end = strchr(u, '/');
			size_t n = end ? (size_t)(end - u) : strlen(u);
			if (n == 0 || n >= HTTP_PARAM_MAX || np == HTTP_MAX_PARAMS)
				return false;
			memcpy(r->params[np], u, n);
			r->params[np][n] = '\0';
			np++;
			u += n;
			while (*p && *p != '/')
				p++;
			continue;
		}
		if (*p != *u)
			return false;
		p++;
		u++;
	}
	if (*p || *u)
		return false;
	r->nparams = np;
	return true;
}

/* Every query argument must be text: no NUL (which %00 would smuggle past
 * C strings), no control character, valid UTF-8, bounded. */
static enum MHD_Result arg_check(void *cls, enum MHD_ValueKind kind, const char *key,
				 size_t key_size, const char *value, size_t value_size)
{
	(void)kind;
	bool *bad = cls;
	if (!utf8_valid(key, key_size) || strlen(key) != key_size || key_size > 64 ||
	    (value && (strlen(value) != value_size || value_size > 1024 ||
		       !utf8_valid(value, value_size)))) {
		*bad = true;
		return MHD_NO;
	}
	return MHD_YES;
}

bool http_args_valid(struct http_request *r)
{
	bool bad = false;
	MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, arg_check, &bad);
	/* A %00 in the path was decoded to DEL by unescape(): refuse it too. */
	return !bad && !strchr(r->path, 0x7f);
}

static void dispatch(struct http_server *srv, struct http_request *r, const char **route_name)
{
	if (r->url_too_long) {
		http_reply_error(r, 414, "uri_too_long", "the request URI is too long");
		return;
	}
	if (r->body_too_large) {
		http_reply_error(r, 413, "payload_too_large", "the request body is too large");
		return;
	}
	const struct http_route *found = NULL;
	bool path_known = false;
	for (const struct http_route *rt = srv->routes; rt->method; rt++) {
		if ((rt->access & ROUTE_TEST) && !srv->app->cfg.test_clock)
			continue;
		if (!route_match(rt->pattern, r->path, r))
			continue;
		path_known = true;
		if (!strcmp(rt->method, r->method)) {
			found = rt;
			break;
		}
	}
	if (!found) {
		if (path_known)
			http_reply_error(r, 405, "method_not_allowed", "method not allowed here");
		else
			http_reply_error(r, 404, "not_found", "no such resource");
		return;
	}
	*route_name = found->pattern;
	if (!(found->access & ROUTE_OWN_ARGS) && !http_args_valid(r)) {
		http_reply_error(r, 400, "invalid_request",
				 "the path and query parameters must be UTF-8 text without control "
				 "characters, at most 1024 bytes each");
		return;
	}
	if (!srv->gate(r, found))
		return;
	found->handler(r);
	if (!r->status && !r->deferred)
		http_reply_error(r, 500, "internal_error", "the handler gave no answer");
}

/* ---- libmicrohttpd callbacks ---- */

static void client_ip(struct MHD_Connection *c, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, cap, "unknown");
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
			  (socklen_t)cap);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
			  (socklen_t)cap);
}

/* Behind a reverse proxy: when the peer is a trusted proxy, the client is
 * the right-most address of the configured header (the one that proxy
 * added); from anyone else the header is ignored. */
static void proxied_ip(struct app *app, struct MHD_Connection *c, char *ip, size_t cap)
{
	const struct config *cfg = &app->cfg;
	if (!cfg->trusted_proxies[0] || !cidr_list_contains(cfg->trusted_proxies, ip))
		return;
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, cfg->client_ip_header);
	if (!h)
		return;
	const char *last = strrchr(h, ',');
	last = last ? last + 1 : h;
	while (*last == ' ')
		last++;
	char cand[64];
	size_t n = strcspn(last, " ");
	if (n == 0 || n >= sizeof cand)
		return;
	memcpy(cand, last, n);
	cand[n] = '\0';
	if (cidr_list_valid(cand) && !strchr(cand, '/'))
		str_copy_known(ip, cap, cand, __FILE__, __LINE__); /* cand[64], ip: r->ip[64] */
}

/* A client certificate that chains to the workstation CA: its serial. */
static void client_cert(struct MHD_Connection *c, char serial_hex[41])
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	serial_hex[0] = '\0';
	if (!ci || !ci->tls_session)
		return;
	gnutls_session_t tls = (gnutls_session_t)ci->tls_session;
	unsigned status = 0;
	unsigned n = 0;
	const gnutls_datum_t *chain = gnutls_certificate_get_peers(tls, &n);
	if (!chain || n == 0 || gnutls_certificate_verify_peers2(tls, &status) < 0 || status)
		return;
	gnutls_x509_crt_t crt;
	if (gnutls_x509_crt_init(&crt) < 0)
		return;
	unsigned char serial[40];
	size_t len = sizeof serial;
	if (gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) >= 0 &&
	    gnutls_x509_crt_get_serial(crt, serial, &len) >= 0 && len <= 20)
		for (size_t i = 0; i < len; i++)
			snprintf(serial_hex + 2 * i, 3, "%02x", serial[i]);
	gnutls_x509_crt_deinit(crt);
}

static void add_security_headers(struct MHD_Response *resp, const struct http_request *r)
{
	MHD_add_response_header(resp, "Strict-Transport-Security",
				"max-age=31536000; includeSubDomains");
	MHD_add_response_header(resp, "Content-Security-Policy", csp);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
	MHD_add_response_header(resp, "Permissions-Policy", "camera=(), microphone=(), geolocation=()");
	MHD_add_response_header(resp, "Cache-Control", r->cacheable ? "private, max-age=3600" : "no-store");
	if (!r->cacheable)
		MHD_add_response_header(resp, "Pragma", "no-cache");
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
}

void http_defer(struct http_request *r, void (*start)(struct http_request *r))
{
	r->deferred = start;
}

void http_resume(struct http_request *r)
{
	r->resumed = true;
	MHD_resume_connection(r->conn);
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct http_request *r)
{
	struct MHD_Response *resp =
		r->resp ? MHD_create_response_from_buffer(r->resp_len, r->resp, MHD_RESPMEM_MUST_FREE)
			: MHD_create_response_from_buffer(r->resp_len,
							  (void *)(r->resp_static ? r->resp_static : ""),
							  MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	r->resp = NULL; /* now owned by libmicrohttpd */
	if (r->content_type)
		MHD_add_response_header(resp, "Content-Type", r->content_type);
	add_security_headers(resp, r);
	for (int i = 0; i < r->nheaders; i++)
		MHD_add_response_header(resp, r->headers[i][0], r->headers[i][1]);
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	metrics_request(r->app->metrics, r->route ? r->route : "-", r->status,
			(double)(mono_ns() - r->started_ns) / 1e9);
	log_info("request", "request_id=%s method=%s route=%s status=%d ms=%.2f account=%lld ip=%s",
		 r->request_id, r->method, r->route, r->status,
		 (double)(mono_ns() - r->started_ns) / 1e6,
		 (long long)(r->auth.authenticated ? r->auth.account.id : 0), r->ip);
	return ret;
}

static enum MHD_Result answer(struct http_server *srv, struct MHD_Connection *conn,
			      struct http_request *r)
{
	r->route = "-";
	if (r->arrived_stopping) {
		http_header_add(r, "Connection", "close");
		http_reply_error(r, 503, "service_stopping", "the service is restarting; try again");
		return send_response(conn, r);
	}
	dispatch(srv, r, &r->route);
	if (r->deferred) {
		/* Park first, then start the work: its completion may resume
		 * the connection at once, from another thread. */
		MHD_suspend_connection(conn);
		r->deferred(r);
		return MHD_YES;
	}
	return send_response(conn, r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	(void)version;
	struct http_server *srv = cls;
	struct http_request *r = *con_cls;
	if (!r) {
		r = calloc(1, sizeof *r);
		if (!r)
			return MHD_NO;
		*con_cls = r;
		atomic_fetch_add(&srv->app->in_flight, 1);
		r->started_ns = mono_ns();
		r->app = srv->app;
		/* Requests that arrive after shutdown began are refused; those
		 * already under way finish normally. */
		r->arrived_stopping = atomic_load(&srv->app->stopping);
		r->conn = conn;
		r->method = method;
		unsigned char id[8];
		randombytes_buf(id, sizeof id);
		sodium_bin2hex(r->request_id, sizeof r->request_id, id, sizeof id);
		client_ip(conn, r->ip, sizeof r->ip);
		proxied_ip(srv->app, conn, r->ip, sizeof r->ip);
		if (srv->trust)
			client_cert(conn, r->client_cert);
		if (strlen(url) >= sizeof r->path) {
			r->url_too_long = true;
			snprintf(r->path, sizeof r->path, "/");
		} else {
			STR_COPY_KNOWN(r->path, url); /* its length was checked above */
		}
		r->body_cap = (size_t)srv->app->cfg.max_body_kb * 1024;
		/* Daily files pushed by municipalities are larger than requests. */
		if (!strcmp(r->path, "/api/v1/imports") && !strcmp(method, "POST"))
			r->body_cap = (size_t)srv->app->cfg.max_import_mb << 20;
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > r->body_cap)
			r->body_too_large = true;
		return MHD_YES;
	}
	if (r->resumed)
		return send_response(conn, r);
	if (*upload_data_size) {
		if (!r->body_too_large) {
			if (r->body_len + *upload_data_size > r->body_cap) {
				r->body_too_large = true;
				free(r->body);
				r->body = NULL;
				r->body_len = 0;
			} else {
				char *nb = realloc(r->body, r->body_len + *upload_data_size + 1);
				if (!nb)
					return MHD_NO;
				r->body = nb;
				memcpy(r->body + r->body_len, upload_data, *upload_data_size);
				r->body_len += *upload_data_size;
				r->body[r->body_len] = '\0';
			}
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	return answer(srv, conn, r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)conn;
	(void)toe;
	struct http_server *srv = cls;
	struct http_request *r = *con_cls;
	if (!r)
		return;
	*con_cls = NULL;
	if (r->handler_ctx_free)
		r->handler_ctx_free(r->handler_ctx);
	json_decref(r->json);
	free(r->body);
	free(r->resp);
	for (int i = 0; i < r->nheaders; i++) {
		free(r->headers[i][0]);
		free(r->headers[i][1]);
	}
	sodium_memzero(&r->auth, sizeof r->auth);
	free(r);
	atomic_fetch_sub(&srv->app->in_flight, 1);
}

/* Percent-decoding of the path and query: as usual, except that %00 becomes
 * DEL (0x7f), which no check accepts, instead of a NUL that would silently
 * cut the value short. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	char *w = s;
	for (const char *p = s; *p; p++) {
		int hi, lo;
		if (*p == '%' && p[1] && p[2] &&
		    (hi = (p[1] >= '0' && p[1] <= '9') ? p[1] - '0' : ((p[1] | 32) >= 'a' && (p[1] | 32) <= 'f') ? (p[1] | 32) - 'a' + 10 : -1) >= 0 &&
		    (lo = (p[2] >= '0' && p[2] <= '9') ? p[2] - '0' : ((p[2] | 32) >= 'a' && (p[2] | 32) <= 'f') ? (p[2] | 32) - 'a' + 10 : -1) >= 0) {
			char ch = (char)(hi * 16 + lo);
			*w++ = ch ? ch : 0x7f;
			p += 2;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* libmicrohttpd's own messages (clients that vanish mid-response...) go
 * to our log at debug level. */
__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	for (char *p = msg; *p; p++)
		if (*p == '"')
			*p = '\'';
	log_debug("libmicrohttpd", "detail=\"%s\"", msg);
}

/* ---- start and stop ---- */

static vis_err parse_listen(const char *listen, struct sockaddr_storage *ss,
			    struct vis_error *e)
{
	char host[64];
	const char *colon = strrchr(listen, ':');
	if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof host)
		return vis_error_set(e, VIS_ERR_INVALID, "listen: expected address:port, got '%s'", listen);
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return vis_error_set(e, VIS_ERR_INVALID, "listen: bad port in '%s'", listen);
	memset(ss, 0, sizeof *ss);
	if (host[0] == '[') {
		size_t n = strlen(host);
		if (n < 3 || host[n - 1] != ']')
			return vis_error_set(e, VIS_ERR_INVALID, "listen: bad IPv6 address '%s'", host);
		host[n - 1] = '\0';
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
			return vis_error_set(e, VIS_ERR_INVALID, "listen: bad IPv6 address '%s'", host + 1);
		return VIS_OK;
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	a4->sin_family = AF_INET;
	a4->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
		return vis_error_set(e, VIS_ERR_INVALID, "listen: bad IPv4 address '%s'", host);
	return VIS_OK;
}

static void free_secret(char *s, size_t len)
{
	if (s) {
		sodium_memzero(s, len);
		free(s);
	}
}

static vis_err start(struct app *app, const char *listen, bool tls,
		     const struct http_route *routes, http_gate gate, struct http_server **out,
		     struct vis_error *e);

vis_err http_server_start(struct app *app, const struct http_route *routes,
			  http_gate gate, struct http_server **out, struct vis_error *e)
{
	return start(app, app->cfg.listen, true, routes, gate, out, e);
}

vis_err http_server_start_plain(struct app *app, const char *listen,
				const struct http_route *routes, http_gate gate,
				struct http_server **out, struct vis_error *e)
{
	return start(app, listen, false, routes, gate, out, e);
}

static vis_err start(struct app *app, const char *listen, bool tls,
		     const struct http_route *routes, http_gate gate, struct http_server **out,
		     struct vis_error *e)
{
	const struct config *cfg = &app->cfg;
	struct sockaddr_storage ss;
	if (parse_listen(listen, &ss, e))
		return VIS_ERR_INVALID;
	struct http_server *srv = calloc(1, sizeof *srv);
	if (!srv)
		return vis_error_set(e, VIS_ERR_NOMEM, "out of memory");
	srv->app = app;
	srv->routes = routes;
	srv->gate = gate;
	size_t clen = 0, klen = 0;
	if (tls) {
		srv->cert = file_read_all(cfg->tls_cert, 1 << 20, &clen);
		srv->key = file_read_all(cfg->tls_key, 1 << 20, &klen);
	}
	if (tls) {
		/* Workstation certificates: requested (not required) when the
		 * municipality's CA exists; each request checks them. */
		char derived[CONFIG_PATH_MAX + 32];
		const char *ca = cfg->client_ca;
		if (!ca[0]) {
			char prefix[CONFIG_PATH_MAX];
			store_files_prefix(cfg->db, prefix, sizeof prefix);
			snprintf(derived, sizeof derived, "%s.ca-cert.pem", prefix);
			ca = derived;
		}
		size_t tl;
		srv->trust = file_read_all(ca, 1 << 20, &tl);
		if (!srv->trust && cfg->client_ca[0]) {
			free(srv);
			return vis_error_set(e, VIS_ERR_IO, "cannot read client_ca '%s'", ca);
		}
	}
	if (tls && (!srv->cert || !srv->key)) {
		free(srv->trust);
		free(srv->cert);
		free_secret(srv->key, klen);
		free(srv);
		return vis_error_set(e, VIS_ERR_IO, "cannot read the TLS certificate '%s' or key '%s'",
				     cfg->tls_cert, cfg->tls_key);
	}
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (tls)
		flags |= MHD_USE_TLS;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	struct MHD_OptionItem tls_opts[] = {
		{MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)cfg->threads, NULL},
		{MHD_OPTION_HTTPS_MEM_CERT, 0, srv->cert},
		{MHD_OPTION_HTTPS_MEM_KEY, 0, srv->key},
		{MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES},
		{srv->trust ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, srv->trust},
		{MHD_OPTION_END, 0, NULL},
	};
	struct MHD_OptionItem no_opts[] = {{MHD_OPTION_END, 0, NULL}};
	srv->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, srv,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_ARRAY, tls ? tls_opts : no_opts,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->per_ip_connections,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->connection_timeout,
		/* Bounds the request line and headers of one connection. */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
		MHD_OPTION_END);
	if (!srv->daemon) {
		free(srv->trust);
		free(srv->cert);
		free_secret(srv->key, klen);
		free(srv);
		return vis_error_set(e, VIS_ERR_IO, "cannot listen on %s (address in use, or a bad certificate)",
				     listen);
	}
	*out = srv;
	return VIS_OK;
}

void http_server_stop(struct http_server *srv, int grace_ms)
{
	if (!srv)
		return;
	/* No MHD_quiesce_daemon(): with a thread pool on epoll, libmicrohttpd
	 * 0.9.75 can abort while taking the listening socket out of the
	 * workers' epoll sets.  New requests are answered 503 from here on
	 * (app->stopping) while those in flight finish. */
	atomic_store(&srv->app->stopping, true);
	for (int waited = 0; waited < grace_ms && atomic_load(&srv->app->in_flight) > 0; waited += 10)
		usleep(10000);
	MHD_stop_daemon(srv->daemon);
	free(srv->cert);
	free(srv->trust);
	if (srv->key)
		free_secret(srv->key, strlen(srv->key));
	free(srv);
}
