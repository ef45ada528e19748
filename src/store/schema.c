#include "store/schema.h"

/* Person columns shared by the current table and its history, in the order
 * the store binds and reads them. */
#define PERSON_COLUMNS                                                     \
	"comune TEXT NOT NULL, local_id TEXT NOT NULL, valid_from INTEGER NOT NULL, " \
	"cf TEXT NOT NULL, surname TEXT NOT NULL, name TEXT NOT NULL, "        \
	"sex TEXT NOT NULL CHECK (sex IN ('M','F')), birth_date INTEGER NOT NULL, " \
	"birth_place TEXT NOT NULL, citizenships TEXT NOT NULL, "              \
	"civil_status INTEGER NOT NULL, civil_status_date INTEGER NOT NULL, "  \
	"father_cf TEXT NOT NULL, mother_cf TEXT NOT NULL, "                   \
	"reg_reason INTEGER NOT NULL, reg_date INTEGER NOT NULL, "             \
	"canc_reason INTEGER NOT NULL, canc_date INTEGER NOT NULL, "           \
	"destination TEXT NOT NULL, family_id TEXT, relationship INTEGER NOT NULL, " \
	"surname_key TEXT NOT NULL, name_key TEXT NOT NULL, import_id INTEGER NOT NULL"

#define FAMILY_COLUMNS                                                     \
	"comune TEXT NOT NULL, local_id TEXT NOT NULL, kind INTEGER NOT NULL " \
	"CHECK (kind IN (1,2)), valid_from INTEGER NOT NULL, dug TEXT NOT NULL, " \
	"street TEXT NOT NULL, civic INTEGER NOT NULL, civic_ext TEXT NOT NULL, " \
	"scala TEXT NOT NULL, interno TEXT NOT NULL, cap TEXT NOT NULL, "      \
	"locality TEXT NOT NULL, convivenza TEXT NOT NULL, import_id INTEGER NOT NULL"

/* The indexes of the current-state tables.  Kept apart because a first
 * snapshot loads faster by building them after the rows (sorted) than by
 * updating them row by row: see store_import_start(). */
#define FAMILY_INDEXES                                                     \
	"CREATE UNIQUE INDEX family_local ON family (comune, local_id);"

#define PERSON_INDEXES                                                     \
	"CREATE UNIQUE INDEX person_local ON person (comune, local_id);"       \
	"CREATE UNIQUE INDEX person_cf ON person (cf, comune);"                \
	"CREATE INDEX person_name ON person (surname_key, name_key, birth_date);" \
	"CREATE INDEX person_family ON person (comune, family_id);"

/* Indexes added by later migrations, rebuilt with the others. */
#define PERSON_INDEXES_LATER                                               \
	"CREATE INDEX person_name_first ON person (name_key, birth_date);"

const char schema_register_indexes[] = FAMILY_INDEXES PERSON_INDEXES PERSON_INDEXES_LATER;
const char schema_register_indexes_drop[] =
	"DROP INDEX person_family; DROP INDEX person_name; DROP INDEX person_cf;"
	" DROP INDEX person_local; DROP INDEX family_local; DROP INDEX person_name_first;";

static const char migration_1[] =
	"CREATE TABLE comune ("
	" istat TEXT NOT NULL, valid_from INTEGER NOT NULL, valid_to INTEGER NOT NULL,"
	" name TEXT NOT NULL, belfiore TEXT NOT NULL, province TEXT NOT NULL,"
	" region TEXT NOT NULL, active INTEGER NOT NULL,"
	" PRIMARY KEY (istat, valid_from));"
	"CREATE TABLE stato ("
	" id INTEGER PRIMARY KEY, istat TEXT NOT NULL, belfiore TEXT NOT NULL,"
	" iso3 TEXT NOT NULL, name TEXT NOT NULL, valid_from INTEGER NOT NULL,"
	" valid_to INTEGER NOT NULL, eu INTEGER NOT NULL);"
	"CREATE INDEX stato_istat ON stato (istat);"
	"CREATE TABLE import ("
	" id INTEGER PRIMARY KEY, comune TEXT NOT NULL, seq INTEGER NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('FULL','DELTA')),"
	" extract_at INTEGER NOT NULL, sha256 TEXT NOT NULL, source TEXT NOT NULL,"
	" started_at INTEGER NOT NULL, finished_at INTEGER,"
	" inserted INTEGER, updated INTEGER, unchanged INTEGER, closed INTEGER,"
	" families INTEGER, persons INTEGER, events INTEGER,"
	" UNIQUE (comune, seq));"
	"CREATE TABLE feed ("
	" comune TEXT PRIMARY KEY, last_seq INTEGER NOT NULL,"
	" last_extract INTEGER NOT NULL,"
	" last_import_id INTEGER NOT NULL REFERENCES import (id));"
	"CREATE TABLE family (id INTEGER PRIMARY KEY, " FAMILY_COLUMNS ","
	" seen_import INTEGER NOT NULL, dropped INTEGER NOT NULL DEFAULT 0);"
	FAMILY_INDEXES
	"CREATE TABLE family_history (family INTEGER NOT NULL REFERENCES family (id), "
	FAMILY_COLUMNS ", valid_to INTEGER NOT NULL);"
	"CREATE INDEX family_history_family ON family_history (family, valid_from);"
	"CREATE TABLE person (id INTEGER PRIMARY KEY, " PERSON_COLUMNS ","
	" seen_import INTEGER NOT NULL, dropped INTEGER NOT NULL DEFAULT 0,"
	" FOREIGN KEY (comune, family_id) REFERENCES family (comune, local_id));"
	PERSON_INDEXES
	"CREATE TABLE person_history (person INTEGER NOT NULL REFERENCES person (id), "
	PERSON_COLUMNS ", valid_to INTEGER NOT NULL);"
	"CREATE INDEX person_history_person ON person_history (person, valid_from);"
	"CREATE INDEX person_history_cf ON person_history (cf);"
	"CREATE INDEX person_history_family ON person_history (comune, family_id);"
	"CREATE TABLE event ("
	" comune TEXT NOT NULL, local_id TEXT NOT NULL, type TEXT NOT NULL,"
	" date INTEGER NOT NULL, person_local_id TEXT NOT NULL, place TEXT NOT NULL,"
	" other_cf TEXT NOT NULL, import_id INTEGER NOT NULL REFERENCES import (id),"
	" PRIMARY KEY (comune, local_id),"
	" FOREIGN KEY (comune, person_local_id) REFERENCES person (comune, local_id));"
	"CREATE INDEX event_date ON event (comune, date);";

/* Control data: bodies, accounts and their credentials, sessions, tokens,
 * operator requests, the mail outbox and security events.  Ids that may be
 * absent are 0, not NULL, to keep one representation in every back end. */
static const char migration_2[] =
	"CREATE TABLE ente ("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,"
	" tax_code TEXT NOT NULL, pec TEXT NOT NULL, hours TEXT NOT NULL,"
	" networks TEXT NOT NULL, comune TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('active','suspended','ended')),"
	" created_at INTEGER NOT NULL);"
	"CREATE TABLE account ("
	" id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE,"
	" role TEXT NOT NULL CHECK (role IN ('admin','lead','operator','auditor','api')),"
	" ente_id INTEGER NOT NULL, full_name TEXT NOT NULL, cf TEXT NOT NULL,"
	" email TEXT NOT NULL, appointment_ref TEXT NOT NULL, password_hash TEXT NOT NULL,"
	" password_set_at INTEGER NOT NULL, password_temporary INTEGER NOT NULL,"
	" temp_expires_at INTEGER NOT NULL, issued_at INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('active','disabled')),"
	" disabled_reason TEXT NOT NULL, disabled_at INTEGER NOT NULL,"
	" totp_secret TEXT NOT NULL, totp_enabled INTEGER NOT NULL,"
	" totp_last_step INTEGER NOT NULL, last_login_at INTEGER NOT NULL,"
	" prev_login_at INTEGER NOT NULL, reminded_at INTEGER NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" CHECK ((role IN ('admin','auditor')) = (ente_id = 0)));"
	"CREATE INDEX account_ente ON account (ente_id);"
	"CREATE TABLE password_history ("
	" account_id INTEGER NOT NULL REFERENCES account (id), hash TEXT NOT NULL,"
	" set_at INTEGER NOT NULL);"
	"CREATE INDEX password_history_account ON password_history (account_id, set_at);"
	"CREATE TABLE session ("
	" id INTEGER PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE,"
	" account_id INTEGER NOT NULL REFERENCES account (id), csrf TEXT NOT NULL,"
	" created_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL, ip TEXT NOT NULL, revoked_at INTEGER NOT NULL);"
	"CREATE INDEX session_account ON session (account_id);"
	"CREATE TABLE api_token ("
	" id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES account (id),"
	" token_hash TEXT NOT NULL UNIQUE, name TEXT NOT NULL, created_at INTEGER NOT NULL,"
	" last_used_at INTEGER NOT NULL, revoked_at INTEGER NOT NULL);"
	"CREATE TABLE operator_request ("
	" id INTEGER PRIMARY KEY, ente_id INTEGER NOT NULL REFERENCES ente (id),"
	" requested_by INTEGER NOT NULL REFERENCES account (id), full_name TEXT NOT NULL,"
	" cf TEXT NOT NULL, email TEXT NOT NULL, appointment_ref TEXT NOT NULL,"
	" username TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('pending','approved','rejected')),"
	" decided_by INTEGER NOT NULL, decided_at INTEGER NOT NULL, note TEXT NOT NULL,"
	" account_id INTEGER NOT NULL, created_at INTEGER NOT NULL);"
	"CREATE TABLE mail ("
	" id INTEGER PRIMARY KEY, recipient TEXT NOT NULL, subject TEXT NOT NULL,"
	" body TEXT NOT NULL, kind TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('pending','sent','failed','stored')),"
	" attempts INTEGER NOT NULL, last_error TEXT NOT NULL, created_at INTEGER NOT NULL,"
	" next_attempt_at INTEGER NOT NULL, sent_at INTEGER NOT NULL);"
	"CREATE INDEX mail_state ON mail (state, next_attempt_at);"
	"CREATE TABLE security_event ("
	" id INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL,"
	" account_id INTEGER NOT NULL, username TEXT NOT NULL, ente_id INTEGER NOT NULL,"
	" ip TEXT NOT NULL, detail TEXT NOT NULL);"
	"CREATE INDEX security_event_at ON security_event (at);"
	"CREATE TABLE throttle ("
	" key TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_failure_at INTEGER NOT NULL,"
	" locked_until INTEGER NOT NULL);"
	"CREATE TABLE setting (key TEXT PRIMARY KEY, value TEXT NOT NULL);";

/* Agreements (convenzioni) and their purposes, the access trail, and the
 * second search index (name first) for one-typo searches. */
static const char migration_3[] =
	"CREATE TABLE convenzione ("
	" id INTEGER PRIMARY KEY, ente_id INTEGER NOT NULL REFERENCES ente (id),"
	" reference TEXT NOT NULL, comuni TEXT NOT NULL, valid_from INTEGER NOT NULL,"
	" valid_to INTEGER NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('active','suspended','ended')),"
	" mode TEXT NOT NULL CHECK (mode IN ('consult','verify_only')),"
	" profile TEXT NOT NULL, max_results INTEGER NOT NULL, per_minute INTEGER NOT NULL,"
	" per_day INTEGER NOT NULL, body_per_minute INTEGER NOT NULL, body_per_day INTEGER NOT NULL,"
	" purpose_per_minute INTEGER NOT NULL, purpose_per_day INTEGER NOT NULL,"
	" break_glass INTEGER NOT NULL, workstation_cert INTEGER NOT NULL,"
	" created_at INTEGER NOT NULL);"
	"CREATE INDEX convenzione_ente ON convenzione (ente_id);"
	"CREATE TABLE purpose ("
	" id INTEGER PRIMARY KEY, convenzione_id INTEGER NOT NULL REFERENCES convenzione (id),"
	" code TEXT NOT NULL, description TEXT NOT NULL, legal_basis TEXT NOT NULL,"
	" processing_ref TEXT NOT NULL, created_at INTEGER NOT NULL,"
	" UNIQUE (convenzione_id, code));"
	"CREATE TABLE access_log ("
	" id INTEGER PRIMARY KEY, at INTEGER NOT NULL, account_id INTEGER NOT NULL,"
	" username TEXT NOT NULL, ente_id INTEGER NOT NULL, convenzione_id INTEGER NOT NULL,"
	" purpose_id INTEGER NOT NULL, case_ref TEXT NOT NULL, on_behalf_of TEXT NOT NULL,"
	" ip TEXT NOT NULL, operation TEXT NOT NULL, query TEXT NOT NULL,"
	" subjects TEXT NOT NULL, categories TEXT NOT NULL, outcome TEXT NOT NULL,"
	" status INTEGER NOT NULL, flags TEXT NOT NULL, workstation TEXT NOT NULL,"
	" prev_hash TEXT NOT NULL,"
	" hash TEXT NOT NULL);"
	"CREATE INDEX access_log_at ON access_log (at);"
	"CREATE INDEX access_log_account ON access_log (account_id, at);"
	"CREATE TABLE access_subject ("
	" access_id INTEGER NOT NULL REFERENCES access_log (id), cf TEXT NOT NULL);"
	"CREATE INDEX access_subject_cf ON access_subject (cf);"
	"CREATE TABLE audit_checkpoint ("
	" id INTEGER PRIMARY KEY, at INTEGER NOT NULL, last_id INTEGER NOT NULL,"
	" last_hash TEXT NOT NULL, signature TEXT NOT NULL);"
	"CREATE TABLE alert ("
	" id INTEGER PRIMARY KEY, at INTEGER NOT NULL, rule TEXT NOT NULL,"
	" account_id INTEGER NOT NULL, username TEXT NOT NULL, ente_id INTEGER NOT NULL,"
	" severity TEXT NOT NULL, detail TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('open','reviewed')),"
	" reviewed_by INTEGER NOT NULL, reviewed_at INTEGER NOT NULL, note TEXT NOT NULL);"
	"CREATE INDEX alert_state ON alert (state, at);"
	"CREATE TABLE subject_code ("
	" id INTEGER PRIMARY KEY, code_hash TEXT NOT NULL UNIQUE, cf TEXT NOT NULL,"
	" created_by INTEGER NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
	" used_at INTEGER NOT NULL);"
	"CREATE INDEX person_name_first ON person (name_key, birth_date);"
	"CREATE TABLE incident ("
	" id INTEGER PRIMARY KEY, ente_id INTEGER NOT NULL REFERENCES ente (id),"
	" reported_by INTEGER NOT NULL, what TEXT NOT NULL, occurred_at TEXT NOT NULL,"
	" accounts TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('open','handled','closed')),"
	" created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
	"CREATE TABLE incident_history ("
	" id INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL REFERENCES incident (id),"
	" at INTEGER NOT NULL, by_account INTEGER NOT NULL, state TEXT NOT NULL,"
	" note TEXT NOT NULL);"
	"CREATE INDEX incident_history_incident ON incident_history (incident_id, at);"
	"CREATE TABLE workstation ("
	" id INTEGER PRIMARY KEY, serial TEXT NOT NULL UNIQUE, ente_id INTEGER NOT NULL,"
	" name TEXT NOT NULL, issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
	" revoked_at INTEGER NOT NULL);";

/* The record of processing activities (GDPR art. 30), with the columns the
 * municipalities use, pre-filled with the processing visura itself does. */
static const char migration_4[] =
	"CREATE TABLE processing ("
	" id INTEGER PRIMARY KEY, number TEXT NOT NULL UNIQUE, process TEXT NOT NULL,"
	" description TEXT NOT NULL, purpose TEXT NOT NULL, legal_basis TEXT NOT NULL,"
	" operations TEXT NOT NULL, internal_owner TEXT NOT NULL,"
	" external_processor TEXT NOT NULL, data_categories TEXT NOT NULL,"
	" special_categories INTEGER NOT NULL, retention TEXT NOT NULL,"
	" data_subjects TEXT NOT NULL, recipients TEXT NOT NULL,"
	" third_countries TEXT NOT NULL, measures TEXT NOT NULL, mode TEXT NOT NULL,"
	" updated_at INTEGER NOT NULL);"
	"INSERT INTO processing (number, process, description, purpose, legal_basis, operations,"
	" internal_owner, external_processor, data_categories, special_categories, retention,"
	" data_subjects, recipients, third_countries, measures, mode, updated_at) VALUES"
	" ('1', 'Consultazione dell''anagrafe da parte di enti fruitori',"
	"  'Ricerca e consultazione di dati anagrafici individuali e di famiglia, correnti e storici,"
	" da parte di operatori di enti convenzionati', 'Finalità istituzionali degli enti fruitori"
	" indicate in convenzione', 'Art. 6 par. 1 lett. e) GDPR; art. 37 DPR 223/1989; art. 50 CAD',"
	"  'consultazione, estrazione puntuale, registrazione degli accessi', 'Ufficio anagrafe',"
	"  'Fornitore del servizio visura', 'dati anagrafici, residenza, famiglia, cittadinanza,"
	" stato civile', 0, 'dati: replica aggiornata quotidianamente; accessi: 24 mesi',"
	"  'residenti e cancellati del comune', 'enti fruitori convenzionati', 'nessuno',"
	"  'HTTPS, credenziali individuali, profili per finalità, registrazione degli accessi"
	" con catena di hash firmata, limiti anti-estrazione', 'elettronica', 0),"
	" ('2', 'Verifica delle dichiarazioni sostitutive', 'Risposta corrisponde / non corrisponde"
	" ai dati dichiarati, senza comunicare i dati', 'Controlli sulle autocertificazioni',"
	"  'Artt. 43 e 71 DPR 445/2000', 'consultazione, confronto',"
	"  'Ufficio anagrafe', 'Fornitore del servizio visura', 'dati anagrafici dichiarati', 0,"
	"  'accessi: 24 mesi', 'dichiaranti', 'enti fruitori convenzionati', 'nessuno',"
	"  'come voce 1', 'elettronica', 0),"
	" ('3', 'Registrazione degli accessi', 'Traccia di chi ha consultato quali posizioni, quando"
	" e perché', 'Controllo degli accessi, diritto di accesso dell''interessato, autorità giudiziaria',"
	"  'Art. 32 GDPR; convenzioni', 'registrazione, conservazione, estrazione su richiesta',"
	"  'Ufficio anagrafe e responsabile della protezione dei dati', 'Fornitore del servizio visura',"
	"  'dati di accesso degli operatori, codici fiscali consultati', 0, '24 mesi',"
	"  'operatori degli enti, persone consultate', 'DPO, autorità giudiziaria su richiesta',"
	"  'nessuno', 'catena di hash, checkpoint firmati Ed25519, ricevute firmate', 'elettronica', 0),"
	" ('4', 'Statistiche demografiche', 'Aggregati per età, sesso, cittadinanza, stato civile,"
	" famiglie ed eventi', 'Statistica e programmazione', 'Art. 6 par. 1 lett. e) GDPR; d.lgs. 322/1989',"
	"  'elaborazione aggregata', 'Ufficio anagrafe', 'Fornitore del servizio visura',"
	"  'dati anagrafici aggregati', 0, 'non conservati: calcolati su richiesta', 'residenti',"
	"  'uffici comunali, enti', 'nessuno', 'soppressione delle celle sotto soglia', 'elettronica', 0),"
	" ('5', 'Comunicazioni a istituzioni', 'Messa a disposizione degli eventi demografici agli enti"
	" abbonati', 'Adempimenti di legge degli enti (AUSL, INPS, giustizia)', 'Art. 6 par. 1 lett. c)"
	" ed e) GDPR; normativa di settore', 'comunicazione', 'Ufficio anagrafe',"
	"  'Fornitore del servizio visura', 'eventi demografici', 0, 'secondo la convenzione',"
	"  'residenti interessati dagli eventi', 'enti abbonati', 'nessuno', 'come voce 1',"
	"  'elettronica', 0);";

/* Notices, event subscriptions and the yearly review. */
static const char migration_5[] =
	"CREATE TABLE notice ("
	" id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL,"
	" starts_at INTEGER NOT NULL, ends_at INTEGER NOT NULL, created_at INTEGER NOT NULL);"
	"ALTER TABLE convenzione ADD COLUMN event_types TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE review_decision ("
	" id INTEGER PRIMARY KEY, convenzione_id INTEGER NOT NULL REFERENCES convenzione (id),"
	" decision TEXT NOT NULL CHECK (decision IN ('confirm','restrict','revoke')),"
	" note TEXT NOT NULL, decided_by INTEGER NOT NULL, decided_at INTEGER NOT NULL);";

/* Formal requests for lists of people (not an online service). */
static const char migration_6[] =
	"CREATE TABLE list_request ("
	" id INTEGER PRIMARY KEY, ente_id INTEGER NOT NULL REFERENCES ente (id),"
	" requested_by INTEGER NOT NULL, purpose_id INTEGER NOT NULL, criteria TEXT NOT NULL,"
	" justification TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('pending','approved','rejected','extracted')),"
	" decided_by INTEGER NOT NULL, decided_at INTEGER NOT NULL, note TEXT NOT NULL,"
	" extracted_at INTEGER NOT NULL, persons INTEGER NOT NULL, created_at INTEGER NOT NULL);";

/* Webhook push of event notifications. */
static const char migration_7[] =
	"ALTER TABLE convenzione ADD COLUMN webhook_url TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE webhook_state ("
	" convenzione_id INTEGER PRIMARY KEY REFERENCES convenzione (id),"
	" cursor INTEGER NOT NULL, attempts INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL,"
	" last_error TEXT NOT NULL, delivered INTEGER NOT NULL);";

const struct schema_migration schema_migrations[] = {
	{1, "register data model and daily feed", migration_1},
	{2, "bodies, accounts, sessions, tokens, outbox, security events", migration_2},
	{3, "agreements, purposes, access trail", migration_3},
	{4, "record of processing activities", migration_4},
	{5, "notices, event subscriptions, yearly review", migration_5},
	{6, "formal list requests", migration_6},
	{7, "webhook push of event notifications", migration_7},
};

const int schema_migration_count = sizeof schema_migrations / sizeof schema_migrations[0];
