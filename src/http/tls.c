#include "http/tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
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

vis_err tls_selfsigned_write(const char *cert_path, const char *key_path,
			     const char *host, struct vis_error *e)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t kpem = {0}, cpem = {0};
	vis_err rc = VIS_ERR_INTERNAL;
	unsigned char serial[16];
	unsigned char ip[4];
	time_t now = time(NULL);

	if (gnutls_x509_privkey_init(&key) < 0 || gnutls_x509_crt_init(&crt) < 0)
		goto fail;
	if (gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
					 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0)
		goto fail;
	if (gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial) < 0)
		goto fail;
	serial[0] &= 0x7f; /* a positive serial number */
	inet_pton(AF_INET, "127.0.0.1", ip);
	if (gnutls_x509_crt_set_version(crt, 3) < 0 ||
	    gnutls_x509_crt_set_serial(crt, serial, sizeof serial) < 0 ||
	    gnutls_x509_crt_set_activation_time(crt, now - 3600) < 0 ||
	    gnutls_x509_crt_set_expiration_time(crt, now + 365 * 86400) < 0 ||
	    gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, host,
					  (unsigned)strlen(host)) < 0 ||
	    gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0,
					  "visura (self-signed)", 20) < 0 ||
	    gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, host,
						 (unsigned)strlen(host), GNUTLS_FSAN_SET) < 0 ||
	    gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, sizeof ip,
						 GNUTLS_FSAN_APPEND) < 0 ||
	    gnutls_x509_crt_set_key(crt, key) < 0 ||
	    gnutls_x509_crt_set_basic_constraints(crt, 0, -1) < 0 ||
	    gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE) < 0 ||
	    gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0) < 0 ||
	    gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) < 0)
		goto fail;
	if (gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &kpem) < 0 ||
	    gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cpem) < 0)
		goto fail;
	rc = write_file(key_path, &kpem, 0600, e);
	if (rc == VIS_OK)
		rc = write_file(cert_path, &cpem, 0644, e);
	goto out;
fail:
	rc = vis_error_set(e, VIS_ERR_INTERNAL, "cannot generate a self-signed certificate");
out:
	if (kpem.data) {
		gnutls_memset(kpem.data, 0, kpem.size);
		gnutls_free(kpem.data);
	}
	gnutls_free(cpem.data);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	return rc;
}
