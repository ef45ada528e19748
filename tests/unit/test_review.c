/* Unit tests: the decisions of the yearly review (src/review) on a real
 * database — confirm and restrict leave the agreement as it is, revoke
 * ends it and disables the active accounts of its body (and only those),
 * and every refusal stores nothing. */
#include "workflow.h"

#include "review/review.h"
#include "auth/auth.h"

static bool use_pg;

static int setup(void **state)
{
	return (*state = wf_open(use_pg, "review")) ? 0 : -1;
}

static int teardown(void **state)
{
	wf_close(*state);
	return 0;
}

struct scene {
	int64_t ente, other, op, lead, gone, stranger;
	struct store_convenzione c;
	struct store_purpose p;
};

static void scene(struct wf *w, struct scene *x)
{
	x->ente = wf_ente(w, "Polizia locale");
	x->other = wf_ente(w, "INPS");
	x->op = wf_account(w, x->ente, "op1", "operator", "active");
	x->lead = wf_account(w, x->ente, "lead1", "lead", "active");
	x->gone = wf_account(w, x->ente, "op2", "operator", "disabled");
	x->stranger = wf_account(w, x->other, "op3", "operator", "active");
	wf_agreement(w, x->ente, "consult", "identity,residence", &x->c, &x->p);
}

static struct store_convenzione agreement(struct wf *w, int64_t id)
{
	struct store_convenzione c;
	bool found = false;
	assert_int_equal(store_convenzione_get(w->s, id, &c, &found, NULL),
			 VIS_OK);
	assert_true(found);
	return c;
}

static void test_confirm_and_restrict_keep_the_agreement(void **state)
{
	struct wf *w = *state;
	struct scene x;
	scene(w, &x);
	const char *kinds[] = {"confirm", "restrict"};
	for (int k = 0; k < 2; k++) {
		struct store_review d;
		struct store_convenzione c;
		struct vis_error e = {0};
		assert_int_equal(review_decide(w->s, x.c.id, kinds[k], "va bene", 9, WF_NOW, &d, &c, &e),
				 VIS_OK);
		assert_string_equal(d.decision, kinds[k]);
		assert_int_equal(d.decided_by, 9);
		assert_string_equal(c.state, "active");
		assert_string_equal(agreement(w, x.c.id).state, "active");
	}
	assert_int_equal(wf_count(w, STORE_REVIEW, NULL), 2);
	assert_string_equal(wf_get_account(w, x.op).state, "active");
}

static void test_revoke_ends_and_cuts_off(void **state)
{
	struct wf *w = *state;
	struct scene x;
	scene(w, &x);
	struct store_review d;
	struct store_convenzione c;
	struct vis_error e = {0};
	assert_int_equal(review_decide(w->s, x.c.id, "revoke", "non più necessaria", 9, WF_NOW, &d,
				       &c, &e), VIS_OK);
	assert_string_equal(c.state, "ended");
	assert_string_equal(agreement(w, x.c.id).state, "ended");
	struct store_account op = wf_get_account(w, x.op), lead = wf_get_account(w, x.lead);
	assert_string_equal(op.state, "disabled");
	assert_string_equal(lead.state, "disabled");
	assert_string_equal(op.disabled_reason, AUTH_REASON_AGREEMENT_REVOKED);
	/* already disabled: left as it was; another body: untouched */
	assert_int_equal(wf_get_account(w, x.gone).disabled_at, 0);
	assert_string_equal(wf_get_account(w, x.stranger).state, "active");
}

static void test_refusals_store_nothing(void **state)
{
	struct wf *w = *state;
	struct scene x;
	scene(w, &x);
	struct store_review d;
	struct store_convenzione c;
	struct vis_error e = {0};
	const char *bad[] = {"approve", "", "REVOKE", NULL};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		vis_error_clear(&e);
		assert_int_equal(review_decide(w->s, x.c.id, bad[k], "n", 9, WF_NOW, &d, &c, &e),
				 VIS_ERR_INVALID);
	}
	vis_error_clear(&e);
	assert_int_equal(review_decide(w->s, x.c.id + 50, "revoke", "n", 9, WF_NOW, &d, &c, &e),
			 VIS_ERR_NOTFOUND);
	char note[1100];
	memset(note, 'n', sizeof note - 1);
	note[sizeof note - 1] = '\0';
	vis_error_clear(&e);
	assert_int_equal(review_decide(w->s, x.c.id, "revoke", note, 9, WF_NOW, &d, &c, &e),
			 VIS_ERR_LIMIT);
	assert_int_equal(wf_count(w, STORE_REVIEW, NULL), 0);
	assert_string_equal(agreement(w, x.c.id).state, "active");
	assert_string_equal(wf_get_account(w, x.op).state, "active");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_confirm_and_restrict_keep_the_agreement, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_revoke_ends_and_cuts_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals_store_nothing, setup, teardown),
	};
	return TESTDB_RUN("review", tests, NULL, NULL, &use_pg);
}
