#include "http/tls.h"
#include "common/fsmode.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- the certificate the listener presents ---- */

#define CHAIN_MAX 8

struct identity {
	gnutls_pcert_st chain[CHAIN_MAX];
	unsigned int n;
	gnutls_privkey_t key;
	struct identity *older;       /* the one it replaced, kept until release */
};

static _Atomic(struct identity *) current;
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static void identity_free(struct identity *id)
{
	for (unsigned int i = 0; i < id->n; i++)
		gnutls_pcert_deinit(&id->chain[i]);
	if (id->key)
		gnutls_privkey_deinit(id->key);
	free(id);
}

/* Does `key` sign for the public key of `cert`? */
static bool key_matches(gnutls_privkey_t key, gnutls_pcert_st *cert)
{
	gnutls_pubkey_t pub = NULL;
	unsigned char a[64], b[64];
	size_t alen = sizeof a, blen = sizeof b;
	bool ok = gnutls_pubkey_init(&pub) >= 0 &&
		  gnutls_pubkey_import_privkey(pub, key, 0, 0) >= 0 &&
		  gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, a, &alen) >= 0 &&
		  gnutls_pubkey_get_key_id(cert->pubkey, GNUTLS_KEYID_USE_SHA256, b, &blen) >= 0 &&
		  alen == blen && !memcmp(a, b, alen);
	gnutls_pubkey_deinit(pub);
	return ok;
}

static time_t expiry(const gnutls_pcert_st *cert)
{
	gnutls_x509_crt_t crt;
	time_t t = (time_t)-1;
	if (gnutls_x509_crt_init(&crt) < 0)
		return t;
	if (gnutls_x509_crt_import(crt, &cert->cert, GNUTLS_X509_FMT_DER) >= 0)
		t = gnutls_x509_crt_get_expiration_time(crt);
	gnutls_x509_crt_deinit(crt);
	return t;
}

vis_err tls_identity_load(const char *cert_path, const char *key_path, struct vis_error *e)
{
	gnutls_datum_t cpem = {0}, kpem = {0};
	struct identity *id = calloc(1, sizeof *id);
	vis_err rc = VIS_OK;
	if (!id)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	id->n = CHAIN_MAX;
	if (gnutls_load_file(cert_path, &cpem) < 0) {
		id->n = 0;
		rc = vis_error_set(e, VIS_ERR_IO, "impossibile leggere il "
						  "certificato TLS '%s'", cert_path);
	} else if (gnutls_load_file(key_path, &kpem) < 0) {
		id->n = 0;
		rc = vis_error_set(e, VIS_ERR_IO, "impossibile leggere la chiave TLS "
						  "'%s'", key_path);
	} else if (gnutls_pcert_list_import_x509_raw(id->chain, &id->n, &cpem,
						     GNUTLS_X509_FMT_PEM, 0) < 0 || id->n == 0) {
		id->n = 0;
		rc = vis_error_set(e, VIS_ERR_INVALID,
				   "'%s' non è una catena di certificati PEM (di al massimo %d "
				   "certificati)",
				   cert_path, CHAIN_MAX);
	} else if (gnutls_privkey_init(&id->key) < 0 ||
		   gnutls_privkey_import_x509_raw(id->key, &kpem, GNUTLS_X509_FMT_PEM, NULL, 0) < 0) {
		rc = vis_error_set(e, VIS_ERR_INVALID, "'%s' non è una chiave privata "
						       "PEM", key_path);
	} else if (!key_matches(id->key, &id->chain[0])) {
		rc = vis_error_set(e, VIS_ERR_INVALID,
				   "la chiave '%s' non è quella che il certificato '%s' certifica",
				   key_path, cert_path);
	} else if (expiry(&id->chain[0]) <= time(NULL)) {
		rc = vis_error_set(e, VIS_ERR_INVALID, "il certificato '%s' è scaduto", cert_path);
	}
	if (kpem.data) {
		gnutls_memset(kpem.data, 0, kpem.size);
		gnutls_free(kpem.data);
	}
	gnutls_free(cpem.data);
	if (rc) {
		identity_free(id);
		return rc;
	}
	pthread_mutex_lock(&load_lock);
	id->older = atomic_load(&current);
	atomic_store(&current, id);
	pthread_mutex_unlock(&load_lock);
	return VIS_OK;
}

int tls_identity_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
			  const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
			  gnutls_pcert_st **pcert, unsigned int *pcert_length,
			  gnutls_privkey_t *pkey)
{
	(void)session, (void)req_ca_dn, (void)nreqs, (void)pk_algos, (void)pk_algos_length;
	struct identity *id = atomic_load(&current);
	if (!id)
		return -1;
	*pcert = id->chain;
	*pcert_length = id->n;
	*pkey = id->key;
	return 0;
}

void tls_identity_release(void)
{
	pthread_mutex_lock(&load_lock);
	struct identity *id = atomic_exchange(&current, NULL);
	pthread_mutex_unlock(&load_lock);
	while (id) {
		struct identity *older = id->older;
		identity_free(id);
		id = older;
	}
}

/* ---- certificates made here ---- */

/* Written whole or not at all, never through a link or over a device
 * (fsmode_write_replace): `visura ca issue --out` names a directory an
 * operator chooses, and the process may run as root. */
static vis_err write_file(const char *path, const gnutls_datum_t *d, mode_t mode,
			  const char *what, struct vis_error *e)
{
	return fsmode_write_replace(path, "tmp", d->data, d->size, mode, true, what, e);
}

int tls_crt_serial_hex(gnutls_x509_crt_t crt, char serial_hex[41])
{
	unsigned char serial[40];
	size_t len = sizeof serial;
	serial_hex[0] = '\0';
	if (gnutls_x509_crt_get_serial(crt, serial, &len) < 0 || len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++)
		snprintf(serial_hex + 2 * i, 3, "%02x", serial[i]);
	return 0;
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
	/* Positive, and no leading zero byte: DER keeps integers minimal, so a
	 * first byte of 0 would leave a 15-byte serial in the certificate. */
	serial[0] &= 0x7f;
	if (!serial[0])
		serial[0] = 0x01;
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

/* Writes the key (0600, wiped from memory after) and the certificate
 * (0644), both checked first (fsmode_replaceable): a certificate that
 * cannot be written never leaves its new key in place of the old one. */
static vis_err write_pair(gnutls_x509_privkey_t key, gnutls_x509_crt_t crt, const char *key_path,
			  const char *cert_path, struct vis_error *e)
{
	gnutls_datum_t kpem = {0}, cpem = {0};
	vis_err rc;
	if ((rc = fsmode_replaceable(key_path, "la chiave", e)) ||
	    (rc = fsmode_replaceable(cert_path, "il certificato", e)))
		return rc;
	if (gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &kpem) < 0 ||
	    gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cpem) < 0)
		rc = vis_error_set(e, VIS_ERR_INTERNAL, "impossibile codificare il certificato");
	else if ((rc = write_file(key_path, &kpem, 0600, "la chiave", e)) == VIS_OK)
		rc = write_file(cert_path, &cpem, 0644, "il certificato", e);
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
		rc = vis_error_set(e, VIS_ERR_INTERNAL, "impossibile generare un certificato "
							"autofirmato");
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
		rc = vis_error_set(e, VIS_ERR_INTERNAL, "impossibile creare l'autorità di "
							"certificazione");
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
		rc = vis_error_set(e, VIS_ERR_IO, "impossibile leggere la CA (%s): eseguire visura "
						  "ca init",
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
		rc = vis_error_set(e, VIS_ERR_INTERNAL, "impossibile rilasciare il certificato "
							"della postazione");
	} else if (tls_crt_serial_hex(crt, serial_hex) < 0) {
		rc = vis_error_set(e, VIS_ERR_INTERNAL, "impossibile leggere il numero di serie "
							"del certificato");
	} else {
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
