/* text — UTF-8 checks and the folding of Italian names into plain keys.
 *
 * Register names carry accents and apostrophes (D'ANGELO, NICOLÒ, Abbà).
 * Searches and the codice fiscale both work on the bare letters A-Z, so one
 * folding serves both: D'Angelo = DANGELO = d angelo. */
#ifndef VISURA_COMMON_TEXT_H
#define VISURA_COMMON_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes the code point at s (len bytes available); returns its length
 * in bytes, or 0 when the sequence is malformed, overlong, a surrogate or
 * above U+10FFFF. */
size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp);

/* True for the Unicode controls that change the order in which text is
 * displayed: U+202A-U+202E (embeddings, overrides), U+2066-U+2069
 * (isolates), U+200E/U+200F (marks) and U+061C (Arabic letter mark).  A
 * name or street holding one shows on screen in another order than it is
 * stored ("Trojan Source"): visura refuses them in every text it takes. */
bool text_bidi_control(uint32_t cp);

/* The first bidi control in s[0..len) (malformed bytes are skipped):
 * true and *cp set when there is one. */
bool text_bidi_find(const char *s, size_t len, uint32_t *cp);

/* True when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates, no
 * code point above U+10FFFF) and holds no NUL, no C0 control character, no
 * DEL and no bidi control (text_bidi_control). */
bool utf8_valid(const char *s, size_t len);

/* Replaces, in place, every byte of the NUL-terminated s that does not
 * begin a well-formed UTF-8 sequence, and every bidi control, with '?':
 * text any database accepts and every screen shows in its stored order. */
void utf8_scrub(char *s);

/* Folds s[0..len) to upper-case ASCII letters only: accented Latin letters
 * lose their accent, letters outside Latin-1 and Latin Extended-A, digits,
 * apostrophes, spaces, hyphens and dots are dropped.  Writes at most cap-1
 * bytes and a NUL; returns the folded length, or -1 when s is not valid
 * UTF-8 or the result does not fit. */
int text_fold_letters(const char *s, size_t len, char *out, size_t cap);

/* True when s[0..len) is an acceptable person-name field: valid UTF-8,
 * letters (any script Latin-1/Extended-A), spaces, apostrophes, hyphens and
 * dots only, starting with a letter, and at least one foldable letter. */
bool text_name_valid(const char *s, size_t len);

#endif
