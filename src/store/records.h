/* records — what the back ends of store.h share beyond the SQL text
 * (store/sql.h): how each control record maps to a table (one row of
 * column descriptors per struct field) and the statements built from it
 * (with ?N parameters), so that the generic insert/update/get/list code is
 * written once; when two versions of a register record are the same; the
 * "as of" date of a read. */
#ifndef VISURA_STORE_RECORDS_H
#define VISURA_STORE_RECORDS_H

#include <stdbool.h>
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

/* Statements over a record's table, with ?N parameters; each returns
 * false when it does not fit in cap.  INSERT of every column but id
 * (?1..) returning the new id; UPDATE by id (?n, n = ncols) of the columns
 * a change touched: column i (1..n-1) takes ?i unless it is NULL, and the
 * row must still hold ?n+i unless that is NULL (the value the change was
 * made from), so a change made on a copy read earlier writes only what it
 * changed, and nothing when another change came in between (no row);
 * SELECT of every column by one column (?1) — with_gen: and the control
 * generation after them (SQL_CONTROL_GEN). */
bool rec_sql_insert(const struct rec_desc *d, char *sql, size_t cap);
bool rec_sql_update(const struct rec_desc *d, char *sql, size_t cap);
bool rec_sql_get(const struct rec_desc *d, const struct rec_col *col, bool with_gen, char *sql,
		 size_t cap);
/* The SELECT of store_rec_list: returns the number of filters (their values
 * are ?1..; with `below`, "id < ?N" follows, N = that number + 1), or -1
 * (with e set) for a column the record does not have. */
int rec_sql_list(const struct rec_desc *d, const struct store_filter *filters, bool below,
		 int limit, char *sql, size_t cap, struct vis_error *e);

/* Two versions of a household / person hold the same data (valid dates
 * and ids aside). */
bool rec_family_same(const struct store_family *a, const struct store_family *b);
bool rec_person_same(const struct store_person *a, const struct store_person *b);

/* The date a read is "as of": `date`, or far in the future for 0 (now). */
int rec_as_of(int date);

/* Is `v` one of the comma-separated items of `list`? */
bool rec_in_list(const char *list, const char *v);

#endif
