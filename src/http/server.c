/* The libmicrohttpd daemon, the request lifecycle and the route table. */
#include "http/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common/cidr.h"
#include "common/csv.h"
#include "common/jsonw.h"
#include "common/log.h"
#include "common/monotime.h"
#include "common/text.h"
#include "common/str.h"
#include "http/tls.h"

struct http_server {
	struct MHD_Daemon *daemon;
	char *trust;              /* CA of client certificates, PEM */
	struct http_config cfg;   /* its strings below, owned */
	const struct http_route *routes;
	http_gate gate;
	char *tls_cert, *tls_key;          /* paths, read again by http_server_tls_reload */
	char *upload_dir;                  /* temporary files of ROUTE_FILE_BODY bodies */
	char *trusted_proxies, *client_ip_header;
	atomic_size_t uploads;             /* bytes of such bodies held now */
	pthread_mutex_t ticket_lock;
	gnutls_datum_t ticket_key;         /* session tickets' master key */
	int64_t ticket_key_at;             /* when it was made (monotonic, s) */
	/* Request ids: SipHash of a counter under a key drawn at start, so
	 * that a request costs no call to the kernel's random source; as
	 * unpredictable as random ids and, 64 bits wide, as unlikely to
	 * repeat. */
	unsigned char request_id_key[crypto_shorthash_KEYBYTES];
	atomic_uint_fast64_t request_count;
};

/* Mozilla's "intermediate" server profile: TLS 1.3 and 1.2 only, AEAD
 * ciphers only (AES-GCM, ChaCha20-Poly1305: no CBC), ephemeral ECDH on
 * X25519, P-256 or P-384, no SHA-1 signatures; the client's order. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:" \
	"-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:" \
	"-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:" \
	"+GROUP-SECP384R1:-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1"

/* Session tickets: a ticket lives TICKET_SECONDS (GnuTLS also rotates the
 * keys it derives from the master key on that period); the master key,
 * only ever in memory, is replaced every TICKET_MASTER_SECONDS. */
#define TICKET_SECONDS 3600
#define TICKET_MASTER_SECONDS (12 * 3600)

static const char csp[] =
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
	"font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
	"form-action 'self'; frame-ancestors 'none'";

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
	size_t len = 0;
	vis_err rc = VIS_ERR_NOMEM;
	char *text = obj ? jsonw_dumps(obj, JSONW_ASCII, HTTP_JSON_MAX, &len, &rc) : NULL;
	json_decref(obj);
	if (!text) {
		log_error("risposta non scritta", "request_id=%s error=\"%s\"", r->request_id,
			  vis_strerror(rc));
		reply_take(r, 500, "application/json", NULL, 0);
		return;
	}
	reply_take(r, status, "application/json", text, len);
}

void http_reply_error(struct http_request *r, int status, const char *code,
		      const char *message)
{
	json_t *j = json_pack("{s:{s:s,s:s,s:s}}", "error", "code", code, "message", message,
			      "request_id", r->request_id);
	if (!j) {
		/* A message that echoes what the caller sent, cut to fit inside
		 * a character ("%.32s" of a query parameter), is not UTF-8:
		 * json_pack refuses it, and the answer was a 500 with no body.
		 * The message is said, each malformed byte a '?'. */
		char shown[1024];
		str_copy_cut(shown, sizeof shown, message); /* no longer than any message */
		utf8_scrub(shown);
		j = json_pack("{s:{s:s,s:s,s:s}}", "error", "code", code, "message", shown,
			      "request_id", r->request_id);
	}
	http_reply_json(r, status, j);
}

void http_reply_internal(struct http_request *r, const struct vis_error *e)
{
	log_error("richiesta fallita", "request_id=%s error=\"%s\"", r->request_id,
		  e && e->msg[0] ? e->msg : "sconosciuto");
	if (e && e->code == VIS_ERR_BUSY) {
		/* another write holds the database (an import on SQLite), for
		 * seconds or minutes: not a failure, a moment to wait */
		http_header_add(r, "Retry-After", "30");
		http_reply_error(r, 503, "service_unavailable",
				 "la base dati è occupata da un'altra scrittura (un'importazione?): "
				 "riprovare tra poco");
	} else if (e && e->code == VIS_ERR_STORE) {
		http_header_add(r, "Retry-After", "30");
		http_reply_error(r, 503, "service_unavailable",
				 "il servizio non raggiunge la sua base dati: riprovare più tardi");
	} else {
		http_reply_error(r, 500, "internal_error",
				 "errore interno: comunicare all'assistenza l'identificativo della richiesta "
				 "(request_id)");
	}
}

bool http_header_add(struct http_request *r, const char *name, const char *value)
{
	if (r->nheaders == HTTP_MAX_HEADERS)
		return false;
	char *n = strdup(name), *v = strdup(value);
	if (!n || !v) {
		free(n);
		free(v);
		return false;
	}
	r->headers[r->nheaders][0] = n;
	r->headers[r->nheaders][1] = v;
	r->nheaders++;
	return true;
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
		http_reply_error(r, 400, "invalid_request",
				 "serve un corpo della richiesta: un oggetto JSON");
		return NULL;
	}
	json_error_t err;
	json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &err);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		http_reply_error(r, 400, "invalid_json",
				 "il corpo della richiesta non è un oggetto JSON valido");
		return NULL;
	}
	r->json = j;
	return j;
}

json_t *http_body_form(struct http_request *r)
{
	const char *type = http_header(r, "Content-Type");
	if (r->json || !type || strncasecmp(type, "application/x-www-form-urlencoded", 33))
		return http_body_object(r);
	char err[160];
	json_t *j = http_form_decode(r->body ? r->body : "", r->body_len, err, sizeof err);
	if (!j) {
		http_reply_error(r, 400, "invalid_request", err);
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
		/* a field's name, a constant of the route */
		STR_FMT_KNOWN(msg, "il campo \"%s\" è obbligatorio", field);
		http_reply_error(r, 400, "invalid_request", msg);
		return NULL;
	}
	if (!json_is_string(v)) {
		/* a field's name, a constant of the route */
		STR_FMT_KNOWN(msg, "il campo \"%s\" deve essere un testo", field);
		http_reply_error(r, 400, "invalid_request", msg);
		return NULL;
	}
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	uint32_t cp;
	if (len <= max && text_bidi_find(s, len, &cp)) {
		/* a field's name, a constant of the route */
		STR_FMT_KNOWN(msg,
			      "il campo \"%s\" contiene il controllo di direzione U+%04X "
			      "(testo mostrato in un ordine diverso da quello scritto): toglierlo",
			      field, (unsigned)cp);
		http_reply_error(r, 400, "invalid_request", msg);
		return NULL;
	}
	if (len > max || strlen(s) != len || !utf8_valid(s, len)) {
		STR_FMT_KNOWN(msg,
			      "il campo \"%s\" deve essere un testo UTF-8 di al massimo %zu byte",
			      field, max); /* a field's name, a constant of the route */

		http_reply_error(r, 400, "invalid_request", msg);
		return NULL;
	}
	if (required && len == 0) {
		/* a field's name, a constant of the route */
		STR_FMT_KNOWN(msg, "il campo \"%s\" non può essere vuoto", field);
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

/* Whether the name of n bytes is one of the space-separated words of list:
 * WORD_NO, WORD_YES, or WORD_EMPTY_OK when the word ends in "=" (the route
 * gives the parameter given empty a meaning of its own).  The empty name
 * is no word, whatever spaces the list has. */
enum word { WORD_NO, WORD_YES, WORD_EMPTY_OK };
static enum word word_in(const char *list, const char *name, size_t n)
{
	for (const char *w = list; n && w && *w;) {
		size_t len = strcspn(w, " ");
		bool empty_ok = len > 1 && w[len - 1] == '=';
		if (len - empty_ok == n && !memcmp(w, name, n))
			return empty_ok ? WORD_EMPTY_OK : WORD_YES;
		w += len + (w[len] == ' ');
	}
	return WORD_NO;
}

enum http_query_word http_query_word(const char *takes, const char *name, size_t name_len,
				     const char *value, size_t value_len)
{
	enum word w = word_in(takes, name, name_len);
	bool others = word_in(takes, "*", 1) != WORD_NO;
	if (w == WORD_NO)
		return others ? HTTP_QUERY_IGNORED : name_len ? HTTP_QUERY_UNKNOWN
							       : HTTP_QUERY_NAMELESS;
	/* "?limit=" or "?birth_date" is neither a value nor its absence: no
	 * silent default, unless the route gives it a meaning ("name=": an
	 * empty comuni is every municipality) or follows a protocol ("*"). */
	if (w == WORD_YES && !others && (!value || !value_len))
		return HTTP_QUERY_EMPTY;
	return HTTP_QUERY_TAKEN;
}

struct query_scan {
	const char *takes;
	const char *bad;   /* the first parameter not taken, given twice or empty */
	bool twice, empty;
	const char *seen[32];
	int n;
};

static enum MHD_Result query_scan_one(void *cls, enum MHD_ValueKind kind, const char *key,
				      size_t key_size, const char *value, size_t value_size)
{
	(void)kind;
	struct query_scan *q = cls;
	enum http_query_word w = http_query_word(q->takes, key, key_size, value, value_size);
	if (w == HTTP_QUERY_IGNORED)
		return MHD_YES;
	bool taken = w == HTTP_QUERY_TAKEN || w == HTTP_QUERY_EMPTY;
	for (int i = 0; taken && i < q->n; i++)
		q->twice = q->twice || !strcmp(q->seen[i], key);
	q->empty = w == HTTP_QUERY_EMPTY && !q->twice;
	if (!taken || q->twice || q->empty || q->n == (int)(sizeof q->seen / sizeof q->seen[0])) {
		q->bad = key;
		return MHD_NO;
	}
	q->seen[q->n++] = key;
	return MHD_YES;
}

bool http_query_refused(struct http_request *r, char out[HTTP_QUERY_MESSAGE])
{
	struct query_scan q = {.takes = r->found ? r->found->query : NULL};
	MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, query_scan_one, &q);
	if (!q.bad)
		return false;
	char name[64];
	str_copy_cut(name, 61, q.bad); /* at most 60 bytes, between characters */
	utf8_scrub(name);
	if (!*name)
		snprintf(out, HTTP_QUERY_MESSAGE, "la richiesta ha un parametro senza nome (un \"&\" "
			 "in più, o \"=\" senza un nome davanti) e non è stata eseguita");
	else if (q.twice)
		/* name of at most 60 bytes + 110 */
		STR_FMT_KNOWN_CAP(out, HTTP_QUERY_MESSAGE,
				  "il parametro \"%s\" è ripetuto: ognuno si dà una "
				  "volta sola, e la richiesta non è stata eseguita",
				  name);
	else if (q.empty)
		/* name of at most 60 bytes + 110 */
		STR_FMT_KNOWN_CAP(out, HTTP_QUERY_MESSAGE,
				  "il parametro \"%s\" è vuoto: si omette oppure gli "
				  "si dà un valore, e la richiesta non è stata eseguita",
				  name);
	else
		/* name of at most 60 bytes + 115 */
		STR_FMT_KNOWN_CAP(out, HTTP_QUERY_MESSAGE,
				  "il parametro \"%s\" non è previsto in questa richiesta, che "
				  "non è stata eseguita (i parametri ammessi sono in "
				  "docs/api.md)",
				  name);
	return true;
}

int http_query_count(struct http_request *r)
{
	return MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, NULL, NULL);
}

bool http_args_valid(struct http_request *r)
{
	bool bad = false;
	MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, arg_check, &bad);
	/* A %00 in the path was decoded to DEL by unescape(): refuse it too. */
	return !bad && !strchr(r->path, 0x7f);
}

/* ---- request framing: one way to tell where a request ends ---- */

/* Fields the service reads from one line, which their definitions allow
 * once (RFC 9110 §5.3: only a list may be repeated): given twice, a proxy
 * in front could read the other line than we do (credentials, a CSRF
 * token, the body's type).  The owner adds its own
 * (http_config.single_fields); Host and Content-Length are counted below. */
static const char *const single_fields[] = {
	"Authorization", "Content-Type", "Cookie", "Origin", "Sec-Fetch-Site", NULL,
};

struct framing {
	int host, content_length, transfer_encoding;
	const char *te;
	bool bad_name, bad_host;
	const char *const *lists[2];   /* single_fields, and the owner's */
	uint64_t seen;                 /* one bit per field of lists, in order */
	const char *twice;             /* the first of them given twice */
};

/* Counts a field of f->lists: its name as the list writes it when it was
 * seen already, else NULL. */
static const char *single_twice(struct framing *f, const char *key)
{
	int bit = 0;
	for (int l = 0; l < 2; l++)
		for (const char *const *n = f->lists[l]; n && *n && bit < 64; n++, bit++)
			if (!strcasecmp(key, *n)) {
				bool again = f->seen & (UINT64_C(1) << bit);
				f->seen |= UINT64_C(1) << bit;
				return again ? *n : NULL;
			}
	return NULL;
}

/* RFC 9110 §5.6.2: a field name is a token. */
static bool token_valid(const char *s, size_t n)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z') ||
		      (c && strchr(extra, c))))
			return false;
	}
	return true;
}

static enum MHD_Result framing_count(void *cls, enum MHD_ValueKind kind, const char *key,
				     size_t key_size, const char *value, size_t value_size)
{
	(void)kind;
	struct framing *f = cls;
	if (!token_valid(key, key_size))
		f->bad_name = true;
	const char *twice = single_twice(f, key);
	if (twice && !f->twice)
		f->twice = twice;
	if (!strcasecmp(key, MHD_HTTP_HEADER_HOST)) {
		f->host++;
		/* host [":" port], or an IPv6 literal: nothing else */
		if (!value || strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					    "0123456789-._:[]") != value_size)
			f->bad_host = true;
	} else if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
		f->content_length++;
	} else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
		f->transfer_encoding++;
		f->te = value;
	}
	return MHD_YES;
}

/* What makes the request's framing ambiguous (RFC 9112 §6.3), or one of
 * its fields read from one line (single_fields), so that a proxy in front
 * could see another request than we do, or NULL; out holds a message that
 * names a field.  An HTTP/1.1 request without Host never gets here
 * (libmicrohttpd, strict). */
static const char *framing_problem(const struct http_server *srv, struct MHD_Connection *c,
				   const char *version, char out[128])
{
	struct framing f = {.lists = {single_fields, srv->cfg.single_fields}};
	MHD_get_connection_values_n(c, MHD_HEADER_KIND, framing_count, &f);
	if (f.bad_name)
		return "un nome di intestazione contiene caratteri non ammessi";
	if (f.twice) {
		/* its precision bounds it */
		STR_FMT_KNOWN_CAP(out, 128,
				  "l'intestazione %.48s è ripetuta: va data una volta sola",
				  f.twice);
		return out;
	}
	if (f.host > 1)
		return "più di un'intestazione Host";
	if (f.bad_host)
		return "l'intestazione Host non è un nome di host né un indirizzo";
	if (f.content_length > 1)
		return "più di un'intestazione Content-Length";
	if (f.transfer_encoding) {
		if (strcmp(version, MHD_HTTP_VERSION_1_1))
			return "Transfer-Encoding in una richiesta HTTP/1.0";
		if (f.content_length)
			return "Transfer-Encoding e Content-Length insieme";
		if (f.transfer_encoding > 1 || !f.te || strcasecmp(f.te, "chunked"))
			return "l'unica codifica di trasferimento ammessa è chunked";
	}
	return NULL;
}

/* ---- routing and admission ---- */

/* RFC 9110 §9.3.2: HEAD wherever GET. */
static bool method_fits(const char *route_method, const char *method)
{
	return !strcmp(route_method, method) ||
	       (!strcmp(method, "HEAD") && !strcmp(route_method, "GET"));
}

static bool route_enabled(const struct http_server *srv, const struct http_route *rt)
{
	return !(rt->access & ROUTE_TEST) || srv->cfg.test_routes;
}

/* 405 with the methods the path has (RFC 9110 §15.5.6). */
static void reply_not_allowed(struct http_server *srv, struct http_request *r)
{
	char allow[64] = "";
	for (const struct http_route *rt = srv->routes; rt->method; rt++) {
		struct http_request scratch = {0};
		if (!route_enabled(srv, rt) || !route_match(rt->pattern, r->path, &scratch))
			continue;
		const char *m[2] = {rt->method, !strcmp(rt->method, "GET") ? "HEAD" : NULL};
		for (int i = 0; i < 2 && m[i]; i++) {
			size_t n = strlen(allow);
			/* the room is checked before the copy */
			if (!strstr(allow, m[i]) && n + strlen(m[i]) + 3 < sizeof allow)
				STR_FMT_KNOWN_CAP(allow + n, sizeof allow - n, "%s%s",
						  n ? ", " : "", m[i]);
		}
	}
	http_header_add(r, "Allow", allow);
	http_reply_error(r, 405, "method_not_allowed",
			 "metodo non ammesso per questo indirizzo (vedere l'intestazione Allow)");
}

static void reply_too_large(struct http_request *r)
{
	char msg[96];
	snprintf(msg, sizeof msg, "il corpo della richiesta supera il limite di %zu byte",
		 r->body_cap);
	http_reply_error(r, 413, "payload_too_large", msg);
}

static size_t body_limit(const struct http_server *srv, const struct http_route *rt)
{
	if (rt->body_max)
		return rt->body_max;
	return rt->access & ROUTE_FILE_BODY ? srv->cfg.max_file_body : srv->cfg.max_body;
}

/* Takes `n` bytes of the server's quota of bodies being uploaded. */
static bool upload_reserve(struct http_server *srv, struct http_request *r, size_t n)
{
	size_t quota = srv->cfg.max_uploads;
	size_t before = atomic_fetch_add(&srv->uploads, n);
	if (before + n > quota) {
		atomic_fetch_sub(&srv->uploads, n);
		return false;
	}
	r->body_reserved += n;
	return true;
}

/* Decided on the request line and headers alone, before any byte of the
 * body is read: framing, route, arguments, declared size, quota, gate.
 * False when the request has been answered (refused). */
static bool admit(struct http_server *srv, struct http_request *r, const char *version)
{
	char named[128];
	const char *why = framing_problem(srv, r->conn, version, named);
	if (why) {
		r->framing_bad = true;
		http_header_add(r, "Connection", "close");
		http_reply_error(r, 400, "invalid_request", why);
		return false;
	}
	if (r->url_too_long) {
		http_reply_error(r, 414, "uri_too_long",
				 "l'indirizzo della richiesta (URI) è troppo lungo");
		return false;
	}
	bool path_known = false;
	for (const struct http_route *rt = srv->routes; rt->method && !r->found; rt++) {
		if (!route_enabled(srv, rt) || !route_match(rt->pattern, r->path, r))
			continue;
		path_known = true;
		if (method_fits(rt->method, r->method))
			r->found = rt;
	}
	if (!r->found) {
		if (path_known)
			reply_not_allowed(srv, r);
		else
			http_reply_error(r, 404, "not_found", "risorsa inesistente");
		return false;
	}
	r->route = r->found->pattern;
	if (!(r->found->access & ROUTE_OWN_ARGS) && !http_args_valid(r)) {
		http_reply_error(r, 400, "invalid_request", HTTP_ARGS_MESSAGE);
		return false;
	}
	char refusal[HTTP_QUERY_MESSAGE];
	if (!(r->found->access & ROUTE_OWN_ARGS) && http_query_refused(r, refusal)) {
		http_reply_error(r, 400, "invalid_request", refusal);
		return false;
	}
	r->body_cap = body_limit(srv, r->found);
	const char *cl = http_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long declared = cl ? strtoull(cl, NULL, 10) : 0;
	if (declared > r->body_cap) {
		reply_too_large(r);
		return false;
	}
	if (!srv->gate(r, r->found))
		return false;
	if ((r->found->access & ROUTE_FILE_BODY) && declared && !upload_reserve(srv, r, declared)) {
		http_header_add(r, "Retry-After", "60");
		http_reply_error(r, 503, "uploads_busy",
				 "troppi caricamenti in corso: riprovare più tardi");
		return false;
	}
	return true;
}

/* Runs the handler once the whole body is in. */
static void dispatch(const struct http_server *srv, struct http_request *r)
{
	if (r->body_too_large) {
		reply_too_large(r);
		return;
	}
	if (r->upload_refused) {
		http_header_add(r, "Retry-After", "60");
		http_reply_error(r, 503, "uploads_busy",
				 "il caricamento non può essere salvato ora: riprovare più tardi");
		return;
	}
	if (srv->cfg.on_body && !srv->cfg.on_body(r))
		return;
	r->found->handler(r);
	if (!r->status && !r->deferred)
		http_reply_error(r, 500, "internal_error",
				 "il servizio non ha prodotto una risposta");
}

/* ---- bodies ---- */

static void body_drop(struct http_request *r)
{
	free(r->body);
	r->body = NULL;
	if (r->body_fd >= 0)
		close(r->body_fd);
	r->body_fd = -1;
}

/* An unlinked temporary file beside the database, readable by us only. */
static int upload_file_open(const struct http_server *srv)
{
	char path[4096 + 32];
	if ((size_t)snprintf(path, sizeof path, "%s/.visura-upload-XXXXXX", srv->upload_dir) >=
	    sizeof path)
		return -1;
	int fd = mkstemp(path);
	if (fd >= 0) {
		unlink(path);
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	return fd;
}

static void body_to_file(struct http_server *srv, struct http_request *r, const char *data,
			 size_t n)
{
	if (r->body_len + n > r->body_reserved &&
	    !upload_reserve(srv, r, r->body_len + n - r->body_reserved)) {
		r->upload_refused = true;
		body_drop(r);
		return;
	}
	if (r->body_fd < 0 && (r->body_fd = upload_file_open(srv)) < 0) {
		log_warn("file di caricamento non creato", "request_id=%s dir=%s", r->request_id,
			 srv->upload_dir);
		r->upload_refused = true;
		return;
	}
	for (size_t done = 0; done < n;) {
		ssize_t w = write(r->body_fd, data + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_warn("file di caricamento non scritto",
				 "request_id=%s dir=%s error=\"%s\"",
				 r->request_id, srv->upload_dir, strerror(errno));
			r->upload_refused = true;
			body_drop(r);
			return;
		}
		done += (size_t)w;
	}
	r->body_len += n;
}

static bool body_to_memory(struct http_request *r, const char *data, size_t n)
{
	char *nb = realloc(r->body, r->body_len + n + 1);
	if (!nb)
		return false;
	r->body = nb;
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return true;
}

FILE *http_body_stream(struct http_request *r)
{
	if (r->body_fd < 0 || lseek(r->body_fd, 0, SEEK_SET) != 0)
		return NULL;
	int fd = dup(r->body_fd);
	FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
	if (!f && fd >= 0)
		close(fd);
	return f;
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

struct last_line {
	const char *name;
	const char *value; /* the last line's */
};

static enum MHD_Result last_line_of(void *cls, enum MHD_ValueKind kind, const char *key,
				    size_t key_size, const char *value, size_t value_size)
{
	(void)kind, (void)key_size, (void)value_size;
	struct last_line *l = cls;
	if (!strcasecmp(key, l->name))
		l->value = value;
	return MHD_YES;
}

/* Behind a reverse proxy: when the peer is a trusted proxy, the client is
 * the right-most address of the configured header (the one that proxy
 * added); from anyone else the header is ignored.  Its lines are one list
 * in order (RFC 9110 §5.3): a proxy may add a line of its own after the
 * client's (HAProxy's option forwardfor) instead of extending it, so the
 * right-most entry is the last line's, never the first's. */
static void proxied_ip(const struct http_server *srv, struct MHD_Connection *c, char *ip,
		       size_t cap)
{
	if (!srv->trusted_proxies[0] || !cidr_list_contains(srv->trusted_proxies, ip))
		return;
	struct last_line line = {.name = srv->client_ip_header};
	MHD_get_connection_values_n(c, MHD_HEADER_KIND, last_line_of, &line);
	const char *h = line.value;
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
	if (gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) >= 0)
		tls_crt_serial_hex(crt, serial_hex);
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

static enum MHD_Result send_response(const struct http_server *srv, struct MHD_Connection *conn,
				       struct http_request *r)
{
	if (srv->cfg.on_send)
		srv->cfg.on_send(r);
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
	if (srv->cfg.on_response)
		srv->cfg.on_response(r, (double)(monotime_ns() - r->started_ns) / 1e9);
	return ret;
}

static enum MHD_Result answer(const struct http_server *srv, struct MHD_Connection *conn,
				struct http_request *r)
{
	dispatch(srv, r);
	if (r->deferred) {
		/* Park first, then start the work: its completion may resume
		 * the connection at once, from another thread. */
		MHD_suspend_connection(conn);
		r->deferred(r);
		return MHD_YES;
	}
	return send_response(srv, conn, r);
}

/* A request with room for the caller's view of who is calling after it
 * (aligned for any type), all zero. */
static struct http_request *request_new(const struct http_server *srv)
{
	size_t align = _Alignof(max_align_t);
	size_t at = (sizeof(struct http_request) + align - 1) / align * align;
	struct http_request *r = calloc(1, at + srv->cfg.auth_size);
	if (r)
		r->auth = (struct http_auth *)(void *)((char *)r + at);
	return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct http_server *srv = cls;
	struct http_request *r = *con_cls;
	if (!r) {
		r = request_new(srv);
		if (!r)
			return MHD_NO;
		*con_cls = r;
		atomic_fetch_add(srv->cfg.in_flight, 1);
		r->started_ns = monotime_ns();
		r->app = srv->cfg.owner;
		/* Requests that arrive after shutdown began are refused; those
		 * already under way finish normally. */
		r->arrived_stopping = atomic_load(srv->cfg.stopping);
		r->conn = conn;
		r->method = method;
		unsigned char n[8], id[crypto_shorthash_BYTES];
		uint64_t count = atomic_fetch_add(&srv->request_count, 1);
		for (int i = 0; i < 8; i++)
			n[i] = (unsigned char)(count >> (8 * i));
		crypto_shorthash(id, n, sizeof n, srv->request_id_key);
		_Static_assert(sizeof r->request_id >= 2 * sizeof id + 1, "request id's hex");
		str_hex(r->request_id, id, sizeof id);   /* public: sent in X-Request-Id */
		client_ip(conn, r->ip, sizeof r->ip);
		proxied_ip(srv, conn, r->ip, sizeof r->ip);
		if (srv->trust)
			client_cert(conn, r->client_cert);
		if (strlen(url) >= sizeof r->path) {
			r->url_too_long = true;
			snprintf(r->path, sizeof r->path, "/");
		} else {
			STR_COPY_KNOWN(r->path, url); /* its length was checked above */
		}
		r->body_fd = -1;
		r->route = "-";
		if (r->arrived_stopping) {
			http_header_add(r, "Connection", "close");
			http_reply_error(r, 503, "service_stopping",
					 "il servizio si sta riavviando: riprovare tra poco");
		} else if (admit(srv, r, version)) {
			return MHD_YES;
		}
		/* Refused.  With a body to come, the answer goes now:
		 * libmicrohttpd then reads none of it (no "100 Continue") and
		 * closes the connection.  Without, at the next call, so that the
		 * connection may stay open. */
		r->answered = true;
		const char *cl = http_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (r->framing_bad || http_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING) ||
		    (cl && strcmp(cl, "0")))
			return send_response(srv, conn, r);
		return MHD_YES;
	}
	if (r->resumed || r->answered)
		return send_response(srv, conn, r);
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (r->body_too_large || r->upload_refused)
			return MHD_YES;      /* the rest is read and thrown away */
		if (r->body_len + n > r->body_cap) {
			r->body_too_large = true;
			body_drop(r);
		} else if ((r->found->access & ROUTE_FILE_BODY)) {
			body_to_file(srv, r, upload_data, n);
		} else if (!body_to_memory(r, upload_data, n)) {
			return MHD_NO;
		}
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
	body_drop(r);
	atomic_fetch_sub(&srv->uploads, r->body_reserved);
	free(r->resp);
	for (int i = 0; i < r->nheaders; i++) {
		free(r->headers[i][0]);
		free(r->headers[i][1]);
	}
	sodium_memzero(r->auth, srv->cfg.auth_size);
	free(r);
	atomic_fetch_sub(srv->cfg.in_flight, 1);
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

/* libmicrohttpd's own messages go to our log at warn: refused connections
 * (connection limit, per_ip_connections), TLS errors, clients that vanish
 * mid-response.  Bounded, as a flood of refused connections would flood
 * the log: at most MHD_LOG_LINES in a window of MHD_LOG_WINDOW seconds
 * (begun by its first message), one process-wide budget (the log is one);
 * past it they are counted, and the count written in one line when a
 * message comes after the window, at http_server_log_flush (`visura serve`
 * every 5 s) or when a server stops.  A request's path, which may name a
 * person (/api/v1/persons/:cf), is left out of the messages that quote it
 * (http_mhd_message). */
#define MHD_LOG_LINES 20
#define MHD_LOG_WINDOW 60

/* Monotonic seconds, never 0. */
static int64_t mono_s(void)
{
	return monotime_s() + 1;
}

static struct {
	pthread_mutex_t lock;
	int64_t start;            /* monotonic second the window began; 0: none yet */
	int lines;                /* written in it */
	unsigned long dropped;    /* left out in it */
} mhd_budget = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The count of the window that ended (all of it when `force`); the lock
 * held. */
static void mhd_log_summary(int64_t now, bool force)
{
	if (!force && now - mhd_budget.start < MHD_LOG_WINDOW)
		return;
	if (mhd_budget.dropped)
		log_warn("avvisi di libmicrohttpd omessi", "dropped=%lu written=%d window_s=%d",
			 mhd_budget.dropped, mhd_budget.lines, MHD_LOG_WINDOW);
	mhd_budget.start = 0;
	mhd_budget.lines = 0;
	mhd_budget.dropped = 0;
}

void http_server_log_flush(void)
{
	pthread_mutex_lock(&mhd_budget.lock);
	mhd_log_summary(mono_s(), false);
	pthread_mutex_unlock(&mhd_budget.lock);
}

void http_mhd_message(char *out, size_t cap, const char *fmt, va_list ap)
{
	/* "... request for `%s' ...": the path is the first conversion. */
	char no_path[512];
	const char *rf = strstr(fmt, "request for "), *pc = strchr(fmt, '%');
	if (rf && pc > rf && pc[1] == 's' &&
	    snprintf(no_path, sizeof no_path, "%.*s(percorso omesso)%s", (int)(pc - fmt), fmt,
		     pc + 2) < (int)sizeof no_path) {
		(void)va_arg(ap, const char *);
		fmt = no_path;
	}
	vsnprintf(out, cap, fmt, ap);
	size_t n = strlen(out);
	while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	for (char *p = out; *p; p++)
		if (*p == '"')
			*p = '\'';
}

__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	int64_t now = mono_s();
	pthread_mutex_lock(&mhd_budget.lock);
	if (mhd_budget.start)
		mhd_log_summary(now, false);
	if (!mhd_budget.start)
		mhd_budget.start = now;
	bool keep = mhd_budget.lines < MHD_LOG_LINES;
	if (keep)
		mhd_budget.lines++;
	else
		mhd_budget.dropped++;
	pthread_mutex_unlock(&mhd_budget.lock);
	if (!keep)
		return;
	char msg[512];
	http_mhd_message(msg, sizeof msg, fmt, ap);
	log_warn("avviso di libmicrohttpd", "detail=\"%s\"", msg);
}

/* ---- TLS sessions: tickets, no client-initiated renegotiation ---- */

/* libmicrohttpd hands the socket to GnuTLS as is; this sits between them
 * on every TLS connection.  It follows the record headers the client
 * sends (their type is in clear).  After the client's ChangeCipherSpec the
 * one handshake record to come is its Finished (TLS 1.2; in TLS 1.3 what
 * follows is hidden as application data, or is the second ClientHello
 * after a HelloRetryRequest): another one can only start a renegotiation,
 * which would cost the server a handshake for nothing, so the connection
 * is cut at once. */
struct tls_guard {
	int fd;
	unsigned char head[5];
	size_t head_have;
	size_t body_left;           /* bytes of the current record still to come */
	bool ccs_seen;
	int handshakes_after_ccs;
	bool refused;               /* cut: nothing more is sent, not even close_notify */
};

static bool guard_follow(struct tls_guard *g, const unsigned char *p, size_t n)
{
	while (n) {
		if (g->body_left) {
			size_t k = n < g->body_left ? n : g->body_left;
			g->body_left -= k;
			p += k;
			n -= k;
			continue;
		}
		g->head[g->head_have++] = *p++;
		n--;
		if (g->head_have < sizeof g->head)
			continue;
		g->head_have = 0;
		g->body_left = (size_t)g->head[3] << 8 | g->head[4];
		if (g->head[0] == 20)
			g->ccs_seen = true;
		else if (g->head[0] == 22 && g->ccs_seen && ++g->handshakes_after_ccs > 1)
			return false;
	}
	return true;
}

static ssize_t guard_pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	struct tls_guard *g = ptr;
	ssize_t n = recv(g->fd, buf, len, 0);
	if (n > 0 && !guard_follow(g, buf, (size_t)n)) {
		/* Reset rather than closed: the client sees an error, not an end. */
		struct linger hard = {1, 0};
		setsockopt(g->fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
		log_warn("rinegoziazione TLS chiesta dal client rifiutata", "%s", "");
		g->refused = true;
		errno = ECONNRESET;
		return -1;
	}
	return n;
}

static ssize_t guard_push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
	struct tls_guard *g = ptr;
	if (g->refused) {
		errno = EPIPE;
		return -1;
	}
	struct msghdr m = {.msg_iov = (struct iovec *)(void *)iov, .msg_iovlen = (size_t)iovcnt};
	return sendmsg(g->fd, &m, MSG_NOSIGNAL);
}

/* The ticket master key, replaced when it is older than its period. */
static bool ticket_key_fresh(struct http_server *srv)
{
	int64_t now = monotime_s();
	if (srv->ticket_key.data && now - srv->ticket_key_at < TICKET_MASTER_SECONDS)
		return true;
	gnutls_datum_t key = {NULL, 0};
	if (gnutls_session_ticket_key_generate(&key) < 0)
		return srv->ticket_key.data != NULL;
	if (srv->ticket_key.data) {
		gnutls_memset(srv->ticket_key.data, 0, srv->ticket_key.size);
		gnutls_free(srv->ticket_key.data);
	}
	srv->ticket_key = key;
	srv->ticket_key_at = now;
	return true;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode code)
{
	struct http_server *srv = cls;
	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		free(*socket_ctx);
		*socket_ctx = NULL;
		return;
	}
	const union MHD_ConnectionInfo *ti =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	const union MHD_ConnectionInfo *fi =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ti || !ti->tls_session || !fi)
		return;
	gnutls_session_t tls = (gnutls_session_t)ti->tls_session;
	/* Called before the handshake: what is set here applies to it. */
	struct tls_guard *g = calloc(1, sizeof *g);
	if (g) {
		g->fd = fi->connect_fd;
		*socket_ctx = g;
		gnutls_transport_set_ptr(tls, g);
		gnutls_transport_set_pull_function(tls, guard_pull);
		gnutls_transport_set_vec_push_function(tls, guard_push);
	}
	pthread_mutex_lock(&srv->ticket_lock);
	if (ticket_key_fresh(srv) && gnutls_session_ticket_enable_server(tls, &srv->ticket_key) >= 0)
		gnutls_db_set_cache_expiration(tls, TICKET_SECONDS);
	pthread_mutex_unlock(&srv->ticket_lock);
}

/* ---- start and stop ---- */

static vis_err parse_listen(const char *listen, struct sockaddr_storage *ss,
			    struct vis_error *e)
{
	char host[64];
	const char *colon = strrchr(listen, ':');
	if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof host)
		return vis_error_set(e, VIS_ERR_INVALID, "ascolto '%s': atteso indirizzo:porta", listen);
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	int64_t port; /* digits only: strtol alone took ": 8443" and ":+8443" */
	if (!str_uint(colon + 1, 65535, &port) || port < 1)
		return vis_error_set(e, VIS_ERR_INVALID, "ascolto '%s': la porta è un numero intero da 1 a 65535", listen);
	memset(ss, 0, sizeof *ss);
	if (host[0] == '[') {
		size_t n = strlen(host);
		if (n < 3 || host[n - 1] != ']')
			return vis_error_set(e, VIS_ERR_INVALID, "ascolto: indirizzo IPv6 non valido '%s'", host);
		host[n - 1] = '\0';
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
			return vis_error_set(e, VIS_ERR_INVALID, "ascolto: indirizzo IPv6 non valido '%s'", host + 1);
		return VIS_OK;
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	a4->sin_family = AF_INET;
	a4->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
		return vis_error_set(e, VIS_ERR_INVALID, "ascolto: indirizzo IPv4 non valido '%s'", host);
	return VIS_OK;
}

static void server_free(struct http_server *srv)
{
	free(srv->trust);
	free(srv->tls_cert);
	free(srv->tls_key);
	free(srv->upload_dir);
	free(srv->trusted_proxies);
	free(srv->client_ip_header);
	sodium_memzero(srv->request_id_key, sizeof srv->request_id_key);
	free(srv);
}

vis_err http_server_start(const struct http_config *cfg, const struct http_route *routes,
			  http_gate gate, struct http_server **out, struct vis_error *e)
{
	const char *listen = cfg->listen;
	bool tls = cfg->tls;
	struct sockaddr_storage ss;
	if (parse_listen(listen, &ss, e))
		return VIS_ERR_INVALID;
	struct http_server *srv = calloc(1, sizeof *srv);
	if (!srv)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	crypto_shorthash_keygen(srv->request_id_key);
	srv->cfg = *cfg;
	srv->routes = routes;
	srv->gate = gate;
	srv->upload_dir = strdup(cfg->upload_dir && cfg->upload_dir[0] ? cfg->upload_dir : ".");
	srv->trusted_proxies = strdup(cfg->trusted_proxies ? cfg->trusted_proxies : "");
	srv->client_ip_header = strdup(cfg->client_ip_header ? cfg->client_ip_header : "");
	if (!srv->upload_dir || !srv->trusted_proxies || !srv->client_ip_header) {
		server_free(srv);
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	/* Only the copies stay. */
	srv->cfg.listen = srv->cfg.tls_cert = srv->cfg.tls_key = srv->cfg.client_ca = NULL;
	srv->cfg.upload_dir = srv->upload_dir;
	srv->cfg.trusted_proxies = srv->trusted_proxies;
	srv->cfg.client_ip_header = srv->client_ip_header;
	pthread_mutex_init(&srv->ticket_lock, NULL);
	if (tls) {
		/* The certificate comes from tls_identity_retrieve at each
		 * handshake, so that SIGHUP can replace it. */
		srv->tls_cert = strdup(cfg->tls_cert ? cfg->tls_cert : "");
		srv->tls_key = strdup(cfg->tls_key ? cfg->tls_key : "");
		if (!srv->tls_cert || !srv->tls_key) {
			pthread_mutex_destroy(&srv->ticket_lock);
			server_free(srv);
			return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
		}
		if (tls_identity_load(srv->tls_cert, srv->tls_key, e)) {
			pthread_mutex_destroy(&srv->ticket_lock);
			server_free(srv);
			return VIS_ERR_IO;
		}
		/* Workstation certificates: requested (not required) when the
		 * municipality's CA exists; each request checks them. */
		size_t tl;
		if (cfg->client_ca && cfg->client_ca[0])
			srv->trust = file_read_all(cfg->client_ca, 1 << 20, &tl);
		if (!srv->trust && cfg->client_ca_required) {
			vis_error_set(e, VIS_ERR_IO, "impossibile leggere "
						     "client_ca '%s'", cfg->client_ca);
			pthread_mutex_destroy(&srv->ticket_lock);
			tls_identity_release();
			server_free(srv);
			return VIS_ERR_IO;
		}
	}
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (tls)
		flags |= MHD_USE_TLS;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	struct MHD_OptionItem tls_opts[] = {
		{MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)cfg->threads, NULL},
		{MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)tls_identity_retrieve},
		{MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES},
		{srv->trust ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, srv->trust},
		{MHD_OPTION_END, 0, NULL},
	};
	struct MHD_OptionItem no_opts[] = {{MHD_OPTION_END, 0, NULL}};
	srv->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, srv,
		/* First: the messages of the options after it come here too. */
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_ARRAY, tls ? tls_opts : no_opts,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->per_ip_connections,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->connection_timeout,
		/* Bounds the request line and headers of one connection. */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
		MHD_OPTION_NOTIFY_CONNECTION, tls ? on_connection : NULL, srv,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
		/* HTTP/1.1 without Host, spaces in the request target: 400. */
		MHD_OPTION_STRICT_FOR_CLIENT, 1,
		MHD_OPTION_END);
	if (!srv->daemon) {
		vis_error_set(e, VIS_ERR_IO, "impossibile mettersi in ascolto su %s (indirizzo in "
					     "uso, o un certificato non valido)",
			      listen);
		pthread_mutex_destroy(&srv->ticket_lock);
		if (tls)
			tls_identity_release();
		server_free(srv);
		return VIS_ERR_IO;
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
	 * (*cfg.stopping) while those in flight finish. */
	atomic_store(srv->cfg.stopping, true);
	for (int waited = 0; waited < grace_ms && atomic_load(srv->cfg.in_flight) > 0; waited += 10)
		usleep(10000);
	MHD_stop_daemon(srv->daemon);
	pthread_mutex_lock(&mhd_budget.lock);
	mhd_log_summary(0, true);
	pthread_mutex_unlock(&mhd_budget.lock);
	if (srv->ticket_key.data) {
		gnutls_memset(srv->ticket_key.data, 0, srv->ticket_key.size);
		gnutls_free(srv->ticket_key.data);
	}
	pthread_mutex_destroy(&srv->ticket_lock);
	if (srv->tls_cert)
		tls_identity_release();
	server_free(srv);
}

vis_err http_server_tls_reload(struct http_server *srv, struct vis_error *e)
{
	if (!srv->tls_cert)
		return vis_error_set(e, VIS_ERR_INVALID, "non è un ascolto HTTPS");
	return tls_identity_load(srv->tls_cert, srv->tls_key, e);
}
