/* Unit tests: the synthetic population writer (visura gen). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cf/cf.h"
#include "common/csv.h"
#include "common/date.h"
#include "gen/gen.h"
#include "refdata/refdata.h"

#define MAX_FILE (512u << 20)
#define MAX_FILES 4096

static struct refdata *rd;

static int setup(void **state)
{
	(void)state;
	struct vis_error e = {0};
	if (refdata_load(refdata_default_dir(), &rd, &e) != VIS_OK) {
		print_error("%s\n", e.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	refdata_free(rd);
	return 0;
}

/* ------------------------------------------------------------- helpers */

static void make_tmpdir(char *buf, size_t cap)
{
	snprintf(buf, cap, "/tmp/visura-test-gen-XXXXXX");
	assert_non_null(mkdtemp(buf));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the files of dir; returns the count. */
static size_t list_dir(const char *dir, char **names, size_t cap)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		assert_true(n < cap);
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_str);
	return n;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
}

static void remove_dir(const char *dir)
{
	char **names = calloc(MAX_FILES, sizeof *names);
	size_t n = list_dir(dir, names, MAX_FILES);
	for (size_t i = 0; i < n; i++) {
		char path[4200];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
	free_names(names, n);
	free(names);
	rmdir(dir);
}

static char *read_file(const char *dir, const char *name, size_t *len)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	char *buf = file_read_all(path, MAX_FILE, len);
	assert_non_null(buf);
	return buf;
}

static void run_gen(const char *dir, const char *const *comuni, size_t nc, uint64_t persons,
		    int days, uint64_t seed, struct gen_stats *st)
{
	struct gen_options o = {0};
	o.out_dir = dir;
	o.comuni = comuni;
	o.ncomuni = nc;
	o.persons = persons;
	o.days = days;
	o.seed = seed;
	struct vis_error e = {0};
	vis_err rc = gen_run(rd, &o, st, &e);
	if (rc != VIS_OK)
		print_error("gen_run: %s\n", e.msg);
	assert_int_equal(rc, VIS_OK);
}

/* Splits a line (no LF) on TABs in place. */
static int split(char *line, char **f, int cap)
{
	int n = 0;
	f[n++] = line;
	for (char *p = line; *p; p++)
		if (*p == '\t') {
			*p = '\0';
			if (n == cap)
				return -1;
			f[n++] = p + 1;
		}
	return n;
}

/* A YYYY-MM-DD date, or the date of a YYYY-MM-DDTHH:MM:SSZ time. */
static int parse_date(const char *s)
{
	int d = 0;
	size_t n = strlen(s);
	assert_true(date_parse(s, n > 10 ? 10 : n, &d));
	return d;
}

/* The cadastral code in the CF must be one the birth place has had. */
static bool place_has(const char *place, const char *belfiore)
{
	if (strlen(place) == 3) {
		const struct ref_stato *s = refdata_stato_by_istat(rd, place);
		return s && !strcmp(s->belfiore, belfiore);
	}
	return strlen(place) == 6 && refdata_comune_had_belfiore(rd, place, belfiore);
}

struct file_check {
	int persons;
	int omocodie;
	int hh_size_ok;
};

/* Checks one file record by record; returns counts. */
static struct file_check check_file(const char *dir, const char *name)
{
	struct file_check fc = {0};
	size_t len;
	char *buf = read_file(dir, name, &len);
	assert_true(len > 0 && buf[len - 1] == '\n');
	char *f[70];
	int order = -1, extract = 0;
	long count = 0;
	bool ended = false;
	for (char *line = buf; line < buf + len;) {
		char *nl = memchr(line, '\n', (size_t)(buf + len - line));
		assert_non_null(nl);
		*nl = '\0';
		assert_false(ended);
		assert_true(nl - line <= 4096);
		int n = split(line, f, 70);
		if (!strcmp(f[0], "HDR")) {
			assert_int_equal(order, -1);
			order = 0;
			assert_int_equal(n, 8);
			assert_string_equal(f[1], "VISURA-ANAGRAFE");
			assert_string_equal(f[2], "1");
			assert_int_equal(strncmp(name, f[3], 6), 0);
			int64_t t;
			assert_true(timestamp_parse(f[4], strlen(f[4]), &t));
			extract = parse_date(f[4]);
		} else if (!strcmp(f[0], "FAM")) {
			assert_true(order == 0 || order == 1);
			order = 1;
			assert_int_equal(n, 13);
			count++;
			assert_true(!strcmp(f[2], "1") || !strcmp(f[2], "2"));
			assert_true(parse_date(f[3]) <= extract);
			assert_int_equal(strlen(f[10]), 5);
			assert_true(f[4][0] && f[5][0]);
			assert_int_equal(!strcmp(f[2], "2"), f[12][0] != '\0');
		} else if (!strcmp(f[0], "PER")) {
			assert_true(order >= 0 && order <= 2);
			order = 2;
			assert_int_equal(n, 21);
			count++;
			fc.persons++;
			struct cf_decoded d;
			assert_int_equal(cf_decode(f[3], strlen(f[3]), &d), CF_OK);
			if (d.omocodia)
				fc.omocodie++;
			int birth = parse_date(f[7]);
			if (!cf_matches(f[3], 16, f[4], f[5], f[6][0], DATE_YEAR(birth),
					DATE_MONTH(birth), DATE_DAY(birth), d.place))
				fail_msg("codice fiscale %s does not match %s %s", f[3], f[4], f[5]);
			if (!place_has(f[8], d.place))
				fail_msg("birth place %s never had cadastral code %s", f[8], d.place);
			int reg = parse_date(f[15]);
			assert_true(birth <= reg);
			assert_true(reg <= extract);
			assert_true(parse_date(f[2]) <= extract);
			bool nodate = !strcmp(f[10], "1") || !strcmp(f[10], "9");
			assert_int_equal(nodate, f[11][0] == '\0');
			if (f[16][0]) {
				int canc = parse_date(f[17]);
				assert_true(reg <= canc && canc <= extract);
				bool dest = !strcmp(f[16], "3") || !strcmp(f[16], "8");
				assert_int_equal(dest, f[18][0] != '\0');
			} else {
				assert_true(f[17][0] == '\0' && f[18][0] == '\0');
				assert_true(f[19][0] != '\0');
			}
			assert_int_equal(f[19][0] != '\0', f[20][0] != '\0');
			for (int k = 12; k <= 13; k++)
				if (f[k][0])
					assert_int_equal(cf_decode(f[k], strlen(f[k]), NULL), CF_OK);
		} else if (!strcmp(f[0], "EVT")) {
			assert_true(order >= 0 && order <= 3);
			order = 3;
			assert_int_equal(n, 7);
			count++;
			assert_true(parse_date(f[3]) <= extract);
			if (f[6][0])
				assert_int_equal(cf_decode(f[6], strlen(f[6]), NULL), CF_OK);
		} else {
			assert_string_equal(f[0], "END");
			assert_int_equal(n, 2);
			assert_int_equal(atol(f[1]), count);
			ended = true;
		}
		line = nl + 1;
	}
	assert_true(ended);
	free(buf);
	return fc;
}

/* ---------------------------------------------------------------- tests */

static const char *const two[] = {"036023", "036005"};

static void test_determinism(void **state)
{
	(void)state;
	char a[64], b[64];
	make_tmpdir(a, sizeof a);
	make_tmpdir(b, sizeof b);
	struct gen_stats sa, sb;
	run_gen(a, two, 2, 4000, 6, 11, &sa);
	run_gen(b, two, 2, 4000, 6, 11, &sb);
	assert_memory_equal(&sa, &sb, sizeof sa);
	char **na = calloc(MAX_FILES, sizeof *na), **nb = calloc(MAX_FILES, sizeof *nb);
	size_t ca = list_dir(a, na, MAX_FILES), cb = list_dir(b, nb, MAX_FILES);
	assert_int_equal(ca, 2 * 7);
	assert_int_equal(ca, cb);
	for (size_t i = 0; i < ca; i++) {
		assert_string_equal(na[i], nb[i]);
		size_t la, lb;
		char *fa = read_file(a, na[i], &la), *fb = read_file(b, nb[i], &lb);
		assert_int_equal(la, lb);
		assert_memory_equal(fa, fb, la);
		free(fa);
		free(fb);
	}
	/* another seed gives another population */
	char c[64];
	make_tmpdir(c, sizeof c);
	run_gen(c, two, 2, 4000, 0, 12, NULL);
	size_t l1, l2;
	char *f1 = read_file(a, "036023-000001-FULL.tsv", &l1);
	char *f2 = read_file(c, "036023-000001-FULL.tsv", &l2);
	assert_true(l1 != l2 || memcmp(f1, f2, l1) != 0);
	free(f1);
	free(f2);
	free_names(na, ca);
	free_names(nb, cb);
	free(na);
	free(nb);
	remove_dir(a);
	remove_dir(b);
	remove_dir(c);
}

static void test_records_and_sequences(void **state)
{
	(void)state;
	char dir[64];
	make_tmpdir(dir, sizeof dir);
	struct gen_stats st;
	const int days = 20;
	run_gen(dir, two, 2, 12000, days, 5, &st);
	char **names = calloc(MAX_FILES, sizeof *names);
	size_t n = list_dir(dir, names, MAX_FILES);
	assert_int_equal(n, 2 * (days + 1));
	int persons = 0;
	for (size_t k = 0; k < 2; k++) {
		int prev_date = 0;
		for (int s = 1; s <= days + 1; s++) {
			char want[64];
			snprintf(want, sizeof want, "%s-%06d-%s.tsv", two[k], s, s == 1 ? "FULL" : "DELTA");
			const char *name = names[k == 0 ? (size_t)(days + 1) + (size_t)(s - 1) : (size_t)(s - 1)];
			assert_string_equal(name, want); /* 036005 sorts first */
			size_t len;
			char *buf = read_file(dir, name, &len);
			char *f[10];
			*strchr(buf, '\n') = '\0';
			assert_int_equal(split(buf, f, 10), 8);
			assert_int_equal(atoi(f[5]), s);
			assert_string_equal(f[6], s == 1 ? "FULL" : "DELTA");
			int d = parse_date(f[4]);
			if (s == 1)
				assert_int_equal(d, GEN_DEFAULT_DATE);
			else
				assert_int_equal(d, date_add_days(prev_date, 1));
			prev_date = d;
			free(buf);
			persons += check_file(dir, name).persons;
		}
	}
	assert_true(st.events > 0);
	assert_true(st.residents_start == 12000);
	assert_true(persons >= (int)st.persons);
	free_names(names, n);
	free(names);
	remove_dir(dir);
}

static void test_household_sizes(void **state)
{
	(void)state;
	char dir[64];
	make_tmpdir(dir, sizeof dir);
	static const char *const one[] = {"058091"};
	struct gen_stats st;
	run_gen(dir, one, 1, 50000, 0, 3, &st);
	uint64_t hh = 0, members = 0;
	for (int i = 0; i < GEN_HIST_SIZES; i++) {
		hh += st.hh_size[i];
		members += st.hh_size[i] * (uint64_t)(i + 1);
	}
	double single = (double)st.hh_size[0] / (double)hh;
	double pair = (double)st.hh_size[1] / (double)hh;
	double big = (double)(st.hh_size[4] + st.hh_size[5] + st.hh_size[6] + st.hh_size[7]) / (double)hh;
	double mean = (double)members / (double)hh;
	/* ISTAT: about a third of households are one person, the mean is 2.25 */
	assert_true(single > 0.28 && single < 0.42);
	assert_true(pair > 0.22 && pair < 0.35);
	assert_true(big > 0.02 && big < 0.10);
	assert_true(mean > 2.0 && mean < 2.5);
	double foreign = (double)st.foreigners / (double)st.residents_start;
	assert_true(foreign > 0.07 && foreign < 0.11);
	assert_true(st.convivenze > 0);
	remove_dir(dir);
}

static void test_omocodia(void **state)
{
	(void)state;
	char dir[64];
	make_tmpdir(dir, sizeof dir);
	static const char *const one[] = {"015146"};
	struct gen_stats st;
	run_gen(dir, one, 1, 150000, 0, 9, &st);
	assert_true(st.omocodie > 0);
	struct file_check fc = check_file(dir, "015146-000001-FULL.tsv");
	assert_int_equal((uint64_t)fc.omocodie, st.omocodie);
	assert_true(st.born_suppressed > 0);
	remove_dir(dir);
}

static void test_options(void **state)
{
	(void)state;
	struct vis_error e = {0};
	static const char *const bad[] = {"999999"};
	static const char *const twice[] = {"036023", "036023"};
	static const char *const gone[] = {"001801"}; /* Abbadia Alpina, suppressed */
	struct gen_options o = {0};
	o.out_dir = "/tmp";
	o.persons = 10;
	o.comuni = bad;
	o.ncomuni = 1;
	assert_int_equal(gen_options_check(rd, &o, &e), VIS_ERR_INVALID);
	o.comuni = twice;
	o.ncomuni = 2;
	assert_int_equal(gen_options_check(rd, &o, &e), VIS_ERR_INVALID);
	o.comuni = gone;
	o.ncomuni = 1;
	assert_int_equal(gen_options_check(rd, &o, &e), VIS_ERR_INVALID);
	o.comuni = two;
	o.ncomuni = 2;
	o.persons = 1;
	assert_int_equal(gen_options_check(rd, &o, &e), VIS_ERR_INVALID);
	o.persons = 10;
	o.days = GEN_MAX_DAYS + 1;
	assert_int_equal(gen_options_check(rd, &o, &e), VIS_ERR_INVALID);
	o.days = 3;
	assert_int_equal(gen_options_check(rd, &o, &e), VIS_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_records_and_sequences),
		cmocka_unit_test(test_household_sizes),
		cmocka_unit_test(test_omocodia),
		cmocka_unit_test(test_options),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
