/* Unit tests: the http layer on its own, with no app, store or api above
 * it — a plain listener on 127.0.0.1 with routes of this file: each route's
 * own body limit (413 on the declared length, before the handler), the
 * server's default for the others, the caller's view of who is calling as
 * an opaque slot the gate fills, ROUTE_TEST routes only when enabled, and
 * the per-response hook; libmicrohttpd's messages as the log gets them (a
 * request's path left out). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/http.h"
#include "http/tls.h"

/* This file's own view of the caller: the http layer only sizes it. */
struct http_auth {
	int gate_calls;
	char who[16];
};

static void h_echo(struct http_request *r)
{
	char text[64];
	snprintf(text, sizeof text, "%zu %s", r->body_len, r->auth->who);
	http_reply_bytes(r, 200, "text/plain", text, strlen(text));
}

static const struct http_route routes[] = {
	{"POST", "/small", h_echo, ROUTE_PUBLIC, 16, NULL},
	{"POST", "/default", h_echo, ROUTE_PUBLIC, 0, NULL},
	{"POST", "/test-only", h_echo, ROUTE_PUBLIC | ROUTE_TEST, 0, NULL},
	{NULL, NULL, NULL, 0, 0, NULL},
};

static bool gate(struct http_request *r, const struct http_route *route)
{
	(void)route;
	r->auth->gate_calls++;
	memcpy(r->auth->who, "gatekeeper", 11);
	return true;
}

static int responses, last_status;

static void on_response(struct http_request *r, double seconds)
{
	assert_true(seconds >= 0);
	responses++;
	last_status = r->status;
}

static int port;

/* One request; returns its status and copies the body into out. */
static int call(const char *path, size_t len, char *out, size_t cap)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	char head[256];
	int n = snprintf(head, sizeof head, "POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n", path, len);
	assert_int_equal(write(fd, head, (size_t)n), n);
	char body[128];
	memset(body, 'b', sizeof body);
	(void)!write(fd, body, len); /* the server may have answered and closed already */
	char resp[2048];
	size_t got = 0;
	ssize_t k;
	while (got < sizeof resp - 1 && (k = read(fd, resp + got, sizeof resp - 1 - got)) > 0)
		got += (size_t)k;
	resp[got] = '\0';
	close(fd);
	int status = 0;
	sscanf(resp, "HTTP/1.1 %d", &status);
	const char *b = strstr(resp, "\r\n\r\n");
	if (out) {
		out[0] = '\0';
		if (b)
			snprintf(out, cap, "%s", b + 4);
	}
	return status;
}

static atomic_int in_flight;
static atomic_bool stopping;

static struct http_server *start(bool test_routes)
{
	struct http_config cfg = {.tls = false, .max_body = 64, .max_file_body = 1024,
				  .max_uploads = 4096, .threads = 1, .max_connections = 16,
				  .per_ip_connections = 16, .connection_timeout = 5,
				  .test_routes = test_routes, .auth_size = sizeof(struct http_auth),
				  .in_flight = &in_flight, .stopping = &stopping,
				  .on_response = on_response};
	char listen[32];
	struct http_server *srv = NULL;
	for (int i = 0; i < 50 && !srv; i++) {
		port = 20000 + (int)((getpid() * 7 + i * 131) % 30000);
		snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
		cfg.listen = listen;
		struct vis_error e = {0};
		if (http_server_start(&cfg, routes, gate, &srv, &e))
			srv = NULL;
	}
	assert_non_null(srv);
	return srv;
}

static void test_route_limits(void **state)
{
	(void)state;
	struct http_server *srv = start(false);
	char body[256];
	responses = 0;
	assert_int_equal(call("/small", 16, body, sizeof body), 200);
	assert_string_equal(body, "16 gatekeeper");
	assert_int_equal(call("/small", 17, body, sizeof body), 413);
	assert_non_null(strstr(body, "payload_too_large"));
	/* the server's default (max_body) where the route declares none */
	assert_int_equal(call("/default", 64, body, sizeof body), 200);
	assert_string_equal(body, "64 gatekeeper");
	assert_int_equal(call("/default", 65, body, sizeof body), 413);
	/* test routes exist only when enabled */
	assert_int_equal(call("/test-only", 1, body, sizeof body), 404);
	assert_int_equal(responses, 5);
	assert_int_equal(last_status, 404);
	http_server_stop(srv, 1000);
	atomic_store(&stopping, false);
	srv = start(true);
	assert_int_equal(call("/test-only", 1, body, sizeof body), 200);
	http_server_stop(srv, 1000);
	atomic_store(&stopping, false);
	assert_int_equal(atomic_load(&in_flight), 0);
}

/* A workstation is registered under the serial tls_client_issue returns
 * and recognised by the serial the listener reads from the certificate:
 * the two are the same for every certificate issued.  (A random serial
 * with a first byte of 0 used to be registered as 32 hex digits while DER
 * keeps 30: one workstation certificate in 128 was never recognised.) */
static void test_client_serials(void **state)
{
	(void)state;
	char dir[] = "/tmp/visura-serials-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char ca[64], cakey[64], cert[64], key[64];
	snprintf(ca, sizeof ca, "%s/ca.pem", dir);
	snprintf(cakey, sizeof cakey, "%s/ca.key", dir);
	snprintf(cert, sizeof cert, "%s/ws.pem", dir);
	snprintf(key, sizeof key, "%s/ws.key", dir);
	struct vis_error e = {0};
	assert_int_equal(tls_ca_create(ca, cakey, "Comune di prova", &e), VIS_OK);
	for (int i = 0; i < 400; i++) {
		char issued[41], read[41];
		int64_t expires;
		assert_int_equal(tls_client_issue(ca, cakey, "ws", 7, 30, cert, key, issued,
						  &expires, &e), VIS_OK);
		gnutls_datum_t pem = {0};
		gnutls_x509_crt_t crt;
		assert_true(gnutls_load_file(cert, &pem) >= 0);
		assert_true(gnutls_x509_crt_init(&crt) >= 0);
		assert_true(gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM) >= 0);
		assert_int_equal(tls_crt_serial_hex(crt, read), 0);
		assert_string_equal(issued, read);
		assert_int_equal(strlen(issued), 32); /* 16 bytes, none dropped */
		assert_true(strncmp(issued, "00", 2) && issued[0] < '8');
		gnutls_x509_crt_deinit(crt);
		gnutls_free(pem.data);
	}
	unlink(ca);
	unlink(cakey);
	unlink(cert);
	unlink(key);
	rmdir(dir);
}

/* libmicrohttpd's message through http_mhd_message, as mhd_log does. */
__attribute__((format(printf, 3, 4)))
static void mhd_message(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	http_mhd_message(out, cap, fmt, ap);
	va_end(ap);
}

/* libmicrohttpd's own formats (0.9.75): the path a message quotes, which
 * may name a person, is left out, the rest kept; a newline cannot end the
 * line, a double quote cannot close the log's detail="...". */
static void test_library_messages(void **state)
{
	(void)state;
	char out[512];
	mhd_message(out, sizeof out,
		    "Failed to send the response headers for the request for `%s'. Error: %s\n",
		    "/api/v1/persons/RSSMRA80A01H501U", "Broken pipe");
	assert_string_equal(out, "Failed to send the response headers for the request for "
				 "`(percorso omesso)'. Error: Broken pipe");
	mhd_message(out, sizeof out, "Failed to send data in request for %s.\n",
		    "/api/v1/persons/RSSMRA80A01H501U/history");
	assert_string_equal(out, "Failed to send data in request for (percorso omesso).");
	mhd_message(out, sizeof out, "Server reached connection limit. "
				     "Closing inbound connection.\n");
	assert_string_equal(out, "Server reached connection limit. Closing inbound connection.");
	mhd_message(out, sizeof out, "Error processing request (HTTP response code is %u ('%s')). "
				     "Closing connection.\r\n", 431u, "Request \"Header\" Too Large");
	assert_string_equal(out, "Error processing request (HTTP response code is 431 ('Request "
				 "'Header' Too Large')). Closing connection.");
}

/* One query parameter against a route's list (http_query_word): a word,
 * a word allowed empty ("comuni="), "*", and the name that is no word. */
static void test_query_words(void **state)
{
	(void)state;
	const char *stats = "table comuni= year from to";
	assert_int_equal(http_query_word(stats, "year", 4, "2024", 4), HTTP_QUERY_TAKEN);
	assert_int_equal(http_query_word(stats, "year", 4, "", 0), HTTP_QUERY_EMPTY);
	assert_int_equal(http_query_word(stats, "year", 4, NULL, 0), HTTP_QUERY_EMPTY);
	assert_int_equal(http_query_word(stats, "comuni", 6, "", 0), HTTP_QUERY_TAKEN);
	assert_int_equal(http_query_word(stats, "comuni=", 7, "1", 1), HTTP_QUERY_UNKNOWN);
	assert_int_equal(http_query_word(stats, "yea", 3, "1", 1), HTTP_QUERY_UNKNOWN);
	assert_int_equal(http_query_word(stats, "", 0, "1", 1), HTTP_QUERY_NAMELESS);
	assert_int_equal(http_query_word(NULL, "year", 4, "1", 1), HTTP_QUERY_UNKNOWN);
	const char *callback = "code state *";
	assert_int_equal(http_query_word(callback, "session_state", 13, "x", 1), HTTP_QUERY_IGNORED);
	assert_int_equal(http_query_word(callback, "", 0, "x", 1), HTTP_QUERY_IGNORED);
	assert_int_equal(http_query_word(callback, "state", 5, NULL, 0), HTTP_QUERY_TAKEN);
	/* the empty name is no word, whatever spaces a list has */
	assert_int_equal(http_query_word(" a", "", 0, "1", 1), HTTP_QUERY_NAMELESS);
	assert_int_equal(http_query_word("a  b", "", 0, "1", 1), HTTP_QUERY_NAMELESS);
	assert_int_equal(http_query_word("a  b", "b", 1, "1", 1), HTTP_QUERY_TAKEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_limits),
		cmocka_unit_test(test_client_serials),
		cmocka_unit_test(test_library_messages),
		cmocka_unit_test(test_query_words),
	};
	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
