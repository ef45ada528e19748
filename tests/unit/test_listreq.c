/* Unit tests: formal list requests (src/listreq) on a real database — the
 * criteria, the rule that an agreement allows a list, and every move of
 * the states pending → approved | rejected, approved → extracted, with
 * every refused one. */
#include "workflow.h"

#include <jansson.h>

#include "listreq/listreq.h"

static bool use_pg;
static int setup(void **state)
{
	return (*state = wf_open(use_pg, "listreq")) ? 0 : -1;
}

static int teardown(void **state)
{
	wf_close(*state);
	return 0;
}

static vis_err read_text(const char *text, struct listreq_criteria *c, struct vis_error *e)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	vis_err rc = listreq_criteria_read(j, c, e);
	json_decref(j);
	return rc;
}

static void test_criteria(void **state)
{
	(void)state;
	struct listreq_criteria c;
	struct vis_error e = {0};
	assert_int_equal(read_text("{\"comune\":\"036023\",\"age_from\":18,\"age_to\":30,\"sex\":\"F\","
				   "\"citizenship\":\"foreign\"}", &c, &e), VIS_OK);
	assert_string_equal(c.comune, "036023");
	assert_int_equal(c.age_from, 18);
	assert_int_equal(c.age_to, 30);
	assert_int_equal(c.sex, 'F');
	assert_int_equal(c.citizenship, 2);
	assert_int_equal(read_text("{\"comune\":\"036023\"}", &c, &e), VIS_OK);
	assert_int_equal(c.age_to, 200);
	assert_int_equal(c.sex, 0);
	assert_int_equal(c.citizenship, 0);
	const char *bad[] = {
		"{}", "[]", "{\"comune\":\"0360231\"}", "{\"comune\":36023}",
		"{\"comune\":\"036023\",\"street\":\"VIA ROMA\"}",
		"{\"comune\":\"036023\",\"age_from\":131}", "{\"comune\":\"036023\",\"age_to\":-1}",
		"{\"comune\":\"036023\",\"age_to\":\"30\"}", "{\"comune\":\"036023\",\"sex\":\"X\"}",
		"{\"comune\":\"036023\",\"citizenship\":\"eu\"}",
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		vis_error_clear(&e);
		assert_int_equal(read_text(bad[k], &c, &e), VIS_ERR_INVALID);
	}
	assert_int_equal(listreq_criteria_read(NULL, &c, &e), VIS_ERR_INVALID);
}

static void test_agreement_allows(void **state)
{
	(void)state;
	struct store_convenzione c = {0};
	struct policy_refusal no;
	unsigned cats;
	STR_COPY_KNOWN(c.mode, "consult");
	STR_COPY_KNOWN(c.profile, "identity,residence");
	assert_true(listreq_agreement_allows(&c, &cats, &no));
	STR_COPY_KNOWN(c.mode, "verify_only");
	assert_false(listreq_agreement_allows(&c, &cats, &no));
	assert_int_equal(no.status, 403);
	assert_string_equal(no.code, "mode_verify_only");
	STR_COPY_KNOWN(c.mode, "consult");
	STR_COPY_KNOWN(c.profile, "residence");
	assert_false(listreq_agreement_allows(&c, &cats, &no));
	assert_string_equal(no.code, "category_not_permitted");
	STR_COPY_KNOWN(c.profile, "nonsense");
	assert_false(listreq_agreement_allows(&c, &cats, &no));
	assert_int_equal(no.status, 500);
}

struct scene {
	struct store_account lead;
	struct policy_grant g;
};

static void scene(struct wf *w, struct scene *x, const char *mode)
{
	int64_t ente = wf_ente(w, "Polizia locale");
	x->lead = wf_get_account(w, wf_account(w, ente, "lead1", "lead", "active"));
	memset(&x->g, 0, sizeof x->g);
	wf_agreement(w, ente, mode, "identity,residence", &x->g.conv, &x->g.purpose);
}

static struct store_list_request filed(struct wf *w, struct scene *x, const char *criteria)
{
	json_error_t jerr;
	json_t *c = json_loads(criteria, 0, &jerr);
	struct store_list_request q;
	struct vis_error e = {0};
	vis_err rc = listreq_create(w->s, &x->lead, &x->g, c, "verifica dei requisiti di residenza",
				    wf_rd, WF_NOW, &q, &e);
	json_decref(c);
	assert_int_equal(rc, VIS_OK);
	return q;
}

static struct store_list_request stored(struct wf *w, int64_t id)
{
	struct store_list_request q;
	bool found = false;
	assert_int_equal(store_list_request_get(w->s, id, &q, &found, NULL),
			 VIS_OK);
	assert_true(found);
	return q;
}

static void test_create(void **state)
{
	struct wf *w = *state;
	struct scene x;
	scene(w, &x, "consult");
	struct store_list_request q = filed(w, &x, "{\"sex\":\"F\",\"comune\":\"036023\"}");
	assert_string_equal(q.state, "pending");
	assert_int_equal(q.purpose_id, x.g.purpose.id);
	assert_int_equal(q.requested_by, x.lead.id);
	/* stored compact, keys sorted */
	assert_string_equal(stored(w, q.id).criteria, "{\"comune\":\"036023\",\"sex\":\"F\"}");
	/* refused: a municipality outside the agreement, unknown, a short
	 * justification, bad criteria */
	const char *bad[] = {"{\"comune\":\"037006\"}", "{\"comune\":\"999999\"}",
			     "{\"comune\":\"036023\",\"age_from\":500}"};
	struct vis_error e = {0};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		json_error_t jerr;
		json_t *c = json_loads(bad[k], 0, &jerr);
		vis_error_clear(&e);
		assert_int_equal(listreq_create(w->s, &x.lead, &x.g, c, "verifica dei requisiti di "
						"residenza", wf_rd, WF_NOW, &q, &e), VIS_ERR_INVALID);
		json_decref(c);
	}
	json_t *c = json_pack("{s:s}", "comune", "036023");
	vis_error_clear(&e);
	assert_int_equal(listreq_create(w->s, &x.lead, &x.g, c, "troppo breve", wf_rd, WF_NOW, &q, &e),
			 VIS_ERR_INVALID);
	json_decref(c);
	assert_int_equal(wf_count(w, STORE_LIST_REQUEST, NULL), 1);
}

static void test_decide(void **state)
{
	struct wf *w = *state;
	struct scene x;
	scene(w, &x, "consult");
	struct store_list_request a = filed(w, &x, "{\"comune\":\"036023\"}");
	struct store_list_request b = filed(w, &x, "{\"comune\":\"036023\"}");
	struct store_list_request out;
	struct vis_error e = {0};
	assert_int_equal(listreq_decide(w->s, a.id, "approve", "ok", 5, WF_NOW, &out, &e), VIS_OK);
	assert_string_equal(out.state, "approved");
	assert_int_equal(out.decided_by, 5);
	assert_int_equal(listreq_decide(w->s, b.id, "reject", "no", 5, WF_NOW, &out, &e), VIS_OK);
	assert_string_equal(stored(w, b.id).state, "rejected");
	assert_string_equal(stored(w, b.id).note, "no");
	/* decided once only, either way */
	const char *again[] = {"approve", "reject"};
	for (int k = 0; k < 2; k++) {
		vis_error_clear(&e);
		assert_int_equal(listreq_decide(w->s, a.id, again[k], "x", 5, WF_NOW, &out, &e),
				 VIS_ERR_CONFLICT);
		vis_error_clear(&e);
		assert_int_equal(listreq_decide(w->s, b.id, again[k], "x", 5, WF_NOW, &out, &e),
				 VIS_ERR_CONFLICT);
	}
	struct store_list_request c = filed(w, &x, "{\"comune\":\"036023\"}");
	vis_error_clear(&e);
	assert_int_equal(listreq_decide(w->s, c.id, "approved", "x", 5, WF_NOW, &out, &e),
			 VIS_ERR_INVALID);
	vis_error_clear(&e);
	assert_int_equal(listreq_decide(w->s, c.id + 9, "approve", "x", 5, WF_NOW, &out, &e),
			 VIS_ERR_NOTFOUND);
	assert_string_equal(stored(w, c.id).state, "pending");
}

static void test_extraction(void **state)
{
	struct wf *w = *state;
	struct scene x;
	scene(w, &x, "consult");
	struct store_list_request q = filed(w, &x, "{\"comune\":\"036023\",\"age_to\":40}");
	struct store_list_request out;
	static struct listreq_extraction lx;
	struct vis_error e = {0};
	/* pending: not yet */
	assert_int_equal(listreq_extraction_open(w->s, q.id, &lx, &e), VIS_ERR_CONFLICT);
	assert_int_equal(listreq_decide(w->s, q.id, "approve", "ok", 5, WF_NOW, &out, &e), VIS_OK);
	vis_error_clear(&e);
	assert_int_equal(listreq_extraction_open(w->s, q.id, &lx, &e), VIS_OK);
	assert_string_equal(lx.criteria.comune, "036023");
	assert_int_equal(lx.criteria.age_to, 40);
	assert_int_equal(lx.conv.id, x.g.conv.id);
	assert_int_equal(listreq_extracted(w->s, &lx.q, 12, WF_NOW + 60, &e), VIS_OK);
	struct store_list_request done = stored(w, q.id);
	assert_string_equal(done.state, "extracted");
	assert_int_equal(done.persons, 12);
	assert_int_equal(done.extracted_at, WF_NOW + 60);
	/* extracted once only */
	vis_error_clear(&e);
	assert_int_equal(listreq_extraction_open(w->s, q.id, &lx, &e), VIS_ERR_CONFLICT);
	vis_error_clear(&e);
	assert_int_equal(listreq_extracted(w->s, &done, 1, WF_NOW, &e), VIS_ERR_CONFLICT);
	/* rejected, or missing: never */
	struct store_list_request r = filed(w, &x, "{\"comune\":\"036023\"}");
	assert_int_equal(listreq_decide(w->s, r.id, "reject", "no", 5, WF_NOW, &out, &e), VIS_OK);
	vis_error_clear(&e);
	assert_int_equal(listreq_extraction_open(w->s, r.id, &lx, &e), VIS_ERR_CONFLICT);
	vis_error_clear(&e);
	assert_int_equal(listreq_extraction_open(w->s, r.id + 9, &lx, &e), VIS_ERR_NOTFOUND);
	/* approved, then the agreement turned verify_only: no list */
	struct store_list_request v = filed(w, &x, "{\"comune\":\"036023\"}");
	assert_int_equal(listreq_decide(w->s, v.id, "approve", "ok", 5, WF_NOW, &out, &e), VIS_OK);
	struct store_convenzione conv_was = x.g.conv;
	STR_COPY_KNOWN(x.g.conv.mode, "verify_only");
	assert_int_equal(store_convenzione_update(w->s, &conv_was, &x.g.conv, NULL), VIS_OK);
	vis_error_clear(&e);
	assert_int_equal(listreq_extraction_open(w->s, v.id, &lx, &e), VIS_ERR_CONFLICT);
	assert_non_null(strstr(e.msg, "verifica"));
	assert_string_equal(stored(w, v.id).state, "approved");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_criteria),
		cmocka_unit_test(test_agreement_allows),
		cmocka_unit_test_setup_teardown(test_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decide, setup, teardown),
		cmocka_unit_test_setup_teardown(test_extraction, setup, teardown),
	};
	return TESTDB_RUN("listreq", tests, wf_refdata_load, wf_refdata_free, &use_pg);
}
