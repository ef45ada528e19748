/* outbound — the rules for connections visura opens to other hosts
 * (webhook pushes, the SMTP relay, the SPID/CIE provider, the JWKS of PDND
 * and of the provider), applied twice: to the URL when it is
 * configured (parsed by curl's URL API, never by string prefixes) and to
 * the address actually connected to (a curl socket hook), so that a name
 * that resolves somewhere else, a redirect or a proxy cannot move a
 * connection past them.
 *
 * Webhooks: http or https, no user name or password in the URL, no
 * redirects, no proxy.  Plain http only to loopback (the host is 127.0.0.0/8,
 * ::1 or "localhost" and the address connected to is loopback).  https may
 * reach any unicast address except link-local (169.254.0.0/16, fe80::/10,
 * where cloud metadata services live), unspecified and multicast ones:
 * bodies' systems may sit on private networks.
 *
 * SMTP: smtp or smtps only, no credentials in the URL; TLS required
 * (smtps, or STARTTLS that must succeed) unless the relay is declared on
 * loopback (smtp_plain_loopback), which is then checked the same way. */
#ifndef VISURA_NET_OUTBOUND_H
#define VISURA_NET_OUTBOUND_H

#include <curl/curl.h>
#include <stdbool.h>

#include "common/err.h"

enum outbound_use { OUTBOUND_WEBHOOK, OUTBOUND_SMTP };

/* A connection being set up: the parsed URL and what the socket hook saw. */
struct outbound {
	CURLU *url;
	bool loopback_only;     /* plain text: the address must be loopback */
	char refused[64];       /* the address the hook refused, or "" */
};

/* Checks `url` for `use` (plain_loopback: SMTP without TLS, allowed only
 * to a loopback relay).  The message says what is wrong, in Italian-free
 * machine terms callers put into their own answer. */
vis_err outbound_check(const char *url, enum outbound_use use, bool plain_loopback,
		       struct vis_error *e);

/* Checks `url` and prepares curl handle c to connect by these rules
 * (protocols, no redirects, no proxy, the address hook, TLS for SMTP).
 * o must outlive the transfer; outbound_release(o) after it. */
vis_err outbound_prepare(CURL *c, struct outbound *o, const char *url, enum outbound_use use,
			 bool plain_loopback, struct vis_error *e);
void outbound_release(struct outbound *o);

/* A POST by the webhook rules (one place for webhooks, witnesses and the
 * SPID/CIE provider), or a GET when body is NULL. */
struct outbound_post {
	const char *url;
	const char *const *headers; /* "Name: value" lines, NULL-terminated */
	const char *body;           /* NULL: a GET */
	size_t len;
	const char *ca_file;        /* NULL or "": the system's trust store */
	long timeout;               /* seconds for the whole transfer */
	char *answer;               /* NULL: the answer's body is discarded */
	size_t answer_cap;          /* room in answer, its NUL included */
	size_t answer_len;          /* out: the bytes kept */
	bool answer_over;           /* out: the answer did not fit (transfer cut) */
	char content_type[128];     /* out: the answer's Content-Type, or "" */
};

/* Sends p; returns the HTTP status, or 0 when no answer came back, with
 * why saying so (the URL or the address refused by the rules, or curl's
 * message). */
long outbound_post(struct outbound_post *p, char *why, size_t cap);
/* The same, a GET of p->url (body and len unused): what publishers of
 * keys answer (jwks/jwks.h). */
long outbound_get(struct outbound_post *p, char *why, size_t cap);

/* Whether the address (text, IPv4 or IPv6) may be connected to. */
bool outbound_address_allowed(const char *ip, bool loopback_only);

#endif
