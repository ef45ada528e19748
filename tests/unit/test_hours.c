/* Unit tests: working-hours schedules, Europe/Rome local time, holidays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/hours.h"
#include "common/date.h"

/* Seconds since the epoch of a UTC "YYYY-MM-DDTHH:MM:SSZ". */
static int64_t utc(const char *s)
{
	int64_t t;
	assert_true(timestamp_parse(s, strlen(s), &t));
	return t;
}

static void check_local(const char *ts, int date, int minute, int weekday)
{
	int d = -1, m = -1, w = -1;
	hours_local(utc(ts), &d, &m, &w);
	if (d != date || m != minute || w != weekday)
		fail_msg("%s: got %d %02d:%02d wd %d, want %d %02d:%02d wd %d", ts, d, m / 60, m % 60,
			 w, date, minute / 60, minute % 60, weekday);
}

static void test_local_offsets(void **state)
{
	(void)state;
	check_local("2026-01-15T12:00:00Z", 20260115, 13 * 60, 3);      /* CET */
	check_local("2026-07-01T12:00:00Z", 20260701, 14 * 60, 2);      /* CEST */
	check_local("2025-12-31T22:59:59Z", 20251231, 23 * 60 + 59, 2);
	check_local("2025-12-31T23:00:00Z", 20260101, 0, 3);            /* new year */
	check_local("1970-01-01T00:00:00Z", 19700101, 60, 3);
	check_local("1969-12-31T23:30:00Z", 19700101, 30, 3);
}

static void test_dst_spring(void **state)
{
	(void)state;
	/* 2026-03-29 (Sunday): 02:00 CET becomes 03:00 CEST at 01:00 UTC. */
	check_local("2026-03-28T23:00:00Z", 20260329, 0, 6);
	check_local("2026-03-29T00:59:59Z", 20260329, 1 * 60 + 59, 6);
	check_local("2026-03-29T01:00:00Z", 20260329, 3 * 60, 6);
	check_local("2026-03-29T21:59:00Z", 20260329, 23 * 60 + 59, 6);
	check_local("2026-03-29T22:00:00Z", 20260330, 0, 0);
	/* The Sunday before is still winter time. */
	check_local("2026-03-22T01:00:00Z", 20260322, 2 * 60, 6);
	/* 2027: last Sunday of March is the 28th. */
	check_local("2027-03-28T00:59:00Z", 20270328, 1 * 60 + 59, 6);
	check_local("2027-03-28T01:00:00Z", 20270328, 3 * 60, 6);
}

static void test_dst_autumn(void **state)
{
	(void)state;
	/* 2026-10-25 (Sunday): 03:00 CEST becomes 02:00 CET at 01:00 UTC, so
	 * the local hour 02:00-02:59 happens twice. */
	check_local("2026-10-24T22:00:00Z", 20261025, 0, 6);
	check_local("2026-10-25T00:00:00Z", 20261025, 2 * 60, 6);
	check_local("2026-10-25T00:59:59Z", 20261025, 2 * 60 + 59, 6);
	check_local("2026-10-25T01:00:00Z", 20261025, 2 * 60, 6);
	check_local("2026-10-25T02:00:00Z", 20261025, 3 * 60, 6);
	check_local("2026-10-25T22:59:00Z", 20261025, 23 * 60 + 59, 6);
	check_local("2026-10-25T23:00:00Z", 20261026, 0, 0);
	check_local("2026-10-18T01:30:00Z", 20261018, 3 * 60 + 30, 6);
}

/* When the system has tzdata, compare with it hour by hour over 1996-2040
 * (the EU rule has applied in Italy since 1996). */
static void test_local_vs_tzdata(void **state)
{
	(void)state;
	if (access("/usr/share/zoneinfo/Europe/Rome", R_OK) != 0)
		skip();
	assert_int_equal(setenv("TZ", "Europe/Rome", 1), 0);
	tzset();
	int64_t from = utc("1996-01-01T00:00:00Z"), to = utc("2040-01-01T00:00:00Z");
	long checked = 0;
	for (int64_t t = from; t < to; t += 1800) {
		time_t tt = (time_t)t;
		struct tm tm;
		assert_non_null(localtime_r(&tt, &tm));
		int d, m, w;
		hours_local(t, &d, &m, &w);
		int want = DATE_MAKE(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
		if (d != want || m != tm.tm_hour * 60 + tm.tm_min || w != (tm.tm_wday + 6) % 7) {
			char buf[21];
			timestamp_format(t, buf);
			fail_msg("%s: got %d %d, tzdata %d %d", buf, d, m, want,
				 tm.tm_hour * 60 + tm.tm_min);
		}
		checked++;
	}
	assert_true(checked > 700000);
	unsetenv("TZ");
	tzset();
}

static void test_holidays(void **state)
{
	(void)state;
	const int yes[] = {
		20260101, 20260106, 20260425, 20260501, 20260602, 20260815, 20261101,
		20261208, 20261225, 20261226,
		20260405, 20260406,     /* Easter 2026: Sunday 5, Monday 6 April */
		20270328, 20270329,     /* Easter 2027: Sunday 28, Monday 29 March */
		20240401, 20250421, 20190422, 20380426, 20000424,
		20261004, 20271004,     /* San Francesco, again a holiday from 2026 */
	};
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		if (!hours_is_national_holiday(yes[i]))
			fail_msg("%d should be a holiday", yes[i]);
	const int no[] = {
		20260102, 20260407, 20260330, 20270405, 20260404, 20251004, 20261227,
		20260601, 20260814,
		0, 20261301, 20260230, 20240431,        /* not dates */
	};
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		if (hours_is_national_holiday(no[i]))
			fail_msg("%d should not be a holiday", no[i]);
}

static struct hours_schedule parse_ok(const char *spec)
{
	struct hours_schedule s;
	struct vis_error e = {0};
	if (hours_parse(spec, &s, &e) != VIS_OK)
		fail_msg("\"%s\": %s", spec, e.msg);
	return s;
}

static void test_parse_full(void **state)
{
	(void)state;
	struct hours_schedule s = parse_ok(
		"mon-fri 08:00-14:00,15:00-18:00; sat 08:00-12:00; closed 2026-12-31,2026-12-24");
	assert_false(s.always);
	assert_false(s.holidays_open);
	for (int d = 0; d < 5; d++) {
		assert_int_equal(s.nranges[d], 2);
		assert_int_equal(s.day[d][0].start, 480);
		assert_int_equal(s.day[d][0].end, 840);
		assert_int_equal(s.day[d][1].start, 900);
		assert_int_equal(s.day[d][1].end, 1080);
	}
	assert_int_equal(s.nranges[5], 1);
	assert_int_equal(s.day[5][0].end, 720);
	assert_int_equal(s.nranges[6], 0);
	assert_int_equal(s.nclosed, 2);
	assert_int_equal(s.closed[0], 20261224);       /* sorted */
	assert_int_equal(s.closed[1], 20261231);

	s = parse_ok("always");
	assert_true(s.always);
	s = parse_ok("  sun 00:00-24:00 ;holidays   open ");
	assert_true(s.holidays_open);
	assert_int_equal(s.day[6][0].end, 1440);
	/* Ranges that touch do not overlap; unsorted input is sorted. */
	s = parse_ok("mon 12:00-14:00 , 08:00-12:00");
	assert_int_equal(s.nranges[0], 2);
	assert_int_equal(s.day[0][0].start, 480);
	assert_int_equal(s.day[0][1].start, 720);
	s = parse_ok("mon 08:00-09:00,10:00-11:00,12:00-13:00,14:00-15:00");
	assert_int_equal(s.nranges[0], HOURS_MAX_RANGES);
	s = parse_ok("closed 2026-08-14");
	assert_int_equal(s.nclosed, 1);
}

static void parse_bad(const char *spec, const char *where, const char *what)
{
	struct hours_schedule s;
	memset(&s, 0x5a, sizeof s);
	struct vis_error e = {0};
	vis_err rc = hours_parse(spec, &s, &e);
	if (rc == VIS_OK)
		fail_msg("\"%s\" was accepted", spec);
	if (where && !strstr(e.msg, where))
		fail_msg("\"%s\": message \"%s\" lacks \"%s\"", spec, e.msg, where);
	if (what && !strstr(e.msg, what))
		fail_msg("\"%s\": message \"%s\" lacks \"%s\"", spec, e.msg, what);
	/* Nothing half-parsed is left behind. */
	struct hours_schedule zero;
	memset(&zero, 0, sizeof zero);
	assert_memory_equal(&s, &zero, sizeof s);
}

static void test_parse_errors(void **state)
{
	(void)state;
	parse_bad("", NULL, "vuoto");
	parse_bad("   ", NULL, "vuoto");
	parse_bad("mon-fri 08:00-14:00;", "elemento 2", "vuoto");
	parse_bad("mon 08:00-09:00;; tue 08:00-09:00", "elemento 2", "vuoto");
	parse_bad("mon-fri", "elemento 1", "mancano le fasce orarie");
	parse_bad("sat 08:00-12:00; funday 08:00-10:00", "elemento 2", "parola sconosciuta 'funday'");
	parse_bad("Mon 08:00-10:00", "elemento 1", "parola sconosciuta 'Mon'");
	parse_bad("fri-mon 08:00-10:00", "elemento 1", "deve andare in avanti");
	parse_bad("mon-mon 08:00-10:00", "elemento 1", "deve andare in avanti");
	parse_bad("mon-xyz 08:00-10:00", "elemento 1", "non è un intervallo di giorni");
	parse_bad("mon 8:00-10:00", "elemento 1", "'8:00-10:00' non è una fascia oraria");
	parse_bad("mon 08:00-25:00", "elemento 1", "non è una fascia oraria");
	parse_bad("mon 08:60-10:00", "elemento 1", "non è una fascia oraria");
	parse_bad("mon 24:00-24:00", "elemento 1", "non è una fascia oraria");
	parse_bad("mon 08:00-24:01", "elemento 1", "non è una fascia oraria");
	parse_bad("mon 08:00 10:00", "elemento 1", "non è una fascia oraria");
	parse_bad("mon 08:00-10:00 x", "elemento 1", "non è una fascia oraria");
	parse_bad("mon 10:00-08:00", "elemento 1", "deve finire dopo l'inizio");
	parse_bad("mon 10:00-10:00", "elemento 1", "deve finire dopo l'inizio");
	parse_bad("tue 22:00-02:00", "elemento 1", "deve finire dopo l'inizio");
	parse_bad("mon 08:00-12:00,11:00-13:00", "elemento 1", "08:00-12:00 e 11:00-13:00 si sovrappongono");
	parse_bad("mon 08:00-18:00,09:00-10:00", "elemento 1", "si sovrappongono");
	parse_bad("mon 08:00-09:00,10:00-11:00,12:00-13:00,14:00-15:00,16:00-17:00", "elemento 1",
		  "più di 4 fasce orarie");
	parse_bad("mon 08:00-12:00,,13:00-14:00", "elemento 1", "fascia oraria vuota");
	parse_bad("mon 08:00-12:00,", "elemento 1", "fascia oraria vuota");
	parse_bad("mon 08:00-10:00; mon-fri 11:00-12:00", "elemento 2", "mon è indicato due volte");
	parse_bad("mon-wed 08:00-10:00; wed 11:00-12:00", "elemento 2", "wed è indicato due volte");
	parse_bad("closed", "elemento 1", "almeno una data");
	parse_bad("closed 2026-02-30", "elemento 1", "'2026-02-30' non è una data");
	parse_bad("closed 26-12-24", "elemento 1", "non è una data");
	parse_bad("closed 2026-12-24,2026-12-24", "elemento 1", "due volte");
	parse_bad("closed 2026-12-24; closed 2026-12-24", "elemento 2", "due volte");
	parse_bad("always; mon 08:00-10:00", "elemento 1", "non si combina");
	parse_bad("closed 2026-12-24; always", "elemento 2", "non si combina");
	parse_bad("always; always", "elemento 2", "due volte");
	parse_bad("always now", "elemento 1", "nulla dopo di sé");
	parse_bad("holidays", "elemento 1", "atteso 'holidays open'");
	parse_bad("holidays closed", "elemento 1", "atteso 'holidays open'");
	parse_bad("holidays open; holidays open", "elemento 2", "due volte");
	parse_bad("mon 08:00-10:00\n", "elemento 1", "non è una fascia oraria");

	char many[HOURS_SPEC_MAX];
	size_t pos = (size_t)snprintf(many, sizeof many, "closed ");
	for (int i = 0; i < HOURS_MAX_CLOSED + 1; i++) {
		char d[11];
		date_format(date_add_days(20260101, i), d);
		pos += (size_t)snprintf(many + pos, sizeof many - pos, "%s%s", i ? "," : "", d);
	}
	assert_true(pos < sizeof many);
	parse_bad(many, "elemento 1", "più di 64 date di chiusura");

	char lng[HOURS_SPEC_MAX + 1];
	memset(lng, ' ', sizeof lng - 1);
	lng[sizeof lng - 1] = '\0';
	memcpy(lng, "always", 6);
	parse_bad(lng, NULL, "più lungo di 1023 byte");

	struct vis_error e = {0};
	struct hours_schedule s;
	assert_int_equal(hours_parse(NULL, &s, &e), VIS_ERR_INVALID);
	assert_int_equal(hours_parse("always", NULL, NULL), VIS_ERR_INVALID);
}

/* Local Rome wall-clock "YYYY-MM-DDTHH:MM" to UTC, for days away from
 * the DST changes: the offset is given explicitly. */
static int64_t rome(const char *date_hhmm, int offset_hours)
{
	char buf[21];
	snprintf(buf, sizeof buf, "%.16s:00Z", date_hhmm);
	return utc(buf) - offset_hours * 3600;
}

static void test_allows_weekdays(void **state)
{
	(void)state;
	struct hours_schedule s = parse_ok("mon-fri 08:00-14:00");
	/* Tuesday 10 March 2026, winter time (UTC+1). */
	assert_false(hours_allows(&s, rome("2026-03-10T07:59", 1)));
	assert_true(hours_allows(&s, rome("2026-03-10T08:00", 1)));
	assert_true(hours_allows(&s, rome("2026-03-10T13:59", 1)));
	assert_false(hours_allows(&s, rome("2026-03-10T14:00", 1)));
	assert_true(hours_allows(&s, rome("2026-03-10T14:00", 1) - 1));
	/* Tuesday 9 June 2026, summer time (UTC+2). */
	assert_false(hours_allows(&s, rome("2026-06-09T07:59", 2)));
	assert_true(hours_allows(&s, rome("2026-06-09T08:00", 2)));
	assert_true(hours_allows(&s, rome("2026-06-09T13:59", 2)));
	assert_false(hours_allows(&s, rome("2026-06-09T14:00", 2)));
	/* 08:00 UTC is 10:00 in Rome in June: open; 06:30 UTC is 08:30: open. */
	assert_true(hours_allows(&s, utc("2026-06-09T06:30:00Z")));
	assert_false(hours_allows(&s, utc("2026-06-09T05:59:00Z")));
	/* Friday open, Saturday and Sunday closed. */
	assert_true(hours_allows(&s, rome("2026-03-13T09:00", 1)));
	assert_false(hours_allows(&s, rome("2026-03-14T09:00", 1)));
	assert_false(hours_allows(&s, rome("2026-03-15T09:00", 1)));
	assert_true(hours_allows(&s, rome("2026-03-16T09:00", 1)));
}

static void test_allows_holidays(void **state)
{
	(void)state;
	struct hours_schedule s = parse_ok("mon-fri 08:00-14:00");
	/* Tuesday 2 June 2026, Festa della Repubblica. */
	assert_false(hours_allows(&s, rome("2026-06-02T09:00", 2)));
	assert_true(hours_allows(&s, rome("2026-06-03T09:00", 2)));
	/* Easter Monday 2026 and 2027. */
	assert_false(hours_allows(&s, rome("2026-04-06T09:00", 2)));
	assert_true(hours_allows(&s, rome("2026-04-07T09:00", 2)));
	assert_false(hours_allows(&s, rome("2027-03-29T09:00", 2)));
	assert_true(hours_allows(&s, rome("2027-03-30T09:00", 2)));
	s = parse_ok("mon-fri 08:00-14:00; holidays open");
	assert_true(hours_allows(&s, rome("2026-06-02T09:00", 2)));
	assert_true(hours_allows(&s, rome("2026-04-06T09:00", 2)));
	/* Closed dates win over everything but 'always'. */
	s = parse_ok("mon-fri 08:00-14:00; holidays open; closed 2026-12-24,2026-12-31");
	assert_true(hours_allows(&s, rome("2026-12-23T09:00", 1)));
	assert_false(hours_allows(&s, rome("2026-12-24T09:00", 1)));
	assert_false(hours_allows(&s, rome("2026-12-31T13:00", 1)));
	assert_true(hours_allows(&s, rome("2026-12-30T13:00", 1)));
	/* Closed dates and holidays are Rome dates, not UTC ones. */
	s = parse_ok("mon-sun 00:00-24:00; closed 2026-12-24");
	assert_true(hours_allows(&s, utc("2026-12-23T22:59:00Z")));    /* 23rd 23:59 */
	assert_false(hours_allows(&s, utc("2026-12-23T23:00:00Z")));   /* 24th 00:00 */
	assert_false(hours_allows(&s, utc("2026-12-24T22:30:00Z")));   /* 24th 23:30 */
	assert_false(hours_allows(&s, utc("2026-12-24T23:00:00Z")));   /* Christmas */
	assert_true(hours_allows(&s, utc("2026-12-26T23:00:00Z")));    /* 27th 00:00 */
	assert_false(hours_allows(&s, utc("2026-06-01T22:30:00Z")));   /* 2 June 00:30 */
}

static void test_allows_always(void **state)
{
	(void)state;
	struct hours_schedule s = parse_ok("always");
	assert_true(hours_allows(&s, rome("2026-12-25T03:00", 1)));   /* Christmas night */
	assert_true(hours_allows(&s, rome("2026-03-15T23:59", 1)));   /* Sunday */
	assert_true(hours_allows(&s, utc("2026-03-29T01:00:00Z")));   /* DST change */
	assert_true(hours_allows(&s, INT64_MIN));
	assert_true(hours_allows(&s, INT64_MAX));
	struct hours_schedule none = parse_ok("closed 2026-01-02");
	assert_false(hours_allows(&none, rome("2026-01-05T09:00", 1)));
	assert_false(hours_allows(&none, INT64_MAX));
	assert_false(hours_allows(&none, INT64_MIN));
	assert_false(hours_allows(NULL, 0));
}

static void test_allows_dst_days(void **state)
{
	(void)state;
	struct hours_schedule s = parse_ok("sun 02:00-03:00");
	/* 2026-03-29: the local hour 02:00-02:59 does not exist. */
	for (int64_t t = utc("2026-03-28T22:00:00Z"); t < utc("2026-03-29T22:00:00Z"); t += 60)
		assert_false(hours_allows(&s, t));
	/* 2026-10-25: it happens twice, and both are inside. */
	assert_false(hours_allows(&s, utc("2026-10-24T23:59:00Z")));
	assert_true(hours_allows(&s, utc("2026-10-25T00:00:00Z")));
	assert_true(hours_allows(&s, utc("2026-10-25T00:59:00Z")));
	assert_true(hours_allows(&s, utc("2026-10-25T01:00:00Z")));
	assert_true(hours_allows(&s, utc("2026-10-25T01:59:59Z")));
	assert_false(hours_allows(&s, utc("2026-10-25T02:00:00Z")));
	/* An ordinary week (Sunday 8 November): one hour. */
	int open = 0;
	for (int64_t t = utc("2026-11-02T00:00:00Z"); t < utc("2026-11-09T00:00:00Z"); t += 60)
		open += hours_allows(&s, t);
	assert_int_equal(open, 60);
	/* A whole-day schedule on the short and on the long day. */
	s = parse_ok("sun 00:00-24:00");
	open = 0;
	for (int64_t t = utc("2026-03-28T00:00:00Z"); t < utc("2026-03-31T00:00:00Z"); t += 60)
		open += hours_allows(&s, t);
	assert_int_equal(open, 23 * 60);
	open = 0;
	for (int64_t t = utc("2026-10-24T00:00:00Z"); t < utc("2026-10-27T00:00:00Z"); t += 60)
		open += hours_allows(&s, t);
	assert_int_equal(open, 25 * 60);
}

static void check_format(const char *spec, const char *want)
{
	struct hours_schedule s = parse_ok(spec), back;
	char out[HOURS_SPEC_MAX];
	hours_format(&s, out, sizeof out);
	if (strcmp(out, want) != 0)
		fail_msg("\"%s\" formats as \"%s\", want \"%s\"", spec, out, want);
	back = parse_ok(out);
	assert_memory_equal(&s, &back, sizeof s);
}

static void test_format(void **state)
{
	(void)state;
	check_format("always", "always");
	check_format("mon-fri 08:00-14:00", "mon-fri 08:00-14:00");
	check_format("tue 08:00-12:00; mon 08:00-12:00;wed-fri   08:00-12:00",
		     "mon-fri 08:00-12:00");
	check_format("mon 15:00-18:00 , 08:00-14:00", "mon 08:00-14:00,15:00-18:00");
	check_format("closed 2026-12-31,2026-12-24; sat 08:00-12:00; holidays open; "
		     "mon-fri 08:00-14:00,15:00-18:00",
		     "mon-fri 08:00-14:00,15:00-18:00; sat 08:00-12:00; holidays open; "
		     "closed 2026-12-24,2026-12-31");
	check_format("mon 08:00-12:00; wed 08:00-12:00; sun 00:00-24:00",
		     "mon 08:00-12:00; wed 08:00-12:00; sun 00:00-24:00");
	check_format("holidays open", "holidays open");
	check_format("closed 2027-01-02", "closed 2027-01-02");

	/* Truncation keeps a NUL-terminated prefix. */
	struct hours_schedule s = parse_ok("mon-fri 08:00-14:00");
	char small[8];
	memset(small, 'x', sizeof small);
	hours_format(&s, small, sizeof small);
	assert_string_equal(small, "mon-fri");
	hours_format(&s, small, 1);
	assert_string_equal(small, "");

	/* The longest schedule still round-trips within HOURS_SPEC_MAX. */
	static const char *const days[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
	char spec[HOURS_SPEC_MAX];
	size_t pos = 0;
	for (int d = 0; d < 7; d++)
		pos += (size_t)snprintf(spec + pos, sizeof spec - pos,
					"%s%s 0%d:00-0%d:10,10:00-11:00,12:00-13:00,14:00-15:00",
					d ? "; " : "", days[d], d, d);
	pos += (size_t)snprintf(spec + pos, sizeof spec - pos, "; closed ");
	for (int i = 0; i < 50; i++) {
		char d[11];
		date_format(date_add_days(20260101, i), d);
		pos += (size_t)snprintf(spec + pos, sizeof spec - pos, "%s%s", i ? "," : "", d);
	}
	assert_true(pos < sizeof spec - 1);
	check_format(spec, spec);
}

/* date_format and timestamp_format write by hand what snprintf's
 * "%04u-%02u-%02u" and "...T%02u:%02u:%02uZ" wrote before them (its cost,
 * docs/performance.md): the same text, NUL included, for every day the
 * register may hold, out-of-range and negative values, and a sweep. */
static void ref_date(int64_t date, char *buf)
{
	unsigned d = (unsigned)(int)date;
	snprintf(buf, 11, "%04u-%02u-%02u", d / 10000 % 10000, d / 100 % 100, d % 100);
}

static void ref_timestamp(int64_t t, char *buf)
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	unsigned d = (unsigned)date_from_days(days), s = (unsigned)(t - days * 86400);
	snprintf(buf, 21, "%04u-%02u-%02uT%02u:%02u:%02uZ", d / 10000 % 10000, d / 100 % 100,
		 d % 100, s / 3600 % 24, s / 60 % 60, s % 60);
}

static void fmt_date(int64_t date, char *buf)
{
	date_format((int)date, buf);
}

static void fmt_timestamp(int64_t t, char *buf)
{
	timestamp_format(t, buf);
}

/* The text of fmt and of ref for v, `size` bytes with the NUL, nothing
 * written past them. */
static void check_text(void (*fmt)(int64_t, char *), void (*ref)(int64_t, char *), size_t size,
		       int64_t v)
{
	char got[24], want[24];
	memset(got, 'x', sizeof got);
	memset(want, 'y', sizeof want);
	fmt(v, got);
	ref(v, want);
	if (memcmp(got, want, size) || got[size] != 'x')
		fail_msg("%s(%lld): \"%.*s\", snprintf \"%s\"",
			 fmt == fmt_date ? "date_format" : "timestamp_format", (long long)v,
			 (int)size, got, want);
}

static void check_date_text(int date)
{
	check_text(fmt_date, ref_date, 11, date);
}

static void check_timestamp_text(int64_t t)
{
	check_text(fmt_timestamp, ref_timestamp, 21, t);
}

static void test_date_text(void **state)
{
	(void)state;
	const int dates[] = {INT_MIN, INT_MIN + 1, -20261206, -1, 0, 1, 9, 10, 99, 100, 101, 1231,
			     10000, 99991231, 100000000, 123456789, 1000000000, INT_MAX - 1,
			     INT_MAX};
	for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++)
		check_date_text(dates[i]);
	char buf[11];
	date_format(20261206, buf);
	assert_string_equal(buf, "2026-12-06");
	date_format(18000101, buf);
	assert_string_equal(buf, "1800-01-01");
	for (int d = 18000101; d <= 29991231; d = date_add_days(d, 1))
		check_date_text(d);
	uint32_t x = 2463534242u; /* xorshift32: any int */
	for (int i = 0; i < 1000000; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		check_date_text((int)x);
	}
	const int64_t ts[] = {0, 1, 59, 60, 3599, 3600, 86399, 86400, -1, -59, -86399, -86400,
			      -86401, 951782400, 1798761599, 1798761600, 32503680000,
			      253402300799, 253402300800, -5364662400, -62135596800};
	for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
		check_timestamp_text(ts[i]);
	char tb[21];
	timestamp_format(1798761599, tb);
	assert_string_equal(tb, "2026-12-31T23:59:59Z");
	for (int64_t t = -86400 * 3; t < 86400 * 3; t += 7)
		check_timestamp_text(t);
	for (int i = 0; i < 1000000; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		check_timestamp_text((int64_t)(int32_t)x * 97); /* about ±6,600 years */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_offsets),
		cmocka_unit_test(test_dst_spring),
		cmocka_unit_test(test_dst_autumn),
		cmocka_unit_test(test_local_vs_tzdata),
		cmocka_unit_test(test_holidays),
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_allows_weekdays),
		cmocka_unit_test(test_allows_holidays),
		cmocka_unit_test(test_allows_always),
		cmocka_unit_test(test_allows_dst_days),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_date_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
