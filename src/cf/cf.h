/* cf — the codice fiscale of natural persons (DM 23/12/1976, DPR 605/1973).
 *
 * Owns: parsing, validation, computation and decoding of the 16-character
 * code, including omocodia (the Agenzia delle Entrate's substitution of
 * digits by letters when two people would get the same code).  Pure
 * functions, no allocation, no global state: safe from any thread. */
#ifndef VISURA_CF_CF_H
#define VISURA_CF_CF_H

#include <stdbool.h>
#include <stddef.h>

#define CF_LEN 16

typedef enum cf_status {
	CF_OK = 0,
	CF_BAD_LENGTH,   /* not 16 characters */
	CF_BAD_FORMAT,   /* a character of the wrong class at some position */
	CF_BAD_DATE,     /* month letter unknown, or day not 1-31 / 41-71 */
	CF_BAD_CHECK,    /* the check character does not match */
} cf_status;

/* English description of a status, e.g. "check character does not match". */
const char *cf_status_text(cf_status s);

struct cf_decoded {
	char code[CF_LEN + 1];      /* the code as given, upper-cased */
	char canonical[CF_LEN + 1]; /* omocodia letters put back to digits, check recomputed */
	char surname[4];            /* the three surname letters */
	char name[4];               /* the three name letters */
	int year2;                  /* two-digit birth year, 0-99 */
	int month;                  /* 1-12 */
	int day;                    /* 1-31 */
	char sex;                   /* 'M' or 'F' */
	char place[5];              /* cadastral (Belfiore) code: H501, Z404... */
	int omocodia;               /* how many digit positions were substituted, 0-7 */
};

/* Validates and decodes `code` (len bytes; lower case accepted).  On CF_OK
 * fills `out` (which may be NULL when only validity matters).  Does not check
 * that the place code exists: that needs the reference tables. */
cf_status cf_decode(const char *code, size_t len, struct cf_decoded *out);

/* A code as people type or paste it ("rss mra 80a01 f205x",
 * "RSS-MRA-80A01-F205X"): spaces, hyphens and dots are left out and letters
 * upper-cased into out.  Returns false (out then empty) when anything else
 * is there or what remains is not 16 characters; the code is not validated
 * (cf_decode does that).  Input longer than CF_TYPED_MAX is refused. */
#define CF_TYPED_MAX 40
/* The refusal that names the rule, for a parameter PARAM (a literal). */
#define CF_TYPED_RULE(param) \
	"il campo \"" param "\" non è un codice fiscale: 16 lettere e cifre (spazi, trattini " \
	"e punti sono ignorati)"
bool cf_normalize(const char *in, char out[CF_LEN + 1]);

/* Full birth year for a decoded code: the latest year ending in year2 that is
 * not after `max_year` (e.g. the current year). */
int cf_birth_year(const struct cf_decoded *d, int max_year);

/* Three-letter codes of a surname / a name (UTF-8, accents and apostrophes
 * allowed: they are folded away).  Returns false when the text has no letter. */
bool cf_surname_code(const char *surname, char out[4]);
bool cf_name_code(const char *name, char out[4]);

/* The check character for the first 15 characters (upper case). */
char cf_check_char(const char *first15);

/* Computes the base (non-omocode) code.  `place` is the 4-character cadastral
 * code.  Returns false on an impossible input (no letters, bad date, bad sex,
 * malformed place).  out receives 16 characters and a NUL. */
bool cf_compute(const char *surname, const char *name, char sex, int year,
		int month, int day, const char *place, char out[CF_LEN + 1]);

/* The omocode variant of level 1-7 of a base code: the `level` rightmost digit
 * positions (14, 13, 12, 10, 9, 7, 6, counting from 0) are replaced by their
 * letters (0=L 1=M 2=N 3=P 4=Q 5=R 6=S 7=T 8=U 9=V) and the check character
 * recomputed.  Returns false when base is not a valid base code or level is
 * out of range. */
bool cf_omocode(const char *base, int level, char out[CF_LEN + 1]);

/* True when `code` is valid and is the code (or one of its omocode variants)
 * of a person with these data.  `place` is the cadastral code to compare. */
bool cf_matches(const char *code, size_t len, const char *surname,
		const char *name, char sex, int year, int month, int day,
		const char *place);

#endif
