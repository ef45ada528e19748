#include "common/date.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hooks/hooks.h"

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int date_days_in_month(int year, int month)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (month < 1 || month > 12)
		return 0;
	return month == 2 && is_leap(year) ? 29 : dim[month - 1];
}

bool date_valid(int year, int month, int day)
{
	return year >= 1800 && year <= 2999 && month >= 1 && month <= 12 &&
	       day >= 1 && day <= date_days_in_month(year, month);
}

static bool digits(const char *s, size_t n, int *out)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool date_parse(const char *s, size_t len, int *out)
{
	int y, m, d;
	if (len != 10 || s[4] != '-' || s[7] != '-')
		return false;
	if (!digits(s, 4, &y) || !digits(s + 5, 2, &m) || !digits(s + 8, 2, &d))
		return false;
	if (!date_valid(y, m, d))
		return false;
	*out = DATE_MAKE(y, m, d);
	return true;
}

/* v (below 10^n) as n digits, zeros in front: printf's "%0<n>u", which
 * glibc reached through printf_positional, ~1,500 instructions a call
 * (2 to 4 dates an answer; docs/performance.md). */
static char *put_digits(char *p, unsigned v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

void date_format(int date, char buf[11])
{
	unsigned d = (unsigned)date;
	char *p = put_digits(buf, d / 10000 % 10000, 4);
	*p++ = '-';
	p = put_digits(p, d / 100 % 100, 2);
	*p++ = '-';
	p = put_digits(p, d % 100, 2);
	*p = '\0';
}

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t date_to_days(int date)
{
	int64_t y = DATE_YEAR(date), m = DATE_MONTH(date), d = DATE_DAY(date);
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int date_from_days(int64_t z)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp + (mp < 10 ? 3 : -9);
	y += m <= 2;
	return DATE_MAKE((int)y, (int)m, (int)d);
}

int date_add_days(int date, int days)
{
	return date_from_days(date_to_days(date) + days);
}

int date_age(int birth, int on)
{
	int age = DATE_YEAR(on) - DATE_YEAR(birth);
	if (on % 10000 < birth % 10000)
		age--;
	return age;
}

bool timestamp_parse(const char *s, size_t len, int64_t *out)
{
	int date, hh, mm, ss;
	if (len != 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z')
		return false;
	if (!date_parse(s, 10, &date) || !digits(s + 11, 2, &hh) ||
	    !digits(s + 14, 2, &mm) || !digits(s + 17, 2, &ss))
		return false;
	if (hh > 23 || mm > 59 || ss > 59)
		return false;
	*out = date_to_days(date) * 86400 + hh * 3600 + mm * 60 + ss;
	return true;
}

void timestamp_format(int64_t t, char buf[21])
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	int64_t sec = t - days * 86400;
	int date = date_from_days(days);
	unsigned s = (unsigned)sec;
	date_format(date, buf);
	char *p = buf + 10;
	*p++ = 'T';
	p = put_digits(p, s / 3600 % 24, 2);
	*p++ = ':';
	p = put_digits(p, s / 60 % 60, 2);
	*p++ = ':';
	p = put_digits(p, s % 60, 2);
	*p++ = 'Z';
	*p = '\0';
}

int64_t timestamp_now(void)
{
	const char *fake = getenv("VISURA_TEST_NOW");
	int64_t t;
	int d;
	if (fake && timestamp_parse(fake, strlen(fake), &t))
		return t;
	if (fake && strlen(fake) >= 10 && date_parse(fake, 10, &d))
		return date_to_days(d) * 86400;
	return (int64_t)time(NULL);
}

int date_today(void)
{
	const char *fake = hooks_test_now();
	int d;
	if (fake && strlen(fake) >= 10 && date_parse(fake, 10, &d))
		return d;
	time_t now = time(NULL);
	return date_from_days((int64_t)(now / 86400));
}
