#include "net/outbound.h"
#include "common/str.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static bool v4_loopback(const unsigned char *a)
{
	return a[0] == 127;
}

static bool v4_allowed(const unsigned char *a, bool loopback_only)
{
	if (loopback_only)
		return v4_loopback(a);
	if (a[0] == 0 || (a[0] == 169 && a[1] == 254) || a[0] >= 224)
		return false;   /* "this network", link-local, multicast, reserved, broadcast */
	return true;
}

static bool v6_allowed(const struct in6_addr *a, bool loopback_only)
{
	if (IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_V4COMPAT(a))
		return !IN6_IS_ADDR_UNSPECIFIED(a) && v4_allowed(a->s6_addr + 12, loopback_only);
	if (IN6_IS_ADDR_LOOPBACK(a))
		return true;
	if (loopback_only)
		return false;
	return !IN6_IS_ADDR_UNSPECIFIED(a) && !IN6_IS_ADDR_LINKLOCAL(a) && !IN6_IS_ADDR_MULTICAST(a) &&
	       !IN6_IS_ADDR_SITELOCAL(a);
}

bool outbound_address_allowed(const char *ip, bool loopback_only)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, ip, &a4) == 1)
		return v4_allowed((const unsigned char *)&a4, loopback_only);
	if (inet_pton(AF_INET6, ip, &a6) == 1)
		return v6_allowed(&a6, loopback_only);
	return false;
}

/* A loopback host as written in the URL: an address literal, or the one
 * name that always means loopback. */
static bool host_is_loopback(const char *host)
{
	char h[64];
	size_t n = strlen(host);
	if (n >= sizeof h)
		return false;
	memcpy(h, host, n + 1);
	if (h[0] == '[' && n > 2 && h[n - 1] == ']') {
		h[n - 1] = '\0';
		memmove(h, h + 1, n - 1);
	}
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, h, &a4) == 1)
		return v4_loopback((const unsigned char *)&a4);
	if (inet_pton(AF_INET6, h, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return !strcasecmp(h, "localhost");
}

/* Parses and checks; on success *out is the caller's (curl_url_cleanup). */
static vis_err parse(const char *url, enum outbound_use use, bool plain_loopback, CURLU **out,
		     bool *loopback_only, struct vis_error *e)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *part = NULL;
	vis_err rc = VIS_OK;
	if (!u)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0]) {
		rc = vis_error_set(e, VIS_ERR_INVALID, "non è un URL assoluto valido");
		goto done;
	}
	if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &part, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_OPTIONS, &part, 0) == CURLUE_OK) {
		rc = vis_error_set(e, VIS_ERR_INVALID,
				   "un nome utente o una password nell'URL non sono ammessi");
		goto done;
	}
	bool secure;
	if (use == OUTBOUND_WEBHOOK && (!strcmp(scheme, "https") || !strcmp(scheme, "http"))) {
		secure = !strcmp(scheme, "https");
	} else if (use == OUTBOUND_SMTP && (!strcmp(scheme, "smtps") || !strcmp(scheme, "smtp"))) {
		secure = !strcmp(scheme, "smtps") || !plain_loopback;
	} else {
		rc = vis_error_set(e, VIS_ERR_INVALID, "schema '%s' rifiutato (ammessi: %s)", scheme,
				   use == OUTBOUND_WEBHOOK ? "https, oppure http verso loopback"
							   : "smtps, smtp con STARTTLS");
		goto done;
	}
	char literal[64];
	size_t hn = strlen(host);
	/* a host too long for literal is no address literal: literal is "" */
	bool fits = STR_FMT(literal, "%.*s", host[0] == '[' && hn > 2 ? (int)hn - 2 : (int)hn,
			    host + (host[0] == '[' && hn > 2));
	struct in6_addr any;
	bool is_ip = fits && (inet_pton(AF_INET, literal, &any) == 1 ||
			      inet_pton(AF_INET6, literal, &any) == 1);
	if (is_ip && !outbound_address_allowed(literal, false)) {
		rc = vis_error_set(e, VIS_ERR_INVALID,
				   "indirizzo '%s' rifiutato (link-local, non specificato "
				   "o multicast)", literal);
		goto done;
	}
	if (!secure && !host_is_loopback(host)) {
		rc = vis_error_set(e, VIS_ERR_INVALID,
				   "in chiaro solo verso loopback (127.0.0.0/8, [::1], localhost), non '%s'",
				   host);
		goto done;
	}
	*loopback_only = !secure;
	*out = u;
	u = NULL;
done:
	curl_free(scheme);
	curl_free(host);
	curl_free(part);
	curl_url_cleanup(u);
	return rc;
}

vis_err outbound_check(const char *url, enum outbound_use use, bool plain_loopback,
		       struct vis_error *e)
{
	CURLU *u = NULL;
	bool lo;
	vis_err rc = parse(url, use, plain_loopback, &u, &lo, e);
	curl_url_cleanup(u);
	return rc;
}

/* Every socket curl opens passes here with the address it will connect
 * to: after name resolution, so that what is checked is what is used. */
static curl_socket_t open_checked(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct outbound *o = ud;
	char ip[INET6_ADDRSTRLEN] = "?";
	bool ok = false;
	if (purpose == CURLSOCKTYPE_IPCXN && a->family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->addr;
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
		ok = v4_allowed((const unsigned char *)&s4->sin_addr, o->loopback_only);
	} else if (purpose == CURLSOCKTYPE_IPCXN && a->family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->addr;
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
		ok = v6_allowed(&s6->sin6_addr, o->loopback_only);
	}
	if (!ok) {
		STR_COPY_KNOWN(o->refused, ip); /* INET6_ADDRSTRLEN (46) < 64 */
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

vis_err outbound_prepare(CURL *c, struct outbound *o, const char *url, enum outbound_use use,
			 bool plain_loopback, struct vis_error *e)
{
	memset(o, 0, sizeof *o);
	if (parse(url, use, plain_loopback, &o->url, &o->loopback_only, e))
		return VIS_ERR_INVALID;
	curl_easy_setopt(c, CURLOPT_CURLU, o->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, use == OUTBOUND_WEBHOOK ? "http,https" : "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_checked);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, o);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (use == OUTBOUND_SMTP)
		curl_easy_setopt(c, CURLOPT_USE_SSL,
				 o->loopback_only ? (long)CURLUSESSL_TRY : (long)CURLUSESSL_ALL);
	return VIS_OK;
}

void outbound_release(struct outbound *o)
{
	curl_url_cleanup(o->url);
	o->url = NULL;
}

static size_t keep_answer(char *data, size_t size, size_t n, void *ud)
{
	struct outbound_post *p = ud;
	size_t k = size * n;
	if (!p->answer)
		return k;
	if (p->answer_len + k >= p->answer_cap) {
		p->answer_over = true;
		return 0;
	}
	memcpy(p->answer + p->answer_len, data, k);
	p->answer_len += k;
	p->answer[p->answer_len] = '\0';
	return k;
}

/* One request by the webhook rules: a POST of p->body, or a GET (get, or
 * no body). */
static long transfer(struct outbound_post *p, bool get, char *why, size_t cap)
{
	p->answer_len = 0;
	p->answer_over = false;
	p->content_type[0] = '\0';
	if (p->answer && p->answer_cap)
		p->answer[0] = '\0';
	CURL *c = curl_easy_init();
	if (!c) {
		str_copy_cut(why, cap, "inizializzazione di "
				       "curl non riuscita"); /* a message: cut on purpose */
		return 0;
	}
	struct outbound o;
	struct vis_error e = {0};
	if (outbound_prepare(c, &o, p->url, OUTBOUND_WEBHOOK, false, &e)) {
		/* %.150s; callers give 200 bytes */
		STR_FMT_KNOWN_CAP(why, cap, "URL refused: %.150s", e.msg);
		curl_easy_cleanup(c);
		return 0;
	}
	struct curl_slist *hs = NULL;
	for (const char *const *h = p->headers; h && *h; h++) {
		struct curl_slist *more = curl_slist_append(hs, *h);
		if (!more) {
			curl_slist_free_all(hs);
			curl_easy_cleanup(c);
			outbound_release(&o);
			str_copy_cut(why, cap, "memoria esaurita"); /* a message: cut on purpose */
			return 0;
		}
		hs = more;
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
	if (!get && p->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, p->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)p->len);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(c, CURLOPT_TIMEOUT, p->timeout > 0 ? p->timeout : 10L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (p->ca_file && p->ca_file[0])
		curl_easy_setopt(c, CURLOPT_CAINFO, p->ca_file);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_answer);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, p);
	CURLcode rc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	char *ctype = NULL;
	if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype &&
	    !STR_COPY(p->content_type, ctype))
		p->content_type[0] = '\0';
	curl_slist_free_all(hs);
	curl_easy_cleanup(c);
	outbound_release(&o);
	if (o.refused[0]) {
		/* refused[64]; callers give 200 bytes */
		STR_FMT_KNOWN_CAP(why, cap, "address %s refused (webhook rules)", o.refused);
		return 0;
	}
	if (rc != CURLE_OK) {
		str_copy_cut(why, cap, curl_easy_strerror(rc)); /* a message: cut on purpose */
		return 0;
	}
	return status;
}

long outbound_post(struct outbound_post *p, char *why, size_t cap)
{
	return transfer(p, false, why, cap);
}

long outbound_get(struct outbound_post *p, char *why, size_t cap)
{
	return transfer(p, true, why, cap);
}
