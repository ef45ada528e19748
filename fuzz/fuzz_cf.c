/* Fuzzes the codice fiscale decoder, and the surname/name codes on the same
 * bytes taken as text.  Every valid code must satisfy the invariants below;
 * a violation aborts. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cf/cf.h"
#include "common/date.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                   \
	do {                          \
		if (!(cond))          \
			abort();      \
	} while (0)

static const int omocode_pos[7] = {14, 13, 12, 10, 9, 7, 6};

static void same_fields(const struct cf_decoded *a, const struct cf_decoded *b)
{
	CHECK(!strcmp(a->canonical, b->canonical));
	CHECK(!strcmp(a->surname, b->surname));
	CHECK(!strcmp(a->name, b->name));
	CHECK(a->year2 == b->year2);
	CHECK(a->month == b->month);
	CHECK(a->day == b->day);
	CHECK(a->sex == b->sex);
	CHECK(!strcmp(a->place, b->place));
}

static void check_valid(const uint8_t *data, const struct cf_decoded *d)
{
	struct cf_decoded c, again;
	char out[CF_LEN + 1];

	/* fields in range */
	CHECK(strlen(d->code) == CF_LEN && strlen(d->canonical) == CF_LEN);
	for (int i = 0; i < CF_LEN; i++) {
		char in = (char)data[i];
		if (in >= 'a' && in <= 'z')
			in = (char)(in - 'a' + 'A');
		CHECK(d->code[i] == in);
	}
	CHECK(d->year2 >= 0 && d->year2 <= 99);
	CHECK(d->month >= 1 && d->month <= 12);
	CHECK(d->day >= 1 && d->day <= date_days_in_month(2000, d->month));
	CHECK(d->sex == 'M' || d->sex == 'F');
	CHECK(d->omocodia >= 0 && d->omocodia <= 7);
	CHECK(strlen(d->surname) == 3 && strlen(d->name) == 3);
	CHECK(strlen(d->place) == 4);
	CHECK(cf_check_char(d->code) == d->code[15]);
	CHECK(cf_check_char(d->canonical) == d->canonical[15]);

	/* the upper-cased code decodes the same */
	CHECK(cf_decode(d->code, CF_LEN, &again) == CF_OK);
	same_fields(d, &again);
	CHECK(again.omocodia == d->omocodia);

	/* the canonical code is a valid base code with the same data */
	CHECK(cf_decode(d->canonical, CF_LEN, &c) == CF_OK);
	CHECK(c.omocodia == 0);
	same_fields(d, &c);
	CHECK(!strcmp(c.code, d->canonical));

	/* positions that differ are exactly the substituted ones */
	int diff = 0;
	bool suffix = true;
	for (int k = 0; k < 7; k++) {
		int p = omocode_pos[k];
		bool sub = d->code[p] != d->canonical[p];
		diff += sub;
		if (sub && diff != k + 1)
			suffix = false;
	}
	CHECK(diff == d->omocodia);

	/* every level of the canonical code goes back to it */
	for (int level = 0; level <= 7; level++) {
		CHECK(cf_omocode(d->canonical, level, out));
		CHECK(cf_decode(out, CF_LEN, &again) == CF_OK);
		CHECK(again.omocodia == level);
		same_fields(d, &again);
		if (level == d->omocodia && suffix)
			CHECK(!strcmp(out, d->code));
	}
	CHECK(!cf_omocode(d->canonical, 8, out));
	if (d->omocodia > 0)
		CHECK(!cf_omocode(d->code, 1, out));

	/* when the letters are themselves codes, the person matches */
	char s3[4], n3[4];
	int year = 2000 + d->year2;
	if (!date_valid(year, d->month, d->day))
		year -= 100;
	if (cf_surname_code(d->surname, s3) && !strcmp(s3, d->surname) &&
	    cf_name_code(d->name, n3) && !strcmp(n3, d->name) &&
	    date_valid(year, d->month, d->day)) {
		CHECK(cf_matches(d->code, CF_LEN, d->surname, d->name, d->sex,
				 year, d->month, d->day, d->place));
		CHECK(!cf_matches(d->code, CF_LEN, d->surname, d->name,
				  d->sex == 'M' ? 'F' : 'M', year, d->month,
				  d->day, d->place));
		CHECK(cf_compute(d->surname, d->name, d->sex, year, d->month,
				 d->day, d->place, out));
		CHECK(!strcmp(out, d->canonical));
	}
}

static void check_name(const uint8_t *data, size_t size)
{
	char text[1024], out[4];

	if (size >= sizeof text)
		size = sizeof text - 1;
	memcpy(text, data, size);
	text[size] = '\0';
	for (int which = 0; which < 2; which++) {
		bool ok = which ? cf_name_code(text, out) : cf_surname_code(text, out);
		if (!ok)
			continue;
		CHECK(strlen(out) == 3);
		for (int i = 0; i < 3; i++)
			CHECK(out[i] >= 'A' && out[i] <= 'Z');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cf_decoded d;
	cf_status st = cf_decode((const char *)data, size, &d);

	CHECK(st >= CF_OK && st <= CF_BAD_CHECK);
	CHECK(cf_decode((const char *)data, size, NULL) == st);
	CHECK(cf_status_text(st) != NULL);
	if (size != CF_LEN)
		CHECK(st == CF_BAD_LENGTH);
	if (st == CF_OK)
		check_valid(data, &d);
	check_name(data, size);
	return 0;
}
