/* witness — cosigning other deployments' trail heads, and having ours
 * cosigned (C2SP tlog-witness, close to it).
 *
 * Owns: the add-checkpoint request (its text, parsed strictly), the
 * witness's decision over it (the log's signature, the size it last
 * cosigned, the RFC 9162 consistency proof from that head, rollback and
 * fork refused), the witness's durable state (one line per trusted log:
 * origin, size and root of the last head it cosigned; rewritten whole,
 * atomically), and the public key files of witnesses and logs.
 *
 * The request body (POST /add-checkpoint):
 *
 *   old <size>\n                 the size the client believes the witness has
 *   <base64 hash>\n ...          the consistency proof from old to the new size
 *   \n
 *   <the checkpoint note>        log signature included
 *
 * The answer (200): the witness's cosignature line(s), text/plain.  409
 * (text/x.tlog.size): old is not the witness's size, the body is its size.
 * The publisher (witness/publish.h) is the client. */
#ifndef VISURA_WITNESS_WITNESS_H
#define VISURA_WITNESS_WITNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/checkpoint.h"
#include "audit/merkle.h"
#include "common/err.h"

/* "old N\n", a full proof, a blank line, a whole note. */
#define WITNESS_BODY_MAX (32 + MERKLE_PROOF_MAX * 45 + 1 + CHECKPOINT_TEXT_MAX)
#define WITNESS_LOGS_MAX 64

struct witness_request {
	uint64_t old_size;
	uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH];
	int proof_len;
	struct checkpoint cp;
};

/* Parses a body; NULL, or why it is malformed. */
const char *witness_request_parse(struct witness_request *r, const char *body, size_t len);
/* Writes a body for req's fields into out (cap at least WITNESS_BODY_MAX
 * + 1); returns its length, or 0 when it does not fit. */
size_t witness_request_format(const struct witness_request *r, char *out, size_t cap);

/* A log the witness trusts, and the last head it cosigned of it. */
struct witness_log {
	char origin[CHECKPOINT_NAME_MAX + 1];
	uint8_t pk[32];
	bool cosigned;                 /* a head was cosigned: size and root below */
	uint64_t size;
	uint8_t root[MERKLE_HASH];
};

/* The decision over one request. */
enum witness_verdict {
	WITNESS_COSIGN = 200,        /* cosign it and remember it */
	WITNESS_MALFORMED = 400,     /* and: old size > new size, a rollback */
	WITNESS_BAD_SIGNATURE = 403,
	WITNESS_UNKNOWN_LOG = 404,
	WITNESS_SIZE_MISMATCH = 409, /* old is not the size cosigned last */
	WITNESS_INCONSISTENT = 422,  /* the proof fails: a fork, or a forged proof */
};

/* Decides over r (parsed) given the trusted logs; *log is the one named
 * (or NULL).  why: a sentence for the answer's body. */
enum witness_verdict witness_check(const struct witness_request *r, struct witness_log *logs,
				   int nlogs, struct witness_log **log, const char **why);

/* ---- the state file ----
 * One line per trusted log that has a cosigned head:
 *   <origin> <size> <root, hex>\n
 * Loading fills the logs' cosigned/size/root (a missing file: none
 * cosigned yet; a line naming a log no longer trusted is dropped at the
 * next save); saving writes PATH.tmp-<random> (fsmode_write_replace: a
 * new file, never one planted there), fsyncs it, renames it over PATH and
 * fsyncs the directory. */
vis_err witness_state_load(const char *path, struct witness_log *logs, int nlogs,
			   struct vis_error *e);
vis_err witness_state_save(const char *path, const struct witness_log *logs, int nlogs,
			   struct vis_error *e);

/* ---- the witness service's core (the HTTP route wraps it) ---- */
struct witness_service {
	char name[CHECKPOINT_NAME_MAX + 1];   /* the witness's key name */
	uint8_t sk[64];                       /* its Ed25519 key */
	char state_path[4096];
	struct witness_log logs[WITNESS_LOGS_MAX];
	int nlogs;
	pthread_mutex_t lock;                 /* one request decides at a time */
	uint64_t (*clock)(void);              /* seconds; NULL: time() */
};

/* Answers one add-checkpoint body: *status (200, 400, 403, 404, 409, 422,
 * 500 when the state cannot be saved: nothing cosigned), the answer's
 * text into out (the cosignature line on 200, the witness's size on 409,
 * a sentence otherwise) and its content type.  A head is cosigned only
 * once the state naming it is durable. */
void witness_add_checkpoint(struct witness_service *w, const char *body, size_t len,
			    int *status, char *out, size_t cap, const char **content_type);

/* ---- checking the cosignatures a note carries ---- */
struct witness_tally {
	char name[CHECKPOINT_NAME_MAX + 1];   /* a witness whose key is known */
	uint8_t pk[32];
	int64_t heads;                        /* notes it cosigned (so far) */
	uint64_t latest;                      /* the largest size among them */
};
/* Every cosignature line of c by a known witness must verify under its
 * key (counted in its tally); lines of other names are counted in
 * *unknown.  NULL, or why not (naming the witness) into why. */
const char *witness_note_check(const struct checkpoint *c, struct witness_tally *t, int n,
			       int64_t *unknown, char *why, size_t cap);

/* A public key file: one line, 64 hex digits (what `visura audit key` and
 * `visura witness keygen` print). */
vis_err witness_pubkey_read(const char *path, uint8_t pk[32], struct vis_error *e);

#endif
