#include "store/sql.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/config.h"

#define STR_OF(x) #x
#define STR_OF_VALUE(x) STR_OF(x)
#define PURGE_ROWS STR_OF_VALUE(SQL_PURGE_ROWS)
#define P_PARAMS "?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21"
#define F_PARAMS "?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13"

/* A version dropped from the feed ended on its drop date, not later. */
#define CLOSE_AT "CASE WHEN dropped > 0 AND dropped < ?2 THEN dropped ELSE ?2 END"

/* A version of a person valid on ?2 among current rows and history rows. */
#define PERSON_AT(where)                                                    \
	"SELECT " P_COLS ", 0 AS valid_to FROM person WHERE " where          \
	" AND valid_from <= ?2 AND (dropped = 0 OR dropped > ?2)"             \
	" UNION ALL SELECT " P_COLS ", valid_to FROM person_history WHERE " where \
	" AND valid_from <= ?2 AND valid_to > ?2"

/* A version of a household valid on ?2 among current rows and history rows. */
#define FAMILY_AT(where)                                                    \
	"SELECT " F_COLS ", 0 FROM family WHERE " where                      \
	" AND valid_from <= ?2 AND (dropped = 0 OR dropped > ?2)"             \
	" UNION ALL SELECT " F_COLS ", valid_to FROM family_history WHERE " where \
	" AND valid_from <= ?2 AND valid_to > ?2"

/* The members of household ?3 of municipality ?1 on date ?2. */
#define FAMILY_MEMBERS_AT(more)                                             \
	"SELECT * FROM (" PERSON_AT("comune = ?1 AND family_id = ?3") ") AS v" \
	" WHERE reg_date <= ?2 AND (canc_reason = 0 OR canc_date > ?2)" more

#define CITIZEN_MAIL_COLS                                                   \
	"id, cf, address, pending_address, confirm_expires_at, unsub_nonce,"    \
	" last_access_id, last_held_id, last_checked_at"

#define ACCESS_COLS                                                         \
	"id, at, account_id, username, ente_id, convenzione_id, purpose_id, case_ref," \
	" on_behalf_of, ip, operation, query, subjects, categories, outcome, status," \
	" flags, workstation, prev_hash, hash"

/* The search of the trail: ?1 a codice fiscale, ?2 an account, ?3 a body,
 * ?4 a purpose (each '' or 0: any), ?5..?6 the time range [from, to) (?6
 * the largest: no end), ?8 the cursor (ids above it), ?7 the page.  A
 * filter written "(col = ?N OR ?N = 0)" is checked row by row, never
 * searched by an index (SQLite's planner, PostgreSQL's generic plan of a
 * prepared statement): `lead`, the filter the statement searches by its
 * index, is written plainly, the others so (`rest`). */
#define ACCESS_SEARCH(lead, rest) ACCESS_SEARCH_BY(lead, rest, "id")
#define ACCESS_SEARCH_BY(lead, rest, order)                                 \
	"SELECT " ACCESS_COLS " FROM access_log WHERE " lead " AND " rest     \
	" AND (purpose_id = ?4 OR ?4 = 0) AND id > ?8 ORDER BY " order " LIMIT ?7"
#define ACCESS_BY_CF "(?1 = '' OR id IN (SELECT access_id FROM access_subject WHERE cf = ?1))"
#define ACCESS_BY_ACCOUNT "(account_id = ?2 OR ?2 = 0)"
#define ACCESS_BY_ENTE "(ente_id = ?3 OR ?3 = 0)"
#define ACCESS_BY_TIME "(at >= ?5 OR ?5 = 0) AND (at < ?6 OR ?6 = 0)"

const char *const store_sql[SQL__COUNT] = {
	/* One statement creates the value if needed (its version starting
	 * at ?2, drawn at random), locks it (the upsert writes the row) and
	 * reads it with its version. */
	[SQL_STATE_LOCK] = "INSERT INTO shared_state (key, value, updated_at, version)"
			   " VALUES (?1, '', 0, ?2)"
			   " ON CONFLICT (key) DO UPDATE SET updated_at = shared_state.updated_at"
			   " RETURNING value, version",
	/* Every write moves the version on by one. */
	[SQL_STATE_PUT] = "UPDATE shared_state SET value = ?2, updated_at = ?3,"
			  " version = version + 1 WHERE key = ?1",
	/* Compare and set (PostgreSQL only: used where store_shared holds;
	 * outside a transaction, or inside one holding the value's lock):
	 * writes ?2 only if the value's version is still ?4, and with it the
	 * change to the value's persons (shared_seen): the rows seen at or
	 * before ?5 leave, those of ?6 (an array of hashes) are seen at ?3,
	 * added or refreshed; a write of what changed, not of the whole set.
	 * l locks the value for the statement and, waiting for another
	 * statement or transaction on it, reads what that one wrote; u writes
	 * it, d and i the persons, only if u did (a ?5 below 0 skips d's
	 * scan).  One row (none when the key has no row): the new version, or
	 * NULL and then the value as it is, with its version.  d reads its
	 * values through sub-selects, (SELECT ?5), so that a plan made for one
	 * call's values costs d as the plan for any values does: with ?5 as a
	 * value, its guard was false in the one-call plan whenever ?5 was -1
	 * (d gone), ?1 and ?6 made d cheaper still (a key with few persons, an
	 * array of one), and PostgreSQL, comparing the two costs, planned the
	 * statement again at every call (about 114 µs a look-up, issue #20).
	 * It now keeps the plan for any values from the sixth call on; the
	 * guard, a sub-select's value, still skips d's scan when it runs
	 * (unit_pg.test_plans). */
	[SQL_STATE_SWAP] =
		"WITH l AS MATERIALIZED (SELECT key, value, version FROM shared_state"
		" WHERE key = ?1 FOR UPDATE),"
		" u AS (UPDATE shared_state SET value = ?2, updated_at = ?3, version = l.version + 1"
		" FROM l WHERE shared_state.key = l.key AND l.version = ?4"
		" RETURNING shared_state.version),"
		" d AS (DELETE FROM shared_seen WHERE (SELECT ?5::bigint) >= 0 AND key = (SELECT ?1::text)"
		" AND at <= (SELECT ?5::bigint) AND NOT (h = ANY ((SELECT ?6::bigint[])::bigint[]))"
		" AND EXISTS (SELECT 1 FROM u) RETURNING 1),"
		" i AS (INSERT INTO shared_seen (key, h, at)"
		" SELECT DISTINCT ?1, h, ?3::bigint FROM unnest(?6::bigint[]) AS n (h)"
		" WHERE EXISTS (SELECT 1 FROM u)"
		" ON CONFLICT (key, h) DO UPDATE SET at = excluded.at RETURNING 1)"
		" SELECT (SELECT version FROM u),"
		" CASE WHEN EXISTS (SELECT 1 FROM u) THEN '' ELSE l.value END, l.version FROM l",
	/* The persons of a value, read under its lock (store_state_lock). */
	[SQL_STATE_SEEN] = "SELECT h, at FROM shared_seen WHERE key = ?1",
	/* The rate-limit counters of the instances on one database, all or
	 * none in one statement (PostgreSQL only: used where store_shared
	 * holds).  ?1 the keys, ?2 the current window of each, ?3 its limit
	 * (arrays); a value is "WINDOW COUNT".  A row's window never moves
	 * back: an instance whose clock is behind another's (?2 older than the
	 * row's window) is counted in the row's later window, whose count it
	 * would otherwise reset (c).  l locks the rows in key order
	 * and, waiting for another instance's statement, reads its result;
	 * every count is then known exactly.  Each counter is granted g units
	 * (a lease, ratelimit.h): its remaining units divided by ?5, at least
	 * 1 and at most ?6.  u writes every count plus its g, only if no rule
	 * is at its limit and every row exists (a missing one is created by
	 * SQL_COUNTERS_CREATE and the statement run again).  A row per key:
	 * its place in ?1, whether it is at its limit, whether it was missing,
	 * how many rows were written, and its g. */
	[SQL_COUNTERS_TAKE] =
		"WITH r AS (SELECT * FROM unnest(?1::text[], ?2::bigint[], ?3::bigint[])"
		" WITH ORDINALITY AS r (key, wid, lim, i)),"
		" l AS MATERIALIZED (SELECT key, value FROM shared_state WHERE key = ANY (?1::text[])"
		" ORDER BY key FOR UPDATE),"
		" v AS (SELECT key, NULLIF(split_part(value, ' ', 1), '')::bigint AS wid,"
		" split_part(value, ' ', 2) AS n FROM l),"
		" c AS (SELECT r.key, GREATEST(r.wid, v.wid) AS wid, r.lim, r.i, v.key IS NULL AS missing,"
		" CASE WHEN v.wid >= r.wid THEN v.n::bigint ELSE 0 END AS n"
		" FROM r LEFT JOIN v ON v.key = r.key),"
		" g AS (SELECT c.*, LEAST(?6::bigint, GREATEST(1, (c.lim - c.n) / ?5::bigint)) AS g FROM c),"
		" u AS (UPDATE shared_state SET value = g.wid || ' ' || (g.n + g.g), updated_at = ?4"
		" FROM g WHERE shared_state.key = g.key"
		" AND NOT EXISTS (SELECT 1 FROM c WHERE c.n >= c.lim OR c.missing) RETURNING 1)"
		" SELECT i, (n >= lim)::int, missing::int, (SELECT count(*) FROM u), g FROM g",
	[SQL_COUNTERS_CREATE] = "INSERT INTO shared_state (key, value, updated_at)"
		" SELECT key, '', 0 FROM unnest(?1::text[]) AS k (key) ORDER BY key"
		" ON CONFLICT (key) DO NOTHING",
	[SQL_FEED_GET] = "SELECT last_seq, last_extract, last_import_id FROM feed WHERE comune = ?1",
	[SQL_IMPORT_SHA] = "SELECT sha256 FROM import WHERE comune = ?1 AND seq = ?2",
	[SQL_IMPORT_INSERT] = "INSERT INTO import (comune, seq, kind, extract_at, sha256, source, started_at)"
			     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
	[SQL_COMUNE_HAS_PERSON] = "SELECT (SELECT 1 FROM person WHERE comune = ?1 LIMIT 1),"
				 " (SELECT 1 FROM person LIMIT 1), (SELECT 1 FROM family LIMIT 1)",
	[SQL_FAMILY_GET_CURRENT] = "SELECT id, " F_COLS ", dropped FROM family WHERE comune = ?1 AND local_id = ?2",
	[SQL_FAMILY_INSERT] = "INSERT INTO family (" F_COLS ", import_id, seen_import) VALUES ("
			     F_PARAMS ", ?14, ?14)",
	[SQL_FAMILY_TO_HISTORY] = "INSERT INTO family_history (family, " F_COLS ", import_id, valid_to)"
				 " SELECT id, " F_COLS ", import_id, " CLOSE_AT " FROM family WHERE id = ?1",
	[SQL_FAMILY_UPDATE] = "UPDATE family SET kind = ?3, valid_from = ?4, dug = ?5, street = ?6,"
			     " civic = ?7, civic_ext = ?8, scala = ?9, interno = ?10, cap = ?11,"
			     " locality = ?12, convivenza = ?13, import_id = ?14, seen_import = ?14,"
			     " dropped = 0 WHERE comune = ?1 AND local_id = ?2",
	[SQL_FAMILY_SEEN] = "UPDATE family SET seen_import = ?2 WHERE id = ?1",
	[SQL_FAMILY_EXISTS] = "SELECT 1 FROM family WHERE comune = ?1 AND local_id = ?2",
	[SQL_PERSON_GET_CURRENT] = "SELECT id, " P_COLS ", dropped FROM person WHERE comune = ?1 AND local_id = ?2",
	[SQL_PERSON_INSERT] = "INSERT INTO person (" P_COLS ", surname_key, name_key, import_id, seen_import)"
			     " VALUES (" P_PARAMS ", ?22, ?23, ?24, ?24)",
	[SQL_PERSON_TO_HISTORY] = "INSERT INTO person_history (person, " P_COLS ", surname_key, name_key, import_id, valid_to)"
				 " SELECT id, " P_COLS ", surname_key, name_key, import_id, " CLOSE_AT " FROM person WHERE id = ?1",
	[SQL_PERSON_UPDATE] = "UPDATE person SET valid_from = ?3, cf = ?4, surname = ?5, name = ?6,"
			     " sex = ?7, birth_date = ?8, birth_place = ?9, citizenships = ?10,"
			     " civil_status = ?11, civil_status_date = ?12, father_cf = ?13,"
			     " mother_cf = ?14, reg_reason = ?15, reg_date = ?16, canc_reason = ?17,"
			     " canc_date = ?18, destination = ?19, family_id = ?20, relationship = ?21,"
			     " surname_key = ?22, name_key = ?23, import_id = ?24, seen_import = ?24,"
			     " dropped = 0 WHERE comune = ?1 AND local_id = ?2",
	[SQL_PERSON_SEEN] = "UPDATE person SET seen_import = ?2 WHERE id = ?1",
	[SQL_PERSON_EXISTS] = "SELECT 1 FROM person WHERE comune = ?1 AND local_id = ?2",
	[SQL_PERSON_CF_OWNER] = "SELECT local_id FROM person WHERE comune = ?1 AND cf = ?2",
	[SQL_PERSON_CF_ELSEWHERE] = "SELECT comune FROM person WHERE cf = ?2 AND comune <> ?1"
				    " AND canc_reason = 0 AND dropped = 0 ORDER BY comune LIMIT 1",
	/* The same for the codici fiscali of an array (?2, PostgreSQL only):
	 * a row for each one registered elsewhere, with the first such
	 * municipality, as SQL_PERSON_CF_ELSEWHERE. */
	[SQL_PERSON_CF_ELSEWHERE_ANY] = "SELECT cf, min(comune) FROM person WHERE cf = ANY (?2::text[])"
					" AND comune <> ?1 AND canc_reason = 0 AND dropped = 0 GROUP BY cf",
	[SQL_EVENT_GET] = "SELECT type, date, person_local_id, place, other_cf FROM event"
			 " WHERE comune = ?1 AND local_id = ?2",
	/* PostgreSQL only: the events, and the persons, of many ids in one
	 * statement (store_events_get, store_persons_exist); each row names
	 * its id by its place in the array ?2 (from 1). */
	[SQL_EVENT_GET_ANY] = "SELECT k.i, e.type, e.date, e.person_local_id, e.place, e.other_cf"
			     " FROM unnest(?2::text[]) WITH ORDINALITY AS k (id, i)"
			     " JOIN event e ON e.comune = ?1 AND e.local_id = k.id",
	[SQL_PERSON_EXISTS_ANY] = "SELECT k.i FROM unnest(?2::text[]) WITH ORDINALITY AS k (id, i)"
				 " JOIN person p ON p.comune = ?1 AND p.local_id = k.id",
	/* The current versions of many ids, and the owners of many codici
	 * fiscali (store_families_current, store_persons_current,
	 * store_person_cf_owners), as SQL_FAMILY_GET_CURRENT,
	 * SQL_PERSON_GET_CURRENT and SQL_PERSON_CF_OWNER, each row after the
	 * place of its key. */
	[SQL_FAMILY_GET_CURRENT_ANY] = "SELECT k.i, f.id, " F_COLS ", dropped"
				      " FROM unnest(?2::text[]) WITH ORDINALITY AS k (key, i)"
				      " JOIN family f ON f.comune = ?1 AND f.local_id = k.key",
	[SQL_PERSON_GET_CURRENT_ANY] = "SELECT k.i, p.id, " P_COLS ", dropped"
				      " FROM unnest(?2::text[]) WITH ORDINALITY AS k (key, i)"
				      " JOIN person p ON p.comune = ?1 AND p.local_id = k.key",
	[SQL_PERSON_CF_OWNER_ANY] = "SELECT k.i, p.local_id"
				   " FROM unnest(?2::text[]) WITH ORDINALITY AS k (key, i)"
				   " JOIN person p ON p.comune = ?1 AND p.cf = k.key",
	[SQL_EVENT_INSERT] = "INSERT INTO event (comune, local_id, type, date, person_local_id, place,"
			    " other_cf, import_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[SQL_PERSON_DROP] = "UPDATE person SET dropped = ?3 WHERE comune = ?1 AND seen_import <> ?2 AND dropped = 0",
	[SQL_FAMILY_DROP] = "UPDATE family SET dropped = ?3 WHERE comune = ?1 AND seen_import <> ?2 AND dropped = 0",
	[SQL_IMPORT_FINISH] = "UPDATE import SET finished_at = ?2, inserted = ?3, updated = ?4,"
			     " unchanged = ?5, closed = ?6, families = ?7, persons = ?8, events = ?9,"
			     " sha256 = ?10"
			     " WHERE id = ?1",
	[SQL_FEED_PUT] = "INSERT INTO feed (comune, last_seq, last_extract, last_import_id)"
			" VALUES (?1, ?2, ?3, ?4) ON CONFLICT (comune) DO UPDATE SET"
			" last_seq = excluded.last_seq, last_extract = excluded.last_extract,"
			" last_import_id = excluded.last_import_id",
	/* The planner's statistics of the tables a FULL snapshot writes
	 * (PostgreSQL only, where store_shared holds: store_import_finish). */
	[SQL_REGISTER_ANALYZE] = "ANALYZE family, family_history, person, person_history, event",
	/* The same for every table, after store_copy loaded them all. */
	[SQL_DATABASE_ANALYZE] = "ANALYZE",
	/* The companion database's dead row versions removed
	 * (store_shared_vacuum; PostgreSQL only, outside a transaction).
	 * Without giving back the empty pages at the end: that takes the
	 * table's exclusive lock (waiting up to 5 s for the look-ups' locks
	 * to allow it) and every connection's plans of it are made again. */
	[SQL_SHARED_VACUUM] = "VACUUM (TRUNCATE false) shared_state, shared_seen",
	[SQL_COUNT_PERSONS] = "SELECT coalesce(sum(CASE WHEN canc_reason = 0 OR canc_date > ?2 THEN 1 ELSE 0 END), 0),"
			     " coalesce(sum(CASE WHEN canc_reason <> 0 AND canc_date <= ?2 THEN 1 ELSE 0 END), 0)"
			     " FROM (" PERSON_AT("(?1 = '' OR comune = ?1)") ") AS v WHERE reg_date <= ?2",
	[SQL_COUNT_FAMILIES] = "SELECT count(*) FROM (SELECT DISTINCT comune, family_id FROM ("
			      PERSON_AT("(?1 = '' OR comune = ?1)") ") AS v WHERE reg_date <= ?2"
			      " AND (canc_reason = 0 OR canc_date > ?2) AND family_id IS NOT NULL) AS f",
	[SQL_COUNT_EVENTS] = "SELECT count(*) FROM event WHERE (?1 = '' OR comune = ?1) AND date <= ?2",
	[SQL_PERSON_BY_CF] = "SELECT * FROM (" PERSON_AT("cf = ?3 AND (?1 = '' OR comune = ?1)") ") AS v"
			    " ORDER BY canc_reason <> 0, valid_from DESC LIMIT 1",
	/* Every version of every person of ?1 ("" = all), a record's versions
	 * together and oldest first: the register's history, for statistics. */
	[SQL_PERSON_VERSIONS_EACH] = "SELECT * FROM (SELECT " P_COLS ", valid_to FROM person_history"
			      " WHERE (?1 = '' OR comune = ?1) UNION ALL SELECT " P_COLS ", dropped AS valid_to"
			      " FROM person WHERE (?1 = '' OR comune = ?1)) AS v"
			      " ORDER BY comune, local_id, valid_from, valid_to = 0",
	[SQL_PERSON_VERSIONS_COMUNE] = "SELECT * FROM (SELECT " P_COLS ", valid_to FROM person_history"
			      " WHERE comune = ?1 UNION ALL SELECT " P_COLS ", dropped AS valid_to"
			      " FROM person WHERE comune = ?1) AS v"
			      " ORDER BY comune, local_id, valid_from, valid_to = 0",
	/* The extract dates of each municipality's first and last import. */
	[SQL_IMPORT_SPAN_EACH] = "SELECT comune, min(extract_at), max(extract_at) FROM import"
			      " WHERE finished_at IS NOT NULL GROUP BY comune ORDER BY comune",
	[SQL_PERSON_HISTORY] = "SELECT * FROM (SELECT " P_COLS ", valid_to FROM person_history"
			      " WHERE person = (SELECT id FROM person WHERE comune = ?1 AND local_id = ?2)"
			      " UNION ALL SELECT " P_COLS ", dropped AS valid_to FROM person WHERE comune = ?1"
			      " AND local_id = ?2) AS v ORDER BY valid_from, valid_to = 0",
	[SQL_FAMILY_AT] = FAMILY_AT("comune = ?1 AND local_id = ?3"),
	[SQL_FAMILY_MEMBERS] = FAMILY_MEMBERS_AT("") " ORDER BY relationship, birth_date, local_id",
	/* A page of them: after the key (?4, ?5, ?6) of the previous page's
	 * last member, at most ?7. */
	[SQL_FAMILY_MEMBERS_PAGE] = FAMILY_MEMBERS_AT(" AND (relationship, birth_date, local_id) > (?4, ?5, ?6)")
			      " ORDER BY relationship, birth_date, local_id LIMIT ?7",
	[SQL_COMUNE_INSERT] = "INSERT INTO comune VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
	[SQL_STATO_INSERT] = "INSERT INTO stato (istat, belfiore, iso3, name,"
		" valid_from, valid_to, eu) VALUES (?1,?2,?3,?4,?5,?6,?7)",
	[SQL_FEED_EACH] = "SELECT comune, last_seq, last_extract, last_import_id FROM feed"
		" ORDER BY comune",
	[SQL_IMPORT_EACH] = "SELECT id, comune, seq, kind, extract_at, sha256, source,"
		" started_at, finished_at, inserted, updated, unchanged, closed,"
		" families, persons, events FROM import WHERE finished_at IS NOT NULL"
		" AND (comune = ?1 OR ?1 IS NULL) AND (id < ?3 OR ?3 = 0) ORDER BY id DESC LIMIT ?2",
	[SQL_IMPORT_LAST_COUNTS] = "SELECT inserted, updated, unchanged, closed, families,"
		" persons, events FROM import WHERE comune = ?1 AND finished_at IS NOT NULL"
		" ORDER BY id DESC LIMIT 1",
	[SQL_SESSIONS_REVOKE_OTHERS] = "UPDATE session SET revoked_at = ?3 WHERE account_id = ?1"
		" AND id <> ?2 AND revoked_at = 0",
	[SQL_PASSWORD_HISTORY] = "SELECT hash FROM password_history WHERE account_id = ?1"
		" ORDER BY set_at DESC, rowid DESC LIMIT ?2",
	[SQL_PASSWORD_HISTORY_ADD] = "INSERT INTO password_history VALUES (?1, ?2, ?3)",
	[SQL_THROTTLE_GET] = "SELECT failures, last_failure_at, locked_until FROM throttle"
		" WHERE key = ?1",
	[SQL_THROTTLE_PUT] = "INSERT INTO throttle VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,"
		" last_failure_at = excluded.last_failure_at,"
		" locked_until = excluded.locked_until",
	/* a failure counted in one statement: two at once are two */
	[SQL_THROTTLE_BUMP] = "INSERT INTO throttle VALUES (?1, 1, ?2, 0)"
		" ON CONFLICT (key) DO UPDATE SET failures = CASE"
		" WHEN throttle.last_failure_at + ?3 < ?2 THEN 1 ELSE throttle.failures + 1 END,"
		" last_failure_at = ?2 RETURNING failures, locked_until",
	[SQL_THROTTLE_LOCK] = "UPDATE throttle SET locked_until = ?2"
		" WHERE key = ?1 AND locked_until < ?2",
	[SQL_THROTTLE_UNDO] = "UPDATE throttle SET failures = failures - 1, locked_until ="
		" CASE WHEN locked_until = ?2 THEN ?3 ELSE locked_until END"
		" WHERE key = ?1 AND failures > 0",
	[SQL_SETTING_GET] = "SELECT value FROM setting WHERE key = ?1",
	[SQL_SETTING_PUT] = "INSERT INTO setting VALUES (?1, ?2) ON CONFLICT (key)"
		" DO UPDATE SET value = excluded.value",
	/* /readyz: one row, rewritten and committed by every probe. */
	[SQL_READINESS_WRITE] = "INSERT INTO readiness (id, written_at, filler) VALUES (1, ?1, ?2)"
		" ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at,"
		" filler = excluded.filler",
	[SQL_SUBJECT_CODE_PUT] = "INSERT INTO subject_code (code_hash, cf, created_by,"
		" created_at, expires_at, used_at) VALUES (?1, ?2, ?3, ?4, ?5, 0)",
	[SQL_SUBJECT_CODE_USE] = "UPDATE subject_code SET used_at = ?2 WHERE code_hash = ?1"
		" AND used_at = 0 AND expires_at > ?2 RETURNING cf",
	[SQL_CITIZEN_SESSION_PUT] = "INSERT INTO citizen_session (token_hash, cf, level,"
		" created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQL_CITIZEN_SESSION_GET] = "SELECT cf, level, expires_at FROM citizen_session"
		" WHERE token_hash = ?1 AND expires_at > ?2",
	[SQL_CITIZEN_SESSION_END] = "DELETE FROM citizen_session WHERE token_hash = ?1",
	[SQL_CITIZEN_SESSION_PURGE] = "DELETE FROM citizen_session WHERE id IN (SELECT id FROM"
		" citizen_session WHERE expires_at <= ?1 LIMIT " PURGE_ROWS ")",
	/* Citizens' e-mail notices (src/watch). */
	[SQL_CITIZEN_MAIL_GET] = "SELECT " CITIZEN_MAIL_COLS " FROM citizen_mail WHERE cf = ?1",
	[SQL_CITIZEN_MAIL_BY_ID] = "SELECT " CITIZEN_MAIL_COLS " FROM citizen_mail WHERE id = ?1",
	[SQL_CITIZEN_MAIL_ASK] = "INSERT INTO citizen_mail (cf, address, pending_address,"
		" confirm_hash, confirm_expires_at, unsub_nonce, last_access_id, last_held_id,"
		" last_checked_at, created_at) VALUES (?1, '', ?2, ?3, ?4, '', 0, 0, 0, ?5)"
		" ON CONFLICT (cf) DO UPDATE SET pending_address = excluded.pending_address,"
		" confirm_hash = excluded.confirm_hash,"
		" confirm_expires_at = excluded.confirm_expires_at",
	/* The pending address becomes the one notices go to; a first one
	 * starts after the last consultation recorded so far. */
	[SQL_CITIZEN_MAIL_CONFIRM] = "UPDATE citizen_mail SET address = pending_address,"
		" pending_address = '', confirm_hash = '', confirm_expires_at = 0,"
		" unsub_nonce = ?3,"
		" last_access_id = CASE WHEN address = '' THEN"
		" (SELECT COALESCE(MAX(id), 0) FROM access_log) ELSE last_access_id END,"
		" last_held_id = CASE WHEN address = '' THEN"
		" (SELECT COALESCE(MAX(id), 0) FROM access_log) ELSE last_held_id END"
		" WHERE confirm_hash = ?1 AND confirm_hash <> '' AND confirm_expires_at > ?2"
		" RETURNING cf",
	[SQL_CITIZEN_MAIL_DELETE] = "DELETE FROM citizen_mail WHERE cf = ?1",
	[SQL_CITIZEN_MAIL_FORGET] = "DELETE FROM citizen_mail WHERE address = ''"
		" AND confirm_expires_at <= ?1",
	[SQL_CITIZEN_MAIL_UNPEND] = "UPDATE citizen_mail SET pending_address = '',"
		" confirm_hash = '', confirm_expires_at = 0 WHERE pending_address <> ''"
		" AND confirm_expires_at <= ?1",
	[SQL_CITIZEN_MAIL_DUE] = "SELECT " CITIZEN_MAIL_COLS " FROM citizen_mail"
		" WHERE address <> '' AND last_checked_at <= ?1 ORDER BY id LIMIT ?2",
	[SQL_CITIZEN_MAIL_ADVANCE] = "UPDATE citizen_mail SET last_access_id = ?4,"
		" last_held_id = ?5, last_checked_at = ?6 WHERE id = ?1 AND last_access_id = ?2"
		" AND last_held_id = ?3 AND address <> ''",
	[SQL_CITIZEN_MAIL_DROP_PENDING] = "DELETE FROM mail WHERE recipient = ?1"
		" AND state = 'pending' AND kind IN ('citizen_confirm', 'citizen_notice')",
	[SQL_CHECKPOINT_INSERT] = "INSERT INTO audit_checkpoint (at, last_id, last_hash,"
		" signature) VALUES (?1, ?2, ?3, ?4)",
	[SQL_CHECKPOINT_EACH] = "SELECT id, at, last_id, last_hash, signature FROM"
		" audit_checkpoint ORDER BY id",
	/* The trail's Merkle tree: complete nodes (level, idx) and signed heads. */
	[SQL_TREE_PUT] = "INSERT INTO audit_tree (level, idx, hash) VALUES (?1, ?2, ?3)",
	[SQL_TREE_GET] = "SELECT hash FROM audit_tree WHERE level = ?1 AND idx = ?2",
	[SQL_HEAD_INSERT] = "INSERT INTO audit_head (size, at, root, note) VALUES (?1, ?2, ?3, ?4)",
	[SQL_HEAD_LAST] = "SELECT size, at, root, note FROM audit_head ORDER BY size DESC LIMIT 1",
	[SQL_HEAD_EACH] = "SELECT size, at, root, note FROM audit_head ORDER BY size",
	/* A head's note with witnesses' cosignature lines added: the same
	 * signed body (size and root), more signatures. */
	[SQL_HEAD_COSIGNED] = "UPDATE audit_head SET note = ?3 WHERE size = ?1 AND root = ?2",
	[SQL_ACCESS_SUBJECT_EACH] = "SELECT access_id, cf FROM access_subject ORDER BY access_id, cf",
	[SQL_EVENT_EACH] = "SELECT comune, type, date FROM event WHERE (?1 = '' OR comune = ?1)"
		" AND date >= ?2 AND date <= ?3",
	[SQL_EVENTS_AFTER] = "SELECT e.rowid, e.comune, e.local_id, e.type, e.date,"
		" e.person_local_id, e.place, e.other_cf, coalesce(p.cf, '')"
		" FROM event e LEFT JOIN person p ON p.comune = e.comune"
		" AND p.local_id = e.person_local_id WHERE e.rowid > ?1 ORDER BY e.rowid",
	[SQL_WEBHOOK_GET] = "SELECT cursor, attempts, next_attempt_at, last_error, delivered"
		" FROM webhook_state WHERE convenzione_id = ?1",
	[SQL_WEBHOOK_PUT] = "INSERT INTO webhook_state VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
		" ON CONFLICT (convenzione_id) DO UPDATE SET cursor = excluded.cursor,"
		" attempts = excluded.attempts, next_attempt_at = excluded.next_attempt_at,"
		" last_error = excluded.last_error, delivered = excluded.delivered",
	[SQL_REC_DELETE] = "DELETE FROM processing WHERE id = ?1",
	/* counts of whole tables' matches, where a list would be cut */
	[SQL_ALERTS_COUNT_ENTE] = "SELECT count(*) FROM alert WHERE ente_id = ?1",
	[SQL_ALERTS_BY_RULE] = "SELECT rule, count(*) FROM alert GROUP BY rule ORDER BY rule",
	/* a rule's alerts about one name since a time (alert_rule) */
	[SQL_ALERTS_SINCE] = "SELECT count(*) FROM alert WHERE rule = ?1 AND username = ?2"
		" AND at >= ?3",
	/* the outbox's due messages, the longest waiting first (mail_state) */
	[SQL_MAIL_DUE] = "SELECT " MAIL_COLS " FROM mail WHERE state = 'pending'"
		" AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2",
	/* the notices not yet ended nor withdrawn, the soonest to start first */
	[SQL_NOTICES_LIVE] = "SELECT " NOTICE_COLS " FROM notice WHERE ends_at > ?1"
		" AND withdrawn_at = 0 ORDER BY starts_at, id LIMIT ?2",
	/* a notice corrected (or withdrawn: withdrawn_at made now, its times
	 * kept) only while it holds what the change was made from, and has
	 * neither ended nor been withdrawn */
	[SQL_NOTICE_CORRECT] = "UPDATE notice SET title = ?2, body = ?3, starts_at = ?4,"
		" ends_at = ?5, withdrawn_at = ?11 WHERE id = ?1 AND title = ?6 AND body = ?7"
		" AND starts_at = ?8 AND ends_at = ?9 AND ends_at > ?10 AND withdrawn_at = 0",
	[SQL_EVENTS_COUNT_DETAIL] = "SELECT count(*) FROM security_event"
		" WHERE kind = ?1 AND substr(detail, 1, length(?2)) = ?2",
	[SQL_SESSIONS_REVOKE_ACCOUNT] = "UPDATE session SET revoked_at = ?2 WHERE account_id = ?1"
		" AND revoked_at = 0",
	[SQL_ACCOUNT_TOTP_ADVANCE] = "UPDATE account SET totp_last_step = ?2 WHERE id = ?1"
		" AND totp_last_step < ?2",
	[SQL_TOKENS_REVOKE_ACCOUNT] = "UPDATE api_token SET revoked_at = ?2 WHERE account_id = ?1"
		" AND revoked_at = 0",
	[SQL_ACCESS_PURGE_SUBJECTS] = "DELETE FROM access_subject WHERE access_id <= ?1",
	[SQL_ACCESS_PURGE] = "DELETE FROM access_log WHERE id <= ?1",
	/* The signed retention purges: records up to up_to removed at `at`. */
	[SQL_PURGE_INSERT] = "INSERT INTO audit_purge (up_to, at, last_hash, signature)"
		" VALUES (?1, ?2, ?3, ?4)",
	[SQL_PURGE_EACH] = "SELECT up_to, at, last_hash, signature FROM audit_purge ORDER BY up_to",
	[SQL_PURGE_LAST] = "SELECT up_to, last_hash FROM audit_purge ORDER BY up_to DESC LIMIT 1",
	/* Retention: at most PURGE_ROWS rows a statement (sql.h). */
	[SQL_PURGE_SECURITY_EVENTS] = "DELETE FROM security_event WHERE id IN (SELECT id FROM"
		" security_event WHERE at < ?1 LIMIT " PURGE_ROWS ")",
	/* Ended (idle, expired or revoked) before ?1.  Such a session began
	 * before ?1, so it ends (expires_at, its start + session_absolute_hours)
	 * before ?1 + CONFIG_SESSION_HOURS_MAX: the index on expires_at
	 * (migration 34) finds them without reading every session. */
	[SQL_PURGE_SESSIONS] = "DELETE FROM session WHERE id IN (SELECT id FROM session WHERE"
		" expires_at < ?1 + 3600 * " STR_OF_VALUE(CONFIG_SESSION_HOURS_MAX) " AND"
		" (last_seen_at < ?1 OR expires_at < ?1 OR (revoked_at > 0 AND revoked_at < ?1))"
		" LIMIT " PURGE_ROWS ")",
	[SQL_PURGE_THROTTLE] = "DELETE FROM throttle WHERE key IN (SELECT key FROM throttle WHERE"
		" last_failure_at < ?1 AND locked_until < ?2 LIMIT " PURGE_ROWS ")",
	/* Queued before ?1 (mail_keep_days), whatever became of it. */
	[SQL_PURGE_MAIL] = "DELETE FROM mail WHERE id IN (SELECT id FROM mail WHERE created_at < ?1"
		" LIMIT " PURGE_ROWS ")",
	/* Expired before ?1 (security_log_days after their end), used or not. */
	[SQL_PURGE_SUBJECT_CODES] = "DELETE FROM subject_code WHERE id IN (SELECT id FROM"
		" subject_code WHERE expires_at < ?1 LIMIT " PURGE_ROWS ")",
	/* The trail is read in pages of ?2 records. */
	[SQL_ACCESS_EACH] = "SELECT " ACCESS_COLS " FROM access_log WHERE id >= ?1 ORDER BY id LIMIT ?2",
	[SQL_ACCESS_GET] = "SELECT " ACCESS_COLS " FROM access_log WHERE id = ?1",
	[SQL_ACCESS_LAST] = "SELECT id, hash FROM access_log ORDER BY id DESC LIMIT 1",
	[SQL_ACCESS_INSERT] = "INSERT INTO access_log (" ACCESS_COLS ") VALUES (?1, ?2, ?3, ?4, ?5,"
		" ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
	[SQL_ACCESS_SUBJECT_INSERT] = "INSERT INTO access_subject (access_id, cf) VALUES (?1, ?2)",
	[SQL_PERSON_VERSIONS_AT] = "SELECT * FROM (" PERSON_AT("cf = ?3 AND (?1 = '' OR comune = ?1)") ") AS v"
				   " ORDER BY canc_reason <> 0, comune",
	/* The same, each version beside its household on ?2 (NULLs when it
	 * has none): a look-up's person and address in one statement.
	 * PostgreSQL only (store_person_versions_home_at): SQLite would read
	 * every household for it.  The pairs in one list keep PostgreSQL on
	 * family_local even without statistics (two lists, one per column,
	 * made it scan family right after an import: 196 ms). */
	[SQL_PERSON_VERSIONS_HOME_AT] = "SELECT v.*, f.* FROM ("
		PERSON_AT("cf = ?3 AND (?1 = '' OR comune = ?1)") ") AS v LEFT JOIN ("
		FAMILY_AT("(comune, local_id) IN (SELECT comune, family_id FROM person WHERE cf = ?3"
			  " UNION ALL SELECT comune, family_id FROM person_history WHERE cf = ?3)")
		") AS f ON f.comune = v.comune AND f.local_id = v.family_id"
		" ORDER BY v.canc_reason <> 0, v.comune",
	/* The birth date as one range ?3..?4 (store_person_search: none, a
	 * year, a day), so that the indexes (surname_key, name_key,
	 * birth_date) and (name_key, birth_date) are searched with it in
	 * every plan: PostgreSQL's generic plan of a prepared statement (its
	 * plan after five runs) could only filter "(?3 = 0 OR birth_date =
	 * ?3)" row by row, reading every person of the surname and name (77
	 * on average at 10,000,000 persons; docs/performance.md). */
	[SQL_SEARCH_EXACT] = "SELECT " P_COLS ", 0 FROM person WHERE surname_key = ?1 AND name_key = ?2"
		" AND birth_date BETWEEN ?3 AND ?4 AND (?5 = '' OR comune = ?5) AND dropped = 0"
		" LIMIT ?6",
	[SQL_SEARCH_SURNAME] = "SELECT " P_COLS ", 0 FROM person WHERE surname_key = ?1 AND ?2 = ?2"
		" AND birth_date BETWEEN ?3 AND ?4 AND (?5 = '' OR comune = ?5) AND dropped = 0"
		" LIMIT ?6",
	[SQL_SEARCH_NAME] = "SELECT " P_COLS ", 0 FROM person WHERE name_key = ?2 AND ?1 = ?1"
		" AND birth_date BETWEEN ?3 AND ?4 AND (?5 = '' OR comune = ?5) AND dropped = 0"
		" LIMIT ?6",
	/* The search of the trail (store_access_search), one statement per
	 * filter that leads it (ACCESS_SEARCH): the walk by id when none
	 * does. */
	[SQL_ACCESS_SEARCH] = ACCESS_SEARCH(ACCESS_BY_CF, ACCESS_BY_ACCOUNT " AND " ACCESS_BY_ENTE
		" AND " ACCESS_BY_TIME),
	/* The person's records: their entries of access_subject_cf. */
	[SQL_ACCESS_SEARCH_CF] = ACCESS_SEARCH("id IN (SELECT access_id FROM access_subject"
		" WHERE cf = ?1 AND access_id > ?8)", ACCESS_BY_ACCOUNT " AND " ACCESS_BY_ENTE
		" AND " ACCESS_BY_TIME),
	/* The account's: access_log_account in id order from the cursor. */
	[SQL_ACCESS_SEARCH_ACCOUNT] = ACCESS_SEARCH("account_id = ?2", ACCESS_BY_CF " AND "
		ACCESS_BY_ENTE " AND " ACCESS_BY_TIME),
	/* The body's: access_log_ente in id order from the cursor. */
	[SQL_ACCESS_SEARCH_ENTE] = ACCESS_SEARCH("ente_id = ?3", ACCESS_BY_CF " AND "
		ACCESS_BY_ACCOUNT " AND " ACCESS_BY_TIME),
	/* The time range's: access_log_at from ?5 to ?6 (?6 the largest when
	 * the range has no end), its records sorted by id ("id + 0": no plan
	 * may walk the primary key instead, which PostgreSQL prefers under a
	 * LIMIT, taking the range's records to be spread over the trail when
	 * they are together at its end: the whole trail walked for the last
	 * month).  Not a range of ids found by the time: `at` is not in id
	 * order (access.c stamps the request's second and the milliseconds of
	 * its record; other instances, the command line, a clock set back),
	 * so a binary search could miss records. */
	[SQL_ACCESS_SEARCH_TIME] = ACCESS_SEARCH_BY("at >= ?5 AND at < ?6", ACCESS_BY_CF " AND "
		ACCESS_BY_ACCOUNT " AND " ACCESS_BY_ENTE, "id + 0"),
	/* The time of the record after the cursor ?1 and of the last one
	 * (NULL: none): whether a time range's search walks from the cursor
	 * (store_access_search_sql). */
	[SQL_ACCESS_SEARCH_SPAN] = "SELECT (SELECT at FROM access_log WHERE id > ?1 ORDER BY id LIMIT 1),"
		" (SELECT at FROM access_log ORDER BY id DESC LIMIT 1)",
	[SQL_PERSON_EACH_AT] = PERSON_AT("(?1 = '' OR comune = ?1)"),
	[SQL_FAMILY_EACH_AT] = FAMILY_AT("(?1 = '' OR comune = ?1)"),
	/* One municipality: "comune = ?1" alone lets the planner use the
	 * (comune, family_id) indexes, where the OR above reads every row. */
	[SQL_PERSON_EACH_AT_COMUNE] = PERSON_AT("comune = ?1"),
	[SQL_FAMILY_EACH_AT_COMUNE] = FAMILY_AT("comune = ?1"),
	/* The bulk load of a first snapshot: one parameter per column, in
	 * order (PostgreSQL sends the rows by COPY). */
	[SQL_FAMILY_LOAD] = "INSERT INTO family (" F_COLS ", import_id, seen_import) VALUES ("
			   F_PARAMS ", ?14, ?15)",
	[SQL_PDND_JTI_TAKE] = "INSERT INTO pdnd_jti (jti, expires_at) VALUES (?1, ?2)"
			     " ON CONFLICT (jti) DO NOTHING",
	/* Two ids in one statement (one commit): the rows of those not seen
	 * before come back. */
	[SQL_PDND_JTI_TAKE_PAIR] = "INSERT INTO pdnd_jti (jti, expires_at) VALUES (?1, ?2), (?3, ?4)"
				  " ON CONFLICT (jti) DO NOTHING RETURNING jti",
	[SQL_PDND_JTI_GIVE_BACK] = "DELETE FROM pdnd_jti WHERE jti = ?1",
	[SQL_PDND_JTI_PURGE] = "DELETE FROM pdnd_jti WHERE jti IN (SELECT jti FROM pdnd_jti WHERE"
		" expires_at < ?1 LIMIT " PURGE_ROWS ")",
	[SQL_PERSON_LOAD] = "INSERT INTO person (" P_COLS ", surname_key, name_key, import_id, seen_import)"
			   " VALUES (" P_PARAMS ", ?22, ?23, ?24, ?25)",
	/* The generation of the control records (store_cache_*): 0 before
	 * the first change; moved in the transaction of every change. */
	[SQL_CONTROL_GEN_GET] = SQL_CONTROL_GEN,
	[SQL_CONTROL_GEN_BUMP] = "INSERT INTO control_gen (id, gen) VALUES (1, 1)"
		" ON CONFLICT (id) DO UPDATE SET gen = control_gen.gen + 1",
	/* The monthly bulletin (src/bollettino): the municipalities that get
	 * one, and the archive, one row per municipality and month, written
	 * once whoever gets there first (scheduler, command line, instances). */
	[SQL_BOLLETTINO_COMUNE_ADD] = "INSERT INTO bollettino_comune (comune, since) VALUES (?1, ?2)"
		" ON CONFLICT (comune) DO NOTHING",
	[SQL_BOLLETTINO_COMUNE_DEL] = "DELETE FROM bollettino_comune WHERE comune = ?1",
	[SQL_BOLLETTINO_COMUNE_EACH] = "SELECT comune, since FROM bollettino_comune ORDER BY comune",
	[SQL_BOLLETTINO_PUT] = "INSERT INTO bollettino (comune, mese, generated_at, sha256, html, pdf,"
		" regola, soglia) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
		" ON CONFLICT (comune, mese) DO NOTHING",
	[SQL_BOLLETTINO_HAS] = "SELECT 1 FROM bollettino WHERE comune = ?1 AND mese = ?2",
	[SQL_BOLLETTINO_EACH] = "SELECT comune, mese, generated_at, sha256, length(html), length(pdf),"
		" regola, soglia FROM bollettino WHERE (comune = ?1 OR ?1 = '')"
		" ORDER BY mese DESC, comune",
	[SQL_BOLLETTINO_GET] = "SELECT comune, mese, generated_at, sha256, length(html), length(pdf),"
		" regola, soglia, html, pdf FROM bollettino WHERE comune = ?1 AND mese = ?2",
	/* A bulletin of another protection rule or threshold, regenerated:
	 * first kept aside as it was (once per rule and threshold: a second
	 * instance's copy is a no-op), then its row rewritten only if still of
	 * another rule or threshold (the row's lock: of two instances, one
	 * rewrites it). */
	[SQL_BOLLETTINO_SUPERSEDE] = "INSERT INTO bollettino_superato (comune, mese, regola, soglia,"
		" generated_at, sha256, html, pdf, superseded_at) SELECT comune, mese, regola, soglia,"
		" generated_at, sha256, html, pdf, CAST(?4 AS BIGINT) FROM bollettino WHERE comune = ?1"
		" AND mese = ?2 AND (regola <> ?3 OR soglia <> ?5)"
		" ON CONFLICT (comune, mese, regola, soglia) DO NOTHING",
	[SQL_BOLLETTINO_REPLACE] = "UPDATE bollettino SET generated_at = ?3, sha256 = ?4, html = ?5,"
		" pdf = ?6, regola = ?7, soglia = ?8 WHERE comune = ?1 AND mese = ?2"
		" AND (regola <> ?7 OR soglia <> ?8)",
	/* The statistics' protections kept (src/stats/cache.h): one row per
	 * key, written again whole by whoever computed it last (two
	 * instances computing one key write the same bits); then only the
	 * ?1 most recently used rows stay, in the insert's transaction. */
	[SQL_PROTECTION_GET] = "SELECT cells, sha256, data FROM stats_protection WHERE key = ?1",
	[SQL_PROTECTION_PUT] = "INSERT INTO stats_protection (key, cells, sha256, data, made_at,"
		" used_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (key) DO UPDATE SET"
		" cells = excluded.cells, sha256 = excluded.sha256, data = excluded.data,"
		" made_at = excluded.made_at, used_at = excluded.used_at",
	[SQL_PROTECTION_TRIM] = "DELETE FROM stats_protection WHERE key NOT IN (SELECT key FROM"
		" stats_protection ORDER BY used_at DESC, key LIMIT ?1)",
	[SQL_PROTECTION_TOUCH] = "UPDATE stats_protection SET used_at = ?2 WHERE key = ?1"
		" AND used_at < ?2",
};

int sql_to_pg(const char *sql, char *out, size_t cap)
{
	size_t o = 0;
	int max = 0;
	bool quoted = false;
	for (const char *p = sql; *p; p++) {
		if (o + 2 >= cap)
			return -1;
		if (*p == '\'')
			quoted = !quoted;
		if (*p == '?' && !quoted && isdigit((unsigned char)p[1])) {
			int n = (int)strtol(p + 1, NULL, 10);
			if (n > max)
				max = n;
			out[o++] = '$';
			continue;
		}
		out[o++] = *p;
	}
	out[o] = '\0';
	return max;
}
