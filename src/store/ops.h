/* ops — what the operations of store.h, written once over the driver
 * (ops_register.c, ops_trail.c, ops_control.c), share (internal to
 * src/store). */
#ifndef VISURA_STORE_OPS_H
#define VISURA_STORE_OPS_H

#include "store/driver.h"
#include "store/store.h"

/* The connection of a store (store.c). */
struct drv *store_drv(struct store *s);

/* The code of a failure reported in e (VIS_ERR_STORE when e is NULL or
 * holds none). */
static inline vis_err ops_err(struct vis_error *e)
{
	return e && e->code ? e->code : VIS_ERR_STORE;
}

#endif
