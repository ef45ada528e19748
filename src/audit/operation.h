/* operation — the access trail's operations (the `operation` of struct
 * store_access: search, consult, household, history, print, verify,
 * events, events_push, voucher, list_extract) as the people who read them
 * call them, in Italian: the citizen's report of who consulted them, the
 * alerts' details and their mail.  The names themselves stay internal. */
#ifndef VISURA_AUDIT_OPERATION_H
#define VISURA_AUDIT_OPERATION_H

/* The Italian label of an operation; "altra operazione" for a name this
 * table does not know (never the internal name).  A static string. */
const char *audit_operation_label(const char *op);

#endif
