/* tls — certificate material for the HTTPS listener.
 *
 * Owns: generating a self-signed certificate and key for a demo or a test
 * (ECDSA P-256, one year, SAN localhost and 127.0.0.1).  Real deployments
 * configure a certificate issued by their CA. */
#ifndef VISURA_HTTP_TLS_H
#define VISURA_HTTP_TLS_H

#include <stdint.h>

#include "common/err.h"

/* Writes a new key (mode 0600) and a self-signed certificate for `host`. */
vis_err tls_selfsigned_write(const char *cert_path, const char *key_path,
			     const char *host, struct vis_error *e);

/* ---- the municipality's small CA for workstation certificates ---- */

/* Creates a CA key (mode 0600) and self-signed CA certificate (10 years). */
vis_err tls_ca_create(const char *cert_path, const char *key_path, const char *name,
		      struct vis_error *e);

/* Issues a client certificate for a workstation, signed by the CA: writes
 * the key (0600) and the certificate; returns the serial as hex. */
vis_err tls_client_issue(const char *ca_cert_path, const char *ca_key_path,
			 const char *name, long long ente_id, int days,
			 const char *cert_out, const char *key_out, char serial[41],
			 int64_t *expires_at, struct vis_error *e);

#endif
