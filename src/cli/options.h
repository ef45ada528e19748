/* options — the few helpers every sub-command shares: the database to open
 * and the reference data to load. */
#ifndef VISURA_CLI_OPTIONS_H
#define VISURA_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "common/str.h"

struct refdata;
struct store;

/* The database when nothing names one, set by the build (CMakeLists.txt,
 * VISURA_LAYOUT). */
#ifndef VISURA_DB_DEFAULT
#define VISURA_DB_DEFAULT "visura.db"
#endif

/* The database URI: --db when given, else $VISURA_DB, else the built-in
 * default ("visura.db"; /var/lib/visura/visura.db in the system layout). */
const char *cli_db_uri(const char *flag);

/* Opens the store or prints why not; returns the exit status to use on
 * failure (0 when opened). */
int cli_store_open(const char *uri, struct store **out);
int cli_refdata_load(struct refdata **out);

/* Prints "visura: <what>: <message>" to stderr. */
void cli_error(const char *what, const struct vis_error *e);

/* Is this argument a request for help (--help, -h)? */
bool cli_help_arg(const char *arg);

/* Creates dir and its missing parents with `mode` (an existing directory
 * is fine); prints why not and returns false. */
bool cli_dir_ensure(const char *dir, unsigned mode);

/* Is this argument acceptable text: valid UTF-8, no control character, no
 * direction control (common/text.h)?  Prints why not. */
bool cli_text_ok(const char *src, const char *option);

/* Copies an argument into a field, or prints why not and returns false: a
 * command refuses text that cli_text_ok refuses or that does not fit
 * ("<option>: più lungo di N byte"). */
bool cli_copy(char *dst, size_t cap, const char *src, const char *option);
/* Reads a whole-number argument (str_uint: decimal digits only, no sign,
 * space or other character) in [min, max], 0 <= min; else prints
 * "visura: <option>: un numero intero da MIN a MAX" and returns false.
 * gen's options (--seed takes all of uint64) and audit consistency's
 * --from/--to read theirs with str_u64, the same rule, and say so in their
 * own words. */
bool cli_int(const char *src, const char *option, long long min, long long max, long long *out);

#define CLI_COPY(arr, src, option) cli_copy((arr), STR_ARRAY_SIZE(arr), (src), (option))

#endif
