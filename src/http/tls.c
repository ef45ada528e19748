#include "http/tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static vis_err write_file(const char *path, const gnutls_datum_t *d, int mode,
			  struct vis_error *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0)
		return vis_error_set(e, VIS_ERR_IO, "cannot write '%s'", path);
	ssize_t n = write(fd, d->data, d->size);
	int rc = fsync(fd);
	close(fd);
	if (n != (ssize_t)d->size || rc != 0)
		return vis_error_set(e, VIS_ERR_IO, "cannot write '%s'", path);
	return VIS_OK;
}

/* A new ECDSA P-256 key and an unsigned version-3 certificate for it with
 * a random positive serial, a validity and a common name.  Returns < 0 on
 * failure (the caller deinits both). */
static int cert_start(gnutls_x509_privkey_t *key, gnutls_x509_crt_t *crt, const char *cn,
		      time_t from, time_t to, unsigned char serial[16])
{
	if (gnutls_x509_privkey_init(key) < 0 || gnutls_x509_crt_init(crt) < 0 ||
	    gnutls_x509_privkey_generate(*key, GNUTLS_PK_ECDSA,
					 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0 ||
	    gnutls_rnd(GNUTLS_RND_NONCE, serial, 16) < 0)
		return -1;
	serial[0] &= 0x7f;
	if (gnutls_x509_crt_set_version(*crt, 3) < 0 ||
	    gnutls_x509_crt_set_serial(*crt, serial, 16) < 0 ||
	    gnutls_x509_crt_set_activation_time(*crt, from) < 0 ||
	    gnutls_x509_crt_set_expiration_time(*crt, to) < 0 ||
	    gnutls_x509_crt_set_dn_by_oid(*crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
					  (unsigned)strlen(cn)) < 0 ||
	    gnutls_x509_crt_set_key(*crt, *key) < 0)
		return -1;
	return 0;
}

/* Writes the key (0600, wiped from memory after) and the certificate. */
static vis_err write_pair(gnutls_x509_privkey_t key, gnutls_x509_crt_t crt, const char *key_path,
			  const char *cert_path, struct vis_error *e)
{
	gnutls_datum_t kpem = {0}, cpem = {0};
	vis_err rc;
	if (gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &kpem) < 0 ||
	    gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cpem) < 0)
		rc = vis_error_set(e, VIS_ERR_INTERNAL, "cannot encode the certificate");
	else if ((rc = write_file(key_path, &kpem, 0600, e)) == VIS_OK)
		rc = write_file(cert_path, &cpem, 0644, e);
	if (kpem.data) {
		gnutls_memset(kpem.data, 0, kpem.size);
		gnutls_free(kpem.data);
	}
	gnutls_free(cpem.data);
	return rc;
}

vis_err tls_selfsigned_write(const char *cert_path, const char *key_path,
			     const char *host, struct vis_error *e)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	unsigned char serial[16], ip[4];
	time_t now = time(NULL);
	vis_err rc;
	inet_pton(AF_INET, "127.0.0.1", ip);
	if (cert_start(&key, &crt, host, now - 3600, now + 365 * 86400, serial) < 0 ||
	    gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0,
					  "visura (self-signed)", 20) < 0 ||
	    gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, host,
						 (unsigned)strlen(host), GNUTLS_FSAN_SET) < 0 ||
	    gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, sizeof ip,
						 GNUTLS_FSAN_APPEND) < 0 ||
	    gnutls_x509_crt_set_basic_constraints(crt, 0, -1) < 0 ||
	    gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE) < 0 ||
	    gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0) < 0 ||
	    gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) < 0)
		rc = vis_error_set(e, VIS_ERR_INTERNAL, "cannot generate a self-signed certificate");
	else
		rc = write_pair(key, crt, key_path, cert_path, e);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	return rc;
}

vis_err tls_ca_create(const char *cert_path, const char *key_path, const char *name,
		      struct vis_error *e)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	unsigned char serial[16];
	time_t now = time(NULL);
	vis_err rc;
	if (cert_start(&key, &crt, name, now - 3600, now + 3650L * 86400, serial) < 0 ||
	    gnutls_x509_crt_set_basic_constraints(crt, 1, 0) < 0 ||
	    gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN) < 0 ||
	    gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) < 0)
		rc = vis_error_set(e, VIS_ERR_INTERNAL, "cannot create the certificate authority");
	else
		rc = write_pair(key, crt, key_path, cert_path, e);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	return rc;
}

vis_err tls_client_issue(const char *ca_cert_path, const char *ca_key_path,
			 const char *name, long long ente_id, int days,
			 const char *cert_out, const char *key_out, char serial_hex[41],
			 int64_t *expires_at, struct vis_error *e)
{
	gnutls_x509_crt_t ca = NULL, crt = NULL;
	gnutls_x509_privkey_t ca_key = NULL, key = NULL;
	gnutls_datum_t ca_pem = {0}, ca_key_pem = {0};
	unsigned char serial[16];
	char ou[32];
	time_t now = time(NULL);
	vis_err rc;
	snprintf(ou, sizeof ou, "ente-%lld", ente_id);
	*expires_at = (int64_t)now + (int64_t)days * 86400;
	if (gnutls_load_file(ca_cert_path, &ca_pem) < 0 ||
	    gnutls_load_file(ca_key_path, &ca_key_pem) < 0) {
		rc = vis_error_set(e, VIS_ERR_IO, "cannot read the CA (%s): run visura ca init",
				   ca_cert_path);
	} else if (gnutls_x509_crt_init(&ca) < 0 || gnutls_x509_privkey_init(&ca_key) < 0 ||
		   gnutls_x509_crt_import(ca, &ca_pem, GNUTLS_X509_FMT_PEM) < 0 ||
		   gnutls_x509_privkey_import(ca_key, &ca_key_pem, GNUTLS_X509_FMT_PEM) < 0 ||
		   cert_start(&key, &crt, name, now - 3600, (time_t)*expires_at, serial) < 0 ||
		   gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, 0, ou,
						 (unsigned)strlen(ou)) < 0 ||
		   gnutls_x509_crt_set_basic_constraints(crt, 0, -1) < 0 ||
		   gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE) < 0 ||
		   gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 0) < 0 ||
		   gnutls_x509_crt_sign2(crt, ca, ca_key, GNUTLS_DIG_SHA256, 0) < 0) {
		rc = vis_error_set(e, VIS_ERR_INTERNAL, "cannot issue the workstation certificate");
	} else {
		for (size_t i = 0; i < sizeof serial; i++)
			snprintf(serial_hex + 2 * i, 3, "%02x", serial[i]);
		rc = write_pair(key, crt, key_out, cert_out, e);
	}
	if (ca_key_pem.data) {
		gnutls_memset(ca_key_pem.data, 0, ca_key_pem.size);
		gnutls_free(ca_key_pem.data);
	}
	gnutls_free(ca_pem.data);
	gnutls_x509_crt_deinit(ca);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(ca_key);
	gnutls_x509_privkey_deinit(key);
	return rc;
}
