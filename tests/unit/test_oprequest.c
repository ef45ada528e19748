/* Unit tests: a lead's request for a new operator (auth/oprequest) on a
 * real database — filed and told to the admins, approved (the account and
 * its sealed credentials mail in one transaction) or rejected, each once,
 * and every refusal. */
#include "workflow.h"

#include <sodium.h>

#include "auth/oprequest.h"
#include "auth/sealed.h"

static bool use_pg;
static struct sealed_key key;

static int setup(void **state)
{
	randombytes_buf(key.k, sizeof key.k);
	return (*state = wf_open(use_pg, "oprequest")) ? 0 : -1;
}

static int teardown(void **state)
{
	wf_close(*state);
	return 0;
}

struct scene {
	int64_t ente;
	struct store_account lead;
};

static void scene(struct wf *w, struct scene *x)
{
	x->ente = wf_ente(w, "Polizia locale");
	wf_account(w, 0, "admin1", "admin", "active");
	wf_account(w, 0, "admin2", "admin", "active");
	wf_account(w, 0, "admin3", "admin", "disabled");
	x->lead = wf_get_account(w, wf_account(w, x->ente, "lead1", "lead", "active"));
}

static struct store_operator_request filed(struct wf *w, struct scene *x, const char *username)
{
	struct store_operator_request q = {0};
	STR_COPY_KNOWN(q.full_name, "Maria Bianchi");
	STR_COPY_KNOWN(q.email, "maria.bianchi@example.org");
	STR_COPY_KNOWN(q.appointment_ref, "decreto 12/2026");
	STR_COPY_KNOWN(q.username, username);
	struct vis_error e = {0};
	assert_int_equal(oprequest_create(w->s, &x->lead, &q, WF_NOW, &e), VIS_OK);
	return q;
}

static int count_kind(struct wf *w, const char *kind)
{
	struct store_filter f[] = {{"kind", kind, 0}, {NULL, NULL, 0}};
	return wf_count(w, STORE_MAIL, f);
}

static void test_create_tells_the_active_admins(void **state)
{
	struct wf *w = *state;
	struct scene x;
	scene(w, &x);
	struct store_operator_request q = filed(w, &x, "mbianchi");
	assert_string_equal(q.state, "pending");
	assert_int_equal(q.ente_id, x.ente);
	assert_int_equal(q.requested_by, x.lead.id);
	assert_int_equal(count_kind(w, "notice"), 2);
	/* without an appointment: refused */
	struct store_operator_request bad = {0};
	STR_COPY_KNOWN(bad.username, "nobody");
	struct vis_error e = {0};
	assert_int_equal(oprequest_create(w->s, &x.lead, &bad, WF_NOW, &e), VIS_ERR_INVALID);
	assert_non_null(strstr(e.msg, "appointment_ref"));
	assert_int_equal(wf_count(w, STORE_OPERATOR_REQUEST, NULL), 1);
}

static void test_approve_once(void **state)
{
	struct wf *w = *state;
	struct scene x;
	scene(w, &x);
	struct store_operator_request q = filed(w, &x, "mbianchi");
	struct store_operator_request p;
	struct vis_error e = {0};
	assert_int_equal(oprequest_pending(w->s, q.id, &p, &e), VIS_OK);
	struct store_account a;
	bool taken = true;
	assert_int_equal(oprequest_approve(w->s, &w->cfg, &key, &p, 77, WF_NOW, &a, &taken, NULL, 0, &e),
			 VIS_OK);
	assert_false(taken);
	assert_string_equal(p.state, "approved");
	assert_int_equal(p.decided_by, 77);
	assert_int_equal(p.account_id, a.id);
	struct store_account stored = wf_get_account(w, a.id);
	assert_string_equal(stored.role, "operator");
	assert_int_equal(stored.ente_id, x.ente);
	assert_true(stored.password_temporary);
	/* the credentials mail holds the password sealed, never in clear */
	assert_int_equal(count_kind(w, "credentials"), 1);
	/* decided once only */
	vis_error_clear(&e);
	assert_int_equal(oprequest_pending(w->s, q.id, &p, &e), VIS_ERR_CONFLICT);
	struct store_operator_request again = p;
	vis_error_clear(&e);
	assert_int_equal(oprequest_approve(w->s, &w->cfg, &key, &again, 77, WF_NOW, &a, &taken, NULL, 0, &e),
			 VIS_ERR_CONFLICT);
	assert_false(taken);
	vis_error_clear(&e);
	assert_int_equal(oprequest_reject(w->s, &again, "no", 77, WF_NOW, &e), VIS_ERR_CONFLICT);
	vis_error_clear(&e);
	assert_int_equal(oprequest_pending(w->s, q.id + 9, &p, &e), VIS_ERR_NOTFOUND);
}

static void test_username_taken_changes_nothing(void **state)
{
	struct wf *w = *state;
	struct scene x;
	scene(w, &x);
	struct store_operator_request q = filed(w, &x, "lead1"); /* the lead's own name */
	struct store_account a;
	bool taken = false;
	struct vis_error e = {0};
	assert_int_equal(oprequest_approve(w->s, &w->cfg, &key, &q, 77, WF_NOW, &a, &taken, NULL, 0, &e),
			 VIS_ERR_CONFLICT);
	assert_true(taken);
	struct store_operator_request p;
	vis_error_clear(&e);
	assert_int_equal(oprequest_pending(w->s, q.id, &p, &e), VIS_OK); /* still pending */
	assert_int_equal(count_kind(w, "credentials"), 0);
}

static void test_reject(void **state)
{
	struct wf *w = *state;
	struct scene x;
	scene(w, &x);
	struct store_operator_request q = filed(w, &x, "mbianchi");
	struct vis_error e = {0};
	char note[600];
	memset(note, 'n', sizeof note - 1);
	note[sizeof note - 1] = '\0';
	assert_int_equal(oprequest_reject(w->s, &q, note, 77, WF_NOW, &e), VIS_ERR_LIMIT);
	assert_string_equal(q.state, "pending");
	assert_int_equal(oprequest_reject(w->s, &q, "nomina mancante", 77, WF_NOW, &e), VIS_OK);
	assert_string_equal(q.state, "rejected");
	struct store_operator_request p;
	assert_int_equal(oprequest_pending(w->s, q.id, &p, &e), VIS_ERR_CONFLICT);
	struct store_account a;
	bool taken;
	vis_error_clear(&e);
	assert_int_equal(oprequest_approve(w->s, &w->cfg, &key, &q, 77, WF_NOW, &a, &taken, NULL, 0, &e),
			 VIS_ERR_CONFLICT);
	assert_int_equal(wf_count(w, STORE_ACCOUNT, NULL), 4);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_tells_the_active_admins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_approve_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_username_taken_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject, setup, teardown),
	};
	return TESTDB_RUN("oprequest", tests, NULL, NULL, &use_pg);
}
