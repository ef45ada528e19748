/* Unit tests: agreements and purposes (policy/convenzione) on a real
 * database — the defaults the API and `visura convenzione add` share,
 * the required fields, the first purpose stored with its agreement or
 * neither, and every refusal. */
#include "workflow.h"

#include "policy/convenzione.h"

static bool use_pg;
static int setup(void **state)
{
	return (*state = wf_open(use_pg, "convenzione")) ? 0 : -1;
}

static int teardown(void **state)
{
	wf_close(*state);
	return 0;
}

static void filled(struct store_convenzione *c, int64_t ente)
{
	convenzione_defaults(c);
	c->ente_id = ente;
	c->valid_from = 20260101;
	STR_COPY_KNOWN(c->reference, "convenzione 2/2026");
	STR_COPY_KNOWN(c->comuni, "036023,037006");
	STR_COPY_KNOWN(c->profile, "identity");
}

static void purpose(struct store_purpose *p, const char *code, const char *ref)
{
	*p = (struct store_purpose){0};
	STR_COPY_KNOWN(p->code, code);
	STR_COPY_KNOWN(p->description, "verifica delle dichiarazioni");
	STR_COPY_KNOWN(p->legal_basis, "DPR 445/2000");
	STR_COPY_KNOWN(p->processing_ref, ref);
}

static void test_defaults(void **state)
{
	(void)state;
	struct store_convenzione c;
	memset(&c, 0x5a, sizeof c);
	convenzione_defaults(&c);
	assert_string_equal(c.state, "active");
	assert_string_equal(c.mode, "consult");
	assert_int_equal(c.max_results, 20);
	assert_int_equal(c.per_minute, 30);
	assert_int_equal(c.per_day, 1000);
	assert_int_equal(c.body_per_minute, 300);
	assert_int_equal(c.body_per_day, 20000);
	assert_int_equal(c.purpose_per_minute, 300);
	assert_int_equal(c.purpose_per_day, 20000);
	assert_int_equal(c.id, 0);
	assert_string_equal(c.reference, "");
	assert_false(c.break_glass);
}

static void test_create_with_first_purpose(void **state)
{
	struct wf *w = *state;
	int64_t ente = wf_ente(w, "Polizia locale");
	struct store_convenzione c;
	struct store_purpose p;
	filled(&c, ente);
	purpose(&p, "DICH", "");
	struct vis_error e = {0};
	assert_int_equal(convenzione_create(w->s, wf_rd, &c, &p, WF_NOW, &e), VIS_OK);
	assert_true(c.id > 0 && p.id > 0);
	assert_int_equal(p.convenzione_id, c.id);
	assert_string_equal(p.processing_ref, "1"); /* entry 1 by default */
	assert_int_equal(c.created_at, WF_NOW);
	/* a second purpose; the same code again is refused */
	struct store_purpose q;
	purpose(&q, "STAT", "4");
	q.convenzione_id = c.id;
	assert_int_equal(convenzione_purpose_add(w->s, &q, WF_NOW, &e), VIS_OK);
	purpose(&q, "STAT", "4");
	q.convenzione_id = c.id;
	assert_int_equal(convenzione_purpose_add(w->s, &q, WF_NOW, &e), VIS_ERR_CONFLICT);
	assert_int_equal(wf_count(w, STORE_PURPOSE, NULL), 2);
	/* changed: checked again */
	const struct store_convenzione was = c;
	c.max_results = 0;
	vis_error_clear(&e);
	assert_int_equal(convenzione_update(w->s, wf_rd, &was, &c, &e), VIS_ERR_INVALID);
	assert_non_null(strstr(e.msg, "max_results"));
	c.max_results = 50;
	assert_int_equal(convenzione_update(w->s, wf_rd, &was, &c, &e), VIS_OK);
}

static void test_refusals_store_nothing(void **state)
{
	struct wf *w = *state;
	int64_t ente = wf_ente(w, "Polizia locale");
	struct store_convenzione c;
	struct store_purpose p;
	struct vis_error e = {0};
	/* each required field missing in turn */
	for (int k = 0; k < 4; k++) {
		filled(&c, ente);
		if (k == 0)
			c.reference[0] = '\0';
		if (k == 1)
			c.comuni[0] = '\0';
		if (k == 2)
			c.profile[0] = '\0';
		if (k == 3)
			c.valid_from = 0;
		vis_error_clear(&e);
		assert_int_equal(convenzione_create(w->s, wf_rd, &c, NULL, WF_NOW, &e), VIS_ERR_INVALID);
		assert_non_null(strstr(e.msg, "obbligatori"));
	}
	/* the rules of policy_convenzione_check */
	filled(&c, ente);
	STR_COPY_KNOWN(c.mode, "browse");
	vis_error_clear(&e);
	assert_int_equal(convenzione_create(w->s, wf_rd, &c, NULL, WF_NOW, &e), VIS_ERR_INVALID);
	filled(&c, ente);
	STR_COPY_KNOWN(c.comuni, "999999");
	vis_error_clear(&e);
	assert_int_equal(convenzione_create(w->s, wf_rd, &c, NULL, WF_NOW, &e), VIS_ERR_INVALID);
	/* no such body */
	filled(&c, ente + 10);
	vis_error_clear(&e);
	assert_int_equal(convenzione_create(w->s, wf_rd, &c, NULL, WF_NOW, &e), VIS_ERR_NOTFOUND);
	/* a first purpose that is refused takes its agreement with it */
	const char *refs[] = {"99", "1"};
	const char *codes[] = {"DICH", ""};
	for (int k = 0; k < 2; k++) {
		filled(&c, ente);
		purpose(&p, codes[k], refs[k]);
		vis_error_clear(&e);
		assert_int_equal(convenzione_create(w->s, wf_rd, &c, &p, WF_NOW, &e), VIS_ERR_INVALID);
	}
	assert_int_equal(wf_count(w, STORE_CONVENZIONE, NULL), 0);
	assert_int_equal(wf_count(w, STORE_PURPOSE, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test_setup_teardown(test_create_with_first_purpose, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals_store_nothing, setup, teardown),
	};
	return TESTDB_RUN("convenzione", tests, wf_refdata_load, wf_refdata_free, &use_pg);
}
