/* common/email — the one rule for an e-mail address this service takes: an
 * account's (credentials, alerts) and a citizen's (notices of
 * consultations).
 *
 * Owns: email_valid.  The address goes between angle brackets into SMTP's
 * RCPT TO and into a message's To header (mail/mail.h), so the rule is
 * the plain form only. */
#ifndef VISURA_COMMON_EMAIL_H
#define VISURA_COMMON_EMAIL_H

#include <stdbool.h>

/* The longest address taken (RFC 5321's path limit less the brackets). */
#define EMAIL_MAX 254

/* True for an address of the plain form local@domain: local part of
 * RFC 5322 atoms joined by single dots (at most 64 bytes), domain of at
 * least two labels of letters, digits and inner hyphens (each at most
 * 63), the whole at most EMAIL_MAX; no quoting, comments, IP literals,
 * control characters or non-ASCII. */
bool email_valid(const char *address);

#endif
