/* ops — what the operations of store.h, written once over the driver
 * (ops_register.c, ops_trail.c, ops_control.c), share (internal to
 * src/store). */
#ifndef VISURA_STORE_OPS_H
#define VISURA_STORE_OPS_H

#include "store/driver.h"
#include "store/sql.h"
#include "store/store.h"

/* The connection of a store (store.c). */
struct drv *store_drv(struct store *s);
/* The connection of the shared state (store_shared_open): the companion
 * database's, or the handle's own. */
struct drv *store_shared_drv(struct store *s);

/* The statement of store_access_search for filter f, the one whose index
 * leads the search (sql.c): the person's records, else the account's, the
 * body's, the time range's; the walk by id when only a purpose, or
 * nothing, is asked, and for a time range that the walk from the cursor
 * meets at once (reads the time of two records for it). */
vis_err store_access_search_sql(struct store *s, const struct store_access_filter *f,
				enum sql_id *q, struct vis_error *e);

/* Whether the import under way began (under the import lock) on a register
 * without persons or households: then every person row is its own, and a
 * codice fiscale is registered nowhere else.  Set by store_import_start,
 * cleared when the transaction ends (store.c). */
void store_register_empty_set(struct store *s, bool empty);
bool store_register_empty(const struct store *s);

/* The cache of control records (cache.c).  store_cache_use: whether a read
 * of kind k may use the cache now (a cache attached and made fresh, no
 * transaction open), reading the generation first when the handle does
 * not know it yet; *gen is it.  Errors of that read are returned (and the
 * caller reads the database).  store_cache_hold: the record of kind k
 * whose column col (NULL for a setting's key) is text (or num), copied
 * into out (size bytes), when the cache holds it for generation gen
 * (*found false: it holds that there is none); store_cache_keep puts it
 * there (rec NULL: there is none). */
#define STORE_CACHE_SETTING STORE_KIND__COUNT
bool store_cache_kind(int k);
bool store_cache_use(struct store *s, int64_t *gen);
bool store_cache_hold(struct store *s, int k, const char *col, const char *text, int64_t num,
		      int64_t gen, void *out, size_t size, bool *found);
void store_cache_keep(struct store *s, int k, const char *col, const char *text, int64_t num,
		      int64_t gen, const void *rec, size_t size);
/* Whether the handle's next cached read would read the generation first
 * (attached, made fresh, not read yet, no transaction): a read of another
 * record may read it along (SQL_CONTROL_GEN as a column) and hand it to
 * store_cache_gen_read, which saves that statement. */
bool store_cache_gen_due(struct store *s);
void store_cache_gen_read(struct store *s, int64_t gen);
/* A change to control records begins (a transaction is opened when none
 * is, *own tells) and ends: the generation is moved in the change's
 * transaction, which is committed (when own) if rc is VIS_OK and rolled
 * back otherwise; returns the outcome. */
vis_err store_control_begin(struct store *s, bool *own, struct vis_error *e);
vis_err store_control_end(struct store *s, bool own, vis_err rc, struct vis_error *e);

/* The handle's view of the generation (store.c): the cache, whether the
 * handle was made fresh, whether it read the generation since. */
struct store_cache *store_cache_of(struct store *s);
bool store_gen_get(struct store *s, bool *fresh, int64_t *gen);
void store_gen_set(struct store *s, bool known, int64_t gen);

/* A PostgreSQL array literal of n texts (txt: each quoted, at most 150
 * bytes) or numbers (num) into out (cap bytes); an error when it does not
 * fit (ops_control.c). */
vis_err ops_pg_array(char *out, size_t cap, int n, const char *const *txt, const int64_t *num,
		     struct vis_error *e);

/* Steps st (prepared, its parameters bound) for its one row and reads its
 * first ncols columns as integers into *out[i] (a NULL out[i] skips one);
 * an error when there is no row ("what: nessuna riga").  Resets st.  For
 * the count(*) statements (ops_control.c). */
vis_err ops_counts_read(struct drv_stmt *st, int64_t *const out[], int ncols, const char *what,
			struct vis_error *e);

/* The code of a failure reported in e (VIS_ERR_STORE when e is NULL or
 * holds none). */
static inline vis_err ops_err(struct vis_error *e)
{
	return e && e->code ? e->code : VIS_ERR_STORE;
}

#endif
