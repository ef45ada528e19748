/* totp — the optional second factor: time-based one-time passwords
 * (RFC 6238, 30-second steps, 6 digits, HMAC-SHA1) through liboath.
 *
 * Owns: secret generation, the provisioning URI for authenticator apps and
 * verification with replay protection (a code, once accepted, cannot be used
 * again: the caller stores the returned step). */
#ifndef VISURA_AUTH_TOTP_H
#define VISURA_AUTH_TOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define TOTP_SECRET_B32_MAX 64   /* 160-bit secret in base32 + NUL fits */

vis_err totp_init(struct vis_error *e);

/* A new random 160-bit secret, base32 (RFC 4648, no padding). */
vis_err totp_secret_new(char out[TOTP_SECRET_B32_MAX], struct vis_error *e);

/* otpauth://totp/visura:<account>?secret=...&issuer=visura... into out. */
vis_err totp_uri(const char *secret_b32, const char *account, const char *issuer,
		 char *out, size_t cap, struct vis_error *e);

/* Checks a 6-digit code at time `now` allowing +-1 step of clock drift.
 * A code whose step is <= *last_step was already used and is refused.  On
 * success *last_step is set to the accepted step. */
bool totp_verify(const char *secret_b32, const char *code, int64_t now,
		 int64_t *last_step);

/* The code for a given time (for tests and enrolment checks). */
vis_err totp_code(const char *secret_b32, int64_t t, char out[7], struct vis_error *e);

#endif
