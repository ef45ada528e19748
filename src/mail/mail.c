#include "mail/mail.h"
#include "common/str.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/sealed.h"
#include "net/outbound.h"
#include "watch/watch.h"

/* What MAIL_MESSAGE_MAX leaves the header once the longest body is in,
 * each of its bytes a line end made CRLF: room for the fixed text, a date,
 * recipient, sender and subject as stored. */
#define MAIL_HEADER_MAX (MAIL_MESSAGE_MAX - 2 * sizeof(((struct store_mail *)0)->body))
_Static_assert(sizeof(((struct store_mail *)0)->recipient) +
		       sizeof(((struct config *)0)->smtp_from) +
		       sizeof(((struct store_mail *)0)->subject) + 64 + 256 <= MAIL_HEADER_MAX,
	       "a message's header fits beside the longest body");

struct payload {
	char buf[MAIL_MESSAGE_MAX];
	size_t len, pos;
};

static size_t read_payload(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct payload *p = ud;
	size_t room = size * nmemb, left = p->len - p->pos;
	size_t n = left < room ? left : room;
	memcpy(ptr, p->buf + p->pos, n);
	p->pos += n;
	return n;
}

/* Header values come from our own records, but a CR or LF in one would
 * forge headers: they are cut out. */
static void header_safe(char *dst, size_t cap, const char *src)
{
	size_t n = 0;
	for (; *src && n + 1 < cap; src++)
		if (*src != '\r' && *src != '\n')
			dst[n++] = *src;
	dst[n] = '\0';
}

size_t mail_compose(const struct config *cfg, const struct store_mail *m, int64_t now,
		    char *out, size_t cap)
{
	char date[64], to[256], from[256], subject[256];
	time_t t = (time_t)now;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	header_safe(to, sizeof to, m->recipient);
	header_safe(from, sizeof from, cfg->smtp_from);
	header_safe(subject, sizeof subject, m->subject);
	int n = snprintf(out, cap,
			 "Date: %s\r\nTo: <%s>\r\nFrom: <%s>\r\nSubject: %s\r\n"
			 "Message-ID: <visura-%lld@%s>\r\nMIME-Version: 1.0\r\n"
			 "Content-Type: text/plain; charset=UTF-8\r\n"
			 "Content-Transfer-Encoding: 8bit\r\n\r\n",
			 date, to, from, subject, (long long)m->id, "visura.local");
	if (n < 0 || (size_t)n >= cap)
		return 0;
	size_t len = (size_t)n;
	/* The body with CRLF line ends; a line starting with '.' is doubled
	 * (SMTP dot-stuffing). */
	bool line_start = true;
	const char *c = m->body;
	for (; *c; c++) {
		bool dot = line_start && *c == '.', lf = *c == '\n';
		if (len + 1 + dot + lf > cap)
			break;
		if (dot)
			out[len++] = '.';
		if (lf)
			out[len++] = '\r';
		out[len++] = *c;
		line_start = lf;
	}
	return *c ? 0 : len;
}

static bool transfer(const struct config *cfg, const struct store_mail *m, struct payload *p,
		     char *err, size_t errcap)
{
	CURL *c = curl_easy_init();
	if (!c) {
		snprintf(err, errcap, "curl init failed");
		return false;
	}
	char rcpt[260], from[260];
	STR_FMT_KNOWN(rcpt, "<%s>", m->recipient); /* recipient[255] + 2 */
	STR_FMT_KNOWN(from, "<%s>", cfg->smtp_from); /* smtp_from[256] + 2 */
	struct outbound o;
	struct vis_error e = {0};
	if (outbound_prepare(c, &o, cfg->smtp_url, OUTBOUND_SMTP, cfg->smtp_plain_loopback, &e)) {
		/* %.150s; callers give 200 bytes */
		STR_FMT_KNOWN_CAP(err, errcap, "smtp_url refused: %.150s", e.msg);
		curl_easy_cleanup(c);
		return false;
	}
	struct curl_slist *to = curl_slist_append(NULL, rcpt);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, to);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_payload);
	curl_easy_setopt(c, CURLOPT_READDATA, p);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	CURLcode rc = curl_easy_perform(c);
	/* refused[64]; callers give 200 bytes */
	if (o.refused[0])
		STR_FMT_KNOWN_CAP(err, errcap, "address %s refused (SMTP rules)", o.refused);
	else if (rc != CURLE_OK)
		str_copy_cut(err, errcap, curl_easy_strerror(rc)); /* a message: cut on purpose */
	curl_slist_free_all(to);
	curl_easy_cleanup(c);
	outbound_release(&o);
	return rc == CURLE_OK;
}

static bool send_one(const struct config *cfg, const struct sealed_key *k,
		     const struct store_mail *m, int64_t now, char *err, size_t errcap)
{
	static _Thread_local struct payload p;
	static _Thread_local struct store_mail open;
	struct vis_error e = {0};
	open = *m;
	if (sealed_body(k, m->body, "", open.body, sizeof open.body, &e)) {
		/* %.150s; callers give 200 bytes */
		STR_FMT_KNOWN_CAP(err, errcap, "%.150s", e.msg);
		sodium_memzero(&open, sizeof open);
		return false;
	}
	p.len = mail_compose(cfg, &open, now, p.buf, sizeof p.buf);
	p.pos = 0;
	sodium_memzero(&open, sizeof open);
	bool ok = false;
	if (!p.len)
		snprintf(err, errcap, "the message does not fit its buffer: not sent");
	else
		ok = transfer(cfg, m, &p, err, errcap);
	sodium_memzero(&p, sizeof p);
	return ok;
}

struct due {
	struct store_mail msgs[32];
	int n;
};

static int collect(void *ctx, const void *rec)
{
	struct due *d = ctx;
	d->msgs[d->n++] = *(const struct store_mail *)rec;
	return d->n >= (int)(sizeof d->msgs / sizeof d->msgs[0]);
}

/* Replaces a sealed password in a stored body by `text`. */
static void drop_sealed(struct store_mail *m, const char *text)
{
	static _Thread_local char body[sizeof m->body];
	if (strstr(m->body, SEALED_MARK) &&
	    sealed_body(NULL, m->body, text, body, sizeof body, NULL) == VIS_OK)
		memcpy(m->body, body, sizeof body);
}

/* A citizen's address is kept only while they are subscribed (watch/
 * watch.h): once their message is sent, or has failed for good, the outbox
 * forgets where it went and what it said. */
static void forget_citizen(struct store_mail *m)
{
	if (strcmp(m->kind, WATCH_KIND_CONFIRM) && strcmp(m->kind, WATCH_KIND_NOTICE))
		return;
	STR_COPY_KNOWN(m->recipient, MAIL_CITIZEN_SHOWN); /* a short constant */
	STR_COPY_KNOWN(m->body, MAIL_CITIZEN_SHOWN);
}

int mail_deliver(struct store *s, const struct config *cfg, const struct sealed_key *k,
		 int64_t now, int max, struct vis_error *e)
{
	if (!cfg->smtp_url[0])
		return 0;
	static _Thread_local struct due d;
	d.n = 0;
	/* The longest waiting first: a burst of new messages does not keep
	 * older ones waiting. */
	if (max > (int)(sizeof d.msgs / sizeof d.msgs[0]))
		max = (int)(sizeof d.msgs / sizeof d.msgs[0]);
	if (max > 0 && store_mail_due(s, now, max, collect, &d, e))
		return -1;
	int sent = 0;
	for (int i = 0; i < d.n; i++) {
		struct store_mail *m = &d.msgs[i];
		static _Thread_local struct store_mail was;
		was = *m;
		char err[200] = "";
		m->attempts++;
		if (send_one(cfg, k, m, now, err, sizeof err)) {
			snprintf(m->state, sizeof m->state, "sent");
			m->sent_at = now;
			m->last_error[0] = '\0';
			/* Once delivered, a password has no business in the outbox. */
			if (!strcmp(m->kind, "credentials"))
				STR_COPY_KNOWN(m->body, MAIL_SEALED_SENT); /* a short constant */
			forget_citizen(m);
			sent++;
		} else {
			STR_COPY_KNOWN(m->last_error, err); /* err[200] < last_error[201] */
			if (m->attempts >= MAIL_MAX_ATTEMPTS) {
				snprintf(m->state, sizeof m->state, "failed");
				drop_sealed(m, MAIL_SEALED_DROPPED);
				forget_citizen(m);
			} else {
				int64_t wait = 60;
				for (int j = 1; j < m->attempts && wait < 6 * 3600; j++)
					wait *= 2;
				m->next_attempt_at = now + wait;
			}
		}
		/* Refused as changed meanwhile: another instance sent it at the
		 * same time (its record stands). */
		vis_err rc = store_mail_update(s, &was, m, e);
		if (rc == VIS_ERR_CONFLICT)
			vis_error_clear(e);
		else if (rc)
			return -1;
	}
	return sent;
}
