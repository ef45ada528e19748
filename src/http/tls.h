/* tls — certificate material for the HTTPS listener.
 *
 * Owns: generating a self-signed certificate and key for a demo or a test
 * (ECDSA P-256, one year, SAN localhost and 127.0.0.1).  Real deployments
 * configure a certificate issued by their CA. */
#ifndef VISURA_HTTP_TLS_H
#define VISURA_HTTP_TLS_H

#include "common/err.h"

/* Writes a new key (mode 0600) and a self-signed certificate for `host`. */
vis_err tls_selfsigned_write(const char *cert_path, const char *key_path,
			     const char *host, struct vis_error *e);

#endif
