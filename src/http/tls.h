/* tls — certificate material for the HTTPS listener.
 *
 * Owns: the certificate and key the listener presents (loaded at start,
 * replaced on SIGHUP without touching connections already made), and
 * generating a self-signed certificate and key for a demo or a test
 * (ECDSA P-256, one year, SAN localhost and 127.0.0.1).  Real deployments
 * configure a certificate issued by their CA. */
#ifndef VISURA_HTTP_TLS_H
#define VISURA_HTTP_TLS_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stdint.h>

#include "common/err.h"

/* ---- the certificate the listener presents ---- */

/* Reads a PEM certificate chain and its private key and checks them: the
 * chain parses (at most 8 certificates), the key is the one the first
 * certificate certifies, and that certificate has not expired.  On success
 * they become what every new handshake presents; handshakes already made
 * keep theirs.  On failure nothing changes and `e` says why.  A process
 * presents one identity (it has one HTTPS listener): GnuTLS's certificate
 * callback takes no argument to say which. */
vis_err tls_identity_load(const char *cert_path, const char *key_path, struct vis_error *e);

/* The callback (MHD_OPTION_HTTPS_CERT_CALLBACK) handing the current
 * identity to a handshake; fails the handshake before any was loaded. */
int tls_identity_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
			  const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
			  gnutls_pcert_st **pcert, unsigned int *pcert_length,
			  gnutls_privkey_t *pkey);

/* Frees every identity loaded, the current one and those it replaced
 * (kept until now: GnuTLS does not copy what the callback hands it, and a
 * connection made with one may still use it).  Only once no connection
 * remains (after the listener has stopped). */
void tls_identity_release(void);

/* Writes a new key (mode 0600) and a self-signed certificate for `host`. */
vis_err tls_selfsigned_write(const char *cert_path, const char *key_path,
			     const char *host, struct vis_error *e);

/* ---- the municipality's small CA for workstation certificates ---- */

/* The certificate's serial as it is encoded in it, lowercase hex (at most
 * 20 bytes): the one form a workstation is registered and recognised by.
 * Returns < 0 when the serial is missing or longer. */
int tls_crt_serial_hex(gnutls_x509_crt_t crt, char serial_hex[41]);

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
