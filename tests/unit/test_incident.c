/* Unit tests: the incident workflow (src/incident) on a real database —
 * the report, every move between the three states, every refusal, and the
 * suspension of a body. */
#include "workflow.h"

#include "incident/incident.h"

static bool use_pg;

static int setup(void **state)
{
	return (*state = wf_open(use_pg, "incident")) ? 0 : -1;
}

static int teardown(void **state)
{
	wf_close(*state);
	return 0;
}

static int64_t reported(struct wf *w, struct store_incident *i)
{
	int64_t ente = wf_ente(w, "Polizia locale");
	int64_t lead = wf_account(w, ente, "lead1", "lead", "active");
	struct store_account by = wf_get_account(w, lead);
	struct vis_error e = {0};
	assert_int_equal(incident_report(w->s, &by, "password shared by mail", "2026-09-20 10:00",
					 "7,8", WF_NOW, i, &e), VIS_OK);
	return lead;
}

static struct store_incident stored(struct wf *w, int64_t id)
{
	struct store_incident i;
	bool found = false;
	assert_int_equal(store_incident_get(w->s, id, &i, &found, NULL), VIS_OK);
	assert_true(found);
	return i;
}

static void test_report_opens_with_history_and_alert(void **state)
{
	struct wf *w = *state;
	struct store_incident i;
	int64_t lead = reported(w, &i);
	assert_true(i.id > 0);
	assert_string_equal(i.state, "open");
	assert_int_equal(i.reported_by, lead);
	struct store_incident s = stored(w, i.id);
	assert_string_equal(s.what, "password shared by mail");
	struct store_filter f[] = {{"incident_id", NULL, i.id}, {NULL, NULL, 0}};
	assert_int_equal(wf_count(w, STORE_INCIDENT_STEP, f), 1);
	assert_int_equal(wf_count(w, STORE_ALERT, NULL), 1);
}

static void test_report_refused_when_too_long(void **state)
{
	struct wf *w = *state;
	int64_t ente = wf_ente(w, "Polizia locale");
	struct store_account by = wf_get_account(w, wf_account(w, ente, "lead1", "lead", "active"));
	char what[1100];
	memset(what, 'x', sizeof what - 1);
	what[sizeof what - 1] = '\0';
	struct store_incident i;
	struct vis_error e = {0};
	assert_int_equal(incident_report(w->s, &by, what, "ieri", "", WF_NOW, &i, &e), VIS_ERR_LIMIT);
	assert_non_null(strstr(e.msg, "what"));
	assert_int_equal(wf_count(w, STORE_INCIDENT, NULL), 0);
	assert_int_equal(wf_count(w, STORE_ALERT, NULL), 0);
}

/* open → handled → closed → open (reopened) → open again: each a step. */
static void test_every_move_between_states(void **state)
{
	struct wf *w = *state;
	struct store_incident i, out;
	reported(w, &i);
	const char *moves[] = {"handled", "handled", "closed", "open", "open", "closed"};
	struct vis_error e = {0};
	for (size_t k = 0; k < sizeof moves / sizeof moves[0]; k++) {
		assert_int_equal(incident_state_set(w->s, i.id, moves[k], "nota", 1, WF_NOW + (int64_t)k,
						    &out, &e), VIS_OK);
		assert_string_equal(out.state, moves[k]);
		assert_string_equal(stored(w, i.id).state, moves[k]);
	}
	struct store_filter f[] = {{"incident_id", NULL, i.id}, {NULL, NULL, 0}};
	assert_int_equal(wf_count(w, STORE_INCIDENT_STEP, f), 7);
	assert_int_equal(stored(w, i.id).updated_at, WF_NOW + 5);
}

static void test_refused_moves_change_nothing(void **state)
{
	struct wf *w = *state;
	struct store_incident i, out;
	reported(w, &i);
	struct vis_error e = {0};
	const char *bad[] = {"forgotten", "", "OPEN", "closed ", NULL};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		vis_error_clear(&e);
		assert_int_equal(incident_state_set(w->s, i.id, bad[k], "nota", 1, WF_NOW, &out, &e),
				 VIS_ERR_INVALID);
		assert_false(incident_state_valid(bad[k]));
	}
	vis_error_clear(&e);
	assert_int_equal(incident_state_set(w->s, i.id + 100, "closed", "nota", 1, WF_NOW, &out, &e),
			 VIS_ERR_NOTFOUND);
	/* A note that does not fit: the state does not move either. */
	char note[600];
	memset(note, 'n', sizeof note - 1);
	note[sizeof note - 1] = '\0';
	vis_error_clear(&e);
	assert_int_equal(incident_state_set(w->s, i.id, "closed", note, 1, WF_NOW, &out, &e),
			 VIS_ERR_LIMIT);
	assert_string_equal(stored(w, i.id).state, "open");
	struct store_filter f[] = {{"incident_id", NULL, i.id}, {NULL, NULL, 0}};
	assert_int_equal(wf_count(w, STORE_INCIDENT_STEP, f), 1);
}

static void test_ente_suspend(void **state)
{
	struct wf *w = *state;
	int64_t ente = wf_ente(w, "Polizia locale"), other = wf_ente(w, "INPS");
	wf_account(w, ente, "lead1", "lead", "active");
	wf_account(w, ente, "op1", "operator", "active");
	wf_account(w, other, "op2", "operator", "active");
	struct store_ente en;
	int n = 0;
	struct vis_error e = {0};
	assert_int_equal(incident_ente_suspend(w->s, ente, WF_NOW, &en, &n, &e), VIS_OK);
	assert_int_equal(n, 2);
	assert_string_equal(en.state, "suspended");
	struct store_ente back;
	bool found;
	assert_int_equal(store_ente_get(w->s, other, &back, &found, NULL), VIS_OK);
	assert_string_equal(back.state, "active");
	assert_int_equal(incident_ente_suspend(w->s, other + 100, WF_NOW, &en, &n, &e),
			 VIS_ERR_NOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_report_opens_with_history_and_alert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_refused_when_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_move_between_states, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_moves_change_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ente_suspend, setup, teardown),
	};
	return TESTDB_RUN("incident", tests, NULL, NULL, &use_pg);
}
