/* access — the corridor every read of personal data walks, without HTTP.
 *
 * Owns: the order of the corridor and its refusals.  Who is asking (an
 * account, how it signed in, its address, its workstation certificate,
 * the declared purpose, case reference, justification and end user) and
 * what (a search, a person, a household, a history, a printable page, a
 * verification, the events feed) go through:
 *
 *   the trail's heads published (witness/publish.h: else 503, whoever asks)
 *   → grant (the purpose → an agreement in force of the caller's body)
 *   → workstation certificate (when the agreement requires one)
 *   → verify-only mode → break-glass → limits (operator, body, purpose)
 *   → the query, within the profile → the anti-extraction rules
 *   → the access record, durable (the audit writer's group commit)
 *   → the receipt over the exact bytes → the answer.
 *
 * Every refusal after the caller is known is recorded too.  Nothing leaves
 * before its record is durable: the answer's bytes are built in the audit
 * writer's first callback, and only when the record made it; the answer
 * leaves in its second, with its receipt (one signature for the receipts
 * of the whole group commit, audit.h), or not at all.  A failure of ours
 * before the record (the store, the shared counters) answers 500 with no
 * record and no data.  The HTTP layer fills the plain structs below,
 * calls access_prepare() in its handler and access_finish() once it has
 * parked the connection, and turns the answer into a response. */
#ifndef VISURA_ACCESS_ACCESS_H
#define VISURA_ACCESS_ACCESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "store/store.h"

struct audit_key;
struct audit_writer;
struct ratelimit;
struct alert_tracker;
struct refdata;
struct metrics;
struct publisher;

/* The service's parts the corridor uses, borrowed for the call. */
struct access_env {
	struct store *s;               /* the calling thread's store */
	struct audit_writer *audit;    /* the group-commit writer of the trail */
	struct ratelimit *rl;
	struct alert_tracker *alerts;
	const struct refdata *rd;
	struct metrics *metrics;       /* counts refusals by limit; may be NULL */
	struct publisher *publisher;   /* heads published in time? NULL: nothing asked */
	int64_t now;                   /* seconds, the service's clock */
	int today;                     /* YYYYMMDD on that clock */
	const char *print_heading;     /* the printed visura's heading (print_heading) */
	const char *verify_url;        /* public_url + "/verifica", or "" */
};

/* Who is asking and why.  Strings are borrowed for access_prepare() only;
 * NULL means "not given". */
struct access_who {
	const struct store_account *account;
	bool via_token;                /* an API client: must name its end user */
	const char *ip;                /* at most 63 bytes */
	const char *workstation;       /* serial of a verified client certificate
					  (at most 40 hex digits), "" or NULL */
	int64_t purpose_id;            /* 0: none given, -1: not a number */
	const char *case_ref;
	const char *on_behalf_of;      /* the end user of an API client */
	bool break_glass;              /* urgent access beyond the limits asked */
	const char *justification;     /* its written reason */
};

enum access_op {
	ACCESS_SEARCH,     /* "search": by cf, or by surname and name and more */
	ACCESS_PERSON,     /* "consult" */
	ACCESS_HOUSEHOLD,  /* "household" */
	ACCESS_HISTORY,    /* "history" */
	ACCESS_PRINT,      /* "print": the person as a printable HTML page */
	ACCESS_VERIFY,     /* "verify": declared facts against the register */
	ACCESS_EVENTS,     /* "events": the pull feed of event notifications */
};

/* What is asked.  Strings are borrowed for access_prepare() only. */
struct access_what {
	enum access_op op;
	/* The request is malformed before the corridor could read it (bad
	 * parameters, a body that is not JSON): refused with this code and
	 * message, and recorded with `malformed_query` (or nothing) as its
	 * query and no case reference.  NULL for a well-formed request. */
	const char *malformed_code;
	const char *malformed_message;
	const char *malformed_query;
	/* search: cf alone, or surname and name with birth_date (YYYY-MM-DD),
	 * birth_year or comune (ISTAT code); street is always refused */
	const char *cf;                /* also of person/household/history/print/verify */
	const char *surname, *name, *birth_date, *birth_year, *comune, *street;
	/* person/household/history/print/verify: the register as of (YYYY-MM-DD) */
	const char *as_of;
	/* verify: the declared facts (a JSON object, borrowed), see docs/api.md */
	json_t *declared;
	/* events: the cursor and how many (text, as given); household: how
	 * many members (`limit`) after `cursor` */
	const char *after, *limit, *cursor;
	/* An ANPR-shaped service (access_anpr below), or NULL. */
	const struct access_anpr *anpr;
};

/* ---- the ANPR-shaped services (access/anpr.c; docs/api.md, "ANPR") ----
 *
 * The same corridor, answered the way ANPR's e-services answer: the
 * client's operation id echoed (idOperazioneClient), the access record's
 * number as the operation id (idOperazioneANPR), the persons found
 * (listaSoggetti: ACCESS_PERSON by codice fiscale, ACCESS_SEARCH by
 * surname, name and birth date, which must find exactly one person) or
 * the verification's outcome (ACCESS_VERIFY: "S" when every declared fact
 * holds, "N" when one does not), and every refusal as listaErrori
 * (codiceErroreAnomalia, tipoErroreAnomalia, testoErroreAnomalia in
 * Italian), recorded and signed like an answer.  `as_of` (the request's
 * dataRiferimentoRichiesta) is required and must fall within what the
 * register covers: from the first import of the agreement's municipalities
 * to today.  The reason (motivoRichiesta) is the record's case reference,
 * the use case (casoUso) and the client's operation id are in its query. */
struct access_anpr {
	const char *id_client;         /* idOperazioneClient: 1-64 printable ASCII */
	const char *caso_uso;          /* casoUso: 1-16 letters, digits, '-', '_' */
	const char *sex;               /* search: "M", "F" or NULL */
};

/* The outcome, for the caller to send.  Valid during the done callback. */
struct access_answer {
	int status;                    /* 200, a refusal's 4xx, or 500 */
	/* 200: the bytes the receipt signs */
	const char *content_type;
	const char *bytes;
	size_t len;
	int64_t access_id;
	const char *receipt;
	/* a refusal (and 404 / 422 answers without data) */
	const char *code;
	const char *message;
	int64_t retry_after;           /* > 0: seconds until the limit's window ends */
	/* 500, a failure of ours: the detail is for the log, never the client */
	const struct vis_error *err;
};

typedef void (*access_done_fn)(void *arg, const struct access_answer *a);

struct access_call;

/* Walks the corridor up to the access record: the outcome is decided and
 * the record filled, nothing has been released.  NULL only when out of
 * memory (nothing recorded). */
struct access_call *access_prepare(const struct access_env *env, const struct access_who *who,
				   const struct access_what *what);

/* Submits the record to the audit writer; done(arg, answer) is called once:
 * from the writer's thread once the record is durable (or failed; then
 * 500 and no data), or at once when there is no record to write (a
 * failure of ours before it).  The call stays the caller's. */
void access_finish(struct access_call *c, access_done_fn done, void *arg);

/* Frees a call (NULL is a no-op); not before done was called. */
void access_call_free(struct access_call *c);

/* ---- the printable visura ----
 *
 * An HTML page of one consultation, a document for a case file: the
 * deployment's heading and crest, the record within the profile with every
 * code in words, and at its foot who asked, for which body, purpose and
 * case, when (Europe/Rome), the access record, and the seal: a QR code of
 * the signed receipt with the content hash.  Every value is HTML-escaped;
 * the page has no script and only same-origin style sheet and image
 * (access_print_css, /static/stemma), so it renders under a strict
 * Content-Security-Policy.
 *
 * The receipt cannot sign the page that carries it: it signs the page with
 * an empty seal (ACCESS_SEAL_OPEN ACCESS_SEAL_CLOSE, as access_print_html
 * writes it), and access_print_seal() then fills the seal in.  Whoever
 * checks the page against its receipt empties the seal first
 * (access_print_unseal), which refuses a seal visura did not write. */
struct access_print_meta {
	const char *heading;           /* print_heading: "Comune di ..." */
	const char *operator_name, *ente, *purpose, *case_ref;
	const char *when;              /* access_print_when() */
	const char *access_id;
	const char *as_of;             /* access_print_day(): the date asked for, or the consultation's */
	const char *verify_url;        /* public_url + "/verifica", or "" */
};
#define ACCESS_SEAL_OPEN "<!--contrassegno-->"
#define ACCESS_SEAL_CLOSE "<!--/contrassegno-->"
/* The most bytes a printable page may have. */
#define ACCESS_PRINT_MAX (64u << 20)
/* A malloc'd page with an empty seal, or NULL (out of memory, or past
 * ACCESS_PRINT_MAX). */
char *access_print_html(json_t *body, const struct access_print_meta *m);
/* The page with its seal: the QR code of verify_url?ricevuta=RECEIPT (of the
 * receipt alone when verify_url is empty) and the receipt's content hash.
 * Malloc'd (its length in *len), or NULL. */
char *access_print_seal(const char *page, const char *receipt, const char *verify_url,
			size_t *len);
/* Empties the seal of page[0..*len) in place (NUL-terminated, *len updated):
 * the bytes the receipt signs.  A page without a seal is left as it is.
 * Returns NULL, or why the seal is not one visura writes. */
const char *access_print_unseal(char *page, size_t *len);
/* "2 dicembre 2026" of a YYYYMMDD date; "2 dicembre 2026, ore 04:13:30" of
 * an instant (ms), Europe/Rome. */
void access_print_day(int date, char out[32]);
void access_print_when(int64_t ms, char out[64]);
extern const char access_print_css[];
extern const size_t access_print_css_len;
/* The neutral emblem (SVG) printed when print_crest is empty. */
extern const char access_print_emblem[];
extern const size_t access_print_emblem_len;

#endif
