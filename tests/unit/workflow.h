/* workflow — what the unit tests of the workflows (incident, review,
 * listreq, convenzione, oprequest) share: a fresh database per test on the
 * back end of the group being run, a body, accounts, an agreement, and a
 * count of the records of a kind.  Every record goes through the store,
 * as the service writes it. */
#ifndef VISURA_TESTS_WORKFLOW_H
#define VISURA_TESTS_WORKFLOW_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/str.h"
#include "refdata/refdata.h"
#include "store/store.h"
#include "testdb.h"

#define WF_NOW 1790000000 /* 2026-09-21T14:13:20Z */

struct wf {
	struct testdb db;
	struct store *s;
	struct config cfg;
};

/* The reference tables, for a group that needs them (group setup and
 * teardown of cmocka). */
static struct refdata *wf_rd __attribute__((unused));

static inline int wf_refdata_load(void **state)
{
	(void)state;
	struct vis_error e = {0};
	return refdata_load(refdata_default_dir(), &wf_rd, &e) ? -1 : 0;
}

static inline int wf_refdata_free(void **state)
{
	(void)state;
	refdata_free(wf_rd);
	return 0;
}

static inline struct wf *wf_open(bool pg, const char *tag)
{
	struct wf *w = calloc(1, sizeof *w);
	if (!w || testdb_open(&w->db, pg, tag, &w->s)) {
		free(w);
		return NULL;
	}
	config_defaults(&w->cfg);
	return w;
}

static inline void wf_close(struct wf *w)
{
	if (w) {
		testdb_close(&w->db, w->s);
		free(w);
	}
}

static inline int64_t wf_ente(struct wf *w, const char *name)
{
	struct store_ente en = {.created_at = WF_NOW};
	STR_COPY_KNOWN(en.name, name);
	STR_COPY_KNOWN(en.kind, "police");
	STR_COPY_KNOWN(en.tax_code, "80012345678");
	STR_COPY_KNOWN(en.hours, "mon-sun 00:00-24:00");
	STR_COPY_KNOWN(en.state, "active");
	assert_int_equal(store_ente_insert(w->s, &en, &en.id, NULL), VIS_OK);
	return en.id;
}

/* An account stored as it is (no password: the tests never log in). */
static inline int64_t wf_account(struct wf *w, int64_t ente, const char *username,
				 const char *role, const char *state)
{
	struct store_account a = {.ente_id = ente, .created_at = WF_NOW, .issued_at = WF_NOW,
				  .expires_at = WF_NOW + 365 * 86400};
	STR_COPY_KNOWN(a.username, username);
	STR_COPY_KNOWN(a.role, role);
	STR_COPY_KNOWN(a.full_name, username);
	snprintf(a.email, sizeof a.email, "%s@example.org", username);
	STR_COPY_KNOWN(a.state, state);
	assert_int_equal(store_account_insert(w->s, &a, &a.id, NULL), VIS_OK);
	return a.id;
}

static inline struct store_account wf_get_account(struct wf *w, int64_t id)
{
	struct store_account a;
	bool found = false;
	assert_int_equal(store_account_get(w->s, id, &a, &found, NULL), VIS_OK);
	assert_true(found);
	return a;
}

/* An agreement of the body on Modena (036023) with one purpose. */
static inline void wf_agreement(struct wf *w, int64_t ente, const char *mode, const char *profile,
				struct store_convenzione *c, struct store_purpose *p)
{
	*c = (struct store_convenzione){.ente_id = ente, .valid_from = 20260101, .max_results = 20,
		.per_minute = 30, .per_day = 1000, .body_per_minute = 300, .body_per_day = 20000,
		.purpose_per_minute = 300, .purpose_per_day = 20000, .created_at = WF_NOW};
	STR_COPY_KNOWN(c->reference, "convenzione 1/2026");
	STR_COPY_KNOWN(c->comuni, "036023");
	STR_COPY_KNOWN(c->state, "active");
	STR_COPY_KNOWN(c->mode, mode);
	STR_COPY_KNOWN(c->profile, profile);
	assert_int_equal(store_convenzione_insert(w->s, c, &c->id, NULL), VIS_OK);
	*p = (struct store_purpose){.convenzione_id = c->id, .created_at = WF_NOW};
	STR_COPY_KNOWN(p->code, "ORDPUB");
	STR_COPY_KNOWN(p->description, "ordine pubblico");
	STR_COPY_KNOWN(p->legal_basis, "art. 1");
	STR_COPY_KNOWN(p->processing_ref, "1");
	assert_int_equal(store_purpose_insert(w->s, p, &p->id, NULL), VIS_OK);
}

static inline int wf_count_cb(void *ctx, const void *rec)
{
	(void)rec;
	(*(int *)ctx)++;
	return 0;
}

/* How many records of kind k match the filter (NULL: all). */
static inline int wf_count(struct wf *w, enum store_kind k, const struct store_filter *f)
{
	int n = 0;
	assert_int_equal(store_rec_list(w->s, k, f, 0, wf_count_cb, &n, NULL), VIS_OK);
	return n;
}

#endif
