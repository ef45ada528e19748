/* ops — what the operations of store.h, written once over the driver
 * (ops_register.c, ops_trail.c, ops_control.c), share (internal to
 * src/store). */
#ifndef VISURA_STORE_OPS_H
#define VISURA_STORE_OPS_H

#include "store/driver.h"
#include "store/store.h"

/* The connection of a store (store.c). */
struct drv *store_drv(struct store *s);

/* Whether the import under way began (under the import lock) on a register
 * without persons or households: then every person row is its own, and a
 * codice fiscale is registered nowhere else.  Set by store_import_start,
 * cleared when the transaction ends (store.c). */
void store_register_empty_set(struct store *s, bool empty);
bool store_register_empty(const struct store *s);

/* The code of a failure reported in e (VIS_ERR_STORE when e is NULL or
 * holds none). */
static inline vis_err ops_err(struct vis_error *e)
{
	return e && e->code ? e->code : VIS_ERR_STORE;
}

#endif
