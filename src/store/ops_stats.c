/* The statistics' protections kept (store_protection_* of store.h) written
 * once over store/driver.h: bits packed by src/stats/cache.c, kept as
 * base64 text (both back ends take it) with a digest that a read checks. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "store/ops.h"
#include "store/sql.h"

#define HEX (2 * STORE_PROTECTION_KEY + 1)

/* The most cells a row may say it packs (a protection larger than the
 * caches' 64 MiB is never kept): a row saying more is not read. */
#define MAX_CELLS ((size_t)512 << 20)

/* The digest of a row (hex): of the key, the count and the bytes. */
static void row_digest(const unsigned char *key, size_t cells, const unsigned char *data,
		       char out[HEX])
{
	unsigned char n[8], d[crypto_hash_sha256_BYTES];
	for (int i = 0; i < 8; i++)
		n[i] = (unsigned char)((uint64_t)cells >> (8 * i));
	crypto_hash_sha256_state h;
	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, key, STORE_PROTECTION_KEY);
	crypto_hash_sha256_update(&h, n, sizeof n);
	crypto_hash_sha256_update(&h, data, (cells + 7) / 8);
	crypto_hash_sha256_final(&h, d);
	sodium_bin2hex(out, HEX, d, sizeof d);
}

vis_err store_protection_get(struct store *s, const unsigned char key[STORE_PROTECTION_KEY],
			     size_t *cells, unsigned char **data, bool *found,
			     struct vis_error *e)
{
	*found = false;
	*data = NULL;
	*cells = 0;
	char k[HEX];
	sodium_bin2hex(k, sizeof k, key, STORE_PROTECTION_KEY);
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_PROTECTION_GET, "protezione conservata",
					  e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, k);
	bool row;
	if (drv_one(st, &row, e))
		return ops_err(e);
	if (!row) {
		drv_reset(st);
		return VIS_OK;
	}
	int64_t n = drv_col_i64(st, 0);
	const char *text = drv_col_text(st, 2);
	size_t tlen = drv_col_bytes(st, 2), len = n > 0 ? ((size_t)n + 7) / 8 : 0;
	char want[HEX], got[HEX];
	DRV_COL_COPY(st, 1, got);
	const char *why = NULL;
	unsigned char *b = NULL;
	size_t blen = 0;
	if (n < 1 || (size_t)n > MAX_CELLS)
		why = "numero di celle fuori misura";
	else if (tlen + 1 != sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL))
		why = "lunghezza dei dati diversa da quella delle celle";
	else if (!(b = malloc(len)))
		why = "memoria esaurita";
	else if (sodium_base642bin(b, len, text, tlen, NULL, &blen, NULL,
				   sodium_base64_VARIANT_ORIGINAL) || blen != len)
		why = "dati non in base64";
	else {
		row_digest(key, (size_t)n, b, want);
		if (strcmp(want, got))
			why = "impronta diversa da quella scritta";
	}
	drv_reset(st);
	if (why) {
		/* not trusted: the caller computes the protection again */
		log_warn("protezione conservata scartata", "key=%.16s why=\"%s\"", k, why);
		free(b);
		return VIS_OK;
	}
	*found = true;
	*cells = (size_t)n;
	*data = b;
	return VIS_OK;
}

vis_err store_protection_put(struct store *s, const unsigned char key[STORE_PROTECTION_KEY],
			     size_t cells, const unsigned char *data, int64_t now, int keep,
			     struct vis_error *e)
{
	if (cells < 1 || cells > MAX_CELLS || keep < 1)
		return vis_error_set(e, VIS_ERR_INVALID, "protezione da conservare fuori misura");
	size_t len = (cells + 7) / 8, tcap = sodium_base64_ENCODED_LEN(len,
								     sodium_base64_VARIANT_ORIGINAL);
	char *text = malloc(tcap);
	if (!text)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	sodium_bin2base64(text, tcap, data, len, sodium_base64_VARIANT_ORIGINAL);
	char k[HEX], digest[HEX];
	sodium_bin2hex(k, sizeof k, key, STORE_PROTECTION_KEY);
	row_digest(key, cells, data, digest);
	struct drv *d = store_drv(s);
	struct drv_stmt *put = drv_prepare(d, SQL_PROTECTION_PUT, "protezione conservata", e);
	struct drv_stmt *trim = put ? drv_prepare(d, SQL_PROTECTION_TRIM, "protezioni conservate",
						  e) : NULL;
	if (!trim || drv_begin(d, e)) {
		free(text);
		return ops_err(e);
	}
	drv_bind_text(put, 1, k);
	drv_bind_i64(put, 2, (int64_t)cells);
	drv_bind_text(put, 3, digest);
	drv_bind_textn(put, 4, text, tcap - 1);
	drv_bind_i64(put, 5, now);
	vis_err rc = drv_done(put, e);
	if (!rc) {
		drv_bind_i64(trim, 1, keep);
		rc = drv_done(trim, e);
	}
	free(text);
	if (rc) {
		drv_rollback(d);
		return rc;
	}
	return drv_commit(d, e) ? ops_err(e) : VIS_OK;
}

vis_err store_protection_touch(struct store *s, const unsigned char key[STORE_PROTECTION_KEY],
			       int64_t now, struct vis_error *e)
{
	char k[HEX];
	sodium_bin2hex(k, sizeof k, key, STORE_PROTECTION_KEY);
	struct drv_stmt *st = drv_prepare(store_drv(s), SQL_PROTECTION_TOUCH,
					  "protezione conservata", e);
	if (!st)
		return ops_err(e);
	drv_bind_text(st, 1, k);
	drv_bind_i64(st, 2, now);
	return drv_done(st, e);
}
