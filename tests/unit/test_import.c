/* Unit tests: import format v1 — good files, history, and every kind of bad
 * file, each of which must leave the database exactly as it was; on SQLite,
 * and on PostgreSQL too when $VISURA_TEST_PG is set (see testdb.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cf/cf.h"
#include "import/import.h"
#include "refdata/refdata.h"
#include "store/store.h"
#include "testdb.h"

struct fixture {
	struct refdata *rd;
	struct store *s;
	struct testdb db;
	char report[96];
};

static struct refdata *shared_rd;
static bool use_pg;   /* the back end of the group being run */

static int group_setup(void **state)
{
	(void)state;
	struct vis_error e = {0};
	return refdata_load(refdata_default_dir(), &shared_rd, &e) == VIS_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	refdata_free(shared_rd);
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	if (!f || testdb_open(&f->db, use_pg, "import", &f->s))
		return -1;
	f->rd = shared_rd;
	snprintf(f->report, sizeof f->report, "/tmp/visura-test-import-%d.rejects", (int)getpid());
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	testdb_close(&f->db, f->s);
	unlink(f->report);
	free(f);
	return 0;
}

static vis_err run_import(struct fixture *f, const char *text, struct import_result *res)
{
	FILE *in = fmemopen((void *)text, strlen(text), "rb");
	assert_non_null(in);
	struct import_options opt = {.source = "test"};
	struct vis_error e = {0};
	vis_err rc = import_stream(f->s, f->rd, in, &opt, res, &e);
	fclose(in);
	return rc;
}

static char cf_rossi[17], cf_bianchi[17], cf_luca[17];

static void compute_cfs(void)
{
	assert_true(cf_compute("ROSSI", "MARIO", 'M', 1980, 1, 1, "F257", cf_rossi));
	assert_true(cf_compute("BIANCHI", "ANNA", 'F', 1982, 3, 15, "F257", cf_bianchi));
	assert_true(cf_compute("ROSSI", "LUCA", 'M', 2012, 7, 30, "F257", cf_luca));
}

#define HDR_FULL1 "HDR\tVISURA-ANAGRAFE\t1\t036023\t2026-11-22T23:00:00Z\t1\tFULL\ttest\n"
#define FAM1 "FAM\tF1\t1\t2019-05-02\tVIA\tEMILIA EST\t128\tB\t\t3\t41121\t\t\n"

/* The good first snapshot: a household of three. */
static char *full1(void)
{
	static char buf[2048];
	compute_cfs();
	snprintf(buf, sizeof buf,
		 HDR_FULL1 FAM1
		 "PER\tP1\t2019-05-02\t%s\tROSSI\tMARIO\tM\t1980-01-01\t036023\t100\t2\t2010-06-12\t\t\t1\t1980-01-05\t\t\t\tF1\t1\n"
		 "PER\tP2\t2019-05-02\t%s\tBIANCHI\tANNA\tF\t1982-03-15\t036023\t100,235\t2\t2010-06-12\t\t\t4\t2005-03-20\t\t\t\tF1\t2\n"
		 "PER\tP3\t2019-05-02\t%s\tROSSI\tLUCA\tM\t2012-07-30\t036023\t100\t1\t\t%s\t%s\t1\t2012-08-01\t\t\t\tF1\t3\n"
		 "END\t4\n",
		 cf_rossi, cf_bianchi, cf_luca, cf_rossi, cf_bianchi);
	return buf;
}

static void load_full1(struct fixture *f)
{
	struct import_result res;
	assert_int_equal(run_import(f, full1(), &res), VIS_OK);
	assert_true(res.applied);
	assert_int_equal(res.counts.inserted, 4);
	assert_int_equal(res.counts.persons, 3);
}

static void test_full_then_reimport(void **state)
{
	struct fixture *f = *state;
	load_full1(f);
	struct store_counts c;
	struct vis_error e = {0};
	assert_int_equal(store_counts_get(f->s, "036023", 0, &c, &e), VIS_OK);
	assert_int_equal(c.persons, 3);
	assert_int_equal(c.families, 1);
	uint64_t before = testdb_fingerprint(&f->db);
	struct import_result res;
	assert_int_equal(run_import(f, full1(), &res), VIS_OK);
	assert_true(res.already_loaded);
	assert_false(res.applied);
	assert_int_equal(testdb_fingerprint(&f->db), before);
}

/* PostgreSQL: a FULL snapshot leaves the planner statistics of the
 * register's tables taken (ANALYZE in the import), not waiting for
 * autovacuum's next pass: last_analyze is set only by an ANALYZE run by
 * hand (autovacuum's is last_autoanalyze), so this fails without it. */
static void test_full_takes_statistics(void **state)
{
	struct fixture *f = *state;
	if (!use_pg)
		skip();   /* SQLite plans without statistics (unit.test_plans) */
	load_full1(f);
	assert_true(testdb_exec(&f->db,
		"DO $$ BEGIN"
		" IF (SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
		" AND relname IN ('family', 'family_history', 'person', 'person_history', 'event')) <> 5"
		" THEN RAISE EXCEPTION 'register tables not analyzed'; END IF;"
		" IF NOT EXISTS (SELECT 1 FROM pg_stats WHERE tablename = 'person' AND attname = 'cf')"
		" OR NOT EXISTS (SELECT 1 FROM pg_stats WHERE tablename = 'family' AND attname = 'local_id')"
		" THEN RAISE EXCEPTION 'no planner statistics'; END IF;"
		" END $$"));
}

static void test_delta_keeps_history(void **state)
{
	struct fixture *f = *state;
	load_full1(f);
	char delta[1024];
	snprintf(delta, sizeof delta,
		 "HDR\tVISURA-ANAGRAFE\t1\t036023\t2026-11-23T23:00:00Z\t2\tDELTA\ttest\n"
		 "FAM\tF1\t1\t2026-11-23\tPIAZZA\tGRANDE\t1\t\t\t\t41121\t\t\n"
		 "PER\tP1\t2026-11-23\t%s\tROSSI\tMARIO\tM\t1980-01-01\t036023\t100\t2\t2010-06-12\t\t\t1\t1980-01-05\t2\t2026-11-23\t\t\t\n"
		 "EVT\tE1\tDECESSO\t2026-11-23\tP1\t\t\n"
		 "END\t3\n", cf_rossi);
	struct import_result res;
	assert_int_equal(run_import(f, delta, &res), VIS_OK);
	assert_int_equal(res.counts.updated, 2);
	assert_int_equal(res.counts.inserted, 1);

	struct store_family fam;
	bool found;
	struct vis_error e = {0};
	assert_int_equal(store_family_get(f->s, "036023", "F1", 20260101, &fam, &found, &e), VIS_OK);
	assert_true(found);
	assert_string_equal(fam.street, "EMILIA EST");
	assert_int_equal(fam.valid_to, 20261123);
	assert_int_equal(store_family_get(f->s, "036023", "F1", 0, &fam, &found, &e), VIS_OK);
	assert_string_equal(fam.street, "GRANDE");

	struct store_person p;
	assert_int_equal(store_person_by_cf(f->s, "", cf_rossi, 20250101, &p, &found, &e), VIS_OK);
	assert_true(found);
	assert_int_equal(p.canc_reason, 0);
	assert_string_equal(p.family_id, "F1");
	assert_int_equal(store_person_by_cf(f->s, "", cf_rossi, 0, &p, &found, &e), VIS_OK);
	assert_int_equal(p.canc_reason, 2);

	struct store_counts c;
	assert_int_equal(store_counts_get(f->s, "036023", 20250101, &c, &e), VIS_OK);
	assert_int_equal(c.persons, 3);
	assert_int_equal(store_counts_get(f->s, "036023", 0, &c, &e), VIS_OK);
	assert_int_equal(c.persons, 2);
	assert_int_equal(c.cancelled, 1);
	assert_int_equal(c.events, 1);
}

/* Counted by the driver, so the same on every run: on PostgreSQL the
 * writes of a delta (closing a version into history, replacing it,
 * inserting an event) travel in the round trip of the next look-up, not
 * one each, so the delta takes fewer round trips than statements; before,
 * every statement was a round trip of its own (and each first use one
 * more, its prepare). */
static void test_delta_round_trips(void **state)
{
	struct fixture *f = *state;
	load_full1(f);
	char delta[4096];
	int n = snprintf(delta, sizeof delta,
		 "HDR\tVISURA-ANAGRAFE\t1\t036023\t2026-11-23T23:00:00Z\t2\tDELTA\ttest\n"
		 "FAM\tF1\t1\t2026-11-23\tPIAZZA\tGRANDE\t1\t\t\t\t41121\t\t\n"
		 "PER\tP1\t2026-11-23\t%s\tROSSI\tMARIO\tM\t1980-01-01\t036023\t100\t2\t2010-06-12\t\t\t1\t1980-01-05\t2\t2026-11-23\t\t\t\n",
		 cf_rossi);
	enum { EVENTS = 20 };
	for (int i = 1; i <= EVENTS; i++)
		n += snprintf(delta + n, sizeof delta - (size_t)n,
			      "EVT\tE%d\tDECESSO\t2026-11-23\tP1\t\t\n", i);
	snprintf(delta + n, sizeof delta - (size_t)n, "END\t%d\n", 2 + EVENTS);
	struct store_io a, b;
	store_io_get(f->s, &a);
	struct import_result res;
	assert_int_equal(run_import(f, delta, &res), VIS_OK);
	assert_true(res.applied);
	assert_int_equal(res.counts.updated, 2);
	assert_int_equal(res.counts.inserted, EVENTS);
	store_io_get(f->s, &b);
	uint64_t statements = b.statements - a.statements, trips = b.round_trips - a.round_trips;
	print_message("delta: %llu statements, %llu round trips\n", (unsigned long long)statements,
		      (unsigned long long)trips);
	if (use_pg)
		assert_true(trips < statements);
}

static void test_full_closes_missing(void **state)
{
	struct fixture *f = *state;
	load_full1(f);
	char full2[2048];
	snprintf(full2, sizeof full2,
		 "HDR\tVISURA-ANAGRAFE\t1\t036023\t2026-11-25T23:00:00Z\t7\tFULL\ttest\n" FAM1
		 "PER\tP1\t2019-05-02\t%s\tROSSI\tMARIO\tM\t1980-01-01\t036023\t100\t2\t2010-06-12\t\t\t1\t1980-01-05\t\t\t\tF1\t1\n"
		 "END\t2\n", cf_rossi);
	struct import_result res;
	assert_int_equal(run_import(f, full2, &res), VIS_OK);
	assert_int_equal(res.counts.unchanged, 2);
	assert_int_equal(res.counts.closed, 2);
	struct store_counts c;
	struct vis_error e = {0};
	assert_int_equal(store_counts_get(f->s, "036023", 0, &c, &e), VIS_OK);
	assert_int_equal(c.persons, 1);
	assert_int_equal(store_counts_get(f->s, "036023", 20261101, &c, &e), VIS_OK);
	assert_int_equal(c.persons, 3);
}

/* Applies `text` to a database holding full1 and expects a refusal naming
 * `line` and a reason containing `needle`, with the database unchanged. */
static void expect_refused(struct fixture *f, const char *text, int64_t line,
			   const char *needle)
{
	load_full1(f);
	uint64_t before = testdb_fingerprint(&f->db);
	const char *report = f->report;
	unlink(report);
	FILE *in = fmemopen((void *)text, strlen(text), "rb");
	struct import_options opt = {.source = "test", .rejects_path = report};
	struct import_result res;
	struct vis_error e = {0};
	vis_err rc = import_stream(f->s, f->rd, in, &opt, &res, &e);
	fclose(in);
	assert_int_equal(rc, VIS_ERR_INVALID);
	assert_true(res.problems > 0);
	assert_false(res.applied);
	assert_int_equal(testdb_fingerprint(&f->db), before);
	size_t len;
	FILE *rf = fopen(report, "r");
	assert_non_null(rf);
	char content[8192];
	len = fread(content, 1, sizeof content - 1, rf);
	content[len] = '\0';
	fclose(rf);
	unlink(report);
	char prefix[32];
	snprintf(prefix, sizeof prefix, "\n%lld\t", (long long)line);
	if (!strstr(content, prefix) || !strstr(content, needle))
		fail_msg("report lacks line %lld / '%s':\n%s", (long long)line, needle, content);
}

#define HDR_DELTA2 "HDR\tVISURA-ANAGRAFE\t1\t036023\t2026-11-23T23:00:00Z\t2\tDELTA\ttest\n"

static void test_bad_truncated(void **state)
{
	expect_refused(*state, HDR_DELTA2 "EVT\tE1\tCAMBIO_INDIRIZZO\t2026-11-23\tP1\t\t\n",
		       2, "il file è troncato");
	teardown(state);
	setup(state);
	expect_refused(*state, HDR_DELTA2 "EVT\tE1\tCAMBIO_INDIRIZZO\t2026-11-23\tP1\t\t", 2, "non termina con LF");
}

static void test_bad_end_count(void **state)
{
	expect_refused(*state, HDR_DELTA2 "EVT\tE1\tCAMBIO_INDIRIZZO\t2026-11-23\tP1\t\t\nEND\t2\n",
		       3, "il record END conta 2 record ma il file ne ha 1");
}

static void test_bad_header(void **state)
{
	expect_refused(*state, "FAM\tF1\t1\n", 1, "deve iniziare con un record HDR");
}

static void test_bad_version(void **state)
{
	expect_refused(*state,
		       "HDR\tVISURA-ANAGRAFE\t2\t036023\t2026-11-23T23:00:00Z\t2\tDELTA\ttest\nEND\t0\n",
		       1, "versione del formato sconosciuta");
}

static void test_bad_sequence_gap(void **state)
{
	expect_refused(*state,
		       "HDR\tVISURA-ANAGRAFE\t1\t036023\t2026-11-23T23:00:00Z\t3\tDELTA\ttest\nEND\t0\n",
		       1, "sequenza interrotta: attesa la 2, ricevuta la 3 (caricare prima i file mancanti)");
}

static void test_bad_older(void **state)
{
	struct fixture *f = *state;
	expect_refused(f, "HDR\tVISURA-ANAGRAFE\t1\t036023\t2026-11-21T23:00:00Z\t2\tDELTA\ttest\nEND\t0\n",
		       1, "precedente a quella dell'ultimo file caricato");
}

static void test_bad_same_seq_other_content(void **state)
{
	expect_refused(*state,
		       "HDR\tVISURA-ANAGRAFE\t1\t036023\t2026-11-22T23:00:00Z\t1\tFULL\tother\nEND\t0\n",
		       1, "contenuto diverso");
}

static void test_bad_first_delta(void **state)
{
	expect_refused(*state,
		       "HDR\tVISURA-ANAGRAFE\t1\t036005\t2026-11-23T23:00:00Z\t1\tDELTA\ttest\nEND\t0\n",
		       1, "il primo file di un comune deve essere FULL");
}

static void test_bad_duplicate_cf(void **state)
{
	char text[2048];
	compute_cfs();
	snprintf(text, sizeof text, HDR_DELTA2
		 "PER\tP8\t2019-05-02\t%s\tROSSI\tMARIO\tM\t1980-01-01\t036023\t100\t2\t2010-06-12\t\t\t1\t1980-01-05\t\t\t\tF1\t3\n"
		 "PER\tP9\t2019-05-02\t%s\tROSSI\tMARIO\tM\t1980-01-01\t036023\t100\t2\t2010-06-12\t\t\t1\t1980-01-05\t\t\t\tF1\t3\n"
		 "END\t2\n", cf_rossi, cf_rossi);
	expect_refused(*state, text, 2, "già attribuito a un'altra persona del comune");
	char text2[2048];
	char other[17];
	assert_true(cf_compute("VERDI", "ELISA", 'F', 1990, 5, 5, "F257", other));
	snprintf(text2, sizeof text2, HDR_DELTA2
		 "PER\tP8\t2019-05-02\t%s\tVERDI\tELISA\tF\t1990-05-05\t036023\t100\t1\t\t\t\t1\t1990-05-06\t\t\t\tF1\t3\n"
		 "PER\tP9\t2019-05-02\t%s\tVERDI\tELISA\tF\t1990-05-05\t036023\t100\t1\t\t\t\t1\t1990-05-06\t\t\t\tF1\t3\n"
		 "END\t2\n", other, other);
	teardown(state);
	setup(state);
	expect_refused(*state, text2, 3, "codice fiscale duplicato nel file");
}

static void test_bad_check_char(void **state)
{
	char text[2048], bad[17];
	compute_cfs();
	memcpy(bad, cf_luca, 17);
	bad[15] = bad[15] == 'A' ? 'B' : 'A';
	snprintf(text, sizeof text, HDR_DELTA2
		 "PER\tP3\t2019-05-02\t%s\tROSSI\tLUCA\tM\t2012-07-30\t036023\t100\t1\t\t\t\t1\t2012-08-01\t\t\t\tF1\t3\n"
		 "END\t1\n", bad);
	expect_refused(*state, text, 2, "il carattere di controllo non corrisponde");
}

static void test_bad_cf_inconsistent(void **state)
{
	char text[2048];
	compute_cfs();
	snprintf(text, sizeof text, HDR_DELTA2
		 "PER\tP3\t2019-05-02\t%s\tROSSI\tLUCA\tM\t2012-07-31\t036023\t100\t1\t\t\t\t1\t2012-08-01\t\t\t\tF1\t3\n"
		 "END\t1\n", cf_luca);
	expect_refused(*state, text, 2, "non corrisponde alla data di nascita");
	teardown(state);
	setup(state);
	snprintf(text, sizeof text, HDR_DELTA2
		 "PER\tP3\t2019-05-02\t%s\tROSSI\tLUCA\tM\t2012-07-30\t036005\t100\t1\t\t\t\t1\t2012-08-01\t\t\t\tF1\t3\n"
		 "END\t1\n", cf_luca);
	expect_refused(*state, text, 2, "non corrisponde al luogo di nascita");
}

static void test_bad_utf8(void **state)
{
	char text[2048];
	compute_cfs();
	snprintf(text, sizeof text, HDR_DELTA2
		 "FAM\tF2\t1\t2019-05-02\tVIA\tEMILIA \xC3\x28\t1\t\t\t\t41121\t\t\n"
		 "END\t1\n");
	expect_refused(*state, text, 2, "UTF-8");
}

/* Every Unicode direction control (Trojan Source: text shown in another
 * order than stored), in every kind of free-text field: the line is
 * refused and the reason names the control. */
static void test_bad_bidi(void **state)
{
	static const char *const controls[] = {
		"\xE2\x80\xAA", "\xE2\x80\xAB", "\xE2\x80\xAC", "\xE2\x80\xAD", "\xE2\x80\xAE",
		"\xE2\x81\xA6", "\xE2\x81\xA7", "\xE2\x81\xA8", "\xE2\x81\xA9",
		"\xE2\x80\x8E", "\xE2\x80\x8F", "\xD8\x9C",
	};
	static const char *const names[] = {
		"U+202A", "U+202B", "U+202C", "U+202D", "U+202E", "U+2066", "U+2067", "U+2068",
		"U+2069", "U+200E", "U+200F", "U+061C",
	};
	char text[4096], other[17];
	bool first = true;
	for (size_t i = 0; i < sizeof controls / sizeof controls[0]; i++) {
		/* the street name */
		snprintf(text, sizeof text, HDR_DELTA2
			 "FAM\tF2\t1\t2019-05-02\tVIA\tEMILIA %sTSE\t1\t\t\t\t41121\t\t\n"
			 "END\t1\n", controls[i]);
		if (!first)
			teardown(state), setup(state);
		first = false;
		expect_refused(*state, text, 2, names[i]);
	}
	assert_true(cf_compute("VERDI", "ELISA", 'F', 1990, 5, 5, "F257", other));
	const char *u202e = "\xE2\x80\xAE";
	struct {
		char text[512];
	} fields[7];
	snprintf(fields[0].text, 512, "FAM\tF2\t1\t2019-05-02\tVIA\tX\t1\t\t\t\t41121\tLOC%s\t\n", u202e);
	snprintf(fields[1].text, 512, "FAM\tF2\t2\t2019-05-02\tVIA\tX\t1\t\t\t\t41121\t\tCASA %sA\n", u202e);
	snprintf(fields[2].text, 512, "FAM\tF2\t1\t2019-05-02\t%sVIA\tX\t1\t\t\t\t41121\t\t\n", u202e);
	snprintf(fields[3].text, 512, "FAM\tF2\t1\t2019-05-02\tVIA\tX\t1\t%sB\tA\t3\t41121\t\t\n", u202e);
	snprintf(fields[4].text, 512, "PER\tP8\t2019-05-02\t%s\tVERDI%s\tELISA\tF\t1990-05-05\t036023\t100\t1\t\t\t\t1\t1990-05-06\t\t\t\tF1\t4\n", other, u202e);
	snprintf(fields[5].text, 512, "PER\tP8\t2019-05-02\t%s\tVERDI\t%sELISA\tF\t1990-05-05\t036023\t100\t1\t\t\t\t1\t1990-05-06\t\t\t\tF1\t4\n", other, u202e);
	snprintf(fields[6].text, 512, "EVT\tE1\tDECESSO\t2026-11-23\tP1\t\t%s\n", u202e);
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		snprintf(text, sizeof text, HDR_DELTA2 "%sEND\t1\n", fields[i].text);
		teardown(state), setup(state);
		expect_refused(*state, text, 2, "controllo di direzione U+202E");
	}
	/* the header's free text (producer): the whole file is refused */
	teardown(state), setup(state);
	snprintf(text, sizeof text,
		 "HDR\tVISURA-ANAGRAFE\t1\t036023\t2026-11-23T23:00:00Z\t2\tDELTA\tgest%sionale\n"
		 "END\t0\n", u202e);
	expect_refused(*state, text, 1, "controllo di direzione U+202E");
}

static void test_bad_long_line(void **state)
{
	size_t n = IMPORT_MAX_LINE + 100;
	char *text = malloc(n + 200);
	strcpy(text, HDR_DELTA2 "FAM\tF2\t1\t2019-05-02\tVIA\t");
	size_t len = strlen(text);
	memset(text + len, 'A', n);
	strcpy(text + len + n, "\t1\t\t\t\t41121\t\t\nEND\t1\n");
	expect_refused(*state, text, 2, "più lunga di 4096 byte");
	free(text);
}

static void test_bad_missing_household(void **state)
{
	char text[2048];
	char other[17];
	assert_true(cf_compute("VERDI", "ELISA", 'F', 1990, 5, 5, "F257", other));
	snprintf(text, sizeof text, HDR_DELTA2
		 "PER\tP8\t2019-05-02\t%s\tVERDI\tELISA\tF\t1990-05-05\t036023\t100\t1\t\t\t\t1\t1990-05-06\t\t\t\tF404\t1\n"
		 "END\t1\n", other);
	expect_refused(*state, text, 2, "famiglia assente sia dal file sia dall'anagrafe");
}

static void test_bad_various_records(void **state)
{
	static const struct {
		const char *record;
		const char *needle;
		int line;
	} cases[] = {
		{"FAM\tF2\t3\t2019-05-02\tVIA\tX\t1\t\t\t\t41121\t\t\n", "tipo di famiglia", 0},
		{"FAM\tF2\t1\t2019-02-30\tVIA\tX\t1\t\t\t\t41121\t\t\n", "non è una data valida", 0},
		{"FAM\tF2\t1\t2019-05-02\tVIA\tX\t1\t\t\t\t4112\t\t\n", "CAP", 0},
		{"FAM\tF2\t1\t2019-05-02\tVIA\tX\t1\t\t\t\t41121\t\n", "invece di 13", 0},
		{"FAM\tF2\t2\t2019-05-02\tVIA\tX\t1\t\t\t\t41121\t\t\n", "convivenza", 0},
		{"FAM\tF 2\t1\t2019-05-02\tVIA\tX\t1\t\t\t\t41121\t\t\n", "identificativo della famiglia", 0},
		{"FAM\tF2\t1\t2030-05-02\tVIA\tX\t1\t\t\t\t41121\t\t\n", "successiva alla data di estrazione", 0},
		{"EVT\tE1\tNOZZE\t2026-11-23\tP1\t\t\n", "tipo di evento sconosciuto", 0},
		{"EVT\tE1\tEMIGRAZIONE\t2026-11-23\tP1\t\t\n", "luogo", 0},
		{"EVT\tE1\tEMIGRAZIONE\t2026-11-23\tP1\t999999\t\n", "codice ISTAT 999999 sconosciuto", 0},
		{"EVT\tE1\tDECESSO\t2026-11-23\tP77\t\t\n", "persona assente sia dal file sia dall'anagrafe", 0},
		{"EVT\tE1\tDECESSO\t2026-11-23\tP1\t\t\nEVT\tE1\tDECESSO\t2026-11-23\tP1\t\t\n", "identificativo di evento duplicato nel file", 3},
		{"XYZ\t1\n", "tipo di record sconosciuto", 0},
		{"EVT\tE1\tDECESSO\t2026-11-23\tP1\t\t\r\n", "CR", 0},
		{"\n", "tipo di record sconosciuto", 0},
		{"EVT\tE1\tDECESSO\t2026-11-23\tP1\t\t\nFAM\tF2\t1\t2019-05-02\tVIA\tX\t1\t\t\t\t41121\t\t\n", "i record FAM devono precedere i record EVT", 3},
		{"EVT\tE1\tDECESSO\t2026-11-23\tP1\t\t\nEND\t1\nEND\t1\n", "dati dopo il record END", 4},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[4096];
		snprintf(text, sizeof text, HDR_DELTA2 "%sEND\t1\n", cases[i].record);
		if (i)
			teardown(state), setup(state);
		expect_refused(*state, text, cases[i].line ? cases[i].line : 2, cases[i].needle);
	}
}

static void test_bad_person_rules(void **state)
{
	char other[17];
	assert_true(cf_compute("VERDI", "ELISA", 'F', 1990, 5, 5, "F257", other));
	/* Each row replaces one field of a valid person. */
	static const struct {
		int field;
		const char *value;
		const char *needle;
	} cases[] = {
		{7, "X", "sesso"},
		{9, "999999", "codice ISTAT 999999 sconosciuto"},
		{10, "", "cittadinanze"},
		{10, "100,100", "stato 100 ripetuto"},
		{10, "100,", "termina con ','"},
		{11, "5", "codice 5 sconosciuto"},
		{12, "2010-01-01", "deve essere vuoto con lo stato civile 1"},
		{15, "11", "codice 11 sconosciuto"},
		{16, "1980-01-01", "è anteriore alla data di nascita"},
		{17, "1", "vanno indicati insieme"},
		{20, "", "obbligatorio finché la persona è iscritta"},
		{21, "50", "codice 50 sconosciuto"},
		{5, "V3RDI", "può contenere solo lettere"},
		{13, "RSSMRA80A01F257", "codice fiscale"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *fields[21] = {"PER", "P8", "2019-05-02", other, "VERDI", "ELISA", "F",
					  "1990-05-05", "036023", "100", "1", "", "", "", "1",
					  "1990-05-06", "", "", "", "F1", "3"};
		fields[cases[i].field - 1] = cases[i].value;
		char text[4096];
		size_t n = snprintf(text, sizeof text, HDR_DELTA2);
		for (int k = 0; k < 21; k++)
			n += snprintf(text + n, sizeof text - n, "%s%s", fields[k], k < 20 ? "\t" : "\n");
		snprintf(text + n, sizeof text - n, "END\t1\n");
		if (i)
			teardown(state), setup(state);
		expect_refused(*state, text, 2, cases[i].needle);
	}
}

/* Imports `text` as the file named `name`, writing the reject report;
 * returns the result code and the report's text in `report` (cap bytes). */
static vis_err import_named(struct fixture *f, const char *text, const char *name,
			    char *report, size_t cap)
{
	unlink(f->report);
	FILE *in = fmemopen((void *)text, strlen(text), "rb");
	assert_non_null(in);
	struct import_options opt = {.source = name, .rejects_path = f->report};
	struct import_result res;
	struct vis_error e = {0};
	vis_err rc = import_stream(f->s, f->rd, in, &opt, &res, &e);
	fclose(in);
	report[0] = '\0';
	FILE *rf = fopen(f->report, "r");
	if (rf) {
		size_t n = fread(report, 1, cap - 1, rf);
		report[n] = '\0';
		fclose(rf);
	}
	if (rc == VIS_OK)
		assert_true(res.applied);
	else if (rc != VIS_ERR_INVALID || !res.problems)
		fail_msg("%s: error %d: %s", name, rc, e.msg);
	return rc;
}

#define HDR_CARPI_FULL "HDR\tVISURA-ANAGRAFE\t1\t036005\t2026-11-22T23:00:00Z\t1\tFULL\ttest\n"
#define HDR_CARPI_DELTA2 "HDR\tVISURA-ANAGRAFE\t1\t036005\t2026-11-23T23:00:00Z\t2\tDELTA\ttest\n"
#define FAM_CARPI "FAM\tC1\t1\t2019-05-02\tVIA\tROMA\t1\t\t\t\t41012\t\t\n"

/* One codice fiscale is registered in one municipality at a time: a file of
 * 036005 registering a person still registered in 036023 is refused, by a
 * reject line naming 036023, whether it is the first FULL or a DELTA; once
 * 036023 has cancelled the person (emigration to 036005) it is accepted. */
static void test_cf_registered_in_another_municipality(void **state)
{
	struct fixture *f = *state;
	load_full1(f);
	char verdi[17], text[2048], report[4096];
	assert_true(cf_compute("VERDI", "ELISA", 'F', 1990, 5, 5, "F257", verdi));
	/* the first file of 036005, a FULL */
	char per[512];
	snprintf(per, sizeof per,
		 "PER\tR1\t2026-11-22\t%s\tROSSI\tMARIO\tM\t1980-01-01\t036023\t100\t2\t2010-06-12"
		 "\t\t\t3\t2026-11-22\t\t\t\tC1\t2\n", cf_rossi);
	snprintf(text, sizeof text,
		 HDR_CARPI_FULL FAM_CARPI
		 "PER\tV1\t2019-05-02\t%s\tVERDI\tELISA\tF\t1990-05-05\t036023\t100\t1\t\t\t\t1"
		 "\t1990-05-06\t\t\t\tC1\t1\n%sEND\t3\n", verdi, per);
	uint64_t before = testdb_fingerprint(&f->db);
	assert_int_equal(import_named(f, text, "036005-000001-FULL.tsv", report, sizeof report),
			 VIS_ERR_INVALID);
	if (!strstr(report, "\n4\tPER\tcodice fiscale\t") || !strstr(report, "036023"))
		fail_msg("the reject line names the other municipality:\n%s", report);
	assert_int_equal(testdb_fingerprint(&f->db), before);
	/* without Rossi the FULL loads; a DELTA adding him is refused */
	snprintf(text, sizeof text,
		 HDR_CARPI_FULL FAM_CARPI
		 "PER\tV1\t2019-05-02\t%s\tVERDI\tELISA\tF\t1990-05-05\t036023\t100\t1\t\t\t\t1"
		 "\t1990-05-06\t\t\t\tC1\t1\nEND\t2\n", verdi);
	assert_int_equal(import_named(f, text, "036005-000001-FULL.tsv", report, sizeof report),
			 VIS_OK);
	char delta[1024];
	snprintf(delta, sizeof delta, HDR_CARPI_DELTA2 "%sEND\t1\n", per);
	before = testdb_fingerprint(&f->db);
	assert_int_equal(import_named(f, delta, "036005-000002-DELTA.tsv", report, sizeof report),
			 VIS_ERR_INVALID);
	if (!strstr(report, "\n2\tPER\tcodice fiscale\t") || !strstr(report, "codice fiscale iscritto nel comune 036023 (MODENA): occorre prima la "
						 "cancellazione in quel comune (emigrazione)"))
		fail_msg("the reject line names the other municipality:\n%s", report);
	assert_int_equal(testdb_fingerprint(&f->db), before);
	/* a cancelled record of the person is no second registration */
	char cancelled[2048];
	snprintf(cancelled, sizeof cancelled, HDR_CARPI_DELTA2
		 "PER\tR1\t2000-01-01\t%s\tROSSI\tMARIO\tM\t1980-01-01\t036023\t100\t1\t\t\t\t3"
		 "\t1999-01-01\t3\t2000-01-01\t036023\tC1\t2\nEND\t1\n", cf_rossi);
	assert_int_equal(import_named(f, cancelled, "036005-000002-DELTA.tsv", report,
				      sizeof report), VIS_OK);
	/* 036023 cancels him (emigration to 036005): 036005 registers him */
	snprintf(text, sizeof text, HDR_DELTA2
		 "PER\tP1\t2026-11-23\t%s\tROSSI\tMARIO\tM\t1980-01-01\t036023\t100\t2\t2010-06-12"
		 "\t\t\t1\t1980-01-05\t3\t2026-11-23\t036005\tF1\t1\nEND\t1\n", cf_rossi);
	if (import_named(f, text, "036023-000002-DELTA.tsv", report, sizeof report))
		fail_msg("the emigration refused:\n%s", report);
	snprintf(delta, sizeof delta,
		 "HDR\tVISURA-ANAGRAFE\t1\t036005\t2026-11-24T23:00:00Z\t3\tDELTA\ttest\n%sEND\t1\n",
		 per);
	if (import_named(f, delta, "036005-000003-DELTA.tsv", report, sizeof report))
		fail_msg("the registration after the emigration refused:\n%s", report);
}

/* More records than the reader hands the writer at once (the ring holds
 * 2048): problems far apart are reported at their own lines, in line order,
 * and the good file loads whole on an empty register (the bulk path). */
#define MANY 6000

/* Appends the line of person `id`, born on the j-th day from 1940-01-01 of
 * a 300-day calendar (so that j gives the codice fiscale), of household
 * fam; registered, or cancelled (emigrated to 036023) on 2000-01-01. */
static size_t person_line(char *buf, size_t cap, int id, int j, const char *fam, bool cancelled)
{
	int y = 1940 + j / 300, m = 1 + (j / 25) % 12, d = 1 + j % 25;
	char cf[17];
	assert_true(cf_compute("ROSSI", "MARIO", 'M', y, m, d, "F257", cf));
	return (size_t)snprintf(buf, cap,
				"PER\tP%d\t%s\t%s\tROSSI\tMARIO\tM\t%04d-%02d-%02d\t036023"
				"\t100\t1\t\t\t\t1\t%04d-%02d-%02d\t%s\t%s\t%s\t%s\t1\n",
				id, cancelled ? "2000-01-01" : "2019-05-02", cf, y, m, d, y, m, d + 3,
				cancelled ? "3" : "", cancelled ? "2000-01-01" : "",
				cancelled ? "036023" : "", fam);
}

static char *many_file(int dup_id, int dup_cf, int no_household)
{
	size_t cap = (size_t)MANY * 160 + 1024, n = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	n += (size_t)snprintf(buf + n, cap - n, "%s%s", HDR_FULL1, FAM1);
	for (int k = 0; k < MANY; k++) /* dup_cf: born the same day as person 0 */
		n += person_line(buf + n, cap - n, k == dup_id ? 1 : k + 1, k == dup_cf ? 0 : k,
				 k == no_household ? "F9" : "F1", false);
	snprintf(buf + n, cap - n, "END\t%d\n", MANY + 1);
	return buf;
}

static void test_many_records_in_line_order(void **state)
{
	struct fixture *f = *state;
	/* person k is on line k + 3 */
	char *bad = many_file(2500, 4100, 5900);
	uint64_t before = testdb_fingerprint(&f->db);
	FILE *in = fmemopen(bad, strlen(bad), "rb");
	struct import_options opt = {.source = "test", .rejects_path = f->report};
	struct import_result res;
	struct vis_error e = {0};
	assert_int_equal(import_stream(f->s, f->rd, in, &opt, &res, &e), VIS_ERR_INVALID);
	fclose(in);
	free(bad);
	char content[2048];
	FILE *rf = fopen(f->report, "r");
	assert_non_null(rf);
	size_t len = fread(content, 1, sizeof content - 1, rf);
	content[len] = '\0';
	fclose(rf);
	if (res.problems != 3)
		fail_msg("3 problems expected:\n%s", content);
	assert_int_equal(res.lines, MANY + 3);
	assert_int_equal(testdb_fingerprint(&f->db), before);
	assert_string_equal(content,
			    "riga\trecord\tcampo\tmotivo\n"
			    "2503\tPER\tidentificativo della persona\tidentificativo di persona duplicato nel file\n"
			    "4103\tPER\tcodice fiscale\tcodice fiscale duplicato nel file\n"
			    "5903\tPER\tidentificativo della famiglia\tfamiglia assente dal file\n");
	char *good = many_file(-1, -1, -1);
	in = fmemopen(good, strlen(good), "rb");
	opt.rejects_path = NULL;
	assert_int_equal(import_stream(f->s, f->rd, in, &opt, &res, &e), VIS_OK);
	fclose(in);
	free(good);
	assert_true(res.applied);
	assert_int_equal(res.counts.persons, MANY);
	assert_int_equal(res.counts.inserted, MANY + 1);
	struct store_counts c;
	assert_int_equal(store_counts_get(f->s, "036023", 0, &c, &e), VIS_OK);
	assert_int_equal(c.persons, MANY);
}

/* import_options' stopping (the server's stop): asked every
 * IMPORT_STOP_EVERY records and once more before the last step; true at
 * any of them stops the import, VIS_ERR_BUSY and res.stopped, nothing
 * written (the bulk load of an empty register and an import beside one
 * loaded); never true, the same file loads whole. */
struct stop_at {
	int asked, at; /* true from the at-th question on (0: never) */
};

static bool stop_when(void *ctx)
{
	struct stop_at *w = ctx;
	return ++w->asked >= w->at && w->at > 0;
}

static void test_stop_asked(void **state)
{
	struct fixture *f = *state;
	char *good = many_file(-1, -1, -1);
	/* the same snapshot as the next sequence, after full1 */
	char *seq = strstr(good, "\t1\tFULL\t");
	assert_non_null(seq);
	char *good2 = strdup(good);
	assert_non_null(good2);
	good2[seq - good + 1] = '2';
	struct vis_error e = {0};
	struct import_result res;
	/* the questions of the whole file: one per IMPORT_STOP_EVERY items,
	 * then the last step's */
	const int questions = (MANY + 3) / IMPORT_STOP_EVERY + 1;
	assert_true(questions >= 2);
	for (int round = 0; round < 2; round++) {
		if (round == 1)
			load_full1(f); /* beside a register already loaded: not a bulk load */
		const char *text = round ? good2 : good;
		uint64_t before = testdb_fingerprint(&f->db);
		for (int at = 1; at <= questions; at++) {
			struct stop_at w = {0, at};
			struct import_options opt = {.source = "test", .stop = {stop_when, &w}};
			FILE *in = fmemopen((void *)text, strlen(text), "rb");
			assert_int_equal(import_stream(f->s, f->rd, in, &opt, &res, &e), VIS_ERR_BUSY);
			fclose(in);
			assert_true(res.stopped);
			assert_false(res.applied);
			assert_int_equal(w.asked, at);
			assert_non_null(strstr(e.msg, "interrotta"));
			assert_int_equal(testdb_fingerprint(&f->db), before);
		}
	}
	/* a bulk load's index build (SQLite) asks too, now and then: its
	 * first question stops it; PostgreSQL's COPY end does not ask */
	if (!use_pg) {
		testdb_close(&f->db, f->s);
		assert_int_equal(testdb_open(&f->db, use_pg, "import", &f->s), 0);
		uint64_t before = testdb_fingerprint(&f->db);
		struct stop_at w = {0, questions + 1};
		struct import_options opt = {.source = "test", .stop = {stop_when, &w}};
		FILE *in = fmemopen(good, strlen(good), "rb");
		assert_int_equal(import_stream(f->s, f->rd, in, &opt, &res, &e), VIS_ERR_BUSY);
		fclose(in);
		assert_true(res.stopped);
		assert_true(w.asked >= questions + 1);
		assert_int_equal(testdb_fingerprint(&f->db), before);
		load_full1(f);
	}
	struct stop_at never = {0, 0};
	struct import_options opt = {.source = "test", .stop = {stop_when, &never}};
	FILE *in = fmemopen(good2, strlen(good2), "rb");
	assert_int_equal(import_stream(f->s, f->rd, in, &opt, &res, &e), VIS_OK);
	fclose(in);
	free(good);
	free(good2);
	assert_true(res.applied);
	assert_false(res.stopped);
	assert_int_equal(never.asked, questions);
	struct store_counts c;
	assert_int_equal(store_counts_get(f->s, "036023", 0, &c, &e), VIS_OK);
	assert_int_equal(c.persons, MANY);
}

/* Carpi's first snapshot of CARPI_N persons: person k (line k + 3) takes
 * the codice fiscale of Modena's person k (many_file) when k is among
 * taken[] or is `cancelled` (then cancelled here), its own otherwise;
 * person no_household names a household not in the file. */
#define CARPI_N (2 * STORE_CF_BATCH + 5)
static char *carpi_file(const int *taken, size_t ntaken, int cancelled, int no_household)
{
	size_t cap = (size_t)CARPI_N * 160 + 1024, n = 0;
	char *carpi = malloc(cap);
	assert_non_null(carpi);
	n += (size_t)snprintf(carpi, cap, "%s%s", HDR_CARPI_FULL, FAM_CARPI);
	for (int k = 0; k < CARPI_N; k++) {
		bool of_modena = k == cancelled;
		for (size_t t = 0; t < ntaken; t++)
			of_modena |= k == taken[t];
		n += person_line(carpi + n, cap - n, k + 1, of_modena ? k : MANY + k,
				 k == no_household ? "C9" : "C1", k == cancelled);
	}
	snprintf(carpi + n, cap - n, "END\t%d\n", CARPI_N + 1);
	return carpi;
}

/* The codici fiscali of a first snapshot loaded beside another
 * municipality are looked up in batches of STORE_CF_BATCH (import.c):
 * a person registered in 036023 is refused wherever it falls in a batch
 * (the first, the last, the first of the next, the last of the file), a
 * cancelled one is not, and a household missing from the file, which ends
 * a batch early, keeps the lines in order (SQLite looks them up one at a
 * time: the same answers).  The store's look-up answers
 * codici fiscali repeated in one call, each.  On PostgreSQL the good file
 * loads in far fewer round trips than persons (one look-up a batch). */
static void test_cf_elsewhere_in_batches(void **state)
{
	struct fixture *f = *state;
	char *modena = many_file(-1, -1, -1);
	struct import_result res;
	assert_int_equal(run_import(f, modena, &res), VIS_OK);
	free(modena);
	enum { B = STORE_CF_BATCH, N = CARPI_N };
	const int taken[] = {0, B - 1, B, B + 7, N - 1}, no_household = B + 3;
	char *carpi = carpi_file(taken, sizeof taken / sizeof *taken, 11, no_household);
	char report[4096], expect[4096];
	uint64_t before = testdb_fingerprint(&f->db);
	assert_int_equal(import_named(f, carpi, "036005-000001-FULL.tsv", report, sizeof report),
			 VIS_ERR_INVALID);
	free(carpi);
	size_t e = (size_t)snprintf(expect, sizeof expect, "riga\trecord\tcampo\tmotivo\n");
	for (size_t t = 0; t < sizeof taken / sizeof *taken; t++) {
		if (taken[t] > no_household && taken[t - 1] < no_household)
			e += (size_t)snprintf(expect + e, sizeof expect - e,
					      "%d\tPER\tidentificativo della famiglia\tfamiglia assente dal file\n",
					      no_household + 3);
		e += (size_t)snprintf(expect + e, sizeof expect - e,
				      "%d\tPER\tcodice fiscale\tcodice fiscale iscritto nel comune "
				      "036023 (MODENA): occorre prima la cancellazione in quel "
				      "comune (emigrazione)\n", taken[t] + 3);
	}
	assert_string_equal(report, expect);
	assert_int_equal(testdb_fingerprint(&f->db), before);

	/* the look-up itself: repeats, and one registered nowhere */
	char cfs[3][17], other[5][7];
	const int j[3] = {B - 1, MANY + 1, 0};
	for (int i = 0; i < 3; i++) {
		int y = 1940 + j[i] / 300, m = 1 + (j[i] / 25) % 12, d = 1 + j[i] % 25;
		assert_true(cf_compute("ROSSI", "MARIO", 'M', y, m, d, "F257", cfs[i]));
	}
	const char *list[5] = {cfs[0], cfs[1], cfs[0], cfs[2], cfs[0]};
	struct vis_error err = {0};
	assert_int_equal(store_person_cf_elsewhere(f->s, "036005", 5, list, other, &err), VIS_OK);
	const char *want[5] = {"036023", "", "036023", "036023", "036023"};
	for (int i = 0; i < 5; i++)
		assert_string_equal(other[i], want[i]);
	assert_int_equal(store_person_cf_elsewhere(f->s, "036023", 5, list, other, &err), VIS_OK);
	for (int i = 0; i < 5; i++)
		assert_string_equal(other[i], "");

	carpi = carpi_file(NULL, 0, 11, -1);
	struct store_io a, b;
	store_io_get(f->s, &a);
	assert_int_equal(import_named(f, carpi, "036005-000001-FULL.tsv", report, sizeof report),
			 VIS_OK);
	store_io_get(f->s, &b);
	free(carpi);
	fprintf(stderr, "%d persons beside another municipality: %llu round trips\n", N,
		(unsigned long long)(b.round_trips - a.round_trips));
	if (use_pg)
		assert_true(b.round_trips - a.round_trips < N / 10);
}

/* A file of EVENTS_N events of full1's persons, after `head` (a header,
 * and full1's records when `with_persons`): event k (E<k+1>, person
 * P<1 + k % 3>, on line k + first) changes address on 2019-05-02, or on
 * 2019-05-03 when k is `changed` (the same id, another event); event
 * `unknown` names a person in neither the file nor the register. */
#define EVENTS_N (2 * STORE_EVENT_BATCH + 5)
static char *events_file(const char *head, bool with_persons, int changed, int unknown)
{
	size_t cap = (size_t)EVENTS_N * 64 + 2048, n = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	int records = EVENTS_N;
	if (with_persons) {
		const char *f1 = full1();   /* its header, FAM1, the 3 PER, END */
		const char *rows = strchr(f1, '\n') + 1, *end = strstr(f1, "END\t");
		n += (size_t)snprintf(buf, cap, "%s%.*s", head, (int)(end - rows), rows);
		records += 4;
	} else {
		n += (size_t)snprintf(buf, cap, "%s", head);
	}
	for (int k = 0; k < EVENTS_N; k++)
		n += (size_t)snprintf(buf + n, cap - n, "EVT\tE%d\tCAMBIO_INDIRIZZO\t2019-05-0%d\tP%d\t\t\n",
				      k + 1, k == changed ? 3 : 2, k == unknown ? 9 : 1 + k % 3);
	snprintf(buf + n, cap - n, "END\t%d\n", records);
	return buf;
}

/* The events of a file that is not a bulk load are looked up in batches
 * of STORE_EVENT_BATCH on PostgreSQL (import.c), one at a time on SQLite:
 * an event id stored with other content is refused at its line wherever
 * it falls (first and last of a batch, first of the next, last of the
 * file); an event of a person in neither the file nor the register, after
 * a changed one in the same batch, is refused too, in line order; the same
 * events again (their persons in the register only, each looked up) are
 * unchanged.  A first snapshot's events look nothing up.  On PostgreSQL
 * both the snapshot and the delta take far fewer round trips than
 * events. */
static void test_events_in_batches(void **state)
{
	struct fixture *f = *state;
	enum { B = STORE_EVENT_BATCH, N = EVENTS_N };
	char *text = events_file(HDR_FULL1, true, -1, -1);
	struct store_io a, b;
	struct import_result res;
	store_io_get(f->s, &a);
	assert_int_equal(run_import(f, text, &res), VIS_OK);
	store_io_get(f->s, &b);
	free(text);
	assert_true(res.applied);
	assert_int_equal(res.counts.inserted, 4 + N);
	assert_int_equal(res.counts.events, N);
	fprintf(stderr, "first snapshot of %d events: %llu round trips\n", N,
		(unsigned long long)(b.round_trips - a.round_trips));
	if (use_pg)
		assert_true(b.round_trips - a.round_trips < N / 10);
	struct store_counts c;
	struct vis_error e = {0};
	assert_int_equal(store_counts_get(f->s, "036023", 0, &c, &e), VIS_OK);
	assert_int_equal(c.events, N);

	/* one event changed, wherever in a batch: refused, nothing written */
	const int changed[] = {0, B - 1, B, N - 1};
	char report[1024], expect[1024];
	uint64_t before = testdb_fingerprint(&f->db);
	for (size_t i = 0; i < sizeof changed / sizeof *changed; i++) {
		text = events_file(HDR_DELTA2, false, changed[i], -1);
		assert_int_equal(import_named(f, text, "test", report, sizeof report),
				 VIS_ERR_INVALID);
		free(text);
		snprintf(expect, sizeof expect, "riga\trecord\tcampo\tmotivo\n"
			 "%d\tEVT\t\tidentificativo di evento già usato per un altro evento\n",
			 changed[i] + 2);
		assert_string_equal(report, expect);
		assert_int_equal(testdb_fingerprint(&f->db), before);
	}
	/* a changed event, then in the same batch one of an unknown person
	 * (reported though the file is already refused, as before) */
	text = events_file(HDR_DELTA2, false, B + 5, B + 9);
	assert_int_equal(import_named(f, text, "test", report, sizeof report), VIS_ERR_INVALID);
	free(text);
	snprintf(expect, sizeof expect, "riga\trecord\tcampo\tmotivo\n"
		 "%d\tEVT\t\tidentificativo di evento già usato per un altro evento\n"
		 "%d\tEVT\tidentificativo della persona\tpersona assente sia dal file sia dall'anagrafe\n",
		 B + 5 + 2, B + 9 + 2);
	assert_string_equal(report, expect);
	assert_int_equal(testdb_fingerprint(&f->db), before);

	/* the same events again: unchanged */
	text = events_file(HDR_DELTA2, false, -1, -1);
	store_io_get(f->s, &a);
	assert_int_equal(run_import(f, text, &res), VIS_OK);
	store_io_get(f->s, &b);
	free(text);
	assert_true(res.applied);
	assert_int_equal(res.counts.unchanged, N);
	assert_int_equal(res.counts.inserted, 0);
	assert_int_equal(res.counts.events, N);
	fprintf(stderr, "delta of %d events, unchanged: %llu round trips\n", N,
		(unsigned long long)(b.round_trips - a.round_trips));
	if (use_pg)
		assert_true(b.round_trips - a.round_trips < N / 10);
	assert_int_equal(store_counts_get(f->s, "036023", 0, &c, &e), VIS_OK);
	assert_int_equal(c.events, N);
}

/* A FULL snapshot of REPEAT_N persons (person k, P<k+1>, line
 * REPEAT_H + k + 2, born on day j of person_line's calendar, so j gives
 * its codice fiscale) in REPEAT_H households (person k in F<1 + k/2>,
 * household h at civic h), sequence seq.  Changes on the first
 * (j_of[k] >= 0: born on day j_of[k]; fam_of[k] > 0: in F<fam_of[k]>;
 * skip_person / skip_family: not listed; moved_civic: that household at
 * civic 999; extra: a new person at the end). */
#define REPEAT_N (2 * STORE_CF_BATCH + 5)
#define REPEAT_H (1 + (REPEAT_N - 1) / 2)
struct repeat {
	int seq;
	int j_of[REPEAT_N], fam_of[REPEAT_N];
	int skip_person, skip_family, moved_civic;
	bool extra;
};

static void repeat_init(struct repeat *rp, int seq)
{
	memset(rp, 0, sizeof *rp);
	rp->seq = seq;
	rp->skip_person = rp->skip_family = rp->moved_civic = -1;
	for (int k = 0; k < REPEAT_N; k++)
		rp->j_of[k] = -1;
}

static char *repeat_file(const struct repeat *rp)
{
	size_t cap = (size_t)(REPEAT_N + REPEAT_H + 2) * 170 + 1024, n = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	int records = 0;
	n += (size_t)snprintf(buf, cap, "HDR\tVISURA-ANAGRAFE\t1\t036023\t2026-11-%02dT23:00:00Z\t%d"
			      "\tFULL\ttest\n", 21 + rp->seq, rp->seq);
	for (int h = 1; h <= REPEAT_H; h++, records++) {
		if (h == rp->skip_family) {
			records--;
			continue;
		}
		n += (size_t)snprintf(buf + n, cap - n, "FAM\tF%d\t1\t2019-05-02\tVIA\tEMILIA EST"
				      "\t%d\t\t\t\t41121\t\t\n", h, h == rp->moved_civic ? 999 : h);
	}
	for (int k = 0; k < REPEAT_N + rp->extra; k++) {
		if (k == rp->skip_person)
			continue;
		char fam[16];
		int j = k, h = 1 + k / 2;
		if (k < REPEAT_N) {
			j = rp->j_of[k] >= 0 ? rp->j_of[k] : k;
			h = rp->fam_of[k] > 0 ? rp->fam_of[k] : h;
		} else {
			j = MANY + k;
			h = 1;
		}
		snprintf(fam, sizeof fam, "F%d", h);
		n += person_line(buf + n, cap - n, k + 1, j, fam, false);
		records++;
	}
	snprintf(buf + n, cap - n, "END\t%d\n", records);
	return buf;
}

/* The line of person k in a repeat_file without skipped households. */
static int repeat_line(int k)
{
	return REPEAT_H + k + 2;
}

/* Person `taker` takes the codice fiscale of person `giver`, who takes a
 * new one. */
static void cf_moves(struct repeat *rp, int giver, int taker)
{
	rp->j_of[taker] = giver;
	rp->j_of[giver] = MANY + giver;
}

/* A FULL snapshot of a municipality already loaded holds its households
 * and persons on PostgreSQL and looks up their current versions and the
 * owners of their codici fiscali a batch at a time (import.c:
 * families_flush, held_flush_current); SQLite takes each record at once.
 * The same file must give the same answers either way:
 * - a codice fiscale given up by a person and taken by a later one of the
 *   file, in one batch (first of a batch to last, the middle) and across
 *   two, is accepted; persons moved to another household, a household
 *   changed, one not listed, a person not listed and a new one: the same
 *   counts, and the versions found afterwards;
 * - taken before it is given up (in one batch, and across two) is
 *   refused; and once the file has a problem nothing is written, so a
 *   codice fiscale given up later in the file stays with its holder: the
 *   taker is refused too (in one batch, and across two), the report
 *   listing each at its line, in order, the register unchanged;
 * - the same file again, every record unchanged; on PostgreSQL in fewer
 *   round trips than a tenth of the persons. */
static void test_full_repeat_in_batches(void **state)
{
	struct fixture *f = *state;
	enum { B = STORE_CF_BATCH, N = REPEAT_N, H = REPEAT_H };
	struct repeat rp;
	struct import_result res;
	repeat_init(&rp, 1);
	char *text = repeat_file(&rp);
	assert_int_equal(run_import(f, text, &res), VIS_OK);
	free(text);
	assert_int_equal(res.counts.inserted, N + H);

	/* refused: taken before given up, and given up after a problem */
	repeat_init(&rp, 2);
	cf_moves(&rp, 300, 7);           /* the taker first, one batch */
	cf_moves(&rp, B, B - 1);         /* the taker first, across two */
	cf_moves(&rp, 400, 500);         /* after a problem, one batch */
	cf_moves(&rp, B - 3, B + 20);    /* after a problem, across two */
	text = repeat_file(&rp);
	char report[4096], expect[4096];
	uint64_t before = testdb_fingerprint(&f->db);
	assert_int_equal(import_named(f, text, "test", report, sizeof report), VIS_ERR_INVALID);
	free(text);
	size_t e = (size_t)snprintf(expect, sizeof expect, "riga\trecord\tcampo\tmotivo\n");
	const int refused[] = {7, 500, B - 1, B + 20};
	for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
		e += (size_t)snprintf(expect + e, sizeof expect - e,
				      "%d\tPER\tcodice fiscale\tcodice fiscale già attribuito a "
				      "un'altra persona del comune\n", repeat_line(refused[i]));
	assert_string_equal(report, expect);
	assert_int_equal(testdb_fingerprint(&f->db), before);

	/* accepted: given up, then taken; moves; not listed; new */
	repeat_init(&rp, 2);
	cf_moves(&rp, 5, 900);           /* one batch */
	cf_moves(&rp, B - 1, B);         /* the last of a batch, the first of the next */
	cf_moves(&rp, B + 1, 2 * B - 1); /* the first of a batch (after one), the last */
	cf_moves(&rp, 2 * B, N - 1);     /* the last batch */
	rp.fam_of[10] = rp.fam_of[11] = 7;   /* F6 to F7 */
	rp.fam_of[2] = rp.fam_of[3] = 1;     /* F2 to F1, then F2 not listed */
	rp.skip_family = 2;
	rp.skip_person = N - 3;
	rp.moved_civic = 8;
	rp.extra = true;
	text = repeat_file(&rp);
	assert_int_equal(import_named(f, text, "test", report, sizeof report), VIS_OK);
	free(text);
	struct store_import_counts c;
	struct vis_error err = {0};
	assert_int_equal(store_import_last_counts(f->s, "036023", &c, &err), VIS_OK);
	const int persons_changed = 8 + 4, families_changed = 1;
	assert_int_equal(c.inserted, 1);
	assert_int_equal(c.updated, persons_changed + families_changed);
	assert_int_equal(c.unchanged, (N - 1 - persons_changed) + (H - 1 - families_changed));
	assert_int_equal(c.closed, 2);
	/* the codici fiscali have their new holders, the givers their new ones */
	const int taken[][2] = {{5, 900}, {B - 1, B}, {B + 1, 2 * B - 1}, {2 * B, N - 1}};
	for (size_t i = 0; i < 2 * sizeof taken / sizeof *taken; i++) {
		int giver = taken[i / 2][0], j = i % 2 ? MANY + giver : giver;
		int y = 1940 + j / 300, m = 1 + (j / 25) % 12, d = 1 + j % 25;
		char cf[17], id[16];
		assert_true(cf_compute("ROSSI", "MARIO", 'M', y, m, d, "F257", cf));
		struct store_person p;
		bool found;
		assert_int_equal(store_person_by_cf(f->s, "036023", cf, 0, &p, &found, &err), VIS_OK);
		assert_true(found);
		snprintf(id, sizeof id, "P%d", (i % 2 ? giver : taken[i / 2][1]) + 1);
		assert_string_equal(p.id, id);
	}
	/* person 10 (P11) moved to F7 */
	char cf10[17];
	assert_true(cf_compute("ROSSI", "MARIO", 'M', 1940, 1, 11, "F257", cf10));
	struct store_person p;
	bool found;
	assert_int_equal(store_person_by_cf(f->s, "036023", cf10, 0, &p, &found, &err), VIS_OK);
	assert_true(found);
	assert_string_equal(p.id, "P11");
	assert_string_equal(p.family_id, "F7");
	struct store_family fam;
	assert_int_equal(store_family_get(f->s, "036023", "F8", 0, &fam, &found, &err), VIS_OK);
	assert_true(found);
	assert_int_equal(fam.civic, 999);
	struct store_counts sc;
	assert_int_equal(store_counts_get(f->s, "036023", 0, &sc, &err), VIS_OK);
	assert_int_equal(sc.persons, N);
	assert_int_equal(sc.families, H - 2);   /* F2 closed, F6 left without members */

	/* the same again: unchanged */
	rp.seq = 3;
	text = repeat_file(&rp);
	struct store_io a, b;
	store_io_get(f->s, &a);
	assert_int_equal(run_import(f, text, &res), VIS_OK);
	store_io_get(f->s, &b);
	free(text);
	assert_int_equal(res.counts.unchanged, N + H - 1);
	assert_int_equal(res.counts.updated + res.counts.inserted + res.counts.closed, 0);
	fprintf(stderr, "repeat FULL of %d persons, %d households: %llu round trips\n", N, H - 1,
		(unsigned long long)(b.round_trips - a.round_trips));
	if (use_pg)
		assert_true(b.round_trips - a.round_trips < N / 10);
}

/* A file named after the convention says in its header what its name says:
 * municipality, sequence, kind. */
static void test_name_and_header_agree(void **state)
{
	struct fixture *f = *state;
	load_full1(f);
	static const char *const bad[][2] = {
		{"036005-000002-DELTA.tsv", "indica il comune 036005, l'intestazione il comune 036023"},
		{"036023-000003-DELTA.tsv", "indica la sequenza 3, l'intestazione la sequenza 2"},
		{"036023-000002-FULL.tsv", "indica un file FULL, l'intestazione un file DELTA"},
	};
	const char *text = HDR_DELTA2 "END\t0\n";
	char report[4096];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t before = testdb_fingerprint(&f->db);
		assert_int_equal(import_named(f, text, bad[i][0], report, sizeof report),
				 VIS_ERR_INVALID);
		if (!strstr(report, "\n1\tHDR\t") || !strstr(report, bad[i][1]))
			fail_msg("%s: report lacks '%s':\n%s", bad[i][0], bad[i][1], report);
		assert_int_equal(testdb_fingerprint(&f->db), before);
	}
	/* a name outside the convention says nothing to check */
	assert_int_equal(import_named(f, text, "export.tsv", report, sizeof report), VIS_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_then_reimport, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_takes_statistics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delta_keeps_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delta_round_trips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_closes_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_end_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_sequence_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_older, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_same_seq_other_content, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_first_delta, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_duplicate_cf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_check_char, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_cf_inconsistent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_utf8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_bidi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_long_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_missing_household, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_various_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_person_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cf_registered_in_another_municipality, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_name_and_header_agree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_records_in_line_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_asked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cf_elsewhere_in_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_in_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_repeat_in_batches, setup, teardown),
	};
	return TESTDB_RUN("import", tests, group_setup, group_teardown, &use_pg);
}
