/* records — how each control record of store.h maps to a table: one row of
 * column descriptors per struct field, shared by every back end so that the
 * generic insert/update/get/list code is written once. */
#ifndef VISURA_STORE_RECORDS_H
#define VISURA_STORE_RECORDS_H

#include <stddef.h>

#include "store/store.h"

enum rec_col_type { RC_I64, RC_INT, RC_BOOL, RC_TEXT };

struct rec_col {
	const char *name;       /* column = struct field name */
	enum rec_col_type type;
	size_t offset;
	size_t size;            /* RC_TEXT: buffer size including the NUL */
};

struct rec_desc {
	const char *table;
	size_t struct_size;
	const struct rec_col *cols;   /* cols[0] is "id" */
	size_t ncols;
};

extern const struct rec_desc store_rec_descs[STORE_KIND__COUNT];

/* The descriptor of a column by name, NULL when the record has none. */
const struct rec_col *rec_col_find(const struct rec_desc *d, const char *name);

#endif
