/* sql — the text of every statement of the register, the access trail and
 * the control data, written once for every back end.
 *
 * Owns: the SQL.  It keeps to what SQLite and PostgreSQL both accept, with
 * parameters written ?N (numbered from 1): the SQLite back end prepares it
 * as it is, the PostgreSQL one after sql_to_pg() (?N becomes $N).  What
 * only one back end needs (SQLite's transactions and PRAGMAs,
 * PostgreSQL's RETURNING of new ids and COPY) stays in that back end.
 *
 * PostgreSQL types a parameter where it first meets it: compare a 64-bit
 * parameter with its column before comparing it with a literal
 * ("(at >= ?5 OR ?5 = 0)", not "(?5 = 0 OR at >= ?5)", which would make
 * ?5 a 32-bit integer). */
#ifndef VISURA_STORE_SQL_H
#define VISURA_STORE_SQL_H

#include <stddef.h>

/* The columns of a person and of a household version, in the order the
 * back ends bind and read them. */
#define P_COLS                                                              \
	"comune, local_id, valid_from, cf, surname, name, sex, birth_date, "  \
	"birth_place, citizenships, civil_status, civil_status_date, "        \
	"father_cf, mother_cf, reg_reason, reg_date, canc_reason, canc_date, " \
	"destination, family_id, relationship"
/* A mail's columns, in the order of its record (records.c, mail_cols). */
#define MAIL_COLS                                                           \
	"id, recipient, subject, body, kind, state, attempts, last_error, "   \
	"created_at, next_attempt_at, sent_at"
/* A notice's columns, in the order of its record (records.c, notice_cols). */
#define NOTICE_COLS "id, title, body, starts_at, ends_at, created_at, withdrawn_at"
#define F_COLS                                                              \
	"comune, local_id, kind, valid_from, dug, street, civic, civic_ext, "  \
	"scala, interno, cap, locality, convivenza"

/* The rows a retention statement deletes at most (the DELETEs among
 * SQL_PURGE_*, SQL_CITIZEN_SESSION_PURGE, SQL_PDND_JTI_PURGE): each is a transaction
 * of its own, and holds the register's write lock, which logins and
 * changes wait for at most a second (store_wait), a moment: a backlog
 * deleted at once held it for seconds (400,000 security events: 6.3 s). */
#define SQL_PURGE_ROWS 1000

enum sql_id {
	SQL_STATE_LOCK,
	SQL_STATE_PUT,
	SQL_STATE_SWAP,
	SQL_STATE_SEEN,
	SQL_COUNTERS_TAKE,
	SQL_COUNTERS_CREATE,
	SQL_FEED_GET,
	SQL_IMPORT_SHA,
	SQL_IMPORT_INSERT,
	SQL_COMUNE_HAS_PERSON,
	SQL_FAMILY_GET_CURRENT,
	SQL_FAMILY_INSERT,
	SQL_FAMILY_TO_HISTORY,
	SQL_FAMILY_UPDATE,
	SQL_FAMILY_SEEN,
	SQL_FAMILY_EXISTS,
	SQL_PERSON_GET_CURRENT,
	SQL_PERSON_INSERT,
	SQL_PERSON_TO_HISTORY,
	SQL_PERSON_UPDATE,
	SQL_PERSON_SEEN,
	SQL_PERSON_EXISTS,
	SQL_PERSON_CF_OWNER,
	SQL_PERSON_CF_ELSEWHERE,
	SQL_PERSON_CF_ELSEWHERE_ANY,
	SQL_EVENT_GET,
	SQL_EVENT_GET_ANY,
	SQL_PERSON_EXISTS_ANY,
	SQL_FAMILY_GET_CURRENT_ANY,
	SQL_PERSON_GET_CURRENT_ANY,
	SQL_PERSON_CF_OWNER_ANY,
	SQL_EVENT_INSERT,
	SQL_PERSON_DROP,
	SQL_FAMILY_DROP,
	SQL_IMPORT_FINISH,
	SQL_FEED_PUT,
	SQL_REGISTER_ANALYZE,
	SQL_DATABASE_ANALYZE,
	SQL_SHARED_VACUUM,
	SQL_COUNT_PERSONS,
	SQL_COUNT_FAMILIES,
	SQL_COUNT_EVENTS,
	SQL_PERSON_BY_CF,
	SQL_PERSON_HISTORY,
	SQL_FAMILY_AT,
	SQL_FAMILY_MEMBERS,
	SQL_FAMILY_MEMBERS_PAGE,
	SQL_COMUNE_INSERT,
	SQL_STATO_INSERT,
	SQL_FEED_EACH,
	SQL_IMPORT_EACH,
	SQL_IMPORT_LAST_COUNTS,
	SQL_SESSIONS_REVOKE_OTHERS,
	SQL_PASSWORD_HISTORY,
	SQL_PASSWORD_HISTORY_ADD,
	SQL_THROTTLE_GET,
	SQL_THROTTLE_PUT,
	SQL_THROTTLE_BUMP,
	SQL_THROTTLE_LOCK,
	SQL_THROTTLE_UNDO,
	SQL_SETTING_GET,
	SQL_SETTING_PUT,
	SQL_READINESS_WRITE,
	SQL_SUBJECT_CODE_PUT,
	SQL_SUBJECT_CODE_USE,
	SQL_CITIZEN_SESSION_PUT,
	SQL_CITIZEN_SESSION_GET,
	SQL_CITIZEN_SESSION_END,
	SQL_CITIZEN_SESSION_PURGE,
	SQL_CITIZEN_MAIL_GET,
	SQL_CITIZEN_MAIL_BY_ID,
	SQL_CITIZEN_MAIL_ASK,
	SQL_CITIZEN_MAIL_CONFIRM,
	SQL_CITIZEN_MAIL_DELETE,
	SQL_CITIZEN_MAIL_FORGET,
	SQL_CITIZEN_MAIL_UNPEND,
	SQL_CITIZEN_MAIL_DUE,
	SQL_CITIZEN_MAIL_ADVANCE,
	SQL_CITIZEN_MAIL_DROP_PENDING,
	SQL_CHECKPOINT_INSERT,
	SQL_CHECKPOINT_EACH,
	SQL_TREE_PUT,
	SQL_TREE_GET,
	SQL_HEAD_INSERT,
	SQL_HEAD_LAST,
	SQL_HEAD_EACH,
	SQL_HEAD_COSIGNED,
	SQL_ACCESS_SUBJECT_EACH,
	SQL_EVENT_EACH,
	SQL_PERSON_VERSIONS_EACH,
	SQL_IMPORT_SPAN_EACH,
	SQL_EVENTS_AFTER,
	SQL_WEBHOOK_GET,
	SQL_WEBHOOK_PUT,
	SQL_REC_DELETE,
	SQL_ALERTS_COUNT_ENTE,
	SQL_ALERTS_BY_RULE,
	SQL_ALERTS_SINCE,
	SQL_MAIL_DUE,
	SQL_NOTICES_LIVE,
	SQL_NOTICE_CORRECT,
	SQL_EVENTS_COUNT_DETAIL,
	SQL_SESSIONS_REVOKE_ACCOUNT,
	SQL_ACCOUNT_TOTP_ADVANCE,
	SQL_TOKENS_REVOKE_ACCOUNT,
	SQL_ACCESS_PURGE_SUBJECTS,
	SQL_ACCESS_PURGE,
	SQL_PURGE_INSERT,
	SQL_PURGE_EACH,
	SQL_PURGE_LAST,
	SQL_PURGE_SECURITY_EVENTS,
	SQL_PURGE_SESSIONS,
	SQL_PURGE_THROTTLE,
	SQL_PURGE_MAIL,
	SQL_PURGE_SUBJECT_CODES,
	SQL_ACCESS_EACH,
	SQL_ACCESS_GET,
	SQL_ACCESS_LAST,
	SQL_ACCESS_INSERT,
	SQL_ACCESS_SUBJECT_INSERT,
	SQL_PERSON_VERSIONS_AT,
	SQL_PERSON_VERSIONS_HOME_AT,
	SQL_SEARCH_EXACT,
	SQL_SEARCH_SURNAME,
	SQL_SEARCH_NAME,
	SQL_ACCESS_SEARCH,
	SQL_PERSON_EACH_AT,
	SQL_FAMILY_LOAD,
	SQL_PERSON_LOAD,
	SQL_PDND_JTI_TAKE,
	SQL_PDND_JTI_TAKE_PAIR,
	SQL_PDND_JTI_GIVE_BACK,
	SQL_PDND_JTI_PURGE,
	SQL_CONTROL_GEN_GET,
	SQL_CONTROL_GEN_BUMP,
	SQL_FAMILY_EACH_AT,
	SQL_BOLLETTINO_COMUNE_ADD,
	SQL_BOLLETTINO_COMUNE_DEL,
	SQL_BOLLETTINO_COMUNE_EACH,
	SQL_BOLLETTINO_PUT,
	SQL_BOLLETTINO_HAS,
	SQL_BOLLETTINO_EACH,
	SQL_BOLLETTINO_GET,
	SQL_BOLLETTINO_SUPERSEDE,
	SQL_BOLLETTINO_REPLACE,
	/* the same three for one municipality, by its index (the
	 * statistics of a pool read each member alone) */
	SQL_PERSON_EACH_AT_COMUNE,
	SQL_FAMILY_EACH_AT_COMUNE,
	SQL_PERSON_VERSIONS_COMUNE,
	/* the search of the trail led by one filter's index (SQL_ACCESS_SEARCH:
	 * by none) */
	SQL_ACCESS_SEARCH_CF,
	SQL_ACCESS_SEARCH_ACCOUNT,
	SQL_ACCESS_SEARCH_ENTE,
	SQL_ACCESS_SEARCH_TIME,
	SQL_ACCESS_SEARCH_SPAN,
	/* the statistics' kept protections (store_protection_*) */
	SQL_PROTECTION_GET,
	SQL_PROTECTION_PUT,
	SQL_PROTECTION_TRIM,
	SQL_PROTECTION_TOUCH,
	SQL__COUNT
};

extern const char *const store_sql[SQL__COUNT];

/* The generation of the control records (store_cache_*), as a value:
 * SQL_CONTROL_GEN_GET, and a column of the first record a request reads
 * (rec_sql_get). */
#define SQL_CONTROL_GEN "SELECT gen FROM control_gen WHERE id = 1"

/* sql in PostgreSQL's notation ($N for ?N) into out (cap bytes); returns
 * the number of parameters (the highest N), or -1 when out is too small. */
int sql_to_pg(const char *sql, char *out, size_t cap);

#endif
