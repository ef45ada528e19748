/* cf — the codice fiscale of natural persons.
 *
 * Layout (0-based):  SSS NNN YY M DD PPPP C
 *                    0-2 3-5 6-7 8 9-10 11-14 15
 * S surname letters, N name letters, YY year, M month letter, DD day (+40
 * for women), PPPP cadastral code (a letter and three digits), C check.
 *
 * Omocodia: any of the seven digit positions 6, 7, 9, 10, 12, 13, 14 may
 * carry the letter standing for its digit (0=L ... 9=V).  The Agenzia
 * substitutes from the rightmost position, but decoding accepts any mix of
 * digits and letters there, as long as every letter is one of LMNPQRSTUV:
 * the check character is computed over the characters as they stand. */
#include "cf/cf.h"

#include <string.h>

#include "common/date.h"
#include "common/text.h"

static const int omocode_pos[7] = {14, 13, 12, 10, 9, 7, 6};
static const char omocode_letters[] = "LMNPQRSTUV";
static const char month_letters[] = "ABCDEHLMPRST";

/* Values of characters in odd (1st, 3rd, ...; 0-based even) positions,
 * indexed by digit value or letter - 'A': 0/A, 1/B, ... 9/J share values. */
static const int check_odd[26] = {
	1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20,
	11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
};

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char to_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static bool is_vowel(char c)
{
	return c == 'A' || c == 'E' || c == 'I' || c == 'O' || c == 'U';
}

static bool is_omocode_pos(int i)
{
	return i == 6 || i == 7 || i == 9 || i == 10 || i == 12 || i == 13 ||
	       i == 14;
}

/* The digit an omocodia letter stands for, -1 when it is not one. */
static int omocode_digit(char c)
{
	const char *p = c ? strchr(omocode_letters, c) : NULL;
	return p ? (int)(p - omocode_letters) : -1;
}

/* Month 1-12 of a month letter, 0 when it is not one. */
static int month_of_letter(char c)
{
	const char *p = c ? strchr(month_letters, c) : NULL;
	return p ? (int)(p - month_letters) + 1 : 0;
}

const char *cf_status_text(cf_status s)
{
	switch (s) {
	case CF_OK:
		return "valido";
	case CF_BAD_LENGTH:
		return "non è lungo 16 caratteri";
	case CF_BAD_FORMAT:
		return "carattere di tipo errato in qualche posizione";
	case CF_BAD_DATE:
		return "mese o giorno di nascita impossibile";
	case CF_BAD_CHECK:
		return "il carattere di controllo non corrisponde";
	}
	return "stato sconosciuto";
}

char cf_check_char(const char *first15)
{
	int sum = 0;
	for (int i = 0; i < CF_LEN - 1; i++) {
		char c = to_upper(first15[i]);
		int v;
		if (is_digit(c))
			v = c - '0';
		else if (is_upper(c))
			v = c - 'A';
		else
			return '\0';
		sum += i % 2 == 0 ? check_odd[v] : v;
	}
	return (char)('A' + sum % 26);
}

/* Days in a month when the year is unknown: February has 29. */
static int cf_month_days(int month)
{
	static const int dim[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return dim[month - 1];
}

bool cf_normalize(const char *in, char out[CF_LEN + 1])
{
	size_t n = 0;
	out[0] = '\0';
	if (!in || strnlen(in, CF_TYPED_MAX + 1) > CF_TYPED_MAX)
		return false;
	for (const char *p = in; *p; p++) {
		char c = *p;
		if (c == ' ' || c == '-' || c == '.')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) || n == CF_LEN) {
			out[0] = '\0';
			return false;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	if (n != CF_LEN) {
		out[0] = '\0';
		return false;
	}
	return true;
}

cf_status cf_decode(const char *code, size_t len, struct cf_decoded *out)
{
	char c[CF_LEN + 1], canon[CF_LEN + 1];
	int omocodia = 0;

	if (!code || len != CF_LEN)
		return CF_BAD_LENGTH;
	for (int i = 0; i < CF_LEN; i++)
		c[i] = to_upper(code[i]);
	c[CF_LEN] = '\0';
	memcpy(canon, c, sizeof canon);

	/* Character classes first, over the whole code. */
	for (int i = 0; i < CF_LEN; i++) {
		if (is_omocode_pos(i)) {
			if (is_digit(c[i]))
				continue;
			int d = omocode_digit(c[i]);
			if (d < 0)
				return CF_BAD_FORMAT;
			canon[i] = (char)('0' + d);
			omocodia++;
		} else if (!is_upper(c[i])) {
			return CF_BAD_FORMAT;
		}
	}

	int month = month_of_letter(c[8]);
	int day = (canon[9] - '0') * 10 + (canon[10] - '0');
	char sex = 'M';
	if (day > 40) {
		day -= 40;
		sex = 'F';
	}
	if (!month || day < 1 || day > cf_month_days(month))
		return CF_BAD_DATE;

	if (cf_check_char(c) != c[15])
		return CF_BAD_CHECK;

	if (!out)
		return CF_OK;
	canon[15] = cf_check_char(canon);
	memset(out, 0, sizeof *out);
	memcpy(out->code, c, sizeof out->code);
	memcpy(out->canonical, canon, sizeof out->canonical);
	memcpy(out->surname, canon, 3);
	memcpy(out->name, canon + 3, 3);
	out->year2 = (canon[6] - '0') * 10 + (canon[7] - '0');
	out->month = month;
	out->day = day;
	out->sex = sex;
	memcpy(out->place, canon + 11, 4);
	out->omocodia = omocodia;
	return CF_OK;
}

int cf_birth_year(const struct cf_decoded *d, int max_year)
{
	int back = (max_year - d->year2) % 100;
	if (back < 0)
		back += 100;
	return max_year - back;
}

/* The letters of a name or surname, as far as the codes need them: the
 * first few consonants, the total consonant count up to `want_cons`, and the
 * first three vowels. */
struct cf_letters {
	char cons[5];
	char vow[4];
	int ncons;
	int nvow;
};

static void cf_letters_add(struct cf_letters *l, const char *folded, int n,
			   int want_cons)
{
	for (int i = 0; i < n; i++) {
		char ch = folded[i];
		if (is_vowel(ch)) {
			if (l->nvow < 3)
				l->vow[l->nvow++] = ch;
		} else if (l->ncons < want_cons) {
			l->cons[l->ncons++] = ch;
		}
	}
}

/* Folds UTF-8 text piece by piece (so that its length is not bounded by a
 * buffer) and collects its letters.  False on invalid UTF-8 or no letter. */
static bool cf_letters_of(const char *s, int want_cons, struct cf_letters *l)
{
	enum { CHUNK = 64 };
	char folded[CHUNK + 1];
	size_t len, off = 0;
	bool any = false;

	if (!s)
		return false;
	len = strlen(s);
	memset(l, 0, sizeof *l);
	while (off < len) {
		size_t end = off + CHUNK < len ? off + CHUNK : len;
		/* Do not split a sequence: back up over continuation bytes.
		 * A UTF-8 sequence has at most three of them. */
		while (end < len && end > off &&
		       ((unsigned char)s[end] & 0xC0) == 0x80)
			end--;
		if (end == off)
			return false;
		int n = text_fold_letters(s + off, end - off, folded, sizeof folded);
		if (n < 0)
			return false;
		if (n > 0)
			any = true;
		cf_letters_add(l, folded, n, want_cons);
		off = end;
	}
	return any;
}

static void cf_letters_code(const struct cf_letters *l, bool name, char out[4])
{
	int o = 0;
	if (name && l->ncons >= 4) {
		out[0] = l->cons[0];
		out[1] = l->cons[2];
		out[2] = l->cons[3];
		out[3] = '\0';
		return;
	}
	for (int i = 0; i < l->ncons && o < 3; i++)
		out[o++] = l->cons[i];
	for (int i = 0; i < l->nvow && o < 3; i++)
		out[o++] = l->vow[i];
	while (o < 3)
		out[o++] = 'X';
	out[3] = '\0';
}

bool cf_surname_code(const char *surname, char out[4])
{
	struct cf_letters l;
	if (!cf_letters_of(surname, 3, &l))
		return false;
	cf_letters_code(&l, false, out);
	return true;
}

bool cf_name_code(const char *name, char out[4])
{
	struct cf_letters l;
	if (!cf_letters_of(name, 4, &l))
		return false;
	cf_letters_code(&l, true, out);
	return true;
}

/* Upper-cases a cadastral code into out; false unless it is exactly a letter
 * and three digits. */
static bool cf_place_norm(const char *place, char out[5])
{
	if (!place)
		return false;
	for (int i = 0; i < 4; i++) {
		char ch = to_upper(place[i]);
		if (i == 0 ? !is_upper(ch) : !is_digit(ch))
			return false;
		out[i] = ch;
	}
	if (place[4] != '\0')
		return false;
	out[4] = '\0';
	return true;
}

bool cf_compute(const char *surname, const char *name, char sex, int year,
		int month, int day, const char *place, char out[CF_LEN + 1])
{
	char sc[4], nc[4], pl[5];

	if (sex != 'M' && sex != 'F')
		return false;
	if (!date_valid(year, month, day))
		return false;
	if (!cf_place_norm(place, pl))
		return false;
	if (!cf_surname_code(surname, sc) || !cf_name_code(name, nc))
		return false;
	if (sex == 'F')
		day += 40;
	memcpy(out, sc, 3);
	memcpy(out + 3, nc, 3);
	out[6] = (char)('0' + year % 100 / 10);
	out[7] = (char)('0' + year % 10);
	out[8] = month_letters[month - 1];
	out[9] = (char)('0' + day / 10);
	out[10] = (char)('0' + day % 10);
	memcpy(out + 11, pl, 4);
	out[15] = cf_check_char(out);
	out[CF_LEN] = '\0';
	return true;
}

/* Level 0 is accepted as well and gives the base code itself. */
bool cf_omocode(const char *base, int level, char out[CF_LEN + 1])
{
	struct cf_decoded d;

	if (!base || level < 0 || level > 7)
		return false;
	if (cf_decode(base, strnlen(base, CF_LEN + 1), &d) != CF_OK ||
	    d.omocodia != 0)
		return false;
	memcpy(out, d.code, CF_LEN + 1);
	for (int i = 0; i < level; i++) {
		int p = omocode_pos[i];
		out[p] = omocode_letters[out[p] - '0'];
	}
	out[15] = cf_check_char(out);
	return true;
}

bool cf_matches(const char *code, size_t len, const char *surname,
		const char *name, char sex, int year, int month, int day,
		const char *place)
{
	struct cf_decoded d;
	char base[CF_LEN + 1];

	if (cf_decode(code, len, &d) != CF_OK)
		return false;
	if (!cf_compute(surname, name, sex, year, month, day, place, base))
		return false;
	return memcmp(d.canonical, base, CF_LEN) == 0;
}
