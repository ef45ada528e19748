/* publish — sending this deployment's signed tree heads to its witnesses,
 * and knowing when they have been out of sight too long.
 *
 * Owns: the publisher thread (its own store handle, never the audit
 * writer's: the corridor does not wait for a witness), the list of
 * witnesses (option trail_witnesses), the requests it sends them (the
 * newest head with a consistency proof from the size each cosigned last;
 * on 409 again from the size the witness names), the cosignatures it gets
 * back (checked against the witness's key, stored with the head, and the
 * cosigned head appended to trail_heads_file), and the grace rule: a head
 * not appended to the heads file, or not cosigned by every witness, for
 * longer than trail_publish_grace seconds makes personal-data requests
 * refused (publish_problem) until it is. */
#ifndef VISURA_WITNESS_PUBLISH_H
#define VISURA_WITNESS_PUBLISH_H

#include <stdbool.h>
#include <stdint.h>

#include "audit/checkpoint.h"
#include "common/err.h"

#define PUBLISH_WITNESSES_MAX 8

struct audit_writer;
struct publisher;

struct publish_witness {
	char name[CHECKPOINT_NAME_MAX + 1];
	char url[512];                 /* base: POST <url>/add-checkpoint */
	uint8_t pk[32];
};

/* Parses option trail_witnesses ("NAME URL PUBKEYFILE; ..."), reading the
 * key files; *n 0 for "". */
vis_err publish_witnesses_parse(const char *spec, struct publish_witness *out, int *n,
				struct vis_error *e);

struct publish_config {
	const char *db_uri;
	const char *witnesses;         /* option trail_witnesses */
	const char *ca_file;           /* option trail_witness_ca, "" for the system's */
	const char *heads_file;        /* "" for none */
	int grace;                     /* seconds; 0: never refuse */
};

/* Starts the thread (nothing when neither witnesses nor a heads file are
 * configured: *out NULL).  w: the audit writer, asked how the heads
 * file's appends fare. */
vis_err publish_start(const struct publish_config *cfg, struct audit_writer *w,
		      struct publisher **out, struct vis_error *e);
void publish_stop(struct publisher *p);

/* NULL while heads are published in time (and for p NULL), else why not,
 * in Italian, for the 503 and /readyz.  refuse: whether the grace is
 * over (false when it is 0). */
const char *publish_problem(struct publisher *p, bool *refuse);

#endif
